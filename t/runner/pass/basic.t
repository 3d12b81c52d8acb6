# Self-test of t/inc/Test/Nginx/Socket.pm: basic requests and checks.
# Run through t/runner/selftest.sh (skipped otherwise).
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

=== TEST 1: return with body, status and headers
--- config
    location = /t {
        add_header X-Foo bar;
        return 200 "hello\n";
    }
--- request
GET /t
--- response_body
hello
--- response_headers
X-Foo: bar
x-foo: bar
Content-Type: text/plain
!X-Absent
--- response_headers_like
Server: nginx/[\d.]+
--- no_error_log
[error]



=== TEST 2: error_code and response_body_like
--- config
    location = /t {
        return 403 "denied, go away";
    }
--- request
GET /t
--- error_code: 403
--- response_body_like: ^denied, \w+ away$
--- response_body_unlike: allowed



=== TEST 3: POST body with Content-Length, echoed through proxy_pass
--- config
    location = /t {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/echo;
    }
    location = /echo {
        return 200 "len=$http_content_length uri=$uri\n";
    }
--- request
POST /t
hello world
--- response_body
len=11 uri=/echo
--- no_error_log
[error]
[warn]



=== TEST 4: error_log from a missing file, no_error_log eval
--- config
--- request
GET /nope.html
--- error_code: 404
--- error_log
open()
/nope.html" failed (2: No such file or directory)
--- no_error_log eval
[qr/\[alert\]/, "[crit]"]



=== TEST 5: several requests on separate connections
--- config
    location /a { return 200 "a\n"; }
    location /b { return 201 "b\n"; }
--- request eval
["GET /a", "GET /b"]
--- error_code eval
[200, 201]
--- response_body eval
["a\n", "b\n"]



=== TEST 6: pipelined requests on one connection
--- config
    location /a { return 200 "a\n"; }
    location /b { return 404; }
--- pipelined_requests eval
["GET /a", "GET /b", "HEAD /a"]
--- error_code eval
[200, 404, 200]
--- response_body_like eval
["^a\n\$", "404 Not Found", "^\$"]



=== TEST 7: raw_request, HTTP/1.0
--- config
    location = /t { return 200 "raw\n"; }
--- raw_request eval
"GET /t HTTP/1.0\r\nHost: localhost\r\n\r\n"
--- response_body
raw
--- response_headers
Connection: close



=== TEST 8: more_headers reach the server
--- config
    location = /t { return 200 "foo=$http_x_foo host=$host\n"; }
--- more_headers
X-Foo: bar baz
Host: example.com
--- request
GET /t
--- response_body
foo=bar baz host=example.com



=== TEST 9: user_files served from html/
--- config
    location /static/ { alias html/; }
--- user_files
>>> hello.txt
Hello, file!
--- request
GET /static/hello.txt
--- response_body
Hello, file!



=== TEST 10: chunked response (proxied, HTTP/1.1 upstream without length)
--- config
    location = /t {
        proxy_http_version 1.1;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/u;
    }
    location = /u {
        chunked_transfer_encoding on;
        ssi on;
        ssi_types text/plain;
        return 200 "chunky\n";
    }
--- request
GET /t
--- response_headers
Transfer-Encoding: chunked
--- response_body
chunky



=== TEST 11: grep_error_log
--- config
    location = /t {
        return 404;
    }
--- log_level: info
--- request
GET /t
--- error_code: 404
--- grep_error_log eval
qr/\[info\]/
--- grep_error_log_out
--- no_error_log
[error]



=== TEST 12: init section runs before the requests
--- init
open my $fh, '>', html_dir() . '/from-init.txt' or die "open: $!";
print $fh "written by init\n";
close $fh;
--- config
--- request
GET /from-init.txt
--- response_body
written by init



=== TEST 13: init runs as in OpenResty's runner: in Test::Nginx::Util, strict, nginx up
--- init
my $strict = eval q{$declared_nowhere = 1; 1} ? 'off' : 'on';
my $up = IO::Socket::INET->new(PeerAddr => '127.0.0.1:' . server_port())
         ? 'listening' : "down ($!)";
open my $fh, '>', html_dir() . '/init.txt' or die "open: $!";
print $fh 'package=' . __PACKAGE__ . " strict=$strict nginx=$up\n";
close $fh;
--- config
    location = /init.txt { root html; }
--- request
GET /init.txt
--- response_body
package=Test::Nginx::Util strict=on nginx=listening



=== TEST 14: post_setup_server_root runs as in OpenResty's runner: in Test::Nginx::Util, before nginx starts
--- post_setup_server_root
my $up = IO::Socket::INET->new(PeerAddr => '127.0.0.1:' . server_port())
         ? 'listening' : 'not listening';
open my $fh, '>', html_dir() . '/setup.txt' or die "open: $!";
print $fh 'package=' . __PACKAGE__ . " nginx=$up\n";
close $fh;
--- config
    location = /setup.txt { root html; }
--- request
GET /setup.txt
--- response_body
package=Test::Nginx::Util nginx=not listening
