/*
 * An operator's policy file: JSON, read by arborctl before it publishes.
 * The only user of jansson's parser in libarbor.
 *
 *	{
 *	  "id": "demo-1", "version": 1, "title": "...",
 *	  "severity": "critical" | "high" | "medium" | "low",
 *	  "applicability": "expression text",
 *	  "action": "script text"    or "action_file": "path",
 *	  "rollback": "script text"  or "rollback_file": "path",  (optional)
 *	  "blobs": [ { "path": "file", "name": "optional" } ]      (optional)
 *	}
 *
 * Relative paths resolve against the directory that holds the JSON file.
 * A blob's name defaults to its path's last component.
 */
#ifndef ARBOR_POLICY_H
#define ARBOR_POLICY_H

#include <stddef.h>

#include "arbor.pb-c.h"

/* Severities a policy may carry, most urgent first; NULL-terminated. */
extern const char *const arb_policy_severities[];

/*
 * A loaded policy file.  pol is filled and owns every string and blob
 * reference in it (published_at is 0: the root sets it).  blob_paths[i] is
 * the local path of pol.blobs[i], already resolved against the JSON file's
 * directory; nblobs equals pol.n_blobs.
 */
struct arb_policy_file {
	Arbor__Policy	  pol;
	char		**blob_paths;
	size_t		  nblobs;
};

/*
 * Load and check the policy file at path, reading any action_file or
 * rollback_file and hashing every blob (SHA-256 and size).  Returns 0 and
 * *pfp (free with arb_policy_file_free), or ARB_EINVAL with a message in err
 * that names the file and the field, e.g.
 *	demo.json: field "severity": must be one of critical, high, medium, low
 * (also when the file itself cannot be read), or -ENOMEM.  err may be NULL.
 */
int	arb_policy_load(const char *path, struct arb_policy_file **pfp,
	    char *err, size_t errlen);

/*
 * Same, from len bytes of JSON in buf.  name is used in messages and dir is
 * the directory that relative paths resolve against (NULL: the current
 * directory).
 */
int	arb_policy_parse(const char *name, const char *buf, size_t len,
	    const char *dir, struct arb_policy_file **pfp, char *err,
	    size_t errlen);

/* Free a loaded policy file and everything it owns.  NULL is a no-op. */
void	arb_policy_file_free(struct arb_policy_file *pf);

/* 1 if id is a valid policy id: [A-Za-z0-9._-]{1,128}, else 0. */
int	arb_policy_id_valid(const char *id);

/*
 * 1 if name is a valid blob name: 1..255 bytes, no '/' or control
 * characters, not "." or "..", else 0.
 */
int	arb_policy_blob_name_valid(const char *name);

/*
 * 1 if a target (a Policy's target_endpoints, target_groups and
 * target_props, "key=value") takes an endpoint, else 0: every endpoint
 * when all three are empty; otherwise one that matches any kind named:
 * its id or name, one of its groups, or all the properties listed (prop
 * gives the endpoint's value of a key, or NULL).  The agent decides with
 * it, and the root's dry run with the same words.
 */
struct arb_target {
	char *const	 *endpoints;
	size_t		  nendpoints;
	char *const	 *groups;
	size_t		  ngroups;
	char *const	 *props;
	size_t		  nprops;
};
int	arb_target_match(const struct arb_target *tg, const char *id,
	    const char *name, char *const *groups, size_t ngroups,
	    const char *(*prop)(void *arg, const char *key, size_t klen),
	    void *arg);

#endif
