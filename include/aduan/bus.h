/*  bus.h - the messages of the Aduan bus, defined once.

    Every message is one ZeroMQ multipart message:

        [routing id]            only on ROUTER sockets, handled by the caller
        "ADU/1"                 protocol tag; ADUAN_PROTOCOL, bumped with any change below
        "INTAKE"                message type name
        "<message id>"          1..64 chars of [A-Za-z0-9._:-], chosen by the sender
        field 1 .. field n      the fields of the type, in the order of the schema in bus.c,
                                always all of them; an empty frame is an absent value
                                (NULL string, empty bytes, 0, false)
        attachments             only INTAKE and DELIVER: triples [name][content type][data];
                                name a line of at most 255 bytes, content type at most 127

    Field kinds: a line (UTF-8, no control characters: nothing can smuggle a CR/LF into a
    header), a text (UTF-8, newlines and tabs allowed), an unsigned integer (decimal ASCII),
    a flag ("0"/"1"), an enum (one of a fixed list of words), bytes (anything).
    Every field has a maximum size; the whole message has the caller's maximum.
    A line or text is also refused when it contains NUL; a text may carry TAB, LF and CR
    but no other control character (nor DEL). An integer is 1..20 digits, no sign, and
    fits 64 bits. A required field may not be empty; a required integer may not be 0.

    The decoder checks all of it and refuses anything else with a reason; it never aborts.
    Intake endpoint (core ROUTER, adapters DEALER):
        HELLO, HEARTBEAT both ways, INTAKE -> ACK | NACK, DELIVER -> RESULT
        The core answers an adapter's HELLO with its own HELLO (channel "core"). It also
        sends HELLO to any adapter it does not know (after a restart of the core): an
        adapter that gets a HELLO it did not ask for says HELLO again.
    Events endpoint (core PUB): EVENT
    Control endpoint (core ROUTER, aduanctl DEALER): REQUEST -> REPLY
*/
#ifndef ADUAN_BUS_H
#define ADUAN_BUS_H

#include <czmq.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ADUAN_PROTOCOL "ADU/2" /* 2: INTAKE.call_status, call_seconds, reply_channel;
                                  intent "call" */
#define ADUAN_MSG_ID_MAX 64

typedef enum {
    ADUAN_MSG_HELLO = 1,
    ADUAN_MSG_HEARTBEAT,
    ADUAN_MSG_INTAKE,
    ADUAN_MSG_ACK,
    ADUAN_MSG_NACK,
    ADUAN_MSG_DELIVER,
    ADUAN_MSG_RESULT,
    ADUAN_MSG_EVENT,
    ADUAN_MSG_REQUEST,
    ADUAN_MSG_REPLY,
    ADUAN_MSG_TYPE_COUNT
} aduan_msg_type_t;

/* INTAKE.flags */
#define ADUAN_INTAKE_INCOMPLETE 0x1u /* parts missing (SMS timeout): registered as it is */
#define ADUAN_INTAKE_AUTOMATIC 0x2u  /* sent by a machine: never answered automatically */
#define ADUAN_INTAKE_TRANSCRIBE 0x4u /* text read by OCR with low confidence: registered, and
                                        flagged (incomplete) for the help desk to type in */

/* Decoded bytes are followed by a NUL not counted in size (so a raw mail can be read as a
   string); empty bytes are { NULL, 0 }. */
typedef struct {
    unsigned char *data;
    size_t size;
} aduan_bytes_t;

typedef struct {
    char *name;         /* as the sender gave it: the core sanitises it before any use */
    char *content_type; /* e.g. "image/png"; NULL when the sender gave none */
    aduan_bytes_t content;
} aduan_attachment_t;

typedef struct {
    aduan_msg_type_t type;
    char id[ADUAN_MSG_ID_MAX + 1];
    union {
        struct {
            char *channel;      /* "sms", "email", "phone", "box", or a test's name */
            char *account;      /* modem identity, mailbox, ... */
            char *capabilities; /* comma-separated words, free for the channel */
            char *software;     /* adapter version, for the log */
        } hello;
        struct {
            char *status; /* adapter -> core: the channel's facts, a JSON object (signal,
                             connection, queues) shown by `aduanctl stats`; may be NULL */
        } heartbeat;
        struct {
            char *channel;
            char *account;
            char *dedupe_key;   /* stable for the item at its source: see DESIGN.md */
            char *intent;       /* "complaint"; "status" (a CEK/STATUS query); "bounce" (a
                                   delivery failure report on a message we sent, named by
                                   in_reply_to: its outbox row is marked failed);
                                   "call" (a call record without a note: it goes to the
                                   call log, no ticket; answered with disposition "logged") */
            char *from_addr;    /* E.164 number or mail address */
            char *from_name;
            uint64_t received_at; /* ms since the epoch, as the source dates it; 0 = unknown */
            char *subject;
            char *text;
            char *thread_ticket; /* ticket the channel found in the item (subject, text) */
            char *in_reply_to;   /* Message-IDs this item answers, space-separated,
                                    without the angle brackets (as DELIVER.message_id) */
            char *references;
            char *message_ref;   /* the item's own id at its source (Message-ID, ...) */
            uint64_t flags;      /* ADUAN_INTAKE_* */
            char *quarantine_reason; /* set: the channel could not parse it; keep, no ticket */
            char *call_status;   /* intent "call": answered, missed, busy, failed */
            uint64_t call_seconds; /* intent "call": time talked (billsec) */
            char *reply_channel; /* where replies go when not back the way the item came: a
                                    paper form that names a mobile number is answered
                                    by "sms" to from_addr, one with a mail address by
                                    "email"; "box" with no from_addr: a printed letter.
                                    Empty: the item's own channel */
            aduan_bytes_t raw;   /* the original, byte for byte */
        } intake;
        struct {
            char *ref;          /* id of the INTAKE acknowledged */
            char *ticket;       /* empty for a quarantined item */
            char *disposition;  /* new, followup, duplicate, status, quarantined, bounce,
                                   logged (a call record in the call log) */
        } ack;
        struct {
            char *ref;
            char *reason;
            bool permanent;     /* false: try again later */
        } nack;
        struct {
            uint64_t outbox_id;
            char *channel;
            char *account;
            char *kind;         /* ack, notice, response, status, reminder */
            char *ticket;
            char *to_addr;
            char *to_name;
            char *subject;
            char *text;
            char *message_id;   /* stable for the outbox row: a retry carries the same */
            char *in_reply_to;
            char *references;
            bool automatic;     /* an automatic reply (RFC 3834 Auto-Submitted) */
            uint64_t attempt;   /* 1 for the first try */
        } deliver;
        struct {
            uint64_t outbox_id;
            char *status;       /* sent, delivered, temporary, permanent */
            char *provider_id;  /* SMS message reference, SMTP queue id, ... */
            char *detail;
        } result;
        struct {
            char *topic;        /* ticket.new, ticket.followup, outbox.sent, ... */
            char *ticket;
            char *detail;       /* JSON object */
        } event;
        struct {
            char *command;      /* list, show, search, stats, quarantine, ... */
            char *actor;        /* OS user of the caller */
            char *args;         /* JSON object */
        } request;
        struct {
            char *status;       /* ok, refused, error */
            char *body;         /* JSON */
        } reply;
    };
    aduan_attachment_t *attachments;
    size_t attachment_count;
} aduan_msg_t;

/*  Returns a zeroed message of the type with a fresh id, unique across threads and
    processes (a random per-process prefix, drawn again in a forked child, and a counter);
    caller owns it. NULL for an unknown type or when memory runs out. */
aduan_msg_t *aduan_msg_new(aduan_msg_type_t type);
/* Frees every field and attachment and NULLs the pointer. NULL-safe. */
void aduan_msg_destroy(aduan_msg_t **self_p);

/* Replaces a string field with a copy of value (NULL allowed); returns 0 or -1 (the field
   is then unchanged). */
int aduan_msg_set(char **field, const char *value);
/* Adds an attachment, copying name, type and data (NULL name or type allowed); 0 or -1.
   Only INTAKE and DELIVER may carry attachments: the encoder refuses them elsewhere. */
int aduan_msg_attach(aduan_msg_t *self, const char *name, const char *content_type,
                     const void *data, size_t size);

/* Names: "INTAKE" for ADUAN_MSG_INTAKE; NULL for an unknown type. */
const char *aduan_msg_type_name(aduan_msg_type_t type);

/*  Encodes the message, checking it against the same schema as the decoder, so that what
    is sent is never refused for its form. Returns a new zmsg the caller owns, or NULL when
    the message breaks its schema (reason names the field: "INTAKE.subject: control
    character 0x0d at byte 12"). */
zmsg_t *aduan_msg_encode(const aduan_msg_t *self, char *reason, size_t reasonlen);

/*  Decodes and checks a message (without routing id). Takes ownership of *zmsg_p and NULLs
    it. Returns a new message the caller owns, or NULL with the reason for the refusal.
    max_size bounds the sum of all frame sizes and is checked before anything is copied.
    If frame 2 is a valid message id, it is copied to id_out (which may be NULL, else has
    room for ADUAN_MSG_ID_MAX + 1 bytes) so the refusal can name it; otherwise id_out is "".
    Reasons name the cause and the field: "INTAKE.subject: invalid UTF-8 at byte 17"
    (bytes counted from 0). */
aduan_msg_t *aduan_msg_decode(zmsg_t **zmsg_p, size_t max_size, char *id_out, char *reason,
                              size_t reasonlen);

/* Encodes and sends, prefixed by a copy of routing_id when not NULL (ROUTER); the caller
   keeps routing_id. 0, or -1 when the message breaks its schema or sending fails. */
int aduan_msg_send(const aduan_msg_t *self, zsock_t *sock, zframe_t *routing_id);

/* True when s[0..len) is well-formed UTF-8: no overlong forms, no surrogates, nothing
   above U+10FFFF, no truncated sequence. Control characters (NUL included) are valid. */
bool aduan_utf8_valid(const char *s, size_t len);

#endif
