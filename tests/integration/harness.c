/*  harness.c - see harness.h. */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <regex.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* What the core may send us: a DELIVER carries at most the core's own limit. */
#define RECV_MAX ((size_t)65 * 1024 * 1024)
#define HEARTBEAT_MS 1000
#define LOG_TAIL_LINES 30

/* ---- small things ------------------------------------------------------------------------- */

int64_t h_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int remaining(int64_t deadline)
{
    int64_t left = deadline - h_now_ms();
    return left < 0 ? 0 : left > INT32_MAX ? INT32_MAX : (int)left;
}

bool h_contains(const char *haystack, const char *needle)
{
    return haystack && needle && strstr(haystack, needle) != NULL;
}

bool h_ticket_valid(const char *ticket)
{
    static regex_t re;
    static bool compiled;
    if (!compiled) {
        assert_int_equal(regcomp(&re, "^ADU-20[0-9]{2}-[0-9]{5}$", REG_EXTENDED | REG_NOSUB), 0);
        compiled = true;
    }
    return ticket && regexec(&re, ticket, 0, NULL, 0) == 0;
}

long h_ticket_number(const char *ticket)
{
    if (!h_ticket_valid(ticket))
        return -1;
    return strtol(ticket + strlen(ticket) - 5, NULL, 10);
}

int h_write_file(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    size_t len = strlen(text), done = 0;
    while (done < len) {
        ssize_t n = write(fd, text + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            close(fd);
            return -1;
        }
        done += (size_t)n;
    }
    return close(fd);
}

char *h_read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return strdup("");
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    size_t n;
    while (buf && (n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (cap - len - 1 == 0) {
            char *bigger = realloc(buf, cap * 2);
            if (!bigger) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = bigger;
            cap *= 2;
        }
    }
    fclose(f);
    assert_non_null(buf);
    buf[len] = '\0';
    return buf;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path) == 0 || errno == ENOENT ? 0 : -1;
}

int h_remove_tree(const char *path)
{
    return nftw(path, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- processes ---------------------------------------------------------------------------- */

pid_t h_spawn(char *const argv[], const char *stdout_path, const char *stderr_path)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    const int flags = O_WRONLY | O_CREAT | O_APPEND; /* no O_CLOEXEC: they are for the child */
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, stdout_path ? stdout_path : "/dev/null",
                                     flags, 0644);
    if (stdout_path && stderr_path && strcmp(stdout_path, stderr_path) == 0)
        posix_spawn_file_actions_adddup2(&fa, STDOUT_FILENO, STDERR_FILENO);
    else
        posix_spawn_file_actions_addopen(&fa, STDERR_FILENO,
                                         stderr_path ? stderr_path : "/dev/null", flags, 0644);
    posix_spawnattr_init(&attr);
    sigset_t none, defaults;
    sigemptyset(&none);
    sigemptyset(&defaults);
    const int reset[] = {SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGCHLD, SIGUSR1, SIGUSR2, SIGALRM};
    for (size_t i = 0; i < sizeof reset / sizeof reset[0]; i++)
        sigaddset(&defaults, reset[i]);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    pid_t pid;
    int rc = posix_spawnp(&pid, argv[0], &fa, &attr, argv, environ); /* p: a wrapper by name */
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    if (rc != 0) {
        fprintf(stderr, "harness: cannot start %s: %s\n", argv[0], strerror(rc));
        return -1;
    }
    return pid;
}

static int exit_code(int status)
{
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return -2;
}

int h_wait_exit(pid_t pid, int timeout_ms)
{
    int64_t deadline = h_now_ms() + timeout_ms;
    int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    int rc;
    while (true) {
        int status;
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid) {
            rc = exit_code(status);
            break;
        }
        if (r < 0 && errno != EINTR) {
            rc = -2;
            break;
        }
        int left = remaining(deadline);
        if (left == 0) {
            rc = -1;
            break;
        }
        /* the pidfd turns readable when the child ends; without one (old kernel), wait on
           nothing for a short while and look again */
        struct pollfd p = {.fd = pidfd, .events = POLLIN};
        if (pidfd >= 0)
            poll(&p, 1, left);
        else
            poll(NULL, 0, left < 10 ? left : 10);
    }
    if (pidfd >= 0)
        close(pidfd);
    return rc;
}

/* ---- environment -------------------------------------------------------------------------- */

/* Every environment alive, so that a test process that ends early (a failed setup, an
   abort) leaves no daemon behind. */
#define LIVE_MAX 64
static h_env_t *live[LIVE_MAX];

static void kill_live_daemons(void)
{
    for (size_t i = 0; i < LIVE_MAX; i++)
        if (live[i] && live[i]->pid) {
            fprintf(stderr, "harness: killing aduan-gatewayd %d left running\n", (int)live[i]->pid);
            h_daemon_kill(live[i]);
        }
}

static void live_add(h_env_t *env)
{
    static bool registered;
    if (!registered) {
        atexit(kill_live_daemons);
        registered = true;
    }
    for (size_t i = 0; i < LIVE_MAX; i++)
        if (!live[i]) {
            live[i] = env;
            return;
        }
}

static void live_remove(h_env_t *env)
{
    for (size_t i = 0; i < LIVE_MAX; i++)
        if (live[i] == env)
            live[i] = NULL;
}

static int64_t pick(int64_t given, int64_t fallback)
{
    return given ? given : fallback;
}

h_env_t *h_env_new(const h_options_t *opts)
{
    static const h_options_t none = {0};
    const h_options_t *o = opts ? opts : &none;
    /* our own process: no CZMQ signal handler, no systemd notifications for the children */
    zsys_handler_set(NULL);
    unsetenv("NOTIFY_SOCKET");
    unsetenv("ADUAN_CONFIG");

    h_env_t *env = calloc(1, sizeof *env);
    assert_non_null(env);
    snprintf(env->dir, sizeof env->dir, "/tmp/aduit-XXXXXX");
    assert_non_null(mkdtemp(env->dir));
    snprintf(env->conf, sizeof env->conf, "%s/aduan.conf", env->dir);
    snprintf(env->log, sizeof env->log, "%s/gatewayd.log", env->dir);
    snprintf(env->state_dir, sizeof env->state_dir, "%s/state", env->dir);
    snprintf(env->db, sizeof env->db, "%s/registry.db", env->state_dir);
    snprintf(env->intake, sizeof env->intake, "ipc://%s/intake.sock", env->dir);
    snprintf(env->events, sizeof env->events, "ipc://%s/events.sock", env->dir);
    snprintf(env->control, sizeof env->control, "ipc://%s/control.sock", env->dir);

    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    fprintf(f,
            "; written by tests/integration/harness.c\n"
            "[core]\n"
            "state_dir = %s\n"
            "log_level = %s\n"
            "batch_max = %lld\n"
            "office_name = DPMPTSP Kabupaten Uji\n"
            "\n[bus]\n"
            "intake = %s\n"
            "events = %s\n"
            "control = %s\n"
            "max_message_bytes = %lld\n"
            "heartbeat_ms = 1000\n"
            "peer_timeout_ms = %lld\n"
            "\n[outbox]\n"
            "retry_base_s = %lld\n"
            "retry_max_s = %lld\n"
            "max_attempts = %lld\n"
            "deliver_timeout_s = %lld\n"
            "in_flight = %lld\n"
            "auto_replies_per_day = %lld\n"
            "\n[templates]\n"
            "dir = %s\n"
            "language = id\n",
            env->state_dir, o->log_level ? o->log_level : "info",
            (long long)pick(o->batch_max, 256), env->intake, env->events, env->control,
            (long long)pick(o->max_message_bytes, 65536),
            (long long)pick(o->peer_timeout_ms, 60000), (long long)pick(o->retry_base_s, 1),
            (long long)pick(o->retry_max_s, 60), (long long)pick(o->max_attempts, 10),
            (long long)pick(o->deliver_timeout_s, 2), (long long)pick(o->in_flight, 16),
            (long long)pick(o->auto_replies_per_day, 1000), H_TEMPLATES);
    fprintf(f, "%s", o->staff_conf ? o->staff_conf
                                   : "\n[staff." H_HELPDESK_ID "]\n"
                                     "name = " H_HELPDESK_NAME "\n"
                                     "role = helpdesk\n"
                                     "phone = " H_HELPDESK_PHONE "\n"
                                     "email = " H_HELPDESK_EMAIL "\n"
                                     "notify = both\n"
                                     "\n[staff." H_HEAD_ID "]\n"
                                     "name = Hendra Gunawan\n"
                                     "role = head\n"
                                     "phone = " H_HEAD_PHONE "\n"
                                     "notify = sms\n");
    if (o->extra_conf)
        fprintf(f, "\n%s\n", o->extra_conf);
    fclose(f);
    assert_int_equal(h_write_file(env->conf, text), 0);
    free(text);
    live_add(env);
    return env;
}

void h_pass(h_env_t *env)
{
    env->passed = true;
}

void h_print_log_tail(const h_env_t *env, int lines)
{
    char *log = h_read_file(env->log);
    size_t len = strlen(log);
    const char *start = log + len;
    int seen = 0;
    if (len > 0 && log[len - 1] == '\n')
        start--;
    while (start > log && seen < lines) {
        start--;
        if (*start == '\n')
            seen++;
    }
    if (*start == '\n')
        start++;
    fprintf(stderr, "---- last %d lines of %s ----\n%s%s---- end of log ----\n", lines,
            env->log, start, len && log[len - 1] != '\n' ? "\n" : "");
    free(log);
}

/*  Under ADUAN_TEST_WRAPPER (valgrind): the daemon's log holds valgrind's reports,
    "==PID== Invalid read ..." and the like. Any makes the test program fail at exit,
    whatever its tests said. */
static bool wrapper_found_errors;

static void fail_after_wrapper_errors(void)
{
    if (wrapper_found_errors)
        _exit(1);
}

static void check_wrapper_report(const h_env_t *env)
{
    char *log = h_read_file(env->log);
    for (char *line = log ? strtok(log, "\n") : NULL; line; line = strtok(NULL, "\n")) {
        int pid, n = 0;
        if (sscanf(line, "==%d==%n", &pid, &n) == 1 && n > 0) {
            if (!wrapper_found_errors)
                atexit(fail_after_wrapper_errors);
            wrapper_found_errors = true;
            fprintf(stderr, "harness: %s\n", line);
        }
    }
    free(log);
}

void h_drop_tree(const char *path)
{
    const char *keep = getenv("ADUAN_TEST_KEEP");
    if (keep && *keep && strcmp(keep, "0") != 0)
        fprintf(stderr, "harness: kept %s\n", path);
    else if (h_remove_tree(path) != 0)
        fprintf(stderr, "harness: cannot remove %s: %s\n", path, strerror(errno));
}

void h_env_destroy(h_env_t **env_p)
{
    h_env_t *env = env_p ? *env_p : NULL;
    if (!env)
        return;
    const char *wrapper = getenv("ADUAN_TEST_WRAPPER");
    if (wrapper && *wrapper) {
        h_daemon_stop(env, H_STOP_MS); /* the report comes at exit, which SIGKILL skips */
        check_wrapper_report(env);
    }
    for (size_t i = 0; i < H_ENV_SOCKETS; i++) {
        if (env->adapters[i]) {
            zsock_set_linger(env->adapters[i]->sock, 0);
            h_adapter_destroy(&env->adapters[i]);
        }
        zsock_destroy(&env->subs[i]);
    }
    h_daemon_kill(env);
    live_remove(env);
    if (!env->passed)
        h_print_log_tail(env, LOG_TAIL_LINES);
    const char *keep = getenv("ADUAN_TEST_KEEP");
    if (keep && *keep && strcmp(keep, "0") != 0)
        fprintf(stderr, "harness: kept %s\n", env->dir);
    else if (h_remove_tree(env->dir) != 0)
        fprintf(stderr, "harness: cannot remove %s: %s\n", env->dir, strerror(errno));
    free(env);
    *env_p = NULL;
}

int h_setup(void **state)
{
    h_env_t *env = h_env_new(NULL);
    if (h_daemon_start(env) != 0) {
        h_env_destroy(&env);
        return -1;
    }
    *state = env;
    return 0;
}

int h_teardown(void **state)
{
    h_env_t *env = *state;
    int rc = 0;
    if (env && env->passed && env->pid) {
        int code = h_daemon_stop(env, H_STOP_MS);
        if (code != 0) {
            fprintf(stderr, "harness: aduan-gatewayd ended with %d after SIGTERM, not 0\n", code);
            env->passed = false;
            rc = -1;
        }
    }
    h_env_destroy(&env);
    *state = NULL;
    return rc;
}

/* ---- the daemon --------------------------------------------------------------------------- */

/* A REQUEST on sock; the id of the request goes to id_out. 0 or -1. */
static int send_request(zsock_t *sock, const char *command, const json_t *args,
                        char id_out[ADUAN_MSG_ID_MAX + 1])
{
    aduan_msg_t *m = aduan_msg_new(ADUAN_MSG_REQUEST);
    assert_non_null(m);
    char *text = args ? json_dumps(args, JSON_COMPACT) : strdup("{}");
    aduan_msg_set(&m->request.command, command);
    aduan_msg_set(&m->request.actor, "aduan-test");
    aduan_msg_set(&m->request.args, text);
    free(text);
    snprintf(id_out, ADUAN_MSG_ID_MAX + 1, "%s", m->id);
    int rc = aduan_msg_send(m, sock, NULL);
    aduan_msg_destroy(&m);
    return rc;
}

static zsock_t *control_socket(const h_env_t *env)
{
    zsock_t *s = zsock_new(ZMQ_DEALER);
    assert_non_null(s);
    zsock_set_linger(s, 0);
    assert_int_equal(zsock_connect(s, "%s", env->control), 0);
    return s;
}

/* Waits for one message on sock within timeout_ms and decodes it; NULL on timeout.
   A message the core should never have sent fails the test. */
static aduan_msg_t *recv_decoded(zsock_t *sock, int timeout_ms)
{
    zmq_pollitem_t item = {zsock_resolve(sock), 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&item, 1, timeout_ms) <= 0 || !(item.revents & ZMQ_POLLIN))
        return NULL;
    zmsg_t *zm = zmsg_recv(sock);
    if (!zm)
        return NULL;
    char reason[512];
    aduan_msg_t *m = aduan_msg_decode(&zm, RECV_MAX, NULL, reason, sizeof reason);
    if (!m)
        fail_msg("the core sent a message its own decoder refuses: %s", reason);
    return m;
}

int h_slow(void)
{
    static int factor;
    if (!factor) {
        const char *s = getenv("ADUAN_TEST_SLOW");
        factor = s && atoi(s) > 0 ? atoi(s) : 1;
    }
    return factor;
}

int h_daemon_start(h_env_t *env)
{
    assert_int_equal(env->pid, 0);
    /* ADUAN_TEST_WRAPPER: words put before the daemon, e.g. valgrind and its options */
    char *argv[32], *words = NULL;
    size_t argc = 0;
    const char *wrapper = getenv("ADUAN_TEST_WRAPPER");
    if (wrapper && *wrapper) {
        words = strdup(wrapper);
        for (char *w = strtok(words, " "); w && argc < 28; w = strtok(NULL, " "))
            argv[argc++] = w;
    }
    argv[argc++] = H_GATEWAYD;
    argv[argc++] = "-c";
    argv[argc++] = env->conf;
    argv[argc] = NULL;
    env->pid = h_spawn(argv, env->log, env->log);
    free(words);
    if (env->pid < 0) {
        env->pid = 0;
        return -1;
    }
    env->starts++;
    int64_t deadline = h_now_ms() + H_READY_MS;
    zsock_t *s = control_socket(env);
    char id[ADUAN_MSG_ID_MAX + 1];
    assert_int_equal(send_request(s, "stats", NULL, id), 0);
    int rc = -1;
    while (remaining(deadline) > 0) {
        aduan_msg_t *m = recv_decoded(s, remaining(deadline) < 100 ? remaining(deadline) : 100);
        if (m) {
            bool ok = m->type == ADUAN_MSG_REPLY && strcmp(m->id, id) == 0;
            aduan_msg_destroy(&m);
            if (ok) {
                rc = 0;
                break;
            }
        }
        int status;
        if (waitpid(env->pid, &status, WNOHANG) == env->pid) {
            env->last_exit = exit_code(status);
            fprintf(stderr, "harness: aduan-gatewayd exited with %d while starting\n",
                    env->last_exit);
            env->pid = 0;
            break;
        }
    }
    zsock_destroy(&s);
    if (rc != 0 && env->pid) {
        fprintf(stderr, "harness: aduan-gatewayd did not answer within %d ms\n", H_READY_MS);
        h_daemon_kill(env);
    }
    return rc;
}

int h_daemon_stop(h_env_t *env, int timeout_ms)
{
    if (!env->pid)
        return env->last_exit;
    kill(env->pid, SIGTERM);
    int rc = h_wait_exit(env->pid, timeout_ms);
    if (rc == -1) {
        fprintf(stderr, "harness: aduan-gatewayd still runs %d ms after SIGTERM\n", timeout_ms);
        h_daemon_kill(env);
        return -1;
    }
    env->last_exit = rc;
    env->pid = 0;
    return rc;
}

void h_daemon_kill(h_env_t *env)
{
    if (!env->pid)
        return;
    kill(env->pid, SIGKILL);
    env->last_exit = h_wait_exit(env->pid, H_STOP_MS);
    env->pid = 0;
}

/* ---- control ------------------------------------------------------------------------------ */

int h_control(const h_env_t *env, const char *command, const json_t *args, int timeout_ms,
              char status[16], json_t **body)
{
    zsock_t *s = control_socket(env);
    char id[ADUAN_MSG_ID_MAX + 1];
    *body = NULL;
    status[0] = '\0';
    assert_int_equal(send_request(s, command, args, id), 0);
    aduan_msg_t *m = recv_decoded(s, timeout_ms);
    zsock_destroy(&s);
    if (!m)
        return -1;
    int rc = 0;
    if (m->type != ADUAN_MSG_REPLY || strcmp(m->id, id) != 0) {
        fprintf(stderr, "harness: %s %s answered request %s\n", aduan_msg_type_name(m->type),
                m->id, id);
        rc = -2;
    } else {
        snprintf(status, 16, "%s", m->reply.status);
        json_error_t err;
        *body = m->reply.body ? json_loads(m->reply.body, 0, &err) : NULL;
    }
    aduan_msg_destroy(&m);
    return rc;
}

json_t *h_control_ok(const h_env_t *env, const char *command, const json_t *args)
{
    char status[16];
    json_t *body = NULL;
    int rc = h_control(env, command, args, H_ANSWER_MS, status, &body);
    if (rc != 0)
        fail_msg("control %s: %s", command, rc == -1 ? "no answer" : "answer to another id");
    if (strcmp(status, "ok") != 0) {
        char *text = body ? json_dumps(body, JSON_COMPACT) : strdup("(none)");
        fprintf(stderr, "control %s: status %s, body %s\n", command, status, text);
        free(text);
        json_decref(body);
        fail_msg("control %s was not ok", command);
    }
    assert_non_null(body);
    return body;
}

json_t *h_show(const h_env_t *env, const char *ticket)
{
    json_t *args = json_pack("{s:s}", "ticket", ticket);
    json_t *body = h_control_ok(env, "show", args);
    json_decref(args);
    return body;
}

/* ---- aduanctl ----------------------------------------------------------------------------- */

int h_aduanctl_argv(const h_env_t *env, h_run_t *run, int timeout_ms, const char *const args[])
{
    static unsigned runs;
    char out[200], err[200];
    unsigned n = ++runs;
    snprintf(out, sizeof out, "%s/aduanctl-%u.out", env->dir, n);
    snprintf(err, sizeof err, "%s/aduanctl-%u.err", env->dir, n);
    size_t count = 0;
    while (args[count])
        count++;
    char **argv = calloc(count + 4, sizeof *argv);
    assert_non_null(argv);
    argv[0] = H_ADUANCTL;
    argv[1] = "-c";
    argv[2] = (char *)env->conf;
    for (size_t i = 0; i < count; i++)
        argv[3 + i] = (char *)args[i];
    memset(run, 0, sizeof *run);
    int64_t start = h_now_ms();
    pid_t pid = h_spawn(argv, out, err);
    free(argv);
    assert_true(pid > 0);
    run->code = h_wait_exit(pid, timeout_ms);
    if (run->code == -1) {
        kill(pid, SIGKILL);
        h_wait_exit(pid, H_STOP_MS);
        run->code = -1;
    }
    run->ms = h_now_ms() - start;
    run->out = h_read_file(out);
    run->err = h_read_file(err);
    return run->code;
}

int h_aduanctl(const h_env_t *env, h_run_t *run, int timeout_ms, ...)
{
    const char *args[32];
    size_t n = 0;
    va_list ap;
    va_start(ap, timeout_ms);
    const char *a;
    while ((a = va_arg(ap, const char *)) != NULL) {
        assert_true(n + 1 < sizeof args / sizeof args[0]);
        args[n++] = a;
    }
    va_end(ap);
    args[n] = NULL;
    return h_aduanctl_argv(env, run, timeout_ms, args);
}

void h_run_clear(h_run_t *run)
{
    free(run->out);
    free(run->err);
    memset(run, 0, sizeof *run);
}

/* ---- the test adapter --------------------------------------------------------------------- */

static int step(h_adapter_t *self, int timeout_ms, aduan_msg_t **answer);

static void answer_destroy(void **item)
{
    aduan_msg_t *m = *item;
    aduan_msg_destroy(&m);
    *item = NULL;
}

h_adapter_t *h_adapter_new(h_env_t *env, const char *channel, const char *account)
{
    h_adapter_t *self = calloc(1, sizeof *self);
    assert_non_null(self);
    size_t slot = 0;
    while (slot < H_ENV_SOCKETS && env->adapters[slot])
        slot++;
    assert_true(slot < H_ENV_SOCKETS);
    env->adapters[slot] = self;
    self->env = env;
    snprintf(self->channel, sizeof self->channel, "%s", channel);
    snprintf(self->account, sizeof self->account, "%s", account ? account : channel);
    self->auto_result = "sent";
    self->answers = zlistx_new();
    zlistx_set_destructor(self->answers, answer_destroy);
    self->sock = zsock_new(ZMQ_DEALER);
    assert_non_null(self->sock);
    zsock_set_linger(self->sock, 100);
    zsock_set_sndhwm(self->sock, 100000);
    zsock_set_rcvhwm(self->sock, 100000);
    if (env->curve_cert[0]) {
        zcert_t *own = zcert_load(env->curve_cert), *core = zcert_load(env->curve_server_cert);
        assert_non_null(own);
        assert_non_null(core);
        zcert_apply(own, self->sock);
        zsock_set_curve_serverkey(self->sock, zcert_public_txt(core));
        zcert_destroy(&own);
        zcert_destroy(&core);
    }
    assert_int_equal(zsock_connect(self->sock, "%s", env->intake), 0);

    aduan_msg_t *hello = aduan_msg_new(ADUAN_MSG_HELLO);
    aduan_msg_set(&hello->hello.channel, self->channel);
    aduan_msg_set(&hello->hello.account, self->account);
    aduan_msg_set(&hello->hello.capabilities, "test");
    aduan_msg_set(&hello->hello.software, "aduan-integration-tests");
    assert_int_equal(h_adapter_send(self, hello), 0);
    aduan_msg_destroy(&hello);
    int64_t deadline = h_now_ms() + H_ANSWER_MS;
    aduan_msg_t *m;
    while (self->hellos == 0 && step(self, remaining(deadline), &m))
        if (m)
            zlistx_add_end(self->answers, m);
    if (self->hellos == 0)
        fail_msg("adapter %s: no HELLO from the core within %d ms", channel, H_ANSWER_MS);
    return self;
}

void h_adapter_destroy(h_adapter_t **self_p)
{
    h_adapter_t *self = self_p ? *self_p : NULL;
    if (!self)
        return;
    for (size_t i = 0; i < H_ENV_SOCKETS; i++)
        if (self->env->adapters[i] == self)
            self->env->adapters[i] = NULL;
    zsock_destroy(&self->sock);
    for (size_t i = 0; i < self->delivery_count; i++)
        aduan_msg_destroy(&self->deliveries[i].msg);
    free(self->deliveries);
    zlistx_destroy(&self->answers);
    free(self);
    *self_p = NULL;
}

int h_adapter_send(h_adapter_t *self, const aduan_msg_t *msg)
{
    char reason[512];
    zmsg_t *zm = aduan_msg_encode(msg, reason, sizeof reason);
    if (!zm) {
        fprintf(stderr, "harness: cannot encode %s: %s\n", aduan_msg_type_name(msg->type),
                reason);
        return -1;
    }
    return h_adapter_send_frames(self, &zm);
}

int h_adapter_send_frames(h_adapter_t *self, zmsg_t **zm)
{
    self->last_sent = h_now_ms();
    int rc = zmsg_send(zm, self->sock);
    zmsg_destroy(zm);
    return rc;
}

static void heartbeat(h_adapter_t *self)
{
    if (h_now_ms() - self->last_sent < HEARTBEAT_MS)
        return;
    aduan_msg_t *beat = aduan_msg_new(ADUAN_MSG_HEARTBEAT);
    h_adapter_send(self, beat);
    aduan_msg_destroy(&beat);
}

int h_adapter_result(h_adapter_t *self, uint64_t outbox_id, const char *status,
                     const char *detail)
{
    aduan_msg_t *r = aduan_msg_new(ADUAN_MSG_RESULT);
    char provider[64];
    snprintf(provider, sizeof provider, "test-%s-%llu", self->channel,
             (unsigned long long)outbox_id);
    r->result.outbox_id = outbox_id;
    aduan_msg_set(&r->result.status, status);
    aduan_msg_set(&r->result.provider_id, provider);
    aduan_msg_set(&r->result.detail, detail);
    int rc = h_adapter_send(self, r);
    aduan_msg_destroy(&r);
    return rc;
}

static void record_delivery(h_adapter_t *self, aduan_msg_t *m)
{
    if (self->delivery_count == self->delivery_cap) {
        size_t cap = self->delivery_cap ? self->delivery_cap * 2 : 16;
        h_delivery_t *bigger = realloc(self->deliveries, cap * sizeof *bigger);
        assert_non_null(bigger);
        self->deliveries = bigger;
        self->delivery_cap = cap;
    }
    uint64_t id = m->deliver.outbox_id;
    self->deliveries[self->delivery_count++] = (h_delivery_t){.msg = m, .taken = false};
    if (self->auto_result)
        assert_int_equal(h_adapter_result(self, id, self->auto_result, NULL), 0);
}

/*  Waits at most timeout_ms for one message and takes it: HELLO counted, HEARTBEAT dropped,
    DELIVER recorded (and answered), ACK or NACK put in *answer. Returns 1 when a message
    came, 0 when none did. */
static int step(h_adapter_t *self, int timeout_ms, aduan_msg_t **answer)
{
    *answer = NULL;
    int64_t deadline = h_now_ms() + timeout_ms;
    while (true) {
        heartbeat(self);
        int left = remaining(deadline);
        aduan_msg_t *m = recv_decoded(self->sock, left < HEARTBEAT_MS / 2 ? left
                                                                          : HEARTBEAT_MS / 2);
        if (m) {
            switch (m->type) {
            case ADUAN_MSG_HELLO:
                self->hellos++;
                aduan_msg_destroy(&m);
                break;
            case ADUAN_MSG_HEARTBEAT:
                aduan_msg_destroy(&m);
                break;
            case ADUAN_MSG_DELIVER:
                record_delivery(self, m);
                break;
            case ADUAN_MSG_ACK:
            case ADUAN_MSG_NACK:
                *answer = m;
                break;
            default:
                fail_msg("adapter %s: unexpected %s from the core", self->channel,
                         aduan_msg_type_name(m->type));
            }
            return 1;
        }
        if (remaining(deadline) == 0)
            return 0;
    }
}

aduan_msg_t *h_adapter_recv(h_adapter_t *self, int timeout_ms)
{
    int64_t deadline = h_now_ms() + timeout_ms;
    aduan_msg_t *answer;
    while (step(self, remaining(deadline), &answer)) {
        if (answer)
            return answer;
    }
    return NULL;
}

static const char *answer_ref(const aduan_msg_t *m)
{
    return m->type == ADUAN_MSG_ACK ? m->ack.ref : m->nack.ref;
}

aduan_msg_t *h_adapter_wait_answer(h_adapter_t *self, const char *ref, int timeout_ms)
{
    for (aduan_msg_t *m = zlistx_first(self->answers); m; m = zlistx_next(self->answers)) {
        if (strcmp(answer_ref(m), ref) == 0) {
            zlistx_detach_cur(self->answers);
            return m;
        }
    }
    int64_t deadline = h_now_ms() + timeout_ms;
    while (true) {
        aduan_msg_t *m = h_adapter_recv(self, remaining(deadline));
        if (!m)
            return NULL;
        if (strcmp(answer_ref(m), ref) == 0)
            return m;
        zlistx_add_end(self->answers, m);
    }
}

aduan_msg_t *h_adapter_intake(h_adapter_t *self, aduan_msg_t **msg_p)
{
    char id[ADUAN_MSG_ID_MAX + 1];
    snprintf(id, sizeof id, "%s", (*msg_p)->id);
    assert_int_equal(h_adapter_send(self, *msg_p), 0);
    aduan_msg_destroy(msg_p);
    aduan_msg_t *answer = h_adapter_wait_answer(self, id, H_ANSWER_MS);
    if (!answer)
        fail_msg("adapter %s: no ACK or NACK for %s within %d ms", self->channel, id,
                 H_ANSWER_MS);
    return answer;
}

static bool delivery_matches(const aduan_msg_t *m, const char *kind, const char *ticket)
{
    return (!kind || strcmp(m->deliver.kind, kind) == 0) &&
           (!ticket || (m->deliver.ticket && strcmp(m->deliver.ticket, ticket) == 0));
}

const aduan_msg_t *h_adapter_wait_deliver(h_adapter_t *self, const char *kind,
                                          const char *ticket, int timeout_ms)
{
    int64_t deadline = h_now_ms() + timeout_ms;
    size_t checked = 0;
    while (true) {
        for (; checked < self->delivery_count; checked++) {
            h_delivery_t *d = &self->deliveries[checked];
            if (!d->taken && delivery_matches(d->msg, kind, ticket)) {
                d->taken = true;
                return d->msg;
            }
        }
        aduan_msg_t *m;
        if (!step(self, remaining(deadline), &m))
            return NULL;
        if (m)
            zlistx_add_end(self->answers, m);
    }
}

void h_adapter_pump(h_adapter_t *self, int timeout_ms)
{
    int64_t deadline = h_now_ms() + timeout_ms;
    aduan_msg_t *m;
    while (step(self, remaining(deadline), &m))
        if (m)
            zlistx_add_end(self->answers, m);
}

void h_adapter_sync(h_adapter_t *self)
{
    aduan_msg_t *m = aduan_msg_new(ADUAN_MSG_INTAKE);
    char key[200];
    snprintf(key, sizeof key, "sync-%s-%u", self->account, ++self->syncs);
    aduan_msg_set(&m->intake.channel, self->channel);
    aduan_msg_set(&m->intake.account, self->account);
    aduan_msg_set(&m->intake.dedupe_key, key);
    aduan_msg_set(&m->intake.intent, "status");
    aduan_msg_t *answer = h_adapter_intake(self, &m);
    if (answer->type != ADUAN_MSG_ACK)
        fail_msg("adapter %s: sync %s was refused: %s", self->channel, key, answer->nack.reason);
    aduan_msg_destroy(&answer);
}

aduan_msg_t *h_intake_new(const char *channel, const char *dedupe_key, const char *from,
                          const char *subject, const char *text)
{
    aduan_msg_t *m = aduan_msg_new(ADUAN_MSG_INTAKE);
    assert_non_null(m);
    aduan_msg_set(&m->intake.channel, channel);
    aduan_msg_set(&m->intake.account, "test");
    aduan_msg_set(&m->intake.dedupe_key, dedupe_key);
    aduan_msg_set(&m->intake.intent, "complaint");
    aduan_msg_set(&m->intake.from_addr, from);
    aduan_msg_set(&m->intake.from_name, "Warga Uji");
    aduan_msg_set(&m->intake.subject, subject);
    aduan_msg_set(&m->intake.text, text);
    m->intake.received_at = (uint64_t)time(NULL) * 1000;
    return m;
}

/* ---- events ------------------------------------------------------------------------------- */

zsock_t *h_events_sub(h_env_t *env)
{
    size_t slot = 0;
    while (slot < H_ENV_SOCKETS && env->subs[slot])
        slot++;
    assert_true(slot < H_ENV_SOCKETS);
    zsock_t *s = zsock_new(ZMQ_SUB);
    assert_non_null(s);
    env->subs[slot] = s;
    zsock_set_linger(s, 0);
    /* made before the daemon binds (or across its restart): try again every 10 ms, not
       ZeroMQ's 100, or a daemon that is quick to publish its first event is not heard */
    zsock_set_reconnect_ivl(s, 10);
    zsock_set_subscribe(s, "");
    assert_int_equal(zsock_connect(s, "%s", env->events), 0);
    return s;
}

aduan_msg_t *h_events_wait(zsock_t *sub, const char *topic, const char *ticket, int timeout_ms)
{
    int64_t deadline = h_now_ms() + timeout_ms;
    while (true) {
        aduan_msg_t *m = recv_decoded(sub, remaining(deadline));
        if (!m)
            return NULL;
        if (m->type != ADUAN_MSG_EVENT)
            fail_msg("events: %s published instead of EVENT", aduan_msg_type_name(m->type));
        if ((!topic || strcmp(m->event.topic, topic) == 0) &&
            (!ticket || (m->event.ticket && strcmp(m->event.ticket, ticket) == 0)))
            return m;
        aduan_msg_destroy(&m);
    }
}
