# NEGATIVE self-test of t/inc/Test/Nginx/Socket.pm: --- init is compiled
# under strict, as in OpenResty's runner (its Test::Nginx::Util has
# `use strict`), so an undeclared variable is an error there too.
# t/runner/selftest.sh runs it and requires it to FAIL with a TAP line
# matching every "expect-fail" regex below.
# expect-fail: ^Bailout called\.  Further testing stopped: .* - init failed: Global symbol "\$undeclared" requires explicit package name
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

=== TEST 1: init assigns an undeclared variable
--- init
$undeclared = 1;
--- config
    location = /t { return 200 "ok\n"; }
--- request
GET /t
--- response_body
ok
