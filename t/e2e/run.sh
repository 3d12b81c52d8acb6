#!/bin/bash
# End-to-end tests with a real OAuth 2.0 client library: Debian's
# python3-requests-oauthlib drives the module's authorization server the
# way a third-party app following the developer guide would
# (t/e2e/oauth_client.py), then t/e2e/races.py fires concurrent code
# redemptions, refreshes and consent submissions at it, and
# t/e2e/register.py registers apps over RFC 7591 and drives them with
# authlib (python3-authlib).
#
# Starts its own redis-server and nginx (nginx as our child, daemon off)
# on free ports in 29950-29959, with a prefix in a mktemp directory,
# seeds a user, organizations and two apps with imprestctl, runs both
# scripts, checks nginx's error log and stderr with
# tools/check-nginx-logs.sh, and stops everything on exit.
#   t/e2e/run.sh [SCRIPT.py ...]   only these scripts of t/e2e/
#   E2E_KEEP=1   keep the temporary directory (logs) after the run
#   E2E_PORTS=FIRST-LAST   where to look for the 3 free ports
#   NGINX=... IMPREST_MODULE=...   another build, e.g. the ASan one (with
#                the ASAN_OPTIONS/UBSAN_OPTIONS of tools/build-nginx-src.sh
#                --env); sanitizer reports in nginx's logs fail the run
set -u

repo=$(cd "$(dirname "$0")/../.." && pwd)
name=e2e
. "$repo/t/lib/servers.sh"
ctl=${IMPREST_CTL:-$repo/build/imprestctl}
module=${IMPREST_MODULE:-$repo/build/nginx-dev/objs/ngx_http_imprest_module.so}
nginx=${NGINX:-${TEST_NGINX_BINARY:-/usr/sbin/nginx}}
# nginx itself reads NGINX (inherited listening sockets): never pass it on
unset NGINX
# Debian's interpreter, where python3-requests-oauthlib is installed (a
# pyenv python3 earlier in PATH would not see it)
py=${E2E_PYTHON:-/usr/bin/python3}

for f in "$ctl" "$module" "$nginx"; do
    [ -e "$f" ] || { echo "e2e: $f is missing (make module imprestctl)" >&2; exit 1; }
done

if ! "$py" -c 'import requests_oauthlib, oauthlib, authlib' 2>/dev/null; then
    echo "e2e: $py cannot import requests_oauthlib or authlib;" \
         "apt-get install -y python3-requests-oauthlib python3-authlib" >&2
    exit 1
fi

# three free ports in E2E_PORTS (FIRST-LAST, default 29950-29959):
# Redis, the gateway, the echo upstream
free_ports "${E2E_PORTS:-29950-29959}" 3
redis_port=${ports[0]} gw_port=${ports[1]} up_port=${ports[2]}
base=http://127.0.0.1:$gw_port

tmp=$(mktemp -d /tmp/imprest-e2e.XXXXXX)
redis_pid= nginx_pid=
stop() {
    [ -n "$nginx_pid" ] && kill -QUIT "$nginx_pid" 2>/dev/null \
        && wait "$nginx_pid" 2>/dev/null
    [ -n "$redis_pid" ] && kill "$redis_pid" 2>/dev/null \
        && wait "$redis_pid" 2>/dev/null
    nginx_pid= redis_pid=
    if [ -n "${E2E_KEEP:-}" ]; then
        echo "e2e: kept $tmp"
    else
        rm -rf "$tmp"
    fi
}
trap stop EXIT
trap 'exit 130' INT TERM

mkdir -p "$tmp/logs" "$tmp/conf" "$tmp/modules" "$tmp/redis"
# a copy: a rebuild during the run (rm -rf build/nginx-dev) cannot touch it
cp "$module" "$tmp/modules/ngx_http_imprest_module.so" || exit 1

# the signed-in user of the consent page: auth_basic, apr1 hash
user=alice
password=$(openssl rand -hex 12)
printf '%s:%s\n' "$user" "$(openssl passwd -apr1 "$password")" \
    > "$tmp/conf/htpasswd"
# workers run as nobody when we are root: let them reach the htpasswd
# (a throwaway password for this run only)
chmod 755 "$tmp" "$tmp/conf"
chmod 644 "$tmp/conf/htpasswd"

cat > "$tmp/conf/nginx.conf" <<EOF
load_module modules/ngx_http_imprest_module.so;

# several workers, so the races reach several Redis connections at once
worker_processes  4;
error_log         logs/error.log info;
pid               logs/nginx.pid;

events {
    worker_connections  1024;
}

http {
    # the pid: which worker served each request (the races want several)
    log_format  e2e  '\$pid \$remote_addr "\$request" \$status';
    access_log  logs/access.log  e2e;

    imprest_redis   127.0.0.1:$redis_port timeout=2s;
    imprest_issuer  $base;
    imprest_scope   money_in   "See your invoices and money coming in";
    imprest_scope   money_out  "See your bills and money going out";

    # the accounting services: echo what reached them
    server {
        listen       127.0.0.1:$up_port;
        default_type application/json;

        location / {
            return 200 '{"service":"accounting","path":"\$uri","user_id":"\$http_x_imprest_user_id","client_id":"\$http_x_imprest_client_id","organization_id":"\$http_x_organization_id","scope":"\$http_x_imprest_scope","authorization_seen":"\$http_authorization"}\n';
        }
    }

    server {
        listen         127.0.0.1:$gw_port;
        imprest_realm  "Imprest API";

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

        location = /oauth/introspect {
            imprest_introspect;
        }

        location = /.well-known/oauth-authorization-server {
            imprest_metadata;
        }

        location = /api/v1/me/organizations {
            imprest_organizations;
        }

        # RFC 7591/7592 (register.py): initial access tokens here, the
        # metadata's registration_endpoint; the signed-in developer below
        location /oauth/register {
            imprest_register;
        }

        location /developer/register {
            auth_basic            "Imprest";
            auth_basic_user_file  htpasswd;
            imprest_user          \$remote_user;
            imprest_register;
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
start_nginx "$base/health"

export IMPREST_REDIS=127.0.0.1:$redis_port
org1=3f2b6c1e-7a4d-4e5f-9b0a-1c2d3e4f5a6b
org2=9d8c7b6a-5e4f-4a3b-8c2d-1e0f9a8b7c6d
other=a1b2c3d4-e5f6-4789-abcd-ef0123456789

json_field() {   # json_field FIELD: read one string field from stdin
    "$py" -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"
}

seed_failed=
run_ctl() {
    "$ctl" "$@" >/dev/null || { echo "e2e: imprestctl $* failed" >&2; seed_failed=1; }
}
run_ctl user add "$user" --name "Alice Example"
run_ctl user add mallory --name "Mallory Example"
run_ctl org add $org1 --name "Acme Ltd"
run_ctl org add $org2 --name "Beta Books"
run_ctl org add $other --name "Someone Else Inc"
run_ctl member add "$user" $org1
run_ctl member add "$user" $org2
run_ctl member add mallory $other

app=$("$ctl" --json app create --name "E2E Books" --redirect-uri https://app.example/cb \
      --scope "money_in money_out" --introspect) || seed_failed=1
pub=$("$ctl" --json app create --name "E2E Pocket" \
      --redirect-uri https://public.example/cb --scope "money_in" --public) \
      || seed_failed=1
initial=$("$ctl" --json initial-token create --ttl 600 --note e2e) || seed_failed=1
[ -z "$seed_failed" ] || exit 1

export E2E_BASE=$base
export E2E_USER=$user E2E_PASSWORD=$password
export E2E_ORG1=$org1 E2E_ORG2=$org2 E2E_OTHER_ORG=$other
export E2E_CLIENT_ID=$(json_field client_id <<<"$app")
export E2E_CLIENT_SECRET=$(json_field client_secret <<<"$app")
export E2E_REDIRECT_URI=https://app.example/cb
export E2E_PUBLIC_CLIENT_ID=$(json_field client_id <<<"$pub")
export E2E_PUBLIC_REDIRECT_URI=https://public.example/cb
export E2E_INITIAL_TOKEN=$(json_field initial_access_token <<<"$initial")
# oauthlib refuses http:// endpoints (InsecureTransportError); this test
# server is on loopback only, where plain HTTP is what there is
export OAUTHLIB_INSECURE_TRANSPORT=1
export PYTHONDONTWRITEBYTECODE=1

status=0 passed=0 failed=0
run_py() {   # run_py SCRIPT: run it, add its "N passed, M failed" line
    local out=$tmp/$1.out rc
    echo "# e2e: $1"
    "$py" "$repo/t/e2e/$1" | tee "$out"
    rc=${PIPESTATUS[0]}
    set -- $(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p' "$out" \
             | tail -n 1)
    if [ $# -ne 2 ]; then
        echo "not ok - the script ended without its summary line"
        set -- 0 1
    fi
    passed=$((passed + $1)) failed=$((failed + $2))
    [ "$rc" -eq 0 ] || status=1
}

echo "# e2e: gateway $base, redis 127.0.0.1:$redis_port"
if [ $# -gt 0 ]; then
    for script in "$@"; do run_py "$(basename "$script")"; done
else
    run_py oauth_client.py
    run_py races.py
    run_py register.py
fi

# the races went through more than one worker
workers=$(awk '$3 == "\"POST" && $4 == "/oauth/token" { print $1 }' \
          "$tmp/logs/access.log" | sort -u | wc -l)
echo "# e2e: /oauth/token was served by $workers nginx workers"

# nginx must have stayed healthy throughout
if ! "$repo/tools/check-nginx-logs.sh" \
        "$tmp/logs/error.log" "$tmp/logs/stderr.log"; then
    echo "not ok - nginx logged alerts, crashes or sanitizer reports (above)"
    failed=$((failed + 1)) status=1
else
    echo "ok - nginx logged no alert, crit, emerg, crash or sanitizer report"
    passed=$((passed + 1))
fi

if [ $status -ne 0 ]; then
    echo "# e2e: FAILED (E2E_KEEP=1 keeps the logs); nginx's errors:"
    grep -E '\[(error|warn)\]' "$tmp/logs/error.log" | tail -n 20
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] || status=1
exit $status
