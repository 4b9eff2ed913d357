/*  test_tickets.c - ticket numbers: PREFIX-YYYY-NNNNN, gap-free within the local year,
    restarting each New Year (Jakarta time), never consumed by a rolled-back transaction,
    and kept across a restart. */
#include "registry_fixture.h"

#include <regex.h>

/* 2026-12-31 23:59:59 in Jakarta = 16:59:59 UTC: still 2026 there and in UTC */
#define LAST_SECOND_2026_WIB 1798736399000LL
/* 2027-01-01 00:00:00 in Jakarta = 2026-12-31 17:00:00 UTC: a new year only locally */
#define FIRST_SECOND_2027_WIB 1798736400000LL

static void take_key(reg_fixture_t *f, const char *key, aduan_intake_result_t *r)
{
    reg_complaint(f, "sms", key, "+6281311112222", "Izin usaha belum terbit", r);
}

static void take_n(reg_fixture_t *f, int n, aduan_intake_result_t *r)
{
    char key[64];
    snprintf(key, sizeof key, "modem1:+6281311112222:%d", n);
    take_key(f, key, r);
}

static void test_format_and_prefix(void **state)
{
    reg_fixture_t *f = *state;
    aduan_intake_result_t r;
    take_n(f, 1, &r);
    assert_string_equal(r.disposition, "new");
    assert_string_equal(r.ticket, "ADU-2026-00001");
    assert_true(r.complaint_id > 0);

    /* the prefix comes from the configuration, read when the ticket is made */
    reg_set_string(&f->config->core.ticket_prefix, "PTSP");
    take_n(f, 2, &r);
    assert_string_equal(r.ticket, "PTSP-2026-00002");

    regex_t re;
    assert_int_equal(regcomp(&re, "^[A-Z]{2,8}-[0-9]{4}-[0-9]{5}$", REG_EXTENDED | REG_NOSUB), 0);
    assert_int_equal(regexec(&re, r.ticket, 0, NULL, 0), 0);
    regfree(&re);

    /* the complaint row carries the ticket it was given */
    char stored[64];
    assert_true(reg_text(f, stored, sizeof stored, "SELECT ticket FROM complaint WHERE id = %lld",
                         (long long)r.complaint_id));
    assert_string_equal(stored, "PTSP-2026-00002");
}

static void test_sequential_gap_free(void **state)
{
    reg_fixture_t *f = *state;
    enum { N = 150 };
    for (int i = 1; i <= N; i++) {
        aduan_intake_result_t r;
        take_n(f, i, &r);
        char want[40];
        snprintf(want, sizeof want, "ADU-2026-%05d", i);
        assert_string_equal(r.ticket, want);
        assert_string_equal(r.disposition, "new");
        f->now += 7 * 60 * 1000; /* a busy day, spread over the hours */
    }
    assert_int_equal(reg_int(f, "SELECT count(*) FROM complaint"), N);
    assert_int_equal(reg_int(f, "SELECT count(DISTINCT ticket) FROM complaint"), N);
    assert_int_equal(reg_int(f, "SELECT last FROM ticket_counter WHERE year = 2026"), N);
}

/* Numbers in one transaction (a group commit) are sequential as well. */
static void test_group_commit_sequential(void **state)
{
    reg_fixture_t *f = *state;
    assert_int_equal(aduan_store_begin(f->store), 0);
    for (int i = 1; i <= 20; i++) {
        char key[32], reason[128];
        snprintf(key, sizeof key, "batch:%d", i);
        aduan_msg_t *m = reg_intake_new("email", key, "warga@example.org", "Perbaikan jalan");
        aduan_intake_result_t r;
        assert_int_equal(aduan_registry_intake(f->store, m, "p", &r, reason, sizeof reason), 0);
        char want[40];
        snprintf(want, sizeof want, "ADU-2026-%05d", i);
        assert_string_equal(r.ticket, want);
        aduan_msg_destroy(&m);
    }
    assert_int_equal(aduan_store_commit(f->store), 0);
    assert_int_equal(reg_int(f, "SELECT count(*) FROM complaint"), 20);
}

static void test_new_year_restarts(void **state)
{
    reg_fixture_t *f = *state;
    aduan_intake_result_t r;
    f->now = LAST_SECOND_2026_WIB - 2 * REG_HOUR_MS;
    take_n(f, 1, &r);
    assert_string_equal(r.ticket, "ADU-2026-00001");
    f->now = LAST_SECOND_2026_WIB;
    take_n(f, 2, &r);
    assert_string_equal(r.ticket, "ADU-2026-00002");

    /* midnight in Jakarta, while UTC is still on 31 December */
    f->now = FIRST_SECOND_2027_WIB;
    take_n(f, 3, &r);
    assert_string_equal(r.ticket, "ADU-2027-00001");
    f->now += REG_HOUR_MS;
    take_n(f, 4, &r);
    assert_string_equal(r.ticket, "ADU-2027-00002");

    /* each year keeps its own counter */
    assert_int_equal(reg_int(f, "SELECT last FROM ticket_counter WHERE year = 2026"), 2);
    assert_int_equal(reg_int(f, "SELECT last FROM ticket_counter WHERE year = 2027"), 2);
}

/* aduan_registry_next_ticket on its own follows the local year of the time it is given. */
static void test_next_ticket_local_year(void **state)
{
    reg_fixture_t *f = *state;
    char t[40];
    assert_int_equal(aduan_store_begin(f->store), 0);
    assert_int_equal(aduan_registry_next_ticket(f->store, LAST_SECOND_2026_WIB, t), 0);
    assert_string_equal(t, "ADU-2026-00001");
    assert_int_equal(aduan_registry_next_ticket(f->store, FIRST_SECOND_2027_WIB, t), 0);
    assert_string_equal(t, "ADU-2027-00001");
    assert_int_equal(aduan_registry_next_ticket(f->store, FIRST_SECOND_2027_WIB, t), 0);
    assert_string_equal(t, "ADU-2027-00002");
    aduan_store_rollback(f->store);
}

static void test_rollback_consumes_no_number(void **state)
{
    reg_fixture_t *f = *state;
    aduan_intake_result_t r;
    take_n(f, 1, &r);
    assert_string_equal(r.ticket, "ADU-2026-00001");

    /* the batch fails after the intake: everything in it is undone */
    aduan_msg_t *m = reg_intake_new("sms", "lost-in-rollback", "+6281311112222", "Hilang");
    char reason[128];
    assert_int_equal(aduan_store_begin(f->store), 0);
    assert_int_equal(aduan_registry_intake(f->store, m, "p", &r, reason, sizeof reason), 0);
    assert_string_equal(r.ticket, "ADU-2026-00002");
    aduan_store_rollback(f->store);
    assert_int_equal(reg_int(f, "SELECT count(*) FROM complaint"), 1);
    assert_int_equal(reg_int(f, "SELECT count(*) FROM intake"), 1);

    take_n(f, 3, &r);
    assert_string_equal(r.ticket, "ADU-2026-00002");

    /* the item rolled back is not remembered as seen either: its retry is new */
    assert_int_equal(reg_take(f, m, &r), 0);
    assert_string_equal(r.disposition, "new");
    assert_string_equal(r.ticket, "ADU-2026-00003");
    aduan_msg_destroy(&m);
}

/* An item refused for good inside a batch takes no number: the next one is gap-free. */
static void test_refused_item_consumes_no_number(void **state)
{
    reg_fixture_t *f = *state;
    char reason[128];
    aduan_intake_result_t r;
    aduan_msg_t *a = reg_intake_new("sms", "sp:a", "+6281311112222", "satu");
    aduan_msg_t *b = reg_intake_new("sms", "sp:b", "+6281311112222", "dua");
    aduan_msg_t *c = reg_intake_new("sms", "sp:c", "+6281311112222", "tiga");
    aduan_msg_set(&b->intake.intent, "bogus");
    assert_int_equal(aduan_store_begin(f->store), 0);
    assert_int_equal(aduan_registry_intake(f->store, a, "p", &r, reason, sizeof reason), 0);
    assert_string_equal(r.ticket, "ADU-2026-00001");
    assert_int_equal(aduan_registry_intake(f->store, b, "p", &r, reason, sizeof reason), -1);
    assert_int_equal(aduan_registry_intake(f->store, c, "p", &r, reason, sizeof reason), 0);
    assert_string_equal(r.ticket, "ADU-2026-00002");
    assert_int_equal(aduan_store_commit(f->store), 0);
    assert_int_equal(reg_int(f, "SELECT count(*) FROM complaint"), 2);
    aduan_msg_destroy(&a);
    aduan_msg_destroy(&b);
    aduan_msg_destroy(&c);
}

static void test_survives_reopen(void **state)
{
    reg_fixture_t *f = *state;
    aduan_intake_result_t r;
    for (int i = 1; i <= 3; i++)
        take_n(f, i, &r);
    assert_string_equal(r.ticket, "ADU-2026-00003");

    reg_close(f);
    reg_open(f);
    take_n(f, 4, &r);
    assert_string_equal(r.ticket, "ADU-2026-00004");

    /* and what was taken before the restart is still known by its key */
    take_n(f, 2, &r);
    assert_string_equal(r.disposition, "duplicate");
    assert_string_equal(r.ticket, "ADU-2026-00002");

    reg_close(f);
    reg_open(f);
    take_n(f, 5, &r);
    assert_string_equal(r.ticket, "ADU-2026-00005");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_format_and_prefix, reg_setup, reg_teardown),
        cmocka_unit_test_setup_teardown(test_sequential_gap_free, reg_setup, reg_teardown),
        cmocka_unit_test_setup_teardown(test_group_commit_sequential, reg_setup, reg_teardown),
        cmocka_unit_test_setup_teardown(test_new_year_restarts, reg_setup, reg_teardown),
        cmocka_unit_test_setup_teardown(test_next_ticket_local_year, reg_setup, reg_teardown),
        cmocka_unit_test_setup_teardown(test_rollback_consumes_no_number, reg_setup,
                                        reg_teardown),
        cmocka_unit_test_setup_teardown(test_refused_item_consumes_no_number, reg_setup,
                                        reg_teardown),
        cmocka_unit_test_setup_teardown(test_survives_reopen, reg_setup, reg_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
