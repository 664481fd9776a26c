#!/usr/bin/env bash
# Build Arbor and run every test: unit, integration and fuzz-corpus replay,
# first in a plain build, then under AddressSanitizer and
# UndefinedBehaviorSanitizer; then a clang Release build of everything with
# its unit tests and corpus replay; then each libFuzzer target briefly.
# Every build has -Werror (ARBOR_WERROR).  Installs the Debian packages it
# needs when run as root.
#
#   tests/run.sh            everything
#   FUZZ_SECONDS=0 ...      skip the libFuzzer runs
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
jobs=$(nproc 2>/dev/null || echo 2)
fuzz_seconds=${FUZZ_SECONDS:-20}

pkgs="build-essential cmake pkg-config libuv1-dev libnng-dev
	protobuf-c-compiler libprotobuf-c-dev libssl-dev liblmdb-dev
	libcmocka-dev libjansson-dev python3 clang nginx-light prometheus
	debhelper dpkg-dev fakeroot lintian systemd man-db chromium nodejs"
# Debian's npm, unless a nodejs that carries its own (NodeSource's
# conflicts with Debian's npm package) is there already.
command -v npm >/dev/null || pkgs="$pkgs npm"
# shellcheck disable=SC2086
deploy/need-debs.sh tests/run.sh $pkgs

# playwright-core for test_console, from tests/console's lock file into a
# build directory, from npm's cache when it has it; without it the test
# installs it itself, or skips.
console_node() {	# build dir
	local d=$1/console-node
	mkdir -p "$d"
	cp tests/console/package.json tests/console/package-lock.json "$d"/
	(cd "$d" && npm ci --prefer-offline --no-audit --no-fund \
	    --ignore-scripts >/dev/null) ||
	    echo "tests/run.sh: npm ci in $d failed: test_console skips" >&2
}

start=$(date +%s)
run_suite() {	# build dir, ctest labels ("" for all), cmake options...
	local dir=$1 labels=$2
	shift 2
	echo "==== $dir: $*${labels:+ (tests: $labels)}"
	cmake -S . -B "$dir" -DARBOR_WERROR=ON "$@" >/dev/null
	cmake --build "$dir" -j"$jobs" >/dev/null
	(cd "$dir" && ctest --output-on-failure -j"$jobs" --timeout 900 \
	    ${labels:+-L "$labels"})
}

console_node build
console_node build-asan
run_suite build "" -DCMAKE_BUILD_TYPE=RelWithDebInfo
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    run_suite build-asan "" -DCMAKE_BUILD_TYPE=Debug -DARBOR_SANITIZE=ON
# Another compiler at full optimisation finds other warnings; the
# integration tests add little over the two runs above, so only the unit
# tests and the corpus replay run here.
if command -v clang >/dev/null; then
	run_suite build-clang "unit|fuzz" -DCMAKE_C_COMPILER=clang \
	    -DCMAKE_BUILD_TYPE=Release
	cmake --build build-clang -j"$jobs" --target bench >/dev/null
fi

if [ "$fuzz_seconds" -gt 0 ] && command -v clang >/dev/null; then
	echo "==== build-fuzz: libFuzzer, ${fuzz_seconds}s per target"
	cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang \
	    -DCMAKE_BUILD_TYPE=Debug -DARBOR_FUZZ=ON -DARBOR_SANITIZE=ON \
	    -DARBOR_WERROR=ON >/dev/null
	for src in tests/fuzz/fuzz_*.c; do
		name=$(basename "$src" .c)
		target=${name#fuzz_}
		cmake --build build-fuzz -j"$jobs" --target "$name" >/dev/null
		work=$(mktemp -d)
		cp tests/fuzz/corpus/"$target"/* "$work"/ 2>/dev/null || true
		build-fuzz/tests/fuzz/"$name" -max_total_time="$fuzz_seconds" \
		    -rss_limit_mb=2048 -print_final_stats=0 "$work" \
		    >"$work.log" 2>&1 || {
			tail -40 "$work.log"
			echo "tests/run.sh: $name found a failure" >&2
			exit 1
		}
		echo "$name: $(grep -c . "$work.log") log lines, no failure"
		rm -rf "$work" "$work.log"
	done
fi
echo "tests/run.sh: all passed in $(( $(date +%s) - start )) s"
