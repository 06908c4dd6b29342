/* The server's log (common/log.c): lines gathered while requests come fast are whole, in order,
 * and all written by the stop; a line after a quiet spell is written at once. stderr is pointed
 * at a file for the test. */
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "unit.h"

#define THREADS 4
#define LINES 20000

static char path[] = "/tmp/scoped-test-log-XXXXXX";

static void *writer(void *arg)
{
    long t = (long)(intptr_t)arg;
    for (long i = 0; i < LINES; i++)
        log_info("msg=line thread=%ld n=%ld pad=%s", t, i,
                 i % 97 ? "x" : "a longer line that crosses a buffer boundary now and then");
    return NULL;
}

static off_t size_of(int fd)
{
    struct stat st;
    return fstat(fd, &st) == 0 ? st.st_size : -1;
}

/* Lines with WHAT in the first UPTO bytes of FILE. */
static long count_lines(const char *file, off_t upto, const char *what)
{
    FILE *f = fopen(file, "r");
    long n = 0;
    char line[4096];
    while (f && ftello(f) < upto && fgets(line, sizeof line, f))
        n += strstr(line, what) != NULL;
    if (f)
        fclose(f);
    return n;
}

/* Every line starts with "ts=", ends with a newline, and each thread's numbers come in order. */
static void check_lines(const char *file)
{
    FILE *f = fopen(file, "r");
    CHECK(f != NULL);
    if (!f)
        return;
    long next[THREADS] = {0}, bad = 0, lines = 0, at = 0, last = 0, gathered = 0, warned = 0,
         tail = 0;
    char line[4096];
    while (fgets(line, sizeof line, f)) {
        long t, n;
        const char *m = strstr(line, "msg=line thread=");
        if (strncmp(line, "ts=", 3) || line[strlen(line) - 1] != '\n') {
            bad++;
            continue;
        }
        at++;
        last = strstr(line, "msg=last\n") ? at : last;
        gathered = strstr(line, "msg=gathered\n") ? at : gathered;
        warned = strstr(line, "msg=warned\n") ? at : warned;
        tail = strstr(line, "msg=tail\n") ? at : tail;
        if (!m)
            continue;
        lines++;
        if (sscanf(m, "msg=line thread=%ld n=%ld", &t, &n) != 2 || t < 0 || t >= THREADS ||
            n != next[t]++)
            bad++;
    }
    fclose(f);
    CHECK(bad == 0);
    CHECK(lines == (long)THREADS * LINES);
    CHECK(last > 0 && gathered > last && warned == gathered + 1 && tail == warned + 1);
}

static void run(void)
{
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    int saved = dup(STDERR_FILENO);
    dup2(fd, STDERR_FILENO);

    /* not batching: a line is on disk when log_msg returns */
    log_info("msg=first");
    off_t after_first = size_of(fd);
    CHECK(after_first > 0);

    CHECK(log_batch_start() == 0);
    struct timespec gap = {0, 20 * 1000000L};
    nanosleep(&gap, NULL);
    /* batching, after a quiet spell: written at once too */
    log_info("msg=lone");
    off_t after_lone = size_of(fd);
    CHECK(after_lone > after_first);
    /* a burst, then the stop at once: the stop writes what is gathered */
    pthread_t th[THREADS];
    for (long t = 0; t < THREADS; t++)
        pthread_create(&th[t], NULL, writer, (void *)(intptr_t)t);
    for (int t = 0; t < THREADS; t++)
        pthread_join(th[t], NULL);
    log_info("msg=last");
    log_batch_stop();
    off_t after_stop = size_of(fd);
    CHECK(count_lines(path, after_stop, "msg=line ") == (long)THREADS * LINES);
    CHECK(count_lines(path, after_stop, "msg=last\n") == 1);

    CHECK(log_batch_start() == 0);
    log_info("msg=quiet");
    log_info("msg=gathered");
    /* a warn line goes out at once, after what was gathered before it */
    log_warn("msg=warned");
    off_t after_warn = size_of(fd);
    CHECK(after_warn > after_stop);
    /* the last info line of a burst reaches the file within moments, with no line after it */
    log_info("msg=tail");
    CHECK(size_of(fd) == after_warn);
    nanosleep(&gap, NULL);
    CHECK(size_of(fd) > after_warn);
    log_batch_stop();

    dup2(saved, STDERR_FILENO);
    close(saved);
    close(fd);
    check_lines(path);
    FILE *f = fopen(path, "r");
    char text[256] = "";
    size_t n = f ? fread(text, 1, sizeof text - 1, f) : 0;
    text[n] = 0;
    if (f)
        fclose(f);
    CHECK(strstr(text, "msg=first\n") && strstr(text, "msg=lone\n"));
    unlink(path);
}

UNIT_MAIN("log", run())
