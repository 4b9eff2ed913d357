/*  phone_fill.c - fills a Gammu dummy phone's inbox with N one-part messages, each from a
    number of its own, for the SMS benchmark (tests/bench/sms_bench.sh). Written with
    libGammu's own backup writer (phone.c), as the tests inject them.

    usage: sms_phone_fill DEVICE FOLDER N        prints how long it took */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>

#include "phone.h"

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s DEVICE FOLDER N\n", argv[0]);
        return 2;
    }
    const char *device = argv[1];
    int folder = atoi(argv[2]), n = atoi(argv[3]);
    char dir[512];
    snprintf(dir, sizeof dir, "%s/sms", device);
    mkdir(device, 0700);
    mkdir(dir, 0700);
    snprintf(dir, sizeof dir, "%s/sms/%d", device, folder);
    mkdir(dir, 0700);
    GSM_InitLocales(NULL);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < n; i++) {
        char from[32], text[128];
        snprintf(from, sizeof from, "+62812%07d", i);
        snprintf(text, sizeof text, "Pengaduan nomor %d: jalan rusak di RT %d", i, i % 20);
        GSM_SMSMessage part;
        phone_make_part(&part, from, text, false, NULL, 0, 0, 0);
        if (phone_put(device, folder, &part) < 0) {
            fprintf(stderr, "%s: cannot write message %d into %s\n", argv[0], i, dir);
            return 1;
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("filled   %d messages into %s in %.2f s\n", n, dir,
           (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
    return 0;
}
