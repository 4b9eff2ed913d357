/*  curve.h - the bus between hosts: tcp:// endpoints are encrypted and authenticated with
    CURVE (ZeroMQ's CurveZMQ); inproc:// and ipc:// are left alone (ipc:// sockets live in
    a folder only the service's group can enter).

    Keys are CZMQ certificates: `aduanctl keygen NAME` writes NAME.key (public, to copy)
    and NAME.key_secret (mode 0600, stays on its host). In aduan.conf, [bus]:
        curve_cert         this component's own certificate (the _secret file)
        curve_server_cert  the core's public certificate (adapters and aduanctl)
        curve_allow_dir    the public certificates of the peers the core accepts (core)
    The core answers ZeroMQ's authentication requests (ZAP) itself: a peer whose key is not
    in curve_allow_dir is refused and logged with its address, and so is a peer that
    speaks without CURVE at all. The folder is read again when it changes, so a key is
    allowed or withdrawn without a restart.
*/
#ifndef ADUAN_CURVE_H
#define ADUAN_CURVE_H

#include <czmq.h>
#include <stdbool.h>

#include "aduan/config.h"

/* True for an endpoint that crosses hosts and so needs CURVE. */
bool aduan_curve_needed(const char *endpoint);

/*  Before binding SOCK on ENDPOINT: for tcp://, makes it a CURVE server with the core's
    certificate. 0, or -1 with the reason (no certificate configured, unreadable, a secret
    readable by others). */
int aduan_curve_serve(zsock_t *sock, const char *endpoint, const aduan_config_t *config,
                      char *reason, size_t reasonlen);

/*  Before connecting SOCK to ENDPOINT: for tcp://, makes it a CURVE client with this
    component's certificate and the core's public key. 0, or -1 with the reason. */
int aduan_curve_connect(zsock_t *sock, const char *endpoint, const aduan_config_t *config,
                        char *reason, size_t reasonlen);

/*  The core's authenticator: answers ZAP for every CURVE server socket of this process.
    Start it before binding. NULL, with the reason, when curve_allow_dir is unset or not
    a folder. */
zactor_t *aduan_curve_guard_new(const aduan_config_t *config, char *reason, size_t reasonlen);

/* Also logs the peers SOCK refuses before ZAP is asked (they spoke without CURVE). */
void aduan_curve_guard_watch(zactor_t *guard, zsock_t *sock);

/*  Writes DIR/NAME.key and DIR/NAME.key_secret (0600). 0, or -1 with the reason. */
int aduan_curve_keygen(const char *dir, const char *name, char *reason, size_t reasonlen);

#endif
