/*  test_cdr.c - the phone channel's pure parts: numbers to E.164, a Master.csv line to an
    INTAKE (calls, quarantine, skips; hostile text kept as text), and the file follower
    (lines appended, a line still being written, rotation, truncation, the position). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "aduan/phone.h"
#include "cdr.h"
#include "follow.h"

/* A line as Asterisk 18's cdr_csv writes it, with loguniqueid and loguserfield. */
#define ANSWERED                                                                            \
    "\"\",\"081234567890\",\"200\",\"from-pstn\",\"\"\"Budi Santoso\"\" <081234567890>\","    \
    "\"DAHDI/1-1\",\"SIP/200-0000002a\",\"Dial\",\"SIP/200,30\",\"2026-11-28 09:15:00\","     \
    "\"2026-11-28 09:15:04\",\"2026-11-28 09:17:10\",130,126,\"ANSWERED\",\"DOCUMENTATION\","  \
    "\"1795853700.42\",\"\""

static void test_e164(void **state)
{
    (void)state;
    char out[ADUAN_PHONE_E164_MAX];
    static const struct {
        const char *in, *out;
    } good[] = {
        {"081234567890", "+6281234567890"},   {"0812-3456-7890", "+6281234567890"},
        {"+62 812 3456 7890", "+6281234567890"}, {"6281234567890", "+6281234567890"},
        {"006281234567890", "+6281234567890"}, {"(0274) 555123", "+62274555123"},
        {"+442079460000", "+442079460000"},
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        assert_int_equal(aduan_phone_e164(good[i].in, out, sizeof out), 0);
        assert_string_equal(out, good[i].out);
    }
    static const char *const bad[] = {"", "200", "81234567890", "=HYPERLINK(\"x\")",
                                      "sip:budi@example.org", "0812", "+0812345678",
                                      "+1234567890123456", "08123+45678", NULL};
    for (size_t i = 0; bad[i]; i++) {
        if (aduan_phone_e164(bad[i], out, sizeof out) == 0)
            fail_msg("'%s' taken as %s", bad[i], out);
        assert_string_equal(out, "");
    }
    assert_true(aduan_phone_is_mobile("+6281234567890", "+628"));
    assert_false(aduan_phone_is_mobile("+62274555123", "+628"));
    assert_true(aduan_phone_is_mobile("+62274555123", "+6288, +62274"));
    assert_false(aduan_phone_is_mobile("", "+628"));
}

static void test_split(void **state)
{
    (void)state;
    cdr_fields_t f;
    char reason[256];
    const char *line = "\"a,b\",plain,\"say \"\"hi\"\"\",,\"\"";
    assert_int_equal(cdr_split(line, strlen(line), &f, reason, sizeof reason), 5);
    assert_string_equal(f.field[0], "a,b");
    assert_string_equal(f.field[1], "plain");
    assert_string_equal(f.field[2], "say \"hi\"");
    assert_string_equal(f.field[3], "");
    assert_string_equal(f.field[4], "");
    cdr_fields_free(&f);
    static const struct {
        const char *line, *needle;
    } bad[] = {
        {"\"open,b,c", "never closed"},
        {"\"a\"x,b", "after the closing quote"},
        {"a\"b,c", "quote inside an unquoted field"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(cdr_split(bad[i].line, strlen(bad[i].line), &f, reason, sizeof reason),
                         -1);
        if (!strstr(reason, bad[i].needle))
            fail_msg("'%s': reason '%s'", bad[i].line, reason);
    }
    char many[200] = "";
    for (int i = 0; i < CDR_FIELDS_MAX + 1; i++)
        strcat(many, i ? ",x" : "x");
    assert_int_equal(cdr_split(many, strlen(many), &f, reason, sizeof reason), -1);
    assert_non_null(strstr(reason, "more than"));
}

static aduan_msg_t *call_of(const char *line, bool utc)
{
    aduan_msg_t *in = NULL;
    char why[256] = "";
    cdr_outcome_t o = cdr_translate(line, strlen(line), utc, &in, why, sizeof why);
    if (o != CDR_CALL)
        fail_msg("not a call (%d): %s %s", o, why,
                 in && in->intake.quarantine_reason ? in->intake.quarantine_reason : "");
    return in;
}

static void test_translate_call(void **state)
{
    (void)state;
    setenv("TZ", "Asia/Jakarta", 1);
    tzset();
    aduan_msg_t *in = call_of(ANSWERED, false);
    assert_string_equal(in->intake.channel, "phone");
    assert_string_equal(in->intake.intent, "call");
    assert_string_equal(in->intake.dedupe_key, "call:1795853700.42");
    assert_string_equal(in->intake.message_ref, "1795853700.42");
    assert_string_equal(in->intake.from_addr, "+6281234567890");
    assert_string_equal(in->intake.from_name, "Budi Santoso");
    assert_string_equal(in->intake.call_status, "answered");
    assert_int_equal(in->intake.call_seconds, 126);
    /* 09:15 in Jakarta (UTC+7) is 02:15 UTC */
    assert_int_equal(in->intake.received_at, 1795832100000ull);
    assert_null(in->intake.quarantine_reason);
    assert_int_equal(in->intake.raw.size, strlen(ANSWERED));
    assert_memory_equal(in->intake.raw.data, ANSWERED, strlen(ANSWERED));
    char reason[256];
    zmsg_t *wire = aduan_msg_encode(in, reason, sizeof reason);
    if (!wire)
        fail_msg("does not encode: %s", reason);
    zmsg_destroy(&wire);
    aduan_msg_destroy(&in);

    /* the SMS channel's calls.csv: UTC, a clid without a name, NO ANSWER, CRLF */
    in = call_of("\"modem1\",\"+6281234567890\",\"modem1\",\"aduan-sms\",\"\"\"\"\" "
                 "<+6281234567890>\",\"GSM/modem1\",\"\",\"\",\"\",\"2026-11-28 02:15:00\",\"\","
                 "\"2026-11-28 02:15:00\",0,0,\"NO ANSWER\",\"DOCUMENTATION\","
                 "\"sms-1795832100000\",\"\"\r",
                 true);
    assert_string_equal(in->intake.call_status, "missed");
    assert_null(in->intake.from_name);
    assert_int_equal(in->intake.received_at, 1795832100000ull);
    assert_string_equal(in->intake.dedupe_key, "call:sms-1795832100000");
    aduan_msg_destroy(&in);

    /* 16 fields (no uniqueid logged): the line, the time and the caller are the key;
       a withheld number is a call without a caller; BUSY */
    in = call_of("\"\",\"anonymous\",\"200\",\"from-pstn\",\"\",\"DAHDI/1-1\",\"\",\"Dial\","
                 "\"\",\"2026-11-28 09:15:00\",\"\",\"2026-11-28 09:15:09\",9,0,\"BUSY\","
                 "\"DOCUMENTATION\"",
                 false);
    assert_null(in->intake.from_addr);
    assert_string_equal(in->intake.call_status, "busy");
    assert_string_equal(in->intake.dedupe_key, "call:200-1795832100-withheld");
    aduan_msg_destroy(&in);
}

/* A hostile caller name is carried as text: the spreadsheet formula, the markup, the
   control characters (made spaces) all stay what they are, and the intake still encodes. */
static void test_translate_hostile_name(void **state)
{
    (void)state;
    const char *line =
        "\"\",\"+6281234567890\",\"200\",\"from-pstn\",\"\"\"=HYPERLINK(\"\"http://evil/\"\","
        "\"\"klik\"\")\tx\"\" <+6281234567890>\",\"DAHDI/1-1\",\"\",\"Dial\",\"\","
        "\"2026-11-28 09:15:00\",\"\",\"2026-11-28 09:15:09\",9,0,\"NO ANSWER\","
        "\"DOCUMENTATION\",\"1795853700.43\",\"\"";
    aduan_msg_t *in = call_of(line, false);
    assert_string_equal(in->intake.from_name, "=HYPERLINK(\"http://evil/\",\"klik\") x");
    char reason[256];
    zmsg_t *wire = aduan_msg_encode(in, reason, sizeof reason);
    if (!wire)
        fail_msg("does not encode: %s", reason);
    zmsg_destroy(&wire);
    aduan_msg_destroy(&in);
}

static void expect_quarantine(const char *line, size_t len, const char *needle)
{
    aduan_msg_t *in = NULL;
    char why[256] = "";
    cdr_outcome_t o = cdr_translate(line, len, false, &in, why, sizeof why);
    if (o != CDR_QUARANTINE)
        fail_msg("'%.60s': not quarantined (%d) %s", line, o, why);
    assert_non_null(in->intake.quarantine_reason);
    if (!strstr(in->intake.quarantine_reason, needle))
        fail_msg("'%.60s': reason '%s' lacks '%s'", line, in->intake.quarantine_reason, needle);
    assert_true(strncmp(in->intake.dedupe_key, "call-line:", 10) == 0);
    assert_int_equal(in->intake.raw.size, len > CDR_LINE_MAX ? CDR_LINE_MAX : len);
    char reason[256];
    zmsg_t *wire = aduan_msg_encode(in, reason, sizeof reason);
    if (!wire)
        fail_msg("the quarantined item does not encode: %s", reason);
    zmsg_destroy(&wire);
    aduan_msg_destroy(&in);
}

#define Q(line, needle) expect_quarantine((line), strlen(line), (needle))

static void test_translate_malformed(void **state)
{
    (void)state;
    Q("garbage", "1 fields");
    Q("\"\",\"081234567890\",\"200\"", "3 fields");
    Q("\"\",\"081234567890\",\"200\",\"from-pstn\",\"\",\"c\",\"\",\"Dial\",\"\","
      "\"28/11/2026 09:15\",\"\",\"\",9,0,\"NO ANSWER\",\"DOCUMENTATION\",\"u1\",\"\"",
      "is not YYYY-MM-DD HH:MM:SS");
    Q("\"\",\"081234567890\",\"200\",\"from-pstn\",\"\",\"c\",\"\",\"Dial\",\"\","
      "\"2026-11-28 09:15:00\",\"\",\"\",9,0,\"RINGING\",\"DOCUMENTATION\",\"u1\",\"\"",
      "unknown disposition 'RINGING'");
    Q("\"\",\"081234567890\",\"200\",\"from-pstn\",\"\",\"c\",\"\",\"Dial\",\"\","
      "\"2026-11-28 09:15:00\",\"\",\"\",-9,0,\"ANSWERED\",\"DOCUMENTATION\",\"u1\",\"\"",
      "not a number of seconds");
    Q("\"\",\"=cmd|' /C calc'!A0\",\"200\",\"from-pstn\",\"\",\"c\",\"\",\"Dial\",\"\","
      "\"2026-11-28 09:15:00\",\"\",\"\",9,0,\"ANSWERED\",\"DOCUMENTATION\",\"u1\",\"\"",
      "is not a telephone number");
    Q("\"\",\"081234567890\",\"200\",\"from-pstn\",\"\",\"c\",\"\",\"Dial\",\"\","
      "\"2026-11-28 09:15:00\",\"\",\"\",9,0,\"ANSWERED\",\"DOCUMENTATION\",\"u 1;drop\",\"\"",
      "is not a record id");
    Q("\"\",\"0812\xff\xfe\",\"200\"", "not UTF-8 near byte 8");
    Q("\"\",\"081234567890\",\"200\",\"unclosed", "never closed");
    expect_quarantine("a,b\0c", 5, "a NUL byte at 3");
    char *longline = malloc(CDR_LINE_MAX + 100);
    memset(longline, 'x', CDR_LINE_MAX + 99);
    longline[CDR_LINE_MAX + 99] = '\0';
    Q(longline, "longer than 8192 bytes");
    free(longline);

    /* the same bytes, the same key: read again, kept once */
    aduan_msg_t *a = NULL, *b = NULL;
    char why[64];
    assert_int_equal(cdr_translate("x,y", 3, false, &a, why, sizeof why), CDR_QUARANTINE);
    assert_int_equal(cdr_translate("x,y", 3, false, &b, why, sizeof why), CDR_QUARANTINE);
    assert_string_equal(a->intake.dedupe_key, b->intake.dedupe_key);
    aduan_msg_destroy(&a);
    aduan_msg_destroy(&b);
}

static void test_translate_skips(void **state)
{
    (void)state;
    aduan_msg_t *in = NULL;
    char why[256];
    assert_int_equal(cdr_translate("", 0, false, &in, why, sizeof why), CDR_SKIP);
    assert_int_equal(cdr_translate("\r", 1, false, &in, why, sizeof why), CDR_SKIP);
    const char *internal =
        "\"\",\"201\",\"200\",\"from-internal\",\"\"\"Loket 1\"\" <201>\",\"SIP/201-1\",\"\","
        "\"Dial\",\"\",\"2026-11-28 09:15:00\",\"\",\"\",9,0,\"ANSWERED\",\"DOCUMENTATION\","
        "\"u2\",\"\"";
    assert_int_equal(cdr_translate(internal, strlen(internal), false, &in, why, sizeof why),
                     CDR_SKIP);
    assert_non_null(strstr(why, "extension 201"));
    assert_null(in);
}

/*  Whatever a line holds, the translation says call, quarantine or skip, and what it
    hands over encodes: 20,000 random mutations of a good line (bytes changed, cut,
    quotes and commas put in). */
static void test_translate_mutations(void **state)
{
    (void)state;
    unsigned seed = 42;
    static const char pool[] = "\",\r\n\x00\xff\xc3=+-@ <>0123456789";
    char line[1024];
    int outcomes[3] = {0};
    for (int round = 0; round < 20000; round++) {
        size_t len = strlen(ANSWERED);
        memcpy(line, ANSWERED, len);
        int edits = 1 + (int)(rand_r(&seed) % 6);
        for (int e = 0; e < edits; e++) {
            size_t at = (size_t)rand_r(&seed) % len;
            switch (rand_r(&seed) % 3) {
            case 0:
                line[at] = pool[(size_t)rand_r(&seed) % (sizeof pool - 1)];
                break;
            case 1:
                line[at] = (char)(rand_r(&seed) & 0xff);
                break;
            default:
                len = at; /* cut */
                break;
            }
            if (len == 0)
                break;
        }
        aduan_msg_t *in = NULL;
        char why[256];
        cdr_outcome_t o = cdr_translate(line, len, false, &in, why, sizeof why);
        assert_true(o == CDR_CALL || o == CDR_QUARANTINE || o == CDR_SKIP);
        outcomes[o]++;
        if (in) {
            char reason[256];
            zmsg_t *wire = aduan_msg_encode(in, reason, sizeof reason);
            if (!wire)
                fail_msg("round %d: the intake does not encode: %s", round, reason);
            zmsg_destroy(&wire);
            aduan_msg_destroy(&in);
        }
    }
    print_message("calls %d, quarantined %d, skipped %d\n", outcomes[CDR_CALL],
                  outcomes[CDR_QUARANTINE], outcomes[CDR_SKIP]);
    assert_true(outcomes[CDR_CALL] > 0 && outcomes[CDR_QUARANTINE] > 0);
}

/* ---- the follower -------------------------------------------------------------------------- */

static char dir[64];
static char path[128];

static void append(const char *p, const char *text)
{
    int fd = open(p, O_WRONLY | O_APPEND | O_CREAT, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

/* The next line as a string ("" when none). */
static const char *next(follow_t *f, follow_line_t *l)
{
    static char text[256];
    if (!follow_next(f, 64, l))
        return "";
    snprintf(text, sizeof text, "%.*s", (int)l->len, l->data);
    return text;
}

static void test_follow(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/aduan-cdr-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/Master.csv", dir);
    follow_t f = {.path = path, .fd = -1};
    follow_line_t l;
    assert_int_equal(follow_open(&f, 0, 0, 0), -1); /* not there yet */
    append(path, "one\ntwo\nthr");
    assert_int_equal(follow_open(&f, 0, 0, 0), 0);
    assert_string_equal(next(&f, &l), "one");
    assert_int_equal(l.start, 0);
    assert_int_equal(l.end, 4);
    assert_string_equal(next(&f, &l), "two");
    assert_int_equal(l.end, 8);
    assert_string_equal(next(&f, &l), ""); /* "thr" is still being written */
    assert_int_equal(follow_check_rotation(&f, true, 64, &l), FOLLOW_SAME);
    append(path, "ee\n");
    assert_string_equal(next(&f, &l), "three");
    assert_int_equal(l.start, 8);
    assert_int_equal(l.end, 14);

    /* an over-long line: its first 64 bytes, once, and the offsets right */
    char lng[300];
    memset(lng, 'L', 200);
    lng[200] = '\n';
    lng[201] = '\0';
    append(path, lng);
    append(path, "after\n");
    assert_int_equal(strlen(next(&f, &l)), 64);
    assert_true(l.truncated);
    assert_int_equal(l.start, 14);
    assert_int_equal(l.end, 14 + 201);
    assert_string_equal(next(&f, &l), "after");
    assert_false(l.truncated);
    f.done_at = l.end;

    /* the position survives, by inode */
    char pos[160];
    snprintf(pos, sizeof pos, "%s/pos", dir);
    follow_t *all[] = {&f};
    assert_int_equal(follow_position_save(pos, all, 1), 0);
    dev_t dev;
    ino_t ino;
    off_t off;
    assert_int_equal(follow_position_load(pos, path, &dev, &ino, &off), 0);
    assert_int_equal(ino, f.ino);
    assert_int_equal(off, 14 + 201 + 6);
    assert_int_equal(follow_position_load(pos, "/elsewhere", &dev, &ino, &off), 0);
    assert_int_equal(ino, 0);

    /* rotation: the old file keeps growing a little, then a new one appears */
    char rotated[160];
    snprintf(rotated, sizeof rotated, "%s/Master.csv.1", dir);
    assert_int_equal(rename(path, rotated), 0);
    append(rotated, "late\nno-newline");
    append(path, "new1\n");
    assert_string_equal(next(&f, &l), "late");
    assert_string_equal(next(&f, &l), "");
    assert_int_equal(follow_check_rotation(&f, false, 64, &l), FOLLOW_LAST_LINE);
    assert_int_equal(l.len, strlen("no-newline"));
    assert_int_equal(l.end, l.start + (off_t)strlen("no-newline"));
    /* not switched while lines of the old file wait for answers */
    assert_int_equal(follow_check_rotation(&f, false, 64, &l), FOLLOW_SAME);
    assert_int_equal(follow_check_rotation(&f, true, 64, &l), FOLLOW_SWITCHED);
    assert_int_equal(f.done_at, 0);
    assert_string_equal(next(&f, &l), "new1");
    f.done_at = l.end;

    /* rotated while away: the saved inode is found in the folder and finished first */
    assert_int_equal(follow_position_save(pos, all, 1), 0);
    follow_close(&f);
    append(path, "new2\n");
    char rotated2[160];
    snprintf(rotated2, sizeof rotated2, "%s/Master.csv-20261128", dir);
    assert_int_equal(rename(path, rotated2), 0);
    append(path, "newest\n");
    assert_int_equal(follow_position_load(pos, path, &dev, &ino, &off), 0);
    follow_t g = {.path = path, .fd = -1};
    assert_int_equal(follow_open(&g, dev, ino, off), 0);
    assert_string_equal(next(&g, &l), "new2");
    assert_string_equal(next(&g, &l), "");
    assert_int_equal(follow_check_rotation(&g, true, 64, &l), FOLLOW_SWITCHED);
    assert_string_equal(next(&g, &l), "newest");
    g.done_at = l.end;

    /* copytruncate: the file shrinks under us; read again from its start */
    assert_int_equal(truncate(path, 0), 0);
    append(path, "x\n");
    assert_string_equal(next(&g, &l), "");
    assert_int_equal(follow_check_rotation(&g, true, 64, &l), FOLLOW_TRUNCATED);
    assert_string_equal(next(&g, &l), "x");

    /* a rewind hands out again what is not done */
    g.done_at = 0;
    follow_rewind(&g);
    assert_string_equal(next(&g, &l), "x");
    follow_close(&g);

    unlink(pos);
    unlink(rotated);
    unlink(rotated2);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_e164),
        cmocka_unit_test(test_split),
        cmocka_unit_test(test_translate_call),
        cmocka_unit_test(test_translate_hostile_name),
        cmocka_unit_test(test_translate_malformed),
        cmocka_unit_test(test_translate_skips),
        cmocka_unit_test(test_translate_mutations),
        cmocka_unit_test(test_follow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
