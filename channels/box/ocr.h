/*  ocr.h - scanned files to text: the format told by the bytes (never the name), the pages
    decoded with Leptonica (PNG, JPEG, TIFF with any number of pages) or rasterised with
    poppler (PDF), each page read by Tesseract through one handle kept for every file.

    This is the part that parses what strangers drop into the box. It runs only in the
    helper process aduan-box-ocr (ocr_helper.c), never in the daemon: a hostile image can
    crash or exhaust the helper, not reach the registry. */
#ifndef ADUAN_BOX_OCR_H
#define ADUAN_BOX_OCR_H

#include <stddef.h>
#include <stdint.h>

typedef struct box_ocr box_ocr_t;

typedef enum {
    BOX_FORMAT_UNKNOWN = 0,
    BOX_FORMAT_PNG,
    BOX_FORMAT_JPEG,
    BOX_FORMAT_TIFF,
    BOX_FORMAT_PDF,
} box_format_t;

typedef struct {
    int64_t max_pixels; /* a page larger than this is refused before it is decoded */
    int max_pages;
    int pdf_dpi;        /* PDF pages are rasterised at this resolution */
} box_ocr_limits_t;

typedef struct {
    char *text;         /* UTF-8, Tesseract's lines */
    int confidence;     /* Tesseract's mean word confidence, 0-100 */
    int width, height;
    unsigned char *png; /* the page as Tesseract saw it (8-bit grey PNG) */
    size_t png_size;
} box_page_t;

typedef struct {
    box_format_t format;
    box_page_t *pages;
    int page_count;
    int confidence;     /* mean over the pages, weighted by their text's length */
} box_ocr_result_t;

/* The format of a file by its first bytes; BOX_FORMAT_UNKNOWN for anything else. */
box_format_t box_format_sniff(const unsigned char *data, size_t size);
const char *box_format_name(box_format_t format);

/*  Loads the models once ("ind+eng"); NULL with a reason when Tesseract cannot start
    (a language not installed). Caller owns. */
box_ocr_t *box_ocr_new(const char *languages, char *reason, size_t reasonlen);
void box_ocr_destroy(box_ocr_t **self_p);

/*  Reads one file held in memory. Returns 0 with *result filled (free with
    box_ocr_result_clear), or -1 with the reason it cannot be read ("truncated JPEG: no
    end-of-image marker", "page 1 is 40000x40000 pixels, more than box.max_pixels ...").
    with_images: keep each page as PNG in the result. */
int box_ocr_read(box_ocr_t *self, const unsigned char *data, size_t size,
                 const box_ocr_limits_t *limits, int with_images, box_ocr_result_t *result,
                 char *reason, size_t reasonlen);
void box_ocr_result_clear(box_ocr_result_t *result);

#endif
