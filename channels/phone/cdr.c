/*  cdr.c - one Master.csv line to an INTAKE (cdr.h). */
#include "cdr.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "aduan/hash.h"
#include "aduan/phone.h"

enum {
    F_ACCOUNTCODE, F_SRC, F_DST, F_DCONTEXT, F_CLID, F_CHANNEL, F_DSTCHANNEL, F_LASTAPP,
    F_LASTDATA, F_START, F_ANSWER, F_END, F_DURATION, F_BILLSEC, F_DISPOSITION, F_AMAFLAGS,
    F_UNIQUEID,
};

/* An extension of the office's own exchange, not a caller from outside. */
#define EXTENSION_DIGITS_MAX 6

int cdr_split(const char *line, size_t len, cdr_fields_t *out, char *reason, size_t reasonlen)
{
    memset(out, 0, sizeof *out);
    out->storage = malloc(len + 1);
    if (!out->storage) {
        snprintf(reason, reasonlen, "out of memory");
        return -1;
    }
    char *w = out->storage;
    size_t i = 0;
    for (;;) {
        if (out->count == CDR_FIELDS_MAX) {
            snprintf(reason, reasonlen, "more than %d fields", CDR_FIELDS_MAX);
            goto fail;
        }
        out->field[out->count++] = w;
        if (i < len && line[i] == '"') {
            size_t opened = i++;
            for (;;) {
                if (i >= len) {
                    snprintf(reason, reasonlen, "field %zu: the quote opened at byte %zu is "
                                                "never closed", out->count, opened);
                    goto fail;
                }
                if (line[i] == '"') {
                    if (i + 1 < len && line[i + 1] == '"') {
                        *w++ = '"';
                        i += 2;
                        continue;
                    }
                    i++;
                    break;
                }
                *w++ = line[i++];
            }
            if (i < len && line[i] != ',') {
                snprintf(reason, reasonlen, "field %zu: text after the closing quote at byte %zu",
                         out->count, i);
                goto fail;
            }
        } else {
            while (i < len && line[i] != ',') {
                if (line[i] == '"') {
                    snprintf(reason, reasonlen, "field %zu: a quote inside an unquoted field "
                                                "at byte %zu", out->count, i);
                    goto fail;
                }
                *w++ = line[i++];
            }
        }
        *w++ = '\0';
        if (i >= len)
            return (int)out->count;
        i++; /* the comma */
    }
fail:
    cdr_fields_free(out);
    return -1;
}

void cdr_fields_free(cdr_fields_t *fields)
{
    free(fields->storage);
    memset(fields, 0, sizeof *fields);
}

int64_t cdr_time_ms(const char *text, bool utc)
{
    int y, mo, d, h, mi, s;
    char extra;
    if (!text || strlen(text) != 19 ||
        sscanf(text, "%4d-%2d-%2d %2d:%2d:%2d%c", &y, &mo, &d, &h, &mi, &s, &extra) != 6 ||
        y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60 ||
        h < 0 || mi < 0 || s < 0)
        return -1;
    struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h,
                    .tm_min = mi, .tm_sec = s, .tm_isdst = -1};
    time_t t = utc ? timegm(&tm) : mktime(&tm);
    return t == (time_t)-1 ? -1 : (int64_t)t * 1000;
}

/* What a stranger wrote, for a reason: at most 40 bytes, anything but printable ASCII '?'. */
static const char *shown(const char *s, char out[48])
{
    size_t n = 0;
    for (; *s && n < 40; s++)
        out[n++] = (*s >= 0x20 && *s < 0x7f) ? *s : '?';
    if (*s)
        memcpy(out + n, "...", 3), n += 3;
    out[n] = '\0';
    return out;
}

/* A whole number of seconds: 1 to 10 digits. */
static int seconds_of(const char *s, uint64_t *out)
{
    size_t n = strlen(s);
    if (n == 0 || n > 10 || strspn(s, "0123456789") != n)
        return -1;
    *out = strtoull(s, NULL, 10);
    return 0;
}

static const char *call_status(const char *disposition)
{
    static const struct {
        const char *asterisk, *ours;
    } map[] = {
        {"ANSWERED", "answered"}, {"NO ANSWER", "missed"}, {"BUSY", "busy"},
        {"FAILED", "failed"},     {"CONGESTION", "failed"},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(disposition, map[i].asterisk) == 0)
            return map[i].ours;
    return NULL;
}

static bool withheld(const char *src)
{
    static const char *const words[] = {"", "anonymous", "unknown", "private", "withheld",
                                        "restricted"};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (strcasecmp(src, words[i]) == 0)
            return true;
    return false;
}

/*  The caller's name from clid ("Budi" <0812...>, Budi <0812...>, or just the number):
    copied as text, control characters as spaces, cut at CDR_NAME_MAX bytes on a UTF-8
    boundary. "" when there is none. */
static void caller_name(const char *clid, char out[CDR_NAME_MAX + 1])
{
    const char *start = clid, *end;
    if (*clid == '"') {
        start = clid + 1;
        end = strrchr(start, '"');
        if (!end)
            end = start + strlen(start);
    } else {
        end = strrchr(clid, '<');
        if (!end)
            end = clid; /* only a number */
    }
    while (start < end && *start == ' ')
        start++;
    while (end > start && end[-1] == ' ')
        end--;
    size_t n = (size_t)(end - start);
    if (n > CDR_NAME_MAX) {
        n = CDR_NAME_MAX;
        while (n > 0 && ((unsigned char)start[n] & 0xC0) == 0x80)
            n--; /* not in the middle of a character */
    }
    for (size_t i = 0; i < n; i++)
        out[i] = ((unsigned char)start[i] < 0x20 || start[i] == 0x7f) ? ' ' : start[i];
    out[n] = '\0';
}

/* A uniqueid we can use as a key: printable ASCII without spaces or quotes. */
static bool record_id_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > CDR_RECORD_MAX)
        return false;
    for (; *s; s++)
        if (*s <= 0x20 || *s >= 0x7f || *s == '"' || *s == '\\')
            return false;
    return true;
}

cdr_outcome_t cdr_quarantine(const char *line, size_t len, const char *reason,
                             aduan_msg_t **intake_p)
{
    aduan_msg_t *in = aduan_msg_new(ADUAN_MSG_INTAKE);
    char hex[ADUAN_SHA256_HEX_LEN + 1], key[ADUAN_SHA256_HEX_LEN + 16];
    if (!in || aduan_sha256_hex(line, len, hex) != 0)
        goto fail;
    /* the same bytes are the same item: read again after a restart, kept once */
    snprintf(key, sizeof key, "call-line:%s", hex);
    char why[512];
    snprintf(why, sizeof why, "call record: %s", reason);
    if (aduan_msg_set(&in->intake.channel, "phone") != 0 ||
        aduan_msg_set(&in->intake.dedupe_key, key) != 0 ||
        aduan_msg_set(&in->intake.intent, "call") != 0 ||
        aduan_msg_set(&in->intake.quarantine_reason, why) != 0)
        goto fail;
    in->intake.raw.data = malloc(len + 1);
    if (!in->intake.raw.data)
        goto fail;
    memcpy(in->intake.raw.data, line, len);
    in->intake.raw.data[len] = '\0';
    in->intake.raw.size = len;
    *intake_p = in;
    return CDR_QUARANTINE;
fail:
    aduan_msg_destroy(&in);
    return CDR_NO_MEMORY;
}

cdr_outcome_t cdr_translate(const char *line, size_t len, bool utc, aduan_msg_t **intake_p,
                            char *why, size_t whylen)
{
    *intake_p = NULL;
    if (len > 0 && line[len - 1] == '\r')
        len--;
    char reason[400], a[48], b[48];
    size_t bad = 0;
    if (len == 0) {
        snprintf(why, whylen, "an empty line");
        return CDR_SKIP;
    }
    if (len > CDR_LINE_MAX) {
        snprintf(reason, sizeof reason, "longer than %d bytes", CDR_LINE_MAX);
        return cdr_quarantine(line, CDR_LINE_MAX, reason, intake_p);
    }
    if (memchr(line, '\0', len)) {
        snprintf(reason, sizeof reason, "a NUL byte at %zu", (size_t)((char *)memchr(line, 0, len) - line));
        return cdr_quarantine(line, len, reason, intake_p);
    }
    if (!aduan_utf8_valid(line, len)) {
        /* the longest valid start: a sequence is at most 4 bytes long */
        for (size_t i = 1; i <= len && i <= bad + 4; i++)
            if (aduan_utf8_valid(line, i))
                bad = i;
        snprintf(reason, sizeof reason, "not UTF-8 near byte %zu", bad);
        return cdr_quarantine(line, len, reason, intake_p);
    }
    cdr_fields_t f;
    if (cdr_split(line, len, &f, reason, sizeof reason) < 0)
        return cdr_quarantine(line, len, reason, intake_p);
    cdr_outcome_t outcome = CDR_QUARANTINE;
    aduan_msg_t *in = NULL;
    if (f.count < CDR_FIELDS_MIN) {
        snprintf(reason, sizeof reason, "%zu fields; a Master.csv line has at least %d",
                 f.count, CDR_FIELDS_MIN);
        goto out;
    }
    const char *status = call_status(f.field[F_DISPOSITION]);
    int64_t start = cdr_time_ms(f.field[F_START], utc);
    uint64_t billsec = 0, duration = 0;
    if (!status) {
        snprintf(reason, sizeof reason, "unknown disposition '%s'",
                 shown(f.field[F_DISPOSITION], a));
        goto out;
    }
    if (start < 0) {
        snprintf(reason, sizeof reason, "start '%s' is not YYYY-MM-DD HH:MM:SS",
                 shown(f.field[F_START], a));
        goto out;
    }
    if (seconds_of(f.field[F_BILLSEC], &billsec) != 0 ||
        seconds_of(f.field[F_DURATION], &duration) != 0) {
        snprintf(reason, sizeof reason, "duration '%s' or billsec '%s' is not a number of "
                 "seconds", shown(f.field[F_DURATION], a), shown(f.field[F_BILLSEC], b));
        goto out;
    }
    const char *src = f.field[F_SRC];
    char from[ADUAN_PHONE_E164_MAX] = "";
    if (!withheld(src) && aduan_phone_e164(src, from, sizeof from) != 0) {
        size_t n = strlen(src);
        if (n <= EXTENSION_DIGITS_MAX && strspn(src, "0123456789") == n) {
            snprintf(why, whylen, "an internal call from extension %s", src);
            outcome = CDR_SKIP;
            goto out;
        }
        snprintf(reason, sizeof reason, "the caller '%s' is not a telephone number",
                 shown(src, a));
        goto out;
    }
    char record[CDR_RECORD_MAX + 64];
    const char *uniqueid = f.count > F_UNIQUEID ? f.field[F_UNIQUEID] : "";
    if (*uniqueid) {
        if (!record_id_ok(uniqueid)) {
            snprintf(reason, sizeof reason, "uniqueid '%s' is not a record id", shown(uniqueid, a));
            goto out;
        }
        snprintf(record, sizeof record, "%s", uniqueid);
    } else {
        /* no uniqueid logged: the line called, the time and the caller name the call */
        char dst[33];
        size_t n = 0;
        for (const char *p = f.field[F_DST]; *p && n < sizeof dst - 1; p++)
            dst[n++] = isalnum((unsigned char)*p) ? *p : '_';
        dst[n] = '\0';
        snprintf(record, sizeof record, "%s-%lld-%s", dst, (long long)(start / 1000),
                 *from ? from + 1 : "withheld");
    }
    char key[sizeof record + 8], name[CDR_NAME_MAX + 1];
    snprintf(key, sizeof key, "call:%s", record);
    caller_name(f.field[F_CLID], name);
    in = aduan_msg_new(ADUAN_MSG_INTAKE);
    if (!in || aduan_msg_set(&in->intake.channel, "phone") != 0 ||
        aduan_msg_set(&in->intake.dedupe_key, key) != 0 ||
        aduan_msg_set(&in->intake.intent, "call") != 0 ||
        aduan_msg_set(&in->intake.from_addr, *from ? from : NULL) != 0 ||
        aduan_msg_set(&in->intake.from_name, *name ? name : NULL) != 0 ||
        aduan_msg_set(&in->intake.message_ref, record) != 0 ||
        aduan_msg_set(&in->intake.call_status, status) != 0 ||
        !(in->intake.raw.data = malloc(len + 1))) {
        aduan_msg_destroy(&in);
        outcome = CDR_NO_MEMORY;
        goto out;
    }
    memcpy(in->intake.raw.data, line, len);
    in->intake.raw.data[len] = '\0';
    in->intake.raw.size = len;
    in->intake.received_at = (uint64_t)start;
    in->intake.call_seconds = billsec;
    *intake_p = in;
    outcome = CDR_CALL;
out:
    cdr_fields_free(&f);
    if (outcome == CDR_QUARANTINE)
        return cdr_quarantine(line, len, reason, intake_p);
    return outcome;
}
