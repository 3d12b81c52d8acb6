#!/bin/bash
# A real Prometheus scrapes imprest_metrics: Debian's prometheus server
# (2.42) with a 1 s scrape interval against a private nginx (2 workers)
# and Redis, and promtool's linter on the page.
#
# Starts redis-server, nginx (our child, daemon off) and prometheus on
# free ports of PROM_PORTS (FIRST-LAST, default 29940-29949), makes gate
# requests whose outcomes are known, and asks Prometheus's HTTP API for
# imprest_gate_requests_total until it has the exact counts, then makes
# more and waits for the next scrape to show them.  Also: the target is
# up without scrape errors, both workers' Redis gauges are 1, promtool
# check metrics and check config are clean, and nginx's logs pass
# tools/check-nginx-logs.sh.
#   PROM_KEEP=1   keep the temporary directory (logs, TSDB) after the run
#   NGINX=... IMPREST_MODULE=...   another build (see t/e2e/run.sh)
set -u

repo=$(cd "$(dirname "$0")/../.." && pwd)
name=prometheus
. "$repo/t/lib/servers.sh"
ctl=${IMPREST_CTL:-$repo/build/imprestctl}
module=${IMPREST_MODULE:-$repo/build/nginx-dev/objs/ngx_http_imprest_module.so}
nginx=${NGINX:-${TEST_NGINX_BINARY:-/usr/sbin/nginx}}
unset NGINX
py=/usr/bin/python3

for f in "$ctl" "$module" "$nginx"; do
    [ -e "$f" ] || { echo "$name: $f is missing (make module imprestctl)" >&2; exit 1; }
done
for b in prometheus promtool; do
    command -v $b >/dev/null \
        || { echo "$name: $b missing (apt-get install prometheus)" >&2; exit 1; }
done

free_ports "${PROM_PORTS:-29940-29949}" 4
redis_port=${ports[0]} gw_port=${ports[1]} up_port=${ports[2]}
prom_port=${ports[3]}
base=http://127.0.0.1:$gw_port
prom=http://127.0.0.1:$prom_port

tmp=$(mktemp -d /tmp/imprest-prom.XXXXXX)
redis_pid= nginx_pid= prom_pid=
stop() {
    [ -n "$prom_pid" ] && kill "$prom_pid" 2>/dev/null \
        && wait "$prom_pid" 2>/dev/null
    [ -n "$nginx_pid" ] && kill -QUIT "$nginx_pid" 2>/dev/null \
        && wait "$nginx_pid" 2>/dev/null
    [ -n "$redis_pid" ] && kill "$redis_pid" 2>/dev/null \
        && wait "$redis_pid" 2>/dev/null
    prom_pid= nginx_pid= redis_pid=
    if [ -n "${PROM_KEEP:-}" ]; then
        echo "$name: kept $tmp"
    else
        rm -rf "$tmp"
    fi
}
trap stop EXIT
trap 'exit 130' INT TERM

mkdir -p "$tmp/logs" "$tmp/conf" "$tmp/modules" "$tmp/redis" "$tmp/tsdb"
cp "$module" "$tmp/modules/ngx_http_imprest_module.so" || exit 1

cat > "$tmp/conf/nginx.conf" <<EOF
load_module modules/ngx_http_imprest_module.so;

worker_processes  2;
error_log         logs/error.log info;
pid               logs/nginx.pid;

events {
    worker_connections  1024;
}

http {
    access_log  logs/access.log;

    imprest_redis  127.0.0.1:$redis_port timeout=2s;

    server {
        listen  127.0.0.1:$up_port;

        location / {
            return 200 "accounting\n";
        }
    }

    server {
        listen  127.0.0.1:$gw_port;

        location /api/ {
            imprest_gate  on;
            proxy_pass    http://127.0.0.1:$up_port;
        }

        location = /metrics {
            allow  127.0.0.1;
            deny   all;
            imprest_metrics;
        }

        location = /health {
            return 200 "ok\n";
        }
    }
}
EOF

cat > "$tmp/conf/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s

scrape_configs:
  - job_name: imprest
    metrics_path: /metrics
    static_configs:
      - targets: ['127.0.0.1:$gw_port']
EOF

passed=0 failed=0
check() {   # check DESCRIPTION COMMAND...: ok / not ok
    local what=$1
    shift
    if "$@"; then
        echo "ok - $what"
        passed=$((passed + 1))
    else
        echo "not ok - $what"
        failed=$((failed + 1))
    fi
}

start_redis
start_nginx "$base/health"

export IMPREST_REDIS=127.0.0.1:$redis_port
org=3f2b6c1e-7a4d-4e5f-9b0a-1c2d3e4f5a6b
"$ctl" user add alice --name "Alice Example" >/dev/null \
    && "$ctl" org add $org --name "Acme Ltd" >/dev/null \
    && "$ctl" member add alice $org >/dev/null \
    && token=$("$ctl" --json token mint --user alice --client demo-app \
               --scope money_in --org $org \
               | "$py" -c 'import json,sys; print(json.load(sys.stdin)["access_token"])') \
    || { echo "$name: seeding failed" >&2; exit 1; }

api() {   # api [TOKEN]: the status of one gated request
    if [ -n "${1:-}" ]; then
        curl -s -o /dev/null -w '%{http_code}' \
            -H "Authorization: Bearer $1" -H "X-Organization-Id: $org" \
            "$base/api/v1/invoices"
    else
        curl -s -o /dev/null -w '%{http_code}' "$base/api/v1/invoices"
    fi
}

got=
for i in 1 2 3 4 5; do got="$got $(api "$token")"; done
for i in 1 2 3; do got="$got $(api)"; done
check "the gate answered 200 x5, 401 x3 ($got)" \
    test "$got" = " 200 200 200 200 200 401 401 401"

curl -s -D "$tmp/headers" -o "$tmp/page" "$base/metrics"
check "Content-Type is the text format 0.0.4" \
    grep -qi '^Content-Type: text/plain; version=0.0.4; charset=utf-8' \
    "$tmp/headers"
promtool check metrics < "$tmp/page" > "$tmp/promtool.out" 2>&1
rc=$?
check "promtool check metrics: exit $rc, $(wc -l < "$tmp/promtool.out") lines of problems" \
    test $rc -eq 0 -a ! -s "$tmp/promtool.out"
[ -s "$tmp/promtool.out" ] && sed 's/^/#   /' "$tmp/promtool.out"
config_ok() { promtool check config "$tmp/conf/prometheus.yml" >/dev/null; }
check "promtool check config" config_ok

prometheus --config.file="$tmp/conf/prometheus.yml" \
    --storage.tsdb.path="$tmp/tsdb" \
    --web.listen-address=127.0.0.1:$prom_port \
    > "$tmp/logs/prometheus.log" 2>&1 &
prom_pid=$!

# query EXPR: the first result's value, or "none"
query() {
    curl -s --get --data-urlencode "query=$1" "$prom/api/v1/query" \
        | "$py" -c '
import json, sys
try:
    r = json.load(sys.stdin)["data"]["result"]
    print(r[0]["value"][1] if r else "none")
except Exception:
    print("none")'
}

# until EXPR WANT SECONDS: poll Prometheus until EXPR is WANT
until_value() {
    local v i
    for i in $(seq $(($3 * 5))); do
        v=$(query "$1")
        [ "$v" = "$2" ] && return 0
        sleep 0.2
    done
    echo "#   $1 = $v, not $2"
    return 1
}

check "Prometheus scrapes the target: up == 1" \
    until_value 'up{job="imprest"}' 1 30
check 'Prometheus has imprest_gate_requests_total{outcome="ok"} 5' \
    until_value 'imprest_gate_requests_total{job="imprest",outcome="ok"}' 5 10
check 'and {outcome="no_token"} 3' \
    until_value 'imprest_gate_requests_total{outcome="no_token"}' 3 10
check "both workers' Redis links up: sum(imprest_redis_connected) == 2" \
    until_value 'sum(imprest_redis_connected)' 2 10
check "one gauge per worker: count(imprest_redis_connected) == 2" \
    until_value 'count(imprest_redis_connected)' 2 10
check "the latency histogram: 5 lookups observed" \
    until_value 'imprest_redis_command_duration_seconds_count' 5 10

api "$token" > /dev/null
api "$token" > /dev/null
check "two more requests reach Prometheus with the next scrapes: 7" \
    until_value 'imprest_gate_requests_total{outcome="ok"}' 7 10

health=$(curl -s "$prom/api/v1/targets" | "$py" -c '
import json, sys
t = json.load(sys.stdin)["data"]["activeTargets"][0]
print(t["health"], repr(t["lastError"]))')
check "the target is healthy, no scrape error ($health)" \
    test "$health" = "up ''"

check "nginx logged no alert, crit, emerg, crash or sanitizer report" \
    "$repo/tools/check-nginx-logs.sh" "$tmp/logs/error.log" \
    "$tmp/logs/stderr.log"

if [ $failed -ne 0 ]; then
    echo "# $name: FAILED (PROM_KEEP=1 keeps the logs)"
    tail -n 5 "$tmp/logs/prometheus.log"
fi
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
