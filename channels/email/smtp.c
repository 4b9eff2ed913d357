/*  smtp.c - DELIVERs out through libESMTP (see smtp.h). */
#include "smtp.h"

/* REFERENCE.md 3: OpenSSL and auth-client before libesmtp.h, or the TLS and AUTH calls
   are not declared. */
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <auth-client.h>
#include <libesmtp.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "aduan/clock.h"
#include "aduan/log.h"
#include "message.h"

#define PASSWORD_MAX 1024

struct email_smtp {
    const aduan_config_t *config;
    char server[300]; /* host:port for smtp_set_server */
    char *password;   /* NULL without AUTH */
    SSL_CTX *tls;     /* NULL with smtp_tls = none */
};

/* One DELIVER in the session. */
typedef struct {
    const aduan_msg_t *deliver;
    char *text;      /* the message; NULL when the DELIVER was refused */
    smtp_message_t message;
    smtp_recipient_t recipient;
    bool reported;   /* its outcome went to the core while the session went on */
} item_t;

/* What one session learnt beyond the replies: why TLS was refused, for the detail; how
   AUTH went (libESMTP moves on to MAIL after a failed AUTH, so it is watched here); and
   the session's items, so that each message the server took is reported at once. */
typedef struct {
    char detail[256];
    bool auth_sent;        /* an AUTH command is waiting for its reply */
    bool authenticated;    /* 235 came */
    char auth_reply[200];  /* the last refusal of AUTH */
    bool answered;         /* the server said anything at all: it is there */
    item_t *items;
    size_t count;
    bool auth_wanted;
    email_smtp_report_fn *report;
    void *report_arg;
} session_notes_t;

static void report_one(const item_t *it, const session_notes_t *notes);

/*  The server took a message: its RESULT goes now, not after the whole session, so that
    a crash later in the session (or before the core commits the RESULTs) sends again
    only what was not yet reported, instead of every message of the session. */
static void message_sent(session_notes_t *notes, smtp_message_t message)
{
    const smtp_status_t *data = smtp_message_transfer_status(message);
    if (!data || data->code < 200 || data->code >= 300)
        return; /* a refusal is reported with the rest, after the session */
    for (size_t i = 0; i < notes->count; i++) {
        item_t *it = &notes->items[i];
        if (it->message == message && it->text && !it->reported) {
            report_one(it, notes);
            it->reported = true;
        }
    }
}

static pthread_once_t auth_once = PTHREAD_ONCE_INIT;

static void auth_init(void)
{
    auth_client_init();
}

/* ---- configuration ---------------------------------------------------------------------- */

static bool host_is_loopback(const char *host)
{
    struct in_addr v4;
    struct in6_addr v6;
    if (strcmp(host, "localhost") == 0)
        return true;
    if (inet_pton(AF_INET, host, &v4) == 1)
        return (ntohl(v4.s_addr) >> 24) == 127;
    return inet_pton(AF_INET6, host, &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}

/* The first line of a file nobody else may read. */
static char *read_password(const char *path, char *reason, size_t reasonlen)
{
    if (!path || !*path) {
        snprintf(reason, reasonlen, "email.smtp_user is set but smtp_password_file is not");
        return NULL;
    }
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        snprintf(reason, reasonlen, "smtp_password_file %s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    if (!S_ISREG(st.st_mode) || (st.st_mode & 0777 & ~0600) != 0) {
        snprintf(reason, reasonlen, "smtp_password_file %s: mode %04o, must be 0600 or tighter",
                 path, (unsigned)(st.st_mode & 07777));
        close(fd);
        return NULL;
    }
    char buf[PASSWORD_MAX + 1];
    ssize_t n = read(fd, buf, PASSWORD_MAX);
    close(fd);
    if (n < 0) {
        snprintf(reason, reasonlen, "smtp_password_file %s: %s", path, strerror(errno));
        return NULL;
    }
    buf[n] = '\0';
    buf[strcspn(buf, "\r\n")] = '\0';
    if (!buf[0]) {
        snprintf(reason, reasonlen, "smtp_password_file %s is empty", path);
        return NULL;
    }
    char *password = strdup(buf);
    explicit_bzero(buf, sizeof buf);
    if (!password)
        snprintf(reason, reasonlen, "out of memory");
    return password;
}

/*  A context that verifies the chain against ca_file and the server's name (DNS or IP) in
    OpenSSL. Verification does not stop the handshake (SSL_VERIFY_NONE) so that libESMTP
    gets the result and names it in SMTP_EV_INVALID_PEER_CERTIFICATE, where it is refused. */
static SSL_CTX *tls_context(const aduan_config_t *config, char *reason, size_t reasonlen)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx) {
        snprintf(reason, reasonlen, "SSL_CTX_new failed");
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    /* libESMTP 1.1.0 (Debian 12) stalls after a TLS 1.3 STARTTLS handshake until the
       timeout (tested against Postfix 3.7 with OpenSSL 3.0): TLS 1.2 it is. */
    SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    const char *ca = config->email.ca_file;
    int loaded = ca && *ca ? SSL_CTX_load_verify_locations(ctx, ca, NULL)
                           : SSL_CTX_set_default_verify_paths(ctx);
    X509_VERIFY_PARAM *param = SSL_CTX_get0_param(ctx);
    const char *host = config->email.smtp_host;
    struct in6_addr any;
    bool is_ip = inet_pton(AF_INET, host, &any) == 1 || inet_pton(AF_INET6, host, &any) == 1;
    int named = is_ip ? X509_VERIFY_PARAM_set1_ip_asc(param, host)
                      : X509_VERIFY_PARAM_set1_host(param, host, 0);
    if (loaded != 1 || named != 1) {
        snprintf(reason, reasonlen, loaded != 1 ? "ca_file %s: no certificates loaded"
                                                : "smtp_host %s: not a name to check",
                 loaded != 1 ? (ca && *ca ? ca : "(system)") : host);
        SSL_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

email_smtp_t *email_smtp_new(const aduan_config_t *config, char *reason, size_t reasonlen)
{
    const char *tls = config->email.smtp_tls;
    if (!email_address_valid(config->email.address)) {
        snprintf(reason, reasonlen, "email.address \"%.100s\" is not one plain address (the From)",
                 config->email.address ? config->email.address : "");
        return NULL;
    }
    if (strcmp(tls, "implicit") == 0) {
        snprintf(reason, reasonlen, "smtp_tls = implicit: libESMTP has no implicit TLS "
                                    "(port 465); use starttls on the submission port");
        return NULL;
    }
    if (strcmp(tls, "none") == 0 && !host_is_loopback(config->email.smtp_host)) {
        snprintf(reason, reasonlen, "smtp_tls = none only to a loopback host, not %s",
                 config->email.smtp_host);
        return NULL;
    }
    email_smtp_t *self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(reason, reasonlen, "out of memory");
        return NULL;
    }
    self->config = config;
    bool v6 = strchr(config->email.smtp_host, ':') != NULL;
    snprintf(self->server, sizeof self->server, v6 ? "[%s]:%lld" : "%s:%lld",
             config->email.smtp_host, (long long)config->email.smtp_port);
    if (config->email.smtp_user && *config->email.smtp_user &&
        !(self->password = read_password(config->email.smtp_password_file, reason, reasonlen)))
        goto fail;
    if (strcmp(tls, "starttls") == 0 && !(self->tls = tls_context(config, reason, reasonlen)))
        goto fail;
    pthread_once(&auth_once, auth_init);
    return self;
fail:
    email_smtp_destroy(&self);
    return NULL;
}

void email_smtp_destroy(email_smtp_t **self_p)
{
    email_smtp_t *self = *self_p;
    if (!self)
        return;
    if (self->password) {
        explicit_bzero(self->password, strlen(self->password));
        free(self->password);
    }
    SSL_CTX_free(self->tls);
    free(self);
    *self_p = NULL;
}

/* ---- libESMTP callbacks ----------------------------------------------------------------- */

static void note(session_notes_t *notes, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void note(session_notes_t *notes, const char *fmt, ...)
{
    if (notes->detail[0])
        return; /* the first problem is the cause */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(notes->detail, sizeof notes->detail, fmt, ap);
    va_end(ap);
}

static void on_event(smtp_session_t session, int event, void *arg, ...)
{
    (void)session;
    session_notes_t *notes = arg;
    va_list ap;
    va_start(ap, arg);
    switch (event) {
    case SMTP_EV_INVALID_PEER_CERTIFICATE: {
        long result = va_arg(ap, long);
        int *ok = va_arg(ap, int *);
        *ok = 0;
        note(notes, "certificate verify failed: %s", X509_verify_cert_error_string(result));
        break;
    }
    case SMTP_EV_NO_PEER_CERTIFICATE: {
        int *ok = va_arg(ap, int *);
        *ok = 0;
        note(notes, "the server sent no certificate");
        break;
    }
    case SMTP_EV_WRONG_PEER_CERTIFICATE: {
        /* libESMTP compares DNS names only, so an IP address never matches there. OpenSSL
           checked the chain and the name (tls_context), and a failure of either has ended
           the session already (INVALID_PEER_CERTIFICATE): reaching here means it passed. */
        int *ok = va_arg(ap, int *);
        *ok = 1;
        break;
    }
    case SMTP_EV_WEAK_CIPHER: {
        int bits = va_arg(ap, int);
        int *ok = va_arg(ap, int *);
        *ok = 0;
        note(notes, "weak cipher (%d bits)", bits);
        break;
    }
    case SMTP_EV_EXTNA_STARTTLS:
        note(notes, "the server offers no STARTTLS");
        break;
    case SMTP_EV_UNUSABLE_CA_LIST:
        note(notes, "unusable CA list");
        break;
    case SMTP_EV_MESSAGESENT:
        message_sent(notes, va_arg(ap, smtp_message_t));
        break;
    default:
        break;
    }
    va_end(ap);
}

/*  The protocol as it passes: only the replies to AUTH are looked at. A buffer holds one
    or more whole lines; what is written may carry the credentials and is never kept. */
static void on_protocol(const char *buf, int len, int writing, void *arg)
{
    session_notes_t *notes = arg;
    if (writing == SMTP_CB_HEADERS)
        return;
    if (writing) {
        for (int i = 0; i + 5 <= len; i++)
            if ((i == 0 || buf[i - 1] == '\n') && strncasecmp(buf + i, "AUTH ", 5) == 0)
                notes->auth_sent = true;
        return;
    }
    notes->answered = true;
    if (!notes->auth_sent || len < 4 || !isdigit((unsigned char)buf[0]))
        return;
    if (buf[0] == '2') {
        notes->authenticated = true;
        notes->auth_sent = false;
    } else if (buf[0] == '4' || buf[0] == '5') {
        int n = (int)strcspn(buf, "\r\n");
        snprintf(notes->auth_reply, sizeof notes->auth_reply, "%.*s", n < len ? n : len, buf);
        notes->auth_sent = false;
    }
}

static int interact(auth_client_request_t request, char **result, int fields, void *arg)
{
    email_smtp_t *self = arg;
    for (int i = 0; i < fields; i++) {
        if (request[i].flags & AUTH_USER)
            result[i] = self->config->email.smtp_user;
        else if (request[i].flags & AUTH_PASS)
            result[i] = self->password;
        else
            return 0;
    }
    return 1;
}

/* ---- outcome ---------------------------------------------------------------------------- */

/* "250 2.0.0 Ok: queued as 4Xq3Lk0tG9z" -> "4Xq3Lk0tG9z" */
static void queue_id(const char *text, char *out, size_t outlen)
{
    out[0] = '\0';
    const char *p = text ? strstr(text, "queued as ") : NULL;
    if (!p)
        return;
    p += strlen("queued as ");
    size_t n = 0;
    while (isalnum((unsigned char)p[n]) && n + 1 < outlen)
        n++;
    memcpy(out, p, n);
    out[n] = '\0';
}

static const char *class_status(int code)
{
    return code >= 500 ? "permanent" : code >= 200 && code < 300 ? "sent" : "temporary";
}

/* The server's reply as a one-line detail: "550 5.1.1 <x@test.local>: Recipient ..." */
static void reply_detail(const smtp_status_t *st, char *out, size_t outlen)
{
    snprintf(out, outlen, "%d %s", st->code, st->text ? st->text : "");
    out[strcspn(out, "\r\n")] = '\0';
}

typedef struct {
    const char *status;
    bool server_refused; /* the server's reply said no (not a failed session) */
    char detail[512];
    char provider_id[64];
} outcome_t;

/* One DELIVER's outcome, from the replies to its MAIL, RCPT and message data. */
static void classify(const item_t *it, const char *session_detail, outcome_t *out)
{
    const smtp_status_t *from = smtp_reverse_path_status(it->message);
    const smtp_status_t *rcpt = smtp_recipient_status(it->recipient);
    const smtp_status_t *data = smtp_message_transfer_status(it->message);
    const smtp_status_t *said = NULL;
    out->provider_id[0] = '\0';
    if (from && from->code >= 400) {
        said = from;
    } else if (!rcpt || rcpt->code == 0) {
        /* never got as far as this recipient: the session failed before */
        out->status = "temporary";
        snprintf(out->detail, sizeof out->detail, "%s", session_detail);
    } else if (rcpt->code >= 300) {
        said = rcpt;
    } else if (!data || data->code == 0) {
        /* RCPT taken, no final reply to the data: whether it went is unknown, so the
           core's retry (same Message-ID) is the lesser harm */
        out->status = "temporary";
        snprintf(out->detail, sizeof out->detail, "no reply to the message data: %s",
                 session_detail);
    } else {
        said = data;
    }
    out->server_refused = said && said->code >= 300;
    if (said) {
        out->status = class_status(said->code);
        reply_detail(said, out->detail, sizeof out->detail);
        if (said == data && strcmp(out->status, "sent") == 0)
            queue_id(data->text, out->provider_id, sizeof out->provider_id);
    }
}

/* Reports one message's outcome to the core through the session's report function. */
static void report_one(const item_t *it, const session_notes_t *notes)
{
    outcome_t out;
    classify(it, notes->detail, &out);
    if (notes->auth_wanted && !notes->authenticated && out.server_refused) {
        /* refused because we are not logged in: the office's password to fix, and the core
           keeps trying meanwhile; never a permanent failure of the citizen's reply */
        out.status = "temporary";
        snprintf(out.detail, sizeof out.detail, "AUTH failed: %s",
                 notes->auth_reply[0] ? notes->auth_reply : "the server offers no AUTH");
    }
    const aduan_msg_t *d = it->deliver;
    const char *ticket = d->deliver.ticket && *d->deliver.ticket ? d->deliver.ticket : "-";
    char masked[ADUAN_MASK_MAX];
    aduan_mask_email(d->deliver.to_addr, masked, sizeof masked);
    if (strcmp(out.status, "sent") == 0)
        log_info("email", "%s email sent outbox=%llu to=%s queue_id=%s", ticket,
                 (unsigned long long)d->deliver.outbox_id, masked,
                 out.provider_id[0] ? out.provider_id : "-");
    else
        log_warn("email", "%s email %s outbox=%llu to=%s: %s", ticket, out.status,
                 (unsigned long long)d->deliver.outbox_id, masked, out.detail);
    notes->report(notes->report_arg, d->deliver.outbox_id, out.status,
                  out.provider_id[0] ? out.provider_id : NULL, out.detail);
}

/* ---- the session ------------------------------------------------------------------------ */

/* The message for one DELIVER, or a permanent refusal reported at once. */
static bool prepare(email_smtp_t *self, item_t *it, email_smtp_report_fn *report, void *arg)
{
    const aduan_msg_t *d = it->deliver;
    email_message_env_t env = {
        .from_addr = self->config->email.address,
        .from_name = self->config->email.display_name,
        .date_ms = aduan_clock_now_ms(NULL),
    };
    char reason[200];
    size_t size;
    it->text = email_message_build(d, &env, &size, reason, sizeof reason);
    if (it->text)
        return true;
    char masked[ADUAN_MASK_MAX];
    log_warn("email", "%s email refused outbox=%llu to=%s: %s",
             d->deliver.ticket && *d->deliver.ticket ? d->deliver.ticket : "-",
             (unsigned long long)d->deliver.outbox_id,
             aduan_mask_address(d->deliver.to_addr, masked, sizeof masked), reason);
    report(arg, d->deliver.outbox_id, strcmp(reason, "out of memory") == 0 ? "temporary"
                                                                          : "permanent",
           NULL, reason);
    return false;
}

static void set_timeouts(smtp_session_t session, int64_t seconds)
{
    static const int kinds[] = {Timeout_GREETING, Timeout_ENVELOPE, Timeout_DATA,
                                Timeout_TRANSFER, Timeout_DATA2};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        smtp_set_timeout(session, kinds[i] | Timeout_OVERRIDE_RFC2822_MINIMUM,
                         (long)(seconds * 1000)); /* milliseconds, whatever the manual says */
}

int email_smtp_send(email_smtp_t *self, const aduan_msg_t *const *delivers, size_t count,
                    email_smtp_report_fn *report, void *arg)
{
    item_t *items = calloc(count ? count : 1, sizeof *items);
    session_notes_t notes = {.detail = "",
                             .items = items,
                             .count = count,
                             .auth_wanted = self->password != NULL,
                             .report = report,
                             .report_arg = arg};
    smtp_session_t session = smtp_create_session();
    auth_context_t auth = NULL;
    size_t queued = 0;
    if (!items || !session) {
        for (size_t i = 0; i < count; i++)
            report(arg, delivers[i]->deliver.outbox_id, "temporary", NULL, "out of memory");
        goto done;
    }
    smtp_set_server(session, self->server);
    smtp_set_eventcb(session, on_event, &notes);
    smtp_set_monitorcb(session, on_protocol, &notes, 0);
    set_timeouts(session, self->config->email.smtp_timeout_s);
    if (self->tls) {
        smtp_starttls_enable(session, Starttls_REQUIRED);
        smtp_starttls_set_ctx(session, self->tls);
    }
    if (self->password) {
        auth = auth_create_context();
        auth_set_mechanism_flags(auth, AUTH_PLUGIN_PLAIN, 0);
        auth_set_interact_cb(auth, interact, self);
        smtp_auth_set_context(session, auth);
    }
    for (size_t i = 0; i < count; i++) {
        item_t *it = &items[i];
        it->deliver = delivers[i];
        if (!prepare(self, it, report, arg))
            continue;
        it->message = smtp_add_message(session);
        if (!it->message || !smtp_set_reverse_path(it->message, self->config->email.address) ||
            !(it->recipient = smtp_add_recipient(it->message, it->deliver->deliver.to_addr)) ||
            !smtp_set_message_str(it->message, it->text)) {
            report(arg, it->deliver->deliver.outbox_id, "temporary", NULL, "out of memory");
            free(it->text);
            it->text = NULL;
            continue;
        }
        queued++;
    }
    if (queued == 0)
        goto done;
    if (!smtp_start_session(session)) {
        char buf[160];
        note(&notes, "%s", smtp_strerror(smtp_errno(), buf, sizeof buf));
    }
    if (!notes.detail[0])
        snprintf(notes.detail, sizeof notes.detail, "the server ended the session");
    for (size_t i = 0; i < count; i++)
        if (items[i].text && !items[i].reported)
            report_one(&items[i], &notes);
done:
    if (session)
        smtp_destroy_session(session);
    if (auth)
        auth_destroy_context(auth);
    for (size_t i = 0; items && i < count; i++)
        free(items[i].text);
    free(items);
    return queued == 0 ? -1 : notes.answered ? 1 : 0;
}
