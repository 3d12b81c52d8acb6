# How the gate reaches Redis: unix sockets, SELECT db=, key prefix=,
# AUTH + SELECT + SCRIPT LOAD pipelined on one handshake, one connection
# per worker with master and two workers, and many requests over one
# client keep-alive connection (imprest_redis parameters; R1 over a unix
# socket).
#
# --- before_start runs before nginx starts (see t/070-redis-faults.t);
# --- imprest_redis replaces the directive in the shared http{} preamble;
# --- workers: N runs that block with a master and N workers.
use Test::Nginx::Socket 'no_plan';
use Imprest::Test;

no_shuffle();
use_fault_hooks();

# a unix socket for the private Redis on $TEST_NGINX_SPARE_PORT
$ENV{TEST_NGINX_SPARE_SOCKET} =
    ($ENV{IMPREST_TEST_TMP} // '/tmp') . "/spare-$$.sock";

add_block_preprocessor(sub {
    my $block = shift;
    if (defined(my $redis = $block->imprest_redis)) {
        (my $http = $Imprest::Test::HTTP_CONFIG)
            =~ s/imprest_redis [^;]*;/imprest_redis $redis;/;
        $block->set_value(http_config => $http);
    }
    if (defined(my $n = $block->workers)) {
        workers($n);
        master_on();
    } else {
        workers(1);
        master_off();
    }
    return $block;
});

run_tests();

__DATA__

=== TEST 1: unix socket: the suite's Redis over unix:/path
--- init
seed();
--- imprest_redis: unix:$TEST_NGINX_REDIS_SOCKET
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
"imprest: redis unix:$ENV{TEST_NGINX_REDIS_SOCKET} ready"
--- no_error_log
[error]
[alert]



=== TEST 2: R1 unix socket nobody listens on: nginx starts, the gate answers 503
--- imprest_redis: unix:$TEST_NGINX_SERVER_ROOT/nobody.sock retry=200ms
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
--- response_body
{"error":"temporarily_unavailable","error_description":"the authorization service is unavailable"}
--- error_log eval
"imprest: redis unix:$ENV{TEST_NGINX_SERVER_ROOT}/nobody.sock: connect failed: No such file or directory"
--- no_error_log
http init upstream
[alert]



=== TEST 3: db=3: the handshake SELECTs the database holding the token
--- init
redis('FLUSHALL');
seed_small(db => 3);
--- imprest_redis: 127.0.0.1:$TEST_NGINX_REDIS_PORT db=3
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
--- no_error_log
[error]
[alert]



=== TEST 4: db=3: a token that lives only in db 0 is unknown there (401)
--- init
redis('FLUSHALL');
seed_small();
--- imprest_redis: 127.0.0.1:$TEST_NGINX_REDIS_PORT db=3
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
--- response_body
{"error":"invalid_token","error_description":"unknown, expired or revoked token"}
--- error_log
imprest: unknown, expired or revoked token
--- no_error_log
[error]
[alert]



=== TEST 5: prefix=other: records written with imprestctl --prefix other: are found
--- init
redis('FLUSHALL');
seed_small(prefix => 'other:');
--- imprest_redis: 127.0.0.1:$TEST_NGINX_REDIS_PORT prefix=other:
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
--- no_error_log
[error]
[alert]



=== TEST 6: prefix=other: records under the default prefix are not looked at (401)
--- init
redis('FLUSHALL');
seed_small();
--- imprest_redis: 127.0.0.1:$TEST_NGINX_REDIS_PORT prefix=other:
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
--- response_body
{"error":"invalid_token","error_description":"unknown, expired or revoked token"}
--- no_error_log
[error]
[alert]



=== TEST 7: unix socket + password + db=2 + prefix: AUTH, SELECT and SCRIPT LOAD in one handshake
--- before_start
my $port = $ENV{TEST_NGINX_SPARE_PORT};
start_redis(port => $port, password => 'pw2',
            args => ['--unixsocket', $ENV{TEST_NGINX_SPARE_SOCKET},
                     '--unixsocketperm', '700']);
seed_small(port => $port, password => 'pw2', db => 2, prefix => 'p:');
--- imprest_redis: unix:$TEST_NGINX_SPARE_SOCKET password=pw2 db=2 prefix=p:
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
"imprest: redis unix:$ENV{TEST_NGINX_SPARE_SOCKET} ready"
--- no_error_log
[error]
[alert]



=== TEST 8: master and two workers: each worker has its own connection, every request passes
--- workers: 2
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
my $conns = 0;
for (1 .. 100) {
    # every client but the redis-cli asking
    $conns = grep { !/cmd=client\|list/ } split /\n/,
                 redis_at($port, qw(CLIENT LIST));
    last if $conns >= 2;
    Time::HiRes::sleep(0.02);
}
is($conns, 2, 'two workers, one Redis connection each');
--- request eval
[map { "GET /api/v1/r$_" } 1 .. 8]
--- more_headers eval
[("Authorization: Bearer $Imprest::Test::AT\nX-Organization-Id: $Imprest::Test::ORG1") x 8]
--- response_body eval
[map { "uid=alice cid=app1 org=$Imprest::Test::ORG1 iorg=$Imprest::Test::ORG1 scope=money_in money_out auth= xauth= uri=/api/v1/r$_\n" } 1 .. 8]
--- no_error_log
[error]
[alert]



=== TEST 9: 24 pipelined requests on one keep-alive connection: each gets its own token's answer
--- init
seed();
--- imprest_redis: 127.0.0.1:$TEST_NGINX_REDIS_PORT
--- config
    location /api/ {
        imprest_gate on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- pipelined_requests eval
[map { "GET /api/v1/r$_" } 0 .. 23]
--- more_headers eval
my @tok = ($Imprest::Test::AT, $Imprest::Test::AT_BOB, $Imprest::Test::AT_EXPIRED,
           $Imprest::Test::AT_BOB);
my @org = ($Imprest::Test::ORG1, $Imprest::Test::ORG1, $Imprest::Test::ORG1,
           $Imprest::Test::ORG2);
[map { "Authorization: Bearer $tok[$_ % 4]\nX-Organization-Id: $org[$_ % 4]" } 0 .. 23]
--- error_code eval
[map { (200, 200, 401, 403)[$_ % 4] } 0 .. 23]
--- response_body eval
[map {
    (
     "uid=alice cid=app1 org=$Imprest::Test::ORG1 iorg=$Imprest::Test::ORG1 scope=money_in money_out auth= xauth= uri=/api/v1/r$_\n",
     "uid=bob cid=app2 org=$Imprest::Test::ORG1 iorg=$Imprest::Test::ORG1 scope=money_in auth= xauth= uri=/api/v1/r$_\n",
     "{\"error\":\"invalid_token\",\"error_description\":\"unknown, expired or revoked token\"}\n",
     "{\"error\":\"access_denied\",\"error_description\":\"the token may not act on this organization\"}\n",
    )[$_ % 4]
} 0 .. 23]
--- no_error_log
[error]
[alert]



=== TEST 10: 40 requests one after another on one keep-alive connection
--- init
seed();
my @tok = ($AT, $AT_BOB, $AT_EXPIRED);
my @r = http_session(map {
    ["/api/v1/s$_", ["Authorization: Bearer $tok[$_ % 3]",
                     "X-Organization-Id: $ORG1"]]
} 0 .. 39);
is(scalar @r, 40, 'keep-alive: 40 responses on one connection');
is_deeply([map { $_->{status} // $_->{error} } @r],
          [map { (200, 200, 401)[$_ % 3] } 0 .. 39],
          'keep-alive: each request answered for its own token');
is_deeply([map { ($_->{body} // '') =~ /^uid=(\w+) .* uri=(\S+)$/ ? "$1 $2" : '-' } @r],
          [map { ('alice', 'bob', '-')[$_ % 3] eq '-' ? '-'
                 : ('alice', 'bob')[$_ % 3] . " /api/v1/s$_" } 0 .. 39],
          'keep-alive: with its own identity and URI');
--- imprest_redis: 127.0.0.1:$TEST_NGINX_REDIS_PORT
--- config
    location /api/ {
        imprest_gate on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- request
GET /api/v1/last
--- more_headers eval
"Authorization: Bearer $Imprest::Test::AT\nX-Organization-Id: $Imprest::Test::ORG1"
--- response_body eval
"uid=alice cid=app1 org=$Imprest::Test::ORG1 iorg=$Imprest::Test::ORG1 scope=money_in money_out auth= xauth= uri=/api/v1/last\n"
--- error_log
imprest: redis command queued: token, 1 pending
--- no_error_log
imprest: redis command queued: token, 2 pending
[error]
[alert]



=== TEST 11: a host name is resolved once at configuration time and used
--- init
seed();
--- imprest_redis: localhost:$TEST_NGINX_REDIS_PORT
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
"imprest: redis localhost:$ENV{TEST_NGINX_REDIS_PORT} ready"
--- no_error_log
[error]
[alert]



=== TEST 12: Redis 7 functions: the lookup is one FCALL of the module's own library, no EVALSHA
--- init
seed();
Imprest::Test::redis('CONFIG', 'RESETSTAT');
after_response(0, sub {
    my $lib = Imprest::Test::redis('FUNCTION', 'LIST', 'LIBRARYNAME',
                                   'imprest_*');
    like($lib, qr/imprest_token_[0-9a-f]{12}/, 'functions: library loaded');
    my $stats = Imprest::Test::redis('INFO', 'commandstats');
    like($stats, qr/^cmdstat_fcall:calls=1,/m, 'functions: one FCALL');
    unlike($stats, qr/^cmdstat_evalsha:/m, 'functions: no EVALSHA');
});
--- imprest_redis: 127.0.0.1:$TEST_NGINX_REDIS_PORT
--- config
    location /api/ {
        imprest_gate on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- request
GET /api/v1/invoices
--- more_headers eval
"Authorization: Bearer $Imprest::Test::AT\nX-Organization-Id: $Imprest::Test::ORG1"
--- response_body_like: ^uid=alice cid=app1
--- no_error_log
[error]
functions unavailable



=== TEST 13: R13 an allkeys-* eviction policy is reported at connection time (codes and refresh tokens rely on markers)
--- before_start
start_redis(port => $ENV{TEST_NGINX_SPARE_PORT},
            args => ['--maxmemory-policy', 'allkeys-lru']);
seed_small(port => $ENV{TEST_NGINX_SPARE_PORT});
--- imprest_redis: 127.0.0.1:$TEST_NGINX_SPARE_PORT
--- config
    location /api/ {
        imprest_gate on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- request
GET /api/v1/invoices
--- more_headers eval
"Authorization: Bearer $Imprest::Test::AT\nX-Organization-Id: $Imprest::Test::ORG1"
--- response_body_like: ^uid=alice cid=app1
--- error_log eval
qr/\[warn\] .*imprest: redis 127\.0\.0\.1:\d+: maxmemory-policy "allkeys-lru" may evict the markers that make codes and refresh tokens single-use/
--- no_error_log
[error]



=== TEST 14: R13 noeviction (the suite's Redis) says nothing
--- init
seed();
--- imprest_redis: 127.0.0.1:$TEST_NGINX_REDIS_PORT
--- config
    location /api/ {
        imprest_gate on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- request
GET /api/v1/invoices
--- more_headers eval
"Authorization: Bearer $Imprest::Test::AT\nX-Organization-Id: $Imprest::Test::ORG1"
--- response_body_like: ^uid=alice cid=app1
--- no_error_log
maxmemory-policy
[error]



=== TEST 15: R13 a volatile-* policy is reported too: every module key has a TTL, so it evicts them like allkeys-*
--- before_start
start_redis(port => $ENV{TEST_NGINX_SPARE_PORT},
            args => ['--maxmemory-policy', 'volatile-ttl']);
seed_small(port => $ENV{TEST_NGINX_SPARE_PORT});
--- imprest_redis: 127.0.0.1:$TEST_NGINX_SPARE_PORT
--- config
    location /api/ {
        imprest_gate on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- request
GET /api/v1/invoices
--- more_headers eval
"Authorization: Bearer $Imprest::Test::AT\nX-Organization-Id: $Imprest::Test::ORG1"
--- response_body_like: ^uid=alice cid=app1
--- error_log eval
qr/\[warn\] .*imprest: redis 127\.0\.0\.1:\d+: maxmemory-policy "volatile-ttl" may evict the markers that make codes and refresh tokens single-use, and grants; use noeviction/
--- no_error_log
[error]

