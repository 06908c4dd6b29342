/* The configuration parser: conf/scoped.conf as shipped, and the mistakes an operator makes. */
#include <string.h>

#include "config.h"
#include "unit.h"

static int parse(config_t *c, const char *text, char *err, size_t errlen)
{
    config_defaults(c);
    err[0] = 0;
    return config_parse(c, text, strlen(text), "test.conf", err, errlen);
}

static void expect_error(const char *text, const char *want)
{
    config_t c;
    char err[512];
    int rc = parse(&c, text, err, sizeof err);
    CHECK(rc != 0);
    if (!strstr(err, want)) {
        fprintf(stderr, "config error for %s: got \"%s\", want it to contain \"%s\"\n", text, err,
                want);
        CHECK(0);
    }
}

/* The shipped file documents every key with its default: parsing it changes nothing. */
static void shipped_file_is_the_defaults(void)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/../../conf/scoped.conf", unit_captures_dir());
    config_t c, d;
    config_defaults(&d);
    config_defaults(&c);
    char err[512] = "";
    int rc = config_load(&c, path, err, sizeof err);
    if (rc != 0)
        fprintf(stderr, "%s\n", err);
    CHECK(rc == 0);
    CHECK(memcmp(&c, &d, sizeof c) == 0);
    CHECK(c.gc_interval_s == 24 * 3600 && c.gc_grace_s == 3600);
    CHECK(c.checkpoint_interval_s == 300 && c.shutdown_timeout_s == 30);
}

static void values_and_units(void)
{
    config_t c;
    char err[512];
    CHECK(parse(&c,
                "# a comment\n"
                "  listen = 0.0.0.0:8080   # trailing comment\n"
                "\n"
                "max_put_body = 2GiB\n"
                "max_json_body=512 KiB\n"
                "max_header_bytes = 32K\n"
                "idle_timeout = 2m\n"
                "pending_expiry = 2h\n"
                "gc_interval = 1d\n"
                "gc_grace = 90\n"
                "checkpoint_interval = 0\n"
                "shutdown_timeout = 5s\n"
                "max_connections = 10\r\n"
                "log_level = debug",
                err, sizeof err) == 0);
    CHECK_STR(c.listen, "0.0.0.0:8080");
    CHECK(c.lim.max_put_body == 2 * GIB);
    CHECK(c.lim.max_json_body == 512 * KIB);
    CHECK(c.lim.max_header_bytes == 32 * KIB);
    CHECK(c.lim.idle_timeout_s == 120);
    CHECK(c.lim.pending_expiry_s == 7200);
    CHECK(c.gc_interval_s == 86400);
    CHECK(c.gc_grace_s == 90);
    CHECK(c.checkpoint_interval_s == 0);
    CHECK(c.shutdown_timeout_s == 5);
    CHECK(c.lim.max_connections == 10);
    CHECK_STR(c.log_level, "debug");
    /* a key given twice: the last one counts */
    CHECK(parse(&c, "gc_grace = 1h\ngc_grace = 2h\n", err, sizeof err) == 0);
    CHECK(c.gc_grace_s == 7200);
    CHECK(parse(&c, "", err, sizeof err) == 0);
    /* storage: 0 keeps every blob a file */
    CHECK(c.inline_blob_max == 64 * KIB);
    CHECK(parse(&c, "inline_blob_max = 0\nworkers = 1024\n", err, sizeof err) == 0);
    CHECK(c.inline_blob_max == 0 && c.workers == 1024);
}

static void mistakes_name_the_line(void)
{
    expect_error("listen = 127.0.0.1:3000\nmax_conections = 5\n",
                 "test.conf:2: unknown key \"max_conections\"");
    expect_error("\n\n# c\nmax_put_body = lots\n", "test.conf:4: bad value \"lots\" for max_put_body");
    expect_error("max_put_body = 8TiB\n", "test.conf:1: bad value");
    expect_error("max_put_body = -1\n", "test.conf:1: bad value");
    expect_error("max_connections = 0\n", "test.conf:1: bad value \"0\" for max_connections");
    expect_error("max_connections = 10MiB\n", "test.conf:1: bad value");
    expect_error("idle_timeout = 10 minutes\n", "test.conf:1: bad value");
    expect_error("gc_grace = 0\n", "test.conf:1: bad value \"0\" for gc_grace (a positive duration");
    expect_error("gc_interval = -5m\n", "test.conf:1: bad value \"-5m\" for gc_interval (a duration such as 1h, or 0 for off)");
    expect_error("shutdown_timeout = \n", "test.conf:1: bad value");
    expect_error("max_fetch_ids = 99999999999999999999999\n", "test.conf:1: bad value");
    expect_error("max_put_body = 18446744073709551615GiB\n", "test.conf:1: bad value");
    expect_error("ok\n", "test.conf:1: expected \"key = value\"");
    expect_error("listen =\n", "test.conf:1: bad value for listen");
    expect_error("log_level = loud\n", "log_level must be error, warn, info or debug");
    expect_error("workers = 1025\n", "workers must be at most 1024");
    expect_error("inline_blob_max = 17MiB\n", "inline_blob_max must be at most 16MiB");
    char longline[6000];
    memset(longline, 'a', sizeof longline - 1);
    longline[sizeof longline - 1] = 0;
    expect_error(longline, "test.conf:1: line too long");
}

static void missing_file(void)
{
    config_t c;
    config_defaults(&c);
    char err[512];
    CHECK(config_load(&c, "/nonexistent/scoped.conf", err, sizeof err) != 0);
    CHECK(strstr(err, "/nonexistent/scoped.conf") != NULL);
}

UNIT_MAIN("config", {
    shipped_file_is_the_defaults();
    values_and_units();
    mistakes_name_the_line();
    missing_file();
})
