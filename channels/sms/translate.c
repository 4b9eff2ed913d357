/*  translate.c - libGammu's SMS records -> intake fields, and text -> SMS parts.
    Pure: no modem, no files, no clock. */
#include "translate.h"

#include <ctype.h>
#include <errno.h>
#include <iconv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "aduan/hash.h"

/* Indonesia: a national number "08..." is "+628..." (the office's own country). */
#define SMS_COUNTRY_CODE "62"
/* Short codes (operator services, promos) have at most this many digits. */
#define SMS_SHORT_CODE_MAX 5

/* ---- parts ------------------------------------------------------------------------------ */

bool sms_part_concat(const GSM_SMSMessage *part, int *ref, int *seq, int *total)
{
    const GSM_UDHHeader *u = &part->UDH;
    if (u->Type == UDH_NoUDH || u->AllParts <= 1 || u->PartNumber < 1)
        return false;
    *ref = u->ID16bit != -1 ? u->ID16bit : u->ID8bit;
    *seq = u->PartNumber;
    *total = u->AllParts;
    return true;
}

static void number_utf8(const unsigned char *gammu_text, char *out, size_t outlen)
{
    /* EncodeUTF8 needs 3 bytes per UTF-16 unit; numbers are short */
    char buf[(GSM_MAX_NUMBER_LENGTH + 1) * 6 + 1];
    buf[0] = '\0';
    EncodeUTF8(buf, gammu_text);
    snprintf(out, outlen, "%s", buf);
}

void sms_group_key(const GSM_SMSMessage *part, char *out, size_t outlen)
{
    char from[SMS_KEY_MAX];
    number_utf8(part->Number, from, sizeof from);
    int ref, seq, total;
    if (sms_part_concat(part, &ref, &seq, &total))
        snprintf(out, outlen, "%s/%d/%d", from, ref, total);
    else
        snprintf(out, outlen, "%s/single/%d/%d", from, part->Folder, part->Location);
}

static int part_seq(const GSM_SMSMessage *part)
{
    int ref, seq, total;
    return sms_part_concat(part, &ref, &seq, &total) ? seq : 0;
}

static int compare_parts(const void *a, const void *b)
{
    int sa = part_seq(a), sb = part_seq(b);
    return (sa > sb) - (sa < sb);
}

void sms_sort_parts(GSM_MultiSMSMessage *m)
{
    if (m->Number < 2)
        return;
    qsort(m->SMS, (size_t)m->Number, sizeof m->SMS[0], compare_parts);
    int kept = 1;
    for (int i = 1; i < m->Number; i++) {
        if (part_seq(&m->SMS[i]) == part_seq(&m->SMS[kept - 1]))
            continue; /* the same part twice (a retransmission): one copy is the text */
        if (kept != i)
            m->SMS[kept] = m->SMS[i];
        kept++;
    }
    m->Number = kept;
}

bool sms_is_complete(const GSM_MultiSMSMessage *m)
{
    if (m->Number < 1)
        return false;
    int ref, seq, total;
    if (!sms_part_concat(&m->SMS[0], &ref, &seq, &total))
        return true;
    return m->Number >= total;
}

/* ---- numbers ---------------------------------------------------------------------------- */

int sms_e164(const char *number, char *out, size_t outlen)
{
    char digits[SMS_KEY_MAX];
    size_t n = 0;
    bool plus = false, other = false;
    for (const char *p = number ? number : ""; *p && n + 1 < sizeof digits; p++) {
        if (isdigit((unsigned char)*p))
            digits[n++] = *p;
        else if (*p == '+' && n == 0 && !plus)
            plus = true;
        else if (*p == ' ' || *p == '-' || *p == '(' || *p == ')' || *p == '.')
            continue;
        else
            other = true;
    }
    digits[n] = '\0';
    if (other || n <= SMS_SHORT_CODE_MAX) {
        /* an alphanumeric sender or a short code: kept as the network gave it */
        const char *s = number ? number : "";
        while (*s == ' ')
            s++;
        snprintf(out, outlen, "%s", s);
        size_t len = strlen(out);
        while (len > 0 && out[len - 1] == ' ')
            out[--len] = '\0';
        /* an alphanumeric sender is what the network says it is, control characters
           included (found by fuzz_sms): the bus refuses those in a key or an address */
        bool utf8 = aduan_utf8_valid(out, strlen(out)); /* a cut, or a lone surrogate */
        for (char *c = out; *c; c++)
            if ((unsigned char)*c < 0x20 || *c == 0x7F || (!utf8 && (unsigned char)*c >= 0x80))
                *c = '?';
        return -1;
    }
    if (plus)
        snprintf(out, outlen, "+%s", digits);
    else if (strncmp(digits, "00", 2) == 0)
        snprintf(out, outlen, "+%s", digits + 2);
    else if (digits[0] == '0')
        snprintf(out, outlen, "+" SMS_COUNTRY_CODE "%s", digits + 1);
    else if (strncmp(digits, SMS_COUNTRY_CODE, strlen(SMS_COUNTRY_CODE)) == 0 && n >= 10)
        snprintf(out, outlen, "+%s", digits);
    else {
        snprintf(out, outlen, "%s", digits); /* a national number without its 0: unknown form */
        return -1;
    }
    return 0;
}

bool sms_sender_automatic(const char *number)
{
    size_t digits = 0;
    const char *p = number ? number : "";
    if (*p == '+')
        p++;
    for (; *p; p++) {
        if (isdigit((unsigned char)*p))
            digits++;
        else if (*p != ' ' && *p != '-')
            return true; /* letters: an alphanumeric sender */
    }
    return digits <= SMS_SHORT_CODE_MAX;
}

/* ---- keywords and ticket numbers -------------------------------------------------------- */

/* Length of a ticket number PREFIX-YYYY-NNNNN at s (any case), or 0. */
static size_t ticket_at(const char *s, const char *prefix)
{
    size_t plen = strlen(prefix);
    if (plen == 0 || strncasecmp(s, prefix, plen) != 0 || s[plen] != '-')
        return 0;
    const char *p = s + plen + 1;
    for (int i = 0; i < 4; i++, p++)
        if (!isdigit((unsigned char)*p))
            return 0;
    if (*p++ != '-')
        return 0;
    size_t digits = 0;
    while (isdigit((unsigned char)p[digits]))
        digits++;
    if (digits < 5 || digits > 9 || isalnum((unsigned char)p[digits]))
        return 0;
    return (size_t)(p + digits - s);
}

/* Copies a ticket found at s, upper-cased, into ticket; true when there was one. */
static bool take_ticket(const char *s, const char *prefix, char ticket[SMS_TICKET_MAX])
{
    while (*s == '[' || *s == '#' || *s == '(')
        s++;
    size_t len = ticket_at(s, prefix);
    if (len == 0 || len >= SMS_TICKET_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        ticket[i] = (char)toupper((unsigned char)s[i]);
    ticket[len] = '\0';
    return true;
}

static bool is_keyword(const char *word, size_t wlen, const char *keywords)
{
    const char *k = keywords ? keywords : "";
    while (*k) {
        while (*k == ',' || *k == ' ')
            k++;
        size_t klen = strcspn(k, ",");
        size_t trimmed = klen;
        while (trimmed > 0 && k[trimmed - 1] == ' ')
            trimmed--;
        if (trimmed > 0 && trimmed == wlen && strncasecmp(k, word, wlen) == 0)
            return true;
        k += klen;
    }
    return false;
}

static const char *skip_space(const char *s)
{
    while (*s && (isspace((unsigned char)*s) || *s == ':'))
        s++;
    return s;
}

const char *sms_parse_text(const char *text, const char *keywords, const char *prefix,
                           char ticket[SMS_TICKET_MAX])
{
    ticket[0] = '\0';
    const char *s = skip_space(text ? text : "");
    size_t wlen = 0;
    while (isalpha((unsigned char)s[wlen]))
        wlen++;
    if (wlen > 0 && is_keyword(s, wlen, keywords) &&
        (s[wlen] == '\0' || isspace((unsigned char)s[wlen]) || s[wlen] == ':')) {
        const char *rest = skip_space(s + wlen);
        if (*rest == '\0')
            return "status"; /* "CEK" alone: the core answers that it needs a number */
        if (take_ticket(rest, prefix, ticket))
            return "status";
        /* "Cek jalan rusak ..." is an ordinary complaint that begins with the word */
    }
    take_ticket(s, prefix, ticket);
    return "complaint";
}

/* ---- text ------------------------------------------------------------------------------- */

/* ISO-8859-1 bytes to UTF-8 with iconv; appends to out. */
static int latin1_to_utf8(const unsigned char *in, size_t inlen, char *out, size_t outlen,
                          size_t *used)
{
    iconv_t cd = iconv_open("UTF-8", "ISO-8859-1");
    if (cd == (iconv_t)-1)
        return -1;
    char *src = (char *)in, *dst = out + *used;
    size_t left = outlen - *used - 1;
    size_t rc = iconv(cd, &src, &inlen, &dst, &left);
    iconv_close(cd);
    if (rc == (size_t)-1)
        return -1;
    *used = (size_t)(dst - out);
    out[*used] = '\0';
    return 0;
}

/* Appends a Gammu Unicode buffer (UTF-16BE, double-NUL terminated) as UTF-8. */
static void unicode_to_utf8(const unsigned char *ucs, size_t units, char *out, size_t *used)
{
    if (units == 0)
        return;
    EncodeUTF8(out + *used, ucs);
    *used += strlen(out + *used);
}

static void clean_controls(char *s)
{
    for (unsigned char *p = (unsigned char *)s; *p; p++)
        if ((*p < 0x20 && *p != '\t' && *p != '\n' && *p != '\r') || *p == 0x7f)
            *p = ' ';
}

char *sms_text_utf8(const GSM_MultiSMSMessage *m)
{
    /* worst case: every UTF-16 unit of every part as 3 UTF-8 bytes, plus gap markers */
    size_t cap = (size_t)(m->Number + 1) * ((GSM_MAX_SMS_LENGTH + 1) * 3 + 16) + 1;
    char *out = calloc(1, cap);
    unsigned char *ucs = calloc((size_t)m->Number + 1, (GSM_MAX_SMS_LENGTH + 1) * 2 + 2);
    if (!out || !ucs) {
        free(out);
        free(ucs);
        return NULL;
    }
    size_t used = 0, units = 0;
    int expected = 1;
    int ref = 0, seq = 0, total = 0;
    bool concat = m->Number > 0 && sms_part_concat(&m->SMS[0], &ref, &seq, &total);
    for (int i = 0; i < m->Number; i++) {
        const GSM_SMSMessage *p = &m->SMS[i];
        bool gap = concat && part_seq(p) > expected;
        if (gap || p->Coding == SMS_Coding_8bit) {
            /* flush what was gathered, so a split surrogate pair in adjacent parts stays whole */
            ucs[units * 2] = ucs[units * 2 + 1] = 0;
            unicode_to_utf8(ucs, units, out, &used);
            units = 0;
        }
        if (gap) {
            used += (size_t)snprintf(out + used, cap - used, " [...] ");
        }
        expected = part_seq(p) + 1;
        if (p->Coding == SMS_Coding_8bit) {
            size_t len = p->Length > 0 ? (size_t)p->Length : 0;
            if (len > GSM_MAX_SMS_LENGTH)
                len = GSM_MAX_SMS_LENGTH;
            if (latin1_to_utf8(p->Text, len, out, cap, &used) != 0) {
                free(out);
                free(ucs);
                return NULL;
            }
            continue;
        }
        size_t n = UnicodeLength(p->Text);
        memcpy(ucs + units * 2, p->Text, n * 2);
        units += n;
    }
    if (concat && expected <= total) {
        ucs[units * 2] = ucs[units * 2 + 1] = 0;
        unicode_to_utf8(ucs, units, out, &used);
        units = 0;
        used += (size_t)snprintf(out + used, cap - used, " [...]");
    }
    ucs[units * 2] = ucs[units * 2 + 1] = 0;
    unicode_to_utf8(ucs, units, out, &used);
    free(ucs);
    clean_controls(out);
    if (!aduan_utf8_valid(out, strlen(out))) {
        free(out);
        return NULL;
    }
    return out;
}

/* ---- dates ------------------------------------------------------------------------------ */

uint64_t sms_datetime_ms(const GSM_DateTime *dt)
{
    if (dt->Year < 1970 || dt->Month < 1 || dt->Day < 1)
        return 0;
    struct tm tm = {.tm_year = dt->Year - 1900,
                    .tm_mon = dt->Month - 1,
                    .tm_mday = dt->Day,
                    .tm_hour = dt->Hour,
                    .tm_min = dt->Minute,
                    .tm_sec = dt->Second};
    time_t t = timegm(&tm);
    if (t == (time_t)-1)
        return 0;
    t -= dt->Timezone; /* the SMSC stamps local time with its offset */
    return t > 0 ? (uint64_t)t * 1000u : 0;
}

static void datetime_text(const GSM_DateTime *dt, char *out, size_t outlen)
{
    snprintf(out, outlen, "%04d%02d%02dT%02d%02d%02d%+d", dt->Year, dt->Month, dt->Day,
             dt->Hour, dt->Minute, dt->Second, dt->Timezone);
}

/* ---- raw and dedupe key ----------------------------------------------------------------- */

static const char *coding_name(GSM_Coding_Type c)
{
    switch (c) {
    case SMS_Coding_Unicode_No_Compression:
    case SMS_Coding_Unicode_Compression:
        return "ucs2";
    case SMS_Coding_Default_No_Compression:
    case SMS_Coding_Default_Compression:
        return "gsm7";
    case SMS_Coding_8bit:
        return "8bit";
    }
    return "unknown";
}

static const char *pdu_name(GSM_SMSMessageType t)
{
    switch (t) {
    case SMS_Deliver:
        return "deliver";
    case SMS_Status_Report:
        return "status-report";
    case SMS_Submit:
        return "submit";
    }
    return "unknown";
}

static void put_hex(FILE *f, const unsigned char *data, size_t size)
{
    for (size_t i = 0; i < size; i++)
        fprintf(f, "%02X", data[i]);
}

/* The user data of a part as stored by libGammu: UCS-2 units, or the 8-bit bytes. */
static size_t part_user_data(const GSM_SMSMessage *p, const unsigned char **data)
{
    *data = p->Text;
    if (p->Coding == SMS_Coding_8bit) {
        size_t len = p->Length > 0 ? (size_t)p->Length : 0;
        return len > GSM_MAX_SMS_LENGTH ? GSM_MAX_SMS_LENGTH : len;
    }
    return UnicodeLength(p->Text) * 2;
}

/*  Every part, one header line and one line of user data, so an auditor can see exactly
    what the network delivered (text as libGammu decoded it into UCS-2, or 8-bit bytes). */
static int build_raw(const GSM_MultiSMSMessage *m, aduan_bytes_t *raw)
{
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    if (!f)
        return -1;
    fprintf(f, "Aduan-SMS-Raw: 1\nParts: %d\n", m->Number);
    for (int i = 0; i < m->Number; i++) {
        const GSM_SMSMessage *p = &m->SMS[i];
        char number[SMS_KEY_MAX], smsc[SMS_KEY_MAX], when[40];
        number_utf8(p->Number, number, sizeof number);
        number_utf8(p->SMSC.Number, smsc, sizeof smsc);
        datetime_text(&p->DateTime, when, sizeof when);
        fprintf(f, "Part: %d folder=%d location=%d pdu=%s coding=%s class=%d mr=%u"
                   " number=%s smsc=%s datetime=%s udh=",
                i + 1, p->Folder, p->Location, pdu_name(p->PDU), coding_name(p->Coding),
                (int)p->Class, (unsigned)p->MessageReference, number, smsc, when);
        if (p->UDH.Type != UDH_NoUDH)
            put_hex(f, p->UDH.Text, p->UDH.Length > 0 ? (size_t)p->UDH.Length : 0);
        if (p->PDU == SMS_Status_Report)
            fprintf(f, " status=0x%02X", (unsigned)p->DeliveryStatus);
        const unsigned char *data;
        size_t len = part_user_data(p, &data);
        fprintf(f, "\nData: ");
        put_hex(f, data, len);
        fputc('\n', f);
    }
    if (fclose(f) != 0) {
        free(buf);
        return -1;
    }
    raw->data = (unsigned char *)buf;
    raw->size = size;
    return 0;
}

/*  modem + sender + SMSC timestamp + hash of the user data of all parts: what the modem
    reads again after a restart gives the same key, so the core answers "duplicate". */
static int build_dedupe_key(const GSM_MultiSMSMessage *m, const char *identity,
                            const char *from, char *out, size_t outlen)
{
    aduan_sha256_t *h = aduan_sha256_new();
    if (!h)
        return -1;
    for (int i = 0; i < m->Number; i++) {
        const unsigned char *data;
        size_t len = part_user_data(&m->SMS[i], &data);
        aduan_sha256_update(h, data, len);
    }
    char hex[ADUAN_SHA256_HEX_LEN + 1];
    if (aduan_sha256_finish(&h, hex) != 0)
        return -1;
    char when[40];
    datetime_text(&m->SMS[0].DateTime, when, sizeof when);
    snprintf(out, outlen, "sms:%s:%s:%s:%.32s", identity, from, when, hex);
    return 0;
}

/* ---- the intake ------------------------------------------------------------------------- */

aduan_msg_t *sms_translate(const GSM_MultiSMSMessage *m, const sms_translate_opts_t *opts)
{
    aduan_msg_t *in = aduan_msg_new(ADUAN_MSG_INTAKE);
    if (!in)
        return NULL;
    char number[SMS_KEY_MAX], from[SMS_KEY_MAX], key[512];
    number_utf8(m->SMS[0].Number, number, sizeof number);
    bool e164 = sms_e164(number, from, sizeof from) == 0;
    bool report = m->SMS[0].PDU == SMS_Status_Report;
    if (build_dedupe_key(m, opts->identity, from, key, sizeof key) != 0 ||
        aduan_msg_set(&in->intake.channel, "sms") != 0 ||
        aduan_msg_set(&in->intake.dedupe_key, key) != 0 ||
        aduan_msg_set(&in->intake.from_addr, from[0] ? from : NULL) != 0 ||
        build_raw(m, &in->intake.raw) != 0)
        goto fail;
    in->intake.received_at = sms_datetime_ms(&m->SMS[0].DateTime);
    if (!sms_is_complete(m))
        in->intake.flags |= ADUAN_INTAKE_INCOMPLETE;
    if (report || !e164 || sms_sender_automatic(from))
        in->intake.flags |= ADUAN_INTAKE_AUTOMATIC;

    char *text = sms_text_utf8(m);
    if (!text) {
        if (aduan_msg_set(&in->intake.intent, "complaint") != 0 ||
            aduan_msg_set(&in->intake.quarantine_reason,
                          "sms text cannot be decoded to UTF-8") != 0)
            goto fail;
        return in;
    }
    char ticket[SMS_TICKET_MAX];
    const char *intent = sms_parse_text(text, opts->status_keywords, opts->ticket_prefix, ticket);
    if (report || (in->intake.flags & ADUAN_INTAKE_AUTOMATIC))
        intent = "complaint", ticket[0] = '\0'; /* a machine asks nothing of us */
    int rc = aduan_msg_set(&in->intake.text, text);
    free(text);
    if (rc != 0 || aduan_msg_set(&in->intake.intent, intent) != 0 ||
        aduan_msg_set(&in->intake.thread_ticket, ticket[0] ? ticket : NULL) != 0)
        goto fail;
    /* a report comes here only when it matched nothing sent (sms.c take_report): kept for
       an operator, never a complaint in the Buku Agenda */
    if (report && aduan_msg_set(&in->intake.quarantine_reason,
                                "a delivery report that matches no message sent") != 0)
        goto fail;
    return in;
fail:
    aduan_msg_destroy(&in);
    return NULL;
}

/* ---- sending ---------------------------------------------------------------------------- */

int sms_encode_outgoing(const char *text, GSM_MultiSMSMessage *out, bool *unicode,
                        char *reason, size_t reasonlen)
{
    size_t len = text ? strlen(text) : 0;
    if (len == 0) {
        snprintf(reason, reasonlen, "empty text");
        return -1;
    }
    if (len > SMS_SEND_MAX_BYTES) {
        snprintf(reason, reasonlen, "text of %zu bytes is too long for SMS", len);
        return -1;
    }
    if (!aduan_utf8_valid(text, len)) {
        snprintf(reason, reasonlen, "text is not UTF-8");
        return -1;
    }
    unsigned char *ucs = calloc(1, 2 * (len + 1) + 2);
    if (!ucs) {
        snprintf(reason, reasonlen, "out of memory");
        return -1;
    }
    DecodeUTF8(ucs, text, len);
    GSM_MultiPartSMSInfo info;
    GSM_ClearMultiPartSMSInfo(&info);
    info.Class = -1;
    info.EntriesNum = 1;
    /* libGammu picks GSM 7-bit when every character has a place in its alphabet */
    info.Entries[0].ID = SMS_ConcatenatedAutoTextLong;
    info.Entries[0].Buffer = ucs;
    memset(out, 0, sizeof *out);
    GSM_Error e = GSM_EncodeMultiPartSMS(GSM_GetGlobalDebug(), &info, out);
    info.Entries[0].Buffer = NULL; /* ours, not for GSM_FreeMultiPartSMSInfo */
    GSM_FreeMultiPartSMSInfo(&info);
    free(ucs);
    if (e != ERR_NONE || out->Number < 1) {
        snprintf(reason, reasonlen, "cannot encode as SMS: %s", GSM_ErrorString(e));
        return -1;
    }
    *unicode = out->SMS[0].Coding == SMS_Coding_Unicode_No_Compression;
    for (int i = 0; i < out->Number; i++) {
        out->SMS[i].PDU = SMS_Submit;
        out->SMS[i].Class = -1;
    }
    return 0;
}

const char *sms_send_failure(GSM_Error e, int network_status)
{
    if (network_status >= 0) {
        /* 3GPP TS 24.011 table 8.4: causes about the number or the subscription */
        static const int permanent[] = {1, 8, 10, 21, 28, 29, 30, 50, 69, 81,
                                        95, 96, 97, 98, 99, 111};
        for (size_t i = 0; i < sizeof permanent / sizeof permanent[0]; i++)
            if (network_status == permanent[i])
                return "permanent";
        return "temporary";
    }
    switch (e) {
    case ERR_INVALIDDATA:
    case ERR_NOTSUPPORTED:
    case ERR_NOTIMPLEMENTED:
    case ERR_INVALIDLOCATION:
    case ERR_MOREMEMORY:
        return "permanent";
    default:
        return "temporary"; /* the modem, the link, the SMSC setting: worth another try */
    }
}

const char *sms_report_outcome(unsigned char status)
{
    /* TS 23.040 9.2.3.15: 0x00-0x02 delivered; 0x20-0x2F the SMSC still tries;
       0x40-0x4F and 0x60-0x6F it gave up */
    if (status <= 0x02)
        return "delivered";
    if (status & 0x40)
        return "permanent";
    return NULL;
}

const char *sms_report_part_outcome(const GSM_SMSMessage *report)
{
    if (report->DeliveryStatus == 0) {
        /* libGammu writes the verdict into the text too; a report read back from storage
           that keeps no status byte (Gammu's backup files, its dummy phone) has only that */
        char word[16];
        size_t n = 0;
        for (; n < sizeof word - 1 && (report->Text[2 * n] || report->Text[2 * n + 1]); n++)
            word[n] = report->Text[2 * n] ? '?' : (char)report->Text[2 * n + 1];
        word[n] = '\0';
        if (strcmp(word, "Failed") == 0)
            return "permanent";
        if (strcmp(word, "Pending") == 0 || strcmp(word, "Unknown") == 0)
            return NULL;
    }
    return sms_report_outcome(report->DeliveryStatus);
}
