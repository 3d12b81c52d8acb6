# NEGATIVE self-test of t/inc/Test/Nginx/Socket.pm: response_body_like is anchored to nothing but must match
# t/runner/selftest.sh runs it and requires it to FAIL with a TAP line
# matching every "expect-fail" regex below.
# expect-fail: ^not ok .* - response_body_like - response is expected
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

=== TEST 1: regex does not match
--- config
    location = /t { return 200 "hello world\n"; }
--- request
GET /t
--- response_body_like: ^world
