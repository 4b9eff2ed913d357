/*  control.h - staff commands and queries that arrive on the control endpoint. */
#ifndef ADUAN_CONTROL_H
#define ADUAN_CONTROL_H

#include <jansson.h>

#include "store.h"

typedef enum {
    ADUAN_CONTROL_OK = 0,
    ADUAN_CONTROL_REFUSED, /* the request was understood and said no to (reason) */
    ADUAN_CONTROL_ERROR,   /* it could not be carried out */
} aduan_control_status_t;

/*  Runs one command for actor (an OS user). service_stats is the core's own view (peers,
    counters) that `stats` adds to the registry's figures; borrowed. Returns the reply body
    (caller owns) or NULL with status and reason. */
json_t *aduan_control_handle(aduan_store_t *store, const char *command, const char *actor,
                             const json_t *args, const json_t *service_stats,
                             aduan_control_status_t *status, char *reason, size_t reasonlen);

#endif
