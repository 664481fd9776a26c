/*
 * arborctl status: the counts by state of each policy and the root's
 * totals, once (as text or JSON) or, with --watch, until stopped or
 * complete: redrawn as bars on a terminal, a line per change otherwise.
 */
#include <sys/ioctl.h>
#include <sys/time.h>

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "arbor/error.h"
#include "arbor/policy.h"
#include "arbor/report.h"
#include "arbor/wire.h"
#include "arborctl.h"

#define CTL_WATCH_MS		200	/* --watch period, ms */
#define CTL_WATCH_TIMEOUT	600	/* --until-complete: default, s */
#define CTL_EXIT_TIMEOUT	3
#define CTL_BAR_WIDTH		30

/* Wall-clock milliseconds as ISO 8601 with milliseconds, or "never". */
static void
ctl_time_ms(int64_t ms, char *out, size_t outlen)
{
	struct tm	tm;
	time_t		tt = (time_t)(ms / 1000);
	char		s[32];

	if (ms <= 0) {
		snprintf(out, outlen, "never");
		return;
	}
	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
		snprintf(out, outlen, "%" PRId64 " ms", ms);
		return;
	}
	snprintf(out, outlen, "%s.%03dZ", s, (int)(ms % 1000));
}

static int64_t
ctl_mono_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
ctl_sleep_ms(int64_t ms)
{
	struct timespec	ts;

	if (ms <= 0)
		return;
	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)(ms % 1000) * 1000000;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}


/* ---- status */

struct ctl_status {
	const char	*id;		/* one policy, or NULL for all */
	int		 as_json;
	int		 watch;
	int		 until;		/* --until-complete */
	int		 timeout;	/* s; 0: none */
};

static uint32_t
ctl_count(const Arbor__PolicyCounts *pc, unsigned st)
{
	return st < pc->n_counts ? pc->counts[st] : 0;
}

/* 1 for the states a policy rests in on an endpoint. */
static int
ctl_state_done(unsigned st)
{
	switch (st) {
	case ARB_ST_FIXED:
	case ARB_ST_FAILED:
	case ARB_ST_NOT_APPLICABLE:
	case ARB_ST_REBOOT_PENDING:
	case ARB_ST_ROLLED_BACK:
	case ARB_ST_ERROR:
		return 1;
	default:
		return 0;
	}
}

static uint64_t
ctl_count_done(const Arbor__PolicyCounts *pc, uint64_t *reportingp)
{
	uint64_t	done = 0, all = 0;
	unsigned	i;

	for (i = 0; i < ARB_ST_COUNT; i++) {
		all += ctl_count(pc, i);
		if (ctl_state_done(i))
			done += ctl_count(pc, i);
	}
	if (reportingp != NULL)
		*reportingp = all;
	return done;
}

static int
ctl_cmp_counts(const void *a, const void *b)
{
	const Arbor__PolicyCounts *const *x = a, *const *y = b;

	return strcmp((*x)->policy_id, (*y)->policy_id);
}

/* Ask for the status, policies sorted by id; 0, or 1 after a message. */
static int
ctl_get_status(const struct ctl *c, const char *id, Arbor__Envelope **repp)
{
	Arbor__Envelope		 req = ARBOR__ENVELOPE__INIT;
	Arbor__GetStatus	 gs = ARBOR__GET_STATUS__INIT;
	Arbor__Envelope		*rep;
	Arbor__StatusReply	*sr;

	if (id != NULL)
		gs.policy_id = (char *)id;
	req.body_case = ARBOR__ENVELOPE__BODY_GET_STATUS;
	req.get_status = &gs;
	if (ctl_call(c, &req, ARBOR__ENVELOPE__BODY_STATUS_REPLY, &rep) != 0)
		return 1;
	sr = rep->status_reply;
	if (sr->n_policies > 1)
		qsort(sr->policies, sr->n_policies, sizeof(*sr->policies),
		    ctl_cmp_counts);
	*repp = rep;
	return 0;
}

/* "ID vN: 8 fixed, 1 failed (9 reporting)" */
static void
ctl_status_line(const Arbor__PolicyCounts *pc, char *buf, size_t size)
{
	char		id[ARB_MAX_ID + 8];
	uint64_t	all;
	unsigned	i;
	int		first = 1;

	ctl_clean(pc->policy_id, ARB_MAX_ID, id, sizeof(id));
	buf[0] = '\0';
	ctl_cat(buf, size, "%s v%" PRIu32 ":", id, pc->version);
	for (i = 0; i < ARB_ST_COUNT; i++) {
		if (ctl_count(pc, i) == 0)
			continue;
		ctl_cat(buf, size, "%s %" PRIu32 " %s", first ? "" : ",",
		    ctl_count(pc, i), arb_state_name(i));
		first = 0;
	}
	(void)ctl_count_done(pc, &all);
	if (first)
		ctl_cat(buf, size, " no reports");
	else
		ctl_cat(buf, size, " (%" PRIu64 " reporting)", all);
}

/* "root: 12 endpoints enrolled; received ..." */
static void
ctl_summary_line(const Arbor__StatusReply *sr, char *buf, size_t size)
{
	char	t[48];

	ctl_time_ms(sr->last_report_at_ms, t, sizeof(t));
	snprintf(buf, size, "root: %" PRIu64 " endpoint%s enrolled; "
	    "received %" PRIu64 " report%s in %" PRIu64 " batch%s "
	    "(%" PRIu64 " rejected); last report %s; head seq %" PRIu64,
	    sr->endpoints, sr->endpoints == 1 ? "" : "s",
	    sr->reports, sr->reports == 1 ? "" : "s",
	    sr->batches, sr->batches == 1 ? "" : "es",
	    sr->rejected, t, sr->head_seq);
}

static int
ctl_status_json(const struct ctl *c, const Arbor__StatusReply *sr)
{
	json_t		*doc, *pols, *counts, *o;
	size_t		 i;
	uint32_t	 n;
	unsigned	 st;

	doc = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
	    "head_seq", (json_int_t)sr->head_seq,
	    "endpoints", (json_int_t)sr->endpoints,
	    "batches", (json_int_t)sr->batches,
	    "reports", (json_int_t)sr->reports,
	    "accepted", (json_int_t)sr->accepted,
	    "rejected", (json_int_t)sr->rejected,
	    "last_report_at_ms", (json_int_t)sr->last_report_at_ms,
	    "bytes_served", (json_int_t)sr->bytes_served,
	    "report_bytes", (json_int_t)sr->report_bytes,
	    "requests", (json_int_t)sr->requests);
	if (doc == NULL || (pols = json_array()) == NULL ||
	    json_object_set_new(doc, "policies", pols) != 0)
		goto nomem;
	for (i = 0; i < sr->n_policies; i++) {
		if ((counts = json_object()) == NULL)
			goto nomem;
		for (st = 0; st < ARB_ST_COUNT; st++) {
			n = ctl_count(sr->policies[i], st);
			if (json_object_set_new(counts, arb_state_name(st),
			    json_integer(n)) != 0) {
				json_decref(counts);
				goto nomem;
			}
		}
		o = json_pack("{s:s, s:I, s:o}", "id",
		    sr->policies[i]->policy_id, "version",
		    (json_int_t)sr->policies[i]->version, "counts", counts);
		if (o == NULL || json_array_append_new(pols, o) != 0)
			goto nomem;
	}
	return ctl_json_print(c, doc);
nomem:
	json_decref(doc);
	return ctl_json_print(c, NULL);
}

static void
ctl_status_print(const Arbor__StatusReply *sr, const char *id)
{
	char	line[2048];
	size_t	i;

	if (sr->n_policies == 0)
		printf("%s: no reports\n", id != NULL ? id : "policies");
	for (i = 0; i < sr->n_policies; i++) {
		ctl_status_line(sr->policies[i], line, sizeof(line));
		printf("%s\n", line);
	}
	ctl_summary_line(sr, line, sizeof(line));
	printf("%s\n", line);
}

/*
 * 1 when every endpoint enrolled rests in a final state for the policy
 * (every policy the reply holds); never for no endpoints or no policies.
 */
static int
ctl_complete(const Arbor__StatusReply *sr)
{
	size_t	i;

	if (sr->endpoints == 0 || sr->n_policies == 0)
		return 0;
	for (i = 0; i < sr->n_policies; i++)
		if (ctl_count_done(sr->policies[i], NULL) < sr->endpoints)
			return 0;
	return 1;
}

/* "ID vN [#####.....] 8/12 done  fixed 7 failed 1" */
static void
ctl_bar_line(const Arbor__PolicyCounts *pc, uint64_t enrolled, int idw,
    char *buf, size_t size)
{
	char		id[ARB_MAX_ID + 8], bar[CTL_BAR_WIDTH + 1];
	uint64_t	done = ctl_count_done(pc, NULL), fill;
	unsigned	i;

	ctl_clean(pc->policy_id, ARB_MAX_ID, id, sizeof(id));
	fill = enrolled == 0 ? 0 : done >= enrolled ? CTL_BAR_WIDTH :
	    done * CTL_BAR_WIDTH / enrolled;
	memset(bar, '.', CTL_BAR_WIDTH);
	memset(bar, '#', (size_t)fill);
	bar[CTL_BAR_WIDTH] = '\0';
	snprintf(buf, size, "%s v%-*" PRIu32 " [%s] %" PRIu64 "/%" PRIu64
	    " done ", id, idw - (int)ctl_width(id), pc->version, bar, done,
	    enrolled);
	for (i = 0; i < ARB_ST_COUNT; i++)
		if (ctl_count(pc, i) != 0)
			ctl_cat(buf, size, " %s %" PRIu32, arb_state_name(i),
			    ctl_count(pc, i));
}

/*
 * One frame on a terminal: back up over the previous one (*linesp lines)
 * and redraw.  Lines are cut to the width and the frame to the height, so
 * the cursor arithmetic holds.
 */
static void
ctl_draw(const Arbor__StatusReply *sr, const char *id, int *linesp)
{
	struct winsize	ws;
	char		line[2048], pid[ARB_MAX_ID + 8];
	size_t		i, shown;
	int		cols = 80, rows = 24, n = 0, idw = 0, w;

	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) {
		cols = ws.ws_col;
		rows = ws.ws_row > 2 ? ws.ws_row : 3;
	}
	if (*linesp > 0)
		printf("\033[%dA\r", *linesp);
	shown = sr->n_policies;
	if (shown > (size_t)rows - 2)
		shown = (size_t)rows - 3;
	/* Bars line up: ids and versions padded to the longest. */
	for (i = 0; i < shown; i++) {
		snprintf(line, sizeof(line), "%" PRIu32,
		    sr->policies[i]->version);
		ctl_clean(sr->policies[i]->policy_id, ARB_MAX_ID, pid,
		    sizeof(pid));
		if ((w = (int)(ctl_width(pid) + strlen(line))) > idw)
			idw = w;
	}
	if (sr->n_policies == 0) {
		snprintf(line, sizeof(line), "%s: no reports",
		    id != NULL ? id : "policies");
		printf("%.*s\033[K\n", cols - 1, line);
		n++;
	}
	for (i = 0; i < shown; i++, n++) {
		ctl_bar_line(sr->policies[i], sr->endpoints, idw, line,
		    sizeof(line));
		printf("%.*s\033[K\n", cols - 1, line);
	}
	if (shown < sr->n_policies) {
		printf("... and %zu more\033[K\n", sr->n_policies - shown);
		n++;
	}
	ctl_summary_line(sr, line, sizeof(line));
	printf("%.*s\033[K\n\033[J", cols - 1, line);
	fflush(stdout);
	*linesp = n + 1;
}

static const Arbor__PolicyCounts *
ctl_find_counts(const Arbor__StatusReply *sr, const char *id)
{
	size_t	i;

	for (i = 0; i < sr->n_policies; i++)
		if (strcmp(sr->policies[i]->policy_id, id) == 0)
			return sr->policies[i];
	return NULL;
}

/*
 * Not on a terminal: a line, with the time, for each policy whose counts
 * (or the number of endpoints they are out of) changed since prev.
 */
static void
ctl_log_changes(const Arbor__StatusReply *sr, const Arbor__StatusReply *prev,
    const char *id)
{
	const Arbor__PolicyCounts	*pc, *old;
	struct timeval			 tv;
	char				 t[48], line[2048];
	size_t				 i;
	unsigned			 st;
	int				 same;

	gettimeofday(&tv, NULL);
	ctl_time_ms((int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000, t,
	    sizeof(t));
	if (prev == NULL && sr->n_policies == 0)
		printf("%s %s: no reports\n", t, id != NULL ? id : "policies");
	for (i = 0; i < sr->n_policies; i++) {
		pc = sr->policies[i];
		old = prev != NULL ? ctl_find_counts(prev, pc->policy_id) :
		    NULL;
		same = old != NULL && old->version == pc->version &&
		    prev->endpoints == sr->endpoints;
		for (st = 0; same && st < ARB_ST_COUNT; st++)
			same = ctl_count(old, st) == ctl_count(pc, st);
		if (same)
			continue;
		ctl_status_line(pc, line, sizeof(line));
		printf("%s %s; %" PRIu64 "/%" PRIu64 " done\n", t, line,
		    ctl_count_done(pc, NULL), sr->endpoints);
	}
	fflush(stdout);
}

static int
ctl_status_watch(const struct ctl *c, const struct ctl_status *o)
{
	Arbor__Envelope	*rep, *prev = NULL;
	int64_t		 deadline = 0, now;
	int		 tty, lines = 0, rv;

	tty = isatty(STDOUT_FILENO);
	if (o->timeout > 0)
		deadline = ctl_mono_ms() + (int64_t)o->timeout * 1000;
	for (;;) {
		if ((rv = ctl_get_status(c, o->id, &rep)) != 0)
			break;
		if (tty)
			ctl_draw(rep->status_reply, o->id, &lines);
		else
			ctl_log_changes(rep->status_reply, prev != NULL ?
			    prev->status_reply : NULL, o->id);
		if (prev != NULL)
			arb_wire_free(prev);
		prev = rep;
		if (o->until && ctl_complete(rep->status_reply)) {
			rv = 0;
			break;
		}
		now = ctl_mono_ms();
		if (deadline != 0 && now >= deadline) {
			if (o->until)
				ctl_warnx(c, "not complete after %d s",
				    o->timeout);
			rv = CTL_EXIT_TIMEOUT;
			break;
		}
		ctl_sleep_ms(deadline != 0 && deadline - now < CTL_WATCH_MS ?
		    deadline - now : CTL_WATCH_MS);
	}
	if (prev != NULL)
		arb_wire_free(prev);
	return rv;
}

int
cmd_status(struct ctl *c, int argc, char *argv[])
{
	struct ctl_status	 o = { NULL, 0, 0, 0, -1 };
	Arbor__Envelope		*rep;
	const char		*val;
	char			*end;
	long			 l;
	int			 i, r, rv;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			o.as_json = 1;
		else if (strcmp(argv[i], "--watch") == 0)
			o.watch = 1;
		else if (strcmp(argv[i], "--until-complete") == 0)
			o.until = 1;
		else if ((r = ctl_opt(argc, argv, &i, "--timeout",
		    &val)) != 0) {
			errno = 0;
			l = r < 0 ? 0 : strtol(val, &end, 10);
			if (r < 0 || end == val || *end != '\0' || errno != 0 ||
			    l < 1 || l > 7 * 86400) {
				ctl_warnx(c, "--timeout: want seconds, "
				    "1 to %d", 7 * 86400);
				return 1;
			}
			o.timeout = (int)l;
		} else if (argv[i][0] == '-' || o.id != NULL) {
			ctl_usage(stderr);
			return 1;
		} else
			o.id = argv[i];
	}
	if (!o.watch && (o.until || o.timeout >= 0)) {
		ctl_warnx(c, "--until-complete and --timeout go with --watch");
		return 1;
	}
	if (o.watch && o.as_json) {
		ctl_warnx(c, "--watch and --json do not go together");
		return 1;
	}
	if (o.id != NULL && !arb_policy_id_valid(o.id)) {
		ctl_warnx(c, "\"%s\": not a policy id", o.id);
		return 1;
	}
	/* A watch that waits for something is bounded unless told. */
	if (o.timeout < 0)
		o.timeout = o.until ? CTL_WATCH_TIMEOUT : 0;
	if (o.watch)
		return ctl_status_watch(c, &o);
	if (ctl_get_status(c, o.id, &rep) != 0)
		return 1;
	rv = 0;
	if (o.as_json)
		rv = ctl_status_json(c, rep->status_reply);
	else
		ctl_status_print(rep->status_reply, o.id);
	arb_wire_free(rep);
	return rv;
}
