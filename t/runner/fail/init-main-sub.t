# NEGATIVE self-test of t/inc/Test/Nginx/Socket.pm: --- init does not run
# in package main (OpenResty's runner evaluates it in Test::Nginx::Util),
# so a sub of the test file is not seen there, and an init that dies ends
# the whole run, as there.
# t/runner/selftest.sh runs it and requires it to FAIL with a TAP line
# matching every "expect-fail" regex below.
# expect-fail: ^Bailout called\.  Further testing stopped: .*TEST 1: .* - init failed: Undefined subroutine &Test::Nginx::Util::file_helper called
# expect-fail: ^Files=1, Tests=0,
BEGIN {
    unless ($ENV{TEST_NGINX_SELFTEST}) {
        print "1..0 # SKIP runner self-test; run t/runner/selftest.sh\n";
        exit 0;
    }
}
use Test::Nginx::Socket 'no_plan';

sub file_helper { return 1 }

no_shuffle();
run_tests();

__DATA__

=== TEST 1: init calls a sub of the test file, unqualified
--- init
file_helper();
--- config
    location = /t { return 200 "ok\n"; }
--- request
GET /t
--- response_body
ok



=== TEST 2: never runs: the run was bailed out
--- config
    location = /t { return 200 "ok\n"; }
--- request
GET /t
--- response_body
ok
