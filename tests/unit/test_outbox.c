/*  test_outbox.c - everything to be sent: the backoff schedule, what is due on a channel,
    attempts and their deadlines, RESULTs (sent, delivered, temporary, permanent), staff
    told after the last try without ever noticing their own notices, and the thread. */
#include "registry_fixture.h"

#include <jansson.h>

#define CITIZEN_MAIL "budi.santoso@example.org"
#define CITIZEN_SMS "+6285712345678"
#define SEC 1000LL

/* ---- helpers ---------------------------------------------------------------------------- */

#define DUE_MAX 32

typedef struct {
    int count;
    int stop_after; /* 0: never stop */
    int64_t id[DUE_MAX];
    uint64_t attempt[DUE_MAX];
    bool automatic[DUE_MAX];
    char channel[DUE_MAX][16];
    char kind[DUE_MAX][16];
    char ticket[DUE_MAX][40];
    char to[DUE_MAX][128];
    char message_id[DUE_MAX][160];
    char in_reply_to[DUE_MAX][160];
} due_t;

static int collect(const aduan_msg_t *m, void *arg)
{
    due_t *d = arg;
    assert_int_equal(m->type, ADUAN_MSG_DELIVER);
    assert_true(d->count < DUE_MAX);
    int i = d->count++;
    d->id[i] = (int64_t)m->deliver.outbox_id;
    d->attempt[i] = m->deliver.attempt;
    d->automatic[i] = m->deliver.automatic;
    snprintf(d->channel[i], sizeof d->channel[i], "%s", m->deliver.channel);
    snprintf(d->kind[i], sizeof d->kind[i], "%s", m->deliver.kind);
    snprintf(d->ticket[i], sizeof d->ticket[i], "%s", m->deliver.ticket ? m->deliver.ticket : "");
    snprintf(d->to[i], sizeof d->to[i], "%s", m->deliver.to_addr);
    snprintf(d->message_id[i], sizeof d->message_id[i], "%s", m->deliver.message_id);
    snprintf(d->in_reply_to[i], sizeof d->in_reply_to[i], "%s",
             m->deliver.in_reply_to ? m->deliver.in_reply_to : "");
    return d->stop_after && d->count >= d->stop_after ? 1 : 0;
}

/* each_due in its own transaction (it may fail expired rows), as the core runs it. */
static void due_on(reg_fixture_t *f, const char *channel, int limit, due_t *d)
{
    int stop_after = d->stop_after;
    memset(d, 0, sizeof *d);
    d->stop_after = stop_after;
    assert_int_equal(aduan_store_begin(f->store), 0);
    assert_int_equal(aduan_outbox_each_due(f->store, channel, limit, collect, d), 0);
    assert_int_equal(aduan_store_commit(f->store), 0);
}

static bool is_due(reg_fixture_t *f, const char *channel, int64_t id)
{
    due_t d = {0};
    due_on(f, channel, DUE_MAX, &d);
    for (int i = 0; i < d.count; i++)
        if (d.id[i] == id)
            return true;
    return false;
}

/* Hands the item out for its next try, as the core does with a DELIVER of each_due. */
static void mark_sending(reg_fixture_t *f, int64_t id)
{
    int attempt = (int)reg_int(f, "SELECT attempts + 1 FROM outbox WHERE id = %lld",
                               (long long)id);
    assert_int_equal(aduan_store_begin(f->store), 0);
    assert_int_equal(aduan_outbox_mark_sending(f->store, id, attempt), 0);
    assert_int_equal(aduan_store_commit(f->store), 0);
}

static void result(reg_fixture_t *f, int64_t id, const char *status, const char *provider_id,
                   const char *detail)
{
    assert_int_equal(aduan_store_begin(f->store), 0);
    assert_int_equal(aduan_outbox_apply_result(f->store, id, status, provider_id, detail), 0);
    assert_int_equal(aduan_store_commit(f->store), 0);
}

static void queue(reg_fixture_t *f, const char *channel, const char *to, const char *kind,
                  int64_t *id)
{
    aduan_outbox_item_t item = {
        .kind = kind,
        .channel = channel,
        .account = channel,
        .to_addr = to,
        .to_name = "Penerima",
        .subject = "Perihal",
        .body = "Isi pesan",
    };
    assert_int_equal(aduan_store_begin(f->store), 0);
    assert_int_equal(aduan_outbox_queue(f->store, &item, id), 0);
    assert_int_equal(aduan_store_commit(f->store), 0);
    assert_true(*id > 0);
}

static void row_status(reg_fixture_t *f, int64_t id, char out[32])
{
    assert_true(reg_text(f, out, 32, "SELECT status FROM outbox WHERE id = %lld", (long long)id));
}

#define assert_row_status(f, id, want)                                                     \
    do {                                                                                   \
        char got_[32];                                                                     \
        row_status((f), (id), got_);                                                       \
        assert_string_equal(got_, (want));                                                 \
    } while (0)

static int64_t row_int(reg_fixture_t *f, int64_t id, const char *column)
{
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT %s FROM outbox WHERE id = %%lld", column);
    return reg_int(f, sql, (long long)id);
}

static int64_t count_notices(reg_fixture_t *f)
{
    return reg_int(f, "SELECT count(*) FROM outbox WHERE kind = 'notice'");
}

/* A complaint by email; returns its ack row and fills the result. */
static int64_t complaint_ack(reg_fixture_t *f, const char *key, aduan_intake_result_t *r)
{
    aduan_msg_t *m = reg_intake_new("email", key, CITIZEN_MAIL, "Jalan rusak di depan pasar");
    assert_int_equal(aduan_msg_set(&m->intake.message_ref, "CAF123.456@mail.example.org"), 0);
    assert_int_equal(reg_take(f, m, r), 0);
    aduan_msg_destroy(&m);
    return reg_int(f, "SELECT id FROM outbox WHERE complaint_id = %lld AND kind = 'ack'",
                   (long long)r->complaint_id);
}

/* The delivery_failed notices queued after a row failed: both of the help desk's ways. */
static void assert_failure_notices(reg_fixture_t *f, int64_t notices_before,
                                   const aduan_intake_result_t *r)
{
    assert_int_equal(count_notices(f), notices_before + 2);
    int64_t first_new = reg_int(f, "SELECT id FROM outbox WHERE kind = 'notice'"
                                   " ORDER BY id LIMIT 1 OFFSET %lld",
                                (long long)notices_before);
    assert_int_equal(reg_int(f, "SELECT count(*) FROM outbox WHERE kind = 'notice' AND id >= %lld"
                                " AND staff_id = %Q AND status = 'pending' AND automatic = 0"
                                " AND complaint_id = %lld",
                             (long long)first_new, REG_HELPDESK_ID, (long long)r->complaint_id),
                     2);
    assert_int_equal(reg_int(f, "SELECT count(*) FROM outbox WHERE id >= %lld AND channel = 'email'"
                                " AND to_addr = %Q",
                             (long long)first_new, REG_HELPDESK_EMAIL),
                     1);
    assert_int_equal(reg_int(f, "SELECT count(*) FROM outbox WHERE id >= %lld AND channel = 'sms'"
                                " AND to_addr = %Q",
                             (long long)first_new, REG_HELPDESK_PHONE),
                     1);
    /* the head of office is not bothered with deliveries */
    assert_int_equal(reg_int(f, "SELECT count(*) FROM outbox WHERE id >= %lld AND staff_id = %Q",
                             (long long)first_new, REG_HEAD_ID),
                     0);
    char body[4096];
    assert_true(reg_text(f, body, sizeof body,
                         "SELECT body FROM outbox WHERE id >= %lld AND channel = 'sms'",
                         (long long)first_new));
    assert_non_null(strstr(body, r->ticket));
    /* and the audit trail says so */
    assert_int_equal(reg_int(f, "SELECT count(*) FROM audit WHERE complaint_id = %lld"
                                " AND action = 'delivery_failed'",
                             (long long)r->complaint_id),
                     1);
}

/* ---- the schedule ------------------------------------------------------------------------ */

static void test_retry_delay_schedule(void **state)
{
    reg_fixture_t *f = *state;
    aduan_retry_policy_t p;
    aduan_retry_policy_from_config(f->config, &p); /* defaults: 30 s, 3600 s, 10, 60 s */
    assert_int_equal(p.retry_base_ms, 30 * SEC);
    assert_int_equal(p.retry_max_ms, 3600 * SEC);
    assert_int_equal(p.max_attempts, 10);
    assert_int_equal(p.deliver_timeout_ms, 60 * SEC);

    static const int64_t want[] = {0, 30, 60, 120, 240, 480, 960, 1920, 3600, 3600, 3600};
    for (int a = 0; a < (int)(sizeof want / sizeof want[0]); a++)
        assert_int_equal(aduan_retry_delay_ms(&p, a), want[a] * SEC);
    assert_int_equal(aduan_retry_delay_ms(&p, 100), 3600 * SEC);       /* no overflow */
    assert_int_equal(aduan_retry_delay_ms(&p, 1 << 30), 3600 * SEC);
    assert_int_equal(aduan_retry_delay_ms(&p, -1), 0);

    /* a cap that is no power of two times the base */
    f->config->outbox.retry_base_s = 30;
    f->config->outbox.retry_max_s = 100;
    aduan_retry_policy_from_config(f->config, &p);
    assert_int_equal(aduan_retry_delay_ms(&p, 1), 30 * SEC);
    assert_int_equal(aduan_retry_delay_ms(&p, 2), 60 * SEC);
    assert_int_equal(aduan_retry_delay_ms(&p, 3), 100 * SEC);
    assert_int_equal(aduan_retry_delay_ms(&p, 4), 100 * SEC);

    /* base equal to the cap: never longer */
    f->config->outbox.retry_max_s = 30;
    aduan_retry_policy_from_config(f->config, &p);
    assert_int_equal(aduan_retry_delay_ms(&p, 1), 30 * SEC);
    assert_int_equal(aduan_retry_delay_ms(&p, 5), 30 * SEC);
}

/* ---- what is due ----------------------------------------------------------------------- */

static void test_each_due_by_channel(void **state)
{
    reg_fixture_t *f = *state;
    int64_t s1, s2, e1;
    queue(f, "sms", "+6281100000001", "response", &s1);
    f->now += SEC;
    queue(f, "email", "a@example.org", "response", &e1);
    f->now += SEC;
    queue(f, "sms", "+6281100000002", "response", &s2);

    due_t d = {0};
    due_on(f, "sms", 10, &d);
    assert_int_equal(d.count, 2);
    assert_int_equal(d.id[0], s1); /* oldest first */
    assert_int_equal(d.id[1], s2);
    for (int i = 0; i < d.count; i++) {
        assert_string_equal(d.channel[i], "sms");
        assert_int_equal(d.attempt[i], 1);
        assert_true(strlen(d.message_id[i]) > 0);
    }
    assert_string_equal(d.to[0], "+6281100000001");
    assert_true(strncmp(d.message_id[0], "aduan.response.", 15) == 0); /* no ticket */
    assert_non_null(strstr(d.message_id[0], "@"));
    due_on(f, "email", 10, &d);
    assert_int_equal(d.count, 1);
    assert_int_equal(d.id[0], e1);
    assert_string_equal(d.channel[0], "email");
    due_on(f, "phone", 10, &d);
    assert_int_equal(d.count, 0);

    /* at most limit, and fn can stop the walk */
    due_on(f, "sms", 1, &d);
    assert_int_equal(d.count, 1);
    assert_int_equal(d.id[0], s1);
    d.stop_after = 1;
    due_on(f, "sms", 10, &d);
    assert_int_equal(d.count, 1);

    /* what an adapter holds is not due until its deadline */
    mark_sending(f, s1);
    d.stop_after = 0;
    due_on(f, "sms", 10, &d);
    assert_int_equal(d.count, 1);
    assert_int_equal(d.id[0], s2);

    /* a suppressed reply is never due */
    f->config->outbox.auto_replies_per_day = 0;
    aduan_outbox_item_t item = {.kind = "ack", .channel = "phone", .to_addr = "+6281100000003",
                                .body = "x", .automatic = true};
    int64_t sup;
    assert_int_equal(aduan_store_begin(f->store), 0);
    assert_int_equal(aduan_outbox_queue(f->store, &item, &sup), 0);
    assert_int_equal(aduan_store_commit(f->store), 0);
    assert_row_status(f, sup, "suppressed");
    due_on(f, "phone", 10, &d);
    assert_int_equal(d.count, 0);
}

/* The DELIVER handed out carries the row as queued by an intake. */
static void test_deliver_fields(void **state)
{
    reg_fixture_t *f = *state;
    aduan_intake_result_t r;
    int64_t ack = complaint_ack(f, "INBOX:1:1", &r);
    due_t d = {0};
    due_on(f, "email", 10, &d);
    int i = 0;
    while (i < d.count && d.id[i] != ack)
        i++;
    assert_true(i < d.count);
    assert_string_equal(d.kind[i], "ack");
    assert_string_equal(d.ticket[i], r.ticket);
    assert_string_equal(d.to[i], CITIZEN_MAIL);
    assert_true(d.automatic[i]);
    assert_string_equal(d.in_reply_to[i], "CAF123.456@mail.example.org");
    char mid[160];
    assert_true(reg_text(f, mid, sizeof mid, "SELECT message_id FROM outbox WHERE id = %lld",
                         (long long)ack));
    assert_string_equal(d.message_id[i], mid);
    /* Message-IDs are unique per row */
    assert_int_equal(reg_int(f, "SELECT count(DISTINCT message_id) = count(*) FROM outbox"), 1);
}

static void test_mark_sending_deadline(void **state)
{
    reg_fixture_t *f = *state;
    int64_t id;
    queue(f, "sms", "+6281100000001", "response", &id);
    int64_t t = f->now;
    mark_sending(f, id);
    assert_row_status(f, id, "sending");
    assert_int_equal(row_int(f, id, "attempts"), 1);
    int64_t next = row_int(f, id, "next_attempt_at");
    assert_true(next >= t + 60 * SEC); /* deliver_timeout_s = 60 */
    assert_int_equal(aduan_outbox_next_due_at(f->store, "sms"), next);

    /* nothing to hand out while the adapter has it */
    f->now = t + 60 * SEC - 1;
    assert_false(is_due(f, "sms", id));
    /* past the deadline the attempt counts as failed and it is handed out again */
    f->now = next;
    due_t d = {0};
    due_on(f, "sms", 10, &d);
    assert_int_equal(d.count, 1);
    assert_int_equal(d.id[0], id);
    assert_int_equal(d.attempt[0], 2);

    /* an unknown row cannot be marked */
    assert_int_equal(aduan_store_begin(f->store), 0);
    assert_int_equal(aduan_outbox_mark_sending(f->store, 987654, 1), -1);
    aduan_store_rollback(f->store);
    assert_int_equal(aduan_outbox_next_due_at(f->store, "email"), 0);
}

/* The core's hand-out, as a test double: room on the channels it lists, DELIVERs kept. */
typedef struct {
    const char *room_on; /* channels with an adapter with room, "email,sms" */
    due_t taken;
} handout_t;

static bool test_has_room(const char *channel, void *arg)
{
    handout_t *h = arg;
    return strstr(h->room_on, channel) != NULL;
}

static void test_take(aduan_msg_t *deliver, void *arg)
{
    handout_t *h = arg;
    collect(deliver, &h->taken);
    aduan_msg_destroy(&deliver);
}

/*  A complaint's replies written already handed out while the core has room on their
    channel: the row is 'sending' at its first try with the deadline of a marked one, and
    the DELIVER the core sends after COMMIT carries what the row holds. Without room, or
    over the sender's daily limit, the row waits as before; rolled back, nothing is left
    of either. */
static void test_handed_out_at_intake(void **state)
{
    reg_fixture_t *f = *state;
    handout_t h = {.room_on = "email"};
    aduan_outbox_handout_t handout = {test_has_room, test_take, &h};
    aduan_store_set_handout(f->store, &handout);
    int64_t t = f->now;
    aduan_intake_result_t r;
    int64_t ack = complaint_ack(f, "INBOX:1:1", &r);
    aduan_store_set_handout(f->store, NULL);

    assert_row_status(f, ack, "sending");
    assert_int_equal(row_int(f, ack, "attempts"), 1);
    int64_t next = row_int(f, ack, "next_attempt_at");
    assert_true(next >= t + 60 * SEC); /* deliver_timeout_s = 60 */
    assert_false(is_due(f, "email", ack));
    /* the DELIVERs: the citizen's acknowledgement, and the help desk's notice by email;
       its SMS notice had no adapter with room, and waits */
    assert_int_equal(h.taken.count, 2);
    int i = h.taken.id[0] == ack ? 0 : 1;
    assert_int_equal(h.taken.id[i], ack);
    assert_int_equal(h.taken.attempt[i], 1);
    assert_string_equal(h.taken.kind[i], "ack");
    assert_string_equal(h.taken.ticket[i], r.ticket);
    assert_string_equal(h.taken.to[i], CITIZEN_MAIL);
    assert_true(h.taken.automatic[i]);
    assert_string_equal(h.taken.in_reply_to[i], "CAF123.456@mail.example.org");
    char mid[160];
    assert_true(reg_text(f, mid, sizeof mid, "SELECT message_id FROM outbox WHERE id = %lld",
                         (long long)ack));
    assert_string_equal(h.taken.message_id[i], mid);
    assert_string_equal(h.taken.kind[1 - i], "notice");
    assert_string_equal(h.taken.to[1 - i], REG_HELPDESK_EMAIL);
    assert_int_equal(reg_int(f, "SELECT count(*) FROM outbox WHERE complaint_id = %lld"
                                " AND channel = 'sms' AND status = 'pending' AND attempts = 0",
                             (long long)r.complaint_id),
                     1);
    /* the RESULT ends it as it ends one handed out by each_due */
    result(f, ack, "sent", "smtp-1", NULL);
    assert_row_status(f, ack, "sent");

    /* over the daily limit: suppressed, never handed out */
    f->config->outbox.auto_replies_per_day = 0;
    memset(&h.taken, 0, sizeof h.taken);
    aduan_store_set_handout(f->store, &handout);
    int64_t sup = complaint_ack(f, "INBOX:1:2", &r);
    aduan_store_set_handout(f->store, NULL);
    assert_row_status(f, sup, "suppressed");
    for (int k = 0; k < h.taken.count; k++)
        assert_int_not_equal(h.taken.id[k], sup);

    /* rolled back: the rows are gone (the core drops what take() got when its COMMIT fails) */
    int64_t rows = reg_int(f, "SELECT count(*) FROM outbox");
    int64_t sending = reg_int(f, "SELECT count(*) FROM outbox WHERE status = 'sending'");
    aduan_store_set_handout(f->store, &handout);
    aduan_msg_t *m = reg_intake_new("email", "INBOX:1:3", "siti@example.org", "Antrean lama");
    assert_int_equal(aduan_store_begin(f->store), 0);
    char reason[256];
    assert_int_equal(aduan_registry_intake(f->store, m, "email", &r, reason, sizeof reason), 0);
    aduan_store_rollback(f->store);
    aduan_store_set_handout(f->store, NULL);
    aduan_msg_destroy(&m);
    assert_int_equal(reg_int(f, "SELECT count(*) FROM outbox"), rows);
    assert_int_equal(reg_int(f, "SELECT count(*) FROM outbox WHERE status = 'sending'"),
                     sending);
}

static void test_temporary_backoff(void **state)
{
    reg_fixture_t *f = *state;
    int64_t id;
    queue(f, "email", "a@example.org", "response", &id);
    char mid[160];
    assert_true(reg_text(f, mid, sizeof mid, "SELECT message_id FROM outbox WHERE id = %lld",
                         (long long)id));

    mark_sending(f, id);
    f->now += 5 * SEC;
    int64_t t1 = f->now;
    result(f, id, "temporary", NULL, "421 4.7.0 try again later");
    assert_row_status(f, id, "pending");
    assert_int_equal(row_int(f, id, "attempts"), 1);
    assert_int_equal(row_int(f, id, "next_attempt_at"), t1 + 30 * SEC);
    char err[128];
    assert_true(reg_text(f, err, sizeof err, "SELECT last_error FROM outbox WHERE id = %lld",
                         (long long)id));
    assert_string_equal(err, "421 4.7.0 try again later");

    /* due again only when the clock has moved on by the first delay */
    assert_false(is_due(f, "email", id));
    f->now = t1 + 30 * SEC - 1;
    assert_false(is_due(f, "email", id));
    f->now = t1 + 30 * SEC;
    due_t d = {0};
    due_on(f, "email", 10, &d);
    assert_int_equal(d.count, 1);
    assert_int_equal(d.attempt[0], 2);
    assert_string_equal(d.message_id[0], mid); /* a retry carries the same Message-ID */

    /* the second failure waits twice as long */
    mark_sending(f, id);
    int64_t t2 = f->now;
    result(f, id, "temporary", NULL, "server busy");
    assert_int_equal(row_int(f, id, "next_attempt_at"), t2 + 60 * SEC);
    f->now = t2 + 60 * SEC - 1;
    assert_false(is_due(f, "email", id));
    f->now = t2 + 60 * SEC;
    assert_true(is_due(f, "email", id));
    assert_int_equal(count_notices(f), 0);
}

/* A counter (SQLITE_STMTSTATUS_*) summed over the store's statements that begin with sql,
   and reset with it when reset is 1. */
static int64_t statements_status(reg_fixture_t *f, const char *sql, int counter, int reset)
{
    int64_t sum = 0;
    sqlite3 *db = aduan_store_db(f->store);
    for (sqlite3_stmt *st = sqlite3_next_stmt(db, NULL); st; st = sqlite3_next_stmt(db, st))
        if (strncmp(sqlite3_sql(st), sql, strlen(sql)) == 0)
            sum += sqlite3_stmt_status(st, counter, reset);
    return sum;
}

/* Rows read by full-table scans so far by the store's statements that begin with sql. */
static int64_t full_scan_steps(reg_fixture_t *f, const char *sql)
{
    return statements_status(f, sql, SQLITE_STMTSTATUS_FULLSCAN_STEP, 0);
}

/*  The channel's adapter is back (HELLO): what a backoff holds after a failure is due at
    once, on that channel only; an item handed out and still without a RESULT, and one never
    tried, keep their times. */
static void test_retry_now_when_back(void **state)
{
    reg_fixture_t *f = *state;
    int64_t failed, elsewhere, out, fresh;
    queue(f, "email", "a@example.org", "response", &failed);
    queue(f, "sms", "+6281234567890", "response", &elsewhere);
    queue(f, "email", "b@example.org", "response", &out);
    for (int i = 0; i < 4; i++) { /* the backoff grows while the server is away */
        mark_sending(f, failed);
        result(f, failed, "temporary", NULL, "connection refused");
        f->now = row_int(f, failed, "next_attempt_at");
    }
    mark_sending(f, elsewhere);
    result(f, elsewhere, "temporary", NULL, "no network");
    mark_sending(f, out);
    int64_t out_due = row_int(f, out, "next_attempt_at");
    mark_sending(f, failed);
    result(f, failed, "temporary", NULL, "connection refused");
    int64_t sms_due = row_int(f, elsewhere, "next_attempt_at");
    assert_true(row_int(f, failed, "next_attempt_at") > f->now + 60 * SEC);
    assert_false(is_due(f, "email", failed));
    f->now += SEC;
    queue(f, "email", "c@example.org", "response", &fresh);
    int64_t fresh_due = row_int(f, fresh, "next_attempt_at");

    assert_int_equal(aduan_store_begin(f->store), 0);
    assert_int_equal(aduan_outbox_retry_now(f->store, "email"), 1);
    assert_int_equal(aduan_store_commit(f->store), 0);
    assert_true(is_due(f, "email", failed));
    assert_int_equal(row_int(f, failed, "next_attempt_at"), f->now);
    assert_int_equal(row_int(f, elsewhere, "next_attempt_at"), sms_due);
    assert_int_equal(row_int(f, out, "next_attempt_at"), out_due);
    assert_row_status(f, out, "sending");
    assert_int_equal(row_int(f, fresh, "next_attempt_at"), fresh_due);
    /* nothing waits any more: a second HELLO changes nothing */
    assert_int_equal(aduan_outbox_retry_now(f->store, "email"), 0);
    /* each HELLO, each turn: through the due index, never the whole outbox (a year's) */
    assert_true(aduan_outbox_next_due_at(f->store, "email") > 0);
    assert_int_equal(full_scan_steps(f, "UPDATE outbox SET next_attempt_at"), 0);
    assert_int_equal(full_scan_steps(f, "SELECT min(next_attempt_at)"), 0);
    assert_int_equal(full_scan_steps(f, "SELECT o.id, o.kind"), 0);
}

/* VM steps the store's statements that begin with sql ran since the last call. */
static int64_t vm_steps_since(reg_fixture_t *f, const char *sql)
{
    return statements_status(f, sql, SQLITE_STMTSTATUS_VM_STEP, 1);
}

/*  Asking what is due reads what is due, not the items in flight: under load an adapter has
    hundreds, and the question is asked at every turn. */
static void test_due_reads_only_what_is_due(void **state)
{
    reg_fixture_t *f = *state;
    enum { IN_FLIGHT = 300 };
    int64_t id;
    for (int i = 0; i < IN_FLIGHT; i++) {
        char to[32];
        snprintf(to, sizeof to, "+62811%08d", i);
        queue(f, "sms", to, "response", &id);
        mark_sending(f, id);
    }
    due_t d = {0};
    due_on(f, "sms", 10, &d); /* prepares the statement */
    vm_steps_since(f, "SELECT o.id, o.kind");
    due_on(f, "sms", 10, &d);
    assert_int_equal(d.count, 0);
    int64_t idle = vm_steps_since(f, "SELECT o.id, o.kind");
    if (idle >= IN_FLIGHT)
        fail_msg("%lld VM steps to find nothing due among %d items in flight",
                 (long long)idle, IN_FLIGHT);
    /* one due among them is found, with as few */
    queue(f, "sms", "+6281199999999", "response", &id);
    due_on(f, "sms", 10, &d);
    assert_int_equal(d.count, 1);
    assert_int_equal(d.id[0], id);
    assert_true(vm_steps_since(f, "SELECT o.id, o.kind") < IN_FLIGHT);
}

/*  The clock stepped back (set by hand, a dead CMOS battery put right): a retry planned at
    the old time is due now, not a day later; stepped forward, it is simply due. */
static void test_clock_stepped_back_and_forward(void **state)
{
    reg_fixture_t *f = *state;
    int64_t id;
    queue(f, "sms", "+6281234567890", "ack", &id);
    mark_sending(f, id);
    int64_t t1 = f->now;
    result(f, id, "temporary", NULL, "modem busy");
    assert_int_equal(row_int(f, id, "next_attempt_at"), t1 + 30 * SEC);
    assert_false(is_due(f, "sms", id));

    f->now = t1 - 24 * 3600 * SEC; /* a day back */
    assert_true(is_due(f, "sms", id));
    assert_int_equal(aduan_outbox_next_due_at(f->store, "sms"), f->now);
    /* a retry planned after the step is planned from the new time */
    mark_sending(f, id);
    int64_t t2 = f->now;
    result(f, id, "temporary", NULL, "modem busy");
    assert_int_equal(row_int(f, id, "next_attempt_at"), t2 + 60 * SEC);
    assert_false(is_due(f, "sms", id)); /* within the horizon: waits as planned */

    f->now = t2 + 365 * 24 * 3600 * SEC; /* a year forward */
    assert_true(is_due(f, "sms", id));
    assert_int_equal(count_notices(f), 0);
}

static void test_temporary_until_failed(void **state)
{
    reg_fixture_t *f = *state;
    f->config->outbox.max_attempts = 3;
    aduan_intake_result_t r;
    int64_t ack = complaint_ack(f, "INBOX:1:1", &r);
    int64_t notices = count_notices(f);
    assert_int_equal(notices, 2); /* notice_new to the help desk */

    for (int attempt = 1; attempt <= 3; attempt++) {
        assert_true(is_due(f, "email", ack));
        mark_sending(f, ack);
        result(f, ack, "temporary", NULL, "connection refused");
        assert_int_equal(row_int(f, ack, "attempts"), attempt);
        if (attempt < 3) {
            assert_row_status(f, ack, "pending");
            assert_int_equal(count_notices(f), notices);
            f->now = row_int(f, ack, "next_attempt_at");
        }
    }
    assert_row_status(f, ack, "failed");
    assert_failure_notices(f, notices, &r);

    /* never due again, whatever the time */
    f->now += 30 * REG_DAY_MS;
    assert_false(is_due(f, "email", ack));
}

static void test_permanent_fails_at_once(void **state)
{
    reg_fixture_t *f = *state;
    aduan_intake_result_t r;
    int64_t ack = complaint_ack(f, "INBOX:1:1", &r);
    int64_t notices = count_notices(f);
    mark_sending(f, ack);
    result(f, ack, "permanent", NULL, "550 5.1.1 user unknown");
    assert_row_status(f, ack, "failed");
    assert_int_equal(row_int(f, ack, "attempts"), 1);
    char err[128];
    assert_true(reg_text(f, err, sizeof err, "SELECT last_error FROM outbox WHERE id = %lld",
                         (long long)ack));
    assert_string_equal(err, "550 5.1.1 user unknown");
    assert_failure_notices(f, notices, &r);
    f->now += REG_DAY_MS;
    assert_false(is_due(f, "email", ack));
}

static void test_failed_notice_makes_no_notice(void **state)
{
    reg_fixture_t *f = *state;
    f->config->outbox.max_attempts = 2;
    aduan_intake_result_t r;
    complaint_ack(f, "INBOX:1:1", &r);
    int64_t mail_notice = reg_int(f, "SELECT id FROM outbox WHERE kind = 'notice'"
                                     " AND channel = 'email'");
    int64_t sms_notice = reg_int(f, "SELECT id FROM outbox WHERE kind = 'notice'"
                                    " AND channel = 'sms'");
    int64_t rows = reg_int(f, "SELECT count(*) FROM outbox");

    /* the help desk's mailbox refuses */
    mark_sending(f, mail_notice);
    result(f, mail_notice, "permanent", NULL, "550 mailbox full");
    assert_row_status(f, mail_notice, "failed");
    assert_int_equal(reg_int(f, "SELECT count(*) FROM outbox"), rows);

    /* the help desk's phone is off until the last try */
    for (int attempt = 1; attempt <= 2; attempt++) {
        mark_sending(f, sms_notice);
        result(f, sms_notice, "temporary", NULL, "no network");
        f->now += REG_HOUR_MS;
    }
    assert_row_status(f, sms_notice, "failed");
    assert_int_equal(reg_int(f, "SELECT count(*) FROM outbox"), rows);
}

static void test_sent_threads_then_bounce(void **state)
{
    reg_fixture_t *f = *state;
    aduan_intake_result_t r;
    int64_t ack = complaint_ack(f, "INBOX:1:1", &r);
    mark_sending(f, ack);
    f->now += 2 * SEC;
    int64_t sent_at = f->now;
    result(f, ack, "sent", "smtp-4F2a9", NULL);
    assert_row_status(f, ack, "sent");
    assert_int_equal(row_int(f, ack, "sent_at"), sent_at);
    char provider[64];
    assert_true(reg_text(f, provider, sizeof provider,
                         "SELECT provider_id FROM outbox WHERE id = %lld", (long long)ack));
    assert_string_equal(provider, "smtp-4F2a9");
    assert_false(is_due(f, "email", ack));

    /* the acknowledgement is now part of the complaint's thread */
    char reason[256] = "";
    json_t *args = json_pack("{s:s}", "ticket", r.ticket);
    json_t *show = aduan_query_show(f->store, args, reason, sizeof reason);
    assert_non_null(show);
    json_t *thread = json_object_get(show, "thread");
    assert_int_equal(json_array_size(thread), 2);
    json_t *out = json_array_get(thread, 1);
    assert_string_equal(json_string_value(json_object_get(out, "direction")), "out");
    assert_string_equal(json_string_value(json_object_get(out, "to")), CITIZEN_MAIL);
    char body[4096], mid[160];
    assert_true(reg_text(f, body, sizeof body, "SELECT body FROM outbox WHERE id = %lld",
                         (long long)ack));
    assert_string_equal(json_string_value(json_object_get(out, "body")), body);
    assert_true(reg_text(f, mid, sizeof mid, "SELECT message_id FROM outbox WHERE id = %lld",
                         (long long)ack));
    assert_string_equal(json_string_value(json_object_get(out, "message_ref")), mid);
    json_decref(show);

    /* a second report of the same success adds nothing */
    result(f, ack, "sent", "smtp-4F2a9", NULL);
    assert_int_equal(reg_int(f, "SELECT count(*) FROM message WHERE direction = 'out'"), 1);
    assert_int_equal(row_int(f, ack, "sent_at"), sent_at);

    /* then the mail bounces: failed, and the help desk is told */
    int64_t notices = count_notices(f);
    f->now += REG_HOUR_MS;
    result(f, ack, "permanent", NULL, "bounce: 550 5.1.1 no such user");
    assert_row_status(f, ack, "failed");
    assert_failure_notices(f, notices, &r);

    show = aduan_query_show(f->store, args, reason, sizeof reason);
    assert_non_null(show);
    json_t *ob = json_object_get(show, "outbox");
    bool seen = false;
    for (size_t i = 0; i < json_array_size(ob); i++) {
        json_t *row = json_array_get(ob, i);
        if (json_integer_value(json_object_get(row, "id")) == ack) {
            assert_string_equal(json_string_value(json_object_get(row, "status")), "failed");
            seen = true;
        }
    }
    assert_true(seen);
    json_decref(show);
    json_decref(args);
}

/*  After the provider accepted an item, a temporary failure (an SMS status report
    "delayed", a mail DSN "delayed, still trying") is not the end of it: the provider is
    still trying and the core must not resend. The row stays sent, nobody is told it
    failed, and the final report still counts. */
static void test_temporary_after_sent_is_not_failure(void **state)
{
    reg_fixture_t *f = *state;
    aduan_intake_result_t r;
    reg_complaint(f, "sms", "modem:1", CITIZEN_SMS, "Izin belum terbit", &r);
    int64_t ack = reg_int(f, "SELECT id FROM outbox WHERE complaint_id = %lld AND kind = 'ack'",
                          (long long)r.complaint_id);
    mark_sending(f, ack);
    result(f, ack, "sent", "MR-21", NULL);
    int64_t notices = count_notices(f);
    f->now += REG_HOUR_MS;
    result(f, ack, "temporary", "MR-21", "status report: delayed");
    assert_row_status(f, ack, "sent");
    assert_int_equal(count_notices(f), notices);
    assert_false(is_due(f, "sms", ack)); /* never resent */
    result(f, ack, "delivered", "MR-21", NULL);
    assert_row_status(f, ack, "delivered");
}

static void test_delivered(void **state)
{
    reg_fixture_t *f = *state;
    aduan_intake_result_t r;
    reg_complaint(f, "sms", "modem:1", CITIZEN_SMS, "Izin belum terbit", &r);
    int64_t ack = reg_int(f, "SELECT id FROM outbox WHERE complaint_id = %lld AND kind = 'ack'",
                          (long long)r.complaint_id);
    mark_sending(f, ack);
    int64_t sent_at = f->now;
    result(f, ack, "sent", "MR-17", NULL);
    f->now += 40 * SEC;
    result(f, ack, "delivered", NULL, NULL);
    assert_row_status(f, ack, "delivered");
    assert_int_equal(row_int(f, ack, "delivered_at"), f->now);
    assert_int_equal(row_int(f, ack, "sent_at"), sent_at);
    char provider[64];
    assert_true(reg_text(f, provider, sizeof provider,
                         "SELECT provider_id FROM outbox WHERE id = %lld", (long long)ack));
    assert_string_equal(provider, "MR-17"); /* kept when the report names none */
    assert_int_equal(reg_int(f, "SELECT count(*) FROM message WHERE direction = 'out'"), 1);

    /* delivered is final: a late failure report changes nothing, tells nobody */
    int64_t notices = count_notices(f);
    result(f, ack, "permanent", NULL, "late report");
    assert_row_status(f, ack, "delivered");
    assert_int_equal(count_notices(f), notices);

    /* straight from sending to delivered: sent and delivered at once; a notice to staff
       is not part of the citizen's thread */
    int64_t n1 = reg_int(f, "SELECT id FROM outbox WHERE kind = 'notice' AND channel = 'sms'");
    mark_sending(f, n1);
    result(f, n1, "delivered", "MR-18", NULL);
    assert_row_status(f, n1, "delivered");
    assert_int_equal(row_int(f, n1, "sent_at"), f->now);
    assert_int_equal(row_int(f, n1, "delivered_at"), f->now);
    assert_int_equal(reg_int(f, "SELECT count(*) FROM message WHERE direction = 'out'"), 1);
}

static void test_unknown_result_harmless(void **state)
{
    reg_fixture_t *f = *state;
    aduan_intake_result_t r;
    complaint_ack(f, "INBOX:1:1", &r);
    char before[512], after[512];
    assert_true(reg_text(f, before, sizeof before,
                         "SELECT group_concat(id || status || attempts, ',') FROM outbox"));
    int64_t messages = reg_int(f, "SELECT count(*) FROM message");
    static const char *const statuses[] = {"sent", "delivered", "temporary", "permanent"};
    for (size_t i = 0; i < 4; i++)
        result(f, 424242, statuses[i], "x", "y");
    assert_true(reg_text(f, after, sizeof after,
                         "SELECT group_concat(id || status || attempts, ',') FROM outbox"));
    assert_string_equal(after, before);
    assert_int_equal(reg_int(f, "SELECT count(*) FROM message"), messages);
    assert_int_equal(aduan_audit_verify(f->store), 0);
}

static void test_sending_expired_at_max_attempts(void **state)
{
    reg_fixture_t *f = *state;
    f->config->outbox.max_attempts = 2;
    aduan_intake_result_t r;
    int64_t ack = complaint_ack(f, "INBOX:1:1", &r);
    int64_t notices = count_notices(f);

    mark_sending(f, ack);
    result(f, ack, "temporary", NULL, "timeout");
    f->now = row_int(f, ack, "next_attempt_at");
    mark_sending(f, ack); /* the last try; the adapter then dies without a RESULT */
    assert_int_equal(row_int(f, ack, "attempts"), 2);
    int64_t deadline = row_int(f, ack, "next_attempt_at");

    f->now = deadline - 1;
    due_t d = {0};
    due_on(f, "email", 10, &d);
    assert_row_status(f, ack, "sending");
    f->now = deadline;
    due_on(f, "email", 10, &d);
    for (int i = 0; i < d.count; i++)
        assert_true(d.id[i] != ack); /* not handed out a third time */
    assert_row_status(f, ack, "failed");
    char err[256];
    assert_true(reg_text(f, err, sizeof err, "SELECT last_error FROM outbox WHERE id = %lld",
                         (long long)ack));
    assert_true(strlen(err) > 0);
    assert_failure_notices(f, notices, &r);

    /* a late RESULT for it changes nothing */
    result(f, ack, "temporary", NULL, "late");
    assert_row_status(f, ack, "failed");
    assert_int_equal(count_notices(f), notices + 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_retry_delay_schedule, reg_setup, reg_teardown),
        cmocka_unit_test_setup_teardown(test_each_due_by_channel, reg_setup, reg_teardown),
        cmocka_unit_test_setup_teardown(test_due_reads_only_what_is_due, reg_setup,
                                        reg_teardown),
        cmocka_unit_test_setup_teardown(test_clock_stepped_back_and_forward, reg_setup,
                                        reg_teardown),
        cmocka_unit_test_setup_teardown(test_deliver_fields, reg_setup, reg_teardown),
        cmocka_unit_test_setup_teardown(test_mark_sending_deadline, reg_setup, reg_teardown),
        cmocka_unit_test_setup_teardown(test_handed_out_at_intake, reg_setup, reg_teardown),
        cmocka_unit_test_setup_teardown(test_temporary_backoff, reg_setup, reg_teardown),
        cmocka_unit_test_setup_teardown(test_retry_now_when_back, reg_setup, reg_teardown),
        cmocka_unit_test_setup_teardown(test_temporary_until_failed, reg_setup, reg_teardown),
        cmocka_unit_test_setup_teardown(test_permanent_fails_at_once, reg_setup, reg_teardown),
        cmocka_unit_test_setup_teardown(test_failed_notice_makes_no_notice, reg_setup,
                                        reg_teardown),
        cmocka_unit_test_setup_teardown(test_sent_threads_then_bounce, reg_setup, reg_teardown),
        cmocka_unit_test_setup_teardown(test_temporary_after_sent_is_not_failure, reg_setup,
                                        reg_teardown),
        cmocka_unit_test_setup_teardown(test_delivered, reg_setup, reg_teardown),
        cmocka_unit_test_setup_teardown(test_unknown_result_harmless, reg_setup, reg_teardown),
        cmocka_unit_test_setup_teardown(test_sending_expired_at_max_attempts, reg_setup,
                                        reg_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
