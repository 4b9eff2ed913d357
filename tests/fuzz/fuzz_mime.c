/*  fuzz_mime: one raw mail message to an INTAKE (channels/email/mime.c with libetpan's
    parser, charsets, RFC 2047/2231, HTML to text, bounces). Whatever a stranger mails must
    come out as an INTAKE (quarantined if need be) that the bus can carry. */
#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>

#include "aduan/bus.h"
#include "aduan/log.h"
#include "mime.h"

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
    email_mime_options_t opts = {
        .ticket_prefix = "ADU",
        .own_address = "kantor@test.local",
        .max_message_bytes = 1 << 20,
        .max_attachment_bytes = 256 << 10,
        .attachment_budget = 1 << 20,
    };
    aduan_msg_t *msg = email_mime_intake(data, size, &opts);
    if (!msg)
        return 0;
    /* what the channel adds (email.c): the mailbox and the UID */
    aduan_msg_set(&msg->intake.channel, "email");
    aduan_msg_set(&msg->intake.account, "kantor");
    aduan_msg_set(&msg->intake.dedupe_key, "1795869689:42");
    char reason[256];
    zmsg_t *z = aduan_msg_encode(msg, reason, sizeof reason);
    if (!z) { /* an INTAKE the bus refuses would be lost */
        fprintf(stderr, "the bus refuses the INTAKE: %s\n", reason);
        abort();
    }
    zmsg_destroy(&z);
    aduan_msg_destroy(&msg);
    return 0;
}
