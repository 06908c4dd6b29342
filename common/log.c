#include "log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

int log_level = LOG_INFO;

/* "ts=...Z level=x " for the current second, formatted once per second per thread. */
static size_t stamp(char *out, size_t len, int level)
{
    static const char *names[] = {"error", "warn", "info", "debug"};
    static _Thread_local time_t sec = -1;
    static _Thread_local char prefix[64];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    if (ts.tv_sec != sec) {
        struct tm tm;
        gmtime_r(&ts.tv_sec, &tm);
        snprintf(prefix, sizeof prefix, "ts=%04d-%02d-%02dT%02d:%02d:%02d.", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
        sec = ts.tv_sec;
    }
    int n = snprintf(out, len, "%s%03ldZ level=%s ", prefix, ts.tv_nsec / 1000000, names[level]);
    return n > 0 && (size_t)n < len ? (size_t)n : 0;
}

void log_msg(int level, const char *fmt, ...)
{
    if (level > log_level)
        return;
    char line[2048];
    size_t n = stamp(line, sizeof line - 1, level);
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof line - 1 - n, fmt, ap);
    va_end(ap);
    if (m > 0)
        n += (size_t)m < sizeof line - 1 - n ? (size_t)m : sizeof line - 2 - n;
    line[n++] = '\n';
    /* one write per line keeps concurrent threads' lines whole */
    ssize_t w = write(STDERR_FILENO, line, n);
    (void)w;
}
