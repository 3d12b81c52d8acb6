# NEGATIVE self-test of t/inc/Test/Nginx/Socket.pm: startup failure is a failure
# t/runner/selftest.sh runs it and requires it to FAIL with a TAP line
# matching every "expect-fail" regex below.
# expect-fail: ^not ok .* - nginx exited during startup \(exit code 1\)
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

=== TEST 1: invalid configuration without must_die
--- config
    location = /t { return a b c; }
--- request
GET /t
