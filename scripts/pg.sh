#!/bin/sh
# Starts and stops a throwaway PostgreSQL server for the tests (and for
# trying the PostgreSQL backend by hand).
#
# Usage:
#   scripts/pg.sh [start] [DATADIR]   prints postgresql://newsroom@127.0.0.1:PORT/newsroom
#   scripts/pg.sh stop DATADIR        stops that server, removes DATADIR
#   scripts/pg.sh down DATADIR        stops that server, keeps DATADIR
#   scripts/pg.sh up DATADIR          starts it again, same port and data
#   scripts/pg.sh restart DATADIR     down, then up (an outage drill)
#
# start makes DATADIR (default: a new /tmp/newsroom-pg-XXXXXX), runs initdb
# in DATADIR/data with trust authentication for local connections (logs in
# DATADIR/*.log, the Unix socket in DATADIR), starts the server
# on 127.0.0.1 and a free port, touching nothing system-wide, creates the
# database "newsroom" and prints its URL on stdout; everything else goes
# to stderr. Durability is off (fsync=off): the data is for tests.
# PostgreSQL refuses to run as root, so as root the server runs as the
# postgres user of the Debian package (or $PG_USER), which owns DATADIR.
# The binaries come from $PG_BIN, else the newest /usr/lib/postgresql/*/bin.
set -eu

say() { echo "pg.sh: $*" >&2; }

bindir() {
    if [ -n "${PG_BIN:-}" ]; then
        echo "$PG_BIN"
        return
    fi
    for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        [ -x "$d/pg_ctl" ] && { echo "$d"; return; }
    done
    d=$(command -v pg_ctl 2>/dev/null || true)
    [ -n "$d" ] && { dirname "$d"; return; }
    say "cannot find pg_ctl: install the postgresql package (scripts/deps.sh test)"
    exit 1
}

# owner_of DIR: sets owner to the user that owns DIR.
owner_of() {
    owner=$(stat -c %U "$1")
}

# as_owner CMD...: runs CMD as the user that owns the data directory.
as_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u "$owner" -- "$@"
    else
        "$@"
    fi
}

start() {
    bin=$(bindir)
    dir=${1:-}
    if [ -z "$dir" ]; then
        dir=$(mktemp -d /tmp/newsroom-pg-XXXXXX)
    else
        mkdir -p "$dir"
    fi
    if [ "$(id -u)" -eq 0 ]; then
        owner=${PG_USER:-postgres}
        if ! id "$owner" >/dev/null 2>&1; then
            say "cannot run postgresql as root and there is no '$owner' user"
            exit 1
        fi
        chown "$owner" "$dir"
    else
        owner=$(id -un)
    fi
    chmod 700 "$dir"
    if ! as_owner "$bin/initdb" -D "$dir/data" -U newsroom -A trust -E UTF8 \
        --no-locale --no-sync >"$dir/initdb.log" 2>&1; then
        say "initdb failed:"
        cat "$dir/initdb.log" >&2
        exit 1
    fi
    # A random port; if it is taken the server fails and we try another.
    tries=0
    while :; do
        tries=$((tries + 1))
        port=$(( $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 30000 + 20000 ))
        if as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
            -o "-c listen_addresses=127.0.0.1 -p $port \
                -c unix_socket_directories='$dir' -c fsync=off \
                -c synchronous_commit=off -c full_page_writes=off \
                -c max_connections=200" start >/dev/null 2>&1; then
            break
        fi
        if [ $tries -ge 10 ]; then
            say "cannot start postgresql; its log:"
            tail -n 20 "$dir/server.log" >&2 || true
            exit 1
        fi
    done
    echo "$port" >"$dir/port"
    if ! as_owner "$bin/createdb" -h 127.0.0.1 -p "$port" -U newsroom \
        newsroom >&2; then
        say "cannot create the database"
        stop "$dir"
        exit 1
    fi
    say "postgresql $(basename "$(dirname "$bin")") on 127.0.0.1:$port, data in $dir"
    say "stop it with: scripts/pg.sh stop $dir"
    echo "postgresql://newsroom@127.0.0.1:$port/newsroom"
}

# server_start DIR PORT: pg_ctl start on an existing data directory.
server_start() {
    as_owner "$bin/pg_ctl" -D "$1/data" -l "$1/server.log" -w -t 30 \
        -o "-c listen_addresses=127.0.0.1 -p $2 \
            -c unix_socket_directories='$1' -c fsync=off \
            -c synchronous_commit=off -c full_page_writes=off \
            -c max_connections=200" start >/dev/null 2>&1
}

# down DIR: fast shutdown of DIR's server (open connections are cut);
# the data and the port stay for up.
down() {
    dir=$1
    if [ ! -f "$dir/port" ]; then
        say "'$dir' is not a directory made by scripts/pg.sh"
        exit 1
    fi
    [ -f "$dir/data/postmaster.pid" ] || return 0
    pid=$(head -n 1 "$dir/data/postmaster.pid")
    kill -INT "$pid" 2>/dev/null || true
    n=0
    while kill -0 "$pid" 2>/dev/null && [ $n -lt 100 ]; do
        sleep 0.1
        n=$((n + 1))
    done
    if kill -0 "$pid" 2>/dev/null; then
        say "postgresql (pid $pid) did not stop"
        exit 1
    fi
}

# up DIR: starts DIR's server again on the port it had.
up() {
    dir=$1
    if [ ! -f "$dir/port" ]; then
        say "'$dir' is not a directory made by scripts/pg.sh"
        exit 1
    fi
    bin=$(bindir)
    owner_of "$dir"
    if ! server_start "$dir" "$(cat "$dir/port")"; then
        say "cannot start postgresql again; its log:"
        tail -n 20 "$dir/server.log" >&2 || true
        exit 1
    fi
}

stop() {
    dir=$1
    if [ ! -f "$dir/data/PG_VERSION" ] && [ ! -f "$dir/initdb.log" ]; then
        say "'$dir' is not a directory made by scripts/pg.sh"
        exit 1
    fi
    if [ -f "$dir/data/postmaster.pid" ]; then
        pid=$(head -n 1 "$dir/data/postmaster.pid")
        # SIGINT = fast shutdown: roll back open transactions, then exit
        kill -INT "$pid" 2>/dev/null || true
        n=0
        while kill -0 "$pid" 2>/dev/null && [ $n -lt 100 ]; do
            sleep 0.1
            n=$((n + 1))
        done
        if kill -0 "$pid" 2>/dev/null; then
            say "postgresql (pid $pid) did not stop; killing it"
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    rm -rf "$dir"
}

case "${1:-start}" in
start)
    [ $# -gt 0 ] && shift
    start "${1:-}"
    ;;
stop)
    [ $# -eq 2 ] || { say "usage: scripts/pg.sh stop DATADIR"; exit 2; }
    stop "$2"
    ;;
down | up | restart)
    [ $# -eq 2 ] || { say "usage: scripts/pg.sh $1 DATADIR"; exit 2; }
    case $1 in
    down) down "$2" ;;
    up) up "$2" ;;
    restart) down "$2" && up "$2" ;;
    esac
    ;;
*)
    # a data directory given without "start"
    start "$1"
    ;;
esac
