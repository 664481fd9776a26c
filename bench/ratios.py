#!/usr/bin/env python3
"""Read the JSON lines of a bench/run.sh run and print the comparisons:
the large fan-out case against the machine's floor and against the nginx
tree (time until every endpoint holds the blob), and the large case over
tls+tcp:// against tcp://: the runs alternate, so the ratio of each
round's pair, and their median with the spread; and of the two-tier
fan-out (bench/run.sh --tiers), what the root received and spent at the
most endpoints over the same at the fewest: its load follows its direct
children, so both should stay within 1.2."""

import json
import sys


def main(path):
    res = [json.loads(ln) for ln in open(path) if ln.startswith("{")]
    floor = next((r for r in res if r.get("bench") == "floor"), None)
    peer = next((r for r in res if r.get("bench") == "peer"), None)
    fan = [r for r in res if r.get("bench") == "fanout" and
           r.get("tiers", 1) == 1]
    two = [r for r in res if r.get("bench") == "fanout" and
           r.get("tiers") == 2]
    tcp = [r for r in fan if r.get("transport", "tcp") == "tcp"]
    tls = [r for r in fan if r.get("transport") == "tls+tcp" and
           r.get("tls_engine", "openssl") == "openssl"]
    large = max(tcp, key=lambda r: r["size"]) if tcp else None
    out = {"bench": "ratios"}
    if large and floor:
        out["fanout_over_floor"] = round(large["s_to_100"] /
                                         floor["seconds"], 2)
    if large and peer:
        out["arbor_over_nginx"] = round(large["s_to_100"] /
                                        peer["seconds_to_100"], 2)
    big = max((r["size"] for r in tls), default=None)
    pairs = [(a, b) for a, b in zip(
        [r for r in tcp if r["size"] == big],
        [r for r in tls if r["size"] == big])
        if a["s_to_100"] and b["s_to_100"]]
    if pairs:
        rs = sorted(b["s_to_100"] / a["s_to_100"] for a, b in pairs)
        out["tls_over_tcp"] = round(rs[len(rs) // 2], 2)
        out["tls_over_tcp_spread"] = [round(rs[0], 2), round(rs[-1], 2)]
        out["tls_over_tcp_rounds"] = len(rs)
    if len({r["endpoints"] for r in two}) > 1:
        few = min(two, key=lambda r: r["endpoints"])
        many = max(two, key=lambda r: r["endpoints"])
        out["tiers2_endpoints"] = [few["endpoints"], many["endpoints"]]
        for k, f in (("root_messages", lambda r: r["root_messages_in"]),
                     ("root_cpu", lambda r: r["cpu_s_after_push"]["root"])):
            if f(few) > 0:
                out["tiers2_%s_ratio" % k] = round(f(many) / f(few), 2)
        out["tiers2_within_1.2"] = all(
            v <= 1.2 for k, v in out.items()
            if k.startswith("tiers2_") and k.endswith("_ratio"))
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1])
