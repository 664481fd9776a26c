/*
 * arborctl status: the counts by state of each policy and the root's
 * totals, once (as text or JSON) or, with --watch, until complete (or
 * stopped, with --keep): redrawn as bars on a terminal, a line per change
 * otherwise.  Policies no longer in the catalog are marked retired.
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
	int		 keep;		/* --keep: watch past complete */
	int		 timeout;	/* s; 0: none */
};

/*
 * What the root said, and its current catalog: a policy that has counts
 * but is not in the catalog was retired.
 */
struct ctl_view {
	Arbor__Envelope		*rep;
	Arbor__StatusReply	*sr;
	struct view_current	*cur;
	size_t			 ncur;
	Arbor__Envelope		*ro;	/* the staged rollouts, or NULL */
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
	case ARB_ST_LOCKED:	/* until the operator unlocks it */
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

/* Ask for the status, policies sorted by id; 0, or 1 after a message. */
static int
ctl_get_status1(const struct ctl *c, const char *id, Arbor__Envelope **repp)
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
	view_status_sort(sr);
	*repp = rep;
	return 0;
}

static void
ctl_view_clear(struct ctl_view *v)
{
	if (v->rep != NULL)
		arb_wire_free(v->rep);
	if (v->ro != NULL)
		arb_wire_free(v->ro);
	view_current_free(v->cur, v->ncur);
	memset(v, 0, sizeof(*v));
}

/* The status and the current catalog; 0, or 1 after a message. */
static int
ctl_get_status(const struct ctl *c, const char *id, struct ctl_view *v)
{
	memset(v, 0, sizeof(*v));
	if (ctl_get_status1(c, id, &v->rep) != 0)
		return 1;
	v->sr = v->rep->status_reply;
	if (ctl_get_current(c, &v->cur, &v->ncur) != 0 ||
	    ctl_rollout_get(c, &v->ro) != 0) {
		ctl_view_clear(v);
		return 1;
	}
	return 0;
}

/* 1 when the policy of pc is no longer in the catalog. */
static int
ctl_retired(const struct ctl_view *v, const Arbor__PolicyCounts *pc)
{
	return view_current_find(v->cur, v->ncur, pc->policy_id) == NULL;
}

/* "ID vN: 8 fixed, 1 failed (9 reporting)", " (retired)" when it is. */
static void
ctl_status_line(const Arbor__PolicyCounts *pc, int retired, char *buf,
    size_t size)
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
	if (retired)
		ctl_cat(buf, size, " (retired)");
}

/* The line for a status without policies: none has reports yet. */
static void
ctl_none_line(const char *id, char *buf, size_t size)
{
	char	clean[ARB_MAX_ID + 8];

	if (id == NULL)
		snprintf(buf, size, "no policy has reports yet");
	else {
		ctl_clean(id, ARB_MAX_ID, clean, sizeof(clean));
		snprintf(buf, size, "%s: no reports yet", clean);
	}
}

/*
 * "root: 12 endpoints enrolled; 36 reports received (0 rejected) in 12
 * messages from children; ...".  Reports count every report the root
 * received, an endpoint's inventory too (it is no policy's); a message is
 * a batch from a child: reports, the relays' heartbeat, or both.
 */
/* ": 2 revoked, 1 replayed" from the counts by reason, or "". */
static void
ctl_reasons(Arbor__ReasonCount **v, size_t n, char *buf, size_t size)
{
	char	clean[ARB_MAX_ID + 8];
	size_t	i;

	buf[0] = '\0';
	for (i = 0; i < n; i++) {
		ctl_clean(v[i]->reason, 32, clean, sizeof(clean));
		ctl_cat(buf, size, "%s%" PRIu64 " %s", i ? ", " : ": ",
		    v[i]->count, clean);
	}
}

static void
ctl_summary_line(const Arbor__StatusReply *sr, char *buf, size_t size)
{
	char	t[48], why[512], enr[512];

	ctl_time_ms(sr->last_report_at_ms, t, sizeof(t));
	ctl_reasons(sr->rejected_by, sr->n_rejected_by, why, sizeof(why));
	ctl_reasons(sr->enrol_refused, sr->n_enrol_refused, enr,
	    sizeof(enr));
	snprintf(buf, size, "root: %" PRIu64 " endpoint%s enrolled; "
	    "%" PRIu64 " report%s received, inventories included "
	    "(%" PRIu64 " rejected%s), in %" PRIu64 " message%s from "
	    "children; last report %s; head seq %" PRIu64 "%s%s",
	    sr->endpoints, sr->endpoints == 1 ? "" : "s",
	    sr->reports, sr->reports == 1 ? "" : "s",
	    sr->rejected, why, sr->batches, sr->batches == 1 ? "" : "s",
	    t, sr->head_seq, enr[0] ? "; enrolments refused" : "", enr);
}

/* {"revoked": 2, ...} */
static int
ctl_status_json(const struct ctl *c, const struct ctl_view *v)
{
	return ctl_json_print(c, view_status(v->sr, v->cur, v->ncur,
	    v->ro != NULL ? v->ro->rollout_reply : NULL));
}

static void
ctl_status_print(const struct ctl_view *v, const char *id)
{
	const Arbor__StatusReply *sr = v->sr;
	char	line[2048];
	size_t	i;
	json_t	*ro;

	if (sr->n_policies == 0) {
		ctl_none_line(id, line, sizeof(line));
		printf("%s\n", line);
	}
	for (i = 0; i < sr->n_policies; i++) {
		ctl_status_line(sr->policies[i], ctl_retired(v,
		    sr->policies[i]), line, sizeof(line));
		printf("%s\n", line);
		if ((ro = ctl_rollout_find(v->ro,
		    sr->policies[i]->policy_id)) != NULL) {
			ctl_rollout_text(ro, line, sizeof(line));
			printf("%s\n", line);
			json_decref(ro);
		}
	}
	ctl_summary_line(sr, line, sizeof(line));
	printf("%s\n", line);
}

/*
 * 1 when every targeted endpoint rests in a final state for each current
 * policy the reply holds (retired ones are left out).  A policy for all
 * targets every endpoint enrolled.  The root does not know which
 * endpoints a group or property names, and an endpoint outside a target
 * says nothing of it: such a policy is complete when every endpoint that
 * reported on it is final.  Never for no endpoints or no policies.
 */
static int
ctl_complete(const struct ctl_view *v)
{
	const Arbor__StatusReply	*sr = v->sr;
	const struct view_current	*cur;
	uint64_t			 done, reporting;
	size_t				 i, n = 0;

	if (sr->endpoints == 0)
		return 0;
	for (i = 0; i < sr->n_policies; i++) {
		if ((cur = view_current_find(v->cur, v->ncur,
		    sr->policies[i]->policy_id)) == NULL)
			continue;
		done = ctl_count_done(sr->policies[i], &reporting);
		if (cur->version != sr->policies[i]->version ||
		    done < (cur->targeted ? reporting : sr->endpoints) ||
		    reporting == 0)
			return 0;
		n++;
	}
	return n > 0;
}

/*
 * The number of endpoints a policy's progress is out of: those enrolled
 * for a policy for all, those reporting for one with a target (see
 * ctl_complete).
 */
static uint64_t
ctl_out_of(const struct ctl_view *v, const Arbor__PolicyCounts *pc)
{
	const struct view_current	*cur;
	uint64_t			 reporting;

	cur = view_current_find(v->cur, v->ncur, pc->policy_id);
	if (cur == NULL || !cur->targeted)
		return v->sr->endpoints;
	(void)ctl_count_done(pc, &reporting);
	return reporting;
}

/* "ID vN [#####.....] 8/12 done  fixed 7 failed 1" */
static void
ctl_bar_line(const struct ctl_view *v, const Arbor__PolicyCounts *pc,
    int idw, char *buf, size_t size)
{
	char		id[ARB_MAX_ID + 8], bar[CTL_BAR_WIDTH + 1];
	uint64_t	done = ctl_count_done(pc, NULL), fill, all;
	unsigned	i;

	all = ctl_out_of(v, pc);
	ctl_clean(pc->policy_id, ARB_MAX_ID, id, sizeof(id));
	fill = all == 0 ? 0 : done >= all ? CTL_BAR_WIDTH :
	    done * CTL_BAR_WIDTH / all;
	memset(bar, '.', CTL_BAR_WIDTH);
	memset(bar, '#', (size_t)fill);
	bar[CTL_BAR_WIDTH] = '\0';
	snprintf(buf, size, "%s v%-*" PRIu32 " [%s] %" PRIu64 "/%" PRIu64
	    " done ", id, idw - (int)ctl_width(id), pc->version, bar, done,
	    all);
	for (i = 0; i < ARB_ST_COUNT; i++)
		if (ctl_count(pc, i) != 0)
			ctl_cat(buf, size, " %s %" PRIu32, arb_state_name(i),
			    ctl_count(pc, i));
	if (ctl_retired(v, pc))
		ctl_cat(buf, size, " (retired)");
}

/*
 * One frame on a terminal: back up over the previous one (*linesp lines)
 * and redraw.  Lines are cut to the width and the frame to the height, so
 * the cursor arithmetic holds.
 */
static void
ctl_draw(const struct ctl_view *v, const char *id, int *linesp)
{
	const Arbor__StatusReply *sr = v->sr;
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
		ctl_none_line(id, line, sizeof(line));
		printf("%.*s\033[K\n", cols - 1, line);
		n++;
	}
	for (i = 0; i < shown; i++, n++) {
		ctl_bar_line(v, sr->policies[i], idw, line, sizeof(line));
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
 * (or the number of endpoints they are out of, or whether it is retired)
 * changed since prev.
 */
static void
ctl_log_changes(const struct ctl_view *v, const struct ctl_view *prev,
    const char *id)
{
	const Arbor__StatusReply	*sr = v->sr;
	const Arbor__PolicyCounts	*pc, *old;
	struct timeval			 tv;
	char				 t[48], line[2048];
	size_t				 i;
	unsigned			 st;
	int				 same;

	gettimeofday(&tv, NULL);
	ctl_time_ms((int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000, t,
	    sizeof(t));
	if (prev == NULL && sr->n_policies == 0) {
		ctl_none_line(id, line, sizeof(line));
		printf("%s %s\n", t, line);
	}
	for (i = 0; i < sr->n_policies; i++) {
		pc = sr->policies[i];
		old = prev != NULL ? ctl_find_counts(prev->sr,
		    pc->policy_id) : NULL;
		same = old != NULL && old->version == pc->version &&
		    ctl_out_of(prev, old) == ctl_out_of(v, pc) &&
		    ctl_retired(prev, old) == ctl_retired(v, pc);
		for (st = 0; same && st < ARB_ST_COUNT; st++)
			same = ctl_count(old, st) == ctl_count(pc, st);
		if (same)
			continue;
		ctl_status_line(pc, ctl_retired(v, pc), line, sizeof(line));
		printf("%s %s; %" PRIu64 "/%" PRIu64 " done\n", t, line,
		    ctl_count_done(pc, NULL), ctl_out_of(v, pc));
	}
	fflush(stdout);
}

/*
 * Redraw until every targeted endpoint is final (unless --keep), until
 * the timeout (exit 3), or until the root cannot be asked.
 */
static int
ctl_status_watch(const struct ctl *c, const struct ctl_status *o)
{
	struct ctl_view	 v, prev;
	int64_t		 deadline = 0, now;
	int		 tty, lines = 0, rv, have_prev = 0;

	tty = isatty(STDOUT_FILENO);
	if (o->timeout > 0)
		deadline = ctl_mono_ms() + (int64_t)o->timeout * 1000;
	for (;;) {
		if ((rv = ctl_get_status(c, o->id, &v)) != 0)
			break;
		if (tty)
			ctl_draw(&v, o->id, &lines);
		else
			ctl_log_changes(&v, have_prev ? &prev : NULL, o->id);
		if (have_prev)
			ctl_view_clear(&prev);
		prev = v;
		have_prev = 1;
		if (!o->keep && ctl_complete(&v)) {
			rv = 0;
			break;
		}
		now = ctl_mono_ms();
		if (deadline != 0 && now >= deadline) {
			if (!o->keep)
				ctl_warnx(c, "not complete after %d s",
				    o->timeout);
			rv = CTL_EXIT_TIMEOUT;
			break;
		}
		ctl_sleep_ms(deadline != 0 && deadline - now < CTL_WATCH_MS ?
		    deadline - now : CTL_WATCH_MS);
	}
	if (have_prev)
		ctl_view_clear(&prev);
	return rv;
}

int
cmd_status(struct ctl *c, int argc, char *argv[])
{
	struct ctl_status	 o = { NULL, 0, 0, 0, -1 };
	struct ctl_view		 v;
	const char		*val;
	char			*end;
	long			 l;
	int			 i, r, rv, until = 0;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			o.as_json = 1;
		else if (strcmp(argv[i], "--watch") == 0)
			o.watch = 1;
		else if (strcmp(argv[i], "--until-complete") == 0)
			until = 1;	/* what --watch does, said out loud */
		else if (strcmp(argv[i], "--keep") == 0)
			o.keep = 1;
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
	if (!o.watch && (until || o.keep || o.timeout >= 0)) {
		ctl_warnx(c, "--until-complete, --keep and --timeout go with "
		    "--watch");
		return 1;
	}
	if (until && o.keep) {
		ctl_warnx(c, "--until-complete and --keep do not go together");
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
		o.timeout = o.keep ? 0 : CTL_WATCH_TIMEOUT;
	if (o.watch)
		return ctl_status_watch(c, &o);
	if (ctl_get_status(c, o.id, &v) != 0)
		return 1;
	rv = 0;
	if (o.as_json)
		rv = ctl_status_json(c, &v);
	else
		ctl_status_print(&v, o.id);
	ctl_view_clear(&v);
	return rv;
}
