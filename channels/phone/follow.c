/*  follow.c - following a call-record file (follow.h). */
#include "follow.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "aduan/files.h"
#include "aduan/log.h"

#define READ_CHUNK 65536
#define POSITION_MAX (1 << 20)

static void reset_buffer(follow_t *f, off_t at)
{
    f->read_at = f->buf_at = at;
    f->len = f->handed = f->extra = 0;
    f->generation++;
}

/* Opens path (or the entry of its folder with dev/ino) for reading; the fd or -1. */
static int open_rotated(const char *path, dev_t dev, ino_t ino)
{
    char *copy = strdup(path);
    if (!copy)
        return -1;
    const char *dir = dirname(copy);
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
    int fd = -1;
    if (!d) {
        if (dfd >= 0)
            close(dfd);
        free(copy);
        return -1;
    }
    struct dirent *e;
    while (fd < 0 && (e = readdir(d))) {
        struct stat st;
        if (fstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
            st.st_dev == dev && st.st_ino == ino)
            fd = openat(dfd, e->d_name, O_RDONLY | O_CLOEXEC);
    }
    closedir(d);
    free(copy);
    return fd;
}

int follow_open(follow_t *f, dev_t dev, ino_t ino, off_t offset)
{
    struct stat st;
    if (stat(f->path, &st) != 0)
        return -1;
    int fd = -1;
    if (ino != 0 && (st.st_dev != dev || st.st_ino != ino)) {
        /* rotated while we were away: finish the old file first, wherever it went */
        fd = open_rotated(f->path, dev, ino);
        if (fd >= 0) {
            log_info("phone", "%s was rotated meanwhile; finishing the old file from %jd",
                     f->path, (intmax_t)offset);
        } else {
            log_warn("phone", "%s was rotated and the old file (inode %ju) is gone; reading the "
                     "new one from its start", f->path, (uintmax_t)ino);
            offset = 0;
        }
    }
    if (fd < 0) {
        fd = open(f->path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return -1;
        if (ino == 0)
            offset = 0;
    }
    if (fstat(fd, &st) != 0) {
        close(fd);
        return -1;
    }
    if (st.st_size < offset) {
        log_warn("phone", "%s is shorter than the position %jd (truncated); reading it from "
                 "its start", f->path, (intmax_t)offset);
        offset = 0;
    }
    f->fd = fd;
    f->dev = st.st_dev;
    f->ino = st.st_ino;
    f->done_at = offset;
    reset_buffer(f, offset);
    return 0;
}

void follow_close(follow_t *f)
{
    if (f->fd >= 0)
        close(f->fd);
    f->fd = -1;
    free(f->buf);
    f->buf = NULL;
    f->len = f->cap = f->handed = f->extra = 0;
}

void follow_rewind(follow_t *f)
{
    reset_buffer(f, f->done_at);
}

/* Drops the line handed out last. */
static void drop_handed(follow_t *f)
{
    if (!f->handed)
        return;
    memmove(f->buf, f->buf + f->handed, f->len - f->handed);
    f->len -= f->handed;
    f->handed = 0;
}

/* Reads more of the file into buf; the bytes read, 0 at its end, -1 on error. */
static ssize_t read_more(follow_t *f)
{
    if (f->cap - f->len < READ_CHUNK) {
        char *grown = realloc(f->buf, f->len + READ_CHUNK);
        if (!grown)
            return -1;
        f->buf = grown;
        f->cap = f->len + READ_CHUNK;
    }
    ssize_t n;
    do
        n = pread(f->fd, f->buf + f->len, f->cap - f->len, f->read_at);
    while (n < 0 && errno == EINTR);
    if (n > 0) {
        f->len += (size_t)n;
        f->read_at += n;
    }
    return n;
}

bool follow_next(follow_t *f, size_t limit, follow_line_t *line)
{
    if (f->fd < 0)
        return false;
    drop_handed(f);
    size_t scanned = 0;
    for (;;) {
        char *nl = f->len > scanned ? memchr(f->buf + scanned, '\n', f->len - scanned) : NULL;
        if (nl) {
            size_t i = (size_t)(nl - f->buf);
            *line = (follow_line_t){
                .data = f->buf,
                .len = f->extra || i > limit ? limit : i,
                .start = f->buf_at,
                .end = f->buf_at + (off_t)(i + f->extra + 1),
                .truncated = f->extra > 0 || i > limit,
            };
            f->buf_at = line->end;
            f->handed = i + 1;
            f->extra = 0;
            return true;
        }
        if (f->len > limit) {
            /* an over-long line: keep its first `limit` bytes, count the rest */
            f->extra += f->len - limit;
            f->len = limit;
        }
        scanned = f->len;
        if (read_more(f) <= 0)
            return false;
    }
}

int follow_check_rotation(follow_t *f, bool all_done, size_t limit, follow_line_t *last)
{
    if (f->fd < 0)
        return FOLLOW_SAME;
    struct stat at_path, ours;
    if (stat(f->path, &at_path) != 0 || fstat(f->fd, &ours) != 0)
        return FOLLOW_SAME; /* renamed away, the new one not there yet */
    if (at_path.st_dev == f->dev && at_path.st_ino == f->ino) {
        if (at_path.st_size >= f->read_at)
            return FOLLOW_SAME;
        log_warn("phone", "%s was truncated; reading it again from its start", f->path);
        f->done_at = 0;
        reset_buffer(f, 0);
        return FOLLOW_TRUNCATED;
    }
    if (ours.st_size > f->read_at)
        return FOLLOW_SAME; /* written after our last read: read that first */
    drop_handed(f);
    if (f->len > 0 || f->extra > 0) {
        /* the old file ends without a newline: that line is complete now */
        *last = (follow_line_t){
            .data = f->buf,
            .len = f->len,
            .start = f->buf_at,
            .end = f->read_at,
            .truncated = f->extra > 0,
        };
        if (last->len > limit)
            last->len = limit;
        f->buf_at = f->read_at;
        f->handed = f->len;
        f->extra = 0;
        return FOLLOW_LAST_LINE;
    }
    if (!all_done)
        return FOLLOW_SAME;
    int fd = open(f->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &at_path) != 0) {
        if (fd >= 0)
            close(fd);
        return FOLLOW_SAME;
    }
    log_info("phone", "%s was rotated; the old file is read to its end (%jd bytes), now the "
             "new one", f->path, (intmax_t)f->read_at);
    close(f->fd);
    f->fd = fd;
    f->dev = at_path.st_dev;
    f->ino = at_path.st_ino;
    f->done_at = 0;
    reset_buffer(f, 0);
    return FOLLOW_SWITCHED;
}

/* ---- the position file ------------------------------------------------------------------ */

int follow_position_load(const char *position_file, const char *path, dev_t *dev, ino_t *ino,
                         off_t *offset)
{
    *dev = 0;
    *ino = 0;
    *offset = 0;
    size_t size = 0;
    char *text = aduan_read_file(position_file, POSITION_MAX, &size);
    if (!text)
        return errno == ENOENT ? 0 : -1;
    for (char *line = text, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        uintmax_t d, i;
        intmax_t o;
        int used = 0;
        if (sscanf(line, "%ju %ju %jd %n", &d, &i, &o, &used) == 3 && used > 0 &&
            strcmp(line + used, path) == 0 && o >= 0) {
            *dev = (dev_t)d;
            *ino = (ino_t)i;
            *offset = (off_t)o;
        }
    }
    free(text);
    return 0;
}

int follow_position_save(const char *position_file, follow_t *const *followers, size_t count)
{
    size_t cap = 256, used = 0;
    for (size_t i = 0; i < count; i++)
        cap += strlen(followers[i]->path) + 80;
    char *text = malloc(cap);
    if (!text)
        return -1;
    for (size_t i = 0; i < count; i++) {
        const follow_t *f = followers[i];
        if (f->ino == 0)
            continue;
        used += (size_t)snprintf(text + used, cap - used, "%ju %ju %jd %s\n", (uintmax_t)f->dev,
                                 (uintmax_t)f->ino, (intmax_t)f->done_at, f->path);
    }
    int rc = aduan_write_file_durably(position_file, text, used);
    free(text);
    return rc;
}
