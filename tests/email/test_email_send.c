/*  test_email_send.c - the email channel's sending half (channels/email/smtp.c and
    message.c) against the mail world's Postfix (tests/world/mailworld.sh): the reply in
    the citizen's mailbox as their mail client shows it, the status the core is told for
    each DELIVER, TLS with the right and a wrong CA, AUTH, the server down and back.

    One program, three ctests (the argument picks the group):
        email_send_relay      loopback relay without TLS: sent / permanent / refused
        email_send_tls        submission: STARTTLS verified, AUTH, what is refused
        email_send_smtp_down  the spare Postfix stopped, then started: delivered once
    Every message has a Message-ID of its own, so tests running side by side (and runs
    before) never see each other's mail. */
#include "mailworld.h"
#include "smtp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "aduan/log.h"

#define OUTBOX "outbox@test.local" /* where the world puts mail for outside test.local */
#define WAIT_MS 15000

static mailworld_t world;

/* ---- helpers ------------------------------------------------------------------------------ */

static void set(char **field, const char *value)
{
    free(*field);
    *field = strdup(value);
    assert_non_null(*field);
}

/* The configuration of a gateway sending as kantor@test.local. */
static aduan_config_t *config_new(int port, const char *tls)
{
    aduan_config_t *c = aduan_config_defaults();
    assert_non_null(c);
    set(&c->email.address, "kantor@test.local");
    set(&c->email.display_name, "Layanan Pengaduan DPMPTSP");
    set(&c->email.smtp_host, "127.0.0.1");
    set(&c->email.smtp_tls, tls);
    c->email.smtp_port = port;
    c->email.smtp_timeout_s = 20;
    return c;
}

static void use_auth(aduan_config_t *c, const char *ca_file, const char *password_file)
{
    set(&c->email.ca_file, ca_file);
    set(&c->email.smtp_user, "kantor@test.local");
    set(&c->email.smtp_password_file, password_file);
}

/* A Message-ID no other test or run uses: ADU-2026-00042.ack.<tag>.<pid>.<ns>@aduan */
static void unique_id(const char *tag, char *out, size_t outlen)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(out, outlen, "ADU-2026-00042.ack.%s.%d.%lld%09ld@aduan", tag, (int)getpid(),
             (long long)ts.tv_sec, ts.tv_nsec);
}

static aduan_msg_t *deliver_new(uint64_t outbox_id, const char *to_addr, const char *tag)
{
    aduan_msg_t *d = aduan_msg_new(ADUAN_MSG_DELIVER);
    assert_non_null(d);
    char id[160];
    unique_id(tag, id, sizeof id);
    d->deliver.outbox_id = outbox_id;
    assert_int_equal(aduan_msg_set(&d->deliver.channel, "email"), 0);
    assert_int_equal(aduan_msg_set(&d->deliver.kind, "ack"), 0);
    assert_int_equal(aduan_msg_set(&d->deliver.ticket, "ADU-2026-00042"), 0);
    assert_int_equal(aduan_msg_set(&d->deliver.to_addr, to_addr), 0);
    assert_int_equal(aduan_msg_set(&d->deliver.to_name, "Siti Aminah"), 0);
    assert_int_equal(aduan_msg_set(&d->deliver.subject, "Pengaduan Anda telah kami terima"), 0);
    assert_int_equal(aduan_msg_set(&d->deliver.text,
                                   "Yth. Ibu Siti Aminah,\n\nPengaduan Anda tercatat dengan "
                                   "nomor ADU-2026-00042. Terima kasih.\n"),
                     0);
    assert_int_equal(aduan_msg_set(&d->deliver.message_id, id), 0);
    assert_int_equal(aduan_msg_set(&d->deliver.in_reply_to, "CAF00d.1@mail.example.org"), 0);
    d->deliver.automatic = true;
    d->deliver.attempt = 1;
    return d;
}

typedef struct {
    uint64_t outbox_id;
    char status[16];
    char provider_id[64];
    char detail[512];
} result_t;

typedef struct {
    result_t r[8];
    size_t count;
} results_t;

static void on_report(void *arg, uint64_t outbox_id, const char *status,
                      const char *provider_id, const char *detail)
{
    results_t *rs = arg;
    assert_true(rs->count < 8);
    result_t *r = &rs->r[rs->count++];
    r->outbox_id = outbox_id;
    snprintf(r->status, sizeof r->status, "%s", status);
    snprintf(r->provider_id, sizeof r->provider_id, "%s", provider_id ? provider_id : "");
    snprintf(r->detail, sizeof r->detail, "%s", detail ? detail : "");
}

static const result_t *result_of(const results_t *rs, uint64_t outbox_id)
{
    const result_t *found = NULL;
    for (size_t i = 0; i < rs->count; i++)
        if (rs->r[i].outbox_id == outbox_id) {
            assert_null(found); /* each DELIVER is reported exactly once */
            found = &rs->r[i];
        }
    if (!found)
        fail_msg("outbox %llu was not reported", (unsigned long long)outbox_id);
    return found;
}

/* Sends the DELIVERs in one session; every one is reported before it returns. */
static void send_all(const aduan_config_t *c, aduan_msg_t **d, size_t n, results_t *rs)
{
    char reason[256] = "";
    email_smtp_t *smtp = email_smtp_new(c, reason, sizeof reason);
    if (!smtp)
        fail_msg("email_smtp_new: %s", reason);
    memset(rs, 0, sizeof *rs);
    email_smtp_send(smtp, (const aduan_msg_t *const *)d, n, on_report, rs);
    email_smtp_destroy(&smtp);
    assert_null(smtp);
    assert_int_equal(rs->count, n);
}

static bool has_line(const char *text, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = text; (p = strstr(p, line)); p += n)
        if ((p == text || p[-1] == '\n') && (p[n] == '\n' || p[n] == '\r' || !p[n]))
            return true;
    return false;
}

static void assert_has_line(const char *text, const char *line)
{
    if (!has_line(text, line))
        fail_msg("no line \"%s\" in:\n%s", line, text);
}

/* The reply as it landed, waited for; caller frees. */
static char *arrived(const aduan_msg_t *d)
{
    char *text = mailworld_wait(&world, OUTBOX, d->deliver.message_id, WAIT_MS);
    if (!text)
        fail_msg("%s did not arrive in " OUTBOX, d->deliver.message_id);
    return text;
}

static void destroy_all(aduan_msg_t **d, size_t n)
{
    for (size_t i = 0; i < n; i++)
        aduan_msg_destroy(&d[i]);
}

static int world_up(void **state)
{
    (void)state;
    if (mailworld_up(&world) != 0) {
        fprintf(stderr, "mail world not up (mailworld.sh needs root and the packages)\n");
        return -1;
    }
    return 0;
}

/* ---- email_send_relay --------------------------------------------------------------------- */

/* One session, four DELIVERs: two replies go out (each with the server's queue id), an
   unknown local user is a permanent failure with the server's words, a to_addr that is
   two addresses is refused before any SMTP. */
static void test_one_session_four_outcomes(void **state)
{
    (void)state;
    aduan_config_t *c = config_new(world.smtp_port, "none");
    char to1[96], to2[96];
    snprintf(to1, sizeof to1, "warga.%d@example.org", (int)getpid());
    snprintf(to2, sizeof to2, "budi.%d@example.net", (int)getpid());
    aduan_msg_t *d[4] = {
        deliver_new(101, to1, "relay1"),
        deliver_new(102, "nosuch-user@test.local", "relay2"),
        deliver_new(103, "siti@example.org, evil@example.net", "relay3"),
        deliver_new(104, to2, "relay4"),
    };
    assert_int_equal(aduan_msg_set(&d[3]->deliver.to_name, "Budi Ñoñí"), 0);
    d[3]->deliver.automatic = false;
    results_t rs;
    send_all(c, d, 4, &rs);

    const result_t *r1 = result_of(&rs, 101), *r2 = result_of(&rs, 102);
    const result_t *r3 = result_of(&rs, 103), *r4 = result_of(&rs, 104);
    assert_string_equal(r1->status, "sent");
    assert_string_equal(r4->status, "sent");
    assert_true(strlen(r1->provider_id) >= 6);
    assert_string_not_equal(r1->provider_id, r4->provider_id);
    assert_string_equal(r2->status, "permanent");
    assert_non_null(strstr(r2->detail, "550"));
    assert_non_null(strstr(r2->detail, "User unknown"));
    assert_string_equal(r3->status, "permanent");
    assert_non_null(strstr(r3->detail, "to_addr"));

    /* what the citizen's client shows */
    char *text = arrived(d[0]);
    char line[256];
    snprintf(line, sizeof line, "Delivered-To: outbox+warga.%d=example.org@test.local",
             (int)getpid());
    assert_has_line(text, line);
    assert_has_line(text, "From: \"Layanan Pengaduan DPMPTSP\" <kantor@test.local>");
    snprintf(line, sizeof line, "To: \"Siti Aminah\" <%s>", to1);
    assert_has_line(text, line);
    assert_has_line(text, "Subject: [ADU-2026-00042] Pengaduan Anda telah kami terima");
    snprintf(line, sizeof line, "Message-ID: <%s>", d[0]->deliver.message_id);
    assert_has_line(text, line);
    assert_has_line(text, "In-Reply-To: <CAF00d.1@mail.example.org>");
    assert_has_line(text, "Auto-Submitted: auto-replied");
    assert_has_line(text, "Content-Transfer-Encoding: quoted-printable");
    assert_non_null(strstr(text, "Pengaduan Anda tercatat dengan nomor ADU-2026-00042"));
    /* the provider id is the queue id Postfix put in its Received line */
    snprintf(line, sizeof line, "with ESMTP id %s", r1->provider_id);
    assert_non_null(strstr(text, line));
    free(text);

    text = arrived(d[3]);
    assert_null(strstr(text, "Auto-Submitted"));
    snprintf(line, sizeof line, "To: =?UTF-8?B?QnVkaSDDkW/DscOt?= <%s>", to2);
    assert_has_line(text, line);
    free(text);
    /* exactly once each */
    assert_int_equal(mailworld_count(&world, OUTBOX, d[0]->deliver.message_id), 1);
    assert_int_equal(mailworld_count(&world, OUTBOX, d[3]->deliver.message_id), 1);
    destroy_all(d, 4);
    aduan_config_destroy(&c);
}

/* A mail with an attachment goes out whole. */
static void test_attachment_arrives(void **state)
{
    (void)state;
    aduan_config_t *c = config_new(world.smtp_port, "none");
    aduan_msg_t *d[1] = {deliver_new(201, "warga@example.org", "attach")};
    assert_int_equal(aduan_msg_attach(d[0], "berita-acara.txt", "text/plain",
                                      "Berita acara rapat", 18),
                     0);
    results_t rs;
    send_all(c, d, 1, &rs);
    assert_string_equal(result_of(&rs, 201)->status, "sent");
    char *text = arrived(d[0]);
    assert_non_null(strstr(text, "multipart/mixed"));
    assert_non_null(strstr(text, "filename=\"berita-acara.txt\""));
    assert_non_null(strstr(text, "QmVyaXRhIGFjYXJhIHJhcGF0")); /* "Berita acara rapat" */
    free(text);
    destroy_all(d, 1);
    aduan_config_destroy(&c);
}

/* ---- email_send_tls ----------------------------------------------------------------------- */

static void test_submission_with_starttls_and_auth(void **state)
{
    (void)state;
    aduan_config_t *c = config_new(world.submission_port, "starttls");
    use_auth(c, world.ca, world.password_file);
    aduan_msg_t *d[1] = {deliver_new(301, "warga@example.org", "tls")};
    results_t rs;
    send_all(c, d, 1, &rs);
    const result_t *r = result_of(&rs, 301);
    if (strcmp(r->status, "sent") != 0)
        fail_msg("%s: %s", r->status, r->detail);
    assert_true(r->provider_id[0]);
    char *text = arrived(d[0]);
    /* Postfix names TLS and AUTH in its Received line */
    assert_non_null(strstr(text, "with ESMTPSA id"));
    free(text);
    /* the same by host name: the certificate names localhost as well */
    set(&c->email.smtp_host, "localhost");
    aduan_msg_destroy(&d[0]);
    d[0] = deliver_new(302, "warga@example.org", "tlsname");
    send_all(c, d, 1, &rs);
    r = result_of(&rs, 302);
    if (strcmp(r->status, "sent") != 0)
        fail_msg("by name: %s: %s", r->status, r->detail);
    free(arrived(d[0]));
    destroy_all(d, 1);
    aduan_config_destroy(&c);
}

static void test_wrong_ca_is_refused(void **state)
{
    (void)state;
    aduan_config_t *c = config_new(world.submission_port, "starttls");
    use_auth(c, world.wrong_ca, world.password_file);
    aduan_msg_t *d[2] = {deliver_new(311, "warga@example.org", "wrongca1"),
                         deliver_new(312, "warga2@example.org", "wrongca2")};
    results_t rs;
    send_all(c, d, 2, &rs);
    for (uint64_t id = 311; id <= 312; id++) {
        const result_t *r = result_of(&rs, id);
        assert_string_equal(r->status, "temporary");
        if (!strstr(r->detail, "certificate"))
            fail_msg("detail does not name the certificate: %s", r->detail);
    }
    /* refused before MAIL FROM: nothing can have gone out */
    assert_int_equal(mailworld_count(&world, OUTBOX, d[0]->deliver.message_id), 0);
    destroy_all(d, 2);
    aduan_config_destroy(&c);
}

static void test_wrong_password_is_temporary(void **state)
{
    (void)state;
    char path[] = "/tmp/aduan-email-send-pw-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "wrong\n", 6), 6);
    close(fd);
    aduan_config_t *c = config_new(world.submission_port, "starttls");
    use_auth(c, world.ca, path);
    aduan_msg_t *d[1] = {deliver_new(321, "warga@example.org", "wrongpw")};
    results_t rs;
    send_all(c, d, 1, &rs);
    unlink(path);
    const result_t *r = result_of(&rs, 321);
    /* a wrong password is the office's to fix: the core keeps retrying, not failing */
    if (strcmp(r->status, "temporary") != 0)
        fail_msg("%s: %s", r->status, r->detail);
    assert_int_equal(mailworld_count(&world, OUTBOX, d[0]->deliver.message_id), 0);
    destroy_all(d, 1);
    aduan_config_destroy(&c);
}

static void test_unsafe_configurations_are_refused(void **state)
{
    (void)state;
    char reason[256];
    aduan_config_t *c = config_new(world.submission_port, "implicit");
    assert_null(email_smtp_new(c, reason, sizeof reason));
    assert_non_null(strstr(reason, "implicit"));

    set(&c->email.smtp_tls, "none");
    set(&c->email.smtp_host, "192.0.2.10");
    assert_null(email_smtp_new(c, reason, sizeof reason));
    assert_non_null(strstr(reason, "loopback"));

    /* a password file others can read */
    char path[] = "/tmp/aduan-email-send-pw-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "password\n", 9), 9);
    close(fd);
    assert_int_equal(chmod(path, 0644), 0);
    set(&c->email.smtp_host, "127.0.0.1");
    set(&c->email.smtp_tls, "starttls");
    use_auth(c, world.ca, path);
    assert_null(email_smtp_new(c, reason, sizeof reason));
    assert_non_null(strstr(reason, "0600"));
    assert_int_equal(chmod(path, 0600), 0);
    email_smtp_t *smtp = email_smtp_new(c, reason, sizeof reason);
    assert_non_null(smtp);
    email_smtp_destroy(&smtp);
    unlink(path);

    /* no From address of our own */
    set(&c->email.address, "");
    assert_null(email_smtp_new(c, reason, sizeof reason));
    assert_non_null(strstr(reason, "email.address"));
    aduan_config_destroy(&c);
}

/* ---- email_send_smtp_down ----------------------------------------------------------------- */

static int start_spare(void **state)
{
    (void)state;
    return mailworld_run("start-postfix", "spare") == 0 ? 0 : -1;
}

/* The core's retry carries the same DELIVER (same Message-ID): one mail in the end. */
static void test_server_down_then_up(void **state)
{
    (void)state;
    aduan_config_t *c = config_new(world.spare_smtp_port, "none");
    aduan_msg_t *d[1] = {deliver_new(401, "warga@example.org", "down")};
    results_t rs;

    assert_int_equal(mailworld_run("stop-postfix", "spare"), 0);
    send_all(c, d, 1, &rs);
    const result_t *r = result_of(&rs, 401);
    assert_string_equal(r->status, "temporary");
    assert_true(r->detail[0]);

    assert_int_equal(mailworld_run("start-postfix", "spare"), 0);
    d[0]->deliver.attempt = 2;
    send_all(c, d, 1, &rs);
    r = result_of(&rs, 401);
    if (strcmp(r->status, "sent") != 0)
        fail_msg("%s: %s", r->status, r->detail);
    free(arrived(d[0]));
    assert_int_equal(mailworld_count(&world, OUTBOX, d[0]->deliver.message_id), 1);
    destroy_all(d, 1);
    aduan_config_destroy(&c);
}

int main(int argc, char **argv)
{
    const char *group = argc > 1 ? argv[1] : "";
    aduan_log_threshold = ADUAN_LOG_WARN;
    const struct CMUnitTest relay[] = {
        cmocka_unit_test(test_one_session_four_outcomes),
        cmocka_unit_test(test_attachment_arrives),
    };
    const struct CMUnitTest tls[] = {
        cmocka_unit_test(test_submission_with_starttls_and_auth),
        cmocka_unit_test(test_wrong_ca_is_refused),
        cmocka_unit_test(test_wrong_password_is_temporary),
        cmocka_unit_test(test_unsafe_configurations_are_refused),
    };
    const struct CMUnitTest down[] = {
        cmocka_unit_test_teardown(test_server_down_then_up, start_spare),
    };
    if (strcmp(group, "relay") == 0)
        return cmocka_run_group_tests_name("email_send_relay", relay, world_up, NULL);
    if (strcmp(group, "tls") == 0)
        return cmocka_run_group_tests_name("email_send_tls", tls, world_up, NULL);
    if (strcmp(group, "smtp_down") == 0)
        return cmocka_run_group_tests_name("email_send_smtp_down", down, world_up, NULL);
    fprintf(stderr, "usage: %s relay|tls|smtp_down\n", argv[0]);
    return 2;
}
