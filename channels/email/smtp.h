/*  smtp.h - the email channel's sending half: DELIVERs to the submission server with
    libESMTP 1.1.0, STARTTLS verified against email.ca_file, AUTH when email.smtp_user is
    set. The message text comes from message.h.

    Status of each DELIVER, reported through the callback:
        "sent"       the server took it (2xx); provider_id is its queue id when the final
                     reply names one ("250 2.0.0 Ok: queued as 4Xq3...")
        "temporary"  4xx, or no session at all (server down, TLS refused, timeout):
                     the core tries again later
        "permanent"  5xx for this recipient or message, or a DELIVER that cannot be mail
                     (to_addr not one plain address)
    detail carries the server's reply or what went wrong ("certificate verify failed:
    unable to get local issuer certificate").

    Runs in the adapter's thread; connect() has no timeout in libESMTP, every reply after
    it has email.smtp_timeout.
*/
#ifndef ADUAN_EMAIL_SMTP_H
#define ADUAN_EMAIL_SMTP_H

#include <stddef.h>
#include <stdint.h>

#include "aduan/bus.h"
#include "aduan/config.h"

typedef struct email_smtp email_smtp_t;

/*  Checks the [email] keys of the sending half and reads the password file (mode 0600 or
    tighter). Returns the sender (caller owns; config must outlive it) or NULL with the
    reason: a bad address, smtp_tls = implicit (libESMTP has no implicit TLS), smtp_tls =
    none to a host that is not loopback, a password file that others can read. */
email_smtp_t *email_smtp_new(const aduan_config_t *config, char *reason, size_t reasonlen);

typedef void email_smtp_report_fn(void *arg, uint64_t outbox_id, const char *status,
                                  const char *provider_id, const char *detail);

/* Sends the DELIVERs in one SMTP session; reports each (status "sent", "temporary",
   "permanent") through report before returning. Returns 1 when the server answered, 0
   when it never did (refused, unreachable, silent: it is away, not refusing these
   messages), -1 when no session was needed (nothing could be made into mail). */
int email_smtp_send(email_smtp_t *self, const aduan_msg_t *const *delivers, size_t count,
                    email_smtp_report_fn *report, void *arg);

/* Frees and NULLs. NULL-safe. */
void email_smtp_destroy(email_smtp_t **self_p);

#endif
