/*  mailbox.h - the email tests' side of the mail world (tests/world/mailworld.sh): a user
    of their own per test, messages put into a folder with doveadm, and what a folder holds
    afterwards, as the citizen's or the office's mail client would see it. */
#ifndef ADUAN_TEST_MAILBOX_H
#define ADUAN_TEST_MAILBOX_H

#include <stdbool.h>
#include <stddef.h>

typedef struct {
    char world[256];        /* $ADUAN_WORLD */
    char password_file[320];
    char ca[320];
    char wrong_ca[320];
    char dovecot_conf[320];
    char user[96];          /* t-...@test.local, made for this test */
    char local[64];         /* its local part: the account name in the registry */
} mailbox_t;

/* Brings the world up (once per run: quick when it is up) and makes a fresh user whose
   local part starts with tag. 0 or -1. */
int mailbox_setup(mailbox_t *mb, const char *tag);
/* Runs mailworld.sh with one argument (restart-dovecot, ...). Its exit code. */
int mailbox_world(const char *command);
/* Saves raw into folder (NULL: INBOX) of user (NULL: mb->user) with doveadm. 0 or -1. */
int mailbox_put(const mailbox_t *mb, const char *user, const char *folder, const void *raw,
                size_t len);
/*  Writes count messages straight into the user's Maildir (new/), the fast way to fill a
    mailbox (WORLD.md); message i is made by make(i, buf, buflen) returning its length.
    The first call for a user also saves a seed message ("Subject: seed", no sender) to
    make the Maildir; later calls add only their own. */
int mailbox_put_many(const mailbox_t *mb, int count,
                     size_t (*make)(int i, char *buf, size_t buflen));
/* Messages in folder; with_flag (e.g. "\\Seen") counts only those that have it. -1 on error. */
int mailbox_count(const mailbox_t *mb, const char *user, const char *folder,
                  const char *with_flag);
/* The bodies of folder's messages whose header field (e.g. "Subject") contains value,
   joined; caller frees; "" when none. */
char *mailbox_fetch_text(const mailbox_t *mb, const char *user, const char *folder,
                         const char *field, const char *value);

#endif
