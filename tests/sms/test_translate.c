/*  test_translate.c - the SMS channel's pure translation: parts -> intake fields, keywords,
    E.164, non-citizen senders, decoding (7-bit, UCS-2 with an emoji over a part boundary,
    8-bit), missing parts, the dedupe key, the encoding chosen for sending, and the spill
    files written and read back through Gammu's backup format. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "phone.h"
#include "spill.h"
#include "translate.h"

static const sms_translate_opts_t opts = {
    .identity = "999999999999999", .status_keywords = "CEK, Status", .ticket_prefix = "ADU"};

static GSM_MultiSMSMessage *multi_new(void)
{
    GSM_MultiSMSMessage *m = calloc(1, sizeof *m);
    assert_non_null(m);
    return m;
}

/* ---- numbers and senders ---------------------------------------------------------------- */

static void test_e164(void **state)
{
    (void)state;
    char out[64];
    assert_int_equal(sms_e164("081234567890", out, sizeof out), 0);
    assert_string_equal(out, "+6281234567890");
    assert_int_equal(sms_e164("6281234567890", out, sizeof out), 0);
    assert_string_equal(out, "+6281234567890");
    assert_int_equal(sms_e164("+62 812-3456-7890", out, sizeof out), 0);
    assert_string_equal(out, "+6281234567890");
    assert_int_equal(sms_e164("006281234567890", out, sizeof out), 0);
    assert_string_equal(out, "+6281234567890");
    assert_int_equal(sms_e164("+31201234567", out, sizeof out), 0);
    assert_string_equal(out, "+31201234567");
    assert_int_equal(sms_e164("TELKOMSEL", out, sizeof out), -1);
    assert_string_equal(out, "TELKOMSEL");
    assert_int_equal(sms_e164("3636", out, sizeof out), -1);
    assert_string_equal(out, "3636");
    assert_int_equal(sms_e164("", out, sizeof out), -1);
    assert_string_equal(out, "");
}

static void test_automatic_senders(void **state)
{
    (void)state;
    assert_true(sms_sender_automatic("TELKOMSEL"));
    assert_true(sms_sender_automatic("BNI-Info"));
    assert_true(sms_sender_automatic("3636"));
    assert_true(sms_sender_automatic("+12345"));
    assert_true(sms_sender_automatic(""));
    assert_false(sms_sender_automatic("+6281234567890"));
    assert_false(sms_sender_automatic("081234567890"));
}

/* ---- keywords --------------------------------------------------------------------------- */

static void test_keywords(void **state)
{
    (void)state;
    char t[SMS_TICKET_MAX];
    assert_string_equal(sms_parse_text("CEK ADU-2026-00042", opts.status_keywords, "ADU", t),
                        "status");
    assert_string_equal(t, "ADU-2026-00042");
    assert_string_equal(sms_parse_text("  cek adu-2026-00042 ", opts.status_keywords, "ADU", t),
                        "status");
    assert_string_equal(t, "ADU-2026-00042");
    assert_string_equal(sms_parse_text("status: [ADU-2026-00007]", opts.status_keywords, "ADU", t),
                        "status");
    assert_string_equal(t, "ADU-2026-00007");
    assert_string_equal(sms_parse_text("CEK", opts.status_keywords, "ADU", t), "status");
    assert_string_equal(t, "");
    /* "cek" is also an ordinary word: a complaint may begin with it */
    assert_string_equal(sms_parse_text("Cek jalan rusak di Desa Sukamaju", opts.status_keywords,
                                       "ADU", t), "complaint");
    assert_string_equal(t, "");
    assert_string_equal(sms_parse_text("CEKADU-2026-00042", opts.status_keywords, "ADU", t),
                        "complaint");
    assert_string_equal(t, "");
    /* a follow-up: the text starts with its ticket */
    assert_string_equal(sms_parse_text("ADU-2026-00042 izin saya belum keluar",
                                       opts.status_keywords, "ADU", t), "complaint");
    assert_string_equal(t, "ADU-2026-00042");
    assert_string_equal(sms_parse_text("#adu-2026-00042: tambahan", opts.status_keywords, "ADU", t),
                        "complaint");
    assert_string_equal(t, "ADU-2026-00042");
    /* not a ticket: wrong prefix, too few digits, glued to letters */
    sms_parse_text("XYZ-2026-00042 halo", opts.status_keywords, "ADU", t);
    assert_string_equal(t, "");
    sms_parse_text("ADU-2026-0042 halo", opts.status_keywords, "ADU", t);
    assert_string_equal(t, "");
    sms_parse_text("ADU-2026-00042abc", opts.status_keywords, "ADU", t);
    assert_string_equal(t, "");
    /* a ticket further in the text is not a follow-up by number (the core may still thread) */
    sms_parse_text("Halo, soal ADU-2026-00042", opts.status_keywords, "ADU", t);
    assert_string_equal(t, "");
    /* the configured words only */
    assert_string_equal(sms_parse_text("INFO ADU-2026-00042", opts.status_keywords, "ADU", t),
                        "complaint");
}

/* ---- received messages ------------------------------------------------------------------ */

static void test_single_gsm7(void **state)
{
    (void)state;
    GSM_MultiSMSMessage *m = multi_new();
    phone_make_part(&m->SMS[0], "081234567890", "Jalan rusak di depan kantor desa", false,
                    "20261128T081500", 0, 0, 0);
    m->Number = 1;
    aduan_msg_t *in = sms_translate(m, &opts);
    assert_non_null(in);
    assert_string_equal(in->intake.channel, "sms");
    assert_string_equal(in->intake.from_addr, "+6281234567890");
    assert_string_equal(in->intake.text, "Jalan rusak di depan kantor desa");
    assert_string_equal(in->intake.intent, "complaint");
    assert_null(in->intake.thread_ticket);
    assert_int_equal(in->intake.flags, 0);
    assert_null(in->intake.quarantine_reason);
    assert_int_equal(in->intake.received_at, 1795853700000ull);
    assert_non_null(strstr(in->intake.dedupe_key, "999999999999999"));
    assert_non_null(strstr(in->intake.dedupe_key, "+6281234567890"));
    assert_non_null(strstr((char *)in->intake.raw.data, "coding=gsm7"));
    assert_non_null(strstr((char *)in->intake.raw.data, "Part: 1 "));

    /* the same message read again gives the same key; another text another key */
    aduan_msg_t *again = sms_translate(m, &opts);
    assert_string_equal(again->intake.dedupe_key, in->intake.dedupe_key);
    phone_make_part(&m->SMS[0], "081234567890", "Jalan rusak di depan kantor desa!", false,
                    "20261128T081500", 0, 0, 0);
    aduan_msg_t *other = sms_translate(m, &opts);
    assert_string_not_equal(other->intake.dedupe_key, in->intake.dedupe_key);
    aduan_msg_destroy(&in);
    aduan_msg_destroy(&again);
    aduan_msg_destroy(&other);
    free(m);
}

/* Three UCS-2 parts, an emoji whose surrogate pair is split between parts 2 and 3,
   stored out of order: one text, whole. */
static void test_three_ucs2_parts_with_emoji(void **state)
{
    (void)state;
    GSM_MultiSMSMessage *m = multi_new();
    const char *p1 = "Selamat pagi, izin usaha saya ";
    const char *p3 = " belum terbit.";
    /* part 2 ends with the high surrogate of U+1F64F, part 3 starts with the low one */
    phone_make_part(&m->SMS[0], "+6281234567890", p3, true, "20261128T081500", 0xAB, 3, 3);
    phone_make_part(&m->SMS[1], "+6281234567890", p1, true, "20261128T081500", 0xAB, 1, 3);
    phone_make_part(&m->SMS[2], "+6281234567890", "sudah 3 bulan ", true, "20261128T081500",
                    0xAB, 2, 3);
    size_t n2 = UnicodeLength(m->SMS[2].Text);
    m->SMS[2].Text[n2 * 2] = 0xD8, m->SMS[2].Text[n2 * 2 + 1] = 0x3D;
    m->SMS[2].Text[n2 * 2 + 2] = 0, m->SMS[2].Text[n2 * 2 + 3] = 0;
    size_t n3 = UnicodeLength(m->SMS[0].Text);
    memmove(m->SMS[0].Text + 2, m->SMS[0].Text, n3 * 2 + 2);
    m->SMS[0].Text[0] = 0xDE, m->SMS[0].Text[1] = 0x4F;
    m->Number = 3;
    sms_sort_parts(m);
    assert_true(sms_is_complete(m));
    aduan_msg_t *in = sms_translate(m, &opts);
    assert_non_null(in);
    assert_string_equal(in->intake.text,
                        "Selamat pagi, izin usaha saya sudah 3 bulan \xF0\x9F\x99\x8F belum terbit.");
    assert_int_equal(in->intake.flags, 0);
    assert_non_null(strstr((char *)in->intake.raw.data, "udh=050003AB0301"));
    aduan_msg_destroy(&in);
    free(m);
}

static void test_missing_part(void **state)
{
    (void)state;
    GSM_MultiSMSMessage *m = multi_new();
    phone_make_part(&m->SMS[0], "+6281234567890", "awal ", false, NULL, 7, 1, 3);
    phone_make_part(&m->SMS[1], "+6281234567890", "akhir", false, NULL, 7, 3, 3);
    m->Number = 2;
    assert_false(sms_is_complete(m));
    aduan_msg_t *in = sms_translate(m, &opts);
    assert_true(in->intake.flags & ADUAN_INTAKE_INCOMPLETE);
    assert_string_equal(in->intake.text, "awal  [...] akhir");
    aduan_msg_destroy(&in);
    /* the last part missing */
    m->Number = 1;
    in = sms_translate(m, &opts);
    assert_string_equal(in->intake.text, "awal  [...]");
    aduan_msg_destroy(&in);
    free(m);
}

static void test_group_keys(void **state)
{
    (void)state;
    GSM_SMSMessage a, b, c;
    phone_make_part(&a, "+6281234567890", "x", false, NULL, 7, 1, 2);
    phone_make_part(&b, "+6281234567890", "y", false, NULL, 7, 2, 2);
    phone_make_part(&c, "+6281299999999", "z", false, NULL, 7, 2, 2);
    char ka[SMS_KEY_MAX], kb[SMS_KEY_MAX], kc[SMS_KEY_MAX];
    sms_group_key(&a, ka, sizeof ka);
    sms_group_key(&b, kb, sizeof kb);
    sms_group_key(&c, kc, sizeof kc);
    assert_string_equal(ka, kb);
    assert_string_not_equal(ka, kc);
}

static void test_8bit_and_controls(void **state)
{
    (void)state;
    GSM_MultiSMSMessage *m = multi_new();
    phone_make_part(&m->SMS[0], "+6281234567890", "", false, NULL, 0, 0, 0);
    m->SMS[0].Coding = SMS_Coding_8bit;
    memcpy(m->SMS[0].Text, "caf\xe9\x01!", 6);
    m->SMS[0].Length = 6;
    m->Number = 1;
    aduan_msg_t *in = sms_translate(m, &opts);
    assert_string_equal(in->intake.text, "caf\xc3\xa9 !");
    assert_non_null(strstr((char *)in->intake.raw.data, "Data: 636166E90121"));
    aduan_msg_destroy(&in);
    free(m);
}

static void test_non_citizens_automatic(void **state)
{
    (void)state;
    GSM_MultiSMSMessage *m = multi_new();
    phone_make_part(&m->SMS[0], "TELKOMSEL", "CEK ADU-2026-00001 promo kuota", false, NULL, 0,
                    0, 0);
    m->Number = 1;
    aduan_msg_t *in = sms_translate(m, &opts);
    assert_true(in->intake.flags & ADUAN_INTAKE_AUTOMATIC);
    assert_string_equal(in->intake.from_addr, "TELKOMSEL");
    assert_string_equal(in->intake.intent, "complaint"); /* a machine asks us nothing */
    assert_null(in->intake.thread_ticket);
    aduan_msg_destroy(&in);

    phone_make_part(&m->SMS[0], "3636", "Sisa pulsa Anda", false, NULL, 0, 0, 0);
    in = sms_translate(m, &opts);
    assert_true(in->intake.flags & ADUAN_INTAKE_AUTOMATIC);
    aduan_msg_destroy(&in);

    phone_make_part(&m->SMS[0], "+6281234567890", "", false, NULL, 0, 0, 0);
    m->SMS[0].PDU = SMS_Status_Report;
    m->SMS[0].DeliveryStatus = 0;
    in = sms_translate(m, &opts);
    assert_true(in->intake.flags & ADUAN_INTAKE_AUTOMATIC);
    assert_non_null(strstr((char *)in->intake.raw.data, "pdu=status-report"));
    /* one that reached the translation matched nothing sent: no complaint */
    assert_non_null(in->intake.quarantine_reason);
    aduan_msg_destroy(&in);
    free(m);
}

static void test_status_and_followup_fields(void **state)
{
    (void)state;
    GSM_MultiSMSMessage *m = multi_new();
    phone_make_part(&m->SMS[0], "081234567890", "cek ADU-2026-00003", false, NULL, 0, 0, 0);
    m->Number = 1;
    aduan_msg_t *in = sms_translate(m, &opts);
    assert_string_equal(in->intake.intent, "status");
    assert_string_equal(in->intake.thread_ticket, "ADU-2026-00003");
    aduan_msg_destroy(&in);
    phone_make_part(&m->SMS[0], "081234567890", "ADU-2026-00003 masih belum ada kabar", false,
                    NULL, 0, 0, 0);
    in = sms_translate(m, &opts);
    assert_string_equal(in->intake.intent, "complaint");
    assert_string_equal(in->intake.thread_ticket, "ADU-2026-00003");
    aduan_msg_destroy(&in);
    free(m);
}

/* ---- sending ---------------------------------------------------------------------------- */

static void test_encoding_choice(void **state)
{
    (void)state;
    GSM_MultiSMSMessage *out = multi_new();
    bool unicode = true;
    char reason[128];
    assert_int_equal(sms_encode_outgoing("Pengaduan Anda telah diterima, no. tiket ADU-2026-00001.",
                                         out, &unicode, reason, sizeof reason), 0);
    assert_false(unicode);
    assert_int_equal(out->Number, 1);
    assert_int_equal(out->SMS[0].PDU, SMS_Submit);

    assert_int_equal(sms_encode_outgoing("Terima kasih \xF0\x9F\x99\x8F", out, &unicode, reason,
                                         sizeof reason), 0);
    assert_true(unicode);
    assert_int_equal(out->Number, 1);

    char longtext[400];
    memset(longtext, 'a', 300);
    longtext[300] = '\0';
    assert_int_equal(sms_encode_outgoing(longtext, out, &unicode, reason, sizeof reason), 0);
    assert_false(unicode);
    assert_int_equal(out->Number, 2); /* 153 + 147 */
    assert_int_not_equal(out->SMS[0].UDH.Type, UDH_NoUDH);

    /* 100 characters with one that GSM 7-bit lacks: UCS-2, two parts of 67 */
    memset(longtext, 'b', 99);
    strcpy(longtext + 99, "\xC4\x8D"); /* č */
    assert_int_equal(sms_encode_outgoing(longtext, out, &unicode, reason, sizeof reason), 0);
    assert_true(unicode);
    assert_int_equal(out->Number, 2);

    assert_int_equal(sms_encode_outgoing("", out, &unicode, reason, sizeof reason), -1);
    assert_int_equal(sms_encode_outgoing("\xff\xfe", out, &unicode, reason, sizeof reason), -1);
    free(out);
}

static void test_failures_and_reports(void **state)
{
    (void)state;
    assert_string_equal(sms_send_failure(ERR_UNKNOWN, 1), "permanent");  /* unassigned number */
    assert_string_equal(sms_send_failure(ERR_UNKNOWN, 42), "temporary"); /* congestion */
    assert_string_equal(sms_send_failure(ERR_TIMEOUT, -1), "temporary");
    assert_string_equal(sms_send_failure(ERR_EMPTYSMSC, -1), "temporary");
    assert_string_equal(sms_send_failure(ERR_INVALIDDATA, -1), "permanent");
    assert_string_equal(sms_report_outcome(0x00), "delivered");
    assert_string_equal(sms_report_outcome(0x02), "delivered");
    assert_null(sms_report_outcome(0x21));
    assert_string_equal(sms_report_outcome(0x41), "permanent");
    assert_string_equal(sms_report_outcome(0x62), "permanent");
    /* a whole report: the byte, or libGammu's word when storage kept only the text */
    GSM_SMSMessage r;
    phone_make_part(&r, "+6281234567890", "Failed", false, NULL, 0, 0, 0);
    r.PDU = SMS_Status_Report;
    assert_string_equal(sms_report_part_outcome(&r), "permanent");
    phone_make_part(&r, "+6281234567890", "Pending", false, NULL, 0, 0, 0);
    assert_null(sms_report_part_outcome(&r));
    phone_make_part(&r, "+6281234567890", "Delivered", false, NULL, 0, 0, 0);
    assert_string_equal(sms_report_part_outcome(&r), "delivered");
    r.DeliveryStatus = 0x46; /* the byte, when there is one, decides */
    assert_string_equal(sms_report_part_outcome(&r), "permanent");
}

/* ---- spill files ------------------------------------------------------------------------ */

static void test_spill_round_trip(void **state)
{
    (void)state;
    char dir[] = "/tmp/sms-unit-XXXXXX";
    assert_non_null(mkdtemp(dir));
    assert_int_equal(sms_spill_init(dir), 0);
    GSM_MultiSMSMessage *m = multi_new(), *back = multi_new();
    phone_make_part(&m->SMS[0], "+6281234567890", "bagian satu ", true, "20261128T081500", 9, 1,
                    2);
    phone_make_part(&m->SMS[1], "+6281234567890", "dan dua \xF0\x9F\x98\x80", true,
                    "20261128T081500", 9, 2, 2);
    m->Number = 2;
    char path[4096];
    assert_int_equal(sms_spill_save(dir, m, path, sizeof path), 0);
    assert_int_equal(sms_spill_count(dir), 1);
    assert_int_equal(sms_spill_load(path, back), 0);
    assert_int_equal(back->Number, 2);
    aduan_msg_t *a = sms_translate(m, &opts), *b = sms_translate(back, &opts);
    assert_string_equal(a->intake.text, b->intake.text);
    assert_string_equal(a->intake.dedupe_key, b->intake.dedupe_key);
    assert_int_equal(back->SMS[1].UDH.PartNumber, 2);
    aduan_msg_destroy(&a);
    aduan_msg_destroy(&b);
    char **list = sms_spill_list(dir);
    assert_non_null(list);
    assert_string_equal(list[0], path);
    assert_null(list[1]);
    sms_spill_list_free(&list);
    assert_int_equal(sms_spill_remove(path), 0);
    assert_int_equal(sms_spill_count(dir), 0);

    /* delivery-report map: two parts of row 7, one of row 9 with the same reference, and
       row 5 with it too, to someone else: a report names its recipient */
    int refs7[] = {12, 13}, refs9[] = {12}, refs5[] = {12};
    assert_int_equal(sms_reports_put(dir, 5, refs5, 1, "+6281234500001"), 0);
    assert_int_equal(sms_reports_put(dir, 7, refs7, 2, "+6281234567890"), 0);
    assert_int_equal(sms_reports_put(dir, 9, refs9, 1, "+6281234567890"), 0);
    uint64_t id = 0;
    int remaining = -1;
    assert_int_equal(sms_reports_take(dir, 12, "+6281234567890", false, &id, &remaining), 1);
    assert_int_equal(id, 7);
    assert_int_equal(remaining, 1);
    assert_int_equal(sms_reports_take(dir, 13, "+6281234567890", false, &id, &remaining), 1);
    assert_int_equal(id, 7);
    assert_int_equal(remaining, 0);
    assert_int_equal(sms_reports_take(dir, 12, "+6281234567890", true, &id, &remaining), 1);
    assert_int_equal(id, 9);
    assert_int_equal(sms_reports_take(dir, 12, "+6281234567890", false, &id, &remaining), 0);
    /* a report whose number could not be read matches by its reference alone */
    assert_int_equal(sms_reports_take(dir, 12, NULL, false, &id, &remaining), 1);
    assert_int_equal(id, 5);
    assert_int_equal(sms_reports_take(dir, 12, NULL, false, &id, &remaining), 0);

    assert_int_equal(sms_calls_append(dir, "modem1", "+6281234567890", 1795853700000), 0);
    char csv[4200];
    snprintf(csv, sizeof csv, "%s/calls.csv", dir);
    FILE *f = fopen(csv, "r");
    char line[1024];
    assert_non_null(fgets(line, sizeof line, f));
    fclose(f);
    assert_non_null(strstr(line, "\"modem1\",\"+6281234567890\",\"modem1\""));
    assert_non_null(strstr(line, "2026-11-28 08:15:00"));
    assert_non_null(strstr(line, "NO ANSWER"));
    unlink(csv);
    char rd[4200];
    snprintf(rd, sizeof rd, "%s/reports", dir);
    rmdir(rd);
    rmdir(dir);
    free(m);
    free(back);
}

int main(void)
{
    GSM_InitLocales(NULL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_e164),
        cmocka_unit_test(test_automatic_senders),
        cmocka_unit_test(test_keywords),
        cmocka_unit_test(test_single_gsm7),
        cmocka_unit_test(test_three_ucs2_parts_with_emoji),
        cmocka_unit_test(test_missing_part),
        cmocka_unit_test(test_group_keys),
        cmocka_unit_test(test_8bit_and_controls),
        cmocka_unit_test(test_non_citizens_automatic),
        cmocka_unit_test(test_status_and_followup_fields),
        cmocka_unit_test(test_encoding_choice),
        cmocka_unit_test(test_failures_and_reports),
        cmocka_unit_test(test_spill_round_trip),
    };
    return cmocka_run_group_tests_name("sms_unit_translate", tests, NULL, NULL);
}
