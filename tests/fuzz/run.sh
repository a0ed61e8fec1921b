#!/bin/bash
# run.sh - runs every libFuzzer target built by `make fuzz` for a bounded
# time and prints one line per target. Usage: run.sh BUILD_DIR SECONDS.
#
# FUZZ_JOBS targets run at once (default: the number of cores), so CI's
# 60 seconds each cost 60 x targets / cores of wall time.
# Each target NAME (BUILD_DIR/fuzz/NAME) fuzzes with a working corpus
# BUILD_DIR/fuzz-corpus/NAME, seeded from tests/fuzz/corpus/NAME (small
# hand-written seeds, committed) and from ../shared/fixtures (FIXTURES),
# copied or cut into the build folder here, never into the repository.
# A crash, leak, sanitizer report or timeout stops that target, leaves
# the input as BUILD_DIR/crashes/NAME-crash-<sha1> (or -leak-, -timeout-,
# -oom-), and makes the run fail after the remaining targets ran.
# docs/fuzzing.md says how to replay one and turn it into a unit test.
set -u

B=${1:-build-fuzz}
SECONDS_EACH=${2:-60}
HERE=$(cd "$(dirname "$0")" && pwd)
FIXTURES=${FIXTURES:-$HERE/../../../shared/fixtures}
mkdir -p "$B/crashes" "$B/fuzz-corpus" "$B/fuzz-logs"

# max_len per target: about the size a real input of that kind has.
max_len() {
    case "$1" in
    http_path | route | cond | cookie) echo 2048 ;; # BOUND_URL_LEN, headers
    urlencoded) echo 8192 ;;
    nql) echo 4096 ;;    # BOUND_NQL_BYTES
    search) echo 512 ;;  # STORE_SEARCH_QUERY_BYTES is 300
    config) echo 8192 ;;
    csv) echo 8192 ;;
    tmpl) echo 4096 ;;
    request) echo 16384 ;; # headers (BOUND_HEADER_BYTES) and a small body
    import) echo 32768 ;;
    *) echo 16384 ;; # md, htmlmd, speech
    esac
}

# Extra seeds cut from the shared fixtures into DIR for target NAME.
seed_fixtures() {
    [ -d "$FIXTURES" ] || return 0
    command -v python3 >/dev/null || return 0
    python3 - "$1" "$2" "$FIXTURES" "$HERE/../../docs" <<'PY'
import glob, hashlib, json, os, sys
name, out, fx, docs = sys.argv[1:5]
def put(text):
    b = text.encode("utf-8", "replace")[:16384]
    with open(os.path.join(out, "fx-" + hashlib.sha1(b).hexdigest()), "wb") as f:
        f.write(b)
def ghost_html():
    for p in glob.glob(fx + "/ghost-export/*/*.json"):
        try:
            d = json.load(open(p, encoding="utf-8"))
        except Exception:
            continue
        for db in d.get("db", [d]) if isinstance(d, dict) else []:
            posts = db.get("data", {}).get("posts", []) if isinstance(db, dict) else []
            for post in posts[:20]:
                if post.get("html"):
                    yield post["html"]
if name == "tmpl":
    for p in glob.glob(fx + "/mustache-spec/*.json"):
        for t in json.load(open(p, encoding="utf-8")).get("tests", []):
            put(t["template"])
elif name == "htmlmd":
    for h in ghost_html():
        put(h)
elif name == "speech":
    for h in ghost_html():
        put("\0" + h)
elif name == "import":
    # the first byte picks the importer: 0 Ghost JSON, 1 WXR
    for p in glob.glob(fx + "/ghost-export/*/*.json"):
        put("\0" + open(p, encoding="utf-8", errors="replace").read())
    for p in glob.glob(fx + "/wxr/**/*.xml", recursive=True):
        put("\1" + open(p, encoding="utf-8", errors="replace").read())
elif name == "md":
    for p in glob.glob(docs + "/*.md")[:30]:
        put(open(p, encoding="utf-8").read())
PY
}

# Extra libFuzzer flags per target.
extra_flags() {
    case "$1" in
    import) echo "-close_fd_mask=3" ;; # the importers print progress
    *) echo "" ;;
    esac
}

# Runs target $1 and writes its one-line verdict to BUILD_DIR/fuzz-logs/
# NAME.verdict; the verdict starts with "ok" or "CRASH".
run_one() {
    bin=$1
    name=$(basename "$bin")
    corpus="$B/fuzz-corpus/$name"
    log="$B/fuzz-logs/$name.log"
    mkdir -p "$corpus"
    if [ -d "$HERE/corpus/$name" ]; then
        cp "$HERE/corpus/$name"/* "$corpus"/ 2>/dev/null
    fi
    seed_fixtures "$name" "$corpus"
    LSAN_OPTIONS=suppressions=$HERE/../lsan.supp:print_suppressions=0 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        "$bin" -max_total_time="$SECONDS_EACH" -max_len="$(max_len "$name")" \
        -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        $(extra_flags "$name") \
        -artifact_prefix="$B/crashes/$name-" "$corpus" >"$log" 2>&1
    rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    if [ "$rc" -eq 0 ]; then
        echo "ok fuzz $name: ${runs:-0} runs, no crash" >"$B/fuzz-logs/$name.verdict"
    else
        art=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
        why=$(grep -m1 -E 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:' "$log")
        # the target's own message (fuzz_NAME: ...) and the first frames,
        # so a CI log that keeps only this output still says where
        said=$(grep -m3 -E '^fuzz_[a-z_]+: ' "$log")
        frames=$(grep -m8 -E '^ +#[0-9]+ ' "$log")
        {
            printf 'CRASH fuzz %s: after %s runs: %s\n    input: %s; log: %s\n' \
                "$name" "${runs:-?}" "${why:-exit $rc}" "${art:-none saved}" "$log"
            [ -n "$said" ] && printf '%s\n' "$said" | sed 's/^/    /'
            [ -n "$frames" ] && printf '%s\n' "$frames" | sed 's/^ */    /'
        } >"$B/fuzz-logs/$name.verdict"
    fi
}

JOBS=${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 1)}
rm -f "$B"/fuzz-logs/*.verdict
running=0
for bin in "$B"/fuzz/*; do
    [ -x "$bin" ] || continue
    run_one "$bin" &
    running=$((running + 1))
    if [ "$running" -ge "$JOBS" ]; then
        wait -n
        running=$((running - 1))
    fi
done
wait
failed=0
for v in "$B"/fuzz-logs/*.verdict; do
    [ -f "$v" ] || continue
    if head -1 "$v" | grep -q '^ok '; then
        sed 's/^ok //' "$v"
    else
        failed=$((failed + 1))
        sed 's/^CRASH //' "$v"
    fi
done
if [ "$failed" -ne 0 ]; then
    echo "fuzz: $failed target(s) crashed"
    exit 1
fi
