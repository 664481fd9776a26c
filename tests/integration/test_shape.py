"""Bandwidth to children: a relay's serve_rate holds its children together
to the rate and shares it fairly (a child with eight chunk requests in
flight gets no more than one with one); child_rate holds each child;
an urgent policy's chunks go ahead of a large download in progress."""

import datetime
import os
import re

from arbortest import Net, run, wait_until, Failure

TOKEN = "shape-enrol-token"
MiB = 1024 * 1024


def stamp(line):
    t = line.split(" ", 1)[0].rstrip("Z")
    return datetime.datetime.fromisoformat(t).timestamp()


def when(node, pattern):
    """Time of the first log line of node matching pattern, or None."""
    for line in node.text().splitlines():
        if re.search(pattern, line):
            return stamp(line)
    return None


def download_s(node, pid):
    """Seconds from 'pid v1: downloading' to 'pid v1: downloaded'."""
    a = when(node, r"policy %s v1: downloading" % pid)
    b = when(node, r"policy %s v1: downloaded" % pid)
    return None if a is None or b is None else b - a


def tree(net, **rates):
    root = net.root(enroll_token=TOKEN)
    relay = net.relay([root], **rates)
    return root, relay


def agent(net, relay, name, **kw):
    return net.agent([relay], name=name, enroll_token=TOKEN,
                     timeout="30s", **kw)


def test_total_rate_shared_fairly():
    with Net("shape-fair") as net:
        _, relay = tree(net, serve_rate="2M")
        deep = agent(net, relay, "deep", fetch_depth=8)
        shallow = agent(net, relay, "shallow", fetch_depth=1)
        for a in (deep, shallow):
            a.wait_log(r"enrolled")
        net.publish("big", 1, {"big.bin": os.urandom(6 * MiB)},
                    action="true")
        wait_until(lambda: all(download_s(a, "big") is not None
                               for a in (deep, shallow)), 60,
                   "both agents to download 6 MiB")
        t_deep, t_shallow = download_s(deep, "big"), download_s(shallow, "big")
        start = min(when(a, r"big v1: downloading") for a in (deep, shallow))
        end = max(when(a, r"big v1: downloaded") for a in (deep, shallow))
        print("12 MiB at 2 MiB/s: %.2f s in all; deep %.2f s, shallow "
              "%.2f s" % (end - start, t_deep, t_shallow))
        # 12 MiB, less the first chunk each, at 2 MiB/s: 5 s at least.
        if end - start < 4.5:
            raise Failure("12 MiB went in %.2f s: serve_rate 2M not held"
                          % (end - start))
        # Fair: the shallow child is not left behind by the deep one (in
        # request order it would get one chunk in nine).
        if t_shallow > t_deep * 1.35 + 0.5:
            raise Failure("shallow child %.2f s, deep child %.2f s: not "
                          "shared fairly" % (t_shallow, t_deep))


def test_child_rate():
    with Net("shape-child") as net:
        _, relay = tree(net, child_rate="1M")
        a = agent(net, relay, "one", fetch_depth=4)
        a.wait_log(r"enrolled")
        net.publish("p", 1, {"p.bin": os.urandom(4 * MiB)}, action="true")
        wait_until(lambda: download_s(a, "p") is not None, 60,
                   "the agent to download 4 MiB")
        t = download_s(a, "p")
        print("4 MiB at 1 MiB/s per child: %.2f s" % t)
        if t < 2.5:
            raise Failure("4 MiB in %.2f s: child_rate 1M not held" % t)


def test_urgent_goes_first():
    with Net("shape-urgent") as net:
        _, relay = tree(net, serve_rate="1M")
        a = agent(net, relay, "busy", fetch_depth=4)
        b = agent(net, relay, "other", fetch_depth=1)
        for x in (a, b):
            x.wait_log(r"enrolled")
        net.publish("bulk", 1, {"bulk.bin": os.urandom(10 * MiB)},
                    action="true", target={"endpoints": ["busy"]})
        a.wait_log(r"bulk v1: downloading", timeout=30)
        sha = net.publish("fix", 1, {"fix.bin": os.urandom(3 * MiB)},
                          action="true")["fix.bin"]
        net.ctl("push", "fix")
        wait_until(lambda: all(download_s(x, "fix") is not None
                               for x in (a, b)), 60,
                   "the urgent policy downloaded by both agents")
        if download_s(a, "bulk") is not None:
            raise Failure("the bulk download ended before the urgent one")
        if not relay.has_log(r"blob %s \(urgent\) sent ahead of" % sha[:12]):
            raise Failure("the relay did not send the urgent blob ahead")
        print("urgent 3 MiB beside a 10 MiB download at 1 MiB/s: "
              "%.2f s and %.2f s" % (download_s(a, "fix"),
                                     download_s(b, "fix")))
        wait_until(lambda: download_s(a, "bulk") is not None, 60,
                   "the bulk download to end")


if __name__ == "__main__":
    run([test_total_rate_shared_fairly, test_child_rate,
         test_urgent_goes_first])
