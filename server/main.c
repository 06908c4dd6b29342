/* scoped [--config FILE] [--data DIR] COMMAND ...: the daemon and its admin commands. */
#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "accounts.h"
#include "app.h"
#include "cmd_ops.h"
#include "log.h"
#include "model.h"

static void usage(FILE *f)
{
    fputs("usage: scoped [--config FILE] [--data DIR] COMMAND ...\n"
          "commands:\n"
          "  serve [--listen ADDR:PORT]     run the daemon in the foreground\n"
          "  scope create NAME [--public]   create a scope (private unless --public)\n"
          "  scope list                     one scope per line\n"
          "  user add NAME [--admin] [--password-stdin]\n"
          "                                 create a user; the password is stdin's first line\n"
          "  token create USER [--name LABEL] [--expires DAYS]\n"
          "                                 print a new API token for USER, once\n"
          "  token list [USER]              ID USER LABEL CREATED EXPIRES LAST_USED, tab-separated\n"
          "  token revoke ID                revoke a token by its ID\n"
          "  member add SCOPE USER ROLE     ROLE: admin, developer, viewer (or none to remove)\n"
          "  audit [--limit N]              who exported or changed access, newest first\n"
          "  fsck [--repair]                verify every blob and index row; --repair quarantines\n"
          "  gc                             delete unreferenced blobs and expired pending exports\n"
          "  backup FILE                    a consistent online backup of index and blobs (zstd)\n"
          "  restore FILE                   restore a backup into an empty data directory\n",
          f);
}

static int fail(const char *fmt, const char *arg)
{
    fputs("scoped: ", stderr);
    fprintf(stderr, fmt, arg);
    fputc('\n', stderr);
    return 1;
}

/* With no users yet, the first start creates "admin" with a random password, written to a file
 * only root and the daemon can read: a secret never goes to the log. */
static int first_run(app_t *app)
{
    store_t st = app_store(app);
    int64_t users;
    if (index_user_count(st.ix, &users) != 0)
        return fail("%s", "cannot read users");
    if (users > 0)
        return 0;
    unsigned char raw[18];
    char password[32];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2base64(password, sizeof password, raw, sizeof raw,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    char path[4200];
    snprintf(path, sizeof path, "%s/initial-admin-password", app->cfg.data_dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || dprintf(fd, "%s\n", password) < 0 || fsync(fd) != 0) {
        if (fd >= 0)
            close(fd);
        return fail("cannot write %s", path);
    }
    close(fd);
    identity_t op = accounts_operator();
    err_t err;
    err_init(&err);
    int rc = accounts_user_add(&st, &op, "first-run", "admin", password, true, &err);
    sodium_memzero(password, sizeof password);
    if (rc != 0)
        return fail("%s", err.msg);
    log_warn("msg=\"first run: created server admin 'admin'; its password is in %s. Sign in, "
             "create your own accounts, then delete that file\"",
             path);
    return 0;
}

static int cmd_serve(app_t *app, int argc, char **argv)
{
    const char *listen = app->cfg.listen;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--listen") && i + 1 < argc)
            listen = argv[++i];
        else
            return fail("serve: unknown option %s", argv[i]);
    }
    if (first_run(app) != 0)
        return 1;
    return http_serve(app, listen);
}

static void print_time(int64_t t)
{
    if (!t) {
        fputs("-", stdout);
        return;
    }
    char buf[32];
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    fputs(buf, stdout);
}

/* Reads one line (the password) from stdin, without its newline. */
static int read_password(char *out, size_t outlen)
{
    if (!fgets(out, (int)outlen, stdin))
        return -1;
    size_t n = strlen(out);
    while (n && (out[n - 1] == '\n' || out[n - 1] == '\r'))
        out[--n] = 0;
    return n ? 0 : -1;
}

static int cmd_user(app_t *app, int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[0], "add")) {
        usage(stderr);
        return 2;
    }
    bool admin = false, from_stdin = false;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--admin"))
            admin = true;
        else if (!strcmp(argv[i], "--password-stdin"))
            from_stdin = true;
        else
            return fail("user add: unknown option %s", argv[i]);
    }
    char password[1100] = "";
    if (from_stdin && read_password(password, sizeof password) != 0)
        return fail("%s", "user add: no password on stdin");
    store_t st = app_store(app);
    identity_t op = accounts_operator();
    err_t err;
    err_init(&err);
    int rc = accounts_user_add(&st, &op, "cli", argv[1], from_stdin ? password : NULL, admin, &err);
    sodium_memzero(password, sizeof password);
    return rc == 0 ? 0 : fail("%s", err.msg);
}

static int print_token(void *ctx, const token_row_t *t)
{
    (void)ctx;
    printf("%lld\t%s\t%s\t", (long long)t->id, t->user, t->label[0] ? t->label : "-");
    print_time(t->created_at);
    putchar('\t');
    if (t->revoked_at)
        fputs("revoked", stdout);
    else
        print_time(t->expires_at);
    putchar('\t');
    print_time(t->last_used);
    putchar('\n');
    return 0;
}

static int cmd_token(app_t *app, int argc, char **argv)
{
    store_t st = app_store(app);
    identity_t op = accounts_operator();
    err_t err;
    err_init(&err);
    if (argc >= 2 && !strcmp(argv[0], "create")) {
        const char *label = "";
        long long days = 0;
        for (int i = 2; i < argc; i++) {
            if (!strcmp(argv[i], "--name") && i + 1 < argc) {
                label = argv[++i];
            } else if (!strcmp(argv[i], "--expires") && i + 1 < argc) {
                char *end;
                days = strtoll(argv[++i], &end, 10);
                if (*end || days <= 0)
                    return fail("token create: --expires takes a positive number of days, not %s",
                                argv[i]);
            } else {
                return fail("token create: unknown option %s", argv[i]);
            }
        }
        char text[TOKEN_TEXT_MAX];
        int64_t id;
        if (accounts_token_create(&st, &op, "cli", argv[1], label, days, text, &id, &err) != 0)
            return fail("%s", err.msg);
        printf("%s\n", text);
        sodium_memzero(text, sizeof text);
        return 0;
    }
    if (argc >= 1 && argc <= 2 && !strcmp(argv[0], "list")) {
        int64_t uid = 0;
        if (argc == 2) {
            user_row_t u;
            if (index_user_get(st.ix, argv[1], &u) != 0)
                return fail("token list: no user %s", argv[1]);
            uid = u.id;
        }
        return index_token_each(st.ix, uid, print_token, NULL) == 0 ? 0
                                                                    : fail("%s", "cannot list tokens");
    }
    if (argc == 2 && !strcmp(argv[0], "revoke")) {
        char *end;
        long long id = strtoll(argv[1], &end, 10);
        if (*end || id <= 0)
            return fail("token revoke: %s is not a token ID", argv[1]);
        return accounts_token_revoke(&st, &op, "cli", id, &err) == 0 ? 0 : fail("%s", err.msg);
    }
    usage(stderr);
    return 2;
}

static int cmd_member(app_t *app, int argc, char **argv)
{
    if (argc != 4 || strcmp(argv[0], "add")) {
        usage(stderr);
        return 2;
    }
    store_t st = app_store(app);
    identity_t op = accounts_operator();
    err_t err;
    err_init(&err);
    return accounts_member_set(&st, &op, "cli", argv[1], argv[2], argv[3], &err) == 0
               ? 0
               : fail("%s", err.msg);
}

static int print_audit(void *ctx, const audit_row_t *a)
{
    (void)ctx;
    print_time(a->at);
    printf("\t%s\t%s\t%s\t%s\t%s\n", a->actor, a->address, a->action, a->scope[0] ? a->scope : "-",
           a->detail[0] ? a->detail : "-");
    return 0;
}

static int cmd_audit(app_t *app, int argc, char **argv)
{
    long long limit = 100;
    if (argc == 2 && !strcmp(argv[0], "--limit"))
        limit = strtoll(argv[1], NULL, 10);
    else if (argc != 0) {
        usage(stderr);
        return 2;
    }
    store_t st = app_store(app);
    return index_audit_each(st.ix, limit > 0 ? limit : 100, print_audit, NULL) == 0
               ? 0
               : fail("%s", "cannot read the audit log");
}

static int print_scope(void *ctx, const scope_row_t *s)
{
    (void)ctx;
    printf("%s\n", s->name);
    return 0;
}

static int cmd_scope(app_t *app, int argc, char **argv)
{
    store_t st = app_store(app);
    if (argc >= 1 && !strcmp(argv[0], "list") && argc == 1)
        return index_scope_each(st.ix, print_scope, NULL) == 0 ? 0 : fail("%s", "cannot list scopes");
    if (argc >= 2 && !strcmp(argv[0], "create")) {
        bool pub = false;
        for (int i = 2; i < argc; i++) {
            if (!strcmp(argv[i], "--public"))
                pub = true;
            else
                return fail("scope create: unknown option %s", argv[i]);
        }
        err_t err;
        err_init(&err);
        identity_t op = accounts_operator();
        return accounts_scope_create(&st, &op, "cli", argv[1], pub, &err) == 0 ? 0
                                                                               : fail("%s", err.msg);
    }
    usage(stderr);
    return 2;
}

int main(int argc, char **argv)
{
    /* threads' malloc arenas grow a megabyte at a time instead of a page per mprotect call */
    mallopt(M_TOP_PAD, 1 << 20);
    app_t app;
    memset(&app, 0, sizeof app);
    config_defaults(&app.cfg);
    const char *config = NULL, *data = NULL;
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (!strcmp(argv[i], "--config") && i + 1 < argc)
            config = argv[++i];
        else if (!strcmp(argv[i], "--data") && i + 1 < argc)
            data = argv[++i];
        else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (i >= argc) {
        usage(stderr);
        return 2;
    }
    char err_text[1024];
    if (config && config_load(&app.cfg, config, err_text, sizeof err_text) != 0)
        return fail("%s", err_text);
    if (data)
        snprintf(app.cfg.data_dir, sizeof app.cfg.data_dir, "%s", data);
    static const char *const levels[] = {"error", "warn", "info", "debug"};
    for (int l = 0; l < 4; l++)
        if (!strcmp(app.cfg.log_level, levels[l]))
            log_level = l;
    static const struct {
        const char *name;
        int (*fn)(app_t *, int, char **);
    } commands[] = {{"serve", cmd_serve}, {"scope", cmd_scope},   {"user", cmd_user},
                    {"token", cmd_token}, {"member", cmd_member}, {"audit", cmd_audit},
                    {"fsck", cmd_fsck},   {"gc", cmd_gc},         {"backup", cmd_backup},
                    {"restore", cmd_restore}};
    const char *cmd = argv[i];
    int (*fn)(app_t *, int, char **) = NULL;
    for (size_t c = 0; c < sizeof commands / sizeof commands[0]; c++)
        if (!strcmp(cmd, commands[c].name))
            fn = commands[c].fn;
    if (!fn) {
        usage(stderr);
        return 2;
    }
    if (strcmp(cmd, "serve"))
        log_level = LOG_WARN; /* admin commands print only what they were asked for */
    if (fn == cmd_restore)
        return cmd_restore(&app, argc - i - 1, argv + i + 1);
    err_t err;
    err_init(&err);
    if (app_open(&app, &err) != 0) {
        app_close(&app);
        return fail("%s", err.msg);
    }
    int rc = fn(&app, argc - i - 1, argv + i + 1);
    app_close(&app);
    return rc;
}
