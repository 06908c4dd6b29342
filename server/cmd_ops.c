/* The operator's commands: fsck, gc, backup, restore. Each prints what it did on stdout and,
 * when it fails, one line on stderr. */
#include "cmd_ops.h"

#include <stdio.h>
#include <string.h>

#include "backup.h"
#include "fsck.h"
#include "gc.h"

static int fail(const char *what, const char *msg)
{
    fprintf(stderr, "scoped: %s: %s\n", what, msg);
    return 1;
}

int cmd_fsck(app_t *app, int argc, char **argv)
{
    bool repair = false;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--repair"))
            repair = true;
        else
            return fail("fsck", "unknown option (only --repair)");
    }
    char quarantine[4200];
    snprintf(quarantine, sizeof quarantine, "%s/quarantine", app->cfg.data_dir);
    store_t st = app_store(app);
    fsck_report_t rep;
    err_t err;
    err_init(&err);
    if (fsck_run(&st, repair ? quarantine : NULL, stdout, &rep, &err) != 0)
        return fail("fsck", err.msg);
    printf("fsck: %llu blobs, %llu objects, %llu pending objects, %llu components, %llu tags, "
           "%llu lanes checked: ",
           (unsigned long long)rep.blobs, (unsigned long long)rep.objects,
           (unsigned long long)rep.pending_objects, (unsigned long long)rep.components,
           (unsigned long long)rep.tags, (unsigned long long)rep.lanes);
    if (!rep.problems) {
        printf("no damage\n");
        return 0;
    }
    printf("%llu problems, %llu damaged blobs", (unsigned long long)rep.problems,
           (unsigned long long)rep.damaged_blobs);
    if (repair)
        printf(", %llu quarantined in %s", (unsigned long long)rep.quarantined, quarantine);
    printf("\n");
    fflush(stdout);
    fprintf(stderr, "scoped: fsck: %llu problems found%s\n", (unsigned long long)rep.problems,
            repair ? "; the objects listed above need a restore from backup or a new export"
                   : "; run scoped fsck --repair to quarantine damaged blobs");
    return 1;
}

int cmd_gc(app_t *app, int argc, char **argv)
{
    (void)argv;
    if (argc != 0)
        return fail("gc", "takes no arguments (gc_grace and pending_expiry come from the config)");
    store_t st = app_store(app);
    gc_stats_t s;
    err_t err;
    err_init(&err);
    if (gc_run(&st, app->cfg.gc_grace_s, app->cfg.lim.pending_expiry_s, &s, &err) != 0)
        return fail("gc", err.msg);
    printf("gc: %llu blobs seen, %llu deleted (%llu bytes), %lld pending exports expired, "
           "%llu temp files removed\n",
           (unsigned long long)s.blobs_seen, (unsigned long long)s.blobs_deleted,
           (unsigned long long)s.bytes_freed, (long long)s.pending_expired,
           (unsigned long long)s.tmp_removed);
    return 0;
}

int cmd_backup(app_t *app, int argc, char **argv)
{
    if (argc != 1)
        return fail("backup", "usage: scoped backup FILE");
    store_t st = app_store(app);
    backup_stats_t s;
    err_t err;
    err_init(&err);
    if (backup_write(&st, argv[0], &s, &err) != 0)
        return fail("backup", err.msg);
    printf("backup: %s: index (schema %d) and %llu blobs, %llu bytes, %llu compressed",
           argv[0], s.schema, (unsigned long long)s.blobs, (unsigned long long)s.bytes,
           (unsigned long long)s.archive_bytes);
    if (s.pending_dropped)
        printf(", %lld expired pending exports left out", (long long)s.pending_dropped);
    printf("\n");
    return 0;
}

/* Runs before the data directory is opened: it must still be empty. */
int cmd_restore(app_t *app, int argc, char **argv)
{
    if (argc != 1)
        return fail("restore", "usage: scoped --data DIR restore FILE");
    backup_stats_t s;
    err_t err;
    err_init(&err);
    if (backup_restore(argv[0], app->cfg.data_dir, &app->cfg.lim, &s, &err) != 0)
        return fail("restore", err.msg);
    /* an older backup's schema is migrated forward here, as a start of the daemon would */
    int rc = app_open(app, &err);
    app_close(app);
    if (rc != 0)
        return fail("restore", err.msg);
    printf("restore: %s into %s: index (schema %d) and %llu blobs, every checksum verified\n",
           argv[0], app->cfg.data_dir, s.schema, (unsigned long long)s.blobs);
    return 0;
}
