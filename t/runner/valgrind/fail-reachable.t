# NEGATIVE self-test of the valgrind mode: any report valgrind prints
# fails the block.  Asked to list still-reachable blocks too (options in
# TEST_NGINX_USE_VALGRIND, as the original takes them), memcheck reports
# the configuration nginx keeps until exit, and the block must fail, even
# with --- valgrind_todo (that makes only the block's own checks TODO).
# t/runner/selftest.sh runs it and requires it to FAIL with a TAP line
# matching every "expect-fail" regex below.
# expect-fail: ^not ok .* - no valgrind report
# expect-fail: valgrind report\(s\)
# expect-fail: still reachable in loss record
BEGIN {
    unless ($ENV{TEST_NGINX_SELFTEST}) {
        print "1..0 # SKIP runner self-test; run t/runner/selftest.sh\n";
        exit 0;
    }
    $ENV{TEST_NGINX_USE_VALGRIND} =
        '--leak-check=full --show-leak-kinds=reachable --errors-for-leak-kinds=reachable';
}
use Test::Nginx::Socket 'no_plan';

no_shuffle();
run_tests();

__DATA__

=== TEST 1: the response is right; the report alone fails it
--- valgrind_todo: a TODO block still fails on a valgrind report
--- config
    location = /t { return 200 "hi\n"; }
--- request
GET /t
--- response_body
hi
