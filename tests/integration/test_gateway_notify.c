/*  gateway_notify: aduan-gatewayd speaks systemd's notify protocol. The test plays
    systemd: a datagram socket named in NOTIFY_SOCKET, on which the daemon must say
    READY=1 once it serves, WATCHDOG=1 and STATUS= while it runs, STOPPING=1 on SIGTERM. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "harness.h"

/* Waits for a datagram containing want; collects what came into seen. */
static bool wait_for(int fd, const char *want, int timeout_ms, char *seen, size_t seenlen)
{
    int64_t deadline = h_now_ms() + timeout_ms;
    while (h_now_ms() < deadline) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, (int)(deadline - h_now_ms())) <= 0)
            continue;
        char buf[512];
        ssize_t n = recv(fd, buf, sizeof buf - 1, 0);
        if (n <= 0)
            continue;
        buf[n] = '\0';
        strncat(seen, buf, seenlen - strlen(seen) - 1); /* before strtok_r cuts it */
        strncat(seen, "|", seenlen - strlen(seen) - 1);
        /* one assignment per line: want must be a whole line of the datagram */
        for (char *save = NULL, *line = strtok_r(buf, "\n", &save); line;
             line = strtok_r(NULL, "\n", &save))
            if (strcmp(line, want) == 0)
                return true;
    }
    return false;
}

static void test_notify_protocol(void **state)
{
    (void)state;
    h_env_t *env = h_env_new(NULL);
    char path[128];
    snprintf(path, sizeof path, "%s/notify.sock", env->dir);
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    assert_true(strlen(path) < sizeof addr.sun_path);
    memcpy(addr.sun_path, path, strlen(path) + 1);
    assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof addr), 0);
    setenv("NOTIFY_SOCKET", path, 1);
    assert_int_equal(h_daemon_start(env), 0);
    unsetenv("NOTIFY_SOCKET");

    char seen[4096] = "";
    if (!wait_for(fd, "READY=1", 5000, seen, sizeof seen))
        fail_msg("no READY=1 from aduan-gatewayd; it said: %s", seen);
    if (!wait_for(fd, "WATCHDOG=1", 3000, seen, sizeof seen))
        fail_msg("no WATCHDOG=1 within 3 s; it said: %s", seen);
    assert_non_null(strstr(seen, "STATUS="));

    kill(env->pid, SIGTERM);
    if (!wait_for(fd, "STOPPING=1", 5000, seen, sizeof seen))
        fail_msg("no STOPPING=1 after SIGTERM; it said: %s", seen);
    assert_int_equal(h_wait_exit(env->pid, 10000), 0);
    env->pid = 0;
    close(fd);
    h_pass(env);
    h_env_destroy(&env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_notify_protocol),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
