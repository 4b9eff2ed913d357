/*  config.h - the one configuration file (INI, read with libinih).

    Every key is declared once, in the table in core/common/config.c, with its type, bounds,
    default and a line of help; README.md's key reference is that table. Unknown sections
    and keys, bad values and values out of bounds are errors that name file:line.
    Staff members are sections of their own: [staff.budi] name=, role=, phone=, ...
    Relative paths (core.state_dir, templates.dir) are resolved against the folder of the
    configuration file. aduan_config_load sets libinih's global options for the parse and
    restores them, so call it at start-up, from one thread.
*/
#ifndef ADUAN_CONFIG_H
#define ADUAN_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Longer lines are an error (libinih would split them). */
#define ADUAN_CONFIG_MAX_LINE 1024

typedef enum {
    ADUAN_ROLE_HELPDESK = 1, /* loket pelayanan */
    ADUAN_ROLE_BACKOFFICE,   /* Kabid Perizinan */
    ADUAN_ROLE_HEAD,         /* Kepala Dinas */
} aduan_role_t;

typedef struct {
    char *id;      /* the part after "staff." in the section name */
    char *name;
    aduan_role_t role;
    char *phone;   /* E.164 */
    char *email;
    char *user;    /* OS user that aduanctl maps to this member */
    char *notify;  /* "sms", "email", "both" or "none" */
    int line;      /* where the section starts, for later errors */
} aduan_staff_t;

typedef struct {
    bool enabled;
    char *account; /* the account name in the registry (modem id, mailbox) */
} aduan_channel_config_t;

typedef struct aduan_config {
    char *path;
    struct {
        char *state_dir;       /* registry.db, attachments/, lock */
        char *ticket_prefix;   /* "ADU" */
        char *log_level;       /* debug, info, warn, error */
        int64_t batch_max;     /* intakes committed in one transaction at most */
        char *office_name;     /* for letters and reports */
        char *act_as_users;    /* OS users who may act for any staff member (--as) */
    } core;
    struct {
        char *intake;          /* inproc://, ipc:// or tcp:// */
        char *events;
        char *control;
        int64_t max_message_bytes;
        int64_t heartbeat_ms;
        int64_t peer_timeout_ms; /* an adapter silent this long is gone */
        char *curve_cert;        /* tcp:// only: this component's certificate (secret) */
        char *curve_server_cert; /* the core's public certificate (adapters, aduanctl) */
        char *curve_allow_dir;   /* the core: public certificates of the allowed peers */
    } bus;
    struct {
        int64_t retry_base_s;   /* first retry after this, doubling each time */
        int64_t retry_max_s;    /* ... up to this */
        int64_t max_attempts;   /* after the last, the row is failed and staff are told */
        int64_t deliver_timeout_s; /* no RESULT this long: the attempt counts as failed */
        int64_t in_flight;      /* DELIVERs outstanding per adapter */
        int64_t auto_replies_per_day; /* per sender address */
    } outbox;
    struct {
        char *dir;             /* folder with id/ and en/ */
        char *language;        /* "id" or "en" */
    } templates;
    struct {
        int64_t response_days;   /* written response, UU 25/2009: 14 */
        int64_t resolution_days; /* 60 */
        bool working_days;       /* count working days instead of calendar days */
        char *holidays;          /* comma-separated YYYY-MM-DD */
        /* the days each step of the SOP has, counted like response_days */
        int64_t verify_days, review_days, meeting_days, minutes_days, respond_days,
            confirm_days, archive_days;
        int64_t reminder_days;   /* a reminder this many days before each deadline */
        bool monthly_summary;    /* the month's summary to the head on the first */
    } deadlines;
    struct {
        bool enabled;
        char *account;            /* the box's name (its location) in the registry */
        char *scan_dir;           /* the scanner drops PNG, JPEG, TIFF, PDF here */
        char *processed_dir;      /* registered files are moved here after the ACK */
        char *quarantine_dir;     /* unreadable files, each with <name>.reason.txt */
        char *outgoing_dir;       /* letters (PDF) for complainants without a contact */
        char *work_dir;           /* the OCR helper's page images; default in state_dir */
        char *languages;          /* Tesseract's: "ind+eng" */
        int64_t min_confidence;   /* below: flagged for the help desk to type in */
        int64_t max_pixels;       /* a larger page is refused before it is decoded */
        int64_t max_pages;
        int64_t max_file_bytes;
        int64_t pdf_dpi;          /* PDF pages are rasterised at this resolution */
        int64_t stable_ms;        /* a file is taken once its size held this long */
        int64_t ocr_timeout_s;    /* a file the OCR takes longer on is quarantined */
        char *letter_address;     /* letterhead: the office's address line */
        char *letter_signer;      /* who signs letters: "Kepala Dinas" */
    } box;
    struct {
        bool enabled;
        char *account;            /* the line's name in the registry */
        char *cdr_file;           /* Asterisk Master.csv followed; empty: none */
        char *position_file;      /* how far the CDR files were read; default in state_dir */
        bool modem_calls;         /* also follow the calls the SMS modem saw (calls.csv) */
        bool invite_missed;       /* a missed call from a mobile gets an SMS invitation */
        char *mobile_prefixes;    /* E.164 prefixes of mobiles: "+628" */
    } phone;
    struct {
        bool enabled;
        char *account;            /* the modem's name in the registry and dedupe keys */
        char *gammurc;            /* Gammu configuration naming the modem */
        int64_t gammu_section;    /* [gammu] = 0, [gammu1] = 1, ... */
        int64_t poll_ms;          /* how often the modem's memories are read */
        int64_t reconnect_max_s;  /* backoff ceiling while the modem is gone */
        int64_t multipart_wait_s; /* how long missing parts are waited for */
        int64_t followup_window_s; /* same number within this of an open ticket: follow-up */
        char *status_keywords;    /* comma-separated, case-insensitive: "CEK,STATUS" */
        int64_t send_per_minute;  /* sending rate */
        bool delivery_reports;    /* ask for them; they mark the outbox row delivered */
        int64_t spill_percent;    /* core away and memory this full: spill to the queue */
        char *spill_dir;          /* the durable spill queue; default <state_dir>/sms-spill */
    } sms;
    struct {
        bool enabled;
        char *account;            /* the mailbox's name in the registry */
        char *address;            /* our address: From of replies, never answered */
        char *display_name;       /* From's display name */
        char *imap_host;
        int64_t imap_port;
        char *imap_tls;           /* implicit, starttls, none (loopback only) */
        char *imap_user;
        char *imap_password_file; /* mode 0600 or tighter */
        char *mailbox;            /* INBOX */
        char *processed_folder;   /* where registered mail is moved */
        char *ca_file;            /* verify servers against this CA; empty: system CAs */
        bool idle;                /* use IDLE when the server has it */
        int64_t poll_s;           /* polling interval without IDLE; IDLE's longest wait */
        int64_t fetch_batch;      /* messages per UID FETCH */
        int64_t max_message_bytes; /* larger messages: kept as raw only, no parse */
        int64_t max_attachment_bytes;
        char *smtp_host;
        int64_t smtp_port;
        char *smtp_tls;           /* starttls, implicit, none (loopback only) */
        char *smtp_user;          /* empty: no AUTH (a loopback relay) */
        char *smtp_password_file;
        int64_t smtp_timeout_s;
    } email;
    aduan_staff_t *staff;
    size_t staff_count;
} aduan_config_t;

typedef struct {
    char **lines; /* "file:line: message" */
    size_t count;
} aduan_config_errors_t;

/*  Reads and checks the file. On success returns 0 and *config_p (caller owns). On error
    returns -1, *config_p NULL, and every error found appended to errors (caller frees with
    aduan_config_errors_clear). errors may be NULL. */
int aduan_config_load(const char *path, aduan_config_t **config_p, aduan_config_errors_t *errors);

/* A configuration with every default (for tests and tools); caller owns. */
aduan_config_t *aduan_config_defaults(void);

void aduan_config_destroy(aduan_config_t **config_p);
void aduan_config_errors_clear(aduan_config_errors_t *errors);

/* Returns the staff member mapped to an OS user, or NULL. Borrowed. */
const aduan_staff_t *aduan_config_staff_by_user(const aduan_config_t *config, const char *user);
const char *aduan_role_name(aduan_role_t role);

/*  Writes the key reference (section, key, type, bounds, default, help) as Markdown, for
    README.md and `aduan-gatewayd --keys`. */
void aduan_config_print_keys(FILE *out);

#endif
