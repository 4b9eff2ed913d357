/*  harness.h - what the integration tests share: a temporary state directory with its
    configuration, the real aduan-gatewayd started on it, a test adapter on the intake
    endpoint, a subscriber on the events endpoint, requests on the control endpoint, and
    aduanctl run as a staff member would run it.

    Every wait has a timeout and waits on something (a socket, the child's pidfd); nothing
    sleeps to get past a race.

    A test's life:
        h_env_t *env = h_env_new(NULL);          temp dir + aduan.conf
        assert_int_equal(h_daemon_start(env), 0);  spawned, and answering on control
        ... adapters, control, aduanctl ...
        h_pass(env);                             last line of the test
        h_env_destroy(&env);                     in the teardown: kills what still runs,
                                                 prints the daemon's log when the test did
                                                 not reach h_pass, removes the folder
    Set ADUAN_TEST_KEEP=1 to keep the folder (its path is printed).
*/
#ifndef ADUAN_TEST_HARNESS_H
#define ADUAN_TEST_HARNESS_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <czmq.h>
#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

#include "aduan/bus.h"

#ifndef ADUAN_BIN_DIR
#error "ADUAN_BIN_DIR must name the folder of aduan-gatewayd and aduanctl"
#endif
#ifndef ADUAN_SOURCE_DIR
#error "ADUAN_SOURCE_DIR must name the source tree (for conf/templates)"
#endif

#define H_GATEWAYD ADUAN_BIN_DIR "/aduan-gatewayd"
#define H_ADUANCTL ADUAN_BIN_DIR "/aduanctl"
#define H_TEMPLATES ADUAN_SOURCE_DIR "/conf/templates"

/* Timeouts, in ms: generous, since a test only waits that long when something is wrong. */
/* Under a slow wrapper (valgrind, tests/valgrind.sh) ADUAN_TEST_SLOW multiplies them. */
#define H_READY_MS (10000 * h_slow())  /* daemon answering on control after spawn */
#define H_ANSWER_MS (5000 * h_slow())  /* an ACK, a NACK, a REPLY */
#define H_STOP_MS (10000 * h_slow())   /* exit after SIGTERM */
int h_slow(void);

/* The staff of every test configuration. */
#define H_HELPDESK_ID "sari"
#define H_HELPDESK_NAME "Sari Wulandari"
#define H_HELPDESK_EMAIL "sari.wulandari@dpmptsp.example.go.id"
#define H_HELPDESK_PHONE "+6281234500001"
#define H_HEAD_ID "hendra"
#define H_HEAD_PHONE "+6281234500003"

/* Keys of the configuration a test may change; 0 / NULL keeps the harness's value. */
typedef struct {
    int64_t batch_max;            /* 256 */
    int64_t max_message_bytes;    /* 65536: the smallest allowed, to test oversized */
    int64_t peer_timeout_ms;      /* 60000: a test's adapter may stay silent a while */
    int64_t retry_base_s;         /* 1 */
    int64_t retry_max_s;          /* 60 */
    int64_t max_attempts;         /* 10 */
    int64_t deliver_timeout_s;    /* 2 */
    int64_t in_flight;            /* 16 */
    int64_t auto_replies_per_day; /* 1000 */
    const char *log_level;        /* "info" */
    const char *extra_conf;       /* appended: a channel's section ("[sms]\nenabled = yes") */
    const char *staff_conf;       /* the [staff.*] sections instead of the harness's own
                                     (sari, hendra): a test that needs their addresses */
} h_options_t;

typedef struct h_adapter h_adapter_t;

#define H_ENV_SOCKETS 32

typedef struct h_env {
    char dir[64];         /* /tmp/aduit-XXXXXX */
    char conf[128];       /* dir/aduan.conf */
    char log[128];        /* dir/gatewayd.log: the daemon's stderr and stdout, every run */
    char state_dir[128];  /* dir/state */
    char db[160];         /* dir/state/registry.db */
    char intake[160];     /* ipc://dir/intake.sock */
    char events[160];
    char control[160];
    /* CURVE for test adapters on a tcp:// intake: their certificate (the _secret file)
       and the core's public one; empty: none */
    char curve_cert[192];
    char curve_server_cert[192];
    pid_t pid;            /* the running daemon, 0 when none */
    int starts;           /* daemons started so far */
    int last_exit;        /* exit status of the last daemon reaped (see h_wait_exit) */
    bool passed;          /* set by h_pass */
    /* what a test opened and a failed assertion left open: closed by h_env_destroy */
    h_adapter_t *adapters[H_ENV_SOCKETS];
    zsock_t *subs[H_ENV_SOCKETS];
} h_env_t;

/* ---- environment -------------------------------------------------------------------------- */

/* Makes the folder and writes aduan.conf there; opts may be NULL. Never NULL (asserts). */
h_env_t *h_env_new(const h_options_t *opts);
/* SIGKILLs a daemon still running, prints the log's tail unless h_pass was called, removes
   the folder (unless ADUAN_TEST_KEEP is set), frees, NULLs. NULL-safe. */
void h_env_destroy(h_env_t **env_p);
/* The test got to its end: the log need not be shown. */
void h_pass(h_env_t *env);
/* Prints the last `lines` lines of the daemon's log to stderr. */
void h_print_log_tail(const h_env_t *env, int lines);

/*  cmocka fixtures: a fresh folder with the daemon running (*state is the h_env_t), and
    the teardown that stops it with SIGTERM, failing when the test passed but the daemon
    does not exit 0, then destroys the environment. */
int h_setup(void **state);
int h_teardown(void **state);

/* ---- files and processes ------------------------------------------------------------------ */

/* Writes text to path (0600). 0 or -1. */
int h_write_file(const char *path, const char *text);
/* The whole file, NUL-terminated (caller frees); "" (allocated) when it does not exist. */
char *h_read_file(const char *path);
/* rm -rf path (nftw, depth first, not following links). 0 or -1. */
int h_remove_tree(const char *path);
/* A test's own folder beside the environment's: removed, or kept (and named) under
   ADUAN_TEST_KEEP, as the environment's is. */
void h_drop_tree(const char *path);
/* Milliseconds of the monotonic clock. */
int64_t h_now_ms(void);

/*  Starts argv[0] (a path) with posix_spawn: stdin from /dev/null, stdout and stderr
    appended to the files given (NULL: /dev/null; the same path twice shares one file), a
    clean signal mask and default signal dispositions. Returns the pid, or -1. */
pid_t h_spawn(char *const argv[], const char *stdout_path, const char *stderr_path);
/*  Waits for pid to end, at most timeout_ms (on its pidfd). Returns its exit code, 128 + the
    signal when a signal ended it, -1 on timeout (the child keeps running), -2 on error. */
int h_wait_exit(pid_t pid, int timeout_ms);

/* ---- the daemon --------------------------------------------------------------------------- */

/*  Spawns aduan-gatewayd -c env->conf, its output appended to env->log, and waits until it
    answers a REQUEST stats on the control endpoint (H_READY_MS). 0 when ready, -1 when it
    exited or did not answer (it is killed then). */
int h_daemon_start(h_env_t *env);
/* Sends SIGTERM and waits (timeout_ms). Returns the exit code, or -1 after a timeout (the
   daemon is SIGKILLed then). */
int h_daemon_stop(h_env_t *env, int timeout_ms);
/* SIGKILL and reap. Nothing when no daemon runs. */
void h_daemon_kill(h_env_t *env);

/* ---- control ------------------------------------------------------------------------------ */

/*  One REQUEST on the control endpoint. args is a JSON object or NULL ({}); borrowed.
    On a REPLY returns 0 with status ("ok", "refused", "error") and *body (caller owns;
    NULL when the body is not JSON); -1 when nothing came within timeout_ms; -2 when a
    REPLY came with another id than the request's. */
int h_control(const h_env_t *env, const char *command, const json_t *args, int timeout_ms,
              char status[16], json_t **body);
/* h_control expecting "ok"; the body, caller owns (fails the test otherwise). */
json_t *h_control_ok(const h_env_t *env, const char *command, const json_t *args);
/* show {ticket}, expecting ok. */
json_t *h_show(const h_env_t *env, const char *ticket);

/* ---- aduanctl ----------------------------------------------------------------------------- */

typedef struct {
    int code;      /* as h_wait_exit */
    int64_t ms;    /* how long it ran */
    char *out;     /* its stdout, whole */
    char *err;     /* its stderr, whole */
} h_run_t;

/*  Runs aduanctl -c env->conf ARGS... (NULL-terminated), stdout and stderr captured in files
    of the folder; waits at most timeout_ms (then SIGKILL, code -1). Fills run (free it with
    h_run_clear). Returns run->code. */
int h_aduanctl(const h_env_t *env, h_run_t *run, int timeout_ms, ...);
/* The same with an argv (after the program and -c CONF), for tests that build one. */
int h_aduanctl_argv(const h_env_t *env, h_run_t *run, int timeout_ms, const char *const args[]);
void h_run_clear(h_run_t *run);

/* ---- the test adapter --------------------------------------------------------------------- */

typedef struct {
    aduan_msg_t *msg; /* a DELIVER */
    bool taken;       /* returned by h_adapter_wait_deliver already */
} h_delivery_t;

struct h_adapter {
    h_env_t *env;            /* where it is registered */
    zsock_t *sock;           /* DEALER on bus.intake */
    char channel[33];
    char account[129];
    const char *auto_result; /* each DELIVER answered at once with this RESULT ("sent", the
                                default), or NULL: the test answers with h_adapter_result */
    h_delivery_t *deliveries; /* every DELIVER received, in order */
    size_t delivery_count, delivery_cap;
    zlistx_t *answers;       /* ACKs and NACKs received but not yet asked for */
    int64_t last_sent;       /* for heartbeats while waiting */
    int hellos;              /* HELLOs received from the core */
    unsigned syncs;          /* h_adapter_sync calls, for their keys */
};

/*  Connects a DEALER to the intake endpoint, says HELLO (channel, account) and waits for
    the core's HELLO (H_ANSWER_MS). Never NULL (asserts). The environment keeps a reference
    and destroys what is left at h_env_destroy. */
h_adapter_t *h_adapter_new(h_env_t *env, const char *channel, const char *account);
void h_adapter_destroy(h_adapter_t **self_p);
/* Encodes and sends. 0 or -1. */
int h_adapter_send(h_adapter_t *self, const aduan_msg_t *msg);
/* Sends frames as they are (malformed messages built by hand); takes *zm. 0 or -1. */
int h_adapter_send_frames(h_adapter_t *self, zmsg_t **zm);
/*  Receives one message within timeout_ms. HELLO and HEARTBEAT are taken; a DELIVER is
    recorded (and answered when auto_result is set); an ACK or NACK is returned (caller
    owns). NULL when none came in time. Heartbeats go out while it waits. */
aduan_msg_t *h_adapter_recv(h_adapter_t *self, int timeout_ms);
/*  The ACK or NACK whose ref is ref ("-" for a message the core could not identify), within
    timeout_ms; others seen meanwhile are kept for later calls. Caller owns; NULL on timeout. */
aduan_msg_t *h_adapter_wait_answer(h_adapter_t *self, const char *ref, int timeout_ms);
/* Sends *msg_p (destroyed) and waits for its answer (H_ANSWER_MS). Caller owns the answer. */
aduan_msg_t *h_adapter_intake(h_adapter_t *self, aduan_msg_t **msg_p);
/*  The first DELIVER not yet taken whose kind and ticket match (NULL matches any), received
    before or within timeout_ms; marked taken. Borrowed (lives as long as the adapter). */
const aduan_msg_t *h_adapter_wait_deliver(h_adapter_t *self, const char *kind,
                                          const char *ticket, int timeout_ms);
/* Sends RESULT{outbox_id, status, provider id, detail}. 0 or -1. */
int h_adapter_result(h_adapter_t *self, uint64_t outbox_id, const char *status,
                     const char *detail);
/* Takes what arrives for timeout_ms (DELIVERs recorded, answers kept). */
void h_adapter_pump(h_adapter_t *self, int timeout_ms);
/*  A barrier: everything this adapter sent before (RESULTs above all) is committed when it
    returns. It sends an INTAKE the core answers only after its commit and that changes
    nothing a test counts: intent "status", no ticket, no sender (so no reply is queued),
    key "sync-<account>-<n>". Fails the test without an ACK. */
void h_adapter_sync(h_adapter_t *self);

/* A complaint INTAKE: channel, account "test", the key, from, subject, text; caller owns. */
aduan_msg_t *h_intake_new(const char *channel, const char *dedupe_key, const char *from,
                          const char *subject, const char *text);

/* ---- events ------------------------------------------------------------------------------- */

/* A SUB socket on the events endpoint, subscribed to everything; the environment owns it
   (closed by h_env_destroy). */
zsock_t *h_events_sub(h_env_t *env);
/* The next EVENT of the topic (and ticket, unless NULL) within timeout_ms; others are
   dropped. Caller owns; NULL on timeout. */
aduan_msg_t *h_events_wait(zsock_t *sub, const char *topic, const char *ticket,
                           int timeout_ms);

/* ---- checks ------------------------------------------------------------------------------- */

/* ^ADU-20[0-9]{2}-[0-9]{5}$ */
bool h_ticket_valid(const char *ticket);
/* The number of a ticket: 42 for ADU-2026-00042; -1 when it is not one. */
long h_ticket_number(const char *ticket);
/* True when haystack contains needle (either may be NULL: false). */
bool h_contains(const char *haystack, const char *needle);

#endif
