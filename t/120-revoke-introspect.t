# POST /oauth/revoke (RFC 7009) and POST /oauth/introspect (RFC 7662);
# security-requirements.md AS-RV-*, AS-IN-*, RS-TOK-4, section 3
# "/revoke" and "/introspect".
#
# Access tokens are minted with imprestctl for $APP_ID; refresh tokens and
# grants are written with put_rt(), and grant_with_at() puts an access
# token in the same grant, as a redemption would.  The gate (use_as_config's
# /api/, requiring money_in) is the proof that a revoked token is dead.
# "--- ... eval" sections run in Test::Base's package: "$::NAME" and
# "::sub()" reach this file's variables and helpers.
use Test::Nginx::Socket 'no_plan';
use Imprest::Test;
use Digest::SHA qw(sha256_hex);
use Hash::Util ();

# access and refresh tokens, one per use; a misspelt name dies
our %A = map { $_ => token_new('at') } qw(
    rv rv_grant rv_twice rv_hint rv_hint_foo rv_other rv_noauth rv_pub
    rv_rotated in_live in_aud in_expired in_revoked in_noperm in_dup
    rv_down rv_fake rv_readonly in_fake
);
our %R = map { $_ => token_new('rt') } qw(
    rv_grant rv_other rv_rotated in_live in_rotated
);
Hash::Util::lock_keys(%A);
Hash::Util::lock_keys(%R);

our $EXP = time() + 3600;

our $UNAVAILABLE = err('temporarily_unavailable',
                       'the authorization service is unavailable');
our $INVALID_TOKEN = '{"error":"invalid_token","error_description":'
                     . "\"unknown, expired or revoked token\"}\n";
our $INACTIVE = qq({"active":false}\n);

sub err {
    my ($e, $d) = @_;
    return qq({"error":"$e","error_description":"$d"}\n);
}

sub exact { return qr/\A\Q$_[0]\E\z/ }

sub post_creds { return (client_id => $APP_ID, client_secret => $APP_SECRET) }

sub rs_creds { return (client_id => $RS_ID, client_secret => $RS_SECRET) }

sub revoke { return "POST /oauth/revoke\n" . form(@_) }

sub introspect { return "POST /oauth/introspect\n" . form(@_) }

# the guide's step 4, as a --- request with its headers in --- more_headers
sub api { return "GET /api/v1/invoices" }

sub api_headers {
    return "Authorization: Bearer $_[0]\nX-Organization-Id: $ORG1";
}

sub upstream_body {
    my ($cid, $scope) = @_;
    return "uid=alice cid=$cid org=$ORG1 iorg=$ORG1 scope=$scope auth= "
           . "xauth= uri=/api/v1/invoices\n";
}

# an access token for alice in $ORG1, held by $cid
sub mint_at {
    my ($at, %o) = @_;
    ctl('token', 'mint', '--token', $at, '--user', 'alice',
        '--client', $o{cid} // $APP_ID,
        '--scope', $o{scope} // 'money_in money_out',
        '--org', $ORG1, '--org', $ORG2,
        '--exp', $o{exp} // $EXP, '--ttl', $o{ttl} // 3600,
        ($o{aud} ? ('--aud', $o{aud}) : ()));
}

# a refresh token and an access token of one grant; returns the gid
sub grant_with_at {
    my ($rt, $at, %o) = @_;
    my $gid = put_rt(rt => $rt, %o);
    mint_at($at, %o);
    my $key = 'imprest:at:' . sha256_hex($at);
    redis('HSET', $key, 'gid', $gid);
    redis('SADD', "imprest:grant:$gid", $key);
    return $gid;
}

sub ct { return "Content-Type: application/x-www-form-urlencoded" }

no_shuffle();
use_as_config();
use_imprest_redis_section();
use_fault_hooks();
run_tests();

__DATA__

=== TEST 1: RS-TOK-4 revoke an access token: 200 {}, and the gate refuses it on the very next request
--- init
seed_as();
mint_at($A{rv});
after_response(1, sub {
    like(error_log_text(),
         qr/imprest: revocation by client "\Q$APP_ID\E": revoked/,
         'the revocation is logged with its client');
});
--- request eval
[::api(), ::revoke(token => $::A{rv}, ::post_creds()), ::api()]
--- more_headers eval
[::api_headers($::A{rv}), ::ct(), ::api_headers($::A{rv})]
--- error_code eval
[200, 200, 401]
--- response_headers eval
["", "Content-Type: application/json\nCache-Control: no-store\nPragma: no-cache",
 "WWW-Authenticate: Bearer realm=\"imprest\", error=\"invalid_token\", error_description=\"unknown, expired or revoked token\""]
--- response_body eval
[::upstream_body($::APP_ID, 'money_in money_out'), "{}\n", $::INVALID_TOKEN]
--- no_error_log
[error]



=== TEST 2: AS-RV-1 revoke a refresh token: 200, its grant's access token is refused at the gate and the refresh token at /token
--- init
grant_with_at($R{rv_grant}, $A{rv_grant});
--- request eval
[::api(), ::revoke(token => $::R{rv_grant}, ::post_creds()), ::api(),
 "POST /oauth/token\n" . ::form(grant_type => 'refresh_token',
                                refresh_token => $::R{rv_grant},
                                ::post_creds())]
--- more_headers eval
[::api_headers($::A{rv_grant}), ::ct(), ::api_headers($::A{rv_grant}),
 ::ct()]
--- error_code eval
[200, 200, 401, 400]
--- response_body eval
[::upstream_body($::APP_ID, 'money_in money_out'), "{}\n",
 $::INVALID_TOKEN, ::err('invalid_grant', 'unknown refresh token')]
--- no_error_log
[error]



=== TEST 3: AS-RV-2 revoking twice: 200 both times
--- init
mint_at($A{rv_twice});
--- request eval
[(::revoke(token => $::A{rv_twice}, ::post_creds())) x 2]
--- more_headers eval
::ct()
--- error_code eval
[200, 200]
--- response_body eval
["{}\n", "{}\n"]
--- error_log
imprest: redis command queued: revoke
--- no_error_log
[error]



=== TEST 4: AS-RV-2 well-formed tokens Redis does not know: 200
--- request eval
[::revoke(token => ::token_new('at'), ::post_creds()),
 ::revoke(token => ::token_new('rt'), ::post_creds())]
--- more_headers eval
::ct()
--- error_code eval
[200, 200]
--- response_body eval
["{}\n", "{}\n"]
--- error_log eval
[qq{imprest: revocation by client "$::APP_ID": nothing to do}]
--- no_error_log
[error]



=== TEST 5: AS-RV-2 section 3 garbage, a code, a bad checksum, 10 KB: 200 without asking Redis to revoke
--- request eval
[map { ::revoke(token => $_, ::post_creds()) }
 ('garbage', ::token_new('ac'),
  substr($::A{rv_twice}, 0, -1)
  . (substr($::A{rv_twice}, -1) eq 'A' ? 'B' : 'A'),
  'imp_at_' . ('A' x 10240))]
--- more_headers eval
::ct()
--- error_code eval
[(200) x 4]
--- response_body eval
[("{}\n") x 4]
--- error_log
imprest: redis command queued: client
--- no_error_log
imprest: redis command queued: revoke
[error]



=== TEST 6: AS-RV-3 token_type_hint=refresh_token with an access token: the access token is revoked
--- init
mint_at($A{rv_hint});
--- request eval
[::revoke(token => $::A{rv_hint}, token_type_hint => 'refresh_token',
          ::post_creds()),
 ::api()]
--- more_headers eval
[::ct(), ::api_headers($::A{rv_hint})]
--- error_code eval
[200, 401]
--- response_body eval
["{}\n", $::INVALID_TOKEN]
--- no_error_log
[error]



=== TEST 7: AS-RV-3 an unknown token_type_hint is ignored: 200 and revoked
--- init
mint_at($A{rv_hint_foo});
--- request eval
[::revoke(token => $::A{rv_hint_foo}, token_type_hint => 'foo',
          ::post_creds()),
 ::api()]
--- more_headers eval
[::ct(), ::api_headers($::A{rv_hint_foo})]
--- error_code eval
[200, 401]
--- response_body eval
["{}\n", $::INVALID_TOKEN]
--- no_error_log
[error]



=== TEST 8: AS-RV-4 another client revokes our tokens: 200, and the access token and the refresh token both still work
--- init
grant_with_at($R{rv_other}, $A{rv_other});
--- request eval
[::revoke(token => $::A{rv_other}, client_id => $::APP2_ID,
          client_secret => $::APP2_SECRET),
 ::revoke(token => $::R{rv_other}, client_id => $::APP2_ID,
          client_secret => $::APP2_SECRET),
 ::api(),
 "POST /oauth/token\n" . ::form(grant_type => 'refresh_token',
                                refresh_token => $::R{rv_other},
                                ::post_creds())]
--- more_headers eval
[::ct(), ::ct(), ::api_headers($::A{rv_other}), ::ct()]
--- error_code eval
[200, 200, 200, 200]
--- response_body_like eval
[::exact("{}\n"), ::exact("{}\n"),
 ::exact(::upstream_body($::APP_ID, 'money_in money_out')),
 qr/\A\{"access_token":"imp_at_/]
--- no_error_log
[error]



=== TEST 9: AS-RV-4 revocation without client authentication, or with a wrong secret: 401 invalid_client, the token still works
--- init
mint_at($A{rv_noauth});
--- request eval
[::revoke(token => $::A{rv_noauth}),
 ::revoke(token => $::A{rv_noauth}, client_id => $::APP_ID,
          client_secret => ::token_new('cs')),
 ::api()]
--- more_headers eval
[::ct(), ::ct(), ::api_headers($::A{rv_noauth})]
--- error_code eval
[401, 401, 200]
--- response_headers eval
["WWW-Authenticate: Basic realm=\"imprest\"\nCache-Control: no-store",
 "WWW-Authenticate: Basic realm=\"imprest\"", ""]
--- response_body eval
[::err('invalid_client', 'client authentication required'),
 ::err('invalid_client', 'unknown client or wrong secret'),
 ::upstream_body($::APP_ID, 'money_in money_out')]
--- no_error_log
imprest: redis command queued: revoke
[error]



=== TEST 10: AS-RV-5 no token: 400 invalid_request; GET: 405
--- request eval
[::revoke(::post_creds()), "GET /oauth/revoke?token=$::A{rv_noauth}"]
--- more_headers eval
[::ct(), ""]
--- error_code eval
[400, 405]
--- response_headers eval
["Cache-Control: no-store", "Allow: POST"]
--- response_body eval
[::err('invalid_request', 'token is required'),
 ::err('invalid_request', 'method not allowed')]
--- no_error_log
imprest: redis command queued: revoke
[error]



=== TEST 11: section 3 a repeated token or token_type_hint: 400 invalid_request before Redis
--- request eval
["POST /oauth/revoke\ntoken=$::A{rv_noauth}&token=$::A{rv}&client_id=$::APP_ID&client_secret=$::APP_SECRET",
 "POST /oauth/revoke\ntoken=$::A{rv_noauth}&token_type_hint=access_token&token_type_hint=refresh_token&client_id=$::APP_ID&client_secret=$::APP_SECRET"]
--- more_headers eval
::ct()
--- error_code eval
[400, 400]
--- response_body eval
[(::err('invalid_request', 'a parameter is repeated')) x 2]
--- no_error_log
imprest: redis command queued
[error]



=== TEST 12: RFC 7009 2.1 a public client revokes its own token with its client_id: 200, revoked
--- init
mint_at($A{rv_pub}, cid => $PUB_ID, scope => 'money_in');
--- request eval
[::revoke(token => $::A{rv_pub}, client_id => $::PUB_ID), ::api()]
--- more_headers eval
[::ct(), ::api_headers($::A{rv_pub})]
--- error_code eval
[200, 401]
--- response_body eval
["{}\n", $::INVALID_TOKEN]
--- no_error_log
[error]



=== TEST 13: AS-RV-1 revoking a refresh token that a refresh has just rotated still revokes the grant
--- init
my $at;
grant_with_at($R{rv_rotated}, $A{rv_rotated});
after_response(0, sub { ($at) = tokens_of($_[1]) });
after_response(1, sub {
    is(api_get($at)->{status}, 401,
       'AS-RV-1: the access token the rotation issued is refused');
    is(api_get($A{rv_rotated})->{status}, 401,
       'AS-RV-1: the grant\'s first access token is refused');
});
--- request eval
["POST /oauth/token\n" . ::form(grant_type => 'refresh_token',
                                refresh_token => $::R{rv_rotated},
                                ::post_creds()),
 ::revoke(token => $::R{rv_rotated}, ::post_creds())]
--- more_headers eval
::ct()
--- error_code eval
[200, 200]
--- response_body_like eval
[qr/\A\{"access_token":"imp_at_/, ::exact("{}\n")]
--- no_error_log
[error]



=== TEST 14: AS-RV-6 Redis down: 503 with Retry-After, never 200
--- imprest_redis: 127.0.0.1:$TEST_NGINX_SPARE_PORT retry=10s
--- request eval
::revoke(token => $::A{rv_down}, ::post_creds())
--- more_headers eval
::ct()
--- error_code: 503
--- response_headers
Content-Type: application/json
Cache-Control: no-store
Retry-After: 1
--- response_body eval
$::UNAVAILABLE
--- error_log eval
$Imprest::Test::REDIS_DOWN
--- no_error_log
[alert]



=== TEST 15: AS-RV-6 (fosite CVE-2020-15223) the connection closes while the revocation is pending: 503, never 200
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
::revoke(token => $::A{rv_fake}, ::post_creds())
--- more_headers eval
::ct()
--- error_code: 503
--- response_headers
Retry-After: 1
--- response_body eval
$::UNAVAILABLE
--- error_log
imprest: redis command queued: revoke
--- no_error_log
revocation by client
[alert]



=== TEST 16: AS-RV-6 R11 Redis refuses the write (-READONLY): 503, never 200
--- before_start
stop_fake();
fake_redis($ENV{TEST_NGINX_FAKE_PORT},
           "*6\r\n:1\r\n" . join('', map { resp_bulk($_) }
               'Books', sha256_hex($APP_SECRET), $APP_URI,
               'money_in money_out', '0'),
           "-READONLY You can't write against a read only replica.\r\n");
--- imprest_redis: 127.0.0.1:$TEST_NGINX_FAKE_PORT retry=10s
--- init
ok(wait_log("imprest: redis 127.0.0.1:$ENV{TEST_NGINX_FAKE_PORT} ready", 2),
   'connected to the fake Redis');
--- request eval
::revoke(token => $::A{rv_readonly}, ::post_creds())
--- more_headers eval
::ct()
--- error_code: 503
--- response_body eval
$::UNAVAILABLE
--- error_log
imprest: redis command queued: revoke
--- no_error_log
revocation by client
[alert]



=== TEST 17: AS-IN-2 a resource server introspects a live access token: active, scope, client_id, sub, exp, iat, token_type, organizations
--- init
seed_as();
mint_at($A{in_live});
--- request eval
::introspect(token => $::A{in_live}, ::rs_creds())
--- more_headers eval
::ct()
--- error_code: 200
--- response_headers
Content-Type: application/json
Cache-Control: no-store
Pragma: no-cache
--- response_body_like eval
qr/\A\{"active":true,"scope":"money_in money_out","client_id":"\Q$::APP_ID\E","sub":"alice","exp":$::EXP,"iat":\d{10},"token_type":"Bearer","iss":"http:\/\/127\.0\.0\.1:$ENV{TEST_NGINX_SERVER_PORT}","organizations":\["\Q$::ORG1\E","\Q$::ORG2\E"\]\}\n\z/
--- error_log
imprest: redis command queued: introspect
--- no_error_log
[error]



=== TEST 18: AS-IN-2 an audience-bound token says its aud
--- init
mint_at($A{in_aud}, aud => 'https://ledger.example');
--- request eval
::introspect(token => $::A{in_aud}, ::rs_creds())
--- more_headers eval
::ct()
--- error_code: 200
--- response_body_like eval
qr/\A\{"active":true,.*,"aud":"https:\/\/ledger\.example","organizations":\[/
--- no_error_log
[error]



=== TEST 19: AS-IN-2 a live refresh token is active too, for its client
--- init
put_rt(rt => $R{in_live});
--- request eval
::introspect(token => $::R{in_live}, ::rs_creds())
--- more_headers eval
::ct()
--- error_code: 200
--- response_body_like eval
qr/\A\{"active":true,"scope":"money_in money_out","client_id":"\Q$::APP_ID\E","sub":"alice","exp":\d+,"iat":\d+,"token_type":"refresh_token",/
--- no_error_log
[error]



=== TEST 20: AS-IN-3 unknown, expired (record alive), revoked, malformed, a code: exactly {"active":false}
--- init
mint_at($A{in_expired}, exp => time() - 1, ttl => 600);
mint_at($A{in_revoked});
ctl('token', 'revoke', $A{in_revoked});
--- request eval
[map { ::introspect(token => $_, ::rs_creds()) }
 (::token_new('at'), $::A{in_expired}, $::A{in_revoked}, 'garbage',
  ::token_new('ac'))]
--- more_headers eval
::ct()
--- error_code eval
[(200) x 5]
--- response_headers eval
[("Cache-Control: no-store\nContent-Type: application/json") x 5]
--- response_body eval
[($::INACTIVE) x 5]
--- no_error_log
[error]



=== TEST 21: AS-IN-3 a refresh token spent by rotation introspects as inactive
--- init
put_rt(rt => $R{in_rotated});
--- request eval
["POST /oauth/token\n" . ::form(grant_type => 'refresh_token',
                                refresh_token => $::R{in_rotated},
                                ::post_creds()),
 ::introspect(token => $::R{in_rotated}, ::rs_creds())]
--- more_headers eval
::ct()
--- error_code eval
[200, 200]
--- response_body_like eval
[qr/\A\{"access_token":"imp_at_/, ::exact($::INACTIVE)]
--- no_error_log
[error]



=== TEST 22: a client without the introspect permission: 403 with the exact body
--- init
mint_at($A{in_noperm});
--- request eval
[::introspect(token => $::A{in_noperm}, ::post_creds()),
 ::introspect(token => $::A{in_noperm}, client_id => $::PUB_ID)]
--- more_headers eval
::ct()
--- error_code eval
[403, 403]
--- response_headers eval
[("Cache-Control: no-store\nContent-Type: application/json\n!WWW-Authenticate") x 2]
--- response_body eval
[(::err('unauthorized_client', 'this client may not introspect tokens')) x 2]
--- no_error_log
imprest: redis command queued: introspect
[error]



=== TEST 23: AS-IN-1 introspection without caller authentication, or with a wrong secret: 401 invalid_client
--- request eval
[::introspect(token => $::A{in_noperm}),
 ::introspect(token => $::A{in_noperm}, client_id => $::RS_ID,
              client_secret => $::APP_SECRET),
 ::introspect(token => $::A{in_noperm}, client_id => $::RS_ID)]
--- more_headers eval
::ct()
--- error_code eval
[401, 401, 401]
--- response_headers eval
[("WWW-Authenticate: Basic realm=\"imprest\"\nCache-Control: no-store") x 3]
--- response_body eval
[::err('invalid_client', 'client authentication required'),
 ::err('invalid_client', 'unknown client or wrong secret'),
 ::err('invalid_client', 'unknown client or wrong secret')]
--- no_error_log
imprest: redis command queued: introspect
[error]



=== TEST 24: section 3 a repeated token: 400 invalid_request before Redis; no token: 400
--- request eval
["POST /oauth/introspect\ntoken=$::A{in_dup}&token=$::A{in_live}&client_id=$::RS_ID&client_secret=$::RS_SECRET",
 ::introspect(::rs_creds())]
--- more_headers eval
::ct()
--- error_code eval
[400, 400]
--- response_body eval
[::err('invalid_request', 'a parameter is repeated'),
 ::err('invalid_request', 'token is required')]
--- no_error_log
imprest: redis command queued: introspect
[error]



=== TEST 25: RFC 7662 2.1 GET /oauth/introspect: 405
--- request eval
"GET /oauth/introspect?token=$::A{in_live}"
--- error_code: 405
--- response_headers
Allow: POST
--- response_body eval
::err('invalid_request', 'method not allowed')
--- no_error_log
imprest: redis command queued
[error]



=== TEST 26: AS-IN-4 Redis down: 503, never active
--- imprest_redis: 127.0.0.1:$TEST_NGINX_SPARE_PORT retry=10s
--- request eval
::introspect(token => $::A{in_live}, ::rs_creds())
--- more_headers eval
::ct()
--- error_code: 503
--- response_headers
Cache-Control: no-store
Retry-After: 1
--- response_body eval
$::UNAVAILABLE
--- no_error_log
[alert]



=== TEST 27: AS-IN-4 R9 an introspection reply that is not the script's: 503, never active
--- before_start
stop_fake();
fake_redis($ENV{TEST_NGINX_FAKE_PORT},
           "*6\r\n:1\r\n" . join('', map { resp_bulk($_) }
               'Ledger', sha256_hex($RS_SECRET), 'https://ledger.example/cb',
               'money_in', '1'),
           "*3\r\n:1\r\n\$5\r\nalice\r\n\$4\r\napp1\r\n");
--- imprest_redis: 127.0.0.1:$TEST_NGINX_FAKE_PORT retry=10s
--- init
ok(wait_log("imprest: redis 127.0.0.1:$ENV{TEST_NGINX_FAKE_PORT} ready", 2),
   'connected to the fake Redis');
--- request eval
::introspect(token => $::A{in_fake}, ::rs_creds())
--- more_headers eval
::ct()
--- error_code: 503
--- response_body eval
$::UNAVAILABLE
--- error_log
reply does not match the introspect script
--- no_error_log
[alert]
