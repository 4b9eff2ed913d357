/*  mime.h - one raw mail message to the fields of an INTAKE (pure: no I/O).

    libetpan's MIME parser reads the message; what it leaves undone is done here: RFC 2047
    words in names and subjects, RFC 2231 file names, every charset to UTF-8 (charset.h),
    an HTML-only body to text (html.h), the ticket in the subject, automatic mail, and
    delivery status notifications (bounces) on mail we sent.

    What a stranger sends never makes this fail: a message that cannot be read is still
    an INTAKE, with quarantine_reason set and the raw bytes kept, for a person to look at.
*/
#ifndef ADUAN_EMAIL_MIME_H
#define ADUAN_EMAIL_MIME_H

#include <stddef.h>

#include "aduan/bus.h"

typedef struct {
    const char *ticket_prefix;   /* "ADU": [ADU-2026-00042] in a subject threads */
    const char *own_address;     /* our address: mail from it is automatic; NULL or "" */
    size_t max_message_bytes;    /* larger: raw kept, headers read, body not parsed */
    size_t max_attachment_bytes; /* a larger attachment is left out, named in the text */
    size_t attachment_budget;    /* room for all attachments together in the bus message */
} email_mime_options_t;

/*  Translates raw[0..len) into a new INTAKE (caller owns) with intent, from, subject,
    text, received_at (Date), thread_ticket, in_reply_to, references, message_ref,
    flags, quarantine_reason, attachments and raw (a copy of the whole message) filled in.
    channel, account and dedupe_key are the caller's. NULL only when memory runs out. */
aduan_msg_t *email_mime_intake(const void *raw, size_t len, const email_mime_options_t *opts);

#endif
