#!/bin/sh
# Installs the Debian packages the build, the tests, the demo and the
# benchmark need, only when one is missing.  Run as root on Debian 12.
set -e

pkgs="nginx nginx-dev libhiredis-dev libjansson-dev libssl-dev redis-server
gcc make perl libtest-base-perl libipc-run-perl libtext-diff-perl
libwww-perl liblist-moreutils-perl libtest-longstring-perl curl wrk
python3 python3-requests-oauthlib python3-authlib openssl chromium chromium-driver
python3-selenium clang prometheus python3-h2 redis-sentinel"
[ -n "$IMPREST_EXTRA_PKGS" ] && pkgs="$pkgs $IMPREST_EXTRA_PKGS"

missing=""
for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" \
        || missing="$missing $p"
done

[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
    echo "install-deps: missing packages:$missing (run as root)" >&2
    exit 1
fi

echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends $missing >/dev/null
# The nginx package starts a system nginx on port 80 (prometheus: 9090);
# the project never uses them, and they must not hold ports tests pick.
if command -v systemctl >/dev/null 2>&1; then
    systemctl stop nginx redis-server prometheus redis-sentinel >/dev/null 2>&1 || true
fi
