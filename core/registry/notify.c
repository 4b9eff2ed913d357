/*  notify.c - texts from templates, and notices to the staff of a role. */
#include <string.h>

#include "aduan/log.h"
#include "registry.h"

void aduan_registry_render(aduan_store_t *store, const char *name, const char *channel,
                           const aduan_template_var_t *vars, const char *fallback_text,
                           aduan_rendered_t *out)
{
    const aduan_config_t *cfg = aduan_store_config(store);
    char variant[96], reason[256];
    /* a telephone complaint is answered by SMS (or read out on a call-back): its texts
       are the SMS ones (calls.c) */
    if (channel && strcmp(channel, "phone") == 0)
        channel = "sms";
    snprintf(variant, sizeof variant, "%s_%s", name, channel);
    if (aduan_template_render(cfg->templates.dir, cfg->templates.language, variant, vars, out,
                              reason, sizeof reason) == 0)
        return;
    if (aduan_template_render(cfg->templates.dir, cfg->templates.language, name, vars, out,
                              reason, sizeof reason) == 0)
        return;
    log_warn("core", "template %s: %s; using the built-in text", name, reason);
    out->subject = strdup("");
    out->text = aduan_template_expand(fallback_text, vars);
}

/* The value of a template variable, for the ticket of a notice. */
static const char *var(const aduan_template_var_t *vars, const char *name)
{
    for (; vars && vars->name; vars++)
        if (strcmp(vars->name, name) == 0)
            return vars->value;
    return NULL;
}

int aduan_registry_notify_staff(aduan_store_t *store, aduan_role_t role, int64_t complaint_id,
                                const char *name, const aduan_template_var_t *vars,
                                const char *fallback_text)
{
    const aduan_config_t *cfg = aduan_store_config(store);
    static const char *const channels[] = {"email", "sms"};
    for (size_t i = 0; i < cfg->staff_count; i++) {
        const aduan_staff_t *s = &cfg->staff[i];
        if (s->role != role || !s->notify)
            continue;
        bool both = strcmp(s->notify, "both") == 0;
        const char *address[] = {s->email, s->phone};
        for (int c = 0; c < 2; c++) {
            if (!both && strcmp(s->notify, channels[c]) != 0)
                continue;
            if (!address[c] || !*address[c])
                continue;
            aduan_rendered_t r = {0};
            aduan_registry_render(store, name, channels[c], vars, fallback_text, &r);
            aduan_outbox_item_t item = {
                .complaint_id = complaint_id,
                .ticket = var(vars, "ticket"),
                .kind = "notice",
                .channel = channels[c],
                .to_addr = address[c],
                .to_name = s->name,
                .staff_id = s->id,
                .subject = r.subject,
                .body = r.text,
                .automatic = false,
            };
            int64_t id = 0;
            int rc = aduan_outbox_queue(store, &item, &id);
            aduan_rendered_clear(&r);
            if (rc != 0)
                return -1;
        }
    }
    return 0;
}
