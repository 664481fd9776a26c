/*
 * Running a policy's action script: the one place an endpoint executes
 * what a publisher wrote.  The agent daemon and the simulated endpoints
 * both call it once a policy applies and its blobs are verified.
 *
 * A run stages a fresh directory holding copies of the blobs under their
 * declared names and the script, then starts /bin/sh on the script
 * through uv_spawn in a session of its own.  A script can leave that
 * session (setsid), so the process group is not what holds an action's
 * processes.  Given a cgroup v2 directory, the run makes a child cgroup
 * in it and the shell enters it before it runs the script: everything it
 * starts stays inside, and a timeout or cancel writes cgroup.kill.
 * Without one, this process becomes a child subreaper, so that what the
 * script orphans is reparented here rather than to init, and a timeout
 * or cancel kills, in rounds until none is left, every process whose
 * parent chain leads to the shell or to an orphan reparented here.
 *
 * The result is ready when two things have happened, in either order:
 * the process has exited (its exit callback) and its output pipe has
 * reached end of file.  A background process the script left behind may
 * hold the pipe open indefinitely, so after the exit the pipe is given a
 * short grace period and then closed.  After a SIGKILL that does not
 * make the process exit (a process stuck in the kernel), the action gives
 * up waiting after a bounded time too.  The callback runs from the close
 * callback of the last of the three handles (process, pipe, timer), and
 * the action is freed right after it, so nothing outlives the callback.
 */
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <linux/fs.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "arbor/action.h"
#include "arbor/error.h"
#include "arbor/io.h"
#include "arbor/log.h"

/* Bytes of output kept: the array holds a NUL as well. */
#define ACTION_TAIL		(ARB_ACTION_OUTPUT_MAX - 1)
/* After the exit, how long a pipe held by a leftover process may stay. */
#define ACTION_GRACE_MS		200
/* After SIGKILL, how long to wait for the exit before giving up. */
#define ACTION_KILL_WAIT_MS	5000
/* Deepest directory tree a staging removal descends. */
#define ACTION_RM_DEPTH		64
#define ACTION_PATH		"PATH=/usr/sbin:/usr/bin:/sbin:/bin"
#define ACTION_NENV		9	/* built-in variables */
/* Rounds of a kill by parent chain, and of emptying a cgroup. */
#define ACTION_KILL_ROUNDS	100
/* Processes one /proc scan looks at. */
#define ACTION_MAX_PROCS	32768
/* Leftovers of actions that ended, spared by the next kill by chain. */
#define ACTION_SPARED		64

enum action_phase {
	PHASE_RUN,		/* timer: the timeout */
	PHASE_KILLED,		/* timer: waiting for the exit after SIGKILL */
	PHASE_DRAIN,		/* timer: grace for the pipe after the exit */
};

struct arb_action {
	uv_process_t		 proc;
	uv_pipe_t		 pipe;
	uv_timer_t		 timer;
	arb_action_cb		 cb;
	void			*arg;
	char			*policy_id;
	char			*kind;
	uint32_t		 version;
	int64_t			 timeout_ms;
	uint64_t		 start_ns;	/* uv_hrtime at spawn */
	enum action_phase	 phase;
	int			 nopen;		/* handles not yet closed */
	int			 pid;
	int			 exited;	/* no process to wait for */
	int			 eof;		/* pipe closed */
	int			 killed;	/* SIGKILL sent */
	int			 closing;	/* timer closed: finishing */
	int			 failed;	/* spawn failed: no callback */
	uint64_t		 pid_start;	/* /proc/PID/stat start time */
	int			 gate;		/* write end, or -1 */
	int64_t			 deadline;	/* wall clock, s */
	struct arb_action	*next;		/* in action_live */
	char			 cgroup[PATH_MAX];	/* "" without */
	char			 staging[PATH_MAX];
	char			 reboot[PATH_MAX];
	char			 ring[ACTION_TAIL];
	size_t			 ring_head;	/* next byte written here */
	size_t			 ring_len;	/* bytes held */
	uint64_t		 total;		/* bytes read in all */
	char			 rbuf[16384];
	struct arb_action_result res;
};

/* Every action running, all on one thread: their shells are not orphans. */
static struct arb_action	*action_live;
/* Leftovers (pid, start time) of actions that ended normally. */
static struct {
	pid_t		pid;
	uint64_t	start;
} action_spared[ACTION_SPARED];
static size_t			 action_nspared;

/*
 * Length of the valid UTF-8 sequence at s (n bytes available), or 0 if
 * the bytes there are not one: overlong forms, surrogates and code points
 * past U+10FFFF are invalid.
 */
static size_t
utf8_len(const unsigned char *s, size_t n)
{
	uint32_t	cp, min;
	size_t		len, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		cp = s[0] & 0x1f;
		min = 0x80;
	} else if ((s[0] & 0xf0) == 0xe0) {
		len = 3;
		cp = s[0] & 0x0f;
		min = 0x800;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		cp = s[0] & 0x07;
		min = 0x10000;
	} else
		return 0;
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

int
arb_action_blob_name_ok(const char *name)
{
	const unsigned char	*s = (const unsigned char *)name;
	size_t			 n, i, k;

	if (name == NULL)
		return 0;
	n = strlen(name);
	if (n == 0 || n > NAME_MAX || strcmp(name, ".") == 0 ||
	    strcmp(name, "..") == 0)
		return 0;
	if (strncmp(name, ".arbor-", strlen(".arbor-")) == 0)
		return 0;
	for (i = 0; i < n; i += k) {
		if (s[i] == '/' || s[i] < 0x20 || s[i] == 0x7f)
			return 0;
		if ((k = utf8_len(s + i, n - i)) == 0)
			return 0;
	}
	return 1;
}

/*
 * Remove name in the directory dfd and, if it is a directory, everything
 * below it, never following a symbolic link.  Directories the script
 * made unreadable are opened up first (this matters only when not root).
 */
static int
action_rm_at(int dfd, const char *name, int depth)
{
	struct dirent	*de;
	DIR		*d;
	int		 fd, rv = 0;

	if (unlinkat(dfd, name, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno != EISDIR && errno != EPERM)
		return -errno;
	if (depth >= ACTION_RM_DEPTH)
		return -ELOOP;
	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (fd == -1 && errno == EACCES && fchmodat(dfd, name, 0700, 0) == 0)
		fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC);
	if (fd == -1)
		return -errno;
	(void)fchmod(fd, 0700);
	if ((d = fdopendir(fd)) == NULL) {
		rv = -errno;
		close(fd);
		return rv;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if ((rv = action_rm_at(dirfd(d), de->d_name, depth + 1)) != 0)
			break;
	}
	closedir(d);
	if (rv == 0 && unlinkat(dfd, name, AT_REMOVEDIR) == -1 &&
	    errno != ENOENT)
		rv = -errno;
	return rv;
}

static int
action_staging_path(char *out, size_t outlen, const char *root,
    const char *policy_id, uint32_t version)
{
	int	n;

	n = snprintf(out, outlen, "%s/%s-v%" PRIu32, root, policy_id,
	    version);
	if (n < 0 || (size_t)n >= outlen)
		return -ENAMETOOLONG;
	return 0;
}

int
arb_action_cleanup(const char *staging_root, const char *policy_id,
    uint32_t version)
{
	char	path[PATH_MAX];
	int	rv;

	if (staging_root == NULL || !arb_action_blob_name_ok(policy_id))
		return ARB_EINVAL;
	if ((rv = action_staging_path(path, sizeof(path), staging_root,
	    policy_id, version)) != 0)
		return rv;
	if ((rv = action_rm_at(AT_FDCWD, path, 0)) != 0)
		log_warnx("agent: %s: cannot remove: %s", path,
		    arb_strerror(rv));
	return rv;
}

int
arb_action_cleanup_all(const char *staging_root)
{
	struct dirent	*de;
	DIR		*d;
	int		 rv = 0, err;

	if (staging_root == NULL)
		return ARB_EINVAL;
	if ((d = opendir(staging_root)) == NULL)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if ((err = action_rm_at(dirfd(d), de->d_name, 0)) != 0) {
			log_warnx("agent: %s/%s: cannot remove: %s",
			    staging_root, de->d_name, arb_strerror(err));
			rv = err;
		}
	}
	closedir(d);
	return rv;
}

/*
 * Copy the file src to the new file dst: a clone (FICLONE, extents shared
 * and copied on write) where the file system has them, else
 * copy_file_range, else read and write.  Never a link: a script that
 * writes into its blob changes its own copy, not the verified file that
 * later runs and other policies trust by its size.
 */
static int
action_copy(const char *src, const char *dst)
{
	char	buf[65536];
	size_t	n;
	ssize_t	k;
	int	in, out, range = 1, rv = 0;

	if ((in = open(src, O_RDONLY | O_CLOEXEC)) == -1)
		return -errno;
	out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (out == -1) {
		rv = -errno;
		close(in);
		return rv;
	}
	if (ioctl(out, FICLONE, in) == 0)
		goto done;
	while (range) {
		if ((k = copy_file_range(in, NULL, out, NULL, 1 << 30, 0)) > 0)
			continue;
		if (k == 0)
			goto done;
		if (errno == EINTR)
			continue;
		if (errno != EXDEV && errno != EINVAL && errno != ENOSYS &&
		    errno != EOPNOTSUPP && errno != EPERM) {
			rv = -errno;
			goto done;
		}
		range = 0;	/* read on from where it stopped */
	}
	for (;;) {
		if ((rv = arb_io_read(in, buf, sizeof(buf), &n)) != 0 ||
		    n == 0)
			break;
		if ((rv = arb_io_write_full(out, buf, n)) != 0)
			break;
	}
done:
	if (close(out) == -1 && rv == 0)
		rv = -errno;
	close(in);
	if (rv != 0)
		unlink(dst);
	return rv;
}

/* Place one blob in the staging directory: a copy of its own. */
static int
action_place(const struct arb_action *a, const struct arb_action_blob *b)
{
	char	dst[PATH_MAX];
	int	n;

	n = snprintf(dst, sizeof(dst), "%s/%s", a->staging, b->name);
	if (n < 0 || (size_t)n >= sizeof(dst))
		return -ENAMETOOLONG;
	return action_copy(b->path, dst);
}

/* Make a fresh staging directory holding the blobs and the script. */
static int
action_stage(const struct arb_action *a, const struct arb_action_spec *spec,
    const char **whatp)
{
	char	path[PATH_MAX];
	size_t	i;
	int	fd, rv;

	*whatp = spec->staging_root;
	if (mkdir(spec->staging_root, 0700) == -1 && errno != EEXIST)
		return -errno;
	*whatp = a->staging;
	if ((rv = action_rm_at(AT_FDCWD, a->staging, 0)) != 0)
		return rv;
	if (mkdir(a->staging, 0700) == -1 || chmod(a->staging, 0700) == -1)
		return -errno;
	for (i = 0; i < spec->nblobs; i++) {
		*whatp = spec->blobs[i].path;
		if ((rv = action_place(a, &spec->blobs[i])) != 0)
			return rv;
	}
	*whatp = ARB_ACTION_SCRIPT;
	if (snprintf(path, sizeof(path), "%s/%s", a->staging,
	    ARB_ACTION_SCRIPT) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd == -1)
		return -errno;
	rv = arb_io_write_full(fd, spec->script, strlen(spec->script));
	if (close(fd) == -1 && rv == 0)
		rv = -errno;
	return rv;
}

static void
action_env_free(char **env)
{
	size_t	i;

	if (env == NULL)
		return;
	for (i = 0; env[i] != NULL; i++)
		free(env[i]);
	free(env);
}

/*
 * Set "K=V" in env (n entries so far): replace an entry with the same K,
 * else append.  Takes kv, which is NULL after a failed allocation.
 */
static int
action_env_put(char **env, size_t *np, char *kv)
{
	size_t	i, klen;

	if (kv == NULL)
		return -ENOMEM;
	klen = strcspn(kv, "=") + 1;
	for (i = 0; i < *np; i++) {
		if (strncmp(env[i], kv, klen) == 0) {
			free(env[i]);
			env[i] = kv;
			return 0;
		}
	}
	env[(*np)++] = kv;
	env[*np] = NULL;
	return 0;
}

static char *
action_strf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *
action_strf(const char *fmt, ...)
{
	va_list	 ap;
	char	*s;
	int	 n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	return n < 0 ? NULL : s;
}

/* The script's environment, documented in action.h. */
static int
action_env(const struct arb_action *a, const struct arb_action_spec *spec,
    char ***envp)
{
	const char	*facts = spec->facts_root ? spec->facts_root : "/";
	char		**env;
	size_t		 n = 0, nextra = 0, i;
	int		 rv = 0;

	if (spec->extra_env != NULL)
		while (spec->extra_env[nextra] != NULL)
			nextra++;
	if ((env = calloc(ACTION_NENV + nextra + 1, sizeof(*env))) == NULL)
		return -ENOMEM;
	if ((rv = action_env_put(env, &n, strdup(ACTION_PATH))) != 0 ||
	    (rv = action_env_put(env, &n,
	    action_strf("HOME=%s", a->staging))) != 0 ||
	    (rv = action_env_put(env, &n,
	    action_strf("ARBOR_POLICY_ID=%s", a->policy_id))) != 0 ||
	    (rv = action_env_put(env, &n,
	    action_strf("ARBOR_POLICY_VERSION=%" PRIu32, a->version))) != 0 ||
	    (rv = action_env_put(env, &n,
	    action_strf("ARBOR_STAGING=%s", a->staging))) != 0 ||
	    (rv = action_env_put(env, &n,
	    action_strf("ARBOR_FACTS_ROOT=%s", facts))) != 0 ||
	    (rv = action_env_put(env, &n,
	    action_strf("ARBOR_ACTION_KIND=%s", a->kind))) != 0 ||
	    (rv = action_env_put(env, &n,
	    action_strf("ARBOR_REBOOT_FILE=%s", a->reboot))) != 0 ||
	    (rv = action_env_put(env, &n,
	    action_strf("ARBOR_TIMEOUT_MS=%" PRId64, a->timeout_ms))) != 0)
		goto fail;
	for (i = 0; i < nextra; i++) {
		if (strchr(spec->extra_env[i], '=') == NULL ||
		    spec->extra_env[i][0] == '=') {
			rv = ARB_EINVAL;
			goto fail;
		}
		if ((rv = action_env_put(env, &n,
		    strdup(spec->extra_env[i]))) != 0)
			goto fail;
	}
	*envp = env;
	return 0;
fail:
	action_env_free(env);
	return rv;
}

static int
action_spec_ok(const struct arb_action_spec *spec)
{
	size_t	i, j;

	if (spec->policy_id == NULL || spec->script == NULL ||
	    spec->staging_root == NULL || spec->timeout_ms <= 0 ||
	    (spec->nblobs > 0 && spec->blobs == NULL))
		return 0;
	if (!arb_action_blob_name_ok(spec->policy_id)) {
		log_warnx("agent: refusing policy id unfit for a path");
		return 0;
	}
	for (i = 0; i < spec->nblobs; i++) {
		if (spec->blobs[i].path == NULL ||
		    !arb_action_blob_name_ok(spec->blobs[i].name)) {
			log_warnx("agent: policy %s v%" PRIu32 ": refusing "
			    "blob %zu: bad name", spec->policy_id,
			    spec->version, i);
			return 0;
		}
		for (j = 0; j < i; j++) {
			if (strcmp(spec->blobs[i].name,
			    spec->blobs[j].name) == 0) {
				log_warnx("agent: policy %s v%" PRIu32 ": "
				    "two blobs named %s", spec->policy_id,
				    spec->version, spec->blobs[i].name);
				return 0;
			}
		}
	}
	return 1;
}

/* ---------------------------------------------------- containment */

/*
 * Parent, state and start time (clock ticks after boot) of pid from
 * /proc/PID/stat.  0, or -errno (-ESRCH once it is gone).
 */
static int
action_proc_stat(pid_t pid, pid_t *ppidp, char *statep, uint64_t *startp)
{
	char		 path[64], buf[1024], *p, *tok, *save;
	size_t		 n;
	long		 ppid = 0;
	uint64_t	 start = 0;
	int		 fd, field, rv;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return errno == ENOENT ? -ESRCH : -errno;
	rv = arb_io_read(fd, buf, sizeof(buf) - 1, &n);
	close(fd);
	if (rv != 0)
		return rv;
	buf[n] = '\0';
	/* The command name may hold anything: parse after its last ')'. */
	if ((p = strrchr(buf, ')')) == NULL || p[1] != ' ')
		return -EINVAL;
	*statep = p[2];
	field = 3;
	for (tok = strtok_r(p + 2, " ", &save); tok != NULL;
	    tok = strtok_r(NULL, " ", &save), field++) {
		if (field == 4)
			ppid = strtol(tok, NULL, 10);
		else if (field == 22) {
			start = strtoull(tok, NULL, 10);
			break;
		}
	}
	if (field != 22)
		return -EINVAL;
	*ppidp = (pid_t)ppid;
	*startp = start;
	return 0;
}

static int
action_is_live_shell(pid_t pid)
{
	struct arb_action	*a;

	for (a = action_live; a != NULL; a = a->next)
		if (a->pid == pid)
			return 1;
	return 0;
}

static int
action_is_spared(pid_t pid, uint64_t start)
{
	size_t	i;

	for (i = 0; i < action_nspared; i++)
		if (action_spared[i].pid == pid &&
		    action_spared[i].start == start)
			return 1;
	return 0;
}

struct action_proc {
	pid_t		pid;
	pid_t		ppid;
	uint64_t	start;
	char		state;
	char		mark;
};

/* Every process in /proc: *np of them in a new array, or NULL. */
static struct action_proc *
action_procs(size_t *np)
{
	struct action_proc	*v;
	struct dirent		*de;
	DIR			*d;
	char			*end;
	size_t			 n = 0;
	long			 pid;

	if ((v = calloc(ACTION_MAX_PROCS, sizeof(*v))) == NULL)
		return NULL;
	if ((d = opendir("/proc")) == NULL) {
		free(v);
		return NULL;
	}
	while (n < ACTION_MAX_PROCS && (de = readdir(d)) != NULL) {
		pid = strtol(de->d_name, &end, 10);
		if (*end != '\0' || pid <= 0)
			continue;
		v[n].pid = (pid_t)pid;
		if (action_proc_stat(v[n].pid, &v[n].ppid, &v[n].state,
		    &v[n].start) == 0)
			n++;
	}
	closedir(d);
	*np = n;
	return v;
}

/*
 * One round over /proc.  Marks the processes of top (0: none) -- top, its
 * descendants, and the orphans reparented here that are neither a running
 * action's shell nor spared, with their descendants -- and, with kill,
 * sends each SIGKILL.  Reaps the orphans that have died (libuv waits only
 * for the processes it started).  Returns how many were signalled.
 */
static int
action_sweep(pid_t top, int kill_them)
{
	struct action_proc	*v;
	size_t			 n, i, j;
	pid_t			 self = getpid();
	int			 more, count = 0, status;

	if ((v = action_procs(&n)) == NULL)
		return 0;
	for (i = 0; i < n; i++)
		v[i].mark = (top != 0 && v[i].pid == top) ||
		    (v[i].ppid == self && !action_is_live_shell(v[i].pid) &&
		    !action_is_spared(v[i].pid, v[i].start));
	do {
		more = 0;
		for (i = 0; i < n; i++) {
			if (v[i].mark)
				continue;
			for (j = 0; j < n; j++)
				if (v[j].mark && v[j].pid == v[i].ppid)
					break;
			if (j < n)
				v[i].mark = more = 1;
		}
	} while (more);
	for (i = 0; i < n; i++) {
		if (!v[i].mark)
			continue;
		if (kill_them && v[i].state != 'Z' &&
		    kill(v[i].pid, SIGKILL) == 0)
			count++;
		if (v[i].ppid == self && v[i].pid != top &&
		    (kill_them || v[i].state == 'Z'))
			(void)waitpid(v[i].pid, &status, WNOHANG);
	}
	free(v);
	return count;
}

/*
 * Kill every process of the action by parent chain, in rounds until a
 * round finds none alive: a process forked during one is found by the
 * next (its parent killed, it is reparented here).
 */
static void
action_kill_chain(struct arb_action *a)
{
	struct timespec	ts = { 0, 2000000 };
	int		i;

	for (i = 0; i < ACTION_KILL_ROUNDS; i++) {
		if (action_sweep(a->pid, 1) == 0)
			return;
		nanosleep(&ts, NULL);
	}
	log_warnx("agent: policy %s v%" PRIu32 ": processes still appear "
	    "after %d rounds of SIGKILL", a->policy_id, a->version, i);
}

/* Remember the leftovers of an action that ended: they are not killed. */
static void
action_spare_leftovers(void)
{
	struct action_proc	*v;
	size_t			 n, i;
	pid_t			 self = getpid();

	(void)action_sweep(0, 0);	/* reap dead orphans */
	if ((v = action_procs(&n)) == NULL)
		return;
	for (i = 0; i < n; i++) {
		if (v[i].ppid != self || v[i].state == 'Z' ||
		    action_is_live_shell(v[i].pid) ||
		    action_is_spared(v[i].pid, v[i].start))
			continue;
		if (action_nspared == ACTION_SPARED) {
			memmove(action_spared, action_spared + 1,
			    (ACTION_SPARED - 1) * sizeof(action_spared[0]));
			action_nspared--;
		}
		action_spared[action_nspared].pid = v[i].pid;
		action_spared[action_nspared++].start = v[i].start;
	}
	free(v);
}

static int
action_write_file(const char *dir, const char *name, const char *text)
{
	char	path[PATH_MAX];
	int	fd, rv;

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >=
	    (int)sizeof(path))
		return -ENAMETOOLONG;
	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) == -1)
		return -errno;
	rv = arb_io_write_full(fd, text, strlen(text));
	close(fd);
	return rv;
}

int
arb_action_cgroup_probe(char *out, size_t outlen)
{
	char	 line[PATH_MAX * 2], rel[PATH_MAX], root[PATH_MAX];
	char	 mnt[PATH_MAX], path[PATH_MAX], probe[PATH_MAX];
	FILE	*fp;
	size_t	 skip;
	int	 found = 0, n;

	if ((fp = fopen("/proc/self/cgroup", "re")) == NULL)
		return -errno;
	while (!found && fgets(line, sizeof(line), fp) != NULL)
		if (strncmp(line, "0::", 3) == 0) {
			line[strcspn(line, "\n")] = '\0';
			found = strlen(line + 3) < sizeof(rel);
			if (found)
				memcpy(rel, line + 3, strlen(line + 3) + 1);
		}
	fclose(fp);
	if (!found)
		return ARB_ENOTFOUND;	/* no cgroup v2 hierarchy */
	if ((fp = fopen("/proc/self/mountinfo", "re")) == NULL)
		return -errno;
	found = 0;
	while (!found && fgets(line, sizeof(line), fp) != NULL)
		if (strstr(line, " - cgroup2 ") != NULL &&
		    sscanf(line, "%*s %*s %*s %4095s %4095s", root, mnt) == 2)
			found = 1;
	fclose(fp);
	if (!found)
		return ARB_ENOTFOUND;	/* not mounted */
	skip = strcmp(root, "/") == 0 ? 0 : strlen(root);
	if (strncmp(rel, root, skip) != 0)
		return ARB_ENOTFOUND;	/* our cgroup is outside the mount */
	n = snprintf(path, sizeof(path), "%s%s", mnt, rel + skip);
	if (n < 0 || (size_t)n >= sizeof(path) || (size_t)n >= outlen)
		return -ENAMETOOLONG;
	n = snprintf(probe, sizeof(probe), "%s/arbor-probe-%d", path,
	    (int)getpid());
	if (n < 0 || (size_t)n >= sizeof(probe))
		return -ENAMETOOLONG;
	if (mkdir(probe, 0755) == -1)
		return -errno;	/* not ours to divide */
	snprintf(line, sizeof(line), "%s/cgroup.kill", probe);
	n = access(line, W_OK) == 0 ? 0 : -errno;
	(void)rmdir(probe);
	if (n != 0)
		return n;	/* before Linux 5.14 */
	memcpy(out, path, strlen(path) + 1);
	return 0;
}

/*
 * Remove the action's cgroup.  Processes still in it were left by a script
 * that exited (they may live on, as without a cgroup) or are dying after
 * cgroup.kill: they are moved to the parent cgroup until it is empty.
 */
static void
action_cgroup_remove(struct arb_action *a)
{
	struct timespec	 ts = { 0, 1000000 };
	char		 path[PATH_MAX + 16], parent[PATH_MAX], pid[32];
	char		*slash;
	FILE		*fp;
	int		 i;

	if (a->cgroup[0] == '\0')
		return;
	snprintf(parent, sizeof(parent), "%s", a->cgroup);
	if ((slash = strrchr(parent, '/')) != NULL)
		*slash = '\0';
	snprintf(path, sizeof(path), "%s/cgroup.procs", a->cgroup);
	for (i = 0; i < ACTION_KILL_ROUNDS; i++) {
		if (rmdir(a->cgroup) == 0 || errno == ENOENT)
			return;
		if (errno != EBUSY)
			break;
		if ((fp = fopen(path, "re")) != NULL) {
			while (fgets(pid, sizeof(pid), fp) != NULL)
				(void)action_write_file(parent,
				    "cgroup.procs", pid);
			fclose(fp);
		}
		nanosleep(&ts, NULL);
	}
	log_warn("agent: policy %s v%" PRIu32 ": rmdir %s", a->policy_id,
	    a->version, a->cgroup);
}

/* Make the action's cgroup under parent; "" (and no cgroup) on failure. */
static void
action_cgroup_make(struct arb_action *a, const char *parent)
{
	static unsigned	seq;
	int		n;

	n = snprintf(a->cgroup, sizeof(a->cgroup), "%s/arbor-%d-%u", parent,
	    (int)getpid(), seq++);
	if (n > 0 && (size_t)n < sizeof(a->cgroup) &&
	    mkdir(a->cgroup, 0755) == 0)
		return;
	/* An empty one left by an agent of the same pid before a reboot. */
	if (errno == EEXIST && rmdir(a->cgroup) == 0 &&
	    mkdir(a->cgroup, 0755) == 0)
		return;
	log_warn("agent: policy %s v%" PRIu32 ": cgroup %s; killing by parent "
	    "chain instead", a->policy_id, a->version, a->cgroup);
	a->cgroup[0] = '\0';
}

/* Become a child subreaper, once: orphans of a script come here. */
static void
action_subreaper(void)
{
	static int	done;

	if (done)
		return;
	done = 1;
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) == -1)
		log_warn("agent: PR_SET_CHILD_SUBREAPER");
}

void
arb_action_ident(const struct arb_action *a, struct arb_action_ident *id)
{
	memset(id, 0, sizeof(*id));
	id->pid = a->pid;
	id->start = a->pid_start;
	id->deadline = a->deadline;
	snprintf(id->cgroup, sizeof(id->cgroup), "%s", a->cgroup);
}

int
arb_action_ident_alive(const struct arb_action_ident *id)
{
	char		 path[PATH_MAX + 32], line[64];
	FILE		*fp;
	uint64_t	 start;
	pid_t		 ppid;
	char		 state;
	int		 populated = -1;

	if (id->cgroup[0] != '\0') {
		snprintf(path, sizeof(path), "%s/cgroup.events", id->cgroup);
		if ((fp = fopen(path, "re")) == NULL)
			return 0;	/* gone, and all in it */
		while (fgets(line, sizeof(line), fp) != NULL)
			if (strncmp(line, "populated ", 10) == 0)
				populated = line[10] == '1';
		fclose(fp);
		if (populated == 0)
			(void)rmdir(id->cgroup);
		if (populated >= 0)
			return populated;
	}
	if (id->pid <= 0 || action_proc_stat(id->pid, &ppid, &state,
	    &start) != 0)
		return 0;
	return start == id->start && state != 'Z';
}

void
arb_action_ident_kill(const struct arb_action_ident *id)
{
	if (id->cgroup[0] != '\0' &&
	    action_write_file(id->cgroup, "cgroup.kill", "1") == 0)
		return;
	if (arb_action_ident_alive(id)) {
		(void)kill(-id->pid, SIGKILL);
		(void)kill(id->pid, SIGKILL);
	}
}

static void
action_kill(struct arb_action *a)
{
	int	rv = 0;

	if (a->killed)
		return;
	a->killed = 1;
	if (a->cgroup[0] != '\0' &&
	    (rv = action_write_file(a->cgroup, "cgroup.kill", "1")) != 0)
		log_warnx("agent: policy %s v%" PRIu32 ": %s/cgroup.kill: %s",
		    a->policy_id, a->version, a->cgroup, arb_strerror(rv));
	if (a->cgroup[0] == '\0' || rv != 0)
		action_kill_chain(a);
	if (kill(-a->pid, SIGKILL) == 0 || errno == ESRCH)
		return;
	log_warn("agent: policy %s v%" PRIu32 ": kill process group %d",
	    a->policy_id, a->version, a->pid);
	if ((rv = uv_process_kill(&a->proc, SIGKILL)) != 0)
		log_warnx("agent: policy %s v%" PRIu32 ": kill %d: %s",
		    a->policy_id, a->version, a->pid, uv_strerror(rv));
}

static void
action_free(struct arb_action *a)
{
	if (a->gate >= 0)
		close(a->gate);		/* never let go: its shell exits */
	free(a->policy_id);
	free(a->kind);
	free(a);
}

/* The kept tail, in order, as valid UTF-8 without NULs. */
static void
action_output(struct arb_action *a)
{
	struct arb_action_result	*r = &a->res;
	unsigned char			*s = (unsigned char *)r->output;
	size_t				 start, first, skip = 0, i, k;

	start = (a->ring_head + ACTION_TAIL - a->ring_len) % ACTION_TAIL;
	first = a->ring_len < ACTION_TAIL - start ? a->ring_len :
	    ACTION_TAIL - start;
	memcpy(s, a->ring + start, first);
	memcpy(s + first, a->ring, a->ring_len - first);
	r->output_len = a->ring_len;
	/* A cut through a character leaves its tail: drop, not replace. */
	if (a->total > a->ring_len)
		while (skip < 3 && skip < r->output_len &&
		    (s[skip] & 0xc0) == 0x80)
			skip++;
	memmove(s, s + skip, r->output_len - skip);
	r->output_len -= skip;
	for (i = 0; i < r->output_len; i += k) {
		if ((k = utf8_len(s + i, r->output_len - i)) == 0 ||
		    s[i] == '\0') {
			s[i] = '?';
			k = 1;
		}
	}
	s[r->output_len] = '\0';
}

/* Everything closed: report, call back, free. */
static void
action_done(struct arb_action *a)
{
	struct arb_action_result	*r = &a->res;
	struct stat			 st;
	struct arb_action		**pp;
	const char			*rb;

	for (pp = &action_live; *pp != NULL; pp = &(*pp)->next)
		if (*pp == a) {
			*pp = a->next;
			break;
		}
	if (a->cgroup[0] != '\0')
		action_cgroup_remove(a);
	else if (!a->failed)
		action_spare_leftovers();
	if (a->failed) {
		action_free(a);
		return;
	}
	r->elapsed_ms = (int64_t)((uv_hrtime() - a->start_ns) / 1000000);
	action_output(a);
	if (lstat(a->reboot, &st) == 0 ||
	    (r->exited && r->exit_status == ARB_ACTION_EXIT_REBOOT))
		r->reboot = 1;
	r->success = r->exited && !r->timed_out && !r->canceled &&
	    (r->exit_status == 0 || r->exit_status == ARB_ACTION_EXIT_REBOOT);
	rb = r->reboot ? "; reboot requested" : "";
	if (r->timed_out)
		log_warnx("agent: policy %s v%" PRIu32 ": %s timed out after "
		    "%" PRId64 " ms; process group killed", a->policy_id,
		    a->version, a->kind, r->elapsed_ms);
	else if (r->canceled)
		log_warnx("agent: policy %s v%" PRIu32 ": %s canceled after "
		    "%" PRId64 " ms; process group killed", a->policy_id,
		    a->version, a->kind, r->elapsed_ms);
	else if (r->signaled)
		log_warnx("agent: policy %s v%" PRIu32 ": %s killed by signal "
		    "%d after %" PRId64 " ms", a->policy_id, a->version,
		    a->kind, r->term_signal, r->elapsed_ms);
	else if (r->success)
		log_info("agent: policy %s v%" PRIu32 ": %s exited %d after "
		    "%" PRId64 " ms%s", a->policy_id, a->version, a->kind,
		    r->exit_status, r->elapsed_ms, rb);
	else
		log_warnx("agent: policy %s v%" PRIu32 ": %s exited %d after "
		    "%" PRId64 " ms%s", a->policy_id, a->version, a->kind,
		    r->exit_status, r->elapsed_ms, rb);
	a->cb(r, a->arg);
	action_free(a);
}

static void
action_close_cb(uv_handle_t *h)
{
	struct arb_action	*a = h->data;

	if (--a->nopen == 0)
		action_done(a);
}

/* Both the exit and the end of the output are in: close the timer. */
static void
action_maybe_finish(struct arb_action *a)
{
	if (!a->exited || !a->eof || a->closing)
		return;
	a->closing = 1;
	uv_timer_stop(&a->timer);
	uv_close((uv_handle_t *)&a->timer, action_close_cb);
}

static void
action_pipe_done(struct arb_action *a)
{
	if (!a->eof) {
		a->eof = 1;
		uv_read_stop((uv_stream_t *)&a->pipe);
		uv_close((uv_handle_t *)&a->pipe, action_close_cb);
	}
	action_maybe_finish(a);
}

static void action_timer_cb(uv_timer_t *);

static void
action_exit_cb(uv_process_t *p, int64_t status, int term_signal)
{
	struct arb_action	*a = p->data;

	a->exited = 1;
	if (term_signal != 0) {
		a->res.signaled = 1;
		a->res.term_signal = term_signal;
	} else {
		a->res.exited = 1;
		a->res.exit_status = (int)status;
	}
	uv_close((uv_handle_t *)&a->proc, action_close_cb);
	uv_timer_stop(&a->timer);
	if (!a->eof) {
		if (a->res.canceled) {
			action_pipe_done(a);
			return;
		}
		a->phase = PHASE_DRAIN;
		uv_timer_start(&a->timer, action_timer_cb, ACTION_GRACE_MS, 0);
	}
	action_maybe_finish(a);
}

static void
action_timer_cb(uv_timer_t *t)
{
	struct arb_action	*a = t->data;

	switch (a->phase) {
	case PHASE_RUN:
		a->res.timed_out = 1;
		action_kill(a);
		a->phase = PHASE_KILLED;
		uv_timer_start(&a->timer, action_timer_cb,
		    ACTION_KILL_WAIT_MS, 0);
		break;
	case PHASE_KILLED:
		/* Stuck in the kernel: stop waiting; it stays unreaped. */
		log_warnx("agent: policy %s v%" PRIu32 ": process %d did not "
		    "exit after SIGKILL; no longer waiting", a->policy_id,
		    a->version, a->pid);
		a->exited = 1;
		uv_close((uv_handle_t *)&a->proc, action_close_cb);
		action_pipe_done(a);
		break;
	case PHASE_DRAIN:
		log_debug("agent: policy %s v%" PRIu32 ": output still held "
		    "open after the exit; closing", a->policy_id, a->version);
		action_pipe_done(a);
		break;
	}
}

static void
action_alloc_cb(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	struct arb_action	*a = h->data;

	(void)hint;
	buf->base = a->rbuf;
	buf->len = sizeof(a->rbuf);
}

/* Keep the last ACTION_TAIL bytes seen. */
static void
action_ring_put(struct arb_action *a, const char *p, size_t n)
{
	size_t	first;

	a->total += n;
	if (n > ACTION_TAIL) {
		p += n - ACTION_TAIL;
		n = ACTION_TAIL;
	}
	first = n < ACTION_TAIL - a->ring_head ? n : ACTION_TAIL - a->ring_head;
	memcpy(a->ring + a->ring_head, p, first);
	memcpy(a->ring, p + first, n - first);
	a->ring_head = (a->ring_head + n) % ACTION_TAIL;
	a->ring_len = a->ring_len + n > ACTION_TAIL ? ACTION_TAIL :
	    a->ring_len + n;
}

static void
action_read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct arb_action	*a = s->data;

	if (nread > 0) {
		action_ring_put(a, buf->base, (size_t)nread);
		return;
	}
	if (nread == 0)
		return;
	if (nread != UV_EOF)
		log_warnx("agent: policy %s v%" PRIu32 ": reading output: %s",
		    a->policy_id, a->version, uv_strerror((int)nread));
	action_pipe_done(a);
}

/*
 * The shell's command line.  It enters the action's cgroup (if it has
 * one) before the script can fork; a gated one then waits for "go" on fd
 * 3 and runs nothing if it reads anything else, or the end of the pipe.
 * procs holds the cgroup.procs path the command names.
 */
static void
action_shell_args(const struct arb_action *a, int gated, char *args[5],
    char *procs, size_t plen)
{
	args[0] = "/bin/sh";
	args[1] = "-c";
	args[3] = procs;
	args[4] = NULL;
	snprintf(procs, plen, "%s/cgroup.procs", a->cgroup);
	if (a->cgroup[0] != '\0' && gated)
		args[2] = "echo $$ >\"$0\" || exit 125; "
		    "read -r go <&3 && [ \"$go\" = go ] || exit 125; "
		    "exec 3<&-; exec /bin/sh ./" ARB_ACTION_SCRIPT;
	else if (a->cgroup[0] != '\0')
		args[2] = "echo $$ >\"$0\" || exit 125; "
		    "exec /bin/sh ./" ARB_ACTION_SCRIPT;
	else if (gated)
		args[2] = "read -r go <&3 && [ \"$go\" = go ] || exit 125; "
		    "exec 3<&-; exec /bin/sh ./" ARB_ACTION_SCRIPT;
	else {
		args[1] = "./" ARB_ACTION_SCRIPT;
		args[2] = NULL;
	}
}

/*
 * The action's record, its staging directory and its environment: 0 with
 * *ap and *envp (the caller owns both), or an error and nothing is left.
 */
static int
action_prepare(const struct arb_action_spec *spec, arb_action_cb cb,
    void *arg, struct arb_action **ap, char ***envp)
{
	struct arb_action	*a;
	const char		*what;
	char			**env = NULL;
	int			 rv;

	if ((a = calloc(1, sizeof(*a))) == NULL)
		return -ENOMEM;
	a->cb = cb;
	a->arg = arg;
	a->gate = -1;
	a->version = spec->version;
	a->timeout_ms = spec->timeout_ms;
	a->policy_id = strdup(spec->policy_id);
	a->kind = strdup(spec->kind != NULL ? spec->kind : "action");
	if (a->policy_id == NULL || a->kind == NULL) {
		action_free(a);
		return -ENOMEM;
	}
	if ((rv = action_staging_path(a->staging, sizeof(a->staging),
	    spec->staging_root, spec->policy_id, spec->version)) != 0 ||
	    (rv = snprintf(a->reboot, sizeof(a->reboot), "%s/%s",
	    a->staging, ARB_ACTION_REBOOT_FILE)) >= (int)sizeof(a->reboot)) {
		log_warnx("agent: policy %s v%" PRIu32 ": staging path too "
		    "long", a->policy_id, a->version);
		action_free(a);
		return -ENAMETOOLONG;
	}
	if ((rv = action_stage(a, spec, &what)) != 0) {
		log_warnx("agent: policy %s v%" PRIu32 ": staging: %s: %s",
		    a->policy_id, a->version, what, arb_strerror(rv));
		action_free(a);
		return rv;
	}
	if ((rv = action_env(a, spec, &env)) != 0) {
		log_warnx("agent: policy %s v%" PRIu32 ": environment: %s",
		    a->policy_id, a->version, arb_strerror(rv));
		action_free(a);
		return rv;
	}
	*ap = a;
	*envp = env;
	return 0;
}

int
arb_action_start(uv_loop_t *loop, const struct arb_action_spec *spec,
    arb_action_cb cb, void *arg, struct arb_action **ap)
{
	uv_process_options_t	 opts;
	uv_stdio_container_t	 stdio[4];
	struct arb_action	*a;
	char			*args[5], **env = NULL, procs[PATH_MAX + 16];
	char			 state;
	pid_t			 ppid;
	uv_file			 fds[2], gate[2] = { -1, -1 };
	int			 rv;

	if (loop == NULL || spec == NULL || cb == NULL || ap == NULL ||
	    !action_spec_ok(spec))
		return ARB_EINVAL;
	if ((rv = action_prepare(spec, cb, arg, &a, &env)) != 0)
		return rv;
	if ((rv = uv_pipe(fds, UV_NONBLOCK_PIPE, 0)) != 0) {
		log_warnx("agent: policy %s v%" PRIu32 ": pipe: %s",
		    a->policy_id, a->version, uv_strerror(rv));
		action_env_free(env);
		action_free(a);
		return rv;
	}

	/* From here on the handles own a; it is freed in the last close. */
	uv_pipe_init(loop, &a->pipe, 0);
	uv_timer_init(loop, &a->timer);
	a->pipe.data = a->timer.data = a->proc.data = a;
	a->nopen = 2;
	if ((rv = uv_pipe_open(&a->pipe, fds[0])) != 0) {
		log_warnx("agent: policy %s v%" PRIu32 ": pipe: %s",
		    a->policy_id, a->version, uv_strerror(rv));
		close(fds[0]);
		close(fds[1]);
		goto fail;
	}

	if (spec->cgroup != NULL)
		action_cgroup_make(a, spec->cgroup);
	else
		action_subreaper();
	if (spec->gated && uv_pipe(gate, 0, 0) != 0) {
		log_warnx("agent: policy %s v%" PRIu32 ": gate: cannot make "
		    "a pipe", a->policy_id, a->version);
		close(fds[1]);
		rv = -EMFILE;
		goto fail;
	}
	action_shell_args(a, spec->gated, args, procs, sizeof(procs));
	memset(&opts, 0, sizeof(opts));
	memset(stdio, 0, sizeof(stdio));
	stdio[0].flags = UV_IGNORE;		/* /dev/null */
	stdio[1].flags = UV_INHERIT_FD;
	stdio[1].data.fd = fds[1];
	stdio[2].flags = UV_INHERIT_FD;
	stdio[2].data.fd = fds[1];
	stdio[3].flags = UV_INHERIT_FD;
	stdio[3].data.fd = gate[0];
	opts.exit_cb = action_exit_cb;
	opts.file = args[0];
	opts.args = args;
	opts.env = env;
	opts.cwd = a->staging;
	opts.flags = UV_PROCESS_DETACHED;	/* setsid: own group */
	opts.stdio_count = gate[0] >= 0 ? 4 : 3;
	opts.stdio = stdio;
	a->start_ns = uv_hrtime();
	rv = uv_spawn(loop, &a->proc, &opts);
	a->nopen++;
	close(fds[1]);
	if (gate[0] >= 0)
		close(gate[0]);
	a->gate = gate[1];
	action_env_free(env);
	env = NULL;
	if (rv != 0) {
		log_warnx("agent: policy %s v%" PRIu32 ": cannot run /bin/sh: "
		    "%s", a->policy_id, a->version, uv_strerror(rv));
		uv_close((uv_handle_t *)&a->proc, action_close_cb);
		goto fail;
	}
	a->pid = a->proc.pid;
	a->deadline = (int64_t)time(NULL) + (a->timeout_ms + 999) / 1000;
	(void)action_proc_stat(a->pid, &ppid, &state, &a->pid_start);
	a->next = action_live;
	action_live = a;
	log_info("agent: policy %s v%" PRIu32 ": %s started", a->policy_id,
	    a->version, a->kind);
	if ((rv = uv_read_start((uv_stream_t *)&a->pipe, action_alloc_cb,
	    action_read_cb)) != 0) {
		/* Run without output rather than leave a process unwatched. */
		log_warnx("agent: policy %s v%" PRIu32 ": reading output: %s",
		    a->policy_id, a->version, uv_strerror(rv));
		action_pipe_done(a);
	}
	a->phase = PHASE_RUN;
	uv_timer_start(&a->timer, action_timer_cb, (uint64_t)a->timeout_ms, 0);
	*ap = a;
	return 0;
fail:
	a->failed = 1;
	action_env_free(env);
	uv_close((uv_handle_t *)&a->pipe, action_close_cb);
	uv_close((uv_handle_t *)&a->timer, action_close_cb);
	return rv;
}

void
arb_action_go(struct arb_action *a)
{
	if (a == NULL || a->gate < 0)
		return;
	if (arb_io_write_full(a->gate, "go\n", 3) != 0)
		log_warn("agent: policy %s v%" PRIu32 ": gate", a->policy_id,
		    a->version);
	close(a->gate);
	a->gate = -1;
}

void
arb_action_cancel(struct arb_action *a)
{
	if (a == NULL || a->res.canceled || a->closing)
		return;
	if (a->exited) {
		/* Its status stands; only stop waiting for the output. */
		uv_timer_stop(&a->timer);
		action_pipe_done(a);
		return;
	}
	a->res.canceled = 1;
	action_kill(a);
	uv_timer_stop(&a->timer);
	a->phase = PHASE_KILLED;
	uv_timer_start(&a->timer, action_timer_cb, ACTION_KILL_WAIT_MS, 0);
}
