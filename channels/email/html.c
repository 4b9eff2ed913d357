/*  html.c - HTML to text by walking libxml2's forgiving HTML tree (see html.h). */
#include "html.h"

#include <libxml/HTMLparser.h>
#include <libxml/tree.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "charset.h"

/* Deeper trees are cut: a hostile nesting cannot exhaust the stack of the walk. */
#define MAX_DEPTH 256

static const char *const skipped[] = {"script", "style", "head", "title", "template",
                                      "noscript", NULL};
/* Elements that stand apart by a blank line, and those that only start a new line. */
static const char *const paragraphs[] = {
    "p",     "table",   "ul",     "ol",     "dl",      "h1",   "h2",      "h3",
    "h4",    "h5",      "h6",     "blockquote", "pre", "hr",   "section", "article",
    "header", "footer", "address", "form",  "fieldset", "main", "nav",    "aside",
    "figure", NULL};
static const char *const lines[] = {"div", "tr", "li", "dt", "dd", "caption", "center",
                                    "body", NULL};

static bool named(const xmlNode *node, const char *const *names)
{
    for (size_t i = 0; names[i]; i++)
        if (strcasecmp((const char *)node->name, names[i]) == 0)
            return true;
    return false;
}

typedef struct {
    xmlBuffer *out;
    int breaks;         /* newlines wanted before the next word: 1 a line, 2 a paragraph */
    int trailing;       /* newlines at the end of out */
    bool space_pending; /* collapsed whitespace waiting for the next word */
    int pre;            /* inside <pre>: whitespace kept */
} walk_t;

static void want_break(walk_t *w, int n)
{
    if (n > w->breaks)
        w->breaks = n;
}

/* Writes s, after the breaks that are due (none at the very start). */
static void emit(walk_t *w, const char *s, size_t n)
{
    if (xmlBufferLength(w->out) > 0)
        for (; w->trailing < w->breaks; w->trailing++)
            xmlBufferAdd(w->out, (const xmlChar *)"\n", 1);
    if (w->breaks)
        w->space_pending = false;
    w->breaks = 0;
    if (w->space_pending && w->trailing == 0)
        xmlBufferAdd(w->out, (const xmlChar *)" ", 1);
    w->space_pending = false;
    xmlBufferAdd(w->out, (const xmlChar *)s, (int)n);
    for (size_t i = 0; i < n; i++)
        w->trailing = s[i] == '\n' ? w->trailing + 1 : 0;
}

static void text(walk_t *w, const char *s)
{
    for (const char *p = s; *p;) {
        if (w->pre) {
            size_t n = strcspn(p, "\r");
            if (n)
                emit(w, p, n);
            p += n;
            if (*p == '\r') {
                if (p[1] != '\n')
                    emit(w, "\n", 1);
                p++;
            }
            continue;
        }
        size_t blanks = strspn(p, " \t\n\r\f");
        if (blanks) {
            w->space_pending = true;
            p += blanks;
            continue;
        }
        size_t word = strcspn(p, " \t\n\r\f");
        emit(w, p, word);
        p += word;
    }
}

static void walk(walk_t *w, xmlNode *node, int depth)
{
    for (; node; node = node->next) {
        if (node->type == XML_TEXT_NODE || node->type == XML_CDATA_SECTION_NODE) {
            if (node->content)
                text(w, (const char *)node->content);
            continue;
        }
        if (node->type != XML_ELEMENT_NODE || !node->name || named(node, skipped))
            continue;
        const char *name = (const char *)node->name;
        if (strcasecmp(name, "br") == 0) {
            /* each <br> is a line, even an empty one */
            w->breaks = 0;
            emit(w, "\n", 1);
            continue;
        }
        int breaks = named(node, paragraphs) ? 2 : named(node, lines) ? 1 : 0;
        want_break(w, breaks);
        if (strcasecmp(name, "li") == 0)
            emit(w, "- ", 2);
        if (strcasecmp(name, "td") == 0 || strcasecmp(name, "th") == 0)
            w->space_pending = true;
        if (strcasecmp(name, "img") == 0) {
            xmlChar *alt = xmlGetProp(node, (const xmlChar *)"alt");
            if (alt && *alt)
                text(w, (const char *)alt);
            xmlFree(alt);
        }
        bool pre = strcasecmp(name, "pre") == 0;
        w->pre += pre;
        if (depth < MAX_DEPTH)
            walk(w, node->children, depth + 1);
        w->pre -= pre;
        if (strcasecmp(name, "a") == 0) {
            /* the address matters to staff (a link to a photo, a form): kept when the link
               text does not already show it */
            xmlChar *href = xmlGetProp(node, (const xmlChar *)"href");
            xmlChar *label = xmlNodeGetContent(node);
            if (href && strncasecmp((const char *)href, "http", 4) == 0 &&
                (!label || !strstr((const char *)label, (const char *)href))) {
                w->space_pending = true;
                emit(w, "<", 1);
                text(w, (const char *)href);
                emit(w, ">", 1);
            }
            xmlFree(href);
            xmlFree(label);
        }
        want_break(w, breaks);
    }
}

/* At most one blank line in a row, after email_text_clean made the lines tidy. */
static void squeeze_blank_lines(char *s)
{
    char *r = s, *w = s;
    int newlines = 0;
    for (; *r; r++) {
        newlines = *r == '\n' ? newlines + 1 : 0;
        if (newlines <= 2)
            *w++ = *r;
    }
    *w = '\0';
}

char *email_html_to_text(const char *html, size_t len)
{
    if (len > (size_t)INT32_MAX)
        len = INT32_MAX;
    xmlInitParser(); /* once per process; libxml2 makes repeated calls cheap */
    htmlDocPtr doc = htmlReadMemory(html, (int)len, NULL, "UTF-8",
                                    HTML_PARSE_RECOVER | HTML_PARSE_NOERROR |
                                        HTML_PARSE_NOWARNING | HTML_PARSE_NONET);
    walk_t w = {.out = xmlBufferCreate()};
    if (!w.out) {
        xmlFreeDoc(doc);
        return NULL;
    }
    if (doc)
        walk(&w, xmlDocGetRootElement(doc), 0);
    xmlFreeDoc(doc);
    const char *content = (const char *)xmlBufferContent(w.out);
    char *out = email_charset_repair(content ? content : "", (size_t)xmlBufferLength(w.out));
    xmlBufferFree(w.out);
    if (!out)
        return NULL;
    email_text_clean(out);
    squeeze_blank_lines(out);
    return out;
}
