# GET /.well-known/oauth-authorization-server: RFC 8414 metadata
# (security-requirements.md AS-MD-1..4, AS-PK-8, section 3
# "/.well-known"), and the imprest_issuer checks behind it (RFC 8414 2,
# "Imprest's decisions": https unless the host is a loopback address).
#
# The document is built from the configuration at startup, so it must not
# change with Host or X-Forwarded-* and must be served with Redis down.
# "--- ... eval" sections run in Test::Base's package: "$::NAME" and
# "::sub()" reach this file's variables and helpers.
use Test::Nginx::Socket 'no_plan';
use Imprest::Test;
use JSON::PP ();

our $ISS = "http://127.0.0.1:$ENV{TEST_NGINX_SERVER_PORT}";

sub doc {
    my ($iss, @scopes) = @_;
    @scopes = qw(money_in money_out) unless @scopes;
    my $list = sub { "[\n" . join(",\n", map { qq(    "$_") } @_) . "\n  ]" };
    my $auth = $list->(qw(client_secret_basic client_secret_post none));
    return "{\n"
        . qq(  "issuer": "$iss",\n)
        . qq(  "authorization_endpoint": "$iss/oauth/authorize",\n)
        . qq(  "token_endpoint": "$iss/oauth/token",\n)
        . qq(  "revocation_endpoint": "$iss/oauth/revoke",\n)
        . qq(  "introspection_endpoint": "$iss/oauth/introspect",\n)
        . qq(  "scopes_supported": ) . $list->(@scopes) . ",\n"
        . qq(  "response_types_supported": ) . $list->('code') . ",\n"
        . qq(  "response_modes_supported": ) . $list->('query') . ",\n"
        . qq(  "grant_types_supported": )
        . $list->(qw(authorization_code refresh_token)) . ",\n"
        . qq(  "token_endpoint_auth_methods_supported": $auth,\n)
        . qq(  "revocation_endpoint_auth_methods_supported": $auth,\n)
        . qq(  "introspection_endpoint_auth_methods_supported": )
        . $list->(qw(client_secret_basic client_secret_post)) . ",\n"
        . qq(  "code_challenge_methods_supported": ) . $list->('S256') . ",\n"
        . qq(  "authorization_response_iss_parameter_supported": true\n)
        . "}\n";
}

# the same requirements read from the parsed document, so that a failure
# names the requirement rather than a byte offset
sub check_doc {
    my ($body, $iss, @scopes) = @_;
    @scopes = qw(money_in money_out) unless @scopes;
    my $j = eval { JSON::PP::decode_json($body) } || {};
    is($j->{issuer}, $iss, 'AS-MD-1: issuer is the configured one');
    unlike($j->{issuer} // '', qr/[?#]|\/\z/,
           'AS-MD-1: no query, fragment or trailing slash');
    my %path = (authorization => 'authorize', token => 'token',
                revocation => 'revoke', introspection => 'introspect');
    is($j->{$_ . '_endpoint'}, "$iss/oauth/$path{$_}",
       "AS-MD-2: ${_}_endpoint under the issuer")
        for sort keys %path;
    is_deeply($j->{response_types_supported}, ['code'],
              'AS-MD-2: response_types_supported ["code"]');
    is_deeply($j->{grant_types_supported},
              ['authorization_code', 'refresh_token'],
              'AS-MD-2: grant_types_supported explicit, no implicit');
    is_deeply($j->{code_challenge_methods_supported}, ['S256'],
              'AS-PK-8: code_challenge_methods_supported is ["S256"]');
    is_deeply($j->{scopes_supported}, \@scopes,
              'scopes_supported is the imprest_scope catalogue');
    ok(JSON::PP::is_bool($j->{authorization_response_iss_parameter_supported})
       && $j->{authorization_response_iss_parameter_supported},
       'AS-AZ-7 / RFC 9207: authorization_response_iss_parameter_supported');
}

no_shuffle();
use_as_config();
use_imprest_redis_section();
use_fault_hooks();
run_tests();

__DATA__

=== TEST 1: AS-MD-1 AS-MD-2 AS-PK-8 the document: issuer, endpoints, S256 only, the scope catalogue, iss in responses
--- init
after_response(0, sub { check_doc($_[1], $ISS) });
--- request
GET /.well-known/oauth-authorization-server
--- error_code: 200
--- response_headers
Content-Type: application/json
--- response_body eval
::doc($::ISS)
--- no_error_log
imprest: redis command queued
[error]



=== TEST 2: AS-MD-3 Host, X-Forwarded-Host, X-Forwarded-Proto and Forwarded change nothing
--- request eval
[("GET /.well-known/oauth-authorization-server") x 4]
--- more_headers eval
["Host: evil.example",
 "X-Forwarded-Host: evil.example\nX-Forwarded-Proto: https\nX-Forwarded-Port: 8443",
 "X-Forwarded-Proto: http\nX-Forwarded-Prefix: /evil",
 "Forwarded: host=evil.example;proto=https\nHost: evil.example:8443"]
--- error_code eval
[200, 200, 200, 200]
--- response_body eval
[(::doc($::ISS)) x 4]
--- no_error_log
[error]



=== TEST 3: AS-MD-4 served from the configuration when Redis is down
--- imprest_redis: 127.0.0.1:$TEST_NGINX_SPARE_PORT retry=10s
--- request
GET /.well-known/oauth-authorization-server
--- error_code: 200
--- response_body eval
::doc($::ISS)
--- error_log eval
"imprest: redis 127.0.0.1:$ENV{TEST_NGINX_SPARE_PORT}: connect failed"
--- no_error_log
imprest: redis command queued
[alert]



=== TEST 4: section 3 POST and PUT: 405 with Allow; HEAD: 200 without a body
--- request eval
["POST /.well-known/oauth-authorization-server\nx=1",
 "PUT /.well-known/oauth-authorization-server\nx=1",
 "HEAD /.well-known/oauth-authorization-server"]
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- error_code eval
[405, 405, 200]
--- response_headers eval
["Allow: GET, HEAD\nContent-Type: application/json",
 "Allow: GET, HEAD",
 "Content-Type: application/json\nContent-Length: " . length(::doc($::ISS))]
--- response_body eval
["{\"error\":\"invalid_request\",\"error_description\":\"method not allowed\"}\n",
 "{\"error\":\"invalid_request\",\"error_description\":\"method not allowed\"}\n",
 ""]
--- no_error_log
[error]



=== TEST 5: section 3 a query string is ignored; a path below the document is not the document
--- request eval
["GET /.well-known/oauth-authorization-server?x=1&issuer=https://evil.example",
 "GET /.well-known/oauth-authorization-server/extra"]
--- error_code eval
[200, 404]
--- response_body_like eval
[qr/\A\Q${\ ::doc($::ISS)}\E\z/, qr/\A(?!\{)/]
--- no_error_log
imprest: redis command queued
[alert]



=== TEST 6: scopes_supported follows the imprest_scope catalogue, in order; an https issuer with a path prefixes the endpoints
--- http_config
    imprest_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    imprest_issuer https://auth.imprest.example/tenant;
    imprest_scope money_in "Read invoices and incoming payments";
    imprest_scope money_out "Read bills and outgoing payments";
    imprest_scope payroll "Read payroll";
--- init
after_response(0, sub {
    check_doc($_[1], 'https://auth.imprest.example/tenant',
              qw(money_in money_out payroll));
});
--- request
GET /.well-known/oauth-authorization-server
--- error_code: 200
--- response_body eval
::doc('https://auth.imprest.example/tenant', qw(money_in money_out payroll))
--- no_error_log
[error]



=== TEST 7: imprest_issuer accepts https, and http on 127.0.0.1, [::1] and localhost
--- http_config
    imprest_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    imprest_issuer http://[::1]:8080;
    imprest_scope money_in "Read invoices and incoming payments";
    imprest_scope money_out "Read bills and outgoing payments";
--- request
GET /.well-known/oauth-authorization-server
--- error_code: 200
--- response_body eval
::doc('http://[::1]:8080')
--- no_error_log
[emerg]
[error]



=== TEST 8: imprest_issuer http://localhost is the demo's loopback too
--- http_config
    imprest_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    imprest_issuer http://localhost;
    imprest_scope money_in "Read invoices and incoming payments";
    imprest_scope money_out "Read bills and outgoing payments";
--- request
GET /.well-known/oauth-authorization-server
--- error_code: 200
--- response_body eval
::doc('http://localhost')
--- no_error_log
[emerg]
[error]



=== TEST 9: nginx -t refuses a plain-http issuer on a non-loopback host
--- http_config
    imprest_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    imprest_issuer http://auth.example;
    imprest_scope money_in "Read invoices and incoming payments";
--- must_die
--- error_log eval
qr/\[emerg\] .*imprest_issuer "http:\/\/auth\.example" must use https \(http only for a loopback host\) in \S+nginx\.conf:\d+$/



=== TEST 10: nginx -t refuses loopback look-alikes over http (localhost.evil, 127.0.0.1.evil, userinfo)
--- http_config
    imprest_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    imprest_issuer http://localhost.evil.example;
    imprest_scope money_in "Read invoices and incoming payments";
--- must_die
--- error_log eval
qr/\[emerg\] .*imprest_issuer "http:\/\/localhost\.evil\.example" must use https \(http only for a loopback host\)/



=== TEST 11: nginx -t refuses http://127.0.0.1.evil.example
--- http_config
    imprest_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    imprest_issuer http://127.0.0.1.evil.example;
    imprest_scope money_in "Read invoices and incoming payments";
--- must_die
--- error_log eval
qr/\[emerg\] .*imprest_issuer "http:\/\/127\.0\.0\.1\.evil\.example" must use https \(http only for a loopback host\)/



=== TEST 12: nginx -t refuses http://127.0.0.1@evil.example (userinfo)
--- http_config
    imprest_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    imprest_issuer http://127.0.0.1@evil.example;
    imprest_scope money_in "Read invoices and incoming payments";
--- must_die
--- error_log eval
qr/\[emerg\] .*imprest_issuer "http:\/\/127\.0\.0\.1\@evil\.example" must use https \(http only for a loopback host\)/



=== TEST 13: AS-MD-1 nginx -t refuses a trailing slash: https://a/
--- http_config
    imprest_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    imprest_issuer https://a/;
    imprest_scope money_in "Read invoices and incoming payments";
--- must_die
--- error_log eval
qr/\[emerg\] .*imprest_issuer "https:\/\/a\/" must be an https URL without query, fragment or trailing slash in \S+nginx\.conf:\d+$/



=== TEST 14: AS-MD-1 nginx -t refuses a query: https://a?x
--- http_config
    imprest_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    imprest_issuer https://a?x;
    imprest_scope money_in "Read invoices and incoming payments";
--- must_die
--- error_log eval
qr/\[emerg\] .*imprest_issuer "https:\/\/a\?x" must be an https URL without query, fragment or trailing slash/



=== TEST 15: AS-MD-1 nginx -t refuses a fragment: https://a#f
--- http_config
    imprest_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    imprest_issuer "https://a#f";
    imprest_scope money_in "Read invoices and incoming payments";
--- must_die
--- error_log eval
qr/\[emerg\] .*imprest_issuer "https:\/\/a#f" must be an https URL without query, fragment or trailing slash/



=== TEST 16: nginx -t refuses other schemes, an upper-case scheme and an empty host
--- http_config
    imprest_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    imprest_issuer HTTPS://auth.example;
    imprest_scope money_in "Read invoices and incoming payments";
--- must_die
--- error_log eval
qr/\[emerg\] .*imprest_issuer "HTTPS:\/\/auth\.example" must be an https URL without query, fragment or trailing slash/



=== TEST 17: nginx -t refuses https:// with no host
--- http_config
    imprest_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    imprest_issuer https://;
    imprest_scope money_in "Read invoices and incoming payments";
--- must_die
--- error_log eval
qr/\[emerg\] .*imprest_issuer "https:\/\/" must be an https URL without query, fragment or trailing slash/



=== TEST 18: the authorization server without imprest_issuer does not start
--- http_config
    imprest_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    imprest_scope money_in "Read invoices and incoming payments";
--- must_die
--- error_log eval
qr/\[emerg\] .*the imprest authorization server needs "imprest_issuer" in the http block/



=== TEST 19: a second imprest_issuer is refused
--- http_config
    imprest_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    imprest_issuer https://a.example;
    imprest_issuer https://b.example;
    imprest_scope money_in "Read invoices and incoming payments";
--- must_die
--- error_log eval
qr/\[emerg\] .*"imprest_issuer" directive is duplicate/
