# The gate's scope checks: RFC 6750 3.1 insufficient_scope answers and
# RFC 6749 3.3 scope matching (RS-SCP-*), with constant and variable
# requirements and their inheritance.
use Test::Nginx::Socket 'no_plan';
use Imprest::Test;

no_shuffle();
use_http_config();
run_tests();

__DATA__

=== TEST 1: RS-SCP-1 a valid token lacking the required scope: 403 insufficient_scope
--- init
seed();
--- config
    location /api/ {
        imprest_gate on;
        imprest_require_scope money_out;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- request
POST /api/v1/payments
--- more_headers eval
"Authorization: Bearer $Imprest::Test::AT_BOB\nX-Organization-Id: $Imprest::Test::ORG1"
--- error_code: 403
--- response_headers
WWW-Authenticate: Bearer realm="imprest", error="insufficient_scope", error_description="the token lacks a required scope", scope="money_out"
Content-Type: application/json
Cache-Control: no-store
--- response_body
{"error":"insufficient_scope","error_description":"the token lacks a required scope","scope":"money_out"}
--- error_log
imprest: token of user "bob" lacks scope "money_out"
--- no_error_log
[error]



=== TEST 2: RS-SCP-1 the same token where its scope suffices reaches upstream
--- init
seed();
--- config
    location /api/ {
        imprest_gate on;
        imprest_require_scope money_in;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- request
GET /api/v1/invoices
--- more_headers eval
"Authorization: Bearer $Imprest::Test::AT_BOB\nX-Organization-Id: $Imprest::Test::ORG1"
--- error_code: 200
--- response_body eval
"uid=bob cid=app2 org=$Imprest::Test::ORG1 iorg=$Imprest::Test::ORG1 scope=money_in auth= xauth= uri=/api/v1/invoices\n"
--- no_error_log
lacks scope
[error]



=== TEST 3: RS-SCP-2 "readonly unread READ" does not grant "read" (no substring, no case folding)
--- init
seed();
--- config
    location /api/ {
        imprest_gate on;
        imprest_require_scope read;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- request
GET /api/v1/invoices
--- more_headers eval
"Authorization: Bearer $Imprest::Test::AT_RO\nX-Organization-Id: $Imprest::Test::ORG1"
--- error_code: 403
--- response_headers
WWW-Authenticate: Bearer realm="imprest", error="insufficient_scope", error_description="the token lacks a required scope", scope="read"
--- response_body
{"error":"insufficient_scope","error_description":"the token lacks a required scope","scope":"read"}
--- error_log
imprest: token of user "alice" lacks scope "read"
--- no_error_log
[error]



=== TEST 4: RS-SCP-2 the exact token "READ" of the same record is granted
--- init
seed();
--- config
    location /api/ {
        imprest_gate on;
        imprest_require_scope READ;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- request
GET /api/v1/invoices
--- more_headers eval
"Authorization: Bearer $Imprest::Test::AT_RO\nX-Organization-Id: $Imprest::Test::ORG1"
--- error_code: 200
--- response_body eval
"uid=alice cid=app1 org=$Imprest::Test::ORG1 iorg=$Imprest::Test::ORG1 scope=readonly unread READ auth= xauth= uri=/api/v1/invoices\n"
--- no_error_log
lacks scope
[error]



=== TEST 5: RS-SCP-2 a scope that is a prefix of a granted one ("unrea") is not granted
--- init
seed();
--- config
    location /api/ {
        imprest_gate on;
        imprest_require_scope unrea;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- request
GET /api/v1/invoices
--- more_headers eval
"Authorization: Bearer $Imprest::Test::AT_RO\nX-Organization-Id: $Imprest::Test::ORG1"
--- error_code: 403
--- response_body
{"error":"insufficient_scope","error_description":"the token lacks a required scope","scope":"unrea"}
--- error_log
imprest: token of user "alice" lacks scope "unrea"
--- no_error_log
[error]



=== TEST 6: several required scopes: a token holding all of them passes
--- init
seed();
--- config
    location /api/ {
        imprest_gate on;
        imprest_require_scope "money_out  money_in";
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- request
POST /api/v1/payments
--- more_headers eval
"Authorization: Bearer $Imprest::Test::AT\nX-Organization-Id: $Imprest::Test::ORG2"
--- error_code: 200
--- response_body eval
"uid=alice cid=app1 org=$Imprest::Test::ORG2 iorg=$Imprest::Test::ORG2 scope=money_in money_out auth= xauth= uri=/api/v1/payments\n"
--- no_error_log
lacks scope
[error]



=== TEST 7: several required scopes: holding one of them is not enough; the answer names them all
--- init
seed();
--- config
    location /api/ {
        imprest_gate on;
        imprest_require_scope "money_in money_out";
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- request
POST /api/v1/payments
--- more_headers eval
"Authorization: Bearer $Imprest::Test::AT_BOB\nX-Organization-Id: $Imprest::Test::ORG1"
--- error_code: 403
--- response_headers
WWW-Authenticate: Bearer realm="imprest", error="insufficient_scope", error_description="the token lacks a required scope", scope="money_in money_out"
--- response_body
{"error":"insufficient_scope","error_description":"the token lacks a required scope","scope":"money_in money_out"}
--- error_log
imprest: token of user "bob" lacks scope "money_out"
--- no_error_log
[error]



=== TEST 8: the insufficient-scope challenge uses the configured realm
--- init
seed();
--- config
    location /api/ {
        imprest_gate on;
        imprest_realm "Imprest API";
        imprest_require_scope "money_in admin";
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- request
GET /api/v1/invoices
--- more_headers eval
"Authorization: Bearer $Imprest::Test::AT\nX-Organization-Id: $Imprest::Test::ORG1"
--- error_code: 403
--- response_headers
WWW-Authenticate: Bearer realm="Imprest API", error="insufficient_scope", error_description="the token lacks a required scope", scope="money_in admin"
--- response_body
{"error":"insufficient_scope","error_description":"the token lacks a required scope","scope":"money_in admin"}
--- error_log
imprest: token of user "alice" lacks scope "admin"
--- no_error_log
[error]



=== TEST 9: a requirement from a variable (map on the method): GET needs money_in
--- http_config eval
$Imprest::Test::HTTP_CONFIG . q{
    map $request_method $imprest_need {
        GET      money_in;
        default  money_out;
    }
}
--- init
seed();
--- config
    location /api/ {
        imprest_gate on;
        imprest_require_scope $imprest_need;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- request
GET /api/v1/invoices
--- more_headers eval
"Authorization: Bearer $Imprest::Test::AT_BOB\nX-Organization-Id: $Imprest::Test::ORG1"
--- error_code: 200
--- response_body eval
"uid=bob cid=app2 org=$Imprest::Test::ORG1 iorg=$Imprest::Test::ORG1 scope=money_in auth= xauth= uri=/api/v1/invoices\n"
--- no_error_log
lacks scope
[error]



=== TEST 10: a requirement from a variable (map on the method): POST needs money_out
--- http_config eval
$Imprest::Test::HTTP_CONFIG . q{
    map $request_method $imprest_need {
        GET      money_in;
        default  money_out;
    }
}
--- init
seed();
--- config
    location /api/ {
        imprest_gate on;
        imprest_require_scope $imprest_need;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- request
POST /api/v1/payments
--- more_headers eval
"Authorization: Bearer $Imprest::Test::AT_BOB\nX-Organization-Id: $Imprest::Test::ORG1"
--- error_code: 403
--- response_headers
WWW-Authenticate: Bearer realm="imprest", error="insufficient_scope", error_description="the token lacks a required scope", scope="money_out"
--- response_body
{"error":"insufficient_scope","error_description":"the token lacks a required scope","scope":"money_out"}
--- error_log
imprest: token of user "bob" lacks scope "money_out"
--- no_error_log
[error]



=== TEST 11: a requirement set at server level is inherited by the location
--- init
seed();
--- config
    imprest_require_scope admin;

    location /api/ {
        imprest_gate on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- request
GET /api/v1/invoices
--- more_headers eval
"Authorization: Bearer $Imprest::Test::AT\nX-Organization-Id: $Imprest::Test::ORG1"
--- error_code: 403
--- response_headers
WWW-Authenticate: Bearer realm="imprest", error="insufficient_scope", error_description="the token lacks a required scope", scope="admin"
--- response_body
{"error":"insufficient_scope","error_description":"the token lacks a required scope","scope":"admin"}
--- error_log
imprest: token of user "alice" lacks scope "admin"
--- no_error_log
[error]



=== TEST 12: imprest_require_scope "" clears the inherited requirement
--- init
seed();
--- config
    imprest_require_scope admin;

    location /api/ {
        imprest_gate on;
        imprest_require_scope "";
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- request
GET /api/v1/invoices
--- more_headers eval
"Authorization: Bearer $Imprest::Test::AT\nX-Organization-Id: $Imprest::Test::ORG1"
--- error_code: 200
--- response_body eval
"uid=alice cid=app1 org=$Imprest::Test::ORG1 iorg=$Imprest::Test::ORG1 scope=money_in money_out auth= xauth= uri=/api/v1/invoices\n"
--- no_error_log
lacks scope
[error]



=== TEST 13: the organization is refused before the scope is looked at (403 access_denied, no scope hint)
--- init
seed();
--- config
    location /api/ {
        imprest_gate on;
        imprest_require_scope admin;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- request
GET /api/v1/invoices
--- more_headers eval
"Authorization: Bearer $Imprest::Test::AT\nX-Organization-Id: $Imprest::Test::ORG3"
--- error_code: 403
--- response_headers
!WWW-Authenticate
--- response_body
{"error":"access_denied","error_description":"the token may not act on this organization"}
--- no_error_log
lacks scope
[error]



=== TEST 14: a variable requirement holding a quote still gives well-formed JSON and challenge
--- init
seed();
--- config
    location /api/ {
        imprest_gate on;
        imprest_require_scope $http_x_need;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- request
GET /api/v1/invoices
--- more_headers eval
"Authorization: Bearer $Imprest::Test::AT\nX-Organization-Id: $Imprest::Test::ORG1\nX-Need: a\"b"
--- error_code: 403
--- response_headers_like
WWW-Authenticate: Bearer realm="imprest", error="insufficient_scope", error_description="the token lacks a required scope", scope="(?:[^"\\]|\\.)*"
--- response_body_like: ^\{"error":"insufficient_scope","error_description":"the token lacks a required scope","scope":"(?:[^"\\]|\\.)*"\}\n$
--- error_log
imprest: token of user "alice" lacks scope "a"b"
--- no_error_log
[error]
