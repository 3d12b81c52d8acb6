# NEGATIVE self-test of t/lib/Imprest/Test/Logs.pm, which every file of the
# suite loads (through Imprest::Test): a [crit] line fails a block that does
# not expect one, under our runner and OpenResty's alike (their own checks
# pass it).
# t/runner/selftest.sh runs it and requires it to FAIL with a TAP line
# matching every "expect-fail" regex below.
# expect-fail: ^not ok .* - pattern "[^"]*crit[^"]*" should not match any line in error\.log but matches line ".*\[crit\].*connect\(\) to unix:
BEGIN {
    unless ($ENV{TEST_NGINX_SELFTEST}) {
        print "1..0 # SKIP runner self-test; run t/runner/selftest.sh\n";
        exit 0;
    }
}
use Test::Nginx::Socket 'no_plan';
use lib 't/lib';
use Imprest::Test::Logs;

no_shuffle();
run_tests();

__DATA__

=== TEST 1: an upstream socket that does not exist: nginx logs [crit]
--- config
    location = /t { proxy_pass http://unix:/nonexistent/tn-selftest.sock:/; }
--- request
GET /t
--- error_code: 502
