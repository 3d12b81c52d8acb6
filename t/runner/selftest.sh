#!/bin/sh
# Self-test of our Test::Nginx::Socket work-alike (t/inc) against a plain
# nginx: every t/runner/pass/*.t must pass, and every t/runner/fail/*.t must
# FAIL with TAP lines matching each of its "# expect-fail: REGEX" comments,
# so a runner that cannot fail is caught too.  With valgrind and an nginx
# that has symbols (make valgrind's build), t/runner/valgrind/ too: pass*.t
# must pass under TEST_NGINX_USE_VALGRIND=1, fail*.t must fail likewise.
#
#   t/runner/selftest.sh            (from anywhere; exits 0 when all is well)
#
# Environment: TEST_NGINX_BINARY (default /usr/sbin/nginx),
# TEST_NGINX_SERVER_PORT (default: the first free one of 19844-19849),
# and the fake upstreams' ports (tcp_listen) TEST_NGINX_UPSTREAM_PORT,
# TEST_NGINX_FAKE_PORT, TEST_NGINX_SPARE_PORT (default 19851-19853), so
# tools/run-tests.sh runs it on the suite's ports.

set -u
cd "$(dirname "$0")/../.." || exit 2

# the valgrind cases below set it themselves
unset TEST_NGINX_USE_VALGRIND
export TEST_NGINX_SELFTEST=1
export TEST_NGINX_BINARY="${TEST_NGINX_BINARY:-/usr/sbin/nginx}"
if [ -z "${TEST_NGINX_SERVER_PORT:-}" ]; then
    # Others test on this machine too: take the first free port of 19844-9
    # (tools/run-tests.sh uses 19840-19843).
    TEST_NGINX_SERVER_PORT=$(perl -I t/inc -MTest::Nginx::Local::Server -e '
        for (19844 .. 19849) {
            next if Test::Nginx::Local::Server::port_in_use($_);
            print; exit;
        }')
    [ -n "$TEST_NGINX_SERVER_PORT" ] || { echo "selftest: no free port"; exit 2; }
fi
export TEST_NGINX_SERVER_PORT
export TEST_NGINX_UPSTREAM_PORT="${TEST_NGINX_UPSTREAM_PORT:-19851}"
export TEST_NGINX_FAKE_PORT="${TEST_NGINX_FAKE_PORT:-19852}"
export TEST_NGINX_SPARE_PORT="${TEST_NGINX_SPARE_PORT:-19853}"
tmp=$(mktemp -d /tmp/tn-selftest.XXXXXX) || exit 2
trap 'rm -rf "$tmp"' EXIT INT TERM
export TEST_NGINX_SERVROOT="$tmp/servroot"

status=0

# The module under test must be ours, not an installed one.
where=$(perl -I t/inc -MTest::Nginx::Socket -e 'print $INC{"Test/Nginx/Socket.pm"}')
case "$where" in
    t/inc/*) ;;
    *) echo "selftest: Test::Nginx::Socket loads from $where, not t/inc"; exit 1 ;;
esac

echo "== positive self-tests (must pass)"
if ! prove -I t/inc t/runner/pass/; then
    echo "selftest: FAILED: a positive self-test failed"
    status=1
fi

expect_fail() {  # FILE: it must fail, with TAP lines as it says
    t=$1
    out=$(prove -I t/inc -v "$t" 2>&1)
    rc=$?
    if [ "$rc" -eq 0 ]; then
        echo "FAILED  $t passed but must fail"
        status=1
        return
    fi
    missing=''
    while IFS= read -r re; do
        printf '%s\n' "$out" | grep -Eq -- "$re" || missing="$missing
    no TAP line matches: $re"
    done <<EOF
$(sed -n 's/^# expect-fail: //p' "$t")
EOF
    if [ -z "$(sed -n 's/^# expect-fail: //p' "$t")" ]; then
        missing="
    the file has no '# expect-fail:' line"
    fi
    if [ -n "$missing" ]; then
        echo "FAILED  $t failed, but not as expected:$missing"
        printf '%s\n' "$out" | sed 's/^/    | /' | head -40
        status=1
    else
        echo "ok      $t fails as expected"
    fi
}

echo "== negative self-tests (must fail, for the stated reason)"
for t in t/runner/fail/*.t; do
    expect_fail "$t"
done

# valgrind reports name nginx's frames only when the binary has symbols,
# and the suppressions (./valgrind.suppress) match those names.
echo "== valgrind mode (TEST_NGINX_USE_VALGRIND)"
if ! command -v valgrind >/dev/null 2>&1; then
    echo "skipped: no valgrind in PATH (make valgrind installs it)"
elif ! nm "$TEST_NGINX_BINARY" 2>/dev/null | grep -q ' T ngx_alloc$'; then
    echo "skipped: $TEST_NGINX_BINARY has no symbols (make valgrind's has)"
elif nm "$TEST_NGINX_BINARY" 2>/dev/null | grep -q ' __asan_init$'; then
    # make asan's build: AddressSanitizer and memcheck cannot share a process
    echo "skipped: $TEST_NGINX_BINARY is built with AddressSanitizer"
else
    if ! prove -I t/inc t/runner/valgrind/pass*.t; then
        echo "selftest: FAILED: a valgrind self-test failed"
        status=1
    fi
    for t in t/runner/valgrind/fail*.t; do
        expect_fail "$t"
    done
fi

if [ "$status" -eq 0 ]; then
    echo "selftest: OK"
else
    echo "selftest: FAILED"
fi
exit "$status"
