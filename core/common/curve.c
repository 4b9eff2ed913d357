/*  curve.c - CURVE on tcp:// endpoints; see include/aduan/curve.h.

    The certificates, their files and the allow-list folder are CZMQ's (zcert,
    zcertstore); the authenticator is ours rather than zauth, so that what is refused is
    logged in the daemon's own log, with the peer's address, and nothing else is. */
#include "aduan/curve.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "aduan/log.h"

#define C "bus"
#define ZAP_ENDPOINT "inproc://zeromq.zap.01" /* fixed by ZeroMQ (RFC 27) */

bool aduan_curve_needed(const char *endpoint)
{
    return endpoint && strncmp(endpoint, "tcp://", 6) == 0;
}

/* The component's own certificate; its secret must not be readable by others. */
static zcert_t *own_cert(const aduan_config_t *config, char *reason, size_t reasonlen)
{
    const char *path = config->bus.curve_cert;
    if (!path || !*path) {
        snprintf(reason, reasonlen, "tcp:// endpoints need CURVE: set bus.curve_cert to this "
                                    "component's certificate (aduanctl keygen)");
        return NULL;
    }
    struct stat st;
    if (stat(path, &st) != 0) {
        snprintf(reason, reasonlen, "bus.curve_cert %s: %s", path, strerror(errno));
        return NULL;
    }
    if (st.st_mode & 077) {
        snprintf(reason, reasonlen, "bus.curve_cert %s: readable by others (mode %03o); chmod 600",
                 path, (unsigned)(st.st_mode & 0777));
        return NULL;
    }
    zcert_t *cert = zcert_load(path);
    if (!cert || strcmp(zcert_secret_txt(cert), "0000000000000000000000000000000000000000") == 0) {
        snprintf(reason, reasonlen, "bus.curve_cert %s: not a secret certificate (the "
                                    "NAME.key_secret file of aduanctl keygen)", path);
        zcert_destroy(&cert);
        return NULL;
    }
    return cert;
}

int aduan_curve_serve(zsock_t *sock, const char *endpoint, const aduan_config_t *config,
                      char *reason, size_t reasonlen)
{
    if (!aduan_curve_needed(endpoint))
        return 0;
    zcert_t *cert = own_cert(config, reason, reasonlen);
    if (!cert)
        return -1;
    zcert_apply(cert, sock);
    zsock_set_curve_server(sock, 1);
    zsock_set_zap_domain(sock, "aduan");
    zcert_destroy(&cert);
    return 0;
}

int aduan_curve_connect(zsock_t *sock, const char *endpoint, const aduan_config_t *config,
                        char *reason, size_t reasonlen)
{
    if (!aduan_curve_needed(endpoint))
        return 0;
    const char *server = config->bus.curve_server_cert;
    if (!server || !*server) {
        snprintf(reason, reasonlen, "%s needs CURVE: set bus.curve_server_cert to the core's "
                                    "public certificate", endpoint);
        return -1;
    }
    zcert_t *core = zcert_load(server);
    if (!core) {
        snprintf(reason, reasonlen, "bus.curve_server_cert %s: cannot read a certificate",
                 server);
        return -1;
    }
    zcert_t *cert = own_cert(config, reason, reasonlen);
    if (!cert) {
        zcert_destroy(&core);
        return -1;
    }
    zcert_apply(cert, sock);
    zsock_set_curve_serverkey(sock, zcert_public_txt(core));
    zcert_destroy(&cert);
    zcert_destroy(&core);
    return 0;
}

int aduan_curve_keygen(const char *dir, const char *name, char *reason, size_t reasonlen)
{
    for (const char *p = name; *p; p++)
        if (!(*p == '-' || *p == '_' || *p == '.' || (*p >= 'a' && *p <= 'z') ||
              (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')) ||
            (p == name && *p == '.')) {
            snprintf(reason, reasonlen, "a key name is letters, digits, '-', '_' and '.'");
            return -1;
        }
    if (!*name) {
        snprintf(reason, reasonlen, "a key needs a name");
        return -1;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.key", dir, name);
    struct stat st;
    if (stat(path, &st) == 0) {
        snprintf(reason, reasonlen, "%s exists; a key pair is never overwritten", path);
        return -1;
    }
    zcert_t *cert = zcert_new();
    if (!cert) {
        snprintf(reason, reasonlen, "cannot make a key pair");
        return -1;
    }
    zcert_set_meta(cert, "name", "%s", name);
    /* zcert_save writes the public file and NAME.key_secret with mode 0600 */
    int rc = zcert_save(cert, path);
    zcert_destroy(&cert);
    if (rc != 0)
        snprintf(reason, reasonlen, "cannot write %s: %s", path, strerror(errno));
    return rc == 0 ? 0 : -1;
}

/* ---- the guard: ZAP answers, and the peers refused before ZAP ----------------------- */

typedef struct {
    zsock_t *pipe;
    zsock_t *zap;
    zcertstore_t *allowed;
    const char *allow_dir;
    zpoller_t *poller;
    zlist_t *monitors; /* PAIR sockets, one per watched socket */
    zhashx_t *logged;  /* "address key" -> when it was last logged (ms, monotonic) */
} guard_t;

#define REPEAT_LOG_MS (60 * 1000)

/*  A refused peer tries again every few hundred milliseconds: one line per peer and key a
    minute is enough to find it. */
static bool first_in_a_while(guard_t *self, const char *address, const char *what)
{
    char key[256];
    snprintf(key, sizeof key, "%s %s", address, what);
    int64_t now = zclock_mono();
    int64_t *last = zhashx_lookup(self->logged, key);
    if (last && now - *last < REPEAT_LOG_MS)
        return false;
    if (!last) {
        if (zhashx_size(self->logged) > 10000)
            zhashx_purge(self->logged); /* a scan from many addresses: start over */
        last = malloc(sizeof *last);
        if (!last)
            return true;
        zhashx_insert(self->logged, key, last);
    }
    *last = now;
    return true;
}

static void free_time(void **item)
{
    free(*item);
    *item = NULL;
}

static void answer_zap(guard_t *self)
{
    zmsg_t *request = zmsg_recv(self->zap);
    if (!request)
        return;
    char *version = zmsg_popstr(request), *id = zmsg_popstr(request),
         *domain = zmsg_popstr(request), *address = zmsg_popstr(request),
         *identity = zmsg_popstr(request), *mechanism = zmsg_popstr(request);
    zframe_t *key = zmsg_pop(request);
    const char *status = "400", *text = "no CURVE key";
    char key_txt[41] = "";
    if (mechanism && strcmp(mechanism, "CURVE") == 0 && key && zframe_size(key) == 32) {
        zmq_z85_encode(key_txt, zframe_data(key), 32);
        if (zcertstore_lookup(self->allowed, key_txt)) {
            status = "200";
            text = "OK";
            log_debug(C, "CURVE peer %s allowed, key %.8s...", address ? address : "?",
                      key_txt);
        } else {
            text = "key not allowed";
            if (first_in_a_while(self, address ? address : "?", key_txt))
                log_warn(C, "refused a peer from %s: its CURVE key %s is not in %s",
                         address ? address : "?", key_txt, self->allow_dir);
        }
    } else if (first_in_a_while(self, address ? address : "?", "no key")) {
        log_warn(C, "refused a peer from %s: it offered %s, not a CURVE key",
                 address ? address : "?", mechanism ? mechanism : "nothing");
    }
    zmsg_t *reply = zmsg_new();
    zmsg_addstr(reply, "1.0");
    zmsg_addstr(reply, id ? id : "");
    zmsg_addstr(reply, status);
    zmsg_addstr(reply, text);
    zmsg_addstr(reply, ""); /* user id */
    zmsg_addmem(reply, NULL, 0); /* metadata */
    zmsg_send(&reply, self->zap);
    zframe_destroy(&key);
    zstr_free(&version);
    zstr_free(&id);
    zstr_free(&domain);
    zstr_free(&address);
    zstr_free(&identity);
    zstr_free(&mechanism);
    zmsg_destroy(&request);
}

/* A monitor event: [event:u16 value:u32][address]. */
static void log_refusal(guard_t *self, zsock_t *monitor)
{
    zmsg_t *m = zmsg_recv(monitor);
    if (!m)
        return;
    zframe_t *head = zmsg_first(m);
    char *address = zmsg_size(m) > 1 ? zframe_strdup(zmsg_next(m)) : NULL;
    /* "tcp://10.0.0.5:49152": the host alone, as ZAP gives it (the port changes with
       every try) */
    char host[128] = "?";
    if (address) {
        const char *h = strncmp(address, "tcp://", 6) == 0 ? address + 6 : address;
        const char *colon = strrchr(h, ':');
        snprintf(host, sizeof host, "%.*s", colon ? (int)(colon - h) : (int)strlen(h), h);
    }
    if (head && zframe_size(head) >= 2) {
        uint16_t event;
        memcpy(&event, zframe_data(head), 2);
        /* a refused key is logged by answer_zap already; these never reach ZAP */
        if ((event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL ||
             event == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) &&
            first_in_a_while(self, host, "handshake"))
            log_warn(C, "refused a peer from %s: its handshake was not CURVE with our key",
                     host);
    }
    free(address);
    zmsg_destroy(&m);
}

static void watch(guard_t *self, const char *endpoint)
{
    zsock_t *pair = zsock_new(ZMQ_PAIR);
    if (pair && zsock_connect(pair, "%s", endpoint) == 0) {
        zlist_append(self->monitors, pair);
        zpoller_add(self->poller, pair);
    } else {
        zsock_destroy(&pair);
    }
}

static void guard_actor(zsock_t *pipe, void *arg)
{
    const aduan_config_t *config = arg;
    guard_t self = {.pipe = pipe, .allow_dir = config->bus.curve_allow_dir};
    self.zap = zsock_new(ZMQ_REP);
    self.allowed = zcertstore_new(self.allow_dir);
    self.monitors = zlist_new();
    self.logged = zhashx_new();
    zhashx_set_destructor(self.logged, free_time);
    /* without a ZAP handler ZeroMQ lets every CURVE client in: the creator asks STATUS */
    bool ready = self.zap && zsock_bind(self.zap, ZAP_ENDPOINT) == 0 && self.allowed;
    self.poller = zpoller_new(pipe, NULL);
    if (ready)
        zpoller_add(self.poller, self.zap);
    zsock_signal(pipe, 0);
    for (;;) {
        zsock_t *which = zpoller_wait(self.poller, -1);
        if (which == pipe) {
            char *command = NULL, *endpoint = NULL;
            if (zstr_recvx(pipe, &command, &endpoint, NULL) < 0 ||
                strcmp(command, "$TERM") == 0) {
                zstr_free(&command);
                zstr_free(&endpoint);
                break;
            }
            if (strcmp(command, "STATUS") == 0) {
                zstr_send(pipe, ready ? "OK" : "FAILED");
            } else {
                if (strcmp(command, "WATCH") == 0 && endpoint)
                    watch(&self, endpoint);
                zsock_signal(pipe, 0);
            }
            zstr_free(&command);
            zstr_free(&endpoint);
        } else if (which == self.zap) {
            answer_zap(&self);
        } else if (which) {
            log_refusal(&self, which);
        } else if (zpoller_terminated(self.poller)) {
            break;
        }
    }
    for (zsock_t *m = zlist_first(self.monitors); m; m = zlist_next(self.monitors))
        zsock_destroy(&m);
    zlist_destroy(&self.monitors);
    zhashx_destroy(&self.logged);
    zpoller_destroy(&self.poller);
    zcertstore_destroy(&self.allowed);
    zsock_destroy(&self.zap);
}

zactor_t *aduan_curve_guard_new(const aduan_config_t *config, char *reason, size_t reasonlen)
{
    const char *dir = config->bus.curve_allow_dir;
    struct stat st;
    if (!dir || !*dir || stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        snprintf(reason, reasonlen, "tcp:// endpoints need CURVE: bus.curve_allow_dir must be "
                                    "the folder of the allowed peers' public certificates%s%s",
                 dir && *dir ? "; cannot open " : "", dir ? dir : "");
        return NULL;
    }
    zactor_t *guard = zactor_new(guard_actor, (void *)config);
    char *status = NULL;
    if (guard) {
        zstr_send(guard, "STATUS");
        status = zstr_recv(guard);
    }
    if (!status || strcmp(status, "OK") != 0) {
        snprintf(reason, reasonlen, "cannot start the CURVE authenticator (%s)",
                 guard ? "the ZAP endpoint is taken or the folder unreadable" : "no thread");
        zactor_destroy(&guard);
    }
    zstr_free(&status);
    return guard;
}

void aduan_curve_guard_watch(zactor_t *guard, zsock_t *sock)
{
    static int monitors; /* inproc names are per process; the core makes one guard */
    char endpoint[64];
    snprintf(endpoint, sizeof endpoint, "inproc://aduan-curve-monitor-%d", monitors++);
    if (zmq_socket_monitor(zsock_resolve(sock), endpoint,
                           ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                               ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) != 0) {
        log_warn(C, "cannot watch a socket for refused peers: %s", zmq_strerror(zmq_errno()));
        return;
    }
    zstr_sendx(guard, "WATCH", endpoint, NULL);
    zsock_wait(guard);
}
