#!/usr/bin/env python3
"""Fan-out: a root, R relays, E simulated endpoints spread over them
(one swarm process per relay); publish and push an urgent policy; measure
the time from the push until 50/90/99/100 % of the endpoints hold it
verified and until the root has all their reports, the bytes the root sent
per byte of content, and peak memory of every process.

    bench/fanout.py [--relays 10] [--endpoints 10000] [--size 65536]
                    [--report-interval 1s] [--tls] [--smoke]
    bench/fanout.py --tiers 2 [--top 5] [--leaves 50] [--endpoints 50000]

With --tiers 2 the endpoints sit under leaf relays, the leaves under top
relays, the tops under the root (leaves and endpoints spread evenly), and
the line adds what each tier costs: memory per child of the leaves and of
the tops, and what the root received, which follows its direct children.

A simulated endpoint holds three descriptors (two connections and its
store), so the benchmark raises RLIMIT_NOFILE to its hard limit for the
processes it starts and splits a relay's endpoints over as many swarm
processes as that limit needs (--swarm-max to split further); it says on
stderr what it chose.  Before starting anything it estimates the run's
memory and refuses when MemAvailable cannot hold it.

With --tls every link is tls+tcp:// (the tree's own CA, a server
certificate per relay and the root, a client certificate per swarm), as
an enterprise runs it; without, tcp://.  --tls-engine mbedtls runs nng's
own TLS instead of OpenSSL's under it.

Prints one JSON object per result line.  Every process it starts is
stopped at the end; every wait is bounded.
"""

import argparse
import os
import resource
import sys
import time

import benchlib as B

# Descriptors: a simulated endpoint's (arbor-agent --swarm counts 3 and 64
# spare), a relay's per child (two connections) and spare.
SWARM_FDS_EACH, SWARM_FDS_SPARE = 3, 64
RELAY_FDS_EACH, RELAY_FDS_SPARE = 2, 256

# Memory: every process's peak summed, per endpoint (tree_kb_per_endpoint)
# was 407 KiB in `--tiers 2 --top 1 --leaves 2 --endpoints 2000` (1,000
# endpoints per leaf and per swarm, as in the full runs): 356 KiB of it the
# swarm's, the rest the relays' and the root's.  A tenth more, and room for
# this script and the arborctl calls.
MEM_KB_PER_ENDPOINT = 450
MEM_KB_SPARE = 256 * 1024


def spread(total, parts):
    """total split into parts counts that differ by at most one."""
    return [total // parts + (1 if i < total % parts else 0)
            for i in range(parts)]


def nofile():
    """Raise RLIMIT_NOFILE to the hard limit (the processes started from
    here inherit it); returns (soft before, soft now)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (ValueError, OSError):
            pass
    return soft, resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def check_memory(endpoints):
    """Refuse a run that MemAvailable cannot hold; returns the estimate
    in KiB."""
    need = endpoints * MEM_KB_PER_ENDPOINT + MEM_KB_SPARE
    with open("/proc/meminfo") as f:
        avail = next(int(ln.split()[1]) for ln in f
                     if ln.startswith("MemAvailable:"))
    sys.stderr.write("fanout: %d endpoints need about %.1f GiB (%d KiB "
                     "each); MemAvailable %.1f GiB\n" %
                     (endpoints, need / 2**20, MEM_KB_PER_ENDPOINT,
                      avail / 2**20))
    if need > avail:
        sys.exit("fanout: not starting: the run needs about %.1f GiB and "
                 "MemAvailable is %.1f GiB (stop other work, or run "
                 "fewer endpoints)" % (need / 2**20, avail / 2**20))
    return need


def plan(tiers, relays, top, leaves, endpoints, swarm_max):
    """The topology, as (top relays, leaf relays, endpoints per leaf, the
    sizes of the swarms of each leaf, endpoints per swarm at most); says
    it on stderr, and refuses what the descriptor limit cannot hold."""
    before, lim = nofile()
    if tiers == 1:
        top, leaves = 0, relays
    fit = (lim - SWARM_FDS_SPARE) // SWARM_FDS_EACH
    each = min(swarm_max or fit, fit)
    per = spread(endpoints, leaves)
    if max(per) * RELAY_FDS_EACH + RELAY_FDS_SPARE > lim:
        sys.exit("fanout: %d endpoints per relay need %d descriptors; "
                 "RLIMIT_NOFILE allows %d: use more relays" %
                 (max(per), max(per) * RELAY_FDS_EACH + RELAY_FDS_SPARE,
                  lim))
    swarms = [spread(n, -(-n // each)) if n else [] for n in per]
    nsw = sum(len(s) for s in swarms)
    sys.stderr.write(
        "fanout: RLIMIT_NOFILE %d (was %d): at most %d endpoints per swarm "
        "(%d descriptors each); %d tier%s, %d top, %d leaves, %d swarms "
        "of %d-%d endpoints\n" %
        (lim, before, each, SWARM_FDS_EACH, tiers, "s" if tiers > 1 else "",
         top, leaves, nsw, min(n for s in swarms for n in s),
         max(n for s in swarms for n in s)))
    return top, leaves, per, swarms, each


def seconds(text):
    """"500ms", "1s", "2m" in seconds."""
    for unit, f in (("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)):
        if text.endswith(unit) and text[:-len(unit)].isdigit():
            return int(text[:-len(unit)]) * f
    raise ValueError("%r: not a duration" % text)


def grown_kb_per(nodes, base, children):
    """Max over nodes of RSS growth since base per child."""
    return round(max((B.proc_kb(r, "VmRSS") - b) / max(1, n)
                     for r, b, n in zip(nodes, base, children)), 2)


def run(a, case):
    eng = {"tls_engine": a.tls_engine} if a.tls_engine else {}
    tls, endpoints, size = a.tls, a.endpoints, a.size
    top, leaves, per, swarm_sizes, swarm_max = plan(
        a.tiers, a.relays, a.top, a.leaves, endpoints, a.swarm_max)
    nswarms = sum(len(s) for s in swarm_sizes)
    mem_kb = check_memory(endpoints)
    # Enrolment and the push take longer with more endpoints.
    scale = max(1.0, endpoints / 10000.0)
    limit_s = a.limit or 300 * scale
    opts = dict(report_interval=a.report_interval, poll_interval="10m",
                contexts=1024, tls=tls, **eng)
    with B.Net("bench-fanout") as net:
        root = B.root(net, tls=tls, **eng)
        tops = [net.relay([root], **opts) for _ in range(top)]
        if tops:
            time.sleep(0.3)
        top_base = [B.proc_kb(r, "VmRSS") for r in tops]
        top_children = spread(leaves, top) if top else []
        under = [t for t, k in zip(tops, top_children) for _ in range(k)]
        rels = [net.relay([under[i] if tops else root], **opts)
                for i in range(leaves)]
        time.sleep(0.3)
        base_kb = [B.proc_kb(r, "VmRSS") for r in rels]
        swarms, i = [], 0
        for rel, sizes in zip(rels, swarm_sizes):
            for n in sizes:
                name = "swarm%d" % i
                swarms.append(B.swarm(
                    net, name, rel, n, **eng,
                    **(net.tls_conf(name, "--client") if tls else {})))
                i += 1
        # Connection set-up and enrolment are not push latency: wait.
        B.wait_until(lambda: B.status(net)["endpoints"] == endpoints,
                     600 * scale, "every endpoint to enrol")
        # ...and its first inventory to reach the root, so that what
        # follows counts only what the push causes.
        B.wait_until(lambda: B.status(net)["accepted"] >= endpoints,
                     120 * scale, "every endpoint's inventory at the root")
        B.wait_until(lambda: len(B.events(swarms, "enrolled")) ==
                     endpoints, 120 * scale,
                     "every swarm to see its enrolments")
        time.sleep(1.0)
        before = B.status(net)
        pid = "fanout-%s" % case
        net.publish(pid, 1, {"payload.bin": os.urandom(size)},
                    applicability=B.NEEDS, action="true")
        perf = B.perf_start()
        groups = {"root": [root], "relays": tops + rels, "swarms": swarms}
        if tops:
            groups["tops"] = tops
        cpu0 = {k: sum(B.cpu_seconds(n) for n in v)
                for k, v in groups.items()}
        t0 = B.now_ms()
        net.ctl("push", pid)

        def complete():
            # A status costs the root about 1 ms of CPU: with two tiers,
            # where the root's CPU is the figure compared across runs of
            # different lengths, ask twice a second, not fifty times.  The
            # times are the root's and the swarms' own, not the poll's.
            if a.tiers > 1:
                time.sleep(0.5)
            st = B.status(net)
            c = B.counts(st, pid)
            return st if c.get("fixed", 0) + c.get("failed", 0) >= \
                endpoints else None
        st = B.wait_until(complete, limit_s, "the root to hold every report")
        B.perf_stop(perf)
        t_root = st["last_report_at_ms"]
        ver = B.events(swarms, "verified", pid)
        cpu = {k: sum(B.cpu_seconds(n) for n in v) - cpu0[k]
               for k, v in groups.items()}
        res = {
            "bench": "fanout", "case": case, "relays": top + leaves,
            "tiers": a.tiers, "top": top, "leaves": leaves,
            "swarms": nswarms, "swarm_max": swarm_max,
            "transport": "tls+tcp" if tls else "tcp",
            "tls_engine": (a.tls_engine or "openssl") if tls else None,
            "endpoints": endpoints, "size": size,
            "report_interval": a.report_interval,
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
            "root_requests_in": st["requests"] - before["requests"],
            # The design's bound: one message per direct child per report
            # interval, over the time until the root held every report.
            "root_messages_per_child_interval": round(
                (st["batches"] - before["batches"]) / (top or leaves) /
                max(1.0, (t_root - t0) / 1000.0 /
                    seconds(a.report_interval)), 2),
            "cpu_s_after_push": {k: round(v, 2) for k, v in cpu.items()},
            # Per role: a relay's per endpoint it served, the root's per
            # report it took, a simulated endpoint's own.
            "cpu_us_per": {
                "relay_endpoint": round(cpu["relays"] * 1e6 / endpoints),
                "root_report": round(cpu["root"] * 1e6 / max(
                    1, st["reports"] - before["reports"])),
                "swarm_endpoint": round(cpu["swarms"] * 1e6 / endpoints)},
            "root_rss_kb_peak": B.proc_kb(root, "VmHWM"),
            "relay_rss_kb_peak": max(B.proc_kb(r, "VmHWM")
                                     for r in tops + rels),
            # A leaf's children are endpoints, a top's are leaves.
            "relay_kb_per_endpoint": grown_kb_per(rels, base_kb, per),
            "top_kb_per_child": grown_kb_per(tops, top_base, top_children)
            if tops else None,
            "top_kb_per_endpoint_below": grown_kb_per(
                tops, top_base, [sum(n for u, n in zip(under, per) if u is t)
                                 for t in tops]) if tops else None,
            "swarm_kb_per_endpoint": round(max(
                B.proc_kb(s, "VmHWM") / s.n for s in swarms), 2),
            # Every process's peak, summed, per endpoint: what the
            # memory estimate before a run is made of.
            "tree_kb_per_endpoint": round(sum(
                B.proc_kb(n, "VmHWM") for n in net.nodes) / endpoints, 2),
            "mem_kb_estimated": mem_kb,
        }
        res.update(B.machine())
        return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tiers", type=int, choices=[1, 2], default=1)
    ap.add_argument("--relays", type=int, default=10,
                    help="with one tier: the relays under the root")
    ap.add_argument("--top", type=int, default=5,
                    help="with two tiers: the relays under the root")
    ap.add_argument("--leaves", type=int, default=50,
                    help="with two tiers: the relays under the top ones")
    ap.add_argument("--endpoints", type=int, default=10000)
    ap.add_argument("--swarm-max", type=int, default=None,
                    help="endpoints per swarm process at most (default: "
                    "what RLIMIT_NOFILE allows)")
    ap.add_argument("--size", type=int, default=65536)
    ap.add_argument("--case", default=None)
    ap.add_argument("--report-interval", default="1s")
    ap.add_argument("--limit", type=float, default=None,
                    help="seconds for the push (default 300 per 10,000 "
                    "endpoints, at least 300)")
    ap.add_argument("--tls", action="store_true")
    ap.add_argument("--tls-engine", choices=["openssl", "mbedtls"],
                    help="the library under nng's TLS (default openssl)")
    ap.add_argument("--smoke", action="store_true")
    a = ap.parse_args()
    if a.smoke:
        a.relays, a.endpoints, a.size = 2, 6, 65536
    if min(a.relays, a.top, a.leaves, a.endpoints) < 1 or \
            a.leaves < a.top or (a.swarm_max is not None and a.swarm_max < 1):
        ap.error("relays, top, leaves, endpoints and swarm-max must be "
                 "positive, and leaves at least top")
    try:
        seconds(a.report_interval)
    except ValueError as e:
        ap.error("--report-interval: %s" % e)
    B.build()
    case = a.case or ("small" if a.size <= 1 << 20 else "large")
    B.emit(run(a, case))


if __name__ == "__main__":
    sys.exit(main())
