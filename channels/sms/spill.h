/*  spill.h - the SMS channel's own durable files, all in one folder (sms.spill_dir):

      <n>.sms          a received message moved off a full modem while the core was away,
                       in Gammu's SMS backup format (all its parts); removed after the ACK
      reports/<id>     the message references of outbox row <id> still waiting for a
                       delivery report, so a report after a restart still matches
      calls.csv        incoming voice calls, one Asterisk Master.csv line each

    Every write is durable before the function returns: write, fsync, rename, fsync of the
    folder. */
#ifndef ADUAN_SMS_SPILL_H
#define ADUAN_SMS_SPILL_H

#include <gammu.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Creates the folder and reports/ under it. 0 or -1 (errno set). */
int sms_spill_init(const char *dir);

/*  Writes the parts of one message as a new spill file; its path goes to path_out.
    0 or -1 (nothing left behind then). */
int sms_spill_save(const char *dir, const GSM_MultiSMSMessage *m, char *path_out,
                   size_t path_len);

/* Reads a spill file back into m. 0 or -1. */
int sms_spill_load(const char *path, GSM_MultiSMSMessage *m);

/*  The spill files, oldest first, as a NULL-terminated array of paths (caller frees with
    sms_spill_list_free); NULL when the folder cannot be read. */
char **sms_spill_list(const char *dir);
void sms_spill_list_free(char ***list_p);
/* How many spill files wait. */
size_t sms_spill_count(const char *dir);
/* Removes a spill file durably (after the ACK). 0 or -1. */
int sms_spill_remove(const char *path);

/*  Remembers the message references of an outbox row, and its recipient (E.164), until
    their reports come. 0 or -1. */
int sms_reports_put(const char *dir, uint64_t outbox_id, const int *refs, int count,
                    const char *recipient);
/*  Finds the oldest outbox row that sent message reference ref to recipient (the number a
    report names; NULL: any) and forgets that reference, or the whole row when final is true
    (a failed part ends it). References are one byte and every recipient's messages share
    them (a dummy phone gives each part 255): the recipient keeps a report for the citizen
    from confirming a staff notice. Returns 1 with *outbox_id and *remaining (references of
    the row still waiting), 0 when no row has it, -1 on error. */
int sms_reports_take(const char *dir, int ref, const char *recipient, bool final,
                     uint64_t *outbox_id, int *remaining);

/*  Appends a line in Asterisk's Master.csv layout for an incoming call to calls.csv and
    fsyncs it. accountcode and dst are ours; src is the caller. 0 or -1. */
int sms_calls_append(const char *dir, const char *account, const char *caller,
                     int64_t at_ms);

#endif
