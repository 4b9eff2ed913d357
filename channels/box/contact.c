/*  contact.c - finding the complainant's mobile number, mail address, name and a ticket
    number in the text OCR read from a form (contact.h). */
#include "contact.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Separators a citizen writes inside a number: 0812-3456 7890, (0812) 3456.7890 */
static bool number_separator(char c)
{
    return c == ' ' || c == '-' || c == '.' || c == '(' || c == ')';
}

bool box_phone_e164(const char *written, char *out, size_t outlen)
{
    char digits[32];
    size_t n = 0;
    const char *p = written;
    bool plus = false;
    while (*p == ' ')
        p++;
    if (*p == '+') {
        plus = true;
        p++;
    }
    for (; *p; p++) {
        if (isdigit((unsigned char)*p)) {
            if (n + 1 >= sizeof digits)
                return false;
            digits[n++] = *p;
        } else if (!number_separator(*p)) {
            break;
        }
    }
    digits[n] = '\0';
    const char *national; /* the digits after the country code or the leading 0: 8xx... */
    if (!plus && digits[0] == '0')
        national = digits + 1;
    else if (strncmp(digits, "62", 2) == 0)
        national = digits + 2;
    else
        return false;
    size_t len = strlen(national);
    if (national[0] != '8' || len < 9 || len > 12)
        return false;
    return (size_t)snprintf(out, outlen, "+62%s", national) < outlen;
}

/*  The longest run at p that can be a written number: digits and separators, an optional
    leading '+'. Its length, or 0 when it does not start like a mobile number. */
static size_t number_run(const char *p)
{
    size_t i = 0;
    if (p[0] == '+')
        i++;
    if (!(strncmp(p + i, "08", 2) == 0 || strncmp(p + i, "628", 3) == 0 ||
          strncmp(p + i, "62 8", 4) == 0 || strncmp(p + i, "62-8", 4) == 0))
        return 0;
    size_t end = i;
    for (; p[i]; i++) {
        if (isdigit((unsigned char)p[i]))
            end = i + 1;
        else if (!number_separator(p[i]) || p[i + 1] == '\0')
            break;
    }
    return end;
}

static void find_phone(const char *text, char *out, size_t outlen)
{
    for (const char *p = text; *p; p++) {
        /* a number starts a token: not in the middle of a longer one (an NIK, a date) */
        if (p > text && (isalnum((unsigned char)p[-1]) || p[-1] == '+'))
            continue;
        size_t len = number_run(p);
        if (len == 0)
            continue;
        char written[64];
        snprintf(written, sizeof written, "%.*s", (int)(len < 63 ? len : 63), p);
        if (box_phone_e164(written, out, outlen))
            return;
        p += len - 1;
    }
    out[0] = '\0';
}

static bool local_char(char c)
{
    return isalnum((unsigned char)c) || strchr("._%+-", c) != NULL;
}

static bool domain_char(char c)
{
    return isalnum((unsigned char)c) || c == '-' || c == '.';
}

static void find_email(const char *text, char *out, size_t outlen)
{
    out[0] = '\0';
    for (const char *at = strchr(text, '@'); at; at = strchr(at + 1, '@')) {
        const char *start = at;
        while (start > text && local_char(start[-1]))
            start--;
        while (start < at && (*start == '.' || *start == '-')) /* ".budi@": a stray dot */
            start++;
        const char *end = at + 1;
        while (domain_char(*end))
            end++;
        while (end > at + 1 && (end[-1] == '.' || end[-1] == '-')) /* "…org." ends a sentence */
            end--;
        size_t local = (size_t)(at - start), domain = (size_t)(end - at - 1);
        const char *dot = memchr(at + 1, '.', domain);
        if (local == 0 || domain < 4 || !dot || (size_t)(end - dot - 1) < 2 ||
            local + domain + 2 > outlen || local > 64)
            continue;
        size_t n = 0;
        for (const char *c = start; c < at; c++)
            out[n++] = *c;
        out[n++] = '@';
        for (const char *c = at + 1; c < end; c++)
            out[n++] = (char)tolower((unsigned char)*c);
        out[n] = '\0';
        return;
    }
}

/*  The value after a "Nama" label at the start of a line: "Nama: Budi", "Nama Lengkap :
    Budi", "NAMA : Budi". OCR often reads the colon as ';' or '.', so those count too. */
static void find_name(const char *text, char *out, size_t outlen)
{
    out[0] = '\0';
    for (const char *line = text; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
        const char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        if (strncasecmp(p, "nama", 4) != 0 || isalpha((unsigned char)p[4]))
            continue;
        const char *eol = strchr(p, '\n');
        if (!eol)
            eol = p + strlen(p);
        const char *colon = NULL;
        for (const char *c = p + 4; c < eol && c < p + 24; c++)
            if (*c == ':' || *c == ';') {
                colon = c;
                break;
            }
        if (!colon)
            continue;
        const char *v = colon + 1;
        while (v < eol && (*v == ' ' || *v == '\t' || *v == '.' || *v == '_'))
            v++;
        const char *e = eol;
        while (e > v && strchr(" \t\r._,;:", e[-1]))
            e--;
        size_t len = (size_t)(e - v);
        if (len == 0)
            continue;
        if (len >= outlen)
            len = outlen - 1;
        while (len > 0 && ((unsigned char)v[len] & 0xC0) == 0x80) /* whole characters only */
            len--;
        memcpy(out, v, len);
        out[len] = '\0';
        return;
    }
}

static void find_ticket(const char *text, const char *prefix, char *out, size_t outlen)
{
    out[0] = '\0';
    size_t plen = prefix ? strlen(prefix) : 0;
    if (plen == 0)
        return;
    for (const char *p = text; (p = strcasestr(p, prefix)); p += plen) {
        if (p > text && isalnum((unsigned char)p[-1]))
            continue;
        const char *q = p + plen;
        int year = 0, number = 0;
        int used = 0;
        if (sscanf(q, "-%4d-%5d%n", &year, &number, &used) == 2 && used == 11 &&
            !isdigit((unsigned char)q[used]) && year >= 2000) {
            snprintf(out, outlen, "%.*s", (int)(plen + (size_t)used), p);
            for (char *c = out; *c; c++)
                *c = (char)toupper((unsigned char)*c);
            return;
        }
    }
}

void box_contact_find(const char *text, const char *ticket_prefix, box_contact_t *out)
{
    memset(out, 0, sizeof *out);
    if (!text)
        return;
    find_phone(text, out->phone, sizeof out->phone);
    find_email(text, out->email, sizeof out->email);
    find_name(text, out->name, sizeof out->name);
    find_ticket(text, ticket_prefix, out->ticket, sizeof out->ticket);
}
