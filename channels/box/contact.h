/*  contact.h - the pure part of the box channel: what an OCR text says about who wrote it.
    No I/O, no OCR: unit-tested (tests/box/test_contact.c) and fuzzable alone.

    A paper form is read by a machine, so what is found is a guess: numbers and addresses
    are taken only in the shapes a citizen writes them (0812-3456-7890, +62 812 3456 7890,
    budi@example.org), and the name only after a "Nama" label. */
#ifndef ADUAN_BOX_CONTACT_H
#define ADUAN_BOX_CONTACT_H

#include <stdbool.h>
#include <stddef.h>

#define BOX_PHONE_MAX 20  /* "+62" and at most 13 digits, NUL */
#define BOX_EMAIL_MAX 255
#define BOX_NAME_MAX 129  /* 128 bytes of UTF-8, NUL */
#define BOX_TICKET_MAX 40

typedef struct {
    char phone[BOX_PHONE_MAX];  /* the first Indonesian mobile number, E.164; "" if none */
    char email[BOX_EMAIL_MAX];  /* the first mail address, domain lower-cased; "" if none */
    char name[BOX_NAME_MAX];    /* after "Nama:" (or "Nama Lengkap:"), trimmed; "" if none */
    char ticket[BOX_TICKET_MAX]; /* a ticket number PREFIX-YYYY-NNNNN in the text; "" */
} box_contact_t;

/*  Reads text (UTF-8, NUL-terminated) and fills *out. ticket_prefix is the configured
    prefix ("ADU"); NULL looks for no ticket. Never fails: what is not found stays "". */
void box_contact_find(const char *text, const char *ticket_prefix, box_contact_t *out);

/*  An Indonesian mobile number as written ("0812 3456 7890", "+62-812-3456-7890",
    "62812...") in E.164 ("+6281234567890"). Returns false when it is not one: mobile
    numbers start 08 / +628 and have 9 to 12 digits after the 0. */
bool box_phone_e164(const char *written, char *out, size_t outlen);

#endif
