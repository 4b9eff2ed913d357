/*  fuzz_box_contact: the contact in an OCR text (channels/box/contact.c): whatever
    UTF-8 the scanner read, the fields come out NUL-terminated, valid UTF-8 (a long name
    is cut between characters), and a number found is E.164. */
#include <stdlib.h>
#include <string.h>

#include "aduan/bus.h"
#include "contact.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    /* Tesseract gives UTF-8; the question is whether what is cut out of it stays so */
    if (!aduan_utf8_valid(text, size)) {
        free(text);
        return 0;
    }
    box_contact_t c;
    box_contact_find(text, "ADU", &c);
    if (strnlen(c.phone, sizeof c.phone) == sizeof c.phone ||
        strnlen(c.email, sizeof c.email) == sizeof c.email ||
        strnlen(c.name, sizeof c.name) == sizeof c.name ||
        strnlen(c.ticket, sizeof c.ticket) == sizeof c.ticket)
        abort();
    if (!aduan_utf8_valid(c.name, strlen(c.name)) || !aduan_utf8_valid(c.email, strlen(c.email)))
        abort();
    if (c.phone[0] && (c.phone[0] != '+' || strspn(c.phone + 1, "0123456789") !=
                                                strlen(c.phone + 1)))
        abort();
    char e164[BOX_PHONE_MAX];
    (void)box_phone_e164(text, e164, sizeof e164);
    free(text);
    return 0;
}
