#!/bin/bash
# `make reload-test`: nginx -s reload under load, gated and plain.
#
# Starts a private Redis, an upstream nginx of its own, the gateway (gate
# on, RELOAD_WORKERS workers, every $imprest_* variable in its log_format)
# and beside it the same configuration with the gate off (a plain proxy)
# on another port.  For each of the two, wrk drives 64 keep-alive
# connections with valid tokens (imprestctl token mint) while this script
# runs `nginx -s reload` RELOAD_COUNT times, one every RELOAD_INTERVAL s.
# Redis's client connections and the master's worker processes are sampled
# throughout.  A third phase, gate-paused, does the same through the gate
# with Redis paused (CLIENT PAUSE, RELOAD_PAUSE_MS: 100) just before each
# reload: every old worker is told to exit while its gated requests wait
# for their Redis replies, which it must still deliver.
#
# Fails on: a worker crash or any [alert]/[crit]/[emerg]/sanitizer line in
# either nginx's logs; a reload the master did not perform; any response
# but 200 in either access log (a 503 would be the gate failing under
# reload); wrk connect errors or timeouts; a Redis connection count above
# the number of live gateway workers (old workers must close theirs), or
# not back to RELOAD_WORKERS once the reloads end.  wrk's read errors
# (keep-alive connections closed by old workers between a response and
# the next request) are reported for both, gated against plain: they are
# nginx's, not the gate's, when plain shows them at the same rate.
#   RELOAD_COUNT (100)  RELOAD_INTERVAL (0.3)  RELOAD_CONNECTIONS (64)
#   RELOAD_WORKERS (2)  RELOAD_TOKENS (100)  RELOAD_PAUSE_MS (100)
#   RELOAD_SKIP=gate,plain,paused (phases left out)
#   PROOF_PORTS, PROOF_KEEP, NGINX, IMPREST_MODULE: see tools/proof/lib.sh
set -u

name=reload-test
. "$(dirname "$0")/lib.sh"

count=${RELOAD_COUNT:-100}
interval=${RELOAD_INTERVAL:-0.3}
conns=${RELOAD_CONNECTIONS:-64}
nworkers=${RELOAD_WORKERS:-2}

free_ports "${PROOF_PORTS:-29970-29989}" 4
redis_port=${ports[0]} up_port=${ports[1]} gate_port=${ports[2]}
plain_port=${ports[3]}

start_redis
upstream_conf "$tmp/up" $up_port
nginx_up "$tmp/up" http://127.0.0.1:$up_port/
gateway_conf "$tmp/gate" $gate_port $up_port on $nworkers
gateway_conf "$tmp/plain" $plain_port $up_port off $nworkers
seed_tokens "${RELOAD_TOKENS:-100}"
nginx_up "$tmp/gate" http://127.0.0.1:$gate_port/health
nginx_up "$tmp/plain" http://127.0.0.1:$plain_port/health
gate_master=${masters[1]} plain_master=${masters[2]}

# the gate works before anything is measured
tok=$(head -n 1 "$tmp/tokens.txt")
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $tok" \
       -H "X-Organization-Id: $org" http://127.0.0.1:$gate_port/api/v1/invoices)
[ "$code" = 200 ] || { echo "$name: the gate answered $code before the test" >&2; exit 1; }

status=0
fail() { echo "not ok - $*"; status=1; }
pass() { echo "ok - $*"; }

# phase MODE PORT MASTER DIR [PAUSE_MS]: with PAUSE_MS, Redis is paused
# (CLIENT PAUSE) for that long just before each reload, so that every old
# worker is told to exit with its gated requests' replies pending
phase() {
    local mode=$1 port=$2 master=$3 dir=$4 pause=${5:-0} wrk_pid sampler i t0 t1
    local out f reloads samples max_r max_w bad transient final_r final_w

    echo "# $name: $mode: wrk -c$conns on :$port, $count reloads every ${interval}s${5:+, each with Redis paused for ${pause} ms}"
    # this phase's own error log (nginx appends: truncating is safe)
    : > "$dir/logs/error.log"
    # the samples: time, live workers, Redis connections, and the workers
    # alive at some point around the Redis sample: those listed before it
    # and those listed after it (a reload's old workers can be gone and
    # its new ones up within the few ms the Redis sample takes)
    (
        while :; do
            p1=$(pgrep -P "$master")
            r=$(redis_clients)
            p2=$(pgrep -P "$master")
            echo "$(date +%s.%N) $(wc -w <<<"$p1") $r $(printf '%s\n' $p1 $p2 | sort -u | wc -l)"
            sleep 0.2
        done
    ) > "$dir/samples-$mode.txt" &
    sampler=$!
    bg_pids+=($sampler)

    : > "$dir/logs/access.log"
    wrk -t2 -c$conns -d600s --timeout 5s -s "$tmp/tokens.lua" \
        http://127.0.0.1:$port/api/v1/invoices > "$dir/wrk.txt" 2>&1 &
    wrk_pid=$!
    bg_pids+=($wrk_pid)
    sleep 1

    t0=$(date +%s.%N)
    for i in $(seq "$count"); do
        [ "$pause" -gt 0 ] && redis-cli -p $redis_port CLIENT PAUSE "$pause" ALL >/dev/null
        "$nginx" -p "$dir/" -c conf/nginx.conf -e stderr -s reload \
            2>> "$dir/logs/reload.log" || echo "reload $i failed" >> "$dir/logs/reload.log"
        sleep "$interval"
    done
    t1=$(date +%s.%N)
    sleep 1
    # wrk prints its summary when interrupted; requests it leaves in
    # flight then are logged 499, after t_stop
    t_stop=$(date +%s.%N)
    kill -INT $wrk_pid
    wait $wrk_pid 2>/dev/null
    sleep 3
    kill $sampler 2>/dev/null
    wait $sampler 2>/dev/null
    bg_pids=()
    final_w=$(workers "$master")
    final_r=$(redis_clients)
    out=$(cat "$dir/wrk.txt")

    # old workers must have flushed their buffered access logs: wait for
    # every one of them to be gone
    for i in $(seq 100); do
        [ "$(workers "$master")" -le "$nworkers" ] && break
        sleep 0.1
    done

    read -r f_reqs f_conn f_read f_write f_timeout f_non <<<"$(wrk_fields "$out")"
    reloads=$(grep -c 'received from .*, reconfiguring' "$dir/logs/error.log")
    samples=$(wc -l < "$dir/samples-$mode.txt")
    # more connections than workers in one sample can be Redis not having
    # read yet the close of a worker that just exited; in two samples in a
    # row (0.2 s apart) it is a connection that outlived its worker
    read -r max_w max_r bad transient <<<"$(awk '
        { w = $4; if (w > mw) mw = w; if ($3 > mr) mr = $3
          over = $3 > w; if (over && prev) bad++; else if (over) t++
          prev = over }
        END { printf "%d %d %d %d", mw, mr, bad, t }' "$dir/samples-$mode.txt")"
    crashes=$(grep -c 'exited on signal' "$dir/logs/error.log" "$dir/logs/stderr.log" \
              | awk -F: '{ s += $2 } END { print s + 0 }')
    codes=$(statuses "$dir/logs/access.log")
    logged=$(wc -l < "$dir/logs/access.log")
    # a 499 from wrk's own stop is not a failure: any other non-200 is
    non200=$(awk -v t=$t_stop '$2 != 200 && !($2 == 499 && $3 >= t)' \
             "$dir/logs/access.log" | wc -l)
    stop499=$(awk -v t=$t_stop '$2 == 499 && $3 >= t' "$dir/logs/access.log" | wc -l)

    printf '# %s: %d reloads in %.1f s; wrk: %d requests, socket errors connect %d read %d write %d timeout %d, non-2xx %d\n' \
        "$mode" "$reloads" "$(echo "$t1 - $t0" | bc)" "$f_reqs" "$f_conn" "$f_read" \
        "$f_write" "$f_timeout" "$f_non"
    echo "# $mode: access log: $logged requests, statuses $codes($stop499 499s left in flight by wrk's stop)"
    echo "# $mode: $samples samples: workers at most $max_w, after $final_w; the gateway's Redis connections at most $max_r, after $final_r"
    printf '%s %s %s %s %s %s %s %s %s %s\n' "$mode" "$f_reqs" "$f_read" \
        "$f_conn" "$f_write" "$f_timeout" "$f_non" "$non200" "$max_r" "$crashes" \
        >> "$tmp/summary.txt"

    [ "$crashes" -eq 0 ] && pass "$mode: no worker exited on a signal" \
        || fail "$mode: $crashes workers exited on a signal"
    if "$repo/tools/check-nginx-logs.sh" "$dir/logs/error.log" "$dir/logs/stderr.log"; then
        pass "$mode: no alert, crit, emerg or sanitizer line"
    else
        fail "$mode: nginx logged alerts (above)"
    fi
    [ "$reloads" -eq "$count" ] && pass "$mode: the master reloaded $count times" \
        || fail "$mode: $reloads reloads of $count ($(grep -c failed "$dir/logs/reload.log") failed)"
    [ "$f_reqs" -gt 0 ] && [ "$non200" -eq 0 ] && [ "$f_non" -eq 0 ] \
        && pass "$mode: every response was 200" \
        || fail "$mode: $non200 logged responses were not 200 ($codes), wrk counted $f_non non-2xx"
    [ "$f_conn" -eq 0 ] && [ "$f_timeout" -eq 0 ] \
        && pass "$mode: no connect error or timeout" \
        || fail "$mode: $f_conn connect errors, $f_timeout timeouts"
    cp "$dir/logs/error.log" "$dir/logs/error-$mode.log"
    if [ "$port" = "$gate_port" ]; then
        [ "${bad:-0}" -eq 0 ] \
            && pass "$mode: Redis connections never above the live workers for two samples (at most $max_r for $max_w workers; $transient single samples above)" \
            || fail "$mode: $bad samples with more Redis connections than live workers, as the sample before"
        [ "$final_r" -eq "$nworkers" ] \
            && pass "$mode: $final_r Redis connections once the reloads ended" \
            || fail "$mode: $final_r Redis connections after the reloads, want $nworkers"
    fi
}

: > "$tmp/summary.txt"
case ,${RELOAD_SKIP:-}, in *,gate,*) ;; *) phase gate $gate_port $gate_master $tmp/gate ;; esac
case ,${RELOAD_SKIP:-}, in *,plain,*) ;; *) phase plain $plain_port $plain_master $tmp/plain ;; esac
case ,${RELOAD_SKIP:-}, in *,paused,*) ;; *)
    phase gate-paused $gate_port $gate_master $tmp/gate ${RELOAD_PAUSE_MS:-100} ;; esac

echo "# $name: mode requests read-errors connect write timeout non-2xx(wrk) non-200(log) max-redis-conns crashes"
sed 's/^/# /' "$tmp/summary.txt"
awk '{ printf "# %s: %.1f read errors per 100k requests, %.2f per reload\n",
       $1, $2 ? $3 * 100000 / $2 : 0, $3 / '"$count"' }' "$tmp/summary.txt"
if [ $status -ne 0 ]; then
    echo "# $name: FAILED (PROOF_KEEP=1 keeps the logs); errors:"
    grep -h -E '\[(error|warn|alert|crit|emerg)\]' "$tmp"/*/logs/error-*.log | tail -n 20
fi
exit $status
