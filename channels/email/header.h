/*  header.h - header fields of a parsed message as clean intake values (pure).

    The pieces of mime.c that read one header field or parameter each: encoded words,
    addresses, Message-ID lists, the Date, RFC 2231 file names, automatic mail, and the
    ticket number in a subject.
*/
#ifndef ADUAN_EMAIL_HEADER_H
#define ADUAN_EMAIL_HEADER_H

#include <libetpan/libetpan.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*  An unstructured value (Subject, a display name, a file name): RFC 2047 words decoded,
    raw 8-bit read as UTF-8 or else windows-1252, made one clean line. Caller frees; NULL
    only when memory runs out or value is NULL. */
char *email_header_text(const char *value);

/* ms since the epoch of a Date field; 0 when it is absent or impossible. */
uint64_t email_header_date_ms(const struct mailimf_date_time *date);

/*  Appends the ids of list (a clist of char *, as libetpan gives In-Reply-To and
    References) to out, space-separated, skipping any that is not a plain token.
    Stops before out would pass max bytes; with keep_last the newest ids are kept
    instead of the oldest (References grows at its end). 0, or -1 when memory runs out. */
int email_header_ids(MMAPString *out, const clist *list, size_t max, bool keep_last);
/* Appends one id the same way; 0 or -1. */
int email_header_id(MMAPString *out, const char *id, size_t max);

/*  The sender: the first mailbox of From (address and decoded display name), falling
    back to Sender; an unparsable From gives what looks like an address in it. Both
    outputs are NULL when absent (caller frees). 0, or -1 when memory runs out. */
int email_header_from(const struct mailimf_fields *fields, char **addr, char **name);

/* mailer-daemon@..., postmaster@... or either alone: a machine's return address. */
bool email_addr_is_daemon(const char *addr);
/* mailer-daemon@... alone: the sender of bounces that may lack a report part. */
bool email_addr_is_mailer_daemon(const char *addr);
/* Case-insensitive address equality; false when either is NULL or empty. */
bool email_addr_equal(const char *a, const char *b);

/*  Automatic mail (RFC 3834 and the habits of list servers and Exchange):
    Auto-Submitted other than "no", Precedence bulk/list/junk, List-Id,
    X-Auto-Response-Suppress, an empty Return-Path. */
bool email_header_automatic(const struct mailimf_fields *fields);

/* The value of the first optional (not RFC 5322) field of that name, or NULL. Borrowed. */
const char *email_header_optional(const struct mailimf_fields *fields, const char *name);

/*  A ticket named in a subject: "[PREFIX-YYYY-NNNNN]" anywhere, or the subject is a
    status query "CEK PREFIX-YYYY-NNNNN" / "STATUS ..." (after any "Re:"), which sets
    *status. ticket gets the number in upper case. Returns true when one was found. */
bool email_subject_ticket(const char *subject, const char *prefix, char ticket[40],
                          bool *status);

/*  A file name from a part's parameters: Content-Disposition's filename (RFC 2231
    filename* and its continuations first, then filename) or Content-Type's name; RFC 2047
    words decoded. NULL when there is none (caller frees). */
char *email_part_filename(const struct mailmime_fields *fields,
                          const struct mailmime_content *content);

#endif
