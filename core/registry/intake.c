/*  intake.c - an INTAKE becomes a ticket, a follow-up, a status answer or a quarantined
    item; everything it causes (acknowledgement, staff notices, audit, events) is written
    in the same transaction.

    The core never parses what strangers wrote: the channel has already found any ticket
    number (thread_ticket) and decided the intent. */
#include <errno.h>
#include <strings.h>
#include <string.h>
#include <time.h>

#include "aduan/log.h"
#include "aduan/template.h"
#include "registry.h"

#define SQL_FIND_INTAKE                                                                    \
    "SELECT i.disposition, i.complaint_id, c.ticket FROM intake i"                          \
    " LEFT JOIN complaint c ON c.id = i.complaint_id"                                       \
    " WHERE i.channel = ?1 AND i.dedupe_key = ?2"
#define SQL_INSERT_INTAKE                                                                  \
    "INSERT INTO intake(channel, dedupe_key, complaint_id, disposition, received_at)"       \
    " VALUES (?1, ?2, ?3, ?4, ?5)"
#define SQL_NEXT_TICKET                                                                    \
    "INSERT INTO ticket_counter(year, last) VALUES (?1, 1)"                                 \
    " ON CONFLICT(year) DO UPDATE SET last = last + 1 RETURNING last"
#define SQL_INSERT_COMPLAINT                                                               \
    "INSERT INTO complaint(ticket, channel, account, from_addr, from_name, received_at,"     \
    " source_at, subject, text, state, incomplete, raw_sha256, updated_at, state_at,"        \
    " next_check_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'recorded', ?10, ?11, ?6,"   \
    " ?6, ?12)"
#define SQL_INSERT_MESSAGE                                                                 \
    "INSERT INTO message(complaint_id, direction, at, channel, from_addr, subject, body,"    \
    " message_ref, raw_sha256) VALUES (?1, 'in', ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
#define SQL_INSERT_ATTACHMENT                                                              \
    "INSERT INTO attachment(message_id, name, content_type, size, sha256)"                  \
    " VALUES (?1, ?2, ?3, ?4, ?5)"
#define SQL_FIND_TICKET                                                                    \
    "SELECT id, state, received_at, from_addr FROM complaint WHERE ticket = ?1"
/* only our mails about a complaint: a "ticket not found" answer has none to join */
#define SQL_FIND_OUR_MESSAGE                                                               \
    "SELECT complaint_id FROM outbox WHERE message_id = ?1 AND complaint_id IS NOT NULL"
#define SQL_FIND_THEIR_MESSAGE                                                             \
    "SELECT complaint_id FROM message WHERE message_ref = ?1 LIMIT 1"
/* the number's latest SMS complaint still in the office's hands, touched since ?2; the
   literal 'sms' lets SQLite use the partial index complaint_sms_sender. Comparisons, not
   NOT IN: a list of three builds a temporary b-tree at each run (schema.c, 8). */
#define SQL_FIND_RECENT_OPEN                                                               \
    "SELECT id FROM complaint WHERE channel = 'sms' AND from_addr = ?1 AND updated_at >= ?2"  \
    " AND state <> 'delivered' AND state <> 'archived' AND state <> 'rejected'"              \
    " ORDER BY updated_at DESC LIMIT 1"
#define SQL_FIND_SENT_ROW "SELECT id, complaint_id FROM outbox WHERE message_id = ?1"
#define SQL_TICKET_OF "SELECT ticket FROM complaint WHERE id = ?1"
#define SQL_TOUCH_COMPLAINT "UPDATE complaint SET updated_at = ?2 WHERE id = ?1"
#define SQL_INSERT_QUARANTINE                                                              \
    "INSERT INTO quarantine(at, channel, peer, dedupe_key, reason, raw_sha256, size)"       \
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"

int aduan_registry_next_ticket(aduan_store_t *store, int64_t now_ms, char ticket[40])
{
    time_t secs = (time_t)(now_ms / 1000);
    struct tm tm;
    localtime_r(&secs, &tm);
    int year = tm.tm_year + 1900;
    sqlite3_stmt *st = aduan_store_stmt(store, SQL_NEXT_TICKET);
    if (!st)
        return -1;
    sqlite3_bind_int(st, 1, year);
    if (sqlite3_step(st) != SQLITE_ROW)
        return -1;
    long long n = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    snprintf(ticket, 40, "%s-%04d-%05lld", aduan_store_config(store)->core.ticket_prefix,
             year, n);
    return 0;
}

/* ---- labels and texts ---------------------------------------------------------------- */

typedef struct {
    const char *state;
    const char *id;
    const char *en;
} state_label_t;

static const state_label_t state_labels[] = {
    {"received", "Diterima", "Received"},
    {"recorded", "Tercatat, menunggu penelaahan", "Recorded, awaiting review"},
    {"review", "Sedang ditelaah", "Under review"},
    {"forwarded", "Diteruskan kepada Kepala Dinas", "Forwarded to the head of office"},
    {"meeting", "Dibahas dalam rapat", "Discussed in a meeting"},
    {"minutes", "Berita acara sedang disusun", "Minutes being written"},
    {"responded", "Tanggapan tertulis telah dikirim", "Written response sent"},
    {"delivered", "Tanggapan telah diterima", "Response delivered"},
    {"archived", "Selesai dan diarsipkan", "Closed and archived"},
    {"rejected", "Ditolak", "Rejected"},
    /* said instead of the state to anyone but the complainant */
    {"private", "hanya disampaikan kepada pelapor", "told only to the complainant"},
};

static const char *state_label(const char *state, const char *language)
{
    for (size_t i = 0; i < sizeof state_labels / sizeof state_labels[0]; i++)
        if (strcmp(state_labels[i].state, state) == 0)
            return strcmp(language, "en") == 0 ? state_labels[i].en : state_labels[i].id;
    return state;
}

static void format_local(int64_t ms, char *out, size_t outlen)
{
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    localtime_r(&secs, &tm);
    strftime(out, outlen, "%d-%m-%Y %H:%M %Z", &tm);
}

/* The first ~100 characters of a text on one line, cut at a UTF-8 boundary. */
static void summarise(const char *text, char *out, size_t outlen)
{
    size_t n = 0, chars = 0;
    const char *p = text ? text : "";
    while (*p && chars < 100) {
        unsigned char c = (unsigned char)*p;
        size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : 4;
        if (strnlen(p, len) < len || n + len + 4 > outlen)
            break;
        if (c == '\n' || c == '\r' || c == '\t') {
            out[n++] = ' ';
        } else {
            memcpy(out + n, p, len);
            n += len;
        }
        p += len;
        chars++;
    }
    if (*p && n + 4 <= outlen) {
        memcpy(out + n, "...", 3);
        n += 3;
    }
    out[n] = '\0';
}

typedef struct {
    char ticket[40];
    char received[64];
    char summary[128];
    char masked_from[ADUAN_MASK_MAX];
    char response_days[16];
    aduan_template_var_t vars[16];
} reply_context_t;

static void reply_context_init(reply_context_t *ctx, aduan_store_t *store, const char *ticket,
                               const aduan_msg_t *intake, int64_t received_ms,
                               const char *state)
{
    const aduan_config_t *cfg = aduan_store_config(store);
    snprintf(ctx->ticket, sizeof ctx->ticket, "%s", ticket ? ticket : "");
    format_local(received_ms, ctx->received, sizeof ctx->received);
    summarise(intake->intake.text, ctx->summary, sizeof ctx->summary);
    aduan_mask_address(intake->intake.from_addr, ctx->masked_from, sizeof ctx->masked_from);
    snprintf(ctx->response_days, sizeof ctx->response_days, "%lld",
             (long long)cfg->deadlines.response_days);
    size_t i = 0;
    ctx->vars[i++] = (aduan_template_var_t){"ticket", ctx->ticket};
    ctx->vars[i++] = (aduan_template_var_t){"name", intake->intake.from_name};
    ctx->vars[i++] = (aduan_template_var_t){"channel", intake->intake.channel};
    ctx->vars[i++] = (aduan_template_var_t){"received_at", ctx->received};
    ctx->vars[i++] = (aduan_template_var_t){"subject", intake->intake.subject};
    ctx->vars[i++] = (aduan_template_var_t){"summary", ctx->summary};
    ctx->vars[i++] = (aduan_template_var_t){"office", cfg->core.office_name};
    ctx->vars[i++] = (aduan_template_var_t){"response_days", ctx->response_days};
    ctx->vars[i++] = (aduan_template_var_t){"from", ctx->masked_from};
    ctx->vars[i++] =
        (aduan_template_var_t){"state", state ? state_label(state, cfg->templates.language) : ""};
    ctx->vars[i] = (aduan_template_var_t){NULL, NULL};
}

/*  Where a reply to the intake goes: back through its own channel, or where the channel
    said (INTAKE.reply_channel: a paper form naming a mobile number is answered by SMS).
    A channel that answers on paper (reply_channel its own name, no address) gets its
    account as the address: the notice board where the box stands. False: nobody to
    answer. */
static bool reply_route(aduan_store_t *store, const aduan_msg_t *m, const char **channel,
                        const char **account, const char **to_addr)
{
    const aduan_config_t *cfg = aduan_store_config(store);
    const char *via = m->intake.reply_channel;
    bool has_addr = m->intake.from_addr && *m->intake.from_addr;
    *channel = m->intake.channel;
    *account = m->intake.account;
    *to_addr = m->intake.from_addr;
    if (!via || !*via || strcmp(via, m->intake.channel) == 0) {
        if (has_addr)
            return true;
        if (!via || !*via)
            return false; /* nobody to answer */
        *to_addr = m->intake.account && *m->intake.account ? m->intake.account
                                                           : m->intake.channel;
        return true;
    }
    if (!has_addr)
        return false;
    /* only the channels that carry a reply to an address of the citizen's */
    if (strcmp(via, "sms") != 0 && strcmp(via, "email") != 0) {
        log_warn("core", "%s intake names reply channel '%s': answered through %s",
                 m->intake.channel, via, m->intake.channel);
        return true;
    }
    *channel = via;
    *account = strcmp(via, "sms") == 0 ? cfg->sms.account : cfg->email.account;
    return true;
}

/*  References of a reply (RFC 5322 3.6.4): the intake's References, then its own
    Message-ID, so that a mail client keeps the whole conversation in one thread. The oldest
    ids are dropped, whole, when they do not fit in outlen. "" when there is none. */
static void reply_references(const aduan_msg_t *m, char *out, size_t outlen)
{
    const char *refs = m->intake.references ? m->intake.references : "";
    const char *own = m->intake.message_ref ? m->intake.message_ref : "";
    out[0] = '\0';
    if (strlen(own) + 1 > outlen)
        return;
    size_t need = strlen(refs) + 1 + strlen(own) + 1;
    while (*refs && need > outlen) { /* drop the oldest id */
        const char *next = refs + strcspn(refs, " ");
        next += strspn(next, " ");
        need -= (size_t)(next - refs);
        refs = next;
    }
    snprintf(out, outlen, "%s%s%s", refs, *refs && *own ? " " : "", own);
}

/* Queues an automatic reply to the sender of the intake (see reply_route). */
static int queue_reply(aduan_store_t *store, const aduan_msg_t *intake, int64_t complaint_id,
                       const char *kind, const char *template_name, const char *fallback,
                       reply_context_t *ctx)
{
    const char *channel, *account, *to_addr;
    if (!reply_route(store, intake, &channel, &account, &to_addr))
        return 0; /* nobody to answer (a paper form without a contact, say) */
    if (intake->intake.flags & ADUAN_INTAKE_AUTOMATIC) {
        log_info("core", "%s no automatic reply to automatic %s mail from=%s", ctx->ticket,
                 intake->intake.channel, ctx->masked_from);
        return 0;
    }
    aduan_rendered_t r = {0};
    aduan_registry_render(store, template_name, channel, ctx->vars, fallback, &r);
    char subject[1024];
    snprintf(subject, sizeof subject, "%s", r.subject);
    char references[2048];
    reply_references(intake, references, sizeof references);
    bool letter = !intake->intake.from_addr || !*intake->intake.from_addr;
    aduan_outbox_item_t item = {
        .complaint_id = complaint_id,
        .ticket = ctx->ticket,
        .kind = kind,
        .channel = channel,
        .account = account,
        .to_addr = to_addr,
        .to_name = intake->intake.from_name,
        .subject = subject,
        .body = r.text,
        .in_reply_to = intake->intake.message_ref,
        .references = references[0] ? references : NULL,
        /* the daily limit of automatic replies protects a sender's address; a letter on
           the notice board has none, and every form of the day gets its own */
        .automatic = !letter,
    };
    int64_t id = 0;
    int rc = aduan_outbox_queue(store, &item, &id);
    aduan_rendered_clear(&r);
    return rc;
}

/* ---- storing the item ------------------------------------------------------------------ */

static int insert_intake_row(aduan_store_t *store, const aduan_msg_t *m, int64_t complaint_id,
                             const char *disposition, int64_t now)
{
    sqlite3_stmt *st = aduan_store_stmt(store, SQL_INSERT_INTAKE);
    if (!st)
        return -1;
    aduan_bind_text(st, 1, m->intake.channel);
    aduan_bind_text(st, 2, m->intake.dedupe_key);
    if (complaint_id > 0)
        sqlite3_bind_int64(st, 3, complaint_id);
    else
        sqlite3_bind_null(st, 3);
    aduan_bind_text(st, 4, disposition);
    sqlite3_bind_int64(st, 5, now);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
    sqlite3_reset(st);
    return rc;
}

/* Keeps the raw original in the file store; raw_sha is left empty when there is none. */
static int store_raw(aduan_store_t *store, const aduan_msg_t *m, char raw_sha[65])
{
    raw_sha[0] = '\0';
    if (m->intake.raw.size > 0 &&
        aduan_store_put_content(store, m->intake.raw.data, m->intake.raw.size, raw_sha) != 0) {
        log_error("core", "cannot store the original: %s", strerror(errno));
        return -1;
    }
    return 0;
}

/* The message row of the thread, with its attachments in the file store. */
static int insert_message(aduan_store_t *store, const aduan_msg_t *m, int64_t complaint_id,
                          int64_t now, const char *raw_sha)
{
    sqlite3_stmt *st = aduan_store_stmt(store, SQL_INSERT_MESSAGE);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, complaint_id);
    sqlite3_bind_int64(st, 2, now);
    aduan_bind_text(st, 3, m->intake.channel);
    aduan_bind_text(st, 4, m->intake.from_addr);
    aduan_bind_text(st, 5, m->intake.subject);
    aduan_bind_text(st, 6, m->intake.text);
    aduan_bind_text_or_null(st, 7, m->intake.message_ref);
    aduan_bind_text_or_null(st, 8, raw_sha);
    if (sqlite3_step(st) != SQLITE_DONE)
        return -1;
    sqlite3_reset(st);
    int64_t message_id = sqlite3_last_insert_rowid(aduan_store_db(store));
    for (size_t i = 0; i < m->attachment_count; i++) {
        const aduan_attachment_t *a = &m->attachments[i];
        char sha[65];
        if (aduan_store_put_content(store, a->content.data, a->content.size, sha) != 0) {
            log_error("core", "cannot store an attachment: %s", strerror(errno));
            return -1;
        }
        st = aduan_store_stmt(store, SQL_INSERT_ATTACHMENT);
        if (!st)
            return -1;
        sqlite3_bind_int64(st, 1, message_id);
        aduan_bind_text(st, 2, a->name);
        aduan_bind_text(st, 3, a->content_type);
        sqlite3_bind_int64(st, 4, (sqlite3_int64)a->content.size);
        aduan_bind_text(st, 5, sha);
        if (sqlite3_step(st) != SQLITE_DONE)
            return -1;
        sqlite3_reset(st);
    }
    return 0;
}

static char *event_detail(const aduan_msg_t *m, const char *extra_key, const char *extra)
{
    char masked[ADUAN_MASK_MAX];
    aduan_mask_address(m->intake.from_addr, masked, sizeof masked);
    json_t *o = json_pack("{s:s, s:s, s:s}", "channel", m->intake.channel, "from", masked,
                          "subject", m->intake.subject ? m->intake.subject : "");
    if (o && extra_key)
        json_object_set_new(o, extra_key, json_string(extra));
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    return s;
}

static int lookup_ticket(aduan_store_t *store, const char *ticket, int64_t *id,
                         char state[32], int64_t *received_at, char **from_addr)
{
    sqlite3_stmt *st = aduan_store_stmt(store, SQL_FIND_TICKET);
    if (!st)
        return -1;
    aduan_bind_text(st, 1, ticket);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *id = sqlite3_column_int64(st, 0);
        if (state)
            snprintf(state, 32, "%s", (const char *)sqlite3_column_text(st, 1));
        if (received_at)
            *received_at = sqlite3_column_int64(st, 2);
        if (from_addr)
            *from_addr = strdup((const char *)sqlite3_column_text(st, 3));
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

static int lookup_complaint_by(aduan_store_t *store, const char *sql, const char *key,
                               int64_t *id)
{
    sqlite3_stmt *st = aduan_store_stmt(store, sql);
    if (!st)
        return -1;
    aduan_bind_text(st, 1, key);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *id = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

static int ticket_of(aduan_store_t *store, int64_t complaint_id, char ticket[40])
{
    sqlite3_stmt *st = aduan_store_stmt(store, SQL_TICKET_OF);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, complaint_id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        snprintf(ticket, 40, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? 0 : -1;
}

/* Tries each Message-ID of a space-separated list against what we sent and received. */
static int match_message_ids(aduan_store_t *store, const char *ids, int64_t *complaint_id)
{
    if (!ids || !*ids)
        return 0;
    char *copy = strdup(ids), *save = NULL;
    int found = 0;
    for (char *id = strtok_r(copy, " ", &save); id && !found; id = strtok_r(NULL, " ", &save)) {
        found = lookup_complaint_by(store, SQL_FIND_OUR_MESSAGE, id, complaint_id);
        if (found == 0)
            found = lookup_complaint_by(store, SQL_FIND_THEIR_MESSAGE, id, complaint_id);
    }
    free(copy);
    return found;
}

/*  An SMS has no subject or In-Reply-To to thread by: a second SMS from the same number
    soon after the first (the rest of a thought, a correction) joins that complaint while
    it is open. The window is sms.followup_window; 0 turns it off. */
static int find_recent_open(aduan_store_t *store, const aduan_msg_t *m, int64_t *complaint_id)
{
    const aduan_config_t *cfg = aduan_store_config(store);
    if (strcmp(m->intake.channel, "sms") != 0 || !cfg || cfg->sms.followup_window_s <= 0 ||
        !m->intake.from_addr || !*m->intake.from_addr)
        return 0;
    sqlite3_stmt *st = aduan_store_stmt(store, SQL_FIND_RECENT_OPEN);
    if (!st)
        return -1;
    aduan_bind_text(st, 1, m->intake.from_addr);
    sqlite3_bind_int64(st, 2, aduan_store_now_ms(store) - cfg->sms.followup_window_s * 1000);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *complaint_id = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

int aduan_registry_find_thread(aduan_store_t *store, const aduan_msg_t *m,
                               int64_t *complaint_id, char ticket[40])
{
    int found = 0;
    if (m->intake.thread_ticket && *m->intake.thread_ticket) {
        found = lookup_ticket(store, m->intake.thread_ticket, complaint_id, NULL, NULL, NULL);
        if (found == 1)
            snprintf(ticket, 40, "%s", m->intake.thread_ticket);
        return found;
    }
    found = match_message_ids(store, m->intake.in_reply_to, complaint_id);
    if (found == 0)
        found = match_message_ids(store, m->intake.references, complaint_id);
    if (found == 0)
        found = find_recent_open(store, m, complaint_id);
    if (found == 1 && ticket_of(store, *complaint_id, ticket) != 0)
        return -1;
    return found;
}

int aduan_registry_quarantine(aduan_store_t *store, const char *channel, const char *peer,
                              const char *dedupe_key, const char *reason, const void *raw,
                              size_t raw_size)
{
    char sha[65] = "";
    if (raw_size > 0 && aduan_store_put_content(store, raw, raw_size, sha) != 0)
        return -1;
    sqlite3_stmt *st = aduan_store_stmt(store, SQL_INSERT_QUARANTINE);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, aduan_store_now_ms(store));
    aduan_bind_text(st, 2, channel);
    aduan_bind_text(st, 3, peer);
    aduan_bind_text_or_null(st, 4, dedupe_key);
    aduan_bind_text(st, 5, reason);
    aduan_bind_text_or_null(st, 6, sha);
    sqlite3_bind_int64(st, 7, (sqlite3_int64)raw_size);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
    sqlite3_reset(st);
    if (rc == 0) {
        json_t *o = json_pack("{s:s, s:s}", "channel", channel ? channel : "", "reason", reason);
        char *detail = json_dumps(o, JSON_COMPACT);
        aduan_store_event(store, "quarantine.new", "", detail);
        free(detail);
        json_decref(o);
    }
    return rc;
}

static int take_new(aduan_store_t *store, const aduan_msg_t *m, int64_t now,
                    aduan_intake_result_t *result)
{
    if (aduan_registry_next_ticket(store, now, result->ticket) != 0)
        return -2;
    char raw_sha[65];
    if (store_raw(store, m, raw_sha) != 0)
        return -2;
    sqlite3_stmt *st = aduan_store_stmt(store, SQL_INSERT_COMPLAINT);
    if (!st)
        return -2;
    aduan_bind_text(st, 1, result->ticket);
    aduan_bind_text(st, 2, m->intake.channel);
    aduan_bind_text(st, 3, m->intake.account);
    aduan_bind_text(st, 4, m->intake.from_addr);
    aduan_bind_text(st, 5, m->intake.from_name);
    sqlite3_bind_int64(st, 6, now);
    if (m->intake.received_at)
        sqlite3_bind_int64(st, 7, (sqlite3_int64)m->intake.received_at);
    else
        sqlite3_bind_null(st, 7);
    aduan_bind_text(st, 8, m->intake.subject);
    aduan_bind_text(st, 9, m->intake.text);
    /* a text the help desk must type in again is as incomplete as an SMS missing parts */
    sqlite3_bind_int(st, 10,
                     (m->intake.flags & (ADUAN_INTAKE_INCOMPLETE | ADUAN_INTAKE_TRANSCRIBE)) ? 1
                                                                                           : 0);
    aduan_bind_text_or_null(st, 11, raw_sha);
    int64_t check_at = aduan_deadlines_first_check(aduan_store_config(store), "recorded", now,
                                                   now);
    if (check_at >= 0)
        sqlite3_bind_int64(st, 12, check_at);
    else
        sqlite3_bind_null(st, 12);
    if (sqlite3_step(st) != SQLITE_DONE)
        return -2;
    sqlite3_reset(st);
    result->complaint_id = sqlite3_last_insert_rowid(aduan_store_db(store));
    result->disposition = "new";

    if (insert_message(store, m, result->complaint_id, now, raw_sha) != 0 ||
        insert_intake_row(store, m, result->complaint_id, "new", now) != 0)
        return -2;

    char masked[ADUAN_MASK_MAX];
    aduan_mask_address(m->intake.from_addr, masked, sizeof masked);
    char audit[512];
    snprintf(audit, sizeof audit, "channel=%s from=%s%s%s", m->intake.channel, masked,
             (m->intake.flags & ADUAN_INTAKE_INCOMPLETE) ? " incomplete" : "",
             (m->intake.flags & ADUAN_INTAKE_TRANSCRIBE) ? " needs-transcription" : "");
    if (aduan_audit_append(store, "gateway", result->complaint_id, "recorded", audit) != 0)
        return -2;

    reply_context_t ctx;
    reply_context_init(&ctx, store, result->ticket, m, now, "recorded");
    if (queue_reply(store, m, result->complaint_id, "ack", "ack", 
                    "Pengaduan Anda diterima, no. tiket {{ticket}}.", &ctx) != 0 ||
        aduan_registry_notify_staff(store, ADUAN_ROLE_HELPDESK, result->complaint_id,
                                    "notice_new", ctx.vars,
                                    "Pengaduan baru {{ticket}} via {{channel}}: {{summary}}") != 0)
        return -2;

    char *detail = event_detail(m, NULL, NULL);
    aduan_store_event(store, "ticket.new", result->ticket, detail);
    free(detail);
    log_info("core", "%s %s intake from=%s%s", result->ticket, m->intake.channel, masked,
             (m->intake.flags & ADUAN_INTAKE_INCOMPLETE) ? " incomplete" : "");
    return 0;
}

static int take_followup(aduan_store_t *store, const aduan_msg_t *m, int64_t now,
                         aduan_intake_result_t *result)
{
    char raw_sha[65];
    if (store_raw(store, m, raw_sha) != 0 ||
        insert_message(store, m, result->complaint_id, now, raw_sha) != 0 ||
        insert_intake_row(store, m, result->complaint_id, "followup", now) != 0)
        return -2;
    sqlite3_stmt *st = aduan_store_stmt(store, SQL_TOUCH_COMPLAINT);
    if (!st)
        return -2;
    sqlite3_bind_int64(st, 1, result->complaint_id);
    sqlite3_bind_int64(st, 2, now);
    if (sqlite3_step(st) != SQLITE_DONE)
        return -2;
    sqlite3_reset(st);
    result->disposition = "followup";
    /* anyone may add to a ticket whose number they know (a second phone, a relative);
       only the complainant's own address hears its state */
    char state[32] = "", *owner = NULL;
    int64_t id = 0;
    if (lookup_ticket(store, result->ticket, &id, state, NULL, &owner) != 1)
        return -2;
    bool own = strcasecmp(owner, m->intake.from_addr ? m->intake.from_addr : "") == 0;
    free(owner);
    char masked[ADUAN_MASK_MAX], audit[256];
    aduan_mask_address(m->intake.from_addr, masked, sizeof masked);
    snprintf(audit, sizeof audit, "channel=%s from=%s%s", m->intake.channel, masked,
             own ? "" : " (not the complainant's address)");
    if (aduan_audit_append(store, "gateway", result->complaint_id, "followup", audit) != 0)
        return -2;
    reply_context_t ctx;
    reply_context_init(&ctx, store, result->ticket, m, now, own ? state : "private");
    if (queue_reply(store, m, result->complaint_id, "ack", "followup_ack",
                    "Tambahan untuk pengaduan {{ticket}} telah kami terima.", &ctx) != 0)
        return -2;
    char *detail = event_detail(m, NULL, NULL);
    aduan_store_event(store, "ticket.followup", result->ticket, detail);
    free(detail);
    log_info("core", "%s %s followup from=%s", result->ticket, m->intake.channel, masked);
    return 0;
}

static int take_status_query(aduan_store_t *store, const aduan_msg_t *m, int64_t now,
                             aduan_intake_result_t *result)
{
    char state[32] = "", *owner = NULL;
    int64_t id = 0, received_at = 0;
    int found = 0;
    if (m->intake.thread_ticket && *m->intake.thread_ticket) {
        found = lookup_ticket(store, m->intake.thread_ticket, &id, state, &received_at, &owner);
        if (found < 0)
            return -2;
        /* the state of a complaint is told only to the address it came from: ticket
           numbers are sequential and could otherwise be walked */
        if (found == 1 && strcasecmp(owner, m->intake.from_addr ? m->intake.from_addr : "") != 0)
            found = 0;
        free(owner);
    }
    result->disposition = "status";
    if (found == 1) {
        snprintf(result->ticket, sizeof result->ticket, "%s", m->intake.thread_ticket);
        result->complaint_id = id;
    }
    if (insert_intake_row(store, m, id, "status", now) != 0)
        return -2;
    reply_context_t ctx;
    reply_context_init(&ctx, store, found == 1 ? result->ticket : m->intake.thread_ticket, m,
                       found == 1 ? received_at : now, found == 1 ? state : NULL);
    int rc = found == 1 ? queue_reply(store, m, id, "status", "status",
                                      "Status {{ticket}}: {{state}}.", &ctx)
                        : queue_reply(store, m, 0, "status", "status_unknown",
                                      "Tiket {{ticket}} tidak ditemukan.", &ctx);
    if (rc != 0)
        return -2;
    char masked[ADUAN_MASK_MAX];
    log_info("core", "%s %s status query from=%s%s", ctx.ticket[0] ? ctx.ticket : "-",
             m->intake.channel, aduan_mask_address(m->intake.from_addr, masked, sizeof masked),
             found == 1 ? "" : " unknown ticket");
    return 0;
}

/*  A delivery failure report on something we sent (an email bounce): the outbox row it
    names fails for good, and staff hear of it as of any failed delivery. A report that
    names nothing of ours is kept in quarantine for a person to look at. */
static int take_bounce(aduan_store_t *store, const aduan_msg_t *m, const char *peer,
                       int64_t now, aduan_intake_result_t *result)
{
    int64_t outbox_id = 0;
    const char *ids = m->intake.in_reply_to ? m->intake.in_reply_to : "";
    char *copy = strdup(ids), *save = NULL;
    if (!copy)
        return -2;
    for (char *id = strtok_r(copy, " ", &save); id && !outbox_id;
         id = strtok_r(NULL, " ", &save)) {
        sqlite3_stmt *st = aduan_store_stmt(store, SQL_FIND_SENT_ROW);
        if (!st) {
            free(copy);
            return -2;
        }
        aduan_bind_text(st, 1, id);
        if (sqlite3_step(st) == SQLITE_ROW) {
            outbox_id = sqlite3_column_int64(st, 0);
            result->complaint_id = sqlite3_column_int64(st, 1);
        }
        sqlite3_reset(st);
    }
    free(copy);
    result->disposition = "bounce";
    if (!outbox_id) {
        log_warn("core", "%s bounce names no message of ours; quarantined", m->intake.channel);
        if (aduan_registry_quarantine(store, m->intake.channel, peer, m->intake.dedupe_key,
                                      "delivery failure report for no message we sent",
                                      m->intake.raw.data, m->intake.raw.size) != 0)
            return -2;
        result->complaint_id = 0;
    } else {
        if (result->complaint_id && ticket_of(store, result->complaint_id, result->ticket) != 0)
            return -2;
        char detail[512];
        snprintf(detail, sizeof detail, "bounced: %.480s",
                 m->intake.text && *m->intake.text ? m->intake.text : "no reason given");
        for (char *p = detail; *p; p++)
            if (*p == '\n' || *p == '\r' || *p == '\t')
                *p = ' ';
        if (aduan_outbox_apply_result(store, outbox_id, "permanent", NULL, detail) != 0)
            return -2;
        log_info("core", "%s %s outbox %lld bounced", result->ticket[0] ? result->ticket : "-",
                 m->intake.channel, (long long)outbox_id);
    }
    return insert_intake_row(store, m, result->complaint_id, "bounce", now) != 0 ? -2 : 0;
}

int aduan_registry_intake(aduan_store_t *store, const aduan_msg_t *m, const char *peer,
                          aduan_intake_result_t *result, char *reason, size_t reasonlen)
{
    memset(result, 0, sizeof *result);
    int64_t now = aduan_store_now_ms(store);

    sqlite3_stmt *st = aduan_store_stmt(store, SQL_FIND_INTAKE);
    if (!st)
        return -2;
    aduan_bind_text(st, 1, m->intake.channel);
    aduan_bind_text(st, 2, m->intake.dedupe_key);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        result->disposition = "duplicate";
        result->complaint_id = sqlite3_column_int64(st, 1);
        const unsigned char *t = sqlite3_column_text(st, 2);
        snprintf(result->ticket, sizeof result->ticket, "%s", t ? (const char *)t : "");
        sqlite3_reset(st);
        return 0;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return -2;

    if (m->intake.quarantine_reason && *m->intake.quarantine_reason) {
        if (aduan_registry_quarantine(store, m->intake.channel, peer, m->intake.dedupe_key,
                                      m->intake.quarantine_reason, m->intake.raw.data,
                                      m->intake.raw.size) != 0 ||
            insert_intake_row(store, m, 0, "quarantined", now) != 0)
            return -2;
        result->disposition = "quarantined";
        log_warn("core", "%s item quarantined from peer %s: %s", m->intake.channel,
                 peer ? peer : "-", m->intake.quarantine_reason);
        return 0;
    }
    if (strcmp(m->intake.intent, "status") == 0)
        return take_status_query(store, m, now, result);
    if (strcmp(m->intake.intent, "bounce") == 0)
        return take_bounce(store, m, peer, now, result);
    if (strcmp(m->intake.intent, "call") == 0)
        return aduan_registry_call(store, m, result, reason, reasonlen);
    if (strcmp(m->intake.intent, "complaint") != 0) {
        snprintf(reason, reasonlen, "unknown intent '%s'", m->intake.intent);
        return -1;
    }
    int found = aduan_registry_find_thread(store, m, &result->complaint_id, result->ticket);
    if (found < 0)
        return -2;
    if (found == 1)
        return take_followup(store, m, now, result);
    return take_new(store, m, now, result);
}
