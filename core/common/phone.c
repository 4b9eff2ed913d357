/*  phone.c - telephone numbers (include/aduan/phone.h). */
#include "aduan/phone.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#define DIGITS_MIN 7
#define DIGITS_MAX 15

int aduan_phone_e164(const char *number, char *out, size_t outlen)
{
    char digits[64];
    size_t n = 0;
    bool plus = false;
    if (outlen)
        out[0] = '\0';
    for (const char *p = number ? number : ""; *p; p++) {
        if (isdigit((unsigned char)*p)) {
            if (n + 1 >= sizeof digits)
                return -1;
            digits[n++] = *p;
        } else if (*p == '+' && n == 0 && !plus) {
            plus = true;
        } else if (*p != ' ' && *p != '-' && *p != '.' && *p != '(' && *p != ')') {
            return -1; /* letters, a formula, a SIP URI: not a number */
        }
    }
    digits[n] = '\0';
    const char *national = NULL, *full = NULL;
    if (plus)
        full = digits;
    else if (digits[0] == '0' && digits[1] == '0')
        full = digits + 2;
    else if (digits[0] == '0')
        national = digits + 1;
    else if (strncmp(digits, ADUAN_PHONE_COUNTRY, strlen(ADUAN_PHONE_COUNTRY)) == 0)
        full = digits; /* 62812...: the country code without its + */
    else
        return -1;     /* 812... or an extension: which country is unknown */
    char e164[sizeof digits + sizeof ADUAN_PHONE_COUNTRY + 1];
    if (national)
        snprintf(e164, sizeof e164, "+" ADUAN_PHONE_COUNTRY "%s", national);
    else
        snprintf(e164, sizeof e164, "+%s", full);
    size_t count = strlen(e164) - 1;
    if (count < DIGITS_MIN || count > DIGITS_MAX || e164[1] == '0' || strlen(e164) >= outlen)
        return -1;
    memcpy(out, e164, strlen(e164) + 1);
    return 0;
}

bool aduan_phone_is_mobile(const char *e164, const char *prefixes)
{
    if (!e164 || e164[0] != '+' || !prefixes)
        return false;
    for (const char *p = prefixes; *p;) {
        while (*p == ',' || *p == ' ')
            p++;
        size_t len = strcspn(p, ", ");
        if (len > 0 && strncmp(e164, p, len) == 0)
            return true;
        p += len;
    }
    return false;
}
