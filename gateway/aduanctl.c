/*  aduanctl - the staff command line of Aduan.

        aduanctl [-c FILE] [--json] [--timeout MS] COMMAND [ARGS]

    Every command but `watch` is one REQUEST to the core on bus.control (a DEALER socket)
    and one REPLY carrying the request's id; the command's arguments travel as a JSON
    object, the answer comes back as JSON. With --json that answer is printed as it came;
    without, as tables for a person. `watch` subscribes to bus.events and prints one line
    per EVENT.

    Reading order: the command table (commands[], like Redis's) and its options, the
    command line, the text helpers (UTF-8, widths, control characters), the tables, one
    printer per command, the request to the core, watch, main.

    Exit status: 0 done; 1 the core refused the request (REPLY "refused" or "error"), or
    `audit verify` found the chain broken; 2 a usage error, a bad configuration, or no
    answer from the core.

    What the registry holds was written by strangers: every control character in it
    (C0, DEL, C1, and the bidirectional overrides that reorder a line) is printed as a
    space, so nothing a citizen typed can drive the terminal. Times are shown in local
    time for people; --json keeps the core's UTC.
*/
#include <assert.h>
#include <czmq.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "aduan/bus.h"
#include "aduan/clock.h"
#include "aduan/config.h"
#include "aduan/curve.h"
#include "aduan/log.h"

#define PROGRAM "aduanctl"
#define DEFAULT_CONFIG "/etc/aduan/aduan.conf"
#define DEFAULT_TIMEOUT_MS 5000
#define MAX_TIMEOUT_MS (24LL * 3600 * 1000)
/* A REPLY body may be up to 64 MiB (bus.c); the frames around it are small. */
#define REPLY_MAX ((size_t)65 * 1024 * 1024)
/* When stdout is not a terminal and $COLUMNS says nothing, tables fit this width. */
#define DEFAULT_LINE_WIDTH 120

enum {
    CTL_OK = 0,      /* done */
    CTL_REFUSED = 1, /* the core said no, or could not do it */
    CTL_FAIL = 2,    /* usage, configuration, or no answer */
};

/* ---- what one run was asked to do ------------------------------------------------------ */

typedef struct {
    const char *config_path;
    bool json;
    int64_t timeout_ms; /* -1: not given */
    int64_t limit;      /* -1: not given, for these three */
    int64_t offset;
    int64_t count;
    const char *channel; /* NULL: not given, for these two */
    const char *status;
    char *operand; /* the ticket, the query (words joined), or a command name; owned */
    /* the SOP's steps and reports; NULL / false: not given */
    const char *as, *category, *reason, *into, *note, *at, *attendees, *file;
    const char *from, *to, *format, *month, *output;
    int64_t document; /* document TICKET N: N; 0 when not given */
    bool confidential;
    /* the telephone channel: call --from --name --text --record, calls --todo */
    const char *caller_name, *text, *record;
    bool todo;
} invocation_t;

/* Options a command may take, as bits of command_t.options. */
enum {
    OPT_LIMIT = 1 << 0,
    OPT_OFFSET = 1 << 1,
    OPT_CHANNEL = 1 << 2,
    OPT_STATUS = 1 << 3,
    OPT_COUNT = 1 << 4,
    OPT_AS = 1 << 5,
    OPT_CATEGORY = 1 << 6,
    OPT_CONFIDENTIAL = 1 << 7,
    OPT_REASON = 1 << 8,
    OPT_INTO = 1 << 9,
    OPT_NOTE = 1 << 10,
    OPT_AT = 1 << 11,
    OPT_ATTENDEES = 1 << 12,
    OPT_FILE = 1 << 13,
    OPT_PERIOD = 1 << 14, /* --from --to --month */
    OPT_FORMAT = 1 << 15,
    OPT_OUTPUT = 1 << 16,
    OPT_CALLER = 1 << 17, /* --from NUMBER --name --text --record */
    OPT_TODO = 1 << 18,
};

/* What follows a command's name, besides options. */
typedef enum {
    OPERANDS_NONE,
    OPERANDS_TICKET,  /* exactly one */
    OPERANDS_WORDS,   /* one or more, joined with spaces */
    OPERANDS_VERIFY,  /* the word "verify" (audit verify) */
    OPERANDS_COMMAND, /* at most one command name (help) */
    OPERANDS_REPORT,  /* agenda, responses or summary */
    OPERANDS_DOCUMENT, /* a ticket and the number of one of its documents */
} operands_t;

typedef struct command command_t;
struct command {
    const char *name;
    const char *request; /* the command sent to the core; NULL for those run here */
    unsigned options;    /* OPT_* */
    operands_t operands;
    const char *synopsis; /* after "aduanctl " */
    const char *summary;  /* one line, for the list of commands */
    const char *help;     /* what it does, for `aduanctl COMMAND --help` */
    /* Prints a successful answer for a person; returns the exit status. */
    int (*print)(const json_t *body);
    /* When set, the exit status an answer earns, with --json too (audit verify: a broken
       chain is 1); otherwise a successful answer is 0. */
    int (*judge)(const json_t *body);
    /* Runs a command that is not a request (watch, help); returns the exit status.
       config is NULL for commands with .needs_config false. */
    int (*run)(const command_t *cmd, const invocation_t *inv, const aduan_config_t *config);
    bool needs_config;
    const char *timeout_help; /* what --timeout means here, when not the wait for a reply */
};

static int print_list(const json_t *body);
static int print_show(const json_t *body);
static int print_search(const json_t *body);
static int print_stats(const json_t *body);
static int print_quarantine(const json_t *body);
static int print_audit_verify(const json_t *body);
static int judge_audit(const json_t *body);
static int run_watch(const command_t *cmd, const invocation_t *inv, const aduan_config_t *config);
static int run_keygen(const command_t *cmd, const invocation_t *inv, const aduan_config_t *config);
static int run_help(const command_t *cmd, const invocation_t *inv, const aduan_config_t *config);
static int print_step(const json_t *body);
static int print_overdue(const json_t *body);
static int run_report(const command_t *cmd, const invocation_t *inv, const aduan_config_t *config);
static int run_document(const command_t *cmd, const invocation_t *inv,
                        const aduan_config_t *config);
static int print_call(const json_t *body);
static int print_calls(const json_t *body);
static int print_called(const json_t *body);

/* The steps of the SOP: one request each, as the staff member the OS user maps to. */
#define STEP(cmd, opts, syn, sum, text)                                                           \
    {.name = cmd, .request = cmd, .options = OPT_AS | (opts), .operands = OPERANDS_TICKET,       \
     .synopsis = syn, .summary = sum, .help = text "\n\n" STEP_HELP, .print = print_step,        \
     .needs_config = true}
#define STEP_HELP                                                                                 \
    "You act as the staff member aduan.conf maps your OS user to ([staff.ID] user =);\n"          \
    "root may act for another with --as ID. The core refuses a step of another role or\n"        \
    "out of order, with the reason (exit 1); every step is written to the audit trail\n"         \
    "and the role that acts next is told."

static const command_t commands[] = {
    {
        .name = "list",
        .request = "list",
        .options = OPT_LIMIT | OPT_OFFSET | OPT_CHANNEL | OPT_STATUS,
        .operands = OPERANDS_NONE,
        .synopsis = "list [--limit N] [--offset N] [--channel C] [--status S]",
        .summary = "list complaints, newest first",
        .help = "Lists complaints, newest first: ticket, when it came in, channel, status,\n"
                "sender and subject. --offset skips the newest N, to page through.",
        .print = print_list,
        .needs_config = true,
    },
    {
        .name = "show",
        .request = "show",
        .operands = OPERANDS_TICKET,
        .synopsis = "show TICKET",
        .summary = "show one complaint: thread, attachments, outbox, audit trail",
        .help = "Shows one complaint (TICKET, e.g. ADU-2026-00042; case does not matter):\n"
                "its record, then every message of its thread, its attachments, what the\n"
                "outbox sent or still holds for it, and its audit trail.",
        .print = print_show,
        .needs_config = true,
    },
    {
        .name = "document",
        .request = "document",
        .options = OPT_OUTPUT,
        .operands = OPERANDS_DOCUMENT,
        .synopsis = "document TICKET N [--output FILE]",
        .summary = "fetch a complaint's document: the minutes, a response",
        .help = "Writes document N of TICKET (1 is the first, as show lists them under\n"
                "Documents: the minutes of the meeting, the written responses) to --output,\n"
                "or to stdout (a PDF only when stdout is not a terminal). With --json, the\n"
                "document's record with its bytes in base64.",
        .run = run_document,
        .needs_config = true,
    },
    {
        .name = "search",
        .request = "search",
        .options = OPT_LIMIT,
        .operands = OPERANDS_WORDS,
        .synopsis = "search [--limit N] WORD...",
        .summary = "search the text of every message",
        .help = "Searches the subject and text of every message, incoming and outgoing.\n"
                "All WORDs must match; a word ending in '*' matches as a prefix\n"
                "(perizin*). Put \"--\" before a word that starts with '-'.",
        .print = print_search,
        .needs_config = true,
    },
    {
        .name = "stats",
        .request = "stats",
        .synopsis = "stats",
        .summary = "counts, outbox, connected adapters, the core's counters",
        .help = "Shows the registry's totals (with how many messages the search index has\n"
                "still to take: it is filled just after each acknowledgement), complaints\n"
                "by status and by channel, the outbox per channel and status, the adapters\n"
                "connected now, the core's counters since it started, and the last error\n"
                "it met.",
        .print = print_stats,
        .needs_config = true,
    },
    {
        .name = "quarantine",
        .request = "quarantine",
        .options = OPT_LIMIT,
        .synopsis = "quarantine [--limit N]",
        .summary = "items kept without a ticket because they could not be read",
        .help = "Lists the quarantine, newest first: items a channel or the core could not\n"
                "read, kept byte for byte (raw_sha256 in --json) with the reason.",
        .print = print_quarantine,
        .needs_config = true,
    },
    {
        .name = "audit",
        .request = "audit-verify",
        .operands = OPERANDS_VERIFY,
        .synopsis = "audit verify",
        .summary = "check the hash chain of the audit trail",
        .help = "Checks that no row of the audit trail was changed or removed (each row\n"
                "carries the hash of the one before). Exits 1 when the chain is broken,\n"
                "naming the first bad row.",
        .print = print_audit_verify,
        .judge = judge_audit,
        .needs_config = true,
    },
    STEP("verify", OPT_CATEGORY | OPT_CONFIDENTIAL,
         "verify TICKET [--category C] [--confidential] [--as ID]",
         "help desk: confirm a recorded complaint; it goes to the back office",
         "Step 2 of the SOP (help desk): the record of TICKET is checked and right. It goes\n"
         "to review by the back office. --category files it; --confidential hides the\n"
         "complainant from registers and from notices to other roles."),
    STEP("reject", OPT_REASON, "reject TICKET --reason R [--as ID]",
         "help desk or back office: reject a complaint, with the reason",
         "Rejects TICKET (spam, not a complaint, ...) while it is recorded (help desk) or\n"
         "under review (back office). --reason is required."),
    STEP("merge", OPT_INTO, "merge TICKET --into OTHER [--as ID]",
         "help desk or back office: a duplicate joins another ticket",
         "Closes TICKET as a duplicate of OTHER (recorded: help desk; under review: back\n"
         "office). Both audit trails say so."),
    STEP("review", OPT_NOTE, "review TICKET --note N [--as ID]",
         "back office: write the review of a verified complaint",
         "Step 3 of the SOP (back office): the review of TICKET, as a note. It must come\n"
         "before forward."),
    STEP("forward", 0, "forward TICKET [--as ID]",
         "back office: pass a reviewed complaint to the head of office",
         "Step 3 of the SOP (back office): the reviewed TICKET goes to the head of office,\n"
         "who is told."),
    STEP("meeting", OPT_AT | OPT_ATTENDEES,
         "meeting TICKET --at DATE --attendees NAMES [--as ID]",
         "head: hold the meeting on a forwarded complaint",
         "Step 4 of the SOP (head of office): the meeting on TICKET, held --at YYYY-MM-DD\n"
         "or \"YYYY-MM-DD HH:MM\", with --attendees. The back office is told to write the\n"
         "minutes."),
    STEP("minutes", OPT_FILE, "minutes TICKET --file F [--as ID]",
         "back office: attach the minutes (berita acara) of the meeting",
         "Step 5 of the SOP (back office): the minutes of the meeting on TICKET, a text\n"
         "(UTF-8) or PDF file of at most 700 KiB, kept with the complaint. The help desk is\n"
         "told to send the response."),
    STEP("respond", OPT_FILE, "respond TICKET --file F [--as ID]",
         "help desk: send the written response to the complainant",
         "Step 6 of the SOP (help desk): the written response (a UTF-8 text file) goes to\n"
         "the complainant through the channel the complaint came on, and into the Buku\n"
         "Agenda Tanggapan Pengaduan."),
    STEP("delivered", OPT_NOTE, "delivered TICKET [--note N] [--as ID]",
         "help desk: the complainant has the response",
         "Step 7 of the SOP (help desk), where the channel does not confirm delivery itself\n"
         "(an SMS delivery report or an SMTP acceptance does it automatically)."),
    STEP("archive", 0, "archive TICKET [--as ID]", "help desk: archive a delivered complaint",
         "Step 8 of the SOP (help desk): the file of TICKET is closed."),
    STEP("transcribe", OPT_FILE, "transcribe TICKET --file F [--as ID]",
         "help desk: type in a paper form the OCR could not read",
         "For a suggestion-box form read with too little confidence (box.min_confidence;\n"
         "show says incomplete: 1): the text typed from the paper (a UTF-8 file) becomes\n"
         "the complaint's text and clears the flag. The OCR's reading stays in the thread.\n"
         "Only while the complaint is recorded, before verify."),
    {
        .name = "call",
        .request = "call",
        .options = OPT_AS | OPT_CALLER | OPT_FILE,
        .synopsis = "call --from NUMBER [--name NAME] --text TEXT|--file F [--record ID] "
                    "[--as ID]",
        .summary = "help desk: record what a caller said; it becomes a complaint",
        .help = "Step 2 of the SOP for a telephone call: what the caller said (--text, or a\n"
                "UTF-8 --file) becomes a complaint with a ticket, from NUMBER (0812...,\n"
                "+62...). --record names the call in the call log (aduanctl calls), so that\n"
                "the log shows its ticket; the same --record twice is the same ticket. The\n"
                "caller hears back by SMS on a mobile; for a landline the help desk gets a\n"
                "call-back task (aduanctl calls --todo) when the response is ready.",
        .print = print_call,
        .needs_config = true,
    },
    {
        .name = "calls",
        .request = "calls",
        .options = OPT_LIMIT | OPT_STATUS | OPT_PERIOD | OPT_TODO,
        .synopsis = "calls [--status answered|missed] [--from D [--to D] | --month YYYY-MM] "
                    "[--limit N] | calls --todo",
        .summary = "the call log, or with --todo the call-backs the help desk owes",
        .help = "Lists the telephone calls, newest first: when, the caller, answered or\n"
                "missed (busy and failed count as missed), how long, the record id, and the\n"
                "ticket when a note was taken (aduanctl call --record). --from alone is\n"
                "that day. --todo lists the call-back tasks not yet done: responses to\n"
                "callers without a mobile, to be read out on the phone (then: called TASK).",
        .print = print_calls,
        .needs_config = true,
    },
    {
        .name = "called",
        .request = "called",
        .options = OPT_AS | OPT_NOTE,
        .operands = OPERANDS_TICKET,
        .synopsis = "called TASK [--note N] [--as ID]",
        .summary = "help desk: a call-back task is done",
        .help = "The caller of call-back TASK (aduanctl calls --todo) was called and told;\n"
                "for a response that is its delivery (SOP step 7).",
        .print = print_called,
        .needs_config = true,
    },
    {
        .name = "overdue",
        .request = "overdue",
        .synopsis = "overdue",
        .summary = "open complaints past a deadline",
        .help = "Lists the open complaints past a deadline: the written response (14 days\n"
                "by default), the resolution, or the step their state waits for; with the\n"
                "role that must act.",
        .print = print_overdue,
        .needs_config = true,
    },
    {
        .name = "report",
        .request = "report",
        .options = OPT_PERIOD | OPT_FORMAT | OPT_OUTPUT,
        .operands = OPERANDS_REPORT,
        .synopsis = "report agenda|responses|summary [--from D --to D | --month YYYY-MM] "
                    "[--format csv|pdf] [--output FILE]",
        .summary = "the registers (agenda, responses) and the monthly summary",
        .help = "agenda: Buku Agenda Permohonan, every complaint received from --from to --to\n"
                "(YYYY-MM-DD, both included). responses: Buku Agenda Tanggapan Pengaduan,\n"
                "every written response sent then. summary: the month --month YYYY-MM, by\n"
                "channel and state, overdue, median days to a response.\n"
                "Without --format, a table; csv and pdf (A4) go to --output or stdout.",
        .run = run_report,
        .needs_config = true,
    },
    {
        .name = "keygen",
        .options = OPT_OUTPUT,
        .operands = OPERANDS_WORDS,
        .synopsis = "keygen NAME [--output DIR]",
        .summary = "make a CURVE key pair for the bus between hosts",
        .help = "Writes DIR/NAME.key (the public certificate, to copy) and\n"
                "DIR/NAME.key_secret (mode 600, stays on this host); DIR is the current\n"
                "folder without --output. The core's pair: bus.curve_cert on the core's\n"
                "host, NAME.key as bus.curve_server_cert on the others. An adapter's\n"
                "pair: bus.curve_cert on its host, NAME.key into the core's\n"
                "bus.curve_allow_dir. An existing pair is never overwritten.",
        .run = run_keygen,
    },
    {
        .name = "watch",
        .options = OPT_COUNT,
        .synopsis = "watch [--count N] [--timeout MS]",
        .summary = "print events as they happen",
        .help = "Prints one line per event published by the core (bus.events): time,\n"
                "topic, ticket and detail; with --json one JSON object per line. Runs\n"
                "until interrupted (SIGINT, SIGTERM), after N events with --count, or\n"
                "after MS milliseconds without an event with --timeout (exit 0).\n"
                "Events published before watch has connected are not seen.",
        .run = run_watch,
        .needs_config = true,
        .timeout_help = "stop after MS milliseconds without an event (default: never)",
    },
    {
        .name = "help",
        .operands = OPERANDS_COMMAND,
        .synopsis = "help [COMMAND]",
        .summary = "show the help of aduanctl or of a command",
        .help = "Shows the help of COMMAND, or of aduanctl.",
        .run = run_help,
    },
};
#define COMMAND_COUNT (sizeof commands / sizeof commands[0])

/* ---- options --------------------------------------------------------------------------- */

/* getopt values of the options without a short form */
enum {
    KEY_JSON = 256,
    KEY_TIMEOUT,
    KEY_LIMIT,
    KEY_OFFSET,
    KEY_CHANNEL,
    KEY_STATUS,
    KEY_COUNT,
    KEY_AS,
    KEY_CATEGORY,
    KEY_CONFIDENTIAL,
    KEY_REASON,
    KEY_INTO,
    KEY_NOTE,
    KEY_AT,
    KEY_ATTENDEES,
    KEY_FILE,
    KEY_FROM,
    KEY_TO,
    KEY_MONTH,
    KEY_FORMAT,
    KEY_OUTPUT,
    KEY_NAME,
    KEY_TEXT,
    KEY_RECORD,
    KEY_TODO,
};

typedef struct {
    unsigned bit; /* OPT_*; 0 for the options every command takes */
    struct option opt;
    const char *arg; /* shown in the help: "--limit N" */
    const char *help;
} option_t;

static const option_t options[] = {
    {.bit = OPT_LIMIT,
     .opt = {"limit", required_argument, NULL, KEY_LIMIT},
     .arg = "N",
     .help = "show at most N rows (default 50)"},
    {.bit = OPT_OFFSET,
     .opt = {"offset", required_argument, NULL, KEY_OFFSET},
     .arg = "N",
     .help = "skip the newest N complaints"},
    {.bit = OPT_CHANNEL,
     .opt = {"channel", required_argument, NULL, KEY_CHANNEL},
     .arg = "C",
     .help = "only complaints from channel C (sms, email, phone, box)"},
    {.bit = OPT_STATUS,
     .opt = {"status", required_argument, NULL, KEY_STATUS},
     .arg = "S",
     .help = "only complaints in status S"},
    {.bit = OPT_COUNT,
     .opt = {"count", required_argument, NULL, KEY_COUNT},
     .arg = "N",
     .help = "stop after N events"},
    {.bit = OPT_AS,
     .opt = {"as", required_argument, NULL, KEY_AS},
     .arg = "ID",
     .help = "act as staff member ID (root only)"},
    {.bit = OPT_CATEGORY,
     .opt = {"category", required_argument, NULL, KEY_CATEGORY},
     .arg = "C",
     .help = "file the complaint under category C"},
    {.bit = OPT_CONFIDENTIAL,
     .opt = {"confidential", no_argument, NULL, KEY_CONFIDENTIAL},
     .help = "keep the complainant's identity confidential"},
    {.bit = OPT_REASON,
     .opt = {"reason", required_argument, NULL, KEY_REASON},
     .arg = "R",
     .help = "why (required)"},
    {.bit = OPT_INTO,
     .opt = {"into", required_argument, NULL, KEY_INTO},
     .arg = "OTHER",
     .help = "the ticket it duplicates (required)"},
    {.bit = OPT_NOTE,
     .opt = {"note", required_argument, NULL, KEY_NOTE},
     .arg = "N",
     .help = "a note for the record"},
    {.bit = OPT_AT,
     .opt = {"at", required_argument, NULL, KEY_AT},
     .arg = "DATE",
     .help = "when: YYYY-MM-DD or \"YYYY-MM-DD HH:MM\""},
    {.bit = OPT_ATTENDEES,
     .opt = {"attendees", required_argument, NULL, KEY_ATTENDEES},
     .arg = "NAMES",
     .help = "who took part"},
    {.bit = OPT_FILE,
     .opt = {"file", required_argument, NULL, KEY_FILE},
     .arg = "F",
     .help = "the document (UTF-8 text or PDF)"},
    {.bit = OPT_PERIOD,
     .opt = {"from", required_argument, NULL, KEY_FROM},
     .arg = "D",
     .help = "first day, YYYY-MM-DD"},
    {.bit = OPT_PERIOD,
     .opt = {"to", required_argument, NULL, KEY_TO},
     .arg = "D",
     .help = "last day, YYYY-MM-DD"},
    {.bit = OPT_PERIOD,
     .opt = {"month", required_argument, NULL, KEY_MONTH},
     .arg = "YYYY-MM",
     .help = "the month (summary)"},
    {.bit = OPT_FORMAT,
     .opt = {"format", required_argument, NULL, KEY_FORMAT},
     .arg = "F",
     .help = "csv or pdf (default: a table)"},
    {.bit = OPT_OUTPUT,
     .opt = {"output", required_argument, NULL, KEY_OUTPUT},
     .arg = "FILE",
     .help = "write the CSV or PDF to FILE"},
    {.bit = OPT_CALLER,
     .opt = {"from", required_argument, NULL, KEY_FROM},
     .arg = "NUMBER",
     .help = "the caller's number (0812..., +62...)"},
    {.bit = OPT_CALLER,
     .opt = {"name", required_argument, NULL, KEY_NAME},
     .arg = "NAME",
     .help = "the caller's name, as they gave it"},
    {.bit = OPT_CALLER,
     .opt = {"text", required_argument, NULL, KEY_TEXT},
     .arg = "TEXT",
     .help = "what the caller said (or --file)"},
    {.bit = OPT_CALLER,
     .opt = {"record", required_argument, NULL, KEY_RECORD},
     .arg = "ID",
     .help = "the call's record id in the call log"},
    {.bit = OPT_TODO,
     .opt = {"todo", no_argument, NULL, KEY_TODO},
     .help = "the call-back tasks not yet done"},
    {.opt = {"config", required_argument, NULL, 'c'},
     .arg = "FILE",
     .help = "configuration file (default: $ADUAN_CONFIG, else " DEFAULT_CONFIG ")"},
    {.opt = {"json", no_argument, NULL, KEY_JSON}, .help = "print JSON instead of tables"},
    {.opt = {"timeout", required_argument, NULL, KEY_TIMEOUT},
     .arg = "MS",
     .help = "wait at most MS milliseconds for the core (default 5000)"},
    {.opt = {"help", no_argument, NULL, 'h'}, .help = "show this help"},
};
#define OPTION_COUNT (sizeof options / sizeof options[0])

static void *xmalloc(size_t size)
{
    void *p = malloc(size ? size : 1);
    if (!p) {
        fprintf(stderr, PROGRAM ": out of memory\n");
        exit(CTL_FAIL);
    }
    return p;
}

static void print_option_help(FILE *out, const command_t *cmd)
{
    unsigned bits = cmd ? cmd->options : 0;
    fprintf(out, "\nOptions:\n");
    for (size_t i = 0; i < OPTION_COUNT; i++) {
        const option_t *o = &options[i];
        if (o->bit && !(o->bit & bits))
            continue;
        char flag[48], short_form[8] = "    ";
        if (o->opt.val < 256)
            snprintf(short_form, sizeof short_form, "-%c, ", o->opt.val);
        snprintf(flag, sizeof flag, "%s--%s%s%s", short_form, o->opt.name, o->arg ? " " : "",
                 o->arg ? o->arg : "");
        bool own = cmd && cmd->timeout_help && o->opt.val == KEY_TIMEOUT;
        fprintf(out, "  %-20s %s\n", flag, own ? cmd->timeout_help : o->help);
    }
}

static void print_usage(FILE *out)
{
    fprintf(out, "Usage: " PROGRAM " [-c FILE] [--json] [--timeout MS] COMMAND [ARGS]\n\n"
                 "Asks the Aduan core about complaints, over its control endpoint.\n\n"
                 "Commands:\n");
    for (size_t i = 0; i < COMMAND_COUNT; i++) {
        /* the synopsis without its options: "search WORD..." */
        char name[64];
        size_t n = 0;
        for (const char *p = commands[i].synopsis; *p && n + 1 < sizeof name; p++) {
            if (p[0] == ' ' && p[1] == '[' && p[2] == '-') {
                p = strchr(p, ']');
                if (!p)
                    break;
                continue;
            }
            name[n++] = *p;
        }
        name[n] = '\0';
        fprintf(out, "  %-16s %s\n", name, commands[i].summary);
    }
    print_option_help(out, NULL);
    fprintf(out, "\nExit status: 0 done, 1 the core refused the request, 2 a usage or\n"
                 "configuration error, or no answer from the core.\n"
                 "Run '" PROGRAM " COMMAND --help' for the options of a command.\n");
}

static void print_command_help(FILE *out, const command_t *cmd)
{
    fprintf(out, "Usage: " PROGRAM " [-c FILE] [--json] [--timeout MS] %s\n\n%s\n", cmd->synopsis,
            cmd->help);
    print_option_help(out, cmd);
}

static const command_t *find_command(const char *name)
{
    for (size_t i = 0; i < COMMAND_COUNT; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

/* Reads a whole decimal number in [lo, hi]; 0 or -1. */
static int parse_number(const char *s, int64_t lo, int64_t hi, int64_t *out)
{
    if (!s || *s < '0' || *s > '9')
        return -1;
    errno = 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

/* One option, given to the command line or to a command (where): 0, or -1 (said). */
static int take_option(int key, const char *value, const char *where, invocation_t *inv)
{
    struct {
        int key;
        const char *name;
        int64_t lo, hi;
        int64_t *field;
    } numbers[] = {
        {KEY_LIMIT, "--limit", 1, 100000, &inv->limit},
        {KEY_OFFSET, "--offset", 0, INT64_MAX, &inv->offset},
        {KEY_COUNT, "--count", 1, INT64_MAX, &inv->count},
        {KEY_TIMEOUT, "--timeout", 1, MAX_TIMEOUT_MS, &inv->timeout_ms},
    };
    for (size_t i = 0; i < sizeof numbers / sizeof numbers[0]; i++) {
        if (numbers[i].key != key)
            continue;
        if (parse_number(value, numbers[i].lo, numbers[i].hi, numbers[i].field) != 0) {
            fprintf(stderr, "%s: %s wants a whole number from %lld to %lld, not '%s'\n", where,
                    numbers[i].name, (long long)numbers[i].lo, (long long)numbers[i].hi, value);
            return -1;
        }
        return 0;
    }
    switch (key) {
    case 'c':
        inv->config_path = value;
        return 0;
    case KEY_JSON:
        inv->json = true;
        return 0;
    case KEY_CHANNEL:
        inv->channel = value;
        return 0;
    case KEY_STATUS:
        inv->status = value;
        return 0;
    case KEY_CONFIDENTIAL:
        inv->confidential = true;
        return 0;
    case KEY_TODO:
        inv->todo = true;
        return 0;
    default:
        break;
    }
    const struct {
        int key;
        const char **field;
    } strings[] = {
        {KEY_AS, &inv->as},         {KEY_CATEGORY, &inv->category},
        {KEY_REASON, &inv->reason}, {KEY_INTO, &inv->into},
        {KEY_NOTE, &inv->note},     {KEY_AT, &inv->at},
        {KEY_ATTENDEES, &inv->attendees}, {KEY_FILE, &inv->file},
        {KEY_FROM, &inv->from},     {KEY_TO, &inv->to},
        {KEY_MONTH, &inv->month},   {KEY_FORMAT, &inv->format},
        {KEY_OUTPUT, &inv->output}, {KEY_NAME, &inv->caller_name},
        {KEY_TEXT, &inv->text},     {KEY_RECORD, &inv->record},
    };
    for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++) {
        if (strings[i].key == key) {
            *strings[i].field = value;
            return 0;
        }
    }
    switch (key) {
    default:
        return -1;
    }
}

/* The long options of a command (bits), with the common ones, into longopts. */
static void long_options(unsigned bits, struct option longopts[OPTION_COUNT + 1])
{
    size_t n = 0;
    for (size_t i = 0; i < OPTION_COUNT; i++)
        if (!options[i].bit || (options[i].bit & bits))
            longopts[n++] = options[i].opt;
    longopts[n] = (struct option){0};
}

static char *join_words(char **words, int count)
{
    size_t len = 1;
    for (int i = 0; i < count; i++)
        len += strlen(words[i]) + 1;
    char *out = xmalloc(len), *o = out;
    for (int i = 0; i < count; i++)
        o += sprintf(o, "%s%s", i ? " " : "", words[i]);
    *o = '\0';
    return out;
}

/*  Parses the global options, then the command's. Returns the command, or NULL with the
    exit status in *status: CTL_OK after a help was printed, CTL_FAIL after a usage error. */
static const command_t *parse_command_line(int argc, char **argv, invocation_t *inv, int *status)
{
    struct option longopts[OPTION_COUNT + 1];
    long_options(0, longopts);
    *status = CTL_FAIL;
    int key;
    optind = 0;
    while ((key = getopt_long(argc, argv, "+c:h", longopts, NULL)) != -1) {
        if (key == 'h') {
            print_usage(stdout);
            *status = CTL_OK;
            return NULL;
        }
        if (key == '?' || take_option(key, optarg, PROGRAM, inv) != 0) {
            fprintf(stderr, "Try '" PROGRAM " --help'.\n");
            return NULL;
        }
    }
    if (optind >= argc) {
        print_usage(stderr);
        return NULL;
    }
    const command_t *cmd = find_command(argv[optind]);
    if (!cmd) {
        fprintf(stderr, PROGRAM ": unknown command '%s'\nTry '" PROGRAM " --help'.\n",
                argv[optind]);
        return NULL;
    }

    /* The command's own arguments, parsed as a command line of their own, so that
       getopt's messages say "aduanctl list: ...". */
    char where[64];
    snprintf(where, sizeof where, PROGRAM " %s", cmd->name);
    int subc = argc - optind;
    char **subv = xmalloc(sizeof *subv * (size_t)(subc + 1));
    subv[0] = where;
    for (int i = 1; i < subc; i++)
        subv[i] = argv[optind + i];
    subv[subc] = NULL;
    long_options(cmd->options, longopts);
    const command_t *result = NULL;
    optind = 0;
    while ((key = getopt_long(subc, subv, "c:h", longopts, NULL)) != -1) {
        if (key == 'h') {
            print_command_help(stdout, cmd);
            *status = CTL_OK;
            goto done;
        }
        if (key == '?' || take_option(key, optarg, where, inv) != 0)
            goto usage;
    }
    char **rest = subv + optind;
    int nrest = subc - optind;
    switch (cmd->operands) {
    case OPERANDS_NONE:
        if (nrest > 0) {
            fprintf(stderr, "%s: unexpected argument '%s'\n", where, rest[0]);
            goto usage;
        }
        break;
    case OPERANDS_TICKET:
        if (nrest != 1) {
            fprintf(stderr, "%s: %s\n", where, nrest ? "one ticket at a time" : "which ticket?");
            goto usage;
        }
        inv->operand = join_words(rest, 1);
        for (char *p = inv->operand; *p; p++) /* tickets are upper case: ADU-2026-00042 */
            if (*p >= 'a' && *p <= 'z')
                *p = (char)(*p - 'a' + 'A');
        break;
    case OPERANDS_DOCUMENT: {
        char *end = NULL;
        long long n = nrest == 2 ? strtoll(rest[1], &end, 10) : 0;
        if (nrest != 2 || !end || *end || n < 1) {
            fprintf(stderr, "%s: expected TICKET N (N from 1, as show lists the documents)\n",
                    where);
            goto usage;
        }
        inv->document = n;
        inv->operand = join_words(rest, 1);
        for (char *p = inv->operand; *p; p++)
            if (*p >= 'a' && *p <= 'z')
                *p = (char)(*p - 'a' + 'A');
        break;
    }
    case OPERANDS_WORDS:
        if (nrest < 1) {
            fprintf(stderr, "%s: what should be searched for?\n", where);
            goto usage;
        }
        inv->operand = join_words(rest, nrest);
        break;
    case OPERANDS_VERIFY:
        if (nrest != 1 || strcmp(rest[0], "verify") != 0) {
            fprintf(stderr, "%s: expected 'verify'\n", where);
            goto usage;
        }
        break;
    case OPERANDS_REPORT:
        if (nrest != 1 || (strcmp(rest[0], "agenda") != 0 && strcmp(rest[0], "responses") != 0 &&
                           strcmp(rest[0], "summary") != 0)) {
            fprintf(stderr, "%s: which report? agenda, responses or summary\n", where);
            goto usage;
        }
        inv->operand = join_words(rest, 1);
        break;
    case OPERANDS_COMMAND:
        if (nrest > 1) {
            fprintf(stderr, "%s: one command at a time\n", where);
            goto usage;
        }
        if (nrest == 1)
            inv->operand = join_words(rest, 1);
        break;
    }
    result = cmd;
    goto done;
usage:
    fprintf(stderr, "Try '%s --help'.\n", where);
done:
    free(subv);
    return result;
}

/* ---- text for the terminal ------------------------------------------------------------- */

/* Decodes one character at s (not at its end); returns its length, 1 with U+FFFD for a
   byte that does not start a well-formed sequence. */
static size_t utf8_next(const char *s, uint32_t *cp)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t len = u[0] < 0x80                    ? 1
                 : u[0] >= 0xC2 && u[0] <= 0xDF ? 2
                 : u[0] >= 0xE0 && u[0] <= 0xEF ? 3
                 : u[0] >= 0xF0 && u[0] <= 0xF4 ? 4
                                                : 0;
    if (len == 1) {
        *cp = u[0];
        return 1;
    }
    if (len == 0 || !aduan_utf8_valid(s, len)) {
        *cp = 0xFFFD;
        return 1;
    }
    uint32_t c = u[0] & (0x7F >> len);
    for (size_t i = 1; i < len; i++)
        c = c << 6 | (u[i] & 0x3F);
    *cp = c;
    return len;
}

static size_t utf8_put(char *out, uint32_t c)
{
    if (c < 0x80) {
        out[0] = (char)c;
        return 1;
    }
    if (c < 0x800) {
        out[0] = (char)(0xC0 | c >> 6);
        out[1] = (char)(0x80 | (c & 0x3F));
        return 2;
    }
    if (c < 0x10000) {
        out[0] = (char)(0xE0 | c >> 12);
        out[1] = (char)(0x80 | (c >> 6 & 0x3F));
        out[2] = (char)(0x80 | (c & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | c >> 18);
    out[1] = (char)(0x80 | (c >> 12 & 0x3F));
    out[2] = (char)(0x80 | (c >> 6 & 0x3F));
    out[3] = (char)(0x80 | (c & 0x3F));
    return 4;
}

/* Characters that must not reach the terminal: C0, DEL, C1, line and paragraph
   separators, and the bidirectional embeddings, overrides and isolates. */
static bool is_control(uint32_t c)
{
    return c < 0x20 || (c >= 0x7F && c <= 0x9F) || c == 0x2028 || c == 0x2029 ||
           (c >= 0x202A && c <= 0x202E) || (c >= 0x2066 && c <= 0x2069);
}

/* Columns a character takes: 0 for combining marks and zero-width characters, 2 for the
   wide ones (CJK, Hangul, fullwidth forms, emoji), 1 for the rest. */
static size_t char_width(uint32_t c)
{
    static const uint32_t zero[][2] = {
        {0x0300, 0x036F}, {0x0483, 0x0489}, {0x0591, 0x05BD}, {0x0610, 0x061A},
        {0x064B, 0x065F}, {0x1AB0, 0x1AFF}, {0x1DC0, 0x1DFF}, {0x200B, 0x200F},
        {0x20D0, 0x20FF}, {0xFE00, 0xFE0F}, {0xFE20, 0xFE2F}, {0xFEFF, 0xFEFF},
    };
    static const uint32_t wide[][2] = {
        {0x1100, 0x115F},   {0x2E80, 0x303E},   {0x3041, 0x33FF},   {0x3400, 0x4DBF},
        {0x4E00, 0x9FFF},   {0xA000, 0xA4CF},   {0xAC00, 0xD7A3},   {0xF900, 0xFAFF},
        {0xFE30, 0xFE4F},   {0xFF00, 0xFF60},   {0xFFE0, 0xFFE6},   {0x1F300, 0x1F64F},
        {0x1F900, 0x1F9FF}, {0x20000, 0x2FFFD}, {0x30000, 0x3FFFD},
    };
    for (size_t i = 0; i < sizeof zero / sizeof zero[0]; i++)
        if (c >= zero[i][0] && c <= zero[i][1])
            return 0;
    for (size_t i = 0; i < sizeof wide / sizeof wide[0]; i++)
        if (c >= wide[i][0] && c <= wide[i][1])
            return 2;
    return 1;
}

/*  A copy of s that is safe to print: well-formed UTF-8, every control character a space
    (but newlines kept, and CR before LF dropped, with keep_newlines). Caller frees. */
static char *clean(const char *s, bool keep_newlines)
{
    if (!s)
        s = "";
    char *out = xmalloc(strlen(s) * 3 + 1), *o = out;
    while (*s) {
        uint32_t c;
        s += utf8_next(s, &c);
        if (keep_newlines && c == '\r' && *s == '\n')
            continue;
        if (is_control(c) && !(keep_newlines && c == '\n'))
            c = ' ';
        o += utf8_put(o, c);
    }
    *o = '\0';
    return out;
}

/* Columns that clean text takes on a terminal. */
static size_t text_width(const char *s)
{
    size_t w = 0;
    while (*s) {
        uint32_t c;
        s += utf8_next(s, &c);
        w += char_width(c);
    }
    return w;
}

/*  Prints clean text in exactly width columns: cut with "…" when longer, padded with
    spaces (on the left with right_align) when shorter, unless pad is false. */
static void put_fit(FILE *out, const char *s, size_t width, bool right_align, bool pad)
{
    size_t w = text_width(s);
    if (w <= width) {
        if (right_align)
            fprintf(out, "%*s%s", (int)(width - w), "", s);
        else
            fprintf(out, "%s%*s", s, pad ? (int)(width - w) : 0, "");
        return;
    }
    if (width == 0)
        return;
    size_t used = 0;
    const char *p = s;
    while (*p) {
        uint32_t c;
        size_t len = utf8_next(p, &c);
        size_t cw = char_width(c);
        if (used + cw > width - 1)
            break;
        fwrite(p, 1, len, out);
        used += cw;
        p += len;
    }
    fputs("…", out);
    used++;
    if (pad && used < width)
        fprintf(out, "%*s", (int)(width - used), "");
}

/* Prints s cleaned, on one line. */
static void put_clean(FILE *out, const char *s)
{
    char *c = clean(s, false);
    fputs(c, out);
    free(c);
}

/* Prints a text of several lines, each line indented. */
static void put_block(FILE *out, const char *s, size_t indent)
{
    char *c = clean(s, true);
    for (char *line = c, *next; line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        fprintf(out, "%*s%s\n", (int)indent, "", line);
    }
    free(c);
}

static size_t line_width(void)
{
    struct winsize ws;
    if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        return ws.ws_col;
    int64_t cols;
    if (parse_number(getenv("COLUMNS"), 20, 10000, &cols) == 0)
        return (size_t)cols;
    return DEFAULT_LINE_WIDTH;
}

/* ---- values out of the answer ---------------------------------------------------------- */

/*  A value as text, into buf when it must be formatted: strings as they are, numbers in
    decimal, booleans (and SQLite's 0/1 flags, with flag) as yes/no, null or absent as "-". */
static const char *value_text(const json_t *v, bool flag, char *buf, size_t len)
{
    if (json_is_string(v))
        return *json_string_value(v) ? json_string_value(v) : "-";
    if (json_is_boolean(v) || (flag && json_is_integer(v)))
        return json_is_true(v) || (json_is_integer(v) && json_integer_value(v)) ? "yes" : "no";
    if (json_is_integer(v))
        snprintf(buf, len, "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v))
        snprintf(buf, len, "%g", json_real_value(v));
    else if (json_is_object(v) || json_is_array(v)) {
        char *s = json_dumps(v, JSON_COMPACT);
        snprintf(buf, len, "%s", s ? s : "");
        free(s);
    } else
        return "-";
    return buf;
}

#define TEXT_MAX 256
/* The member key of obj as text (see value_text), in a buffer of the calling block. */
#define FIELD(obj, key)                                                                            \
    value_text(json_object_get((obj), (key)), false, (char[TEXT_MAX]){0}, TEXT_MAX)
#define FLAG(obj, key)                                                                             \
    value_text(json_object_get((obj), (key)), true, (char[TEXT_MAX]){0}, TEXT_MAX)

/*  "2026-11-28T01:02:03Z" (the core's UTC) as local time: "2026-11-28 08:02" or, with
    seconds, "2026-11-28 08:02:03 WIB". Anything else is returned as it is. */
static const char *local_time(const json_t *v, bool seconds, char *buf, size_t len)
{
    const char *iso = json_string_value(v);
    if (!iso || !*iso)
        return "-";
    struct tm tm = {0};
    char z = 0;
    if (sscanf(iso, "%4d-%2d-%2dT%2d:%2d:%2d%c", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
               &tm.tm_min, &tm.tm_sec, &z) != 7 ||
        z != 'Z')
        return iso;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    time_t t = timegm(&tm);
    struct tm local;
    if (t == (time_t)-1 || !localtime_r(&t, &local) ||
        !strftime(buf, len, seconds ? "%Y-%m-%d %H:%M:%S %Z" : "%Y-%m-%d %H:%M", &local))
        return iso;
    return buf;
}

#define WHEN(obj, key) local_time(json_object_get((obj), (key)), false, (char[64]){0}, 64)
#define WHEN_LONG(obj, key) local_time(json_object_get((obj), (key)), true, (char[64]){0}, 64)

static const char *byte_size(const json_t *v, char *buf, size_t len)
{
    if (!json_is_integer(v))
        return "-";
    double n = (double)json_integer_value(v);
    if (n < 1024)
        snprintf(buf, len, "%lld B", (long long)json_integer_value(v));
    else if (n < 1024.0 * 1024)
        snprintf(buf, len, "%.1f KiB", n / 1024);
    else
        snprintf(buf, len, "%.1f MiB", n / (1024.0 * 1024));
    return buf;
}

/* A flag of the registry: true, or a non-zero integer (SQLite has no booleans). */
static bool is_set(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);
    return json_is_true(v) || (json_is_integer(v) && json_integer_value(v) != 0);
}

#define SIZE(obj, key) byte_size(json_object_get((obj), (key)), (char[32]){0}, 32)

/* "Budi Santoso <+6281234567890>", or the address alone, from name_key and addr_key. */
static char *sender(const json_t *obj, const char *name_key, const char *addr_key)
{
    const char *name = json_string_value(json_object_get(obj, name_key));
    const char *addr = FIELD(obj, addr_key);
    if (!name || !*name)
        return strdup(addr);
    char *out = xmalloc(strlen(name) + strlen(addr) + 4);
    sprintf(out, "%s <%s>", name, addr);
    return out;
}

/* ---- tables ---------------------------------------------------------------------------- */

/* How a cell is made from its row. */
typedef enum {
    CELL_TEXT,    /* the member as text */
    CELL_TIME,    /* the core's UTC time, as local time */
    CELL_SIZE,    /* bytes, as B/KiB/MiB */
    CELL_SENDER,  /* "from_name <from>" */
    CELL_SUBJECT, /* the subject with [confidential] and [incomplete] marks before it */
    CELL_AGO,     /* milliseconds ago, as seconds */
} cell_t;

typedef struct {
    const char *header;
    size_t max;      /* widest it grows to; 0: what is left of the line */
    bool right;      /* numbers: aligned right */
    const char *key; /* the row's member shown in the column */
    cell_t cell;
} column_t;

typedef struct {
    const column_t *columns;
    size_t ncols;
    char **cells; /* cleaned, row after row */
    size_t ncells, cap;
} table_t;

#define GAP 2

/* Adds the next cell, row by row; a copy of text, cleaned. */
static void table_cell(table_t *t, const char *text)
{
    if (t->ncells == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 64;
        char **grown = realloc(t->cells, t->cap * sizeof *grown);
        if (!grown) {
            fprintf(stderr, PROGRAM ": out of memory\n");
            exit(CTL_FAIL);
        }
        t->cells = grown;
    }
    t->cells[t->ncells++] = clean(text, false);
}

/* Adds a cell that was allocated for it (and frees it). */
static void table_cell_free(table_t *t, char *text)
{
    table_cell(t, text);
    free(text);
}

static void table_print(table_t *t, size_t indent)
{
    size_t nrows = t->ncells / t->ncols, width[16], fixed = indent, flexible = 0;
    assert(t->ncols <= sizeof width / sizeof width[0]);
    for (size_t c = 0; c < t->ncols; c++) {
        width[c] = text_width(t->columns[c].header);
        for (size_t r = 0; r < nrows; r++) {
            size_t w = text_width(t->cells[r * t->ncols + c]);
            if (w > width[c])
                width[c] = w;
        }
        if (t->columns[c].max && width[c] > t->columns[c].max)
            width[c] = t->columns[c].max;
        if (t->columns[c].max)
            fixed += width[c] + GAP;
        else
            flexible++;
    }
    /* the columns without a maximum share what is left of the line, 12 columns at least */
    size_t line = line_width(), left = line > fixed ? line - fixed : 0;
    for (size_t c = 0; c < t->ncols; c++) {
        if (t->columns[c].max)
            continue;
        size_t share = left / flexible;
        share = share > GAP ? share - GAP : 0;
        if (share < 12)
            share = 12;
        if (width[c] > share)
            width[c] = share;
    }
    for (size_t r = 0; r <= nrows; r++) {
        fprintf(stdout, "%*s", (int)indent, "");
        for (size_t c = 0; c < t->ncols; c++) {
            const char *s = r == 0 ? t->columns[c].header : t->cells[(r - 1) * t->ncols + c];
            bool last = c + 1 == t->ncols;
            put_fit(stdout, s, width[c], t->columns[c].right && r > 0, !last);
            if (!last)
                fprintf(stdout, "%*s", GAP, "");
        }
        fputc('\n', stdout);
    }
    for (size_t i = 0; i < t->ncells; i++)
        free(t->cells[i]);
    free(t->cells);
    t->cells = NULL;
    t->ncells = t->cap = 0;
}

/* Makes the cell of one column of a row (see cell_t). */
static void table_cell_of(table_t *t, const column_t *col, const json_t *row)
{
    switch (col->cell) {
    case CELL_TEXT:
        table_cell(t, FIELD(row, col->key));
        break;
    case CELL_TIME:
        table_cell(t, WHEN(row, col->key));
        break;
    case CELL_SIZE:
        table_cell(t, SIZE(row, col->key));
        break;
    case CELL_SENDER:
        table_cell_free(t, sender(row, "from_name", col->key));
        break;
    case CELL_SUBJECT: {
        /* the subject carries the marks, where the eye reads */
        const char *subject = json_string_value(json_object_get(row, col->key));
        char *text = xmalloc(strlen(subject ? subject : "") + 40);
        sprintf(text, "%s%s%s", is_set(row, "confidential") ? "[confidential] " : "",
                is_set(row, "incomplete") ? "[incomplete] " : "",
                subject && *subject ? subject : "-");
        table_cell_free(t, text);
        break;
    }
    case CELL_AGO: {
        char ago[32];
        json_int_t ms = json_integer_value(json_object_get(row, col->key));
        snprintf(ago, sizeof ago, "%.1f s ago", (double)ms / 1000.0);
        table_cell(t, ago);
        break;
    }
    }
}

/* Prints rows (a JSON array of objects) as a table of the given columns. */
static void table_of_rows(const column_t *cols, size_t ncols, const json_t *rows, size_t indent)
{
    table_t t = {.columns = cols, .ncols = ncols};
    const json_t *row;
    size_t i;
    json_array_foreach(rows, i, row) {
        for (size_t c = 0; c < ncols; c++)
            table_cell_of(&t, &cols[c], row);
    }
    table_print(&t, indent);
}

#define TABLE_OF(cols, rows, indent)                                                             \
    table_of_rows((cols), sizeof(cols) / sizeof(cols)[0], (rows), (indent))

/* ---- printers: one per command --------------------------------------------------------- */

static const json_t *items_of(const json_t *body)
{
    const json_t *items = json_object_get(body, "items");
    return json_is_array(items) ? items : NULL;
}

static int unexpected(const char *what)
{
    fprintf(stderr, PROGRAM ": the core's answer has no %s (try --json)\n", what);
    return CTL_FAIL;
}

/* The answer's items as a table, or the line that says there are none. */
static int print_items(const json_t *body, const column_t *cols, size_t ncols, const char *none)
{
    const json_t *items = items_of(body);
    if (!items)
        return unexpected("items");
    if (json_array_size(items) == 0)
        printf("%s\n", none);
    else
        table_of_rows(cols, ncols, items, 0);
    return CTL_OK;
}
#define PRINT_ITEMS(body, cols, none)                                                            \
    print_items((body), (cols), sizeof(cols) / sizeof(cols)[0], (none))

static int print_list(const json_t *body)
{
    static const column_t cols[] = {
        {"TICKET", 20, false, "ticket", CELL_TEXT},
        {"RECEIVED", 16, false, "received_at", CELL_TIME},
        {"CHANNEL", 10, false, "channel", CELL_TEXT},
        {"STATUS", 14, false, "status", CELL_TEXT},
        {"FROM", 30, false, "from", CELL_SENDER},
        {"SUBJECT", 0, false, "subject", CELL_SUBJECT},
    };
    return PRINT_ITEMS(body, cols, "No complaints.");
}

static int print_search(const json_t *body)
{
    static const column_t cols[] = {
        {"TICKET", 20, false, "ticket", CELL_TEXT},
        {"RECEIVED", 16, false, "received_at", CELL_TIME},
        {"CHANNEL", 10, false, "channel", CELL_TEXT},
        {"STATUS", 14, false, "status", CELL_TEXT},
        {"FROM", 24, false, "from", CELL_SENDER},
        {"SUBJECT", 0, false, "subject", CELL_SUBJECT},
        {"MATCH", 0, false, "snippet", CELL_TEXT},
    };
    return PRINT_ITEMS(body, cols, "No matches.");
}

static int print_quarantine(const json_t *body)
{
    static const column_t cols[] = {
        {"ID", 10, true, "id", CELL_TEXT},
        {"AT", 16, false, "at", CELL_TIME},
        {"CHANNEL", 10, false, "channel", CELL_TEXT},
        {"SIZE", 10, true, "size", CELL_SIZE},
        {"PEER", 24, false, "peer", CELL_TEXT},
        {"KEY", 30, false, "dedupe_key", CELL_TEXT},
        {"REASON", 0, false, "reason", CELL_TEXT},
    };
    return PRINT_ITEMS(body, cols, "The quarantine is empty.");
}

/* A section title with its row count, or "Title: none" (then returns false). */
static bool section(const char *title, const json_t *rows)
{
    size_t n = json_array_size(rows);
    if (n == 0) {
        printf("\n%s: none\n", title);
        return false;
    }
    printf("\n%s (%zu)\n", title, n);
    return true;
}

static void show_thread(const json_t *thread)
{
    const json_t *m;
    size_t i;
    if (!section("Thread", thread))
        return;
    json_array_foreach(thread, i, m) {
        bool in = strcmp(FIELD(m, "direction"), "in") == 0;
        printf("  #%s  ", FIELD(m, "id"));
        put_clean(stdout, WHEN_LONG(m, "at"));
        printf("  %s  ", in ? "in " : "out");
        put_clean(stdout, FIELD(m, "channel"));
        printf("  %s ", in ? "from" : "to");
        put_clean(stdout, FIELD(m, in ? "from" : "to"));
        fputc('\n', stdout);
        const char *subject = json_string_value(json_object_get(m, "subject"));
        if (subject && *subject) {
            printf("      Subject: ");
            put_clean(stdout, subject);
            fputc('\n', stdout);
        }
        const char *text = json_string_value(json_object_get(m, "body"));
        if (text && *text)
            put_block(stdout, text, 6);
    }
}

static void show_attachments(const json_t *rows)
{
    static const column_t cols[] = {
        {"MESSAGE", 8, true, "message_id", CELL_TEXT},
        {"NAME", 40, false, "name", CELL_TEXT},
        {"TYPE", 30, false, "content_type", CELL_TEXT},
        {"SIZE", 12, true, "size", CELL_SIZE},
        {"SHA-256", 0, false, "sha256", CELL_TEXT},
    };
    if (section("Attachments", rows))
        TABLE_OF(cols, rows, 2);
}

static void show_outbox(const json_t *rows)
{
    static const column_t cols[] = {
        {"ID", 8, true, "id", CELL_TEXT},
        {"KIND", 10, false, "kind", CELL_TEXT},
        {"CHANNEL", 8, false, "channel", CELL_TEXT},
        {"TO", 28, false, "to", CELL_TEXT},
        {"STATUS", 10, false, "status", CELL_TEXT},
        {"TRIES", 5, true, "attempts", CELL_TEXT},
        {"CREATED", 16, false, "created_at", CELL_TIME},
        {"SENT", 16, false, "sent_at", CELL_TIME},
        {"DELIVERED", 16, false, "delivered_at", CELL_TIME},
        {"LAST ERROR", 0, false, "last_error", CELL_TEXT},
    };
    if (section("Outbox", rows))
        TABLE_OF(cols, rows, 2);
}

static void show_audit(const json_t *rows)
{
    static const column_t cols[] = {
        {"ID", 8, true, "id", CELL_TEXT},
        {"AT", 16, false, "at", CELL_TIME},
        {"ACTOR", 16, false, "actor", CELL_TEXT},
        {"ACTION", 20, false, "action", CELL_TEXT},
        {"DETAIL", 0, false, "detail", CELL_TEXT},
    };
    if (section("Audit trail", rows))
        TABLE_OF(cols, rows, 2);
}

/* What the SOP added: meetings, documents (numbered for `aduanctl document`), responses. */
static void show_sop(const json_t *c)
{
    static const column_t meeting_cols[] = {
        {"HELD", 16, false, "held_at", CELL_TEXT},
        {"BY", 12, false, "staff_id", CELL_TEXT},
        {"ATTENDEES", 0, false, "attendees", CELL_TEXT},
    };
    const json_t *meetings = json_object_get(c, "meetings");
    if (json_array_size(meetings) && section("Meetings", meetings))
        TABLE_OF(meeting_cols, meetings, 2);
    static const column_t document_cols[] = {
        {"N", 3, true, "number", CELL_TEXT},
        {"KIND", 9, false, "kind", CELL_TEXT},
        {"NAME", 32, false, "name", CELL_TEXT},
        {"TYPE", 26, false, "content_type", CELL_TEXT},
        {"SIZE", 10, true, "size", CELL_SIZE},
        {"BY", 12, false, "staff_id", CELL_TEXT},
        {"AT", 0, false, "at", CELL_TIME},
    };
    const json_t *documents = json_object_get(c, "documents");
    if (json_array_size(documents) && section("Documents", documents)) {
        json_t *numbered = json_array();
        size_t i;
        const json_t *d;
        json_array_foreach(documents, i, d) {
            json_t *copy = json_copy((json_t *)d);
            json_object_set_new(copy, "number", json_integer((json_int_t)i + 1));
            json_array_append_new(numbered, copy);
        }
        TABLE_OF(document_cols, numbered, 2);
        json_decref(numbered);
        printf("  (aduanctl document %s N --output FILE fetches one)\n", FIELD(c, "ticket"));
    }
    static const column_t response_cols[] = {
        {"NO.", 5, true, "number", CELL_TEXT},
        {"YEAR", 4, true, "year", CELL_TEXT},
        {"AT", 16, false, "at", CELL_TIME},
        {"BY", 12, false, "staff_id", CELL_TEXT},
        {"CHANNEL", 8, false, "channel", CELL_TEXT},
        {"DELIVERED", 16, false, "delivered_at", CELL_TIME},
        {"SUMMARY", 0, false, "summary", CELL_TEXT},
    };
    const json_t *responses = json_object_get(c, "responses");
    if (json_array_size(responses) && section("Responses", responses))
        TABLE_OF(response_cols, responses, 2);
}

static void labelled(const char *label, const char *value)
{
    printf("%-14s ", label);
    put_clean(stdout, value);
    fputc('\n', stdout);
}

static int print_show(const json_t *c)
{
    if (!json_is_object(c) || !json_object_get(c, "ticket"))
        return unexpected("ticket");
    labelled("Ticket:", FIELD(c, "ticket"));
    labelled("Status:", FIELD(c, "status"));
    labelled("Channel:", FIELD(c, "channel"));
    labelled("Account:", FIELD(c, "account"));
    char *from = sender(c, "from_name", "from");
    labelled("From:", from);
    free(from);
    labelled("Subject:", FIELD(c, "subject"));
    labelled("Category:", FIELD(c, "category"));
    labelled("Received:", WHEN_LONG(c, "received_at"));
    labelled("Dated:", WHEN_LONG(c, "source_at"));
    labelled("Updated:", WHEN_LONG(c, "updated_at"));
    labelled("Confidential:", FLAG(c, "confidential"));
    labelled("Incomplete:", FLAG(c, "incomplete"));
    labelled("Raw SHA-256:", FIELD(c, "raw_sha256"));
    /* the text is the first message of the thread, shown there; here only without one */
    const char *text = json_string_value(json_object_get(c, "text"));
    if (text && *text && json_array_size(json_object_get(c, "thread")) == 0) {
        printf("\nText:\n");
        put_block(stdout, text, 2);
    }
    show_thread(json_object_get(c, "thread"));
    show_attachments(json_object_get(c, "attachments"));
    show_sop(c);
    show_outbox(json_object_get(c, "outbox"));
    show_audit(json_object_get(c, "audit"));
    return CTL_OK;
}

/* Names in the key/value sections of stats take this many columns, so they line up. */
#define STATS_LABEL 22

static void stats_line(const char *name, const char *value)
{
    printf("  ");
    char *c = clean(name, false);
    put_fit(stdout, c, STATS_LABEL, false, true);
    free(c);
    printf("  %10s\n", value);
}

/* Rows of {key: name, count: n} under a title. */
static void stats_counts(const char *title, const json_t *rows, const char *key)
{
    const json_t *r;
    size_t i;
    printf("\n%s\n", title);
    if (json_array_size(rows) == 0)
        printf("  none\n");
    json_array_foreach(rows, i, r)
        stats_line(FIELD(r, key), FIELD(r, "count"));
}

/* The plain members of an object, names with '_' shown as spaces. */
static void stats_members(const json_t *obj)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v) {
        if (json_is_array(v) || json_is_object(v))
            continue;
        char *name = xmalloc(strlen(key) + 1);
        for (size_t k = 0; k <= strlen(key); k++)
            name[k] = key[k] == '_' ? ' ' : key[k];
        stats_line(name, value_text(v, false, (char[TEXT_MAX]){0}, TEXT_MAX));
        free(name);
    }
}

static void stats_adapters(const json_t *adapters)
{
    static const column_t cols[] = {
        {"CHANNEL", 10, false, "channel", CELL_TEXT},
        {"ACCOUNT", 30, false, "account", CELL_TEXT},
        {"LAST SEEN", 12, true, "last_seen_ms_ago", CELL_AGO},
        {"IN FLIGHT", 9, true, "in_flight", CELL_TEXT},
        {"INTAKES", 10, true, "intakes", CELL_TEXT},
        {"DELIVERS", 10, true, "delivers", CELL_TEXT},
    };
    printf("\nAdapters connected\n");
    if (json_array_size(adapters) == 0)
        printf("  none\n");
    else
        TABLE_OF(cols, adapters, 2);
    /* each channel's own facts, as its adapter reports them: the modem's signal and
       network, queues, its last error */
    const json_t *a;
    size_t i;
    json_array_foreach(adapters, i, a) {
        const json_t *status = json_object_get(a, "status");
        if (!json_is_object(status) || json_object_size(status) == 0)
            continue;
        printf("\nAdapter ");
        put_clean(stdout, FIELD(a, "channel"));
        fputc(' ', stdout);
        put_clean(stdout, FIELD(a, "account"));
        fputc('\n', stdout);
        const char *key;
        json_t *v;
        json_object_foreach((json_t *)status, key, v) {
            char name[64];
            snprintf(name, sizeof name, "%s", key);
            for (char *c = name; *c; c++)
                *c = *c == '_' ? ' ' : *c;
            char *value = clean(FIELD(status, key), false);
            stats_line(name, value);
            free(value);
        }
    }
}

static int print_stats(const json_t *body)
{
    if (!json_is_object(body))
        return unexpected("figures");
    printf("Totals\n");
    json_t *totals = json_object();
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)body, key, v) {
        if (!json_is_array(v) && !json_is_object(v))
            json_object_set(totals, key, v);
    }
    stats_members(totals);
    json_decref(totals);

    stats_counts("By status", json_object_get(body, "by_status"), "status");
    stats_counts("By channel", json_object_get(body, "by_channel"), "channel");

    static const column_t outbox_cols[] = {
        {"CHANNEL", 10, false, "channel", CELL_TEXT},
        {"STATUS", 12, false, "status", CELL_TEXT},
        {"COUNT", 10, true, "count", CELL_TEXT},
        {"OLDEST", 0, false, "oldest", CELL_TIME},
    };
    const json_t *outbox = json_object_get(body, "outbox");
    printf("\nOutbox\n");
    if (json_array_size(outbox) == 0)
        printf("  empty\n");
    else
        TABLE_OF(outbox_cols, outbox, 2);

    const json_t *service = json_object_get(body, "service");
    if (!json_is_object(service)) {
        printf("\nThe core did not report on its service.\n");
        return CTL_OK;
    }
    stats_adapters(json_object_get(service, "adapters"));
    printf("\nCounters since start\n");
    stats_members(json_object_get(service, "counters"));
    printf("\nLast error\n  ");
    const char *err = json_string_value(json_object_get(service, "last_error"));
    if (!err || !*err)
        printf("none\n");
    else {
        put_clean(stdout, WHEN_LONG(service, "last_error_at"));
        printf("  ");
        put_clean(stdout, err);
        fputc('\n', stdout);
    }
    return CTL_OK;
}

static int judge_audit(const json_t *body)
{
    return json_is_true(json_object_get(body, "intact")) ? CTL_OK : CTL_REFUSED;
}

static int print_audit_verify(const json_t *body)
{
    if (!json_is_boolean(json_object_get(body, "intact")))
        return unexpected("verdict");
    if (judge_audit(body) == CTL_OK) {
        printf("The audit trail is intact.\n");
        return CTL_OK;
    }
    printf("The audit trail is broken: the first bad row is %s.\n",
           FIELD(body, "first_broken_row"));
    return CTL_REFUSED;
}

/* ---- the SOP ----------------------------------------------------------------------------- */

static int print_step(const json_t *body)
{
    if (!json_is_object(body) || !json_object_get(body, "status"))
        return unexpected("status");
    put_clean(stdout, FIELD(body, "ticket"));
    printf(": %s done by ", FIELD(body, "step"));
    put_clean(stdout, FIELD(body, "by"));
    printf("; status %s -> %s\n", FIELD(body, "previous"), FIELD(body, "status"));
    if (json_object_get(body, "response_number"))
        printf("Response no. %s in the Buku Agenda Tanggapan Pengaduan%s\n",
               FIELD(body, "response_number"),
               json_is_null(json_object_get(body, "outbox_id"))
                   ? "; no address to send it to: hand it over, then 'delivered'"
                   : "; queued to the complainant");
    const json_t *doc = json_object_get(body, "document");
    if (doc) {
        printf("Attached: ");
        put_clean(stdout, FIELD(doc, "name"));
        printf(" (%s, %s)\n", FIELD(doc, "content_type"), SIZE(doc, "size"));
    }
    if (json_object_get(body, "into")) {
        printf("Merged into ");
        put_clean(stdout, FIELD(body, "into"));
        fputc('\n', stdout);
    }
    return CTL_OK;
}

static int print_call(const json_t *body)
{
    if (!json_is_object(body) || !json_object_get(body, "ticket"))
        return unexpected("ticket");
    put_clean(stdout, FIELD(body, "ticket"));
    printf(strcmp(FIELD(body, "disposition"), "duplicate") == 0
               ? ": this note was recorded already"
               : ": recorded");
    printf("; tell the caller the ticket number. Replies go %s.\n",
           strcmp(FIELD(body, "replies"), "sms") == 0
               ? "by SMS to their mobile"
               : "by a call-back (aduanctl calls --todo)");
    return CTL_OK;
}

static int print_calls(const json_t *body)
{
    static const column_t call_cols[] = {
        {"WHEN", 16, false, "at", CELL_TIME},
        {"STATUS", 8, false, "status", CELL_TEXT},
        {"SECONDS", 7, true, "seconds", CELL_TEXT},
        {"FROM", 34, false, "from_addr", CELL_SENDER},
        {"LINE", 8, false, "line", CELL_TEXT},
        {"TICKET", 20, false, "ticket", CELL_TEXT},
        {"RECORD", 0, false, "record", CELL_TEXT},
    };
    static const column_t task_cols[] = {
        {"TASK", 6, true, "id", CELL_TEXT},
        {"SINCE", 16, false, "created_at", CELL_TIME},
        {"TICKET", 20, false, "ticket", CELL_TEXT},
        {"CALL", 34, false, "to_addr", CELL_TEXT},
        {"TO SAY", 0, false, "text", CELL_TEXT},
    };
    const json_t *tasks = json_object_get(body, "tasks"), *calls = json_object_get(body, "calls");
    if (json_is_array(tasks)) {
        if (json_array_size(tasks) == 0)
            printf("No call-backs to make.\n");
        else
            TABLE_OF(task_cols, tasks, 0);
        return CTL_OK;
    }
    if (!json_is_array(calls))
        return unexpected("calls");
    if (json_array_size(calls) == 0)
        printf("No calls.\n");
    else
        TABLE_OF(call_cols, calls, 0);
    return CTL_OK;
}

static int print_called(const json_t *body)
{
    if (!json_is_object(body) || !json_object_get(body, "task"))
        return unexpected("task");
    printf("Call-back %s done", FIELD(body, "task"));
    if (*FIELD(body, "ticket")) {
        printf(" (");
        put_clean(stdout, FIELD(body, "ticket"));
        printf(")");
    }
    printf(".\n");
    return CTL_OK;
}

static int print_overdue(const json_t *body)
{
    static const column_t cols[] = {
        {"TICKET", 20, false, "ticket", CELL_TEXT},
        {"STATUS", 12, false, "status", CELL_TEXT},
        {"CHANNEL", 8, false, "channel", CELL_TEXT},
        {"DUE", 16, false, "due_at", CELL_TIME},
        {"DAYS LATE", 9, true, "days_late", CELL_TEXT},
        {"ROLE", 10, false, "role", CELL_TEXT},
        {"DEADLINE", 0, false, "label", CELL_TEXT},
    };
    return PRINT_ITEMS(body, cols, "Nothing is overdue.");
}

/* The rows of a report as a table: its headers as columns. */
static void print_report_table(const json_t *body)
{
    const json_t *headers = json_object_get(body, "headers"), *rows = json_object_get(body, "rows");
    size_t ncols = json_array_size(headers);
    if (ncols == 0 || ncols > 16)
        return;
    column_t cols[16];
    char keys[16][8];
    json_t *objects = json_array();
    for (size_t c = 0; c < ncols; c++) {
        snprintf(keys[c], sizeof keys[c], "c%zu", c);
        cols[c] = (column_t){json_string_value(json_array_get(headers, c)), c + 1 == ncols ? 0 : 28,
                             false, keys[c], CELL_TEXT};
    }
    size_t i;
    const json_t *row;
    json_array_foreach(rows, i, row) {
        json_t *o = json_object();
        for (size_t c = 0; c < ncols; c++)
            json_object_set(o, keys[c], json_array_get(row, c));
        json_array_append_new(objects, o);
    }
    put_clean(stdout, FIELD(body, "title"));
    fputc('\n', stdout);
    if (json_array_size(objects) == 0)
        printf("Nothing in this period.\n");
    else
        table_of_rows(cols, ncols, objects, 0);
    json_decref(objects);
}

/* Writes bytes to --output, or to stdout when that is not a terminal (PDF). what names
   the command in a failure ("report"). */
static int write_report(const invocation_t *inv, const char *what, const void *data,
                        size_t size, bool binary)
{
    FILE *out = stdout;
    if (inv->output) {
        out = fopen(inv->output, "wbe");
        if (!out) {
            fprintf(stderr, PROGRAM " %s: %s: %s\n", what, inv->output, strerror(errno));
            return CTL_FAIL;
        }
    } else if (binary && isatty(STDOUT_FILENO)) {
        fprintf(stderr, PROGRAM " %s: a PDF is not for the terminal: use --output FILE\n",
                what);
        return CTL_FAIL;
    }
    bool ok = fwrite(data, 1, size, out) == size;
    ok = (out == stdout ? fflush(out) == 0 : fclose(out) == 0) && ok;
    if (!ok) {
        fprintf(stderr, PROGRAM " %s: cannot write: %s\n", what, strerror(errno));
        return CTL_FAIL;
    }
    return CTL_OK;
}

static int ask(const command_t *cmd, const invocation_t *inv, const aduan_config_t *config,
               json_t **body_p);
static int run_request(const command_t *cmd, const invocation_t *inv, const aduan_config_t *config);

static int run_report(const command_t *cmd, const invocation_t *inv, const aduan_config_t *config)
{
    if (inv->json)
        return run_request(cmd, inv, config);
    json_t *body;
    int status = ask(cmd, inv, config, &body);
    if (status != CTL_OK)
        return status;
    if (!inv->format) {
        print_report_table(body);
        json_decref(body);
        return CTL_OK;
    }
    const char *text = json_string_value(json_object_get(body, "content"));
    const char *b64 = json_string_value(json_object_get(body, "content_base64"));
    if (text) {
        status = write_report(inv, "report", text, strlen(text), false);
    } else if (b64) {
        size_t len = strlen(b64);
        unsigned char *pdf = xmalloc(len / 4 * 3 + 1);
        int n = EVP_DecodeBlock(pdf, (const unsigned char *)b64, (int)len);
        if (n < 0) {
            status = unexpected("readable PDF");
        } else {
            size_t size = (size_t)n - (len > 0 && b64[len - 1] == '=') -
                          (len > 1 && b64[len - 2] == '=');
            status = write_report(inv, "report", pdf, size, true);
        }
        free(pdf);
    } else {
        status = unexpected("content");
    }
    json_decref(body);
    return status;
}

/* document TICKET N: the bytes to --output or stdout; with --json the record as it came. */
static int run_document(const command_t *cmd, const invocation_t *inv,
                        const aduan_config_t *config)
{
    if (inv->json)
        return run_request(cmd, inv, config);
    json_t *body;
    int status = ask(cmd, inv, config, &body);
    if (status != CTL_OK)
        return status;
    const char *b64 = json_string_value(json_object_get(body, "content_base64"));
    size_t len = b64 ? strlen(b64) : 0;
    unsigned char *data = xmalloc(len / 4 * 3 + 1);
    int n = b64 ? EVP_DecodeBlock(data, (const unsigned char *)b64, (int)len) : -1;
    if (n < 0) {
        status = unexpected("content_base64");
    } else {
        size_t size = (size_t)n - (len > 0 && b64[len - 1] == '=') -
                      (len > 1 && b64[len - 2] == '=');
        const char *type = json_string_value(json_object_get(body, "content_type"));
        status = write_report(inv, "document", data, size,
                              !type || strncmp(type, "text/", 5) != 0);
    }
    free(data);
    json_decref(body);
    return status;
}

/* ---- talking to the core --------------------------------------------------------------- */

/* The OS user running aduanctl, the REQUEST's actor. */
static const char *os_user(char *buf, size_t len)
{
    struct passwd *pw = getpwuid(geteuid());
    if (pw && pw->pw_name && *pw->pw_name && strlen(pw->pw_name) <= 64)
        return pw->pw_name;
    snprintf(buf, len, "uid:%lu", (unsigned long)geteuid());
    return buf;
}

/* False (said) for an endpoint no other process can reach. */
static bool reachable(const char *endpoint, const char *key)
{
    if (strncmp(endpoint, "inproc://", 9) != 0)
        return true;
    fprintf(stderr,
            PROGRAM ": cannot reach the core at %s: an inproc endpoint exists only inside "
                    "the daemon; set %s to an ipc:// or tcp:// endpoint\n",
            endpoint, key);
    return false;
}

static void say_unreachable(const char *endpoint, int64_t timeout_ms)
{
    struct stat st;
    if (strncmp(endpoint, "ipc://", 6) == 0 && endpoint[6] != '@' && stat(endpoint + 6, &st) != 0)
        fprintf(stderr,
                PROGRAM ": cannot reach the core at %s (no answer within %lld ms, and no "
                        "socket there: is aduan-gatewayd running?)\n",
                endpoint, (long long)timeout_ms);
    else
        fprintf(stderr, PROGRAM ": cannot reach the core at %s (no answer within %lld ms)\n",
                endpoint, (long long)timeout_ms);
}

#define FILE_MAX (700 * 1024) /* the core takes 1 MiB per request, base64 included */

/* args.file = {name, base64} of the file at path; -1 (said) when it cannot be read. */
static int attach_file(json_t *args, const char *where, const char *path)
{
    FILE *f = fopen(path, "rbe");
    if (!f) {
        fprintf(stderr, "%s: %s: %s\n", where, path, strerror(errno));
        return -1;
    }
    unsigned char *data = xmalloc(FILE_MAX + 1);
    size_t size = fread(data, 1, FILE_MAX + 1, f);
    bool failed = ferror(f) != 0;
    fclose(f);
    if (failed || size > FILE_MAX) {
        fprintf(stderr, "%s: %s: %s\n", where, path,
                failed ? "cannot read it" : "larger than 700 KiB");
        free(data);
        return -1;
    }
    char *b64 = xmalloc((size + 2) / 3 * 4 + 1);
    EVP_EncodeBlock((unsigned char *)b64, data, (int)size);
    free(data);
    const char *slash = strrchr(path, '/');
    json_t *name = json_string(slash ? slash + 1 : path);
    json_object_set_new(args, "file", json_pack("{s:o, s:s}", "name",
                                                name ? name : json_string("file"), "base64", b64));
    free(b64);
    return 0;
}

/* The arguments of the request, as the core's queries read them; NULL (said) when a
   string given is not UTF-8. Caller owns. */
static json_t *request_args(const command_t *cmd, const invocation_t *inv)
{
    json_t *args = json_object();
    if (inv->confidential)
        json_object_set_new(args, "confidential", json_true());
    if (inv->todo)
        json_object_set_new(args, "todo", json_true());
    if (inv->file) {
        char where[64];
        snprintf(where, sizeof where, PROGRAM " %s", cmd->name);
        if (attach_file(args, where, inv->file) != 0) {
            json_decref(args);
            return NULL;
        }
    }
    if (inv->limit >= 0)
        json_object_set_new(args, "limit", json_integer(inv->limit));
    if (inv->document > 0)
        json_object_set_new(args, "number", json_integer(inv->document));
    if (inv->offset >= 0)
        json_object_set_new(args, "offset", json_integer(inv->offset));
    const struct {
        const char *key, *value;
    } strings[] = {
        {"channel", inv->channel},
        {"status", inv->status},
        {cmd->operands == OPERANDS_TICKET || cmd->operands == OPERANDS_DOCUMENT ? "ticket"
                                                                                : "query",
         cmd->operands == OPERANDS_TICKET || cmd->operands == OPERANDS_WORDS ||
                 cmd->operands == OPERANDS_DOCUMENT
             ? inv->operand
             : NULL},
        {"report", cmd->operands == OPERANDS_REPORT ? inv->operand : NULL},
        {"as", inv->as},
        {"category", inv->category},
        {"reason", inv->reason},
        {"into", inv->into},
        {"note", inv->note},
        {"at", inv->at},
        {"attendees", inv->attendees},
        {"from", inv->from},
        {"to", inv->to},
        {"month", inv->month},
        {"format", inv->format},
        {"name", inv->caller_name},
        {"text", inv->text},
        {"record", inv->record},
    };
    for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++) {
        if (!strings[i].value)
            continue;
        json_t *s = json_string(strings[i].value);
        if (!s) {
            fprintf(stderr, PROGRAM " %s: the %s given is not valid UTF-8\n", cmd->name,
                    strings[i].key);
            json_decref(args);
            return NULL;
        }
        json_object_set_new(args, strings[i].key, s);
    }
    return args;
}

/*  Sends cmd's REQUEST to the core and waits for the REPLY with its id. Returns CTL_OK
    with the body (caller owns) in *body_p, or CTL_REFUSED / CTL_FAIL once said why. */
static int ask(const command_t *cmd, const invocation_t *inv, const aduan_config_t *config,
               json_t **body_p)
{
    const char *endpoint = config->bus.control;
    int64_t timeout = inv->timeout_ms >= 0 ? inv->timeout_ms : DEFAULT_TIMEOUT_MS;
    *body_p = NULL;
    if (!reachable(endpoint, "bus.control"))
        return CTL_FAIL;
    json_t *args = request_args(cmd, inv);
    if (!args)
        return CTL_FAIL;

    int result = CTL_FAIL;
    char user[32], *args_text = json_dumps(args, JSON_COMPACT);
    json_decref(args);
    aduan_msg_t *request = aduan_msg_new(ADUAN_MSG_REQUEST), *reply = NULL;
    zsock_t *sock = zsock_new(ZMQ_DEALER);
    zpoller_t *poller = NULL;
    if (!args_text || !request || !sock || aduan_msg_set(&request->request.command, cmd->request) ||
        aduan_msg_set(&request->request.actor, os_user(user, sizeof user)) ||
        aduan_msg_set(&request->request.args, args_text)) {
        fprintf(stderr, PROGRAM ": out of memory\n");
        goto done;
    }
    zsock_set_linger(sock, 0);
    zsock_set_sndtimeo(sock, (int)timeout);
    char curve_why[256];
    if (aduan_curve_connect(sock, endpoint, config, curve_why, sizeof curve_why) != 0) {
        fprintf(stderr, PROGRAM ": %s\n", curve_why);
        goto done;
    }
    if (zsock_connect(sock, "%s", endpoint) != 0) {
        fprintf(stderr, PROGRAM ": cannot reach the core at %s: %s\n", endpoint,
                zmq_strerror(zmq_errno()));
        goto done;
    }
    if (aduan_msg_send(request, sock, NULL) != 0) {
        fprintf(stderr, PROGRAM ": cannot reach the core at %s: the request could not be sent\n",
                endpoint);
        goto done;
    }
    poller = zpoller_new(sock, NULL);
    int64_t deadline = aduan_monotonic_ms() + timeout;
    while (!reply) {
        int64_t left = deadline - aduan_monotonic_ms();
        if (left <= 0 || !poller) {
            say_unreachable(endpoint, timeout);
            goto done;
        }
        if (!zpoller_wait(poller, (int)left))
            continue; /* timed out or interrupted: the deadline decides */
        zmsg_t *zm = zmsg_recv(sock);
        char id[ADUAN_MSG_ID_MAX + 1], why[512] = "receive failed";
        reply = zm ? aduan_msg_decode(&zm, REPLY_MAX, id, why, sizeof why) : NULL;
        if (!reply) {
            fprintf(stderr, PROGRAM ": unreadable answer from the core at %s: ", endpoint);
            put_clean(stderr, why);
            fputc('\n', stderr);
            goto done;
        }
        if (reply->type != ADUAN_MSG_REPLY) {
            fprintf(stderr, PROGRAM ": the core at %s answered with %s, not REPLY\n", endpoint,
                    aduan_msg_type_name(reply->type));
            goto done;
        }
        /* A REPLY carries the REQUEST's id; "-" when the core could not read ours, which
           can only be a refusal. Anything else answers someone else: wait on. */
        bool ours = strcmp(reply->id, request->id) == 0 ||
                    (strcmp(reply->id, "-") == 0 && strcmp(reply->reply.status, "ok") != 0);
        if (!ours)
            aduan_msg_destroy(&reply);
    }

    json_error_t jerr;
    json_t *body = reply->reply.body ? json_loads(reply->reply.body, 0, &jerr) : NULL;
    if (strcmp(reply->reply.status, "ok") != 0) {
        const char *reason = json_string_value(json_object_get(body, "reason"));
        fprintf(stderr, PROGRAM ": ");
        put_clean(stderr, reason && *reason ? reason : reply->reply.status);
        fputc('\n', stderr);
        json_decref(body);
        result = CTL_REFUSED;
    } else if (!body) {
        fprintf(stderr, PROGRAM ": the core's answer is not JSON: %s\n",
                reply->reply.body ? jerr.text : "empty");
    } else {
        *body_p = body;
        result = CTL_OK;
    }
done:
    zpoller_destroy(&poller);
    zsock_destroy(&sock);
    aduan_msg_destroy(&request);
    aduan_msg_destroy(&reply);
    free(args_text);
    return result;
}

static int run_request(const command_t *cmd, const invocation_t *inv, const aduan_config_t *config)
{
    json_t *body;
    int status = ask(cmd, inv, config, &body);
    if (status != CTL_OK)
        return status;
    if (inv->json) {
        /* ENSURE_ASCII, as the core sent it: no raw control character can reach the
           terminal even inside a string */
        json_dumpf(body, stdout, JSON_INDENT(2) | JSON_ENSURE_ASCII);
        fputc('\n', stdout);
        if (cmd->judge)
            status = cmd->judge(body);
    } else
        status = cmd->print(body);
    json_decref(body);
    if (fflush(stdout) != 0) {
        fprintf(stderr, PROGRAM ": cannot write the answer: %s\n", strerror(errno));
        return CTL_FAIL;
    }
    return status;
}

/* ---- watch ----------------------------------------------------------------------------- */

static volatile sig_atomic_t stop_signal;

static void on_stop_signal(int sig)
{
    stop_signal = sig;
}

/* The detail of an event (a JSON object) as "key=value key=\"two words\"". Caller frees. */
static char *event_detail_text(const char *detail)
{
    json_t *obj = detail && *detail ? json_loads(detail, 0, NULL) : NULL;
    if (!json_is_object(obj)) {
        json_decref(obj);
        return strdup(detail && *detail ? detail : "-");
    }
    size_t cap = strlen(detail) * 2 + 16, len = 0;
    char *out = xmalloc(cap);
    out[0] = '\0';
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v) {
        const char *value = value_text(v, false, (char[TEXT_MAX]){0}, TEXT_MAX);
        bool quote = json_is_string(v) && (!*json_string_value(v) || strpbrk(value, " \"="));
        size_t need = strlen(key) + strlen(value) * 2 + 5;
        if (len + need >= cap) {
            cap = (len + need) * 2;
            char *grown = realloc(out, cap);
            if (!grown) {
                fprintf(stderr, PROGRAM ": out of memory\n");
                exit(CTL_FAIL);
            }
            out = grown;
        }
        if (json_is_string(v))
            value = json_string_value(v);
        len += (size_t)sprintf(out + len, "%s%s=%s", len ? " " : "", key, quote ? "\"" : "");
        for (const char *p = value; *p; p++) {
            if (quote && (*p == '"' || *p == '\\'))
                out[len++] = '\\';
            out[len++] = *p;
        }
        len += (size_t)sprintf(out + len, "%s", quote ? "\"" : "");
    }
    json_decref(obj);
    return out;
}

static void print_event(const aduan_msg_t *m, bool as_json)
{
    int64_t now = aduan_clock_now_ms(NULL);
    if (as_json) {
        char at[32];
        aduan_format_utc(now, at, sizeof at);
        json_t *detail = m->event.detail && *m->event.detail
                             ? json_loads(m->event.detail, JSON_DECODE_ANY, NULL)
                             : json_null();
        if (!detail)
            detail = json_string(m->event.detail);
        json_t *line = json_pack(
            "{s:s, s:s, s:s?, s:o?}", "at", at, "topic", m->event.topic, "ticket",
            m->event.ticket && *m->event.ticket ? m->event.ticket : NULL, "detail", detail);
        if (line && json_dumpf(line, stdout, JSON_COMPACT | JSON_ENSURE_ASCII) == 0)
            fputc('\n', stdout);
        json_decref(line);
        return;
    }
    char when[64];
    time_t t = (time_t)(now / 1000);
    struct tm local;
    localtime_r(&t, &local);
    strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &local);
    char *topic = clean(m->event.topic, false), *ticket = clean(m->event.ticket, false);
    printf("%s  ", when);
    put_fit(stdout, topic, 16, false, true);
    printf("  ");
    put_fit(stdout, *ticket ? ticket : "-", 14, false, true);
    printf("  ");
    char *detail = event_detail_text(m->event.detail);
    put_clean(stdout, detail);
    fputc('\n', stdout);
    free(detail);
    free(topic);
    free(ticket);
}

static int run_keygen(const command_t *cmd, const invocation_t *inv, const aduan_config_t *config)
{
    (void)cmd;
    (void)config;
    const char *dir = inv->output ? inv->output : ".";
    char reason[512];
    if (aduan_curve_keygen(dir, inv->operand, reason, sizeof reason) != 0) {
        fprintf(stderr, PROGRAM ": %s\n", reason);
        return CTL_REFUSED;
    }
    if (inv->json) {
        char pub[4096], secret[4096];
        snprintf(pub, sizeof pub, "%s/%s.key", dir, inv->operand);
        snprintf(secret, sizeof secret, "%s/%s.key_secret", dir, inv->operand);
        json_t *paths = json_pack("{s:s, s:s}", "public", pub, "secret", secret);
        json_dumpf(paths, stdout, JSON_INDENT(2));
        putchar('\n');
        json_decref(paths);
    } else
        printf("%s/%s.key         public: copy it to the peer that must know this one\n"
               "%s/%s.key_secret  secret: stays here (mode 600)\n",
               dir, inv->operand, dir, inv->operand);
    return CTL_OK;
}

static int run_watch(const command_t *cmd, const invocation_t *inv, const aduan_config_t *config)
{
    (void)cmd;
    const char *endpoint = config->bus.events;
    if (!reachable(endpoint, "bus.events"))
        return CTL_FAIL;
    struct sigaction sa = {.sa_handler = on_stop_signal}; /* no SA_RESTART: wake the poll */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    zsock_t *sock = zsock_new(ZMQ_SUB);
    if (!sock) {
        fprintf(stderr, PROGRAM ": cannot make a socket: %s\n", zmq_strerror(zmq_errno()));
        return CTL_FAIL;
    }
    zsock_set_linger(sock, 0);
    zsock_set_subscribe(sock, "");
    char curve_why[256];
    if (aduan_curve_connect(sock, endpoint, config, curve_why, sizeof curve_why) != 0) {
        fprintf(stderr, PROGRAM ": %s\n", curve_why);
        zsock_destroy(&sock);
        return CTL_FAIL;
    }
    if (zsock_connect(sock, "%s", endpoint) != 0) {
        fprintf(stderr, PROGRAM ": cannot reach the core at %s: %s\n", endpoint,
                zmq_strerror(zmq_errno()));
        zsock_destroy(&sock);
        return CTL_FAIL;
    }
    zpoller_t *poller = zpoller_new(sock, NULL);
    size_t max_size = (size_t)config->bus.max_message_bytes;
    int64_t idle = inv->timeout_ms, seen = 0, deadline = aduan_monotonic_ms() + idle;
    int result = CTL_OK;
    while (poller && !stop_signal && (inv->count < 0 || seen < inv->count)) {
        int64_t left = idle < 0 ? -1 : deadline - aduan_monotonic_ms();
        if (idle >= 0 && left <= 0)
            break; /* quiet for --timeout: done */
        if (!zpoller_wait(poller, (int)left))
            continue; /* timed out or interrupted: the loop's tests decide */
        zmsg_t *zm = zmsg_recv(sock);
        if (!zm)
            continue; /* interrupted */
        char id[ADUAN_MSG_ID_MAX + 1], why[512];
        aduan_msg_t *m = aduan_msg_decode(&zm, max_size, id, why, sizeof why);
        if (!m) {
            fprintf(stderr, PROGRAM ": skipped an unreadable event: ");
            put_clean(stderr, why);
            fputc('\n', stderr);
            continue;
        }
        if (m->type == ADUAN_MSG_EVENT) {
            print_event(m, inv->json);
            seen++;
            deadline = aduan_monotonic_ms() + idle;
            if (fflush(stdout) != 0) {
                result = CTL_FAIL;
                stop_signal = SIGPIPE;
            }
        }
        aduan_msg_destroy(&m);
    }
    if (!poller) {
        fprintf(stderr, PROGRAM ": out of memory\n");
        result = CTL_FAIL;
    }
    zpoller_destroy(&poller);
    zsock_destroy(&sock);
    return result;
}

/* ---- help ------------------------------------------------------------------------------ */

static int run_help(const command_t *cmd, const invocation_t *inv, const aduan_config_t *config)
{
    (void)cmd;
    (void)config;
    if (!inv->operand) {
        print_usage(stdout);
        return CTL_OK;
    }
    const command_t *about = find_command(inv->operand);
    if (!about) {
        fprintf(stderr, PROGRAM ": unknown command '%s'\nTry '" PROGRAM " --help'.\n",
                inv->operand);
        return CTL_FAIL;
    }
    print_command_help(stdout, about);
    return CTL_OK;
}

/* ---- main ------------------------------------------------------------------------------ */

int main(int argc, char **argv)
{
    /* CZMQ's own SIGINT handler would turn ^C into a failed receive; watch sets its own. */
    zsys_handler_set(NULL);
    aduan_log_threshold = ADUAN_LOG_WARN;

    invocation_t inv = {.timeout_ms = -1, .limit = -1, .offset = -1, .count = -1};
    int status;
    const command_t *cmd = parse_command_line(argc, argv, &inv, &status);
    if (!cmd)
        goto done;
    if (!cmd->needs_config) {
        status = cmd->run(cmd, &inv, NULL);
        goto done;
    }

    if (!inv.config_path)
        inv.config_path = getenv("ADUAN_CONFIG") && *getenv("ADUAN_CONFIG") ? getenv("ADUAN_CONFIG")
                                                                            : DEFAULT_CONFIG;
    aduan_config_t *config = NULL;
    aduan_config_errors_t errors = {0};
    if (aduan_config_load(inv.config_path, &config, &errors) != 0) {
        for (size_t i = 0; i < errors.count; i++)
            fprintf(stderr, PROGRAM ": %s\n", errors.lines[i]);
        if (errors.count == 0)
            fprintf(stderr, PROGRAM ": %s: cannot load the configuration\n", inv.config_path);
        aduan_config_errors_clear(&errors);
        status = CTL_FAIL;
        goto done;
    }
    status = cmd->run ? cmd->run(cmd, &inv, config) : run_request(cmd, &inv, config);
    aduan_config_destroy(&config);
done:
    free(inv.operand);
    return status;
}
