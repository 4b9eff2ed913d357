/*  fuzz_sms_keywords: what a citizen's text asks (CEK <ticket>, a ticket at the start),
    and the sender's number to E.164 (channels/sms/translate.c). */
#include <stdlib.h>
#include <string.h>

#include "translate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    char ticket[SMS_TICKET_MAX];
    const char *intent = sms_parse_text(text, "CEK,STATUS,Cek Tiket", "ADU", ticket);
    if (!intent || strnlen(ticket, sizeof ticket) == sizeof ticket)
        abort();
    char e164[SMS_KEY_MAX];
    sms_e164(text, e164, sizeof e164);
    (void)sms_sender_automatic(text);
    free(text);
    return 0;
}
