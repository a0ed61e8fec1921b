#!/bin/sh
# Installs the Debian packages newsroom needs to build, run and test.
#
# Called by `make run` and `make test` (and by .ci/run) before anything is
# built. Checks with dpkg first, so a machine that has everything pays one
# dpkg-query call. Retries apt while another install holds its lock.
# Usage: scripts/deps.sh [build|test]   (test adds the test-only packages)
set -eu

BUILD="build-essential pkg-config libmicrohttpd-dev libsqlite3-dev
libcmark-gfm-dev libcmark-gfm-extensions-dev libjansson-dev libsodium-dev
libvips-dev zlib1g-dev libbrotli-dev"
TEST="python3-pytest python3-bs4 nginx-light wrk curl bc"

want="$BUILD"
[ "${1:-build}" = test ] && want="$want $TEST"

missing=""
for p in $want; do
    st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    case "$st" in *" installed") ;; *) missing="$missing $p" ;; esac
done
[ -z "$missing" ] && exit 0

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
echo "installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
try() {
    n=0
    until $SUDO "$@"; do
        n=$((n + 1))
        [ $n -ge 30 ] && { echo "apt failed after $n tries" >&2; return 1; }
        echo "apt busy or failed; retrying in 10 s" >&2
        sleep 10
    done
}
# A fresh machine has no package lists yet: fetch them once.
if [ ! -e /var/lib/apt/lists/lock ] || \
   [ -z "$(ls /var/lib/apt/lists/ 2>/dev/null | grep -v -e lock -e partial)" ]; then
    try apt-get update -qq
fi
if ! try apt-get install -y -qq --no-install-recommends $missing; then
    try apt-get update -qq
    try apt-get install -y -qq --no-install-recommends $missing
fi
