/*  query.c - what staff ask the registry (aduanctl list, show, search, stats,
    quarantine), answered as JSON objects for the control endpoint. Read only. */
#include <string.h>

#include "registry.h"
#include "search.h"

#define ISO(col) "strftime('%Y-%m-%dT%H:%M:%SZ', " col " / 1000, 'unixepoch')"

/* Every row of a statement as a JSON object keyed by column name; NULL stays null. */
static json_t *rows(sqlite3_stmt *st, char *reason, size_t rl, sqlite3 *db)
{
    json_t *array = json_array();
    int rc, n = sqlite3_column_count(st);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        json_t *row = json_object();
        for (int i = 0; i < n; i++) {
            json_t *v;
            switch (sqlite3_column_type(st, i)) {
            case SQLITE_INTEGER:
                v = json_integer(sqlite3_column_int64(st, i));
                break;
            case SQLITE_FLOAT:
                v = json_real(sqlite3_column_double(st, i));
                break;
            case SQLITE_NULL:
                v = json_null();
                break;
            default:
                v = json_stringn((const char *)sqlite3_column_text(st, i),
                                 (size_t)sqlite3_column_bytes(st, i));
                if (!v)
                    v = json_string("");
            }
            json_object_set_new(row, sqlite3_column_name(st, i), v);
        }
        json_array_append_new(array, row);
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        snprintf(reason, rl, "query failed: %s", sqlite3_errmsg(db));
        json_decref(array);
        return NULL;
    }
    return array;
}

static int64_t arg_int(const json_t *args, const char *key, int64_t fallback, int64_t lo,
                       int64_t hi)
{
    json_t *v = json_object_get(args, key);
    int64_t x = json_is_integer(v) ? json_integer_value(v) : fallback;
    return x < lo ? lo : x > hi ? hi : x;
}

static const char *arg_str(const json_t *args, const char *key)
{
    const char *s = json_string_value(json_object_get(args, key));
    return s && *s ? s : NULL;
}

#define SQL_LIST                                                                           \
    "SELECT ticket, channel, state AS status, from_addr AS \"from\", from_name, subject,"   \
    " " ISO("received_at") " AS received_at, confidential, incomplete FROM complaint"        \
    " WHERE (?1 IS NULL OR channel = ?1) AND (?2 IS NULL OR state = ?2)"                    \
    " ORDER BY id DESC LIMIT ?3 OFFSET ?4"

json_t *aduan_query_list(aduan_store_t *store, const json_t *args, char *reason, size_t rl)
{
    sqlite3_stmt *st = aduan_store_stmt(store, SQL_LIST);
    if (!st) {
        snprintf(reason, rl, "query failed");
        return NULL;
    }
    const char *channel = arg_str(args, "channel"), *state = arg_str(args, "status");
    if (channel)
        sqlite3_bind_text(st, 1, channel, -1, SQLITE_STATIC);
    if (state)
        sqlite3_bind_text(st, 2, state, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, arg_int(args, "limit", 50, 1, 100000));
    sqlite3_bind_int64(st, 4, arg_int(args, "offset", 0, 0, INT64_MAX));
    json_t *items = rows(st, reason, rl, aduan_store_db(store));
    return items ? json_pack("{s:o}", "items", items) : NULL;
}

#define SQL_SHOW                                                                           \
    "SELECT id, ticket, channel, account, state AS status, from_addr AS \"from\","          \
    " from_name, subject, text, " ISO("received_at") " AS received_at,"                      \
    " " ISO("source_at") " AS source_at, " ISO("updated_at") " AS updated_at, category,"     \
    " confidential, incomplete, raw_sha256 FROM complaint WHERE ticket = ?1"
/* what went out keeps its text in the outbox row */
#define SQL_SHOW_THREAD                                                                    \
    "SELECT m.id, m.direction, " ISO("m.at") " AS at, m.channel, m.from_addr AS \"from\","   \
    " m.to_addr AS \"to\", coalesce(o.subject, m.subject) AS subject,"                      \
    " coalesce(o.body, m.body) AS body, coalesce(o.message_id, m.message_ref) AS message_ref,"\
    " o.kind, m.raw_sha256 FROM message m LEFT JOIN outbox o ON o.id = m.outbox_id"           \
    " WHERE m.complaint_id = ?1 ORDER BY m.id"
#define SQL_SHOW_ATTACHMENTS                                                               \
    "SELECT a.message_id, a.name, a.content_type, a.size, a.sha256 FROM attachment a"       \
    " JOIN message m ON m.id = a.message_id WHERE m.complaint_id = ?1 ORDER BY a.id"
#define SQL_SHOW_OUTBOX                                                                    \
    "SELECT id, kind, channel, to_addr AS \"to\", status, attempts,"                        \
    " " ISO("created_at") " AS created_at, " ISO("sent_at") " AS sent_at,"                   \
    " " ISO("delivered_at") " AS delivered_at, last_error FROM outbox"                      \
    " WHERE complaint_id = ?1 ORDER BY id"
#define SQL_SHOW_AUDIT                                                                     \
    "SELECT id, " ISO("at") " AS at, actor, action, detail FROM audit"                      \
    " WHERE complaint_id = ?1 ORDER BY id"

static json_t *rows_of(aduan_store_t *store, const char *sql, int64_t id, char *reason,
                       size_t rl)
{
    sqlite3_stmt *st = aduan_store_stmt(store, sql);
    if (!st) {
        snprintf(reason, rl, "query failed");
        return NULL;
    }
    sqlite3_bind_int64(st, 1, id);
    return rows(st, reason, rl, aduan_store_db(store));
}

json_t *aduan_query_show(aduan_store_t *store, const json_t *args, char *reason, size_t rl)
{
    const char *ticket = arg_str(args, "ticket");
    if (!ticket) {
        snprintf(reason, rl, "no ticket given");
        return NULL;
    }
    sqlite3_stmt *st = aduan_store_stmt(store, SQL_SHOW);
    if (!st) {
        snprintf(reason, rl, "query failed");
        return NULL;
    }
    sqlite3_bind_text(st, 1, ticket, -1, SQLITE_STATIC);
    json_t *found = rows(st, reason, rl, aduan_store_db(store));
    if (!found)
        return NULL;
    if (json_array_size(found) == 0) {
        json_decref(found);
        snprintf(reason, rl, "no such ticket: %s", ticket);
        return NULL;
    }
    json_t *complaint = json_incref(json_array_get(found, 0));
    json_decref(found);
    int64_t id = json_integer_value(json_object_get(complaint, "id"));
    json_object_del(complaint, "id");
    static const struct {
        const char *key, *sql;
    } parts[] = {
        {"thread", SQL_SHOW_THREAD},
        {"attachments", SQL_SHOW_ATTACHMENTS},
        {"outbox", SQL_SHOW_OUTBOX},
        {"audit", SQL_SHOW_AUDIT},
    };
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        json_t *part = rows_of(store, parts[i].sql, id, reason, rl);
        if (!part) {
            json_decref(complaint);
            return NULL;
        }
        json_object_set_new(complaint, parts[i].key, part);
    }
    return complaint;
}

/*  Newest first: FTS5 walks its index backwards and stops at the limit, where ordering by
    rank must score every match first (a common word matches much of a big registry). */
#define SQL_SEARCH                                                                         \
    "SELECT c.ticket, c.channel, c.state AS status, c.from_addr AS \"from\", c.from_name,"  \
    " c.subject, " ISO("c.received_at") " AS received_at, c.confidential, c.incomplete,"     \
    " snippet(message_fts, -1, '[', ']', '...', 12) AS snippet"                             \
    " FROM message_fts JOIN message m ON m.id = message_fts.rowid"                          \
    " JOIN complaint c ON c.id = m.complaint_id"                                            \
    " WHERE message_fts MATCH ?1 ORDER BY message_fts.rowid DESC LIMIT ?2"

json_t *aduan_query_search(aduan_store_t *store, const json_t *args, char *reason, size_t rl)
{
    const char *typed = arg_str(args, "query");
    if (!typed) {
        snprintf(reason, rl, "nothing to search for");
        return NULL;
    }
    /* the statement first: preparing it brings the index and its words up to date */
    sqlite3_stmt *st = aduan_store_stmt(store, SQL_SEARCH);
    char *query = st ? aduan_search_query(store, typed) : NULL;
    if (!query) {
        snprintf(reason, rl, "search failed: %s", aduan_store_errmsg(store));
        return NULL;
    }
    if (!*query) {
        free(query);
        snprintf(reason, rl, "nothing to search for");
        return NULL;
    }
    int64_t limit = arg_int(args, "limit", 50, 1, 10000);
    sqlite3_bind_text(st, 1, query, -1, SQLITE_TRANSIENT);
    /* a ticket's follow-ups match too: read more, keep each ticket once (newest match) */
    sqlite3_bind_int64(st, 2, limit * 4);
    free(query);
    json_t *matches = rows(st, reason, rl, aduan_store_db(store));
    if (!matches)
        return NULL;
    json_t *items = json_array(), *seen = json_object();
    size_t i;
    json_t *row;
    json_array_foreach(matches, i, row)
    {
        const char *ticket = json_string_value(json_object_get(row, "ticket"));
        if ((int64_t)json_array_size(items) >= limit || !ticket ||
            json_object_get(seen, ticket))
            continue;
        json_object_set_new(seen, ticket, json_true());
        json_array_append(items, row);
    }
    json_decref(seen);
    json_decref(matches);
    return json_pack("{s:o}", "items", items);
}

/* from the tallies the triggers keep (schema 7): no query here reads every row */
#define SQL_STATS_STATE                                                                    \
    "SELECT state AS status, sum(count) AS count FROM complaint_tally GROUP BY state"      \
    " HAVING sum(count) > 0"
#define SQL_STATS_CHANNEL                                                                  \
    "SELECT channel, sum(count) AS count FROM complaint_tally GROUP BY channel"            \
    " HAVING sum(count) > 0"
/* the oldest item of those still waiting (the partial index outbox_due has them) */
#define SQL_STATS_OUTBOX                                                                   \
    "SELECT t.channel, t.status, t.count, CASE WHEN t.status IN ('pending','sending') THEN"   \
    " " ISO("(SELECT min(o.created_at) FROM outbox o WHERE o.channel = t.channel"            \
            " AND o.status IN ('pending','sending') AND o.status = t.status)") " END"        \
    " AS oldest FROM outbox_tally t WHERE t.count > 0 ORDER BY t.channel, t.status"
/* intakes and quarantined items are never deleted: the last id is their number. The
   search index is filled after the ACKs (store.h): how many messages it has still to take
   (a search takes them first; a flood leaves thousands for the core's idle time). */
#define SQL_STATS_TOTALS                                                                   \
    "SELECT (SELECT coalesce(sum(count), 0) FROM complaint_tally) AS complaints,"           \
    " (SELECT coalesce(max(id), 0) FROM intake) AS intakes,"                                \
    " (SELECT coalesce(max(id), 0) FROM quarantine) AS quarantined,"                        \
    " (SELECT coalesce(sum(count), 0) FROM outbox_tally"                                    \
    "  WHERE status IN ('pending','sending')) AS outbox_waiting,"                           \
    " (SELECT count(*) FROM message WHERE id > (SELECT indexed_upto FROM search_progress)"   \
    "  AND direction = 'in') AS search_index_behind"

json_t *aduan_query_stats(aduan_store_t *store, const json_t *args, char *reason, size_t rl)
{
    (void)args;
    sqlite3_stmt *st = aduan_store_stmt(store, SQL_STATS_TOTALS);
    json_t *totals = st ? rows(st, reason, rl, aduan_store_db(store)) : NULL;
    if (!totals)
        return NULL;
    json_t *out = json_incref(json_array_get(totals, 0));
    json_decref(totals);
    static const struct {
        const char *key, *sql;
    } parts[] = {
        {"by_status", SQL_STATS_STATE},
        {"by_channel", SQL_STATS_CHANNEL},
        {"outbox", SQL_STATS_OUTBOX},
    };
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        st = aduan_store_stmt(store, parts[i].sql);
        json_t *part = st ? rows(st, reason, rl, aduan_store_db(store)) : NULL;
        if (!part) {
            json_decref(out);
            return NULL;
        }
        json_object_set_new(out, parts[i].key, part);
    }
    return out;
}

#define SQL_QUARANTINE                                                                     \
    "SELECT id, " ISO("at") " AS at, channel, peer, dedupe_key, reason, size, raw_sha256"   \
    " FROM quarantine ORDER BY id DESC LIMIT ?1"

json_t *aduan_query_quarantine(aduan_store_t *store, const json_t *args, char *reason,
                               size_t rl)
{
    sqlite3_stmt *st = aduan_store_stmt(store, SQL_QUARANTINE);
    if (!st) {
        snprintf(reason, rl, "query failed");
        return NULL;
    }
    sqlite3_bind_int64(st, 1, arg_int(args, "limit", 50, 1, 100000));
    json_t *items = rows(st, reason, rl, aduan_store_db(store));
    return items ? json_pack("{s:o}", "items", items) : NULL;
}
