/*  make_seeds: writes the seed corpora of the fuzz targets that read binary pieces
    (corpus/fuzz_bus: encoded bus messages; corpus/fuzz_sms: PDUs from libGammu's encoder),
    in the shape of fuzz_input.h. Run it again when the bus schema changes:
        build-fuzz/tests/fuzz/make_seeds tests/fuzz/corpus */
#include <czmq.h>
#include <gammu.h>
#include <stdio.h>
#include <string.h>

#include "aduan/bus.h"
#include "translate.h"

static void put_piece(FILE *f, const void *data, size_t len)
{
    fputc((int)(len >> 8) & 0xff, f);
    fputc((int)len & 0xff, f);
    fwrite(data, 1, len, f);
}

static void write_msg(const char *dir, const char *name, aduan_msg_t *m)
{
    char path[512], reason[256];
    snprintf(path, sizeof path, "%s/fuzz_bus/%s", dir, name);
    zmsg_t *z = aduan_msg_encode(m, reason, sizeof reason);
    FILE *f = fopen(path, "wb");
    if (!z || !f) {
        fprintf(stderr, "make_seeds: %s: %s\n", path, z ? "cannot write" : reason);
        exit(1);
    }
    for (zframe_t *fr = zmsg_first(z); fr; fr = zmsg_next(z))
        put_piece(f, zframe_data(fr), zframe_size(fr));
    fclose(f);
    zmsg_destroy(&z);
    aduan_msg_destroy(&m);
}

static void bus_seeds(const char *dir)
{
    aduan_msg_t *m = aduan_msg_new(ADUAN_MSG_HELLO);
    aduan_msg_set(&m->hello.channel, "sms");
    aduan_msg_set(&m->hello.account, "modem-1");
    aduan_msg_set(&m->hello.software, "aduan-adapter/0.1");
    write_msg(dir, "hello", m);

    m = aduan_msg_new(ADUAN_MSG_INTAKE);
    aduan_msg_set(&m->intake.channel, "email");
    aduan_msg_set(&m->intake.account, "kantor");
    aduan_msg_set(&m->intake.dedupe_key, "1795869689:42");
    aduan_msg_set(&m->intake.intent, "complaint");
    aduan_msg_set(&m->intake.from_addr, "warga@example.org");
    aduan_msg_set(&m->intake.from_name, "Budi Warga");
    m->intake.received_at = 1795869689000;
    aduan_msg_set(&m->intake.subject, "Re: [ADU-2026-00042] Jalan rusak");
    aduan_msg_set(&m->intake.text, "Mohon segera diperbaiki, terima kasih.");
    aduan_msg_set(&m->intake.thread_ticket, "ADU-2026-00042");
    aduan_msg_set(&m->intake.in_reply_to, "ADU-2026-00042.ack.1@test.local");
    aduan_msg_attach(m, "foto jalan.jpg", "image/jpeg", "\xff\xd8\xff\xe0", 4);
    write_msg(dir, "intake", m);

    m = aduan_msg_new(ADUAN_MSG_ACK);
    aduan_msg_set(&m->ack.ref, "abc-1");
    aduan_msg_set(&m->ack.ticket, "ADU-2026-00042");
    aduan_msg_set(&m->ack.disposition, "new");
    write_msg(dir, "ack", m);

    m = aduan_msg_new(ADUAN_MSG_DELIVER);
    m->deliver.outbox_id = 7;
    aduan_msg_set(&m->deliver.channel, "sms");
    aduan_msg_set(&m->deliver.kind, "ack");
    aduan_msg_set(&m->deliver.ticket, "ADU-2026-00042");
    aduan_msg_set(&m->deliver.to_addr, "+6281234567890");
    aduan_msg_set(&m->deliver.text, "Pengaduan Anda telah diterima, no. tiket ADU-2026-00042.");
    m->deliver.automatic = true;
    m->deliver.attempt = 1;
    write_msg(dir, "deliver", m);

    m = aduan_msg_new(ADUAN_MSG_RESULT);
    m->result.outbox_id = 7;
    aduan_msg_set(&m->result.status, "temporary");
    aduan_msg_set(&m->result.detail, "modem busy");
    write_msg(dir, "result", m);

    m = aduan_msg_new(ADUAN_MSG_HEARTBEAT);
    aduan_msg_set(&m->heartbeat.status, "{\"signal\": 71, \"network\": \"Telkomsel\"}");
    write_msg(dir, "heartbeat", m);
}

/* text as received parts (GSM 7-bit or UCS-2, concatenated when long), in fuzz_sms's
   shape: [coding][pdu][ref][seq][total][number length][number][user data] */
static void sms_seed(const char *dir, const char *name, const char *text)
{
    GSM_MultiSMSMessage multi;
    bool unicode;
    char reason[256];
    if (sms_encode_outgoing(text, &multi, &unicode, reason, sizeof reason) != 0) {
        fprintf(stderr, "make_seeds: cannot encode %s: %s\n", name, reason);
        exit(1);
    }
    char path[512];
    snprintf(path, sizeof path, "%s/fuzz_sms/%s", dir, name);
    FILE *f = fopen(path, "wb");
    static const unsigned char number[] = {0, '+', 0, '6', 0, '2', 0, '8', 0, '1', 0, '2',
                                           0, '3', 0, '4', 0, '5', 0, '6', 0, '7', 0, '8',
                                           0, '9', 0, '0'};
    for (int i = 0; f && i < multi.Number; i++) {
        const GSM_SMSMessage *sms = &multi.SMS[i];
        unsigned char part[1024];
        size_t n = 0;
        part[n++] = unicode ? 1 : 0;
        part[n++] = 0;
        part[n++] = (unsigned char)(sms->UDH.ID8bit & 0xff);
        part[n++] = (unsigned char)(multi.Number > 1 ? sms->UDH.PartNumber : 0);
        part[n++] = (unsigned char)(multi.Number > 1 ? multi.Number : 0);
        part[n++] = sizeof number;
        memcpy(part + n, number, sizeof number);
        n += sizeof number;
        size_t text_len = UnicodeLength(sms->Text) * 2;
        memcpy(part + n, sms->Text, text_len);
        n += text_len;
        put_piece(f, part, n);
    }
    if (f)
        fclose(f);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: make_seeds CORPUS_DIR\n");
        return 2;
    }
    bus_seeds(argv[1]);
    sms_seed(argv[1], "gsm7", "Jalan di depan kantor desa rusak parah");
    sms_seed(argv[1], "status", "CEK ADU-2026-00042");
    sms_seed(argv[1], "ucs2_three_parts",
             "Selamat pagi Bapak/Ibu, saya ingin menyampaikan pengaduan mengenai pelayanan "
             "perizinan usaha yang sudah tiga minggu belum ada kabar 😞. Berkas sudah lengkap "
             "sejak tanggal 3, nomor registrasi 123/IUMK/2026, mohon dibantu agar segera "
             "diproses. Terima kasih banyak atas perhatiannya 🙏");
    sms_seed(argv[1], "alphanumeric_sender", "PROMO: paket data murah hari ini");
    sms_seed(argv[1], "followup", "ADU-2026-00042 tambahan: fotonya sudah saya kirim lewat email");
    return 0;
}
