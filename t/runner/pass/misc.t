# Self-test of t/inc/Test/Nginx/Socket.pm: must_die, config reuse,
# environment expansion, skips, request syntax details.
# Run through t/runner/selftest.sh (skipped otherwise).
BEGIN {
    unless ($ENV{TEST_NGINX_SELFTEST}) {
        print "1..0 # SKIP runner self-test; run t/runner/selftest.sh\n";
        exit 0;
    }
}
use Test::Nginx::Socket 'no_plan';

$ENV{TEST_NGINX_GREETING} = 'hi there';

no_shuffle();
run_tests();

__DATA__

=== TEST 1: must_die with the configuration error in error.log
--- config
    location = /t {
        return a b c;
    }
--- request
GET /t
--- must_die
--- error_log
invalid number of arguments in "return" directive



=== TEST 2: $TEST_NGINX_* expanded in config, not in a plain request (as the original)
--- config
    location = /t {
        return 200 "$TEST_NGINX_GREETING $arg_who $http_x_port\n";
    }
--- request
GET /t?who=$TEST_NGINX_SERVER_PORT
--- more_headers
X-Port: $TEST_NGINX_SERVER_PORT
--- response_body_like
^hi there \$TEST_NGINX_SERVER_PORT \$TEST_NGINX_SERVER_PORT$



=== TEST 3: a block without --- config reuses the previous one
--- request
# comment lines before the request line are allowed
GET /t?who=again HTTP/1.0
--- more_headers
X-Port: ok
--- response_body
hi there again ok



=== TEST 4: skipped by skip_eval
--- skip_eval: 3: 1
--- config
    location = /t { return 500; }
--- request
GET /t
--- response_body
never



=== TEST 5: chunked request body
--- config
    location = /t {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/echo;
    }
    location = /echo {
        return 200 "len=$http_content_length\n";
    }
--- more_headers
Transfer-Encoding: chunked
--- request eval
"POST /t
5\r
hello\r
0\r
\r
"
--- response_body
len=5



=== TEST 6: request body is trimmed and counted
--- config
    location = /t {
        client_body_buffer_size 1k;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/echo;
    }
    location = /echo {
        return 200 "$http_content_length\n";
    }
--- request
PUT /t
  abc
--- response_body
3



=== TEST 7: 304 and HEAD responses carry no body
--- config
    location = /t {
        add_header Last-Modified "Mon, 01 Jan 2024 00:00:00 GMT";
        return 304;
    }
--- request
GET /t
--- error_code: 304
--- response_body:



=== TEST 8: eval'd more_headers array, one per request
--- config
    location = /t { return 200 "$http_x_n\n"; }
--- more_headers eval
["X-N: 1", "X-N: 2"]
--- request eval
["GET /t", "GET /t"]
--- response_body eval
["1\n", "2\n"]



=== TEST 9: status line and body of an HTTP/1.0 request to a 404
--- config
--- request
GET /missing HTTP/1.0
--- error_code: 404
--- raw_response_headers_like: ^HTTP/1\.1 404 Not Found\r\n
--- error_log eval
qr{\[error\] .*open\(\) ".*/missing" failed}
