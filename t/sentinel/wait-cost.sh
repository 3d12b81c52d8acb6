#!/bin/bash
# What wait= costs: the same revocations (client authentication, the
# revoke script, and with wait= a pipelined WAIT 1) through one nginx
# worker against a primary with one replica, with wait=off and
# wait=100ms, and the gate's latency beside them.  Not part of `make
# test`: it prints figures.  Ports: SENTINEL_PORTS (default 19905-19919).
#   t/sentinel/wait-cost.sh [N]   N revocations per mode (default 1000)
set -u
repo=$(cd "$(dirname "$0")/../.." && pwd)
name=wait-cost
. "$repo/t/lib/servers.sh"
ctl=$repo/build/imprestctl
module=${IMPREST_MODULE:-$repo/build/nginx-dev/objs/ngx_http_imprest_module.so}
nginx=${NGINX:-/usr/sbin/nginx}
unset NGINX
n=${1:-1000} n0=${1:-1000}
free_ports "${SENTINEL_PORTS:-19905-19919}" 4
p1=${ports[0]} p2=${ports[1]} gw=${ports[2]} up=${ports[3]}
tmp=$(mktemp -d /tmp/imprest-waitcost.XXXXXX)
pids=()
trap 'for p in "${pids[@]}"; do kill $p 2>/dev/null; done; wait; rm -rf "$tmp"' EXIT
mkdir -p "$tmp/logs" "$tmp/conf" "$tmp/r1" "$tmp/r2"
redis-server --port $p1 --bind 127.0.0.1 --save '' --dir "$tmp/r1" --logfile "$tmp/r1/log" & pids+=($!)
redis-server --port $p2 --bind 127.0.0.1 --save '' --dir "$tmp/r2" --logfile "$tmp/r2/log" --replicaof 127.0.0.1 $p1 & pids+=($!)
sleep 1
export IMPREST_REDIS=127.0.0.1:$p1
org=3f2b6c1e-7a4d-4e5f-9b0a-1c2d3e4f5a6b
"$ctl" user add alice --name A >/dev/null; "$ctl" org add $org --name O >/dev/null
"$ctl" member add alice $org >/dev/null
app=$("$ctl" --json app create --name B --redirect-uri https://a.example/cb --scope money_in)
cid=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["client_id"])' <<<"$app")
sec=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["client_secret"])' <<<"$app")
good=$("$ctl" --json token mint --user alice --client "$cid" --scope money_in --org $org \
       | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
# revocations that write: each revokes a live token of the app
for i in $(seq $((4 * n + 40))); do
    "$ctl" --json token mint --user alice --client "$cid" --scope money_in --org $org
done | python3 -c 'import json,sys
for l in sys.stdin: print(json.loads(l)["access_token"])' > "$tmp/tokens"
mode=0
for wait in off 100ms stopped; do
    w=$wait
    if [ $wait = stopped ]; then
        # the replica stopped: every WAIT runs its full 100 ms, and what
        # is pipelined behind it waits too
        w=100ms n=20
        kill -STOP ${pids[1]}
    fi
    cat > "$tmp/conf/nginx.conf" <<EOC
load_module $module;
worker_processes 1;
error_log logs/error.log error;
pid logs/nginx.pid;
events { worker_connections 1024; }
http {
    access_log off;
    imprest_redis 127.0.0.1:$p1 wait=$w;
    imprest_issuer http://127.0.0.1:$gw;
    imprest_scope money_in "x";
    server {
        listen 127.0.0.1:$gw;
        location = /oauth/revoke { imprest_revoke; }
        location /api/ {
            imprest_gate on;
            proxy_pass http://127.0.0.1:$up;
        }
    }
    server {
        listen 127.0.0.1:$up;
        location / { return 204; }
    }
}
EOC
    "$nginx" -p "$tmp/" -c conf/nginx.conf -e stderr -g 'daemon off;' & ngx=$!
    sleep 0.5
    N0=$n0 TOKENS=$tmp/tokens MODE=$mode GW=$gw CID=$cid SEC=$sec GOOD=$good ORG=$org N=$n WAIT=$wait python3 - <<'EOP'
import base64, http.client, os, statistics, threading, time, urllib.parse
E = os.environ
auth = 'Basic ' + base64.b64encode(('%s:%s' % (E['CID'], E['SEC'])).encode()).decode()
def run(kind, n, out, c=None):
    c = c or http.client.HTTPConnection('127.0.0.1', int(E['GW']))
    for i in range(n):
        t = time.perf_counter()
        if kind == 'revoke':
            c.request('POST', '/oauth/revoke', body='token=' + toks.pop(),
                      headers={'Authorization': auth,
                               'Content-Type': 'application/x-www-form-urlencoded'})
        else:
            c.request('GET', '/api/x', headers={'Authorization': 'Bearer ' + E['GOOD'],
                                                'X-Organization-Id': E['ORG']})
        r = c.getresponse(); r.read()
        out.append((time.perf_counter() - t) * 1e3)
        codes[kind + ' ' + str(r.status)] = codes.get(kind + ' ' + str(r.status), 0) + 1
        assert r.status in (200, 204, 503), r.status
codes = {}
def pct(a, p): a = sorted(a); return a[int(len(a) * p) - 1]
n = int(E['N'])
toks = open(E['TOKENS']).read().split()
base = int(E['MODE']) * (2 * int(E['N0']))
toks = toks[base:base + 2 * n]
rev = []; run('revoke', n, rev)
gate = []; rev2 = []
th = threading.Thread(target=run, args=('revoke', n, rev2)); th.start()
# the gate for as long as the revocations run beside it
gc = http.client.HTTPConnection('127.0.0.1', int(E['GW']))
while th.is_alive():
    run('gate', 1, gate, gc)
th.join()
print('wait=%-7s revoke alone: mean %.3f ms p99 %.3f ms | gate beside '
      'revokes: mean %.3f ms p99 %.3f ms max %.1f ms' % (E['WAIT'],
      statistics.mean(rev), pct(rev, .99), statistics.mean(gate),
      pct(gate, .99), max(gate)), sorted(codes.items()))
EOP
    kill -QUIT $ngx; wait $ngx
    mode=$((mode + 1))
done
kill -CONT ${pids[1]}
