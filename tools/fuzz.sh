#!/bin/bash
# Builds the libFuzzer targets t/fuzz/fuzz_*.c into build/fuzz/ and runs
# each for FUZZ_SECONDS (default 60) on a scratch copy of its seed corpus
# t/fuzz/corpus/NAME/, so the tree is not modified.  Fails when a target
# crashes, leaks or breaks an invariant; the crashing input is left in
# build/fuzz/artifacts/.  FUZZ_TARGETS="form scope" runs only those.
set -euo pipefail

cd "$(dirname "$0")/.."
REPO=$PWD
OUT=$REPO/build/fuzz
SECONDS_EACH=${FUZZ_SECONDS:-60}
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

targets=${FUZZ_TARGETS:-$(cd t/fuzz && ls fuzz_*.c | sed 's/^fuzz_//; s/\.c$//')}
mkdir -p "$OUT/artifacts"

# build (in parallel, only what is out of date)
pids=()
for t in $targets; do
    bin=$OUT/fuzz_$t
    stale=0
    [ -x "$bin" ] || stale=1
    for d in t/fuzz/fuzz_$t.c $DEPS; do
        [ "$d" -nt "$bin" ] && stale=1
    done
    [ $stale = 1 ] || continue
    # shellcheck disable=SC2086
    $FUZZ_CC $CFLAGS -o "$bin" "t/fuzz/fuzz_$t.c" $SRCS -lcrypto &
    pids+=($!)
done
for p in "${pids[@]}"; do
    wait "$p" || { echo "fuzz: build failed" >&2; exit 1; }
done

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

failed=""
for t in $targets; do
    mkdir -p "$scratch/$t"
    [ -d "t/fuzz/corpus/$t" ] && cp -r "t/fuzz/corpus/$t/." "$scratch/$t/"
    log=$OUT/fuzz_$t.log
    if UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
       "$OUT/fuzz_$t" -max_total_time="$SECONDS_EACH" -timeout=10 \
           -max_len=4096 -print_final_stats=1 \
           -artifact_prefix="$OUT/artifacts/$t-" "$scratch/$t" \
           >"$log" 2>&1
    then
        runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
        rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
        echo "fuzz: $t ok, ${runs:-?} runs in ${SECONDS_EACH}s (${rate:-?}/s)"
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
