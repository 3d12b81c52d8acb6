# NEGATIVE self-test of t/inc/Test/Nginx/Socket.pm: a sanitizer report in error.log fails the block
# t/runner/selftest.sh runs it and requires it to FAIL with a TAP line
# matching every "expect-fail" regex below.
# expect-fail: ^not ok .* - no \[alert\], \[emerg\], crash or sanitizer report in the logs
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

=== TEST 1: the 404 line names the file, and the file name looks like a report
--- config
--- request
GET /LeakSanitizer-report.html
--- error_code: 404
