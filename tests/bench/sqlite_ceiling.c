/*  sqlite_ceiling - the reference for the intake benchmark: how many rows of a given size
    SQLite itself commits per second on this machine, in one process, in batches of 32,
    in WAL mode with synchronous=FULL, the registry's own durability setting.

    usage: sqlite_ceiling DB ROWS ROW_BYTES [BATCH]   prints "ceiling N rows/s ..." */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: sqlite_ceiling DB ROWS ROW_BYTES [BATCH]\n");
        return 2;
    }
    long rows = atol(argv[2]), size = atol(argv[3]), batch = argc > 4 ? atol(argv[4]) : 32;
    sqlite3 *db;
    if (sqlite3_open(argv[1], &db) != SQLITE_OK)
        return 1;
    sqlite3_exec(db,
                 "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                 "CREATE TABLE IF NOT EXISTS item (id INTEGER PRIMARY KEY,"
                 " key TEXT NOT NULL UNIQUE, body TEXT NOT NULL) STRICT;",
                 NULL, NULL, NULL);
    sqlite3_stmt *ins;
    sqlite3_prepare_v2(db, "INSERT INTO item(key, body) VALUES (?1, ?2)", -1, &ins, NULL);
    char *body = malloc((size_t)size + 1);
    memset(body, 'a', (size_t)size);
    body[size] = '\0';
    double t0 = now_s();
    for (long i = 0; i < rows;) {
        sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
        for (long j = 0; j < batch && i < rows; j++, i++) {
            char key[64];
            snprintf(key, sizeof key, "key-%ld-%ld", (long)t0, i);
            sqlite3_bind_text(ins, 1, key, -1, SQLITE_TRANSIENT);
            sqlite3_bind_text(ins, 2, body, (int)size, SQLITE_STATIC);
            sqlite3_step(ins);
            sqlite3_reset(ins);
        }
        sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    }
    double secs = now_s() - t0;
    printf("ceiling  %ld rows of %ld bytes in batches of %ld, WAL + synchronous=FULL: "
           "%.2f s, %.0f rows/s\n",
           rows, size, batch, secs, rows / secs);
    sqlite3_finalize(ins);
    sqlite3_close(db);
    free(body);
    return 0;
}
