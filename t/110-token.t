# POST /oauth/token, authorization_code grant (RFC 6749 2.3, 4.1.3, 5;
# RFC 7636 4.5-4.6; security-requirements.md AS-TOK-*, AS-CODE-*,
# AS-PK-4..7, section 3 "/token"; the developer guide's step 3).
#
# Codes are written to Redis with put_code() (the record an approved
# consent leaves), so each block exercises the token endpoint alone.
#
# What a redemption issued is only known once its response is in, so
# checks that need the issued tokens (the guide's step 4 with the new
# access token, AS-CODE-2's "the first redemption's tokens die with the
# replay", AS-TOK-10's scan of Redis) run in after_response() hooks: Perl
# called between a block's responses, with the response body, that makes
# its own requests (http_get, http_post) and asserts with Test::More.  That
# keeps the evidence in the block that names the requirement, instead of
# leaving it to a later block that could be skipped or reordered.
#
# "--- ... eval" sections are evaluated in Test::Base's package, hence
# "$::NAME" and "::sub()" for this file's variables and helpers.
# Blocks with several requests: --- error_log lines must appear in the log
# lines of every request of the block (the log is read per request).
use Test::Nginx::Socket 'no_plan';
use Imprest::Test;
use Digest::SHA qw(sha256_hex);
use Hash::Util ();
use JSON::PP ();
use MIME::Base64 ();

# codes, one per use; a misspelt name dies instead of sending no code
our %C = map { $_ => token_new('ac') } qw(
    guide guide_raw basic tok6 tok6_raw twice late replay race expired
    other ru_absent ru_slash ru_case ru_query ru_none ru_none_diff
    pk_wrong pk_missing pk_42 pk_129 pk_pct pk_space pk_down pk_b pub
    pub_secret pub_noverifier tok10 ct form_charset query both basic_id
    repeat nocreds idonly down fake_close fake_oom fake_bad malformed big
    chunked gone_1 gone_2 short_reply basic_case
);
Hash::Util::lock_keys(%C);

# RFC 7636 Appendix B
our $B_VERIFIER  = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';
our $B_CHALLENGE = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM';

# verifiers outside RFC 7636 4.1 whose S256 the code carries: only the
# syntax check can refuse them
our $V42   = 'a' x 42;
our $V129  = 'b' x 129;
our $V_PCT = ('c' x 42) . '%';
our $V_SPC = ('d' x 42) . ' ';

# an app whose secret needs form-encoding in Basic (AS-TOK-6)
our $ODD_ID     = 'app_' . ('0a' x 12);
our $ODD_SECRET = 'a:b%+c';

our $TOKENS = qr/\A\{"access_token":"imp_at_[A-Za-z0-9_-]{49}","refresh_token":"imp_rt_[A-Za-z0-9_-]{49}","token_type":"Bearer","expires_in":7200,"scope":"money_in money_out"\}\n\z/;

our $UNAVAILABLE = err('temporarily_unavailable',
                       'the authorization service is unavailable');

sub err {
    my ($e, $d) = @_;
    return qq({"error":"$e","error_description":"$d"}\n);
}

# a pattern matching exactly this text
sub exact { return qr/\A\Q$_[0]\E\z/ }

# a token request with a form body made of these pairs
sub tok { return "POST /oauth/token\n" . form(@_) }

# the guide's client_secret_post credentials
sub post_creds { return (client_id => $APP_ID, client_secret => $APP_SECRET) }

no_shuffle();
use_as_config();
use_imprest_redis_section();
use_fault_hooks();

run_tests();

__DATA__


=== TEST 1: AS-TOK-1 the developer guide's step 3, as written: 200, the five keys, no-store; the token works in step 4
--- init
seed_as();
put_code(code => $C{guide});
after_response(0, sub {
    my ($block, $body) = @_;
    my $j = eval { JSON::PP::decode_json($body) } || {};
    is(join(' ', sort keys %$j),
       'access_token expires_in refresh_token scope token_type',
       'AS-TOK-1: exactly the guide\'s keys');
    ok($body =~ /"expires_in":7200[,}]/, 'AS-TOK-1: expires_in a number');
    my $r = api_get($j->{access_token});
    is($r->{status}, 200, 'step 4: the issued token passes the gate');
    is($r->{body}, "uid=alice cid=$APP_ID org=$ORG1 iorg=$ORG1 "
                   . "scope=money_in money_out auth= xauth= "
                   . "uri=/api/v1/invoices\n",
       'step 4: as alice, for the app, in the granted organization');
});
--- request eval
"POST /oauth/token
grant_type=authorization_code&code=$::C{guide}&redirect_uri=" . ::form_enc($::APP_URI) . "&client_id=$::APP_ID&client_secret=$::APP_SECRET"
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- error_code: 200
--- response_headers
Content-Type: application/json
Cache-Control: no-store
Pragma: no-cache
!WWW-Authenticate
--- response_body_like eval
$::TOKENS
--- error_log eval
["imprest: redis command queued: client, 1 pending",
 "imprest: redis command queued: redeem, 1 pending",
 qq{imprest: tokens issued to client "$::APP_ID"}]
--- no_error_log
[error]
[warn]



=== TEST 2: AS-TOK-1 the guide's body with redirect_uri pasted unencoded, as the guide shows it
--- init
put_code(code => $C{guide_raw});
--- request eval
"POST /oauth/token
grant_type=authorization_code&code=$::C{guide_raw}&redirect_uri=$::APP_URI&client_id=$::APP_ID&client_secret=$::APP_SECRET"
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- error_code: 200
--- response_headers
Content-Type: application/json
Cache-Control: no-store
Pragma: no-cache
--- response_body_like eval
$::TOKENS
--- no_error_log
[error]



=== TEST 3: client_secret_basic: the credentials in Authorization, the body without them
--- init
put_code(code => $C{basic});
--- request eval
::tok(grant_type => 'authorization_code', code => $::C{basic},
    redirect_uri => $::APP_URI)
--- more_headers eval
"Content-Type: application/x-www-form-urlencoded\n"
. ::basic_auth($::APP_ID, $::APP_SECRET)
--- error_code: 200
--- response_headers
Cache-Control: no-store
Pragma: no-cache
--- response_body_like eval
$::TOKENS
--- error_log eval
qq{imprest: tokens issued to client "$::APP_ID"}
--- no_error_log
[error]



=== TEST 4: AS-TOK-6 a secret "a:b%+c" sent as Basic of the form-encoded id and secret: 200
--- init
# the client record as imprestctl writes it, with a secret imprestctl
# would not make (its secrets are imp_cs_ tokens)
my $key = "imprest:client:$ODD_ID";
redis('DEL', $key);
redis('HSET', $key, 'name', 'Odd Secret', 'secret', sha256_hex($ODD_SECRET),
      'redirect_uris', $APP_URI, 'scope', 'money_in money_out',
      'introspect', '0', 'created', time());
redis('SADD', 'imprest:clients', $ODD_ID);
put_code(code => $C{tok6}, cid => $ODD_ID);
--- request eval
::tok(grant_type => 'authorization_code', code => $::C{tok6},
    redirect_uri => $::APP_URI)
--- more_headers eval
"Content-Type: application/x-www-form-urlencoded\n"
. ::basic_auth($::ODD_ID, $::ODD_SECRET)
--- error_code: 200
--- response_body_like eval
$::TOKENS
--- error_log eval
qq{imprest: tokens issued to client "$::ODD_ID"}
--- no_error_log
[error]



=== TEST 5: AS-TOK-6 the same secret in Basic without form-encoding: "%+c" is no valid encoding, 401
--- init
put_code(code => $C{tok6_raw}, cid => $ODD_ID);
--- request eval
::tok(grant_type => 'authorization_code', code => $::C{tok6_raw},
    redirect_uri => $::APP_URI)
--- more_headers eval
"Content-Type: application/x-www-form-urlencoded\n"
. 'Authorization: Basic '
. MIME::Base64::encode_base64("$::ODD_ID:$::ODD_SECRET", '')
--- error_code: 401
--- response_headers
WWW-Authenticate: Basic realm="imprest"
Cache-Control: no-store
--- response_body eval
::err('invalid_client', 'malformed Basic credentials')
--- error_log
imprest: invalid_client: malformed Basic credentials
--- no_error_log
imprest: redis command queued
[error]



=== TEST 6: AS-CODE-1 a code redeemed twice at once: 200, then 400 invalid_grant
--- init
put_code(code => $C{twice});
--- request eval
[::tok(grant_type => 'authorization_code', code => $::C{twice},
     redirect_uri => $::APP_URI, ::post_creds()),
 ::tok(grant_type => 'authorization_code', code => $::C{twice},
     redirect_uri => $::APP_URI, ::post_creds())]
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- error_code eval
[200, 400]
--- response_headers eval
["Cache-Control: no-store", "Cache-Control: no-store\nPragma: no-cache\nContent-Type: application/json\n!WWW-Authenticate"]
--- response_body_like eval
[$::TOKENS, ::exact(::err('invalid_grant', 'code already used'))]
--- error_log
imprest: redis command queued: redeem
--- no_error_log
[error]



=== TEST 7: AS-CODE-1 the second redemption one second later: 400 invalid_grant
--- init
put_code(code => $C{late});
after_response(0, sub { Time::HiRes::sleep(1.1) });
--- request eval
[::tok(grant_type => 'authorization_code', code => $::C{late},
     redirect_uri => $::APP_URI, ::post_creds()),
 ::tok(grant_type => 'authorization_code', code => $::C{late},
     redirect_uri => $::APP_URI, ::post_creds())]
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- error_code eval
[200, 400]
--- response_body_like eval
[$::TOKENS, ::exact(::err('invalid_grant', 'code already used'))]
--- no_error_log
[error]



=== TEST 8: AS-CODE-2 a replayed code revokes the first redemption's access and refresh tokens
--- init
put_code(code => $C{replay});
my ($at, $rt, $grant);
after_response(0, sub {
    my ($block, $body) = @_;
    ($at, $rt) = tokens_of($body);
    is(api_get($at)->{status}, 200, 'AS-CODE-2: the access token works');
    $grant = 'imprest:grant:'
             . redis('HGET', 'imprest:at:' . sha256_hex($at), 'gid');
    $grant =~ s/\s+\z//;
    like(redis('SMEMBERS', $grant), qr/imprest:rt:/,
         'AS-CODE-2: the grant holds its tokens');
});
after_response(1, sub {
    my $r = api_get($at);
    is($r->{status}, 401, 'AS-CODE-2: after the replay it is refused');
    like($r->{headers}{'www-authenticate'} // '', qr/error="invalid_token"/,
         'AS-CODE-2: as invalid_token');
    $r = http_post('/oauth/token', [grant_type => 'refresh_token',
                                    refresh_token => $rt, ::post_creds()]);
    is($r->{status}, 400, 'AS-CODE-2: the refresh token is refused');
    is($r->{body}, ::err('invalid_grant', 'unknown refresh token'),
       'AS-CODE-2: as invalid_grant');
    like(redis('EXISTS', $grant), qr/^0\s*\z/, 'AS-CODE-2: the grant is gone');
    like(redis('EXISTS', 'imprest:at:' . sha256_hex($at)), qr/^0\s*\z/,
         'AS-CODE-2: no access token record');
});
--- request eval
[::tok(grant_type => 'authorization_code', code => $::C{replay},
     redirect_uri => $::APP_URI, ::post_creds()),
 ::tok(grant_type => 'authorization_code', code => $::C{replay},
     redirect_uri => $::APP_URI, ::post_creds())]
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- error_code eval
[200, 400]
--- response_body_like eval
[$::TOKENS, ::exact(::err('invalid_grant', 'code already used'))]
--- no_error_log
[error]



=== TEST 9: AS-CODE-3 30 simultaneous redemptions of one code: exactly one 200
--- init
put_code(code => $C{race});
my @r = http_race(30, method => 'POST', path => '/oauth/token',
    headers => ['Content-Type: application/x-www-form-urlencoded'],
    body => ::form(grant_type => 'authorization_code', code => $C{race},
                 redirect_uri => $APP_URI, ::post_creds()));
is(scalar(grep { ($_->{status} // '') eq '200' } @r), 1,
   'AS-CODE-3: one redemption wins');
is(scalar(grep { ($_->{status} // '') eq '400'
                 && $_->{body} eq ::err('invalid_grant', 'code already used') }
          @r), 29, 'AS-CODE-3: the 29 others get invalid_grant');
# and the replays took the winner's tokens with them (AS-CODE-2)
my ($won) = grep { ($_->{status} // '') eq '200' } @r;
my ($at) = tokens_of($won->{body} // '');
ok(length $at, 'AS-CODE-3: the winner got tokens');
is(api_get($at)->{status}, 401, 'AS-CODE-3: revoked by the replays');
--- request eval
::tok(grant_type => 'authorization_code', code => $::C{race},
    redirect_uri => $::APP_URI, ::post_creds())
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- error_code: 400
--- response_body eval
::err('invalid_grant', 'code already used')
--- no_error_log
[error]



=== TEST 10: AS-CODE-4 a code past its exp (record still in Redis): invalid_grant
--- init
put_code(code => $C{expired}, exp => time() - 1, ttl => 60);
--- request eval
::tok(grant_type => 'authorization_code', code => $::C{expired},
    redirect_uri => $::APP_URI, ::post_creds())
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- error_code: 400
--- response_headers
Cache-Control: no-store
Content-Type: application/json
--- response_body eval
::err('invalid_grant', 'code expired')
--- error_log
imprest: redis command queued: redeem
imprest: invalid_grant: code expired
--- no_error_log
imprest: tokens issued
[error]



=== TEST 11: AS-CODE-4 a code whose record is gone: invalid_grant
--- request eval
::tok(grant_type => 'authorization_code', code => ::token_new('ac'),
    redirect_uri => $::APP_URI, ::post_creds())
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- error_code: 400
--- response_body eval
::err('invalid_grant', 'unknown code')
--- error_log
imprest: redis command queued: redeem
--- no_error_log
[error]



=== TEST 12: AS-CODE-5 another client redeems the code: invalid_grant
--- init
put_code(code => $C{other}, cid => $APP_ID);
--- request eval
::tok(grant_type => 'authorization_code', code => $::C{other},
    redirect_uri => $::APP_URI, client_id => $::APP2_ID,
    client_secret => $::APP2_SECRET)
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- error_code: 400
--- response_body eval
::err('invalid_grant', 'code issued to another client')
--- error_log
imprest: redis command queued: redeem
--- no_error_log
imprest: tokens issued
[error]



=== TEST 13: AS-CODE-6 redirect_uri named at authorization, absent at the token request: invalid_grant, and the code is spent
--- init
put_code(code => $C{ru_absent}, ru_given => 1);
--- request eval
[::tok(grant_type => 'authorization_code', code => $::C{ru_absent},
     ::post_creds()),
 ::tok(grant_type => 'authorization_code', code => $::C{ru_absent},
     redirect_uri => $::APP_URI, ::post_creds())]
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- error_code eval
[400, 400]
--- response_body eval
[::err('invalid_grant', 'redirect_uri does not match the authorization request'),
 ::err('invalid_grant', 'code already used')]
--- no_error_log
imprest: tokens issued
[error]



=== TEST 14: AS-CODE-6 a different redirect_uri at the token request (trailing slash, host case, extra query): invalid_grant
--- init
put_code(code => $C{$_}, ru_given => 1) for qw(ru_slash ru_case ru_query);
--- request eval
[::tok(grant_type => 'authorization_code', code => $::C{ru_slash},
     redirect_uri => "$::APP_URI/", ::post_creds()),
 ::tok(grant_type => 'authorization_code', code => $::C{ru_case},
     redirect_uri => 'https://APP.example/cb', ::post_creds()),
 ::tok(grant_type => 'authorization_code', code => $::C{ru_query},
     redirect_uri => "$::APP_URI?x=1", ::post_creds())]
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- error_code eval
[400, 400, 400]
--- response_body eval
[(::err('invalid_grant', 'redirect_uri does not match the authorization request')) x 3]
--- no_error_log
imprest: tokens issued
[error]



=== TEST 15: AS-CODE-6 redirect_uri omitted at authorization (one registered URI) and at the token request: 200
--- init
put_code(code => $C{ru_none}, ru_given => 0);
--- request eval
::tok(grant_type => 'authorization_code', code => $::C{ru_none},
    ::post_creds())
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- error_code: 200
--- response_body_like eval
$::TOKENS
--- no_error_log
[error]



=== TEST 16: AS-CODE-6 redirect_uri omitted at authorization, another one sent at the token request: invalid_grant
--- init
put_code(code => $C{ru_none_diff}, ru_given => 0);
--- request eval
::tok(grant_type => 'authorization_code', code => $::C{ru_none_diff},
    redirect_uri => 'https://evil.example/cb', ::post_creds())
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- error_code: 400
--- response_body eval
::err('invalid_grant', 'redirect_uri does not match the authorization request')
--- no_error_log
[error]



=== TEST 17: AS-TOK-2 error replies: a section 5.2 code and a description of %x20-21 / %x23-5B / %x5D-7E only, whatever the input
--- request eval
["POST /oauth/token\ngrant_type=%22%5C%7F",
 "POST /oauth/token\ngrant_type=authorization_code%0D%0ASet-Cookie:%20x",
 "POST /oauth/token\ngrant_type=authorization_code\tx",
 "POST /oauth/token\ngrant_type=authorization_code&code=%00",
 "POST /oauth/token\ngrant_type=authorization_code&code=%G1",
 "POST /oauth/token\n"]
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- error_code eval
[(400) x 6]
--- response_headers eval
[("Content-Type: application/json\nCache-Control: no-store\nPragma: no-cache\n!Set-Cookie") x 6]
--- response_body_like eval
[(qr/\A\{"error":"(?:invalid_request|invalid_client|invalid_grant|unauthorized_client|unsupported_grant_type|invalid_scope)","error_description":"[\x20-\x21\x23-\x5B\x5D-\x7E]*"\}\n\z/) x 6]
--- response_body eval
[::err('unsupported_grant_type', 'grant_type must be authorization_code or refresh_token'),
 ::err('unsupported_grant_type', 'grant_type must be authorization_code or refresh_token'),
 ::err('invalid_request', 'malformed form body'),
 ::err('invalid_request', 'malformed form body'),
 ::err('invalid_request', 'malformed form body'),
 ::err('invalid_request', 'grant_type is required')]
--- no_error_log
imprest: redis command queued
[error]



=== TEST 18: AS-TOK-3 wrong secret via Basic: 401 invalid_client with the Basic challenge
--- request eval
::tok(grant_type => 'authorization_code', code => ::token_new('ac'),
    redirect_uri => $::APP_URI)
--- more_headers eval
"Content-Type: application/x-www-form-urlencoded\n"
. ::basic_auth($::APP_ID, ::token_new('cs'))
--- error_code: 401
--- response_headers
WWW-Authenticate: Basic realm="imprest"
Content-Type: application/json
Cache-Control: no-store
--- response_body eval
::err('invalid_client', 'unknown client or wrong secret')
--- error_log
imprest: redis command queued: client
imprest: invalid_client: unknown client or wrong secret
--- no_error_log
imprest: redis command queued: redeem
[error]



=== TEST 19: AS-TOK-3 an unknown client, via Basic or in the body, gets the same reply as a wrong secret
--- request eval
[::tok(grant_type => 'authorization_code', code => ::token_new('ac')),
 ::tok(grant_type => 'authorization_code', code => ::token_new('ac'),
     client_id => 'app_' . ('9' x 24), client_secret => $::APP_SECRET),
 ::tok(grant_type => 'authorization_code', code => ::token_new('ac'),
     client_id => $::APP_ID, client_secret => ::token_new('cs'))]
--- more_headers eval
["Content-Type: application/x-www-form-urlencoded\n"
 . ::basic_auth('app_' . ('9' x 24), $::APP_SECRET),
 "Content-Type: application/x-www-form-urlencoded",
 "Content-Type: application/x-www-form-urlencoded"]
--- error_code eval
[401, 401, 401]
--- response_headers eval
[("WWW-Authenticate: Basic realm=\"imprest\"") x 3]
--- response_body eval
[(::err('invalid_client', 'unknown client or wrong secret')) x 3]
--- no_error_log
imprest: redis command queued: redeem
[error]



=== TEST 20: AS-TOK-3 section 3 Basic vectors: bad base64, no colon, empty id, another scheme: 401 before Redis
--- request eval
[(::tok(grant_type => 'authorization_code', code => ::token_new('ac'))) x 4]
--- more_headers eval
["Content-Type: application/x-www-form-urlencoded\nAuthorization: Basic !!!",
 "Content-Type: application/x-www-form-urlencoded\nAuthorization: Basic "
 . MIME::Base64::encode_base64($::APP_ID, ''),
 "Content-Type: application/x-www-form-urlencoded\nAuthorization: Basic "
 . MIME::Base64::encode_base64(":$::APP_SECRET", ''),
 "Content-Type: application/x-www-form-urlencoded\nAuthorization: Bearer $::APP_SECRET"]
--- error_code eval
[401, 401, 401, 401]
--- response_headers eval
[("WWW-Authenticate: Basic realm=\"imprest\"") x 4]
--- response_body eval
[(::err('invalid_client', 'malformed Basic credentials')) x 3,
 ::err('invalid_client', 'client authentication must use Basic')]
--- no_error_log
imprest: redis command queued
[error]



=== TEST 21: AS-TOK-4 GET and PUT /oauth/token: 405 with Allow: POST
--- request eval
["GET /oauth/token?grant_type=authorization_code&code=$::C{repeat}",
 "PUT /oauth/token\n" . ::form(grant_type => 'authorization_code')]
--- error_code eval
[405, 405]
--- response_headers eval
[("Allow: POST\nContent-Type: application/json\nCache-Control: no-store") x 2]
--- response_body eval
[("{\"error\":\"invalid_request\",\"error_description\":\"method not allowed\"}\n") x 2]
--- no_error_log
imprest: redis command queued
[error]



=== TEST 22: AS-TOK-4 a JSON, multipart or untyped body: 400 invalid_request before Redis
--- request eval
["POST /oauth/token\n{\"grant_type\":\"authorization_code\",\"code\":\"$::C{ct}\"}",
 (::tok(grant_type => 'authorization_code', code => $::C{ct},
        ::post_creds())) x 3]
--- more_headers eval
["Content-Type: application/json",
 "Content-Type: multipart/form-data; boundary=x",
 "",
 "Content-Type: application/x-www-form-urlencodedx"]
--- error_code eval
[400, 400, 400, 400]
--- response_body eval
[(::err('invalid_request', 'the body must be application/x-www-form-urlencoded')) x 4]
--- no_error_log
imprest: redis command queued
[error]



=== TEST 23: AS-TOK-4 the form type with a charset parameter is accepted
--- init
put_code(code => $C{form_charset});
--- request eval
::tok(grant_type => 'authorization_code', code => $::C{form_charset},
    redirect_uri => $::APP_URI, ::post_creds())
--- more_headers
Content-Type: application/x-www-form-urlencoded; charset=UTF-8
--- error_code: 200
--- response_body_like eval
$::TOKENS
--- no_error_log
[error]



=== TEST 24: AS-TOK-5 client_secret in the query string: 400, even with a valid body
--- init
put_code(code => $C{query});
--- request eval
"POST /oauth/token?client_secret=$::APP_SECRET\n"
. ::form(grant_type => 'authorization_code', code => $::C{query},
       redirect_uri => $::APP_URI, ::post_creds())
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- error_code: 400
--- response_body eval
::err('invalid_request', 'client_secret must not be sent in the URI')
--- no_error_log
imprest: redis command queued
imprest: tokens issued
[error]



=== TEST 25: AS-TOK-5 Basic and client_secret in the body: 400 invalid_request (one method only)
--- init
put_code(code => $C{both});
--- request eval
::tok(grant_type => 'authorization_code', code => $::C{both},
    redirect_uri => $::APP_URI, ::post_creds())
--- more_headers eval
"Content-Type: application/x-www-form-urlencoded\n"
. ::basic_auth($::APP_ID, $::APP_SECRET)
--- error_code: 400
--- response_body eval
::err('invalid_request', 'more than one client authentication method')
--- no_error_log
imprest: redis command queued
[error]



=== TEST 26: section 3 body client_id other than the Basic id: 400 invalid_request
--- init
put_code(code => $C{basic_id});
--- request eval
::tok(grant_type => 'authorization_code', code => $::C{basic_id},
    redirect_uri => $::APP_URI, client_id => $::APP2_ID)
--- more_headers eval
"Content-Type: application/x-www-form-urlencoded\n"
. ::basic_auth($::APP_ID, $::APP_SECRET)
--- error_code: 400
--- response_body eval
::err('invalid_request', 'client_id differs from the Basic credentials')
--- no_error_log
imprest: redis command queued
[error]



=== TEST 27: AS-TOK-7 a repeated parameter (code, grant_type, redirect_uri, code_verifier, client_id, client_secret): 400 before Redis
--- request eval
["POST /oauth/token\ngrant_type=authorization_code&code=$::C{repeat}&code=" . ::token_new('ac') . "&client_id=$::APP_ID&client_secret=$::APP_SECRET",
 "POST /oauth/token\ngrant_type=authorization_code&grant_type=authorization_code&code=$::C{repeat}&client_id=$::APP_ID&client_secret=$::APP_SECRET",
 "POST /oauth/token\ngrant_type=authorization_code&code=$::C{repeat}&redirect_uri=a&redirect_uri=b&client_id=$::APP_ID&client_secret=$::APP_SECRET",
 "POST /oauth/token\ngrant_type=authorization_code&code=$::C{repeat}&code_verifier=$::B_VERIFIER&code_verifier=$::B_VERIFIER&client_id=$::APP_ID&client_secret=$::APP_SECRET",
 "POST /oauth/token\ngrant_type=authorization_code&code=$::C{repeat}&client_id=$::APP_ID&client_id=$::APP_ID&client_secret=$::APP_SECRET",
 "POST /oauth/token\ngrant_type=authorization_code&code=$::C{repeat}&client_id=$::APP_ID&client_secret=$::APP_SECRET&client_secret=$::APP_SECRET"]
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- error_code eval
[(400) x 6]
--- response_body eval
[(::err('invalid_request', 'a parameter is repeated')) x 6]
--- no_error_log
imprest: redis command queued
[error]



=== TEST 28: AS-TOK-8 password, implicit, client_credentials, foo, Authorization_Code: unsupported_grant_type before Redis
--- request eval
[map { ::tok(grant_type => $_, code => $::C{repeat}, username => 'alice',
           password => 'x', ::post_creds()) }
 qw(password implicit client_credentials foo Authorization_Code)]
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- error_code eval
[(400) x 5]
--- response_body eval
[(::err('unsupported_grant_type', 'grant_type must be authorization_code or refresh_token')) x 5]
--- no_error_log
imprest: redis command queued
[error]



=== TEST 29: AS-TOK-9 no client credentials at all: 401 invalid_client before Redis
--- init
put_code(code => $C{nocreds});
--- request eval
::tok(grant_type => 'authorization_code', code => $::C{nocreds},
    redirect_uri => $::APP_URI)
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- error_code: 401
--- response_headers
WWW-Authenticate: Basic realm="imprest"
--- response_body eval
::err('invalid_client', 'client authentication required')
--- no_error_log
imprest: redis command queued
[error]



=== TEST 30: AS-TOK-9 a confidential client's id without its secret: 401 invalid_client, the code untouched
--- init
put_code(code => $C{idonly});
--- request eval
::tok(grant_type => 'authorization_code', code => $::C{idonly},
    redirect_uri => $::APP_URI, client_id => $::APP_ID)
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- error_code: 401
--- response_headers
WWW-Authenticate: Basic realm="imprest"
--- response_body eval
::err('invalid_client', 'unknown client or wrong secret')
--- error_log
imprest: redis command queued: client
--- no_error_log
imprest: redis command queued: redeem
[error]



=== TEST 31: AS-PK-4 a wrong code_verifier: invalid_grant, and the right one afterwards finds the code spent
--- init
put_code(code => $C{pk_wrong}, challenge => $B_CHALLENGE);
--- request eval
[::tok(grant_type => 'authorization_code', code => $::C{pk_wrong},
     redirect_uri => $::APP_URI, code_verifier => 'x' x 43, ::post_creds()),
 ::tok(grant_type => 'authorization_code', code => $::C{pk_wrong},
     redirect_uri => $::APP_URI, code_verifier => $::B_VERIFIER,
     ::post_creds())]
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- error_code eval
[400, 400]
--- response_body eval
[::err('invalid_grant', 'code_verifier does not match'),
 ::err('invalid_grant', 'code already used')]
--- error_log
imprest: redis command queued: redeem
--- no_error_log
imprest: tokens issued
[error]



=== TEST 32: AS-PK-4 no code_verifier for a code issued with a challenge (confidential client): invalid_grant
--- init
put_code(code => $C{pk_missing}, challenge => $B_CHALLENGE);
--- request eval
::tok(grant_type => 'authorization_code', code => $::C{pk_missing},
    redirect_uri => $::APP_URI, ::post_creds())
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- error_code: 400
--- response_body eval
::err('invalid_grant', 'code_verifier does not match')
--- no_error_log
imprest: tokens issued
[error]



=== TEST 33: AS-PK-5 verifiers of 42 and 129 characters, or with "%" or a space, whose S256 the code carries: invalid_grant before Redis
--- init
put_code(code => $C{pk_42}, challenge => s256($V42));
put_code(code => $C{pk_129}, challenge => s256($V129));
put_code(code => $C{pk_pct}, challenge => s256($V_PCT));
put_code(code => $C{pk_space}, challenge => s256($V_SPC));
--- request eval
[map { ::tok(grant_type => 'authorization_code', code => $::C{$_->[0]},
           redirect_uri => $::APP_URI, code_verifier => $_->[1],
           ::post_creds()) }
 ([pk_42 => $::V42], [pk_129 => $::V129], [pk_pct => $::V_PCT],
  [pk_space => $::V_SPC])]
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- error_code eval
[(400) x 4]
--- response_body eval
[(::err('invalid_grant', 'malformed code_verifier')) x 4]
--- error_log
imprest: redis command queued: client
--- no_error_log
imprest: redis command queued: redeem
[error]



=== TEST 34: AS-PK-6 a code_verifier for a code issued without a challenge (downgrade): invalid_grant
--- init
put_code(code => $C{pk_down}, challenge => '');
--- request eval
::tok(grant_type => 'authorization_code', code => $::C{pk_down},
    redirect_uri => $::APP_URI, code_verifier => $::B_VERIFIER,
    ::post_creds())
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- error_code: 400
--- response_body eval
::err('invalid_grant', 'code_verifier sent for a code issued without PKCE')
--- error_log
imprest: redis command queued: redeem
--- no_error_log
imprest: tokens issued
[error]



=== TEST 35: AS-PK-7 RFC 7636 Appendix B verifier and challenge: 200
--- init
put_code(code => $C{pk_b}, challenge => $B_CHALLENGE);
--- request eval
::tok(grant_type => 'authorization_code', code => $::C{pk_b},
    redirect_uri => $::APP_URI, code_verifier => $::B_VERIFIER,
    ::post_creds())
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- error_code: 200
--- response_body_like eval
$::TOKENS
--- no_error_log
[error]



=== TEST 36: public client: client_id and code_verifier, no secret: 200
--- init
put_code(code => $C{pub}, cid => $PUB_ID, redirect_uri => $PUB_URI,
         scope => 'money_in', challenge => $B_CHALLENGE);
after_response(0, sub {
    my ($at) = tokens_of($_[1]);
    is(api_get($at)->{status}, 200, 'the public client\'s token works');
});
--- request eval
::tok(grant_type => 'authorization_code', code => $::C{pub},
    redirect_uri => $::PUB_URI, client_id => $::PUB_ID,
    code_verifier => $::B_VERIFIER)
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- error_code: 200
--- response_headers
Cache-Control: no-store
--- response_body_like eval
qr/\A\{"access_token":"imp_at_[A-Za-z0-9_-]{49}","refresh_token":"imp_rt_[A-Za-z0-9_-]{49}","token_type":"Bearer","expires_in":7200,"scope":"money_in"\}\n\z/
--- error_log eval
qq{imprest: tokens issued to client "$::PUB_ID"}
--- no_error_log
[error]



=== TEST 37: public client presenting a client_secret: 401 invalid_client
--- init
put_code(code => $C{pub_secret}, cid => $PUB_ID, redirect_uri => $PUB_URI,
         scope => 'money_in', challenge => $B_CHALLENGE);
--- request eval
::tok(grant_type => 'authorization_code', code => $::C{pub_secret},
    redirect_uri => $::PUB_URI, client_id => $::PUB_ID,
    client_secret => $::APP_SECRET, code_verifier => $::B_VERIFIER)
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- error_code: 401
--- response_headers
WWW-Authenticate: Basic realm="imprest"
--- response_body eval
::err('invalid_client', 'unknown client or wrong secret')
--- no_error_log
imprest: redis command queued: redeem
[error]



=== TEST 38: public client without a code_verifier: invalid_grant before the redemption script
--- init
put_code(code => $C{pub_noverifier}, cid => $PUB_ID,
         redirect_uri => $PUB_URI, scope => 'money_in',
         challenge => $B_CHALLENGE);
--- request eval
::tok(grant_type => 'authorization_code', code => $::C{pub_noverifier},
    redirect_uri => $::PUB_URI, client_id => $::PUB_ID)
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- error_code: 400
--- response_body eval
::err('invalid_grant', 'code_verifier is required')
--- error_log
imprest: redis command queued: client
--- no_error_log
imprest: redis command queued: redeem
[error]



=== TEST 39: AS-TOK-10 / GEN-2 / RS-LOG-1 after a redemption Redis holds digests only, every key expires, the log holds no secret
--- init
put_code(code => $C{tok10});
after_response(0, sub {
    my ($at, $rt) = tokens_of($_[1]);
    ok(length $at && length $rt, 'AS-TOK-10: tokens issued');
    my @all = redis_everything();
    ok(@all > 5, 'AS-TOK-10: Redis scanned (' . @all . ' keys)');
    my %secret = (code => $C{tok10}, 'client secret' => $APP_SECRET,
                  'access token' => $at, 'refresh token' => $rt);
    for my $what (sort keys %secret) {
        my $s = $secret{$what};
        my @hits = grep { index(join("\n", $_->[0], @{ $_->[3] }), $s) >= 0
                          || index(join("\n", $_->[0], @{ $_->[3] }),
                                   substr($s, 7, 20)) >= 0 } @all;
        is(scalar @hits, 0, "AS-TOK-10: the $what is nowhere in Redis")
            or diag(join ' ', map { $_->[0] } @hits);
    }
    my @tok = grep { $_->[0] =~ /^imprest:(?:at|rt|ac):/ } @all;
    is(scalar(grep { $_->[0] !~ /^imprest:(?:at|rt|ac):[0-9a-f]{64}\z/ }
              @tok), 0, 'AS-TOK-10: token keys are SHA-256 hex digests');
    for my $k ('imprest:ac:' . sha256_hex($C{tok10}),
               'imprest:at:' . sha256_hex($at),
               'imprest:rt:' . sha256_hex($rt)) {
        ok(grep({ $_->[0] eq $k } @all), "AS-TOK-10: $k is there");
    }
    # GEN-2: what the redemption wrote expires, within its lifetime
    my %max = (ac => 60, at => 7200, rt => 30 * 86400, grant => 30 * 86400);
    for my $e (grep { $_->[0] =~ /^imprest:(ac|at|rt|grant):/ } @all) {
        my ($type) = $e->[0] =~ /^imprest:(\w+):/;
        ok($e->[2] > 0 && $e->[2] <= $max{$type},
           "GEN-2: $e->[0] TTL $e->[2] in 1..$max{$type}");
    }
    # RS-LOG-1: not even the debug log names them
    my $log = error_log_text();
    ok(length $log > 1000, 'RS-LOG-1: the debug log was read');
    for my $what (sort keys %secret) {
        is(index($log, substr($secret{$what}, 7)), -1,
           "RS-LOG-1: the $what is not in error.log");
    }
});
--- request eval
::tok(grant_type => 'authorization_code', code => $::C{tok10},
    redirect_uri => $::APP_URI, ::post_creds())
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- error_code: 200
--- response_body_like eval
$::TOKENS
--- no_error_log
[error]



=== TEST 40: Redis down: 503 temporarily_unavailable, no-store, Retry-After, no token
--- imprest_redis: 127.0.0.1:$TEST_NGINX_SPARE_PORT retry=10s
--- init
put_code(code => $C{down});
--- request eval
::tok(grant_type => 'authorization_code', code => $::C{down},
    redirect_uri => $::APP_URI, ::post_creds())
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- error_code: 503
--- response_headers
Content-Type: application/json
Cache-Control: no-store
Pragma: no-cache
Retry-After: 1
!WWW-Authenticate
--- response_body eval
$::UNAVAILABLE
--- error_log eval
$Imprest::Test::REDIS_DOWN
--- no_error_log
imprest: tokens issued
[alert]



=== TEST 41: R2/R6 the connection closes while the redemption is pending: 503, no token
--- before_start
stop_fake();
fake_redis($ENV{TEST_NGINX_FAKE_PORT},
           "*6\r\n:1\r\n" . join('', map { resp_bulk($_) }
               'Books', sha256_hex($APP_SECRET), $APP_URI,
               'money_in money_out', '0'),
           { close => 1 });
--- imprest_redis: 127.0.0.1:$TEST_NGINX_FAKE_PORT retry=10s
--- init
ok(wait_log("imprest: redis 127.0.0.1:$ENV{TEST_NGINX_FAKE_PORT} ready", 2),
   'connected to the fake Redis');
--- request eval
::tok(grant_type => 'authorization_code', code => $::C{fake_close},
    redirect_uri => $::APP_URI, ::post_creds())
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- error_code: 503
--- response_headers
Cache-Control: no-store
Retry-After: 1
--- response_body eval
$::UNAVAILABLE
--- error_log
imprest: redis command queued: redeem
--- no_error_log
imprest: tokens issued
[alert]



=== TEST 42: R11 Redis refuses the write (-OOM): 503, no token
--- before_start
stop_fake();
fake_redis($ENV{TEST_NGINX_FAKE_PORT},
           "*6\r\n:1\r\n" . join('', map { resp_bulk($_) }
               'Books', sha256_hex($APP_SECRET), $APP_URI,
               'money_in money_out', '0'),
           "-OOM command not allowed when used memory > 'maxmemory'.\r\n");
--- imprest_redis: 127.0.0.1:$TEST_NGINX_FAKE_PORT retry=10s
--- init
ok(wait_log("imprest: redis 127.0.0.1:$ENV{TEST_NGINX_FAKE_PORT} ready", 2),
   'connected to the fake Redis');
--- request eval
::tok(grant_type => 'authorization_code', code => $::C{fake_oom},
    redirect_uri => $::APP_URI, ::post_creds())
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- error_code: 503
--- response_body eval
$::UNAVAILABLE
--- error_log
imprest: redis command queued: redeem
--- no_error_log
imprest: tokens issued
[alert]



=== TEST 43: R9 a redemption reply that is not the script's ({1} alone): 503, no token, connection reset
--- before_start
stop_fake();
fake_redis($ENV{TEST_NGINX_FAKE_PORT},
           "*6\r\n:1\r\n" . join('', map { resp_bulk($_) }
               'Books', sha256_hex($APP_SECRET), $APP_URI,
               'money_in money_out', '0'),
           "*1\r\n:1\r\n");
--- imprest_redis: 127.0.0.1:$TEST_NGINX_FAKE_PORT retry=10s
--- init
ok(wait_log("imprest: redis 127.0.0.1:$ENV{TEST_NGINX_FAKE_PORT} ready", 2),
   'connected to the fake Redis');
--- request eval
::tok(grant_type => 'authorization_code', code => $::C{fake_bad},
    redirect_uri => $::APP_URI, ::post_creds())
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- error_code: 503
--- response_body eval
$::UNAVAILABLE
--- error_log
reply does not match the token script
--- no_error_log
imprest: tokens issued
[alert]



=== TEST 44: section 3 malformed codes (not imp_ac_, bad checksum, a refresh token, "*", 10 KB): invalid_grant without the redemption script
--- init
put_code(code => $C{malformed});
--- request eval
[map { ::tok(grant_type => 'authorization_code', code => $_,
           redirect_uri => $::APP_URI, ::post_creds()) }
 ('AUTH_CODE',
  substr($::C{malformed}, 0, -1)
  . (substr($::C{malformed}, -1) eq 'A' ? 'B' : 'A'),
  ::token_new('rt'),
  $::C{malformed} =~ s/^imp_ac_/imp_at_/r,
  '*',
  'imp_ac_' . ('A' x 10240))]
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- error_code eval
[(400) x 6]
--- response_body eval
[(::err('invalid_grant', 'unknown code')) x 6]
--- error_log
imprest: redis command queued: client
--- no_error_log
imprest: redis command queued: redeem
[error]



=== TEST 45: section 3 a body too big for memory: refused, never read from disk
--- init
put_code(code => $C{big});
--- request eval
::tok(grant_type => 'authorization_code', code => $::C{big},
    redirect_uri => $::APP_URI, ::post_creds(), pad => 'x' x 65536)
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- error_code: 413
--- response_headers
Content-Type: application/json
--- response_body eval
::err('invalid_request', 'the request body is too large')
--- no_error_log
imprest: redis command queued
[error]



=== TEST 46: section 3 a chunked body in several chunks: 200
--- init
put_code(code => $C{chunked});
--- raw_request eval
my $body = ::form(grant_type => 'authorization_code', code => $::C{chunked},
                  redirect_uri => $::APP_URI, ::post_creds());
my $half = int(length($body) / 2);
"POST /oauth/token HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
. "Content-Type: application/x-www-form-urlencoded\r\n"
. "Transfer-Encoding: chunked\r\n\r\n"
. sprintf("%x\r\n%s\r\n", $half, substr($body, 0, $half))
. sprintf("%x\r\n%s\r\n", length($body) - $half, substr($body, $half))
. "0\r\n\r\n"
--- error_code: 200
--- response_body_like eval
$::TOKENS
--- no_error_log
[error]



=== TEST 47: section 3 more parameters than the parser keeps (1000): 400 before Redis
--- request eval
::tok(grant_type => 'authorization_code', map { ("p$_" => 'x') } 1 .. 999)
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- error_code: 400
--- response_body eval
::err('invalid_request', 'malformed form body')
--- no_error_log
imprest: redis command queued
[error]



=== TEST 48: R14 the client leaves while its redemption is pending: the late reply is discarded, the next request gets its own
--- before_start
stop_fake();
my $client = "*6\r\n:1\r\n" . join('', map { resp_bulk($_) }
    'Books', sha256_hex($APP_SECRET), $APP_URI, 'money_in money_out', '0');
my $redeemed = sub {
    "*4\r\n:1\r\n" . join('', map { resp_bulk($_) } 'alice', $_[0], $ORG1);
};
# one connection: the first redemption is answered 0.8s late; the second
# request, sent while that reply is due, must get the reply after it
fake_redis($ENV{TEST_NGINX_FAKE_PORT}, $client,
           { delay => 0.8, reply => $redeemed->('money_in') },
           $client, $redeemed->('money_out'));
--- imprest_redis: 127.0.0.1:$TEST_NGINX_FAKE_PORT timeout=3s
--- init
ok(wait_log("imprest: redis 127.0.0.1:$ENV{TEST_NGINX_FAKE_PORT} ready", 2),
   'connected to the fake Redis');
after_response(1, sub {
    my $log = error_log_text();
    like($log, qr/imprest: request ended, redis command detached/,
         'R14: the pending redemption was detached from the request');
    is(() = $log =~ /imprest: tokens issued/g, 1,
       'R14: tokens were handed to the second request only');
});
--- request eval
[::tok(grant_type => 'authorization_code', code => $::C{gone_1},
       redirect_uri => $::APP_URI, ::post_creds()),
 ::tok(grant_type => 'authorization_code', code => $::C{gone_2},
       redirect_uri => $::APP_URI, ::post_creds())]
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- timeout: 0.5
--- abort
--- error_code eval
["", 200]
--- response_body_like eval
["", qr/\A\{"access_token":"imp_at_[A-Za-z0-9_-]{49}","refresh_token":"imp_rt_[A-Za-z0-9_-]{49}","token_type":"Bearer","expires_in":7200,"scope":"money_out"\}\n\z/]
--- no_error_log
[alert]
[crit]



=== TEST 49: R9 a success reply shorter than the redemption script's ({1, uid}): 503, no token
--- before_start
stop_fake();
# the redemption script answers {1, uid, scope, orgs}; a two-element
# {1, x} is no reply of it, and must not be read as "tokens stored"
fake_redis($ENV{TEST_NGINX_FAKE_PORT},
           "*6\r\n:1\r\n" . join('', map { resp_bulk($_) }
               'Books', sha256_hex($APP_SECRET), $APP_URI,
               'money_in money_out', '0'),
           "*2\r\n:1\r\n" . resp_bulk('alice'));
--- imprest_redis: 127.0.0.1:$TEST_NGINX_FAKE_PORT retry=10s
--- init
ok(wait_log("imprest: redis 127.0.0.1:$ENV{TEST_NGINX_FAKE_PORT} ready", 2),
   'connected to the fake Redis');
--- request eval
::tok(grant_type => 'authorization_code', code => $::C{short_reply},
      redirect_uri => $::APP_URI, ::post_creds())
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- error_code: 503
--- response_body eval
$::UNAVAILABLE
--- error_log
reply does not match the token script
--- no_error_log
imprest: tokens issued
[alert]



=== TEST 50: RFC 9110 11.1 the Basic scheme name is case-insensitive
--- init
put_code(code => $C{basic_case});
--- request eval
::tok(grant_type => 'authorization_code', code => $::C{basic_case},
      redirect_uri => $::APP_URI)
--- more_headers eval
"Content-Type: application/x-www-form-urlencoded\n"
. (::basic_auth($::APP_ID, $::APP_SECRET) =~ s/Basic/bASIC/r)
--- error_code: 200
--- response_body_like eval
$::TOKENS
--- no_error_log
[error]
