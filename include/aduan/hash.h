/*  hash.h - SHA-256 (OpenSSL's libcrypto) as lowercase hex. */
#ifndef ADUAN_HASH_H
#define ADUAN_HASH_H

#include <stddef.h>

#define ADUAN_SHA256_HEX_LEN 64

/* Writes 64 hex characters and a NUL into hex (65 bytes). Returns 0 or -1. */
int aduan_sha256_hex(const void *data, size_t size, char hex[ADUAN_SHA256_HEX_LEN + 1]);

/* Incremental form, for hashing several fields without joining them first. */
typedef struct aduan_sha256 aduan_sha256_t;
aduan_sha256_t *aduan_sha256_new(void);
void aduan_sha256_update(aduan_sha256_t *self, const void *data, size_t size);
/* Finishes, writes the hex digest and destroys the context. */
int aduan_sha256_finish(aduan_sha256_t **self_p, char hex[ADUAN_SHA256_HEX_LEN + 1]);

#endif
