"""Nearest parent, fast failover: an agent with two relays, one of them made
farther by a TCP proxy in this test that delays every byte by 75 ms each
way, uses the near one (although the far one is listed first); when the
near one stops answering (SIGSTOP: its connections stay up, nothing
answers) the agent moves to the far one within the default failover time
(15 s), and back when the near one answers again; after a kill and a
restart too.  `arborctl endpoints --json` shows the relay in use at each
step, as the agent's signed reports say.  The same for a relay with two
parents (the code is the link both share), seen in the path of the
reports of an agent below it."""

import json
import os
import re
import signal
import subprocess
import time

from arbortest import BIN, DelayProxy, Net, run, wait_until, Failure, SCALE

TOKEN = "nearest-token"
DELAY = 0.075          # seconds each way: ~150 ms more round trip
FAILOVER = 15          # the default failover, in seconds
BOUND = 20             # what the test accepts for it (scaled)


def port_of(url):
    return int(url.rsplit(":", 1)[1])


def far_address(proxy):
    return "tcp://127.0.0.1:%d tcp://127.0.0.1:%d" % tuple(proxy.ports)


def endpoint_relay(net):
    """The relay in use of the one endpoint, as the root shows it."""
    eps = json.loads(net.ctl("endpoints", "--json").stdout)
    return eps[0].get("relay") if eps else None


def moves_to(node, word, svc):
    return len(re.findall(r"%s %s\n" % (word, re.escape(svc)), node.text()))


def wait_move(node, word, svc, before, bound, what):
    """Wait until node logs one more move to svc than before; seconds."""
    t0 = time.monotonic()
    wait_until(lambda: moves_to(node, word, svc) > before, bound, what)
    return time.monotonic() - t0


def two_relays(net):
    """The root, a near relay and a far one behind a DelayProxy; returns
    (near, far, proxy, far's svc address through the proxy)."""
    root = net.root(enroll_token=TOKEN)
    near = net.relay([root], report_interval="200ms")
    far = net.relay([root], report_interval="200ms")
    proxy = DelayProxy([("127.0.0.1", port_of(far.svc)),
                        ("127.0.0.1", port_of(far.pub))], DELAY)
    return near, far, proxy, far_address(proxy).split()[0]


def stop_and_fail_over(node, word, near, fsvc, what):
    """SIGSTOP near (its connections stay up, nothing answers) and wait
    for node to move to fsvc within the bound; prints the time."""
    before = moves_to(node, word, fsvc)
    os.kill(near.proc.pid, signal.SIGSTOP)
    took = wait_move(node, word, fsvc, before, BOUND + 5,
                     "%s to move to the far one" % what)
    print("     near one stopped: %s on the far one after %.1f s "
          "(failover %d s)" % (what, took, FAILOVER))
    if took > BOUND * SCALE:
        raise Failure("failover took %.1f s" % took)


def test_agent_nearest_relay():
    with Net("nearest-agent") as net:
        near, far, proxy, fsvc = two_relays(net)
        stopped = False
        try:
            # The far one first: order alone would pick it.
            agent = net.agent([far_address(proxy), near],
                              probe_interval="2s", timeout="10s",
                              report_delay="100ms", enroll_token=TOKEN)
            agent.wait_log(r"agent: relay %s is nearer" %
                           re.escape(near.svc), 15)
            agent.wait_log(r"agent: relay %s\n" % re.escape(near.svc))
            wait_until(lambda: endpoint_relay(net) == near.svc, 20,
                       "arborctl endpoints to show the near relay")
            m = re.search(r"nearer \(([\d.]+) ms against ([\d.]+) ms",
                          agent.text())
            print("     near %s ms, far %s ms" % (m.group(1), m.group(2)))
            if float(m.group(2)) < 100:
                raise Failure("the far relay measured %s ms" % m.group(2))

            # Black-holed: stopped, its connections up, nothing answers.
            stopped = True
            stop_and_fail_over(agent, "agent: relay", near, fsvc, "the agent")
            wait_until(lambda: endpoint_relay(net) == fsvc, 20,
                       "arborctl endpoints to show the far relay")

            # Back: it answers again, and is nearer.
            before = moves_to(agent, "agent: relay", near.svc)
            t0 = time.monotonic()
            os.kill(near.proc.pid, signal.SIGCONT)
            stopped = False
            wait_move(agent, "agent: relay", near.svc, before, 15,
                      "the agent to move back to the near relay")
            print("     near relay back: agent on it after %.1f s "
                  "(probe_interval 2 s)" % (time.monotonic() - t0))
            wait_until(lambda: endpoint_relay(net) == near.svc, 20,
                       "arborctl endpoints to show the near relay again")

            # Killed: connections refused; then restarted.
            before = moves_to(agent, "agent: relay", fsvc)
            near.kill9()
            took = wait_move(agent, "agent: relay", fsvc, before,
                             BOUND + 5, "the agent to leave a killed relay")
            print("     near relay killed: agent on the far one after "
                  "%.1f s" % took)
            if took > BOUND * SCALE:
                raise Failure("failover took %.1f s" % took)
            wait_until(lambda: endpoint_relay(net) == fsvc, 20,
                       "arborctl endpoints to show the far relay")
            before = moves_to(agent, "agent: relay", near.svc)
            near.start()
            near.wait_log(r"serving")
            wait_move(agent, "agent: relay", near.svc, before, 15,
                      "the agent to come back to the restarted relay")
            wait_until(lambda: endpoint_relay(net) == near.svc, 20,
                       "arborctl endpoints to show the near relay again")
            # And it still gets what is published, through the near one.
            sha = net.publish("p", 1, {"a.bin": os.urandom(10000)})["a.bin"]
            wait_until(lambda: agent.has_blob(sha), 15, "the blob")
            out = net.ctl("endpoints").stdout
            if "RELAY" not in out or near.svc not in out:
                raise Failure("arborctl endpoints does not show the relay "
                              "in use:\n%s" % out)
        finally:
            if stopped:
                os.kill(near.proc.pid, signal.SIGCONT)
            proxy.close()


def report_via(net, pid, version):
    """The path the endpoint's report on pid at version came up by."""
    for e in json.loads(net.ctl("endpoints", "--json").stdout):
        if e["policy_id"] == pid and e["version"] == version:
            return e["via"]
    return None


def test_relay_nearest_parent():
    """A relay with two parents, the far one first: it uses the near one,
    leaves it when it stops answering and comes back; the reports of an
    agent below it show the path in use at each step (arborctl endpoints:
    via, nearest first).  The tree view follows a relay that moved to
    another branch only after ARB_RELAYINFO_HOLD, so the path is read
    from the reports."""
    with Net("nearest-relay") as net:
        near, far, proxy, fsvc = two_relays(net)
        stopped = False
        try:
            mid = net.relay([far_address(proxy), near], name="mid",
                            probe_interval="2s", timeout="10s",
                            report_interval="200ms")
            agent = net.agent([mid], enroll_token=TOKEN,
                              report_delay="100ms", poll_interval="2s",
                              poll_jitter="100ms")
            mid.wait_log(r"relay: parent %s is nearer" %
                         re.escape(near.svc), 15)
            net.publish("p", 1, {"a.bin": os.urandom(1000)})
            wait_until(lambda: report_via(net, "p", 1) == ["mid", near.name],
                       30, "a report on v1 by way of mid and the near relay")

            stopped = True
            stop_and_fail_over(mid, "relay: parent", near, fsvc, "the relay")
            net.publish("p", 2, {"a.bin": os.urandom(1000)})
            wait_until(lambda: report_via(net, "p", 2) == ["mid", far.name],
                       30, "a report on v2 by way of mid and the far relay")

            before = moves_to(mid, "relay: parent", near.svc)
            os.kill(near.proc.pid, signal.SIGCONT)
            stopped = False
            wait_move(mid, "relay: parent", near.svc, before, 15,
                      "the relay to move back to its near parent")
            net.publish("p", 3, {"a.bin": os.urandom(1000)})
            wait_until(lambda: report_via(net, "p", 3) == ["mid", near.name],
                       30, "a report on v3 by way of the near relay again")
            if agent.has_log(r"rejected"):
                raise Failure("the agent rejected something")
        finally:
            if stopped:
                os.kill(near.proc.pid, signal.SIGCONT)
            proxy.close()


def test_no_flap_at_the_same_distance():
    """Two relays at the same distance: the agent stays where it is (the
    hysteresis), probing every 200 ms for a few seconds."""
    with Net("nearest-flap") as net:
        root = net.root()
        a = net.relay([root])
        b = net.relay([root])
        agent = net.agent([a, b], probe_interval="200ms")
        agent.wait_log(r"agent: relay %s\n" % re.escape(a.svc))
        time.sleep(4)   # a span to watch, not a synchronisation
        if agent.has_log(r"agent: relay %s\n" % re.escape(b.svc)) or \
                agent.has_log(r"is nearer"):
            raise Failure("the agent moved between relays at the same "
                          "distance:\n%s" % agent.text())


def test_slow_dial_is_no_distance():
    """The relay in use is near, but its connections are slow to set up
    (each side's first bytes 100 ms late, as a TLS handshake over a long
    path): the first answer on a new connection waited for the dial, and
    the agent does not leave for a relay that only looks nearer."""
    with Net("nearest-dial") as net:
        root = net.root()
        a = net.relay([root])
        b = net.relay([root])
        proxy = DelayProxy([("127.0.0.1", port_of(a.svc)),
                            ("127.0.0.1", port_of(a.pub))],
                           delay=0.1, first_only=True)
        try:
            asvc = far_address(proxy).split()[0]
            agent = net.agent([far_address(proxy), b],
                              probe_interval="200ms")
            agent.wait_log(r"agent: relay %s\n" % re.escape(asvc))
            time.sleep(4)   # a span to watch, not a synchronisation
            if agent.has_log(r"is nearer"):
                raise Failure("the agent took a dial for a distance:\n%s"
                              % agent.text())
        finally:
            proxy.close()


def test_skipped_relay_held():
    """A near relay whose acknowledged reports never reach the root (a
    hostile one that drops them) is left for the far one once no receipt
    comes, and not chosen again while it stays nearer: the reports reach
    the root through the far one."""
    import test_integrity as ti
    with Net("nearest-skip") as net:
        root = net.root(enroll_token=ti.TOKEN)
        far = net.relay([root], report_interval="200ms")
        proxy = DelayProxy([("127.0.0.1", port_of(far.svc)),
                            ("127.0.0.1", port_of(far.pub))], DELAY)
        try:
            fsvc = far_address(proxy).split()[0]
            h = ti.hostile(net, "drop", root)
            a = ti.agent(net, [far_address(proxy), h], receipt_timeout="3s",
                         poll_interval="1s", probe_interval="500ms")
            a.wait_log(r"agent: relay %s is nearer" % re.escape(h.svc), 15)
            ti.publish(net, "p", 1, b"z" * 1000)
            a.wait_log(r"no receipt from the root for \d+ reports", 20)
            wait_until(lambda: ti.counts(net, "p")[1] == {"fixed": 1}, 30,
                       "the dropped reports, through the far relay")
            moved = a.text().count("agent: relay %s\n" % h.svc)
            time.sleep(3)   # a span to watch: a probe every 500 ms
            if a.text().count("agent: relay %s\n" % h.svc) != moved:
                raise Failure("the agent went back to the relay it left")
            if endpoint_relay(net) != fsvc:
                raise Failure("arborctl endpoints shows %r, not %s" %
                              (endpoint_relay(net), fsvc))
        finally:
            proxy.close()


def test_configuration():
    """failover and probe_interval are checked (-n) with their range."""
    with Net("nearest-conf") as net:
        two = ["--relay", "tcp://127.0.0.1:1 tcp://127.0.0.1:2",
               "--relay", "tcp://127.0.0.1:3 tcp://127.0.0.1:4"]
        base = [BIN["agent"], "-n", "--data_dir",
                os.path.join(net.dir, "a"), "--pubkey", net.pubkey] + two
        for bad, key in ((["--failover", "50ms"], "failover"),
                         (["--probe_interval", "-1s"], "probe_interval")):
            p = subprocess.run(base + bad, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True,
                               timeout=30)
            if p.returncode == 0 or key not in p.stdout:
                raise Failure("%s accepted, or not named: %s" %
                              (" ".join(bad), p.stdout))
        p = subprocess.run(base + ["--failover", "3s", "--probe_interval",
                                   "0"], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, timeout=30)
        if p.returncode != 0:
            raise Failure("a good configuration refused: %s" % p.stdout)


if __name__ == "__main__":
    run([test_agent_nearest_relay, test_relay_nearest_parent,
         test_no_flap_at_the_same_distance, test_slow_dial_is_no_distance,
         test_skipped_relay_held,
         test_configuration])
