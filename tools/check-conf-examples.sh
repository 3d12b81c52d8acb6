#!/bin/sh
# nginx -t on every conf-examples/*.conf, loading the module just built.
set -u
repo=$(cd "$(dirname "$0")/.." && pwd)
nginx=${TEST_NGINX_BINARY:-/usr/sbin/nginx}
module=${TEST_NGINX_LOAD_MODULES:-$repo/build/nginx-dev/objs/ngx_http_imprest_module.so}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/logs" "$tmp/conf"
pass=0 fail=0
for f in "$repo"/conf-examples/*.conf; do
    sed "s|^load_module .*;|load_module $module;|" "$f" > "$tmp/conf/example.conf"
    if out=$("$nginx" -t -q -p "$tmp/" -c conf/example.conf -e stderr 2>&1); then
        echo "ok - nginx -t $(basename "$f")"
        pass=$((pass + 1))
    else
        echo "not ok - nginx -t $(basename "$f"): $out"
        fail=$((fail + 1))
    fi
done
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
