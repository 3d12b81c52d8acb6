# Self-test of t/inc/Test/Nginx/Socket.pm: the embedded TCP server
# (tcp_listen), timeouts with abort, repeat_each.
# Run through t/runner/selftest.sh (skipped otherwise).
BEGIN {
    unless ($ENV{TEST_NGINX_SELFTEST}) {
        print "1..0 # SKIP runner self-test; run t/runner/selftest.sh\n";
        exit 0;
    }
}
use Test::Nginx::Socket 'no_plan';

repeat_each(2);
no_shuffle();
run_tests();

__DATA__

=== TEST 1: proxy to the fake upstream; query and reply checked
--- config
    location = /t {
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT/up;
    }
--- request
GET /t
--- tcp_listen: $TEST_NGINX_UPSTREAM_PORT
--- tcp_query eval
"GET /up HTTP/1.0\r\nHost: 127.0.0.1:$ENV{TEST_NGINX_UPSTREAM_PORT}\r\nConnection: close\r\n\r\n"
--- tcp_reply eval
"HTTP/1.0 200 OK\r\nX-Up: yes\r\n\r\nfrom upstream\n"
--- response_headers
X-Up: yes
--- response_body
from upstream
--- no_error_log
[error]



=== TEST 2: reply in pieces after a delay; tcp_query_len
--- config
    location = /t {
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- request
GET /t
--- tcp_listen: $TEST_NGINX_UPSTREAM_PORT
--- tcp_query_len: 61
--- tcp_reply_delay: 100ms
--- tcp_reply eval
["HTTP/1.0 200 OK\r\nContent-Le", "ngth: 6\r\n\r\n", "pie", "ces"]
--- response_body chomp
pieces
--- no_error_log
[error]



=== TEST 3: tcp_no_close: a complete reply without closing the connection
--- config
    location = /t {
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- request
GET /t
--- tcp_listen: $TEST_NGINX_UPSTREAM_PORT
--- tcp_no_close
--- tcp_reply eval
"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n"
--- response_body
ok
--- no_error_log
[error]



=== TEST 4: client gone while the upstream reply is pending (abort)
--- config
    location = /t {
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- request
GET /t
--- tcp_listen: $TEST_NGINX_UPSTREAM_PORT
--- tcp_reply_delay: 600ms
--- tcp_reply eval
"HTTP/1.0 200 OK\r\n\r\nlate\n"
--- timeout: 200ms
--- abort
--- ignore_response
--- wait: 0.6
--- error_log
client prematurely closed connection
--- no_error_log
[error]



=== TEST 5: upstream timeout answered with 504
--- config
    location = /t {
        proxy_read_timeout 100ms;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- request
GET /t
--- tcp_listen: $TEST_NGINX_UPSTREAM_PORT
--- tcp_no_close
--- tcp_reply:
--- error_code: 504
--- response_body_like: 504 Gateway Time-out
--- error_log
upstream timed out (110: Connection timed out) while reading response header from upstream



=== TEST 6: tcp_listen on a unix domain socket
--- config
    location = /t {
        proxy_pass http://unix:/tmp/tn-selftest-$TEST_NGINX_UPSTREAM_PORT.sock:/u;
    }
--- request
GET /t
--- tcp_listen: /tmp/tn-selftest-$TEST_NGINX_UPSTREAM_PORT.sock
--- tcp_query_len: 55
--- tcp_reply eval
sub { my $q = shift; "HTTP/1.0 200 OK\r\n\r\n" . ($q =~ m{^GET /u } ? "unix ok\n" : "bad query: $q") }
--- response_body
unix ok
--- no_error_log
[error]
