/*  test_sop_registers.c - the registers of the month through aduanctl: Buku Agenda
    Permohonan and Buku Agenda Tanggapan Pengaduan as CSV (safe against formula injection,
    a confidential complainant masked) and as PDF read back with pdftotext (the office's
    header, page numbers); the monthly summary; and a tampered audit row found by
    `aduanctl audit verify`. */
#include "sop_helpers.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define WAIT_MS 5000

static int setup(void **state)
{
    if (!sop_root()) {
        *state = NULL; /* aduanctl --as is for root */
        return 0;
    }
    h_env_t *env = sop_env_new(NULL);
    if (h_daemon_start(env) != 0) {
        h_env_destroy(&env);
        return -1;
    }
    *state = env;
    return 0;
}

/* pdftotext -layout FILE -, its text; fails the test without poppler-utils. */
static char *pdf_text(h_env_t *env, const char *pdf)
{
    struct stat st;
    if (stat("/usr/bin/pdftotext", &st) != 0)
        fail_msg("pdftotext is missing: apt-get install poppler-utils");
    char out[256];
    snprintf(out, sizeof out, "%s.txt", pdf);
    char *argv[] = {"/usr/bin/pdftotext", "-layout", (char *)pdf, out, NULL};
    pid_t pid = h_spawn(argv, NULL, NULL);
    assert_true(pid > 0);
    assert_int_equal(h_wait_exit(pid, 10000), 0);
    (void)env;
    return h_read_file(out);
}

/* today's date, YYYY-MM-DD, and its month, YYYY-MM */
static void today(char day[16], char month[16])
{
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    strftime(day, 16, "%Y-%m-%d", &tm);
    strftime(month, 16, "%Y-%m", &tm);
}

static void test_registers_of_the_month(void **state)
{
    h_env_t *env = *state;
    if (!env)
        skip();
    h_adapter_t *sms = h_adapter_new(env, "sms", "modem1");
    h_adapter_t *email = h_adapter_new(env, "email", "dinas");
    char a[40], b[40], c[40], path[256], day[16], month[16];
    h_run_t run;
    today(day, month);
    sop_complaint(sms, "sms:r1", "+6285712345678", NULL, "Antrean loket terlalu lama", NULL, a);
    sop_complaint(email, "email:<r2@example.net>", "siti.pelapor@example.net",
                  "=HYPERLINK(\"http://x.example/\",\"klik\")", "Isi pengaduan", "r2@example.net",
                  b);
    sop_complaint(email, "email:<r3@example.net>", "rahasia.pelapor@example.net",
                  "Pungli di loket", "Ada pungutan", "r3@example.net", c);
    sop_ctl_expect(env, &run, 0, "verify c", "verify", c, "--confidential", "--as",
                   H_HELPDESK_ID, NULL);
    h_run_clear(&run);

    /* a response for a: the steps up to respond */
    sop_ctl_expect(env, &run, 0, "verify a", "verify", a, "--as", H_HELPDESK_ID, NULL);
    h_run_clear(&run);
    sop_ctl_expect(env, &run, 0, "review a", "review", a, "--note", "ok", "--as",
                   SOP_BACKOFFICE_ID, NULL);
    h_run_clear(&run);
    sop_ctl_expect(env, &run, 0, "forward a", "forward", a, "--as", SOP_BACKOFFICE_ID, NULL);
    h_run_clear(&run);
    sop_ctl_expect(env, &run, 0, "meeting a", "meeting", a, "--at", day, "--attendees", "Kadis",
                   "--as", H_HEAD_ID, NULL);
    h_run_clear(&run);
    snprintf(path, sizeof path, "%s/ba.txt", env->dir);
    assert_int_equal(h_write_file(path, "Berita acara.\n"), 0);
    sop_ctl_expect(env, &run, 0, "minutes a", "minutes", a, "--file", path, "--as",
                   SOP_BACKOFFICE_ID, NULL);
    h_run_clear(&run);
    snprintf(path, sizeof path, "%s/tanggapan.txt", env->dir);
    assert_int_equal(h_write_file(path, "Loket tambahan dibuka mulai Senin.\n"), 0);
    sop_ctl_expect(env, &run, 0, "respond a", "respond", a, "--file", path, "--as",
                   H_HELPDESK_ID, NULL);
    h_run_clear(&run);
    sop_wait_deliver(sms, "response", a, "+6285712345678", WAIT_MS);

    /* the agenda as CSV */
    snprintf(path, sizeof path, "%s/agenda.csv", env->dir);
    sop_ctl_expect(env, &run, 0, "report agenda csv", "report", "agenda", "--from", day, "--to",
                   day, "--format", "csv", "--output", path, NULL);
    h_run_clear(&run);
    char *csv = h_read_file(path);
    assert_true(h_contains(csv, "\"No. Agenda\",\"Tanggal Diterima\",\"Saluran\",\"Pemohon\""));
    assert_true(h_contains(csv, a));
    assert_true(h_contains(csv, b));
    assert_true(h_contains(csv, c));
    /* a formula is text: quoted and prefixed with ' */
    assert_true(h_contains(csv, "\"'=HYPERLINK(\"\"http://x.example/\"\",\"\"klik\"\")\""));
    assert_true(h_contains(csv, "siti.pelapor@example.net"));
    /* the confidential complainant is not in the register */
    assert_false(h_contains(csv, "rahasia.pelapor"));
    assert_true(h_contains(csv, "(dirahasiakan)"));
    size_t lines = 0;
    for (const char *p = csv; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, 4); /* the header and three complaints */
    free(csv);

    /* the agenda as PDF, read back */
    snprintf(path, sizeof path, "%s/agenda.pdf", env->dir);
    sop_ctl_expect(env, &run, 0, "report agenda pdf", "report", "agenda", "--from", day, "--to",
                   day, "--format", "pdf", "--output", path, NULL);
    h_run_clear(&run);
    char *head = h_read_file(path);
    assert_true(strncmp(head, "%PDF-", 5) == 0);
    free(head);
    char *text = pdf_text(env, path);
    assert_true(h_contains(text, "DPMPTSP Kabupaten Uji"));
    assert_true(h_contains(text, "Buku Agenda Permohonan"));
    assert_true(h_contains(text, a));
    assert_true(h_contains(text, c));
    assert_true(h_contains(text, "Halaman 1 dari 1"));
    assert_false(h_contains(text, "rahasia.pelapor"));
    free(text);

    /* the responses register */
    snprintf(path, sizeof path, "%s/responses.pdf", env->dir);
    sop_ctl_expect(env, &run, 0, "report responses pdf", "report", "responses", "--from", day,
                   "--to", day, "--format", "pdf", "--output", path, NULL);
    h_run_clear(&run);
    text = pdf_text(env, path);
    assert_true(h_contains(text, "Buku Agenda Tanggapan Pengaduan"));
    assert_true(h_contains(text, a));
    assert_true(h_contains(text, "Loket tambahan"));
    assert_false(h_contains(text, b));
    free(text);
    sop_ctl_expect(env, &run, 0, "report responses csv", "report", "responses", "--from", day,
                   "--to", day, "--format", "csv", NULL);
    assert_true(h_contains(run.out, "\"1/"));
    assert_true(h_contains(run.out, "Loket tambahan dibuka mulai Senin."));
    h_run_clear(&run);

    /* the summary of the month */
    sop_ctl_expect(env, &run, 0, "report summary", "--json", "report", "summary", "--month",
                   month, NULL);
    json_t *body = json_loads(run.out, 0, NULL);
    json_t *s = json_object_get(body, "summary");
    assert_int_equal(json_integer_value(json_object_get(s, "received")), 3);
    assert_int_equal(json_integer_value(json_object_get(s, "responded")), 1);
    assert_int_equal(json_integer_value(json_object_get(s, "overdue")), 0);
    assert_true(json_is_number(json_object_get(s, "median_days_to_response")));
    json_decref(body);
    h_run_clear(&run);
    snprintf(path, sizeof path, "%s/summary.pdf", env->dir);
    sop_ctl_expect(env, &run, 0, "report summary pdf", "report", "summary", "--month", month,
                   "--format", "pdf", "--output", path, NULL);
    h_run_clear(&run);
    text = pdf_text(env, path);
    assert_true(h_contains(text, "Ringkasan Pengaduan Bulanan"));
    assert_true(h_contains(text, "Saluran: email"));
    free(text);

    /* usage: a report wants its period */
    sop_ctl_expect(env, &run, 1, "report without period", "report", "agenda", NULL);
    h_run_clear(&run);
    sop_ctl_expect(env, &run, 2, "report of nothing", "report", "everything", NULL);
    h_run_clear(&run);
    h_pass(env);
}

static void test_tampered_audit_row(void **state)
{
    h_env_t *env = *state;
    if (!env)
        skip();
    h_adapter_t *sms = h_adapter_new(env, "sms", "modem1");
    char a[40];
    h_run_t run;
    sop_complaint(sms, "sms:t1", "+6285712345678", NULL, "Pengaduan", NULL, a);
    sop_ctl_expect(env, &run, 0, "verify", "verify", a, "--as", H_HELPDESK_ID, NULL);
    h_run_clear(&run);
    sop_ctl_expect(env, &run, 0, "reject", "reject", a, "--reason", "bukan pengaduan", "--as",
                   SOP_BACKOFFICE_ID, NULL);
    h_run_clear(&run);
    sop_ctl_expect(env, &run, 0, "audit verify", "audit", "verify", NULL);
    h_run_clear(&run);

    /* someone with the database file rewrites who verified it */
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(env->db, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    assert_int_equal(sqlite3_exec(db,
                                  "DROP TRIGGER audit_no_update;"
                                  "UPDATE audit SET actor = 'hendra' WHERE action = 'verified';",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    int row = 0;
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT id FROM audit WHERE action = 'verified'", -1,
                                        &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    row = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);

    sop_ctl_expect(env, &run, 1, "audit verify, tampered", "audit", "verify", NULL);
    char expect[64];
    snprintf(expect, sizeof expect, "first bad row is %d", row);
    assert_true(h_contains(run.out, expect));
    h_run_clear(&run);
    h_pass(env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_registers_of_the_month, setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_tampered_audit_row, setup, h_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
