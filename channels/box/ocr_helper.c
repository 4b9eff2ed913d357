/*  aduan-box-ocr - the box channel's OCR, in a process of its own (ocr.h says why).

    Started by the box adapter (box.c) with posix_spawn and kept for every file, so the
    Tesseract models are loaded once:

        aduan-box-ocr LANGUAGES MAX_PIXELS MAX_PAGES PDF_DPI MAX_FILE_BYTES

    It answers one JSON line on stdout when it is ready ({"ready": true}, or {"ok": false,
    "reason": ...} and exit 1), then one JSON line per request line read on stdin, in the
    order asked:

        {"path": "/scan/a.tiff", "work": "/state/box-work"}     (work may be absent)
     -> {"ok": true, "format": "tiff", "confidence": 87, "pages": [{"confidence": 88,
         "width": 2480, "height": 3508, "text": "...", "image": "/state/box-work/page-1.png"}]}
     or {"ok": false, "reason": "truncated JPEG: no end-of-image marker"}

    Page images are written only for files whose pages are not images already (TIFF, PDF)
    and only when "work" is given.

    It also draws the channel's letters (letter.h), so that no cairo or fontconfig runs in
    the daemon's process beside the core's registers:

        {"letter": {"office": ..., "address": ..., "signer": ..., "ticket": ...,
         "to_name": ..., "subject": ..., "text": ..., "date_ms": ..., "language": "id"},
         "out": "/outgoing/ADU-2026-00042-ack-17.pdf"}
     -> {"ok": true, "size": 18211}   (the file written durably), or {"ok": false, ...}

    It ends at the end of stdin. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <cairo.h>
#include <fontconfig/fontconfig.h>

#include "aduan/files.h"
#include "letter.h"
#include "ocr.h"

/* Address space for one hostile file at most; sanitizers reserve terabytes of it. */
#define ADDRESS_SPACE_MAX (3ULL << 30)

static void answer(json_t *o)
{
    char *line = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref(o);
    if (line) {
        fputs(line, stdout);
        fputc('\n', stdout);
        free(line);
    }
    fflush(stdout);
}

static void refuse(const char *reason)
{
    answer(json_pack("{s:b, s:s}", "ok", 0, "reason", reason));
}

static void limit_resources(void)
{
#if !defined(__SANITIZE_ADDRESS__)
    struct rlimit as = {.rlim_cur = ADDRESS_SPACE_MAX, .rlim_max = ADDRESS_SPACE_MAX};
    setrlimit(RLIMIT_AS, &as);
#endif
    struct rlimit core = {0, 0}; /* a crash on a hostile file leaves no image of it */
    setrlimit(RLIMIT_CORE, &core);
}

static const char *field(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static void draw_letter(const json_t *l, const char *out)
{
    box_letter_t letter = {
        .office = field(l, "office"),
        .address = field(l, "address"),
        .signer = field(l, "signer"),
        .ticket = field(l, "ticket"),
        .to_name = field(l, "to_name"),
        .subject = field(l, "subject"),
        .text = field(l, "text"),
        .date_ms = json_integer_value(json_object_get(l, "date_ms")),
        .language = field(l, "language"),
    };
    size_t size = 0;
    unsigned char *pdf = box_letter_pdf(&letter, &size);
    char reason[600];
    if (!pdf) {
        refuse("cairo could not draw the letter");
    } else if (aduan_write_file_durably(out, pdf, size) != 0) {
        snprintf(reason, sizeof reason, "cannot write %.400s: %s", out, strerror(errno));
        refuse(reason);
    } else {
        answer(json_pack("{s:b, s:I}", "ok", 1, "size", (json_int_t)size));
    }
    free(pdf);
}

static void handle(box_ocr_t *ocr, const box_ocr_limits_t *limits, size_t max_bytes,
                   const char *line)
{
    json_error_t jerr;
    json_t *req = json_loads(line, 0, &jerr);
    const json_t *letter = json_object_get(req, "letter");
    if (json_is_object(letter) && field(req, "out")) {
        draw_letter(letter, field(req, "out"));
        json_decref(req);
        return;
    }
    const char *path = json_string_value(json_object_get(req, "path"));
    const char *work = json_string_value(json_object_get(req, "work"));
    char reason[512];
    if (!path) {
        refuse("malformed request");
        json_decref(req);
        return;
    }
    size_t size = 0;
    errno = 0;
    char *data = aduan_read_file(path, max_bytes + 1, &size);
    if (!data) {
        snprintf(reason, sizeof reason, "cannot read the file: %s",
                 errno ? strerror(errno) : "too large");
        refuse(reason);
        json_decref(req);
        return;
    }
    if (size > max_bytes) {
        snprintf(reason, sizeof reason, "file larger than box.max_file_bytes (%zu)", max_bytes);
        refuse(reason);
        free(data);
        json_decref(req);
        return;
    }
    box_ocr_result_t r;
    if (box_ocr_read(ocr, (const unsigned char *)data, size, limits, work != NULL, &r, reason,
                     sizeof reason) != 0) {
        refuse(reason);
        free(data);
        json_decref(req);
        return;
    }
    free(data);
    json_t *pages = json_array();
    for (int i = 0; i < r.page_count; i++) {
        const box_page_t *p = &r.pages[i];
        char image[4096] = "";
        if (p->png && work) {
            snprintf(image, sizeof image, "%s/page-%d.png", work, i + 1);
            if (aduan_write_file_durably(image, p->png, p->png_size) != 0)
                image[0] = '\0';
        }
        json_array_append_new(pages, json_pack("{s:i, s:i, s:i, s:s, s:s?}", "confidence",
                                               p->confidence, "width", p->width, "height",
                                               p->height, "text", p->text, "image",
                                               image[0] ? image : NULL));
    }
    answer(json_pack("{s:b, s:s, s:i, s:o}", "ok", 1, "format", box_format_name(r.format),
                     "confidence", r.confidence, "pages", pages));
    box_ocr_result_clear(&r);
    json_decref(req);
}

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: aduan-box-ocr LANGUAGES MAX_PIXELS MAX_PAGES PDF_DPI "
                        "MAX_FILE_BYTES\n");
        return 2;
    }
    limit_resources();
    box_ocr_limits_t limits = {.max_pixels = strtoll(argv[2], NULL, 10),
                               .max_pages = atoi(argv[3]),
                               .pdf_dpi = atoi(argv[4])};
    size_t max_bytes = strtoull(argv[5], NULL, 10);
    char reason[512];
    box_ocr_t *ocr = box_ocr_new(argv[1], reason, sizeof reason);
    if (!ocr) {
        refuse(reason);
        return 1;
    }
    answer(json_pack("{s:b}", "ready", 1));
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, stdin) > 0)
        handle(ocr, &limits, max_bytes, line);
    free(line);
    box_ocr_destroy(&ocr);
    /* fonts and fontconfig's caches given back, so a leak checker sees only real leaks */
    cairo_debug_reset_static_data();
    FcFini();
    return 0;
}
