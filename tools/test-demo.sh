#!/bin/bash
# The README's run command must keep working: run its walkthrough once and
# check that every outcome it shows came out as shown, and that nginx
# logged no alert, crash or sanitizer report meanwhile.
set -u
repo=$(cd "$(dirname "$0")/.." && pwd)
out=$(DEMO_ONCE=1 "$repo/tools/demo.sh" 2>&1)
rc=$?
pass=0 fail=0
check() {
    if grep -qF -- "$1" <<<"$out"; then
        pass=$((pass + 1))
    else
        echo "not ok - demo output lacks: $1"
        fail=$((fail + 1))
    fi
}
[ $rc = 0 ] && pass=$((pass + 1)) || { echo "not ok - demo exited $rc"; fail=$((fail + 1)); }
check '{"organizations":[{"id":"3f2b6c1e-7a4d-4e5f-9b0a-1c2d3e4f5a6b","name":"Acme Ltd"}]}'
check 'X-Demo-Seen: user=alice client=demo-app org=3f2b6c1e-7a4d-4e5f-9b0a-1c2d3e4f5a6b scope="money_in" authorization=""'
check 'HTTP/1.1 303 See Other'
check '"token_type":"Bearer","expires_in":7200,"scope":"money_in money_out contacts"}'
check '{"error":"invalid_grant","error_description":"code already used"}'
check 'X-Demo-Seen: user=alice client=app_'
check '"number": "INV-1001"'
check '"name": "Northwind Traders"'
check '9d8c7b6a-5e4f-4a3b-8c2d-1e0f9a8b7c6d" disabled> Beta Books <i>admins only</i>'
check 'each one you are an admin of'
check 'Demo Books Client ID app_'
check '{"scopes":[{"name":"money_in","description":"See invoices and payments received"}'
check '/developer/              My Apps and Create App'
check 'HTTP/1.1 401 Unauthorized'
check 'error="invalid_token", error_description="malformed token"'
check 'error_description":"the X-Organization-Id header is required"'
check 'scope="money_out"'
check '"error":"access_denied"'
check 'error_description":"unknown, expired or revoked token"'
check 'HTTP/1.1 503 Service Temporarily Unavailable'
check 'imprest=redis_unavailable'
# nginx must have stayed healthy: its error log, and its stderr (part of
# the demo's output: a sanitizer build reports there)
printf '%s\n' "$out" > "$repo/build/demo/output.log"
if "$repo/tools/check-nginx-logs.sh" "$repo/build/demo/logs/error.log" \
        "$repo/build/demo/output.log"; then
    pass=$((pass + 1))
else
    echo "not ok - nginx logged alerts, crashes or sanitizer reports (above)"
    fail=$((fail + 1))
fi
[ $fail = 0 ] || printf '%s\n' "$out" | tail -40
echo "demo: $pass passed, $fail failed"
[ $fail = 0 ]
