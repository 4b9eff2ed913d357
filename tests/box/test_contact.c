/*  test_contact.c - box_unit_contact: what the box channel finds in the text OCR read from
    a form (channels/box/contact.c): mobile numbers as citizens write them, mail addresses,
    the name after "Nama:", a ticket number; and what it must leave alone. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "contact.h"

static box_contact_t find(const char *text)
{
    box_contact_t c;
    box_contact_find(text, "ADU", &c);
    return c;
}

static void test_mobile_numbers_as_written(void **state)
{
    (void)state;
    static const struct {
        const char *text, *want;
    } cases[] = {
        {"No. HP: 081234567890", "+6281234567890"},
        {"No. HP / Email: 0812-3456-7890\n", "+6281234567890"},
        {"Telp 0812 3456 7890 (sore)", "+6281234567890"},
        {"HP: +62 812 3456 7890", "+6281234567890"},
        {"hubungi +62-813-1111-2222.", "+6281311112222"},
        {"WA 6285712345678", "+6285712345678"},
        {"HP:0857.1234.5678", "+6285712345678"},
        {"nomor 08111234567 terima kasih", "+628111234567"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        box_contact_t c = find(cases[i].text);
        if (strcmp(c.phone, cases[i].want) != 0)
            fail_msg("\"%s\": got \"%s\", want \"%s\"", cases[i].text, c.phone, cases[i].want);
    }
}

static void test_not_mobile_numbers(void **state)
{
    (void)state;
    static const char *const texts[] = {
        "Kantor: (021) 555-1234",          /* a landline: no SMS */
        "NIK 3201081234567890001",          /* an identity number containing 08... */
        "Tanggal 08-11-2026",               /* a date */
        "No. 0812",                         /* too short */
        "0812345678901234",                 /* too long */
        "Rp 812.000",
        "",
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        box_contact_t c = find(texts[i]);
        if (c.phone[0])
            fail_msg("\"%s\": found \"%s\", want none", texts[i], c.phone);
    }
}

static void test_email_addresses(void **state)
{
    (void)state;
    static const struct {
        const char *text, *want;
    } cases[] = {
        {"Email: budi.santoso@Example.ORG", "budi.santoso@example.org"},
        {"kirim ke warga@test.local.", "warga@test.local"},
        {"No. HP / Email: siti_88+aduan@mail.co.id\n", "siti_88+aduan@mail.co.id"},
        {"(a@b.id)", "a@b.id"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        box_contact_t c = find(cases[i].text);
        if (strcmp(c.email, cases[i].want) != 0)
            fail_msg("\"%s\": got \"%s\", want \"%s\"", cases[i].text, c.email, cases[i].want);
    }
    static const char *const none[] = {"budi@", "@example.org", "budi@localhost",
                                       "harga 5 @ Rp 10.000", "x@y.z"};
    for (size_t i = 0; i < sizeof none / sizeof none[0]; i++) {
        box_contact_t c = find(none[i]);
        if (c.email[0])
            fail_msg("\"%s\": found \"%s\", want none", none[i], c.email);
    }
}

static void test_name_after_label(void **state)
{
    (void)state;
    static const struct {
        const char *text, *want;
    } cases[] = {
        {"FORMULIR\nNama: Budi Santoso\nAlamat: Jl. Merdeka", "Budi Santoso"},
        {"  NAMA : Siti Aminah.  \n", "Siti Aminah"},
        {"Nama Lengkap: Dewi Lestari", "Dewi Lestari"},
        {"Nama; Agus Salim\n", "Agus Salim"}, /* OCR read the colon as a semicolon */
        {"Nama: Ni Komang Ayu Suryani ___\n", "Ni Komang Ayu Suryani"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        box_contact_t c = find(cases[i].text);
        if (strcmp(c.name, cases[i].want) != 0)
            fail_msg("\"%s\": got \"%s\", want \"%s\"", cases[i].text, c.name, cases[i].want);
    }
    static const char *const none[] = {"Namanya Budi", "Nama:\nAlamat: x", "Saya bernama: Budi",
                                       "Nama tidak diisi"};
    for (size_t i = 0; i < sizeof none / sizeof none[0]; i++) {
        box_contact_t c = find(none[i]);
        if (c.name[0])
            fail_msg("\"%s\": found name \"%s\", want none", none[i], c.name);
    }
}

static void test_long_name_cut_whole_characters(void **state)
{
    (void)state;
    char text[600] = "Nama: ";
    for (int i = 0; i < 100; i++)
        strcat(text, "\xc3\xa9"); /* é, two bytes each */
    box_contact_t c = find(text);
    assert_true(strlen(c.name) <= BOX_NAME_MAX - 1);
    assert_int_equal(strlen(c.name) % 2, 0);
}

static void test_ticket_number(void **state)
{
    (void)state;
    assert_string_equal(find("Tambahan untuk adu-2026-00042: jalan").ticket, "ADU-2026-00042");
    assert_string_equal(find("lihat ADU-2026-000421").ticket, "");
    assert_string_equal(find("XADU-2026-00042").ticket, "");
    box_contact_t c;
    box_contact_find("ADU-2026-00042", NULL, &c);
    assert_string_equal(c.ticket, "");
}

static void test_whole_form(void **state)
{
    (void)state;
    box_contact_t c = find("FORMULIR PENGADUAN MASYARAKAT\n\nDPMPTSP Kabupaten Contoh\n\n"
                           "Nama: Budi Santoso\nNo. HP / Email: 0812-3456-7890\n"
                           "Isi pengaduan:\n\nIzin usaha mikro saya belum selesai\n");
    assert_string_equal(c.phone, "+6281234567890");
    assert_string_equal(c.name, "Budi Santoso");
    assert_string_equal(c.email, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mobile_numbers_as_written),
        cmocka_unit_test(test_not_mobile_numbers),
        cmocka_unit_test(test_email_addresses),
        cmocka_unit_test(test_name_after_label),
        cmocka_unit_test(test_long_name_cut_whole_characters),
        cmocka_unit_test(test_ticket_number),
        cmocka_unit_test(test_whole_form),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
