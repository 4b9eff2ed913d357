/*  letter.h - the printable letter (PDF, A4) the box channel answers with when the
    complainant left no phone number or address: the office's letterhead, the ticket, the
    date, to whom, the text, who signs. Drawn with cairo. */
#ifndef ADUAN_BOX_LETTER_H
#define ADUAN_BOX_LETTER_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    const char *office;    /* core.office_name */
    const char *address;   /* box.letter_address; may be empty */
    const char *signer;    /* box.letter_signer */
    const char *ticket;    /* may be NULL */
    const char *to_name;   /* may be NULL or empty: "Bapak/Ibu Pelapor" */
    const char *subject;   /* may be NULL */
    const char *text;      /* the body, UTF-8, paragraphs separated by newlines */
    int64_t date_ms;       /* the letter's date (local day) */
    const char *language;  /* "id" or "en": month names and the fixed words */
} box_letter_t;

/* Draws the letter. Returns a malloc'ed PDF (caller frees) and its size, or NULL. */
unsigned char *box_letter_pdf(const box_letter_t *letter, size_t *size);

#endif
