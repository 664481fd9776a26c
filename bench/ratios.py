#!/usr/bin/env python3
"""Read the JSON lines of a bench/run.sh run and print the comparisons:
the large fan-out case against the machine's floor and against the nginx
tree (time until every endpoint holds the blob), and the large case over
tls+tcp:// against tcp://: the runs alternate, so the ratio of each
round's pair, and their median with the spread."""

import json
import sys


def main(path):
    res = [json.loads(ln) for ln in open(path) if ln.startswith("{")]
    floor = next((r for r in res if r.get("bench") == "floor"), None)
    peer = next((r for r in res if r.get("bench") == "peer"), None)
    fan = [r for r in res if r.get("bench") == "fanout"]
    tcp = [r for r in fan if r.get("transport", "tcp") == "tcp"]
    tls = [r for r in fan if r.get("transport") == "tls+tcp"]
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
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1])
