/* scoped [--config FILE] [--data DIR] COMMAND ...: the daemon and its admin commands. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "log.h"
#include "model.h"

static void usage(FILE *f)
{
    fputs("usage: scoped [--config FILE] [--data DIR] COMMAND ...\n"
          "commands:\n"
          "  serve [--listen ADDR:PORT]     run the daemon in the foreground\n"
          "  scope create NAME [--public]   create a scope (private unless --public)\n"
          "  scope list                     one scope per line\n",
          f);
}

static int fail(const char *fmt, const char *arg)
{
    fputs("scoped: ", stderr);
    fprintf(stderr, fmt, arg);
    fputc('\n', stderr);
    return 1;
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
    return http_serve(app, listen);
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
        int rc = store_scope_create(&st, argv[1], pub, &err);
        if (rc == 1)
            return fail("scope %s exists already", argv[1]);
        if (rc != 0)
            return fail("%s", err.msg);
        return 0;
    }
    usage(stderr);
    return 2;
}

int main(int argc, char **argv)
{
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
    const char *cmd = argv[i];
    if (strcmp(cmd, "serve") && strcmp(cmd, "scope")) {
        usage(stderr);
        return 2;
    }
    if (strcmp(cmd, "serve"))
        log_level = LOG_WARN; /* admin commands print only what they were asked for */
    err_t err;
    err_init(&err);
    if (app_open(&app, &err) != 0) {
        app_close(&app);
        return fail("%s", err.msg);
    }
    int rc;
    if (!strcmp(cmd, "serve"))
        rc = cmd_serve(&app, argc - i - 1, argv + i + 1);
    else
        rc = cmd_scope(&app, argc - i - 1, argv + i + 1);
    app_close(&app);
    return rc;
}
