#!/bin/bash
# The Debian packages (make deb, tools/deb/) as an operator meets them, as
# root: builds them, checks their metadata (the nginx-abi-* dependency is
# the one the installed nginx provides, every library the binaries link
# is a dependency), installs them with apt-get, checks the files and the
# modules-enabled link, runs the distribution's nginx -t, then an nginx
# of its own whose configuration loads the module only through
# "include /etc/nginx/modules-enabled/*.conf" and serves gated requests
# with a token minted by the packaged /usr/bin/imprestctl in a private
# redis-server (200 through to an upstream, 401 without a token or after
# a revocation).  Then remove (the module disabled, Debian's
# ".removed" marker kept), reinstall (enabled again), an admin's disable
# kept across a reinstall, and purge: nothing of either package left.
#
# The machine is left as it was: packages installed before are purged
# first and reinstalled (from this build) at the end, one in the
# config-files state is put back there, and a module or imprestctl that
# no package owns (make install) is saved and put back.  Fails on any
# [alert], [crit] or [emerg] of nginx (tools/check-nginx-logs.sh).
#   DEB_PORTS=FIRST-LAST   where to look for the 3 free ports
#                          (default 29980-29989)
#   DEB_KEEP=1             keep the temporary directory (logs)
set -u

repo=$(cd "$(dirname "$0")/../.." && pwd)
name=deb
. "$repo/t/lib/servers.sh"
# the distribution's nginx, with its own prefix (/usr/share/nginx), so
# that the load file's "modules/..." resolves as it does in production
nginx=/usr/sbin/nginx
unset NGINX

mod_pkg=libnginx-mod-http-imprest
ctl_pkg=imprestctl
so=/usr/lib/nginx/modules/ngx_http_imprest_module.so
avail=/usr/share/nginx/modules-available/mod-http-imprest.conf
link=/etc/nginx/modules-enabled/50-mod-http-imprest.conf
ctl=/usr/bin/imprestctl
org=3f2b6c1e-7a4d-4e5f-9b0a-1c2d3e4f5a6b

if [ "$(id -u)" != 0 ]; then
    echo "deb: run as root (it installs and removes packages)" >&2
    exit 1
fi

# one run at a time on a machine: two would install and purge the same
# packages under each other
exec 9> /run/lock/imprest-test-deb.lock
if ! flock -w 600 9; then
    echo "deb: another t/deb/run.sh holds the lock" >&2
    exit 1
fi

version=$(tr -d ' \t\n' < "$repo/VERSION")
arch=$(dpkg --print-architecture)
mod_deb=$repo/build/${mod_pkg}_${version}_$arch.deb
ctl_deb=$repo/build/${ctl_pkg}_${version}_$arch.deb

tmp=$(mktemp -d /tmp/imprest-deb.XXXXXX)
mkdir -p "$tmp/logs" "$tmp/conf" "$tmp/redis" "$tmp/saved" "$tmp/x"
redis_pid= nginx_pid= failed=0 restored= touched=

export DEBIAN_FRONTEND=noninteractive
apt() {
    if ! apt-get -o DPkg::Lock::Timeout=300 -y "$@" >> "$tmp/apt.log" 2>&1
    then
        tail -20 "$tmp/apt.log" >&2
        return 1
    fi
}

# "ii", "rc" or "" (not known to dpkg)
state() {
    dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null | cut -c1-2
}

ok() {
    echo "ok - $*"
}

not_ok() {
    echo "not ok - $*"
    failed=1
}

# check DESCRIPTION COMMAND...: one result line
check() {
    local what=$1
    shift
    if "$@"; then ok "$what"; else not_ok "$what"; fi
}

# the machine as it was before the run
before_mod=$(state $mod_pkg)
before_ctl=$(state $ctl_pkg)
# whether the module was enabled (or, removed, marked so): an admin may
# have disabled it; the restored package must not turn it on again
before_link= before_marker=
[ -L "$link" ] && before_link=1
[ -L "$link.removed" ] && before_marker=1
# directories no package owns here (Debian 12's nginx ships no dynamic
# module) that dpkg removes with the last package that used them
before_dirs=
for d in /usr/lib/nginx/modules /usr/share/nginx/modules-available; do
    [ -d "$d" ] && before_dirs="$before_dirs $d"
done
for f in "$so" "$ctl" "$link" "$link.removed"; do
    if [ -e "$f" ] || [ -L "$f" ]; then
        if ! dpkg -S "$f" >/dev/null 2>&1; then
            # no package owns it (make install, or an admin's link)
            mkdir -p "$tmp/saved$(dirname "$f")"
            cp -a "$f" "$tmp/saved$f"
        fi
    fi
done

# apt-get purge of whichever of the two dpkg knows (apt-get fails on a
# package it has never heard of)
purge_ours() {
    local p purge=
    for p in $mod_pkg $ctl_pkg; do
        [ -n "$(state $p)" ] && purge="$purge $p"
    done
    [ -z "$purge" ] || apt purge $purge
}

restore() {
    [ -n "$restored" ] && return
    restored=1
    # nothing to put back before the first apt-get of step 3
    [ -z "$touched" ] && return
    purge_ours
    local inst= rm=
    case $before_mod in ii|rc) inst="$inst $mod_deb" ;; esac
    case $before_ctl in ii|rc) inst="$inst $ctl_deb" ;; esac
    [ "$before_mod" = rc ] && rm="$rm $mod_pkg"
    [ "$before_ctl" = rc ] && rm="$rm $ctl_pkg"
    if [ -n "$inst" ]; then
        apt install $inst || echo "deb: could not reinstall$inst" >&2
        [ -n "$rm" ] && apt remove $rm
        [ -z "$before_link" ] && rm -f "$link"
        [ -z "$before_marker" ] && rm -f "$link.removed"
    fi
    for d in $before_dirs; do
        mkdir -p "$d"
    done
    (cd "$tmp/saved" && find . ! -type d) | while read -r f; do
        f=${f#.}
        mkdir -p "$(dirname "$f")"
        cp -a "$tmp/saved$f" "$f"
    done
}

stop_servers() {
    [ -n "$nginx_pid" ] && kill -QUIT "$nginx_pid" 2>/dev/null \
        && wait "$nginx_pid" 2>/dev/null
    [ -n "$redis_pid" ] && kill "$redis_pid" 2>/dev/null \
        && wait "$redis_pid" 2>/dev/null
    nginx_pid= redis_pid=
}

finish() {
    stop_servers
    restore
    if [ -n "${DEB_KEEP:-}" ]; then
        echo "deb: kept $tmp"
    else
        rm -rf "$tmp"
    fi
}
trap finish EXIT
trap 'exit 130' INT TERM

# abort: a step the rest depends on failed
abort() {
    not_ok "$*"
    echo "deb: FAILED" >&2
    exit 1
}

start=$(date +%s)

# 1. build
make -s -C "$repo" deb > "$tmp/build.log" 2>&1 \
    || { cat "$tmp/build.log" >&2; abort "make deb"; }
ok "make deb"

# 2. metadata
check "$mod_pkg version is VERSION ($version)" \
    test "$(dpkg-deb -f "$mod_deb" Version)" = "$version"
check "$ctl_pkg version is VERSION ($version)" \
    test "$(dpkg-deb -f "$ctl_deb" Version)" = "$version"

abi=$(dpkg-query -W -f='${Provides}' nginx | tr ',' '\n' \
      | sed -n 's/^ *\(nginx-abi-[^ ]*\).*/\1/p')
mod_depends=$(dpkg-deb -f "$mod_deb" Depends)
ctl_depends=$(dpkg-deb -f "$ctl_deb" Depends)
[ -n "$abi" ] || abort "the installed nginx provides no nginx-abi-*"
check "$mod_pkg depends on $abi, which the installed nginx provides" \
    grep -Eq "(^|, )$abi(,|$)" <<< "$mod_depends"
check "$ctl_pkg does not depend on nginx" \
    test -z "$(grep -o 'nginx[^,]*' <<< "$ctl_depends")"

# depends_on_libs DEB FILE DEPENDS: every NEEDED library of FILE (inside
# DEB) belongs to a package that DEPENDS names
depends_on_libs() {
    local deb=$1 file=$2 depends=$3 lib path pkg missing=
    rm -rf "$tmp/x" && mkdir -p "$tmp/x"
    dpkg-deb -x "$deb" "$tmp/x"
    for lib in $(objdump -p "$tmp/x$file" | awk '$1 == "NEEDED" { print $2 }')
    do
        path=$(ldconfig -p | awk -v l="$lib" '$1 == l { print $NF; exit }')
        pkg=$(dpkg -S "$path" 2>/dev/null \
              || dpkg -S "$(realpath "$path")" 2>/dev/null)
        pkg=${pkg%%:*}
        if [ -z "$pkg" ] || ! grep -Eq "(^|, )$pkg( |,|$)" <<< "$depends"
        then
            missing="$missing $lib(${pkg:-?})"
        fi
    done
    [ -z "$missing" ] || { echo "# not in Depends:$missing"; return 1; }
}
check "$mod_pkg depends on the libraries the module links" \
    depends_on_libs "$mod_deb" "$so" "$mod_depends"
check "$ctl_pkg depends on the libraries imprestctl links" \
    depends_on_libs "$ctl_deb" "$ctl" "$ctl_depends"

# 3. install, fresh: a package installed before is purged first, so that
# the first install's postinst is what runs
touched=1
purge_ours || abort "purge of the packages installed before"
# what no package owns (saved above) would be taken over by dpkg, and
# then removed with the package
(cd "$tmp/saved" && find . ! -type d) | while read -r f; do
    rm -f "${f#.}"
done
apt install "$mod_deb" "$ctl_deb" || abort "apt-get install both packages"
ok "apt-get install ./build/${mod_pkg}_... ./build/${ctl_pkg}_..."

check "$mod_pkg is installed" test "$(state $mod_pkg)" = ii
check "$ctl_pkg is installed" test "$(state $ctl_pkg)" = ii
check "$so belongs to $mod_pkg" \
    test "$(dpkg -S "$so" 2>/dev/null)" = "$mod_pkg: $so"
check "$avail loads it" \
    test "$(cat "$avail" 2>/dev/null)" \
         = "load_module modules/ngx_http_imprest_module.so;"
check "$link -> $avail" test "$(readlink "$link")" = "$avail"
check "$ctl belongs to $ctl_pkg and runs" \
    test "$(dpkg -S "$ctl" 2>/dev/null)" = "$ctl_pkg: $ctl" -a -x "$ctl"

# the distribution's own configuration loads it (if it still includes
# modules-enabled, as Debian's nginx.conf does)
system_t() {
    "$nginx" -t -q -g "error_log $tmp/logs/system-t.log;" \
        >> "$tmp/logs/system-t.log" 2>&1
}
if grep -q '^ *include */etc/nginx/modules-enabled/\*\.conf' \
        /etc/nginx/nginx.conf 2>/dev/null; then
    check "nginx -t of /etc/nginx/nginx.conf with the module" system_t
    check "nginx -T shows the module's load file" \
        grep -q 'load_module modules/ngx_http_imprest_module.so' \
        <<< "$("$nginx" -T -q 2>/dev/null)"
else
    ok "# skip: /etc/nginx/nginx.conf does not include modules-enabled"
fi

# 4. an nginx of our own: the module comes only from modules-enabled
free_ports "${DEB_PORTS:-29980-29989}" 3
redis_port=${ports[0]} gw_port=${ports[1]} up_port=${ports[2]}
gw=http://127.0.0.1:$gw_port

cat > "$tmp/conf/nginx.conf" <<EOF
include /etc/nginx/modules-enabled/*.conf;

worker_processes  1;
error_log         $tmp/logs/error.log info;
pid               $tmp/logs/nginx.pid;

events {
    worker_connections  64;
}

http {
    access_log  $tmp/logs/access.log;

    imprest_redis  127.0.0.1:$redis_port timeout=2s;

    server {
        listen        127.0.0.1:$up_port;
        default_type  text/plain;

        location / {
            return 200 "upstream user=\$http_x_imprest_user_id org=\$http_x_organization_id scope=\$http_x_imprest_scope authorization=\$http_authorization\n";
        }
    }

    server {
        listen  127.0.0.1:$gw_port;

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
redis-cli -p "$redis_port" ping >/dev/null 2>&1 || abort "redis-server"

if ! "$nginx" -t -q -c "$tmp/conf/nginx.conf" -e stderr \
        2> "$tmp/logs/test.log"; then
    cat "$tmp/logs/test.log" >&2
    abort "nginx -t -c <gate config including modules-enabled>"
fi
ok "nginx -t -c <gate config including modules-enabled>"
"$nginx" -c "$tmp/conf/nginx.conf" -e stderr -g 'daemon off;' \
    2> "$tmp/logs/stderr.log" &
nginx_pid=$!
for i in $(seq 50); do
    curl -s -o /dev/null "$gw/health" && break
    sleep 0.1
done
curl -s -o /dev/null "$gw/health" || abort "nginx did not come up"

imprest() {
    "$ctl" --redis "127.0.0.1:$redis_port" "$@"
}
imprest user add alice --name "Alice Example" >/dev/null \
    && imprest org add $org --name "Acme Ltd" >/dev/null \
    && imprest member add alice $org >/dev/null \
    || abort "seed Redis with $ctl"
token=$(imprest --json token mint --user alice --client deb-test \
        --scope money_in --org $org \
        | sed -n 's/.*"access_token" *: *"\([^"]*\)".*/\1/p')
case $token in
    imp_at_*) ok "$ctl token mint" ;;
    *) abort "$ctl token mint gave no access token" ;;
esac

# get NAME CURL-ARGS...: status in $code, headers and body in $tmp/NAME.*
get() {
    local n=$1
    shift
    code=$(curl -s -o "$tmp/$n.body" -D "$tmp/$n.head" -w '%{http_code}' \
           "$@")
}

get ok "$gw/api/v1/invoices/42" -H "Authorization: Bearer $token" \
    -H "X-Organization-Id: $org"
check "a gated request with the minted token: 200 (got $code)" \
    test "$code" = 200
check "the upstream got the identity, not the token: $(cat "$tmp/ok.body")" \
    test "$(cat "$tmp/ok.body")" \
         = "upstream user=alice org=$org scope=money_in authorization="

get none "$gw/api/v1/invoices/42" -H "X-Organization-Id: $org"
check "no token: 401 (got $code)" test "$code" = 401
check "no token: WWW-Authenticate: Bearer" \
    grep -qi '^WWW-Authenticate: Bearer realm=' "$tmp/none.head"

imprest token revoke "$token" >/dev/null || not_ok "$ctl token revoke"
get revoked "$gw/api/v1/invoices/42" -H "Authorization: Bearer $token" \
    -H "X-Organization-Id: $org"
check "the token revoked with $ctl: 401 (got $code)" test "$code" = 401
check "revoked: error=\"invalid_token\"" \
    grep -qi '^WWW-Authenticate: Bearer .*error="invalid_token"' \
    "$tmp/revoked.head"

stop_servers
logs="$tmp/logs/error.log $tmp/logs/stderr.log $tmp/logs/test.log"
[ -f "$tmp/logs/system-t.log" ] && logs="$logs $tmp/logs/system-t.log"
check "no [alert], [crit] or [emerg] in nginx's logs" \
    "$repo/tools/check-nginx-logs.sh" $logs

# 5. remove: files gone, the module disabled (Debian's modules keep a
# dangling "$link.removed" so that a reinstall enables it again)
gone() {
    local f
    for f in "$@"; do
        if [ -e "$f" ] || [ -L "$f" ]; then
            echo "# still there: $f"
            return 1
        fi
    done
}
apt remove $mod_pkg $ctl_pkg || abort "apt-get remove"
ok "apt-get remove $mod_pkg $ctl_pkg"
check "removed: $mod_pkg not installed" test "$(state $mod_pkg)" != ii
check "removed: $ctl_pkg not installed" test "$(state $ctl_pkg)" != ii
check "removed: no module, load file, link or imprestctl" \
    gone "$so" "$avail" "$link" "$ctl"
check "removed: $link.removed marks it was enabled" test -L "$link.removed"
[ -f "$tmp/logs/system-t.log" ] && \
    check "removed: nginx -t of /etc/nginx/nginx.conf" system_t

apt install "$mod_deb" || abort "apt-get install after remove"
check "reinstalled after remove: enabled again" \
    test "$(readlink "$link")" = "$avail" -a ! -L "$link.removed"

rm "$link"
apt install --reinstall "$mod_deb" || abort "apt-get install --reinstall"
check "disabled by the admin (rm $link), reinstalled: still disabled" \
    gone "$link" "$link.removed"

# 6. purge: nothing left
apt purge $mod_pkg $ctl_pkg || abort "apt-get purge"
ok "apt-get purge $mod_pkg $ctl_pkg"
check "purged: dpkg knows neither package" \
    test -z "$(state $mod_pkg)$(state $ctl_pkg)"
check "purged: nothing left" \
    gone "$so" "$avail" "$link" "$link.removed" "$ctl" \
        /usr/share/doc/$mod_pkg /usr/share/doc/$ctl_pkg
left=$(ls /usr/lib/nginx/modules /usr/share/nginx/modules-available \
          /etc/nginx/modules-enabled /usr/bin 2>/dev/null | grep -i imprest)
check "purged: no *imprest* in the module, load file, enabled and bin dirs" \
    test -z "$left"

restore
echo "deb: $(( $(date +%s) - start )) s"
if [ $failed = 0 ]; then
    echo "deb: all passed"
else
    echo "deb: FAILED" >&2
fi
exit $failed
