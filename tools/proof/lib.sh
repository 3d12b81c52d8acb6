# Sourced by tools/proof/reload-test.sh and tools/proof/soak.sh: a private
# Redis, an upstream nginx of its own, gateway nginx instances (gate on or
# off, the same configuration otherwise), tokens minted with imprestctl,
# wrk's Lua, and samplers.  Every process is our own child; stop() ends
# them by pid.  The caller sets name before sourcing.
#   PROOF_PORTS=FIRST-LAST   where to look for free ports (29970-29989)
#   PROOF_KEEP=1             keep the temporary directory (logs)
#   NGINX=... IMPREST_MODULE=...   another build (e.g. the ASan one)

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
. "$repo/t/lib/servers.sh"
ctl=${IMPREST_CTL:-$repo/build/imprestctl}
module=${IMPREST_MODULE:-$repo/build/nginx-dev/objs/ngx_http_imprest_module.so}
nginx=${NGINX:-${TEST_NGINX_BINARY:-/usr/sbin/nginx}}
# nginx itself reads NGINX (inherited listening sockets): never pass it on
unset NGINX
org=3f2b6c1e-7a4d-4e5f-9b0a-1c2d3e4f5a6b

for f in "$ctl" "$module" "$nginx"; do
    [ -e "$f" ] || { echo "$name: $f is missing (make module imprestctl)" >&2; exit 1; }
done
command -v wrk >/dev/null || { echo "$name: wrk missing (make deps)" >&2; exit 1; }

tmp=$(mktemp -d /tmp/imprest-$name.XXXXXX)
chmod 755 "$tmp"
redis_pid=
masters=()          # our nginx masters (daemon off: our children)
bg_pids=()          # samplers, wrk

stop() {
    local p
    for p in "${bg_pids[@]}"; do
        kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
    done
    for p in "${masters[@]}"; do
        kill -QUIT "$p" 2>/dev/null && wait "$p" 2>/dev/null
    done
    [ -n "$redis_pid" ] && kill "$redis_pid" 2>/dev/null \
        && wait "$redis_pid" 2>/dev/null
    bg_pids=() masters=() redis_pid=
    if [ -n "${PROOF_KEEP:-}" ]; then
        echo "$name: kept $tmp"
    else
        rm -rf "$tmp"
    fi
}
trap stop EXIT
trap 'exit 130' INT TERM

mkdir -p "$tmp/redis" "$tmp/modules"
# a copy: a rebuild during the run cannot touch it
cp "$module" "$tmp/modules/ngx_http_imprest_module.so" || exit 1

# nginx_up DIR URL: nginx -t, then nginx (daemon off, our child) with the
# prefix DIR, until URL answers; its master pid is appended to masters
nginx_up() {
    local dir=$1 url=$2 i
    if ! "$nginx" -p "$dir/" -c conf/nginx.conf -e stderr -t -q; then
        echo "$name: nginx -t failed for $dir" >&2
        exit 1
    fi
    "$nginx" -p "$dir/" -c conf/nginx.conf -e stderr -g 'daemon off;' \
        2> "$dir/logs/stderr.log" &
    masters+=($!)
    for i in $(seq 100); do
        curl -s -o /dev/null "$url" && return 0
        sleep 0.1
    done
    echo "$name: nginx in $dir did not come up" >&2
    exit 1
}

# upstream_conf DIR PORT: the accounting service, in its own nginx
upstream_conf() {
    mkdir -p "$1/conf" "$1/logs"
    cat > "$1/conf/nginx.conf" <<EOF
worker_processes  1;
error_log         logs/error.log notice;
pid               logs/nginx.pid;
events { worker_connections 4096; }
http {
    access_log  off;
    keepalive_requests  100000;
    server {
        listen        127.0.0.1:$2;
        default_type  application/json;
        location / {
            return 200 '{"service":"accounting","user":"\$http_x_imprest_user_id","org":"\$http_x_organization_id"}\n';
        }
    }
}
EOF
}

# gateway_conf DIR PORT UPSTREAM_PORT on|off WORKERS [ACCESS_LOG]: the
# gateway; "off" is the same configuration with the gate off (the module
# loaded, its variables logged, no Redis connection: nothing uses it)
gateway_conf() {
    mkdir -p "$1/conf" "$1/logs"
    cat > "$1/conf/nginx.conf" <<EOF
load_module $tmp/modules/ngx_http_imprest_module.so;
worker_processes  $5;
error_log         logs/error.log notice;
pid               logs/nginx.pid;
events { worker_connections 4096; }
http {
    log_format  proof  '\$pid \$status \$msec \$request_time "\$request" '
                       'st=\$imprest_status uid=\$imprest_user_id '
                       'cid=\$imprest_client_id org=\$imprest_org_id '
                       'scope="\$imprest_scope" up=\$upstream_status';
    access_log  ${6:-logs/access.log proof buffer=64k flush=1s};

    imprest_redis  127.0.0.1:$redis_port timeout=2s;

    upstream accounting {
        server     127.0.0.1:$3;
        keepalive  32;
    }

    server {
        listen  127.0.0.1:$2;

        location /api/v1/invoices {
            imprest_gate           $4;
            imprest_require_scope  money_in;
            proxy_http_version     1.1;
            proxy_set_header       Connection "";
            proxy_pass             http://accounting;
        }

        location = /health {
            return 200 "ok\n";
        }
    }
}
EOF
}

# seed_tokens N: a user, an organization, a membership and N access tokens
# (imprestctl token mint) in $tmp/tokens.txt; wrk's Lua in $tmp/tokens.lua
seed_tokens() {
    local i out
    export IMPREST_REDIS=127.0.0.1:$redis_port
    "$ctl" user add bench --name "Bench User" >/dev/null &&
    "$ctl" org add $org --name "Bench Org" >/dev/null &&
    "$ctl" member add bench $org >/dev/null ||
        { echo "$name: imprestctl seeding failed" >&2; exit 1; }
    : > "$tmp/tokens.txt"
    for i in $(seq "$1"); do
        out=$("$ctl" --json token mint --user bench --client proof-app \
              --scope "money_in money_out" --org $org --ttl 86400) ||
            { echo "$name: imprestctl token mint failed" >&2; exit 1; }
        sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p' <<<"$out" \
            >> "$tmp/tokens.txt"
    done
    [ "$(grep -c '^imp_at_' "$tmp/tokens.txt")" -eq "$1" ] ||
        { echo "$name: fewer than $1 tokens minted" >&2; exit 1; }
    cat > "$tmp/tokens.lua" <<EOF
local tokens = {}
for line in io.lines("$tmp/tokens.txt") do tokens[#tokens + 1] = line end
math.randomseed(os.time())
request = function()
    return wrk.format("GET", nil, {
        ["Authorization"] = "Bearer " .. tokens[math.random(#tokens)],
        ["X-Organization-Id"] = "$org" })
end
EOF
}

# redis_clients: Redis client connections, not counting our redis-cli
redis_clients() {
    redis-cli -p "$redis_port" CLIENT LIST 2>/dev/null \
        | grep -vc 'cmd=client|list'
}

# workers MASTER: the master's worker processes (shutting-down ones too)
workers() {
    pgrep -P "$1" | wc -l
}

# wrk_field OUTPUT: requests, read/connect/write/timeout errors, non-2xx
wrk_fields() {
    local reqs conn=0 rd=0 wr=0 to=0 non
    reqs=$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' <<<"$1")
    if [[ $1 =~ Socket\ errors:\ connect\ ([0-9]+),\ read\ ([0-9]+),\ write\ ([0-9]+),\ timeout\ ([0-9]+) ]]; then
        conn=${BASH_REMATCH[1]} rd=${BASH_REMATCH[2]}
        wr=${BASH_REMATCH[3]} to=${BASH_REMATCH[4]}
    fi
    non=$(sed -n 's/.*Non-2xx or 3xx responses: *\([0-9]*\).*/\1/p' <<<"$1")
    echo "${reqs:-0} $conn $rd $wr $to ${non:-0}"
}

# statuses LOG: "count status" pairs of an access log, on one line
statuses() {
    awk '{ n[$2]++ } END { for (s in n) printf "%s:%d ", s, n[s] }' "$1"
}
