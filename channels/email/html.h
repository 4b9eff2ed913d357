/*  html.h - an HTML-only mail body as readable text (pure: libxml2's HTML parser).

    Tags go, entities are decoded, scripts and styles are dropped, block elements
    (paragraphs, headings, list items, table rows, <br>) start new lines, list items get a
    "- ", link targets are kept after the link text when they differ from it.
*/
#ifndef ADUAN_EMAIL_HTML_H
#define ADUAN_EMAIL_HTML_H

#include <stddef.h>

/*  html: UTF-8 (convert it first). Returns new UTF-8 text (caller frees), cleaned as
    email_text_clean does, with at most one blank line in a row; "" for nothing readable;
    NULL only when memory runs out. */
char *email_html_to_text(const char *html, size_t len);

#endif
