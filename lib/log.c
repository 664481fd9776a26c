/*
 * Logging for every Arbor program, after OpenBSD's log.c.  One line per
 * event.  In the foreground (log_init with debug > 0) lines go to stderr,
 * each prefixed with a UTC timestamp and the process name, and each written
 * with a single write(2) so that lines from several threads or processes
 * sharing the descriptor never interleave.  Otherwise lines go to syslog.
 * log_want_stderr is a daemon's rule for choosing between the two.
 *
 * Until log_init is called, lines go to stderr without debug lines, so that
 * library code and unit tests can log before a daemon has set things up.
 *
 * When stderr is the systemd journal's stream, the journal stamps each
 * line itself: lines then carry no timestamp of ours, and start with the
 * syslog priority as "<N>", which the journal takes as the line's level.
 */
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "arbor/io.h"
#include "arbor/log.h"

#define LOG_LINE_MAX	4096

static int	log_to_stderr = 1;
static int	log_verbose;
static int	log_journal;	/* stderr is the journal's stream */
static char	log_procname[64];

static int	log_is_journal(int);
static void	vlog(int, const char *, va_list)
		    __attribute__((format(printf, 2, 0)));
static void	vlog_errno(int, int, const char *, va_list)
		    __attribute__((format(printf, 3, 0)));

void
log_init(int debug, int facility)
{
	log_to_stderr = debug > 0;
	log_verbose = debug > 1;
	log_journal = log_to_stderr && log_is_journal(STDERR_FILENO);
	tzset();
	if (!log_to_stderr)
		openlog(NULL, LOG_PID | LOG_NDELAY, facility);
}

/* A decimal number and nothing else; 0 or -1. */
static int
log_parse_u64(const char *s, size_t len, unsigned long long *vp)
{
	char			 buf[24], *end;
	unsigned long long	 v;

	if (len == 0 || len >= sizeof(buf) || !isdigit((unsigned char)s[0]))
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	errno = 0;
	v = strtoull(buf, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	*vp = v;
	return 0;
}

/* fd is the journal's stream: systemd sets JOURNAL_STREAM=DEV:INODE. */
static int
log_is_journal(int fd)
{
	struct stat		 st;
	const char		*js, *colon;
	unsigned long long	 dev, ino;

	if ((js = getenv("JOURNAL_STREAM")) == NULL ||
	    (colon = strchr(js, ':')) == NULL ||
	    log_parse_u64(js, (size_t)(colon - js), &dev) != 0 ||
	    log_parse_u64(colon + 1, strlen(colon + 1), &ino) != 0 ||
	    fstat(fd, &st) == -1)
		return 0;
	return dev == (unsigned long long)st.st_dev &&
	    ino == (unsigned long long)st.st_ino;
}

int
log_want_stderr(int foreground, int fd)
{
	int	e = errno, want;

	want = foreground || isatty(fd) || log_is_journal(fd);
	errno = e;
	return want;
}

void
log_procinit(const char *name)
{
	if (name == NULL)
		log_procname[0] = '\0';
	else
		snprintf(log_procname, sizeof(log_procname), "%s", name);
}

void
log_setverbose(int v)
{
	log_verbose = v;
}

/*
 * The text for errno e without touching the shared buffer of strerror(3).
 */
static const char *
log_strerror(int e, char *buf, size_t len)
{
#if defined(__GLIBC__) && defined(_GNU_SOURCE)
	return strerror_r(e, buf, len);
#else
	if (strerror_r(e, buf, len) != 0)
		snprintf(buf, len, "error %d", e);
	return buf;
#endif
}

/*
 * Write one whole line to stderr with one write(2).  A line longer than the
 * buffer is truncated but still ends in a newline.
 */
static void
log_stderr(int pri, const char *msg)
{
	char		 line[LOG_LINE_MAX];
	struct timespec	 ts;
	struct tm	 tm;
	size_t		 n = 0, len, w;
	int		 r;

	if (log_journal) {
		r = snprintf(line, sizeof(line), "<%d>", LOG_PRI(pri));
		if (r > 0)
			n = (size_t)r;
	} else if (clock_gettime(CLOCK_REALTIME, &ts) == 0 &&
	    gmtime_r(&ts.tv_sec, &tm) != NULL) {
		n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
		r = snprintf(line + n, sizeof(line) - n, ".%03ldZ ",
		    ts.tv_nsec / 1000000L);
		if (r > 0)
			n += (size_t)r;
	}
	if (log_procname[0] != '\0')
		r = snprintf(line + n, sizeof(line) - n, "%s: %s",
		    log_procname, msg);
	else
		r = snprintf(line + n, sizeof(line) - n, "%s", msg);
	if (r < 0)
		return;
	len = n + (size_t)r;
	if (len > sizeof(line) - 2)
		len = sizeof(line) - 2;
	line[len++] = '\n';

	/* Retry only interruptions; a short write to a pipe is not undone. */
	(void)arb_io_write(STDERR_FILENO, line, len, &w);
}

static void
log_line(int pri, const char *msg)
{
	if (log_to_stderr)
		log_stderr(pri, msg);
	else if (log_procname[0] != '\0')
		syslog(pri, "%s: %s", log_procname, msg);
	else
		syslog(pri, "%s", msg);
}

static void
vlog(int pri, const char *fmt, va_list ap)
{
	char	msg[LOG_LINE_MAX];
	int	saved = errno;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	log_line(pri, msg);
	errno = saved;
}

/* Like vlog, followed by ": " and the text of errno e. */
static void
vlog_errno(int pri, int e, const char *fmt, va_list ap)
{
	char	msg[LOG_LINE_MAX], ebuf[128];
	size_t	n = 0;

	if (fmt != NULL && *fmt != '\0') {
		vsnprintf(msg, sizeof(msg), fmt, ap);
		n = strlen(msg);
		snprintf(msg + n, sizeof(msg) - n, ": %s",
		    log_strerror(e, ebuf, sizeof(ebuf)));
	} else
		snprintf(msg, sizeof(msg), "%s",
		    log_strerror(e, ebuf, sizeof(ebuf)));
	log_line(pri, msg);
	errno = e;
}

void
log_warn(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vlog_errno(LOG_ERR, errno, fmt, ap);
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vlog(LOG_ERR, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vlog(LOG_INFO, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list	ap;

	if (!log_verbose)
		return;
	va_start(ap, fmt);
	vlog(LOG_DEBUG, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list	ap;
	int	e = errno;

	va_start(ap, fmt);
	if (e != 0)
		vlog_errno(LOG_CRIT, e, fmt, ap);
	else
		vlog(LOG_CRIT, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vlog(LOG_CRIT, fmt, ap);
	va_end(ap);
	exit(1);
}
