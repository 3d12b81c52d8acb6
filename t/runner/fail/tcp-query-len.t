# NEGATIVE self-test of t/inc/Test/Nginx/Socket.pm: tcp_query_len mismatch
# t/runner/selftest.sh runs it and requires it to FAIL with a TAP line
# matching every "expect-fail" regex below.
# expect-fail: ^not ok .* - TCP query length ok
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

=== TEST 1: the proxied request is longer than 10 bytes
--- config
    location = /t { proxy_pass http://127.0.0.1:$TEST_NGINX_SPARE_PORT; }
--- request
GET /t
--- tcp_listen: $TEST_NGINX_SPARE_PORT
--- tcp_query_len: 10
--- tcp_reply eval
"HTTP/1.0 200 OK\r\n\r\nok\n"
--- response_body
ok
