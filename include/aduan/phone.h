/*  phone.h - telephone numbers: what a caller's number becomes in the registry (E.164)
    and whether it can receive an SMS. Shared by the phone channel (call records), the core
    (the clerk's notes, replies to telephone complaints) and aduanctl. Pure functions. */
#ifndef ADUAN_PHONE_H
#define ADUAN_PHONE_H

#include <stdbool.h>
#include <stddef.h>

/* Indonesia: 08... is +628..., 0274... is +62274... (the same rule as the SMS channel). */
#define ADUAN_PHONE_COUNTRY "62"
#define ADUAN_PHONE_E164_MAX 17 /* '+', at most 15 digits, NUL */

/*  Normalises a number as people and exchanges write it ("0812-3456-7890", "+62 812 ...",
    "0062812...", "62812...") to E.164 ("+6281234567890"). Spaces, dashes, dots and
    parentheses are ignored. Returns 0, or -1 when it is not a telephone number (letters,
    fewer than 7 or more than 15 digits, a national number without its leading 0); out is
    then "". */
int aduan_phone_e164(const char *number, char *out, size_t outlen);

/*  True when the E.164 number starts with one of the comma-separated prefixes
    ("+628,+6288"): a mobile that can receive an SMS. */
bool aduan_phone_is_mobile(const char *e164, const char *prefixes);

#endif
