#!/bin/bash
# `make soak`: SOAK_REQUESTS (1,000,000) gated requests through one
# gateway (SOAK_WORKERS workers, every $imprest_* variable logged, the
# upstream in its own nginx), with wrk on SOAK_CONNECTIONS keep-alive
# connections.  Most requests carry a valid token; one in 20 a revoked
# token (401 after its Redis lookup) and one in 20 an organization not
# granted (403): the error paths run a million-request soak too.
#
# Every SOAK_EVERY (100,000) gated requests (counted by Redis: one FCALL
# or EVALSHA each) it samples each worker's RSS, Redis's client
# connections and used memory.  Fails when:
#   - a worker's RSS at the end is above its RSS at the first sample
#     (after warm-up: SOAK_EVERY requests) by more than SOAK_RSS_KB
#     (2048 kB) and by more than SOAK_RSS_PCT (10) percent;
#   - a worker's RSS grew over the second half of the run (from the
#     middle sample to the end) by more than SOAK_RSS_KB / 2: a leak
#     that warm-up did not hide;
#   - the workers changed (one crashed and was replaced: a new one would
#     start small and hide a leak);
#   - a sample shows other than SOAK_WORKERS Redis connections;
#   - any response was other than 200, 401 or 403, or their shares are
#     not what the requests asked for (within 1 point);
#   - nginx logged an [alert], [crit], [emerg], crash or sanitizer line.
#   PROOF_PORTS, PROOF_KEEP, NGINX, IMPREST_MODULE: see tools/proof/lib.sh
set -u

name=soak
. "$(dirname "$0")/lib.sh"

total=${SOAK_REQUESTS:-1000000}
every=${SOAK_EVERY:-100000}
conns=${SOAK_CONNECTIONS:-64}
nworkers=${SOAK_WORKERS:-2}
rss_kb=${SOAK_RSS_KB:-2048}
rss_pct=${SOAK_RSS_PCT:-10}

free_ports "${PROOF_PORTS:-29970-29989}" 3
redis_port=${ports[0]} up_port=${ports[1]} gate_port=${ports[2]}

start_redis
upstream_conf "$tmp/up" $up_port
nginx_up "$tmp/up" http://127.0.0.1:$up_port/
gateway_conf "$tmp/gate" $gate_port $up_port on $nworkers
seed_tokens 200
nginx_up "$tmp/gate" http://127.0.0.1:$gate_port/health
master=${masters[1]}

# 20 more tokens, revoked: well-formed, looked up in Redis, refused 401
: > "$tmp/revoked.txt"
for i in $(seq 20); do
    t=$("$ctl" --json token mint --user bench --client proof-app --scope money_in \
        --org $org | sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p')
    printf '%s\n' "$t" | "$ctl" token revoke - >/dev/null ||
        { echo "$name: token revoke failed" >&2; exit 1; }
    echo "$t" >> "$tmp/revoked.txt"
done
other=a1b2c3d4-e5f6-4789-abcd-ef0123456789

cat > "$tmp/soak.lua" <<EOF
local tokens, revoked = {}, {}
for l in io.lines("$tmp/tokens.txt") do tokens[#tokens + 1] = l end
for l in io.lines("$tmp/revoked.txt") do revoked[#revoked + 1] = l end
local n = 0
request = function()
    local t, o = tokens[math.random(#tokens)], "$org"
    n = n + 1
    if n % 20 == 0 then
        t = revoked[math.random(#revoked)]
    elseif n % 20 == 10 then
        o = "$other"
    end
    return wrk.format("GET", nil, {
        ["Authorization"] = "Bearer " .. t, ["X-Organization-Id"] = o })
end
EOF

# the three answers, before the soak
for pair in "$(head -n 1 "$tmp/tokens.txt") $org 200" \
            "$(head -n 1 "$tmp/revoked.txt") $org 401" \
            "$(head -n 1 "$tmp/tokens.txt") $other 403"; do
    set -- $pair
    code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $1" \
           -H "X-Organization-Id: $2" http://127.0.0.1:$gate_port/api/v1/invoices)
    [ "$code" = "$3" ] || { echo "$name: wanted $3 before the soak, got $code" >&2; exit 1; }
done

gated() {   # gated requests so far: the scripts nginx ran in Redis
    redis-cli -p $redis_port INFO commandstats | tr -d '\r' | awk -F'[=,:]' '
        $1 == "cmdstat_fcall" || $1 == "cmdstat_evalsha" { s += $3 }
        END { print s + 0 }'
}
base=$(gated)
wpids=$(pgrep -P $master | sort -n | tr '\n' ' ')
echo "# $name: $total gated requests, wrk -c$conns, workers $wpids"

: > "$tmp/gate/logs/access.log"
wrk -t2 -c$conns -d3600s --timeout 5s -s "$tmp/soak.lua" \
    http://127.0.0.1:$gate_port/api/v1/invoices > "$tmp/wrk.txt" 2>&1 &
wrk_pid=$!
bg_pids+=($wrk_pid)

# samples.txt: requests, then per worker "pid:rss_kb", Redis connections,
# Redis used_memory
next=$every t0=$(date +%s)
: > "$tmp/samples.txt"
while :; do
    n=$(( $(gated) - base ))
    if [ "$n" -ge "$next" ]; then
        line="$n"
        for w in $(pgrep -P $master | sort -n); do
            line="$line $w:$(ps -o rss= -p $w | tr -d ' ')"
        done
        mem=$(redis-cli -p $redis_port INFO memory | tr -d '\r' \
              | sed -n 's/^used_memory:\([0-9]*\)/\1/p')
        line="$line redis=$(redis_clients) mem=$mem"
        echo "$line" >> "$tmp/samples.txt"
        echo "# $name: $line"
        next=$(( (n / every + 1) * every ))
        [ "$n" -ge "$total" ] && break
    fi
    if ! kill -0 $wrk_pid 2>/dev/null; then
        echo "$name: wrk ended early" >&2
        cat "$tmp/wrk.txt" >&2
        exit 1
    fi
    sleep 0.2
done
kill -INT $wrk_pid
wait $wrk_pid 2>/dev/null
bg_pids=()
secs=$(( $(date +%s) - t0 ))
read -r f_reqs f_conn f_read f_write f_timeout f_non <<<"$(wrk_fields "$(cat "$tmp/wrk.txt")")"
echo "# $name: wrk: $f_reqs requests in ${secs}s, socket errors connect $f_conn read $f_read write $f_write timeout $f_timeout, non-2xx $f_non"

# the workers' buffered logs: a graceful stop flushes them
kill -QUIT $master && wait $master 2>/dev/null
masters=("${masters[0]}")

status=0
fail() { echo "not ok - $*"; status=1; }
pass() { echo "ok - $*"; }

# RSS: first sample (after warm-up), middle, last, per worker
nsamples=$(wc -l < "$tmp/samples.txt")
awk -v kb=$rss_kb -v pct=$rss_pct -v mid=$(( (nsamples + 1) / 2 )) '
    { for (i = 2; i <= NF; i++) if ($i ~ /^[0-9]+:/) {
          split($i, a, ":"); if (NR == 1) first[a[1]] = a[2]
          if (NR == mid) middle[a[1]] = a[2]; last[a[1]] = a[2]; seen[a[1]]++ } }
    END {
        for (w in seen) {
            g = last[w] - first[w]; h = last[w] - middle[w]
            ok = !(g > kb && g > first[w] * pct / 100) && h <= kb / 2 && seen[w] == NR
            printf "%s worker %s: RSS %d kB after warm-up, %d kB at the middle sample, %d kB at the end (%+d kB, %+.1f%%; second half %+d kB)\n",
                ok ? "ok -" : "not ok -", w, first[w], middle[w], last[w], g,
                first[w] ? g * 100 / first[w] : 0, h
        }
    }' "$tmp/samples.txt" > "$tmp/rss.txt"
cat "$tmp/rss.txt"
grep -q '^not ok' "$tmp/rss.txt" && status=1

now=$(awk 'NR == 1 { n = 0; for (i = 2; i <= NF; i++) if ($i ~ /^[0-9]+:/) n++; print n }' "$tmp/samples.txt")
[ "$now" -eq "$nworkers" ] && ! awk '{ n = 0; for (i = 2; i <= NF; i++) if ($i ~ /^[0-9]+:/) n++ } n != '"$nworkers"'' "$tmp/samples.txt" | grep -q . \
    && [ "$(awk '{ s = ""; for (i = 2; i <= NF; i++) if ($i ~ /^[0-9]+:/) { split($i, a, ":"); s = s a[1] " " } print s }' "$tmp/samples.txt" | sort -u | wc -l)" -eq 1 ] \
    && pass "the same $nworkers workers throughout ($wpids)" \
    || fail "the workers changed during the soak (see the samples above)"

bad=$(grep -vc "redis=$nworkers " "$tmp/samples.txt")
[ "$bad" -eq 0 ] && pass "$nworkers Redis connections at every sample" \
    || fail "$bad samples with other than $nworkers Redis connections"

read -r mem0 mem1 <<<"$(awk -F'mem=' 'NR == 1 { a = $2 } { b = $2 } END { print a, b }' "$tmp/samples.txt")"
echo "# $name: Redis used_memory $mem0 after warm-up, $mem1 at the end"

logged=$(wc -l < "$tmp/gate/logs/access.log")
codes=$(statuses "$tmp/gate/logs/access.log")
echo "# $name: access log: $logged requests, statuses $codes"
awk -v n=$logged '
    { c[$2]++ }
    END {
        other = n - c[200] - c[401] - c[403] - c[499]
        ok = other == 0 && c[499] <= '"$conns"' && n > 0 \
             && (c[401] / n - 0.05) ^ 2 < 0.0001 && (c[403] / n - 0.05) ^ 2 < 0.0001
        printf "%s responses: %.2f%% 200, %.2f%% 401, %.2f%% 403, %d other, %d 499 (wrk stopping)\n",
            ok ? "ok -" : "not ok -", c[200] * 100 / n, c[401] * 100 / n,
            c[403] * 100 / n, other, c[499]
        exit !ok
    }' "$tmp/gate/logs/access.log" || status=1
[ "$f_conn" -eq 0 ] && [ "$f_read" -eq 0 ] && [ "$f_write" -eq 0 ] && [ "$f_timeout" -eq 0 ] \
    && pass "no wrk socket error" \
    || fail "wrk socket errors: connect $f_conn read $f_read write $f_write timeout $f_timeout"
if "$repo/tools/check-nginx-logs.sh" "$tmp/gate/logs/error.log" "$tmp/gate/logs/stderr.log"; then
    pass "no alert, crit, emerg, crash or sanitizer line"
else
    fail "nginx logged alerts (above)"
fi
[ $status -eq 0 ] && echo "# $name: PASSED" || echo "# $name: FAILED (PROOF_KEEP=1 keeps the logs)"
exit $status
