#!/usr/bin/env python3
"""Read the JSON lines of a bench/run.sh run and print the comparisons:
the large fan-out case against the machine's floor and against the nginx
tree (time until every endpoint holds the blob)."""

import json
import sys


def main(path):
    res = [json.loads(ln) for ln in open(path) if ln.startswith("{")]
    floor = next((r for r in res if r.get("bench") == "floor"), None)
    peer = next((r for r in res if r.get("bench") == "peer"), None)
    fan = [r for r in res if r.get("bench") == "fanout"]
    large = max(fan, key=lambda r: r["size"]) if fan else None
    out = {"bench": "ratios"}
    if large and floor:
        out["fanout_over_floor"] = round(large["s_to_100"] /
                                         floor["seconds"], 2)
    if large and peer:
        out["arbor_over_nginx"] = round(large["s_to_100"] /
                                        peer["seconds_to_100"], 2)
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1])
