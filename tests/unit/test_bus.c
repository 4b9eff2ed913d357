/*  test_bus.c - the bus codec: every type round-trips, every malformed form is refused
    with a reason, random mutations never crash and what is accepted re-encodes. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "aduan/bus.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BIG_LIMIT ((size_t)128 * 1024 * 1024)

/* ------------------------------------------------------------- helpers */

static void same_str(const char *want, const char *got)
{
    if (!want) {
        assert_null(got);
        return;
    }
    assert_non_null(got);
    assert_string_equal(want, got);
}

static void same_bytes(const aduan_bytes_t *want, const aduan_bytes_t *got)
{
    assert_int_equal(want->size, got->size);
    if (want->size) {
        assert_non_null(got->data);
        assert_memory_equal(want->data, got->data, want->size);
        assert_int_equal(got->data[got->size], 0); /* NUL after the bytes */
    } else {
        assert_null(got->data);
    }
}

static void set(char **field, const char *value)
{
    assert_int_equal(aduan_msg_set(field, value), 0);
}

static zmsg_t *encode_ok(const aduan_msg_t *msg)
{
    char reason[512];
    zmsg_t *wire = aduan_msg_encode(msg, reason, sizeof reason);
    if (!wire)
        fail_msg("encode refused: %s", reason);
    return wire;
}

/* Encodes, decodes, checks the envelope and attachments; the caller checks the fields. */
static aduan_msg_t *roundtrip(const aduan_msg_t *msg)
{
    char reason[512];
    char id[ADUAN_MSG_ID_MAX + 1];
    zmsg_t *wire = encode_ok(msg);
    aduan_msg_t *back = aduan_msg_decode(&wire, BIG_LIMIT, id, reason, sizeof reason);
    if (!back)
        fail_msg("decode refused: %s", reason);
    assert_null(wire);
    assert_int_equal(back->type, msg->type);
    assert_string_equal(back->id, msg->id);
    assert_string_equal(id, msg->id);
    assert_int_equal(back->attachment_count, msg->attachment_count);
    for (size_t i = 0; i < msg->attachment_count; i++) {
        same_str(msg->attachments[i].name, back->attachments[i].name);
        same_str(msg->attachments[i].content_type, back->attachments[i].content_type);
        same_bytes(&msg->attachments[i].content, &back->attachments[i].content);
    }
    return back;
}

/* Every byte value, NUL included: what a raw mail or a PDU may hold. */
static unsigned char binary[512];

static void fill_binary(void)
{
    for (size_t i = 0; i < sizeof binary; i++)
        binary[i] = (unsigned char)(i * 7 + (i >> 8));
}

static aduan_msg_t *full_intake(void)
{
    aduan_msg_t *msg = aduan_msg_new(ADUAN_MSG_INTAKE);
    assert_non_null(msg);
    set(&msg->intake.channel, "email");
    set(&msg->intake.account, "pengaduan@kota.go.id");
    set(&msg->intake.dedupe_key, "email:<a1b2c3@mail.example.org>");
    set(&msg->intake.intent, "complaint");
    set(&msg->intake.from_addr, "warga@example.org");
    set(&msg->intake.from_name, "Budi Santoso \xc3\xa9\xe4\xb8\xad\xf0\x9f\x98\x80");
    msg->intake.received_at = 1795000000123u;
    set(&msg->intake.subject, "Jalan rusak di Jl. Merdeka [ADU-2026-00042]");
    set(&msg->intake.text, "Selamat pagi,\r\n\tjalan berlubang.\n\xe2\x80\x94 Budi\n");
    set(&msg->intake.thread_ticket, "ADU-2026-00042");
    set(&msg->intake.in_reply_to, "<x1@kota.go.id> <x2@kota.go.id>");
    set(&msg->intake.references, "<x0@kota.go.id> <x1@kota.go.id>");
    set(&msg->intake.message_ref, "<a1b2c3@mail.example.org>");
    msg->intake.flags = ADUAN_INTAKE_INCOMPLETE | ADUAN_INTAKE_AUTOMATIC;
    set(&msg->intake.quarantine_reason, "MIME: boundary never closed");
    msg->intake.raw.data = malloc(sizeof binary);
    assert_non_null(msg->intake.raw.data);
    memcpy(msg->intake.raw.data, binary, sizeof binary);
    msg->intake.raw.size = sizeof binary;
    assert_int_equal(aduan_msg_attach(msg, "foto jalan.png", "image/png", binary, 300), 0);
    assert_int_equal(aduan_msg_attach(msg, "kosong.txt", NULL, NULL, 0), 0);
    return msg;
}

/* ------------------------------------------------------ round trips */

static void test_roundtrip_hello(void **state)
{
    (void)state;
    aduan_msg_t *msg = aduan_msg_new(ADUAN_MSG_HELLO);
    set(&msg->hello.channel, "sms");
    set(&msg->hello.account, "modem-1 +6281200000000");
    set(&msg->hello.capabilities, "unicode,concat,delivery-report");
    set(&msg->hello.software, "aduan-sms 0.1.0");
    aduan_msg_t *back = roundtrip(msg);
    same_str(msg->hello.channel, back->hello.channel);
    same_str(msg->hello.account, back->hello.account);
    same_str(msg->hello.capabilities, back->hello.capabilities);
    same_str(msg->hello.software, back->hello.software);
    aduan_msg_destroy(&back);
    aduan_msg_destroy(&msg);
    assert_null(msg);
}

static void test_roundtrip_heartbeat(void **state)
{
    (void)state;
    aduan_msg_t *msg = aduan_msg_new(ADUAN_MSG_HEARTBEAT);
    zmsg_t *wire = encode_ok(msg);
    assert_int_equal(zmsg_size(wire), 4); /* the status is empty: the core asks nothing */
    zmsg_destroy(&wire);
    aduan_msg_t *back = roundtrip(msg);
    assert_null(back->heartbeat.status);
    aduan_msg_destroy(&back);
    aduan_msg_set(&msg->heartbeat.status, "{\"signal\": 71, \"network\": \"Telkomsel\"}");
    back = roundtrip(msg);
    same_str(msg->heartbeat.status, back->heartbeat.status);
    aduan_msg_destroy(&back);
    aduan_msg_destroy(&msg);
}

static void test_roundtrip_intake(void **state)
{
    (void)state;
    aduan_msg_t *msg = full_intake();
    zmsg_t *wire = encode_ok(msg);
    assert_int_equal(zmsg_size(wire), 3 + 19 + 2 * 3);
    zmsg_destroy(&wire);

    aduan_msg_t *back = roundtrip(msg);
    same_str(msg->intake.channel, back->intake.channel);
    same_str(msg->intake.account, back->intake.account);
    same_str(msg->intake.dedupe_key, back->intake.dedupe_key);
    same_str(msg->intake.intent, back->intake.intent);
    same_str(msg->intake.from_addr, back->intake.from_addr);
    same_str(msg->intake.from_name, back->intake.from_name);
    assert_int_equal(msg->intake.received_at, back->intake.received_at);
    same_str(msg->intake.subject, back->intake.subject);
    same_str(msg->intake.text, back->intake.text);
    same_str(msg->intake.thread_ticket, back->intake.thread_ticket);
    same_str(msg->intake.in_reply_to, back->intake.in_reply_to);
    same_str(msg->intake.references, back->intake.references);
    same_str(msg->intake.message_ref, back->intake.message_ref);
    assert_int_equal(msg->intake.flags, back->intake.flags);
    same_str(msg->intake.quarantine_reason, back->intake.quarantine_reason);
    same_bytes(&msg->intake.raw, &back->intake.raw);
    assert_null(back->attachments[1].content_type);
    aduan_msg_destroy(&back);
    aduan_msg_destroy(&msg);
}

static void test_roundtrip_intake_minimal(void **state)
{
    (void)state;
    /* Only the required fields: every other one comes back absent. */
    aduan_msg_t *msg = aduan_msg_new(ADUAN_MSG_INTAKE);
    set(&msg->intake.channel, "box");
    set(&msg->intake.dedupe_key, "box:2026-11-28:0001");
    set(&msg->intake.intent, "status");
    set(&msg->intake.subject, ""); /* empty is absent */
    aduan_msg_t *back = roundtrip(msg);
    same_str("box", back->intake.channel);
    same_str("status", back->intake.intent);
    assert_null(back->intake.account);
    assert_null(back->intake.from_addr);
    assert_null(back->intake.subject);
    assert_null(back->intake.text);
    assert_null(back->intake.quarantine_reason);
    assert_int_equal(back->intake.received_at, 0);
    assert_int_equal(back->intake.flags, 0);
    assert_null(back->intake.raw.data);
    assert_int_equal(back->intake.raw.size, 0);
    assert_null(back->attachments);
    assert_int_equal(back->attachment_count, 0);
    aduan_msg_destroy(&back);
    aduan_msg_destroy(&msg);
}

/* A paper form that names a mobile number (the box channel): replies go by SMS to it. */
static void test_roundtrip_reply_channel(void **state)
{
    (void)state;
    aduan_msg_t *msg = aduan_msg_new(ADUAN_MSG_INTAKE);
    set(&msg->intake.channel, "box");
    set(&msg->intake.dedupe_key, "box:3f2a");
    set(&msg->intake.intent, "complaint");
    set(&msg->intake.from_addr, "+6281234567890");
    set(&msg->intake.reply_channel, "sms");
    aduan_msg_t *back = roundtrip(msg);
    same_str("sms", back->intake.reply_channel);
    same_str("+6281234567890", back->intake.from_addr);
    aduan_msg_destroy(&back);

    set(&msg->intake.reply_channel, "sms\r\nX-Evil: 1");
    char reason[256];
    zmsg_t *wire = aduan_msg_encode(msg, reason, sizeof reason);
    assert_null(wire);
    assert_non_null(strstr(reason, "INTAKE.reply_channel"));
    aduan_msg_destroy(&msg);
}

/* A call record (the phone channel): intent "call" with its status and seconds, answered
   "logged". */
static void test_roundtrip_call(void **state)
{
    (void)state;
    aduan_msg_t *msg = aduan_msg_new(ADUAN_MSG_INTAKE);
    set(&msg->intake.channel, "phone");
    set(&msg->intake.dedupe_key, "call:1732780000.42");
    set(&msg->intake.intent, "call");
    set(&msg->intake.from_addr, "+6281234567890");
    set(&msg->intake.from_name, "=HYPERLINK(\"http://x\")");
    set(&msg->intake.call_status, "missed");
    msg->intake.call_seconds = 73;
    aduan_msg_t *back = roundtrip(msg);
    same_str("call", back->intake.intent);
    same_str("missed", back->intake.call_status);
    same_str(msg->intake.from_name, back->intake.from_name);
    assert_int_equal(back->intake.call_seconds, 73);
    aduan_msg_destroy(&back);

    set(&msg->intake.call_status, "ringing");
    char reason[256];
    zmsg_t *wire = aduan_msg_encode(msg, reason, sizeof reason);
    assert_null(wire);
    assert_non_null(strstr(reason, "INTAKE.call_status"));
    aduan_msg_destroy(&msg);

    msg = aduan_msg_new(ADUAN_MSG_ACK);
    set(&msg->ack.ref, "r1");
    set(&msg->ack.disposition, "logged");
    back = roundtrip(msg);
    same_str("logged", back->ack.disposition);
    aduan_msg_destroy(&back);
    aduan_msg_destroy(&msg);
}

static void test_roundtrip_ack_nack(void **state)
{
    (void)state;
    aduan_msg_t *msg = aduan_msg_new(ADUAN_MSG_ACK);
    set(&msg->ack.ref, "0123456789abcdef01234567-2a");
    set(&msg->ack.ticket, "ADU-2026-00042");
    set(&msg->ack.disposition, "followup");
    aduan_msg_t *back = roundtrip(msg);
    same_str(msg->ack.ref, back->ack.ref);
    same_str(msg->ack.ticket, back->ack.ticket);
    same_str(msg->ack.disposition, back->ack.disposition);
    aduan_msg_destroy(&back);
    aduan_msg_destroy(&msg);

    msg = aduan_msg_new(ADUAN_MSG_NACK);
    set(&msg->nack.ref, "x.y:z_1-2");
    set(&msg->nack.reason, "registry busy");
    msg->nack.permanent = true;
    back = roundtrip(msg);
    same_str(msg->nack.ref, back->nack.ref);
    same_str(msg->nack.reason, back->nack.reason);
    assert_true(back->nack.permanent);
    aduan_msg_destroy(&back);
    msg->nack.permanent = false;
    back = roundtrip(msg);
    assert_false(back->nack.permanent);
    aduan_msg_destroy(&back);
    aduan_msg_destroy(&msg);
}

static void test_roundtrip_deliver_result(void **state)
{
    (void)state;
    aduan_msg_t *msg = aduan_msg_new(ADUAN_MSG_DELIVER);
    msg->deliver.outbox_id = UINT64_MAX;
    set(&msg->deliver.channel, "email");
    set(&msg->deliver.account, "pengaduan@kota.go.id");
    set(&msg->deliver.kind, "response");
    set(&msg->deliver.ticket, "ADU-2026-00042");
    set(&msg->deliver.to_addr, "warga@example.org");
    set(&msg->deliver.to_name, "Budi");
    set(&msg->deliver.subject, "Re: Jalan rusak [ADU-2026-00042]");
    set(&msg->deliver.text, "Terima kasih.\n\nSalam,\nDinas PU\n");
    set(&msg->deliver.message_id, "<outbox-17@kota.go.id>");
    set(&msg->deliver.in_reply_to, "<a1b2c3@mail.example.org>");
    set(&msg->deliver.references, "<a0@mail.example.org> <a1b2c3@mail.example.org>");
    msg->deliver.automatic = true;
    msg->deliver.attempt = 3;
    assert_int_equal(aduan_msg_attach(msg, "surat.pdf", "application/pdf", binary, 512), 0);
    aduan_msg_t *back = roundtrip(msg);
    assert_int_equal(back->deliver.outbox_id, UINT64_MAX);
    same_str(msg->deliver.channel, back->deliver.channel);
    same_str(msg->deliver.account, back->deliver.account);
    same_str(msg->deliver.kind, back->deliver.kind);
    same_str(msg->deliver.ticket, back->deliver.ticket);
    same_str(msg->deliver.to_addr, back->deliver.to_addr);
    same_str(msg->deliver.to_name, back->deliver.to_name);
    same_str(msg->deliver.subject, back->deliver.subject);
    same_str(msg->deliver.text, back->deliver.text);
    same_str(msg->deliver.message_id, back->deliver.message_id);
    same_str(msg->deliver.in_reply_to, back->deliver.in_reply_to);
    same_str(msg->deliver.references, back->deliver.references);
    assert_true(back->deliver.automatic);
    assert_int_equal(back->deliver.attempt, 3);
    aduan_msg_destroy(&back);
    aduan_msg_destroy(&msg);

    msg = aduan_msg_new(ADUAN_MSG_RESULT);
    msg->result.outbox_id = 17;
    set(&msg->result.status, "temporary");
    set(&msg->result.provider_id, "4F2A1B0C9D");
    set(&msg->result.detail, "451 4.7.1 greylisted, try again later");
    back = roundtrip(msg);
    assert_int_equal(back->result.outbox_id, 17);
    same_str(msg->result.status, back->result.status);
    same_str(msg->result.provider_id, back->result.provider_id);
    same_str(msg->result.detail, back->result.detail);
    aduan_msg_destroy(&back);
    aduan_msg_destroy(&msg);
}

static void test_roundtrip_event_request_reply(void **state)
{
    (void)state;
    aduan_msg_t *msg = aduan_msg_new(ADUAN_MSG_EVENT);
    set(&msg->event.topic, "ticket.new");
    set(&msg->event.ticket, "ADU-2026-00042");
    set(&msg->event.detail, "{\n\t\"channel\": \"sms\"\n}");
    aduan_msg_t *back = roundtrip(msg);
    same_str(msg->event.topic, back->event.topic);
    same_str(msg->event.ticket, back->event.ticket);
    same_str(msg->event.detail, back->event.detail);
    aduan_msg_destroy(&back);
    aduan_msg_destroy(&msg);

    msg = aduan_msg_new(ADUAN_MSG_REQUEST);
    set(&msg->request.command, "show");
    set(&msg->request.actor, "operator");
    set(&msg->request.args, "{\"ticket\": \"ADU-2026-00042\"}");
    back = roundtrip(msg);
    same_str(msg->request.command, back->request.command);
    same_str(msg->request.actor, back->request.actor);
    same_str(msg->request.args, back->request.args);
    aduan_msg_destroy(&back);
    aduan_msg_destroy(&msg);

    msg = aduan_msg_new(ADUAN_MSG_REPLY);
    set(&msg->reply.status, "refused");
    set(&msg->reply.body, "{\"error\": \"no such ticket\"}");
    back = roundtrip(msg);
    same_str(msg->reply.status, back->reply.status);
    same_str(msg->reply.body, back->reply.body);
    aduan_msg_destroy(&back);
    aduan_msg_destroy(&msg);
}

static void test_type_names(void **state)
{
    (void)state;
    assert_string_equal(aduan_msg_type_name(ADUAN_MSG_HELLO), "HELLO");
    assert_string_equal(aduan_msg_type_name(ADUAN_MSG_INTAKE), "INTAKE");
    assert_string_equal(aduan_msg_type_name(ADUAN_MSG_REPLY), "REPLY");
    assert_null(aduan_msg_type_name((aduan_msg_type_t)0));
    assert_null(aduan_msg_type_name(ADUAN_MSG_TYPE_COUNT));
    assert_null(aduan_msg_type_name((aduan_msg_type_t)-3));
    assert_null(aduan_msg_new(ADUAN_MSG_TYPE_COUNT));
    for (int t = ADUAN_MSG_HELLO; t < ADUAN_MSG_TYPE_COUNT; t++)
        assert_non_null(aduan_msg_type_name((aduan_msg_type_t)t));
}

static void test_set_and_attach(void **state)
{
    (void)state;
    aduan_msg_t *msg = aduan_msg_new(ADUAN_MSG_DELIVER);
    set(&msg->deliver.subject, "one");
    set(&msg->deliver.subject, "two");
    same_str("two", msg->deliver.subject);
    set(&msg->deliver.subject, NULL);
    assert_null(msg->deliver.subject);
    assert_int_equal(aduan_msg_attach(msg, "x", "y", NULL, 5), -1); /* size without data */

    /* Many attachments, added one by one, all come back. */
    msg->deliver.outbox_id = 1;
    set(&msg->deliver.channel, "email");
    set(&msg->deliver.kind, "notice");
    set(&msg->deliver.to_addr, "a@b.c");
    for (size_t i = 0; i < 100; i++) {
        char name[32];
        snprintf(name, sizeof name, "file-%zu.bin", i);
        assert_int_equal(aduan_msg_attach(msg, name, "application/octet-stream", binary, i), 0);
    }
    assert_int_equal(msg->attachment_count, 100);
    aduan_msg_t *back = roundtrip(msg);
    /* A decoded message can take more attachments. */
    for (size_t i = 0; i < 40; i++)
        assert_int_equal(aduan_msg_attach(back, "more", NULL, "x", 1), 0);
    assert_int_equal(back->attachment_count, 140);
    aduan_msg_t *again = roundtrip(back);
    aduan_msg_destroy(&again);
    aduan_msg_destroy(&back);
    aduan_msg_destroy(&msg);
    aduan_msg_destroy(&msg); /* NULL-safe */
    aduan_msg_destroy(NULL);
}

/* --------------------------------------------------------------- ids */

#define ID_THREADS 4
#define ID_PER_THREAD 5000

static void *make_ids(void *arg)
{
    char (*ids)[ADUAN_MSG_ID_MAX + 1] = arg;
    for (size_t i = 0; i < ID_PER_THREAD; i++) {
        aduan_msg_t *msg = aduan_msg_new(ADUAN_MSG_HEARTBEAT);
        if (!msg)
            return NULL;
        memcpy(ids[i], msg->id, sizeof ids[i]);
        aduan_msg_destroy(&msg);
    }
    return arg;
}

static int compare_ids(const void *a, const void *b)
{
    return strcmp(a, b);
}

static size_t prefix_len(const char *id)
{
    const char *dash = strchr(id, '-');
    return dash ? (size_t)(dash - id) : strlen(id);
}

static void test_ids_unique(void **state)
{
    (void)state;
    static char ids[ID_THREADS * ID_PER_THREAD][ADUAN_MSG_ID_MAX + 1];
    pthread_t threads[ID_THREADS];
    for (size_t t = 0; t < ID_THREADS; t++)
        assert_int_equal(pthread_create(&threads[t], NULL, make_ids, ids[t * ID_PER_THREAD]), 0);
    for (size_t t = 0; t < ID_THREADS; t++) {
        void *result;
        assert_int_equal(pthread_join(threads[t], &result), 0);
        assert_non_null(result);
    }
    qsort(ids, ID_THREADS * ID_PER_THREAD, sizeof ids[0], compare_ids);
    for (size_t i = 0; i < ID_THREADS * ID_PER_THREAD; i++) {
        size_t len = strlen(ids[i]);
        assert_true(len >= 1 && len <= ADUAN_MSG_ID_MAX);
        assert_int_equal(strspn(ids[i], "0123456789abcdef-"), len);
        if (i)
            assert_string_not_equal(ids[i - 1], ids[i]);
    }

    /* A forked child draws its own prefix. */
    aduan_msg_t *parent = aduan_msg_new(ADUAN_MSG_HEARTBEAT);
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        aduan_msg_t *child = aduan_msg_new(ADUAN_MSG_HEARTBEAT);
        ssize_t n = child ? write(fds[1], child->id, sizeof child->id) : -1;
        _exit(n == (ssize_t)sizeof child->id ? 0 : 1);
    }
    char child_id[ADUAN_MSG_ID_MAX + 1] = "";
    close(fds[1]);
    assert_int_equal(read(fds[0], child_id, sizeof child_id), sizeof child_id);
    close(fds[0]);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_int_equal(prefix_len(parent->id), prefix_len(child_id));
    assert_true(memcmp(parent->id, child_id, prefix_len(child_id)) != 0);
    aduan_msg_destroy(&parent);
}

/* ------------------------------------------------- decoder refusals */

/* INTAKE frames: envelope, then the 19 fields in schema order, then attachments. */
enum {
    F_PROTOCOL, F_TYPE, F_ID,
    I_CHANNEL, I_ACCOUNT, I_DEDUPE_KEY, I_INTENT, I_FROM_ADDR, I_FROM_NAME, I_RECEIVED_AT,
    I_SUBJECT, I_TEXT, I_THREAD_TICKET, I_IN_REPLY_TO, I_REFERENCES, I_MESSAGE_REF, I_FLAGS,
    I_QUARANTINE_REASON, I_CALL_STATUS, I_CALL_SECONDS, I_REPLY_CHANNEL, I_RAW,
    I_ATTACHMENT
};

static char intake_id[ADUAN_MSG_ID_MAX + 1];

static zmsg_t *intake_wire(void)
{
    aduan_msg_t *msg = full_intake();
    memcpy(intake_id, msg->id, sizeof intake_id);
    zmsg_t *wire = encode_ok(msg);
    aduan_msg_destroy(&msg);
    return wire;
}

static zmsg_t *wire_of(aduan_msg_type_t type)
{
    aduan_msg_t *msg = aduan_msg_new(type);
    switch (type) {
    case ADUAN_MSG_HELLO:
        set(&msg->hello.channel, "sms");
        break;
    case ADUAN_MSG_ACK:
        set(&msg->ack.ref, "r1");
        set(&msg->ack.disposition, "new");
        break;
    case ADUAN_MSG_NACK:
        set(&msg->nack.ref, "r1");
        set(&msg->nack.reason, "busy");
        break;
    case ADUAN_MSG_DELIVER:
        msg->deliver.outbox_id = 9;
        set(&msg->deliver.channel, "sms");
        set(&msg->deliver.kind, "ack");
        set(&msg->deliver.to_addr, "+6281200000000");
        break;
    default:
        break;
    }
    zmsg_t *wire = encode_ok(msg);
    aduan_msg_destroy(&msg);
    return wire;
}

static zframe_t *frame_at(zmsg_t *wire, size_t index)
{
    zframe_t *frame = zmsg_first(wire);
    for (size_t i = 0; i < index && frame; i++)
        frame = zmsg_next(wire);
    assert_non_null(frame);
    return frame;
}

static void put(zmsg_t *wire, size_t index, const void *data, size_t size)
{
    zframe_reset(frame_at(wire, index), data, size);
}

static void put_str(zmsg_t *wire, size_t index, const char *s)
{
    put(wire, index, s, strlen(s));
}

static void drop_last(zmsg_t *wire, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        zframe_t *frame = zmsg_last(wire);
        zmsg_remove(wire, frame);
        zframe_destroy(&frame);
    }
}

static char last_reason[512];
static char last_id[ADUAN_MSG_ID_MAX + 1];

/* Decodes *wire (taking it) and expects a refusal whose reason contains needle. */
static void refused_max(zmsg_t **wire, size_t max_size, const char *needle)
{
    memset(last_id, 'X', sizeof last_id);
    aduan_msg_t *msg = aduan_msg_decode(wire, max_size, last_id, last_reason, sizeof last_reason);
    if (wire)
        assert_null(*wire);
    if (msg) {
        aduan_msg_destroy(&msg);
        fail_msg("accepted, expected a refusal with '%s'", needle);
    }
    if (!strstr(last_reason, needle))
        fail_msg("reason \"%s\" does not contain \"%s\"", last_reason, needle);
}

static void refused(zmsg_t **wire, const char *needle)
{
    refused_max(wire, BIG_LIMIT, needle);
}

static void accepted(zmsg_t **wire)
{
    char reason[512];
    aduan_msg_t *msg = aduan_msg_decode(wire, BIG_LIMIT, NULL, reason, sizeof reason);
    if (!msg)
        fail_msg("refused: %s", reason);
    aduan_msg_destroy(&msg);
}

/* A valid INTAKE with one frame replaced, expected refused with needle. */
static void intake_refused(size_t index, const void *data, size_t size, const char *needle)
{
    zmsg_t *wire = intake_wire();
    put(wire, index, data, size);
    refused(&wire, needle);
    assert_string_equal(last_id, intake_id); /* the id could be read: the refusal names it */
}

static void intake_accepted(size_t index, const void *data, size_t size)
{
    zmsg_t *wire = intake_wire();
    put(wire, index, data, size);
    accepted(&wire);
}

static void test_refuse_envelope(void **state)
{
    (void)state;
    zmsg_t *wire = NULL;
    refused(&wire, "no message");
    refused(NULL, "no message");

    wire = zmsg_new();
    refused(&wire, "not an Aduan message");
    assert_string_equal(last_id, "");

    wire = zmsg_new();
    zmsg_addstr(wire, ADUAN_PROTOCOL);
    refused(&wire, "no type");

    wire = zmsg_new();
    zmsg_addstr(wire, "hello world");
    refused(&wire, "not an Aduan message");

    wire = zmsg_new();
    zmsg_addstr(wire, ADUAN_PROTOCOL);
    zmsg_addstr(wire, "INTAKE");
    refused(&wire, "INTAKE: truncated message: no message id");

    wire = intake_wire();
    put_str(wire, F_PROTOCOL, "HELLO");
    refused(&wire, "not an Aduan message");
    assert_string_equal(last_id, "");

    wire = intake_wire();
    put_str(wire, F_PROTOCOL, "ADU/1 ");
    refused(&wire, "unsupported protocol 'ADU/1 '");

    wire = intake_wire();
    put_str(wire, F_PROTOCOL, "ADU/3");
    refused(&wire, "unsupported protocol 'ADU/3'");

    wire = intake_wire();
    put(wire, F_PROTOCOL, "", 0);
    refused(&wire, "not an Aduan message");

    wire = intake_wire();
    put_str(wire, F_TYPE, "INTAKEX");
    refused(&wire, "unknown message type 'INTAKEX'");
    assert_string_equal(last_id, intake_id);

    wire = intake_wire();
    put_str(wire, F_TYPE, "intake");
    refused(&wire, "unknown message type 'intake'");

    /* A long binary type name: escaped, cut after 32 bytes. */
    unsigned char odd[200];
    for (size_t i = 0; i < sizeof odd; i++)
        odd[i] = (unsigned char)(i % 3 ? 'A' : i);
    wire = intake_wire();
    put(wire, F_TYPE, odd, sizeof odd);
    refused(&wire, "unknown message type '\\x00AA\\x03AA");
    assert_non_null(strstr(last_reason, "...'"));
    assert_null(strchr(last_reason, '\n'));
    assert_true(strlen(last_reason) < 200);
}

static void test_refuse_id(void **state)
{
    (void)state;
    static const char *const bad[] = {"", "a b", "a/b", "x\n", "caf\xc3\xa9", "id@host",
                                      "<id>", "a\0b"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        zmsg_t *wire = intake_wire();
        put(wire, F_ID, bad[i], i == 7 ? 3 : strlen(bad[i]));
        refused(&wire, "INTAKE: invalid message id");
        assert_string_equal(last_id, "");
    }
    char longest[ADUAN_MSG_ID_MAX + 2];
    memset(longest, 'a', sizeof longest);
    zmsg_t *wire = intake_wire();
    put(wire, F_ID, longest, ADUAN_MSG_ID_MAX + 1);
    refused(&wire, "INTAKE: invalid message id");
    assert_string_equal(last_id, "");

    /* 64 of every allowed character: accepted. */
    longest[ADUAN_MSG_ID_MAX] = '\0';
    memcpy(longest, "AZaz09._:-", 10);
    wire = intake_wire();
    put_str(wire, F_ID, longest);
    char reason[256], id[ADUAN_MSG_ID_MAX + 1];
    aduan_msg_t *msg = aduan_msg_decode(&wire, BIG_LIMIT, id, reason, sizeof reason);
    assert_non_null(msg);
    assert_string_equal(msg->id, longest);
    assert_string_equal(id, longest);
    aduan_msg_destroy(&msg);
}

static void test_refuse_field_count(void **state)
{
    (void)state;
    zmsg_t *wire = intake_wire();
    drop_last(wire, 6 + 16); /* the attachments and 16 of the 19 fields */
    refused(&wire, "INTAKE: expected 19 fields, got 3");

    wire = intake_wire();
    drop_last(wire, 6 + 1);
    refused(&wire, "INTAKE: expected 19 fields, got 18");

    wire = wire_of(ADUAN_MSG_ACK);
    zmsg_addstr(wire, "extra");
    refused(&wire, "ACK: expected 3 fields, got 4");

    wire = wire_of(ADUAN_MSG_ACK);
    drop_last(wire, 1);
    refused(&wire, "ACK: expected 3 fields, got 2");

    wire = wire_of(ADUAN_MSG_HEARTBEAT);
    zmsg_addstr(wire, "");
    refused(&wire, "HEARTBEAT: expected 1 fields, got 2");

    /* A well-formed attachment triple on a type that has none. */
    wire = wire_of(ADUAN_MSG_HELLO);
    zmsg_addstr(wire, "a.txt");
    zmsg_addstr(wire, "text/plain");
    zmsg_addstr(wire, "hello");
    refused(&wire, "HELLO: expected 4 fields, got 7 (no attachments on this type)");

    wire = wire_of(ADUAN_MSG_NACK);
    zmsg_addstr(wire, "a.txt");
    zmsg_addstr(wire, "text/plain");
    zmsg_addstr(wire, "hello");
    refused(&wire, "no attachments");

    /* Attachment frames not a multiple of 3. */
    wire = intake_wire();
    drop_last(wire, 1);
    refused(&wire, "INTAKE: 5 frames after the 19 fields: attachments come as triples");

    wire = wire_of(ADUAN_MSG_DELIVER);
    zmsg_addstr(wire, "a.txt");
    refused(&wire, "DELIVER: 1 frames after the 14 fields");

    wire = wire_of(ADUAN_MSG_DELIVER);
    zmsg_addstr(wire, "a.txt");
    zmsg_addstr(wire, "text/plain");
    zmsg_addstr(wire, "hello");
    accepted(&wire);
}

static void test_refuse_utf8(void **state)
{
    (void)state;
    static const struct {
        const char *bytes;
        size_t at;
    } bad[] = {
        {"Jalan rusak \xc3", 12},         /* truncated 2-byte sequence at the end */
        {"ab\xe2\x82", 2},                /* truncated 3-byte sequence */
        {"ab\xe2\x82x", 2},               /* cut by an ASCII byte */
        {"\xf0\x9f\x98", 0},              /* truncated 4-byte sequence */
        {"x\xc0\xaf", 1},                 /* overlong '/' */
        {"xy\xc1\xbf", 2},                /* overlong */
        {"\xe0\x80\xaf", 0},              /* overlong 3-byte */
        {"\xf0\x80\x80\xaf", 0},          /* overlong 4-byte */
        {"abc\xed\xa0\x80", 3},           /* surrogate U+D800 */
        {"\xed\xbf\xbf", 0},              /* surrogate U+DFFF */
        {"\xf4\x90\x80\x80", 0},          /* U+110000 */
        {"\xf5\x80\x80\x80", 0},          /* beyond */
        {"\x80", 0},                      /* lone continuation */
        {"ok \xc3\xa9 \xbf", 6},          /* stray continuation after a good char */
        {"\xff", 0},
        {"\xc3\x28", 0},                  /* bad continuation */
    };
    char needle[64];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(needle, sizeof needle, "INTAKE.subject: invalid UTF-8 at byte %zu", bad[i].at);
        intake_refused(I_SUBJECT, bad[i].bytes, strlen(bad[i].bytes), needle);
        snprintf(needle, sizeof needle, "INTAKE.text: invalid UTF-8 at byte %zu", bad[i].at);
        intake_refused(I_TEXT, bad[i].bytes, strlen(bad[i].bytes), needle);
        assert_false(aduan_utf8_valid(bad[i].bytes, strlen(bad[i].bytes)));
    }
    intake_refused(I_ATTACHMENT, "\xed\xa0\x80.png", 7,
                   "INTAKE.attachment[0].name: invalid UTF-8 at byte 0");
    intake_refused(I_ATTACHMENT + 3 + 1, "text/\xc0\xaf", 7,
                   "INTAKE.attachment[1].content_type: invalid UTF-8 at byte 5");

    /* The edges that are valid. */
    static const char *const good[] = {
        "\xc2\x80", "\xdf\xbf", "\xe0\xa0\x80", "\xed\x9f\xbf", "\xee\x80\x80", "\xef\xbf\xbf",
        "\xf0\x90\x80\x80", "\xf4\x8f\xbf\xbf", "Pengaduan \xe2\x80\x94 \xf0\x9f\x98\x80",
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        assert_true(aduan_utf8_valid(good[i], strlen(good[i])));
        intake_accepted(I_SUBJECT, good[i], strlen(good[i]));
    }
    assert_true(aduan_utf8_valid("", 0));
    assert_true(aduan_utf8_valid(NULL, 0));
    assert_true(aduan_utf8_valid("a\0b\r\n", 5)); /* controls are valid UTF-8 */
    /* Raw bytes are not text: anything goes. */
    intake_accepted(I_RAW, "\xff\xfe\0\xc0", 4);
    intake_accepted(I_ATTACHMENT + 2, "\xff\xfe\0\xc0", 4);
}

static void test_refuse_controls(void **state)
{
    (void)state;
    intake_refused(I_SUBJECT, "Hello\r\nBcc: x@y", 15,
                   "INTAKE.subject: control character 0x0d at byte 5");
    intake_refused(I_SUBJECT, "Hello\nBcc", 9, "INTAKE.subject: control character 0x0a at byte 5");
    intake_refused(I_SUBJECT, "a\tb", 3, "INTAKE.subject: control character 0x09 at byte 1");
    intake_refused(I_SUBJECT, "a\x7f", 2, "INTAKE.subject: control character 0x7f at byte 1");
    intake_refused(I_SUBJECT, "ab\0", 3, "INTAKE.subject: NUL byte at byte 2");
    intake_refused(I_FROM_ADDR, "a@b\r\n", 5, "INTAKE.from_addr: control character 0x0d");
    intake_refused(I_REFERENCES, "<a>\n<b>", 7, "INTAKE.references: control character 0x0a");
    intake_refused(I_TEXT, "ab\0cd", 5, "INTAKE.text: NUL byte at byte 2");
    intake_refused(I_TEXT, "color \x1b[31m", 11, "INTAKE.text: control character 0x1b at byte 6");
    intake_refused(I_TEXT, "x\x7f", 2, "INTAKE.text: control character 0x7f at byte 1");
    intake_refused(I_ATTACHMENT, "a\r\nb", 4,
                   "INTAKE.attachment[0].name: control character 0x0d at byte 1");
    static const char text[] = "line\r\nline\n\tindented\r";
    intake_accepted(I_TEXT, text, strlen(text));
}

static void test_refuse_uint(void **state)
{
    (void)state;
    static const char *const bad[] = {"-1", "+1", " 1", "1 ", "1a", "0x10", "1.5", "\xd9\xa1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        intake_refused(I_RECEIVED_AT, bad[i], strlen(bad[i]),
                       "INTAKE.received_at: '");
    intake_refused(I_RECEIVED_AT, "-1", 2, "is not an unsigned decimal integer");
    intake_refused(I_FLAGS, "18446744073709551616", 20,
                   "INTAKE.flags: '18446744073709551616' does not fit 64 bits");
    intake_refused(I_FLAGS, "99999999999999999999", 20, "does not fit 64 bits");
    intake_refused(I_FLAGS, "000000000000000000001", 21,
                   "INTAKE.flags: 21 bytes exceeds the limit of 20");

    zmsg_t *wire = intake_wire();
    put_str(wire, I_RECEIVED_AT, "18446744073709551615");
    put_str(wire, I_FLAGS, "007");
    char reason[256];
    aduan_msg_t *msg = aduan_msg_decode(&wire, BIG_LIMIT, NULL, reason, sizeof reason);
    assert_non_null(msg);
    assert_int_equal(msg->intake.received_at, UINT64_MAX);
    assert_int_equal(msg->intake.flags, 7);
    aduan_msg_destroy(&msg);

    /* Absent is 0, where allowed. */
    intake_accepted(I_RECEIVED_AT, "", 0);
}

static void test_refuse_flag_enum_required(void **state)
{
    (void)state;
    static const char *const bad_flags[] = {"2", "true", "01", "x", "\0"};
    for (size_t i = 0; i < sizeof bad_flags / sizeof bad_flags[0]; i++) {
        zmsg_t *wire = wire_of(ADUAN_MSG_NACK);
        put(wire, 3 + 2, bad_flags[i], i == 4 ? 1 : strlen(bad_flags[i]));
        refused(&wire, "NACK.permanent: ");
    }
    zmsg_t *wire = wire_of(ADUAN_MSG_NACK);
    put_str(wire, 3 + 2, "2");
    refused(&wire, "NACK.permanent: '2' is not a flag (0 or 1)");
    wire = wire_of(ADUAN_MSG_NACK);
    put_str(wire, 3 + 2, "");
    accepted(&wire);

    intake_refused(I_INTENT, "complaints", 10,
                   "INTAKE.intent: 'complaints' is not one of complaint, status");
    intake_refused(I_INTENT, "Complaint", 9, "INTAKE.intent: 'Complaint' is not one of");
    intake_refused(I_INTENT, "status ", 7, "INTAKE.intent: 'status ' is not one of");
    intake_refused(I_INTENT, "comp", 4, "is not one of");
    wire = wire_of(ADUAN_MSG_ACK);
    put_str(wire, 3 + 2, "closed");
    refused(&wire, "ACK.disposition: 'closed' is not one of new, followup, duplicate, status, "
                   "quarantined");

    /* Missing required fields. */
    intake_refused(I_CHANNEL, "", 0, "INTAKE.channel: required, but empty");
    intake_refused(I_DEDUPE_KEY, "", 0, "INTAKE.dedupe_key: required");
    intake_refused(I_INTENT, "", 0, "INTAKE.intent: required");
    wire = wire_of(ADUAN_MSG_HELLO);
    put_str(wire, 3, "");
    refused(&wire, "HELLO.channel: required");
    wire = wire_of(ADUAN_MSG_NACK);
    put_str(wire, 3 + 1, "");
    refused(&wire, "NACK.reason: required");
    wire = wire_of(ADUAN_MSG_DELIVER);
    put_str(wire, 3, "0");
    refused(&wire, "DELIVER.outbox_id: required, but 0");
    wire = wire_of(ADUAN_MSG_DELIVER);
    put_str(wire, 3, "");
    refused(&wire, "DELIVER.outbox_id: required");
    wire = wire_of(ADUAN_MSG_DELIVER);
    put_str(wire, 3 + 5, "");
    refused(&wire, "DELIVER.to_addr: required");
}

static void test_refuse_oversized(void **state)
{
    (void)state;
    char big[1100];
    memset(big, 'a', sizeof big);
    intake_accepted(I_SUBJECT, big, 998);
    intake_refused(I_SUBJECT, big, 999, "INTAKE.subject: 999 bytes exceeds the limit of 998");
    intake_refused(I_CHANNEL, big, 33, "INTAKE.channel: 33 bytes exceeds the limit of 32");
    intake_refused(I_THREAD_TICKET, big, 33, "INTAKE.thread_ticket: 33 bytes exceeds");
    intake_refused(I_ATTACHMENT, big, 256,
                   "INTAKE.attachment[0].name: 256 bytes exceeds the limit of 255");
    intake_refused(I_ATTACHMENT + 1, big, 128,
                   "INTAKE.attachment[0].content_type: 128 bytes exceeds the limit of 127");
    intake_accepted(I_ATTACHMENT, big, 255);
    zmsg_t *wire = wire_of(ADUAN_MSG_HELLO);
    put(wire, 3, big, 33);
    refused(&wire, "HELLO.channel: 33 bytes exceeds the limit of 32");

    size_t mib = 1024 * 1024;
    char *huge = malloc(mib + 1);
    assert_non_null(huge);
    memset(huge, 'x', mib + 1);
    intake_accepted(I_TEXT, huge, mib);
    intake_refused(I_TEXT, huge, mib + 1, "INTAKE.text: 1048577 bytes exceeds the limit of 1048576");
    free(huge);
}

static void test_refuse_total_first(void **state)
{
    (void)state;
    /* A 1 MB text that is also invalid (NULs): the size is what the refusal names, so the
       total was checked before any field. */
    size_t mb = 1000 * 1000;
    char *huge = calloc(1, mb);
    assert_non_null(huge);
    zmsg_t *wire = intake_wire();
    put(wire, I_TEXT, huge, mb);
    size_t total = zmsg_content_size(wire);
    char needle[96];
    snprintf(needle, sizeof needle, "message of %zu bytes exceeds the limit of 100", total);
    refused_max(&wire, 100, needle);
    assert_string_equal(last_id, intake_id); /* still named */
    free(huge);

    /* The limit itself is allowed. */
    wire = intake_wire();
    total = zmsg_content_size(wire);
    zmsg_t *copy = zmsg_dup(wire);
    char reason[256];
    aduan_msg_t *msg = aduan_msg_decode(&copy, total, NULL, reason, sizeof reason);
    assert_non_null(msg);
    aduan_msg_destroy(&msg);
    snprintf(needle, sizeof needle, "message of %zu bytes exceeds the limit of %zu", total,
             total - 1);
    refused_max(&wire, total - 1, needle);
}

/* ------------------------------------------------- encoder refusals */

static void encode_refused(const aduan_msg_t *msg, const char *needle)
{
    char reason[512];
    zmsg_t *wire = aduan_msg_encode(msg, reason, sizeof reason);
    if (wire) {
        zmsg_destroy(&wire);
        fail_msg("encoded, expected a refusal with '%s'", needle);
    }
    if (!strstr(reason, needle))
        fail_msg("reason \"%s\" does not contain \"%s\"", reason, needle);
}

static void test_encode_refuses(void **state)
{
    (void)state;
    aduan_msg_t *msg = full_intake();
    set(&msg->intake.subject, "Jalan\r\nBcc: all@kota.go.id");
    encode_refused(msg, "INTAKE.subject: control character 0x0d at byte 5");
    set(&msg->intake.subject, "ok");
    set(&msg->intake.text, "bad \xc3");
    encode_refused(msg, "INTAKE.text: invalid UTF-8 at byte 4");
    set(&msg->intake.text, NULL);
    set(&msg->intake.intent, "complain");
    encode_refused(msg, "INTAKE.intent: 'complain' is not one of complaint, status");
    set(&msg->intake.intent, "complaint");
    set(&msg->intake.channel, NULL);
    encode_refused(msg, "INTAKE.channel: required");
    set(&msg->intake.channel, "sms");
    set(&msg->attachments[0].name, "a\nb");
    encode_refused(msg, "INTAKE.attachment[0].name: control character 0x0a at byte 1");
    set(&msg->attachments[0].name, "ok.png");

    char id[sizeof msg->id];
    memcpy(id, msg->id, sizeof id);
    strcpy(msg->id, "bad id");
    encode_refused(msg, "INTAKE: invalid message id 'bad id'");
    msg->id[0] = '\0';
    encode_refused(msg, "INTAKE: invalid message id");
    memcpy(msg->id, id, sizeof id);

    msg->intake.raw.size = 10;
    unsigned char *raw = msg->intake.raw.data;
    msg->intake.raw.data = NULL;
    encode_refused(msg, "INTAKE.raw: 10 bytes of data at NULL");
    msg->intake.raw.data = raw;

    zmsg_t *wire = encode_ok(msg);
    zmsg_destroy(&wire);
    msg->type = (aduan_msg_type_t)0;
    encode_refused(msg, "unknown message type 0");
    msg->type = ADUAN_MSG_INTAKE;
    aduan_msg_destroy(&msg);
    encode_refused(NULL, "no message");

    msg = aduan_msg_new(ADUAN_MSG_ACK);
    set(&msg->ack.ref, "r");
    set(&msg->ack.disposition, "new");
    assert_int_equal(aduan_msg_attach(msg, "a", "b", "c", 1), 0);
    encode_refused(msg, "ACK: attachments are not allowed");
    aduan_msg_destroy(&msg);

    msg = aduan_msg_new(ADUAN_MSG_DELIVER);
    set(&msg->deliver.channel, "sms");
    set(&msg->deliver.kind, "ack");
    set(&msg->deliver.to_addr, "+62");
    encode_refused(msg, "DELIVER.outbox_id: required, but 0");
    aduan_msg_destroy(&msg);
}

/* --------------------------------------------------------------- send */

static void test_send(void **state)
{
    (void)state;
    zsock_t *router = zsock_new_router("inproc://test-bus-send");
    zsock_t *dealer = zsock_new_dealer(">inproc://test-bus-send");
    assert_non_null(router);
    assert_non_null(dealer);
    zsock_set_rcvtimeo(router, 5000);
    zsock_set_rcvtimeo(dealer, 5000);

    aduan_msg_t *msg = full_intake();
    assert_int_equal(aduan_msg_send(msg, dealer, NULL), 0);
    zmsg_t *wire = zmsg_recv(router);
    assert_non_null(wire);
    zframe_t *routing_id = zmsg_pop(wire);
    char reason[256];
    aduan_msg_t *got = aduan_msg_decode(&wire, BIG_LIMIT, NULL, reason, sizeof reason);
    assert_non_null(got);
    assert_string_equal(got->id, msg->id);
    aduan_msg_destroy(&got);

    aduan_msg_t *ack = aduan_msg_new(ADUAN_MSG_ACK);
    set(&ack->ack.ref, msg->id);
    set(&ack->ack.ticket, "ADU-2026-00001");
    set(&ack->ack.disposition, "new");
    assert_int_equal(aduan_msg_send(ack, router, routing_id), 0);
    assert_non_null(routing_id); /* still the caller's */
    assert_true(zframe_is(routing_id));
    wire = zmsg_recv(dealer);
    got = aduan_msg_decode(&wire, BIG_LIMIT, NULL, reason, sizeof reason);
    assert_non_null(got);
    same_str(msg->id, got->ack.ref);
    aduan_msg_destroy(&got);

    /* A message that breaks its schema is not sent. */
    set(&ack->ack.disposition, "maybe");
    assert_int_equal(aduan_msg_send(ack, router, routing_id), -1);

    zframe_destroy(&routing_id);
    aduan_msg_destroy(&ack);
    aduan_msg_destroy(&msg);
    zsock_destroy(&dealer);
    zsock_destroy(&router);
}

/* ------------------------------------------------------ random mutation */

typedef struct {
    unsigned char *data;
    size_t size;
} buf_t;

#define FUZZ_FRAMES_MAX 64

typedef struct {
    buf_t frames[FUZZ_FRAMES_MAX];
    size_t count;
} frames_t;

static uint64_t rng_state;

static uint64_t rng(void)
{
    uint64_t x = rng_state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    rng_state = x;
    return x * 0x2545f4914f6cdd1du;
}

static size_t below(size_t n)
{
    return n ? (size_t)(rng() % n) : 0;
}

static buf_t buf_of(const void *data, size_t size)
{
    buf_t buf = {malloc(size + 1), size};
    assert_non_null(buf.data);
    if (size)
        memcpy(buf.data, data, size);
    return buf;
}

static void frames_from(frames_t *frames, zmsg_t *wire)
{
    frames->count = 0;
    for (zframe_t *f = zmsg_first(wire); f && frames->count < FUZZ_FRAMES_MAX; f = zmsg_next(wire))
        frames->frames[frames->count++] = buf_of(zframe_data(f), zframe_size(f));
}

static void frames_free(frames_t *frames)
{
    for (size_t i = 0; i < frames->count; i++)
        free(frames->frames[i].data);
    frames->count = 0;
}

static zmsg_t *frames_to_wire(const frames_t *frames)
{
    zmsg_t *wire = zmsg_new();
    for (size_t i = 0; i < frames->count; i++)
        zmsg_addmem(wire, frames->frames[i].data, frames->frames[i].size);
    return wire;
}

/* Words that make a mutation likely to stay acceptable, or to hit an edge. */
static const char *const dictionary[] = {
    "", "0", "1", "2", ADUAN_PROTOCOL, "ADU/3", "INTAKE", "DELIVER", "ACK", "HEARTBEAT",
    "complaint", "status", "new", "ack", "18446744073709551615", "18446744073709551616",
    "\r\n", "\xc3", "\xed\xa0\x80", "\xf4\x8f\xbf\xbf", "\xe2\x80\x94", "a b", "x.y:z",
};

static void mutate(frames_t *frames)
{
    size_t i = below(frames->count);
    buf_t *frame = frames->count ? &frames->frames[i] : NULL;
    switch (below(10)) {
    case 0: /* flip a bit */
        if (frame && frame->size)
            frame->data[below(frame->size)] ^= (unsigned char)(1u << below(8));
        break;
    case 1: /* a random byte, biased to interesting ones */
        if (frame && frame->size) {
            static const unsigned char odd[] = {0, '\r', '\n', '\t', 0x7f, 0x80, 0xbf, 0xc0,
                                                0xc3, 0xe0, 0xed, 0xf4, 0xff, '-', '9'};
            frame->data[below(frame->size)] =
                below(2) ? odd[below(sizeof odd)] : (unsigned char)rng();
        }
        break;
    case 2: /* truncate */
        if (frame)
            frame->size = below(frame->size + 1);
        break;
    case 3: /* grow with random bytes */
        if (frame) {
            size_t extra = 1 + below(16);
            unsigned char *grown = realloc(frame->data, frame->size + extra + 1);
            assert_non_null(grown);
            for (size_t k = 0; k < extra; k++)
                grown[frame->size + k] = (unsigned char)(below(4) ? 'a' + below(26) : rng());
            frame->data = grown;
            frame->size += extra;
        }
        break;
    case 4: /* remove a frame */
        if (frame) {
            free(frame->data);
            memmove(frame, frame + 1, (frames->count - i - 1) * sizeof *frame);
            frames->count--;
        }
        break;
    case 5: /* duplicate a frame in place */
    case 6: /* insert a dictionary word */
        if (frames->count < FUZZ_FRAMES_MAX) {
            buf_t added;
            if (frame && below(2)) {
                added = buf_of(frame->data, frame->size);
            } else {
                const char *word = dictionary[below(sizeof dictionary / sizeof dictionary[0])];
                added = buf_of(word, strlen(word));
            }
            size_t at = below(frames->count + 1);
            memmove(&frames->frames[at + 1], &frames->frames[at],
                    (frames->count - at) * sizeof added);
            frames->frames[at] = added;
            frames->count++;
        }
        break;
    case 7: /* swap two frames */
        if (frames->count > 1) {
            size_t j = below(frames->count);
            buf_t tmp = frames->frames[i];
            frames->frames[i] = frames->frames[j];
            frames->frames[j] = tmp;
        }
        break;
    default: /* replace a frame by a dictionary word */
        if (frame) {
            const char *word = dictionary[below(sizeof dictionary / sizeof dictionary[0])];
            free(frame->data);
            *frame = buf_of(word, strlen(word));
        }
        break;
    }
}

static bool wires_equal(zmsg_t *a, zmsg_t *b)
{
    if (zmsg_size(a) != zmsg_size(b))
        return false;
    for (zframe_t *fa = zmsg_first(a), *fb = zmsg_first(b); fa; fa = zmsg_next(a),
                  fb = zmsg_next(b))
        if (!zframe_eq(fa, fb))
            return false;
    return true;
}

static void test_random_mutations(void **state)
{
    (void)state;
    rng_state = 0x5eed0fad1a1e5ull;
    zmsg_t *bases[2] = {intake_wire(), wire_of(ADUAN_MSG_DELIVER)};
    put_str(bases[0], F_ID, "fuzz-intake"); /* fixed ids: the same run every time */
    put_str(bases[1], F_ID, "fuzz-deliver");
    size_t accepted_count = 0, refused_count = 0;
    for (size_t iter = 0; iter < 20000; iter++) {
        frames_t frames;
        frames_from(&frames, bases[iter % 5 == 0]);
        size_t mutations = 1 + below(3);
        for (size_t m = 0; m < mutations; m++)
            mutate(&frames);
        zmsg_t *wire = frames_to_wire(&frames);
        size_t max_size = below(4) ? BIG_LIMIT : below(zmsg_content_size(wire) + 8);
        char reason[512], id[ADUAN_MSG_ID_MAX + 1];
        aduan_msg_t *msg = aduan_msg_decode(&wire, max_size, id, reason, sizeof reason);
        assert_null(wire);
        if (!msg) {
            refused_count++;
            assert_true(reason[0] != '\0');
            assert_true(strlen(id) <= ADUAN_MSG_ID_MAX);
            frames_free(&frames);
            continue;
        }
        accepted_count++;
        /* What was accepted re-encodes, and the encoding is stable. */
        zmsg_t *again = aduan_msg_encode(msg, reason, sizeof reason);
        if (!again)
            fail_msg("iteration %zu: accepted but does not re-encode: %s", iter, reason);
        zmsg_t *copy = zmsg_dup(again);
        aduan_msg_t *msg2 = aduan_msg_decode(&copy, BIG_LIMIT, NULL, reason, sizeof reason);
        if (!msg2)
            fail_msg("iteration %zu: re-encoded message refused: %s", iter, reason);
        zmsg_t *third = aduan_msg_encode(msg2, reason, sizeof reason);
        assert_non_null(third);
        assert_true(wires_equal(again, third));
        zmsg_destroy(&third);
        zmsg_destroy(&again);
        aduan_msg_destroy(&msg2);
        aduan_msg_destroy(&msg);
        frames_free(&frames);
    }
    print_message("random mutations: %zu accepted, %zu refused\n", accepted_count,
                  refused_count);
    assert_true(accepted_count > 100);
    assert_true(refused_count > 100);
    zmsg_destroy(&bases[0]);
    zmsg_destroy(&bases[1]);
}

/* ------------------------------------------------------------ throughput */

static double seconds_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_throughput(void **state)
{
    (void)state;
    /* A typical mail: headers, a 1 KB body, a 700-byte original. */
    aduan_msg_t *msg = aduan_msg_new(ADUAN_MSG_INTAKE);
    set(&msg->intake.channel, "email");
    set(&msg->intake.account, "pengaduan@kota.go.id");
    set(&msg->intake.dedupe_key, "email:<CAF=a1b2c3d4e5f6@mail.gmail.com>");
    set(&msg->intake.intent, "complaint");
    set(&msg->intake.from_addr, "budi.santoso@example.org");
    set(&msg->intake.from_name, "Budi Santoso");
    msg->intake.received_at = 1795000000123u;
    set(&msg->intake.subject, "Lampu jalan mati di Jl. Merdeka sejak minggu lalu");
    static const char words[] = "Lampu jalan di depan rumah nomor 12 mati. ";
    char text[1025];
    for (size_t i = 0; i < 1024; i++)
        text[i] = i % 64 == 63 ? '\n' : words[i % (sizeof words - 1)];
    text[1024] = '\0';
    set(&msg->intake.text, text);
    set(&msg->intake.message_ref, "<CAF=a1b2c3d4e5f6@mail.gmail.com>");
    msg->intake.raw.size = 700;
    msg->intake.raw.data = malloc(700);
    memset(msg->intake.raw.data, 'r', 700);

    zmsg_t *sample = encode_ok(msg);
    size_t bytes = zmsg_content_size(sample);
    zmsg_destroy(&sample);

    size_t rounds = 20000;
    char reason[256];
    double start = seconds_now();
    for (size_t i = 0; i < rounds; i++) {
        zmsg_t *wire = aduan_msg_encode(msg, reason, sizeof reason);
        aduan_msg_t *back = aduan_msg_decode(&wire, BIG_LIMIT, NULL, reason, sizeof reason);
        assert_non_null(back);
        aduan_msg_destroy(&back);
    }
    double elapsed = seconds_now() - start;
    print_message("throughput: encode+decode of a %zu-byte INTAKE: %.0f msg/s (%.1f us each, "
                  "%.0f MB/s)\n",
                  bytes, (double)rounds / elapsed, elapsed * 1e6 / (double)rounds,
                  (double)bytes * (double)rounds / elapsed / 1e6);
    aduan_msg_destroy(&msg);
}

int main(void)
{
    fill_binary();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_hello),
        cmocka_unit_test(test_roundtrip_heartbeat),
        cmocka_unit_test(test_roundtrip_intake),
        cmocka_unit_test(test_roundtrip_intake_minimal),
        cmocka_unit_test(test_roundtrip_call),
        cmocka_unit_test(test_roundtrip_reply_channel),
        cmocka_unit_test(test_roundtrip_ack_nack),
        cmocka_unit_test(test_roundtrip_deliver_result),
        cmocka_unit_test(test_roundtrip_event_request_reply),
        cmocka_unit_test(test_type_names),
        cmocka_unit_test(test_set_and_attach),
        cmocka_unit_test(test_ids_unique),
        cmocka_unit_test(test_refuse_envelope),
        cmocka_unit_test(test_refuse_id),
        cmocka_unit_test(test_refuse_field_count),
        cmocka_unit_test(test_refuse_utf8),
        cmocka_unit_test(test_refuse_controls),
        cmocka_unit_test(test_refuse_uint),
        cmocka_unit_test(test_refuse_flag_enum_required),
        cmocka_unit_test(test_refuse_oversized),
        cmocka_unit_test(test_refuse_total_first),
        cmocka_unit_test(test_encode_refuses),
        cmocka_unit_test(test_send),
        cmocka_unit_test(test_random_mutations),
        cmocka_unit_test(test_throughput),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
