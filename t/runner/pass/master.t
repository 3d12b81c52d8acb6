# Self-test of t/inc/Test/Nginx/Socket.pm: master process with two
# workers, and a fixed plan (extra checks must not change the count).
# Run through t/runner/selftest.sh (skipped otherwise).
BEGIN {
    unless ($ENV{TEST_NGINX_SELFTEST}) {
        print "1..0 # SKIP runner self-test; run t/runner/selftest.sh\n";
        exit 0;
    }
}
use Test::Nginx::Socket;

master_on();
workers(2);
log_level('info');

plan tests => repeat_each() * 3 * blocks();

no_shuffle();
run_tests();

__DATA__

=== TEST 1: served by a worker of a master
--- config
    location = /t { return 200 "pid ok\n"; }
--- request
GET /t
--- response_body
pid ok
--- no_error_log
[debug]



=== TEST 2: proxied through the fake upstream
--- config
    location = /t { proxy_pass http://127.0.0.1:$TEST_NGINX_FAKE_PORT; }
--- request
GET /t
--- tcp_listen: $TEST_NGINX_FAKE_PORT
--- tcp_reply eval
"HTTP/1.0 200 OK\r\n\r\nvia worker\n"
--- response_body
via worker
--- error_log
start worker process
