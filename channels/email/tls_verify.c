/*  tls_verify.c - the server certificate check libetpan leaves out (see tls_verify.h). */
#include "tls_verify.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <stdbool.h>
#include <stdio.h>

static bool is_ip_literal(const char *host)
{
    unsigned char addr[16];
    return inet_pton(AF_INET, host, addr) == 1 || inet_pton(AF_INET6, host, addr) == 1;
}

static X509 *certificate_at(carray *chain, unsigned int i)
{
    MMAPString *der = carray_get(chain, i);
    const unsigned char *p = (const unsigned char *)der->str;
    return d2i_X509(NULL, &p, (long)der->len);
}

int email_tls_verify(mailstream *stream, const char *host, const char *ca_file, char *reason,
                     size_t reasonlen)
{
    carray *chain = stream ? mailstream_get_certificate_chain(stream) : NULL;
    if (!chain || carray_count(chain) == 0) {
        snprintf(reason, reasonlen, "the server sent no certificate");
        if (chain)
            mailstream_certificate_chain_free(chain);
        return -1;
    }
    int rc = -1;
    snprintf(reason, reasonlen, "the certificate check could not run");
    X509 *leaf = certificate_at(chain, 0);
    STACK_OF(X509) *untrusted = sk_X509_new_null();
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    if (!leaf || !untrusted || !store || !ctx) {
        snprintf(reason, reasonlen, "the server's certificate cannot be read");
        goto done;
    }
    for (unsigned int i = 1; i < carray_count(chain); i++) {
        X509 *cert = certificate_at(chain, i);
        if (cert && !sk_X509_push(untrusted, cert))
            X509_free(cert);
    }
    bool loaded = ca_file && *ca_file ? X509_STORE_load_file(store, ca_file) == 1
                                      : X509_STORE_set_default_paths(store) == 1;
    if (!loaded) {
        snprintf(reason, reasonlen, "cannot load the CA certificates from %s",
                 ca_file && *ca_file ? ca_file : "the system's store");
        goto done;
    }
    if (X509_STORE_CTX_init(ctx, store, leaf, untrusted) != 1)
        goto done;
    X509_VERIFY_PARAM *param = X509_STORE_CTX_get0_param(ctx);
    int named = is_ip_literal(host) ? X509_VERIFY_PARAM_set1_ip_asc(param, host)
                                    : X509_VERIFY_PARAM_set1_host(param, host, 0);
    if (named != 1) {
        snprintf(reason, reasonlen, "cannot check the certificate against %s", host);
        goto done;
    }
    X509_VERIFY_PARAM_set_purpose(param, X509_PURPOSE_SSL_SERVER);
    if (X509_verify_cert(ctx) == 1) {
        rc = 0;
    } else {
        snprintf(reason, reasonlen, "certificate verify failed for %s: %s", host,
                 X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
    }
done:
    ERR_clear_error();
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    sk_X509_pop_free(untrusted, X509_free);
    X509_free(leaf);
    mailstream_certificate_chain_free(chain);
    return rc;
}
