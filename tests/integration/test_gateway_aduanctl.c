/*  test_gateway_aduanctl.c - aduanctl run as a staff member would, against the real
    aduan-gatewayd holding a few complaints: list, show, search, stats, quarantine,
    audit verify, watch, --json, --help, and its exit status (0 done, 1 refused, 2 usage or
    no answer from the core). */
#include "harness.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CTL_MS 15000 /* what a run may take at most, well above aduanctl's own timeout */

/* The complaints every test starts with, oldest first. */
static const struct {
    const char *channel, *key, *from, *subject, *text;
} seed[] = {
    {"sms", "sms:modem-1:1", "+6281234567890", "Jalan rusak",
     "Mohon perbaikan jalan rusak di depan kantor desa Sukamaju."},
    {"email", "imap:1:1", "siti.aminah@example.org", "Izin usaha",
     "Pengurusan NIB sudah tiga minggu belum selesai."},
    {"phone", "call:1", "+6285700001111", "Antrian loket", "Antrian di loket terlalu panjang."},
};
#define SEEDS (sizeof seed / sizeof seed[0])
static char tickets[SEEDS][40];
#define QUARANTINE_REASON "MIME: boundary never closed"

static int setup(void **state)
{
    if (h_setup(state) != 0)
        return -1;
    h_env_t *env = *state;
    for (size_t i = 0; i < SEEDS; i++) {
        h_adapter_t *a = h_adapter_new(env, seed[i].channel, "test");
        aduan_msg_t *m = h_intake_new(seed[i].channel, seed[i].key, seed[i].from,
                                      seed[i].subject, seed[i].text);
        aduan_msg_t *ack = h_adapter_intake(a, &m);
        assert_int_equal(ack->type, ADUAN_MSG_ACK);
        assert_string_equal(ack->ack.disposition, "new");
        snprintf(tickets[i], sizeof tickets[i], "%s", ack->ack.ticket);
        aduan_msg_destroy(&ack);
        if (i == 1) {
            m = h_intake_new("email", "imap:1:2", seed[i].from, NULL, NULL);
            aduan_msg_set(&m->intake.quarantine_reason, QUARANTINE_REASON);
            ack = h_adapter_intake(a, &m);
            assert_int_equal(ack->type, ADUAN_MSG_ACK);
            assert_string_equal(ack->ack.disposition, "quarantined");
            aduan_msg_destroy(&ack);
        }
        h_adapter_destroy(&a);
    }
    return 0;
}

/* Runs aduanctl and, when it did not exit as expected, shows what it printed. */
static void expect_code(const h_run_t *run, int code, const char *what)
{
    if (run->code != code) {
        fprintf(stderr, "aduanctl %s: exit %d after %lld ms\nstdout:\n%s\nstderr:\n%s\n", what,
                run->code, (long long)run->ms, run->out, run->err);
        fail_msg("aduanctl %s exited %d, expected %d", what, run->code, code);
    }
}

static json_t *stdout_json(const h_run_t *run)
{
    json_error_t err;
    json_t *j = json_loads(run->out, 0, &err);
    if (!j)
        fail_msg("stdout is not JSON (%s at line %d): %.400s", err.text, err.line, run->out);
    return j;
}

static const char *str(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

static bool iso_time(const char *s)
{
    /* 2026-11-28T01:02:03Z */
    return strlen(s) == 20 && s[4] == '-' && s[7] == '-' && s[10] == 'T' && s[13] == ':' &&
           s[16] == ':' && s[19] == 'Z';
}

static bool items_have_ticket(const json_t *items, const char *ticket)
{
    size_t i;
    json_t *row;
    json_array_foreach(items, i, row)
        if (strcmp(str(row, "ticket"), ticket) == 0)
            return true;
    return false;
}

/* ---- list --------------------------------------------------------------------------------- */

static void check_list(const json_t *body)
{
    json_t *items = json_object_get(body, "items");
    assert_true(json_is_array(items));
    assert_int_equal(json_array_size(items), SEEDS);
    for (size_t i = 0; i < SEEDS; i++) {
        json_t *row = json_array_get(items, SEEDS - 1 - i); /* newest first */
        assert_string_equal(str(row, "ticket"), tickets[i]);
        assert_string_equal(str(row, "channel"), seed[i].channel);
        assert_string_equal(str(row, "status"), "recorded");
        assert_string_equal(str(row, "from"), seed[i].from);
        assert_string_equal(str(row, "subject"), seed[i].subject);
        assert_true(iso_time(str(row, "received_at")));
    }
}

static void test_list_json(void **state)
{
    h_env_t *env = *state;
    h_run_t run;
    h_aduanctl(env, &run, CTL_MS, "--json", "list", NULL);
    expect_code(&run, 0, "--json list");
    json_t *body = stdout_json(&run);
    check_list(body);
    json_decref(body);
    h_run_clear(&run);

    /* the common options after the command as well */
    h_aduanctl(env, &run, CTL_MS, "list", "--json", NULL);
    expect_code(&run, 0, "list --json");
    body = stdout_json(&run);
    check_list(body);
    json_decref(body);
    h_run_clear(&run);

    h_aduanctl(env, &run, CTL_MS, "--json", "list", "--channel", "email", NULL);
    expect_code(&run, 0, "--json list --channel email");
    body = stdout_json(&run);
    assert_int_equal(json_array_size(json_object_get(body, "items")), 1);
    assert_true(items_have_ticket(json_object_get(body, "items"), tickets[1]));
    json_decref(body);
    h_run_clear(&run);

    /* for a person: a table with every ticket */
    h_aduanctl(env, &run, CTL_MS, "list", NULL);
    expect_code(&run, 0, "list");
    for (size_t i = 0; i < SEEDS; i++)
        assert_true(h_contains(run.out, tickets[i]));
    h_run_clear(&run);
    h_pass(env);
}

/* ---- show --------------------------------------------------------------------------------- */

static void test_show_json(void **state)
{
    h_env_t *env = *state;
    h_run_t run;
    h_aduanctl(env, &run, CTL_MS, "--json", "show", tickets[0], NULL);
    expect_code(&run, 0, "--json show");
    json_t *body = stdout_json(&run);
    assert_string_equal(str(body, "ticket"), tickets[0]);
    assert_string_equal(str(body, "subject"), seed[0].subject);
    assert_string_equal(str(body, "text"), seed[0].text);
    assert_true(json_is_array(json_object_get(body, "thread")));
    assert_true(json_is_array(json_object_get(body, "outbox")));
    assert_true(json_array_size(json_object_get(body, "audit")) >= 1);
    json_decref(body);
    h_run_clear(&run);

    h_aduanctl(env, &run, CTL_MS, "show", tickets[0], "--json", NULL);
    expect_code(&run, 0, "show TICKET --json");
    body = stdout_json(&run);
    assert_string_equal(str(body, "subject"), seed[0].subject);
    json_decref(body);
    h_run_clear(&run);

    /* "case does not matter" (its help) */
    char lower[40];
    snprintf(lower, sizeof lower, "%s", tickets[0]);
    memcpy(lower, "adu", 3);
    h_aduanctl(env, &run, CTL_MS, "--json", "show", lower, NULL);
    expect_code(&run, 0, "--json show in lower case");
    body = stdout_json(&run);
    assert_string_equal(str(body, "ticket"), tickets[0]);
    json_decref(body);
    h_run_clear(&run);

    /* for a person */
    h_aduanctl(env, &run, CTL_MS, "show", tickets[0], NULL);
    expect_code(&run, 0, "show");
    assert_true(h_contains(run.out, tickets[0]));
    assert_true(h_contains(run.out, seed[0].subject));
    h_run_clear(&run);
    h_pass(env);
}

static void test_show_unknown_refused(void **state)
{
    h_env_t *env = *state;
    h_run_t run;
    h_aduanctl(env, &run, CTL_MS, "show", "ADU-1999-99999", NULL);
    expect_code(&run, 1, "show ADU-1999-99999");
    assert_true(h_contains(run.err, "ADU-1999-99999"));
    h_run_clear(&run);
    h_aduanctl(env, &run, CTL_MS, "--json", "show", "ADU-1999-99999", NULL);
    expect_code(&run, 1, "--json show ADU-1999-99999");
    h_run_clear(&run);
    h_pass(env);
}

/* ---- search ------------------------------------------------------------------------------- */

static void test_search_prefix(void **state)
{
    h_env_t *env = *state;
    h_run_t run;
    h_aduanctl(env, &run, CTL_MS, "--json", "search", "perbaik*", NULL);
    expect_code(&run, 0, "--json search perbaik*");
    json_t *body = stdout_json(&run);
    json_t *items = json_object_get(body, "items");
    assert_true(items_have_ticket(items, tickets[0]));
    assert_false(items_have_ticket(items, tickets[1]));
    assert_false(items_have_ticket(items, tickets[2]));
    json_decref(body);
    h_run_clear(&run);

    /* two words, both must match */
    h_aduanctl(env, &run, CTL_MS, "--json", "search", "jalan", "rusak", NULL);
    expect_code(&run, 0, "--json search jalan rusak");
    body = stdout_json(&run);
    assert_true(items_have_ticket(json_object_get(body, "items"), tickets[0]));
    json_decref(body);
    h_run_clear(&run);

    /* nothing found is not an error; FTS syntax in a word is not one either */
    h_aduanctl(env, &run, CTL_MS, "--json", "search", "zzzz*", NULL);
    expect_code(&run, 0, "--json search zzzz*");
    body = stdout_json(&run);
    assert_int_equal(json_array_size(json_object_get(body, "items")), 0);
    json_decref(body);
    h_run_clear(&run);
    h_aduanctl(env, &run, CTL_MS, "--json", "search", "NEAR(\"a", "OR", NULL);
    expect_code(&run, 0, "--json search with FTS syntax");
    h_run_clear(&run);

    h_aduanctl(env, &run, CTL_MS, "search", "perbaik*", NULL);
    expect_code(&run, 0, "search perbaik*");
    assert_true(h_contains(run.out, tickets[0]));
    h_run_clear(&run);
    h_pass(env);
}

/* ---- stats, quarantine, audit ------------------------------------------------------------- */

static json_int_t count_of(const json_t *rows, const char *key, const char *value)
{
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row)
        if (strcmp(str(row, key), value) == 0)
            return json_integer_value(json_object_get(row, "count"));
    return 0;
}

static void test_stats_json(void **state)
{
    h_env_t *env = *state;
    h_run_t run;
    h_aduanctl(env, &run, CTL_MS, "--json", "stats", NULL);
    expect_code(&run, 0, "--json stats");
    json_t *body = stdout_json(&run);
    assert_int_equal(json_integer_value(json_object_get(body, "complaints")), SEEDS);
    assert_int_equal(json_integer_value(json_object_get(body, "intakes")), SEEDS + 1);
    assert_int_equal(json_integer_value(json_object_get(body, "quarantined")), 1);
    json_t *by_channel = json_object_get(body, "by_channel");
    for (size_t i = 0; i < SEEDS; i++)
        assert_int_equal(count_of(by_channel, "channel", seed[i].channel), 1);
    assert_int_equal(count_of(json_object_get(body, "by_status"), "status", "recorded"), SEEDS);
    json_t *counters = json_object_get(json_object_get(body, "service"), "counters");
    assert_int_equal(json_integer_value(json_object_get(counters, "tickets")), SEEDS);
    json_decref(body);
    h_run_clear(&run);

    h_aduanctl(env, &run, CTL_MS, "stats", NULL);
    expect_code(&run, 0, "stats");
    assert_true(strlen(run.out) > 0);
    h_run_clear(&run);
    h_pass(env);
}

static void test_quarantine_json(void **state)
{
    h_env_t *env = *state;
    h_run_t run;
    h_aduanctl(env, &run, CTL_MS, "--json", "quarantine", NULL);
    expect_code(&run, 0, "--json quarantine");
    json_t *body = stdout_json(&run);
    json_t *items = json_object_get(body, "items");
    assert_int_equal(json_array_size(items), 1);
    json_t *row = json_array_get(items, 0);
    assert_string_equal(str(row, "reason"), QUARANTINE_REASON);
    assert_string_equal(str(row, "dedupe_key"), "imap:1:2");
    assert_string_equal(str(row, "channel"), "email");
    json_decref(body);
    h_run_clear(&run);

    h_aduanctl(env, &run, CTL_MS, "quarantine", NULL);
    expect_code(&run, 0, "quarantine");
    assert_true(h_contains(run.out, QUARANTINE_REASON));
    h_run_clear(&run);
    h_pass(env);
}

static void test_audit_verify(void **state)
{
    h_env_t *env = *state;
    h_run_t run;
    h_aduanctl(env, &run, CTL_MS, "audit", "verify", NULL);
    expect_code(&run, 0, "audit verify");
    h_run_clear(&run);
    h_aduanctl(env, &run, CTL_MS, "--json", "audit", "verify", NULL);
    expect_code(&run, 0, "--json audit verify");
    json_t *body = stdout_json(&run);
    assert_true(json_is_true(json_object_get(body, "intact")));
    json_decref(body);
    h_run_clear(&run);
    /* "audit" alone, or with another word, is a usage error */
    h_aduanctl(env, &run, CTL_MS, "audit", NULL);
    expect_code(&run, 2, "audit");
    h_run_clear(&run);
    h_pass(env);
}

/* ---- help and usage ----------------------------------------------------------------------- */

static void test_help(void **state)
{
    h_env_t *env = *state;
    static const char *const commands[] = {"list",  "show",  "search", "stats",
                                           "quarantine", "audit", "watch", "help"};
    h_run_t run;
    h_aduanctl(env, &run, CTL_MS, "--help", NULL);
    expect_code(&run, 0, "--help");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        assert_true(h_contains(run.out, commands[i]));
    h_run_clear(&run);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        char what[64];
        snprintf(what, sizeof what, "%s --help", commands[i]);
        h_aduanctl(env, &run, CTL_MS, commands[i], "--help", NULL);
        expect_code(&run, 0, what);
        assert_true(h_contains(run.out, commands[i]));
        h_run_clear(&run);
        snprintf(what, sizeof what, "help %s", commands[i]);
        h_aduanctl(env, &run, CTL_MS, "help", commands[i], NULL);
        expect_code(&run, 0, what);
        h_run_clear(&run);
    }
    h_aduanctl(env, &run, CTL_MS, "frobnicate", NULL);
    expect_code(&run, 2, "frobnicate");
    h_run_clear(&run);
    h_aduanctl(env, &run, CTL_MS, "show", NULL);
    expect_code(&run, 2, "show without a ticket");
    h_run_clear(&run);
    h_aduanctl(env, &run, CTL_MS, "list", "--limit", "lots", NULL);
    expect_code(&run, 2, "list --limit lots");
    h_run_clear(&run);
    h_pass(env);
}

/* ---- no daemon ---------------------------------------------------------------------------- */

static void test_daemon_stopped(void **state)
{
    h_env_t *env = *state;
    assert_int_equal(h_daemon_stop(env, H_STOP_MS), 0);
    h_run_t run;
    h_aduanctl(env, &run, CTL_MS, "--timeout", "1500", "list", NULL);
    expect_code(&run, 2, "--timeout 1500 list, no daemon");
    if (run.ms > 1500 + 2000)
        fail_msg("aduanctl gave up after %lld ms, with --timeout 1500", (long long)run.ms);
    assert_true(strlen(run.err) > 0);
    h_run_clear(&run);

    /* without --timeout: its default of 5 s */
    h_aduanctl(env, &run, CTL_MS, "--json", "stats", NULL);
    expect_code(&run, 2, "--json stats, no daemon");
    if (run.ms > 5000 + 2000)
        fail_msg("aduanctl gave up after %lld ms, its default is 5000", (long long)run.ms);
    h_run_clear(&run);

    /* a configuration that cannot be read is a usage error too */
    char bad[200];
    snprintf(bad, sizeof bad, "%s/bad.conf", env->dir);
    assert_int_equal(h_write_file(bad, "[core]\nbatch_max = lots\n"), 0);
    const char *argv[] = {H_ADUANCTL, "-c", bad, "list", NULL};
    char out[200];
    snprintf(out, sizeof out, "%s/bad.out", env->dir);
    pid_t pid = h_spawn((char *const *)argv, out, out);
    assert_int_equal(h_wait_exit(pid, CTL_MS), 2);
    char *text = h_read_file(out);
    char where[240];
    snprintf(where, sizeof where, "%s:2:", bad);
    assert_true(h_contains(text, where));
    free(text);
    h_pass(env);
}

/* ---- watch -------------------------------------------------------------------------------- */

static void test_watch(void **state)
{
    h_env_t *env = *state;
    char out[200], err[200];
    snprintf(out, sizeof out, "%s/watch.out", env->dir);
    snprintf(err, sizeof err, "%s/watch.err", env->dir);
    char *argv[] = {H_ADUANCTL, "-c", env->conf, "--json", "watch", "--count", "1", NULL};
    pid_t pid = h_spawn(argv, out, err);
    assert_true(pid > 0);
    /* watch sees only what is published after it has subscribed: send complaints until
       it has seen one and exited (--count 1), waiting on its pidfd in between */
    h_adapter_t *a = h_adapter_new(env, "box", "lobby");
    int code = -1;
    for (int i = 0; i < 50 && code == -1; i++) {
        char key[32];
        snprintf(key, sizeof key, "box:watch:%d", i);
        aduan_msg_t *m = h_intake_new("box", key, NULL, "Kotak saran", "Toilet kotor.");
        aduan_msg_t *ack = h_adapter_intake(a, &m);
        assert_int_equal(ack->type, ADUAN_MSG_ACK);
        aduan_msg_destroy(&ack);
        code = h_wait_exit(pid, 200);
    }
    h_adapter_destroy(&a);
    if (code == -1) {
        kill(pid, SIGKILL);
        h_wait_exit(pid, H_STOP_MS);
        fail_msg("aduanctl watch --count 1 did not end after 50 new tickets");
    }
    char *text = h_read_file(out);
    char *errs = h_read_file(err);
    if (code != 0)
        fail_msg("watch exited %d: %s", code, errs);
    json_error_t jerr;
    json_t *line = json_loadb(text, strcspn(text, "\n"), 0, &jerr);
    if (!line)
        fail_msg("watch --json printed no JSON line: %.300s", text);
    assert_string_equal(str(line, "topic"), "ticket.new");
    assert_true(h_ticket_valid(str(line, "ticket")));
    json_decref(line);
    free(text);
    free(errs);

    /* --timeout: ends (0) after that long without an event */
    h_run_t run;
    h_aduanctl(env, &run, CTL_MS, "watch", "--timeout", "500", NULL);
    expect_code(&run, 0, "watch --timeout 500");
    h_run_clear(&run);
    h_pass(env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_list_json, setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_show_json, setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_show_unknown_refused, setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_search_prefix, setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_stats_json, setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_quarantine_json, setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_audit_verify, setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_help, setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_daemon_stopped, setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_watch, setup, h_teardown),
    };
    if (getenv("ADUAN_TEST_FILTER"))
        cmocka_set_test_filter(getenv("ADUAN_TEST_FILTER"));
    return cmocka_run_group_tests_name("gateway_aduanctl", tests, NULL, NULL);
}
