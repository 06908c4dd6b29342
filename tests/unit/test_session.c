/* Browser sessions (common/session.c) on a real index: a session identifies its user until it
 * expires or ends, only its hash is stored, and CSRF tokens are tied to the secret and purpose. */
#include <sqlite3.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "session.h"
#include "unit.h"

static void test_sessions(index_t *ix, const char *db_path)
{
    int64_t uid;
    CHECK(index_user_create(ix, "alice", NULL, false, 1, &uid) == 0);
    identity_t alice = {.authenticated = true, .user_id = uid};
    snprintf(alice.user, sizeof alice.user, "alice");

    char text[SESSION_TEXT_MAX], other[SESSION_TEXT_MAX];
    CHECK(session_create(ix, &alice, 3600, text) == 0);
    CHECK(session_create(ix, &alice, 3600, other) == 0);
    CHECK(strncmp(text, "scs_", 4) == 0 && strlen(text) == 47 && strcmp(text, other) != 0);

    identity_t who;
    CHECK(session_identify(ix, text, &who) == 0 && who.authenticated && who.user_id == uid);
    CHECK_STR(who.user, "alice");
    CHECK(!who.is_admin);

    /* what is stored is the hash, never the secret */
    sqlite3 *db;
    CHECK(sqlite3_open(db_path, &db) == SQLITE_OK);
    sqlite3_stmt *st;
    CHECK(sqlite3_prepare_v2(db, "SELECT count(*) FROM sessions WHERE hash = ?1", -1, &st, NULL) ==
          SQLITE_OK);
    char hash[BLOB_HEX];
    auth_token_hash(text, hash);
    sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC);
    CHECK(sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) == 0);
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
    CHECK(sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) == 1);
    sqlite3_finalize(st);
    sqlite3_close(db);

    /* not ours, altered, too long: anonymous, and no index lookup is needed to say so */
    const char *bad[] = {"", "scs_", "scs_short", "tok_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                         "scs_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                         "scs_aaaaaaaaaaaaaaaaaaaaaaa'; DROP TABLE sessions; --aaaaaaaaaa"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK(session_identify(ix, bad[i], &who) == 0 && !who.authenticated);
    }
    CHECK(session_identify(ix, NULL, &who) == 0 && !who.authenticated);

    /* ended: gone; the other session of the same user lives on */
    CHECK(session_end(ix, text) == 0);
    CHECK(session_identify(ix, text, &who) == 0 && !who.authenticated);
    CHECK(session_identify(ix, other, &who) == 0 && who.authenticated);

    /* expired: refused at once, and removed by the expiry sweep */
    char brief[SESSION_TEXT_MAX];
    CHECK(session_create(ix, &alice, 1, brief) == 0);
    CHECK(session_identify(ix, brief, &who) == 0 && who.authenticated);
    sleep(2);
    CHECK(session_identify(ix, brief, &who) == 0 && !who.authenticated);
    int64_t n = 0;
    CHECK(index_session_expire(ix, (int64_t)time(NULL), &n) == 0 && n == 1);
    CHECK(session_identify(ix, other, &who) == 0 && who.authenticated);
}

static void test_csrf(void)
{
    char a[SESSION_TEXT_MAX], b[SESSION_TEXT_MAX], ta[CSRF_TEXT_MAX], ta2[CSRF_TEXT_MAX],
        tb[CSRF_TEXT_MAX], tp[CSRF_TEXT_MAX];
    session_nonce(a);
    session_nonce(b);
    session_csrf(a, "session", ta);
    session_csrf(a, "session", ta2);
    session_csrf(b, "session", tb);
    session_csrf(a, "signin", tp);
    CHECK(strlen(ta) == 64 && strcmp(ta, ta2) == 0);
    CHECK(strcmp(ta, tb) != 0 && strcmp(ta, tp) != 0);
    CHECK(strstr(ta, a + 4) == NULL);
    CHECK(session_csrf_ok(a, "session", ta));
    CHECK(!session_csrf_ok(b, "session", ta));
    CHECK(!session_csrf_ok(a, "signin", ta));
    CHECK(!session_csrf_ok(a, "session", NULL));
    CHECK(!session_csrf_ok(a, "session", ""));
    CHECK(!session_csrf_ok(NULL, "session", ta));
    char cut[CSRF_TEXT_MAX];
    snprintf(cut, sizeof cut, "%.63s", ta);
    CHECK(!session_csrf_ok(a, "session", cut));
    ta2[10] = ta2[10] == 'a' ? 'b' : 'a';
    CHECK(!session_csrf_ok(a, "session", ta2));
}

int main(void)
{
    log_level = LOG_WARN;
    char dir[] = "/tmp/scoped-unit-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    char path[256];
    snprintf(path, sizeof path, "%s/index.db", dir);
    err_t err;
    err_init(&err);
    index_t *ix = index_open(path, &err);
    CHECK(ix && index_migrate(ix, &err) == 0);
    if (ix)
        test_sessions(ix, path);
    test_csrf();
    index_close(ix);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        unit_failed++;
    printf("session: %d passed, %d failed\n", unit_passed, unit_failed);
    return unit_failed ? 1 : 0;
}
