/*  outbox.c - everything to be sent: queued with the change that caused it, handed to the
    channel's adapter, retried with exponential backoff, marked from RESULT; after the last
    try it is failed and the help desk is told. When the channel's adapter says it is back
    (HELLO), what its backoff holds is due at once (aduan_outbox_retry_now): a server away
    for a minute must not keep the replies waiting for the hour the backoff grew to.

    Row states: pending -> sending -> sent -> delivered
                               \-> pending (temporary failure, next try later)
                               \-> failed (permanent, or out of tries)
                suppressed: an automatic reply over the sender's daily limit, never sent. */
#include <string.h>
#include <sys/random.h>

#include "aduan/log.h"
#include "registry.h"

#define DAY_MS (24LL * 3600 * 1000)

#define SQL_COUNT_AUTOMATIC                                                                \
    "SELECT count(*) FROM outbox WHERE to_addr = ?1 AND automatic = 1"                      \
    " AND created_at > ?2 AND status <> 'suppressed'"
#define SQL_INSERT_OUTBOX                                                                  \
    "INSERT INTO outbox(complaint_id, kind, channel, account, to_addr, to_name, staff_id,"  \
    " subject, body, message_id, in_reply_to, refs, automatic, status, attempts,"           \
    " next_attempt_at, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11,"   \
    " ?12, ?13, ?14, ?16, ?17, ?15)"
/*  Due now, oldest first, then what was planned past the horizon (planning_horizon_ms):
    two ranges of the due index, merged. As one condition with OR, SQLite walked every entry
    of the channel in the index to find the second range, the items in flight included:
    with 300 in flight and nothing due, 2,116 VM steps and about 50 us, asked once per
    channel at every turn under load; now a few steps and 3 us. */
#define SQL_DUE_PART(range)                                                                \
    "SELECT o.id, o.kind, o.channel, o.account, o.to_addr, o.to_name, o.subject, o.body,"   \
    " o.message_id, o.in_reply_to, o.refs, o.automatic, o.attempts, c.ticket, o.status,"    \
    " o.next_attempt_at FROM outbox o LEFT JOIN complaint c ON c.id = o.complaint_id"       \
    " WHERE o.channel = ?1 AND o.status IN ('pending','sending') AND " range
#define SQL_DUE                                                                            \
    SQL_DUE_PART("o.next_attempt_at <= ?2") " UNION ALL "                                   \
    SQL_DUE_PART("o.next_attempt_at > ?4") " ORDER BY next_attempt_at LIMIT ?3"
#define SQL_NEXT_DUE                                                                       \
    "SELECT min(next_attempt_at) FROM outbox WHERE channel = ?1"                            \
    " AND status IN ('pending','sending')"
/* waiting after a failure (attempts > 0) and not due yet: the rows a backoff holds back.
   The IN term, implied by the first, is the partial index outbox_due's own condition:
   SQLite uses that index only when the query repeats it, and otherwise read the whole
   outbox (31 ms at 80,000 rows) at every adapter's HELLO, before the HELLO's turn. */
#define SQL_RETRY_NOW                                                                      \
    "UPDATE outbox SET next_attempt_at = ?2 WHERE channel = ?1 AND status = 'pending'"      \
    " AND attempts > 0 AND next_attempt_at > ?2 AND status IN ('pending','sending')"
#define SQL_MARK_SENDING                                                                   \
    "UPDATE outbox SET status = 'sending', attempts = ?3, next_attempt_at = ?2 WHERE id = ?1"
#define SQL_GET                                                                            \
    "SELECT o.status, o.attempts, o.kind, o.to_addr, o.complaint_id, c.ticket, o.channel"   \
    " FROM outbox o LEFT JOIN complaint c ON c.id = o.complaint_id WHERE o.id = ?1"
#define SQL_SET_SENT                                                                       \
    "UPDATE outbox SET status = ?2, sent_at = coalesce(sent_at, ?3),"                       \
    " delivered_at = CASE WHEN ?2 = 'delivered' THEN ?3 END,"                               \
    " provider_id = coalesce(?4, provider_id) WHERE id = ?1"
#define SQL_SET_RETRY                                                                      \
    "UPDATE outbox SET status = 'pending', last_error = ?2, next_attempt_at = ?3"           \
    " WHERE id = ?1"
#define SQL_NOTE_ERROR "UPDATE outbox SET last_error = ?2 WHERE id = ?1"
#define SQL_SET_FAILED "UPDATE outbox SET status = 'failed', last_error = ?2 WHERE id = ?1"
/* the text stays in the outbox row; the thread points at it */
#define SQL_THREAD_OUT                                                                     \
    "INSERT INTO message(complaint_id, direction, at, channel, to_addr, outbox_id)"         \
    " VALUES (?1, 'out', ?2, ?3, ?4, ?5)"

/*  No attempt is ever planned further ahead than this. One that is was planned before the
    clock stepped back (an office PC whose clock was set by hand, a dead CMOS battery put
    right): it is due now rather than hours or years from now. */
static int64_t planning_horizon_ms(const aduan_retry_policy_t *p)
{
    return p->retry_max_ms + p->deliver_timeout_ms + 60 * 1000;
}

void aduan_retry_policy_from_config(const aduan_config_t *config, aduan_retry_policy_t *p)
{
    p->retry_base_ms = config->outbox.retry_base_s * 1000;
    p->retry_max_ms = config->outbox.retry_max_s * 1000;
    p->max_attempts = (int)config->outbox.max_attempts;
    p->deliver_timeout_ms = config->outbox.deliver_timeout_s * 1000;
}

int64_t aduan_retry_delay_ms(const aduan_retry_policy_t *p, int attempts)
{
    if (attempts < 1)
        return 0;
    int64_t delay = p->retry_base_ms;
    for (int i = 1; i < attempts && delay < p->retry_max_ms; i++)
        delay *= 2;
    return delay < p->retry_max_ms ? delay : p->retry_max_ms;
}

/* True when the recipient already had its share of automatic replies in the last day. */
static int over_daily_limit(aduan_store_t *store, const char *to_addr, int64_t now)
{
    int64_t limit = aduan_store_config(store)->outbox.auto_replies_per_day;
    sqlite3_stmt *st = aduan_store_stmt(store, SQL_COUNT_AUTOMATIC);
    if (!st)
        return -1;
    aduan_bind_text(st, 1, to_addr);
    sqlite3_bind_int64(st, 2, now - DAY_MS);
    if (sqlite3_step(st) != SQLITE_ROW)
        return -1;
    int64_t count = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return count >= limit ? 1 : 0;
}

/* Random bytes from a pool refilled 32 Message-IDs at a time: one getrandom(2) per ID
   showed in the intake's profile. */
static void random_bytes(unsigned char *out, size_t n)
{
    static _Thread_local unsigned char pool[256];
    static _Thread_local size_t left;
    if (left < n) {
        if (getrandom(pool, sizeof pool, 0) != (ssize_t)sizeof pool)
            log_warn("core", "getrandom failed; Message-ID less random");
        left = sizeof pool;
    }
    memcpy(out, pool + sizeof pool - left, n);
    left -= n;
}

/*  A Message-ID that stays with the row through every retry. Its right side is the
    domain of our mail address (receiving servers and filters expect a domain there), or
    "aduan" without one. */
static void make_message_id(const aduan_config_t *cfg, const char *ticket, const char *kind,
                            char *out, size_t outlen)
{
    unsigned char rnd[8] = {0};
    random_bytes(rnd, sizeof rnd);
    const char *at = cfg->email.address ? strrchr(cfg->email.address, '@') : NULL;
    const char *domain = at && at[1] ? at + 1 : "aduan";
    snprintf(out, outlen, "%s.%s.%02x%02x%02x%02x%02x%02x%02x%02x@%.100s",
             ticket && *ticket ? ticket : "aduan", kind, rnd[0], rnd[1], rnd[2], rnd[3], rnd[4],
             rnd[5], rnd[6], rnd[7], domain);
}

/* When an item handed out for its attempt-th try is due again without a RESULT: the
   attempt failed, and the next waits its backoff as well. */
static int64_t sending_due_at(aduan_store_t *store, int attempt)
{
    aduan_retry_policy_t policy;
    aduan_retry_policy_from_config(aduan_store_config(store), &policy);
    return aduan_store_now_ms(store) + policy.deliver_timeout_ms +
           aduan_retry_delay_ms(&policy, attempt);
}

static aduan_msg_t *deliver_from_item(const aduan_outbox_item_t *item, int64_t id,
                                      const char *message_id)
{
    aduan_msg_t *m = aduan_msg_new(ADUAN_MSG_DELIVER);
    if (!m)
        return NULL;
    m->deliver.outbox_id = (uint64_t)id;
    aduan_msg_set(&m->deliver.kind, item->kind);
    aduan_msg_set(&m->deliver.channel, item->channel);
    aduan_msg_set(&m->deliver.account, item->account ? item->account : "");
    aduan_msg_set(&m->deliver.to_addr, item->to_addr);
    aduan_msg_set(&m->deliver.to_name, item->to_name ? item->to_name : "");
    aduan_msg_set(&m->deliver.subject, item->subject ? item->subject : "");
    aduan_msg_set(&m->deliver.text, item->body);
    aduan_msg_set(&m->deliver.message_id, message_id);
    aduan_msg_set(&m->deliver.in_reply_to, item->in_reply_to ? item->in_reply_to : "");
    aduan_msg_set(&m->deliver.references, item->references ? item->references : "");
    m->deliver.automatic = item->automatic;
    m->deliver.attempt = 1;
    aduan_msg_set(&m->deliver.ticket, item->ticket ? item->ticket : "");
    return m;
}

int aduan_outbox_queue(aduan_store_t *store, const aduan_outbox_item_t *item, int64_t *id_out)
{
    int64_t now = aduan_store_now_ms(store);
    const char *status = "pending";
    /* a telephone complaint is answered by SMS or by a call-back (calls.c) */
    aduan_outbox_item_t routed;
    aduan_call_route_t route = aduan_calls_route(store, item, &routed);
    item = &routed;
    if (route == ADUAN_CALL_ROUTE_NONE) {
        *id_out = 0;
        return 0;
    }
    if (route == ADUAN_CALL_ROUTE_CALLBACK)
        status = "sent"; /* to the help desk, who calls; delivered when they did */
    if (item->automatic) {
        int over = over_daily_limit(store, item->to_addr, now);
        if (over < 0)
            return -1;
        if (over) {
            char masked[ADUAN_MASK_MAX];
            log_info("core", "%s %s automatic %s to=%s suppressed: daily limit reached",
                     item->ticket ? item->ticket : "-", item->channel, item->kind,
                     aduan_mask_address(item->to_addr, masked, sizeof masked));
            status = "suppressed";
        }
    }
    const aduan_outbox_handout_t *handout = aduan_store_handout(store);
    bool handed = strcmp(status, "pending") == 0 && handout &&
                  handout->has_room(item->channel, handout->arg);
    if (handed)
        status = "sending";
    char message_id[160];
    make_message_id(aduan_store_config(store), item->ticket, item->kind, message_id,
                    sizeof message_id);
    sqlite3_stmt *st = aduan_store_stmt(store, SQL_INSERT_OUTBOX);
    if (!st)
        return -1;
    if (item->complaint_id > 0)
        sqlite3_bind_int64(st, 1, item->complaint_id);
    else
        sqlite3_bind_null(st, 1);
    aduan_bind_text(st, 2, item->kind);
    aduan_bind_text(st, 3, item->channel);
    aduan_bind_text(st, 4, item->account);
    aduan_bind_text(st, 5, item->to_addr);
    aduan_bind_text(st, 6, item->to_name);
    aduan_bind_text_or_null(st, 7, item->staff_id);
    aduan_bind_text(st, 8, item->subject);
    aduan_bind_text(st, 9, item->body);
    aduan_bind_text(st, 10, message_id);
    aduan_bind_text_or_null(st, 11, item->in_reply_to);
    aduan_bind_text_or_null(st, 12, item->references);
    sqlite3_bind_int(st, 13, item->automatic ? 1 : 0);
    aduan_bind_text(st, 14, status);
    sqlite3_bind_int64(st, 15, now);
    sqlite3_bind_int(st, 16, handed ? 1 : 0);
    sqlite3_bind_int64(st, 17, handed ? sending_due_at(store, 1) : now);
    if (sqlite3_step(st) != SQLITE_DONE)
        return -1;
    sqlite3_reset(st);
    *id_out = sqlite3_last_insert_rowid(aduan_store_db(store));
    if (handed) {
        aduan_msg_t *deliver = deliver_from_item(item, *id_out, message_id);
        if (!deliver)
            return -1;
        handout->take(deliver, handout->arg);
    }
    if (route == ADUAN_CALL_ROUTE_CALLBACK)
        return aduan_calls_add_task(store, *id_out, item);
    return 0;
}

static aduan_msg_t *deliver_from_row(sqlite3_stmt *st)
{
    aduan_msg_t *m = aduan_msg_new(ADUAN_MSG_DELIVER);
    if (!m)
        return NULL;
    m->deliver.outbox_id = (uint64_t)sqlite3_column_int64(st, 0);
    aduan_msg_set(&m->deliver.kind, aduan_column_text(st, 1));
    aduan_msg_set(&m->deliver.channel, aduan_column_text(st, 2));
    aduan_msg_set(&m->deliver.account, aduan_column_text(st, 3));
    aduan_msg_set(&m->deliver.to_addr, aduan_column_text(st, 4));
    aduan_msg_set(&m->deliver.to_name, aduan_column_text(st, 5));
    aduan_msg_set(&m->deliver.subject, aduan_column_text(st, 6));
    aduan_msg_set(&m->deliver.text, aduan_column_text(st, 7));
    aduan_msg_set(&m->deliver.message_id, aduan_column_text(st, 8));
    aduan_msg_set(&m->deliver.in_reply_to, aduan_column_text(st, 9));
    aduan_msg_set(&m->deliver.references, aduan_column_text(st, 10));
    m->deliver.automatic = sqlite3_column_int(st, 11) != 0;
    m->deliver.attempt = (uint64_t)sqlite3_column_int64(st, 12) + 1;
    aduan_msg_set(&m->deliver.ticket, aduan_column_text(st, 13));
    return m;
}

int aduan_outbox_each_due(aduan_store_t *store, const char *channel, int limit,
                          aduan_outbox_due_fn fn, void *arg)
{
    aduan_retry_policy_t policy;
    aduan_retry_policy_from_config(aduan_store_config(store), &policy);
    sqlite3_stmt *st = aduan_store_stmt(store, SQL_DUE);
    if (!st)
        return -1;
    int64_t now = aduan_store_now_ms(store);
    aduan_bind_text(st, 1, channel);
    sqlite3_bind_int64(st, 2, now);
    sqlite3_bind_int(st, 3, limit);
    sqlite3_bind_int64(st, 4, now + planning_horizon_ms(&policy));
    /* collect first: the rows change while fn runs */
    zlistx_t *due = zlistx_new();
    zlistx_t *expired = zlistx_new();
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        bool was_sending = strcmp(aduan_column_text(st, 14), "sending") == 0;
        if (was_sending && sqlite3_column_int(st, 12) >= policy.max_attempts) {
            zlistx_add_end(expired, (void *)(intptr_t)sqlite3_column_int64(st, 0));
            continue;
        }
        aduan_msg_t *m = deliver_from_row(st);
        if (m)
            zlistx_add_end(due, m);
    }
    sqlite3_reset(st);
    for (void *id = zlistx_first(expired); id; id = zlistx_next(expired))
        aduan_outbox_apply_result(store, (int64_t)(intptr_t)id, "permanent", NULL,
                                  "no result from the adapter after the last try");
    zlistx_destroy(&expired);
    int stop = 0;
    for (aduan_msg_t *m = zlistx_first(due); m; m = zlistx_next(due)) {
        if (!stop && rc == SQLITE_DONE)
            stop = fn(m, arg);
        aduan_msg_destroy(&m);
    }
    zlistx_destroy(&due);
    return rc == SQLITE_DONE ? 0 : -1;
}

int64_t aduan_outbox_next_due_at(aduan_store_t *store, const char *channel)
{
    sqlite3_stmt *st = aduan_store_stmt(store, SQL_NEXT_DUE);
    if (!st)
        return 0;
    aduan_bind_text(st, 1, channel);
    int64_t at = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    aduan_retry_policy_t policy;
    aduan_retry_policy_from_config(aduan_store_config(store), &policy);
    int64_t now = aduan_store_now_ms(store);
    return at > now + planning_horizon_ms(&policy) ? now : at; /* the clock stepped back */
}

int aduan_outbox_retry_now(aduan_store_t *store, const char *channel)
{
    sqlite3_stmt *st = aduan_store_stmt(store, SQL_RETRY_NOW);
    if (!st)
        return -1;
    aduan_bind_text(st, 1, channel);
    sqlite3_bind_int64(st, 2, aduan_store_now_ms(store));
    int rc = sqlite3_step(st) == SQLITE_DONE ? sqlite3_changes(aduan_store_db(store)) : -1;
    sqlite3_reset(st);
    return rc;
}

int aduan_outbox_mark_sending(aduan_store_t *store, int64_t outbox_id, int attempt)
{
    int64_t due = sending_due_at(store, attempt);
    sqlite3_stmt *st = aduan_store_stmt(store, SQL_MARK_SENDING);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, outbox_id);
    sqlite3_bind_int64(st, 2, due);
    sqlite3_bind_int(st, 3, attempt);
    int rc = sqlite3_step(st) == SQLITE_DONE && sqlite3_changes(aduan_store_db(store)) == 1
                 ? 0 : -1;
    sqlite3_reset(st);
    return rc;
}

typedef struct {
    char status[16];
    int attempts;
    char kind[16];
    char *to_addr;
    int64_t complaint_id;
    char ticket[40];
    char channel[40];
} outbox_row_t;

static void row_clear(outbox_row_t *r)
{
    free(r->to_addr);
}

static int load_row(aduan_store_t *store, int64_t id, outbox_row_t *r)
{
    memset(r, 0, sizeof *r);
    sqlite3_stmt *st = aduan_store_stmt(store, SQL_GET);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        snprintf(r->status, sizeof r->status, "%s", aduan_column_text(st, 0));
        r->attempts = sqlite3_column_int(st, 1);
        snprintf(r->kind, sizeof r->kind, "%s", aduan_column_text(st, 2));
        r->to_addr = strdup(aduan_column_text(st, 3));
        r->complaint_id = sqlite3_column_int64(st, 4);
        snprintf(r->ticket, sizeof r->ticket, "%s", aduan_column_text(st, 5));
        snprintf(r->channel, sizeof r->channel, "%s", aduan_column_text(st, 6));
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

/* Runs an UPDATE of one row: ?1 the id, then the text and number arguments given. */
static int update_row(aduan_store_t *store, const char *sql, int64_t id, const char *text,
                      const int64_t *number, const char *text2)
{
    sqlite3_stmt *st = aduan_store_stmt(store, sql);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, id);
    int next = 2;
    if (text)
        aduan_bind_text(st, next++, text);
    if (number)
        sqlite3_bind_int64(st, next++, *number);
    if (text2)
        aduan_bind_text_or_null(st, next++, text2);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
    sqlite3_reset(st);
    return rc;
}

/* What was sent to the complainant joins the thread of the complaint; notices to staff
   are not part of the conversation with the citizen. */
static int thread_out(aduan_store_t *store, int64_t id, const outbox_row_t *r, int64_t now)
{
    if (r->complaint_id <= 0 || strcmp(r->kind, "notice") == 0 ||
        strcmp(r->kind, "reminder") == 0)
        return 0;
    sqlite3_stmt *st = aduan_store_stmt(store, SQL_THREAD_OUT);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, r->complaint_id);
    sqlite3_bind_int64(st, 2, now);
    aduan_bind_text(st, 3, r->channel);
    aduan_bind_text(st, 4, r->to_addr);
    sqlite3_bind_int64(st, 5, id);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
    sqlite3_reset(st);
    return rc;
}

static void outbox_event(aduan_store_t *store, const char *topic, int64_t id,
                         const outbox_row_t *r, const char *detail)
{
    json_t *o = json_pack("{s:I, s:s, s:s, s:s}", "outbox_id", (json_int_t)id, "kind", r->kind,
                          "channel", r->channel, "detail", detail ? detail : "");
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    aduan_store_event(store, topic, r->ticket, s);
    free(s);
    json_decref(o);
}

static int fail_row(aduan_store_t *store, int64_t id, const outbox_row_t *r, const char *detail)
{
    if (update_row(store, SQL_SET_FAILED, id, detail ? detail : "", NULL, NULL) != 0)
        return -1;
    char masked[ADUAN_MASK_MAX];
    aduan_mask_address(r->to_addr, masked, sizeof masked);
    log_warn("core", "%s %s %s to=%s failed after %d tries: %s", r->ticket[0] ? r->ticket : "-",
             r->channel, r->kind, masked, r->attempts, detail ? detail : "");
    outbox_event(store, "outbox.failed", id, r, detail);
    if (r->complaint_id > 0) {
        char audit[512];
        snprintf(audit, sizeof audit, "%s to=%s: %s", r->kind, masked, detail ? detail : "");
        if (aduan_audit_append(store, "gateway", r->complaint_id, "delivery_failed", audit) != 0)
            return -1;
    }
    /* A notice that cannot reach staff is not answered by another notice: no loops. */
    if (strcmp(r->kind, "notice") == 0)
        return 0;
    aduan_template_var_t vars[] = {
        {"ticket", r->ticket}, {"kind", r->kind}, {"to", masked},
        {"channel", r->channel}, {"reason", detail ? detail : ""}, {NULL, NULL},
    };
    return aduan_registry_notify_staff(store, ADUAN_ROLE_HELPDESK, r->complaint_id,
                                       "delivery_failed", vars,
                                       "{{kind}} {{ticket}} ke {{to}} gagal terkirim: {{reason}}");
}

int aduan_outbox_apply_result(aduan_store_t *store, int64_t outbox_id, const char *status,
                              const char *provider_id, const char *detail)
{
    outbox_row_t r;
    int found = load_row(store, outbox_id, &r);
    if (found <= 0) {
        log_warn("core", "RESULT for unknown outbox item %lld", (long long)outbox_id);
        return found < 0 ? -1 : 0;
    }
    int64_t now = aduan_store_now_ms(store);
    int rc = 0;
    bool final = strcmp(r.status, "failed") == 0 || strcmp(r.status, "delivered") == 0 ||
                 strcmp(r.status, "suppressed") == 0;
    bool delivered = strcmp(status, "delivered") == 0;
    const char *provider = provider_id ? provider_id : "";
    if (delivered && strcmp(r.status, "failed") == 0) {
        /* a delivery report outranks an earlier failure: the citizen has it */
        rc = update_row(store, SQL_SET_SENT, outbox_id, status, &now, provider);
        if (rc == 0)
            outbox_event(store, "outbox.delivered", outbox_id, &r, provider_id);
    } else if (final) {
        log_debug("core", "RESULT %s for outbox item %lld already %s", status,
                  (long long)outbox_id, r.status);
    } else if (strcmp(status, "sent") == 0 || delivered) {
        bool first_success = strcmp(r.status, "sent") != 0;
        rc = update_row(store, SQL_SET_SENT, outbox_id, status, &now, provider);
        if (rc == 0 && first_success) {
            rc = thread_out(store, outbox_id, &r, now);
            outbox_event(store, "outbox.sent", outbox_id, &r, provider_id);
            log_debug("core", "%s %s %s sent", r.ticket[0] ? r.ticket : "-", r.channel, r.kind);
        }
        if (rc == 0 && strcmp(status, "delivered") == 0)
            outbox_event(store, "outbox.delivered", outbox_id, &r, provider_id);
    } else if (strcmp(r.status, "sent") == 0 && strcmp(status, "temporary") == 0) {
        /* accepted, delivery delayed (a "delayed" report): still sent, noted */
        rc = update_row(store, SQL_NOTE_ERROR, outbox_id, detail ? detail : "", NULL, NULL);
    } else if (strcmp(r.status, "sent") == 0) {
        /* a failure reported after acceptance (a bounce, a failed delivery report) */
        rc = fail_row(store, outbox_id, &r, detail);
    } else if (strcmp(status, "temporary") == 0) {
        aduan_retry_policy_t p;
        aduan_retry_policy_from_config(aduan_store_config(store), &p);
        if (r.attempts >= p.max_attempts)
            rc = fail_row(store, outbox_id, &r, detail);
        else {
            int64_t due = now + aduan_retry_delay_ms(&p, r.attempts);
            rc = update_row(store, SQL_SET_RETRY, outbox_id, detail ? detail : "", &due, NULL);
        }
    } else {
        rc = fail_row(store, outbox_id, &r, detail);
    }
    row_clear(&r);
    return rc;
}
