# NEGATIVE self-test of t/inc/Test/Nginx/Socket.pm: truncated response body
# t/runner/selftest.sh runs it and requires it to FAIL with a TAP line
# matching every "expect-fail" regex below.
# expect-fail: ^not ok .* - bad response \(req 0\): response body truncated: Content-Length 10, got 3 bytes
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

=== TEST 1: upstream promises 10 bytes, sends 3 and closes
--- config
    location = /t { proxy_pass http://127.0.0.1:$TEST_NGINX_SPARE_PORT; }
--- request
GET /t
--- tcp_listen: $TEST_NGINX_SPARE_PORT
--- tcp_reply eval
"HTTP/1.0 200 OK\r\nContent-Length: 10\r\n\r\nabc"
--- response_body: abc
--- error_log
upstream prematurely closed connection
