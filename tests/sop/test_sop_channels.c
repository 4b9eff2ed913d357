/*  test_sop_channels.c - SOP Penanganan Pengaduan end to end through the real channels:
    the real aduan-gatewayd with the SMS channel on Gammu's dummy phone and the email
    channel against the loopback mail world (tests/world/mailworld.sh), staff with phones
    and mailboxes of their own. An SMS complaint and an email complaint each go in ->
    acknowledgement -> notices -> verify -> review -> forward -> meeting -> minutes ->
    respond -> delivered -> archived, done with aduanctl as each staff member (the help
    desk clerk is the OS user running the test; the others by --as, which [core]
    act_as_users allows root). Checked as a person would see it: what the dummy phone sent
    (its outbox folder), what reached each mailbox (doveadm), and every audit row
    (aduanctl show --json, aduanctl audit verify).

    Step 7 comes from the channel where it confirms delivery: an SMS delivery report put
    into the dummy phone's inbox, the SMTP server's acceptance of the email. With delivery
    reports off, the help desk confirms it with aduanctl delivered.

    The daemon's clock (ADUAN_TEST_CLOCK_FILE) stands at 09:00 Jakarta time, so that no
    deadline reminder (they fall at the end of a day) comes in the middle of a run, and the
    monthly summary is off: what each person received does not depend on when it runs. */
#include "sop_helpers.h"

#include <ctype.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mailbox.h"
#include "phone.h"

#define WAIT_MS 20000
#define CITIZEN_PHONE "+6285712345678"
#define SARI_PHONE "+6281234500001"   /* help desk: notify = both */
#define BUDI_PHONE "+6281234500002"   /* back office: notify = email */
#define HENDRA_PHONE "+6281234500003" /* head: notify = sms */

typedef struct {
    h_env_t *env;
    zsock_t *sub;
    char dir[64];     /* /tmp/aduan-sopch-XXXXXX: the phone, its gammurc, the spill */
    char device[128];
    char gammurc[160];
    char spill[160];
    char clock[200];
    mailbox_t office, citizen, sari, budi, hendra;
} world_t;

/* ---- the world ---------------------------------------------------------------------------- */

/* The offset that puts the daemon's clock at 09:00 of today, Jakarta time. */
static int64_t offset_to_nine(void)
{
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    tm.tm_hour = 9;
    tm.tm_min = 0;
    tm.tm_sec = 0;
    return ((int64_t)mktime(&tm) - (int64_t)now) * 1000;
}

static world_t *world_new(bool delivery_reports)
{
    setenv("TZ", "Asia/Jakarta", 1);
    tzset();
    world_t *w = calloc(1, sizeof *w);
    assert_non_null(w);
    snprintf(w->dir, sizeof w->dir, "/tmp/aduan-sopch-XXXXXX");
    assert_non_null(mkdtemp(w->dir));
    snprintf(w->device, sizeof w->device, "%s/phone", w->dir);
    snprintf(w->gammurc, sizeof w->gammurc, "%s/gammurc", w->dir);
    snprintf(w->spill, sizeof w->spill, "%s/spill", w->dir);
    assert_int_equal(phone_make(w->device, w->gammurc), 0);

    /* a mailbox each: the office, the citizen, and every staff member */
    assert_int_equal(mailbox_setup(&w->office, "sopch-kantor"), 0);
    assert_int_equal(mailbox_setup(&w->citizen, "sopch-warga"), 0);
    assert_int_equal(mailbox_setup(&w->sari, "sopch-sari"), 0);
    assert_int_equal(mailbox_setup(&w->budi, "sopch-budi"), 0);
    assert_int_equal(mailbox_setup(&w->hendra, "sopch-hendra"), 0);

    struct passwd *pw = getpwuid(geteuid());
    assert_non_null(pw);
    char *staff = NULL, *extra = NULL;
    assert_true(asprintf(&staff,
                         "\n[staff.sari]\nname = Sari Wulandari\nrole = helpdesk\n"
                         "phone = " SARI_PHONE "\nemail = %s\nuser = %s\nnotify = both\n"
                         "\n[staff.budi]\nname = Budi Santoso\nrole = backoffice\n"
                         "phone = " BUDI_PHONE "\nemail = %s\nnotify = email\n"
                         "\n[staff.hendra]\nname = Hendra Gunawan\nrole = head\n"
                         "phone = " HENDRA_PHONE "\nemail = %s\nnotify = sms\n",
                         w->sari.user, pw->pw_name, w->budi.user, w->hendra.user) > 0);
    assert_true(asprintf(&extra,
                         "[sms]\nenabled = yes\naccount = modem-sop\ngammurc = %s\n"
                         "poll = 100ms\nmultipart_wait = 2s\nspill_dir = %s\n"
                         "reconnect_max = 1s\nfollowup_window = 0\nsend_per_minute = 600\n"
                         "delivery_reports = %s\n"
                         "\n[email]\nenabled = yes\naccount = %s\naddress = %s\n"
                         "display_name = Layanan Pengaduan DPMPTSP\n"
                         "imap_host = 127.0.0.1\nimap_port = 10993\nimap_tls = implicit\n"
                         "imap_user = %s\nimap_password_file = %s\nca_file = %s\npoll = 5s\n"
                         "smtp_host = 127.0.0.1\nsmtp_port = 10587\nsmtp_tls = starttls\n"
                         "smtp_user = %s\nsmtp_password_file = %s\n"
                         "\n[deadlines]\nmonthly_summary = no\n",
                         w->gammurc, w->spill, delivery_reports ? "yes" : "no", w->office.local,
                         w->office.user, w->office.user, w->office.password_file, w->office.ca,
                         w->office.user, w->office.password_file) > 0);
    /* ADUAN_TEST_DEBUG=1: the daemon's log at debug level (numbers unmasked) */
    h_options_t o = {.extra_conf = extra,
                     .staff_conf = staff,
                     .log_level = getenv("ADUAN_TEST_DEBUG") ? "debug" : "info",
                     .max_message_bytes = 4 << 20};
    w->env = h_env_new(&o);
    free(staff);
    free(extra);

    snprintf(w->clock, sizeof w->clock, "%s/clock", w->env->dir);
    char text[32];
    snprintf(text, sizeof text, "%lld\n", (long long)offset_to_nine());
    assert_int_equal(h_write_file(w->clock, text), 0);
    setenv("ADUAN_TEST_CLOCK_FILE", w->clock, 1);

    w->sub = h_events_sub(w->env);
    assert_int_equal(h_daemon_start(w->env), 0);
    return w;
}

static int teardown(void **state)
{
    world_t *w = *state;
    if (!w)
        return 0;
    int rc = h_teardown((void **)&w->env);
    h_drop_tree(w->dir);
    free(w);
    *state = NULL;
    return rc;
}

/* Lets time pass while waiting for something outside the bus (a file, a mailbox): the
   daemon's events pace the looks. */
static void pace(world_t *w)
{
    aduan_msg_t *ev = h_events_wait(w->sub, NULL, NULL, 100);
    aduan_msg_destroy(&ev);
}

static char *wait_ticket(world_t *w)
{
    aduan_msg_t *ev = h_events_wait(w->sub, "ticket.new", NULL, WAIT_MS);
    if (!ev)
        fail_msg("no ticket.new within %d ms", WAIT_MS);
    char *ticket = strdup(ev->event.ticket);
    aduan_msg_destroy(&ev);
    return ticket;
}

/* ---- the phone ---------------------------------------------------------------------------- */

typedef struct {
    int messages;     /* sent to the number */
    int parts;        /* parts of the last one */
    bool parts_ok;    /* each part of the last one says it is n of parts, in order */
    char *last;       /* its text (UTF-8), parts joined */
    char *all;        /* every text, joined with "\n---\n" */
} sent_sms_t;

static void sent_sms_clear(sent_sms_t *s)
{
    free(s->last);
    free(s->all);
    memset(s, 0, sizeof *s);
}

/*  What the dummy phone sent to number: the channel keeps a copy of each part it sent in
    the phone's outbox folder. */
static void sms_sent_to(world_t *w, const char *number, sent_sms_t *out)
{
    memset(out, 0, sizeof *out);
    size_t all_len = 0, last_len = 0;
    FILE *all = open_memstream(&out->all, &all_len);
    FILE *last = NULL;
    GSM_SMS_Backup *backup = calloc(1, sizeof *backup);
    assert_non_null(backup);
    char *utf8 = malloc((GSM_MAX_SMS_LENGTH + 1) * 6 + 1);
    for (int n = 1; n < 10000; n++) {
        char path[300];
        snprintf(path, sizeof path, "%s/sms/%d/%d", w->device, PHONE_OUTBOX, n);
        if (access(path, F_OK) != 0 || GSM_ReadSMSBackupFile(path, backup) != ERR_NONE)
            continue;
        for (int i = 0; backup->SMS[i]; i++) {
            const GSM_SMSMessage *p = backup->SMS[i];
            char to[GSM_MAX_NUMBER_LENGTH * 3 + 1] = "";
            EncodeUTF8(to, p->Number);
            if (strcmp(to, number) != 0)
                continue;
            EncodeUTF8(utf8, p->Text);
            bool concat = p->UDH.Type != UDH_NoUDH && p->UDH.AllParts > 1;
            if (!concat || p->UDH.PartNumber <= 1) {
                if (last)
                    fclose(last);
                free(out->last);
                out->last = NULL;
                last = open_memstream(&out->last, &last_len);
                fprintf(all, "%s", out->messages ? "\n---\n" : "");
                out->messages++;
                out->parts = 0;
                out->parts_ok = true;
            }
            out->parts++;
            if (concat && (p->UDH.PartNumber != out->parts || p->UDH.AllParts < out->parts))
                out->parts_ok = false;
            fprintf(all, "%s", utf8);
            fprintf(last, "%s", utf8);
        }
        GSM_FreeSMSBackup(backup);
    }
    free(utf8);
    free(backup);
    if (last)
        fclose(last);
    fclose(all);
}

/* Waits until a message with text went to number; out holds what went there then. */
static void wait_sms(world_t *w, const char *number, const char *text, sent_sms_t *out)
{
    int64_t until = h_now_ms() + WAIT_MS;
    for (;;) {
        sms_sent_to(w, number, out);
        if (h_contains(out->all, text))
            return;
        if (h_now_ms() > until)
            fail_msg("no SMS with \"%s\" to %s; sent there: %s", text, number, out->all);
        sent_sms_clear(out);
        pace(w);
    }
}

/*  A delivery report as the network sends it for one part: to the modem's inbox, from
    the recipient, with the message reference of the part (the dummy phone gives every
    part 255) and the status "received by the SME" (0). */
static void inject_report(world_t *w, const char *recipient, int reference)
{
    GSM_SMSMessage r;
    GSM_SetDefaultReceivedSMSData(&r);
    r.PDU = SMS_Status_Report;
    r.State = SMS_UnRead;
    r.Class = -1;
    r.Coding = SMS_Coding_Default_No_Compression;
    r.UDH.Type = UDH_NoUDH;
    r.MessageReference = (unsigned char)reference;
    r.DeliveryStatus = 0;
    EncodeUnicode(r.Number, recipient, strlen(recipient));
    EncodeUnicode(r.SMSC.Number, "+628315000032", 13);
    GSM_GetCurrentDateTime(&r.DateTime);
    r.SMSCTime = r.DateTime;
    assert_true(phone_put(w->device, PHONE_SIM_INBOX, &r) > 0);
}

static void wait_folder_empty(world_t *w, int folder)
{
    int64_t until = h_now_ms() + WAIT_MS;
    while (phone_count(w->device, folder) != 0 && h_now_ms() < until)
        pace(w);
    assert_int_equal(phone_count(w->device, folder), 0);
}

/* Waits until the ticket's outbox row of kind (to the complainant) has status. */
static void wait_outbox_status(world_t *w, const char *ticket, const char *kind,
                               const char *status)
{
    int64_t until = h_now_ms() + WAIT_MS;
    for (;;) {
        json_t *body = h_show(w->env, ticket);
        size_t i;
        json_t *row;
        bool found = false;
        json_array_foreach(json_object_get(body, "outbox"), i, row)
            found |= strcmp(json_string_value(json_object_get(row, "kind")), kind) == 0 &&
                     strcmp(json_string_value(json_object_get(row, "status")), status) == 0;
        json_decref(body);
        if (found)
            return;
        if (h_now_ms() > until)
            fail_msg("%s: no %s row is %s", ticket, kind, status);
        pace(w);
    }
}

/* ---- the mailboxes ------------------------------------------------------------------------ */

/* Quoted-printable undone (soft line breaks too), in place. */
static void qp_decode(char *s)
{
    char *o = s;
    for (char *p = s; *p;) {
        if (p[0] == '=' && p[1] == '\n') {
            p += 2;
        } else if (p[0] == '=' && p[1] == '\r' && p[2] == '\n') {
            p += 3;
        } else if (p[0] == '=' && isxdigit((unsigned char)p[1]) &&
                   isxdigit((unsigned char)p[2])) {
            char hex[3] = {p[1], p[2], 0};
            *o++ = (char)strtol(hex, NULL, 16);
            p += 3;
        } else {
            *o++ = *p++;
        }
    }
    *o = '\0';
}

/*  Waits until user's INBOX holds a message whose Subject contains subject; returns the
    whole of the matching messages (headers and bodies, quoted-printable decoded). */
static char *wait_mail(world_t *w, const mailbox_t *user, const char *subject)
{
    int64_t until = h_now_ms() + WAIT_MS;
    for (;;) {
        char *text = mailbox_fetch_text(&w->office, user->user, "INBOX", "Subject", subject);
        if (*text) {
            qp_decode(text);
            return text;
        }
        free(text);
        if (h_now_ms() > until)
            fail_msg("no mail with \"%s\" in the subject reached %s", subject, user->user);
        pace(w);
    }
}

static int inbox_count(world_t *w, const mailbox_t *user)
{
    return mailbox_count(&w->office, user->user, "INBOX", NULL);
}

/* ---- the steps ---------------------------------------------------------------------------- */

static void file_in(world_t *w, const char *name, const char *text, char *path, size_t len)
{
    snprintf(path, len, "%s/%s", w->env->dir, name);
    assert_int_equal(h_write_file(path, text), 0);
}

/*  aduanctl show --json, as a clerk would look; the audit rows as "action:actor" and the
    detail of each, in order. */
static json_t *show_json(world_t *w, const char *ticket)
{
    h_run_t run;
    sop_ctl_expect(w->env, &run, 0, "show --json", "--json", "show", ticket, NULL);
    json_error_t err;
    json_t *body = json_loads(run.out, 0, &err);
    if (!body)
        fail_msg("show --json is no JSON: %s", err.text);
    h_run_clear(&run);
    return body;
}

static const char *audit_detail(json_t *body, const char *action)
{
    size_t i;
    json_t *row;
    json_array_foreach(json_object_get(body, "audit"), i, row)
        if (strcmp(json_string_value(json_object_get(row, "action")), action) == 0)
            return json_string_value(json_object_get(row, "detail"));
    fail_msg("no audit row %s", action);
    return NULL;
}

/* The steps shared by both complaints, from verify to the minutes; confidential adds
   --confidential to verify. Each notice is checked where its role reads it. */
static void verify_to_minutes(world_t *w, const char *t, bool confidential,
                              const char *minutes_path, const char *from_hidden)
{
    h_run_t run;
    /* 2: the help desk clerk (the OS user running this) checks the record */
    if (confidential)
        sop_ctl_expect(w->env, &run, 0, "verify", "verify", t, "--category", "pungli",
                       "--confidential", NULL);
    else
        sop_ctl_expect(w->env, &run, 0, "verify", "verify", t, "--category", "perizinan", NULL);
    assert_true(h_contains(run.out, "recorded -> review"));
    h_run_clear(&run);
    char subject[80];
    snprintf(subject, sizeof subject, "[%s] Mohon ditelaah", t);
    char *mail = wait_mail(w, &w->budi, subject);
    assert_true(h_contains(mail, "Sari Wulandari"));
    assert_true(h_contains(mail, confidential ? "pungli" : "perizinan"));
    assert_false(h_contains(mail, from_hidden));
    if (confidential)
        assert_true(h_contains(mail, "(dirahasiakan)"));
    free(mail);

    /* 3: the back office reviews and forwards; the head is told by SMS */
    sop_ctl_expect(w->env, &run, 0, "review", "review", t, "--note",
                   "Berkas lengkap; perlu dibahas bersama bidang teknis", "--as", "budi", NULL);
    h_run_clear(&run);
    sop_ctl_expect(w->env, &run, 0, "forward", "forward", t, "--as", "budi", NULL);
    assert_true(h_contains(run.out, "review -> forwarded"));
    h_run_clear(&run);
    sent_sms_t s;
    char text[80];
    snprintf(text, sizeof text, "%s diteruskan kepada Kepala Dinas", t);
    wait_sms(w, HENDRA_PHONE, text, &s);
    sent_sms_clear(&s);

    /* 4: the head sets the meeting; the back office is told by email */
    sop_ctl_expect(w->env, &run, 0, "meeting", "meeting", t, "--at", "2026-12-01 09:00",
                   "--attendees", "Kadis, Kabid Perizinan, Kasi Pengaduan", "--as", "hendra",
                   NULL);
    h_run_clear(&run);
    snprintf(subject, sizeof subject, "[%s] Rapat pembahasan", t);
    mail = wait_mail(w, &w->budi, subject);
    assert_true(h_contains(mail, "2026-12-01 09:00"));
    assert_true(h_contains(mail, "Kasi Pengaduan"));
    free(mail);

    /* 5: the back office attaches the minutes; the help desk is told by SMS and email */
    sop_ctl_expect(w->env, &run, 0, "minutes", "minutes", t, "--file", minutes_path, "--as",
                   "budi", NULL);
    h_run_clear(&run);
    snprintf(text, sizeof text, "%s: berita acara selesai", t);
    wait_sms(w, SARI_PHONE, text, &s);
    sent_sms_clear(&s);
    snprintf(subject, sizeof subject, "[%s] Berita acara selesai", t);
    mail = wait_mail(w, &w->sari, subject);
    assert_true(h_contains(mail, "Budi Santoso"));
    free(mail);
}

/*  show as a clerk reads it lists the documents and the responses; aduanctl document
    fetches each, byte for byte. */
static void documents_readable(world_t *w, const char *t, const char *minutes_path,
                               const char *minutes_name, const char *response)
{
    h_run_t run;
    sop_ctl_expect(w->env, &run, 0, "show", "show", t, NULL);
    assert_true(h_contains(run.out, "\nDocuments (2)"));
    assert_true(h_contains(run.out, minutes_name));
    assert_true(h_contains(run.out, "tanggapan.txt"));
    assert_true(h_contains(run.out, "\nResponses (1)"));
    assert_true(h_contains(run.out, "\nMeetings (1)"));
    assert_true(h_contains(run.out, "Kasi Pengaduan"));
    assert_true(h_contains(run.out, "\nThread ("));
    h_run_clear(&run);

    char out[300];
    snprintf(out, sizeof out, "%s/document-1", w->env->dir);
    sop_ctl_expect(w->env, &run, 0, "document 1", "document", t, "1", "--output", out, NULL);
    h_run_clear(&run);
    char *want = h_read_file(minutes_path), *got = h_read_file(out);
    assert_string_equal(got, want);
    free(want);
    free(got);
    sop_ctl_expect(w->env, &run, 0, "document 2", "document", t, "2", NULL);
    assert_true(h_contains(run.out, response));
    h_run_clear(&run);
    sop_ctl_expect(w->env, &run, 1, "document 3", "document", t, "3", NULL);
    assert_true(h_contains(run.err, "has no document 3"));
    h_run_clear(&run);
}

/* The audit trail of show --json as "action:actor ...". */
static char *trail_of(json_t *body)
{
    char *out = NULL;
    size_t len = 0, i;
    FILE *f = open_memstream(&out, &len);
    json_t *row;
    json_array_foreach(json_object_get(body, "audit"), i, row)
        fprintf(f, "%s%s:%s", i ? " " : "", json_string_value(json_object_get(row, "action")),
                json_string_value(json_object_get(row, "actor")));
    fclose(f);
    return out;
}

/* ---- an SMS complaint --------------------------------------------------------------------- */

static void sms_complaint(void **state, bool delivery_reports)
{
    if (!sop_root())
        skip(); /* the mail world needs root, and so does --as */
    world_t *w = world_new(delivery_reports);
    *state = w;
    h_run_t run;
    char path[256];

    /* 1: the citizen's SMS */
    assert_int_equal(phone_inject(w->device, PHONE_SIM_INBOX, CITIZEN_PHONE,
                                  "Izin usaha saya belum terbit sudah 3 bulan, mohon dibantu",
                                  NULL),
                     1);
    char *t = wait_ticket(w);

    /* the acknowledgement on the citizen's phone; the help desk told by SMS and email */
    sent_sms_t s;
    wait_sms(w, CITIZEN_PHONE, t, &s);
    assert_int_equal(s.messages, 1);
    assert_true(h_contains(s.last, "Pengaduan Anda telah diterima"));
    sent_sms_clear(&s);
    if (delivery_reports) {
        /* the network reports the acknowledgement received: its row, not the complaint */
        inject_report(w, CITIZEN_PHONE, 255);
        wait_outbox_status(w, t, "ack", "delivered");
    }
    char text[120];
    snprintf(text, sizeof text, "Aduan baru %s via sms", t);
    wait_sms(w, SARI_PHONE, text, &s);
    assert_false(h_contains(s.all, CITIZEN_PHONE)); /* masked */
    sent_sms_clear(&s);
    char subject[80];
    snprintf(subject, sizeof subject, "[%s] Pengaduan baru via sms", t);
    free(wait_mail(w, &w->sari, subject));

    /* 2-5 */
    file_in(w, "berita-acara.txt",
            "BERITA ACARA RAPAT PEMBAHASAN\nIzin usaha diterbitkan minggu ini.\n", path,
            sizeof path);
    verify_to_minutes(w, t, false, path, CITIZEN_PHONE);

    /* 6: the written response, longer than one SMS, goes as one concatenated SMS */
    const char *response =
        "Izin usaha Bapak/Ibu telah diterbitkan pada hari ini dan dapat diunduh melalui "
        "portal OSS. Keterlambatan disebabkan verifikasi teknis yang belum lengkap; kami "
        "mohon maaf dan telah memperbaiki prosedur verifikasi agar tidak terulang.";
    file_in(w, "tanggapan.txt", response, path, sizeof path);
    sop_ctl_expect(w->env, &run, 0, "respond", "respond", t, "--file", path, NULL);
    assert_true(h_contains(run.out, "Response no. 1"));
    h_run_clear(&run);
    wait_sms(w, CITIZEN_PHONE, "portal OSS", &s);
    assert_int_equal(s.messages, 2); /* the acknowledgement, the response */
    assert_true(s.parts >= 2);
    assert_true(s.parts_ok);
    assert_true(h_contains(s.last, response));
    assert_true(h_contains(s.last, t));
    int parts = s.parts;
    sent_sms_clear(&s);
    char *status = sop_status(w->env, t);
    assert_string_equal(status, "responded"); /* sent is not received */
    free(status);

    /* 7: received */
    if (delivery_reports) {
        /* the network reports each part delivered; the last report completes it */
        for (int i = 0; i < parts - 1; i++)
            inject_report(w, CITIZEN_PHONE, 255);
        wait_folder_empty(w, PHONE_SIM_INBOX);
        status = sop_status(w->env, t);
        assert_string_equal(status, "responded"); /* a part is still on its way */
        free(status);
        inject_report(w, CITIZEN_PHONE, 255);
        sop_wait_status(w->env, t, "delivered", WAIT_MS);
        snprintf(text, sizeof text, "%s: tanggapan telah diterima pelapor", t);
        wait_sms(w, SARI_PHONE, text, &s);
        sent_sms_clear(&s);
        snprintf(subject, sizeof subject, "[%s] Tanggapan telah diterima", t);
        free(wait_mail(w, &w->sari, subject));
        /* the reports left the modem; no ticket was made of them */
        wait_folder_empty(w, PHONE_SIM_INBOX);
        wait_outbox_status(w, t, "response", "delivered");
    } else {
        /* no report comes: the clerk confirms it after calling the citizen */
        sop_ctl_expect(w->env, &run, 1, "archive before delivered", "archive", t, NULL);
        assert_true(h_contains(run.err, "state responded"));
        h_run_clear(&run);
        sop_ctl_expect(w->env, &run, 0, "delivered", "delivered", t, "--note",
                       "diterima, dikonfirmasi lewat telepon", NULL);
        h_run_clear(&run);
    }

    /* 8 */
    sop_ctl_expect(w->env, &run, 0, "archive", "archive", t, NULL);
    h_run_clear(&run);

    /* every audit row, who did it and what it says */
    json_t *body = show_json(w, t);
    assert_string_equal(json_string_value(json_object_get(body, "status")), "archived");
    char *trail = trail_of(body);
    char expected[512];
    snprintf(expected, sizeof expected,
             "recorded:gateway verified:sari reviewed:budi forwarded:budi meeting:hendra "
             "minutes:budi responded:sari delivered:%s archived:sari",
             delivery_reports ? "gateway" : "sari");
    assert_string_equal(trail, expected);
    free(trail);
    assert_true(h_contains(audit_detail(body, "verified"), "category=perizinan"));
    assert_true(h_contains(audit_detail(body, "forwarded"), "by Budi Santoso (backoffice) as root"));
    assert_true(h_contains(audit_detail(body, "minutes"), "berita-acara.txt"));
    assert_true(h_contains(audit_detail(body, "responded"), "response no. 1/"));
    assert_true(h_contains(audit_detail(body, "delivered"),
                           delivery_reports ? "confirmed by the channel: delivery report"
                                            : "dikonfirmasi lewat telepon"));
    json_t *resp = json_array_get(json_object_get(body, "responses"), 0);
    assert_true(json_is_string(json_object_get(resp, "delivered_at")));
    assert_int_equal(json_array_size(json_object_get(body, "documents")), 2);
    json_decref(body);
    char minutes[256];
    snprintf(minutes, sizeof minutes, "%s/berita-acara.txt", w->env->dir);
    documents_readable(w, t, minutes, "berita-acara.txt", response);

    /* and nothing else reached anyone */
    sms_sent_to(w, CITIZEN_PHONE, &s);
    assert_int_equal(s.messages, 2);
    sent_sms_clear(&s);
    sms_sent_to(w, SARI_PHONE, &s);
    assert_int_equal(s.messages, delivery_reports ? 3 : 2); /* new, minutes (, delivered) */
    sent_sms_clear(&s);
    sms_sent_to(w, HENDRA_PHONE, &s);
    assert_int_equal(s.messages, 1);
    sent_sms_clear(&s);
    sms_sent_to(w, BUDI_PHONE, &s);
    assert_int_equal(s.messages, 0);
    sent_sms_clear(&s);
    assert_int_equal(inbox_count(w, &w->sari), delivery_reports ? 3 : 2);
    assert_int_equal(inbox_count(w, &w->budi), 2);
    assert_int_equal(inbox_count(w, &w->hendra), 0);
    assert_int_equal(inbox_count(w, &w->citizen), 0);
    sop_ctl_expect(w->env, &run, 0, "audit verify", "audit", "verify", NULL);
    h_run_clear(&run);
    if (delivery_reports) {
        /* a report that matches nothing sent (a reference never used) is no complaint:
           it leaves the modem and is kept in the quarantine */
        inject_report(w, CITIZEN_PHONE, 17);
        wait_folder_empty(w, PHONE_SIM_INBOX);
        json_t *args = json_pack("{s:i}", "limit", 100);
        json_t *list = h_control_ok(w->env, "list", args);
        json_decref(args);
        assert_int_equal(json_array_size(json_object_get(list, "items")), 1);
        json_decref(list);
        sop_ctl_expect(w->env, &run, 0, "quarantine", "--json", "quarantine", NULL);
        assert_true(h_contains(run.out, "delivery report that matches no message sent"));
        h_run_clear(&run);
    }
    free(t);
    h_pass(w->env);
}

static void test_sms_complaint_delivery_report(void **state)
{
    sms_complaint(state, true);
}

static void test_sms_complaint_confirmed_by_clerk(void **state)
{
    sms_complaint(state, false);
}

/* ---- an email complaint ------------------------------------------------------------------- */

static void test_email_complaint(void **state)
{
    if (!sop_root())
        skip();
    world_t *w = world_new(true);
    *state = w;
    h_run_t run;
    char path[256], raw[1024];

    /* 1: the citizen's mail reaches the office's mailbox */
    char message_id[128];
    snprintf(message_id, sizeof message_id, "<sopch-%d@warga.test.local>", (int)getpid());
    int n = snprintf(raw, sizeof raw,
                     "From: Warga Pelapor <%s>\r\nTo: %s\r\nSubject: Pungutan liar di loket\r\n"
                     "Date: Sat, 28 Nov 2026 09:00:00 +0700\r\nMessage-ID: %s\r\n"
                     "Content-Type: text/plain; charset=UTF-8\r\n\r\n"
                     "Petugas meminta uang tambahan untuk mempercepat izin.\r\n",
                     w->citizen.user, w->office.user, message_id);
    assert_int_equal(mailbox_put(&w->office, NULL, NULL, raw, (size_t)n), 0);
    char *t = wait_ticket(w);

    /* the acknowledgement in the citizen's mailbox, in the thread of the complaint */
    char subject[80];
    snprintf(subject, sizeof subject, "[%s] Pengaduan Anda telah kami terima", t);
    char *mail = wait_mail(w, &w->citizen, subject);
    char header[200];
    snprintf(header, sizeof header, "In-Reply-To: %s", message_id);
    assert_true(h_contains(mail, header));
    assert_true(h_contains(mail, "Auto-Submitted: auto-replied"));
    free(mail);
    /* the help desk told by SMS and email */
    sent_sms_t s;
    char text[120];
    snprintf(text, sizeof text, "Aduan baru %s via email", t);
    wait_sms(w, SARI_PHONE, text, &s);
    assert_false(h_contains(s.all, w->citizen.local)); /* masked */
    sent_sms_clear(&s);
    snprintf(subject, sizeof subject, "[%s] Pengaduan baru via email", t);
    mail = wait_mail(w, &w->sari, subject);
    /* made by the system: a vacation responder of staff must not answer it */
    assert_true(h_contains(mail, "Auto-Submitted: auto-generated"));
    free(mail);

    /* 2-5, confidential: the back office and the head never see who complained */
    file_in(w, "ba.pdf", "%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n", path,
            sizeof path);
    verify_to_minutes(w, t, true, path, w->citizen.local);

    /* 6: the written response, a real message in the thread, the ticket in its subject */
    file_in(w, "tanggapan.txt",
            "Petugas yang bersangkutan telah diberi sanksi disiplin; biaya tambahan "
            "tersebut tidak sah dan akan dikembalikan.\n",
            path, sizeof path);
    sop_ctl_expect(w->env, &run, 0, "respond", "respond", t, "--file", path, NULL);
    h_run_clear(&run);
    snprintf(subject, sizeof subject, "[%s] Tanggapan atas pengaduan Anda", t);
    mail = wait_mail(w, &w->citizen, subject);
    assert_true(h_contains(mail, "diberi sanksi disiplin"));
    assert_true(h_contains(mail, header));
    assert_true(h_contains(mail, "References: "));
    assert_false(h_contains(mail, "Auto-Submitted:")); /* written by a person */
    char from[200];
    snprintf(from, sizeof from, "<%s>", w->office.user);
    assert_true(h_contains(mail, from));
    free(mail);

    /* 7: the SMTP server took it: that is the confirmation email has */
    sop_wait_status(w->env, t, "delivered", WAIT_MS);
    snprintf(text, sizeof text, "%s: tanggapan telah diterima pelapor", t);
    wait_sms(w, SARI_PHONE, text, &s);
    sent_sms_clear(&s);
    snprintf(subject, sizeof subject, "[%s] Tanggapan telah diterima", t);
    free(wait_mail(w, &w->sari, subject));

    /* 8 */
    sop_ctl_expect(w->env, &run, 0, "archive", "archive", t, NULL);
    h_run_clear(&run);

    json_t *body = show_json(w, t);
    assert_string_equal(json_string_value(json_object_get(body, "status")), "archived");
    char *trail = trail_of(body);
    assert_string_equal(trail, "recorded:gateway verified:sari reviewed:budi forwarded:budi "
                               "meeting:hendra minutes:budi responded:sari delivered:gateway "
                               "archived:sari");
    free(trail);
    assert_true(h_contains(audit_detail(body, "verified"), "confidential"));
    assert_true(h_contains(audit_detail(body, "minutes"), "ba.pdf"));
    assert_true(h_contains(audit_detail(body, "delivered"), "accepted by the mail server"));
    char minutes[256];
    snprintf(minutes, sizeof minutes, "%s/ba.pdf", w->env->dir);
    documents_readable(w, t, minutes, "ba.pdf", "diberi sanksi disiplin");
    assert_true(json_is_true(json_object_get(body, "confidential")) ||
                json_integer_value(json_object_get(body, "confidential")) == 1);
    json_decref(body);

    /* the original was filed in the office's mailbox after the ACK */
    assert_int_equal(mailbox_count(&w->office, NULL, "INBOX", NULL), 0);
    assert_int_equal(mailbox_count(&w->office, NULL, "Aduan.Terdaftar", "\\Seen"), 1);

    /* and nothing else reached anyone: no SMS to the citizen, who wrote by email */
    assert_int_equal(inbox_count(w, &w->citizen), 2); /* the acknowledgement, the response */
    assert_int_equal(inbox_count(w, &w->sari), 3);
    assert_int_equal(inbox_count(w, &w->budi), 2);
    assert_int_equal(inbox_count(w, &w->hendra), 0);
    sms_sent_to(w, SARI_PHONE, &s);
    assert_int_equal(s.messages, 3);
    sent_sms_clear(&s);
    sms_sent_to(w, HENDRA_PHONE, &s);
    assert_int_equal(s.messages, 1);
    assert_false(h_contains(s.all, w->citizen.local));
    sent_sms_clear(&s);
    assert_int_equal(phone_count(w->device, PHONE_OUTBOX), 4);
    sop_ctl_expect(w->env, &run, 0, "audit verify", "audit", "verify", NULL);
    h_run_clear(&run);
    free(t);
    h_pass(w->env);
}

int main(void)
{
    GSM_InitLocales(NULL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_sms_complaint_delivery_report, teardown),
        cmocka_unit_test_teardown(test_email_complaint, teardown),
        cmocka_unit_test_teardown(test_sms_complaint_confirmed_by_clerk, teardown),
    };
    if (getenv("ADUAN_TEST_FILTER"))
        cmocka_set_test_filter(getenv("ADUAN_TEST_FILTER"));
    return cmocka_run_group_tests_name("sop_channels", tests, NULL, NULL);
}
