/*  registry.h - what the core does with the registry: intake, threading, the outbox,
    the audit trail and the queries staff run. All of it works inside the caller's
    transaction (aduan_store_begin ... aduan_store_commit); none of it commits. */
#ifndef ADUAN_REGISTRY_H
#define ADUAN_REGISTRY_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "aduan/bus.h"
#include "aduan/template.h"
#include "store.h"

/* ---- intake (intake.c) ------------------------------------------------------------- */

typedef struct {
    char ticket[40];         /* empty for a quarantined item or an unknown status query */
    const char *disposition; /* new, followup, duplicate, status, quarantined */
    int64_t complaint_id;    /* 0 when there is none */
} aduan_intake_result_t;

/*  Registers one INTAKE. The same (channel, dedupe_key) again gets the first answer back
    with disposition "duplicate". A new complaint gets the next ticket of the year, its
    acknowledgement and the help desk's notices in the outbox, an audit row and events.
    peer names the adapter for the log and the quarantine.
    Returns 0, or -1 when the item is refused for good (reason) -- always before anything
    of it is written, so the rest of the batch stands -- or -2 when the database failed
    and the whole transaction must be rolled back. */
int aduan_registry_intake(aduan_store_t *store, const aduan_msg_t *intake, const char *peer,
                          aduan_intake_result_t *result, char *reason, size_t reasonlen);

/*  Keeps what could not be decoded at all (the bus refused it) with its reason. */
int aduan_registry_quarantine(aduan_store_t *store, const char *channel, const char *peer,
                              const char *dedupe_key, const char *reason, const void *raw,
                              size_t raw_size);

/*  Threading: attaches an incoming message to an existing complaint as a follow-up.
    Channels find the ticket by their own rules and name it in INTAKE.thread_ticket, or
    give In-Reply-To/References that name a message we sent. */
int aduan_registry_find_thread(aduan_store_t *store, const aduan_msg_t *intake,
                               int64_t *complaint_id, char ticket[40]);

/*  Next ticket for the year of now_ms (local time): PREFIX-YYYY-NNNNN, gap-free because
    the counter moves inside the same transaction as the complaint. */
int aduan_registry_next_ticket(aduan_store_t *store, int64_t now_ms, char ticket[40]);

/* ---- texts and staff notices (notify.c) -------------------------------------------- */

/*  Renders template <name>_<channel> when the channel has its own variant (ack_sms), else
    <name>. A missing template falls back to fallback_text, so a citizen still hears from
    us; the log says why. Free out with aduan_rendered_clear. */
void aduan_registry_render(aduan_store_t *store, const char *name, const char *channel,
                           const aduan_template_var_t *vars, const char *fallback_text,
                           aduan_rendered_t *out);

/*  Queues a notice from template `name` to every staff member of the role, by the
    channel(s) each prefers (notify = sms, email, both). */
int aduan_registry_notify_staff(aduan_store_t *store, aduan_role_t role, int64_t complaint_id,
                                const char *name, const aduan_template_var_t *vars,
                                const char *fallback_text);

/* ---- outbox (outbox.c) ------------------------------------------------------------- */

typedef struct {
    int64_t retry_base_ms;
    int64_t retry_max_ms;
    int max_attempts;
    int64_t deliver_timeout_ms;
} aduan_retry_policy_t;

void aduan_retry_policy_from_config(const aduan_config_t *config, aduan_retry_policy_t *p);
/* Delay before the next try after `attempts` failed tries: base * 2^(attempts-1), capped. */
int64_t aduan_retry_delay_ms(const aduan_retry_policy_t *p, int attempts);

typedef struct {
    int64_t complaint_id;  /* 0: none */
    const char *ticket;
    const char *kind;      /* ack, notice, response, status, reminder */
    const char *channel;
    const char *account;
    const char *to_addr;
    const char *to_name;
    const char *staff_id;  /* notices */
    const char *subject;
    const char *body;
    const char *in_reply_to;
    const char *references;
    bool automatic;        /* counts against the sender's daily limit of automatic replies */
} aduan_outbox_item_t;

/*  Queues an item; *id_out gets its row id. An automatic reply over the per-sender
    daily limit is kept as 'suppressed' (visible, never sent). */
int aduan_outbox_queue(aduan_store_t *store, const aduan_outbox_item_t *item, int64_t *id_out);

/*  Handing out at once. While the core has one set (aduan_store_set_handout: around its
    intake transaction), an item queued for a channel whose adapter has room is written
    already handed out ('sending', first try, due again after its timeout) and its DELIVER
    given to take(), to be sent once the transaction has committed. Otherwise the next turn
    would find it due, mark it sending and read it back: two more statements on the row. */
typedef struct aduan_outbox_handout {
    bool (*has_room)(const char *channel, void *arg);
    void (*take)(aduan_msg_t *deliver, void *arg); /* takes ownership */
    void *arg;
} aduan_outbox_handout_t;

/*  Calls fn for each item due now on the channel (pending, or sending past its
    deadline), oldest first, at most limit. fn returns 0 to go on. */
typedef int (*aduan_outbox_due_fn)(const aduan_msg_t *deliver, void *arg);
int aduan_outbox_each_due(aduan_store_t *store, const char *channel, int limit,
                          aduan_outbox_due_fn fn, void *arg);

/*  The item was handed to an adapter for its attempt-th try (DELIVER.attempt, from
    aduan_outbox_each_due): due again after its timeout. 0, or -1 (no such item). */
int aduan_outbox_mark_sending(aduan_store_t *store, int64_t outbox_id, int attempt);

/*  Applies a RESULT: sent / delivered end it; temporary schedules the next try (or fails
    it after the last, telling staff); permanent fails it and tells staff. */
int aduan_outbox_apply_result(aduan_store_t *store, int64_t outbox_id, const char *status,
                              const char *provider_id, const char *detail);

/* Earliest next_attempt_at of anything pending on the channel; 0 when nothing waits. */
int64_t aduan_outbox_next_due_at(aduan_store_t *store, const char *channel);

/*  The channel's adapter is back (it said HELLO: it started, or its source or server
    answers again): what waits on the channel after a temporary failure is due now rather
    than at the end of its backoff. Items being sent are left alone. Returns how many, or
    -1 on a database error. */
int aduan_outbox_retry_now(aduan_store_t *store, const char *channel);

/* ---- audit (audit.c) --------------------------------------------------------------- */

/* Appends a row chained to the previous one by SHA-256. */
int aduan_audit_append(aduan_store_t *store, const char *actor, int64_t complaint_id,
                       const char *action, const char *detail);

/*  Walks the chain; returns 0 when intact, or the id of the first row whose hash does not
    match (>0), or -1 on a database error. */
int64_t aduan_audit_verify(aduan_store_t *store);

/* ---- queries (query.c): answers for the control endpoint, as JSON ------------------ */

json_t *aduan_query_list(aduan_store_t *store, const json_t *args, char *reason, size_t rl);
json_t *aduan_query_show(aduan_store_t *store, const json_t *args, char *reason, size_t rl);
json_t *aduan_query_search(aduan_store_t *store, const json_t *args, char *reason, size_t rl);
json_t *aduan_query_stats(aduan_store_t *store, const json_t *args, char *reason, size_t rl);
json_t *aduan_query_quarantine(aduan_store_t *store, const json_t *args, char *reason,
                               size_t rl);

/* ---- the SOP workflow (workflow.c) ------------------------------------------------- */

/*  The steps of SOP Penanganan Pengaduan (DESIGN.md) as staff commands: verify, reject,
    merge, review, forward, meeting, minutes, respond, delivered, archive. */
bool aduan_workflow_is_step(const char *command);

/*  Runs one step for a staff member (acting; os_user is who ran aduanctl, for the audit
    when it differs) inside the caller's transaction: checks the role and the order, does
    the step, writes its audit row and events, and queues the notice to the role that acts
    next. args: {"ticket": ..., and the step's own}. Returns the reply body (caller owns),
    or NULL with reason and *refused: true when the step was said no to (nothing written),
    false when the database failed (roll back). */
json_t *aduan_workflow_step(aduan_store_t *store, const char *step, const aduan_staff_t *staff,
                            const char *os_user, const json_t *args, bool *refused,
                            char *reason, size_t reasonlen);

/*  The SOP's part of `show`: steps done (from the audit), meetings, documents, the
    response and the deadlines now running. Caller owns; NULL on a database error. */
json_t *aduan_workflow_details(aduan_store_t *store, const char *ticket, char *reason,
                               size_t reasonlen);

/*  `aduanctl document TICKET N`: the complaint's Nth document (minutes, responses, in the
    order show lists them) with its bytes: {ticket, number, kind, name, content_type, size,
    sha256, staff_id, at, content_base64}. Caller owns; NULL with reason. */
json_t *aduan_workflow_document(aduan_store_t *store, const json_t *args, char *reason,
                                size_t reasonlen);

/*  A response row went out: "delivered" for any channel, "sent" for email (an SMTP
    acceptance), moves the complaint from responded to delivered. Looked for by the tick
    rather than hooked into outbox.c, so the outbox stays ignorant of the SOP. Inside the
    caller's transaction; returns how many complaints moved, or -1. */
int aduan_workflow_confirm_deliveries(aduan_store_t *store);

/*  What a state waits for: the role that acts next, the days it has (0: no deadline of
    its own) and the action's name ("verify"). false for a final state (archived,
    rejected) or an unknown one. */
bool aduan_workflow_state_duty(const aduan_config_t *cfg, const char *state, aduan_role_t *role,
                               int *days, const char **action);

/* The state's label for texts ("Sedang ditelaah"), in the configured language. */
const char *aduan_workflow_state_label(const char *state, const char *language);

/* ---- deadlines (deadlines.c) ------------------------------------------------------- */

/*  The end (23:59:59.999, local time) of the day `days` days after the day of start_ms:
    calendar days, or working days (Monday to Friday, not in holidays, a comma-separated
    YYYY-MM-DD list) when working_days. days 0 is the end of the start day itself. */
int64_t aduan_deadline_after(int64_t start_ms, int days, bool working_days,
                             const char *holidays);

/* True when the local day of ms is a working day. */
bool aduan_deadline_is_working_day(int64_t ms, const char *holidays);

/*  When a complaint entering `state` at received_at, with no notice sent, next needs the
    scan's look: its first reminder or deadline; 0 at once; -1 never. The intake writes it
    with the new row, so the scan never rewrites every new complaint only to learn this. */
int64_t aduan_deadlines_first_check(const aduan_config_t *cfg, const char *state,
                                    int64_t received_at, int64_t now);

/*  One scan of the deadlines, in a transaction of its own: reminders before a deadline to
    the role that acts, escalations after it to the head; the deliveries the channels
    confirmed (aduan_workflow_confirm_deliveries); the monthly summary on the first of the
    month. Looks only at complaints due for a look (complaint.next_check_at). Returns the
    number of notices queued, or -1 (rolled back). */
int aduan_deadlines_tick(aduan_store_t *store);

/* `aduanctl overdue`: open complaints past a deadline, oldest deadline first. */
json_t *aduan_deadlines_overdue(aduan_store_t *store, const json_t *args, char *reason,
                                size_t reasonlen);

/* ---- the telephone channel (calls.c) ---------------------------------------------- */

/*  A call record (INTAKE intent "call"): a row of the call log keyed by its record id
    (message_ref); the same record again is "duplicate". A missed call from a mobile may
    queue the invitation SMS (phone.invite_missed). A record that breaks the rules (not
    E.164, no status) is quarantined. 0, or -2 on a database error. */
int aduan_registry_call(aduan_store_t *store, const aduan_msg_t *intake,
                        aduan_intake_result_t *result, char *reason, size_t reasonlen);

typedef enum {
    ADUAN_CALL_ROUTE_AS_IS,    /* queue *routed (a mobile: now on channel sms) */
    ADUAN_CALL_ROUTE_CALLBACK, /* queue it as handed to the help desk, with a call-back task */
    ADUAN_CALL_ROUTE_NONE,     /* nothing to queue: an acknowledgement to a landline */
} aduan_call_route_t;

/*  How an outbox item on channel "phone" reaches the caller: by SMS to a mobile, by a
    call-back otherwise. Items of other channels come back as they are. */
aduan_call_route_t aduan_calls_route(aduan_store_t *store, const aduan_outbox_item_t *item,
                                     aduan_outbox_item_t *routed);
/* The help desk's call-back task for the outbox row. 0 or -1. */
int aduan_calls_add_task(aduan_store_t *store, int64_t outbox_id,
                         const aduan_outbox_item_t *item);

/*  `aduanctl call` (args from, name, text or file, record) and `aduanctl called` (args
    task, note): staff commands with the signature of aduan_workflow_step. */
json_t *aduan_calls_note(aduan_store_t *store, const aduan_staff_t *staff, const char *os_user,
                         const json_t *args, bool *refused, char *reason, size_t reasonlen);
json_t *aduan_calls_done(aduan_store_t *store, const aduan_staff_t *staff, const char *os_user,
                         const json_t *args, bool *refused, char *reason, size_t reasonlen);
/*  `aduanctl calls`: args status (answered|missed), from, to (YYYY-MM-DD), limit; or todo:
    the open call-back tasks. */
json_t *aduan_query_calls(aduan_store_t *store, const json_t *args, char *reason, size_t rl);

/* ---- registers and reports (reports.c) --------------------------------------------- */

/*  `aduanctl report`: args {"report": "agenda"|"responses"|"summary", "from", "to"
    (YYYY-MM-DD, local days, inclusive) or "month" (YYYY-MM), "format": "csv"|"pdf"|
    "json"}. Returns {"report", "format", "rows" (json) or "content" (csv text) or
    "content_base64" (pdf)}. Caller owns; NULL with reason. */
json_t *aduan_report(aduan_store_t *store, const json_t *args, char *reason, size_t reasonlen);

/*  One CSV cell, quoted as RFC 4180 says, and a leading =, +, -, @, TAB or CR prefixed
    with ' so that a spreadsheet never reads it as a formula. */
void aduan_csv_cell(FILE *out, const char *text);

/*  The monthly summary (counts by channel and state, overdue, median days to a response)
    of month "YYYY-MM" as JSON; caller owns; NULL with reason. */
json_t *aduan_report_summary(aduan_store_t *store, const char *month, char *reason,
                             size_t reasonlen);

#endif
