# NEGATIVE self-test of t/inc/Test/Nginx/Socket.pm: request times out without --- abort
# t/runner/selftest.sh runs it and requires it to FAIL with a TAP line
# matching every "expect-fail" regex below.
# expect-fail: ^not ok .* - ERROR: client socket timed out
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

=== TEST 1: upstream answers after the client timeout
--- config
    location = /t { proxy_pass http://127.0.0.1:$TEST_NGINX_SPARE_PORT; }
--- request
GET /t
--- tcp_listen: $TEST_NGINX_SPARE_PORT
--- tcp_reply_delay: 1s
--- tcp_reply eval
"HTTP/1.0 200 OK\r\n\r\nlate\n"
--- timeout: 300ms
--- error_code:
--- response_body:
