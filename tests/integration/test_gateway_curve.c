/*  gateway_curve: the bus between hosts. The real daemon binds its intake on tcp:// with
    CURVE; key pairs are made with `aduanctl keygen`; an adapter whose public key is in the
    allow-list folder gets its tickets, one with another key or without CURVE gets nothing
    and is named in the log with its address; tcp:// without a certificate is refused at
    start. */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct {
    h_env_t *env;
    char keys[128], allowed[128];
} fixture_t;

static void keygen(h_env_t *env, const char *dir, const char *name)
{
    h_run_t run = {0};
    int code = h_aduanctl(env, &run, 5000, "keygen", name, "--output", dir, NULL);
    if (code != 0)
        print_message("aduanctl keygen: %s%s\n", run.out, run.err);
    assert_int_equal(code, 0);
    h_run_clear(&run);
}

static void copy_file(const char *from, const char *to)
{
    char *text = h_read_file(from);
    assert_non_null(text);
    assert_int_equal(h_write_file(to, text), 0);
    free(text);
}

/*  Puts the intake on tcp:// with CURVE: the [bus] intake line of the harness's
    configuration is replaced, the keys added after it. */
static void intake_on_tcp(h_env_t *env, const char *curve_lines)
{
    zsock_t *probe = zsock_new(ZMQ_PULL);
    int port = zsock_bind(probe, "tcp://127.0.0.1:*");
    assert_true(port > 0);
    zsock_destroy(&probe);
    char *conf = h_read_file(env->conf);
    assert_non_null(conf);
    char old[200], fresh[1024];
    snprintf(old, sizeof old, "intake = %s\n", env->intake);
    snprintf(env->intake, sizeof env->intake, "tcp://127.0.0.1:%d", port);
    snprintf(fresh, sizeof fresh, "intake = %s\n%s", env->intake, curve_lines);
    char *at = strstr(conf, old);
    assert_non_null(at);
    size_t n = strlen(conf) - strlen(old) + strlen(fresh) + 1;
    char *out = malloc(n);
    snprintf(out, n, "%.*s%s%s", (int)(at - conf), conf, fresh, at + strlen(old));
    assert_int_equal(h_write_file(env->conf, out), 0);
    free(out);
    free(conf);
}

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    f->env = h_env_new(NULL);
    snprintf(f->keys, sizeof f->keys, "%s/keys", f->env->dir);
    snprintf(f->allowed, sizeof f->allowed, "%s/allowed", f->env->dir);
    mkdir(f->keys, 0700);
    mkdir(f->allowed, 0750);
    keygen(f->env, f->keys, "core");
    keygen(f->env, f->keys, "loket");
    keygen(f->env, f->keys, "stranger");
    char from[256], to[256], lines[600];
    snprintf(from, sizeof from, "%s/loket.key", f->keys);
    snprintf(to, sizeof to, "%s/loket.key", f->allowed);
    copy_file(from, to);
    snprintf(lines, sizeof lines, "curve_cert = %s/core.key_secret\ncurve_allow_dir = %s\n",
             f->keys, f->allowed);
    intake_on_tcp(f->env, lines);
    snprintf(f->env->curve_server_cert, sizeof f->env->curve_server_cert, "%s/core.key",
             f->keys);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    h_env_destroy(&f->env);
    free(f);
    return 0;
}

/* The log holds a line with every one of the words, within timeout_ms. */
static bool log_shows(const h_env_t *env, const char *const words[], int timeout_ms)
{
    int64_t deadline = h_now_ms() + timeout_ms;
    do {
        char *log = h_read_file(env->log);
        for (char *line = log ? strtok(log, "\n") : NULL; line; line = strtok(NULL, "\n")) {
            bool all = true;
            for (size_t i = 0; words[i] && all; i++)
                all = strstr(line, words[i]) != NULL;
            if (all) {
                free(log);
                return true;
            }
        }
        free(log);
        zclock_sleep(50);
    } while (h_now_ms() < deadline);
    return false;
}

/* A DEALER that says HELLO over tcp:// with CERT (NULL: without CURVE); true if answered. */
static bool answered(const h_env_t *env, const char *cert_path)
{
    zsock_t *sock = zsock_new(ZMQ_DEALER);
    zsock_set_linger(sock, 0);
    if (cert_path) {
        zcert_t *own = zcert_load(cert_path), *core = zcert_load(env->curve_server_cert);
        assert_non_null(own);
        assert_non_null(core);
        zcert_apply(own, sock);
        zsock_set_curve_serverkey(sock, zcert_public_txt(core));
        zcert_destroy(&own);
        zcert_destroy(&core);
    }
    assert_int_equal(zsock_connect(sock, "%s", env->intake), 0);
    aduan_msg_t *hello = aduan_msg_new(ADUAN_MSG_HELLO);
    aduan_msg_set(&hello->hello.channel, "sms");
    aduan_msg_set(&hello->hello.account, "intruder");
    aduan_msg_set(&hello->hello.capabilities, "test");
    aduan_msg_set(&hello->hello.software, "aduan-integration-tests");
    zsock_set_sndtimeo(sock, 0);
    aduan_msg_send(hello, sock, NULL); /* queued until a handshake that never succeeds */
    aduan_msg_destroy(&hello);
    zpoller_t *poller = zpoller_new(sock, NULL);
    bool got = zpoller_wait(poller, 1500) == sock;
    zpoller_destroy(&poller);
    zsock_destroy(&sock);
    return got;
}

static void test_allowed_key_gets_its_ticket(void **state)
{
    fixture_t *f = *state;
    assert_int_equal(h_daemon_start(f->env), 0);
    snprintf(f->env->curve_cert, sizeof f->env->curve_cert, "%s/loket.key_secret", f->keys);
    h_adapter_t *a = h_adapter_new(f->env, "sms", NULL);
    aduan_msg_t *in = h_intake_new("sms", "curve-1", "+6281234567001", NULL,
                                   "Lampu jalan mati sejak seminggu");
    aduan_msg_t *ack = h_adapter_intake(a, &in);
    assert_non_null(ack);
    assert_int_equal(ack->type, ADUAN_MSG_ACK);
    assert_true(h_ticket_valid(ack->ack.ticket));
    json_t *shown = h_show(f->env, ack->ack.ticket);
    assert_non_null(shown);
    json_decref(shown);
    aduan_msg_destroy(&ack);
    h_adapter_destroy(&a);
    h_pass(f->env);
}

static void test_other_key_and_no_curve_refused_and_logged(void **state)
{
    fixture_t *f = *state;
    assert_int_equal(h_daemon_start(f->env), 0);
    char stranger[256];
    snprintf(stranger, sizeof stranger, "%s/stranger.key_secret", f->keys);
    assert_false(answered(f->env, stranger));
    zcert_t *cert = zcert_load(stranger);
    const char *refused_key[] = {"refused a peer from 127.0.0.1", zcert_public_txt(cert),
                                 "not in", NULL};
    assert_true(log_shows(f->env, refused_key, 5000));
    zcert_destroy(&cert);

    assert_false(answered(f->env, NULL));
    const char *refused_plain[] = {"refused a peer from 127.0.0.1", "not CURVE", NULL};
    assert_true(log_shows(f->env, refused_plain, 5000));

    /* the daemon goes on: the allowed adapter still gets its ticket */
    snprintf(f->env->curve_cert, sizeof f->env->curve_cert, "%s/loket.key_secret", f->keys);
    h_adapter_t *a = h_adapter_new(f->env, "sms", NULL);
    aduan_msg_t *in = h_intake_new("sms", "curve-2", "+6281234567002", NULL, "Air PDAM keruh");
    aduan_msg_t *ack = h_adapter_intake(a, &in);
    assert_non_null(ack);
    assert_int_equal(ack->type, ADUAN_MSG_ACK);
    aduan_msg_destroy(&ack);
    h_adapter_destroy(&a);
    h_pass(f->env);
}

static void test_tcp_without_certificate_refused_at_start(void **state)
{
    (void)state;
    h_env_t *env = h_env_new(NULL);
    intake_on_tcp(env, "");
    assert_int_not_equal(h_daemon_start(env), 0);
    const char *why[] = {"tcp:// endpoints need CURVE", NULL};
    assert_true(log_shows(env, why, 2000));
    h_pass(env);
    h_env_destroy(&env);
}

static void test_keygen_never_overwrites(void **state)
{
    fixture_t *f = *state;
    char path[256];
    snprintf(path, sizeof path, "%s/core.key_secret", f->keys);
    char *before = h_read_file(path);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 077, 0); /* the secret is the owner's alone */
    h_run_t run = {0};
    assert_int_equal(h_aduanctl(f->env, &run, 5000, "keygen", "core", "--output", f->keys, NULL),
                     1);
    assert_true(h_contains(run.err, "never overwritten"));
    h_run_clear(&run);
    char *after = h_read_file(path);
    assert_string_equal(before, after);
    free(before);
    free(after);
    h_pass(f->env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_allowed_key_gets_its_ticket, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_key_and_no_curve_refused_and_logged, setup,
                                        teardown),
        cmocka_unit_test(test_tcp_without_certificate_refused_at_start),
        cmocka_unit_test_setup_teardown(test_keygen_never_overwrites, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
