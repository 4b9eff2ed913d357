/*  chaos_disk_full: the state directory on a small tmpfs that fills up (issue #8, "peers
    away: the disk full"). While the disk is full the core refuses intakes for later (a
    temporary NACK: the channel keeps the item at its source) and stays up; once space is
    back, what was refused is sent again and every item gets exactly one ticket, numbers
    without a gap, within 30 s. Needs root (mount); skipped with a message otherwise. */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#define ITEMS 40
#define CATCH_UP_MS 30000

typedef struct {
    h_env_t *env;
    char filler[200];
    bool mounted;
} fixture_t;

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    f->env = h_env_new(NULL);
    mkdir(f->env->state_dir, 0750);
    /* 8 MiB: the registry, its WAL and a few attachments, then full */
    if (mount("tmpfs", f->env->state_dir, "tmpfs", MS_NOSUID | MS_NODEV, "size=8m,mode=0750") == 0)
        f->mounted = true;
    else
        fprintf(stderr, "chaos_disk_full: cannot mount a tmpfs (%s)\n", strerror(errno));
    snprintf(f->filler, sizeof f->filler, "%s/filler", f->env->state_dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    h_daemon_stop(f->env, H_STOP_MS);
    if (f->mounted)
        umount2(f->env->state_dir, MNT_DETACH);
    h_env_destroy(&f->env);
    free(f);
    return 0;
}

/* Writes the filler until the disk says no more. */
static void fill_disk(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    static char block[64 * 1024];
    memset(block, 'x', sizeof block);
    while (write(fd, block, sizeof block) > 0)
        ;
    for (size_t n = 4096; n > 0; n /= 2) /* the last crumbs, so nothing at all is left */
        while (write(fd, block, n) > 0)
            ;
    fsync(fd);
    close(fd);
}

static aduan_msg_t *item(int i)
{
    char key[32], text[200];
    snprintf(key, sizeof key, "full-%03d", i);
    snprintf(text, sizeof text, "Pengaduan nomor %d saat disk penuh: berkas terlampir.", i);
    char from[20];
    snprintf(from, sizeof from, "+62812345%05d", i); /* one citizen each: no follow-ups */
    aduan_msg_t *m = h_intake_new("sms", key, from, NULL, text);
    static char photo[32 * 1024];
    memset(photo, 'p' + i % 7, sizeof photo);
    assert_int_equal(aduan_msg_attach(m, "foto.jpg", "image/jpeg", photo, sizeof photo), 0);
    return m;
}

static void test_full_disk_refused_for_later_then_caught_up(void **state)
{
    fixture_t *f = *state;
    if (!f->mounted) {
        h_pass(f->env);
        skip(); /* not root, or no mount in this container */
    }
    assert_int_equal(h_daemon_start(f->env), 0);
    h_adapter_t *a = h_adapter_new(f->env, "sms", NULL);

    /* a first one while there is room: the registry works */
    aduan_msg_t *m = item(0);
    aduan_msg_t *answer = h_adapter_intake(a, &m);
    assert_non_null(answer);
    assert_int_equal(answer->type, ADUAN_MSG_ACK);
    aduan_msg_destroy(&answer);

    fill_disk(f->filler);
    bool refused[ITEMS] = {false};
    int nacks = 0, acks_while_full = 0;
    for (int i = 1; i < ITEMS; i++) {
        m = item(i);
        answer = h_adapter_intake(a, &m);
        assert_non_null(answer); /* an answer, not silence: the daemon is up */
        if (answer->type == ADUAN_MSG_NACK) {
            if (answer->nack.permanent)
                fail_msg("item %d refused for good on a full disk: %s", i, answer->nack.reason);
            refused[i] = true;
            nacks++;
        } else {
            acks_while_full++; /* a few may fit in what SQLite had already */
        }
        aduan_msg_destroy(&answer);
    }
    print_message("disk full: %d refused for later, %d taken\n", nacks, acks_while_full);
    assert_true(nacks > 0);
    json_t *stats = h_control_ok(f->env, "stats", NULL); /* still answering staff */
    json_decref(stats);

    /* space back: what was refused comes again, as a channel's source still holds it */
    assert_int_equal(unlink(f->filler), 0);
    int64_t deadline = h_now_ms() + CATCH_UP_MS;
    int left = nacks;
    while (left > 0 && h_now_ms() < deadline) {
        for (int i = 1; i < ITEMS; i++) {
            if (!refused[i])
                continue;
            m = item(i);
            answer = h_adapter_intake(a, &m);
            if (answer && answer->type == ADUAN_MSG_ACK) {
                refused[i] = false;
                left--;
            }
            aduan_msg_destroy(&answer);
        }
    }
    assert_int_equal(left, 0);

    /* every item once, and again it gets the same ticket */
    h_run_t run = {0};
    assert_int_equal(h_aduanctl(f->env, &run, 5000, "--json", "list", "--limit", "1000", NULL), 0);
    json_t *list = json_loads(run.out, 0, NULL);
    assert_non_null(list);
    json_t *items = json_object_get(list, "items");
    assert_int_equal(json_array_size(items), ITEMS);
    long seen[ITEMS + 1] = {0};
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it) {
        long n = h_ticket_number(json_string_value(json_object_get(it, "ticket")));
        assert_true(n >= 1 && n <= ITEMS);
        assert_int_equal(seen[n], 0);
        seen[n] = 1; /* gap-free: ITEMS tickets, numbered 1..ITEMS, each once */
    }
    json_decref(list);
    h_run_clear(&run);
    m = item(7);
    answer = h_adapter_intake(a, &m);
    assert_non_null(answer);
    assert_int_equal(answer->type, ADUAN_MSG_ACK);
    assert_string_equal(answer->ack.disposition, "duplicate");
    aduan_msg_destroy(&answer);
    h_adapter_destroy(&a);
    h_pass(f->env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_full_disk_refused_for_later_then_caught_up, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
