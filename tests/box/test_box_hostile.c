/*  test_box_hostile.c - box_hostile_files: what a careless or hostile hand drops into the
    box: a truncated JPEG, an empty file, a text file named .png, a PNG that claims
    40000x40000 pixels (a decompression bomb, refused from its header before anything is
    decoded). Each is kept in quarantine with its reason (the registry's list and a
    <name>.reason.txt beside the file), none gets a ticket, and the daemon goes on: a good
    form dropped after them is registered. */
#include "box_env.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "aduan/files.h"
#include "forms.h"

static void put_chunk(FILE *f, const char *type, const unsigned char *data, uint32_t len)
{
    uint32_t be = htonl(len);
    fwrite(&be, 4, 1, f);
    fwrite(type, 1, 4, f);
    if (len)
        fwrite(data, 1, len, f);
    uLong crc = crc32(0, (const Bytef *)type, 4);
    crc = crc32(crc, data, len);
    be = htonl((uint32_t)crc);
    fwrite(&be, 4, 1, f);
}

/* A valid PNG header for a 1-bit 40000x40000 image, with a token of data. */
static void write_bomb(const char *path)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fwrite("\x89PNG\r\n\x1a\n", 1, 8, f);
    unsigned char ihdr[13] = {0};
    uint32_t side = htonl(40000);
    memcpy(ihdr, &side, 4);
    memcpy(ihdr + 4, &side, 4);
    ihdr[8] = 1; /* bit depth */
    put_chunk(f, "IHDR", ihdr, sizeof ihdr);
    unsigned char raw[64] = {0}, z[128];
    uLongf zlen = sizeof z;
    assert_int_equal(compress(z, &zlen, raw, sizeof raw), Z_OK);
    put_chunk(f, "IDAT", z, (uint32_t)zlen);
    put_chunk(f, "IEND", NULL, 0);
    assert_int_equal(fclose(f), 0);
}

static const char *jstr(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

/* Waits for name's reason file in quarantine and checks it says why. */
static void expect_quarantined(box_env_t *b, const char *name, const char *why)
{
    char needle[256];
    snprintf(needle, sizeof needle, "%s.reason.txt", name);
    char *file = box_wait_file(b, b->quarantine, needle);
    char path[512];
    snprintf(path, sizeof path, "%s/%s", b->quarantine, file);
    char *reason = h_read_file(path);
    if (!h_contains(reason, why))
        fail_msg("%s quarantined for \"%s\", not \"%s\"", name, reason, why);
    free(reason);
    free(file);
}

static void test_hostile_files_quarantined_daemon_goes_on(void **state)
{
    box_env_t *b = *state;
    form_t form = {.name = "Rina Wati", .contact = "rina@example.org",
                   .lines = {"Pungutan liar di loket izin.", NULL}, .angle_deg = 0.3,
                   .noise = 0.002, .seed = 21};
    /* a JPEG cut off in the middle, as a scanner losing its connection leaves it */
    char tmp[256];
    snprintf(tmp, sizeof tmp, "%s/whole.jpg", b->dir);
    assert_int_equal(form_write_jpeg(tmp, &form), 0);
    size_t size = 0;
    char *jpeg = aduan_read_file(tmp, 64 << 20, &size);
    assert_non_null(jpeg);
    assert_int_equal(aduan_write_file_durably(box_scan_path(b, "potong.jpg"), jpeg, size * 6 / 10),
                     0);
    free(jpeg);
    assert_int_equal(h_write_file(box_scan_path(b, "kosong.png"), ""), 0);
    assert_int_equal(h_write_file(box_scan_path(b, "surat.png"),
                                  "Ini bukan gambar, hanya teks biasa.\n"), 0);
    write_bomb(box_scan_path(b, "bom.png"));

    expect_quarantined(b, "potong.jpg", "truncated JPEG");
    expect_quarantined(b, "kosong.png", "empty file");
    expect_quarantined(b, "surat.png", "not a scan");
    expect_quarantined(b, "bom.png", "40000x40000 pixels, more than box.max_pixels");

    /* the registry keeps each with its reason, and the original bytes where there were any */
    json_t *args = json_pack("{s:i}", "limit", 100);
    json_t *q = h_control_ok(b->env, "quarantine", args);
    json_decref(args);
    json_t *items = json_object_get(q, "items");
    assert_int_equal(json_array_size(items), 4);
    size_t i;
    json_t *item;
    json_array_foreach(items, i, item) {
        assert_string_equal(jstr(item, "channel"), "box");
        assert_true(jstr(item, "reason")[0] != '\0');
    }
    json_decref(q);

    /* and the daemon goes on: a good form after them gets its ticket */
    assert_int_equal(form_write_png(box_scan_path(b, "baik.png"), &form), 0);
    char *ticket = box_wait_ticket(b);
    json_t *show = h_show(b->env, ticket);
    if (!h_contains(jstr(show, "text"), "Pungutan liar"))
        fail_msg("the good form's text: %s", jstr(show, "text"));
    json_decref(show);
    assert_int_equal(box_count(b->scan), 0);
    free(ticket);
    h_pass(b->env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_hostile_files_quarantined_daemon_goes_on,
                                        box_env_setup, box_env_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
