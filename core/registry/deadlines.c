/*  deadlines.c - the deadlines of the SOP: a calendar of days or working days with the
    configured holidays, and the scan that sends a reminder before each deadline (to the
    role that acts) and an escalation after it (to the head of office).

    Deadlines of a complaint:
      response    the written response, [deadlines] response_days after receipt (UU 25/2009)
      resolution  the complaint delivered or closed, resolution_days after receipt
      step:<act>  the step its state waits for, a few days after it entered the state
                  (aduan_workflow_state_duty)
    A deadline is the end of its last day, local time. Each reminder and escalation is sent
    once (deadline_notice); complaint.next_check_at says when the complaint next needs a
    look, so a scan reads only those (an index), not every open complaint. */
#include <string.h>
#include <time.h>

#include "aduan/log.h"
#include "registry.h"

/* complaints looked at per scan, so a backlog (a bulk import) never stalls the loop */
#define SCAN_BATCH 500

/* ---- the calendar ---------------------------------------------------------------------- */

static bool is_holiday(const struct tm *tm, const char *holidays)
{
    if (!holidays || !*holidays)
        return false;
    char date[48];
    snprintf(date, sizeof date, "%04d-%02d-%02d", tm->tm_year + 1900, tm->tm_mon + 1,
             tm->tm_mday);
    for (const char *p = holidays; *p;) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (strncmp(p, date, 10) == 0 && (p[10] == '\0' || p[10] == ',' || p[10] == ' ' ||
                                          p[10] == '\t'))
            return true;
        while (*p && *p != ',')
            p++;
    }
    return false;
}

static bool working_day(const struct tm *tm, const char *holidays)
{
    return tm->tm_wday >= 1 && tm->tm_wday <= 5 && !is_holiday(tm, holidays);
}

bool aduan_deadline_is_working_day(int64_t ms, const char *holidays)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    localtime_r(&t, &tm);
    return working_day(&tm, holidays);
}

/*  A deadline depends only on the local date it counts from, so the last few answers are
    kept: every complaint of a day asks the same questions, and working days are counted
    with one mktime per day (a resolution deadline of 60 working days is some 80 calls, for
    each complaint registered and each one looked at). */
#define DEADLINE_MEMO 8

typedef struct {
    int year, yday, days;
    long gmtoff; /* the zone it was counted in */
    bool working_days;
    char holidays[512]; /* the list it was counted with: unused when longer */
    int64_t due;
} deadline_memo_t;

static __thread deadline_memo_t deadline_memo[DEADLINE_MEMO];
static __thread unsigned deadline_memo_next;

static int64_t deadline_counted(struct tm tm, int days, bool working_days, const char *holidays);

int64_t aduan_deadline_after(int64_t start_ms, int days, bool working_days,
                             const char *holidays)
{
    time_t t = (time_t)(start_ms / 1000);
    struct tm tm;
    localtime_r(&t, &tm);
    const char *hol = holidays ? holidays : "";
    bool memoable = strlen(hol) < sizeof deadline_memo[0].holidays;
    for (unsigned i = 0; memoable && i < DEADLINE_MEMO; i++) {
        const deadline_memo_t *m = &deadline_memo[i];
        if (m->due && m->year == tm.tm_year && m->yday == tm.tm_yday && m->days == days &&
            m->gmtoff == tm.tm_gmtoff &&
            m->working_days == working_days && strcmp(m->holidays, hol) == 0)
            return m->due;
    }
    int64_t due = deadline_counted(tm, days, working_days, hol);
    if (memoable) {
        deadline_memo_t *m = &deadline_memo[deadline_memo_next++ % DEADLINE_MEMO];
        *m = (deadline_memo_t){.year = tm.tm_year, .yday = tm.tm_yday, .days = days,
                               .gmtoff = tm.tm_gmtoff, .working_days = working_days, .due = due};
        snprintf(m->holidays, sizeof m->holidays, "%s", hol);
    }
    return due;
}

static int64_t deadline_counted(struct tm tm, int days, bool working_days, const char *holidays)
{
    /* noon: moving by whole days never crosses into another day at a DST change */
    tm.tm_hour = 12;
    tm.tm_min = tm.tm_sec = 0;
    for (int left = days; left > 0;) {
        tm.tm_mday++;
        tm.tm_isdst = -1;
        mktime(&tm); /* normalises the date and sets tm_wday */
        if (!working_days || working_day(&tm, holidays))
            left--;
    }
    tm.tm_hour = 23;
    tm.tm_min = 59;
    tm.tm_sec = 59;
    tm.tm_isdst = -1;
    return (int64_t)mktime(&tm) * 1000 + 999;
}

/* ---- the deadlines of one complaint ---------------------------------------------------- */

typedef struct {
    char name[32];     /* response, resolution, step:verify, ... */
    int64_t due_at;
    int64_t remind_at; /* 0: no reminder */
    aduan_role_t role; /* who is reminded */
} deadline_t;

typedef struct {
    int64_t id;
    char ticket[40];
    char state[16];
    char channel[16];
    int64_t received_at;
    int64_t state_at;
    bool confidential;
    char *from_addr;
    char *subject;
    char *text;
} open_complaint_t;

static void open_complaint_clear(open_complaint_t *c)
{
    free(c->from_addr);
    free(c->subject);
    free(c->text);
    memset(c, 0, sizeof *c);
}

static bool state_in(const char *state, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(state, *list) == 0)
            return true;
    return false;
}

/* The deadlines still running for the complaint; returns how many (at most 3). */
static int deadlines_of(const aduan_config_t *cfg, const open_complaint_t *c, deadline_t out[3])
{
    static const char *const responded[] = {"responded", "delivered", "archived", "rejected",
                                            NULL};
    static const char *const resolved[] = {"delivered", "archived", "rejected", NULL};
    aduan_role_t role = ADUAN_ROLE_HELPDESK;
    int step_days = 0;
    const char *action = NULL;
    if (!aduan_workflow_state_duty(cfg, c->state, &role, &step_days, &action))
        return 0;
    bool working = cfg->deadlines.working_days;
    const char *holidays = cfg->deadlines.holidays;
    int n = 0;
    struct {
        const char *name;
        bool running;
        int64_t from;
        int days;
    } kinds[] = {
        {"response", !state_in(c->state, responded), c->received_at,
         (int)cfg->deadlines.response_days},
        {"resolution", !state_in(c->state, resolved), c->received_at,
         (int)cfg->deadlines.resolution_days},
        {NULL, step_days > 0, c->state_at, step_days},
    };
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        if (!kinds[i].running)
            continue;
        deadline_t *d = &out[n++];
        if (kinds[i].name)
            snprintf(d->name, sizeof d->name, "%s", kinds[i].name);
        else
            snprintf(d->name, sizeof d->name, "step:%s", action);
        d->due_at = aduan_deadline_after(kinds[i].from, kinds[i].days, working, holidays);
        /* a deadline shorter than the lead time is reminded of as its last day begins */
        int lead = (int)cfg->deadlines.reminder_days;
        int remind_days = kinds[i].days > lead ? kinds[i].days - lead : 0;
        d->remind_at = kinds[i].days > 0 ? aduan_deadline_after(kinds[i].from, remind_days,
                                                                working, holidays)
                                         : 0;
        d->role = role;
    }
    return n;
}

/* When a deadline whose notices `sent` (bit 1 reminder) were sent next needs a look. */
static int64_t next_look_at(const deadline_t *d, int sent)
{
    return (sent & 1) || !d->remind_at ? d->due_at + 1 : d->remind_at + 1;
}

int64_t aduan_deadlines_first_check(const aduan_config_t *cfg, const char *state,
                                    int64_t received_at, int64_t now)
{
    open_complaint_t c = {.received_at = received_at, .state_at = received_at};
    snprintf(c.state, sizeof c.state, "%s", state);
    deadline_t ds[3];
    int n = deadlines_of(cfg, &c, ds);
    int64_t next = -1;
    for (int i = 0; i < n; i++) {
        /* as look_at sees a complaint with no notice sent yet */
        if (now > ds[i].due_at || (ds[i].remind_at && now > ds[i].remind_at))
            return 0;
        int64_t at = next_look_at(&ds[i], 0);
        if (next < 0 || at < next)
            next = at;
    }
    return next;
}

typedef struct {
    const char *name, *id, *en;
} label_t;

static const label_t deadline_labels[] = {
    {"response", "tanggapan tertulis", "written response"},
    {"resolution", "penyelesaian pengaduan", "resolution of the complaint"},
    {"step:verify", "verifikasi oleh loket pelayanan", "verification by the help desk"},
    {"step:review", "penelaahan dan penerusan kepada Kepala Dinas",
     "review and forwarding to the head of office"},
    {"step:meeting", "rapat pembahasan", "meeting on the complaint"},
    {"step:minutes", "berita acara rapat", "minutes of the meeting"},
    {"step:respond", "pengiriman tanggapan tertulis", "sending the written response"},
    {"step:delivered", "konfirmasi penerimaan tanggapan", "confirmation of delivery"},
    {"step:archive", "pengarsipan berkas", "archiving the file"},
};

static const char *deadline_label(const char *name, const char *language)
{
    for (size_t i = 0; i < sizeof deadline_labels / sizeof deadline_labels[0]; i++)
        if (strcmp(deadline_labels[i].name, name) == 0)
            return strcmp(language, "en") == 0 ? deadline_labels[i].en : deadline_labels[i].id;
    return name;
}

/* ---- the scan -------------------------------------------------------------------------- */

#define SQL_DUE_FOR_A_LOOK                                                                 \
    "SELECT id, ticket, state, channel, received_at, coalesce(state_at, received_at),"      \
    " confidential, from_addr, subject, text FROM complaint"                                \
    " WHERE next_check_at IS NOT NULL AND next_check_at <= ?1"                              \
    " ORDER BY next_check_at LIMIT ?2"
#define SQL_NOTICE_SENT                                                                    \
    "SELECT kind FROM deadline_notice WHERE complaint_id = ?1 AND deadline = ?2"            \
    " AND due_at = ?3"
#define SQL_NOTE_NOTICE                                                                    \
    "INSERT OR IGNORE INTO deadline_notice(complaint_id, deadline, kind, due_at, at)"       \
    " VALUES (?1, ?2, ?3, ?4, ?5)"
#define SQL_SET_NEXT_CHECK "UPDATE complaint SET next_check_at = ?2 WHERE id = ?1"

static void read_open_complaint(sqlite3_stmt *st, open_complaint_t *c)
{
    c->id = sqlite3_column_int64(st, 0);
    snprintf(c->ticket, sizeof c->ticket, "%s", aduan_column_text(st, 1));
    snprintf(c->state, sizeof c->state, "%s", aduan_column_text(st, 2));
    snprintf(c->channel, sizeof c->channel, "%s", aduan_column_text(st, 3));
    c->received_at = sqlite3_column_int64(st, 4);
    c->state_at = sqlite3_column_int64(st, 5);
    c->confidential = sqlite3_column_int(st, 6) != 0;
    c->from_addr = strdup(aduan_column_text(st, 7));
    c->subject = strdup(aduan_column_text(st, 8));
    c->text = strdup(aduan_column_text(st, 9));
}

/* Which notices of the deadline were sent: bit 1 reminder, bit 2 escalation; -1 error. */
static int notices_sent(aduan_store_t *store, int64_t complaint_id, const deadline_t *d)
{
    sqlite3_stmt *st = aduan_store_stmt(store, SQL_NOTICE_SENT);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, complaint_id);
    aduan_bind_text(st, 2, d->name);
    sqlite3_bind_int64(st, 3, d->due_at);
    int sent = 0, rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        sent |= strcmp(aduan_column_text(st, 0), "reminder") == 0 ? 1 : 2;
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? sent : -1;
}

static void local_date(int64_t ms, char *out, size_t outlen)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(out, outlen, "%d-%m-%Y", &tm);
}

/* A short line of what the complaint is about, for a notice. */
static void summary_of(const open_complaint_t *c, char *out, size_t outlen)
{
    const char *s = c->subject && *c->subject ? c->subject : c->text ? c->text : "";
    size_t n = 0;
    for (; *s && n + 1 < outlen && n < 90; s++)
        out[n++] = (*s == '\n' || *s == '\r' || *s == '\t') ? ' ' : *s;
    /* do not end inside a UTF-8 sequence */
    while (n > 0 && ((unsigned char)out[n - 1] & 0xC0) == 0x80)
        n--;
    if (n > 0 && ((unsigned char)out[n - 1] & 0xC0) == 0xC0)
        n--;
    out[n] = '\0';
}

static int send_notice(aduan_store_t *store, const open_complaint_t *c, const deadline_t *d,
                       bool escalation, int64_t now)
{
    const aduan_config_t *cfg = aduan_store_config(store);
    const char *language = cfg->templates.language ? cfg->templates.language : "id";
    aduan_role_t to = escalation ? ADUAN_ROLE_HEAD : d->role;
    char due[32], summary[128], from[ADUAN_MASK_MAX], late[16];
    local_date(d->due_at, due, sizeof due);
    summary_of(c, summary, sizeof summary);
    /* the head and the back office do not need a confidential complainant's identity */
    if (c->confidential && to != ADUAN_ROLE_HELPDESK)
        snprintf(from, sizeof from, "%s", strcmp(language, "en") == 0 ? "(confidential)"
                                                                       : "(dirahasiakan)");
    else
        aduan_mask_address(c->from_addr, from, sizeof from);
    snprintf(late, sizeof late, "%lld", (long long)((now - d->due_at) / (24LL * 3600 * 1000) + 1));
    aduan_template_var_t vars[] = {
        {"ticket", c->ticket},
        {"deadline", deadline_label(d->name, language)},
        {"due", due},
        {"days_late", late},
        {"state", aduan_workflow_state_label(c->state, language)},
        {"channel", c->channel},
        {"from", from},
        {"summary", summary},
        {"role", aduan_role_name(d->role)},
        {"office", cfg->core.office_name},
        {NULL, NULL},
    };
    int rc = aduan_registry_notify_staff(
        store, to, c->id, escalation ? "escalation" : "reminder", vars,
        escalation ? "ESKALASI {{ticket}}: batas waktu {{deadline}} ({{due}}) terlewati."
                   : "Pengingat {{ticket}}: batas waktu {{deadline}} {{due}}.");
    if (rc != 0)
        return -1;
    sqlite3_stmt *st = aduan_store_stmt(store, SQL_NOTE_NOTICE);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, c->id);
    aduan_bind_text(st, 2, d->name);
    aduan_bind_text(st, 3, escalation ? "escalation" : "reminder");
    sqlite3_bind_int64(st, 4, d->due_at);
    sqlite3_bind_int64(st, 5, now);
    rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
    sqlite3_reset(st);
    if (rc != 0)
        return -1;
    char detail[160];
    snprintf(detail, sizeof detail, "%s due %s, to %s", d->name, due, aduan_role_name(to));
    if (aduan_audit_append(store, "gateway", c->id, escalation ? "escalated" : "reminded",
                           detail) != 0)
        return -1;
    json_t *o = json_pack("{s:s, s:s, s:s}", "deadline", d->name, "due", due, "to",
                          aduan_role_name(to));
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    aduan_store_event(store, escalation ? "deadline.escalated" : "deadline.reminder", c->ticket,
                      s);
    free(s);
    json_decref(o);
    log_info("core", "%s %s %s due %s to %s", c->ticket,
             escalation ? "escalated: deadline passed" : "reminder:", d->name, due,
             aduan_role_name(to));
    return 0;
}

/* Sends what is due for one complaint and sets its next look. Notices queued, or -1. */
static int look_at(aduan_store_t *store, const open_complaint_t *c, int64_t now)
{
    deadline_t ds[3];
    int n = deadlines_of(aduan_store_config(store), c, ds), queued = 0;
    int64_t next = 0;
    for (int i = 0; i < n; i++) {
        const deadline_t *d = &ds[i];
        int sent = notices_sent(store, c->id, d);
        if (sent < 0)
            return -1;
        if (!(sent & 2) && now > d->due_at) {
            if (send_notice(store, c, d, true, now) != 0)
                return -1;
            queued++;
            continue;
        }
        if (!(sent & 1) && !(sent & 2) && d->remind_at && now > d->remind_at) {
            if (send_notice(store, c, d, false, now) != 0)
                return -1;
            queued++;
            sent |= 1;
        }
        if (!(sent & 2)) {
            int64_t at = next_look_at(d, sent);
            if (next == 0 || at < next)
                next = at;
        }
    }
    sqlite3_stmt *st = aduan_store_stmt(store, SQL_SET_NEXT_CHECK);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, c->id);
    if (next)
        sqlite3_bind_int64(st, 2, next);
    else
        sqlite3_bind_null(st, 2);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
    sqlite3_reset(st);
    return rc == 0 ? queued : -1;
}

static int scan(aduan_store_t *store, int64_t now)
{
    sqlite3_stmt *st = aduan_store_stmt(store, SQL_DUE_FOR_A_LOOK);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, now);
    sqlite3_bind_int(st, 2, SCAN_BATCH);
    /* read first: look_at writes the rows being read */
    open_complaint_t *list = calloc(SCAN_BATCH, sizeof *list);
    if (!list)
        return -1;
    int count = 0, rc;
    while (count < SCAN_BATCH && (rc = sqlite3_step(st)) == SQLITE_ROW)
        read_open_complaint(st, &list[count++]);
    sqlite3_reset(st);
    int queued = 0;
    for (int i = 0; i < count && queued >= 0; i++) {
        int q = look_at(store, &list[i], now);
        queued = q < 0 ? -1 : queued + q;
    }
    for (int i = 0; i < count; i++)
        open_complaint_clear(&list[i]);
    free(list);
    return queued;
}

/* ---- the monthly summary --------------------------------------------------------------- */

#define SQL_SUMMARY_SENT "SELECT 1 FROM monthly_summary WHERE month = ?1"
#define SQL_NOTE_SUMMARY "INSERT INTO monthly_summary(month, at) VALUES (?1, ?2)"

/* "sms 3, email 2" from an array of {key, count}. */
static void counts_text(const json_t *rows, const char *key, char *out, size_t outlen)
{
    size_t n = 0, i;
    const json_t *row;
    out[0] = '\0';
    json_array_foreach(rows, i, row) {
        int w = snprintf(out + n, outlen - n, "%s%s %lld", n ? ", " : "",
                         json_string_value(json_object_get(row, key)),
                         (long long)json_integer_value(json_object_get(row, "count")));
        if (w < 0 || (size_t)w >= outlen - n)
            break;
        n += (size_t)w;
    }
    if (n == 0)
        snprintf(out, outlen, "-");
}

/* On the first of a month, the summary of the month before goes to the head, once. */
static int monthly_summary(aduan_store_t *store, int64_t now)
{
    if (!aduan_store_config(store)->deadlines.monthly_summary)
        return 0;
    time_t t = (time_t)(now / 1000);
    struct tm tm;
    localtime_r(&t, &tm);
    if (tm.tm_mday != 1)
        return 0;
    int year = tm.tm_year + 1900, month = tm.tm_mon; /* the month before, 1-based */
    if (month == 0) {
        month = 12;
        year--;
    }
    char key[16];
    snprintf(key, sizeof key, "%04d-%02d", year, month);
    sqlite3_stmt *st = aduan_store_stmt(store, SQL_SUMMARY_SENT);
    if (!st)
        return -1;
    aduan_bind_text(st, 1, key);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc == SQLITE_ROW)
        return 0;
    if (rc != SQLITE_DONE)
        return -1;
    char reason[256];
    json_t *s = aduan_report_summary(store, key, reason, sizeof reason);
    if (!s) {
        log_warn("core", "monthly summary %s: %s", key, reason);
        return -1;
    }
    bool empty = json_integer_value(json_object_get(s, "received")) == 0;
    char total[24], overdue[24], median[32], by_channel[512], by_state[512];
    snprintf(total, sizeof total, "%lld",
             (long long)json_integer_value(json_object_get(s, "received")));
    snprintf(overdue, sizeof overdue, "%lld",
             (long long)json_integer_value(json_object_get(s, "overdue")));
    json_t *m = json_object_get(s, "median_days_to_response");
    if (json_is_number(m))
        snprintf(median, sizeof median, "%.1f", json_number_value(m));
    else
        snprintf(median, sizeof median, "-");
    counts_text(json_object_get(s, "by_channel"), "channel", by_channel, sizeof by_channel);
    counts_text(json_object_get(s, "by_state"), "state", by_state, sizeof by_state);
    const aduan_config_t *cfg = aduan_store_config(store);
    aduan_template_var_t vars[] = {
        {"month", key},         {"received", total},       {"overdue", overdue},
        {"median_days", median}, {"by_channel", by_channel}, {"by_state", by_state},
        {"office", cfg->core.office_name}, {NULL, NULL},
    };
    /* a month without complaints is noted, not sent: nothing to read */
    rc = empty ? 0
               : aduan_registry_notify_staff(store, ADUAN_ROLE_HEAD, 0, "monthly_summary", vars,
                                             "Ringkasan pengaduan {{month}}: {{received}} "
                                             "diterima, {{overdue}} lewat batas waktu.");
    json_decref(s);
    if (rc != 0)
        return -1;
    st = aduan_store_stmt(store, SQL_NOTE_SUMMARY);
    if (!st)
        return -1;
    aduan_bind_text(st, 1, key);
    sqlite3_bind_int64(st, 2, now);
    rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
    sqlite3_reset(st);
    if (rc == 0 && !empty)
        log_info("core", "monthly summary %s sent to the head", key);
    return rc == 0 ? !empty : -1;
}

/* anything for a scan to do: no transaction (no write lock) on an idle second */
#define SQL_ANY_WORK                                                                       \
    "SELECT EXISTS (SELECT 1 FROM complaint WHERE next_check_at IS NOT NULL"                \
    " AND next_check_at <= ?1) OR EXISTS (SELECT 1 FROM complaint WHERE state = 'responded')"

static bool first_of_month(int64_t now)
{
    time_t t = (time_t)(now / 1000);
    struct tm tm;
    localtime_r(&t, &tm);
    return tm.tm_mday == 1;
}

int aduan_deadlines_tick(aduan_store_t *store)
{
    int64_t now = aduan_store_now_ms(store);
    sqlite3_stmt *st = aduan_store_stmt(store, SQL_ANY_WORK);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, now);
    bool work = sqlite3_step(st) != SQLITE_ROW || sqlite3_column_int(st, 0) != 0;
    sqlite3_reset(st);
    if (!work && !(aduan_store_config(store)->deadlines.monthly_summary && first_of_month(now)))
        return 0;
    if (aduan_store_begin(store) != 0)
        return -1;
    int confirmed = aduan_workflow_confirm_deliveries(store);
    int queued = confirmed < 0 ? -1 : scan(store, now);
    int summary = queued < 0 ? -1 : monthly_summary(store, now);
    if (summary < 0 || aduan_store_commit(store) != 0) {
        log_warn("core", "deadline scan failed: %s", aduan_store_errmsg(store));
        aduan_store_rollback(store);
        return -1;
    }
    return queued + summary;
}

/* ---- overdue --------------------------------------------------------------------------- */

#define SQL_OPEN                                                                           \
    "SELECT id, ticket, state, channel, received_at, coalesce(state_at, received_at),"      \
    " confidential, from_addr, subject, text FROM complaint"                                \
    " WHERE state NOT IN ('archived', 'rejected') ORDER BY id"

static void iso_utc(int64_t ms, char *out, size_t outlen)
{
    aduan_format_utc(ms, out, outlen);
}

json_t *aduan_deadlines_overdue(aduan_store_t *store, const json_t *args, char *reason,
                                size_t reasonlen)
{
    (void)args;
    const aduan_config_t *cfg = aduan_store_config(store);
    const char *language = cfg->templates.language ? cfg->templates.language : "id";
    sqlite3_stmt *st = aduan_store_stmt(store, SQL_OPEN);
    if (!st) {
        snprintf(reason, reasonlen, "query failed");
        return NULL;
    }
    int64_t now = aduan_store_now_ms(store);
    json_t *items = json_array();
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        open_complaint_t c = {0};
        read_open_complaint(st, &c);
        deadline_t ds[3];
        int n = deadlines_of(cfg, &c, ds);
        for (int i = 0; i < n; i++) {
            if (now <= ds[i].due_at)
                continue;
            char due[32];
            iso_utc(ds[i].due_at, due, sizeof due);
            json_array_append_new(
                items, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:s}", "ticket", c.ticket,
                                 "status", c.state, "channel", c.channel, "deadline", ds[i].name,
                                 "label", deadline_label(ds[i].name, language), "due_at", due,
                                 "days_late",
                                 (json_int_t)((now - ds[i].due_at) / (24LL * 3600 * 1000)),
                                 "role", aduan_role_name(ds[i].role)));
        }
        open_complaint_clear(&c);
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        snprintf(reason, reasonlen, "query failed: %s", aduan_store_errmsg(store));
        json_decref(items);
        return NULL;
    }
    char at[32];
    iso_utc(now, at, sizeof at);
    return json_pack("{s:o, s:s}", "items", items, "now", at);
}
