#!/bin/sh
# Installs the Debian packages newsroom needs to build, run and test.
#
# Called by `make run` and `make test` (and by .ci/run) before anything is
# built. Checks with dpkg first, so a machine that has everything pays one
# dpkg-query call. Retries apt while another install holds its lock.
# Usage: scripts/deps.sh [build|test|asan]
#   test adds what the tests need (pytest, Chromium, Node.js, nginx, wrk,
#   the PostgreSQL server the store tests start with scripts/pg.sh),
#   asan adds clang and its sanitizer runtime.
set -eu

BUILD="build-essential pkg-config libmicrohttpd-dev libsqlite3-dev
libcmark-gfm-dev libcmark-gfm-extensions-dev libjansson-dev libsodium-dev
libvips-dev zlib1g-dev libbrotli-dev libpq-dev libcurl4-openssl-dev
libespeak-ng-dev espeak-ng-data libmp3lame-dev libxml2-dev libyajl-dev libarchive-dev
libssl-dev"
TEST="python3-pytest python3-pytest-xdist python3-bs4 python3-brotli python3-requests python3-aiosmtpd python3-feedparser python3-prometheus-client sox libsox-fmt-mp3 espeak-ng lame nginx-light wrk curl bc postgresql"

ASAN="clang libclang-rt-14-dev"
BROWSER="chromium"
# Node.js may come from elsewhere (nodesource); Debian's only when missing
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 ||
    BROWSER="$BROWSER nodejs npm"

want="$BUILD"
case "${1:-build}" in
test) want="$want $TEST $BROWSER" ;;
asan) want="$want $TEST $BROWSER $ASAN" ;;
esac

missing=""
for p in $want; do
    st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    case "$st" in *" installed") ;; *) missing="$missing $p" ;; esac
done
npm_deps() {
    # playwright-core drives Debian's Chromium; it downloads no browser
    [ "${1:-build}" = build ] && return 0
    dir=$(dirname "$0")/../tests/browser
    [ -d "$dir/node_modules/playwright-core" ] ||
        (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error) || return 1
    # Ghost's own Content API client, for tests/api
    dir=$(dirname "$0")/../tests/api
    [ -d "$dir/node_modules/@tryghost/content-api" ] && return 0
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
}
if [ -z "$missing" ]; then
    npm_deps "${1:-build}"
    exit 0
fi

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
npm_deps "${1:-build}"
