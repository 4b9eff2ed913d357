/*  test_box_forms.c - box_ocr_forms: forms drawn by the test (forms.c) dropped into the
    scan folder of the real aduan-gatewayd, read by Tesseract in the box channel's helper:
    the words are in the ticket's text, the contact and the name are found, the
    acknowledgement goes out by SMS (Gammu's dummy phone) or as a letter PDF (read back with
    pdftotext), the file moves to the processed folder, and the same scan twice is one
    ticket. Few pages: OCR is the costly part of the whole suite. */
#include "box_env.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "forms.h"

#define CITIZEN "+6281234567890"

static const form_t budi = {
    .name = "Budi Santoso",
    .contact = "0812-3456-7890",
    .lines = {"Izin usaha mikro saya belum selesai", "sejak tiga bulan yang lalu.",
              "Mohon segera diproses.", NULL},
    .angle_deg = 0.8,
    .noise = 0.002,
    .seed = 7,
};

static const char *jstr(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

/* The attachment names of a shown ticket, joined by spaces (caller frees). */
static char *attachment_names(const json_t *show)
{
    char *names = calloc(1, 1024);
    size_t i;
    json_t *a;
    json_array_foreach(json_object_get(show, "attachments"), i, a) {
        strncat(names, jstr(a, "name"), 1000 - strlen(names));
        strcat(names, " ");
    }
    return names;
}

static void test_png_with_mobile_number_answered_by_sms(void **state)
{
    box_env_t *b = *state;
    assert_int_equal(form_write_png(box_scan_path(b, "form-budi.png"), &budi), 0);
    char *ticket = box_wait_ticket(b);
    json_t *show = h_show(b->env, ticket);
    assert_string_equal(jstr(show, "channel"), "box");
    assert_string_equal(jstr(show, "from"), CITIZEN);
    assert_string_equal(jstr(show, "from_name"), "Budi Santoso");
    const char *text = jstr(show, "text");
    if (!h_contains(text, "Izin usaha mikro") || !h_contains(text, "tiga bulan"))
        fail_msg("the text lacks the complaint's words: %s", text);
    assert_int_equal(json_integer_value(json_object_get(show, "incomplete")), 0);
    char *names = attachment_names(show);
    assert_true(h_contains(names, "ocr.json"));
    free(names);
    json_decref(show);
    /* the acknowledgement by SMS, with the ticket */
    char *sent = box_wait_sms(b, CITIZEN, ticket);
    free(sent);
    /* the scan left the box folder for the processed one, named by its ticket */
    char *moved = box_wait_file(b, b->processed, ticket);
    assert_true(h_contains(moved, "form-budi.png"));
    free(moved);
    assert_int_equal(box_count(b->scan), 0);
    box_wait_log(b, "intake from=+62812****7890"); /* the number masked in the log */

    /* the same scan again, under another name: the same ticket, no second one */
    char from[512], to[256];
    snprintf(from, sizeof from, "%s/%s_form-budi.png", b->processed, ticket);
    snprintf(to, sizeof to, "%s/.form-again.png", b->scan);
    char *argv[] = {"/bin/cp", from, to, NULL};
    assert_int_equal(h_wait_exit(h_spawn(argv, NULL, NULL), 10000), 0);
    assert_int_equal(rename(to, box_scan_path(b, "form-again.png")), 0); /* IN_MOVED_TO */
    char needle[64];
    snprintf(needle, sizeof needle, "%s_form-again.png", ticket);
    char *again = box_wait_file(b, b->processed, needle);
    free(again);
    box_wait_log(b, "form-again.png duplicate");
    json_t *args = json_pack("{s:s}", "channel", "box");
    json_t *list = h_control_ok(b->env, "list", args);
    assert_int_equal(json_array_size(json_object_get(list, "items")), 1);
    json_decref(list);
    json_decref(args);
    free(ticket);
    h_pass(b->env);
}

static void test_tiff_two_pages_without_contact_gets_a_letter(void **state)
{
    box_env_t *b = *state;
    form_t pages[2] = {
        {.name = "Siti Aminah",
         .lines = {"Jalan di depan kantor kecamatan", "rusak berat dan sering banjir.", NULL},
         .angle_deg = -0.7, .noise = 0.002, .seed = 3},
        {.lines = {"Halaman kedua: lampu jalan mati", "sudah dua minggu.", NULL},
         .angle_deg = 0.5, .noise = 0.002, .seed = 5},
    };
    /* written elsewhere and moved in whole, as a scanner that writes a temporary file */
    char tmp[256];
    snprintf(tmp, sizeof tmp, "%s/form-siti.tiff", b->dir);
    assert_int_equal(form_write_tiff(tmp, pages, 2), 0);
    assert_int_equal(rename(tmp, box_scan_path(b, "form-siti.tiff")), 0);
    char *ticket = box_wait_ticket(b);
    json_t *show = h_show(b->env, ticket);
    assert_string_equal(jstr(show, "from"), "");
    assert_string_equal(jstr(show, "from_name"), "Siti Aminah");
    const char *text = jstr(show, "text");
    if (!h_contains(text, "kantor kecamatan") || !h_contains(text, "lampu jalan mati"))
        fail_msg("the text lacks words of both pages: %s", text);
    char *names = attachment_names(show);
    if (!h_contains(names, "page-1.png") || !h_contains(names, "page-2.png"))
        fail_msg("page images not attached: %s", names);
    free(names);
    json_decref(show);
    /* no phone, no address: the acknowledgement is a letter to print */
    char *letter = box_wait_file(b, b->outgoing, ticket);
    char path[512];
    snprintf(path, sizeof path, "%s/%s", b->outgoing, letter);
    char *words = box_pdftotext(b, path);
    if (!h_contains(words, ticket) || !h_contains(words, "Siti Aminah") ||
        !h_contains(words, "DPMPTSP") || !h_contains(words, "Jl. Merdeka No. 1"))
        fail_msg("the letter lacks the ticket, the name or the letterhead:\n%s", words);
    free(words);
    free(letter);
    char *moved = box_wait_file(b, b->processed, "form-siti.tiff");
    free(moved);

    /* the SOP to its written response: a letter too, handed over, then step 7 by hand */
    char minutes[256], response[256];
    snprintf(minutes, sizeof minutes, "%s/berita-acara.txt", b->dir);
    snprintf(response, sizeof response, "%s/tanggapan.txt", b->dir);
    assert_int_equal(h_write_file(minutes, "Rapat: jalan diperbaiki bulan depan.\n"), 0);
    assert_int_equal(h_write_file(response, "Perbaikan jalan dijadwalkan pekan depan.\n"), 0);
    const char *const steps[][8] = {
        {"verify", ticket, NULL},
        {"review", ticket, "--note", "Perlu ditinjau Dinas PU", "--as", "budi", NULL},
        {"forward", ticket, "--as", "budi", NULL},
        {"meeting", ticket, "--at", "2026-12-01 09:00", "--attendees", "Kadis, Kabid",
         "--as", H_HEAD_ID},
        {"minutes", ticket, "--file", minutes, "--as", "budi", NULL},
        {"respond", ticket, "--file", response, NULL},
    };
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        const char *args[10] = {0};
        for (int k = 0; k < 8 && steps[i][k]; k++)
            args[k] = steps[i][k];
        h_run_t run = {0};
        if (h_aduanctl_argv(b->env, &run, 20000, args) != 0)
            fail_msg("aduanctl %s: %d\n%s%s", steps[i][0], run.code, run.out, run.err);
        h_run_clear(&run);
    }
    char needle[64];
    snprintf(needle, sizeof needle, "%s-response-", ticket);
    letter = box_wait_file(b, b->outgoing, needle);
    snprintf(path, sizeof path, "%s/%s", b->outgoing, letter);
    words = box_pdftotext(b, path);
    if (!h_contains(words, "Perbaikan jalan dijadwalkan") || !h_contains(words, ticket))
        fail_msg("the response letter lacks the response:\n%s", words);
    free(words);
    free(letter);
    h_run_t run = {0};
    if (h_aduanctl(b->env, &run, 20000, "delivered", ticket, "--note",
                   "ditempel di papan pengumuman", NULL) != 0)
        fail_msg("aduanctl delivered: %d\n%s%s", run.code, run.out, run.err);
    h_run_clear(&run);
    show = h_show(b->env, ticket);
    assert_string_equal(jstr(show, "status"), "delivered");
    json_decref(show);
    free(ticket);
    h_pass(b->env);
}

static void test_pdf_scan_answered_by_sms(void **state)
{
    box_env_t *b = *state;
    form_t page = {.name = "Agus Salim", .contact = "+62 813 1111 2222",
                   .lines = {"Pelayanan loket terlalu lama,", "antrean sampai sore.", NULL},
                   .angle_deg = 0.4, .noise = 0.002, .seed = 11};
    char tmp[256];
    snprintf(tmp, sizeof tmp, "%s/scan-001.pdf", b->dir);
    assert_int_equal(form_write_pdf(tmp, &page, 1), 0);
    assert_int_equal(rename(tmp, box_scan_path(b, "scan-001.pdf")), 0);
    char *ticket = box_wait_ticket(b);
    json_t *show = h_show(b->env, ticket);
    assert_string_equal(jstr(show, "from"), "+6281311112222");
    if (!h_contains(jstr(show, "text"), "antrean sampai"))
        fail_msg("the text lacks the complaint: %s", jstr(show, "text"));
    json_decref(show);
    char *sent = box_wait_sms(b, "+6281311112222", ticket);
    free(sent);
    free(ticket);
    h_pass(b->env);
}

static void test_blank_page_flagged_for_the_help_desk(void **state)
{
    box_env_t *b = *state;
    form_t blank = {.lines = {NULL}, .noise = 0.0005, .seed = 13};
    assert_int_equal(form_write_png(box_scan_path(b, "kosong.png"), &blank), 0);
    char *ticket = box_wait_ticket(b);
    json_t *show = h_show(b->env, ticket);
    /* nothing could be read: registered all the same, flagged to be typed in */
    assert_int_equal(json_integer_value(json_object_get(show, "incomplete")), 1);
    json_decref(show);
    box_wait_log(b, "below min_confidence: to be typed in");
    char *letter = box_wait_file(b, b->outgoing, ticket);
    free(letter);

    /* the help desk types the paper in */
    char typed[256];
    snprintf(typed, sizeof typed, "%s/ketikan.txt", b->dir);
    assert_int_equal(h_write_file(typed, "Nama: Wayan\nTrotoar di pasar rusak.\n"), 0);
    h_run_t run = {0};
    if (h_aduanctl(b->env, &run, 20000, "transcribe", ticket, "--file", typed, NULL) != 0)
        fail_msg("aduanctl transcribe: %d\n%s%s", run.code, run.out, run.err);
    h_run_clear(&run);
    show = h_show(b->env, ticket);
    assert_int_equal(json_integer_value(json_object_get(show, "incomplete")), 0);
    assert_string_equal(jstr(show, "text"), "Nama: Wayan\nTrotoar di pasar rusak.\n");
    json_decref(show);
    free(ticket);
    h_pass(b->env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_png_with_mobile_number_answered_by_sms,
                                        box_env_setup, box_env_teardown),
        cmocka_unit_test_setup_teardown(test_tiff_two_pages_without_contact_gets_a_letter,
                                        box_env_setup, box_env_teardown),
        cmocka_unit_test_setup_teardown(test_pdf_scan_answered_by_sms, box_env_setup,
                                        box_env_teardown),
        cmocka_unit_test_setup_teardown(test_blank_page_flagged_for_the_help_desk,
                                        box_env_setup, box_env_teardown),
    };
    const char *only = getenv("ADUAN_TEST_FILTER");
    if (only)
        cmocka_set_test_filter(only);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
