#!/bin/bash
# Redis Sentinel, with real redis-server and redis-sentinel processes:
#
# A. A primary, its replica and three Sentinels (down-after 1 s); nginx
#    with 2 workers and "imprest_redis sentinel:mymaster S1 S2 S3", S1
#    stopped (SIGSTOP: it accepts but never answers, so each worker's
#    first question times out and the next Sentinel is asked).
#    t/sentinel/failover.py then drives gated requests while the
#    primary is killed, Sentinel fails over and the old primary comes
#    back as a replica: only 200/503 for the live token, never 200 for
#    the revoked ones, serving again without a reload.
# B. The same two servers behind a Sentinel that lies (t/sentinel/liar.py):
#    named a replica, the gate answers 503 (ROLE says slave); named the
#    primary, it serves; when that primary is demoted under it, a write
#    answered READONLY makes it ask again and the retried write
#    succeeds; with the replica stopped, a revocation whose WAIT no
#    replica acknowledges answers 503.
#
# Each nginx error log must be free of [alert], [crit], [emerg], crashes
# and sanitizer reports (tools/check-nginx-logs.sh).
#   SENTINEL_PORTS=FIRST-LAST (default 19905-19919), 8 free ports used
#   SENTINEL_KEEP=1  keep the temporary directory
#   NGINX=... IMPREST_MODULE=...  another build (the ASan one)
set -u

repo=$(cd "$(dirname "$0")/../.." && pwd)
name=sentinel
. "$repo/t/lib/servers.sh"
ctl=${IMPREST_CTL:-$repo/build/imprestctl}
module=${IMPREST_MODULE:-$repo/build/nginx-dev/objs/ngx_http_imprest_module.so}
nginx=${NGINX:-${TEST_NGINX_BINARY:-/usr/sbin/nginx}}
unset NGINX
py=/usr/bin/python3

for f in "$ctl" "$module" "$nginx"; do
    [ -e "$f" ] || { echo "sentinel: $f is missing" >&2; exit 1; }
done
command -v redis-sentinel >/dev/null \
    || { echo "sentinel: redis-sentinel missing (tools/install-deps.sh)" >&2; exit 1; }

free_ports "${SENTINEL_PORTS:-19905-19919}" 8
p1=${ports[0]} p2=${ports[1]} s1=${ports[2]} s2=${ports[3]} s3=${ports[4]}
gw=${ports[5]} up=${ports[6]} liar=${ports[7]}

tmp=$(mktemp -d /tmp/imprest-sentinel.XXXXXX)
pids=() nginx_pid=
stop() {
    [ -n "$nginx_pid" ] && kill -QUIT "$nginx_pid" 2>/dev/null \
        && wait "$nginx_pid" 2>/dev/null
    [ -s "$tmp/p1.pid" ] && pids+=("$(cat "$tmp/p1.pid")")
    for p in "${pids[@]}"; do
        kill -CONT "$p" 2>/dev/null
        kill "$p" 2>/dev/null
    done
    wait 2>/dev/null
    if [ -n "${SENTINEL_KEEP:-}" ]; then
        echo "sentinel: kept $tmp"
    else
        rm -rf "$tmp"
    fi
}
trap stop EXIT
trap 'exit 130' INT TERM

mkdir -p "$tmp/logs" "$tmp/conf" "$tmp/modules" "$tmp/r$p1" "$tmp/r$p2" \
         "$tmp/s$s1" "$tmp/s$s2" "$tmp/s$s3"
cp "$module" "$tmp/modules/ngx_http_imprest_module.so" || exit 1

passed=0 failed=0
check() {   # check CONDITION-STATUS TEXT
    if [ "$1" -eq 0 ]; then
        echo "ok - $2"; passed=$((passed + 1))
    else
        echo "not ok - $2"; failed=$((failed + 1))
    fi
}

node_args() {   # node_args PORT: a redis-server without persistence
    echo --port "$1" --bind 127.0.0.1 --save '' --appendonly no \
         --dir "$tmp/r$1" --logfile "$tmp/r$1/redis.log"
}
redis-server $(node_args $p1) &
p1_pid=$!
pids+=($p1_pid)
# failover.py kills it with SIGKILL: no "Killed" line from bash for that
disown $p1_pid
redis-server $(node_args $p2) --replicaof 127.0.0.1 $p1 &
p2_pid=$!
pids+=($p2_pid)
declare -A spid

for s in $s1 $s2 $s3; do
    cat > "$tmp/s$s/sentinel.conf" <<EOF
port $s
bind 127.0.0.1
dir $tmp/s$s
logfile $tmp/s$s/sentinel.log
sentinel monitor mymaster 127.0.0.1 $p1 2
sentinel down-after-milliseconds mymaster 1000
sentinel failover-timeout mymaster 4000
sentinel parallel-syncs mymaster 1
EOF
    redis-sentinel "$tmp/s$s/sentinel.conf" &
    spid[$s]=$!
    pids+=($!)
done

wait_for() {   # wait_for SECONDS COMMAND...: until COMMAND succeeds
    local end=$((SECONDS + $1))
    shift
    until "$@" >/dev/null 2>&1; do
        [ $SECONDS -ge $end ] && return 1
        sleep 0.2
    done
}
synced() { redis-cli -p "$1" INFO replication | grep -q 'master_link_status:up'; }
quorum() { redis-cli -p "$1" SENTINEL ckquorum mymaster | grep -q '^OK 3 usable'; }
# a Sentinel fails over only to a replica it has polled (INFO, every 10 s)
knows_replica() {
    redis-cli -p "$1" SENTINEL replicas mymaster | tr '\n' ' ' \
        | grep "port $p2 " | grep "flags slave " | grep -q 'link-status ok'
}

wait_for 10 synced $p2
check $? "the replica is in sync"
wait_for 20 quorum $s2 && wait_for 20 quorum $s3
check $? "the three Sentinels know each other"
wait_for 20 knows_replica $s2 && wait_for 20 knows_replica $s3
check $? "the Sentinels know the replica"

write_conf() {   # write_conf SENTINEL_ADDRESSES
    cat > "$tmp/conf/nginx.conf" <<EOF
load_module modules/ngx_http_imprest_module.so;
worker_processes  2;
error_log         logs/error.log info;
pid               logs/nginx.pid;

events {
    worker_connections  1024;
}

http {
    access_log  off;

    imprest_redis   sentinel:mymaster $1
                    timeout=500ms connect_timeout=300ms retry=500ms
                    wait=100ms;
    imprest_issuer  http://127.0.0.1:$gw;
    imprest_scope   money_in   "See your invoices";

    server {
        listen        127.0.0.1:$up;
        location / {
            return 200 "upstream \$http_x_imprest_user_id\n";
        }
    }

    server {
        listen        127.0.0.1:$gw;

        location = /oauth/revoke {
            imprest_revoke;
        }

        location /api/ {
            imprest_gate           on;
            imprest_require_scope  money_in;
            proxy_pass             http://127.0.0.1:$up;
        }

        location = /health {
            return 200 "ok\n";
        }
    }
}
EOF
}
write_conf "127.0.0.1:$s1 127.0.0.1:$s2 127.0.0.1:$s3"

export IMPREST_REDIS=127.0.0.1:$p1
org=3f2b6c1e-7a4d-4e5f-9b0a-1c2d3e4f5a6b
field() { "$py" -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
"$ctl" user add alice --name Alice >/dev/null &&
"$ctl" org add $org --name Acme >/dev/null &&
"$ctl" member add alice $org >/dev/null &&
app=$("$ctl" --json app create --name Books --redirect-uri https://app.example/cb \
      --scope money_in) || { echo "sentinel: seeding failed" >&2; exit 1; }
cid=$(field client_id <<<"$app") secret=$(field client_secret <<<"$app")
mint() { "$ctl" --json token mint --user alice --client "$cid" --scope money_in \
             --org $org | field access_token; }
good=$(mint) rev1=$(mint) rev2=$(mint) rev3=$(mint) rev4=$(mint)
wait_for 10 synced $p2

# every worker must first find S1 silent
kill -STOP "${spid[$s1]}"

gated() {   # gated TOKEN: the status of one gated request
    curl -s -o /dev/null -w '%{http_code}' -m 5 \
        -H "Authorization: Bearer $1" -H "X-Organization-Id: $org" \
        "http://127.0.0.1:$gw/api/v1/invoices"
}
revoke() {  # revoke TOKEN: the status of its revocation
    curl -s -o /dev/null -w '%{http_code}' -m 5 -u "$cid:$secret" \
        --data-urlencode "token=$1" "http://127.0.0.1:$gw/oauth/revoke"
}
serving() { [ "$(gated "$good")" = 200 ]; }

start=$(date +%s.%N)
start_nginx "http://127.0.0.1:$gw/health"
wait_for 10 serving
check $? "the gate serves through the second Sentinel (the first is silent)"
echo "# sentinel: first 200 $(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }') s after nginx started"
grep -q 'sentinel 127.0.0.1:'"$s1"': timed out' "$tmp/logs/error.log"
check $? "the silent Sentinel's question timed out (error log)"

st=$(revoke "$rev1")
check $([ "$st" = 200 ]; echo $?) "rev1 revoked through the gateway ($st)"

echo "# A: failover under load"
GW_PORT=$gw ORG=$org GOOD=$good REV1=$rev1 REV2=$rev2 P1_PORT=$p1 \
P2_PORT=$p2 S_PORTS="$s1 $s2 $s3" P1_PID=$p1_pid CID=$cid CSECRET=$secret \
P1_CMD=$("$py" -c 'import json,sys; print(json.dumps(sys.argv[1:]))' \
         redis-server $(node_args $p1)) P1_PIDFILE=$tmp/p1.pid \
    "$py" "$repo/t/sentinel/failover.py" | tee "$tmp/failover.out"
set -- $(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p' \
         "$tmp/failover.out")
[ $# -eq 2 ] || set -- 0 1
passed=$((passed + $1)) failed=$((failed + $2))
grep -q 'Sentinel switched the primary to 127.0.0.1:'"$p2" "$tmp/logs/error.log"
check $? "a worker followed +switch-master (error log)"

# B: the Sentinels go; the liar names whatever $tmp/answer says
echo "# B: a Sentinel that lies"
for s in $s1 $s2 $s3; do kill -CONT "${spid[$s]}"; kill "${spid[$s]}"; done
kill -QUIT "$nginx_pid"; wait "$nginx_pid"; nginx_pid=
mv "$tmp/logs/error.log" "$tmp/logs/error-a.log"
mv "$tmp/logs/stderr.log" "$tmp/logs/stderr-a.log"
write_conf "127.0.0.1:$liar"
echo "127.0.0.1 $p1" > "$tmp/answer"     # p1 is the replica now
"$py" "$repo/t/sentinel/liar.py" $liar "$tmp/answer" &
pids+=($!)
start_nginx "http://127.0.0.1:$gw/health"
sleep 1.5
sts=$(for i in 1 2 3 4 5; do gated "$good"; echo; done | sort -u | tr '\n' ' ')
check $([ "$sts" = "503 " ]; echo $?) "named a replica: 503 only ($sts)"
grep -q 'ROLE says "slave"' "$tmp/logs/error.log"
check $? "ROLE refused the replica (error log)"

echo "127.0.0.1 $p2" > "$tmp/answer"
wait_for 5 serving
check $? "named the primary: the gate serves"

# demote p2 under the gateway: its link stays open, reads still work
redis-cli -p $p1 REPLICAOF NO ONE >/dev/null
redis-cli -p $p2 REPLICAOF 127.0.0.1 $p1 >/dev/null
echo "127.0.0.1 $p1" > "$tmp/answer"
wait_for 10 synced $p2
st=$(revoke "$rev3")
check $([ "$st" = 503 ]; echo $?) "a revocation answered READONLY: 503 ($st)"
grep -q 'READONLY' "$tmp/logs/error.log"
check $? "the READONLY reply is logged and drops the link"
revoked() { [ "$(revoke "$rev3")" = 200 ]; }
wait_for 5 revoked
check $? "the retried revocation succeeds on the new primary"
st=$(gated "$rev3")
check $([ "$st" = 401 ]; echo $?) "rev3 is refused after it ($st)"

# WAIT: with the replica stopped no replica acknowledges in wait=
kill -STOP $p2_pid
st=$(revoke "$rev4")
kill -CONT $p2_pid
check $([ "$st" = 503 ]; echo $?) "WAIT acknowledged by no replica: 503 ($st)"
grep -q 'no replica acknowledged the write' "$tmp/logs/error.log"
check $? "the unacknowledged write is logged"
st=$(gated "$good")
check $([ "$st" = 200 ]; echo $?) "the gate still serves after it ($st)"

kill -QUIT "$nginx_pid"; wait "$nginx_pid"; nginx_pid=
"$repo/tools/check-nginx-logs.sh" "$tmp/logs/error-a.log" \
    "$tmp/logs/stderr-a.log" "$tmp/logs/error.log" "$tmp/logs/stderr.log"
check $? "nginx logged no alert, crit, emerg, crash or sanitizer report"
if [ $failed -ne 0 ]; then
    echo "# sentinel: FAILED (SENTINEL_KEEP=1 keeps the logs); errors:"
    grep -hE '\[(error|warn)\]' "$tmp"/logs/error*.log | tail -n 20
fi
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
