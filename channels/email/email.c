/*  email.c - the email channel: the table aduan-gatewayd runs (include/aduan/adapter.h).

    poll() does one sync of the mailbox: what the core has ACKed since is filed (\Seen,
    moved to the processed folder), new UIDs are fetched in batches and submitted with the
    dedupe key "<account>:<uidvalidity>:<uid>", answers are awaited briefly, and then the
    session waits in IDLE (or the runner just calls again after email.poll). The IMAP
    socket in IDLE and an eventfd (set by answered() and deliver()) sit in one epoll
    descriptor: that is wake_fd, so the runner calls poll() as soon as either has news.

    Nothing is kept across sessions: everything still in the mailbox is unfiled, so a new
    session starts from UID 1; what was ACKed but not filed comes back as a duplicate,
    gets the same ticket, and is filed then.

    A mail goes out once per outbox row: the core hands a row out again when its RESULT is
    late (outbox.deliver_timeout_s; a slow server, a long sync holding the DELIVERs back),
    so a DELIVER of a row already queued is dropped, and one of a row the server already
    took is answered "sent" again from memory (the last SENT_MEMORY rows) instead of being
    sent a second time.
*/
#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "aduan/adapter.h"
#include "aduan/clock.h"
#include "aduan/log.h"
#include "imap.h"
#include "mime.h"
#include "smtp.h"

#define C "email"               /* log component */
#define ANSWER_WAIT_MS 2000     /* how long one poll waits for the core's answers */
#define IN_FLIGHT_AGAIN_MS 500  /* come back soon while answers are due */
#define RETRY_AGAIN_MS 5000     /* the core said "not now" to something */
#define IDLE_MAX_S 1500         /* IDLE is renewed before the server's 30 min (RFC 2177) */
#define BATCH_BYTES (64u << 20) /* bodies fetched in one UID FETCH at most */
#define BUS_HEADROOM (2u << 20) /* the intake's fields beside its raw bytes and attachments */
#define SENT_MEMORY 1024        /* outbox rows the server took, remembered against repeats */
/*  The SMTP server away: asked whether it is back after 1 s, then doubling up to 15 s, one
    connection each time; once it greets, the core hands out what it held back (the
    replies' own backoff may have grown to minutes meanwhile). */
#define SMTP_PROBE_FIRST_MS 1000
#define SMTP_PROBE_MAX_MS 15000
#define SMTP_PROBE_TIMEOUT_MS 2000
#define IMAP_PROBE_TIMEOUT_MS 1000 /* asked once a second while the mailbox is closed */
#define PROVIDER_ID_MAX 64

/* A row whose mail the SMTP server accepted, and the queue id it gave. */
typedef struct {
    uint64_t outbox_id;
    char provider_id[PROVIDER_ID_MAX];
} sent_t;

typedef struct {
    uint32_t *v;
    size_t n, cap;
} uids_t;

typedef struct {
    const aduan_config_t *config;
    aduan_adapter_t *adapter;
    email_imap_t *imap;
    uint32_t uidvalidity;
    uint32_t last_uid;   /* the highest UID submitted in this session */
    uids_t in_flight;    /* submitted, not answered */
    uids_t to_file;      /* ACKed: filed at the next step */
    uids_t retry;        /* NACKed for now: fetched again */
    uids_t refused;      /* NACKed for good: left in the mailbox, not sent again */
    int epfd, eventfd, idle_fd;
    size_t carry_max;    /* the largest raw message an intake can carry */
    uint64_t submitted, filed, refused_count;
    char last_error[300];
    char last_error_at[32]; /* UTC, ISO 8601 */
    char last_sync[32];     /* when the mailbox was last read to its end (UTC) */
    email_smtp_t *smtp;
    aduan_msg_t **delivers; /* DELIVERs waiting for the next poll: one SMTP session */
    size_t deliver_count, deliver_cap;
    sent_t sent[SENT_MEMORY]; /* a ring: the rows sent last */
    size_t sent_next;
    uint64_t repeats;         /* DELIVERs of rows queued or sent already, not sent again */
    bool smtp_away;           /* the last session found no server */
    int64_t smtp_probe_at;    /* monotonic ms of the next question whether it is back */
    int64_t smtp_probe_wait;
} email_t;

/* ---- UID lists ------------------------------------------------------------------------------ */

static bool uids_has(const uids_t *u, uint32_t uid)
{
    for (size_t i = 0; i < u->n; i++)
        if (u->v[i] == uid)
            return true;
    return false;
}

static int uids_add(uids_t *u, uint32_t uid)
{
    if (u->n == u->cap) {
        size_t cap = u->cap ? u->cap * 2 : 64;
        uint32_t *v = realloc(u->v, cap * sizeof *v);
        if (!v)
            return -1;
        u->v = v;
        u->cap = cap;
    }
    u->v[u->n++] = uid;
    return 0;
}

static bool uids_remove(uids_t *u, uint32_t uid)
{
    for (size_t i = 0; i < u->n; i++)
        if (u->v[i] == uid) {
            u->v[i] = u->v[--u->n];
            return true;
        }
    return false;
}

static void uids_free(uids_t *u)
{
    free(u->v);
    *u = (uids_t){0};
}

/*  The cookie of a submitted UID. Answers to a closed session's items reach the next one
    (the runner sends them again): with UIDVALIDITY in the cookie (64-bit pointers), an
    answer never files another message that happens to have the same UID. */
static void *cookie_of(uint32_t uidvalidity, uint32_t uid)
{
    uint64_t both = ((uint64_t)uidvalidity << 32) | uid;
    return (void *)(uintptr_t)both;
}

static bool cookie_is(const email_t *self, void *cookie, uint32_t *uid)
{
    uint64_t both = (uint64_t)(uintptr_t)cookie;
    *uid = (uint32_t)both;
    return sizeof(uintptr_t) < 8 || (uint32_t)(both >> 32) == self->uidvalidity;
}

/* ---- waking --------------------------------------------------------------------------------- */

static void wake(email_t *self)
{
    uint64_t one = 1;
    if (write(self->eventfd, &one, sizeof one) < 0 && errno != EAGAIN)
        log_debug(C, "eventfd: %s", strerror(errno));
}

static void drain_wake(email_t *self)
{
    uint64_t count;
    while (read(self->eventfd, &count, sizeof count) > 0)
        ;
}

/* For the status: when something happened, in UTC. */
static void utc_now(char *out, size_t outlen)
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int fail(email_t *self)
{
    snprintf(self->last_error, sizeof self->last_error, "%s", email_imap_error(self->imap));
    utc_now(self->last_error_at, sizeof self->last_error_at);
    log_warn(C, "mailbox failed: %s", self->last_error);
    return -1;
}

static int idle_stop(email_t *self)
{
    if (self->idle_fd >= 0) {
        epoll_ctl(self->epfd, EPOLL_CTL_DEL, self->idle_fd, NULL);
        self->idle_fd = -1;
    }
    return email_imap_idle_done(self->imap);
}

/* ---- filing and fetching -------------------------------------------------------------------- */

/* What the core has ACKed: \Seen and into the processed folder, a batch at a time. */
static int file_answered(email_t *self)
{
    size_t batch = (size_t)self->config->email.fetch_batch;
    while (self->to_file.n) {
        size_t n = self->to_file.n < batch ? self->to_file.n : batch;
        uint32_t *first = self->to_file.v + self->to_file.n - n;
        if (email_imap_file(self->imap, first, n) != 0)
            return -1; /* they come back as duplicates next session, and are filed then */
        self->to_file.n -= n;
        self->filed += n;
        log_info(C, "filed %zu message%s in %s", n, n == 1 ? "" : "s",
                 email_imap_processed_folder(self->imap));
    }
    return 0;
}

static aduan_msg_t *intake_of(email_t *self, const email_fetched_t *item, bool header_only)
{
    const aduan_config_t *config = self->config;
    email_mime_options_t opts = {
        .ticket_prefix = config->core.ticket_prefix,
        .own_address = config->email.address,
        .max_message_bytes = (size_t)config->email.max_message_bytes,
        .max_attachment_bytes = (size_t)config->email.max_attachment_bytes,
        .attachment_budget = item->len < self->carry_max ? self->carry_max - item->len : 0,
    };
    aduan_msg_t *m = email_mime_intake(item->data, item->len, &opts);
    if (!m)
        return NULL;
    char key[160];
    snprintf(key, sizeof key, "%s:%u:%u", config->email.account, self->uidvalidity, item->uid);
    aduan_msg_set(&m->intake.dedupe_key, key);
    if (header_only) {
        /* only its header came: the whole stays on the server, filed with the others */
        char reason[300];
        snprintf(reason, sizeof reason,
                 "message of %u bytes, more than an intake carries (bus.max_message_bytes "
                 "%lld); kept on the mail server in %s",
                 item->size, (long long)config->bus.max_message_bytes,
                 email_imap_processed_folder(self->imap));
        aduan_msg_set(&m->intake.quarantine_reason, reason);
    }
    return m;
}

static int submit(email_t *self, const email_fetched_t *item, bool header_only)
{
    aduan_msg_t *m = intake_of(self, item, header_only);
    if (!m) {
        log_error(C, "uid=%u: out of memory; tried again next sync", item->uid);
        return uids_add(&self->retry, item->uid);
    }
    char masked[ADUAN_MASK_MAX];
    log_info(C, "intake uid=%u from=%s bytes=%u attachments=%zu%s%s%s", item->uid,
             aduan_mask_email(m->intake.from_addr, masked, sizeof masked), item->size,
             m->attachment_count, strcmp(m->intake.intent, "complaint") ? " intent=" : "",
             strcmp(m->intake.intent, "complaint") ? m->intake.intent : "",
             m->intake.quarantine_reason ? " quarantined" : "");
    if (m->intake.quarantine_reason)
        log_warn(C, "uid=%u quarantined: %s", item->uid, m->intake.quarantine_reason);
    if (aduan_adapter_submit(self->adapter, &m, cookie_of(self->uidvalidity, item->uid)) != 0) {
        if (aduan_adapter_stopping(self->adapter))
            return 0;
        /* it breaks the bus schema (logged by the runner): a person must look at it */
        self->refused_count++;
        return uids_add(&self->refused, item->uid);
    }
    self->submitted++;
    return uids_add(&self->in_flight, item->uid);
}

/* Bodies of uids[0..n) (sizes known), fetched and submitted; too large ones header only. */
static int fetch_and_submit(email_t *self, const uint32_t *uids, size_t n, bool header_only)
{
    email_fetched_t *items = NULL;
    size_t count = 0;
    if (email_imap_fetch(self->imap, uids, n, true, header_only, &items, &count) != 0)
        return -1;
    int rc = 0;
    for (size_t i = 0; i < count && rc == 0 && !aduan_adapter_stopping(self->adapter); i++)
        rc = submit(self, &items[i], header_only);
    email_imap_fetched_free(&items, count);
    if (rc != 0)
        snprintf(self->last_error, sizeof self->last_error, "out of memory");
    return rc;
}

/* One chunk of UIDs: their sizes, then their bodies in batches bounded in bytes. */
static int sync_chunk(email_t *self, const uint32_t *uids, size_t n)
{
    email_fetched_t *sizes = NULL;
    size_t count = 0;
    if (email_imap_fetch(self->imap, uids, n, false, false, &sizes, &count) != 0)
        return -1;
    uint32_t *batch = calloc(count + 1, sizeof *batch);
    int rc = batch ? 0 : -1;
    size_t k = 0, bytes = 0;
    for (size_t i = 0; i <= count && rc == 0; i++) {
        bool last = i == count;
        bool too_large = !last && sizes[i].size > self->carry_max;
        if (k && (last || too_large || bytes + sizes[i].size > BATCH_BYTES)) {
            rc = fetch_and_submit(self, batch, k, false);
            k = bytes = 0;
        }
        if (last || rc != 0)
            break;
        if (too_large)
            rc = fetch_and_submit(self, &sizes[i].uid, 1, true);
        else {
            batch[k++] = sizes[i].uid;
            bytes += sizes[i].size;
        }
    }
    free(batch);
    email_imap_fetched_free(&sizes, count);
    if (rc == 0)
        rc = file_answered(self); /* what was ACKed while this chunk went out */
    return rc;
}

static bool waiting(const email_t *self, uint32_t uid)
{
    return uids_has(&self->in_flight, uid) || uids_has(&self->to_file, uid) ||
           uids_has(&self->refused, uid);
}

/* New UIDs, and those the core asked for again, submitted in chunks of fetch_batch. */
static int sync_mailbox(email_t *self)
{
    uint32_t *fresh = NULL;
    size_t fresh_count = 0;
    if (email_imap_new_uids(self->imap, self->last_uid, &fresh, &fresh_count) != 0)
        return -1;
    size_t total = self->retry.n + fresh_count, n = 0;
    uint32_t *todo = calloc(total + 1, sizeof *todo);
    if (!todo) {
        free(fresh);
        snprintf(self->last_error, sizeof self->last_error, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < self->retry.n; i++)
        todo[n++] = self->retry.v[i];
    self->retry.n = 0;
    for (size_t i = 0; i < fresh_count; i++)
        if (!waiting(self, fresh[i]))
            todo[n++] = fresh[i];
    if (fresh_count && fresh[fresh_count - 1] > self->last_uid)
        self->last_uid = fresh[fresh_count - 1];
    free(fresh);
    size_t chunk = (size_t)self->config->email.fetch_batch;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0 && !aduan_adapter_stopping(self->adapter); i += chunk)
        rc = sync_chunk(self, todo + i, n - i < chunk ? n - i : chunk);
    free(todo);
    return rc;
}

/* ---- sending -------------------------------------------------------------------------------- */

/* The server took the row's mail: remembered, so that a repeat is not sent again. */
static void remember_sent(email_t *self, uint64_t outbox_id, const char *provider_id)
{
    sent_t *s = &self->sent[self->sent_next];
    s->outbox_id = outbox_id;
    snprintf(s->provider_id, sizeof s->provider_id, "%s", provider_id ? provider_id : "");
    self->sent_next = (self->sent_next + 1) % SENT_MEMORY;
}

static const sent_t *sent_already(const email_t *self, uint64_t outbox_id)
{
    for (size_t i = 0; i < SENT_MEMORY; i++)
        if (self->sent[i].outbox_id == outbox_id && outbox_id != 0)
            return &self->sent[i];
    return NULL;
}

static void on_smtp_report(void *arg, uint64_t outbox_id, const char *status,
                           const char *provider_id, const char *detail)
{
    email_t *self = arg;
    if (strcmp(status, "sent") == 0)
        remember_sent(self, outbox_id, provider_id);
    aduan_adapter_result(self->adapter, outbox_id, status, provider_id, detail);
}

/* The SMTP server answered (or not): the core is told when it is back. */
static void smtp_answered(email_t *self, bool answered)
{
    int64_t now = aduan_monotonic_ms();
    if (answered) {
        if (self->smtp_away) {
            log_info(C, "SMTP server %s:%lld answers again", self->config->email.smtp_host,
                     (long long)self->config->email.smtp_port);
            self->smtp_away = false;
            aduan_adapter_peer_back(self->adapter);
        }
        return;
    }
    if (!self->smtp_away) {
        log_warn(C, "SMTP server %s:%lld away; asking every %d s at most whether it is back",
                 self->config->email.smtp_host, (long long)self->config->email.smtp_port,
                 SMTP_PROBE_MAX_MS / 1000);
        self->smtp_away = true;
        self->smtp_probe_wait = SMTP_PROBE_FIRST_MS;
    } else {
        self->smtp_probe_wait = self->smtp_probe_wait * 2 < SMTP_PROBE_MAX_MS
                                    ? self->smtp_probe_wait * 2
                                    : SMTP_PROBE_MAX_MS;
    }
    self->smtp_probe_at = now + self->smtp_probe_wait;
}

/* While the SMTP server is away: is it back? Asked when due. */
static void smtp_probe(email_t *self)
{
    if (!self->smtp_away || aduan_monotonic_ms() < self->smtp_probe_at)
        return;
    smtp_answered(self, aduan_adapter_server_listens(self->config->email.smtp_host,
                                                     (int)self->config->email.smtp_port,
                                                     "220", SMTP_PROBE_TIMEOUT_MS));
}

/* The runner's wait before the next poll, shortened to the next probe when one is due. */
static int until_probe(const email_t *self, int wait_ms)
{
    if (!self->smtp_away || wait_ms < 0)
        return wait_ms;
    int64_t left = self->smtp_probe_at - aduan_monotonic_ms();
    left = left < 0 ? 0 : left;
    return left < wait_ms ? (int)left : wait_ms;
}

static void send_delivers(email_t *self)
{
    if (!self->deliver_count)
        return;
    if (!self->smtp) {
        char reason[256] = "";
        self->smtp = email_smtp_new(self->config, reason, sizeof reason);
        if (!self->smtp) {
            snprintf(self->last_error, sizeof self->last_error, "smtp: %s", reason);
            log_warn(C, "cannot send: %s", reason);
        }
    }
    int answered = self->smtp ? email_smtp_send(self->smtp,
                                                 (const aduan_msg_t *const *)self->delivers,
                                                 self->deliver_count, on_smtp_report, self)
                              : -1;
    if (answered >= 0)
        smtp_answered(self, answered == 1);
    if (!self->smtp)
        for (size_t i = 0; i < self->deliver_count; i++)
            aduan_adapter_result(self->adapter, self->delivers[i]->deliver.outbox_id,
                                 "temporary", NULL, "the mail sender is not available");
    for (size_t i = 0; i < self->deliver_count; i++)
        aduan_msg_destroy(&self->delivers[i]);
    self->deliver_count = 0;
}

/* A copy the channel owns (the runner frees its own after deliver()). */
static aduan_msg_t *copy_of(const aduan_msg_t *m)
{
    char reason[256];
    zmsg_t *z = aduan_msg_encode(m, reason, sizeof reason);
    return z ? aduan_msg_decode(&z, SIZE_MAX, NULL, reason, sizeof reason) : NULL;
}

/* ---- the table ------------------------------------------------------------------------------ */

static void email_close(void *state);

static void *email_open(const aduan_config_t *config, aduan_adapter_t *adapter, char *reason,
                        size_t reasonlen)
{
    email_t *self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(reason, reasonlen, "out of memory");
        return NULL;
    }
    self->config = config;
    self->adapter = adapter;
    self->idle_fd = self->epfd = self->eventfd = -1;
    size_t bus_max = (size_t)config->bus.max_message_bytes;
    self->carry_max = bus_max > 2 * BUS_HEADROOM ? bus_max - BUS_HEADROOM : bus_max / 2;
    self->eventfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    self->epfd = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = self->eventfd};
    if (self->eventfd < 0 || self->epfd < 0 ||
        epoll_ctl(self->epfd, EPOLL_CTL_ADD, self->eventfd, &ev) != 0) {
        snprintf(reason, reasonlen, "eventfd/epoll: %s", strerror(errno));
        email_close(self);
        return NULL;
    }
    self->imap = email_imap_connect(config, reason, reasonlen);
    if (!self->imap) {
        email_close(self);
        return NULL;
    }
    self->uidvalidity = email_imap_uidvalidity(self->imap);
    char masked[ADUAN_MASK_MAX];
    log_info(C, "mailbox %s of %s open: uidvalidity=%u idle=%s move=%s, registered mail goes "
                "to %s",
             config->email.mailbox, aduan_mask_email(config->email.imap_user, masked, sizeof masked),
             self->uidvalidity, email_imap_has_idle(self->imap) ? "yes" : "no",
             email_imap_has_move(self->imap) ? "yes" : "no",
             email_imap_processed_folder(self->imap));
    return self;
}

static int poll_mailbox(email_t *self);

static int email_poll(void *state)
{
    email_t *self = state;
    smtp_probe(self);
    return until_probe(self, poll_mailbox(self));
}

/* One sync of the mailbox and the sending of what waits; the wait until the next. */
static int poll_mailbox(email_t *self)
{
    drain_wake(self);
    if (idle_stop(self) != 0)
        return fail(self);
    send_delivers(self);
    if (file_answered(self) != 0 || sync_mailbox(self) != 0)
        return fail(self);
    utc_now(self->last_sync, sizeof self->last_sync);
    if (self->in_flight.n)
        aduan_adapter_wait(self->adapter, ANSWER_WAIT_MS);
    if (file_answered(self) != 0)
        return fail(self);
    if (self->in_flight.n || aduan_adapter_stopping(self->adapter))
        return IN_FLIGHT_AGAIN_MS;
    if (self->retry.n)
        return RETRY_AGAIN_MS;
    /*  A server tells of new mail once, in the reply to whatever command runs when it
        arrives, and an IDLE started later does not tell it again: a mail that came in
        during our MOVE is told in the MOVE's reply, and we skip it. It is still found:
        every MOVE files what an ACK answered, each ACK woke us (email_answered), and the
        wake is drained only when the next poll starts, which searches again. */
    int64_t wait_s = self->config->email.poll_s;
    if (!self->config->email.idle || !email_imap_has_idle(self->imap))
        return (int)(wait_s * 1000);
    if (email_imap_idle_start(self->imap) != 0)
        return fail(self);
    if (email_imap_idle_buffered(self->imap))
        return 0; /* the server spoke already: libetpan holds it, the socket will not wake */
    self->idle_fd = email_imap_idle_fd(self->imap);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = self->idle_fd};
    if (self->idle_fd < 0 || epoll_ctl(self->epfd, EPOLL_CTL_ADD, self->idle_fd, &ev) != 0) {
        self->idle_fd = -1;
        return 1000; /* no descriptor to wake on: just come back */
    }
    /* bounded: data GnuTLS decrypted already does not make the socket readable */
    return (int)((wait_s < IDLE_MAX_S ? wait_s : IDLE_MAX_S) * 1000);
}

/* The IMAP server listens again (after it was away: the runner opens the mailbox at once). */
static bool email_present(const aduan_config_t *config)
{
    return aduan_adapter_server_listens(config->email.imap_host, (int)config->email.imap_port,
                                        NULL, IMAP_PROBE_TIMEOUT_MS);
}

static int email_wake_fd(void *state)
{
    return ((email_t *)state)->epfd;
}

static void email_answered(void *state, void *cookie, const aduan_msg_t *answer)
{
    email_t *self = state;
    uint32_t uid;
    if (!cookie_is(self, cookie, &uid) || !uids_remove(&self->in_flight, uid))
        return; /* another session's item, or a repeat answered already */
    if (answer->type == ADUAN_MSG_ACK) {
        log_debug(C, "uid=%u %s %s", uid, answer->ack.disposition,
                  answer->ack.ticket ? answer->ack.ticket : "-");
        if (uids_add(&self->to_file, uid) != 0)
            log_error(C, "uid=%u: out of memory; filed next session", uid);
    } else if (answer->nack.permanent) {
        self->refused_count++;
        uids_add(&self->refused, uid);
        log_error(C, "uid=%u refused for good by the core (%s); left in %s", uid,
                  answer->nack.reason ? answer->nack.reason : "no reason",
                  self->config->email.mailbox);
    } else {
        uids_add(&self->retry, uid);
    }
    wake(self);
}

static void email_deliver(void *state, const aduan_msg_t *deliver)
{
    email_t *self = state;
    uint64_t id = deliver->deliver.outbox_id;
    /* the core asked again before our RESULT reached it: the first answer stands */
    const sent_t *sent = sent_already(self, id);
    if (sent) {
        self->repeats++;
        log_info(C, "%s outbox=%llu sent already (queue_id=%s): not sent again",
                 deliver->deliver.ticket && *deliver->deliver.ticket ? deliver->deliver.ticket
                                                                     : "-",
                 (unsigned long long)id, sent->provider_id[0] ? sent->provider_id : "-");
        aduan_adapter_result(self->adapter, id, "sent",
                             sent->provider_id[0] ? sent->provider_id : NULL,
                             "sent already; a repeated DELIVER was not sent again");
        return;
    }
    for (size_t i = 0; i < self->deliver_count; i++)
        if (self->delivers[i]->deliver.outbox_id == id) {
            self->repeats++;
            log_debug(C, "outbox=%llu queued already", (unsigned long long)id);
            return;
        }
    if (self->deliver_count == self->deliver_cap) {
        size_t cap = self->deliver_cap ? self->deliver_cap * 2 : 16;
        aduan_msg_t **grown = realloc(self->delivers, cap * sizeof *grown);
        if (!grown) {
            aduan_adapter_result(self->adapter, deliver->deliver.outbox_id, "temporary", NULL,
                                 "out of memory");
            return;
        }
        self->delivers = grown;
        self->deliver_cap = cap;
    }
    aduan_msg_t *copy = copy_of(deliver);
    if (!copy) {
        aduan_adapter_result(self->adapter, deliver->deliver.outbox_id, "temporary", NULL,
                             "out of memory");
        return;
    }
    self->delivers[self->deliver_count++] = copy;
    wake(self); /* sent from the next poll, with whatever else came meanwhile */
}

static char *email_status(void *state)
{
    email_t *self = state;
    json_t *o = json_pack("{s:b, s:b, s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:s}",
                          "connected", 1, "idle", email_imap_has_idle(self->imap), "move",
                          email_imap_has_move(self->imap), "uidvalidity",
                          (json_int_t)self->uidvalidity, "last_uid", (json_int_t)self->last_uid,
                          "in_flight", (json_int_t)self->in_flight.n, "registered",
                          (json_int_t)self->submitted, "filed", (json_int_t)self->filed,
                          "refused", (json_int_t)self->refused_count, "repeats_not_sent",
                          (json_int_t)self->repeats, "last_error", self->last_error);
    if (o) {
        json_object_set_new(o, "smtp_away", json_boolean(self->smtp_away));
        json_object_set_new(o, "last_sync", json_string(self->last_sync));
        json_object_set_new(o, "last_error_at", json_string(self->last_error_at));
    }
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    return text;
}

static void email_close(void *state)
{
    email_t *self = state;
    if (!self)
        return;
    /* not sent: the core tries again later */
    for (size_t i = 0; i < self->deliver_count; i++) {
        aduan_adapter_result(self->adapter, self->delivers[i]->deliver.outbox_id, "temporary",
                             NULL, "the email channel closed");
        aduan_msg_destroy(&self->delivers[i]);
    }
    free(self->delivers);
    email_smtp_destroy(&self->smtp);
    email_imap_destroy(&self->imap);
    if (self->epfd >= 0)
        close(self->epfd);
    if (self->eventfd >= 0)
        close(self->eventfd);
    uids_free(&self->in_flight);
    uids_free(&self->to_file);
    uids_free(&self->retry);
    uids_free(&self->refused);
    free(self);
}

const aduan_channel_t aduan_channel_email = {
    .name = "email",
    .open = email_open,
    .poll = email_poll,
    .present = email_present,
    .wake_fd = email_wake_fd,
    .answered = email_answered,
    .deliver = email_deliver,
    .status = email_status,
    .close = email_close,
};
