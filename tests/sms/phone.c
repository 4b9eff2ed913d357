/*  phone.c - see phone.h. */
#include "phone.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void parse_when(const char *when, GSM_DateTime *dt)
{
    memset(dt, 0, sizeof *dt);
    if (when && sscanf(when, "%4d%2d%2dT%2d%2d%2d", &dt->Year, &dt->Month, &dt->Day, &dt->Hour,
                       &dt->Minute, &dt->Second) == 6)
        return;
    GSM_GetCurrentDateTime(dt);
}

void phone_make_part(GSM_SMSMessage *sms, const char *from, const char *text, bool unicode,
                     const char *when, int ref, int seq, int total)
{
    GSM_SetDefaultReceivedSMSData(sms);
    sms->PDU = SMS_Deliver;
    sms->State = SMS_UnRead;
    sms->Class = -1;
    sms->Coding = unicode ? SMS_Coding_Unicode_No_Compression : SMS_Coding_Default_No_Compression;
    EncodeUnicode(sms->Number, from, strlen(from));
    EncodeUnicode(sms->SMSC.Number, "+628315000032", 13);
    DecodeUTF8(sms->Text, text, strlen(text));
    sms->Length = (int)UnicodeLength(sms->Text);
    parse_when(when, &sms->DateTime);
    if (total > 0) {
        sms->UDH.Type = UDH_ConcatenatedMessages;
        sms->UDH.Length = 6;
        unsigned char udh[6] = {5, 0, 3, (unsigned char)ref, (unsigned char)total,
                                (unsigned char)seq};
        memcpy(sms->UDH.Text, udh, sizeof udh);
        sms->UDH.ID8bit = ref;
        sms->UDH.ID16bit = -1;
        sms->UDH.PartNumber = seq;
        sms->UDH.AllParts = total;
    } else {
        sms->UDH.Type = UDH_NoUDH;
    }
}

int phone_put(const char *device, int folder, const GSM_SMSMessage *sms)
{
    char dir[512], path[600], tmp[600];
    snprintf(dir, sizeof dir, "%s/sms/%d", device, folder);
    int n;
    for (n = 1; n < 10000; n++) {
        snprintf(path, sizeof path, "%s/%d", dir, n);
        if (access(path, F_OK) != 0)
            break;
    }
    snprintf(tmp, sizeof tmp, "%s/.tmp%d", dir, n);
    GSM_SMS_Backup *backup = calloc(1, sizeof *backup);
    if (!backup)
        return -1;
    GSM_SMSMessage copy = *sms;
    copy.Folder = folder;
    backup->SMS[0] = &copy;
    unlink(tmp);
    GSM_Error e = GSM_AddSMSBackupFile(tmp, backup);
    free(backup);
    if (e != ERR_NONE || rename(tmp, path) != 0)
        return -1;
    return n;
}

int phone_inject(const char *device, int folder, const char *from, const char *text,
                 const char *when)
{
    size_t len = strlen(text);
    unsigned char *ucs = calloc(1, 2 * (len + 1) + 2);
    GSM_MultiSMSMessage *multi = calloc(1, sizeof *multi);
    GSM_MultiPartSMSInfo info;
    GSM_ClearMultiPartSMSInfo(&info);
    DecodeUTF8(ucs, text, len);
    info.Class = -1;
    info.EntriesNum = 1;
    info.Entries[0].ID = SMS_ConcatenatedAutoTextLong;
    info.Entries[0].Buffer = ucs;
    GSM_Error e = GSM_EncodeMultiPartSMS(NULL, &info, multi);
    info.Entries[0].Buffer = NULL;
    GSM_FreeMultiPartSMSInfo(&info);
    int parts = -1;
    if (e == ERR_NONE) {
        parts = multi->Number;
        for (int i = 0; i < multi->Number; i++) {
            GSM_SMSMessage *p = &multi->SMS[i];
            /* what the encoder made to send, as the receiving phone stores it */
            p->PDU = SMS_Deliver;
            p->State = SMS_UnRead;
            EncodeUnicode(p->Number, from, strlen(from));
            EncodeUnicode(p->SMSC.Number, "+628315000032", 13);
            parse_when(when, &p->DateTime);
            if (phone_put(device, folder, p) < 0)
                parts = -1;
        }
    }
    free(ucs);
    free(multi);
    return parts;
}

int phone_count(const char *device, int folder)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s/sms/%d", device, folder);
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        n += de->d_name[0] >= '1' && de->d_name[0] <= '9';
    closedir(d);
    return n;
}

char *phone_texts(const char *device, int folder, const char *number)
{
    char *out = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&out, &size);
    GSM_SMS_Backup *backup = calloc(1, sizeof *backup);
    bool first = true;
    for (int n = 1; n < 10000 && backup; n++) {
        char path[600];
        snprintf(path, sizeof path, "%s/sms/%d/%d", device, folder, n);
        if (access(path, F_OK) != 0)
            continue;
        if (GSM_ReadSMSBackupFile(path, backup) != ERR_NONE)
            continue;
        for (int i = 0; backup->SMS[i]; i++) {
            char to[GSM_MAX_NUMBER_LENGTH * 3 + 1] = "";
            EncodeUTF8(to, backup->SMS[i]->Number);
            if (number && strcmp(to, number) != 0)
                continue;
            char *utf8 = calloc(1, (GSM_MAX_SMS_LENGTH + 1) * 6 + 1);
            EncodeUTF8(utf8, backup->SMS[i]->Text);
            /* the later parts of a concatenated message continue its text */
            bool continues = backup->SMS[i]->UDH.Type != UDH_NoUDH &&
                             backup->SMS[i]->UDH.PartNumber > 1;
            fprintf(f, "%s%s", first || continues ? "" : "\n---\n", utf8);
            first = false;
            free(utf8);
        }
        GSM_FreeSMSBackup(backup);
    }
    free(backup);
    fclose(f);
    return out;
}

int phone_make(const char *device, const char *gammurc)
{
    char d[512];
    for (int f = 0; f <= 5; f++) {
        snprintf(d, sizeof d, f ? "%s/sms/%d" : "%s/sms", device, f);
        if ((f == 0 && mkdir(device, 0700) != 0) || mkdir(d, 0700) != 0)
            return -1;
    }
    return phone_write_gammurc(gammurc, device);
}

int phone_write_gammurc(const char *path, const char *device)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fprintf(f, "[gammu]\nmodel = dummy\nconnection = none\ndevice = %s\n", device);
    return fclose(f) == 0 ? 0 : -1;
}
