/*  box_env.c - the box tests' environment (box_env.h). */
#include "box_env.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "phone.h"

box_env_t *box_env_new(const char *extra)
{
    box_env_t *b = calloc(1, sizeof *b);
    snprintf(b->dir, sizeof b->dir, "/tmp/aduan-box-XXXXXX");
    assert_non_null(mkdtemp(b->dir));
    snprintf(b->scan, sizeof b->scan, "%s/scan", b->dir);
    snprintf(b->processed, sizeof b->processed, "%s/processed", b->dir);
    snprintf(b->quarantine, sizeof b->quarantine, "%s/quarantine", b->dir);
    snprintf(b->outgoing, sizeof b->outgoing, "%s/outgoing", b->dir);
    snprintf(b->device, sizeof b->device, "%s/phone", b->dir);
    char gammurc[128];
    snprintf(gammurc, sizeof gammurc, "%s/gammurc", b->dir);
    assert_int_equal(phone_make(b->device, gammurc), 0);
    struct passwd *pw = getpwuid(geteuid());
    assert_non_null(pw);
    char conf[2048];
    snprintf(conf, sizeof conf,
             "[sms]\nenabled = yes\naccount = modem-test\ngammurc = %s\npoll = 200ms\n"
             "spill_dir = %s/spill\ndelivery_reports = no\n"
             "[box]\nenabled = yes\naccount = kotak-lobi\nscan_dir = %s\nprocessed_dir = %s\n"
             "quarantine_dir = %s\noutgoing_dir = %s\nstable_ms = 300\n"
             "letter_address = Jl. Merdeka No. 1, Kota Contoh\n%s\n"
             /* the help desk clerk is whoever runs the test (aduanctl transcribe) */
             "[staff.rina]\nname = Rina Lestari\nrole = helpdesk\nuser = %s\nnotify = none\n"
             /* the SOP's other roles, acted for with --as (the letter of a response) */
             "[staff.budi]\nname = Budi Hartono\nrole = backoffice\nnotify = none\n"
             "[core]\nact_as_users = %s\n",
             gammurc, b->dir, b->scan, b->processed, b->quarantine, b->outgoing,
             extra ? extra : "", pw->pw_name, pw->pw_name);
    /* page images and originals travel on the bus: the harness's 64 KiB is for other tests */
    h_options_t o = {.extra_conf = conf, .max_message_bytes = 64 << 20};
    b->env = h_env_new(&o);
    b->sub = h_events_sub(b->env);
    return b;
}

int box_env_setup(void **state)
{
    box_env_t *b = box_env_new(NULL);
    *state = b;
    return h_daemon_start(b->env) == 0 ? 0 : -1;
}

int box_env_teardown(void **state)
{
    box_env_t *b = *state;
    if (!b)
        return 0;
    int rc = h_teardown((void **)&b->env);
    h_drop_tree(b->dir);
    free(b);
    return rc;
}

const char *box_scan_path(box_env_t *b, const char *name)
{
    static char path[256];
    snprintf(path, sizeof path, "%s/%s", b->scan, name);
    return path;
}

/* Waits a little on the events (something happens when the daemon works) instead of
   sleeping. */
static void pause_on_events(box_env_t *b)
{
    aduan_msg_t *ev = h_events_wait(b->sub, NULL, NULL, 200);
    aduan_msg_destroy(&ev);
}

char *box_wait_ticket(box_env_t *b)
{
    aduan_msg_t *ev = h_events_wait(b->sub, "ticket.new", NULL, BOX_WAIT_MS);
    if (!ev)
        fail_msg("no ticket.new within %d ms", BOX_WAIT_MS);
    char *ticket = strdup(ev->event.ticket);
    aduan_msg_destroy(&ev);
    return ticket;
}

static char *find_in(const char *folder, const char *needle)
{
    DIR *d = opendir(folder);
    struct dirent *e;
    char *found = NULL;
    while (d && !found && (e = readdir(d)))
        /* not a file still being written (aduan_write_file_durably's NAME.tmp.XXXXXX) */
        if (e->d_name[0] != '.' && strstr(e->d_name, needle) && !strstr(e->d_name, ".tmp."))
            found = strdup(e->d_name);
    if (d)
        closedir(d);
    return found;
}

char *box_wait_file(box_env_t *b, const char *folder, const char *needle)
{
    int64_t deadline = h_now_ms() + BOX_WAIT_MS;
    char *name;
    while (!(name = find_in(folder, needle))) {
        if (h_now_ms() > deadline)
            fail_msg("no file with \"%s\" in %s", needle, folder);
        pause_on_events(b);
    }
    return name;
}

void box_wait_log(box_env_t *b, const char *needle)
{
    int64_t deadline = h_now_ms() + BOX_WAIT_MS;
    for (;;) {
        char *log = h_read_file(b->env->log);
        bool found = strstr(log, needle) != NULL;
        free(log);
        if (found)
            return;
        if (h_now_ms() > deadline)
            fail_msg("the log does not say \"%s\"", needle);
        pause_on_events(b);
    }
}

char *box_wait_sms(box_env_t *b, const char *number, const char *text)
{
    int64_t deadline = h_now_ms() + BOX_WAIT_MS;
    for (;;) {
        char *sent = phone_texts(b->device, PHONE_OUTBOX, number);
        if (h_contains(sent, text))
            return sent;
        if (h_now_ms() > deadline)
            fail_msg("no SMS with \"%s\" to %s; sent: %s", text, number, sent);
        free(sent);
        pause_on_events(b);
    }
}

int box_count(const char *folder)
{
    DIR *d = opendir(folder);
    struct dirent *e;
    int n = 0;
    while (d && (e = readdir(d)))
        n += e->d_name[0] != '.';
    if (d)
        closedir(d);
    return n;
}

char *box_pdftotext(box_env_t *b, const char *path)
{
    char out[256];
    snprintf(out, sizeof out, "%s/pdftotext.txt", b->dir);
    char *argv[] = {"/usr/bin/pdftotext", "-layout", (char *)path, out, NULL};
    pid_t pid = h_spawn(argv, NULL, NULL);
    assert_true(pid > 0);
    assert_int_equal(h_wait_exit(pid, 20000), 0);
    return h_read_file(out);
}
