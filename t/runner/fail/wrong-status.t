# NEGATIVE self-test of t/inc/Test/Nginx/Socket.pm: wrong status code
# t/runner/selftest.sh runs it and requires it to FAIL with a TAP line
# matching every "expect-fail" regex below.
# expect-fail: ^not ok .* - status code ok
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

=== TEST 1: 200 expected to be 404
--- config
    location = /t { return 200 "ok\n"; }
--- request
GET /t
--- error_code: 404
--- response_body
ok
