/*  translate.h - the pure part of the SMS channel: libGammu's records in, intake fields
    out (and text out to SMS parts for sending). No I/O, no modem: unit-tested and fuzzable
    alone. */
#ifndef ADUAN_SMS_TRANSLATE_H
#define ADUAN_SMS_TRANSLATE_H

#include <gammu.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aduan/bus.h"

/* Long enough for any group key or E.164 number we build. */
#define SMS_KEY_MAX 160
#define SMS_TICKET_MAX 40
/* Longer texts are refused for sending: 50 concatenated UCS-2 parts hold about 3,350. */
#define SMS_SEND_MAX_BYTES 16000

typedef struct {
    const char *identity;        /* modem identity (IMEI, else the configured account) */
    const char *status_keywords; /* "CEK,STATUS": comma-separated, case-insensitive */
    const char *ticket_prefix;   /* "ADU" */
} sms_translate_opts_t;

/*  Concatenation facts of one part from its UDH: reference, sequence number (1-based) and
    total. Returns false for a part that is a message of its own. */
bool sms_part_concat(const GSM_SMSMessage *part, int *ref, int *seq, int *total);

/*  The key that gathers the parts of one message: sender, reference and total, so two
    senders using the same reference never mix. A single-part message gets a key of its own
    from its folder and location. */
void sms_group_key(const GSM_SMSMessage *part, char *out, size_t outlen);

/* Sorts the parts by sequence number; drops a second copy of the same sequence number. */
void sms_sort_parts(GSM_MultiSMSMessage *m);

/* Every part there: no UDH concatenation, or as many parts as the UDH says. */
bool sms_is_complete(const GSM_MultiSMSMessage *m);

/*  Number in E.164: "0812..." -> "+62812...", "62812..." -> "+62812...", "0062..." ->
    "+62...", "+62 812-..." -> "+62812...". Anything that is not a phone number (letters,
    a short code) is copied as it is (spaces trimmed). Returns 0 when the result is E.164,
    -1 otherwise. */
int sms_e164(const char *number, char *out, size_t outlen);

/*  True for senders that are not citizens: alphanumeric senders (operators, banks, promos),
    short codes of 5 digits or fewer, an empty number. */
bool sms_sender_automatic(const char *number);

/*  Reads what the citizen asks: a status keyword followed by a ticket gives intent "status"
    and the ticket; a text that starts with a ticket number gives "complaint" and the ticket
    (a follow-up); anything else "complaint" and "". Ticket numbers are returned upper-case.
    Returns the intent (a static string). */
const char *sms_parse_text(const char *text, const char *keywords, const char *prefix,
                           char ticket[SMS_TICKET_MAX]);

/*  One received message (its parts sorted, possibly incomplete) as a new INTAKE: channel
    "sms", dedupe key, intent, from_addr, received_at, text, thread_ticket, flags
    (INCOMPLETE when parts are missing, AUTOMATIC for non-citizens and delivery reports),
    raw (every part with its header fields and user data in hex), and quarantine_reason when
    the text cannot be decoded. Caller owns; NULL only when memory runs out. */
aduan_msg_t *sms_translate(const GSM_MultiSMSMessage *m, const sms_translate_opts_t *opts);

/*  The text of the parts as UTF-8 (caller frees): UCS-2 and GSM 7-bit parts through
    libGammu's Unicode buffers (a surrogate pair split over two parts stays whole), 8-bit
    parts as ISO-8859-1 through iconv, " [...] " where a part is missing. Control characters
    other than TAB, LF and CR become spaces. NULL when it is not valid UTF-8 afterwards. */
char *sms_text_utf8(const GSM_MultiSMSMessage *m);

/*  Splits text (UTF-8) into SMS-Submit parts with libGammu's encoder: GSM 7-bit when every
    character fits its alphabet, UCS-2 otherwise, concatenated when long. Sets *unicode.
    Returns 0, or -1 with a reason (empty, too long, not UTF-8). */
int sms_encode_outgoing(const char *text, GSM_MultiSMSMessage *out, bool *unicode,
                        char *reason, size_t reasonlen);

/*  The RESULT status for a failed send: "permanent" when trying again cannot help (a
    number the network does not know, barred, a message it calls invalid), else
    "temporary". network_status is the modem's CMS error from the send callback, or -1
    when libGammu itself failed with e. */
const char *sms_send_failure(GSM_Error e, int network_status);

/*  A delivery report's TP-Status: "delivered", "permanent" (the network gave up), or NULL
    while it still tries. */
const char *sms_report_outcome(unsigned char status);
/*  The same for a whole report: its status byte, or, when that is 0 and its text is one of
    the words libGammu puts there ("Failed", "Pending", "Unknown"), the word: Gammu's
    backup format (its dummy phone, a phone's SMS backup) keeps the text, not the byte. */
const char *sms_report_part_outcome(const GSM_SMSMessage *report);

/* ms since the epoch for an SMSC timestamp (its zone applied); 0 when it has no date. */
uint64_t sms_datetime_ms(const GSM_DateTime *dt);

#endif
