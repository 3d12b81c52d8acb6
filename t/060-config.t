# Configuration errors: nginx must refuse to start (as `nginx -t` would)
# with one [emerg] line naming the offending value.  TEST 1 is the control:
# the same directives, valid, start and serve.
use Test::Nginx::Socket 'no_plan';
use Imprest::Test;

no_shuffle();
use_fault_hooks();
run_tests();

# the lines of the suite's $imprest_* access log, once it has $want of them
sub var_log_lines {
    my ($want) = @_;
    (my $file = Imprest::Test::error_log_file()) =~ s/error\.log\z/imprest_vars.log/;
    my @lines;
    for (1 .. 200) {
        if (open my $fh, '<', $file) { @lines = <$fh> }
        last if @lines >= $want;
        Time::HiRes::sleep(0.01);
    }
    chomp @lines;
    return @lines;
}

__DATA__

=== TEST 1: control: every directive with a valid value starts
--- http_config
    imprest_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT timeout=500ms connect_timeout=1s retry=2s db=0 prefix=imprest: max_reply=64k;
--- config
    imprest_realm "Imprest API";
    imprest_require_scope "money_in money_out";

    location /api/ {
        imprest_gate on;
        imprest_require_org off;
        imprest_audience https://api.imprest.example;
        imprest_identity_headers on;
        imprest_strip_header X-Auth-User X_Remote_User;
        imprest_retry_after 5s;
        return 204;
    }

    location = /api/v1/me/organizations {
        imprest_organizations;
    }

    location = /up {
        return 200 "up\n";
    }
--- request
GET /up
--- response_body
up
--- no_error_log
[emerg]
[error]



=== TEST 2: imprest_redis resolves a host name once, at configuration time; an unknown one is refused
--- http_config
    imprest_redis no-such-host.invalid:6379;
--- config
    location /api/ {
        imprest_gate on;
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*imprest_redis: cannot resolve "no-such-host\.invalid": host not found in \S+nginx\.conf:\d+$/



=== TEST 3: imprest_redis refuses a port out of range
--- http_config
    imprest_redis 127.0.0.1:99999;
--- config
    location /api/ {
        imprest_gate on;
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*imprest_redis: invalid address "127\.0\.0\.1:99999" \(expected IP:PORT, \[IPv6\]:PORT or unix:\/path\) in \S+nginx\.conf:\d+$/



=== TEST 4: imprest_redis refuses an address without a port
--- http_config
    imprest_redis 127.0.0.1;
--- config
    location /api/ {
        imprest_gate on;
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*imprest_redis: invalid address "127\.0\.0\.1" \(expected IP:PORT, \[IPv6\]:PORT or unix:\/path\) in /



=== TEST 5: imprest_redis refuses a relative unix socket path
--- http_config
    imprest_redis unix:redis.sock;
--- config
    location /api/ {
        imprest_gate on;
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*imprest_redis: unix socket path "unix:redis\.sock" must be absolute in /



=== TEST 6: imprest_redis refuses timeout=abc
--- http_config
    imprest_redis 127.0.0.1:6379 timeout=abc;
--- config
    location /api/ {
        imprest_gate on;
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*imprest_redis: invalid parameter "timeout=abc" in \S+nginx\.conf:\d+$/



=== TEST 7: imprest_redis refuses timeout=0 (no bound at all)
--- http_config
    imprest_redis 127.0.0.1:6379 timeout=0;
--- config
    location /api/ {
        imprest_gate on;
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*imprest_redis: invalid parameter "timeout=0" in /



=== TEST 8: imprest_redis refuses an unknown parameter
--- http_config
    imprest_redis 127.0.0.1:6379 bogus=1;
--- config
    location /api/ {
        imprest_gate on;
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*imprest_redis: invalid parameter "bogus=1" in \S+nginx\.conf:\d+$/



=== TEST 9: imprest_redis refuses an empty password= without echoing anything
--- http_config
    imprest_redis 127.0.0.1:6379 password=;
--- config
    location /api/ {
        imprest_gate on;
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*imprest_redis: empty "password=" in /



=== TEST 10: imprest_redis refuses user= without password=
--- http_config
    imprest_redis 127.0.0.1:6379 user=gate;
--- config
    location /api/ {
        imprest_gate on;
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*imprest_redis: "user=" needs "password=" in /



=== TEST 11: imprest_redis twice is refused
--- http_config
    imprest_redis 127.0.0.1:6379;
    imprest_redis 127.0.0.1:6380;
--- config
    location /api/ {
        imprest_gate on;
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*"imprest_redis" directive is duplicate in \S+nginx\.conf:\d+$/



=== TEST 12: imprest_redis is http-level only
--- config
    imprest_redis 127.0.0.1:6379;

    location /api/ {
        imprest_gate on;
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*"imprest_redis" directive is not allowed here in /



=== TEST 13: imprest_gate on without imprest_redis
--- config
    location /api/ {
        imprest_gate on;
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*imprest_gate and imprest_organizations need "imprest_redis" in the http block/



=== TEST 14: imprest_organizations without imprest_redis
--- config
    location = /api/v1/me/organizations {
        imprest_organizations;
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*imprest_gate and imprest_organizations need "imprest_redis" in the http block/



=== TEST 15: imprest_realm refuses a quote (it is sent inside a quoted-string)
--- http_config
    imprest_redis 127.0.0.1:6379;
--- config
    location /api/ {
        imprest_gate on;
        imprest_realm "a\"b";
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*imprest_realm "a"b" contains a quote, backslash or control character in \S+nginx\.conf:\d+$/



=== TEST 16: imprest_realm refuses a backslash
--- http_config
    imprest_redis 127.0.0.1:6379;
--- config
    location /api/ {
        imprest_gate on;
        imprest_realm "a\\b";
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*imprest_realm "a\\b" contains a quote, backslash or control character in /



=== TEST 17: imprest_require_scope refuses a quote (outside NQCHAR)
--- http_config
    imprest_redis 127.0.0.1:6379;
--- config
    location /api/ {
        imprest_gate on;
        imprest_require_scope "bad\"scope";
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*imprest_require_scope: invalid scope "bad"scope" in \S+nginx\.conf:\d+$/



=== TEST 18: imprest_require_scope refuses a TAB between scopes (only SP delimits)
--- http_config
    imprest_redis 127.0.0.1:6379;
--- config
    location /api/ {
        imprest_gate on;
        imprest_require_scope "money_in\tmoney_out";
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*imprest_require_scope: invalid scope "money_in\tmoney_out" in /



=== TEST 19: imprest_require_scope twice in one location is refused
--- http_config
    imprest_redis 127.0.0.1:6379;
--- config
    location /api/ {
        imprest_gate on;
        imprest_require_scope money_in;
        imprest_require_scope money_out;
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*"imprest_require_scope" directive is duplicate in /



=== TEST 20: imprest_strip_header refuses a name with a space
--- http_config
    imprest_redis 127.0.0.1:6379;
--- config
    location /api/ {
        imprest_gate on;
        imprest_strip_header "bad header";
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*imprest_strip_header: invalid header name "bad header" in \S+nginx\.conf:\d+$/



=== TEST 21: imprest_strip_header refuses an empty name
--- http_config
    imprest_redis 127.0.0.1:6379;
--- config
    location /api/ {
        imprest_gate on;
        imprest_strip_header "";
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*"imprest_strip_header" directive has an empty header name in /



=== TEST 22: imprest_organizations is location-level only
--- http_config
    imprest_redis 127.0.0.1:6379;
--- config
    imprest_organizations;
--- must_die
--- error_log eval
qr/\[emerg\] .*"imprest_organizations" directive is not allowed here in /



=== TEST 23: "imprest_gate on" inherited from server{} into an endpoint location is refused, naming the fix
--- http_config eval
$Imprest::Test::AS_HTTP_CONFIG
--- config
    imprest_gate on;

    location /api/ {
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }

    location = /oauth/token {
        imprest_token;
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*"imprest_gate on" reaches a location with "imprest_token": add "imprest_gate off;" there in \S+nginx\.conf:\d+$/



=== TEST 24: "imprest_gate on" and an endpoint in one location are refused
--- http_config eval
$Imprest::Test::AS_HTTP_CONFIG
--- config
    location = /oauth/authorize {
        imprest_gate on;
        imprest_user $http_x_test_user;
        imprest_authorize;
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*"imprest_gate on" reaches a location with "imprest_authorize": add "imprest_gate off;" there/



=== TEST 25: gate on in server{}, off in the endpoints: both serve, and every $imprest_* variable is set where the gate ran and empty where it did not
--- http_config eval
$Imprest::Test::AS_HTTP_CONFIG
--- config
    imprest_gate on;

    location /api/ {
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }

    location = /oauth/token {
        imprest_gate off;
        imprest_token;
    }

    location = /oauth/authorize {
        imprest_gate off;
        imprest_user $http_x_test_user;
        imprest_authorize;
    }
--- init
seed_as();
after_response(2, sub {
    # the upstream's own server logs the proxied request (HTTP/1.0) too
    my @l = grep { !/ HTTP\/1\.0 / } main::var_log_lines(4);
    Test::More::is(scalar(@l), 3, 'three log lines');
    # nginx logs an empty variable as "-"
    Test::More::is($l[0], "GET /api/v1/invoices HTTP/1.1 200 st=ok u=alice c=app1 o=$ORG1 s=\"money_in money_out\"",
                   'the gated request: its check');
    Test::More::is($l[1], 'POST /oauth/token HTTP/1.1 401 st=- u=- c=- o=- s="-"',
                   'the token endpoint: no check, empty');
    Test::More::is($l[2], 'GET /oauth/authorize HTTP/1.1 401 st=- u=- c=- o=- s="-"',
                   'the authorization endpoint: no check, empty');
});
--- request eval
["GET /api/v1/invoices", "POST /oauth/token\ngrant_type=authorization_code", "GET /oauth/authorize"]
--- more_headers eval
["Authorization: Bearer $Imprest::Test::AT\nX-Organization-Id: $Imprest::Test::ORG1",
 "Content-Type: application/x-www-form-urlencoded", ""]
--- error_code eval
[200, 401, 401]
--- no_error_log
[alert]
[crit]
exited on signal



=== TEST 26: imprest_organizations is one endpoint like the others: with imprest_token in one location, refused
--- http_config eval
$Imprest::Test::AS_HTTP_CONFIG
--- config
    location = /x {
        imprest_token;
        imprest_organizations;
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*"imprest_organizations" directive is duplicate: one imprest endpoint per location in \S+nginx\.conf:\d+$/



=== TEST 27: the other order is refused too
--- http_config eval
$Imprest::Test::AS_HTTP_CONFIG
--- config
    location = /x {
        imprest_organizations;
        imprest_token;
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*"imprest_token" directive is duplicate: one imprest endpoint per location in /

