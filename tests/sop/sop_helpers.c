/*  sop_helpers.c - see sop_helpers.h. */
#include "sop_helpers.h"

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char clock_path[256];

bool sop_root(void)
{
    return geteuid() == 0;
}

h_env_t *sop_env_new(const char *extra_conf)
{
    setenv("TZ", "Asia/Jakarta", 1);
    tzset();
    struct passwd *pw = getpwuid(geteuid());
    assert_non_null(pw);
    char conf[2048];
    snprintf(conf, sizeof conf,
             "[staff." SOP_BACKOFFICE_ID "]\n"
             "name = Budi Santoso\n"
             "role = backoffice\n"
             "email = " SOP_BACKOFFICE_EMAIL "\n"
             "notify = email\n"
             "\n[staff." SOP_CLERK_ID "]\n"
             "name = Rina Lestari\n"
             "role = helpdesk\n"
             "user = %s\n"
             "notify = none\n"
             "\n%s\n",
             pw->pw_name, extra_conf ? extra_conf : "");
    h_options_t opts = {.extra_conf = conf};
    h_env_t *env = h_env_new(&opts);
    snprintf(clock_path, sizeof clock_path, "%s/clock", env->dir);
    assert_int_equal(h_write_file(clock_path, "0\n"), 0);
    setenv("ADUAN_TEST_CLOCK_FILE", clock_path, 1);
    return env;
}

void sop_clock_set(h_env_t *env, int64_t offset_ms)
{
    (void)env;
    char text[32];
    snprintf(text, sizeof text, "%lld\n", (long long)offset_ms);
    /* a new file each time: its mtime and size tell the daemon to read it again */
    char tmp[300];
    snprintf(tmp, sizeof tmp, "%s.new", clock_path);
    assert_int_equal(h_write_file(tmp, text), 0);
    assert_int_equal(rename(tmp, clock_path), 0);
}

void sop_ctl_expect(h_env_t *env, h_run_t *run, int code, const char *what, ...)
{
    const char *args[40];
    size_t n = 0;
    va_list ap;
    va_start(ap, what);
    const char *a;
    while ((a = va_arg(ap, const char *)) != NULL) {
        assert_true(n + 1 < sizeof args / sizeof args[0]);
        args[n++] = a;
    }
    va_end(ap);
    args[n] = NULL;
    h_aduanctl_argv(env, run, SOP_CTL_MS, args);
    if (run->code != code) {
        fprintf(stderr, "aduanctl %s: exit %d, expected %d\nstdout: %s\nstderr: %s\n", what,
                run->code, code, run->out, run->err);
        fail_msg("aduanctl %s", what);
    }
}

static bool matches(const aduan_msg_t *m, const char *kind, const char *ticket, const char *to)
{
    return (!kind || strcmp(m->deliver.kind, kind) == 0) &&
           (!ticket || (m->deliver.ticket && strcmp(m->deliver.ticket, ticket) == 0)) &&
           (!to || (m->deliver.to_addr && strcmp(m->deliver.to_addr, to) == 0));
}

const aduan_msg_t *sop_wait_deliver(h_adapter_t *a, const char *kind, const char *ticket,
                                    const char *to, int timeout_ms)
{
    int64_t deadline = h_now_ms() + timeout_ms;
    while (true) {
        for (size_t i = 0; i < a->delivery_count; i++) {
            h_delivery_t *d = &a->deliveries[i];
            if (!d->taken && matches(d->msg, kind, ticket, to)) {
                d->taken = true;
                return d->msg;
            }
        }
        if (h_now_ms() >= deadline)
            break;
        h_adapter_pump(a, 50);
    }
    fprintf(stderr, "no DELIVER kind=%s ticket=%s to=%s on %s; received:\n", kind ? kind : "*",
            ticket ? ticket : "*", to ? to : "*", a->channel);
    for (size_t i = 0; i < a->delivery_count; i++) {
        const aduan_msg_t *m = a->deliveries[i].msg;
        fprintf(stderr, "  %s %s %s to=%s subject=%s\n", a->deliveries[i].taken ? "taken" : "new  ",
                m->deliver.kind, m->deliver.ticket ? m->deliver.ticket : "-",
                m->deliver.to_addr, m->deliver.subject ? m->deliver.subject : "");
    }
    fail_msg("DELIVER not received");
    return NULL;
}

size_t sop_untaken(h_adapter_t *a, int pump_ms)
{
    h_adapter_pump(a, pump_ms);
    size_t n = 0;
    for (size_t i = 0; i < a->delivery_count; i++) {
        if (!a->deliveries[i].taken) {
            const aduan_msg_t *m = a->deliveries[i].msg;
            fprintf(stderr, "untaken on %s: %s %s to=%s subject=%s\n", a->channel,
                    m->deliver.kind, m->deliver.ticket ? m->deliver.ticket : "-",
                    m->deliver.to_addr, m->deliver.subject ? m->deliver.subject : "");
            n++;
        }
    }
    return n;
}

char *sop_audit_trail(h_env_t *env, const char *ticket, bool actors)
{
    json_t *body = h_show(env, ticket);
    json_t *audit = json_object_get(body, "audit");
    size_t len = 0, i;
    char *out = NULL;
    FILE *f = open_memstream(&out, &len);
    json_t *row;
    json_array_foreach(audit, i, row) {
        fprintf(f, "%s%s", i ? " " : "", json_string_value(json_object_get(row, "action")));
        if (actors)
            fprintf(f, ":%s", json_string_value(json_object_get(row, "actor")));
    }
    fclose(f);
    json_decref(body);
    return out;
}

char *sop_status(h_env_t *env, const char *ticket)
{
    json_t *body = h_show(env, ticket);
    char *s = strdup(json_string_value(json_object_get(body, "status")));
    json_decref(body);
    return s;
}

void sop_wait_status(h_env_t *env, const char *ticket, const char *status, int timeout_ms)
{
    zsock_t *sub = h_events_sub(env);
    int64_t deadline = h_now_ms() + timeout_ms;
    char *now = sop_status(env, ticket);
    while (strcmp(now, status) != 0 && h_now_ms() < deadline) {
        /* each step publishes ticket.step; the subscription predates this look */
        aduan_msg_t *ev = h_events_wait(sub, "ticket.step", ticket, 200);
        aduan_msg_destroy(&ev);
        free(now);
        now = sop_status(env, ticket);
    }
    if (strcmp(now, status) != 0)
        fail_msg("%s is %s, not %s, after %d ms", ticket, now, status, timeout_ms);
    free(now);
}

void sop_complaint(h_adapter_t *a, const char *key, const char *from, const char *subject,
                   const char *text, const char *message_ref, char ticket[40])
{
    aduan_msg_t *m = h_intake_new(a->channel, key, from, subject, text);
    if (message_ref)
        aduan_msg_set(&m->intake.message_ref, message_ref);
    aduan_msg_t *ack = h_adapter_intake(a, &m);
    assert_non_null(ack);
    assert_int_equal(ack->type, ADUAN_MSG_ACK);
    assert_string_equal(ack->ack.disposition, "new");
    snprintf(ticket, 40, "%s", ack->ack.ticket);
    aduan_msg_destroy(&ack);
}
