/*  adapter.c - the loop every channel runs in (include/aduan/adapter.h).

    One turn: open the source if it is closed and its backoff has passed; call poll() when
    it is due; send a heartbeat (with the channel's status) when one is due; send again
    what the core has not answered for a while; wait on the bus, the stop signal and the
    channel's wake descriptor until the next of these is due.

    The bus side keeps every INTAKE in flight encoded, so that it can be sent again as it
    was: after the core says HELLO unasked (it restarted and lost its peers) and after
    RESEND_MS without an answer. The dedupe key makes a repeat harmless: the core answers
    it with the first answer's ticket ("duplicate").

    A source that failed is opened again after a backoff (1 s, doubling to a minute, or
    sms.reconnect_max), or at once when the channel's present() sees it come back. Open
    again, the runner says HELLO: the core then hands out at once what failed while the
    source was away, instead of at the end of each item's backoff (the channel does the
    same through aduan_adapter_peer_back when a server of its own returns).

    DELIVERs that arrive while the channel is inside poll() (submit and wait handle the
    bus) are queued and handed over after poll() returns, so that a channel is never asked
    to send in the middle of reading its source. */
#include "aduan/adapter.h"

#include <errno.h>
#include <jansson.h>
#include <netdb.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "aduan/clock.h"
#include "aduan/curve.h"
#include "aduan/log.h"

#define WINDOW 64           /* INTAKEs in flight */
#define RESEND_MS 15000     /* unanswered this long: sent again */
#define REOPEN_FIRST_MS 1000
#define SOFTWARE "aduan-adapter/" "0.1"

typedef struct {
    char id[ADUAN_MSG_ID_MAX + 1];
    zmsg_t *encoded;
    void *cookie;
    bool orphaned; /* submitted by a state since closed: its answer goes to nobody */
    int64_t sent_at;
    int64_t submitted_at; /* the first send: how long the item has waited for the core */
} pending_t;

struct aduan_adapter {
    const aduan_channel_t *channel;
    const aduan_config_t *config;
    const char *account;
    zsock_t *sock;
    zsock_t *pipe;
    int stop_fd;
    void *state;             /* the channel's, NULL while its source is closed */
    bool in_poll;            /* DELIVERs wait in `delivers` meanwhile */
    int hellos_unanswered;   /* HELLOs of ours awaiting the core's answer */
    bool stopping;
    zhashx_t *pending;       /* message id -> pending_t */
    zlistx_t *delivers;      /* aduan_msg_t DELIVERs waiting for the channel */
    int64_t last_heard;      /* monotonic ms of the last message from the core, 0: never */
    int64_t next_beat;
    int64_t next_resend_check;
    char last_error[256];    /* the channel's last_error as last seen, and since when */
    char last_error_at[32];
};

const aduan_config_t *aduan_adapter_actor_config;

static const char *account_of(const aduan_channel_t *ch, const aduan_config_t *config)
{
    if (strcmp(ch->name, "sms") == 0)
        return config->sms.account;
    if (strcmp(ch->name, "email") == 0)
        return config->email.account;
    if (strcmp(ch->name, "phone") == 0)
        return config->phone.account;
    if (strcmp(ch->name, "box") == 0)
        return config->box.account;
    return ch->name;
}

static void pending_destroy(void **item)
{
    pending_t *p = *item;
    zmsg_destroy(&p->encoded);
    free(p);
    *item = NULL;
}

static void deliver_destroy(void **item)
{
    aduan_msg_destroy((aduan_msg_t **)item);
}

/* ---- sending ----------------------------------------------------------------------------- */

static void send_msg(aduan_adapter_t *self, const aduan_msg_t *m)
{
    if (aduan_msg_send(m, self->sock, NULL) != 0)
        log_warn(self->channel->name, "could not send %s to the core",
                 aduan_msg_type_name(m->type));
}

static void say_hello(aduan_adapter_t *self)
{
    aduan_msg_t *hello = aduan_msg_new(ADUAN_MSG_HELLO);
    aduan_msg_set(&hello->hello.channel, self->channel->name);
    aduan_msg_set(&hello->hello.account, self->account);
    aduan_msg_set(&hello->hello.software, SOFTWARE);
    send_msg(self, hello);
    aduan_msg_destroy(&hello);
    self->hellos_unanswered++;
}

/*  The channel's facts, with what every channel has: the items sent to the core and not
    answered yet, and how long the oldest has waited (aduanctl stats shows them). Takes
    status; returns it, or another string, or NULL. */
static char *with_unanswered(aduan_adapter_t *self, char *status)
{
    json_t *o = json_loads(status, 0, NULL);
    if (!json_is_object(o)) {
        json_decref(o);
        return status; /* the channel's own words, as they are */
    }
    int64_t now = aduan_monotonic_ms(), oldest = now;
    size_t n = 0;
    for (pending_t *p = zhashx_first(self->pending); p; p = zhashx_next(self->pending)) {
        if (p->orphaned)
            continue;
        n++;
        if (p->submitted_at < oldest)
            oldest = p->submitted_at;
    }
    /* when the channel's last error changed, for every channel that reports one */
    const char *error = json_string_value(json_object_get(o, "last_error"));
    if (error && *error && strcmp(error, self->last_error) != 0) {
        snprintf(self->last_error, sizeof self->last_error, "%s", error);
        time_t t = time(NULL);
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(self->last_error_at, sizeof self->last_error_at, "%Y-%m-%dT%H:%M:%SZ", &tm);
    }
    if (self->last_error_at[0] && !json_object_get(o, "last_error_at"))
        json_object_set_new(o, "last_error_at", json_string(self->last_error_at));
    json_object_set_new(o, "unanswered", json_integer((json_int_t)n));
    json_object_set_new(o, "oldest_unanswered_s",
                        json_integer((json_int_t)((now - oldest) / 1000)));
    char *merged = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (!merged)
        return status;
    free(status);
    return merged;
}

static void send_heartbeat(aduan_adapter_t *self)
{
    aduan_msg_t *beat = aduan_msg_new(ADUAN_MSG_HEARTBEAT);
    char *status = NULL;
    self->next_beat = aduan_monotonic_ms() + self->config->bus.heartbeat_ms;
    /* from inside a long poll() the channel is busy: its facts wait for the next beat */
    if (self->state && self->channel->status && !self->in_poll)
        status = self->channel->status(self->state);
    else if (!self->state)
        status = strdup("{\"connected\": false}");
    if (status)
        status = with_unanswered(self, status);
    if (status) {
        /* a status that breaks the schema must not cost the heartbeat */
        if (aduan_utf8_valid(status, strlen(status)))
            beat->heartbeat.status = status;
        else
            free(status);
    }
    send_msg(self, beat);
    aduan_msg_destroy(&beat);
}

static void resend(aduan_adapter_t *self, pending_t *p, int64_t now)
{
    zmsg_t *copy = zmsg_dup(p->encoded);
    if (!copy || zmsg_send(&copy, self->sock) != 0) {
        zmsg_destroy(&copy);
        log_warn(self->channel->name, "could not send intake %s again", p->id);
        return;
    }
    p->sent_at = now;
}

static void resend_all(aduan_adapter_t *self, int64_t older_than)
{
    int64_t now = aduan_monotonic_ms();
    size_t count = 0;
    for (pending_t *p = zhashx_first(self->pending); p; p = zhashx_next(self->pending))
        if (p->sent_at <= older_than) {
            resend(self, p, now);
            count++;
        }
    if (count)
        log_info(self->channel->name, "sent %zu unanswered intakes again", count);
}

/* ---- receiving --------------------------------------------------------------------------- */

static void on_answer(aduan_adapter_t *self, const aduan_msg_t *m)
{
    const char *ref = m->type == ADUAN_MSG_ACK ? m->ack.ref : m->nack.ref;
    pending_t *p = zhashx_lookup(self->pending, ref);
    if (!p)
        return; /* the answer to a repeat that was answered already */
    void *cookie = p->cookie;
    bool orphaned = p->orphaned;
    zhashx_delete(self->pending, ref);
    if (m->type == ADUAN_MSG_NACK)
        log_warn(self->channel->name, "core refused intake %s (%s): %s", ref,
                 m->nack.permanent ? "for good" : "for now", m->nack.reason);
    /* a cookie of a closed state may point into freed memory: the new state reads its
       source again and submits the item anew (the core answers "duplicate") */
    if (self->state && self->channel->answered && !orphaned)
        self->channel->answered(self->state, cookie, m);
}

static void hand_over(aduan_adapter_t *self, aduan_msg_t **deliver_p)
{
    aduan_msg_t *d = *deliver_p;
    if (!self->state) {
        aduan_adapter_result(self, d->deliver.outbox_id, "temporary", NULL,
                             "channel not connected to its source");
    } else if (!self->channel->deliver) {
        aduan_adapter_result(self, d->deliver.outbox_id, "permanent", NULL,
                             "this channel does not send");
    } else {
        self->channel->deliver(self->state, d);
    }
    aduan_msg_destroy(deliver_p);
}

/* Takes one message from the core. */
static void receive_one(aduan_adapter_t *self)
{
    zmsg_t *zm = zmsg_recv(self->sock);
    if (!zm)
        return;
    char reason[256];
    aduan_msg_t *m = aduan_msg_decode(&zm, (size_t)self->config->bus.max_message_bytes, NULL,
                                      reason, sizeof reason);
    if (!m) {
        log_warn(self->channel->name, "refused a message from the core: %s", reason);
        return;
    }
    int64_t now = aduan_monotonic_ms();
    bool was_up = aduan_adapter_core_up(self);
    self->last_heard = now;
    switch (m->type) {
    case ADUAN_MSG_HELLO:
        /* the answer to ours; or, unasked, the core asking who we are after its restart:
           then it has lost what was in flight, and everything unanswered goes again */
        if (!was_up)
            log_info(self->channel->name, "core answers");
        if (self->hellos_unanswered > 0) {
            self->hellos_unanswered--;
        } else {
            /* the core answers this HELLO with one of its own: it is counted, so that
               the answer is not taken for another question (each answered with a HELLO,
               that was a ping-pong without end) */
            say_hello(self);
            if (zhashx_size(self->pending))
                resend_all(self, now);
        }
        break;
    case ADUAN_MSG_HEARTBEAT:
        break;
    case ADUAN_MSG_ACK:
    case ADUAN_MSG_NACK:
        on_answer(self, m);
        break;
    case ADUAN_MSG_DELIVER:
        if (self->in_poll) {
            zlistx_add_end(self->delivers, m);
            return;
        }
        hand_over(self, &m);
        break;
    default:
        log_warn(self->channel->name, "unexpected %s from the core",
                 aduan_msg_type_name(m->type));
    }
    aduan_msg_destroy(&m);
}

static bool stop_requested(aduan_adapter_t *self, short stop_revents, short pipe_revents)
{
    if (stop_revents & POLLIN)
        return true;
    if (pipe_revents & ZMQ_POLLIN) {
        char *command = zstr_recv(self->pipe);
        bool term = !command || strcmp(command, "$TERM") == 0;
        zstr_free(&command);
        return term;
    }
    return false;
}

/*  Waits up to timeout_ms for the bus, the stop signals and the channel's descriptor;
    handles what came from the bus. Returns true when the channel's descriptor is readable. */
static bool wait_once(aduan_adapter_t *self, int timeout_ms)
{
    zmq_pollitem_t items[4];
    int n = 0, wake_at = -1, stop_at = -1, pipe_at = -1;
    items[n++] = (zmq_pollitem_t){.socket = zsock_resolve(self->sock), .events = ZMQ_POLLIN};
    if (self->pipe) {
        pipe_at = n;
        items[n++] = (zmq_pollitem_t){.socket = zsock_resolve(self->pipe), .events = ZMQ_POLLIN};
    }
    if (self->stop_fd >= 0) {
        stop_at = n;
        items[n++] = (zmq_pollitem_t){.fd = self->stop_fd, .events = ZMQ_POLLIN};
    }
    int wake_fd = self->state && self->channel->wake_fd ? self->channel->wake_fd(self->state)
                                                        : -1;
    if (wake_fd >= 0) {
        wake_at = n;
        items[n++] = (zmq_pollitem_t){.fd = wake_fd, .events = ZMQ_POLLIN};
    }
    /* a long poll() (a big mailbox) waits here for its window: the core must still hear
       from us, or it takes us for gone */
    int64_t now = aduan_monotonic_ms();
    if (now >= self->next_beat)
        send_heartbeat(self);
    if (timeout_ms > self->next_beat - now)
        timeout_ms = (int)(self->next_beat - now);
    int rc = zmq_poll(items, n, timeout_ms < 0 ? 0 : timeout_ms);
    if (rc < 0) {
        if (zmq_errno() == ETERM)
            self->stopping = true;
        return false;
    }
    if (stop_requested(self, stop_at >= 0 ? items[stop_at].revents : 0,
                       pipe_at >= 0 ? items[pipe_at].revents : 0))
        self->stopping = true;
    /* everything the socket holds now, without waiting again */
    if (items[0].revents & ZMQ_POLLIN)
        for (int i = 0; i < 1024 && (zsock_events(self->sock) & ZMQ_POLLIN); i++)
            receive_one(self);
    return wake_at >= 0 && (items[wake_at].revents & ZMQ_POLLIN);
}

/* ---- what channels call ------------------------------------------------------------------ */

int aduan_adapter_submit(aduan_adapter_t *self, aduan_msg_t **intake_p, void *cookie)
{
    aduan_msg_t *m = *intake_p;
    *intake_p = NULL;
    while (!self->stopping && zhashx_size(self->pending) >= WINDOW)
        wait_once(self, 1000);
    if (self->stopping) {
        aduan_msg_destroy(&m);
        return -1;
    }
    if (!m->intake.channel)
        aduan_msg_set(&m->intake.channel, self->channel->name);
    if (!m->intake.account)
        aduan_msg_set(&m->intake.account, self->account);
    char reason[256];
    zmsg_t *encoded = aduan_msg_encode(m, reason, sizeof reason);
    if (!encoded) {
        log_error(self->channel->name, "cannot send intake %s: %s", m->intake.dedupe_key,
                  reason);
        aduan_msg_destroy(&m);
        return -1;
    }
    pending_t *p = calloc(1, sizeof *p);
    snprintf(p->id, sizeof p->id, "%s", m->id);
    p->encoded = encoded;
    p->cookie = cookie;
    p->submitted_at = aduan_monotonic_ms();
    aduan_msg_destroy(&m);
    zhashx_insert(self->pending, p->id, p);
    resend(self, p, aduan_monotonic_ms());
    return 0;
}

size_t aduan_adapter_wait(aduan_adapter_t *self, int timeout_ms)
{
    int64_t until = aduan_monotonic_ms() + timeout_ms;
    while (!self->stopping && zhashx_size(self->pending) > 0) {
        int64_t left = until - aduan_monotonic_ms();
        if (left <= 0)
            break;
        wait_once(self, (int)(left < 1000 ? left : 1000));
    }
    return zhashx_size(self->pending);
}

size_t aduan_adapter_pending(const aduan_adapter_t *self)
{
    return zhashx_size(self->pending);
}

bool aduan_adapter_core_up(const aduan_adapter_t *self)
{
    return self->last_heard &&
           aduan_monotonic_ms() - self->last_heard < self->config->bus.peer_timeout_ms;
}

void aduan_adapter_result(aduan_adapter_t *self, uint64_t outbox_id, const char *status,
                          const char *provider_id, const char *detail)
{
    aduan_msg_t *r = aduan_msg_new(ADUAN_MSG_RESULT);
    r->result.outbox_id = outbox_id;
    aduan_msg_set(&r->result.status, status);
    aduan_msg_set(&r->result.provider_id, provider_id);
    /* the detail is a server's text: one line, bounded, valid UTF-8, or nothing */
    if (detail) {
        char line[512];
        size_t n = 0;
        for (const char *c = detail; *c && n < sizeof line - 1; c++)
            line[n++] = (unsigned char)*c < ' ' || *c == 0x7f ? ' ' : *c;
        line[n] = '\0';
        while (n > 0 && !aduan_utf8_valid(line, n))
            line[--n] = '\0'; /* a sequence cut at the bound */
        aduan_msg_set(&r->result.detail, line);
    }
    send_msg(self, r);
    aduan_msg_destroy(&r);
}

const aduan_config_t *aduan_adapter_config(const aduan_adapter_t *self)
{
    return self->config;
}

bool aduan_adapter_stopping(const aduan_adapter_t *self)
{
    return self->stopping;
}

void aduan_adapter_peer_back(aduan_adapter_t *self)
{
    log_info(self->channel->name, "can send again: telling the core");
    say_hello(self);
}

/* ---- is a server back? ------------------------------------------------------------------ */

/* Waits for events on fd until deadline (monotonic ms). */
static bool wait_for(int fd, short events, int64_t deadline)
{
    for (;;) {
        int64_t left = deadline - aduan_monotonic_ms();
        if (left <= 0)
            return false;
        struct pollfd p = {.fd = fd, .events = events};
        int rc = poll(&p, 1, (int)left);
        if (rc > 0)
            return true;
        if (rc < 0 && errno != EINTR)
            return false;
    }
}

static bool connected(int fd, const struct addrinfo *ai, int64_t deadline)
{
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
        return true;
    if (errno != EINPROGRESS || !wait_for(fd, POLLOUT, deadline))
        return false;
    int error = 0;
    socklen_t len = sizeof error;
    return getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) == 0 && error == 0;
}

/* The server's first line starts with greeting (then a QUIT, as SMTP and IMAP take it). */
static bool greets(int fd, const char *greeting, int64_t deadline)
{
    char line[128];
    size_t have = 0, want = strlen(greeting);
    while (have < want && wait_for(fd, POLLIN, deadline)) {
        ssize_t n = recv(fd, line + have, sizeof line - 1 - have, 0);
        if (n <= 0)
            return false;
        have += (size_t)n;
    }
    bool ok = have >= want && memcmp(line, greeting, want) == 0;
    if (ok) /* a polite goodbye; the answer does not depend on it */
        send(fd, "QUIT\r\n", 6, MSG_NOSIGNAL);
    return ok;
}

bool aduan_adapter_server_listens(const char *host, int port, const char *greeting,
                                  int timeout_ms)
{
    int64_t deadline = aduan_monotonic_ms() + timeout_ms;
    char service[16];
    snprintf(service, sizeof service, "%d", port);
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
    struct addrinfo *list = NULL;
    if (getaddrinfo(host, service, &hints, &list) != 0)
        return false;
    bool answered = false;
    for (struct addrinfo *ai = list; ai && !answered; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                        ai->ai_protocol);
        if (fd < 0)
            continue;
        answered = connected(fd, ai, deadline) && (!greeting || greets(fd, greeting, deadline));
        close(fd);
    }
    freeaddrinfo(list);
    return answered;
}

/* ---- the loop ---------------------------------------------------------------------------- */

static void close_source(aduan_adapter_t *self)
{
    if (self->state && self->channel->close)
        self->channel->close(self->state);
    self->state = NULL;
    /* still sent again until answered, but their answers concern nobody now */
    for (pending_t *p = zhashx_first(self->pending); p; p = zhashx_next(self->pending))
        p->orphaned = true;
}

static int64_t min64(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

int aduan_adapter_run(const aduan_channel_t *channel, const aduan_config_t *config,
                      zsock_t *pipe, int stop_fd)
{
    aduan_adapter_t self = {
        .channel = channel,
        .config = config,
        .account = account_of(channel, config),
        .pipe = pipe,
        .stop_fd = stop_fd,
    };
    const char *name = channel->name;
    self.sock = zsock_new(ZMQ_DEALER);
    if (!self.sock)
        return 1;
    zsock_set_linger(self.sock, 0); /* what is unanswered is sent again after a restart */
    zsock_set_sndhwm(self.sock, 0);
    zsock_set_rcvhwm(self.sock, 0);
    char why[256];
    if (aduan_curve_connect(self.sock, config->bus.intake, config, why, sizeof why) != 0) {
        log_error(name, "%s", why);
        zsock_destroy(&self.sock);
        return 1;
    }
    if (zsock_connect(self.sock, "%s", config->bus.intake) != 0) {
        log_error(name, "cannot connect to %s", config->bus.intake);
        zsock_destroy(&self.sock);
        return 1;
    }
    self.pending = zhashx_new();
    zhashx_set_destructor(self.pending, pending_destroy);
    self.delivers = zlistx_new();
    zlistx_set_destructor(self.delivers, deliver_destroy);
    say_hello(&self);
    log_info(name, "adapter started, account %s, core at %s", self.account, config->bus.intake);

    int64_t reopen_at = 0, reopen_wait = REOPEN_FIRST_MS, next_poll = 0;
    int64_t reopen_max = 60000;
    if (strcmp(name, "sms") == 0)
        reopen_max = config->sms.reconnect_max_s * 1000;
    bool said_hello_since_silence = true;
    bool opened_before = false;
    /*  While closed, present() is asked once a second for as long as it says the source
        is gone; once it is there, the open decides, and present() waits for the next
        failure: a server that answers but will not let us in is not asked every second. */
    int64_t next_look = 0;
    bool looking = false, seen_absent = false;
    while (!self.stopping) {
        int64_t now = aduan_monotonic_ms();
        if (!self.state && channel->present && looking && now >= next_look) {
            next_look = now + REOPEN_FIRST_MS;
            if (!channel->present(config)) {
                seen_absent = true;
            } else {
                if (seen_absent) {
                    log_info(name, "source is back: opening it now");
                    reopen_at = now;
                    /* the backoff the absence built up is over: a server that listens
                       before it lets anyone in is asked again in a second, not a minute */
                    reopen_wait = REOPEN_FIRST_MS;
                }
                looking = seen_absent = false;
            }
        }
        if (!self.state && now >= reopen_at) {
            char reason[512] = "";
            self.state = channel->open(config, &self, reason, sizeof reason);
            if (self.state) {
                log_info(name, "source open");
                /* back after it failed: the core holds what failed meanwhile ("channel
                   not connected") for its backoff, unless told */
                if (opened_before)
                    say_hello(&self);
                opened_before = true;
                looking = seen_absent = false;
                reopen_wait = REOPEN_FIRST_MS;
                next_poll = now;
            } else {
                log_warn(name, "cannot open the source (again in %llds): %s",
                         (long long)(reopen_wait / 1000), reason[0] ? reason : "no reason given");
                reopen_at = now + reopen_wait;
                reopen_wait = min64(reopen_wait * 2, reopen_max);
                looking = true;
            }
        }
        if (self.state && now >= next_poll) {
            self.in_poll = true;
            int wait = channel->poll(self.state);
            self.in_poll = false;
            now = aduan_monotonic_ms();
            if (wait < 0) {
                log_warn(name, "source failed; closing it, again in %llds",
                         (long long)(reopen_wait / 1000));
                close_source(&self);
                reopen_at = now + reopen_wait;
                reopen_wait = min64(reopen_wait * 2, reopen_max);
                looking = true;
            } else {
                next_poll = now + wait;
            }
            aduan_msg_t *d;
            while ((d = zlistx_detach(self.delivers, NULL)))
                hand_over(&self, &d);
        }
        if (now >= self.next_beat) {
            /* a core that went silent gets our HELLO again once it is back: it may have
               restarted and not know us */
            if (!aduan_adapter_core_up(&self)) {
                if (!said_hello_since_silence) {
                    say_hello(&self);
                    said_hello_since_silence = true;
                }
            } else {
                said_hello_since_silence = false;
            }
            send_heartbeat(&self);
        }
        if (now >= self.next_resend_check) {
            resend_all(&self, now - RESEND_MS);
            self.next_resend_check = now + RESEND_MS / 4;
        }
        int64_t until = min64(self.next_beat, self.next_resend_check);
        until = min64(until, self.state ? next_poll : reopen_at);
        if (!self.state && channel->present && looking)
            until = min64(until, next_look);
        if (wait_once(&self, (int)(until > now ? until - now : 0)))
            next_poll = 0;
    }
    close_source(&self);
    log_info(name, "adapter stopped, %zu intakes unanswered (sent again next time)",
             zhashx_size(self.pending));
    zlistx_destroy(&self.delivers);
    zhashx_destroy(&self.pending);
    zsock_destroy(&self.sock);
    return 0;
}

void aduan_adapter_actor(zsock_t *pipe, void *args)
{
    const aduan_channel_t *channel = args;
    zsock_signal(pipe, 0);
    aduan_adapter_run(channel, aduan_adapter_actor_config, pipe, -1);
}
