#!/bin/sh
# Install the Debian packages named that are not installed yet (apt-get,
# as root); as another user, name the missing ones and fail.
#
#   deploy/need-debs.sh WHO PACKAGE...      (WHO prefixes the messages)
set -eu

who=$1
shift
missing=""
for p in "$@"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
	    grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "$who: missing packages:$missing (run as root to install them)" >&2
	exit 1
fi
echo "$who: installing$missing"
apt-get update -qq
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
