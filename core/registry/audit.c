/*  audit.c - the append-only audit trail. Each row carries the SHA-256 of its own fields
    and of the previous row's hash, so a row changed or removed behind the registry's back
    breaks the chain from that row on. Triggers refuse UPDATE and DELETE outright. */
#include <string.h>

#include "aduan/hash.h"
#include "registry.h"

#define GENESIS "0000000000000000000000000000000000000000000000000000000000000000"

#define SQL_LAST_HASH "SELECT hash FROM audit ORDER BY id DESC LIMIT 1"
#define SQL_INSERT_AUDIT                                                                   \
    "INSERT INTO audit(at, actor, complaint_id, action, detail, prev_hash, hash)"           \
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
#define SQL_WALK                                                                           \
    "SELECT id, at, actor, complaint_id, action, detail, prev_hash, hash FROM audit"        \
    " ORDER BY id"

/* The hash of a row: every field, each ended by a NUL so no two rows can collide by
   shifting text from one field into the next. */
static int row_hash(const char *prev, int64_t at, const char *actor, int64_t complaint_id,
                    const char *action, const char *detail, char out[65])
{
    aduan_sha256_t *h = aduan_sha256_new();
    if (!h)
        return -1;
    char num[2][32];
    snprintf(num[0], sizeof num[0], "%lld", (long long)at);
    snprintf(num[1], sizeof num[1], "%lld", (long long)complaint_id);
    const char *fields[] = {prev, num[0], actor, num[1], action, detail};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        aduan_sha256_update(h, fields[i], strlen(fields[i]) + 1);
    return aduan_sha256_finish(&h, out);
}

int aduan_audit_append(aduan_store_t *store, const char *actor, int64_t complaint_id,
                       const char *action, const char *detail)
{
    char prev[65] = GENESIS, hash[65];
    sqlite3_stmt *st = aduan_store_stmt(store, SQL_LAST_HASH);
    if (!st)
        return -1;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        snprintf(prev, sizeof prev, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return -1;
    int64_t at = aduan_store_now_ms(store);
    if (!detail)
        detail = "";
    if (row_hash(prev, at, actor, complaint_id, action, detail, hash) != 0)
        return -1;
    st = aduan_store_stmt(store, SQL_INSERT_AUDIT);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, at);
    sqlite3_bind_text(st, 2, actor, -1, SQLITE_STATIC);
    if (complaint_id > 0)
        sqlite3_bind_int64(st, 3, complaint_id);
    else
        sqlite3_bind_null(st, 3);
    sqlite3_bind_text(st, 4, action, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, detail, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, prev, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 7, hash, -1, SQLITE_STATIC);
    rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
    sqlite3_reset(st);
    return rc;
}

int64_t aduan_audit_verify(aduan_store_t *store)
{
    sqlite3_stmt *st = aduan_store_stmt(store, SQL_WALK);
    if (!st)
        return -1;
    char prev[65] = GENESIS, hash[65];
    int64_t broken = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(st, 0);
        if (strcmp(aduan_column_text(st, 6), prev) != 0 ||
            row_hash(prev, sqlite3_column_int64(st, 1), aduan_column_text(st, 2),
                     sqlite3_column_int64(st, 3), aduan_column_text(st, 4),
                     aduan_column_text(st, 5), hash) != 0 ||
            strcmp(hash, aduan_column_text(st, 7)) != 0) {
            broken = id;
            break;
        }
        snprintf(prev, sizeof prev, "%s", hash);
    }
    sqlite3_reset(st);
    if (broken == 0 && rc != SQLITE_DONE)
        return -1;
    return broken;
}
