/*  test_sms_flow.c - what follows an SMS complaint's acknowledgement, inside the real
    aduan-gatewayd on Gammu's dummy phone: the daily cap of automatic replies per number,
    the network's delivery reports marking the acknowledgement's outbox row delivered or
    failed, and the modem's signal and network in `aduanctl stats`.

    The dummy cannot be made to refuse a send: its SendSMS always reports status 0 and
    message reference 255, so RESULT temporary/permanent from a GSM error is covered by the
    unit test of sms_send_failure (test_translate.c), not here. Delivery reports are put
    into its inbox as the network would: PDU Status_Report, the recipient's number, the
    reference of the part, and libGammu's verdict in the text (Gammu's backup format keeps
    the text, not the TP-Status byte). */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "phone.h"

#define CITIZEN "+6281234567890"
#define WAIT_MS 15000
#define DUMMY_REFERENCE 255 /* what the dummy's SendSMS reports for every part */

typedef struct {
    h_env_t *env;
    char dir[64];     /* /tmp/aduan-smsf-XXXXXX: the phone and its gammurc */
    char device[128]; /* dir/phone */
    char gammurc[128];
    char spill[128];
    zsock_t *sub;
} t_env_t;

/* ---- setup -------------------------------------------------------------------------------- */

/* A phone, a configuration with the SMS channel and the daemon running. */
static t_env_t *t_start(int64_t replies_per_day)
{
    t_env_t *t = calloc(1, sizeof *t);
    snprintf(t->dir, sizeof t->dir, "/tmp/aduan-smsf-XXXXXX");
    assert_non_null(mkdtemp(t->dir));
    snprintf(t->device, sizeof t->device, "%s/phone", t->dir);
    snprintf(t->gammurc, sizeof t->gammurc, "%s/gammurc", t->dir);
    snprintf(t->spill, sizeof t->spill, "%s/spill", t->dir);
    assert_int_equal(phone_make(t->device, t->gammurc), 0);
    char conf[1024];
    snprintf(conf, sizeof conf,
             "[sms]\nenabled = yes\naccount = modem-test\ngammurc = %s\npoll = 100ms\n"
             "spill_dir = %s\nreconnect_max = 1s\nfollowup_window = 0\n",
             t->gammurc, t->spill);
    h_options_t o = {.extra_conf = conf, .log_level = "debug",
                     .auto_replies_per_day = replies_per_day};
    t->env = h_env_new(&o);
    t->sub = h_events_sub(t->env);
    assert_int_equal(h_daemon_start(t->env), 0);
    return t;
}

static int teardown(void **state)
{
    t_env_t *t = *state;
    if (!t)
        return 0;
    int rc = h_teardown((void **)&t->env);
    h_drop_tree(t->dir);
    free(t);
    return rc;
}

/* ---- waiting and looking ------------------------------------------------------------------ */

static char *wait_ticket(t_env_t *t)
{
    aduan_msg_t *ev = h_events_wait(t->sub, "ticket.new", NULL, WAIT_MS);
    if (!ev)
        fail_msg("no ticket.new event within %d ms", WAIT_MS);
    char *ticket = strdup(ev->event.ticket);
    aduan_msg_destroy(&ev);
    return ticket;
}

/* Messages (not parts) sent to number: the phone's outbox, one-part texts joined by ---. */
static int sent_count(t_env_t *t, const char *number)
{
    char *sent = phone_texts(t->device, PHONE_OUTBOX, number);
    int n = *sent ? 1 : 0;
    for (const char *p = sent; (p = strstr(p, "\n---\n")); p++)
        n++;
    free(sent);
    return n;
}

/* Waits until the phone has sent `count` messages to number. */
static void wait_sent_count(t_env_t *t, const char *number, int count)
{
    int64_t deadline = h_now_ms() + WAIT_MS;
    while (sent_count(t, number) < count) {
        if (h_now_ms() > deadline)
            fail_msg("%d messages sent to %s, not %d", sent_count(t, number), number, count);
        aduan_msg_t *ev = h_events_wait(t->sub, "outbox.sent", NULL, 200);
        aduan_msg_destroy(&ev);
    }
}

static void wait_folder_empty(t_env_t *t, int folder)
{
    int64_t deadline = h_now_ms() + WAIT_MS;
    while (phone_count(t->device, folder) != 0) {
        if (h_now_ms() > deadline)
            fail_msg("folder %d still holds %d messages", folder, phone_count(t->device, folder));
        aduan_msg_t *ev = h_events_wait(t->sub, NULL, NULL, 100);
        aduan_msg_destroy(&ev);
    }
}

static void wait_log(t_env_t *t, const char *needle)
{
    int64_t deadline = h_now_ms() + WAIT_MS;
    for (;;) {
        char *log = h_read_file(t->env->log);
        bool found = strstr(log, needle) != NULL;
        free(log);
        if (found)
            return;
        if (h_now_ms() > deadline)
            fail_msg("the log does not say \"%s\"", needle);
        aduan_msg_t *ev = h_events_wait(t->sub, NULL, NULL, 100);
        aduan_msg_destroy(&ev);
    }
}

static const char *jstr(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

/* The ticket's outbox row of kind (the first), as `show` has it; caller decrefs. */
static json_t *outbox_row(t_env_t *t, const char *ticket, const char *kind)
{
    json_t *show = h_show(t->env, ticket);
    json_t *row, *found = NULL;
    size_t i;
    json_array_foreach(json_object_get(show, "outbox"), i, row)
        if (!found && strcmp(jstr(row, "kind"), kind) == 0)
            found = json_incref(row);
    json_decref(show);
    if (!found)
        fail_msg("%s has no %s in its outbox", ticket, kind);
    return found;
}

/*  Waits until the status of the ticket's acknowledgement is status: the phone's copy is
    made before the RESULT reaches the core, so the row follows a little later. */
static void wait_ack_status(t_env_t *t, const char *ticket, const char *status)
{
    int64_t deadline = h_now_ms() + WAIT_MS;
    for (;;) {
        json_t *ack = outbox_row(t, ticket, "ack");
        bool there = strcmp(jstr(ack, "status"), status) == 0;
        json_decref(ack);
        if (there)
            return;
        if (h_now_ms() > deadline)
            fail_msg("the acknowledgement of %s is not %s", ticket, status);
        aduan_msg_t *ev = h_events_wait(t->sub, NULL, NULL, 100);
        aduan_msg_destroy(&ev);
    }
}

static json_int_t ticket_count(t_env_t *t)
{
    json_t *args = json_pack("{s:s, s:i}", "channel", "sms", "limit", 1000);
    json_t *list = h_control_ok(t->env, "list", args);
    json_decref(args);
    json_int_t n = (json_int_t)json_array_size(json_object_get(list, "items"));
    json_decref(list);
    return n;
}

/*  A delivery report for one part we sent to recipient, as the network sends it, in the
    SIM's inbox; verdict is the text libGammu gives it ("Delivered", "Failed"). */
static void inject_report(t_env_t *t, const char *recipient, int reference, const char *verdict)
{
    GSM_SMSMessage r;
    phone_make_part(&r, recipient, verdict, false, NULL, 0, 0, 0);
    r.PDU = SMS_Status_Report;
    r.MessageReference = (unsigned char)reference;
    assert_true(phone_put(t->device, PHONE_SIM_INBOX, &r) > 0);
}

/* One SMS complaint from CITIZEN, its ticket and acknowledgement; returns the ticket. */
static char *complaint_acknowledged(t_env_t *t, const char *text)
{
    assert_int_equal(phone_inject(t->device, PHONE_SIM_INBOX, CITIZEN, text, NULL), 1);
    char *ticket = wait_ticket(t);
    wait_sent_count(t, CITIZEN, 1);
    wait_folder_empty(t, PHONE_SIM_INBOX);
    wait_ack_status(t, ticket, "sent");
    return ticket;
}

/* ---- the tests ---------------------------------------------------------------------------- */

/*  outbox.auto_replies_per_day = 2: three complaints from one number in a day are all
    registered, the first two acknowledged, the third not (its row kept as suppressed). */
static void test_daily_reply_cap(void **state)
{
    t_env_t *t = t_start(2);
    *state = t;
    const char *texts[] = {"Jalan berlubang di RT 03", "Lampu jalan mati di RT 04",
                           "Sampah menumpuk di pasar"};
    for (int i = 0; i < 3; i++)
        assert_int_equal(phone_inject(t->device, PHONE_SIM_INBOX, CITIZEN, texts[i], NULL), 1);
    char *tickets[3];
    for (int i = 0; i < 3; i++)
        tickets[i] = wait_ticket(t);
    wait_folder_empty(t, PHONE_SIM_INBOX); /* all three ACKed: registered */
    wait_sent_count(t, CITIZEN, 2);
    wait_log(t, "suppressed: daily limit reached");
    int suppressed = 0;
    for (int i = 0; i < 3; i++) {
        json_t *show = h_show(t->env, tickets[i]);
        assert_string_equal(jstr(show, "status"), "recorded");
        assert_string_equal(jstr(show, "from"), CITIZEN);
        json_decref(show);
        json_t *ack = outbox_row(t, tickets[i], "ack");
        bool over = strcmp(jstr(ack, "status"), "suppressed") == 0;
        json_decref(ack);
        if (over)
            suppressed++;
        else
            wait_ack_status(t, tickets[i], "sent");
    }
    assert_int_equal(suppressed, 1);
    assert_int_equal(ticket_count(t), 3);
    /* a suppressed reply is never sent: it was decided with the commit of its intake */
    assert_int_equal(sent_count(t, CITIZEN), 2);
    for (int i = 0; i < 3; i++)
        free(tickets[i]);
    h_pass(t->env);
}

/*  The network reports the acknowledgement received: its outbox row is delivered (for a
    written response this is step 7 of the SOP); the report leaves the modem and is no
    complaint of its own. */
static void test_report_delivered(void **state)
{
    t_env_t *t = t_start(0);
    *state = t;
    char *ticket = complaint_acknowledged(t, "Izin usaha belum terbit");
    inject_report(t, CITIZEN, DUMMY_REFERENCE, "Delivered");
    aduan_msg_t *ev = h_events_wait(t->sub, "outbox.delivered", NULL, WAIT_MS);
    assert_non_null(ev);
    assert_string_equal(ev->event.ticket, ticket);
    aduan_msg_destroy(&ev);
    wait_ack_status(t, ticket, "delivered");
    json_t *ack = outbox_row(t, ticket, "ack");
    assert_true(*jstr(ack, "delivered_at"));
    json_decref(ack);
    wait_folder_empty(t, PHONE_SIM_INBOX);
    wait_log(t, "delivery report outbox=");
    assert_int_equal(ticket_count(t), 1);
    assert_int_equal(sent_count(t, CITIZEN), 1); /* a report is answered by nothing */
    free(ticket);
    h_pass(t->env);
}

/*  The network gave up on the acknowledgement: its row is failed, with the report as the
    reason (the help desk is told by the core). */
static void test_report_failed(void **state)
{
    t_env_t *t = t_start(0);
    *state = t;
    char *ticket = complaint_acknowledged(t, "Pelayanan KTP lambat sekali");
    inject_report(t, CITIZEN, DUMMY_REFERENCE, "Failed");
    aduan_msg_t *ev = h_events_wait(t->sub, "outbox.failed", NULL, WAIT_MS);
    assert_non_null(ev);
    assert_string_equal(ev->event.ticket, ticket);
    aduan_msg_destroy(&ev);
    wait_ack_status(t, ticket, "failed");
    json_t *ack = outbox_row(t, ticket, "ack");
    assert_true(h_contains(jstr(ack, "last_error"), "delivery report"));
    assert_string_equal(jstr(ack, "delivered_at"), "");
    json_decref(ack);
    wait_folder_empty(t, PHONE_SIM_INBOX);
    assert_int_equal(ticket_count(t), 1);
    free(ticket);
    h_pass(t->env);
}

/* `aduanctl stats`, as staff run it, shows the modem's signal and network. */
static void test_stats_signal_and_network(void **state)
{
    t_env_t *t = t_start(0);
    *state = t;
    int64_t deadline = h_now_ms() + WAIT_MS;
    h_run_t run = {0};
    for (;;) { /* the channel's facts come with its heartbeats */
        assert_int_equal(h_aduanctl(t->env, &run, WAIT_MS, "stats", NULL), 0);
        if (h_contains(run.out, "GammuT3l"))
            break;
        if (h_now_ms() > deadline)
            fail_msg("no network in aduanctl stats:\n%s", run.out);
        h_run_clear(&run);
        aduan_msg_t *ev = h_events_wait(t->sub, NULL, NULL, 200);
        aduan_msg_destroy(&ev);
    }
    assert_true(h_contains(run.out, "Adapter sms modem-test"));
    /* the dummy's facts: signal 42 %, network "GammuT3l" 999 99, model Dummy */
    char *line = strstr(run.out, "signal percent");
    assert_non_null(line);
    assert_true(strncmp(line + strcspn(line, "0123456789"), "42", 2) == 0);
    assert_true(h_contains(run.out, "999 99"));
    assert_true(h_contains(run.out, "connected"));
    h_run_clear(&run);
    h_pass(t->env);
}

int main(void)
{
    GSM_InitLocales(NULL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_daily_reply_cap, teardown),
        cmocka_unit_test_teardown(test_report_delivered, teardown),
        cmocka_unit_test_teardown(test_report_failed, teardown),
        cmocka_unit_test_teardown(test_stats_signal_and_network, teardown),
    };
    if (getenv("ADUAN_TEST_FILTER"))
        cmocka_set_test_filter(getenv("ADUAN_TEST_FILTER"));
    return cmocka_run_group_tests_name("sms_flow", tests, NULL, NULL);
}
