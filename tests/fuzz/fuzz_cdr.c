/*  fuzz_cdr: one call-record line (Asterisk's Master.csv, the modem's calls.csv) to an
    INTAKE (channels/phone/cdr.c). Whatever the line holds, the outcome is a call, a
    quarantine or a skip, and an intake the bus can carry. */
#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>

#include "aduan/bus.h"
#include "aduan/log.h"
#include "cdr.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    aduan_log_threshold = ADUAN_LOG_ERROR + 1;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char why[256];
    for (int utc = 0; utc < 2; utc++) {
        aduan_msg_t *msg = NULL;
        cdr_outcome_t outcome = cdr_translate((const char *)data, size, utc, &msg, why,
                                              sizeof why);
        if (outcome == CDR_SKIP || outcome == CDR_NO_MEMORY)
            continue;
        if (!msg)
            abort(); /* a call or a quarantine carries its intake */
        /* what the channel adds (phone.c) */
        aduan_msg_set(&msg->intake.account, "pbx");
        char reason[256];
        zmsg_t *z = aduan_msg_encode(msg, reason, sizeof reason);
        if (!z) { /* an intake the bus refuses would be read again forever */
            fprintf(stderr, "the bus refuses the INTAKE: %s\n", reason);
            abort();
        }
        zmsg_destroy(&z);
        aduan_msg_destroy(&msg);
    }
    return 0;
}
