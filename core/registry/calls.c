/*  calls.c - the telephone channel in the registry: the call log, the clerk's notes, the
    invitation after a missed call, and how a telephone complaint is answered.

    - A call record (INTAKE intent "call", from channels/phone) is a row of call_log, keyed
      by its id at the source (message_ref: Asterisk's uniqueid); no ticket.
    - The clerk's note (aduanctl call) is an intake of its own on channel "phone", keyed
      "note:<record>" when it names the call, so that the same note twice is one ticket and
      the call log shows the ticket whichever of the two came first.
    - A reply to a telephone complaint (acknowledgement, response) cannot go down the
      line: the outbox sends it by SMS to a mobile, and for any other number the help desk
      gets a call-back task (call_task) instead; the clerk marks it done (aduanctl called),
      which counts as the response delivered (SOP step 7).

    The core reads no text of the call: the channel has parsed the record and sends its
    fields; the caller's name is stored and shown as text. */
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aduan/log.h"
#include "aduan/phone.h"
#include "registry.h"

#define DAY_MS (24LL * 3600 * 1000)
#define NOTE_MAX (64 * 1024)

#define SQL_INSERT_CALL                                                                    \
    "INSERT INTO call_log(record, account, at, logged_at, from_addr, from_name, status,"    \
    " seconds, mobile) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"                         \
    " ON CONFLICT(record) DO NOTHING RETURNING id"
/* the complaint of a call: the note that named its record */
#define SQL_NOTE_OF_RECORD                                                                 \
    "SELECT c.id, c.ticket FROM intake i JOIN complaint c ON c.id = i.complaint_id"         \
    " WHERE i.channel = 'phone' AND i.dedupe_key = 'note:' || ?1"
#define SQL_CALL_OF_RECORD "SELECT at FROM call_log WHERE record = ?1"
#define SQL_INVITED_RECENTLY                                                               \
    "SELECT count(*) FROM call_log WHERE from_addr = ?1 AND invite_outbox_id IS NOT NULL"   \
    " AND logged_at > ?2"
#define SQL_SET_INVITED "UPDATE call_log SET invite_outbox_id = ?2 WHERE id = ?1"
#define SQL_INSERT_TASK                                                                    \
    "INSERT INTO call_task(complaint_id, outbox_id, to_addr, created_at)"                   \
    " VALUES (?1, ?2, ?3, ?4)"
#define SQL_TASK                                                                           \
    "SELECT t.outbox_id, t.done_at, t.complaint_id, coalesce(c.ticket, '')"                 \
    " FROM call_task t LEFT JOIN complaint c ON c.id = t.complaint_id WHERE t.id = ?1"
#define SQL_TASK_DONE                                                                      \
    "UPDATE call_task SET done_at = ?2, done_by = ?3, note = ?4 WHERE id = ?1"

#define ISO(col) "strftime('%Y-%m-%dT%H:%M:%SZ', " col " / 1000, 'unixepoch')"
#define SQL_LIST_CALLS                                                                     \
    "SELECT l.id, " ISO("l.at") " AS at, l.from_addr, l.from_name, l.status, l.seconds,"    \
    " l.record, CASE l.mobile WHEN 1 THEN 'mobile' ELSE 'landline' END AS line,"            \
    " (SELECT c.ticket FROM intake i JOIN complaint c ON c.id = i.complaint_id"             \
    "   WHERE i.channel = 'phone' AND i.dedupe_key = 'note:' || l.record) AS ticket,"       \
    " l.invite_outbox_id IS NOT NULL AS invited"                                            \
    " FROM call_log l WHERE l.at >= ?1 AND l.at < ?2"                                       \
    " AND (?3 = '' OR (?3 = 'answered' AND l.status = 'answered')"                          \
    "      OR (?3 = 'missed' AND l.status <> 'answered'))"                                  \
    " ORDER BY l.at DESC, l.id DESC LIMIT ?4"
#define SQL_LIST_TASKS                                                                     \
    "SELECT t.id, " ISO("t.created_at") " AS created_at, coalesce(c.ticket, '') AS ticket," \
    " t.to_addr, coalesce(c.from_name, '') AS name, o.kind, o.body AS text"                 \
    " FROM call_task t JOIN outbox o ON o.id = t.outbox_id"                                 \
    " LEFT JOIN complaint c ON c.id = t.complaint_id"                                       \
    " WHERE t.done_at IS NULL ORDER BY t.created_at, t.id LIMIT ?1"

static bool is_mobile(aduan_store_t *store, const char *e164)
{
    return aduan_phone_is_mobile(e164, aduan_store_config(store)->phone.mobile_prefixes);
}

/* ---- a call record -------------------------------------------------------------------- */

/*  The SMS after a missed call, inviting the caller to write or call again: only when the
    office wants it, to a mobile, for a call of the last day (not for an old file read
    for the first time), not when the call has its note already, and once a day per
    number. Returns 0, or -1 on a database error. */
static int invite(aduan_store_t *store, const aduan_msg_t *m, int64_t call_id, int64_t at,
                  int64_t now, bool noted)
{
    const aduan_config_t *cfg = aduan_store_config(store);
    const char *from = m->intake.from_addr;
    if (!cfg->phone.invite_missed || noted || !from || !is_mobile(store, from) ||
        now - at > DAY_MS)
        return 0;
    sqlite3_stmt *st = aduan_store_stmt(store, SQL_INVITED_RECENTLY);
    if (!st)
        return -1;
    aduan_bind_text(st, 1, from);
    sqlite3_bind_int64(st, 2, now - DAY_MS);
    if (sqlite3_step(st) != SQLITE_ROW)
        return -1;
    int64_t recent = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    char masked[ADUAN_MASK_MAX];
    aduan_mask_phone(from, masked, sizeof masked);
    if (recent > 0) {
        log_info("core", "phone missed call from=%s: invited already today", masked);
        return 0;
    }
    aduan_template_var_t vars[] = {
        {"office", cfg->core.office_name},
        {"name", m->intake.from_name},
        {NULL, NULL},
    };
    aduan_rendered_t r = {0};
    aduan_registry_render(store, "invite_missed", "sms", vars,
                          "Maaf, panggilan Anda ke {{office}} tidak terjawab. Silakan kirim "
                          "pengaduan Anda melalui SMS ke nomor ini atau telepon kembali.",
                          &r);
    aduan_outbox_item_t item = {
        .kind = "ack",
        .channel = "sms",
        .account = cfg->sms.account,
        .to_addr = from,
        .to_name = m->intake.from_name,
        .subject = r.subject,
        .body = r.text,
        .automatic = true,
    };
    int64_t outbox_id = 0;
    int rc = aduan_outbox_queue(store, &item, &outbox_id);
    aduan_rendered_clear(&r);
    if (rc != 0)
        return -1;
    st = aduan_store_stmt(store, SQL_SET_INVITED);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, call_id);
    sqlite3_bind_int64(st, 2, outbox_id);
    rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
    sqlite3_reset(st);
    log_info("core", "phone missed call from=%s: invitation queued outbox=%lld", masked,
             (long long)outbox_id);
    return rc;
}

/* The complaint a note made of the record, if any: 1 found, 0 not, -1 error. */
static int note_of_record(aduan_store_t *store, const char *record, int64_t *complaint_id,
                          char ticket[40])
{
    sqlite3_stmt *st = aduan_store_stmt(store, SQL_NOTE_OF_RECORD);
    if (!st)
        return -1;
    aduan_bind_text(st, 1, record);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *complaint_id = sqlite3_column_int64(st, 0);
        snprintf(ticket, 40, "%s", aduan_column_text(st, 1));
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

/*  A record the channel should not have sent (its own checks failed): kept in quarantine
    with the reason, never dropped, and answered as such, so the channel moves on. */
static int keep_refused(aduan_store_t *store, const aduan_msg_t *m, const char *why,
                        aduan_intake_result_t *result)
{
    if (aduan_registry_quarantine(store, m->intake.channel, m->intake.account,
                                  m->intake.dedupe_key, why, m->intake.raw.data,
                                  m->intake.raw.size) != 0)
        return -2;
    log_warn("core", "phone call record quarantined: %s", why);
    result->disposition = "quarantined";
    return 0;
}

int aduan_registry_call(aduan_store_t *store, const aduan_msg_t *m,
                        aduan_intake_result_t *result, char *reason, size_t reasonlen)
{
    (void)reason;
    (void)reasonlen;
    const char *from = m->intake.from_addr ? m->intake.from_addr : "";
    const char *status = m->intake.call_status;
    const char *record = m->intake.message_ref && *m->intake.message_ref
                             ? m->intake.message_ref
                             : m->intake.dedupe_key;
    char e164[ADUAN_PHONE_E164_MAX];
    if (*from && (aduan_phone_e164(from, e164, sizeof e164) != 0 || strcmp(e164, from) != 0))
        return keep_refused(store, m, "call record: the caller is not an E.164 number", result);
    if (!status)
        return keep_refused(store, m, "call record without call_status", result);
    int64_t now = aduan_store_now_ms(store);
    int64_t at = m->intake.received_at ? (int64_t)m->intake.received_at : now;
    bool mobile = *from && is_mobile(store, from);
    int found = note_of_record(store, record, &result->complaint_id, result->ticket);
    if (found < 0)
        return -2;

    sqlite3_stmt *st = aduan_store_stmt(store, SQL_INSERT_CALL);
    if (!st)
        return -2;
    aduan_bind_text(st, 1, record);
    aduan_bind_text(st, 2, m->intake.account);
    sqlite3_bind_int64(st, 3, at);
    sqlite3_bind_int64(st, 4, now);
    aduan_bind_text(st, 5, from);
    aduan_bind_text(st, 6, m->intake.from_name);
    aduan_bind_text(st, 7, status);
    sqlite3_bind_int64(st, 8, (sqlite3_int64)m->intake.call_seconds);
    sqlite3_bind_int(st, 9, mobile ? 1 : 0);
    int rc = sqlite3_step(st);
    int64_t call_id = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    if (rc == SQLITE_DONE) {
        result->disposition = "duplicate";
        return 0;
    }
    if (rc != SQLITE_ROW)
        return -2;
    result->disposition = "logged";

    if (strcmp(status, "answered") != 0 && invite(store, m, call_id, at, now, found == 1) != 0)
        return -2;
    char masked[ADUAN_MASK_MAX];
    aduan_mask_phone(from, masked, sizeof masked);
    json_t *o = json_pack("{s:s, s:s, s:I, s:s}", "from", masked, "status", status, "seconds",
                          (json_int_t)m->intake.call_seconds, "line",
                          !*from ? "withheld" : mobile ? "mobile" : "landline");
    char *detail = o ? json_dumps(o, JSON_COMPACT) : NULL;
    aduan_store_event(store, "call.logged", result->ticket, detail);
    free(detail);
    json_decref(o);
    log_info("core", "%s phone call from=%s %s seconds=%llu", found == 1 ? result->ticket : "-",
             masked, status, (unsigned long long)m->intake.call_seconds);
    return 0;
}

/* ---- replies to a telephone complaint -------------------------------------------------- */

aduan_call_route_t aduan_calls_route(aduan_store_t *store, const aduan_outbox_item_t *item,
                                     aduan_outbox_item_t *routed)
{
    *routed = *item;
    if (!item->channel || strcmp(item->channel, "phone") != 0)
        return ADUAN_CALL_ROUTE_AS_IS;
    if (is_mobile(store, item->to_addr)) {
        routed->channel = "sms";
        routed->account = aduan_store_config(store)->sms.account;
        return ADUAN_CALL_ROUTE_AS_IS;
    }
    /* the clerk gave the ticket number on the phone: an acknowledgement needs no call */
    if (strcmp(item->kind, "ack") == 0 || strcmp(item->kind, "status") == 0)
        return ADUAN_CALL_ROUTE_NONE;
    return ADUAN_CALL_ROUTE_CALLBACK;
}

int aduan_calls_add_task(aduan_store_t *store, int64_t outbox_id,
                         const aduan_outbox_item_t *item)
{
    sqlite3_stmt *st = aduan_store_stmt(store, SQL_INSERT_TASK);
    if (!st)
        return -1;
    if (item->complaint_id > 0)
        sqlite3_bind_int64(st, 1, item->complaint_id);
    else
        sqlite3_bind_null(st, 1);
    sqlite3_bind_int64(st, 2, outbox_id);
    aduan_bind_text(st, 3, item->to_addr);
    sqlite3_bind_int64(st, 4, aduan_store_now_ms(store));
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
    sqlite3_reset(st);
    if (rc == 0) {
        int64_t task = sqlite3_last_insert_rowid(aduan_store_db(store));
        char masked[ADUAN_MASK_MAX];
        json_t *o = json_pack("{s:I, s:s, s:s}", "task", (json_int_t)task, "kind", item->kind,
                              "to", aduan_mask_phone(item->to_addr, masked, sizeof masked));
        char *detail = o ? json_dumps(o, JSON_COMPACT) : NULL;
        aduan_store_event(store, "call.callback", item->ticket ? item->ticket : "", detail);
        free(detail);
        json_decref(o);
        log_info("core", "%s phone %s to=%s: call-back task %lld for the help desk",
                 item->ticket ? item->ticket : "-", item->kind, masked, (long long)task);
    }
    return rc;
}

/* ---- staff commands --------------------------------------------------------------------- */

static json_t *refused_with(bool *refused, char *reason, size_t rl, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static json_t *refused_with(bool *refused, char *reason, size_t rl, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, rl, fmt, ap);
    va_end(ap);
    *refused = true;
    return NULL;
}

/* args.text, or the UTF-8 text of args.file {name, base64}; caller frees; NULL refused. */
static char *note_text(const json_t *args, char *reason, size_t rl)
{
    const char *text = json_string_value(json_object_get(args, "text"));
    if (text && *text)
        return strdup(text);
    const char *b64 = json_string_value(json_object_get(json_object_get(args, "file"), "base64"));
    if (!b64) {
        snprintf(reason, rl, "call: --text or --file is required");
        return NULL;
    }
    size_t len = strlen(b64);
    if (len / 4 * 3 > NOTE_MAX) {
        snprintf(reason, rl, "call: the note is larger than %d KiB", NOTE_MAX / 1024);
        return NULL;
    }
    unsigned char *data = malloc(len / 4 * 3 + 4);
    int n = data ? EVP_DecodeBlock(data, (const unsigned char *)b64, (int)len) : -1;
    if (n < 0) {
        free(data);
        snprintf(reason, rl, "call: the file did not arrive intact");
        return NULL;
    }
    /* EVP_DecodeBlock counts the padding as data */
    while (len > 0 && b64[len - 1] == '=' && n > 0) {
        n--;
        len--;
    }
    data[n] = '\0';
    if (memchr(data, 0, (size_t)n) || !aduan_utf8_valid((const char *)data, (size_t)n) ||
        n == 0) {
        free(data);
        snprintf(reason, rl, "call: the file is not UTF-8 text");
        return NULL;
    }
    return (char *)data;
}

json_t *aduan_calls_note(aduan_store_t *store, const aduan_staff_t *staff, const char *os_user,
                         const json_t *args, bool *refused, char *reason, size_t rl)
{
    (void)os_user;
    *refused = false;
    const aduan_config_t *cfg = aduan_store_config(store);
    const char *from = json_string_value(json_object_get(args, "from"));
    const char *name = json_string_value(json_object_get(args, "name"));
    const char *record = json_string_value(json_object_get(args, "record"));
    char e164[ADUAN_PHONE_E164_MAX];
    if (!from || !*from)
        return refused_with(refused, reason, rl, "call: --from NUMBER is required");
    if (aduan_phone_e164(from, e164, sizeof e164) != 0)
        return refused_with(refused, reason, rl,
                            "call: '%.40s' is not a telephone number (0812..., +62...)", from);
    if (record && (!*record || strlen(record) > 128 || strpbrk(record, " \t\r\n")))
        return refused_with(refused, reason, rl, "call: --record wants the record id as "
                                                 "aduanctl calls shows it");
    char *text = note_text(args, reason, rl);
    if (!text) {
        *refused = true;
        return NULL;
    }
    int64_t now = aduan_store_now_ms(store);
    aduan_msg_t *m = aduan_msg_new(ADUAN_MSG_INTAKE);
    char key[160];
    if (record)
        snprintf(key, sizeof key, "note:%s", record);
    else
        snprintf(key, sizeof key, "note:%s-%lld", m->id, (long long)now);
    int64_t call_at = 0;
    if (record) {
        sqlite3_stmt *st = aduan_store_stmt(store, SQL_CALL_OF_RECORD);
        if (!st)
            goto fail;
        aduan_bind_text(st, 1, record);
        if (sqlite3_step(st) == SQLITE_ROW)
            call_at = sqlite3_column_int64(st, 0);
        sqlite3_reset(st);
    }
    aduan_msg_set(&m->intake.channel, "phone");
    aduan_msg_set(&m->intake.account, cfg->phone.account);
    aduan_msg_set(&m->intake.dedupe_key, key);
    aduan_msg_set(&m->intake.intent, "complaint");
    aduan_msg_set(&m->intake.from_addr, e164);
    aduan_msg_set(&m->intake.from_name, name && *name ? name : NULL);
    aduan_msg_set(&m->intake.message_ref, record);
    m->intake.received_at = (uint64_t)(call_at ? call_at : now);
    m->intake.text = text;
    text = NULL;
    aduan_intake_result_t result;
    int rc = aduan_registry_intake(store, m, staff->id, &result, reason, rl);
    if (rc == -1)
        *refused = true;
    if (rc != 0)
        goto fail;
    char audit[160];
    snprintf(audit, sizeof audit, "call note by %s%s%s", staff->id, record ? " record=" : "",
             record ? record : "");
    if (strcmp(result.disposition, "new") == 0 &&
        aduan_audit_append(store, staff->id, result.complaint_id, "call-note", audit) != 0)
        goto fail;
    bool mobile = is_mobile(store, e164);
    json_t *body = json_pack("{s:s, s:s, s:s, s:s}", "ticket", result.ticket, "disposition",
                             result.disposition, "from", e164, "replies",
                             mobile ? "sms" : "call-back");
    aduan_msg_destroy(&m);
    return body;
fail:
    if (!*refused && !reason[0])
        snprintf(reason, rl, "call: the registry failed: %s", aduan_store_errmsg(store));
    aduan_msg_destroy(&m);
    free(text);
    return NULL;
}

json_t *aduan_calls_done(aduan_store_t *store, const aduan_staff_t *staff, const char *os_user,
                         const json_t *args, bool *refused, char *reason, size_t rl)
{
    (void)os_user;
    *refused = false;
    /* aduanctl sends the operand as "ticket" */
    json_t *v = json_object_get(args, "task");
    if (!v)
        v = json_object_get(args, "ticket");
    const char *text = json_string_value(v);
    int64_t task = 0;
    if (json_is_integer(v))
        task = json_integer_value(v);
    else if (text && *text && strlen(text) < 19 && strspn(text, "0123456789") == strlen(text))
        task = strtoll(text, NULL, 10);
    const char *note = json_string_value(json_object_get(args, "note"));
    if (task <= 0)
        return refused_with(refused, reason, rl, "called: which task? (aduanctl calls --todo)");
    sqlite3_stmt *st = aduan_store_stmt(store, SQL_TASK);
    if (!st)
        return NULL;
    sqlite3_bind_int64(st, 1, task);
    int rc = sqlite3_step(st);
    int64_t outbox_id = 0, complaint_id = 0;
    bool done = false;
    char ticket[40] = "";
    if (rc == SQLITE_ROW) {
        outbox_id = sqlite3_column_int64(st, 0);
        done = sqlite3_column_type(st, 1) != SQLITE_NULL;
        complaint_id = sqlite3_column_int64(st, 2);
        snprintf(ticket, sizeof ticket, "%s", aduan_column_text(st, 3));
    }
    sqlite3_reset(st);
    if (rc == SQLITE_DONE)
        return refused_with(refused, reason, rl, "called: there is no call-back task %lld",
                            (long long)task);
    if (rc != SQLITE_ROW)
        return NULL;
    if (done)
        return refused_with(refused, reason, rl, "called: task %lld is done already",
                            (long long)task);
    st = aduan_store_stmt(store, SQL_TASK_DONE);
    if (!st)
        return NULL;
    sqlite3_bind_int64(st, 1, task);
    sqlite3_bind_int64(st, 2, aduan_store_now_ms(store));
    aduan_bind_text(st, 3, staff->id);
    aduan_bind_text_or_null(st, 4, note);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return NULL;
    /* what was said on the phone reached the caller: the outbox row is delivered (for a
       response: SOP step 7, picked up by the deadline tick) */
    if (aduan_outbox_apply_result(store, outbox_id, "delivered", "call-back", note) != 0)
        return NULL;
    char audit[320];
    snprintf(audit, sizeof audit, "called back by %s, task %lld%s%.200s", staff->id,
             (long long)task, note ? ": " : "", note ? note : "");
    if (complaint_id > 0 && aduan_audit_append(store, staff->id, complaint_id, "called-back",
                                               audit) != 0)
        return NULL;
    log_info("core", "%s call-back task %lld done by %s", ticket[0] ? ticket : "-",
             (long long)task, staff->id);
    return json_pack("{s:I, s:s, s:s}", "task", (json_int_t)task, "ticket", ticket, "done_by",
                     staff->id);
}

/* Local midnight of YYYY-MM-DD plus days, in ms; -1 when not a date. */
static int64_t day_start(const char *date, int plus_days)
{
    int y, m, d;
    char extra;
    if (!date || sscanf(date, "%4d-%2d-%2d%c", &y, &m, &d, &extra) != 3 || m < 1 || m > 12 ||
        d < 1 || d > 31)
        return -1;
    struct tm tm = {.tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d + plus_days,
                    .tm_isdst = -1};
    time_t t = mktime(&tm);
    return t == (time_t)-1 ? -1 : (int64_t)t * 1000;
}

static json_t *all_rows(sqlite3_stmt *st, char *reason, size_t rl, aduan_store_t *store)
{
    json_t *array = json_array();
    int rc, n = sqlite3_column_count(st);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        json_t *row = json_object();
        for (int i = 0; i < n; i++) {
            json_t *v;
            if (sqlite3_column_type(st, i) == SQLITE_INTEGER)
                v = json_integer(sqlite3_column_int64(st, i));
            else if (sqlite3_column_type(st, i) == SQLITE_NULL)
                v = json_null();
            else
                v = json_stringn((const char *)sqlite3_column_text(st, i),
                                 (size_t)sqlite3_column_bytes(st, i));
            json_object_set_new(row, sqlite3_column_name(st, i), v ? v : json_string(""));
        }
        json_array_append_new(array, row);
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        snprintf(reason, rl, "query failed: %s", aduan_store_errmsg(store));
        json_decref(array);
        return NULL;
    }
    return array;
}

json_t *aduan_query_calls(aduan_store_t *store, const json_t *args, char *reason, size_t rl)
{
    json_t *lv = json_object_get(args, "limit");
    int64_t limit = json_is_integer(lv) ? json_integer_value(lv) : 50;
    if (json_is_true(json_object_get(args, "todo"))) {
        sqlite3_stmt *st = aduan_store_stmt(store, SQL_LIST_TASKS);
        if (!st)
            return NULL;
        sqlite3_bind_int64(st, 1, limit);
        json_t *rows = all_rows(st, reason, rl, store);
        return rows ? json_pack("{s:o}", "tasks", rows) : NULL;
    }
    const char *status = json_string_value(json_object_get(args, "status"));
    const char *from = json_string_value(json_object_get(args, "from"));
    const char *to = json_string_value(json_object_get(args, "to"));
    const char *month = json_string_value(json_object_get(args, "month"));
    if (status && strcmp(status, "answered") != 0 && strcmp(status, "missed") != 0) {
        snprintf(reason, rl, "calls: --status is answered or missed, not '%.32s'", status);
        return NULL;
    }
    int64_t lo = from ? day_start(from, 0) : 0;
    int64_t hi = to ? day_start(to, 1) : from ? day_start(from, 1) : INT64_MAX;
    if (month) {
        char first[32];
        int y, m;
        char extra;
        if (sscanf(month, "%4d-%2d%c", &y, &m, &extra) != 2 || m < 1 || m > 12) {
            snprintf(reason, rl, "calls: --month is YYYY-MM");
            return NULL;
        }
        snprintf(first, sizeof first, "%04d-%02d-01", y, m);
        lo = day_start(first, 0);
        snprintf(first, sizeof first, "%04d-%02d-01", m == 12 ? y + 1 : y, m == 12 ? 1 : m + 1);
        hi = day_start(first, 0);
    }
    if (lo < 0 || hi < 0) {
        snprintf(reason, rl, "calls: a date is YYYY-MM-DD");
        return NULL;
    }
    sqlite3_stmt *st = aduan_store_stmt(store, SQL_LIST_CALLS);
    if (!st)
        return NULL;
    sqlite3_bind_int64(st, 1, lo);
    sqlite3_bind_int64(st, 2, hi);
    aduan_bind_text(st, 3, status);
    sqlite3_bind_int64(st, 4, limit);
    json_t *rows = all_rows(st, reason, rl, store);
    return rows ? json_pack("{s:o}", "calls", rows) : NULL;
}
