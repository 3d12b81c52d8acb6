#!/bin/bash
# The gate, the consent page and the token endpoint over HTTP/2 (TLS,
# ALPN h2), driven by t/e2e/http2.py with Debian's python3-h2, including
# clients that reset streams (RST_STREAM) or drop the connection while
# their Redis reply is pending (Redis held with CLIENT PAUSE), and Redis
# killed under pending requests (503).  Our Test::Nginx runner (t/inc)
# speaks neither TLS nor HTTP/2, hence a script.
#
# Starts its own redis-server and nginx (`listen ... ssl http2`, a
# certificate made here, 2 workers, our child, daemon off) on free ports
# in H2_PORTS (29990-29999), seeds a user, organizations and an app with
# imprestctl, runs http2.py, then fails on any [alert], [crit], [emerg],
# crash or sanitizer line in nginx's logs (tools/check-nginx-logs.sh) and
# on any request logged other than HTTP/2.0.
#   H2_KEEP=1   keep the temporary directory (logs)
#   NGINX=... IMPREST_MODULE=...   another build, e.g. the ASan one (with
#              the ASAN_OPTIONS/UBSAN_OPTIONS of tools/build-nginx-src.sh
#              --env)
set -u

repo=$(cd "$(dirname "$0")/../.." && pwd)
name=http2
. "$repo/t/lib/servers.sh"
ctl=${IMPREST_CTL:-$repo/build/imprestctl}
module=${IMPREST_MODULE:-$repo/build/nginx-dev/objs/ngx_http_imprest_module.so}
nginx=${NGINX:-${TEST_NGINX_BINARY:-/usr/sbin/nginx}}
# nginx itself reads NGINX (inherited listening sockets): never pass it on
unset NGINX
py=${E2E_PYTHON:-/usr/bin/python3}

for f in "$ctl" "$module" "$nginx"; do
    [ -e "$f" ] || { echo "http2: $f is missing (make module imprestctl)" >&2; exit 1; }
done
if ! "$py" -c 'import h2.connection, requests' 2>/dev/null; then
    echo "http2: $py cannot import h2; apt-get install -y python3-h2" >&2
    exit 1
fi

free_ports "${H2_PORTS:-29990-29999}" 3
redis_port=${ports[0]} gw_port=${ports[1]} up_port=${ports[2]}

tmp=$(mktemp -d /tmp/imprest-http2.XXXXXX)
redis_pid= nginx_pid=
stop() {
    [ -n "$nginx_pid" ] && kill -QUIT "$nginx_pid" 2>/dev/null \
        && wait "$nginx_pid" 2>/dev/null
    # http2.py kills Redis itself at the end: reap it
    [ -n "$redis_pid" ] && { kill "$redis_pid" 2>/dev/null; wait "$redis_pid" 2>/dev/null; }
    nginx_pid= redis_pid=
    if [ -n "${H2_KEEP:-}" ]; then
        echo "http2: kept $tmp"
    else
        rm -rf "$tmp"
    fi
}
trap stop EXIT
trap 'exit 130' INT TERM

mkdir -p "$tmp/logs" "$tmp/conf" "$tmp/modules" "$tmp/redis"
cp "$module" "$tmp/modules/ngx_http_imprest_module.so" || exit 1

if ! openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
        -nodes -days 1 -subj /CN=127.0.0.1 \
        -addext "subjectAltName=IP:127.0.0.1" \
        -keyout "$tmp/conf/key.pem" -out "$tmp/conf/cert.pem" 2>/dev/null; then
    echo "http2: openssl could not make a certificate" >&2
    exit 1
fi

user=alice
password=$(openssl rand -hex 12)
printf '%s:%s\n' "$user" "$(openssl passwd -apr1 "$password")" \
    > "$tmp/conf/htpasswd"
chmod 755 "$tmp" "$tmp/conf"
chmod 644 "$tmp/conf/htpasswd"

base=https://127.0.0.1:$gw_port
cat > "$tmp/conf/nginx.conf" <<EOF
load_module modules/ngx_http_imprest_module.so;

worker_processes  2;
error_log         logs/error.log info;
pid               logs/nginx.pid;

events {
    worker_connections  1024;
}

http {
    log_format  h2  '\$pid \$server_protocol "\$request" \$status '
                    'st=\$imprest_status uid=\$imprest_user_id '
                    'org=\$imprest_org_id';
    access_log  logs/access.log  h2;

    # long enough for the CLIENT PAUSE of http2.py (2 s) to be a slow
    # Redis, not a timeout
    imprest_redis   127.0.0.1:$redis_port timeout=5s;
    imprest_issuer  $base;
    imprest_scope   money_in   "See your invoices and money coming in";
    imprest_scope   money_out  "See your bills and money going out";

    server {
        listen       127.0.0.1:$up_port;
        default_type application/json;
        access_log   off;

        location / {
            return 200 '{"path":"\$uri","user_id":"\$http_x_imprest_user_id","organization_id":"\$http_x_organization_id","authorization_seen":"\$http_authorization"}\n';
        }
    }

    server {
        listen               127.0.0.1:$gw_port ssl http2;
        ssl_certificate      cert.pem;
        ssl_certificate_key  key.pem;
        imprest_realm        "Imprest API";

        location = /oauth/authorize {
            auth_basic            "Imprest";
            auth_basic_user_file  htpasswd;
            imprest_user          \$remote_user;
            imprest_authorize;
        }

        location = /oauth/token {
            imprest_token;
        }

        location = /oauth/revoke {
            imprest_revoke;
        }

        location = /api/v1/me/organizations {
            imprest_organizations;
        }

        location /api/v1/invoices {
            imprest_gate           on;
            imprest_require_scope  money_in;
            proxy_pass             http://127.0.0.1:$up_port;
        }

        location = /health {
            return 200 "ok\n";
        }
    }
}
EOF

start_redis
start_nginx "$base/health" -k

export IMPREST_REDIS=127.0.0.1:$redis_port
org1=3f2b6c1e-7a4d-4e5f-9b0a-1c2d3e4f5a6b
other=a1b2c3d4-e5f6-4789-abcd-ef0123456789

json_field() {
    "$py" -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"
}
seed_failed=
run_ctl() {
    "$ctl" "$@" >/dev/null || { echo "http2: imprestctl $* failed" >&2; seed_failed=1; }
}
run_ctl user add "$user" --name "Alice Example"
run_ctl org add $org1 --name "Acme Ltd"
run_ctl org add $other --name "Someone Else Inc"
run_ctl member add "$user" $org1
app=$("$ctl" --json app create --name "H2 Books" --redirect-uri https://app.example/cb \
      --scope "money_in money_out") || seed_failed=1
[ -z "$seed_failed" ] || exit 1
client_id=$(json_field client_id <<<"$app")
mint() {   # mint SCOPE: an access token of alice for org1
    "$ctl" --json token mint --user "$user" --client "$client_id" --scope "$1" \
        --org $org1 | json_field access_token
}

export H2_PORT=$gw_port H2_CERT=$tmp/conf/cert.pem
export H2_REDIS_PORT=$redis_port H2_REDIS_PID=$redis_pid
export H2_USER=$user H2_PASSWORD=$password H2_ORG=$org1 H2_OTHER_ORG=$other
export H2_CLIENT_ID=$client_id
export H2_CLIENT_SECRET=$(json_field client_secret <<<"$app")
export H2_REDIRECT_URI=https://app.example/cb
export H2_TOKEN=$(mint "money_in money_out")
export H2_TOKEN_NO_SCOPE=$(mint money_out)
export PYTHONDONTWRITEBYTECODE=1

echo "# http2: gateway $base (h2), redis 127.0.0.1:$redis_port"
status=0
# http2.py kills Redis at the end: bash's "Killed" notice for that job
# goes to the /dev/null of this stretch, the script's own stderr does not
exec 3>&2 2>/dev/null
"$py" "$repo/t/e2e/http2.py" 2>&3 | tee "$tmp/http2.out"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
exec 2>&3 3>&-
set -- $(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p' "$tmp/http2.out" | tail -n 1)
[ $# -eq 2 ] || { echo "not ok - http2.py ended without its summary line"; set -- 0 1; status=1; }
passed=$1 failed=$2
# http2.py killed Redis: reap it quietly
{ kill "$redis_pid"; wait "$redis_pid"; } 2>/dev/null
redis_pid=

# stop nginx first: a worker's sanitizer report at exit lands in the logs
kill -QUIT "$nginx_pid" && wait "$nginx_pid" 2>/dev/null
nginx_pid=

if "$repo/tools/check-nginx-logs.sh" "$tmp/logs/error.log" "$tmp/logs/stderr.log"; then
    echo "ok - nginx logged no alert, crit, emerg, crash or sanitizer report"
    passed=$((passed + 1))
else
    echo "not ok - nginx logged alerts, crashes or sanitizer reports (above)"
    failed=$((failed + 1)) status=1
fi
total=$(wc -l < "$tmp/logs/access.log")
h1=$(awk '$2 != "HTTP/2.0"' "$tmp/logs/access.log" | wc -l)
if [ "$total" -gt 0 ] && [ "$h1" -eq 0 ]; then
    echo "ok - all $total requests nginx logged were HTTP/2.0"
    passed=$((passed + 1))
else
    echo "not ok - $h1 of $total logged requests were not HTTP/2.0"
    failed=$((failed + 1)) status=1
fi
# the streams reset or dropped while their lookup was pending: logged
# 499, and never as a gate check that passed (st=ok) with no user: a
# check that did pass (a reset racing the proxying) names its user
aborted=$(awk '$(NF-3) == 499' "$tmp/logs/access.log" | wc -l)
ok499=$(awk '$(NF-3) == 499 && $(NF-2) == "st=ok" && $(NF-1) == "uid=-"' \
        "$tmp/logs/access.log" | wc -l)
if [ "$aborted" -ge 33 ] && [ "$ok499" -eq 0 ]; then
    echo "ok - $aborted abandoned requests logged 499, none as st=ok without a user"
    passed=$((passed + 1))
else
    echo "not ok - $aborted abandoned requests logged 499 (want 33 or more), $ok499 as st=ok without a user"
    failed=$((failed + 1)) status=1
fi
echo "# http2: nginx saw $(grep -c 'client canceled stream' "$tmp/logs/error.log") streams canceled by the client"

if [ $status -ne 0 ]; then
    echo "# http2: FAILED (H2_KEEP=1 keeps the logs); nginx's errors:"
    grep -E '\[(error|warn|alert|crit|emerg)\]' "$tmp/logs/error.log" | tail -n 20
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] || status=1
exit $status
