/*  mailbox.c - the email tests' mail world (see mailbox.h). Commands run here get only
    names this file makes (t-<tag>-<pid>-<n>), never message content. */
#include "mailbox.h"

#include <dirent.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef ADUAN_SOURCE_DIR
#error "ADUAN_SOURCE_DIR must name the source tree"
#endif
#define MAILWORLD ADUAN_SOURCE_DIR "/tests/world/mailworld.sh"

int mailbox_world(const char *command)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "%s %s >/dev/null", MAILWORLD, command);
    int rc = system(cmd);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static void env_value(const char *line, const char *key, char *out, size_t outlen)
{
    size_t n = strlen(key);
    if (strncmp(line, key, n) == 0 && line[n] == '=') {
        snprintf(out, outlen, "%s", line + n + 1);
        out[strcspn(out, "\n")] = '\0';
    }
}

int mailbox_setup(mailbox_t *mb, const char *tag)
{
    memset(mb, 0, sizeof *mb);
    if (mailbox_world("up") != 0)
        return -1;
    FILE *f = popen(MAILWORLD " env", "r");
    if (!f)
        return -1;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        env_value(line, "ADUAN_WORLD", mb->world, sizeof mb->world);
        env_value(line, "MAILWORLD_PASSWORD_FILE", mb->password_file, sizeof mb->password_file);
        env_value(line, "MAILWORLD_CA", mb->ca, sizeof mb->ca);
        env_value(line, "MAILWORLD_WRONG_CA", mb->wrong_ca, sizeof mb->wrong_ca);
        env_value(line, "MAILWORLD_DOVECOT_CONF", mb->dovecot_conf, sizeof mb->dovecot_conf);
    }
    pclose(f);
    static int n;
    snprintf(mb->local, sizeof mb->local, "t-%s-%d-%d-%ld", tag, (int)getpid(), ++n,
             (long)(time(NULL) % 100000));
    snprintf(mb->user, sizeof mb->user, "%s@test.local", mb->local);
    char cmd[160];
    snprintf(cmd, sizeof cmd, "user %s", mb->local);
    return mb->dovecot_conf[0] && mailbox_world(cmd) == 0 ? 0 : -1;
}

int mailbox_put(const mailbox_t *mb, const char *user, const char *folder, const void *raw,
                size_t len)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "doveadm -c %s save -u %s -m %s", mb->dovecot_conf,
             user ? user : mb->user, folder ? folder : "INBOX");
    FILE *f = popen(cmd, "w");
    if (!f)
        return -1;
    size_t written = fwrite(raw, 1, len, f);
    int rc = pclose(f);
    return written == len && WIFEXITED(rc) && WEXITSTATUS(rc) == 0 ? 0 : -1;
}

int mailbox_put_many(const mailbox_t *mb, int count, size_t (*make)(int i, char *buf, size_t buflen))
{
    /* the Maildir exists once Dovecot has seen the user: a first message makes it, once
       (a mailbox filled in several calls, as a flood arrives, gets one seed) */
    char base[600], new_dir[700];
    snprintf(base, sizeof base, "%s/mail/test.local/%s/Maildir", mb->world, mb->local);
    snprintf(new_dir, sizeof new_dir, "%s/new", base);
    if (access(new_dir, F_OK) != 0 &&
        mailbox_put(mb, NULL, NULL, "Subject: seed\r\n\r\nseed\r\n", 23) != 0)
        return -1;
    /* names unique across calls: a later call in the same second must not replace a
       message Dovecot has not taken from new/ yet */
    static int written;
    struct passwd *nobody = getpwnam("nobody");
    size_t cap = 1 << 20;
    char *buf = malloc(cap);
    if (!buf || !nobody)
        return -1;
    for (int i = 0; i < count; i++) {
        size_t len = make(i, buf, cap);
        char tmp[800], dst[800];
        int n = written++;
        snprintf(tmp, sizeof tmp, "%s/tmp/%ld.M%dP%d.aduan,S=%zu", base, (long)time(NULL), n,
                 (int)getpid(), len);
        snprintf(dst, sizeof dst, "%s/new/%ld.M%dP%d.aduan,S=%zu", base, (long)time(NULL), n,
                 (int)getpid(), len);
        FILE *f = fopen(tmp, "wb");
        if (!f || fwrite(buf, 1, len, f) != len || fclose(f) != 0 ||
            chown(tmp, nobody->pw_uid, nobody->pw_gid) != 0 || rename(tmp, dst) != 0) {
            free(buf);
            return -1;
        }
    }
    free(buf);
    return 0;
}

int mailbox_count(const mailbox_t *mb, const char *user, const char *folder,
                  const char *with_flag)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "doveadm -c %s fetch -u %s 'uid flags' mailbox %s ALL 2>/dev/null",
             mb->dovecot_conf, user ? user : mb->user, folder);
    FILE *f = popen(cmd, "r");
    if (!f)
        return -1;
    char line[512];
    int n = 0;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "flags:", 6) == 0 && (!with_flag || strstr(line, with_flag)))
            n++;
    pclose(f);
    return n;
}

char *mailbox_fetch_text(const mailbox_t *mb, const char *user, const char *folder,
                         const char *field, const char *value)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "doveadm -c %s fetch -u %s text mailbox %s header %s '%s' 2>/dev/null",
             mb->dovecot_conf, user ? user : mb->user, folder, field, value);
    FILE *f = popen(cmd, "r");
    if (!f)
        return strdup("");
    size_t cap = 4096, len = 0;
    char *out = malloc(cap);
    size_t n;
    while (out && (n = fread(out + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (cap - len < 1024) {
            char *grown = realloc(out, cap * 2);
            if (!grown)
                break;
            out = grown;
            cap *= 2;
        }
    }
    pclose(f);
    if (out)
        out[len] = '\0';
    return out ? out : strdup("");
}
