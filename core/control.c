/*  control.c - the table of staff commands. Each entry names its command, whether it
    writes (and so runs in a transaction of its own), and its handler. */
#include "control.h"

#include <string.h>

#include "aduan/log.h"
#include "registry.h"

typedef json_t *(*query_fn)(aduan_store_t *, const json_t *, char *, size_t);

typedef struct {
    const char *name;
    query_fn run;
} command_t;

static json_t *audit_verify(aduan_store_t *store, const json_t *args, char *reason, size_t rl)
{
    (void)args;
    int64_t broken = aduan_audit_verify(store);
    if (broken < 0) {
        snprintf(reason, rl, "cannot read the audit trail: %s", aduan_store_errmsg(store));
        return NULL;
    }
    return json_pack("{s:b, s:I}", "intact", broken == 0, "first_broken_row",
                     (json_int_t)broken);
}

static const command_t commands[] = {
    {.name = "list", .run = aduan_query_list},
    {.name = "show", .run = aduan_query_show},
    {.name = "search", .run = aduan_query_search},
    {.name = "stats", .run = aduan_query_stats},
    {.name = "quarantine", .run = aduan_query_quarantine},
    {.name = "audit-verify", .run = audit_verify},
};

json_t *aduan_control_handle(aduan_store_t *store, const char *command, const char *actor,
                             const json_t *args, const json_t *service_stats,
                             aduan_control_status_t *status, char *reason, size_t reasonlen)
{
    *status = ADUAN_CONTROL_OK;
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(commands[i].name, command) != 0)
            continue;
        json_t *body = commands[i].run(store, args, reason, reasonlen);
        if (!body) {
            /* a query that found nothing to answer is a refusal, not a failure */
            *status = strncmp(reason, "query failed", 12) == 0 ? ADUAN_CONTROL_ERROR
                                                               : ADUAN_CONTROL_REFUSED;
            return NULL;
        }
        if (strcmp(command, "stats") == 0 && service_stats)
            json_object_set(body, "service", (json_t *)service_stats);
        log_debug("control", "%s by %s", command, actor ? actor : "-");
        return body;
    }
    *status = ADUAN_CONTROL_REFUSED;
    snprintf(reasonlen ? reason : NULL, reasonlen, "unknown command '%.64s'", command);
    return NULL;
}
