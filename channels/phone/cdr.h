/*  cdr.h - the pure part of the phone channel: one line of Asterisk's Master.csv (the
    cdr_csv module's call-detail records) to an INTAKE. No I/O, so it is unit-tested and
    fuzzed alone.

    A line's fields, as cdr_csv writes them:
        0 accountcode  1 src  2 dst  3 dcontext  4 clid  5 channel  6 dstchannel
        7 lastapp  8 lastdata  9 start  10 answer  11 end  12 duration  13 billsec
        14 disposition  15 amaflags  [16 uniqueid  17 userfield  18.. newcdrcolumns]
    16 fields without loguniqueid/loguserfield, up to 21 with newcdrcolumns.

    A record is one physical line: cdr_csv never writes a newline inside a field, so a
    line with a quote left open is malformed, and it cannot swallow the lines after it. */
#ifndef ADUAN_PHONE_CDR_H
#define ADUAN_PHONE_CDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aduan/bus.h"

#define CDR_FIELDS_MIN 16
#define CDR_FIELDS_MAX 32
#define CDR_LINE_MAX 8192     /* a longer line is quarantined (its first CDR_LINE_MAX bytes) */
#define CDR_NAME_MAX 200      /* bytes of the caller's name kept */
#define CDR_RECORD_MAX 128    /* bytes of a uniqueid */

/*  Splits one line (without its newline) into fields as RFC 4180 says: a field in double
    quotes may hold commas and "" for a quote. fields[i] point into a copy the caller frees
    with cdr_fields_free. Returns the number of fields, or -1 with the reason (a quote left
    open, text after a closing quote, more than CDR_FIELDS_MAX fields, no memory). */
typedef struct {
    char *field[CDR_FIELDS_MAX];
    size_t count;
    char *storage;
} cdr_fields_t;
int cdr_split(const char *line, size_t len, cdr_fields_t *out, char *reason, size_t reasonlen);
void cdr_fields_free(cdr_fields_t *fields);

typedef enum {
    CDR_CALL = 0,       /* *intake_p: intent "call" */
    CDR_QUARANTINE = 1, /* *intake_p: the line with the reason it cannot be read */
    CDR_SKIP = 2,       /* an empty line, or not a citizen's call (an internal extension):
                           why says so */
    CDR_NO_MEMORY = -1,
} cdr_outcome_t;

/*  Translates one line (without its newline; a trailing CR is ignored). Times are read as
    local time, as cdr_csv writes them by default, or as UTC when utc (the SMS channel's
    calls.csv; cdr_csv with usegmtime = yes). The dedupe key is "call:" + uniqueid,
    or, without one, + dst, start and caller (the modem's calls have their own uniqueid).
    Nothing of the line is interpreted: the caller's name is carried as text (control
    characters made spaces), the number only as E.164. The intake (caller owns) has raw =
    the line byte for byte. */
cdr_outcome_t cdr_translate(const char *line, size_t len, bool utc, aduan_msg_t **intake_p,
                            char *why, size_t whylen);

/*  The line kept with the reason it cannot be read (an INTAKE with quarantine_reason; the
    dedupe key is the line's SHA-256, so reading it again keeps it once). */
cdr_outcome_t cdr_quarantine(const char *line, size_t len, const char *reason,
                             aduan_msg_t **intake_p);

/*  "2026-11-28 10:16:00" (local time, or UTC) to ms since the epoch; -1 when not such a
    time. */
int64_t cdr_time_ms(const char *text, bool utc);

#endif
