/*  test_dedupe.c - what an INTAKE becomes: the same source item never makes a second
    ticket; quarantined items, follow-ups (by ticket and by In-Reply-To), status queries,
    automatic mail, the per-sender limit of automatic replies, attachments in the
    content-addressed file store, full-text search, and the schema version guard. */
#include "registry_fixture.h"

#include <jansson.h>

#include "aduan/hash.h"
#include "schema.h"
#include "search.h"

#define CITIZEN_SMS "+6285712345678"
#define CITIZEN_MAIL "budi.santoso@example.org"

static int64_t count_complaints(reg_fixture_t *f)
{
    return reg_int(f, "SELECT count(*) FROM complaint");
}

static int64_t count_outbox(reg_fixture_t *f)
{
    return reg_int(f, "SELECT count(*) FROM outbox");
}

/* ---- the same item twice --------------------------------------------------------------- */

static void test_same_key_is_duplicate(void **state)
{
    reg_fixture_t *f = *state;
    aduan_msg_t *m = reg_intake_new("sms", "modem1:" CITIZEN_SMS ":1772420340:ab12", CITIZEN_SMS,
                                    "Izin usaha saya belum terbit sudah 3 minggu");
    aduan_intake_result_t first, again;
    assert_int_equal(reg_take(f, m, &first), 0);
    assert_string_equal(first.disposition, "new");
    assert_string_equal(first.ticket, "ADU-2026-00001");

    /* what the first intake queued: the citizen's ack, the help desk by email and SMS */
    assert_int_equal(count_outbox(f), 3);
    assert_int_equal(reg_int(f, "SELECT count(*) FROM outbox WHERE kind = 'ack' AND to_addr = %Q",
                             CITIZEN_SMS),
                     1);
    assert_int_equal(reg_int(f, "SELECT count(*) FROM outbox WHERE kind = 'notice'"
                                " AND staff_id = %Q",
                             REG_HELPDESK_ID),
                     2);
    int64_t messages = reg_int(f, "SELECT count(*) FROM message");
    int64_t audits = reg_int(f, "SELECT count(*) FROM audit");

    /* the adapter did not see the ACK and sends the item again, later */
    f->now += 10 * 60 * 1000;
    assert_int_equal(reg_take(f, m, &again), 0);
    assert_string_equal(again.disposition, "duplicate");
    assert_string_equal(again.ticket, first.ticket);
    assert_int_equal(again.complaint_id, first.complaint_id);
    assert_int_equal(count_complaints(f), 1);
    assert_int_equal(count_outbox(f), 3);
    assert_int_equal(reg_int(f, "SELECT count(*) FROM message"), messages);
    assert_int_equal(reg_int(f, "SELECT count(*) FROM audit"), audits);
    assert_int_equal(reg_int(f, "SELECT count(*) FROM intake"), 1);

    /* the key is the identity, whatever else differs */
    assert_int_equal(aduan_msg_set(&m->intake.text, "teks lain"), 0);
    assert_int_equal(reg_take(f, m, &again), 0);
    assert_string_equal(again.disposition, "duplicate");
    assert_string_equal(again.ticket, first.ticket);
    assert_int_equal(count_complaints(f), 1);
    assert_int_equal(count_outbox(f), 3);
    aduan_msg_destroy(&m);
}

/* A duplicate inside one batch (the adapter resent before the commit) is caught too. */
static void test_same_key_in_one_transaction(void **state)
{
    reg_fixture_t *f = *state;
    aduan_msg_t *m = reg_intake_new("email", "INBOX:42:7", CITIZEN_MAIL, "Jalan rusak");
    aduan_intake_result_t a, b;
    char reason[128];
    assert_int_equal(aduan_store_begin(f->store), 0);
    assert_int_equal(aduan_registry_intake(f->store, m, "p", &a, reason, sizeof reason), 0);
    assert_int_equal(aduan_registry_intake(f->store, m, "p", &b, reason, sizeof reason), 0);
    assert_int_equal(aduan_store_commit(f->store), 0);
    assert_string_equal(a.disposition, "new");
    assert_string_equal(b.disposition, "duplicate");
    assert_string_equal(b.ticket, a.ticket);
    assert_int_equal(count_complaints(f), 1);
    aduan_msg_destroy(&m);
}

static void test_same_key_other_channel_is_new(void **state)
{
    reg_fixture_t *f = *state;
    aduan_intake_result_t a, b;
    reg_complaint(f, "sms", "same-key", CITIZEN_SMS, "lewat SMS", &a);
    reg_complaint(f, "email", "same-key", CITIZEN_MAIL, "lewat email", &b);
    assert_string_equal(a.disposition, "new");
    assert_string_equal(b.disposition, "new");
    assert_string_equal(a.ticket, "ADU-2026-00001");
    assert_string_equal(b.ticket, "ADU-2026-00002");
    assert_true(a.complaint_id != b.complaint_id);
    assert_int_equal(count_complaints(f), 2);
}

/* ---- quarantine ------------------------------------------------------------------------ */

static void test_quarantine(void **state)
{
    reg_fixture_t *f = *state;
    static const char raw[] = "From: x\r\nContent-Type: multipart/mixed; boundary=\r\n\r\n\xff\xfe";
    aduan_msg_t *m = reg_intake_new("email", "INBOX:42:99", CITIZEN_MAIL, "");
    assert_int_equal(aduan_msg_set(&m->intake.quarantine_reason, "MIME: boundary kosong"), 0);
    m->intake.raw.data = malloc(sizeof raw - 1);
    assert_non_null(m->intake.raw.data);
    memcpy(m->intake.raw.data, raw, sizeof raw - 1);
    m->intake.raw.size = sizeof raw - 1;

    aduan_intake_result_t r;
    assert_int_equal(reg_take(f, m, &r), 0);
    assert_string_equal(r.disposition, "quarantined");
    assert_string_equal(r.ticket, "");
    assert_int_equal(r.complaint_id, 0);
    assert_int_equal(count_complaints(f), 0);
    assert_int_equal(count_outbox(f), 0); /* nobody is answered for an unreadable item */
    assert_int_equal(reg_int(f, "SELECT last FROM ticket_counter UNION ALL SELECT 0 LIMIT 1"), 0);

    char reason[256] = "";
    json_t *args = json_object();
    json_t *q = aduan_query_quarantine(f->store, args, reason, sizeof reason);
    assert_non_null(q);
    json_t *items = json_object_get(q, "items");
    assert_int_equal(json_array_size(items), 1);
    json_t *row = json_array_get(items, 0);
    assert_string_equal(json_string_value(json_object_get(row, "reason")),
                        "MIME: boundary kosong");
    assert_string_equal(json_string_value(json_object_get(row, "channel")), "email");
    assert_string_equal(json_string_value(json_object_get(row, "peer")), "test-peer");
    assert_string_equal(json_string_value(json_object_get(row, "dedupe_key")), "INBOX:42:99");
    assert_int_equal(json_integer_value(json_object_get(row, "size")), sizeof raw - 1);

    /* the original is kept byte for byte, by its hash */
    char sha[65];
    assert_int_equal(aduan_sha256_hex(raw, sizeof raw - 1, sha), 0);
    assert_string_equal(json_string_value(json_object_get(row, "raw_sha256")), sha);
    size_t size = 0;
    unsigned char *kept = aduan_store_get_content(f->store, sha, &size);
    assert_non_null(kept);
    assert_int_equal(size, sizeof raw - 1);
    assert_memory_equal(kept, raw, sizeof raw - 1);
    free(kept);
    json_decref(q);

    /* the adapter retries the item: the same answer, no second quarantine row */
    assert_int_equal(reg_take(f, m, &r), 0);
    assert_string_equal(r.disposition, "duplicate");
    assert_string_equal(r.ticket, "");
    assert_int_equal(reg_int(f, "SELECT count(*) FROM quarantine"), 1);
    assert_int_equal(count_complaints(f), 0);
    q = aduan_query_quarantine(f->store, args, reason, sizeof reason);
    assert_non_null(q);
    assert_int_equal(json_array_size(json_object_get(q, "items")), 1);
    json_decref(q);
    json_decref(args);
    aduan_msg_destroy(&m);
}

/* ---- follow-ups ------------------------------------------------------------------------- */

static void test_followup_by_thread_ticket(void **state)
{
    reg_fixture_t *f = *state;
    aduan_intake_result_t first, r;
    reg_complaint(f, "sms", "k1", CITIZEN_SMS, "Izin belum terbit", &first);
    int64_t notices = reg_int(f, "SELECT count(*) FROM outbox WHERE kind = 'notice'");

    f->now += REG_HOUR_MS;
    aduan_msg_t *m = reg_intake_new("sms", "k2", CITIZEN_SMS, "Tambahan: nomor berkas 123/2026");
    assert_int_equal(aduan_msg_set(&m->intake.thread_ticket, first.ticket), 0);
    assert_int_equal(reg_take(f, m, &r), 0);
    assert_string_equal(r.disposition, "followup");
    assert_string_equal(r.ticket, first.ticket);
    assert_int_equal(r.complaint_id, first.complaint_id);
    assert_int_equal(count_complaints(f), 1);
    assert_int_equal(reg_int(f, "SELECT count(*) FROM message WHERE complaint_id = %lld"
                                " AND direction = 'in'",
                             (long long)first.complaint_id),
                     2);
    assert_int_equal(reg_int(f, "SELECT updated_at FROM complaint WHERE id = %lld",
                             (long long)first.complaint_id),
                     f->now);
    /* the citizen hears that the addition arrived: a second ack on the ticket */
    assert_int_equal(reg_int(f, "SELECT count(*) FROM outbox WHERE kind = 'ack'"
                                " AND complaint_id = %lld",
                             (long long)first.complaint_id),
                     2);
    assert_int_equal(reg_int(f, "SELECT count(*) FROM outbox WHERE kind = 'notice'"), notices);

    /* and the follow-up itself is deduplicated */
    assert_int_equal(reg_take(f, m, &r), 0);
    assert_string_equal(r.disposition, "duplicate");
    assert_string_equal(r.ticket, first.ticket);
    assert_int_equal(reg_int(f, "SELECT count(*) FROM message"), 2);
    aduan_msg_destroy(&m);

    /* a ticket number we never issued opens a complaint of its own */
    m = reg_intake_new("sms", "k3", CITIZEN_SMS, "Soal tiket lain");
    assert_int_equal(aduan_msg_set(&m->intake.thread_ticket, "ADU-2026-04242"), 0);
    assert_int_equal(reg_take(f, m, &r), 0);
    assert_string_equal(r.disposition, "new");
    assert_string_equal(r.ticket, "ADU-2026-00002");
    aduan_msg_destroy(&m);
}

static void test_followup_by_in_reply_to(void **state)
{
    reg_fixture_t *f = *state;
    aduan_intake_result_t first, other, r;
    reg_complaint(f, "email", "INBOX:1:1", CITIZEN_MAIL, "Pelayanan lambat", &first);
    reg_complaint(f, "email", "INBOX:1:2", "orang.lain@example.org", "Lain hal", &other);

    /* the Message-ID of the acknowledgement we queued for the first complaint */
    char mid[256];
    assert_true(reg_text(f, mid, sizeof mid,
                         "SELECT message_id FROM outbox WHERE complaint_id = %lld"
                         " AND kind = 'ack'",
                         (long long)first.complaint_id));
    assert_true(strlen(mid) > 0);

    /* a reply to it, naming an unknown message first: no ticket in the subject */
    aduan_msg_t *m = reg_intake_new("email", "INBOX:1:3", CITIZEN_MAIL, "Berkas terlampir");
    assert_int_equal(aduan_msg_set(&m->intake.subject, "Re: Pengaduan Anda"), 0);
    char list[600];
    snprintf(list, sizeof list, "unknown.1234@mail.example.org %s", mid);
    assert_int_equal(aduan_msg_set(&m->intake.in_reply_to, list), 0);
    assert_int_equal(reg_take(f, m, &r), 0);
    assert_string_equal(r.disposition, "followup");
    assert_string_equal(r.ticket, first.ticket);
    assert_int_equal(r.complaint_id, first.complaint_id);
    aduan_msg_destroy(&m);

    /* References alone do it as well */
    m = reg_intake_new("email", "INBOX:1:4", CITIZEN_MAIL, "Satu lagi");
    assert_int_equal(aduan_msg_set(&m->intake.references, mid), 0);
    assert_int_equal(reg_take(f, m, &r), 0);
    assert_string_equal(r.disposition, "followup");
    assert_string_equal(r.ticket, first.ticket);
    aduan_msg_destroy(&m);

    /* so does a reply to a message the citizen sent us (its own Message-ID) */
    m = reg_intake_new("email", "INBOX:1:5", CITIZEN_MAIL, "Koreksi");
    assert_int_equal(aduan_msg_set(&m->intake.message_ref, "first.5@example.org"), 0);
    assert_int_equal(aduan_msg_set(&m->intake.thread_ticket, other.ticket), 0);
    assert_int_equal(reg_take(f, m, &r), 0);
    assert_string_equal(r.ticket, other.ticket);
    aduan_msg_destroy(&m);
    m = reg_intake_new("email", "INBOX:1:6", CITIZEN_MAIL, "Koreksi kedua");
    assert_int_equal(aduan_msg_set(&m->intake.in_reply_to, "first.5@example.org"), 0);
    assert_int_equal(reg_take(f, m, &r), 0);
    assert_string_equal(r.disposition, "followup");
    assert_string_equal(r.ticket, other.ticket);
    aduan_msg_destroy(&m);

    /* nothing known: a new complaint */
    m = reg_intake_new("email", "INBOX:1:7", CITIZEN_MAIL, "Baru");
    assert_int_equal(aduan_msg_set(&m->intake.in_reply_to, "nobody@nowhere.example"), 0);
    assert_int_equal(reg_take(f, m, &r), 0);
    assert_string_equal(r.disposition, "new");
    aduan_msg_destroy(&m);
    assert_int_equal(count_complaints(f), 3);
}

/*  A reply to a mail of ours that belongs to no complaint (the "ticket not found" answer
    to a status query, a notice without a ticket) has nothing to join: it is a complaint
    of its own, not a database failure that rolls back the whole batch. */
static void test_reply_to_mail_without_complaint(void **state)
{
    reg_fixture_t *f = *state;
    aduan_msg_t *q = reg_intake_new("email", "INBOX:3:1", CITIZEN_MAIL, "CEK ADU-2026-00777");
    assert_int_equal(aduan_msg_set(&q->intake.intent, "status"), 0);
    assert_int_equal(aduan_msg_set(&q->intake.thread_ticket, "ADU-2026-00777"), 0);
    aduan_intake_result_t r;
    assert_int_equal(reg_take(f, q, &r), 0);
    aduan_msg_destroy(&q);
    char mid[256];
    assert_true(reg_text(f, mid, sizeof mid,
                         "SELECT message_id FROM outbox WHERE kind = 'status'"
                         " AND complaint_id IS NULL"));

    /* the citizen answers that mail with the complaint itself */
    aduan_msg_t *m = reg_intake_new("email", "INBOX:3:2", CITIZEN_MAIL,
                                    "Nomor tiket saya hilang, pengaduan: izin belum terbit");
    assert_int_equal(aduan_msg_set(&m->intake.subject, "Re: Status pengaduan"), 0);
    assert_int_equal(aduan_msg_set(&m->intake.in_reply_to, mid), 0);
    assert_int_equal(aduan_msg_set(&m->intake.references, mid), 0);
    char reason[256] = "";
    assert_int_equal(aduan_store_begin(f->store), 0);
    int rc = aduan_registry_intake(f->store, m, "p", &r, reason, sizeof reason);
    if (rc == 0)
        assert_int_equal(aduan_store_commit(f->store), 0);
    else
        aduan_store_rollback(f->store);
    aduan_msg_destroy(&m);
    assert_int_equal(rc, 0);
    assert_string_equal(r.disposition, "new");
    assert_string_equal(r.ticket, "ADU-2026-00001");
}

/* ---- status queries -------------------------------------------------------------------- */

static void test_status_known_ticket(void **state)
{
    reg_fixture_t *f = *state;
    aduan_intake_result_t first, r;
    reg_complaint(f, "sms", "k1", CITIZEN_SMS, "Izin belum terbit", &first);
    int64_t outbox = count_outbox(f);

    f->now += REG_DAY_MS;
    aduan_msg_t *m = reg_intake_new("sms", "k2", CITIZEN_SMS, "CEK ADU-2026-00001");
    assert_int_equal(aduan_msg_set(&m->intake.intent, "status"), 0);
    assert_int_equal(aduan_msg_set(&m->intake.thread_ticket, first.ticket), 0);
    assert_int_equal(reg_take(f, m, &r), 0);
    assert_string_equal(r.disposition, "status");
    assert_string_equal(r.ticket, first.ticket);
    assert_int_equal(r.complaint_id, first.complaint_id);
    assert_int_equal(count_complaints(f), 1);
    assert_int_equal(count_outbox(f), outbox + 1);

    char body[4096];
    assert_true(reg_text(f, body, sizeof body,
                         "SELECT body FROM outbox WHERE kind = 'status' AND to_addr = %Q"
                         " AND channel = 'sms' AND status = 'pending'",
                         CITIZEN_SMS));
    assert_non_null(strstr(body, first.ticket));
    assert_non_null(strstr(body, "Tercatat")); /* the state, in Bahasa Indonesia */
    /* a status query is no addition to the thread */
    assert_int_equal(reg_int(f, "SELECT count(*) FROM message"), 1);
    aduan_msg_destroy(&m);
}

static void test_status_unknown_ticket(void **state)
{
    reg_fixture_t *f = *state;
    aduan_msg_t *m = reg_intake_new("sms", "k1", CITIZEN_SMS, "CEK ADU-2026-09999");
    assert_int_equal(aduan_msg_set(&m->intake.intent, "status"), 0);
    assert_int_equal(aduan_msg_set(&m->intake.thread_ticket, "ADU-2026-09999"), 0);
    aduan_intake_result_t r;
    assert_int_equal(reg_take(f, m, &r), 0);
    assert_string_equal(r.disposition, "status");
    assert_string_equal(r.ticket, "");
    assert_int_equal(r.complaint_id, 0);
    assert_int_equal(count_complaints(f), 0);
    assert_int_equal(reg_int(f, "SELECT count(*) FROM ticket_counter"), 0);

    /* still answered: the ticket named was not found */
    assert_int_equal(count_outbox(f), 1);
    char body[4096];
    assert_true(reg_text(f, body, sizeof body,
                         "SELECT body FROM outbox WHERE kind = 'status' AND to_addr = %Q"
                         " AND complaint_id IS NULL AND status = 'pending'",
                         CITIZEN_SMS));
    assert_non_null(strstr(body, "ADU-2026-09999"));
    assert_non_null(strstr(body, "tidak ditemukan"));

    /* the retry of the query is not answered twice */
    assert_int_equal(reg_take(f, m, &r), 0);
    assert_string_equal(r.disposition, "duplicate");
    assert_int_equal(count_outbox(f), 1);
    aduan_msg_destroy(&m);
}

/*  Ticket numbers are sequential, so anyone can guess them: the state of a complaint goes
    only to the address it was filed from. The status_unknown template promises exactly
    this ("tidak ditemukan, atau tidak tercatat atas alamat ... pengirim pesan ini"). */
static void test_status_of_someone_elses_ticket(void **state)
{
    reg_fixture_t *f = *state;
    aduan_intake_result_t first, r;
    reg_complaint(f, "sms", "k1", CITIZEN_SMS, "Izin belum terbit", &first);

    aduan_msg_t *m = reg_intake_new("sms", "k2", "+6281999888777", "CEK ADU-2026-00001");
    assert_int_equal(aduan_msg_set(&m->intake.intent, "status"), 0);
    assert_int_equal(aduan_msg_set(&m->intake.thread_ticket, first.ticket), 0);
    assert_int_equal(reg_take(f, m, &r), 0);
    aduan_msg_destroy(&m);
    assert_string_equal(r.disposition, "status");
    char body[4096];
    assert_true(reg_text(f, body, sizeof body,
                         "SELECT body FROM outbox WHERE kind = 'status' AND to_addr = %Q",
                         "+6281999888777"));
    assert_null(strstr(body, "Tercatat")); /* the state is not told to a stranger */
    assert_non_null(strstr(body, "tidak ditemukan"));
}

/* ---- automatic mail and the per-sender limit ------------------------------------------ */

static void test_automatic_gets_no_ack(void **state)
{
    reg_fixture_t *f = *state;
    aduan_msg_t *m = reg_intake_new("email", "INBOX:9:1", "mailer-daemon@example.org",
                                    "Delivery Status Notification (Failure)");
    m->intake.flags = ADUAN_INTAKE_AUTOMATIC;
    aduan_intake_result_t r;
    assert_int_equal(reg_take(f, m, &r), 0);
    assert_string_equal(r.disposition, "new"); /* registered all the same */
    assert_int_equal(reg_int(f, "SELECT count(*) FROM outbox WHERE kind = 'ack'"), 0);
    assert_int_equal(reg_int(f, "SELECT count(*) FROM outbox WHERE to_addr = %Q",
                             "mailer-daemon@example.org"),
                     0);
    /* the help desk still hears of it */
    assert_int_equal(reg_int(f, "SELECT count(*) FROM outbox WHERE kind = 'notice'"), 2);
    aduan_msg_destroy(&m);

    /* nor is an automatic status query answered */
    m = reg_intake_new("email", "INBOX:9:2", "robot@example.org", "CEK");
    assert_int_equal(aduan_msg_set(&m->intake.intent, "status"), 0);
    assert_int_equal(aduan_msg_set(&m->intake.thread_ticket, r.ticket), 0);
    m->intake.flags = ADUAN_INTAKE_AUTOMATIC;
    assert_int_equal(reg_take(f, m, &r), 0);
    assert_string_equal(r.disposition, "status");
    assert_int_equal(reg_int(f, "SELECT count(*) FROM outbox WHERE to_addr = %Q",
                             "robot@example.org"),
                     0);
    aduan_msg_destroy(&m);
}

static void take_from(reg_fixture_t *f, const char *key, const char *from, int64_t *outbox_id)
{
    aduan_intake_result_t r;
    reg_complaint(f, "email", key, from, "Pengaduan berulang", &r);
    *outbox_id = reg_int(f, "SELECT id FROM outbox WHERE complaint_id = %lld AND kind = 'ack'",
                         (long long)r.complaint_id);
}

static void ack_status(reg_fixture_t *f, int64_t id, char *out, size_t outlen)
{
    assert_true(reg_text(f, out, outlen, "SELECT status FROM outbox WHERE id = %lld",
                         (long long)id));
}

static void test_auto_reply_limit(void **state)
{
    reg_fixture_t *f = *state;
    f->config->outbox.auto_replies_per_day = 2;
    int64_t a1, a2, a3, other, a4;
    char st[32];
    take_from(f, "m:1", CITIZEN_MAIL, &a1);
    f->now += 60 * 1000;
    take_from(f, "m:2", CITIZEN_MAIL, &a2);
    f->now += 60 * 1000;
    take_from(f, "m:3", CITIZEN_MAIL, &a3);
    take_from(f, "m:4", "tetangga@example.org", &other);
    ack_status(f, a1, st, sizeof st);
    assert_string_equal(st, "pending");
    ack_status(f, a2, st, sizeof st);
    assert_string_equal(st, "pending");
    ack_status(f, a3, st, sizeof st);
    assert_string_equal(st, "suppressed"); /* kept, visible, never sent */
    ack_status(f, other, st, sizeof st);
    assert_string_equal(st, "pending"); /* the limit is per sender */
    /* staff notices are not automatic replies: never suppressed */
    assert_int_equal(reg_int(f, "SELECT count(*) FROM outbox WHERE kind = 'notice'"
                                " AND status <> 'pending'"),
                     0);

    /* a suppressed row is never handed to an adapter */
    assert_int_equal(reg_int(f, "SELECT count(*) FROM outbox WHERE id = %lld"
                                " AND status IN ('pending','sending')",
                             (long long)a3),
                     0);

    /* the next day the sender is answered again */
    f->now += 25 * REG_HOUR_MS;
    take_from(f, "m:5", CITIZEN_MAIL, &a4);
    ack_status(f, a4, st, sizeof st);
    assert_string_equal(st, "pending");
}

/* ---- attachments ------------------------------------------------------------------------ */

static int files_seen;

static int count_file(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
    (void)path;
    (void)sb;
    (void)ftw;
    if (type == FTW_F)
        files_seen++;
    return 0;
}

/* Regular files under dir (temporary files left behind would count too). */
static int count_files_under(const char *dir)
{
    files_seen = 0;
    assert_int_equal(nftw(dir, count_file, 16, FTW_PHYS), 0);
    return files_seen;
}

/* Where a large content lives: <state_dir>/files/ab/cdef... (store.h). */
static void content_file(reg_fixture_t *f, const char *sha, char *path, size_t len)
{
    snprintf(path, len, "%s/files/%.2s/%s", f->dir, sha, sha + 2);
}

/* The bytes kept under sha are data, read back through the store. */
static void assert_stored(reg_fixture_t *f, const void *data, size_t size, const char *sha)
{
    char want[65];
    assert_int_equal(aduan_sha256_hex(data, size, want), 0);
    assert_string_equal(sha, want);
    size_t got_size = (size_t)-1;
    unsigned char *got = aduan_store_get_content(f->store, sha, &got_size);
    if (!got)
        fail_msg("content %s (%zu bytes) cannot be read back", sha, size);
    assert_int_equal(got_size, size);
    assert_memory_equal(got, data, size);
    free(got);
    assert_int_equal(reg_int(f, "SELECT count(*) FROM content WHERE sha256 = %Q", sha), 1);
    assert_int_equal(reg_int(f, "SELECT size FROM content WHERE sha256 = %Q", sha), size);

    /* small ones inside the database, large ones as a file named by the hash */
    char path[PATH_MAX];
    content_file(f, sha, path, sizeof path);
    struct stat st;
    if (size <= ADUAN_CONTENT_INLINE_MAX) {
        assert_int_equal(reg_int(f, "SELECT data IS NOT NULL FROM content WHERE sha256 = %Q",
                                 sha),
                         1);
        assert_int_not_equal(stat(path, &st), 0);
    } else {
        assert_int_equal(reg_int(f, "SELECT data IS NULL FROM content WHERE sha256 = %Q", sha),
                         1);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal((size_t)st.st_size, size);
        FILE *in = fopen(path, "rb");
        assert_non_null(in);
        unsigned char *buf = malloc(size + 1);
        assert_non_null(buf);
        assert_int_equal(fread(buf, 1, size + 1, in), size);
        fclose(in);
        assert_memory_equal(buf, data, size);
        free(buf);
    }
}

static void test_attachments_content_addressed(void **state)
{
    reg_fixture_t *f = *state;
    unsigned char photo[3000];
    for (size_t i = 0; i < sizeof photo; i++)
        photo[i] = (unsigned char)(i * 31 + 7); /* binary, NUL bytes included */
    static const char letter[] = "%PDF-1.4 surat pernyataan";
    size_t scan_size = ADUAN_CONTENT_INLINE_MAX + 4096; /* a scanned form: a file */
    unsigned char *scan = malloc(scan_size);
    assert_non_null(scan);
    for (size_t i = 0; i < scan_size; i++)
        scan[i] = (unsigned char)((i * 7) ^ (i >> 9));

    aduan_msg_t *m = reg_intake_new("email", "INBOX:5:1", CITIZEN_MAIL, "Foto terlampir");
    assert_int_equal(aduan_msg_attach(m, "foto jalan.jpg", "image/jpeg", photo, sizeof photo), 0);
    assert_int_equal(aduan_msg_attach(m, "surat.pdf", "application/pdf", letter,
                                      sizeof letter - 1),
                     0);
    assert_int_equal(aduan_msg_attach(m, "formulir.tiff", "image/tiff", scan, scan_size), 0);
    aduan_intake_result_t r1, r2;
    assert_int_equal(reg_take(f, m, &r1), 0);
    aduan_msg_destroy(&m);

    assert_int_equal(reg_int(f, "SELECT count(*) FROM attachment"), 3);
    char sha[80];
    assert_true(reg_text(f, sha, sizeof sha,
                         "SELECT sha256 FROM attachment WHERE name = 'foto jalan.jpg'"));
    assert_stored(f, photo, sizeof photo, sha);
    assert_int_equal(reg_int(f, "SELECT size FROM attachment WHERE name = 'foto jalan.jpg'"),
                     sizeof photo);
    assert_true(reg_text(f, sha, sizeof sha,
                         "SELECT sha256 FROM attachment WHERE name = 'surat.pdf'"));
    assert_stored(f, letter, sizeof letter - 1, sha);
    assert_true(reg_text(f, sha, sizeof sha,
                         "SELECT sha256 FROM attachment WHERE name = 'formulir.tiff'"));
    assert_stored(f, scan, scan_size, sha);

    /* the same photo and scan sent again with another complaint: more attachment rows,
       the bytes kept once */
    m = reg_intake_new("sms", "mms:1", CITIZEN_SMS, "Foto yang sama");
    assert_int_equal(aduan_msg_attach(m, "IMG_0001.jpg", "image/jpeg", photo, sizeof photo), 0);
    assert_int_equal(aduan_msg_attach(m, "scan.tiff", "image/tiff", scan, scan_size), 0);
    assert_int_equal(reg_take(f, m, &r2), 0);
    aduan_msg_destroy(&m);
    assert_string_equal(r2.disposition, "new");
    assert_int_equal(reg_int(f, "SELECT count(*) FROM attachment"), 5);
    assert_int_equal(reg_int(f, "SELECT count(DISTINCT sha256) FROM attachment"), 3);
    assert_int_equal(reg_int(f, "SELECT count(*) FROM content"), 3);
    char files[PATH_MAX];
    snprintf(files, sizeof files, "%s/files", f->dir);
    assert_int_equal(count_files_under(files), 1); /* only the large one, no temporaries */
    assert_stored(f, scan, scan_size, sha);
    free(scan);

    /* staff see them with the ticket */
    char reason[256] = "";
    json_t *args = json_pack("{s:s}", "ticket", r2.ticket);
    json_t *show = aduan_query_show(f->store, args, reason, sizeof reason);
    assert_non_null(show);
    json_t *att = json_object_get(show, "attachments");
    assert_int_equal(json_array_size(att), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(att, 0), "name")),
                        "IMG_0001.jpg");
    json_decref(show);
    json_decref(args);

    /* unknown content reads as NULL */
    size_t size = 0;
    assert_null(aduan_store_get_content(
        f->store, "0000000000000000000000000000000000000000000000000000000000000000", &size));
}

/*  An empty file attached (bus.h: empty bytes are { NULL, 0 }) is kept like any other and
    can be read back. */
static void test_empty_attachment(void **state)
{
    reg_fixture_t *f = *state;
    aduan_msg_t *m = reg_intake_new("email", "INBOX:5:9", CITIZEN_MAIL, "Lampiran kosong");
    assert_int_equal(aduan_msg_attach(m, "kosong.txt", "text/plain", NULL, 0), 0);
    assert_null(m->attachments[0].content.data);
    aduan_intake_result_t r;
    assert_int_equal(reg_take(f, m, &r), 0);
    aduan_msg_destroy(&m);
    assert_string_equal(r.disposition, "new");
    char sha[80];
    assert_true(reg_text(f, sha, sizeof sha,
                         "SELECT sha256 FROM attachment WHERE name = 'kosong.txt' AND size = 0"));
    assert_stored(f, "", 0, sha);
}

/* ---- full-text search ----------------------------------------------------------------- */

static json_t *search(reg_fixture_t *f, const char *query, char *reason, size_t rl)
{
    json_t *args = json_pack("{s:s}", "query", query);
    json_t *out = aduan_query_search(f->store, args, reason, rl);
    json_decref(args);
    return out;
}

static size_t hits(reg_fixture_t *f, const char *query)
{
    char reason[256] = "";
    json_t *out = search(f, query, reason, sizeof reason);
    if (!out)
        fail_msg("search [%s] failed: %s", query, reason);
    json_t *items = json_object_get(out, "items");
    assert_true(json_is_array(items));
    size_t n = json_array_size(items);
    json_decref(out);
    return n;
}

static void test_search(void **state)
{
    reg_fixture_t *f = *state;
    aduan_intake_result_t a, b;
    reg_complaint(f, "email", "s:1", CITIZEN_MAIL,
                  "Mohon perbaikan jalan menuju kantor kecamatan yang rusak parah", &a);
    reg_complaint(f, "sms", "s:2", CITIZEN_SMS, "Izin mendirikan bangunan belum selesai", &b);

    char reason[256] = "";
    json_t *out = search(f, "perbaik*", reason, sizeof reason);
    assert_non_null(out);
    json_t *items = json_object_get(out, "items");
    assert_int_equal(json_array_size(items), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(items, 0), "ticket")),
                        a.ticket);
    json_decref(out);

    /* no stemmer: the bare stem alone does not match, the whole word does, in any case */
    assert_int_equal(hits(f, "perbaik"), 0);
    assert_int_equal(hits(f, "PERBAIKAN"), 1);
    assert_int_equal(hits(f, "bangunan"), 1);
    assert_int_equal(hits(f, "jalan kantor"), 1); /* every word must be there */
    assert_int_equal(hits(f, "jalan bangunan"), 0);

    /* what a clerk types is never FTS syntax: quotes and operators are plain text */
    static const char *const odd[] = {
        "\"perbaikan",  "perbaikan\"", "\"",        "\"\"",       "jalan OR",  "AND",
        "NOT jalan",    "NEAR(jalan",  "jalan)",    "-jalan",     "body:jalan", "^jalan",
        "*",            "**",          "\"*",       "jalan +",    "'",          "a\"b*",
        "{subject}: x", "perbaik* OR *",
    };
    for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++) {
        reason[0] = '\0';
        out = search(f, odd[i], reason, sizeof reason);
        if (!out)
            fail_msg("search [%s] failed: %s", odd[i], reason);
        assert_true(json_is_array(json_object_get(out, "items")));
        json_decref(out);
    }
    assert_int_equal(hits(f, "\"perbaikan"), 1); /* a stray quote does not hide the word */
    assert_int_equal(hits(f, "jalan OR"), 0);    /* OR is a word here, not an operator */

    /* a follow-up that matches too: the ticket comes once, the newest match first */
    aduan_intake_result_t r;
    aduan_msg_t *m = reg_intake_new("email", "s:3", CITIZEN_MAIL, "Jalan masih rusak, mohon");
    assert_int_equal(aduan_msg_set(&m->intake.thread_ticket, a.ticket), 0);
    assert_int_equal(reg_take(f, m, &r), 0);
    aduan_msg_destroy(&m);
    reg_complaint(f, "sms", "s:4", CITIZEN_SMS, "Jalan desa berlubang", &r);
    out = search(f, "jalan", reason, sizeof reason);
    items = json_object_get(out, "items");
    assert_int_equal(json_array_size(items), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(items, 0), "ticket")),
                        r.ticket);
    assert_string_equal(json_string_value(json_object_get(json_array_get(items, 1), "ticket")),
                        a.ticket);
    json_decref(out);

    /* nothing to search for is a refusal with a reason, not an error of SQL */
    reason[0] = '\0';
    assert_null(search(f, "   ", reason, sizeof reason));
    assert_true(strlen(reason) > 0);
}

/* A prefix is read as the OR of the indexed words that start with it (search.h): the same
   tickets FTS5's own prefix finds, newest first, without merging every word's list. */
static void test_search_prefix_words(void **state)
{
    reg_fixture_t *f = *state;
    aduan_intake_result_t r;
    reg_complaint(f, "email", "p:1", CITIZEN_MAIL, "Mohon perbaikan jalan desa", &r);
    reg_complaint(f, "sms", "p:2", CITIZEN_SMS, "Lampu belum DIPERBAIKI, tolong Perbaiki", &r);
    reg_complaint(f, "sms", "p:3", "+6281300000003", "Perbaikannya kapan? Hubungi 081234567",
                  &r);
    reg_complaint(f, "sms", "p:4", "+6281300000004", "P\xc3\xa9rbaikan atap e-KTP", &r);
    assert_true(aduan_store_index_pending(f->store) >= 0);

    static const struct {
        const char *typed, *query;
    } means[] = {
        /* diacritics and case folded as the index folds them; 'diperbaiki' is not one */
        {"perbaik*", "(\"perbaikan\" OR \"perbaikannya\" OR \"perbaiki\")"},
        {"jalan Perbaikan*", "\"jalan\" AND (\"perbaikan\" OR \"perbaikannya\")"},
        /* left to FTS5: a number, a phrase, a prefix no word has */
        {"0812*", "\"0812\"*"},
        {"e-kt*", "\"e-kt\"*"},
        {"zzz*", "\"zzz\"*"},
        {"perbaikan", "\"perbaikan\""},
    };
    for (size_t i = 0; i < sizeof means / sizeof means[0]; i++) {
        char *query = aduan_search_query(f->store, means[i].typed);
        assert_non_null(query);
        if (strcmp(query, means[i].query) != 0)
            fail_msg("[%s] became [%s], not [%s]", means[i].typed, query, means[i].query);
        free(query);
    }
    assert_int_equal(reg_int(f, "SELECT count(*) FROM search_term WHERE term GLOB '[0-9]*'"),
                     0);
    /* the same tickets as FTS5's own prefix */
    assert_int_equal(hits(f, "perbaik*"), 4);
    assert_int_equal(reg_int(f, "SELECT count(*) FROM message_fts"
                                " WHERE message_fts MATCH '\"perbaik\"*'"), 4);
    assert_int_equal(hits(f, "0812*"), 1);
    assert_int_equal(hits(f, "e-kt*"), 1);

    /* a word that came after the last index run is found: searching indexes it first */
    reg_complaint(f, "sms", "p:5", "+6281300000005", "tolong perbaikin lampunya", &r);
    assert_int_equal(hits(f, "perbaik*"), 5);

    /* more words than ADUAN_SEARCH_PREFIX_WORDS: FTS5 takes the prefix itself */
    char text[ADUAN_SEARCH_PREFIX_WORDS * 6 + 8] = "", word[8];
    for (int i = 0; i <= ADUAN_SEARCH_PREFIX_WORDS; i++) {
        snprintf(word, sizeof word, "kx%c%c ", 'a' + i / 26, 'a' + i % 26);
        strcat(text, word);
    }
    reg_complaint(f, "sms", "p:6", "+6281300000006", text, &r);
    assert_true(aduan_store_index_pending(f->store) >= 0);
    char *query = aduan_search_query(f->store, "kx*");
    assert_string_equal(query, "\"kx\"*");
    free(query);
    assert_int_equal(hits(f, "kx*"), 1);
    assert_int_equal(hits(f, "kxa*"), 1); /* 26 words: read through the list */
    /* the last 13 words (kxca..kxcm), in the index's order */
    char expected[256] = "(";
    for (int i = 2 * 26; i <= ADUAN_SEARCH_PREFIX_WORDS; i++) {
        snprintf(word, sizeof word, "\"kxc%c\"", 'a' + i % 26);
        strcat(expected, i > 2 * 26 ? " OR " : "");
        strcat(expected, word);
    }
    strcat(expected, ")");
    query = aduan_search_query(f->store, "kxc*");
    assert_string_equal(query, expected);
    free(query);
}

/* ---- events ------------------------------------------------------------------------------ */

/* Takes one intake in its own transaction and returns the events it left (caller frees). */
static aduan_event_t *take_with_events(reg_fixture_t *f, const aduan_msg_t *m,
                                       aduan_intake_result_t *r)
{
    char reason[256];
    assert_int_equal(aduan_store_begin(f->store), 0);
    assert_int_equal(aduan_registry_intake(f->store, m, "p", r, reason, sizeof reason), 0);
    assert_int_equal(aduan_store_commit(f->store), 0);
    return aduan_store_take_events(f->store);
}

static int event_count(const aduan_event_t *ev)
{
    int n = 0;
    for (; ev; ev = ev->next)
        n++;
    return n;
}

static void test_events(void **state)
{
    reg_fixture_t *f = *state;
    aduan_intake_result_t r, first;
    aduan_msg_t *m = reg_intake_new("sms", "e:1", CITIZEN_SMS, "Izin belum terbit");
    aduan_event_t *ev = take_with_events(f, m, &first);
    assert_int_equal(event_count(ev), 1);
    assert_string_equal(ev->topic, "ticket.new");
    assert_string_equal(ev->ticket, first.ticket);
    json_t *detail = json_loads(ev->detail, 0, NULL);
    assert_non_null(detail);
    assert_string_equal(json_string_value(json_object_get(detail, "channel")), "sms");
    const char *from = json_string_value(json_object_get(detail, "from"));
    assert_non_null(from);
    assert_string_not_equal(from, CITIZEN_SMS); /* watchers see a masked number */
    assert_null(strstr(ev->detail, CITIZEN_SMS));
    json_decref(detail);
    aduan_event_list_free(&ev);

    /* a duplicate changes nothing, so it tells nothing */
    ev = take_with_events(f, m, &r);
    assert_null(ev);
    aduan_msg_destroy(&m);

    m = reg_intake_new("sms", "e:2", CITIZEN_SMS, "Tambahan");
    assert_int_equal(aduan_msg_set(&m->intake.thread_ticket, first.ticket), 0);
    ev = take_with_events(f, m, &r);
    assert_int_equal(event_count(ev), 1);
    assert_string_equal(ev->topic, "ticket.followup");
    assert_string_equal(ev->ticket, first.ticket);
    aduan_event_list_free(&ev);
    aduan_msg_destroy(&m);

    m = reg_intake_new("sms", "e:3", CITIZEN_SMS, "");
    assert_int_equal(aduan_msg_set(&m->intake.quarantine_reason, "UDH rusak"), 0);
    ev = take_with_events(f, m, &r);
    assert_int_equal(event_count(ev), 1);
    assert_string_equal(ev->topic, "quarantine.new");
    aduan_event_list_free(&ev);
    aduan_msg_destroy(&m);

    /* what was rolled back was never there: no event either */
    m = reg_intake_new("sms", "e:4", CITIZEN_SMS, "Batal");
    char reason[256];
    assert_int_equal(aduan_store_begin(f->store), 0);
    assert_int_equal(aduan_registry_intake(f->store, m, "p", &r, reason, sizeof reason), 0);
    aduan_store_rollback(f->store);
    assert_null(aduan_store_take_events(f->store));
    aduan_msg_destroy(&m);

    /* in a batch, an item refused for good leaves no event and no trace behind */
    aduan_msg_t *a = reg_intake_new("sms", "e:5", CITIZEN_SMS, "satu");
    aduan_msg_t *b = reg_intake_new("sms", "e:6", CITIZEN_SMS, "dua");
    aduan_msg_t *c = reg_intake_new("sms", "e:7", CITIZEN_SMS, "tiga");
    aduan_msg_set(&b->intake.intent, "bogus"); /* the bus would refuse it; here it gets in */
    aduan_intake_result_t ra, rc;
    assert_int_equal(aduan_store_begin(f->store), 0);
    assert_int_equal(aduan_registry_intake(f->store, a, "p", &ra, reason, sizeof reason), 0);
    assert_int_equal(aduan_registry_intake(f->store, b, "p", &r, reason, sizeof reason), -1);
    assert_non_null(strstr(reason, "bogus"));
    assert_int_equal(aduan_registry_intake(f->store, c, "p", &rc, reason, sizeof reason), 0);
    assert_int_equal(aduan_store_commit(f->store), 0);
    ev = aduan_store_take_events(f->store);
    assert_int_equal(event_count(ev), 2);
    assert_string_equal(ev->ticket, ra.ticket);
    assert_string_equal(ev->next->ticket, rc.ticket);
    aduan_event_list_free(&ev);
    assert_int_equal(reg_int(f, "SELECT count(*) FROM intake WHERE dedupe_key = 'e:6'"), 0);
    aduan_msg_destroy(&a);
    aduan_msg_destroy(&b);
    aduan_msg_destroy(&c);
}

/* ---- schema ------------------------------------------------------------------------------ */

/* The registry file opened by SQLite alone, as an older Aduan or another tool would. */
static sqlite3 *raw_registry(reg_fixture_t *f)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/registry.db", f->dir);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    return db;
}

/* The one integer a query of the raw registry file answers. */
static int raw_int(reg_fixture_t *f, const char *sql)
{
    sqlite3 *db = raw_registry(f);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int value = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return value;
}

/* The store refuses to open the registry; its reason is left in reason. */
static void assert_open_refused(reg_fixture_t *f, char *reason, size_t reasonlen)
{
    aduan_store_t *store = (aduan_store_t *)reason; /* must be reset to NULL */
    assert_int_equal(aduan_store_open(f->dir, f->config, &f->clock, &store, reason, reasonlen),
                     -1);
    assert_null(store);
}

static void test_schema_newer_refused(void **state)
{
    reg_fixture_t *f = *state;
    sqlite3 *db = raw_registry(f);
    assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);

    char reason[512] = "";
    assert_open_refused(f, reason, sizeof reason);
    assert_non_null(strstr(reason, "99"));
    assert_non_null(strstr(reason, "version"));

    /* and it was not touched */
    assert_int_equal(raw_int(f, "PRAGMA user_version"), 99);
    assert_int_equal(raw_int(f, "SELECT count(*) FROM sqlite_master"), 0);
}

static void test_schema_current_reopens(void **state)
{
    reg_fixture_t *f = *state;
    assert_int_equal(reg_int(f, "PRAGMA user_version"), (int)aduan_schema_migration_count());
    char mode[32];
    assert_true(reg_text(f, mode, sizeof mode, "PRAGMA journal_mode"));
    assert_string_equal(mode, "wal");
    assert_int_equal(reg_int(f, "PRAGMA synchronous"), 2); /* FULL */
    reg_close(f);
    reg_open(f);
    assert_int_equal(reg_int(f, "PRAGMA user_version"), (int)aduan_schema_migration_count());
}

/* A registry as schema `version` left it, holding rows, closed. */
static void write_registry_at(reg_fixture_t *f, int version, const char *rows)
{
    sqlite3 *db = raw_registry(f);
    char *err = NULL, sql[64];
    for (size_t v = 0; v < (size_t)version; v++)
        if (sqlite3_exec(db, aduan_schema_migration(v), NULL, NULL, &err) != SQLITE_OK)
            fail_msg("migration %zu: %s", v + 1, err);
    if (sqlite3_exec(db, rows, NULL, NULL, &err) != SQLITE_OK)
        fail_msg("a schema %d registry: %s", version, err);
    snprintf(sql, sizeof sql, "PRAGMA user_version = %d", version);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

/* A registry written by schema 7 (an office that upgrades): migration 8 copies intake and
   outbox to change their CHECKs. Every row stays, with the same id, so the calls that
   invited a caller by SMS still find their outbox item; the counts, the indexes and the
   triggers are back; the rules still refuse what they refused. */
static void test_schema_migrates_a_7_registry(void **state)
{
    reg_fixture_t *f = *state;
    const char *rows =
        "INSERT INTO complaint(id, ticket, channel, from_addr, received_at, state, updated_at)"
        "  VALUES (1, 'ADU-2026-00001', 'phone', '+6281234567890', 1, 'registered', 1),"
        "         (2, 'ADU-2026-00002', 'email', 'budi@example.id', 2, 'registered', 2);"
        "INSERT INTO intake(channel, dedupe_key, complaint_id, disposition, received_at)"
        "  VALUES ('phone', 'c:1', 1, 'new', 1), ('email', 'm:1', 2, 'new', 2),"
        "         ('email', 'm:2', NULL, 'bounce', 3);"
        "INSERT INTO outbox(id, complaint_id, kind, channel, to_addr, body, message_id,"
        "  automatic, status, next_attempt_at, created_at) VALUES"
        "  (10, 1, 'ack', 'sms', '+6281234567890', 'Terima kasih', 'a1', 1, 'sent', 0, 1),"
        "  (11, 2, 'ack', 'email', 'budi@example.id', 'Terima kasih', 'a2', 1, 'pending', 0, 2),"
        "  (12, 2, 'notice', 'email', 'sari@example.id', 'Baru', 'n2', 0, 'failed', 0, 2);"
        "INSERT INTO call_log(record, at, logged_at, from_addr, status, mobile, invite_outbox_id)"
        "  VALUES ('r1', 1, 1, '+6281234567890', 'answered', 1, 10);";
    write_registry_at(f, 7, rows);

    reg_open(f);
    assert_int_equal(reg_int(f, "PRAGMA user_version"), (int)aduan_schema_migration_count());
    assert_int_equal(reg_int(f, "PRAGMA foreign_keys"), 1);
    assert_int_equal(reg_int(f, "SELECT count(*) FROM intake"), 3);
    assert_int_equal(reg_int(f, "SELECT count(*) FROM outbox"), 3);
    assert_int_equal(reg_int(f, "SELECT count(*) FROM call_log l JOIN outbox o"
                                " ON o.id = l.invite_outbox_id AND o.message_id = 'a1'"), 1);
    assert_int_equal(reg_int(f, "SELECT count(*) FROM pragma_foreign_key_check"), 0);
    /* the rules are comparisons now (no temporary b-tree per statement) */
    assert_int_equal(reg_int(f, "SELECT count(*) FROM sqlite_master WHERE name IN"
                                " ('intake', 'outbox') AND sql LIKE '%%CHECK (%% IN %%'"), 0);
    assert_int_equal(reg_int(f, "SELECT count(*) FROM sqlite_master WHERE tbl_name = 'outbox'"
                                " AND type IN ('index', 'trigger')"), 7);
    /* the due index answers for the pending item alone */
    assert_int_equal(reg_int(f, "SELECT count(*) FROM outbox INDEXED BY outbox_due"
                                " WHERE channel = 'email' AND status IN ('pending','sending')"),
                     1);
    char sql_err[256] = "";
    assert_int_equal(reg_exec(f, "UPDATE outbox SET status = 'sent' WHERE id = 11", sql_err,
                              sizeof sql_err), SQLITE_OK);
    assert_int_equal(reg_int(f, "SELECT count FROM outbox_tally"
                                " WHERE channel = 'email' AND status = 'sent'"), 1);
    assert_int_equal(reg_int(f, "SELECT count FROM outbox_tally"
                                " WHERE channel = 'email' AND status = 'pending'"), 0);
    assert_int_equal(reg_exec(f, "UPDATE outbox SET status = 'lost' WHERE id = 11", sql_err,
                              sizeof sql_err), SQLITE_CONSTRAINT);
    assert_int_equal(reg_exec(f, "UPDATE outbox SET kind = 'spam' WHERE id = 11", sql_err,
                              sizeof sql_err), SQLITE_CONSTRAINT);
    assert_int_equal(reg_exec(f, "UPDATE intake SET disposition = 'maybe' WHERE id = 1",
                              sql_err, sizeof sql_err), SQLITE_CONSTRAINT);
    assert_int_equal(reg_exec(f, "DELETE FROM outbox WHERE id = 10", sql_err, sizeof sql_err),
                     SQLITE_CONSTRAINT); /* a call still refers to it */
}

/* A registry written by schema 8 holds an index but not its words: migration 9 takes them
   from the index itself, without the words that start with a digit, and a prefix is read
   through them at once. */
static void test_schema_migrates_words_of_an_8_registry(void **state)
{
    reg_fixture_t *f = *state;
    write_registry_at(
        f, 8,
        "INSERT INTO complaint(id, ticket, channel, from_addr, received_at, state, updated_at)"
        "  VALUES (1, 'ADU-2026-00001', 'sms', '+6281234567890', 1, 'registered', 1);"
        "INSERT INTO message(id, complaint_id, direction, at, channel, subject, body) VALUES"
        "  (1, 1, 'in', 1, 'sms', 'Izin', 'Perbaikan jalan 0812'),"
        "  (2, 1, 'out', 2, 'sms', '', 'Pemberitahuan');"
        "INSERT INTO message_fts(rowid, subject, body)"
        "  SELECT id, subject, body FROM message WHERE direction = 'in';"
        "UPDATE search_progress SET indexed_upto = 2;");
    reg_open(f);
    assert_int_equal(reg_int(f, "SELECT count(*) FROM search_term"), 3);
    assert_int_equal(reg_int(f, "SELECT count(*) FROM search_term"
                                " WHERE term IN ('izin', 'perbaikan', 'jalan')"), 3);
    char *query = aduan_search_query(f->store, "perbaik*");
    assert_string_equal(query, "(\"perbaikan\")");
    free(query);
    assert_int_equal(hits(f, "perbaik*"), 1);
}

/* A reference already broken before the upgrade (a row changed by hand with foreign keys
   off): migration 8 is refused, with the row named, and the registry is left as it was
   rather than copied over it. */
static void test_schema_migration_refused_on_a_broken_reference(void **state)
{
    reg_fixture_t *f = *state;
    write_registry_at(f, 7,
                      "INSERT INTO call_log(record, at, logged_at, status, invite_outbox_id)"
                      "  VALUES ('r1', 1, 1, 'missed', 99);");
    char reason[512] = "";
    assert_open_refused(f, reason, sizeof reason);
    assert_non_null(strstr(reason, "schema version 8"));
    assert_non_null(strstr(reason, "call_log row 1 refers to a missing outbox row"));
    assert_int_equal(raw_int(f, "PRAGMA user_version"), 7);
    assert_int_equal(raw_int(f, "SELECT count(*) FROM sqlite_master WHERE name = 'outbox_v8'"),
                     0);
}

/* ---- what cannot be taken ------------------------------------------------------------ */

/* ---- the SMS follow-up window ----------------------------------------------------------- */

static void test_sms_window_followup(void **state)
{
    reg_fixture_t *f = *state;
    f->config->sms.followup_window_s = 3600;
    aduan_intake_result_t r1, r2, r3, other;
    aduan_msg_t *m = reg_intake_new("sms", "w:1", CITIZEN_SMS, "Izin usaha saya belum terbit");
    assert_int_equal(reg_take(f, m, &r1), 0);
    aduan_msg_destroy(&m);
    assert_string_equal(r1.disposition, "new");

    /* the rest of the thought, ten minutes later: the same ticket */
    f->now += 10 * 60 * 1000;
    m = reg_intake_new("sms", "w:2", CITIZEN_SMS, "nomor berkas 123/IU/2026");
    assert_int_equal(reg_take(f, m, &r2), 0);
    aduan_msg_destroy(&m);
    assert_string_equal(r2.disposition, "followup");
    assert_string_equal(r2.ticket, r1.ticket);

    /* another number at the same time is another complaint */
    m = reg_intake_new("sms", "w:3", "+6281399988877", "Jalan rusak di depan kantor desa");
    assert_int_equal(reg_take(f, m, &other), 0);
    aduan_msg_destroy(&m);
    assert_string_equal(other.disposition, "new");

    /* more than the window after the last message: a new complaint */
    f->now += 3601 * 1000;
    m = reg_intake_new("sms", "w:4", CITIZEN_SMS, "Antrian loket lama sekali");
    assert_int_equal(reg_take(f, m, &r3), 0);
    aduan_msg_destroy(&m);
    assert_string_equal(r3.disposition, "new");
    assert_string_not_equal(r3.ticket, r1.ticket);

    /* email threads by its headers only */
    m = reg_intake_new("email", "e:1", CITIZEN_MAIL, "Pertama");
    assert_int_equal(reg_take(f, m, &r1), 0);
    aduan_msg_destroy(&m);
    m = reg_intake_new("email", "e:2", CITIZEN_MAIL, "Kedua");
    assert_int_equal(reg_take(f, m, &r2), 0);
    aduan_msg_destroy(&m);
    assert_string_equal(r2.disposition, "new");
}

/* ---- bounces ---------------------------------------------------------------------------- */

static void test_bounce_fails_its_outbox_row(void **state)
{
    reg_fixture_t *f = *state;
    aduan_intake_result_t r, b;
    aduan_msg_t *m = reg_intake_new("email", "b:1", CITIZEN_MAIL, "Pelayanan lambat");
    assert_int_equal(reg_take(f, m, &r), 0);
    aduan_msg_destroy(&m);
    char mid[160], sql[128];
    assert_true(reg_text(f, mid, sizeof mid, "SELECT message_id FROM outbox WHERE kind = 'ack'"));
    int64_t ack_id = reg_int(f, "SELECT id FROM outbox WHERE kind = 'ack'");
    snprintf(sql, sizeof sql, "UPDATE outbox SET status = 'sent', attempts = 1 WHERE id = %lld",
             (long long)ack_id);
    reg_exec_ok(f, sql);
    int64_t notices = reg_int(f, "SELECT count(*) FROM outbox WHERE kind = 'notice'");

    m = reg_intake_new("email", "b:2", "MAILER-DAEMON@example.org", "5.1.1 user unknown");
    assert_int_equal(aduan_msg_set(&m->intake.intent, "bounce"), 0);
    char ids[256];
    snprintf(ids, sizeof ids, "unrelated@elsewhere %s", mid);
    assert_int_equal(aduan_msg_set(&m->intake.in_reply_to, ids), 0);
    m->intake.flags |= ADUAN_INTAKE_AUTOMATIC;
    assert_int_equal(reg_take(f, m, &b), 0);
    assert_string_equal(b.disposition, "bounce");
    assert_string_equal(b.ticket, r.ticket);
    assert_int_equal(reg_int(f, "SELECT count(*) FROM outbox WHERE id = %lld AND status ="
                                " 'failed' AND last_error LIKE '%%5.1.1 user unknown%%'",
                             (long long)ack_id),
                     1);
    /* the help desk hears of the failed acknowledgement; the bounce gets no reply */
    assert_true(reg_int(f, "SELECT count(*) FROM outbox WHERE kind = 'notice'") > notices);
    assert_int_equal(reg_int(f, "SELECT count(*) FROM outbox WHERE to_addr LIKE 'MAILER%%'"), 0);
    assert_int_equal(count_complaints(f), 1);

    /* the same report again is a duplicate; one naming nothing of ours is quarantined */
    assert_int_equal(reg_take(f, m, &b), 0);
    assert_string_equal(b.disposition, "duplicate");
    aduan_msg_destroy(&m);
    m = reg_intake_new("email", "b:3", "MAILER-DAEMON@example.org", "5.1.1 user unknown");
    assert_int_equal(aduan_msg_set(&m->intake.intent, "bounce"), 0);
    assert_int_equal(aduan_msg_set(&m->intake.in_reply_to, "not-ours@example.org"), 0);
    assert_int_equal(reg_take(f, m, &b), 0);
    assert_string_equal(b.disposition, "bounce");
    assert_int_equal(reg_int(f, "SELECT count(*) FROM quarantine"), 1);
    aduan_msg_destroy(&m);
}

static void test_unknown_intent_refused(void **state)
{
    reg_fixture_t *f = *state;
    aduan_msg_t *m = reg_intake_new("sms", "k1", CITIZEN_SMS, "halo");
    assert_int_equal(aduan_msg_set(&m->intake.intent, "spam"), 0);
    aduan_intake_result_t r;
    char reason[256] = "";
    assert_int_equal(aduan_store_begin(f->store), 0);
    assert_int_equal(aduan_registry_intake(f->store, m, "p", &r, reason, sizeof reason), -1);
    aduan_store_rollback(f->store);
    assert_non_null(strstr(reason, "spam"));
    assert_int_equal(count_complaints(f), 0);
    aduan_msg_destroy(&m);
}

/* The count of one group in a stats array: rows[i][key] == value; -1 when it is absent. */
static int64_t stats_count(const json_t *rows, const char *key, const char *value,
                           const char *key2, const char *value2)
{
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row) {
        if (strcmp(json_string_value(json_object_get(row, key)), value) == 0 &&
            (!key2 || strcmp(json_string_value(json_object_get(row, key2)), value2) == 0))
            return json_integer_value(json_object_get(row, "count"));
    }
    return -1;
}

/*  stats reads counts the triggers keep (schema 7), not the rows: after intakes on two
    channels, a state changed, outbox rows handed out, sent and one deleted, every count is
    the one a GROUP BY over the rows gives, and no group is listed that has no row. */
static void test_stats_counts_follow_the_rows(void **state)
{
    reg_fixture_t *f = *state;
    aduan_intake_result_t r;
    char key[32], from[32];
    for (int i = 0; i < 5; i++) {
        snprintf(key, sizeof key, "k%d", i);
        snprintf(from, sizeof from, i < 3 ? "+62812000000%d" : "warga%d@example.org", i);
        reg_complaint(f, i < 3 ? "sms" : "email", key, from, "Jalan rusak di desa", &r);
    }
    char err[256] = "";
    assert_int_equal(reg_exec(f,
                              "UPDATE complaint SET state = 'review' WHERE id = 1;"
                              "UPDATE outbox SET status = 'sending' WHERE id IN (1, 2);"
                              "UPDATE outbox SET status = 'sent' WHERE id = 2;"
                              "UPDATE outbox SET channel = 'sms' WHERE id = 4;"
                              "DELETE FROM outbox WHERE id = 3;",
                              err, sizeof err),
                     SQLITE_OK);

    char reason[256] = "";
    json_t *stats = aduan_query_stats(f->store, NULL, reason, sizeof reason);
    assert_non_null(stats);
    assert_int_equal(json_integer_value(json_object_get(stats, "complaints")), 5);
    assert_int_equal(json_integer_value(json_object_get(stats, "intakes")), 5);
    assert_int_equal(json_integer_value(json_object_get(stats, "outbox_waiting")),
                     reg_int(f, "SELECT count(*) FROM outbox WHERE status IN"
                                " ('pending','sending')"));
    /* five messages in and no index run yet (nobody searched) */
    assert_int_equal(json_integer_value(json_object_get(stats, "search_index_behind")), 5);

    const json_t *by_status = json_object_get(stats, "by_status");
    assert_int_equal(json_array_size(by_status),
                     reg_int(f, "SELECT count(DISTINCT state) FROM complaint"));
    assert_int_equal(stats_count(by_status, "status", "review", NULL, NULL), 1);
    assert_int_equal(stats_count(by_status, "status", "recorded", NULL, NULL), 4);
    const json_t *by_channel = json_object_get(stats, "by_channel");
    assert_int_equal(json_array_size(by_channel), 2);
    assert_int_equal(stats_count(by_channel, "channel", "sms", NULL, NULL), 3);
    assert_int_equal(stats_count(by_channel, "channel", "email", NULL, NULL), 2);

    const json_t *outbox = json_object_get(stats, "outbox");
    assert_int_equal(json_array_size(outbox),
                     reg_int(f, "SELECT count(*) FROM (SELECT DISTINCT channel, status"
                                " FROM outbox)"));
    size_t i;
    json_t *row;
    json_array_foreach(outbox, i, row) {
        const char *channel = json_string_value(json_object_get(row, "channel"));
        const char *status = json_string_value(json_object_get(row, "status"));
        assert_int_equal(stats_count(outbox, "channel", channel, "status", status),
                         reg_int(f, "SELECT count(*) FROM outbox WHERE channel = %Q"
                                    " AND status = %Q", channel, status));
        /* the oldest is told of what still waits only */
        bool waiting = strcmp(status, "pending") == 0 || strcmp(status, "sending") == 0;
        assert_int_equal(json_is_string(json_object_get(row, "oldest")), waiting);
    }
    json_decref(stats);

    /* an index run takes them; what we send is not indexed, so never counted */
    assert_int_equal(aduan_store_index_pending(f->store), 5);
    assert_int_equal(reg_exec(f,
                              "INSERT INTO message(complaint_id, direction, at, channel, body)"
                              "  VALUES (1, 'out', 1, 'sms', 'Terima kasih')",
                              err, sizeof err),
                     SQLITE_OK);
    stats = aduan_query_stats(f->store, NULL, reason, sizeof reason);
    assert_non_null(stats);
    assert_int_equal(json_integer_value(json_object_get(stats, "search_index_behind")), 0);
    json_decref(stats);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_same_key_is_duplicate, reg_setup, reg_teardown),
        cmocka_unit_test_setup_teardown(test_same_key_in_one_transaction, reg_setup,
                                        reg_teardown),
        cmocka_unit_test_setup_teardown(test_same_key_other_channel_is_new, reg_setup,
                                        reg_teardown),
        cmocka_unit_test_setup_teardown(test_quarantine, reg_setup, reg_teardown),
        cmocka_unit_test_setup_teardown(test_followup_by_thread_ticket, reg_setup, reg_teardown),
        cmocka_unit_test_setup_teardown(test_followup_by_in_reply_to, reg_setup, reg_teardown),
        cmocka_unit_test_setup_teardown(test_reply_to_mail_without_complaint, reg_setup,
                                        reg_teardown),
        cmocka_unit_test_setup_teardown(test_status_known_ticket, reg_setup, reg_teardown),
        cmocka_unit_test_setup_teardown(test_status_unknown_ticket, reg_setup, reg_teardown),
        cmocka_unit_test_setup_teardown(test_status_of_someone_elses_ticket, reg_setup,
                                        reg_teardown),
        cmocka_unit_test_setup_teardown(test_automatic_gets_no_ack, reg_setup, reg_teardown),
        cmocka_unit_test_setup_teardown(test_auto_reply_limit, reg_setup, reg_teardown),
        cmocka_unit_test_setup_teardown(test_attachments_content_addressed, reg_setup,
                                        reg_teardown),
        cmocka_unit_test_setup_teardown(test_search, reg_setup, reg_teardown),
        cmocka_unit_test_setup_teardown(test_search_prefix_words, reg_setup, reg_teardown),
        cmocka_unit_test_setup_teardown(test_events, reg_setup, reg_teardown),
        cmocka_unit_test_setup_teardown(test_schema_newer_refused, reg_setup_closed,
                                        reg_teardown),
        cmocka_unit_test_setup_teardown(test_schema_current_reopens, reg_setup, reg_teardown),
        cmocka_unit_test_setup_teardown(test_schema_migrates_a_7_registry, reg_setup_closed,
                                        reg_teardown),
        cmocka_unit_test_setup_teardown(test_schema_migrates_words_of_an_8_registry,
                                        reg_setup_closed, reg_teardown),
        cmocka_unit_test_setup_teardown(test_schema_migration_refused_on_a_broken_reference,
                                        reg_setup_closed, reg_teardown),
        cmocka_unit_test_setup_teardown(test_unknown_intent_refused, reg_setup, reg_teardown),
        cmocka_unit_test_setup_teardown(test_sms_window_followup, reg_setup, reg_teardown),
        cmocka_unit_test_setup_teardown(test_bounce_fails_its_outbox_row, reg_setup,
                                        reg_teardown),
        cmocka_unit_test_setup_teardown(test_empty_attachment, reg_setup, reg_teardown),
        cmocka_unit_test_setup_teardown(test_stats_counts_follow_the_rows, reg_setup,
                                        reg_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
