/*  dsn.c - the fields of a delivery status notification (see dsn.h). */
#include "dsn.h"

#include <libetpan/libetpan.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "charset.h"

#define MAX_GROUPS 100 /* recipients of one report read */

/* The per-recipient fields staff need to see why it failed; the rest is in the raw. */
static const char *const kept[] = {"Final-Recipient", "Original-Recipient", "Action", "Status",
                                   "Diagnostic-Code", "Remote-MTA", NULL};

static bool is_kept(const char *name)
{
    for (size_t i = 0; kept[i]; i++)
        if (strcasecmp(name, kept[i]) == 0)
            return true;
    return false;
}

static int add_field(email_dsn_t *dsn, MMAPString *text, const char *name, const char *value)
{
    char *clean = email_charset_repair(value, strlen(value));
    if (!clean)
        return -1;
    email_line_clean(clean);
    if (strcasecmp(name, "Action") == 0) {
        dsn->any_action = true;
        if (strncasecmp(clean, "failed", 6) == 0)
            dsn->failed = true;
    }
    bool ok = (!text->len || mmap_string_append_c(text, '\n')) && mmap_string_append(text, name) &&
              mmap_string_append(text, ": ") && mmap_string_append(text, clean);
    free(clean);
    return ok ? 0 : -1;
}

int email_dsn_parse(const char *body, size_t len, email_dsn_t *dsn)
{
    MMAPString *text = mmap_string_new(dsn->text ? dsn->text : "");
    if (!text)
        return -1;
    size_t idx = 0;
    int rc = 0;
    for (int group = 0; group < MAX_GROUPS && idx < len && rc == 0; group++) {
        /* the per-message group, then one per recipient, with blank lines between */
        while (idx < len && (body[idx] == '\r' || body[idx] == '\n'))
            idx++;
        size_t before = idx;
        struct mailimf_fields *fields = NULL;
        if (mailimf_optional_fields_parse(body, len, &idx, &fields) != MAILIMF_NO_ERROR ||
            !fields)
            break;
        for (clistiter *it = clist_begin(fields->fld_list); it && rc == 0;
             it = clist_next(it)) {
            const struct mailimf_field *f = clist_content(it);
            const struct mailimf_optional_field *o = f->fld_data.fld_optional_field;
            if (f->fld_type == MAILIMF_FIELD_OPTIONAL_FIELD && o && o->fld_name &&
                o->fld_value && is_kept(o->fld_name))
                rc = add_field(dsn, text, o->fld_name, o->fld_value);
        }
        mailimf_fields_free(fields);
        if (idx == before)
            break; /* no field read: the rest is not a report */
    }
    if (rc == 0) {
        char *copy = strdup(text->str);
        if (copy) {
            free(dsn->text);
            dsn->text = copy;
        } else
            rc = -1;
    }
    mmap_string_free(text);
    return rc;
}

void email_dsn_clear(email_dsn_t *dsn)
{
    free(dsn->text);
    *dsn = (email_dsn_t){0};
}

/* The id of a Message-ID value, or NULL. */
static char *parse_id(const char *value, size_t len)
{
    size_t idx = 0;
    char *id = NULL;
    if (mailimf_msg_id_parse(value, len, &idx, &id) != MAILIMF_NO_ERROR)
        return NULL;
    return id;
}

char *email_dsn_message_id(const char *text, size_t len)
{
    /* a header block first: what text/rfc822-headers holds */
    size_t idx = 0;
    struct mailimf_fields *fields = NULL;
    char *id = NULL;
    if (mailimf_fields_parse(text, len, &idx, &fields) == MAILIMF_NO_ERROR && fields) {
        struct mailimf_single_fields h;
        mailimf_single_fields_init(&h, fields);
        if (h.fld_message_id && h.fld_message_id->mid_value)
            id = strdup(h.fld_message_id->mid_value);
        mailimf_fields_free(fields);
        if (id)
            return id;
    }
    /* else a line "Message-ID: <...>" anywhere: the headers a plain bounce quotes */
    static const char key[] = "message-id:";
    for (size_t i = 0; i + sizeof key - 1 < len; i++) {
        if ((i == 0 || text[i - 1] == '\n') && strncasecmp(text + i, key, sizeof key - 1) == 0) {
            const char *value = text + i + sizeof key - 1;
            const char *end = memchr(value, '\n', len - (size_t)(value - text));
            size_t vlen = end ? (size_t)(end - value) : len - (size_t)(value - text);
            if ((id = parse_id(value, vlen)) != NULL)
                return id;
        }
    }
    return NULL;
}
