/*  box.c - the suggestion-box channel: scanned forms dropped into a folder become
    complaints (adapter.h's table, and the loop glue between the scan folder, the OCR
    helper and the letters).

    One poll: take what inotify says was written and closed (or moved in) into the list
    of candidates; a candidate whose size held for box.stable_ms is read (bytes, SHA-256:
    the dedupe key) and handed to the OCR helper, aduan-box-ocr, a process of its own
    (ocr.h says why), one file at a time; its answer becomes an INTAKE. The helper works
    while the runner goes on with the bus: poll() only starts a job and collects it, and
    wake_fd() is the helper's pipe while a job runs. The source is touched only in
    answered(): after the ACK the file moves to processed_dir (or, when it could not be
    read, to quarantine_dir with <name>.reason.txt).

    Replies: a form that names a mobile number is answered by SMS, one with a mail address
    by email (INTAKE.reply_channel, when that channel is enabled); otherwise the core
    sends its replies here, and deliver() has them drawn as letters (PDF) in outgoing_dir
    by the same helper, between two files (no cairo runs in the daemon beside the core's
    registers, whose drawing resets fontconfig). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "aduan/adapter.h"
#include "aduan/clock.h"
#include "aduan/files.h"
#include "aduan/hash.h"
#include "aduan/log.h"
#include "contact.h"

#define HELPER_NAME "aduan-box-ocr"
#define HELPER_READY_MS 60000
#define IDLE_WAIT_MS 60000
#define JOB_CHECK_MS 1000
#define ANSWER_MAX (16u << 20) /* one helper answer: the text of max_pages pages */

extern char **environ;

typedef struct {
    off_t size;
    int64_t mtime_ns;
    int64_t since; /* monotonic ms the size was first seen as it is */
} candidate_t;

typedef struct {
    uint64_t seq;      /* the cookie */
    char *name;        /* in scan_dir */
    char *quarantine;  /* set: it goes to quarantine_dir with this reason */
} item_t;

/* A reply waiting to be drawn as a letter. */
typedef struct {
    uint64_t outbox_id;
    char *request;       /* the helper's request line */
    char name[160];      /* in outgoing_dir */
    char ticket[40];
} letter_t;

typedef struct {
    bool running;
    bool letter;         /* drawing a letter (the fields below `letter_*`), not reading */
    uint64_t letter_outbox_id;
    char letter_name[160];
    char letter_ticket[40];
    uint64_t seq;
    char name[NAME_MAX + 1];
    unsigned char *data; /* the file's bytes, sent as the intake's raw */
    size_t size;
    char sha[ADUAN_SHA256_HEX_LEN + 1];
    int64_t mtime_ms;
    int64_t started;
    char work[PATH_MAX + 32];
} job_t;

typedef struct {
    aduan_adapter_t *adapter;
    const aduan_config_t *config;
    char scan[PATH_MAX], processed[PATH_MAX], quarantine[PATH_MAX], outgoing[PATH_MAX],
        work[PATH_MAX];
    int inotify_fd;
    int kick_fd;          /* eventfd: a letter waits, poll() now (deliver() is not in poll) */
    zhashx_t *candidates; /* name -> candidate_t: written and closed, waiting to be stable */
    zhashx_t *items;      /* seq -> item_t: submitted, not yet answered */
    zhashx_t *busy;       /* names being read or submitted: not taken twice */
    zhashx_t *refused;    /* names the core refused for good: left for an operator */
    pid_t helper;
    int to_helper, from_helper;
    char *answer;
    size_t answer_len, answer_cap;
    job_t job;
    zlistx_t *letters_waiting; /* letter_t, oldest first */
    uint64_t taken, quarantined, letters;
    bool watch_lost;      /* the scan folder went away (removed, unmounted) */
    char last_error[256];
} box_t;

/* Cookies are numbers, never pointers (see sms.c). One box adapter per process. */
static uint64_t next_seq = 1;

static void set_error(box_t *self, const char *what)
{
    snprintf(self->last_error, sizeof self->last_error, "%.255s", what);
}

static void letter_destructor(void **p)
{
    letter_t *l = *p;
    free(l->request);
    free(l);
    *p = NULL;
}

static void item_destructor(void **p)
{
    item_t *item = *p;
    free(item->name);
    free(item->quarantine);
    free(item);
    *p = NULL;
}

/* A scanner writes to a temporary name and renames: only finished names are taken. */
static bool wanted_name(const char *name)
{
    size_t len = strlen(name);
    if (name[0] == '.' || len == 0 || name[len - 1] == '~')
        return false;
    static const char *const partial[] = {".part", ".tmp", ".crdownload", ".reason.txt"};
    for (size_t i = 0; i < sizeof partial / sizeof partial[0]; i++) {
        size_t plen = strlen(partial[i]);
        if (len > plen && strcasecmp(name + len - plen, partial[i]) == 0)
            return false;
    }
    return true;
}

/* ---- the OCR helper ------------------------------------------------------------------------ */

static void helper_stop(box_t *self, bool kill_it)
{
    if (self->to_helper >= 0)
        close(self->to_helper);
    if (self->from_helper >= 0)
        close(self->from_helper);
    self->to_helper = self->from_helper = -1;
    if (self->helper > 0) {
        /* its stdin closed, an idle helper ends at once; a busy one gets 2 s */
        int status;
        pid_t done = 0;
        for (int i = 0; !kill_it && i < 200 && (done = waitpid(self->helper, &status, WNOHANG)) == 0;
             i++)
            usleep(10000);
        if (done == 0) {
            kill(self->helper, SIGKILL);
            waitpid(self->helper, &status, 0);
        }
    }
    self->helper = 0;
    self->answer_len = 0;
}

/* The helper's path: next to the executable running us (build/bin, /usr/local/bin). */
static int helper_path(char *out, size_t outlen)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return -1;
    exe[n] = '\0';
    return (size_t)snprintf(out, outlen, "%s/" HELPER_NAME, dirname(exe)) < outlen ? 0 : -1;
}

/* Reads from the helper until a whole line is there. 1: a line (NUL-terminated in
   self->answer, its length answer_len), 0: not yet, -1: the helper ended or failed. */
static int helper_read_line(box_t *self)
{
    for (;;) {
        char *nl = self->answer_len ? memchr(self->answer, '\n', self->answer_len) : NULL;
        if (nl) {
            *nl = '\0';
            return 1;
        }
        if (self->answer_cap - self->answer_len < 65536) {
            if (self->answer_cap >= ANSWER_MAX)
                return -1;
            size_t cap = self->answer_cap ? self->answer_cap * 2 : 262144;
            char *bigger = realloc(self->answer, cap);
            if (!bigger)
                return -1;
            self->answer = bigger;
            self->answer_cap = cap;
        }
        ssize_t n = read(self->from_helper, self->answer + self->answer_len,
                         self->answer_cap - self->answer_len - 1);
        if (n > 0) {
            self->answer_len += (size_t)n;
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return 0;
        return -1;
    }
}

/* Drops the line just read (and keeps what followed it). */
static void helper_consume_line(box_t *self)
{
    char *end = memchr(self->answer, '\0', self->answer_len);
    size_t used = (size_t)(end - self->answer) + 1;
    memmove(self->answer, self->answer + used, self->answer_len - used);
    self->answer_len -= used;
}

static int helper_start(box_t *self, char *reason, size_t rl)
{
    char path[PATH_MAX];
    if (helper_path(path, sizeof path) != 0) {
        snprintf(reason, rl, "cannot find %s next to this executable", HELPER_NAME);
        return -1;
    }
    int in[2], out[2];
    if (pipe2(in, O_CLOEXEC) != 0)
        goto fail_errno;
    if (pipe2(out, O_CLOEXEC) != 0) {
        close(in[0]);
        close(in[1]);
        goto fail_errno;
    }
    char pixels[32], pages[32], dpi[32], bytes[32];
    snprintf(pixels, sizeof pixels, "%" PRId64, self->config->box.max_pixels);
    snprintf(pages, sizeof pages, "%" PRId64, self->config->box.max_pages);
    snprintf(dpi, sizeof dpi, "%" PRId64, self->config->box.pdf_dpi);
    snprintf(bytes, sizeof bytes, "%" PRId64, self->config->box.max_file_bytes);
    char *argv[] = {path, self->config->box.languages, pixels, pages, dpi, bytes, NULL};
    /* the environment, with OpenMP held to one thread: Tesseract's threads only fight
       the daemon's for the office PC's few cores */
    size_t n = 0;
    while (environ[n])
        n++;
    char **env = calloc(n + 2, sizeof *env);
    size_t m = 0;
    for (size_t i = 0; env && i < n; i++)
        if (strncmp(environ[i], "OMP_THREAD_LIMIT=", 17) != 0)
            env[m++] = environ[i];
    if (env)
        env[m++] = "OMP_THREAD_LIMIT=1";
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    /* the daemon blocks its stop signals in every thread; the helper must not inherit that */
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    pid_t pid = 0;
    int rc = env ? posix_spawn(&pid, path, &fa, &attr, argv, env) : ENOMEM;
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    free(env);
    close(in[0]);
    close(out[1]);
    if (rc != 0) {
        close(in[1]);
        close(out[0]);
        snprintf(reason, rl, "cannot start %s: %s", path, strerror(rc));
        return -1;
    }
    self->helper = pid;
    self->to_helper = in[1];
    self->from_helper = out[0];
    fcntl(self->from_helper, F_SETFL, O_NONBLOCK);
    /* the models load in a second or so: wait for the helper to say it is ready */
    int64_t until = aduan_monotonic_ms() + HELPER_READY_MS;
    int got = 0;
    while ((got = helper_read_line(self)) == 0) {
        int64_t left = until - aduan_monotonic_ms();
        if (left <= 0)
            break;
        struct pollfd p = {.fd = self->from_helper, .events = POLLIN};
        poll(&p, 1, (int)(left < 1000 ? left : 1000));
    }
    json_t *ready = got == 1 ? json_loads(self->answer, 0, NULL) : NULL;
    bool ok = json_is_true(json_object_get(ready, "ready"));
    if (!ok) {
        const char *why = json_string_value(json_object_get(ready, "reason"));
        snprintf(reason, rl, "OCR helper did not start: %s",
                 why ? why : got == 0 ? "no answer" : "it ended");
    } else {
        helper_consume_line(self);
        log_info("box", "OCR helper %s started pid=%d languages=%s", HELPER_NAME, (int)pid,
                 self->config->box.languages);
    }
    json_decref(ready);
    if (!ok)
        helper_stop(self, true);
    return ok ? 0 : -1;
fail_errno:
    snprintf(reason, rl, "pipe: %s", strerror(errno));
    return -1;
}

/* ---- open and close ------------------------------------------------------------------------ */

static void box_close(void *state);

static void folder(char *out, const char *configured, const char *state_dir, const char *name)
{
    if (configured && *configured)
        snprintf(out, PATH_MAX, "%s", configured);
    else
        snprintf(out, PATH_MAX, "%s/box/%s", state_dir, name);
}

static void note_candidate(box_t *self, const char *name)
{
    if (!wanted_name(name) || zhashx_lookup(self->busy, name) ||
        zhashx_lookup(self->refused, name))
        return;
    candidate_t *c = zhashx_lookup(self->candidates, name);
    if (!c) {
        c = calloc(1, sizeof *c);
        if (!c)
            return;
        c->size = -1;
        zhashx_insert(self->candidates, name, c);
    }
    c->since = aduan_monotonic_ms(); /* written again: the wait starts again */
}

/* What the scanner left while we were not watching. */
static void scan_folder(box_t *self)
{
    DIR *d = opendir(self->scan);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_type == DT_REG || e->d_type == DT_UNKNOWN)
            note_candidate(self, e->d_name);
    closedir(d);
}

static void *box_open(const aduan_config_t *config, aduan_adapter_t *adapter, char *reason,
                      size_t reasonlen)
{
    box_t *self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(reason, reasonlen, "out of memory");
        return NULL;
    }
    self->adapter = adapter;
    self->config = config;
    self->inotify_fd = self->to_helper = self->from_helper = -1;
    self->kick_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    const char *state = config->core.state_dir;
    folder(self->scan, config->box.scan_dir, state, "scan");
    folder(self->processed, config->box.processed_dir, state, "processed");
    folder(self->quarantine, config->box.quarantine_dir, state, "quarantine");
    folder(self->outgoing, config->box.outgoing_dir, state, "outgoing");
    folder(self->work, config->box.work_dir, state, "work");
    const char *dirs[] = {self->scan, self->processed, self->quarantine, self->outgoing,
                          self->work};
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++)
        if (aduan_mkdirs(dirs[i], 0750) != 0) {
            snprintf(reason, reasonlen, "folder %s: %s", dirs[i], strerror(errno));
            free(self);
            return NULL;
        }
    self->candidates = zhashx_new();
    zhashx_set_destructor(self->candidates, (zhashx_destructor_fn *)zstr_free);
    self->items = zhashx_new();
    zhashx_set_destructor(self->items, item_destructor);
    self->busy = zhashx_new();
    self->refused = zhashx_new();
    self->letters_waiting = zlistx_new();
    zlistx_set_destructor(self->letters_waiting, letter_destructor);
    self->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (self->kick_fd < 0 || self->inotify_fd < 0 ||
        inotify_add_watch(self->inotify_fd, self->scan, IN_CLOSE_WRITE | IN_MOVED_TO) < 0) {
        snprintf(reason, reasonlen, "cannot watch %s: %s", self->scan, strerror(errno));
        box_close(self);
        return NULL;
    }
    if (helper_start(self, reason, reasonlen) != 0) {
        box_close(self);
        return NULL;
    }
    scan_folder(self);
    log_info("box", "watching %s (%zu files waiting) languages=%s min_confidence=%" PRId64,
             self->scan, zhashx_size(self->candidates), config->box.languages,
             config->box.min_confidence);
    return self;
}

static void job_clear(box_t *self)
{
    free(self->job.data);
    if (self->job.work[0]) {
        DIR *d = opendir(self->job.work);
        struct dirent *e;
        while (d && (e = readdir(d))) {
            char p[PATH_MAX + 32 + NAME_MAX + 2];
            snprintf(p, sizeof p, "%s/%s", self->job.work, e->d_name);
            if (e->d_name[0] != '.')
                unlink(p);
        }
        if (d)
            closedir(d);
        rmdir(self->job.work);
    }
    memset(&self->job, 0, sizeof self->job);
}

static void box_close(void *state)
{
    box_t *self = state;
    if (!self)
        return;
    bool busy = self->job.running;
    if (busy)
        zhashx_delete(self->busy, self->job.name);
    job_clear(self);
    helper_stop(self, busy);
    if (self->inotify_fd >= 0)
        close(self->inotify_fd);
    if (self->kick_fd >= 0)
        close(self->kick_fd);
    zhashx_destroy(&self->candidates);
    zhashx_destroy(&self->items);
    zhashx_destroy(&self->busy);
    zhashx_destroy(&self->refused);
    if (self->letters_waiting && zlistx_size(self->letters_waiting))
        log_info("box", "closing with %zu letters not drawn (the core sends them again)",
                 zlistx_size(self->letters_waiting));
    zlistx_destroy(&self->letters_waiting);
    free(self->answer);
    free(self);
}

/* ---- intake -------------------------------------------------------------------------------- */

/* Submits the intake for the job's file; the file waits in scan_dir for the answer. */
static void submit(box_t *self, aduan_msg_t **intake_p, const char *quarantine_reason)
{
    item_t *item = calloc(1, sizeof *item);
    if (!item || !(item->name = strdup(self->job.name)) ||
        (quarantine_reason && !(item->quarantine = strdup(quarantine_reason)))) {
        if (item) {
            void *p = item;
            item_destructor(&p);
        }
        aduan_msg_destroy(intake_p);
        zhashx_delete(self->busy, self->job.name);
        return;
    }
    item->seq = self->job.seq;
    char seq[32];
    snprintf(seq, sizeof seq, "%" PRIu64, item->seq);
    zhashx_insert(self->items, seq, item);
    if (aduan_adapter_submit(self->adapter, intake_p, (void *)(uintptr_t)item->seq) != 0) {
        zhashx_delete(self->items, seq);
        zhashx_delete(self->busy, self->job.name);
    }
}

static aduan_msg_t *intake_new(box_t *self)
{
    aduan_msg_t *in = aduan_msg_new(ADUAN_MSG_INTAKE);
    if (!in)
        return NULL;
    char key[80];
    snprintf(key, sizeof key, "sha256:%s", self->job.sha);
    aduan_msg_set(&in->intake.dedupe_key, key);
    aduan_msg_set(&in->intake.intent, "complaint");
    in->intake.received_at = self->job.mtime_ms > 0 ? (uint64_t)self->job.mtime_ms : 0;
    return in;
}

/* Gives the file to the core as unreadable: kept in quarantine with the reason. */
static void submit_unreadable(box_t *self, const char *reason, bool with_bytes)
{
    aduan_msg_t *in = intake_new(self);
    if (!in)
        return;
    char why[512];
    snprintf(why, sizeof why, "%.200s: %.300s", self->job.name, reason);
    aduan_msg_set(&in->intake.quarantine_reason, why);
    if (with_bytes && self->job.size) {
        in->intake.raw.data = self->job.data;
        in->intake.raw.size = self->job.size;
        self->job.data = NULL;
    }
    log_warn("box", "%s cannot be read: %s", self->job.name, reason);
    submit(self, &in, reason);
}

/* Where replies go: by SMS to a mobile number, by email to an address (when that channel
   runs here), else a letter from this channel. */
static void choose_reply(box_t *self, const box_contact_t *c, aduan_msg_t *in)
{
    if (c->phone[0] && self->config->sms.enabled) {
        aduan_msg_set(&in->intake.from_addr, c->phone);
        aduan_msg_set(&in->intake.reply_channel, "sms");
    } else if (c->email[0] && self->config->email.enabled) {
        aduan_msg_set(&in->intake.from_addr, c->email);
        aduan_msg_set(&in->intake.reply_channel, "email");
    } else {
        aduan_msg_set(&in->intake.reply_channel, "box");
    }
}

static int attach_file(aduan_msg_t *in, const char *path, const char *name, const char *type)
{
    size_t size = 0;
    char *data = aduan_read_file(path, 256u << 20, &size);
    if (!data)
        return -1;
    int rc = aduan_msg_attach(in, name, type, data, size);
    free(data);
    return rc;
}

/* The helper's answer for the job's file. */
static void take_answer(box_t *self, const char *line)
{
    const aduan_config_t *cfg = self->config;
    json_t *a = json_loads(line, 0, NULL);
    if (!json_is_true(json_object_get(a, "ok"))) {
        const char *why = json_string_value(json_object_get(a, "reason"));
        submit_unreadable(self, why ? why : "the OCR helper gave no answer", true);
        json_decref(a);
        return;
    }
    json_t *pages = json_object_get(a, "pages");
    int confidence = (int)json_integer_value(json_object_get(a, "confidence"));
    const char *format = json_string_value(json_object_get(a, "format"));
    /* the pages' text, one after the other */
    size_t total = 1;
    size_t i;
    json_t *p;
    json_array_foreach(pages, i, p)
        total += strlen(json_string_value(json_object_get(p, "text")) ?: "") + 2;
    char *text = calloc(1, total);
    if (!text) {
        json_decref(a);
        zhashx_delete(self->busy, self->job.name);
        return;
    }
    json_array_foreach(pages, i, p) {
        const char *t = json_string_value(json_object_get(p, "text")) ?: "";
        if (i > 0)
            strcat(text, "\n\n");
        strcat(text, t);
    }
    /* trailing blank lines and the form feed Tesseract ends a page with */
    for (size_t n = strlen(text); n > 0 && strchr(" \n\r\t\f", text[n - 1]); n--)
        text[n - 1] = '\0';
    for (char *c = text; *c; c++)
        if (*c == '\f')
            *c = '\n';

    box_contact_t contact;
    box_contact_find(text, cfg->core.ticket_prefix, &contact);
    aduan_msg_t *in = intake_new(self);
    if (!in) {
        free(text);
        json_decref(a);
        zhashx_delete(self->busy, self->job.name);
        return;
    }
    char subject[NAME_MAX + 64];
    snprintf(subject, sizeof subject, "Formulir kotak saran (%s)", self->job.name);
    aduan_msg_set(&in->intake.subject, subject);
    aduan_msg_set(&in->intake.text, text);
    if (contact.name[0])
        aduan_msg_set(&in->intake.from_name, contact.name);
    if (contact.ticket[0])
        aduan_msg_set(&in->intake.thread_ticket, contact.ticket);
    choose_reply(self, &contact, in);
    bool unsure = confidence < cfg->box.min_confidence || !text[0];
    if (unsure)
        in->intake.flags |= ADUAN_INTAKE_TRANSCRIBE;

    /* what OCR made of it, for whoever checks or types it in; and the page images
       (pages of a TIFF or PDF: a PNG or JPEG is its own page image, in raw) */
    json_t *facts = json_pack("{s:s, s:s?, s:i, s:i, s:s}", "languages", cfg->box.languages,
                              "format", format, "confidence", confidence, "min_confidence",
                              (int)cfg->box.min_confidence, "file", self->job.name);
    json_t *page_facts = json_array();
    size_t used = self->job.size + strlen(text) * 2 + 65536;
    size_t budget = (size_t)cfg->bus.max_message_bytes > used
                        ? (size_t)cfg->bus.max_message_bytes - used
                        : 0;
    size_t attached = 0;
    json_array_foreach(pages, i, p) {
        json_array_append_new(page_facts,
                              json_pack("{s:O, s:O, s:O}", "confidence",
                                        json_object_get(p, "confidence"), "width",
                                        json_object_get(p, "width"), "height",
                                        json_object_get(p, "height")));
        const char *image = json_string_value(json_object_get(p, "image"));
        struct stat st;
        if (!image || stat(image, &st) != 0)
            continue;
        char name[64];
        snprintf(name, sizeof name, "page-%zu.png", i + 1);
        if (attached + (size_t)st.st_size > budget) {
            log_warn("box", "%s: page images from %s on left out (bus.max_message_bytes)",
                     self->job.name, name);
            break;
        }
        if (attach_file(in, image, name, "image/png") == 0)
            attached += (size_t)st.st_size;
    }
    json_object_set_new(facts, "pages", page_facts);
    json_object_set_new(facts, "text", json_string(text));
    char *facts_text = json_dumps(facts, JSON_INDENT(1));
    if (facts_text)
        aduan_msg_attach(in, "ocr.json", "application/json", facts_text, strlen(facts_text));
    free(facts_text);
    json_decref(facts);

    in->intake.raw.data = self->job.data;
    in->intake.raw.size = self->job.size;
    self->job.data = NULL;
    char masked[ADUAN_MASK_MAX];
    aduan_mask_address(in->intake.from_addr, masked, sizeof masked);
    log_info("box", "%s read format=%s pages=%zu confidence=%d%s contact=%s reply=%s",
             self->job.name, format ? format : "-", json_array_size(pages), confidence,
             unsure ? " (below min_confidence: to be typed in)" : "", masked,
             in->intake.reply_channel);
    free(text);
    json_decref(a);
    submit(self, &in, NULL);
}

/* Reads the file and hands it to the helper. */
static void start_job(box_t *self, const char *name)
{
    job_t *job = &self->job;
    memset(job, 0, sizeof *job);
    snprintf(job->name, sizeof job->name, "%s", name);
    job->seq = next_seq++;
    char path[PATH_MAX + NAME_MAX + 2];
    snprintf(path, sizeof path, "%s/%s", self->scan, name);
    struct stat st;
    if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return; /* gone, or no plain file (a link is not followed) */
    zhashx_insert(self->busy, name, (void *)"busy");
    job->mtime_ms = (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
    /* what the bus carries bounds it too: the file travels as the intake's raw, beside
       its text (at most 1 MiB) and page images (left out when they do not fit) */
    size_t max = (size_t)self->config->box.max_file_bytes;
    size_t bus_room = (size_t)self->config->bus.max_message_bytes;
    bus_room = bus_room > (2u << 20) ? bus_room - (2u << 20) : bus_room / 2;
    if (max > bus_room)
        max = bus_room;
    errno = 0;
    job->data = (unsigned char *)aduan_read_file(path, max, &job->size);
    if (!job->data) {
        int err = errno;
        char why[128];
        if (err == EFBIG)
            snprintf(why, sizeof why, "larger than box.max_file_bytes (%zu)", max);
        else
            snprintf(why, sizeof why, "cannot be read: %s", strerror(err));
        /* the hash of what can be read names it: the bytes are too many to keep */
        aduan_sha256_hex(path, strlen(path), job->sha);
        submit_unreadable(self, why, false);
        job_clear(self);
        return;
    }
    aduan_sha256_hex(job->data, job->size, job->sha);
    if (job->size == 0) {
        submit_unreadable(self, "empty file (0 bytes)", false);
        job_clear(self);
        return;
    }
    snprintf(job->work, sizeof job->work, "%s/%" PRIu64, self->work, job->seq);
    if (mkdir(job->work, 0700) != 0 && errno != EEXIST)
        job->work[0] = '\0';
    json_t *req = json_pack("{s:s, s:s?}", "path", path, "work", job->work[0] ? job->work : NULL);
    char *line = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    size_t len = line ? strlen(line) : 0;
    bool sent = line && write(self->to_helper, line, len) == (ssize_t)len &&
                write(self->to_helper, "\n", 1) == 1;
    free(line);
    if (!sent) {
        /* the helper is gone: it starts again for the next try */
        set_error(self, "OCR helper not answering");
        helper_stop(self, true);
        zhashx_delete(self->busy, name);
        job_clear(self);
        return;
    }
    job->running = true;
    job->started = aduan_monotonic_ms();
    log_debug("box", "%s reading (%zu bytes, sha256 %.16s)", name, job->size, job->sha);
}

/* Looks at the running job: done, the helper died on it, or too slow. */
/* The helper's answer to a letter: the RESULT of its outbox row. */
static void take_letter_answer(box_t *self, const char *line)
{
    json_t *a = json_loads(line, 0, NULL);
    const job_t *job = &self->job;
    if (json_is_true(json_object_get(a, "ok"))) {
        self->letters++;
        aduan_adapter_result(self->adapter, job->letter_outbox_id, "sent", job->letter_name,
                             NULL);
        log_info("box", "%s letter outbox=%" PRIu64 " written to %s/%s, to be printed",
                 job->letter_ticket, job->letter_outbox_id, self->outgoing, job->letter_name);
    } else {
        const char *why = json_string_value(json_object_get(a, "reason"));
        set_error(self, why ? why : "letter not drawn");
        aduan_adapter_result(self->adapter, job->letter_outbox_id, "temporary", NULL,
                             why ? why : "letter not drawn");
        log_warn("box", "%s letter outbox=%" PRIu64 " not written: %s", job->letter_ticket,
                 job->letter_outbox_id, why ? why : "no reason given");
    }
    json_decref(a);
}

static void check_job(box_t *self)
{
    int got = helper_read_line(self);
    if (got == 1) {
        self->job.running = false;
        if (self->job.letter)
            take_letter_answer(self, self->answer);
        else
            take_answer(self, self->answer);
        helper_consume_line(self);
        job_clear(self);
        return;
    }
    char why[160] = "";
    if (got < 0) {
        int status = 0;
        pid_t pid = self->helper;
        close(self->from_helper);
        self->from_helper = -1;
        if (pid > 0 && waitpid(pid, &status, 0) == pid) {
            self->helper = 0;
            if (WIFSIGNALED(status))
                snprintf(why, sizeof why, "the OCR helper died reading it (%s)",
                         strsignal(WTERMSIG(status)));
            else
                snprintf(why, sizeof why, "the OCR helper ended reading it (exit %d)",
                         WEXITSTATUS(status));
        } else {
            snprintf(why, sizeof why, "the OCR helper ended reading it");
        }
    } else if (aduan_monotonic_ms() - self->job.started > self->config->box.ocr_timeout_s * 1000) {
        snprintf(why, sizeof why, "OCR took longer than box.ocr_timeout_s (%" PRId64 " s)",
                 self->config->box.ocr_timeout_s);
    } else {
        return;
    }
    /* a file that kills or stalls the helper is quarantined; the helper starts afresh */
    helper_stop(self, true);
    set_error(self, why);
    self->job.running = false;
    if (self->job.letter)
        aduan_adapter_result(self->adapter, self->job.letter_outbox_id, "temporary", NULL, why);
    else
        submit_unreadable(self, why, true);
    job_clear(self);
}

static void read_inotify(box_t *self)
{
    char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
    for (;;) {
        ssize_t n = read(self->inotify_fd, buf, sizeof buf);
        if (n <= 0)
            break;
        for (char *p = buf; p < buf + n;) {
            struct inotify_event *e = (struct inotify_event *)p;
            if (e->len && !(e->mask & IN_ISDIR))
                note_candidate(self, e->name);
            if (e->mask & IN_Q_OVERFLOW)
                scan_folder(self);
            if (e->mask & IN_IGNORED)
                self->watch_lost = true;
            p += sizeof *e + e->len;
        }
    }
}

/* The next candidate whose size held long enough, or NULL; *wait_ms the shortest wait. */
static char *next_stable(box_t *self, int64_t *wait_ms)
{
    int64_t now = aduan_monotonic_ms();
    char path[PATH_MAX + NAME_MAX + 2];
    for (candidate_t *c = zhashx_first(self->candidates); c; c = zhashx_next(self->candidates)) {
        const char *name = zhashx_cursor(self->candidates);
        snprintf(path, sizeof path, "%s/%s", self->scan, name);
        struct stat st;
        if (lstat(path, &st) != 0) {
            zhashx_delete(self->candidates, name);
            return next_stable(self, wait_ms); /* the cursor is gone: again */
        }
        int64_t mtime = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
        if (st.st_size != c->size || mtime != c->mtime_ns) {
            c->size = st.st_size;
            c->mtime_ns = mtime;
            c->since = now;
        }
        int64_t left = c->since + self->config->box.stable_ms - now;
        if (left <= 0)
            return strdup(name);
        if (left < *wait_ms)
            *wait_ms = left;
    }
    return NULL;
}

/* Hands the oldest waiting letter to the helper. */
static void start_letter(box_t *self)
{
    letter_t *l = zlistx_detach(self->letters_waiting, NULL);
    if (!l)
        return;
    job_t *job = &self->job;
    memset(job, 0, sizeof *job);
    job->letter = true;
    job->letter_outbox_id = l->outbox_id;
    snprintf(job->letter_name, sizeof job->letter_name, "%s", l->name);
    snprintf(job->letter_ticket, sizeof job->letter_ticket, "%s", l->ticket);
    size_t len = strlen(l->request);
    bool sent = write(self->to_helper, l->request, len) == (ssize_t)len &&
                write(self->to_helper, "\n", 1) == 1;
    void *p = l;
    letter_destructor(&p);
    if (!sent) {
        set_error(self, "OCR helper not answering");
        helper_stop(self, true);
        aduan_adapter_result(self->adapter, job->letter_outbox_id, "temporary", NULL,
                             "the letter helper is not answering");
        memset(job, 0, sizeof *job);
        return;
    }
    job->running = true;
    job->started = aduan_monotonic_ms();
}

static int box_poll(void *state)
{
    box_t *self = state;
    uint64_t kicks;
    if (read(self->kick_fd, &kicks, sizeof kicks) < 0 && errno != EAGAIN)
        log_debug("box", "eventfd: %s", strerror(errno));
    read_inotify(self);
    if (self->watch_lost && !self->job.running) {
        /* the runner opens us again with backoff: the folder is made and watched anew */
        set_error(self, "scan folder gone");
        log_warn("box", "scan folder %s gone; watching it again", self->scan);
        return -1;
    }
    if (self->job.running)
        check_job(self);
    int64_t wait = IDLE_WAIT_MS;
    if (!self->job.running && self->helper <= 0 &&
        (zlistx_size(self->letters_waiting) || zhashx_size(self->candidates))) {
        char reason[512];
        if (helper_start(self, reason, sizeof reason) != 0) {
            set_error(self, reason);
            log_warn("box", "%s", reason);
            return -1; /* the runner opens us again with backoff */
        }
    }
    if (!self->job.running && zlistx_size(self->letters_waiting)) {
        start_letter(self); /* a letter is quick: before the next file */
        wait = 0;
    } else if (!self->job.running) {
        char *name = next_stable(self, &wait);
        if (name) {
            zhashx_delete(self->candidates, name);
            start_job(self, name);
            free(name);
            wait = 0; /* there may be more that are stable */
        }
    }
    if (self->job.running)
        wait = JOB_CHECK_MS;
    return (int)wait;
}

static int box_wake_fd(void *state)
{
    box_t *self = state;
    if (self->job.running)
        return self->from_helper;
    /* a letter queued since the last poll: the eventfd is readable, poll() comes at once */
    return zlistx_size(self->letters_waiting) ? self->kick_fd : self->inotify_fd;
}

/* ---- after the answer ---------------------------------------------------------------------- */

/* Moves scan_dir/name to dir/prefix+name, never over another file. */
static int move_file(box_t *self, const char *name, const char *dir, const char *prefix,
                     char *dest, size_t destlen)
{
    char from[PATH_MAX + NAME_MAX + 2];
    snprintf(from, sizeof from, "%s/%s", self->scan, name);
    for (int n = 0; n < 1000; n++) {
        if (n == 0)
            snprintf(dest, destlen, "%s/%s%s", dir, prefix, name);
        else
            snprintf(dest, destlen, "%s/%s%s.%d", dir, prefix, name, n);
        if (renameat2(AT_FDCWD, from, AT_FDCWD, dest, RENAME_NOREPLACE) == 0)
            return 0;
        if (errno != EEXIST)
            return -1;
    }
    return -1;
}

static void box_answered(void *state, void *cookie, const aduan_msg_t *answer)
{
    box_t *self = state;
    char seq[32];
    snprintf(seq, sizeof seq, "%" PRIu64, (uint64_t)(uintptr_t)cookie);
    item_t *item = zhashx_lookup(self->items, seq);
    if (!item)
        return;
    if (answer->type == ADUAN_MSG_ACK) {
        const char *ticket = answer->ack.ticket && *answer->ack.ticket ? answer->ack.ticket : "";
        char prefix[64] = "", dest[PATH_MAX + NAME_MAX + 80];
        if (*ticket)
            snprintf(prefix, sizeof prefix, "%s_", ticket);
        const char *dir = item->quarantine ? self->quarantine : self->processed;
        if (move_file(self, item->name, dir, prefix, dest, sizeof dest) != 0) {
            log_error("box", "%s registered (%s) but not moved to %s: %s; it is read again and "
                             "answered as a duplicate", item->name, answer->ack.disposition, dir,
                      strerror(errno));
        } else if (item->quarantine) {
            char why[PATH_MAX + NAME_MAX + 100];
            snprintf(why, sizeof why, "%s.reason.txt", dest);
            char text[600];
            int n = snprintf(text, sizeof text, "%s\n", item->quarantine);
            aduan_write_file_durably(why, text, (size_t)n);
            self->quarantined++;
            log_warn("box", "%s quarantined in %s: %s", item->name, self->quarantine,
                     item->quarantine);
        } else {
            self->taken++;
            log_info("box", "%s intake file=%s %s", *ticket ? ticket : "-", item->name,
                     answer->ack.disposition);
        }
        zhashx_delete(self->busy, item->name);
    } else if (answer->nack.permanent) {
        /* left in the scan folder for an operator; not offered again until a restart */
        zhashx_insert(self->refused, item->name, (void *)"refused");
        zhashx_delete(self->busy, item->name);
        log_error("box", "core refused %s for good: %s", item->name, answer->nack.reason);
    } else {
        zhashx_delete(self->busy, item->name);
        note_candidate(self, item->name); /* tried again */
    }
    zhashx_delete(self->items, seq);
}

/* ---- replies: letters ---------------------------------------------------------------------- */

/* Queues the reply; poll() has the helper draw it between two files. */
static void box_deliver(void *state, const aduan_msg_t *d)
{
    box_t *self = state;
    const aduan_config_t *cfg = self->config;
    const char *ticket = d->deliver.ticket && *d->deliver.ticket ? d->deliver.ticket : "aduan";
    letter_t *l = calloc(1, sizeof *l);
    if (!l) {
        aduan_adapter_result(self->adapter, d->deliver.outbox_id, "temporary", NULL,
                             "out of memory");
        return;
    }
    l->outbox_id = d->deliver.outbox_id;
    snprintf(l->ticket, sizeof l->ticket, "%s", ticket);
    snprintf(l->name, sizeof l->name, "%s-%s-%" PRIu64 ".pdf", ticket, d->deliver.kind,
             d->deliver.outbox_id);
    char out[PATH_MAX + 200];
    snprintf(out, sizeof out, "%s/%s", self->outgoing, l->name);
    json_t *letter = json_pack(
        "{s:s, s:s, s:s, s:s?, s:s?, s:s?, s:s, s:I, s:s}", "office", cfg->core.office_name,
        "address", cfg->box.letter_address, "signer", cfg->box.letter_signer, "ticket",
        d->deliver.ticket, "to_name", d->deliver.to_name, "subject", d->deliver.subject,
        "text", d->deliver.text ? d->deliver.text : "", "date_ms",
        (json_int_t)aduan_clock_now_ms(aduan_clock_from_env()), "language",
        cfg->templates.language);
    json_t *req = letter ? json_pack("{s:o, s:s}", "letter", letter, "out", out) : NULL;
    l->request = req ? json_dumps(req, JSON_COMPACT) : NULL;
    json_decref(req);
    if (!l->request) {
        void *p = l;
        letter_destructor(&p);
        aduan_adapter_result(self->adapter, d->deliver.outbox_id, "temporary", NULL,
                             "out of memory");
        return;
    }
    zlistx_add_end(self->letters_waiting, l);
    uint64_t one = 1;
    if (write(self->kick_fd, &one, sizeof one) != sizeof one)
        log_debug("box", "eventfd: %s", strerror(errno));
}

static char *box_status(void *state)
{
    box_t *self = state;
    json_t *o = json_pack("{s:b, s:s, s:I, s:I, s:I, s:I, s:I, s:b, s:s}", "connected",
                          self->helper > 0, "scan_dir", self->scan, "waiting",
                          (json_int_t)zhashx_size(self->candidates), "in_flight",
                          (json_int_t)zhashx_size(self->items), "taken",
                          (json_int_t)self->taken, "quarantined",
                          (json_int_t)self->quarantined, "letters", (json_int_t)self->letters,
                          "reading", self->job.running, "last_error", self->last_error);
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    return text;
}

const aduan_channel_t aduan_channel_box = {
    .name = "box",
    .open = box_open,
    .poll = box_poll,
    .wake_fd = box_wake_fd,
    .answered = box_answered,
    .deliver = box_deliver,
    .status = box_status,
    .close = box_close,
};
