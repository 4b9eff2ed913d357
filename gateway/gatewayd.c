/*  aduan-gatewayd - runs the core and the enabled channels in one process, or one
    component of them (--only), in the foreground, logging to stderr.

    Signals are taken through a signalfd in the core's loop, not by CZMQ's handler (which
    would make other libraries' blocking calls fail with EINTR): SIGTERM and SIGINT finish
    the transaction at hand and stop. Under systemd it speaks the notify protocol:
    READY=1 once the endpoints are bound, STATUS= and WATCHDOG=1 every second. */
#include <czmq.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "aduan/adapter.h"
#include "aduan/clock.h"
#include "aduan/config.h"
#include "aduan/log.h"
#include "service.h"

#define DEFAULT_CONFIG "/etc/aduan/aduan.conf"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: aduan-gatewayd [-c FILE] [--only COMPONENT] [--check] [--keys]\n"
            "\n"
            "  -c, --config FILE   configuration (default $ADUAN_CONFIG or " DEFAULT_CONFIG ")\n"
            "  --only COMPONENT    run one component: core, sms, email, phone, box\n"
            "  --check             check the configuration, print 'configuration OK' or\n"
            "                      every error, and exit (non-zero on errors)\n"
            "  --keys              print every configuration key (Markdown) and exit\n"
            "  -h, --help          this text\n");
}

static void on_tick(void *arg, const char *status)
{
    (void)arg;
    sd_notifyf(0, "WATCHDOG=1\nSTATUS=%s", status);
}

/* The channels built in (gateway/CMakeLists.txt links each one's library). */
#ifdef ADUAN_WITH_SMS
extern const aduan_channel_t aduan_channel_sms;
#endif
#ifdef ADUAN_WITH_EMAIL
extern const aduan_channel_t aduan_channel_email;
#endif
#ifdef ADUAN_WITH_PHONE
extern const aduan_channel_t aduan_channel_phone;
#endif
#ifdef ADUAN_WITH_BOX
extern const aduan_channel_t aduan_channel_box;
#endif

typedef struct {
    const char *name;
    const aduan_channel_t *channel; /* NULL: the core, or a channel not built yet */
} component_t;

static const component_t components[] = {
    {.name = "core"},
#ifdef ADUAN_WITH_SMS
    {.name = "sms", .channel = &aduan_channel_sms},
#else
    {.name = "sms"},
#endif
#ifdef ADUAN_WITH_EMAIL
    {.name = "email", .channel = &aduan_channel_email},
#else
    {.name = "email"},
#endif
#ifdef ADUAN_WITH_PHONE
    {.name = "phone", .channel = &aduan_channel_phone},
#else
    {.name = "phone"},
#endif
#ifdef ADUAN_WITH_BOX
    {.name = "box", .channel = &aduan_channel_box},
#else
    {.name = "box"},
#endif
};
#define COMPONENT_COUNT (sizeof components / sizeof components[0])

static bool channel_enabled(const aduan_config_t *config, const char *name)
{
    return (strcmp(name, "sms") == 0 && config->sms.enabled) ||
           (strcmp(name, "email") == 0 && config->email.enabled) ||
           (strcmp(name, "phone") == 0 && config->phone.enabled) ||
           (strcmp(name, "box") == 0 && config->box.enabled);
}

static const component_t *component_named(const char *name)
{
    for (size_t i = 0; i < COMPONENT_COUNT; i++)
        if (strcmp(components[i].name, name) == 0)
            return &components[i];
    return NULL;
}

/* Blocks the stop signals in every thread (call before any thread starts) and returns a
   signalfd that becomes readable when one comes. */
static int stop_signals(void)
{
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);
    return signalfd(-1, &stop, SFD_CLOEXEC | SFD_NONBLOCK);
}

/* One channel alone (--only sms): its adapter connects to a core elsewhere. */
static int run_channel(const aduan_config_t *config, const component_t *c)
{
    int stop_fd = stop_signals();
    zsys_handler_set(NULL);
    zsys_init();
    sd_notifyf(0, "READY=1\nSTATUS=%s adapter running", c->name);
    int rc = aduan_adapter_run(c->channel, config, NULL, stop_fd);
    sd_notify(0, "STOPPING=1");
    close(stop_fd);
    zsys_shutdown();
    log_info("gatewayd", "stopped");
    return rc;
}

/* The core, and with `all` every enabled channel as a thread of this process. */
static int run_core(const aduan_config_t *config, bool all)
{
    int stop_fd = stop_signals();

    zsys_handler_set(NULL);
    zsys_init();
    char reason[512];
    /* NULL, the wall clock, unless a test moves time (ADUAN_TEST_CLOCK_FILE) */
    const aduan_clock_t *clock = aduan_clock_from_env();
    if (clock)
        log_warn("gatewayd", "TEST CLOCK: time is moved by the offset in %s",
                 getenv("ADUAN_TEST_CLOCK_FILE"));
    aduan_core_t *core = aduan_core_new(config, clock, reason, sizeof reason);
    if (!core) {
        log_error("gatewayd", "%s", reason);
        sd_notifyf(0, "STATUS=failed: %s", reason);
        close(stop_fd);
        return 1;
    }
    /* the channels connect once the core's endpoints are bound */
    zactor_t *actors[COMPONENT_COUNT] = {0};
    aduan_adapter_actor_config = config;
    for (size_t i = 0; all && i < COMPONENT_COUNT; i++) {
        if (!channel_enabled(config, components[i].name))
            continue;
        if (!components[i].channel) {
            log_error("gatewayd", "the %s channel is enabled but not part of this build",
                      components[i].name);
            continue;
        }
        actors[i] = zactor_new(aduan_adapter_actor, (void *)components[i].channel);
    }
    sd_notify(0, "READY=1\nSTATUS=running");
    aduan_core_loop_t loop = {.stop_fd = stop_fd, .tick = on_tick, .tick_arg = NULL};
    int rc = aduan_core_run(core, &loop);
    sd_notify(0, "STOPPING=1");
    /* the channels first: what they have in flight is unanswered, and goes again */
    for (size_t i = 0; i < COMPONENT_COUNT; i++)
        zactor_destroy(&actors[i]);
    aduan_core_destroy(&core);
    close(stop_fd);
    zsys_shutdown();
    log_info("gatewayd", "stopped");
    return rc == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    /* One malloc arena: ZeroMQ's I/O thread allocates every message and the core's thread
       frees it; with an arena per thread the freed memory fragmented and the RSS grew by
       ~130 bytes per intake (150 MiB after a million). The few threads here do not
       contend for it. */
    mallopt(M_ARENA_MAX, 1);
    /* Without TZ, glibc stats /etc/localtime on every mktime/localtime: 160 calls per
       intake were seen. Named once, the zone is read once. */
    setenv("TZ", ":/etc/localtime", 0);
    const char *path = getenv("ADUAN_CONFIG") ? getenv("ADUAN_CONFIG") : DEFAULT_CONFIG;
    const char *only = NULL;
    bool check = false;
    static const struct option options[] = {
        {"config", required_argument, NULL, 'c'}, {"only", required_argument, NULL, 'o'},
        {"check", no_argument, NULL, 'k'},        {"keys", no_argument, NULL, 'K'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
    };
    int opt;
    while ((opt = getopt_long(argc, argv, "c:h", options, NULL)) != -1) {
        switch (opt) {
        case 'c':
            path = optarg;
            break;
        case 'o':
            only = optarg;
            break;
        case 'k':
            check = true;
            break;
        case 'K':
            aduan_config_print_keys(stdout);
            return 0;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        usage(stderr);
        return 2;
    }
    if (only && !component_named(only)) {
        fprintf(stderr, "aduan-gatewayd: unknown component '%s'\n", only);
        return 2;
    }

    aduan_config_t *config = NULL;
    aduan_config_errors_t errors = {0};
    if (aduan_config_load(path, &config, &errors) != 0) {
        for (size_t i = 0; i < errors.count; i++)
            fprintf(stderr, "%s\n", errors.lines[i]);
        aduan_config_errors_clear(&errors);
        return 1;
    }
    if (check) {
        /* not an error: the replies then carry the built-in one-line texts (template.c),
           which is better than no reply; but rarely what the office meant */
        char ack[PATH_MAX];
        snprintf(ack, sizeof ack, "%s/%s/ack.txt", config->templates.dir,
                 config->templates.language);
        if (access(ack, R_OK) != 0)
            fprintf(stderr, "warning: %s: %s; replies will carry the built-in one-line texts\n",
                    ack, strerror(errno));
        printf("configuration OK\n");
        aduan_config_destroy(&config);
        return 0;
    }
    aduan_log_level_parse(config->core.log_level, &aduan_log_threshold);

    int rc;
    const component_t *c = only ? component_named(only) : NULL;
    if (c && strcmp(c->name, "core") != 0) {
        if (c->channel) {
            rc = run_channel(config, c);
        } else {
            log_error("gatewayd", "the %s channel is not part of this build yet", only);
            rc = 1;
        }
    } else {
        rc = run_core(config, c == NULL);
    }
    aduan_config_destroy(&config);
    return rc;
}
