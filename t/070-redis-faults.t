# Redis failure modes at the gate (security-requirements.md section 4,
# R1-R14, and RS-FC-1): Redis down, killed, slow, hung, closing mid-reply,
# answering late, malformed or with error replies, and clients leaving
# while their lookup is pending.  The gate fails closed: 503 with
# Retry-After, never 200 or invalid_token without a completed lookup; the
# worker survives and recovers without a reload.
#
# How faults are timed:
#   --- before_start  Perl run before nginx starts (a Redis or a fake that
#                     must be there when the worker first connects); init
#                     runs only once nginx is up.
#   after_response(N, sub)  (from init) runs between response N and
#                     request N+1, so "kill Redis after the first 200" is
#                     an ordering, not a race against a timer.
#   wait_log(LINE, s, n)    waits for the worker to log LINE (n times),
#                     e.g. "ready" after a reconnect, instead of sleeping.
# The error log accumulates over a block's requests: --- error_log lines
# must appear by the end of the first request, --- no_error_log lines in
# none of them.
#
# Ports: $TEST_NGINX_SPARE_PORT is a private redis-server (start_redis),
# $TEST_NGINX_FAKE_PORT the scripted fake (fake_redis, fake_redis_conns).
use Test::Nginx::Socket 'no_plan';
use Imprest::Test;

no_shuffle();
check_accum_error_log();
use_fault_hooks();

# "--- imprest_redis: ADDR PARAMS" replaces the directive in the shared
# http{} preamble (gate upstream included)
add_block_preprocessor(sub {
    my $block = shift;
    if (defined(my $redis = $block->imprest_redis)) {
        (my $http = $Imprest::Test::HTTP_CONFIG)
            =~ s/imprest_redis [^;]*;/imprest_redis $redis;/;
        $block->set_value(http_config => $http);
    }
    return $block;
});

run_tests();

__DATA__

=== TEST 1: RS-FC-1 R1 Redis down at nginx start: 503, Retry-After, nothing upstream
--- before_start
stop_redis($ENV{TEST_NGINX_SPARE_PORT});
--- imprest_redis: 127.0.0.1:$TEST_NGINX_SPARE_PORT retry=200ms
--- config
    location /api/ {
        imprest_gate on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- request
GET /api/v1/invoices
--- more_headers eval
"Authorization: Bearer $Imprest::Test::AT\nX-Organization-Id: $Imprest::Test::ORG1"
--- error_code: 503
--- response_headers
Retry-After: 1
Cache-Control: no-store
Content-Type: application/json
!WWW-Authenticate
--- response_body
{"error":"temporarily_unavailable","error_description":"the authorization service is unavailable"}
--- error_log eval
["imprest: redis 127.0.0.1:$ENV{TEST_NGINX_SPARE_PORT}: connect failed: Connection refused",
 "imprest: redis unavailable"]
--- no_error_log
http init upstream
imprest: redis command queued
[alert]



=== TEST 2: R1 recovery: first 200 within one retry interval after Redis starts, no reload
--- before_start
stop_redis($ENV{TEST_NGINX_SPARE_PORT});
--- imprest_redis: 127.0.0.1:$TEST_NGINX_SPARE_PORT retry=200ms
--- config
    location /api/ {
        imprest_gate on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- init
my $port = $ENV{TEST_NGINX_SPARE_PORT};
after_response(0, sub {
    # attempts at start, at once, then 100, 200, 200ms apart: after the
    # 5th the backoff is at its 200ms cap, and a module that let it grow
    # past retry= would take 800ms for the next attempt
    ok(wait_log("imprest: redis 127.0.0.1:$port: connect failed", 2, 5),
       'R1: the worker keeps retrying');
    start_redis(port => $port);
    my $t0 = Time::HiRes::time();
    ok(wait_log("imprest: redis 127.0.0.1:$port ready", 2),
       'R1: the worker reconnects on its own');
    my $dt = Time::HiRes::time() - $t0;
    ok($dt < 0.2 + 0.15, sprintf('R1: reconnected %.3fs after Redis '
                                 . 'started (retry=200ms)', $dt));
    seed_small(port => $port);
});
--- request eval
["GET /api/v1/invoices", "GET /api/v1/invoices"]
--- more_headers eval
["Authorization: Bearer $Imprest::Test::AT\nX-Organization-Id: $Imprest::Test::ORG1",
 "Authorization: Bearer $Imprest::Test::AT\nX-Organization-Id: $Imprest::Test::ORG1"]
--- error_code eval
[503, 200]
--- response_body eval
["{\"error\":\"temporarily_unavailable\",\"error_description\":\"the authorization service is unavailable\"}\n",
 "uid=alice cid=app1 org=$Imprest::Test::ORG1 iorg=$Imprest::Test::ORG1 scope=money_in money_out auth= xauth= uri=/api/v1/invoices\n"]
--- error_log
imprest: redis unavailable
--- no_error_log
[alert]
[crit]



=== TEST 3: R2 Redis SIGKILLed between requests: 503 at once, 200 again after restart
--- before_start
start_redis(port => $ENV{TEST_NGINX_SPARE_PORT});
seed_small(port => $ENV{TEST_NGINX_SPARE_PORT});
--- imprest_redis: 127.0.0.1:$TEST_NGINX_SPARE_PORT retry=200ms
--- config
    location /api/ {
        imprest_gate on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- init
my $port = $ENV{TEST_NGINX_SPARE_PORT};
after_response(0, sub {
    stop_redis($port, 'KILL');
    ok(wait_log("imprest: redis 127.0.0.1:$port: connection lost", 2),
       'R2: the worker sees the connection go');
});
after_response(1, sub {
    start_redis(port => $port);
    seed_small(port => $port);
    ok(wait_log("imprest: redis 127.0.0.1:$port ready", 2, 2),
       'R2: the worker reconnects after the restart');
});
--- request eval
["GET /api/v1/invoices", "GET /api/v1/invoices", "GET /api/v1/invoices"]
--- more_headers eval
[("Authorization: Bearer $Imprest::Test::AT\nX-Organization-Id: $Imprest::Test::ORG1") x 3]
--- error_code eval
[200, 503, 200]
--- response_body eval
["uid=alice cid=app1 org=$Imprest::Test::ORG1 iorg=$Imprest::Test::ORG1 scope=money_in money_out auth= xauth= uri=/api/v1/invoices\n",
 "{\"error\":\"temporarily_unavailable\",\"error_description\":\"the authorization service is unavailable\"}\n",
 "uid=alice cid=app1 org=$Imprest::Test::ORG1 iorg=$Imprest::Test::ORG1 scope=money_in money_out auth= xauth= uri=/api/v1/invoices\n"]
--- error_log
http init upstream
--- no_error_log
[alert]
[crit]



=== TEST 4: R2 a lookup in flight when Redis is SIGKILLed fails at once, not at the timeout
--- before_start
start_redis(port => $ENV{TEST_NGINX_SPARE_PORT});
seed_small(port => $ENV{TEST_NGINX_SPARE_PORT});
--- imprest_redis: 127.0.0.1:$TEST_NGINX_SPARE_PORT timeout=3s retry=200ms
--- config
    location /api/ {
        imprest_gate on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- init
my $port = $ENV{TEST_NGINX_SPARE_PORT};
signal_redis($port, 'STOP');
my $bg = bg_get('/api/v1/invoices', headers => [
    "Authorization: Bearer $AT", "X-Organization-Id: $ORG1"]);
ok(wait_log('imprest: redis command queued', 2), 'R2: lookup in flight');
stop_redis($port, 'KILL');
my $r = bg_wait($bg);
is($r->{status}, 503, 'R2: the in-flight lookup fails closed');
like($r->{body}, qr/"temporarily_unavailable"/, 'R2: with the 503 body');
ok($r->{elapsed} < 1, "R2: in $r->{elapsed}s, not at the 3s timeout");
--- request
GET /api/v1/invoices
--- more_headers eval
"Authorization: Bearer $Imprest::Test::AT\nX-Organization-Id: $Imprest::Test::ORG1"
--- error_code: 503
--- response_headers
Retry-After: 1
--- response_body
{"error":"temporarily_unavailable","error_description":"the authorization service is unavailable"}
--- error_log eval
"imprest: redis 127.0.0.1:$ENV{TEST_NGINX_SPARE_PORT}: no reply: Connection reset by peer"
--- no_error_log
http init upstream
imprest: redis command timed out
[alert]



=== TEST 5: R4 slow Redis (CLIENT PAUSE): 503 at the 200ms timeout, then 200 after the pause
--- before_start
start_redis(port => $ENV{TEST_NGINX_SPARE_PORT});
seed_small(port => $ENV{TEST_NGINX_SPARE_PORT});
--- imprest_redis: 127.0.0.1:$TEST_NGINX_SPARE_PORT timeout=200ms retry=100ms
--- config
    location /api/ {
        imprest_gate on;
        add_header X-Request-Time $request_time always;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- init
my $port = $ENV{TEST_NGINX_SPARE_PORT};
like(redis_at($port, qw(CLIENT PAUSE 700 ALL)), qr/^OK\s*$/, 'R4: Redis paused');
after_response(0, sub {
    ok(wait_log("imprest: redis 127.0.0.1:$port ready", 2, 2),
       'R4: a fresh connection is ready once the pause ends');
});
--- request eval
["GET /api/v1/invoices", "GET /api/v1/invoices"]
--- more_headers eval
[("Authorization: Bearer $Imprest::Test::AT\nX-Organization-Id: $Imprest::Test::ORG1") x 2]
--- error_code eval
[503, 200]
--- response_headers_like eval
["X-Request-Time: 0\\.(19|[234])\\d\\d", "X-Request-Time: 0\\.[01]\\d\\d"]
--- response_body eval
["{\"error\":\"temporarily_unavailable\",\"error_description\":\"the authorization service is unavailable\"}\n",
 "uid=alice cid=app1 org=$Imprest::Test::ORG1 iorg=$Imprest::Test::ORG1 scope=money_in money_out auth= xauth= uri=/api/v1/invoices\n"]
--- error_log eval
[qr/imprest: redis command timed out$/,
 "imprest: redis 127.0.0.1:$ENV{TEST_NGINX_SPARE_PORT}: closing connection: command timed out"]
--- no_error_log
[alert]
[crit]



=== TEST 6: R4 the event loop is never blocked: an ungated location answers while a lookup waits 1s
--- before_start
stop_fake();
fake_redis($ENV{TEST_NGINX_FAKE_PORT}, { delay => 1, reply => gate_reply() });
--- imprest_redis: 127.0.0.1:$TEST_NGINX_FAKE_PORT timeout=3s
--- config
    location /api/ {
        imprest_gate on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
    location = /ping {
        return 200 "pong\n";
    }
--- init
my $slow = bg_get('/api/v1/invoices', headers => [
    "Authorization: Bearer $AT", "X-Organization-Id: $ORG1"]);
ok(wait_log('imprest: redis command queued', 2), 'R4: slow lookup queued');
my $t0 = Time::HiRes::time();
after_response(0, sub {
    my $t1 = Time::HiRes::time();
    ok($t1 - $t0 < 0.3,
       sprintf('R4: /ping answered in %.3fs while the lookup waits',
               $t1 - $t0));
    my $r = bg_wait($slow);
    is($r->{status}, 200, 'R4: the slow lookup still succeeds');
    ok($r->{elapsed} >= 0.9, "R4: it really waited ($r->{elapsed}s)");
    ok($r->{t_end} > $t1, 'R4: and finished after /ping');
});
--- request
GET /ping
--- response_body
pong
--- no_error_log
[error]
[alert]



=== TEST 7: R5 hung Redis: 503 at the timeout, the next request gets a fresh connection, no fd leak
--- before_start
stop_fake();
fake_redis_conns($ENV{TEST_NGINX_FAKE_PORT}, [{ hang => 1 }], [gate_reply()]);
--- imprest_redis: 127.0.0.1:$TEST_NGINX_FAKE_PORT timeout=200ms retry=100ms
--- config
    location /api/ {
        imprest_gate on;
        add_header X-Request-Time $request_time always;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- init
my $port = $ENV{TEST_NGINX_FAKE_PORT};
ok(wait_log("imprest: redis 127.0.0.1:$port ready", 2), 'R5: connected');
my $fds = nginx_fd_count();
after_response(1, sub {
    my $now;
    for (1 .. 50) {
        $now = nginx_fd_count();
        last if defined $now && $now == $fds;
        Time::HiRes::sleep(0.02);
    }
    is($now, $fds, 'R5: the worker holds as many descriptors as before');
});
--- request eval
["GET /api/v1/invoices", "GET /api/v1/invoices"]
--- more_headers eval
[("Authorization: Bearer $Imprest::Test::AT\nX-Organization-Id: $Imprest::Test::ORG1") x 2]
--- error_code eval
[503, 200]
--- response_headers_like eval
["X-Request-Time: 0\\.(19|[234])\\d\\d", "X-Request-Time: 0\\.[01]\\d\\d"]
--- response_body eval
["{\"error\":\"temporarily_unavailable\",\"error_description\":\"the authorization service is unavailable\"}\n",
 "uid=alice cid=app1 org=$Imprest::Test::ORG1 iorg=$Imprest::Test::ORG1 scope=money_in money_out auth= xauth= uri=/api/v1/invoices\n"]
--- error_log eval
[qr/imprest: redis command timed out$/,
 "imprest: redis 127.0.0.1:$ENV{TEST_NGINX_FAKE_PORT}: closing connection: command timed out"]
--- no_error_log
[alert]
[crit]



=== TEST 8: R5 SIGSTOPped Redis: 503 at the timeout, 200 once it runs again
--- before_start
start_redis(port => $ENV{TEST_NGINX_SPARE_PORT});
seed_small(port => $ENV{TEST_NGINX_SPARE_PORT});
--- imprest_redis: 127.0.0.1:$TEST_NGINX_SPARE_PORT timeout=200ms retry=100ms
--- config
    location /api/ {
        imprest_gate on;
        add_header X-Request-Time $request_time always;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- init
my $port = $ENV{TEST_NGINX_SPARE_PORT};
ok(wait_log("imprest: redis 127.0.0.1:$port ready", 2), 'R5: connected');
signal_redis($port, 'STOP');
after_response(0, sub {
    signal_redis($port, 'CONT');
    ok(wait_log("imprest: redis 127.0.0.1:$port ready", 2, 2),
       'R5: a fresh connection is ready after SIGCONT');
});
--- request eval
["GET /api/v1/invoices", "GET /api/v1/invoices"]
--- more_headers eval
[("Authorization: Bearer $Imprest::Test::AT\nX-Organization-Id: $Imprest::Test::ORG1") x 2]
--- error_code eval
[503, 200]
--- response_headers_like eval
["X-Request-Time: 0\\.(19|[234])\\d\\d", "X-Request-Time: 0\\.[01]\\d\\d"]
--- response_body eval
["{\"error\":\"temporarily_unavailable\",\"error_description\":\"the authorization service is unavailable\"}\n",
 "uid=alice cid=app1 org=$Imprest::Test::ORG1 iorg=$Imprest::Test::ORG1 scope=money_in money_out auth= xauth= uri=/api/v1/invoices\n"]
--- error_log
imprest: redis command timed out

--- no_error_log
[alert]
[crit]



=== TEST 9: R6 connection closed in the middle of a reply: 503, then 200 on a fresh connection
--- before_start
stop_fake();
fake_redis($ENV{TEST_NGINX_FAKE_PORT},
           { close_after => 1, reply => "*8\r\n:1\r\n\$5\r\nali" },
           gate_reply());
--- imprest_redis: 127.0.0.1:$TEST_NGINX_FAKE_PORT timeout=1s retry=100ms
--- config
    location /api/ {
        imprest_gate on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- request eval
["GET /api/v1/invoices", "GET /api/v1/invoices"]
--- more_headers eval
[("Authorization: Bearer $Imprest::Test::AT\nX-Organization-Id: $Imprest::Test::ORG1") x 2]
--- error_code eval
[503, 200]
--- response_body eval
["{\"error\":\"temporarily_unavailable\",\"error_description\":\"the authorization service is unavailable\"}\n",
 "uid=alice cid=app1 org=$Imprest::Test::ORG1 iorg=$Imprest::Test::ORG1 scope=money_in money_out auth= xauth= uri=/api/v1/invoices\n"]
--- error_log eval
["imprest: redis 127.0.0.1:$ENV{TEST_NGINX_FAKE_PORT}: no reply: Server closed the connection",
 "imprest: redis 127.0.0.1:$ENV{TEST_NGINX_FAKE_PORT}: connection lost: Server closed the connection"]
--- no_error_log
imprest: redis command timed out
[alert]
[crit]



=== TEST 10: R6 connection closed before any reply: 503, then 200 on a fresh connection
--- before_start
stop_fake();
fake_redis($ENV{TEST_NGINX_FAKE_PORT}, { close => 1 }, gate_reply());
--- imprest_redis: 127.0.0.1:$TEST_NGINX_FAKE_PORT timeout=1s retry=100ms
--- config
    location /api/ {
        imprest_gate on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- request eval
["GET /api/v1/invoices", "GET /api/v1/invoices"]
--- more_headers eval
[("Authorization: Bearer $Imprest::Test::AT\nX-Organization-Id: $Imprest::Test::ORG1") x 2]
--- error_code eval
[503, 200]
--- response_body eval
["{\"error\":\"temporarily_unavailable\",\"error_description\":\"the authorization service is unavailable\"}\n",
 "uid=alice cid=app1 org=$Imprest::Test::ORG1 iorg=$Imprest::Test::ORG1 scope=money_in money_out auth= xauth= uri=/api/v1/invoices\n"]
--- error_log eval
"imprest: redis 127.0.0.1:$ENV{TEST_NGINX_FAKE_PORT}: no reply: Server closed the connection"
--- no_error_log
[alert]
[crit]



=== TEST 11: R8 a reply arriving after the timeout never answers the next request
--- before_start
stop_fake();
# connection 1 answers "found, alice" to everything, the first one late;
# a fresh connection says "no such token"
fake_redis_conns($ENV{TEST_NGINX_FAKE_PORT},
                 [{ delay => 0.3, reply => gate_reply() }, gate_reply()],
                 [$NOT_FOUND]);
--- imprest_redis: 127.0.0.1:$TEST_NGINX_FAKE_PORT timeout=100ms retry=100ms
--- config
    location /api/ {
        imprest_gate on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- request eval
["GET /api/v1/invoices", "GET /api/v1/invoices"]
--- more_headers eval
["Authorization: Bearer $Imprest::Test::AT\nX-Organization-Id: $Imprest::Test::ORG1",
 "Authorization: Bearer $Imprest::Test::AT_EXPIRED\nX-Organization-Id: $Imprest::Test::ORG1"]
--- error_code eval
[503, 401]
--- response_body eval
["{\"error\":\"temporarily_unavailable\",\"error_description\":\"the authorization service is unavailable\"}\n",
 "{\"error\":\"invalid_token\",\"error_description\":\"unknown, expired or revoked token\"}\n"]
--- error_log eval
[qr/imprest: redis command timed out$/,
 "imprest: redis 127.0.0.1:$ENV{TEST_NGINX_FAKE_PORT}: closing connection: command timed out"]
--- no_error_log
http init upstream
[alert]
[crit]



=== TEST 12: R9 -ERR from EVALSHA: 503; a well-formed error keeps the connection in step
--- before_start
stop_fake();
fake_redis_conns($ENV{TEST_NGINX_FAKE_PORT}, ["-ERR boom\r\n", $NOT_FOUND], [gate_reply()]);
--- imprest_redis: 127.0.0.1:$TEST_NGINX_FAKE_PORT timeout=1s retry=100ms
--- config
    location /api/ {
        imprest_gate on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- request eval
["GET /api/v1/invoices", "GET /api/v1/invoices"]
--- more_headers eval
[("Authorization: Bearer $Imprest::Test::AT\nX-Organization-Id: $Imprest::Test::ORG1") x 2]
--- error_code eval
[503, 401]
--- response_body eval
["{\"error\":\"temporarily_unavailable\",\"error_description\":\"the authorization service is unavailable\"}\n",
 "{\"error\":\"invalid_token\",\"error_description\":\"unknown, expired or revoked token\"}\n"]
--- error_log eval
["imprest: redis 127.0.0.1:$ENV{TEST_NGINX_FAKE_PORT}: error reply: ERR boom"]
--- no_error_log
closing connection
[alert]
[crit]



=== TEST 13: R9 -WRONGTYPE: 503, never 401
--- before_start
stop_fake();
fake_redis_conns($ENV{TEST_NGINX_FAKE_PORT}, ["-WRONGTYPE Operation against a key holding the wrong kind of value\r\n", $NOT_FOUND], [gate_reply()]);
--- imprest_redis: 127.0.0.1:$TEST_NGINX_FAKE_PORT timeout=1s retry=100ms
--- config
    location /api/ {
        imprest_gate on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- request eval
["GET /api/v1/invoices", "GET /api/v1/invoices"]
--- more_headers eval
[("Authorization: Bearer $Imprest::Test::AT\nX-Organization-Id: $Imprest::Test::ORG1") x 2]
--- error_code eval
[503, 401]
--- response_body eval
["{\"error\":\"temporarily_unavailable\",\"error_description\":\"the authorization service is unavailable\"}\n",
 "{\"error\":\"invalid_token\",\"error_description\":\"unknown, expired or revoked token\"}\n"]
--- error_log eval
["imprest: redis 127.0.0.1:$ENV{TEST_NGINX_FAKE_PORT}: error reply: WRONGTYPE Operation against a key holding the wrong kind of value"]
--- no_error_log
closing connection
[alert]
[crit]



=== TEST 14: R9 an integer where the script returns an array: 503, connection dropped
--- before_start
stop_fake();
fake_redis_conns($ENV{TEST_NGINX_FAKE_PORT}, [":1\r\n"], [gate_reply()]);
--- imprest_redis: 127.0.0.1:$TEST_NGINX_FAKE_PORT timeout=1s retry=100ms
--- config
    location /api/ {
        imprest_gate on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- request eval
["GET /api/v1/invoices", "GET /api/v1/invoices"]
--- more_headers eval
[("Authorization: Bearer $Imprest::Test::AT\nX-Organization-Id: $Imprest::Test::ORG1") x 2]
--- error_code eval
[503, 200]
--- response_body eval
["{\"error\":\"temporarily_unavailable\",\"error_description\":\"the authorization service is unavailable\"}\n",
 "uid=alice cid=app1 org=$Imprest::Test::ORG1 iorg=$Imprest::Test::ORG1 scope=money_in money_out auth= xauth= uri=/api/v1/invoices\n"]
--- error_log eval
["imprest: redis 127.0.0.1:$ENV{TEST_NGINX_FAKE_PORT}: closing connection: reply does not match the token script"]
--- no_error_log
[alert]
[crit]



=== TEST 15: R9 a plain nil bulk is not "unknown token": 503, connection dropped
--- before_start
stop_fake();
fake_redis_conns($ENV{TEST_NGINX_FAKE_PORT}, ["\$-1\r\n"], [gate_reply()]);
--- imprest_redis: 127.0.0.1:$TEST_NGINX_FAKE_PORT timeout=1s retry=100ms
--- config
    location /api/ {
        imprest_gate on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- request eval
["GET /api/v1/invoices", "GET /api/v1/invoices"]
--- more_headers eval
[("Authorization: Bearer $Imprest::Test::AT\nX-Organization-Id: $Imprest::Test::ORG1") x 2]
--- error_code eval
[503, 200]
--- response_body eval
["{\"error\":\"temporarily_unavailable\",\"error_description\":\"the authorization service is unavailable\"}\n",
 "uid=alice cid=app1 org=$Imprest::Test::ORG1 iorg=$Imprest::Test::ORG1 scope=money_in money_out auth= xauth= uri=/api/v1/invoices\n"]
--- error_log eval
["imprest: redis 127.0.0.1:$ENV{TEST_NGINX_FAKE_PORT}: closing connection: reply does not match the token script"]
--- no_error_log
[alert]
[crit]



=== TEST 16: R9 a nil array is not "unknown token": 503, connection dropped
--- before_start
stop_fake();
fake_redis_conns($ENV{TEST_NGINX_FAKE_PORT}, ["*-1\r\n"], [gate_reply()]);
--- imprest_redis: 127.0.0.1:$TEST_NGINX_FAKE_PORT timeout=1s retry=100ms
--- config
    location /api/ {
        imprest_gate on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- request eval
["GET /api/v1/invoices", "GET /api/v1/invoices"]
--- more_headers eval
[("Authorization: Bearer $Imprest::Test::AT\nX-Organization-Id: $Imprest::Test::ORG1") x 2]
--- error_code eval
[503, 200]
--- response_body eval
["{\"error\":\"temporarily_unavailable\",\"error_description\":\"the authorization service is unavailable\"}\n",
 "uid=alice cid=app1 org=$Imprest::Test::ORG1 iorg=$Imprest::Test::ORG1 scope=money_in money_out auth= xauth= uri=/api/v1/invoices\n"]
--- error_log eval
["imprest: redis 127.0.0.1:$ENV{TEST_NGINX_FAKE_PORT}: closing connection: reply does not match the token script"]
--- no_error_log
[alert]
[crit]



=== TEST 17: R9 an empty array: 503, connection dropped
--- before_start
stop_fake();
fake_redis_conns($ENV{TEST_NGINX_FAKE_PORT}, ["*0\r\n"], [gate_reply()]);
--- imprest_redis: 127.0.0.1:$TEST_NGINX_FAKE_PORT timeout=1s retry=100ms
--- config
    location /api/ {
        imprest_gate on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- request eval
["GET /api/v1/invoices", "GET /api/v1/invoices"]
--- more_headers eval
[("Authorization: Bearer $Imprest::Test::AT\nX-Organization-Id: $Imprest::Test::ORG1") x 2]
--- error_code eval
[503, 200]
--- response_body eval
["{\"error\":\"temporarily_unavailable\",\"error_description\":\"the authorization service is unavailable\"}\n",
 "uid=alice cid=app1 org=$Imprest::Test::ORG1 iorg=$Imprest::Test::ORG1 scope=money_in money_out auth= xauth= uri=/api/v1/invoices\n"]
--- error_log eval
["imprest: redis 127.0.0.1:$ENV{TEST_NGINX_FAKE_PORT}: closing connection: reply does not match the token script"]
--- no_error_log
[alert]
[crit]



=== TEST 18: R9 bulk length -2: protocol error, 503, connection dropped
--- before_start
stop_fake();
fake_redis_conns($ENV{TEST_NGINX_FAKE_PORT}, ["\$-2\r\n"], [gate_reply()]);
--- imprest_redis: 127.0.0.1:$TEST_NGINX_FAKE_PORT timeout=1s retry=100ms
--- config
    location /api/ {
        imprest_gate on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- request eval
["GET /api/v1/invoices", "GET /api/v1/invoices"]
--- more_headers eval
[("Authorization: Bearer $Imprest::Test::AT\nX-Organization-Id: $Imprest::Test::ORG1") x 2]
--- error_code eval
[503, 200]
--- response_body eval
["{\"error\":\"temporarily_unavailable\",\"error_description\":\"the authorization service is unavailable\"}\n",
 "uid=alice cid=app1 org=$Imprest::Test::ORG1 iorg=$Imprest::Test::ORG1 scope=money_in money_out auth= xauth= uri=/api/v1/invoices\n"]
--- error_log eval
["imprest: redis 127.0.0.1:$ENV{TEST_NGINX_FAKE_PORT}: connection lost: Bulk string length out of range"]
--- no_error_log
[alert]
[crit]



=== TEST 19: R9 array length -5: protocol error, 503, connection dropped
--- before_start
stop_fake();
fake_redis_conns($ENV{TEST_NGINX_FAKE_PORT}, ["*-5\r\n"], [gate_reply()]);
--- imprest_redis: 127.0.0.1:$TEST_NGINX_FAKE_PORT timeout=1s retry=100ms
--- config
    location /api/ {
        imprest_gate on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- request eval
["GET /api/v1/invoices", "GET /api/v1/invoices"]
--- more_headers eval
[("Authorization: Bearer $Imprest::Test::AT\nX-Organization-Id: $Imprest::Test::ORG1") x 2]
--- error_code eval
[503, 200]
--- response_body eval
["{\"error\":\"temporarily_unavailable\",\"error_description\":\"the authorization service is unavailable\"}\n",
 "uid=alice cid=app1 org=$Imprest::Test::ORG1 iorg=$Imprest::Test::ORG1 scope=money_in money_out auth= xauth= uri=/api/v1/invoices\n"]
--- error_log eval
["imprest: redis 127.0.0.1:$ENV{TEST_NGINX_FAKE_PORT}: connection lost: Multi-bulk length out of range"]
--- no_error_log
[alert]
[crit]



=== TEST 20: R9 garbage type byte: protocol error, 503, connection dropped
--- before_start
stop_fake();
fake_redis_conns($ENV{TEST_NGINX_FAKE_PORT}, ["!!!\r\n"], [gate_reply()]);
--- imprest_redis: 127.0.0.1:$TEST_NGINX_FAKE_PORT timeout=1s retry=100ms
--- config
    location /api/ {
        imprest_gate on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- request eval
["GET /api/v1/invoices", "GET /api/v1/invoices"]
--- more_headers eval
[("Authorization: Bearer $Imprest::Test::AT\nX-Organization-Id: $Imprest::Test::ORG1") x 2]
--- error_code eval
[503, 200]
--- response_body eval
["{\"error\":\"temporarily_unavailable\",\"error_description\":\"the authorization service is unavailable\"}\n",
 "uid=alice cid=app1 org=$Imprest::Test::ORG1 iorg=$Imprest::Test::ORG1 scope=money_in money_out auth= xauth= uri=/api/v1/invoices\n"]
--- error_log eval
["imprest: redis 127.0.0.1:$ENV{TEST_NGINX_FAKE_PORT}: connection lost: Protocol error, got \"!\" as reply type byte"]
--- no_error_log
[alert]
[crit]



=== TEST 21: R9 a bulk announcing 999999999999 bytes, none sent: 503 at the timeout, connection dropped
--- before_start
stop_fake();
fake_redis_conns($ENV{TEST_NGINX_FAKE_PORT}, ["\$999999999999\r\n"], [gate_reply()]);
--- imprest_redis: 127.0.0.1:$TEST_NGINX_FAKE_PORT timeout=200ms retry=100ms
--- config
    location /api/ {
        imprest_gate on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- request eval
["GET /api/v1/invoices", "GET /api/v1/invoices"]
--- more_headers eval
[("Authorization: Bearer $Imprest::Test::AT\nX-Organization-Id: $Imprest::Test::ORG1") x 2]
--- error_code eval
[503, 200]
--- response_body eval
["{\"error\":\"temporarily_unavailable\",\"error_description\":\"the authorization service is unavailable\"}\n",
 "uid=alice cid=app1 org=$Imprest::Test::ORG1 iorg=$Imprest::Test::ORG1 scope=money_in money_out auth= xauth= uri=/api/v1/invoices\n"]
--- error_log eval
[qr/imprest: redis command timed out$/,
 "imprest: redis 127.0.0.1:$ENV{TEST_NGINX_FAKE_PORT}: closing connection: command timed out"]
--- no_error_log
[alert]
[crit]



=== TEST 22: R9 a bulk announcing 999999999999 bytes, then streaming: dropped at max_reply, memory bounded
--- before_start
stop_fake();
fake_redis_conns($ENV{TEST_NGINX_FAKE_PORT}, ["\$999999999999\r\n" . ("x" x 20_000_000)], [gate_reply()]);
--- imprest_redis: 127.0.0.1:$TEST_NGINX_FAKE_PORT timeout=2s retry=100ms max_reply=16k
--- config
    location /api/ {
        imprest_gate on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- init
ok(wait_log("imprest: redis 127.0.0.1:$ENV{TEST_NGINX_FAKE_PORT} ready", 2),
   'R9: connected');
my $before = nginx_peak_kb();
after_response(0, sub {
    my $grew = nginx_peak_kb() - $before;
    ok($grew < 8 * 1024, "R9: peak worker memory grew by ${grew} kB "
                         . '(max_reply=16k)');
});
--- request eval
["GET /api/v1/invoices", "GET /api/v1/invoices"]
--- more_headers eval
[("Authorization: Bearer $Imprest::Test::AT\nX-Organization-Id: $Imprest::Test::ORG1") x 2]
--- error_code eval
[503, 200]
--- response_body eval
["{\"error\":\"temporarily_unavailable\",\"error_description\":\"the authorization service is unavailable\"}\n",
 "uid=alice cid=app1 org=$Imprest::Test::ORG1 iorg=$Imprest::Test::ORG1 scope=money_in money_out auth= xauth= uri=/api/v1/invoices\n"]
--- error_log eval
["imprest: redis 127.0.0.1:$ENV{TEST_NGINX_FAKE_PORT}: closing connection: reply exceeds max_reply"]
--- no_error_log
imprest: redis command timed out
[alert]
[crit]



=== TEST 23: R9 an array of 65537 elements (over the cap): discarded as read, that request 503, the link and the next command unharmed
--- before_start
stop_fake();
fake_redis_conns($ENV{TEST_NGINX_FAKE_PORT},
                 ["*65537\r\n" . (":1\r\n" x 65537), gate_reply()]);
--- imprest_redis: 127.0.0.1:$TEST_NGINX_FAKE_PORT timeout=2s retry=100ms
--- config
    location /api/ {
        imprest_gate on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- request eval
["GET /api/v1/invoices", "GET /api/v1/invoices"]
--- more_headers eval
[("Authorization: Bearer $Imprest::Test::AT\nX-Organization-Id: $Imprest::Test::ORG1") x 2]
--- error_code eval
[503, 200]
--- response_body eval
["{\"error\":\"temporarily_unavailable\",\"error_description\":\"the authorization service is unavailable\"}\n",
 "uid=alice cid=app1 org=$Imprest::Test::ORG1 iorg=$Imprest::Test::ORG1 scope=money_in money_out auth= xauth= uri=/api/v1/invoices\n"]
--- error_log eval
["imprest: redis 127.0.0.1:$ENV{TEST_NGINX_FAKE_PORT}: discarding a reply over max_reply=4194304 or 65536 elements in an array",
 "imprest: redis 127.0.0.1:$ENV{TEST_NGINX_FAKE_PORT}: reply discarded: over max_reply or 65536 elements in an array"]
--- no_error_log
connection lost
closing connection
[alert]
[crit]



=== TEST 24: R9 a nil inside the found array: 503, connection dropped
--- before_start
stop_fake();
fake_redis_conns($ENV{TEST_NGINX_FAKE_PORT}, ["*8\r\n:1\r\n\$5\r\nalice\r\n\$-1\r\n" . join("", map { resp_bulk($_) } "money_in", time() + 3600, "") . ":1\r\n:1\r\n"], [gate_reply()]);
--- imprest_redis: 127.0.0.1:$TEST_NGINX_FAKE_PORT timeout=1s retry=100ms
--- config
    location /api/ {
        imprest_gate on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- request eval
["GET /api/v1/invoices", "GET /api/v1/invoices"]
--- more_headers eval
[("Authorization: Bearer $Imprest::Test::AT\nX-Organization-Id: $Imprest::Test::ORG1") x 2]
--- error_code eval
[503, 200]
--- response_body eval
["{\"error\":\"temporarily_unavailable\",\"error_description\":\"the authorization service is unavailable\"}\n",
 "uid=alice cid=app1 org=$Imprest::Test::ORG1 iorg=$Imprest::Test::ORG1 scope=money_in money_out auth= xauth= uri=/api/v1/invoices\n"]
--- error_log eval
["imprest: redis 127.0.0.1:$ENV{TEST_NGINX_FAKE_PORT}: closing connection: reply does not match the token script"]
--- no_error_log
[alert]
[crit]



=== TEST 25: R9 a found array without granted/member: 503, connection dropped
--- before_start
stop_fake();
fake_redis_conns($ENV{TEST_NGINX_FAKE_PORT}, ["*6\r\n:1\r\n" . join("", map { resp_bulk($_) } "alice", "app1", "money_in", time() + 3600, "")], [gate_reply()]);
--- imprest_redis: 127.0.0.1:$TEST_NGINX_FAKE_PORT timeout=1s retry=100ms
--- config
    location /api/ {
        imprest_gate on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- request eval
["GET /api/v1/invoices", "GET /api/v1/invoices"]
--- more_headers eval
[("Authorization: Bearer $Imprest::Test::AT\nX-Organization-Id: $Imprest::Test::ORG1") x 2]
--- error_code eval
[503, 200]
--- response_body eval
["{\"error\":\"temporarily_unavailable\",\"error_description\":\"the authorization service is unavailable\"}\n",
 "uid=alice cid=app1 org=$Imprest::Test::ORG1 iorg=$Imprest::Test::ORG1 scope=money_in money_out auth= xauth= uri=/api/v1/invoices\n"]
--- error_log eval
["imprest: redis 127.0.0.1:$ENV{TEST_NGINX_FAKE_PORT}: closing connection: reply does not match the token script"]
--- no_error_log
[alert]
[crit]



=== TEST 26: R9 "not found" with an extra element: 503, connection dropped
--- before_start
stop_fake();
fake_redis_conns($ENV{TEST_NGINX_FAKE_PORT}, ["*2\r\n:0\r\n:0\r\n"], [gate_reply()]);
--- imprest_redis: 127.0.0.1:$TEST_NGINX_FAKE_PORT timeout=1s retry=100ms
--- config
    location /api/ {
        imprest_gate on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- request eval
["GET /api/v1/invoices", "GET /api/v1/invoices"]
--- more_headers eval
[("Authorization: Bearer $Imprest::Test::AT\nX-Organization-Id: $Imprest::Test::ORG1") x 2]
--- error_code eval
[503, 200]
--- response_body eval
["{\"error\":\"temporarily_unavailable\",\"error_description\":\"the authorization service is unavailable\"}\n",
 "uid=alice cid=app1 org=$Imprest::Test::ORG1 iorg=$Imprest::Test::ORG1 scope=money_in money_out auth= xauth= uri=/api/v1/invoices\n"]
--- error_log eval
["imprest: redis 127.0.0.1:$ENV{TEST_NGINX_FAKE_PORT}: closing connection: reply does not match the token script"]
--- no_error_log
[alert]
[crit]



=== TEST 27: R9 found flag 2: 503, connection dropped
--- before_start
stop_fake();
fake_redis_conns($ENV{TEST_NGINX_FAKE_PORT}, ["*8\r\n:2\r\n" . join("", map { resp_bulk($_) } "alice", "app1", "money_in", time() + 3600, "") . ":1\r\n:1\r\n"], [gate_reply()]);
--- imprest_redis: 127.0.0.1:$TEST_NGINX_FAKE_PORT timeout=1s retry=100ms
--- config
    location /api/ {
        imprest_gate on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- request eval
["GET /api/v1/invoices", "GET /api/v1/invoices"]
--- more_headers eval
[("Authorization: Bearer $Imprest::Test::AT\nX-Organization-Id: $Imprest::Test::ORG1") x 2]
--- error_code eval
[503, 200]
--- response_body eval
["{\"error\":\"temporarily_unavailable\",\"error_description\":\"the authorization service is unavailable\"}\n",
 "uid=alice cid=app1 org=$Imprest::Test::ORG1 iorg=$Imprest::Test::ORG1 scope=money_in money_out auth= xauth= uri=/api/v1/invoices\n"]
--- error_log eval
["imprest: redis 127.0.0.1:$ENV{TEST_NGINX_FAKE_PORT}: closing connection: reply does not match the token script"]
--- no_error_log
[alert]
[crit]



=== TEST 28: R9 granted as a string instead of an integer: 503, connection dropped
--- before_start
stop_fake();
fake_redis_conns($ENV{TEST_NGINX_FAKE_PORT}, ["*8\r\n:1\r\n" . join("", map { resp_bulk($_) } "alice", "app1", "money_in", time() + 3600, "", "1") . ":1\r\n"], [gate_reply()]);
--- imprest_redis: 127.0.0.1:$TEST_NGINX_FAKE_PORT timeout=1s retry=100ms
--- config
    location /api/ {
        imprest_gate on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- request eval
["GET /api/v1/invoices", "GET /api/v1/invoices"]
--- more_headers eval
[("Authorization: Bearer $Imprest::Test::AT\nX-Organization-Id: $Imprest::Test::ORG1") x 2]
--- error_code eval
[503, 200]
--- response_body eval
["{\"error\":\"temporarily_unavailable\",\"error_description\":\"the authorization service is unavailable\"}\n",
 "uid=alice cid=app1 org=$Imprest::Test::ORG1 iorg=$Imprest::Test::ORG1 scope=money_in money_out auth= xauth= uri=/api/v1/invoices\n"]
--- error_log eval
["imprest: redis 127.0.0.1:$ENV{TEST_NGINX_FAKE_PORT}: closing connection: reply does not match the token script"]
--- no_error_log
[alert]
[crit]



=== TEST 29: R9 a correct reply then bytes nobody asked for: the connection is dropped, nothing reaches the next request
--- before_start
stop_fake();
# "+OK" after the reply would answer the next command if the connection
# were kept (503); a fresh connection says "no such token" (401)
fake_redis_conns($ENV{TEST_NGINX_FAKE_PORT},
                 [{ reply => gate_reply(), then => "+OK\r\n", after => 0.05 },
                  gate_reply()],
                 [$NOT_FOUND]);
--- imprest_redis: 127.0.0.1:$TEST_NGINX_FAKE_PORT timeout=1s retry=100ms
--- config
    location /api/ {
        imprest_gate on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- init
ok(wait_log("imprest: redis 127.0.0.1:$ENV{TEST_NGINX_FAKE_PORT} ready", 2),
   'R9: connected');
after_response(0, sub {
    ok(wait_log('unsolicited reply', 2), 'R9: the extra bytes were seen');
});
--- request eval
["GET /api/v1/invoices", "GET /api/v1/invoices"]
--- more_headers eval
[("Authorization: Bearer $Imprest::Test::AT\nX-Organization-Id: $Imprest::Test::ORG1") x 2]
--- error_code eval
[200, 401]
--- response_body eval
["uid=alice cid=app1 org=$Imprest::Test::ORG1 iorg=$Imprest::Test::ORG1 scope=money_in money_out auth= xauth= uri=/api/v1/invoices\n",
 "{\"error\":\"invalid_token\",\"error_description\":\"unknown, expired or revoked token\"}\n"]
--- error_log eval
["imprest: redis 127.0.0.1:$ENV{TEST_NGINX_FAKE_PORT}: unsolicited reply",
 "imprest: redis 127.0.0.1:$ENV{TEST_NGINX_FAKE_PORT}: connection lost: Out of memory"]
--- no_error_log
[alert]
[crit]



=== TEST 30: R9 a correct reply and unsolicited bytes in one packet: 503, the connection is dropped
--- before_start
stop_fake();
# Redis never speaks out of turn: bytes after the reply in the same read
# show the stream is out of step, so the reply read with them cannot be
# trusted either (R9: unsolicited extra bytes -> 503).  Unlike TEST 29 the
# gate knows this before it answers.
fake_redis_conns($ENV{TEST_NGINX_FAKE_PORT},
                 [gate_reply() . "+OK\r\n", gate_reply()],
                 [$NOT_FOUND]);
--- imprest_redis: 127.0.0.1:$TEST_NGINX_FAKE_PORT timeout=1s retry=100ms
--- config
    location /api/ {
        imprest_gate on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- request eval
["GET /api/v1/invoices", "GET /api/v1/invoices"]
--- more_headers eval
[("Authorization: Bearer $Imprest::Test::AT\nX-Organization-Id: $Imprest::Test::ORG1") x 2]
--- error_code eval
[503, 401]
--- response_body eval
["{\"error\":\"temporarily_unavailable\",\"error_description\":\"the authorization service is unavailable\"}\n",
 "{\"error\":\"invalid_token\",\"error_description\":\"unknown, expired or revoked token\"}\n"]
--- error_log eval
"imprest: redis 127.0.0.1:$ENV{TEST_NGINX_FAKE_PORT}: unsolicited reply"
--- no_error_log
[alert]
[crit]



=== TEST 31: R9 only the script's own "not found" ({0}) means unknown token: 401 with the challenge
--- before_start
stop_fake();
fake_redis_conns($ENV{TEST_NGINX_FAKE_PORT}, [$NOT_FOUND]);
--- imprest_redis: 127.0.0.1:$TEST_NGINX_FAKE_PORT timeout=1s
--- config
    location /api/ {
        imprest_gate on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- request
GET /api/v1/invoices
--- more_headers eval
"Authorization: Bearer $Imprest::Test::AT\nX-Organization-Id: $Imprest::Test::ORG1"
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="imprest", error="invalid_token", error_description="unknown, expired or revoked token"
Cache-Control: no-store
!Retry-After
--- response_body
{"error":"invalid_token","error_description":"unknown, expired or revoked token"}
--- error_log
imprest: unknown, expired or revoked token
--- no_error_log
http init upstream
[error]
[alert]



=== TEST 32: R9 the fake is faithful: its "found" reply passes the gate
--- before_start
stop_fake();
fake_redis_conns($ENV{TEST_NGINX_FAKE_PORT}, [gate_reply()]);
--- imprest_redis: 127.0.0.1:$TEST_NGINX_FAKE_PORT timeout=1s
--- config
    location /api/ {
        imprest_gate on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- request
GET /api/v1/invoices
--- more_headers eval
"Authorization: Bearer $Imprest::Test::AT\nX-Organization-Id: $Imprest::Test::ORG1"
--- response_body eval
"uid=alice cid=app1 org=$Imprest::Test::ORG1 iorg=$Imprest::Test::ORG1 scope=money_in money_out auth= xauth= uri=/api/v1/invoices\n"
--- error_log
http init upstream
--- no_error_log
[error]
[alert]



=== TEST 33: R7 a reply fragmented to one byte per packet reads the same as in one piece
--- before_start
stop_fake();
fake_redis_conns($ENV{TEST_NGINX_FAKE_PORT},
                 [{ reply => gate_reply(uid => 'bob'), drip => 0.001 }]);
--- imprest_redis: 127.0.0.1:$TEST_NGINX_FAKE_PORT timeout=2s
--- config
    location /api/ {
        imprest_gate on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- request
GET /api/v1/invoices
--- more_headers eval
"Authorization: Bearer $Imprest::Test::AT\nX-Organization-Id: $Imprest::Test::ORG1"
--- response_body eval
"uid=bob cid=app1 org=$Imprest::Test::ORG1 iorg=$Imprest::Test::ORG1 scope=money_in money_out auth= xauth= uri=/api/v1/invoices\n"
--- no_error_log
[error]
[alert]



=== TEST 34: R10 -LOADING: 503, the connection is dropped, the next request reconnects (200)
--- before_start
stop_fake();
fake_redis_conns($ENV{TEST_NGINX_FAKE_PORT}, ["-LOADING Redis is loading the dataset in memory\r\n"], [gate_reply()]);
--- imprest_redis: 127.0.0.1:$TEST_NGINX_FAKE_PORT timeout=1s retry=100ms
--- config
    location /api/ {
        imprest_gate on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- request eval
["GET /api/v1/invoices", "GET /api/v1/invoices"]
--- more_headers eval
[("Authorization: Bearer $Imprest::Test::AT\nX-Organization-Id: $Imprest::Test::ORG1") x 2]
--- error_code eval
[503, 200]
--- response_body eval
["{\"error\":\"temporarily_unavailable\",\"error_description\":\"the authorization service is unavailable\"}\n",
 "uid=alice cid=app1 org=$Imprest::Test::ORG1 iorg=$Imprest::Test::ORG1 scope=money_in money_out auth= xauth= uri=/api/v1/invoices\n"]
--- error_log eval
["imprest: redis 127.0.0.1:$ENV{TEST_NGINX_FAKE_PORT}: error reply: LOADING Redis is loading the dataset in memory",
 "imprest: redis 127.0.0.1:$ENV{TEST_NGINX_FAKE_PORT}: closing connection: error reply"]
--- no_error_log
[alert]
[crit]



=== TEST 35: R10 -MASTERDOWN: 503, the connection is dropped, the next request reconnects (200)
--- before_start
stop_fake();
fake_redis_conns($ENV{TEST_NGINX_FAKE_PORT}, ["-MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.\r\n"], [gate_reply()]);
--- imprest_redis: 127.0.0.1:$TEST_NGINX_FAKE_PORT timeout=1s retry=100ms
--- config
    location /api/ {
        imprest_gate on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- request eval
["GET /api/v1/invoices", "GET /api/v1/invoices"]
--- more_headers eval
[("Authorization: Bearer $Imprest::Test::AT\nX-Organization-Id: $Imprest::Test::ORG1") x 2]
--- error_code eval
[503, 200]
--- response_body eval
["{\"error\":\"temporarily_unavailable\",\"error_description\":\"the authorization service is unavailable\"}\n",
 "uid=alice cid=app1 org=$Imprest::Test::ORG1 iorg=$Imprest::Test::ORG1 scope=money_in money_out auth= xauth= uri=/api/v1/invoices\n"]
--- error_log eval
["imprest: redis 127.0.0.1:$ENV{TEST_NGINX_FAKE_PORT}: error reply: MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.",
 "imprest: redis 127.0.0.1:$ENV{TEST_NGINX_FAKE_PORT}: closing connection: error reply"]
--- no_error_log
[alert]
[crit]



=== TEST 36: R10 -NOAUTH: 503, the connection is dropped, the next request reconnects (200)
--- before_start
stop_fake();
fake_redis_conns($ENV{TEST_NGINX_FAKE_PORT}, ["-NOAUTH Authentication required.\r\n"], [gate_reply()]);
--- imprest_redis: 127.0.0.1:$TEST_NGINX_FAKE_PORT timeout=1s retry=100ms
--- config
    location /api/ {
        imprest_gate on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- request eval
["GET /api/v1/invoices", "GET /api/v1/invoices"]
--- more_headers eval
[("Authorization: Bearer $Imprest::Test::AT\nX-Organization-Id: $Imprest::Test::ORG1") x 2]
--- error_code eval
[503, 200]
--- response_body eval
["{\"error\":\"temporarily_unavailable\",\"error_description\":\"the authorization service is unavailable\"}\n",
 "uid=alice cid=app1 org=$Imprest::Test::ORG1 iorg=$Imprest::Test::ORG1 scope=money_in money_out auth= xauth= uri=/api/v1/invoices\n"]
--- error_log eval
["imprest: redis 127.0.0.1:$ENV{TEST_NGINX_FAKE_PORT}: error reply: NOAUTH Authentication required.",
 "imprest: redis 127.0.0.1:$ENV{TEST_NGINX_FAKE_PORT}: closing connection: error reply"]
--- no_error_log
[alert]
[crit]



=== TEST 37: R11 -READONLY: 503, the connection is dropped, the next request reconnects (200)
--- before_start
stop_fake();
fake_redis_conns($ENV{TEST_NGINX_FAKE_PORT}, ["-READONLY You can't write against a read only replica.\r\n"], [gate_reply()]);
--- imprest_redis: 127.0.0.1:$TEST_NGINX_FAKE_PORT timeout=1s retry=100ms
--- config
    location /api/ {
        imprest_gate on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- request eval
["GET /api/v1/invoices", "GET /api/v1/invoices"]
--- more_headers eval
[("Authorization: Bearer $Imprest::Test::AT\nX-Organization-Id: $Imprest::Test::ORG1") x 2]
--- error_code eval
[503, 200]
--- response_body eval
["{\"error\":\"temporarily_unavailable\",\"error_description\":\"the authorization service is unavailable\"}\n",
 "uid=alice cid=app1 org=$Imprest::Test::ORG1 iorg=$Imprest::Test::ORG1 scope=money_in money_out auth= xauth= uri=/api/v1/invoices\n"]
--- error_log eval
["imprest: redis 127.0.0.1:$ENV{TEST_NGINX_FAKE_PORT}: error reply: READONLY You can't write against a read only replica.",
 "imprest: redis 127.0.0.1:$ENV{TEST_NGINX_FAKE_PORT}: closing connection: error reply"]
--- no_error_log
[alert]
[crit]



=== TEST 38: R11 -NOSCRIPT: 503, the connection is dropped, the next request reconnects (200)
--- before_start
stop_fake();
fake_redis_conns($ENV{TEST_NGINX_FAKE_PORT}, ["-NOSCRIPT No matching script. Please use EVAL.\r\n"], [gate_reply()]);
--- imprest_redis: 127.0.0.1:$TEST_NGINX_FAKE_PORT timeout=1s retry=100ms
--- config
    location /api/ {
        imprest_gate on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- request eval
["GET /api/v1/invoices", "GET /api/v1/invoices"]
--- more_headers eval
[("Authorization: Bearer $Imprest::Test::AT\nX-Organization-Id: $Imprest::Test::ORG1") x 2]
--- error_code eval
[503, 200]
--- response_body eval
["{\"error\":\"temporarily_unavailable\",\"error_description\":\"the authorization service is unavailable\"}\n",
 "uid=alice cid=app1 org=$Imprest::Test::ORG1 iorg=$Imprest::Test::ORG1 scope=money_in money_out auth= xauth= uri=/api/v1/invoices\n"]
--- error_log eval
["imprest: redis 127.0.0.1:$ENV{TEST_NGINX_FAKE_PORT}: error reply: NOSCRIPT No matching script. Please use EVAL.",
 "imprest: redis 127.0.0.1:$ENV{TEST_NGINX_FAKE_PORT}: closing connection: error reply"]
--- no_error_log
[alert]
[crit]



=== TEST 39: R10 -BUSY: 503; the connection stays (the next reply is the next command's)
--- before_start
stop_fake();
fake_redis_conns($ENV{TEST_NGINX_FAKE_PORT}, ["-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.\r\n", $NOT_FOUND], [gate_reply()]);
--- imprest_redis: 127.0.0.1:$TEST_NGINX_FAKE_PORT timeout=1s retry=100ms
--- config
    location /api/ {
        imprest_gate on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- request eval
["GET /api/v1/invoices", "GET /api/v1/invoices"]
--- more_headers eval
[("Authorization: Bearer $Imprest::Test::AT\nX-Organization-Id: $Imprest::Test::ORG1") x 2]
--- error_code eval
[503, 401]
--- response_body eval
["{\"error\":\"temporarily_unavailable\",\"error_description\":\"the authorization service is unavailable\"}\n",
 "{\"error\":\"invalid_token\",\"error_description\":\"unknown, expired or revoked token\"}\n"]
--- error_log eval
["imprest: redis 127.0.0.1:$ENV{TEST_NGINX_FAKE_PORT}: error reply: BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."]
--- no_error_log
closing connection
[alert]
[crit]



=== TEST 40: R10 wrong password: 503, the handshake fails and nothing runs unauthenticated
--- before_start
start_redis(port => $ENV{TEST_NGINX_SPARE_PORT}, password => 'adminpw');
seed_small(port => $ENV{TEST_NGINX_SPARE_PORT}, password => 'adminpw');
--- imprest_redis: 127.0.0.1:$TEST_NGINX_SPARE_PORT password=wrong retry=100ms
--- config
    location /api/ {
        imprest_gate on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- request
GET /api/v1/invoices
--- more_headers eval
"Authorization: Bearer $Imprest::Test::AT\nX-Organization-Id: $Imprest::Test::ORG1"
--- error_code: 503
--- response_headers
Retry-After: 1
!WWW-Authenticate
--- response_body
{"error":"temporarily_unavailable","error_description":"the authorization service is unavailable"}
--- error_log eval
["imprest: redis 127.0.0.1:$ENV{TEST_NGINX_SPARE_PORT}: AUTH/SELECT failed: WRONGPASS invalid username-password pair or user is disabled.",
 "imprest: redis 127.0.0.1:$ENV{TEST_NGINX_SPARE_PORT}: closing connection: handshake failed"]
--- no_error_log
http init upstream
imprest: redis 127.0.0.1:$TEST_NGINX_SPARE_PORT ready
[alert]



=== TEST 41: R10 no password where Redis needs one: SCRIPT LOAD gets NOAUTH, 503
--- before_start
start_redis(port => $ENV{TEST_NGINX_SPARE_PORT}, password => 'adminpw');
seed_small(port => $ENV{TEST_NGINX_SPARE_PORT}, password => 'adminpw');
--- imprest_redis: 127.0.0.1:$TEST_NGINX_SPARE_PORT retry=100ms
--- config
    location /api/ {
        imprest_gate on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- request
GET /api/v1/invoices
--- more_headers eval
"Authorization: Bearer $Imprest::Test::AT\nX-Organization-Id: $Imprest::Test::ORG1"
--- error_code: 503
--- response_body
{"error":"temporarily_unavailable","error_description":"the authorization service is unavailable"}
--- error_log eval
["imprest: redis 127.0.0.1:$ENV{TEST_NGINX_SPARE_PORT}: SCRIPT LOAD failed: NOAUTH Authentication required.",
 "imprest: redis 127.0.0.1:$ENV{TEST_NGINX_SPARE_PORT}: closing connection: handshake failed"]
--- no_error_log
http init upstream
imprest: redis 127.0.0.1:$TEST_NGINX_SPARE_PORT ready
[alert]



=== TEST 42: R10 the right password: 200
--- before_start
start_redis(port => $ENV{TEST_NGINX_SPARE_PORT}, password => 'adminpw');
seed_small(port => $ENV{TEST_NGINX_SPARE_PORT}, password => 'adminpw');
--- imprest_redis: 127.0.0.1:$TEST_NGINX_SPARE_PORT password=adminpw
--- config
    location /api/ {
        imprest_gate on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- request
GET /api/v1/invoices
--- more_headers eval
"Authorization: Bearer $Imprest::Test::AT\nX-Organization-Id: $Imprest::Test::ORG1"
--- response_body eval
"uid=alice cid=app1 org=$Imprest::Test::ORG1 iorg=$Imprest::Test::ORG1 scope=money_in money_out auth= xauth= uri=/api/v1/invoices\n"
--- error_log eval
"imprest: redis 127.0.0.1:$ENV{TEST_NGINX_SPARE_PORT} ready"
--- no_error_log
[error]
[alert]



=== TEST 43: R10 an ACL user with only what the gate needs (user= password=): 200
--- before_start
my $port = $ENV{TEST_NGINX_SPARE_PORT};
start_redis(port => $port, password => 'adminpw');
seed_small(port => $port, password => 'adminpw');
# AUTH, SCRIPT LOAD, EVALSHA, and the reads the token script makes
redis_at({ port => $port, password => 'adminpw' }, qw(ACL SETUSER gate on
    >gatepw ~imprest:* -@all +auth +script|load +evalsha +hmget +sismember
    +hget)) eq 'OK' or die 'ACL SETUSER failed';
--- imprest_redis: 127.0.0.1:$TEST_NGINX_SPARE_PORT user=gate password=gatepw
--- config
    location /api/ {
        imprest_gate on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- request
GET /api/v1/invoices
--- more_headers eval
"Authorization: Bearer $Imprest::Test::AT\nX-Organization-Id: $Imprest::Test::ORG1"
--- response_body eval
"uid=alice cid=app1 org=$Imprest::Test::ORG1 iorg=$Imprest::Test::ORG1 scope=money_in money_out auth= xauth= uri=/api/v1/invoices\n"
--- error_log eval
"imprest: redis 127.0.0.1:$ENV{TEST_NGINX_SPARE_PORT} ready"
--- no_error_log
[error]
[alert]



=== TEST 44: R10 an ACL user with a wrong password: 503
--- before_start
my $port = $ENV{TEST_NGINX_SPARE_PORT};
start_redis(port => $port, password => 'adminpw');
seed_small(port => $port, password => 'adminpw');
redis_at({ port => $port, password => 'adminpw' }, qw(ACL SETUSER gate on
    >gatepw ~imprest:* -@all +auth +script|load +evalsha +hmget +sismember
    +hget)) eq 'OK' or die 'ACL SETUSER failed';
--- imprest_redis: 127.0.0.1:$TEST_NGINX_SPARE_PORT user=gate password=adminpw retry=100ms
--- config
    location /api/ {
        imprest_gate on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- request
GET /api/v1/invoices
--- more_headers eval
"Authorization: Bearer $Imprest::Test::AT\nX-Organization-Id: $Imprest::Test::ORG1"
--- error_code: 503
--- response_body
{"error":"temporarily_unavailable","error_description":"the authorization service is unavailable"}
--- error_log eval
"imprest: redis 127.0.0.1:$ENV{TEST_NGINX_SPARE_PORT}: AUTH/SELECT failed: WRONGPASS invalid username-password pair or user is disabled."
--- no_error_log
http init upstream
[alert]



=== TEST 45: R10 an ACL user that may not SCRIPT LOAD: the handshake fails, 503
--- before_start
my $port = $ENV{TEST_NGINX_SPARE_PORT};
start_redis(port => $port, password => 'adminpw');
seed_small(port => $port, password => 'adminpw');
redis_at({ port => $port, password => 'adminpw' }, qw(ACL SETUSER gate on
    >gatepw ~imprest:* -@all +auth +evalsha +hmget +sismember +hget))
    eq 'OK' or die 'ACL SETUSER failed';
--- imprest_redis: 127.0.0.1:$TEST_NGINX_SPARE_PORT user=gate password=gatepw retry=100ms
--- config
    location /api/ {
        imprest_gate on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- request
GET /api/v1/invoices
--- more_headers eval
"Authorization: Bearer $Imprest::Test::AT\nX-Organization-Id: $Imprest::Test::ORG1"
--- error_code: 503
--- response_body
{"error":"temporarily_unavailable","error_description":"the authorization service is unavailable"}
--- error_log eval
"imprest: redis 127.0.0.1:$ENV{TEST_NGINX_SPARE_PORT}: SCRIPT LOAD failed: NOPERM this user has no permissions to run the 'script|load' command"
--- no_error_log
http init upstream
[alert]



=== TEST 46: R10 an ACL user that may not read the token keys: 503, never "unknown token"
--- before_start
my $port = $ENV{TEST_NGINX_SPARE_PORT};
start_redis(port => $port, password => 'adminpw');
seed_small(port => $port, password => 'adminpw');
redis_at({ port => $port, password => 'adminpw' }, qw(ACL SETUSER gate on
    >gatepw ~other:* -@all +auth +script|load +evalsha +hmget +sismember
    +hget)) eq 'OK' or die 'ACL SETUSER failed';
--- imprest_redis: 127.0.0.1:$TEST_NGINX_SPARE_PORT user=gate password=gatepw retry=100ms
--- config
    location /api/ {
        imprest_gate on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- request
GET /api/v1/invoices
--- more_headers eval
"Authorization: Bearer $Imprest::Test::AT\nX-Organization-Id: $Imprest::Test::ORG1"
--- error_code: 503
--- response_headers
!WWW-Authenticate
--- response_body
{"error":"temporarily_unavailable","error_description":"the authorization service is unavailable"}
--- error_log eval
"imprest: redis 127.0.0.1:$ENV{TEST_NGINX_SPARE_PORT}: error reply: NOPERM this user has no permissions to access one of the keys used as arguments"
--- no_error_log
http init upstream
[alert]



=== TEST 47: R10 a stale replica (real MASTERDOWN): 503 and reconnect; promoted again: 200
--- before_start
start_redis(port => $ENV{TEST_NGINX_SPARE_PORT});
seed_small(port => $ENV{TEST_NGINX_SPARE_PORT});
--- imprest_redis: 127.0.0.1:$TEST_NGINX_SPARE_PORT retry=100ms
--- config
    location /api/ {
        imprest_gate on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- init
my $port = $ENV{TEST_NGINX_SPARE_PORT};
ok(wait_log("imprest: redis 127.0.0.1:$port ready", 2), 'R10: connected');
redis_at($port, qw(CONFIG SET replica-serve-stale-data no));
# a primary nobody listens on: the link stays down
redis_at($port, qw(REPLICAOF 127.0.0.1 1));
after_response(0, sub {
    redis_at($port, qw(REPLICAOF NO ONE));
    ok(wait_log("imprest: redis 127.0.0.1:$port ready", 2, 2),
       'R10: reconnected');
});
--- request eval
["GET /api/v1/invoices", "GET /api/v1/invoices"]
--- more_headers eval
[("Authorization: Bearer $Imprest::Test::AT\nX-Organization-Id: $Imprest::Test::ORG1") x 2]
--- error_code eval
[503, 200]
--- response_body eval
["{\"error\":\"temporarily_unavailable\",\"error_description\":\"the authorization service is unavailable\"}\n",
 "uid=alice cid=app1 org=$Imprest::Test::ORG1 iorg=$Imprest::Test::ORG1 scope=money_in money_out auth= xauth= uri=/api/v1/invoices\n"]
--- error_log eval
["imprest: redis 127.0.0.1:$ENV{TEST_NGINX_SPARE_PORT}: error reply: MASTERDOWN",
 "imprest: redis 127.0.0.1:$ENV{TEST_NGINX_SPARE_PORT}: closing connection: error reply"]
--- no_error_log
[alert]
[crit]



=== TEST 48: R11 functions and scripts flushed on the real Redis: 503, the reconnect loads them again, 200
--- init
seed();
ok(wait_log("imprest: redis 127.0.0.1:$ENV{TEST_NGINX_REDIS_PORT} ready", 2),
   'R11: connected');
redis('FUNCTION', 'FLUSH');
redis('SCRIPT', 'FLUSH');
after_response(0, sub {
    ok(wait_log("imprest: redis 127.0.0.1:$ENV{TEST_NGINX_REDIS_PORT} ready",
                2, 2), 'R11: reconnected');
});
--- imprest_redis: 127.0.0.1:$TEST_NGINX_REDIS_PORT retry=100ms
--- config
    location /api/ {
        imprest_gate on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- request eval
["GET /api/v1/invoices", "GET /api/v1/invoices"]
--- more_headers eval
[("Authorization: Bearer $Imprest::Test::AT\nX-Organization-Id: $Imprest::Test::ORG1") x 2]
--- error_code eval
[503, 200]
--- response_body eval
["{\"error\":\"temporarily_unavailable\",\"error_description\":\"the authorization service is unavailable\"}\n",
 "uid=alice cid=app1 org=$Imprest::Test::ORG1 iorg=$Imprest::Test::ORG1 scope=money_in money_out auth= xauth= uri=/api/v1/invoices\n"]
--- error_log eval
["imprest: redis 127.0.0.1:$ENV{TEST_NGINX_REDIS_PORT}: error reply: ERR Function not found",
 "imprest: redis 127.0.0.1:$ENV{TEST_NGINX_REDIS_PORT}: closing connection: error reply"]
--- no_error_log
[alert]
[crit]



=== TEST 49: R11 Redis over maxmemory (writes refused with -OOM): the read-only lookup still passes
--- before_start
start_redis(port => $ENV{TEST_NGINX_SPARE_PORT});
seed_small(port => $ENV{TEST_NGINX_SPARE_PORT});
--- imprest_redis: 127.0.0.1:$TEST_NGINX_SPARE_PORT
--- config
    location /api/ {
        imprest_gate on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- init
my $port = $ENV{TEST_NGINX_SPARE_PORT};
redis_at($port, qw(CONFIG SET maxmemory-policy noeviction));
redis_at($port, qw(CONFIG SET maxmemory 1));
like(redis_at($port, qw(SET probe 1)), qr/^OOM /, 'R11: Redis refuses writes');
--- request
GET /api/v1/invoices
--- more_headers eval
"Authorization: Bearer $Imprest::Test::AT\nX-Organization-Id: $Imprest::Test::ORG1"
--- response_body eval
"uid=alice cid=app1 org=$Imprest::Test::ORG1 iorg=$Imprest::Test::ORG1 scope=money_in money_out auth= xauth= uri=/api/v1/invoices\n"
--- no_error_log
[error]
[alert]



=== TEST 50: R14 client gone while its lookup is pending: the late reply is discarded, not given to the next request
--- before_start
stop_fake();
# one connection: the first lookup is answered 0.8s late with alice; the
# next request, sent while that reply is still due, is bob's
fake_redis($ENV{TEST_NGINX_FAKE_PORT},
           { delay => 0.8, reply => gate_reply() }, gate_reply(uid => 'bob'));
--- imprest_redis: 127.0.0.1:$TEST_NGINX_FAKE_PORT timeout=3s
--- config
    location /api/ {
        imprest_gate on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- init
after_response(1, sub {
    ok(wait_log('imprest: redis command queued: token, 2 pending', 0),
       "R14: bob's lookup was queued behind the detached one");
});
--- request eval
["GET /api/v1/invoices", "GET /api/v1/invoices"]
--- more_headers eval
["Authorization: Bearer $Imprest::Test::AT\nX-Organization-Id: $Imprest::Test::ORG1",
 "Authorization: Bearer $Imprest::Test::AT_BOB\nX-Organization-Id: $Imprest::Test::ORG1"]
--- timeout: 0.5
--- abort
--- error_code eval
["", 200]
--- response_body eval
["", "uid=bob cid=app1 org=$Imprest::Test::ORG1 iorg=$Imprest::Test::ORG1 scope=money_in money_out auth= xauth= uri=/api/v1/invoices\n"]
--- error_log
client prematurely closed connection
imprest: request ended, redis command detached
--- no_error_log
[error]
[alert]
[crit]



=== TEST 51: R14 client gone and Redis hung: the detached lookup still times out and the connection is replaced
--- before_start
stop_fake();
fake_redis_conns($ENV{TEST_NGINX_FAKE_PORT}, [{ hang => 1 }],
                 [gate_reply(uid => 'bob')]);
--- imprest_redis: 127.0.0.1:$TEST_NGINX_FAKE_PORT timeout=400ms retry=100ms
--- config
    location /api/ {
        imprest_gate on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- init
after_response(0, sub {
    ok(wait_log('imprest: redis command timed out (request already gone)', 2),
       'R14: the detached lookup timed out');
    ok(wait_log("imprest: redis 127.0.0.1:$ENV{TEST_NGINX_FAKE_PORT} ready",
                2, 2), 'R14: on a fresh connection');
});
--- request eval
["GET /api/v1/invoices", "GET /api/v1/invoices"]
--- more_headers eval
["Authorization: Bearer $Imprest::Test::AT\nX-Organization-Id: $Imprest::Test::ORG1",
 "Authorization: Bearer $Imprest::Test::AT_BOB\nX-Organization-Id: $Imprest::Test::ORG1"]
--- timeout: 0.2
--- abort
--- error_code eval
["", 200]
--- response_body eval
["", "uid=bob cid=app1 org=$Imprest::Test::ORG1 iorg=$Imprest::Test::ORG1 scope=money_in money_out auth= xauth= uri=/api/v1/invoices\n"]
--- error_log
imprest: request ended, redis command detached
--- no_error_log
[alert]
[crit]



=== TEST 52: R9 max_reply bounds the whole reply, not only the part not yet parsed: discarded as read, the link carries on
--- before_start
stop_fake();
# 4096 bulks of 15000 bytes: each fits under max_reply=16k, the reply is
# 61 MB.  hiredis parses elements as they arrive and discards the bytes
# it consumed, so only a limit on the whole reply keeps the worker from
# holding all of it.
fake_redis_conns($ENV{TEST_NGINX_FAKE_PORT},
                 ["*4096\r\n" . resp_bulk('x' x 15000) x 4096,
                  gate_reply()]);
--- imprest_redis: 127.0.0.1:$TEST_NGINX_FAKE_PORT timeout=3s retry=100ms max_reply=16k
--- config
    location /api/ {
        imprest_gate on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- init
ok(wait_log("imprest: redis 127.0.0.1:$ENV{TEST_NGINX_FAKE_PORT} ready", 2),
   'R9: connected');
my $before = nginx_peak_kb();
after_response(0, sub {
    my $grew = nginx_peak_kb() - $before;
    ok($grew < 8 * 1024, "R9: peak worker memory grew by ${grew} kB "
                         . '(max_reply=16k)');
});
--- request eval
["GET /api/v1/invoices", "GET /api/v1/invoices"]
--- more_headers eval
[("Authorization: Bearer $Imprest::Test::AT\nX-Organization-Id: $Imprest::Test::ORG1") x 2]
--- error_code eval
[503, 200]
--- response_body eval
["{\"error\":\"temporarily_unavailable\",\"error_description\":\"the authorization service is unavailable\"}\n",
 "uid=alice cid=app1 org=$Imprest::Test::ORG1 iorg=$Imprest::Test::ORG1 scope=money_in money_out auth= xauth= uri=/api/v1/invoices\n"]
--- error_log eval
["imprest: redis 127.0.0.1:$ENV{TEST_NGINX_FAKE_PORT}: discarding a reply over max_reply=16384"]
--- no_error_log
connection lost
closing connection
[alert]
[crit]



=== TEST 53: R5 Redis stopped before nginx starts: TCP connects, the handshake never answers, 503 at connect_timeout
--- before_start
start_redis(port => $ENV{TEST_NGINX_SPARE_PORT});
seed_small(port => $ENV{TEST_NGINX_SPARE_PORT});
signal_redis($ENV{TEST_NGINX_SPARE_PORT}, 'STOP');
--- imprest_redis: 127.0.0.1:$TEST_NGINX_SPARE_PORT timeout=5s connect_timeout=300ms retry=100ms
--- config
    location /api/ {
        imprest_gate on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- init
my $port = $ENV{TEST_NGINX_SPARE_PORT};
after_response(0, sub {
    signal_redis($port, 'CONT');
    ok(wait_log("imprest: redis 127.0.0.1:$port ready", 2),
       'R5: ready once Redis runs again');
});
--- request eval
["GET /api/v1/invoices", "GET /api/v1/invoices"]
--- more_headers eval
[("Authorization: Bearer $Imprest::Test::AT\nX-Organization-Id: $Imprest::Test::ORG1") x 2]
--- error_code eval
[503, 200]
--- response_body eval
["{\"error\":\"temporarily_unavailable\",\"error_description\":\"the authorization service is unavailable\"}\n",
 "uid=alice cid=app1 org=$Imprest::Test::ORG1 iorg=$Imprest::Test::ORG1 scope=money_in money_out auth= xauth= uri=/api/v1/invoices\n"]
--- error_log eval
"imprest: redis 127.0.0.1:$ENV{TEST_NGINX_SPARE_PORT}: closing connection: connect timed out"
--- no_error_log
imprest: redis command timed out
[alert]
[crit]



=== TEST 54: R8 a timeout fails every lookup pipelined on that connection; none gets another's late answer
--- before_start
stop_fake();
# connection 1 answers "found, alice" to everything, the first 0.6s late;
# a fresh connection says "no such token"
fake_redis_conns($ENV{TEST_NGINX_FAKE_PORT},
                 [{ delay => 0.6, reply => gate_reply() }, gate_reply()],
                 [$NOT_FOUND]);
--- imprest_redis: 127.0.0.1:$TEST_NGINX_FAKE_PORT timeout=300ms retry=100ms
--- config
    location /api/ {
        imprest_gate on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- init
my $first = bg_get('/api/v1/first', headers => [
    "Authorization: Bearer $AT", "X-Organization-Id: $ORG1"]);
ok(wait_log('imprest: redis command queued: token, 1 pending', 2),
   'R8: the first lookup is pending');
after_response(0, sub {
    ok(wait_log('imprest: redis command queued: token, 2 pending', 0),
       'R8: the second lookup was pipelined behind it');
    my $r = bg_wait($first);
    is($r->{status}, 503, 'R8: the first lookup fails at its timeout');
});
--- request eval
["GET /api/v1/second", "GET /api/v1/third"]
--- more_headers eval
["Authorization: Bearer $Imprest::Test::AT_BOB\nX-Organization-Id: $Imprest::Test::ORG1",
 "Authorization: Bearer $Imprest::Test::AT_EXPIRED\nX-Organization-Id: $Imprest::Test::ORG1"]
--- error_code eval
[503, 401]
--- response_body eval
["{\"error\":\"temporarily_unavailable\",\"error_description\":\"the authorization service is unavailable\"}\n",
 "{\"error\":\"invalid_token\",\"error_description\":\"unknown, expired or revoked token\"}\n"]
--- error_log eval
["imprest: redis 127.0.0.1:$ENV{TEST_NGINX_FAKE_PORT}: closing connection: command timed out",
 "imprest: redis 127.0.0.1:$ENV{TEST_NGINX_FAKE_PORT}: no reply: connection closed"]
--- no_error_log
http init upstream
[alert]
[crit]



=== TEST 55: a lookup made while another is unanswered is held, then written once that reply is in
--- before_start
stop_fake();
# the first lookup is answered 0.5s late: alice, or eve if the next
# command had already been written behind it; the next one is bob's
fake_redis_conns($ENV{TEST_NGINX_FAKE_PORT},
                 [{ delay => 0.5, reply => gate_reply(),
                    busy => gate_reply(uid => 'eve') },
                  gate_reply(uid => 'bob')]);
--- imprest_redis: 127.0.0.1:$TEST_NGINX_FAKE_PORT timeout=2s
--- config
    location /api/ {
        imprest_gate on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- init
my $first = bg_get('/api/v1/first', headers => [
    "Authorization: Bearer $AT", "X-Organization-Id: $ORG1"]);
ok(wait_log('imprest: redis command queued: token, 1 pending', 2),
   'the first lookup is in flight');
after_response(0, sub {
    ok(wait_log('imprest: redis command held behind 1 in flight', 0),
       'the second lookup was held');
    my $r = bg_wait($first);
    is($r->{status}, 200, 'the first lookup is answered');
    like($r->{body}, qr/^uid=alice /,
         'nothing was written behind the unanswered lookup');
});
--- request
GET /api/v1/second
--- more_headers eval
"Authorization: Bearer $Imprest::Test::AT_BOB\nX-Organization-Id: $Imprest::Test::ORG1"
--- response_body eval
"uid=bob cid=app1 org=$Imprest::Test::ORG1 iorg=$Imprest::Test::ORG1 scope=money_in money_out auth= xauth= uri=/api/v1/second\n"
--- no_error_log
[error]
[alert]
[crit]
