#!/usr/bin/env bash
# Run every Arbor benchmark and print one JSON object per result line,
# then the ratios the README's Performance table is made of.
#
#   bench/run.sh            the full runs (a few minutes each on 2 cores)
#   bench/run.sh --smoke    a tiny version of each, in seconds
#   bench/run.sh --tiers    the two-tier fan-out at 10,000 and at 50,000
#                           endpoints (5 top relays; 10 and 50 leaves of
#                           1,000): all of the machine, ~20 GiB, for minutes
#
# Installs what it needs (nginx for the peer comparison, the build
# dependencies) when run as root; builds into build/ (ARBOR_BUILD to
# change).  Every benchmark stops every process it starts.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
export ARBOR_BUILD=${ARBOR_BUILD:-$repo/build}
smoke="" tiers=""
case "${1:-}" in
--smoke) smoke="--smoke" ;;
--tiers) tiers="--tiers" ;;
"") ;;
*) echo "usage: bench/run.sh [--smoke | --tiers]" >&2; exit 2 ;;
esac

pkgs="build-essential cmake pkg-config libuv1-dev libnng-dev
	protobuf-c-compiler libprotobuf-c-dev libssl-dev liblmdb-dev
	libcmocka-dev libjansson-dev python3 nginx-light"
missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
	    grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ] && [ "$(id -u)" -eq 0 ]; then
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
fi
if [ ! -f "$ARBOR_BUILD/CMakeCache.txt" ]; then
	cmake -S "$repo" -B "$ARBOR_BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	    >/dev/null
fi
cmake --build "$ARBOR_BUILD" -j"$(nproc)" >/dev/null
cmake --build "$ARBOR_BUILD" -j"$(nproc)" --target bench >/dev/null

out=$(mktemp)
trap 'rm -f "$out"' EXIT
run() { "$@" | tee -a "$out"; }

if [ -n "$smoke" ]; then
	run "$here/floor.sh" --smoke
	run "$here/peer.sh" --smoke
	run python3 "$here/fanout.py" --smoke
	run python3 "$here/fanout.py" --smoke --tls
	run python3 "$here/fanout.py" --tiers 2 --top 2 --leaves 2 \
	    --endpoints 200 --swarm-max 60
	run python3 "$here/fanin.py" --smoke
elif [ -n "$tiers" ]; then
	# The root's load follows its direct children (the 5 top relays),
	# not the endpoints: ratios.py compares what it received and spent.
	run python3 "$here/fanout.py" --tiers 2 --top 5 --leaves 10 \
	    --endpoints 10000
	run python3 "$here/fanout.py" --tiers 2 --top 5 --leaves 50 \
	    --endpoints 50000
else
	run "$here/floor.sh"
	run "$here/peer.sh"
	run python3 "$here/fanout.py" --relays 10 --endpoints 10000 \
	    --size 65536
	# The large case over tcp:// and tls+tcp://, interleaved (the
	# machine drifts): three rounds, the ratio per round.
	for round in 1 2 3; do
		run python3 "$here/fanout.py" --relays 10 --endpoints 1000 \
		    --size 10485760
		run python3 "$here/fanout.py" --relays 10 --endpoints 1000 \
		    --size 10485760 --tls
	done
	run python3 "$here/fanin.py" --relays 10 --endpoints 10000
fi
python3 "$here/ratios.py" "$out"
