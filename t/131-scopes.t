# The Scopes reference (imprest_scopes, issue 9): the catalogue as an HTML
# page and its JSON twin at <base>.json (or on Accept: application/json),
# public, served without Redis, linked from the portal's navigation and
# from the metadata (RFC 8414 service_documentation).
use Test::Nginx::Socket 'no_plan';
use Imprest::Test;
use Imprest::Portal;
use JSON::PP ();

no_shuffle();
use_portal_config();
use_fault_hooks();

our $JSON = '{"scopes":[{"name":"money_in","description":"Read invoices and '
            . 'incoming payments"},{"name":"money_out","description":"Read '
            . 'bills and outgoing payments"},{"name":"contacts",'
            . '"description":"Read <contacts> & \"addresses\""}]}' . "\n";

run_tests();

__DATA__

=== TEST 1: the page: every scope with its description, escaped; public; the security headers and the CSP exactly
--- request
GET /developer/scopes
--- error_code: 200
--- response_headers eval
["Content-Type: text/html; charset=utf-8",
 "Vary: Accept",
 "X-Frame-Options: DENY",
 "Referrer-Policy: same-origin",
 "X-Content-Type-Options: nosniff",
 "Content-Security-Policy: $::CSP_ASSETS"]
--- response_body_like eval
[qr{<link rel="stylesheet" href="/developer/scopes/style.css">},
 qr{<a href="/developer/">My Apps</a><a href="/developer/scopes">Scopes</a></div>},
 qr{<h1>Scopes</h1>},
 qr{<a id="scopes-json" href="/developer/scopes\.json">JSON</a>},
 qr{<tr id="scope-money_in"><td><code>money_in</code></td><td>Read invoices and incoming payments</td></tr><tr id="scope-money_out"><td><code>money_out</code></td><td>Read bills and outgoing payments</td></tr><tr id="scope-contacts"><td><code>contacts</code></td><td>Read &lt;contacts&gt; &amp; &quot;addresses&quot;</td></tr></tbody>}]
--- no_error_log
[error]



=== TEST 2: the JSON twin at <base>.json, exactly
--- request
GET /developer/scopes.json
--- error_code: 200
--- response_headers
Content-Type: application/json
X-Content-Type-Options: nosniff
!Vary
--- response_body eval
$::JSON
--- no_error_log
[error]



=== TEST 3: content negotiation at the page's URI: JSON only when preferred (RFC 9110 12.5.1)
--- init
after_response(0, sub {
    my @cases = (
        ['application/json', 'json'],
        ['Application/JSON', 'json'],
        ['application/json;q=0.9, text/html;q=0.8', 'json'],
        ['text/html;q=0.5, application/*', 'json'],
        ['text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8', 'html'],
        ['*/*', 'html'],
        ['application/json;q=0, */*', 'html'],
        ['application/json;q=0.5, text/html', 'html'],
        ['text/html, application/json', 'html'],
        ['image/png', 'html'],
        [';q=1, application/json', 'json'],
        ['application/json;q=1.000', 'json'],
        ['application/json; q=0.25, text/*;q=0.2', 'json'],
    );
    for my $c (@cases) {
        my ($accept, $want) = @$c;
        my $r = http_get('/developer/scopes', headers => ["Accept: $accept"]);
        is($r->{status}, 200, "$accept: 200");
        is($r->{headers}{vary}, 'Accept', "$accept: Vary: Accept");
        if ($want eq 'json') {
            is($r->{body}, $JSON, "$accept: JSON");
        } else {
            like($r->{body}, qr/\A<!doctype html>/, "$accept: HTML");
        }
    }
    my $r = http_get('/developer/scopes/', headers => ['Accept: application/json']);
    is($r->{body}, $JSON, 'base "/" too');
});
--- request
GET /developer/scopes
--- error_code: 200
--- no_error_log
[error]



=== TEST 4: assets, methods, unknown paths; no Redis needed
--- http_config eval
(my $h = $Imprest::Portal::PORTAL_HTTP_CONFIG)
    =~ s/imprest_redis [^;]*;/imprest_redis 127.0.0.1:$ENV{TEST_NGINX_SPARE_PORT} timeout=1s;/;
$h
--- init
after_response(0, sub {
    my $r = http_get('/developer/scopes/style.css');
    is($r->{status}, 200, 'style.css');
    is($r->{headers}{'content-type'}, 'text/css; charset=utf-8', 'as CSS');
    $r = http_get('/developer/scopes.json');
    is($r->{status}, 200, 'JSON without Redis');
    for my $p ('/developer/scopes/x', '/developer/scopesx', '/developer/scopes.jsonx',
               '/developer/scopes.js')
    {
        $r = http_get($p);
        is($r->{status}, 404, "$p: 404");
    }
    for my $m (qw(POST PUT DELETE)) {
        $r = http_req(method => $m, path => '/developer/scopes');
        is($r->{status}, 405, "$m: 405");
        is($r->{headers}{allow}, 'GET, HEAD', "$m: Allow");
        $r = http_req(method => $m, path => '/developer/scopes.json');
        is($r->{status}, 405, "$m .json: 405");
    }
    $r = http_req(method => 'HEAD', path => '/developer/scopes.json');
    is($r->{status}, 200, 'HEAD: 200');
    is($r->{body}, '', 'HEAD: no body');
});
--- request
GET /developer/scopes
--- error_code: 200
--- response_body_like eval
qr{<code>money_in</code>}



=== TEST 5: the metadata links to the page: RFC 8414 service_documentation, at the issuer's origin
--- request
GET /.well-known/oauth-authorization-server
--- error_code: 200
--- response_body_like eval
qr{\n  "service_documentation": "https://as\.example/developer/scopes"\n\}\n\z}
--- no_error_log
[error]



=== TEST 6: without imprest_scopes the metadata has no service_documentation
--- config
    location = /.well-known/oauth-authorization-server { imprest_metadata; }
--- request
GET /.well-known/oauth-authorization-server
--- error_code: 200
--- response_body_unlike
service_documentation
--- no_error_log
[error]
