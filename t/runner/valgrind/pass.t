# Self-test of t/inc/Test/Nginx/Socket.pm's valgrind mode: a plain nginx
# under TEST_NGINX_USE_VALGRIND=1 (the original's memcheck options and
# ./valgrind.suppress) passes, with a "no valgrind report" check per block:
# the suppressions cover nginx's own exit-time losses, and the scaled
# timeouts leave room for memcheck's start.  Run by t/runner/selftest.sh
# when valgrind and an nginx with symbols are there (skipped otherwise).
BEGIN {
    unless ($ENV{TEST_NGINX_SELFTEST}) {
        print "1..0 # SKIP runner self-test; run t/runner/selftest.sh\n";
        exit 0;
    }
    $ENV{TEST_NGINX_USE_VALGRIND} = 1;
}
use Test::Nginx::Socket 'no_plan';

no_shuffle();
run_tests();

__DATA__

=== TEST 1: a request, an error page, a proxied one under memcheck
--- http_config
    server {
        listen 127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
        location / { return 200 "up\n"; }
    }
--- config
    location = /t { return 200 "hi\n"; }
    location = /p { proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT/; }
--- request eval
["GET /t", "GET /nope", "GET /p"]
--- error_code eval
[200, 404, 200]
--- response_body_like eval
["^hi\n\\z", "404 Not Found", "^up\n\\z"]



=== TEST 2: skip_eval sees $UseValgrind in Test::Nginx::Util, as in the original
--- skip_eval: 1: $UseValgrind
--- config
    location = /t { return 500; }
--- request
GET /t



=== TEST 3: valgrind_todo: the block's own checks are TODO under valgrind
--- valgrind_todo: this self-test's expectation is wrong on purpose
--- config
    location = /t { return 404; }
--- request
GET /t
--- error_code: 200
