/*
 * Logging, after OpenBSD's log.c: one line per event, stderr in the
 * foreground, syslog otherwise.
 */
#ifndef ARBOR_LOG_H
#define ARBOR_LOG_H

#include <stdarg.h>

/* debug > 0 logs to stderr (debug > 1 also logs log_debug lines). */
void	log_init(int debug, int facility);
/*
 * 1 if a started daemon should log to stderr, 0 for syslog: stderr when
 * foreground is set (-d), when fd (stderr) is a terminal, or when it is
 * the systemd journal's stream (JOURNAL_STREAM names its device:inode).
 * Anything else (a file, a pipe, /dev/null, a closed descriptor) means
 * syslog.  errno is kept.
 */
int	log_want_stderr(int foreground, int fd);
/* Prefix for every line, e.g. "relay". */
void	log_procinit(const char *name);
void	log_setverbose(int v);
void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	fatal(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

#endif
