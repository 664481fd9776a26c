#!/usr/bin/env python3
"""Endpoint locks with real processes: an endpoint locked by id and a group
locked until a time run no action at all, report `locked`, and are listed
so by `arborctl endpoints` and exempt in compliance, while the others fix
the policy; a rollback asked meanwhile does not run on a locked endpoint;
the locks survive a restart of the root; the group's lock expires by
--until and its endpoint proceeds; unlocking the other lets it proceed
too."""

import json
import os
import re
import time

from arbortest import Net, run, wait_until, Failure

TOKEN = "locks-token"


def facts(net, name):
    d = os.path.join(net.dir, "facts-" + name)
    os.makedirs(os.path.join(d, "etc"), exist_ok=True)
    with open(os.path.join(d, "etc", "hostname"), "w") as f:
        f.write(name + "\n")
    return d


def ctl_json(net, *args):
    return json.loads(net.ctl(*args, "--json").stdout)


def rows(net, pid):
    """host name -> its row for policy pid in arborctl endpoints --json."""
    return {e["hostname"]: e for e in ctl_json(net, "endpoints", "--policy",
                                               pid)}


def ran(net, name, mark="ran"):
    return os.path.exists(os.path.join(net.dir, "facts-" + name, mark))


def test_locks():
    with Net("locks") as net:
        root = net.root(enroll_token=TOKEN)
        relay = net.relay([root])
        names = {"payroll": [], "trader": ["trading"], "web": ["web"]}
        agents = {}
        for n, groups in names.items():
            agents[n] = net.agent([relay], name=n, facts_root=facts(net, n),
                                  group=groups, enroll_token=TOKEN,
                                  report_delay="20ms",
                                  inventory_interval="1s")
        wait_until(lambda: sorted(e["hostname"] for e in ctl_json(
            net, "endpoints")) == sorted(names), 30,
            "every endpoint's inventory at the root")
        ids = {e["hostname"]: e["endpoint_id"]
               for e in ctl_json(net, "endpoints")}

        # No head yet: nothing to carry a lock.
        p = net.ctl("endpoint", "lock", ids["payroll"], check=False)
        if p.returncode == 0 or "no head" not in p.stderr:
            raise Failure("a lock with nothing published: %r" % p.stderr)
        net.publish("lk-base", 1, {}, applicability="false")
        net.ctl("endpoint", "lock", ids["payroll"], "--reason",
                "old payroll machine")
        until = time.time() + 15
        out = net.ctl("endpoint", "lock", "--group", "trading", "--until",
                      "15s", "--reason", "market hours").stdout
        if "group:trading: locked" not in out:
            raise Failure("lock output: %r" % out)
        locks = ctl_json(net, "endpoint", "locks")
        if sorted((x.get("endpoint") or "", x.get("group") or "")
                  for x in locks) != sorted([(ids["payroll"], ""),
                                             ("", "trading")]):
            raise Failure("endpoint locks: %r" % locks)
        # Bad requests change nothing and say what is wrong.
        for bad in (["endpoint", "lock"],
                    ["endpoint", "lock", "x", "--group", "g"],
                    ["endpoint", "lock", "x", "--until", "yesterday"],
                    ["endpoint", "unlock", "x", "--reason", "r"]):
            if net.ctl(*bad, check=False).returncode != 2:
                raise Failure("arborctl %s accepted" % " ".join(bad))
        p = net.ctl("endpoint", "unlock", "nobody", check=False)
        if p.returncode != 1 or "no such lock" not in p.stderr:
            raise Failure("unlock of no lock: %r" % p.stderr)

        net.publish("lk", 1, {"lk.bin": os.urandom(3000)},
                    applicability='!file.exists("/ran")',
                    action='touch "$ARBOR_FACTS_ROOT/ran"',
                    rollback='touch "$ARBOR_FACTS_ROOT/undone"')
        agents["web"].wait_log(r"policy lk v1: fixed", 30)
        for n in ("payroll", "trader"):
            agents[n].wait_log(r"policy lk v1: locked", 30)
        agents["payroll"].wait_log(r"locked: old payroll machine; until "
                                   r"unlocked", 5)
        agents["trader"].wait_log(r"locked with group trading: market "
                                  r"hours; until \d{4}-", 5)

        def listed():
            r = rows(net, "lk")
            return r if all(r.get(n, {}).get("state") == "locked"
                            for n in ("payroll", "trader")) else None
        r = wait_until(listed, 20, "the root to list the locked endpoints")
        if not r["payroll"]["locked"] or \
                r["payroll"]["locked_reason"] != "old payroll machine" or \
                r["web"]["locked"] or r["web"]["state"] != "fixed":
            raise Failure("endpoints --json: %r" % r)
        text = net.ctl("endpoints", "--policy", "lk").stdout
        if len(re.findall(r"  locked  ", text)) != 2:
            raise Failure("endpoints text without the locked:\n%s" % text)
        net.ctl("baseline", "set", "fleet", "--target", "all", "--policy",
                "lk")
        comp = {e["hostname"]: e for e in ctl_json(
            net, "compliance", "fleet")["baselines"][0]["endpoints"]}
        if comp["payroll"]["status"] != "exempt" or \
                comp["payroll"]["reason"] != "old payroll machine" or \
                comp["trader"]["status"] != "exempt" or \
                comp["web"]["status"] != "compliant":
            raise Failure("compliance: %r" % comp)

        # A rollback asked while locked runs only where it is not locked.
        net.ctl("rollback", "lk")
        agents["web"].wait_log(r"policy lk v1: rolled-back", 30)
        time.sleep(1)
        if ran(net, "payroll") or ran(net, "trader") or \
                ran(net, "payroll", "undone"):
            raise Failure("a locked endpoint ran an action")

        # The root keeps its locks across a restart.
        root.restart()
        wait_until(lambda: len(re.findall(r"serving .* control",
                                          root.text())) == 2, 10,
                   "the root serving again")
        if len(ctl_json(net, "endpoint", "locks")) != 2:
            raise Failure("locks lost in a restart")

        # --until: the group's lock runs out, its endpoint proceeds.
        agents["trader"].wait_log(r"policy lk v1: fixed", until -
                                  time.time() + 30)
        if time.time() < until - 1:
            raise Failure("the lock did not hold until its time")
        wait_until(lambda: len(ctl_json(net, "endpoint", "locks")) == 1,
                   10, "the root to drop the expired lock")
        if ran(net, "payroll"):
            raise Failure("the locked endpoint ran it")

        net.ctl("endpoint", "unlock", ids["payroll"])
        agents["payroll"].wait_log(r"policy lk v1: fixed", 30)
        if ctl_json(net, "endpoint", "locks") != []:
            raise Failure("a lock is left after unlock")
        for a in agents.values():
            if not a.running():
                raise Failure("%s stopped" % a.name)


if __name__ == "__main__":
    run([test_locks])
