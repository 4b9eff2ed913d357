/*  imap.h - the mailbox the complaints arrive in, as one libetpan IMAP session.

    Connect (TLS implicit or STARTTLS, the certificate verified; plaintext only to a
    loopback address), log in, make the processed folder if it is missing, select the
    mailbox; then new UIDs, their sizes and bodies in batches, IDLE, and filing what was
    registered (\Seen, then MOVE or COPY + \Deleted + UID EXPUNGE).

    Every function returns 0 or -1; after -1 the session is unusable (email_imap_error
    says why) and is destroyed: the channel connects again.
*/
#ifndef ADUAN_EMAIL_IMAP_H
#define ADUAN_EMAIL_IMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aduan/config.h"

typedef struct email_imap email_imap_t;

typedef struct {
    uint32_t uid;
    uint32_t size;        /* RFC822.SIZE */
    unsigned char *data;  /* the message (or its header only), NUL-terminated; caller frees */
    size_t len;
} email_fetched_t;

/*  Opens the session for config->email. NULL with a reason that never holds the
    password. The password file must be mode 0600 or tighter. */
email_imap_t *email_imap_connect(const aduan_config_t *config, char *reason, size_t reasonlen);
void email_imap_destroy(email_imap_t **self_p);

const char *email_imap_error(const email_imap_t *self);
uint32_t email_imap_uidvalidity(const email_imap_t *self);
bool email_imap_has_idle(const email_imap_t *self);
bool email_imap_has_move(const email_imap_t *self);
/* The folder as the server names it (its hierarchy delimiter in place of '/'). */
const char *email_imap_processed_folder(const email_imap_t *self);

/* UIDs above after_uid, ascending; *uids caller frees. */
int email_imap_new_uids(email_imap_t *self, uint32_t after_uid, uint32_t **uids, size_t *count);

/*  UID FETCH of uids[0..count): with bodies, (UID BODY.PEEK[]), else (UID RFC822.SIZE);
    header_only fetches BODY.PEEK[HEADER] instead of the whole message. *items (caller
    frees each data and the array) in the server's order; a UID that is gone is absent. */
int email_imap_fetch(email_imap_t *self, const uint32_t *uids, size_t count, bool bodies,
                     bool header_only, email_fetched_t **items, size_t *item_count);
void email_imap_fetched_free(email_fetched_t **items, size_t count);

/* \Seen, then moved to the processed folder. */
int email_imap_file(email_imap_t *self, const uint32_t *uids, size_t count);

/*  IDLE: start it, its descriptor to wait on, whether a response is already buffered
    (then do not wait), and done (which reads what the server said meanwhile). */
int email_imap_idle_start(email_imap_t *self);
int email_imap_idle_fd(const email_imap_t *self);
bool email_imap_idle_buffered(const email_imap_t *self);
int email_imap_idle_done(email_imap_t *self);

#endif
