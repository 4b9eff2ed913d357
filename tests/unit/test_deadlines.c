/*  test_deadlines.c - the calendar of the SOP's deadlines (calendar and working days,
    weekends, holidays, the end of the local day) and CSV cells safe in a spreadsheet. */
#include "registry_fixture.h"

/* local ms of YYYY-MM-DD hh:mm (Jakarta) */
static int64_t at(int y, int mo, int d, int h, int mi)
{
    struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h,
                    .tm_min = mi, .tm_isdst = -1};
    return (int64_t)mktime(&tm) * 1000;
}

static int64_t end_of(int y, int mo, int d)
{
    return at(y, mo, d, 23, 59) + 59 * 1000 + 999;
}

static void test_calendar_days(void **state)
{
    (void)state;
    reg_use_jakarta_time();
    /* Monday 2 March 2026, 10:00: 14 days later is Monday 16 March, to its end */
    int64_t t0 = at(2026, 3, 2, 10, 0);
    assert_int_equal(aduan_deadline_after(t0, 14, false, ""), end_of(2026, 3, 16));
    assert_int_equal(aduan_deadline_after(t0, 0, false, ""), end_of(2026, 3, 2));
    /* across a month's end */
    assert_int_equal(aduan_deadline_after(at(2026, 1, 25, 8, 0), 14, false, NULL),
                     end_of(2026, 2, 8));
}

static void test_working_days_skip_weekends_and_holidays(void **state)
{
    (void)state;
    reg_use_jakarta_time();
    /* Friday 6 March 2026: 1 working day is Monday 9 March */
    int64_t friday = at(2026, 3, 6, 16, 0);
    assert_int_equal(aduan_deadline_after(friday, 1, true, ""), end_of(2026, 3, 9));
    /* with Monday a holiday (and spaces in the list), Tuesday */
    assert_int_equal(aduan_deadline_after(friday, 1, true, "2026-01-01, 2026-03-09"),
                     end_of(2026, 3, 10));
    /* 14 working days from Monday 2 March: two full weeks and four days */
    assert_int_equal(aduan_deadline_after(at(2026, 3, 2, 9, 0), 14, true, ""),
                     end_of(2026, 3, 20));
    /* a holiday on a weekend changes nothing */
    assert_int_equal(aduan_deadline_after(friday, 1, true, "2026-03-07"), end_of(2026, 3, 9));
    /* a list entry must be the whole date */
    assert_int_equal(aduan_deadline_after(friday, 1, true, "2026-03-091"), end_of(2026, 3, 9));
    assert_true(aduan_deadline_is_working_day(at(2026, 3, 9, 9, 0), ""));
    assert_false(aduan_deadline_is_working_day(at(2026, 3, 9, 9, 0), "2026-03-09"));
    assert_false(aduan_deadline_is_working_day(at(2026, 3, 7, 9, 0), ""));
}

static char *cell(const char *text)
{
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    aduan_csv_cell(f, text);
    fclose(f);
    return out;
}

static void test_csv_cells(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"Budi", "\"Budi\""},
        {"a \"quote\", and a comma", "\"a \"\"quote\"\", and a comma\""},
        {"=1+1", "\"'=1+1\""},
        {"+62812", "\"'+62812\""},
        {"-5", "\"'-5\""},
        {"@SUM(A1)", "\"'@SUM(A1)\""},
        {"\tx", "\"'\tx\""},
        {"\rx", "\"'\rx\""},
        {"", "\"\""},
        {NULL, "\"\""},
        {"a=b", "\"a=b\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *got = cell(cases[i].in);
        assert_string_equal(got, cases[i].out);
        free(got);
    }
}

/*  A new complaint carries the time of its first reminder (next_check_at), written with
    the row: the scan passes it by until then, without rewriting it, and at that time
    reminds the role that acts. */
static void test_new_complaint_first_check(void **state)
{
    reg_fixture_t *f = *state;
    aduan_intake_result_t r;
    reg_complaint(f, "email", "k1", "warga@example.org", "Izin usaha belum selesai", &r);
    int64_t check_at = reg_int(f, "SELECT next_check_at FROM complaint WHERE id = %lld",
                               (long long)r.complaint_id);
    assert_true(check_at > f->now);
    assert_int_equal(check_at, aduan_deadlines_first_check(f->config, "recorded", f->now,
                                                           f->now));
    const char *reminders = "SELECT count(*) FROM deadline_notice WHERE kind = 'reminder'";

    f->now = check_at - 1;
    assert_int_equal(aduan_deadlines_tick(f->store), 0);
    assert_int_equal(reg_int(f, reminders), 0);
    assert_int_equal(reg_int(f, "SELECT next_check_at FROM complaint WHERE id = %lld",
                             (long long)r.complaint_id), check_at);

    f->now = check_at;
    assert_true(aduan_deadlines_tick(f->store) > 0);
    assert_true(reg_int(f, reminders) > 0);
    assert_true(reg_int(f, "SELECT next_check_at FROM complaint WHERE id = %lld",
                        (long long)r.complaint_id) > check_at);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_calendar_days),
        cmocka_unit_test(test_working_days_skip_weekends_and_holidays),
        cmocka_unit_test(test_csv_cells),
        cmocka_unit_test_setup_teardown(test_new_complaint_first_check, reg_setup, reg_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
