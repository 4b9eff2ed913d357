/*  template.h - the texts citizens and staff read, from files under conf/templates/<lang>/.

    A template file is UTF-8 text (a leading byte-order mark is skipped, CRLF line ends
    are read as LF), at most ADUAN_TEMPLATE_MAX bytes. An optional first line
    "Subject: ..." gives the subject (used by email); the text follows after it (one
    empty line right after the Subject: line is skipped, as in a mail). One trailing
    newline at the end of the file is dropped.

    Placeholders are {{name}}: letters, digits and '_', spaces allowed inside the braces
    ("{{ ticket }}"). A placeholder with no value given renders as empty and is logged at
    debug. Anything else starting with "{{" is copied as it is. Values are inserted as
    they are: never interpreted again (a value "{{ticket}}" stays "{{ticket}}").
    In the subject, control characters coming from values (CR, LF, ...) become spaces,
    so a rendered subject is always one line.
*/
#ifndef ADUAN_TEMPLATE_H
#define ADUAN_TEMPLATE_H

#include <stddef.h>

#define ADUAN_TEMPLATE_MAX (64 * 1024)

typedef struct {
    const char *name;
    const char *value; /* NULL renders as empty */
} aduan_template_var_t;

typedef struct {
    char *subject; /* may be empty, never NULL */
    char *text;
} aduan_rendered_t;

/*  Renders <dir>/<language>/<name>.txt, falling back to <dir>/id/<name>.txt when the
    language has no such file (only when it does not exist: a file that exists but cannot
    be read is an error). language NULL or "" means "id".
    name must be [a-z0-9_]+ and language [a-z0-9_-]+ (at most 64 characters each), or
    -1 with errno EINVAL: no path can be smuggled in.
    vars is terminated by an entry with name NULL; NULL means none.
    Returns 0 and fills out (free with aduan_rendered_clear), or -1 with errno
    (ENOENT: neither file exists; EFBIG: too large; EILSEQ: not UTF-8 or holds a NUL;
    ENOMEM; or what open/read said) and reason naming the file. reason may be NULL.
    On failure out is left empty (both pointers NULL). */
int aduan_template_render(const char *dir, const char *language, const char *name,
                          const aduan_template_var_t *vars, aduan_rendered_t *out,
                          char *reason, size_t reasonlen);

/*  Renders a template given as a string (the same rules, no Subject: line handling).
    Returns a new string the caller frees, or NULL (errno ENOMEM, or EINVAL for NULL). */
char *aduan_template_expand(const char *tmpl, const aduan_template_var_t *vars);

/* Frees both strings and sets them to NULL; safe on a cleared or failed result. */
void aduan_rendered_clear(aduan_rendered_t *out);

#endif
