# The imprest_organizations endpoint: the organizations a token may act
# on, in grant order, as JSON; token errors as at the gate; fail-closed.
use Test::Nginx::Socket 'no_plan';
use Imprest::Test;

# alice's grant listed the other way round
our $AT_REV = Imprest::Test::token_new();

no_shuffle();
use_http_config();
run_tests();

__DATA__

=== TEST 1: a valid token lists its organizations with their names
--- init
seed();
--- config
    location = /api/v1/me/organizations {
        imprest_organizations;
    }
--- request
GET /api/v1/me/organizations
--- more_headers eval
"Authorization: Bearer $Imprest::Test::AT"
--- error_code: 200
--- response_headers
Content-Type: application/json
Cache-Control: no-store
Pragma: no-cache
--- response_body eval
qq({"organizations":[{"id":"$Imprest::Test::ORG1","name":"Acme Ltd"},{"id":"$Imprest::Test::ORG2","name":"Beta \\"Books\\" & Co"}]}\n)
--- error_log
imprest: redis command queued: token, 1 pending
--- no_error_log
[error]



=== TEST 2: the list follows the token's grant order, not a sorted one
--- init
seed();
Imprest::Test::mint($main::AT_REV, qw(--user alice --client app1 --scope money_in),
                    '--org', $ORG2, '--org', $ORG1);
--- config
    location = /api/v1/me/organizations {
        imprest_organizations;
    }
--- request
GET /api/v1/me/organizations
--- more_headers eval
"Authorization: Bearer $main::AT_REV"
--- error_code: 200
--- response_body eval
qq({"organizations":[{"id":"$Imprest::Test::ORG2","name":"Beta \\"Books\\" & Co"},{"id":"$Imprest::Test::ORG1","name":"Acme Ltd"}]}\n)
--- no_error_log
[error]



=== TEST 3: names are JSON-escaped: quotes, backslash, control characters, DEL; UTF-8 kept
--- init
seed();
Imprest::Test::redis('HSET', "imprest:org:$ORG1", 'name',
                     "Tab\tNL\nCtl\x01 Back\\slash \"q\" Del\x7f \xc3\xa9</script>");
--- config
    location = /api/v1/me/organizations {
        imprest_organizations;
    }
--- request
GET /api/v1/me/organizations
--- more_headers eval
"Authorization: Bearer $Imprest::Test::AT"
--- error_code: 200
--- response_body eval
qq({"organizations":[{"id":"$Imprest::Test::ORG1","name":"Tab\\u0009NL\\u000aCtl\\u0001 Back\\\\slash \\"q\\" Del\\u007f \xc3\xa9</script>"},{"id":"$Imprest::Test::ORG2","name":"Beta \\"Books\\" & Co"}]}\n)
--- no_error_log
[error]



=== TEST 4: an organization the user has left is omitted
--- init
seed();
Imprest::Test::ctl('member', 'del', 'alice', $ORG2);
--- config
    location = /api/v1/me/organizations {
        imprest_organizations;
    }
--- request
GET /api/v1/me/organizations
--- more_headers eval
"Authorization: Bearer $Imprest::Test::AT"
--- error_code: 200
--- response_body eval
qq({"organizations":[{"id":"$Imprest::Test::ORG1","name":"Acme Ltd"}]}\n)
--- no_error_log
[error]



=== TEST 5: a token whose only organization the user left: an empty list
--- init
seed();
--- config
    location = /api/v1/me/organizations {
        imprest_organizations;
    }
--- request
GET /api/v1/me/organizations
--- more_headers eval
"Authorization: Bearer $Imprest::Test::AT_GONE"
--- error_code: 200
--- response_body
{"organizations":[]}
--- no_error_log
[error]



=== TEST 6: no token: 401 challenge without error code, no Redis command
--- init
seed();
--- config
    location = /api/v1/me/organizations {
        imprest_organizations;
    }
--- request
GET /api/v1/me/organizations
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="imprest"
Cache-Control: no-store
--- response_body
{"error":"invalid_request","error_description":"a bearer token is required"}
--- no_error_log
imprest: redis command queued
[error]



=== TEST 7: a malformed token: 401 invalid_token, no Redis command
--- config
    location = /api/v1/me/organizations {
        imprest_organizations;
    }
--- request
GET /api/v1/me/organizations
--- more_headers eval
"Authorization: Bearer " . substr($Imprest::Test::AT, 0, -1)
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="imprest", error="invalid_token", error_description="malformed token"
--- response_body
{"error":"invalid_token","error_description":"malformed token"}
--- no_error_log
imprest: redis command queued
[error]



=== TEST 8: an unknown token: 401 invalid_token
--- init
seed();
--- config
    location = /api/v1/me/organizations {
        imprest_organizations;
    }
--- request
GET /api/v1/me/organizations
--- more_headers eval
"Authorization: Bearer $Imprest::Test::AT_EXPIRED"
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="imprest", error="invalid_token", error_description="unknown, expired or revoked token"
--- response_body
{"error":"invalid_token","error_description":"unknown, expired or revoked token"}
--- error_log
imprest: unknown, expired or revoked token
--- no_error_log
[error]



=== TEST 9: a record whose exp has passed (TTL still alive): 401 invalid_token
--- init
seed();
--- config
    location = /api/v1/me/organizations {
        imprest_organizations;
    }
--- request
GET /api/v1/me/organizations
--- more_headers eval
"Authorization: Bearer $Imprest::Test::AT_STALE"
--- error_code: 401
--- response_body
{"error":"invalid_token","error_description":"unknown, expired or revoked token"}
--- error_log
imprest: expired token of user "alice"
--- no_error_log
[error]



=== TEST 10: a token in the query string is not accepted
--- init
seed();
--- config
    location = /api/v1/me/organizations {
        imprest_organizations;
    }
--- request eval
"GET /api/v1/me/organizations?access_token=$Imprest::Test::AT"
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="imprest"
--- response_body
{"error":"invalid_request","error_description":"tokens in the URI are not accepted"}
--- no_error_log
imprest: redis command queued
[error]



=== TEST 11: Redis down: 503 with Retry-After, never a list or invalid_token
--- http_config
    imprest_redis 127.0.0.1:$TEST_NGINX_SPARE_PORT timeout=1s;
--- config
    location = /api/v1/me/organizations {
        imprest_organizations;
    }
--- request
GET /api/v1/me/organizations
--- more_headers eval
"Authorization: Bearer $Imprest::Test::AT"
--- error_code: 503
--- response_headers
Retry-After: 1
Cache-Control: no-store
!WWW-Authenticate
--- response_body
{"error":"temporarily_unavailable","error_description":"the authorization service is unavailable"}
--- error_log eval
"imprest: redis 127.0.0.1:$ENV{TEST_NGINX_SPARE_PORT}: connect failed: Connection refused"



=== TEST 12: POST is not allowed: 405 with Allow and a JSON body like every endpoint's, no Redis command
--- init
seed();
--- config
    location = /api/v1/me/organizations {
        imprest_organizations;
    }
--- request
POST /api/v1/me/organizations
{"name":"x"}
--- more_headers eval
"Authorization: Bearer $Imprest::Test::AT\nContent-Type: application/json"
--- error_code: 405
--- response_headers
Allow: GET, HEAD
Content-Type: application/json
--- response_body
{"error":"invalid_request","error_description":"method not allowed"}
--- no_error_log
imprest: redis command queued
[error]



=== TEST 13: HEAD: the GET answer's headers without a body
--- init
seed();
--- config
    location = /api/v1/me/organizations {
        imprest_organizations;
    }
--- request
HEAD /api/v1/me/organizations
--- more_headers eval
"Authorization: Bearer $Imprest::Test::AT"
--- error_code: 200
--- response_headers
Content-Type: application/json
Content-Length: 159
Cache-Control: no-store
--- response_body
--- no_error_log
[error]



=== TEST 14: imprest_audience applies here too: a token for another resource is 401
--- init
seed();
--- config
    location = /api/v1/me/organizations {
        imprest_audience https://api.imprest.example;
        imprest_organizations;
    }
--- request
GET /api/v1/me/organizations
--- more_headers eval
"Authorization: Bearer $Imprest::Test::AT_AUD"
--- error_code: 401
--- response_body
{"error":"invalid_token","error_description":"the token is not valid for this resource"}
--- error_log
imprest: token audience "https://other.example" is not "https://api.imprest.example"
--- no_error_log
[error]
