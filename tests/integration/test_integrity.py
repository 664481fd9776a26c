"""What a hostile child or parent can do to reports on their way to the root:
each test hands real relays and agents the input an attacker would send
(arbor-forge sits where a relay or a child sits) and checks that genuine
reports still reach the root, and that the agent notices when they do not."""

import json
import os
import re

from arbortest import Net, run, wait_until, Failure

TOKEN = "enrol-secret-1"
SEQ_MAX = 2 ** 64 - 1


def counts(net, pid):
    s = json.loads(net.ctl("status", "--json", pid).stdout)
    for p in s["policies"]:
        if p["id"] == pid:
            return p["version"], {k: v for k, v in p["counts"].items() if v}
    return 0, {}


def publish(net, pid, version, data):
    """A policy whose action leaves a mark, and is fixed once it is there."""
    mark = "done-%s-%d" % (pid, version)
    net.publish(pid, version, {"a.bin": data},
                applicability='!file.exists("/%s")' % mark,
                action='touch "$ARBOR_FACTS_ROOT/%s"' % mark)


def agent(net, relays, **kw):
    facts = os.path.join(net.dir, "facts-%d" % (net.n + 1))
    os.makedirs(facts, exist_ok=True)
    kw.setdefault("report_delay", "20ms")
    return net.agent(relays, enroll_token=TOKEN, facts_root=facts, **kw)


def agent_id(a):
    m = a.wait_log(r"agent: enrolled as ([0-9a-f]{32})", 20)
    return m.group(1)


def hostile(net, mode, parent):
    from arbortest import free_port
    net.n += 1
    svc = "tcp://127.0.0.1:%d" % free_port()
    pub = "tcp://127.0.0.1:%d" % free_port()
    node = net._node("forge", "hostile%d-%s" % (net.n, mode),
                     ["relay", "--svc", svc, "--pub", pub, "--parent",
                      parent.svc, "--mode", mode])
    node.svc, node.pub = svc, pub
    node.start()
    node.wait_log(r"forge-relay: serving")
    return node


def spoofer(net, relay, victim):
    """arbor-forge spoof in the background: a report in victim's name for
    policy p with seq 2^64-1, every 50 ms for 15 s."""
    import subprocess
    from arbortest import BIN
    log = open(os.path.join(net.dir, "spoof-%s.out" % victim[:8]), "w")
    p = subprocess.Popen([BIN["forge"], "spoof", relay.svc, victim, "p",
                          str(SEQ_MAX), "7", "300", "50"], stdout=log,
                         stderr=subprocess.STDOUT)
    log.close()
    return p


def test_spoofed_report_displaces_nothing():
    """A hostile child keeps sending, through a real relay, a report in a
    real agent's name with sequence number 2^64-1.  It must not displace
    the agent's genuine reports: they reach the root, whether the relay
    knows the agent's key (it enrolled through it) or not yet (it enrolled
    through another relay)."""
    with Net("integrity-spoof") as net:
        root = net.root(enroll_token=TOKEN)
        r1 = net.relay([root], report_interval="1s")
        r2 = net.relay([root], report_interval="1s")
        a1 = agent(net, [r1])
        id1 = agent_id(a1)
        # Enrolled through r2, then moved to r1, which never saw its key.
        a2 = agent(net, [r2])
        id2 = agent_id(a2)
        a2.stop()
        spoofs = [spoofer(net, r1, id1), spoofer(net, r1, id2)]
        try:
            agent(net, [r1], name="moved", data_dir=a2.dir)
            rc, out = net.forge_cmd("spoof", r1.svc, id1, "p", SEQ_MAX, 7)
            if rc != 0 or "accepted 0 rejected 1" not in out:
                raise Failure("the relay took a report its endpoint never "
                              "signed: %s" % out)
            r1.wait_log(r"report from %s seq %d refused: not signed by "
                        r"the key the root enrolled" % (id1, SEQ_MAX))
            publish(net, "p", 1, b"x" * 1000)
            wait_until(lambda: counts(net, "p")[1] == {"fixed": 2}, 30,
                       "both agents' genuine reports at the root")
        finally:
            for p in spoofs:
                p.kill()
                p.wait()
        root.wait_log(r"report from %s seq %d via relay\d refused" %
                      (id2, SEQ_MAX))


def test_forged_enrolment_reply():
    """A hostile relay answers the enrolment itself.  The agent must not
    believe it: it stays unenrolled, says why, and enrols for real once it
    reaches the root through an honest relay."""
    with Net("integrity-enrol") as net:
        root = net.root(enroll_token=TOKEN)
        relay = net.relay([root], report_interval="300ms")
        h = hostile(net, "enrol", root)
        a = agent(net, [h, relay], timeout="1s")
        h.wait_log(r"enrol: answered [0-9a-f]+ myself", 20)
        a.wait_log(r"enrolment reply not signed by the root \(.*\): not "
                   r"enrolled", 10)
        if a.has_log(r"agent: enrolled as") and not \
                json.loads(net.ctl("status", "--json").stdout)["endpoints"]:
            raise Failure("the agent believed a forged enrolment reply")
        h.stop()       # the agent moves on to the honest relay
        agent_id(a)
        wait_until(lambda: json.loads(net.ctl("status", "--json").stdout)
                   ["endpoints"] == 1, 20, "the real enrolment")


def test_refused_reports_are_kept():
    """The agent reaches a root that does not know it (enrolled at
    another root with the same publisher key).  The reports that root
    refuses as from an unknown endpoint are kept, the agent says so and
    enrols again, and they reach the root."""
    with Net("integrity-refused") as net:
        old = net.root(name="oldroot", enroll_token=TOKEN)
        a = agent(net, [old], receipt_timeout="2s")
        agent_id(a)
        a.stop()
        root = net.root(enroll_token=TOKEN)
        publish(net, "p", 1, b"y" * 1000)
        # Its first batch holds p's state with the inventory.
        a2 = agent(net, [root], name="moved", data_dir=a.dir,
                   receipt_timeout="2s", report_delay="500ms")
        a2.wait_log(r"report seq \d+ \(p\) refused by .*: not found", 30)
        a2.wait_log(r"the root does not know this endpoint", 10)
        agent_id(a2)
        wait_until(lambda: counts(net, "p")[1] == {"fixed": 1}, 30,
                   "the refused reports, sent again after enrolment")


def test_dropped_batch_is_noticed():
    """A hostile relay acknowledges batches and drops them.  No receipt
    from the root comes, so the agent sends the reports again through its
    other relay, and the root gets them."""
    with Net("integrity-drop") as net:
        root = net.root(enroll_token=TOKEN)
        relay = net.relay([root], report_interval="300ms")
        h = hostile(net, "drop", root)
        # In order: the hostile one first, whatever their distances.
        a = agent(net, [h, relay], receipt_timeout="3s",
                  poll_interval="1s", probe_interval="0")
        agent_id(a)
        publish(net, "p", 1, b"z" * 1000)
        h.wait_log(r"drop: [1-9]\d* reports acknowledged and dropped", 20)
        a.wait_log(r"no receipt from the root for \d+ reports", 20)
        wait_until(lambda: counts(net, "p")[1] == {"fixed": 1}, 30,
                   "the dropped reports, through the other relay")


def test_withheld_version_counts_nothing():
    """A hostile relay passes v1's results and withholds v2's: v1's
    "fixed" must not count for v2, and the agent notices that v2's
    reports have no receipt."""
    with Net("integrity-version") as net:
        root = net.root(enroll_token=TOKEN)
        h = hostile(net, "withhold", root)
        a = agent(net, [h], receipt_timeout="3s", poll_interval="1s")
        agent_id(a)
        publish(net, "p", 1, b"1" * 1000)
        wait_until(lambda: counts(net, "p") == (1, {"fixed": 1}), 30,
                   "v1 fixed at the root")
        publish(net, "p", 2, b"2" * 1000)
        h.wait_log(r"withhold: [1-9]\d* reports of v2", 20)
        a.wait_log(r"policy p v2: fixed", 20)
        v, c = counts(net, "p")
        if c.get("fixed"):
            raise Failure("v1's result counted for v%d: %r" % (v, c))
        a.wait_log(r"no receipt from the root for \d+ reports", 20)


if __name__ == "__main__":
    run([test_spoofed_report_displaces_nothing,
         test_forged_enrolment_reply,
         test_refused_reports_are_kept,
         test_dropped_batch_is_noticed,
         test_withheld_version_counts_nothing])
