/*  test_sigkill_flood.c - "a crash anywhere loses nothing and duplicates no ticket".

    Four adapters send 4000 complaints in all (unique dedupe keys, WINDOW in flight each)
    while aduan-gatewayd is SIGKILLed three times, after a random number of ACKs, and
    started again on the same state directory. After each restart the adapters connect
    again and re-send every item not yet ACKed with its own dedupe key, as a real adapter
    does with a source it has not touched; a temporary NACK is re-sent too.

    At the end the registry must hold exactly 4000 complaints, every dedupe key once, each
    under the ticket its ACK named, numbered 1..4000 without a gap. The registry file is
    read directly (read-only, after a clean SIGTERM).

    CHAOS_SEED=N repeats a run (the seed is printed). */
#include "harness.h"

#include <errno.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define ADAPTERS 4
#define PER_ADAPTER 1000
#define TOTAL (ADAPTERS * PER_ADAPTER)
#define WINDOW 32
#define KILLS 3
#define RUN_MS 120000    /* the whole flood, at most */
#define STUCK_MS 10000   /* an item without an answer this long, daemon alive: re-sent */

typedef enum { WAITING, IN_FLIGHT, ACKED } item_state_t;

typedef struct {
    item_state_t state;
    int sends;          /* its message id is c<lane>-<index>-<sends> */
    int64_t sent_at;
    char ticket[40];
} item_t;

typedef struct {
    h_adapter_t *adapter;
    item_t items[PER_ADAPTER];
    int next_new;       /* items below were sent at least once */
    int *resend;        /* indexes to send again, a stack */
    int resend_count;
    int in_flight;
    int acked;
} lane_t;

typedef struct {
    int acked, duplicates, resent_after_kill, resent_after_nack, resent_stuck, stale;
} tally_t;

static void key_of(int lane, int index, char *out, size_t outlen)
{
    snprintf(out, outlen, "chaos-%d-%04d", lane, index);
}

static void send_item(lane_t *lane, int l, int index)
{
    item_t *it = &lane->items[index];
    char key[32];
    key_of(l, index, key, sizeof key);
    aduan_msg_t *m = h_intake_new("phone", key, NULL, "Banjir di jalan desa",
                                  "Saluran air tersumbat, jalan desa tergenang setiap hujan.");
    it->sends++;
    snprintf(m->id, sizeof m->id, "c%d-%d-%d", l, index, it->sends);
    assert_int_equal(h_adapter_send(lane->adapter, m), 0);
    aduan_msg_destroy(&m);
    it->state = IN_FLIGHT;
    it->sent_at = h_now_ms();
    lane->in_flight++;
}

static void fill_window(lane_t *lane, int l)
{
    while (lane->in_flight < WINDOW) {
        if (lane->resend_count > 0)
            send_item(lane, l, lane->resend[--lane->resend_count]);
        else if (lane->next_new < PER_ADAPTER)
            send_item(lane, l, lane->next_new++);
        else
            break;
    }
}

static void requeue(lane_t *lane, int index)
{
    lane->items[index].state = WAITING;
    lane->in_flight--;
    lane->resend[lane->resend_count++] = index;
}

/* One ACK or NACK for lane l. */
static void take_answer(lane_t *lanes, int l, aduan_msg_t *m, tally_t *t)
{
    const char *ref = m->type == ADUAN_MSG_ACK ? m->ack.ref : m->nack.ref;
    int rl, index, sends;
    if (sscanf(ref, "c%d-%d-%d", &rl, &index, &sends) != 3 || rl != l || index < 0 ||
        index >= PER_ADAPTER)
        fail_msg("answer to an id never sent on lane %d: %s", l, ref);
    lane_t *lane = &lanes[l];
    item_t *it = &lane->items[index];
    if (it->state != IN_FLIGHT || it->sends != sends) {
        t->stale++; /* an answer to an earlier send of an item sent again since */
        return;
    }
    if (m->type == ADUAN_MSG_NACK) {
        if (m->nack.permanent)
            fail_msg("permanent NACK for chaos-%d-%04d: %s", l, index, m->nack.reason);
        requeue(lane, index);
        t->resent_after_nack++;
        return;
    }
    if (strcmp(m->ack.disposition, "new") != 0 && strcmp(m->ack.disposition, "duplicate") != 0)
        fail_msg("ACK %s for chaos-%d-%04d", m->ack.disposition, l, index);
    if (!h_ticket_valid(m->ack.ticket))
        fail_msg("ACK for chaos-%d-%04d names no ticket: '%s'", l, index,
                 m->ack.ticket ? m->ack.ticket : "");
    t->duplicates += strcmp(m->ack.disposition, "duplicate") == 0;
    snprintf(it->ticket, sizeof it->ticket, "%s", m->ack.ticket);
    it->state = ACKED;
    lane->in_flight--;
    lane->acked++;
    t->acked++;
}

static void connect_lanes(h_env_t *env, lane_t *lanes)
{
    for (int l = 0; l < ADAPTERS; l++) {
        char account[32];
        snprintf(account, sizeof account, "line-%d", l);
        lanes[l].adapter = h_adapter_new(env, "phone", account);
        lanes[l].adapter->auto_result = "sent";
    }
}

static void drop_lanes(lane_t *lanes)
{
    for (int l = 0; l < ADAPTERS; l++) {
        zsock_set_linger(lanes[l].adapter->sock, 0); /* what it held was for the dead one */
        h_adapter_destroy(&lanes[l].adapter);
    }
}

/* SIGKILL, start again, connect again; what was in flight is to be sent again. Returns how
   many items were in flight. */
static int sigkill_and_restart(h_env_t *env, lane_t *lanes, tally_t *t)
{
    int in_flight = 0;
    for (int l = 0; l < ADAPTERS; l++)
        in_flight += lanes[l].in_flight;
    h_daemon_kill(env);
    assert_int_equal(env->last_exit, 128 + SIGKILL);
    drop_lanes(lanes);
    for (int l = 0; l < ADAPTERS; l++)
        for (int i = 0; i < lanes[l].next_new; i++)
            if (lanes[l].items[i].state == IN_FLIGHT) {
                requeue(&lanes[l], i);
                t->resent_after_kill++;
            }
    if (h_daemon_start(env) != 0)
        fail_msg("aduan-gatewayd did not start again after a SIGKILL");
    connect_lanes(env, lanes);
    return in_flight;
}

static int cmp_int(const void *a, const void *b)
{
    return *(const int *)a - *(const int *)b;
}

/* ---- the registry file, read directly ----------------------------------------------------- */

static sqlite3_int64 one_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(db));
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    sqlite3_int64 v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static void check_registry(const h_env_t *env, lane_t *lanes)
{
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(env->db, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        fail_msg("cannot open %s: %s", env->db, sqlite3_errmsg(db));
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
    sqlite3_finalize(st);

    sqlite3_int64 complaints = one_int(db, "SELECT count(*) FROM complaint");
    sqlite3_int64 intakes = one_int(db, "SELECT count(*) FROM intake");
    sqlite3_int64 keys = one_int(db, "SELECT count(DISTINCT dedupe_key) FROM intake");
#define NUMBER "CAST(substr(ticket, -5) AS INTEGER)"
    sqlite3_int64 lo = one_int(db, "SELECT min(" NUMBER ") FROM complaint");
    sqlite3_int64 hi = one_int(db, "SELECT max(" NUMBER ") FROM complaint");
    sqlite3_int64 numbers = one_int(db, "SELECT count(DISTINCT " NUMBER ") FROM complaint");
#undef NUMBER
    sqlite3_int64 counter = one_int(db, "SELECT sum(last) FROM ticket_counter");
    fprintf(stderr,
            "registry: %lld complaints, %lld intakes, %lld distinct keys, tickets %lld..%lld "
            "(%lld distinct), counter at %lld\n",
            (long long)complaints, (long long)intakes, (long long)keys, (long long)lo,
            (long long)hi, (long long)numbers, (long long)counter);
    assert_int_equal(complaints, TOTAL);
    assert_int_equal(intakes, TOTAL);
    assert_int_equal(keys, TOTAL);
    assert_int_equal(lo, 1);
    assert_int_equal(hi, TOTAL); /* gap-free: max = count */
    assert_int_equal(numbers, TOTAL);
    assert_int_equal(counter, TOTAL);

    /* every key under the ticket its ACK named */
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT i.dedupe_key, c.ticket, i.disposition FROM intake i"
                                        " LEFT JOIN complaint c ON c.id = i.complaint_id",
                                        -1, &st, NULL),
                     SQLITE_OK);
    int checked = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *key = (const char *)sqlite3_column_text(st, 0);
        const char *ticket = (const char *)sqlite3_column_text(st, 1);
        int l, index;
        if (sscanf(key, "chaos-%d-%d", &l, &index) != 2 || l < 0 || l >= ADAPTERS || index < 0 ||
            index >= PER_ADAPTER)
            fail_msg("an intake nobody sent: %s", key);
        assert_string_equal((const char *)sqlite3_column_text(st, 2), "new");
        const item_t *it = &lanes[l].items[index];
        if (!ticket || strcmp(ticket, it->ticket) != 0)
            fail_msg("%s was ACKed with %s but the registry has it under %s", key, it->ticket,
                     ticket ? ticket : "no ticket");
        checked++;
    }
    sqlite3_finalize(st);
    assert_int_equal(checked, TOTAL);
    sqlite3_close(db);
}

/* ---- the flood ---------------------------------------------------------------------------- */

static void test_sigkill_flood(void **state)
{
    (void)state;
    unsigned seed = getenv("CHAOS_SEED") ? (unsigned)strtoul(getenv("CHAOS_SEED"), NULL, 10)
                                         : (unsigned)time(NULL) ^ (unsigned)getpid();
    fprintf(stderr, "CHAOS_SEED=%u\n", seed);
    srand(seed);
    /* three moments, at least 300 ACKs apart, none at the very start or end */
    int kill_at[KILLS];
    do {
        for (int k = 0; k < KILLS; k++)
            kill_at[k] = 200 + rand() % (TOTAL - 400);
        qsort(kill_at, KILLS, sizeof kill_at[0], cmp_int);
    } while (kill_at[1] - kill_at[0] < 300 || kill_at[2] - kill_at[1] < 300);
    fprintf(stderr, "SIGKILL after %d, %d and %d ACKs\n", kill_at[0], kill_at[1], kill_at[2]);

    h_env_t *env = h_env_new(NULL);
    *state = env;
    assert_int_equal(h_daemon_start(env), 0);
    lane_t *lanes = calloc(ADAPTERS, sizeof *lanes);
    assert_non_null(lanes);
    for (int l = 0; l < ADAPTERS; l++) {
        lanes[l].resend = calloc(PER_ADAPTER, sizeof *lanes[l].resend);
        assert_non_null(lanes[l].resend);
    }
    connect_lanes(env, lanes);

    tally_t t = {0};
    int kills = 0;
    int64_t start = h_now_ms(), deadline = start + RUN_MS;
    int64_t killed_ms = 0; /* time spent killing and restarting */
    while (t.acked < TOTAL) {
        if (h_now_ms() > deadline)
            fail_msg("%d of %d ACKed after %d ms", t.acked, TOTAL, RUN_MS);
        for (int l = 0; l < ADAPTERS; l++)
            fill_window(&lanes[l], l);
        zmq_pollitem_t items[ADAPTERS];
        for (int l = 0; l < ADAPTERS; l++)
            items[l] = (zmq_pollitem_t){zsock_resolve(lanes[l].adapter->sock), 0, ZMQ_POLLIN, 0};
        if (zmq_poll(items, ADAPTERS, 100) < 0 && zmq_errno() != EINTR)
            fail_msg("zmq_poll: %s", zmq_strerror(zmq_errno()));
        /* the kill comes in the middle of reading a batch of ACKs: the rest of that batch
           is committed but never seen by the adapter, so its re-sends meet "duplicate" */
        bool killed = false;
        for (int l = 0; l < ADAPTERS && !killed; l++) {
            if (!(items[l].revents & ZMQ_POLLIN))
                continue;
            aduan_msg_t *m;
            while (!killed && (m = h_adapter_recv(lanes[l].adapter, 0)) != NULL) {
                take_answer(lanes, l, m, &t);
                aduan_msg_destroy(&m);
                if (kills < KILLS && t.acked >= kill_at[kills]) {
                    int64_t t0 = h_now_ms();
                    int in_flight = sigkill_and_restart(env, lanes, &t);
                    kills++;
                    killed = true;
                    killed_ms += h_now_ms() - t0;
                    fprintf(stderr,
                            "SIGKILL %d at %d ACKs, %d in flight; running again after %lld ms\n",
                            kills, t.acked, in_flight, (long long)(h_now_ms() - t0));
                }
            }
        }
        /* a lost answer while the daemon lives would be a bug of its own: re-send, count */
        int64_t now = h_now_ms();
        for (int l = 0; l < ADAPTERS; l++)
            for (int i = 0; i < lanes[l].next_new; i++)
                if (lanes[l].items[i].state == IN_FLIGHT &&
                    now - lanes[l].items[i].sent_at > STUCK_MS) {
                    requeue(&lanes[l], i);
                    t.resent_stuck++;
                }
    }
    int64_t flood_ms = h_now_ms() - start;
    assert_int_equal(kills, KILLS);
    fprintf(stderr,
            "%d ACKed in %lld ms (%lld ms of it killing and restarting); re-sent %d after a "
            "SIGKILL, %d after a temporary NACK, %d without an answer for %d ms; %d ACKs said "
            "duplicate; %d stale answers\n",
            t.acked, (long long)flood_ms, (long long)killed_ms, t.resent_after_kill,
            t.resent_after_nack, t.resent_stuck, STUCK_MS, t.duplicates, t.stale);

    json_t *stats = h_control_ok(env, "stats", NULL);
    assert_int_equal(json_integer_value(json_object_get(stats, "complaints")), TOTAL);
    json_decref(stats);
    json_t *audit = h_control_ok(env, "audit-verify", NULL);
    assert_true(json_is_true(json_object_get(audit, "intact")));
    json_decref(audit);
    assert_int_equal(t.resent_stuck, 0);

    drop_lanes(lanes);
    assert_int_equal(h_daemon_stop(env, H_STOP_MS), 0);
    check_registry(env, lanes);
    for (int l = 0; l < ADAPTERS; l++)
        free(lanes[l].resend);
    free(lanes);
    h_pass(env);
}

static int teardown(void **state)
{
    h_env_t *env = *state;
    h_env_destroy(&env);
    *state = NULL;
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_sigkill_flood, teardown),
    };
    return cmocka_run_group_tests_name("chaos_sigkill_flood", tests, NULL, NULL);
}
