/*  test_sop_deadlines.c - deadlines through the real daemon, its clock moved by the test
    (ADUAN_TEST_CLOCK_FILE) instead of sleeping: a written response due in 3 working days,
    with a public holiday on the first of them, is reminded of to the role that acts a day
    before, shows in `aduanctl overdue` only after the real deadline (not the one a
    calendar without the holiday would give), and is escalated to the head after it, once. */
#include "sop_helpers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define WAIT_MS 8000
#define MINUTE_MS (60LL * 1000)

typedef struct {
    struct tm day[4]; /* the holiday, then the three working days after today */
    char holiday[16];
} calendar_t;

static bool weekday(const struct tm *tm)
{
    return tm->tm_wday >= 1 && tm->tm_wday <= 5;
}

/* The next four weekdays after today: the first becomes the holiday. */
static void plan(calendar_t *c)
{
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    tm.tm_hour = 12;
    tm.tm_min = tm.tm_sec = 0;
    for (int found = 0; found < 4;) {
        tm.tm_mday++;
        tm.tm_isdst = -1;
        mktime(&tm);
        if (weekday(&tm))
            c->day[found++] = tm;
    }
    strftime(c->holiday, sizeof c->holiday, "%Y-%m-%d", &c->day[0]);
}

/* ms of the end of a day (23:59:59.999 local) */
static int64_t end_of(const struct tm *day)
{
    struct tm tm = *day;
    tm.tm_hour = 23;
    tm.tm_min = 59;
    tm.tm_sec = 59;
    tm.tm_isdst = -1;
    return (int64_t)mktime(&tm) * 1000 + 999;
}

/* Moves the daemon's clock so that it reads at_ms. */
static void clock_to(h_env_t *env, int64_t at_ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t wall = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    sop_clock_set(env, at_ms - wall);
}

/* The overdue deadlines of the ticket, space-separated, from `aduanctl --json overdue`. */
static char *overdue_of(h_env_t *env, const char *ticket)
{
    h_run_t run;
    sop_ctl_expect(env, &run, 0, "overdue", "--json", "overdue", NULL);
    json_t *body = json_loads(run.out, 0, NULL);
    assert_non_null(body);
    char *out = calloc(1, 256);
    size_t i;
    json_t *row;
    json_array_foreach(json_object_get(body, "items"), i, row) {
        if (strcmp(json_string_value(json_object_get(row, "ticket")), ticket) != 0)
            continue;
        strcat(out, *out ? " " : "");
        strncat(out, json_string_value(json_object_get(row, "deadline")), 64);
    }
    json_decref(body);
    h_run_clear(&run);
    return out;
}

static void test_reminder_holiday_escalation(void **state)
{
    (void)state;
    if (!sop_root())
        skip(); /* aduanctl --as is for root */
    calendar_t cal;
    plan(&cal);
    char extra[256];
    snprintf(extra, sizeof extra,
             "[deadlines]\nresponse_days = 3\nresolution_days = 60\nworking_days = yes\n"
             "holidays = 2025-12-25, %s\n",
             cal.holiday);
    h_env_t *env = sop_env_new(extra);
    *state = env;
    assert_int_equal(h_daemon_start(env), 0);
    h_adapter_t *sms = h_adapter_new(env, "sms", "modem1");
    h_adapter_t *email = h_adapter_new(env, "email", "dinas");
    char t[40];
    h_run_t run;
    sop_complaint(sms, "sms:late", "+6285712345678", NULL, "Izin reklame belum diproses", NULL,
                  t);
    sop_ctl_expect(env, &run, 0, "verify", "verify", t, "--as", H_HELPDESK_ID, NULL);
    h_run_clear(&run);
    sop_wait_deliver(email, "notice", t, SOP_BACKOFFICE_EMAIL, WAIT_MS);

    /* the working days: day[0] is the holiday, day[1..3] count; due at the end of day[3] */
    int64_t remind_at = end_of(&cal.day[2]), due_at = end_of(&cal.day[3]);
    char due_text[16];
    strftime(due_text, sizeof due_text, "%d-%m-%Y", &cal.day[3]);

    /* an hour before the reminder: nothing is overdue */
    clock_to(env, remind_at - 60 * MINUTE_MS);
    char *late = overdue_of(env, t);
    assert_string_equal(late, "");
    free(late);

    /* past the reminder time, which is also where the deadline would be without the
       holiday: the back office (the role that acts) is reminded, nothing is overdue */
    clock_to(env, remind_at + MINUTE_MS);
    const aduan_msg_t *m = NULL;
    for (int i = 0; i < 2; i++) { /* the response and the review step: the same days */
        m = sop_wait_deliver(email, "notice", t, SOP_BACKOFFICE_EMAIL, WAIT_MS);
        if (h_contains(m->deliver.subject, "tanggapan tertulis"))
            break;
    }
    assert_true(h_contains(m->deliver.subject, "Pengingat"));
    assert_true(h_contains(m->deliver.subject, "tanggapan tertulis"));
    assert_true(h_contains(m->deliver.text, due_text));
    late = overdue_of(env, t);
    assert_string_equal(late, "");
    free(late);

    /* past the real deadline: overdue, and escalated to the head by SMS */
    clock_to(env, due_at + MINUTE_MS);
    late = overdue_of(env, t);
    assert_true(h_contains(late, "response"));
    free(late);
    bool escalated = false;
    for (int i = 0; i < 2 && !escalated; i++) {
        m = sop_wait_deliver(sms, "notice", t, H_HEAD_PHONE, WAIT_MS);
        escalated = h_contains(m->deliver.text, "tanggapan tertulis");
    }
    assert_true(escalated);
    assert_true(h_contains(m->deliver.text, "ESKALASI"));
    assert_true(h_contains(m->deliver.text, due_text));
    sop_ctl_expect(env, &run, 0, "overdue (table)", "overdue", NULL);
    assert_true(h_contains(run.out, t));
    assert_true(h_contains(run.out, "tanggapan tertulis"));
    h_run_clear(&run);

    /* once: another day later, no second escalation of the same deadline */
    clock_to(env, due_at + 24 * 60 * MINUTE_MS);
    h_adapter_sync(sms);
    h_adapter_pump(sms, 2500); /* two scans of the deadlines */
    size_t escalations = 0;
    for (size_t i = 0; i < sms->delivery_count; i++) {
        const aduan_msg_t *d = sms->deliveries[i].msg;
        if (strcmp(d->deliver.to_addr, H_HEAD_PHONE) == 0 &&
            h_contains(d->deliver.text, "ESKALASI") &&
            h_contains(d->deliver.text, "tanggapan tertulis"))
            escalations++;
    }
    assert_int_equal(escalations, 1);

    /* the audit trail says who was reminded and escalated to */
    char *trail = sop_audit_trail(env, t, false);
    assert_true(h_contains(trail, "reminded"));
    assert_true(h_contains(trail, "escalated"));
    free(trail);
    h_pass(env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_reminder_holiday_escalation, h_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
