# NEGATIVE self-test of t/inc/Test/Nginx/Socket.pm: eval section that does not compile
# t/runner/selftest.sh runs it and requires it to FAIL with a TAP line
# matching every "expect-fail" regex below.
# expect-fail: ^not ok .* - --- response_body eval failed
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

=== TEST 1: syntax error in response_body eval
--- config
    location = /t { return 200 "ok\n"; }
--- request
GET /t
--- response_body eval
"ok\n" . ( ;
