#!/usr/bin/env python3
"""Baselines and compliance at the root: on a tree whose endpoints differ
(one fixes both policies of a baseline, one finds one not applicable, two
fail one, one of those is exempted, one goes silent), `arborctl
compliance --json` and `--csv` say, endpoint by endpoint and policy by
policy, what the endpoints themselves reported (`arborctl endpoints
--json`); an exemption that expires no longer applies; an endpoint not
heard from for longer than --silent-after is not reporting, never
compliant; baselines and exemptions survive a restart of the root."""

import csv
import io
import json
import os
import re
import shutil
import time

from arbortest import Net, SCALE, run, wait_until, Failure
from test_inventory import INSTALL, NEEDS

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "fixtures")
TOKEN = "enrol-secret-comp"
# Fails where the facts tree holds /broken, fixes everywhere else.
FLAKY = ('if [ -e "$ARBOR_FACTS_ROOT/broken" ]; then exit 3; fi\n'
         'touch "$ARBOR_FACTS_ROOT/done"\n')
FINAL = ("fixed", "failed", "not-applicable")
POLICIES = ["cmp-openssl", "cmp-flaky"]


def fixture(net, kind, name, broken):
    dst = os.path.join(net.dir, "facts-" + name)
    shutil.copytree(os.path.join(FIXTURES, kind), dst)
    with open(os.path.join(dst, "etc", "hostname"), "w") as f:
        f.write(name + "\n")
    if broken:
        open(os.path.join(dst, "broken"), "w").close()
    return dst


def ctl_json(net, *args):
    return json.loads(net.ctl(*args, "--json").stdout)


def endpoints(net):
    """host name -> {"id": endpoint id, policy id: state reported}."""
    out = {}
    for e in ctl_json(net, "endpoints"):
        d = out.setdefault(e["hostname"], {"id": e["endpoint_id"]})
        if e["policy_id"]:
            d[e["policy_id"]] = e["state"]
    return out


def expected(eps, host, exempt, silent):
    """What compliance must say of host, from what it reported."""
    ok = {p: eps[host].get(p) in ("fixed", "not-applicable")
          for p in POLICIES}
    if host in exempt:
        return "exempt", ok
    if host in silent:
        return "not-reporting", ok
    return ("compliant" if all(ok.values()) else "below"), ok


def check(net, eps, exempt, silent, *extra):
    """compliance --json and --csv against what each endpoint reported."""
    doc = ctl_json(net, "compliance", "servers-2026-12", *extra)
    b = doc["baselines"]
    if len(b) != 1 or b[0]["name"] != "servers-2026-12" or \
            b[0]["policies"] != POLICIES or b[0]["target"] != "group:servers":
        raise Failure("baseline in the view: %r" % b)
    got = {e["hostname"]: e for e in b[0]["endpoints"]}
    servers = [h for h in eps if h.startswith("srv-")]
    if sorted(got) != sorted(servers):
        raise Failure("endpoints in the view %r, in group servers %r" %
                      (sorted(got), sorted(servers)))
    counts = {"compliant": 0, "below": 0, "exempt": 0, "not-reporting": 0}
    for h in servers:
        status, ok = expected(eps, h, exempt, silent)
        counts[status] += 1
        e = got[h]
        if e["endpoint"] != eps[h]["id"] or e["status"] != status:
            raise Failure("%s: view says %s, the endpoint reported %r "
                          "(want %s)" % (h, e["status"], eps[h], status))
        if sorted(e["missing"]) != sorted(p for p in POLICIES if not ok[p]):
            raise Failure("%s: missing %r, reported %r" %
                          (h, e["missing"], eps[h]))
        for p in e["policies"]:
            if p["state"] != eps[h].get(p["policy"], "no-report") or \
                    p["ok"] != ok[p["policy"]] or p["want_version"] != 1:
                raise Failure("%s: policy %r, reported %r" %
                              (h, p, eps[h]))
        if status == "exempt" and e["reason"] != exempt[h]:
            raise Failure("%s: exempt for %r" % (h, e.get("reason")))
    if b[0]["counts"] != counts:
        raise Failure("counts %r, want %r" % (b[0]["counts"], counts))
    # CSV: one row per endpoint and policy, the same facts.
    rows = list(csv.DictReader(io.StringIO(
        net.ctl("compliance", "servers-2026-12", "--csv", *extra).stdout)))
    if len(rows) != len(servers) * len(POLICIES):
        raise Failure("%d CSV rows for %d endpoints" %
                      (len(rows), len(servers)))
    for r in rows:
        h = r["hostname"]
        status, ok = expected(eps, h, exempt, silent)
        if r["endpoint"] != eps[h]["id"] or r["status"] != status or \
                r["state"] != eps[h].get(r["policy"], "no-report") or \
                r["ok"] != ("yes" if ok[r["policy"]] else "no") or \
                r["reason"] != exempt.get(h, ""):
            raise Failure("CSV row %r, reported %r" % (r, eps[h]))
    return doc


def test_compliance():
    with Net("compliance") as net:
        root = net.root(enroll_token=TOKEN)
        relay = net.relay([root], report_interval="300ms")
        kinds = [("srv-fix", "debian12-old-openssl", ["servers"], False),
                 ("srv-na", "debian12-patched", ["servers"], False),
                 ("srv-fail", "debian12-old-openssl", ["servers"], True),
                 ("srv-exempt", "debian12-patched", ["servers"], True),
                 ("srv-quiet", "debian12-patched", ["servers"], False),
                 ("lab-1", "debian12-old-openssl", ["lab"], True)]
        agents = {}
        for name, kind, groups, broken in kinds:
            agents[name] = net.agent(
                [relay], name=name, enroll_token=TOKEN, report_delay="20ms",
                facts_root=fixture(net, kind, name, broken), group=groups,
                inventory_interval="1s")
        wait_until(lambda: len(endpoints(net)) == len(kinds) and all(
            h in endpoints(net) for h in agents), 30,
            "every endpoint's inventory at the root")

        # A baseline names policies in the catalog, nothing else.
        p = net.ctl("baseline", "set", "servers-2026-12", "--target",
                    "group:servers", "--policy", "cmp-openssl", check=False)
        if p.returncode == 0 or "not in the catalog" not in p.stderr:
            raise Failure("a baseline of an unknown policy: %r" % p.stderr)
        net.publish("cmp-openssl", 1, {"p.bin": os.urandom(2000)},
                    applicability=NEEDS, action=INSTALL)
        net.publish("cmp-flaky", 1, {"q.bin": os.urandom(2000)},
                    applicability='!file.exists("/done")', action=FLAKY)
        net.ctl("baseline", "set", "servers-2026-12", "--target",
                "group:servers", "--policy", "cmp-openssl", "--policy",
                "cmp-flaky")
        net.ctl("baseline", "set", "fleet", "--target", "all",
                "--policy", "cmp-openssl")
        bl = ctl_json(net, "baseline", "list")
        if [(b["name"], b["target"]) for b in bl] != \
                [("fleet", "all"), ("servers-2026-12", "group:servers")]:
            raise Failure("baseline list: %r" % bl)

        def settled():
            eps = endpoints(net)
            return eps if all(eps[h].get(p) in FINAL for h in agents
                              for p in POLICIES) else None
        wait_until(settled, 90, "every endpoint's final state")
        eps = settled()
        if eps["srv-fail"]["cmp-flaky"] != "failed" or \
                eps["srv-fix"]["cmp-openssl"] != "fixed" or \
                eps["srv-na"]["cmp-openssl"] != "not-applicable":
            raise Failure("the tree did not do what it should: %r" % eps)

        # Exemptions: an endpoint that is not enrolled is refused; one
        # for good, one that expires in a few seconds.
        p = net.ctl("exempt", "0123456789abcdef", "--reason", "x",
                    check=False)
        if p.returncode == 0 or "no such endpoint" not in p.stderr:
            raise Failure("exempt of no endpoint: %r" % p.stderr)
        net.ctl("exempt", eps["srv-exempt"]["id"], "--reason",
                "change freeze", "--until", "30d")
        t0 = time.monotonic()
        net.ctl("exempt", eps["srv-fail"]["id"], "--reason", "brief",
                "--until", "%ds" % (6 * SCALE))
        exempt = {"srv-exempt": "change freeze", "srv-fail": "brief"}
        check(net, eps, exempt, set())
        if time.monotonic() - t0 > 5 * SCALE:
            raise Failure("too slow to see the short exemption")
        text = net.ctl("compliance").stdout
        for want in ("baseline servers-2026-12 (group:servers; 2 policies)",
                     "servers-2026-12: 5 endpoints: 3 compliant, 0 below, "
                     "2 exempt, 0 not reporting",
                     "fleet: 6 endpoints:", "change freeze (until "):
            if want not in text:
                raise Failure("compliance text lacks %r:\n%s" %
                              (want, text))
        # The short one expires: srv-fail is below again.
        del exempt["srv-fail"]
        wait_until(lambda: ctl_json(net, "compliance", "servers-2026-12")[
            "baselines"][0]["counts"]["below"] == 1, 30,
            "the short exemption to expire")
        check(net, eps, exempt, set())
        text = net.ctl("compliance", "servers-2026-12").stdout
        if "cmp-flaky (failed)" not in text:
            raise Failure("below, what is missing:\n%s" % text)

        # A group's exemption covers its endpoints in every baseline.
        net.ctl("exempt", "--group", "lab", "--reason", "test machines")
        fleet = {e["hostname"]: e for e in ctl_json(
            net, "compliance", "fleet")["baselines"][0]["endpoints"]}
        if fleet["lab-1"]["status"] != "exempt" or \
                fleet["lab-1"]["reason"] != "test machines" or \
                fleet["lab-1"]["until"] is not None or \
                fleet["srv-fix"]["status"] != "compliant":
            raise Failure("group exemption: %r" % fleet)
        net.ctl("exempt", "rm", "--group", "lab")

        # srv-quiet stops: past --silent-after it is not reporting, while
        # the others, reporting every second, are still heard.
        agents["srv-quiet"].stop()

        def quiet():
            d = ctl_json(net, "compliance", "servers-2026-12",
                         "--silent-after", "8s")["baselines"][0]
            st = {e["hostname"]: e["status"] for e in d["endpoints"]}
            return st if st["srv-quiet"] == "not-reporting" else None
        wait_until(quiet, 60, "the stopped endpoint to be not reporting")
        check(net, endpoints(net), exempt, {"srv-quiet"},
              "--silent-after", "8s")
        # Under the default (3 days) it is not silent yet.
        check(net, endpoints(net), exempt, set())

        # Baselines and exemptions are the root's: a restart keeps them.
        root.restart()
        wait_until(lambda: len(re.findall(r"serving .* control",
                                          root.text())) == 2, 10,
                   "the root serving again")
        if [b["name"] for b in ctl_json(net, "baseline", "list")] != \
                ["fleet", "servers-2026-12"]:
            raise Failure("baselines lost in a restart")
        ex = ctl_json(net, "exempt", "list")
        if sorted((x["endpoint"], x["expired"]) for x in ex) != sorted(
                [(eps["srv-exempt"]["id"], False),
                 (eps["srv-fail"]["id"], True)]):
            raise Failure("exemptions after a restart: %r" % ex)
        check(net, endpoints(net), exempt, set())

        # A target by name and by id, as a policy's target takes them.
        net.ctl("baseline", "set", "two", "--target", "endpoint:srv-fix",
                "--target", "endpoint:" + eps["lab-1"]["id"], "--policy",
                "cmp-flaky")
        two = ctl_json(net, "compliance", "two")["baselines"][0]
        st = {e["hostname"]: e["status"] for e in two["endpoints"]}
        if st != {"srv-fix": "compliant", "lab-1": "below"} or \
                two["target"] != "endpoint:srv-fix,endpoint:" + \
                eps["lab-1"]["id"]:
            raise Failure("baseline of two endpoints: %r" % two)
        net.ctl("baseline", "rm", "two")

        # Removing them; errors name what is wrong.
        net.ctl("exempt", "rm", eps["srv-exempt"]["id"])
        net.ctl("baseline", "rm", "fleet")
        p = net.ctl("baseline", "rm", "fleet", check=False)
        if p.returncode == 0 or "there is none" not in p.stderr:
            raise Failure("baseline rm twice: %r" % p.stderr)
        p = net.ctl("compliance", "fleet", check=False)
        if p.returncode == 0 or "no baseline fleet" not in p.stderr:
            raise Failure("compliance of no baseline: %r" % p.stderr)
        check(net, endpoints(net), {}, set())
        p = net.ctl("baseline", "set", "x", "--target", "rack:1",
                    "--policy", "cmp-flaky", check=False)
        if p.returncode == 0 or "--target rack:1" not in p.stderr:
            raise Failure("a bad target: %r" % p.stderr)


if __name__ == "__main__":
    run([test_compliance])
