# POST /oauth/token, refresh_token grant (RFC 6749 6, 10.4; RFC 9700
# 2.2.2, 4.14; security-requirements.md AS-RT-*, section 3 "/token").
#
# Refresh tokens and their grants are written with put_rt() (what a code
# redemption stores).  Checks that need the tokens a refresh issued run
# in after_response() hooks, in the block that names the requirement (see
# t/110-token.t).  "--- ... eval" sections run in Test::Base's package:
# "$::NAME" and "::sub()" reach this file's variables and helpers.
use Test::Nginx::Socket 'no_plan';
use Imprest::Test;
use Digest::SHA qw(sha256_hex);
use Hash::Util ();

# refresh tokens, one per use; a misspelt name dies
our %R = map { $_ => token_new('rt') } qw(
    rot reuse narrow wide wider malformed other expired nogrant
    at_as_rt repeat race pub conf_nosecret down fake_close long_reply
    dup_scope bad_reason
);
Hash::Util::lock_keys(%R);

our $AT_TOKEN = token_new('at');

our $TOKENS = tokens_re('money_in money_out');

our $UNAVAILABLE = err('temporarily_unavailable',
                       'the authorization service is unavailable');

sub tokens_re {
    my ($scope) = @_;
    return qr/\A\{"access_token":"imp_at_[A-Za-z0-9_-]{49}","refresh_token":"imp_rt_[A-Za-z0-9_-]{49}","token_type":"Bearer","expires_in":7200,"scope":"\Q$scope\E"\}\n\z/;
}

sub err {
    my ($e, $d) = @_;
    return qq({"error":"$e","error_description":"$d"}\n);
}

sub exact { return qr/\A\Q$_[0]\E\z/ }

sub tok { return "POST /oauth/token\n" . form(@_) }

sub post_creds { return (client_id => $APP_ID, client_secret => $APP_SECRET) }

# a refresh request from the hooks, as $APP_ID
sub refresh {
    my ($rt, @more) = @_;
    return http_post('/oauth/token', [grant_type => 'refresh_token',
                                      refresh_token => $rt, @more,
                                      post_creds()]);
}

sub gone { return redis('EXISTS', $_[0]) =~ /^0\s*\z/ }

no_shuffle();
use_as_config();
use_imprest_redis_section();
use_fault_hooks();
run_tests();

__DATA__

=== TEST 1: AS-RT-1 a refresh rotates: new tokens that work, the presented refresh token is spent
--- init
seed_as();
put_rt(rt => $R{rot});
after_response(0, sub {
    my ($at, $rt) = tokens_of($_[1]);
    isnt($rt, $R{rot}, 'AS-RT-1: a new refresh token');
    my $r = api_get($at);
    is($r->{status}, 200, 'AS-RT-1: the new access token passes the gate');
    like($r->{body}, qr/^uid=alice cid=\Q$APP_ID\E .* scope=money_in money_out /,
         'AS-RT-1: for the same user, client and scope');
    $r = refresh($rt);
    is($r->{status}, 200, 'AS-RT-1: the new refresh token refreshes');
    like($r->{body}, $TOKENS, 'AS-RT-1: with the whole scope');
});
--- request eval
[::tok(grant_type => 'refresh_token', refresh_token => $::R{rot},
       ::post_creds()),
 ::tok(grant_type => 'refresh_token', refresh_token => $::R{rot},
       ::post_creds())]
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- error_code eval
[200, 400]
--- response_headers eval
[("Content-Type: application/json\nCache-Control: no-store\nPragma: no-cache") x 2]
--- response_body_like eval
[$::TOKENS, ::exact(::err('invalid_grant', 'refresh token already used'))]
--- error_log
imprest: redis command queued: refresh
--- no_error_log
[error]



=== TEST 2: AS-RT-2 reuse of a rotated refresh token revokes the grant: the newest refresh and access tokens fail too
--- init
my $gid = put_rt(rt => $R{reuse});
my ($at, $rt);
after_response(0, sub {
    ($at, $rt) = tokens_of($_[1]);
    is(api_get($at)->{status}, 200, 'AS-RT-2: the new access token works');
});
after_response(1, sub {
    my $r = refresh($rt);
    is($r->{status}, 400, 'AS-RT-2: the newest refresh token is refused');
    is($r->{body}, err('invalid_grant', 'unknown refresh token'),
       'AS-RT-2: as invalid_grant');
    $r = api_get($at);
    is($r->{status}, 401, 'AS-RT-2: the newest access token is refused');
    like($r->{headers}{'www-authenticate'} // '', qr/error="invalid_token"/,
         'AS-RT-2: as invalid_token');
    ok(gone("imprest:grant:$gid"), 'AS-RT-2: the grant is gone');
});
--- request eval
[::tok(grant_type => 'refresh_token', refresh_token => $::R{reuse},
       ::post_creds()),
 ::tok(grant_type => 'refresh_token', refresh_token => $::R{reuse},
       ::post_creds())]
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- error_code eval
[200, 400]
--- response_body_like eval
[$::TOKENS, ::exact(::err('invalid_grant', 'refresh token already used'))]
--- no_error_log
[error]



=== TEST 3: AS-RT-4 a narrower scope: 200 with that scope; the new refresh token keeps the grant's scope (RFC 6749 6)
--- init
put_rt(rt => $R{narrow});
after_response(0, sub {
    my ($at, $rt) = tokens_of($_[1]);
    like(api_get($at)->{body}, qr/ scope=money_in auth=/,
         'AS-RT-4: the access token carries money_in only');
    my $r = refresh($rt);
    is($r->{status}, 200, 'AS-RT-4: the new refresh token refreshes');
    like($r->{body}, $TOKENS, 'AS-RT-4: to the whole original scope');
});
--- request eval
::tok(grant_type => 'refresh_token', refresh_token => $::R{narrow},
      scope => 'money_in', ::post_creds())
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- error_code: 200
--- response_body_like eval
::tokens_re('money_in')
--- no_error_log
[error]



=== TEST 4: AS-RT-4 a wider scope: invalid_scope, and the refresh token is not spent by the mistake
--- init
put_rt(rt => $R{wide});
--- request eval
[::tok(grant_type => 'refresh_token', refresh_token => $::R{wide},
       scope => 'money_in money_out other', ::post_creds()),
 ::tok(grant_type => 'refresh_token', refresh_token => $::R{wide},
       ::post_creds())]
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- error_code eval
[400, 200]
--- response_headers eval
[("Cache-Control: no-store\nContent-Type: application/json") x 2]
--- response_body_like eval
[::exact(::err('invalid_scope', 'scope exceeds the grant')), $::TOKENS]
--- error_log
imprest: redis command queued: refresh
--- no_error_log
[error]



=== TEST 5: AS-RT-4 a scope the grant lacks (money_out for a money_in grant): invalid_scope
--- init
put_rt(rt => $R{wider}, scope => 'money_in');
--- request eval
::tok(grant_type => 'refresh_token', refresh_token => $::R{wider},
      scope => 'money_out', ::post_creds())
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- error_code: 400
--- response_body eval
::err('invalid_scope', 'scope exceeds the grant')
--- no_error_log
imprest: tokens issued
[error]



=== TEST 6: section 3 malformed scope (double space, leading space, '"', '\'): invalid_scope before the refresh script
--- init
put_rt(rt => $R{malformed});
--- request eval
[map { ::tok(grant_type => 'refresh_token', refresh_token => $::R{malformed},
             scope => $_, ::post_creds()) }
 ('money_in  money_out', ' money_in', 'money_in"', 'money_in\\')]
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- error_code eval
[(400) x 4]
--- response_body eval
[(::err('invalid_scope', 'malformed scope')) x 4]
--- no_error_log
imprest: redis command queued: refresh
[error]



=== TEST 7: AS-RT-3 another client's refresh token: invalid_grant; its owner can still use it
--- init
put_rt(rt => $R{other}, cid => $APP_ID);
--- request eval
[::tok(grant_type => 'refresh_token', refresh_token => $::R{other},
       client_id => $::APP2_ID, client_secret => $::APP2_SECRET),
 ::tok(grant_type => 'refresh_token', refresh_token => $::R{other},
       ::post_creds())]
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- error_code eval
[400, 200]
--- response_body_like eval
[::exact(::err('invalid_grant', 'refresh token issued to another client')),
 $::TOKENS]
--- no_error_log
[error]



=== TEST 8: AS-RT-6 a refresh token past its exp (record still in Redis): invalid_grant
--- init
put_rt(rt => $R{expired}, exp => time() - 1);
--- request eval
::tok(grant_type => 'refresh_token', refresh_token => $::R{expired},
      ::post_creds())
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- error_code: 400
--- response_body eval
::err('invalid_grant', 'refresh token expired')
--- error_log
imprest: redis command queued: refresh
--- no_error_log
imprest: tokens issued
[error]



=== TEST 9: AS-RV-1 a refresh token whose grant was revoked: invalid_grant
--- init
my $gid = put_rt(rt => $R{nogrant});
redis('DEL', "imprest:grant:$gid");
--- request eval
::tok(grant_type => 'refresh_token', refresh_token => $::R{nogrant},
      ::post_creds())
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- error_code: 400
--- response_body eval
::err('invalid_grant', 'grant revoked')
--- no_error_log
imprest: tokens issued
[error]



=== TEST 10: a well-formed refresh token Redis does not know: invalid_grant
--- request eval
::tok(grant_type => 'refresh_token', refresh_token => ::token_new('rt'),
      ::post_creds())
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- error_code: 400
--- response_body eval
::err('invalid_grant', 'unknown refresh token')
--- error_log
imprest: redis command queued: refresh
--- no_error_log
[error]



=== TEST 11: section 3 an access token, a code, a bad checksum, garbage, 10 KB as refresh_token: invalid_grant without the refresh script
--- init
put_rt(rt => $R{at_as_rt});
# the access token is live: only its type must stop it
ctl('token', 'mint', '--token', $AT_TOKEN, '--user', 'alice',
    '--client', $APP_ID, '--scope', 'money_in', '--org', $ORG1);
--- request eval
[map { ::tok(grant_type => 'refresh_token', refresh_token => $_,
             ::post_creds()) }
 ($::AT_TOKEN, ::token_new('ac'),
  substr($::R{at_as_rt}, 0, -1)
  . (substr($::R{at_as_rt}, -1) eq 'A' ? 'B' : 'A'),
  'REFRESH_TOKEN', 'imp_rt_' . ('A' x 10240))]
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- error_code eval
[(400) x 5]
--- response_body eval
[(::err('invalid_grant', 'unknown refresh token')) x 5]
--- error_log
imprest: redis command queued: client
--- no_error_log
imprest: redis command queued: refresh
[error]



=== TEST 12: AS-TOK-7 a repeated refresh_token or scope: invalid_request before Redis
--- request eval
["POST /oauth/token\ngrant_type=refresh_token&refresh_token=$::R{repeat}&refresh_token=$::R{repeat}&client_id=$::APP_ID&client_secret=$::APP_SECRET",
 "POST /oauth/token\ngrant_type=refresh_token&refresh_token=$::R{repeat}&scope=money_in&scope=money_in&client_id=$::APP_ID&client_secret=$::APP_SECRET"]
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- error_code eval
[400, 400]
--- response_body eval
[(::err('invalid_request', 'a parameter is repeated')) x 2]
--- no_error_log
imprest: redis command queued
[error]



=== TEST 13: no refresh_token: invalid_request
--- request eval
::tok(grant_type => 'refresh_token', ::post_creds())
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- error_code: 400
--- response_body eval
::err('invalid_request', 'refresh_token is required')
--- no_error_log
imprest: redis command queued: refresh
[error]



=== TEST 14: AS-RT-5 20 simultaneous refreshes with one refresh token: exactly one 200
--- init
put_rt(rt => $R{race});
my @r = http_race(20, method => 'POST', path => '/oauth/token',
    headers => ['Content-Type: application/x-www-form-urlencoded'],
    body => form(grant_type => 'refresh_token', refresh_token => $R{race},
                 post_creds()));
is(scalar(grep { ($_->{status} // '') eq '200' } @r), 1,
   'AS-RT-5: one refresh wins');
# the first loser finds the token used and revokes the grant, which
# takes the spent token's record too: the rest find it unknown
is(scalar(grep { ($_->{status} // '') eq '400'
                 && ($_->{body} eq err('invalid_grant',
                                       'refresh token already used')
                     || $_->{body} eq err('invalid_grant',
                                          'unknown refresh token')) } @r),
   19, 'AS-RT-5: the 19 others get invalid_grant');
my ($won) = grep { ($_->{status} // '') eq '200' } @r;
my ($at) = tokens_of($won->{body} // '');
is(api_get($at)->{status}, 401,
   'AS-RT-5: the reuse revoked the winner\'s tokens as well (AS-RT-2)');
--- request eval
::tok(grant_type => 'refresh_token', refresh_token => $::R{race},
      ::post_creds())
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- error_code: 400
--- response_body eval
::err('invalid_grant', 'unknown refresh token')
--- no_error_log
[error]



=== TEST 15: a public client refreshes with its client_id alone: 200
--- init
put_rt(rt => $R{pub}, cid => $PUB_ID, scope => 'money_in');
--- request eval
::tok(grant_type => 'refresh_token', refresh_token => $::R{pub},
      client_id => $::PUB_ID)
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- error_code: 200
--- response_body_like eval
::tokens_re('money_in')
--- error_log eval
qq{imprest: tokens issued to client "$::PUB_ID"}
--- no_error_log
[error]



=== TEST 16: RFC 6749 6 a confidential client must authenticate to refresh: client_id alone is 401
--- init
put_rt(rt => $R{conf_nosecret});
--- request eval
::tok(grant_type => 'refresh_token', refresh_token => $::R{conf_nosecret},
      client_id => $::APP_ID)
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- error_code: 401
--- response_headers
WWW-Authenticate: Basic realm="imprest"
--- response_body eval
::err('invalid_client', 'unknown client or wrong secret')
--- no_error_log
imprest: redis command queued: refresh
[error]



=== TEST 17: client_secret_basic works for refresh too
--- init
put_rt(rt => $R{repeat});
--- request eval
::tok(grant_type => 'refresh_token', refresh_token => $::R{repeat})
--- more_headers eval
"Content-Type: application/x-www-form-urlencoded\n"
. ::basic_auth($::APP_ID, $::APP_SECRET)
--- error_code: 200
--- response_body_like eval
$::TOKENS
--- no_error_log
[error]



=== TEST 18: Redis down: 503 temporarily_unavailable, no token
--- imprest_redis: 127.0.0.1:$TEST_NGINX_SPARE_PORT retry=10s
--- request eval
::tok(grant_type => 'refresh_token', refresh_token => $::R{down},
      ::post_creds())
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- error_code: 503
--- response_headers
Cache-Control: no-store
Retry-After: 1
--- response_body eval
$::UNAVAILABLE
--- error_log eval
$Imprest::Test::REDIS_DOWN
--- no_error_log
imprest: tokens issued
[alert]



=== TEST 19: R6 the connection closes while the refresh is pending: 503, no token
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
::tok(grant_type => 'refresh_token', refresh_token => $::R{fake_close},
      ::post_creds())
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- error_code: 503
--- response_body eval
$::UNAVAILABLE
--- error_log
imprest: redis command queued: refresh
--- no_error_log
imprest: tokens issued
[alert]



=== TEST 20: R9 a reply shaped like the redemption script's ({1, uid, scope, orgs}) to a refresh: 503, no token
--- before_start
stop_fake();
# the refresh script answers {1, scope, refresh token scope}: four
# elements are no reply of it, and must not be read as "tokens stored"
fake_redis($ENV{TEST_NGINX_FAKE_PORT},
           "*6\r\n:1\r\n" . join('', map { resp_bulk($_) }
               'Books', sha256_hex($APP_SECRET), $APP_URI,
               'money_in money_out', '0'),
           "*4\r\n:1\r\n" . join('', map { resp_bulk($_) }
               'alice', 'money_in money_out', $ORG1));
--- imprest_redis: 127.0.0.1:$TEST_NGINX_FAKE_PORT retry=10s
--- init
ok(wait_log("imprest: redis 127.0.0.1:$ENV{TEST_NGINX_FAKE_PORT} ready", 2),
   'connected to the fake Redis');
--- request eval
::tok(grant_type => 'refresh_token', refresh_token => $::R{long_reply},
      ::post_creds())
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



=== TEST 22: RFC 6749 3.3 a scope is a set: 200 repeats of a token narrow to it once; more than the bound is invalid_scope
--- init
put_rt(rt => $R{dup_scope});
--- request eval
[::tok(grant_type => 'refresh_token', refresh_token => $::R{dup_scope},
       scope => CORE::join(' ', ('money_in') x 227), ::post_creds()),
 ::tok(grant_type => 'refresh_token', refresh_token => $::R{dup_scope},
       scope => CORE::join(' ', ('money_in') x 228), ::post_creds())]
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- error_code eval
[200, 400]
--- response_body_like eval
[::tokens_re('money_in'), ::exact(::err('invalid_scope', 'the scope is too long'))]
--- no_error_log
[error]



=== TEST 23: R9 a refusal whose reason is no code of lib/reasons.lua (unknown number, or a string as before): 503, never an OAuth error made up
--- before_start
stop_fake();
my $client = "*6\r\n:1\r\n" . join('', map { resp_bulk($_) }
    'Books', sha256_hex($APP_SECRET), $APP_URI, 'money_in money_out', '0');
# the first refusal resets the link: the second comes on a new one
fake_redis_conns($ENV{TEST_NGINX_FAKE_PORT},
                 [$client, "*2\r\n:0\r\n:99\r\n"],
                 [$client, "*2\r\n:0\r\n" . resp_bulk('grant revoked')]);
--- imprest_redis: 127.0.0.1:$TEST_NGINX_FAKE_PORT retry=100ms
--- init
ok(wait_log("imprest: redis 127.0.0.1:$ENV{TEST_NGINX_FAKE_PORT} ready", 2),
   'connected to the fake Redis');
after_response(1, sub {
    ok(wait_log('reply does not match the token script', 1, 2),
       'R9: both refusals were taken as foreign replies');
});
--- request eval
[(::tok(grant_type => 'refresh_token', refresh_token => $::R{bad_reason},
        ::post_creds())) x 2]
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- error_code eval
[503, 503]
--- response_body eval
[$::UNAVAILABLE, $::UNAVAILABLE]
--- error_log
reply does not match the token script
--- no_error_log
invalid_grant
[alert]

