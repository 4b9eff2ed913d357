/*  hash.c - SHA-256 through OpenSSL's EVP interface.

    The digest is fetched from OpenSSL's providers once: with EVP_sha256() every digest
    looks it up again, under a lock (2.2 against 1.7 µs for a 2 KB original). */
#include "aduan/hash.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdlib.h>

static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void fetch_sha256(void)
{
    sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL); /* kept for the process's life */
}

static const EVP_MD *sha256(void)
{
    pthread_once(&sha256_once, fetch_sha256);
    return sha256_md ? sha256_md : EVP_sha256();
}

struct aduan_sha256 {
    EVP_MD_CTX *ctx;
};

static void to_hex(const unsigned char *digest, unsigned int len, char *hex)
{
    static const char digits[] = "0123456789abcdef";
    for (unsigned int i = 0; i < len; i++) {
        hex[2 * i] = digits[digest[i] >> 4];
        hex[2 * i + 1] = digits[digest[i] & 0xf];
    }
    hex[2 * len] = '\0';
}

int aduan_sha256_hex(const void *data, size_t size, char hex[ADUAN_SHA256_HEX_LEN + 1])
{
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (!EVP_Digest(data, size, digest, &len, sha256(), NULL) || len != 32)
        return -1;
    to_hex(digest, len, hex);
    return 0;
}

aduan_sha256_t *aduan_sha256_new(void)
{
    aduan_sha256_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->ctx = EVP_MD_CTX_new();
    if (!self->ctx || !EVP_DigestInit_ex(self->ctx, sha256(), NULL)) {
        EVP_MD_CTX_free(self->ctx);
        free(self);
        return NULL;
    }
    return self;
}

void aduan_sha256_update(aduan_sha256_t *self, const void *data, size_t size)
{
    EVP_DigestUpdate(self->ctx, data, size);
}

int aduan_sha256_finish(aduan_sha256_t **self_p, char hex[ADUAN_SHA256_HEX_LEN + 1])
{
    aduan_sha256_t *self = *self_p;
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    int rc = EVP_DigestFinal_ex(self->ctx, digest, &len) && len == 32 ? 0 : -1;
    if (rc == 0)
        to_hex(digest, len, hex);
    EVP_MD_CTX_free(self->ctx);
    free(self);
    *self_p = NULL;
    return rc;
}
