/*  fuzz_bus: the bus decoder (core/common/bus.c), the first code that reads what a peer
    sent. Each piece of the input is one frame. A message it accepts must encode again
    and decode to the same type. */
#include <czmq.h>
#include <stdlib.h>

#include "aduan/bus.h"
#include "aduan/log.h"
#include "fuzz_input.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    zsys_init();
    zsys_set_logstream(NULL);
    aduan_log_threshold = ADUAN_LOG_ERROR + 1; /* quiet: millions of refusals */
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_input_t in = {data, size};
    zmsg_t *zmsg = zmsg_new();
    const uint8_t *piece;
    size_t len;
    for (int frames = 0; frames < 64 && fuzz_next(&in, &piece, &len); frames++)
        zmsg_addmem(zmsg, piece, len);
    char id[ADUAN_MSG_ID_MAX + 1], reason[256];
    aduan_msg_t *msg = aduan_msg_decode(&zmsg, 1 << 20, id, reason, sizeof reason);
    zmsg_destroy(&zmsg);
    if (msg) {
        zmsg_t *again = aduan_msg_encode(msg, reason, sizeof reason);
        if (!again)
            abort(); /* what was read must be writable */
        aduan_msg_t *twice = aduan_msg_decode(&again, 1 << 20, id, reason, sizeof reason);
        if (!twice || twice->type != msg->type)
            abort();
        aduan_msg_destroy(&twice);
        zmsg_destroy(&again);
        aduan_msg_destroy(&msg);
    }
    return 0;
}
