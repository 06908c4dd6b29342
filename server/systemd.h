/* What scoped needs of systemd, without libsystemd: the notify protocol (a datagram to
 * $NOTIFY_SOCKET) for Type=notify and the watchdog, and socket activation (LISTEN_FDS). */
#ifndef SCOPED_SYSTEMD_H
#define SCOPED_SYSTEMD_H

#include <stdint.h>

/* Sends state ("READY=1", "STOPPING=1", "WATCHDOG=1", "STATUS=...") when systemd asked for
 * notifications; 0 also when it did not. */
int systemd_notify(const char *state);
/* The watchdog interval systemd wants pings within, in microseconds; 0 when none. */
uint64_t systemd_watchdog_usec(void);
/* The listening socket systemd passed (fd 3), or -1 when none was passed to this process.
 * Unsets the LISTEN_* variables so that no child inherits them. */
int systemd_listen_fd(void);

#endif
