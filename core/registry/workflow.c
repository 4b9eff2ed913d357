/*  workflow.c - SOP Penanganan Pengaduan, step by step (DESIGN.md):

      recorded --verify (help desk)--> review --review, forward (back office)--> forwarded
      forwarded --meeting (head)--> meeting --minutes (back office)--> minutes
      minutes --respond (help desk)--> responded --delivered (help desk or the channel)-->
      delivered --archive (help desk)--> archived
      recorded / review --reject, merge--> rejected

    Each step is checked against the role of the staff member and the state of the
    complaint before anything is written; a refusal says which rule said no. A step done
    writes the new state, an audit row (actor = the staff member), an event, and a notice
    to the role that acts next, all in the caller's transaction. */
#include <openssl/evp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "aduan/log.h"
#include "registry.h"

#define FILE_MAX (700 * 1024) /* the control endpoint takes 1 MiB per request (base64) */
#define NOTE_MAX 2000
#define SMS_RESPONSE_MAX 1600 /* characters: about ten concatenated parts */

/* ---- states ---------------------------------------------------------------------------- */

typedef struct {
    const char *state;
    aduan_role_t role; /* who acts next */
    size_t days_key;   /* offsetof the [deadlines] key with the days it has; 0: none */
    const char *action;
    const char *id, *en;
} state_t;

#define DAYS(step) offsetof(aduan_config_t, deadlines.step##_days)

static const state_t states[] = {
    {"recorded", ADUAN_ROLE_HELPDESK, DAYS(verify), "verify", "Tercatat, menunggu verifikasi",
     "Recorded, awaiting verification"},
    {"review", ADUAN_ROLE_BACKOFFICE, DAYS(review), "review", "Sedang ditelaah", "Under review"},
    {"forwarded", ADUAN_ROLE_HEAD, DAYS(meeting), "meeting", "Diteruskan kepada Kepala Dinas",
     "Forwarded to the head of office"},
    {"meeting", ADUAN_ROLE_BACKOFFICE, DAYS(minutes), "minutes", "Dibahas dalam rapat",
     "Discussed in a meeting"},
    {"minutes", ADUAN_ROLE_HELPDESK, DAYS(respond), "respond", "Tanggapan tertulis disiapkan",
     "Written response being prepared"},
    {"responded", ADUAN_ROLE_HELPDESK, DAYS(confirm), "delivered",
     "Tanggapan tertulis telah dikirim", "Written response sent"},
    {"delivered", ADUAN_ROLE_HELPDESK, DAYS(archive), "archive", "Tanggapan telah diterima",
     "Response delivered"},
    {"archived", 0, 0, NULL, "Selesai dan diarsipkan", "Closed and archived"},
    {"rejected", 0, 0, NULL, "Ditolak", "Rejected"},
};

static const state_t *state_named(const char *name)
{
    for (size_t i = 0; i < sizeof states / sizeof states[0]; i++)
        if (strcmp(states[i].state, name) == 0)
            return &states[i];
    return NULL;
}

bool aduan_workflow_state_duty(const aduan_config_t *cfg, const char *state, aduan_role_t *role,
                               int *days, const char **action)
{
    const state_t *s = state_named(state);
    if (!s || !s->action)
        return false;
    *role = s->role;
    *days = s->days_key ? (int)*(const int64_t *)((const char *)cfg + s->days_key) : 0;
    *action = s->action;
    return true;
}

const char *aduan_workflow_state_label(const char *state, const char *language)
{
    const state_t *s = state_named(state);
    if (!s)
        return state;
    return language && strcmp(language, "en") == 0 ? s->en : s->id;
}

/* ---- the complaint a step is about ----------------------------------------------------- */

typedef struct {
    int64_t id;
    char ticket[40];
    char state[16];
    char channel[16];
    int64_t received_at;
    bool confidential;
    char *account, *from_addr, *from_name, *subject, *text, *category, *message_ref;
} complaint_t;

#define SQL_LOAD                                                                           \
    "SELECT c.id, c.ticket, c.state, c.channel, c.received_at, c.confidential, c.account,"  \
    " c.from_addr, c.from_name, c.subject, c.text, c.category,"                             \
    " (SELECT m.message_ref FROM message m WHERE m.complaint_id = c.id"                     \
    "  AND m.direction = 'in' ORDER BY m.id LIMIT 1)"                                        \
    " FROM complaint c WHERE c.ticket = ?1"

static void complaint_clear(complaint_t *c)
{
    free(c->account);
    free(c->from_addr);
    free(c->from_name);
    free(c->subject);
    free(c->text);
    free(c->category);
    free(c->message_ref);
    memset(c, 0, sizeof *c);
}

/* 1 found, 0 not, -1 error. */
static int complaint_load(aduan_store_t *store, const char *ticket, complaint_t *c)
{
    memset(c, 0, sizeof *c);
    sqlite3_stmt *st = aduan_store_stmt(store, SQL_LOAD);
    if (!st)
        return -1;
    aduan_bind_text(st, 1, ticket);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        c->id = sqlite3_column_int64(st, 0);
        snprintf(c->ticket, sizeof c->ticket, "%s", aduan_column_text(st, 1));
        snprintf(c->state, sizeof c->state, "%s", aduan_column_text(st, 2));
        snprintf(c->channel, sizeof c->channel, "%s", aduan_column_text(st, 3));
        c->received_at = sqlite3_column_int64(st, 4);
        c->confidential = sqlite3_column_int(st, 5) != 0;
        c->account = strdup(aduan_column_text(st, 6));
        c->from_addr = strdup(aduan_column_text(st, 7));
        c->from_name = strdup(aduan_column_text(st, 8));
        c->subject = strdup(aduan_column_text(st, 9));
        c->text = strdup(aduan_column_text(st, 10));
        c->category = strdup(aduan_column_text(st, 11));
        c->message_ref = strdup(aduan_column_text(st, 12));
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

/* ---- a step ---------------------------------------------------------------------------- */

typedef struct {
    aduan_store_t *store;
    const aduan_config_t *cfg;
    const aduan_staff_t *staff; /* NULL: the gateway itself (a channel confirmed) */
    const char *actor;          /* staff id, or "gateway" */
    const char *os_user;
    const json_t *args;
    complaint_t *c;
    int64_t now;
    char detail[1200];       /* the audit row's detail, filled by the step */
    json_t *result;          /* the reply body */
    const char *next_state;  /* where the step leads; NULL: stays */
    char *reason;
    size_t reasonlen;
    /* for the notice to the next role */
    const char *note;
    char meeting_at[40];
    const char *attendees;
} step_ctx_t;

/* 0 done, -1 refused (reason), -2 database error */
typedef int (*step_fn)(step_ctx_t *ctx);

typedef struct {
    const char *state;
    aduan_role_t role;
} when_t;

typedef struct {
    const char *name;      /* the command */
    when_t when[2];        /* in which state which role may do it */
    const char *to_state;  /* NULL: the state stays */
    const char *action;    /* the audit row's action */
    step_fn run;
    aduan_role_t notify;   /* the role that acts next; 0: nobody to tell */
    const char *notice;    /* its template */
    const char *fallback;  /* when the template is missing */
} step_t;

static int refuse(step_ctx_t *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int refuse(step_ctx_t *ctx, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx->reason, ctx->reasonlen, fmt, ap);
    va_end(ap);
    return -1;
}

static const char *arg_text(const json_t *args, const char *key)
{
    const char *s = json_string_value(json_object_get(args, key));
    return s && *s ? s : NULL;
}

/* A one-line value of staff: no control characters, bounded. */
static int take_line(step_ctx_t *ctx, const char *key, size_t max, bool required,
                     const char **out)
{
    const char *s = arg_text(ctx->args, key);
    *out = s;
    if (!s)
        return required ? refuse(ctx, "%s: --%s is required", ctx->c->ticket, key) : 0;
    if (strlen(s) > max)
        return refuse(ctx, "%s: --%s is longer than %zu bytes", ctx->c->ticket, key, max);
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p < 0x20 && *p != '\t')
            return refuse(ctx, "%s: --%s must be one line", ctx->c->ticket, key);
    return 0;
}

static void detail_add(step_ctx_t *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void detail_add(step_ctx_t *ctx, const char *fmt, ...)
{
    size_t n = strlen(ctx->detail);
    if (n + 2 >= sizeof ctx->detail)
        return;
    if (n)
        ctx->detail[n++] = ' ';
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx->detail + n, sizeof ctx->detail - n, fmt, ap);
    va_end(ap);
}

static int exec_bound(aduan_store_t *store, const char *sql, int64_t id, const char *text,
                      int64_t number)
{
    sqlite3_stmt *st = aduan_store_stmt(store, sql);
    if (!st)
        return -2;
    sqlite3_bind_int64(st, 1, id);
    if (sqlite3_bind_parameter_count(st) >= 2)
        aduan_bind_text_or_null(st, 2, text);
    if (sqlite3_bind_parameter_count(st) >= 3)
        sqlite3_bind_int64(st, 3, number);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -2;
    sqlite3_reset(st);
    return rc;
}

/* ---- the steps' own work --------------------------------------------------------------- */

#define SQL_VERIFY                                                                         \
    "UPDATE complaint SET category = coalesce(?2, category),"                               \
    " confidential = max(confidential, ?3) WHERE id = ?1"

static int do_verify(step_ctx_t *ctx)
{
    const char *category;
    if (take_line(ctx, "category", 64, false, &category) != 0)
        return -1;
    bool confidential = json_is_true(json_object_get(ctx->args, "confidential"));
    if (exec_bound(ctx->store, SQL_VERIFY, ctx->c->id, category, confidential) != 0)
        return -2;
    if (category) {
        detail_add(ctx, "category=%s", category);
        free(ctx->c->category);
        ctx->c->category = strdup(category);
    }
    if (confidential) {
        detail_add(ctx, "confidential");
        ctx->c->confidential = true;
    }
    return 0;
}

static int do_reject(step_ctx_t *ctx)
{
    const char *why;
    if (take_line(ctx, "reason", NOTE_MAX, true, &why) != 0)
        return -1;
    detail_add(ctx, "reason: %s", why);
    ctx->note = why;
    json_object_set_new(ctx->result, "reason", json_string(why));
    return 0;
}

/* ?2 is unused: exec_bound's shape */
#define SQL_MERGE "UPDATE complaint SET merged_into = ?3 WHERE id = ?1 AND ?2 IS NULL"

static int do_merge(step_ctx_t *ctx)
{
    const char *into;
    if (take_line(ctx, "into", 39, true, &into) != 0)
        return -1;
    if (strcasecmp(into, ctx->c->ticket) == 0)
        return refuse(ctx, "%s cannot be merged into itself", ctx->c->ticket);
    complaint_t target;
    int found = complaint_load(ctx->store, into, &target);
    if (found < 0)
        return -2;
    if (found == 0)
        return refuse(ctx, "%s: no such ticket to merge into: %s", ctx->c->ticket, into);
    int rc = 0;
    if (strcmp(target.state, "rejected") == 0 || strcmp(target.state, "archived") == 0)
        rc = refuse(ctx, "%s cannot be merged into %s: it is %s", ctx->c->ticket,
                    target.ticket, target.state);
    char detail[120];
    snprintf(detail, sizeof detail, "%s merged into this ticket", ctx->c->ticket);
    if (rc == 0 && (exec_bound(ctx->store, SQL_MERGE, ctx->c->id, NULL, target.id) != 0 ||
                    aduan_audit_append(ctx->store, ctx->actor, target.id, "merged_from",
                                       detail) != 0))
        rc = -2;
    if (rc == 0) {
        detail_add(ctx, "into %s", target.ticket);
        json_object_set_new(ctx->result, "into", json_string(target.ticket));
    }
    complaint_clear(&target);
    return rc;
}

static int do_review(step_ctx_t *ctx)
{
    const char *note;
    if (take_line(ctx, "note", NOTE_MAX, true, &note) != 0)
        return -1;
    detail_add(ctx, "note: %s", note);
    ctx->note = note;
    return 0;
}

#define SQL_REVIEWED                                                                       \
    "SELECT count(*) FROM audit WHERE complaint_id = ?1 AND action = 'reviewed'"

static int do_forward(step_ctx_t *ctx)
{
    sqlite3_stmt *st = aduan_store_stmt(ctx->store, SQL_REVIEWED);
    if (!st)
        return -2;
    sqlite3_bind_int64(st, 1, ctx->c->id);
    int rc = sqlite3_step(st);
    int64_t reviews = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_reset(st);
    if (reviews < 0)
        return -2;
    if (reviews == 0)
        return refuse(ctx, "%s cannot be forwarded before it is reviewed: "
                           "aduanctl review %s --note ...",
                      ctx->c->ticket, ctx->c->ticket);
    return 0;
}

#define SQL_MEETING                                                                        \
    "INSERT INTO meeting(complaint_id, held_at, attendees, staff_id, created_at)"           \
    " VALUES (?1, ?2, ?3, ?4, ?5)"

/* "YYYY-MM-DD" or "YYYY-MM-DD HH:MM" (a T between allowed), a real date. */
static bool meeting_time(const char *s, char out[40])
{
    struct tm tm = {0};
    int y, mo, d, h = -1, mi = -1;
    char sep = 0, extra = 0;
    int n = sscanf(s, "%4d-%2d-%2d%c%2d:%2d%c", &y, &mo, &d, &sep, &h, &mi, &extra);
    if (!(n == 3 || (n == 6 && (sep == ' ' || sep == 'T'))))
        return false;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || (n == 6 && (h > 23 || mi > 59 || h < 0 || mi < 0)))
        return false;
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = 12;
    tm.tm_isdst = -1;
    if (mktime(&tm) == (time_t)-1 || tm.tm_mday != d)
        return false;
    if (n == 6)
        snprintf(out, 40, "%04d-%02d-%02d %02d:%02d", y, mo, d, h, mi);
    else
        snprintf(out, 40, "%04d-%02d-%02d", y, mo, d);
    return true;
}

static int do_meeting(step_ctx_t *ctx)
{
    const char *at, *attendees;
    if (take_line(ctx, "at", 39, true, &at) != 0 ||
        take_line(ctx, "attendees", NOTE_MAX, true, &attendees) != 0)
        return -1;
    if (!meeting_time(at, ctx->meeting_at))
        return refuse(ctx, "%s: --at wants YYYY-MM-DD or \"YYYY-MM-DD HH:MM\", not '%s'",
                      ctx->c->ticket, at);
    sqlite3_stmt *st = aduan_store_stmt(ctx->store, SQL_MEETING);
    if (!st)
        return -2;
    sqlite3_bind_int64(st, 1, ctx->c->id);
    aduan_bind_text(st, 2, ctx->meeting_at);
    aduan_bind_text(st, 3, attendees);
    aduan_bind_text(st, 4, ctx->actor);
    sqlite3_bind_int64(st, 5, ctx->now);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -2;
    sqlite3_reset(st);
    ctx->attendees = attendees;
    detail_add(ctx, "at %s attendees: %s", ctx->meeting_at, attendees);
    json_object_set_new(ctx->result, "meeting_at", json_string(ctx->meeting_at));
    return rc;
}

/* ---- documents ------------------------------------------------------------------------- */

typedef struct {
    unsigned char *data;
    size_t size;
    char name[128];
    const char *content_type;
    bool text;
} upload_t;

/* The base64 of the request, decoded with OpenSSL. NULL on bad input. */
static unsigned char *base64_decode(const char *in, size_t *size_out)
{
    size_t len = strlen(in);
    if (len % 4 != 0)
        return NULL;
    unsigned char *out = malloc(len / 4 * 3 + 1);
    if (!out)
        return NULL;
    int n = len ? EVP_DecodeBlock(out, (const unsigned char *)in, (int)len) : 0;
    if (n < 0) {
        free(out);
        return NULL;
    }
    /* EVP_DecodeBlock counts the padding as zero bytes */
    size_t size = (size_t)n;
    if (len >= 1 && in[len - 1] == '=')
        size--;
    if (len >= 2 && in[len - 2] == '=')
        size--;
    out[size] = '\0';
    *size_out = size;
    return out;
}

/* A name for the register: the last part of a path, printable, bounded. */
static void document_name(const char *given, const char *fallback, char out[128])
{
    const char *base = given && *given ? given : fallback;
    const char *slash = strrchr(base, '/');
    if (slash && slash[1])
        base = slash + 1;
    size_t n = 0;
    for (const char *p = base; *p && n + 1 < 128; p++)
        out[n++] = ((unsigned char)*p < 0x20 || *p == 0x7f) ? '_' : *p;
    out[n] = '\0';
}

/* Takes args.file {name, base64}: a PDF, or UTF-8 text. 0, -1 refused, -2 no memory. */
static int take_file(step_ctx_t *ctx, upload_t *up, const char *fallback_name)
{
    memset(up, 0, sizeof *up);
    const json_t *file = json_object_get(ctx->args, "file");
    const char *b64 = json_string_value(json_object_get(file, "base64"));
    if (!b64)
        return refuse(ctx, "%s: --file is required", ctx->c->ticket);
    if (strlen(b64) / 4 * 3 > FILE_MAX)
        return refuse(ctx, "%s: the file is larger than %d KiB", ctx->c->ticket,
                      FILE_MAX / 1024);
    up->data = base64_decode(b64, &up->size);
    if (!up->data)
        return refuse(ctx, "%s: the file did not arrive intact (bad base64)", ctx->c->ticket);
    document_name(json_string_value(json_object_get(file, "name")), fallback_name, up->name);
    if (up->size >= 5 && memcmp(up->data, "%PDF-", 5) == 0) {
        up->content_type = "application/pdf";
    } else if (up->size > 0 && memchr(up->data, 0, up->size) == NULL &&
               aduan_utf8_valid((const char *)up->data, up->size)) {
        up->content_type = "text/plain; charset=utf-8";
        up->text = true;
    } else {
        free(up->data);
        up->data = NULL;
        return refuse(ctx, "%s: %s is neither a PDF nor UTF-8 text", ctx->c->ticket, up->name);
    }
    return 0;
}

#define SQL_DOCUMENT                                                                       \
    "INSERT INTO document(complaint_id, kind, name, content_type, size, sha256, staff_id, at)"\
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"

/* Keeps the bytes in the content store and the document row; its id, or -1. */
static int64_t store_document(step_ctx_t *ctx, const char *kind, const upload_t *up)
{
    char sha[65];
    if (aduan_store_put_content(ctx->store, up->data, up->size, sha) != 0)
        return -1;
    sqlite3_stmt *st = aduan_store_stmt(ctx->store, SQL_DOCUMENT);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, ctx->c->id);
    aduan_bind_text(st, 2, kind);
    aduan_bind_text(st, 3, up->name);
    aduan_bind_text(st, 4, up->content_type);
    sqlite3_bind_int64(st, 5, (sqlite3_int64)up->size);
    aduan_bind_text(st, 6, sha);
    aduan_bind_text(st, 7, ctx->actor);
    sqlite3_bind_int64(st, 8, ctx->now);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
    sqlite3_reset(st);
    if (rc != 0)
        return -1;
    detail_add(ctx, "%s %s (%zu bytes, sha256 %.16s)", kind, up->name, up->size, sha);
    json_object_set_new(ctx->result, "document",
                        json_pack("{s:s, s:s, s:I, s:s}", "name", up->name, "content_type",
                                  up->content_type, "size", (json_int_t)up->size, "sha256",
                                  sha));
    return sqlite3_last_insert_rowid(aduan_store_db(ctx->store));
}

static int do_minutes(step_ctx_t *ctx)
{
    upload_t up;
    int rc = take_file(ctx, &up, "berita-acara");
    if (rc != 0)
        return rc;
    rc = store_document(ctx, "minutes", &up) > 0 ? 0 : -2;
    free(up.data);
    return rc;
}

/* ---- the written response -------------------------------------------------------------- */

#define SQL_NEXT_RESPONSE "SELECT coalesce(max(number), 0) + 1 FROM response WHERE year = ?1"
#define SQL_RESPONSE                                                                       \
    "INSERT INTO response(complaint_id, year, number, at, staff_id, channel, summary,"      \
    " document_id, outbox_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"

/* The first line of the response, shortened, for the register. */
static void response_summary(const char *text, char *out, size_t outlen)
{
    while (*text == ' ' || *text == '\n' || *text == '\r' || *text == '\t')
        text++;
    size_t n = 0, chars = 0;
    for (const char *p = text; *p && n + 4 < outlen && chars < 120; p++) {
        if ((*p & 0xC0) != 0x80)
            chars++;
        out[n++] = (*p == '\n' || *p == '\r' || *p == '\t') ? ' ' : *p;
    }
    while (n > 0 && ((unsigned char)out[n - 1] & 0xC0) == 0x80)
        n--;
    if (n > 0 && ((unsigned char)out[n - 1] & 0xC0) == 0xC0)
        n--;
    out[n] = '\0';
}

static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

/* Where the response goes. */
typedef struct {
    char channel[33];
    char account[129];
    char to_addr[321];
} route_t;

#define SQL_ACK_ROUTE                                                                      \
    "SELECT channel, account, to_addr FROM outbox WHERE complaint_id = ?1 AND kind = 'ack'"  \
    " ORDER BY id LIMIT 1"

/*  The response goes the way the acknowledgement went: back through the complaint's own
    channel, or where the channel said (a paper form naming a mobile number was answered
    by SMS, one without a contact by a letter from the box, addressed to its notice
    board). Without an acknowledgement (an automatic sender), the complaint's channel. */
static int response_route(step_ctx_t *ctx, route_t *r)
{
    const complaint_t *c = ctx->c;
    snprintf(r->channel, sizeof r->channel, "%s", c->channel);
    snprintf(r->account, sizeof r->account, "%s", c->account ? c->account : "");
    snprintf(r->to_addr, sizeof r->to_addr, "%s", c->from_addr ? c->from_addr : "");
    sqlite3_stmt *st = aduan_store_stmt(ctx->store, SQL_ACK_ROUTE);
    if (!st)
        return -2;
    sqlite3_bind_int64(st, 1, c->id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        snprintf(r->channel, sizeof r->channel, "%s", aduan_column_text(st, 0));
        snprintf(r->account, sizeof r->account, "%s", aduan_column_text(st, 1));
        snprintf(r->to_addr, sizeof r->to_addr, "%s", aduan_column_text(st, 2));
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -2;
}

/* The response as an outbox row to the complainant (see response_route). */
static int queue_response(step_ctx_t *ctx, const route_t *route, const char *text,
                          int64_t *outbox_id)
{
    complaint_t *c = ctx->c;
    aduan_template_var_t vars[] = {
        {"ticket", c->ticket},
        {"name", c->from_name},
        {"response", text},
        {"subject", c->subject},
        {"office", ctx->cfg->core.office_name},
        {NULL, NULL},
    };
    aduan_rendered_t r = {0};
    aduan_registry_render(ctx->store, "response", route->channel, vars,
                          "{{response}}\n\n{{office}} ({{ticket}})", &r);
    /* a box complaint without a contact: the box adapter draws the row as a letter (PDF)
       to print; the help desk confirms the handing over with `aduanctl delivered` */
    aduan_outbox_item_t item = {
        .complaint_id = c->id,
        .ticket = c->ticket,
        .kind = "response",
        .channel = route->channel,
        .account = route->account,
        .to_addr = route->to_addr,
        .to_name = c->from_name,
        .subject = r.subject,
        .body = r.text,
        .in_reply_to = c->message_ref && *c->message_ref ? c->message_ref : NULL,
        .references = c->message_ref && *c->message_ref ? c->message_ref : NULL,
        .automatic = false,
    };
    int rc = aduan_outbox_queue(ctx->store, &item, outbox_id);
    aduan_rendered_clear(&r);
    return rc;
}

static int do_respond(step_ctx_t *ctx)
{
    upload_t up;
    int rc = take_file(ctx, &up, "tanggapan.txt");
    if (rc != 0)
        return rc;
    const char *text = (const char *)up.data;
    route_t route;
    if (response_route(ctx, &route) != 0) {
        free(up.data);
        return -2;
    }
    if (!up.text)
        rc = refuse(ctx, "%s: respond takes the text of the response (UTF-8); %s is a PDF",
                    ctx->c->ticket, up.name);
    else if (strcmp(route.channel, "sms") == 0 && utf8_chars(text) > SMS_RESPONSE_MAX)
        rc = refuse(ctx, "%s: the response has %zu characters, more than %d for an SMS",
                    ctx->c->ticket, utf8_chars(text), SMS_RESPONSE_MAX);
    if (rc != 0) {
        free(up.data);
        return rc;
    }
    int64_t document_id = store_document(ctx, "response", &up);
    int64_t outbox_id = 0;
    bool reachable = route.to_addr[0] != '\0';
    if (document_id <= 0 || (reachable && queue_response(ctx, &route, text, &outbox_id) != 0)) {
        free(up.data);
        return -2;
    }
    time_t t = (time_t)(ctx->now / 1000);
    struct tm tm;
    localtime_r(&t, &tm);
    int year = tm.tm_year + 1900;
    sqlite3_stmt *st = aduan_store_stmt(ctx->store, SQL_NEXT_RESPONSE);
    rc = -2;
    if (st) {
        sqlite3_bind_int(st, 1, year);
        int64_t number = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
        sqlite3_reset(st);
        char summary[512];
        response_summary(text, summary, sizeof summary);
        st = number > 0 ? aduan_store_stmt(ctx->store, SQL_RESPONSE) : NULL;
        if (st) {
            sqlite3_bind_int64(st, 1, ctx->c->id);
            sqlite3_bind_int(st, 2, year);
            sqlite3_bind_int64(st, 3, number);
            sqlite3_bind_int64(st, 4, ctx->now);
            aduan_bind_text(st, 5, ctx->actor);
            aduan_bind_text(st, 6, route.channel);
            aduan_bind_text(st, 7, summary);
            sqlite3_bind_int64(st, 8, document_id);
            if (outbox_id)
                sqlite3_bind_int64(st, 9, outbox_id);
            else
                sqlite3_bind_null(st, 9);
            rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -2;
            sqlite3_reset(st);
            detail_add(ctx, "response no. %lld/%d via %s%s", (long long)number, year,
                       route.channel, reachable ? "" : " (no address: to be handed over)");
            json_object_set_new(ctx->result, "response_number", json_integer(number));
            json_object_set_new(ctx->result, "outbox_id",
                                outbox_id ? json_integer(outbox_id) : json_null());
        }
    }
    free(up.data);
    return rc;
}

#define SQL_DELIVERED                                                                      \
    "UPDATE response SET delivered_at = coalesce(delivered_at, ?3), delivered_note = ?2"    \
    " WHERE complaint_id = ?1 AND delivered_at IS NULL"

static int do_delivered(step_ctx_t *ctx)
{
    const char *note;
    if (take_line(ctx, "note", NOTE_MAX, false, &note) != 0)
        return -1;
    if (note)
        detail_add(ctx, "note: %s", note);
    return exec_bound(ctx->store, SQL_DELIVERED, ctx->c->id, note, ctx->now);
}

/* ---- a form typed in by the help desk ---------------------------------------------------- */

#define SQL_TRANSCRIBED                                                                    \
    "UPDATE complaint SET text = ?2, incomplete = 0, updated_at = ?3 WHERE id = ?1"
#define SQL_TRANSCRIPT_MESSAGE                                                             \
    "INSERT INTO message(complaint_id, direction, at, channel, from_addr, subject, body)"    \
    " VALUES (?1, 'in', ?2, ?3, ?4, ?5, ?6)"

/*  A paper form OCR could not read well enough (box.min_confidence): what the help desk
    typed in becomes the complaint's text and clears the flag. The machine's reading stays
    in the thread (and in ocr.json); the typed text joins it as a message of its own, so
    that search finds its words. */
static int do_transcribe(step_ctx_t *ctx)
{
    upload_t up;
    int rc = take_file(ctx, &up, "transkripsi.txt");
    if (rc != 0)
        return rc;
    if (!up.text) {
        rc = refuse(ctx, "%s: transcribe takes the typed text (UTF-8); %s is a PDF",
                    ctx->c->ticket, up.name);
        free(up.data);
        return rc;
    }
    const char *text = (const char *)up.data;
    rc = exec_bound(ctx->store, SQL_TRANSCRIBED, ctx->c->id, text, ctx->now);
    sqlite3_stmt *st = rc == 0 ? aduan_store_stmt(ctx->store, SQL_TRANSCRIPT_MESSAGE) : NULL;
    if (st) {
        char subject[128];
        snprintf(subject, sizeof subject, "Transkripsi oleh %s", ctx->actor);
        sqlite3_bind_int64(st, 1, ctx->c->id);
        sqlite3_bind_int64(st, 2, ctx->now);
        aduan_bind_text(st, 3, ctx->c->channel);
        aduan_bind_text(st, 4, ctx->c->from_addr ? ctx->c->from_addr : "");
        aduan_bind_text(st, 5, subject);
        aduan_bind_text(st, 6, text);
        rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -2;
        sqlite3_reset(st);
    } else {
        rc = -2;
    }
    if (rc == 0) {
        detail_add(ctx, "typed in: %zu characters (the OCR text stays in the thread)",
                   utf8_chars(text));
        json_object_set_new(ctx->result, "characters", json_integer((json_int_t)utf8_chars(text)));
    }
    free(up.data);
    return rc;
}

static int do_nothing(step_ctx_t *ctx)
{
    (void)ctx;
    return 0;
}

/* ---- the table of steps ---------------------------------------------------------------- */

#define HELPDESK ADUAN_ROLE_HELPDESK
#define BACKOFFICE ADUAN_ROLE_BACKOFFICE
#define HEAD ADUAN_ROLE_HEAD

static const step_t steps[] = {
    {.name = "verify", .when = {{"recorded", HELPDESK}}, .to_state = "review",
     .action = "verified", .run = do_verify, .notify = BACKOFFICE, .notice = "notice_review",
     .fallback = "{{ticket}} telah diverifikasi loket; mohon ditelaah."},
    {.name = "reject", .when = {{"recorded", HELPDESK}, {"review", BACKOFFICE}},
     .to_state = "rejected", .action = "rejected", .run = do_reject},
    {.name = "merge", .when = {{"recorded", HELPDESK}, {"review", BACKOFFICE}},
     .to_state = "rejected", .action = "merged", .run = do_merge},
    {.name = "review", .when = {{"review", BACKOFFICE}}, .action = "reviewed",
     .run = do_review},
    {.name = "forward", .when = {{"review", BACKOFFICE}}, .to_state = "forwarded",
     .action = "forwarded", .run = do_forward, .notify = HEAD, .notice = "notice_forwarded",
     .fallback = "{{ticket}} diteruskan kepada Kepala Dinas untuk dibahas."},
    {.name = "meeting", .when = {{"forwarded", HEAD}}, .to_state = "meeting",
     .action = "meeting", .run = do_meeting, .notify = BACKOFFICE, .notice = "notice_meeting",
     .fallback = "{{ticket}}: rapat {{meeting_at}}; mohon susun berita acara."},
    {.name = "minutes", .when = {{"meeting", BACKOFFICE}}, .to_state = "minutes",
     .action = "minutes", .run = do_minutes, .notify = HELPDESK, .notice = "notice_minutes",
     .fallback = "{{ticket}}: berita acara selesai; mohon kirim tanggapan tertulis."},
    {.name = "respond", .when = {{"minutes", HELPDESK}}, .to_state = "responded",
     .action = "responded", .run = do_respond},
    {.name = "delivered", .when = {{"responded", HELPDESK}}, .to_state = "delivered",
     .action = "delivered", .run = do_delivered},
    {.name = "archive", .when = {{"delivered", HELPDESK}}, .to_state = "archived",
     .action = "archived", .run = do_nothing},
    /* not a step of its own: the help desk completes step 2 for a form OCR could not read */
    {.name = "transcribe", .when = {{"recorded", HELPDESK}}, .action = "transcribed",
     .run = do_transcribe},
};

static const step_t *step_named(const char *name)
{
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++)
        if (strcmp(steps[i].name, name) == 0)
            return &steps[i];
    return NULL;
}

bool aduan_workflow_is_step(const char *command)
{
    return step_named(command) != NULL;
}

static const char *role_phrase(aduan_role_t role)
{
    switch (role) {
    case ADUAN_ROLE_HELPDESK:
        return "the help desk (helpdesk)";
    case ADUAN_ROLE_BACKOFFICE:
        return "the back office (backoffice)";
    case ADUAN_ROLE_HEAD:
        return "the head of office (head)";
    }
    return "nobody";
}

/*  The rules: the step must be one the staff member's role does at all, and the
    complaint must be in a state where it comes. 0, or -1 with the reason. */
static int check_rules(step_ctx_t *ctx, const step_t *step)
{
    const complaint_t *c = ctx->c;
    if (!ctx->staff)
        return 0; /* the gateway confirms deliveries */
    bool role_may = false, state_fits = false;
    for (size_t i = 0; i < 2 && step->when[i].state; i++) {
        role_may |= step->when[i].role == ctx->staff->role;
        if (strcmp(step->when[i].state, c->state) == 0) {
            state_fits = true;
            if (step->when[i].role != ctx->staff->role)
                return refuse(ctx, "%s: %s of a complaint in state %s is for %s; %s is %s",
                              c->ticket, step->name, c->state, role_phrase(step->when[i].role),
                              ctx->staff->id, aduan_role_name(ctx->staff->role));
        }
    }
    if (!role_may)
        return refuse(ctx, "%s: %s is for %s; %s is %s", c->ticket, step->name,
                      role_phrase(step->when[0].role), ctx->staff->id,
                      aduan_role_name(ctx->staff->role));
    if (!state_fits) {
        char wanted[64];
        snprintf(wanted, sizeof wanted, "%s%s%s", step->when[0].state,
                 step->when[1].state ? " or " : "", step->when[1].state ? step->when[1].state : "");
        return refuse(ctx, "%s: cannot %s now: the complaint is in state %s, and %s comes in "
                           "state %s",
                      c->ticket, step->name, c->state, step->name, wanted);
    }
    return 0;
}

#define SQL_SET_STATE                                                                      \
    "UPDATE complaint SET state = ?2, state_at = ?3, updated_at = ?3,"                      \
    " next_check_at = CASE WHEN ?2 IN ('archived', 'rejected') THEN NULL ELSE 0 END"        \
    " WHERE id = ?1"

/* The notice to the role that acts next, with what it needs to know. */
static int notify_next(step_ctx_t *ctx, const step_t *step)
{
    const complaint_t *c = ctx->c;
    const char *language = ctx->cfg->templates.language ? ctx->cfg->templates.language : "id";
    char from[ADUAN_MASK_MAX], summary[160], due[32];
    if (c->confidential && step->notify != ADUAN_ROLE_HELPDESK)
        snprintf(from, sizeof from, "%s", strcmp(language, "en") == 0 ? "(confidential)"
                                                                       : "(dirahasiakan)");
    else
        aduan_mask_address(c->from_addr, from, sizeof from);
    response_summary(c->subject && *c->subject ? c->subject : c->text, summary, sizeof summary);
    aduan_role_t role;
    int days = 0;
    const char *action;
    due[0] = '\0';
    if (aduan_workflow_state_duty(ctx->cfg, step->to_state, &role, &days, &action) && days > 0) {
        int64_t at = aduan_deadline_after(ctx->now, days, ctx->cfg->deadlines.working_days,
                                          ctx->cfg->deadlines.holidays);
        time_t t = (time_t)(at / 1000);
        struct tm tm;
        localtime_r(&t, &tm);
        strftime(due, sizeof due, "%d-%m-%Y", &tm);
    }
    aduan_template_var_t vars[] = {
        {"ticket", c->ticket},
        {"by", ctx->staff ? ctx->staff->name : "sistem"},
        {"channel", c->channel},
        {"from", from},
        {"summary", summary},
        {"category", c->category},
        {"state", aduan_workflow_state_label(step->to_state, language)},
        {"note", ctx->note},
        {"meeting_at", ctx->meeting_at},
        {"attendees", ctx->attendees},
        {"due", due},
        {"office", ctx->cfg->core.office_name},
        {NULL, NULL},
    };
    return aduan_registry_notify_staff(ctx->store, step->notify, c->id, step->notice, vars,
                                       step->fallback);
}

/* Does a step whose rules were checked: its own work, the state, audit, event, notice. */
static int carry_out(step_ctx_t *ctx, const step_t *step)
{
    int rc = step->run(ctx);
    if (rc != 0)
        return rc;
    const char *from_state = ctx->c->state;
    const char *to_state = step->to_state ? step->to_state : ctx->c->state;
    if (step->to_state) {
        sqlite3_stmt *st = aduan_store_stmt(ctx->store, SQL_SET_STATE);
        if (!st)
            return -2;
        sqlite3_bind_int64(st, 1, ctx->c->id);
        aduan_bind_text(st, 2, step->to_state);
        sqlite3_bind_int64(st, 3, ctx->now);
        rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -2;
        sqlite3_reset(st);
        if (rc != 0)
            return rc;
    }
    /* who did it: the member, and the OS user when another ran aduanctl for them */
    char audit[1400];
    snprintf(audit, sizeof audit, "%s -> %s by %s (%s)%s%s%s%s", from_state, to_state,
             ctx->staff ? ctx->staff->name : "gateway",
             ctx->staff ? aduan_role_name(ctx->staff->role) : "channel",
             ctx->os_user && ctx->staff && (!ctx->staff->user ||
                                           strcmp(ctx->os_user, ctx->staff->user) != 0)
                 ? " as "
                 : "",
             ctx->os_user && ctx->staff && (!ctx->staff->user ||
                                           strcmp(ctx->os_user, ctx->staff->user) != 0)
                 ? ctx->os_user
                 : "",
             *ctx->detail ? ": " : "", ctx->detail);
    if (aduan_audit_append(ctx->store, ctx->actor, ctx->c->id, step->action, audit) != 0)
        return -2;
    if (step->notify && notify_next(ctx, step) != 0)
        return -2;
    json_t *ev = json_pack("{s:s, s:s, s:s, s:s}", "step", step->name, "from", from_state,
                           "to", to_state, "by", ctx->actor);
    char *s = ev ? json_dumps(ev, JSON_COMPACT) : NULL;
    aduan_store_event(ctx->store, "ticket.step", ctx->c->ticket, s);
    free(s);
    json_decref(ev);
    log_info("core", "%s step %s %s -> %s by %s", ctx->c->ticket, step->name, from_state,
             to_state, ctx->actor);
    json_object_set_new(ctx->result, "ticket", json_string(ctx->c->ticket));
    json_object_set_new(ctx->result, "step", json_string(step->name));
    json_object_set_new(ctx->result, "previous", json_string(from_state));
    json_object_set_new(ctx->result, "status", json_string(to_state));
    json_object_set_new(ctx->result, "by", json_string(ctx->actor));
    return 0;
}

json_t *aduan_workflow_step(aduan_store_t *store, const char *name, const aduan_staff_t *staff,
                            const char *os_user, const json_t *args, bool *refused,
                            char *reason, size_t reasonlen)
{
    *refused = true;
    const step_t *step = step_named(name);
    if (!step) {
        snprintf(reason, reasonlen, "unknown step '%.64s'", name);
        return NULL;
    }
    const char *ticket = arg_text(args, "ticket");
    if (!ticket) {
        snprintf(reason, reasonlen, "%s: which ticket?", name);
        return NULL;
    }
    complaint_t c;
    int found = complaint_load(store, ticket, &c);
    if (found <= 0) {
        *refused = found == 0;
        snprintf(reason, reasonlen, found == 0 ? "no such ticket: %.40s" : "query failed: %.40s",
                 ticket);
        return NULL;
    }
    step_ctx_t ctx = {
        .store = store,
        .cfg = aduan_store_config(store),
        .staff = staff,
        .actor = staff ? staff->id : "gateway",
        .os_user = os_user,
        .args = args,
        .c = &c,
        .now = aduan_store_now_ms(store),
        .result = json_object(),
        .reason = reason,
        .reasonlen = reasonlen,
    };
    int rc = check_rules(&ctx, step);
    if (rc == 0)
        rc = carry_out(&ctx, step);
    complaint_clear(&c);
    if (rc != 0) {
        *refused = rc == -1;
        if (rc == -2)
            snprintf(reason, reasonlen, "%s failed: %s", name, aduan_store_errmsg(store));
        else
            log_info("core", "%s step %s by %s refused: %s", ticket, name, ctx.actor, reason);
        json_decref(ctx.result);
        return NULL;
    }
    return ctx.result;
}

/* ---- deliveries the channels confirmed -------------------------------------------------- */

/* an SMS delivery report says "delivered"; an SMTP server's acceptance is all email has */
#define SQL_CONFIRMED                                                                      \
    "SELECT c.ticket, o.status, o.channel FROM complaint c"                                 \
    " JOIN response r ON r.complaint_id = c.id JOIN outbox o ON o.id = r.outbox_id"         \
    " WHERE c.state = 'responded' AND r.delivered_at IS NULL"                               \
    " AND (o.status = 'delivered' OR (o.status = 'sent' AND o.channel = 'email'))"          \
    " LIMIT 100"

int aduan_workflow_confirm_deliveries(aduan_store_t *store)
{
    sqlite3_stmt *st = aduan_store_stmt(store, SQL_CONFIRMED);
    if (!st)
        return -1;
    json_t *found = json_array();
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        json_array_append_new(found, json_pack("{s:s, s:s, s:s}", "ticket",
                                               aduan_column_text(st, 0), "note",
                                               strcmp(aduan_column_text(st, 1), "delivered") == 0
                                                   ? "delivery report"
                                                   : "accepted by the mail server",
                                               "channel", aduan_column_text(st, 2)));
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        json_decref(found);
        return -1;
    }
    int moved = 0;
    size_t i;
    json_t *row;
    json_array_foreach(found, i, row) {
        bool refused;
        char reason[256];
        char note[128];
        snprintf(note, sizeof note, "confirmed by the channel: %s",
                 json_string_value(json_object_get(row, "note")));
        json_t *args = json_pack("{s:O, s:s}", "ticket", json_object_get(row, "ticket"), "note",
                                 note);
        json_t *done = aduan_workflow_step(store, "delivered", NULL, NULL, args, &refused,
                                           reason, sizeof reason);
        json_decref(args);
        if (!done && !refused) {
            json_decref(found);
            return -1;
        }
        if (done) {
            /* the help desk archives: tell them the citizen has the response */
            complaint_t c;
            if (complaint_load(store, json_string_value(json_object_get(row, "ticket")), &c) == 1) {
                aduan_template_var_t vars[] = {
                    {"ticket", c.ticket},
                    {"channel", c.channel},
                    {"office", aduan_store_config(store)->core.office_name},
                    {NULL, NULL},
                };
                int n = aduan_registry_notify_staff(store, ADUAN_ROLE_HELPDESK, c.id,
                                                    "notice_delivered", vars,
                                                    "{{ticket}}: tanggapan telah diterima "
                                                    "pelapor; mohon arsipkan.");
                complaint_clear(&c);
                if (n != 0) {
                    json_decref(done);
                    json_decref(found);
                    return -1;
                }
            }
            moved++;
        }
        json_decref(done);
    }
    json_decref(found);
    return moved;
}

/* ---- show ------------------------------------------------------------------------------ */

#define ISO(col) "strftime('%Y-%m-%dT%H:%M:%SZ', " col " / 1000, 'unixepoch')"
#define SQL_ID_OF "SELECT id FROM complaint WHERE ticket = ?1"
#define SQL_MEETINGS                                                                       \
    "SELECT held_at, attendees, staff_id, " ISO("created_at") " AS recorded_at"             \
    " FROM meeting WHERE complaint_id = ?1 ORDER BY id"
#define SQL_DOCUMENTS                                                                      \
    "SELECT kind, name, content_type, size, sha256, staff_id, " ISO("at") " AS at"          \
    " FROM document WHERE complaint_id = ?1 ORDER BY id"
#define SQL_RESPONSES                                                                      \
    "SELECT number, year, " ISO("at") " AS at, staff_id, channel, summary, outbox_id,"      \
    " " ISO("delivered_at") " AS delivered_at, delivered_note FROM response"                \
    " WHERE complaint_id = ?1 ORDER BY id"

static json_t *rows_for(aduan_store_t *store, const char *sql, int64_t id)
{
    sqlite3_stmt *st = aduan_store_stmt(store, sql);
    if (!st)
        return NULL;
    sqlite3_bind_int64(st, 1, id);
    json_t *out = json_array();
    int rc, n = sqlite3_column_count(st);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        json_t *row = json_object();
        for (int i = 0; i < n; i++) {
            int type = sqlite3_column_type(st, i);
            json_object_set_new(row, sqlite3_column_name(st, i),
                                type == SQLITE_NULL      ? json_null()
                                : type == SQLITE_INTEGER ? json_integer(sqlite3_column_int64(st, i))
                                                         : json_string(aduan_column_text(st, i)));
        }
        json_array_append_new(out, row);
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        json_decref(out);
        return NULL;
    }
    return out;
}

json_t *aduan_workflow_details(aduan_store_t *store, const char *ticket, char *reason,
                               size_t reasonlen)
{
    sqlite3_stmt *st = aduan_store_stmt(store, SQL_ID_OF);
    if (!st)
        return NULL;
    aduan_bind_text(st, 1, ticket);
    int64_t id = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    json_t *meetings = rows_for(store, SQL_MEETINGS, id);
    json_t *documents = rows_for(store, SQL_DOCUMENTS, id);
    json_t *responses = rows_for(store, SQL_RESPONSES, id);
    if (!meetings || !documents || !responses) {
        snprintf(reason, reasonlen, "query failed: %s", aduan_store_errmsg(store));
        json_decref(meetings);
        json_decref(documents);
        json_decref(responses);
        return NULL;
    }
    return json_pack("{s:o, s:o, s:o}", "meetings", meetings, "documents", documents,
                     "responses", responses);
}

/* ---- document ----------------------------------------------------------------------------- */

#define SQL_DOCUMENT_NTH                                                                   \
    "SELECT d.kind, d.name, d.content_type, d.size, d.sha256, d.staff_id,"                  \
    " " ISO("d.at") " AS at FROM document d JOIN complaint c ON c.id = d.complaint_id"       \
    " WHERE c.ticket = ?1 ORDER BY d.id LIMIT 1 OFFSET ?2"

json_t *aduan_workflow_document(aduan_store_t *store, const json_t *args, char *reason,
                                size_t reasonlen)
{
    const char *ticket = arg_text(args, "ticket");
    json_int_t number = json_integer_value(json_object_get(args, "number"));
    if (!ticket || number < 1) {
        snprintf(reason, reasonlen, "document: which ticket, and which of its documents "
                                    "(1 is the first, as show lists them)?");
        return NULL;
    }
    sqlite3_stmt *st = aduan_store_stmt(store, SQL_DOCUMENT_NTH);
    if (!st) {
        snprintf(reason, reasonlen, "query failed: %s", aduan_store_errmsg(store));
        return NULL;
    }
    aduan_bind_text(st, 1, ticket);
    sqlite3_bind_int64(st, 2, number - 1);
    int rc = sqlite3_step(st);
    json_t *doc = NULL;
    if (rc == SQLITE_ROW)
        doc = json_pack("{s:s, s:I, s:s, s:s, s:s, s:I, s:s, s:s, s:s}", "ticket", ticket,
                        "number", number, "kind", aduan_column_text(st, 0), "name",
                        aduan_column_text(st, 1), "content_type", aduan_column_text(st, 2),
                        "size", (json_int_t)sqlite3_column_int64(st, 3), "sha256",
                        aduan_column_text(st, 4), "staff_id", aduan_column_text(st, 5), "at",
                        aduan_column_text(st, 6));
    sqlite3_reset(st);
    if (rc != SQLITE_ROW) {
        snprintf(reason, reasonlen, rc == SQLITE_DONE ? "%.40s has no document %lld"
                                                      : "query failed on %.40s (%lld)",
                 ticket, (long long)number);
        return NULL;
    }
    size_t size = 0;
    unsigned char *data =
        aduan_store_get_content(store, json_string_value(json_object_get(doc, "sha256")), &size);
    char *b64 = data ? malloc(4 * ((size + 2) / 3) + 1) : NULL;
    if (!b64) {
        snprintf(reason, reasonlen, "%.40s: the content of document %lld is missing", ticket,
                 (long long)number);
        free(data);
        json_decref(doc);
        return NULL;
    }
    EVP_EncodeBlock((unsigned char *)b64, data, (int)size);
    json_object_set_new(doc, "content_base64", json_string(b64));
    free(b64);
    free(data);
    return doc;
}
