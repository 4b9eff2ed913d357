/*  search.c - a clerk's query for the full-text index, and the words that index holds
    (search.h says why a prefix is read through them). */
#include <czmq.h>
#include <stdio.h>
#include <string.h>

#include "aduan/log.h"
#include "search.h"

struct aduan_search {
    fts5_tokenizer api;
    Fts5Tokenizer *tokenizer;
};

#define SQL_NEW_MESSAGES                                                                   \
    "SELECT subject, body FROM message WHERE id > ?1 AND id <= ?2 AND direction = 'in'"
#define SQL_KEEP_WORD "INSERT OR IGNORE INTO search_term(term) VALUES (?1)"
#define SQL_WORDS_OF_PREFIX                                                                \
    "SELECT term FROM search_term WHERE term >= ?1 AND term < ?2 ORDER BY term LIMIT ?3"

static bool starts_with_digit(const char *word)
{
    return *word >= '0' && *word <= '9';
}

/* FTS5 hands out its API only through this SQL function (SQLite's documented way). */
static fts5_api *fts5_of(sqlite3 *db)
{
    fts5_api *fts5 = NULL;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "SELECT fts5(?1)", -1, &st, NULL) != SQLITE_OK)
        return NULL;
    sqlite3_bind_pointer(st, 1, (void *)&fts5, "fts5_api_ptr", NULL);
    sqlite3_step(st);
    sqlite3_finalize(st);
    return fts5;
}

aduan_search_t *aduan_search_new(sqlite3 *db)
{
    char spec[] = ADUAN_SEARCH_TOKENIZER;
    const char *argv[8];
    int argc = 0;
    char *save = NULL;
    for (char *w = strtok_r(spec, " ", &save); w && argc < 8; w = strtok_r(NULL, " ", &save))
        argv[argc++] = w;
    fts5_api *fts5 = fts5_of(db);
    aduan_search_t *self = calloc(1, sizeof *self);
    void *tokenizer_data = NULL;
    if (!fts5 || !self ||
        fts5->xFindTokenizer(fts5, argv[0], &tokenizer_data, &self->api) != SQLITE_OK ||
        self->api.xCreate(tokenizer_data, argv + 1, argc - 1, &self->tokenizer) != SQLITE_OK) {
        log_error("search", "SQLite's FTS5 has no tokenizer '%s'", ADUAN_SEARCH_TOKENIZER);
        free(self);
        return NULL;
    }
    return self;
}

void aduan_search_destroy(aduan_search_t **search_p)
{
    aduan_search_t *self = *search_p;
    if (!self)
        return;
    self->api.xDelete(self->tokenizer);
    free(self);
    *search_p = NULL;
}

/* ---- the words the index holds --------------------------------------------------------- */

static int collect_word(void *words, int flags, const char *token, int len, int start, int end)
{
    (void)flags, (void)start, (void)end;
    if (len <= 0 || starts_with_digit(token))
        return SQLITE_OK;
    char buffer[128], *word = (size_t)len < sizeof buffer ? buffer : malloc((size_t)len + 1);
    if (!word)
        return SQLITE_NOMEM;
    memcpy(word, token, (size_t)len);
    word[len] = '\0';
    zhashx_insert(words, word, words); /* the hash keeps its own copy; the item is unused */
    if (word != buffer)
        free(word);
    return SQLITE_OK;
}

static int split_words(aduan_search_t *self, sqlite3_stmt *st, int column, zhashx_t *words)
{
    const char *text = (const char *)sqlite3_column_text(st, column);
    int len = sqlite3_column_bytes(st, column);
    if (!text || len == 0)
        return SQLITE_OK;
    return self->api.xTokenize(self->tokenizer, words, FTS5_TOKENIZE_DOCUMENT, text, len,
                               collect_word);
}

int aduan_search_record_words(aduan_store_t *store, int64_t from, int64_t upto)
{
    aduan_search_t *self = aduan_store_search(store);
    sqlite3_stmt *st = aduan_store_stmt(store, SQL_NEW_MESSAGES);
    zhashx_t *words = zhashx_new();
    if (!self || !st || !words) {
        zhashx_destroy(&words);
        return -1;
    }
    /* a batch's words once each: a hundred complaints repeat most of theirs */
    sqlite3_bind_int64(st, 1, from);
    sqlite3_bind_int64(st, 2, upto);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (split_words(self, st, 0, words) != SQLITE_OK ||
            split_words(self, st, 1, words) != SQLITE_OK) {
            rc = SQLITE_NOMEM;
            break;
        }
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        zhashx_destroy(&words);
        return -1;
    }
    for (void *item = zhashx_first(words); item; item = zhashx_next(words)) {
        st = aduan_store_stmt(store, SQL_KEEP_WORD);
        if (!st) {
            rc = SQLITE_ERROR;
            break;
        }
        aduan_bind_text(st, 1, zhashx_cursor(words));
        rc = sqlite3_step(st);
        sqlite3_reset(st);
        if (rc != SQLITE_DONE)
            break;
    }
    zhashx_destroy(&words);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* ---- what a clerk typed ---------------------------------------------------------------- */

typedef struct {
    int count;
    char *first;
} typed_words_t;

static int count_word(void *typed, int flags, const char *token, int len, int start, int end)
{
    (void)flags, (void)start, (void)end;
    typed_words_t *t = typed;
    if (t->count++ == 0 && !(t->first = strndup(token, (size_t)len)))
        return SQLITE_NOMEM;
    return SQLITE_OK;
}

/* A word in FTS5's double quotes, a quote inside it doubled: never an operator. */
static void put_quoted(FILE *out, const char *word, size_t len)
{
    fputc('"', out);
    for (size_t i = 0; i < len; i++) {
        if (word[i] == '"')
            fputc('"', out);
        fputc(word[i], out);
    }
    fputc('"', out);
}

/*  Writes the prefix `typed` as the OR of the indexed words that start with it. Returns 1
    when written, 0 when FTS5 should take the prefix itself (see search.h), -1 on error. */
static int put_prefix_words(aduan_store_t *store, const char *typed, size_t len, FILE *out)
{
    aduan_search_t *self = aduan_store_search(store);
    if (!self)
        return 0;
    typed_words_t t = {0, NULL};
    int rc = self->api.xTokenize(self->tokenizer, &t, FTS5_TOKENIZE_QUERY | FTS5_TOKENIZE_PREFIX,
                                 typed, (int)len, count_word);
    /* 'e-ktp*' is the phrase "e ktp*": a phrase has no OR inside, FTS5 takes it */
    if (rc != SQLITE_OK || t.count != 1 || !*t.first || starts_with_digit(t.first)) {
        free(t.first);
        return rc == SQLITE_OK ? 0 : -1;
    }
    /* the words from the prefix up to the prefix with its last byte one higher */
    size_t plen = strlen(t.first);
    char *beyond = strdup(t.first);
    sqlite3_stmt *st = beyond ? aduan_store_stmt(store, SQL_WORDS_OF_PREFIX) : NULL;
    if (!st) {
        free(t.first);
        free(beyond);
        return -1;
    }
    beyond[plen - 1]++;
    sqlite3_bind_text(st, 1, t.first, (int)plen, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, beyond, (int)plen, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, ADUAN_SEARCH_PREFIX_WORDS + 1);
    char *words[ADUAN_SEARCH_PREFIX_WORDS + 1];
    int n = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && n <= ADUAN_SEARCH_PREFIX_WORDS) {
        if (!(words[n] = strdup(aduan_column_text(st, 0))))
            break;
        n++;
    }
    int written = rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : -1;
    sqlite3_reset(st);
    if (written == 0 && n >= 1 && n <= ADUAN_SEARCH_PREFIX_WORDS) {
        fputc('(', out);
        for (int i = 0; i < n; i++) {
            fputs(i ? " OR " : "", out);
            put_quoted(out, words[i], strlen(words[i]));
        }
        fputc(')', out);
        written = 1;
    }
    for (int i = 0; i < n; i++)
        free(words[i]);
    free(t.first);
    free(beyond);
    return written;
}

char *aduan_search_query(aduan_store_t *store, const char *typed)
{
    char *query = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&query, &size);
    if (!out)
        return NULL;
    bool ok = true, first = true;
    for (const char *p = typed; ok && *p;) {
        p += strspn(p, " \t");
        size_t n = strcspn(p, " \t");
        if (n == 0)
            break;
        bool prefix = n > 1 && p[n - 1] == '*';
        /* FTS5's implicit AND does not follow a ')': every word is joined by AND */
        fputs(first ? "" : " AND ", out);
        first = false;
        int expanded = prefix ? put_prefix_words(store, p, n - 1, out) : 0;
        if (expanded < 0)
            ok = false;
        else if (expanded == 0) {
            put_quoted(out, p, prefix ? n - 1 : n);
            if (prefix)
                fputc('*', out);
        }
        p += n;
    }
    if (fclose(out) != 0 || !ok) {
        free(query);
        return NULL;
    }
    return query;
}
