/*  test_config.c - the configuration file: defaults, the example file, every kind of error
    with its file:line, bounds, durations, bools, staff and relative paths. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "aduan/config.h"

#include <ini.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef ADUAN_SOURCE_DIR
#error "ADUAN_SOURCE_DIR must name the source root"
#endif

/* ---- helpers ------------------------------------------------------------------------- */

typedef struct {
    char path[PATH_MAX];
    aduan_config_t *config;
    aduan_config_errors_t errors;
    int rc;
} loaded_t;

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

/* Writes text to a new file in /tmp and loads it. */
static void load_text(loaded_t *l, const char *text)
{
    memset(l, 0, sizeof *l);
    snprintf(l->path, sizeof l->path, "/tmp/aduan-config-test-XXXXXX");
    int fd = mkstemp(l->path);
    assert_true(fd >= 0);
    size_t len = strlen(text);
    assert_int_equal(write(fd, text, len), (ssize_t)len);
    close(fd);
    l->rc = aduan_config_load(l->path, &l->config, &l->errors);
}

static void loaded_free(loaded_t *l)
{
    aduan_config_destroy(&l->config);
    aduan_config_errors_clear(&l->errors);
    unlink(l->path);
}

static void print_errors(const loaded_t *l)
{
    for (size_t i = 0; i < l->errors.count; i++)
        print_message("  error: %s\n", l->errors.lines[i]);
}

/* The load failed with exactly these errors, each "path:line: message" (line 0: "path:"). */
static void expect_errors(const loaded_t *l, size_t count, ...)
{
    if (l->errors.count != count)
        print_errors(l);
    assert_int_equal(l->rc, -1);
    assert_null(l->config);
    assert_int_equal(l->errors.count, count);
    va_list ap;
    va_start(ap, count);
    for (size_t i = 0; i < count; i++) {
        int line = va_arg(ap, int);
        const char *message = va_arg(ap, const char *);
        char want[PATH_MAX + 4096];
        if (line > 0)
            snprintf(want, sizeof want, "%s:%d: %s", l->path, line, message);
        else
            snprintf(want, sizeof want, "%s: %s", l->path, message);
        assert_string_equal(l->errors.lines[i], want);
    }
    va_end(ap);
}

static void expect_ok(const loaded_t *l)
{
    if (l->rc != 0)
        print_errors(l);
    assert_int_equal(l->rc, 0);
    assert_non_null(l->config);
    assert_int_equal(l->errors.count, 0);
}

/* Loads "[section]\nkey = value\n"; returns the rc and frees unless keep. */
static int load_one(loaded_t *l, const char *section, const char *key, const char *value)
{
    char text[4096];
    snprintf(text, sizeof text, "[%s]\n%s = %s\n", section, key, value);
    load_text(l, text);
    return l->rc;
}

/* ---- defaults and the example file --------------------------------------------------- */

static void test_defaults(void **state)
{
    (void)state;
    aduan_config_t *c = aduan_config_defaults();
    assert_non_null(c);
    assert_null(c->path);
    assert_string_equal(c->core.state_dir, "/var/lib/aduan");
    assert_string_equal(c->core.ticket_prefix, "ADU");
    assert_string_equal(c->core.log_level, "info");
    assert_int_equal(c->core.batch_max, 256);
    assert_string_equal(c->core.office_name, "DPMPTSP Kabupaten Contoh");
    assert_string_equal(c->bus.intake, "inproc://aduan-intake");
    assert_string_equal(c->bus.events, "inproc://aduan-events");
    assert_string_equal(c->bus.control, "ipc:///run/aduan/control.sock");
    assert_int_equal(c->bus.max_message_bytes, 33554432);
    assert_int_equal(c->bus.heartbeat_ms, 1000);
    assert_int_equal(c->bus.peer_timeout_ms, 5000);
    assert_int_equal(c->outbox.retry_base_s, 30);
    assert_int_equal(c->outbox.retry_max_s, 3600);
    assert_int_equal(c->outbox.max_attempts, 10);
    assert_int_equal(c->outbox.deliver_timeout_s, 60);
    assert_int_equal(c->outbox.in_flight, 16);
    assert_int_equal(c->outbox.auto_replies_per_day, 5);
    assert_string_equal(c->templates.dir, "/etc/aduan/templates");
    assert_string_equal(c->templates.language, "id");
    assert_int_equal(c->deadlines.response_days, 14);
    assert_int_equal(c->deadlines.resolution_days, 60);
    assert_false(c->deadlines.working_days);
    assert_string_equal(c->deadlines.holidays, "");
    assert_false(c->sms.enabled);
    assert_string_equal(c->sms.account, "sms");
    assert_false(c->email.enabled);
    assert_string_equal(c->email.account, "email");
    assert_false(c->phone.enabled);
    assert_string_equal(c->phone.account, "phone");
    assert_false(c->box.enabled);
    assert_string_equal(c->box.account, "box");
    assert_int_equal(c->staff_count, 0);
    assert_null(c->staff);
    aduan_config_destroy(&c);
    assert_null(c);
    aduan_config_destroy(&c); /* NULL is fine */
    aduan_config_destroy(NULL);
}

static void test_empty_file_is_defaults(void **state)
{
    (void)state;
    loaded_t l;
    load_text(&l, "");
    expect_ok(&l);
    assert_string_equal(l.config->path, l.path);
    assert_string_equal(l.config->core.state_dir, "/var/lib/aduan");
    assert_int_equal(l.config->core.batch_max, 256);
    assert_string_equal(l.config->sms.account, "sms");
    loaded_free(&l);

    load_text(&l, "; only comments\n# and blank lines\n\n   \n[core]\n");
    expect_ok(&l);
    loaded_free(&l);
}

static void test_example_file(void **state)
{
    (void)state;
    const char *path = ADUAN_SOURCE_DIR "/conf/aduan.conf";
    aduan_config_t *c = NULL;
    aduan_config_errors_t errors = {0};
    int rc = aduan_config_load(path, &c, &errors);
    for (size_t i = 0; i < errors.count; i++)
        print_message("  error: %s\n", errors.lines[i]);
    assert_int_equal(rc, 0);
    assert_int_equal(errors.count, 0);
    assert_non_null(c);

    char root[PATH_MAX], want[PATH_MAX + 32];
    assert_non_null(realpath(ADUAN_SOURCE_DIR, root));
    snprintf(want, sizeof want, "%s/.state", root);
    assert_string_equal(c->core.state_dir, want);
    snprintf(want, sizeof want, "%s/conf/templates", root);
    assert_string_equal(c->templates.dir, want);
    assert_string_equal(c->bus.intake, "ipc:///tmp/aduan/intake.sock");
    assert_string_equal(c->bus.control, "ipc:///tmp/aduan/control.sock");
    /* the quick start's world: the dummy phone and the loopback mail servers */
    assert_true(c->sms.enabled);
    snprintf(want, sizeof want, "%s/.state/demo/gammurc", root);
    assert_string_equal(c->sms.gammurc, want);
    assert_true(c->email.enabled);
    assert_string_equal(c->email.imap_tls, "starttls");
    assert_int_equal(c->email.imap_port, 10143);
    assert_false(c->phone.enabled);
    assert_false(c->box.enabled);

    assert_int_equal(c->staff_count, 3);
    const aduan_staff_t *helpdesk = aduan_config_staff_by_user(c, "root");
    assert_non_null(helpdesk);
    assert_int_equal(helpdesk->role, ADUAN_ROLE_HELPDESK);
    int roles = 0;
    for (size_t i = 0; i < c->staff_count; i++) {
        const aduan_staff_t *s = &c->staff[i];
        assert_non_null(s->name);
        assert_non_null(s->notify);
        assert_non_null(s->phone);
        assert_non_null(s->email);
        assert_non_null(strstr(s->email, "@dpmptsp.example.go.id"));
        assert_true(s->line > 0);
        roles |= 1 << s->role;
    }
    assert_int_equal(roles, (1 << ADUAN_ROLE_HELPDESK) | (1 << ADUAN_ROLE_BACKOFFICE)
                                | (1 << ADUAN_ROLE_HEAD));
    aduan_config_destroy(&c);
    assert_null(c);
}

/* ---- errors, each with its file:line ------------------------------------------------- */

static void test_cannot_open(void **state)
{
    (void)state;
    aduan_config_t *c = (aduan_config_t *)&c; /* must be set to NULL */
    aduan_config_errors_t errors = {0};
    const char *path = "/nonexistent/aduan.conf";
    assert_int_equal(aduan_config_load(path, &c, &errors), -1);
    assert_null(c);
    assert_int_equal(errors.count, 1);
    assert_string_equal(errors.lines[0],
                        "/nonexistent/aduan.conf: cannot open: No such file or directory");
    aduan_config_errors_clear(&errors);
    assert_int_equal(errors.count, 0);
    assert_null(errors.lines);

    /* errors may be NULL */
    c = (aduan_config_t *)&c;
    assert_int_equal(aduan_config_load(path, &c, NULL), -1);
    assert_null(c);
}

static void test_read_error(void **state)
{
    (void)state;
    aduan_config_t *c = NULL;
    aduan_config_errors_t errors = {0};
    assert_int_equal(aduan_config_load("/tmp", &c, &errors), -1);
    assert_null(c);
    assert_int_equal(errors.count, 1);
    assert_string_equal(errors.lines[0], "/tmp: cannot read: Is a directory");
    aduan_config_errors_clear(&errors);
}

static void test_unknown_section(void **state)
{
    (void)state;
    loaded_t l;
    /* its keys are not reported one by one */
    load_text(&l, "[core]\nbatch_max = 10\n[foo]\nbar = 1\nbaz = 2\n[staff]\nname = x\n"
                  "[staff.*]\nname = y\n");
    expect_errors(&l, 3, 3, "unknown section [foo]", 6, "unknown section [staff]", 8,
                  "[staff.*]: a staff id is made of a-z, 0-9, _ and -");
    loaded_free(&l);
}

static void test_unknown_key(void **state)
{
    (void)state;
    loaded_t l;
    load_text(&l, "[core]\n\nbatchmax = 10\n[staff.budi]\nname = Budi\nrole = head\nage = 40\n");
    expect_errors(&l, 2, 3, "unknown key \"batchmax\" in [core]", 7,
                  "unknown key \"age\" in [staff.budi]");
    loaded_free(&l);

    /* keys are per section: account is not a [core] key */
    load_text(&l, "[core]\naccount = x\n");
    expect_errors(&l, 1, 2, "unknown key \"account\" in [core]");
    loaded_free(&l);

    load_text(&l, "batch_max = 10\n");
    expect_errors(&l, 1, 1, "key \"batch_max\" outside any [section]");
    loaded_free(&l);
}

static void test_bad_values(void **state)
{
    (void)state;
    static const struct {
        const char *section, *key, *value, *message;
    } cases[] = {
        {"core", "batch_max", "abc", "core.batch_max: \"abc\" is not an integer"},
        {"core", "batch_max", "12abc", "core.batch_max: \"12abc\" is not an integer"},
        {"core", "batch_max", "1.5", "core.batch_max: \"1.5\" is not an integer"},
        {"core", "batch_max", "-", "core.batch_max: \"-\" is not an integer"},
        {"core", "log_level", "verbose",
         "core.log_level: \"verbose\" is not one of debug, info, warn, error"},
        {"core", "log_level", "INFO",
         "core.log_level: \"INFO\" is not one of debug, info, warn, error"},
        {"core", "ticket_prefix", "adu", "core.ticket_prefix: \"adu\" must be 2 to 8 letters A-Z"},
        {"core", "ticket_prefix", "A", "core.ticket_prefix: \"A\" must be 2 to 8 letters A-Z"},
        {"core", "ticket_prefix", "ABCDEFGHI",
         "core.ticket_prefix: \"ABCDEFGHI\" must be 2 to 8 letters A-Z"},
        {"core", "ticket_prefix", "AD1", "core.ticket_prefix: \"AD1\" must be 2 to 8 letters A-Z"},
        {"core", "state_dir", "", "core.state_dir: empty value"},
        {"core", "office_name", "", "core.office_name: empty value"},
        {"templates", "language", "fr", "templates.language: \"fr\" is not one of id, en"},
        {"sms", "enabled", "maybe",
         "sms.enabled: \"maybe\" is not a boolean (yes/no, true/false, on/off, 1/0)"},
        {"bus", "intake", "http://x",
         "bus.intake: \"http://x\" must start with inproc://, ipc:// or tcp://"},
        {"bus", "events", "inproc://", "bus.events: \"inproc://\" has nothing after inproc://"},
        {"bus", "control", "tcp://localhost",
         "bus.control: \"tcp://localhost\" needs host:port (port 1-65535 or *)"},
        {"bus", "control", "tcp://:5555",
         "bus.control: \"tcp://:5555\" needs host:port (port 1-65535 or *)"},
        {"bus", "control", "tcp://h:70000",
         "bus.control: \"tcp://h:70000\" needs host:port (port 1-65535 or *)"},
        {"deadlines", "holidays", "2026-02-30",
         "deadlines.holidays: \"2026-02-30\" is not a date (YYYY-MM-DD)"},
        {"deadlines", "holidays", "2026-01-01, 17-08-2026",
         "deadlines.holidays: \"17-08-2026\" is not a date (YYYY-MM-DD)"},
        {"deadlines", "holidays", "2026-01-01,,2026-08-17",
         "deadlines.holidays: empty date in the list"},
        {"deadlines", "holidays", "2026-13-01",
         "deadlines.holidays: \"2026-13-01\" is not a date (YYYY-MM-DD)"},
        {"deadlines", "holidays", "2025-02-29",
         "deadlines.holidays: \"2025-02-29\" is not a date (YYYY-MM-DD)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        loaded_t l;
        load_one(&l, cases[i].section, cases[i].key, cases[i].value);
        expect_errors(&l, 1, 2, cases[i].message);
        loaded_free(&l);
    }
}

static void test_good_values(void **state)
{
    (void)state;
    loaded_t l;
    load_text(&l, "[core]\n"
                  "ticket_prefix = PGD\n"
                  "log_level = debug\n"
                  "office_name = Dinas #1 ; the rest is a comment\n"
                  "batch_max=+12\n"
                  "[bus]\n"
                  "intake = tcp://*:5555\n"
                  "events = tcp://[::1]:5556\n"
                  "control: ipc://@aduan-control\n"
                  "[templates]\n"
                  "language = en\n"
                  "[deadlines]\n"
                  "holidays = 2024-02-29,2026-08-17 , 2026-12-25\n"
                  "[sms]\n"
                  "account = modem1;not a comment\n");
    expect_ok(&l);
    assert_string_equal(l.config->core.ticket_prefix, "PGD");
    assert_string_equal(l.config->core.log_level, "debug");
    assert_string_equal(l.config->core.office_name, "Dinas #1");
    assert_int_equal(l.config->core.batch_max, 12);
    assert_string_equal(l.config->bus.intake, "tcp://*:5555");
    assert_string_equal(l.config->bus.events, "tcp://[::1]:5556");
    assert_string_equal(l.config->bus.control, "ipc://@aduan-control");
    assert_string_equal(l.config->templates.language, "en");
    assert_string_equal(l.config->deadlines.holidays, "2024-02-29,2026-08-17 , 2026-12-25");
    assert_string_equal(l.config->sms.account, "modem1;not a comment");
    loaded_free(&l);

    /* an empty list of holidays */
    assert_int_equal(load_one(&l, "deadlines", "holidays", ""), 0);
    assert_string_equal(l.config->deadlines.holidays, "");
    loaded_free(&l);
}

static void test_ipc_path_length(void **state)
{
    (void)state;
    loaded_t l;
    char value[256];
    /* 107 bytes of path fit sun_path with its NUL; 108 do not */
    snprintf(value, sizeof value, "ipc:///%0106d", 0);
    assert_int_equal(load_one(&l, "bus", "control", value), 0);
    loaded_free(&l);
    snprintf(value, sizeof value, "ipc:///%0107d", 0);
    load_one(&l, "bus", "control", value);
    expect_errors(&l, 1, 2, "bus.control: ipc path is 108 bytes, must be shorter than 108");
    loaded_free(&l);
}

static void test_bounds(void **state)
{
    (void)state;
    static const struct {
        const char *section, *key;
        long long min, max;
        const char *unit;
    } cases[] = {
        {"core", "batch_max", 1, 4096, ""},
        {"bus", "max_message_bytes", 65536, 268435456, ""},
        {"bus", "heartbeat_ms", 100, 60000, " ms"},
        {"bus", "peer_timeout_ms", 300, 600000, " ms"},
        {"outbox", "retry_base_s", 1, 86400, " s"},
        {"outbox", "retry_max_s", 1, 604800, " s"},
        {"outbox", "max_attempts", 1, 100, ""},
        {"outbox", "deliver_timeout_s", 1, 3600, " s"},
        {"outbox", "in_flight", 1, 1024, ""},
        {"outbox", "auto_replies_per_day", 0, 1000, ""},
        {"deadlines", "response_days", 1, 365, ""},
        {"deadlines", "resolution_days", 1, 730, ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        loaded_t l;
        char value[64], message[256];
        long long edges[] = {cases[i].min, cases[i].max};
        long long outside[] = {cases[i].min - 1, cases[i].max + 1};
        for (size_t e = 0; e < 2; e++) {
            /* at the edges: accepted, unless it breaks an order between two keys */
            char text[512];
            snprintf(text, sizeof text,
                     "[%s]\n%s = %lld\n[bus]\nheartbeat_ms = 100\npeer_timeout_ms = 600000\n"
                     "[outbox]\nretry_base_s = 1\nretry_max_s = 604800\n"
                     "[deadlines]\nresponse_days = 1\nresolution_days = 730\n",
                     cases[i].section, cases[i].key, edges[e]);
            /* the key given twice would be a duplicate: take it out of the tail */
            char *dup = strstr(text + 1, cases[i].key);
            dup = dup ? strstr(dup + 1, cases[i].key) : NULL;
            if (dup)
                *dup = ';';
            load_text(&l, text);
            expect_ok(&l);
            loaded_free(&l);

            snprintf(value, sizeof value, "%lld", outside[e]);
            load_one(&l, cases[i].section, cases[i].key, value);
            snprintf(message, sizeof message, "%s.%s: \"%lld\" is out of bounds (%lld..%lld%s)",
                     cases[i].section, cases[i].key, outside[e], cases[i].min, cases[i].max,
                     cases[i].unit);
            expect_errors(&l, 1, 2, message);
            loaded_free(&l);
        }
    }

    loaded_t l;
    load_one(&l, "core", "batch_max", "99999999999999999999999");
    expect_errors(&l, 1, 2,
                  "core.batch_max: \"99999999999999999999999\" is out of bounds (1..4096)");
    loaded_free(&l);
}

static void test_order_between_keys(void **state)
{
    (void)state;
    loaded_t l;
    load_text(&l, "[outbox]\nretry_base_s = 2h\nretry_max_s = 1h\n");
    expect_errors(&l, 1, 3,
                  "outbox.retry_base_s (7200) must be at most outbox.retry_max_s (3600)");
    loaded_free(&l);

    load_text(&l, "[bus]\npeer_timeout_ms = 1000\n");
    expect_errors(&l, 1, 2,
                  "bus.heartbeat_ms (1000) must be less than bus.peer_timeout_ms (1000)");
    loaded_free(&l);

    load_text(&l, "[deadlines]\nresolution_days = 10\n\nresponse_days = 14\n");
    expect_errors(&l, 1, 4,
                  "deadlines.response_days (14) must be at most deadlines.resolution_days (10)");
    loaded_free(&l);

    /* a bad value is reported once, not again as a broken order */
    load_text(&l, "[bus]\nheartbeat_ms = 10\npeer_timeout_ms = 300\n");
    expect_errors(&l, 1, 2, "bus.heartbeat_ms: \"10\" is out of bounds (100..60000 ms)");
    loaded_free(&l);
}

static void test_durations(void **state)
{
    (void)state;
    static const struct {
        const char *key, *value;
        int64_t want;
    } good[] = {
        {"deliver_timeout_s", "30", 30},    {"deliver_timeout_s", "30s", 30},
        {"deliver_timeout_s", "5m", 300},   {"deliver_timeout_s", "1h", 3600},
        {"retry_base_s", "1d", 86400},      {"retry_max_s", "2h", 7200},
        {"retry_max_s", "7d", 604800},      {"deliver_timeout_s", "2000ms", 2},
        {"deliver_timeout_s", "0m", -1},    {"retry_max_s", "14d", -1},
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        loaded_t l;
        /* retry_base_s must stay at most retry_max_s */
        char text[256];
        snprintf(text, sizeof text, "[outbox]\n%s = %s\n%s\n", good[i].key, good[i].value,
                 strcmp(good[i].key, "retry_base_s") == 0 ? "retry_max_s = 7d" : "");
        load_text(&l, text);
        if (good[i].want < 0) {
            assert_int_equal(l.rc, -1);
            assert_int_equal(l.errors.count, 1);
            assert_non_null(strstr(l.errors.lines[0], "is out of bounds"));
            loaded_free(&l);
            continue;
        }
        expect_ok(&l);
        const aduan_config_t *c = l.config;
        int64_t got = strcmp(good[i].key, "deliver_timeout_s") == 0 ? c->outbox.deliver_timeout_s
                      : strcmp(good[i].key, "retry_base_s") == 0    ? c->outbox.retry_base_s
                                                                    : c->outbox.retry_max_s;
        assert_int_equal(got, good[i].want);
        loaded_free(&l);
    }

    /* milliseconds: a bare number is ms */
    static const struct {
        const char *value;
        int64_t want;
    } ms[] = {{"250", 250}, {"250ms", 250}, {"2s", 2000}, {"1m", 60000}};
    for (size_t i = 0; i < sizeof ms / sizeof ms[0]; i++) {
        loaded_t l;
        char text[256];
        snprintf(text, sizeof text, "[bus]\nheartbeat_ms = %s\npeer_timeout_ms = 10m\n",
                 ms[i].value);
        load_text(&l, text);
        expect_ok(&l);
        assert_int_equal(l.config->bus.heartbeat_ms, ms[i].want);
        assert_int_equal(l.config->bus.peer_timeout_ms, 600000);
        loaded_free(&l);
    }

    static const struct {
        const char *key, *value, *message;
    } bad[] = {
        {"deliver_timeout_s", "1500ms",
         "outbox.deliver_timeout_s: \"1500ms\" is not a whole number of seconds"},
        {"deliver_timeout_s", "5x",
         "outbox.deliver_timeout_s: \"5x\" is not a duration (a number, or one with ms, s, m, "
         "h or d after it)"},
        {"deliver_timeout_s", "5 m",
         "outbox.deliver_timeout_s: \"5 m\" is not a duration (a number, or one with ms, s, m, "
         "h or d after it)"},
        {"deliver_timeout_s", "-5s",
         "outbox.deliver_timeout_s: \"-5s\" is not a duration (a number, or one with ms, s, m, "
         "h or d after it)"},
        {"deliver_timeout_s", "s",
         "outbox.deliver_timeout_s: \"s\" is not a duration (a number, or one with ms, s, m, "
         "h or d after it)"},
        {"deliver_timeout_s", "2h",
         "outbox.deliver_timeout_s: \"2h\" is out of bounds (1..3600 s)"},
        {"deliver_timeout_s", "9999999999999999d",
         "outbox.deliver_timeout_s: \"9999999999999999d\" is out of bounds (1..3600 s)"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        loaded_t l;
        load_one(&l, "outbox", bad[i].key, bad[i].value);
        expect_errors(&l, 1, 2, bad[i].message);
        loaded_free(&l);
    }
}

static void test_bools(void **state)
{
    (void)state;
    static const struct {
        const char *value;
        bool want;
    } cases[] = {
        {"yes", true},  {"no", false},  {"true", true}, {"false", false},
        {"on", true},   {"off", false}, {"1", true},    {"0", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        loaded_t l;
        load_one(&l, "deadlines", "working_days", cases[i].value);
        expect_ok(&l);
        assert_int_equal(l.config->deadlines.working_days, cases[i].want);
        loaded_free(&l);
        load_one(&l, "box", "enabled", cases[i].value);
        expect_ok(&l);
        assert_int_equal(l.config->box.enabled, cases[i].want);
        loaded_free(&l);
    }
    static const char *const bad[] = {"Yes", "2", "y", "enabled"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        loaded_t l;
        char message[256];
        load_one(&l, "email", "enabled", bad[i]);
        snprintf(message, sizeof message,
                 "email.enabled: \"%s\" is not a boolean (yes/no, true/false, on/off, 1/0)",
                 bad[i]);
        expect_errors(&l, 1, 2, message);
        loaded_free(&l);
    }
}

static void test_duplicate_key(void **state)
{
    (void)state;
    loaded_t l;
    /* a section may come back, but a key is set once */
    load_text(&l, "[core]\nlog_level = warn\n[bus]\n[core]\nlog_level = error\n"
                  "[staff.a]\nname = A\nrole = head\nname = B\n");
    expect_errors(&l, 2, 5, "core.log_level: duplicate key (first set on line 2)", 9,
                  "staff.a.name: duplicate key (first set on line 7)");
    loaded_free(&l);
}

static void test_long_line(void **state)
{
    (void)state;
    char text[4096];
    loaded_t l;

    /* exactly ADUAN_CONFIG_MAX_LINE bytes, with CRLF: fine */
    int pad = ADUAN_CONFIG_MAX_LINE - (int)strlen("office_name = ");
    snprintf(text, sizeof text, "[core]\r\noffice_name = %0*d\r\n", pad, 7);
    load_text(&l, text);
    expect_ok(&l);
    assert_int_equal(strlen(l.config->core.office_name), (size_t)pad);
    loaded_free(&l);

    /* one byte more: an error on that line, and the lines after it keep their numbers */
    snprintf(text, sizeof text, "[core]\noffice_name = %0*d\nbatch_max = 0\n", pad + 1, 7);
    load_text(&l, text);
    expect_errors(&l, 2, 2, "line too long (1025 bytes, at most 1024)", 3,
                  "core.batch_max: \"0\" is out of bounds (1..4096)");
    loaded_free(&l);

    /* a long comment is still a long line; many pieces do not become many errors */
    memset(text, ';', 3000);
    snprintf(text + 3000, sizeof text - 3000, "\n[core]\nbatch_max = x\n");
    load_text(&l, text);
    expect_errors(&l, 2, 1, "line too long (3000 bytes, at most 1024)", 3,
                  "core.batch_max: \"x\" is not an integer");
    loaded_free(&l);

    /* the last line without a newline */
    snprintf(text, sizeof text, "[core]\noffice_name = %0*d", pad + 1, 7);
    load_text(&l, text);
    expect_errors(&l, 1, 2, "line too long (1025 bytes, at most 1024)");
    loaded_free(&l);
}

static void test_syntax_errors(void **state)
{
    (void)state;
    loaded_t l;
    load_text(&l, "[core\nbatch_max = 1\n[bus]\njust words\nheartbeat_ms = 1\nnot ; = x\n");
    expect_errors(&l, 4, 1, "syntax error: [ without ]", 4,
                  "syntax error: expected [section] or key = value", 5,
                  "bus.heartbeat_ms: \"1\" is out of bounds (100..60000 ms)", 6,
                  "syntax error: expected [section] or key = value");
    loaded_free(&l);
}

static void test_indented_lines_and_bom(void **state)
{
    (void)state;
    loaded_t l;
    /* libinih would take an indented line as the continuation of the previous value */
    load_text(&l, "\xEF\xBB\xBF[core]\n  batch_max = 7\n\tlog_level = warn\n  [ bus ]  \n"
                  "  heartbeat_ms = 200\n");
    expect_ok(&l);
    assert_int_equal(l.config->core.batch_max, 7);
    assert_string_equal(l.config->core.log_level, "warn");
    assert_int_equal(l.config->bus.heartbeat_ms, 200);
    loaded_free(&l);
}

static void test_many_errors(void **state)
{
    (void)state;
    loaded_t l;
    load_text(&l, "; one of each\n"                /* 1 */
                  "[core]\n"                       /* 2 */
                  "batch_max = 0\n"                /* 3 */
                  "log_level = loud\n"             /* 4 */
                  "colour = blue\n"                /* 5 */
                  "batch_max = 5\n"                /* 6 */
                  "[nowhere]\n"                    /* 7 */
                  "x = 1\n"                        /* 8 */
                  "[staff.rina]\n"                 /* 9 */
                  "name = Rina\n"                  /* 10 */
                  "phone = 0812345\n"              /* 11 */
                  "[templates]\n"                  /* 12 */
                  "language = jv\n"                /* 13 */
                  "[sms]\n"                        /* 14 */
                  "enabled = perhaps\n");          /* 15 */
    expect_errors(&l, 9, 3, "core.batch_max: \"0\" is out of bounds (1..4096)", 4,
                  "core.log_level: \"loud\" is not one of debug, info, warn, error", 5,
                  "unknown key \"colour\" in [core]", 6,
                  "core.batch_max: duplicate key (first set on line 3)", 7,
                  "unknown section [nowhere]", 11,
                  "staff.rina.phone: \"0812345\" is not an E.164 number (+ and 7 to 15 digits)",
                  13, "templates.language: \"jv\" is not one of id, en", 15,
                  "sms.enabled: \"perhaps\" is not a boolean (yes/no, true/false, on/off, 1/0)",
                  /* checked after the file: the missing role, on the header line */
                  9, "[staff.rina]: missing required key \"role\"");
    loaded_free(&l);
}

/* ---- staff --------------------------------------------------------------------------- */

static void test_staff(void **state)
{
    (void)state;
    loaded_t l;
    load_text(&l, "[staff.dewi_2]\n"
                  "name = Dewi Lestari\n"
                  "role = backoffice\n"
                  "phone = +6281234500009\n"
                  "email = dewi@dpmptsp.example.go.id\n"
                  "user = dewi\n"
                  "\n"
                  "[staff.agus-s]\n"
                  "name = Agus Salim\n"
                  "role = head\n"
                  "phone = +6281234500010\n"
                  "\n"
                  "[staff.nur]\n"
                  "name = Nur\n"
                  "role = helpdesk\n"
                  "email = nur@example.org\n"
                  "phone = +628111111\n"
                  "notify = both\n"
                  "user = nur\n");
    expect_ok(&l);
    const aduan_config_t *c = l.config;
    assert_int_equal(c->staff_count, 3);
    assert_string_equal(c->staff[0].id, "dewi_2");
    assert_string_equal(c->staff[0].name, "Dewi Lestari");
    assert_int_equal(c->staff[0].role, ADUAN_ROLE_BACKOFFICE);
    assert_string_equal(c->staff[0].phone, "+6281234500009");
    assert_string_equal(c->staff[0].email, "dewi@dpmptsp.example.go.id");
    assert_string_equal(c->staff[0].user, "dewi");
    assert_string_equal(c->staff[0].notify, "email"); /* email set */
    assert_int_equal(c->staff[0].line, 1);
    assert_string_equal(c->staff[1].id, "agus-s");
    assert_int_equal(c->staff[1].role, ADUAN_ROLE_HEAD);
    assert_null(c->staff[1].email);
    assert_null(c->staff[1].user);
    assert_string_equal(c->staff[1].notify, "sms"); /* no email */
    assert_int_equal(c->staff[1].line, 8);
    assert_int_equal(c->staff[2].role, ADUAN_ROLE_HELPDESK);
    assert_string_equal(c->staff[2].notify, "both");

    assert_ptr_equal(aduan_config_staff_by_user(c, "nur"), &c->staff[2]);
    assert_ptr_equal(aduan_config_staff_by_user(c, "dewi"), &c->staff[0]);
    assert_null(aduan_config_staff_by_user(c, "agus"));
    assert_null(aduan_config_staff_by_user(c, NULL));
    assert_null(aduan_config_staff_by_user(NULL, "nur"));
    loaded_free(&l);
}

static void test_staff_errors(void **state)
{
    (void)state;
    loaded_t l;
    load_text(&l, "[staff.a]\n"                  /* 1 */
                  "name = A\n"                   /* 2 */
                  "role = helpdesk\n"            /* 3 */
                  "user = root\n"                /* 4 */
                  "[staff.b]\n"                  /* 5 */
                  "role = clerk\n"               /* 6 */
                  "email = b@x@y\n"              /* 7 */
                  "user = root\n"                /* 8 */
                  "[staff.c]\n"                  /* 9 */
                  "[staff.Budi]\n"               /* 10 */
                  "name = ignored\n"             /* 11 */
                  "[staff.]\n"                   /* 12 */
                  "[staff.d]\n"                  /* 13 */
                  "name = D\n"                   /* 14 */
                  "role = head\n"                /* 15 */
                  "notify = email\n"             /* 16 */
                  "phone = 6281234\n"            /* 17 */
                  "user = bad user\n"            /* 18 */
                  "[staff.e]\n"                  /* 19 */
                  "name = E\n"                   /* 20 */
                  "role = head\n"                /* 21 */
                  "phone = +62812345678901234\n" /* 22 */
                  "email = @x\n");               /* 23 */
    /* a bad value counts as given: b's role is bad, not missing */
    expect_errors(&l, 13, 6, "staff.b.role: \"clerk\" is not one of helpdesk, backoffice, head",
                  7, "staff.b.email: \"b@x@y\" is not an email address (one @, no spaces)", 10,
                  "[staff.Budi]: a staff id is made of a-z, 0-9, _ and -", 12,
                  "[staff.]: a staff id is made of a-z, 0-9, _ and -", 17,
                  "staff.d.phone: \"6281234\" is not an E.164 number (+ and 7 to 15 digits)", 18,
                  "staff.d.user: \"bad user\" is not a user name", 22,
                  "staff.e.phone: \"+62812345678901234\" is not an E.164 number (+ and 7 to 15 "
                  "digits)",
                  23, "staff.e.email: \"@x\" is not an email address (one @, no spaces)",
                  /* after the file: required keys on the header line, notify, users */
                  5, "[staff.b]: missing required key \"name\"", 8,
                  "staff.b.user: \"root\" is already the user of [staff.a] (line 4)", 9,
                  "[staff.c]: missing required key \"name\"", 9,
                  "[staff.c]: missing required key \"role\"", 16,
                  "staff.d.notify: \"email\" needs an email address");
    loaded_free(&l);
}

static void test_duplicate_user(void **state)
{
    (void)state;
    loaded_t l;
    load_text(&l, "[staff.a]\nname = A\nrole = helpdesk\nuser = budi\n"
                  "[staff.b]\nname = B\nrole = head\n"
                  "[staff.c]\nname = C\nrole = backoffice\n\nuser = budi\n");
    expect_errors(&l, 1, 12, "staff.c.user: \"budi\" is already the user of [staff.a] (line 4)");
    loaded_free(&l);

    /* different users are fine */
    load_text(&l, "[staff.a]\nname = A\nrole = helpdesk\nuser = budi\n"
                  "[staff.b]\nname = B\nrole = head\nuser = rina\n");
    expect_ok(&l);
    assert_string_equal(aduan_config_staff_by_user(l.config, "rina")->id, "b");
    loaded_free(&l);
}

/* ---- relative paths ------------------------------------------------------------------ */

static void test_relative_paths(void **state)
{
    (void)state;
    char dir[] = "/tmp/aduan-config-dir-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char real[PATH_MAX];
    assert_non_null(realpath(dir, real));
    char sub[PATH_MAX + 16], path[PATH_MAX + 32], want[PATH_MAX + 64];
    snprintf(sub, sizeof sub, "%s/conf", dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    snprintf(path, sizeof path, "%s/aduan.conf", sub);

    static const struct {
        const char *state_dir, *templates, *want_state, *want_templates;
    } cases[] = {
        {"../.state", "templates", "/.state", "/conf/templates"},
        {"./state/", "./././t", "/conf/state/", "/conf/t"},
        {"..", ".", "", "/conf"},
        {"../../x/../y", "a/../b", NULL, "/conf/a/../b"},
        {"/srv/aduan", "/usr/share/aduan/templates", "=/srv/aduan", "=/usr/share/aduan/templates"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[512];
        snprintf(text, sizeof text, "[core]\nstate_dir = %s\n[templates]\ndir = %s\n",
                 cases[i].state_dir, cases[i].templates);
        write_file(path, text);
        aduan_config_t *c = NULL;
        aduan_config_errors_t errors = {0};
        assert_int_equal(aduan_config_load(path, &c, &errors), 0);
        assert_int_equal(errors.count, 0);

        const char *w = cases[i].want_state;
        if (!w) {
            /* ../../ goes above the temporary folder: compare with its parent by hand */
            char parent[PATH_MAX];
            snprintf(parent, sizeof parent, "%s", real);
            *strrchr(parent, '/') = '\0';
            snprintf(want, sizeof want, "%s/x/../y", parent[0] ? parent : "");
        } else if (w[0] == '=') {
            snprintf(want, sizeof want, "%s", w + 1);
        } else {
            snprintf(want, sizeof want, "%s%s", real, w);
        }
        assert_string_equal(c->core.state_dir, want);
        w = cases[i].want_templates;
        if (w[0] == '=')
            snprintf(want, sizeof want, "%s", w + 1);
        else
            snprintf(want, sizeof want, "%s%s", real, w);
        assert_string_equal(c->templates.dir, want);
        aduan_config_destroy(&c);
    }

    /* the config named by a relative path, from another working directory */
    char cwd[PATH_MAX];
    assert_non_null(getcwd(cwd, sizeof cwd));
    write_file(path, "[templates]\ndir = templates\n");
    assert_int_equal(chdir(dir), 0);
    aduan_config_t *c = NULL;
    assert_int_equal(aduan_config_load("conf/aduan.conf", &c, NULL), 0);
    snprintf(want, sizeof want, "%s/conf/templates", real);
    assert_string_equal(c->templates.dir, want);
    assert_string_equal(c->path, "conf/aduan.conf");
    aduan_config_destroy(&c);
    assert_int_equal(chdir(cwd), 0);

    unlink(path);
    rmdir(sub);
    rmdir(dir);
}

/* ---- the rest of the interface ------------------------------------------------------- */

static void test_role_name(void **state)
{
    (void)state;
    assert_string_equal(aduan_role_name(ADUAN_ROLE_HELPDESK), "helpdesk");
    assert_string_equal(aduan_role_name(ADUAN_ROLE_BACKOFFICE), "backoffice");
    assert_string_equal(aduan_role_name(ADUAN_ROLE_HEAD), "head");
    assert_string_equal(aduan_role_name((aduan_role_t)0), "unknown");
    assert_string_equal(aduan_role_name((aduan_role_t)99), "unknown");
}

static void test_print_keys(void **state)
{
    (void)state;
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    assert_non_null(out);
    aduan_config_print_keys(out);
    assert_int_equal(fclose(out), 0);

    const char *head = "| section | key | type | bounds | default | meaning |\n"
                       "|---|---|---|---|---|---|\n";
    assert_true(strncmp(buf, head, strlen(head)) == 0);
    static const char *const rows[] = {
        "| core | state_dir | path |  | `/var/lib/aduan` |",
        "| core | log_level | enum | debug, info, warn, error | `info` |",
        "| core | batch_max | int | 1..4096 | `256` |",
        "| bus | heartbeat_ms | duration | 100..60000 ms | `1000` |",
        "| bus | control | endpoint | inproc://, ipc://, tcp:// "
        "| `ipc:///run/aduan/control.sock` |",
        "| outbox | retry_base_s | duration | 1..86400 s | `30` |",
        "| deadlines | working_days | bool |  | `no` |",
        "| deadlines | holidays | string | YYYY-MM-DD, ... | (empty) |",
        "| sms | account | string |  | `sms` |",
        "| box | enabled | bool |  | `no` |",
        /* in code, or Markdown would take <id> for an HTML tag */
        "| `staff.<id>` | name | string |  | (required) |",
        "| `staff.<id>` | role | enum | helpdesk, backoffice, head | (required) |",
        "| `staff.<id>` | phone | string | E.164: + and 7-15 digits | (unset) |",
        "| `staff.<id>` | notify | enum | sms, email, both, none | email if email is set, else "
        "sms |",
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        if (!strstr(buf, rows[i]))
            print_message("missing row: %s\n", rows[i]);
        assert_non_null(strstr(buf, rows[i]));
    }
    /* one line per key, every line a row of six cells */
    size_t lines = 0;
    for (char *p = buf; (p = strchr(p, '\n')); p++) {
        lines++;
    }
    /* the header rows, then each section's keys (a channel: enabled, account + its own) */
    int expected = 2;
    expected += 6;      /* core */
    expected += 6 + 3;  /* bus: endpoints and limits, CURVE */
    expected += 6;      /* outbox */
    expected += 2;      /* templates */
    expected += 4 + 9;  /* deadlines: overall, then the steps, reminders, summary */
    expected += 2 + 11; /* sms */
    expected += 2 + 21; /* email */
    expected += 2 + 5;  /* phone */
    expected += 2 + 15; /* box */
    expected += 6;      /* staff.<id> */
    assert_int_equal(lines, (size_t)expected);
    for (char *line = buf; *line; line = strchr(line, '\n') + 1) {
        int bars = 0;
        for (char *p = line; *p != '\n'; p++)
            bars += *p == '|' && (p == line || p[-1] != '\\');
        assert_int_equal(bars, 7);
    }
    free(buf);
}

static void test_inih_options_restored(void **state)
{
    (void)state;
    int max_line = ini_max_line;
    bool multiline = ini_allow_multiline;
    loaded_t l;
    load_text(&l, "[core]\nbatch_max = 3\n");
    expect_ok(&l);
    loaded_free(&l);
    assert_int_equal(ini_max_line, max_line);
    assert_int_equal(ini_allow_multiline, multiline);
}

static void test_errors_append(void **state)
{
    (void)state;
    aduan_config_t *c = NULL;
    aduan_config_errors_t errors = {0};
    assert_int_equal(aduan_config_load("/nonexistent/a", &c, &errors), -1);
    assert_int_equal(aduan_config_load("/nonexistent/b", &c, &errors), -1);
    assert_int_equal(errors.count, 2);
    assert_non_null(strstr(errors.lines[1], "/nonexistent/b:"));
    aduan_config_errors_clear(&errors);
    aduan_config_errors_clear(&errors);
    aduan_config_errors_clear(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_empty_file_is_defaults),
        cmocka_unit_test(test_example_file),
        cmocka_unit_test(test_cannot_open),
        cmocka_unit_test(test_read_error),
        cmocka_unit_test(test_unknown_section),
        cmocka_unit_test(test_unknown_key),
        cmocka_unit_test(test_bad_values),
        cmocka_unit_test(test_good_values),
        cmocka_unit_test(test_ipc_path_length),
        cmocka_unit_test(test_bounds),
        cmocka_unit_test(test_order_between_keys),
        cmocka_unit_test(test_durations),
        cmocka_unit_test(test_bools),
        cmocka_unit_test(test_duplicate_key),
        cmocka_unit_test(test_long_line),
        cmocka_unit_test(test_syntax_errors),
        cmocka_unit_test(test_indented_lines_and_bom),
        cmocka_unit_test(test_many_errors),
        cmocka_unit_test(test_staff),
        cmocka_unit_test(test_staff_errors),
        cmocka_unit_test(test_duplicate_user),
        cmocka_unit_test(test_relative_paths),
        cmocka_unit_test(test_role_name),
        cmocka_unit_test(test_print_keys),
        cmocka_unit_test(test_inih_options_restored),
        cmocka_unit_test(test_errors_append),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
