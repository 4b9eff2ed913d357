/*  sms.c - the SMS channel: the table of functions the runner calls (adapter.h) and the
    loop glue between the modem (modem.c), the translation (translate.c) and the spill
    queue (spill.c).

    One poll: notice a lost modem (the runner reconnects with backoff); take what the
    modem announced (calls, directly delivered messages); drain the spill queue while the
    core answers; sweep the inboxes: group parts, wait for missing ones, match delivery
    reports, submit (or spill when the core is away and the memory fills); send what waits,
    at the configured rate. The source is touched only in answered(), after the ACK. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aduan/adapter.h"
#include "aduan/clock.h"
#include "aduan/log.h"
#include "modem.h"
#include "spill.h"
#include "translate.h"

#define SEND_TIMEOUT_MS 30000
#define FACTS_EVERY_MS 30000
#define DRAIN_PER_POLL 64
#define RATE_WINDOW_MS 60000
/* sending gives the bus (ACKs, DELIVERs) a turn after this long */
#define SEND_SLICE_MS 200
/* just opened, the core not heard yet: the first sweep waits this long for its HELLO */
#define HELLO_GRACE_MS 1000

typedef struct {
    uint64_t seq;        /* the cookie */
    char *mark;          /* "L<location>" or "S<spill path>": not submitted twice */
    int locations[GSM_MAX_MULTI_SMS];
    int location_count;
    char *spill_path;
    char from_masked[ADUAN_MASK_MAX];
} item_t;

typedef struct {
    uint64_t outbox_id;
    char *to;
    char *text;
    char *ticket;
} outgoing_t;

typedef struct {
    aduan_adapter_t *adapter;
    const aduan_config_t *config;
    sms_modem_t *modem;
    sms_translate_opts_t opts;
    char identity[GSM_MAX_IMEI_LENGTH + 130];
    char spill_dir[4096];
    zhashx_t *items;       /* seq -> item_t, submitted and not yet answered */
    zhashx_t *marks;       /* item marks in flight, and those the core refused for good */
    zhashx_t *first_seen;  /* group key -> monotonic ms when its first part was seen */
    zlistx_t *outgoing;    /* outgoing_t, oldest first */
    int64_t *sent_at;      /* monotonic ms of the parts sent in the last minute (a ring) */
    size_t sent_head, sent_count, sent_cap;
    int64_t next_sweep, next_facts;
    int64_t opened_at;     /* monotonic ms */
    size_t parts_waiting;
    char last_error[256];
    GSM_MultiSMSMessage *scratch; /* 260 KB, reused for each message */
} sms_t;

/* Cookies are numbers, never pointers: an answer can come after the modem was closed and
   opened again, for an item of a state that no longer exists. One SMS adapter per process. */
static uint64_t next_seq = 1;

static void item_free(item_t **item_p)
{
    if (!*item_p)
        return;
    free((*item_p)->mark);
    free((*item_p)->spill_path);
    free(*item_p);
    *item_p = NULL;
}

static void item_destructor(void **item)
{
    item_free((item_t **)item);
}

static void outgoing_destructor(void **item)
{
    outgoing_t *o = *item;
    free(o->to);
    free(o->text);
    free(o->ticket);
    free(o);
    *item = NULL;
}

static void set_error(sms_t *self, const char *what)
{
    snprintf(self->last_error, sizeof self->last_error, "%s", what);
}

/* ---- open and close --------------------------------------------------------------------- */

static void sms_close(void *state);

static void *sms_open(const aduan_config_t *config, aduan_adapter_t *adapter, char *reason,
                      size_t reasonlen)
{
    sms_t *self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(reason, reasonlen, "out of memory");
        return NULL;
    }
    self->adapter = adapter;
    self->config = config;
    if (config->sms.spill_dir && *config->sms.spill_dir)
        snprintf(self->spill_dir, sizeof self->spill_dir, "%s", config->sms.spill_dir);
    else
        snprintf(self->spill_dir, sizeof self->spill_dir, "%s/sms-spill", config->core.state_dir);
    if (sms_spill_init(self->spill_dir) != 0) {
        snprintf(reason, reasonlen, "spill folder %s: %s", self->spill_dir, strerror(errno));
        free(self);
        return NULL;
    }
    self->modem = sms_modem_open(config->sms.gammurc, (int)config->sms.gammu_section, reason,
                                 reasonlen);
    if (!self->modem) {
        free(self);
        return NULL;
    }
    const char *imei = sms_modem_imei(self->modem);
    snprintf(self->identity, sizeof self->identity, "%s", *imei ? imei : config->sms.account);
    self->opts = (sms_translate_opts_t){.identity = self->identity,
                                        .status_keywords = config->sms.status_keywords,
                                        .ticket_prefix = config->core.ticket_prefix};
    self->items = zhashx_new();
    zhashx_set_destructor(self->items, item_destructor);
    self->marks = zhashx_new();
    self->first_seen = zhashx_new();
    zhashx_set_destructor(self->first_seen, (zhashx_destructor_fn *)zstr_free);
    self->outgoing = zlistx_new();
    zlistx_set_destructor(self->outgoing, outgoing_destructor);
    self->sent_cap = (size_t)config->sms.send_per_minute;
    self->sent_at = calloc(self->sent_cap, sizeof *self->sent_at);
    self->scratch = calloc(1, sizeof *self->scratch);
    if (!self->items || !self->marks || !self->first_seen || !self->outgoing ||
        !self->sent_at || !self->scratch) {
        snprintf(reason, reasonlen, "out of memory");
        sms_close(self);
        return NULL;
    }
    self->opened_at = aduan_monotonic_ms();
    log_info("sms", "modem connected identity=%s model=%s spill=%s", self->identity,
             sms_modem_facts(self->modem)->model, self->spill_dir);
    return self;
}

static void sms_close(void *state)
{
    sms_t *self = state;
    if (!self)
        return;
    if (self->outgoing && zlistx_size(self->outgoing)) {
        log_info("sms", "closing with %zu messages not sent (the core sends them again)",
                 zlistx_size(self->outgoing));
        /* told now, they go again once the modem is back; untold, each waited for the
           core's deliver_timeout_s and its backoff on top */
        for (outgoing_t *o = zlistx_first(self->outgoing); o; o = zlistx_next(self->outgoing))
            aduan_adapter_result(self->adapter, o->outbox_id, "temporary", NULL,
                                 "the modem went away before it was sent");
    }
    sms_modem_close(&self->modem);
    zhashx_destroy(&self->items);
    zhashx_destroy(&self->marks);
    zhashx_destroy(&self->first_seen);
    zlistx_destroy(&self->outgoing);
    free(self->sent_at);
    free(self->scratch);
    free(self);
}

/* ---- receiving -------------------------------------------------------------------------- */

static bool marked(sms_t *self, const char *mark)
{
    return zhashx_lookup(self->marks, mark) != NULL;
}

/*  Submits one message: an item remembers where it came from, so that answered() can
    delete it from the modem or the spill queue. */
static void submit(sms_t *self, aduan_msg_t **intake_p, const GSM_MultiSMSMessage *m,
                   const char *mark, const char *spill_path)
{
    aduan_msg_t *in = *intake_p;
    item_t *item = calloc(1, sizeof *item);
    if (!item || !(item->mark = strdup(mark)) ||
        (spill_path && !(item->spill_path = strdup(spill_path)))) {
        item_free(&item);
        aduan_msg_destroy(intake_p);
        return;
    }
    item->seq = next_seq++;
    for (int i = 0; !spill_path && i < m->Number; i++)
        item->locations[item->location_count++] = m->SMS[i].Location;
    aduan_mask_phone(in->intake.from_addr, item->from_masked, sizeof item->from_masked);
    if (in->intake.flags & ADUAN_INTAKE_AUTOMATIC)
        log_info("sms", "not a citizen: automatic sender from=%s parts=%d, no reply",
                 item->from_masked, m->Number);
    if (in->intake.quarantine_reason)
        log_warn("sms", "message from=%s goes to the quarantine: %s", item->from_masked,
                 in->intake.quarantine_reason);
    char seq[32];
    snprintf(seq, sizeof seq, "%" PRIu64, item->seq);
    zhashx_insert(self->marks, mark, (void *)"flight");
    zhashx_insert(self->items, seq, item);
    if (aduan_adapter_submit(self->adapter, intake_p, (void *)(uintptr_t)item->seq) != 0) {
        zhashx_delete(self->marks, mark);
        zhashx_delete(self->items, seq);
    }
}

/*  A delivery report for something we sent: the outbox row gets its RESULT and the report
    leaves the modem at once (it is no citizen's message). False when it matches nothing. */
static bool take_report(sms_t *self, const GSM_SMSMessage *part)
{
    const char *outcome = sms_report_part_outcome(part);
    uint64_t outbox_id = 0;
    int remaining = 0, rc = 0;
    if (outcome) {
        /* the recipient the report names, in the form the map keeps (send_one's) */
        char number[GSM_MAX_NUMBER_LENGTH * 3 + 1], to[SMS_KEY_MAX];
        EncodeUTF8(number, part->Number);
        bool known = sms_e164(number, to, sizeof to) == 0;
        rc = sms_reports_take(self->spill_dir, part->MessageReference, known ? to : NULL,
                              strcmp(outcome, "permanent") == 0, &outbox_id, &remaining);
        if (rc == 0)
            return false;
        if (rc < 0) {
            set_error(self, "cannot update the delivery report map");
            return true; /* keep the report on the modem: read again next sweep */
        }
        if (strcmp(outcome, "permanent") == 0 || remaining == 0) {
            char detail[64];
            snprintf(detail, sizeof detail, "delivery report status 0x%02X",
                     (unsigned)part->DeliveryStatus);
            aduan_adapter_result(self->adapter, outbox_id, outcome, NULL, detail);
            log_info("sms", "delivery report outbox=%" PRIu64 " mr=%u %s", outbox_id,
                     (unsigned)part->MessageReference, outcome);
        }
    }
    sms_modem_delete(self->modem, part->Location);
    return true;
}

/* Moves a message off the modem into the spill queue (durably first). */
static void spill(sms_t *self, const GSM_MultiSMSMessage *m)
{
    char path[4096];
    if (sms_spill_save(self->spill_dir, m, path, sizeof path) != 0) {
        set_error(self, "cannot write to the spill queue");
        log_error("sms", "cannot spill to %s: %s", self->spill_dir, strerror(errno));
        return;
    }
    for (int i = 0; i < m->Number; i++)
        sms_modem_delete(self->modem, m->SMS[i].Location);
    log_info("sms", "core away and modem memory full: spilled parts=%d to %s", m->Number,
             path);
}

/* One group of parts read from the modem: wait, report, submit or spill. */
static void take_group(sms_t *self, GSM_SMSMessage *parts, size_t n, bool core_up,
                       bool memory_full, int64_t now, zhashx_t *seen)
{
    GSM_MultiSMSMessage *m = self->scratch;
    m->Number = 0;
    for (size_t i = 0; i < n && m->Number < GSM_MAX_MULTI_SMS; i++)
        m->SMS[m->Number++] = parts[i];
    sms_sort_parts(m);
    if (m->Number == 1 && m->SMS[0].PDU == SMS_Status_Report && take_report(self, &m->SMS[0]))
        return;

    char mark[32];
    snprintf(mark, sizeof mark, "L%d", m->SMS[0].Location);
    if (marked(self, mark))
        return;
    if (!sms_is_complete(m)) {
        char group[SMS_KEY_MAX];
        sms_group_key(&m->SMS[0], group, sizeof group);
        zhashx_insert(seen, group, (void *)"seen");
        char *first = zhashx_lookup(self->first_seen, group);
        if (!first) {
            char when[24];
            snprintf(when, sizeof when, "%" PRId64, now);
            zhashx_insert(self->first_seen, group, strdup(when));
            first = zhashx_lookup(self->first_seen, group);
        }
        if (now - strtoll(first, NULL, 10) < self->config->sms.multipart_wait_s * 1000) {
            self->parts_waiting += (size_t)m->Number;
            return;
        }
    }
    if (!core_up) {
        if (memory_full)
            spill(self, m);
        return;
    }
    aduan_msg_t *in = sms_translate(m, &self->opts);
    if (!in)
        return;
    if (in->intake.flags & ADUAN_INTAKE_INCOMPLETE) {
        char from[ADUAN_MASK_MAX];
        log_warn("sms", "parts missing after %llds: registering from=%s parts=%d as incomplete",
                 (long long)self->config->sms.multipart_wait_s,
                 aduan_mask_phone(in->intake.from_addr, from, sizeof from), m->Number);
    }
    submit(self, &in, m, mark, NULL);
}

static int compare_keys(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Reads the inboxes and takes each message. -1 when the modem failed. */
static int sweep(sms_t *self, int64_t now)
{
    GSM_SMSMessage *parts = NULL;
    size_t count = 0;
    char reason[256];
    if (sms_modem_read(self->modem, &parts, &count, reason, sizeof reason) != 0) {
        set_error(self, reason);
        log_warn("sms", "%s", reason);
        return -1;
    }
    bool core_up = aduan_adapter_core_up(self->adapter);
    log_debug("sms", "sweep parts=%zu core=%s", count, core_up ? "up" : "away");
    bool memory_full = false;
    if (!core_up && count > 0) {
        int percent = sms_modem_memory_percent(self->modem);
        memory_full = percent >= self->config->sms.spill_percent;
    }
    /* order the parts by their group, so each message is one run */
    char **keys = calloc(count + 1, sizeof *keys);
    GSM_SMSMessage *sorted = malloc((count + 1) * sizeof *sorted);
    zhashx_t *seen = zhashx_new();
    for (size_t i = 0; keys && i < count; i++) {
        char key[SMS_KEY_MAX + 16];
        sms_group_key(&parts[i], key, sizeof key);
        /* the index after the key keeps the modem's order within a group */
        if (asprintf(&keys[i], "%s\x01%08zu", key, i) < 0)
            keys[i] = NULL;
    }
    self->parts_waiting = 0;
    if (keys && sorted && seen) {
        size_t valid = 0;
        for (size_t i = 0; i < count; i++)
            if (keys[i])
                keys[valid++] = keys[i];
        qsort(keys, valid, sizeof *keys, compare_keys);
        for (size_t i = 0; i < valid && !aduan_adapter_stopping(self->adapter);) {
            size_t group_len = strchr(keys[i], '\x01') - keys[i], n = 0, j = i;
            for (; j < valid && strncmp(keys[j], keys[i], group_len + 1) == 0; j++)
                sorted[n++] = parts[strtoul(strchr(keys[j], '\x01') + 1, NULL, 10)];
            take_group(self, sorted, n, core_up, memory_full, now, seen);
            i = j;
        }
        for (size_t i = 0; i < valid; i++)
            free(keys[i]);
        /* forget the waits of groups that left the modem */
        for (char *v = zhashx_first(self->first_seen); v; v = zhashx_next(self->first_seen)) {
            const char *group = zhashx_cursor(self->first_seen);
            if (!zhashx_lookup(seen, group)) {
                zhashx_delete(self->first_seen, group);
                break; /* the cursor is gone: the rest next sweep */
            }
        }
    }
    zhashx_destroy(&seen);
    free(keys);
    free(sorted);
    free(parts);
    return 0;
}

/* Sends spilled messages to the core, oldest first. */
static void drain_spill(sms_t *self)
{
    char **list = sms_spill_list(self->spill_dir);
    int taken = 0;
    for (char **p = list; p && *p && taken < DRAIN_PER_POLL; p++) {
        char mark[4200];
        snprintf(mark, sizeof mark, "S%s", *p);
        if (marked(self, mark))
            continue;
        if (sms_spill_load(*p, self->scratch) != 0) {
            log_error("sms", "spill file %s cannot be read; left there for an operator", *p);
            zhashx_insert(self->marks, mark, (void *)"unreadable");
            continue;
        }
        sms_sort_parts(self->scratch);
        aduan_msg_t *in = sms_translate(self->scratch, &self->opts);
        if (!in)
            break;
        submit(self, &in, self->scratch, mark, *p);
        taken++;
    }
    sms_spill_list_free(&list);
}

/* ---- what the modem said unasked -------------------------------------------------------- */

/* A modem reports a ringing call at every ring (RING, +CLIP): a call is one line of
   calls.csv, so the same number again within this is the same call. */
#define RING_REPEAT_MS 30000

static void take_events(sms_t *self)
{
    static char last_caller[SMS_KEY_MAX];
    static int64_t last_ring_at;
    sms_modem_pump(self->modem);
    char number[64];
    while (sms_modem_take_call(self->modem, number, sizeof number)) {
        char e164[SMS_KEY_MAX], masked[ADUAN_MASK_MAX];
        sms_e164(number, e164, sizeof e164);
        for (char *c = e164; *c; c++) /* a CSV field: nothing that could end the quotes */
            if (!isalnum((unsigned char)*c) && *c != '+')
                *c = '_';
        int64_t ring_at = aduan_monotonic_ms();
        bool same_call = strcmp(e164, last_caller) == 0 && ring_at - last_ring_at < RING_REPEAT_MS;
        snprintf(last_caller, sizeof last_caller, "%s", e164);
        last_ring_at = ring_at;
        if (same_call)
            continue;
        int rc = sms_calls_append(self->spill_dir, self->identity, e164,
                                  aduan_clock_now_ms(NULL));
        log_info("sms", "incoming call from=%s %s", aduan_mask_phone(e164, masked, sizeof masked),
                 rc == 0 ? "recorded in calls.csv" : "could not be recorded");
    }
    GSM_SMSMessage direct;
    while (sms_modem_take_direct(self->modem, &direct)) {
        /* not stored on the modem: it exists only here until the spill file is written */
        self->scratch->Number = 1;
        self->scratch->SMS[0] = direct;
        char path[4096];
        if (sms_spill_save(self->spill_dir, self->scratch, path, sizeof path) != 0)
            log_error("sms", "a message the modem delivered directly could not be kept: %s",
                      strerror(errno));
    }
}

/* ---- sending ---------------------------------------------------------------------------- */

static int64_t rate_wait_ms(sms_t *self, int64_t now)
{
    while (self->sent_count > 0 && now - self->sent_at[self->sent_head] >= RATE_WINDOW_MS) {
        self->sent_head = (self->sent_head + 1) % self->sent_cap;
        self->sent_count--;
    }
    if (self->sent_count < self->sent_cap)
        return 0;
    return self->sent_at[self->sent_head] + RATE_WINDOW_MS - now;
}

static void rate_note(sms_t *self, int64_t now)
{
    if (self->sent_count == self->sent_cap) {
        self->sent_head = (self->sent_head + 1) % self->sent_cap;
        self->sent_count--;
    }
    self->sent_at[(self->sent_head + self->sent_count++) % self->sent_cap] = now;
}

static void send_one(sms_t *self, const outgoing_t *o)
{
    char to[SMS_KEY_MAX], masked[ADUAN_MASK_MAX], reason[256];
    const char *ticket = o->ticket ? o->ticket : "-";
    if (sms_e164(o->to, to, sizeof to) != 0) {
        aduan_adapter_result(self->adapter, o->outbox_id, "permanent", NULL,
                             "not a phone number");
        log_warn("sms", "%s outbox=%" PRIu64 " not sent: not a phone number", ticket,
                 o->outbox_id);
        return;
    }
    aduan_mask_phone(to, masked, sizeof masked);
    GSM_MultiSMSMessage *m = self->scratch;
    bool unicode = false;
    if (sms_encode_outgoing(o->text, m, &unicode, reason, sizeof reason) != 0) {
        aduan_adapter_result(self->adapter, o->outbox_id, "permanent", NULL, reason);
        log_warn("sms", "%s outbox=%" PRIu64 " to=%s not sent: %s", ticket, o->outbox_id,
                 masked, reason);
        return;
    }
    int refs[GSM_MAX_MULTI_SMS];
    char provider[GSM_MAX_MULTI_SMS * 4 + 1] = "";
    size_t used = 0;
    for (int i = 0; i < m->Number; i++) {
        GSM_SMSMessage *part = &m->SMS[i];
        EncodeUnicode(part->Number, to, strlen(to));
        /* a Status_Report PDU on submit asks the network for a delivery report */
        part->PDU = self->config->sms.delivery_reports ? SMS_Status_Report : SMS_Submit;
        int network_status = -1, mr = 0;
        GSM_Error e = sms_modem_send(self->modem, part, SEND_TIMEOUT_MS, &mr, &network_status);
        rate_note(self, aduan_monotonic_ms());
        if (e != ERR_NONE) {
            const char *status = sms_send_failure(e, network_status);
            if (network_status >= 0)
                snprintf(reason, sizeof reason, "part %d of %d: network refused (%d)", i + 1,
                         m->Number, network_status);
            else
                snprintf(reason, sizeof reason, "part %d of %d: %s", i + 1, m->Number,
                         GSM_ErrorString(e));
            set_error(self, reason);
            aduan_adapter_result(self->adapter, o->outbox_id, status, NULL, reason);
            log_warn("sms", "%s outbox=%" PRIu64 " to=%s %s: %s", ticket, o->outbox_id, masked,
                     status, reason);
            return;
        }
        refs[i] = mr;
        used += (size_t)snprintf(provider + used, sizeof provider - used, "%s%d", i ? "," : "",
                                 mr);
        if (sms_modem_is_dummy(self->modem)) {
            /* the dummy phone keeps nothing of what it sends: a copy in its outbox is
               what the tests and the demo read */
            part->PDU = SMS_Submit;
            sms_modem_save_sent(self->modem, part);
        }
    }
    if (self->config->sms.delivery_reports &&
        sms_reports_put(self->spill_dir, o->outbox_id, refs, m->Number, to) != 0)
        log_error("sms", "%s outbox=%" PRIu64 " delivery report map not written: %s", ticket,
                  o->outbox_id, strerror(errno));
    aduan_adapter_result(self->adapter, o->outbox_id, "sent", provider, NULL);
    log_info("sms", "%s sent outbox=%" PRIu64 " to=%s parts=%d %s mr=%s", ticket, o->outbox_id,
             masked, m->Number, unicode ? "ucs2" : "gsm7", provider);
}

/*  Sends what the rate allows, for SEND_SLICE_MS at most: a thousand acknowledgements
    must not hold back the ACKs of what came in meanwhile (and so its delete from the
    modem). Returns ms until the next may go (0: nothing waits). */
static int64_t send_waiting(sms_t *self)
{
    int64_t slice_end = aduan_monotonic_ms() + SEND_SLICE_MS;
    outgoing_t *o;
    while ((o = zlistx_first(self->outgoing))) {
        int64_t now = aduan_monotonic_ms();
        int64_t wait = rate_wait_ms(self, now);
        if (wait > 0)
            return wait;
        if (now >= slice_end)
            return 1; /* the runner handles the bus, then calls again */
        zlistx_detach_cur(self->outgoing);
        send_one(self, o);
        void *item = o;
        outgoing_destructor(&item);
        if (sms_modem_lost(self->modem))
            break;
    }
    return 0;
}

/* ---- the table -------------------------------------------------------------------------- */

/* The modem went away: the runner closes it and opens it again with backoff. */
static bool modem_lost(sms_t *self)
{
    if (!sms_modem_lost(self->modem))
        return false;
    set_error(self, "modem lost");
    log_warn("sms", "modem lost; reconnecting");
    return true;
}

static int sms_poll(void *state)
{
    sms_t *self = state;
    if (modem_lost(self))
        return -1;
    int64_t now = aduan_monotonic_ms();
    take_events(self);
    bool core_up = aduan_adapter_core_up(self->adapter);
    if (core_up)
        drain_spill(self);
    /* just opened, and the core's answer to our HELLO not read yet: a sweep now would
       read the whole modem only to find the core away */
    bool hello_wait = !core_up && now - self->opened_at < HELLO_GRACE_MS;
    if (!hello_wait && (now >= self->next_sweep || sms_modem_take_new_sms(self->modem))) {
        if (sweep(self, now) != 0)
            return -1;
        self->next_sweep = now + self->config->sms.poll_ms;
    }
    if (now >= self->next_facts) {
        sms_modem_refresh_facts(self->modem);
        self->next_facts = now + FACTS_EVERY_MS;
    }
    int64_t send_wait = send_waiting(self);
    if (modem_lost(self))
        return -1;
    int64_t wait = self->next_sweep - aduan_monotonic_ms();
    if (send_wait > 0 && send_wait < wait)
        wait = send_wait;
    if (hello_wait && (wait <= 0 || wait > 20))
        wait = 20;
    return wait < 0 ? 0 : (int)wait;
}

/* Plugged back in: its device node (or the dummy's folder) is there again. */
static bool sms_present(const aduan_config_t *config)
{
    (void)config;
    return sms_modem_device_present();
}

static void sms_answered(void *state, void *cookie, const aduan_msg_t *answer)
{
    sms_t *self = state;
    char seq[32];
    snprintf(seq, sizeof seq, "%" PRIu64, (uint64_t)(uintptr_t)cookie);
    item_t *item = zhashx_lookup(self->items, seq);
    if (!item)
        return; /* submitted before the modem was opened again: it is read anew */
    if (answer->type == ADUAN_MSG_ACK) {
        int deleted = 0;
        for (int i = 0; i < item->location_count; i++) {
            GSM_Error e = sms_modem_delete(self->modem, item->locations[i]);
            deleted += e == ERR_NONE || e == ERR_EMPTY;
        }
        if (item->spill_path && sms_spill_remove(item->spill_path) != 0)
            log_error("sms", "spill file %s not removed: %s", item->spill_path,
                      strerror(errno));
        log_info("sms", "%s intake from=%s parts=%d %s%s",
                 answer->ack.ticket && *answer->ack.ticket ? answer->ack.ticket : "-",
                 item->from_masked, item->spill_path ? 0 : item->location_count,
                 answer->ack.disposition, item->spill_path ? " (from the spill queue)" : "");
        if (deleted < item->location_count)
            log_warn("sms", "%d parts not deleted from the modem: read again, the core knows them",
                     item->location_count - deleted);
        zhashx_delete(self->marks, item->mark);
    } else if (answer->nack.permanent) {
        /* kept on the modem for an operator; not offered again until a restart */
        zhashx_update(self->marks, item->mark, (void *)"refused");
        log_error("sms", "core refused the message from=%s for good: %s", item->from_masked,
                  answer->nack.reason);
    } else {
        zhashx_delete(self->marks, item->mark);
    }
    zhashx_delete(self->items, seq);
}

static void sms_deliver(void *state, const aduan_msg_t *d)
{
    sms_t *self = state;
    outgoing_t *o = calloc(1, sizeof *o);
    if (!o || !(o->to = strdup(d->deliver.to_addr)) ||
        !(o->text = strdup(d->deliver.text ? d->deliver.text : "")) ||
        (d->deliver.ticket && !(o->ticket = strdup(d->deliver.ticket)))) {
        if (o) {
            void *item = o;
            outgoing_destructor(&item);
        }
        aduan_adapter_result(self->adapter, d->deliver.outbox_id, "temporary", NULL,
                             "out of memory");
        return;
    }
    o->outbox_id = d->deliver.outbox_id;
    zlistx_add_end(self->outgoing, o);
}

static char *sms_status(void *state)
{
    sms_t *self = state;
    const sms_modem_facts_t *f = sms_modem_facts(self->modem);
    json_t *o = json_object();
    json_object_set_new(o, "connected", json_boolean(!sms_modem_lost(self->modem)));
    json_object_set_new(o, "modem", json_string(self->identity));
    json_object_set_new(o, "model", json_string(f->model));
    json_object_set_new(o, "signal_percent",
                        f->signal_percent >= 0 ? json_integer(f->signal_percent) : json_null());
    json_object_set_new(o, "network_name", json_string(f->network_name));
    json_object_set_new(o, "network_code", json_string(f->network_code));
    json_object_set_new(o, "last_error", json_string(self->last_error));
    json_object_set_new(o, "spill_queue", json_integer((json_int_t)sms_spill_count(self->spill_dir)));
    json_object_set_new(o, "parts_waiting", json_integer((json_int_t)self->parts_waiting));
    json_object_set_new(o, "send_queue", json_integer((json_int_t)zlistx_size(self->outgoing)));
    json_object_set_new(o, "in_flight", json_integer((json_int_t)zhashx_size(self->items)));
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return text;
}

const aduan_channel_t aduan_channel_sms = {
    .name = "sms",
    .open = sms_open,
    .poll = sms_poll,
    .present = sms_present,
    .answered = sms_answered,
    .deliver = sms_deliver,
    .status = sms_status,
    .close = sms_close,
};
