/*  test_template.c - placeholder expansion, template files, and the shipped templates. */
#include "aduan/template.h"

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#ifndef ADUAN_SOURCE_DIR
#error "ADUAN_SOURCE_DIR must name the source root"
#endif
#define SHIPPED ADUAN_SOURCE_DIR "/conf/templates"

static const aduan_template_var_t basic_vars[] = {
    {.name = "ticket", .value = "ADU-2026-00042"},
    {.name = "name", .value = "Budi"},
    {.name = "empty", .value = NULL},
    {.name = "ticket", .value = "second value, never used"},
    {.name = NULL},
};

static void check_expand(const char *tmpl, const aduan_template_var_t *vars, const char *want)
{
    char *got = aduan_template_expand(tmpl, vars);
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

/* ---- expansion ---- */

static void test_substitution(void **state)
{
    (void)state;
    check_expand("Tiket {{ticket}} atas nama {{name}}.", basic_vars,
                 "Tiket ADU-2026-00042 atas nama Budi.");
    check_expand("{{ticket}}{{ticket}}", basic_vars, "ADU-2026-00042ADU-2026-00042");
    check_expand("no placeholders", basic_vars, "no placeholders");
    check_expand("", basic_vars, "");
    check_expand("[{{empty}}]", basic_vars, "[]");
}

static void test_spaces_inside_braces(void **state)
{
    (void)state;
    check_expand("{{ ticket }}|{{ticket  }}|{{\tname\t}}", basic_vars,
                 "ADU-2026-00042|ADU-2026-00042|Budi");
}

static void test_unknown_renders_empty(void **state)
{
    (void)state;
    check_expand("a{{nope}}b{{ Ticket }}c", basic_vars, "abc"); /* names are case-sensitive */
    check_expand("a{{ticket}}b", NULL, "ab");
}

static void test_values_not_expanded_again(void **state)
{
    (void)state;
    const aduan_template_var_t vars[] = {
        {.name = "ticket", .value = "ADU-2026-00042"},
        {.name = "summary", .value = "saya tulis {{ticket}} dan {{ summary }} dan {{"},
        {.name = NULL},
    };
    check_expand("Ringkasan: {{summary}} / {{ticket}}", vars,
                 "Ringkasan: saya tulis {{ticket}} dan {{ summary }} dan {{ / ADU-2026-00042");
}

static void test_unclosed_and_odd_braces(void **state)
{
    (void)state;
    check_expand("a {{ticket", basic_vars, "a {{ticket");
    check_expand("{{", basic_vars, "{{");
    check_expand("x{{ticket}", basic_vars, "x{{ticket}");
    check_expand("{{}}", basic_vars, "{{}}");
    check_expand("{{ two words }}", basic_vars, "{{ two words }}");
    check_expand("{{na-me}}", basic_vars, "{{na-me}}");
    check_expand("{{{ticket}}}", basic_vars, "{ADU-2026-00042}");
    check_expand("}} {ticket} {", basic_vars, "}} {ticket} {");
    check_expand("{{ticket {{ticket}}", basic_vars, "{{ticket ADU-2026-00042");
}

static void test_expand_null(void **state)
{
    (void)state;
    errno = 0;
    assert_null(aduan_template_expand(NULL, basic_vars));
    assert_int_equal(errno, EINVAL);
}

/* ---- files ---- */

static char tmpdir[64];

static void write_file(const char *rel, const char *data, size_t size)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", tmpdir, rel);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, size, f), size);
    assert_int_equal(fclose(f), 0);
}

static void write_text(const char *rel, const char *text)
{
    write_file(rel, text, strlen(text));
}

static int make_fixture(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/aduan-tpl-XXXXXX");
    if (mkdtemp(tmpdir) == NULL)
        return -1;
    char path[128];
    snprintf(path, sizeof path, "%s/id", tmpdir);
    if (mkdir(path, 0700) != 0)
        return -1;
    snprintf(path, sizeof path, "%s/en", tmpdir);
    if (mkdir(path, 0700) != 0)
        return -1;
    return 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int remove_fixture(void **state)
{
    (void)state;
    return nftw(tmpdir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void render_ok(const char *language, const char *name, const aduan_template_var_t *vars,
                      aduan_rendered_t *out)
{
    char reason[256] = "untouched";
    int rc = aduan_template_render(tmpdir, language, name, vars, out, reason, sizeof reason);
    if (rc != 0)
        fail_msg("render %s/%s: %s", language, name, reason);
    assert_string_equal(reason, "");
    assert_non_null(out->subject);
    assert_non_null(out->text);
}

static void test_subject_line(void **state)
{
    (void)state;
    aduan_rendered_t r;

    write_text("id/mail.txt", "Subject: [{{ticket}}] Pengaduan diterima  \n\nYth. {{name}}\n\nIsi.\n");
    render_ok("id", "mail", basic_vars, &r);
    assert_string_equal(r.subject, "[ADU-2026-00042] Pengaduan diterima");
    assert_string_equal(r.text, "Yth. Budi\n\nIsi.");
    aduan_rendered_clear(&r);
    assert_null(r.subject);
    assert_null(r.text);
    aduan_rendered_clear(&r); /* twice is fine */

    /* no empty line after the subject */
    write_text("id/tight.txt", "Subject:Halo\nBaris 1\nBaris 2");
    render_ok("id", "tight", basic_vars, &r);
    assert_string_equal(r.subject, "Halo");
    assert_string_equal(r.text, "Baris 1\nBaris 2");
    aduan_rendered_clear(&r);

    /* no subject line; only one trailing newline is dropped */
    write_text("id/plain.txt", "Tiket {{ticket}}\n\n");
    render_ok("id", "plain", basic_vars, &r);
    assert_string_equal(r.subject, "");
    assert_string_equal(r.text, "Tiket ADU-2026-00042\n");
    aduan_rendered_clear(&r);

    /* "Subject:" only counts on the first line */
    write_text("id/later.txt", "Halo\nSubject: bukan\n");
    render_ok("id", "later", basic_vars, &r);
    assert_string_equal(r.subject, "");
    assert_string_equal(r.text, "Halo\nSubject: bukan");
    aduan_rendered_clear(&r);

    /* subject only */
    write_text("id/onlysubj.txt", "Subject: S {{ticket}}");
    render_ok("id", "onlysubj", basic_vars, &r);
    assert_string_equal(r.subject, "S ADU-2026-00042");
    assert_string_equal(r.text, "");
    aduan_rendered_clear(&r);

    /* empty file */
    write_text("id/empty.txt", "");
    render_ok("id", "empty", basic_vars, &r);
    assert_string_equal(r.subject, "");
    assert_string_equal(r.text, "");
    aduan_rendered_clear(&r);
}

static void test_crlf_and_bom(void **state)
{
    (void)state;
    aduan_rendered_t r;
    write_text("id/win.txt", "\xEF\xBB\xBFSubject: Halo {{name}}\r\n\r\nBaris 1\r\nBaris 2\r\n");
    render_ok("id", "win", basic_vars, &r);
    assert_string_equal(r.subject, "Halo Budi");
    assert_string_equal(r.text, "Baris 1\nBaris 2");
    aduan_rendered_clear(&r);
}

static void test_subject_stays_one_line(void **state)
{
    (void)state;
    const aduan_template_var_t vars[] = {
        {.name = "subject", .value = "Izin\r\nBcc: victim@example.org"},
        {.name = NULL},
    };
    aduan_rendered_t r;
    write_text("id/inject.txt", "Subject: Re: {{subject}}\n\nPerihal: {{subject}}\n");
    render_ok("id", "inject", vars, &r);
    assert_string_equal(r.subject, "Re: Izin  Bcc: victim@example.org");
    assert_string_equal(r.text, "Perihal: Izin\r\nBcc: victim@example.org"); /* body as given */
    aduan_rendered_clear(&r);
}

static void test_language_fallback(void **state)
{
    (void)state;
    aduan_rendered_t r;
    write_text("id/both.txt", "Subject: Halo\n\nBahasa Indonesia");
    write_text("en/both.txt", "Subject: Hello\n\nEnglish");
    write_text("id/idonly.txt", "Hanya bahasa Indonesia {{ticket}}");

    render_ok("en", "both", basic_vars, &r);
    assert_string_equal(r.subject, "Hello");
    assert_string_equal(r.text, "English");
    aduan_rendered_clear(&r);

    render_ok("en", "idonly", basic_vars, &r);
    assert_string_equal(r.text, "Hanya bahasa Indonesia ADU-2026-00042");
    aduan_rendered_clear(&r);

    render_ok("jv", "both", basic_vars, &r); /* no such language folder at all */
    assert_string_equal(r.text, "Bahasa Indonesia");
    aduan_rendered_clear(&r);

    render_ok(NULL, "both", basic_vars, &r);
    assert_string_equal(r.text, "Bahasa Indonesia");
    aduan_rendered_clear(&r);

    render_ok("", "both", basic_vars, &r);
    assert_string_equal(r.text, "Bahasa Indonesia");
    aduan_rendered_clear(&r);
}

static void expect_failure(const char *language, const char *name, int want_errno,
                           const char *reason_has)
{
    aduan_rendered_t r = {.subject = (char *)"junk", .text = (char *)"junk"};
    char reason[512] = "";
    errno = 0;
    assert_int_equal(
        aduan_template_render(tmpdir, language, name, basic_vars, &r, reason, sizeof reason), -1);
    assert_int_equal(errno, want_errno);
    assert_null(r.subject);
    assert_null(r.text);
    if (reason_has != NULL && strstr(reason, reason_has) == NULL)
        fail_msg("reason \"%s\" does not mention \"%s\"", reason, reason_has);
}

static void test_not_found(void **state)
{
    (void)state;
    char want[256];
    snprintf(want, sizeof want, "%s/en/missing.txt", tmpdir);
    expect_failure("en", "missing", ENOENT, want);
    snprintf(want, sizeof want, "%s/id/missing.txt", tmpdir);
    expect_failure("en", "missing", ENOENT, want);
    expect_failure("id", "missing", ENOENT, want);

    /* reason is optional */
    aduan_rendered_t r;
    errno = 0;
    assert_int_equal(aduan_template_render(tmpdir, "id", "missing", NULL, &r, NULL, 0), -1);
    assert_int_equal(errno, ENOENT);
}

static void test_invalid_names(void **state)
{
    (void)state;
    write_text("id/ok.txt", "ok");
    expect_failure("id", "../x", EINVAL, NULL);
    expect_failure("id", "../../etc/passwd", EINVAL, NULL);
    expect_failure("id", "x/y", EINVAL, NULL);
    expect_failure("id", "Ack", EINVAL, NULL);
    expect_failure("id", "ack.txt", EINVAL, NULL);
    expect_failure("id", "ack-sms", EINVAL, NULL);
    expect_failure("id", "", EINVAL, NULL);
    expect_failure("id", NULL, EINVAL, NULL);
    expect_failure("../id", "ok", EINVAL, NULL);
    expect_failure("id/..", "ok", EINVAL, NULL);
    expect_failure("en\n", "ok", EINVAL, NULL);
    char longname[80];
    memset(longname, 'a', 65);
    longname[65] = '\0';
    expect_failure("id", longname, EINVAL, NULL);

    aduan_rendered_t r;
    render_ok("id", "ok", NULL, &r);
    aduan_rendered_clear(&r);
    errno = 0;
    assert_int_equal(aduan_template_render(tmpdir, "id", "ok", NULL, NULL, NULL, 0), -1);
    assert_int_equal(errno, EINVAL);
    assert_int_equal(aduan_template_render(NULL, "id", "ok", NULL, &r, NULL, 0), -1);
    assert_int_equal(errno, EINVAL);
}

static void test_size_limit(void **state)
{
    (void)state;
    char *big = malloc(ADUAN_TEMPLATE_MAX + 1);
    assert_non_null(big);
    memset(big, 'x', ADUAN_TEMPLATE_MAX + 1);

    write_file("id/fits.txt", big, ADUAN_TEMPLATE_MAX);
    aduan_rendered_t r;
    render_ok("id", "fits", NULL, &r);
    assert_int_equal(strlen(r.text), ADUAN_TEMPLATE_MAX);
    aduan_rendered_clear(&r);

    write_file("id/toobig.txt", big, ADUAN_TEMPLATE_MAX + 1);
    expect_failure("id", "toobig", EFBIG, "toobig.txt");
    free(big);
}

static void test_bad_content(void **state)
{
    (void)state;
    write_text("id/latin1.txt", "Subject: Caf\xe9\n\nx"); /* Windows-1252, not UTF-8 */
    expect_failure("id", "latin1", EILSEQ, "latin1.txt");
    write_file("id/nul.txt", "ab\0cd", 5);
    expect_failure("id", "nul", EILSEQ, "nul.txt");
}

static void test_existing_but_unreadable_does_not_fall_back(void **state)
{
    (void)state;
    write_text("id/dirtwin.txt", "id");
    char path[128];
    snprintf(path, sizeof path, "%s/en/dirtwin.txt", tmpdir);
    assert_int_equal(mkdir(path, 0700), 0);
    expect_failure("en", "dirtwin", EISDIR, "en/dirtwin.txt");
}

/* ---- the shipped templates ---- */

/* GSM 03.38 default alphabet, basic set (ESC and the extension table excluded). */
static const char gsm7_basic[] =
    "@\xC2\xA3$\xC2\xA5\xC3\xA8\xC3\xA9\xC3\xB9\xC3\xAC\xC3\xB2\xC3\x87\n\xC3\x98\xC3\xB8\r"
    "\xC3\x85\xC3\xA5\xCE\x94_\xCE\xA6\xCE\x93\xCE\x9B\xCE\xA9\xCE\xA0\xCE\xA8\xCE\xA3\xCE\x98"
    "\xCE\x9E\xC3\x86\xC3\xA6\xC3\x9F\xC3\x89 !\"#\xC2\xA4%&'()*+,-./0123456789:;<=>?"
    "\xC2\xA1" "ABCDEFGHIJKLMNOPQRSTUVWXYZ\xC3\x84\xC3\x96\xC3\x91\xC3\x9C\xC2\xA7\xC2\xBF"
    "abcdefghijklmnopqrstuvwxyz\xC3\xA4\xC3\xB6\xC3\xB1\xC3\xBC\xC3\xA0";

static size_t utf8_len(unsigned char lead)
{
    return lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
}

/* Counts characters; fails on the first one outside the GSM-7 basic set. */
static size_t gsm7_length(const char *what, const char *text)
{
    size_t chars = 0;
    for (const char *p = text; *p; chars++) {
        size_t len = utf8_len((unsigned char)*p);
        char ch[5] = {0};
        memcpy(ch, p, len);
        if (strstr(gsm7_basic, ch) == NULL)
            fail_msg("%s: character \"%s\" at %zu is not in the GSM-7 basic set", what, ch,
                     chars);
        p += len;
    }
    return chars;
}

static bool ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), m = strlen(tail);
    return n >= m && strcmp(s + n - m, tail) == 0;
}

/* Names of the shipped templates of one language, without ".txt". */
static size_t list_templates(const char *language, char names[][64], size_t max)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", SHIPPED, language);
    DIR *d = opendir(path);
    assert_non_null(d);
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        if (!ends_with(e->d_name, ".txt"))
            fail_msg("%s/%s: not a .txt template", path, e->d_name);
        size_t len = strlen(e->d_name) - 4;
        assert_true(len < 64 && n < max);
        memcpy(names[n], e->d_name, len);
        names[n][len] = '\0';
        n++;
    }
    closedir(d);
    return n;
}

static bool file_exists(const char *language, const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s/%s.txt", SHIPPED, language, name);
    return access(path, R_OK) == 0;
}

static void test_shipped_have_twins(void **state)
{
    (void)state;
    static const char *const required[] = {
        "ack",           "ack_sms",       "status",         "status_sms",
        "status_unknown", "status_unknown_sms", "notice_new", "notice_new_sms",
        "delivery_failed", "followup_ack", "followup_ack_sms",
    };
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++) {
        if (!file_exists("id", required[i]))
            fail_msg("missing id/%s.txt", required[i]);
    }
    char names[64][64];
    size_t n = list_templates("id", names, 64);
    for (size_t i = 0; i < n; i++) {
        if (!file_exists("en", names[i]))
            fail_msg("id/%s.txt has no en/ twin", names[i]);
    }
    n = list_templates("en", names, 64);
    for (size_t i = 0; i < n; i++) {
        if (!file_exists("id", names[i]))
            fail_msg("en/%s.txt has no id/ twin", names[i]);
    }
}

static const aduan_template_var_t full_vars[] = {
    {.name = "ticket", .value = "ADU-2026-00042"},
    {.name = "name", .value = "Budi Santoso"},
    {.name = "channel", .value = "email"},
    {.name = "received_at", .value = "28-11-2026 09:15 WIB"},
    {.name = "subject", .value = "Izin usaha belum terbit"},
    {.name = "summary",
     .value = "Saya mengajukan izin usaha melalui OSS sejak tiga bulan lalu namun sampai "
              "sekarang belum terbit dan ti"},
    {.name = "state", .value = "Sedang ditelaah"},
    {.name = "office", .value = "DPMPTSP Kabupaten Contoh"},
    {.name = "response_days", .value = "14"},
    {.name = "staff_name", .value = "Siti Rahmawati"},
    {.name = "from", .value = "bu***@example.org"},
    {.name = "reason", .value = "550 5.1.1 mailbox unavailable"},
    {.name = "to", .value = "bu***@example.org"},
    {.name = "kind", .value = "ack"},
    {.name = NULL},
};

/* The longest values an SMS template meets in practice (a 14-character ticket). */
static const aduan_template_var_t sms_vars[] = {
    {.name = "ticket", .value = "ADU-2026-00042"},
    {.name = "name", .value = ""},
    {.name = "channel", .value = "email"},
    {.name = "received_at", .value = "28-11-2026 09:15 WIB"},
    {.name = "subject", .value = "Izin usaha belum terbit"},
    {.name = "summary", .value = "Izin usaha belum terbit"},
    {.name = "state", .value = "Menunggu rapat pembahasan"},
    {.name = "office", .value = "DPMPTSP Kabupaten Contoh"},
    {.name = "response_days", .value = "14"},
    {.name = "staff_name", .value = "Siti Rahmawati"},
    {.name = "from", .value = "bu***@mail.example.go.id"},
    {.name = "reason", .value = "550 mailbox unavailable"},
    {.name = "to", .value = "+62812****7890"},
    {.name = "kind", .value = "followup_ack"},
    {.name = NULL},
};

static void check_shipped(const char *language, const char *name)
{
    bool sms = ends_with(name, "_sms");
    aduan_rendered_t r;
    char reason[512];
    char what[128];
    snprintf(what, sizeof what, "%s/%s.txt", language, name);

    /* rendered from its own file, not the fallback */
    assert_true(file_exists(language, name));
    if (aduan_template_render(SHIPPED, language, name, full_vars, &r, reason, sizeof reason) != 0)
        fail_msg("%s: %s", what, reason);
    if (strstr(r.subject, "{{") || strstr(r.text, "{{") || strstr(r.subject, "}}") ||
        strstr(r.text, "}}"))
        fail_msg("%s: a placeholder is left: %s / %s", what, r.subject, r.text);
    if (r.text[0] == '\0' || r.text[0] == '\n' || ends_with(r.text, "\n"))
        fail_msg("%s: text empty or with leading/trailing blank lines", what);
    if (sms && r.subject[0] != '\0')
        fail_msg("%s: an SMS template has no Subject: line", what);
    if (!sms && strstr(r.subject, "ADU-2026-00042") == NULL &&
        strcmp(name, "status_unknown") != 0 && strcmp(name, "monthly_summary") != 0)
        fail_msg("%s: the subject should carry the ticket: %s", what, r.subject);
    if (!sms && r.subject[0] == '\0')
        fail_msg("%s: an email template needs a Subject: line", what);
    aduan_rendered_clear(&r);

    if (!sms)
        return;
    if (aduan_template_render(SHIPPED, language, name, sms_vars, &r, reason, sizeof reason) != 0)
        fail_msg("%s: %s", what, reason);
    if (strchr(r.text, '\n') != NULL)
        fail_msg("%s: an SMS is one line", what);
    size_t chars = gsm7_length(what, r.text);
    size_t limit = strncmp(name, "ack_sms", 7) == 0 ? 150 : 160;
    if (chars > limit)
        fail_msg("%s: %zu characters, more than %zu: %s", what, chars, limit, r.text);
    print_message("%-28s %3zu chars\n", what, chars);
    aduan_rendered_clear(&r);
}

static void test_shipped_render(void **state)
{
    (void)state;
    static const char *const languages[] = {"id", "en"};
    for (size_t l = 0; l < 2; l++) {
        char names[64][64];
        size_t n = list_templates(languages[l], names, 64);
        assert_true(n >= 11);
        for (size_t i = 0; i < n; i++)
            check_shipped(languages[l], names[i]);
    }
}

static void test_shipped_ack_content(void **state)
{
    (void)state;
    aduan_rendered_t r;
    char reason[512];
    assert_int_equal(
        aduan_template_render(SHIPPED, "id", "ack", full_vars, &r, reason, sizeof reason), 0);
    assert_string_equal(r.subject, "[ADU-2026-00042] Pengaduan Anda telah kami terima");
    assert_non_null(strstr(r.text, "Undang-Undang Nomor 25 Tahun 2009"));
    assert_non_null(strstr(r.text, "paling lambat 14 hari"));
    assert_non_null(strstr(r.text, "CEK ADU-2026-00042"));
    assert_non_null(strstr(r.text, "otomatis"));
    assert_true(ends_with(r.text, "DPMPTSP Kabupaten Contoh"));
    aduan_rendered_clear(&r);

    assert_int_equal(
        aduan_template_render(SHIPPED, "id", "notice_new", full_vars, &r, reason, sizeof reason),
        0);
    assert_string_equal(r.subject, "[ADU-2026-00042] Pengaduan baru via email");
    assert_non_null(strstr(r.text, "Periksa dan verifikasi: aduanctl show ADU-2026-00042"));
    assert_non_null(strstr(r.text, "bu***@example.org"));
    aduan_rendered_clear(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_substitution),
        cmocka_unit_test(test_spaces_inside_braces),
        cmocka_unit_test(test_unknown_renders_empty),
        cmocka_unit_test(test_values_not_expanded_again),
        cmocka_unit_test(test_unclosed_and_odd_braces),
        cmocka_unit_test(test_expand_null),
        cmocka_unit_test_setup_teardown(test_subject_line, make_fixture, remove_fixture),
        cmocka_unit_test_setup_teardown(test_crlf_and_bom, make_fixture, remove_fixture),
        cmocka_unit_test_setup_teardown(test_subject_stays_one_line, make_fixture,
                                        remove_fixture),
        cmocka_unit_test_setup_teardown(test_language_fallback, make_fixture, remove_fixture),
        cmocka_unit_test_setup_teardown(test_not_found, make_fixture, remove_fixture),
        cmocka_unit_test_setup_teardown(test_invalid_names, make_fixture, remove_fixture),
        cmocka_unit_test_setup_teardown(test_size_limit, make_fixture, remove_fixture),
        cmocka_unit_test_setup_teardown(test_bad_content, make_fixture, remove_fixture),
        cmocka_unit_test_setup_teardown(test_existing_but_unreadable_does_not_fall_back,
                                        make_fixture, remove_fixture),
        cmocka_unit_test(test_shipped_have_twins),
        cmocka_unit_test(test_shipped_render),
        cmocka_unit_test(test_shipped_ack_content),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
