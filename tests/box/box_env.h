/*  box_env.h - what the box tests share: a daemon with the box channel on a scan folder
    of its own (and the SMS channel on Gammu's dummy phone, for replies by SMS), and
    waiting for what a clerk would look at: tickets, folders, the phone's outbox. */
#ifndef ADUAN_TEST_BOX_ENV_H
#define ADUAN_TEST_BOX_ENV_H

#include "harness.h"

#define BOX_WAIT_MS 60000 /* OCR on a busy shared machine: generous, it only waits when wrong */

typedef struct {
    h_env_t *env;
    char dir[64];          /* /tmp/aduan-box-XXXXXX */
    char scan[128], processed[128], quarantine[128], outgoing[128];
    char device[128];      /* the dummy phone */
    zsock_t *sub;
} box_env_t;

/* Folders, phone, configuration (extra appended to [box]); the daemon is not started. */
box_env_t *box_env_new(const char *extra_box_keys);
int box_env_setup(void **state);
int box_env_teardown(void **state);

/* The path of name in the scan folder (static buffer). */
const char *box_scan_path(box_env_t *b, const char *name);
/* Waits for a ticket.new event; its ticket (caller frees). */
char *box_wait_ticket(box_env_t *b);
/* Waits until folder holds a file whose name contains needle; its name (caller frees). */
char *box_wait_file(box_env_t *b, const char *folder, const char *needle);
/* Waits until the daemon's log says needle. */
void box_wait_log(box_env_t *b, const char *needle);
/* Waits until an SMS with text went to number; the texts sent (caller frees). */
char *box_wait_sms(box_env_t *b, const char *number, const char *text);
/* Files in a folder. */
int box_count(const char *folder);
/* pdftotext's text of a PDF (caller frees). */
char *box_pdftotext(box_env_t *b, const char *path);

#endif
