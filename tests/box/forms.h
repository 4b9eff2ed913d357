/*  forms.h - complaint forms drawn by the tests themselves, as a scanner would deliver
    them: an Indonesian form ("FORMULIR PENGADUAN MASYARAKAT") filled in with a name, a
    contact and a complaint, drawn with cairo at 300 dpi, turned slightly and sprinkled
    with noise, written as PNG, JPEG, multi-page TIFF (Leptonica) or a scanned PDF (the
    page images in a PDF, as a scanner's "scan to PDF" makes). */
#ifndef ADUAN_TEST_BOX_FORMS_H
#define ADUAN_TEST_BOX_FORMS_H

#include <stddef.h>

typedef struct {
    const char *name;       /* after "Nama:"; NULL: the line is left out */
    const char *contact;    /* after "No. HP / Email:"; NULL: left out */
    const char *lines[8];   /* the complaint, NULL-terminated; NULL first: a blank page */
    double angle_deg;       /* the scan's tilt */
    double noise;           /* share of pixels flipped, 0.002 is a dusty scanner glass */
    unsigned seed;
} form_t;

/* Writes one page as PNG (8-bit grey). 0 or -1. */
int form_write_png(const char *path, const form_t *page);
/* One page as JPEG. 0 or -1. */
int form_write_jpeg(const char *path, const form_t *page);
/* count pages as one TIFF (deflate). 0 or -1. */
int form_write_tiff(const char *path, const form_t *pages, int count);
/* count pages as a scanned PDF. 0 or -1. */
int form_write_pdf(const char *path, const form_t *pages, int count);

#endif
