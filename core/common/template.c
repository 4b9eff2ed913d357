/*  template.c - reply and notice texts from conf/templates/<lang>/<name>.txt.

    Loading: read the whole file (bounded), check it is UTF-8 without NUL bytes, drop a
    BOM and CRs before LF, split off an optional "Subject:" line. Expanding: one pass
    over the template, values copied as they are, never scanned again.
*/
#include "aduan/template.h"

#include "aduan/log.h"

#include <errno.h>
#include <pthread.h>
#include <time.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define NAME_MAX_LEN 64

/* ---- a growing string ---- */

typedef struct {
    char *data;
    size_t len;
    size_t cap;
} strbuf_t;

static int strbuf_append(strbuf_t *b, const char *s, size_t n)
{
    if (n >= SIZE_MAX - b->len) {
        errno = ENOMEM;
        return -1;
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap = cap > SIZE_MAX / 2 ? b->len + n + 1 : cap * 2;
        char *data = realloc(b->data, cap);
        if (data == NULL) {
            errno = ENOMEM;
            return -1;
        }
        b->data = data;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

/* ---- expansion ---- */

static bool is_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_';
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/*  If s (n bytes, starting with "{{") is a placeholder, sets its name and returns the
    number of bytes it spans; else 0. */
static size_t parse_placeholder(const char *s, size_t n, const char **name, size_t *namelen)
{
    size_t i = 2;
    while (i < n && is_blank(s[i]))
        i++;
    size_t start = i;
    while (i < n && is_name_char(s[i]))
        i++;
    if (i == start)
        return 0;
    *name = s + start;
    *namelen = i - start;
    while (i < n && is_blank(s[i]))
        i++;
    if (i + 1 < n && s[i] == '}' && s[i + 1] == '}')
        return i + 2;
    return 0;
}

static const char *lookup(const aduan_template_var_t *vars, const char *name, size_t namelen)
{
    for (; vars != NULL && vars->name != NULL; vars++) {
        if (strlen(vars->name) == namelen && memcmp(vars->name, name, namelen) == 0)
            return vars->value ? vars->value : "";
    }
    log_debug("template", "no value for {{%.*s}}", (int)namelen, name);
    return "";
}

static int expand_into(strbuf_t *b, const char *s, size_t n, const aduan_template_var_t *vars)
{
    size_t i = 0;
    while (i < n) {
        const char *open = memmem(s + i, n - i, "{{", 2);
        if (open == NULL)
            return strbuf_append(b, s + i, n - i);
        size_t at = (size_t)(open - s);
        if (strbuf_append(b, s + i, at - i) != 0)
            return -1;

        const char *name;
        size_t namelen;
        size_t span = parse_placeholder(open, n - at, &name, &namelen);
        if (span == 0) {
            /* not a placeholder: keep one brace, look again from the next one */
            if (strbuf_append(b, "{", 1) != 0)
                return -1;
            i = at + 1;
            continue;
        }
        const char *value = lookup(vars, name, namelen);
        if (strbuf_append(b, value, strlen(value)) != 0)
            return -1;
        i = at + span;
    }
    return 0;
}

static char *expand(const char *s, size_t n, const aduan_template_var_t *vars)
{
    strbuf_t b = {0};
    /* room for the text and typical values at once: no realloc as it grows */
    b.cap = n + 512;
    b.data = malloc(b.cap);
    if (b.data == NULL) {
        errno = ENOMEM;
        return NULL;
    }
    b.data[0] = '\0';
    if (expand_into(&b, s, n, vars) != 0) {
        free(b.data);
        errno = ENOMEM;
        return NULL;
    }
    return b.data;
}

char *aduan_template_expand(const char *tmpl, const aduan_template_var_t *vars)
{
    if (tmpl == NULL) {
        errno = EINVAL;
        return NULL;
    }
    return expand(tmpl, strlen(tmpl), vars);
}

void aduan_rendered_clear(aduan_rendered_t *out)
{
    if (out == NULL)
        return;
    free(out->subject);
    free(out->text);
    out->subject = NULL;
    out->text = NULL;
}

/* ---- loading ---- */

static void set_reason(char *reason, size_t reasonlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_reason(char *reason, size_t reasonlen, const char *fmt, ...)
{
    if (reason == NULL || reasonlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, reasonlen, fmt, ap);
    va_end(ap);
}

static bool valid_word(const char *s, bool allow_dash)
{
    size_t n = 0;
    for (; s[n] != '\0'; n++) {
        char c = s[n];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
              (allow_dash && c == '-')))
            return false;
    }
    return n > 0 && n <= NAME_MAX_LEN;
}

/*  Reads the whole regular file at path, at most ADUAN_TEMPLATE_MAX bytes, into a new
    NUL-terminated buffer. 0 or -1 with errno. */
static int read_small_file(const char *path, char **data_out, size_t *size_out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    char *data = NULL;
    size_t size = 0;
    struct stat st;
    if (fstat(fd, &st) != 0)
        goto fail;
    if (S_ISDIR(st.st_mode)) {
        errno = EISDIR;
        goto fail;
    }
    if (!S_ISREG(st.st_mode)) {
        errno = EINVAL;
        goto fail;
    }
    if (st.st_size > ADUAN_TEMPLATE_MAX) {
        errno = EFBIG;
        goto fail;
    }
    /* sized by fstat, one byte more to notice a file that grew since: rendering runs for
       every intake, and a 64 KiB buffer each time showed in the profile */
    size_t cap = (size_t)st.st_size + 1;
    data = malloc(cap + 1);
    if (data == NULL) {
        errno = ENOMEM;
        goto fail;
    }
    for (;;) {
        ssize_t n = read(fd, data + size, cap - size);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            goto fail;
        }
        if (n == 0)
            break;
        size += (size_t)n;
        if (size > ADUAN_TEMPLATE_MAX || size == cap) { /* too big, or still growing */
            errno = EFBIG;
            goto fail;
        }
    }
    close(fd);
    data[size] = '\0';
    *data_out = data;
    *size_out = size;
    return 0;

fail:;
    int saved = errno;
    free(data);
    close(fd);
    errno = saved;
    return -1;
}

/* Offset of the first byte that is not valid UTF-8 (or is NUL), or n if all are fine. */
static size_t utf8_check(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        size_t len;
        unsigned int cp, min;
        if (c == 0)
            return i;
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF) {
            len = 2, cp = c & 0x1F, min = 0x80;
        } else if (c >= 0xE0 && c <= 0xEF) {
            len = 3, cp = c & 0x0F, min = 0x800;
        } else if (c >= 0xF0 && c <= 0xF4) {
            len = 4, cp = c & 0x07, min = 0x10000;
        } else {
            return i;
        }
        if (n - i < len)
            return i;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return i;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return i;
        i += len;
    }
    return n;
}

/*  Templates are read for every intake (several per intake, counting the lookups of
    channel variants that do not exist), so what was read, or found missing, is kept for
    a few seconds, already checked and normalised: an edited template takes effect within
    TEMPLATE_CACHE_MS. */
#define TEMPLATE_CACHE_MS 5000
#define TEMPLATE_CACHE_SLOTS 64

typedef struct {
    char *path;
    char *data;   /* normalised; NULL: the read failed with error */
    size_t size;
    size_t bad;   /* offset of the first byte that is not UTF-8 in the file as read, or
                     SIZE_MAX when all are fine */
    int error;
    int64_t loaded_at;
} cache_slot_t;

static size_t normalise(char *data, size_t size);

static cache_slot_t cache[TEMPLATE_CACHE_SLOTS];
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;

static int64_t monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*  read_small_file, utf8_check and normalise through the cache; *data_out is the
    caller's own copy, *bad_out as in cache_slot_t. */
static int cached_read(const char *path, char **data_out, size_t *size_out, size_t *bad_out)
{
    int64_t now = monotonic_ms();
    pthread_mutex_lock(&cache_lock);
    cache_slot_t *slot = NULL, *victim = NULL; /* victim: an empty slot, else the oldest */
    for (size_t i = 0; i < TEMPLATE_CACHE_SLOTS; i++) {
        cache_slot_t *c = &cache[i];
        if (c->path && strcmp(c->path, path) == 0)
            slot = c;
        if (!victim || (victim->path && (!c->path || c->loaded_at < victim->loaded_at)))
            victim = c;
    }
    if (!slot || now - slot->loaded_at > TEMPLATE_CACHE_MS) {
        if (!slot) {
            slot = victim;
            free(slot->path);
            slot->path = strdup(path);
        }
        free(slot->data);
        slot->data = NULL;
        slot->error = read_small_file(path, &slot->data, &slot->size) == 0 ? 0 : errno;
        if (slot->error == 0) {
            size_t bad = utf8_check((const unsigned char *)slot->data, slot->size);
            slot->bad = bad == slot->size ? SIZE_MAX : bad;
            if (slot->bad == SIZE_MAX)
                slot->size = normalise(slot->data, slot->size);
        }
        slot->loaded_at = now;
    }
    int rc = 0, error = slot->error;
    if (error == 0) {
        *data_out = malloc(slot->size + 1);
        if (*data_out) {
            memcpy(*data_out, slot->data, slot->size + 1);
            *size_out = slot->size;
            *bad_out = slot->bad;
        } else {
            error = ENOMEM;
        }
    }
    pthread_mutex_unlock(&cache_lock);
    if (error != 0) {
        errno = error;
        rc = -1;
    }
    return rc;
}

/* Drops a byte-order mark and the CR of each CRLF, in place; returns the new size. */
static size_t normalise(char *data, size_t size)
{
    size_t from = 0, to = 0;
    if (size >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0)
        from = 3;
    for (; from < size; from++) {
        if (data[from] == '\r' && from + 1 < size && data[from + 1] == '\n')
            continue;
        data[to++] = data[from];
    }
    data[to] = '\0';
    return to;
}

/* Loads path, falling back to the id/ twin; on ENOENT for both, names both. */
static int load(const char *dir, const char *language, const char *name, char **data,
                size_t *size, char *reason, size_t reasonlen)
{
    char path[4096], fallback[4096];
    int n = snprintf(path, sizeof path, "%s/%s/%s.txt", dir, language, name);
    if (n < 0 || (size_t)n >= sizeof path) {
        set_reason(reason, reasonlen, "template path too long: %s/%s/%s.txt", dir, language,
                   name);
        errno = ENAMETOOLONG;
        return -1;
    }
    const char *used = path;
    size_t bad = SIZE_MAX;
    int rc = cached_read(path, data, size, &bad);
    if (rc != 0 && errno == ENOENT && strcmp(language, "id") != 0) {
        snprintf(fallback, sizeof fallback, "%s/id/%s.txt", dir, name);
        used = fallback;
        rc = cached_read(fallback, data, size, &bad);
        if (rc != 0 && errno == ENOENT) {
            set_reason(reason, reasonlen, "template not found: %s (nor %s)", path, fallback);
            errno = ENOENT;
            return -1;
        }
    }
    if (rc != 0) {
        int saved = errno;
        if (saved == ENOENT)
            set_reason(reason, reasonlen, "template not found: %s", used);
        else if (saved == EFBIG)
            set_reason(reason, reasonlen, "template %s: larger than %d bytes", used,
                       ADUAN_TEMPLATE_MAX);
        else
            set_reason(reason, reasonlen, "template %s: %s", used, strerror(saved));
        errno = saved;
        return -1;
    }
    if (bad != SIZE_MAX) {
        set_reason(reason, reasonlen, "template %s: not UTF-8 text (byte %zu)", used, bad);
        free(*data);
        *data = NULL;
        errno = EILSEQ;
        return -1;
    }
    return 0;
}

/* Control characters a value may have brought into the subject become spaces. */
static void one_line(char *s)
{
    for (; *s != '\0'; s++) {
        if ((unsigned char)*s < 0x20 || *s == 0x7F)
            *s = ' ';
    }
}

int aduan_template_render(const char *dir, const char *language, const char *name,
                          const aduan_template_var_t *vars, aduan_rendered_t *out,
                          char *reason, size_t reasonlen)
{
    set_reason(reason, reasonlen, "%s", "");
    if (out == NULL) {
        set_reason(reason, reasonlen, "no place for the result");
        errno = EINVAL;
        return -1;
    }
    out->subject = NULL;
    out->text = NULL;
    if (language == NULL || *language == '\0')
        language = "id";
    if (dir == NULL || *dir == '\0' || name == NULL || !valid_word(name, false) ||
        !valid_word(language, true)) {
        set_reason(reason, reasonlen, "invalid template name or language: %s/%s",
                   language, name ? name : "(null)");
        errno = EINVAL;
        return -1;
    }

    char *data = NULL;
    size_t size = 0;
    if (load(dir, language, name, &data, &size, reason, reasonlen) != 0)
        return -1;

    const char *body = data;
    const char *subject = "";
    size_t subject_len = 0;
    if (strncasecmp(data, "Subject:", 8) == 0) {
        const char *eol = strchr(data, '\n');
        const char *end = eol ? eol : data + size;
        subject = data + 8;
        while (subject < end && is_blank(*subject))
            subject++;
        while (end > subject && is_blank(end[-1]))
            end--;
        subject_len = (size_t)(end - subject);
        body = eol ? eol + 1 : data + size;
        if (*body == '\n') /* the empty line after the header */
            body++;
    }
    size_t body_len = size - (size_t)(body - data);
    if (body_len > 0 && body[body_len - 1] == '\n')
        body_len--;

    out->subject = expand(subject, subject_len, vars);
    out->text = expand(body, body_len, vars);
    free(data);
    if (out->subject == NULL || out->text == NULL) {
        aduan_rendered_clear(out);
        set_reason(reason, reasonlen, "out of memory rendering template %s", name);
        errno = ENOMEM;
        return -1;
    }
    one_line(out->subject);
    return 0;
}
