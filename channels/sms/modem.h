/*  modem.h - one libGammu session with the modem named by a gammurc: connect, read the
    inboxes, delete after the ACK, send, and the facts for status. Callbacks (send status,
    incoming SMS and calls) only record what happened; the channel picks it up in poll().
    One thread uses a modem; nothing here locks. */
#ifndef ADUAN_SMS_MODEM_H
#define ADUAN_SMS_MODEM_H

#include <gammu.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct sms_modem sms_modem_t;

/*  Connects (GSM_InitConnection) to section `section` of the gammurc. Returns the session
    (caller owns), or NULL with the reason. */
sms_modem_t *sms_modem_open(const char *gammurc, int section, char *reason, size_t reasonlen);
void sms_modem_close(sms_modem_t **self_p);

/* The IMEI, or "" when the modem does not tell it. */
const char *sms_modem_imei(const sms_modem_t *self);
/* Gammu's dummy phone: it keeps no copy of what it sends, so we save one (see .c). */
bool sms_modem_is_dummy(const sms_modem_t *self);

/*  True when the device is gone: its node or folder disappeared (a USB modem unplugged)
    or the connection broke. */
bool sms_modem_lost(const sms_modem_t *self);

/*  Whether the device the last open named (opened or not) exists: its node or folder is
    there. True when that is not known (no open yet, a device not named by a path). For
    noticing a modem plugged back in without opening it: a stat, nothing sent to it. */
bool sms_modem_device_present(void);

/*  Reads every part in the inbox folders (SIM and phone) into a new array (caller frees
    *parts). Returns 0, or -1 with the reason when the modem failed. */
int sms_modem_read(sms_modem_t *self, GSM_SMSMessage **parts, size_t *count, char *reason,
                   size_t reasonlen);

/* Deletes one part by the location GetNextSMS gave it. ERR_NONE, ERR_EMPTY (already gone)
   or an error. */
GSM_Error sms_modem_delete(sms_modem_t *self, int location);

/* Percent of the fuller of SIM and phone memory in use; -1 when the modem does not say. */
int sms_modem_memory_percent(sms_modem_t *self);

/* Reads signal and network into the status facts (sms_modem_facts). 0 or -1. */
int sms_modem_refresh_facts(sms_modem_t *self);
typedef struct {
    int signal_percent;      /* -1: unknown */
    char network_name[64];
    char network_code[16];
    char model[64];
} sms_modem_facts_t;
const sms_modem_facts_t *sms_modem_facts(const sms_modem_t *self);

/*  Sends one part and waits (up to timeout_ms) for the network's answer. On success returns
    ERR_NONE and the message reference in *mr. A refusal by the network returns
    ERR_UNKNOWN with its status code in *network_status (else -1). */
GSM_Error sms_modem_send(sms_modem_t *self, GSM_SMSMessage *part, int timeout_ms, int *mr,
                         int *network_status);

/* Stores a copy of a sent part in the phone's outbox folder. */
GSM_Error sms_modem_save_sent(sms_modem_t *self, const GSM_SMSMessage *part);

/* Lets libGammu read what the modem says unasked (incoming SMS and call events). */
void sms_modem_pump(sms_modem_t *self);

/* Takes the next incoming call's number recorded by the callback into out; false when none. */
bool sms_modem_take_call(sms_modem_t *self, char *out, size_t outlen);
/*  Takes the next message the modem delivered directly (not stored in a memory, so it
    cannot be read again): the caller must keep it durably at once. False when none. */
bool sms_modem_take_direct(sms_modem_t *self, GSM_SMSMessage *out);
/* True once since the last call when the modem announced a new stored message. */
bool sms_modem_take_new_sms(sms_modem_t *self);

#endif
