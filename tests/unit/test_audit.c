/*  test_audit.c - the append-only audit trail: rows chained by SHA-256, UPDATE and DELETE
    refused by triggers, and a row changed or removed behind the registry's back found by
    aduan_audit_verify at the first row whose hash no longer holds. */
#include "registry_fixture.h"

#include "aduan/hash.h"

#define ROWS 6

/* ROWS complaints, one audit row each ("recorded"), at different times. */
static void fill(reg_fixture_t *f)
{
    for (int i = 1; i <= ROWS; i++) {
        char key[32];
        snprintf(key, sizeof key, "k:%d", i);
        aduan_intake_result_t r;
        reg_complaint(f, "sms", key, "+6285712345678", "Izin belum terbit", &r);
        f->now += 90 * 1000;
    }
    assert_int_equal(reg_int(f, "SELECT count(*) FROM audit"), ROWS);
}

static void test_empty_trail_verifies(void **state)
{
    reg_fixture_t *f = *state;
    assert_int_equal(reg_int(f, "SELECT count(*) FROM audit"), 0);
    assert_int_equal(aduan_audit_verify(f->store), 0);
}

static void test_intakes_chain(void **state)
{
    reg_fixture_t *f = *state;
    fill(f);
    assert_int_equal(aduan_audit_verify(f->store), 0);

    /* what the rows say */
    assert_int_equal(reg_int(f, "SELECT count(*) FROM audit WHERE action = 'recorded'"
                                " AND actor = 'gateway' AND complaint_id IS NOT NULL"),
                     ROWS);
    assert_int_equal(reg_int(f, "SELECT at FROM audit WHERE id = 1"), REG_T0_MS);
    char detail[256];
    assert_true(reg_text(f, detail, sizeof detail, "SELECT detail FROM audit WHERE id = 1"));
    assert_non_null(strstr(detail, "channel=sms"));
    assert_null(strstr(detail, "+6285712345678")); /* the number is masked */

    /* the chain itself: the first row starts from zeros, each next from the one before */
    char prev[80], hash[80];
    assert_true(reg_text(f, prev, sizeof prev, "SELECT prev_hash FROM audit WHERE id = 1"));
    assert_string_equal(prev,
                        "0000000000000000000000000000000000000000000000000000000000000000");
    assert_int_equal(reg_int(f, "SELECT count(*) FROM audit a JOIN audit b ON b.id = a.id + 1"
                                " WHERE b.prev_hash = a.hash"),
                     ROWS - 1);
    assert_int_equal(reg_int(f, "SELECT count(DISTINCT hash) FROM audit"), ROWS);
    assert_true(reg_text(f, hash, sizeof hash, "SELECT hash FROM audit WHERE id = 1"));
    assert_int_equal(strlen(hash), 64);

    /* rows appended directly chain on, also across a restart */
    assert_int_equal(aduan_store_begin(f->store), 0);
    assert_int_equal(aduan_audit_append(f->store, "siti", 1, "review", "diterima"), 0);
    assert_int_equal(aduan_audit_append(f->store, "bambang", 0, "login", NULL), 0);
    assert_int_equal(aduan_store_commit(f->store), 0);
    assert_int_equal(aduan_audit_verify(f->store), 0);
    reg_close(f);
    reg_open(f);
    assert_int_equal(aduan_store_begin(f->store), 0);
    assert_int_equal(aduan_audit_append(f->store, "siti", 2, "forwarded", "ke Kepala Dinas"), 0);
    assert_int_equal(aduan_store_commit(f->store), 0);
    assert_int_equal(aduan_audit_verify(f->store), 0);
    assert_int_equal(reg_int(f, "SELECT count(*) FROM audit"), ROWS + 3);
}

/* A rolled-back transaction leaves no audit row and no hole in the chain. */
static void test_rollback_leaves_chain_intact(void **state)
{
    reg_fixture_t *f = *state;
    fill(f);
    assert_int_equal(aduan_store_begin(f->store), 0);
    assert_int_equal(aduan_audit_append(f->store, "siti", 1, "review", "batal"), 0);
    aduan_store_rollback(f->store);
    assert_int_equal(aduan_store_begin(f->store), 0);
    assert_int_equal(aduan_audit_append(f->store, "siti", 1, "review", "jadi"), 0);
    assert_int_equal(aduan_store_commit(f->store), 0);
    assert_int_equal(reg_int(f, "SELECT count(*) FROM audit"), ROWS + 1);
    assert_int_equal(aduan_audit_verify(f->store), 0);
}

static void test_update_and_delete_refused(void **state)
{
    reg_fixture_t *f = *state;
    fill(f);
    char err[256], before[80], after[80];
    assert_true(reg_text(f, before, sizeof before, "SELECT hash FROM audit WHERE id = 3"));

    assert_int_equal(reg_exec(f, "UPDATE audit SET detail = 'diubah' WHERE id = 3", err,
                              sizeof err),
                     SQLITE_CONSTRAINT);
    assert_non_null(strstr(err, "append-only"));
    assert_int_equal(reg_exec(f, "UPDATE audit SET hash = 'x', prev_hash = 'y'", err, sizeof err),
                     SQLITE_CONSTRAINT);
    assert_int_equal(reg_exec(f, "DELETE FROM audit WHERE id = 3", err, sizeof err),
                     SQLITE_CONSTRAINT);
    assert_non_null(strstr(err, "append-only"));
    assert_int_equal(reg_exec(f, "DELETE FROM audit", err, sizeof err), SQLITE_CONSTRAINT);

    assert_int_equal(reg_int(f, "SELECT count(*) FROM audit"), ROWS);
    assert_true(reg_text(f, after, sizeof after, "SELECT hash FROM audit WHERE id = 3"));
    assert_string_equal(after, before);
    char detail[256];
    assert_true(reg_text(f, detail, sizeof detail, "SELECT detail FROM audit WHERE id = 3"));
    assert_string_not_equal(detail, "diubah");
    assert_int_equal(aduan_audit_verify(f->store), 0);
}

static void drop_triggers(reg_fixture_t *f)
{
    reg_exec_ok(f, "DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete");
}

static void test_changed_detail_found(void **state)
{
    reg_fixture_t *f = *state;
    fill(f);
    drop_triggers(f);
    reg_exec_ok(f, "UPDATE audit SET detail = 'channel=sms from=+62812****0000' WHERE id = 4");
    assert_int_equal(aduan_audit_verify(f->store), 4);
}

static void test_changed_fields_found(void **state)
{
    reg_fixture_t *f = *state;
    fill(f);
    drop_triggers(f);
    /* every field counts: who, when, which complaint, what */
    static const char *const edits[] = {
        "UPDATE audit SET actor = 'siti'",
        "UPDATE audit SET at = at + 1",
        "UPDATE audit SET complaint_id = complaint_id + 1",
        "UPDATE audit SET complaint_id = NULL",
        "UPDATE audit SET action = 'rejected'",
        "UPDATE audit SET prev_hash = hash",
    };
    for (size_t i = 0; i < sizeof edits / sizeof edits[0]; i++) {
        int k = (int)i + 1;
        char sql[160];
        snprintf(sql, sizeof sql, "%s WHERE id = %d", edits[i], k);
        reg_exec_ok(f, "SAVEPOINT tamper");
        reg_exec_ok(f, sql);
        assert_int_equal(aduan_audit_verify(f->store), k);
        reg_exec_ok(f, "ROLLBACK TO tamper; RELEASE tamper");
        assert_int_equal(aduan_audit_verify(f->store), 0);
    }
}

/*  A forger who changes row k and writes a matching hash for it still breaks the link of
    row k+1, which names the old hash as its prev_hash. The new hash is made here the way
    audit.c makes it (each field NUL-terminated); should that recipe change, this test
    reports row k instead of k+1. */
static void test_rehashed_row_found_at_next(void **state)
{
    reg_fixture_t *f = *state;
    fill(f);
    drop_triggers(f);
    char prev[80], actor[64], action[64];
    const char *detail = "channel=sms from=dipalsukan";
    assert_true(reg_text(f, prev, sizeof prev, "SELECT prev_hash FROM audit WHERE id = 5"));
    assert_true(reg_text(f, actor, sizeof actor, "SELECT actor FROM audit WHERE id = 5"));
    assert_true(reg_text(f, action, sizeof action, "SELECT action FROM audit WHERE id = 5"));
    char at[32], cid[32];
    snprintf(at, sizeof at, "%lld", (long long)reg_int(f, "SELECT at FROM audit WHERE id = 5"));
    snprintf(cid, sizeof cid, "%lld",
             (long long)reg_int(f, "SELECT coalesce(complaint_id, 0) FROM audit WHERE id = 5"));
    const char *fields[] = {prev, at, actor, cid, action, detail};
    aduan_sha256_t *h = aduan_sha256_new();
    assert_non_null(h);
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        aduan_sha256_update(h, fields[i], strlen(fields[i]) + 1);
    char hash[65];
    assert_int_equal(aduan_sha256_finish(&h, hash), 0);

    char *sql = sqlite3_mprintf("UPDATE audit SET detail = %Q, hash = %Q WHERE id = 5", detail,
                                hash);
    reg_exec_ok(f, sql);
    sqlite3_free(sql);
    assert_int_equal(aduan_audit_verify(f->store), 6);

    /* the last row rewritten that way cannot be told from a genuine one: the chain only
       protects what has a successor (keep an external copy of the last hash for that) */
}

static void test_deleted_row_found_at_next(void **state)
{
    reg_fixture_t *f = *state;
    fill(f);
    drop_triggers(f);
    reg_exec_ok(f, "DELETE FROM audit WHERE id = 3");
    assert_int_equal(aduan_audit_verify(f->store), 4);

    /* the first row removed: the new first row does not start from zeros */
    reg_exec_ok(f, "DELETE FROM audit WHERE id = 1");
    assert_int_equal(aduan_audit_verify(f->store), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_empty_trail_verifies, reg_setup, reg_teardown),
        cmocka_unit_test_setup_teardown(test_intakes_chain, reg_setup, reg_teardown),
        cmocka_unit_test_setup_teardown(test_rollback_leaves_chain_intact, reg_setup,
                                        reg_teardown),
        cmocka_unit_test_setup_teardown(test_update_and_delete_refused, reg_setup, reg_teardown),
        cmocka_unit_test_setup_teardown(test_changed_detail_found, reg_setup, reg_teardown),
        cmocka_unit_test_setup_teardown(test_changed_fields_found, reg_setup, reg_teardown),
        cmocka_unit_test_setup_teardown(test_rehashed_row_found_at_next, reg_setup,
                                        reg_teardown),
        cmocka_unit_test_setup_teardown(test_deleted_row_found_at_next, reg_setup, reg_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
