/*  test_box_email.c - box_reply_email: a scanned PDF form whose contact is a mail address
    is answered by email: the box channel names the address and reply channel "email", the
    core sends the acknowledgement through the email adapter, and it lands in the citizen's
    INBOX in the mail world (tests/world/mailworld.sh: Dovecot and Postfix on 127.0.0.1).
    Its users are this test's own (t-kotak-..., t-warga-...). */
#include "box_env.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "forms.h"
#include "mailbox.h"

static const char *jstr(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

static void test_pdf_form_with_address_answered_by_email(void **state)
{
    (void)state;
    mailbox_t office, citizen;
    assert_int_equal(mailbox_setup(&office, "kotak"), 0);
    assert_int_equal(mailbox_setup(&citizen, "warga"), 0);
    char extra[2048];
    snprintf(extra, sizeof extra,
             "[email]\nenabled = yes\naccount = %s\naddress = %s\n"
             "imap_host = 127.0.0.1\nimap_port = 10993\nimap_tls = implicit\n"
             "imap_user = %s\nimap_password_file = %s\nca_file = %s\n"
             "poll = 5s\nsmtp_host = 127.0.0.1\nsmtp_port = 10025\nsmtp_tls = none\n"
             "smtp_timeout = 10s\n",
             office.local, office.user, office.user, office.password_file, office.ca);
    box_env_t *b = box_env_new(extra);
    *state = b;
    assert_int_equal(h_daemon_start(b->env), 0);

    form_t page = {.name = "Dewi Lestari", .contact = citizen.user,
                   .lines = {"Sampah di pasar tidak diangkut", "sejak seminggu.", NULL},
                   .angle_deg = -0.4, .noise = 0.002, .seed = 31};
    char tmp[256];
    snprintf(tmp, sizeof tmp, "%s/scan-dewi.pdf", b->dir);
    assert_int_equal(form_write_pdf(tmp, &page, 1), 0);
    assert_int_equal(rename(tmp, box_scan_path(b, "scan-dewi.pdf")), 0);
    char *ticket = box_wait_ticket(b);
    json_t *show = h_show(b->env, ticket);
    assert_string_equal(jstr(show, "from"), citizen.user);
    assert_string_equal(jstr(show, "from_name"), "Dewi Lestari");
    json_decref(show);

    /* the acknowledgement, by email, in the citizen's INBOX */
    int64_t deadline = h_now_ms() + BOX_WAIT_MS;
    char *mail;
    while (!*(mail = mailbox_fetch_text(&citizen, NULL, "INBOX", "Subject", ticket))) {
        free(mail);
        if (h_now_ms() > deadline)
            fail_msg("no acknowledgement of %s in %s's INBOX", ticket, citizen.user);
        aduan_msg_t *ev = h_events_wait(b->sub, NULL, NULL, 300);
        aduan_msg_destroy(&ev);
    }
    if (!h_contains(mail, ticket))
        fail_msg("the acknowledgement lacks the ticket: %s", mail);
    free(mail);
    box_wait_log(b, "intake from=t-***@test.local");
    free(ticket);
    h_pass(b->env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_pdf_form_with_address_answered_by_email,
                                  box_env_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
