"""A blob fetch cut by kill -9 resumes where the .part file ends after a
restart, for a relay (prefetching a pushed blob) and for an agent; what
ends up under the blob's real name hashes right and is served."""

import os
import re

from arbortest import Net, run, wait_until, Failure

MIB = 1024 * 1024
SIZE = 24 * MIB


def reconf(node, key, value=None):
    """Change (or, with value None, drop) one --key of a stopped node."""
    a = node.args
    i = a.index("--" + key)
    if value is None:
        del a[i:i + 2]
    else:
        a[i + 1] = str(value)


def part_size(node, sha):
    try:
        return os.path.getsize(os.path.join(node.dir, "blobs", "tmp",
                                            sha + ".part"))
    except FileNotFoundError:
        return -1


def kill_mid_transfer(node, sha):
    """Wait until node's .part holds 4-16 MiB, kill -9 it; the size seen."""
    seen = wait_until(lambda: (4 * MIB <= part_size(node, sha) <= 16 * MIB
                               and part_size(node, sha)), 15,
                      "%s's .part to hold 4-16 MiB" % node.name)
    node.kill9()
    after = part_size(node, sha)
    if not seen <= after < SIZE:
        raise Failure("%s: .part %d bytes after kill -9 (saw %d)" %
                      (node.name, after, seen))
    return after


def check_resumed(node, sha, part):
    """The restarted node resumed at part bytes (the .part's end)."""
    m = node.wait_log(r"blob %s: resuming at (\d+) of %d" % (sha[:12], SIZE))
    at = int(m.group(1))
    if at != part:
        raise Failure("%s resumed at %d, .part held %d" %
                      (node.name, at, part))
    wait_until(lambda: node.has_blob(sha), 15,
               "%s to hold the blob verified" % node.name)
    node.wait_log(r"blob %s: %d bytes verified" % (sha[:12], SIZE))
    if part_size(node, sha) != -1:
        raise Failure("%s: .part left behind" % node.name)


def test_relay_killed_mid_prefetch():
    with Net("resume-relay") as net:
        net.root()
        # 4 MiB/s, one 1 MiB chunk at a time: 24 MiB take ~6 s.
        relay = net.relay([net.root_node], fetch_rate="4M", fetch_depth=1)
        agent = net.agent([relay], timeout="2s")
        sha = net.publish("big", 1, {"big.bin": os.urandom(SIZE)})["big.bin"]
        net.ctl("push", "big")
        relay.wait_log(r"prefetching 1 blobs before notifying")

        part = kill_mid_transfer(relay, sha)
        if agent.has_blob(sha):
            raise Failure("the agent holds a blob its relay had not")
        reconf(relay, "fetch_rate", None)
        mark = len(relay.text())
        relay.start()
        check_resumed(relay, sha, part)
        # The restarted relay finishes the prefetch, then rebroadcasts.
        relay.wait_log(r"notified children: seq \d+ urgent big")
        after = relay.text()[mark:]
        ver = after.find("blob %s: %d bytes verified" % (sha[:12], SIZE))
        note = after.find("notified children: ")
        if not 0 <= ver < note:
            raise Failure("restarted relay notified before it held the "
                          "blob:\n%s" % after)

        # The agent that waited through the crash gets it ...
        wait_until(lambda: agent.has_blob(sha), 15,
                   "the agent under the relay to hold the blob")
        agent.wait_log(r"policy big v1: downloaded, 1 blobs verified")
        # ... and so does a new one: the relay indexed and serves it.
        fresh = net.agent([relay])
        wait_until(lambda: fresh.has_blob(sha), 15,
                   "a new agent to get the blob from the restarted relay")
        for n in (relay, agent, fresh):
            if n.has_log(r"rejected|damaged|cannot index"):
                raise Failure("%s logged a rejection" % n.name)


def test_agent_killed_mid_download():
    with Net("resume-agent") as net:
        net.root()
        relay = net.relay([net.root_node])
        agent = net.agent([relay], fetch_rate="4M", fetch_depth=1)
        sha = net.publish("big", 1, {"big.bin": os.urandom(SIZE)})["big.bin"]
        wait_until(lambda: relay.has_blob(sha), 15,
                   "the relay to cache the blob")

        part = kill_mid_transfer(agent, sha)
        # A kill during a write can leave part of a chunk: make it so.
        # Chunks are served on chunk boundaries, so the agent resumes at
        # the last whole one.
        cut = part - 12345
        os.truncate(os.path.join(agent.dir, "blobs", "tmp", sha + ".part"),
                    cut)
        reconf(agent, "fetch_rate", None)
        agent.start()
        check_resumed(agent, sha, cut - cut % MIB)
        agent.wait_log(r"policy big v1: downloaded, 1 blobs verified")
        if agent.has_log(r"fetch failed|rejected"):
            raise Failure("agent logged a failed fetch")
        # The relay fetched it from the root once.
        n = len(re.findall(r"blob %s: \d+ bytes verified" % sha[:12],
                           relay.text()))
        if n != 1:
            raise Failure("relay verified the blob %d times" % n)


if __name__ == "__main__":
    run([test_relay_killed_mid_prefetch, test_agent_killed_mid_download])
