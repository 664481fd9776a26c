#!/usr/bin/env python3
"""Inventories at the root: every endpoint's packages reach the root (the
first report full, then changes), `arborctl query` answers in the
applicability language over them, terms only an endpoint can know are
reported as unknown, and `publish --dry-run` predicts exactly what the
endpoints then report, relay by relay, on a tree whose endpoints differ;
the changes an action made ride with its result, one signed report."""

import json
import os
import re
import shutil

from arbortest import Net, run, wait_until, Failure

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "fixtures")
TOKEN = "enrol-secret-inv"
FIXED = "3.0.22-1~deb12u2"
NEEDS = ('os.id == "debian" && pkg("openssl") < version("%s")' % FIXED)
INSTALL = r"""
set -e
sed -i 's/^Version: 3.0.11-1~deb12u2$/Version: 3.0.22-1~deb12u2/' \
    "$ARBOR_FACTS_ROOT/var/lib/dpkg/status"
"""
# Reported states that say "it applied here" (all but not-applicable).
NOT_APPLICABLE = "not-applicable"


def fixture(net, name):
    net.n += 1
    dst = os.path.join(net.dir, "facts-%d-%s" % (net.n, name))
    shutil.copytree(os.path.join(FIXTURES, name), dst)
    return dst


def query(net, *args):
    return json.loads(net.ctl("query", "--json", *args).stdout)


def tree(net):
    """Root, two relays, seven endpoints that differ: old openssl (some
    in group servers), patched, Ubuntu."""
    root = net.root(enroll_token=TOKEN)
    relays = [net.relay([root], report_interval="300ms") for _ in range(2)]
    kinds = [("debian12-old-openssl", ["servers"]),
             ("debian12-old-openssl", []),
             ("debian12-old-openssl", ["servers"]),
             ("debian12-patched", ["servers"]),
             ("debian12-patched", []),
             ("ubuntu-2204", ["servers"]),
             ("debian12-old-openssl", [])]
    agents = []
    for i, (k, groups) in enumerate(kinds):
        agents.append(net.agent([relays[i % 2]], facts_root=fixture(net, k),
                                enroll_token=TOKEN, report_delay="20ms",
                                group=groups))
    wait_until(lambda: query(net, "true")["matched"] == len(agents), 30,
               "every endpoint's inventory at the root")
    return root, relays, agents, kinds


def test_query_and_unknown():
    with Net("inv-query") as net:
        root, relays, agents, kinds = tree(net)
        want = sum(1 for k, _ in kinds if k == "debian12-old-openssl")
        q = query(net, NEEDS)
        if q["matched"] != want or q["unknown"] or q["errors"]:
            raise Failure("query %s: %r" % (NEEDS, q))
        # The same expression and dpkg order: "~" sorts before the end,
        # so 3.0.22-1~deb12u2 (patched) is older than 3.0.22-1.
        q = query(net, 'os.id == "debian" && '
                  'pkg("openssl") < version("3.0.22-1")')
        if q["matched"] != 6:	# four old, two patched
            raise Failure("dpkg order at the root: %r" % q)
        by = query(net, NEEDS, "--by", "relay")["by"]
        if sorted(by) != sorted(r.name for r in relays) or \
                sum(by.values()) != want:
            raise Failure("--by relay: %r" % by)
        grp = query(net, "true", "--by", "group")["by"]
        if grp.get("servers") != 4:
            raise Failure("--by group: %r" % grp)
        n = net.ctl("query", "--count", NEEDS).stdout.strip()
        if n != str(want):
            raise Failure("--count: %r" % n)
        # Files are the endpoint's: unknown at the root, never guessed...
        q = query(net, 'file.exists("/opt/app/bin/app")')
        if q["matched"] != 0 or q["unknown"] != len(agents):
            raise Failure("file.* at the root: %r" % q)
        if "only the endpoint knows" not in \
                q["unknown_endpoints"][0]["why"]:
            raise Failure("unknown, why: %r" % q["unknown_endpoints"][0])
        # ...unless the rest of the expression decides without them.
        q = query(net, 'os.id == "ubuntu" && file.exists("/etc/hostname")')
        if q["matched"] != 0 or q["unknown"] != 1:
            raise Failure("short-circuit past file.*: %r" % q)
        # A bad expression is refused with the parser's own words.
        p = net.ctl("query", 'pkg("openssl") <', check=False)
        if p.returncode == 0 or "at " not in p.stderr:
            raise Failure("bad expression: %r" % (p.stderr,))


def test_dry_run_equals_reported():
    with Net("inv-dryrun") as net:
        root, relays, agents, kinds = tree(net)
        path, _ = net.policy_file("inv-openssl", 1,
                                  {"payload.bin": os.urandom(20000)},
                                  applicability=NEEDS, action=INSTALL,
                                  target={"groups": ["servers"]})
        dry = json.loads(net.ctl("publish", "--dry-run", "--json",
                                 path).stdout)
        predicted = dry["matched"]
        pred_by = dry["by"]
        text = net.ctl("publish", "--dry-run", path).stdout
        if "would apply to %d endpoints" % predicted not in text:
            raise Failure("dry run text: %r" % text)
        net.ctl("publish", path)

        def reported():
            eps = json.loads(net.ctl("endpoints", "--policy",
                                     "inv-openssl", "--json").stdout)
            done = [e for e in eps if e["state"] in
                    ("fixed", "failed", NOT_APPLICABLE)]
            return eps if len(done) == len(eps) and \
                len(eps) == len(agents) else None

        # Untargeted endpoints report nothing: wait for the targeted.
        targeted = sum(1 for _, g in kinds if "servers" in g)

        def settled():
            eps = json.loads(net.ctl("endpoints", "--policy",
                                     "inv-openssl", "--json").stdout)
            final = [e for e in eps if e["state"] in
                     ("fixed", "failed", NOT_APPLICABLE)]
            return eps if len(final) == targeted else None
        wait_until(settled, 60, "every targeted endpoint's final state")
        eps = settled()
        applied = [e for e in eps if e["state"] != NOT_APPLICABLE]
        got_by = {}
        for e in applied:
            got_by[e["via"][0]] = got_by.get(e["via"][0], 0) + 1
        if len(applied) != predicted or got_by != pred_by:
            raise Failure("dry run said %d %r, endpoints reported %d %r" %
                          (predicted, pred_by, len(applied), got_by))
        if predicted != 2:	# old openssl and in servers
            raise Failure("predicted %d, the tree has 2" % predicted)
        # The installs changed the inventories: the root's follows.
        wait_until(lambda: query(net, NEEDS)["matched"] == 2, 30,
                   "the fixed endpoints' new inventories at the root")
        if root.has_log(r"inventory changes not applied"):
            raise Failure("a delta did not apply:\n" + root.text()[-2000:])


def test_exposure():
    """Policies name the CVEs they fix and a CVSS score (or vector):
    exposure lists, per CVE, the endpoints where a fixing policy applies
    and is not fixed, highest score first."""
    with Net("inv-exposure") as net:
        root, relays, agents, kinds = tree(net)
        old = sum(1 for k, _ in kinds if k == "debian12-old-openssl")
        net.publish("inv-broken", 1, {"p.bin": os.urandom(1000)},
                    applicability=NEEDS, action="exit 3",
                    cves=["CVE-2026-1111"],
                    cvss="CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H")
        net.publish("inv-nowhere", 1, {"p.bin": os.urandom(1000)},
                    applicability='pkg("openssl") == none',
                    cves=["CVE-2026-2222", "CVE-2026-1111"], cvss=5.0)
        bad = net.ctl("publish", net.policy_file(
            "inv-bad", 1, {"p.bin": b"x"}, cves=["CVE-26-1"])[0],
            check=False)
        if bad.returncode == 0 or "cves" not in bad.stderr:
            raise Failure("a bad CVE id was taken: %r" % bad.stderr)

        def exposure():
            d = json.loads(net.ctl("exposure", "--json").stdout)["cves"]
            return d if d and d[0]["exposed"] == old else None

        def failed():	# exposed counts those still running too
            t = net.ctl("exposure", "CVE-2026-1111").stdout
            return t if t.count(" failed") == old else None
        wait_until(exposure, 60, "the failed endpoints to be exposed")
        wait_until(failed, 60, "the exposed endpoints to have failed")
        d = exposure()
        if [x["cve"] for x in d] != ["CVE-2026-1111", "CVE-2026-2222"] or \
                abs(d[0]["cvss"] - 9.8) > 0.01 or d[1]["exposed"] != 0:
            raise Failure("exposure: %r" % d)
        text = net.ctl("exposure", "CVE-2026-1111").stdout
        if text.count(" failed") != old:
            raise Failure("exposure CVE-2026-1111: %r" % text)


def carry_tree(net, delay):
    """A root that logs each report it takes, a relay, one agent with old
    openssl gathering reports for delay, and policy carry v1 that upgrades
    it, published."""
    root = net.root(enroll_token=TOKEN, start=False)
    root.args.append("-v")
    root.start()
    root.wait_log(r"serving .* control")
    relay = net.relay([root], report_interval="200ms")
    agent = net.agent([relay], facts_root=fixture(
        net, "debian12-old-openssl"), enroll_token=TOKEN, report_delay=delay)
    wait_until(lambda: query(net, NEEDS)["matched"] == 1, 30,
               "the endpoint's inventory at the root")
    net.publish("carry", 1, {"payload.bin": os.urandom(5000)},
                applicability=NEEDS, action=INSTALL)
    return root, agent


def took(root):
    """(seq, policy, state) of every report the root took, in order."""
    return re.findall(r"root: report \S+ seq (\d+): (\S*) (\S+)\n",
                      root.text())


def test_result_carries_inventory():
    """An action that upgrades openssl: its result and the inventory's
    changes reach the root as one report, the policy's, and the root's
    inventory follows; the only inventory report on its own is the first
    one, made at enrolment (the root logs each report it takes)."""
    with Net("inv-carry") as net:
        root, agent = carry_tree(net, "20ms")
        wait_until(lambda: [e["state"] for e in json.loads(net.ctl(
            "endpoints", "--policy", "carry", "--json").stdout)] ==
            ["fixed"], 30, "the endpoint fixed at the root")
        if query(net, NEEDS)["matched"] != 0:
            raise Failure("the result came without the new inventory")
        agent.restart()
        got = took(root)
        alone = [t for t in got if t[1] == ""]
        fixed = [t for t in got if t[1] == "carry" and t[2] == "fixed"]
        if len(alone) != 1 or len(fixed) != 1:
            raise Failure("reports the root took: %r (one inventory on its "
                          "own, at enrolment, and one fixed wanted)" % got)
        if root.has_log(r"inventory changes not applied"):
            raise Failure("a delta did not apply:\n" + root.text()[-2000:])

def test_inventory_carried_past_replacement():
    """The result that carries the inventory's changes is replaced before
    it is sent (a new version of the policy reports within the 3 s the
    agent gathers reports for): the newer report carries them on, so the
    root's inventory still follows the upgrade."""
    with Net("inv-carry2") as net:
        root, agent = carry_tree(net, "3s")
        agent.wait_log(r"policy carry v1: fixed")
        net.publish("carry", 2, {}, applicability="true", action="true")
        wait_until(lambda: [e["state"] for e in json.loads(net.ctl(
            "endpoints", "--policy", "carry", "--json").stdout)] ==
            ["failed"], 30, "v2's result at the root")
        got = took(root)
        if ("carry", "fixed") in [(t[1], t[2]) for t in got]:
            raise Failure("v1's result was sent before v2 replaced it: "
                          "nothing carried (%r)" % got)
        wait_until(lambda: query(net, NEEDS)["matched"] == 0, 10,
                   "the upgrade in the root's inventory, carried by v2")
        if len([t for t in got if t[1] == ""]) != 1:
            raise Failure("an inventory report on its own: %r" % got)

if __name__ == "__main__":
    run([test_query_and_unknown, test_dry_run_equals_reported,
         test_exposure, test_result_carries_inventory,
         test_inventory_carried_past_replacement])
