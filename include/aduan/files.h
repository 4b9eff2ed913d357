/*  files.h - durable files: what the registry points at must survive a power cut. */
#ifndef ADUAN_FILES_H
#define ADUAN_FILES_H

#include <stddef.h>

/* mkdir -p with the given mode; 0 or -1 (errno set). */
int aduan_mkdirs(const char *path, int mode);

/*  Writes data to path atomically and durably: a temporary file in the same folder,
    fsync, rename, fsync of the folder. 0 or -1 (errno set). */
int aduan_write_file_durably(const char *path, const void *data, size_t size);

/* Reads a whole file (at most max bytes) into a new NUL-terminated buffer; caller frees. */
char *aduan_read_file(const char *path, size_t max, size_t *size_out);

#endif
