/*  sop_helpers.h - what the SOP tests share: an environment with the whole staff of the
    SOP (the harness's help desk and head, plus a back office member and a help desk clerk
    mapped to the OS user running the tests), the daemon on a clock the test moves
    (ADUAN_TEST_CLOCK_FILE), aduanctl run as a staff member, and waits for what reached
    the test adapters. */
#ifndef ADUAN_SOP_HELPERS_H
#define ADUAN_SOP_HELPERS_H

#include "harness.h"

#define SOP_BACKOFFICE_ID "budi"
#define SOP_BACKOFFICE_EMAIL "budi.santoso@dpmptsp.example.go.id"
#define SOP_CLERK_ID "rina" /* help desk, user = the OS user running the test */
#define SOP_CTL_MS 10000

/*  A new environment (daemon not started) with the SOP's staff and extra configuration
    (e.g. "[deadlines]\nworking_days = yes"; NULL: none), Jakarta time, and the test clock
    file at offset 0. */
h_env_t *sop_env_new(const char *extra_conf);

/* Moves the daemon's clock to the wall clock plus offset_ms. */
void sop_clock_set(h_env_t *env, int64_t offset_ms);

/*  Runs aduanctl ARGS... (NULL-terminated) and checks its exit code; the run is kept in
    run (h_run_clear it). what names the command in a failure. */
void sop_ctl_expect(h_env_t *env, h_run_t *run, int code, const char *what, ...);

/*  The first DELIVER not yet taken on the adapter with this kind, ticket and recipient
    (NULL matches any), within timeout_ms; marked taken. Fails the test when none comes. */
const aduan_msg_t *sop_wait_deliver(h_adapter_t *a, const char *kind, const char *ticket,
                                    const char *to, int timeout_ms);

/* DELIVERs received and not yet taken, after pumping for ms. */
size_t sop_untaken(h_adapter_t *a, int pump_ms);

/* The audit actions of the ticket, space-separated ("recorded verified ..."); caller frees.
   With actors, "action:actor" pairs. */
char *sop_audit_trail(h_env_t *env, const char *ticket, bool actors);

/* status of the ticket (show); caller frees */
char *sop_status(h_env_t *env, const char *ticket);

/* Waits for the ticket to reach status within timeout_ms (the core's tick moves it). */
void sop_wait_status(h_env_t *env, const char *ticket, const char *status, int timeout_ms);

/* A complaint INTAKE through the adapter; returns its ticket (static buffer per call). */
void sop_complaint(h_adapter_t *a, const char *key, const char *from, const char *subject,
                   const char *text, const char *message_ref, char ticket[40]);

/* True when running as root (aduanctl --as is for root). */
bool sop_root(void);

#endif
