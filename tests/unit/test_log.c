/*  test_log.c - log line format, escaping, truncation, the level check, masks. */
#include "aduan/log.h"

#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

/* ---- capturing stderr ---- */

typedef struct {
    FILE *file;
    int saved_fd;
} capture_t;

static void capture_begin(capture_t *c)
{
    fflush(stderr);
    c->file = tmpfile();
    assert_non_null(c->file);
    c->saved_fd = dup(STDERR_FILENO);
    assert_true(c->saved_fd >= 0);
    assert_true(dup2(fileno(c->file), STDERR_FILENO) >= 0);
}

/* Restores stderr and returns what was written (caller frees). */
static char *capture_end(capture_t *c)
{
    assert_true(dup2(c->saved_fd, STDERR_FILENO) >= 0);
    close(c->saved_fd);
    /* written through the fd, not the FILE: ask the fd */
    off_t size = lseek(fileno(c->file), 0, SEEK_END);
    assert_true(size >= 0);
    char *text = malloc((size_t)size + 1);
    assert_non_null(text);
    assert_int_equal(pread(fileno(c->file), text, (size_t)size, 0), size);
    text[size] = '\0';
    fclose(c->file);
    return text;
}

static size_t count_char(const char *s, char c)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == c;
    return n;
}

static int reset_threshold(void **state)
{
    (void)state;
    aduan_log_threshold = ADUAN_LOG_INFO;
    return 0;
}

/* ---- levels ---- */

static void test_default_threshold_is_info(void **state)
{
    (void)state;
    assert_int_equal(aduan_log_threshold, ADUAN_LOG_INFO);
}

static void test_level_parse(void **state)
{
    (void)state;
    aduan_log_level_t level = ADUAN_LOG_ERROR;
    assert_int_equal(aduan_log_level_parse("debug", &level), 0);
    assert_int_equal(level, ADUAN_LOG_DEBUG);
    assert_int_equal(aduan_log_level_parse("info", &level), 0);
    assert_int_equal(level, ADUAN_LOG_INFO);
    assert_int_equal(aduan_log_level_parse("warn", &level), 0);
    assert_int_equal(level, ADUAN_LOG_WARN);
    assert_int_equal(aduan_log_level_parse("warning", &level), 0);
    assert_int_equal(level, ADUAN_LOG_WARN);
    assert_int_equal(aduan_log_level_parse("error", &level), 0);
    assert_int_equal(level, ADUAN_LOG_ERROR);
    assert_int_equal(aduan_log_level_parse("DEBUG", &level), 0);
    assert_int_equal(level, ADUAN_LOG_DEBUG);

    level = ADUAN_LOG_WARN;
    assert_int_equal(aduan_log_level_parse("verbose", &level), -1);
    assert_int_equal(aduan_log_level_parse("", &level), -1);
    assert_int_equal(aduan_log_level_parse("info ", &level), -1);
    assert_int_equal(aduan_log_level_parse(NULL, &level), -1);
    assert_int_equal(level, ADUAN_LOG_WARN); /* untouched on failure */
    assert_int_equal(aduan_log_level_parse("info", NULL), -1);
}

/* ---- line format ---- */

static void test_line_format(void **state)
{
    (void)state;
    capture_t c;
    time_t before = time(NULL);
    capture_begin(&c);
    log_info("core", "ADU-2026-00042 intake channel=%s parts=%d", "sms", 2);
    char *out = capture_end(&c);
    time_t after = time(NULL);

    regex_t re;
    assert_int_equal(regcomp(&re,
                             "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z "
                             "I core ADU-2026-00042 intake channel=sms parts=2\n$",
                             REG_EXTENDED | REG_NOSUB),
                     0);
    assert_int_equal(regexec(&re, out, 0, NULL, 0), 0);
    regfree(&re);

    /* the stamp is UTC and now */
    struct tm tm = {0};
    assert_non_null(strptime(out, "%Y-%m-%dT%H:%M:%S", &tm));
    time_t stamp = timegm(&tm);
    assert_true(stamp >= before - 1 && stamp <= after + 1);
    free(out);
}

static void test_level_letters(void **state)
{
    (void)state;
    aduan_log_threshold = ADUAN_LOG_DEBUG;
    capture_t c;
    capture_begin(&c);
    log_debug("sms", "d");
    log_info("sms", "i");
    log_warn("sms", "w");
    log_error("sms", "e");
    char *out = capture_end(&c);
    assert_int_equal(count_char(out, '\n'), 4);
    assert_non_null(strstr(out, "Z D sms d\n"));
    assert_non_null(strstr(out, "Z I sms i\n"));
    assert_non_null(strstr(out, "Z W sms w\n"));
    assert_non_null(strstr(out, "Z E sms e\n"));
    free(out);
}

static void test_component_is_one_word(void **state)
{
    (void)state;
    capture_t c;
    capture_begin(&c);
    log_info(NULL, "x");
    log_info("", "y");
    log_info("bad comp\n", "z");
    char *out = capture_end(&c);
    assert_int_equal(count_char(out, '\n'), 3);
    assert_non_null(strstr(out, "Z I - x\n"));
    assert_non_null(strstr(out, "Z I - y\n"));
    assert_non_null(strstr(out, "Z I bad_comp_ z\n"));
    free(out);
}

/* ---- the level is checked before formatting ---- */

static int calls;

static const char *counted(void)
{
    calls++;
    return "computed";
}

static void test_level_checked_before_formatting(void **state)
{
    (void)state;
    calls = 0;
    aduan_log_threshold = ADUAN_LOG_WARN;
    capture_t c;
    capture_begin(&c);
    log_debug("core", "%s", counted());
    log_info("core", "%s", counted());
    aduan_log_write(ADUAN_LOG_INFO, "core", "direct %s", "call"); /* also filtered */
    char *below = capture_end(&c);
    assert_int_equal(calls, 0);
    assert_string_equal(below, "");
    free(below);

    capture_begin(&c);
    log_warn("core", "%s", counted());
    log_error("core", "%s", counted());
    char *above = capture_end(&c);
    assert_int_equal(calls, 2);
    assert_int_equal(count_char(above, '\n'), 2);
    assert_non_null(strstr(above, "W core computed\n"));
    free(above);
}

/* ---- escaping ---- */

static void test_escapes_control_characters(void **state)
{
    (void)state;
    capture_t c;
    capture_begin(&c);
    log_info("sms", "text=%s", "line1\nline2\r\n\tTab\x1b[31mred\x7f end");
    char *out = capture_end(&c);
    assert_int_equal(count_char(out, '\n'), 1);
    assert_int_equal(count_char(out, '\r'), 0);
    assert_non_null(strstr(out, "text=line1\\nline2\\r\\n\\tTab\\x1b[31mred\\x7f end\n"));
    free(out);
}

static void test_escapes_bad_utf8_keeps_good(void **state)
{
    (void)state;
    capture_t c;
    capture_begin(&c);
    /* valid: é, …, 😀; invalid: lone 0xff, a cut sequence, overlong '/', C1 NEL */
    log_info("email", "%s|%s|%s|%s|%s|%s", "caf\xc3\xa9", "\xe2\x80\xa6", "\xf0\x9f\x98\x80",
             "\xff", "\xe2\x80", "\xc0\xaf");
    log_info("email", "nel=%s", "a\xc2\x85" "b");
    char *out = capture_end(&c);
    assert_int_equal(count_char(out, '\n'), 2);
    assert_non_null(strstr(out, "caf\xc3\xa9|\xe2\x80\xa6|\xf0\x9f\x98\x80|\\xff|\\xe2\\x80|"
                                "\\xc0\\xaf\n"));
    assert_non_null(strstr(out, "nel=a\\xc2\\x85b\n"));
    free(out);
}

static void test_percent_m_and_errno_kept(void **state)
{
    (void)state;
    capture_t c;
    capture_begin(&c);
    errno = EACCES;
    log_error("files", "open spool: %m");
    int after = errno;
    char *out = capture_end(&c);
    assert_int_equal(after, EACCES);
    char want[256];
    snprintf(want, sizeof want, "E files open spool: %s\n", strerror(EACCES));
    assert_non_null(strstr(out, want));
    free(out);
}

/* ---- truncation ---- */

static bool valid_utf8(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        size_t len = *p < 0x80 ? 1 : (*p & 0xE0) == 0xC0 ? 2 : (*p & 0xF0) == 0xE0 ? 3
                                   : (*p & 0xF8) == 0xF0 ? 4 : 0;
        if (len == 0)
            return false;
        for (size_t i = 1; i < len; i++)
            if ((p[i] & 0xC0) != 0x80)
                return false;
        p += len;
    }
    return true;
}

static bool ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), m = strlen(tail);
    return n >= m && strcmp(s + n - m, tail) == 0;
}

/* "2026-11-28T01:02:03.123Z I core " */
#define PREFIX_LEN 32

static void test_long_line_truncated(void **state)
{
    (void)state;
    char *big = malloc(10001);
    assert_non_null(big);
    memset(big, 'a', 10000);
    big[10000] = '\0';

    capture_t c;
    capture_begin(&c);
    log_info("core", "%s", big);
    char *out = capture_end(&c);
    assert_int_equal(count_char(out, '\n'), 1);
    assert_true(strlen(out) <= ADUAN_LOG_LINE_MAX);
    assert_true(strlen(out) >= ADUAN_LOG_LINE_MAX - 4);
    assert_true(ends_with(out, "a\xe2\x80\xa6\n"));
    free(out);
    free(big);
}

static void test_truncation_keeps_escapes_whole(void **state)
{
    (void)state;
    char *nl = malloc(3001);
    assert_non_null(nl);
    memset(nl, '\n', 3000); /* 6000 bytes once escaped */
    nl[3000] = '\0';

    capture_t c;
    capture_begin(&c);
    log_info("core", "%s", nl);
    char *out = capture_end(&c);
    assert_int_equal(count_char(out, '\n'), 1);
    assert_true(strlen(out) <= ADUAN_LOG_LINE_MAX);
    assert_true(ends_with(out, "\\n\xe2\x80\xa6\n"));
    /* the message is "\n" pairs only, none cut in half */
    const char *msg = out + PREFIX_LEN;
    size_t msglen = strlen(msg) - 4; /* "…\n" */
    assert_int_equal(msglen % 2, 0);
    for (size_t i = 0; i < msglen; i += 2)
        assert_memory_equal(msg + i, "\\n", 2);
    free(out);
    free(nl);
}

static void test_truncation_keeps_characters_whole(void **state)
{
    (void)state;
    /* 2-byte characters after an odd-length start, so a byte cut would split one */
    char text[6001] = "x";
    for (size_t i = 1; i + 2 <= 6000; i += 2)
        memcpy(text + i, "\xc3\xa9", 2);
    text[5999] = '\0';

    capture_t c;
    capture_begin(&c);
    log_info("core", "%s", text);
    log_info("core", "%s", text + 1);
    char *out = capture_end(&c);
    assert_int_equal(count_char(out, '\n'), 2);
    assert_true(valid_utf8(out));
    assert_null(strstr(out, "\\x")); /* nothing was cut into invalid bytes */
    char *second = strchr(out, '\n') + 1;
    assert_true((size_t)(second - out) <= ADUAN_LOG_LINE_MAX);
    assert_true(strlen(second) <= ADUAN_LOG_LINE_MAX);
    free(out);
}

static void test_exact_fit_not_truncated(void **state)
{
    (void)state;
    size_t room = ADUAN_LOG_LINE_MAX - PREFIX_LEN - 1;
    char *msg = malloc(room + 2);
    assert_non_null(msg);
    memset(msg, 'b', room + 1);
    msg[room] = '\0';

    capture_t c;
    capture_begin(&c);
    log_info("core", "%s", msg);
    char *out = capture_end(&c);
    assert_int_equal(strlen(out), ADUAN_LOG_LINE_MAX);
    assert_true(ends_with(out, "bbb\n"));
    free(out);

    msg[room] = 'b';
    msg[room + 1] = '\0';
    capture_begin(&c);
    log_info("core", "%s", msg);
    out = capture_end(&c);
    assert_true(strlen(out) <= ADUAN_LOG_LINE_MAX);
    assert_true(ends_with(out, "b\xe2\x80\xa6\n"));
    free(out);
    free(msg);
}

/* ---- masks ---- */

static void check_phone(const char *in, const char *want)
{
    char out[ADUAN_MASK_MAX];
    assert_ptr_equal(aduan_mask_phone(in, out, sizeof out), out);
    assert_string_equal(out, want);
}

static void check_email(const char *in, const char *want)
{
    char out[ADUAN_MASK_MAX];
    assert_ptr_equal(aduan_mask_email(in, out, sizeof out), out);
    assert_string_equal(out, want);
}

static void test_mask_phone(void **state)
{
    (void)state;
    check_phone("+6281234567890", "+62812****7890");
    check_phone("+62812345678901", "+62812*****8901");
    check_phone("+628123456789", "+6281****6789"); /* at least 4 hidden */
    check_phone("081234567890", "0812****7890");
    check_phone("0812345678", "08****5678");
    check_phone("123456789", "1****6789");
    check_phone("12345678", "******78");
    check_phone("1500", "**00");
    check_phone("123", "*23");
    check_phone("12", "**");
    check_phone("7", "*");
    check_phone("", "-");
    check_phone(NULL, "-");
}

static void test_mask_email(void **state)
{
    (void)state;
    check_email("budi.santoso@example.org", "bu***@example.org");
    check_email("a@x.org", "a***@x.org");
    check_email("ab@x.org", "ab***@x.org");
    check_email("@x.org", "***@x.org");
    check_email("budi@", "bu***@");
    check_email("\"a@b\"@x.org", "\"a***@x.org"); /* the last '@' splits */
    check_email("\xc3\xa9ric@x.org", "\xc3\xa9r***@x.org"); /* characters, not bytes */
    check_email("+6281234567890", "+62812****7890");       /* no '@': a phone */
    check_email("", "-");
    check_email(NULL, "-");
}

static void test_mask_address_picks(void **state)
{
    (void)state;
    char out[ADUAN_MASK_MAX];
    assert_string_equal(aduan_mask_address("budi.santoso@example.org", out, sizeof out),
                        "bu***@example.org");
    assert_string_equal(aduan_mask_address("+6281234567890", out, sizeof out),
                        "+62812****7890");
    assert_string_equal(aduan_mask_address(NULL, out, sizeof out), "-");
    assert_string_equal(aduan_mask_address("", out, sizeof out), "-");
}

typedef const char *(*mask_fn)(const char *, char *, size_t);

/* For every outlen: NUL-terminated, nothing written past outlen, a prefix of the full mask. */
static void check_tiny(mask_fn fn, const char *in)
{
    char full[ADUAN_MASK_MAX];
    fn(in, full, sizeof full);
    for (size_t outlen = 1; outlen < 40; outlen++) {
        char buf[64];
        memset(buf, 'Z', sizeof buf);
        const char *r = fn(in, buf, outlen);
        assert_ptr_equal(r, buf);
        size_t len = strlen(buf);
        assert_true(len < outlen);
        assert_memory_equal(buf, full, len);
        for (size_t i = outlen; i < sizeof buf; i++)
            assert_int_equal(buf[i], 'Z');
    }
}

static void test_mask_tiny_buffers(void **state)
{
    (void)state;
    static const char *inputs[] = {"+6281234567890", "12345678", "budi.santoso@example.org",
                                   "a@x.org", "", NULL};
    for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
        check_tiny(aduan_mask_phone, inputs[i]);
        check_tiny(aduan_mask_email, inputs[i]);
        check_tiny(aduan_mask_address, inputs[i]);
    }

    char buf[8];
    assert_string_equal(aduan_mask_phone("+6281234567890", buf, 1), "");
    assert_string_equal(aduan_mask_phone("+6281234567890", buf, 5), "+628");
    assert_string_equal(aduan_mask_email("budi.santoso@example.org", buf, 6), "bu***");
    assert_string_equal(aduan_mask_phone(NULL, buf, 2), "-");

    /* outlen 0: nothing written, still something printable */
    memset(buf, 'Z', sizeof buf);
    const char *r = aduan_mask_phone("+6281234567890", buf, 0);
    assert_non_null(r);
    assert_string_equal(r, "");
    assert_int_equal(buf[0], 'Z');
    assert_string_equal(aduan_mask_email("a@x.org", NULL, 0), "");
}

static void test_mask_long_input(void **state)
{
    (void)state;
    char in[300];
    memset(in, '9', sizeof in - 1);
    in[sizeof in - 1] = '\0';
    char out[ADUAN_MASK_MAX];
    aduan_mask_phone(in, out, sizeof out);
    assert_int_equal(strlen(out), ADUAN_MASK_MAX - 1);
    assert_memory_equal(out, "999999*****", 11);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_threshold_is_info),
        cmocka_unit_test_teardown(test_level_parse, reset_threshold),
        cmocka_unit_test_teardown(test_line_format, reset_threshold),
        cmocka_unit_test_teardown(test_level_letters, reset_threshold),
        cmocka_unit_test_teardown(test_component_is_one_word, reset_threshold),
        cmocka_unit_test_teardown(test_level_checked_before_formatting, reset_threshold),
        cmocka_unit_test_teardown(test_escapes_control_characters, reset_threshold),
        cmocka_unit_test_teardown(test_escapes_bad_utf8_keeps_good, reset_threshold),
        cmocka_unit_test_teardown(test_percent_m_and_errno_kept, reset_threshold),
        cmocka_unit_test_teardown(test_long_line_truncated, reset_threshold),
        cmocka_unit_test_teardown(test_truncation_keeps_escapes_whole, reset_threshold),
        cmocka_unit_test_teardown(test_truncation_keeps_characters_whole, reset_threshold),
        cmocka_unit_test_teardown(test_exact_fit_not_truncated, reset_threshold),
        cmocka_unit_test(test_mask_phone),
        cmocka_unit_test(test_mask_email),
        cmocka_unit_test(test_mask_address_picks),
        cmocka_unit_test(test_mask_tiny_buffers),
        cmocka_unit_test(test_mask_long_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
