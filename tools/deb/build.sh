#!/bin/bash
# tools/deb/build.sh (make deb): builds the Debian packages
#   build/libnginx-mod-http-imprest_<VERSION>_<arch>.deb   the module
#   build/imprestctl_<VERSION>_<arch>.deb                  the admin CLI
# with dpkg-buildpackage and the debian/ directory of tools/deb/, the way
# Debian packages its nginx modules (debhelper and nginx-dev's "nginx"
# addon, see tools/deb/debian/rules).
#
# The version is the one line of VERSION at the top of the repository
# (a native package: no Debian revision).  The package is built from a
# copy of the module's sources in build/deb/, so dpkg-buildpackage's
# outputs (.buildinfo, .changes, -dbgsym packages) stay in build/deb/.
# Missing build dependencies (dpkg-dev, debhelper, nginx-dev, ...: the
# Build-Depends of tools/deb/debian/control) are installed with apt-get
# when run as root.
set -eu

repo=$(cd "$(dirname "$0")/../.." && pwd)
out=$repo/build
work=$out/deb
abi_file=/usr/share/nginx/src/debian/libnginx-mod.abisubstvars

die() {
    echo "deb: $*" >&2
    exit 1
}

installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "ok installed"
}

apt_install() {
    [ "$(id -u)" = 0 ] || die "missing build dependencies (run as root): $*"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

version=$(tr -d ' \t\n' < "$repo/VERSION")
# a native Debian version: no '-', starts with a digit
echo "$version" | grep -Eq '^[0-9][A-Za-z0-9.+~]*$' \
    || die "VERSION '$version' is not a native Debian version"

# dpkg-dev first: it is what reads the Build-Depends
installed dpkg-dev || { echo "deb: installing dpkg-dev"; apt_install dpkg-dev; }

# the source tree dpkg-buildpackage sees: the module, imprestctl (through
# the project's Makefile), the docs, and debian/
src=$work/libnginx-mod-http-imprest-$version
rm -rf "$work"
mkdir -p "$src"
(cd "$repo" && cp -a --parents Makefile VERSION config \
    ngx_http_imprest_module.c src tools/imprestctl README.md conf-examples \
    "$src/")
cp -a "$repo/tools/deb/debian" "$src/debian"

# debian/changelog from VERSION, dated by the last commit (so that
# SOURCE_DATE_EPOCH, and with it every file date in the package, does not
# change between two builds of one commit) and naming that commit
if commit=$(git -C "$repo" describe --always --dirty 2>/dev/null); then
    when=$(git -C "$repo" log -1 --format=%ct)
else
    commit=unknown
    when=$(date +%s)
fi
maint=$(sed -n 's/^Maintainer: //p' "$src/debian/control")
cat > "$src/debian/changelog" <<EOF
libnginx-mod-http-imprest ($version) unstable; urgency=medium

  * Built from $commit.

 -- $maint  $(date -R -u -d "@$when")
EOF

if ! (cd "$src" && dpkg-checkbuilddeps >/dev/null 2>&1); then
    [ "$(id -u)" = 0 ] || (cd "$src" && dpkg-checkbuilddeps) \
        || die "missing build dependencies (run as root)"
    echo "deb: installing the build dependencies"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get build-dep -y -qq "$src" >/dev/null
    # the nginx package starts a system nginx; this project never uses it
    if command -v systemctl >/dev/null 2>&1; then
        systemctl stop nginx >/dev/null 2>&1 || true
    fi
fi

# dh_nginx takes the nginx-abi-* dependency from nginx-dev's tree (the
# headers the module is compiled against); dh_auto_test loads the module
# into the installed nginx.  Both must be the same nginx: say so plainly
# rather than let nginx -t fail with "not binary compatible".
abi=$(sed -n 's/^nginx:abi=//p' "$abi_file")
[ -n "$abi" ] || die "no nginx:abi in $abi_file"
provides=$(dpkg-query -W -f='${Provides}' nginx 2>/dev/null || true)
case ", $provides," in
    *", $abi,"*) ;;
    *) die "nginx-dev is for $abi but the installed nginx provides" \
           "'$provides': install matching nginx and nginx-dev versions" ;;
esac

echo "deb: building $version for $abi in $work"
if ! (cd "$src" && dpkg-buildpackage -b -us -uc -j"$(nproc)") \
        > "$work/build.log" 2>&1; then
    tail -40 "$work/build.log"
    die "dpkg-buildpackage failed (all of it in $work/build.log)"
fi

arch=$(dpkg --print-architecture)
for p in libnginx-mod-http-imprest imprestctl; do
    deb=${p}_${version}_$arch.deb
    [ -f "$work/$deb" ] || die "$work/$deb was not built"
    cp "$work/$deb" "$out/$deb"
    echo "deb: build/$deb"
done
