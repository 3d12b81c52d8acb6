#!/bin/bash
# Runs the Test::Nginx suite against a private redis-server that this
# script starts and stops, after the runner's self-test (t/runner/) when no
# files are named.  Called by `make test` (after the build), and by
# `make asan` and `make valgrind` with TEST_NGINX_BINARY /
# TEST_NGINX_LOAD_MODULES overridden (and TEST_NGINX_USE_VALGRIND set).
set -u

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

export TEST_NGINX_BINARY=${TEST_NGINX_BINARY:-/usr/sbin/nginx}
export TEST_NGINX_LOAD_MODULES=${TEST_NGINX_LOAD_MODULES:-$repo/build/nginx-dev/objs/ngx_http_imprest_module.so}
export TEST_NGINX_SERVER_PORT=${TEST_NGINX_SERVER_PORT:-19840}
export TEST_NGINX_REDIS_PORT=${TEST_NGINX_REDIS_PORT:-19879}
export TEST_NGINX_UPSTREAM_PORT=${TEST_NGINX_UPSTREAM_PORT:-19841}
export TEST_NGINX_FAKE_PORT=${TEST_NGINX_FAKE_PORT:-19842}
export TEST_NGINX_SPARE_PORT=${TEST_NGINX_SPARE_PORT:-19843}
export IMPREST_CTL=${IMPREST_CTL:-$repo/build/imprestctl}
export IMPREST_TEST_TMP=$(mktemp -d /tmp/imprest-test.XXXXXX)
export TEST_NGINX_REDIS_SOCKET=$IMPREST_TEST_TMP/redis.sock
export IMPREST_REDIS=127.0.0.1:$TEST_NGINX_REDIS_PORT

redis_pid=
cleanup() {
    [ -n "$redis_pid" ] && kill "$redis_pid" 2>/dev/null && wait "$redis_pid" 2>/dev/null
    rm -rf "$IMPREST_TEST_TMP"
}
trap cleanup EXIT INT TERM

# the suite's Redis: no persistence, debug commands allowed for fault tests
redis-server --port "$TEST_NGINX_REDIS_PORT" --bind 127.0.0.1 \
    --unixsocket "$TEST_NGINX_REDIS_SOCKET" --unixsocketperm 700 \
    --save '' --appendonly no --enable-debug-command local \
    --dir "$IMPREST_TEST_TMP" --logfile "$IMPREST_TEST_TMP/redis.log" &
redis_pid=$!

for i in $(seq 50); do
    redis-cli -p "$TEST_NGINX_REDIS_PORT" ping >/dev/null 2>&1 && break
    sleep 0.1
done

# A whole run (no files named) first proves our Test::Nginx::Socket
# (t/inc) can fail, on the suite's ports, against nginx without the module
# (and without valgrind: the self-test runs its valgrind cases itself).
selftest=0
if [ $# -eq 0 ]; then
    env -u TEST_NGINX_LOAD_MODULES -u TEST_NGINX_USE_VALGRIND \
        t/runner/selftest.sh || selftest=1
fi

inc="-I t/lib"
# Our own Test::Nginx::Socket only when the real one is not installed
# (PERL5LIB=/path/to/test-nginx/lib runs the suite under OpenResty's).
perl -MTest::Nginx::Socket -e1 >/dev/null 2>&1 || inc="$inc -I t/inc"

prove $inc ${PROVE_FLAGS:-} "${@:-t/}"
rc=$?
if [ "$selftest" -ne 0 ]; then
    echo "run-tests: t/runner/selftest.sh FAILED" >&2
    exit 1
fi
exit $rc
