#include "systemd.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define LISTEN_FDS_START 3

int systemd_notify(const char *state)
{
    const char *path = getenv("NOTIFY_SOCKET");
    if (!path || !*path)
        return 0;
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    size_t len = strlen(path);
    if ((path[0] != '/' && path[0] != '@') || len >= sizeof sa.sun_path)
        return -1;
    memcpy(sa.sun_path, path, len);
    if (path[0] == '@')
        sa.sun_path[0] = 0; /* an abstract socket */
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    ssize_t n = sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa,
                       (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len));
    close(fd);
    return n == (ssize_t)strlen(state) ? 0 : -1;
}

static bool env_number(const char *name, unsigned long long *out)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return false;
    char *end;
    errno = 0;
    *out = strtoull(v, &end, 10);
    return !errno && !*end;
}

uint64_t systemd_watchdog_usec(void)
{
    unsigned long long usec, pid;
    if (!env_number("WATCHDOG_USEC", &usec))
        return 0;
    /* WATCHDOG_PID, when set, names the process the watchdog is for */
    if (env_number("WATCHDOG_PID", &pid) && pid != (unsigned long long)getpid())
        return 0;
    return usec;
}

int systemd_listen_fd(void)
{
    unsigned long long pid, n;
    bool ours = env_number("LISTEN_PID", &pid) && pid == (unsigned long long)getpid() &&
                env_number("LISTEN_FDS", &n) && n >= 1;
    unsetenv("LISTEN_PID");
    unsetenv("LISTEN_FDS");
    unsetenv("LISTEN_FDNAMES");
    if (!ours)
        return -1;
    /* scoped.socket passes one socket; more would be ignored, never served by accident */
    int fd = LISTEN_FDS_START;
    int flags = fcntl(fd, F_GETFD);
    if (flags < 0)
        return -1;
    fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
    return fd;
}
