/*
 * The service manager's notification protocol (systemd's sd_notify): a
 * daemon started with NOTIFY_SOCKET set says READY=1 once it serves, and
 * WATCHDOG=1 at half of WATCHDOG_USEC from its loop, so that a loop that
 * stops turning gets the daemon restarted.  Without NOTIFY_SOCKET
 * nothing is sent and nothing is started.
 */
#ifndef ARBOR_NOTIFY_H
#define ARBOR_NOTIFY_H

#include <stdint.h>

#include <uv.h>

struct arb_notify;

/*
 * Send READY=1 to $NOTIFY_SOCKET and, when $WATCHDOG_USEC is set (and
 * $WATCHDOG_PID, if set, is this process), start a timer on loop that
 * sends WATCHDOG=1 at half of it.  The timer does not keep the loop
 * alive.  *np is NULL when there is no NOTIFY_SOCKET.  Returns 0, or a
 * negative ARB_E* code (a bad NOTIFY_SOCKET or WATCHDOG_USEC, which is
 * logged); a datagram that cannot be sent is logged and ignored.
 */
int	arb_notify_start(uv_loop_t *loop, struct arb_notify **np);
/*
 * Send STOPPING=1 (once, however often called), and, when extend_usec is
 * not 0, EXTEND_TIMEOUT_USEC: a daemon that winds down for longer than
 * the unit's stop timeout says how long, from now, it needs.  The
 * watchdog runs on.  NULL is ignored.
 */
void	arb_notify_stopping(struct arb_notify *n, uint64_t extend_usec);
/*
 * Send STOPPING=1 unless sent already, stop the watchdog and close the socket.  The memory
 * goes when the timer's close completes: the caller runs the loop
 * afterwards, as it does to close its other handles.  NULL is ignored.
 */
void	arb_notify_free(struct arb_notify *n);

#endif
