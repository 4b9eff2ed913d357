/*  log.h - one line per event on stderr, greppable.

    Line format:  2026-11-28T01:02:03.123Z I core ADU-2026-00042 intake channel=sms from=+62812****7890
    (UTC with milliseconds, level letter D/I/W/E, component, then the message.)

    The level is checked before anything is formatted (ADUAN_LOG is a macro): the
    arguments of a call below the threshold are not even evaluated.
    Each line is formatted whole and written with one write(2), at most
    ADUAN_LOG_LINE_MAX bytes with its newline (= PIPE_BUF), so lines from threads and
    processes sharing stderr never interleave. Inside the message, control characters
    (newline, CR, tab, ESC, ...) and bytes that are not UTF-8 are escaped ("\n", "\r",
    "\t", "\x1b"), so one event is always one line, whatever text a stranger sent.
    A longer line is cut at a character boundary and ends with "…".
    Logging never changes errno.

    Phone numbers and addresses go through aduan_mask_* at info level and above;
    the unmasked value may appear only at debug level.
*/
#ifndef ADUAN_LOG_H
#define ADUAN_LOG_H

#include <stdbool.h>
#include <stddef.h>

typedef enum {
    ADUAN_LOG_DEBUG = 0,
    ADUAN_LOG_INFO = 1,
    ADUAN_LOG_WARN = 2,
    ADUAN_LOG_ERROR = 3,
} aduan_log_level_t;

/* Longest line written, newline included. */
#define ADUAN_LOG_LINE_MAX 4096

/* Lines below this level are dropped. Default ADUAN_LOG_INFO. Set it at start-up,
   before threads start (it is read without a lock). */
extern aduan_log_level_t aduan_log_threshold;

/* Parses "debug", "info", "warn" (or "warning"), "error", any case; returns 0 or -1. */
int aduan_log_level_parse(const char *name, aduan_log_level_t *level);

/* Writes one line: time, level letter, component, then the formatted message.
   Also checks the threshold, for direct callers; use the macros below. */
void aduan_log_write(aduan_log_level_t level, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define ADUAN_LOG(level, component, ...)                                                       \
    do {                                                                                       \
        if ((level) >= aduan_log_threshold)                                                    \
            aduan_log_write((level), (component), __VA_ARGS__);                                \
    } while (0)

#define log_debug(component, ...) ADUAN_LOG(ADUAN_LOG_DEBUG, component, __VA_ARGS__)
#define log_info(component, ...) ADUAN_LOG(ADUAN_LOG_INFO, component, __VA_ARGS__)
#define log_warn(component, ...) ADUAN_LOG(ADUAN_LOG_WARN, component, __VA_ARGS__)
#define log_error(component, ...) ADUAN_LOG(ADUAN_LOG_ERROR, component, __VA_ARGS__)

/*  Masking for logs. Each writes into out (always NUL-terminated, cut to outlen; a cut
    result only ever loses characters, it never shows more) and returns out. A NULL or
    empty address gives "-". With outlen 0 nothing is written and "" is returned, so the
    result can always be printed.

    aduan_mask_phone: keeps the first 6 characters and the last 4, stars in between, but
    always hides at least 4 characters (a shorter prefix is kept when the number is short):
        +6281234567890 -> +62812****7890     081234567890 -> 0812****7890
    8 characters or fewer keep only the last 2:  12345678 -> ******78
    aduan_mask_email: the first 2 characters of the local part, "***", then '@' and the
    domain:  budi.santoso@example.org -> bu***@example.org,  a@x.org -> a***@x.org.
    An address without '@' is masked as a phone number. */
const char *aduan_mask_phone(const char *phone, char *out, size_t outlen);
const char *aduan_mask_email(const char *addr, char *out, size_t outlen);
/* Picks the right mask: an address with '@' is an email, anything else a phone number. */
const char *aduan_mask_address(const char *addr, char *out, size_t outlen);

#define ADUAN_MASK_MAX 128

#endif
