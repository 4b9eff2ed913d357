/*  test_chaos_flood.c - issue 8's crash harness: a flood of complaints through all four
    real channels while the daemon is SIGKILLed at 20 random moments.

      chaos_flood_gateway  everything in one aduan-gatewayd, killed 20 times
      chaos_flood_units    one process per component (aduan-gatewayd --only core, sms,
                           email, phone, box over ipc://, as systemd/aduan@.service runs
                           them); each kill takes one of them, every component 4 times

    The channels and what stands in for their peers:
      sms    Gammu's dummy phone: messages written into its inbox folder, from a number of
             their own each; the acknowledgement is an SMS, whose copy the channel keeps in
             the phone's outbox folder (sms/4)
      email  the mail world's Dovecot (tests/world/mailworld.sh): messages written into the
             office's Maildir; acknowledgements go through Postfix into the citizen's own
             mailboxes (CITIZENS t-* users in turn: the daily cap on automatic replies
             counts per address, and auto_replies_per_day is at most 1000)
      phone  Asterisk's Master.csv, appended to, and the clerk's note of each call (REQUEST
             "call" on the control endpoint, naming the record); a note from a mobile is
             acknowledged by SMS, one from a landline not at all (the clerk gave the ticket
             number on the phone)
      box    forms drawn with cairo (tests/box/forms.c) dropped into the scan folder; half
             give a mobile number (acknowledged by SMS), half no contact (a letter PDF)

    The split (design decisions of the part):
    - 10,000 items in the one-process layout. OCR costs about half a second a page, so the
      box gets 40 forms; SMS acknowledgements leave at sms.send_per_minute (600 at most),
      so SMS gets 1,000 and one phone call in ten is from a mobile; email, whose intake
      and replies are the fastest, takes the rest.
    - The one-unit-per-component layout floods 4,000 (the same shares, scaled) to stay well
      inside its time limit: a killed SMS process forgets nothing of its send rate, a
      killed gateway does, and five processes share the two cores with the mail world.
      CHAOS_FLOOD_ITEMS=N sets the total of either; built with AddressSanitizer, the
      floods are 3,000 and 2,000.
    - Items arrive over FEED_MS, as a flood does, not all before the start: kills fall
      on items that are being read, committed, acknowledged and filed.
    - The 20 moments are drawn by progress, not time: a kill comes when the work done
      (complaints registered + calls logged + acknowledgements sent) crosses a random mark
      between 3 % and 90 % of the whole, so every kill falls in the middle of the work
      however fast the machine is. CHAOS_SEED=N repeats a run (the seed is printed).
    - Rate limits raised so it finishes: send_per_minute 600, auto_replies_per_day 1000,
      retries every 1-5 s and up to 100 attempts (a row must not fail for the kills).

    At the end (everything stopped with SIGTERM, the registry file read directly,
    read-only) every item has exactly one ticket and every call one row of the call log;
    every acknowledgement is marked sent and arrived where its citizen looks (the phone's
    sent folder, the citizen's mailbox, the letters folder) at least once. Replies that
    arrived twice are counted and printed (target 0, not asserted: a kill between a send
    and its RESULT's commit sends again by design), as are acknowledgement rows that
    needed more than one attempt. */
#include "harness.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "aduan/hash.h"
#include "forms.h"
#include "mailbox.h"
#include "phone.h"

#define KILLS 20
#ifdef __SANITIZE_ADDRESS__
/* AddressSanitizer makes every process about three times slower: the same flood would
   outlast the test's time limit, a smaller one still runs every path under it */
#define GATEWAY_ITEMS 3000
#define UNITS_ITEMS 2000
#else
#define GATEWAY_ITEMS 10000
#define UNITS_ITEMS 4000
#endif
#define BOX_FORMS 40          /* in either layout: OCR is the slow part */
#define SMS_SHARE_PERMILLE 100
#define PHONE_SHARE_PERMILLE 200
#define MOBILE_CALL_EVERY 10  /* one call in ten from a mobile: an SMS acknowledgement */
#define FEED_MS 30000         /* items arrive over this long */
#define SMS_BACKLOG_MAX 400   /* messages waiting in the phone's inbox at most */
#define NOTE_WINDOW 8         /* clerk's notes in flight */
#define NOTE_STUCK_MS 5000    /* a note unanswered this long (the core alive) is sent again */
#define RUN_MS 200000         /* the flood to its end, at most */
#define MAIL_WAIT_MS 90000    /* acknowledgements still in Postfix's queue at the end */
#define LOOK_MS 250           /* between two looks at the registry */
#define CLERK "loket"
#define CITIZENS 10           /* email senders: each gets under 1000 replies a day */

/* ---- the processes ------------------------------------------------------------------------ */

typedef struct {
    const char *name; /* "gateway" (all in one) or the component of --only */
    pid_t pid;
    int kills;
} part_t;

typedef enum { NOTE_WAITING, NOTE_SENT, NOTE_DONE } note_state_t;

typedef struct {
    note_state_t state;
    int sends;
    int64_t sent_at;
} note_t;

typedef struct {
    int items, sms, email, phone, box;
} split_t;

typedef struct {
    int complaints, calls, acks_sent, acks_open;
} progress_t;

typedef struct {
    h_env_t *env;
    bool units;
    part_t parts[5];
    int part_count;
    split_t n;
    char dir[64]; /* /tmp/aduan-flood-XXXXXX */
    char device[128], gammurc[128], cdr[160], scan[128], staging[128], outgoing[128];
    mailbox_t office, citizens[CITIZENS];
    int fed_sms, fed_email, fed_phone, fed_box;
    note_t *notes;
    zsock_t *control;
    int notes_done, notes_resent;
    char (*box_hash)[ADUAN_SHA256_HEX_LEN + 1];
} flood_t;

static bool core_like(const part_t *p)
{
    return strcmp(p->name, "gateway") == 0 || strcmp(p->name, "core") == 0;
}

/*  Until the core answers on its control endpoint; fails the test when it does not. One
    request, waited for: a new one every few hundred ms queued dozens of stats behind
    each other in a core busy with its restart, and held it from the flood for seconds. */
static void wait_ready(flood_t *f, const part_t *p)
{
    char status[16];
    json_t *body = NULL;
    int rc = h_control(f->env, "stats", NULL, H_READY_MS, status, &body);
    json_decref(body);
    if (rc == 0)
        return;
    int code = h_wait_exit(p->pid, 0);
    if (code >= 0)
        fail_msg("%s ended with %d while starting", p->name, code);
    fail_msg("%s did not answer within %d ms of its start", p->name, H_READY_MS);
}

static void part_start(flood_t *f, part_t *p)
{
    char *argv[] = {H_GATEWAYD, "-c", f->env->conf, "--only", (char *)p->name, NULL};
    if (!f->units)
        argv[3] = NULL;
    p->pid = h_spawn(argv, f->env->log, f->env->log);
    assert_true(p->pid > 0);
    if (core_like(p)) {
        f->env->pid = p->pid; /* the harness kills it if the test fails */
        wait_ready(f, p);
    }
}

static void part_kill(flood_t *f, part_t *p)
{
    kill(p->pid, SIGKILL);
    int code = h_wait_exit(p->pid, H_STOP_MS);
    if (code != 128 + SIGKILL)
        fail_msg("%s ended with %d, not by our SIGKILL", p->name, code);
    p->pid = 0;
    p->kills++;
    if (core_like(p))
        f->env->pid = 0;
}

/* Every process still runs: one that ended on its own is a crash the flood found. */
static void parts_alive(flood_t *f)
{
    for (int i = 0; i < f->part_count; i++) {
        int status;
        if (waitpid(f->parts[i].pid, &status, WNOHANG) == f->parts[i].pid)
            fail_msg("%s ended by itself (%s %d)", f->parts[i].name,
                     WIFSIGNALED(status) ? "signal" : "exit code",
                     WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
    }
}

/* SIGTERM, the channels first; each must exit 0. */
static void parts_stop(flood_t *f)
{
    for (int i = f->part_count - 1; i >= 0; i--) {
        part_t *p = &f->parts[i];
        kill(p->pid, SIGTERM);
        int code = h_wait_exit(p->pid, H_STOP_MS);
        if (code != 0)
            fail_msg("%s ended with %d after SIGTERM, not 0", p->name, code);
        p->pid = 0;
    }
    f->env->pid = 0;
}

/* ---- the items ---------------------------------------------------------------------------- */

static void sms_number(int i, char *out, size_t len)
{
    snprintf(out, len, "+62857%08d", i);
}

static void caller_number(int i, char *out, size_t len)
{
    if (i % MOBILE_CALL_EVERY == 0)
        snprintf(out, len, "+62813%08d", i);
    else
        snprintf(out, len, "+62274%07d", i);
}

static flood_t *email_flood; /* for make_mail, which mailbox_put_many calls with an index */
static int email_base;

static size_t make_mail(int i, char *buf, size_t len)
{
    int n = email_base + i;
    return (size_t)snprintf(buf, len,
                            "From: Warga %d <%s>\r\n"
                            "To: %s\r\n"
                            "Subject: Pengaduan FLOOD-E-%05d: jalan rusak\r\n"
                            "Date: Sat, 28 Nov 2026 09:00:00 +0700\r\n"
                            "Message-ID: <flood-%d-%d@example.org>\r\n"
                            "Content-Type: text/plain; charset=utf-8\r\n\r\n"
                            "Jalan di depan rumah saya rusak sejak bulan lalu (FLOOD-E-%05d).\r\n"
                            "Mohon segera diperbaiki.\r\n",
                            n, email_flood->citizens[n % CITIZENS].user, email_flood->office.user, n,
                            (int)getpid(), n, n);
}

/*  Appends call records i..end-1 as Asterisk's cdr_csv writes them (answered, uniqueid
    flood.<i>), in one write. */
static void cdr_append(flood_t *f, int from, int to)
{
    char when[32];
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
    size_t size = 0;
    char *text = NULL;
    FILE *out = open_memstream(&text, &size);
    for (int i = from; i < to; i++) {
        char caller[32];
        caller_number(i, caller, sizeof caller);
        fprintf(out,
                "\"\",\"%s\",\"200\",\"from-pstn\",\"\"\"Penelepon %d\"\" <%s>\",\"DAHDI/1-1\","
                "\"SIP/200-0000002a\",\"Dial\",\"SIP/200,30\",\"%s\",\"%s\",\"%s\",63,60,"
                "\"ANSWERED\",\"DOCUMENTATION\",\"flood.%05d\",\"\"\n",
                caller, i, caller, when, when, when, i);
    }
    fclose(out);
    int fd = open(f->cdr, O_WRONLY | O_APPEND | O_CREAT, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, size), (ssize_t)size);
    close(fd);
    free(text);
}

/* The words that make each form its own (and so its own file hash). */
typedef struct {
    char name[64], contact[64], line[64];
} form_words_t;

static form_t box_form(int i, form_words_t *w)
{
    snprintf(w->name, sizeof w->name, "Warga Kotak %d", i);
    snprintf(w->contact, sizeof w->contact, "0813-5%03d-%04d", i, 7000 + i);
    snprintf(w->line, sizeof w->line, "Nomor formulir %d.", i);
    form_t form = {.name = w->name,
                   .contact = i % 2 == 0 ? w->contact : NULL,
                   .lines = {"Pelayanan izin usaha terlalu lama,", "mohon diperbaiki.", w->line,
                             NULL},
                   .angle_deg = 0.3,
                   .noise = 0.001,
                   .seed = (unsigned)i + 1};
    return form;
}

/* Draws form i in the staging folder, hashes it, and moves it into the scan folder. */
static void box_drop(flood_t *f, int i)
{
    char staged[200], target[200];
    form_words_t words;
    form_t form = box_form(i, &words);
    snprintf(staged, sizeof staged, "%s/form-%03d.png", f->staging, i);
    snprintf(target, sizeof target, "%s/form-%03d.png", f->scan, i);
    assert_int_equal(form_write_png(staged, &form), 0);
    char *bytes = NULL;
    size_t size = 0;
    FILE *in = fopen(staged, "rb");
    assert_non_null(in);
    FILE *mem = open_memstream(&bytes, &size);
    char buf[65536];
    size_t got;
    while ((got = fread(buf, 1, sizeof buf, in)) > 0)
        fwrite(buf, 1, got, mem);
    fclose(in);
    fclose(mem);
    assert_int_equal(aduan_sha256_hex(bytes, size, f->box_hash[i]), 0);
    free(bytes);
    assert_int_equal(rename(staged, target), 0);
}

/* Feeds each channel its share of what should have arrived by now. */
static void feed(flood_t *f, int64_t elapsed_ms)
{
    double share = elapsed_ms >= FEED_MS ? 1.0 : (double)elapsed_ms / FEED_MS;
    int due_sms = (int)(f->n.sms * share), due_email = (int)(f->n.email * share);
    int due_phone = (int)(f->n.phone * share), due_box = (int)(f->n.box * share);
    if (due_sms > f->fed_sms) {
        int room = SMS_BACKLOG_MAX - phone_count(f->device, PHONE_INBOX);
        for (; f->fed_sms < due_sms && room > 0; f->fed_sms++, room--) {
            char from[32], text[160];
            sms_number(f->fed_sms, from, sizeof from);
            snprintf(text, sizeof text, "Lampu jalan di RT %d mati sudah seminggu. FLOOD-S-%05d",
                     f->fed_sms % 20 + 1, f->fed_sms);
            assert_int_equal(phone_inject(f->device, PHONE_INBOX, from, text, NULL), 1);
        }
    }
    if (due_email > f->fed_email) {
        email_flood = f;
        email_base = f->fed_email;
        assert_int_equal(mailbox_put_many(&f->office, due_email - f->fed_email, make_mail), 0);
        f->fed_email = due_email;
    }
    if (due_phone > f->fed_phone) {
        cdr_append(f, f->fed_phone, due_phone);
        f->fed_phone = due_phone;
    }
    if (due_box > f->fed_box)
        box_drop(f, f->fed_box++); /* one a look: drawing one takes a while */
}

/* ---- the clerk's notes -------------------------------------------------------------------- */

static void control_connect(flood_t *f)
{
    zsock_destroy(&f->control);
    f->control = zsock_new(ZMQ_DEALER);
    assert_non_null(f->control);
    zsock_set_linger(f->control, 0);
    assert_int_equal(zsock_connect(f->control, "%s", f->env->control), 0);
}

static void note_send(flood_t *f, int i)
{
    note_t *n = &f->notes[i];
    char caller[32], text[160], record[32], name[40];
    caller_number(i, caller, sizeof caller);
    snprintf(text, sizeof text, "Air PDAM di rumah penelepon mati tiga hari. FLOOD-P-%05d", i);
    snprintf(record, sizeof record, "flood.%05d", i);
    snprintf(name, sizeof name, "Penelepon %d", i);
    json_t *args = json_pack("{s:s, s:s, s:s, s:s}", "from", caller, "name", name, "text", text,
                             "record", record);
    char *json = json_dumps(args, JSON_COMPACT);
    json_decref(args);
    aduan_msg_t *m = aduan_msg_new(ADUAN_MSG_REQUEST);
    n->sends++;
    snprintf(m->id, sizeof m->id, "note-%d-%d", i, n->sends);
    aduan_msg_set(&m->request.command, "call");
    aduan_msg_set(&m->request.actor, CLERK);
    aduan_msg_set(&m->request.args, json);
    free(json);
    assert_int_equal(aduan_msg_send(m, f->control, NULL), 0);
    aduan_msg_destroy(&m);
    n->state = NOTE_SENT;
    n->sent_at = h_now_ms();
}

static void note_answer(flood_t *f, const aduan_msg_t *m)
{
    int i, sends;
    if (m->type != ADUAN_MSG_REPLY || sscanf(m->id, "note-%d-%d", &i, &sends) != 2 || i < 0 ||
        i >= f->n.phone)
        fail_msg("control answered %s %s", aduan_msg_type_name(m->type), m->id);
    note_t *n = &f->notes[i];
    if (n->state != NOTE_SENT || n->sends != sends)
        return; /* an answer to an earlier send */
    if (strcmp(m->reply.status, "ok") == 0) {
        n->state = NOTE_DONE;
        f->notes_done++;
    } else if (strcmp(m->reply.status, "error") == 0) {
        n->state = NOTE_WAITING; /* the registry could not, this time */
        f->notes_resent++;
    } else {
        fail_msg("the note of call %d was refused: %s", i, m->reply.body);
    }
}

/* Takes the answers there are, sends again what waited too long, and fills the window
   with the notes of calls already in the file. */
static void notes_pump(flood_t *f)
{
    zmq_pollitem_t item = {zsock_resolve(f->control), 0, ZMQ_POLLIN, 0};
    while (zmq_poll(&item, 1, 0) > 0 && (item.revents & ZMQ_POLLIN)) {
        zmsg_t *zm = zmsg_recv(f->control);
        char reason[256];
        aduan_msg_t *m = zm ? aduan_msg_decode(&zm, 1 << 20, NULL, reason, sizeof reason) : NULL;
        if (!m)
            fail_msg("an answer on the control endpoint that does not decode");
        note_answer(f, m);
        aduan_msg_destroy(&m);
    }
    int64_t now = h_now_ms();
    int in_flight = 0;
    for (int i = 0; i < f->fed_phone; i++) {
        if (f->notes[i].state == NOTE_SENT && now - f->notes[i].sent_at > NOTE_STUCK_MS) {
            f->notes[i].state = NOTE_WAITING;
            f->notes_resent++;
        }
        in_flight += f->notes[i].state == NOTE_SENT;
    }
    for (int i = 0; i < f->fed_phone && in_flight < NOTE_WINDOW; i++)
        if (f->notes[i].state == NOTE_WAITING) {
            note_send(f, i);
            in_flight++;
        }
}

/* The core is new: what was in flight to the old one goes again, on a new socket. */
static void notes_after_restart(flood_t *f)
{
    control_connect(f);
    for (int i = 0; i < f->fed_phone; i++)
        if (f->notes[i].state == NOTE_SENT) {
            f->notes[i].state = NOTE_WAITING;
            f->notes_resent++;
        }
}

/* ---- the registry, read-only ------------------------------------------------------------ */

static sqlite3 *registry_open(const flood_t *f)
{
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(f->env->db, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        sqlite3_close(db);
        return NULL;
    }
    sqlite3_busy_timeout(db, 2000);
    return db;
}

/* false while the registry is not there yet or is busy: looked at again later */
static bool look(const flood_t *f, progress_t *p)
{
    sqlite3 *db = registry_open(f);
    sqlite3_stmt *st = NULL;
    bool ok = db &&
              sqlite3_prepare_v2(db,
                                 "SELECT (SELECT count(*) FROM complaint),"
                                 " (SELECT count(*) FROM call_log),"
                                 " (SELECT count(*) FROM outbox WHERE kind = 'ack'"
                                 "   AND status IN ('sent', 'delivered')),"
                                 " (SELECT count(*) FROM outbox WHERE kind = 'ack'"
                                 "   AND status IN ('pending', 'sending'))",
                                 -1, &st, NULL) == SQLITE_OK &&
              sqlite3_step(st) == SQLITE_ROW;
    if (ok)
        *p = (progress_t){sqlite3_column_int(st, 0), sqlite3_column_int(st, 1),
                          sqlite3_column_int(st, 2), sqlite3_column_int(st, 3)};
    sqlite3_finalize(st);
    sqlite3_close(db);
    return ok;
}

/* ---- where the citizens look -------------------------------------------------------------- */

/* ticket -> how many times it arrived */
static void count_ticket(zhashx_t *seen, const char *ticket)
{
    uintptr_t n = (uintptr_t)zhashx_lookup(seen, ticket);
    zhashx_update(seen, ticket, (void *)(n + 1));
}

static int ticket_count(zhashx_t *seen, const char *ticket)
{
    return (int)(uintptr_t)zhashx_lookup(seen, ticket);
}

/* The first ticket number in text, into ticket (40 bytes); false when none. */
static bool first_ticket(const char *text, char *ticket)
{
    static regex_t re;
    static bool compiled;
    if (!compiled) {
        assert_int_equal(regcomp(&re, "ADU-20[0-9]{2}-[0-9]{5}", REG_EXTENDED), 0);
        compiled = true;
    }
    regmatch_t m;
    if (regexec(&re, text, 1, &m, 0) != 0)
        return false;
    snprintf(ticket, 40, "%.*s", (int)(m.rm_eo - m.rm_so), text + m.rm_so);
    return true;
}

/* The acknowledgements the dummy phone sent (its sms/4 copies), by ticket. */
static void sms_arrived(const flood_t *f, zhashx_t *seen)
{
    char *texts = phone_texts(f->device, PHONE_OUTBOX, NULL);
    char *save = NULL;
    for (char *one = strtok_r(texts, "\n", &save); one; one = strtok_r(NULL, "\n", &save)) {
        char ticket[40];
        if (strstr(one, "diterima") && first_ticket(one, ticket))
            count_ticket(seen, ticket);
    }
    free(texts);
}

/* The acknowledgements in the citizens' mailboxes, by the ticket in their subject. */
static void mail_arrived(const flood_t *f, zhashx_t *seen)
{
    for (int c = 0; c < CITIZENS; c++) {
        char cmd[1024];
        snprintf(cmd, sizeof cmd,
                 "doveadm -c %s fetch -u %s hdr.subject mailbox INBOX ALL 2>/dev/null",
                 f->citizens[c].dovecot_conf, f->citizens[c].user);
        FILE *in = popen(cmd, "r");
        assert_non_null(in);
        char line[1024];
        while (fgets(line, sizeof line, in)) {
            char ticket[40];
            if (strstr(line, "telah kami terima") && first_ticket(line, ticket))
                count_ticket(seen, ticket);
        }
        pclose(in);
    }
}

/* The letters for complainants without a contact: <ticket>-ack-<outbox id>.pdf. */
static void letters_arrived(const flood_t *f, zhashx_t *seen)
{
    DIR *d = opendir(f->outgoing);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        char ticket[40];
        if (strstr(e->d_name, "-ack-") && strstr(e->d_name, ".pdf") &&
            !strstr(e->d_name, ".tmp.") && first_ticket(e->d_name, ticket))
            count_ticket(seen, ticket);
    }
    if (d)
        closedir(d);
}

/* ---- the verdict ------------------------------------------------------------------------ */

typedef struct {
    int *tickets;   /* per item: complaints found for it */
    int extra;      /* complaints no item explains */
} tally_t;

/* Which item a complaint is: its index in the flood's numbering of all items (sms first,
   then email, phone, box), or -1. */
static int item_of(const flood_t *f, const char *channel, const char *from, const char *subject,
                   const char *keys)
{
    int i;
    if (strcmp(channel, "sms") == 0 && sscanf(from, "+62857%8d", &i) == 1 && i < f->n.sms)
        return i;
    const char *token = strstr(subject, "FLOOD-E-");
    if (strcmp(channel, "email") == 0 && token && sscanf(token, "FLOOD-E-%5d", &i) == 1 &&
        i < f->n.email)
        return f->n.sms + i;
    token = strstr(keys, "note:flood.");
    if (strcmp(channel, "phone") == 0 && token && sscanf(token, "note:flood.%5d", &i) == 1 &&
        i < f->n.phone)
        return f->n.sms + f->n.email + i;
    for (i = 0; strcmp(channel, "box") == 0 && i < f->n.box; i++)
        if (strstr(keys, f->box_hash[i]))
            return f->n.sms + f->n.email + f->n.phone + i;
    return -1;
}

static const char *col(sqlite3_stmt *st, int i)
{
    const char *s = (const char *)sqlite3_column_text(st, i);
    return s ? s : "";
}

static void prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st)
{
    if (sqlite3_prepare_v2(db, sql, -1, st, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(db));
}

static void verdict(flood_t *f, int64_t flood_ms)
{
    sqlite3 *db = registry_open(f);
    assert_non_null(db);
    sqlite3_stmt *st;
    prepare(db, "PRAGMA integrity_check", &st);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal(col(st, 0), "ok");
    sqlite3_finalize(st);

    /* every item: one ticket */
    tally_t t = {.tickets = calloc((size_t)f->n.items, sizeof(int))};
    assert_non_null(t.tickets);
    prepare(db,
            "SELECT c.channel, c.from_addr, c.subject,"
            " (SELECT group_concat(i.dedupe_key, ' ') FROM intake i WHERE i.complaint_id = c.id)"
            " FROM complaint c",
            &st);
    while (sqlite3_step(st) == SQLITE_ROW) {
        int i = item_of(f, col(st, 0), col(st, 1), col(st, 2), col(st, 3));
        if (i < 0) {
            fprintf(stderr, "a complaint no item explains: %s from %s '%s' keys %s\n",
                    col(st, 0), col(st, 1), col(st, 2), col(st, 3));
            t.extra++;
        } else {
            t.tickets[i]++;
        }
    }
    sqlite3_finalize(st);
    int lost = 0, doubled = 0;
    for (int i = 0; i < f->n.items; i++) {
        lost += t.tickets[i] == 0;
        doubled += t.tickets[i] > 1;
    }

    /* every call: one row of the call log */
    int *calls = calloc((size_t)f->n.phone, sizeof(int));
    int calls_lost = 0, calls_doubled = 0, calls_extra = 0;
    prepare(db, "SELECT record FROM call_log", &st);
    while (sqlite3_step(st) == SQLITE_ROW) {
        int i;
        if (sscanf(col(st, 0), "flood.%5d", &i) == 1 && i >= 0 && i < f->n.phone)
            calls[i]++;
        else
            calls_extra++;
    }
    sqlite3_finalize(st);
    for (int i = 0; i < f->n.phone; i++) {
        calls_lost += calls[i] == 0;
        calls_doubled += calls[i] > 1;
    }

    /* every acknowledgement: sent, and arrived at least once where its citizen looks */
    zhashx_t *sms = zhashx_new(), *mail = zhashx_new(), *letters = zhashx_new();
    sms_arrived(f, sms);
    mail_arrived(f, mail);
    letters_arrived(f, letters);
    int acks = 0, not_sent = 0, not_arrived = 0, retried = 0, rows_doubled = 0;
    int twice_sms = 0, twice_mail = 0, twice_letters = 0;
    prepare(db,
            "SELECT c.ticket, o.to_addr, o.status, o.attempts,"
            " (SELECT count(*) FROM outbox o2 WHERE o2.complaint_id = c.id AND o2.kind = 'ack')"
            " FROM outbox o JOIN complaint c ON c.id = o.complaint_id WHERE o.kind = 'ack'",
            &st);
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *ticket = col(st, 0), *to = col(st, 1), *status = col(st, 2);
        acks++;
        retried += sqlite3_column_int(st, 3) > 1;
        rows_doubled += sqlite3_column_int(st, 4) > 1;
        if (strcmp(status, "sent") != 0 && strcmp(status, "delivered") != 0) {
            if (not_sent++ < 5)
                fprintf(stderr, "%s: acknowledgement to %s is %s\n", ticket, to, status);
            continue;
        }
        zhashx_t *side = to[0] == '+' ? sms : strchr(to, '@') ? mail : letters;
        int *twice = side == sms ? &twice_sms : side == mail ? &twice_mail : &twice_letters;
        int n = ticket_count(side, ticket);
        if (n == 0 && not_arrived++ < 5)
            fprintf(stderr, "%s: acknowledgement to %s never arrived\n", ticket, to);
        *twice += n > 1 ? n - 1 : 0;
    }
    sqlite3_finalize(st);
    int landline = f->n.phone - (f->n.phone + MOBILE_CALL_EVERY - 1) / MOBILE_CALL_EVERY;
    sqlite3_close(db);

    fprintf(stderr,
            "flood: %d items (sms %d, email %d, phone %d, box %d) in %lld ms, %d SIGKILLs;\n"
            "  lost %d, duplicate tickets %d, complaints no item explains %d;\n"
            "  calls logged: lost %d, twice %d, unknown %d; clerk's notes sent again %d;\n"
            "  acknowledgements %d (+%d landline calls, which get none): not sent %d, never "
            "arrived %d, rows needing more than one attempt %d, extra ack rows %d\n"
            "  replies sent twice: %d (target 0): by SMS %d, by email %d, letters %d\n",
            f->n.items, f->n.sms, f->n.email, f->n.phone, f->n.box, (long long)flood_ms, KILLS,
            lost, doubled, t.extra, calls_lost, calls_doubled, calls_extra, f->notes_resent,
            acks, landline, not_sent, not_arrived, retried, rows_doubled,
            twice_sms + twice_mail + twice_letters, twice_sms, twice_mail, twice_letters);
    assert_int_equal(lost, 0);
    assert_int_equal(doubled, 0);
    assert_int_equal(t.extra, 0);
    assert_int_equal(calls_lost + calls_doubled + calls_extra, 0);
    assert_int_equal(acks + landline, f->n.items);
    assert_int_equal(rows_doubled, 0);
    assert_int_equal(not_sent, 0);
    assert_int_equal(not_arrived, 0);
    zhashx_destroy(&sms);
    zhashx_destroy(&mail);
    zhashx_destroy(&letters);
    free(calls);
    free(t.tickets);
}

/* ---- the world ---------------------------------------------------------------------------- */

static split_t split_of(int items)
{
    split_t n = {.items = items, .box = BOX_FORMS};
    n.sms = items * SMS_SHARE_PERMILLE / 1000;
    n.phone = items * PHONE_SHARE_PERMILLE / 1000;
    n.email = items - n.sms - n.phone - n.box;
    return n;
}

static flood_t *flood_new(bool units)
{
    flood_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->units = units;
    const char *items = getenv("CHAOS_FLOOD_ITEMS");
    f->n = split_of(items && atoi(items) >= 200 ? atoi(items)
                                                : units ? UNITS_ITEMS : GATEWAY_ITEMS);
    f->notes = calloc((size_t)f->n.phone, sizeof *f->notes);
    f->box_hash = calloc((size_t)f->n.box, sizeof *f->box_hash);
    assert_non_null(f->notes);
    assert_non_null(f->box_hash);
    snprintf(f->dir, sizeof f->dir, "/tmp/aduan-flood-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    /* the world's paths, each a name in the test's folder */
    struct {
        char *path;
        size_t size;
        const char *name;
    } paths[] = {
        {f->device, sizeof f->device, "phone"},   {f->gammurc, sizeof f->gammurc, "gammurc"},
        {f->cdr, sizeof f->cdr, "Master.csv"},    {f->scan, sizeof f->scan, "scan"},
        {f->staging, sizeof f->staging, "staging"}, {f->outgoing, sizeof f->outgoing, "outgoing"},
    };
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
        snprintf(paths[i].path, paths[i].size, "%s/%s", f->dir, paths[i].name);
    assert_int_equal(phone_make(f->device, f->gammurc), 0);
    assert_int_equal(mkdir(f->scan, 0700), 0);
    assert_int_equal(mkdir(f->staging, 0700), 0);
    assert_int_equal(mailbox_setup(&f->office, "flood-kantor"), 0);
    /* Dovecot makes the Maildir when it is first looked into: then mailbox_put_many finds
       it and adds no seed message of its own, which would be one complaint more */
    assert_int_equal(mailbox_count(&f->office, NULL, "INBOX", NULL), 0);
    for (int c = 0; c < CITIZENS; c++)
        assert_int_equal(mailbox_setup(&f->citizens[c], "flood-warga"), 0);

    char *extra = NULL;
    assert_true(
        asprintf(&extra,
                 "[sms]\nenabled = yes\naccount = modem-flood\ngammurc = %s\npoll = 200ms\n"
                 "multipart_wait = 2s\nspill_dir = %s/spill\nreconnect_max = 1s\n"
                 "followup_window = 0\nsend_per_minute = 600\ndelivery_reports = no\n"
                 "\n[email]\nenabled = yes\naccount = %s\naddress = %s\n"
                 "imap_host = 127.0.0.1\nimap_port = 10993\nimap_tls = implicit\n"
                 "imap_user = %s\nimap_password_file = %s\nca_file = %s\npoll = 5s\n"
                 "smtp_host = 127.0.0.1\nsmtp_port = 10025\nsmtp_tls = none\n"
                 "smtp_timeout = 10s\n"
                 "\n[phone]\nenabled = yes\ncdr_file = %s\nmodem_calls = no\n"
                 "invite_missed = no\n"
                 "\n[box]\nenabled = yes\naccount = kotak-flood\nscan_dir = %s\n"
                 "processed_dir = %s/processed\nquarantine_dir = %s/quarantine\n"
                 "outgoing_dir = %s\nwork_dir = %s/work\nstable_ms = 300\n"
                 "\n[deadlines]\nmonthly_summary = no\n",
                 f->gammurc, f->dir, f->office.local, f->office.user, f->office.user,
                 f->office.password_file, f->office.ca, f->cdr, f->scan, f->dir, f->dir,
                 f->outgoing, f->dir) > 0);
    /* staff are told nothing: the flood counts what citizens get */
    const char *staff = "\n[staff." CLERK "]\nname = Loket Uji\nrole = helpdesk\nuser = " CLERK
                        "\nnotify = none\n"
                        "\n[staff.kabid]\nname = Kabid Uji\nrole = backoffice\nnotify = none\n"
                        "\n[staff.kadis]\nname = Kadis Uji\nrole = head\nnotify = none\n";
    h_options_t o = {.extra_conf = extra,
                     .staff_conf = staff,
                     .max_message_bytes = 64 << 20, /* a box form's page travels whole */
                     .peer_timeout_ms = 5000,
                     .retry_base_s = 1,
                     .retry_max_s = 5,
                     .max_attempts = 100,
                     .deliver_timeout_s = 10,
                     .in_flight = 128,
                     .auto_replies_per_day = 1000,
                     .log_level = getenv("ADUAN_TEST_DEBUG") ? "debug" : "info"};
    f->env = h_env_new(&o);
    free(extra);

    static const char *const components[] = {"core", "sms", "email", "phone", "box"};
    f->part_count = units ? 5 : 1;
    for (int i = 0; i < f->part_count; i++)
        f->parts[i].name = units ? components[i] : "gateway";
    return f;
}

static int teardown(void **state)
{
    flood_t *f = *state;
    if (!f)
        return 0;
    for (int i = 0; i < f->part_count; i++)
        if (f->parts[i].pid > 0 && !core_like(&f->parts[i])) {
            kill(f->parts[i].pid, SIGKILL);
            h_wait_exit(f->parts[i].pid, H_STOP_MS);
        }
    zsock_destroy(&f->control);
    h_env_destroy(&f->env);
    h_drop_tree(f->dir);
    free(f->notes);
    free(f->box_hash);
    free(f);
    *state = NULL;
    return 0;
}

/* ---- the flood ---------------------------------------------------------------------------- */

static int cmp_int(const void *a, const void *b)
{
    return *(const int *)a - *(const int *)b;
}

/* KILLS marks of work done, between 3 % and 90 % of all, at least 1 % apart. */
static void kill_marks(int work, int marks[KILLS])
{
    bool spaced;
    do {
        for (int k = 0; k < KILLS; k++)
            marks[k] = work * 3 / 100 + rand() % (work * 87 / 100);
        qsort(marks, KILLS, sizeof marks[0], cmp_int);
        spaced = true;
        for (int k = 1; k < KILLS; k++)
            spaced &= marks[k] - marks[k - 1] >= work / 100;
    } while (!spaced);
}

/* Which part each kill takes: the one there is, or each component KILLS/5 times in a
   random order. */
static void kill_order(const flood_t *f, int order[KILLS])
{
    for (int k = 0; k < KILLS; k++)
        order[k] = k % f->part_count;
    for (int k = KILLS - 1; k > 0; k--) {
        int j = rand() % (k + 1), swap = order[k];
        order[k] = order[j];
        order[j] = swap;
    }
}

static int work_of(const progress_t *p)
{
    return p->complaints + p->calls + p->acks_sent;
}

static void run_flood(void **state, bool units)
{
    unsigned seed = getenv("CHAOS_SEED") ? (unsigned)strtoul(getenv("CHAOS_SEED"), NULL, 10)
                                         : (unsigned)time(NULL) ^ (unsigned)getpid();
    fprintf(stderr, "CHAOS_SEED=%u\n", seed);
    srand(seed);
    int64_t begun = h_now_ms();
    flood_t *f = flood_new(units);
    *state = f;
    /* the whole work: every complaint, every call, every acknowledgement but the
       landline calls' */
    int mobile_calls = (f->n.phone + MOBILE_CALL_EVERY - 1) / MOBILE_CALL_EVERY;
    int acks = f->n.items - f->n.phone + mobile_calls;
    int work = f->n.items + f->n.phone + acks;
    int marks[KILLS], order[KILLS];
    kill_marks(work, marks);
    kill_order(f, order);
    fprintf(stderr, "%s layout: %d items (sms %d, email %d, phone %d, box %d); SIGKILL at",
            units ? "one process per component" : "one process", f->n.items, f->n.sms,
            f->n.email, f->n.phone, f->n.box);
    for (int k = 0; k < KILLS; k++)
        fprintf(stderr, " %d%s%s", marks[k], units ? ":" : "", units ? f->parts[order[k]].name : "");
    fprintf(stderr, " of %d units of work; set up in %lld ms\n", work,
            (long long)(h_now_ms() - begun));

    for (int i = 0; i < f->part_count; i++)
        part_start(f, &f->parts[i]);
    control_connect(f);

    int64_t start = h_now_ms(), deadline = start + RUN_MS, next_look = 0;
    int kills = 0;
    progress_t p = {0};
    while (true) {
        int64_t now = h_now_ms();
        if (now > deadline)
            fail_msg("after %d ms: %d of %d complaints, %d of %d calls, %d acknowledgements "
                     "sent and %d waiting, %d of %d notes, %d kills",
                     RUN_MS, p.complaints, f->n.items, p.calls, f->n.phone, p.acks_sent,
                     p.acks_open, f->notes_done, f->n.phone, kills);
        feed(f, now - start);
        notes_pump(f);
        if (now >= next_look) {
            parts_alive(f);
            next_look = now + LOOK_MS;
            if (!look(f, &p))
                continue;
            if (kills < KILLS && work_of(&p) >= marks[kills]) {
                part_t *victim = &f->parts[order[kills]];
                int64_t t0 = h_now_ms();
                part_kill(f, victim);
                part_start(f, victim);
                if (core_like(victim))
                    notes_after_restart(f);
                kills++;
                fprintf(stderr, "SIGKILL %2d: %-7s at %5d of %d (%d complaints, %d calls, %d "
                        "acks sent); running again after %lld ms\n",
                        kills, victim->name, work_of(&p), work, p.complaints, p.calls,
                        p.acks_sent, (long long)(h_now_ms() - t0));
                continue;
            }
            if (kills == KILLS && f->notes_done == f->n.phone && p.complaints >= f->n.items &&
                p.calls >= f->n.phone && p.acks_open == 0)
                break;
        }
        /* paced by the control endpoint: the answers to the notes, or a short while */
        zmq_pollitem_t item = {zsock_resolve(f->control), 0, ZMQ_POLLIN, 0};
        zmq_poll(&item, 1, 20);
    }
    int64_t flood_ms = h_now_ms() - start;
    fprintf(stderr, "registered and acknowledged after %lld ms\n", (long long)flood_ms);

    /* Postfix may still be handing the last acknowledgements to Dovecot */
    int email_acks = f->n.email, arrived = 0;
    int64_t mail_deadline = h_now_ms() + MAIL_WAIT_MS;
    while (h_now_ms() < mail_deadline) {
        zhashx_t *seen = zhashx_new();
        mail_arrived(f, seen);
        arrived = (int)zhashx_size(seen);
        zhashx_destroy(&seen);
        if (arrived >= email_acks)
            break;
        zmq_poll(NULL, 0, 500);
    }
    fprintf(stderr, "%d of %d email acknowledgements in the citizen's mailbox after %lld ms\n",
            arrived, email_acks, (long long)(h_now_ms() - start));

    parts_stop(f);
    verdict(f, flood_ms);
    fprintf(stderr, "the whole test: %lld ms\n", (long long)(h_now_ms() - begun));
    h_pass(f->env);
}

static void test_flood_gateway(void **state)
{
    run_flood(state, false);
}

static void test_flood_units(void **state)
{
    run_flood(state, true);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest gateway[] = {
        cmocka_unit_test_teardown(test_flood_gateway, teardown),
    };
    const struct CMUnitTest units[] = {
        cmocka_unit_test_teardown(test_flood_units, teardown),
    };
    if (argc == 2 && strcmp(argv[1], "gateway") == 0)
        return cmocka_run_group_tests_name("chaos_flood_gateway", gateway, NULL, NULL);
    if (argc == 2 && strcmp(argv[1], "units") == 0)
        return cmocka_run_group_tests_name("chaos_flood_units", units, NULL, NULL);
    fprintf(stderr, "usage: %s gateway|units\n", argv[0]);
    return 2;
}
