/*  mailworld.c - see mailworld.h. */
#include "mailworld.h"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* Runs argv (argv[0] looked up in PATH), stdout captured into *out when out is not NULL
   (caller frees), stderr passed through. The exit code, or -1. */
static int run(char *const argv[], char **out)
{
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    posix_spawn_file_actions_addclose(&fa, fds[1]);
    pid_t pid;
    int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    if (rc != 0) {
        close(fds[0]);
        return -1;
    }
    size_t cap = 8192, len = 0;
    char *buf = malloc(cap);
    ssize_t n;
    while (buf && (n = read(fds[0], buf + len, cap - len - 1)) > 0) {
        len += (size_t)n;
        if (cap - len < 4096) {
            char *grown = realloc(buf, cap * 2);
            if (!grown) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = grown;
            cap *= 2;
        }
    }
    close(fds[0]);
    int status;
    while (waitpid(pid, &status, 0) < 0)
        ;
    if (buf)
        buf[len] = '\0';
    if (out)
        *out = buf;
    else
        free(buf);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int mailworld_run(const char *arg1, const char *arg2)
{
    char *argv[] = {MAILWORLD_SCRIPT, (char *)arg1, (char *)arg2, NULL};
    return run(argv, NULL);
}

static void value_of(const char *text, const char *key, char *out, size_t outlen)
{
    size_t n = strlen(key);
    for (const char *line = text; line && *line; line = strchr(line, '\n'), line += !!line)
        if (strncmp(line, key, n) == 0 && line[n] == '=') {
            snprintf(out, outlen, "%.*s", (int)strcspn(line + n + 1, "\n"), line + n + 1);
            return;
        }
}

int mailworld_up(mailworld_t *w)
{
    memset(w, 0, sizeof *w);
    if (mailworld_run("up", NULL) != 0)
        return -1;
    char *argv[] = {MAILWORLD_SCRIPT, "env", NULL};
    char *env = NULL;
    if (run(argv, &env) != 0 || !env) {
        free(env);
        return -1;
    }
    char port[3][16] = {"", "", ""};
    value_of(env, "ADUAN_WORLD", w->dir, sizeof w->dir);
    value_of(env, "MAILWORLD_CA", w->ca, sizeof w->ca);
    value_of(env, "MAILWORLD_WRONG_CA", w->wrong_ca, sizeof w->wrong_ca);
    value_of(env, "MAILWORLD_PASSWORD_FILE", w->password_file, sizeof w->password_file);
    value_of(env, "MAILWORLD_DOVECOT_CONF", w->dovecot_conf, sizeof w->dovecot_conf);
    value_of(env, "MAILWORLD_SMTP_PORT", port[0], sizeof port[0]);
    value_of(env, "MAILWORLD_SUBMISSION_PORT", port[1], sizeof port[1]);
    value_of(env, "MAILWORLD_SPARE_SMTP_PORT", port[2], sizeof port[2]);
    free(env);
    w->smtp_port = atoi(port[0]);
    w->submission_port = atoi(port[1]);
    w->spare_smtp_port = atoi(port[2]);
    return w->dovecot_conf[0] && w->smtp_port ? 0 : -1;
}

static char *fetch(const mailworld_t *w, const char *user, const char *message_id,
                   const char *what)
{
    char *argv[] = {"doveadm", "-c", (char *)w->dovecot_conf, "fetch", "-u", (char *)user,
                    (char *)what, "mailbox", "INBOX", "header", "Message-ID",
                    (char *)message_id, NULL};
    char *out = NULL;
    if (run(argv, &out) != 0) {
        free(out);
        return NULL;
    }
    return out;
}

char *mailworld_fetch(const mailworld_t *w, const char *user, const char *message_id)
{
    return fetch(w, user, message_id, "text");
}

int mailworld_count(const mailworld_t *w, const char *user, const char *message_id)
{
    char *out = fetch(w, user, message_id, "uid");
    if (!out)
        return -1;
    int n = 0;
    for (const char *p = out; (p = strstr(p, "uid: ")); p += 5)
        n++;
    free(out);
    return n;
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

char *mailworld_wait(const mailworld_t *w, const char *user, const char *message_id,
                     int timeout_ms)
{
    long long end = now_ms() + timeout_ms;
    for (;;) {
        char *text = mailworld_fetch(w, user, message_id);
        if (text && *text)
            return text;
        free(text);
        if (now_ms() >= end)
            return NULL;
        /* delivery is Postfix -> LMTP, ~30 ms; nothing to wait on but the mailbox */
        poll(NULL, 0, 50);
    }
}
