/*  test_sop_workflow.c - SOP Penanganan Pengaduan end to end through the real daemon:
    an SMS complaint and an email complaint go from intake through verify, review,
    forward, meeting, minutes, respond, delivered and archive, done with aduanctl by the
    staff member of each role; every DELIVER that reached the test adapters (the
    complainant's acknowledgement and response, each staff notice) and every audit row are
    checked. Steps by the wrong role or out of order are refused with the reason and
    write nothing. */
#include "sop_helpers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WAIT_MS 5000
#define CITIZEN_PHONE "+6285712345678"
#define CITIZEN_EMAIL "warga.pelapor@example.net"

static int setup(void **state)
{
    if (!sop_root()) {
        /* aduanctl --as, which these tests use for every role, is for root */
        *state = NULL;
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

static void file_in(h_env_t *env, const char *name, const char *text, char *path, size_t len)
{
    snprintf(path, len, "%s/%s", env->dir, name);
    assert_int_equal(h_write_file(path, text), 0);
}

/* The notices of one step: each recipient's DELIVER, with the ticket in its text. */
static const aduan_msg_t *notice(h_adapter_t *a, const char *ticket, const char *to)
{
    const aduan_msg_t *m = sop_wait_deliver(a, "notice", ticket, to, WAIT_MS);
    assert_true(h_contains(m->deliver.text, ticket) || h_contains(m->deliver.subject, ticket));
    return m;
}

static void test_sms_complaint_through_every_step(void **state)
{
    h_env_t *env = *state;
    if (!env)
        skip();
    h_adapter_t *sms = h_adapter_new(env, "sms", "modem1");
    h_adapter_t *email = h_adapter_new(env, "email", "dinas");
    char t[40], path[256];
    h_run_t run;
    sop_complaint(sms, "sms:1", CITIZEN_PHONE, NULL,
                  "Izin usaha saya belum terbit sudah 3 bulan, mohon dibantu", NULL, t);

    /* 1-2: the gateway records it, acknowledges, tells the help desk */
    const aduan_msg_t *ack = sop_wait_deliver(sms, "ack", t, CITIZEN_PHONE, WAIT_MS);
    assert_true(h_contains(ack->deliver.text, t));
    notice(sms, t, H_HELPDESK_PHONE);
    notice(email, t, H_HELPDESK_EMAIL);

    /* out of order and wrong role: refused, with the rule that said no */
    sop_ctl_expect(env, &run, 1, "forward before verify", "forward", t, "--as", SOP_BACKOFFICE_ID,
                   NULL);
    assert_true(h_contains(run.err, "state recorded"));
    h_run_clear(&run);
    sop_ctl_expect(env, &run, 1, "verify by the back office", "verify", t, "--as",
                   SOP_BACKOFFICE_ID, NULL);
    assert_true(h_contains(run.err, "help desk"));
    assert_true(h_contains(run.err, "budi is backoffice"));
    h_run_clear(&run);

    /* 2: the clerk the OS user maps to checks the record; the back office is told */
    sop_ctl_expect(env, &run, 0, "verify", "verify", t, "--category", "perizinan", NULL);
    assert_true(h_contains(run.out, "recorded -> review"));
    h_run_clear(&run);
    const aduan_msg_t *n = notice(email, t, SOP_BACKOFFICE_EMAIL);
    assert_true(h_contains(n->deliver.subject, "Mohon ditelaah"));
    assert_true(h_contains(n->deliver.text, "perizinan"));
    assert_false(h_contains(n->deliver.text, CITIZEN_PHONE)); /* masked */

    /* 3: forward needs a review first; the head may not review */
    sop_ctl_expect(env, &run, 1, "forward unreviewed", "forward", t, "--as", SOP_BACKOFFICE_ID,
                   NULL);
    assert_true(h_contains(run.err, "reviewed"));
    h_run_clear(&run);
    sop_ctl_expect(env, &run, 1, "review by the head", "review", t, "--note", "x", "--as",
                   H_HEAD_ID, NULL);
    h_run_clear(&run);
    sop_ctl_expect(env, &run, 0, "review", "--json", "review", t, "--note",
                   "Berkas lengkap; keterlambatan di verifikasi teknis", "--as",
                   SOP_BACKOFFICE_ID, NULL);
    json_t *body = json_loads(run.out, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(body, "status")), "review");
    json_decref(body);
    h_run_clear(&run);
    sop_ctl_expect(env, &run, 0, "forward", "forward", t, "--as", SOP_BACKOFFICE_ID, NULL);
    h_run_clear(&run);
    n = notice(sms, t, H_HEAD_PHONE);
    assert_true(h_contains(n->deliver.text, "Kepala Dinas"));

    /* 4: the head's meeting */
    sop_ctl_expect(env, &run, 1, "meeting without a date", "meeting", t, "--at", "besok",
                   "--attendees", "Kadis", "--as", H_HEAD_ID, NULL);
    assert_true(h_contains(run.err, "YYYY-MM-DD"));
    h_run_clear(&run);
    sop_ctl_expect(env, &run, 0, "meeting", "meeting", t, "--at", "2026-03-05 09:00",
                   "--attendees", "Kadis, Kabid Perizinan, Kasi Verifikasi", "--as", H_HEAD_ID,
                   NULL);
    h_run_clear(&run);
    n = notice(email, t, SOP_BACKOFFICE_EMAIL);
    assert_true(h_contains(n->deliver.text, "2026-03-05 09:00"));
    assert_true(h_contains(n->deliver.text, "Kasi Verifikasi"));

    /* 5: the minutes, a text file kept with the complaint; the help desk is told */
    file_in(env, "berita-acara.txt", "BERITA ACARA RAPAT\nIzin diterbitkan minggu ini.\n", path,
            sizeof path);
    sop_ctl_expect(env, &run, 0, "minutes", "minutes", t, "--file", path, "--as",
                   SOP_BACKOFFICE_ID, NULL);
    assert_true(h_contains(run.out, "berita-acara.txt"));
    h_run_clear(&run);
    notice(sms, t, H_HELPDESK_PHONE);
    notice(email, t, H_HELPDESK_EMAIL);

    /* 6: the written response goes out by SMS, as one long text */
    char response[1200];
    snprintf(response, sizeof response, "%s",
             "Izin usaha Bapak/Ibu telah diterbitkan pada hari ini dan dapat diunduh melalui "
             "portal OSS. Keterlambatan disebabkan verifikasi teknis yang belum lengkap; kami "
             "mohon maaf dan telah memperbaiki prosedur verifikasi agar tidak terulang.");
    file_in(env, "tanggapan.txt", response, path, sizeof path);
    sop_ctl_expect(env, &run, 1, "respond by the back office", "respond", t, "--file", path,
                   "--as", SOP_BACKOFFICE_ID, NULL);
    h_run_clear(&run);
    sms->auto_result = NULL; /* the test plays the modem: sent, then a delivery report */
    sop_ctl_expect(env, &run, 0, "respond", "respond", t, "--file", path, "--as", H_HELPDESK_ID,
                   NULL);
    assert_true(h_contains(run.out, "Response no. 1"));
    h_run_clear(&run);
    const aduan_msg_t *r = sop_wait_deliver(sms, "response", t, CITIZEN_PHONE, WAIT_MS);
    assert_true(h_contains(r->deliver.text, "portal OSS"));
    assert_true(h_contains(r->deliver.text, t));
    assert_false(r->deliver.automatic);
    uint64_t response_row = r->deliver.outbox_id;
    assert_int_equal(h_adapter_result(sms, response_row, "sent", NULL), 0);
    h_adapter_sync(sms);
    char *status = sop_status(env, t);
    assert_string_equal(status, "responded"); /* an SMS sent is not an SMS received */
    free(status);

    /* 7: the delivery report confirms it; the help desk is told to archive */
    assert_int_equal(h_adapter_result(sms, response_row, "delivered", NULL), 0);
    sop_wait_status(env, t, "delivered", WAIT_MS);
    sms->auto_result = "sent";
    h_adapter_pump(sms, 100);
    notice(sms, t, H_HELPDESK_PHONE);
    notice(email, t, H_HELPDESK_EMAIL);
    sop_ctl_expect(env, &run, 1, "delivered twice", "delivered", t, "--as", H_HELPDESK_ID, NULL);
    h_run_clear(&run);

    /* 8: archived */
    sop_ctl_expect(env, &run, 0, "archive", "archive", t, "--as", H_HELPDESK_ID, NULL);
    h_run_clear(&run);
    sop_wait_status(env, t, "archived", WAIT_MS);

    /* every audit row, with who did it; refusals wrote none */
    char *trail = sop_audit_trail(env, t, true);
    assert_string_equal(trail, "recorded:gateway verified:" SOP_CLERK_ID
                               " reviewed:" SOP_BACKOFFICE_ID " forwarded:" SOP_BACKOFFICE_ID
                               " meeting:" H_HEAD_ID " minutes:" SOP_BACKOFFICE_ID
                               " responded:" H_HELPDESK_ID " delivered:gateway archived:" H_HELPDESK_ID);
    free(trail);
    body = h_show(env, t);
    assert_int_equal(json_array_size(json_object_get(body, "documents")), 2);
    json_t *resp = json_array_get(json_object_get(body, "responses"), 0);
    assert_int_equal(json_integer_value(json_object_get(resp, "number")), 1);
    assert_true(json_is_string(json_object_get(resp, "delivered_at")));
    assert_string_equal(json_string_value(json_object_get(body, "category")), "perizinan");
    json_decref(body);

    /* and nothing else went out */
    assert_int_equal(sop_untaken(sms, 300), 0);
    assert_int_equal(sop_untaken(email, 0), 0);
    sop_ctl_expect(env, &run, 0, "audit verify", "audit", "verify", NULL);
    h_run_clear(&run);
    h_pass(env);
}

static void test_email_complaint_confidential(void **state)
{
    h_env_t *env = *state;
    if (!env)
        skip();
    h_adapter_t *sms = h_adapter_new(env, "sms", "modem1");
    h_adapter_t *email = h_adapter_new(env, "email", "dinas");
    char t[40], path[256];
    h_run_t run;
    sop_complaint(email, "email:<m1@example.net>", CITIZEN_EMAIL, "Pungutan liar di loket",
                  "Petugas meminta uang tambahan untuk mempercepat izin.", "m1@example.net", t);
    sop_wait_deliver(email, "ack", t, CITIZEN_EMAIL, WAIT_MS);
    notice(sms, t, H_HELPDESK_PHONE);
    notice(email, t, H_HELPDESK_EMAIL);

    /* confidential: the roles after the help desk never see who complained */
    sop_ctl_expect(env, &run, 0, "verify", "verify", t, "--confidential", "--as", H_HELPDESK_ID,
                   NULL);
    h_run_clear(&run);
    const aduan_msg_t *n = notice(email, t, SOP_BACKOFFICE_EMAIL);
    assert_true(h_contains(n->deliver.text, "(dirahasiakan)"));
    assert_false(h_contains(n->deliver.text, "warga"));
    sop_ctl_expect(env, &run, 0, "review", "review", t, "--note", "Perlu klarifikasi", "--as",
                   SOP_BACKOFFICE_ID, NULL);
    h_run_clear(&run);
    sop_ctl_expect(env, &run, 0, "forward", "forward", t, "--as", SOP_BACKOFFICE_ID, NULL);
    h_run_clear(&run);
    notice(sms, t, H_HEAD_PHONE);
    sop_ctl_expect(env, &run, 0, "meeting", "meeting", t, "--at", "2026-03-06", "--attendees",
                   "Kadis, Inspektorat", "--as", H_HEAD_ID, NULL);
    h_run_clear(&run);
    notice(email, t, SOP_BACKOFFICE_EMAIL);
    file_in(env, "ba.pdf", "%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n", path,
            sizeof path);
    sop_ctl_expect(env, &run, 0, "minutes (PDF)", "minutes", t, "--file", path, "--as",
                   SOP_BACKOFFICE_ID, NULL);
    assert_true(h_contains(run.out, "application/pdf"));
    h_run_clear(&run);
    notice(sms, t, H_HELPDESK_PHONE);
    notice(email, t, H_HELPDESK_EMAIL);

    /* a PDF is no text to send */
    sop_ctl_expect(env, &run, 1, "respond with a PDF", "respond", t, "--file", path, "--as",
                   H_HELPDESK_ID, NULL);
    h_run_clear(&run);
    file_in(env, "tanggapan.txt", "Petugas yang bersangkutan telah diberi sanksi.\n", path,
            sizeof path);
    sop_ctl_expect(env, &run, 0, "respond", "respond", t, "--file", path, "--as", H_HELPDESK_ID,
                   NULL);
    h_run_clear(&run);
    /* by email, in the thread of the complaint; the SMTP acceptance ("sent") confirms it */
    const aduan_msg_t *r = sop_wait_deliver(email, "response", t, CITIZEN_EMAIL, WAIT_MS);
    assert_string_equal(r->deliver.in_reply_to, "m1@example.net");
    assert_true(h_contains(r->deliver.subject, t));
    assert_true(h_contains(r->deliver.text, "diberi sanksi"));
    sop_wait_status(env, t, "delivered", WAIT_MS);
    notice(sms, t, H_HELPDESK_PHONE);
    notice(email, t, H_HELPDESK_EMAIL);
    sop_ctl_expect(env, &run, 0, "archive", "archive", t, "--as", H_HELPDESK_ID, NULL);
    h_run_clear(&run);
    char *trail = sop_audit_trail(env, t, false);
    assert_string_equal(trail, "recorded verified reviewed forwarded meeting minutes responded "
                               "delivered archived");
    free(trail);
    assert_int_equal(sop_untaken(sms, 300), 0);
    assert_int_equal(sop_untaken(email, 0), 0);
    h_pass(env);
}

static void test_reject_merge_and_who_may_act(void **state)
{
    h_env_t *env = *state;
    if (!env)
        skip();
    h_adapter_t *sms = h_adapter_new(env, "sms", "modem1");
    char a[40], b[40], c[40];
    h_run_t run;
    sop_complaint(sms, "sms:a", CITIZEN_PHONE, NULL, "Jalan rusak depan kantor", NULL, a);
    sop_complaint(sms, "sms:b", "+6285799990000", NULL, "Jalan rusak depan kantor dinas", NULL, b);
    sop_complaint(sms, "sms:c", "+6285711112222", NULL, "MENANG UNDIAN klik tautan", NULL, c);

    /* nobody acts for someone else but root; an unknown member is refused */
    sop_ctl_expect(env, &run, 1, "--as nobody", "verify", a, "--as", "nobody", NULL);
    assert_true(h_contains(run.err, "no staff member"));
    h_run_clear(&run);

    /* reject needs a reason; then it is rejected, and nothing more can happen to it */
    sop_ctl_expect(env, &run, 1, "reject without reason", "reject", c, "--as", H_HELPDESK_ID,
                   NULL);
    assert_true(h_contains(run.err, "--reason"));
    h_run_clear(&run);
    sop_ctl_expect(env, &run, 0, "reject", "reject", c, "--reason", "spam", "--as", H_HELPDESK_ID,
                   NULL);
    h_run_clear(&run);
    sop_ctl_expect(env, &run, 1, "verify a rejected one", "verify", c, "--as", H_HELPDESK_ID,
                   NULL);
    h_run_clear(&run);

    /* a duplicate merged into the first, under review by the back office */
    sop_ctl_expect(env, &run, 0, "verify b", "verify", b, "--as", H_HELPDESK_ID, NULL);
    h_run_clear(&run);
    sop_ctl_expect(env, &run, 1, "merge into itself", "merge", b, "--into", b, "--as",
                   SOP_BACKOFFICE_ID, NULL);
    h_run_clear(&run);
    sop_ctl_expect(env, &run, 1, "merge into a rejected", "merge", b, "--into", c, "--as",
                   SOP_BACKOFFICE_ID, NULL);
    h_run_clear(&run);
    sop_ctl_expect(env, &run, 0, "merge", "merge", b, "--into", a, "--as", SOP_BACKOFFICE_ID,
                   NULL);
    assert_true(h_contains(run.out, a));
    h_run_clear(&run);

    char *s = sop_status(env, b);
    assert_string_equal(s, "rejected");
    free(s);
    char *trail = sop_audit_trail(env, c, true);
    assert_string_equal(trail, "recorded:gateway rejected:" H_HELPDESK_ID);
    free(trail);
    trail = sop_audit_trail(env, a, false);
    assert_string_equal(trail, "recorded merged_from");
    free(trail);
    trail = sop_audit_trail(env, b, true);
    assert_string_equal(trail, "recorded:gateway verified:" H_HELPDESK_ID
                               " merged:" SOP_BACKOFFICE_ID);
    free(trail);

    /* the clerk's OS user is staff; a step with --json answers JSON */
    sop_ctl_expect(env, &run, 0, "verify a as the clerk", "--json", "verify", a, NULL);
    json_t *body = json_loads(run.out, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(body, "by")), SOP_CLERK_ID);
    json_decref(body);
    h_run_clear(&run);
    h_pass(env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sms_complaint_through_every_step, setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_email_complaint_confidential, setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_reject_merge_and_who_may_act, setup, h_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
