/*  clock.c - the wall clock behind aduan_clock_t, and a monotonic one for timeouts. */
#include "aduan/clock.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
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

/* ---- the test clock: the wall clock moved by the offset in a file -------------------- */

typedef struct {
    const char *path;
    pthread_mutex_t lock;
    struct timespec mtime; /* of the file when offset was read */
    off_t size;
    int64_t offset;
} offset_clock_t;

static offset_clock_t offset_clock = {.lock = PTHREAD_MUTEX_INITIALIZER};

static int64_t offset_now_ms(void *ctx)
{
    offset_clock_t *c = ctx;
    struct stat st;
    pthread_mutex_lock(&c->lock);
    if (stat(c->path, &st) != 0) {
        c->offset = 0;
    } else if (st.st_mtim.tv_sec != c->mtime.tv_sec || st.st_mtim.tv_nsec != c->mtime.tv_nsec ||
               st.st_size != c->size) {
        FILE *f = fopen(c->path, "re");
        long long v = 0;
        if (f) {
            if (fscanf(f, "%lld", &v) != 1)
                v = 0;
            fclose(f);
        }
        c->offset = v;
        c->mtime = st.st_mtim;
        c->size = st.st_size;
    }
    int64_t offset = c->offset;
    pthread_mutex_unlock(&c->lock);
    return real_now_ms(NULL) + offset;
}

static const aduan_clock_t offset_clock_iface = {.now_ms = offset_now_ms, .ctx = &offset_clock};

const aduan_clock_t *aduan_clock_from_env(void)
{
    const char *path = getenv("ADUAN_TEST_CLOCK_FILE");
    if (!path || !*path)
        return NULL;
    offset_clock.path = path;
    return &offset_clock_iface;
}
