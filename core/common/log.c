/*  log.c - one line per event on stderr; masks for phone numbers and addresses.

    A line is built whole in a buffer on the stack and written with a single write(2),
    at most ADUAN_LOG_LINE_MAX (= PIPE_BUF) bytes, so concurrent lines never mix.
    The message is escaped token by token (an escape or a whole UTF-8 character is one
    token), so a cut never splits either.
*/
#include "aduan/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

aduan_log_level_t aduan_log_threshold = ADUAN_LOG_INFO;

#define ELLIPSIS "\xE2\x80\xA6" /* "…" */
#define ELLIPSIS_LEN 3
#define COMPONENT_MAX 32

int aduan_log_level_parse(const char *name, aduan_log_level_t *level)
{
    static const struct {
        const char *name;
        aduan_log_level_t level;
    } names[] = {
        {.name = "debug", .level = ADUAN_LOG_DEBUG},
        {.name = "info", .level = ADUAN_LOG_INFO},
        {.name = "warn", .level = ADUAN_LOG_WARN},
        {.name = "warning", .level = ADUAN_LOG_WARN},
        {.name = "error", .level = ADUAN_LOG_ERROR},
    };
    if (name == NULL || level == NULL)
        return -1;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcasecmp(name, names[i].name) == 0) {
            *level = names[i].level;
            return 0;
        }
    }
    return -1;
}

static char level_letter(aduan_log_level_t level)
{
    switch (level) {
    case ADUAN_LOG_DEBUG:
        return 'D';
    case ADUAN_LOG_INFO:
        return 'I';
    case ADUAN_LOG_WARN:
        return 'W';
    case ADUAN_LOG_ERROR:
        return 'E';
    }
    return '?';
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0 if it is not one. */
static size_t utf8_sequence(const unsigned char *s, size_t n)
{
    size_t len;
    unsigned int cp;
    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xC2 && s[0] <= 0xDF) {
        len = 2;
        cp = s[0] & 0x1F;
    } else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
        len = 3;
        cp = s[0] & 0x0F;
    } else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
        len = 4;
        cp = s[0] & 0x07;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    /* overlong forms, surrogates, beyond U+10FFFF */
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

/*  Writes the escaped form of the token at s into tok (at most 8 bytes); returns its
    length and sets *used to the input bytes it stands for. */
static size_t escape_token(const unsigned char *s, size_t n, char *tok, size_t *used)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char c = s[0];
    size_t seq = utf8_sequence(s, n);

    *used = 1;
    if (seq == 1 && c >= 0x20 && c != 0x7F) {
        tok[0] = (char)c;
        return 1;
    }
    if (seq == 1) {
        tok[0] = '\\';
        switch (c) {
        case '\n':
            tok[1] = 'n';
            return 2;
        case '\r':
            tok[1] = 'r';
            return 2;
        case '\t':
            tok[1] = 't';
            return 2;
        default:
            break;
        }
    } else if (seq > 1 && !(seq == 2 && c == 0xC2 && s[1] < 0xA0)) {
        memcpy(tok, s, seq); /* a whole character, C1 controls excepted */
        *used = seq;
        return seq;
    } else if (seq == 2) {
        /* C1 control (U+0080..U+009F): both bytes as \xHH */
        memcpy(tok, "\\xc2\\x", 6);
        tok[6] = hex[s[1] >> 4];
        tok[7] = hex[s[1] & 0x0F];
        *used = 2;
        return 8;
    }
    tok[0] = '\\';
    tok[1] = 'x';
    tok[2] = hex[c >> 4];
    tok[3] = hex[c & 0x0F];
    return 4;
}

/*  Appends the escaped message to line[*len], never past cap. If it does not all fit,
    or truncated is set on entry, ends it with "…" at a token boundary. */
static void append_escaped(char *line, size_t *len, size_t cap, const char *msg, size_t msglen,
                           bool truncated)
{
    const unsigned char *s = (const unsigned char *)msg;
    size_t pos = *len;
    size_t safe = pos; /* last token boundary with room left for the ellipsis */
    size_t i = 0;

    while (i < msglen) {
        char tok[8];
        size_t used;
        size_t tlen = escape_token(s + i, msglen - i, tok, &used);
        if (pos + tlen > cap) {
            truncated = true;
            break;
        }
        memcpy(line + pos, tok, tlen);
        pos += tlen;
        i += used;
        if (pos + ELLIPSIS_LEN <= cap)
            safe = pos;
    }
    if (truncated) {
        if (pos + ELLIPSIS_LEN > cap)
            pos = safe;
        memcpy(line + pos, ELLIPSIS, ELLIPSIS_LEN);
        pos += ELLIPSIS_LEN;
    }
    *len = pos;
}

/* The component as one word: printable ASCII only, at most COMPONENT_MAX bytes. */
static size_t append_component(char *line, size_t len, const char *component)
{
    size_t n = 0;
    if (component == NULL || *component == '\0')
        component = "-";
    for (; component[n] != '\0' && n < COMPONENT_MAX; n++) {
        unsigned char c = (unsigned char)component[n];
        line[len + n] = (c > 0x20 && c < 0x7F) ? (char)c : '_';
    }
    return len + n;
}

static void write_all(const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(STDERR_FILENO, buf, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return; /* nowhere left to report it */
        }
        buf += n;
        len -= (size_t)n;
    }
}

void aduan_log_write(aduan_log_level_t level, const char *component, const char *fmt, ...)
{
    char msg[ADUAN_LOG_LINE_MAX];
    char line[ADUAN_LOG_LINE_MAX];
    struct timespec ts;
    struct tm tm;
    size_t len;
    int saved_errno = errno;

    if (level < aduan_log_threshold)
        return;

    /* Format first: the arguments may use errno (%m) as the caller left it. */
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    bool truncated = false;
    size_t msglen;
    if (n < 0) {
        msglen = (size_t)snprintf(msg, sizeof msg, "(log format error: %s)", fmt);
        if (msglen >= sizeof msg)
            msglen = sizeof msg - 1;
    } else if ((size_t)n >= sizeof msg) {
        msglen = sizeof msg - 1;
        truncated = true;
    } else {
        msglen = (size_t)n;
    }

    if (clock_gettime(CLOCK_REALTIME, &ts) != 0 || gmtime_r(&ts.tv_sec, &tm) == NULL) {
        memset(&tm, 0, sizeof tm);
        ts.tv_nsec = 0;
    }
    len = strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%S", &tm);
    len += (size_t)snprintf(line + len, sizeof line - len, ".%03ldZ %c ", ts.tv_nsec / 1000000L,
                            level_letter(level));
    len = append_component(line, len, component);
    line[len++] = ' ';

    append_escaped(line, &len, sizeof line - 1, msg, msglen, truncated);
    line[len++] = '\n';
    write_all(line, len);
    errno = saved_errno;
}

/* ---- masks ---- */

/* Appends n bytes of s at out[*pos], keeping room for the NUL; cuts silently. */
static void put(char *out, size_t outlen, size_t *pos, const char *s, size_t n)
{
    size_t room = outlen - 1 - *pos;
    if (n > room)
        n = room;
    memcpy(out + *pos, s, n);
    *pos += n;
    out[*pos] = '\0';
}

static void put_stars(char *out, size_t outlen, size_t *pos, size_t n)
{
    while (n-- > 0 && *pos + 1 < outlen)
        put(out, outlen, pos, "*", 1);
}

static const char *mask_start(const char *addr, char *out, size_t outlen, size_t *pos)
{
    if (out == NULL || outlen == 0)
        return "";
    *pos = 0;
    out[0] = '\0';
    if (addr == NULL || *addr == '\0') {
        put(out, outlen, pos, "-", 1);
        return out;
    }
    return NULL;
}

const char *aduan_mask_phone(const char *phone, char *out, size_t outlen)
{
    size_t pos;
    const char *early = mask_start(phone, out, outlen, &pos);
    if (early != NULL)
        return early;

    size_t len = strlen(phone);
    size_t prefix, suffix;
    if (len <= 8) {
        prefix = 0;
        suffix = len > 2 ? 2 : 0;
    } else {
        suffix = 4;
        prefix = len - 8 < 6 ? len - 8 : 6; /* at least 4 hidden */
    }
    put(out, outlen, &pos, phone, prefix);
    put_stars(out, outlen, &pos, len - prefix - suffix);
    put(out, outlen, &pos, phone + len - suffix, suffix);
    return out;
}

const char *aduan_mask_email(const char *addr, char *out, size_t outlen)
{
    size_t pos;
    const char *early = mask_start(addr, out, outlen, &pos);
    if (early != NULL)
        return early;

    const char *at = strrchr(addr, '@');
    if (at == NULL)
        return aduan_mask_phone(addr, out, outlen);

    /* the first two characters (not bytes) of the local part */
    size_t local = (size_t)(at - addr), keep = 0;
    for (int chars = 0; chars < 2 && keep < local; chars++) {
        keep++;
        while (keep < local && ((unsigned char)addr[keep] & 0xC0) == 0x80)
            keep++;
    }
    put(out, outlen, &pos, addr, keep);
    put(out, outlen, &pos, "***", 3);
    put(out, outlen, &pos, at, strlen(at));
    return out;
}

const char *aduan_mask_address(const char *addr, char *out, size_t outlen)
{
    if (addr != NULL && strchr(addr, '@') != NULL)
        return aduan_mask_email(addr, out, outlen);
    return aduan_mask_phone(addr, out, outlen);
}
