/*  test_email_flow.c - issue #4's conversations with a citizen, end to end: the real
    aduan-gatewayd reads the office's mailbox in the Dovecot of tests/world/mailworld.sh and
    answers through its Postfix, and every answer is looked for where the citizen would
    find it, in the citizen's own mailbox (a t-* user of test.local), read with doveadm.

      flow       a complaint -> ticket -> acknowledgement in the citizen's mailbox; the
                 citizen's reply joins the ticket (subject tag, or In-Reply-To alone);
                 another address naming the ticket joins too; CEK -> the status
      automatic  an out-of-office reply and a mailing-list message: taken in, never answered
      bounce     a delivery status notification of our acknowledgement: the outbox row fails
      smtp_down  the SMTP server down, then up: the acknowledgement arrives once
      slow_smtp  an SMTP server slower than the core waits for a RESULT: still sent once
      malformed  broken MIME: quarantined with its reason, filed only after that, the
                 daemon goes on

    The program runs the groups named as its arguments (all without any): ctest email_flow
    runs flow, automatic and bounce, email_flow_failures the other three; both hold
    RESOURCE_LOCK mailworld. smtp_down stops the world's spare Postfix (port 10026), never
    the main one, and starts it again whatever happens; slow_smtp puts a slow link of its
    own in front of the main one. No test sleeps past a race: each waits for what a citizen
    would see (mail in a mailbox) or what staff would (the registry), with a timeout; where
    "nothing arrives" is the point, it is watched for a while after a later message's
    answer has arrived. */
#include "harness.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mailbox.h"

#define WAIT_MS 20000   /* a ticket, a reply: met in about a second */
#define QUIET_MS 3000   /* watched for nothing arriving, after a barrier showed mail flows */
#define STEP_MS 50      /* between two looks at the registry or a mailbox */
#define DOVEADM "/usr/bin/doveadm"
#define PROCESSED "Aduan.Terdaftar" /* "Aduan/Terdaftar" in Dovecot's Maildir++ hierarchy */
#define SMTP_MAIN 10025
#define SMTP_SPARE 10026

typedef struct {
    h_env_t *env;
    mailbox_t office;  /* the office's mailbox: what the daemon reads, its From */
    int files;         /* doveadm outputs captured so far */
} fixture_t;

/* One message as the citizen's client shows it: header (unfolded on lookup), decoded body. */
typedef struct {
    char *hdr;
    char *body;
} mail_t;

typedef struct {
    mail_t *v;
    size_t n;
} mails_t;

static void step(void)
{
    usleep(STEP_MS * 1000);
}

/* ---- the daemon ---------------------------------------------------------------------------- */

/* The office's daemon, reading a mailbox of its own; *state holds it for teardown(). */
static fixture_t *office_start(void **state, const char *tag, int smtp_port,
                               const h_options_t *base)
{
    fixture_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    *state = f;
    assert_int_equal(mailbox_setup(&f->office, tag), 0);
    char *conf = NULL;
    assert_true(asprintf(&conf,
                         "[email]\nenabled = yes\naccount = %s\naddress = %s\n"
                         "imap_host = 127.0.0.1\nimap_port = 10993\nimap_tls = implicit\n"
                         "imap_user = %s\nimap_password_file = %s\nca_file = %s\n"
                         "poll = 5s\nfetch_batch = 10\n"
                         "smtp_host = 127.0.0.1\nsmtp_port = %d\nsmtp_tls = none\n"
                         "smtp_timeout = 10s\n",
                         f->office.local, f->office.user, f->office.user,
                         f->office.password_file, f->office.ca, smtp_port) > 0);
    h_options_t o = base ? *base : (h_options_t){0};
    o.extra_conf = conf;
    if (!o.log_level)
        o.log_level = "info";
    f->env = h_env_new(&o);
    free(conf);
    assert_int_equal(h_daemon_start(f->env), 0);
    return f;
}

/*  After each test, passed or not: a test that reached h_pass must see its daemon exit 0
    on SIGTERM; one that failed gets the daemon's log printed (h_env_destroy). */
static int teardown(void **state)
{
    fixture_t *f = *state;
    int rc = 0;
    if (!f)
        return 0;
    if (f->env && f->env->passed && f->env->pid && h_daemon_stop(f->env, H_STOP_MS) != 0) {
        fprintf(stderr, "aduan-gatewayd did not exit 0 after SIGTERM\n");
        f->env->passed = false;
        rc = -1;
    }
    h_env_destroy(&f->env);
    free(f);
    *state = NULL;
    return rc;
}

static void citizen(mailbox_t *mb, const char *tag)
{
    assert_int_equal(mailbox_setup(mb, tag), 0);
}

/* raw, written by `from`, put into the office's INBOX (as Postfix would have delivered it) */
static void office_receives(const fixture_t *f, const char *raw)
{
    assert_int_equal(mailbox_put(&f->office, NULL, NULL, raw, strlen(raw)), 0);
}

/* ---- the registry -------------------------------------------------------------------------- */

static json_int_t stat_int(const h_env_t *env, const char *key)
{
    json_t *stats = h_control_ok(env, "stats", NULL);
    json_int_t v = json_integer_value(json_object_get(stats, key));
    json_decref(stats);
    return v;
}

static void wait_stat(const h_env_t *env, const char *key, json_int_t n)
{
    int64_t until = h_now_ms() + WAIT_MS;
    json_int_t have;
    while ((have = stat_int(env, key)) < n && h_now_ms() < until)
        step();
    if (have != n)
        fail_msg("stats %s = %lld, expected %lld", key, (long long)have, (long long)n);
}

/* The ticket of the newest email complaint. */
static void newest_ticket(const h_env_t *env, char ticket[40])
{
    json_t *args = json_pack("{s:s, s:i}", "channel", "email", "limit", 1);
    json_t *list = h_control_ok(env, "list", args);
    json_decref(args);
    json_t *first = json_array_get(json_object_get(list, "items"), 0);
    assert_non_null(first);
    snprintf(ticket, 40, "%s", json_string_value(json_object_get(first, "ticket")));
    json_decref(list);
    assert_true(h_ticket_valid(ticket));
}

/* Messages of the ticket's thread in that direction ("in", "out"). */
static size_t thread_count(const h_env_t *env, const char *ticket, const char *direction)
{
    json_t *show = h_show(env, ticket);
    size_t i, n = 0;
    json_t *m;
    json_array_foreach(json_object_get(show, "thread"), i, m)
    {
        if (strcmp(json_string_value(json_object_get(m, "direction")), direction) == 0)
            n++;
    }
    json_decref(show);
    return n;
}

static void wait_thread(const h_env_t *env, const char *ticket, const char *direction,
                        size_t n)
{
    int64_t until = h_now_ms() + WAIT_MS;
    size_t have;
    while ((have = thread_count(env, ticket, direction)) < n && h_now_ms() < until)
        step();
    if (have != n)
        fail_msg("%s has %zu \"%s\" messages, expected %zu", ticket, have, direction, n);
}

/* The ticket's outbox rows of that kind to that address, as aduanctl show --json has them;
   caller owns. */
static json_t *outbox_rows(const h_env_t *env, const char *ticket, const char *kind,
                           const char *to)
{
    h_run_t run = {0};
    assert_int_equal(h_aduanctl(env, &run, H_ANSWER_MS, "--json", "show", ticket, NULL), 0);
    json_error_t error;
    json_t *show = json_loads(run.out, 0, &error);
    if (!show)
        fail_msg("aduanctl show --json printed no JSON: %s", error.text);
    h_run_clear(&run);
    json_t *found = json_array();
    size_t i;
    json_t *row;
    json_array_foreach(json_object_get(show, "outbox"), i, row)
    {
        const char *k = json_string_value(json_object_get(row, "kind"));
        const char *t = json_string_value(json_object_get(row, "to"));
        if ((!kind || (k && strcmp(k, kind) == 0)) && (!to || (t && strcasecmp(t, to) == 0)))
            json_array_append(found, row);
    }
    json_decref(show);
    return found;
}

static const char *row_str(const json_t *row, const char *key)
{
    const char *s = json_string_value(json_object_get(row, key));
    return s ? s : "";
}

/* ---- mailboxes ----------------------------------------------------------------------------- */

/* What doveadm prints for argv (stdout), through a file of the test's folder; caller frees. */
static char *doveadm(fixture_t *f, const char *const args[])
{
    char out[200];
    snprintf(out, sizeof out, "%s/doveadm-%d.out", f->env->dir, ++f->files);
    const char *argv[24] = {DOVEADM, "-c", f->office.dovecot_conf};
    size_t n = 3;
    for (size_t i = 0; args[i]; i++) {
        assert_true(n + 1 < sizeof argv / sizeof argv[0]);
        argv[n++] = args[i];
    }
    argv[n] = NULL;
    pid_t pid = h_spawn((char *const *)argv, out, NULL);
    assert_true(pid > 0);
    h_wait_exit(pid, 10000);
    char *text = h_read_file(out);
    unlink(out);
    return text;
}

static int hexval(int c)
{
    return isdigit(c) ? c - '0' : tolower(c) - 'a' + 10;
}

/* Quoted-printable decoded in place (soft line breaks joined). */
static void qp_decode(char *s)
{
    char *w = s;
    for (char *r = s; *r;) {
        if (r[0] == '=' && r[1] == '\n') {
            r += 2;
        } else if (r[0] == '=' && isxdigit((unsigned char)r[1]) && isxdigit((unsigned char)r[2])) {
            *w++ = (char)(hexval((unsigned char)r[1]) * 16 + hexval((unsigned char)r[2]));
            r += 3;
        } else {
            *w++ = *r++;
        }
    }
    *w = '\0';
}

/* The value of a header field, continuation lines unfolded; caller frees; NULL when absent. */
static char *header(const mail_t *m, const char *name)
{
    size_t n = strlen(name);
    for (const char *line = m->hdr; line && *line; line = strchr(line, '\n'), line += !!line) {
        if (strncasecmp(line, name, n) != 0 || line[n] != ':')
            continue;
        const char *v = line + n + 1;
        size_t cap = strlen(v) + 1, len = 0;
        char *out = malloc(cap);
        assert_non_null(out);
        for (;;) {
            size_t l = strcspn(v, "\n");
            memcpy(out + len, v, l);
            len += l;
            v += l;
            if (v[0] == '\n' && (v[1] == ' ' || v[1] == '\t')) {
                v++; /* a folded line goes on */
                continue;
            }
            break;
        }
        out[len] = '\0';
        char *start = out + strspn(out, " \t");
        memmove(out, start, strlen(start) + 1);
        return out;
    }
    return NULL;
}

static bool header_has(const mail_t *m, const char *name, const char *needle)
{
    char *v = header(m, name);
    bool has = h_contains(v, needle);
    free(v);
    return has;
}

static void mails_free(mails_t *ms)
{
    for (size_t i = 0; i < ms->n; i++) {
        free(ms->v[i].hdr);
        free(ms->v[i].body);
    }
    free(ms->v);
    *ms = (mails_t){0};
}

/* Every message in user's folder, as doveadm's JSON formatter lists them. */
static mails_t mails_of(fixture_t *f, const char *user, const char *folder)
{
    const char *args[] = {"-f", "json", "fetch", "-u", user, "hdr body", "mailbox", folder,
                          "ALL", NULL};
    char *text = doveadm(f, args);
    mails_t ms = {0};
    json_t *list = *text ? json_loads(text, 0, NULL) : json_array(); /* no Maildir yet: "" */
    if (!list)
        fail_msg("doveadm printed no JSON for %s %s: %.200s", user, folder, text);
    free(text);
    size_t i;
    json_t *item;
    json_array_foreach(list, i, item)
    {
        mail_t m = {strdup(row_str(item, "hdr")), strdup(row_str(item, "body"))};
        assert_non_null(m.hdr);
        assert_non_null(m.body);
        if (header_has(&m, "Content-Transfer-Encoding", "quoted-printable"))
            qp_decode(m.body);
        ms.v = realloc(ms.v, (ms.n + 1) * sizeof *ms.v);
        assert_non_null(ms.v);
        ms.v[ms.n++] = m;
    }
    json_decref(list);
    return ms;
}

/* Waits until user's INBOX holds n messages (fails after WAIT_MS, or when more came). */
static mails_t wait_mails(fixture_t *f, const char *user, size_t n)
{
    int64_t until = h_now_ms() + WAIT_MS;
    for (;;) {
        mails_t ms = mails_of(f, user, "INBOX");
        if (ms.n > n)
            fail_msg("%zu messages in the INBOX of %s, expected %zu", ms.n, user, n);
        if (ms.n == n)
            return ms;
        mails_free(&ms);
        if (h_now_ms() >= until)
            fail_msg("%s did not get %zu messages within %d ms", user, n, WAIT_MS);
        step();
    }
}

static size_t mail_count(fixture_t *f, const char *user, const char *folder)
{
    mails_t ms = mails_of(f, user, folder);
    size_t n = ms.n;
    mails_free(&ms);
    return n;
}

/* "<id>" as Message-ID of m, without its brackets, into out. */
static void message_id_of(const mail_t *m, char *out, size_t outlen)
{
    char *v = header(m, "Message-ID");
    assert_non_null(v);
    size_t start = strspn(v, " <");
    snprintf(out, outlen, "%.*s", (int)strcspn(v + start, ">"), v + start);
    free(v);
    assert_true(strchr(out, '@') != NULL);
}

/* ---- the messages a citizen writes --------------------------------------------------------- */

/* A plain complaint from `from` to the office; extra: header lines ending in CRLF. */
static char *letter(const fixture_t *f, const char *from_name, const char *from,
                    const char *message_id, const char *subject, const char *extra,
                    const char *text)
{
    char *raw = NULL;
    assert_true(asprintf(&raw,
                         "From: \"%s\" <%s>\r\nTo: <%s>\r\nSubject: %s\r\n"
                         "Date: Sat, 28 Nov 2026 09:00:00 +0700\r\nMessage-ID: <%s>\r\n%s"
                         "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n"
                         "Content-Transfer-Encoding: 8bit\r\n\r\n%s\r\n",
                         from_name, from, f->office.user, subject, message_id,
                         extra ? extra : "", text) > 0);
    return raw;
}

static void send_letter(const fixture_t *f, const char *from_name, const char *from,
                        const char *message_id, const char *subject, const char *extra,
                        const char *text)
{
    char *raw = letter(f, from_name, from, message_id, subject, extra, text);
    office_receives(f, raw);
    free(raw);
}

/* ---- 1-3: acknowledgement, replies, status ------------------------------------------------- */

static void test_flow(void **state)
{
    fixture_t *f = office_start(state, "flow", SMTP_MAIN, NULL);
    mailbox_t siti, adik;
    citizen(&siti, "siti");
    citizen(&adik, "adik");

    /* 1. the complaint, and the acknowledgement in the citizen's own mailbox */
    char first_id[160];
    snprintf(first_id, sizeof first_id, "%s.1@test.local", siti.local);
    send_letter(f, "Siti Aminah", siti.user, first_id, "Izin usaha belum terbit", NULL,
                "Berkas izin usaha saya belum diproses sejak tiga minggu.");
    wait_stat(f->env, "complaints", 1);
    char ticket[40], tag[48];
    newest_ticket(f->env, ticket);
    snprintf(tag, sizeof tag, "[%s]", ticket);

    mails_t inbox = wait_mails(f, siti.user, 1);
    const mail_t *ack = &inbox.v[0];
    char *subject = header(ack, "Subject");
    assert_true(h_contains(subject, tag));
    assert_true(header_has(ack, "Auto-Submitted", "auto-replied"));
    char angle[200];
    snprintf(angle, sizeof angle, "<%s>", first_id);
    assert_true(header_has(ack, "In-Reply-To", angle));
    assert_true(header_has(ack, "References", angle));
    assert_true(header_has(ack, "From", f->office.user));
    assert_true(h_contains(ack->body, ticket));
    char ack_id[200];
    message_id_of(ack, ack_id, sizeof ack_id);
    /* the Message-ID the citizen has is the one the registry keeps for the row */
    json_t *show = h_show(f->env, ticket);
    char *dump = json_dumps(show, 0);
    assert_true(h_contains(dump, ack_id));
    free(dump);
    json_decref(show);

    /* 2a. the citizen answers the acknowledgement as a mail client does: "Re: " + its
       subject, In-Reply-To and References naming it */
    char reply_id[160], reply_subject[600], refs[600];
    snprintf(reply_id, sizeof reply_id, "%s.2@test.local", siti.local);
    snprintf(reply_subject, sizeof reply_subject, "Re: %s", subject);
    snprintf(refs, sizeof refs, "In-Reply-To: <%s>\r\nReferences: <%s> <%s>\r\n", ack_id,
             first_id, ack_id);
    send_letter(f, "Siti Aminah", siti.user, reply_id, reply_subject, refs,
                "Saya lampirkan nomor berkas: 503/123/2026.");
    wait_thread(f->env, ticket, "in", 2);
    assert_int_equal(stat_int(f->env, "complaints"), 1);
    mails_free(&inbox);
    inbox = wait_mails(f, siti.user, 2); /* the follow-up is acknowledged in turn */
    snprintf(angle, sizeof angle, "<%s>", reply_id);
    const mail_t *followup_ack = NULL;
    for (size_t i = 0; i < inbox.n; i++)
        if (header_has(&inbox.v[i], "In-Reply-To", angle))
            followup_ack = &inbox.v[i];
    assert_non_null(followup_ack);
    assert_true(header_has(followup_ack, "Subject", tag));
    /* References carry the whole conversation (RFC 5322 3.6.4): one thread in the
       citizen's mail client */
    char *references = header(followup_ack, "References");
    char want[3][210];
    snprintf(want[0], sizeof want[0], "<%s>", first_id);
    snprintf(want[1], sizeof want[1], "<%s>", ack_id);
    snprintf(want[2], sizeof want[2], "<%s>", reply_id);
    for (int i = 0; i < 3; i++)
        if (!h_contains(references, want[i]))
            fail_msg("References of the follow-up's acknowledgement lack %s: %s", want[i],
                     references ? references : "(none)");
    free(references);

    /* 2b. a reply whose subject lost the ticket: In-Reply-To alone threads it */
    char bare_id[160];
    snprintf(bare_id, sizeof bare_id, "%s.3@test.local", siti.local);
    snprintf(refs, sizeof refs, "In-Reply-To: <%s>\r\n", ack_id);
    send_letter(f, "Siti Aminah", siti.user, bare_id, "Re: pengaduan saya", refs,
                "Mohon kabar secepatnya.");
    wait_thread(f->env, ticket, "in", 3);
    assert_int_equal(stat_int(f->env, "complaints"), 1);
    mails_free(&inbox);
    inbox = wait_mails(f, siti.user, 3);

    /* 2c. someone else names the ticket in the subject: joins it, hears no state */
    char other_id[160], other_subject[200];
    snprintf(other_id, sizeof other_id, "%s.1@test.local", adik.local);
    snprintf(other_subject, sizeof other_subject, "Tambahan untuk %s dari adik pelapor", tag);
    send_letter(f, "Adik Siti", adik.user, other_id, other_subject, NULL,
                "Kakak saya meminta saya mengirim foto berkas.");
    wait_thread(f->env, ticket, "in", 4);
    assert_int_equal(stat_int(f->env, "complaints"), 1);
    mails_t adik_inbox = wait_mails(f, adik.user, 1);
    assert_true(header_has(&adik_inbox.v[0], "Subject", tag));
    json_t *show2 = h_show(f->env, ticket);
    const char *state_now = json_string_value(json_object_get(show2, "status"));
    assert_string_equal(state_now, "recorded");
    json_decref(show2);
    mails_free(&adik_inbox);

    /* 3. CEK: the status, in Bahasa Indonesia, in the complainant's mailbox */
    char cek_id[160], cek_subject[80];
    snprintf(cek_id, sizeof cek_id, "%s.4@test.local", siti.local);
    snprintf(cek_subject, sizeof cek_subject, "CEK %s", ticket);
    send_letter(f, "Siti Aminah", siti.user, cek_id, cek_subject, NULL, "");
    mails_free(&inbox);
    inbox = wait_mails(f, siti.user, 4);
    snprintf(angle, sizeof angle, "<%s>", cek_id);
    const mail_t *status = NULL;
    for (size_t i = 0; i < inbox.n; i++)
        if (header_has(&inbox.v[i], "In-Reply-To", angle))
            status = &inbox.v[i];
    assert_non_null(status);
    assert_true(header_has(status, "Subject", tag));
    assert_true(header_has(status, "Subject", "Status pengaduan"));
    assert_true(header_has(status, "Auto-Submitted", "auto-replied"));
    assert_true(h_contains(status->body, ticket));
    assert_true(h_contains(status->body, "Tercatat, menunggu penelaahan"));
    /* a question is no follow-up and no ticket */
    assert_int_equal(stat_int(f->env, "complaints"), 1);
    assert_int_equal(thread_count(f->env, ticket, "in"), 4);

    /* 3b. the same question from another address: the state is not told */
    snprintf(cek_id, sizeof cek_id, "%s.2@test.local", adik.local);
    send_letter(f, "Adik Siti", adik.user, cek_id, cek_subject, NULL, "");
    adik_inbox = wait_mails(f, adik.user, 2);
    for (size_t i = 0; i < adik_inbox.n; i++)
        assert_false(h_contains(adik_inbox.v[i].body, "Tercatat, menunggu penelaahan"));
    assert_true(h_contains(adik_inbox.v[1].body, "tidak ditemukan") ||
                h_contains(adik_inbox.v[0].body, "tidak ditemukan"));
    mails_free(&adik_inbox);

    /* everything was read and filed */
    assert_int_equal(mail_count(f, f->office.user, "INBOX"), 0);
    free(subject);
    mails_free(&inbox);
    h_pass(f->env);
}

/* ---- 4: automatic mail is not answered ----------------------------------------------------- */

/* A complaint from mb, and its acknowledgement arrived: mail flows (the barrier). */
static void positive_control(fixture_t *f, const mailbox_t *mb, int n, size_t expected)
{
    char id[160];
    snprintf(id, sizeof id, "%s.control%d@test.local", mb->local, n);
    send_letter(f, "Warga Kontrol", mb->user, id, "Trotoar rusak", NULL,
                "Trotoar di depan pasar rusak.");
    mails_t ms = wait_mails(f, mb->user, expected);
    char angle[200];
    snprintf(angle, sizeof angle, "<%s>", id);
    bool found = false;
    for (size_t i = 0; i < ms.n; i++)
        found = found || header_has(&ms.v[i], "In-Reply-To", angle);
    assert_true(found);
    mails_free(&ms);
}

/* Nothing in user's INBOX beyond `expected` during QUIET_MS. */
static void stays_quiet(fixture_t *f, const char *user, size_t expected)
{
    int64_t until = h_now_ms() + QUIET_MS;
    do {
        size_t n = mail_count(f, user, "INBOX");
        if (n != expected)
            fail_msg("%zu messages reached %s, expected %zu: automatic mail was answered", n,
                     user, expected);
        step();
    } while (h_now_ms() < until);
}

static void test_automatic(void **state)
{
    fixture_t *f = office_start(state, "auto", SMTP_MAIN, NULL);
    mailbox_t warga, list, later;
    citizen(&warga, "warga");
    citizen(&list, "list");
    citizen(&later, "later");

    /* the control first: replies do reach a citizen's mailbox */
    positive_control(f, &warga, 1, 1);
    char ticket[40];
    newest_ticket(f->env, ticket);
    mails_t ms = mails_of(f, warga.user, "INBOX");
    char ack_id[200];
    message_id_of(&ms.v[0], ack_id, sizeof ack_id);
    char *ack_subject = header(&ms.v[0], "Subject");
    mails_free(&ms);

    /* the citizen's out-of-office answers our acknowledgement */
    char id[160], extra[600], subject[600];
    snprintf(id, sizeof id, "%s.ooo@test.local", warga.local);
    snprintf(extra, sizeof extra,
             "In-Reply-To: <%s>\r\nReferences: <%s>\r\nAuto-Submitted: auto-replied\r\n"
             "X-Autoreply: yes\r\n",
             ack_id, ack_id);
    snprintf(subject, sizeof subject, "Otomatis: %s", ack_subject);
    send_letter(f, "Warga Kontrol", warga.user, id, subject, extra,
                "Saya sedang cuti sampai tanggal 5 Desember.");
    /* a mailing list writes to the office */
    snprintf(id, sizeof id, "%s.post@test.local", list.local);
    snprintf(extra, sizeof extra,
             "List-Id: Forum Warga <forum-warga.%s>\r\nPrecedence: list\r\n"
             "List-Unsubscribe: <mailto:%s?subject=unsubscribe>\r\n",
             list.local, list.user);
    send_letter(f, "Forum Warga", list.user, id, "[forum-warga] Jadwal kerja bakti", extra,
                "Kerja bakti hari Minggu pukul 07.00.");
    /* both taken in: the out-of-office on the ticket, the list post as an item of its own */
    wait_thread(f->env, ticket, "in", 2);
    wait_stat(f->env, "complaints", 2);
    wait_stat(f->env, "intakes", 3);

    /* the barrier: a later complaint's acknowledgement has arrived, so an answer to the
       two would have by now; then a while more of nothing */
    positive_control(f, &later, 2, 1);
    stays_quiet(f, warga.user, 1);
    stays_quiet(f, list.user, 0);

    /* and the registry queued none: one acknowledgement in the thread, none to the list */
    json_t *rows = outbox_rows(f->env, ticket, NULL, warga.user);
    assert_int_equal(json_array_size(rows), 1);
    json_decref(rows);
    json_t *args = json_pack("{s:s, s:i}", "channel", "email", "limit", 10);
    json_t *listing = h_control_ok(f->env, "list", args);
    json_decref(args);
    size_t i;
    json_t *item;
    bool list_registered = false;
    json_array_foreach(json_object_get(listing, "items"), i, item)
    {
        const char *from = row_str(item, "from");
        if (strcasecmp(from, list.user) != 0)
            continue;
        list_registered = true;
        rows = outbox_rows(f->env, row_str(item, "ticket"), NULL, list.user);
        assert_int_equal(json_array_size(rows), 0);
        json_decref(rows);
    }
    json_decref(listing);
    assert_true(list_registered);
    free(ack_subject);
    h_pass(f->env);
}

/* ---- 5: a bounce of our acknowledgement ---------------------------------------------------- */

static void test_bounce(void **state)
{
    fixture_t *f = office_start(state, "bounce", SMTP_MAIN, NULL);
    mailbox_t warga;
    citizen(&warga, "bnc");
    positive_control(f, &warga, 1, 1);
    char ticket[40];
    newest_ticket(f->env, ticket);
    mails_t ms = mails_of(f, warga.user, "INBOX");
    char ack_id[200];
    message_id_of(&ms.v[0], ack_id, sizeof ack_id);
    char *ack_subject = header(&ms.v[0], "Subject");
    mails_free(&ms);
    json_t *rows = outbox_rows(f->env, ticket, "ack", warga.user);
    assert_int_equal(json_array_size(rows), 1);
    assert_string_equal(row_str(json_array_get(rows, 0), "status"), "sent");
    json_decref(rows);

    /* the citizen's provider sends it back later, as Postfix writes a bounce: from
       MAILER-DAEMON of a host of its own (an answer to it would be caught in the world's
       outbox@ under that host's name) */
    char daemon_host[120], raw[4096];
    snprintf(daemon_host, sizeof daemon_host, "mx-%s.example.org", warga.local);
    snprintf(raw, sizeof raw,
             "Return-Path: <>\r\n"
             "From: MAILER-DAEMON@%s (Mail Delivery System)\r\n"
             "To: %s\r\n"
             "Subject: Undelivered Mail Returned to Sender\r\n"
             "Date: Sat, 28 Nov 2026 09:05:00 +0700\r\n"
             "Message-ID: <bounce.%s@%s>\r\n"
             "Auto-Submitted: auto-replied\r\n"
             "MIME-Version: 1.0\r\n"
             "Content-Type: multipart/report; report-type=delivery-status;\r\n"
             "\tboundary=\"B0UNCE\"\r\n"
             "\r\n"
             "This is a MIME-encapsulated message.\r\n"
             "\r\n"
             "--B0UNCE\r\n"
             "Content-Description: Notification\r\n"
             "Content-Type: text/plain; charset=us-ascii\r\n"
             "\r\n"
             "I'm sorry to have to inform you that your message could not\r\n"
             "be delivered to one or more recipients.\r\n"
             "\r\n"
             "<%s>: mailbox full\r\n"
             "\r\n"
             "--B0UNCE\r\n"
             "Content-Description: Delivery report\r\n"
             "Content-Type: message/delivery-status\r\n"
             "\r\n"
             "Reporting-MTA: dns; %s\r\n"
             "Arrival-Date: Sat, 28 Nov 2026 09:04:59 +0700\r\n"
             "\r\n"
             "Final-Recipient: rfc822; %s\r\n"
             "Original-Recipient: rfc822;%s\r\n"
             "Action: failed\r\n"
             "Status: 5.2.2\r\n"
             "Diagnostic-Code: smtp; 552 5.2.2 <%s>: Mailbox full\r\n"
             "\r\n"
             "--B0UNCE\r\n"
             "Content-Description: Undelivered Message Headers\r\n"
             "Content-Type: text/rfc822-headers\r\n"
             "\r\n"
             "From: <%s>\r\n"
             "To: <%s>\r\n"
             "Subject: %s\r\n"
             "Message-ID: <%s>\r\n"
             "Auto-Submitted: auto-replied\r\n"
             "\r\n"
             "--B0UNCE--\r\n",
             daemon_host, f->office.user, warga.local, daemon_host, warga.user, daemon_host,
             warga.user, warga.user, warga.user, f->office.user, warga.user, ack_subject,
             ack_id);
    office_receives(f, raw);

    /* the acknowledgement's row failed, with what the report said */
    int64_t until = h_now_ms() + WAIT_MS;
    const char *status = "";
    char error[600] = "";
    while (h_now_ms() < until) {
        rows = outbox_rows(f->env, ticket, "ack", warga.user);
        assert_int_equal(json_array_size(rows), 1);
        const json_t *row = json_array_get(rows, 0);
        status = strcmp(row_str(row, "status"), "failed") == 0 ? "failed" : "not yet";
        snprintf(error, sizeof error, "%s", row_str(row, "last_error"));
        json_decref(rows);
        if (strcmp(status, "failed") == 0)
            break;
        step();
    }
    assert_string_equal(status, "failed");
    assert_true(h_contains(error, "5.2.2"));
    /* the bounce is no complaint and no follow-up */
    assert_int_equal(stat_int(f->env, "complaints"), 1);
    assert_int_equal(thread_count(f->env, ticket, "in"), 1);
    /* staff see it in the audit trail */
    json_t *show = h_show(f->env, ticket);
    char *dump = json_dumps(json_object_get(show, "audit"), 0);
    assert_true(h_contains(dump, "delivery_failed"));
    free(dump);
    json_decref(show);

    /* no answer to the bounce: none queued, and none caught for the daemon's address after
       a barrier (a later complaint's acknowledgement arrived) */
    rows = outbox_rows(f->env, ticket, NULL, NULL);
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row)
    {
        assert_false(h_contains(row_str(row, "to"), daemon_host));
    }
    json_decref(rows);
    positive_control(f, &warga, 2, 2);
    const char *args[] = {"search", "-u", "outbox@test.local", "mailbox", "INBOX", "header",
                          "Delivered-To", daemon_host, NULL};
    until = h_now_ms() + QUIET_MS;
    do {
        char *found = doveadm(f, args);
        if (*found)
            fail_msg("the bounce was answered: %s", found);
        free(found);
        step();
    } while (h_now_ms() < until);
    free(ack_subject);
    h_pass(f->env);
}

/* ---- 6: the SMTP server down, then up ------------------------------------------------------ */

/* The spare Postfix runs again, whatever became of the test. */
static int start_spare(void **state)
{
    int rc = mailbox_world("start-postfix spare") == 0 ? 0 : -1;
    if (rc != 0)
        fprintf(stderr, "mailworld.sh start-postfix spare failed\n");
    return teardown(state) == 0 ? rc : -1;
}

static void test_smtp_down(void **state)
{
    /* short retries: 1 s, then 2 s between tries */
    h_options_t o = {.retry_base_s = 1, .retry_max_s = 2, .max_attempts = 50,
                     .deliver_timeout_s = 5};
    fixture_t *f = office_start(state, "down", SMTP_SPARE, &o);
    mailbox_t warga;
    citizen(&warga, "down");
    /* after the users are made: `mailworld.sh up` (in mailbox_setup) starts what is down */
    assert_int_equal(mailbox_world("stop-postfix spare"), 0);
    char id[160];
    snprintf(id, sizeof id, "%s.1@test.local", warga.local);
    send_letter(f, "Warga Sabar", warga.user, id, "Jalan berlubang", NULL,
                "Jalan di depan sekolah berlubang besar.");
    wait_stat(f->env, "complaints", 1);
    char ticket[40];
    newest_ticket(f->env, ticket);

    /* tried and tried again while the server is away */
    int64_t until = h_now_ms() + WAIT_MS;
    json_int_t attempts = 0;
    char status[32] = "", error[600] = "";
    while (attempts < 2 && h_now_ms() < until) {
        json_t *rows = outbox_rows(f->env, ticket, "ack", warga.user);
        assert_int_equal(json_array_size(rows), 1);
        const json_t *row = json_array_get(rows, 0);
        attempts = json_integer_value(json_object_get(row, "attempts"));
        snprintf(status, sizeof status, "%s", row_str(row, "status"));
        snprintf(error, sizeof error, "%s", row_str(row, "last_error"));
        json_decref(rows);
        step();
    }
    if (attempts < 2)
        fail_msg("the acknowledgement was tried %lld times while SMTP was down",
                 (long long)attempts);
    assert_true(strcmp(status, "pending") == 0 || strcmp(status, "sending") == 0);
    assert_true(*error);
    assert_int_equal(mail_count(f, warga.user, "INBOX"), 0);

    /* the server comes back: the acknowledgement arrives, once */
    assert_int_equal(mailbox_world("start-postfix spare"), 0);
    mails_t ms = wait_mails(f, warga.user, 1);
    char angle[200];
    snprintf(angle, sizeof angle, "<%s>", id);
    assert_true(header_has(&ms.v[0], "In-Reply-To", angle));
    mails_free(&ms);
    until = h_now_ms() + WAIT_MS;
    json_t *rows = NULL;
    while (h_now_ms() < until) {
        json_decref(rows);
        rows = outbox_rows(f->env, ticket, "ack", warga.user);
        if (strcmp(row_str(json_array_get(rows, 0), "status"), "sent") == 0)
            break;
        step();
    }
    assert_string_equal(row_str(json_array_get(rows, 0), "status"), "sent");
    json_decref(rows);
    stays_quiet(f, warga.user, 1);
    h_pass(f->env);
}

/* ---- 6b: a slow SMTP server ----------------------------------------------------------------- */

/*  A slow link in front of the world's Postfix: each connection is passed on to it only
    after delay_ms, so the greeting comes that late and a session lasts longer than the
    core waits for a RESULT (outbox.deliver_timeout_s). One connection at a time, as the
    channel opens them. */
typedef struct {
    int listen_fd;
    int port;
    int upstream_port;
    int delay_ms;
    atomic_bool stop;
    atomic_int sessions;
    pthread_t thread;
} slow_link_t;

/* Copies both ways until either side closes (or the link stops). */
static void relay(slow_link_t *link, int a, int b)
{
    char buf[16384];
    struct pollfd p[2] = {{.fd = a, .events = POLLIN}, {.fd = b, .events = POLLIN}};
    while (!atomic_load(&link->stop)) {
        if (poll(p, 2, 100) <= 0)
            continue;
        for (int i = 0; i < 2; i++) {
            if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            ssize_t n = read(p[i].fd, buf, sizeof buf);
            if (n <= 0)
                return;
            for (ssize_t done = 0, w; done < n; done += w)
                if ((w = write(p[1 - i].fd, buf + done, (size_t)(n - done))) <= 0)
                    return;
        }
    }
}

static void *slow_link_run(void *arg)
{
    slow_link_t *link = arg;
    while (!atomic_load(&link->stop)) {
        struct pollfd p = {.fd = link->listen_fd, .events = POLLIN};
        if (poll(&p, 1, 100) <= 0)
            continue;
        int client = accept(link->listen_fd, NULL, NULL);
        if (client < 0)
            continue;
        atomic_fetch_add(&link->sessions, 1);
        for (int waited = 0; waited < link->delay_ms && !atomic_load(&link->stop); waited += 50)
            usleep(50 * 1000);
        int up = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(link->upstream_port),
                                 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        if (up >= 0 && connect(up, (struct sockaddr *)&to, sizeof to) == 0)
            relay(link, client, up);
        if (up >= 0)
            close(up);
        close(client);
    }
    return NULL;
}

static void slow_link_start(slow_link_t *link, int upstream_port, int delay_ms)
{
    memset(link, 0, sizeof *link);
    link->upstream_port = upstream_port;
    link->delay_ms = delay_ms;
    link->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(link->listen_fd >= 0);
    struct sockaddr_in at = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof at;
    assert_int_equal(bind(link->listen_fd, (struct sockaddr *)&at, sizeof at), 0);
    assert_int_equal(listen(link->listen_fd, 8), 0);
    assert_int_equal(getsockname(link->listen_fd, (struct sockaddr *)&at, &len), 0);
    link->port = ntohs(at.sin_port);
    assert_int_equal(pthread_create(&link->thread, NULL, slow_link_run, link), 0);
}

static void slow_link_stop(slow_link_t *link)
{
    atomic_store(&link->stop, true);
    pthread_join(link->thread, NULL);
    close(link->listen_fd);
}

static slow_link_t slow_link; /* stopped by the teardown, whatever became of the test */

static int stop_slow_link(void **state)
{
    if (slow_link.listen_fd > 0)
        slow_link_stop(&slow_link);
    memset(&slow_link, 0, sizeof slow_link);
    return teardown(state);
}

/* How often the log says line. */
static int log_count(const h_env_t *env, const char *line)
{
    char *log = h_read_file(env->log);
    int n = 0;
    for (const char *p = log; (p = strstr(p, line)); p += strlen(line))
        n++;
    free(log);
    return n;
}

static void test_slow_smtp(void **state)
{
    /* longer than bus.peer_timeout_ms's default (5 s): the core takes the adapter for
       gone in the middle of the session, and asks for its HELLO when it speaks again */
    enum { DELAY_MS = 6000 };
    /* the core hands the row out again 1 s after a DELIVER without a RESULT, plus 1 s */
    h_options_t o = {.retry_base_s = 1, .retry_max_s = 1, .deliver_timeout_s = 1,
                     .peer_timeout_ms = 5000};
    slow_link_start(&slow_link, SMTP_MAIN, DELAY_MS);
    fixture_t *f = office_start(state, "slow", slow_link.port, &o);
    mailbox_t warga;
    citizen(&warga, "slow");
    char id[160];
    snprintf(id, sizeof id, "%s.1@test.local", warga.local);
    send_letter(f, "Warga Sabar", warga.user, id, "Lampu jalan mati", NULL,
                "Lampu jalan di gang kami mati sejak seminggu.");
    wait_stat(f->env, "complaints", 1);
    char ticket[40];
    newest_ticket(f->env, ticket);
    mails_t ms = wait_mails(f, warga.user, 1);
    mails_free(&ms);
    /* the core asked again while the first session crawled: the repeat must not go out
       as a second mail; watched for longer than one more slow session takes */
    int64_t until = h_now_ms() + DELAY_MS + QUIET_MS;
    while (h_now_ms() < until) {
        size_t n = mail_count(f, warga.user, "INBOX");
        if (n != 1)
            fail_msg("%zu acknowledgements reached the citizen, expected 1", n);
        step();
    }
    json_t *rows = outbox_rows(f->env, ticket, "ack", warga.user);
    assert_string_equal(row_str(json_array_get(rows, 0), "status"), "sent");
    json_decref(rows);
    /* taken back after each slow session (SMTP runs in the adapter's poll: see
       channels/email/README.md), but not greeted back and forth without end (that was
       tens of thousands of HELLOs in seconds) */
    int back = log_count(f->env, "adapter back email") +
               log_count(f->env, "adapter connected email");
    if (back > 20)
        fail_msg("the core and the adapter said HELLO %d times", back);
    h_pass(f->env);
}

/* ---- 7: malformed MIME --------------------------------------------------------------------- */

static json_t *quarantine_items(const h_env_t *env)
{
    h_run_t run = {0};
    assert_int_equal(h_aduanctl(env, &run, H_ANSWER_MS, "--json", "quarantine", NULL), 0);
    json_t *body = json_loads(run.out, 0, NULL);
    h_run_clear(&run);
    assert_non_null(body);
    json_t *items = json_incref(json_object_get(body, "items"));
    json_decref(body);
    assert_non_null(items);
    return items;
}

static void test_malformed(void **state)
{
    fixture_t *f = office_start(state, "broken", SMTP_MAIN, NULL);
    mailbox_t warga, next;
    citizen(&warga, "broken");
    citizen(&next, "next");
    /* a multipart whose boundary never comes */
    char raw[2048];
    snprintf(raw, sizeof raw,
             "From: <%s>\r\nTo: <%s>\r\nSubject: Foto rusak\r\n"
             "Message-ID: <%s.1@test.local>\r\nMIME-Version: 1.0\r\n"
             "Content-Type: multipart/mixed; boundary=\"TIDAK-PERNAH-ADA\"\r\n\r\n"
             "--LAIN\r\nContent-Type: text/plain\r\n\r\nFoto terlampir.\r\n--LAIN--\r\n",
             warga.user, f->office.user, warga.local);
    office_receives(f, raw);

    /* the message leaves the INBOX only once the quarantine holds it: each look at the
       mailbox that finds it filed is followed by one at the registry */
    int64_t until = h_now_ms() + WAIT_MS;
    bool filed = false;
    json_t *items = NULL;
    while (!filed && h_now_ms() < until) {
        filed = mail_count(f, f->office.user, "INBOX") == 0;
        json_decref(items);
        items = quarantine_items(f->env);
        if (filed && json_array_size(items) == 0)
            fail_msg("the message left the INBOX before the core had it in quarantine");
        step();
    }
    assert_true(filed);
    assert_int_equal(json_array_size(items), 1);
    const json_t *q = json_array_get(items, 0);
    assert_string_equal(row_str(q, "channel"), "email");
    assert_true(h_contains(row_str(q, "reason"), "boundary never appears"));
    char key_prefix[100];
    snprintf(key_prefix, sizeof key_prefix, "%s:", f->office.local);
    assert_true(strncmp(row_str(q, "dedupe_key"), key_prefix, strlen(key_prefix)) == 0);
    assert_int_equal(json_integer_value(json_object_get(q, "size")), (json_int_t)strlen(raw));
    json_decref(items);
    assert_int_equal(mail_count(f, f->office.user, PROCESSED), 1);
    assert_int_equal(stat_int(f->env, "complaints"), 0);
    /* a person reading the quarantine sees the reason (in a terminal wide enough for it:
       the table cuts the last column at the line's end) */
    setenv("COLUMNS", "200", 1);
    h_run_t run = {0};
    assert_int_equal(h_aduanctl(f->env, &run, H_ANSWER_MS, "quarantine", NULL), 0);
    assert_true(h_contains(run.out, "boundary never appears"));
    h_run_clear(&run);

    /* and the daemon goes on */
    positive_control(f, &next, 1, 1);
    assert_int_equal(stat_int(f->env, "complaints"), 1);
    assert_int_equal(mail_count(f, f->office.user, "INBOX"), 0);
    h_pass(f->env);
}

/* ---- groups -------------------------------------------------------------------------------- */

int main(int argc, char **argv)
{
    static const struct {
        const char *name;
        struct CMUnitTest test;
    } groups[] = {
        {"flow", cmocka_unit_test_teardown(test_flow, teardown)},
        {"automatic", cmocka_unit_test_teardown(test_automatic, teardown)},
        {"bounce", cmocka_unit_test_teardown(test_bounce, teardown)},
        {"smtp_down", cmocka_unit_test_teardown(test_smtp_down, start_spare)},
        {"slow_smtp", cmocka_unit_test_teardown(test_slow_smtp, stop_slow_link)},
        {"malformed", cmocka_unit_test_teardown(test_malformed, teardown)},
    };
    const size_t count = sizeof groups / sizeof groups[0];
    struct CMUnitTest chosen[sizeof groups / sizeof groups[0]];
    size_t n = 0;
    for (size_t i = 0; i < count; i++)
        for (int a = 1; a < argc || (a == 1 && argc == 1); a++)
            if (argc == 1 || strcmp(argv[a], groups[i].name) == 0) {
                chosen[n++] = groups[i].test;
                break;
            }
    if (n == 0) {
        fprintf(stderr, "usage: %s [flow|automatic|bounce|smtp_down|slow_smtp|malformed]...\n",
                argv[0]);
        return 2;
    }
    return _cmocka_run_group_tests("email_flow", chosen, n, NULL, NULL);
}
