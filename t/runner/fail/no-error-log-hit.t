# NEGATIVE self-test of t/inc/Test/Nginx/Socket.pm: no_error_log pattern that does appear
# t/runner/selftest.sh runs it and requires it to FAIL with a TAP line
# matching every "expect-fail" regex below.
# expect-fail: ^not ok .* - pattern \"\[error\]\" should not match any line in error.log
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

=== TEST 1: a missing file logs [error]
--- config
--- request
GET /missing.html
--- error_code: 404
--- no_error_log
[error]
