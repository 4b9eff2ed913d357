/*  phone.h - Gammu's dummy phone for the SMS tests: its gammurc, messages injected into its
    inbox folders as SMS backup files (as Gammu's own test suite does, written with
    libGammu's own backup writer), and what was sent read back from its folders. */
#ifndef ADUAN_TEST_SMS_PHONE_H
#define ADUAN_TEST_SMS_PHONE_H

#include <gammu.h>
#include <stdbool.h>
#include <stddef.h>

#define PHONE_SIM_INBOX 1
#define PHONE_SIM_OUTBOX 2
#define PHONE_INBOX 3
#define PHONE_OUTBOX 4

/*  Fills one received part: sender, UTF-8 text (as UCS-2 when unicode, else GSM 7-bit),
    the SMSC timestamp "YYYYMMDDTHHMMSS" (NULL: now), and concatenation (total 0: none). */
void phone_make_part(GSM_SMSMessage *sms, const char *from, const char *text, bool unicode,
                     const char *when, int ref, int seq, int total);

/* Writes one part into <device>/sms/<folder>/<first free n> (temp file, then rename).
   Returns the location n, or -1. */
int phone_put(const char *device, int folder, const GSM_SMSMessage *sms);

/*  Injects a whole text the way a phone would send it: libGammu's encoder splits it
    (UCS-2 when needed, concatenated when long). Returns the number of parts, or -1. */
int phone_inject(const char *device, int folder, const char *from, const char *text,
                 const char *when);

/* Files in <device>/sms/<folder>. */
int phone_count(const char *device, int folder);

/*  The texts (UTF-8) of the messages in the folder (to or from number; NULL: all), joined
    with "\n---\n", parts of one message in order as stored (caller frees); "" for none. */
char *phone_texts(const char *device, int folder, const char *number);

/* Writes <dir>/gammurc for a dummy phone at device. Returns 0 or -1. */
int phone_write_gammurc(const char *path, const char *device);

/*  A new dummy phone: the folder device with its sms/1..5 (the driver makes them only
    when the channel opens it, and a test writes into them before), and gammurc naming it.
    Returns 0 or -1. */
int phone_make(const char *device, const char *gammurc);

#endif
