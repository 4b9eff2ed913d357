/*  search.h - what a clerk's search means to the full-text index (message_fts), and the
    list of words that index holds.

    FTS5 answers a whole word newest first and stops at the limit: 0.2 ms over a million
    complaints. It answers a prefix ('perbaik*') by first merging the lists of every word
    with that prefix, the whole registry's worth, before it returns the first match: 64 ms
    over the same million, growing with the registry. So the registry keeps the words the
    index holds (table search_term, filled where the index is filled), and a prefix becomes
    the OR of its words, which FTS5 reads newest first like one word.

    Words that start with a digit (telephone numbers, NIKs, dates: nearly one new word per
    complaint) are not kept; a prefix that starts with one is left to FTS5 as it is, and so
    is a prefix of more than ADUAN_SEARCH_PREFIX_WORDS words. Words stay in the list after
    their last message is gone: an OR with a word of no message costs nothing. */
#ifndef ADUAN_SEARCH_H
#define ADUAN_SEARCH_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

/* message_fts's tokenizer and its arguments (schema.c); search.c splits words the same way */
#define ADUAN_SEARCH_TOKENIZER "unicode61 remove_diacritics 2"
#define ADUAN_SEARCH_PREFIX_WORDS 64

typedef struct aduan_search aduan_search_t;

/* The tokenizer of message_fts, taken from the database's FTS5. NULL (and logs) if absent. */
aduan_search_t *aduan_search_new(sqlite3 *db);
void aduan_search_destroy(aduan_search_t **search_p);

/*  Adds the words of the incoming messages with ids in (from, upto] to search_term, in the
    caller's transaction: the one that puts those messages into message_fts. 0 or -1. */
int aduan_search_record_words(aduan_store_t *store, int64_t from, int64_t upto);

/*  The FTS5 query for what a clerk typed. It cannot be a syntax error: every word is
    quoted, and only a trailing '*' means something (a prefix; Indonesian has no stemmer
    here). The words of a prefix are read from search_term, which the caller brings up to
    date first (aduan_store_index_pending). Caller frees; "" when nothing was typed; NULL
    when out of memory or the registry cannot be read. */
char *aduan_search_query(aduan_store_t *store, const char *typed);

#endif
