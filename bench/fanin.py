#!/usr/bin/env python3
"""Fan-in: E simulated endpoints each make several state changes (K
policies published at once, each taking every endpoint through applicable,
downloading, running, fixed); measure the reports made, the messages and
bytes the root received, the root's CPU seconds, and the time until the
root's counts are complete — through R relays, and again with every
endpoint connected straight to the root, for the ratio.

    bench/fanin.py [--relays 10] [--endpoints 10000] [--policies 2]
                   [--report-interval 1s] [--smoke]

Prints one JSON object per result line.
"""

import argparse
import os
import sys
import time

import benchlib as B

DIRECT_MAX = 4000	# endpoints straight under one root (2 fds each)


def run(relays, endpoints, policies, report_interval, limit_s):
    topo = "relays" if relays > 0 else "direct"
    with B.Net("bench-fanin") as net:
        root = B.root(net)
        if relays > 0:
            parents = [net.relay([root], report_interval=report_interval,
                                 poll_interval="10m", contexts=1024)
                       for _ in range(relays)]
        else:
            parents = [root] * max(1, -(-endpoints // 2500))
        nparents = len(parents)
        per = [endpoints // nparents + (1 if i < endpoints % nparents
                                        else 0) for i in range(nparents)]
        swarms = [B.swarm(net, "swarm%d" % i, parents[i], n)
                  for i, n in enumerate(per) if n > 0]
        B.wait_until(lambda: B.status(net)["endpoints"] == endpoints,
                     600, "every endpoint to enrol")
        # ...and its first inventory to reach the root, so that what
        # follows counts only what the push causes.
        B.wait_until(lambda: B.status(net)["accepted"] >= endpoints,
                     120, "every endpoint's inventory at the root")
        time.sleep(1.5)
        before = B.status(net)
        made0 = B.made(swarms)
        cpu0 = B.cpu_seconds(root)
        ids = ["fanin-%d" % k for k in range(policies)]
        for pid in ids:
            net.publish(pid, 1, {"b.bin": os.urandom(4096)},
                        applicability="true" if pid != ids[0] else B.NEEDS,
                        action="true")
        t0 = B.now_ms()
        for pid in ids:
            net.ctl("push", pid)

        def complete():
            st = B.status(net)
            for pid in ids:
                c = B.counts(st, pid)
                if sum(c.get(k, 0) for k in ("fixed", "failed",
                                             "not-applicable")) < endpoints:
                    return None
            return st
        st = B.wait_until(complete, limit_s, "the root's counts")
        cpu = B.cpu_seconds(root) - cpu0
        time.sleep(0.5)
        res = {
            "bench": "fanin", "topology": topo, "relays": relays,
            "endpoints": endpoints, "policies": policies,
            "report_interval": report_interval,
            "reports_made": B.made(swarms) - made0,
            "root_messages_in": st["batches"] - before["batches"],
            "root_reports_in": st["reports"] - before["reports"],
            "root_bytes_in": st["report_bytes"] - before["report_bytes"],
            "root_requests": st["requests"] - before["requests"],
            "root_cpu_s": round(cpu, 2),
            "s_to_counts_complete": round(
                (st["last_report_at_ms"] - t0) / 1000.0, 3),
            "root_rss_kb_peak": B.proc_kb(root, "VmHWM"),
        }
        res.update(B.machine())
        return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--relays", type=int, default=10)
    ap.add_argument("--endpoints", type=int, default=10000)
    ap.add_argument("--policies", type=int, default=2)
    ap.add_argument("--report-interval", default="1s")
    ap.add_argument("--limit", type=float, default=300)
    ap.add_argument("--smoke", action="store_true")
    a = ap.parse_args()
    if a.smoke:
        a.relays, a.endpoints, a.policies = 2, 6, 2
    B.build()
    # Straight to the root, every endpoint holds two connections there: a
    # root takes at most RLIMIT_NOFILE / 2 endpoints (relays exist for
    # this).  Both topologies are measured at the same, possible, size.
    n = min(a.endpoints, DIRECT_MAX)
    via = run(a.relays, n, a.policies, a.report_interval, a.limit)
    B.emit(via)
    direct = run(0, n, a.policies, a.report_interval, a.limit)
    B.emit(direct)
    B.emit({"bench": "fanin-ratio", "endpoints": n,
            "relays": a.relays,
            "messages_direct_over_relays": round(
                direct["root_messages_in"] /
                max(1, via["root_messages_in"]), 1),
            "cpu_direct_over_relays": round(
                direct["root_cpu_s"] / max(0.01, via["root_cpu_s"]), 1)})


if __name__ == "__main__":
    sys.exit(main())
