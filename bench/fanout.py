#!/usr/bin/env python3
"""Fan-out: a root, R relays, E simulated endpoints spread over them
(one swarm process per relay); publish and push an urgent policy; measure
the time from the push until 50/90/99/100 % of the endpoints hold it
verified and until the root has all their reports, the bytes the root sent
per byte of content, and peak memory of every process.

    bench/fanout.py [--relays 10] [--endpoints 10000] [--size 65536]
                    [--report-interval 1s] [--tls] [--smoke]

With --tls every link is tls+tcp:// (the tree's own CA, a server
certificate per relay and the root, a client certificate per swarm), as
an enterprise runs it; without, tcp://.

Prints one JSON object per result line.  Every process it starts is
stopped at the end; every wait is bounded.
"""

import argparse
import os
import sys
import time

import benchlib as B


def run(relays, endpoints, size, report_interval, case, limit_s, tls):
    with B.Net("bench-fanout") as net:
        root = B.root(net, tls=tls)
        rels = [net.relay([root], report_interval=report_interval,
                          poll_interval="10m", contexts=1024, tls=tls)
                for _ in range(relays)]
        time.sleep(0.3)
        base_kb = [B.proc_kb(r, "VmRSS") for r in rels]
        per = [endpoints // relays + (1 if i < endpoints % relays else 0)
               for i in range(relays)]
        swarms = [B.swarm(net, "swarm%d" % i, rels[i], n,
                          **(net.tls_conf("swarm%d" % i, "--client")
                             if tls else {}))
                  for i, n in enumerate(per) if n > 0]
        # Connection set-up and enrolment are not push latency: wait.
        B.wait_until(lambda: B.status(net)["endpoints"] == endpoints,
                     600, "every endpoint to enrol")
        # ...and its first inventory to reach the root, so that what
        # follows counts only what the push causes.
        B.wait_until(lambda: B.status(net)["accepted"] >= endpoints,
                     120, "every endpoint's inventory at the root")
        B.wait_until(lambda: len(B.events(swarms, "enrolled")) ==
                     endpoints, 120, "every swarm to see its enrolments")
        time.sleep(1.0)
        before = B.status(net)
        pid = "fanout-%s" % case
        net.publish(pid, 1, {"payload.bin": os.urandom(size)},
                    applicability=B.NEEDS, action="true")
        perf = B.perf_start()
        cpu0 = {"root": B.cpu_seconds(root),
                "relays": sum(B.cpu_seconds(r) for r in rels),
                "swarms": sum(B.cpu_seconds(s) for s in swarms)}
        t0 = B.now_ms()
        net.ctl("push", pid)

        def complete():
            st = B.status(net)
            c = B.counts(st, pid)
            return st if c.get("fixed", 0) + c.get("failed", 0) >= \
                endpoints else None
        st = B.wait_until(complete, limit_s, "the root to hold every report")
        B.perf_stop(perf)
        t_root = st["last_report_at_ms"]
        ver = B.events(swarms, "verified", pid)
        cpu_root = B.cpu_seconds(root)
        cpu = {"root": cpu_root - cpu0["root"],
               "relays": sum(B.cpu_seconds(r) for r in rels) -
               cpu0["relays"],
               "swarms": sum(B.cpu_seconds(s) for s in swarms) -
               cpu0["swarms"]}
        res = {
            "bench": "fanout", "case": case, "relays": relays,
            "transport": "tls+tcp" if tls else "tcp",
            "endpoints": endpoints, "size": size,
            "report_interval": report_interval,
            "verified": len(ver),
            "s_to_50": B.percentile_s(ver, t0, endpoints, 50),
            "s_to_90": B.percentile_s(ver, t0, endpoints, 90),
            "s_to_99": B.percentile_s(ver, t0, endpoints, 99),
            "s_to_100": B.percentile_s(ver, t0, endpoints, 100),
            "s_to_root_reports": round((t_root - t0) / 1000.0, 3),
            "root_bytes_sent": st["bytes_served"] - before["bytes_served"],
            "root_bytes_per_content": round(
                (st["bytes_served"] - before["bytes_served"]) / size, 3),
            "root_messages_in": st["batches"] - before["batches"],
            "root_reports_in": st["reports"] - before["reports"],
            "cpu_s_after_push": {k: round(v, 2) for k, v in cpu.items()},
            # Per role: a relay's per endpoint it served, the root's per
            # report it took, a simulated endpoint's own.
            "cpu_us_per": {
                "relay_endpoint": round(cpu["relays"] * 1e6 / endpoints),
                "root_report": round(cpu["root"] * 1e6 / max(
                    1, st["reports"] - before["reports"])),
                "swarm_endpoint": round(cpu["swarms"] * 1e6 / endpoints)},
            "root_rss_kb_peak": B.proc_kb(root, "VmHWM"),
            "relay_rss_kb_peak": max(B.proc_kb(r, "VmHWM") for r in rels),
            "relay_kb_per_endpoint": round(max(
                (B.proc_kb(r, "VmRSS") - b) / max(1, n)
                for r, b, n in zip(rels, base_kb, per)), 2),
            "swarm_kb_per_endpoint": round(max(
                B.proc_kb(s, "VmHWM") / s.n for s in swarms), 2),
        }
        res.update(B.machine())
        return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--relays", type=int, default=10)
    ap.add_argument("--endpoints", type=int, default=10000)
    ap.add_argument("--size", type=int, default=65536)
    ap.add_argument("--case", default=None)
    ap.add_argument("--report-interval", default="1s")
    ap.add_argument("--limit", type=float, default=300)
    ap.add_argument("--tls", action="store_true")
    ap.add_argument("--smoke", action="store_true")
    a = ap.parse_args()
    if a.smoke:
        a.relays, a.endpoints, a.size = 2, 6, 65536
    B.build()
    case = a.case or ("small" if a.size <= 1 << 20 else "large")
    B.emit(run(a.relays, a.endpoints, a.size, a.report_interval, case,
               a.limit, a.tls))


if __name__ == "__main__":
    sys.exit(main())
