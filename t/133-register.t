# imprest_register: RFC 7591 dynamic client registration and the RFC 7592
# client configuration endpoint (issue 9, "Registration API for
# automation"; security-requirements.md section 3 "/register").
#
# Never open: POST needs the signed-in user (imprest_user, here the
# X-Test-User header) or an initial access token from "imprestctl
# initial-token create"; <base>/<client_id> needs the registration access
# token.  Every hostile input of section 3 is a 4xx, never a 5xx, and
# nothing is stored for it; Redis down or answering garbage is 503 with
# nothing handed out.  Checks that need the issued credentials run in
# after_response() hooks (see t/110-token.t).  "--- ... eval" sections run
# in Test::Base's package: "$::NAME" and "::sub()" reach this file.
use Test::Nginx::Socket 'no_plan';
use Imprest::Test;
use Digest::SHA qw(sha256_hex);
use JSON::PP ();

our $ISS = "http://127.0.0.1:$ENV{TEST_NGINX_SERVER_PORT}";
our $BASE = "/oauth/register";
our $JSON = JSON::PP->new->utf8->canonical;

our $CONFIG = $Imprest::Test::AS_CONFIG . <<'_EOC_';
    location /oauth/register {
        imprest_user $http_x_test_user;
        imprest_register;
    }
_EOC_

our $CT = "Content-Type: application/json";
our $ALICE = "X-Test-User: alice\n$CT";
our $URI = 'https://reg.example/cb';
our $MIN = qq({"redirect_uris":["$URI"]});
our $IA_FORGED = token_new('ia');           # well-formed, never stored
our $UNAVAILABLE = '{"error":"temporarily_unavailable","error_description":'
                   . "\"the registration service is unavailable\"}\n";
our $WWW_INVALID = 'Bearer realm="imprest", error="invalid_token"';
our $BAD_RAT = '{"error":"invalid_token","error_description":'
               . "\"unknown client or invalid registration access token\"}\n";

# ten redirect URIs of the longest length allowed, in a 60 KB body
our @LONG = map { 'https://reg.example/' . ('a' x 1977) . sprintf('%03d', $_) }
            1 .. 10;
our $BIG = $JSON->encode({ redirect_uris => \@LONG, padding => 'x' x 38000 });

sub err {
    my ($e, $d) = @_;
    return $JSON->encode({ error => $e, error_description => $d }) . "\n";
}

sub meta_err { return err('invalid_client_metadata', $_[0]) }

sub uri_err { return err('invalid_redirect_uri', $_[0]) }

sub post { return "POST $BASE\n" . $_[0] }

sub exact { my ($s) = @_; return qr/\A\Q$s\E\z/ }

sub enc { return $JSON->encode($_[0]) }

sub body_of { return eval { JSON::PP::decode_json($_[0]) } || {} }

# a new initial access token, as the operator makes it
sub initial_token {
    my (@opt) = @_;
    return ctl('initial-token', 'create', @opt)->{initial_access_token};
}

sub reg {
    my (%o) = @_;
    my @h = (@{ $o{headers} || [] });
    push @h, $CT unless $o{no_ct};
    return http_req(method => $o{method} // 'POST',
                    path => $o{path} // $BASE, headers => \@h,
                    body => ref $o{body} ? enc($o{body}) : $o{body} // '');
}

sub manage {
    my ($method, $cid, $rat, $body) = @_;
    return reg(method => $method, path => "$BASE/$cid",
               headers => ["Authorization: Bearer $rat"],
               body => $body, no_ct => !defined $body);
}

# one Redis answer, without redis-cli's last newline
sub r1 { (my $o = redis(@_)) =~ s/\n\z//; return $o }

sub client_record {
    my ($cid) = @_;
    my %h = split /\n/, redis('HGETALL', "imprest:client:$cid") . "\n";
    return \%h;
}

sub nothing_stored {
    my ($name) = @_;
    is(r1('SCARD', 'imprest:clients'), 4,
       "$name: no app was stored (the four of seed_as only)");
}

# what every successful answer states, whatever was asked
sub check_client {
    my ($j, %want) = @_;
    like($j->{client_id} // '', qr/\Aapp_[0-9a-f]{24}\z/,
         'client_id: app_ and 24 hex digits');
    is($j->{registration_client_uri}, "$ISS$BASE/$j->{client_id}",
       'registration_client_uri: the issuer origin, the base, the id');
    like($j->{registration_access_token} // '',
         qr/\Aimp_ra_[A-Za-z0-9_-]{49}\z/, 'registration_access_token');
    is_deeply($j->{grant_types}, ['authorization_code', 'refresh_token'],
              'grant_types: what the token endpoint does');
    is_deeply($j->{response_types}, ['code'], 'response_types: code');
    ok(abs(($j->{client_id_issued_at} // 0) - time()) < 60,
       'client_id_issued_at: now');
    for my $k (sort keys %want) {
        is_deeply($j->{$k}, $want{$k}, "$k as expected");
    }
}

no_shuffle();
use_as_config();
use_imprest_redis_section();
use_fault_hooks();
# registered last, so run first (preprocessors are unshifted): before
# use_as_config() puts its own config in
add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value('config', $CONFIG) unless defined $block->config;
    return $block;
});
run_tests();

__DATA__

=== TEST 1: RFC 7591 3.1 a signed-in user registers a confidential app: 201, every field, the record hashed and owned
--- init
seed_as();
after_response(0, sub {
    my ($block, $body) = @_;
    my $j = body_of($body);
    check_client($j, client_name => 'Books <R> "Us"',
                 redirect_uris => [$URI, 'http://127.0.0.1/cb'],
                 scope => 'money_in', client_secret_expires_at => 0,
                 token_endpoint_auth_method => 'client_secret_basic');
    like($j->{client_secret} // '', qr/\Aimp_cs_[A-Za-z0-9_-]{49}\z/,
         'client_secret issued');
    my $rec = client_record($j->{client_id});
    is($rec->{secret}, sha256_hex($j->{client_secret}),
       'Redis keeps the SHA-256 of the secret only');
    is($rec->{rat}, sha256_hex($j->{registration_access_token}),
       'Redis keeps the SHA-256 of the registration access token only');
    is($rec->{owner}, 'alice', 'owned by the signed-in user');
    is($rec->{redirect_uris}, "$URI http://127.0.0.1/cb",
       'redirect URIs stored space-separated');
    is($rec->{name}, 'Books <R> "Us"', 'the name stored as sent');
    is(r1('SISMEMBER', 'imprest:user:alice:clients', $j->{client_id}),
       1, "in alice's apps, as the portal's Create App");
    is(r1('SISMEMBER', 'imprest:clients', $j->{client_id}), 1,
       'in the list of every app');
    unlike(redis('--scan'), qr/imp_(?:cs|ra)_/,
           'no secret in any Redis key');
});
--- request eval
::post(::enc({ redirect_uris => [$::URI, 'http://127.0.0.1/cb'],
               client_name => 'Books <R> "Us"', scope => 'money_in',
               token_endpoint_auth_method => 'client_secret_post',
               grant_types => ['authorization_code', 'refresh_token'],
               response_types => ['code'] }))
--- more_headers eval
$::ALICE
--- error_code: 201
--- response_headers
Content-Type: application/json
Cache-Control: no-store
Pragma: no-cache
--- response_body_like eval
qr/\A\{"client_id":"app_[0-9a-f]{24}","client_secret":"imp_cs_/
--- no_error_log
[error]



=== TEST 2: defaults: no name is the client id, no scope is the catalogue, public with "none": no secret
--- init
seed_as();
after_response(0, sub {
    my $j = body_of($_[1]);
    check_client($j, redirect_uris => [$URI], scope => 'money_in money_out',
                 token_endpoint_auth_method => 'none');
    is($j->{client_name}, $j->{client_id}, 'client_name defaults to the id');
    ok(!exists $j->{client_secret} && !exists $j->{client_secret_expires_at},
       'a public app gets no secret');
    is(client_record($j->{client_id})->{secret}, '',
       'stored as a public app (PKCE required at the token endpoint)');
});
--- request eval
::post(qq({"redirect_uris":["$::URI"],"token_endpoint_auth_method":"none","scope":"","client_name":null}))
--- more_headers eval
$::ALICE
--- error_code: 201
--- response_body_like: "token_endpoint_auth_method":"none"
--- no_error_log
[error]



=== TEST 3: RFC 7591 3 an initial access token registers an app without an owner; revoked or expired, 401
--- init
seed_as();
after_response(0, sub {
    my $ia = initial_token('--note', 'ci');
    my $old = initial_token('--ttl', '600');
    redis('HSET', 'imprest:initial:' . sha256_hex($old), 'exp', time() - 1);
    my $r = reg(body => $MIN, headers => ["Authorization: Bearer $ia"]);
    is($r->{status}, 201, 'registered with an initial access token');
    my $j = body_of($r->{body});
    check_client($j, redirect_uris => [$URI]);
    is(client_record($j->{client_id})->{owner}, '', 'no owner');
    is(r1('EXISTS', 'imprest:user::clients'), 0, 'no empty owner set');
    $r = reg(body => $MIN, headers => ["Authorization: bearer  $ia"]);
    is($r->{status}, 201, 'the token registers more than one app');
    my $list = ctl('initial-token', 'list');
    is(scalar(grep { $_->{note} eq 'ci' } @{ $list->{initial_tokens} }), 1,
       'imprestctl initial-token list shows it, by note');
    unlike(enc($list), qr/imp_ia_/, '... never the token itself');
    ctl('initial-token', 'revoke', substr(sha256_hex($ia), 0, 12));
    $r = reg(body => $MIN, headers => ["Authorization: Bearer $ia"]);
    is($r->{status}, 401, 'revoked by digest prefix: 401');
    is($r->{body}, err('invalid_token', 'unknown, expired or revoked '
                       . 'initial access token'), '... invalid_token');
    is($r->{headers}{'www-authenticate'}, $WWW_INVALID,
       '... with the RFC 6750 challenge');
    $r = reg(body => $MIN, headers => ["Authorization: Bearer $old"]);
    is($r->{status}, 401, 'an expired token (exp past, key alive): 401');
    is(r1('SCARD', 'imprest:clients'), 6, 'only the two registrations');
});
--- request eval
::post($::MIN)
--- more_headers eval
"Authorization: Bearer $::IA_FORGED\n$::CT"
--- error_code: 401
--- response_body eval
::err('invalid_token', 'unknown, expired or revoked initial access token')
--- no_error_log
[error]



=== TEST 4: never open: no user and no token is 401 without an error code (RFC 6750 3.1); other credentials are invalid_token
--- init
seed_as();
after_response(4, sub {
    nothing_stored('unauthenticated');
    like(error_log_text(), qr/imprest_user gave an invalid user id/,
         'an invalid imprest_user value is logged, and is nobody');
});
--- request eval
[(::post($::MIN)) x 5]
--- more_headers eval
[$::CT, "Authorization: Basic YWxpY2U6eA==\n$::CT",
 "Authorization: Bearer $Imprest::Test::AT\n$::CT",
 "Authorization: Bearer imp_ia_short\nX-Test-User: alice\n$::CT",
 "X-Test-User: bad/user\n$::CT"]
--- error_code eval
[401, 401, 401, 401, 401]
--- response_headers eval
['WWW-Authenticate: Bearer realm="imprest"',
 'WWW-Authenticate: Bearer realm="imprest"',
 "WWW-Authenticate: $::WWW_INVALID",
 "WWW-Authenticate: $::WWW_INVALID",
 'WWW-Authenticate: Bearer realm="imprest"']
--- response_body eval
[(::err('invalid_token', 'registration needs a signed-in user or an '
        . 'initial access token')) x 2,
 (::err('invalid_token', 'malformed initial access token')) x 2,
 ::err('invalid_token', 'registration needs a signed-in user or an '
       . 'initial access token')]
--- no_error_log
[alert]



=== TEST 5: the signed-in path refuses a foreign or null Origin (403), accepts the issuer's
--- init
seed_as();
after_response(1, sub { nothing_stored('foreign origin') });
--- request eval
[(::post($::MIN)) x 3]
--- more_headers eval
["Origin: https://evil.example\n$::ALICE", "Origin: null\n$::ALICE",
 "Origin: $::ISS\n$::ALICE"]
--- error_code eval
[403, 403, 201]
--- response_body_like eval
[qr/\A\Q${\ ::err('access_denied', 'a request from a foreign origin')}\E\z/,
 qr/"access_denied"/, qr/"client_id":"app_/]
--- no_error_log
[error]



=== TEST 6: the body must be application/json (400), parameters are not read from a form or the query
--- init
seed_as();
after_response(3, sub { nothing_stored('wrong content type') });
--- request eval
[(::post($::MIN)) x 4, ::post($::MIN)]
--- more_headers eval
["X-Test-User: alice\nContent-Type: text/plain",
 "X-Test-User: alice\nContent-Type: application/x-www-form-urlencoded",
 "X-Test-User: alice\nContent-Type: application/jsonx",
 "X-Test-User: alice",
 "X-Test-User: alice\nContent-Type: Application/JSON; charset=utf-8"]
--- error_code eval
[400, 400, 400, 400, 201]
--- response_body_like eval
[(::exact(::meta_err('the body must be application/json'))) x 4,
 qr/"client_id"/]
--- no_error_log
[error]



=== TEST 7: section 3 "/register": not JSON, BOM, invalid UTF-8, \u0000, repeated keys, depth 10000, trailing data: 400
--- init
seed_as();
after_response(9, sub { nothing_stored('malformed JSON') });
--- request eval
[map { ::post($_) }
 'redirect_uris=https://a.example/cb',
 "\xef\xbb\xbf$::MIN",
 qq({"redirect_uris":["$::URI"],"client_name":"\xff\xfe"}),
 qq({"redirect_uris":["$::URI"],"client_name":"a\\u0000b"}),
 qq({"redirect_uris":["https://evil.example/cb"],"redirect_uris":["$::URI"]}),
 qq({"redirect_uris":["$::URI"],"scope":"money_in","scope":"money_out"}),
 ('[' x 10000) . (']' x 10000),
 qq([$::MIN]),
 "$::MIN {}",
 '']
--- more_headers eval
[($::ALICE) x 10]
--- error_code eval
[(400) x 10]
--- response_body eval
[(::meta_err('the body must be one JSON object, without repeated members'))
 x 10]
--- no_error_log
[error]



=== TEST 8: body limits: 64 KB + 1 is 413 before it is read; a 60 KB body with 10 URIs of 2000 bytes is accepted whole
--- init
seed_as();
after_response(1, sub {
    my $j = body_of($_[1]);
    is_deeply($j->{redirect_uris}, \@LONG, 'all ten URIs of 2000 bytes');
    is(length($BIG) > 58000 && length($BIG) <= 65536, 1,
       'the body was ' . length($BIG) . ' bytes');
    is(client_record($j->{client_id})->{redirect_uris}, join(' ', @LONG),
       'stored whole');
});
--- request eval
[::post(::enc({ redirect_uris => [$::URI], pad => 'x' x 65536 })),
 ::post($::BIG)]
--- more_headers eval
[$::ALICE, $::ALICE]
--- error_code eval
[413, 201]
--- response_body_like eval
[qr/\A\Q${\ ::meta_err('the body is larger than 64 KB')}\E\z/,
 qr/"client_id":"app_/]
--- no_error_log
[error]



=== TEST 9: redirect_uris: required, an array of 1 to 10 strings, each by the portal's rules, none twice: invalid_redirect_uri naming it
--- init
seed_as();
after_response(13, sub { nothing_stored('bad redirect URIs') });
--- request eval
[map { ::post(::enc($_)) }
 { client_name => 'x' },
 { redirect_uris => $::URI },
 { redirect_uris => [] },
 { redirect_uris => [map { "$::URI$_" } 1 .. 11] },
 { redirect_uris => [$::URI, 7] },
 { redirect_uris => [$::URI, { uri => $::URI }] },
 { redirect_uris => ["$::URI#frag"] },
 { redirect_uris => ['http://app.example/cb'] },
 { redirect_uris => ['javascript:alert(1)'] },
 { redirect_uris => ['https://*.example/cb'] },
 { redirect_uris => ['https://user@app.example/cb'] },
 { redirect_uris => ['https://app.example/' . ('a' x 2000)] },
 { redirect_uris => [$::URI, $::URI] },
 { redirect_uris => [$::URI, 'https://a.example/a b'] }]
--- more_headers eval
[($::ALICE) x 14]
--- error_code eval
[(400) x 14]
--- response_body eval
[(::uri_err('redirect_uris must be an array of one or more URIs')) x 3,
 ::uri_err('at most 10 redirect_uris'),
 ::uri_err('redirect_uris[1]: not a string'),
 ::uri_err('redirect_uris[1]: not a string'),
 ::uri_err('redirect_uris[0]: fragment'),
 ::uri_err('redirect_uris[0]: http is allowed only for 127.0.0.1 and [::1]'),
 ::uri_err('redirect_uris[0]: scheme not allowed'),
 ::uri_err('redirect_uris[0]: wildcard'),
 ::uri_err('redirect_uris[0]: userinfo ("@")'),
 ::uri_err('redirect_uris[0]: longer than 2000 characters'),
 ::uri_err('redirect_uris[1]: repeated'),
 ::uri_err('redirect_uris[1]: whitespace, control or non-ASCII character')]
--- no_error_log
[error]



=== TEST 10: scope: a subset of the catalogue, a set, a string; client_name: a string of 1 to 100 bytes without controls
--- init
seed_as();
after_response(9, sub {
    my $j = body_of($_[1]);
    is($j->{scope}, 'money_out money_in', 'a scope is a set (RFC 6749 3.3)');
    is($j->{client_name}, "\x{00e9}" x 50, '100 bytes of UTF-8 accepted');
    is(r1('SCARD', 'imprest:clients'), 5, 'one app stored, nine refused');
});
--- request eval
[map { ::post(::enc({ redirect_uris => [$::URI], %$_ })) }
 { scope => 'money_in payroll' },
 { scope => 'money_in  money_out' },
 { scope => ['money_in'] },
 { scope => 'READ' },
 { client_name => 'x' x 101 },
 { client_name => "tab\there" },
 { client_name => 42 },
 { client_name => ["x"] },
 { client_name => "nl\nx" },
 { scope => 'money_out money_in money_out', client_name => "\x{00e9}" x 50 }]
--- more_headers eval
[($::ALICE) x 10]
--- error_code eval
[(400) x 9, 201]
--- response_body_like eval
[(::exact(::meta_err('scope must be space-separated scopes of the '
                     . 'catalogue (scopes_supported)'))) x 4,
 (::exact(::meta_err('client_name must be a string of at most 100 bytes '
                     . 'without control characters'))) x 5,
 qr/"client_id"/]
--- no_error_log
[error]



=== TEST 11: token_endpoint_auth_method, grant_types, response_types: RFC 7591 2 and 2.1; invalid values and types are 400
--- init
seed_as();
after_response(11, sub {
    my $j = body_of($_[1]);
    is_deeply($j->{grant_types}, ['authorization_code', 'refresh_token'],
              'authorization_code alone: answered with what is enforced');
    is(r1('SCARD', 'imprest:clients'), 5, 'one app stored');
});
--- request eval
[map { ::post(::enc({ redirect_uris => [$::URI], %$_ })) }
 { token_endpoint_auth_method => 'private_key_jwt' },
 { token_endpoint_auth_method => 'NONE' },
 { token_endpoint_auth_method => 1 },
 { grant_types => ['password'] },
 { grant_types => ['implicit', 'authorization_code'] },
 { grant_types => ['refresh_token'] },
 { grant_types => 'authorization_code' },
 { grant_types => [('authorization_code') x 9] },
 { response_types => ['token'] },
 { response_types => ['code', 'id_token'] },
 { response_types => [] },
 { grant_types => ['authorization_code'], response_types => ['code'] }]
--- more_headers eval
[($::ALICE) x 12]
--- error_code eval
[(400) x 11, 201]
--- response_body_like eval
[(::exact(::meta_err('token_endpoint_auth_method must be '
                     . 'client_secret_basic, client_secret_post or none')))
 x 3,
 (::exact(::meta_err('grant_types must be authorization_code, with or '
                     . 'without refresh_token'))) x 5,
 (::exact(::meta_err('response_types may only be ["code"]'))) x 3,
 qr/"client_id"/]
--- no_error_log
[error]



=== TEST 12: RFC 7591 2 unknown fields are ignored; a client_id or client_secret of the client's choosing is not used
--- init
seed_as();
our $CHOSEN = token_new('cs');
after_response(0, sub {
    my $j = body_of($_[1]);
    isnt($j->{client_id}, 'app_000000000000000000000000',
         'the server assigns the client id');
    isnt($j->{client_secret}, $CHOSEN, 'and the secret');
    ok(!exists $j->{logo_uri} && !exists $j->{software_statement},
       'fields not registered are not echoed');
    is(r1('EXISTS', 'imprest:client:app_000000000000000000000000'), 0,
       'no record under the chosen id');
});
--- request eval
::post(::enc({ redirect_uris => [$::URI], client_id => 'app_000000000000000000000000',
               client_secret => $::CHOSEN, logo_uri => 'javascript:x',
               contacts => ['a@b.example'], software_statement => 'x.y.z',
               'client_name#fr' => 'Livres', jwks => { keys => [] } }))
--- more_headers eval
$::ALICE
--- error_code: 201
--- no_error_log
[error]



=== TEST 13: the registered app completes the guide's flow: its secret works at the token endpoint, the gate accepts its token
--- init
seed_as();
our $CODE = token_new('ac');
after_response(0, sub {
    my $j = body_of($_[1]);
    put_code(code => $CODE, cid => $j->{client_id}, redirect_uri => $URI,
             scope => 'money_in');
    my $r = http_post('/oauth/token', [grant_type => 'authorization_code',
                      code => $CODE, redirect_uri => $URI],
                      basic_auth($j->{client_id}, $j->{client_secret}));
    is($r->{status}, 200, 'the code is redeemed with the issued secret');
    my ($at) = tokens_of($r->{body});
    is(api_get($at)->{status}, 200, 'the gate accepts the access token');
    $r = http_post('/oauth/token', [grant_type => 'authorization_code',
                   code => $CODE, redirect_uri => $URI],
                   basic_auth($j->{client_id}, $j->{registration_access_token}));
    is($r->{status}, 401, 'the registration access token is no secret');
});
--- request eval
::post(::enc({ redirect_uris => [$::URI], scope => 'money_in' }))
--- more_headers eval
$::ALICE
--- error_code: 201
--- no_error_log
[error]



=== TEST 14: RFC 7592 2.1 GET reads it with the registration access token; no secret shown again; 401 for everything else
--- init
seed_as();
after_response(0, sub {
    my $j = body_of($_[1]);
    my ($cid, $rat) = @{$j}{qw(client_id registration_access_token)};
    my $r = manage('GET', $cid, $rat);
    is($r->{status}, 200, 'GET: 200');
    is($r->{headers}{'cache-control'}, 'no-store', 'GET: no-store');
    my %want = %$j;
    delete $want{client_secret};
    is_deeply(body_of($r->{body}), \%want,
              'GET: the registration response, less the secret');
    my $other = body_of(reg(body => $MIN, headers => ['X-Test-User: bob'])
                        ->{body});
    for my $case (
        ['another client\'s token', $cid, $other->{registration_access_token}],
        ['an unknown client', 'app_' . ('0' x 24), $rat],
        ['a malformed client id', 'app_x/../y', $rat],
        ['the client secret as token', $cid, $j->{client_secret}],
        ['a forged token', $cid, token_new('ra')])
    {
        $r = manage('GET', $case->[1], $case->[2]);
        is($r->{status}, 401, "GET with $case->[0]: 401");
        is($r->{body}, $BAD_RAT, "... one answer for all (RFC 7592 3)");
        is($r->{headers}{'www-authenticate'}, $WWW_INVALID,
           '... invalid_token');
    }
    $r = reg(method => 'GET', path => "$BASE/$cid", no_ct => 1);
    is($r->{status}, 401, 'GET without a token: 401');
    is($r->{headers}{'www-authenticate'}, 'Bearer realm="imprest"',
       '... without an error code');
    $r = reg(method => 'GET', path => "$BASE/$cid", no_ct => 1,
             headers => ['X-Test-User: alice']);
    is($r->{status}, 401, 'the owner signed in is not enough for RFC 7592');
});
--- request eval
::post($::MIN)
--- more_headers eval
$::ALICE
--- error_code: 201
--- no_error_log
[error]



=== TEST 15: RFC 7592 2.2 PUT replaces the metadata; client_id must match; a client_secret must be the issued one; the type cannot flip
--- init
seed_as();
after_response(0, sub {
    my $j = body_of($_[1]);
    my ($cid, $rat, $sec) = @{$j}{qw(client_id registration_access_token
                                     client_secret)};
    my %full = (client_id => $cid, redirect_uris => ['https://new.example/cb'],
                client_name => 'Renamed', scope => 'money_out');
    my $r = manage('PUT', $cid, $rat, { %full, client_secret => $sec,
                   registration_access_token => 'ignored',
                   client_id_issued_at => 1 });
    is($r->{status}, 200, 'PUT with the same secret: 200');
    my $n = body_of($r->{body});
    is_deeply([@{$n}{qw(client_name scope)}, $n->{redirect_uris}],
              ['Renamed', 'money_out', ['https://new.example/cb']],
              'PUT: the new metadata answered');
    ok(!exists $n->{client_secret}, 'PUT: no secret shown');
    is($n->{client_id_issued_at}, $j->{client_id_issued_at},
       'PUT: client_id_issued_at unchanged');
    my $rec = client_record($cid);
    is_deeply([@{$rec}{qw(name scope redirect_uris secret rat owner)}],
              ['Renamed', 'money_out', 'https://new.example/cb',
               sha256_hex($sec), sha256_hex($rat), 'alice'],
              'PUT: stored; secret, token and owner untouched');
    $r = manage('PUT', $cid, $rat, { client_id => $cid,
                                     redirect_uris => [$URI] });
    is($r->{status}, 200, 'PUT without scope and name: 200');
    $n = body_of($r->{body});
    is_deeply([@{$n}{qw(client_name scope)}], [$cid, 'money_in money_out'],
              'omitted fields take their defaults (RFC 7592 2.2)');
    for my $case (
        [{ %full, client_id => 'app_' . ('1' x 24) },
         meta_err("client_id must be this client's")],
        [{ %full, client_id => undef }, meta_err("client_id must be this client's")],
        [{ redirect_uris => [$URI] }, meta_err("client_id must be this client's")],
        [{ %full, client_secret => token_new('cs') },
         meta_err('client_secret is not the one issued to this client')],
        [{ %full, client_secret => 5 },
         meta_err('client_secret is not the one issued to this client')],
        [{ %full, token_endpoint_auth_method => 'none' },
         meta_err('token_endpoint_auth_method cannot change between "none" '
                  . 'and a client secret')],
        [{ %full, redirect_uris => ['http://evil.example/cb'] },
         uri_err('redirect_uris[0]: http is allowed only for 127.0.0.1 '
                 . 'and [::1]')])
    {
        $r = manage('PUT', $cid, $rat, $case->[0]);
        is($r->{status}, 400, "PUT refused: $case->[1]");
        is($r->{body}, $case->[1], '... with its reason');
    }
    is(client_record($cid)->{redirect_uris}, $URI,
       'nothing refused was stored');
    $r = manage('PUT', $cid, token_new('ra'), { client_id => 'x' });
    is($r->{status}, 401, 'PUT with a wrong token: 401 before the body');
    $r = reg(method => 'PUT', path => "$BASE/$cid", body => enc(\%full),
             headers => ["Authorization: Bearer $rat", 'Content-Type: text/plain'],
             no_ct => 1);
    is($r->{status}, 400, 'PUT of text/plain: 400');
    $r = reg(method => 'PUT', path => "$BASE/$cid",
             body => enc({ %full, pad => 'x' x 70000 }),
             headers => ["Authorization: Bearer $rat"]);
    is($r->{status}, 413, 'PUT over 64 KB: 413');
});
--- request eval
::post($::MIN)
--- more_headers eval
$::ALICE
--- error_code: 201
--- no_error_log
[error]



=== TEST 16: RFC 7592 2.3 DELETE: 204, then 401; the gate refuses the app's token at once; other apps untouched
--- init
seed_as();
our $AT_REG = token_new('at');
after_response(0, sub {
    my $j = body_of($_[1]);
    my ($cid, $rat) = @{$j}{qw(client_id registration_access_token)};
    ctl('token', 'mint', '--token', $AT_REG, '--user', 'alice', '--client',
        $cid, '--scope', 'money_in', '--org', $ORG1, '--ttl', 600);
    is(api_get($AT_REG)->{status}, 200, 'before: the gate accepts its token');
    my $r = manage('DELETE', $cid, token_new('ra'));
    is($r->{status}, 401, 'DELETE with a wrong token: 401');
    is(r1('EXISTS', "imprest:client:$cid"), 1, '... nothing deleted');
    $r = manage('DELETE', $cid, $rat);
    is($r->{status}, 204, 'DELETE: 204');
    is($r->{body}, '', '... no body');
    ok(!exists $r->{headers}{'content-type'}, '... no content type');
    is(r1('EXISTS', "imprest:client:$cid"), 0, 'the record is gone');
    is(r1('SISMEMBER', 'imprest:user:alice:clients', $cid), 0,
       "out of alice's apps");
    is(r1('SISMEMBER', 'imprest:clients', $cid), 0, 'out of the list');
    is(api_get($AT_REG)->{status}, 401,
       'the gate refuses its token on the next request (lib/gone.lua)');
    is(manage('GET', $cid, $rat)->{status}, 401, 'GET after DELETE: 401');
    is(manage('DELETE', $cid, $rat)->{status}, 401,
       'DELETE again: 401 (RFC 7592 2.3: the client is unknown)');
    is(api_get($Imprest::Test::AT)->{status}, 200,
       "another app's token still works");
});
--- request eval
::post($::MIN)
--- more_headers eval
$::ALICE
--- error_code: 201
--- no_error_log
[error]



=== TEST 17: methods and paths: 405 with Allow at the base and below it, 404 beside it
--- request eval
["GET /oauth/register", "PUT /oauth/register\n{}", "DELETE /oauth/register",
 "POST /oauth/register/app_000000000000000000000000\n{}",
 "PATCH /oauth/register/app_000000000000000000000000\n{}",
 "GET /oauth/registerx"]
--- more_headers eval
[($::ALICE) x 6]
--- error_code eval
[405, 405, 405, 405, 405, 404]
--- response_headers eval
["Allow: POST", "Allow: POST", "Allow: POST",
 "Allow: GET, HEAD, PUT, DELETE", "Allow: GET, HEAD, PUT, DELETE", ""]
--- no_error_log
[error]



=== TEST 18: RFC 8414 the metadata names the registration endpoint
--- request
GET /.well-known/oauth-authorization-server
--- error_code: 200
--- response_body_like eval
qr/"introspection_endpoint": "\Q$::ISS\E\/oauth\/introspect",\n  "registration_endpoint": "\Q$::ISS\E\/oauth\/register",\n  "scopes_supported"/
--- no_error_log
[error]



=== TEST 19: Redis down: 503 no-store with Retry-After on every path, nothing handed out
--- imprest_redis: 127.0.0.1:$TEST_NGINX_SPARE_PORT retry=10s
--- request eval
[::post($::MIN), ::post($::MIN),
 "GET /oauth/register/app_000000000000000000000000",
 "DELETE /oauth/register/app_000000000000000000000000"]
--- more_headers eval
[$::ALICE, "Authorization: Bearer $::IA_FORGED\n$::CT",
 "Authorization: Bearer ${\ Imprest::Test::token_new('ra')}",
 "Authorization: Bearer ${\ Imprest::Test::token_new('ra')}"]
--- error_code eval
[503, 503, 503, 503]
--- response_headers eval
[("Cache-Control: no-store\nRetry-After: 1\n!WWW-Authenticate") x 4]
--- response_body eval
[($::UNAVAILABLE) x 4]
--- error_log eval
$Imprest::Test::REDIS_DOWN
--- no_error_log
registered client
[alert]



=== TEST 20: R9 a reply to the registration that is not the script's: 503, the link reset, no credentials
--- imprest_redis: 127.0.0.1:$TEST_NGINX_FAKE_PORT retry=10s
--- before_start
stop_fake();
fake_redis($ENV{TEST_NGINX_FAKE_PORT}, "*1\r\n:7\r\n");
--- request eval
::post($::MIN)
--- more_headers eval
$::ALICE
--- error_code: 503
--- response_body eval
$::UNAVAILABLE
--- error_log
reply does not match the app_create script
--- no_error_log
registered client
[alert]



=== TEST 21: R9 a reply to the client configuration endpoint that is not the script's: 503
--- imprest_redis: 127.0.0.1:$TEST_NGINX_FAKE_PORT retry=10s
--- before_start
stop_fake();
fake_redis($ENV{TEST_NGINX_FAKE_PORT}, "*2\r\n:1\r\n:1\r\n");
--- request eval
"GET /oauth/register/app_000000000000000000000000"
--- more_headers eval
"Authorization: Bearer ${\ Imprest::Test::token_new('ra')}"
--- error_code: 503
--- response_body eval
$::UNAVAILABLE
--- error_log
reply does not match the app script
--- no_error_log
[alert]



=== TEST 22: R5 a hung Redis: 503 at the timeout, nothing handed out
--- imprest_redis: 127.0.0.1:$TEST_NGINX_FAKE_PORT timeout=300ms retry=10s
--- before_start
stop_fake();
fake_redis($ENV{TEST_NGINX_FAKE_PORT}, { hang => 1 });
--- request eval
::post($::MIN)
--- more_headers eval
$::ALICE
--- error_code: 503
--- response_body eval
$::UNAVAILABLE
--- no_error_log
registered client
[alert]



=== TEST 23: two imprest_register locations: the client URI is under the first (the metadata's), whichever registered it
--- config eval
$Imprest::Test::AS_CONFIG . <<'_EOC_';
    location /oauth/register {
        imprest_register;
    }
    location /developer/register/ {
        imprest_user $http_x_test_user;
        imprest_register;
    }
_EOC_
--- init
seed_as();
after_response(0, sub {
    my $j = body_of($_[1]);
    is($j->{registration_client_uri}, "$ISS/oauth/register/$j->{client_id}",
       'registration_client_uri: under /oauth/register');
    my $r = manage('GET', $j->{client_id}, $j->{registration_access_token});
    is($r->{status}, 200, 'GET there with the registration access token');
    $r = reg(path => '/oauth/register', body => $MIN,
             headers => ['X-Test-User: alice']);
    is($r->{status}, 401, 'the first location has no imprest_user: 401');
    $r = reg(path => '/oauth/register', body => $MIN,
             headers => ['Authorization: Bearer ' . initial_token()]);
    is($r->{status}, 201, 'an initial access token registers there');
    $r = http_get('/.well-known/oauth-authorization-server');
    like($r->{body}, qr/"registration_endpoint": "\Q$ISS\E\/oauth\/register"/,
         'the metadata names the first');
});
--- request eval
"POST /developer/register/\n$::MIN"
--- more_headers eval
$::ALICE
--- error_code: 201
--- no_error_log
[error]



=== TEST 24: imprestctl initial-token: hashed at rest with exp/created/note and the key's TTL; list; revoke by token or prefix; usage errors
--- init
seed_as();
sub ctl_rc {
    my ($stdin, @args) = @_;
    my $bin = $ENV{IMPREST_CTL} // 'build/imprestctl';
    my $port = Imprest::Test::redis_port();
    # its messages are not wanted here, only its exit status
    open(my $fh, '|-', 'sh', '-c', '"$@" >/dev/null 2>&1', 'sh', $bin,
         '--redis', "127.0.0.1:$port", @args) or die "imprestctl: $!";
    print $fh $stdin if defined $stdin;
    close $fh;
    return $? >> 8;
}
after_response(0, sub {
    my $t = ctl('initial-token', 'create', '--ttl', '120', '--note',
                'nightly "bot"');
    like($t->{initial_access_token}, qr/\Aimp_ia_[A-Za-z0-9_-]{49}\z/,
         'create prints the token');
    my $d = sha256_hex($t->{initial_access_token});
    my $key = "imprest:initial:$d";
    my %rec = split /\n/, redis('HGETALL', $key) . "\n";
    is($rec{note}, 'nightly "bot"', 'the record keeps the note');
    is($rec{exp}, $t->{expires_at}, '... exp');
    ok(abs($rec{created} - time()) < 30, '... created');
    my $ttl = r1('TTL', $key);
    ok($ttl > 100 && $ttl <= 120, "the key expires with the token ($ttl s)");
    unlike(redis('--scan'), qr/imp_ia_/, 'the token itself is nowhere');
    ok(r1('TTL', 'imprest:initials') >= 100, 'the index expires too');
    my $t2 = ctl('initial-token', 'create');
    is($t2->{expires_in}, 86400, 'default lifetime: one day');
    my @l = @{ ctl('initial-token', 'list')->{initial_tokens} };
    is_deeply([sort map { $_->{digest} } @l],
              [sort map { substr($_, 0, 12) } $d,
                    sha256_hex($t2->{initial_access_token})],
              'list: both, by digest prefix');
    is(ctl_rc(undef, 'initial-token', 'revoke', 'ffffffffffff'), 1,
       'revoke of an unknown prefix: exit 1');
    is(ctl_rc(undef, 'initial-token', 'revoke', 'abc'), 2,
       'a prefix under 8 digits: usage error');
    is(ctl_rc("$t->{initial_access_token}\n", 'initial-token', 'revoke', '-'),
       0, 'revoke of the token read from stdin');
    is(r1('EXISTS', $key), 0, '... its record is gone');
    @l = @{ ctl('initial-token', 'list')->{initial_tokens} };
    is(scalar @l, 1, 'list: one left');
    is(ctl_rc(undef, qw(initial-token create --ttl 0)), 2, '--ttl 0: usage');
    is(ctl_rc(undef, 'initial-token', 'create', '--note', "a\tb"), 2,
       'a note with a control character: usage');
    is(ctl_rc(undef, qw(initial-token create --note), 'x' x 257), 2,
       'a note over 256 bytes: usage');
});
--- request
GET /.well-known/oauth-authorization-server
--- error_code: 200
--- no_error_log
[error]
