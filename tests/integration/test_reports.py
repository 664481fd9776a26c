"""Endpoints decide what applies, install it, and their status flows up the
tree, aggregated: the root's counts match what each endpoint did; a relay
killed mid-flight loses nothing and doubles nothing; an offline agent
catches up; timeouts, failures and rollback are reported; a hostile relay
cannot forge, alter or replay a report; the root receives fewer messages
than reports."""

import os
import shutil
import signal
import time

from arbortest import Net, run, wait_until, Failure, BIN, free_port

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "fixtures")
TOKEN = "enrol-secret-1"

# The install: move openssl to the fixed version in the fixture's dpkg
# status, and leave a mark.  An endpoint whose tree holds etc/arbor-fail
# fails instead.
INSTALL = r"""
set -e
if [ -e "$ARBOR_FACTS_ROOT/etc/arbor-fail" ]; then
	echo "disk full" >&2
	exit 3
fi
sed -i 's/^Version: 3.0.11-1~deb12u2$/Version: 3.0.22-1~deb12u2/' \
    "$ARBOR_FACTS_ROOT/var/lib/dpkg/status"
cat payload.bin > "$ARBOR_FACTS_ROOT/installed"
echo installed
"""
ROLLBACK = r"""
sed -i 's/^Version: 3.0.22-1~deb12u2$/Version: 3.0.11-1~deb12u2/' \
    "$ARBOR_FACTS_ROOT/var/lib/dpkg/status"
rm -f "$ARBOR_FACTS_ROOT/installed"
"""
NEEDS = ('os.id == "debian" && '
         'pkg("openssl") < version("3.0.22-1~deb12u2")')


def fixture(net, name, fail=False):
    """A private copy of a fixture tree for one agent."""
    net.n += 1
    dst = os.path.join(net.dir, "facts-%d-%s" % (net.n, name))
    shutil.copytree(os.path.join(FIXTURES, name), dst)
    if fail:
        open(os.path.join(dst, "etc", "arbor-fail"), "w").close()
    return dst


def status(net, pid=None):
    import json
    args = ["status", "--json"] + ([pid] if pid else [])
    return json.loads(net.ctl(*args).stdout)


def counts(net, pid):
    for p in status(net, pid)["policies"]:
        if p["id"] == pid:
            return {k: v for k, v in p["counts"].items() if v}
    return {}


def agent(net, relays, facts, **kw):
    return net.agent(relays, facts_root=facts, enroll_token=TOKEN,
                     report_delay="20ms", **kw)


def publish_openssl(net, version=1, **kw):
    fields = dict(applicability=NEEDS, action=INSTALL, rollback=ROLLBACK,
                  timeout=20)
    fields.update(kw)
    return net.publish("demo-openssl", version,
                       {"payload.bin": os.urandom(300000)}, **fields)


def test_tree_counts_match_endpoints():
    with Net("reports") as net:
        root = net.root(enroll_token=TOKEN)
        r1 = net.relay([root], report_interval="300ms")
        r2 = net.relay([root], report_interval="300ms")
        r3 = net.relay([r1], report_interval="300ms")
        kinds = (["debian12-old-openssl"] * 3 + ["debian12-patched"] +
                 ["ubuntu-2204"])
        agents, trees = [], []
        for i, k in enumerate(kinds):
            t = fixture(net, k, fail=(i == 2))
            trees.append(t)
            agents.append(agent(net, [(r1, r2, r3)[i % 3]], t))
        wait_until(lambda: status(net)["endpoints"] == len(agents), 20,
                   "every agent to enrol")
        publish_openssl(net)
        want = {"fixed": 2, "failed": 1, "not-applicable": 2}
        wait_until(lambda: counts(net, "demo-openssl") == want, 30,
                   "the root's counts to reach %r" % want)
        # Each endpoint did what the root says it did.
        for i, t in enumerate(trees):
            installed = os.path.exists(os.path.join(t, "installed"))
            if installed != (i in (0, 1)):
                raise Failure("agent %d: installed=%s" % (i, installed))
        import json
        eps = json.loads(net.ctl("endpoints", "--policy", "demo-openssl",
                                 "--state", "failed", "--json").stdout)
        if len(eps) != 1 or "exit 3" not in eps[0]["detail"] \
                or "disk full" not in eps[0]["detail"]:
            raise Failure("failed endpoints: %r" % eps)
        # The paths through the tree are recorded.
        eps = json.loads(net.ctl("endpoints", "--policy", "demo-openssl",
                                 "--json").stdout)
        vias = sorted(len(e["via"]) for e in eps)
        # Agent i is under relay i % 3; relay3 is one tier deeper.
        if vias != sorted(2 if i % 3 == 2 else 1 for i in range(5)):
            raise Failure("paths: %r" % [e["via"] for e in eps])
        tree = json.loads(net.ctl("tree", "--json").stdout)
        names = sorted(r["node_id"] for r in tree["relays"])
        if names != sorted([r1.name, r2.name, r3.name]) and \
                len(names) != 3:
            raise Failure("tree: %r" % tree)


def test_relay_killed_midflight_exactly_once():
    with Net("kill9") as net:
        root = net.root(enroll_token=TOKEN)
        # A long report interval: reports sit in the relay's spool.
        relay = net.relay([root], report_interval="3s", node_id="r1")
        agents = [agent(net, [relay], fixture(net, "debian12-old-openssl"))
                  for _ in range(4)]
        wait_until(lambda: status(net)["endpoints"] == 4, 20, "enrolment")
        publish_openssl(net)
        # All four fixed on the endpoints, acknowledged by the relay...
        for a in agents:
            a.wait_log(r"policy demo-openssl v1: fixed", 20)
        time.sleep(0.3)
        # ...and the relay dies before its next batch.
        relay.kill9()
        before = status(net)
        relay.start()
        want = {"fixed": 4}
        wait_until(lambda: counts(net, "demo-openssl") == want, 20,
                   "every report to reach the root")
        # The relay's batch after the restart carried what its spool held
        # at the kill; nothing was counted twice (a batch sent again
        # would be refused as a replay, not counted).
        total = sum(counts(net, "demo-openssl").values())
        if total != 4:
            raise Failure("counted %d endpoints, want 4" % total)
        if before.get("policies") and \
                counts(net, "demo-openssl").get("fixed", 0) != 4:
            raise Failure("not every endpoint fixed at the root")
        if not relay.has_log(r"signal|serving"):
            raise Failure("relay log")


def test_offline_agent_catches_up():
    with Net("offline") as net:
        root = net.root(enroll_token=TOKEN)
        relay = net.relay([root], report_interval="200ms")
        on = agent(net, [relay], fixture(net, "debian12-old-openssl"))
        off = agent(net, [relay], fixture(net, "debian12-old-openssl"),
                    poll_interval="1s", poll_jitter="100ms")
        wait_until(lambda: status(net)["endpoints"] == 2, 20, "enrolment")
        off.stop()
        publish_openssl(net)
        net.ctl("push", "demo-openssl")
        wait_until(lambda: counts(net, "demo-openssl") == {"fixed": 1}, 20,
                   "the online agent")
        off.start()
        wait_until(lambda: counts(net, "demo-openssl") == {"fixed": 2}, 20,
                   "the agent that was offline to catch up")
        del on


def test_timeout_and_failure():
    with Net("timeout") as net:
        root = net.root(enroll_token=TOKEN)
        relay = net.relay([root], report_interval="200ms")
        slow = agent(net, [relay], fixture(net, "debian12-old-openssl"))
        net.publish("slow", 1, {}, applicability="true",
                    action="echo starting; sleep 30 & sleep 30", timeout=1)
        net.publish("broken", 1, {}, applicability="true",
                    action="echo oops >&2; exit 7")
        wait_until(lambda: counts(net, "slow") == {"failed": 1} and
                   counts(net, "broken") == {"failed": 1}, 30,
                   "both to fail")
        import json
        eps = {e["policy_id"]: e for e in json.loads(net.ctl(
            "endpoints", "--state", "failed", "--json").stdout)}
        if "timed out" not in eps["slow"]["detail"]:
            raise Failure("slow: %r" % eps["slow"])
        if eps["broken"]["exit_code"] != 7 or \
                "oops" not in eps["broken"]["detail"]:
            raise Failure("broken: %r" % eps["broken"])
        del slow


def test_rollback():
    with Net("rollback") as net:
        root = net.root(enroll_token=TOKEN)
        relay = net.relay([root], report_interval="200ms")
        trees = [fixture(net, "debian12-old-openssl") for _ in range(2)]
        trees.append(fixture(net, "debian12-patched"))
        for t in trees:
            agent(net, [relay], t, poll_interval="1s", poll_jitter="100ms")
        wait_until(lambda: status(net)["endpoints"] == 3, 20, "enrolment")
        publish_openssl(net)
        wait_until(lambda: counts(net, "demo-openssl") ==
                   {"fixed": 2, "not-applicable": 1}, 30, "install")
        net.ctl("rollback", "demo-openssl")
        wait_until(lambda: counts(net, "demo-openssl") ==
                   {"rolled-back": 2, "not-applicable": 1}, 30, "rollback")
        for t in trees[:2]:
            if os.path.exists(os.path.join(t, "installed")):
                raise Failure("rollback left %s installed" % t)


def hostile(net, mode, root):
    svc = "tcp://127.0.0.1:%d" % free_port()
    pub = "tcp://127.0.0.1:%d" % free_port()
    node = net._node("forge", "hostile-" + mode,
                     ["relay", "--svc", svc, "--pub", pub,
                      "--parent", root.svc, "--mode", mode])
    node.svc, node.pub = svc, pub
    node.start()
    node.wait_log(r"serving")
    return node


def test_hostile_relay_refused():
    with Net("hostile") as net:
        root = net.root(enroll_token=TOKEN)
        for mode, reason in (("alter", r"bad signature"),
                             ("forge", r"not pinned"),
                             ("replay", None)):
            h = hostile(net, mode, root)
            a = agent(net, [h], fixture(net, "debian12-old-openssl"))
            a.wait_log(r"enrolled as", 20)
            # The agent's inventory report goes through the hostile relay.
            if reason is None:
                # The very bytes the root holds, sent again: taken, and
                # nothing changes (as after a lost ack).
                h.wait_log(r"root accepted [1-9]\d*, rejected 0", 20)
                continue
            h.wait_log(r"root accepted \d+, rejected [1-9]", 20)
            root.wait_log(r"report from .* refused: .*%s" % reason, 10)
        s = status(net)
        if s["rejected"] < 2:
            raise Failure("root counted %d rejected" % s["rejected"])
        # Honest passage is accepted (the harness can see acceptance).
        h = hostile(net, "honest", root)
        a = agent(net, [h], fixture(net, "debian12-old-openssl"))
        h.wait_log(r"root accepted [1-9]\d*, rejected 0", 20)


def test_fan_in_fewer_messages_than_reports():
    with Net("fanin") as net:
        root = net.root(enroll_token=TOKEN)
        relays = [net.relay([root], report_interval="500ms")
                  for _ in range(2)]
        n = 16
        for i in range(n):
            agent(net, [relays[i % 2]],
                  fixture(net, "debian12-old-openssl"))
        wait_until(lambda: status(net)["endpoints"] == n, 30, "enrolment")
        s0, t0 = status(net), time.monotonic()
        publish_openssl(net)
        wait_until(lambda: counts(net, "demo-openssl") == {"fixed": n}, 60,
                   "all fixed")
        s, t = status(net), time.monotonic() - t0
        # Each endpoint made several reports (inventory, applicable,
        # downloading, running, fixed...); the root got far fewer messages.
        import re
        made = sum(len(re.findall(r"agent: policy demo-openssl v1: ",
                                  a.text())) + 1
                   for a in net.nodes if a.kind == "agent")
        if made < 4 * n:
            raise Failure("the agents made only %d reports" % made)
        # The root's messages follow its children and the report interval,
        # not the endpoints: at most one per relay per 500 ms (and one
        # more each for the round in flight), fewer than the reports.
        sent = s["batches"] - s0["batches"]
        if sent > len(relays) * (t / 0.5 + 2) or \
                not sent < s["reports"] - s0["reports"] or \
                not s["batches"] < s["reports"]:
            raise Failure("root received %d messages (%d in the %.1f s "
                          "of the push) for %d reports (%d made by %d "
                          "endpoints)" % (s["batches"], sent, t,
                                          s["reports"], made, n))
        print("     fan-in: %d reports made, %d reached the root in %d "
              "messages" % (made, s["reports"], s["batches"]))


if __name__ == "__main__":
    run([test_tree_counts_match_endpoints,
         test_relay_killed_midflight_exactly_once,
         test_offline_agent_catches_up,
         test_timeout_and_failure,
         test_rollback,
         test_hostile_relay_refused,
         test_fan_in_fewer_messages_than_reports])
