/*  clock.h - time comes from here, so tests move it instead of sleeping. */
#ifndef ADUAN_CLOCK_H
#define ADUAN_CLOCK_H

#include <stddef.h>
#include <stdint.h>

typedef struct aduan_clock {
    int64_t (*now_ms)(void *ctx); /* ms since the epoch */
    void *ctx;
} aduan_clock_t;

/* The wall clock (CLOCK_REALTIME). */
extern const aduan_clock_t aduan_clock_real;

/*  TEST ONLY: when the environment names ADUAN_TEST_CLOCK_FILE, the wall clock plus the
    offset in ms that file holds (a decimal number, may be negative; a missing or unreadable
    file counts as 0), read again when the file changes, so a test moves the daemon's time
    instead of sleeping. NULL (the wall clock) when the variable is not set. */
const aduan_clock_t *aduan_clock_from_env(void);

/* now in ms since the epoch from the given clock; NULL means the wall clock. */
int64_t aduan_clock_now_ms(const aduan_clock_t *clock);

/* A monotonic reading in ms, for timeouts and latencies (never for dates). */
int64_t aduan_monotonic_ms(void);

/* Formats ms since the epoch as UTC "2026-11-28T01:02:03Z" into out (at least 21 bytes). */
const char *aduan_format_utc(int64_t ms, char *out, size_t outlen);

#endif
