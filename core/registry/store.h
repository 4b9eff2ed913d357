/*  store.h - the registry database: one SQLite file in the state directory, the only
    writer being the core. Every statement is prepared in store.c and finalised there.

    Durability: WAL with synchronous=FULL on every connection; an intake is committed
    (COMMIT returned) before anything is ACKed. Originals and attachments are kept by
    SHA-256: small ones inside the database, large ones as files written before the
    COMMIT and flushed by one syncfs() per transaction, so a batch costs one flush.

    This is the SQLite backend of the store; a second backend (PostgreSQL) would implement
    the same functions of registry.h. */
#ifndef ADUAN_STORE_H
#define ADUAN_STORE_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "aduan/clock.h"
#include "aduan/config.h"

/* The schema version is the number of migrations in schema.c. */

typedef struct aduan_store aduan_store_t;

/* An event to publish once the transaction that caused it has committed. */
typedef struct aduan_event {
    char *topic;
    char *ticket;
    char *detail; /* JSON object */
    struct aduan_event *next;
} aduan_event_t;

/*  Opens (creating if needed) <state_dir>/registry.db and migrates it to the current
    schema. A database of a newer, unknown schema is refused with a clear reason.
    config and clock are borrowed and must outlive the store; clock NULL = wall clock. */
int aduan_store_open(const char *state_dir, const aduan_config_t *config,
                     const aduan_clock_t *clock, aduan_store_t **store_p, char *reason,
                     size_t reasonlen);
void aduan_store_close(aduan_store_t **store_p);

/* BEGIN IMMEDIATE / COMMIT (after flushing written files) / ROLLBACK. 0 or -1. */
int aduan_store_begin(aduan_store_t *self);
int aduan_store_commit(aduan_store_t *self);
void aduan_store_rollback(aduan_store_t *self);

/*  BEGIN IMMEDIATE of a transaction whose COMMIT is not synced (synchronous=NORMAL for it):
    it survives the crash of the process, and the next synced COMMIT makes it durable (WAL
    frames are kept in order), but a power cut before that undoes it. Only for what may be
    undone that way: what an adapter reported (RESULT), which it then reports again.
    Committed and rolled back as any other. */
int aduan_store_begin_unsynced(aduan_store_t *self);

/*  The search index (message_fts) is filled in batches, not by a trigger per message: the
    core calls this after the ACKs of a turn, in a transaction of its own, and a statement
    that searches (names "message_fts MATCH") calls it before it runs, so searches see every
    committed message. Inside an open transaction it works in that transaction.
    Returns how many messages it indexed, or -1. */
int aduan_store_index_pending(aduan_store_t *self);
/* The same for the next `limit` message ids at most: a short pause of the core's loop. */
int aduan_store_index_some(aduan_store_t *self, int limit);

/* Borrowed handles for the registry modules. */
struct aduan_search;
struct aduan_search *aduan_store_search(aduan_store_t *self);
sqlite3 *aduan_store_db(aduan_store_t *self);
const aduan_config_t *aduan_store_config(aduan_store_t *self);
int64_t aduan_store_now_ms(aduan_store_t *self);
const char *aduan_store_state_dir(aduan_store_t *self);

/*  Prepared statements, cached by their SQL text: prepared once, reset before each use,
    finalised by aduan_store_close. Returns NULL (and logs) if the SQL is wrong. */
sqlite3_stmt *aduan_store_stmt(aduan_store_t *self, const char *sql);

/*  Keeps bytes (an original, an attachment) by their SHA-256, written to sha256_out: in
    the content table when small, as a file under <state_dir>/files/ab/cd... when larger
    than ADUAN_CONTENT_INLINE_MAX (such files are flushed by the next commit). The same
    bytes are kept once. */
#define ADUAN_CONTENT_INLINE_MAX (128 * 1024)
int aduan_store_put_content(aduan_store_t *self, const void *data, size_t size,
                            char sha256_out[65]);
/* Reads kept bytes back; NULL when unknown. Caller frees. */
unsigned char *aduan_store_get_content(aduan_store_t *self, const char *sha256,
                                       size_t *size_out);

/* The outbox's hand-out (registry.h), or NULL: set by the core, read by outbox.c. */
struct aduan_outbox_handout;
void aduan_store_set_handout(aduan_store_t *self, const struct aduan_outbox_handout *handout);
const struct aduan_outbox_handout *aduan_store_handout(aduan_store_t *self);

/* Events: queued during a transaction, taken after COMMIT, dropped on ROLLBACK. */
void aduan_store_event(aduan_store_t *self, const char *topic, const char *ticket,
                       const char *detail_json);
aduan_event_t *aduan_store_take_events(aduan_store_t *self);
void aduan_event_list_free(aduan_event_t **list_p);

/* Binding and reading text the same way everywhere: NULL binds as '', or as SQL NULL with
   the _or_null form when empty; a NULL column reads as "". */
static inline void aduan_bind_text(sqlite3_stmt *st, int i, const char *s)
{
    sqlite3_bind_text(st, i, s ? s : "", -1, SQLITE_STATIC);
}

static inline void aduan_bind_text_or_null(sqlite3_stmt *st, int i, const char *s)
{
    if (s && *s)
        sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

static inline const char *aduan_column_text(sqlite3_stmt *st, int i)
{
    const unsigned char *s = sqlite3_column_text(st, i);
    return s ? (const char *)s : "";
}

/* For an error reason: the last SQLite error message. */
const char *aduan_store_errmsg(aduan_store_t *self);

#endif
