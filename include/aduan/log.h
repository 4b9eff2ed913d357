/*  log.h - one line per event on stderr, greppable.

    Line format:  2026-11-28T01:02:03Z I core ADU-2026-00042 intake channel=sms from=+62812****7890
    The level is checked before anything is formatted (ADUAN_LOG is a macro).
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

extern aduan_log_level_t aduan_log_threshold;

/* Parses "debug", "info", "warn", "error"; returns 0 or -1. */
int aduan_log_level_parse(const char *name, aduan_log_level_t *level);

/* Writes one line: time, level letter, component, then the formatted message. */
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

/*  Masking for logs. Both write into out (always NUL-terminated) and return out.
    +6281234567890 -> +62812****7890; budi.santoso@example.org -> bu***@example.org */
const char *aduan_mask_phone(const char *phone, char *out, size_t outlen);
const char *aduan_mask_email(const char *addr, char *out, size_t outlen);
/* Picks the right mask: an address with '@' is an email, anything else a phone number. */
const char *aduan_mask_address(const char *addr, char *out, size_t outlen);

#define ADUAN_MASK_MAX 128

#endif
