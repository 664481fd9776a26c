/*
 * Running a policy's action script: the one place an endpoint executes
 * what a publisher wrote.  The agent daemon and the simulated endpoints
 * both call it once a policy applies and its blobs are verified.
 *
 * A run stages a fresh directory holding the blobs under their declared
 * names and the script, then starts /bin/sh on the script through
 * uv_spawn in a session of its own, so that its process id is also the
 * id of a process group holding everything it starts; a timeout or a
 * cancel kills that group with one kill(-pid, SIGKILL).
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
#include <sys/stat.h>
#include <sys/types.h>

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
	char			 staging[PATH_MAX];
	char			 reboot[PATH_MAX];
	char			 ring[ACTION_TAIL];
	size_t			 ring_head;	/* next byte written here */
	size_t			 ring_len;	/* bytes held */
	uint64_t		 total;		/* bytes read in all */
	char			 rbuf[16384];
	struct arb_action_result res;
};

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

/* Copy the file src to the new file dst (the blob is on another fs). */
static int
action_copy(const char *src, const char *dst)
{
	char	buf[65536];
	size_t	n;
	int	in, out, rv;

	if ((in = open(src, O_RDONLY | O_CLOEXEC)) == -1)
		return -errno;
	out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (out == -1) {
		rv = -errno;
		close(in);
		return rv;
	}
	for (;;) {
		if ((rv = arb_io_read(in, buf, sizeof(buf), &n)) != 0 ||
		    n == 0)
			break;
		if ((rv = arb_io_write_full(out, buf, n)) != 0)
			break;
	}
	if (close(out) == -1 && rv == 0)
		rv = -errno;
	close(in);
	if (rv != 0)
		unlink(dst);
	return rv;
}

/* Place one blob in the staging directory: a hard link, else a copy. */
static int
action_place(const struct arb_action *a, const struct arb_action_blob *b)
{
	char	dst[PATH_MAX];
	int	n;

	n = snprintf(dst, sizeof(dst), "%s/%s", a->staging, b->name);
	if (n < 0 || (size_t)n >= sizeof(dst))
		return -ENAMETOOLONG;
	if (link(b->path, dst) == 0)
		return 0;
	if (errno != EXDEV && errno != EPERM && errno != EMLINK &&
	    errno != EOPNOTSUPP)
		return -errno;
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

static void
action_free(struct arb_action *a)
{
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
	const char			*rb;

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

static void
action_kill(struct arb_action *a)
{
	int	rv;

	if (a->killed)
		return;
	a->killed = 1;
	if (kill(-a->pid, SIGKILL) == 0)
		return;
	log_warn("agent: policy %s v%" PRIu32 ": kill process group %d",
	    a->policy_id, a->version, a->pid);
	if ((rv = uv_process_kill(&a->proc, SIGKILL)) != 0)
		log_warnx("agent: policy %s v%" PRIu32 ": kill %d: %s",
		    a->policy_id, a->version, a->pid, uv_strerror(rv));
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

int
arb_action_start(uv_loop_t *loop, const struct arb_action_spec *spec,
    arb_action_cb cb, void *arg, struct arb_action **ap)
{
	uv_process_options_t	 opts;
	uv_stdio_container_t	 stdio[3];
	struct arb_action	*a;
	const char		*what;
	char			*args[3], **env = NULL;
	uv_file			 fds[2];
	int			 rv;

	if (loop == NULL || spec == NULL || cb == NULL || ap == NULL ||
	    !action_spec_ok(spec))
		return ARB_EINVAL;
	if ((a = calloc(1, sizeof(*a))) == NULL)
		return -ENOMEM;
	a->cb = cb;
	a->arg = arg;
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

	args[0] = "/bin/sh";
	args[1] = "./" ARB_ACTION_SCRIPT;
	args[2] = NULL;
	memset(&opts, 0, sizeof(opts));
	memset(stdio, 0, sizeof(stdio));
	stdio[0].flags = UV_IGNORE;		/* /dev/null */
	stdio[1].flags = UV_INHERIT_FD;
	stdio[1].data.fd = fds[1];
	stdio[2].flags = UV_INHERIT_FD;
	stdio[2].data.fd = fds[1];
	opts.exit_cb = action_exit_cb;
	opts.file = args[0];
	opts.args = args;
	opts.env = env;
	opts.cwd = a->staging;
	opts.flags = UV_PROCESS_DETACHED;	/* setsid: own group */
	opts.stdio_count = 3;
	opts.stdio = stdio;
	a->start_ns = uv_hrtime();
	rv = uv_spawn(loop, &a->proc, &opts);
	a->nopen++;
	close(fds[1]);
	action_env_free(env);
	env = NULL;
	if (rv != 0) {
		log_warnx("agent: policy %s v%" PRIu32 ": cannot run /bin/sh: "
		    "%s", a->policy_id, a->version, uv_strerror(rv));
		uv_close((uv_handle_t *)&a->proc, action_close_cb);
		goto fail;
	}
	a->pid = a->proc.pid;
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
