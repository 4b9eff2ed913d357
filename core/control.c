/*  control.c - the table of staff commands. Each entry names its command, whether it
    writes (and so runs in a transaction of its own, as the staff member the actor maps
    to), and its handler.

    Who acts: the REQUEST's actor is the OS user that ran aduanctl; aduan.conf maps it to
    a staff member ([staff.x] user =). An explicit "as" (aduanctl --as ID) is taken only
    from the OS users of [core] act_as_users. The actor is what aduanctl says: the control
    endpoint's permissions (an ipc:// socket the aduan group may open) are what keeps
    others out. */
#include "control.h"

#include <string.h>

#include "aduan/log.h"
#include "registry.h"

typedef json_t *(*query_fn)(aduan_store_t *, const json_t *, char *, size_t);
typedef json_t *(*step_fn)(aduan_store_t *, const aduan_staff_t *, const char *, const json_t *,
                           bool *, char *, size_t);

typedef struct {
    const char *name;
    query_fn run;
    bool writes; /* a step of the SOP: needs a staff member, runs in its own transaction */
    step_fn step; /* a write that is not a step of the SOP (default: aduan_workflow_step) */
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

/* show, with what the SOP added to the complaint: meetings, documents, responses */
static json_t *show(aduan_store_t *store, const json_t *args, char *reason, size_t rl)
{
    json_t *body = aduan_query_show(store, args, reason, rl);
    if (!body)
        return NULL;
    json_t *more = aduan_workflow_details(
        store, json_string_value(json_object_get(body, "ticket")), reason, rl);
    if (!more) {
        json_decref(body);
        return NULL;
    }
    json_object_update(body, more);
    json_decref(more);
    return body;
}

static const command_t commands[] = {
    {.name = "list", .run = aduan_query_list},
    {.name = "show", .run = show},
    {.name = "document", .run = aduan_workflow_document},
    {.name = "search", .run = aduan_query_search},
    {.name = "stats", .run = aduan_query_stats},
    {.name = "quarantine", .run = aduan_query_quarantine},
    {.name = "audit-verify", .run = audit_verify},
    {.name = "overdue", .run = aduan_deadlines_overdue},
    {.name = "report", .run = aduan_report},
    {.name = "verify", .writes = true},
    {.name = "reject", .writes = true},
    {.name = "merge", .writes = true},
    {.name = "review", .writes = true},
    {.name = "forward", .writes = true},
    {.name = "meeting", .writes = true},
    {.name = "minutes", .writes = true},
    {.name = "respond", .writes = true},
    {.name = "delivered", .writes = true},
    {.name = "archive", .writes = true},
    {.name = "transcribe", .writes = true},
    {.name = "calls", .run = aduan_query_calls},
    {.name = "call", .writes = true, .step = aduan_calls_note},
    {.name = "called", .writes = true, .step = aduan_calls_done},
};

static bool in_list(const char *word, const char *list)
{
    size_t len = strlen(word);
    for (const char *p = list; *p;) {
        while (*p == ',' || *p == ' ')
            p++;
        const char *end = p + strcspn(p, ", ");
        if ((size_t)(end - p) == len && strncmp(p, word, len) == 0)
            return true;
        p = end;
    }
    return false;
}

/* The staff member who acts, or NULL with the reason. */
static const aduan_staff_t *acting_staff(const aduan_config_t *cfg, const char *actor,
                                         const json_t *args, char *reason, size_t rl)
{
    const char *as = json_string_value(json_object_get(args, "as"));
    if (!actor || !*actor) {
        snprintf(reason, rl, "the request names no OS user");
        return NULL;
    }
    if (as && *as) {
        if (!in_list(actor, cfg->core.act_as_users)) {
            snprintf(reason, rl, "%.64s may not act for another staff member (--as): only %.200s",
                     actor, *cfg->core.act_as_users ? cfg->core.act_as_users : "(nobody)");
            return NULL;
        }
        for (size_t i = 0; i < cfg->staff_count; i++)
            if (strcmp(cfg->staff[i].id, as) == 0 ||
                (cfg->staff[i].user && strcmp(cfg->staff[i].user, as) == 0))
                return &cfg->staff[i];
        snprintf(reason, rl, "no staff member '%.64s' in the configuration", as);
        return NULL;
    }
    const aduan_staff_t *s = aduan_config_staff_by_user(cfg, actor);
    if (!s)
        snprintf(reason, rl, "the OS user %.64s is no staff member: map it with "
                             "[staff.ID] user = %.64s in aduan.conf",
                 actor, actor);
    return s;
}

/* A step of the SOP in a transaction of its own. */
static json_t *run_step(aduan_store_t *store, const command_t *cmd, const char *actor,
                        const json_t *args, aduan_control_status_t *status, char *reason,
                        size_t rl)
{
    const char *command = cmd->name;
    *status = ADUAN_CONTROL_REFUSED;
    const aduan_staff_t *staff = acting_staff(aduan_store_config(store), actor, args, reason, rl);
    if (!staff) {
        log_info("control", "%s by %s refused: %s", command, actor ? actor : "-", reason);
        return NULL;
    }
    if (aduan_store_begin(store) != 0) {
        *status = ADUAN_CONTROL_ERROR;
        snprintf(reason, rl, "the registry is busy: %s", aduan_store_errmsg(store));
        return NULL;
    }
    bool refused = false;
    json_t *body = cmd->step ? cmd->step(store, staff, actor, args, &refused, reason, rl)
                             : aduan_workflow_step(store, command, staff, actor, args, &refused,
                                                   reason, rl);
    if (body && aduan_store_commit(store) == 0) {
        *status = ADUAN_CONTROL_OK;
        return body;
    }
    if (body) {
        snprintf(reason, rl, "%s could not be committed: %s", command, aduan_store_errmsg(store));
        json_decref(body);
        refused = false;
    }
    aduan_store_rollback(store);
    *status = refused ? ADUAN_CONTROL_REFUSED : ADUAN_CONTROL_ERROR;
    return NULL;
}

json_t *aduan_control_handle(aduan_store_t *store, const char *command, const char *actor,
                             const json_t *args, const json_t *service_stats,
                             aduan_control_status_t *status, char *reason, size_t reasonlen)
{
    *status = ADUAN_CONTROL_OK;
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(commands[i].name, command) != 0)
            continue;
        if (commands[i].writes)
            return run_step(store, &commands[i], actor, args, status, reason, reasonlen);
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
