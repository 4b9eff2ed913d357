/*  reports.c - the two registers of the SOP and the monthly summary, as rows (JSON), CSV
    and a printable PDF (A4, the office's name at the head of each page, page numbers),
    drawn with cairo.

      agenda     Buku Agenda Permohonan: every complaint received in the period
      responses  Buku Agenda Tanggapan Pengaduan: every written response sent in it
      summary    one month: counts by channel and state, overdue, median days to response

    A confidential complainant is shown as "(dirahasiakan)". Periods are local days. */
#include <cairo-pdf.h>
#include <cairo.h>
#include <fontconfig/fontconfig.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aduan/log.h"
#include "registry.h"

#define CONFIDENTIAL "(dirahasiakan)"
#define DAY_MS (24LL * 3600 * 1000)

/* ---- cells ------------------------------------------------------------------------------ */

void aduan_csv_cell(FILE *out, const char *text)
{
    const char *s = text ? text : "";
    /* a spreadsheet would run these as a formula (CSV injection) */
    bool formula = strchr("=+-@\t\r", s[0]) != NULL && s[0] != '\0';
    fputc('"', out);
    if (formula)
        fputc('\'', out);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', out);
        fputc(*s, out);
    }
    fputc('"', out);
}

static void local_time_text(int64_t ms, char *out, size_t outlen)
{
    if (ms <= 0) {
        snprintf(out, outlen, "-");
        return;
    }
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(out, outlen, "%Y-%m-%d %H:%M", &tm);
}

/* One line of at most ~120 characters from a text, cut at a UTF-8 boundary. */
static void one_line(const char *text, char *out, size_t outlen)
{
    size_t n = 0, chars = 0;
    for (const char *p = text ? text : ""; *p && n + 4 < outlen; p++) {
        if (((unsigned char)*p & 0xC0) != 0x80 && ++chars > 120)
            break;
        out[n++] = (*p == '\n' || *p == '\r' || *p == '\t') ? ' ' : *p;
    }
    while (n > 0 && ((unsigned char)out[n - 1] & 0xC0) == 0x80)
        n--;
    if (n > 0 && ((unsigned char)out[n - 1] & 0xC0) == 0xC0)
        n--;
    out[n] = '\0';
}

/* ---- periods --------------------------------------------------------------------------- */

/* Local midnight of YYYY-MM-DD (plus days) in ms; -1 when not a date. */
static int64_t day_start(const char *date, int plus_days)
{
    int y, m, d;
    char extra;
    if (!date || sscanf(date, "%4d-%2d-%2d%c", &y, &m, &d, &extra) != 3 || m < 1 || m > 12 ||
        d < 1 || d > 31)
        return -1;
    struct tm tm = {.tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d + plus_days,
                    .tm_isdst = -1};
    time_t t = mktime(&tm);
    return t == (time_t)-1 ? -1 : (int64_t)t * 1000;
}

typedef struct {
    int64_t from, to; /* [from, to) in ms */
    char text[64];    /* for the page head */
} period_t;

static int period_of(const json_t *args, period_t *p, char *reason, size_t rl)
{
    const char *month = json_string_value(json_object_get(args, "month"));
    const char *from = json_string_value(json_object_get(args, "from"));
    const char *to = json_string_value(json_object_get(args, "to"));
    if (month) {
        char first[48];
        int y, m;
        char extra;
        if (sscanf(month, "%4d-%2d%c", &y, &m, &extra) != 2 || m < 1 || m > 12) {
            snprintf(reason, rl, "--month wants YYYY-MM, not '%.20s'", month);
            return -1;
        }
        snprintf(first, sizeof first, "%04d-%02d-01", y, m);
        p->from = day_start(first, 0);
        snprintf(first, sizeof first, "%04d-%02d-01", m == 12 ? y + 1 : y, m == 12 ? 1 : m + 1);
        p->to = day_start(first, 0);
        snprintf(p->text, sizeof p->text, "Bulan %04d-%02d", y, m);
        return 0;
    }
    if (!from || !to) {
        snprintf(reason, rl, "give the period: --from YYYY-MM-DD --to YYYY-MM-DD, or --month "
                             "YYYY-MM");
        return -1;
    }
    p->from = day_start(from, 0);
    p->to = day_start(to, 1);
    if (p->from < 0 || p->to < 0) {
        snprintf(reason, rl, "dates are YYYY-MM-DD: '%.20s' to '%.20s'", from, to);
        return -1;
    }
    if (p->to <= p->from) {
        snprintf(reason, rl, "--to %.20s comes before --from %.20s", to, from);
        return -1;
    }
    snprintf(p->text, sizeof p->text, "Periode %.10s s.d. %.10s", from, to);
    return 0;
}

/* ---- the registers as rows -------------------------------------------------------------- */

typedef struct {
    const char *key;
    const char *title;
    const char *const *headers;
    const double *widths; /* shares of the line */
    size_t ncols;
} book_t;

static const char *const agenda_headers[] = {"No. Agenda", "Tanggal Diterima", "Saluran",
                                             "Pemohon", "Ringkasan", "No. Tiket", "Status"};
static const double agenda_widths[] = {0.08, 0.12, 0.07, 0.20, 0.33, 0.12, 0.08};
static const char *const response_headers[] = {"No.", "Tanggal", "No. Tiket", "Ringkasan Tanggapan",
                                               "Tanggal Diterima", "Saluran"};
static const double response_widths[] = {0.08, 0.13, 0.13, 0.45, 0.13, 0.08};
static const char *const summary_headers[] = {"Uraian", "Jumlah"};
static const double summary_widths[] = {0.75, 0.25};

static const book_t books[] = {
    {"agenda", "Buku Agenda Permohonan", agenda_headers, agenda_widths, 7},
    {"responses", "Buku Agenda Tanggapan Pengaduan", response_headers, response_widths, 6},
    {"summary", "Ringkasan Pengaduan Bulanan", summary_headers, summary_widths, 2},
};

#define SQL_AGENDA                                                                         \
    "SELECT ticket, received_at, channel, from_name, from_addr, confidential, subject,"     \
    " text, state FROM complaint WHERE received_at >= ?1 AND received_at < ?2 ORDER BY id"
#define SQL_RESPONSES                                                                      \
    "SELECT r.number, r.year, r.at, c.ticket, r.summary,"                                   \
    " coalesce(r.delivered_at, o.delivered_at), r.channel FROM response r"                  \
    " JOIN complaint c ON c.id = r.complaint_id LEFT JOIN outbox o ON o.id = r.outbox_id"   \
    " WHERE r.at >= ?1 AND r.at < ?2 ORDER BY r.year, r.number"

static json_t *strings(size_t n, const char *const *values)
{
    json_t *row = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(row, json_string(values[i] ? values[i] : ""));
    return row;
}

static json_t *agenda_rows(aduan_store_t *store, const period_t *p)
{
    sqlite3_stmt *st = aduan_store_stmt(store, SQL_AGENDA);
    if (!st)
        return NULL;
    sqlite3_bind_int64(st, 1, p->from);
    sqlite3_bind_int64(st, 2, p->to);
    json_t *rows = json_array();
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *ticket = aduan_column_text(st, 0);
        const char *dash = strrchr(ticket, '-');
        char number[16], date[32], who[400], summary[512];
        snprintf(number, sizeof number, "%ld", dash ? strtol(dash + 1, NULL, 10) : 0L);
        local_time_text(sqlite3_column_int64(st, 1), date, sizeof date);
        const char *name = aduan_column_text(st, 3), *addr = aduan_column_text(st, 4);
        if (sqlite3_column_int(st, 5))
            snprintf(who, sizeof who, CONFIDENTIAL);
        else if (*name)
            snprintf(who, sizeof who, "%.150s <%.200s>", name, addr);
        else
            snprintf(who, sizeof who, "%.200s", *addr ? addr : "-");
        const char *subject = aduan_column_text(st, 6);
        one_line(*subject ? subject : aduan_column_text(st, 7), summary, sizeof summary);
        const char *cells[] = {number, date, aduan_column_text(st, 2), who, summary, ticket,
                               aduan_column_text(st, 8)};
        json_array_append_new(rows, strings(7, cells));
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        json_decref(rows);
        return NULL;
    }
    return rows;
}

static json_t *response_rows(aduan_store_t *store, const period_t *p)
{
    sqlite3_stmt *st = aduan_store_stmt(store, SQL_RESPONSES);
    if (!st)
        return NULL;
    sqlite3_bind_int64(st, 1, p->from);
    sqlite3_bind_int64(st, 2, p->to);
    json_t *rows = json_array();
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        char number[32], date[32], delivered[32], summary[512];
        snprintf(number, sizeof number, "%lld/%lld", (long long)sqlite3_column_int64(st, 0),
                 (long long)sqlite3_column_int64(st, 1));
        local_time_text(sqlite3_column_int64(st, 2), date, sizeof date);
        local_time_text(sqlite3_column_int64(st, 5), delivered,
                        sizeof delivered);
        one_line(aduan_column_text(st, 4), summary, sizeof summary);
        const char *cells[] = {number, date, aduan_column_text(st, 3), summary, delivered,
                               aduan_column_text(st, 6)};
        json_array_append_new(rows, strings(6, cells));
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        json_decref(rows);
        return NULL;
    }
    return rows;
}

/* ---- the monthly summary ---------------------------------------------------------------- */

#define SQL_SUMMARY_BY_CHANNEL                                                             \
    "SELECT channel, count(*) FROM complaint WHERE received_at >= ?1 AND received_at < ?2"  \
    " GROUP BY channel ORDER BY channel"
#define SQL_SUMMARY_BY_STATE                                                               \
    "SELECT state, count(*) FROM complaint WHERE received_at >= ?1 AND received_at < ?2"    \
    " GROUP BY state ORDER BY state"
/* each complaint of the month with the time of its first response (NULL: none yet) */
#define SQL_SUMMARY_TIMES                                                                  \
    "SELECT c.received_at, (SELECT min(r.at) FROM response r WHERE r.complaint_id = c.id),"  \
    " c.state FROM complaint c WHERE c.received_at >= ?1 AND c.received_at < ?2"

static json_t *counts(aduan_store_t *store, const char *sql, const char *key,
                      const period_t *p)
{
    sqlite3_stmt *st = aduan_store_stmt(store, sql);
    if (!st)
        return NULL;
    sqlite3_bind_int64(st, 1, p->from);
    sqlite3_bind_int64(st, 2, p->to);
    json_t *rows = json_array();
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        json_array_append_new(rows, json_pack("{s:s, s:I}", key, aduan_column_text(st, 0),
                                              "count", (json_int_t)sqlite3_column_int64(st, 1)));
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        json_decref(rows);
        return NULL;
    }
    return rows;
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static json_t *summary_of_period(aduan_store_t *store, const period_t *p, const char *month)
{
    const aduan_config_t *cfg = aduan_store_config(store);
    json_t *by_channel = counts(store, SQL_SUMMARY_BY_CHANNEL, "channel", p);
    json_t *by_state = counts(store, SQL_SUMMARY_BY_STATE, "state", p);
    sqlite3_stmt *st = aduan_store_stmt(store, SQL_SUMMARY_TIMES);
    if (!by_channel || !by_state || !st) {
        json_decref(by_channel);
        json_decref(by_state);
        return NULL;
    }
    sqlite3_bind_int64(st, 1, p->from);
    sqlite3_bind_int64(st, 2, p->to);
    int64_t now = aduan_store_now_ms(store), received = 0, overdue = 0, responded = 0;
    size_t cap = 64;
    double *days = malloc(cap * sizeof *days);
    int rc;
    while (days && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        received++;
        int64_t at = sqlite3_column_int64(st, 0);
        bool has_response = sqlite3_column_type(st, 1) != SQLITE_NULL;
        int64_t answered = has_response ? sqlite3_column_int64(st, 1) : 0;
        bool rejected = strcmp(aduan_column_text(st, 2), "rejected") == 0;
        int64_t due = aduan_deadline_after(at, (int)cfg->deadlines.response_days,
                                           cfg->deadlines.working_days, cfg->deadlines.holidays);
        if (!rejected && (has_response ? answered > due : now > due))
            overdue++;
        if (has_response) {
            if ((size_t)responded == cap) {
                double *grown = realloc(days, cap * 2 * sizeof *days);
                if (!grown)
                    break;
                days = grown;
                cap *= 2;
            }
            days[responded++] = (double)(answered - at) / (double)DAY_MS;
        }
    }
    sqlite3_reset(st);
    json_t *median = json_null();
    if (days && responded > 0) {
        qsort(days, (size_t)responded, sizeof *days, compare_double);
        double m = responded % 2 ? days[responded / 2]
                                 : (days[responded / 2 - 1] + days[responded / 2]) / 2;
        median = json_real((double)(int64_t)(m * 10 + 0.5) / 10);
    }
    free(days);
    return json_pack("{s:s, s:I, s:I, s:I, s:o, s:o, s:o}", "month", month, "received",
                     (json_int_t)received, "responded", (json_int_t)responded, "overdue",
                     (json_int_t)overdue, "median_days_to_response", median, "by_channel",
                     by_channel, "by_state", by_state);
}

json_t *aduan_report_summary(aduan_store_t *store, const char *month, char *reason,
                             size_t reasonlen)
{
    json_t *args = json_pack("{s:s}", "month", month);
    period_t p;
    int rc = period_of(args, &p, reason, reasonlen);
    json_decref(args);
    if (rc != 0)
        return NULL;
    json_t *s = summary_of_period(store, &p, month);
    if (!s)
        snprintf(reason, reasonlen, "query failed: %s", aduan_store_errmsg(store));
    return s;
}

/* The summary as rows of the two-column table. */
static json_t *summary_rows(const json_t *s)
{
    json_t *rows = json_array();
    char n[32];
    const struct {
        const char *label, *key;
    } totals[] = {
        {"Pengaduan diterima", "received"},
        {"Telah ditanggapi", "responded"},
        {"Melewati batas waktu tanggapan", "overdue"},
    };
    for (size_t i = 0; i < sizeof totals / sizeof totals[0]; i++) {
        snprintf(n, sizeof n, "%lld", (long long)json_integer_value(json_object_get(s, totals[i].key)));
        const char *cells[] = {totals[i].label, n};
        json_array_append_new(rows, strings(2, cells));
    }
    const json_t *m = json_object_get(s, "median_days_to_response");
    if (json_is_number(m))
        snprintf(n, sizeof n, "%.1f", json_number_value(m));
    else
        snprintf(n, sizeof n, "-");
    const char *median[] = {"Median waktu sampai tanggapan (hari)", n};
    json_array_append_new(rows, strings(2, median));
    const struct {
        const char *key, *member, *prefix;
    } groups[] = {{"by_channel", "channel", "Saluran: "}, {"by_state", "state", "Status: "}};
    for (size_t g = 0; g < 2; g++) {
        size_t i;
        const json_t *row;
        json_array_foreach(json_object_get(s, groups[g].key), i, row) {
            char label[128];
            snprintf(label, sizeof label, "%s%s", groups[g].prefix,
                     json_string_value(json_object_get(row, groups[g].member)));
            snprintf(n, sizeof n, "%lld", (long long)json_integer_value(json_object_get(row, "count")));
            const char *cells[] = {label, n};
            json_array_append_new(rows, strings(2, cells));
        }
    }
    return rows;
}

/* ---- CSV --------------------------------------------------------------------------------- */

static char *csv_of(const book_t *reg, const json_t *rows)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    if (!out)
        return NULL;
    for (size_t c = 0; c < reg->ncols; c++) {
        if (c)
            fputc(',', out);
        aduan_csv_cell(out, reg->headers[c]);
    }
    fputs("\r\n", out);
    size_t i;
    const json_t *row;
    json_array_foreach(rows, i, row) {
        for (size_t c = 0; c < reg->ncols; c++) {
            if (c)
                fputc(',', out);
            aduan_csv_cell(out, json_string_value(json_array_get(row, c)));
        }
        fputs("\r\n", out);
    }
    if (fclose(out) != 0) {
        free(text);
        return NULL;
    }
    return text;
}

/* ---- PDF --------------------------------------------------------------------------------- */

/* A4 landscape, in points */
#define PAGE_W 841.89
#define PAGE_H 595.28
#define MARGIN 36.0
#define ROW_H 14.0
#define HEAD_H 78.0
#define FOOT_H 24.0
#define FONT "DejaVu Sans"

typedef struct {
    unsigned char *data;
    size_t size, cap;
} buffer_t;

static cairo_status_t buffer_write(void *closure, const unsigned char *data, unsigned int length)
{
    buffer_t *b = closure;
    if (b->size + length > b->cap) {
        size_t cap = (b->size + length) * 2;
        unsigned char *grown = realloc(b->data, cap);
        if (!grown)
            return CAIRO_STATUS_NO_MEMORY;
        b->data = grown;
        b->cap = cap;
    }
    memcpy(b->data + b->size, data, length);
    b->size += length;
    return CAIRO_STATUS_SUCCESS;
}

/* Shows text cut with "…" to fit width. */
static void show_fitted(cairo_t *cr, double x, double y, double width, const char *text)
{
    cairo_text_extents_t ext;
    cairo_text_extents(cr, text, &ext);
    cairo_move_to(cr, x, y);
    if (ext.x_advance <= width) {
        cairo_show_text(cr, text);
        return;
    }
    size_t len = strlen(text);
    char *cut = malloc(len + 4);
    if (!cut)
        return;
    memcpy(cut, text, len + 1);
    while (len > 0) {
        /* drop one whole UTF-8 character */
        do
            len--;
        while (len > 0 && ((unsigned char)cut[len] & 0xC0) == 0x80);
        memcpy(cut + len, "…", sizeof "…");
        cairo_text_extents(cr, cut, &ext);
        if (ext.x_advance <= width)
            break;
    }
    cairo_show_text(cr, cut);
    free(cut);
}

static void page_head(cairo_t *cr, const char *office, const book_t *reg,
                      const period_t *p, const char *printed)
{
    cairo_select_font_face(cr, FONT, CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
    cairo_set_font_size(cr, 13);
    show_fitted(cr, MARGIN, MARGIN + 12, PAGE_W - 2 * MARGIN, office);
    cairo_set_font_size(cr, 11);
    show_fitted(cr, MARGIN, MARGIN + 30, PAGE_W - 2 * MARGIN, reg->title);
    cairo_select_font_face(cr, FONT, CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, 9);
    char line[160];
    snprintf(line, sizeof line, "%s   (dicetak %s)", p->text, printed);
    show_fitted(cr, MARGIN, MARGIN + 45, PAGE_W - 2 * MARGIN, line);
    cairo_move_to(cr, MARGIN, MARGIN + 52);
    cairo_line_to(cr, PAGE_W - MARGIN, MARGIN + 52);
    cairo_set_line_width(cr, 0.8);
    cairo_stroke(cr);
}

static void table_row(cairo_t *cr, const book_t *reg, double y, const json_t *row,
                      bool header)
{
    double x = MARGIN, line = PAGE_W - 2 * MARGIN;
    cairo_select_font_face(cr, FONT, CAIRO_FONT_SLANT_NORMAL,
                           header ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, 8);
    for (size_t c = 0; c < reg->ncols; c++) {
        double w = line * reg->widths[c];
        const char *text = header ? reg->headers[c] : json_string_value(json_array_get(row, c));
        show_fitted(cr, x + 2, y + ROW_H - 4, w - 4, text ? text : "");
        x += w;
    }
    cairo_move_to(cr, MARGIN, y + ROW_H);
    cairo_line_to(cr, PAGE_W - MARGIN, y + ROW_H);
    cairo_set_line_width(cr, header ? 0.6 : 0.2);
    cairo_stroke(cr);
}

static unsigned char *pdf_of(const book_t *reg, const json_t *rows, const period_t *p,
                             const char *office, int64_t now, size_t *size_out)
{
    buffer_t buf = {0};
    cairo_surface_t *surface =
        cairo_pdf_surface_create_for_stream(buffer_write, &buf, PAGE_W, PAGE_H);
    cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_TITLE, reg->title);
    cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_CREATOR, "Aduan");
    cairo_t *cr = cairo_create(surface);
    char printed[32];
    local_time_text(now, printed, sizeof printed);
    size_t per_page = (size_t)((PAGE_H - MARGIN - HEAD_H - FOOT_H - ROW_H) / ROW_H);
    size_t count = json_array_size(rows);
    size_t pages = count == 0 ? 1 : (count + per_page - 1) / per_page;
    for (size_t page = 0; page < pages; page++) {
        page_head(cr, office, reg, p, printed);
        double y = MARGIN + HEAD_H - 20;
        table_row(cr, reg, y, NULL, true);
        y += ROW_H;
        for (size_t i = page * per_page; i < count && i < (page + 1) * per_page; i++, y += ROW_H)
            table_row(cr, reg, y, json_array_get(rows, i), false);
        if (count == 0) {
            cairo_move_to(cr, MARGIN + 2, y + ROW_H - 4);
            cairo_show_text(cr, "Tidak ada data pada periode ini.");
        }
        char foot[64];
        snprintf(foot, sizeof foot, "Halaman %zu dari %zu", page + 1, pages);
        cairo_select_font_face(cr, FONT, CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
        cairo_set_font_size(cr, 8);
        cairo_text_extents_t ext;
        cairo_text_extents(cr, foot, &ext);
        cairo_move_to(cr, (PAGE_W - ext.x_advance) / 2, PAGE_H - MARGIN + 8);
        cairo_show_text(cr, foot);
        cairo_show_page(cr);
    }
    cairo_destroy(cr);
    cairo_surface_finish(surface);
    cairo_status_t status = cairo_surface_status(surface);
    cairo_surface_destroy(surface);
    /* A report is rare: its fonts and fontconfig's caches (a few MB) are given back at
       once rather than held for the daemon's life. No cairo object is alive here, and
       only the core's thread draws. */
    cairo_debug_reset_static_data();
    FcFini();
    if (status != CAIRO_STATUS_SUCCESS) {
        log_warn("core", "cannot draw the PDF: %s", cairo_status_to_string(status));
        free(buf.data);
        return NULL;
    }
    *size_out = buf.size;
    return buf.data;
}

static char *base64_of(const unsigned char *data, size_t size)
{
    char *out = malloc((size + 2) / 3 * 4 + 1);
    if (out)
        EVP_EncodeBlock((unsigned char *)out, data, (int)size);
    return out;
}

/* ---- the report command ----------------------------------------------------------------- */

json_t *aduan_report(aduan_store_t *store, const json_t *args, char *reason, size_t rl)
{
    const char *which = json_string_value(json_object_get(args, "report"));
    const char *format = json_string_value(json_object_get(args, "format"));
    if (!format)
        format = "json";
    const book_t *reg = NULL;
    for (size_t i = 0; which && i < sizeof books / sizeof books[0]; i++)
        if (strcmp(books[i].key, which) == 0)
            reg = &books[i];
    if (!reg) {
        snprintf(rl ? reason : NULL, rl, "which report? agenda, responses or summary");
        return NULL;
    }
    if (strcmp(format, "json") != 0 && strcmp(format, "csv") != 0 && strcmp(format, "pdf") != 0) {
        snprintf(reason, rl, "--format is csv, pdf or json, not '%.20s'", format);
        return NULL;
    }
    if (strcmp(reg->key, "summary") == 0 && !json_object_get(args, "month")) {
        snprintf(reason, rl, "report summary wants --month YYYY-MM");
        return NULL;
    }
    period_t p;
    if (period_of(args, &p, reason, rl) != 0)
        return NULL;
    json_t *summary = NULL, *rows;
    if (strcmp(reg->key, "agenda") == 0)
        rows = agenda_rows(store, &p);
    else if (strcmp(reg->key, "responses") == 0)
        rows = response_rows(store, &p);
    else {
        summary = summary_of_period(store, &p, json_string_value(json_object_get(args, "month")));
        rows = summary ? summary_rows(summary) : NULL;
    }
    if (!rows) {
        snprintf(reason, rl, "query failed: %s", aduan_store_errmsg(store));
        json_decref(summary);
        return NULL;
    }
    json_t *out = json_pack("{s:s, s:s, s:s, s:o}", "report", reg->key, "title", reg->title,
                            "format", format, "headers", strings(reg->ncols, reg->headers));
    if (summary)
        json_object_set_new(out, "summary", summary);
    if (strcmp(format, "json") == 0) {
        json_object_set_new(out, "rows", rows);
        return out;
    }
    const aduan_config_t *cfg = aduan_store_config(store);
    if (strcmp(format, "csv") == 0) {
        char *csv = csv_of(reg, rows);
        json_object_set_new(out, "content", csv ? json_string(csv) : json_null());
        free(csv);
    } else {
        size_t size = 0;
        unsigned char *pdf = pdf_of(reg, rows, &p,
                                    cfg->core.office_name ? cfg->core.office_name : "",
                                    aduan_store_now_ms(store), &size);
        char *b64 = pdf ? base64_of(pdf, size) : NULL;
        json_object_set_new(out, "content_base64", b64 ? json_string(b64) : json_null());
        free(pdf);
        free(b64);
    }
    json_decref(rows);
    if (json_is_null(json_object_get(out, "content")) ||
        json_is_null(json_object_get(out, "content_base64"))) {
        json_decref(out);
        snprintf(reason, rl, "report failed: out of memory or drawing failed");
        return NULL;
    }
    return out;
}
