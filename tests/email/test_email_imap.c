/*  test_email_imap.c - the email channel inside the real aduan-gatewayd, against the real
    Dovecot of tests/world/mailworld.sh: mail put into the mailbox becomes a ticket and is
    then \Seen in the processed folder; a 20 MiB message; Dovecot restarted in the middle
    of a sync loses and doubles nothing; STARTTLS; what is refused before any login (a
    wrong CA, plaintext to another host, a password file others can read). */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mailbox.h"

#define WAIT_MS 20000      /* a ticket, a filing: generous, met in well under a second */
#define POLL_STEP_MS 50    /* between two looks at the registry or the mailbox */
#define PROCESSED "Aduan.Terdaftar" /* "Aduan/Terdaftar" in Dovecot's Maildir++ hierarchy */

typedef struct {
    h_env_t *env;
    mailbox_t mb;
} fixture_t;

static void step(void)
{
    usleep(POLL_STEP_MS * 1000);
}

/* The [email] section for mb; extra lines add keys (processed_folder, ...). */
static char *email_conf(const mailbox_t *mb, const char *host, const char *tls, int port,
                        const char *ca, const char *extra)
{
    char *conf = NULL;
    if (asprintf(&conf,
                 "[email]\nenabled = yes\naccount = %s\naddress = kantor@test.local\n"
                 "imap_host = %s\nimap_port = %d\nimap_tls = %s\nimap_user = %s\n"
                 "imap_password_file = %s\nca_file = %s\npoll = 5s\nfetch_batch = 10\n"
                 "smtp_host = 127.0.0.1\nsmtp_port = 10025\nsmtp_tls = none\n%s",
                 mb->local, host, port, tls, mb->user, mb->password_file, ca, extra ? extra : "") < 0)
        return NULL;
    return conf;
}

static fixture_t *start_at(const char *tag, const char *host, const char *tls, int port,
                           bool wrong_ca, const char *extra, int64_t bus_max)
{
    fixture_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    assert_int_equal(mailbox_setup(&f->mb, tag), 0);
    char *conf =
        email_conf(&f->mb, host, tls, port, wrong_ca ? f->mb.wrong_ca : f->mb.ca, extra);
    h_options_t o = {.extra_conf = conf, .max_message_bytes = bus_max, .log_level = "info"};
    f->env = h_env_new(&o);
    free(conf);
    return f;
}

static fixture_t *start(const char *tag, const char *tls, int port, bool wrong_ca,
                        const char *extra, int64_t bus_max)
{
    return start_at(tag, "127.0.0.1", tls, port, wrong_ca, extra, bus_max);
}

static void finish(fixture_t **f_p)
{
    fixture_t *f = *f_p;
    if (f->env->pid)
        assert_int_equal(h_daemon_stop(f->env, H_STOP_MS), 0);
    h_env_destroy(&f->env);
    free(f);
    *f_p = NULL;
}

static json_int_t stat_int(const h_env_t *env, const char *key)
{
    json_t *stats = h_control_ok(env, "stats", NULL);
    json_int_t v = json_integer_value(json_object_get(stats, key));
    json_decref(stats);
    return v;
}

/* Waits until the registry holds n complaints; fails the test after WAIT_MS. */
static void wait_complaints(const h_env_t *env, json_int_t n)
{
    int64_t until = h_now_ms() + WAIT_MS;
    json_int_t have = 0;
    while ((have = stat_int(env, "complaints")) < n && h_now_ms() < until)
        step();
    if (have != n)
        fail_msg("%lld complaints in the registry, expected %lld", (long long)have, (long long)n);
}

/* Waits until folder holds n messages with the flag (NULL: any). */
static void wait_folder(const mailbox_t *mb, const char *folder, const char *flag, int n)
{
    int64_t until = h_now_ms() + WAIT_MS;
    int have;
    while ((have = mailbox_count(mb, NULL, folder, flag)) != n && h_now_ms() < until)
        step();
    if (have != n)
        fail_msg("%d messages%s%s in %s, expected %d", have, flag ? " with " : "",
                 flag ? flag : "", folder, n);
}

static void wait_log(const h_env_t *env, const char *needle)
{
    int64_t until = h_now_ms() + WAIT_MS;
    for (;;) {
        char *log = h_read_file(env->log);
        bool found = strstr(log, needle) != NULL;
        free(log);
        if (found)
            return;
        if (h_now_ms() >= until)
            fail_msg("no \"%s\" in the daemon's log", needle);
        step();
    }
}

/* The newest ticket of the email channel (its number), from list. */
static void newest_ticket(const h_env_t *env, char ticket[40])
{
    json_t *args = json_pack("{s:s, s:i}", "channel", "email", "limit", 1);
    json_t *list = h_control_ok(env, "list", args);
    json_decref(args);
    json_t *first = json_array_get(json_object_get(list, "items"), 0);
    assert_non_null(first);
    snprintf(ticket, 40, "%s", json_string_value(json_object_get(first, "ticket")));
    json_decref(list);
}

/* ---- a message becomes a ticket ----------------------------------------------------------- */

static void test_message_becomes_ticket(void **state)
{
    (void)state;
    fixture_t *f = start("in", "implicit", 10993, false, NULL, 0);
    const char *raw = "From: =?UTF-8?Q?Siti_Aminah_=E2=9C=93?= <siti.aminah@example.org>\r\n"
                      "To: kantor@test.local\r\n"
                      "Subject: Izin usaha belum terbit\r\n"
                      "Date: Mon, 27 Nov 2023 10:00:00 +0700\r\n"
                      "Message-ID: <imap-1@example.org>\r\n"
                      "Content-Type: text/plain; charset=ISO-8859-1\r\n"
                      "\r\n"
                      "Berkas saya belum diproses sejak tiga minggu. Caf\xE9.\r\n";
    assert_int_equal(mailbox_put(&f->mb, NULL, NULL, raw, strlen(raw)), 0);
    assert_int_equal(h_daemon_start(f->env), 0);
    wait_complaints(f->env, 1);
    char ticket[40];
    newest_ticket(f->env, ticket);
    json_t *show = h_show(f->env, ticket);
    assert_string_equal(json_string_value(json_object_get(show, "channel")), "email");
    assert_string_equal(json_string_value(json_object_get(show, "subject")),
                        "Izin usaha belum terbit");
    char *dump = json_dumps(show, 0);
    assert_true(h_contains(dump, "siti.aminah@example.org"));
    assert_true(h_contains(dump, "Caf\xC3\xA9"));
    assert_true(h_contains(dump, "Siti Aminah \xE2\x9C\x93"));
    free(dump);
    json_decref(show);
    /* after the ACK: read and filed, nothing left in the inbox */
    wait_folder(&f->mb, PROCESSED, "\\Seen", 1);
    assert_int_equal(mailbox_count(&f->mb, NULL, "INBOX", NULL), 0);

    /* one more while the session waits in IDLE: woken, not polled */
    int64_t t0 = h_now_ms();
    const char *second = "From: budi@example.org\r\nSubject: Lampu jalan mati\r\n"
                         "Message-ID: <imap-2@example.org>\r\n\r\nSudah seminggu.\r\n";
    assert_int_equal(mailbox_put(&f->mb, NULL, NULL, second, strlen(second)), 0);
    wait_complaints(f->env, 2);
    assert_true(h_now_ms() - t0 < 4000); /* poll is 5 s: IDLE brought it */
    wait_folder(&f->mb, PROCESSED, "\\Seen", 2);
    h_pass(f->env);
    finish(&f);
}

static void test_starttls(void **state)
{
    (void)state;
    fixture_t *f = start("tls", "starttls", 10143, false, "processed_folder = Selesai\n", 0);
    const char *raw = "From: a@example.org\r\nSubject: lewat STARTTLS\r\n\r\nisi\r\n";
    assert_int_equal(mailbox_put(&f->mb, NULL, NULL, raw, strlen(raw)), 0);
    assert_int_equal(h_daemon_start(f->env), 0);
    wait_complaints(f->env, 1);
    wait_folder(&f->mb, "Selesai", "\\Seen", 1);
    h_pass(f->env);
    finish(&f);
}

/* ---- size and restarts -------------------------------------------------------------------- */

static void test_twenty_mib(void **state)
{
    (void)state;
    fixture_t *f = start("big", "implicit", 10993, false, NULL, 64 << 20);
    /* 15 MiB of attachment, base64: about 20 MiB on the wire */
    size_t data_len = 15u << 20, b64_len = (data_len + 2) / 3 * 4;
    size_t cap = b64_len + b64_len / 76 * 2 + 4096;
    char *raw = malloc(cap);
    assert_non_null(raw);
    size_t n = (size_t)snprintf(raw, cap,
                                "From: Warga <warga.besar@example.org>\r\n"
                                "Subject: Foto jalan rusak (besar)\r\n"
                                "MIME-Version: 1.0\r\n"
                                "Content-Type: multipart/mixed; boundary=\"BIG\"\r\n\r\n"
                                "--BIG\r\nContent-Type: text/plain\r\n\r\nFoto terlampir.\r\n"
                                "--BIG\r\nContent-Type: image/jpeg\r\n"
                                "Content-Disposition: attachment; filename=\"jalan.jpg\"\r\n"
                                "Content-Transfer-Encoding: base64\r\n\r\n");
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    unsigned seed = 42;
    for (size_t i = 0; i < b64_len; i++) {
        seed = seed * 1103515245u + 12345u;
        raw[n++] = alphabet[(seed >> 16) & 63];
        if (i % 76 == 75) {
            raw[n++] = '\r';
            raw[n++] = '\n';
        }
    }
    n += (size_t)snprintf(raw + n, cap - n, "\r\n--BIG--\r\n");
    assert_true(n > 20u << 20);
    assert_int_equal(mailbox_put(&f->mb, NULL, NULL, raw, n), 0);
    free(raw);
    assert_int_equal(h_daemon_start(f->env), 0);
    wait_complaints(f->env, 1);
    char ticket[40];
    newest_ticket(f->env, ticket);
    json_t *show = h_show(f->env, ticket);
    char *dump = json_dumps(show, 0);
    assert_true(h_contains(dump, "jalan.jpg"));
    assert_true(h_contains(dump, "Foto terlampir."));
    free(dump);
    json_decref(show);
    wait_folder(&f->mb, PROCESSED, "\\Seen", 1);
    h_pass(f->env);
    finish(&f);
}

static size_t numbered_message(int i, char *buf, size_t buflen)
{
    int n = snprintf(buf, buflen,
                     "From: Warga %d <warga%d@example.org>\r\nSubject: Pengaduan nomor %d\r\n"
                     "Message-ID: <restart-%d@example.org>\r\n\r\n",
                     i, i, i, i);
    /* some weight, so that the sync takes a while */
    for (int line = 0; line < 400 && (size_t)n + 100 < buflen; line++)
        n += snprintf(buf + n, buflen - (size_t)n,
                      "Jalan di depan rumah saya rusak parah sejak bulan lalu, baris %d.\r\n",
                      line);
    return (size_t)n;
}

static void test_dovecot_restart_mid_sync(void **state)
{
    (void)state;
    enum { N = 300 };
    fixture_t *f = start("restart", "implicit", 10993, false, NULL, 0);
    assert_int_equal(mailbox_put_many(&f->mb, N, numbered_message), 0);
    assert_int_equal(h_daemon_start(f->env), 0);
    /* the first tickets are there: the sync is under way */
    int64_t until = h_now_ms() + WAIT_MS;
    while (stat_int(f->env, "complaints") < 5 && h_now_ms() < until)
        ;
    json_int_t before = stat_int(f->env, "complaints");
    assert_int_equal(mailbox_world("restart-dovecot"), 0);
    /* the seed message and the N: each once */
    wait_complaints(f->env, N + 1);
    wait_folder(&f->mb, PROCESSED, "\\Seen", N + 1);
    assert_int_equal(mailbox_count(&f->mb, NULL, "INBOX", NULL), 0);
    assert_int_equal(stat_int(f->env, "complaints"), N + 1);
    print_message("restarted Dovecot after %lld of %d tickets\n", (long long)before, N + 1);
    h_pass(f->env);
    finish(&f);
}

/* ---- refused before any login ------------------------------------------------------------- */

static void test_wrong_ca_refused(void **state)
{
    (void)state;
    fixture_t *f = start("ca", "implicit", 10993, true, NULL, 0);
    const char *raw = "From: a@example.org\r\nSubject: jangan dibaca\r\n\r\nisi\r\n";
    assert_int_equal(mailbox_put(&f->mb, NULL, NULL, raw, strlen(raw)), 0);
    assert_int_equal(h_daemon_start(f->env), 0);
    wait_log(f->env, "certificate verify failed");
    assert_int_equal(stat_int(f->env, "complaints"), 0);
    assert_int_equal(mailbox_count(&f->mb, NULL, "INBOX", "\\Seen"), 0);
    assert_int_equal(mailbox_count(&f->mb, NULL, "INBOX", NULL), 1);
    h_pass(f->env);
    finish(&f);
}

static void test_starttls_wrong_ca_refused(void **state)
{
    (void)state;
    fixture_t *f = start("ca2", "starttls", 10143, true, NULL, 0);
    assert_int_equal(h_daemon_start(f->env), 0);
    wait_log(f->env, "certificate verify failed");
    h_pass(f->env);
    finish(&f);
}

static void test_plaintext_elsewhere_refused(void **state)
{
    (void)state;
    /* 192.0.2.1 is TEST-NET-1: never reached, the refusal comes first */
    fixture_t *f = start_at("plain", "192.0.2.1", "none", 10143, false, NULL, 0);
    assert_int_equal(h_daemon_start(f->env), 0);
    wait_log(f->env, "imap_tls = none is allowed for a loopback address only");
    h_pass(f->env);
    finish(&f);
}

static void test_password_file_mode(void **state)
{
    (void)state;
    fixture_t *f = start("mode", "implicit", 10993, false, NULL, 0);
    /* a copy of the password readable by everyone */
    char path[200];
    snprintf(path, sizeof path, "%s/password", f->env->dir);
    assert_int_equal(h_write_file(path, "password\n"), 0);
    assert_int_equal(chmod(path, 0644), 0);
    /* the configuration names it instead of the world's */
    char *conf = h_read_file(f->env->conf);
    char *at = strstr(conf, f->mb.password_file);
    assert_non_null(at);
    FILE *w = fopen(f->env->conf, "w");
    fprintf(w, "%.*s%s%s", (int)(at - conf), conf, path, at + strlen(f->mb.password_file));
    fclose(w);
    free(conf);
    assert_int_equal(h_daemon_start(f->env), 0);
    wait_log(f->env, "must be a file of mode 0600 or tighter");
    h_pass(f->env);
    finish(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_message_becomes_ticket),
        cmocka_unit_test(test_starttls),
        cmocka_unit_test(test_twenty_mib),
        cmocka_unit_test(test_dovecot_restart_mid_sync),
        cmocka_unit_test(test_wrong_ca_refused),
        cmocka_unit_test(test_starttls_wrong_ca_refused),
        cmocka_unit_test(test_plaintext_elsewhere_refused),
        cmocka_unit_test(test_password_file_mode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
