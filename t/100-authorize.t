# GET /oauth/authorize: request validation and the consent page
# (security-requirements.md 1.2 AS-RU-*, AS-AZ-*, 1.3 AS-PK-1/2/3, and the
# /authorize and consent-page rows of section 3).
#
# Until the client and its redirect URI are known to be good, errors are a
# page on our own origin without Location (RFC 6749 4.1.2.1); after that
# they go back to the client with error, state and iss (RFC 9207).  A good
# request stores a consent record under the page's request_id: the
# "--- consent_record" section (expected fields, eval'd hash) makes the
# check below read it from Redis by the request_id the page carries.
#
# Requests are built by authz(): the developer guide's request, with some
# parameters replaced (name => value), removed (name => undef) or appended
# (a name not in the guide's list, or -raw => 'already&encoded').
use Test::Nginx::Socket 'no_plan';
use Imprest::Test;
use Digest::SHA qw(sha256 sha256_hex);
use MIME::Base64 qw(encode_base64url);

no_shuffle();
use_as_config();

# "--- http_extra": directives appended to the shared http{} preamble;
# "--- imprest_redis: ADDR PARAMS" replaces its imprest_redis directive
add_block_preprocessor(sub {
    my $block = shift;
    my $extra = $block->http_extra;
    my $redis = $block->imprest_redis;
    return $block unless defined $extra || defined $redis;
    my $http = $Imprest::Test::AS_HTTP_CONFIG;
    $http =~ s/imprest_redis [^;]*;/imprest_redis $redis;/ if defined $redis;
    $http .= $extra if defined $extra;
    $block->set_value(http_config => $http);
    return $block;
});

# the consent record behind the page just received
add_response_body_check(sub {
    my ($block, $body, $idx) = @_;
    my $want = $block->consent_record;
    $want = $want->[$idx] if ref $want eq 'ARRAY';
    return unless $want;
    my $name = $block->name . " - consent record (req $idx)";
    my ($rid) = $body =~ /name="request_id" value="(imp_cr_[A-Za-z0-9_-]{49})"/
        or return Test::More::fail("$name: no request_id on the page");
    # a well-formed token (checksum computed independently of the module)
    my $head = substr($rid, 0, 50);
    Test::More::is(substr($rid, 50),
                   encode_base64url(substr(sha256($head), 0, 4)),
                   "$name: request_id checksum");
    my $key = 'imprest:consent:' . sha256_hex($rid);
    # redis-cli --raw: one line per field and per value, empty ones too
    (my $out = Imprest::Test::redis('HGETALL', $key)) =~ s/\n\z//;
    my %got = split /\n/, $out, -1;
    Test::More::is_deeply(\%got, $want, "$name: fields");
    my $ttl = Imprest::Test::redis('TTL', $key);
    Test::More::ok($ttl > 590 && $ttl <= 600, "$name: TTL $ttl, 10 min");
});

# AS-AZ-5: 1 KB of everything a query or a Location could trip over
our $STATE = substr('a&b=c#d%e+f g/h?~;' x 60, 0, 1024);

# an app registered with a repeated scope token
our $DUP_ID = 'app_' . join('', map { sprintf '%x', int rand 16 } 1 .. 24);

run_tests();

# --- helpers, called as main::name() from eval sections ---------------------

sub iss { "http://127.0.0.1:$ENV{TEST_NGINX_SERVER_PORT}" }

# percent-encoding as the module does it: all but unreserved, upper hex
sub enc {
    my ($s) = @_;
    $s =~ s/([^A-Za-z0-9\-._~])/sprintf('%%%02X', ord $1)/ge;
    return $s;
}

sub authz {
    my (@over) = @_;
    my @p = (client_id => $Imprest::Test::APP_ID, response_type => 'code',
             redirect_uri => $Imprest::Test::APP_URI,
             scope => 'money_in money_out', state => 'RANDOM_NONCE');
    my $raw = '';
    while (my ($k, $v) = splice @over, 0, 2) {
        if ($k eq '-raw') { $raw .= "&$v"; next }
        my $i = 0;
        $i += 2 while $i < @p && $p[$i] ne $k;
        if ($i < @p) { $p[$i + 1] = $v } else { push @p, $k, $v }
    }
    my @q;
    while (my ($k, $v) = splice @p, 0, 2) {
        next unless defined $v;
        (my $e = enc($v)) =~ s/%20/+/g;
        push @q, "$k=$e";
    }
    my $q = join('&', @q) . $raw;
    $q =~ s/^&//;
    return "GET /oauth/authorize?$q";
}

# the Location of an error response to the client
sub err_loc {
    my ($error, $desc, %o) = @_;
    my $state = exists $o{state} ? $o{state} : 'RANDOM_NONCE';
    return ($o{uri} // $Imprest::Test::APP_URI) . '?error=' . enc($error)
           . '&error_description=' . enc($desc)
           . (defined $state && length $state ? '&state=' . enc($state) : '')
           . '&iss=' . enc(iss());
}

sub err_log {
    my ($error, $desc, $cid) = @_;
    $cid //= $Imprest::Test::APP_ID;
    return "imprest: authorization error to client \"$cid\": $error: $desc";
}

# our own error page
sub page {
    my ($title, $msg) = @_;
    return '<!doctype html><html lang="en"><head><meta charset="utf-8">'
           . "<title>Imprest: $title</title></head><body><main><h1>$title"
           . "</h1><p>$msg</p></main></body></html>\n";
}

sub consent {
    my (%o) = @_;
    return { uid => 'alice', cid => $Imprest::Test::APP_ID,
             redirect_uri => $Imprest::Test::APP_URI, ru_given => '1',
             scope => 'money_in money_out', state => 'RANDOM_NONCE',
             challenge => '', %o };
}

# RFC 7636 appendix B
sub ch { 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM' }

sub n { my ($n, $v) = @_; return [ ($v) x $n ] }

# a pattern: these texts, in this order
sub in_order { return join '.*', map { quotemeta } @_ }

__DATA__

=== TEST 1: the developer guide's request: consent page, hardened headers, no CORS, request stored
--- init
seed_as();
--- request eval
"GET /oauth/authorize?client_id=$Imprest::Test::APP_ID&response_type=code&redirect_uri=https://app.example/cb&scope=money_in+money_out&state=RANDOM_NONCE"
--- more_headers
X-Test-User: alice
Origin: https://x.example
--- error_code: 200
--- response_headers
Content-Type: text/html; charset=utf-8
X-Frame-Options: DENY
Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline'; form-action 'self' https://app.example; frame-ancestors 'none'; base-uri 'none'
Cache-Control: no-store
Referrer-Policy: same-origin
!Access-Control-Allow-Origin
!Access-Control-Allow-Credentials
!Location
--- response_body_like eval
main::in_order('<h1>Books &quot;R&quot; &lt;Us&gt; wants to access your Imprest account</h1>',
 '<p>Signed in as <b>alice</b>.',
 '<li>Read invoices and incoming payments <span class="s">(money_in)</span></li>',
 '<li>Read bills and outgoing payments <span class="s">(money_out)</span></li>',
 '<form method="post" action="/oauth/authorize">')
 . '<input type="hidden" name="request_id" value="imp_cr_[A-Za-z0-9_-]{49}">.*'
 . main::in_order(
 qq{<input type="checkbox" name="org" value="$Imprest::Test::ORG1"> Acme Ltd</label>},
 qq{<input type="checkbox" name="org" value="$Imprest::Test::ORG2"> Beta &quot;Books&quot; &amp; Co</label>},
 'You will be sent back to <span class="s">https://app.example/cb</span>',
 'name="decision" value="approve"', 'name="decision" value="deny"')
--- response_body_unlike eval
qr{$Imprest::Test::ORG3|Gamma|checked|RANDOM_NONCE|<script}
--- consent_record eval
main::consent()
--- error_log
imprest: redis command queued: client, 1 pending
imprest: redis command queued: consent_put, 1 pending
--- no_error_log
authorization error
[error]



=== TEST 2: consent page: a hostile application name is escaped, invisible characters replaced
--- init
seed_as();
redis('HSET', "imprest:client:$APP_ID", 'name',
      qq{<script>alert(1)</script>"><img src=x onerror=alert(1)>}
      . "\xe2\x80\xaegnp.exe\xe2\x80\x8b\nX'");
--- request eval
main::authz()
--- more_headers
X-Test-User: alice
--- error_code: 200
--- response_body_like eval
main::in_order("<h1>&lt;script&gt;alert(1)&lt;/script&gt;&quot;&gt;&lt;img src=x onerror=alert(1)&gt;\xef\xbf\xbdgnp.exe\xef\xbf\xbd X&#39; wants")
--- response_body_unlike eval
qr{<script|<img|\xe2\x80\xae|\xe2\x80\x8b}
--- no_error_log
[error]



=== TEST 3: consent page: a user with one organization gets it pre-checked
--- init
seed_as();
ctl(qw(user add dave --name Dave));
ctl('member', 'add', 'dave', $ORG3);
--- request eval
main::authz()
--- more_headers
X-Test-User: dave
--- error_code: 200
--- response_body_like eval
qr{<p>Signed in as <b>dave</b>.*<fieldset><legend>On behalf of these organizations</legend><div><label><input type="checkbox" name="org" value="$Imprest::Test::ORG3" checked> Gamma GmbH</label></div></fieldset>}s
--- consent_record eval
main::consent(uid => 'dave')
--- no_error_log
[error]



=== TEST 4: AS-AZ-4 redirect_uri omitted, or sent empty, with one registered URI: the registered one, not "given"
--- init
seed_as();
--- request eval
[main::authz(redirect_uri => undef), main::authz(redirect_uri => '')]
--- more_headers
X-Test-User: alice
--- error_code eval
[200, 200]
--- response_body_like eval
main::n(2, 'You will be sent back to <span class="s">https://app\.example/cb</span>')
--- consent_record eval
main::n(2, main::consent(ru_given => '0'))
--- no_error_log
[error]



=== TEST 5: RFC 6749 3.3 scope omitted: the application's registered scopes
--- init
seed_as();
--- request eval
[main::authz(scope => undef), main::authz(client_id => $Imprest::Test::APP2_ID, redirect_uri => 'https://two.example/b', scope => undef)]
--- more_headers
X-Test-User: alice
--- error_code eval
[200, 200]
--- response_body_like eval
['\(money_in\).*\(money_out\)', '\(money_in\)</span></li></ul>']
--- consent_record eval
[main::consent(), main::consent(cid => $Imprest::Test::APP2_ID, redirect_uri => 'https://two.example/b', scope => 'money_in')]
--- no_error_log
[error]



=== TEST 6: AS-AZ-3 an unknown parameter does not stop the flow
--- init
seed_as();
--- request eval
main::authz(foo => 'bar', -raw => 'nonce=1&prompt=consent')
--- more_headers
X-Test-User: alice
--- error_code: 200
--- consent_record eval
main::consent()
--- no_error_log
[error]



=== TEST 7: AS-RU-1 every near miss of the registered redirect URI: our 400 page, no Location, nothing stored
--- init
seed_as();
--- request eval
[map { main::authz(redirect_uri => $_) }
 'HTTPS://app.example/cb',
 'https://APP.example/cb',
 'https://app.example/cb/',
 'https://app.example/CB',
 'https://app.example/cb?x=1',
 'https://app.example/x/../cb',
 'https://app.example/%2E%2E/cb',
 'https://app.example/%252E%252E/cb',
 'https://app.example:444/cb',
 'https://app.example.evil/cb',
 'https://app.example@evil/cb',
 'https://evil/app.example/cb']
--- more_headers
X-Test-User: alice
--- error_code eval
main::n(12, 400)
--- response_headers eval
main::n(12, "!Location\nContent-Type: text/html; charset=utf-8\nCache-Control: no-store")
--- response_body eval
main::n(12, main::page('Invalid redirect URI', 'The redirect_uri is not registered for this application.'))
--- error_log
imprest: redis command queued: client
--- no_error_log
consent_put
authorization error
[error]



=== TEST 8: section 3 more redirect_uri vectors: fragment, default port, backslash, scheme-relative, CRLF, space, IDN
--- init
seed_as();
--- request eval
[map { main::authz(redirect_uri => $_) }
 'https://app.example/cb#f',
 'https://app.example:443/cb',
 'https:/\\evil',
 'https://evil\\@app.example/cb',
 '//evil',
 '/cb',
 "https://app.example/cb\r\nLocation: https://evil",
 'https://app.example/cb ',
 "https://\xd0\xb0pp.example/cb",
 'https://app.example/cb' . ('x' x 4000)]
--- more_headers
X-Test-User: alice
--- error_code eval
main::n(10, 400)
--- response_headers eval
main::n(10, "!Location")
--- response_body eval
main::n(10, main::page('Invalid redirect URI', 'The redirect_uri is not registered for this application.'))
--- no_error_log
consent_put
authorization error
[error]



=== TEST 9: AS-RU-2 loopback redirect URI of a native app: any port, same path (PKCE S256)
--- init
seed_as();
--- request eval
[main::authz(client_id => $Imprest::Test::PUB_ID, redirect_uri => 'http://127.0.0.1:51234/cb', scope => 'money_in', code_challenge => main::ch(), code_challenge_method => 'S256'),
 main::authz(client_id => $Imprest::Test::PUB_ID, redirect_uri => 'http://127.0.0.1/cb', scope => 'money_in', code_challenge => main::ch(), code_challenge_method => 'S256')]
--- more_headers
X-Test-User: alice
--- error_code eval
[200, 200]
--- response_body_like eval
['<h1>Phone App wants.*sent back to <span class="s">http://127\.0\.0\.1:51234/cb</span>', 'sent back to <span class="s">http://127\.0\.0\.1/cb</span>']
--- consent_record eval
[main::consent(cid => $Imprest::Test::PUB_ID, redirect_uri => 'http://127.0.0.1:51234/cb', scope => 'money_in', challenge => main::ch()),
 main::consent(cid => $Imprest::Test::PUB_ID, redirect_uri => 'http://127.0.0.1/cb', scope => 'money_in', challenge => main::ch())]
--- no_error_log
[error]



=== TEST 10: AS-RU-2 loopback: only the port may differ
--- init
seed_as();
--- request eval
[map { main::authz(client_id => $Imprest::Test::PUB_ID, redirect_uri => $_, scope => 'money_in', code_challenge => main::ch(), code_challenge_method => 'S256') }
 'http://127.0.0.1:51234/other',
 'http://127.0.0.1:51234/cb/',
 'http://localhost:51234/cb',
 'https://127.0.0.1:51234/cb',
 'http://127.0.0.1:0/cb',
 'http://127.0.0.1:051234/cb',
 'http://127.0.0.1:65536/cb',
 'http://127.0.0.1:/cb',
 'http://127.0.0.1:51234@evil.example/cb',
 'http://127.0.0.1.evil.example:51234/cb']
--- more_headers
X-Test-User: alice
--- error_code eval
main::n(10, 400)
--- response_headers eval
main::n(10, "!Location")
--- response_body eval
main::n(10, main::page('Invalid redirect URI', 'The redirect_uri is not registered for this application.'))
--- no_error_log
consent_put
[error]



=== TEST 11: AS-RU-3 client_id missing, empty or malformed: 400 page before any Redis command
--- init
seed_as();
--- request eval
[main::authz(client_id => undef), main::authz(client_id => ''),
 main::authz(client_id => '*'), main::authz(client_id => 'app:1'),
 main::authz(client_id => 'x' x 4000)]
--- more_headers
X-Test-User: alice
--- error_code eval
main::n(5, 400)
--- response_headers eval
main::n(5, "!Location")
--- response_body eval
[main::page('Invalid request', 'The client_id parameter is missing.'),
 main::page('Invalid request', 'The client_id parameter is missing.'),
 (main::page('Unknown application', 'This application is not registered.')) x 3]
--- no_error_log
imprest: redis command queued
[error]



=== TEST 12: AS-RU-3 unknown client_id, unregistered redirect_uri: 400 page, no Location
--- init
seed_as();
--- request eval
[main::authz(client_id => 'app_000000000000000000000000'),
 main::authz(redirect_uri => 'https://other.example/cb'),
 main::authz(client_id => $Imprest::Test::APP2_ID, redirect_uri => $Imprest::Test::APP_URI)]
--- more_headers
X-Test-User: alice
--- error_code eval
[400, 400, 400]
--- response_headers eval
main::n(3, "!Location")
--- response_body eval
[main::page('Unknown application', 'This application is not registered.'),
 (main::page('Invalid redirect URI', 'The redirect_uri is not registered for this application.')) x 2]
--- error_log
imprest: redis command queued: client
--- no_error_log
consent_put
[error]



=== TEST 13: AS-RU-4 two registered URIs and none named (omitted or empty): 400 page; naming one works
--- init
seed_as();
--- request eval
[main::authz(client_id => $Imprest::Test::APP2_ID, redirect_uri => undef, scope => 'money_in'),
 main::authz(client_id => $Imprest::Test::APP2_ID, redirect_uri => '', scope => 'money_in'),
 main::authz(client_id => $Imprest::Test::APP2_ID, redirect_uri => 'https://two.example/a', scope => 'money_in')]
--- more_headers
X-Test-User: alice
--- error_code eval
[400, 400, 200]
--- response_headers eval
main::n(3, "!Location")
--- response_body_like eval
[quotemeta(main::page('Invalid request', 'The redirect_uri parameter is required.')),
 quotemeta(main::page('Invalid request', 'The redirect_uri parameter is required.')),
 '<h1>Two Ways wants']
--- consent_record eval
[undef, undef, main::consent(cid => $Imprest::Test::APP2_ID, redirect_uri => 'https://two.example/a', scope => 'money_in')]
--- no_error_log
[error]



=== TEST 14: AS-AZ-1 implicit and hybrid response types: unsupported_response_type to the client, with state and iss
--- init
seed_as();
--- request eval
[map { main::authz(response_type => $_) } 'token', 'code token', 'id_token', 'CODE', 'code code', 'none']
--- more_headers
X-Test-User: alice
--- error_code eval
main::n(6, 302)
--- response_headers eval
main::n(6, "Location: " . main::err_loc('unsupported_response_type', 'only response_type=code is supported') . "\nCache-Control: no-store")
--- response_body eval
main::n(6, '')
--- error_log eval
main::err_log('unsupported_response_type', 'only response_type=code is supported')
--- no_error_log
consent_put
[error]



=== TEST 15: response_type missing or empty: invalid_request to the client
--- init
seed_as();
--- request eval
[main::authz(response_type => undef), main::authz(response_type => '')]
--- more_headers
X-Test-User: alice
--- error_code eval
[302, 302]
--- response_headers eval
main::n(2, "Location: " . main::err_loc('invalid_request', 'response_type is required'))
--- error_log eval
main::err_log('invalid_request', 'response_type is required')
--- no_error_log
consent_put
[error]



=== TEST 16: AS-AZ-2 scope, response_type, code_challenge or code_challenge_method twice: invalid_request to the client
--- init
seed_as();
--- request eval
[main::authz(-raw => 'scope=money_in'),
 main::authz(-raw => 'response_type=code'),
 main::authz(code_challenge => main::ch(), code_challenge_method => 'S256', -raw => 'code_challenge=' . main::ch()),
 main::authz(code_challenge => main::ch(), code_challenge_method => 'S256', -raw => 'code_challenge_method=S256')]
--- more_headers
X-Test-User: alice
--- error_code eval
main::n(4, 302)
--- response_headers eval
main::n(4, "Location: " . main::err_loc('invalid_request', 'a parameter is repeated'))
--- error_log eval
main::err_log('invalid_request', 'a parameter is repeated')
--- no_error_log
consent_put
[error]



=== TEST 17: AS-AZ-2 state twice: invalid_request, and neither value echoed
--- init
seed_as();
--- request eval
[main::authz(-raw => 'state=RANDOM_NONCE'), main::authz(-raw => 'state=other')]
--- more_headers
X-Test-User: alice
--- error_code eval
[302, 302]
--- response_headers eval
main::n(2, "Location: " . main::err_loc('invalid_request', 'a parameter is repeated', state => undef))
--- error_log eval
main::err_log('invalid_request', 'a parameter is repeated')
--- no_error_log
consent_put
[error]



=== TEST 18: AS-AZ-2 client_id or redirect_uri twice (same or different values): 400 page, no Redis command
--- init
seed_as();
--- request eval
[main::authz(-raw => "client_id=$Imprest::Test::APP_ID"),
 main::authz(-raw => "client_id=$Imprest::Test::APP2_ID"),
 main::authz(-raw => 'redirect_uri=' . main::enc($Imprest::Test::APP_URI)),
 main::authz(-raw => 'redirect_uri=https%3A%2F%2Fevil.example%2Fcb')]
--- more_headers
X-Test-User: alice
--- error_code eval
main::n(4, 400)
--- response_headers eval
main::n(4, "!Location")
--- response_body eval
[(main::page('Invalid request', 'The client_id parameter is repeated.')) x 2,
 (main::page('Invalid request', 'The redirect_uri parameter is repeated.')) x 2]
--- no_error_log
imprest: redis command queued
[error]



=== TEST 19: AS-AZ-4 state sent empty: the error response carries no state
--- init
seed_as();
--- request eval
main::authz(state => '', response_type => 'token')
--- more_headers
X-Test-User: alice
--- error_code: 302
--- response_headers eval
"Location: " . main::err_loc('unsupported_response_type', 'only response_type=code is supported', state => undef)
--- error_log eval
main::err_log('unsupported_response_type', 'only response_type=code is supported')
--- no_error_log
[error]



=== TEST 20: AS-AZ-4 state sent empty: stored as no state (the approval will carry none)
--- init
seed_as();
--- request eval
main::authz(state => '')
--- more_headers
X-Test-User: alice
--- error_code: 200
--- consent_record eval
main::consent(state => '')
--- no_error_log
[error]



=== TEST 21: AS-AZ-5 a 1 KB state with &=#%+ is echoed exactly, percent-encoded, and stored exactly
--- init
seed_as();
--- request eval
[main::authz(state => $main::STATE, response_type => 'token'),
 main::authz(state => $main::STATE)]
--- more_headers
X-Test-User: alice
--- error_code eval
[302, 200]
--- response_headers eval
["Location: " . main::err_loc('unsupported_response_type', 'only response_type=code is supported', state => $main::STATE), "!Location"]
--- consent_record eval
[undef, main::consent(state => $main::STATE)]
--- no_error_log
[error]



=== TEST 22: AS-RU-7 a state with CR LF cannot split the Location header
--- init
seed_as();
--- request eval
main::authz(state => "x\r\nSet-Cookie: a=b\r\n\r\n<h1>", scope => 'nope')
--- more_headers
X-Test-User: alice
--- error_code: 302
--- response_headers eval
"Location: " . main::err_loc('invalid_scope', 'the requested scope is unknown or not allowed for this application', state => "x\r\nSet-Cookie: a=b\r\n\r\n<h1>") . "\n!Set-Cookie"
--- raw_response_headers_like: state=x%0D%0ASet-Cookie%3A%20a%3Db%0D%0A%0D%0A%3Ch1%3E&iss=
--- response_body eval
''
--- no_error_log
[error]



=== TEST 23: AS-AZ-6 unknown, wrongly cased, unregistered or malformed scope: invalid_scope to the client
--- init
seed_as();
--- request eval
[main::authz(scope => 'admin'),
 main::authz(scope => 'MONEY_IN'),
 main::authz(scope => 'money_in money_out admin'),
 main::authz(scope => 'money_in  money_out'),
 main::authz(scope => ' money_in'),
 main::authz(scope => "money_in\tmoney_out"),
 main::authz(scope => 'money_in"'),
 main::authz(client_id => $Imprest::Test::APP2_ID, redirect_uri => 'https://two.example/a', scope => 'money_out')]
--- more_headers
X-Test-User: alice
--- error_code eval
main::n(8, 302)
--- response_headers eval
[(("Location: " . main::err_loc('invalid_scope', 'the requested scope is unknown or not allowed for this application')) x 7),
 "Location: " . main::err_loc('invalid_scope', 'the requested scope is unknown or not allowed for this application', uri => 'https://two.example/a')]
--- error_log
: invalid_scope: the requested scope is unknown or not allowed for this application
--- no_error_log
consent_put
[error]



=== TEST 24: AS-AZ-7 the iss of an authorization response is the metadata's issuer
--- init
seed_as();
--- request eval
["GET /.well-known/oauth-authorization-server", main::authz(scope => 'admin')]
--- more_headers
X-Test-User: alice
--- error_code eval
[200, 302]
--- response_body_like eval
['"issuer":\s*"' . quotemeta(main::iss()) . '"', '^$']
--- response_headers_like eval
["Content-Type: application/json", "Location: .*&iss=" . quotemeta(main::enc(main::iss()))]
--- no_error_log
[error]



=== TEST 25: AS-AZ-9 no signed-in user: 401 page, never a redirect to the client, no Redis command
--- init
seed_as();
--- request eval
[main::authz(), main::authz(scope => 'admin'), main::authz(response_type => 'token'),
 main::authz(client_id => 'app_000000000000000000000000', redirect_uri => 'https://evil.example/cb'),
 main::authz(-raw => 'state=again')]
--- more_headers
X-Test-User:
--- error_code eval
main::n(5, 401)
--- response_headers eval
main::n(5, "!Location\n!WWW-Authenticate\nCache-Control: no-store")
--- response_body eval
main::n(5, main::page('Sign in required', 'Please sign in to continue.'))
--- no_error_log
imprest: redis command queued
authorization error
[error]



=== TEST 26: imprest_user giving a malformed user id: 403 page, logged, no Redis command
--- init
seed_as();
--- request eval
main::authz()
--- more_headers
X-Test-User: al"ice
--- error_code: 403
--- response_headers
!Location
--- response_body eval
main::page('Not allowed', 'Your account cannot use this page.')
--- error_log
imprest: imprest_user gave an invalid user id
--- no_error_log
imprest: redis command queued



=== TEST 27: a user in no organization: access_denied to the client, nothing stored
--- init
seed_as();
--- request eval
main::authz()
--- more_headers
X-Test-User: carol
--- error_code: 302
--- response_headers eval
"Location: " . main::err_loc('access_denied', 'the user belongs to no organization')
--- error_log eval
main::err_log('access_denied', 'the user belongs to no organization')
--- no_error_log
consent_put
[error]



=== TEST 28: AS-AZ-11 PUT and DELETE: 405 with Allow, no Redis command
--- init
seed_as();
--- request eval
[main::authz() =~ s/^GET/PUT/r . "\nx=1", main::authz() =~ s/^GET/DELETE/r]
--- more_headers
X-Test-User: alice
--- error_code eval
[405, 405]
--- response_headers eval
main::n(2, "Allow: GET, HEAD, POST\n!Location")
--- response_body eval
main::n(2, qq{{"error":"invalid_request","error_description":"method not allowed"}\n})
--- no_error_log
imprest: redis command queued
[error]



=== TEST 29: AS-PK-1 a public client without code_challenge: invalid_request to the client
--- init
seed_as();
--- request eval
[main::authz(client_id => $Imprest::Test::PUB_ID, redirect_uri => undef, scope => 'money_in'),
 main::authz(client_id => $Imprest::Test::PUB_ID, redirect_uri => 'http://127.0.0.1:51234/cb', scope => 'money_in', code_challenge => '')]
--- more_headers
X-Test-User: alice
--- error_code eval
[302, 302]
--- response_headers eval
["Location: " . main::err_loc('invalid_request', 'code_challenge is required', uri => 'http://127.0.0.1/cb'),
 "Location: " . main::err_loc('invalid_request', 'code_challenge is required', uri => 'http://127.0.0.1:51234/cb')]
--- error_log eval
main::err_log('invalid_request', 'code_challenge is required', $Imprest::Test::PUB_ID)
--- no_error_log
consent_put
[error]



=== TEST 30: AS-PK-2 code_challenge_method plain, absent, empty, s256, SHA256: invalid_request (public and confidential)
--- init
seed_as();
--- request eval
[(map { main::authz(client_id => $Imprest::Test::PUB_ID, redirect_uri => undef, scope => 'money_in', code_challenge => main::ch(), code_challenge_method => $_) }
  'plain', undef, '', 's256', 'SHA256', 'S256 '),
 main::authz(code_challenge => main::ch(), code_challenge_method => 'plain')]
--- more_headers
X-Test-User: alice
--- error_code eval
main::n(7, 302)
--- response_headers eval
[("Location: " . main::err_loc('invalid_request', 'code_challenge_method must be S256', uri => 'http://127.0.0.1/cb')) x 6,
 "Location: " . main::err_loc('invalid_request', 'code_challenge_method must be S256')]
--- error_log
: invalid_request: code_challenge_method must be S256
--- no_error_log
consent_put
[error]



=== TEST 31: AS-PK-2 code_challenge_method without code_challenge: invalid_request
--- init
seed_as();
--- request eval
[main::authz(code_challenge_method => 'S256'),
 main::authz(client_id => $Imprest::Test::PUB_ID, redirect_uri => undef, scope => 'money_in', code_challenge_method => 'S256')]
--- more_headers
X-Test-User: alice
--- error_code eval
[302, 302]
--- response_headers eval
["Location: " . main::err_loc('invalid_request', 'code_challenge_method without code_challenge'),
 "Location: " . main::err_loc('invalid_request', 'code_challenge_method without code_challenge', uri => 'http://127.0.0.1/cb')]
--- error_log
: invalid_request: code_challenge_method without code_challenge
--- no_error_log
consent_put
[error]



=== TEST 32: AS-PK-3 challenge of 42 or 129 characters, or with = + / or %: invalid_request
--- init
seed_as();
--- request eval
[map { main::authz(client_id => $Imprest::Test::PUB_ID, redirect_uri => undef, scope => 'money_in', code_challenge => $_, code_challenge_method => 'S256') }
 'a' x 42, 'a' x 129, ('a' x 42) . '=', ('a' x 42) . '+', ('a' x 42) . '/',
 ('a' x 41) . '%2', ('a' x 42) . ' ']
--- more_headers
X-Test-User: alice
--- error_code eval
main::n(7, 302)
--- response_headers eval
main::n(7, "Location: " . main::err_loc('invalid_request', 'malformed code_challenge', uri => 'http://127.0.0.1/cb'))
--- error_log eval
main::err_log('invalid_request', 'malformed code_challenge', $Imprest::Test::PUB_ID)
--- no_error_log
consent_put
[error]



=== TEST 33: AS-PK-3 challenges of 43 and 128 unreserved characters are accepted and stored
--- init
seed_as();
--- request eval
[map { main::authz(client_id => $Imprest::Test::PUB_ID, redirect_uri => undef, scope => 'money_in', code_challenge => $_, code_challenge_method => 'S256') }
 'A-._~' . ('z' x 38), '9' x 128]
--- more_headers
X-Test-User: alice
--- error_code eval
[200, 200]
--- consent_record eval
[main::consent(cid => $Imprest::Test::PUB_ID, redirect_uri => 'http://127.0.0.1/cb', ru_given => '0', scope => 'money_in', challenge => 'A-._~' . ('z' x 38)),
 main::consent(cid => $Imprest::Test::PUB_ID, redirect_uri => 'http://127.0.0.1/cb', ru_given => '0', scope => 'money_in', challenge => '9' x 128)]
--- no_error_log
[error]



=== TEST 34: AS-PK-1 a confidential client with S256 PKCE: consent page, challenge stored
--- init
seed_as();
--- request eval
main::authz(code_challenge => main::ch(), code_challenge_method => 'S256')
--- more_headers
X-Test-User: alice
--- error_code: 200
--- consent_record eval
main::consent(challenge => main::ch())
--- no_error_log
[error]



=== TEST 35: imprest_pkce_required on: the guide's request needs a challenge too
--- init
seed_as();
--- http_extra
    imprest_pkce_required on;
--- request eval
[main::authz(), main::authz(code_challenge => main::ch(), code_challenge_method => 'S256')]
--- more_headers
X-Test-User: alice
--- error_code eval
[302, 200]
--- response_headers eval
["Location: " . main::err_loc('invalid_request', 'code_challenge is required'), "!Location"]
--- consent_record eval
[undef, main::consent(challenge => main::ch())]
--- no_error_log
[error]



=== TEST 36: section 3 malformed query (NUL, bad escapes, control bytes): 400 page, no Redis command
--- init
seed_as();
--- request eval
[main::authz(-raw => 'x=%00'), main::authz(-raw => 'x=%G1'), main::authz(-raw => 'x=%'),
 main::authz(-raw => 'x=%0'), main::authz(-raw => 'client_id%00=1'),
 "GET /oauth/authorize?client_id=$Imprest::Test::APP_ID%00&response_type=code"]
--- more_headers
X-Test-User: alice
--- error_code eval
main::n(6, 400)
--- response_headers eval
main::n(6, "!Location")
--- response_body eval
main::n(6, main::page('Invalid request', 'The request is malformed.'))
--- no_error_log
imprest: redis command queued
[error]



=== TEST 37: Redis down: 503 page, no Location, no consent page
--- init
seed_as();
--- imprest_redis: 127.0.0.1:$TEST_NGINX_SPARE_PORT timeout=1s
--- request eval
main::authz()
--- more_headers
X-Test-User: alice
--- error_code: 503
--- response_headers
!Location
Cache-Control: no-store
--- response_body eval
main::page('Temporarily unavailable', 'Please try again in a moment.')
--- error_log eval
"imprest: redis 127.0.0.1:$ENV{TEST_NGINX_SPARE_PORT}: connect failed: Connection refused"



=== TEST 38: AS-RU-6 imprest_login_url: no user goes to our login page (never a Host-derived URL), back to this request
--- init
seed_as();
--- config
    location = /oauth/authorize {
        imprest_user $http_x_test_user;
        imprest_login_url /login;
        imprest_authorize;
    }
--- request eval
[main::authz(), main::authz()]
--- more_headers eval
["X-Test-User:", "X-Test-User:\nHost: evil.example"]
--- error_code eval
[302, 302]
--- response_headers_like eval
# relative, or absolute on the configured issuer: both stay on our origin
main::n(2, 'Location: (?:' . quotemeta(main::iss()) . ')?/login\?return_to='
           . quotemeta(main::enc(substr(main::authz(), 4))))
--- no_error_log
imprest: redis command queued
[error]



=== TEST 39: RFC 6749 3.3 a scope is a set: 100 repeats of each token show each once and store it once
--- init
seed_as();
--- request eval
main::authz(scope => CORE::join ' ', ('money_in', 'money_out') x 100)
--- more_headers
X-Test-User: alice
--- error_code: 200
--- response_body_like eval
main::in_order('<ul><li>Read invoices and incoming payments <span class="s">(money_in)</span></li>',
 '<li>Read bills and outgoing payments <span class="s">(money_out)</span></li></ul>')
--- response_body_unlike eval
qr{\(money_in\).*\(money_in\)|\(money_out\).*\(money_out\)}s
--- consent_record eval
main::consent()
--- no_error_log
[error]



=== TEST 40: a scope's bound: 2048 bytes pass (227 repeats), 2051 and an 8 KB request line's 870 repeats are invalid_scope, nothing stored
--- init
seed_as();
--- request eval
[main::authz(scope => CORE::join ' ', ('money_in') x 227),
 main::authz(scope => CORE::join ' ', ('money_in') x 228),
 main::authz(scope => CORE::join ' ', ('money_in') x 870)]
--- more_headers
X-Test-User: alice
--- error_code eval
[200, 302, 302]
--- response_headers eval
['', map { "Location: " . main::err_loc('invalid_scope', 'the requested scope is unknown or not allowed for this application') } 1, 2]
--- consent_record eval
[main::consent(scope => 'money_in'), undef, undef]
--- no_error_log
[error]



=== TEST 41: imprestctl keeps an app's scope as a set too: its default scope has each token once
--- init
seed_as();
ctl(qw(app create --name Dup --redirect-uri https://dup.example/cb --scope),
    'money_in money_out money_in', '--client-id', $main::DUP_ID,
    '--secret', token_new('cs'));
Test::More::like(redis('HGET', "imprest:client:$main::DUP_ID", 'scope'),
                 qr/\Amoney_in money_out\s*\z/, 'stored once each');
--- request eval
main::authz(client_id => $main::DUP_ID, redirect_uri => 'https://dup.example/cb', scope => undef)
--- more_headers
X-Test-User: alice
--- error_code: 200
--- consent_record eval
main::consent(cid => $main::DUP_ID, redirect_uri => 'https://dup.example/cb')
--- no_error_log
[error]

