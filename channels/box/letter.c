/*  letter.c - the box channel's letter as PDF (letter.h). */
#include "letter.h"

#include <cairo-pdf.h>
#include <cairo.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PAGE_W 595.28 /* A4 in points */
#define PAGE_H 841.89
#define MARGIN 64.0
#define FONT "DejaVu Sans"

typedef struct {
    unsigned char *data;
    size_t size, cap;
    bool failed;
} sink_t;

static cairo_status_t sink_write(void *closure, const unsigned char *data, unsigned int len)
{
    sink_t *s = closure;
    if (s->size + len > s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 65536;
        while (cap < s->size + len)
            cap *= 2;
        unsigned char *bigger = realloc(s->data, cap);
        if (!bigger) {
            s->failed = true;
            return CAIRO_STATUS_WRITE_ERROR;
        }
        s->data = bigger;
        s->cap = cap;
    }
    memcpy(s->data + s->size, data, len);
    s->size += len;
    return CAIRO_STATUS_SUCCESS;
}

typedef struct {
    cairo_t *cr;
    double y;
    double size;
} pen_t;

static void font(pen_t *p, double size, bool bold)
{
    cairo_select_font_face(p->cr, FONT, CAIRO_FONT_SLANT_NORMAL,
                           bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(p->cr, size);
    p->size = size;
}

static void next_line(pen_t *p)
{
    p->y += p->size * 1.45;
    if (p->y > PAGE_H - MARGIN) {
        cairo_show_page(p->cr);
        p->y = MARGIN + p->size;
    }
}

static double width_of(pen_t *p, const char *s)
{
    cairo_text_extents_t e;
    cairo_text_extents(p->cr, s, &e);
    return e.x_advance;
}

/* One line at x; align 0 left, 1 centred, 2 right. */
static void line_at(pen_t *p, const char *s, int align)
{
    double w = width_of(p, s);
    double x = align == 1 ? (PAGE_W - w) / 2 : align == 2 ? PAGE_W - MARGIN - w : MARGIN;
    cairo_move_to(p->cr, x, p->y);
    cairo_show_text(p->cr, s);
    next_line(p);
}

/* A paragraph, wrapped at word boundaries to the text width. */
static void paragraph(pen_t *p, const char *text, size_t len)
{
    double max = PAGE_W - 2 * MARGIN;
    char *line = calloc(1, len + 1);
    if (!line)
        return;
    size_t used = 0;
    const char *w = text, *end = text + len;
    while (w < end) {
        while (w < end && *w == ' ')
            w++;
        const char *we = w;
        while (we < end && *we != ' ')
            we++;
        if (we == w)
            break;
        size_t before = used;
        if (used)
            line[used++] = ' ';
        memcpy(line + used, w, (size_t)(we - w));
        used += (size_t)(we - w);
        line[used] = '\0';
        if (before && width_of(p, line) > max) {
            line[before] = '\0';
            line_at(p, line, 0);
            used = (size_t)(we - w);
            memmove(line, w, used);
            line[used] = '\0';
        }
        w = we;
    }
    if (used)
        line_at(p, line, 0);
    free(line);
}

static void body(pen_t *p, const char *text)
{
    for (const char *s = text; *s;) {
        const char *nl = strchr(s, '\n');
        size_t len = nl ? (size_t)(nl - s) : strlen(s);
        while (len && (s[len - 1] == '\r' || s[len - 1] == ' '))
            len--;
        if (len == 0)
            next_line(p);
        else
            paragraph(p, s, len);
        if (!nl)
            break;
        s = nl + 1;
    }
}

static void date_words(int64_t ms, const char *language, char *out, size_t outlen)
{
    static const char *const id[] = {"Januari", "Februari", "Maret",     "April",
                                     "Mei",     "Juni",     "Juli",      "Agustus",
                                     "September", "Oktober", "November", "Desember"};
    static const char *const en[] = {"January", "February", "March",    "April",
                                     "May",     "June",     "July",     "August",
                                     "September", "October", "November", "December"};
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    localtime_r(&t, &tm);
    bool english = language && strcmp(language, "en") == 0;
    snprintf(out, outlen, "%d %s %d", tm.tm_mday, (english ? en : id)[tm.tm_mon],
             tm.tm_year + 1900);
}

unsigned char *box_letter_pdf(const box_letter_t *l, size_t *size)
{
    bool en = l->language && strcmp(l->language, "en") == 0;
    sink_t sink = {0};
    cairo_surface_t *s = cairo_pdf_surface_create_for_stream(sink_write, &sink, PAGE_W, PAGE_H);
    cairo_t *cr = cairo_create(s);
    pen_t p = {.cr = cr, .y = MARGIN + 10};
    cairo_set_source_rgb(cr, 0, 0, 0);

    /* the letterhead */
    font(&p, 15, true);
    line_at(&p, l->office && *l->office ? l->office : "-", 1);
    if (l->address && *l->address) {
        font(&p, 9.5, false);
        line_at(&p, l->address, 1);
    }
    cairo_set_line_width(cr, 1.2);
    cairo_move_to(cr, MARGIN, p.y - 6);
    cairo_line_to(cr, PAGE_W - MARGIN, p.y - 6);
    cairo_stroke(cr);
    p.y += 14;

    char line[1200], date[64];
    font(&p, 10.5, false);
    date_words(l->date_ms, l->language, date, sizeof date);
    line_at(&p, date, 2);
    snprintf(line, sizeof line, "%s: %s", en ? "Ticket" : "Nomor tiket",
             l->ticket && *l->ticket ? l->ticket : "-");
    line_at(&p, line, 0);
    if (l->subject && *l->subject) {
        snprintf(line, sizeof line, "%s: %.1000s", en ? "Subject" : "Perihal", l->subject);
        paragraph(&p, line, strlen(line));
    }
    next_line(&p);
    snprintf(line, sizeof line, "%s %.1000s", en ? "To" : "Kepada Yth.",
             l->to_name && *l->to_name ? l->to_name : (en ? "the complainant" : "Bapak/Ibu Pelapor"));
    line_at(&p, line, 0);
    next_line(&p);

    body(&p, l->text ? l->text : "");

    next_line(&p);
    line_at(&p, en ? "Yours sincerely," : "Hormat kami,", 2);
    for (int i = 0; i < 3; i++) /* room for the signature and the stamp */
        next_line(&p);
    line_at(&p, l->signer && *l->signer ? l->signer : "", 2);
    line_at(&p, l->office && *l->office ? l->office : "", 2);

    cairo_show_page(cr);
    cairo_destroy(cr);
    cairo_surface_finish(s);
    bool ok = cairo_surface_status(s) == CAIRO_STATUS_SUCCESS && !sink.failed;
    cairo_surface_destroy(s);
    if (!ok) {
        free(sink.data);
        return NULL;
    }
    *size = sink.size;
    return sink.data;
}
