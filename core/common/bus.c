/*  bus.c - the messages of the Aduan bus: one schema table drives the encoder, the
    decoder and the destructor. No message type has code of its own.

    Reading order: the field checks (UTF-8, integers, words), the schema table, then
    new/destroy, encode, decode.
*/
#include "aduan/bus.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

/* ---------------------------------------------------------------- reasons */

static void say(char *reason, size_t reasonlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void say(char *reason, size_t reasonlen, const char *fmt, ...)
{
    if (!reason || reasonlen == 0)
        return;
    va_list args;
    va_start(args, fmt);
    vsnprintf(reason, reasonlen, fmt, args);
    va_end(args);
}

/* What a stranger sent, made printable for a reason: at most ESCAPE_SHOWN bytes, each
   non-printable one as \xNN, then "..." when there was more. */
#define ESCAPE_SHOWN 32
#define ESCAPE_BUF (ESCAPE_SHOWN * 4 + 4)

static const char *escape(const unsigned char *data, size_t size, char out[ESCAPE_BUF])
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    for (size_t i = 0; i < size && i < ESCAPE_SHOWN; i++) {
        unsigned char c = data[i];
        if (c >= 0x20 && c < 0x7f && c != '\\' && c != '\'') {
            out[o++] = (char)c;
        } else {
            out[o++] = '\\';
            out[o++] = 'x';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 0xf];
        }
    }
    if (size > ESCAPE_SHOWN) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
    return out;
}

/* ------------------------------------------------------- UTF-8 and lines */

typedef enum { SCAN_UTF8, SCAN_LINE, SCAN_TEXT } scan_mode_t;
typedef enum { SCAN_OK, SCAN_BAD_UTF8, SCAN_NUL, SCAN_CONTROL } scan_result_t;

/*  One linear pass: well-formed UTF-8 (Unicode table 3-7: no overlongs, no surrogates,
    nothing above U+10FFFF) and, for a line or a text, no forbidden control character.
    *at is the offset of the first offending byte (the start of a bad sequence). */
static scan_result_t scan(const unsigned char *s, size_t len, scan_mode_t mode, size_t *at)
{
    size_t i = 0;
    while (i < len) {
        unsigned char c = s[i];
        if (c < 0x80) {
            if ((c >= 0x20 && c != 0x7f) || mode == SCAN_UTF8
                || (mode == SCAN_TEXT && (c == '\t' || c == '\n' || c == '\r'))) {
                i++;
                continue;
            }
            *at = i;
            return c == 0 ? SCAN_NUL : SCAN_CONTROL;
        }
        size_t need; /* continuation bytes */
        unsigned char lo = 0x80, hi = 0xbf; /* range of the first continuation byte */
        if (c >= 0xc2 && c <= 0xdf) {
            need = 1;
        } else if (c == 0xe0) {
            need = 2; /* no overlong 3-byte forms */
            lo = 0xa0;
        } else if (c == 0xed) {
            need = 2; /* no surrogates */
            hi = 0x9f;
        } else if (c >= 0xe1 && c <= 0xef) {
            need = 2;
        } else if (c == 0xf0) {
            need = 3; /* no overlong 4-byte forms */
            lo = 0x90;
        } else if (c >= 0xf1 && c <= 0xf3) {
            need = 3;
        } else if (c == 0xf4) {
            need = 3; /* nothing above U+10FFFF */
            hi = 0x8f;
        } else {
            *at = i; /* continuation byte, C0, C1, F5..FF */
            return SCAN_BAD_UTF8;
        }
        if (len - i <= need || s[i + 1] < lo || s[i + 1] > hi) {
            *at = i;
            return SCAN_BAD_UTF8;
        }
        for (size_t k = 2; k <= need; k++) {
            if ((s[i + k] & 0xc0) != 0x80) {
                *at = i;
                return SCAN_BAD_UTF8;
            }
        }
        i += need + 1;
    }
    return SCAN_OK;
}

bool aduan_utf8_valid(const char *s, size_t len)
{
    size_t at;
    return len == 0 || scan((const unsigned char *)s, len, SCAN_UTF8, &at) == SCAN_OK;
}

#define ID_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-"

static bool id_valid(const unsigned char *s, size_t len)
{
    if (len == 0 || len > ADUAN_MSG_ID_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
              || c == '.' || c == '_' || c == ':' || c == '-'))
            return false;
    }
    return true;
}

/* ------------------------------------------------------------ the schema */

typedef enum {
    FIELD_LINE,  /* char *: UTF-8, no control character */
    FIELD_TEXT,  /* char *: UTF-8, TAB LF CR allowed */
    FIELD_UINT,  /* uint64_t: decimal digits */
    FIELD_FLAG,  /* bool: "0" or "1" */
    FIELD_ENUM,  /* char *: one of words */
    FIELD_BYTES, /* aduan_bytes_t: anything */
} field_kind_t;

typedef struct {
    const char *name;
    field_kind_t kind;
    size_t offset;            /* of the member, in aduan_msg_t (or aduan_attachment_t) */
    size_t max;               /* bytes on the wire */
    bool required;            /* not empty; an integer not 0 */
    const char *const *words; /* FIELD_ENUM: the allowed words, NULL-terminated */
} field_t;

typedef struct {
    const char *name;
    const field_t *fields;
    size_t field_count;
    bool attachments; /* may carry attachment triples */
} msg_schema_t;

#define UINT_DIGITS 20 /* UINT64_MAX = 18446744073709551615 */
#define ENUM_MAX 32
#define KIB ((size_t)1024)
#define MIB (KIB * 1024)

/* The member's offset, checked against the C type its kind is stored in: a field given
   the wrong kind does not compile. */
#define AT(s, m, ctype) _Generic(((s *)0)->m, ctype: offsetof(s, m))

#define REQ true
#define OPT false
#define LINE(t, f, n, r) \
    { .name = #f, .kind = FIELD_LINE, .offset = AT(aduan_msg_t, t.f, char *), .max = (n), \
      .required = (r) }
#define TEXT(t, f, n, r) \
    { .name = #f, .kind = FIELD_TEXT, .offset = AT(aduan_msg_t, t.f, char *), .max = (n), \
      .required = (r) }
#define UINT(t, f, r) \
    { .name = #f, .kind = FIELD_UINT, .offset = AT(aduan_msg_t, t.f, uint64_t), \
      .max = UINT_DIGITS, .required = (r) }
#define FLAG(t, f) \
    { .name = #f, .kind = FIELD_FLAG, .offset = AT(aduan_msg_t, t.f, bool), .max = 1 }
#define ENUM(t, f, w, r) \
    { .name = #f, .kind = FIELD_ENUM, .offset = AT(aduan_msg_t, t.f, char *), .max = ENUM_MAX, \
      .required = (r), .words = (w) }
#define BYTES(t, f) \
    { .name = #f, .kind = FIELD_BYTES, .offset = AT(aduan_msg_t, t.f, aduan_bytes_t), \
      .max = SIZE_MAX }
#define FIELDS(a) .fields = (a), .field_count = sizeof(a) / sizeof((a)[0])

static const char *const intent_words[] = {"complaint", "status", "bounce", "call", NULL};
static const char *const disposition_words[] = {"new",         "followup", "duplicate", "status",
                                                "quarantined", "bounce",   "logged",    NULL};
static const char *const call_status_words[] = {"answered", "missed", "busy", "failed", NULL};
static const char *const deliver_kind_words[] = {"ack",    "notice",   "response",
                                                 "status", "reminder", NULL};
static const char *const result_words[] = {"sent", "delivered", "temporary", "permanent", NULL};
static const char *const reply_words[] = {"ok", "refused", "error", NULL};

static const field_t hello_fields[] = {
    LINE(hello, channel, 32, REQ),
    LINE(hello, account, 128, OPT),
    LINE(hello, capabilities, 256, OPT),
    LINE(hello, software, 64, OPT),
};

static const field_t heartbeat_fields[] = {
    TEXT(heartbeat, status, 16 * KIB, OPT),
};

static const field_t intake_fields[] = {
    LINE(intake, channel, 32, REQ),
    LINE(intake, account, 128, OPT),
    LINE(intake, dedupe_key, 512, REQ),
    ENUM(intake, intent, intent_words, REQ),
    LINE(intake, from_addr, 320, OPT),
    LINE(intake, from_name, 256, OPT),
    UINT(intake, received_at, OPT),
    LINE(intake, subject, 998, OPT),
    TEXT(intake, text, 1 * MIB, OPT),
    LINE(intake, thread_ticket, 32, OPT),
    LINE(intake, in_reply_to, 4096, OPT),
    LINE(intake, references, 8192, OPT),
    LINE(intake, message_ref, 998, OPT),
    UINT(intake, flags, OPT),
    LINE(intake, quarantine_reason, 512, OPT),
    ENUM(intake, call_status, call_status_words, OPT),
    UINT(intake, call_seconds, OPT),
    LINE(intake, reply_channel, 32, OPT),
    BYTES(intake, raw), /* bounded by the message's maximum only */
};

static const field_t ack_fields[] = {
    LINE(ack, ref, ADUAN_MSG_ID_MAX, REQ),
    LINE(ack, ticket, 32, OPT),
    ENUM(ack, disposition, disposition_words, REQ),
};

static const field_t nack_fields[] = {
    LINE(nack, ref, ADUAN_MSG_ID_MAX, REQ),
    LINE(nack, reason, 512, REQ),
    FLAG(nack, permanent),
};

static const field_t deliver_fields[] = {
    UINT(deliver, outbox_id, REQ),
    LINE(deliver, channel, 32, REQ),
    LINE(deliver, account, 128, OPT),
    ENUM(deliver, kind, deliver_kind_words, REQ),
    LINE(deliver, ticket, 32, OPT),
    LINE(deliver, to_addr, 320, REQ),
    LINE(deliver, to_name, 256, OPT),
    LINE(deliver, subject, 998, OPT),
    TEXT(deliver, text, 1 * MIB, OPT),
    LINE(deliver, message_id, 998, OPT),
    LINE(deliver, in_reply_to, 4096, OPT),
    LINE(deliver, references, 8192, OPT),
    FLAG(deliver, automatic),
    UINT(deliver, attempt, OPT),
};

static const field_t result_fields[] = {
    UINT(result, outbox_id, REQ),
    ENUM(result, status, result_words, REQ),
    LINE(result, provider_id, 256, OPT),
    LINE(result, detail, 512, OPT),
};

static const field_t event_fields[] = {
    LINE(event, topic, 64, REQ),
    LINE(event, ticket, 32, OPT),
    TEXT(event, detail, 64 * KIB, OPT),
};

static const field_t request_fields[] = {
    LINE(request, command, 64, REQ),
    LINE(request, actor, 64, OPT),
    TEXT(request, args, 1 * MIB, OPT),
};

static const field_t reply_fields[] = {
    ENUM(reply, status, reply_words, REQ),
    TEXT(reply, body, 64 * MIB, OPT),
};

static const msg_schema_t schemas[ADUAN_MSG_TYPE_COUNT] = {
    [ADUAN_MSG_HELLO] = {.name = "HELLO", FIELDS(hello_fields)},
    [ADUAN_MSG_HEARTBEAT] = {.name = "HEARTBEAT", FIELDS(heartbeat_fields)},
    [ADUAN_MSG_INTAKE] = {.name = "INTAKE", FIELDS(intake_fields), .attachments = true},
    [ADUAN_MSG_ACK] = {.name = "ACK", FIELDS(ack_fields)},
    [ADUAN_MSG_NACK] = {.name = "NACK", FIELDS(nack_fields)},
    [ADUAN_MSG_DELIVER] = {.name = "DELIVER", FIELDS(deliver_fields), .attachments = true},
    [ADUAN_MSG_RESULT] = {.name = "RESULT", FIELDS(result_fields)},
    [ADUAN_MSG_EVENT] = {.name = "EVENT", FIELDS(event_fields)},
    [ADUAN_MSG_REQUEST] = {.name = "REQUEST", FIELDS(request_fields)},
    [ADUAN_MSG_REPLY] = {.name = "REPLY", FIELDS(reply_fields)},
};

/* An attachment triple, read and written by the same code as the fields. */
static const field_t attachment_fields[] = {
    {.name = "name", .kind = FIELD_LINE, .max = 255,
     .offset = AT(aduan_attachment_t, name, char *)},
    {.name = "content_type", .kind = FIELD_LINE, .max = 127,
     .offset = AT(aduan_attachment_t, content_type, char *)},
    {.name = "data", .kind = FIELD_BYTES, .max = SIZE_MAX,
     .offset = AT(aduan_attachment_t, content, aduan_bytes_t)},
};
#define ATTACHMENT_FRAMES (sizeof attachment_fields / sizeof attachment_fields[0])

static const msg_schema_t *schema_of(aduan_msg_type_t type)
{
    if ((int)type <= 0 || type >= ADUAN_MSG_TYPE_COUNT)
        return NULL;
    return &schemas[type];
}

const char *aduan_msg_type_name(aduan_msg_type_t type)
{
    const msg_schema_t *schema = schema_of(type);
    return schema ? schema->name : NULL;
}

/* ------------------------------------------------------- checking a value */

static bool word_is(const char *word, const unsigned char *data, size_t size)
{
    return strlen(word) == size && memcmp(word, data, size) == 0;
}

/*  Checks one field's bytes on the wire against its kind; the same check for the encoder
    and the decoder. Integers are returned in *num. On refusal, writes the cause (without
    the field's name) to why. */
static int check_value(const field_t *f, const unsigned char *data, size_t size, uint64_t *num,
                       char *why, size_t whylen)
{
    char shown[ESCAPE_BUF];
    size_t at = 0;
    *num = 0;
    if (size > f->max) {
        say(why, whylen, "%zu bytes exceeds the limit of %zu", size, f->max);
        return -1;
    }
    if (size == 0) {
        if (!f->required)
            return 0;
        say(why, whylen, "required, but empty");
        return -1;
    }
    switch (f->kind) {
    case FIELD_LINE:
    case FIELD_TEXT:
        switch (scan(data, size, f->kind == FIELD_LINE ? SCAN_LINE : SCAN_TEXT, &at)) {
        case SCAN_OK:
            return 0;
        case SCAN_BAD_UTF8:
            say(why, whylen, "invalid UTF-8 at byte %zu", at);
            return -1;
        case SCAN_NUL:
            say(why, whylen, "NUL byte at byte %zu", at);
            return -1;
        case SCAN_CONTROL:
            say(why, whylen, "control character 0x%02x at byte %zu", data[at], at);
            return -1;
        }
        return -1;
    case FIELD_UINT: {
        uint64_t value = 0;
        for (size_t i = 0; i < size; i++) {
            if (data[i] < '0' || data[i] > '9') {
                say(why, whylen, "'%s' is not an unsigned decimal integer",
                    escape(data, size, shown));
                return -1;
            }
            unsigned digit = data[i] - '0';
            if (value > (UINT64_MAX - digit) / 10) {
                say(why, whylen, "'%s' does not fit 64 bits", escape(data, size, shown));
                return -1;
            }
            value = value * 10 + digit;
        }
        if (f->required && value == 0) {
            say(why, whylen, "required, but 0");
            return -1;
        }
        *num = value;
        return 0;
    }
    case FIELD_FLAG:
        if (size == 1 && (data[0] == '0' || data[0] == '1')) {
            *num = data[0] == '1';
            return 0;
        }
        say(why, whylen, "'%s' is not a flag (0 or 1)", escape(data, size, shown));
        return -1;
    case FIELD_ENUM: {
        size_t n = 0;
        for (; f->words[n]; n++)
            if (word_is(f->words[n], data, size))
                return 0;
        int len = snprintf(why, whylen, "'%s' is not one of", escape(data, size, shown));
        for (size_t i = 0; i < n && len >= 0 && (size_t)len < whylen; i++)
            len += snprintf(why + len, whylen - (size_t)len, "%s %s", i ? "," : "", f->words[i]);
        return -1;
    }
    case FIELD_BYTES:
        return 0;
    }
    return -1;
}

/* ---------------------------------------------------- values in a struct */

static void free_value(void *base, const field_t *f)
{
    void *member = (char *)base + f->offset;
    switch (f->kind) {
    case FIELD_LINE:
    case FIELD_TEXT:
    case FIELD_ENUM:
        free(*(char **)member);
        *(char **)member = NULL;
        break;
    case FIELD_BYTES:
        free(((aduan_bytes_t *)member)->data);
        *(aduan_bytes_t *)member = (aduan_bytes_t){NULL, 0};
        break;
    case FIELD_UINT:
    case FIELD_FLAG:
        break;
    }
}

/* A copy of size bytes followed by a NUL; NULL when size is 0 or memory runs out. */
static unsigned char *copy_terminated(const void *data, size_t size)
{
    if (size == 0 || size == SIZE_MAX)
        return NULL;
    unsigned char *copy = malloc(size + 1);
    if (copy) {
        memcpy(copy, data, size);
        copy[size] = '\0';
    }
    return copy;
}

/* Stores a checked wire value into its member; 0, or -1 when memory runs out. */
static int store_value(void *base, const field_t *f, const unsigned char *data, size_t size,
                       uint64_t num)
{
    void *member = (char *)base + f->offset;
    switch (f->kind) {
    case FIELD_LINE:
    case FIELD_TEXT:
    case FIELD_ENUM:
        if (size == 0)
            return 0;
        *(char **)member = (char *)copy_terminated(data, size);
        return *(char **)member ? 0 : -1;
    case FIELD_BYTES:
        if (size == 0)
            return 0;
        ((aduan_bytes_t *)member)->data = copy_terminated(data, size);
        if (!((aduan_bytes_t *)member)->data)
            return -1;
        ((aduan_bytes_t *)member)->size = size;
        return 0;
    case FIELD_UINT:
        *(uint64_t *)member = num;
        return 0;
    case FIELD_FLAG:
        *(bool *)member = num != 0;
        return 0;
    }
    return -1;
}

/* The wire form of a member: borrowed bytes, or digits written into num. 0, or -1 for
   bytes with a size but no data. */
static int wire_value(const void *base, const field_t *f, char num[UINT_DIGITS + 1],
                      const unsigned char **data, size_t *size)
{
    const void *member = (const char *)base + f->offset;
    switch (f->kind) {
    case FIELD_LINE:
    case FIELD_TEXT:
    case FIELD_ENUM: {
        const char *s = *(char *const *)member;
        *data = (const unsigned char *)(s ? s : "");
        *size = s ? strlen(s) : 0;
        return 0;
    }
    case FIELD_BYTES: {
        const aduan_bytes_t *bytes = member;
        *data = bytes->data ? bytes->data : (const unsigned char *)"";
        *size = bytes->size;
        return bytes->size && !bytes->data ? -1 : 0;
    }
    case FIELD_UINT:
        *size = (size_t)snprintf(num, UINT_DIGITS + 1, "%" PRIu64, *(const uint64_t *)member);
        *data = (const unsigned char *)num;
        return 0;
    case FIELD_FLAG:
        *data = (const unsigned char *)(*(const bool *)member ? "1" : "0");
        *size = 1;
        return 0;
    }
    return -1;
}

/* --------------------------------------------------------- new, destroy */

/* Ids: a random prefix drawn once per process (again in a forked child) and a counter. */
#define ID_RANDOM_BYTES 12
static pthread_once_t id_once = PTHREAD_ONCE_INIT;
static char id_prefix[2 * ID_RANDOM_BYTES + 1];
static atomic_uint_fast64_t id_counter;

static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static void id_draw_prefix(void)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char bytes[ID_RANDOM_BYTES];
    size_t got = 0;
    int saved = errno;
    while (got < sizeof bytes) {
        ssize_t n = getrandom(bytes + got, sizeof bytes - got, 0);
        if (n > 0)
            got += (size_t)n;
        else if (!(n < 0 && errno == EINTR))
            break;
    }
    if (got < sizeof bytes) {
        /* No kernel randomness: time, pid and an address still differ between processes. */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t state = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
        state ^= (uint64_t)getpid() << 40 ^ (uint64_t)(uintptr_t)&ts;
        for (size_t i = 0; i < sizeof bytes; i++)
            bytes[i] = (unsigned char)splitmix64(&state);
    }
    for (size_t i = 0; i < sizeof bytes; i++) {
        id_prefix[2 * i] = hex[bytes[i] >> 4];
        id_prefix[2 * i + 1] = hex[bytes[i] & 0xf];
    }
    id_prefix[2 * ID_RANDOM_BYTES] = '\0';
    errno = saved;
}

static void id_init(void)
{
    id_draw_prefix();
    pthread_atfork(NULL, NULL, id_draw_prefix);
}

aduan_msg_t *aduan_msg_new(aduan_msg_type_t type)
{
    if (!schema_of(type))
        return NULL;
    aduan_msg_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->type = type;
    pthread_once(&id_once, id_init);
    uint64_t n = atomic_fetch_add(&id_counter, 1);
    snprintf(self->id, sizeof self->id, "%s-%" PRIx64, id_prefix, n);
    return self;
}

static void free_attachment(aduan_attachment_t *attachment)
{
    for (size_t i = 0; i < ATTACHMENT_FRAMES; i++)
        free_value(attachment, &attachment_fields[i]);
}

void aduan_msg_destroy(aduan_msg_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    aduan_msg_t *self = *self_p;
    const msg_schema_t *schema = schema_of(self->type);
    for (size_t i = 0; schema && i < schema->field_count; i++)
        free_value(self, &schema->fields[i]);
    for (size_t i = 0; i < self->attachment_count; i++)
        free_attachment(&self->attachments[i]);
    free(self->attachments);
    free(self);
    *self_p = NULL;
}

int aduan_msg_set(char **field, const char *value)
{
    assert(field);
    char *copy = NULL;
    if (value && !(copy = strdup(value)))
        return -1;
    free(*field);
    *field = copy;
    return 0;
}

/* Slots allocated for count attachments: 0, then powers of two from 4, so that adding
   one by one stays linear. The decoder allocates the same way. */
static size_t attachment_capacity(size_t count)
{
    if (count == 0)
        return 0;
    size_t capacity = 4;
    while (capacity < count)
        capacity *= 2;
    return capacity;
}

int aduan_msg_attach(aduan_msg_t *self, const char *name, const char *content_type,
                     const void *data, size_t size)
{
    assert(self);
    if (size && !data)
        return -1;
    size_t count = self->attachment_count;
    if (count == attachment_capacity(count)) {
        size_t capacity = attachment_capacity(count + 1);
        aduan_attachment_t *grown = realloc(self->attachments, capacity * sizeof *grown);
        if (!grown)
            return -1;
        self->attachments = grown;
    }
    aduan_attachment_t attachment = {0};
    if ((name && !(attachment.name = strdup(name)))
        || (content_type && !(attachment.content_type = strdup(content_type)))
        || (size && !(attachment.content.data = copy_terminated(data, size)))) {
        free_attachment(&attachment);
        return -1;
    }
    attachment.content.size = size;
    self->attachments[self->attachment_count++] = attachment;
    return 0;
}

/* ----------------------------------------------------------------- encode */

/* Checks and appends one field; 0 or -1 with the reason. */
static int encode_value(zmsg_t *wire, const void *base, const field_t *f, const char *type_name,
                        const char *where, char *reason, size_t reasonlen)
{
    char num[UINT_DIGITS + 1];
    char why[320];
    const unsigned char *data = NULL;
    size_t size = 0;
    uint64_t value;
    if (wire_value(base, f, num, &data, &size) != 0) {
        say(reason, reasonlen, "%s%s.%s: %zu bytes of data at NULL", type_name, where, f->name,
            size);
        return -1;
    }
    if (check_value(f, data, size, &value, why, sizeof why) != 0) {
        say(reason, reasonlen, "%s%s.%s: %s", type_name, where, f->name, why);
        return -1;
    }
    if (zmsg_addmem(wire, data, size) != 0) {
        say(reason, reasonlen, "out of memory");
        return -1;
    }
    return 0;
}

zmsg_t *aduan_msg_encode(const aduan_msg_t *self, char *reason, size_t reasonlen)
{
    say(reason, reasonlen, "%s", "");
    if (!self) {
        say(reason, reasonlen, "no message");
        return NULL;
    }
    const msg_schema_t *schema = schema_of(self->type);
    if (!schema) {
        say(reason, reasonlen, "unknown message type %d", (int)self->type);
        return NULL;
    }
    size_t id_len = strnlen(self->id, sizeof self->id);
    if (!id_valid((const unsigned char *)self->id, id_len)) {
        char shown[ESCAPE_BUF];
        say(reason, reasonlen, "%s: invalid message id '%s'", schema->name,
            escape((const unsigned char *)self->id, id_len, shown));
        return NULL;
    }
    if (self->attachment_count && !schema->attachments) {
        say(reason, reasonlen, "%s: attachments are not allowed", schema->name);
        return NULL;
    }
    if (self->attachment_count && !self->attachments) {
        say(reason, reasonlen, "%s: %zu attachments at NULL", schema->name,
            self->attachment_count);
        return NULL;
    }

    zmsg_t *wire = zmsg_new();
    if (!wire || zmsg_addstr(wire, ADUAN_PROTOCOL) || zmsg_addstr(wire, schema->name)
        || zmsg_addmem(wire, self->id, id_len)) {
        say(reason, reasonlen, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < schema->field_count; i++)
        if (encode_value(wire, self, &schema->fields[i], schema->name, "", reason, reasonlen))
            goto fail;
    for (size_t a = 0; a < self->attachment_count; a++) {
        char where[48];
        snprintf(where, sizeof where, ".attachment[%zu]", a);
        for (size_t i = 0; i < ATTACHMENT_FRAMES; i++)
            if (encode_value(wire, &self->attachments[a], &attachment_fields[i], schema->name,
                             where, reason, reasonlen))
                goto fail;
    }
    return wire;
fail:
    zmsg_destroy(&wire);
    return NULL;
}

int aduan_msg_send(const aduan_msg_t *self, zsock_t *sock, zframe_t *routing_id)
{
    char reason[256];
    zmsg_t *wire = aduan_msg_encode(self, reason, sizeof reason);
    if (!wire)
        return -1;
    if (routing_id) {
        zframe_t *copy = zframe_dup(routing_id);
        if (!copy || zmsg_prepend(wire, &copy) != 0) {
            zframe_destroy(&copy);
            zmsg_destroy(&wire);
            return -1;
        }
    }
    int rc = zmsg_send(&wire, sock);
    zmsg_destroy(&wire); /* left to us when sending failed */
    return rc == 0 ? 0 : -1;
}

/* ----------------------------------------------------------------- decode */

/* Checks and stores one frame into base; 0 or -1 with the reason. */
static int decode_value(zframe_t *frame, void *base, const field_t *f, const char *type_name,
                        const char *where, char *reason, size_t reasonlen)
{
    char why[320];
    const unsigned char *data = zframe_data(frame);
    size_t size = zframe_size(frame);
    uint64_t num;
    if (check_value(f, data, size, &num, why, sizeof why) != 0) {
        say(reason, reasonlen, "%s%s.%s: %s", type_name, where, f->name, why);
        return -1;
    }
    if (store_value(base, f, data, size, num) != 0) {
        say(reason, reasonlen, "%s%s.%s: out of memory", type_name, where, f->name);
        return -1;
    }
    return 0;
}

static const msg_schema_t *schema_named(const unsigned char *data, size_t size,
                                        aduan_msg_type_t *type)
{
    for (int t = 1; t < ADUAN_MSG_TYPE_COUNT; t++) {
        if (word_is(schemas[t].name, data, size)) {
            *type = (aduan_msg_type_t)t;
            return &schemas[t];
        }
    }
    return NULL;
}

aduan_msg_t *aduan_msg_decode(zmsg_t **zmsg_p, size_t max_size, char *id_out, char *reason,
                              size_t reasonlen)
{
    static const char protocol[] = ADUAN_PROTOCOL;
    char shown[ESCAPE_BUF];
    aduan_msg_t *self = NULL;
    zmsg_t *wire = zmsg_p ? *zmsg_p : NULL;
    zframe_t *frame, *type_frame, *id_frame;
    const msg_schema_t *schema;
    aduan_msg_type_t type;
    size_t frames, fields, triples;

    if (zmsg_p)
        *zmsg_p = NULL;
    if (id_out)
        id_out[0] = '\0';
    say(reason, reasonlen, "%s", "");
    if (!wire) {
        say(reason, reasonlen, "no message");
        return NULL;
    }
    frames = zmsg_size(wire);
    frame = zmsg_first(wire);
    if (!frame) {
        say(reason, reasonlen, "not an Aduan message (no frame)");
        goto fail;
    }
    if (!word_is(protocol, zframe_data(frame), zframe_size(frame))) {
        if (zframe_size(frame) > 4 && memcmp(zframe_data(frame), "ADU/", 4) == 0)
            say(reason, reasonlen, "unsupported protocol '%s' (this is %s)",
                escape(zframe_data(frame), zframe_size(frame), shown), ADUAN_PROTOCOL);
        else
            say(reason, reasonlen, "not an Aduan message");
        goto fail;
    }
    type_frame = zmsg_next(wire);
    id_frame = type_frame ? zmsg_next(wire) : NULL;
    bool id_ok = id_frame && id_valid(zframe_data(id_frame), zframe_size(id_frame));
    if (id_ok && id_out) {
        memcpy(id_out, zframe_data(id_frame), zframe_size(id_frame));
        id_out[zframe_size(id_frame)] = '\0';
    }

    /* The size first: nothing is looked at in detail, let alone copied, before. */
    if (zmsg_content_size(wire) > max_size) {
        say(reason, reasonlen, "message of %zu bytes exceeds the limit of %zu",
            zmsg_content_size(wire), max_size);
        goto fail;
    }
    if (!type_frame) {
        say(reason, reasonlen, "truncated message: no type after %s", ADUAN_PROTOCOL);
        goto fail;
    }
    schema = schema_named(zframe_data(type_frame), zframe_size(type_frame), &type);
    if (!schema) {
        say(reason, reasonlen, "unknown message type '%s'",
            escape(zframe_data(type_frame), zframe_size(type_frame), shown));
        goto fail;
    }
    if (!id_frame) {
        say(reason, reasonlen, "%s: truncated message: no message id", schema->name);
        goto fail;
    }
    if (!id_ok) {
        say(reason, reasonlen, "%s: invalid message id '%s' (1..%d of A-Z a-z 0-9 . _ : -)",
            schema->name, escape(zframe_data(id_frame), zframe_size(id_frame), shown),
            ADUAN_MSG_ID_MAX);
        goto fail;
    }

    fields = frames - 3;
    if (fields < schema->field_count || (!schema->attachments && fields > schema->field_count)) {
        say(reason, reasonlen, "%s: expected %zu fields, got %zu%s", schema->name,
            schema->field_count, fields,
            fields > schema->field_count ? " (no attachments on this type)" : "");
        goto fail;
    }
    if ((fields - schema->field_count) % ATTACHMENT_FRAMES != 0) {
        say(reason, reasonlen,
            "%s: %zu frames after the %zu fields: attachments come as triples "
            "(name, content type, data)",
            schema->name, fields - schema->field_count, schema->field_count);
        goto fail;
    }
    triples = (fields - schema->field_count) / ATTACHMENT_FRAMES;

    self = calloc(1, sizeof *self);
    if (!self) {
        say(reason, reasonlen, "out of memory");
        goto fail;
    }
    self->type = type;
    memcpy(self->id, zframe_data(id_frame), zframe_size(id_frame));
    for (size_t i = 0; i < schema->field_count; i++)
        if (decode_value(zmsg_next(wire), self, &schema->fields[i], schema->name, "", reason,
                         reasonlen))
            goto fail;
    if (triples) {
        self->attachments = calloc(attachment_capacity(triples), sizeof *self->attachments);
        if (!self->attachments) {
            say(reason, reasonlen, "out of memory");
            goto fail;
        }
    }
    for (size_t a = 0; a < triples; a++) {
        char where[48];
        snprintf(where, sizeof where, ".attachment[%zu]", a);
        self->attachment_count = a + 1; /* zeroed: freed whole or in part on failure */
        for (size_t i = 0; i < ATTACHMENT_FRAMES; i++)
            if (decode_value(zmsg_next(wire), &self->attachments[a], &attachment_fields[i],
                             schema->name, where, reason, reasonlen))
                goto fail;
    }
    zmsg_destroy(&wire);
    return self;
fail:
    aduan_msg_destroy(&self);
    zmsg_destroy(&wire);
    return NULL;
}
