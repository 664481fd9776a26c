#!/usr/bin/env bash
#
# Arbor in one command: build it, run a small tree on 127.0.0.1, time a
# push, then publish a real patch policy and show the root's own view.
#
#   sudo deploy/demo.sh          (on a fresh Debian 12 machine)
#   deploy/demo.sh --console     the same, then the tree stays up with the
#                                root's web console until Ctrl-C
#
# Installs the build dependencies that are missing (apt-get, as root),
# builds into build/ (RelWithDebInfo; an existing build/ is reused), then
# runs, in a temporary directory:
#
#   root -> relay1 -> relay3        two tiers of relays,
#        -> relay2                  4 agents on each relay (12), polling
#                                   only every 10 minutes
#
# Each agent reads its facts from its own copy of a fixture tree
# (tests/fixtures): nine are Debian 12 with an old openssl (one of them
# with a full disk, so that its install fails), two are Debian 12 already
# patched, one is Ubuntu.
#
# 1. Publishes policy demo-1 (a 4 MiB blob) and pushes it, and measures
#    from the start of `arborctl push` until every agent holds the blob
#    verified (an agent's blob gets its real name blobs/sha256/ab/abcd...
#    only once it has hashed right):
#
#      demo: 2 tiers, 3 relays, 12 agents: demo-1 (4.0 MiB) verified on
#      12/12 agents 0.3 s after push
#
# 2. Publishes demo-openssl, which applies where
#      os.id == "debian" && pkg("openssl") < version("3.0.22-1~deb12u2")
#    and whose action "installs" the package (updates the fixture's dpkg
#    status and writes a file), pushes it, and waits until the root holds
#    a final state from every endpoint.  The last line is the root's view:
#
#      demo: demo-openssl: 8 fixed, 3 not applicable, 1 failed; root
#      received 12 reports in 5 batches; last report at the root 1.2 s
#      after push
#
# 3. Publishes demo-pilot, a staged rollout (pilot 25 %, then 50 %, then
#    all) whose action fails, and checks that it halts itself on its pilot
#    with no endpoint outside the pilot running it:
#
#      demo: rollout demo-pilot: halted in wave pilot (2 of 3 failed); halt
#      signed 0.0 s after the failure that tripped it; 0 endpoints outside
#      the pilot ran it
#
# Every link is TLS (tls+tcp://): the demo makes its own CA and a
# certificate for each node, and says so on its last line; PLAIN=1 runs it
# over plain tcp:// instead.
#
# With --console the root also serves its HTTP API and web console on
# another loopback port; after the summary the demo prints the console's
# address and an operator token (arborctl api-token create --role operator
# --name demo) and keeps the tree running until Ctrl-C.
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

CONSOLE=0
for arg in "$@"; do
	case $arg in
	--console) CONSOLE=1 ;;
	*) die "usage: deploy/demo.sh [--console]" ;;
	esac
done

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

# start NAME BINARY ARGS...: run a daemon in the background, logging to
# NAME.log (-d: to stderr, not syslog).
start() {
	local name=$1 bin=$2
	shift 2
	"$bin" -d "$@" >"$TMP/$name.log" 2>&1 &
	PIDS+=($!)
}

# ---- ports ----------------------------------------------------------------

NPORTS=$(( 2 * (NRELAYS + 1) + CONSOLE ))	# --console: the API's port last

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

# ---- TLS ------------------------------------------------------------------
# Every link is tls+tcp:// (PLAIN=1: tcp://).  The demo makes its own CA
# and a certificate per node: the root and the relays get server
# certificates named NAME.arbor, which their children check; every child
# shows a client certificate, which its parent requires.
if [ "${PLAIN:-0}" = 1 ]; then SCHEME=tcp; else SCHEME=tls+tcp; fi
url() { echo "$SCHEME://127.0.0.1:$(( BASE + $1 ))"; }
# the name a parent's certificate carries, as a parent line's third word
tls_name() { [ "$SCHEME" = tcp ] || echo " $1.arbor"; }
# tls_args NAME [--client]: issue NAME's certificate; its daemon's keys
tls_args() {
	[ "$SCHEME" = tcp ] && return
	"$CTL" cert issue --ca "$TMP/ca" --name "$1.arbor" \
	    --out "$TMP/tls/$1" ${2:-} >/dev/null
	echo "--tls_ca $TMP/ca/ca.crt --tls_cert $TMP/tls/$1.crt" \
	    "--tls_key $TMP/tls/$1.key"
}

# ---- the tree ---------------------------------------------------------------

say "tree on 127.0.0.1 ports $BASE-$(( BASE + NPORTS - 1 )), in $TMP$( \
    [ "${KEEP:-0}" = 1 ] || echo ' (KEEP=1 keeps it)')"

"$CTL" keygen "$TMP/keys" >/dev/null
if [ "$SCHEME" != tcp ]; then
	"$CTL" ca init "$TMP/ca" >/dev/null
	mkdir -p "$TMP/tls"
fi
PUBKEY=$TMP/keys/publisher.pub

ROOT_SVC=$(url 0) ROOT_PUB=$(url 1)
TOKEN=demo-enrol-$RANDOM$RANDOM
API_ARGS=()
if [ "$CONSOLE" = 1 ]; then
	API_URL=http://127.0.0.1:$(( BASE + NPORTS - 1 ))
	API_ARGS=(--api_listen "$API_URL")
fi
start root "$ROOT_BIN" --data_dir "$TMP/root" --key "$TMP/keys/publisher.key" \
    --svc "$ROOT_SVC" --pub "$ROOT_PUB" --enroll_token "$TOKEN" \
    "${API_ARGS[@]}" $(tls_args root)
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
	1|2) echo "$ROOT_SVC $ROOT_PUB$(tls_name root)" ;;
	*) echo "${SVC[1]} ${PUB[1]}$(tls_name relay1)" ;;
	esac
}
for i in $(seq 1 $NRELAYS); do
	start relay$i "$RELAY_BIN" --data_dir "$TMP/relay$i" --pubkey "$PUBKEY" \
	    --parent "$(relay_parent $i)" --svc "${SVC[$i]}" --pub "${PUB[$i]}" \
	    --node_id relay$i --poll_interval 10m --poll_jitter 1m --timeout 5s \
	    --report_interval 250ms $(tls_args relay$i)
	wait_log relay$i "serving" 10
done

# fixture J: a private copy of agent J's facts tree (see the header).
fixture() {
	local j=$1 src dst=$TMP/facts/agent$1
	case $j in
	10|11) src=debian12-patched ;;
	12) src=ubuntu-2204 ;;
	*) src=debian12-old-openssl ;;
	esac
	mkdir -p "$TMP/facts"
	cp -r "$REPO/tests/fixtures/$src" "$dst"
	if [ "$j" -eq 9 ]; then
		echo "no space left on device" >"$dst/etc/disk-full"
	fi
	echo "$dst"
}

AGENTS=()
for j in $(seq 1 $NAGENTS); do
	i=$(( (j - 1) % NRELAYS + 1 ))
	start agent$j "$AGENT_BIN" --data_dir "$TMP/agent$j" --pubkey "$PUBKEY" \
	    --relay "${SVC[$i]} ${PUB[$i]}$(tls_name relay$i)" --node_id agent$j \
	    --poll_interval 10m --poll_jitter 1m --timeout 5s \
	    --facts_root "$(fixture $j)" --enroll_token "$TOKEN" \
	    $(tls_args agent$j --client)
	AGENTS+=("agent$j")
done
for a in "${AGENTS[@]}"; do
	wait_log "$a" "enrolled as" 20
done
say "root; relay1 and relay2 under it, relay3 under relay1;" \
    "$(( NAGENTS / NRELAYS )) agents on each relay, polling every 10 min," \
    "enrolled"

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
  "applicability": "!file.exists(\"/var/lib/demo-1.v$1\")",
  "action": "cp payload.bin \"\$ARBOR_FACTS_ROOT/var/lib/demo-1.v$1\"",
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

secs() { awk -v us="$1" 'BEGIN { printf "%.2f", us / 1e6 }'; }

# ---- 1: a push ------------------------------------------------------------

P1=$(policy 1)
BLOB1=$(dirname "$P1")/payload.bin
SHA1=$(sha256sum "$BLOB1" | cut -d' ' -f1)
SIZE1=$(stat -c %s "$BLOB1")
say "publishing demo-1 ($BLOB_MIB MiB, sha256 ${SHA1:0:12}...) and pushing it"
ctl publish "$P1" >/dev/null
T0=$(now_us)
ctl push demo-1 >/dev/null
n=$(wait_all "$SHA1" $LIMIT)
T1=$(now_us)
SECS=$(secs $(( T1 - T0 )))
MIB=$(awk -v b="$SIZE1" 'BEGIN { printf "%.1f", b / 1048576 }')
if [ "$n" -eq $NAGENTS ]; then
	WHEN="$SECS s after push"
else
	WHEN="(gave up $SECS s after push)"
fi
echo "demo: 2 tiers, $NRELAYS relays, $NAGENTS agents: demo-1 ($MIB MiB)" \
    "verified on $n/$NAGENTS agents $WHEN"
[ "$n" -eq $NAGENTS ] || exit 1

# ---- 2: a real patch policy, and the root's view ---------------------------

D=$TMP/policies/demo-openssl
mkdir -p "$D"
head -c $(( 1024 * 1024 )) /dev/urandom >"$D/openssl_3.0.22-1~deb12u2_amd64.deb"
cat >"$D/install.sh" <<'SCRIPT'
# Install the (simulated) package into this endpoint's facts tree.
set -e
if [ -e "$ARBOR_FACTS_ROOT/etc/disk-full" ]; then
	cat "$ARBOR_FACTS_ROOT/etc/disk-full" >&2
	exit 28
fi
sed -i 's/^Version: 3.0.11-1~deb12u2$/Version: 3.0.22-1~deb12u2/' \
    "$ARBOR_FACTS_ROOT/var/lib/dpkg/status"
cp openssl_*.deb "$ARBOR_FACTS_ROOT/openssl-installed.deb"
echo "openssl 3.0.22-1~deb12u2 installed"
SCRIPT
cat >"$D/policy.json" <<'POLICY'
{
  "id": "demo-openssl",
  "version": 1,
  "title": "OpenSSL 3.0.22 security update",
  "severity": "critical",
  "applicability": "os.id == \"debian\" && pkg(\"openssl\") < version(\"3.0.22-1~deb12u2\")",
  "action_file": "install.sh",
  "timeout": 60,
  "blobs": [{"path": "openssl_3.0.22-1~deb12u2_amd64.deb"}]
}
POLICY

# json EXPR: evaluate EXPR on the root's status document `d`.
json() {
	python3 -c 'import json, sys
d = json.load(sys.stdin)
c = {}
for p in d["policies"]:
    if p["id"] == "demo-openssl":
        c = p["counts"]
print(eval(sys.argv[1]))' "$1"
}
status_json() { ctl status --json; }

# Let demo-1's own reports land first, so that what follows counts only
# demo-openssl's.
end=$(( $(now_us) + LIMIT * 1000000 ))
while [ "$(status_json | json 'sum(p["counts"]["fixed"] for p in d["policies"] if p["id"] == "demo-1")')" -lt $NAGENTS ] &&
    [ "$(now_us)" -lt $end ]; do
	sleep 0.05
done
B0=$(status_json | json 'd["batches"]')
R0=$(status_json | json 'd["reports"]')
# ---- inventory: what the root predicts before publishing (issue 11) ------
# The root holds every endpoint's packages; a dry run evaluates the
# policy's applicability over them, as the agents will.
end=$(( $(now_us) + LIMIT * 1000000 ))
while [ "$(ctl query --count true)" -lt $NAGENTS ] &&
    [ "$(now_us)" -lt $end ]; do
	sleep 0.05
done
say "the root's inventory: openssl by OS (query --by os):"
ctl query --by os 'pkg("openssl") < version("3.0.22-1~deb12u2")' |
    sed 's/^/      /'
say "dry run of demo-openssl:"
ctl publish --dry-run "$D/policy.json" | sed 's/^/      /'
PREDICTED=$(ctl publish --dry-run --json "$D/policy.json" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["matched"])')
# ---- end of the inventory block ---------------------------------------

say "publishing demo-openssl (applies where openssl < 3.0.22-1~deb12u2)" \
    "and pushing it"
ctl publish "$D/policy.json" >/dev/null
T0=$(now_us)
ctl push demo-openssl >/dev/null
FINAL='("fixed", "not-applicable", "failed", "reboot-pending", "error")'
end=$(( $(now_us) + LIMIT * 1000000 ))
while :; do
	J=$(status_json)
	n=$(echo "$J" | json "sum(c.get(k, 0) for k in $FINAL)")
	[ "$n" -ge $NAGENTS ] && break
	[ "$(now_us)" -gt $end ] && break
	sleep 0.05
done
say "the root's view:"
ctl status demo-openssl | sed 's/^/      /'
ctl endpoints --policy demo-openssl --state failed | sed 's/^/      /'
BATCHES=$(( $(echo "$J" | json 'd["batches"]') - B0 ))
REPORTS=$(( $(echo "$J" | json 'd["reports"]') - R0 ))
LAST_MS=$(echo "$J" | json 'd["last_report_at_ms"]')
LAST=$(awk -v ms=$(( LAST_MS - T0 / 1000 )) \
    'BEGIN { printf "%.1f", ms / 1000 }')
echo "demo: demo-openssl: $(echo "$J" | json 'c.get("fixed", 0)') fixed," \
    "$(echo "$J" | json 'c.get("not-applicable", 0)') not applicable," \
    "$(echo "$J" | json 'c.get("failed", 0)') failed;" \
    "root received $REPORTS reports in $BATCHES batches;" \
    "last report at the root $LAST s after push"
APPLIED=$(echo "$J" | json 'sum(v for k, v in c.items() if k != "not-applicable")')
echo "demo: query pkg(\"openssl\") < version(\"3.0.22-1~deb12u2\"):" \
    "$PREDICTED endpoints predicted, $APPLIED reported applicable"

# ---- a staged rollout that halts itself on a failing pilot ---------------
# demo-pilot's action fails everywhere (a bad patch).  Its pilot is a
# quarter of the endpoints, chosen by hash; more than half of them failing
# halts the rollout, and no endpoint outside the pilot may run it.  The
# counts are the root's, from the endpoints' reports, and the files the
# action leaves in the fixture trees are counted besides.
R=$TMP/policies/demo-pilot
mkdir -p "$R"
cat >"$R/policy.json" <<'POLICY'
{
  "id": "demo-pilot", "version": 1, "title": "A bad patch, piloted",
  "severity": "medium", "applicability": "true",
  "action": "touch \"$ARBOR_FACTS_ROOT/demo-pilot.ran\"; echo 'post-install script failed' >&2; exit 1",
  "blobs": [],
  "rollout": { "waves": [ { "name": "pilot", "share": 25, "halt": 50 },
                          { "name": "half", "share": 50, "halt": 10 },
                          { "name": "all", "share": 100 } ] }
}
POLICY
say "publishing demo-pilot, a staged rollout whose pilot fails"
ctl publish "$R/policy.json" >/dev/null
rjson() {
	ctl rollout status demo-pilot --json |
	    python3 -c 'import json, sys; print(json.load(sys.stdin)[0][sys.argv[1]])' "$1"
}
end=$(( $(now_us) + LIMIT * 1000000 ))
while [ "$(rjson state)" != halted ] && [ "$(now_us)" -lt $end ]; do
	sleep 0.05
done
# Every endpoint has heard of it (those outside the pilot wait), and has
# had time to make a mistake.
while [ "$(status_json | json 'sum(sum(p["counts"].values()) for p in d["policies"] if p["id"] == "demo-pilot")')" -lt $NAGENTS ] &&
    [ "$(now_us)" -lt $end ]; do
	sleep 0.1
done
sleep 2
ctl status demo-pilot | sed 's/^/      /'
RAN_FILES=$(ls "$TMP"/facts/agent*/demo-pilot.ran 2>/dev/null | wc -l)
OUTSIDE=$(rjson outside_ran)
if [ "$RAN_FILES" -gt "$(rjson ran)" ]; then
	OUTSIDE=$(( OUTSIDE + RAN_FILES - $(rjson ran) ))
fi
echo "demo: rollout demo-pilot: $(rjson state) in wave $(rjson name)" \
    "($(rjson failed) of $(rjson in) failed); halt signed" \
    "$(awk -v ms="$(rjson halt_after_ms)" 'BEGIN { printf "%.1f", ms / 1000 }')" \
    "s after the failure that tripped it; $OUTSIDE endpoints outside the" \
    "pilot ran it"
[ "$(rjson state)" = halted ] && [ "$OUTSIDE" -eq 0 ] ||
    die "the rollout did not halt on its pilot"

if [ "$SCHEME" = tcp ]; then
	echo "demo: links: plain tcp:// on loopback (PLAIN=1)"
else
	echo "demo: links: TLS (tls+tcp://) on all $(( NRELAYS + NAGENTS ))" \
	    "links; $(ls "$TMP/tls" | grep -c '\.crt$') certificates from the" \
	    "demo's own CA; every parent checked by name, every child by" \
	    "its client certificate"
fi

# ---- --console: the tree stays up for the web console --------------------
if [ "$CONSOLE" = 1 ]; then
	say "web console: $API_URL/"
	if OPTOKEN=$(ctl api-token create --role operator --name demo \
	    2>/dev/null); then
		say "operator token (arborctl api-token create --role operator" \
		    "--name demo):"
		echo "$OPTOKEN" | sed 's/^/      /'
	else
		say "this root takes no API tokens yet: sign in with any token"
	fi
	say "the tree stays up; Ctrl-C stops everything"
	while :; do
		sleep 1
	done
fi
[ "$n" -ge $NAGENTS ]
