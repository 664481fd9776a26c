#!/usr/bin/env bash
# The peer for the large fan-out case: the same distribution through the
# tool people would use instead of Arbor, a tree of nginx caching proxies.
# One origin nginx serves the blob from disk; R relay nginx instances each
# proxy_cache it from the origin; N HTTP clients (bench/hget.c, one GET on
# its own connection per client) are spread round-robin over the relays.
# The caches start cold, so the time includes every relay fetching the
# blob from the origin, as Arbor's relays fetch from the root after a push.
#
#   bench/peer.sh [--smoke] [--relays R] [--clients N] [--size BYTES]
#   env: R (10), N (1000), SIZE (10485760), HGET_PROCS (nproc),
#        TIMEOUT (120), NGINX_WORKERS (1), PORT_BASE (random),
#        KEEP=1 keeps the temp dir,
#        ARBOR_BUILD (build/)
#
# Prints one JSON line.  Every process it starts is stopped on exit and
# every wait is bounded.  It never touches /etc/nginx or the system's nginx
# service: each instance has its own prefix, config, pid, logs and cache
# under a temp dir.
#
# Fairness choices:
# - worker_processes 1 in every instance.  An Arbor relay is one process
#   with one event loop; an nginx worker is the same thing.  With 11
#   instances on 2 cores there is already more than one runnable process per
#   core, so more workers per instance only add context switches: with
#   NGINX_WORKERS=auto the large case took the same time (7.9 s to 100 %
#   against 7.3-7.9 s) and more memory.
# - proxy_cache_lock on, so that concurrent misses at a relay make one
#   upstream fetch: Arbor's single flight.  Its lock_timeout and lock_age are
#   raised from 5 s to 60 s so that a slow fetch never lets waiting requests
#   go to the origin uncached, which would be a different design.
# - sendfile on, proxy_buffering on, HTTP/1.1 to the origin, and access
#   logs (one line per request, as a real deployment keeps them).
# - hget hashes and checks every body with SHA-256, as Arbor's agents do;
#   it runs as nproc processes (HGET_PROCS) so the hashing can use every
#   core, as Arbor's swarm processes do.  With one process the client was
#   the bottleneck (13 s to 100 % instead of 7.3 s); four were no faster
#   than two.
#
# What nginx's cache lock does: the request that takes the lock fetches
# from the origin and streams to its own client; the others at that relay
# wait until the whole blob is in the cache, and they find out by polling
# the lock every 500 ms (nginx has no wake-up across processes).  So with
# a small blob most clients finish about 0.5 s after the first one.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
build=${ARBOR_BUILD:-$repo/build}
relays=${R:-10}
clients=${N:-1000}
size=${SIZE:-10485760}
procs=${HGET_PROCS:-$(nproc)}
timeout=${TIMEOUT:-120}
workers=${NGINX_WORKERS:-1}

usage() {
	echo "usage: $0 [--smoke] [--relays R] [--clients N] [--size BYTES]" >&2
	exit 2
}

while [ $# -gt 0 ]; do
	case $1 in
	--smoke) relays=2 clients=4 size=262144 ;;
	--relays) relays=${2:?}; shift ;;
	--clients) clients=${2:?}; shift ;;
	--size) size=${2:?}; shift ;;
	*) usage ;;
	esac
	shift
done

# nginx: Debian's package.  Installing it does not start anything we use;
# we run our own instances.
nginx=$(command -v nginx || echo /usr/sbin/nginx)
if [ ! -x "$nginx" ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "peer: nginx is not installed and we are not root" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -qq nginx-light >/dev/null 2>&1 ||
	    { apt-get update -qq && apt-get install -y -qq nginx-light; } ||
	    apt-get install -y -qq nginx
	nginx=$(command -v nginx || echo /usr/sbin/nginx)
fi

if [ ! -f "$build/CMakeCache.txt" ]; then
	cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$build" --target bench -j"$(nproc)" >/dev/null
hget=$build/bench/hget

dir=$(mktemp -d "${TMPDIR:-/tmp}/arbor-peer.XXXXXX")
pids=()
hget_pid=

# Stop every nginx we started: TERM to each master (a fast shutdown that
# takes its workers along), a bounded wait, then KILL to whatever is left,
# workers included.
cleanup() {
	local pid kids=() i
	set +e
	[ -n "$hget_pid" ] && kill -TERM "$hget_pid" 2>/dev/null
	for pid in "${pids[@]}"; do
		kids+=($(pgrep -P "$pid" 2>/dev/null))
		kill -TERM "$pid" 2>/dev/null
	done
	for i in $(seq 50); do
		for pid in "${pids[@]}" "${kids[@]}"; do
			kill -0 "$pid" 2>/dev/null && break
			pid=
		done
		[ -z "${pid:-}" ] && break
		sleep 0.1
	done
	for pid in "${pids[@]}" "${kids[@]}"; do
		kill -KILL "$pid" 2>/dev/null
	done
	wait 2>/dev/null
	if [ "${KEEP:-0}" = 1 ]; then
		echo "peer: kept $dir" >&2
	else
		rm -rf "$dir"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Ports: R + 1 consecutive ones below the ephemeral range, so the clients'
# own ports never collide with them; refuse ports someone listens on.
base=${PORT_BASE:-$((20000 + (RANDOM % 100) * 100))}
port_busy() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}
for i in $(seq 0 "$relays"); do
	if port_busy $((base + i)); then
		echo "peer: port $((base + i)) is in use; set PORT_BASE" >&2
		exit 1
	fi
done

# Workers drop to nobody when we are root: let them into the temp dir.
user_line=
if [ "$(id -u)" -eq 0 ]; then
	user_line="user nobody nogroup;"
	chmod 755 "$dir"
fi

# The blob: random bytes, so nothing along the way can compress it.
mkdir -p "$dir/www"
head -c "$size" /dev/urandom >"$dir/www/blob"
chmod 644 "$dir/www/blob"
sha=$(sha256sum "$dir/www/blob" | cut -d' ' -f1)

# conf NAME PORT SERVER-BLOCK-BODY [HTTP-EXTRA]
conf() {
	local d=$dir/$1
	mkdir -p "$d/tmp"
	cat >"$d/nginx.conf" <<EOF
$user_line
worker_processes $workers;
worker_rlimit_nofile 8192;
pid $d/nginx.pid;
error_log $d/error.log warn;
events {
	worker_connections 4096;
}
http {
	default_type application/octet-stream;
	sendfile on;
	tcp_nopush on;
	keepalive_timeout 65;
	client_body_temp_path $d/tmp/body;
	proxy_temp_path $d/tmp/proxy;
	fastcgi_temp_path $d/tmp/fastcgi;
	uwsgi_temp_path $d/tmp/uwsgi;
	scgi_temp_path $d/tmp/scgi;
	log_format bench '\$status \$bytes_sent \$upstream_cache_status';
	access_log $d/access.log bench;
	${4:-}
	server {
		listen 127.0.0.1:$2 backlog=4096;
		$3
	}
}
EOF
}

conf origin "$base" "root $dir/www;"
for i in $(seq 1 "$relays"); do
	conf "relay$i" $((base + i)) "
		location / {
			proxy_pass http://127.0.0.1:$base;
			proxy_http_version 1.1;
			proxy_buffering on;
			proxy_cache blobs;
			proxy_cache_valid 200 1h;
			proxy_cache_lock on;
			proxy_cache_lock_timeout 60s;
			proxy_cache_lock_age 60s;
		}" "proxy_cache_path $dir/relay$i/cache levels=1:2 keys_zone=blobs:10m max_size=4g inactive=1h use_temp_path=off;"
done

start() {
	"$nginx" -p "$dir/$1/" -c "$dir/$1/nginx.conf" -e "$dir/$1/error.log" \
	    -g 'daemon off;' &
	pids+=($!)
}
start origin
for i in $(seq 1 "$relays"); do
	start "relay$i"
done

# Wait, bounded, until every instance listens.
for i in $(seq 0 "$relays"); do
	for t in $(seq 100); do
		port_busy $((base + i)) && break
		if [ "$t" = 100 ]; then
			echo "peer: nginx on port $((base + i)) did not start" >&2
			cat "$dir"/*/error.log >&2 || true
			exit 1
		fi
		sleep 0.1
	done
done

: >"$dir/urls"
for i in $(seq 1 "$relays"); do
	echo "http://127.0.0.1:$((base + i))/blob" >>"$dir/urls"
done

# The measured part: every client asks at once, caches cold.
# In the background, so that a TERM to this script is handled at once
# (bash runs traps only between foreground commands); hget's workers die
# with it.
hget_rc=0
"$hget" --urls-file "$dir/urls" --clients "$clients" --sha256 "$sha" \
    --size "$size" --procs "$procs" --timeout "$timeout" >"$dir/hget.out" &
hget_pid=$!
wait "$hget_pid" || hget_rc=$?
hget_pid=
hget_out=$(cat "$dir/hget.out")

# Peak memory of each relay while it is still running: the worker (the
# process doing the work, the counterpart of one arbor-relay) and all of
# the instance's processes together (master, cache manager and loader).
rss() {
	awk '/^VmHWM:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0
}
worker_peak=0
all_peak=0
for i in $(seq 1 "$relays"); do
	master=${pids[$i]}
	sum=$(rss "$master")
	for kid in $(pgrep -P "$master"); do
		kb=$(rss "$kid")
		sum=$((sum + kb))
		if grep -q "worker process" "/proc/$kid/cmdline" 2>/dev/null &&
		    [ "$kb" -gt "$worker_peak" ]; then
			worker_peak=$kb
		fi
	done
	[ "$sum" -gt "$all_peak" ] && all_peak=$sum
done

# nginx writes an access-log line as each request ends; all have ended.
origin_log=$dir/origin/access.log
origin_bytes=$(awk '{ s += $2 } END { print s + 0 }' "$origin_log")
origin_reqs=$(awk 'END { print NR }' "$origin_log")
cache_counts=$(cat "$dir"/relay*/access.log |
    awk '{ c[$3]++ } END { for (k in c) printf "%s=%d ", k, c[k] }')

HGET_OUT=$hget_out CACHE=$cache_counts python3 - "$relays" "$clients" \
    "$size" "$origin_bytes" "$origin_reqs" "$worker_peak" "$all_peak" \
    "$procs" "$("$nginx" -v 2>&1 | sed 's|.*/||')" <<'EOF'
import json, os, sys
r, n, size, ob, oreq, wpk, apk, procs, ver = sys.argv[1:]
try:
    h = json.loads(os.environ["HGET_OUT"])
except ValueError:
    h = {}
cache = dict(kv.split("=") for kv in os.environ["CACHE"].split())
res = {"bench": "peer", "tool": "nginx", "nginx": ver,
       "relays": int(r), "clients": int(n), "size": int(size),
       "ok": h.get("ok", 0), "failed": h.get("failed", int(n))}
for p in (50, 90, 99, 100):
    res["seconds_to_%d" % p] = h.get("seconds_to_%d" % p)
res.update({
    "seconds_first": h.get("seconds_first"),
    "bytes_to_clients": h.get("bytes", 0),
    "origin_bytes_sent": int(ob), "origin_requests": int(oreq),
    "origin_bytes_per_content": round(int(ob) / int(size), 3),
    "relay_cache": {k: int(v) for k, v in cache.items()},
    "relay_rss_kb_peak": int(wpk), "relay_rss_kb_peak_all": int(apk),
    "hget_procs": int(procs), "cpus": os.cpu_count()})
print(json.dumps(res))
EOF
exit "$hget_rc"
