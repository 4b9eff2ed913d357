/*  schema.c - the registry's schema as a list of migrations.

    PRAGMA user_version holds the number of migrations applied. A migration is never
    edited once released: a change is a new entry at the end (the schema's version is the
    length of this list). */
#include "schema.h"
#include "search.h"

#include <stddef.h>

/*  What migration 8 makes again after copying the outbox, as migrations 1 and 7 made it:
    one text for both, so that the copy cannot drift from the original. Part of released
    migrations: never edited (a change is a new migration with its own text).
    outbox_due's condition lists two values: SQLite compares them, no temporary b-tree. */
#define OUTBOX_INDEXES                                                                     \
    "CREATE INDEX outbox_due ON outbox(channel, next_attempt_at)"                           \
    "  WHERE status IN ('pending','sending');"                                              \
    "CREATE INDEX outbox_recipient ON outbox(to_addr, created_at) WHERE automatic = 1;"     \
    "CREATE INDEX outbox_complaint ON outbox(complaint_id);"
#define OUTBOX_TALLY_TRIGGERS                                                              \
    "CREATE TRIGGER outbox_tally_insert AFTER INSERT ON outbox BEGIN"                       \
    "  INSERT INTO outbox_tally VALUES (new.channel, new.status, 1)"                        \
    "  ON CONFLICT (channel, status) DO UPDATE SET count = count + 1; END;"                 \
    "CREATE TRIGGER outbox_tally_update AFTER UPDATE OF channel, status ON outbox"          \
    "  WHEN old.channel IS NOT new.channel OR old.status IS NOT new.status BEGIN"           \
    "  UPDATE outbox_tally SET count = count - 1"                                           \
    "    WHERE channel = old.channel AND status = old.status;"                              \
    "  INSERT INTO outbox_tally VALUES (new.channel, new.status, 1)"                        \
    "  ON CONFLICT (channel, status) DO UPDATE SET count = count + 1; END;"                 \
    "CREATE TRIGGER outbox_tally_delete AFTER DELETE ON outbox BEGIN"                       \
    "  UPDATE outbox_tally SET count = count - 1"                                           \
    "    WHERE channel = old.channel AND status = old.status; END;"

static const char *const migrations[] = {
    /* 1: the first registry */
    "CREATE TABLE ticket_counter ("
    "  year INTEGER PRIMARY KEY,"
    "  last INTEGER NOT NULL"
    ") STRICT;"

    /* one row per complaint: the registry's book */
    "CREATE TABLE complaint ("
    "  id INTEGER PRIMARY KEY,"
    "  ticket TEXT NOT NULL UNIQUE,"
    "  channel TEXT NOT NULL,"
    "  account TEXT NOT NULL DEFAULT '',"
    "  from_addr TEXT NOT NULL DEFAULT '',"
    "  from_name TEXT NOT NULL DEFAULT '',"
    "  received_at INTEGER NOT NULL,"   /* ms: when the core registered it */
    "  source_at INTEGER,"              /* ms: as the source dated it */
    "  subject TEXT NOT NULL DEFAULT '',"
    "  text TEXT NOT NULL DEFAULT '',"
    "  state TEXT NOT NULL,"
    "  category TEXT,"
    "  confidential INTEGER NOT NULL DEFAULT 0,"
    "  incomplete INTEGER NOT NULL DEFAULT 0,"
    "  raw_sha256 TEXT,"
    "  updated_at INTEGER NOT NULL"
    ") STRICT;"
    "CREATE INDEX complaint_sender ON complaint(from_addr, received_at);"
    "CREATE INDEX complaint_received ON complaint(received_at);"
    "CREATE INDEX complaint_state ON complaint(state);"

    /* every item received, by its dedupe key: the same key gets the same answer */
    "CREATE TABLE intake ("
    "  id INTEGER PRIMARY KEY,"
    "  channel TEXT NOT NULL,"
    "  dedupe_key TEXT NOT NULL,"
    "  complaint_id INTEGER REFERENCES complaint(id),"
    "  disposition TEXT NOT NULL"
    "    CHECK (disposition IN ('new','followup','status','quarantined')),"
    "  received_at INTEGER NOT NULL,"
    "  UNIQUE (channel, dedupe_key)"
    ") STRICT;"

    /* the thread of a complaint: messages in and out */
    "CREATE TABLE message ("
    "  id INTEGER PRIMARY KEY,"
    "  complaint_id INTEGER NOT NULL REFERENCES complaint(id),"
    "  direction TEXT NOT NULL CHECK (direction IN ('in','out')),"
    "  at INTEGER NOT NULL,"
    "  channel TEXT NOT NULL,"
    "  from_addr TEXT NOT NULL DEFAULT '',"
    "  to_addr TEXT NOT NULL DEFAULT '',"
    "  subject TEXT NOT NULL DEFAULT '',"
    "  body TEXT NOT NULL DEFAULT '',"
    "  message_ref TEXT,"              /* Message-ID or the like, for threading */
    "  raw_sha256 TEXT,"
    "  outbox_id INTEGER"
    ") STRICT;"
    "CREATE INDEX message_complaint ON message(complaint_id);"
    "CREATE INDEX message_ref ON message(message_ref) WHERE message_ref IS NOT NULL;"

    "CREATE TABLE attachment ("
    "  id INTEGER PRIMARY KEY,"
    "  message_id INTEGER NOT NULL REFERENCES message(id),"
    "  name TEXT NOT NULL,"
    "  content_type TEXT NOT NULL,"
    "  size INTEGER NOT NULL,"
    "  sha256 TEXT NOT NULL"
    ") STRICT;"
    "CREATE INDEX attachment_message ON attachment(message_id);"

    /* everything to be sent, committed with the change that caused it */
    "CREATE TABLE outbox ("
    "  id INTEGER PRIMARY KEY,"
    "  complaint_id INTEGER REFERENCES complaint(id),"
    "  kind TEXT NOT NULL CHECK (kind IN ('ack','notice','response','status','reminder')),"
    "  channel TEXT NOT NULL,"
    "  account TEXT NOT NULL DEFAULT '',"
    "  to_addr TEXT NOT NULL,"
    "  to_name TEXT NOT NULL DEFAULT '',"
    "  staff_id TEXT,"
    "  subject TEXT NOT NULL DEFAULT '',"
    "  body TEXT NOT NULL,"
    "  message_id TEXT NOT NULL UNIQUE,"
    "  in_reply_to TEXT,"
    "  refs TEXT,"
    "  automatic INTEGER NOT NULL,"
    "  status TEXT NOT NULL CHECK (status IN"
    "    ('pending','sending','sent','delivered','failed','suppressed')),"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  next_attempt_at INTEGER NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  sent_at INTEGER,"
    "  delivered_at INTEGER,"
    "  provider_id TEXT,"
    "  last_error TEXT"
    ") STRICT;"
    OUTBOX_INDEXES

    /* originals and attachments by SHA-256: small ones here (SQLite beats the file system
       for small blobs), large ones as files under files/ with data NULL (store.c) */
    "CREATE TABLE content ("
    "  id INTEGER PRIMARY KEY,"
    "  sha256 TEXT NOT NULL UNIQUE,"
    "  size INTEGER NOT NULL,"
    "  data BLOB"
    ") STRICT;"

    /* what could not be taken in, with why; the original is in content */
    "CREATE TABLE quarantine ("
    "  id INTEGER PRIMARY KEY,"
    "  at INTEGER NOT NULL,"
    "  channel TEXT NOT NULL DEFAULT '',"
    "  peer TEXT NOT NULL DEFAULT '',"
    "  dedupe_key TEXT,"
    "  reason TEXT NOT NULL,"
    "  raw_sha256 TEXT,"
    "  size INTEGER NOT NULL DEFAULT 0"
    ") STRICT;"

    /* append-only, each row chained to the previous by hash (see audit.c) */
    "CREATE TABLE audit ("
    "  id INTEGER PRIMARY KEY,"
    "  at INTEGER NOT NULL,"
    "  actor TEXT NOT NULL,"
    "  complaint_id INTEGER,"
    "  action TEXT NOT NULL,"
    "  detail TEXT NOT NULL DEFAULT '',"
    "  prev_hash TEXT NOT NULL,"
    "  hash TEXT NOT NULL"
    ") STRICT;"
    "CREATE INDEX audit_complaint ON audit(complaint_id);"
    "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit"
    "  BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;"
    "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit"
    "  BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;"

    /* full-text search over what citizens wrote; no Indonesian stemmer: prefix queries */
    "CREATE VIRTUAL TABLE message_fts USING fts5(subject, body, content='message',"
    "  content_rowid='id', tokenize='" ADUAN_SEARCH_TOKENIZER "');"
    "CREATE TRIGGER message_fts_insert AFTER INSERT ON message WHEN new.direction = 'in'"
    "  BEGIN INSERT INTO message_fts(rowid, subject, body)"
    "  VALUES (new.id, new.subject, new.body); END;"
    "CREATE TRIGGER message_fts_delete AFTER DELETE ON message WHEN old.direction = 'in'"
    "  BEGIN INSERT INTO message_fts(message_fts, rowid, subject, body)"
    "  VALUES ('delete', old.id, old.subject, old.body); END;",

    /* 2: delivery failure reports (bounces) are intakes too: the same key gets the same
       answer. SQLite cannot change a CHECK, so the table is copied. */
    "CREATE TABLE intake_v2 ("
    "  id INTEGER PRIMARY KEY,"
    "  channel TEXT NOT NULL,"
    "  dedupe_key TEXT NOT NULL,"
    "  complaint_id INTEGER REFERENCES complaint(id),"
    "  disposition TEXT NOT NULL"
    "    CHECK (disposition IN ('new','followup','status','quarantined','bounce')),"
    "  received_at INTEGER NOT NULL,"
    "  UNIQUE (channel, dedupe_key)"
    ") STRICT;"
    "INSERT INTO intake_v2 SELECT id, channel, dedupe_key, complaint_id, disposition,"
    "  received_at FROM intake;"
    "DROP TABLE intake;"
    "ALTER TABLE intake_v2 RENAME TO intake;"
    /* the SMS follow-up window looks for a sender's latest open complaint */
    "CREATE INDEX complaint_sender_channel ON complaint(channel, from_addr, updated_at);",

    /* 3: the SOP workflow (workflow.c, deadlines.c, reports.c). A complaint knows since
       when it is in its state (step deadlines count from there) and when its deadlines
       must next be looked at: 0 = at once (so every complaint the intake inserts is
       looked at by the next scan, without intake.c knowing), NULL = never again. */
    "ALTER TABLE complaint ADD COLUMN state_at INTEGER;"
    "UPDATE complaint SET state_at = updated_at;"
    "ALTER TABLE complaint ADD COLUMN next_check_at INTEGER DEFAULT 0;"
    "ALTER TABLE complaint ADD COLUMN merged_into INTEGER REFERENCES complaint(id);"
    "CREATE INDEX complaint_check ON complaint(next_check_at)"
    "  WHERE next_check_at IS NOT NULL;"
    /* the head's meeting on a complaint (step 4) */
    "CREATE TABLE meeting ("
    "  id INTEGER PRIMARY KEY,"
    "  complaint_id INTEGER NOT NULL REFERENCES complaint(id),"
    "  held_at TEXT NOT NULL,"          /* as the head gave it: 2026-03-05 09:00 */
    "  attendees TEXT NOT NULL,"
    "  staff_id TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL"
    ") STRICT;"
    "CREATE INDEX meeting_complaint ON meeting(complaint_id);"
    /* documents staff attach to a step: minutes (berita acara), the written response,
       a letter; the bytes are in content by their SHA-256 */
    "CREATE TABLE document ("
    "  id INTEGER PRIMARY KEY,"
    "  complaint_id INTEGER NOT NULL REFERENCES complaint(id),"
    "  kind TEXT NOT NULL CHECK (kind IN ('minutes','response','letter')),"
    "  name TEXT NOT NULL,"
    "  content_type TEXT NOT NULL,"
    "  size INTEGER NOT NULL,"
    "  sha256 TEXT NOT NULL,"
    "  staff_id TEXT NOT NULL,"
    "  at INTEGER NOT NULL"
    ") STRICT;"
    "CREATE INDEX document_complaint ON document(complaint_id);"
    /* Buku Agenda Tanggapan Pengaduan: every written response, numbered per year */
    "CREATE TABLE response ("
    "  id INTEGER PRIMARY KEY,"
    "  complaint_id INTEGER NOT NULL REFERENCES complaint(id),"
    "  year INTEGER NOT NULL,"
    "  number INTEGER NOT NULL,"
    "  at INTEGER NOT NULL,"
    "  staff_id TEXT NOT NULL,"
    "  channel TEXT NOT NULL,"
    "  summary TEXT NOT NULL,"
    "  document_id INTEGER REFERENCES document(id),"
    "  outbox_id INTEGER REFERENCES outbox(id),"
    "  delivered_at INTEGER,"
    "  delivered_note TEXT,"
    "  UNIQUE (year, number)"
    ") STRICT;"
    "CREATE INDEX response_complaint ON response(complaint_id);"
    "CREATE INDEX response_at ON response(at);"
    /* a reminder or an escalation is sent once per deadline (due_at moves with the state) */
    "CREATE TABLE deadline_notice ("
    "  complaint_id INTEGER NOT NULL REFERENCES complaint(id),"
    "  deadline TEXT NOT NULL,"
    "  kind TEXT NOT NULL CHECK (kind IN ('reminder','escalation')),"
    "  due_at INTEGER NOT NULL,"
    "  at INTEGER NOT NULL,"
    "  PRIMARY KEY (complaint_id, deadline, kind, due_at)"
    ") STRICT;"
    /* the monthly summary to the head, once per month */
    "CREATE TABLE monthly_summary ("
    "  month TEXT PRIMARY KEY,"
    "  at INTEGER NOT NULL"
    ") STRICT;",

    /* 4: the search index is filled in batches after the ACK (store.c,
       aduan_store_index_pending), no longer by a trigger per message: FTS5 wrote a
       segment of its own for every INSERT statement, the largest cost of an intake.
       search_progress says up to which message the index is filled. */
    "DROP TRIGGER message_fts_insert;"
    "DROP TRIGGER message_fts_delete;"
    "CREATE TABLE search_progress ("
    "  id INTEGER PRIMARY KEY CHECK (id = 1),"
    "  indexed_upto INTEGER NOT NULL"
    ") STRICT;"
    "INSERT INTO search_progress VALUES (1, (SELECT coalesce(max(id), 0) FROM message));"
    /* only what is in the index is taken out of it */
    "CREATE TRIGGER message_fts_delete AFTER DELETE ON message WHEN old.direction = 'in'"
    "  AND old.id <= (SELECT indexed_upto FROM search_progress)"
    "  BEGIN INSERT INTO message_fts(message_fts, rowid, subject, body)"
    "  VALUES ('delete', old.id, old.subject, old.body); END;",

    /* the telephone channel (calls.c): every call record, noted or not, keyed by its id at
       the source (Asterisk's uniqueid), and the call-backs owed to callers without a
       mobile. A note that names a record (aduanctl call --record) is the complaint of
       that call, whichever of the two arrives first. */
    "CREATE TABLE call_log ("
    "  id INTEGER PRIMARY KEY,"
    "  record TEXT NOT NULL UNIQUE,"
    "  account TEXT NOT NULL DEFAULT '',"
    "  at INTEGER NOT NULL,"                 /* ms: when the call began, at the source */
    "  logged_at INTEGER NOT NULL,"
    "  from_addr TEXT NOT NULL DEFAULT '',"  /* E.164; '' when the number was withheld */
    "  from_name TEXT NOT NULL DEFAULT '',"  /* as the caller id said it: text, never more */
    "  status TEXT NOT NULL CHECK (status IN ('answered','missed','busy','failed')),"
    "  seconds INTEGER NOT NULL DEFAULT 0,"
    "  mobile INTEGER NOT NULL DEFAULT 0,"
    "  invite_outbox_id INTEGER REFERENCES outbox(id)"
    ") STRICT;"
    "CREATE INDEX call_log_at ON call_log(at);"
    "CREATE INDEX call_log_from ON call_log(from_addr, at);"
    "CREATE TABLE call_task ("
    "  id INTEGER PRIMARY KEY,"
    "  complaint_id INTEGER REFERENCES complaint(id),"
    "  outbox_id INTEGER NOT NULL UNIQUE REFERENCES outbox(id),"
    "  to_addr TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  done_at INTEGER,"
    "  done_by TEXT,"
    "  note TEXT"
    ") STRICT;"
    "CREATE INDEX call_task_open ON call_task(created_at) WHERE done_at IS NULL;",

    /* 6: every complaint put a page of each index on its sender into the transaction
       that registered it (the addresses are in no order), two fifths of what an intake
       wrote. complaint_sender served no query. The SMS follow-up window (intake.c) asks
       only of SMS complaints, by number; the few complaints of one number are read to
       compare their updated_at, which no longer moves an index entry at each follow-up. */
    "DROP INDEX complaint_sender;"
    "DROP INDEX complaint_sender_channel;"
    "CREATE INDEX complaint_sms_sender ON complaint(from_addr) WHERE channel = 'sms';",

    /* 7: `aduanctl stats` counted complaints and outbox items by channel and state with a
       GROUP BY over every row: seconds, and a sorter of tens of MB in the core, once the
       registry holds a million complaints. The counts are now kept as rows change, by
       triggers, in two small tables (one page each, written with the change). */
    "CREATE TABLE complaint_tally ("
    "  channel TEXT NOT NULL,"
    "  state TEXT NOT NULL,"
    "  count INTEGER NOT NULL,"
    "  PRIMARY KEY (channel, state)"
    ") STRICT, WITHOUT ROWID;"
    "INSERT INTO complaint_tally SELECT channel, state, count(*) FROM complaint"
    "  GROUP BY channel, state;"
    "CREATE TRIGGER complaint_tally_insert AFTER INSERT ON complaint BEGIN"
    "  INSERT INTO complaint_tally VALUES (new.channel, new.state, 1)"
    "  ON CONFLICT (channel, state) DO UPDATE SET count = count + 1; END;"
    "CREATE TRIGGER complaint_tally_update AFTER UPDATE OF channel, state ON complaint"
    "  WHEN old.channel IS NOT new.channel OR old.state IS NOT new.state BEGIN"
    "  UPDATE complaint_tally SET count = count - 1"
    "    WHERE channel = old.channel AND state = old.state;"
    "  INSERT INTO complaint_tally VALUES (new.channel, new.state, 1)"
    "  ON CONFLICT (channel, state) DO UPDATE SET count = count + 1; END;"
    "CREATE TRIGGER complaint_tally_delete AFTER DELETE ON complaint BEGIN"
    "  UPDATE complaint_tally SET count = count - 1"
    "    WHERE channel = old.channel AND state = old.state; END;"
    "CREATE TABLE outbox_tally ("
    "  channel TEXT NOT NULL,"
    "  status TEXT NOT NULL,"
    "  count INTEGER NOT NULL,"
    "  PRIMARY KEY (channel, status)"
    ") STRICT, WITHOUT ROWID;"
    "INSERT INTO outbox_tally SELECT channel, status, count(*) FROM outbox"
    "  GROUP BY channel, status;"
    OUTBOX_TALLY_TRIGGERS,

    /* 8: SQLite checks `x IN (a, b, c)` (more than two values) against a temporary b-tree
       it builds for each statement: the CHECKs of intake and outbox built four to six of
       them per complaint, 15% of what registering one cost. The same rules as comparisons
       cost nothing measurable. SQLite cannot change a CHECK: the two tables are copied
       (with foreign keys off while the schema changes, store.c's migrate). */
    "CREATE TABLE intake_v8 ("
    "  id INTEGER PRIMARY KEY,"
    "  channel TEXT NOT NULL,"
    "  dedupe_key TEXT NOT NULL,"
    "  complaint_id INTEGER REFERENCES complaint(id),"
    "  disposition TEXT NOT NULL CHECK (disposition = 'new' OR disposition = 'followup'"
    "    OR disposition = 'status' OR disposition = 'quarantined' OR disposition = 'bounce'),"
    "  received_at INTEGER NOT NULL,"
    "  UNIQUE (channel, dedupe_key)"
    ") STRICT;"
    "INSERT INTO intake_v8 SELECT id, channel, dedupe_key, complaint_id, disposition,"
    "  received_at FROM intake;"
    "DROP TABLE intake;"
    "ALTER TABLE intake_v8 RENAME TO intake;"
    "CREATE TABLE outbox_v8 ("
    "  id INTEGER PRIMARY KEY,"
    "  complaint_id INTEGER REFERENCES complaint(id),"
    "  kind TEXT NOT NULL CHECK (kind = 'ack' OR kind = 'notice' OR kind = 'response'"
    "    OR kind = 'status' OR kind = 'reminder'),"
    "  channel TEXT NOT NULL,"
    "  account TEXT NOT NULL DEFAULT '',"
    "  to_addr TEXT NOT NULL,"
    "  to_name TEXT NOT NULL DEFAULT '',"
    "  staff_id TEXT,"
    "  subject TEXT NOT NULL DEFAULT '',"
    "  body TEXT NOT NULL,"
    "  message_id TEXT NOT NULL UNIQUE,"
    "  in_reply_to TEXT,"
    "  refs TEXT,"
    "  automatic INTEGER NOT NULL,"
    "  status TEXT NOT NULL CHECK (status = 'pending' OR status = 'sending' OR status = 'sent'"
    "    OR status = 'delivered' OR status = 'failed' OR status = 'suppressed'),"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  next_attempt_at INTEGER NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  sent_at INTEGER,"
    "  delivered_at INTEGER,"
    "  provider_id TEXT,"
    "  last_error TEXT"
    ") STRICT;"
    "INSERT INTO outbox_v8 SELECT id, complaint_id, kind, channel, account, to_addr, to_name,"
    "  staff_id, subject, body, message_id, in_reply_to, refs, automatic, status, attempts,"
    "  next_attempt_at, created_at, sent_at, delivered_at, provider_id, last_error FROM outbox;"
    "DROP TABLE outbox;" /* and its indexes and triggers, made again below */
    "ALTER TABLE outbox_v8 RENAME TO outbox;"
    OUTBOX_INDEXES
    OUTBOX_TALLY_TRIGGERS,

    /* 9: the words the search index holds, for prefix queries (search.h says why); from
       now on filled where the index is filled (store.c's index_range) */
    "CREATE TABLE search_term (term TEXT PRIMARY KEY) STRICT, WITHOUT ROWID;"
    "CREATE VIRTUAL TABLE temp.message_fts_words USING fts5vocab(main, message_fts, 'row');"
    "INSERT INTO search_term SELECT term FROM temp.message_fts_words"
    "  WHERE term NOT GLOB '[0-9]*';"
    "DROP TABLE temp.message_fts_words;",
};

size_t aduan_schema_migration_count(void)
{
    return sizeof migrations / sizeof migrations[0];
}

const char *aduan_schema_migration(size_t index)
{
    return index < aduan_schema_migration_count() ? migrations[index] : NULL;
}
