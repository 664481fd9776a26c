/*
 * Running a policy's action (or rollback) script on an endpoint.
 *
 * The caller has already fetched and verified the policy's blobs.  A run
 * makes a fresh staging directory STAGING_ROOT/<policy_id>-v<version>
 * (mode 0700), places a copy of every blob in it under its declared name
 * (a clone where the file system can share extents copy-on-write, else
 * copy_file_range or read and write: never a hard link), writes the
 * script to STAGING/.arbor-action.sh and runs
 *
 *	/bin/sh ./.arbor-action.sh
 *
 * with the staging directory as its working directory, stdin on
 * /dev/null, stdout and stderr into one pipe of which the last bytes are
 * kept, in a session and process group of its own.  On timeout or cancel
 * every process of the action is killed with SIGKILL, including those
 * that left its session (setsid):
 *
 *  - with spec->cgroup (a cgroup v2 directory this process may divide,
 *    from arb_action_cgroup_probe), the run makes the child cgroup
 *    CGROUP/arbor-<pid>-<n>, the shell moves itself into it before it
 *    starts the script, and a kill writes its cgroup.kill;
 *  - without, the first run makes this process a child subreaper
 *    (PR_SET_CHILD_SUBREAPER) and a kill SIGKILLs, in rounds until none is
 *    left, the shell and every process whose parent chain leads to it or
 *    to an orphan reparented here (other than another action's shell or
 *    a spared leftover, below).  Orphans that die are reaped here.
 *
 * What a script leaves running after it exits normally is not killed: it
 * is moved out of the cgroup to its parent, or (without one) spared by
 * later kills.  When actions run concurrently in one process without a
 * cgroup, a kill also takes the other actions' orphans.  All actions
 * must be started from one thread.
 *
 * A script may change its blobs in any way: they are its own copies.
 *
 * The script's environment holds exactly:
 *
 *	PATH			/usr/sbin:/usr/bin:/sbin:/bin
 *	HOME			the staging directory
 *	ARBOR_POLICY_ID		the policy id
 *	ARBOR_POLICY_VERSION	the policy version, decimal
 *	ARBOR_STAGING		the staging directory (also the cwd)
 *	ARBOR_FACTS_ROOT	the root facts are read from ("/" if unset)
 *	ARBOR_ACTION_KIND	"action" or "rollback"
 *	ARBOR_REBOOT_FILE	STAGING/.arbor-reboot (see below)
 *	ARBOR_TIMEOUT_MS	the timeout in milliseconds
 *
 * followed by the caller's extra_env; an extra "K=V" whose K is one of
 * the names above replaces it.
 *
 * Outcome: the action succeeded when /bin/sh exited with status 0 or with
 * status ARB_ACTION_EXIT_REBOOT (194).  The action asks for a reboot in
 * either of two ways: by creating the file named by $ARBOR_REBOOT_FILE
 * (any type, any content) or by exiting with status 194, which means
 * "succeeded, reboot needed".  The reboot flag is reported whatever the
 * exit status; the caller reboots only after a success.
 *
 * spec->kind ("action" or "rollback"; NULL means "action") names the
 * run in logs and in ARBOR_ACTION_KIND.
 *
 * Everything runs on the thread of the loop given to arb_action_start.
 */
#ifndef ARBOR_ACTION_H
#define ARBOR_ACTION_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

/* Exit status meaning "succeeded, reboot needed" (BigFix's convention). */
#define ARB_ACTION_EXIT_REBOOT	194
/* Size of arb_action_result.output: the tail kept is one byte less. */
#define ARB_ACTION_OUTPUT_MAX	4096
/* Script and reboot file names inside the staging directory. */
#define ARB_ACTION_SCRIPT	".arbor-action.sh"
#define ARB_ACTION_REBOOT_FILE	".arbor-reboot"

/* One blob: its declared name and the path of its verified file. */
struct arb_action_blob {
	const char	*name;
	const char	*path;
};

struct arb_action_spec {
	const char			*policy_id;
	uint32_t			 version;
	const char			*script;	/* shell text */
	const struct arb_action_blob	*blobs;
	size_t				 nblobs;
	const char			*staging_root;	/* e.g. DATA/staging */
	const char			*facts_root;	/* NULL: "/" */
	const char *const		*extra_env;	/* "K=V", NULL-ended */
	int64_t				 timeout_ms;	/* > 0 */
	const char			*kind;		/* NULL: "action" */
	const char			*cgroup;	/* NULL: parent chain */
	int				 gated;	/* wait for arb_action_go */
};

/*
 * What identifies a running action across a restart of this process, to
 * be kept durably (the caller's store, host byte order): the shell's pid
 * and start time, when its timeout ends, and its cgroup.
 */
struct arb_action_ident {
	int32_t		pid;
	uint32_t	pad;
	uint64_t	start;		/* /proc/PID/stat starttime, ticks */
	int64_t		deadline;	/* wall clock, seconds since the epoch */
	char		cgroup[PATH_MAX];	/* "" without one */
};

struct arb_action_result {
	int	exited;		/* exited normally ... */
	int	exit_status;	/* ... with this status */
	int	signaled;	/* killed by a signal ... */
	int	term_signal;	/* ... this one */
	int	timed_out;	/* the timeout fired; group killed */
	int	canceled;	/* arb_action_cancel was called */
	int	reboot;		/* reboot file created, or exit 194 */
	int	success;	/* exit 0 or 194, not timed out or canceled */
	/* Tail of stdout+stderr: valid UTF-8, NUL-terminated. */
	char	output[ARB_ACTION_OUTPUT_MAX];
	size_t	output_len;
	int64_t	elapsed_ms;
};

/*
 * Called exactly once per started action, on the loop thread, after the
 * process has exited and its output is read (or after the kill on timeout
 * or cancel).  res is valid only during the call.  Every libuv handle of
 * the action is already closed and the action is freed when the callback
 * returns: the caller must forget its pointer.
 */
typedef void (*arb_action_cb)(const struct arb_action_result *res,
    void *arg);

struct arb_action;

/*
 * Stage and start the action described by spec (which is copied as
 * needed: it may be freed on return).  On 0, *ap is the running action
 * and cb will be called once.  On failure nothing is called back and
 * nothing runs: ARB_EINVAL for a bad argument, a policy id or blob name
 * that arb_action_blob_name_ok refuses, or two blobs with one name;
 * -errno when staging fails; a libuv spawn failure is logged and
 * returned as -errno.  After a spawn failure the handles are closed on
 * the loop, so the loop must run for their memory to be freed.
 */
int	arb_action_start(uv_loop_t *loop, const struct arb_action_spec *spec,
	    arb_action_cb cb, void *arg, struct arb_action **ap);

/*
 * A gated action (spec->gated) is spawned, so that its identity can be
 * recorded, but its script does not start until arb_action_go: the shell
 * waits on a pipe.  If this process dies first, the pipe closes and the
 * shell exits with status 125 without running the script, so a run that
 * was never recorded never happens.  No-op for an action not gated, or
 * already let go.
 */
void	arb_action_go(struct arb_action *a);

/*
 * Kill the action's whole process group with SIGKILL.  The callback is
 * still called once, later, with canceled set (and normally signaled,
 * term_signal SIGKILL).  When the process has already exited, nothing is
 * killed and its status stands: the action only stops waiting for
 * output still held open by something the script left running.  Calling
 * it again is harmless; calling it after the callback has run is not
 * (the action is freed by then).
 */
void	arb_action_cancel(struct arb_action *a);

/*
 * 1 if name is acceptable as a blob's declared name (and as a policy id
 * in a staging path), else 0: not empty, not "." or "..", at most
 * NAME_MAX bytes, no '/', no control characters (below 0x20, or 0x7f),
 * valid UTF-8, and not beginning with ".arbor-" (reserved for the
 * script and the reboot file).  Used at publish and again at the agent.
 */
int	arb_action_blob_name_ok(const char *name);

/*
 * The identity of the running action a (see struct arb_action_ident),
 * into *id.
 */
void	arb_action_ident(const struct arb_action *a,
	    struct arb_action_ident *id);

/*
 * 1 if the action id names still has processes: its cgroup is populated
 * (an empty one is removed), or, without a cgroup, its shell is alive
 * with the same start time.  Else 0.  Without a cgroup, what the shell
 * left behind in another session is not seen.
 */
int	arb_action_ident_alive(const struct arb_action_ident *id);

/*
 * Kill what is left of the action id names: its cgroup (cgroup.kill), or
 * the shell's process group when the shell is still the same process.
 */
void	arb_action_ident_kill(const struct arb_action_ident *id);

/*
 * Find this process's own cgroup v2 directory and check that actions can
 * be contained in it: a child cgroup can be made there and has
 * cgroup.kill (Linux 5.14).  0 with the directory in out (outlen bytes),
 * ARB_ENOTFOUND when there is no cgroup v2 hierarchy, else -errno (as
 * -EACCES when it is not this process's to divide).
 */
int	arb_action_cgroup_probe(char *out, size_t outlen);

/*
 * Remove everything in staging_root (what runs cut short by a crash
 * left), not following symbolic links.  0, ARB_EINVAL, or the last
 * -errno (each failure is logged).
 */
int	arb_action_cleanup_all(const char *staging_root);

/*
 * Remove the staging directory of policy_id version under staging_root
 * and everything in it (not following symbolic links).  0 when it is
 * gone or was never there; ARB_EINVAL for a bad policy id; else -errno.
 */
int	arb_action_cleanup(const char *staging_root, const char *policy_id,
	    uint32_t version);

#endif
