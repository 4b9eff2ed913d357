/*  imap.c - one IMAP session with libetpan (see imap.h). */
#include "imap.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libetpan/libetpan.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tls_verify.h"

#define TIMEOUT_S 60        /* any one answer of the server */
#define PASSWORD_MAX 1024

struct email_imap {
    mailimap *imap;
    char *host;
    char *mailbox;
    char folder[512];       /* processed folder in the server's hierarchy */
    uint32_t uidvalidity;
    bool has_idle, has_move, has_uidplus;
    bool idling;
    char error[512];
    /* the FETCH being read */
    email_fetched_t *items;
    size_t item_count, item_cap;
    bool oom;
};

static void set_error(email_imap_t *self, const char *what, int rc)
    __attribute__((nonnull(1, 2)));
static void set_error(email_imap_t *self, const char *what, int rc)
{
    const char *said = self->imap && self->imap->imap_response ? self->imap->imap_response : "";
    snprintf(self->error, sizeof self->error, "%s failed (libetpan %d)%s%s", what, rc,
             *said ? ": " : "", said);
}

/* ---- connecting ----------------------------------------------------------------------------- */

static bool address_is_loopback(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
    if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        return IN6_IS_ADDR_LOOPBACK(a) ||
               (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
    }
    return false;
}

/* True when every address host names is a loopback one: only then may a password go in
   the clear. */
static bool host_is_loopback(const char *host)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
    if (getaddrinfo(host, NULL, &hints, &res) != 0 || !res)
        return false;
    bool all = true;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next)
        all = all && address_is_loopback(ai->ai_addr);
    freeaddrinfo(res);
    return all;
}

static bool is_ip_literal(const char *host)
{
    unsigned char addr[16];
    return inet_pton(AF_INET, host, addr) == 1 || inet_pton(AF_INET6, host, addr) == 1;
}

/* The password file: a regular file no one else can read; its first line. */
static int read_password(const char *path, char *out, size_t outlen, char *reason,
                         size_t reasonlen)
{
    if (!path || !*path) {
        snprintf(reason, reasonlen, "email.imap_password_file is not set");
        return -1;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        snprintf(reason, reasonlen, "cannot read %s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    if (!S_ISREG(st.st_mode) || (st.st_mode & 077)) {
        snprintf(reason, reasonlen, "%s must be a file of mode 0600 or tighter (it is %04o)",
                 path, (unsigned)(st.st_mode & 07777));
        close(fd);
        return -1;
    }
    ssize_t n = read(fd, out, outlen - 1);
    close(fd);
    if (n < 0) {
        snprintf(reason, reasonlen, "cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    out[n] = '\0';
    out[strcspn(out, "\r\n")] = '\0';
    if (!*out) {
        snprintf(reason, reasonlen, "%s holds no password", path);
        return -1;
    }
    return 0;
}

static void set_sni(struct mailstream_ssl_context *ctx, void *host)
{
    mailstream_ssl_set_server_name(ctx, host);
}

static void refresh_capabilities(email_imap_t *self)
{
    struct mailimap_capability_data *cap = NULL;
    if (mailimap_capability(self->imap, &cap) == MAILIMAP_NO_ERROR && cap)
        mailimap_capability_data_free(cap);
}

static bool connected(int rc)
{
    return rc == MAILIMAP_NO_ERROR || rc == MAILIMAP_NO_ERROR_AUTHENTICATED ||
           rc == MAILIMAP_NO_ERROR_NON_AUTHENTICATED;
}

/* TCP, then TLS as configured, the certificate verified before anything is sent. */
static int open_link(email_imap_t *self, const aduan_config_t *config)
{
    const char *tls = config->email.imap_tls, *host = self->host;
    uint16_t port = (uint16_t)config->email.imap_port;
    void (*sni)(struct mailstream_ssl_context *, void *) = is_ip_literal(host) ? NULL : set_sni;
    int rc;
    if (strcmp(tls, "implicit") == 0) {
        rc = mailimap_ssl_connect_with_callback(self->imap, host, port, sni, self->host);
        if (!connected(rc)) {
            set_error(self, "TLS connection", rc);
            return -1;
        }
    } else {
        rc = mailimap_socket_connect(self->imap, host, port);
        if (!connected(rc)) {
            set_error(self, "connection", rc);
            return -1;
        }
        if (strcmp(tls, "none") == 0)
            return 0;
        refresh_capabilities(self);
        if (!mailimap_has_extension(self->imap, "STARTTLS")) {
            snprintf(self->error, sizeof self->error,
                     "%s offers no STARTTLS: no login over a plaintext link", host);
            return -1;
        }
        rc = mailimap_socket_starttls_with_callback(self->imap, sni, self->host);
        if (rc != MAILIMAP_NO_ERROR) {
            set_error(self, "STARTTLS", rc);
            return -1;
        }
    }
    char why[400];
    if (email_tls_verify(self->imap->imap_stream, host, config->email.ca_file, why,
                         sizeof why) != 0) {
        snprintf(self->error, sizeof self->error, "%s", why);
        return -1;
    }
    refresh_capabilities(self);
    return 0;
}

/*  The configured folder in the server's hierarchy ("Aduan/Terdaftar" is
    "Aduan.Terdaftar" where the delimiter is '.'), made and subscribed when missing. */
static int ensure_folder(email_imap_t *self, const char *configured)
{
    clist *list = NULL;
    char delimiter = '/';
    if (mailimap_list(self->imap, "", "", &list) == MAILIMAP_NO_ERROR && list &&
        clist_begin(list)) {
        const struct mailimap_mailbox_list *mb = clist_content(clist_begin(list));
        if (mb->mb_delimiter)
            delimiter = mb->mb_delimiter;
    }
    if (list)
        mailimap_list_result_free(list);
    snprintf(self->folder, sizeof self->folder, "%s", configured);
    for (char *c = self->folder; *c; c++)
        if (*c == '/')
            *c = delimiter;
    list = NULL;
    int rc = mailimap_list(self->imap, "", self->folder, &list);
    bool exists = rc == MAILIMAP_NO_ERROR && list && !clist_isempty(list);
    if (list)
        mailimap_list_result_free(list);
    if (rc != MAILIMAP_NO_ERROR) {
        set_error(self, "LIST", rc);
        return -1;
    }
    if (exists)
        return 0;
    rc = mailimap_create(self->imap, self->folder);
    if (rc != MAILIMAP_NO_ERROR) {
        set_error(self, "CREATE of the processed folder", rc);
        return -1;
    }
    mailimap_subscribe(self->imap, self->folder); /* for mail clients; not needed here */
    return 0;
}

email_imap_t *email_imap_connect(const aduan_config_t *config, char *reason, size_t reasonlen)
{
    const char *host = config->email.imap_host, *tls = config->email.imap_tls;
    if (strcmp(tls, "none") == 0 && !host_is_loopback(host)) {
        snprintf(reason, reasonlen,
                 "email.imap_tls = none is allowed for a loopback address only, not %s", host);
        return NULL;
    }
    char password[PASSWORD_MAX];
    if (read_password(config->email.imap_password_file, password, sizeof password, reason,
                      reasonlen) != 0)
        return NULL;
    email_imap_t *self = calloc(1, sizeof *self);
    if (!self || !(self->host = strdup(host)) ||
        !(self->mailbox = strdup(config->email.mailbox)) || !(self->imap = mailimap_new(0, NULL))) {
        snprintf(reason, reasonlen, "out of memory");
        explicit_bzero(password, sizeof password);
        email_imap_destroy(&self);
        return NULL;
    }
    mailimap_set_timeout(self->imap, TIMEOUT_S);
    int rc = open_link(self, config);
    if (rc == 0) {
        rc = mailimap_login(self->imap, config->email.imap_user, password);
        if (rc != MAILIMAP_NO_ERROR) {
            set_error(self, "login", rc);
            rc = -1;
        }
    }
    explicit_bzero(password, sizeof password);
    if (rc == 0) {
        refresh_capabilities(self); /* they change after login */
        self->has_idle = mailimap_has_idle(self->imap);
        self->has_move = mailimap_has_extension(self->imap, "MOVE");
        self->has_uidplus = mailimap_has_uidplus(self->imap);
        rc = ensure_folder(self, config->email.processed_folder);
    }
    if (rc == 0) {
        rc = mailimap_select(self->imap, self->mailbox);
        if (rc != MAILIMAP_NO_ERROR || !self->imap->imap_selection_info) {
            set_error(self, "SELECT", rc);
            rc = -1;
        } else {
            self->uidvalidity = self->imap->imap_selection_info->sel_uidvalidity;
        }
    }
    if (rc != 0) {
        snprintf(reason, reasonlen, "%s:%lld: %s", host, (long long)config->email.imap_port,
                 self->error);
        email_imap_destroy(&self);
        return NULL;
    }
    return self;
}

void email_imap_destroy(email_imap_t **self_p)
{
    email_imap_t *self = *self_p;
    if (!self)
        return;
    if (self->imap) {
        if (self->imap->imap_stream && !self->idling) {
            mailimap_set_timeout(self->imap, 5); /* polite; a dead link just fails it */
            mailimap_logout(self->imap);
        }
        mailimap_free(self->imap);
    }
    free(self->host);
    free(self->mailbox);
    free(self);
    *self_p = NULL;
}

const char *email_imap_error(const email_imap_t *self)
{
    return self->error;
}

uint32_t email_imap_uidvalidity(const email_imap_t *self)
{
    return self->uidvalidity;
}

bool email_imap_has_idle(const email_imap_t *self)
{
    return self->has_idle;
}

bool email_imap_has_move(const email_imap_t *self)
{
    return self->has_move;
}

const char *email_imap_processed_folder(const email_imap_t *self)
{
    return self->folder;
}

/* ---- reading -------------------------------------------------------------------------------- */

static int compare_uids(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

int email_imap_new_uids(email_imap_t *self, uint32_t after_uid, uint32_t **uids, size_t *count)
{
    *uids = NULL;
    *count = 0;
    struct mailimap_set *set = mailimap_set_new_interval(after_uid + 1, 0); /* n:* */
    struct mailimap_search_key *key = set ? mailimap_search_key_new_uid(set) : NULL;
    if (!key) {
        if (set)
            mailimap_set_free(set);
        snprintf(self->error, sizeof self->error, "out of memory");
        return -1;
    }
    clist *result = NULL;
    int rc = mailimap_uid_search(self->imap, NULL, key, &result);
    mailimap_search_key_free(key);
    if (rc != MAILIMAP_NO_ERROR) {
        set_error(self, "UID SEARCH", rc);
        return -1;
    }
    size_t n = 0;
    uint32_t *out = calloc((size_t)clist_count(result) + 1, sizeof *out);
    if (!out) {
        mailimap_search_result_free(result);
        snprintf(self->error, sizeof self->error, "out of memory");
        return -1;
    }
    for (clistiter *it = clist_begin(result); it; it = clist_next(it)) {
        uint32_t uid = *(uint32_t *)clist_content(it);
        if (uid > after_uid) /* "n:*" always matches the highest UID, even below n */
            out[n++] = uid;
    }
    mailimap_search_result_free(result);
    qsort(out, n, sizeof *out, compare_uids);
    *uids = out;
    *count = n;
    return 0;
}

static void take_msg_att(email_imap_t *self, struct mailimap_msg_att *att)
{
    email_fetched_t item = {0};
    const char *body = NULL;
    size_t body_len = 0;
    for (clistiter *it = clist_begin(att->att_list); it; it = clist_next(it)) {
        struct mailimap_msg_att_item *ai = clist_content(it);
        if (ai->att_type != MAILIMAP_MSG_ATT_ITEM_STATIC || !ai->att_data.att_static)
            continue;
        struct mailimap_msg_att_static *st = ai->att_data.att_static;
        if (st->att_type == MAILIMAP_MSG_ATT_UID)
            item.uid = st->att_data.att_uid;
        else if (st->att_type == MAILIMAP_MSG_ATT_RFC822_SIZE)
            item.size = st->att_data.att_rfc822_size;
        else if (st->att_type == MAILIMAP_MSG_ATT_BODY_SECTION && st->att_data.att_body_section) {
            body = st->att_data.att_body_section->sec_body_part;
            body_len = st->att_data.att_body_section->sec_length;
        }
    }
    if (!item.uid)
        return; /* a FETCH the server sent on its own (flags changed elsewhere) */
    if (body) {
        /* libetpan frees its copy when the handler returns */
        if (!(item.data = malloc(body_len + 1))) {
            self->oom = true;
            return;
        }
        memcpy(item.data, body, body_len);
        item.data[body_len] = '\0';
        item.len = body_len;
    }
    if (self->item_count == self->item_cap) {
        size_t cap = self->item_cap ? self->item_cap * 2 : 16;
        email_fetched_t *grown = realloc(self->items, cap * sizeof *grown);
        if (!grown) {
            free(item.data);
            self->oom = true;
            return;
        }
        self->items = grown;
        self->item_cap = cap;
    }
    self->items[self->item_count++] = item;
}

static void on_msg_att(struct mailimap_msg_att *att, void *context)
{
    take_msg_att(context, att);
}

/* libetpan 1.9.4 hands FETCH results to the handler only when a progress callback is set. */
static void no_progress(size_t current, size_t maximum, void *context)
{
    (void)current;
    (void)maximum;
    (void)context;
}

static struct mailimap_set *set_of(const uint32_t *uids, size_t count)
{
    struct mailimap_set *set = mailimap_set_new_empty();
    for (size_t i = 0; set && i < count; i++)
        if (mailimap_set_add_single(set, uids[i]) != MAILIMAP_NO_ERROR) {
            mailimap_set_free(set);
            return NULL;
        }
    return set;
}

int email_imap_fetch(email_imap_t *self, const uint32_t *uids, size_t count, bool bodies,
                     bool header_only, email_fetched_t **items, size_t *item_count)
{
    *items = NULL;
    *item_count = 0;
    if (count == 0)
        return 0;
    struct mailimap_set *set = set_of(uids, count);
    struct mailimap_fetch_type *ft = mailimap_fetch_type_new_fetch_att_list_empty();
    if (!set || !ft) {
        if (set)
            mailimap_set_free(set);
        if (ft)
            mailimap_fetch_type_free(ft);
        snprintf(self->error, sizeof self->error, "out of memory");
        return -1;
    }
    mailimap_fetch_type_new_fetch_att_list_add(ft, mailimap_fetch_att_new_uid());
    mailimap_fetch_type_new_fetch_att_list_add(ft, mailimap_fetch_att_new_rfc822_size());
    if (bodies)
        mailimap_fetch_type_new_fetch_att_list_add(
            ft, mailimap_fetch_att_new_body_peek_section(
                    header_only ? mailimap_section_new_header() : mailimap_section_new(NULL)));
    self->items = NULL;
    self->item_count = self->item_cap = 0;
    self->oom = false;
    mailimap_set_progress_callback(self->imap, no_progress, no_progress, NULL);
    mailimap_set_msg_att_handler(self->imap, on_msg_att, self);
    clist *result = NULL;
    int rc = mailimap_uid_fetch(self->imap, set, ft, &result);
    mailimap_set_msg_att_handler(self->imap, NULL, NULL);
    if (result) {
        /* whatever did not go through the handler */
        for (clistiter *it = clist_begin(result); it; it = clist_next(it))
            take_msg_att(self, clist_content(it));
        mailimap_fetch_list_free(result);
    }
    mailimap_fetch_type_free(ft);
    mailimap_set_free(set);
    if (rc != MAILIMAP_NO_ERROR || self->oom) {
        if (self->oom)
            snprintf(self->error, sizeof self->error, "out of memory in UID FETCH");
        else
            set_error(self, "UID FETCH", rc);
        email_imap_fetched_free(&self->items, self->item_count);
        return -1;
    }
    *items = self->items;
    *item_count = self->item_count;
    self->items = NULL;
    return 0;
}

void email_imap_fetched_free(email_fetched_t **items, size_t count)
{
    if (!*items)
        return;
    for (size_t i = 0; i < count; i++)
        free((*items)[i].data);
    free(*items);
    *items = NULL;
}

/* ---- filing --------------------------------------------------------------------------------- */

static int store_flag(email_imap_t *self, struct mailimap_set *set, struct mailimap_flag *flag,
                      const char *what)
{
    struct mailimap_flag_list *flags = mailimap_flag_list_new_empty();
    if (!flags || !flag || mailimap_flag_list_add(flags, flag) != MAILIMAP_NO_ERROR) {
        snprintf(self->error, sizeof self->error, "out of memory");
        return -1;
    }
    struct mailimap_store_att_flags *att = mailimap_store_att_flags_new_add_flags_silent(flags);
    int rc = mailimap_uid_store(self->imap, set, att);
    mailimap_store_att_flags_free(att);
    if (rc != MAILIMAP_NO_ERROR) {
        set_error(self, what, rc);
        return -1;
    }
    return 0;
}

int email_imap_file(email_imap_t *self, const uint32_t *uids, size_t count)
{
    if (count == 0)
        return 0;
    struct mailimap_set *set = set_of(uids, count);
    if (!set) {
        snprintf(self->error, sizeof self->error, "out of memory");
        return -1;
    }
    int rc = store_flag(self, set, mailimap_flag_new_seen(), "UID STORE \\Seen");
    if (rc == 0 && self->has_move) {
        int r = mailimap_uid_move(self->imap, set, self->folder);
        if (r != MAILIMAP_NO_ERROR) {
            set_error(self, "UID MOVE", r);
            rc = -1;
        }
    } else if (rc == 0) {
        int r = mailimap_uid_copy(self->imap, set, self->folder);
        if (r != MAILIMAP_NO_ERROR) {
            set_error(self, "UID COPY", r);
            rc = -1;
        } else if ((rc = store_flag(self, set, mailimap_flag_new_deleted(),
                                    "UID STORE \\Deleted")) == 0) {
            /* without UIDPLUS, EXPUNGE would also remove what another client deleted */
            r = self->has_uidplus ? mailimap_uid_expunge(self->imap, set)
                                  : mailimap_expunge(self->imap);
            if (r != MAILIMAP_NO_ERROR) {
                set_error(self, "EXPUNGE", r);
                rc = -1;
            }
        }
    }
    mailimap_set_free(set);
    return rc;
}

/* ---- IDLE ----------------------------------------------------------------------------------- */

int email_imap_idle_start(email_imap_t *self)
{
    int rc = mailimap_idle(self->imap);
    if (rc != MAILIMAP_NO_ERROR) {
        set_error(self, "IDLE", rc);
        return -1;
    }
    self->idling = true;
    return 0;
}

int email_imap_idle_fd(const email_imap_t *self)
{
    return self->idling ? mailimap_idle_get_fd(self->imap) : -1;
}

bool email_imap_idle_buffered(const email_imap_t *self)
{
    return self->imap->imap_stream && self->imap->imap_stream->read_buffer_len > 0;
}

int email_imap_idle_done(email_imap_t *self)
{
    if (!self->idling)
        return 0;
    self->idling = false;
    int rc = mailimap_idle_done(self->imap);
    if (rc != MAILIMAP_NO_ERROR) {
        set_error(self, "IDLE DONE", rc);
        return -1;
    }
    return 0;
}
