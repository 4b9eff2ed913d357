/*  service.h - the core: the registry service on the bus.

    Binds the three endpoints of DESIGN.md (intake ROUTER, events PUB, control ROUTER),
    takes intakes in groups (one transaction, one fsync, then the ACKs), hands the outbox
    to the adapters of each channel, applies their RESULTs, publishes every change, and
    answers staff commands. One thread owns the database; nothing else writes it. */
#ifndef ADUAN_SERVICE_H
#define ADUAN_SERVICE_H

#include <stdint.h>

#include "aduan/clock.h"
#include "aduan/config.h"

typedef struct aduan_core aduan_core_t;

/*  Takes the state directory's lock (a second core on it is refused), opens the registry
    and binds the endpoints. config and clock are borrowed (clock NULL = wall clock).
    Returns NULL with reason on failure. */
aduan_core_t *aduan_core_new(const aduan_config_t *config, const aduan_clock_t *clock,
                             char *reason, size_t reasonlen);
void aduan_core_destroy(aduan_core_t **self_p);

typedef struct {
    int stop_fd; /* when readable: finish the transaction at hand and return; -1: none */
    /* called about once a second with a one-line status (systemd watchdog and STATUS) */
    void (*tick)(void *arg, const char *status);
    void *tick_arg;
} aduan_core_loop_t;

/* Runs until stop_fd is readable. 0 on a clean stop, -1 on a fatal error. */
int aduan_core_run(aduan_core_t *self, const aduan_core_loop_t *loop);

#endif
