/*  mailworld.h - the mail world of tests/world/mailworld.sh, from a C test: bring it up
    (once per run, shared, left running), its facts (ports, CA files, password file), and
    what a mailbox holds, read with doveadm as the recipient's client would see it.
    Nothing here goes through a shell: arguments are passed as they are. */
#ifndef ADUAN_TEST_MAILWORLD_H
#define ADUAN_TEST_MAILWORLD_H

#include <stddef.h>

typedef struct {
    char dir[256];            /* $ADUAN_WORLD */
    char ca[320];             /* the CA that signed the servers' certificate */
    char wrong_ca[320];       /* a CA that signed nothing here */
    char password_file[320];  /* "password", mode 0600 */
    char dovecot_conf[320];
    int smtp_port;            /* 10025: relay for loopback, no AUTH */
    int submission_port;      /* 10587: STARTTLS + AUTH */
    int spare_smtp_port;      /* 10026: the instance a test may stop and start */
} mailworld_t;

#define MAILWORLD_SCRIPT ADUAN_SOURCE_DIR "/tests/world/mailworld.sh"

/* Brings the world up (quick when it is up) and fills w from `mailworld.sh env`. 0 or -1. */
int mailworld_up(mailworld_t *w);
/* Runs mailworld.sh with up to two arguments (arg2 may be NULL). Its exit code, or -1. */
int mailworld_run(const char *arg1, const char *arg2);
/* The messages in user's INBOX whose Message-ID is message_id (without <>), as doveadm
   prints them (LF line ends), joined; caller frees; "" when none, NULL on error. */
char *mailworld_fetch(const mailworld_t *w, const char *user, const char *message_id);
/* How many messages in user's INBOX have that Message-ID; -1 on error. */
int mailworld_count(const mailworld_t *w, const char *user, const char *message_id);
/* mailworld_fetch once it is not empty, polling for at most timeout_ms; NULL on timeout. */
char *mailworld_wait(const mailworld_t *w, const char *user, const char *message_id,
                     int timeout_ms);

#endif
