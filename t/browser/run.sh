#!/bin/bash
# A real browser through the consent page (issue 7): headless Chromium
# (Debian's chromium + chromium-driver, driven by python3-selenium from
# t/browser/consent.py) signs in with basic auth, opens /oauth/authorize of
# an https issuer (a self-signed certificate made here with openssl),
# presses Approve and must land on the app's redirect URI, which is on
# another origin (https://localhost:PORT vs the issuer's
# https://127.0.0.1:PORT); the code is exchanged and the token used on
# /api/v1/invoices.  Deny must land there with error=access_denied.  A
# CSP violation in the browser's console fails the run.
#
# Starts its own redis-server and nginx (our child, daemon off, 4 workers,
# an http-level log_format naming every $imprest_* variable) in a mktemp
# prefix, on free ports of BROWSER_PORTS (FIRST-LAST, default
# 29960-29969: Redis, the issuer, the app, chromedriver), checks nginx's
# logs with tools/check-nginx-logs.sh, and stops everything on exit.
# Screenshots, the browser's console and nginx's logs are kept in
# build/browser-artifacts/.
#   BROWSER_KEEP=1   keep the temporary directory too
#   BROWSER_TIMEOUT=SECONDS   the browser driver's limit (default 120)
#   NGINX=... IMPREST_MODULE=...   another build, e.g. the ASan one
set -u

repo=$(cd "$(dirname "$0")/../.." && pwd)
name=browser
. "$repo/t/lib/servers.sh"
ctl=${IMPREST_CTL:-$repo/build/imprestctl}
module=${IMPREST_MODULE:-$repo/build/nginx-dev/objs/ngx_http_imprest_module.so}
nginx=${NGINX:-${TEST_NGINX_BINARY:-/usr/sbin/nginx}}
# nginx itself reads NGINX (inherited listening sockets): never pass it on
unset NGINX
# Debian's interpreter, where python3-selenium is installed
py=${BROWSER_PYTHON:-/usr/bin/python3}
chromium=${BROWSER_CHROMIUM:-/usr/bin/chromium}
chromedriver=${BROWSER_CHROMEDRIVER:-/usr/bin/chromedriver}
artifacts=$repo/build/browser-artifacts

for f in "$ctl" "$module" "$nginx" "$chromium" "$chromedriver"; do
    [ -e "$f" ] || { echo "browser: $f is missing (make deps module imprestctl)" >&2; exit 1; }
done
if ! "$py" -c 'import selenium.webdriver' 2>/dev/null; then
    echo "browser: $py cannot import selenium; apt-get install -y python3-selenium" >&2
    exit 1
fi

free_ports "${BROWSER_PORTS:-29960-29969}" 8
redis_port=${ports[0]} gw_port=${ports[1]} app_port=${ports[2]}
driver_port=${ports[3]}
# portal.py: a browser (and its chromedriver) for each of four users
driver_ports=${ports[4]},${ports[5]},${ports[6]},${ports[7]}
# two origins: the issuer by address, the app by name (and another port)
issuer=https://127.0.0.1:$gw_port
redirect_uri=https://localhost:$app_port/cb

tmp=$(mktemp -d /tmp/imprest-browser.XXXXXX)
redis_pid= nginx_pid= driver_pid=
stop_nginx() {
    [ -n "$nginx_pid" ] && kill -QUIT "$nginx_pid" 2>/dev/null \
        && wait "$nginx_pid" 2>/dev/null
    nginx_pid=
}
stop() {
    # the driver runs in a session of its own (setsid): its group holds
    # chromedriver and every chromium process it started
    if [ -n "$driver_pid" ]; then
        kill -TERM -- "-$driver_pid" 2>/dev/null
        wait "$driver_pid" 2>/dev/null
        kill -KILL -- "-$driver_pid" 2>/dev/null
    fi
    stop_nginx
    [ -n "$redis_pid" ] && kill "$redis_pid" 2>/dev/null \
        && wait "$redis_pid" 2>/dev/null
    driver_pid= redis_pid=
    # anything of ours that left that group (a browser helper in a session
    # of its own) still names our private directory: end it by its pid
    local f pid
    # (the pattern from a file: grep's own command line must not match)
    for f in $(grep -lzF -f <(printf '%s/\n' "$tmp") /proc/[0-9]*/cmdline \
               2>/dev/null); do
        pid=${f#/proc/}; pid=${pid%/cmdline}
        [ "$pid" != $$ ] && kill -KILL "$pid" 2>/dev/null
    done
    if [ -n "${BROWSER_KEEP:-}" ]; then
        echo "browser: kept $tmp"
    else
        rm -rf "$tmp"
    fi
}
trap stop EXIT
trap 'exit 130' INT TERM

rm -rf "$artifacts"
mkdir -p "$artifacts" "$tmp/logs" "$tmp/conf" "$tmp/modules" "$tmp/redis" \
         "$tmp/chromium" "$tmp/html"
echo 'signed in as <!--# echo var="remote_user" -->' > "$tmp/html/signin.html"
# a copy: a rebuild during the run (rm -rf build/nginx-dev) cannot touch it
cp "$module" "$tmp/modules/ngx_http_imprest_module.so" || exit 1

# the test's own certificate, for both names the two origins use
if ! openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
        -nodes -days 1 -subj /CN=localhost \
        -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
        -keyout "$tmp/conf/key.pem" -out "$tmp/conf/cert.pem" 2>/dev/null; then
    echo "browser: openssl could not make a certificate" >&2
    exit 1
fi

# the signed-in user of the consent page: auth_basic, a throwaway password
# (it never reaches a file we keep: checked at the end)
user=alice
password=$(openssl rand -hex 12)
printf '%s:%s\n' "$user" "$(openssl passwd -apr1 "$password")" \
    > "$tmp/conf/htpasswd"
# portal.py's other users: bob and carol (Acme's member, Beta's admin) and
# dave, the developer
passwords="{\"$user\": \"$password\""
for u in bob carol dave; do
    pw=$(openssl rand -hex 12)
    printf '%s:%s\n' "$u" "$(openssl passwd -apr1 "$pw")" >> "$tmp/conf/htpasswd"
    passwords="$passwords, \"$u\": \"$pw\""
done
passwords="$passwords}"
# workers run as nobody when we are root: let them reach the htpasswd
chmod 755 "$tmp" "$tmp/conf" "$tmp/html"
chmod 644 "$tmp/conf/htpasswd" "$tmp/html/signin.html"

# every variable the module defines, logged on every request (on the
# authorization server's too: an unsafe getter crashes a worker there)
vars=$(grep -ho 'ngx_string("imprest_[a-z_]*"), NULL' \
           "$repo"/src/*.c "$repo"/ngx_http_imprest_module.c \
       | sed 's/^ngx_string("\(.*\)"), NULL$/\1/' | sort -u)
if [ -z "$vars" ]; then
    echo "browser: found no \$imprest_* variable in src/" >&2
    exit 1
fi
log_vars=
for v in $vars; do log_vars="$log_vars $v=\$$v"; done

cat > "$tmp/conf/nginx.conf" <<EOF
load_module modules/ngx_http_imprest_module.so;

worker_processes  4;
error_log         logs/error.log info;
pid               logs/nginx.pid;

events {
    worker_connections  1024;
}

http {
    log_format  browser  '\$pid \$host:\$server_port "\$request" \$status$log_vars';
    access_log  logs/access.log  browser;

    ssl_certificate      cert.pem;
    ssl_certificate_key  key.pem;

    imprest_redis   127.0.0.1:$redis_port timeout=2s;
    imprest_issuer  $issuer;
    imprest_scope   money_in   "See your invoices and money coming in";
    imprest_scope   money_out  "See your bills and money going out";

    # the accounting services: echo what reached them
    server {
        listen       unix:$tmp/upstream.sock;
        default_type application/json;

        location / {
            return 200 '{"path":"\$uri","user_id":"\$http_x_imprest_user_id","client_id":"\$http_x_imprest_client_id","organization_id":"\$http_x_organization_id"}\n';
        }
    }

    # the issuer: authorization server and gate
    server {
        listen         127.0.0.1:$gw_port ssl;
        imprest_realm  "Imprest API";

        # the test's stand-in for Imprest's sign-in: same realm as the
        # consent page, so the browser keeps the credentials for both
        # (a file, not return: return would answer before auth_basic runs)
        location = /oauth/signin {
            auth_basic            "Imprest";
            auth_basic_user_file  htpasswd;
            ssi                   on;
            default_type          text/html;
            alias                 $tmp/html/signin.html;
        }

        location = /oauth/authorize {
            auth_basic            "Imprest";
            auth_basic_user_file  htpasswd;
            imprest_user          \$remote_user;
            imprest_consent_role  admin;
            imprest_authorize;
        }

        # issue 9: the developer portal, the scopes reference, connected
        # apps (the same sign-in realm as the consent page)
        location /developer/ {
            auth_basic               "Imprest";
            auth_basic_user_file     htpasswd;
            imprest_user             \$remote_user;
            client_body_buffer_size  128k;
            imprest_portal;
        }

        location /developer/scopes {
            imprest_scopes;
        }

        location /account/connections {
            auth_basic            "Imprest";
            auth_basic_user_file  htpasswd;
            imprest_user          \$remote_user;
            imprest_connections;
        }

        location = /oauth/token {
            imprest_token;
        }

        location = /.well-known/oauth-authorization-server {
            imprest_metadata;
        }

        location /api/v1/invoices {
            imprest_gate           on;
            imprest_require_scope  money_in;
            proxy_pass             http://unix:$tmp/upstream.sock:;
        }

        location = /health {
            return 200 "ok\n";
        }

        location = /favicon.ico {
            return 204;
        }
    }

    # the third-party app, on another origin: its redirect URI
    server {
        listen       127.0.0.1:$app_port ssl;
        server_name  localhost;

        location = /cb {
            default_type  text/plain;
            return 200 "The app received the redirect: \$args\n";
        }

        location = /favicon.ico {
            return 204;
        }
    }
}
EOF

start_redis
start_nginx "$issuer/health" --cacert "$tmp/conf/cert.pem"

export IMPREST_REDIS=127.0.0.1:$redis_port
org1=3f2b6c1e-7a4d-4e5f-9b0a-1c2d3e4f5a6b
org2=9d8c7b6a-5e4f-4a3b-8c2d-1e0f9a8b7c6d

seed_failed=
run_ctl() {
    "$ctl" "$@" >/dev/null || { echo "browser: imprestctl $* failed" >&2; seed_failed=1; }
}
run_ctl user add "$user" --name "Alice Example"
run_ctl org add $org1 --name "Acme Ltd"
run_ctl org add $org2 --name "Beta Books"
# only admins connect apps here: alice administers both, carol Beta, bob
# is a member of Acme
run_ctl member add "$user" $org1 --role admin
run_ctl member add "$user" $org2 --role admin
for u in bob carol dave; do run_ctl user add $u --name "$u"; done
run_ctl member add bob $org1
run_ctl member add carol $org2 --role admin
app=$("$ctl" --json app create --name "Browser Books" --redirect-uri "$redirect_uri" \
      --scope "money_in money_out") || seed_failed=1
[ -z "$seed_failed" ] || exit 1
json_field() {   # json_field FIELD: one string field of the JSON on stdin
    "$py" -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"
}

export BROWSER_ISSUER=$issuer BROWSER_REDIRECT_URI=$redirect_uri
export BROWSER_CLIENT_ID=$(json_field client_id <<<"$app")
export BROWSER_CLIENT_SECRET=$(json_field client_secret <<<"$app")
export BROWSER_USER=$user BROWSER_PASSWORD=$password BROWSER_ORG1=$org1
export BROWSER_CA_FILE=$tmp/conf/cert.pem BROWSER_ARTIFACTS=$artifacts
export BROWSER_PROFILE=$tmp/chromium BROWSER_DRIVER_PORT=$driver_port
export BROWSER_CHROMIUM=$chromium BROWSER_CHROMEDRIVER=$chromedriver
export PYTHONDONTWRITEBYTECODE=1
# chromium writes its caches and crash dumps under HOME
export HOME=$tmp/chromium

echo "# browser: issuer $issuer, app $redirect_uri, redis 127.0.0.1:$redis_port"
passed=0 failed=0

# drive NAME SCRIPT SECONDS: runs t/browser/SCRIPT in a session of its own
# (stop() ends the driver, chromedriver and chromium at once, and a hung
# browser cannot hang the suite: timeout ends that group), prints its
# output to $tmp/NAME.out and here, and adds its summary to ours
drive() {
    local name=$1 script=$2 limit=$3 rc
    setsid timeout -k 5 "$limit" "$py" "$repo/t/browser/$script" \
        > "$tmp/$name.out" 2>&1 &
    driver_pid=$!
    wait "$driver_pid"
    rc=$?
    driver_pid=
    cat "$tmp/$name.out"
    set -- $(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p' \
             "$tmp/$name.out" | tail -n 1)
    if [ $# -ne 2 ]; then
        echo "not ok - the $name driver ended without its summary line"
        set -- 0 1
    fi
    passed=$((passed + $1)) failed=$((failed + $2))
    [ "$rc" -eq 0 ] || [ "$2" -gt 0 ] || failed=$((failed + 1))
}

drive driver consent.py "${BROWSER_TIMEOUT:-120}"

# issue 9: the portal, roles on the consent page, connected apps
export BROWSER_PASSWORDS=$passwords BROWSER_DRIVER_PORTS=$driver_ports
export BROWSER_ORG2=$org2
drive portal portal.py "${BROWSER_TIMEOUT:-180}"

check() {   # check NAME COMMAND...: ok when COMMAND succeeds
    local name=$1
    shift
    if "$@"; then
        echo "ok - $name"; passed=$((passed + 1))
    else
        echo "not ok - $name"; failed=$((failed + 1))
    fi
}

# the access log evaluated every variable, and names the gate's outcome
check "the access log shows the gate's outcome" \
    grep -q "\"GET /api/v1/invoices HTTP/1.1\" 200 .*imprest_status=ok" \
    "$tmp/logs/access.log"

# nginx stopped cleanly, and logged no alert, crash or sanitizer report
stop_nginx
check "nginx logged no alert, crit, emerg, crash or sanitizer report" \
    "$repo/tools/check-nginx-logs.sh" "$tmp/logs/error.log" \
    "$tmp/logs/stderr.log"

cp "$tmp/logs/error.log" "$tmp/logs/access.log" "$tmp/logs/stderr.log" \
   "$tmp/driver.out" "$tmp/portal.out" "$artifacts/"
no_password() {
    local pw
    for pw in $("$py" -c 'import json,sys; print(" ".join(json.loads(sys.argv[1]).values()))' "$passwords"); do
        grep -rqF -- "$pw" "$artifacts" && return 1
    done
    return 0
}
check "the kept artifacts do not contain the user's password" no_password
for f in approve-consent approve-landing deny-consent deny-landing \
         portal-created-secret portal-rotated consent-member-not-admin \
         user-callback connections-after admin-after; do
    check "screenshot $f.png kept" test -s "$artifacts/$f.png"
done

if [ "$failed" -ne 0 ]; then
    echo "# browser: FAILED; screenshots, console and nginx logs in $artifacts"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
