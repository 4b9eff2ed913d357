/*  registry_fixture.h - what the registry's unit tests share: a temporary state folder,
    a configuration with two staff members, a clock the test moves by hand, an open store,
    INTAKE messages built field by field, SQL helpers that read the database behind the
    registry's back, and the clean-up.

    Everything here is static inline, so each test program takes only what it uses. */
#ifndef ADUAN_TEST_REGISTRY_FIXTURE_H
#define ADUAN_TEST_REGISTRY_FIXTURE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "aduan/bus.h"
#include "aduan/clock.h"
#include "aduan/config.h"
#include "aduan/log.h"
#include "registry.h"
#include "store.h"

/* 2026-03-02 03:00:00 UTC = 10:00 in Jakarta (WIB, UTC+7): a working morning. */
#define REG_T0_MS 1772420400000LL
#define REG_HOUR_MS (3600LL * 1000)
#define REG_DAY_MS (24 * REG_HOUR_MS)

#define REG_HELPDESK_ID "loket"
#define REG_HELPDESK_EMAIL "loket@dpmptsp.example.go.id"
#define REG_HELPDESK_PHONE "+6281234567890"
#define REG_HEAD_ID "kadis"
#define REG_HEAD_EMAIL "kadis@dpmptsp.example.go.id"
#define REG_HEAD_PHONE "+6281298765432"

typedef struct {
    char dir[1024];           /* the state folder (mkdtemp); short, so paths in it fit */
    char templates[PATH_MAX]; /* an empty folder when the source tree is unknown */
    aduan_config_t *config;
    int64_t now;              /* what the fake clock says, ms since the epoch */
    aduan_clock_t clock;
    aduan_store_t *store;
} reg_fixture_t;

static inline int64_t reg_clock_now(void *ctx)
{
    return ((reg_fixture_t *)ctx)->now;
}

/* Jakarta local time for every test (ticket years, dates in texts). */
static inline void reg_use_jakarta_time(void)
{
    setenv("TZ", "Asia/Jakarta", 1);
    tzset();
}

static inline char *reg_strdup(const char *s)
{
    char *copy = strdup(s);
    assert_non_null(copy);
    return copy;
}

static inline void reg_set_string(char **field, const char *value)
{
    free(*field);
    *field = reg_strdup(value);
}

/* One helpdesk member told by email and SMS, one head of office told by email. */
static inline void reg_add_staff(aduan_config_t *cfg)
{
    cfg->staff = calloc(2, sizeof *cfg->staff);
    assert_non_null(cfg->staff);
    cfg->staff_count = 2;
    aduan_staff_t *h = &cfg->staff[0];
    h->id = reg_strdup(REG_HELPDESK_ID);
    h->name = reg_strdup("Siti Rahmawati");
    h->role = ADUAN_ROLE_HELPDESK;
    h->phone = reg_strdup(REG_HELPDESK_PHONE);
    h->email = reg_strdup(REG_HELPDESK_EMAIL);
    h->user = reg_strdup("siti");
    h->notify = reg_strdup("both");
    aduan_staff_t *k = &cfg->staff[1];
    k->id = reg_strdup(REG_HEAD_ID);
    k->name = reg_strdup("Ir. Bambang Sutrisno");
    k->role = ADUAN_ROLE_HEAD;
    k->phone = reg_strdup(REG_HEAD_PHONE);
    k->email = reg_strdup(REG_HEAD_EMAIL);
    k->user = reg_strdup("bambang");
    k->notify = reg_strdup("email");
}

static inline void reg_open(reg_fixture_t *f)
{
    char reason[512] = "";
    int rc = aduan_store_open(f->dir, f->config, &f->clock, &f->store, reason, sizeof reason);
    if (rc != 0)
        fail_msg("aduan_store_open: %s", reason);
    assert_non_null(f->store);
}

static inline void reg_close(reg_fixture_t *f)
{
    aduan_store_close(&f->store);
    assert_null(f->store);
}

/* A fresh state folder, configuration and clock; the store is not opened. */
static inline reg_fixture_t *reg_fixture_new_closed(void)
{
    reg_use_jakarta_time();
    aduan_log_threshold = ADUAN_LOG_ERROR; /* the tests provoke warnings on purpose */
    reg_fixture_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    const char *tmp = getenv("TMPDIR");
    snprintf(f->dir, sizeof f->dir, "%s/aduan-registry-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(f->dir))
        fail_msg("mkdtemp %s: %s", f->dir, strerror(errno));
    f->config = aduan_config_defaults();
    assert_non_null(f->config);
    reg_set_string(&f->config->core.state_dir, f->dir);
    /* tests send many SMS from one number: each is its own complaint unless a test turns
       the follow-up window on */
    f->config->sms.followup_window_s = 0;
#ifdef ADUAN_SOURCE_DIR
    snprintf(f->templates, sizeof f->templates, "%s/conf/templates", ADUAN_SOURCE_DIR);
#else
    /* no templates at all: every text comes from the registry's built-in fallback */
    if (snprintf(f->templates, sizeof f->templates, "%s/templates", f->dir)
        >= (int)sizeof f->templates)
        fail_msg("state folder path too long");
    assert_int_equal(mkdir(f->templates, 0700), 0);
#endif
    reg_set_string(&f->config->templates.dir, f->templates);
    reg_add_staff(f->config);
    f->now = REG_T0_MS;
    f->clock.now_ms = reg_clock_now;
    f->clock.ctx = f;
    return f;
}

static inline reg_fixture_t *reg_fixture_new(void)
{
    reg_fixture_t *f = reg_fixture_new_closed();
    reg_open(f);
    return f;
}

static inline int reg_rm_entry(const char *path, const struct stat *sb, int type,
                               struct FTW *ftw)
{
    (void)sb;
    (void)type;
    (void)ftw;
    return remove(path) == 0 ? 0 : -1;
}

static inline void reg_fixture_free(reg_fixture_t **f_p)
{
    reg_fixture_t *f = *f_p;
    if (!f)
        return;
    aduan_store_close(&f->store);
    aduan_config_destroy(&f->config);
    if (f->dir[0])
        nftw(f->dir, reg_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    *f_p = NULL;
}

/* cmocka setup / teardown */
static inline int reg_setup(void **state)
{
    *state = reg_fixture_new();
    return 0;
}

/* For tests that open the store themselves (or must not). */
static inline int reg_setup_closed(void **state)
{
    *state = reg_fixture_new_closed();
    return 0;
}

static inline int reg_teardown(void **state)
{
    reg_fixture_t *f = *state;
    reg_fixture_free(&f);
    *state = NULL;
    return 0;
}

/* ---- INTAKE messages ----------------------------------------------------------------- */

/* A complaint as an adapter would send it: intent "complaint", the given source key. */
static inline aduan_msg_t *reg_intake_new(const char *channel, const char *dedupe_key,
                                          const char *from_addr, const char *text)
{
    aduan_msg_t *m = aduan_msg_new(ADUAN_MSG_INTAKE);
    assert_non_null(m);
    assert_int_equal(aduan_msg_set(&m->intake.channel, channel), 0);
    assert_int_equal(aduan_msg_set(&m->intake.account, channel), 0);
    assert_int_equal(aduan_msg_set(&m->intake.dedupe_key, dedupe_key), 0);
    assert_int_equal(aduan_msg_set(&m->intake.intent, "complaint"), 0);
    assert_int_equal(aduan_msg_set(&m->intake.from_addr, from_addr), 0);
    assert_int_equal(aduan_msg_set(&m->intake.from_name, "Budi Santoso"), 0);
    assert_int_equal(aduan_msg_set(&m->intake.subject, "Pengaduan pelayanan izin"), 0);
    assert_int_equal(aduan_msg_set(&m->intake.text, text), 0);
    m->intake.received_at = (uint64_t)(REG_T0_MS - 60000);
    return m;
}

/* Runs one intake in its own transaction, as the core does; returns the registry's code. */
static inline int reg_take(reg_fixture_t *f, const aduan_msg_t *m, aduan_intake_result_t *r)
{
    char reason[256] = "";
    assert_int_equal(aduan_store_begin(f->store), 0);
    int rc = aduan_registry_intake(f->store, m, "test-peer", r, reason, sizeof reason);
    if (rc == 0)
        assert_int_equal(aduan_store_commit(f->store), 0);
    else
        aduan_store_rollback(f->store);
    aduan_event_t *events = aduan_store_take_events(f->store);
    aduan_event_list_free(&events);
    return rc;
}

/* Builds, takes and frees one complaint; the intake must succeed. */
static inline void reg_complaint(reg_fixture_t *f, const char *channel, const char *key,
                                 const char *from_addr, const char *text,
                                 aduan_intake_result_t *r)
{
    aduan_msg_t *m = reg_intake_new(channel, key, from_addr, text);
    assert_int_equal(reg_take(f, m, r), 0);
    aduan_msg_destroy(&m);
}

/* ---- SQL behind the registry's back --------------------------------------------------- */

static inline sqlite3_stmt *reg_prepare_v(reg_fixture_t *f, const char *fmt, va_list ap)
{
    char *sql = sqlite3_vmprintf(fmt, ap);
    assert_non_null(sql);
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(aduan_store_db(f->store), sql, -1, &st, NULL);
    if (rc != SQLITE_OK)
        fail_msg("prepare %s: %s", sql, sqlite3_errmsg(aduan_store_db(f->store)));
    sqlite3_free(sql);
    return st;
}

/* The integer of the first column of the first row (sqlite3_mprintf format: %Q, %lld). */
static inline int64_t reg_int(reg_fixture_t *f, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sqlite3_stmt *st = reg_prepare_v(f, fmt, ap);
    va_end(ap);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW)
        fail_msg("query returned no row (%d): %s", rc, sqlite3_sql(st));
    int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* The text of the first column of the first row into out; false when there is no row
   (out is then ""); a NULL value reads as "". */
static inline bool reg_text(reg_fixture_t *f, char *out, size_t outlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sqlite3_stmt *st = reg_prepare_v(f, fmt, ap);
    va_end(ap);
    int rc = sqlite3_step(st);
    const unsigned char *s = rc == SQLITE_ROW ? sqlite3_column_text(st, 0) : NULL;
    snprintf(out, outlen, "%s", s ? (const char *)s : "");
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        fail_msg("query failed (%d)", rc);
    return rc == SQLITE_ROW;
}

/* Runs SQL directly; returns the SQLite code and copies its error message. */
static inline int reg_exec(reg_fixture_t *f, const char *sql, char *err, size_t errlen)
{
    char *msg = NULL;
    int rc = sqlite3_exec(aduan_store_db(f->store), sql, NULL, NULL, &msg);
    if (err && errlen)
        snprintf(err, errlen, "%s", msg ? msg : "");
    sqlite3_free(msg);
    return rc;
}

static inline void reg_exec_ok(reg_fixture_t *f, const char *sql)
{
    char err[512];
    if (reg_exec(f, sql, err, sizeof err) != SQLITE_OK)
        fail_msg("%s: %s", sql, err);
}

#endif
