"""Parents in order of preference: an unreachable first parent (or relay)
is skipped, a black-holed one too within the configured timeout, a parent
that dies is left for the next one; a push sent while a child reconnects
reaches it when it is back; a restarted root keeps its catalog; the root
re-signs the head before it expires; a relay whose parents are all down
cycles through them for as long as it takes, without harm, and takes the
first that comes back."""

import os
import re
import socket
import time

from arbortest import Net, run, wait_until, free_port, Failure, SCALE


def dead_address():
    """SVC and PUB addresses that nothing listens on."""
    return "tcp://127.0.0.1:%d tcp://127.0.0.1:%d" % (free_port(),
                                                      free_port())


def head_seqs(node, kind):
    return [int(s) for s in re.findall(r"%s: head seq (\d+): " % kind,
                                       node.text())]


def test_unreachable_first_choice():
    with Net("failover-first") as net:
        root = net.root()
        relay = net.relay([dead_address(), root])
        agent = net.agent([dead_address(), relay])
        relay.wait_log(r"relay: parent %s\n" % re.escape(root.svc))
        agent.wait_log(r"agent: relay %s\n" % re.escape(relay.svc))
        sha = net.publish("p", 1, {"a.bin": os.urandom(100000)})["a.bin"]
        wait_until(lambda: agent.has_blob(sha), 10,
                   "the agent to get the blob through its second choices")


def black_hole():
    """Listening sockets that complete TCP's handshake (the kernel does,
    up to the backlog) but never say a word: a parent that black-holes
    every connection.  Returns (address pair, sockets to close)."""
    socks = []
    for _ in range(2):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind(("127.0.0.1", 0))
        s.listen(64)
        socks.append(s)
    return ("tcp://127.0.0.1:%d tcp://127.0.0.1:%d" %
            tuple(s.getsockname()[1] for s in socks)), socks


def test_black_holed_first_choice():
    """A first relay that accepts connections and never answers is left
    for the second within the agent's timeout (1 s), not after a fixed
    wait of its own (nng's handshake waits 10 s)."""
    hole, socks = black_hole()
    try:
        with Net("failover-hole") as net:
            root = net.root()
            relay = net.relay([root])
            t0 = time.monotonic()
            agent = net.agent([hole, relay], timeout="1s")
            agent.wait_log(r"agent: relay %s\n" % re.escape(relay.svc),
                           15)
            took = time.monotonic() - t0
            if not agent.has_log(r"agent: relay %s: no connection" %
                                 re.escape(hole.split()[0])):
                raise Failure("the agent did not say why it left the "
                              "first relay")
            if took > 5 * SCALE:
                raise Failure("the agent left a black-holed relay after "
                              "%.1f s with timeout 1s" % took)
            sha = net.publish("p", 1, {"a.bin": os.urandom(1000)})["a.bin"]
            wait_until(lambda: agent.has_blob(sha), 10,
                       "the agent to get the blob through its second relay")
            print("     (black-holed relay left after %.1f s)" % took)
    finally:
        for s in socks:
            s.close()


def test_push_while_relay_restarts():
    """A push that reaches a relay while its agents are still reconnecting
    to it is not lost: an agent that subscribes again polls at once (within
    a small random delay), not at its next poll ten minutes later."""
    with Net("failover-repush") as net:
        root = net.root()
        relay = net.relay([root])
        agent = net.agent([relay], poll_interval="10m", poll_jitter="1s")
        sha1 = net.publish("p", 1, {"a.bin": os.urandom(1000)})["a.bin"]
        wait_until(lambda: agent.has_blob(sha1), 10, "v1 on the agent")
        relay.kill9()
        sha2 = net.publish("p", 2, {"a.bin": os.urandom(1000)})["a.bin"]
        net.ctl("push", "p")
        relay.start()
        relay.wait_log(r"relay: head seq %d: " % net.head_seq())
        wait_until(lambda: agent.has_blob(sha2), 10,
                   "the agent to get the push once its relay is back")


def test_parent_dies():
    with Net("failover-dies") as net:
        root = net.root()
        ra = net.relay([root])
        rb = net.relay([root])
        rc = net.relay([ra, rb], timeout="1s", poll_interval="1s",
                       poll_jitter="100ms")
        agent = net.agent([rc], poll_interval="1s", poll_jitter="100ms")
        rc.wait_log(r"relay: parent %s\n" % re.escape(ra.svc))
        sha1 = net.publish("p", 1, {"a.bin": os.urandom(100000)})["a.bin"]
        wait_until(lambda: agent.has_blob(sha1), 10, "v1 through ra")

        ra.kill9()
        t0 = time.monotonic()
        sha2 = net.publish("p", 2, {"a.bin": os.urandom(100000)})["a.bin"]
        rc.wait_log(r"relay: parent %s\n" % re.escape(rb.svc), 10)
        wait_until(lambda: agent.has_blob(sha2), 10, "v2 through rb")
        took = time.monotonic() - t0
        rc.wait_log(r"relay: head seq %d: " % net.head_seq())
        # And it keeps getting new heads from rb, by notification.
        sha3 = net.publish("p", 3, {"a.bin": os.urandom(100000)})["a.bin"]
        wait_until(lambda: agent.has_blob(sha3), 5, "v3 through rb")
        if rc.has_log(r"rejected"):
            raise Failure("rc rejected something")
        print("     (parent died: v2 on the agent %.1f s after publish)" %
              took)


def test_root_restart_keeps_catalog():
    with Net("failover-restart") as net:
        root = net.root()
        # A notification sent while a child is still reconnecting is lost;
        # its poll finds the head.
        relay = net.relay([root], poll_interval="1s", poll_jitter="100ms")
        agent = net.agent([relay], poll_interval="1s", poll_jitter="100ms")
        net.publish("p", 1, {"a.bin": os.urandom(1000)})
        net.publish("q", 1, {"b.bin": os.urandom(1000)})
        net.ctl("push", "q")
        before = net.catalog()
        seq = before["head"]["seq"]
        relay.wait_log(r"head seq %d: 2 policies" % seq)

        root.restart()
        root.wait_log(r"root: serving .* head seq %d\n" % seq)
        after = net.catalog()
        if after["head"]["seq"] != seq or \
                [(p["id"], p["version"], p["urgent"])
                 for p in after["policies"]] != \
                [(p["id"], p["version"], p["urgent"])
                 for p in before["policies"]]:
            raise Failure("catalog changed across restart:\n%r\n%r" %
                          (before, after))
        # The next change continues the sequence; children take it.
        sha = net.publish("r", 1, {"c.bin": os.urandom(1000)})["c.bin"]
        if net.head_seq() != seq + 1:
            raise Failure("head seq after restart: %d, wanted %d" %
                          (net.head_seq(), seq + 1))
        wait_until(lambda: agent.has_blob(sha), 10,
                   "the agent to get a policy published after the restart")
        agent.wait_log(r"agent: head seq %d: 3 policies" % (seq + 1))
        for n in (relay, agent):
            if n.has_log(r"rejected"):
                raise Failure("%s rejected a head after the restart" %
                              n.name)


def test_resign_before_expiry():
    with Net("failover-resign") as net:
        root = net.root(head_ttl="4s")
        relay = net.relay([root])
        agent = net.agent([relay], poll_interval="10m")
        net.publish("p", 1, {"a.bin": os.urandom(1000)})
        agent.wait_log(r"agent: head seq 1: 1 policies")
        time.sleep(6)
        root.wait_log(r"re-signed before expiry")
        last = net.head_seq()
        if last < 3:
            raise Failure("root re-signed only up to seq %d in 6 s" % last)
        for n, kind in ((relay, "relay"), (agent, "agent")):
            n.wait_log(r"%s: head seq %d: 1 policies" % (kind, last), 3)
            seqs = head_seqs(n, kind)
            if seqs != sorted(set(seqs)) or len(seqs) < 3:
                raise Failure("%s saw head seqs %r" % (n.name, seqs))
            if n.has_log(r"expired|rejected"):
                raise Failure("%s rejected a head: %s" % (n.name, n.text()))


def test_all_parents_down():
    """Every parent down while the relay starts: it goes round them every
    100 ms (a dialer per parent attempting all the time) and must neither
    crash nor hang; when one comes back it gets the catalog, and it stops
    on SIGTERM with status 0."""
    with Net("failover-alldown") as net:
        root = net.root(tls=True)
        p1 = net.relay([root], tls=True)
        p2 = net.relay([root], tls=True)
        net.publish("p", 1, {"a.bin": os.urandom(1000)})
        wait_until(lambda: head_seqs(p2, "relay"), 10 * SCALE,
                   "the second parent to hold the head")
        p1.stop()
        p2.stop()
        relay = net.relay([p1, p2], tls=True, timeout="100ms")
        deadline = time.monotonic() + 20 * SCALE
        while time.monotonic() < deadline:
            if not relay.running():
                raise Failure("relay died (status %s) going round its "
                              "parents:\n%s" % (relay.proc.returncode,
                                                 relay.text()[-800:]))
            time.sleep(0.5)
        rounds = relay.text().count("no connection; trying")
        if rounds < 20:
            raise Failure("relay went round its parents only %d times"
                          % rounds)
        p2.start()
        wait_until(lambda: head_seqs(relay, "relay"), 20,
                   "the relay to get the head from the parent back")
        rc = relay.stop()
        if rc != 0:
            raise Failure("relay exited with status %s" % rc)
        print("     %d changes of parent in 20 s, then the catalog from "
              "the one back" % rounds)


if __name__ == "__main__":
    run([test_unreachable_first_choice,
         test_black_holed_first_choice,
         test_push_while_relay_restarts, test_parent_dies,
         test_root_restart_keeps_catalog, test_resign_before_expiry,
         test_all_parents_down])
