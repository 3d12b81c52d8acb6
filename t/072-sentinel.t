# imprest_redis sentinel:NAME ADDR...: the primary found through a
# Sentinel, checked with ROLE before any command, followed on
# +switch-master; Sentinels that are down, that do not know the name or
# that announce a host name leave the gate failing closed (503).  The
# Sentinel here is the suite's fake (t/lib/Imprest/Test.pm) answering
# SENTINEL and SUBSCRIBE on cue, in front of real redis-servers; the
# failover with real redis-sentinel processes is t/sentinel/run.sh.
# The configuration errors of the new parameters are here too.
use Test::Nginx::Socket 'no_plan';
use Imprest::Test;

no_shuffle();
use_fault_hooks();

add_block_preprocessor(sub {
    my $block = shift;
    if (defined(my $redis = $block->imprest_redis)) {
        (my $http = $Imprest::Test::HTTP_CONFIG)
            =~ s/imprest_redis [^;]*;/imprest_redis $redis;/;
        $block->set_value(http_config => $http);
    }
    return $block;
});

# what a Sentinel says: the master's address, the subscription's
# confirmation, a +switch-master message
sub master_is {
    my ($host, $port) = @_;
    return '*2' . "\r\n" . resp_bulk($host) . resp_bulk($port);
}
our $SUBSCRIBED = "*3\r\n" . resp_bulk('subscribe')
                  . resp_bulk('+switch-master') . ":1\r\n";
sub switch_message {
    my ($from, $to) = @_;
    return "*3\r\n" . resp_bulk('message') . resp_bulk('+switch-master')
           . resp_bulk("mymaster 127.0.0.1 $from 127.0.0.1 $to");
}

run_tests();

__DATA__

=== TEST 1: the gate through a Sentinel: the primary it names, confirmed by ROLE, serves
--- before_start
stop_fake();
start_redis(port => $ENV{TEST_NGINX_SPARE_PORT});
seed_small(port => $ENV{TEST_NGINX_SPARE_PORT});
fake_redis($ENV{TEST_NGINX_FAKE_PORT}, main::master_is('127.0.0.1', $ENV{TEST_NGINX_SPARE_PORT}),
              $main::SUBSCRIBED);
--- init
wait_log("primary 127.0.0.1:$ENV{TEST_NGINX_SPARE_PORT} confirmed", 3);
--- imprest_redis: sentinel:mymaster 127.0.0.1:$TEST_NGINX_FAKE_PORT retry=200ms
--- config
    location /api/ {
        imprest_gate on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- request
GET /api/v1/invoices
--- more_headers eval
"Authorization: Bearer $Imprest::Test::AT\nX-Organization-Id: $Imprest::Test::ORG1"
--- error_code: 200
--- response_body eval
"uid=alice cid=app1 org=$Imprest::Test::ORG1 iorg=$Imprest::Test::ORG1 scope=money_in money_out auth= xauth= uri=/api/v1/invoices\n"
--- error_log eval
["imprest: redis sentinel:mymaster: primary 127.0.0.1:$ENV{TEST_NGINX_SPARE_PORT} confirmed"]
--- no_error_log
[error]



=== TEST 2: a Sentinel naming a replica: ROLE refuses it, 503 and no command sent
--- before_start
stop_fake();
start_redis(port => $ENV{TEST_NGINX_SPARE_PORT},
            args => ['--replicaof', '127.0.0.1', '1']);
fake_redis($ENV{TEST_NGINX_FAKE_PORT}, main::master_is('127.0.0.1', $ENV{TEST_NGINX_SPARE_PORT}),
              $main::SUBSCRIBED);
--- init
wait_log('ROLE says "slave"', 3);
--- imprest_redis: sentinel:mymaster 127.0.0.1:$TEST_NGINX_FAKE_PORT retry=200ms
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
--- error_log eval
["imprest: redis sentinel:mymaster: ROLE says \"slave\"",
 "closing connection: ROLE: not the primary",
 "imprest: redis unavailable"]
--- no_error_log
http init upstream
imprest: redis command queued



=== TEST 3: a Sentinel that does not know the master name: 503
--- before_start
stop_fake();
fake_redis($ENV{TEST_NGINX_FAKE_PORT}, "*-1\r\n", $main::SUBSCRIBED);
--- init
wait_log('does not know the master name', 3);
--- imprest_redis: sentinel:mymaster 127.0.0.1:$TEST_NGINX_FAKE_PORT retry=200ms
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
--- error_log eval
["imprest: redis sentinel 127.0.0.1:$ENV{TEST_NGINX_FAKE_PORT}: does not know the master name",
 "imprest: redis unavailable"]
--- no_error_log
http init upstream



=== TEST 4: a Sentinel announcing a host name: refused (the worker never resolves), 503
--- before_start
stop_fake();
fake_redis($ENV{TEST_NGINX_FAKE_PORT}, main::master_is('redis.example', '6379'), $main::SUBSCRIBED);
--- init
wait_log('announced a host name', 3);
--- imprest_redis: sentinel:mymaster 127.0.0.1:$TEST_NGINX_FAKE_PORT retry=200ms
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
--- error_log
announced a host name or invalid address
--- no_error_log
http init upstream



=== TEST 5: every Sentinel down: each is tried in turn, the gate answers 503 at once
--- before_start
stop_fake();
stop_redis($ENV{TEST_NGINX_SPARE_PORT});
--- init
wait_log("imprest: redis sentinel 127.0.0.1:$ENV{TEST_NGINX_SPARE_PORT}: connection lost", 3);
--- imprest_redis: sentinel:mymaster 127.0.0.1:$TEST_NGINX_FAKE_PORT 127.0.0.1:$TEST_NGINX_SPARE_PORT retry=200ms
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
--- error_log eval
[qr/imprest: redis sentinel 127\.0\.0\.1:$ENV{TEST_NGINX_FAKE_PORT}: (connect failed|connection lost)/,
 qr/imprest: redis sentinel 127\.0\.0\.1:$ENV{TEST_NGINX_SPARE_PORT}: (connect failed|connection lost)/,
 "imprest: redis unavailable"]
--- no_error_log
http init upstream



=== TEST 6: +switch-master moves the link to the new primary, no reload
--- before_start
stop_fake();
start_redis(port => $ENV{TEST_NGINX_SPARE_PORT});
seed_small(port => $ENV{TEST_NGINX_SPARE_PORT});
seed_small();
fake_redis($ENV{TEST_NGINX_FAKE_PORT}, main::master_is('127.0.0.1', $ENV{TEST_NGINX_SPARE_PORT}),
              { delay => 1, reply => $main::SUBSCRIBED
                . main::switch_message($ENV{TEST_NGINX_SPARE_PORT},
                                       $ENV{TEST_NGINX_REDIS_PORT}) },
              main::master_is('127.0.0.1', $ENV{TEST_NGINX_REDIS_PORT}),
              $main::SUBSCRIBED);
--- init
wait_log("primary 127.0.0.1:$ENV{TEST_NGINX_SPARE_PORT} confirmed", 3);
after_response(0, sub {
    ok(wait_log("primary 127.0.0.1:$ENV{TEST_NGINX_REDIS_PORT} confirmed", 4),
       'the link moved to the announced primary');
    ok(wait_log("Sentinel switched the primary to 127.0.0.1:"
                . $ENV{TEST_NGINX_REDIS_PORT}, 1)
       && wait_log('closing connection: Sentinel switched the primary', 1),
       'because of +switch-master');
    # the old one gone: only the new one can answer now
    stop_redis($ENV{TEST_NGINX_SPARE_PORT});
});
--- imprest_redis: sentinel:mymaster 127.0.0.1:$TEST_NGINX_FAKE_PORT retry=200ms
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
[200, 200]



=== TEST 7: "sentinel:NAME" needs at least one Sentinel address
--- http_config
    imprest_redis sentinel:mymaster timeout=1s;
--- config
    location /api/ {
        imprest_gate on;
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*imprest_redis: "sentinel:mymaster" needs a master name and at least one Sentinel address in /



=== TEST 8: an invalid Sentinel address is refused
--- http_config
    imprest_redis sentinel:mymaster 127.0.0.1;
--- config
    location /api/ {
        imprest_gate on;
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*imprest_redis: invalid Sentinel address "127\.0\.0\.1"/



=== TEST 9: sentinel_password= needs a Sentinel address
--- http_config
    imprest_redis 127.0.0.1:6379 sentinel_password=secret;
--- config
    location /api/ {
        imprest_gate on;
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*imprest_redis: "sentinel_password=" needs a "sentinel:NAME" address in /



=== TEST 10: wait= longer than half of timeout= is refused (WAIT holds the connection)
--- http_config
    imprest_redis sentinel:mymaster 127.0.0.1:26379 timeout=500ms wait=300ms;
--- config
    location /api/ {
        imprest_gate on;
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*imprest_redis: "wait=300" must be at most half of "timeout=500" in /



=== TEST 11: wait=abc is refused
--- http_config
    imprest_redis 127.0.0.1:6379 wait=abc;
--- config
    location /api/ {
        imprest_gate on;
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*imprest_redis: invalid parameter "wait=abc" in /
