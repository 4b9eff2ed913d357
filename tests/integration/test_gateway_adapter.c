/*  gateway_adapter: the loop every channel runs in (channels/adapter.c), with a channel
    made for the test, against the real daemon.

    The channel submits complaints from poll(), records the core's answers in answered()
    and sends every DELIVER at once. The test checks what a channel relies on: each item
    answered exactly once with a ticket; DELIVERs handed over and their RESULTs recorded;
    the channel's status reaching `stats`; a source that cannot be opened tried again; and
    the core killed with items in flight: after its restart they are sent again and
    registered once. A second channel can say whether its source is there: back after an
    absence and refusing its first open, it is opened again a second later. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <pthread.h>
#include <string.h>

#include "aduan/adapter.h"
#include "harness.h"

#define ITEMS 20

/* What the test and the adapter's thread share, under the lock. */
typedef struct {
    pthread_mutex_t lock;
    pthread_cond_t changed;
    int failed_opens_left; /* open() fails this many times first */
    bool absent;           /* present() says the source is gone, and open() fails */
    int refusals_on_return; /* open() fails this many times once the source is back */
    int opens;
    int to_submit;         /* poll() submits this many, then waits for more */
    int submitted;
    int answered;
    int acks;
    int delivered;
    char tickets[2 * ITEMS][40];
    int key_base;
} world_t;

static world_t world = {
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .changed = PTHREAD_COND_INITIALIZER,
};

/* ---- the channel ---------------------------------------------------------------------- */

typedef struct {
    aduan_adapter_t *adapter;
} test_channel_t;

static void *t_open(const aduan_config_t *config, aduan_adapter_t *adapter, char *reason,
                    size_t reasonlen)
{
    (void)config;
    pthread_mutex_lock(&world.lock);
    world.opens++;
    bool fail = true;
    if (world.failed_opens_left > 0)
        world.failed_opens_left--;
    else if (world.absent)
        ; /* gone: refused, and its refusals on return are still to come */
    else if (world.refusals_on_return > 0)
        world.refusals_on_return--;
    else
        fail = false;
    pthread_cond_broadcast(&world.changed);
    pthread_mutex_unlock(&world.lock);
    if (fail) {
        snprintf(reason, reasonlen, "the test's source is not there yet");
        return NULL;
    }
    test_channel_t *self = calloc(1, sizeof *self);
    self->adapter = adapter;
    return self;
}

static int t_poll(void *arg)
{
    test_channel_t *self = arg;
    for (;;) {
        pthread_mutex_lock(&world.lock);
        bool more = world.submitted < world.to_submit;
        int n = world.submitted++;
        if (!more)
            world.submitted--;
        pthread_mutex_unlock(&world.lock);
        if (!more)
            return 50;
        char key[32], text[64];
        snprintf(key, sizeof key, "adapter-test-%d", n);
        snprintf(text, sizeof text, "Pengaduan uji nomor %d", n);
        aduan_msg_t *m = h_intake_new("test", key, "+6281200000001", "", text);
        aduan_msg_set(&m->intake.account, NULL); /* the runner fills it in */
        aduan_msg_set(&m->intake.channel, NULL);
        if (aduan_adapter_submit(self->adapter, &m, (void *)(intptr_t)n) != 0)
            return -1;
    }
}

static void t_answered(void *arg, void *cookie, const aduan_msg_t *answer)
{
    (void)arg;
    int n = (int)(intptr_t)cookie;
    pthread_mutex_lock(&world.lock);
    world.answered++;
    if (answer->type == ADUAN_MSG_ACK && n >= 0 && n < 2 * ITEMS) {
        world.acks++;
        snprintf(world.tickets[n], sizeof world.tickets[n], "%s", answer->ack.ticket);
    }
    pthread_cond_broadcast(&world.changed);
    pthread_mutex_unlock(&world.lock);
}

static void t_deliver(void *arg, const aduan_msg_t *d)
{
    test_channel_t *self = arg;
    aduan_adapter_result(self->adapter, d->deliver.outbox_id, "sent", "test-provider",
                         "250 ok\r\nwith a line break a server might send");
    pthread_mutex_lock(&world.lock);
    world.delivered++;
    pthread_cond_broadcast(&world.changed);
    pthread_mutex_unlock(&world.lock);
}

static char *t_status(void *arg)
{
    (void)arg;
    return strdup("{\"source\": \"test\", \"signal\": 77}");
}

static void t_close(void *arg)
{
    free(arg);
}

static const aduan_channel_t test_channel = {
    .name = "test",
    .open = t_open,
    .poll = t_poll,
    .answered = t_answered,
    .deliver = t_deliver,
    .status = t_status,
    .close = t_close,
};

/* A source the runner can ask whether it is there (a server that listens, a modem). */
static bool t_present(const aduan_config_t *config)
{
    (void)config;
    pthread_mutex_lock(&world.lock);
    bool there = !world.absent;
    pthread_mutex_unlock(&world.lock);
    return there;
}

/* ---- helpers -------------------------------------------------------------------------- */

/* Waits until field reaches want (the lock held while reading), at most timeout_ms. */
static bool wait_count(const int *field, int want, int timeout_ms)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&world.lock);
    while (*field < want)
        if (pthread_cond_timedwait(&world.changed, &world.lock, &until) != 0)
            break;
    bool ok = *field >= want;
    pthread_mutex_unlock(&world.lock);
    return ok;
}

static json_int_t complaints(const h_env_t *env)
{
    json_t *stats = h_control_ok(env, "stats", NULL);
    json_int_t n = json_integer_value(json_object_get(stats, "complaints"));
    json_decref(stats);
    return n;
}

static json_t *test_adapter_stats(const h_env_t *env)
{
    json_t *stats = h_control_ok(env, "stats", NULL);
    json_t *adapters = json_object_get(json_object_get(stats, "service"), "adapters");
    size_t i;
    json_t *a, *found = NULL;
    json_array_foreach(adapters, i, a)
        if (strcmp(json_string_value(json_object_get(a, "channel")), "test") == 0)
            found = json_incref(a);
    json_decref(stats);
    return found;
}

/* The real daemon on a new state directory, and its configuration handed to the runner. */
static h_env_t *daemon_up(const h_options_t *opts, aduan_config_t **config)
{
    h_env_t *env = h_env_new(opts);
    assert_int_equal(h_daemon_start(env), 0);
    assert_int_equal(aduan_config_load(env->conf, config, NULL), 0);
    aduan_adapter_actor_config = *config;
    return env;
}

/* The runner stopped, then the daemon, and the test's folder removed: it passed. */
static void daemon_down(h_env_t **env_p, zactor_t **actor_p, aduan_config_t **config_p)
{
    zactor_destroy(actor_p);
    aduan_config_destroy(config_p);
    h_pass(*env_p);
    assert_int_equal(h_daemon_stop(*env_p, H_STOP_MS), 0);
    h_env_destroy(env_p);
}

/* ---- the test ------------------------------------------------------------------------- */

static void test_runner(void **state)
{
    (void)state;
    h_options_t opts = {.peer_timeout_ms = 3000, .retry_base_s = 1};
    aduan_config_t *config = NULL;
    h_env_t *env = daemon_up(&opts, &config);

    /* the source fails twice before it opens: tried again with backoff (1 s, 2 s) */
    world.failed_opens_left = 2;
    world.to_submit = ITEMS;
    zactor_t *actor = zactor_new(aduan_adapter_actor, (void *)&test_channel);
    assert_non_null(actor);
    assert_true(wait_count(&world.opens, 3, 8000));
    assert_true(wait_count(&world.answered, ITEMS, 10000));
    assert_int_equal(world.acks, ITEMS);
    for (int i = 0; i < ITEMS; i++)
        assert_true(h_ticket_valid(world.tickets[i]));
    assert_int_equal(complaints(env), ITEMS);

    /* every acknowledgement reached the channel and its RESULT the outbox */
    assert_true(wait_count(&world.delivered, ITEMS, 10000));
    json_t *shown = h_show(env, world.tickets[0]);
    size_t i;
    json_t *row;
    bool sent = false;
    json_array_foreach(json_object_get(shown, "outbox"), i, row)
        sent = sent || (strcmp(json_string_value(json_object_get(row, "channel")), "test") == 0 &&
                        strcmp(json_string_value(json_object_get(row, "status")), "sent") == 0);
    json_decref(shown);
    assert_true(sent);

    /* the channel's facts arrive with its heartbeats (every second here): asked until
       one has come, for 5 s at most */
    json_t *a = test_adapter_stats(env);
    for (int64_t until = h_now_ms() + 5000; !(a && json_object_get(a, "status")) &&
                                            h_now_ms() < until;) {
        json_decref(a);
        zclock_sleep(100);
        a = test_adapter_stats(env);
    }
    assert_non_null(a);
    const json_t *status = json_object_get(a, "status");
    assert_int_equal(json_integer_value(json_object_get(status, "signal")), 77);
    /* and what the runner adds for every channel: items waiting for the core's answer */
    assert_true(json_is_integer(json_object_get(status, "unanswered")));
    assert_true(json_integer_value(json_object_get(status, "oldest_unanswered_s")) >= 0);
    json_decref(a);

    /* the core dies with items in flight; they are sent again to the new core */
    h_daemon_kill(env);
    pthread_mutex_lock(&world.lock);
    world.to_submit = 2 * ITEMS;
    pthread_mutex_unlock(&world.lock);
    assert_true(wait_count(&world.submitted, 2 * ITEMS, 5000));
    assert_int_equal(world.answered, ITEMS); /* nobody there to answer */
    assert_int_equal(h_daemon_start(env), 0);
    assert_true(wait_count(&world.answered, 2 * ITEMS, 30000));
    assert_int_equal(world.acks, 2 * ITEMS);
    assert_int_equal(complaints(env), 2 * ITEMS);
    for (int n = ITEMS; n < 2 * ITEMS; n++)
        for (int m = 0; m < n; m++)
            assert_string_not_equal(world.tickets[n], world.tickets[m]);

    daemon_down(&env, &actor, &config);
}

/*  A source away long enough for the runner's backoff to grow (8 s after four failed
    opens), back, and refusing its first open (a mail server that listens before it lets
    anyone log in): the runner tries again a second later, as after any return, not after
    the backoff the absence built up. */
static void test_source_back_refuses_once(void **state)
{
    (void)state;
    aduan_config_t *config = NULL;
    h_env_t *env = daemon_up(NULL, &config);
    pthread_mutex_lock(&world.lock);
    world.opens = world.submitted = world.to_submit = world.failed_opens_left = 0;
    world.absent = true;
    world.refusals_on_return = 1;
    pthread_mutex_unlock(&world.lock);

    /* the same channel, able to say whether its source is there */
    aduan_channel_t present_channel = test_channel;
    present_channel.present = t_present;
    zactor_t *actor = zactor_new(aduan_adapter_actor, &present_channel);
    assert_non_null(actor);
    /* opens at 0, 1, 3 and 7 s, each refused: the next would wait 16 s */
    assert_true(wait_count(&world.opens, 4, 12000));
    pthread_mutex_lock(&world.lock);
    world.absent = false;
    pthread_mutex_unlock(&world.lock);
    int64_t back = h_now_ms();
    /* noticed within a second and opened (refused), then opened again */
    assert_true(wait_count(&world.opens, 6, 30000));
    int64_t took = h_now_ms() - back;
    print_message("open after the source's return: %lld ms\n", (long long)took);
    if (took > 5000)
        fail_msg("the source was back; the runner opened it only after %lld ms", (long long)took);

    daemon_down(&env, &actor, &config);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_runner),
        cmocka_unit_test(test_source_back_refuses_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
