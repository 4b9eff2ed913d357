/*  test_gateway_intake.c - the real aduan-gatewayd on a temporary state directory, driven
    over its ipc:// sockets by test adapters: tickets, dedupe, acknowledgements and staff
    notices through the outbox, RESULTs and retries, events, follow-ups, status queries,
    what is refused and kept in quarantine, the state directory's lock, a clean stop, and
    --check. Each test has a daemon of its own (see harness.h). */
#include "harness.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CITIZEN_PHONE "+6281234567890"
#define CITIZEN_PHONE_MASKED "+62812****7890"
#define CITIZEN_MAIL "siti.aminah@example.org"

/* ---- helpers ------------------------------------------------------------------------------ */

static void expect_ack(const aduan_msg_t *answer, const char *disposition)
{
    assert_non_null(answer);
    if (answer->type == ADUAN_MSG_NACK)
        fail_msg("NACK (%s): %s", answer->nack.permanent ? "permanent" : "temporary",
                 answer->nack.reason);
    assert_int_equal(answer->type, ADUAN_MSG_ACK);
    assert_string_equal(answer->ack.disposition, disposition);
}

/* Sends a complaint and expects ACK new; the ticket goes to ticket. */
static void new_ticket(h_adapter_t *a, const char *key, const char *from, const char *subject,
                       const char *text, char ticket[40])
{
    aduan_msg_t *m = h_intake_new(a->channel, key, from, subject, text);
    aduan_msg_t *ack = h_adapter_intake(a, &m);
    expect_ack(ack, "new");
    assert_true(h_ticket_valid(ack->ack.ticket));
    snprintf(ticket, 40, "%s", ack->ack.ticket);
    aduan_msg_destroy(&ack);
}

static const char *str(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

static json_int_t num(const json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_integer(v))
        fail_msg("\"%s\" is not an integer", key);
    return json_integer_value(v);
}

static json_t *outbox_row(const json_t *show, uint64_t id)
{
    size_t i;
    json_t *row;
    json_array_foreach(json_object_get(show, "outbox"), i, row)
        if (num(row, "id") == (json_int_t)id)
            return row;
    fail_msg("no outbox row %llu in show", (unsigned long long)id);
    return NULL;
}

static size_t thread_count(const json_t *show, const char *direction)
{
    size_t i, n = 0;
    json_t *row;
    json_array_foreach(json_object_get(show, "thread"), i, row)
        n += strcmp(str(row, "direction"), direction) == 0;
    return n;
}

static json_int_t stat_total(const h_env_t *env, const char *key)
{
    json_t *stats = h_control_ok(env, "stats", NULL);
    json_int_t v = num(stats, key);
    json_decref(stats);
    return v;
}

static json_int_t service_counter(const json_t *stats, const char *key)
{
    return num(json_object_get(json_object_get(stats, "service"), "counters"), key);
}

/* Events published before a subscription reaches the core are lost (PUB/SUB): until one
   arrives, intakes are sent as probes and the socket is watched. Returns how many probe
   complaints it made: one, or more when the subscription was slow to join (under load). */
static int join_events(h_adapter_t *a, zsock_t *sub)
{
    for (int probe = 0; probe < 20; probe++) {
        char key[32], ticket[40];
        snprintf(key, sizeof key, "probe-%d", probe);
        new_ticket(a, key, NULL, "probe", "probe", ticket);
        aduan_msg_t *ev = h_events_wait(sub, NULL, NULL, 500);
        if (ev) {
            aduan_msg_destroy(&ev);
            /* drop what else the probes caused */
            while ((ev = h_events_wait(sub, NULL, NULL, 100)) != NULL)
                aduan_msg_destroy(&ev);
            return probe + 1;
        }
    }
    fail_msg("no event on %s after 20 probes", "the events endpoint");
    return 0;
}

/* ---- tickets and dedupe ------------------------------------------------------------------- */

static void test_new_then_duplicate(void **state)
{
    h_env_t *env = *state;
    h_adapter_t *a = h_adapter_new(env, "phone", "line-1");

    aduan_msg_t *m = h_intake_new("phone", "call-0001", CITIZEN_PHONE, "Izin usaha belum terbit",
                                  "Sudah tiga minggu berkas saya belum diproses.");
    char id[ADUAN_MSG_ID_MAX + 1];
    snprintf(id, sizeof id, "%s", m->id);
    aduan_msg_t *ack = h_adapter_intake(a, &m);
    expect_ack(ack, "new");
    assert_string_equal(ack->ack.ref, id);
    assert_true(h_ticket_valid(ack->ack.ticket));
    char ticket[40];
    snprintf(ticket, sizeof ticket, "%s", ack->ack.ticket);
    aduan_msg_destroy(&ack);

    /* the same item again (the adapter lost the ACK, say): another message id, even another
       text, but the same dedupe key: the same ticket, nothing new */
    m = h_intake_new("phone", "call-0001", CITIZEN_PHONE, "Izin usaha belum terbit",
                     "dikirim ulang");
    ack = h_adapter_intake(a, &m);
    expect_ack(ack, "duplicate");
    assert_string_equal(ack->ack.ticket, ticket);
    aduan_msg_destroy(&ack);

    json_t *show = h_show(env, ticket);
    assert_string_equal(str(show, "ticket"), ticket);
    assert_string_equal(str(show, "subject"), "Izin usaha belum terbit");
    assert_string_equal(str(show, "status"), "recorded");
    assert_string_equal(str(show, "channel"), "phone");
    assert_int_equal(thread_count(show, "in"), 1);
    json_decref(show);

    json_t *stats = h_control_ok(env, "stats", NULL);
    assert_int_equal(num(stats, "complaints"), 1);
    assert_int_equal(num(stats, "intakes"), 1);
    assert_int_equal(service_counter(stats, "tickets"), 1);
    assert_int_equal(service_counter(stats, "duplicates"), 1);
    json_decref(stats);
    h_adapter_destroy(&a);
    h_pass(env);
}

static void test_fifty_gap_free(void **state)
{
    h_env_t *env = *state;
    enum { N = 50 };
    h_adapter_t *a = h_adapter_new(env, "sms", "modem-1");
    char ids[N][ADUAN_MSG_ID_MAX + 1];
    /* all in flight at once: they share batches, and one DEALER keeps their order */
    for (int i = 0; i < N; i++) {
        char key[32], from[32], text[64];
        snprintf(key, sizeof key, "sms-batch-%02d", i);
        snprintf(from, sizeof from, "+628570000%04d", i);
        snprintf(text, sizeof text, "Pengaduan nomor %d", i);
        aduan_msg_t *m = h_intake_new("sms", key, from, NULL, text);
        snprintf(ids[i], sizeof ids[i], "%s", m->id);
        assert_int_equal(h_adapter_send(a, m), 0);
        aduan_msg_destroy(&m);
    }
    long first = -1;
    char year[9] = "";
    for (int i = 0; i < N; i++) {
        aduan_msg_t *ack = h_adapter_wait_answer(a, ids[i], H_ANSWER_MS);
        if (!ack)
            fail_msg("no answer to intake %d", i);
        expect_ack(ack, "new");
        long n = h_ticket_number(ack->ack.ticket);
        assert_true(n > 0);
        if (i == 0) {
            first = n;
            snprintf(year, sizeof year, "%.8s", ack->ack.ticket); /* "ADU-2026" */
        }
        assert_int_equal(n, first + i);
        assert_memory_equal(ack->ack.ticket, year, 8);
        aduan_msg_destroy(&ack);
    }
    assert_int_equal(first, 1); /* a fresh registry starts at 1 */
    assert_int_equal(stat_total(env, "complaints"), N);
    h_adapter_destroy(&a);
    h_pass(env);
}

/* ---- the outbox --------------------------------------------------------------------------- */

static void test_ack_and_notices_delivered(void **state)
{
    h_env_t *env = *state;
    /* a channel that answers the way items came (not "phone": a telephone complaint is
       answered by SMS or a call-back, tests/phone) */
    h_adapter_t *phone = h_adapter_new(env, "kiosk", "line-1");
    h_adapter_t *email = h_adapter_new(env, "email", "pengaduan@dpmptsp");
    h_adapter_t *sms = h_adapter_new(env, "sms", "modem-1");
    char ticket[40];
    new_ticket(phone, "call-0002", CITIZEN_PHONE, "Jalan rusak di depan kantor",
               "Mohon perbaikan jalan rusak di depan kantor kecamatan.", ticket);

    const aduan_msg_t *d = h_adapter_wait_deliver(phone, "ack", ticket, H_ANSWER_MS);
    if (!d)
        fail_msg("no DELIVER kind=ack for %s to the kiosk adapter", ticket);
    assert_string_equal(d->deliver.channel, "kiosk");
    assert_string_equal(d->deliver.to_addr, CITIZEN_PHONE);
    assert_true(h_contains(d->deliver.text, ticket));
    assert_true(d->deliver.automatic);
    assert_int_equal(d->deliver.attempt, 1);
    assert_true(d->deliver.message_id && *d->deliver.message_id);

    d = h_adapter_wait_deliver(email, "notice", ticket, H_ANSWER_MS);
    if (!d)
        fail_msg("no DELIVER kind=notice for %s to the email adapter", ticket);
    assert_string_equal(d->deliver.to_addr, H_HELPDESK_EMAIL);
    assert_string_equal(d->deliver.to_name, H_HELPDESK_NAME);
    assert_false(d->deliver.automatic);
    assert_true(h_contains(d->deliver.subject, ticket));
    assert_true(h_contains(d->deliver.text, ticket));
    /* staff see the sender masked */
    assert_false(h_contains(d->deliver.text, CITIZEN_PHONE));

    d = h_adapter_wait_deliver(sms, "notice", ticket, H_ANSWER_MS);
    if (!d)
        fail_msg("no DELIVER kind=notice for %s to the sms adapter", ticket);
    assert_string_equal(d->deliver.to_addr, H_HELPDESK_PHONE);
    assert_true(h_contains(d->deliver.text, ticket));

    /* every adapter answered RESULT sent at once: once committed, the three rows are sent,
       and nothing went to the head of office (only the help desk hears of new tickets) */
    h_adapter_sync(phone);
    h_adapter_sync(email);
    h_adapter_sync(sms);
    json_t *show = h_show(env, ticket);
    json_t *outbox = json_object_get(show, "outbox");
    assert_int_equal(json_array_size(outbox), 3);
    size_t i;
    json_t *row;
    json_array_foreach(outbox, i, row) {
        assert_string_equal(str(row, "status"), "sent");
        assert_string_not_equal(str(row, "to"), H_HEAD_PHONE);
    }
    assert_int_equal(thread_count(show, "out"), 1); /* the acknowledgement; notices are not */
    json_decref(show);
    h_adapter_destroy(&phone);
    h_adapter_destroy(&email);
    h_adapter_destroy(&sms);
    h_pass(env);
}

static void test_result_sent_threads_out(void **state)
{
    h_env_t *env = *state;
    h_adapter_t *a = h_adapter_new(env, "email", "pengaduan@dpmptsp");
    a->auto_result = NULL;
    char ticket[40];
    new_ticket(a, "imap:1:101", CITIZEN_MAIL, "Antrian loket terlalu lama",
               "Saya antri tiga jam di loket perizinan.", ticket);
    const aduan_msg_t *d = h_adapter_wait_deliver(a, "ack", ticket, H_ANSWER_MS);
    if (!d)
        fail_msg("no DELIVER kind=ack for %s", ticket);
    uint64_t id = d->deliver.outbox_id;

    json_t *show = h_show(env, ticket);
    assert_string_equal(str(outbox_row(show, id), "status"), "sending");
    assert_int_equal(thread_count(show, "out"), 0);
    json_decref(show);

    assert_int_equal(h_adapter_result(a, id, "sent", NULL), 0);
    h_adapter_sync(a);
    show = h_show(env, ticket);
    json_t *row = outbox_row(show, id);
    assert_string_equal(str(row, "status"), "sent");
    assert_int_equal(num(row, "attempts"), 1);
    assert_true(json_is_string(json_object_get(row, "sent_at")));
    assert_int_equal(thread_count(show, "out"), 1);
    size_t i;
    json_t *msg;
    json_array_foreach(json_object_get(show, "thread"), i, msg) {
        if (strcmp(str(msg, "direction"), "out") != 0)
            continue;
        assert_string_equal(str(msg, "to"), CITIZEN_MAIL);
        assert_string_equal(str(msg, "body"), d->deliver.text);
        assert_string_equal(str(msg, "message_ref"), d->deliver.message_id);
    }
    json_decref(show);

    /* a second RESULT sent (a retried report) does not thread it twice; delivered marks it */
    assert_int_equal(h_adapter_result(a, id, "sent", NULL), 0);
    assert_int_equal(h_adapter_result(a, id, "delivered", NULL), 0);
    h_adapter_sync(a);
    show = h_show(env, ticket);
    row = outbox_row(show, id);
    assert_string_equal(str(row, "status"), "delivered");
    assert_true(json_is_string(json_object_get(row, "delivered_at")));
    assert_int_equal(thread_count(show, "out"), 1);
    json_decref(show);
    h_adapter_destroy(&a);
    h_pass(env);
}

static void test_result_temporary_retried(void **state)
{
    h_env_t *env = *state; /* retry_base_s = 1, deliver_timeout_s = 2 */
    h_adapter_t *a = h_adapter_new(env, "sms", "modem-1");
    a->auto_result = NULL;
    char ticket[40];
    new_ticket(a, "sms:modem-1:0001", CITIZEN_PHONE, NULL, "Retribusi tidak jelas.", ticket);
    const aduan_msg_t *d1 = h_adapter_wait_deliver(a, "ack", ticket, H_ANSWER_MS);
    if (!d1)
        fail_msg("no DELIVER kind=ack for %s", ticket);
    assert_int_equal(d1->deliver.attempt, 1);

    int64_t t0 = h_now_ms();
    assert_int_equal(h_adapter_result(a, d1->deliver.outbox_id, "temporary", "modem sibuk"), 0);
    const aduan_msg_t *d2 = h_adapter_wait_deliver(a, "ack", ticket, 10000);
    int64_t waited = h_now_ms() - t0;
    if (!d2)
        fail_msg("the ack of %s did not come back within 10 s after RESULT temporary", ticket);
    assert_int_equal(d2->deliver.outbox_id, d1->deliver.outbox_id);
    assert_int_equal(d2->deliver.attempt, 2);
    assert_string_equal(d2->deliver.message_id, d1->deliver.message_id);
    assert_string_equal(d2->deliver.text, d1->deliver.text);
    /* not before its backoff (1 s), with a little room for the clocks' granularity */
    if (waited < 900)
        fail_msg("retried after %lld ms, before the 1 s backoff", (long long)waited);

    assert_int_equal(h_adapter_result(a, d2->deliver.outbox_id, "sent", NULL), 0);
    h_adapter_sync(a);
    json_t *show = h_show(env, ticket);
    json_t *row = outbox_row(show, d1->deliver.outbox_id);
    assert_string_equal(str(row, "status"), "sent");
    assert_int_equal(num(row, "attempts"), 2);
    assert_int_equal(thread_count(show, "out"), 1);
    json_decref(show);
    h_adapter_destroy(&a);
    h_pass(env);
}

static void test_no_result_redelivered(void **state)
{
    h_env_t *env = *state; /* deliver_timeout_s = 2, retry_base_s = 1 */
    h_adapter_t *a = h_adapter_new(env, "sms", "modem-1");
    a->auto_result = NULL;
    char ticket[40];
    new_ticket(a, "sms:modem-1:0002", CITIZEN_PHONE, NULL, "Petugas tidak ramah.", ticket);
    const aduan_msg_t *d1 = h_adapter_wait_deliver(a, "ack", ticket, H_ANSWER_MS);
    if (!d1)
        fail_msg("no DELIVER kind=ack for %s", ticket);
    int64_t t0 = h_now_ms();
    /* no RESULT: after deliver_timeout the attempt counts as failed and it comes again */
    const aduan_msg_t *d2 = h_adapter_wait_deliver(a, "ack", ticket, 15000);
    int64_t waited = h_now_ms() - t0;
    if (!d2)
        fail_msg("an ack without RESULT was not handed out again within 15 s");
    assert_int_equal(d2->deliver.outbox_id, d1->deliver.outbox_id);
    assert_int_equal(d2->deliver.attempt, 2);
    if (waited < 1900)
        fail_msg("handed out again after %lld ms, before deliver_timeout (2 s)",
                 (long long)waited);
    assert_int_equal(h_adapter_result(a, d2->deliver.outbox_id, "sent", NULL), 0);
    h_adapter_sync(a);
    json_t *show = h_show(env, ticket);
    assert_string_equal(str(outbox_row(show, d1->deliver.outbox_id), "status"), "sent");
    json_decref(show);
    h_adapter_destroy(&a);
    h_pass(env);
}

/* max_attempts = 2: two temporary failures and the row is failed, an outbox.failed event
   goes out and the help desk is told by email and SMS; a permanent one fails at once. */
static int setup_two_attempts(void **state)
{
    h_env_t *env = h_env_new(&(h_options_t){.max_attempts = 2});
    *state = env;
    return h_daemon_start(env);
}

static void test_failed_after_last_try(void **state)
{
    h_env_t *env = *state;
    h_adapter_t *phone = h_adapter_new(env, "kiosk", "line-1"); /* answers itself */
    h_adapter_t *email = h_adapter_new(env, "email", "pengaduan@dpmptsp");
    h_adapter_t *sms = h_adapter_new(env, "sms", "modem-1");
    phone->auto_result = NULL;
    zsock_t *sub = h_events_sub(env);
    join_events(phone, sub);
    char ticket[40];
    new_ticket(phone, "call-fail-1", CITIZEN_PHONE, "Nomor salah", "Tolong dibantu.", ticket);
    for (int attempt = 1; attempt <= 2; attempt++) {
        const aduan_msg_t *d = h_adapter_wait_deliver(phone, "ack", ticket, 10000);
        if (!d)
            fail_msg("attempt %d of the ack of %s never came", attempt, ticket);
        assert_int_equal(d->deliver.attempt, attempt);
        assert_int_equal(h_adapter_result(phone, d->deliver.outbox_id, "temporary",
                                          "nomor tidak aktif"),
                         0);
    }
    aduan_msg_t *ev = h_events_wait(sub, "outbox.failed", ticket, H_ANSWER_MS);
    if (!ev)
        fail_msg("no outbox.failed event for the ack of %s", ticket);
    aduan_msg_destroy(&ev);
    /* the help desk hears of it, with the reason */
    const aduan_msg_t *n = NULL;
    for (const aduan_msg_t *x; !n && (x = h_adapter_wait_deliver(email, "notice", ticket,
                                                                  H_ANSWER_MS));)
        if (h_contains(x->deliver.text, "nomor tidak aktif"))
            n = x;
    if (!n)
        fail_msg("the help desk got no email about the failed ack of %s", ticket);
    assert_string_equal(n->deliver.to_addr, H_HELPDESK_EMAIL);
    n = NULL;
    for (const aduan_msg_t *x; !n && (x = h_adapter_wait_deliver(sms, "notice", ticket,
                                                                  H_ANSWER_MS));)
        if (h_contains(x->deliver.text, "gagal"))
            n = x;
    if (!n)
        fail_msg("the help desk got no SMS about the failed ack of %s", ticket);
    /* and never a third try */
    h_adapter_pump(phone, 1500);
    assert_null(h_adapter_wait_deliver(phone, "ack", ticket, 0));

    /* permanent: failed at the first answer */
    char ticket2[40];
    new_ticket(phone, "call-fail-2", "+6281200000000", NULL, "Tolong.", ticket2);
    const aduan_msg_t *d = h_adapter_wait_deliver(phone, "ack", ticket2, H_ANSWER_MS);
    assert_non_null(d);
    assert_int_equal(h_adapter_result(phone, d->deliver.outbox_id, "permanent", "no such number"),
                     0);
    ev = h_events_wait(sub, "outbox.failed", ticket2, H_ANSWER_MS);
    if (!ev)
        fail_msg("no outbox.failed event after RESULT permanent");
    aduan_msg_destroy(&ev);
    h_adapter_sync(phone);
    h_adapter_sync(email);
    h_adapter_sync(sms);
    json_t *show = h_show(env, ticket);
    json_t *row = NULL, *x;
    size_t i;
    json_array_foreach(json_object_get(show, "outbox"), i, x)
        if (strcmp(str(x, "kind"), "ack") == 0)
            row = x;
    assert_non_null(row);
    assert_string_equal(str(row, "status"), "failed");
    assert_int_equal(num(row, "attempts"), 2);
    assert_string_equal(str(row, "last_error"), "nomor tidak aktif");
    assert_int_equal(thread_count(show, "out"), 0);
    json_decref(show);
    h_adapter_destroy(&phone);
    h_adapter_destroy(&email);
    h_adapter_destroy(&sms);
    h_pass(env);
}

/* auto_replies_per_day = 2: the third automatic reply to one address that day is kept,
   suppressed, never handed out; an item flagged automatic gets no reply at all. */
static int setup_two_replies(void **state)
{
    h_env_t *env = h_env_new(&(h_options_t){.auto_replies_per_day = 2});
    *state = env;
    return h_daemon_start(env);
}

static void test_auto_replies_limited(void **state)
{
    h_env_t *env = *state;
    h_adapter_t *a = h_adapter_new(env, "email", "pengaduan@dpmptsp");
    char tickets[3][40];
    for (int i = 0; i < 3; i++) {
        char key[32];
        snprintf(key, sizeof key, "imap:5:%d", i);
        new_ticket(a, key, CITIZEN_MAIL, "Berulang", "Pengaduan berulang.", tickets[i]);
    }
    assert_non_null(h_adapter_wait_deliver(a, "ack", tickets[0], H_ANSWER_MS));
    assert_non_null(h_adapter_wait_deliver(a, "ack", tickets[1], H_ANSWER_MS));
    /* a mailer's bounce or an out-of-office: never answered automatically */
    aduan_msg_t *m = h_intake_new("email", "imap:5:auto", "mailer-daemon@example.org",
                                  "Undelivered Mail", "bounce");
    m->intake.flags = ADUAN_INTAKE_AUTOMATIC;
    char auto_ticket[40];
    aduan_msg_t *answer = h_adapter_intake(a, &m);
    expect_ack(answer, "new");
    snprintf(auto_ticket, sizeof auto_ticket, "%s", answer->ack.ticket);
    aduan_msg_destroy(&answer);
    h_adapter_pump(a, 1000);
    assert_null(h_adapter_wait_deliver(a, "ack", tickets[2], 0));
    assert_null(h_adapter_wait_deliver(a, "ack", auto_ticket, 0));
    h_adapter_sync(a);

    json_t *show = h_show(env, tickets[2]);
    size_t i;
    json_t *row;
    bool suppressed = false;
    json_array_foreach(json_object_get(show, "outbox"), i, row)
        if (strcmp(str(row, "kind"), "ack") == 0)
            suppressed = strcmp(str(row, "status"), "suppressed") == 0;
    assert_true(suppressed);
    json_decref(show);
    show = h_show(env, auto_ticket);
    json_array_foreach(json_object_get(show, "outbox"), i, row)
        assert_string_not_equal(str(row, "kind"), "ack");
    json_decref(show);
    h_adapter_destroy(&a);
    h_pass(env);
}

/* Attachments travel as frames of their own and are listed by show with size and hash. */
static void test_attachments_kept(void **state)
{
    h_env_t *env = *state;
    h_adapter_t *a = h_adapter_new(env, "email", "pengaduan@dpmptsp");
    aduan_msg_t *m = h_intake_new("email", "imap:6:1", CITIZEN_MAIL, "Foto jalan",
                                  "Foto terlampir.");
    static const unsigned char png[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 1, 2};
    assert_int_equal(aduan_msg_attach(m, "jalan.png", "image/png", png, sizeof png), 0);
    assert_int_equal(aduan_msg_attach(m, "kosong.txt", "text/plain", NULL, 0), 0);
    m->intake.flags = ADUAN_INTAKE_INCOMPLETE;
    aduan_msg_t *answer = h_adapter_intake(a, &m);
    expect_ack(answer, "new");
    char ticket[40];
    snprintf(ticket, sizeof ticket, "%s", answer->ack.ticket);
    aduan_msg_destroy(&answer);
    json_t *show = h_show(env, ticket);
    assert_int_equal(num(show, "incomplete"), 1);
    json_t *att = json_object_get(show, "attachments");
    assert_int_equal(json_array_size(att), 2);
    json_t *first = json_array_get(att, 0);
    assert_string_equal(str(first, "name"), "jalan.png");
    assert_string_equal(str(first, "content_type"), "image/png");
    assert_int_equal(num(first, "size"), (json_int_t)sizeof png);
    assert_int_equal(strlen(str(first, "sha256")), 64);
    assert_int_equal(num(json_array_get(att, 1), "size"), 0);
    json_decref(show);
    h_adapter_destroy(&a);
    h_pass(env);
}

/* ---- events ------------------------------------------------------------------------------- */

static void test_events_published(void **state)
{
    h_env_t *env = *state;
    h_adapter_t *a = h_adapter_new(env, "kiosk", "line-1"); /* answers the way items came */
    zsock_t *sub = h_events_sub(env);
    join_events(a, sub);

    char ticket[40];
    new_ticket(a, "call-0003", CITIZEN_PHONE, "Sertifikat belum jadi", "Sudah dua bulan.",
               ticket);
    aduan_msg_t *ev = h_events_wait(sub, "ticket.new", ticket, H_ANSWER_MS);
    if (!ev)
        fail_msg("no ticket.new event for %s", ticket);
    json_t *detail = json_loads(ev->event.detail, 0, NULL);
    assert_non_null(detail);
    assert_string_equal(str(detail, "channel"), "kiosk");
    assert_string_equal(str(detail, "subject"), "Sertifikat belum jadi");
    /* watchers see the sender masked */
    assert_string_equal(str(detail, "from"), CITIZEN_PHONE_MASKED);
    json_decref(detail);
    aduan_msg_destroy(&ev);

    /* the adapter answers the acknowledgement with RESULT sent: outbox.sent follows */
    assert_non_null(h_adapter_wait_deliver(a, "ack", ticket, H_ANSWER_MS));
    ev = h_events_wait(sub, "outbox.sent", ticket, H_ANSWER_MS);
    if (!ev)
        fail_msg("no outbox.sent event for the ack of %s", ticket);
    detail = json_loads(ev->event.detail, 0, NULL);
    assert_non_null(detail);
    assert_string_equal(str(detail, "kind"), "ack");
    json_decref(detail);
    aduan_msg_destroy(&ev);
    h_adapter_destroy(&a);
    h_pass(env);
}

/* ---- threading and status ----------------------------------------------------------------- */

static void test_followup(void **state)
{
    h_env_t *env = *state;
    h_adapter_t *a = h_adapter_new(env, "email", "pengaduan@dpmptsp");
    a->auto_result = NULL;
    zsock_t *sub = h_events_sub(env);
    char ticket[40];
    new_ticket(a, "imap:1:201", CITIZEN_MAIL, "Papan nama usaha", "Izin reklame ditolak.",
               ticket);
    const aduan_msg_t *ack = h_adapter_wait_deliver(a, "ack", ticket, H_ANSWER_MS);
    assert_non_null(ack);
    assert_int_equal(h_adapter_result(a, ack->deliver.outbox_id, "sent", NULL), 0);
    int probes = join_events(a, sub);

    /* by the ticket the channel found in the subject */
    aduan_msg_t *m = h_intake_new("email", "imap:1:202", CITIZEN_MAIL, "Re: Papan nama usaha",
                                  "Tambahan: foto papan nama terlampir.");
    aduan_msg_set(&m->intake.thread_ticket, ticket);
    aduan_msg_t *answer = h_adapter_intake(a, &m);
    expect_ack(answer, "followup");
    assert_string_equal(answer->ack.ticket, ticket);
    aduan_msg_destroy(&answer);
    aduan_msg_t *ev = h_events_wait(sub, "ticket.followup", ticket, H_ANSWER_MS);
    if (!ev)
        fail_msg("no ticket.followup event for %s", ticket);
    aduan_msg_destroy(&ev);
    const aduan_msg_t *d = h_adapter_wait_deliver(a, "ack", ticket, H_ANSWER_MS);
    if (!d)
        fail_msg("no acknowledgement of the follow-up to %s", ticket);
    assert_string_equal(d->deliver.to_addr, CITIZEN_MAIL);
    assert_true(h_contains(d->deliver.text, ticket));
    assert_true(h_contains(d->deliver.text, "Tambahan"));
    assert_int_equal(h_adapter_result(a, d->deliver.outbox_id, "sent", NULL), 0);

    /* by In-Reply-To: the Message-ID of the acknowledgement we sent */
    m = h_intake_new("email", "imap:1:203", CITIZEN_MAIL, "Re: Pengaduan Anda",
                     "Satu lagi: nomor izin 503/123.");
    aduan_msg_set(&m->intake.in_reply_to, ack->deliver.message_id);
    answer = h_adapter_intake(a, &m);
    expect_ack(answer, "followup");
    assert_string_equal(answer->ack.ticket, ticket);
    aduan_msg_destroy(&answer);

    json_t *show = h_show(env, ticket);
    assert_int_equal(thread_count(show, "in"), 3);
    json_decref(show);
    assert_int_equal(stat_total(env, "complaints"), 1 + probes); /* and join_events' */
    h_adapter_destroy(&a);
    h_pass(env);
}

/* followup_ack.txt says "Status saat ini: {{state}}." */
static void test_followup_ack_names_state(void **state)
{
    h_env_t *env = *state;
    h_adapter_t *a = h_adapter_new(env, "email", "pengaduan@dpmptsp");
    char ticket[40];
    new_ticket(a, "imap:1:301", CITIZEN_MAIL, "IMB", "Pengajuan IMB tertahan.", ticket);
    aduan_msg_t *m = h_intake_new("email", "imap:1:302", CITIZEN_MAIL, "Re: IMB", "Tambahan.");
    aduan_msg_set(&m->intake.thread_ticket, ticket);
    aduan_msg_t *answer = h_adapter_intake(a, &m);
    expect_ack(answer, "followup");
    aduan_msg_destroy(&answer);
    assert_non_null(h_adapter_wait_deliver(a, "ack", ticket, H_ANSWER_MS)); /* the first */
    const aduan_msg_t *d = h_adapter_wait_deliver(a, "ack", ticket, H_ANSWER_MS);
    assert_non_null(d);
    assert_true(h_contains(d->deliver.text, "Tambahan keterangan"));
    if (!h_contains(d->deliver.text, "Status saat ini: Tercatat"))
        fail_msg("the follow-up acknowledgement does not name the state:\n%s", d->deliver.text);

    /* a follow-up from another address joins the ticket but is not told its state */
    m = h_intake_new("email", "imap:1:303", "orang.lain@example.net", "Re: IMB", "Saya juga.");
    aduan_msg_set(&m->intake.thread_ticket, ticket);
    answer = h_adapter_intake(a, &m);
    expect_ack(answer, "followup");
    aduan_msg_destroy(&answer);
    d = h_adapter_wait_deliver(a, "ack", ticket, H_ANSWER_MS);
    assert_non_null(d);
    assert_string_equal(d->deliver.to_addr, "orang.lain@example.net");
    assert_false(h_contains(d->deliver.text, "Tercatat"));
    assert_true(h_contains(d->deliver.text, "hanya disampaikan kepada pelapor"));
    h_adapter_destroy(&a);
    h_pass(env);
}

static aduan_msg_t *status_query(const char *key, const char *from, const char *ticket)
{
    aduan_msg_t *m = aduan_msg_new(ADUAN_MSG_INTAKE);
    aduan_msg_set(&m->intake.channel, "sms");
    aduan_msg_set(&m->intake.account, "modem-1");
    aduan_msg_set(&m->intake.dedupe_key, key);
    aduan_msg_set(&m->intake.intent, "status");
    aduan_msg_set(&m->intake.from_addr, from);
    aduan_msg_set(&m->intake.text, "CEK");
    aduan_msg_set(&m->intake.thread_ticket, ticket);
    return m;
}

static void test_status_query(void **state)
{
    h_env_t *env = *state;
    h_adapter_t *a = h_adapter_new(env, "sms", "modem-1");
    char ticket[40];
    new_ticket(a, "sms:1", CITIZEN_PHONE, NULL, "Izin lokasi lama sekali.", ticket);

    aduan_msg_t *m = status_query("sms:2", CITIZEN_PHONE, ticket);
    aduan_msg_t *answer = h_adapter_intake(a, &m);
    expect_ack(answer, "status");
    assert_string_equal(answer->ack.ticket, ticket);
    aduan_msg_destroy(&answer);
    const aduan_msg_t *d = h_adapter_wait_deliver(a, "status", ticket, H_ANSWER_MS);
    if (!d)
        fail_msg("no DELIVER kind=status for %s", ticket);
    assert_string_equal(d->deliver.to_addr, CITIZEN_PHONE);
    assert_true(h_contains(d->deliver.text, ticket));
    assert_true(h_contains(d->deliver.text, "Tercatat")); /* recorded, in Indonesian */

    /* a ticket that does not exist: an answer saying so, and no ticket in the ACK */
    m = status_query("sms:3", CITIZEN_PHONE, "ADU-1999-99999");
    answer = h_adapter_intake(a, &m);
    expect_ack(answer, "status");
    assert_true(answer->ack.ticket == NULL || *answer->ack.ticket == '\0');
    aduan_msg_destroy(&answer);
    d = h_adapter_wait_deliver(a, "status", NULL, H_ANSWER_MS);
    if (!d)
        fail_msg("no DELIVER kind=status for an unknown ticket");
    assert_true(h_contains(d->deliver.text, "ADU-1999-99999"));
    assert_true(h_contains(d->deliver.text, "tidak ditemukan"));
    assert_int_equal(stat_total(env, "complaints"), 1);
    h_adapter_destroy(&a);
    h_pass(env);
}

/* status_unknown.txt: "nomor tiket ... tidak ditemukan, atau tidak tercatat atas alamat
   email maupun nomor telepon pengirim pesan ini": a stranger's CEK learns nothing. */
static void test_status_query_from_stranger(void **state)
{
    h_env_t *env = *state;
    h_adapter_t *a = h_adapter_new(env, "sms", "modem-1");
    char ticket[40];
    new_ticket(a, "sms:1", CITIZEN_PHONE, NULL, "Pungutan liar di loket.", ticket);
    aduan_msg_t *m = status_query("sms:2", "+6289900001111", ticket);
    aduan_msg_t *answer = h_adapter_intake(a, &m);
    expect_ack(answer, "status");
    aduan_msg_destroy(&answer);
    const aduan_msg_t *d = NULL;
    for (const aduan_msg_t *x; (x = h_adapter_wait_deliver(a, "status", NULL, H_ANSWER_MS));)
        if (strcmp(x->deliver.to_addr, "+6289900001111") == 0) {
            d = x;
            break;
        }
    if (!d)
        fail_msg("no answer to the stranger's status query");
    if (h_contains(d->deliver.text, "Tercatat") || !h_contains(d->deliver.text, "tidak ditemukan"))
        fail_msg("a status query from %s, not the complainant, was told the state of %s:\n%s",
                 "+6289900001111", ticket, d->deliver.text);
    h_adapter_destroy(&a);
    h_pass(env);
}

/* ---- refusals and quarantine -------------------------------------------------------------- */

/* The sixteen fields of an INTAKE as frames, subject as given (bus.c's schema order). */
static zmsg_t *intake_by_hand(const char *id, const char *key, const char *subject)
{
    zmsg_t *zm = zmsg_new();
    const char *frames[] = {
        ADUAN_PROTOCOL, "INTAKE", id,
        "email",             /* channel */
        "pengaduan@dpmptsp", /* account */
        key,                 /* dedupe_key */
        "complaint",         /* intent */
        CITIZEN_MAIL,        /* from_addr */
        "Siti",              /* from_name */
        "",                  /* received_at */
        subject,             /* subject */
        "isi pengaduan",     /* text */
        "", "", "", "",      /* thread_ticket, in_reply_to, references, message_ref */
        "",                  /* flags */
        "",                  /* quarantine_reason */
        "", "",              /* call_status, call_seconds */
        "",                  /* reply_channel */
        "",                  /* raw */
    };
    for (size_t i = 0; i < sizeof frames / sizeof frames[0]; i++)
        zmsg_addstr(zm, frames[i]);
    return zm;
}

static json_t *quarantine_with(const json_t *items, const char *needle)
{
    size_t i;
    json_t *row;
    json_array_foreach(items, i, row)
        if (h_contains(str(row, "reason"), needle))
            return row;
    char *text = json_dumps(items, JSON_INDENT(1));
    fprintf(stderr, "quarantine: %s\n", text);
    free(text);
    fail_msg("nothing in quarantine with a reason mentioning \"%s\"", needle);
    return NULL;
}

static void expect_nack(aduan_msg_t *answer, const char *needle)
{
    if (!answer)
        fail_msg("no NACK within %d ms", H_ANSWER_MS);
    if (answer->type != ADUAN_MSG_NACK)
        fail_msg("%s %s instead of NACK", aduan_msg_type_name(answer->type),
                 answer->ack.disposition);
    assert_true(answer->nack.permanent);
    if (!h_contains(answer->nack.reason, needle))
        fail_msg("NACK reason \"%s\" does not mention \"%s\"", answer->nack.reason, needle);
}

static void test_malformed_refused_and_quarantined(void **state)
{
    h_env_t *env = *state;
    h_adapter_t *a = h_adapter_new(env, "email", "pengaduan@dpmptsp");

    /* another protocol's tag: the core cannot trust the id frame, the NACK names "-" */
    zmsg_t *zm = intake_by_hand("bad-proto-1", "imap:9:1", "Perihal");
    zframe_t *tag = zmsg_first(zm);
    zframe_reset(tag, "ADU/9", 5);
    assert_int_equal(h_adapter_send_frames(a, &zm), 0);
    aduan_msg_t *answer = h_adapter_wait_answer(a, "-", H_ANSWER_MS);
    expect_nack(answer, "protocol");
    aduan_msg_destroy(&answer);

    /* a CR LF smuggled into the subject: a header injection, refused by the decoder */
    zm = intake_by_hand("crlf-1", "imap:9:2", "Perihal\r\nBcc: semua@example.org");
    assert_int_equal(h_adapter_send_frames(a, &zm), 0);
    answer = h_adapter_wait_answer(a, "crlf-1", H_ANSWER_MS);
    expect_nack(answer, "subject");
    assert_true(h_contains(answer->nack.reason, "control character"));
    aduan_msg_destroy(&answer);

    /* larger than bus.max_message_bytes (65536) */
    size_t big = 70000;
    char *text = malloc(big + 1);
    memset(text, 'a', big);
    text[big] = '\0';
    aduan_msg_t *m = h_intake_new("email", "imap:9:3", CITIZEN_MAIL, "Besar", text);
    free(text);
    char id[ADUAN_MSG_ID_MAX + 1];
    snprintf(id, sizeof id, "%s", m->id);
    assert_int_equal(h_adapter_send(a, m), 0);
    aduan_msg_destroy(&m);
    answer = h_adapter_wait_answer(a, id, H_ANSWER_MS);
    expect_nack(answer, "exceeds the limit of 65536");
    aduan_msg_destroy(&answer);

    /* the daemon goes on */
    char ticket[40];
    new_ticket(a, "imap:9:4", CITIZEN_MAIL, "Normal", "Pengaduan biasa.", ticket);

    json_t *q = h_control_ok(env, "quarantine", NULL);
    json_t *items = json_object_get(q, "items");
    assert_int_equal(json_array_size(items), 3);
    json_t *row = quarantine_with(items, "protocol");
    assert_true(num(row, "size") > 0);
    row = quarantine_with(items, "control character");
    assert_true(h_contains(str(row, "reason"), "subject"));
    assert_true(num(row, "size") > 0);
    assert_true(json_is_string(json_object_get(row, "raw_sha256")));
    row = quarantine_with(items, "exceeds the limit");
    assert_true(num(row, "size") > (json_int_t)big);
    json_decref(q);

    json_t *stats = h_control_ok(env, "stats", NULL);
    assert_int_equal(num(stats, "complaints"), 1);
    assert_int_equal(num(stats, "quarantined"), 3);
    assert_int_equal(service_counter(stats, "refused"), 3);
    assert_int_equal(service_counter(stats, "nacks"), 3);
    json_decref(stats);
    h_adapter_destroy(&a);
    h_pass(env);
}

static void test_channel_quarantine(void **state)
{
    h_env_t *env = *state;
    h_adapter_t *a = h_adapter_new(env, "email", "pengaduan@dpmptsp");
    zsock_t *sub = h_events_sub(env);
    int probes = join_events(a, sub);
    static const char raw[] = "From: x\r\nContent-Type: multipart/mixed; boundary=zz\r\n\r\n--zz";
    const char *reason = "MIME: boundary zz never closed";
    for (int round = 0; round < 2; round++) {
        aduan_msg_t *m = h_intake_new("email", "imap:1:777", CITIZEN_MAIL, NULL, NULL);
        aduan_msg_set(&m->intake.quarantine_reason, reason);
        m->intake.raw.data = (unsigned char *)strdup(raw);
        m->intake.raw.size = sizeof raw - 1;
        aduan_msg_t *answer = h_adapter_intake(a, &m);
        assert_int_equal(answer->type, ADUAN_MSG_ACK);
        /* first "quarantined"; sent again (a lost ACK), it is not kept twice */
        if (round == 0)
            assert_string_equal(answer->ack.disposition, "quarantined");
        assert_true(answer->ack.ticket == NULL || *answer->ack.ticket == '\0');
        aduan_msg_destroy(&answer);
        if (round == 0) {
            aduan_msg_t *ev = h_events_wait(sub, "quarantine.new", NULL, H_ANSWER_MS);
            if (!ev)
                fail_msg("no quarantine.new event");
            json_t *detail = json_loads(ev->event.detail, 0, NULL);
            assert_string_equal(str(detail, "reason"), reason);
            json_decref(detail);
            aduan_msg_destroy(&ev);
        }
    }
    json_t *q = h_control_ok(env, "quarantine", NULL);
    json_t *items = json_object_get(q, "items");
    assert_int_equal(json_array_size(items), 1);
    json_t *row = json_array_get(items, 0);
    assert_string_equal(str(row, "reason"), reason);
    assert_string_equal(str(row, "dedupe_key"), "imap:1:777");
    assert_string_equal(str(row, "channel"), "email");
    assert_int_equal(num(row, "size"), (json_int_t)(sizeof raw - 1));
    assert_true(json_is_string(json_object_get(row, "raw_sha256")));
    json_decref(q);
    assert_int_equal(stat_total(env, "complaints"), probes); /* the probes only */
    h_adapter_destroy(&a);
    h_pass(env);
}

/* ---- the bus and control contracts -------------------------------------------------------- */

static void test_hello_heartbeat_and_unexpected_type(void **state)
{
    h_env_t *env = *state;
    zsock_t *s = zsock_new(ZMQ_DEALER);
    zsock_set_linger(s, 0);
    assert_int_equal(zsock_connect(s, "%s", env->intake), 0);
    zpoller_t *poller = zpoller_new(s, NULL);

    aduan_msg_t *m = aduan_msg_new(ADUAN_MSG_HELLO);
    aduan_msg_set(&m->hello.channel, "box");
    aduan_msg_set(&m->hello.account, "lobby");
    assert_int_equal(aduan_msg_send(m, s, NULL), 0);
    aduan_msg_destroy(&m);
    assert_non_null(zpoller_wait(poller, H_ANSWER_MS));
    zmsg_t *zm = zmsg_recv(s);
    m = aduan_msg_decode(&zm, 1 << 20, NULL, NULL, 0);
    assert_non_null(m);
    assert_int_equal(m->type, ADUAN_MSG_HELLO);
    assert_string_equal(m->hello.channel, "core");
    aduan_msg_destroy(&m);

    m = aduan_msg_new(ADUAN_MSG_HEARTBEAT);
    assert_int_equal(aduan_msg_send(m, s, NULL), 0);
    aduan_msg_destroy(&m);
    assert_non_null(zpoller_wait(poller, H_ANSWER_MS));
    zm = zmsg_recv(s);
    m = aduan_msg_decode(&zm, 1 << 20, NULL, NULL, 0);
    assert_non_null(m);
    assert_int_equal(m->type, ADUAN_MSG_HEARTBEAT);
    aduan_msg_destroy(&m);

    /* a well-formed message of a type the intake endpoint does not take */
    m = aduan_msg_new(ADUAN_MSG_ACK);
    aduan_msg_set(&m->ack.ref, "x");
    aduan_msg_set(&m->ack.disposition, "new");
    char id[ADUAN_MSG_ID_MAX + 1];
    snprintf(id, sizeof id, "%s", m->id);
    assert_int_equal(aduan_msg_send(m, s, NULL), 0);
    aduan_msg_destroy(&m);
    assert_non_null(zpoller_wait(poller, H_ANSWER_MS));
    zm = zmsg_recv(s);
    m = aduan_msg_decode(&zm, 1 << 20, NULL, NULL, 0);
    assert_non_null(m);
    assert_int_equal(m->type, ADUAN_MSG_NACK);
    assert_string_equal(m->nack.ref, id);
    assert_true(m->nack.permanent);
    assert_true(h_contains(m->nack.reason, "ACK"));
    aduan_msg_destroy(&m);

    json_t *stats = h_control_ok(env, "stats", NULL);
    json_t *adapters = json_object_get(json_object_get(stats, "service"), "adapters");
    bool seen = false;
    size_t i;
    json_t *row;
    json_array_foreach(adapters, i, row)
        seen = seen || (strcmp(str(row, "channel"), "box") == 0 &&
                        strcmp(str(row, "account"), "lobby") == 0);
    assert_true(seen);
    json_decref(stats);
    zpoller_destroy(&poller);
    zsock_destroy(&s);
    h_pass(env);
}

static void test_control_contract(void **state)
{
    h_env_t *env = *state;
    char status[16];
    json_t *body = NULL;
    /* h_control checks that the REPLY carries the REQUEST's id (-2 otherwise) */
    assert_int_equal(h_control(env, "stats", NULL, H_ANSWER_MS, status, &body), 0);
    assert_string_equal(status, "ok");
    assert_true(json_is_integer(json_object_get(body, "complaints")));
    assert_true(json_is_object(json_object_get(json_object_get(body, "service"), "counters")));
    json_decref(body);

    assert_int_equal(h_control(env, "frobnicate", NULL, H_ANSWER_MS, status, &body), 0);
    assert_string_equal(status, "refused");
    assert_true(h_contains(str(body, "reason"), "unknown command"));
    json_decref(body);

    json_t *args = json_pack("{s:s}", "ticket", "ADU-1999-99999");
    assert_int_equal(h_control(env, "show", args, H_ANSWER_MS, status, &body), 0);
    json_decref(args);
    assert_string_equal(status, "refused");
    assert_true(h_contains(str(body, "reason"), "no such ticket"));
    json_decref(body);

    assert_int_equal(h_control(env, "show", NULL, H_ANSWER_MS, status, &body), 0);
    assert_string_equal(status, "refused");
    json_decref(body);

    body = h_control_ok(env, "audit-verify", NULL);
    assert_true(json_is_true(json_object_get(body, "intact")));
    json_decref(body);

    /* arguments that are not a JSON object, sent by hand */
    zsock_t *s = zsock_new(ZMQ_DEALER);
    zsock_set_linger(s, 0);
    assert_int_equal(zsock_connect(s, "%s", env->control), 0);
    zpoller_t *poller = zpoller_new(s, NULL);
    aduan_msg_t *m = aduan_msg_new(ADUAN_MSG_REQUEST);
    aduan_msg_set(&m->request.command, "list");
    aduan_msg_set(&m->request.args, "[1, 2]");
    char id[ADUAN_MSG_ID_MAX + 1];
    snprintf(id, sizeof id, "%s", m->id);
    assert_int_equal(aduan_msg_send(m, s, NULL), 0);
    aduan_msg_destroy(&m);
    assert_non_null(zpoller_wait(poller, H_ANSWER_MS));
    zmsg_t *zm = zmsg_recv(s);
    m = aduan_msg_decode(&zm, 1 << 20, NULL, NULL, 0);
    assert_non_null(m);
    assert_int_equal(m->type, ADUAN_MSG_REPLY);
    assert_string_equal(m->id, id);
    assert_string_equal(m->reply.status, "refused");
    aduan_msg_destroy(&m);

    /* garbage on the control endpoint: refused, and the core goes on */
    zm = zmsg_new();
    zmsg_addstr(zm, "GET / HTTP/1.0");
    assert_int_equal(zmsg_send(&zm, s), 0);
    assert_non_null(zpoller_wait(poller, H_ANSWER_MS));
    zm = zmsg_recv(s);
    m = aduan_msg_decode(&zm, 1 << 20, NULL, NULL, 0);
    assert_non_null(m);
    assert_int_equal(m->type, ADUAN_MSG_REPLY);
    assert_string_equal(m->reply.status, "refused");
    aduan_msg_destroy(&m);
    zpoller_destroy(&poller);
    zsock_destroy(&s);
    body = h_control_ok(env, "stats", NULL);
    json_decref(body);
    h_pass(env);
}

/* ---- the process -------------------------------------------------------------------------- */

static void test_second_daemon_refused(void **state)
{
    h_env_t *env = *state;
    char log2[200];
    snprintf(log2, sizeof log2, "%s/second.log", env->dir);
    char *argv[] = {H_GATEWAYD, "-c", env->conf, NULL};
    pid_t pid = h_spawn(argv, log2, log2);
    assert_true(pid > 0);
    int code = h_wait_exit(pid, H_STOP_MS);
    if (code == -1) {
        kill(pid, SIGKILL);
        h_wait_exit(pid, H_STOP_MS);
        fail_msg("a second aduan-gatewayd on the same state directory kept running");
    }
    char *out = h_read_file(log2);
    fprintf(stderr, "second daemon (exit %d): %s", code, out);
    assert_true(code > 0);
    assert_true(h_contains(out, "another aduan-gatewayd"));
    char pid_text[32];
    snprintf(pid_text, sizeof pid_text, "pid %d", (int)env->pid);
    assert_true(h_contains(out, pid_text));
    free(out);

    /* the first one still owns its sockets and answers */
    assert_int_equal(access(env->control + strlen("ipc://"), F_OK), 0);
    h_adapter_t *a = h_adapter_new(env, "box", "lobby");
    char ticket[40];
    new_ticket(a, "box:scan:1", NULL, "Kotak saran", "Toilet kotor.", ticket);
    h_adapter_destroy(&a);
    h_pass(env);
}

static void test_sigterm_clean_and_durable(void **state)
{
    h_env_t *env = *state;
    enum { N = 20 };
    h_adapter_t *a = h_adapter_new(env, "sms", "modem-1");
    char tickets[N][40];
    for (int i = 0; i < N; i++) {
        char key[32];
        snprintf(key, sizeof key, "sms:durable:%d", i);
        new_ticket(a, key, NULL, NULL, "Pengaduan", tickets[i]);
    }
    h_adapter_destroy(&a);
    int64_t t0 = h_now_ms();
    assert_int_equal(h_daemon_stop(env, H_STOP_MS), 0);
    fprintf(stderr, "stopped %lld ms after SIGTERM\n", (long long)(h_now_ms() - t0));
    char *log = h_read_file(env->log);
    assert_true(h_contains(log, "stopped"));
    free(log);
    /* the clean stop removed its ipc sockets and released the lock: it starts again, and
       everything ACKed is there */
    assert_int_equal(h_daemon_start(env), 0);
    assert_int_equal(stat_total(env, "complaints"), N);
    a = h_adapter_new(env, "sms", "modem-1");
    aduan_msg_t *m = h_intake_new("sms", "sms:durable:7", NULL, NULL, "Pengaduan");
    aduan_msg_t *answer = h_adapter_intake(a, &m);
    expect_ack(answer, "duplicate");
    assert_string_equal(answer->ack.ticket, tickets[7]);
    aduan_msg_destroy(&answer);
    char next[40];
    new_ticket(a, "sms:durable:new", NULL, NULL, "Pengaduan", next);
    assert_int_equal(h_ticket_number(next), N + 1);
    h_adapter_destroy(&a);
    h_pass(env);
}

/* SIGTERM while 2000 intakes are in flight: it stops, exit 0; whatever it ACKed is there
   after a restart under the same ticket, and sending everything again fills the rest
   without a gap. */
typedef struct {
    char id[ADUAN_MSG_ID_MAX + 1];
    char ticket[40];
} load_item_t;

static void send_load(h_adapter_t *a, load_item_t *items, int n)
{
    for (int i = 0; i < n; i++) {
        char key[32];
        snprintf(key, sizeof key, "sms:load:%d", i);
        aduan_msg_t *m = h_intake_new("sms", key, NULL, NULL, "Pengaduan");
        snprintf(items[i].id, sizeof items[i].id, "%s", m->id);
        assert_int_equal(h_adapter_send(a, m), 0);
        aduan_msg_destroy(&m);
    }
}

static void test_sigterm_under_load(void **state)
{
    h_env_t *env = *state;
    enum { N = 2000 };
    load_item_t *items = calloc(N, sizeof *items);
    assert_non_null(items);
    h_adapter_t *a = h_adapter_new(env, "sms", "modem-1");
    send_load(a, items, N);
    /* the first answer, then SIGTERM, while the rest is still coming in */
    aduan_msg_t *first = h_adapter_recv(a, H_ANSWER_MS);
    assert_non_null(first);
    pid_t pid = env->pid;
    assert_int_equal(kill(pid, SIGTERM), 0);
    int code = -1, count = 0;
    int64_t deadline = h_now_ms() + H_STOP_MS;
    for (aduan_msg_t *m = first; m || code == -1; m = h_adapter_recv(a, code == -1 ? 50 : 300)) {
        if (m) {
            expect_ack(m, "new");
            int i = 0;
            while (i < N && strcmp(items[i].id, m->ack.ref) != 0)
                i++;
            assert_true(i < N);
            snprintf(items[i].ticket, sizeof items[i].ticket, "%s", m->ack.ticket);
            count++;
            aduan_msg_destroy(&m);
        }
        if (code == -1) {
            code = h_wait_exit(pid, 0);
            if (h_now_ms() > deadline)
                fail_msg("still running %d ms after SIGTERM", H_STOP_MS);
        }
    }
    env->pid = 0;
    fprintf(stderr, "%d of %d ACKed before the stop; exit %d\n", count, N, code);
    assert_int_equal(code, 0);
    /* what it still holds must not reach the next daemon: that one would take it (rightly)
       before its copy below, and the test would count a lost ACK that was not lost */
    zsock_set_linger(a->sock, 0);
    h_adapter_destroy(&a);

    assert_int_equal(h_daemon_start(env), 0);
    a = h_adapter_new(env, "sms", "modem-1");
    load_item_t *again = calloc(N, sizeof *again);
    assert_non_null(again);
    send_load(a, again, N);
    int duplicates = 0;
    for (int i = 0; i < N; i++) {
        aduan_msg_t *ack = h_adapter_wait_answer(a, again[i].id, H_ANSWER_MS);
        if (!ack)
            fail_msg("no answer to the re-sent intake %d", i);
        if (!items[i].ticket[0] && ack->type == ADUAN_MSG_ACK &&
            strcmp(ack->ack.disposition, "duplicate") == 0)
            fail_msg("intake %d (sms:load:%d) was committed as %s before the stop, but its ACK "
                     "never came (%d ACKs did)",
                     i, i, ack->ack.ticket, count);
        if (items[i].ticket[0]) {
            expect_ack(ack, "duplicate");
            assert_string_equal(ack->ack.ticket, items[i].ticket);
            duplicates++;
        } else {
            expect_ack(ack, "new"); /* nothing of it was committed unACKed */
        }
        aduan_msg_destroy(&ack);
    }
    assert_int_equal(duplicates, count);
    json_t *stats = h_control_ok(env, "stats", NULL);
    assert_int_equal(num(stats, "complaints"), N);
    json_decref(stats);
    /* gap-free: N tickets, the last numbered N */
    json_t *list_args = json_pack("{s:i}", "limit", 1);
    json_t *list = h_control_ok(env, "list", list_args);
    json_decref(list_args);
    assert_int_equal(h_ticket_number(str(json_array_get(json_object_get(list, "items"), 0),
                                         "ticket")),
                     N);
    json_decref(list);
    h_adapter_destroy(&a);
    free(items);
    free(again);
    h_pass(env);
}

static void test_check_bad_config(void **state)
{
    h_env_t *env = *state;
    char bad[200], out[200], err[200];
    snprintf(bad, sizeof bad, "%s/bad.conf", env->dir);
    snprintf(out, sizeof out, "%s/check.out", env->dir);
    snprintf(err, sizeof err, "%s/check.err", env->dir);
    assert_int_equal(h_write_file(bad, "[core]\n"                 /* 1 */
                                       "state_dir = state\n"      /* 2 */
                                       "colour = blue\n"          /* 3: unknown key */
                                       "batch_max = lots\n"       /* 4: bad value */
                                       "[bus]\n"                  /* 5 */
                                       "heartbeat_ms = 5\n"),     /* 6: out of bounds */
                     0);
    char *argv[] = {H_GATEWAYD, "--check", "-c", bad, NULL};
    pid_t pid = h_spawn(argv, out, err);
    assert_true(pid > 0);
    int code = h_wait_exit(pid, H_STOP_MS);
    char *text = h_read_file(err);
    fprintf(stderr, "--check on a bad file (exit %d):\n%s", code, text);
    assert_true(code > 0);
    char where[240];
    snprintf(where, sizeof where, "%s:3: ", bad);
    assert_true(h_contains(text, where));
    assert_true(h_contains(text, "colour"));
    snprintf(where, sizeof where, "%s:4: ", bad);
    assert_true(h_contains(text, where));
    assert_true(h_contains(text, "batch_max"));
    snprintf(where, sizeof where, "%s:6: ", bad);
    assert_true(h_contains(text, where));
    free(text);
    text = h_read_file(out);
    assert_false(h_contains(text, "configuration OK"));
    free(text);
    h_pass(env);
}

static void test_check_good_config(void **state)
{
    h_env_t *env = *state;
    char out[200];
    snprintf(out, sizeof out, "%s/check-good.out", env->dir);
    char *argv[] = {H_GATEWAYD, "--check", "-c", env->conf, NULL};
    pid_t pid = h_spawn(argv, out, out);
    assert_true(pid > 0);
    assert_int_equal(h_wait_exit(pid, H_STOP_MS), 0);
    char *text = h_read_file(out);
    assert_string_equal(text, "configuration OK\n");
    free(text);
    h_pass(env);
}

/* A templates folder that is not there: still OK (the replies fall back to built-in
   texts), but --check says so, with the file it looked for. */
static void test_check_warns_without_templates(void **state)
{
    h_env_t *env = *state;
    char conf[200], out[200];
    snprintf(conf, sizeof conf, "%s/no-templates.conf", env->dir);
    snprintf(out, sizeof out, "%s/check-no-templates.out", env->dir);
    char *text = h_read_file(env->conf);
    char *dir = strstr(text, "\ndir = ");
    assert_non_null(dir);
    char *end = strchr(dir + 1, '\n');
    FILE *f = fopen(conf, "w");
    assert_non_null(f);
    fprintf(f, "%.*s\ndir = %s/nowhere%s", (int)(dir - text), text, env->dir, end);
    fclose(f);
    free(text);
    char *argv[] = {H_GATEWAYD, "--check", "-c", conf, NULL};
    pid_t pid = h_spawn(argv, out, out);
    assert_true(pid > 0);
    assert_int_equal(h_wait_exit(pid, H_STOP_MS), 0);
    text = h_read_file(out);
    assert_non_null(strstr(text, "configuration OK\n"));
    assert_non_null(strstr(text, "/nowhere/id/ack.txt"));
    assert_non_null(strstr(text, "built-in"));
    free(text);
    h_pass(env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_new_then_duplicate, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_fifty_gap_free, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_ack_and_notices_delivered, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_result_sent_threads_out, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_result_temporary_retried, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_no_result_redelivered, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_failed_after_last_try, setup_two_attempts,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(test_auto_replies_limited, setup_two_replies,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(test_attachments_kept, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_events_published, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_followup, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_followup_ack_names_state, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_status_query, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_status_query_from_stranger, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_malformed_refused_and_quarantined, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(test_channel_quarantine, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_hello_heartbeat_and_unexpected_type, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(test_control_contract, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_second_daemon_refused, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_sigterm_clean_and_durable, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_sigterm_under_load, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_check_bad_config, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_check_good_config, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_check_warns_without_templates, h_setup, h_teardown),
    };
    if (getenv("ADUAN_TEST_FILTER"))
        cmocka_set_test_filter(getenv("ADUAN_TEST_FILTER"));
    return cmocka_run_group_tests_name("gateway_intake", tests, NULL, NULL);
}
