/*  service.c - the core's loop. See service.h for what it does; the order of one turn:

      1. take up to batch_max messages from the intake socket without blocking;
      2. write their intakes in one transaction, COMMIT (one fsync); the replies they
         queue for adapters with room are written as handed out (registry.h);
      3. only then ACK (or NACK) each intake, then send those replies (DELIVER);
      4. in a second transaction, the RESULTs and the outbox items now due, handed to the
         adapters with room for them after its COMMIT; publish the events;
      5. answer staff requests on the control socket.

    An adapter is known from its HELLO (channel, account) and stays known while it sends
    anything at least every peer_timeout_ms. */
#include "service.h"

#include <czmq.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "aduan/bus.h"
#include "aduan/curve.h"
#include "aduan/files.h"
#include "aduan/log.h"
#include "control.h"
#include "registry.h"

#define POLL_MS 250
/*  The search index is filled after the ACKs, in batches (store.h): one FTS5 segment per
    batch instead of one per message. At most this many intakes or this long behind, and
    no more than that per run, so that a run stays a pause of a few ms for whoever sends
    meanwhile (a flood's backlog is filled run by run); a search catches up at once. */
#define INDEX_BATCH 128
#define INDEX_DELAY_MS 100
/*  Outbox items handed out per turn, at most: a backlog (a channel back after a while, or
    a flood's replies) goes out over a few turns, each short, rather than in one that
    keeps every ACK behind it waiting. */
#define DELIVER_BATCH 64
#define MALFORMED_KEEP_MAX (1024 * 1024) /* bytes of a refused message kept in quarantine */
#define CONTROL_MAX (1024 * 1024)

typedef struct {
    zframe_t *routing_id;
    char *key; /* hex of the routing id */
    char *channel;
    char *account;
    json_t *status; /* the channel's facts from its last heartbeat (modem signal, ...) */
    int64_t last_seen;
    int in_flight;
    uint64_t intakes;
    uint64_t delivers;
} peer_t;

typedef struct {
    peer_t *peer;
    int64_t deadline;
} flight_t;

typedef enum { ENTRY_INTAKE, ENTRY_RESULT, ENTRY_MALFORMED } entry_kind_t;

/* One message of the batch being committed. */
typedef struct {
    entry_kind_t kind;
    zframe_t *routing_id;
    aduan_msg_t *msg;       /* INTAKE or RESULT */
    char id[ADUAN_MSG_ID_MAX + 1];
    char reason[512];       /* MALFORMED: why; INTAKE: why refused */
    zchunk_t *raw;          /* MALFORMED: the frames, joined, when small enough */
    peer_t *peer;
    aduan_intake_result_t result;
    int outcome;            /* 0 ok, -1 refused for good */
} entry_t;

struct aduan_core {
    const aduan_config_t *config;
    const aduan_clock_t *clock;
    aduan_store_t *store;
    int lock_fd;
    zsock_t *intake;
    zsock_t *events;
    zsock_t *control;
    zhashx_t *peers;     /* routing id hex -> peer_t */
    zhashx_t *in_flight; /* outbox id -> flight_t */
    entry_t *batch;
    size_t batch_len;
    zlistx_t *outgoing; /* picked_t: DELIVERs waiting for their COMMIT */
    peer_t *handout_peer; /* the adapter handout_has_room found for the item at hand */
    zhashx_t *handout_backlog; /* channel -> "yes"/"no": something due, this transaction */
    bool dispatch_now;
    int64_t last_dispatch;
    int64_t last_tick;
    struct {
        uint64_t intakes, tickets, followups, duplicates, acks, nacks, refused, delivers,
            results;
    } count;
    char last_error[256];
    int64_t last_error_at;
    uint64_t work_at_last_tick; /* intakes + results then: unchanged means idle */
    zactor_t *curve_guard;      /* answers CURVE authentication on tcp:// endpoints */
    size_t unindexed;           /* intakes committed since the search index was filled */
    int64_t unindexed_since;    /* monotonic ms of the first of them */
};

static void picked_destroy(void **item);

/* ---- set-up ---------------------------------------------------------------------------- */

static int take_lock(aduan_core_t *self, char *reason, size_t rl)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/lock", self->config->core.state_dir);
    self->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
    if (self->lock_fd < 0) {
        snprintf(reason, rl, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (flock(self->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        char pid[32] = "";
        ssize_t n = pread(self->lock_fd, pid, sizeof pid - 1, 0);
        pid[n > 0 ? n : 0] = '\0';
        pid[strcspn(pid, "\n")] = '\0';
        snprintf(reason, rl, "another aduan-gatewayd (pid %s) runs on %s: refusing to start",
                 *pid ? pid : "?", self->config->core.state_dir);
        close(self->lock_fd);
        self->lock_fd = -1;
        return -1;
    }
    char pid[32];
    int len = snprintf(pid, sizeof pid, "%d\n", (int)getpid());
    if (ftruncate(self->lock_fd, 0) != 0 || pwrite(self->lock_fd, pid, (size_t)len, 0) != len)
        log_warn("core", "cannot write the pid into %s", path);
    return 0;
}

/* ipc:// sockets live in a folder that may not exist yet (/run/aduan). */
static void prepare_ipc_dir(const char *endpoint)
{
    if (strncmp(endpoint, "ipc://", 6) != 0)
        return;
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", endpoint + 6);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        aduan_mkdirs(dir, 0750);
    }
}

static zsock_t *bind_socket(int type, const char *endpoint, const aduan_config_t *cfg,
                            char *reason, size_t rl)
{
    zsock_t *s = zsock_new(type);
    if (!s) {
        snprintf(reason, rl, "cannot create a socket for %s", endpoint);
        return NULL;
    }
    if (type == ZMQ_ROUTER) {
        zsock_set_router_mandatory(s, 1); /* a gone peer is an error, not a silent drop */
        zsock_set_router_handover(s, 1);  /* a restarted adapter takes its identity back */
        zsock_set_sndtimeo(s, 0);
        /* receive until EAGAIN: no poll(2) per message to ask whether another waits */
        zsock_set_rcvtimeo(s, 0);
        /* above the decoder's own limit, so the decoder (with its reason) sees the
           oversized message instead of libzmq dropping the peer */
        zsock_set_maxmsgsize(s, (int)(cfg->bus.max_message_bytes + (1 << 20)));
    } else {
        zsock_set_sndhwm(s, 100000);
    }
    zsock_set_linger(s, 1000); /* pending ACKs still go out on a clean stop */
    prepare_ipc_dir(endpoint);
    if (aduan_curve_serve(s, endpoint, cfg, reason, rl) != 0) {
        zsock_destroy(&s);
        return NULL;
    }
    if (zsock_bind(s, "%s", endpoint) < 0) {
        snprintf(reason, rl, "cannot bind %s: %s", endpoint, zmq_strerror(zmq_errno()));
        zsock_destroy(&s);
        return NULL;
    }
    return s;
}

static void peer_destroy(void **item)
{
    peer_t *p = *item;
    zframe_destroy(&p->routing_id);
    free(p->key);
    free(p->channel);
    free(p->account);
    json_decref(p->status);
    free(p);
    *item = NULL;
}

static void flight_destroy(void **item)
{
    free(*item);
    *item = NULL;
}

aduan_core_t *aduan_core_new(const aduan_config_t *config, const aduan_clock_t *clock,
                             char *reason, size_t reasonlen)
{
    aduan_core_t *self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(reason, reasonlen, "out of memory");
        return NULL;
    }
    self->config = config;
    self->clock = clock;
    self->lock_fd = -1;
    self->peers = zhashx_new();
    zhashx_set_destructor(self->peers, peer_destroy);
    self->in_flight = zhashx_new();
    zhashx_set_destructor(self->in_flight, flight_destroy);
    self->batch = calloc((size_t)config->core.batch_max, sizeof *self->batch);
    self->outgoing = zlistx_new();
    zlistx_set_destructor(self->outgoing, picked_destroy);
    self->handout_backlog = zhashx_new(); /* values are static strings: no destructor */
    if (aduan_mkdirs(config->core.state_dir, 0750) != 0) {
        snprintf(reason, reasonlen, "%s: %s", config->core.state_dir, strerror(errno));
        goto fail;
    }
    if (take_lock(self, reason, reasonlen) != 0 ||
        aduan_store_open(config->core.state_dir, config, clock, &self->store, reason,
                         reasonlen) != 0)
        goto fail;
    /* the authenticator first: ZeroMQ lets every CURVE client in while none answers */
    if (aduan_curve_needed(config->bus.intake) || aduan_curve_needed(config->bus.events) ||
        aduan_curve_needed(config->bus.control)) {
        self->curve_guard = aduan_curve_guard_new(config, reason, reasonlen);
        if (!self->curve_guard)
            goto fail;
    }
    self->intake = bind_socket(ZMQ_ROUTER, config->bus.intake, config, reason, reasonlen);
    if (!self->intake)
        goto fail;
    self->events = bind_socket(ZMQ_PUB, config->bus.events, config, reason, reasonlen);
    if (!self->events)
        goto fail;
    self->control = bind_socket(ZMQ_ROUTER, config->bus.control, config, reason, reasonlen);
    if (!self->control)
        goto fail;
    if (self->curve_guard) {
        zsock_t *bound[] = {self->intake, self->events, self->control};
        const char *endpoints[] = {config->bus.intake, config->bus.events, config->bus.control};
        for (size_t i = 0; i < 3; i++)
            if (aduan_curve_needed(endpoints[i]))
                aduan_curve_guard_watch(self->curve_guard, bound[i]);
    }
    log_info("core", "registry open in %s; intake %s, events %s, control %s",
             config->core.state_dir, config->bus.intake, config->bus.events,
             config->bus.control);
    return self;
fail:
    aduan_core_destroy(&self);
    return NULL;
}

void aduan_core_destroy(aduan_core_t **self_p)
{
    aduan_core_t *self = *self_p;
    if (!self)
        return;
    zsock_destroy(&self->intake);
    zsock_destroy(&self->events);
    zsock_destroy(&self->control);
    zactor_destroy(&self->curve_guard);
    aduan_store_close(&self->store);
    zhashx_destroy(&self->in_flight);
    zhashx_destroy(&self->peers);
    zlistx_destroy(&self->outgoing);
    zhashx_destroy(&self->handout_backlog);
    free(self->batch);
    if (self->lock_fd >= 0)
        close(self->lock_fd); /* releases the lock */
    free(self);
    *self_p = NULL;
}

/* ---- peers ----------------------------------------------------------------------------- */

static peer_t *peer_find(aduan_core_t *self, zframe_t *routing_id, bool create)
{
    char *key = zframe_strhex(routing_id);
    peer_t *p = zhashx_lookup(self->peers, key);
    if (!p && create) {
        p = calloc(1, sizeof *p);
        p->routing_id = zframe_dup(routing_id);
        p->key = key;
        zhashx_insert(self->peers, key, p);
        return p;
    }
    free(key);
    return p;
}

/* Kept for `aduanctl stats`: the last thing that went wrong, and when. */
static void note_error(aduan_core_t *self, const char *what, const char *detail)
{
    snprintf(self->last_error, sizeof self->last_error, "%.60s: %.190s", what, detail);
    self->last_error_at = aduan_clock_now_ms(self->clock);
}

static int send_to(aduan_core_t *self, aduan_msg_t *msg, zframe_t *routing_id)
{
    int rc = aduan_msg_send(msg, self->intake, routing_id);
    if (rc != 0)
        log_warn("core", "cannot send %s to an adapter: %s", aduan_msg_type_name(msg->type),
                 zmq_strerror(zmq_errno()));
    return rc;
}

static void send_nack(aduan_core_t *self, zframe_t *routing_id, const char *ref,
                      const char *reason, bool permanent)
{
    aduan_msg_t *nack = aduan_msg_new(ADUAN_MSG_NACK);
    aduan_msg_set(&nack->nack.ref, *ref ? ref : "-");
    aduan_msg_set(&nack->nack.reason, reason);
    nack->nack.permanent = permanent;
    send_to(self, nack, routing_id);
    aduan_msg_destroy(&nack);
    self->count.nacks++;
}

static void on_hello(aduan_core_t *self, zframe_t *routing_id, const aduan_msg_t *m)
{
    peer_t *p = peer_find(self, routing_id, true);
    bool known = p->channel != NULL;
    free(p->channel);
    free(p->account);
    p->channel = strdup(m->hello.channel);
    p->account = strdup(m->hello.account ? m->hello.account : "");
    log_info("core", "adapter %s %s account=%s software=%s", known ? "back" : "connected",
             p->channel, p->account, m->hello.software ? m->hello.software : "-");
    aduan_msg_t *reply = aduan_msg_new(ADUAN_MSG_HELLO);
    aduan_msg_set(&reply->hello.channel, "core");
    aduan_msg_set(&reply->hello.software, "aduan-core");
    send_to(self, reply, routing_id);
    aduan_msg_destroy(&reply);
    /* A HELLO says the adapter is there and can send (it started, or its modem, mailbox
       or mail server answers again): what waited for the channel meanwhile goes now, not
       at the end of each item's backoff, which grew while it was away. */
    int waiting = aduan_outbox_retry_now(self->store, p->channel);
    if (waiting > 0)
        log_info("core", "%s back: %d waiting items due now", p->channel, waiting);
    else if (waiting < 0)
        log_warn("core", "%s back, but its waiting items keep their backoff: %s", p->channel,
                 aduan_store_errmsg(self->store));
    self->dispatch_now = true;
}

/* ---- the intake batch ------------------------------------------------------------------ */

static void entry_clear(entry_t *e)
{
    zframe_destroy(&e->routing_id);
    aduan_msg_destroy(&e->msg);
    zchunk_destroy(&e->raw);
    memset(e, 0, sizeof *e);
}

static zchunk_t *join_frames(zmsg_t *zm)
{
    size_t size = zmsg_content_size(zm);
    if (size > MALFORMED_KEEP_MAX)
        return NULL;
    zchunk_t *chunk = zchunk_new(NULL, size + zmsg_size(zm) * 4);
    for (zframe_t *f = zmsg_first(zm); f; f = zmsg_next(zm)) {
        uint32_t len = htonl((uint32_t)zframe_size(f)); /* length-prefixed, kept exactly */
        zchunk_extend(chunk, &len, sizeof len);
        zchunk_extend(chunk, zframe_data(f), zframe_size(f));
    }
    return chunk;
}

/*  Reads one message of the intake socket; intakes and results join the batch. False
    when nothing was waiting. */
static bool receive_one(aduan_core_t *self)
{
    zmsg_t *zm = zmsg_recv(self->intake);
    if (!zm)
        return false;
    zframe_t *routing_id = zmsg_pop(zm);
    if (!routing_id) {
        zmsg_destroy(&zm);
        return true;
    }
    peer_t *peer = peer_find(self, routing_id, false);
    int64_t now = aduan_monotonic_ms();
    if (peer)
        peer->last_seen = now;
    zchunk_t *raw = join_frames(zm);
    char id[ADUAN_MSG_ID_MAX + 1] = "", reason[512];
    aduan_msg_t *m = aduan_msg_decode(&zm, (size_t)self->config->bus.max_message_bytes, id,
                                      reason, sizeof reason);
    if (!m) {
        self->count.refused++;
        log_warn("core", "refused a message from adapter %s: %s",
                 peer && peer->channel ? peer->channel : "unknown", reason);
        note_error(self, "refused a message", reason);
        entry_t *e = &self->batch[self->batch_len++];
        e->kind = ENTRY_MALFORMED;
        e->routing_id = routing_id;
        snprintf(e->id, sizeof e->id, "%s", id);
        snprintf(e->reason, sizeof e->reason, "%s", reason);
        e->raw = raw;
        e->peer = peer;
        return true;
    }
    zchunk_destroy(&raw);
    if (!peer && m->type != ADUAN_MSG_HELLO) {
        /* an adapter from before a restart of the core: its HELLO is asked for again
           (bus.h), or it would never be handed its deliveries */
        aduan_msg_t *hello = aduan_msg_new(ADUAN_MSG_HELLO);
        aduan_msg_set(&hello->hello.channel, "core");
        aduan_msg_set(&hello->hello.software, "aduan-core");
        send_to(self, hello, routing_id);
        aduan_msg_destroy(&hello);
    }
    switch (m->type) {
    case ADUAN_MSG_HELLO:
        on_hello(self, routing_id, m);
        if (!peer)
            peer_find(self, routing_id, false)->last_seen = now;
        break;
    case ADUAN_MSG_HEARTBEAT: {
        peer_t *known = peer_find(self, routing_id, false);
        if (known && m->heartbeat.status) {
            json_decref(known->status);
            known->status = json_loads(m->heartbeat.status, 0, NULL); /* NULL if not JSON */
        }
        aduan_msg_t *beat = aduan_msg_new(ADUAN_MSG_HEARTBEAT);
        send_to(self, beat, routing_id);
        aduan_msg_destroy(&beat);
        break;
    }
    case ADUAN_MSG_INTAKE:
    case ADUAN_MSG_RESULT: {
        entry_t *e = &self->batch[self->batch_len++];
        e->kind = m->type == ADUAN_MSG_INTAKE ? ENTRY_INTAKE : ENTRY_RESULT;
        e->routing_id = routing_id;
        snprintf(e->id, sizeof e->id, "%s", m->id);
        e->msg = m;
        e->peer = peer;
        return true; /* the entry owns both now */
    }
    default:
        self->count.refused++;
        snprintf(reason, sizeof reason, "%s is not accepted on the intake endpoint",
                 aduan_msg_type_name(m->type));
        log_warn("core", "%s", reason);
        send_nack(self, routing_id, m->id, reason, true);
    }
    aduan_msg_destroy(&m);
    zframe_destroy(&routing_id);
    return true;
}

static void forget_flight(aduan_core_t *self, uint64_t outbox_id)
{
    char key[32];
    snprintf(key, sizeof key, "%llu", (unsigned long long)outbox_id);
    flight_t *f = zhashx_lookup(self->in_flight, key);
    if (f) {
        if (f->peer && zhashx_lookup(self->peers, f->peer->key) == f->peer)
            f->peer->in_flight--;
        zhashx_delete(self->in_flight, key);
    }
}

/*  A turn writes in two transactions (see turn()): first the intakes, whose ACKs wait for
    it, synced; then what the adapters reported (RESULT) with the outbox items handed out. */
static bool in_intake_phase(const entry_t *e)
{
    return e->kind != ENTRY_RESULT;
}

/* Writes the entries of one phase inside the open transaction. An item refused for good is
   refused before anything of it is written (registry.h), so the others stand; a database
   failure rolls back the whole transaction. 0, or -1 when it must roll back. */
static int write_entries(aduan_core_t *self, bool intakes)
{
    for (size_t i = 0; i < self->batch_len; i++) {
        entry_t *e = &self->batch[i];
        if (in_intake_phase(e) != intakes)
            continue;
        const char *peer_name = e->peer && e->peer->channel ? e->peer->channel : "unknown";
        int rc = 0;
        switch (e->kind) {
        case ENTRY_INTAKE:
            rc = aduan_registry_intake(self->store, e->msg, peer_name, &e->result, e->reason,
                                       sizeof e->reason);
            break;
        case ENTRY_RESULT:
            rc = aduan_outbox_apply_result(self->store, (int64_t)e->msg->result.outbox_id,
                                           e->msg->result.status, e->msg->result.provider_id,
                                           e->msg->result.detail) == 0 ? 0 : -2;
            break;
        case ENTRY_MALFORMED:
            rc = aduan_registry_quarantine(self->store, e->peer ? e->peer->channel : "",
                                           peer_name, NULL, e->reason,
                                           e->raw ? zchunk_data(e->raw) : NULL,
                                           e->raw ? zchunk_size(e->raw) : 0) == 0 ? 0 : -2;
            break;
        }
        if (rc == -2)
            return -1;
        e->outcome = rc;
    }
    return 0;
}

static void publish_events(aduan_core_t *self)
{
    aduan_event_t *events = aduan_store_take_events(self->store);
    for (aduan_event_t *ev = events; ev; ev = ev->next) {
        aduan_msg_t *m = aduan_msg_new(ADUAN_MSG_EVENT);
        aduan_msg_set(&m->event.topic, ev->topic);
        aduan_msg_set(&m->event.ticket, ev->ticket);
        aduan_msg_set(&m->event.detail, ev->detail);
        if (aduan_msg_send(m, self->events, NULL) != 0)
            log_debug("core", "event %s not published", ev->topic);
        aduan_msg_destroy(&m);
    }
    aduan_event_list_free(&events);
}

/* ACKs or NACKs the intakes of the batch, or forgets the flights its RESULTs ended. */
static void answer_entries(aduan_core_t *self, bool intakes, bool committed)
{
    for (size_t i = 0; i < self->batch_len; i++) {
        entry_t *e = &self->batch[i];
        if (in_intake_phase(e) != intakes)
            continue;
        if (e->kind == ENTRY_RESULT) {
            self->count.results++;
            if (committed)
                forget_flight(self, e->msg->result.outbox_id);
        } else if (!committed) {
            send_nack(self, e->routing_id, e->id, "the registry could not commit; try later",
                      false);
        } else if (e->kind == ENTRY_MALFORMED) {
            send_nack(self, e->routing_id, e->id, e->reason, true);
        } else if (e->outcome != 0) {
            log_warn("core", "%s intake refused: %s", e->msg->intake.channel, e->reason);
            send_nack(self, e->routing_id, e->id, e->reason, true);
        } else {
            aduan_msg_t *ack = aduan_msg_new(ADUAN_MSG_ACK);
            aduan_msg_set(&ack->ack.ref, e->id);
            aduan_msg_set(&ack->ack.ticket, e->result.ticket);
            aduan_msg_set(&ack->ack.disposition, e->result.disposition);
            send_to(self, ack, e->routing_id);
            aduan_msg_destroy(&ack);
            self->count.acks++;
            self->count.intakes++;
            if (e->peer)
                e->peer->intakes++;
            if (strcmp(e->result.disposition, "new") == 0)
                self->count.tickets++;
            else if (strcmp(e->result.disposition, "followup") == 0)
                self->count.followups++;
            else if (strcmp(e->result.disposition, "duplicate") == 0)
                self->count.duplicates++;
        }
    }
}

static void clear_batch(aduan_core_t *self)
{
    for (size_t i = 0; i < self->batch_len; i++)
        entry_clear(&self->batch[i]);
    self->batch_len = 0;
}

/* ---- the outbox ------------------------------------------------------------------------ */

/* A DELIVER picked inside the transaction, sent once it has committed. */
typedef struct {
    peer_t *peer;
    uint64_t outbox_id;
    zmsg_t *zmsg;
    aduan_msg_t *deliver; /* handed out at intake: encoded after the ACKs */
} picked_t;

static void picked_destroy(void **item)
{
    picked_t *p = *item;
    zmsg_destroy(&p->zmsg);
    aduan_msg_destroy(&p->deliver);
    free(p);
    *item = NULL;
}

typedef struct {
    aduan_core_t *self;
    peer_t *peer;
    int picked;
} pick_ctx_t;

static int pick_due(const aduan_msg_t *deliver, void *arg)
{
    pick_ctx_t *ctx = arg;
    char key[32];
    snprintf(key, sizeof key, "%llu", (unsigned long long)deliver->deliver.outbox_id);
    if (zhashx_lookup(ctx->self->in_flight, key))
        return 0; /* with another adapter of the channel */
    if (aduan_outbox_mark_sending(ctx->self->store, (int64_t)deliver->deliver.outbox_id,
                                  (int)deliver->deliver.attempt) != 0)
        return -1;
    picked_t *p = calloc(1, sizeof *p);
    p->peer = ctx->peer;
    p->outbox_id = deliver->deliver.outbox_id;
    p->zmsg = aduan_msg_encode(deliver, NULL, 0);
    zlistx_add_end(ctx->self->outgoing, p);
    ctx->picked++;
    return 0;
}

/* True when some adapter has room and its channel has something due. Reads only. */
static bool anything_due(aduan_core_t *self)
{
    int64_t now = aduan_clock_now_ms(self->clock);
    for (peer_t *p = zhashx_first(self->peers); p; p = zhashx_next(self->peers)) {
        if (!p->channel || p->in_flight >= self->config->outbox.in_flight)
            continue;
        int64_t due = aduan_outbox_next_due_at(self->store, p->channel);
        if (due != 0 && due <= now)
            return true;
    }
    return false;
}

/* What a peer can still be given: its window (outbox.in_flight) less what it has in flight
   and what this turn picked for it, still waiting for the COMMIT. */
static int peer_room(aduan_core_t *self, const peer_t *p)
{
    int room = (int)self->config->outbox.in_flight - p->in_flight;
    for (picked_t *q = zlistx_first(self->outgoing); q; q = zlistx_next(self->outgoing))
        room -= q->peer == p;
    return room;
}

/*  The outbox's hand-out (registry.h) during the intake transaction: an adapter of the
    channel with room for one more in flight, when nothing older on the channel is due now
    (a backlog goes first, oldest first, through pick_deliveries). Not bounded by
    DELIVER_BATCH: the turn's own replies are as many as its intakes (batch_max), and
    they are sent after this turn's ACKs (a bound of 64 per channel measured the same). */
static bool handout_has_room(const char *channel, void *arg)
{
    aduan_core_t *self = arg;
    self->handout_peer = NULL;
    for (peer_t *p = zhashx_first(self->peers); p && !self->handout_peer;
         p = zhashx_next(self->peers)) {
        if (p->channel && strcmp(p->channel, channel) == 0 && peer_room(self, p) > 0)
            self->handout_peer = p;
    }
    if (!self->handout_peer)
        return false;
    /* asked once per channel and intake transaction: what it hands out is not due */
    const char *backlog = zhashx_lookup(self->handout_backlog, channel);
    if (!backlog) {
        int64_t due = aduan_outbox_next_due_at(self->store, channel);
        backlog = due != 0 && due <= aduan_clock_now_ms(self->clock) ? "yes" : "no";
        zhashx_insert(self->handout_backlog, channel, (void *)backlog);
    }
    return strcmp(backlog, "no") == 0;
}

static void handout_take(aduan_msg_t *deliver, void *arg)
{
    aduan_core_t *self = arg;
    picked_t *p = calloc(1, sizeof *p);
    if (!p) {
        aduan_msg_destroy(&deliver); /* the row is 'sending': due again after its timeout */
        return;
    }
    p->peer = self->handout_peer;
    p->outbox_id = deliver->deliver.outbox_id;
    p->deliver = deliver;
    zlistx_add_end(self->outgoing, p);
}

/* Inside the transaction: marks what is due as sending and queues the DELIVERs. */
static int pick_deliveries(aduan_core_t *self)
{
    /* a channel that gave a peer less than its room has nothing more due this turn: its
       other adapters (eight, under the bench) need not ask again */
    size_t peers = zhashx_size(self->peers), drained_count = 0;
    const char **drained = calloc(peers ? peers : 1, sizeof *drained);
    if (!drained)
        return -1;
    int rc = 0;
    for (peer_t *p = zhashx_first(self->peers); p && rc == 0; p = zhashx_next(self->peers)) {
        if (!p->channel)
            continue;
        int room = peer_room(self, p);
        int channel_room = DELIVER_BATCH; /* less what the channel was just given */
        for (picked_t *q = zlistx_first(self->outgoing); q; q = zlistx_next(self->outgoing))
            channel_room -= q->peer->channel && strcmp(q->peer->channel, p->channel) == 0;
        if (channel_room < room)
            room = channel_room;
        if (room <= 0)
            continue;
        bool done = false;
        for (size_t i = 0; i < drained_count && !done; i++)
            done = strcmp(drained[i], p->channel) == 0;
        if (done)
            continue;
        pick_ctx_t ctx = {.self = self, .peer = p};
        rc = aduan_outbox_each_due(self->store, p->channel, room, pick_due, &ctx);
        if (ctx.picked < room)
            drained[drained_count++] = p->channel;
    }
    free(drained);
    return rc;
}

static void send_deliveries(aduan_core_t *self)
{
    int64_t deadline = aduan_monotonic_ms() + self->config->outbox.deliver_timeout_s * 1000;
    for (picked_t *p = zlistx_first(self->outgoing); p; p = zlistx_next(self->outgoing)) {
        peer_t *peer = p->peer;
        if (!p->zmsg && p->deliver)
            p->zmsg = aduan_msg_encode(p->deliver, NULL, 0);
        if (!p->zmsg)
            continue; /* cannot happen: the row was checked when it was queued */
        zmsg_pushmem(p->zmsg, zframe_data(peer->routing_id), zframe_size(peer->routing_id));
        if (zmsg_send(&p->zmsg, self->intake) != 0) {
            log_warn("core", "adapter %s unreachable: %s", peer->channel,
                     zmq_strerror(zmq_errno()));
            continue; /* the row is 'sending': it comes back after its deadline */
        }
        char key[32];
        snprintf(key, sizeof key, "%llu", (unsigned long long)p->outbox_id);
        flight_t *fl = calloc(1, sizeof *fl);
        fl->peer = peer;
        fl->deadline = deadline;
        zhashx_update(self->in_flight, key, fl);
        peer->in_flight++;
        peer->delivers++;
        self->count.delivers++;
    }
    zlistx_purge(self->outgoing);
}

/*  One transaction of a turn: the entries of its phase, and, when dispatching, the outbox
    items now due marked as handed out. True when committed. */
static bool commit_phase(aduan_core_t *self, bool intakes, bool dispatching)
{
    int64_t t0 = aduan_monotonic_ms();
    bool committed = false;
    int begun = intakes ? aduan_store_begin(self->store)
                        : aduan_store_begin_unsynced(self->store);
    if (begun == 0) {
        if (write_entries(self, intakes) == 0 && (!dispatching || pick_deliveries(self) == 0) &&
            aduan_store_commit(self->store) == 0)
            committed = true;
        else
            aduan_store_rollback(self->store);
    }
    if (!committed) {
        log_error("core", "could not commit a turn's %s: %s; refused for later",
                  intakes ? "intakes" : "results", aduan_store_errmsg(self->store));
        note_error(self, "commit failed", aduan_store_errmsg(self->store));
        zlistx_purge(self->outgoing);
    }
    log_debug("core", "turn: %s, %zu deliveries, %lld ms", intakes ? "intakes" : "results",
              zlistx_size(self->outgoing), (long long)(aduan_monotonic_ms() - t0));
    return committed;
}

/*  One turn of the loop: the messages waiting on the intake socket, in two transactions.
    The intakes first, synced (one fsync), and ACKed as soon as it commits: an ACK never
    waits for anything but the intakes of its turn. The replies those intakes queued go
    out right after the ACKs, handed out in the same transaction. Then the RESULTs and
    the outbox items now due, not synced: a power cut may undo them, and a RESULT undone
    is an item sent again, as when the RESULT was still on its way (the next synced
    COMMIT, the next turn's, makes them durable). DELIVERs and events go out after their
    COMMIT. */
static void turn(aduan_core_t *self, bool intake_ready, bool check_outbox)
{
    size_t max = (size_t)self->config->core.batch_max;
    while (intake_ready && self->batch_len < max && receive_one(self))
        ;
    size_t intakes = 0;
    for (size_t i = 0; i < self->batch_len; i++)
        intakes += in_intake_phase(&self->batch[i]);
    bool dispatching = self->batch_len > 0 || (check_outbox && anything_due(self));
    if (self->batch_len == 0 && !dispatching)
        return;
    if (intakes > 0) {
        aduan_outbox_handout_t handout = {handout_has_room, handout_take, self};
        aduan_store_set_handout(self->store, &handout);
        bool committed = commit_phase(self, true, false);
        aduan_store_set_handout(self->store, NULL);
        zhashx_purge(self->handout_backlog);
        if (committed && self->unindexed == 0)
            self->unindexed_since = aduan_monotonic_ms();
        for (size_t i = 0; committed && i < self->batch_len; i++)
            self->unindexed += self->batch[i].kind == ENTRY_INTAKE;
        answer_entries(self, true, committed);
        if (committed)
            send_deliveries(self); /* the replies handed out at intake, after the ACKs */
    }
    if (intakes < self->batch_len || dispatching) {
        bool committed = commit_phase(self, false, dispatching);
        answer_entries(self, false, committed);
        if (committed)
            send_deliveries(self);
    }
    publish_events(self);
    clear_batch(self);
    self->last_dispatch = aduan_monotonic_ms();
}

/*  After the ACKs, in a transaction of its own: the search index is not part of what an
    ACK promises (store.h). */
static void index_pending(aduan_core_t *self, bool now)
{
    if (self->unindexed == 0 ||
        (!now && self->unindexed < INDEX_BATCH &&
         aduan_monotonic_ms() - self->unindexed_since < INDEX_DELAY_MS))
        return;
    int64_t t0 = aduan_monotonic_ms();
    /* message ids count the replies in the thread too: about two per intake */
    int indexed = now ? aduan_store_index_pending(self->store)
                      : aduan_store_index_some(self->store, 2 * INDEX_BATCH);
    if (indexed < 0)
        log_warn("core", "search index not filled: %s", aduan_store_errmsg(self->store));
    else
        log_debug("core", "search index: %d messages, %lld ms", indexed,
                  (long long)(aduan_monotonic_ms() - t0));
    /* what a run did not reach waits for the next, at once */
    self->unindexed = now || indexed < 0 || self->unindexed <= INDEX_BATCH
                          ? 0 : self->unindexed - INDEX_BATCH;
}

/* ---- housekeeping ---------------------------------------------------------------------- */

static void expire(aduan_core_t *self)
{
    int64_t now = aduan_monotonic_ms();
    zlistx_t *gone = zlistx_new();
    for (flight_t *f = zhashx_first(self->in_flight); f; f = zhashx_next(self->in_flight))
        if (f->deadline <= now)
            zlistx_add_end(gone, (void *)zhashx_cursor(self->in_flight));
    for (const char *key = zlistx_first(gone); key; key = zlistx_next(gone))
        forget_flight(self, strtoull(key, NULL, 10));
    zlistx_purge(gone);
    for (peer_t *p = zhashx_first(self->peers); p; p = zhashx_next(self->peers))
        if (now - p->last_seen > self->config->bus.peer_timeout_ms)
            zlistx_add_end(gone, p->key);
    for (const char *key = zlistx_first(gone); key; key = zlistx_next(gone)) {
        peer_t *p = zhashx_lookup(self->peers, key);
        log_warn("core", "adapter %s account=%s silent for %lld ms: gone",
                 p->channel ? p->channel : "unknown", p->account ? p->account : "-",
                 (long long)(now - p->last_seen));
        /* its items in flight come back after their deadline */
        for (flight_t *f = zhashx_first(self->in_flight); f; f = zhashx_next(self->in_flight))
            if (f->peer == p)
                f->peer = NULL;
        zhashx_delete(self->peers, key);
    }
    zlistx_destroy(&gone);
}

static json_t *service_stats(aduan_core_t *self)
{
    json_t *peers = json_array();
    int64_t now = aduan_monotonic_ms();
    for (peer_t *p = zhashx_first(self->peers); p; p = zhashx_next(self->peers)) {
        json_t *o = json_pack("{s:s, s:s, s:I, s:i, s:I, s:I}", "channel",
                              p->channel ? p->channel : "", "account",
                              p->account ? p->account : "", "last_seen_ms_ago",
                              (json_int_t)(now - p->last_seen), "in_flight", p->in_flight,
                              "intakes", (json_int_t)p->intakes, "delivers",
                              (json_int_t)p->delivers);
        if (p->status)
            json_object_set(o, "status", p->status);
        json_array_append_new(peers, o);
    }
    char at[32] = "";
    if (self->last_error_at)
        aduan_format_utc(self->last_error_at, at, sizeof at);
    json_t *stats = json_pack("{s:o, s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}, s:s, s:s}",
                     "adapters", peers, "counters", "intakes", (json_int_t)self->count.intakes,
                     "tickets", (json_int_t)self->count.tickets, "followups",
                     (json_int_t)self->count.followups, "duplicates",
                     (json_int_t)self->count.duplicates, "acks", (json_int_t)self->count.acks,
                     "nacks", (json_int_t)self->count.nacks, "refused",
                     (json_int_t)self->count.refused, "delivers",
                     (json_int_t)self->count.delivers, "results",
                     (json_int_t)self->count.results, "last_error", self->last_error,
                     "last_error_at", at);
    /* what SQLite holds (page caches, statements), to tell it from the rest of the RSS */
    json_object_set_new(stats, "sqlite_memory_bytes", json_integer(sqlite3_memory_used()));
    json_object_set_new(stats, "sqlite_memory_peak_bytes",
                        json_integer(sqlite3_memory_highwater(0)));
    return stats;
}

/* ---- control --------------------------------------------------------------------------- */

static void reply(aduan_core_t *self, zframe_t *routing_id, const char *ref_id,
                  const char *status, json_t *body)
{
    aduan_msg_t *m = aduan_msg_new(ADUAN_MSG_REPLY);
    snprintf(m->id, sizeof m->id, "%s", ref_id); /* the reply carries the request's id */
    aduan_msg_set(&m->reply.status, status);
    char *text = json_dumps(body, JSON_COMPACT | JSON_ENSURE_ASCII);
    aduan_msg_set(&m->reply.body, text);
    free(text);
    if (aduan_msg_send(m, self->control, routing_id) != 0)
        log_warn("control", "cannot answer a request: %s", zmq_strerror(zmq_errno()));
    aduan_msg_destroy(&m);
}

static void take_request(aduan_core_t *self)
{
    zmsg_t *zm = zmsg_recv(self->control);
    if (!zm)
        return;
    zframe_t *routing_id = zmsg_pop(zm);
    char id[ADUAN_MSG_ID_MAX + 1] = "", reason[512] = "";
    aduan_msg_t *m = aduan_msg_decode(&zm, CONTROL_MAX, id, reason, sizeof reason);
    json_t *body = NULL;
    const char *status = "error";
    if (!m || m->type != ADUAN_MSG_REQUEST) {
        if (m)
            snprintf(reason, sizeof reason, "expected REQUEST, got %s",
                     aduan_msg_type_name(m->type));
        log_warn("control", "refused a request: %s", reason);
        status = "refused";
    } else {
        json_error_t jerr;
        json_t *args = m->request.args && *m->request.args
                           ? json_loads(m->request.args, 0, &jerr)
                           : json_object();
        if (!json_is_object(args)) {
            snprintf(reason, sizeof reason, "arguments are not a JSON object");
            status = "refused";
        } else {
            json_t *stats = strcmp(m->request.command, "stats") == 0 ? service_stats(self)
                                                                     : NULL;
            aduan_control_status_t st;
            body = aduan_control_handle(self->store, m->request.command, m->request.actor,
                                        args, stats, &st, reason, sizeof reason);
            json_decref(stats);
            status = st == ADUAN_CONTROL_OK        ? "ok"
                     : st == ADUAN_CONTROL_REFUSED ? "refused"
                                                   : "error";
        }
        json_decref(args);
    }
    if (!body)
        body = json_pack("{s:s}", "reason", reason);
    reply(self, routing_id, *id ? id : "-", status, body);
    json_decref(body);
    if (strcmp(status, "ok") == 0) {
        /* a staff step committed notices and events: out at once, not at the next tick */
        self->dispatch_now = true;
        publish_events(self);
    }
    aduan_msg_destroy(&m);
    zframe_destroy(&routing_id);
}

/* ---- the loop -------------------------------------------------------------------------- */

int aduan_core_run(aduan_core_t *self, const aduan_core_loop_t *loop)
{
    zmq_pollitem_t items[] = {
        {zsock_resolve(self->intake), 0, ZMQ_POLLIN, 0},
        {zsock_resolve(self->control), 0, ZMQ_POLLIN, 0},
        {NULL, loop ? loop->stop_fd : -1, ZMQ_POLLIN, 0},
    };
    int count = loop && loop->stop_fd >= 0 ? 3 : 2;
    log_info("core", "ready");
    while (true) {
        int rc = zmq_poll(items, count,
                          self->dispatch_now ? 0 : self->unindexed ? INDEX_DELAY_MS : POLL_MS);
        if (rc < 0 && zmq_errno() != EINTR) {
            log_error("core", "poll failed: %s", zmq_strerror(zmq_errno()));
            return -1;
        }
        if (count == 3 && (items[2].revents & ZMQ_POLLIN))
            break;
        int64_t now = aduan_monotonic_ms();
        bool hello = self->dispatch_now;
        self->dispatch_now = false;
        turn(self, items[0].revents & ZMQ_POLLIN,
             hello || now - self->last_dispatch >= POLL_MS);
        index_pending(self, false);
        if (items[1].revents & ZMQ_POLLIN)
            take_request(self);
        if (now - self->last_tick >= 1000) {
            self->last_tick = now;
            expire(self);
            if (self->count.intakes + self->count.results == self->work_at_last_tick)
                malloc_trim(0); /* idle for a second: give back what a burst left free */
            self->work_at_last_tick = self->count.intakes + self->count.results;
            /* SOP (deadlines.c): reminders, escalations, confirmed deliveries; then the
               events of this and of staff steps, which commit outside turn() */
            if (aduan_deadlines_tick(self->store) > 0)
                self->dispatch_now = true;
            publish_events(self);
            if (loop && loop->tick) {
                char status[160];
                snprintf(status, sizeof status, "%zu adapters, %llu intakes, %llu delivered",
                         zhashx_size(self->peers), (unsigned long long)self->count.intakes,
                         (unsigned long long)self->count.delivers);
                loop->tick(loop->tick_arg, status);
            }
        }
    }
    index_pending(self, true);
    log_info("core", "stopping: %llu intakes taken, %llu deliveries handed out",
             (unsigned long long)self->count.intakes, (unsigned long long)self->count.delivers);
    return 0;
}
