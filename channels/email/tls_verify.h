/*  tls_verify.h - the server certificate of a libetpan TLS stream, checked with OpenSSL.

    Debian's libetpan (GnuTLS build) completes a handshake with any certificate: this is
    the check it leaves out. The chain the server sent is verified against ca_file (or the
    system's CAs) and the certificate must name host (a DNS name or an IP literal).
*/
#ifndef ADUAN_EMAIL_TLS_VERIFY_H
#define ADUAN_EMAIL_TLS_VERIFY_H

#include <libetpan/libetpan.h>
#include <stddef.h>

/* 0 when the peer is trusted; -1 with the reason ("certificate verify failed: ..."). */
int email_tls_verify(mailstream *stream, const char *host, const char *ca_file, char *reason,
                     size_t reasonlen);

#endif
