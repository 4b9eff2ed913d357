/*  test_email_message.c - the mail a citizen gets for a DELIVER (channels/email/message.c),
    read back with libetpan's parser as a mail client would: headers, RFC 2047 words,
    folding, quoted-printable, attachments, and what a stranger's text must not do (add a
    header, smuggle a second recipient). */
#include "message.h"

#include <libetpan/libetpan.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

/* 2026-11-28T01:02:03Z */
#define DATE_MS 1795827723000LL
#define FROM_ADDR "pengaduan@dpmptsp.example.go.id"
#define TO_ADDR "siti.aminah@example.org"

static const email_message_env_t ENV = {
    .from_addr = FROM_ADDR,
    .from_name = "Layanan Pengaduan DPMPTSP",
    .date_ms = DATE_MS,
};

/* ---- helpers ------------------------------------------------------------------------------ */

static aduan_msg_t *deliver_new(const char *subject, const char *text)
{
    aduan_msg_t *d = aduan_msg_new(ADUAN_MSG_DELIVER);
    assert_non_null(d);
    d->deliver.outbox_id = 7;
    assert_int_equal(aduan_msg_set(&d->deliver.channel, "email"), 0);
    assert_int_equal(aduan_msg_set(&d->deliver.kind, "ack"), 0);
    assert_int_equal(aduan_msg_set(&d->deliver.ticket, "ADU-2026-00042"), 0);
    assert_int_equal(aduan_msg_set(&d->deliver.to_addr, TO_ADDR), 0);
    assert_int_equal(aduan_msg_set(&d->deliver.to_name, "Siti Aminah"), 0);
    assert_int_equal(aduan_msg_set(&d->deliver.subject, subject), 0);
    assert_int_equal(aduan_msg_set(&d->deliver.text, text), 0);
    assert_int_equal(aduan_msg_set(&d->deliver.message_id, "ADU-2026-00042.ack.0a1b2c3d@aduan"),
                     0);
    d->deliver.attempt = 1;
    return d;
}

static char *build(const aduan_msg_t *d, size_t *size)
{
    char reason[256] = "";
    char *text = email_message_build(d, &ENV, size, reason, sizeof reason);
    if (!text)
        fail_msg("refused: %s", reason);
    assert_int_equal(strlen(text), *size);
    return text;
}

/* Every line ends with CRLF, no bare CR or LF, none over max bytes (CRLF not counted). */
static void assert_lines(const char *text, size_t max)
{
    size_t col = 0;
    for (const char *p = text; *p; p++) {
        if (*p == '\r') {
            assert_int_equal(p[1], '\n');
            col = 0;
            p++;
        } else {
            assert_int_not_equal(*p, '\n');
            if (++col > max)
                fail_msg("line longer than %zu: %.*s", max, 80, p - col + 1);
        }
    }
    assert_int_equal(col, 0);
}

/* The header block: everything up to the first empty line. Caller frees. */
static char *head_of(const char *text)
{
    const char *end = strstr(text, "\r\n\r\n");
    assert_non_null(end);
    return strndup(text, (size_t)(end - text) + 2);
}

/* The unfolded value of the first header field `name`, NULL when absent. Caller frees. */
static char *header(const char *text, const char *name)
{
    char *head = head_of(text);
    size_t nlen = strlen(name);
    char *value = NULL;
    for (const char *line = head; *line;) {
        if (strncasecmp(line, name, nlen) == 0 && line[nlen] == ':') {
            const char *p = line + nlen + 1;
            p += *p == ' ';
            value = calloc(1, strlen(p) + 1);
            size_t len = 0;
            for (; *p; p++) {
                if (p[0] == '\r' && p[1] == '\n') {
                    if (p[2] != ' ' && p[2] != '\t')
                        break;
                    p++;
                    continue;
                }
                value[len++] = *p;
            }
            break;
        }
        line = strstr(line, "\r\n") + 2;
    }
    free(head);
    return value;
}

/* The names of the header fields, one per line, "From\nTo\n...". Caller frees. */
static char *field_names(const char *text)
{
    char *head = head_of(text);
    char *names = calloc(1, strlen(head) + 1);
    for (const char *line = head; *line; line = strstr(line, "\r\n") + 2) {
        if (*line == ' ' || *line == '\t')
            continue;
        strncat(names, line, strcspn(line, ":"));
        strcat(names, "\n");
    }
    free(head);
    return names;
}

/* What a mail client shows for an encoded header value. Caller frees. */
static char *decoded(const char *value)
{
    size_t index = 0;
    char *out = NULL;
    assert_int_equal(mailmime_encoded_phrase_parse("us-ascii", value, strlen(value), &index,
                                                   "utf-8", &out),
                     MAILIMF_NO_ERROR);
    return out;
}

/* The decoded content of a single-part body or a MIME part's data. Caller frees. */
static char *decode_data(const struct mailmime_data *data, size_t *len)
{
    size_t index = 0, rlen = 0;
    char *r = NULL;
    assert_int_equal(mailmime_part_parse(data->dt_data.dt_text.dt_data,
                                         data->dt_data.dt_text.dt_length, &index,
                                         data->dt_encoding, &r, &rlen),
                     MAILIMF_NO_ERROR);
    char *copy = malloc(rlen + 1);
    memcpy(copy, r, rlen);
    copy[rlen] = '\0';
    mailmime_decoded_part_free(r);
    *len = rlen;
    return copy;
}

static struct mailmime *parse(const char *text, size_t size)
{
    size_t index = 0;
    struct mailmime *mime = NULL;
    assert_int_equal(mailmime_parse(text, size, &index, &mime), MAILIMF_NO_ERROR);
    return mime;
}

/* The body's text as the client shows it (single part). Caller frees. */
static char *body_text(const char *text, size_t size)
{
    struct mailmime *mime = parse(text, size);
    struct mailmime *body = mime->mm_data.mm_message.mm_msg_mime;
    assert_int_equal(body->mm_type, MAILMIME_SINGLE);
    size_t len;
    char *out = decode_data(body->mm_data.mm_single, &len);
    mailmime_free(mime);
    return out;
}

static void assert_header(const char *text, const char *name, const char *expected)
{
    char *v = header(text, name);
    if (!v)
        fail_msg("no %s:", name);
    assert_string_equal(v, expected);
    free(v);
}

/* ---- tests -------------------------------------------------------------------------------- */

static void test_headers_of_an_acknowledgement(void **state)
{
    (void)state;
    setenv("TZ", "Asia/Jakarta", 1);
    tzset();
    aduan_msg_t *d = deliver_new("Pengaduan Anda diterima",
                                 "Terima kasih.\nNomor tiket: ADU-2026-00042\n");
    assert_int_equal(aduan_msg_set(&d->deliver.in_reply_to, "CAF00d.1@mail.example.org"), 0);
    assert_int_equal(aduan_msg_set(&d->deliver.references,
                                   "root.0@mail.example.org CAF00d.1@mail.example.org"), 0);
    d->deliver.automatic = true;
    size_t size;
    char *text = build(d, &size);

    assert_header(text, "From", "\"Layanan Pengaduan DPMPTSP\" <" FROM_ADDR ">");
    assert_header(text, "To", "\"Siti Aminah\" <" TO_ADDR ">");
    assert_header(text, "Subject", "[ADU-2026-00042] Pengaduan Anda diterima");
    assert_header(text, "Date", "Sat, 28 Nov 2026 08:02:03 +0700");
    assert_header(text, "Message-ID", "<ADU-2026-00042.ack.0a1b2c3d@aduan>");
    assert_header(text, "In-Reply-To", "<CAF00d.1@mail.example.org>");
    assert_header(text, "References", "<root.0@mail.example.org> <CAF00d.1@mail.example.org>");
    assert_header(text, "Auto-Submitted", "auto-replied");
    assert_header(text, "MIME-Version", "1.0");
    assert_header(text, "Content-Type", "text/plain; charset=UTF-8");
    assert_header(text, "Content-Transfer-Encoding", "quoted-printable");
    char *body = body_text(text, size);
    assert_string_equal(body, "Terima kasih.\r\nNomor tiket: ADU-2026-00042\r\n");
    free(body);
    assert_lines(text, 78);
    free(text);

    /* a response staff wrote is not automatic; a subject with its tag keeps one tag */
    d->deliver.automatic = false;
    assert_int_equal(aduan_msg_set(&d->deliver.subject, "Re: [ADU-2026-00042] Jalan rusak"), 0);
    text = build(d, &size);
    assert_null(header(text, "Auto-Submitted"));
    assert_header(text, "Subject", "Re: [ADU-2026-00042] Jalan rusak");
    free(text);

    /* a notice to staff is made by the system: no vacation responder answers it */
    assert_int_equal(aduan_msg_set(&d->deliver.kind, "notice"), 0);
    text = build(d, &size);
    assert_header(text, "Auto-Submitted", "auto-generated");
    free(text);
    aduan_msg_destroy(&d);
}

static void test_utf8_name_and_body(void **state)
{
    (void)state;
    aduan_msg_t *d = deliver_new("Tanggapan", "Yth. Ibu Ñoñí — jalan sudah diperbaiki ✓\n"
                                              "From here on: a line that starts with From\n.\n");
    assert_int_equal(aduan_msg_set(&d->deliver.to_name, "Ñoñí \"Siti\" Aminah"), 0);
    size_t size;
    char *text = build(d, &size);
    char *to = header(text, "To");
    assert_non_null(strstr(to, "=?UTF-8?B?"));
    char *shown = decoded(to);
    assert_string_equal(shown, "Ñoñí \"Siti\" Aminah <" TO_ADDR ">");
    char *body = body_text(text, size);
    assert_string_equal(body, "Yth. Ibu Ñoñí — jalan sudah diperbaiki ✓\r\n"
                              "From here on: a line that starts with From\r\n.\r\n");
    /* quoted-printable keeps body lines within 76 */
    const char *b = strstr(text, "\r\n\r\n") + 4;
    assert_lines(b, 76);
    free(body);
    free(shown);
    free(to);
    free(text);
    aduan_msg_destroy(&d);
}

static void test_long_utf8_subject_is_folded(void **state)
{
    (void)state;
    char subject[2048] = "";
    for (int i = 0; i < 12; i++)
        strcat(subject, "Keluhan pelayanan izin usaha — «lambat» ");
    strcat(subject, "😀 selesai");
    aduan_msg_t *d = deliver_new(subject, "isi");
    size_t size;
    char *text = build(d, &size);
    assert_lines(text, 76);
    char *value = header(text, "Subject");
    char *shown = decoded(value);
    char expected[2100];
    snprintf(expected, sizeof expected, "[ADU-2026-00042] %s", subject);
    assert_string_equal(shown, expected);
    free(shown);
    free(value);
    free(text);

    /* a long ASCII subject folds at spaces and reads back the same */
    char ascii[1024] = "";
    for (int i = 0; i < 20; i++)
        strcat(ascii, "jalan rusak di depan kantor kelurahan ");
    strcat(ascii, "tolong");
    assert_int_equal(aduan_msg_set(&d->deliver.subject, ascii), 0);
    text = build(d, &size);
    assert_lines(text, 78);
    value = header(text, "Subject");
    snprintf(expected, sizeof expected, "[ADU-2026-00042] %s", ascii);
    assert_string_equal(value, expected);
    free(value);
    free(text);
    aduan_msg_destroy(&d);
}

static void test_crlf_cannot_add_a_header(void **state)
{
    (void)state;
    aduan_msg_t *d = deliver_new("Halo\r\nBcc: evil@example.net\r\n\r\nbody",
                                 "teks\r\nBcc: evil@example.net\n");
    assert_int_equal(aduan_msg_set(&d->deliver.to_name, "Siti\r\nBcc: evil@example.net"), 0);
    assert_int_equal(aduan_msg_set(&d->deliver.in_reply_to,
                                   "a@b\r\nBcc: evil@example.net <x@y> ok.1@example.org"), 0);
    d->deliver.automatic = true;
    email_message_env_t env = ENV;
    env.from_name = "Layanan\nX-Evil: 1";
    size_t size;
    char reason[256];
    char *text = email_message_build(d, &env, &size, reason, sizeof reason);
    assert_non_null(text);
    assert_lines(text, 998);
    char *names = field_names(text);
    assert_string_equal(names, "From\nTo\nSubject\nDate\nMessage-ID\nIn-Reply-To\n"
                               "Auto-Submitted\nMIME-Version\nContent-Type\n"
                               "Content-Transfer-Encoding\n");
    assert_header(text, "Subject", "[ADU-2026-00042] Halo Bcc: evil@example.net body");
    assert_header(text, "To", "\"Siti Bcc: evil@example.net\" <" TO_ADDR ">");
    assert_header(text, "From", "\"Layanan X-Evil: 1\" <" FROM_ADDR ">");
    /* ids that are not ids are left out, the good ones stay, each in its own <> */
    assert_header(text, "In-Reply-To", "<a@b> <evil@example.net> <ok.1@example.org>");
    free(names);
    free(text);
    aduan_msg_destroy(&d);
}

static void test_bad_addresses_are_refused(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "siti@example.org, budi@example.org",
        "siti@example.org budi@example.org",
        "Siti <siti@example.org>",
        "<siti@example.org>",
        "siti@example.org\r\nBcc: evil@example.net",
        "siti@example.org\n",
        "siti@@example.org",
        "siti@example.org@evil.net",
        "@example.org",
        "siti@",
        "siti",
        "",
        ".siti@example.org",
        "si..ti@example.org",
        "siti@-example.org",
        "siti@example..org",
        "\"siti\"@example.org",
        "sïti@example.org",
        "siti@exämple.org",
        "siti@[127.0.0.1]",
        "(comment)siti@example.org",
    };
    aduan_msg_t *d = deliver_new("x", "y");
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_false(email_address_valid(bad[i]));
        assert_int_equal(aduan_msg_set(&d->deliver.to_addr, bad[i]), 0);
        size_t size;
        char reason[256] = "";
        char *text = email_message_build(d, &ENV, &size, reason, sizeof reason);
        if (text)
            fail_msg("accepted to_addr \"%s\"", bad[i]);
        assert_non_null(strstr(reason, "to_addr"));
    }
    assert_true(email_address_valid("siti.aminah+aduan@mail.example.org"));
    assert_true(email_address_valid("o'brien@example.org"));
    assert_true(email_address_valid("kantor@test.local"));
    /* and a Message-ID that is not one */
    assert_int_equal(aduan_msg_set(&d->deliver.to_addr, TO_ADDR), 0);
    assert_int_equal(aduan_msg_set(&d->deliver.message_id, "x>\r\nBcc: evil@example.net"), 0);
    size_t size;
    char reason[256] = "";
    assert_null(email_message_build(d, &ENV, &size, reason, sizeof reason));
    assert_non_null(strstr(reason, "message_id"));
    aduan_msg_destroy(&d);
}

static void test_attachments_make_multipart(void **state)
{
    (void)state;
    aduan_msg_t *d = deliver_new("Tanggapan tertulis", "Terlampir tanggapan kami.\n");
    unsigned char pdf[3000];
    for (size_t i = 0; i < sizeof pdf; i++)
        pdf[i] = (unsigned char)(i * 7 + 3);
    assert_int_equal(aduan_msg_attach(d, "tanggapan ADU-2026-00042.pdf", "application/pdf", pdf,
                                      sizeof pdf),
                     0);
    assert_int_equal(aduan_msg_attach(d, "berita\r\nacara \"rapat\".txt", "text/plain\r\nX: 1",
                                      "isi", 3),
                     0);
    size_t size;
    char *text = build(d, &size);
    assert_lines(text, 78);
    char *ct = header(text, "Content-Type");
    assert_non_null(strstr(ct, "multipart/mixed;"));
    free(ct);

    struct mailmime *mime = parse(text, size);
    struct mailmime *body = mime->mm_data.mm_message.mm_msg_mime;
    assert_int_equal(body->mm_type, MAILMIME_MULTIPLE);
    clist *parts = body->mm_data.mm_multipart.mm_mp_list;
    assert_int_equal(clist_count(parts), 3);
    struct mailmime *p0 = clist_nth_data(parts, 0);
    struct mailmime *p1 = clist_nth_data(parts, 1);
    struct mailmime *p2 = clist_nth_data(parts, 2);
    size_t len;
    char *t = decode_data(p0->mm_data.mm_single, &len);
    assert_string_equal(t, "Terlampir tanggapan kami.\r\n");
    free(t);
    assert_string_equal(p1->mm_content_type->ct_subtype, "pdf");
    t = decode_data(p1->mm_data.mm_single, &len);
    assert_int_equal(len, sizeof pdf);
    assert_memory_equal(t, pdf, sizeof pdf);
    free(t);
    assert_non_null(strstr(text, "filename=\"tanggapan ADU-2026-00042.pdf\""));
    /* a bad content type becomes octet-stream; a name cannot break out of its quotes */
    assert_string_equal(p2->mm_content_type->ct_subtype, "octet-stream");
    assert_non_null(strstr(text, "filename=\"berita acara _rapat_.txt\""));
    t = decode_data(p2->mm_data.mm_single, &len);
    assert_int_equal(len, 3);
    assert_memory_equal(t, "isi", 3);
    free(t);
    mailmime_free(mime);
    free(text);
    aduan_msg_destroy(&d);
}

static void test_empty_subject_and_text(void **state)
{
    (void)state;
    aduan_msg_t *d = deliver_new(NULL, NULL);
    size_t size;
    char *text = build(d, &size);
    assert_header(text, "Subject", "[ADU-2026-00042]");
    char *body = body_text(text, size);
    assert_string_equal(body, "\r\n");
    free(body);
    free(text);
    /* no ticket (a staff notice) and no subject: no Subject line at all */
    assert_int_equal(aduan_msg_set(&d->deliver.ticket, NULL), 0);
    text = build(d, &size);
    assert_null(header(text, "Subject"));
    free(text);
    aduan_msg_destroy(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_headers_of_an_acknowledgement),
        cmocka_unit_test(test_utf8_name_and_body),
        cmocka_unit_test(test_long_utf8_subject_is_folded),
        cmocka_unit_test(test_crlf_cannot_add_a_header),
        cmocka_unit_test(test_bad_addresses_are_refused),
        cmocka_unit_test(test_attachments_make_multipart),
        cmocka_unit_test(test_empty_subject_and_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
