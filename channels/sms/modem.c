/*  modem.c - the libGammu session. See modem.h; REFERENCE.md section 4 for the traps this
    works around (ERR_NONE is 1, callbacks reset by GSM_InitConnection, the dummy driver's
    unchecked send callback). */
#include "modem.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "aduan/clock.h"
#include "aduan/log.h"

#define CALLS_MAX 16
#define DIRECT_MAX 32
#define READ_CAP_FIRST 64

/* the device of the last open: one modem per process (as sms.c's cookies) */
static char last_device[1024];

struct sms_modem {
    GSM_StateMachine *sm;
    char imei[GSM_MAX_IMEI_LENGTH + 1];
    char device[1024];
    bool dummy;
    bool broken;               /* a call returned an error that means the link is gone */
    sms_modem_facts_t facts;
    /* what the callbacks recorded */
    int send_status;           /* -1 while waiting */
    int send_mr;
    char calls[CALLS_MAX][GSM_MAX_NUMBER_LENGTH * 3 + 1];
    int call_count;
    GSM_SMSMessage *direct;    /* DIRECT_MAX messages delivered without storage */
    int direct_count;
    bool new_sms;
};

static void on_send_status(GSM_StateMachine *sm, int status, int mr, void *user)
{
    (void)sm;
    sms_modem_t *self = user;
    self->send_status = status;
    self->send_mr = mr;
}

static void on_incoming_sms(GSM_StateMachine *sm, GSM_SMSMessage *sms, void *user)
{
    (void)sm;
    sms_modem_t *self = user;
    /* +CMTI names a location (read it in the next sweep); +CMT/+CDS hand over the message */
    if (sms->Location != 0 || sms->PDU == 0) {
        self->new_sms = true;
        return;
    }
    if (self->direct_count < DIRECT_MAX)
        self->direct[self->direct_count++] = *sms;
    else
        log_error("sms", "modem delivered more than %d messages directly before a poll;"
                         " one lost", DIRECT_MAX);
}

static void on_incoming_call(GSM_StateMachine *sm, GSM_Call *call, void *user)
{
    (void)sm;
    sms_modem_t *self = user;
    if (call->Status != GSM_CALL_IncomingCall || self->call_count >= CALLS_MAX)
        return;
    EncodeUTF8(self->calls[self->call_count++], call->PhoneNumber);
}

static bool is_link_error(GSM_Error e)
{
    switch (e) {
    case ERR_DEVICEOPENERROR:
    case ERR_DEVICELOCKED:
    case ERR_DEVICENOTEXIST:
    case ERR_DEVICEBUSY:
    case ERR_DEVICENOPERMISSION:
    case ERR_DEVICEWRITEERROR:
    case ERR_DEVICEREADERROR:
    case ERR_DEVICEPARITYERROR:
    case ERR_DEVICENODRIVER:
    case ERR_DEVICECHANGESPEEDERROR:
    case ERR_DEVICEDTRRTSERROR:
    case ERR_TIMEOUT:
    case ERR_NOTCONNECTED:
        return true;
    default:
        return false;
    }
}

sms_modem_t *sms_modem_open(const char *gammurc, int section, char *reason, size_t reasonlen)
{
    sms_modem_t *self = calloc(1, sizeof *self);
    if (self)
        self->direct = calloc(DIRECT_MAX, sizeof *self->direct);
    if (!self || !self->direct) {
        snprintf(reason, reasonlen, "out of memory");
        free(self);
        return NULL;
    }
    GSM_InitLocales(NULL);
    self->sm = GSM_AllocStateMachine();
    INI_Section *ini = NULL;
    GSM_Error e = GSM_FindGammuRC(&ini, gammurc);
    if (e != ERR_NONE) {
        snprintf(reason, reasonlen, "gammurc %s: %s", gammurc, GSM_ErrorString(e));
        goto fail;
    }
    GSM_Config *cfg = GSM_GetConfig(self->sm, 0);
    e = GSM_ReadConfig(ini, cfg, section);
    INI_Free(ini);
    if (e != ERR_NONE) {
        snprintf(reason, reasonlen, "gammurc %s section %d: %s", gammurc, section,
                 GSM_ErrorString(e));
        goto fail;
    }
    GSM_SetConfigNum(self->sm, 1);
    snprintf(self->device, sizeof self->device, "%s", cfg->Device ? cfg->Device : "");
    snprintf(last_device, sizeof last_device, "%s", self->device);
    self->dummy = strcasecmp(cfg->Model, "dummy") == 0;
    e = GSM_InitConnection(self->sm, 1);
    if (e != ERR_NONE) {
        snprintf(reason, reasonlen, "modem at %s: %s", self->device, GSM_ErrorString(e));
        goto fail;
    }
    /* after InitConnection, which resets them; the dummy calls the send one unchecked */
    GSM_SetSendSMSStatusCallback(self->sm, on_send_status, self);
    GSM_SetIncomingSMSCallback(self->sm, on_incoming_sms, self);
    GSM_SetIncomingCallCallback(self->sm, on_incoming_call, self);
    GSM_SetIncomingSMS(self->sm, TRUE);  /* not every modem can: errors are harmless */
    GSM_SetIncomingCall(self->sm, TRUE);
    if (GSM_GetIMEI(self->sm, self->imei) != ERR_NONE)
        self->imei[0] = '\0';
    if (GSM_GetModel(self->sm, self->facts.model) != ERR_NONE)
        self->facts.model[0] = '\0';
    self->facts.signal_percent = -1;
    sms_modem_refresh_facts(self);
    return self;
fail:
    GSM_FreeStateMachine(self->sm);
    free(self->direct);
    free(self);
    return NULL;
}

void sms_modem_close(sms_modem_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sms_modem_t *self = *self_p;
    if (GSM_IsConnected(self->sm))
        GSM_TerminateConnection(self->sm);
    GSM_FreeStateMachine(self->sm);
    free(self->direct);
    free(self);
    *self_p = NULL;
}

const char *sms_modem_imei(const sms_modem_t *self)
{
    return self->imei;
}

bool sms_modem_is_dummy(const sms_modem_t *self)
{
    return self->dummy;
}

bool sms_modem_lost(const sms_modem_t *self)
{
    if (self->broken || !GSM_IsConnected(self->sm))
        return true;
    /* a device named by a path (a tty, the dummy's folder) that vanished: unplugged */
    struct stat st;
    return self->device[0] == '/' && stat(self->device, &st) != 0;
}

bool sms_modem_device_present(void)
{
    struct stat st;
    return last_device[0] != '/' || stat(last_device, &st) == 0;
}

static GSM_Error note(sms_modem_t *self, GSM_Error e)
{
    if (is_link_error(e))
        self->broken = true;
    return e;
}

static int compare_ints(const void *a, const void *b)
{
    return (*(const int *)a > *(const int *)b) - (*(const int *)a < *(const int *)b);
}

/*  The dummy phone's inbox folders as they are on disk (sms/1 SIM, sms/3 phone; a file per
    part, named by its place): their places in order, as a list ending with 0 (caller
    frees). Its GetNextSMS tries to open all 9,999 places of all five folders, and parses
    every copy of what we sent (sms/4), on every sweep: the listing skips both. NULL when a
    folder cannot be read (the device is gone). */
static int *dummy_inbox_places(const sms_modem_t *self)
{
    static const int folders[] = {1, 3};
    size_t n = 0, cap = READ_CAP_FIRST;
    int *places = malloc(cap * sizeof *places);
    for (size_t f = 0; places && f < sizeof folders / sizeof folders[0]; f++) {
        char path[sizeof self->device + 16];
        snprintf(path, sizeof path, "%s/sms/%d", self->device, folders[f]);
        DIR *d = opendir(path);
        if (!d) {
            free(places);
            return NULL;
        }
        size_t first = n;
        for (struct dirent *de; (de = readdir(d));) {
            char *end;
            long place = strtol(de->d_name, &end, 10);
            if (*end || de->d_name[0] < '1' || de->d_name[0] > '9' || place > 9999)
                continue; /* ".", "..", temporary files, what the driver ignores */
            if (n + 2 > cap) {
                int *bigger = realloc(places, cap * 2 * sizeof *places);
                if (!bigger)
                    break;
                places = bigger;
                cap *= 2;
            }
            places[n++] = folders[f] * 10000 + (int)place;
        }
        closedir(d);
        qsort(places + first, n - first, sizeof *places, compare_ints);
    }
    if (places)
        places[n] = 0;
    return places;
}

int sms_modem_read(sms_modem_t *self, GSM_SMSMessage **parts, size_t *count, char *reason,
                   size_t reasonlen)
{
    *parts = NULL;
    *count = 0;
    GSM_MultiSMSMessage *sms = calloc(1, sizeof *sms); /* 260 KB */
    size_t cap = READ_CAP_FIRST;
    GSM_SMSMessage *out = malloc(cap * sizeof *out);
    int *places = NULL;
    if (self->dummy && !(places = dummy_inbox_places(self))) {
        free(sms);
        free(out);
        snprintf(reason, reasonlen, "reading messages: %s/sms: %s", self->device,
                 strerror(errno));
        self->broken = true;
        return -1;
    }
    if (!sms || !out) {
        free(sms);
        free(out);
        free(places);
        snprintf(reason, reasonlen, "out of memory");
        return -1;
    }
    /* sms->SMS[0].Location/Folder is the cursor of GetNext: never cleared between calls */
    size_t next = 0; /* the dummy: the next of its places */
    for (gboolean start = TRUE;; start = FALSE) {
        sms->Number = 0;
        GSM_Error e;
        if (places) {
            if (!places[next])
                break;
            sms->SMS[0].Folder = places[next] / 10000;
            sms->SMS[0].Location = places[next++] % 10000;
            e = note(self, GSM_GetSMS(self->sm, sms));
            if (e == ERR_EMPTY)
                continue; /* deleted since the listing */
        } else {
            e = note(self, GSM_GetNextSMS(self->sm, sms, start));
        }
        if (e == ERR_EMPTY)
            break;
        if (e == ERR_CORRUPTED)
            continue; /* a part the modem cannot give us now: read again next sweep */
        if (e != ERR_NONE) {
            snprintf(reason, reasonlen, "reading messages: %s", GSM_ErrorString(e));
            free(sms);
            free(out);
            free(places);
            return -1;
        }
        for (int i = 0; i < sms->Number; i++) {
            const GSM_SMSMessage *p = &sms->SMS[i];
            if (!p->InboxFolder || p->PDU == SMS_Submit)
                continue; /* outboxes, templates, our own copies */
            if (*count == cap) {
                GSM_SMSMessage *bigger = realloc(out, cap * 2 * sizeof *out);
                if (!bigger)
                    break;
                out = bigger;
                cap *= 2;
            }
            out[(*count)++] = *p;
        }
    }
    free(sms);
    free(places);
    *parts = out;
    return 0;
}

GSM_Error sms_modem_delete(sms_modem_t *self, int location)
{
    GSM_SMSMessage part;
    memset(&part, 0, sizeof part);
    /* the location from GetNextSMS is absolute (folder * 10000 + n on the dummy): pass it
       with folder 0, as gammu-smsd does */
    part.Folder = 0;
    part.Location = location;
    return note(self, GSM_DeleteSMS(self->sm, &part));
}

int sms_modem_memory_percent(sms_modem_t *self)
{
    GSM_SMSMemoryStatus st;
    memset(&st, 0, sizeof st);
    if (note(self, GSM_GetSMSStatus(self->sm, &st)) != ERR_NONE)
        return -1;
    int sim = st.SIMSize > 0 ? st.SIMUsed * 100 / st.SIMSize : 0;
    int phone = st.PhoneSize > 0 ? st.PhoneUsed * 100 / st.PhoneSize : 0;
    return sim > phone ? sim : phone;
}

int sms_modem_refresh_facts(sms_modem_t *self)
{
    GSM_SignalQuality sig;
    memset(&sig, 0, sizeof sig);
    if (note(self, GSM_GetSignalQuality(self->sm, &sig)) == ERR_NONE)
        self->facts.signal_percent = sig.SignalPercent;
    GSM_NetworkInfo net;
    memset(&net, 0, sizeof net);
    if (note(self, GSM_GetNetworkInfo(self->sm, &net)) != ERR_NONE)
        return -1;
    char name[sizeof net.NetworkName * 3 + 1];
    name[0] = '\0';
    EncodeUTF8(name, net.NetworkName);
    /* Clip on purpose: the operator's name only labels `aduanctl stats`. */
    snprintf(self->facts.network_name, sizeof self->facts.network_name, "%.*s",
             (int)sizeof self->facts.network_name - 1, name);
    snprintf(self->facts.network_code, sizeof self->facts.network_code, "%s", net.NetworkCode);
    return 0;
}

const sms_modem_facts_t *sms_modem_facts(const sms_modem_t *self)
{
    return &self->facts;
}

GSM_Error sms_modem_send(sms_modem_t *self, GSM_SMSMessage *part, int timeout_ms, int *mr,
                         int *network_status)
{
    *network_status = -1;
    part->SMSC.Location = 1; /* the modem's own SMSC */
    self->send_status = -1;
    GSM_Error e = note(self, GSM_SendSMS(self->sm, part));
    if (e != ERR_NONE)
        return e;
    int64_t until = aduan_monotonic_ms() + timeout_ms;
    while (self->send_status == -1 && aduan_monotonic_ms() < until && !self->broken)
        GSM_ReadDevice(self->sm, TRUE);
    if (self->send_status == -1)
        return ERR_TIMEOUT;
    if (self->send_status != 0) {
        *network_status = self->send_status;
        return ERR_UNKNOWN;
    }
    *mr = self->send_mr;
    return ERR_NONE;
}

GSM_Error sms_modem_save_sent(sms_modem_t *self, const GSM_SMSMessage *part)
{
    GSM_SMSMessage copy = *part;
    copy.Folder = 4; /* phone outbox */
    copy.Location = 0;
    copy.State = SMS_Sent;
    return GSM_AddSMS(self->sm, &copy);
}

void sms_modem_pump(sms_modem_t *self)
{
    GSM_ReadDevice(self->sm, FALSE);
}

bool sms_modem_take_call(sms_modem_t *self, char *out, size_t outlen)
{
    if (self->call_count == 0)
        return false;
    snprintf(out, outlen, "%s", self->calls[0]);
    memmove(self->calls[0], self->calls[1], sizeof self->calls[0] * (size_t)--self->call_count);
    return true;
}

bool sms_modem_take_direct(sms_modem_t *self, GSM_SMSMessage *out)
{
    if (self->direct_count == 0)
        return false;
    *out = self->direct[0];
    memmove(&self->direct[0], &self->direct[1], sizeof *out * (size_t)--self->direct_count);
    return true;
}

bool sms_modem_take_new_sms(sms_modem_t *self)
{
    bool v = self->new_sms;
    self->new_sms = false;
    return v;
}
