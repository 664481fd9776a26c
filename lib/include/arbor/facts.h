/*
 * An endpoint's facts, read from a file-system root: "/" on a real
 * endpoint, a fixture tree in tests and simulated endpoints.
 *
 *	os.id, os.version_id	ROOT/etc/os-release (ROOT/usr/lib/os-release
 *				when the first does not exist): ID=, VERSION_ID=
 *	os.arch			first line of ROOT/var/lib/dpkg/arch, else
 *				uname(2)'s machine in Debian's names
 *	host.name		first line of ROOT/etc/hostname, else
 *				gethostname(3)
 *	pkg("name")		ROOT/var/lib/dpkg/status
 *	agent.groups, agent.prop("k")	the agent's configuration
 *	file.*			any regular file under ROOT
 *	session.users		ROOT/run/systemd/sessions/ *, else ROOT/run/utmp
 *	session.idle		access times of ROOT/dev/input/event*,
 *				ROOT/dev/pts/N and ROOT/dev/ttyN
 *	power.battery		ROOT/sys/class/power_supply/ * /{type,online,
 *				status,scope}
 *
 * A fact whose source does not exist is absent (NULL), never an error; a
 * source that exists but cannot be read is an error.  Every path is opened
 * with openat2(2) RESOLVE_IN_ROOT below a descriptor on ROOT, so neither
 * ".." nor a symbolic link can lead outside it; paths with ".." components
 * are refused anyway.  Sources are read lazily and cached until
 * arb_facts_reload.  Nothing here ever runs a program.
 *
 * A facts object is not thread-safe: one user at a time.
 */
#ifndef ARBOR_FACTS_H
#define ARBOR_FACTS_H

#include <stddef.h>
#include <stdint.h>

/* Per-evaluation bounds on file functions (see arb_facts_begin). */
#define ARB_FACTS_MAX_READS	64
#define ARB_FACTS_MAX_BYTES	(64ULL << 20)	/* per evaluation */
#define ARB_FACTS_CONTAINS_MAX	(16ULL << 20)	/* per file.contains */

struct arb_facts_conf {
	const char	 *root;		/* "/" normally, or a fixture dir */
	char *const	 *groups;	/* agent.groups */
	size_t		  ngroups;
	char *const	 *prop_keys;	/* agent.prop(k) */
	char *const	 *prop_vals;
	size_t		  nprops;
};

struct arb_facts;

/* Totals since arb_facts_new, for tests and statistics. */
struct arb_facts_stats {
	uint64_t	reads;		/* file functions performed */
	uint64_t	bytes;		/* bytes they read */
	uint64_t	status_loads;	/* times the dpkg status was parsed */
};

/*
 * Make a facts object for conf.  Everything in conf is copied; root must
 * name a directory (it is opened now).  Returns 0 and *fp (free with
 * arb_facts_free), -errno when root cannot be opened, or -ENOMEM.
 */
int	arb_facts_new(const struct arb_facts_conf *conf, struct arb_facts **fp);

/*
 * Facts that come from somewhere else than a file-system root: the root's
 * stored inventory of an endpoint.  Each getter sets *vp to a string that
 * stays valid until the next call of that getter or until the view's
 * data changes (NULL when absent) and returns 0 or an error.  File
 * functions of such facts return ARB_EUNKNOWN: the files are the
 * endpoint's, and nothing stands in for them.
 */
struct arb_facts_view {
	int	(*os)(void *arg, const char *key, const char **vp);
	int	(*arch)(void *arg, const char **vp);
	int	(*hostname)(void *arg, const char **vp);
	int	(*prop)(void *arg, const char *key, const char **vp);
	int	(*pkg)(void *arg, const char *name, const char **vp);
	void	(*groups)(void *arg, char *const **gp, size_t *np);
};

/*
 * Make a facts object that asks view (with arg) for every fact.  view and
 * arg must outlive it; the caller may change what arg describes between
 * evaluations.  Returns 0 and *fp, or -ENOMEM.
 */
int	arb_facts_new_view(const struct arb_facts_view *view, void *arg,
	    struct arb_facts **fp);

/* Free f and its caches.  NULL is a no-op. */
void	arb_facts_free(struct arb_facts *f);

/*
 * Drop every cache (os-release, hostname, arch, dpkg status), so that the
 * next look-up reads the sources again: call it after an action changed
 * the endpoint.
 */
void	arb_facts_reload(struct arb_facts *f);

/*
 * Start an evaluation: reset the per-evaluation budget of
 * ARB_FACTS_MAX_READS file functions and ARB_FACTS_MAX_BYTES bytes read.
 * arb_expr_eval calls it.
 */
void	arb_facts_begin(struct arb_facts *f);

/* What is left of this evaluation's budget: file functions and bytes. */
void	arb_facts_budget(const struct arb_facts *f, unsigned *readsp,
	    uint64_t *bytesp);

/* Copy the totals into *st. */
void	arb_facts_stats(const struct arb_facts *f, struct arb_facts_stats *st);

/*
 * The fact getters below set *vp to a string that f owns (valid until
 * arb_facts_reload or arb_facts_free), or to NULL when the fact is absent,
 * and return 0; or return -errno when the source exists but cannot be read
 * (logged), or -ENOMEM.
 */

/*
 * A key of os-release: "ID", "VERSION_ID", ... (quotes removed).  Keys
 * match regardless of case, so "id" finds ID=.
 */
int	arb_facts_os(struct arb_facts *f, const char *key, const char **vp);
/* Debian architecture name: "amd64", "arm64", ... */
int	arb_facts_arch(struct arb_facts *f, const char **vp);
/* Host name. */
int	arb_facts_hostname(struct arb_facts *f, const char **vp);
/* The agent property named key (from the configuration). */
int	arb_facts_prop(struct arb_facts *f, const char *key, const char **vp);
/*
 * The installed version of package name, or "name:arch" for one
 * architecture.  A package counts as installed when the third word of its
 * Status field is "installed" (so "hold ok installed" is installed and
 * "deinstall ok config-files" is not).  When several architectures of
 * name are installed, the lowest version is returned.  The status file is
 * parsed once and cached; a file larger than 256 MiB is ARB_ETOOBIG.
 */
int	arb_facts_pkg(struct arb_facts *f, const char *name, const char **vp);

/* One installed package of the dpkg status (arch "" when it names none). */
struct arb_facts_pkgent {
	const char	*name;
	const char	*arch;
	const char	*version;
};

/*
 * Every installed package, sorted by (name, arch): *vp is f's array of *np
 * entries, valid until arb_facts_reload or arb_facts_free.  Returns 0, or
 * an error as arb_facts_pkg does.
 */
int	arb_facts_pkg_list(struct arb_facts *f,
	    const struct arb_facts_pkgent **vp, size_t *np);

/*
 * Groups given beside those of conf (an enrolment token's): agent.groups
 * becomes conf's followed by those of g not among them; g replaces the
 * extra groups set before.  g is copied.  0 or -ENOMEM (nothing changed).
 */
int	arb_facts_extra_groups(struct arb_facts *f, char *const *g, size_t n);
/* The agent's groups; f owns the array. */
void	arb_facts_groups(const struct arb_facts *f, char *const **gp,
	    size_t *np);

/*
 * Check that path is absolute with no "." or ".." components and no empty
 * ones except a trailing "/".  0 or ARB_EINVAL with the reason in *whyp
 * (a static string).
 */
int	arb_facts_path_ok(const char *path, const char **whyp);

/*
 * File functions, resolved under the root.  Each counts as one read
 * against the evaluation's budget and returns ARB_ETOOBIG when the budget
 * is spent (before reading).  A path that arb_facts_path_ok refuses is
 * ARB_EINVAL.  A file that is not there is not an error.
 */

/* *existsp = 1 if path names anything (following links inside the root). */
int	arb_facts_file_exists(struct arb_facts *f, const char *path,
	    int *existsp);
/*
 * SHA-256 of a regular file as lower-case hex into hex (ARB_SHA256_HEX
 * bytes), *foundp = 1; or *foundp = 0 when there is no such file.  Not a
 * regular file is ARB_EINVAL; a file whose bytes exceed what is left of
 * the budget is ARB_ETOOBIG.
 */
int	arb_facts_file_sha256(struct arb_facts *f, const char *path,
	    char *hex, int *foundp);
/*
 * *foundp = 1 if the regular file path contains the len bytes of needle,
 * 0 if it does not or does not exist.  Reads at most
 * ARB_FACTS_CONTAINS_MAX bytes: a longer file that does not contain needle
 * in them is ARB_ETOOBIG (it cannot say no).  len 0 matches any file.
 */
int	arb_facts_file_contains(struct arb_facts *f, const char *path,
	    const char *needle, size_t len, int *foundp);

/*
 * The endpoint's present state, for run_when: read afresh at every
 * evaluation (once within it), never cached across arb_facts_begin.  Facts
 * from a view return ARB_EUNKNOWN.  A source that cannot be read is an
 * error as for the other getters; a session file or power supply that
 * cannot be read is skipped.  At most 4096 entries of a directory are
 * looked at.
 */

/*
 * The number of distinct users with a live session: logind's session
 * files (CLASS=user..., STATE not closing; USER=, else UID=) when
 * /run/systemd/sessions exists, else the USER_PROCESS records of
 * /run/utmp (at most 4 MiB).  *knownp = 0 when neither exists.
 */
int	arb_facts_session_users(struct arb_facts *f, int64_t *np, int *knownp);
/*
 * Seconds since the newest access time of an input device or terminal
 * (/dev/input/event*, /dev/pts/N, /dev/ttyN: the kernel updates a
 * terminal's access time on input), as of now; 0 when that is in the
 * future.  *knownp = 0 when there is no such device.
 */
int	arb_facts_session_idle(struct arb_facts *f, int64_t now,
	    int64_t *secsp, int *knownp);
/*
 * *onp = 1 when the machine runs on battery: a system battery (type
 * Battery, scope not Device) and no external supply (Mains, USB*,
 * Wireless) online, and either an external supply is known or a battery
 * says Discharging.  No power supplies at all is 0.
 */
int	arb_facts_power_battery(struct arb_facts *f, int *onp);

/*
 * The parsers behind arb_facts_session_users, exposed for fuzzing.
 * arb_facts_logind_session parses a session file in text (NUL-terminated,
 * modified in place): 1 and *userp (inside text) for a live user session,
 * else 0.  arb_facts_utmp_users counts the distinct user names of the
 * USER_PROCESS records in len bytes of utmp (a trailing partial record is
 * ignored): 0 and *np, or -ENOMEM.
 */
int	arb_facts_logind_session(char *text, const char **userp);
int	arb_facts_utmp_users(const void *buf, size_t len, size_t *np);

#endif
