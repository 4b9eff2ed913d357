/*  fuzz_input.h - reading a fuzzer's bytes as several pieces: each piece is a 2-byte
    big-endian length followed by that many bytes (a short last piece takes what is left).
    The seeds in corpus/ are written in this shape (make_seeds.c). */
#ifndef ADUAN_FUZZ_INPUT_H
#define ADUAN_FUZZ_INPUT_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    const uint8_t *data;
    size_t size;
} fuzz_input_t;

/* The next piece, or false when the input is used up. */
static inline int fuzz_next(fuzz_input_t *in, const uint8_t **piece, size_t *len)
{
    if (in->size < 2)
        return 0;
    size_t n = ((size_t)in->data[0] << 8) | in->data[1];
    in->data += 2;
    in->size -= 2;
    if (n > in->size)
        n = in->size;
    *piece = in->data;
    *len = n;
    in->data += n;
    in->size -= n;
    return 1;
}

#endif
