/*  test_email_mime.c - raw mail messages, written here, through email_mime_intake: what
    the registry would get from each (sender, subject, text, threading, attachments,
    automatic mail, bounces, quarantine). Every intake must also pass the bus encoder. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aduan/bus.h"
#include "charset.h"
#include "html.h"
#include "mime.h"

#define OUR_ADDRESS "pengaduan@dpmptsp.example.go.id"

static const email_mime_options_t default_options = {
    .ticket_prefix = "ADU",
    .own_address = OUR_ADDRESS,
    .max_message_bytes = 32u << 20,
    .max_attachment_bytes = 25u << 20,
    .attachment_budget = 30u << 20,
};

/* The intake of raw with the options given (NULL: the defaults); it must encode. */
static aduan_msg_t *translate_with(const char *raw, size_t len, const email_mime_options_t *o)
{
    aduan_msg_t *m = email_mime_intake(raw, len, o ? o : &default_options);
    assert_non_null(m);
    assert_int_equal(m->type, ADUAN_MSG_INTAKE);
    /* what the adapter adds before it submits */
    aduan_msg_set(&m->intake.channel, "email");
    aduan_msg_set(&m->intake.dedupe_key, "email:1:1");
    char reason[256];
    zmsg_t *z = aduan_msg_encode(m, reason, sizeof reason);
    if (!z)
        fail_msg("the intake breaks the bus schema: %s", reason);
    zmsg_destroy(&z);
    assert_int_equal(m->intake.raw.size, len);
    assert_memory_equal(m->intake.raw.data, raw, len);
    return m;
}

static aduan_msg_t *translate(const char *raw)
{
    return translate_with(raw, strlen(raw), NULL);
}

static const char *text_of(const aduan_msg_t *m)
{
    return m->intake.text ? m->intake.text : "";
}

static void assert_contains(const char *haystack, const char *needle)
{
    if (!haystack || !strstr(haystack, needle))
        fail_msg("\"%s\" not in \"%s\"", needle, haystack ? haystack : "(null)");
}

/* ---- headers and bodies ------------------------------------------------------------------- */

static void test_plain(void **state)
{
    (void)state;
    aduan_msg_t *m = translate(
        "Return-Path: <siti.aminah@example.org>\r\n"
        "From: Siti Aminah <siti.aminah@example.org>\r\n"
        "To: pengaduan@dpmptsp.example.go.id\r\n"
        "Subject: Izin usaha belum terbit\r\n"
        "Date: Mon, 27 Nov 2023 10:00:00 +0700\r\n"
        "Message-ID: <pengaduan-1@example.org>\r\n"
        "In-Reply-To: <ack-1@dpmptsp.example.go.id>\r\n"
        "References: <a@x> <ack-1@dpmptsp.example.go.id>\r\n"
        "\r\n"
        "Sudah tiga minggu berkas saya belum diproses.\r\n"
        "\r\n"
        "Terima kasih.\r\n");
    assert_string_equal(m->intake.intent, "complaint");
    assert_string_equal(m->intake.from_addr, "siti.aminah@example.org");
    assert_string_equal(m->intake.from_name, "Siti Aminah");
    assert_string_equal(m->intake.subject, "Izin usaha belum terbit");
    assert_string_equal(m->intake.message_ref, "pengaduan-1@example.org");
    assert_string_equal(m->intake.in_reply_to, "ack-1@dpmptsp.example.go.id");
    assert_string_equal(m->intake.references, "a@x ack-1@dpmptsp.example.go.id");
    /* 2023-11-27T03:00:00Z */
    assert_int_equal(m->intake.received_at, 1701054000000ull);
    assert_string_equal(text_of(m),
                        "Sudah tiga minggu berkas saya belum diproses.\n\nTerima kasih.");
    assert_int_equal(m->intake.flags, 0);
    assert_null(m->intake.quarantine_reason);
    assert_null(m->intake.thread_ticket);
    assert_int_equal(m->attachment_count, 0);
    aduan_msg_destroy(&m);
}

static void test_quoted_printable(void **state)
{
    (void)state;
    aduan_msg_t *m = translate(
        "From: budi@example.org\r\n"
        "Subject: QP\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: quoted-printable\r\n"
        "\r\n"
        "Trotoar di depan kantor rusak =E2=80=93 sudah sebulan, panjang sekali baris=\r\n"
        "nya.\r\n"
        "Caf=C3=A9 =3D warung\r\n");
    assert_string_equal(text_of(m), "Trotoar di depan kantor rusak \xE2\x80\x93 sudah sebulan, "
                                    "panjang sekali barisnya.\nCaf\xC3\xA9 = warung");
    aduan_msg_destroy(&m);
}

static void test_base64(void **state)
{
    (void)state;
    aduan_msg_t *m = translate("From: budi@example.org\r\n"
                               "Subject: B64\r\n"
                               "MIME-Version: 1.0\r\n"
                               "Content-Type: text/plain; charset=\"UTF-8\"\r\n"
                               "Content-Transfer-Encoding: base64\r\n"
                               "\r\n"
                               "TGFtcHUgamFsYW4gbWF0aSBzZWphayBTZW5pbi4NCk1vaG9uIGRpcGVy\r\n"
                               "YmFpa2kuDQo=\r\n");
    assert_string_equal(text_of(m), "Lampu jalan mati sejak Senin.\nMohon diperbaiki.");
    aduan_msg_destroy(&m);
}

static void test_charsets(void **state)
{
    (void)state;
    aduan_msg_t *m = translate("From: a@example.org\r\n"
                               "Content-Type: text/plain; charset=ISO-8859-1\r\n"
                               "\r\n"
                               "Caf\xE9 \xFC\xE4 ok\r\n");
    assert_string_equal(text_of(m), "Caf\xC3\xA9 \xC3\xBC\xC3\xA4 ok");
    aduan_msg_destroy(&m);

    m = translate("From: a@example.org\r\n"
                  "Content-Type: text/plain; charset=windows-1252\r\n"
                  "\r\n"
                  "Pengaduan: jalan rusak \x96 \x93segera\x94 \x80" "5\r\n");
    assert_string_equal(text_of(m), "Pengaduan: jalan rusak \xE2\x80\x93 \xE2\x80\x9Csegera"
                                    "\xE2\x80\x9D \xE2\x82\xAC" "5");
    aduan_msg_destroy(&m);

    m = translate("From: a@example.org\r\n"
                  "Content-Type: text/plain; charset=gb2312\r\n"
                  "\r\n"
                  "\xCD\xB6\xCB\xDF\xB5\xC0\xC2\xB7\r\n");
    assert_string_equal(text_of(m), "投诉道路");
    aduan_msg_destroy(&m);

    /* a charset nobody has: windows-1252; broken UTF-8 and control bytes: never passed on */
    m = translate("From: a@example.org\r\n"
                  "Content-Type: text/plain; charset=x-no-such-charset\r\n"
                  "\r\n"
                  "Caf\xE9\r\n");
    assert_string_equal(text_of(m), "Caf\xC3\xA9");
    aduan_msg_destroy(&m);
    m = translate("From: a@example.org\r\n"
                  "Content-Type: text/plain; charset=utf-8\r\n"
                  "\r\n"
                  "ok \xC3 \xED\xA0\x80 bell\x07 esc\x1B tab\there\r\n");
    assert_true(aduan_utf8_valid(text_of(m), strlen(text_of(m))));
    assert_contains(text_of(m), "ok \xEF\xBF\xBD");
    assert_contains(text_of(m), "bell esc tab\there");
    aduan_msg_destroy(&m);
}

static void test_encoded_words(void **state)
{
    (void)state;
    aduan_msg_t *m = translate("From: =?UTF-8?B?QmFtYmFuZyBTw7xzaWxv?= <bambang@example.org>\r\n"
                               "Subject: =?ISO-8859-1?Q?Jalan_rusak_di_caf=E9?= =?UTF-8?B?"
                               "IOKAkyBtb2hvbg==?=\r\n"
                               "\r\n"
                               "isi\r\n");
    assert_string_equal(m->intake.from_name, "Bambang S\xC3\xBCsilo");
    assert_string_equal(m->intake.subject, "Jalan rusak di caf\xC3\xA9 \xE2\x80\x93 mohon");
    aduan_msg_destroy(&m);

    /* raw 8-bit in a header, CR/LF folded in: one clean line */
    m = translate("From: \"J\xF6rg\" <j@example.org>\r\n"
                  "Subject: satu\r\n\tdua\r\n"
                  "\r\n"
                  "isi\r\n");
    assert_string_equal(m->intake.from_name, "J\xC3\xB6rg");
    assert_string_equal(m->intake.subject, "satu dua");
    aduan_msg_destroy(&m);
}

static void test_html_only(void **state)
{
    (void)state;
    aduan_msg_t *m = translate(
        "From: a@example.org\r\n"
        "Content-Type: text/html; charset=utf-8\r\n"
        "\r\n"
        "<html><head><title>x</title><style>p{color:red}</style></head><body>"
        "<p>Yth. Bapak/Ibu,</p><p>Jalan &amp; trotoar di depan <b>kantor</b>&nbsp;rusak"
        " &eacute;&#8364;.<br>Foto: <a href=\"https://example.org/f.jpg\">di sini</a></p>"
        "<script>alert(1)</script><ul><li>satu</li><li>dua</li></ul></body></html>\r\n");
    assert_string_equal(text_of(m), "Yth. Bapak/Ibu,\n\nJalan & trotoar di depan kantor\xC2\xA0rusak"
                                    " \xC3\xA9\xE2\x82\xAC.\nFoto: di sini "
                                    "<https://example.org/f.jpg>\n\n- satu\n- dua");
    aduan_msg_destroy(&m);

    /* text/plain beside it wins */
    m = translate("From: a@example.org\r\n"
                  "MIME-Version: 1.0\r\n"
                  "Content-Type: multipart/alternative; boundary=\"b1\"\r\n"
                  "\r\n"
                  "--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nteks biasa\r\n"
                  "--b1\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>teks html</p>\r\n"
                  "--b1--\r\n");
    assert_string_equal(text_of(m), "teks biasa");
    assert_int_equal(m->attachment_count, 0);
    aduan_msg_destroy(&m);
}

/* ---- attachments -------------------------------------------------------------------------- */

static void test_attachments(void **state)
{
    (void)state;
    aduan_msg_t *m = translate(
        "From: a@example.org\r\n"
        "Subject: foto\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: multipart/mixed; boundary=\"xyz\"\r\n"
        "\r\n"
        "preamble\r\n"
        "--xyz\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "\r\n"
        "Foto terlampir.\r\n"
        "--xyz\r\n"
        "Content-Type: image/jpeg\r\n"
        "Content-Disposition: attachment; filename*=UTF-8''jalan%20rusak%20%E2%80%93%20"
        "foto.jpg\r\n"
        "Content-Transfer-Encoding: base64\r\n"
        "\r\n"
        "/9j/4AAQ\r\n"
        "--xyz\r\n"
        "Content-Type: application/pdf\r\n"
        "Content-Disposition: attachment;\r\n"
        " filename*0*=ISO-8859-1''surat%20kepada%20;\r\n"
        " filename*1*=Dinas%20caf%E9;\r\n"
        " filename*2=\".pdf\"\r\n"
        "\r\n"
        "%PDF-1.4\r\n"
        "--xyz\r\n"
        "Content-Type: text/plain; name=\"=?UTF-8?Q?catatan_=C3=BC.txt?=\"\r\n"
        "\r\n"
        "catatan\r\n"
        "--xyz--\r\n");
    assert_string_equal(text_of(m), "Foto terlampir.");
    assert_int_equal(m->attachment_count, 3);
    assert_string_equal(m->attachments[0].name, "jalan rusak \xE2\x80\x93 foto.jpg");
    assert_string_equal(m->attachments[0].content_type, "image/jpeg");
    assert_int_equal(m->attachments[0].content.size, 6);
    assert_memory_equal(m->attachments[0].content.data, "\xFF\xD8\xFF\xE0\x00\x10", 6);
    assert_string_equal(m->attachments[1].name, "surat kepada Dinas caf\xC3\xA9.pdf");
    assert_string_equal(m->attachments[1].content_type, "application/pdf");
    assert_string_equal(m->attachments[2].name, "catatan \xC3\xBC.txt");
    aduan_msg_destroy(&m);
}

static void test_attachment_limits(void **state)
{
    (void)state;
    const char *raw = "From: a@example.org\r\n"
                      "Content-Type: multipart/mixed; boundary=\"q\"\r\n"
                      "\r\n"
                      "--q\r\nContent-Type: text/plain\r\n\r\nlihat lampiran\r\n"
                      "--q\r\nContent-Type: application/octet-stream; name=\"besar.bin\"\r\n\r\n"
                      "0123456789012345678901234567890123456789\r\n"
                      "--q\r\nContent-Type: application/octet-stream; name=\"kecil.bin\"\r\n\r\n"
                      "0123456789\r\n"
                      "--q--\r\n";
    email_mime_options_t o = default_options;
    o.max_attachment_bytes = 20;
    aduan_msg_t *m = translate_with(raw, strlen(raw), &o);
    assert_int_equal(m->attachment_count, 1);
    assert_string_equal(m->attachments[0].name, "kecil.bin");
    assert_contains(text_of(m), "lihat lampiran\n");
    assert_contains(text_of(m), "besar.bin (40 bytes)");
    aduan_msg_destroy(&m);

    /* the bus message has room for neither */
    o = default_options;
    o.attachment_budget = 5;
    m = translate_with(raw, strlen(raw), &o);
    assert_int_equal(m->attachment_count, 0);
    assert_contains(text_of(m), "no room");
    assert_contains(text_of(m), "kecil.bin");
    aduan_msg_destroy(&m);
}

/* ---- what is not a complaint -------------------------------------------------------------- */

static void test_malformed_quarantined(void **state)
{
    (void)state;
    /* the boundary never appears */
    aduan_msg_t *m = translate("From: a@example.org\r\n"
                               "Subject: rusak\r\n"
                               "Content-Type: multipart/mixed; boundary=\"never\"\r\n"
                               "\r\n"
                               "just text, no parts\r\n");
    assert_non_null(m->intake.quarantine_reason);
    assert_contains(m->intake.quarantine_reason, "boundary");
    assert_string_equal(m->intake.subject, "rusak");
    aduan_msg_destroy(&m);

    /* multipart without a boundary at all */
    m = translate("From: a@example.org\r\n"
                  "Content-Type: multipart/mixed\r\n"
                  "\r\n"
                  "--x\r\nContent-Type: text/plain\r\n\r\nisi\r\n--x--\r\n");
    assert_non_null(m->intake.quarantine_reason);
    assert_contains(m->intake.quarantine_reason, "boundary");
    aduan_msg_destroy(&m);

    /* no header at all: binary garbage */
    const char garbage[] = "\x00\x01\x02\xff\xfe binary \r\n\r\n\x00";
    m = translate_with(garbage, sizeof garbage - 1, NULL);
    assert_non_null(m->intake.quarantine_reason);
    aduan_msg_destroy(&m);

    m = translate_with("", 0, NULL);
    assert_non_null(m->intake.quarantine_reason);
    aduan_msg_destroy(&m);
}

static void test_automatic(void **state)
{
    (void)state;
    aduan_msg_t *m = translate("From: Budi <budi@example.org>\r\n"
                               "Subject: Out of office: Re: [ADU-2026-00042] Pengaduan\r\n"
                               "Auto-Submitted: auto-replied\r\n"
                               "\r\n"
                               "Saya sedang cuti.\r\n");
    assert_true(m->intake.flags & ADUAN_INTAKE_AUTOMATIC);
    assert_string_equal(m->intake.thread_ticket, "ADU-2026-00042");
    assert_string_equal(m->intake.intent, "complaint");
    aduan_msg_destroy(&m);

    m = translate("From: list@lists.example.org\r\n"
                  "List-Id: Warga RT 05 <rt05.lists.example.org>\r\n"
                  "\r\n"
                  "Rapat warga.\r\n");
    assert_true(m->intake.flags & ADUAN_INTAKE_AUTOMATIC);
    aduan_msg_destroy(&m);

    const char *automatic[] = {
        "From: a@example.org\r\nPrecedence: bulk\r\n\r\nx\r\n",
        "From: a@example.org\r\nPrecedence: junk\r\n\r\nx\r\n",
        "From: a@example.org\r\nX-Auto-Response-Suppress: All\r\n\r\nx\r\n",
        "From: Postmaster <postmaster@example.org>\r\n\r\nx\r\n",
        "From: " OUR_ADDRESS "\r\n\r\nx\r\n",
        "Return-Path: <>\r\nFrom: a@example.org\r\n\r\nx\r\n",
        NULL};
    for (int i = 0; automatic[i]; i++) {
        m = translate(automatic[i]);
        if (!(m->intake.flags & ADUAN_INTAKE_AUTOMATIC))
            fail_msg("not automatic: %s", automatic[i]);
        aduan_msg_destroy(&m);
    }
    m = translate("From: a@example.org\r\nAuto-Submitted: no\r\nPrecedence: first-class\r\n\r\n"
                  "x\r\n");
    assert_int_equal(m->intake.flags, 0);
    aduan_msg_destroy(&m);
}

static void test_ticket_and_status(void **state)
{
    (void)state;
    aduan_msg_t *m = translate("From: a@example.org\r\n"
                               "Subject: Re: [adu-2026-00042] Izin usaha\r\n\r\ntambahan\r\n");
    assert_string_equal(m->intake.thread_ticket, "ADU-2026-00042");
    assert_string_equal(m->intake.intent, "complaint");
    aduan_msg_destroy(&m);

    m = translate("From: a@example.org\r\nSubject: CEK ADU-2026-00042\r\n\r\n\r\n");
    assert_string_equal(m->intake.thread_ticket, "ADU-2026-00042");
    assert_string_equal(m->intake.intent, "status");
    aduan_msg_destroy(&m);

    m = translate("From: a@example.org\r\nSubject: Re: cek [ADU-2026-00042]?\r\n\r\n\r\n");
    assert_string_equal(m->intake.intent, "status");
    aduan_msg_destroy(&m);

    /* words after it: a complaint that happens to say "cek" */
    m = translate("From: a@example.org\r\nSubject: cek ADU-2026-00042 lagi dong\r\n\r\nx\r\n");
    assert_string_equal(m->intake.intent, "complaint");
    assert_null(m->intake.thread_ticket);
    aduan_msg_destroy(&m);
}

static void test_bounce(void **state)
{
    (void)state;
    aduan_msg_t *m = translate(
        "Return-Path: <>\r\n"
        "From: Mail Delivery System <MAILER-DAEMON@mx.dpmptsp.example.go.id>\r\n"
        "To: " OUR_ADDRESS "\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        "Message-ID: <dsn-1@mx>\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: multipart/report; report-type=delivery-status;\r\n"
        "\tboundary=\"dsnb\"\r\n"
        "\r\n"
        "--dsnb\r\n"
        "Content-Description: Notification\r\n"
        "Content-Type: text/plain; charset=us-ascii\r\n"
        "\r\n"
        "I'm sorry to have to inform you that your message could not be delivered.\r\n"
        "\r\n"
        "--dsnb\r\n"
        "Content-Type: message/delivery-status\r\n"
        "\r\n"
        "Reporting-MTA: dns; mx.dpmptsp.example.go.id\r\n"
        "Arrival-Date: Mon, 27 Nov 2023 10:00:00 +0700\r\n"
        "\r\n"
        "Final-Recipient: rfc822; warga@example.org\r\n"
        "Original-Recipient: rfc822;warga@example.org\r\n"
        "Action: failed\r\n"
        "Status: 5.1.1\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 <warga@example.org>: Recipient address\r\n"
        "    rejected: User unknown\r\n"
        "\r\n"
        "--dsnb\r\n"
        "Content-Type: message/rfc822\r\n"
        "\r\n"
        "From: Layanan Pengaduan <" OUR_ADDRESS ">\r\n"
        "To: warga@example.org\r\n"
        "Subject: [ADU-2026-00007] Pengaduan diterima\r\n"
        "Message-ID: <aduan-outbox-17@dpmptsp.example.go.id>\r\n"
        "Auto-Submitted: auto-replied\r\n"
        "\r\n"
        "Terima kasih.\r\n"
        "\r\n"
        "--dsnb--\r\n");
    assert_string_equal(m->intake.intent, "bounce");
    assert_true(m->intake.flags & ADUAN_INTAKE_AUTOMATIC);
    assert_non_null(m->intake.in_reply_to);
    assert_string_equal(m->intake.in_reply_to, "aduan-outbox-17@dpmptsp.example.go.id");
    assert_contains(text_of(m), "Action: failed");
    assert_contains(text_of(m), "Status: 5.1.1");
    assert_contains(text_of(m), "Final-Recipient: rfc822; warga@example.org");
    assert_contains(text_of(m), "User unknown");
    assert_null(m->intake.quarantine_reason);
    assert_int_equal(m->attachment_count, 0);
    aduan_msg_destroy(&m);

    /* only the headers come back (text/rfc822-headers) */
    m = translate("From: postmaster@example.org\r\n"
                  "Content-Type: multipart/report; report-type=delivery-status; boundary=r\r\n"
                  "\r\n"
                  "--r\r\nContent-Type: text/plain\r\n\r\nGagal.\r\n"
                  "--r\r\nContent-Type: message/delivery-status\r\n\r\n"
                  "Reporting-MTA: dns; mx\r\n\r\nFinal-Recipient: rfc822; x@example.org\r\n"
                  "Action: failed\r\nStatus: 5.0.0\r\n\r\n"
                  "--r\r\nContent-Type: text/rfc822-headers\r\n\r\n"
                  "Message-ID: <ours-2@dpmptsp>\r\nSubject: x\r\n\r\n"
                  "--r--\r\n");
    assert_string_equal(m->intake.intent, "bounce");
    assert_string_equal(m->intake.in_reply_to, "ours-2@dpmptsp");
    aduan_msg_destroy(&m);

    /* a delay warning marks nothing failed: kept for a person */
    m = translate("From: MAILER-DAEMON@mx\r\n"
                  "Content-Type: multipart/report; report-type=delivery-status; boundary=r\r\n"
                  "\r\n"
                  "--r\r\nContent-Type: message/delivery-status\r\n\r\n"
                  "Reporting-MTA: dns; mx\r\n\r\nFinal-Recipient: rfc822; x@example.org\r\n"
                  "Action: delayed\r\nStatus: 4.4.1\r\n\r\n"
                  "--r--\r\n");
    assert_string_not_equal(m->intake.intent, "bounce");
    assert_non_null(m->intake.quarantine_reason);
    assert_true(m->intake.flags & ADUAN_INTAKE_AUTOMATIC);
    aduan_msg_destroy(&m);

    /* an old-style bounce: plain text quoting our headers */
    m = translate("From: MAILER-DAEMON@old.example.org\r\n"
                  "Subject: failure notice\r\n"
                  "\r\n"
                  "Hi. This is the qmail-send program.\r\n"
                  "<warga@example.org>: Sorry, no mailbox here by that name.\r\n"
                  "--- Below this line is a copy of the message.\r\n"
                  "\r\n"
                  "From: " OUR_ADDRESS "\r\n"
                  "Message-ID: <aduan-outbox-9@dpmptsp.example.go.id>\r\n"
                  "\r\n"
                  "Terima kasih.\r\n");
    assert_string_equal(m->intake.intent, "bounce");
    assert_string_equal(m->intake.in_reply_to, "aduan-outbox-9@dpmptsp.example.go.id");
    assert_contains(text_of(m), "no mailbox here");
    aduan_msg_destroy(&m);
}

static void test_too_large(void **state)
{
    (void)state;
    const char *raw = "From: Warga <warga@example.org>\r\n"
                      "Subject: besar\r\n"
                      "Message-ID: <big@example.org>\r\n"
                      "Content-Type: multipart/mixed; boundary=\"b\"\r\n"
                      "\r\n"
                      "--b\r\nContent-Type: text/plain\r\n\r\nisi\r\n--b--\r\n";
    email_mime_options_t o = default_options;
    o.max_message_bytes = 100;
    aduan_msg_t *m = translate_with(raw, strlen(raw), &o);
    assert_string_equal(m->intake.subject, "besar");
    assert_string_equal(m->intake.from_addr, "warga@example.org");
    assert_string_equal(m->intake.message_ref, "big@example.org");
    assert_contains(text_of(m), "not read");
    assert_int_equal(m->attachment_count, 0);
    assert_null(m->intake.quarantine_reason);
    aduan_msg_destroy(&m);
}

/* Hostile shapes: deep nesting, many parts, long headers. Never a crash, always a line. */
static void test_hostile(void **state)
{
    (void)state;
    size_t cap = 4u << 20;
    char *raw = malloc(cap);
    size_t n = (size_t)snprintf(raw, cap, "From: a@example.org\r\nSubject: ");
    for (int i = 0; i < 3000; i++)
        n += (size_t)snprintf(raw + n, cap - n, "=?utf-8?q?ab?= ");
    n += (size_t)snprintf(raw + n, cap - n, "\r\nReferences:");
    for (int i = 0; i < 2000; i++)
        n += (size_t)snprintf(raw + n, cap - n, " <id-%d@example.org>", i);
    n += (size_t)snprintf(raw + n, cap - n, "\r\n");
    for (int i = 0; i < 200; i++)
        n += (size_t)snprintf(raw + n, cap - n,
                              "Content-Type: multipart/mixed; boundary=\"l%d\"\r\n\r\n--l%d\r\n",
                              i, i);
    n += (size_t)snprintf(raw + n, cap - n, "Content-Type: text/plain\r\n\r\ndeep\r\n");
    aduan_msg_t *m = translate_with(raw, n, NULL);
    assert_true(strlen(m->intake.subject) <= 998);
    assert_true(strlen(m->intake.references) <= 8192);
    assert_contains(m->intake.references, "id-1999@example.org"); /* the newest are kept */
    assert_non_null(m->intake.quarantine_reason);
    aduan_msg_destroy(&m);
    free(raw);
}

/* ---- the pure helpers --------------------------------------------------------------------- */

static void test_html_helper(void **state)
{
    (void)state;
    const char *html = "<div>a<div>b</div></div><table><tr><td>1</td><td>2</td></tr></table>"
                       "<pre>x  y\n z</pre><p></p><p></p><p></p><p>end &lt;&gt;&quot;</p>";
    char *t = email_html_to_text(html, strlen(html));
    assert_string_equal(t, "a\nb\n\n1 2\n\nx  y\n z\n\nend <>\"");
    free(t);
    t = email_html_to_text("", 0);
    assert_string_equal(t, "");
    free(t);
}

static void test_charset_helpers(void **state)
{
    (void)state;
    char s[] = "  satu\x01 \r\n dua\x7F  \t";
    email_line_clean(s);
    assert_string_equal(s, "satu dua");
    char t[] = "\r\n\r\nsatu  \r\ndua\rtiga\x02\r\n\r\n";
    email_text_clean(t);
    assert_string_equal(t, "satu\ndua\ntiga");
    char cut[] = "ab\xE2\x82\xAC";
    assert_true(email_utf8_cut(cut, 4));
    assert_string_equal(cut, "ab");
    bool fell_back = false;
    char *u = email_charset_to_utf8("utf-8//IGNORE", "\xE9", 1, NULL, &fell_back);
    assert_true(fell_back);
    assert_string_equal(u, "\xC3\xA9");
    free(u);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain),
        cmocka_unit_test(test_quoted_printable),
        cmocka_unit_test(test_base64),
        cmocka_unit_test(test_charsets),
        cmocka_unit_test(test_encoded_words),
        cmocka_unit_test(test_html_only),
        cmocka_unit_test(test_attachments),
        cmocka_unit_test(test_attachment_limits),
        cmocka_unit_test(test_malformed_quarantined),
        cmocka_unit_test(test_automatic),
        cmocka_unit_test(test_ticket_and_status),
        cmocka_unit_test(test_bounce),
        cmocka_unit_test(test_too_large),
        cmocka_unit_test(test_hostile),
        cmocka_unit_test(test_html_helper),
        cmocka_unit_test(test_charset_helpers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
