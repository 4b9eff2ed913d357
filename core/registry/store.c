/*  store.c - the SQLite registry file: open, migrate, transactions, statements, files,
    and the events of a transaction. */
#include "store.h"

#include <czmq.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <time.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "aduan/files.h"
#include "aduan/hash.h"
#include "aduan/log.h"
#include "schema.h"
#include "search.h"

/*  The checkpointer: a thread with its own connection that copies the WAL back into the
    database file every CHECKPOINT_MS (PASSIVE: it never blocks the writer). Done inside a
    commit, as SQLite does by default, it stalled the core's turn and showed in the ACK
    latency; so the core's connection has a WAL hook of its own (wal_grew), which replaces
    SQLite's automatic checkpoint and only wakes the thread.
    A PASSIVE checkpoint never lets the WAL start over while the writer keeps writing (a
    flood): the file grew to hundreds of megabytes, and every read looks through its
    index. Past CHECKPOINT_RESTART_PAGES the thread asks for RESTART, which waits for the
    writer's current transaction, copies the little the PASSIVE ones left and lets the next
    transaction write from the start of the file: one short pause per that many pages. */
#define CHECKPOINT_MS 250
#define CHECKPOINT_WAKE_PAGES 4000      /* 16 MiB of WAL: wake the thread now */
#define CHECKPOINT_RESTART_PAGES 16000  /* 64 MiB */

/*  Waiting for a lock another connection holds (the core for the checkpointer's RESTART,
    the checkpointer for the core while it finishes one): a short sleep and a new try, up
    to BUSY_WAIT_MS. SQLite's own busy timeout sleeps 1, 2, 5, 10, 15, 20, 25, 25, 25, 50,
    50, 100 ms in turn: a lock held for 3 ms cost the core's turn 35 ms, and every ACK of
    that turn with it. The checkpointer gives up sooner: while its RESTART waits, new
    writers wait behind it. */
#define BUSY_SLEEP_US 200
static const int core_busy_wait_ms = 5000;
static const int checkpoint_busy_wait_ms = 1000;

typedef struct {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool stop;
    bool running;
    char *path;
} checkpointer_t;

struct aduan_store {
    sqlite3 *db;
    checkpointer_t checkpointer;
    char *state_dir;
    char *files_dir;
    const aduan_config_t *config;
    const aduan_clock_t *clock;
    zhashx_t *statements;      /* SQL text -> statement_t*, finalised on close */
    bool indexing;             /* inside aduan_store_index_pending */
    bool files_dirty;          /* a file was written in this transaction: flush first */
    bool unsynced;             /* in a transaction of aduan_store_begin_unsynced */
    aduan_event_t *events;     /* in order of occurrence */
    aduan_event_t **events_tail;
    const struct aduan_outbox_handout *handout;
    aduan_search_t *search;    /* message_fts's tokenizer (search.c) */
};

typedef struct {
    sqlite3_stmt *stmt;
    bool searches; /* reads the search index: brings it up to date first */
} statement_t;

static void statement_destroy(void **item)
{
    statement_t *s = *item;
    sqlite3_finalize(s->stmt);
    free(s);
    *item = NULL;
}

static int exec(aduan_store_t *self, const char *sql)
{
    char *err = NULL;
    if (sqlite3_exec(self->db, sql, NULL, NULL, &err) != SQLITE_OK) {
        log_error("store", "sql failed: %s", err ? err : sqlite3_errmsg(self->db));
        sqlite3_free(err);
        return -1;
    }
    return 0;
}

static int schema_version(sqlite3 *db, int *version)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
        return -1;
    int rc = sqlite3_step(st) == SQLITE_ROW ? 0 : -1;
    if (rc == 0)
        *version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return rc;
}

/*  Migrations run with foreign keys off (SQLite's way to copy a table that others refer
    to: dropping the old one would otherwise delete or refuse their rows), so each is
    checked before its COMMIT: every reference must still find its row. */
static int foreign_keys_hold(aduan_store_t *self, char *why, size_t whylen)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(self->db, "PRAGMA foreign_key_check", -1, &st, NULL) != SQLITE_OK)
        return -1;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        snprintf(why, whylen, "%s row %lld refers to a missing %s row",
                 (const char *)sqlite3_column_text(st, 0),
                 (long long)sqlite3_column_int64(st, 1),
                 (const char *)sqlite3_column_text(st, 2));
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

static int migrate(aduan_store_t *self, char *reason, size_t reasonlen)
{
    int version = 0;
    if (schema_version(self->db, &version) != 0) {
        snprintf(reason, reasonlen, "cannot read the schema version: %s",
                 sqlite3_errmsg(self->db));
        return -1;
    }
    int known = (int)aduan_schema_migration_count(); /* a newer one was refused in open */
    for (int v = version; v < known; v++) {
        char pragma[64];
        snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d", v + 1);
        char why[256] = "";
        if (exec(self, "BEGIN IMMEDIATE") != 0)
            goto fail;
        if (exec(self, aduan_schema_migration((size_t)v)) != 0 ||
            foreign_keys_hold(self, why, sizeof why) != 0 || exec(self, pragma) != 0) {
            if (!*why) /* before the ROLLBACK, which succeeds and clears it */
                snprintf(why, sizeof why, "%s", sqlite3_errmsg(self->db));
            exec(self, "ROLLBACK");
            goto fail;
        }
        if (exec(self, "COMMIT") != 0)
            goto fail;
        log_info("store", "registry migrated to schema version %d", v + 1);
        continue;
    fail:
        snprintf(reason, reasonlen, "migration to schema version %d failed: %s", v + 1,
                 *why ? why : sqlite3_errmsg(self->db));
        return -1;
    }
    return 0;
}

static int wait_briefly(void *limit_ms, int tries)
{
    if ((int64_t)tries * BUSY_SLEEP_US >= (int64_t)*(const int *)limit_ms * 1000)
        return 0; /* give up: SQLITE_BUSY */
    usleep(BUSY_SLEEP_US);
    return 1;
}

static void *checkpoint_loop(void *arg)
{
    checkpointer_t *c = arg;
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(c->path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL)
        != SQLITE_OK) {
        log_error("store", "checkpointer cannot open %s", c->path);
        sqlite3_close(db);
        return NULL;
    }
    sqlite3_busy_handler(db, wait_briefly, (void *)&checkpoint_busy_wait_ms);
    sqlite3_exec(db, "PRAGMA synchronous=FULL;", NULL, NULL, NULL);
    pthread_mutex_lock(&c->lock);
    while (!c->stop) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += CHECKPOINT_MS * 1000000L;
        until.tv_sec += until.tv_nsec / 1000000000L;
        until.tv_nsec %= 1000000000L;
        pthread_cond_timedwait(&c->wake, &c->lock, &until);
        if (c->stop)
            break;
        pthread_mutex_unlock(&c->lock);
        int log_pages = 0;
        int rc = sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log_pages,
                                           NULL);
        if (rc == SQLITE_OK && log_pages >= CHECKPOINT_RESTART_PAGES)
            rc = sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_RESTART, NULL, NULL);
        if (rc != SQLITE_OK && rc != SQLITE_BUSY)
            log_warn("store", "checkpoint failed: %s", sqlite3_errmsg(db));
        pthread_mutex_lock(&c->lock);
    }
    pthread_mutex_unlock(&c->lock);
    sqlite3_close(db);
    return NULL;
}

/* The core connection's WAL hook, after each COMMIT: a long WAL wakes the checkpointer. */
static int wal_grew(void *arg, sqlite3 *db, const char *name, int pages)
{
    (void)db;
    (void)name;
    checkpointer_t *c = arg;
    if (pages >= CHECKPOINT_WAKE_PAGES && c->running) {
        pthread_mutex_lock(&c->lock);
        pthread_cond_signal(&c->wake);
        pthread_mutex_unlock(&c->lock);
    }
    return SQLITE_OK;
}

static void checkpointer_start(checkpointer_t *c, const char *path)
{
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->wake, NULL);
    c->path = strdup(path);
    c->stop = false;
    c->running = pthread_create(&c->thread, NULL, checkpoint_loop, c) == 0;
}

static void checkpointer_stop(checkpointer_t *c)
{
    if (!c->path)
        return;
    if (c->running) {
        pthread_mutex_lock(&c->lock);
        c->stop = true;
        pthread_cond_signal(&c->wake);
        pthread_mutex_unlock(&c->lock);
        pthread_join(c->thread, NULL);
    }
    pthread_cond_destroy(&c->wake);
    pthread_mutex_destroy(&c->lock);
    free(c->path);
    c->path = NULL;
}

int aduan_store_open(const char *state_dir, const aduan_config_t *config,
                     const aduan_clock_t *clock, aduan_store_t **store_p, char *reason,
                     size_t reasonlen)
{
    *store_p = NULL;
    aduan_store_t *self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(reason, reasonlen, "out of memory");
        return -1;
    }
    self->config = config;
    self->clock = clock;
    self->events_tail = &self->events;
    self->state_dir = strdup(state_dir);
    self->files_dir = zsys_sprintf("%s/files", state_dir);
    self->statements = zhashx_new();
    zhashx_set_destructor(self->statements, statement_destroy);

    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/registry.db", state_dir);
    if (aduan_mkdirs(self->files_dir, 0750) != 0) {
        snprintf(reason, reasonlen, "%s: %s", self->files_dir, strerror(errno));
        goto fail;
    }
    if (sqlite3_open_v2(path, &self->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        snprintf(reason, reasonlen, "%s: %s", path,
                 self->db ? sqlite3_errmsg(self->db) : "cannot open");
        goto fail;
    }
    sqlite3_busy_handler(self->db, wait_briefly, (void *)&core_busy_wait_ms);
    int version = 0;
    if (schema_version(self->db, &version) == 0 &&
        version > (int)aduan_schema_migration_count()) {
        snprintf(reason, reasonlen,
                 "%s: registry schema version %d is newer than this Aduan knows (%d): "
                 "refusing to touch it; run the Aduan that wrote it",
                 path, version, (int)aduan_schema_migration_count());
        goto fail;
    }
    /* FULL: the WAL is synced at every COMMIT, so what was ACKed survives a power cut. */
    if (exec(self, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; "
                   "PRAGMA cache_size=-8000; PRAGMA temp_store=MEMORY;"
                   /* only should the checkpointer thread not start: its WAL hook
                      replaces this (wal_grew) */
                   "PRAGMA wal_autocheckpoint=20000;") != 0) {
        snprintf(reason, reasonlen, "%s: %s", path, sqlite3_errmsg(self->db));
        goto fail;
    }
    if (migrate(self, reason, reasonlen) != 0)
        goto fail;
    exec(self, "PRAGMA foreign_keys=ON"); /* cannot fail outside a transaction */
    if (!(self->search = aduan_search_new(self->db))) {
        snprintf(reason, reasonlen, "%s: SQLite has no FTS5 tokenizer for the search", path);
        goto fail;
    }
    checkpointer_start(&self->checkpointer, path);
    if (self->checkpointer.running)
        sqlite3_wal_hook(self->db, wal_grew, &self->checkpointer); /* no checkpoint inline */
    *store_p = self;
    return 0;
fail:
    aduan_store_close(&self);
    return -1;
}

void aduan_store_close(aduan_store_t **store_p)
{
    aduan_store_t *self = *store_p;
    if (!self)
        return;
    checkpointer_stop(&self->checkpointer);
    zhashx_destroy(&self->statements);
    aduan_search_destroy(&self->search);
    aduan_event_list_free(&self->events);
    if (self->db)
        sqlite3_close(self->db);
    free(self->state_dir);
    free(self->files_dir);
    free(self);
    *store_p = NULL;
}

sqlite3_stmt *aduan_store_stmt(aduan_store_t *self, const char *sql)
{
    statement_t *s = zhashx_lookup(self->statements, sql);
    if (!s) {
        sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v3(self->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL)
            != SQLITE_OK) {
            log_error("store", "cannot prepare statement: %s", sqlite3_errmsg(self->db));
            return NULL;
        }
        s = calloc(1, sizeof *s);
        if (!s) {
            sqlite3_finalize(st);
            return NULL;
        }
        s->stmt = st;
        s->searches = strstr(sql, "message_fts MATCH") != NULL;
        zhashx_insert(self->statements, sql, s);
    }
    /* whoever searches sees every committed message, however late the batch runs */
    if (s->searches && !self->indexing && aduan_store_index_pending(self) < 0)
        log_warn("store", "search index not brought up to date: %s", sqlite3_errmsg(self->db));
    sqlite3_reset(s->stmt);
    sqlite3_clear_bindings(s->stmt);
    return s->stmt;
}

int aduan_store_begin(aduan_store_t *self)
{
    self->files_dirty = false;
    /* IMMEDIATE takes the write lock now: no lock upgrade can fail later */
    return exec(self, "BEGIN IMMEDIATE");
}

/* Back to synced COMMITs after a transaction of aduan_store_begin_unsynced. False when
   that failed (logged). */
static bool synced_again(aduan_store_t *self)
{
    bool ok = !self->unsynced || exec(self, "PRAGMA synchronous=FULL") == 0;
    if (!ok)
        log_error("store", "cannot return to synchronous=FULL: %s", sqlite3_errmsg(self->db));
    self->unsynced = false;
    return ok;
}

int aduan_store_begin_unsynced(aduan_store_t *self)
{
    if (exec(self, "PRAGMA synchronous=NORMAL") != 0)
        return -1;
    self->unsynced = true;
    if (aduan_store_begin(self) != 0) {
        synced_again(self);
        return -1;
    }
    return 0;
}

/* One flush of the file system for every file of the transaction (see store.h). */
static int flush_files(aduan_store_t *self)
{
    if (!self->files_dirty)
        return 0;
    int fd = open(self->files_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = syncfs(fd);
    close(fd);
    self->files_dirty = false;
    return rc;
}

int aduan_store_commit(aduan_store_t *self)
{
    if (flush_files(self) != 0) {
        log_error("store", "cannot flush the file store: %s", strerror(errno));
        aduan_store_rollback(self);
        return -1;
    }
    if (exec(self, "COMMIT") != 0) {
        aduan_store_rollback(self);
        return -1;
    }
    synced_again(self);
    return 0;
}

void aduan_store_rollback(aduan_store_t *self)
{
    if (!sqlite3_get_autocommit(self->db))
        exec(self, "ROLLBACK");
    synced_again(self);
    aduan_event_list_free(&self->events);
    self->events_tail = &self->events;
}

/* ---- the search index -------------------------------------------------------------- */

#define SQL_INDEX_RANGE                                                                    \
    "SELECT indexed_upto, (SELECT max(id) FROM message) FROM search_progress"
#define SQL_INDEX_FILL                                                                     \
    "INSERT INTO message_fts(rowid, subject, body) SELECT id, subject, body FROM message"   \
    " WHERE id > ?1 AND id <= ?2 AND direction = 'in'"
#define SQL_INDEX_DONE "UPDATE search_progress SET indexed_upto = ?1"

/* Indexes the messages after search_progress, at most `limit` ids of them (0: all). */
static int index_range(aduan_store_t *self, int limit)
{
    sqlite3_stmt *st = aduan_store_stmt(self, SQL_INDEX_RANGE);
    if (!st || sqlite3_step(st) != SQLITE_ROW)
        return -1;
    int64_t from = sqlite3_column_int64(st, 0), upto = sqlite3_column_int64(st, 1);
    sqlite3_reset(st);
    if (limit > 0 && upto > from + limit)
        upto = from + limit;
    if (upto <= from)
        return 0;
    st = aduan_store_stmt(self, SQL_INDEX_FILL);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, from);
    sqlite3_bind_int64(st, 2, upto);
    if (sqlite3_step(st) != SQLITE_DONE)
        return -1;
    int indexed = sqlite3_changes(self->db);
    sqlite3_reset(st);
    if (aduan_search_record_words(self, from, upto) != 0)
        return -1;
    st = aduan_store_stmt(self, SQL_INDEX_DONE);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, upto);
    int rc = sqlite3_step(st) == SQLITE_DONE ? indexed : -1;
    sqlite3_reset(st);
    return rc;
}

int aduan_store_index_pending(aduan_store_t *self)
{
    return aduan_store_index_some(self, 0);
}

int aduan_store_index_some(aduan_store_t *self, int limit)
{
    self->indexing = true;
    int rc;
    if (!sqlite3_get_autocommit(self->db)) {
        rc = index_range(self, limit); /* the caller's transaction */
    } else {
        /* Not synced (synchronous=NORMAL for this one COMMIT): the index can be rebuilt
           from search_progress, and WAL frames are kept in order, so the next synced
           COMMIT of an intake makes this one durable too. A power cut before that only
           leaves the batch to be indexed again. */
        rc = aduan_store_begin_unsynced(self);
        if (rc == 0) {
            rc = index_range(self, limit);
            if (rc < 0 || exec(self, "COMMIT") != 0) {
                rc = -1;
                if (!sqlite3_get_autocommit(self->db))
                    exec(self, "ROLLBACK");
            }
            if (!synced_again(self))
                rc = -1;
        }
    }
    self->indexing = false;
    return rc;
}

aduan_search_t *aduan_store_search(aduan_store_t *self)
{
    return self->search;
}

sqlite3 *aduan_store_db(aduan_store_t *self)
{
    return self->db;
}

const aduan_config_t *aduan_store_config(aduan_store_t *self)
{
    return self->config;
}

int64_t aduan_store_now_ms(aduan_store_t *self)
{
    return aduan_clock_now_ms(self->clock);
}

const char *aduan_store_state_dir(aduan_store_t *self)
{
    return self->state_dir;
}

const char *aduan_store_errmsg(aduan_store_t *self)
{
    return sqlite3_errmsg(self->db);
}

static void file_path(aduan_store_t *self, const char *sha256, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s/%.2s/%s", self->files_dir, sha256, sha256 + 2);
}

static int put_file(aduan_store_t *self, const void *data, size_t size, const char *sha256)
{
    char path[PATH_MAX], dir[PATH_MAX];
    file_path(self, sha256, path, sizeof path);
    struct stat st;
    if (stat(path, &st) == 0 && (size_t)st.st_size == size) {
        /* the same bytes are there, perhaps left by a rolled-back transaction and never
           flushed: this commit flushes them */
        self->files_dirty = true;
        return 0;
    }
    snprintf(dir, sizeof dir, "%s/%.2s", self->files_dir, sha256);
    if (aduan_mkdirs(dir, 0750) != 0)
        return -1;
    /* no fsync here: aduan_store_commit flushes the whole batch once */
    char tmp[PATH_MAX + 8];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "wbe");
    if (!f)
        return -1;
    bool ok = fwrite(data, 1, size, f) == size;
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) {
        unlink(tmp);
        return -1;
    }
    self->files_dirty = true;
    return 0;
}

#define SQL_PUT_CONTENT                                                                    \
    "INSERT INTO content(sha256, size, data) VALUES (?1, ?2, ?3)"                           \
    " ON CONFLICT(sha256) DO NOTHING"
#define SQL_GET_CONTENT "SELECT size, data FROM content WHERE sha256 = ?1"

int aduan_store_put_content(aduan_store_t *self, const void *data, size_t size,
                            char sha256_out[65])
{
    if (aduan_sha256_hex(data, size, sha256_out) != 0)
        return -1;
    bool inline_ = size <= ADUAN_CONTENT_INLINE_MAX;
    if (!inline_ && put_file(self, data, size, sha256_out) != 0)
        return -1;
    sqlite3_stmt *st = aduan_store_stmt(self, SQL_PUT_CONTENT);
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, sha256_out, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)size);
    if (inline_) /* never a NULL pointer: NULL data means "in a file" */
        sqlite3_bind_blob64(st, 3, size ? data : "", size, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 3);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
    sqlite3_reset(st);
    return rc;
}

unsigned char *aduan_store_get_content(aduan_store_t *self, const char *sha256,
                                       size_t *size_out)
{
    sqlite3_stmt *st = aduan_store_stmt(self, SQL_GET_CONTENT);
    if (!st)
        return NULL;
    sqlite3_bind_text(st, 1, sha256, -1, SQLITE_STATIC);
    unsigned char *out = NULL;
    if (sqlite3_step(st) == SQLITE_ROW) {
        size_t size = (size_t)sqlite3_column_int64(st, 0);
        if (sqlite3_column_type(st, 1) == SQLITE_BLOB) {
            out = malloc(size + 1);
            if (out && size > 0)
                memcpy(out, sqlite3_column_blob(st, 1), size);
        } else if (sqlite3_column_type(st, 1) == SQLITE_NULL) {
            char path[PATH_MAX];
            file_path(self, sha256, path, sizeof path);
            out = (unsigned char *)aduan_read_file(path, size, NULL);
        } else if (size == 0) {
            out = malloc(1);
        }
        if (out && size_out)
            *size_out = size;
    }
    sqlite3_reset(st);
    return out;
}

void aduan_store_event(aduan_store_t *self, const char *topic, const char *ticket,
                       const char *detail_json)
{
    aduan_event_t *ev = calloc(1, sizeof *ev);
    if (!ev)
        return;
    ev->topic = strdup(topic);
    ev->ticket = strdup(ticket ? ticket : "");
    ev->detail = strdup(detail_json ? detail_json : "{}");
    *self->events_tail = ev;
    self->events_tail = &ev->next;
}

void aduan_store_set_handout(aduan_store_t *self, const struct aduan_outbox_handout *handout)
{
    self->handout = handout;
}

const struct aduan_outbox_handout *aduan_store_handout(aduan_store_t *self)
{
    return self->handout;
}

aduan_event_t *aduan_store_take_events(aduan_store_t *self)
{
    aduan_event_t *list = self->events;
    self->events = NULL;
    self->events_tail = &self->events;
    return list;
}

void aduan_event_list_free(aduan_event_t **list_p)
{
    aduan_event_t *ev = *list_p;
    while (ev) {
        aduan_event_t *next = ev->next;
        free(ev->topic);
        free(ev->ticket);
        free(ev->detail);
        free(ev);
        ev = next;
    }
    *list_p = NULL;
}
