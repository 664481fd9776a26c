"""`arborctl push`: every relay holds the blob before it rebroadcasts the
urgent head, and agents whose next poll is ten minutes away have it within
seconds; an agent that was off during the push, and one whose relay was
down, get it at their next poll; an agent whose subscription came up only
after its first poll was answered (a push sent in between is lost to it)
asks again once it is up."""

import os
import re

from arbortest import DelayProxy, Net, free_port, run, wait_until, Failure

MIB = 1024 * 1024


def reconf(node, key, value=None):
    """Change (or, with value None, drop) one --key of a stopped node."""
    a = node.args
    i = a.index("--" + key)
    if value is None:
        del a[i:i + 2]
    else:
        a[i + 1] = str(value)


def log_pos(node, pattern, what):
    """Offset of pattern's first match in node's log; fails if absent."""
    m = re.search(pattern, node.text())
    if m is None:
        raise Failure("%s: no log line for %s (%r)" % (node.name, what,
                                                        pattern))
    return m.start()


def check_prefetched(relay, seq, sha, pid):
    """The relay took head seq (urgent), fetched the blob, and only then
    notified its children: head < prefetching < verified < notified."""
    head = log_pos(relay, r"relay: head seq %d: " % seq, "head %d" % seq)
    pre = log_pos(relay, r"relay: prefetching 1 blobs before notifying",
                  "prefetching")
    ver = log_pos(relay, r"relay: blob %s: \d+ bytes verified" % sha[:12],
                  "blob verified")
    note = log_pos(relay, r"relay: notified children: seq %d urgent %s\n" %
                   (seq, re.escape(pid)), "urgent notification")
    if not head < pre < ver < note:
        raise Failure("%s: wanted head seq %d < prefetching < blob "
                      "verified < urgent notification; log order is %r" %
                      (relay.name, seq, sorted(
                          [(head, "head"), (pre, "prefetching"),
                           (ver, "verified"), (note, "notified")])))


def test_push_reaches_agents_before_their_poll():
    """Agents poll every 10 min, so whatever they hold within seconds came
    by notification.  The publish of v2 notifies too (agents start on it
    at once); what the push adds, and what is checked in every relay's
    log, is that the relay holds the blob before it rebroadcasts."""
    with Net("push") as net:
        root = net.root()
        # Upstream links are capped (a WAN link): a 4 MiB blob takes the
        # tier-1 relays ~0.4 s and the tier-2 relay ~1.5 s to fetch, so
        # the push, sent right after the publish, always finds it not yet
        # cached and the prefetch is what the logs show.
        r1 = net.relay([root], fetch_rate="8M")
        r2 = net.relay([root], fetch_rate="8M")
        r3 = net.relay([r1], fetch_rate="2M")       # tier 2
        relays = (r1, r2, r3)
        agents = [net.agent([r], poll_interval="10m", poll_jitter="1s")
                  for r in (r1, r1, r1, r2, r2, r2, r3, r3)]

        # A publish alone reaches them by its notification.
        sha1 = net.publish("hotfix", 1, {"fix.bin": os.urandom(4 * MIB)})[
            "fix.bin"]
        wait_until(lambda: all(a.has_blob(sha1) for a in agents), 10,
                   "every agent to hold v1 (notification)")

        # Version 2, pushed at once.
        sha2 = net.publish("hotfix", 2, {"fix.bin": os.urandom(4 * MIB)})[
            "fix.bin"]
        out = net.ctl("push", "hotfix").stdout
        m = re.search(r"pushed hotfix: head seq (\d+)", out)
        if m is None:
            raise Failure("push output: %r" % out)
        seq = int(m.group(1))
        wait_until(lambda: all(a.has_blob(sha2) for a in agents), 10,
                   "every agent to hold v2 within seconds of the push "
                   "(their poll is 10 min away)")
        for a in agents:
            a.wait_log(r"policy hotfix v2: downloaded, 1 blobs verified")
        for r in relays:
            r.wait_log(r"notified children: seq %d urgent hotfix" % seq)
            check_prefetched(r, seq, sha2, "hotfix")
            if not r.has_blob(sha2):
                raise Failure("%s does not hold the pushed blob" % r.name)
        root.wait_log(r"root: notified children: seq %d urgent hotfix" %
                      seq)
        for n in relays + tuple(agents):
            if n.has_log(r"rejected|fetch failed"):
                raise Failure("%s logged a rejection or failure" % n.name)


def test_push_to_nodes_that_were_off():
    with Net("push-off") as net:
        root = net.root()
        ra = net.relay([root], poll_interval="1s", poll_jitter="100ms")
        rb = net.relay([root])
        x = net.agent([ra], poll_interval="1s", poll_jitter="100ms")
        y = net.agent([rb], poll_interval="10m")
        z = net.agent([rb], poll_interval="10m")
        sha1 = net.publish("p", 1, {"a.bin": os.urandom(MIB)})["a.bin"]
        wait_until(lambda: all(a.has_blob(sha1) for a in (x, y, z)), 10,
                   "every agent to hold v1")

        # y is off and x's relay is down while v2 is published and pushed.
        y.stop()
        ra.stop()
        sha2 = net.publish("p", 2, {"a.bin": os.urandom(2 * MIB)})["a.bin"]
        seq = int(re.search(r"head seq (\d+)",
                            net.ctl("push", "p").stdout).group(1))
        wait_until(lambda: z.has_blob(sha2), 10, "z (on) to hold v2")
        rb.wait_log(r"notified children: seq %d urgent p" % seq)
        if y.has_blob(sha2) or x.has_blob(sha2):
            raise Failure("an agent that was cut off holds v2 already")

        # y comes back polling every second: it finds the pushed head.
        reconf(y, "poll_interval", "1s")
        y.start()
        wait_until(lambda: y.has_blob(sha2), 10, "y to get v2 by its poll")

        # x's relay comes back: its poll finds the urgent head, it
        # prefetches and notifies; x has it by that or by its own poll.
        ra.start()
        wait_until(lambda: x.has_blob(sha2), 10,
                   "x to get v2 once its relay is back")
        ra.wait_log(r"notified children: seq %d urgent p" % seq)
        check_prefetched(ra, seq, sha2, "p")
        x.wait_log(r"head seq %d: " % seq)


def test_push_before_subscribed():
    """The agent's first poll is answered while its subscription is not
    up yet (its relay's pub port is reached through a proxy this test
    starts later); a push in that gap is lost to it, so the subscription's
    coming up must make it ask again: its next poll is ten minutes away."""
    with Net("push-sub") as net:
        root = net.root()
        relay = net.relay([root])
        net.publish("p", 1, {"a.bin": os.urandom(4096)})
        relay.wait_log(r"relay: head seq 1: ")
        port = free_port()
        a = net.agent(["%s tcp://127.0.0.1:%d" % (relay.svc, port)],
                      poll_interval="10m", poll_jitter="1s")
        a.wait_log(r"agent: head seq 1: ")
        sha2 = net.publish("p", 2, {"a.bin": os.urandom(4096)})["a.bin"]
        seq = int(re.search(r"head seq (\d+)",
                            net.ctl("push", "p").stdout).group(1))
        relay.wait_log(r"notified children: seq %d urgent p" % seq)
        if a.has_log(r"agent: head seq %d: " % seq):
            raise Failure("the agent took the push with no subscription")
        proxy = DelayProxy([("127.0.0.1", int(relay.pub.rsplit(":", 1)[1]))],
                           0, ports=[port])
        try:
            wait_until(lambda: a.has_blob(sha2), 10,
                       "the agent to ask again once subscribed and hold v2")
        finally:
            a.stop()
            proxy.close()


if __name__ == "__main__":
    run([test_push_reaches_agents_before_their_poll,
         test_push_to_nodes_that_were_off, test_push_before_subscribed])
