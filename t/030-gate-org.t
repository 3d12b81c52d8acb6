# The gate's organization checks: the X-Organization-Id header, its UUID
# syntax and canonical form, grants and memberships (RS-ORG-*).
use Test::Nginx::Socket 'no_plan';
use Imprest::Test;

no_shuffle();
use_http_config();
run_tests();

__DATA__

=== TEST 1: RS-ORG-1 a valid token without X-Organization-Id: 400 invalid_request, no Redis command
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
"Authorization: Bearer $Imprest::Test::AT"
--- error_code: 400
--- response_headers
WWW-Authenticate: Bearer realm="imprest", error="invalid_request", error_description="the X-Organization-Id header is required"
Content-Type: application/json
Cache-Control: no-store
--- response_body
{"error":"invalid_request","error_description":"the X-Organization-Id header is required"}
--- no_error_log
imprest: redis command queued
[error]



=== TEST 2: RS-ORG-2 identifiers that are not an 8-4-4-4-12 hex UUID: 400, no Redis command
--- init
seed();
--- config
    location /api/ {
        imprest_gate on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- request eval
[map { "GET /api/v1/invoices?case=$_" } 1 .. 14]
--- more_headers eval
my $o = $Imprest::Test::ORG1;
my @bad = (
    'abc',
    substr($o, 0, 35),                          # 35 characters
    $o . 'b',                                   # 37 characters
    "{$o}",
    "urn:uuid:$o",
    CORE::join('', split /-/, $o),                    # no hyphens
    substr($o, 0, 30) . ' ' . substr($o, 31),   # inner space, 36 bytes
    "\xef\xbc\x93" . substr($o, 1),             # fullwidth digit three
    "\xd9\xa3" . substr($o, 1),                 # Arabic-Indic digit three
    substr($o, 0, 8) . "\xe2\x80\x90" . substr($o, 9),  # U+2010 hyphen
    substr($o, 0, 8) . substr($o, 9, 1) . '-' . substr($o, 10),  # hyphen moved
    'g' . substr($o, 1),                        # not hex
    '*',
    '',                                         # empty value
);
[map { "Authorization: Bearer $Imprest::Test::AT\nX-Organization-Id: $_" } @bad]
--- error_code eval
[(400) x 14]
--- response_headers eval
[("WWW-Authenticate: Bearer realm=\"imprest\", error=\"invalid_request\", error_description=\"X-Organization-Id must be a UUID\"") x 14]
--- response_body eval
[("{\"error\":\"invalid_request\",\"error_description\":\"X-Organization-Id must be a UUID\"}\n") x 14]
--- error_log
imprest: X-Organization-Id is not a UUID
--- no_error_log
imprest: redis command queued
[error]



=== TEST 3: RS-ORG-3 two X-Organization-Id lines with the same value: 400
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
"Authorization: Bearer $Imprest::Test::AT\nX-Organization-Id: $Imprest::Test::ORG1\nX-Organization-Id: $Imprest::Test::ORG1"
--- error_code: 400
--- response_headers
WWW-Authenticate: Bearer realm="imprest", error="invalid_request", error_description="X-Organization-Id must be sent once"
--- response_body
{"error":"invalid_request","error_description":"X-Organization-Id must be sent once"}
--- no_error_log
imprest: redis command queued
[error]



=== TEST 4: RS-ORG-3 two X-Organization-Id lines with different values (both granted): 400, neither wins
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
"Authorization: Bearer $Imprest::Test::AT\nX-Organization-Id: $Imprest::Test::ORG1\nx-organization-id: $Imprest::Test::ORG2"
--- error_code: 400
--- response_headers
WWW-Authenticate: Bearer realm="imprest", error="invalid_request", error_description="X-Organization-Id must be sent once"
--- response_body
{"error":"invalid_request","error_description":"X-Organization-Id must be sent once"}
--- no_error_log
imprest: redis command queued
[error]



=== TEST 5: RS-ORG-4 an existing organization not granted, one that does not exist, the nil UUID: identical 403
--- init
seed();
--- config
    location /api/ {
        imprest_gate on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- request eval
["GET /api/v1/invoices", "GET /api/v1/invoices", "GET /api/v1/invoices"]
--- more_headers eval
[
"Authorization: Bearer $Imprest::Test::AT\nX-Organization-Id: $Imprest::Test::ORG3",
"Authorization: Bearer $Imprest::Test::AT\nX-Organization-Id: $Imprest::Test::ORG_NONE",
"Authorization: Bearer $Imprest::Test::AT\nX-Organization-Id: 00000000-0000-0000-0000-000000000000",
]
--- error_code eval
[403, 403, 403]
--- response_headers eval
[("!WWW-Authenticate\nContent-Type: application/json\nContent-Length: 91\nCache-Control: no-store\nPragma: no-cache") x 3]
--- response_body eval
[("{\"error\":\"access_denied\",\"error_description\":\"the token may not act on this organization\"}\n") x 3]
--- error_log eval
qr/imprest: organization [0-9a-f-]{36} refused for user "alice" \(granted:0 member:0\)/
--- no_error_log
[error]



=== TEST 6: RS-ORG-4 a granted organization the user has since left: the same 403
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
"Authorization: Bearer $Imprest::Test::AT_GONE\nX-Organization-Id: $Imprest::Test::ORG2"
--- error_code: 403
--- response_headers
!WWW-Authenticate
Content-Length: 91
--- response_body
{"error":"access_denied","error_description":"the token may not act on this organization"}
--- error_log eval
"imprest: organization $Imprest::Test::ORG2 refused for user \"carol\" (granted:1 member:0)"
--- no_error_log
[error]



=== TEST 7: a membership removed after the grant takes effect on the next request
--- init
seed();
Imprest::Test::ctl('member', 'del', 'alice', $Imprest::Test::ORG2);
--- config
    location /api/ {
        imprest_gate on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- request eval
["GET /api/v1/invoices", "GET /api/v1/invoices"]
--- more_headers eval
[
"Authorization: Bearer $Imprest::Test::AT\nX-Organization-Id: $Imprest::Test::ORG2",
"Authorization: Bearer $Imprest::Test::AT\nX-Organization-Id: $Imprest::Test::ORG1",
]
--- error_code eval
[403, 200]
--- response_body eval
[
"{\"error\":\"access_denied\",\"error_description\":\"the token may not act on this organization\"}\n",
"uid=alice cid=app1 org=$Imprest::Test::ORG1 iorg=$Imprest::Test::ORG1 scope=money_in money_out auth= xauth= uri=/api/v1/invoices\n",
]
--- no_error_log
[error]



=== TEST 8: RS-ORG-5 an upper-case UUID is canonicalised: 200, upstream sees lower case
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
"Authorization: Bearer $Imprest::Test::AT\nX-Organization-Id: " . uc($Imprest::Test::ORG2)
--- error_code: 200
--- response_body eval
"uid=alice cid=app1 org=$Imprest::Test::ORG2 iorg=$Imprest::Test::ORG2 scope=money_in money_out auth= xauth= uri=/api/v1/invoices\n"
--- error_log eval
"imprest: redis command queued: token, 1 pending"
--- no_error_log
[error]



=== TEST 9: RS-ORG-5 an upper-case form of a refused organization is refused the same way
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
"Authorization: Bearer $Imprest::Test::AT\nX-Organization-Id: " . uc($Imprest::Test::ORG3)
--- error_code: 403
--- response_body
{"error":"access_denied","error_description":"the token may not act on this organization"}
--- error_log eval
"imprest: organization $Imprest::Test::ORG3 refused for user \"alice\" (granted:0 member:0)"
--- no_error_log
[error]



=== TEST 10: imprest_require_org off: no header needed, upstream gets no organization
--- init
seed();
--- config
    location /api/ {
        imprest_gate on;
        imprest_require_org off;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- request
GET /api/v1/me
--- more_headers eval
"Authorization: Bearer $Imprest::Test::AT"
--- error_code: 200
--- response_body
uid=alice cid=app1 org= iorg= scope=money_in money_out auth= xauth= uri=/api/v1/me
--- no_error_log
[error]



=== TEST 11: imprest_require_org off: an unchecked X-Organization-Id from the client is not passed on
--- init
seed();
--- config
    location /api/ {
        imprest_gate on;
        imprest_require_org off;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- request
GET /api/v1/me
--- more_headers eval
"Authorization: Bearer $Imprest::Test::AT\nX-Organization-Id: $Imprest::Test::ORG3"
--- error_code: 200
--- response_body
uid=alice cid=app1 org= iorg= scope=money_in money_out auth= xauth= uri=/api/v1/me
--- no_error_log
[error]



=== TEST 12: imprest_require_org off still checks the token
--- init
seed();
--- config
    location /api/ {
        imprest_gate on;
        imprest_require_org off;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- request
GET /api/v1/me
--- more_headers eval
"Authorization: Bearer $Imprest::Test::AT_EXPIRED"
--- error_code: 401
--- response_body
{"error":"invalid_token","error_description":"unknown, expired or revoked token"}
--- error_log
imprest: unknown, expired or revoked token
--- no_error_log
[error]
