# What reaches the upstream behind the gate, and that every request is
# gated on its own: inbound header sanitising (RS-PRX-1), keep-alive and
# pipelining (RS-PRX-2), internal redirects (RS-PRX-3), other methods.
use Test::Nginx::Socket 'no_plan';
use Imprest::Test;

no_shuffle();
use_http_config();
run_tests();

__DATA__

=== TEST 1: RS-PRX-1 spoofed identity headers (dash and underscore spellings) never reach upstream
--- init
seed();
--- config
    underscores_in_headers on;

    location /api/ {
        imprest_gate on;
        imprest_strip_header X-Auth-User;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- request
GET /api/v1/invoices
--- more_headers eval
"X-Imprest-User-Id: admin
X_Imprest_User_Id: evil
X-Imprest-Org-Id: $Imprest::Test::ORG3
X-Imprest-Scope: admin
X-Auth-User: admin
X_Auth_User: admin
X_Organization_Id: $Imprest::Test::ORG3
Authorization: Bearer $Imprest::Test::AT
X-Organization-Id: $Imprest::Test::ORG1"
--- error_code: 200
--- response_body eval
"uid=alice cid=app1 org=$Imprest::Test::ORG1 iorg=$Imprest::Test::ORG1 scope=money_in money_out auth= xauth= uri=/api/v1/invoices\n"
--- no_error_log
[error]



=== TEST 2: RS-PRX-1 the raw upstream request: no credentials, no spoofed header, the gate's values last
--- init
seed();
--- config
    underscores_in_headers on;

    location /api/ {
        imprest_gate on;
        imprest_strip_header X-Auth-User;
        proxy_pass http://127.0.0.1:$TEST_NGINX_FAKE_PORT;
    }
--- request
GET /api/v1/invoices?page=2
--- more_headers eval
"Accept: text/plain
X-Imprest-User-Id: admin
Authorization: Bearer $Imprest::Test::AT
X-Auth-User: admin
X-Request-Id: r-17
X_Organization_Id: $Imprest::Test::ORG3
X_Imprest_User_Id: evil
X-Organization-Id: $Imprest::Test::ORG1"
--- tcp_listen eval
$ENV{TEST_NGINX_FAKE_PORT}
--- tcp_query eval
"GET /api/v1/invoices?page=2 HTTP/1.0\r
Host: 127.0.0.1:$ENV{TEST_NGINX_FAKE_PORT}\r
Connection: close\r
Accept: text/plain\r
X-Request-Id: r-17\r
X-Organization-Id: $Imprest::Test::ORG1\r
X-Imprest-User-Id: alice\r
X-Imprest-Client-Id: app1\r
X-Imprest-Scope: money_in money_out\r
X-Imprest-Org-Id: $Imprest::Test::ORG1\r
\r
"
--- tcp_reply eval
"HTTP/1.0 200 OK\r\nContent-Length: 9\r\n\r\nupstream\n"
--- error_code: 200
--- response_body
upstream
--- no_error_log
[error]



=== TEST 3: RS-PRX-1 imprest_identity_headers off: the client's X-Imprest-* are still removed
--- init
seed();
--- config
    location /api/ {
        imprest_gate on;
        imprest_identity_headers off;
        proxy_pass http://127.0.0.1:$TEST_NGINX_FAKE_PORT;
    }
--- request
GET /api/v1/invoices
--- more_headers eval
"X-Imprest-User-Id: admin
X-Imprest-Scope: admin
Authorization: Bearer $Imprest::Test::AT
X-Organization-Id: " . uc($Imprest::Test::ORG2)
--- tcp_listen eval
$ENV{TEST_NGINX_FAKE_PORT}
--- tcp_query eval
"GET /api/v1/invoices HTTP/1.0\r
Host: 127.0.0.1:$ENV{TEST_NGINX_FAKE_PORT}\r
Connection: close\r
X-Organization-Id: $Imprest::Test::ORG2\r
\r
"
--- tcp_reply eval
"HTTP/1.0 200 OK\r\nContent-Length: 9\r\n\r\nupstream\n"
--- error_code: 200
--- response_body
upstream
--- no_error_log
[error]



=== TEST 4: RS-PRX-2 pipelined on one connection: a valid token, then an unknown one is 401
--- init
seed();
--- config
    location /api/ {
        imprest_gate on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- pipelined_requests eval
["GET /api/v1/first", "GET /api/v1/second"]
--- more_headers eval
[
"Authorization: Bearer $Imprest::Test::AT\nX-Organization-Id: $Imprest::Test::ORG1",
"Authorization: Bearer $Imprest::Test::AT_EXPIRED\nX-Organization-Id: $Imprest::Test::ORG1",
]
--- error_code eval
[200, 401]
--- response_headers eval
["!WWW-Authenticate", "WWW-Authenticate: Bearer realm=\"imprest\", error=\"invalid_token\", error_description=\"unknown, expired or revoked token\""]
--- response_body eval
[
"uid=alice cid=app1 org=$Imprest::Test::ORG1 iorg=$Imprest::Test::ORG1 scope=money_in money_out auth= xauth= uri=/api/v1/first\n",
"{\"error\":\"invalid_token\",\"error_description\":\"unknown, expired or revoked token\"}\n",
]
--- no_error_log
[error]



=== TEST 5: RS-PRX-2 pipelined on one connection: a valid token, then no token at all is 401
--- init
seed();
--- config
    location /api/ {
        imprest_gate on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- pipelined_requests eval
["GET /api/v1/first", "GET /api/v1/second"]
--- more_headers eval
[
"Authorization: Bearer $Imprest::Test::AT\nX-Organization-Id: $Imprest::Test::ORG1",
"X-Organization-Id: $Imprest::Test::ORG1",
]
--- error_code eval
[200, 401]
--- response_headers eval
["!WWW-Authenticate", "WWW-Authenticate: Bearer realm=\"imprest\""]
--- response_body eval
[
"uid=alice cid=app1 org=$Imprest::Test::ORG1 iorg=$Imprest::Test::ORG1 scope=money_in money_out auth= xauth= uri=/api/v1/first\n",
"{\"error\":\"invalid_request\",\"error_description\":\"a bearer token is required\"}\n",
]
--- no_error_log
[error]



=== TEST 6: RS-PRX-2 pipelined on one connection: the organization is decided again for the second request
--- init
seed();
--- config
    location /api/ {
        imprest_gate on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- pipelined_requests eval
["GET /api/v1/first", "GET /api/v1/second", "GET /api/v1/third"]
--- more_headers eval
[
"Authorization: Bearer $Imprest::Test::AT_BOB\nX-Organization-Id: $Imprest::Test::ORG3",
"Authorization: Bearer $Imprest::Test::AT\nX-Organization-Id: $Imprest::Test::ORG3",
"Authorization: Bearer $Imprest::Test::AT\nX-Organization-Id: $Imprest::Test::ORG2",
]
--- error_code eval
[200, 403, 200]
--- response_body eval
[
"uid=bob cid=app2 org=$Imprest::Test::ORG3 iorg=$Imprest::Test::ORG3 scope=money_in auth= xauth= uri=/api/v1/first\n",
"{\"error\":\"access_denied\",\"error_description\":\"the token may not act on this organization\"}\n",
"uid=alice cid=app1 org=$Imprest::Test::ORG2 iorg=$Imprest::Test::ORG2 scope=money_in money_out auth= xauth= uri=/api/v1/third\n",
]
--- no_error_log
[error]



=== TEST 7: RS-PRX-3 error_page from an ungated location into a gated one: still gated
--- init
seed();
--- config
    location /files/ {
        log_not_found off;
        error_page 404 = /api/v1/fallback;
    }

    location /api/ {
        imprest_gate on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- request
GET /files/missing.txt
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="imprest"
--- response_body
{"error":"invalid_request","error_description":"a bearer token is required"}
--- no_error_log
imprest: redis command queued
[error]



=== TEST 8: RS-PRX-3 error_page into a gated location with a valid token: identity set there
--- init
seed();
--- config
    location /files/ {
        log_not_found off;
        error_page 404 = /api/v1/fallback;
    }

    location /api/ {
        imprest_gate on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- request
GET /files/missing.txt
--- more_headers eval
"Authorization: Bearer $Imprest::Test::AT\nX-Organization-Id: $Imprest::Test::ORG1"
--- error_code: 200
--- response_body eval
"uid=alice cid=app1 org=$Imprest::Test::ORG1 iorg=$Imprest::Test::ORG1 scope=money_in money_out auth= xauth= uri=/api/v1/fallback\n"
--- error_log
imprest: redis command queued: token, 1 pending
--- no_error_log
[error]



=== TEST 9: RS-PRX-3 try_files from an ungated location into a gated one: an unknown token is refused
--- init
seed();
--- config
    location /legacy/ {
        try_files $uri /api/v1/legacy;
    }

    location /api/ {
        imprest_gate on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- request
GET /legacy/report
--- more_headers eval
"Authorization: Bearer $Imprest::Test::AT_EXPIRED\nX-Organization-Id: $Imprest::Test::ORG1"
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="imprest", error="invalid_token", error_description="unknown, expired or revoked token"
--- response_body
{"error":"invalid_token","error_description":"unknown, expired or revoked token"}
--- error_log
imprest: unknown, expired or revoked token
--- no_error_log
[error]



=== TEST 10: RS-PRX-3 a gated location redirecting to one with a stricter scope re-applies that scope
--- init
seed();
--- config
    location /api/v1/in/ {
        imprest_gate on;
        imprest_require_scope money_in;
        try_files /nonexistent /api/v1/out/pay;
    }

    location /api/v1/out/ {
        imprest_gate on;
        imprest_require_scope money_out;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- request
GET /api/v1/in/x
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



=== TEST 11: RS-PRX-3 the same redirect with a token holding both scopes reaches upstream once
--- init
seed();
--- config
    location /api/v1/in/ {
        imprest_gate on;
        imprest_require_scope money_in;
        try_files /nonexistent /api/v1/out/pay;
    }

    location /api/v1/out/ {
        imprest_gate on;
        imprest_require_scope money_out;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- request
GET /api/v1/in/x
--- more_headers eval
"Authorization: Bearer $Imprest::Test::AT\nX-Organization-Id: $Imprest::Test::ORG1"
--- error_code: 200
--- response_body eval
"uid=alice cid=app1 org=$Imprest::Test::ORG1 iorg=$Imprest::Test::ORG1 scope=money_in money_out auth= xauth= uri=/api/v1/out/pay\n"
--- grep_error_log eval
qr/imprest: redis command queued: token, \d+ pending/
--- grep_error_log_out
imprest: redis command queued: token, 1 pending
--- no_error_log
[error]



=== TEST 12: RS-PRX-3 from a gated location without an organization into one that needs it
--- init
seed();
--- config
    location /api/v1/me/ {
        imprest_gate on;
        imprest_require_org off;
        try_files /nonexistent /api/v1/org/invoices;
    }

    location /api/v1/org/ {
        imprest_gate on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- request
GET /api/v1/me/x
--- more_headers eval
"Authorization: Bearer $Imprest::Test::AT\nX-Organization-Id: $Imprest::Test::ORG1"
--- error_code: 200
--- response_body eval
"uid=alice cid=app1 org=$Imprest::Test::ORG1 iorg=$Imprest::Test::ORG1 scope=money_in money_out auth= xauth= uri=/api/v1/org/invoices\n"
--- no_error_log
[error]



=== TEST 13: RS-PRX-3 that redirect still refuses an organization the token may not use
--- init
seed();
--- config
    location /api/v1/me/ {
        imprest_gate on;
        imprest_require_org off;
        try_files /nonexistent /api/v1/org/invoices;
    }

    location /api/v1/org/ {
        imprest_gate on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- request
GET /api/v1/me/x
--- more_headers eval
"Authorization: Bearer $Imprest::Test::AT\nX-Organization-Id: $Imprest::Test::ORG3"
--- error_code: 403
--- response_body
{"error":"access_denied","error_description":"the token may not act on this organization"}
--- no_error_log
[error]



=== TEST 14: HEAD without a token: 401 challenge, no body, no Redis command
--- config
    location /api/ {
        imprest_gate on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- request
HEAD /api/v1/invoices
--- more_headers eval
"X-Organization-Id: $Imprest::Test::ORG1"
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="imprest"
Content-Length: 77
--- response_body
--- no_error_log
imprest: redis command queued
[error]



=== TEST 15: OPTIONS without a token (a CORS preflight) is gated too: 401
--- config
    location /api/ {
        imprest_gate on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- request
OPTIONS /api/v1/invoices
--- more_headers eval
"Origin: https://app.example\nAccess-Control-Request-Method: POST\nX-Organization-Id: $Imprest::Test::ORG1"
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="imprest"
!Access-Control-Allow-Origin
--- response_body
{"error":"invalid_request","error_description":"a bearer token is required"}
--- no_error_log
imprest: redis command queued
[error]



=== TEST 16: an internal redirect into another gated location applies that location's strip list too
--- init
seed();
--- config
    location /api/ {
        imprest_gate on;
        try_files /nonexistent @b;
    }

    location @b {
        imprest_gate on;
        imprest_strip_header X-Auth-User;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- request
GET /api/v1/invoices
--- more_headers eval
"Authorization: Bearer $Imprest::Test::AT\nX-Organization-Id: $Imprest::Test::ORG1\nX-Auth-User: mallory"
--- error_code: 200
--- response_body eval
"uid=alice cid=app1 org=$Imprest::Test::ORG1 iorg=$Imprest::Test::ORG1 scope=money_in money_out auth= xauth= uri=/api/v1/invoices\n"
--- no_error_log
[error]

