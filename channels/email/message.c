/*  message.c - the RFC 5322 text of one DELIVER (see message.h). Quoted-printable and
    base64 bodies come from libetpan's MIME writer, base64 for RFC 2047 words from
    libcrypto; headers are written here because neither library encodes or folds them. */
#include "message.h"

#include <ctype.h>
#include <libetpan/libetpan.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aduan/hash.h"

/* RFC 5322 2.1.1: lines SHOULD stay within 78 characters. */
#define FOLD_AT 78
/* Bytes of UTF-8 per RFC 2047 word: 52 base64 characters, a 64-character word, so even
   "Subject: " and one word stay under 76 (RFC 2047 2). */
#define WORD_BYTES 39
/* Longest name or subject written; a longer one is cut at a character boundary. */
#define PHRASE_MAX 900
#define FILENAME_MAX_BYTES 100
#define REFERENCES_MAX 20

typedef struct {
    MMAPString *s;
    size_t col;      /* column of the current header line */
    size_t name_len; /* "Subject:": a fold never comes right after the name */
    bool failed;     /* out of memory somewhere: the result is dropped */
} out_t;

static void put(out_t *o, const char *p, size_t n)
{
    if (!o->failed && !mmap_string_append_len(o->s, p, n))
        o->failed = true;
    for (size_t i = 0; i < n; i++)
        o->col = p[i] == '\n' ? 0 : o->col + 1;
}

static void puts_(out_t *o, const char *p)
{
    put(o, p, strlen(p));
}

/* ---- header lines --------------------------------------------------------------------- */

static void header_start(out_t *o, const char *name)
{
    puts_(o, name);
    put(o, ":", 1);
    o->name_len = o->col;
}

/* One unbreakable word, after a space or a fold. */
static void header_word(out_t *o, const char *word, size_t len)
{
    if (o->col > o->name_len && o->col + 1 + len > FOLD_AT)
        put(o, "\r\n", 2);
    put(o, " ", 1);
    put(o, word, len);
}

static void header_end(out_t *o)
{
    put(o, "\r\n", 2);
}

/* ---- text cleaning -------------------------------------------------------------------- */

static size_t utf8_char_len(unsigned char c)
{
    return c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
}

/*  A copy of a name or subject that can be nothing but one phrase: control characters
    (CR and LF first of all) become spaces, runs of spaces one, none at the ends; bytes of
    broken UTF-8 become '?'; cut at max bytes on a character boundary. Caller frees. */
static char *clean_phrase(const char *in, size_t max)
{
    size_t n = in ? strlen(in) : 0;
    bool utf8_ok = aduan_utf8_valid(in ? in : "", n);
    char *out = malloc(n + 1);
    if (!out)
        return NULL;
    size_t len = 0;
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)in[i];
        size_t clen = utf8_ok ? utf8_char_len(c) : 1;
        if (len + clen > max)
            break;
        if (c < 0x20 || c == 0x7f || c == ' ') {
            if (len > 0 && out[len - 1] != ' ')
                out[len++] = ' ';
        } else if (c >= 0x80 && !utf8_ok) {
            out[len++] = '?';
        } else {
            memcpy(out + len, in + i, clen);
            len += clen;
        }
        i += clen;
    }
    while (len > 0 && out[len - 1] == ' ')
        len--;
    out[len] = '\0';
    return out;
}

static bool is_ascii(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s >= 0x80)
            return false;
    return true;
}

/* ---- RFC 2047 ------------------------------------------------------------------------- */

/* The phrase as "=?UTF-8?B?...?=" words of at most WORD_BYTES bytes, never splitting a
   character. */
static void header_encoded_words(out_t *o, const char *text)
{
    size_t n = strlen(text);
    for (size_t i = 0; i < n;) {
        size_t chunk = 0;
        while (i + chunk < n) {
            size_t clen = utf8_char_len((unsigned char)text[i + chunk]);
            if (chunk > 0 && chunk + clen > WORD_BYTES)
                break;
            chunk += clen;
        }
        if (i + chunk > n)
            chunk = n - i;
        unsigned char b64[4 * ((4 * WORD_BYTES + 2) / 3) + 8];
        int b64_len = EVP_EncodeBlock(b64, (const unsigned char *)text + i, (int)chunk);
        char word[sizeof b64 + 16];
        int wlen = snprintf(word, sizeof word, "=?UTF-8?B?%.*s?=", b64_len, (char *)b64);
        header_word(o, word, (size_t)wlen);
        i += chunk;
    }
}

/* Plain ASCII words, when a reader can take them as they are: no "=?" (it would be read
   as an encoded word) and no word too long to fold. */
static bool plain_words_ok(const char *text)
{
    if (!is_ascii(text) || strstr(text, "=?"))
        return false;
    size_t word = 0;
    for (const char *p = text; *p; p++) {
        word = *p == ' ' ? 0 : word + 1;
        if (word > FOLD_AT - 10)
            return false;
    }
    return true;
}

/* An unstructured field (Subject): words as they are, or encoded words. */
static void header_text(out_t *o, const char *name, const char *text)
{
    header_start(o, name);
    if (plain_words_ok(text)) {
        for (const char *p = text; *p;) {
            size_t len = strcspn(p, " ");
            header_word(o, p, len);
            p += len;
            p += *p == ' ';
        }
    } else {
        header_encoded_words(o, text);
    }
}

/*  A display name (a phrase in RFC 5322 3.2.5): a quoted-string when ASCII, encoded words
    (allowed in a phrase, RFC 2047 5(3)) otherwise. Nothing when empty. */
static void header_phrase(out_t *o, const char *name)
{
    if (!*name)
        return;
    if (!is_ascii(name) || strstr(name, "=?")) {
        header_encoded_words(o, name);
        return;
    }
    size_t n = strlen(name);
    char *q = malloc(2 * n + 3);
    if (!q) {
        o->failed = true;
        return;
    }
    size_t len = 0;
    q[len++] = '"';
    for (size_t i = 0; i < n; i++) {
        if (name[i] == '"' || name[i] == '\\')
            q[len++] = '\\';
        q[len++] = name[i];
    }
    q[len++] = '"';
    header_word(o, q, len);
    free(q);
}

/* "Name" <addr> */
static void header_mailbox(out_t *o, const char *field, const char *name, const char *addr)
{
    header_start(o, field);
    char *clean = clean_phrase(name, PHRASE_MAX);
    if (!clean) {
        o->failed = true;
        return;
    }
    header_phrase(o, clean);
    free(clean);
    char angle[300];
    int len = snprintf(angle, sizeof angle, "<%s>", addr);
    header_word(o, angle, (size_t)len);
    header_end(o);
}

/* ---- addresses and ids ---------------------------------------------------------------- */

static bool is_atext(unsigned char c)
{
    return isalnum(c) || (c && strchr("!#$%&'*+-/=?^_`{|}~", c));
}

/* dot-atom-text: atext runs joined by single dots (RFC 5322 3.2.3). */
static bool dot_atom_valid(const char *s, size_t len)
{
    if (len == 0 || s[0] == '.' || s[len - 1] == '.')
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '.' ? s[i + 1] == '.' : !is_atext(c))
            return false;
    }
    return true;
}

static bool domain_valid(const char *d, size_t len)
{
    if (len == 0 || len > 253)
        return false;
    size_t label = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || d[i] == '.') {
            if (label == 0 || label > 63 || d[i - 1] == '-' || d[i - label] == '-')
                return false;
            label = 0;
        } else if (isalnum((unsigned char)d[i]) || d[i] == '-') {
            label++;
        } else {
            return false;
        }
    }
    return true;
}

bool email_address_valid(const char *addr)
{
    if (!addr)
        return false;
    size_t n = strlen(addr);
    const char *at = strchr(addr, '@');
    if (n > 254 || !at || strchr(at + 1, '@'))
        return false;
    size_t local = (size_t)(at - addr);
    return local <= 64 && dot_atom_valid(addr, local) &&
           domain_valid(at + 1, n - local - 1);
}

/* A msg-id without its brackets: dot-atom "@" dot-atom. */
static bool msg_id_valid(const char *id, size_t len)
{
    const char *at = memchr(id, '@', len);
    if (!at || len > 250)
        return false;
    size_t left = (size_t)(at - id);
    return dot_atom_valid(id, left) && dot_atom_valid(at + 1, len - left - 1);
}

/*  In-Reply-To / References from space-separated ids: each valid one in <>, the last
    REFERENCES_MAX (the oldest are the least useful); ids that are not msg-ids (a stranger
    wrote them) are left out. */
static void header_ids(out_t *o, const char *field, const char *ids)
{
    if (!ids)
        return;
    const char *tok[REFERENCES_MAX];
    size_t toklen[REFERENCES_MAX], count = 0;
    for (const char *p = ids; *p;) {
        p += strspn(p, " \t\r\n");
        size_t len = strcspn(p, " \t\r\n");
        if (len > 0 && msg_id_valid(p, len)) {
            if (count == REFERENCES_MAX) {
                memmove(tok, tok + 1, sizeof tok - sizeof tok[0]);
                memmove(toklen, toklen + 1, sizeof toklen - sizeof toklen[0]);
                count--;
            }
            tok[count] = p;
            toklen[count++] = len;
        }
        p += len;
    }
    if (count == 0)
        return;
    header_start(o, field);
    for (size_t i = 0; i < count; i++) {
        char angle[260];
        int len = snprintf(angle, sizeof angle, "<%.*s>", (int)toklen[i], tok[i]);
        header_word(o, angle, (size_t)len);
    }
    header_end(o);
}

/* ---- date ----------------------------------------------------------------------------- */

/* RFC 5322 3.3 in the local zone, with English names whatever the locale. */
static void header_date(out_t *o, int64_t ms)
{
    static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    if (!localtime_r(&t, &tm)) {
        o->failed = true;
        return;
    }
    long off = tm.tm_gmtoff / 60;
    char line[80];
    snprintf(line, sizeof line, "Date: %s, %d %s %04d %02d:%02d:%02d %c%02ld%02ld\r\n",
             days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour,
             tm.tm_min, tm.tm_sec, off < 0 ? '-' : '+', labs(off) / 60, labs(off) % 60);
    puts_(o, line);
}

/* ---- body ----------------------------------------------------------------------------- */

/* The text with LF line ends (CRLF and lone CR read as LF), ending with one. */
static char *text_lf(const char *text, size_t *len_out)
{
    size_t n = text ? strlen(text) : 0;
    char *out = malloc(n + 2);
    if (!out)
        return NULL;
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        if (text[i] == '\r') {
            out[len++] = '\n';
            i += text[i + 1] == '\n';
        } else {
            out[len++] = text[i];
        }
    }
    if (len == 0 || out[len - 1] != '\n')
        out[len++] = '\n';
    *len_out = len;
    return out;
}

static void text_part(out_t *o, const char *text)
{
    puts_(o, "Content-Type: text/plain; charset=UTF-8\r\n"
             "Content-Transfer-Encoding: quoted-printable\r\n\r\n");
    size_t len;
    char *lf = text_lf(text, &len);
    int col = 0;
    if (!lf || mailmime_quoted_printable_write_mem(o->s, &col, 1, lf, len) != MAILIMF_NO_ERROR)
        o->failed = true;
    free(lf);
}

static bool content_type_valid(const char *ct)
{
    static const char token[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                "0123456789!#$&^_.+-";
    if (!ct || strlen(ct) > 127)
        return false;
    size_t type = strspn(ct, token);
    return type > 0 && ct[type] == '/' && strspn(ct + type + 1, token) > 0 &&
           ct[type + 1 + strspn(ct + type + 1, token)] == '\0';
}

/* filename="..." for ASCII, filename*=UTF-8''%.. (RFC 2231) otherwise. */
static void attachment_headers(out_t *o, const aduan_attachment_t *a)
{
    const char *ct = content_type_valid(a->content_type) ? a->content_type
                                                          : "application/octet-stream";
    puts_(o, "Content-Type: ");
    puts_(o, ct);
    puts_(o, "\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment");
    char *name = clean_phrase(a->name, FILENAME_MAX_BYTES);
    if (!name) {
        o->failed = true;
        return;
    }
    for (char *p = name; *p; p++)
        if (*p == '"' || *p == '\\' || *p == '/')
            *p = '_';
    if (*name && is_ascii(name)) {
        puts_(o, ";\r\n filename=\"");
        puts_(o, name);
        puts_(o, "\"");
    } else if (*name) {
        puts_(o, ";\r\n filename*=UTF-8''");
        for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
            char pct[4];
            if (isalnum(*p) || strchr("._-", *p))
                put(o, (const char *)p, 1);
            else
                put(o, pct, (size_t)snprintf(pct, sizeof pct, "%%%02X", *p));
        }
    }
    free(name);
    puts_(o, "\r\n\r\n");
}

static void attachment_part(out_t *o, const aduan_attachment_t *a)
{
    attachment_headers(o, a);
    int col = 0;
    if (a->content.size > 0 &&
        mailmime_base64_write_mem(o->s, &col, (const char *)a->content.data,
                                  a->content.size) != MAILIMF_NO_ERROR)
        o->failed = true;
    puts_(o, "\r\n");
}

/* A boundary that cannot occur in quoted-printable or base64 text ("=_" never does), the
   same for every retry of the row. */
static void make_boundary(const char *message_id, char out[40])
{
    char hex[ADUAN_SHA256_HEX_LEN + 1];
    if (aduan_sha256_hex(message_id, strlen(message_id), hex) != 0)
        snprintf(hex, sizeof hex, "0000000000000000");
    snprintf(out, 40, "=_aduan_%.24s", hex);
}

/* ---- the message ---------------------------------------------------------------------- */

static void subject_header(out_t *o, const aduan_msg_t *d)
{
    char *subject = clean_phrase(d->deliver.subject, PHRASE_MAX);
    if (!subject) {
        o->failed = true;
        return;
    }
    const char *ticket = d->deliver.ticket;
    char tag[80] = "";
    if (ticket && *ticket) {
        snprintf(tag, sizeof tag, "[%s]", ticket);
        if (strstr(subject, tag))
            tag[0] = '\0';
    }
    size_t len = strlen(tag) + 1 + strlen(subject) + 1;
    char *full = malloc(len);
    if (!full) {
        free(subject);
        o->failed = true;
        return;
    }
    snprintf(full, len, "%s%s%s", tag, *tag && *subject ? " " : "", subject);
    if (*full) {
        header_text(o, "Subject", full);
        header_end(o);
    }
    free(full);
    free(subject);
}

char *email_message_build(const aduan_msg_t *deliver, const email_message_env_t *env,
                          size_t *size_out, char *reason, size_t reasonlen)
{
    const char *to = deliver->deliver.to_addr;
    const char *id = deliver->deliver.message_id;
    if (!email_address_valid(to)) {
        snprintf(reason, reasonlen, "to_addr is not one plain address");
        return NULL;
    }
    if (!email_address_valid(env->from_addr)) {
        snprintf(reason, reasonlen, "email.address is not one plain address");
        return NULL;
    }
    if (!id || !msg_id_valid(id, strlen(id))) {
        snprintf(reason, reasonlen, "message_id is not a Message-ID (left@right)");
        return NULL;
    }
    out_t o = {.s = mmap_string_new("")};
    if (!o.s) {
        snprintf(reason, reasonlen, "out of memory");
        return NULL;
    }
    header_mailbox(&o, "From", env->from_name, env->from_addr);
    header_mailbox(&o, "To", deliver->deliver.to_name, to);
    subject_header(&o, deliver);
    header_date(&o, env->date_ms);
    char angle[260];
    snprintf(angle, sizeof angle, "Message-ID: <%s>\r\n", id);
    puts_(&o, angle);
    header_ids(&o, "In-Reply-To", deliver->deliver.in_reply_to);
    header_ids(&o, "References", deliver->deliver.references);
    if (deliver->deliver.automatic)
        puts_(&o, "Auto-Submitted: auto-replied\r\n");
    else if (deliver->deliver.kind && strcmp(deliver->deliver.kind, "notice") == 0)
        /* a staff notice is made by the system: a vacation responder must not answer it
           into the complaint desk's mailbox (RFC 3834) */
        puts_(&o, "Auto-Submitted: auto-generated\r\n");
    puts_(&o, "MIME-Version: 1.0\r\n");
    if (deliver->attachment_count == 0) {
        text_part(&o, deliver->deliver.text);
    } else {
        char boundary[40];
        make_boundary(id, boundary);
        puts_(&o, "Content-Type: multipart/mixed;\r\n boundary=\"");
        puts_(&o, boundary);
        puts_(&o, "\"\r\n\r\nThis is a message in MIME format.\r\n");
        for (size_t i = 0; i <= deliver->attachment_count; i++) {
            puts_(&o, "\r\n--");
            puts_(&o, boundary);
            puts_(&o, "\r\n");
            if (i == 0)
                text_part(&o, deliver->deliver.text);
            else
                attachment_part(&o, &deliver->attachments[i - 1]);
        }
        puts_(&o, "\r\n--");
        puts_(&o, boundary);
        puts_(&o, "--\r\n");
    }
    char *result = NULL;
    if (!o.failed && (result = malloc(o.s->len + 1))) {
        memcpy(result, o.s->str, o.s->len + 1);
        *size_out = o.s->len;
    } else {
        snprintf(reason, reasonlen, "out of memory");
    }
    mmap_string_free(o.s);
    return result;
}
