#!/usr/bin/env python3
"""Reboots with real processes, on endpoints whose facts tree holds their
boot id (proc/sys/kernel/random/boot_id) and whose reboot_command is a
script that counts its runs and writes a new boot id, as a reboot would.
Two policies that need a reboot on one endpoint: both actions run, both
report reboot-pending, the command runs once, after the last action, and
both are fixed after the new boot; a forced reboot's delay is kept; a
policy still applicable after the reboot fails; a reboot command that
fails is reported and not run again at once.  A user reboot waits for
arbor-agent reboot now, or for its deadline; it cannot be deferred past
the deadline.  A lock holds a pending reboot back.  An agent killed with -9 while reboot-pending keeps the
state, and one killed after it asked for the reboot does not ask again in
the same boot.  Bad reboot values are refused at publish, named."""

import json
import os
import subprocess
import time
import uuid

from arbortest import Net, run, wait_until, Failure, BIN, SCALE

TOKEN = "reboot-token"

# Each run leaves its start and end; with the policy's id as the mark that
# makes it fixed (unless "keep" is in the tree: then it stays applicable).
ACTION = r"""
date +%%s.%%N >> "$ARBOR_FACTS_ROOT/start-%(id)s"
sleep %(sleep)s
[ -e "$ARBOR_FACTS_ROOT/keep" ] || touch "$ARBOR_FACTS_ROOT/%(id)s"
date +%%s.%%N >> "$ARBOR_FACTS_ROOT/end-%(id)s"
"""

# The reboot: one line per run; a new boot id unless "noboot" is there.
REBOOT = r"""#!/bin/sh
date +%%s.%%N >> "%(d)s/reboots"
[ -e "%(d)s/fail" ] && { echo "Failed to reboot: access denied" >&2; exit 3; }
[ -e "%(d)s/noboot" ] && exit 0
cat /proc/sys/kernel/random/uuid > "%(d)s/boot_id.new"
mv "%(d)s/boot_id.new" "%(d)s/proc/sys/kernel/random/boot_id"
"""


def facts(net, name, marks):
    d = os.path.join(net.dir, "facts-" + name)
    os.makedirs(os.path.join(d, "etc"), exist_ok=True)
    os.makedirs(os.path.join(d, "proc", "sys", "kernel", "random"))
    with open(os.path.join(d, "etc", "hostname"), "w") as f:
        f.write(name + "\n")
    new_boot(d)
    for m in marks:
        open(os.path.join(d, m), "w").close()
    script = os.path.join(net.dir, "reboot-" + name)
    with open(script, "w") as f:
        f.write(REBOOT % {"d": d})
    os.chmod(script, 0o755)
    return d, script


def new_boot(d):
    with open(os.path.join(d, "proc/sys/kernel/random/boot_id"), "w") as f:
        f.write(str(uuid.uuid4()) + "\n")


def times(d, what):
    try:
        with open(os.path.join(d, what)) as f:
            return [float(x) for x in f.read().split()]
    except FileNotFoundError:
        return []


def rows(net, pid):
    eps = json.loads(net.ctl("endpoints", "--policy", pid, "--json").stdout)
    return {e["hostname"]: e for e in eps}


def state_is(net, pid, host, state, detail=""):
    r = rows(net, pid).get(host, {})
    return r if r.get("state") == state and detail in r.get("detail", "") \
        else None


def ask(agent, *words):
    p = subprocess.run([BIN["agent"]] + agent.args + list(words),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, timeout=30 * SCALE)
    return p.returncode, p.stdout + p.stderr


def start(net):
    root = net.root(enroll_token=TOKEN)
    return root, net.relay([root])


def agents(net, relay, names):
    """names: {name: marks, the files made in its facts tree}; each agent
    in the group of its name.  Returns ({name: agent}, {name: facts dir})."""
    ags, dirs = {}, {}
    for n, marks in names.items():
        d, script = facts(net, n, marks)
        dirs[n] = d
        ags[n] = net.agent([relay], name=n, facts_root=d, group=[n],
                           enroll_token=TOKEN, report_delay="20ms",
                           poll_interval="1s", poll_jitter="100ms",
                           reboot_command=script)
    wait_until(lambda: sorted(e["hostname"] for e in json.loads(
        net.ctl("endpoints", "--json").stdout)) == sorted(names), 30,
        "every endpoint at the root")
    return ags, dirs


def publish(net, pid, group, reboot, sleep=0):
    net.publish(pid, 1, {}, applicability='!file.exists("/%s")' % pid,
                action=ACTION % {"id": pid, "sleep": sleep},
                target={"groups": [group]}, reboot=reboot)


def test_once():
    with Net("reboot-once") as net:
        root, relay = start(net)
        # Both in the first head the endpoint sees.
        publish(net, "rb1", "two", {"mode": "forced", "after": "4s"}, 1)
        publish(net, "rb2", "two", {"mode": "forced", "after": "5s"}, 1)
        publish(net, "late", "late", {"mode": "forced", "after": "3s"})
        publish(net, "stays", "stays", {"mode": "forced"})
        publish(net, "denied", "denied", {"mode": "forced"})
        ags, dirs = agents(net, relay, {"two": [], "late": [],
                                        "stays": ["keep"],
                                        "denied": ["fail"]})
        # A reboot command that fails: reported, not run again at once.
        wait_until(lambda: state_is(net, "denied", "denied",
                                    "reboot-pending", "reboot_command "
                                    "failed (exit 3); tried again at"), 30,
                   "the failed reboot command reported")
        # Both pending at the root, and no reboot yet.
        wait_until(lambda: state_is(net, "rb1", "two", "reboot-pending",
                                    "reboot at ") and
                   state_is(net, "rb2", "two", "reboot-pending",
                            "reboot at "), 20,
                   "rb1 and rb2 reboot-pending at the root")
        if times(dirs["two"], "reboots"):
            raise Failure("rebooted before both were reported pending")
        for pid, host in (("rb1", "two"), ("rb2", "two"), ("late", "late")):
            wait_until(lambda: state_is(net, pid, host, "fixed",
                                        "after the reboot"), 40,
                       "%s fixed after the reboot" % pid)
        r = wait_until(lambda: state_is(net, "stays", "stays", "failed"),
                       30, "the policy still applicable to fail")
        if "still applicable after reboot" not in r["detail"]:
            raise Failure("stays: %r" % r)
        time.sleep(2)   # polls: no second reboot comes
        two = ags["two"].text()
        for pid in ("rb1", "rb2"):
            if "policy %s v1: reboot-pending" % pid not in two:
                raise Failure("%s never reported reboot-pending:\n%s" %
                              (pid, two))
        reb = times(dirs["two"], "reboots")
        ends = times(dirs["two"], "end-rb1") + times(dirs["two"], "end-rb2")
        if len(reb) != 1 or len(ends) != 2:
            raise Failure("reboots %r, action ends %r" % (reb, ends))
        if reb[0] < max(ends) or reb[0] - min(ends) < 3.5:
            raise Failure("rebooted at %.2f; the actions ended at %r" %
                          (reb[0], ends))
        if two.index("reboot-pending (forced)") > two.index("rebooting for"):
            raise Failure("rebooted before the policies were pending")
        late = times(dirs["late"], "reboots")
        lend = times(dirs["late"], "end-late")
        if len(late) != 1 or late[0] - lend[0] < 2.5:
            raise Failure("forced after 3s: ended %r, rebooted %r" %
                          (lend, late))
        print("     two policies, one reboot %.1f s after the first action; "
              "forced 3s rebooted after %.1f s" %
              (reb[0] - min(ends), late[0] - lend[0]))
        if len(times(dirs["denied"], "reboots")) != 1:
            raise Failure("a failed reboot command ran again at once: %r" %
                          times(dirs["denied"], "reboots"))
        if len(times(dirs["stays"], "reboots")) != 1:
            raise Failure("stays rebooted %r" % times(dirs["stays"],
                                                      "reboots"))


def test_user():
    with Net("reboot-user") as net:
        root, relay = start(net)
        publish(net, "uu", "asks", {"mode": "user", "deadline": "1h"})
        publish(net, "ud", "waits", {"mode": "user", "deadline": "4s"})
        publish(net, "us", "slow", {"mode": "forced"})
        publish(net, "ul", "held", {"mode": "forced", "after": "5s"})
        ags, dirs = agents(net, relay, {"asks": [], "waits": [],
                                        "slow": ["noboot"], "held": []})
        # A lock that comes while the policy is pending holds the reboot.
        wait_until(lambda: state_is(net, "ul", "held", "reboot-pending"),
                   30, "ul reboot-pending at the root")
        net.ctl("endpoint", "lock", "--group", "held", "--reason", "busy")
        ags["held"].wait_log(r"the endpoint is locked: the reboot waits",
                             20)
        wait_until(lambda: state_is(net, "uu", "asks", "reboot-pending",
                                    "user may postpone until"), 30,
                   "uu reboot-pending at the root")
        # The deadline alone reboots the other.
        wait_until(lambda: state_is(net, "ud", "waits", "fixed"), 30,
                   "ud fixed after its deadline")
        w = times(dirs["waits"], "reboots")
        we = times(dirs["waits"], "end-ud")
        if len(w) != 1 or w[0] - we[0] < 3:
            raise Failure("deadline 4s: ended %r, rebooted %r" % (we, w))

        rc, out = ask(ags["asks"], "reboot", "defer", "2h")
        if rc == 0 or "cannot be deferred past it" not in out:
            raise Failure("deferred past the deadline: %d %s" % (rc, out))
        rc, out = ask(ags["asks"], "reboot")
        if rc != 0 or "1 policies wait for a reboot; it happens at" not in out:
            raise Failure("reboot status: %d %s" % (rc, out))
        # Killed while pending: still pending, nothing rebooted.
        ags["asks"].kill9()
        ags["asks"].restart()
        ags["asks"].wait_log(r"started", 20)
        time.sleep(2)
        if times(dirs["asks"], "reboots") or not state_is(
                net, "uu", "asks", "reboot-pending"):
            raise Failure("after kill -9: reboots %r, row %r" % (
                times(dirs["asks"], "reboots"), rows(net, "uu")))
        rc, out = ask(ags["asks"], "reboot", "now")
        if rc != 0 or "reboot for 1 policies at" not in out:
            raise Failure("reboot now: %d %s" % (rc, out))
        wait_until(lambda: state_is(net, "uu", "asks", "fixed",
                                    "after the reboot"), 20,
                   "uu fixed after reboot now")
        if len(times(dirs["asks"], "reboots")) != 1:
            raise Failure("reboot now ran %r" % times(dirs["asks"],
                                                      "reboots"))
        rc, out = ask(ags["asks"], "reboot", "now")
        if rc == 0 or "no policy waits for a reboot" not in out:
            raise Failure("reboot now with nothing pending: %s" % out)

        if times(dirs["held"], "reboots"):
            raise Failure("a locked endpoint rebooted")
        net.ctl("endpoint", "unlock", "--group", "held")
        wait_until(lambda: state_is(net, "ul", "held", "fixed"), 30,
                   "ul fixed once the lock went")

        # Asked, but the boot did not change: killed and restarted in the
        # same boot, the agent does not ask again.
        wait_until(lambda: len(times(dirs["slow"], "reboots")) == 1, 20,
                   "the slow endpoint's reboot command")
        ags["slow"].kill9()
        ags["slow"].restart()
        ags["slow"].wait_log(r"asked already in this boot", 20)
        time.sleep(3)
        if len(times(dirs["slow"], "reboots")) != 1 or not state_is(
                net, "us", "slow", "reboot-pending"):
            raise Failure("asked twice in one boot: %r" % times(
                dirs["slow"], "reboots"))
        rc, out = ask(ags["slow"], "reboot")
        if rc != 0 or "reboot_command ran at" not in out:
            raise Failure("reboot status: %d %s" % (rc, out))
        new_boot(dirs["slow"])          # the reboot, late
        wait_until(lambda: state_is(net, "us", "slow", "fixed"), 20,
                   "us fixed once the boot changed")


def test_bad():
    """Reboot values the root cannot take are refused at publish, named."""
    with Net("reboot-bad") as net:
        net.root()
        for bad, word in (("always", "reboot"),
                          ({"mode": "soon"}, "reboot.mode"),
                          ({"mode": "user"}, "reboot.deadline"),
                          ({"mode": "user", "deadline": "31d"},
                           "reboot.deadline"),
                          ({"mode": "forced", "after": "later"},
                           "reboot.after"),
                          ({"mode": "forced", "at": "1h"}, "reboot.at")):
            path, _ = net.policy_file("bad", 1, {}, reboot=bad)
            p = net.ctl("publish", path, check=False)
            if p.returncode == 0 or word not in p.stderr:
                raise Failure("reboot %r: %d %s" % (bad, p.returncode,
                                                    p.stderr))
        if net.head_seq() != 0:
            raise Failure("a bad policy was published")


if __name__ == "__main__":
    run([test_once, test_user, test_bad])
