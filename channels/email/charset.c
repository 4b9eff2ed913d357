/*  charset.c - declared charsets to clean UTF-8 with iconv (see charset.h). */
#include "charset.h"

#include <ctype.h>
#include <errno.h>
#include <iconv.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define REPLACEMENT "\xEF\xBF\xBD" /* U+FFFD */
#define FALLBACK "WINDOWS-1252"

/*  Names mail uses for a charset that iconv reads better under another: the superset that
    senders actually mean (as browsers do), so no byte is lost to a label. */
static const struct {
    const char *label;
    const char *iconv_name;
} aliases[] = {
    {"us-ascii", FALLBACK},     {"ascii", FALLBACK},      {"ansi_x3.4-1968", FALLBACK},
    {"iso-8859-1", FALLBACK},   {"iso8859-1", FALLBACK},  {"latin1", FALLBACK},
    {"unknown-8bit", FALLBACK}, {"x-unknown", FALLBACK},  {"8bit", FALLBACK},
    {"default", FALLBACK},      {"gb2312", "GB18030"},    {"gbk", "GB18030"},
    {"x-gbk", "GB18030"},       {"cp936", "GB18030"},     {"euc-cn", "GB18030"},
    {"ks_c_5601-1987", "CP949"}, {"utf8", "UTF-8"},
};

/* A label iconv may see: no "//IGNORE" or other suffix a sender could smuggle in. */
static bool label_plausible(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 40)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && !strchr("._:-+", s[i]))
            return false;
    return true;
}

static const char *iconv_name_for(const char *charset)
{
    if (!charset || !*charset)
        return FALLBACK;
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
        if (strcasecmp(charset, aliases[i].label) == 0)
            return aliases[i].iconv_name;
    return charset;
}

/*  Length of the well-formed UTF-8 sequence at p (no overlong forms, no surrogates,
    nothing above U+10FFFF), or 0 when there is none. */
static size_t utf8_seq_len(const unsigned char *p, size_t left)
{
    if (left == 0)
        return 0;
    unsigned char c = p[0];
    if (c < 0x80)
        return 1;
    size_t n;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF)
        n = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
    } else
        return 0;
    if (left < n || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (p[i] < 0x80 || p[i] > 0xBF)
            return 0;
    return n;
}

typedef struct {
    char *data;
    size_t len, cap;
} buf_t;

static int buf_reserve(buf_t *b, size_t more)
{
    if (b->len + more + 1 <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + more + 1) {
        if (cap > SIZE_MAX / 2)
            return -1;
        cap *= 2;
    }
    char *p = realloc(b->data, cap);
    if (!p)
        return -1;
    b->data = p;
    b->cap = cap;
    return 0;
}

static int buf_add(buf_t *b, const void *data, size_t n)
{
    if (buf_reserve(b, n) != 0)
        return -1;
    memcpy(b->data + b->len, data, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

/*  Keeps well-formed sequences and replaces every other byte with U+FFFD: the last guard,
    whatever iconv made of a broken input. */
static char *utf8_repaired(const char *s, size_t len, size_t *outlen)
{
    buf_t b = {0};
    if (buf_reserve(&b, len) != 0)
        return NULL;
    b.data[0] = '\0';
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < len;) {
        size_t n = utf8_seq_len(p + i, len - i);
        int rc = n ? buf_add(&b, p + i, n) : buf_add(&b, REPLACEMENT, 3);
        if (rc != 0) {
            free(b.data);
            return NULL;
        }
        i += n ? n : 1;
    }
    if (outlen)
        *outlen = b.len;
    return b.data;
}

static bool utf8_well_formed(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < len;) {
        size_t n = utf8_seq_len(p + i, len - i);
        if (!n)
            return false;
        i += n;
    }
    return true;
}

static char *convert(iconv_t cd, const void *in, size_t len, size_t *outlen)
{
    buf_t b = {0};
    if (buf_reserve(&b, len + len / 2 + 16) != 0)
        return NULL;
    char *inp = (char *)in;
    size_t inleft = len;
    for (;;) {
        char *outp = b.data + b.len;
        size_t outleft = b.cap - b.len - 1;
        size_t r = iconv(cd, inleft ? &inp : NULL, inleft ? &inleft : NULL, &outp, &outleft);
        b.len = (size_t)(outp - b.data);
        if (r != (size_t)-1) {
            if (inleft == 0)
                break; /* the flush (inp NULL) of a stateful charset is done too */
            continue;
        }
        if (errno == E2BIG) {
            if (buf_reserve(&b, b.cap) != 0)
                goto fail;
        } else if (errno == EILSEQ || errno == EINVAL) {
            /* a byte the charset does not have, or a sequence cut at the end */
            if (buf_add(&b, REPLACEMENT, 3) != 0)
                goto fail;
            inp++;
            inleft--;
        } else
            goto fail;
    }
    b.data[b.len] = '\0';
    if (!utf8_well_formed(b.data, b.len)) {
        char *fixed = utf8_repaired(b.data, b.len, outlen);
        free(b.data);
        return fixed;
    }
    if (outlen)
        *outlen = b.len;
    return b.data;
fail:
    free(b.data);
    return NULL;
}

char *email_charset_to_utf8(const char *charset, const void *in, size_t len, size_t *outlen,
                            bool *fell_back)
{
    const char *name = iconv_name_for(charset);
    bool unknown = false;
    iconv_t cd = (iconv_t)-1;
    if (label_plausible(name))
        cd = iconv_open("UTF-8", name);
    if (cd == (iconv_t)-1) {
        unknown = true;
        cd = iconv_open("UTF-8", FALLBACK);
    }
    if (fell_back)
        *fell_back = unknown;
    if (cd == (iconv_t)-1)
        return utf8_repaired(in, len, outlen); /* no gconv modules at all: keep what we can */
    char *out = convert(cd, in, len, outlen);
    iconv_close(cd);
    return out;
}

char *email_charset_repair(const char *s, size_t len)
{
    if (utf8_well_formed(s, len)) {
        char *copy = malloc(len + 1);
        if (copy) {
            memcpy(copy, s, len);
            copy[len] = '\0';
        }
        return copy;
    }
    return email_charset_to_utf8(FALLBACK, s, len, NULL, NULL);
}

/* True for U+0080..U+009F, encoded C2 80..C2 9F. */
static bool is_c1(const unsigned char *p)
{
    return p[0] == 0xC2 && p[1] >= 0x80 && p[1] <= 0x9F;
}

void email_text_clean(char *s)
{
    unsigned char *r = (unsigned char *)s, *w = r;
    unsigned char *line_end = w; /* after the last character that is not a blank */
    while (*r) {
        if (*r == '\r' || *r == '\n') {
            /* the step first: the write below may land on r itself */
            r += (r[0] == '\r' && r[1] == '\n') ? 2 : 1;
            w = line_end; /* trailing blanks of the line go */
            *w++ = '\n';
            line_end = w;
        } else if ((*r < 0x20 && *r != '\t') || *r == 0x7F) {
            r++;
        } else if (is_c1(r)) {
            r += 2;
        } else {
            bool blank = *r == ' ' || *r == '\t';
            *w++ = *r++;
            if (!blank)
                line_end = w;
        }
    }
    w = line_end;
    while (w > (unsigned char *)s && w[-1] == '\n') /* blank lines at the end */
        w--;
    *w = '\0';
    /* blank lines at the start */
    size_t lead = strspn(s, "\n");
    if (lead)
        memmove(s, s + lead, strlen(s + lead) + 1);
}

void email_line_clean(char *s)
{
    unsigned char *r = (unsigned char *)s, *w = r;
    bool space = true; /* drops leading blanks */
    while (*r) {
        /* the step first: the blank written below may land on r itself (found by
           fuzz_mime: a C1 character right after a letter came out as half of it) */
        size_t step = is_c1(r) ? 2 : 1;
        bool blank = *r < 0x20 || *r == ' ' || *r == 0x7F || step == 2;
        if (blank) {
            r += step;
            if (!space)
                *w++ = ' ';
            space = true;
        } else {
            *w++ = *r++;
            space = false;
        }
    }
    if (w > (unsigned char *)s && w[-1] == ' ')
        w--;
    *w = '\0';
}

bool email_utf8_cut(char *s, size_t max)
{
    size_t len = strlen(s);
    if (len <= max)
        return false;
    size_t cut = max;
    /* back to the start of a character: never leave half of one */
    while (cut > 0 && ((unsigned char)s[cut] & 0xC0) == 0x80)
        cut--;
    s[cut] = '\0';
    return true;
}
