#!/usr/bin/env bash
#
# Arbor in one command: build it, run a small tree on 127.0.0.1 and time a
# push.
#
#   sudo deploy/demo.sh          (on a fresh Debian 12 machine)
#
# Installs the build dependencies that are missing (apt-get, as root),
# builds into build/ (RelWithDebInfo; an existing build/ is reused), then
# runs, in a temporary directory:
#
#   root -> relay1 -> relay3        two tiers of relays,
#        -> relay2                  4 agents on each relay (12), polling
#                                   only every 10 minutes
#
# publishes policy demo-1 v1 (a 4 MiB blob), then v2 (a fresh 4 MiB blob)
# and pushes it, and measures from the start of `arborctl push` until
# every agent holds v2's blob verified (an agent's blob gets its real name
# blobs/sha256/ab/abcd... only once it has hashed right).  The last line
# is the summary:
#
#   demo: 2 tiers, 3 relays, 12 agents: demo-1 (4.0 MiB) verified on
#   12/12 agents 0.05 s after push
#
# Every process it started is stopped on exit; the temporary directory is
# removed unless KEEP=1.  ARBOR_BUILD names another build directory.
# Waits are bounded: after 60 s the summary shows the count reached.

set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${ARBOR_BUILD:-$REPO/build}
NRELAYS=3
NAGENTS=12
BLOB_MIB=4
LIMIT=60			# seconds to wait for the push to land

say() { printf 'demo: %s\n' "$*"; }
die() { printf 'demo: %s\n' "$*" >&2; exit 1; }

# ---- dependencies -----------------------------------------------------

PKGS=(build-essential cmake pkg-config libuv1-dev libnng-dev
      protobuf-c-compiler libprotobuf-c-dev libssl-dev liblmdb-dev
      libcmocka-dev libjansson-dev python3)

if command -v dpkg-query >/dev/null 2>&1; then
	missing=()
	for p in "${PKGS[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
		    grep -q 'install ok installed' || missing+=("$p")
	done
	if [ ${#missing[@]} -gt 0 ]; then
		[ "$(id -u)" -eq 0 ] ||
		    die "missing packages: ${missing[*]} (run as root to install them)"
		say "installing ${missing[*]}"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq
		apt-get install -y -qq "${missing[@]}" >/dev/null
	fi
fi

# ---- build --------------------------------------------------------------

# quietly CMD...: run it; show its output only if it fails.
quietly() {
	local out rc=0
	out=$(mktemp)
	"$@" >"$out" 2>&1 || rc=$?
	[ $rc -eq 0 ] || tail -n 40 "$out" >&2
	rm -f "$out"
	return $rc
}
if [ ! -f "$BUILD/CMakeCache.txt" ]; then
	say "configuring $BUILD"
	quietly cmake -S "$REPO" -B "$BUILD" \
	    -DCMAKE_BUILD_TYPE=RelWithDebInfo || die "cmake failed"
fi
say "building in $BUILD"
quietly cmake --build "$BUILD" -j"$(nproc)" --target arbor-root arbor-relay \
    arbor-agent arborctl ||
    die "build failed: cmake --build $BUILD"

ROOT_BIN=$BUILD/root/arbor-root
RELAY_BIN=$BUILD/relay/arbor-relay
AGENT_BIN=$BUILD/endpoint/arbor-agent
CTL=$BUILD/root/arborctl
for b in "$ROOT_BIN" "$RELAY_BIN" "$AGENT_BIN" "$CTL"; do
	[ -x "$b" ] || die "$b: not built"
done

# ---- processes and clean-up --------------------------------------------

TMP=$(mktemp -d "${TMPDIR:-/tmp}/arbor-demo.XXXXXX")
PIDS=()

cleanup() {
	local rc=$? pid i
	trap - EXIT INT TERM
	for pid in "${PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for i in $(seq 50); do		# up to 5 s for them to go
		local alive=0
		for pid in "${PIDS[@]}"; do
			kill -0 "$pid" 2>/dev/null && alive=1
		done
		[ $alive -eq 0 ] && break
		sleep 0.1
	done
	for pid in "${PIDS[@]}"; do
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	if [ "${KEEP:-0}" = 1 ]; then
		say "kept $TMP" >&2
	else
		rm -rf "$TMP"
	fi
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Microseconds since the epoch.
now_us() {
	if [ -n "${EPOCHREALTIME:-}" ]; then
		echo "${EPOCHREALTIME/./}"
	else
		echo $(( $(date +%s%N) / 1000 ))
	fi
}

# wait_log NAME PATTERN SECONDS: until NAME's log matches, bounded.
wait_log() {
	local name=$1 pat=$2 end=$(( $(now_us) + $3 * 1000000 ))
	until grep -q -- "$pat" "$TMP/$name.log" 2>/dev/null; do
		if [ "$(now_us)" -gt $end ]; then
			tail -n 20 "$TMP/$name.log" >&2 || true
			die "$name: no \"$pat\" in its log after $3 s"
		fi
		sleep 0.02
	done
}

# start NAME BINARY ARGS...: run it in the background, logging to NAME.log.
start() {
	local name=$1
	shift
	"$@" >"$TMP/$name.log" 2>&1 &
	PIDS+=($!)
}

# ---- ports ----------------------------------------------------------------

NPORTS=$(( 2 * (NRELAYS + 1) ))

port_busy() {
	if command -v ss >/dev/null 2>&1; then
		ss -Hltn "sport = :$1" 2>/dev/null | grep -q .
	else
		! python3 -c 'import socket,sys
s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1])))' "$1" \
		    2>/dev/null
	fi
}

BASE=
for try in $(seq 50); do
	b=$(( 30000 + RANDOM % (20000 - NPORTS) ))
	ok=1
	for (( p = b; p < b + NPORTS; p++ )); do
		if port_busy $p; then ok=0; break; fi
	done
	if [ $ok -eq 1 ]; then BASE=$b; break; fi
done
[ -n "$BASE" ] || die "no $NPORTS free ports found in 30000-50000"

url() { echo "tcp://127.0.0.1:$(( BASE + $1 ))"; }

# ---- the tree ---------------------------------------------------------------

say "tree on 127.0.0.1 ports $BASE-$(( BASE + NPORTS - 1 )), in $TMP$( \
    [ "${KEEP:-0}" = 1 ] || echo ' (KEEP=1 keeps it)')"

"$CTL" keygen "$TMP/keys" >/dev/null
PUBKEY=$TMP/keys/publisher.pub

ROOT_SVC=$(url 0) ROOT_PUB=$(url 1)
start root "$ROOT_BIN" --data_dir "$TMP/root" --key "$TMP/keys/publisher.key" \
    --svc "$ROOT_SVC" --pub "$ROOT_PUB"
wait_log root "serving" 10
ctl() { "$CTL" -d "$TMP/root" "$@"; }

# relay i listens on ports 2i, 2i+1; parent: relay1, relay2 -> root,
# relay3 -> relay1.
declare -A SVC PUB
for i in $(seq 1 $NRELAYS); do
	SVC[$i]=$(url $(( 2 * i ))) PUB[$i]=$(url $(( 2 * i + 1 )))
done
relay_parent() {
	case $1 in
	1|2) echo "$ROOT_SVC $ROOT_PUB" ;;
	*) echo "${SVC[1]} ${PUB[1]}" ;;
	esac
}
for i in $(seq 1 $NRELAYS); do
	start relay$i "$RELAY_BIN" --data_dir "$TMP/relay$i" --pubkey "$PUBKEY" \
	    --parent "$(relay_parent $i)" --svc "${SVC[$i]}" --pub "${PUB[$i]}" \
	    --node_id relay$i --poll_interval 10m --poll_jitter 1m --timeout 5s
	wait_log relay$i "serving" 10
done

AGENTS=()
for j in $(seq 1 $NAGENTS); do
	i=$(( (j - 1) % NRELAYS + 1 ))
	start agent$j "$AGENT_BIN" --data_dir "$TMP/agent$j" --pubkey "$PUBKEY" \
	    --relay "${SVC[$i]} ${PUB[$i]}" --node_id agent$j \
	    --poll_interval 10m --poll_jitter 1m --timeout 5s
	AGENTS+=("agent$j")
done
for a in "${AGENTS[@]}"; do
	wait_log "$a" "started" 10
done
say "root; relay1 and relay2 under it, relay3 under relay1;" \
    "$(( NAGENTS / NRELAYS )) agents on each relay, polling every 10 min"

# ---- policies -----------------------------------------------------------

# policy VERSION: write demo-1 vVERSION with a fresh random blob; prints
# the policy file's path.
policy() {
	local d=$TMP/policies/demo-1-$1
	mkdir -p "$d"
	head -c $(( BLOB_MIB * 1024 * 1024 )) /dev/urandom >"$d/payload.bin"
	cat >"$d/policy.json" <<EOF
{
  "id": "demo-1",
  "version": $1,
  "title": "Arbor demo policy",
  "severity": "high",
  "applicability": "true",
  "action": "echo demo-1 v$1 applied",
  "blobs": [{"path": "payload.bin"}]
}
EOF
	echo "$d/policy.json"
}

# holding SHA: how many agents hold blob SHA under its real name.
holding() {
	local n=0 a
	for a in "${AGENTS[@]}"; do
		[ -f "$TMP/$a/blobs/sha256/${1:0:2}/$1" ] && n=$(( n + 1 ))
	done
	echo $n
}

# wait_all SHA SECONDS: until every agent holds SHA, bounded; prints the
# count reached.
wait_all() {
	local end=$(( $(now_us) + $2 * 1000000 )) n
	while :; do
		n=$(holding "$1")
		if [ "$n" -eq $NAGENTS ] || [ "$(now_us)" -gt $end ]; then
			echo "$n"
			return
		fi
		sleep 0.01
	done
}

P1=$(policy 1)
SHA1=$(sha256sum "$(dirname "$P1")/payload.bin" | cut -d' ' -f1)
ctl publish "$P1" >/dev/null
n=$(wait_all "$SHA1" 30)
say "published demo-1 v1 ($BLOB_MIB MiB): $n/$NAGENTS agents have it"

P2=$(policy 2)
BLOB2=$(dirname "$P2")/payload.bin
SHA2=$(sha256sum "$BLOB2" | cut -d' ' -f1)
SIZE2=$(stat -c %s "$BLOB2")
say "publishing demo-1 v2 (sha256 ${SHA2:0:12}...) and pushing it"
TP=$(now_us)
ctl publish "$P2" >/dev/null
T0=$(now_us)
ctl push demo-1 >/dev/null
n=$(wait_all "$SHA2" $LIMIT)
T1=$(now_us)

secs() { awk -v us="$1" 'BEGIN { printf "%.2f", us / 1e6 }'; }
SECS=$(secs $(( T1 - T0 )))
# The publish notifies too: agents may start on v2 before the push.
say "v2: publish took $(secs $(( T0 - TP ))) s;" \
    "$n/$NAGENTS agents verified it $(secs $(( T1 - TP ))) s after" \
    "the publish began"
MIB=$(awk -v b="$SIZE2" 'BEGIN { printf "%.1f", b / 1048576 }')
if [ "$n" -eq $NAGENTS ]; then
	WHEN="$SECS s after push"
else
	WHEN="(gave up $SECS s after push)"
fi
echo "demo: 2 tiers, $NRELAYS relays, $NAGENTS agents: demo-1 ($MIB MiB)" \
    "verified on $n/$NAGENTS agents $WHEN"
[ "$n" -eq $NAGENTS ]
