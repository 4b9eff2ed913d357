/*  adapter.h - the one shape of every channel adapter, and the loop that runs it.

    A channel is a table of functions (channels/<name>/, .name = "sms", .open = ...); the
    runner in channels/adapter.c owns the bus side: HELLO, heartbeats, a window of INTAKEs
    in flight, sending again what the core has not answered (the dedupe key makes that
    safe), DELIVER -> the channel -> RESULT. The channel owns its source: it reads it in
    poll(), submits items, and touches the source only in answered(), after the ACK
    (DESIGN.md, the contract).

    Everything of one adapter runs in one thread: the runner calls the channel's functions
    one at a time, so a channel needs no locks. In the one-process layout each adapter is a
    thread of aduan-gatewayd; with --only it is the process.
*/
#ifndef ADUAN_ADAPTER_H
#define ADUAN_ADAPTER_H

#include <czmq.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aduan/bus.h"
#include "aduan/config.h"

typedef struct aduan_adapter aduan_adapter_t;

typedef struct {
    const char *name; /* "sms": the component, the bus channel and the config section */
    /*  Opens the source (modem, mailbox) in the adapter's thread. Returns the channel's
        state, or NULL with a reason: the runner logs it and tries again with backoff, so
        a modem that is not plugged in yet is not fatal. */
    void *(*open)(const aduan_config_t *config, aduan_adapter_t *adapter, char *reason,
                  size_t reasonlen);
    /*  Does the source's work: reads new items and submits them. Returns the ms until it
        wants to be called again (0: at once), or -1 when the source failed: the runner
        closes it, says so, and opens it again after a backoff. */
    int (*poll)(void *self);
    /*  Optional: while the source is closed, whether it looks present again (a device
        node that exists again), asked about once a second: a cheap look, nothing sent to
        the source. When it turns true after being false the runner opens the source at
        once instead of at the end of its backoff, so a modem plugged back in is used
        within a second while one that is there but will not open is still tried only as
        the backoff says. */
    bool (*present)(const aduan_config_t *config);
    /*  Optional: a descriptor that, when readable, makes the runner call poll() at once
        (an IMAP socket in IDLE, an inotify descriptor), or -1. Asked before every wait. */
    int (*wake_fd)(void *self);
    /*  The core's answer to an item submitted with cookie: ACK (committed; now the source
        may be touched) or NACK (not committed; answer->nack.permanent says whether a
        retry can help). Called once per submitted item, unless the runner stops first or
        the state that submitted it was closed meanwhile (then the item is still sent
        until answered, but its answer is dropped: the new state reads the source again
        and submits it anew, and the core answers "duplicate" with the same ticket). */
    void (*answered)(void *self, void *cookie, const aduan_msg_t *answer);
    /*  One outbox item to send. The channel reports with aduan_adapter_result, now or
        later from poll() (a delivery report). Optional for intake-only channels. */
    void (*deliver)(void *self, const aduan_msg_t *deliver);
    /*  Optional: the channel's facts for `aduanctl stats` as a JSON object text (signal,
        network, last error, queue sizes); caller frees. Sent with every heartbeat. */
    char *(*status)(void *self);
    /*  Closes the source and frees the state. Items still unanswered were not ACKed, so
        their source was not touched: they are read again after the next open. */
    void (*close)(void *self);
} aduan_channel_t;

/*  Sends an intake to the core. Takes ownership of *intake_p and NULLs it; fills channel
    and account when the channel left them empty. When the window of items in flight is
    full, it first waits for answers (handling other bus traffic, DELIVERs included).
    Returns 0, or -1 when the runner is stopping or the message breaks the schema (then
    answered() is not called for it; the reason is logged). */
int aduan_adapter_submit(aduan_adapter_t *self, aduan_msg_t **intake_p, void *cookie);

/*  Waits up to timeout_ms for answers to everything submitted, handling bus traffic.
    Returns the number of items still unanswered (0: all answered). */
size_t aduan_adapter_wait(aduan_adapter_t *self, int timeout_ms);

/* Items submitted and not yet answered. */
size_t aduan_adapter_pending(const aduan_adapter_t *self);

/*  True while the core answers: something came from it within bus.peer_timeout_ms (the
    runner sends heartbeats so that it does). A channel with a filling source (a SIM)
    spills into its own durable queue while this is false. */
bool aduan_adapter_core_up(const aduan_adapter_t *self);

/* Reports the outcome of a DELIVER: status "sent", "delivered", "temporary" or
   "permanent"; provider_id and detail may be NULL. */
void aduan_adapter_result(aduan_adapter_t *self, uint64_t outbox_id, const char *status,
                          const char *provider_id, const char *detail);

/* The configuration the adapter runs with (borrowed). */
const aduan_config_t *aduan_adapter_config(const aduan_adapter_t *self);

/*  True once the runner has been asked to stop: a channel in a long loop (a big IMAP
    sync) checks it between items. */
bool aduan_adapter_stopping(const aduan_adapter_t *self);

/*  The channel's server answers again after it was away (a mail server that refused
    connections): the core is told (a HELLO again, as after the source reopens), and hands
    out at once what it holds back for the channel instead of at the end of each item's
    backoff. Call it once per return, not per successful send. */
void aduan_adapter_peer_back(aduan_adapter_t *self);

/*  Whether a server of the channel is there: one TCP connection to host:port within
    timeout_ms and, with greeting ("220"), its first line starting so (plaintext only);
    closed again at once. The cheap question for present() and for a channel waiting for
    a server of its own to come back: nothing logs in, nothing is sent but a QUIT. */
bool aduan_adapter_server_listens(const char *host, int port, const char *greeting,
                                  int timeout_ms);

/*  Runs the channel until stop_fd becomes readable (a signalfd, an eventfd) or, in a
    zactor, until pipe receives $TERM; either may be -1 / NULL. Returns 0 on a clean stop,
    1 when the channel cannot run (no bus). */
int aduan_adapter_run(const aduan_channel_t *channel, const aduan_config_t *config,
                      zsock_t *pipe, int stop_fd);

/*  A zactor function for the one-process layout: args is the aduan_channel_t; the
    configuration is taken from aduan_adapter_actor_config, set before the actors start. */
void aduan_adapter_actor(zsock_t *pipe, void *args);
extern const aduan_config_t *aduan_adapter_actor_config;

#endif
