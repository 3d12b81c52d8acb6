#!/bin/bash
# Builds the libFuzzer targets t/fuzz/fuzz_*.c into build/fuzz/ and runs
# each for FUZZ_SECONDS (default 60) on a scratch copy of its seed corpus
# t/fuzz/corpus/NAME/, so the tree is not modified.  Fails when a target
# crashes, leaks or breaks an invariant; the crashing input is left in
# build/fuzz/artifacts/.  FUZZ_TARGETS="form scope" runs only those.
#
# FUZZ_RUNS=N (make fuzz-long) runs each target for N executions instead
# of a set time, one after the other, with its log and a kept corpus in
# build/fuzz/long/ (the figures of the long-run table come from there).
set -euo pipefail

cd "$(dirname "$0")/.."
REPO=$PWD
OUT=$REPO/build/fuzz
SECONDS_EACH=${FUZZ_SECONDS:-60}
RUNS=${FUZZ_RUNS:-}
FUZZ_CC=${FUZZ_CC:-}

if [ -z "$FUZZ_CC" ]; then
    for c in clang-14 clang; do
        command -v "$c" >/dev/null 2>&1 && { FUZZ_CC=$c; break; }
    done
fi
[ -n "$FUZZ_CC" ] || { echo "fuzz: clang not found (make deps)" >&2; exit 1; }

CFLAGS="-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -g -O1
        -Wall -Wextra -Wno-unused-parameter -std=gnu99 -D_GNU_SOURCE -Isrc"
SRCS="src/ngx_http_imprest_core.c src/ngx_http_imprest_oauth.c"
DEPS="$SRCS src/ngx_http_imprest_core.h src/ngx_http_imprest_oauth.h
      t/fuzz/fuzz_common.h tools/fuzz.sh"

# what a target needs besides SRCS: its own sources and libraries
extra_srcs() {
    case $1 in
    resp) echo "src/ngx_http_imprest_resp.c" ;;
    esac
}
extra_deps() {
    case $1 in
    resp) echo "src/ngx_http_imprest_resp.c src/ngx_http_imprest_resp.h" ;;
    esac
}
extra_libs() {
    case $1 in
    resp) echo "-lhiredis" ;;
    esac
}

targets=${FUZZ_TARGETS:-$(cd t/fuzz && ls fuzz_*.c | sed 's/^fuzz_//; s/\.c$//')}
mkdir -p "$OUT/artifacts"

# build (in parallel, only what is out of date)
pids=()
for t in $targets; do
    bin=$OUT/fuzz_$t
    stale=0
    [ -x "$bin" ] || stale=1
    for d in t/fuzz/fuzz_$t.c $DEPS $(extra_deps "$t"); do
        [ "$d" -nt "$bin" ] && stale=1
    done
    [ $stale = 1 ] || continue
    # shellcheck disable=SC2086
    $FUZZ_CC $CFLAGS -o "$bin" "t/fuzz/fuzz_$t.c" $SRCS $(extra_srcs "$t") \
        -lcrypto $(extra_libs "$t") &
    pids+=($!)
done
for p in "${pids[@]}"; do
    wait "$p" || { echo "fuzz: build failed" >&2; exit 1; }
done

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

if [ -n "$RUNS" ]; then
    mkdir -p "$OUT/long"
    limit="-runs=$RUNS"
else
    limit="-max_total_time=$SECONDS_EACH"
fi

failed=""
for t in $targets; do
    if [ -n "$RUNS" ]; then
        corpus=$OUT/long/corpus-$t
        log=$OUT/long/fuzz_$t.log
    else
        corpus=$scratch/$t
        log=$OUT/fuzz_$t.log
    fi
    mkdir -p "$corpus"
    [ -d "t/fuzz/corpus/$t" ] && cp -r "t/fuzz/corpus/$t/." "$corpus/"
    start=$(date +%s)
    if UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
       "$OUT/fuzz_$t" $limit -timeout=10 \
           -max_len=4096 -print_final_stats=1 \
           -artifact_prefix="$OUT/artifacts/$t-" "$corpus" \
           >"$log" 2>&1
    then
        took=$(( $(date +%s) - start ))
        runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
        rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
        files=$(find "$corpus" -type f | wc -l)
        echo "fuzz: $t ok, ${runs:-?} runs in ${took}s (${rate:-?}/s)," \
             "corpus $files files"
    else
        echo "fuzz: $t FAILED, log $log" >&2
        grep -E 'ERROR|SUMMARY|invariant|runtime error|Test unit written' \
            "$log" | head -20 >&2 || true
        failed="$failed $t"
    fi
done

if [ -n "$failed" ]; then
    echo "fuzz: crashed:$failed (inputs in $OUT/artifacts/)" >&2
    exit 1
fi
