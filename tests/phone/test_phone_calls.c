/*  test_phone_calls.c - the phone channel inside the real aduan-gatewayd: an Asterisk
    Master.csv in a temporary folder that the test appends to, rotates and truncates; the
    call log read over the control endpoint and with aduanctl as the help desk runs it; the
    SMS channel on Gammu's dummy phone, whose outbox folder holds what was sent. */
#include "harness.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "phone.h"
#include "sop_helpers.h"
#include "spill.h"

#define WAIT_MS 15000
#define MOBILE "+6281234567890"
#define MOBILE_LOCAL "081234567890"
#define MISSED_MOBILE "+6281298765432"
#define LANDLINE "+62274555123"

typedef struct {
    h_env_t *env;
    char dir[64];      /* /tmp/aduan-phone-XXXXXX: the dummy phone, the CDR folder */
    char device[128];
    char cdr_dir[128];
    char cdr[160];     /* cdr_dir/Master.csv */
    zsock_t *sub;
} t_env_t;

/* ---- setup -------------------------------------------------------------------------------- */

static t_env_t *t_new(bool invite_missed)
{
    t_env_t *t = calloc(1, sizeof *t);
    snprintf(t->dir, sizeof t->dir, "/tmp/aduan-phone-XXXXXX");
    assert_non_null(mkdtemp(t->dir));
    snprintf(t->device, sizeof t->device, "%s/phone", t->dir);
    snprintf(t->cdr_dir, sizeof t->cdr_dir, "%s/cdr-csv", t->dir);
    snprintf(t->cdr, sizeof t->cdr, "%s/Master.csv", t->cdr_dir);
    assert_int_equal(mkdir(t->cdr_dir, 0700), 0);
    char gammurc[128], conf[2048];
    snprintf(gammurc, sizeof gammurc, "%s/gammurc", t->dir);
    assert_int_equal(phone_make(t->device, gammurc), 0);
    snprintf(conf, sizeof conf,
             "[sms]\nenabled = yes\naccount = modem-test\ngammurc = %s\npoll = 100ms\n"
             "spill_dir = %s/spill\nreconnect_max = 1s\nfollowup_window = 0\n"
             "delivery_reports = no\n"
             "\n[phone]\nenabled = yes\ncdr_file = %s\ninvite_missed = %s\n",
             gammurc, t->dir, t->cdr, invite_missed ? "yes" : "no");
    t->env = sop_env_new(conf);
    t->sub = h_events_sub(t->env);
    assert_int_equal(h_daemon_start(t->env), 0);
    return t;
}

static int setup_plain(void **state)
{
    *state = t_new(false);
    return 0;
}

static int setup_invite(void **state)
{
    *state = t_new(true);
    return 0;
}

static int teardown(void **state)
{
    t_env_t *t = *state;
    if (!t)
        return 0;
    int rc = h_teardown((void **)&t->env);
    h_drop_tree(t->dir);
    free(t);
    *state = NULL;
    return rc;
}

/* ---- call records ------------------------------------------------------------------------- */

/*  Appends one Master.csv line as Asterisk's cdr_csv writes it: src, the caller id's name,
    the disposition, seconds talked, the uniqueid, the start (local time, seconds ago). */
static void cdr_append(const char *path, const char *src, const char *name,
                       const char *disposition, int billsec, const char *uniqueid, int ago_s)
{
    char when[32], line[1024], quoted_name[300];
    time_t start = time(NULL) - ago_s;
    struct tm tm;
    localtime_r(&start, &tm);
    strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
    size_t n = 0;
    for (const char *p = name; *p && n < sizeof quoted_name - 2; p++) {
        if (*p == '"')
            quoted_name[n++] = '"'; /* RFC 4180: a quote in a quoted field is doubled */
        quoted_name[n++] = *p;
    }
    quoted_name[n] = '\0';
    snprintf(line, sizeof line,
             "\"\",\"%s\",\"200\",\"from-pstn\",\"\"\"%s\"\" <%s>\",\"DAHDI/1-1\","
             "\"SIP/200-0000002a\",\"Dial\",\"SIP/200,30\",\"%s\",\"%s\",\"%s\",%d,%d,\"%s\","
             "\"DOCUMENTATION\",\"%s\",\"\"\n",
             src, quoted_name, src, when, strcmp(disposition, "ANSWERED") ? "" : when, when,
             billsec + 3, billsec, disposition, uniqueid);
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, line, strlen(line)), (ssize_t)strlen(line));
    close(fd);
}

static void raw_append(const char *path, const void *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    close(fd);
}

/* The call log as the core answers `calls` (caller owns the array). */
static json_t *call_log(t_env_t *t)
{
    json_t *args = json_pack("{s:i}", "limit", 1000);
    json_t *body = h_control_ok(t->env, "calls", args);
    json_decref(args);
    json_t *calls = json_incref(json_object_get(body, "calls"));
    json_decref(body);
    assert_true(json_is_array(calls));
    return calls;
}

/* Waits until the call log holds count calls. */
static json_t *wait_calls(t_env_t *t, size_t count)
{
    int64_t deadline = h_now_ms() + WAIT_MS;
    for (;;) {
        json_t *calls = call_log(t);
        if (json_array_size(calls) == count)
            return calls;
        if (json_array_size(calls) > count || h_now_ms() > deadline) {
            char *text = json_dumps(calls, JSON_INDENT(1));
            fail_msg("the call log holds %zu calls, not %zu: %s", json_array_size(calls), count,
                     text);
        }
        json_decref(calls);
        aduan_msg_t *ev = h_events_wait(t->sub, "call.logged", NULL, 200);
        aduan_msg_destroy(&ev);
    }
}

/* The call of the record, from a log (borrowed); fails when it is not there once. */
static const json_t *call_of(const json_t *calls, const char *record)
{
    const json_t *found = NULL, *row;
    size_t i;
    json_array_foreach(calls, i, row) {
        if (strcmp(json_string_value(json_object_get(row, "record")), record) == 0) {
            if (found)
                fail_msg("record %s twice in the call log", record);
            found = row;
        }
    }
    if (!found)
        fail_msg("record %s not in the call log", record);
    return found;
}

static const char *str(const json_t *row, const char *key)
{
    const char *s = json_string_value(json_object_get(row, key));
    return s ? s : "";
}

/* Outbox rows on the SMS channel to a number, read from the registry. */
static int sms_rows_to(t_env_t *t, const char *number)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(t->env->db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT count(*) FROM outbox WHERE channel = 'sms'"
                                        " AND to_addr = ?1",
                                        -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_text(st, 1, number, -1, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int n = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

/* Waits until text appears among the SMS the dummy phone sent to number. */
static char *wait_sent(t_env_t *t, const char *number, const char *text)
{
    int64_t deadline = h_now_ms() + WAIT_MS;
    for (;;) {
        char *sent = phone_texts(t->device, PHONE_OUTBOX, number);
        if (h_contains(sent, text))
            return sent;
        if (h_now_ms() > deadline)
            fail_msg("nothing with \"%s\" sent to %s; sent: %s", text, number, sent);
        free(sent);
        aduan_msg_t *ev = h_events_wait(t->sub, "outbox.sent", NULL, 200);
        aduan_msg_destroy(&ev);
    }
}

static int count_in_log(t_env_t *t, const char *needle)
{
    char *log = h_read_file(t->env->log);
    int n = 0;
    for (const char *p = log; (p = strstr(p, needle)); p++)
        n++;
    free(log);
    return n;
}

/* ---- tests -------------------------------------------------------------------------------- */

/*  Lines appended while the daemon runs become call log entries; a rotation loses nothing
    and reads nothing twice; after SIGKILL (and a rotation while it was down) every call is
    there once. */
static void test_follow_rotate_kill(void **state)
{
    t_env_t *t = *state;
    cdr_append(t->cdr, MOBILE_LOCAL, "Budi Santoso", "ANSWERED", 126, "1795853700.1", 60);
    cdr_append(t->cdr, "0274555123", "", "NO ANSWER", 0, "1795853700.2", 50);
    cdr_append(t->cdr, "anonymous", "", "BUSY", 0, "1795853700.3", 40);
    json_t *calls = wait_calls(t, 3);
    const json_t *c = call_of(calls, "1795853700.1");
    assert_string_equal(str(c, "from_addr"), MOBILE);
    assert_string_equal(str(c, "from_name"), "Budi Santoso");
    assert_string_equal(str(c, "status"), "answered");
    assert_int_equal(json_integer_value(json_object_get(c, "seconds")), 126);
    assert_string_equal(str(c, "line"), "mobile");
    c = call_of(calls, "1795853700.2");
    assert_string_equal(str(c, "from_addr"), LANDLINE);
    assert_string_equal(str(c, "status"), "missed");
    assert_string_equal(str(c, "line"), "landline");
    assert_string_equal(str(call_of(calls, "1795853700.3"), "from_addr"), "");
    json_decref(calls);

    /* what the help desk sees */
    h_run_t run;
    sop_ctl_expect(t->env, &run, 0, "calls --status missed", "calls", "--status", "missed",
                   NULL);
    assert_true(h_contains(run.out, LANDLINE));
    assert_false(h_contains(run.out, MOBILE));
    assert_true(h_contains(run.out, "busy"));
    h_run_clear(&run);
    assert_int_equal(sms_rows_to(t, LANDLINE), 0);

    /* logrotate: renamed, a late line still lands in the old file, a new file begins */
    char rotated[200];
    snprintf(rotated, sizeof rotated, "%s.1", t->cdr);
    assert_int_equal(rename(t->cdr, rotated), 0);
    cdr_append(rotated, MOBILE_LOCAL, "Budi", "ANSWERED", 10, "1795853700.4", 30);
    cdr_append(t->cdr, "0811111111", "", "ANSWERED", 20, "1795853700.5", 20);
    cdr_append(t->cdr, "0822222222", "", "NO ANSWER", 0, "1795853700.6", 10);
    json_decref(wait_calls(t, 6));
    assert_int_equal(count_in_log(t, " duplicate"), 0); /* nothing read twice */
    /* a missed call from a mobile, and invite_missed off: no invitation */
    assert_int_equal(sms_rows_to(t, "+62822222222"), 0);

    /* SIGKILL; while down, more lines and another rotation; then back up */
    h_daemon_kill(t->env);
    cdr_append(t->cdr, "0833333333", "", "ANSWERED", 30, "1795853700.7", 5);
    char rotated2[200];
    snprintf(rotated2, sizeof rotated2, "%s-20261128", t->cdr);
    assert_int_equal(rename(t->cdr, rotated2), 0);
    cdr_append(t->cdr, "0844444444", "", "ANSWERED", 40, "1795853700.8", 1);
    assert_int_equal(h_daemon_start(t->env), 0);
    calls = wait_calls(t, 8);
    for (int i = 1; i <= 8; i++) {
        char record[32];
        snprintf(record, sizeof record, "1795853700.%d", i);
        call_of(calls, record);
    }
    json_decref(calls);
    h_pass(t->env);
}

/*  Malformed and hostile lines are quarantined with their reason; a hostile caller name
    is kept as text; the daemon goes on with the next line. */
static void test_malformed_hostile(void **state)
{
    t_env_t *t = *state;
    const char *garbage = "this is not a call record\n";
    raw_append(t->cdr, garbage, strlen(garbage));
    cdr_append(t->cdr, "=cmd|' /C calc'!A0", "x", "ANSWERED", 1, "evil.1", 10);
    const char *bad_utf8 = "\"\",\"0812\xff\xfe\",\"200\"\n";
    raw_append(t->cdr, bad_utf8, strlen(bad_utf8));
    char *longline = malloc(20000);
    memset(longline, 'A', 19999);
    longline[19998] = '\n';
    longline[19999] = '\0';
    raw_append(t->cdr, longline, strlen(longline));
    free(longline);
    const char *open_quote = "\"\",\"081234567890\",\"200\",\"unclosed\n";
    raw_append(t->cdr, open_quote, strlen(open_quote));
    /* a caller id name that a spreadsheet would run, and markup: text, nothing more */
    cdr_append(t->cdr, MOBILE_LOCAL, "=HYPERLINK(\"http://evil.example/\",\"klik\")",
               "ANSWERED", 5, "hostile.1", 5);
    cdr_append(t->cdr, "0855555555", "<script>alert(1)</script>", "NO ANSWER", 0, "after.1",
               1);
    json_t *calls = wait_calls(t, 2);
    assert_string_equal(str(call_of(calls, "hostile.1"), "from_name"),
                        "=HYPERLINK(\"http://evil.example/\",\"klik\")");
    assert_string_equal(str(call_of(calls, "after.1"), "from_name"),
                        "<script>alert(1)</script>");
    json_decref(calls);

    h_run_t run;
    sop_ctl_expect(t->env, &run, 0, "quarantine", "--json", "quarantine", NULL);
    static const char *const reasons[] = {
        "1 fields", "is not a telephone number", "not UTF-8", "longer than 8192 bytes",
        "never closed",
    };
    for (size_t i = 0; i < sizeof reasons / sizeof reasons[0]; i++)
        if (!h_contains(run.out, reasons[i]))
            fail_msg("no quarantined line with \"%s\": %s", reasons[i], run.out);
    h_run_clear(&run);
    sop_ctl_expect(t->env, &run, 0, "calls", "calls", NULL);
    assert_true(h_contains(run.out, "=HYPERLINK(\"http://evil")); /* the column is narrow */
    h_run_clear(&run);

    /* unharmed: still running, still reading */
    cdr_append(t->cdr, "0866666666", "", "ANSWERED", 7, "after.2", 0);
    json_decref(wait_calls(t, 3));

    /* a call the SMS modem saw, as the SMS channel writes it (UTC) */
    char spill[128];
    snprintf(spill, sizeof spill, "%s/spill", t->dir);
    int64_t rang_at = (int64_t)time(NULL) * 1000;
    assert_int_equal(sms_calls_append(spill, "modem-test", "+6281277770000", rang_at), 0);
    calls = wait_calls(t, 4);
    char record[40];
    snprintf(record, sizeof record, "sms-%lld", (long long)rang_at);
    const json_t *rang = call_of(calls, record);
    assert_string_equal(str(rang, "from_addr"), "+6281277770000");
    assert_string_equal(str(rang, "status"), "missed");
    char iso[32];
    time_t secs = (time_t)(rang_at / 1000);
    struct tm utc;
    gmtime_r(&secs, &utc);
    strftime(iso, sizeof iso, "%Y-%m-%dT%H:%M:%SZ", &utc);
    assert_string_equal(str(rang, "at"), iso);
    json_decref(calls);
    json_decref(h_control_ok(t->env, "stats", NULL));
    h_pass(t->env);
}

/*  A clerk's note makes a ticket, acknowledged by SMS to the caller's mobile and shown in
    the call log; a missed call from a mobile gets the invitation (once a day); a landline
    caller's response becomes a call-back task that the help desk marks done. */
static void test_note_invite_callback(void **state)
{
    t_env_t *t = *state;
    h_run_t run;

    /* the invitation after a missed call, once */
    cdr_append(t->cdr, "081298765432", "", "NO ANSWER", 0, "miss.1", 30);
    json_decref(wait_calls(t, 1));
    free(wait_sent(t, MISSED_MOBILE, "tak terjawab"));
    cdr_append(t->cdr, "081298765432", "", "NO ANSWER", 0, "miss.2", 20);
    json_decref(wait_calls(t, 2));
    assert_int_equal(sms_rows_to(t, MISSED_MOBILE), 1);
    /* not to a landline */
    cdr_append(t->cdr, "0274555123", "", "NO ANSWER", 0, "miss.3", 10);
    json_decref(wait_calls(t, 3));
    assert_int_equal(sms_rows_to(t, LANDLINE), 0);

    /* the call, then the clerk's note naming it */
    cdr_append(t->cdr, MOBILE_LOCAL, "Budi", "ANSWERED", 95, "talk.1", 5);
    json_decref(wait_calls(t, 4));
    sop_ctl_expect(t->env, &run, 0, "call", "--json", "call", "--from", MOBILE_LOCAL, "--name",
                   "=HYPERLINK(\"http://evil.example/\")", "--text",
                   "Izin usaha saya belum terbit sejak tiga bulan", "--record", "talk.1",
                   "--as", H_HELPDESK_ID, NULL);
    json_t *reply = json_loads(run.out, 0, NULL);
    assert_non_null(reply);
    char ticket[40];
    snprintf(ticket, sizeof ticket, "%s", str(reply, "ticket"));
    assert_true(h_ticket_valid(ticket));
    assert_string_equal(str(reply, "replies"), "sms");
    json_decref(reply);
    h_run_clear(&run);
    free(wait_sent(t, MOBILE, ticket)); /* the acknowledgement */
    json_t *calls = call_log(t);
    assert_string_equal(str(call_of(calls, "talk.1"), "ticket"), ticket);
    json_decref(calls);
    json_t *shown = h_show(t->env, ticket);
    assert_string_equal(str(shown, "channel"), "phone");
    json_decref(shown);
    /* the same note again is the same ticket */
    sop_ctl_expect(t->env, &run, 0, "call again", "call", "--from", MOBILE_LOCAL, "--text",
                   "Izin usaha saya belum terbit sejak tiga bulan", "--record", "talk.1",
                   "--as", H_HELPDESK_ID, NULL);
    assert_true(h_contains(run.out, ticket));
    assert_true(h_contains(run.out, "recorded already"));
    h_run_clear(&run);
    /* the caller's name stays text in the register too */
    char today[16];
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    strftime(today, sizeof today, "%Y-%m-%d", &tm);
    sop_ctl_expect(t->env, &run, 0, "agenda csv", "report", "agenda", "--from", today, "--to",
                   today, "--format", "csv", NULL);
    assert_true(h_contains(run.out, "\"'=HYPERLINK("));
    h_run_clear(&run);

    /* a landline caller: no SMS; the response becomes a call-back task */
    sop_ctl_expect(t->env, &run, 0, "call from a landline", "call", "--from", "(0274) 555123",
                   "--text", "Antrean loket terlalu lama", "--as", H_HELPDESK_ID, NULL);
    assert_true(h_contains(run.out, "call-back"));
    h_run_clear(&run);
    sop_ctl_expect(t->env, &run, 0, "list", "--json", "list", "--channel", "phone", NULL);
    json_t *list = json_loads(run.out, 0, NULL);
    h_run_clear(&run);
    char landline_ticket[40];
    snprintf(landline_ticket, sizeof landline_ticket, "%s",
             str(json_array_get(json_object_get(list, "items"), 0), "ticket"));
    json_decref(list);
    assert_string_not_equal(landline_ticket, ticket);
    const char *lt = landline_ticket;
    char minutes[200], response[200];
    snprintf(minutes, sizeof minutes, "%s/minutes.txt", t->dir);
    snprintf(response, sizeof response, "%s/response.txt", t->dir);
    assert_int_equal(h_write_file(minutes, "Rapat: loket ditambah satu.\n"), 0);
    assert_int_equal(h_write_file(response, "Mulai Senin loket pelayanan ditambah satu."), 0);
    sop_ctl_expect(t->env, &run, 0, "verify", "verify", lt, "--as", H_HELPDESK_ID, NULL);
    h_run_clear(&run);
    sop_ctl_expect(t->env, &run, 0, "review", "review", lt, "--note", "ok", "--as",
                   SOP_BACKOFFICE_ID, NULL);
    h_run_clear(&run);
    sop_ctl_expect(t->env, &run, 0, "forward", "forward", lt, "--as", SOP_BACKOFFICE_ID, NULL);
    h_run_clear(&run);
    sop_ctl_expect(t->env, &run, 0, "meeting", "meeting", lt, "--at", today, "--attendees",
                   "Kadis", "--as", H_HEAD_ID, NULL);
    h_run_clear(&run);
    sop_ctl_expect(t->env, &run, 0, "minutes", "minutes", lt, "--file", minutes, "--as",
                   SOP_BACKOFFICE_ID, NULL);
    h_run_clear(&run);
    sop_ctl_expect(t->env, &run, 0, "respond", "respond", lt, "--file", response, "--as",
                   H_HELPDESK_ID, NULL);
    h_run_clear(&run);
    assert_int_equal(sms_rows_to(t, LANDLINE), 0);
    sop_ctl_expect(t->env, &run, 0, "calls --todo", "--json", "calls", "--todo", NULL);
    json_t *todo = json_loads(run.out, 0, NULL);
    h_run_clear(&run);
    const json_t *tasks = json_object_get(todo, "tasks");
    assert_int_equal(json_array_size(tasks), 1);
    const json_t *task = json_array_get(tasks, 0);
    assert_string_equal(str(task, "ticket"), lt);
    assert_string_equal(str(task, "to_addr"), LANDLINE);
    assert_true(h_contains(str(task, "text"), "loket pelayanan ditambah"));
    char task_id[24];
    snprintf(task_id, sizeof task_id, "%lld",
             (long long)json_integer_value(json_object_get(task, "id")));
    json_decref(todo);
    sop_ctl_expect(t->env, &run, 0, "calls --todo (table)", "calls", "--todo", NULL);
    assert_true(h_contains(run.out, LANDLINE));
    h_run_clear(&run);
    sop_ctl_expect(t->env, &run, 0, "called", "called", task_id, "--note", "Bapak menerima",
                   "--as", H_HELPDESK_ID, NULL);
    h_run_clear(&run);
    sop_ctl_expect(t->env, &run, 1, "called twice", "called", task_id, "--as", H_HELPDESK_ID,
                   NULL);
    h_run_clear(&run);
    sop_ctl_expect(t->env, &run, 0, "calls --todo after", "calls", "--todo", NULL);
    assert_true(h_contains(run.out, "No call-backs"));
    h_run_clear(&run);
    /* the call-back was the delivery of the response (SOP step 7) */
    sop_wait_status(t->env, lt, "delivered", WAIT_MS);
    h_pass(t->env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_follow_rotate_kill, setup_plain, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_hostile, setup_plain, teardown),
        cmocka_unit_test_setup_teardown(test_note_invite_callback, setup_invite, teardown),
    };
    const char *only = getenv("ADUAN_TEST_FILTER");
    if (only)
        cmocka_set_test_filter(only);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
