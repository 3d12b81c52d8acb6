# POST /oauth/authorize: the user's decision on the consent page
# (security-requirements.md AS-AZ-4/5/6/8, AS-RU-7, and the consent-page
# row of section 3: replayed, foreign, tampered, cross-site, via GET,
# expired, Redis down).
#
# Each block stores the consent requests it needs with put_consent() (the
# record GET /oauth/authorize leaves, t/100-authorize.t checks that one),
# under request ids made at load time: rid('name').
#
# After each response, from Redis:
#   --- codes       number of imprest:ac:* records (codes issued)
#   --- consents    number of imprest:consent:* records (requests pending)
#   --- code_record the fields of the code the Location carries: the code
#                   is captured by the qr// that main::code_loc() gives to
#                   --- raw_response_headers_like (checked just before)
# Each is one value, or an eval'd array with one per request.
use Test::Nginx::Socket 'no_plan';
use Imprest::Test;
use Digest::SHA qw(sha256 sha256_hex);
use MIME::Base64 qw(encode_base64url);

no_shuffle();
use_as_config();

# "--- imprest_redis: ADDR PARAMS" replaces the directive in the shared
# http{} preamble
add_block_preprocessor(sub {
    my $block = shift;
    my $http = $Imprest::Test::AS_HTTP_CONFIG;
    if (defined(my $redis = $block->imprest_redis)) {
        $http =~ s/imprest_redis [^;]*;/imprest_redis $redis;/;
        $block->set_value(http_config => $http);
    }
    # "--- issuer: URL" replaces imprest_issuer (an https deployment)
    if (defined(my $issuer = $block->issuer)) {
        $http =~ s/imprest_issuer [^;]*;/imprest_issuer $issuer;/;
        $block->set_value(http_config => $http);
    }
    undef $main::CODE;
    return $block;
});

sub pick { my ($v, $i) = @_; return ref $v eq 'ARRAY' ? $v->[$i] : $v }

sub rkeys { return grep { length } split /\n/, redis('KEYS', $_[0]) }

add_response_body_check(sub {
    my ($block, $body, $idx) = @_;
    my $name = $block->name . " (req $idx)";

    for my $c (['codes', 'imprest:ac:*'], ['consents', 'imprest:consent:*']) {
        my ($section, $pattern) = @$c;
        my $want = pick(scalar $block->$section, $idx);
        next unless defined $want;
        Test::More::is(scalar(rkeys($pattern)), $want,
                       "$name - $section in Redis");
    }

    my $want = pick(scalar $block->code_record, $idx) or return;
    my $code = $main::CODE;
    undef $main::CODE;
    return Test::More::fail("$name - no code captured from Location")
        unless defined $code;
    # well-formed: checksum computed independently of the module
    Test::More::is(substr($code, 50),
                   encode_base64url(substr(sha256(substr($code, 0, 50)), 0, 4)),
                   "$name - code checksum");
    my $key = 'imprest:ac:' . sha256_hex($code);
    (my $out = redis('HGETALL', $key)) =~ s/\n\z//;
    my %got = split /\n/, $out, -1;
    my $exp = delete $got{exp};
    my $now = time;
    Test::More::ok(defined $exp && $exp > $now + 55 && $exp <= $now + 61,
                   "$name - code exp " . ($exp // 'none') . ": now + 60 s");
    Test::More::is_deeply(\%got, $want, "$name - code record");
    my $ttl = redis('TTL', $key);
    Test::More::ok($ttl > 55 && $ttl <= 60, "$name - code TTL $ttl");
});

our %RID;
sub rid { my ($n) = @_; return $RID{$n} //= token_new('cr') }
rid($_) for qw(a b c d e f);

# AS-AZ-5: 1 KB of everything a query or a Location could trip over
our $STATE = substr('a&b=c#d%e+f g/h?~;' x 60, 0, 1024);

run_tests();

# --- helpers, called as main::name() from eval sections ---------------------

sub iss { "http://127.0.0.1:$ENV{TEST_NGINX_SERVER_PORT}" }

sub enc {
    my ($s) = @_;
    $s =~ s/([^A-Za-z0-9\-._~])/sprintf('%%%02X', ord $1)/ge;
    return $s;
}

# POST /oauth/authorize with these form fields, in this order
sub post {
    my (@f) = @_;
    my @q;
    while (my ($k, $v) = splice @f, 0, 2) {
        push @q, $k eq '-raw' ? $v : "$k=" . enc($v);
    }
    return "POST /oauth/authorize\n" . join('&', @q);
}

sub approve {
    my ($rid, @orgs) = @_;
    @orgs = ($Imprest::Test::ORG2) unless @orgs;
    return post(request_id => $rid, (map { (org => $_) } @orgs),
                decision => 'approve');
}

# The approval's Location, exactly; captures the code for code_record
sub code_loc {
    my (%o) = @_;
    my $uri = quotemeta($o{uri} // $Imprest::Test::APP_URI);
    my $sep = $uri =~ /\\\?/ ? '&' : '\?';
    my $state = defined $o{state} && length $o{state}
                ? '&state=' . quotemeta(enc($o{state})) : '';
    my $iss = quotemeta(enc($o{iss} // iss()));
    return qr/\r\nLocation: $uri${sep}code=(imp_ac_[A-Za-z0-9_-]{49})(?{ $main::CODE = $^N })$state&iss=$iss\r\n/;
}

sub deny_loc {
    my (%o) = @_;
    my $state = exists $o{state} ? $o{state} : 'st-1';
    return ($o{uri} // $Imprest::Test::APP_URI)
           . '?error=access_denied&error_description='
           . enc('the user denied the request')
           . (length $state ? '&state=' . enc($state) : '')
           . '&iss=' . enc($o{iss} // iss());
}

sub page {
    my ($title, $msg) = @_;
    return '<!doctype html><html lang="en"><head><meta charset="utf-8">'
           . "<title>Imprest: $title</title></head><body><main><h1>$title"
           . "</h1><p>$msg</p></main></body></html>\n";
}

sub unknown { page('Invalid request',
                   'This authorization request is unknown or has expired.') }

sub code_rec {
    my (%o) = @_;
    return { cid => $Imprest::Test::APP_ID, uid => 'alice',
             redirect_uri => $Imprest::Test::APP_URI, ru_given => '1',
             scope => 'money_in money_out', orgs => $Imprest::Test::ORG2,
             challenge => '', %o };
}

sub n { my ($n, $v) = @_; return [ ($v) x $n ] }

sub ch { 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM' }

__DATA__

=== TEST 1: AS-AZ-8 approve: 303 to the client with a code bound to the chosen organization, exact state, iss
--- init
seed_as();
put_consent(rid => rid('a'), state => 'st-1');
--- request eval
main::approve(main::rid('a'))
--- more_headers eval
"X-Test-User: alice
Content-Type: application/x-www-form-urlencoded
Origin: http://127.0.0.1:$ENV{TEST_NGINX_SERVER_PORT}"
--- error_code: 303
--- raw_response_headers_like eval
main::code_loc(state => 'st-1')
--- response_headers
Cache-Control: no-store
Referrer-Policy: same-origin
--- response_body eval
''
--- codes: 1
--- consents: 0
--- code_record eval
main::code_rec()
--- error_log
imprest: user "alice" approved a request
imprest: redis command queued: consent_take, 1 pending
--- no_error_log
[error]



=== TEST 2: approve for two organizations, one spelled in upper case: both granted, canonical, in the order chosen
--- init
seed_as();
put_consent(rid => rid('a'), state => 'st-1');
--- request eval
main::approve(main::rid('a'), uc $Imprest::Test::ORG2, $Imprest::Test::ORG1)
--- more_headers
X-Test-User: alice
Content-Type: application/x-www-form-urlencoded
--- error_code: 303
--- raw_response_headers_like eval
main::code_loc(state => 'st-1')
--- codes: 1
--- code_record eval
main::code_rec(orgs => "$Imprest::Test::ORG2 $Imprest::Test::ORG1")
--- no_error_log
[error]



=== TEST 3: a public client's request: the code keeps the challenge, the loopback URI and ru_given
--- init
seed_as();
put_consent(rid => rid('a'), cid => $PUB_ID, redirect_uri => 'http://127.0.0.1:51234/cb',
            scope => 'money_in', state => 'st-1', challenge => main::ch());
put_consent(rid => rid('b'), cid => $PUB_ID, redirect_uri => 'http://127.0.0.1/cb',
            ru_given => '0', scope => 'money_in', state => 'st-2', challenge => main::ch());
--- request eval
[main::approve(main::rid('a')), main::approve(main::rid('b'))]
--- more_headers
X-Test-User: alice
Content-Type: application/x-www-form-urlencoded
--- error_code eval
[303, 303]
--- raw_response_headers_like eval
[main::code_loc(uri => 'http://127.0.0.1:51234/cb', state => 'st-1'),
 main::code_loc(uri => 'http://127.0.0.1/cb', state => 'st-2')]
--- codes eval
[1, 2]
--- code_record eval
[main::code_rec(cid => $Imprest::Test::PUB_ID, redirect_uri => 'http://127.0.0.1:51234/cb', scope => 'money_in', challenge => main::ch()),
 main::code_rec(cid => $Imprest::Test::PUB_ID, redirect_uri => 'http://127.0.0.1/cb', ru_given => '0', scope => 'money_in', challenge => main::ch())]
--- no_error_log
[error]



=== TEST 4: AS-AZ-4 a request without state: the approval carries none
--- init
seed_as();
put_consent(rid => rid('a'), state => '');
--- request eval
main::approve(main::rid('a'))
--- more_headers
X-Test-User: alice
Content-Type: application/x-www-form-urlencoded
--- error_code: 303
--- raw_response_headers_like eval
main::code_loc(state => '')
--- code_record eval
main::code_rec()
--- no_error_log
[error]



=== TEST 5: AS-AZ-5 a 1 KB state with &=#%+ comes back exactly, percent-encoded
--- init
seed_as();
put_consent(rid => rid('a'), state => $STATE);
--- request eval
main::approve(main::rid('a'))
--- more_headers
X-Test-User: alice
Content-Type: application/x-www-form-urlencoded
--- error_code: 303
--- raw_response_headers_like eval
main::code_loc(state => $main::STATE)
--- code_record eval
main::code_rec()
--- no_error_log
[error]



=== TEST 6: AS-RU-7 a registered redirect URI with a query keeps it, the response parameters follow
--- init
seed_as();
put_consent(rid => rid('a'), redirect_uri => 'https://app.example/cb?a=1', state => 'st-1');
put_consent(rid => rid('b'), redirect_uri => 'https://app.example/cb?a=1', state => 'st-1');
--- request eval
[main::approve(main::rid('a')), main::post(request_id => main::rid('b'), decision => 'deny')]
--- more_headers
X-Test-User: alice
Content-Type: application/x-www-form-urlencoded
--- error_code eval
[303, 303]
--- raw_response_headers_like eval
[main::code_loc(uri => 'https://app.example/cb?a=1', state => 'st-1'), '.']
--- response_headers eval
['', 'Location: ' . main::deny_loc() =~ s/\?/?a=1&/r]
--- code_record eval
[main::code_rec(redirect_uri => 'https://app.example/cb?a=1'), undef]
--- no_error_log
[error]



=== TEST 7: AS-AZ-6 deny: 303 with access_denied, state and iss; no code; the request is used up
--- init
seed_as();
put_consent(rid => rid('a'), state => 'st-1');
put_consent(rid => rid('b'), state => '');
--- request eval
[main::post(request_id => main::rid('a'), org => $Imprest::Test::ORG1, decision => 'deny'),
 main::post(request_id => main::rid('b'), decision => 'deny')]
--- more_headers
X-Test-User: alice
Content-Type: application/x-www-form-urlencoded
--- error_code eval
[303, 303]
--- response_headers eval
["Location: " . main::deny_loc() . "\nCache-Control: no-store",
 "Location: " . main::deny_loc(state => '')]
--- response_body eval
['', '']
--- codes eval
[0, 0]
--- consents eval
[1, 0]
--- error_log
access_denied: the user denied the request
--- no_error_log
approved a request
[error]



=== TEST 8: replayed request_id (approve twice, deny then approve): 400 page the second time, one code at most
--- init
seed_as();
put_consent(rid => rid('a'), state => 'st-1');
put_consent(rid => rid('b'), state => 'st-1');
--- request eval
[main::approve(main::rid('a')), main::approve(main::rid('a')),
 main::post(request_id => main::rid('b'), decision => 'deny'), main::approve(main::rid('b'))]
--- more_headers
X-Test-User: alice
Content-Type: application/x-www-form-urlencoded
--- error_code eval
[303, 400, 303, 400]
--- raw_response_headers_like eval
[main::code_loc(state => 'st-1'), '.', '.', '.']
--- response_headers eval
['', '!Location', 'Location: ' . main::deny_loc(), '!Location']
--- response_body eval
['', main::unknown(), '', main::unknown()]
--- codes eval
[1, 1, 1, 1]
--- consents eval
[1, 1, 0, 0]
--- code_record eval
[main::code_rec(), undef, undef, undef]
--- no_error_log
[error]



=== TEST 9: another user's request (a member of the same organization): 403 page, and it stays the owner's
--- init
seed_as();
put_consent(rid => rid('a'), state => 'st-1');
--- request eval
[main::approve(main::rid('a'), $Imprest::Test::ORG1), main::post(request_id => main::rid('a'), decision => 'deny'),
 main::approve(main::rid('a'), $Imprest::Test::ORG1)]
--- more_headers eval
["X-Test-User: bob\nContent-Type: application/x-www-form-urlencoded",
 "X-Test-User: bob\nContent-Type: application/x-www-form-urlencoded",
 "X-Test-User: alice\nContent-Type: application/x-www-form-urlencoded"]
--- error_code eval
[403, 403, 303]
--- raw_response_headers_like eval
['.', '.', main::code_loc(state => 'st-1')]
--- response_headers eval
['!Location', '!Location', '']
--- response_body eval
[main::page('Not allowed', 'This authorization request belongs to another user.'),
 main::page('Not allowed', 'This authorization request belongs to another user.'), '']
--- codes eval
[0, 0, 1]
--- consents eval
[1, 1, 0]
--- code_record eval
[undef, undef, main::code_rec(orgs => $Imprest::Test::ORG1)]
--- no_error_log
[error]



=== TEST 10: an organization the user does not belong to (alone or with one she does, or none at all): 400 page, no code
--- init
seed_as();
put_consent(rid => rid($_), state => 'st-1') for qw(a b c d);
--- request eval
[main::approve(main::rid('a'), $Imprest::Test::ORG3),
 main::approve(main::rid('b'), $Imprest::Test::ORG1, $Imprest::Test::ORG3),
 main::approve(main::rid('c'), $Imprest::Test::ORG_NONE),
 main::post(request_id => main::rid('d'), decision => 'approve')]
--- more_headers
X-Test-User: alice
Content-Type: application/x-www-form-urlencoded
--- error_code eval
[400, 400, 400, 400]
--- response_headers eval
main::n(4, '!Location')
--- response_body eval
main::n(4, main::page('Invalid request', 'Choose at least one of your organizations.'))
--- codes eval
[0, 0, 0, 0]
--- no_error_log
approved a request
[error]



=== TEST 11: organization values that are not UUIDs: 400 page before Redis, the request still pending
--- init
seed_as();
put_consent(rid => rid('a'), state => 'st-1');
--- request eval
[main::approve(main::rid('a'), 'abc'),
 main::approve(main::rid('a'), "{$Imprest::Test::ORG1}"),
 main::approve(main::rid('a'), "urn:uuid:$Imprest::Test::ORG1"),
 main::approve(main::rid('a'), $Imprest::Test::ORG1 =~ s/-//gr),
 main::approve(main::rid('a'), "$Imprest::Test::ORG1 $Imprest::Test::ORG2"),
 main::approve(main::rid('a'), "$Imprest::Test::ORG1*"),
 main::approve(main::rid('a'), ''),
 main::approve(main::rid('a'), '%00')]
--- more_headers
X-Test-User: alice
Content-Type: application/x-www-form-urlencoded
--- error_code eval
main::n(8, 400)
--- response_headers eval
main::n(8, '!Location')
--- response_body eval
main::n(8, main::page('Invalid request', 'The organization list is invalid.'))
--- codes eval
main::n(8, 0)
--- consents eval
main::n(8, 1)
--- no_error_log
imprest: redis command queued
[error]



=== TEST 12: an unknown request_id (well-formed, never stored): 400 page after asking Redis, no code
--- init
seed_as();
put_consent(rid => rid('a'), state => 'st-1');
--- request eval
main::approve(main::rid('e'))
--- more_headers
X-Test-User: alice
Content-Type: application/x-www-form-urlencoded
--- error_code: 400
--- response_headers
!Location
--- response_body eval
main::unknown()
--- codes: 0
--- consents: 1
--- error_log
imprest: redis command queued: consent_take
--- no_error_log
approved a request
[error]



=== TEST 13: request_id tampered, of another type, truncated, missing, empty or repeated: 400 page before Redis
--- init
seed_as();
put_consent(rid => rid('a'), state => 'st-1');
--- request eval
my $r = main::rid('a');
(my $flip = $r) =~ s/^(imp_cr_.)(.)/$1 . ($2 eq 'A' ? 'B' : 'A')/e;
[main::approve($flip),
 main::approve(Imprest::Test::token_new('ac')),
 main::approve(substr($r, 0, -1)),
 main::approve($r . 'x'),
 main::post(org => $Imprest::Test::ORG2, decision => 'approve'),
 main::approve(''),
 main::post(request_id => $r, request_id => $r, org => $Imprest::Test::ORG2, decision => 'approve')]
--- more_headers
X-Test-User: alice
Content-Type: application/x-www-form-urlencoded
--- error_code eval
main::n(7, 400)
--- response_headers eval
main::n(7, '!Location')
--- response_body eval
main::n(7, main::unknown())
--- codes eval
main::n(7, 0)
--- consents eval
main::n(7, 1)
--- no_error_log
imprest: redis command queued
[error]



=== TEST 14: decision missing, misspelled or repeated: 400 page, nothing decided, then approve works
--- init
seed_as();
put_consent(rid => rid('a'), state => 'st-1');
--- request eval
my $r = main::rid('a');
my $o = $Imprest::Test::ORG2;
[main::post(request_id => $r, org => $o),
 main::post(request_id => $r, org => $o, decision => 'Approve'),
 main::post(request_id => $r, org => $o, decision => 'yes'),
 main::post(request_id => $r, org => $o, decision => 'approve '),
 main::post(request_id => $r, org => $o, decision => 'approve', decision => 'deny'),
 main::post(request_id => $r, org => $o, decision => 'approve', decision => 'approve'),
 main::approve($r)]
--- more_headers
X-Test-User: alice
Content-Type: application/x-www-form-urlencoded
--- error_code eval
[(400) x 6, 303]
--- response_body eval
[(main::unknown()) x 6, '']
--- raw_response_headers_like eval
[('.') x 6, main::code_loc(state => 'st-1')]
--- codes eval
[(0) x 6, 1]
--- consents eval
[(1) x 6, 0]
--- code_record eval
[(undef) x 6, main::code_rec()]
--- no_error_log
[error]



=== TEST 15: hidden fields cannot change the grant: client_id, redirect_uri, scope, state in the form are ignored
--- init
seed_as();
put_consent(rid => rid('a'), state => 'st-1', scope => 'money_in');
--- request eval
main::post(request_id => main::rid('a'), org => $Imprest::Test::ORG2, decision => 'approve',
           client_id => $Imprest::Test::APP2_ID, redirect_uri => 'https://evil.example/cb',
           scope => 'money_in money_out admin', state => 'forged', uid => 'bob',
           code_challenge => main::ch())
--- more_headers
X-Test-User: alice
Content-Type: application/x-www-form-urlencoded
--- error_code: 303
--- raw_response_headers_like eval
main::code_loc(state => 'st-1')
--- code_record eval
main::code_rec(scope => 'money_in')
--- no_error_log
[error]



=== TEST 16: a foreign Origin: 403 page before Redis, the request still pending
--- init
seed_as();
put_consent(rid => rid('a'), state => 'st-1');
--- request eval
[(main::approve(main::rid('a'))) x 6]
--- more_headers eval
[map { "X-Test-User: alice\nContent-Type: application/x-www-form-urlencoded\nOrigin: $_" }
 'https://evil.example',
 'http://127.0.0.1',
 "https://127.0.0.1:$ENV{TEST_NGINX_SERVER_PORT}",
 "http://127.0.0.1:$ENV{TEST_NGINX_SERVER_PORT}0",
 "http://127.0.0.1:$ENV{TEST_NGINX_SERVER_PORT}.evil.example",
 "http://localhost:$ENV{TEST_NGINX_SERVER_PORT}"]
--- error_code eval
main::n(6, 403)
--- response_headers eval
main::n(6, "!Location\n!Access-Control-Allow-Origin")
--- response_body eval
main::n(6, main::page('Not allowed', 'This form was not sent from this site.'))
--- codes eval
main::n(6, 0)
--- consents eval
main::n(6, 1)
--- no_error_log
imprest: redis command queued
[error]



=== TEST 17: an Origin that is only a prefix of the issuer is foreign too, and so is "null" (a sandboxed frame's)
--- init
seed_as();
put_consent(rid => rid($_), state => 'st-1') for qw(a b c d);
--- request eval
[map { main::approve(main::rid($_)) } qw(a b c d)]
--- more_headers eval
[map { "X-Test-User: alice\nContent-Type: application/x-www-form-urlencoded\nOrigin: $_" }
 'http:', 'http:/', 'http://', 'null']
--- error_code eval
main::n(4, 403)
--- response_body eval
main::n(4, main::page('Not allowed', 'This form was not sent from this site.'))
--- codes eval
main::n(4, 0)
--- consents eval
main::n(4, 4)
--- no_error_log
imprest: redis command queued
[error]



=== TEST 18: Origin equal to the issuer's origin (any case), or none (a non-browser client): accepted
--- init
seed_as();
put_consent(rid => rid($_), state => 'st-1') for qw(a b c);
--- request eval
[main::approve(main::rid('a')), main::approve(main::rid('b')), main::approve(main::rid('c'))]
--- more_headers eval
["X-Test-User: alice\nContent-Type: application/x-www-form-urlencoded\nOrigin: http://127.0.0.1:$ENV{TEST_NGINX_SERVER_PORT}",
 "X-Test-User: alice\nContent-Type: application/x-www-form-urlencoded\nOrigin: HTTP://127.0.0.1:$ENV{TEST_NGINX_SERVER_PORT}",
 "X-Test-User: alice\nContent-Type: application/x-www-form-urlencoded"]
--- error_code eval
[303, 303, 303]
--- raw_response_headers_like eval
main::n(3, main::code_loc(state => 'st-1'))
--- codes eval
[1, 2, 3]
--- code_record eval
main::n(3, main::code_rec())
--- no_error_log
[error]



=== TEST 19: GET with the form's parameters decides nothing; the POST afterwards still can
--- init
seed_as();
put_consent(rid => rid('a'), state => 'st-1');
--- request eval
[main::approve(main::rid('a')) =~ s/^POST (\S+)\n/GET $1?/r,
 main::approve(main::rid('a'))]
--- more_headers
X-Test-User: alice
Content-Type: application/x-www-form-urlencoded
--- error_code eval
[400, 303]
--- response_headers eval
['!Location', '']
--- response_body eval
[main::page('Invalid request', 'The client_id parameter is missing.'), '']
--- raw_response_headers_like eval
['.', main::code_loc(state => 'st-1')]
--- codes eval
[0, 1]
--- consents eval
[1, 0]
--- code_record eval
[undef, main::code_rec()]
--- no_error_log
[error]



=== TEST 20: an expired request (its record gone from Redis): 400 page, no code
--- init
seed_as();
put_consent(rid => rid('a'), state => 'st-1', ttl => 1);
Time::HiRes::sleep(1.2);
--- request eval
main::approve(main::rid('a'))
--- more_headers
X-Test-User: alice
Content-Type: application/x-www-form-urlencoded
--- error_code: 400
--- response_headers
!Location
--- response_body eval
main::unknown()
--- codes: 0
--- error_log
imprest: redis command queued: consent_take
--- no_error_log
[error]



=== TEST 21: no signed-in user: 401 page, nothing decided, no Redis command
--- init
seed_as();
put_consent(rid => rid('a'), state => 'st-1');
--- request eval
[main::approve(main::rid('a')), main::post(request_id => main::rid('a'), decision => 'deny')]
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- error_code eval
[401, 401]
--- response_headers eval
main::n(2, '!Location')
--- response_body eval
main::n(2, main::page('Sign in required', 'Please sign in to continue.'))
--- codes eval
[0, 0]
--- consents eval
[1, 1]
--- no_error_log
imprest: redis command queued
[error]



=== TEST 22: a body that is not a form (JSON, none, multipart): 400, nothing decided
--- init
seed_as();
put_consent(rid => rid('a'), state => 'st-1');
--- request eval
my $j = '{"request_id":"' . main::rid('a') . '","org":"' . $Imprest::Test::ORG2 . '","decision":"approve"}';
["POST /oauth/authorize\n$j", main::approve(main::rid('a')), main::approve(main::rid('a'))]
--- more_headers eval
["X-Test-User: alice\nContent-Type: application/json",
 "X-Test-User: alice",
 "X-Test-User: alice\nContent-Type: multipart/form-data; boundary=x"]
--- error_code eval
[400, 400, 400]
--- response_headers eval
main::n(3, '!Location')
--- codes eval
[0, 0, 0]
--- consents eval
[1, 1, 1]
--- response_body eval
main::n(3, qq{{"error":"invalid_request","error_description":"the body must be application/x-www-form-urlencoded"}\n})
--- no_error_log
imprest: redis command queued
[error]



=== TEST 23: a malformed form (bad escape, NUL, more than 100 fields): 400, nothing decided
--- init
seed_as();
put_consent(rid => rid('a'), state => 'st-1');
--- request eval
[main::approve(main::rid('a')) . '&x=%G1',
 main::approve(main::rid('a')) . '&x=%00',
 main::approve(main::rid('a'), ($Imprest::Test::ORG1) x 99)]
--- more_headers
X-Test-User: alice
Content-Type: application/x-www-form-urlencoded
--- error_code eval
[400, 400, 400]
--- response_headers eval
main::n(3, '!Location')
--- codes eval
[0, 0, 0]
--- consents eval
[1, 1, 1]
--- response_body eval
main::n(3, qq{{"error":"invalid_request","error_description":"malformed form body"}\n})
--- no_error_log
imprest: redis command queued
[error]



=== TEST 24: Redis down: 503 page, no Location, no code
--- init
seed_as();
put_consent(rid => rid('a'), state => 'st-1');
--- imprest_redis: 127.0.0.1:$TEST_NGINX_SPARE_PORT timeout=1s
--- request eval
main::approve(main::rid('a'))
--- more_headers
X-Test-User: alice
Content-Type: application/x-www-form-urlencoded
--- error_code: 503
--- response_headers
!Location
Cache-Control: no-store
--- response_body eval
main::page('Temporarily unavailable', 'Please try again in a moment.')
--- codes: 0
--- consents: 1
--- error_log eval
"imprest: redis 127.0.0.1:$ENV{TEST_NGINX_SPARE_PORT}: connect failed: Connection refused"
--- no_error_log
approved a request



=== TEST 25: an https issuer: approve and deny sent with the browser's Origin (the issuer's scheme, host and port) go through
--- issuer: https://auth.example.com
--- init
seed_as();
put_consent(rid => rid($_), state => 'st-1') for qw(a b);
--- request eval
[main::approve(main::rid('a')),
 main::post(request_id => main::rid('b'), decision => 'deny')]
--- more_headers
X-Test-User: alice
Content-Type: application/x-www-form-urlencoded
Origin: https://auth.example.com
--- error_code eval
[303, 303]
--- raw_response_headers_like eval
[main::code_loc(state => 'st-1', iss => 'https://auth.example.com'),
 do { my $l = main::deny_loc(iss => 'https://auth.example.com');
      qr/\r\nLocation: \Q$l\E\r\n/ }]
--- codes eval
[1, 1]
--- consents eval
[1, 0]
--- code_record eval
[main::code_rec(), undef]
--- no_error_log
[error]



=== TEST 26: an https issuer: every near miss of its origin, and "null", is foreign
--- issuer: https://auth.example.com
--- init
seed_as();
put_consent(rid => rid($_), state => 'st-1') for qw(a b c d e f);
--- request eval
[map { main::approve(main::rid($_)) } qw(a b c d e f)]
--- more_headers eval
[map { "X-Test-User: alice\nContent-Type: application/x-www-form-urlencoded\nOrigin: $_" }
 'https:/', 'http://auth.example.com', 'https://auth.example.com.evil',
 'https://auth.example.com:8443', 'null', 'https://evil.example']
--- error_code eval
main::n(6, 403)
--- response_body eval
main::n(6, main::page('Not allowed', 'This form was not sent from this site.'))
--- codes eval
main::n(6, 0)
--- consents eval
main::n(6, 6)
--- error_log
imprest: consent form posted from a foreign origin
--- no_error_log
imprest: redis command queued
[error]



=== TEST 27: an https issuer with a port and a path: its origin is scheme, host and port only
--- issuer: https://auth.example.com:8443/tenant
--- init
seed_as();
put_consent(rid => rid($_), state => 'st-1') for qw(a b);
--- request eval
[main::approve(main::rid('a')), main::approve(main::rid('b'))]
--- more_headers eval
[map { "X-Test-User: alice\nContent-Type: application/x-www-form-urlencoded\nOrigin: $_" }
 'https://auth.example.com', 'https://auth.example.com:8443']
--- error_code eval
[403, 303]
--- raw_response_headers_like eval
['.', main::code_loc(state => 'st-1', iss => 'https://auth.example.com:8443/tenant')]
--- codes eval
[0, 1]
--- no_error_log
[error]



=== TEST 28: an https issuer written with its default port: browsers leave ":443" out of Origin
--- issuer: https://auth.example.com:443
--- init
seed_as();
put_consent(rid => rid('a'), state => 'st-1');
--- request eval
main::approve(main::rid('a'))
--- more_headers
X-Test-User: alice
Content-Type: application/x-www-form-urlencoded
Origin: https://auth.example.com
--- error_code: 303
--- raw_response_headers_like eval
main::code_loc(state => 'st-1', iss => 'https://auth.example.com:443')
--- codes: 1
--- no_error_log
[error]
