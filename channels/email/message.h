/*  message.h - the RFC 5322 text of one DELIVER, for SMTP. Pure: no I/O, no clock (the
    date is an argument), so it is unit-tested and fuzzed alone.

    What goes out: From (display name + our address), To (the citizen's name, RFC 2047
    when not ASCII, + to_addr), Date (local zone), Subject (RFC 2047 for UTF-8, folded;
    "[TICKET] " put in front when the ticket is set and the subject lacks it), Message-ID,
    In-Reply-To and References (<...> each), Auto-Submitted: auto-replied for automatic
    replies (RFC 3834), and the text as text/plain UTF-8 quoted-printable; the DELIVER's
    attachments make it multipart/mixed with base64 parts.

    Nothing a field holds can add a header: CR, LF and other control characters in names
    and subjects become spaces; an address or a Message-ID with anything but its own
    characters is refused.
*/
#ifndef ADUAN_EMAIL_MESSAGE_H
#define ADUAN_EMAIL_MESSAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aduan/bus.h"

typedef struct {
    const char *from_addr; /* email.address: validated with email_address_valid */
    const char *from_name; /* email.display_name; NULL or "" for none */
    int64_t date_ms;       /* the Date: header, ms since the epoch, shown in the local zone */
} email_message_env_t;

/*  Builds the message of a DELIVER: CRLF line ends, no line over 998 bytes, header lines
    folded at 78. Returns a new NUL-terminated buffer (caller frees) with its length in
    *size_out, or NULL with the reason when the DELIVER cannot go out as mail (to_addr not
    one plain address, a broken Message-ID): a permanent failure, retrying cannot help. */
char *email_message_build(const aduan_msg_t *deliver, const email_message_env_t *env,
                          size_t *size_out, char *reason, size_t reasonlen);

/*  True when addr is one plain address, local@domain: a dot-atom local part (at most 64
    bytes), a domain of letters, digits and hyphens in dot-separated labels, 254 bytes in
    all; ASCII only. No display name, no angle brackets, no list, no comment, no route. */
bool email_address_valid(const char *addr);

#endif
