/*  spill.c - the SMS channel's durable files: spilled messages, the report map, calls. */
#include "spill.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "aduan/clock.h"
#include "aduan/files.h"
#include "aduan/log.h"

#define SPILL_SUFFIX ".sms"
#define REPORT_REFS_MAX GSM_MAX_MULTI_SMS

static int fsync_path(const char *path, int flags)
{
    int fd = open(path, flags | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    int saved = errno;
    close(fd);
    errno = saved;
    return rc;
}

int sms_spill_init(const char *dir)
{
    char reports[4096];
    snprintf(reports, sizeof reports, "%s/reports", dir);
    return aduan_mkdirs(reports, 0700);
}

/* ---- spilled messages ------------------------------------------------------------------- */

int sms_spill_save(const char *dir, const GSM_MultiSMSMessage *m, char *path_out,
                   size_t path_len)
{
    static unsigned counter; /* one adapter thread writes here */
    char tmp[4096];
    int64_t now = aduan_clock_now_ms(NULL);
    snprintf(path_out, path_len, "%s/%013" PRId64 "-%05u-%d" SPILL_SUFFIX, dir, now,
             counter % 100000u, (int)getpid());
    snprintf(tmp, sizeof tmp, "%s/.tmp-%013" PRId64 "-%05u", dir, now, counter++ % 100000u);

    GSM_SMS_Backup *backup = calloc(1, sizeof *backup); /* 800 KB of pointers */
    if (!backup)
        return -1;
    for (int i = 0; i < m->Number; i++)
        backup->SMS[i] = (GSM_SMSMessage *)&m->SMS[i]; /* read, not changed, by the writer */
    backup->SMS[m->Number] = NULL;
    unlink(tmp);
    GSM_Error e = GSM_AddSMSBackupFile(tmp, backup);
    free(backup);
    if (e != ERR_NONE) {
        log_error("sms", "spill write %s failed: %s", tmp, GSM_ErrorString(e));
        unlink(tmp);
        errno = EIO;
        return -1;
    }
    if (fsync_path(tmp, O_RDONLY) != 0 || rename(tmp, path_out) != 0 ||
        fsync_path(dir, O_RDONLY | O_DIRECTORY) != 0) {
        int saved = errno;
        unlink(tmp);
        errno = saved;
        return -1;
    }
    return 0;
}

int sms_spill_load(const char *path, GSM_MultiSMSMessage *m)
{
    GSM_SMS_Backup *backup = calloc(1, sizeof *backup);
    if (!backup)
        return -1;
    GSM_Error e = GSM_ReadSMSBackupFile(path, backup);
    if (e != ERR_NONE) {
        free(backup);
        return -1;
    }
    memset(m, 0, sizeof *m);
    for (int i = 0; backup->SMS[i] && m->Number < GSM_MAX_MULTI_SMS; i++)
        m->SMS[m->Number++] = *backup->SMS[i];
    GSM_FreeSMSBackup(backup);
    free(backup);
    return m->Number > 0 ? 0 : -1;
}

static bool is_spill_name(const char *name)
{
    size_t len = strlen(name), slen = strlen(SPILL_SUFFIX);
    return name[0] != '.' && len > slen && strcmp(name + len - slen, SPILL_SUFFIX) == 0;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

char **sms_spill_list(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return NULL;
    size_t n = 0, cap = 16;
    char **list = calloc(cap + 1, sizeof *list);
    struct dirent *de;
    while (list && (de = readdir(d))) {
        if (!is_spill_name(de->d_name))
            continue;
        if (n == cap) {
            char **bigger = realloc(list, (cap * 2 + 1) * sizeof *list);
            if (!bigger)
                break;
            list = bigger;
            cap *= 2;
        }
        if (asprintf(&list[n], "%s/%s", dir, de->d_name) < 0)
            break;
        list[++n] = NULL;
    }
    closedir(d);
    if (list)
        qsort(list, n, sizeof *list, compare_names); /* names start with the time */
    return list;
}

void sms_spill_list_free(char ***list_p)
{
    if (!list_p || !*list_p)
        return;
    for (char **p = *list_p; *p; p++)
        free(*p);
    free(*list_p);
    *list_p = NULL;
}

size_t sms_spill_count(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        n += is_spill_name(de->d_name);
    closedir(d);
    return n;
}

int sms_spill_remove(const char *path)
{
    if (unlink(path) != 0 && errno != ENOENT)
        return -1;
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    return fsync_path(slash ? dir : ".", O_RDONLY | O_DIRECTORY);
}

/* ---- message references waiting for delivery reports ------------------------------------ */

static void report_path(const char *dir, uint64_t outbox_id, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s/reports/%" PRIu64, dir, outbox_id);
}

/* A row's file: its references on the first line, its recipient on the second. */
static int write_refs(const char *path, const int *refs, int count, const char *recipient)
{
    char text[REPORT_REFS_MAX * 5 + 2 + 128];
    size_t used = 0;
    for (int i = 0; i < count; i++)
        used += (size_t)snprintf(text + used, sizeof text - used, "%s%d", i ? " " : "", refs[i]);
    used += (size_t)snprintf(text + used, sizeof text - used, "\n%.100s\n",
                             recipient ? recipient : "");
    return aduan_write_file_durably(path, text, used);
}

int sms_reports_put(const char *dir, uint64_t outbox_id, const int *refs, int count,
                    const char *recipient)
{
    char path[4096];
    report_path(dir, outbox_id, path, sizeof path);
    return write_refs(path, refs, count > REPORT_REFS_MAX ? REPORT_REFS_MAX : count, recipient);
}

/* The references, and the recipient ("" when the file names none: written before it did). */
static int read_refs(const char *path, int refs[REPORT_REFS_MAX], char recipient[128])
{
    char *text = aduan_read_file(path, 4096, NULL);
    if (!text)
        return -1;
    char *line = strchr(text, '\n');
    recipient[0] = '\0';
    if (line) {
        *line++ = '\0';
        snprintf(recipient, 128, "%.*s", (int)strcspn(line, "\n"), line);
    }
    int n = 0;
    for (char *p = text, *end; n < REPORT_REFS_MAX; p = end) {
        long v = strtol(p, &end, 10);
        if (end == p)
            break;
        refs[n++] = (int)v;
    }
    free(text);
    return n;
}

int sms_reports_take(const char *dir, int ref, const char *recipient, bool final,
                     uint64_t *outbox_id, int *remaining)
{
    char reports[4096];
    snprintf(reports, sizeof reports, "%s/reports", dir);
    DIR *d = opendir(reports);
    if (!d)
        return -1;
    /* the oldest row waiting for this reference: references wrap after 255 */
    uint64_t best = 0;
    struct dirent *de;
    char to[128];
    while ((de = readdir(d))) {
        char *end;
        uint64_t id = strtoull(de->d_name, &end, 10);
        if (de->d_name[0] == '.' || *end || id == 0 || (best && id >= best))
            continue;
        char path[4096 + 300];
        snprintf(path, sizeof path, "%s/%s", reports, de->d_name);
        int refs[REPORT_REFS_MAX];
        int n = read_refs(path, refs, to);
        if (recipient && *recipient && *to && strcmp(recipient, to) != 0)
            continue;
        for (int i = 0; i < n; i++)
            if (refs[i] == ref)
                best = id;
    }
    closedir(d);
    if (!best)
        return 0;
    char path[4096];
    report_path(dir, best, path, sizeof path);
    int refs[REPORT_REFS_MAX];
    int n = read_refs(path, refs, to), kept = 0;
    bool dropped = false;
    for (int i = 0; i < n; i++) {
        if (refs[i] == ref && !dropped) {
            dropped = true;
            continue;
        }
        refs[kept++] = refs[i];
    }
    *outbox_id = best;
    *remaining = final ? 0 : kept;
    if (final || kept == 0)
        return sms_spill_remove(path) == 0 ? 1 : -1;
    return write_refs(path, refs, kept, to) == 0 ? 1 : -1;
}

/* ---- calls ------------------------------------------------------------------------------ */

int sms_calls_append(const char *dir, const char *account, const char *caller, int64_t at_ms)
{
    char path[4096], when[32];
    snprintf(path, sizeof path, "%s/calls.csv", dir);
    time_t secs = (time_t)(at_ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
    /* Master.csv: accountcode, src, dst, dcontext, clid, channel, dstchannel, lastapp,
       lastdata, start, answer, end, duration, billsec, disposition, amaflags, uniqueid,
       userfield. The modem does not answer: NO ANSWER, no duration. */
    char line[1024];
    int len = snprintf(line, sizeof line,
                       "\"%s\",\"%s\",\"%s\",\"aduan-sms\",\"\"\"\"\" <%s>\",\"GSM/%s\",\"\","
                       "\"\",\"\",\"%s\",\"\",\"%s\",0,0,\"NO ANSWER\",\"DOCUMENTATION\","
                       "\"sms-%" PRId64 "\",\"\"\n",
                       account, caller, account, caller, account, when, when, at_ms);
    if (len < 0 || (size_t)len >= sizeof line)
        return -1;
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    int rc = write(fd, line, (size_t)len) == len && fsync(fd) == 0 ? 0 : -1;
    close(fd);
    return rc;
}
