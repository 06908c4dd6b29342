#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int log_level = LOG_INFO;

/* While the server runs, info and debug lines that follow another write within BATCH_NS are
 * gathered and written together by the flusher BATCH_NS later: at tens of thousands of
 * requests a second, a write(2) per line cost more than answering the request. A line after a
 * quiet spell is written at once, warn and error lines always are (after what is gathered), and
 * the stop writes the rest. */
#define BATCH_NS (5 * 1000000LL)
#define BATCH_MAX (64 * 1024)

static struct {
    pthread_mutex_t mu;
    pthread_cond_t wake;
    pthread_t thread;
    atomic_bool on; /* read without the lock on every line */
    bool stopping;
    int64_t last_write;
    size_t len;
    char data[BATCH_MAX];
} batch = {.mu = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER};

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void write_all(const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(STDERR_FILENO, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        p += w;
        n -= (size_t)w;
    }
}

/* batch.mu held */
static void flush_locked(void)
{
    if (batch.len)
        write_all(batch.data, batch.len);
    batch.len = 0;
    batch.last_write = now_ns();
}

static void *flusher(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&batch.mu);
    while (!batch.stopping) {
        if (!batch.len) {
            pthread_cond_wait(&batch.wake, &batch.mu);
            continue;
        }
        pthread_mutex_unlock(&batch.mu);
        nanosleep(&(struct timespec){0, BATCH_NS}, NULL);
        pthread_mutex_lock(&batch.mu);
        flush_locked();
    }
    flush_locked();
    pthread_mutex_unlock(&batch.mu);
    return NULL;
}

int log_batch_start(void)
{
    pthread_mutex_lock(&batch.mu);
    batch.stopping = false;
    bool on = pthread_create(&batch.thread, NULL, flusher, NULL) == 0;
    atomic_store(&batch.on, on);
    pthread_mutex_unlock(&batch.mu);
    return on ? 0 : -1;
}

void log_batch_stop(void)
{
    pthread_mutex_lock(&batch.mu);
    bool on = atomic_exchange(&batch.on, false);
    batch.stopping = true;
    pthread_cond_signal(&batch.wake);
    pthread_mutex_unlock(&batch.mu);
    if (on)
        pthread_join(batch.thread, NULL);
}

static void emit(int level, const char *line, size_t n)
{
    if (!atomic_load_explicit(&batch.on, memory_order_relaxed)) {
        /* one write per line keeps concurrent threads' lines whole */
        write_all(line, n);
        return;
    }
    pthread_mutex_lock(&batch.mu);
    if (!atomic_load(&batch.on) || level <= LOG_WARN || n > BATCH_MAX) {
        flush_locked();
        write_all(line, n);
    } else if (!batch.len && now_ns() - batch.last_write >= BATCH_NS) {
        write_all(line, n);
        batch.last_write = now_ns();
    } else {
        if (batch.len + n > BATCH_MAX)
            flush_locked();
        if (!batch.len)
            pthread_cond_signal(&batch.wake);
        memcpy(batch.data + batch.len, line, n);
        batch.len += n;
    }
    pthread_mutex_unlock(&batch.mu);
}

/* "ts=...Z level=x " for the current second, formatted once per second per thread. */
static size_t stamp(char *out, size_t len, int level)
{
    static const char *names[] = {"error", "warn", "info", "debug"};
    static _Thread_local time_t sec = -1;
    static _Thread_local char prefix[64];
    static _Thread_local size_t prefix_len;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    if (ts.tv_sec != sec) {
        struct tm tm;
        gmtime_r(&ts.tv_sec, &tm);
        int n = snprintf(prefix, sizeof prefix, "ts=%04d-%02d-%02dT%02d:%02d:%02d.",
                         tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                         tm.tm_sec);
        prefix_len = n > 0 && (size_t)n < sizeof prefix ? (size_t)n : 0;
        sec = ts.tv_sec;
    }
    const char *name = names[level];
    size_t name_len = strlen(name);
    if (prefix_len + 3 + 8 + name_len + 1 > len)
        return 0;
    /* by hand: this runs for every request */
    char *p = out;
    memcpy(p, prefix, prefix_len);
    p += prefix_len;
    long ms = ts.tv_nsec / 1000000;
    *p++ = (char)('0' + ms / 100);
    *p++ = (char)('0' + ms / 10 % 10);
    *p++ = (char)('0' + ms % 10);
    memcpy(p, "Z level=", 8);
    p += 8;
    memcpy(p, name, name_len);
    p += name_len;
    *p++ = ' ';
    return (size_t)(p - out);
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
    emit(level, line, n);
}

void log_text(int level, const char *text, size_t len)
{
    if (level > log_level)
        return;
    char line[2048];
    size_t n = stamp(line, sizeof line - 1, level);
    if (len > sizeof line - 1 - n)
        len = sizeof line - 1 - n;
    memcpy(line + n, text, len);
    n += len;
    line[n++] = '\n';
    emit(level, line, n);
}

bool log_enabled(int level)
{
    return level <= log_level;
}
