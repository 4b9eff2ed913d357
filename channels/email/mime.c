/*  mime.c - one raw message to an INTAKE: libetpan's tree walked once (see mime.h). */
#include "mime.h"

#include <ctype.h>
#include <libetpan/libetpan.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "charset.h"
#include "dsn.h"
#include "header.h"
#include "html.h"

/* The bus schema's bounds (core/common/bus.c), so that the INTAKE is never refused. */
#define TEXT_MAX (1024 * 1024 - 4096) /* room left for the notes */
#define SUBJECT_MAX 998
#define MESSAGE_REF_MAX 998
#define IN_REPLY_TO_MAX 4096
#define REFERENCES_MAX 8192
#define REASON_MAX 500
#define CONTENT_TYPE_MAX 127
/* A hostile tree is cut here instead of walked. */
#define MAX_DEPTH 40
#define MAX_PARTS 1000
/* Headers of a message too large to parse are looked for in its first bytes only. */
#define HEADER_SCAN_MAX (1024 * 1024)

typedef struct {
    const email_mime_options_t *opts;
    aduan_msg_t *m;
    MMAPString *plain;        /* the text/plain bodies, joined */
    bool have_plain;
    char *html;               /* the first text/html body, UTF-8 */
    MMAPString *notes;        /* what was left out, said at the end of the text */
    MMAPString *original_ids; /* a bounce: the Message-IDs of our message it returns */
    email_dsn_t dsn;
    bool report;              /* multipart/report; report-type=delivery-status */
    size_t attached;          /* bytes of attachments so far */
    size_t attachment_count;
    size_t parts;
    char reason[REASON_MAX];  /* the first reason to quarantine */
    bool oom;
} parse_t;

static void quarantine(parse_t *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void quarantine(parse_t *p, const char *fmt, ...)
{
    if (p->reason[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->reason, sizeof p->reason, fmt, ap);
    va_end(ap);
}

static void note(parse_t *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(parse_t *p, const char *fmt, ...)
{
    char line[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (p->notes->len > 64 * 1024)
        return; /* a thousand left-out parts need not be listed one by one */
    if (!mmap_string_append(p->notes, "\n[") || !mmap_string_append(p->notes, line) ||
        !mmap_string_append(p->notes, "]"))
        p->oom = true;
}

/* "text/plain" for a part's content type; parts without one are text/plain (RFC 2045). */
static void content_type_name(const struct mailmime_content *ct, char *out, size_t outlen)
{
    const char *type = "text", *subtype = "plain";
    if (ct && ct->ct_type) {
        subtype = ct->ct_subtype ? ct->ct_subtype : "";
        const struct mailmime_type *t = ct->ct_type;
        if (t->tp_type == MAILMIME_TYPE_DISCRETE_TYPE && t->tp_data.tp_discrete_type) {
            static const char *const discrete[] = {
                [MAILMIME_DISCRETE_TYPE_TEXT] = "text",   [MAILMIME_DISCRETE_TYPE_IMAGE] = "image",
                [MAILMIME_DISCRETE_TYPE_AUDIO] = "audio", [MAILMIME_DISCRETE_TYPE_VIDEO] = "video",
                [MAILMIME_DISCRETE_TYPE_APPLICATION] = "application"};
            int dt = t->tp_data.tp_discrete_type->dt_type;
            if (dt == MAILMIME_DISCRETE_TYPE_EXTENSION)
                type = t->tp_data.tp_discrete_type->dt_extension;
            else if (dt > 0 && (size_t)dt < sizeof discrete / sizeof discrete[0] && discrete[dt])
                type = discrete[dt];
            else
                type = "application";
        } else if (t->tp_type == MAILMIME_TYPE_COMPOSITE_TYPE && t->tp_data.tp_composite_type) {
            int ct_type = t->tp_data.tp_composite_type->ct_type;
            type = ct_type == MAILMIME_COMPOSITE_TYPE_MESSAGE     ? "message"
                   : ct_type == MAILMIME_COMPOSITE_TYPE_MULTIPART ? "multipart"
                                                                  : t->tp_data.tp_composite_type->ct_token;
        }
    }
    snprintf(out, outlen, "%s/%s", type ? type : "application", subtype);
    /* a token: nothing a sender could make a line or a path of */
    for (char *c = out; *c; c++)
        *c = isalnum((unsigned char)*c) || strchr("/.+-_", *c) ? (char)tolower((unsigned char)*c)
                                                               : '_';
}

static bool type_is(const char *type, const char *want)
{
    return strcmp(type, want) == 0;
}

/* ---- parts -------------------------------------------------------------------------------- */

/*  The decoded bytes of a part's data. *owned is set when they were decoded (free it with
    mmap_string_unref); NULL data with 0 length when the part is empty. Returns 0, or -1
    when the transfer encoding could not be decoded (the bytes are then the encoded ones). */
static int part_bytes(const struct mailmime_data *d, const char **data, size_t *len,
                      char **owned)
{
    *data = NULL;
    *len = 0;
    *owned = NULL;
    if (!d || d->dt_type != MAILMIME_DATA_TEXT)
        return 0;
    *data = d->dt_data.dt_text.dt_data;
    *len = d->dt_data.dt_text.dt_length;
    if (!d->dt_encoded || !*len)
        return 0;
    size_t idx = 0, declen = 0;
    char *dec = NULL;
    if (mailmime_part_parse(*data, *len, &idx, d->dt_encoding, &dec, &declen) !=
            MAILIMF_NO_ERROR ||
        !dec)
        return -1;
    *data = *owned = dec;
    *len = declen;
    return 0;
}

static void attach(parse_t *p, const char *name, const char *type, const char *data, size_t len)
{
    char generated[64];
    p->attachment_count++;
    if (!name) {
        const char *sub = strchr(type, '/');
        snprintf(generated, sizeof generated, "attachment-%zu.%.20s", p->attachment_count,
                 type_is(type, "message/rfc822") ? "eml" : sub && sub[1] ? sub + 1 : "bin");
        name = generated;
    }
    if (len > p->opts->max_attachment_bytes) {
        note(p, "Attachment left out, larger than the limit of %zu bytes: %s (%zu bytes)",
             p->opts->max_attachment_bytes, name, len);
        return;
    }
    if (len > p->opts->attachment_budget || p->attached > p->opts->attachment_budget - len) {
        note(p, "Attachment left out, no room for it beside the message: %s (%zu bytes)", name,
             len);
        return;
    }
    char ct[CONTENT_TYPE_MAX + 1];
    snprintf(ct, sizeof ct, "%s", type);
    if (aduan_msg_attach(p->m, name, ct, data, len) != 0) {
        p->oom = true;
        return;
    }
    p->attached += len;
}

static char *to_utf8(const struct mailmime_single_fields *sf, const char *data, size_t len)
{
    return email_charset_to_utf8(sf->fld_content_charset, data ? data : "", len, NULL, NULL);
}

static void single_part(parse_t *p, struct mailmime *mime, bool in_alternative)
{
    struct mailmime_single_fields sf;
    mailmime_single_fields_init(&sf, mime->mm_mime_fields, mime->mm_content_type);
    char type[CONTENT_TYPE_MAX + 1];
    content_type_name(mime->mm_content_type, type, sizeof type);
    const char *data;
    size_t len;
    char *decoded;
    if (part_bytes(mime->mm_data.mm_single, &data, &len, &decoded) != 0)
        quarantine(p, "a %s part whose transfer encoding cannot be decoded", type);
    bool as_attachment = sf.fld_disposition && sf.fld_disposition->dsp_type &&
                         sf.fld_disposition->dsp_type->dsp_type ==
                             MAILMIME_DISPOSITION_TYPE_ATTACHMENT;
    char *filename = email_part_filename(mime->mm_mime_fields, mime->mm_content_type);
    as_attachment = as_attachment || filename;

    if (strncmp(type, "multipart/", 10) == 0) {
        /* what libetpan makes of a multipart without a boundary: shown as text */
        quarantine(p, "%s without a boundary", type);
        snprintf(type, sizeof type, "text/plain");
        as_attachment = false;
    }
    if (type_is(type, "message/delivery-status") ||
        type_is(type, "message/global-delivery-status")) {
        if (email_dsn_parse(data ? data : "", len, &p->dsn) != 0)
            p->oom = true;
    } else if (p->report && (type_is(type, "text/rfc822-headers") ||
                             type_is(type, "message/global-headers"))) {
        char *id = email_dsn_message_id(data ? data : "", len);
        if (id && email_header_id(p->original_ids, id, IN_REPLY_TO_MAX) != 0)
            p->oom = true;
        free(id);
    } else if (!as_attachment && type_is(type, "text/plain")) {
        if (!(in_alternative && p->have_plain)) {
            char *text = to_utf8(&sf, data, len);
            if (!text || (p->plain->len && !mmap_string_append(p->plain, "\n\n")) ||
                !mmap_string_append(p->plain, text))
                p->oom = true;
            free(text);
            p->have_plain = true;
        }
    } else if (!as_attachment && type_is(type, "text/html")) {
        if (!p->html && !(p->html = to_utf8(&sf, data, len)))
            p->oom = true;
    } else if (!(in_alternative && !as_attachment && strncmp(type, "text/", 5) == 0)) {
        /* everything else is kept, but for the other forms of a text (text/enriched) */
        attach(p, filename, type, data ? data : "", len);
    }
    free(filename);
    if (decoded)
        mmap_string_unref(decoded);
}

/* A message/rfc822 part: in a bounce, the message of ours it returns; else an attachment. */
static void embedded_message(parse_t *p, struct mailmime *mime)
{
    if (p->report) {
        struct mailimf_fields *fields = mime->mm_data.mm_message.mm_fields;
        struct mailimf_single_fields h;
        if (fields) {
            mailimf_single_fields_init(&h, fields);
            if (h.fld_message_id &&
                email_header_id(p->original_ids, h.fld_message_id->mid_value,
                                IN_REPLY_TO_MAX) != 0)
                p->oom = true;
        }
        return;
    }
    const char *data;
    size_t len;
    char *decoded;
    if (part_bytes(mime->mm_body, &data, &len, &decoded) != 0)
        quarantine(p, "an attached message whose transfer encoding cannot be decoded");
    char *filename = email_part_filename(mime->mm_mime_fields, mime->mm_content_type);
    attach(p, filename, "message/rfc822", data ? data : "", len);
    free(filename);
    if (decoded)
        mmap_string_unref(decoded);
}

/* "--boundary" at the start of a line of the multipart's body. */
static bool boundary_appears(const struct mailmime *mime, const char *boundary)
{
    const struct mailmime_data *body = mime->mm_body;
    const char *data = mime->mm_mime_start;
    size_t len = mime->mm_length;
    if (body && body->dt_type == MAILMIME_DATA_TEXT) {
        data = body->dt_data.dt_text.dt_data;
        len = body->dt_data.dt_text.dt_length;
    }
    size_t blen = strlen(boundary);
    if (!data || blen == 0 || blen > 200)
        return false;
    for (const char *q = data; (q = memmem(q, len - (size_t)(q - data), "--", 2)) != NULL; q++) {
        size_t left = len - (size_t)(q - data);
        if ((q == data || q[-1] == '\n') && left >= 2 + blen && memcmp(q + 2, boundary, blen) == 0)
            return true;
    }
    return false;
}

static void walk(parse_t *p, struct mailmime *mime, int depth, bool in_alternative)
{
    if (!mime || p->oom)
        return;
    if (++p->parts > MAX_PARTS) {
        quarantine(p, "more than %d MIME parts", MAX_PARTS);
        return;
    }
    if (depth > MAX_DEPTH) {
        quarantine(p, "MIME parts nested deeper than %d", MAX_DEPTH);
        return;
    }
    switch (mime->mm_type) {
    case MAILMIME_SINGLE:
        single_part(p, mime, in_alternative);
        break;
    case MAILMIME_MULTIPLE: {
        char type[CONTENT_TYPE_MAX + 1];
        content_type_name(mime->mm_content_type, type, sizeof type);
        clist *parts = mime->mm_data.mm_multipart.mm_mp_list;
        const char *boundary = mime->mm_content_type
                                   ? mailmime_content_param_get(mime->mm_content_type, "boundary")
                                   : NULL;
        /* libetpan makes the whole body one part when the boundary is not in it */
        if (!boundary || !boundary_appears(mime, boundary))
            quarantine(p, "%s whose boundary never appears", type);
        else if (!parts || clist_isempty(parts))
            quarantine(p, "%s without parts", type);
        bool alternative = type_is(type, "multipart/alternative");
        for (clistiter *it = parts ? clist_begin(parts) : NULL; it; it = clist_next(it))
            walk(p, clist_content(it), depth + 1, alternative);
        break;
    }
    case MAILMIME_MESSAGE:
        if (depth == 0)
            walk(p, mime->mm_data.mm_message.mm_msg_mime, depth + 1, false);
        else
            embedded_message(p, mime);
        break;
    default:
        break;
    }
}

/* ---- headers ------------------------------------------------------------------------------ */

static void set_owned(char **field, char **value)
{
    free(*field);
    *field = *value;
    *value = NULL;
}

static void read_headers(parse_t *p, const struct mailimf_fields *fields)
{
    aduan_msg_t *m = p->m;
    if (!fields || !fields->fld_list || clist_isempty(fields->fld_list)) {
        quarantine(p, "no header fields");
        return;
    }
    char *addr = NULL, *name = NULL;
    if (email_header_from(fields, &addr, &name) != 0) {
        p->oom = true;
        return;
    }
    set_owned(&m->intake.from_addr, &addr);
    set_owned(&m->intake.from_name, &name);

    struct mailimf_single_fields h;
    mailimf_single_fields_init(&h, (struct mailimf_fields *)fields);
    if (h.fld_subject && h.fld_subject->sbj_value) {
        char *subject = email_header_text(h.fld_subject->sbj_value);
        if (!subject) {
            p->oom = true;
            return;
        }
        email_utf8_cut(subject, SUBJECT_MAX);
        set_owned(&m->intake.subject, &subject);
    }
    MMAPString *ids = mmap_string_new("");
    if (!ids) {
        p->oom = true;
        return;
    }
    if (h.fld_message_id && email_header_id(ids, h.fld_message_id->mid_value, MESSAGE_REF_MAX) != 0)
        p->oom = true;
    if (ids->len && aduan_msg_set(&m->intake.message_ref, ids->str) != 0)
        p->oom = true;
    mmap_string_truncate(ids, 0);
    if (h.fld_in_reply_to &&
        email_header_ids(ids, h.fld_in_reply_to->mid_list, IN_REPLY_TO_MAX, false) != 0)
        p->oom = true;
    if (ids->len && aduan_msg_set(&m->intake.in_reply_to, ids->str) != 0)
        p->oom = true;
    mmap_string_truncate(ids, 0);
    if (h.fld_references &&
        email_header_ids(ids, h.fld_references->mid_list, REFERENCES_MAX, true) != 0)
        p->oom = true;
    if (ids->len && aduan_msg_set(&m->intake.references, ids->str) != 0)
        p->oom = true;
    mmap_string_free(ids);
    if (h.fld_orig_date)
        m->intake.received_at = email_header_date_ms(h.fld_orig_date->dt_date_time);

    if (email_header_automatic(fields) || email_addr_is_daemon(m->intake.from_addr) ||
        email_addr_equal(m->intake.from_addr, p->opts->own_address))
        m->intake.flags |= ADUAN_INTAKE_AUTOMATIC;
    char ticket[40];
    bool status = false;
    if (email_subject_ticket(m->intake.subject, p->opts->ticket_prefix, ticket, &status)) {
        if (aduan_msg_set(&m->intake.thread_ticket, ticket) != 0)
            p->oom = true;
        if (status && aduan_msg_set(&m->intake.intent, "status") != 0)
            p->oom = true;
    }
}

static bool is_delivery_report(const struct mailmime *body)
{
    if (!body || body->mm_type != MAILMIME_MULTIPLE || !body->mm_content_type)
        return false;
    char type[CONTENT_TYPE_MAX + 1];
    content_type_name(body->mm_content_type, type, sizeof type);
    const char *report_type = mailmime_content_param_get(body->mm_content_type, "report-type");
    return type_is(type, "multipart/report") && report_type &&
           strcasecmp(report_type, "delivery-status") == 0;
}

/* ---- the text ----------------------------------------------------------------------------- */

/* True when the space-separated list holds word. */
static bool has_word(const char *list, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = strstr(list, word); p; p = strstr(p + 1, word))
        if ((p == list || p[-1] == ' ') && (p[n] == '\0' || p[n] == ' '))
            return true;
    return false;
}

/* A bounce: what failed, and the ids that name our message (the core finds its outbox row). */
static void finish_bounce(parse_t *p, MMAPString *text)
{
    aduan_msg_t *m = p->m;
    m->intake.flags |= ADUAN_INTAKE_AUTOMATIC;
    if (!p->original_ids->len && p->plain->len) {
        /* a bounce without a report part quotes the headers of what it returns */
        char *id = email_dsn_message_id(p->plain->str, p->plain->len);
        if (id && email_header_id(p->original_ids, id, IN_REPLY_TO_MAX) != 0)
            p->oom = true;
        free(id);
    }
    /* then what the report itself says it answers */
    for (int pass = 0; pass < 2; pass++) {
        const char *list = pass == 0 ? m->intake.in_reply_to : m->intake.references;
        char *copy = list ? strdup(list) : NULL, *save = NULL;
        for (char *id = copy ? strtok_r(copy, " ", &save) : NULL; id;
             id = strtok_r(NULL, " ", &save))
            if (!has_word(p->original_ids->str, id) &&
                email_header_id(p->original_ids, id, IN_REPLY_TO_MAX) != 0)
                p->oom = true;
        free(copy);
    }
    if (aduan_msg_set(&m->intake.in_reply_to, p->original_ids->len ? p->original_ids->str : NULL) !=
        0)
        p->oom = true;
    if (p->dsn.any_action && !p->dsn.failed) {
        /* "delayed", "delivered", "relayed": nothing failed, nothing to mark */
        quarantine(p, "a delivery status notification that reports no failure");
        aduan_msg_set(&m->intake.intent, "complaint");
    } else {
        aduan_msg_set(&m->intake.intent, "bounce");
    }
    const char *why = p->dsn.text && *p->dsn.text ? p->dsn.text : p->plain->str;
    if (!mmap_string_append(text, why))
        p->oom = true;
}

static void finish_text(parse_t *p, bool bounce)
{
    MMAPString *text = mmap_string_new("");
    if (!text) {
        p->oom = true;
        return;
    }
    if (bounce) {
        finish_bounce(p, text);
    } else if (p->have_plain) {
        if (!mmap_string_append(text, p->plain->str))
            p->oom = true;
    } else if (p->html) {
        char *t = email_html_to_text(p->html, strlen(p->html));
        if (!t || !mmap_string_append(text, t))
            p->oom = true;
        free(t);
    }
    char *clean = strdup(text->str);
    mmap_string_free(text);
    if (!clean) {
        p->oom = true;
        return;
    }
    email_text_clean(clean);
    if (email_utf8_cut(clean, TEXT_MAX))
        note(p, "Text cut at %d bytes; the whole message is kept", TEXT_MAX);
    MMAPString *whole = mmap_string_new(clean);
    free(clean);
    if (!whole || !mmap_string_append(whole, p->notes->str)) {
        p->oom = true;
        if (whole)
            mmap_string_free(whole);
        return;
    }
    char *final = strdup(whole->str);
    mmap_string_free(whole);
    if (!final) {
        p->oom = true;
        return;
    }
    email_text_clean(final);
    if (*final)
        set_owned(&p->m->intake.text, &final);
    free(final);
}

/* ---- the whole message -------------------------------------------------------------------- */

static void headers_only(parse_t *p, const char *raw, size_t len)
{
    size_t idx = 0;
    struct mailimf_fields *fields = NULL;
    if (mailimf_fields_parse(raw, len < HEADER_SCAN_MAX ? len : HEADER_SCAN_MAX, &idx,
                             &fields) == MAILIMF_NO_ERROR) {
        read_headers(p, fields);
        mailimf_fields_free(fields);
    } else {
        quarantine(p, "no header fields");
    }
}

aduan_msg_t *email_mime_intake(const void *raw, size_t len, const email_mime_options_t *opts)
{
    aduan_msg_t *m = aduan_msg_new(ADUAN_MSG_INTAKE);
    if (!m)
        return NULL;
    parse_t p = {.opts = opts, .m = m};
    p.plain = mmap_string_new("");
    p.notes = mmap_string_new("");
    p.original_ids = mmap_string_new("");
    m->intake.raw.data = malloc(len + 1);
    if (!p.plain || !p.notes || !p.original_ids || !m->intake.raw.data ||
        aduan_msg_set(&m->intake.intent, "complaint") != 0)
        goto oom;
    memcpy(m->intake.raw.data, raw, len);
    m->intake.raw.data[len] = '\0';
    m->intake.raw.size = len;
    const char *bytes = (const char *)m->intake.raw.data;

    bool bounce = false;
    if (len > opts->max_message_bytes) {
        headers_only(&p, bytes, len);
        note(&p, "The message is %zu bytes, more than the limit of %zu: kept whole as received, "
                 "not read", len, opts->max_message_bytes);
    } else {
        size_t idx = 0;
        struct mailmime *mime = NULL;
        int rc = mailmime_parse(bytes, len, &idx, &mime);
        if (rc != MAILIMF_NO_ERROR || !mime || mime->mm_type != MAILMIME_MESSAGE) {
            quarantine(&p, "the MIME structure cannot be parsed (libetpan error %d)", rc);
            if (mime)
                mailmime_free(mime);
            headers_only(&p, bytes, len);
        } else {
            read_headers(&p, mime->mm_data.mm_message.mm_fields);
            p.report = is_delivery_report(mime->mm_data.mm_message.mm_msg_mime);
            walk(&p, mime, 0, false);
            mailmime_free(mime);
        }
        bounce = p.report || email_addr_is_mailer_daemon(m->intake.from_addr);
    }
    finish_text(&p, bounce);
    if (p.oom)
        goto oom;
    if (p.reason[0] && aduan_msg_set(&m->intake.quarantine_reason, p.reason) != 0)
        goto oom;
    email_dsn_clear(&p.dsn);
    free(p.html);
    mmap_string_free(p.plain);
    mmap_string_free(p.notes);
    mmap_string_free(p.original_ids);
    return m;
oom:
    email_dsn_clear(&p.dsn);
    free(p.html);
    if (p.plain)
        mmap_string_free(p.plain);
    if (p.notes)
        mmap_string_free(p.notes);
    if (p.original_ids)
        mmap_string_free(p.original_ids);
    aduan_msg_destroy(&m);
    return NULL;
}
