/*  dsn.h - delivery status notifications (RFC 3464): what a bounce says (pure). */
#ifndef ADUAN_EMAIL_DSN_H
#define ADUAN_EMAIL_DSN_H

#include <stdbool.h>
#include <stddef.h>

typedef struct {
    char *text;      /* "Final-Recipient: ...\nAction: failed\nStatus: 5.1.1\n..." */
    bool failed;     /* some recipient has Action: failed */
    bool any_action; /* some recipient has an Action at all */
} email_dsn_t;

/*  Reads a message/delivery-status body: its per-recipient groups. Appends to out (which
    may hold an earlier part's). 0, or -1 when memory runs out. */
int email_dsn_parse(const char *body, size_t len, email_dsn_t *out);
void email_dsn_clear(email_dsn_t *dsn);

/*  The Message-ID (without <>) of a header block: a text/rfc822-headers part, or the
    headers a plain-text bounce quotes ("Message-ID: <...>" on a line of its own). NULL
    when there is none (caller frees). */
char *email_dsn_message_id(const char *text, size_t len);

#endif
