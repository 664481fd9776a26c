#!/usr/bin/env python3
"""Retries and reapply with real processes.  A policy that retries twice,
2 s apart: an endpoint whose first run fails (the dpkg lock is held) and
whose second succeeds reports failed with its next try, then fixed, and
ran twice; one that always fails runs three times, the tries at least the
interval apart, and then stays failed, saying no retry is left; one that
works runs once.  A fixed policy that applies again (someone downgraded
the package): with reapply it is reported applicable again and applied
again; without, it is not run again."""

import json
import os
import re
import time

from arbortest import Net, run, wait_until, Failure

TOKEN = "retry-token"

# Each run leaves its time in runs; with fail present it fails as a busy
# package manager would, else it leaves the mark that makes it fixed.
ACTION = r"""
date +%s.%N >> "$ARBOR_FACTS_ROOT/runs"
if [ -e "$ARBOR_FACTS_ROOT/fail" ]; then
	echo "dpkg lock held by another process" >&2
	exit 4
fi
touch "$ARBOR_FACTS_ROOT/ran"
"""


def facts(net, name, fail=False):
    d = os.path.join(net.dir, "facts-" + name)
    os.makedirs(os.path.join(d, "etc"), exist_ok=True)
    with open(os.path.join(d, "etc", "hostname"), "w") as f:
        f.write(name + "\n")
    if fail:
        open(os.path.join(d, "fail"), "w").close()
    return d


def runs(net, name):
    try:
        with open(os.path.join(net.dir, "facts-" + name, "runs")) as f:
            return [float(x) for x in f.read().split()]
    except FileNotFoundError:
        return []


def rows(net, pid):
    eps = json.loads(net.ctl("endpoints", "--policy", pid, "--json").stdout)
    return {e["hostname"]: e for e in eps}


def start(net, names, **kw):
    root = net.root(enroll_token=TOKEN)
    relay = net.relay([root])
    agents = {}
    for n, (fail, groups) in names.items():
        agents[n] = net.agent([relay], name=n, facts_root=facts(net, n, fail),
                              group=groups, enroll_token=TOKEN,
                              report_delay="20ms", poll_interval="1s",
                              poll_jitter="100ms", inventory_interval="1s",
                              **kw)
    wait_until(lambda: sorted(e["hostname"] for e in json.loads(
        net.ctl("endpoints", "--json").stdout)) == sorted(names), 30,
        "every endpoint's inventory at the root")
    return agents


def test_retries():
    with Net("retry") as net:
        agents = start(net, {"flaky": (True, []), "broken": (True, []),
                             "fine": (False, [])})
        net.publish("rt", 1, {}, applicability='!file.exists("/ran")',
                    action=ACTION, retry={"count": 2, "interval": "2s"})
        agents["flaky"].wait_log(r"policy rt v1: failed; retry 1 of 2 at "
                                 r"\d{4}-", 30)
        # The lock is released before the retry.
        os.unlink(os.path.join(net.dir, "facts-flaky", "fail"))
        agents["fine"].wait_log(r"policy rt v1: fixed", 30)
        agents["flaky"].wait_log(r"policy rt v1: fixed", 30)
        agents["broken"].wait_log(r"no retry left \(2 made\)", 30)

        def reported():
            r = rows(net, "rt")
            return r if "no retry left" in r.get("broken", {}).get(
                "detail", "") and \
                r.get("flaky", {}).get("state") == "fixed" and \
                r.get("fine", {}).get("state") == "fixed" else None
        r = wait_until(reported, 20, "the root to hold the three results")
        if r["broken"]["exit_code"] != 4 or \
                "dpkg lock held" not in r["broken"]["detail"] or \
                "no retry left (2 made)" not in r["broken"]["detail"]:
            raise Failure("the broken endpoint's row: %r" % r["broken"])
        time.sleep(3)   # more than an interval: no fourth try may come
        got = {n: runs(net, n) for n in agents}
        if [len(got[n]) for n in ("flaky", "broken", "fine")] != [2, 3, 1]:
            raise Failure("runs: %r" % got)
        gaps = [b - a for a, b in zip(got["broken"], got["broken"][1:])]
        if min(gaps) < 1.9:
            raise Failure("tries closer than the interval: %r" % gaps)
        print("     tries of the broken endpoint %s s apart" %
              ", ".join("%.1f" % g for g in gaps))
        if len(re.findall(r"policy rt v1: retry \d of 2",
                          agents["broken"].text())) != 2:
            raise Failure("the broken endpoint's retries:\n%s" %
                          agents["broken"].text())


def test_reapply():
    with Net("reapply") as net:
        agents = start(net, {"again": (False, ["again"]),
                             "once": (False, ["once"])})
        net.publish("ra", 1, {}, applicability='!file.exists("/ran")',
                    action=ACTION, target={"groups": ["again"]},
                    reapply=True)
        net.publish("rb", 1, {}, applicability='!file.exists("/ran")',
                    action=ACTION, target={"groups": ["once"]})
        agents["again"].wait_log(r"policy ra v1: fixed", 30)
        agents["once"].wait_log(r"policy rb v1: fixed", 30)
        # The downgrade: what the install left is gone on both.
        for n in agents:
            os.unlink(os.path.join(net.dir, "facts-" + n, "ran"))
        agents["again"].wait_log(r"policy ra v1: applies again after it "
                                 r"was fixed: reapply 1", 20)
        wait_until(lambda: len(re.findall(r"policy ra v1: fixed",
                                          agents["again"].text())) == 2,
                   20, "the reapplied policy to be fixed again")
        wait_until(lambda: rows(net, "ra").get("again", {}).get("state") ==
                   "fixed" and len(runs(net, "again")) == 2, 20,
                   "the root to hold the reapplied result")
        time.sleep(3)   # a few polls: the one without reapply stays put
        if len(runs(net, "once")) != 1 or len(runs(net, "again")) != 2:
            raise Failure("runs: again %r, once %r" %
                          (runs(net, "again"), runs(net, "once")))
        if rows(net, "rb").get("once", {}).get("state") != "fixed" or \
                agents["once"].has_log(r"applies again"):
            raise Failure("the policy without reapply was applied again")


def test_bad_retry():
    """A retry the root cannot take is refused at publish, named."""
    with Net("retry-bad") as net:
        net.root()
        for bad, word in (({"count": 0}, "retry.count"),
                          ({"count": 101}, "retry.count"),
                          ({"count": 2, "interval": "soon"},
                           "retry.interval"),
                          ({"count": 2, "every": "1h"}, "every"),
                          ("3", "retry")):
            path, _ = net.policy_file("rbad", 1, {}, retry=bad)
            p = net.ctl("publish", path, check=False)
            if p.returncode == 0 or word not in p.stderr:
                raise Failure("retry %r: %r" % (bad, p.stderr))
        path, _ = net.policy_file("rbad", 1, {}, reapply="yes")
        p = net.ctl("publish", path, check=False)
        if p.returncode == 0 or "reapply" not in p.stderr:
            raise Failure("reapply \"yes\": %r" % p.stderr)


if __name__ == "__main__":
    run([test_retries, test_reapply, test_bad_retry])
