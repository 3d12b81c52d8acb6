# NEGATIVE self-test of t/inc/Test/Nginx/Socket.pm: must_die when nginx starts fine
# t/runner/selftest.sh runs it and requires it to FAIL with a TAP line
# matching every "expect-fail" regex below.
# expect-fail: ^not ok .* - nginx must die but it does not
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

=== TEST 1: valid configuration with must_die
--- config
    location = /t { return 200; }
--- request
GET /t
--- must_die
