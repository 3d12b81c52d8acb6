# NEGATIVE self-test of t/inc/Test/Nginx/Socket.pm: connection closed without a response
# t/runner/selftest.sh runs it and requires it to FAIL with a TAP line
# matching every "expect-fail" regex below.
# expect-fail: ^not ok .* - bad response \(req 0\): no response received
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

=== TEST 1: return 444 closes the connection; expectations match ''
--- config
    location = /t { return 444; }
--- request
GET /t
--- error_code:
--- response_body:
