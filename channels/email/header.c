/*  header.c - header fields and parameters as clean intake values (see header.h). */
#include "header.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "aduan/bus.h"
#include "charset.h"

#define MAX_PARAMS 128       /* parameters of one part looked at */
#define MAX_CONTINUATIONS 64 /* RFC 2231 segments of one file name */

char *email_header_text(const char *value)
{
    if (!value)
        return NULL;
    /* raw 8-bit bytes first (libetpan would make them "?"); encoded words are ASCII and
       come through this unchanged */
    char *utf8 = email_charset_repair(value, strlen(value));
    if (!utf8)
        return NULL;
    size_t idx = 0;
    char *decoded = NULL;
    int rc = mailmime_encoded_phrase_parse("utf-8", utf8, strlen(utf8), &idx, "utf-8", &decoded);
    const char *src = rc == MAILIMF_NO_ERROR && decoded ? decoded : utf8;
    char *out = email_charset_repair(src, strlen(src));
    free(decoded);
    free(utf8);
    if (out)
        email_line_clean(out);
    return out;
}

uint64_t email_header_date_ms(const struct mailimf_date_time *d)
{
    if (!d)
        return 0;
    int year = d->dt_year;
    if (year >= 0 && year < 50) /* RFC 5322 obs-year */
        year += 2000;
    else if (year >= 50 && year < 1000)
        year += 1900;
    if (year < 1970 || year > 9999 || d->dt_month < 1 || d->dt_month > 12 || d->dt_day < 1 ||
        d->dt_day > 31 || d->dt_hour < 0 || d->dt_hour > 23 || d->dt_min < 0 ||
        d->dt_min > 59 || d->dt_sec < 0 || d->dt_sec > 60 || d->dt_zone < -2400 ||
        d->dt_zone > 2400)
        return 0;
    struct tm tm = {.tm_year = year - 1900, .tm_mon = d->dt_month - 1, .tm_mday = d->dt_day,
                    .tm_hour = d->dt_hour, .tm_min = d->dt_min, .tm_sec = d->dt_sec};
    time_t local = timegm(&tm);
    /* +0700 comes as 700: hours and minutes east of UTC */
    long offset_s = (long)(d->dt_zone / 100) * 3600 + (long)(d->dt_zone % 100) * 60;
    long long utc = (long long)local - offset_s;
    return utc > 0 ? (uint64_t)utc * 1000u : 0;
}

/* An id that can travel in a space-separated line: printable, no blanks, UTF-8. */
static bool id_plain(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n > 990)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)id[i];
        if (c <= ' ' || c == 0x7F || c == '<' || c == '>')
            return false;
    }
    return aduan_utf8_valid(id, n);
}

int email_header_id(MMAPString *out, const char *id, size_t max)
{
    if (!id || !id_plain(id))
        return 0;
    size_t need = strlen(id) + (out->len ? 1 : 0);
    if (out->len + need > max)
        return 0;
    if (out->len && !mmap_string_append_c(out, ' '))
        return -1;
    return mmap_string_append(out, id) ? 0 : -1;
}

int email_header_ids(MMAPString *out, const clist *list, size_t max, bool keep_last)
{
    if (!list)
        return 0;
    size_t skip = 0;
    if (keep_last) {
        /* the newest ids that fit, counted from the end */
        size_t count = 0, used = out->len;
        for (clistiter *it = clist_begin((clist *)list); it; it = clist_next(it))
            count++;
        const char **ids = calloc(count ? count : 1, sizeof *ids);
        if (!ids)
            return -1;
        size_t i = 0;
        for (clistiter *it = clist_begin((clist *)list); it; it = clist_next(it))
            ids[i++] = clist_content(it);
        skip = count;
        for (i = count; i > 0; i--) {
            const char *id = ids[i - 1];
            if (id && id_plain(id)) {
                size_t need = strlen(id) + (used ? 1 : 0);
                if (used + need > max)
                    break;
                used += need;
            }
            skip = i - 1;
        }
        free(ids);
    }
    size_t i = 0;
    for (clistiter *it = clist_begin((clist *)list); it; it = clist_next(it), i++)
        if (i >= skip && email_header_id(out, clist_content(it), max) != 0)
            return -1;
    return 0;
}

/* The first "x@y" token of a value, for a From libetpan could not parse. */
static char *address_in(const char *value)
{
    const char *lt = strchr(value, '<'), *gt = lt ? strchr(lt, '>') : NULL;
    const char *start = value, *end = value + strlen(value);
    if (lt && gt) {
        start = lt + 1;
        end = gt;
    } else {
        const char *at = strchr(value, '@');
        if (!at)
            return NULL;
        start = at;
        while (start > value && !isspace((unsigned char)start[-1]) && start[-1] != '"')
            start--;
        end = at;
        while (*end && !isspace((unsigned char)*end) && *end != '"' && *end != ',')
            end++;
    }
    if (end <= start || !memchr(start, '@', (size_t)(end - start)))
        return NULL;
    return strndup(start, (size_t)(end - start));
}

static int clean_address(char **addr)
{
    if (!*addr)
        return 0;
    char *fixed = email_charset_repair(*addr, strlen(*addr));
    free(*addr);
    *addr = fixed;
    if (!fixed)
        return -1;
    email_line_clean(fixed);
    /* an address has no blanks: a quoted local part with them is not worth a reply */
    for (char *p = fixed; *p; p++)
        if (*p == ' ')
            *p = '_';
    email_utf8_cut(fixed, 320);
    if (!*fixed) {
        free(fixed);
        *addr = NULL;
    }
    return 0;
}

int email_header_from(const struct mailimf_fields *fields, char **addr, char **name)
{
    *addr = *name = NULL;
    if (!fields)
        return 0;
    struct mailimf_single_fields h;
    mailimf_single_fields_init(&h, (struct mailimf_fields *)fields);
    const struct mailimf_mailbox *mb = NULL;
    if (h.fld_from && h.fld_from->frm_mb_list && h.fld_from->frm_mb_list->mb_list &&
        clist_begin(h.fld_from->frm_mb_list->mb_list))
        mb = clist_content(clist_begin(h.fld_from->frm_mb_list->mb_list));
    else if (h.fld_sender)
        mb = h.fld_sender->snd_mb;
    if (mb) {
        if (mb->mb_addr_spec && !(*addr = strdup(mb->mb_addr_spec)))
            return -1;
        if (mb->mb_display_name && !(*name = email_header_text(mb->mb_display_name)))
            return -1;
    } else {
        const char *raw = email_header_optional(fields, "From");
        if (raw) {
            *addr = address_in(raw); /* NULL: none in it */
        }
    }
    if (clean_address(addr) != 0)
        return -1;
    if (*name) {
        email_utf8_cut(*name, 256);
        if (!**name) {
            free(*name);
            *name = NULL;
        }
    }
    return 0;
}

static bool local_part_is(const char *addr, const char *local)
{
    size_t n = strlen(local);
    return strncasecmp(addr, local, n) == 0 && (addr[n] == '\0' || addr[n] == '@');
}

bool email_addr_is_daemon(const char *addr)
{
    return addr && (local_part_is(addr, "mailer-daemon") || local_part_is(addr, "postmaster"));
}

bool email_addr_is_mailer_daemon(const char *addr)
{
    return addr && local_part_is(addr, "mailer-daemon");
}

bool email_addr_equal(const char *a, const char *b)
{
    return a && b && *a && *b && strcasecmp(a, b) == 0;
}

const char *email_header_optional(const struct mailimf_fields *fields, const char *name)
{
    if (!fields || !fields->fld_list)
        return NULL;
    for (clistiter *it = clist_begin(fields->fld_list); it; it = clist_next(it)) {
        const struct mailimf_field *f = clist_content(it);
        if (f->fld_type == MAILIMF_FIELD_OPTIONAL_FIELD && f->fld_data.fld_optional_field &&
            f->fld_data.fld_optional_field->fld_name &&
            strcasecmp(f->fld_data.fld_optional_field->fld_name, name) == 0)
            return f->fld_data.fld_optional_field->fld_value
                       ? f->fld_data.fld_optional_field->fld_value
                       : "";
    }
    return NULL;
}

/* The first word of a field value ("auto-replied" of "auto-replied; owner=x"). */
static bool first_word_is(const char *value, const char *word)
{
    while (*value == ' ' || *value == '\t' || *value == '\r' || *value == '\n')
        value++;
    size_t n = strlen(word);
    return strncasecmp(value, word, n) == 0 &&
           (value[n] == '\0' || value[n] == ';' || isspace((unsigned char)value[n]) ||
            value[n] == '(');
}

bool email_header_automatic(const struct mailimf_fields *fields)
{
    if (!fields || !fields->fld_list)
        return false;
    const char *auto_submitted = email_header_optional(fields, "Auto-Submitted");
    if (auto_submitted && !first_word_is(auto_submitted, "no"))
        return true;
    const char *precedence = email_header_optional(fields, "Precedence");
    if (precedence && (first_word_is(precedence, "bulk") || first_word_is(precedence, "list") ||
                       first_word_is(precedence, "junk")))
        return true;
    if (email_header_optional(fields, "List-Id") ||
        email_header_optional(fields, "X-Auto-Response-Suppress"))
        return true;
    /* "Return-Path: <>" is no path to libetpan: it comes as an optional field */
    const char *return_path = email_header_optional(fields, "Return-Path");
    if (return_path && first_word_is(return_path, "<>"))
        return true;
    /* the null reverse path: a bounce or another report (RFC 5321 4.5.5) */
    for (clistiter *it = clist_begin(fields->fld_list); it; it = clist_next(it)) {
        const struct mailimf_field *f = clist_content(it);
        if (f->fld_type == MAILIMF_FIELD_RETURN_PATH && f->fld_data.fld_return_path &&
            f->fld_data.fld_return_path->ret_path &&
            (!f->fld_data.fld_return_path->ret_path->pt_addr_spec ||
             !*f->fld_data.fld_return_path->ret_path->pt_addr_spec))
            return true;
    }
    return false;
}

/*  PREFIX-YYYY-NNNNN at p (prefix any case, 5 to 9 digits); writes it to ticket with the
    configured prefix. Returns the characters read, 0 when there is none. */
static size_t ticket_at(const char *p, const char *prefix, char ticket[40])
{
    size_t n = strlen(prefix);
    if (n == 0 || n > 16 || strncasecmp(p, prefix, n) != 0 || p[n] != '-')
        return 0;
    const char *year = p + n + 1;
    for (int i = 0; i < 4; i++)
        if (!isdigit((unsigned char)year[i]))
            return 0;
    if (year[4] != '-')
        return 0;
    const char *num = year + 5;
    size_t digits = strspn(num, "0123456789");
    if (digits < 5 || digits > 9)
        return 0;
    snprintf(ticket, 40, "%s-%.4s-%.*s", prefix, year, (int)digits, num);
    return (size_t)(num + digits - p);
}

static const char *skip_blanks(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

/* After "Re:", "Fwd:", "AW:" and the like, as many as there are. */
static const char *skip_reply_prefixes(const char *p)
{
    static const char *const prefixes[] = {"re:", "fw:", "fwd:", "aw:", "wg:", "balas:", NULL};
    for (bool again = true; again;) {
        again = false;
        p = skip_blanks(p);
        for (size_t i = 0; prefixes[i]; i++) {
            size_t n = strlen(prefixes[i]);
            if (strncasecmp(p, prefixes[i], n) == 0) {
                p += n;
                again = true;
            }
        }
    }
    return p;
}

bool email_subject_ticket(const char *subject, const char *prefix, char ticket[40],
                          bool *status)
{
    *status = false;
    ticket[0] = '\0';
    if (!subject || !prefix)
        return false;
    /* a status query: the whole subject is the keyword and the ticket */
    static const char *const keywords[] = {"cek", "status", NULL};
    const char *p = skip_reply_prefixes(subject);
    for (size_t i = 0; keywords[i]; i++) {
        size_t n = strlen(keywords[i]);
        if (strncasecmp(p, keywords[i], n) != 0 || !(p[n] == ' ' || p[n] == '\t'))
            continue;
        const char *q = skip_blanks(p + n);
        bool bracket = *q == '[';
        size_t used = ticket_at(q + bracket, prefix, ticket);
        if (!used)
            break;
        q += bracket + used;
        if (bracket && *q++ != ']')
            break;
        q = skip_blanks(q);
        q += strspn(q, "?.!");
        if (*skip_blanks(q) == '\0') {
            *status = true;
            return true;
        }
        break;
    }
    ticket[0] = '\0';
    for (const char *b = strchr(subject, '['); b; b = strchr(b + 1, '[')) {
        size_t used = ticket_at(b + 1, prefix, ticket);
        if (used && b[1 + used] == ']')
            return true;
    }
    ticket[0] = '\0';
    return false;
}

/* ---- RFC 2231 parameters ------------------------------------------------------------------- */

typedef struct {
    const char *name;
    const char *value;
} param_t;

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static int append_percent_decoded(MMAPString *out, const char *s)
{
    for (; *s; s++) {
        int hi, lo;
        if (*s == '%' && (hi = hexval((unsigned char)s[1])) >= 0 &&
            (lo = hexval((unsigned char)s[2])) >= 0) {
            if (!mmap_string_append_c(out, (char)(hi * 16 + lo)))
                return -1;
            s += 2;
        } else if (!mmap_string_append_c(out, *s))
            return -1;
    }
    return 0;
}

static const char *param_find(const param_t *params, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (params[i].name && strcasecmp(params[i].name, name) == 0)
            return params[i].value ? params[i].value : "";
    return NULL;
}

/*  base*=charset'lang'%xx..., or base*0*=..., base*1*=... / base*1=...: the bytes joined,
    then converted from the charset of the first segment. NULL when there is none. */
static char *rfc2231_value(const param_t *params, size_t n, const char *base)
{
    MMAPString *bytes = mmap_string_new("");
    if (!bytes)
        return NULL;
    char charset[64] = "";
    bool found = false;
    char name[64];
    for (int k = -1; k < MAX_CONTINUATIONS; k++) {
        const char *encoded, *plain = NULL;
        if (k < 0)
            snprintf(name, sizeof name, "%s*", base);
        else
            snprintf(name, sizeof name, "%s*%d*", base, k);
        encoded = param_find(params, n, name);
        if (!encoded && k >= 0) {
            snprintf(name, sizeof name, "%s*%d", base, k);
            plain = param_find(params, n, name);
        }
        if (!encoded && !plain) {
            if (k < 0)
                continue; /* no single extended value: look for segments */
            break;
        }
        found = true;
        if (encoded && !bytes->len && !charset[0]) {
            /* charset'language'value in the first encoded segment */
            const char *q1 = strchr(encoded, '\''), *q2 = q1 ? strchr(q1 + 1, '\'') : NULL;
            if (q1 && q2) {
                snprintf(charset, sizeof charset, "%.*s", (int)(q1 - encoded), encoded);
                encoded = q2 + 1;
            }
        }
        if (encoded ? append_percent_decoded(bytes, encoded) != 0
                    : !mmap_string_append(bytes, plain)) {
            mmap_string_free(bytes);
            return NULL;
        }
        if (k < 0)
            break; /* base* is the whole value */
    }
    char *out = NULL;
    if (found) {
        out = charset[0] ? email_charset_to_utf8(charset, bytes->str, bytes->len, NULL, NULL)
                         : email_charset_repair(bytes->str, bytes->len);
        if (out)
            email_line_clean(out);
    }
    mmap_string_free(bytes);
    return out;
}

static char *filename_from(const param_t *params, size_t n, const char *base)
{
    char *name = rfc2231_value(params, n, base);
    if (!name || !*name) {
        free(name);
        name = email_header_text(param_find(params, n, base));
    }
    if (name && !*name) {
        free(name);
        name = NULL;
    }
    return name;
}

char *email_part_filename(const struct mailmime_fields *fields,
                          const struct mailmime_content *content)
{
    param_t params[MAX_PARAMS];
    size_t n = 0;
    char *name = NULL;
    if (fields && fields->fld_list) {
        for (clistiter *it = clist_begin(fields->fld_list); it; it = clist_next(it)) {
            const struct mailmime_field *f = clist_content(it);
            if (f->fld_type != MAILMIME_FIELD_DISPOSITION || !f->fld_data.fld_disposition ||
                !f->fld_data.fld_disposition->dsp_parms)
                continue;
            clist *parms = f->fld_data.fld_disposition->dsp_parms;
            for (clistiter *p = clist_begin(parms); p && n < MAX_PARAMS; p = clist_next(p)) {
                const struct mailmime_disposition_parm *dp = clist_content(p);
                if (dp->pa_type == MAILMIME_DISPOSITION_PARM_FILENAME)
                    params[n++] = (param_t){"filename", dp->pa_data.pa_filename};
                else if (dp->pa_type == MAILMIME_DISPOSITION_PARM_PARAMETER &&
                         dp->pa_data.pa_parameter)
                    params[n++] = (param_t){dp->pa_data.pa_parameter->pa_name,
                                            dp->pa_data.pa_parameter->pa_value};
            }
        }
        name = filename_from(params, n, "filename");
    }
    if (!name && content && content->ct_parameters) {
        n = 0;
        for (clistiter *p = clist_begin(content->ct_parameters); p && n < MAX_PARAMS;
             p = clist_next(p)) {
            const struct mailmime_parameter *mp = clist_content(p);
            params[n++] = (param_t){mp->pa_name, mp->pa_value};
        }
        name = filename_from(params, n, "name");
    }
    if (name)
        email_utf8_cut(name, 255);
    return name;
}
