/*  config.c - the one configuration file: one table of keys, read with libinih.

    Every key is one row of `keys` below: section, key, type, bounds, default, where it is
    stored and one line of help. Defaults, loading, freeing and the key reference
    (aduan_config_print_keys) all walk that table, so adding a key is adding its field in
    config.h and one row here. Keys of [staff.<id>] sections are rows of section "staff.*"
    whose offsets point into aduan_staff_t.

    libinih splits "key = value" and strips comments. It reads through our own line reader,
    which
      - counts lines, so every error names file:line (Debian builds libinih without
        INI_HANDLER_LINENO);
      - rejects lines longer than ADUAN_CONFIG_MAX_LINE (libinih would cut them in pieces
        and parse each piece as a line of its own);
      - follows the section headers itself (libinih cuts section names at 50 bytes and says
        nothing about a section without keys) and reports every syntax error (libinih only
        returns the line of the first).
    libinih's options are process globals on Debian; they are set for the parse and put back
    afterwards, so loading is meant for start-up, on one thread.

    Relative paths (type "path": core.state_dir, templates.dir) are resolved against the
    folder of the configuration file, so conf/aduan.conf can say `dir = templates`.
*/
#include "aduan/config.h"

#include <assert.h>
#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/un.h>

typedef enum {
    KEY_STRING,
    KEY_INT,
    KEY_BOOL,
    KEY_DURATION,
    KEY_ENUM,
    KEY_ENDPOINT,
    KEY_PATH,
} key_type_t;

static const char *const type_names[] = {
    [KEY_STRING] = "string",
    [KEY_INT] = "int",
    [KEY_BOOL] = "bool",
    [KEY_DURATION] = "duration",
    [KEY_ENUM] = "enum",
    [KEY_ENDPOINT] = "endpoint",
    [KEY_PATH] = "path",
};

/* Durations: what a bare number means, how the value is stored and what bounds count in. */
typedef enum {
    UNIT_NONE,
    UNIT_S,
    UNIT_MS,
} key_unit_t;

enum {
    KEY_REQUIRED = 1 << 0,     /* staff keys only: the section must set it */
    KEY_MAY_BE_EMPTY = 1 << 1, /* "key =" is a valid value */
    KEY_ENUM_AS_INT = 1 << 2,  /* enum stored as int: word_base + index of the word */
};

/* Extra checks on a string value: 0 if fine, else -1 and the reason in why. */
typedef int (*key_check_fn)(const char *value, char *why, size_t whylen);

typedef struct {
    const char *section;      /* "core", ... or STAFF_SECTION for every [staff.<id>] */
    const char *key;
    key_type_t type;
    key_unit_t unit;          /* durations */
    int64_t min, max;         /* int and duration, in unit */
    const char *const *words; /* enum: the allowed words, NULL-terminated */
    int word_base;            /* KEY_ENUM_AS_INT: what words[0] is stored as */
    const char *def;          /* default, parsed like a value from the file; NULL: unset */
    const char *def_doc;      /* shown instead of def when the default is worked out later */
    const char *bounds_doc;   /* shown in the bounds column for checked strings */
    key_check_fn check;
    unsigned flags;
    size_t offset;            /* into aduan_config_t, or aduan_staff_t for staff keys */
    const char *help;
} config_key_t;

#define STAFF_SECTION "staff.*"
#define STAFF_PREFIX "staff."
#define STAFF_PREFIX_LEN (sizeof STAFF_PREFIX - 1)
#define CFG(field) offsetof(aduan_config_t, field)
#define STAFF(field) offsetof(aduan_staff_t, field)
#define WORDS(...) ((const char *const[]){__VA_ARGS__, NULL})
#define WHY_MAX (ADUAN_CONFIG_MAX_LINE + 256)

static int check_ticket_prefix(const char *value, char *why, size_t whylen);
static int check_holidays(const char *value, char *why, size_t whylen);
static int check_phone(const char *value, char *why, size_t whylen);
static int check_phone_prefixes(const char *value, char *why, size_t whylen);
static int check_email(const char *value, char *why, size_t whylen);
static int check_user(const char *value, char *why, size_t whylen);
static int check_email_or_empty(const char *value, char *why, size_t whylen);

/* aduan_role_name() reads the same words, in the order of aduan_role_t. */
static const char *const role_words[] = {"helpdesk", "backoffice", "head", NULL};

_Static_assert(sizeof(aduan_role_t) == sizeof(int), "KEY_ENUM_AS_INT stores an int");

static const config_key_t keys[] = {
    /* [core] */
    {.section = "core", .key = "state_dir", .type = KEY_PATH, .def = "/var/lib/aduan",
     .offset = CFG(core.state_dir),
     .help = "Folder for registry.db, attachments/ and the lock; relative to this file's folder"},
    {.section = "core", .key = "ticket_prefix", .type = KEY_STRING, .def = "ADU",
     .check = check_ticket_prefix, .bounds_doc = "2-8 letters A-Z",
     .offset = CFG(core.ticket_prefix), .help = "First part of ticket numbers: ADU-2026-00042"},
    {.section = "core", .key = "log_level", .type = KEY_ENUM,
     .words = WORDS("debug", "info", "warn", "error"), .def = "info",
     .offset = CFG(core.log_level), .help = "Least severe log lines written to stderr"},
    {.section = "core", .key = "batch_max", .type = KEY_INT, .min = 1, .max = 4096, .def = "256",
     .offset = CFG(core.batch_max), .help = "Intakes committed in one transaction at most"},
    {.section = "core", .key = "office_name", .type = KEY_STRING,
     .def = "DPMPTSP Kabupaten Contoh", .offset = CFG(core.office_name),
     .help = "Name of the office, for letters and reports"},
    {.section = "core", .key = "act_as_users", .type = KEY_STRING, .def = "root",
     .flags = KEY_MAY_BE_EMPTY, .offset = CFG(core.act_as_users),
     .help = "OS users who may act for any staff member (aduanctl --as); comma-separated"},

    /* [bus] */
    {.section = "bus", .key = "intake", .type = KEY_ENDPOINT, .def = "inproc://aduan-intake",
     .offset = CFG(bus.intake), .help = "Where adapters send intakes to the core"},
    {.section = "bus", .key = "events", .type = KEY_ENDPOINT, .def = "inproc://aduan-events",
     .offset = CFG(bus.events), .help = "Where the core publishes events and deliveries"},
    {.section = "bus", .key = "control", .type = KEY_ENDPOINT,
     .def = "ipc:///run/aduan/control.sock", .offset = CFG(bus.control),
     .help = "Where aduanctl talks to the daemon"},
    {.section = "bus", .key = "max_message_bytes", .type = KEY_INT, .min = 65536,
     .max = 268435456, .def = "33554432", .offset = CFG(bus.max_message_bytes),
     .help = "Largest bus message (an intake with its attachments)"},
    {.section = "bus", .key = "heartbeat_ms", .type = KEY_DURATION, .unit = UNIT_MS, .min = 100,
     .max = 60000, .def = "1000", .offset = CFG(bus.heartbeat_ms),
     .help = "How often adapters say they are alive"},
    {.section = "bus", .key = "peer_timeout_ms", .type = KEY_DURATION, .unit = UNIT_MS,
     .min = 300, .max = 600000, .def = "5000", .offset = CFG(bus.peer_timeout_ms),
     .help = "An adapter silent this long is gone; more than heartbeat_ms"},
    {.section = "bus", .key = "curve_cert", .type = KEY_PATH, .def = "",
     .flags = KEY_MAY_BE_EMPTY, .offset = CFG(bus.curve_cert),
     .help = "This component's CURVE certificate (NAME.key_secret, mode 600); tcp:// only"},
    {.section = "bus", .key = "curve_server_cert", .type = KEY_PATH, .def = "",
     .flags = KEY_MAY_BE_EMPTY, .offset = CFG(bus.curve_server_cert),
     .help = "The core's public certificate, for adapters and aduanctl on tcp://"},
    {.section = "bus", .key = "curve_allow_dir", .type = KEY_PATH, .def = "",
     .flags = KEY_MAY_BE_EMPTY, .offset = CFG(bus.curve_allow_dir),
     .help = "The core accepts on tcp:// only peers whose public certificate is here"},

    /* [outbox] */
    {.section = "outbox", .key = "retry_base_s", .type = KEY_DURATION, .unit = UNIT_S, .min = 1,
     .max = 86400, .def = "30", .offset = CFG(outbox.retry_base_s),
     .help = "First retry of a failed delivery after this, doubling each time"},
    {.section = "outbox", .key = "retry_max_s", .type = KEY_DURATION, .unit = UNIT_S, .min = 1,
     .max = 604800, .def = "3600", .offset = CFG(outbox.retry_max_s),
     .help = "Longest wait between retries; at least retry_base_s"},
    {.section = "outbox", .key = "max_attempts", .type = KEY_INT, .min = 1, .max = 100,
     .def = "10", .offset = CFG(outbox.max_attempts),
     .help = "After this many attempts the message is failed and staff are told"},
    {.section = "outbox", .key = "deliver_timeout_s", .type = KEY_DURATION, .unit = UNIT_S,
     .min = 1, .max = 3600, .def = "60", .offset = CFG(outbox.deliver_timeout_s),
     .help = "An attempt without a result this long counts as failed"},
    {.section = "outbox", .key = "in_flight", .type = KEY_INT, .min = 1, .max = 1024, .def = "16",
     .offset = CFG(outbox.in_flight), .help = "Deliveries outstanding per adapter at most"},
    {.section = "outbox", .key = "auto_replies_per_day", .type = KEY_INT, .min = 0, .max = 1000,
     .def = "5", .offset = CFG(outbox.auto_replies_per_day),
     .help = "Automatic replies to one sender address per day at most"},

    /* [templates] */
    {.section = "templates", .key = "dir", .type = KEY_PATH, .def = "/etc/aduan/templates",
     .offset = CFG(templates.dir),
     .help = "Folder with id/ and en/; relative to this file's folder"},
    {.section = "templates", .key = "language", .type = KEY_ENUM, .words = WORDS("id", "en"),
     .def = "id", .offset = CFG(templates.language),
     .help = "Language of replies and letters"},

    /* [deadlines] */
    {.section = "deadlines", .key = "response_days", .type = KEY_INT, .min = 1, .max = 365,
     .def = "14", .offset = CFG(deadlines.response_days),
     .help = "Days to a written response (UU 25/2009: 14)"},
    {.section = "deadlines", .key = "resolution_days", .type = KEY_INT, .min = 1, .max = 730,
     .def = "60", .offset = CFG(deadlines.resolution_days),
     .help = "Days to resolution; at least response_days"},
    {.section = "deadlines", .key = "working_days", .type = KEY_BOOL, .def = "no",
     .offset = CFG(deadlines.working_days),
     .help = "Count working days (Monday to Friday, not holidays) instead of calendar days"},
    {.section = "deadlines", .key = "holidays", .type = KEY_STRING, .def = "",
     .check = check_holidays, .flags = KEY_MAY_BE_EMPTY, .bounds_doc = "YYYY-MM-DD, ...",
     .offset = CFG(deadlines.holidays),
     .help = "Public holidays, comma-separated; skipped when working_days = yes"},
    {.section = "deadlines", .key = "verify_days", .type = KEY_INT, .min = 0, .max = 60,
     .def = "1", .offset = CFG(deadlines.verify_days),
     .help = "Days for verification by the help desk; 0: no step deadline"},
    {.section = "deadlines", .key = "review_days", .type = KEY_INT, .min = 0, .max = 60,
     .def = "3", .offset = CFG(deadlines.review_days),
     .help = "Days for review by the back office; 0: no step deadline"},
    {.section = "deadlines", .key = "meeting_days", .type = KEY_INT, .min = 0, .max = 60,
     .def = "3", .offset = CFG(deadlines.meeting_days),
     .help = "Days for the head's meeting after forwarding; 0: no step deadline"},
    {.section = "deadlines", .key = "minutes_days", .type = KEY_INT, .min = 0, .max = 60,
     .def = "3", .offset = CFG(deadlines.minutes_days),
     .help = "Days for minutes (berita acara) after the meeting; 0: no step deadline"},
    {.section = "deadlines", .key = "respond_days", .type = KEY_INT, .min = 0, .max = 60,
     .def = "2", .offset = CFG(deadlines.respond_days),
     .help = "Days for the written response after the minutes; 0: no step deadline"},
    {.section = "deadlines", .key = "confirm_days", .type = KEY_INT, .min = 0, .max = 60,
     .def = "3", .offset = CFG(deadlines.confirm_days),
     .help = "Days for confirming delivery of the response; 0: no step deadline"},
    {.section = "deadlines", .key = "archive_days", .type = KEY_INT, .min = 0, .max = 60,
     .def = "3", .offset = CFG(deadlines.archive_days),
     .help = "Days for archiving after delivery; 0: no step deadline"},
    {.section = "deadlines", .key = "reminder_days", .type = KEY_INT, .min = 0, .max = 30,
     .def = "1", .offset = CFG(deadlines.reminder_days),
     .help = "Days before a deadline that the acting role is reminded"},
    {.section = "deadlines", .key = "monthly_summary", .type = KEY_BOOL, .def = "yes",
     .offset = CFG(deadlines.monthly_summary),
     .help = "Send the head the summary of the month before on the first of each month"},

    /* Channels: each channel's own keys go below its two common ones. */
    {.section = "sms", .key = "enabled", .type = KEY_BOOL, .def = "no",
     .offset = CFG(sms.enabled), .help = "Run the SMS adapter"},
    {.section = "sms", .key = "account", .type = KEY_STRING, .def = "sms",
     .offset = CFG(sms.account), .help = "Account name in the registry (modem id)"},
    {.section = "sms", .key = "gammurc", .type = KEY_PATH, .def = "/etc/aduan/gammurc",
     .offset = CFG(sms.gammurc), .help = "Gammu configuration that names the modem"},
    {.section = "sms", .key = "gammu_section", .type = KEY_INT, .min = 0, .max = 99, .def = "0",
     .offset = CFG(sms.gammu_section), .help = "Which [gammuN] section of it: 0 is [gammu]"},
    {.section = "sms", .key = "poll", .type = KEY_DURATION, .unit = UNIT_MS, .min = 100,
     .max = 60000, .def = "1s", .offset = CFG(sms.poll_ms),
     .help = "How often the modem's memories are read"},
    {.section = "sms", .key = "reconnect_max", .type = KEY_DURATION, .unit = UNIT_S, .min = 1,
     .max = 3600, .def = "60s", .offset = CFG(sms.reconnect_max_s),
     .help = "Longest wait between tries while the modem is gone"},
    {.section = "sms", .key = "multipart_wait", .type = KEY_DURATION, .unit = UNIT_S, .min = 1,
     .max = 7 * 86400, .def = "10m", .offset = CFG(sms.multipart_wait_s),
     .help = "How long missing parts of a long SMS are waited for"},
    {.section = "sms", .key = "followup_window", .type = KEY_DURATION, .unit = UNIT_S,
     .min = 0, .max = 30 * 86400, .def = "1h", .offset = CFG(sms.followup_window_s),
     .help = "An SMS this soon after an open ticket's last one from the same number joins it"},
    {.section = "sms", .key = "status_keywords", .type = KEY_STRING, .def = "CEK,STATUS",
     .offset = CFG(sms.status_keywords),
     .help = "Words that ask for a ticket's state, comma-separated, any case"},
    {.section = "sms", .key = "send_per_minute", .type = KEY_INT, .min = 1, .max = 600,
     .def = "20", .offset = CFG(sms.send_per_minute), .help = "Sending rate"},
    {.section = "sms", .key = "delivery_reports", .type = KEY_BOOL, .def = "yes",
     .offset = CFG(sms.delivery_reports),
     .help = "Ask for delivery reports; they mark replies delivered (SOP step 7)"},
    {.section = "sms", .key = "spill_percent", .type = KEY_INT, .min = 1, .max = 100,
     .def = "80", .offset = CFG(sms.spill_percent),
     .help = "Core away and the modem's memory this full: move messages to the spill queue"},
    {.section = "sms", .key = "spill_dir", .type = KEY_PATH, .def = "",
     .def_doc = "<state_dir>/sms-spill", .flags = KEY_MAY_BE_EMPTY,
     .offset = CFG(sms.spill_dir), .help = "The SMS channel's own durable spill queue"},
    {.section = "email", .key = "enabled", .type = KEY_BOOL, .def = "no",
     .offset = CFG(email.enabled), .help = "Run the email adapter"},
    {.section = "email", .key = "account", .type = KEY_STRING, .def = "email",
     .offset = CFG(email.account), .help = "Account name in the registry (mailbox)"},
    {.section = "email", .key = "address", .type = KEY_STRING, .def = "",
     .flags = KEY_MAY_BE_EMPTY, .check = check_email_or_empty, .bounds_doc = "one @",
     .offset = CFG(email.address), .help = "Our address: the From of replies; never answered"},
    {.section = "email", .key = "display_name", .type = KEY_STRING, .def = "Layanan Pengaduan",
     .offset = CFG(email.display_name), .help = "Display name in the From of replies"},
    {.section = "email", .key = "imap_host", .type = KEY_STRING, .def = "127.0.0.1",
     .offset = CFG(email.imap_host), .help = "IMAP server"},
    {.section = "email", .key = "imap_port", .type = KEY_INT, .min = 1, .max = 65535,
     .def = "993", .offset = CFG(email.imap_port), .help = "IMAP port"},
    {.section = "email", .key = "imap_tls", .type = KEY_ENUM,
     .words = WORDS("implicit", "starttls", "none"), .def = "implicit",
     .offset = CFG(email.imap_tls), .help = "TLS for IMAP; none only to a loopback address"},
    {.section = "email", .key = "imap_user", .type = KEY_STRING, .def = "",
     .flags = KEY_MAY_BE_EMPTY, .offset = CFG(email.imap_user), .help = "IMAP login"},
    {.section = "email", .key = "imap_password_file", .type = KEY_PATH, .def = "",
     .flags = KEY_MAY_BE_EMPTY, .offset = CFG(email.imap_password_file),
     .help = "File holding the IMAP password (mode 0600 or tighter)"},
    {.section = "email", .key = "mailbox", .type = KEY_STRING, .def = "INBOX",
     .offset = CFG(email.mailbox), .help = "Mailbox that complaints arrive in"},
    {.section = "email", .key = "processed_folder", .type = KEY_STRING, .def = "Aduan/Terdaftar",
     .offset = CFG(email.processed_folder), .help = "Registered mail is moved here"},
    {.section = "email", .key = "ca_file", .type = KEY_PATH, .def = "",
     .flags = KEY_MAY_BE_EMPTY, .offset = CFG(email.ca_file),
     .help = "CA certificates to verify the servers with; empty: the system's"},
    {.section = "email", .key = "idle", .type = KEY_BOOL, .def = "yes",
     .offset = CFG(email.idle), .help = "Wait with IMAP IDLE when the server has it"},
    {.section = "email", .key = "poll", .type = KEY_DURATION, .unit = UNIT_S, .min = 1,
     .max = 3600, .def = "60s", .offset = CFG(email.poll_s),
     .help = "Polling interval without IDLE, and the longest IDLE wait"},
    {.section = "email", .key = "fetch_batch", .type = KEY_INT, .min = 1, .max = 5000,
     .def = "200", .offset = CFG(email.fetch_batch), .help = "Messages per UID FETCH"},
    {.section = "email", .key = "max_message_bytes", .type = KEY_INT, .min = 65536,
     .max = 256 << 20, .def = "29360128", .offset = CFG(email.max_message_bytes),
     .help = "Larger mail is kept on the server and quarantined; below bus.max_message_bytes"},
    {.section = "email", .key = "max_attachment_bytes", .type = KEY_INT, .min = 0,
     .max = 256 << 20, .def = "26214400", .offset = CFG(email.max_attachment_bytes),
     .help = "Larger attachments are left out (named in the text)"},
    {.section = "email", .key = "smtp_host", .type = KEY_STRING, .def = "127.0.0.1",
     .offset = CFG(email.smtp_host), .help = "Submission server for replies"},
    {.section = "email", .key = "smtp_port", .type = KEY_INT, .min = 1, .max = 65535,
     .def = "587", .offset = CFG(email.smtp_port), .help = "Submission port"},
    {.section = "email", .key = "smtp_tls", .type = KEY_ENUM,
     .words = WORDS("starttls", "implicit", "none"), .def = "starttls",
     .offset = CFG(email.smtp_tls), .help = "TLS for SMTP; none only to a loopback address"},
    {.section = "email", .key = "smtp_user", .type = KEY_STRING, .def = "",
     .flags = KEY_MAY_BE_EMPTY, .offset = CFG(email.smtp_user),
     .help = "SMTP AUTH login; empty: no AUTH (a loopback relay)"},
    {.section = "email", .key = "smtp_password_file", .type = KEY_PATH, .def = "",
     .flags = KEY_MAY_BE_EMPTY, .offset = CFG(email.smtp_password_file),
     .help = "File holding the SMTP password (mode 0600 or tighter)"},
    {.section = "email", .key = "smtp_timeout", .type = KEY_DURATION, .unit = UNIT_S, .min = 1,
     .max = 600, .def = "60s", .offset = CFG(email.smtp_timeout_s),
     .help = "Longest wait for any answer of the SMTP server"},
    {.section = "phone", .key = "enabled", .type = KEY_BOOL, .def = "no",
     .offset = CFG(phone.enabled), .help = "Run the phone adapter"},
    {.section = "phone", .key = "account", .type = KEY_STRING, .def = "phone",
     .offset = CFG(phone.account), .help = "Account name in the registry (line)"},
    {.section = "phone", .key = "cdr_file", .type = KEY_PATH, .def = "",
     .flags = KEY_MAY_BE_EMPTY, .offset = CFG(phone.cdr_file),
     .help = "Asterisk Master.csv to follow as it grows (rotation handled); empty: none"},
    {.section = "phone", .key = "position_file", .type = KEY_PATH, .def = "",
     .def_doc = "<state_dir>/phone-cdr.pos", .flags = KEY_MAY_BE_EMPTY,
     .offset = CFG(phone.position_file), .help = "How far the call records were read"},
    {.section = "phone", .key = "modem_calls", .type = KEY_BOOL, .def = "yes",
     .offset = CFG(phone.modem_calls),
     .help = "Also log the calls the SMS modem saw (calls.csv in sms.spill_dir)"},
    {.section = "phone", .key = "invite_missed", .type = KEY_BOOL, .def = "no",
     .offset = CFG(phone.invite_missed),
     .help = "A missed call from a mobile gets an SMS inviting the caller to write or call again"},
    {.section = "phone", .key = "mobile_prefixes", .type = KEY_STRING, .def = "+628",
     .check = check_phone_prefixes, .bounds_doc = "+ and digits, ...",
     .offset = CFG(phone.mobile_prefixes),
     .help = "E.164 prefixes of mobile numbers (SMS replies; others get a call-back), comma-separated"},
    {.section = "box", .key = "enabled", .type = KEY_BOOL, .def = "no",
     .offset = CFG(box.enabled), .help = "Run the complaint-box (scanned forms) adapter"},
    {.section = "box", .key = "account", .type = KEY_STRING, .def = "box",
     .offset = CFG(box.account), .help = "Account name in the registry (box location)"},
    {.section = "box", .key = "scan_dir", .type = KEY_PATH, .def = "",
     .def_doc = "<state_dir>/box/scan", .flags = KEY_MAY_BE_EMPTY, .offset = CFG(box.scan_dir),
     .help = "Folder the scanner drops PNG, JPEG, TIFF and PDF files into"},
    {.section = "box", .key = "processed_dir", .type = KEY_PATH, .def = "",
     .def_doc = "<state_dir>/box/processed", .flags = KEY_MAY_BE_EMPTY,
     .offset = CFG(box.processed_dir), .help = "Registered files are moved here after the ACK"},
    {.section = "box", .key = "quarantine_dir", .type = KEY_PATH, .def = "",
     .def_doc = "<state_dir>/box/quarantine", .flags = KEY_MAY_BE_EMPTY,
     .offset = CFG(box.quarantine_dir),
     .help = "Unreadable files are moved here, each with <name>.reason.txt"},
    {.section = "box", .key = "outgoing_dir", .type = KEY_PATH, .def = "",
     .def_doc = "<state_dir>/box/outgoing", .flags = KEY_MAY_BE_EMPTY,
     .offset = CFG(box.outgoing_dir),
     .help = "Letters (PDF) to print for complainants who left no contact"},
    {.section = "box", .key = "work_dir", .type = KEY_PATH, .def = "",
     .def_doc = "<state_dir>/box/work", .flags = KEY_MAY_BE_EMPTY, .offset = CFG(box.work_dir),
     .help = "Where the OCR helper leaves page images for the adapter"},
    {.section = "box", .key = "languages", .type = KEY_STRING, .def = "ind+eng",
     .offset = CFG(box.languages), .help = "Tesseract languages (tesseract-ocr-ind, -eng)"},
    {.section = "box", .key = "min_confidence", .type = KEY_INT, .min = 0, .max = 100,
     .def = "60", .offset = CFG(box.min_confidence),
     .help = "OCR confidence below this flags the form for the help desk to type in"},
    {.section = "box", .key = "max_pixels", .type = KEY_INT, .min = 1000000,
     .max = 400000000, .def = "60000000", .offset = CFG(box.max_pixels),
     .help = "A page larger than this is refused before it is decoded (A4 at 600 dpi: 35 M)"},
    {.section = "box", .key = "max_pages", .type = KEY_INT, .min = 1, .max = 200, .def = "20",
     .offset = CFG(box.max_pages), .help = "Pages of one file read at most"},
    {.section = "box", .key = "max_file_bytes", .type = KEY_INT, .min = 65536,
     .max = 256 << 20, .def = "26214400", .offset = CFG(box.max_file_bytes),
     .help = "Larger files are quarantined unread; below bus.max_message_bytes"},
    {.section = "box", .key = "pdf_dpi", .type = KEY_INT, .min = 72, .max = 600, .def = "300",
     .offset = CFG(box.pdf_dpi), .help = "Resolution PDF pages are rasterised at for OCR"},
    {.section = "box", .key = "stable_ms", .type = KEY_DURATION, .unit = UNIT_MS, .min = 0,
     .max = 600000, .def = "1000", .offset = CFG(box.stable_ms),
     .help = "A file is taken once written and closed and its size held this long"},
    {.section = "box", .key = "ocr_timeout_s", .type = KEY_DURATION, .unit = UNIT_S, .min = 5,
     .max = 3600, .def = "300", .offset = CFG(box.ocr_timeout_s),
     .help = "A file the OCR takes longer on is quarantined"},
    {.section = "box", .key = "letter_address", .type = KEY_STRING, .def = "",
     .flags = KEY_MAY_BE_EMPTY, .offset = CFG(box.letter_address),
     .help = "Letterhead: the office's address, under core.office_name"},
    {.section = "box", .key = "letter_signer", .type = KEY_STRING, .def = "Kepala Dinas",
     .offset = CFG(box.letter_signer), .help = "Who signs the letters (a title)"},

    /* [staff.<id>], any number; <id> is [a-z0-9_-]+ */
    {.section = STAFF_SECTION, .key = "name", .type = KEY_STRING, .flags = KEY_REQUIRED,
     .offset = STAFF(name), .help = "Full name, as shown to other staff"},
    {.section = STAFF_SECTION, .key = "role", .type = KEY_ENUM,
     .words = role_words, .word_base = ADUAN_ROLE_HELPDESK,
     .flags = KEY_REQUIRED | KEY_ENUM_AS_INT, .offset = STAFF(role),
     .help = "helpdesk: loket pelayanan; backoffice: Kabid Perizinan; head: Kepala Dinas"},
    {.section = STAFF_SECTION, .key = "phone", .type = KEY_STRING, .check = check_phone,
     .bounds_doc = "E.164: + and 7-15 digits", .offset = STAFF(phone),
     .help = "Mobile number for SMS notices"},
    {.section = STAFF_SECTION, .key = "email", .type = KEY_STRING, .check = check_email,
     .bounds_doc = "one @", .offset = STAFF(email), .help = "Address for email notices"},
    {.section = STAFF_SECTION, .key = "user", .type = KEY_STRING, .check = check_user,
     .bounds_doc = "OS user name, unique", .offset = STAFF(user),
     .help = "OS user that aduanctl maps to this member"},
    {.section = STAFF_SECTION, .key = "notify", .type = KEY_ENUM,
     .words = WORDS("sms", "email", "both", "none"), .def_doc = "email if email is set, else sms",
     .offset = STAFF(notify), .help = "How this member is told of new and overdue tickets"},
};

#define KEY_COUNT (sizeof keys / sizeof keys[0])

/* ---- values -------------------------------------------------------------------------- */

static void *field_of(const config_key_t *k, void *base)
{
    return (char *)base + k->offset;
}

static bool key_holds_string(const config_key_t *k)
{
    return k->type == KEY_STRING || k->type == KEY_PATH || k->type == KEY_ENDPOINT
           || (k->type == KEY_ENUM && !(k->flags & KEY_ENUM_AS_INT));
}

static void key_free(const config_key_t *k, void *base)
{
    if (!key_holds_string(k))
        return;
    char **p = field_of(k, base);
    free(*p);
    *p = NULL;
}

static const config_key_t *key_find(const char *section, const char *key)
{
    for (size_t i = 0; i < KEY_COUNT; i++)
        if (strcmp(keys[i].section, section) == 0 && strcmp(keys[i].key, key) == 0)
            return &keys[i];
    return NULL;
}

static bool section_known(const char *section)
{
    for (size_t i = 0; i < KEY_COUNT; i++)
        if (strcmp(keys[i].section, section) == 0)
            return true;
    return false;
}

static const char *unit_name(key_unit_t unit)
{
    return unit == UNIT_MS ? " ms" : unit == UNIT_S ? " s" : "";
}

/* Returns 0, -1 if not an integer, -3 if too large for int64_t. */
static int parse_int(const char *s, int64_t *out)
{
    if (!(*s == '-' || *s == '+' || (*s >= '0' && *s <= '9')))
        return -1;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (end == s || *end != '\0' || (end == s + 1 && (*s == '-' || *s == '+')))
        return -1;
    if (errno == ERANGE)
        return -3;
    *out = v;
    return 0;
}

/*  "30" (in the key's unit), "1500ms", "30s", "5m", "2h", "14d". Returns 0, -1 if not a
    duration, -2 if not a whole number of the key's unit, -3 if too large. */
static int parse_duration(const char *s, key_unit_t unit, int64_t *out)
{
    static const struct {
        const char *suffix;
        int64_t ms;
    } suffixes[] = {
        {"ms", 1}, {"s", 1000}, {"m", 60 * 1000}, {"h", 3600 * 1000}, {"d", 86400 * 1000},
    };
    if (!(*s >= '0' && *s <= '9'))
        return -1;
    char *end;
    errno = 0;
    long long n = strtoll(s, &end, 10);
    if (errno == ERANGE)
        return -3;
    if (*end == '\0') {
        *out = n;
        return 0;
    }
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        if (strcmp(end, suffixes[i].suffix) != 0)
            continue;
        if (n > INT64_MAX / suffixes[i].ms)
            return -3;
        int64_t ms = n * suffixes[i].ms;
        if (unit == UNIT_MS) {
            *out = ms;
            return 0;
        }
        if (ms % 1000 != 0)
            return -2;
        *out = ms / 1000;
        return 0;
    }
    return -1;
}

static int parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = {"yes", "true", "on", "1"};
    static const char *const no[] = {"no", "false", "off", "0"};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        if (strcmp(s, yes[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcmp(s, no[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    return -1;
}

static void words_join(const char *const *words, char *buf, size_t buflen)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; words[i] && used < buflen; i++) {
        int n = snprintf(buf + used, buflen - used, "%s%s", i ? ", " : "", words[i]);
        if (n < 0)
            break;
        used += (size_t)n;
    }
}

static int check_endpoint(const char *value, char *why, size_t whylen)
{
    static const char *const schemes[] = {"inproc://", "ipc://", "tcp://"};
    const char *rest = NULL;
    size_t which = 0;
    for (; which < sizeof schemes / sizeof schemes[0]; which++) {
        size_t len = strlen(schemes[which]);
        if (strncmp(value, schemes[which], len) == 0) {
            rest = value + len;
            break;
        }
    }
    if (!rest) {
        snprintf(why, whylen, "\"%s\" must start with inproc://, ipc:// or tcp://", value);
        return -1;
    }
    if (*rest == '\0') {
        snprintf(why, whylen, "\"%s\" has nothing after %s", value, schemes[which]);
        return -1;
    }
    if (which == 1) {
        size_t max = sizeof(((struct sockaddr_un *)0)->sun_path);
        if (strlen(rest) >= max) {
            snprintf(why, whylen, "ipc path is %zu bytes, must be shorter than %zu",
                     strlen(rest), max);
            return -1;
        }
    }
    if (which == 2) {
        const char *colon = strrchr(rest, ':');
        int64_t port = 0;
        bool ok = colon && colon != rest
                  && (strcmp(colon + 1, "*") == 0
                      || (colon[1] >= '0' && colon[1] <= '9' && parse_int(colon + 1, &port) == 0
                          && port >= 1 && port <= 65535));
        if (!ok) {
            snprintf(why, whylen, "\"%s\" needs host:port (port 1-65535 or *)", value);
            return -1;
        }
    }
    return 0;
}

/*  Parses value as key k and stores it in base (aduan_config_t or aduan_staff_t), freeing
    what was there. Returns 0; -1 if the value is bad (reason in why, field untouched);
    -2 if out of memory. */
static int key_set(const config_key_t *k, void *base, const char *value, char *why, size_t whylen)
{
    void *field = field_of(k, base);
    int64_t n = 0;
    char bounds[64];

    if (*value == '\0' && !(k->flags & KEY_MAY_BE_EMPTY)) {
        snprintf(why, whylen, "empty value");
        return -1;
    }
    switch (k->type) {
    case KEY_INT:
    case KEY_DURATION: {
        int rc = k->type == KEY_INT ? parse_int(value, &n) : parse_duration(value, k->unit, &n);
        snprintf(bounds, sizeof bounds, "%lld..%lld%s", (long long)k->min, (long long)k->max,
                 unit_name(k->unit));
        if (rc == -1 && k->type == KEY_INT) {
            snprintf(why, whylen, "\"%s\" is not an integer", value);
            return -1;
        }
        if (rc == -1) {
            snprintf(why, whylen, "\"%s\" is not a duration (a number, or one with ms, s, m, h "
                     "or d after it)", value);
            return -1;
        }
        if (rc == -2) {
            snprintf(why, whylen, "\"%s\" is not a whole number of seconds", value);
            return -1;
        }
        if (rc < 0 || n < k->min || n > k->max) {
            snprintf(why, whylen, "\"%s\" is out of bounds (%s)", value, bounds);
            return -1;
        }
        *(int64_t *)field = n;
        return 0;
    }
    case KEY_BOOL: {
        bool b;
        if (parse_bool(value, &b) != 0) {
            snprintf(why, whylen,
                     "\"%s\" is not a boolean (yes/no, true/false, on/off, 1/0)", value);
            return -1;
        }
        *(bool *)field = b;
        return 0;
    }
    case KEY_ENUM: {
        size_t i = 0;
        while (k->words[i] && strcmp(k->words[i], value) != 0)
            i++;
        if (!k->words[i]) {
            char list[256];
            words_join(k->words, list, sizeof list);
            snprintf(why, whylen, "\"%s\" is not one of %s", value, list);
            return -1;
        }
        if (k->flags & KEY_ENUM_AS_INT) {
            *(int *)field = k->word_base + (int)i;
            return 0;
        }
        break;
    }
    case KEY_ENDPOINT:
        if (check_endpoint(value, why, whylen) != 0)
            return -1;
        break;
    case KEY_STRING:
    case KEY_PATH:
        break;
    }
    if (k->check && k->check(value, why, whylen) != 0)
        return -1;
    char *copy = strdup(value);
    if (!copy)
        return -2;
    char **p = field;
    free(*p);
    *p = copy;
    return 0;
}

/* ---- checks on strings --------------------------------------------------------------- */

static int check_ticket_prefix(const char *value, char *why, size_t whylen)
{
    size_t len = strlen(value);
    bool ok = len >= 2 && len <= 8;
    for (size_t i = 0; ok && i < len; i++)
        ok = value[i] >= 'A' && value[i] <= 'Z';
    if (!ok) {
        snprintf(why, whylen, "\"%s\" must be 2 to 8 letters A-Z", value);
        return -1;
    }
    return 0;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* YYYY-MM-DD, exactly ten bytes, a day that exists. */
static bool valid_date(const char *s, size_t len)
{
    static const int month_days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (len != 10 || s[4] != '-' || s[7] != '-')
        return false;
    for (size_t i = 0; i < len; i++)
        if (i != 4 && i != 7 && !is_digit(s[i]))
            return false;
    int y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
    int m = (s[5] - '0') * 10 + (s[6] - '0');
    int d = (s[8] - '0') * 10 + (s[9] - '0');
    if (y < 1970 || m < 1 || m > 12 || d < 1)
        return false;
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    int max = month_days[m - 1] + (m == 2 && leap ? 1 : 0);
    return d <= max;
}

static int check_holidays(const char *value, char *why, size_t whylen)
{
    if (*value == '\0')
        return 0; /* no holidays */
    const char *p = value;
    for (;;) {
        const char *comma = strchr(p, ',');
        const char *end = comma ? comma : p + strlen(p);
        const char *a = p, *b = end;
        while (a < b && (*a == ' ' || *a == '\t'))
            a++;
        while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
            b--;
        if (a == b) {
            snprintf(why, whylen, "empty date in the list");
            return -1;
        }
        if (!valid_date(a, (size_t)(b - a))) {
            snprintf(why, whylen, "\"%.*s\" is not a date (YYYY-MM-DD)", (int)(b - a), a);
            return -1;
        }
        if (!comma)
            break;
        p = comma + 1;
    }
    return 0;
}

static int check_phone(const char *value, char *why, size_t whylen)
{
    size_t digits = strlen(value + 1);
    bool ok = value[0] == '+' && value[1] >= '1' && value[1] <= '9' && digits >= 7
              && digits <= 15;
    for (size_t i = 1; ok && value[i]; i++)
        ok = is_digit(value[i]);
    if (!ok) {
        snprintf(why, whylen, "\"%s\" is not an E.164 number (+ and 7 to 15 digits)", value);
        return -1;
    }
    return 0;
}

/* "+628, +6288": E.164 prefixes, comma-separated. */
static int check_phone_prefixes(const char *value, char *why, size_t whylen)
{
    for (const char *p = value; *p;) {
        while (*p == ',' || *p == ' ')
            p++;
        size_t len = strcspn(p, ", ");
        bool ok = len == 0 || (p[0] == '+' && len >= 2 && len <= 16);
        for (size_t i = 1; ok && i < len; i++)
            ok = is_digit(p[i]);
        if (!ok) {
            snprintf(why, whylen, "\"%.*s\" is not the start of an E.164 number (+ and digits)",
                     (int)len, p);
            return -1;
        }
        p += len;
    }
    return 0;
}

static int check_email(const char *value, char *why, size_t whylen)
{
    const char *at = strchr(value, '@');
    bool ok = at && at != value && at[1] != '\0' && !strchr(at + 1, '@');
    for (const char *p = value; ok && *p; p++)
        ok = (unsigned char)*p > ' ' && *p != 0x7f;
    if (!ok) {
        snprintf(why, whylen, "\"%s\" is not an email address (one @, no spaces)", value);
        return -1;
    }
    return 0;
}

static int check_email_or_empty(const char *value, char *why, size_t whylen)
{
    return *value ? check_email(value, why, whylen) : 0;
}

static int check_user(const char *value, char *why, size_t whylen)
{
    size_t len = strlen(value);
    bool ok = len <= 32 && value[0] != '-';
    for (size_t i = 0; ok && i < len; i++) {
        char c = value[i];
        ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '_'
             || c == '-' || c == '.';
    }
    if (!ok) {
        snprintf(why, whylen, "\"%s\" is not a user name", value);
        return -1;
    }
    return 0;
}

static bool valid_staff_id(const char *id)
{
    if (*id == '\0')
        return false;
    for (; *id; id++)
        if (!((*id >= 'a' && *id <= 'z') || is_digit(*id) || *id == '_' || *id == '-'))
            return false;
    return true;
}

/* ---- loading ------------------------------------------------------------------------- */

typedef enum {
    IN_NONE,    /* before the first section header */
    IN_GLOBAL,  /* [core], [bus], ... */
    IN_STAFF,   /* [staff.<id>] */
    IN_SKIPPED, /* a section already reported as bad: its keys are not checked */
} section_kind_t;

typedef struct {
    const char *path;
    aduan_config_t *config;
    aduan_config_errors_t *errors;
    size_t error_count;
    bool out_of_memory;
    FILE *file;
    bool read_failed;
    char *line;
    size_t line_cap;
    int lineno;
    int first_syntax_error; /* line, to match libinih's return value */
    section_kind_t in;
    char section[ADUAN_CONFIG_MAX_LINE + 1];
    size_t staff_index;
    int set_on[KEY_COUNT];          /* global keys: line that set it, 0 = default */
    bool failed[KEY_COUNT];         /* global keys: the value was reported as bad */
    int (*staff_set_on)[KEY_COUNT]; /* the same for each staff member */
    size_t staff_cap;
} loader_t;

static void add_error(loader_t *ld, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void add_error(loader_t *ld, int line, const char *fmt, ...)
{
    ld->error_count++;
    if (!ld->errors)
        return;
    char msg[WHY_MAX + 128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);

    char prefix[32] = "";
    if (line > 0)
        snprintf(prefix, sizeof prefix, "%d:", line);
    size_t len = strlen(ld->path) + strlen(prefix) + strlen(msg) + 3;
    char *text = malloc(len);
    char **lines = realloc(ld->errors->lines, (ld->errors->count + 1) * sizeof *lines);
    if (!text || !lines) {
        free(text);
        if (lines)
            ld->errors->lines = lines;
        ld->out_of_memory = true;
        return;
    }
    snprintf(text, len, "%s:%s %s", ld->path, prefix, msg);
    lines[ld->errors->count++] = text;
    ld->errors->lines = lines;
}

/* Finds [staff.<id>] or adds it with the defaults of the staff keys. */
static int staff_open(loader_t *ld, const char *id, int line)
{
    aduan_config_t *cfg = ld->config;
    for (size_t i = 0; i < cfg->staff_count; i++) {
        if (strcmp(cfg->staff[i].id, id) == 0) {
            ld->staff_index = i;
            return 0;
        }
    }
    if (cfg->staff_count == ld->staff_cap) {
        size_t cap = ld->staff_cap ? ld->staff_cap * 2 : 8;
        aduan_staff_t *staff = realloc(cfg->staff, cap * sizeof *staff);
        if (!staff)
            return -1;
        cfg->staff = staff;
        int(*set_on)[KEY_COUNT] = realloc(ld->staff_set_on, cap * sizeof *set_on);
        if (!set_on)
            return -1;
        ld->staff_set_on = set_on;
        ld->staff_cap = cap;
    }
    aduan_staff_t *s = &cfg->staff[cfg->staff_count];
    memset(s, 0, sizeof *s);
    memset(ld->staff_set_on[cfg->staff_count], 0, sizeof ld->staff_set_on[0]);
    s->line = line;
    s->id = strdup(id);
    if (!s->id)
        return -1;
    ld->staff_index = cfg->staff_count++;
    for (size_t i = 0; i < KEY_COUNT; i++) {
        char why[WHY_MAX];
        if (strcmp(keys[i].section, STAFF_SECTION) != 0 || !keys[i].def)
            continue;
        int rc = key_set(&keys[i], s, keys[i].def, why, sizeof why);
        assert(rc != -1 && "a staff default in the key table is not valid");
        if (rc != 0)
            return -1;
    }
    return 0;
}

static void section_begin(loader_t *ld, const char *name)
{
    snprintf(ld->section, sizeof ld->section, "%s", name);
    if (strncmp(name, STAFF_PREFIX, STAFF_PREFIX_LEN) == 0) {
        const char *id = name + STAFF_PREFIX_LEN;
        if (!valid_staff_id(id)) {
            add_error(ld, ld->lineno, "[%s]: a staff id is made of a-z, 0-9, _ and -", name);
            ld->in = IN_SKIPPED;
            return;
        }
        if (staff_open(ld, id, ld->lineno) != 0) {
            ld->out_of_memory = true;
            ld->in = IN_SKIPPED;
            return;
        }
        ld->in = IN_STAFF;
        return;
    }
    if (!section_known(name)) {
        add_error(ld, ld->lineno, "unknown section [%s]", name);
        ld->in = IN_SKIPPED;
        return;
    }
    ld->in = IN_GLOBAL;
}

/* Like libinih: the first of chars, or the start of an inline comment (";" after a space). */
static const char *find_or_comment(const char *s, const char *end, const char *chars)
{
    bool was_space = false;
    for (; s < end; s++) {
        if (strchr(chars, *s) || (was_space && *s == ';'))
            return s;
        was_space = *s == ' ' || *s == '\t' || *s == '\r' || *s == '\n' || *s == '\v'
                    || *s == '\f';
    }
    return end;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

/* Follows section headers and reports what libinih would call a syntax error. */
static void line_classify(loader_t *ld, const char *s, size_t len)
{
    const char *end = s + len;
    while (s < end && is_space(*s))
        s++;
    if (s == end || *s == ';' || *s == '#')
        return;
    if (*s == '[') {
        const char *close = find_or_comment(s + 1, end, "]");
        if (close == end || *close != ']') {
            add_error(ld, ld->lineno, "syntax error: [ without ]");
            if (!ld->first_syntax_error)
                ld->first_syntax_error = ld->lineno;
            ld->in = IN_SKIPPED;
            return;
        }
        const char *a = s + 1, *b = close;
        while (a < b && is_space(*a))
            a++;
        while (b > a && is_space(b[-1]))
            b--;
        char name[ADUAN_CONFIG_MAX_LINE + 1];
        snprintf(name, sizeof name, "%.*s", (int)(b - a), a);
        section_begin(ld, name);
        return;
    }
    const char *sep = find_or_comment(s, end, "=:");
    if (sep == end || (*sep != '=' && *sep != ':')) {
        add_error(ld, ld->lineno, "syntax error: expected [section] or key = value");
        if (!ld->first_syntax_error)
            ld->first_syntax_error = ld->lineno;
    }
}

/* libinih's fgets: one whole line at a time, or an empty line in place of a bad one. */
static char *line_read(char *str, int num, void *stream)
{
    loader_t *ld = stream;
    if (ld->read_failed)
        return NULL;
    errno = 0;
    ssize_t n = getline(&ld->line, &ld->line_cap, ld->file);
    if (n < 0) {
        if (ferror(ld->file)) {
            add_error(ld, 0, "cannot read: %s", strerror(errno ? errno : EIO));
            ld->read_failed = true;
        }
        return NULL;
    }
    ld->lineno++;
    char *text = ld->line;
    size_t len = (size_t)n;
    if (ld->lineno == 1 && len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) {
        text += 3;
        len -= 3;
    }
    size_t content = len;
    if (content > 0 && text[content - 1] == '\n')
        content--;
    if (content > 0 && text[content - 1] == '\r')
        content--;

    assert(num >= 2);
    if (memchr(text, '\0', len)) {
        add_error(ld, ld->lineno, "line contains a NUL byte");
    } else if (content > ADUAN_CONFIG_MAX_LINE || len >= (size_t)num) {
        add_error(ld, ld->lineno, "line too long (%zu bytes, at most %d)", content,
                  ADUAN_CONFIG_MAX_LINE);
        const char *s = text;
        while (is_space(*s))
            s++;
        if (*s == '[')
            ld->in = IN_SKIPPED; /* a section header we cannot read: skip its keys */
    } else {
        line_classify(ld, text, len);
        memcpy(str, text, len);
        str[len] = '\0';
        return str;
    }
    str[0] = '\n';
    str[1] = '\0';
    return str;
}

static void key_assign(loader_t *ld, const char *table_section, void *base, int *set_on,
                       bool *failed, const char *name, const char *value)
{
    const config_key_t *k = key_find(table_section, name);
    if (!k) {
        add_error(ld, ld->lineno, "unknown key \"%s\" in [%s]", name, ld->section);
        return;
    }
    size_t i = (size_t)(k - keys);
    if (set_on[i]) {
        add_error(ld, ld->lineno, "%s.%s: duplicate key (first set on line %d)", ld->section,
                  name, set_on[i]);
        return;
    }
    set_on[i] = ld->lineno;
    char why[WHY_MAX];
    int rc = key_set(k, base, value, why, sizeof why);
    if (rc == -2)
        ld->out_of_memory = true;
    else if (rc != 0)
        add_error(ld, ld->lineno, "%s.%s: %s", ld->section, name, why);
    if (rc != 0 && failed)
        failed[i] = true;
}

/* libinih's handler. The section comes from line_read, which keeps it whole. */
static int on_key(void *user, const char *section, const char *name, const char *value)
{
    (void)section;
    loader_t *ld = user;
    switch (ld->in) {
    case IN_NONE:
        add_error(ld, ld->lineno, "key \"%s\" outside any [section]", name);
        break;
    case IN_SKIPPED:
        break;
    case IN_GLOBAL:
        key_assign(ld, ld->section, ld->config, ld->set_on, ld->failed, name, value);
        break;
    case IN_STAFF:
        key_assign(ld, STAFF_SECTION, &ld->config->staff[ld->staff_index],
                   ld->staff_set_on[ld->staff_index], NULL, name, value);
        break;
    }
    return 1;
}

static size_t key_index(const char *section, const char *key)
{
    const config_key_t *k = key_find(section, key);
    assert(k);
    return (size_t)(k - keys);
}

/* Required keys, worked-out defaults and rules that involve more than one key. */
static void staff_finish(loader_t *ld)
{
    aduan_config_t *cfg = ld->config;
    size_t notify = key_index(STAFF_SECTION, "notify");
    size_t user = key_index(STAFF_SECTION, "user");
    for (size_t s = 0; s < cfg->staff_count; s++) {
        aduan_staff_t *m = &cfg->staff[s];
        for (size_t i = 0; i < KEY_COUNT; i++) {
            if (strcmp(keys[i].section, STAFF_SECTION) == 0 && (keys[i].flags & KEY_REQUIRED)
                && !ld->staff_set_on[s][i])
                add_error(ld, m->line, "[staff.%s]: missing required key \"%s\"", m->id,
                          keys[i].key);
        }
        if (!m->notify) {
            m->notify = strdup(m->email ? "email" : "sms");
            if (!m->notify)
                ld->out_of_memory = true;
        } else {
            bool sms = !strcmp(m->notify, "sms") || !strcmp(m->notify, "both");
            bool email = !strcmp(m->notify, "email") || !strcmp(m->notify, "both");
            if ((sms && !m->phone) || (email && !m->email))
                add_error(ld, ld->staff_set_on[s][notify],
                          "staff.%s.notify: \"%s\" needs %s", m->id, m->notify,
                          sms && !m->phone ? "a phone number" : "an email address");
        }
        for (size_t t = 0; m->user && t < s; t++) {
            if (cfg->staff[t].user && strcmp(cfg->staff[t].user, m->user) == 0) {
                add_error(ld, ld->staff_set_on[s][user],
                          "staff.%s.user: \"%s\" is already the user of [staff.%s] (line %d)",
                          m->id, m->user, cfg->staff[t].id, ld->staff_set_on[t][user]);
                break;
            }
        }
    }
}

/* low <= high (or low < high when strict); reported on the later of the two lines. */
static void check_order(loader_t *ld, const char *section, const char *low, const char *high,
                        bool strict)
{
    size_t a = key_index(section, low), b = key_index(section, high);
    int64_t va = *(int64_t *)field_of(&keys[a], ld->config);
    int64_t vb = *(int64_t *)field_of(&keys[b], ld->config);
    if (strict ? va < vb : va <= vb)
        return;
    if ((!ld->set_on[a] && !ld->set_on[b]) || ld->failed[a] || ld->failed[b])
        return; /* defaults agree; a bad value has been reported already */
    int line = ld->set_on[a] > ld->set_on[b] ? ld->set_on[a] : ld->set_on[b];
    add_error(ld, line, "%s.%s (%lld) must be %s %s.%s (%lld)", section, low, (long long)va,
              strict ? "less than" : "at most", section, high, (long long)vb);
}

/*  dir is absolute and free of symbolic links, so the leading "." and ".." of rel can be
    taken off it by hand. Returns a new string or NULL. */
static char *path_resolve(const char *dir, const char *rel)
{
    size_t dlen = strlen(dir);
    while (dlen > 1 && dir[dlen - 1] == '/')
        dlen--;
    for (;;) {
        if (rel[0] == '.' && (rel[1] == '/' || rel[1] == '\0')) {
            rel += 1;
        } else if (rel[0] == '.' && rel[1] == '.' && (rel[2] == '/' || rel[2] == '\0')) {
            rel += 2;
            while (dlen > 1 && dir[dlen - 1] != '/')
                dlen--;
            if (dlen > 1)
                dlen--; /* the slash, unless it is the root */
        } else {
            break;
        }
        while (*rel == '/')
            rel++;
    }
    bool root = dlen == 1 && dir[0] == '/';
    size_t len = dlen + 1 + strlen(rel) + 1;
    char *out = malloc(len);
    if (!out)
        return NULL;
    if (*rel == '\0')
        snprintf(out, len, "%.*s", (int)dlen, dir);
    else
        snprintf(out, len, "%.*s%s%s", (int)dlen, dir, root ? "" : "/", rel);
    return out;
}

static void paths_resolve(loader_t *ld)
{
    char *real = realpath(ld->path, NULL);
    if (!real) {
        add_error(ld, 0, "cannot resolve: %s", strerror(errno));
        return;
    }
    char *slash = strrchr(real, '/');
    if (slash == real)
        slash[1] = '\0';
    else if (slash)
        *slash = '\0';
    for (size_t i = 0; i < KEY_COUNT; i++) {
        if (keys[i].type != KEY_PATH || strcmp(keys[i].section, STAFF_SECTION) == 0)
            continue;
        char **p = field_of(&keys[i], ld->config);
        if (!*p || (*p)[0] == '/' || (*p)[0] == '\0') /* empty: unset, not this folder */
            continue;
        char *abs = path_resolve(real, *p);
        if (!abs) {
            ld->out_of_memory = true;
            break;
        }
        free(*p);
        *p = abs;
    }
    free(real);
}

typedef struct {
    int max_line;
    bool multiline, inline_comments, bom, no_value, stop_on_first_error;
    char *inline_prefixes, *start_prefixes;
} inih_options_t;

static void inih_options_swap(inih_options_t *o)
{
    inih_options_t old = {
        .max_line = ini_max_line,
        .multiline = ini_allow_multiline,
        .inline_comments = ini_allow_inline_comments,
        .bom = ini_allow_bom,
        .no_value = ini_allow_no_value,
        .stop_on_first_error = ini_stop_on_first_error,
        .inline_prefixes = ini_inline_comment_prefixes,
        .start_prefixes = ini_start_comment_prefixes,
    };
    ini_max_line = o->max_line;
    ini_allow_multiline = o->multiline;
    ini_allow_inline_comments = o->inline_comments;
    ini_allow_bom = o->bom;
    ini_allow_no_value = o->no_value;
    ini_stop_on_first_error = o->stop_on_first_error;
    ini_inline_comment_prefixes = o->inline_prefixes;
    ini_start_comment_prefixes = o->start_prefixes;
    *o = old;
}

/* Runs libinih over the open file, then the checks that need the whole file. */
static void loader_parse(loader_t *ld)
{
    static char inline_prefixes[] = ";";
    static char start_prefixes[] = ";#";
    inih_options_t options = {
        .max_line = ADUAN_CONFIG_MAX_LINE + 3, /* + "\r\n" and the NUL */
        .multiline = false,                    /* an indented line is a line like others */
        .inline_comments = true,
        .bom = true,
        .no_value = false,
        .stop_on_first_error = false,
        .inline_prefixes = inline_prefixes,
        .start_prefixes = start_prefixes,
    };
    inih_options_swap(&options);
    int rc = ini_parse_stream(line_read, ld, on_key, ld);
    inih_options_swap(&options);

    if (rc == -2)
        ld->out_of_memory = true;
    else if (rc > 0 && rc != ld->first_syntax_error)
        add_error(ld, rc, "syntax error"); /* one line_classify did not foresee */
    if (ld->read_failed)
        return;
    staff_finish(ld);
    check_order(ld, "bus", "heartbeat_ms", "peer_timeout_ms", true);
    check_order(ld, "outbox", "retry_base_s", "retry_max_s", false);
    check_order(ld, "deadlines", "response_days", "resolution_days", false);
    paths_resolve(ld);
}

int aduan_config_load(const char *path, aduan_config_t **config_p, aduan_config_errors_t *errors)
{
    assert(path && config_p);
    *config_p = NULL;

    loader_t *ld = calloc(1, sizeof *ld);
    if (!ld)
        return -1;
    ld->path = path;
    ld->errors = errors;
    ld->config = aduan_config_defaults();
    if (!ld->config || !(ld->config->path = strdup(path)))
        ld->out_of_memory = true;
    else if (!(ld->file = fopen(path, "re")))
        add_error(ld, 0, "cannot open: %s", strerror(errno));
    else
        loader_parse(ld);

    if (ld->out_of_memory)
        add_error(ld, 0, "out of memory");
    int result = ld->error_count == 0 ? 0 : -1;
    if (result == 0)
        *config_p = ld->config;
    else
        aduan_config_destroy(&ld->config);
    if (ld->file)
        fclose(ld->file);
    free(ld->line);
    free(ld->staff_set_on);
    free(ld);
    return result;
}

aduan_config_t *aduan_config_defaults(void)
{
    aduan_config_t *cfg = calloc(1, sizeof *cfg);
    if (!cfg)
        return NULL;
    for (size_t i = 0; i < KEY_COUNT; i++) {
        char why[WHY_MAX];
        if (strcmp(keys[i].section, STAFF_SECTION) == 0 || !keys[i].def)
            continue;
        int rc = key_set(&keys[i], cfg, keys[i].def, why, sizeof why);
        assert(rc != -1 && "a default in the key table is not valid");
        if (rc != 0) {
            aduan_config_destroy(&cfg);
            return NULL;
        }
    }
    return cfg;
}

void aduan_config_destroy(aduan_config_t **config_p)
{
    if (!config_p || !*config_p)
        return;
    aduan_config_t *cfg = *config_p;
    for (size_t s = 0; s < cfg->staff_count; s++) {
        for (size_t i = 0; i < KEY_COUNT; i++)
            if (strcmp(keys[i].section, STAFF_SECTION) == 0)
                key_free(&keys[i], &cfg->staff[s]);
        free(cfg->staff[s].id);
    }
    free(cfg->staff);
    for (size_t i = 0; i < KEY_COUNT; i++)
        if (strcmp(keys[i].section, STAFF_SECTION) != 0)
            key_free(&keys[i], cfg);
    free(cfg->path);
    free(cfg);
    *config_p = NULL;
}

void aduan_config_errors_clear(aduan_config_errors_t *errors)
{
    if (!errors)
        return;
    for (size_t i = 0; i < errors->count; i++)
        free(errors->lines[i]);
    free(errors->lines);
    errors->lines = NULL;
    errors->count = 0;
}

const aduan_staff_t *aduan_config_staff_by_user(const aduan_config_t *config, const char *user)
{
    if (!config || !user)
        return NULL;
    for (size_t i = 0; i < config->staff_count; i++)
        if (config->staff[i].user && strcmp(config->staff[i].user, user) == 0)
            return &config->staff[i];
    return NULL;
}

const char *aduan_role_name(aduan_role_t role)
{
    int i = (int)role - ADUAN_ROLE_HELPDESK;
    if (i < 0 || i >= (int)(sizeof role_words / sizeof role_words[0]) - 1)
        return "unknown";
    return role_words[i];
}

/* ---- key reference ------------------------------------------------------------------- */

/* One Markdown table cell; a '|' in the text would end it. */
static void cell(FILE *out, const char *text, bool code)
{
    fputs(code ? " `" : " ", out);
    for (; *text; text++) {
        if (*text == '|')
            fputc('\\', out);
        fputc(*text, out);
    }
    fputs(code ? "` |" : " |", out);
}

void aduan_config_print_keys(FILE *out)
{
    fputs("| section | key | type | bounds | default | meaning |\n", out);
    fputs("|---|---|---|---|---|---|\n", out);
    for (size_t i = 0; i < KEY_COUNT; i++) {
        const config_key_t *k = &keys[i];
        char bounds[256] = "";
        if (k->type == KEY_INT || k->type == KEY_DURATION)
            snprintf(bounds, sizeof bounds, "%lld..%lld%s", (long long)k->min,
                     (long long)k->max, unit_name(k->unit));
        else if (k->type == KEY_ENUM)
            words_join(k->words, bounds, sizeof bounds);
        else if (k->type == KEY_ENDPOINT)
            snprintf(bounds, sizeof bounds, "inproc://, ipc://, tcp://");
        else if (k->bounds_doc)
            snprintf(bounds, sizeof bounds, "%s", k->bounds_doc);

        fputc('|', out);
        bool staff = strcmp(k->section, STAFF_SECTION) == 0;
        cell(out, staff ? "staff.<id>" : k->section, staff); /* <id> is not an HTML tag */
        cell(out, k->key, false);
        cell(out, type_names[k->type], false);
        cell(out, bounds, false);
        if (k->def_doc)
            cell(out, k->def_doc, false);
        else if (k->def && *k->def)
            cell(out, k->def, true);
        else
            cell(out, k->def ? "(empty)" : (k->flags & KEY_REQUIRED) ? "(required)" : "(unset)",
                 false);
        cell(out, k->help, false);
        fputc('\n', out);
    }
}
