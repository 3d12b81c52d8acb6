#!/bin/bash
# `make demo`: the gateway on its embedded default.  Starts a private Redis
# (127.0.0.1:6390) and nginx with conf-examples/demo.conf (gateway and
# authorization server on 127.0.0.1:8080, demo accounting upstream on
# 8081), seeds a user and two organizations, walks the developer guide
# (register an app, consent, code exchange, API calls, refresh, revoke),
# then shows a call failing for each reason, and keeps serving until
# Ctrl-C.
#   DEMO_ONCE=1   stop after the walkthrough (used by the test suite)
#   DEMO_REDIS_PORT, DEMO_PORT, DEMO_UPSTREAM_PORT   other ports than
#                 6390, 8080 and 8081 (demo.conf's are rewritten in the copy)
set -u

repo=$(cd "$(dirname "$0")/.." && pwd)
demo=$repo/build/demo
ctl=$repo/build/imprestctl
module=$repo/build/nginx-dev/objs/ngx_http_imprest_module.so
# NGINX_BIN, not NGINX: nginx reads $NGINX as inherited sockets
nginx=${NGINX_BIN:-/usr/sbin/nginx}
unset NGINX
redis_port=${DEMO_REDIS_PORT:-6390}
gw_port=${DEMO_PORT:-8080}
up_port=${DEMO_UPSTREAM_PORT:-8081}
gw=http://127.0.0.1:$gw_port

redis_pid= nginx_pid=
stop() {
    [ -n "$nginx_pid" ] && kill -QUIT "$nginx_pid" 2>/dev/null \
        && wait "$nginx_pid" 2>/dev/null
    [ -n "$redis_pid" ] && kill "$redis_pid" 2>/dev/null \
        && wait "$redis_pid" 2>/dev/null
    nginx_pid= redis_pid=
}
trap 'stop; exit 0' INT TERM
trap stop EXIT

for port in $redis_port $gw_port $up_port; do
    if (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null; then
        echo "demo: port $port is in use; stop what holds it first" >&2
        exit 1
    fi
done

rm -rf "$demo"
mkdir -p "$demo/logs" "$demo/conf" "$demo/modules" "$demo/redis"
ln -s "$module" "$demo/modules/ngx_http_imprest_module.so"
sed -e "s/127\.0\.0\.1:6390/127.0.0.1:$redis_port/" \
    -e "s/127\.0\.0\.1:8080/127.0.0.1:$gw_port/" \
    -e "s/127\.0\.0\.1:8081/127.0.0.1:$up_port/" \
    "$repo/conf-examples/demo.conf" > "$demo/conf/nginx.conf"
cp -r "$repo/conf-examples/demo-data" "$demo/demo-data"
# the demo's people (sign-in for the consent page, the portal and
# connected apps): alice / alice, a user; dave / dave, a developer
for u in alice dave; do
    printf '%s:%s\n' $u "$(openssl passwd -apr1 $u)"
done > "$demo/conf/htpasswd"
# workers run as nobody when we are root
chmod -R a+rX "$demo/conf" "$demo/demo-data"

redis-server --port $redis_port --bind 127.0.0.1 --save '' --appendonly no \
    --dir "$demo/redis" --logfile "$demo/redis/redis.log" &
redis_pid=$!
for i in $(seq 50); do
    redis-cli -p $redis_port ping >/dev/null 2>&1 && break
    sleep 0.1
done

# nginx as our own child (daemon off): it stops the moment we do
"$nginx" -p "$demo/" -c conf/nginx.conf -e stderr -g 'daemon off;' &
nginx_pid=$!
for i in $(seq 50); do
    curl -s -o /dev/null "$gw/health" && break
    sleep 0.1
done

export IMPREST_REDIS=127.0.0.1:$redis_port

org1=3f2b6c1e-7a4d-4e5f-9b0a-1c2d3e4f5a6b
org2=9d8c7b6a-5e4f-4a3b-8c2d-1e0f9a8b7c6d
other=a1b2c3d4-e5f6-4789-abcd-ef0123456789

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() {
    printf '$'; printf ' %q' "$@"; printf '\n'
    "$@" -s -i | sed -e 's/\r$//' -e '/^Date:/d' -e '/^Server:/d' \
        -e '/^Connection:/d' -e '/^Content-Length:/d' | tee "$demo/last"
}

json() { python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }

say "Seeding the accounting data with imprestctl"
"$ctl" user add alice --name "Alice Example"
"$ctl" user add dave --name "Dave Developer"
"$ctl" org add $org1 --name "Acme Ltd"
"$ctl" org add $org2 --name "Beta Books"
"$ctl" org add $other --name "Someone Else Inc"
# alice is an admin of Acme and a member of Beta (only admins connect
# apps here: imprest_consent_role admin)
"$ctl" member add alice $org1 --role admin
"$ctl" member add alice $org2 --role member

say "Guide, step 1: register an app (My Apps -> Create App; here dave's, made with imprestctl)"
app=$("$ctl" --json app create --name "Demo Books" --owner dave \
      --redirect-uri $gw/demo-app/callback \
      --scope "money_in money_out contacts")
echo "$app"
client_id=$(json client_id <<<"$app")
client_secret=$(json client_secret <<<"$app")
redirect_uri=$gw/demo-app/callback

say "Open in a browser (while the demo runs)"
cat <<EOF
  $gw/developer/              My Apps and Create App (sign in: dave / dave)
  $gw/developer/scopes        the scopes reference (and .json)
  $gw/account/connections/    connected apps (sign in: alice / alice;
                              alice administers Acme: its admin view is
                              linked there)
  $gw/oauth/authorize?client_id=$client_id&response_type=code&redirect_uri=$redirect_uri&scope=money_in
                              the consent page (alice / alice)
EOF

say "My Apps, as dave sees it in the portal"
curl -s -u dave:dave "$gw/developer/" \
    | sed -e 's/<[^>]*>/ /g' -e 's/  */ /g' | fold -s -w 78

say "The scopes reference, as JSON"
show curl "$gw/developer/scopes.json"

say "Guide, step 2: send the user to /oauth/authorize (alice signs in)"
state=$(openssl rand -hex 8)
authz="$gw/oauth/authorize?client_id=$client_id&response_type=code"
authz="$authz&redirect_uri=$redirect_uri&scope=money_in+money_out+contacts"
authz="$authz&state=$state"
printf '$ curl -u alice:alice %q\n' "$authz"
page=$(curl -s -u alice:alice "$authz")
sed -e 's/<style>.*<\/style>//' -e 's/<[^>]*>/ /g' -e 's/  */ /g' \
    <<<"$page" | fold -s -w 78
request_id=$(grep -o 'name="request_id" value="[^"]*"' <<<"$page" \
             | sed 's/.*value="//; s/"$//')

say "Alice approves, for Acme Ltd only: back to the app with a code"
approve=$(curl -s -i -u alice:alice "$gw/oauth/authorize" \
          --data "request_id=$request_id&org=$org1&decision=approve" \
          | tr -d '\r')
grep -E '^(HTTP|Location)' <<<"$approve"
location=$(sed -n 's/^Location: //p' <<<"$approve")
code=$(sed -n 's/.*[?&]code=\([^&]*\).*/\1/p' <<<"$location")
echo "state echoed: $(sed -n 's/.*[?&]state=\([^&]*\).*/\1/p' <<<"$location")"

say "Guide, step 3: exchange the code (exactly the guide's request)"
show curl "$gw/oauth/token" \
    -H "Content-Type: application/x-www-form-urlencoded" \
    --data "grant_type=authorization_code&code=$code&redirect_uri=$redirect_uri&client_id=$client_id&client_secret=$client_secret"
tokens=$(tail -n 1 "$demo/last")
token=$(json access_token <<<"$tokens")
refresh=$(json refresh_token <<<"$tokens")

say "The same code a second time: refused, and its tokens revoked"
show curl "$gw/oauth/token" \
    --data "grant_type=authorization_code&code=$code&redirect_uri=$redirect_uri&client_id=$client_id&client_secret=$client_secret"

say "Beta Books is offered to its admins only: alice, a member there, cannot grant it"
page=$(curl -s -u alice:alice "$authz")
grep -o 'value="[0-9a-f-]*" disabled> [^<]*<i>admins only</i>' <<<"$page"
request_id=$(grep -o 'name="request_id" value="[^"]*"' <<<"$page" \
             | sed 's/.*value="//; s/"$//')
curl -s -i -u alice:alice "$gw/oauth/authorize" \
    --data "request_id=$request_id&org=$org2&decision=approve" \
    | tr -d '\r' | grep -E '^HTTP|<p>' | sed -e 's/<[^>]*>/ /g'

say "A new authorization, for Acme"
page=$(curl -s -u alice:alice "$authz")
request_id=$(grep -o 'name="request_id" value="[^"]*"' <<<"$page" \
             | sed 's/.*value="//; s/"$//')
location=$(curl -s -i -u alice:alice "$gw/oauth/authorize" \
           --data "request_id=$request_id&org=$org1&decision=approve" \
           | tr -d '\r' | sed -n 's/^Location: //p')
code=$(sed -n 's/.*[?&]code=\([^&]*\).*/\1/p' <<<"$location")
show curl "$gw/oauth/token" -u "$client_id:$client_secret" \
    --data "grant_type=authorization_code&code=$code&redirect_uri=$redirect_uri"
tokens=$(tail -n 1 "$demo/last")
token=$(json access_token <<<"$tokens")
refresh=$(json refresh_token <<<"$tokens")

say "Guide, step 4: which organizations may this app act on?"
show curl "$gw/api/v1/me/organizations" -H "Authorization: Bearer $token"

say "Guide, step 4: read Acme's invoices (scope money_in)"
show curl "$gw/api/v1/invoices" -H "Authorization: Bearer $token" \
    -H "X-Organization-Id: $org1"

say "... and its contacts (scope contacts)"
show curl "$gw/api/v1/contacts" -H "Authorization: Bearer $token" \
    -H "X-Organization-Id: $org1"

say "Connected apps: alice sees Demo Books with access to Acme"
conn=$(curl -s -i -u alice:alice "$gw/account/connections/" | tr -d '\r')
sed -n 's/^\(HTTP.*\)/\1/p' <<<"$conn" | head -1
sed -e 's/<style>.*<\/style>//' -e 's/<[^>]*>/ /g' -e 's/  */ /g' \
    <<<"$(sed -n '/^$/,$p' <<<"$conn")" | fold -s -w 78

say "Refresh: a new pair; the old refresh token stops working"
show curl "$gw/oauth/token" -u "$client_id:$client_secret" \
    --data "grant_type=refresh_token&refresh_token=$refresh"
tokens=$(tail -n 1 "$demo/last")
token=$(json access_token <<<"$tokens")

say "Revoke the access token (RFC 7009), then the API says 401"
show curl "$gw/oauth/revoke" -u "$client_id:$client_secret" \
    --data "token=$token"
show curl "$gw/api/v1/invoices" -H "Authorization: Bearer $token" \
    -H "X-Organization-Id: $org1"

say "Now each way a call can fail (tokens minted with imprestctl)"
token=$("$ctl" --json token mint --user alice --client demo-app \
        --scope money_in --org $org1 --org $org2 | json access_token)
echo "access token: $token"

say "Spoofed identity headers never reach the upstream"
show curl "$gw/api/v1/invoices" -H "Authorization: Bearer $token" \
    -H "X-Organization-Id: $org1" -H "X-Imprest-User-Id: admin"

say "401: no token"
show curl "$gw/api/v1/invoices" -H "X-Organization-Id: $org1"

say "401: malformed token (rejected before Redis)"
show curl "$gw/api/v1/invoices" -H "Authorization: Bearer not-a-token" \
    -H "X-Organization-Id: $org1"

say "400: no X-Organization-Id"
show curl "$gw/api/v1/invoices" -H "Authorization: Bearer $token"

say "400: X-Organization-Id is not a UUID"
show curl "$gw/api/v1/invoices" -H "Authorization: Bearer $token" \
    -H "X-Organization-Id: acme"

say "403: an organization this token was not granted"
show curl "$gw/api/v1/invoices" -H "Authorization: Bearer $token" \
    -H "X-Organization-Id: $other"

say "403: bills need money_out, the token has money_in only"
show curl "$gw/api/v1/bills" -H "Authorization: Bearer $token" \
    -H "X-Organization-Id: $org1"

say "403: alice leaves Beta Books; the grant no longer works there"
"$ctl" member del alice $org2
show curl "$gw/api/v1/invoices" -H "Authorization: Bearer $token" \
    -H "X-Organization-Id: $org2"

say "401: the token is revoked"
"$ctl" token revoke "$token"
show curl "$gw/api/v1/invoices" -H "Authorization: Bearer $token" \
    -H "X-Organization-Id: $org1"

say "503: Redis is down, the gate fails closed"
token2=$("$ctl" --json token mint --user alice --client demo-app --scope money_in \
         --org $org1 | sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p')
kill "$redis_pid"; wait "$redis_pid" 2>/dev/null; redis_pid=
show curl "$gw/api/v1/invoices" -H "Authorization: Bearer $token2" \
    -H "X-Organization-Id: $org1"

say "The access log names each outcome"
tail -n 6 "$demo/logs/access.log"

if [ -n "${DEMO_ONCE:-}" ]; then
    exit 0
fi

say "Redis restarted; the gateway reconnects by itself"
redis-server --port $redis_port --bind 127.0.0.1 --save '' --appendonly no \
    --dir "$demo/redis" --logfile "$demo/redis/redis.log" &
redis_pid=$!
sleep 1.5
"$ctl" user add alice --name "Alice Example" >/dev/null
"$ctl" org add $org1 --name "Acme Ltd" >/dev/null
"$ctl" member add alice $org1 >/dev/null
token=$("$ctl" --json token mint --user alice --client demo-app --scope money_in \
        --org $org1 | sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p')
show curl "$gw/api/v1/invoices" -H "Authorization: Bearer $token" \
    -H "X-Organization-Id: $org1"

cat <<EOF

The gateway is running at $gw (Redis: 127.0.0.1:$redis_port).
The pages listed at the start are served as long as this runs.
Try it:
  curl -i $gw/api/v1/invoices -H "Authorization: Bearer $token" \\
       -H "X-Organization-Id: $org1"
Mint more tokens with: IMPREST_REDIS=127.0.0.1:$redis_port $ctl token mint ...
Logs: $demo/logs.  Ctrl-C stops nginx and Redis.
EOF

wait "$nginx_pid"
