/* scoped fsck [--repair], gc, backup FILE, restore FILE: the commands of server/cmd_ops.c. */
#ifndef SCOPED_CMD_OPS_H
#define SCOPED_CMD_OPS_H

#include "app.h"

int cmd_fsck(app_t *app, int argc, char **argv);
int cmd_gc(app_t *app, int argc, char **argv);
int cmd_backup(app_t *app, int argc, char **argv);
/* Must run before app_open: the data directory has to be empty. */
int cmd_restore(app_t *app, int argc, char **argv);

#endif
