/*  clock.c - the wall clock behind aduan_clock_t, and a monotonic one for timeouts. */
#include "aduan/clock.h"

#include <stdio.h>
#include <time.h>

static int64_t real_now_ms(void *ctx)
{
    (void)ctx;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const aduan_clock_t aduan_clock_real = {.now_ms = real_now_ms, .ctx = NULL};

int64_t aduan_clock_now_ms(const aduan_clock_t *clock)
{
    if (!clock)
        clock = &aduan_clock_real;
    return clock->now_ms(clock->ctx);
}

int64_t aduan_monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *aduan_format_utc(int64_t ms, char *out, size_t outlen)
{
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    if (strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0 && outlen > 0)
        out[0] = '\0';
    return out;
}
