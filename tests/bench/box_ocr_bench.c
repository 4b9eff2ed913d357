/*  box_ocr_bench - OCR time per page of the box channel, side by side in the same run with
    the `tesseract` command on the same pages.

    20 complaint forms (tests/box/forms.c: A5 at 300 dpi, tilted, dusty) are drawn as PNG.
    Ours: the box channel's helper, aduan-box-ocr, as the channel runs it (started once,
    its models loaded once, one Tesseract handle for every page), fed every page; the time
    runs from its start to its last answer. Theirs: `tesseract PAGE OUT -l ind+eng` once per
    page, as a script around the command would. Both with OMP_THREAD_LIMIT=1, as the channel
    runs the helper (the office PC's cores are the daemon's too). Also printed: the words
    both read alike, so that a faster reading is not a worse one.

    usage: box_ocr_bench BIN_DIR [PAGES]       (ADUAN_BENCH_PAGES also sets PAGES) */
#include <ctype.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "forms.h"

extern char **environ;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double children_cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_CHILDREN, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static const char *const complaints[][3] = {
    {"Izin usaha mikro saya belum selesai", "sejak tiga bulan yang lalu.", "Mohon diproses."},
    {"Jalan di depan kantor kecamatan", "rusak berat dan sering banjir.", "Tolong diperbaiki."},
    {"Lampu jalan di gang mawar mati", "sudah dua minggu lamanya.", "Warga takut keluar."},
    {"Pelayanan loket terlalu lama,", "antrean sampai sore hari.", "Petugas kurang ramah."},
    {"Ada pungutan liar di loket izin", "bangunan, diminta uang tambahan.", "Mohon ditindak."},
};

/* Words (letters and digits, lower-cased) of a text, for comparing two readings. */
static int words(const char *text, char out[][32], int max)
{
    int n = 0;
    for (const char *p = text; *p && n < max;) {
        while (*p && !isalnum((unsigned char)*p))
            p++;
        int len = 0;
        while (*p && isalnum((unsigned char)*p)) {
            if (len < 31)
                out[n][len++] = (char)tolower((unsigned char)*p);
            p++;
        }
        if (len) {
            out[n][len] = '\0';
            n++;
        }
    }
    return n;
}

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return strdup("");
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = calloc(1, (size_t)size + 1);
    if (buf && fread(buf, 1, (size_t)size, f) != (size_t)size)
        buf[0] = '\0';
    fclose(f);
    return buf;
}

/* The helper's text of one answer line, unescaped enough to compare words (\n, \"). */
static void answer_text(const char *line, char *out, size_t outlen)
{
    const char *t = strstr(line, "\"text\":\"");
    size_t n = 0;
    for (const char *p = t ? t + 8 : ""; *p && *p != '"' && n + 1 < outlen; p++) {
        if (*p == '\\' && p[1]) {
            p++;
            out[n++] = *p == 'n' ? '\n' : *p;
        } else {
            out[n++] = *p;
        }
    }
    out[n] = '\0';
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: box_ocr_bench BIN_DIR [PAGES]\n");
        return 2;
    }
    int pages = argc > 2 ? atoi(argv[2]) : getenv("ADUAN_BENCH_PAGES")
                                               ? atoi(getenv("ADUAN_BENCH_PAGES"))
                                               : 20;
    if (pages < 1 || pages > 500)
        pages = 20;
    setenv("OMP_THREAD_LIMIT", "1", 1);
    char dir[] = "/tmp/aduan-box-bench-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    char (*paths)[128] = calloc((size_t)pages, sizeof *paths);
    for (int i = 0; i < pages; i++) {
        char name[64], contact[64];
        snprintf(name, sizeof name, "Warga Nomor %d", i + 1);
        snprintf(contact, sizeof contact, "0812-3456-%04d", 1000 + i);
        const char *const *c = complaints[i % 5];
        form_t f = {.name = name, .contact = contact, .lines = {c[0], c[1], c[2], NULL},
                    .angle_deg = (i % 7 - 3) * 0.3, .noise = 0.002, .seed = (unsigned)i + 1};
        snprintf(paths[i], sizeof paths[i], "%s/page-%02d.png", dir, i + 1);
        if (form_write_png(paths[i], &f) != 0) {
            fprintf(stderr, "cannot draw %s\n", paths[i]);
            return 1;
        }
    }

    /* ours: the helper, started once, every page through it */
    char helper[1024];
    snprintf(helper, sizeof helper, "%s/aduan-box-ocr", argv[1]);
    int in[2], out[2];
    if (pipe(in) != 0 || pipe(out) != 0)
        return 1;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_addclose(&fa, in[1]);
    posix_spawn_file_actions_addclose(&fa, out[0]);
    char *hargv[] = {helper, "ind+eng", "60000000", "20", "300", "26214400", NULL};
    double cpu0 = children_cpu_s(), t0 = now_s();
    pid_t pid;
    if (posix_spawn(&pid, helper, &fa, NULL, hargv, environ) != 0) {
        fprintf(stderr, "cannot start %s\n", helper);
        return 1;
    }
    close(in[0]);
    close(out[1]);
    FILE *to = fdopen(in[1], "w"), *from = fdopen(out[0], "r");
    for (int i = 0; i < pages; i++)
        fprintf(to, "{\"path\": \"%s\"}\n", paths[i]);
    fclose(to);
    char *line = NULL;
    size_t cap = 0;
    char **ours = calloc((size_t)pages, sizeof *ours);
    int answered = 0;
    if (getline(&line, &cap, from) <= 0 || !strstr(line, "ready")) {
        fprintf(stderr, "the helper did not start: %s\n", line ? line : "");
        return 1;
    }
    while (answered < pages && getline(&line, &cap, from) > 0) {
        char text[8192];
        answer_text(line, text, sizeof text);
        ours[answered++] = strdup(text);
    }
    fclose(from);
    int status;
    waitpid(pid, &status, 0);
    double ours_s = now_s() - t0, ours_cpu = children_cpu_s() - cpu0;
    if (answered != pages) {
        fprintf(stderr, "the helper answered %d of %d pages\n", answered, pages);
        return 1;
    }

    /* theirs: the tesseract command, once per page */
    double cli_cpu0 = children_cpu_s(), t1 = now_s();
    char **theirs = calloc((size_t)pages, sizeof *theirs);
    for (int i = 0; i < pages; i++) {
        char base[160];
        snprintf(base, sizeof base, "%s/cli-%02d", dir, i + 1);
        char *cargv[] = {"tesseract", paths[i], base, "-l", "ind+eng", NULL};
        posix_spawn_file_actions_t quiet;
        posix_spawn_file_actions_init(&quiet);
        posix_spawn_file_actions_addopen(&quiet, 2, "/dev/null", 1, 0);
        if (posix_spawnp(&pid, "tesseract", &quiet, NULL, cargv, environ) != 0) {
            fprintf(stderr, "cannot run tesseract (package tesseract-ocr)\n");
            return 1;
        }
        posix_spawn_file_actions_destroy(&quiet);
        waitpid(pid, &status, 0);
        char txt[200];
        snprintf(txt, sizeof txt, "%s.txt", base);
        theirs[i] = read_all(txt);
    }
    double cli_s = now_s() - t1, cli_cpu = children_cpu_s() - cli_cpu0;

    /* the same reading? words in order, position by position per page */
    long same = 0, total = 0;
    static char a[512][32], b[512][32];
    for (int i = 0; i < pages; i++) {
        int na = words(ours[i], a, 512), nb = words(theirs[i], b, 512);
        for (int k = 0; k < nb; k++) {
            total++;
            for (int j = 0; j < na; j++)
                if (strcmp(a[j], b[k]) == 0) {
                    same++;
                    break;
                }
        }
    }

    double ours_page = ours_s / pages * 1000, cli_page = cli_s / pages * 1000;
    printf("box OCR benchmark: %d pages (A5 forms, 300 dpi, tilted, dusty), ind+eng, "
           "OMP_THREAD_LIMIT=1\n", pages);
    printf("  aduan-box-ocr (one handle)   %8.1f ms/page wall  %8.1f ms/page cpu  "
           "(%.2f s in all, start and model load included)\n",
           ours_page, ours_cpu / pages * 1000, ours_s);
    printf("  tesseract command per page   %8.1f ms/page wall  %8.1f ms/page cpu  (%.2f s)\n",
           cli_page, cli_cpu / pages * 1000, cli_s);
    printf("  ratio (ours / tesseract)     %8.2f wall  %8.2f cpu  (target <= 0.80)\n",
           ours_page / cli_page, ours_cpu / cli_cpu);
    printf("  words of tesseract's reading also in ours: %ld of %ld (%.1f%%)\n", same, total,
           total ? 100.0 * (double)same / (double)total : 0.0);
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    for (int i = 0; i < pages; i++) {
        free(ours[i]);
        free(theirs[i]);
    }
    free(ours);
    free(theirs);
    free(paths);
    free(line);
    return 0;
}
