/*  forms.c - drawing the test forms (forms.h). */
#include "forms.h"

#include <cairo-pdf.h>
#include <cairo.h>
#include <fontconfig/fontconfig.h>
#include <leptonica/allheaders.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define DPI 300.0
/* A5 portrait: a half-sheet form, as offices print them for the box */
#define PAGE_W_MM 148.0
#define PAGE_H_MM 210.0
#define PX(mm) ((mm) / 25.4 * DPI)

static void text_at(cairo_t *cr, double x_mm, double y_mm, double pt, int bold, const char *s)
{
    cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL,
                           bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, pt / 72.0 * DPI);
    cairo_move_to(cr, PX(x_mm), PX(y_mm));
    cairo_show_text(cr, s);
}

/* The page as a grey Leptonica image. */
static PIX *draw(const form_t *f)
{
    int w = (int)PX(PAGE_W_MM), h = (int)PX(PAGE_H_MM);
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h);
    cairo_t *cr = cairo_create(s);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    /* the tilt of a sheet laid a little askew on the glass */
    cairo_translate(cr, w / 2.0, h / 2.0);
    cairo_rotate(cr, f->angle_deg * M_PI / 180.0);
    cairo_translate(cr, -w / 2.0, -h / 2.0);
    cairo_set_source_rgb(cr, 0.05, 0.05, 0.05);
    if (f->lines[0]) {
        text_at(cr, 18, 22, 13, 1, "FORMULIR PENGADUAN MASYARAKAT");
        text_at(cr, 30, 30, 10, 0, "DPMPTSP Kabupaten Contoh");
        cairo_set_line_width(cr, 4);
        cairo_move_to(cr, PX(12), PX(35));
        cairo_line_to(cr, PX(PAGE_W_MM - 12), PX(35));
        cairo_stroke(cr);
        double y = 48;
        if (f->name) {
            char line[256];
            snprintf(line, sizeof line, "Nama: %s", f->name);
            text_at(cr, 14, y, 11, 0, line);
            y += 10;
        }
        if (f->contact) {
            char line[256];
            snprintf(line, sizeof line, "No. HP / Email: %s", f->contact);
            text_at(cr, 14, y, 11, 0, line);
            y += 10;
        }
        text_at(cr, 14, y, 11, 0, "Isi pengaduan:");
        y += 10;
        for (int i = 0; i < 8 && f->lines[i]; i++, y += 8)
            text_at(cr, 14, y, 11, 0, f->lines[i]);
    }
    cairo_destroy(cr);
    cairo_surface_flush(s);
    PIX *pix = pixCreate(w, h, 8);
    pixSetResolution(pix, (int)DPI, (int)DPI);
    const unsigned char *data = cairo_image_surface_get_data(s);
    int stride = cairo_image_surface_get_stride(s);
    unsigned seed = f->seed ? f->seed : 1;
    for (int y = 0; y < h; y++) {
        const uint32_t *row = (const uint32_t *)(data + (size_t)y * (size_t)stride);
        for (int x = 0; x < w; x++) {
            int grey = (int)((row[x] >> 8) & 0xFF); /* green is grey enough */
            /* dust: a few pixels flipped */
            seed = seed * 1103515245u + 12345u;
            if (f->noise > 0 && (double)((seed >> 8) & 0xFFFF) / 65536.0 < f->noise)
                grey = grey > 128 ? 40 : 230;
            pixSetPixel(pix, x, y, (l_uint32)grey);
        }
    }
    cairo_surface_destroy(s);
    /* fontconfig's caches given back: the tests run under a leak checker too */
    cairo_debug_reset_static_data();
    FcFini();
    return pix;
}

int form_write_png(const char *path, const form_t *page)
{
    PIX *pix = draw(page);
    int rc = pixWrite(path, pix, IFF_PNG) == 0 ? 0 : -1;
    pixDestroy(&pix);
    return rc;
}

int form_write_jpeg(const char *path, const form_t *page)
{
    PIX *pix = draw(page);
    int rc = pixWrite(path, pix, IFF_JFIF_JPEG) == 0 ? 0 : -1;
    pixDestroy(&pix);
    return rc;
}

int form_write_tiff(const char *path, const form_t *pages, int count)
{
    for (int i = 0; i < count; i++) {
        PIX *pix = draw(&pages[i]);
        int rc = pixWriteTiff(path, pix, IFF_TIFF_ZIP, i == 0 ? "w" : "a");
        pixDestroy(&pix);
        if (rc != 0)
            return -1;
    }
    return 0;
}

int form_write_pdf(const char *path, const form_t *pages, int count)
{
    double wpt = PAGE_W_MM / 25.4 * 72, hpt = PAGE_H_MM / 25.4 * 72;
    cairo_surface_t *pdf = cairo_pdf_surface_create(path, wpt, hpt);
    cairo_t *cr = cairo_create(pdf);
    for (int i = 0; i < count; i++) {
        PIX *pix = draw(&pages[i]);
        int w = pixGetWidth(pix), h = pixGetHeight(pix);
        cairo_surface_t *img = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h);
        unsigned char *data = cairo_image_surface_get_data(img);
        int stride = cairo_image_surface_get_stride(img);
        for (int y = 0; y < h; y++) {
            uint32_t *row = (uint32_t *)(data + (size_t)y * (size_t)stride);
            for (int x = 0; x < w; x++) {
                l_uint32 g = 0;
                pixGetPixel(pix, x, y, &g);
                row[x] = (g << 16) | (g << 8) | g;
            }
        }
        cairo_surface_mark_dirty(img);
        pixDestroy(&pix);
        cairo_save(cr);
        cairo_scale(cr, 72.0 / DPI, 72.0 / DPI);
        cairo_set_source_surface(cr, img, 0, 0);
        cairo_paint(cr);
        cairo_restore(cr);
        cairo_show_page(cr);
        cairo_surface_destroy(img);
    }
    cairo_destroy(cr);
    cairo_surface_finish(pdf);
    int rc = cairo_surface_status(pdf) == CAIRO_STATUS_SUCCESS ? 0 : -1;
    cairo_surface_destroy(pdf);
    cairo_debug_reset_static_data();
    FcFini();
    return rc;
}
