#!/usr/bin/env bash
#
# Build Arbor's Debian packages and check them with lintian.
#
#   deploy/build-deb.sh [OUTDIR]        (default OUTDIR: out/deb)
#
# Leaves arbor-common, arbor-root, arbor-relay and arbor-agent .deb files
# (and the .changes and .buildinfo) in OUTDIR.  Installs the build
# dependencies that are missing (apt-get, as root).  The source tree is
# copied to a temporary directory first: dpkg-buildpackage writes into the
# tree and its parent.  The version is the CMake project version
# (CMakeLists.txt), written into debian/changelog of the copy.  Fails if
# lintian reports an error.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$top/out/deb}
mkdir -p "$out"
out=$(cd "$out" && pwd)

version=$(sed -n 's/^project(arbor VERSION \([0-9.]*\).*/\1/p' \
    "$top/CMakeLists.txt")
if [ -z "$version" ]; then
	echo "build-deb.sh: no project(arbor VERSION ...) in CMakeLists.txt" >&2
	exit 1
fi

pkgs="build-essential debhelper dpkg-dev fakeroot lintian cmake pkg-config
	libuv1-dev libnng-dev protobuf-c-compiler libprotobuf-c-dev libssl-dev
	liblmdb-dev libcmocka-dev libjansson-dev python3"
# shellcheck disable=SC2086
"$top/deploy/need-debs.sh" build-deb.sh $pkgs

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
src=$work/arbor-$version
mkdir "$src"
# The tracked files and new ones not ignored (never build trees); a tree
# without git is copied whole but for build*/ and out/.
if git -C "$top" rev-parse --git-dir >/dev/null 2>&1; then
	(cd "$top" && git ls-files -z --cached --others --exclude-standard |
	    xargs -0 -r sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f";
	    done' sh | tar -c --null -T - -f -) | tar -x -C "$src"
else
	tar -c -C "$top" --exclude='./build*' --exclude=./out -f - . |
	    tar -x -C "$src"
fi

cat > "$src/debian/changelog" <<END
arbor ($version) unstable; urgency=medium

  * Arbor $version.

 -- The Arbor authors <arbor@localhost.invalid>  $(date -R)
END

echo "build-deb.sh: building arbor $version in $src"
(cd "$src" && dpkg-buildpackage -us -uc -b -j"$(nproc 2>/dev/null || echo 2)") \
    >"$work/build.log" 2>&1 || {
	tail -60 "$work/build.log"
	echo "build-deb.sh: dpkg-buildpackage failed" >&2
	exit 1
}
changes=$work/arbor_${version}_$(dpkg-architecture -qDEB_HOST_ARCH).changes
echo "build-deb.sh: lintian"
lintian --fail-on error --info "$changes" || {
	echo "build-deb.sh: lintian reports errors" >&2
	exit 1
}
cp "$work"/*.deb "$work"/*.changes "$work"/*.buildinfo "$out"/
ls "$out"/*.deb
