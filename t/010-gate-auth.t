# The gate's Authorization handling: RFC 6750 header parsing, token shape,
# record lookup, expiry and audience (RS-HDR-*, RS-TOK-*, RS-AUD-1).
use Test::Nginx::Socket 'no_plan';
use Imprest::Test;

no_shuffle();
use_http_config();
run_tests();

__DATA__

=== TEST 1: RS-HDR-1 no Authorization: 401 challenge without error code
--- init
seed();
--- config
    location /api/ {
        imprest_gate on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- request
GET /api/v1/invoices
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="imprest"
Content-Type: application/json
Cache-Control: no-store
--- response_body
{"error":"invalid_request","error_description":"a bearer token is required"}
--- no_error_log
imprest: redis command queued
[error]



=== TEST 2: RS-HDR-5 another scheme is "no token", not an error
--- config
    location /api/ {
        imprest_gate on;
        imprest_realm "Imprest API";
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- request
GET /api/v1/invoices
--- more_headers
Authorization: Basic dXM6cHc=
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="Imprest API"
--- no_error_log
imprest: redis command queued
[error]



=== TEST 3: RS-HDR-2 lower-case scheme with a valid token reaches upstream
--- init
seed();
--- config
    location /api/ {
        imprest_gate on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- request
GET /api/v1/invoices
--- more_headers eval
"Authorization: bearer $Imprest::Test::AT\nX-Organization-Id: $Imprest::Test::ORG1"
--- error_code: 200
--- response_body eval
"uid=alice cid=app1 org=$Imprest::Test::ORG1 iorg=$Imprest::Test::ORG1 scope=money_in money_out auth= xauth= uri=/api/v1/invoices\n"
--- error_log
imprest: redis command queued: token, 1 pending
--- no_error_log
[error]



=== TEST 4: RS-HDR-2 upper-case scheme
--- init
seed();
--- config
    location /api/ {
        imprest_gate on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- request
GET /api/v1/invoices
--- more_headers eval
"Authorization: BEARER $Imprest::Test::AT\nX-Organization-Id: $Imprest::Test::ORG1"
--- error_code: 200
--- response_body_like: ^uid=alice cid=app1
--- no_error_log
[error]



=== TEST 5: RS-HDR-3 several spaces after the scheme are accepted
--- init
seed();
--- config
    location /api/ {
        imprest_gate on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- request
GET /api/v1/invoices
--- more_headers eval
"Authorization: Bearer   $Imprest::Test::AT\nX-Organization-Id: $Imprest::Test::ORG1"
--- error_code: 200
--- response_body_like: ^uid=alice
--- no_error_log
[error]



=== TEST 6: RS-HDR-3 a TAB after the scheme is a malformed header, not a 500
--- config
    location /api/ {
        imprest_gate on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- raw_request eval
"GET /api/v1/invoices HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nAuthorization: Bearer\t$Imprest::Test::AT\r\nX-Organization-Id: $Imprest::Test::ORG1\r\n\r\n"
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="imprest", error="invalid_token", error_description="malformed Authorization header"
--- response_body
{"error":"invalid_token","error_description":"malformed Authorization header"}
--- no_error_log
imprest: redis command queued
[error]



=== TEST 7: RS-HDR-4 characters outside b64token never reach Redis
--- config
    location /api/ {
        imprest_gate on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- request eval
["GET /api/a", "GET /api/b", "GET /api/c", "GET /api/d", "GET /api/e", "GET /api/f", "GET /api/g", "GET /api/h"]
--- more_headers eval
[
"Authorization: Bearer \"" . substr($Imprest::Test::AT, 1) . "\nX-Organization-Id: $Imprest::Test::ORG1",
"Authorization: Bearer " . substr($Imprest::Test::AT, 0, 20) . "," . substr($Imprest::Test::AT, 21) . "\nX-Organization-Id: $Imprest::Test::ORG1",
"Authorization: Bearer " . substr($Imprest::Test::AT, 0, 20) . ";" . substr($Imprest::Test::AT, 21) . "\nX-Organization-Id: $Imprest::Test::ORG1",
"Authorization: Bearer " . substr($Imprest::Test::AT, 0, 20) . " " . substr($Imprest::Test::AT, 21) . "\nX-Organization-Id: $Imprest::Test::ORG1",
"Authorization: Bearer ab=cd\nX-Organization-Id: $Imprest::Test::ORG1",
"Authorization: Bearer ===\nX-Organization-Id: $Imprest::Test::ORG1",
"Authorization: Bearer " . substr($Imprest::Test::AT, 0, 20) . "\x{e9}" . substr($Imprest::Test::AT, 21) . "\nX-Organization-Id: $Imprest::Test::ORG1",
"Authorization: Bearer $Imprest::Test::AT $Imprest::Test::AT\nX-Organization-Id: $Imprest::Test::ORG1",
]
--- error_code eval
[401, 401, 401, 401, 401, 401, 401, 401]
--- response_headers eval
[
"WWW-Authenticate: Bearer realm=\"imprest\", error=\"invalid_token\", error_description=\"malformed token\"",
"WWW-Authenticate: Bearer realm=\"imprest\", error=\"invalid_token\", error_description=\"malformed token\"",
"WWW-Authenticate: Bearer realm=\"imprest\", error=\"invalid_token\", error_description=\"malformed token\"",
"WWW-Authenticate: Bearer realm=\"imprest\", error=\"invalid_token\", error_description=\"malformed token\"",
"WWW-Authenticate: Bearer realm=\"imprest\", error=\"invalid_token\", error_description=\"malformed token\"",
"WWW-Authenticate: Bearer realm=\"imprest\", error=\"invalid_token\", error_description=\"malformed token\"",
"WWW-Authenticate: Bearer realm=\"imprest\", error=\"invalid_token\", error_description=\"malformed token\"",
"WWW-Authenticate: Bearer realm=\"imprest\", error=\"invalid_token\", error_description=\"malformed token\"",
]
--- no_error_log
imprest: redis command queued
[error]



=== TEST 8: RS-TOK-3 a 4 KB token is refused before any Redis command
--- config
    location /api/ {
        imprest_gate on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- request
GET /api/v1/invoices
--- more_headers eval
"Authorization: Bearer " . ("A" x 4096) . "\nX-Organization-Id: $Imprest::Test::ORG1"
--- error_code: 401
--- response_body
{"error":"invalid_token","error_description":"malformed token"}
--- error_log
imprest: malformed bearer token (4096 bytes)
--- no_error_log
imprest: redis command queued
[error]



=== TEST 9: a well-formed token of another type (refresh) is malformed here
--- config
    location /api/ {
        imprest_gate on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- request
GET /api/v1/invoices
--- more_headers eval
"Authorization: Bearer " . Imprest::Test::token_new('rt') . "\nX-Organization-Id: $Imprest::Test::ORG1"
--- error_code: 401
--- response_body
{"error":"invalid_token","error_description":"malformed token"}
--- no_error_log
imprest: redis command queued
[error]



=== TEST 10: a mistyped token (checksum fails) never reaches Redis
--- config
    location /api/ {
        imprest_gate on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- request
GET /api/v1/invoices
--- more_headers eval
my $t = $Imprest::Test::AT;
substr($t, 30, 1) = substr($t, 30, 1) eq 'A' ? 'B' : 'A';
"Authorization: Bearer $t\nX-Organization-Id: $Imprest::Test::ORG1"
--- error_code: 401
--- response_body
{"error":"invalid_token","error_description":"malformed token"}
--- no_error_log
imprest: redis command queued
[error]



=== TEST 11: RS-HDR-7 a token in the query string alone is not accepted
--- init
seed();
--- config
    location /api/ {
        imprest_gate on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- request eval
"GET /api/v1/invoices?access_token=$Imprest::Test::AT"
--- more_headers eval
"X-Organization-Id: $Imprest::Test::ORG1"
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="imprest"
--- response_body
{"error":"invalid_request","error_description":"tokens in the URI are not accepted"}
--- no_error_log
imprest: redis command queued
[error]



=== TEST 12: RS-HDR-6 header and query token together: 400 invalid_request
--- init
seed();
--- config
    location /api/ {
        imprest_gate on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- request eval
"GET /api/v1/invoices?access_token=x"
--- more_headers eval
"Authorization: Bearer $Imprest::Test::AT\nX-Organization-Id: $Imprest::Test::ORG1"
--- error_code: 400
--- response_headers
WWW-Authenticate: Bearer realm="imprest", error="invalid_request", error_description="more than one method used to send the token"
--- no_error_log
imprest: redis command queued
[error]



=== TEST 13: RS-TOK-1 a well-formed token Redis does not know
--- init
seed();
--- config
    location /api/ {
        imprest_gate on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- request
GET /api/v1/invoices
--- more_headers eval
"Authorization: Bearer $Imprest::Test::AT_EXPIRED\nX-Organization-Id: $Imprest::Test::ORG1"
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="imprest", error="invalid_token", error_description="unknown, expired or revoked token"
--- response_body
{"error":"invalid_token","error_description":"unknown, expired or revoked token"}
--- error_log
imprest: redis command queued
imprest: unknown, expired or revoked token
--- no_error_log
[error]



=== TEST 14: RS-TOK-4 a token revoked with imprestctl fails on the next request
--- init
seed();
Imprest::Test::ctl('token', 'revoke', $Imprest::Test::AT);
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



=== TEST 15: RS-TOK-2 exp in the past while the Redis TTL is alive
--- init
seed();
--- config
    location /api/ {
        imprest_gate on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- request
GET /api/v1/invoices
--- more_headers eval
"Authorization: Bearer $Imprest::Test::AT_STALE\nX-Organization-Id: $Imprest::Test::ORG1"
--- error_code: 401
--- response_body
{"error":"invalid_token","error_description":"unknown, expired or revoked token"}
--- error_log
imprest: expired token of user "alice"
--- no_error_log
[error]



=== TEST 16: a record without exp is refused and reported
--- init
seed();
--- config
    location /api/ {
        imprest_gate on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- request
GET /api/v1/invoices
--- more_headers eval
"Authorization: Bearer $Imprest::Test::AT_NOEXP\nX-Organization-Id: $Imprest::Test::ORG1"
--- error_code: 401
--- error_log
token record of user "alice" has no valid "exp"



=== TEST 17: RS-AUD-1 a token bound to another resource is invalid here
--- init
seed();
--- config
    location /api/ {
        imprest_gate on;
        imprest_audience https://api.imprest.example;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- request
GET /api/v1/invoices
--- more_headers eval
"Authorization: Bearer $Imprest::Test::AT_AUD\nX-Organization-Id: $Imprest::Test::ORG1"
--- error_code: 401
--- response_body
{"error":"invalid_token","error_description":"the token is not valid for this resource"}
--- error_log
imprest: token audience "https://other.example" is not "https://api.imprest.example"
--- no_error_log
[error]



=== TEST 18: RS-AUD-1 the same token where its audience is configured
--- init
seed();
--- config
    location /api/ {
        imprest_gate on;
        imprest_audience https://other.example;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- request
GET /api/v1/invoices
--- more_headers eval
"Authorization: Bearer $Imprest::Test::AT_AUD\nX-Organization-Id: $Imprest::Test::ORG1"
--- error_code: 200
--- response_body_like: ^uid=alice
--- no_error_log
[error]



=== TEST 19: "Bearer" with no token is a malformed header
--- config
    location /api/ {
        imprest_gate on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- request
GET /api/v1/invoices
--- more_headers
Authorization: Bearer
--- error_code: 401
--- response_body
{"error":"invalid_token","error_description":"malformed Authorization header"}
--- no_error_log
imprest: redis command queued
[error]



=== TEST 20: HEAD gets the same status and headers with no body
--- config
    location /api/ {
        imprest_gate on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- request
HEAD /api/v1/invoices
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="imprest"
--- response_body
--- no_error_log
[error]
