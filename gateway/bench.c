/*  aduan-bench - the load generator: acts as K adapters of one channel that send N
    synthetic intakes of realistic sizes with W in flight each, and as the adapters of the
    staff channels (email, sms) that answer every DELIVER with RESULT sent.

    Prints throughput and ACK latency (p50, p99), then checks through the control endpoint
    that the registry holds exactly N new tickets, and (with --repeat) that sending the
    same N again yields none. --demo sends a handful of complaints slowly and shows what
    comes back: the quick start's first look at the main job. --search runs queries over
    the control endpoint and prints their latency. --direct writes the same intakes
    straight into a registry of its own, without bus or daemon: how much of an intake's
    time is the registry's own work. */
#include <czmq.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <string.h>

#include "aduan/bus.h"
#include "aduan/clock.h"
#include "aduan/config.h"
#include "aduan/log.h"
#include "registry.h"

typedef struct {
    const char *intake;
    const char *control;
    const char *channel;
    const char *run_id;
    int adapters;
    long count;
    int window;
    double rate; /* intakes/s offered over all adapters; 0 = as fast as acknowledged */
    bool demo;
    bool verbose;
} options_t;

/* ---- synthetic complaints ------------------------------------------------------------- */

static const char *const words[] = {
    "izin", "usaha", "bangunan", "pelayanan", "loket", "antrian", "berkas", "persyaratan",
    "lambat", "mohon", "segera", "perbaikan", "petugas", "kantor", "jalan", "rusak",
    "pengaduan", "sertifikat", "dokumen", "terlambat", "online", "sistem", "OSS", "NIB",
    "retribusi", "biaya", "informasi", "jelas", "kami", "warga", "desa", "kecamatan",
    "sudah", "belum", "selesai", "minggu", "bulan", "tolong", "dibantu", "terima", "kasih",
};
#define WORD_COUNT (sizeof words / sizeof words[0])

static void fill_words(char *out, size_t len, unsigned *seed)
{
    size_t n = 0;
    while (n + 16 < len) {
        const char *w = words[rand_r(seed) % WORD_COUNT];
        n += (size_t)snprintf(out + n, len - n, "%s%s", n ? " " : "", w);
    }
    out[n] = '\0';
}

/* Sizes of real complaints: mostly an SMS or a short mail, sometimes a long letter. */
static size_t text_size(unsigned *seed)
{
    double u = (rand_r(seed) + 1.0) / (RAND_MAX + 2.0);
    double size = exp(6.0 + 0.9 * sqrt(-2.0 * log(u)) * cos(2 * M_PI * u * 7.3));
    return size < 60 ? 60 : size > 8000 ? 8000 : (size_t)size;
}

static aduan_msg_t *synthetic_intake(const options_t *o, int adapter, long i, unsigned *seed)
{
    aduan_msg_t *m = aduan_msg_new(ADUAN_MSG_INTAKE);
    char key[160], from[32], subject[96], *text;
    size_t size = text_size(seed);
    text = malloc(size + 1);
    fill_words(text, size + 1, seed);
    fill_words(subject, 40 + (size_t)(rand_r(seed) % 40), seed);
    snprintf(key, sizeof key, "bench-%s-%d-%ld", o->run_id, adapter, i);
    snprintf(from, sizeof from, "+62812%08ld", (long)(rand_r(seed) % 100000000));
    aduan_msg_set(&m->intake.channel, o->channel);
    aduan_msg_set(&m->intake.account, "bench");
    aduan_msg_set(&m->intake.dedupe_key, key);
    aduan_msg_set(&m->intake.intent, "complaint");
    aduan_msg_set(&m->intake.from_addr, from);
    aduan_msg_set(&m->intake.from_name, "Warga Uji");
    aduan_msg_set(&m->intake.subject, subject);
    aduan_msg_set(&m->intake.text, text);
    m->intake.received_at = (uint64_t)aduan_clock_now_ms(NULL);
    /* the original as an adapter would keep it: headers and the text */
    char *raw = zsys_sprintf("From: %s\r\nSubject: %s\r\n\r\n%s\r\n", from, subject, text);
    m->intake.raw.size = strlen(raw);
    m->intake.raw.data = (unsigned char *)raw;
    free(text);
    return m;
}

/* ---- one adapter ----------------------------------------------------------------------- */

typedef struct {
    const options_t *o;
    int index;
    long first, count;      /* which items this adapter sends */
    double *latencies_ms;   /* one per ACK */
    long acked, nacked, fresh, duplicates;
    long delivers;
    int64_t started, finished;
} adapter_t;

static zsock_t *connect_dealer(const char *endpoint, const char *channel, const char *account)
{
    zsock_t *s = zsock_new(ZMQ_DEALER);
    zsock_set_linger(s, 1000);
    zsock_set_rcvhwm(s, 0);
    zsock_set_sndhwm(s, 0);
    if (zsock_connect(s, "%s", endpoint) != 0) {
        zsock_destroy(&s);
        return NULL;
    }
    aduan_msg_t *hello = aduan_msg_new(ADUAN_MSG_HELLO);
    aduan_msg_set(&hello->hello.channel, channel);
    aduan_msg_set(&hello->hello.account, account);
    aduan_msg_set(&hello->hello.software, "aduan-bench");
    aduan_msg_send(hello, s, NULL);
    aduan_msg_destroy(&hello);
    return s;
}

static void answer_deliver(zsock_t *s, const aduan_msg_t *d, bool show)
{
    if (show) {
        /* an email shows its subject, an SMS its text */
        const char *line = d->deliver.subject && *d->deliver.subject ? d->deliver.subject
                                                                     : d->deliver.text;
        printf("   -> %-5s %-6s to %-36s %.*s\n", d->deliver.channel, d->deliver.kind,
               d->deliver.to_addr, (int)strcspn(line ? line : "", "\n"), line ? line : "");
        fflush(stdout);
    }
    aduan_msg_t *r = aduan_msg_new(ADUAN_MSG_RESULT);
    r->result.outbox_id = d->deliver.outbox_id;
    aduan_msg_set(&r->result.status, "sent");
    aduan_msg_set(&r->result.provider_id, "bench");
    aduan_msg_send(r, s, NULL);
    aduan_msg_destroy(&r);
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void *run_adapter(void *arg)
{
    adapter_t *a = arg;
    const options_t *o = a->o;
    char account[32];
    snprintf(account, sizeof account, "bench-%d", a->index);
    zsock_t *s = connect_dealer(o->intake, o->channel, account);
    if (!s)
        return NULL;
    zhashx_t *sent_at = zhashx_new(); /* msg id -> send time (µs), freed on ACK */
    zhashx_set_destructor(sent_at, (zhashx_destructor_fn *)zstr_free);
    unsigned seed = (unsigned)(a->index * 7919 + 17);
    double per_adapter_rate = o->rate > 0 ? o->rate / o->adapters : 0;
    long next = 0, done = 0;
    a->started = aduan_monotonic_ms();
    int64_t start_us = zclock_usecs();
    zpoller_t *poller = zpoller_new(s, NULL);
    int64_t linger_until = 0; /* --demo: stay a moment for the acknowledgements */
    while (done < a->count || (o->demo && aduan_monotonic_ms() < linger_until)) {
        /* send while the window has room and, with a rate, while the schedule allows */
        while (next < a->count && (long)zhashx_size(sent_at) < o->window) {
            if (per_adapter_rate > 0 &&
                zclock_usecs() - start_us < (int64_t)(next * 1e6 / per_adapter_rate))
                break;
            aduan_msg_t *m = synthetic_intake(o, a->index, a->first + next, &seed);
            if (o->demo)
                printf("-> INTAKE %s from %s: %s\n", m->intake.channel, m->intake.from_addr,
                       m->intake.subject);
            char *stamp = zsys_sprintf("%" PRId64, zclock_usecs());
            zhashx_insert(sent_at, m->id, stamp);
            aduan_msg_send(m, s, NULL);
            aduan_msg_destroy(&m);
            next++;
            if (o->demo)
                break;
        }
        int wait = per_adapter_rate > 0 ? 1 : 1000;
        if (!zpoller_wait(poller, wait)) {
            if (zpoller_terminated(poller))
                break;
            continue;
        }
        zmsg_t *zm = zmsg_recv(s);
        char reason[256];
        aduan_msg_t *m = aduan_msg_decode(&zm, 64 << 20, NULL, reason, sizeof reason);
        if (!m) {
            fprintf(stderr, "aduan-bench: refused a reply: %s\n", reason);
            continue;
        }
        if (m->type == ADUAN_MSG_ACK || m->type == ADUAN_MSG_NACK) {
            const char *ref = m->type == ADUAN_MSG_ACK ? m->ack.ref : m->nack.ref;
            char *stamp = zhashx_lookup(sent_at, ref);
            if (stamp) {
                double ms = (zclock_usecs() - strtoll(stamp, NULL, 10)) / 1000.0;
                zhashx_delete(sent_at, ref);
                if (m->type == ADUAN_MSG_ACK) {
                    a->latencies_ms[a->acked++] = ms;
                    if (strcmp(m->ack.disposition, "new") == 0)
                        a->fresh++;
                    else if (strcmp(m->ack.disposition, "duplicate") == 0)
                        a->duplicates++;
                    if (o->demo) {
                        printf("<- ACK %s (%s) in %.1f ms\n", m->ack.ticket,
                               m->ack.disposition, ms);
                        linger_until = aduan_monotonic_ms() + 1000;
                    }
                } else {
                    a->nacked++;
                    fprintf(stderr, "aduan-bench: NACK: %s\n", m->nack.reason);
                }
                done++;
            }
        } else if (m->type == ADUAN_MSG_DELIVER) {
            a->delivers++;
            answer_deliver(s, m, o->demo);
        }
        aduan_msg_destroy(&m);
    }
    a->finished = aduan_monotonic_ms();
    zpoller_destroy(&poller);
    zhashx_destroy(&sent_at);
    zsock_destroy(&s);
    return NULL;
}

/* ---- the staff channels: answer what the core hands them ------------------------------ */

typedef struct {
    const options_t *o;
    volatile bool stop;
    long delivers;
} drain_t;

static void *run_drain(void *arg)
{
    drain_t *d = arg;
    zsock_t *email = connect_dealer(d->o->intake, "email", "bench-email");
    zsock_t *sms = connect_dealer(d->o->intake, "sms", "bench-sms");
    zpoller_t *poller = zpoller_new(email, sms, NULL);
    int64_t last_beat = 0;
    while (!d->stop) {
        zsock_t *s = zpoller_wait(poller, 100);
        if (aduan_monotonic_ms() - last_beat > 1000) {
            /* stay known to the core while there is nothing to do */
            last_beat = aduan_monotonic_ms();
            aduan_msg_t *beat = aduan_msg_new(ADUAN_MSG_HEARTBEAT);
            aduan_msg_send(beat, email, NULL);
            aduan_msg_send(beat, sms, NULL);
            aduan_msg_destroy(&beat);
        }
        if (!s)
            continue;
        zmsg_t *zm = zmsg_recv(s);
        aduan_msg_t *m = aduan_msg_decode(&zm, 64 << 20, NULL, NULL, 0);
        if (m && m->type == ADUAN_MSG_DELIVER) {
            d->delivers++;
            answer_deliver(s, m, d->o->demo);
        }
        aduan_msg_destroy(&m);
    }
    zpoller_destroy(&poller);
    zsock_destroy(&email);
    zsock_destroy(&sms);
    return NULL;
}

/* ---- the control endpoint ------------------------------------------------------------- */

static json_t *control(const char *endpoint, const char *command, json_t *args, double *ms)
{
    zsock_t *s = zsock_new(ZMQ_DEALER);
    zsock_set_linger(s, 0);
    zsock_set_rcvtimeo(s, 30000);
    zsock_connect(s, "%s", endpoint);
    aduan_msg_t *req = aduan_msg_new(ADUAN_MSG_REQUEST);
    aduan_msg_set(&req->request.command, command);
    aduan_msg_set(&req->request.actor, "aduan-bench");
    char *text = json_dumps(args, JSON_COMPACT);
    aduan_msg_set(&req->request.args, text);
    free(text);
    int64_t t0 = zclock_usecs();
    aduan_msg_send(req, s, NULL);
    aduan_msg_destroy(&req);
    zmsg_t *zm = zmsg_recv(s);
    if (ms)
        *ms = (zclock_usecs() - t0) / 1000.0;
    json_t *body = NULL;
    aduan_msg_t *rep = zm ? aduan_msg_decode(&zm, 256 << 20, NULL, NULL, 0) : NULL;
    if (rep && rep->type == ADUAN_MSG_REPLY && strcmp(rep->reply.status, "ok") == 0)
        body = json_loads(rep->reply.body, 0, NULL);
    aduan_msg_destroy(&rep);
    zsock_destroy(&s);
    return body;
}

static long complaint_count(const options_t *o)
{
    json_t *args = json_object();
    json_t *stats = control(o->control, "stats", args, NULL);
    json_decref(args);
    long n = stats ? (long)json_integer_value(json_object_get(stats, "complaints")) : -1;
    json_decref(stats);
    return n;
}

/* ---- one round: N intakes over K adapters ---------------------------------------------- */

typedef struct {
    long acked, fresh, duplicates, nacked;
    double seconds, p50, p99, max;
} round_t;

static void run_round(const options_t *o, round_t *r)
{
    adapter_t *a = calloc((size_t)o->adapters, sizeof *a);
    pthread_t *threads = calloc((size_t)o->adapters, sizeof *threads);
    long per = o->count / o->adapters, extra = o->count % o->adapters, first = 0;
    for (int i = 0; i < o->adapters; i++) {
        a[i].o = o;
        a[i].index = i;
        a[i].first = first;
        a[i].count = per + (i < extra ? 1 : 0);
        a[i].latencies_ms = calloc((size_t)a[i].count + 1, sizeof(double));
        first += a[i].count;
    }
    int64_t t0 = aduan_monotonic_ms();
    for (int i = 0; i < o->adapters; i++)
        pthread_create(&threads[i], NULL, run_adapter, &a[i]);
    for (int i = 0; i < o->adapters; i++)
        pthread_join(threads[i], NULL);
    int64_t t1 = aduan_monotonic_ms();
    memset(r, 0, sizeof *r);
    double *all = calloc((size_t)o->count + 1, sizeof(double));
    for (int i = 0; i < o->adapters; i++) {
        memcpy(all + r->acked, a[i].latencies_ms, (size_t)a[i].acked * sizeof(double));
        r->acked += a[i].acked;
        r->fresh += a[i].fresh;
        r->duplicates += a[i].duplicates;
        r->nacked += a[i].nacked;
        free(a[i].latencies_ms);
    }
    qsort(all, (size_t)r->acked, sizeof(double), compare_double);
    r->seconds = (t1 - t0) / 1000.0;
    if (r->acked > 0) {
        r->p50 = all[(r->acked - 1) / 2];
        r->p99 = all[(long)((r->acked - 1) * 0.99)];
        r->max = all[r->acked - 1];
    }
    free(all);
    free(a);
    free(threads);
}

static void print_round(const char *name, const options_t *o, const round_t *r)
{
    printf("%-8s %ld intakes, %d adapters x %d in flight%s: %.2f s, %.0f intakes/s, "
           "ACK p50 %.2f ms p99 %.2f ms max %.2f ms; new %ld, duplicate %ld, NACK %ld\n",
           name, o->count, o->adapters, o->window, o->rate > 0 ? " (rate-limited)" : "",
           r->seconds, r->acked / (r->seconds > 0 ? r->seconds : 1), r->p50, r->p99, r->max,
           r->fresh, r->duplicates, r->nacked);
}

static int run_search(const options_t *o, const char *query, int queries)
{
    double *ms = calloc((size_t)queries, sizeof(double));
    long hits = 0;
    for (int i = 0; i < queries; i++) {
        json_t *args = json_pack("{s:s, s:i}", "query", query, "limit", 20);
        json_t *body = control(o->control, "search", args, &ms[i]);
        json_decref(args);
        if (!body) {
            fprintf(stderr, "aduan-bench: search failed\n");
            free(ms);
            return 1;
        }
        hits = (long)json_array_size(json_object_get(body, "items"));
        json_decref(body);
    }
    qsort(ms, (size_t)queries, sizeof(double), compare_double);
    printf("search   '%s' x %d: p50 %.2f ms p99 %.2f ms (%ld hits shown)\n", query, queries,
           ms[(queries - 1) / 2], ms[(int)((queries - 1) * 0.99)], hits);
    free(ms);
    return 0;
}

/*  The registry's own pace: the intakes written by aduan_registry_intake, DIRECT_BATCH to a
    transaction, in this process, into a new registry under dir. No bus, no ACKs, no
    deliveries: what the core would reach if everything around the registry were free. */
#define DIRECT_BATCH 32

static int run_direct(const options_t *o, const aduan_config_t *base, const char *dir)
{
    aduan_config_t *config = aduan_config_defaults();
    /* the bench's staff, so every intake notifies as it does under the daemon */
    config->staff = base->staff;
    config->staff_count = base->staff_count;
    free(config->templates.dir);
    config->templates.dir = strdup(base->templates.dir);
    aduan_store_t *store = NULL;
    char reason[512] = "";
    int rc = 2;
    if (aduan_store_open(dir, config, NULL, &store, reason, sizeof reason) != 0) {
        fprintf(stderr, "aduan-bench: %s\n", reason);
        goto done;
    }
    unsigned seed = 1;
    long fresh = 0;
    aduan_log_threshold = ADUAN_LOG_WARN; /* a line per intake is the daemon's, not this */
    int64_t t0 = aduan_monotonic_ms();
    for (long i = 0; i < o->count;) {
        if (aduan_store_begin(store) != 0)
            break;
        for (long j = 0; j < DIRECT_BATCH && i < o->count; j++, i++) {
            aduan_msg_t *m = synthetic_intake(o, (int)(i % o->adapters), i, &seed);
            aduan_intake_result_t result;
            if (aduan_registry_intake(store, m, "bench", &result, reason, sizeof reason) == 0 &&
                strcmp(result.disposition, "new") == 0)
                fresh++;
            aduan_msg_destroy(&m);
        }
        if (aduan_store_commit(store) != 0)
            break;
        aduan_event_t *events = aduan_store_take_events(store);
        aduan_event_list_free(&events);
    }
    int64_t ms = aduan_monotonic_ms() - t0;
    printf("direct   %ld intakes straight into the registry, %d per transaction, no bus: "
           "%.2f s, %.0f intakes/s; new %ld\n",
           o->count, DIRECT_BATCH, ms / 1000.0, ms > 0 ? o->count * 1000.0 / ms : 0.0, fresh);
    rc = fresh == o->count ? 0 : 1;
done:
    aduan_store_close(&store);
    config->staff = NULL; /* borrowed */
    config->staff_count = 0;
    aduan_config_destroy(&config);
    return rc;
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: aduan-bench [-c FILE] [options]\n"
            "  -c FILE          configuration: the bus endpoints (default $ADUAN_CONFIG)\n"
            "  -k, --adapters K adapters sending at once (default 8)\n"
            "  -n, --count N    intakes in all (default 10000)\n"
            "  -w, --window W   intakes in flight per adapter (default 32)\n"
            "  --rate R         offer R intakes/s in all instead of as fast as ACKed\n"
            "  --channel NAME   channel the adapters speak for (default bench)\n"
            "  --run ID         dedupe keys bench-ID-*: the same ID sends the same items\n"
            "  --repeat         send the same N again and check that no ticket is new\n"
            "  --no-check       do not compare the registry's count with N\n"
            "  --search QUERY   time QUERY over the control endpoint (--queries, default 100)\n"
            "  --direct DIR     write the N intakes straight into a new registry in DIR, no\n"
            "                   bus and no daemon: the registry's own pace\n"
            "  --demo           a few complaints, one by one, showing the replies\n");
}

int main(int argc, char **argv)
{
    options_t o = {.channel = "bench", .adapters = 8, .count = 10000, .window = 32};
    const char *path = getenv("ADUAN_CONFIG") ? getenv("ADUAN_CONFIG") : "/etc/aduan/aduan.conf";
    const char *search = NULL, *direct = NULL;
    int queries = 100;
    bool repeat = false, check = true;
    char run_id[32];
    snprintf(run_id, sizeof run_id, "%lx%x", (long)time(NULL), (unsigned)getpid());
    o.run_id = run_id;
    static const struct option options[] = {
        {"adapters", required_argument, NULL, 'k'}, {"count", required_argument, NULL, 'n'},
        {"window", required_argument, NULL, 'w'},   {"rate", required_argument, NULL, 'r'},
        {"channel", required_argument, NULL, 'C'},  {"run", required_argument, NULL, 'R'},
        {"repeat", no_argument, NULL, 'P'},         {"no-check", no_argument, NULL, 'N'},
        {"search", required_argument, NULL, 'S'},   {"queries", required_argument, NULL, 'Q'},
        {"demo", no_argument, NULL, 'D'},           {"help", no_argument, NULL, 'h'},
        {"direct", required_argument, NULL, 'X'},
        {NULL, 0, NULL, 0},
    };
    int opt;
    while ((opt = getopt_long(argc, argv, "c:k:n:w:h", options, NULL)) != -1) {
        switch (opt) {
        case 'c': path = optarg; break;
        case 'k': o.adapters = atoi(optarg); break;
        case 'n': o.count = atol(optarg); break;
        case 'w': o.window = atoi(optarg); break;
        case 'r': o.rate = atof(optarg); break;
        case 'C': o.channel = optarg; break;
        case 'R': o.run_id = optarg; break;
        case 'P': repeat = true; break;
        case 'N': check = false; break;
        case 'S': search = optarg; break;
        case 'Q': queries = atoi(optarg); break;
        case 'D': o.demo = true; break;
        case 'X': direct = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (o.adapters < 1 || o.count < 0 || o.window < 1 || queries < 1) {
        usage(stderr);
        return 2;
    }
    aduan_config_t *config = NULL;
    aduan_config_errors_t errors = {0};
    if (aduan_config_load(path, &config, &errors) != 0) {
        for (size_t i = 0; i < errors.count; i++)
            fprintf(stderr, "%s\n", errors.lines[i]);
        aduan_config_errors_clear(&errors);
        return 2;
    }
    o.intake = config->bus.intake;
    o.control = config->bus.control;
    zsys_handler_set(NULL);
    zsys_init();
    int rc = 0;
    if (search) {
        rc = run_search(&o, search, queries);
        goto done;
    }
    if (direct) {
        rc = run_direct(&o, config, direct);
        goto done;
    }
    if (o.demo) {
        o.adapters = 1;
        o.window = 1;
        if (o.count > 20 || o.count == 10000)
            o.count = 3;
        if (strcmp(o.channel, "bench") == 0)
            o.channel = "sms"; /* so the acknowledgements read as the SMS a citizen gets */
        printf("aduan-bench: %ld complaints as channel '%s', one at a time\n", o.count,
               o.channel);
    }
    long before = complaint_count(&o);
    if (before < 0) {
        fprintf(stderr, "aduan-bench: cannot reach the core at %s\n", o.control);
        rc = 2;
        goto done;
    }
    drain_t drain = {.o = &o};
    pthread_t drainer;
    pthread_create(&drainer, NULL, run_drain, &drain);
    round_t r;
    run_round(&o, &r);
    print_round("intake", &o, &r);
    long after = complaint_count(&o);
    if (check) {
        bool ok = after - before == o.count && r.fresh == o.count && r.nacked == 0;
        printf("check    registry: %ld new tickets for %ld intakes: %s\n", after - before,
               o.count, ok ? "OK" : "MISMATCH");
        rc = ok ? 0 : 1;
    }
    if (repeat) {
        round_t again;
        run_round(&o, &again);
        print_round("repeat", &o, &again);
        long final = complaint_count(&o);
        bool ok = final == after && again.duplicates == o.count;
        printf("check    repeat: %ld new tickets, %ld duplicates of %ld: %s\n", final - after,
               again.duplicates, o.count, ok ? "OK" : "MISMATCH");
        if (!ok)
            rc = 1;
    }
    /* let the staff channels take the notices of the last intakes */
    zclock_sleep(o.demo ? 1500 : 300);
    drain.stop = true;
    pthread_join(drainer, NULL);
    if (o.demo)
        printf("aduan-bench: %ld staff notices delivered\n", drain.delivers);
done:
    aduan_config_destroy(&config);
    zsys_shutdown();
    return rc;
}
