/*  test_sms_dummy.c - the SMS channel inside the real aduan-gatewayd, on Gammu's dummy
    phone in a temporary folder: messages injected as SMS backup files into its inbox, the
    tickets read over the control endpoint, the replies read from the phone's outbox. */
#include "harness.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "phone.h"

#define CITIZEN "+6281234567890"
#define CITIZEN_LOCAL "081234567890"
#define WAIT_MS 15000

typedef struct {
    h_env_t *env;
    char dir[64];         /* /tmp/aduan-sms-XXXXXX: the phone and its gammurc */
    char device[128];     /* dir/phone */
    char gammurc[128];
    char spill[128];      /* dir/spill */
    zsock_t *sub;
} t_env_t;

/* ---- setup -------------------------------------------------------------------------------- */

static t_env_t *t_new(const char *extra)
{
    t_env_t *t = calloc(1, sizeof *t);
    snprintf(t->dir, sizeof t->dir, "/tmp/aduan-sms-XXXXXX");
    assert_non_null(mkdtemp(t->dir));
    snprintf(t->device, sizeof t->device, "%s/phone", t->dir);
    snprintf(t->gammurc, sizeof t->gammurc, "%s/gammurc", t->dir);
    snprintf(t->spill, sizeof t->spill, "%s/spill", t->dir);
    assert_int_equal(phone_make(t->device, t->gammurc), 0);
    char conf[1024];
    snprintf(conf, sizeof conf,
             "[sms]\nenabled = yes\naccount = modem-test\ngammurc = %s\npoll = 100ms\n"
             "multipart_wait = 2s\nspill_dir = %s\nreconnect_max = 1s\nfollowup_window = 0\n%s",
             t->gammurc, t->spill, extra ? extra : "");
    h_options_t o = {.extra_conf = conf, .log_level = "debug"};
    t->env = h_env_new(&o);
    t->sub = h_events_sub(t->env);
    return t;
}

static int setup(void **state)
{
    t_env_t *t = t_new(NULL);
    if (h_daemon_start(t->env) != 0)
        return -1;
    *state = t;
    return 0;
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

/* ---- waiting ------------------------------------------------------------------------------ */

/* Waits for a ticket.new event and returns its ticket (caller frees). */
static char *wait_ticket(t_env_t *t, const char *topic)
{
    aduan_msg_t *ev = h_events_wait(t->sub, topic, NULL, WAIT_MS);
    if (!ev)
        fail_msg("no %s event within %d ms", topic, WAIT_MS);
    char *ticket = strdup(ev->event.ticket);
    aduan_msg_destroy(&ev);
    return ticket;
}

/* Waits until text appears among the messages sent to number (the phone's outbox). */
static char *wait_sent(t_env_t *t, const char *number, const char *text)
{
    int64_t deadline = h_now_ms() + WAIT_MS;
    for (;;) {
        char *sent = phone_texts(t->device, PHONE_OUTBOX, number);
        if (h_contains(sent, text))
            return sent;
        if (h_now_ms() > deadline)
            fail_msg("nothing with \"%s\" sent to %s; sent: %s", text, number, sent);
        free(sent);
        /* the outbox is a folder of files: wait on the events that follow a send */
        aduan_msg_t *ev = h_events_wait(t->sub, "outbox.sent", NULL, 200);
        aduan_msg_destroy(&ev);
    }
}

/* Waits until the folder holds count messages (the channel deletes after the ACK). */
static void wait_folder(t_env_t *t, int folder, int count)
{
    int64_t deadline = h_now_ms() + WAIT_MS;
    while (phone_count(t->device, folder) != count) {
        if (h_now_ms() > deadline)
            fail_msg("folder %d holds %d messages, not %d", folder,
                     phone_count(t->device, folder), count);
        aduan_msg_t *ev = h_events_wait(t->sub, NULL, NULL, 100);
        aduan_msg_destroy(&ev);
    }
}

/* Waits until the daemon's log has needle, at least `times` times. */
static void wait_log(t_env_t *t, const char *needle, int times)
{
    int64_t deadline = h_now_ms() + WAIT_MS;
    for (;;) {
        char *log = h_read_file(t->env->log);
        int n = 0;
        for (const char *p = log; (p = strstr(p, needle)); p += strlen(needle))
            n++;
        free(log);
        if (n >= times)
            return;
        if (h_now_ms() > deadline)
            fail_msg("the log does not say \"%s\" %d times", needle, times);
        aduan_msg_t *ev = h_events_wait(t->sub, NULL, NULL, 100);
        aduan_msg_destroy(&ev);
    }
}

static json_int_t ticket_count(t_env_t *t)
{
    json_t *args = json_pack("{s:s, s:i}", "channel", "sms", "limit", 100000);
    json_t *list = h_control_ok(t->env, "list", args);
    json_decref(args);
    json_int_t n = (json_int_t)json_array_size(json_object_get(list, "items"));
    json_decref(list);
    return n;
}

static const char *jstr(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

/* ---- the tests ---------------------------------------------------------------------------- */

static void test_one_sms_ticket_and_ack(void **state)
{
    t_env_t *t = *state;
    assert_int_equal(phone_inject(t->device, PHONE_SIM_INBOX, CITIZEN_LOCAL,
                                  "Jalan di depan kantor desa rusak berat", NULL), 1);
    char *ticket = wait_ticket(t, "ticket.new");
    json_t *show = h_show(t->env, ticket);
    assert_string_equal(jstr(show, "from"), CITIZEN);
    assert_string_equal(jstr(show, "text"), "Jalan di depan kantor desa rusak berat");
    assert_string_equal(jstr(show, "channel"), "sms");
    json_decref(show);
    char *sent = wait_sent(t, CITIZEN, ticket);
    free(sent);
    wait_folder(t, PHONE_SIM_INBOX, 0); /* gone from the SIM after the ACK */
    wait_log(t, "intake from=+62812****7890 parts=1 new", 1);
    free(ticket);
    h_pass(t->env);
}

static void test_three_part_ucs2_emoji(void **state)
{
    t_env_t *t = *state;
    const char *text =
        "Selamat pagi Bapak/Ibu, izin usaha mikro saya sudah diajukan sejak tiga bulan "
        "lalu di loket pelayanan terpadu, tapi belum ada kabar. Mohon dibantu "
        "\xF0\x9F\x99\x8F terima kasih.";
    assert_int_equal(phone_inject(t->device, PHONE_INBOX, CITIZEN, text, NULL), 3);
    char *ticket = wait_ticket(t, "ticket.new");
    json_t *show = h_show(t->env, ticket);
    assert_string_equal(jstr(show, "text"), text);
    assert_int_equal(json_integer_value(json_object_get(show, "incomplete")), 0);
    json_decref(show);
    wait_folder(t, PHONE_INBOX, 0);
    assert_int_equal(ticket_count(t), 1);
    free(ticket);
    h_pass(t->env);
}

static void test_missing_part_incomplete(void **state)
{
    t_env_t *t = *state;
    GSM_SMSMessage part;
    phone_make_part(&part, CITIZEN, "Bagian pertama, ", false, NULL, 0x42, 1, 3);
    assert_true(phone_put(t->device, PHONE_SIM_INBOX, &part) > 0);
    phone_make_part(&part, CITIZEN, "bagian ketiga.", false, NULL, 0x42, 3, 3);
    assert_true(phone_put(t->device, PHONE_SIM_INBOX, &part) > 0);
    int64_t t0 = h_now_ms();
    char *ticket = wait_ticket(t, "ticket.new");
    assert_true(h_now_ms() - t0 >= 1500); /* multipart_wait = 2s, from the first sweep */
    json_t *show = h_show(t->env, ticket);
    assert_int_equal(json_integer_value(json_object_get(show, "incomplete")), 1);
    assert_string_equal(jstr(show, "text"), "Bagian pertama,  [...] bagian ketiga.");
    json_decref(show);
    wait_folder(t, PHONE_SIM_INBOX, 0);
    free(ticket);
    h_pass(t->env);
}

static void test_status_and_followup(void **state)
{
    t_env_t *t = *state;
    phone_inject(t->device, PHONE_SIM_INBOX, CITIZEN, "Lampu jalan mati sejak seminggu", NULL);
    char *ticket = wait_ticket(t, "ticket.new");
    free(wait_sent(t, CITIZEN, ticket));

    char text[128];
    snprintf(text, sizeof text, "cek %s", ticket);
    phone_inject(t->device, PHONE_SIM_INBOX, CITIZEN, text, NULL);
    char *status = wait_sent(t, CITIZEN, "Status pengaduan");
    assert_true(h_contains(status, ticket));
    free(status);

    snprintf(text, sizeof text, "%s lampunya masih mati", ticket);
    phone_inject(t->device, PHONE_SIM_INBOX, CITIZEN, text, NULL);
    char *same = wait_ticket(t, "ticket.followup");
    assert_string_equal(same, ticket);
    wait_folder(t, PHONE_SIM_INBOX, 0);
    assert_int_equal(ticket_count(t), 1);
    json_t *show = h_show(t->env, ticket);
    size_t in = 0, i;
    json_t *row;
    json_array_foreach(json_object_get(show, "thread"), i, row)
        in += strcmp(jstr(row, "direction"), "in") == 0;
    assert_int_equal(in, 2);
    json_decref(show);
    free(same);
    free(ticket);
    h_pass(t->env);
}

static void test_alphanumeric_sender_no_reply(void **state)
{
    t_env_t *t = *state;
    phone_inject(t->device, PHONE_SIM_INBOX, "TELKOMSEL", "Promo kuota 10GB hanya Rp10rb",
                 NULL);
    char *ticket = wait_ticket(t, "ticket.new");
    wait_folder(t, PHONE_SIM_INBOX, 0);
    /* a citizen after it gets an answer: by then the promo would have had one too */
    phone_inject(t->device, PHONE_SIM_INBOX, CITIZEN, "Pelayanan KTP lambat", NULL);
    char *second = wait_ticket(t, "ticket.new");
    free(wait_sent(t, CITIZEN, second));
    char *promo = phone_texts(t->device, PHONE_OUTBOX, "TELKOMSEL");
    assert_string_equal(promo, "");
    free(promo);
    wait_log(t, "not a citizen: automatic sender", 1);
    free(ticket);
    free(second);
    h_pass(t->env);
}

/*  The message stays on the modem until the core's ACK; a SIGKILL after the commit but
    before the delete (the file put back) brings no second ticket after the restart. */
static void test_kill_before_delete_no_second_ticket(void **state)
{
    t_env_t *t = *state;
    GSM_SMSMessage part;
    phone_make_part(&part, CITIZEN, "Saluran air tersumbat", false, "20261128T090000", 0, 0, 0);
    assert_true(phone_put(t->device, PHONE_SIM_INBOX, &part) > 0);
    char *ticket = wait_ticket(t, "ticket.new");
    wait_folder(t, PHONE_SIM_INBOX, 0);
    h_daemon_kill(t->env);
    /* as if the kill came between the commit and the delete */
    assert_true(phone_put(t->device, PHONE_SIM_INBOX, &part) > 0);
    assert_int_equal(h_daemon_start(t->env), 0);
    wait_folder(t, PHONE_SIM_INBOX, 0);
    wait_log(t, "parts=1 duplicate", 1);
    assert_int_equal(ticket_count(t), 1);
    free(ticket);
    h_pass(t->env);
}

static void test_folder_gone_and_back(void **state)
{
    t_env_t *t = *state;
    phone_inject(t->device, PHONE_SIM_INBOX, CITIZEN, "Pesan pertama", NULL);
    char *first = wait_ticket(t, "ticket.new");
    char away[160];
    snprintf(away, sizeof away, "%s.away", t->device);
    assert_int_equal(rename(t->device, away), 0);
    wait_log(t, "modem lost", 1);
    /* while it is away a message arrives on it */
    phone_inject(away, PHONE_SIM_INBOX, CITIZEN, "Pesan kedua selagi modem lepas", NULL);
    assert_int_equal(rename(away, t->device), 0);
    char *second = wait_ticket(t, "ticket.new");
    json_t *show = h_show(t->env, second);
    assert_string_equal(jstr(show, "text"), "Pesan kedua selagi modem lepas");
    json_decref(show);
    wait_log(t, "modem connected", 2);
    wait_folder(t, PHONE_SIM_INBOX, 0);
    assert_int_equal(ticket_count(t), 2);
    free(first);
    free(second);
    h_pass(t->env);
}

/* Starts the core alone (the SMS channel runs as a process of its own). */
static void start_core_only(t_env_t *t)
{
    char *argv[] = {H_GATEWAYD, "-c", t->env->conf, "--only", "core", NULL};
    t->env->pid = h_spawn(argv, t->env->log, t->env->log);
    assert_true(t->env->pid > 0);
    int64_t deadline = h_now_ms() + H_READY_MS;
    char status[16];
    json_t *body = NULL;
    while (h_control(t->env, "stats", NULL, 200, status, &body) != 0)
        assert_true(h_now_ms() < deadline);
    json_decref(body);
}

static void test_core_down_spill_then_registered_once(void **state)
{
    (void)state;
    t_env_t *t = t_new("spill_percent = 1\n");
    *state = t;
    char *argv[] = {H_GATEWAYD, "-c", t->env->conf, "--only", "sms", NULL};
    pid_t channel = h_spawn(argv, t->env->log, t->env->log);
    assert_true(channel > 0);

    /* one message and the core away: it stays on the modem */
    phone_inject(t->device, PHONE_SIM_INBOX, CITIZEN, "Pesan nomor 0", NULL);
    wait_log(t, "sweep parts=1 core=away", 2);
    assert_int_equal(phone_count(t->device, PHONE_SIM_INBOX), 1);

    /* 1% of the dummy's 10,000 places: the SIM is "full" at 100. The channel is held
       while they arrive: a sweep in the middle would spill what it read (full) and leave
       the rest on a SIM no longer full, where it waits for the core, rightly */
    assert_int_equal(kill(channel, SIGSTOP), 0);
    for (int i = 1; i <= 100; i++) {
        char text[64];
        snprintf(text, sizeof text, "Pesan nomor %d", i);
        phone_inject(t->device, PHONE_SIM_INBOX, CITIZEN, text, NULL);
    }
    assert_int_equal(kill(channel, SIGCONT), 0);
    wait_folder(t, PHONE_SIM_INBOX, 0);
    wait_log(t, "spilled parts=1", 101);

    start_core_only(t);
    int64_t deadline = h_now_ms() + 30000;
    while (ticket_count(t) < 101) {
        assert_true(h_now_ms() < deadline);
        aduan_msg_t *ev = h_events_wait(t->sub, "ticket.new", NULL, 500);
        aduan_msg_destroy(&ev);
    }
    wait_log(t, "(from the spill queue)", 101);
    assert_int_equal(ticket_count(t), 101);
    kill(channel, SIGTERM);
    assert_int_equal(h_wait_exit(channel, H_STOP_MS), 0);
    h_pass(t->env);
}

int main(void)
{
    GSM_InitLocales(NULL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_one_sms_ticket_and_ack, setup, teardown),
        cmocka_unit_test_setup_teardown(test_three_part_ucs2_emoji, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_part_incomplete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_status_and_followup, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alphanumeric_sender_no_reply, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kill_before_delete_no_second_ticket, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_folder_gone_and_back, setup, teardown),
        cmocka_unit_test_teardown(test_core_down_spill_then_registered_once, teardown),
    };
    if (getenv("ADUAN_TEST_FILTER"))
        cmocka_set_test_filter(getenv("ADUAN_TEST_FILTER"));
    return cmocka_run_group_tests_name("sms_dummy", tests, NULL, NULL);
}
