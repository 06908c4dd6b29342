/* Logging to stderr: one line per event, "level=... msg=..." so journald and shippers parse it. */
#ifndef SCOPED_LOG_H
#define SCOPED_LOG_H

#include <stdbool.h>
#include <stddef.h>

enum { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

extern int log_level;
void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A line already formatted (no newline), for the hot paths that build theirs by hand. */
void log_text(int level, const char *text, size_t len);
bool log_enabled(int level);
/* The server gathers info lines that come close together (log.c); stop writes what is left. */
int log_batch_start(void);
void log_batch_stop(void);

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
