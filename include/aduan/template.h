/*  template.h - the texts citizens and staff read, from files under conf/templates/<lang>/.

    A template file is UTF-8 text. An optional first line "Subject: ..." gives the subject
    (used by email); the text follows after it. Placeholders are {{name}}: letters, digits
    and '_'. A placeholder with no value given renders as empty and is logged at debug.
    Values are inserted as they are: never interpreted again.
*/
#ifndef ADUAN_TEMPLATE_H
#define ADUAN_TEMPLATE_H

#include <stddef.h>

typedef struct {
    const char *name;
    const char *value;
} aduan_template_var_t;

typedef struct {
    char *subject; /* may be empty, never NULL */
    char *text;
} aduan_rendered_t;

/*  Renders <dir>/<language>/<name>.txt, falling back to <dir>/id/<name>.txt when the
    language has no such file. vars is terminated by an entry with name NULL.
    Returns 0 and fills out (free with aduan_rendered_clear), or -1 with reason. */
int aduan_template_render(const char *dir, const char *language, const char *name,
                          const aduan_template_var_t *vars, aduan_rendered_t *out,
                          char *reason, size_t reasonlen);

/* Renders a template given as a string (the same rules, no Subject: line handling). */
char *aduan_template_expand(const char *tmpl, const aduan_template_var_t *vars);

void aduan_rendered_clear(aduan_rendered_t *out);

#endif
