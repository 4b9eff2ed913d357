/*  phone.c - the telephone channel: the table of functions the runner calls (adapter.h).

    It follows call-record files in Asterisk's Master.csv layout: the exchange's own
    (phone.cdr_file) and the one the SMS channel writes for the voice calls its modem saw
    (calls.csv in sms.spill_dir, with phone.modem_calls). Each line becomes an INTAKE of
    intent "call" (cdr.c); the core keeps it in the call log. A file is followed with
    inotify on its folder (and a timer, for file systems that do not tell); the position
    moves over a line only once the core has ACKed it, and is written durably (follow.c).

    The clerk's notes (aduanctl call) and the call-back tasks go to the core directly over
    the control endpoint: they are not read from a file. */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <libgen.h>
#include <stdarg.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "aduan/adapter.h"
#include "aduan/log.h"
#include "cdr.h"
#include "follow.h"

#define SOURCES_MAX 2
#define LINES_PER_POLL 256
#define RECHECK_MS 1000 /* without an inotify event: look anyway */
#define WATCH_EVENTS (IN_MODIFY | IN_CLOSE_WRITE | IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | \
                      IN_DELETE)

/* One line submitted (or done at once): the position moves over it when it is done. */
typedef struct {
    uint64_t seq;       /* the cookie */
    off_t end;
    bool done;
    char from_masked[ADUAN_MASK_MAX];
} item_t;

typedef struct {
    follow_t file;
    zlistx_t *items;    /* item_t, in the file's order */
    bool rewind;        /* the core said "later": read again from the position */
    bool utc;           /* its times are UTC (the SMS channel writes them so) */
    int watch;          /* inotify watch of its folder, -1 none yet */
    uint64_t lines, quarantined, skipped;
} source_t;

typedef struct {
    aduan_adapter_t *adapter;
    const aduan_config_t *config;
    source_t sources[SOURCES_MAX];
    size_t count;
    char position_file[PATH_MAX];
    bool position_dirty;
    int inotify_fd;
    char last_error[256];
} phone_t;

/* Cookies are numbers, never pointers: an answer may come after a rewind or a reopen. */
static uint64_t next_seq = 1;

static void item_destructor(void **item)
{
    free(*item);
    *item = NULL;
}

static void set_error(phone_t *self, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_error(phone_t *self, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(self->last_error, sizeof self->last_error, fmt, ap);
    va_end(ap);
    log_warn("phone", "%s", self->last_error);
}

/* ---- open and close --------------------------------------------------------------------- */

static void phone_close(void *state);

static int add_source(phone_t *self, const char *path, bool utc)
{
    source_t *s = &self->sources[self->count];
    memset(s, 0, sizeof *s);
    s->file.fd = -1;
    s->watch = -1;
    s->utc = utc;
    s->file.path = strdup(path);
    s->items = zlistx_new();
    if (!s->file.path || !s->items) {
        free(s->file.path);
        zlistx_destroy(&s->items);
        return -1;
    }
    zlistx_set_destructor(s->items, item_destructor);
    if (follow_position_load(self->position_file, path, &s->file.dev, &s->file.ino,
                             &s->file.done_at) != 0)
        log_warn("phone", "position file %s unreadable: %s; %s is read from its start",
                 self->position_file, strerror(errno), path);
    self->count++;
    return 0;
}

static void *phone_open(const aduan_config_t *config, aduan_adapter_t *adapter, char *reason,
                        size_t reasonlen)
{
    phone_t *self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(reason, reasonlen, "out of memory");
        return NULL;
    }
    self->adapter = adapter;
    self->config = config;
    if (config->phone.position_file && *config->phone.position_file)
        snprintf(self->position_file, sizeof self->position_file, "%s",
                 config->phone.position_file);
    else
        snprintf(self->position_file, sizeof self->position_file, "%s/phone-cdr.pos",
                 config->core.state_dir);
    self->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (self->inotify_fd < 0)
        log_warn("phone", "no inotify (%s): files are looked at every %d ms", strerror(errno),
                 RECHECK_MS);
    int rc = 0;
    if (config->phone.cdr_file && *config->phone.cdr_file)
        rc |= add_source(self, config->phone.cdr_file, false);
    if (config->phone.modem_calls && config->sms.enabled) {
        char path[PATH_MAX];
        if (config->sms.spill_dir && *config->sms.spill_dir)
            snprintf(path, sizeof path, "%s/calls.csv", config->sms.spill_dir);
        else
            snprintf(path, sizeof path, "%s/sms-spill/calls.csv", config->core.state_dir);
        rc |= add_source(self, path, true);
    }
    if (rc != 0) {
        snprintf(reason, reasonlen, "out of memory");
        phone_close(self);
        return NULL;
    }
    if (self->count == 0)
        log_warn("phone", "no call records to follow: set phone.cdr_file (or enable [sms] "
                          "with phone.modem_calls); notes still come through aduanctl call");
    for (size_t i = 0; i < self->count; i++)
        log_info("phone", "following %s (position in %s)", self->sources[i].file.path,
                 self->position_file);
    return self;
}

static void phone_close(void *state)
{
    phone_t *self = state;
    if (!self)
        return;
    if (self->position_dirty) {
        follow_t *files[SOURCES_MAX];
        for (size_t i = 0; i < self->count; i++)
            files[i] = &self->sources[i].file;
        if (follow_position_save(self->position_file, files, self->count) != 0)
            log_error("phone", "position not written to %s: %s", self->position_file,
                      strerror(errno));
    }
    for (size_t i = 0; i < self->count; i++) {
        follow_close(&self->sources[i].file);
        free(self->sources[i].file.path);
        zlistx_destroy(&self->sources[i].items);
    }
    if (self->inotify_fd >= 0)
        close(self->inotify_fd);
    free(self);
}

/* ---- reading ------------------------------------------------------------------------------ */

/* The position moves over the lines done at the head. */
static void advance(phone_t *self, source_t *s)
{
    item_t *head;
    while ((head = zlistx_first(s->items)) && head->done) {
        s->file.done_at = head->end;
        zlistx_delete(s->items, zlistx_cursor(s->items));
        self->position_dirty = true;
    }
}

/* One line: translated, then submitted, or done at once when there is nothing to send. */
static void take_line(phone_t *self, source_t *s, const follow_line_t *line)
{
    item_t *item = calloc(1, sizeof *item);
    if (!item) {
        s->rewind = true;
        return;
    }
    item->seq = next_seq++;
    item->end = line->end;
    s->lines++;
    aduan_msg_t *in = NULL;
    char why[256] = "";
    cdr_outcome_t outcome;
    if (line->truncated) {
        snprintf(why, sizeof why, "longer than %d bytes", CDR_LINE_MAX);
        outcome = cdr_quarantine(line->data, line->len, why, &in);
    } else {
        outcome = cdr_translate(line->data, line->len, s->utc, &in, why, sizeof why);
    }
    if (outcome == CDR_NO_MEMORY) {
        free(item);
        s->rewind = true; /* read again next poll */
        return;
    }
    zlistx_add_end(s->items, item);
    if (outcome == CDR_SKIP) {
        s->skipped++;
        log_debug("phone", "%s at %jd: %s; not logged", s->file.path, (intmax_t)line->start,
                  why[0] ? why : "an empty line");
        item->done = true;
        advance(self, s);
        return;
    }
    aduan_mask_phone(in->intake.from_addr, item->from_masked, sizeof item->from_masked);
    if (outcome == CDR_QUARANTINE) {
        s->quarantined++;
        log_warn("phone", "%s at %jd cannot be read: %s", s->file.path, (intmax_t)line->start,
                 in->intake.quarantine_reason);
    }
    uint64_t seq = item->seq;
    if (aduan_adapter_submit(self->adapter, &in, (void *)(uintptr_t)seq) != 0 &&
        !aduan_adapter_stopping(self->adapter)) {
        /* the runner logged why (it broke the schema): it is not sent again */
        for (item_t *it = zlistx_first(s->items); it; it = zlistx_next(s->items))
            if (it->seq == seq)
                it->done = true;
        advance(self, s);
    }
}

static void watch_folders(phone_t *self)
{
    if (self->inotify_fd < 0)
        return;
    for (size_t i = 0; i < self->count; i++) {
        source_t *s = &self->sources[i];
        if (s->watch >= 0)
            continue;
        char *copy = strdup(s->file.path);
        if (!copy)
            continue;
        /* the folder, not the file: a rotation replaces the file */
        s->watch = inotify_add_watch(self->inotify_fd, dirname(copy), WATCH_EVENTS);
        free(copy);
    }
}

static void drain_inotify(phone_t *self)
{
    if (self->inotify_fd < 0)
        return;
    char events[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
    while (read(self->inotify_fd, events, sizeof events) > 0) {
        const struct inotify_event *e = (const struct inotify_event *)events;
        if (e->mask & IN_IGNORED) /* the folder went away: watch it again when it is back */
            for (size_t i = 0; i < self->count; i++)
                if (self->sources[i].watch == e->wd)
                    self->sources[i].watch = -1;
    }
}

/* Reads what is new in one source. True when it has more to read at once. */
static bool read_source(phone_t *self, source_t *s)
{
    follow_t *f = &s->file;
    if (f->fd < 0) {
        if (follow_open(f, f->dev, f->ino, f->done_at) != 0)
            return false; /* not there yet */
        log_info("phone", "%s open at %jd", f->path, (intmax_t)f->done_at);
    }
    if (s->rewind) {
        zlistx_purge(s->items);
        follow_rewind(f);
        s->rewind = false;
    }
    follow_line_t line;
    for (int n = 0; n < LINES_PER_POLL; n++) {
        if (aduan_adapter_stopping(self->adapter) || s->rewind)
            return false;
        if (!follow_next(f, CDR_LINE_MAX, &line))
            break;
        take_line(self, s, &line);
        if (n == LINES_PER_POLL - 1)
            return true;
    }
    switch (follow_check_rotation(f, zlistx_size(s->items) == 0, CDR_LINE_MAX, &line)) {
    case FOLLOW_LAST_LINE:
        take_line(self, s, &line);
        return true;
    case FOLLOW_SWITCHED:
    case FOLLOW_TRUNCATED:
        zlistx_purge(s->items);
        self->position_dirty = true;
        return true;
    default:
        return false;
    }
}

static int phone_poll(void *state)
{
    phone_t *self = state;
    drain_inotify(self);
    watch_folders(self);
    bool more = false;
    for (size_t i = 0; i < self->count; i++)
        more |= read_source(self, &self->sources[i]);
    int wait = more ? 0 : RECHECK_MS;
    for (size_t i = 0; i < self->count; i++) {
        source_t *s = &self->sources[i];
        advance(self, s);
        /* a rotated file whose last lines wait for answers: look again soon */
        if (zlistx_size(s->items) > 0 && wait > 100)
            wait = 100;
    }
    if (self->position_dirty) {
        follow_t *files[SOURCES_MAX];
        for (size_t i = 0; i < self->count; i++)
            files[i] = &self->sources[i].file;
        if (follow_position_save(self->position_file, files, self->count) == 0) {
            self->position_dirty = false;
        } else {
            /* the lines are read again after a restart: the core answers "duplicate" */
            set_error(self, "position not written to %s: %s", self->position_file,
                      strerror(errno));
        }
    }
    return wait;
}

static int phone_wake_fd(void *state)
{
    return ((phone_t *)state)->inotify_fd;
}

static void phone_answered(void *state, void *cookie, const aduan_msg_t *answer)
{
    phone_t *self = state;
    uint64_t seq = (uint64_t)(uintptr_t)cookie;
    for (size_t i = 0; i < self->count; i++) {
        source_t *s = &self->sources[i];
        for (item_t *it = zlistx_first(s->items); it; it = zlistx_next(s->items)) {
            if (it->seq != seq)
                continue;
            if (answer->type == ADUAN_MSG_ACK) {
                log_info("phone", "%s call from=%s %s",
                         answer->ack.ticket && *answer->ack.ticket ? answer->ack.ticket : "-",
                         it->from_masked, answer->ack.disposition);
                it->done = true;
            } else if (answer->nack.permanent) {
                /* kept in the file; the position moves on so that one line cannot stop
                   the log */
                log_error("phone", "core refused the call record from=%s in %s for good: %s",
                          it->from_masked, s->file.path, answer->nack.reason);
                it->done = true;
            } else {
                s->rewind = true; /* read again from the position */
            }
            advance(self, s);
            return;
        }
    }
}

static char *phone_status(void *state)
{
    phone_t *self = state;
    json_t *o = json_object(), *files = json_array();
    for (size_t i = 0; i < self->count; i++) {
        const source_t *s = &self->sources[i];
        json_array_append_new(
            files, json_pack("{s:s, s:b, s:I, s:I, s:I, s:I, s:I}", "path", s->file.path,
                             "open", s->file.fd >= 0, "position", (json_int_t)s->file.done_at,
                             "in_flight", (json_int_t)zlistx_size(s->items), "lines",
                             (json_int_t)s->lines, "quarantined", (json_int_t)s->quarantined,
                             "skipped", (json_int_t)s->skipped));
    }
    json_object_set_new(o, "connected", json_true());
    json_object_set_new(o, "files", files);
    json_object_set_new(o, "last_error", json_string(self->last_error));
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return text;
}

const aduan_channel_t aduan_channel_phone = {
    .name = "phone",
    .open = phone_open,
    .poll = phone_poll,
    .wake_fd = phone_wake_fd,
    .answered = phone_answered,
    .status = phone_status,
    .close = phone_close,
};
