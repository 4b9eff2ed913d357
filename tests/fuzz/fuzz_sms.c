/*  fuzz_sms: received SMS parts, as libGammu's driver hands them to the channel, to one
    INTAKE (channels/sms/translate.c: concatenation, GSM 7-bit / UCS-2 / 8-bit text,
    senders, keywords). Each piece of the input is one part (up to 8):
        [coding][pdu][ref][seq][total][number length][number bytes][user data...]
    The parts are built field by field rather than decoded from PDUs: libGammu's own PDU
    decoder is not ours to fuzz (it overflows its stack on some malformed PDUs; the modem
    driver, not this channel, feeds it). */
#include <czmq.h>
#include <gammu.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aduan/bus.h"
#include "aduan/log.h"
#include "fuzz_input.h"
#include "translate.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    aduan_log_threshold = ADUAN_LOG_ERROR + 1;
    return 0;
}

/* Gammu's Unicode buffers: UTF-16 big-endian, ended by two zero bytes. */
static void to_gammu_text(unsigned char *out, size_t cap, const uint8_t *in, size_t len)
{
    len &= ~(size_t)1;
    if (len > cap - 2)
        len = (cap - 2) & ~(size_t)1;
    memcpy(out, in, len);
    out[len] = out[len + 1] = 0;
}

static void make_part(GSM_SMSMessage *sms, const uint8_t *p, size_t len, int location)
{
    static const GSM_Coding_Type codings[] = {SMS_Coding_Default_No_Compression,
                                              SMS_Coding_Unicode_No_Compression, SMS_Coding_8bit};
    static const GSM_SMSMessageType pdus[] = {SMS_Deliver, SMS_Status_Report};
    memset(sms, 0, sizeof *sms);
    if (len < 6)
        return;
    sms->Coding = codings[p[0] % 3];
    sms->PDU = pdus[p[1] % 2];
    if (p[4] > 1) { /* concatenated */
        sms->UDH.Type = UDH_ConcatenatedMessages;
        sms->UDH.ID8bit = p[2];
        sms->UDH.ID16bit = -1;
        sms->UDH.PartNumber = p[3];
        sms->UDH.AllParts = p[4];
    } else {
        sms->UDH.Type = UDH_NoUDH;
        sms->UDH.ID8bit = sms->UDH.ID16bit = -1;
    }
    size_t number_len = p[5] % (2 * GSM_MAX_NUMBER_LENGTH);
    p += 6;
    len -= 6;
    if (number_len > len)
        number_len = len;
    to_gammu_text(sms->Number, sizeof sms->Number, p, number_len);
    p += number_len;
    len -= number_len;
    if (sms->Coding == SMS_Coding_8bit) {
        sms->Length = (int)(len > GSM_MAX_SMS_LENGTH ? GSM_MAX_SMS_LENGTH : len);
        memcpy(sms->Text, p, (size_t)sms->Length);
    } else {
        to_gammu_text(sms->Text, sizeof sms->Text, p, len);
        sms->Length = (int)UnicodeLength(sms->Text);
    }
    sms->DateTime = (GSM_DateTime){.Year = 2026, .Month = 11, .Day = 28, .Hour = 10,
                                   .Timezone = 7 * 3600};
    sms->State = SMS_UnRead;
    sms->Folder = 1;
    sms->Location = location;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static GSM_MultiSMSMessage multi;
    memset(&multi, 0, sizeof multi);
    fuzz_input_t in = {data, size};
    const uint8_t *piece;
    size_t len;
    while (multi.Number < 8 && fuzz_next(&in, &piece, &len)) {
        make_part(&multi.SMS[multi.Number], piece, len, multi.Number + 1);
        multi.Number++;
    }
    if (multi.Number == 0)
        return 0;
    sms_sort_parts(&multi);
    char key[SMS_KEY_MAX];
    sms_group_key(&multi.SMS[0], key, sizeof key);
    sms_translate_opts_t opts = {"fuzz-modem", "CEK,STATUS", "ADU"};
    aduan_msg_t *msg = sms_translate(&multi, &opts);
    if (msg) {
        char reason[256];
        zmsg_t *z = aduan_msg_encode(msg, reason, sizeof reason);
        if (!z) { /* an INTAKE the bus refuses would be lost */
            fprintf(stderr, "the bus refuses the INTAKE: %s\n", reason);
            abort();
        }
        zmsg_destroy(&z);
        aduan_msg_destroy(&msg);
    }
    return 0;
}
