# NEGATIVE self-test of t/inc/Test/Nginx/Socket.pm: unset $TEST_NGINX_ variable
# t/runner/selftest.sh runs it and requires it to FAIL with a TAP line
# matching every "expect-fail" regex below.
# expect-fail: ^not ok .* - --- config: environment variable\(s\) not set: TEST_NGINX_NOT_SET_ANYWHERE
BEGIN {
    unless ($ENV{TEST_NGINX_SELFTEST}) {
        print "1..0 # SKIP runner self-test; run t/runner/selftest.sh\n";
        exit 0;
    }
}
use Test::Nginx::Socket 'no_plan';

no_shuffle();
run_tests();

__DATA__

=== TEST 1: config refers to an unset variable
--- config
    location = /t { return 200 "$TEST_NGINX_NOT_SET_ANYWHERE"; }
--- request
GET /t
