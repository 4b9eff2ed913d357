/*  follow.h - following a call-record file as it grows (tail -F), with the position
    kept durably and rotation handled.

    A follower holds the file it reads open, so a file renamed away (logrotate) is read to
    its end before the new one at the path is opened. It hands out whole lines (one call
    record each) with the offset just past each; the caller says when a line is done (the
    core ACKed it, or it needed no ACK), and the position moves over every line done in
    order. The position names the file by device and inode, so after a restart a file
    rotated meanwhile is found again in its folder and finished first; a file truncated in
    place (copytruncate) is read again from its start (the dedupe key makes that safe). */
#ifndef ADUAN_PHONE_FOLLOW_H
#define ADUAN_PHONE_FOLLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct {
    char *path;       /* the file's name; it may be absent for now */
    int fd;           /* the file being read (maybe renamed away meanwhile), -1 none */
    dev_t dev;        /* of fd, or of the saved position while fd is -1 */
    ino_t ino;
    off_t done_at;    /* every line before it is done: the durable position */
    off_t read_at;    /* the next byte to read from fd */
    off_t buf_at;     /* the offset of buf[0]: the start of the line being gathered */
    char *buf;        /* read, not yet handed out */
    size_t len, cap;
    size_t handed;    /* bytes of the line handed out last, dropped at the next call */
    size_t extra;     /* bytes of an over-long line dropped (past the limit kept in buf) */
    uint64_t generation; /* bumped on every rewind and switch: lines handed out are void */
} follow_t;

/* A line handed out: bytes [start, end) of the file, end just past its newline. */
typedef struct {
    const char *data;
    size_t len;       /* without the newline */
    off_t start, end;
    bool truncated;   /* longer than the limit: data holds its first `limit` bytes */
} follow_line_t;

/*  Opens the file at a saved position (ino 0: none saved, from the start). A file with
    another inode at the path means it was rotated while we were away: the old inode is
    looked for among the files of the same folder and finished first. 0, or -1 when the
    path cannot be opened (absent: try again later). */
int follow_open(follow_t *f, dev_t dev, ino_t ino, off_t offset);
void follow_close(follow_t *f);

/*  The next whole line of the open file, or false when there is none yet (the rest of the
    file is a line still being written). Lines longer than limit come truncated, once. */
bool follow_next(follow_t *f, size_t limit, follow_line_t *line);

/*  After follow_next found nothing: checks the path. Returns FOLLOW_LAST_LINE with *last
    when the file was rotated and ends in a line without a newline (it will never get one:
    it is handed out as it is); FOLLOW_SWITCHED when the file was rotated, read to its end
    and every line handed out is done (all_done), so the new file at the path is open now;
    FOLLOW_TRUNCATED when the file was truncated in place (it rewound to 0); FOLLOW_SAME
    otherwise (also while a rotated file still waits for answers). */
enum { FOLLOW_SAME, FOLLOW_SWITCHED, FOLLOW_TRUNCATED, FOLLOW_LAST_LINE };
int follow_check_rotation(follow_t *f, bool all_done, size_t limit, follow_line_t *last);

/* Goes back to the durable position: lines after it are handed out again. */
void follow_rewind(follow_t *f);

/*  The position file: one line per followed path "dev ino offset path". Load finds the
    saved position of path (0s when none); save writes every follower's done position
    atomically and durably. 0 or -1. */
int follow_position_load(const char *position_file, const char *path, dev_t *dev, ino_t *ino,
                         off_t *offset);
int follow_position_save(const char *position_file, follow_t *const *followers, size_t count);

#endif
