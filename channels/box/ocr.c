/*  ocr.c - scanned files to text (ocr.h): Leptonica and poppler decode, Tesseract reads. */
#include "ocr.h"

#include <cairo.h>
#include <leptonica/allheaders.h>
#include <poppler.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tesseract/capi.h>

struct box_ocr {
    TessBaseAPI *api;
};

box_format_t box_format_sniff(const unsigned char *d, size_t n)
{
    if (n >= 8 && memcmp(d, "\x89PNG\r\n\x1a\n", 8) == 0)
        return BOX_FORMAT_PNG;
    if (n >= 3 && d[0] == 0xFF && d[1] == 0xD8 && d[2] == 0xFF)
        return BOX_FORMAT_JPEG;
    if (n >= 4 && (memcmp(d, "II*\0", 4) == 0 || memcmp(d, "MM\0*", 4) == 0))
        return BOX_FORMAT_TIFF;
    if (n >= 5 && memcmp(d, "%PDF-", 5) == 0)
        return BOX_FORMAT_PDF;
    return BOX_FORMAT_UNKNOWN;
}

const char *box_format_name(box_format_t format)
{
    static const char *const names[] = {"unknown", "png", "jpeg", "tiff", "pdf"};
    return format <= BOX_FORMAT_PDF ? names[format] : "unknown";
}

box_ocr_t *box_ocr_new(const char *languages, char *reason, size_t reasonlen)
{
    /* Leptonica writes every decoding complaint to stderr; the reasons we give are ours */
    setMsgSeverity(L_SEVERITY_NONE);
    box_ocr_t *self = calloc(1, sizeof *self);
    if (!self || !(self->api = TessBaseAPICreate())) {
        snprintf(reason, reasonlen, "out of memory");
        free(self);
        return NULL;
    }
    /* NULL: Debian's /usr/share/tesseract-ocr/5/tessdata */
    if (TessBaseAPIInit3(self->api, NULL, languages) != 0) {
        snprintf(reason, reasonlen,
                 "Tesseract cannot load the languages '%s' (installed: tesseract-ocr-ind, "
                 "tesseract-ocr-eng?)", languages);
        box_ocr_destroy(&self);
        return NULL;
    }
    /* the layout analysis of the tesseract command, so both read a form alike */
    TessBaseAPISetPageSegMode(self->api, PSM_AUTO);
    return self;
}

void box_ocr_destroy(box_ocr_t **self_p)
{
    box_ocr_t *self = *self_p;
    if (!self)
        return;
    if (self->api) {
        TessBaseAPIEnd(self->api);
        TessBaseAPIDelete(self->api);
    }
    free(self);
    *self_p = NULL;
}

void box_ocr_result_clear(box_ocr_result_t *r)
{
    for (int i = 0; i < r->page_count; i++) {
        free(r->pages[i].text);
        free(r->pages[i].png);
    }
    free(r->pages);
    memset(r, 0, sizeof *r);
}

/* ---- checks before decoding ---------------------------------------------------------------- */

/*  A truncated file decodes "successfully" in libjpeg and libpng (the rest painted grey),
    so completeness is checked on the bytes: the end marker must be there. */
static int check_complete(box_format_t f, const unsigned char *d, size_t n, char *reason,
                          size_t rl)
{
    if (f == BOX_FORMAT_JPEG) {
        size_t end = n;
        while (end > 2 && (d[end - 1] == 0 || d[end - 1] == '\n' || d[end - 1] == '\r'))
            end--; /* some scanners pad */
        if (end < 4 || d[end - 2] != 0xFF || d[end - 1] != 0xD9) {
            snprintf(reason, rl, "truncated JPEG: no end-of-image marker");
            return -1;
        }
    }
    if (f == BOX_FORMAT_PNG && (n < 20 || !memmem(d + n - 20 < d + 8 ? d + 8 : d + n - 20,
                                                  20, "IEND", 4))) {
        snprintf(reason, rl, "truncated PNG: no IEND chunk");
        return -1;
    }
    return 0;
}

static int check_pixels(int page, int64_t w, int64_t h, const box_ocr_limits_t *limits,
                        char *reason, size_t rl)
{
    if (w <= 0 || h <= 0) {
        snprintf(reason, rl, "page %d has no size (%lldx%lld)", page, (long long)w,
                 (long long)h);
        return -1;
    }
    if (w * h > limits->max_pixels) {
        snprintf(reason, rl,
                 "page %d is %lldx%lld pixels, more than box.max_pixels (%lld): refused "
                 "before decoding", page, (long long)w, (long long)h,
                 (long long)limits->max_pixels);
        return -1;
    }
    return 0;
}

/* ---- reading one page ---------------------------------------------------------------------- */

/* Takes *pix_p (destroyed). Reads it into page. */
static int read_page(box_ocr_t *self, PIX **pix_p, int with_image, box_page_t *page,
                     char *reason, size_t rl)
{
    PIX *pix = *pix_p;
    *pix_p = NULL;
    /* grey is what Tesseract thresholds anyway; converting first keeps colour scans from
       costing it a conversion of its own, and it is the page image we keep */
    PIX *grey = pixGetDepth(pix) == 8 && !pixGetColormap(pix) ? pixClone(pix)
                                                              : pixConvertTo8(pix, 0);
    pixDestroy(&pix);
    if (!grey) {
        snprintf(reason, rl, "cannot convert the page to grey");
        return -1;
    }
    page->width = pixGetWidth(grey);
    page->height = pixGetHeight(grey);
    TessBaseAPISetImage2(self->api, grey);
    if (pixGetXRes(grey) < 70)
        TessBaseAPISetSourceResolution(self->api, 300);
    char *text = TessBaseAPIGetUTF8Text(self->api);
    page->confidence = TessBaseAPIMeanTextConf(self->api);
    if (page->confidence < 0)
        page->confidence = 0;
    page->text = strdup(text ? text : "");
    TessDeleteText(text);
    TessBaseAPIClear(self->api);
    int rc = page->text ? 0 : -1;
    if (rc == 0 && with_image && pixWriteMemPng(&page->png, &page->png_size, grey, 0.0) != 0) {
        page->png = NULL;
        page->png_size = 0;
    }
    pixDestroy(&grey);
    if (rc != 0)
        snprintf(reason, rl, "out of memory");
    return rc;
}

static box_page_t *add_page(box_ocr_result_t *r)
{
    box_page_t *pages = realloc(r->pages, (size_t)(r->page_count + 1) * sizeof *pages);
    if (!pages)
        return NULL;
    r->pages = pages;
    memset(&pages[r->page_count], 0, sizeof pages[0]);
    return &pages[r->page_count++];
}

/* ---- formats ------------------------------------------------------------------------------- */

static int read_single(box_ocr_t *self, const unsigned char *d, size_t n,
                       const box_ocr_limits_t *limits, box_ocr_result_t *r, char *reason,
                       size_t rl)
{
    l_int32 format = 0, w = 0, h = 0, bps = 0, spp = 0, cmap = 0;
    if (pixReadHeaderMem(d, n, &format, &w, &h, &bps, &spp, &cmap) != 0) {
        snprintf(reason, rl, "unreadable %s header", box_format_name(r->format));
        return -1;
    }
    if (check_pixels(1, w, h, limits, reason, rl) != 0)
        return -1;
    PIX *pix = pixReadMem(d, n);
    if (!pix) {
        snprintf(reason, rl, "the %s image cannot be decoded", box_format_name(r->format));
        return -1;
    }
    box_page_t *page = add_page(r);
    if (!page) {
        pixDestroy(&pix);
        snprintf(reason, rl, "out of memory");
        return -1;
    }
    /* the file is the page image itself: no copy of it */
    return read_page(self, &pix, 0, page, reason, rl);
}

static int read_tiff(box_ocr_t *self, const unsigned char *d, size_t n,
                     const box_ocr_limits_t *limits, int with_images, box_ocr_result_t *r,
                     char *reason, size_t rl)
{
    FILE *fp = fopenReadFromMemory(d, n);
    l_int32 count = 0;
    int ok = fp && tiffGetCount(fp, &count) == 0;
    if (fp)
        fclose(fp);
    if (!ok || count < 1) {
        snprintf(reason, rl, "unreadable TIFF: no page directory");
        return -1;
    }
    if (count > limits->max_pages) {
        snprintf(reason, rl, "TIFF of %d pages, more than box.max_pages (%d)", count,
                 limits->max_pages);
        return -1;
    }
    for (int i = 0; i < count; i++) {
        l_int32 w = 0, h = 0, bps = 0, spp = 0, res = 0, cmap = 0, fmt = 0;
        if (readHeaderMemTiff(d, n, i, &w, &h, &bps, &spp, &res, &cmap, &fmt) != 0) {
            snprintf(reason, rl, "TIFF page %d: unreadable header", i + 1);
            return -1;
        }
        if (check_pixels(i + 1, w, h, limits, reason, rl) != 0)
            return -1;
        PIX *pix = pixReadMemTiff(d, n, i);
        if (!pix) {
            snprintf(reason, rl, "TIFF page %d cannot be decoded", i + 1);
            return -1;
        }
        box_page_t *page = add_page(r);
        if (!page) {
            pixDestroy(&pix);
            snprintf(reason, rl, "out of memory");
            return -1;
        }
        if (read_page(self, &pix, with_images, page, reason, rl) != 0)
            return -1;
    }
    return 0;
}

/* A cairo ARGB32 surface (a rendered PDF page) as a Leptonica 32-bit image. */
static PIX *pix_from_surface(cairo_surface_t *s, int dpi)
{
    int w = cairo_image_surface_get_width(s), h = cairo_image_surface_get_height(s);
    int stride = cairo_image_surface_get_stride(s);
    const unsigned char *src = cairo_image_surface_get_data(s);
    PIX *pix = pixCreate(w, h, 32);
    if (!pix)
        return NULL;
    l_uint32 *dst = pixGetData(pix);
    int wpl = pixGetWpl(pix);
    for (int y = 0; y < h; y++) {
        const uint32_t *row = (const uint32_t *)(src + (size_t)y * (size_t)stride);
        for (int x = 0; x < w; x++) {
            uint32_t p = row[x]; /* 0xAARRGGBB, opaque: the page was filled white first */
            dst[(size_t)y * (size_t)wpl + (size_t)x] = (p & 0x00FFFFFFu) << 8; /* RGBA */
        }
    }
    pixSetResolution(pix, dpi, dpi);
    return pix;
}

static int read_pdf(box_ocr_t *self, const unsigned char *d, size_t n,
                    const box_ocr_limits_t *limits, int with_images, box_ocr_result_t *r,
                    char *reason, size_t rl)
{
    GError *error = NULL;
    GBytes *bytes = g_bytes_new_static(d, n);
    PopplerDocument *doc = poppler_document_new_from_bytes(bytes, NULL, &error);
    int rc = -1;
    if (!doc) {
        snprintf(reason, rl, "unreadable PDF: %s", error ? error->message : "no reason given");
        goto done;
    }
    int count = poppler_document_get_n_pages(doc);
    if (count < 1 || count > limits->max_pages) {
        snprintf(reason, rl, "PDF of %d pages: between 1 and box.max_pages (%d) are read",
                 count, limits->max_pages);
        goto done;
    }
    double scale = limits->pdf_dpi / 72.0;
    for (int i = 0; i < count; i++) {
        PopplerPage *page = poppler_document_get_page(doc, i);
        double wpt = 0, hpt = 0;
        if (!page) {
            snprintf(reason, rl, "PDF page %d cannot be opened", i + 1);
            goto done;
        }
        poppler_page_get_size(page, &wpt, &hpt);
        int64_t w = (int64_t)(wpt * scale + 0.5), h = (int64_t)(hpt * scale + 0.5);
        if (check_pixels(i + 1, w, h, limits, reason, rl) != 0 || w > 32767 || h > 32767) {
            if (w <= 32767 && h <= 32767)
                ; /* the reason is set */
            else
                snprintf(reason, rl, "PDF page %d is too large to draw", i + 1);
            g_object_unref(page);
            goto done;
        }
        cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, (int)w, (int)h);
        cairo_t *cr = cairo_create(s);
        cairo_set_source_rgb(cr, 1, 1, 1);
        cairo_paint(cr);
        cairo_scale(cr, scale, scale);
        poppler_page_render_for_printing(page, cr);
        cairo_destroy(cr);
        g_object_unref(page);
        cairo_surface_flush(s);
        PIX *pix = cairo_surface_status(s) == CAIRO_STATUS_SUCCESS
                       ? pix_from_surface(s, limits->pdf_dpi) : NULL;
        cairo_surface_destroy(s);
        box_page_t *bp = pix ? add_page(r) : NULL;
        if (!bp) {
            pixDestroy(&pix);
            snprintf(reason, rl, "PDF page %d cannot be drawn", i + 1);
            goto done;
        }
        if (read_page(self, &pix, with_images, bp, reason, rl) != 0)
            goto done;
    }
    rc = 0;
done:
    if (error)
        g_error_free(error);
    if (doc)
        g_object_unref(doc);
    g_bytes_unref(bytes);
    return rc;
}

int box_ocr_read(box_ocr_t *self, const unsigned char *data, size_t size,
                 const box_ocr_limits_t *limits, int with_images, box_ocr_result_t *result,
                 char *reason, size_t rl)
{
    memset(result, 0, sizeof *result);
    if (size == 0) {
        snprintf(reason, rl, "empty file (0 bytes)");
        return -1;
    }
    result->format = box_format_sniff(data, size);
    int rc;
    switch (result->format) {
    case BOX_FORMAT_PNG:
    case BOX_FORMAT_JPEG:
        rc = check_complete(result->format, data, size, reason, rl);
        if (rc == 0)
            rc = read_single(self, data, size, limits, result, reason, rl);
        break;
    case BOX_FORMAT_TIFF:
        rc = read_tiff(self, data, size, limits, with_images, result, reason, rl);
        break;
    case BOX_FORMAT_PDF:
        rc = read_pdf(self, data, size, limits, with_images, result, reason, rl);
        break;
    default:
        snprintf(reason, rl, "not a scan: the content is no PNG, JPEG, TIFF or PDF");
        rc = -1;
    }
    if (rc != 0) {
        box_ocr_result_clear(result);
        return -1;
    }
    /* the mean confidence of the file: pages weighted by how much text they hold, so an
       empty back page does not pull a well-read front page down */
    size_t weight = 0;
    double sum = 0;
    for (int i = 0; i < result->page_count; i++) {
        size_t len = strlen(result->pages[i].text) + 1;
        weight += len;
        sum += (double)result->pages[i].confidence * (double)len;
    }
    result->confidence = weight ? (int)(sum / (double)weight + 0.5) : 0;
    return 0;
}
