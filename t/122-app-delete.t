# Deleting an app ends its tokens at once (issue 7, defect 5): after
# "imprestctl app delete" the gate refuses the app's access tokens on the
# very next request, introspection says {"active":false} for its access
# and refresh tokens, and the token endpoint issues it nothing more.
# Tokens of other apps, and operator tokens minted for a client id that
# names no app, are not touched (README, "Deleting an app").
#
# Tokens come from a real code redemption (put_code(), then
# /oauth/token), or are minted with imprestctl for $APP_ID; checks that
# need the issued tokens, or that delete the app between two requests of
# a block, run in after_response() hooks (see t/110-token.t).
# "--- ... eval" sections run in Test::Base's package: "$::NAME" and
# "::sub()" reach this file's variables and helpers.
use Test::Nginx::Socket 'no_plan';
use Imprest::Test;
use Digest::SHA qw(sha256_hex);
use Hash::Util ();

our %C = map { $_ => token_new('ac') } qw(flow race);
our %A = map { $_ => token_new('at') } qw(
    gate orgs intro other op
);
Hash::Util::lock_keys(%C);
Hash::Util::lock_keys(%A);

our $EXP = time() + 3600;

our $INVALID_TOKEN = '{"error":"invalid_token","error_description":'
                     . "\"unknown, expired or revoked token\"}\n";
our $INACTIVE = qq({"active":false}\n);
our $WWW_INVALID = 'WWW-Authenticate: Bearer realm="imprest", '
                   . 'error="invalid_token", '
                   . 'error_description="unknown, expired or revoked token"';

sub err {
    my ($e, $d) = @_;
    return qq({"error":"$e","error_description":"$d"}\n);
}

sub post_creds { return (client_id => $APP_ID, client_secret => $APP_SECRET) }

sub rs_creds { return (client_id => $RS_ID, client_secret => $RS_SECRET) }

sub tok { return "POST /oauth/token\n" . form(@_) }

sub introspect { return "POST /oauth/introspect\n" . form(@_) }

sub api { return "GET /api/v1/invoices" }

sub api_headers {
    return "Authorization: Bearer $_[0]\nX-Organization-Id: $ORG1";
}

sub ct { return "Content-Type: application/x-www-form-urlencoded" }

sub upstream_body {
    my ($cid) = @_;
    return "uid=alice cid=$cid org=$ORG1 iorg=$ORG1 scope=money_in money_out "
           . "auth= xauth= uri=/api/v1/invoices\n";
}

# an access token for alice in $ORG1, held by $cid (an app or not)
sub mint_at {
    my ($at, $cid) = @_;
    ctl('token', 'mint', '--token', $at, '--user', 'alice', '--client', $cid,
        '--scope', 'money_in money_out', '--org', $ORG1, '--exp', $EXP,
        '--ttl', 3600);
}

sub app_delete {
    my ($cid) = @_;
    my $r = ctl('app', 'delete', $cid);
    Test::More::ok(ref $r eq 'HASH' && !exists $r->{error},
                   "imprestctl app delete $cid");
}

sub introspected {
    my ($token) = @_;
    return http_post('/oauth/introspect', [token => $token, rs_creds()]);
}

no_shuffle();
use_as_config();
use_fault_hooks();
run_tests();

__DATA__

=== TEST 1: tokens from a code redemption die with their app: gate 401, introspection inactive, refresh refused, /me/organizations 401
--- init
seed_as();
put_code(code => $C{flow});
after_response(0, sub {
    my ($at, $rt) = tokens_of($_[1]);
    is(api_get($at)->{status}, 200, 'before: the access token works');
    like(introspected($at)->{body}, qr/^\{"active":true,/,
         'before: the access token is active');
    like(introspected($rt)->{body}, qr/^\{"active":true,/,
         'before: the refresh token is active');

    app_delete($APP_ID);

    my $r = api_get($at);
    is($r->{status}, 401, 'after: the gate refuses the access token');
    is($r->{body}, $INVALID_TOKEN, 'after: as invalid_token');
    like($r->{headers}{'www-authenticate'} // '', qr/error="invalid_token"/,
         'after: with the RFC 6750 challenge');
    $r = http_get('/api/v1/me/organizations',
                  headers => ["Authorization: Bearer $at"]);
    is($r->{status}, 401, 'after: /api/v1/me/organizations refuses it too');
    is(introspected($at)->{body}, $INACTIVE,
       'after: the access token introspects as inactive');
    is(introspected($rt)->{body}, $INACTIVE,
       'after: the refresh token introspects as inactive');
    # RFC 6749 5.2: the app itself no longer exists, so its authentication
    # fails before the refresh token is looked at
    $r = http_post('/oauth/token', [grant_type => 'refresh_token',
                                    refresh_token => $rt, post_creds()]);
    is($r->{status}, 401, 'after: the refresh is refused');
    is($r->{body}, err('invalid_client', 'unknown client or wrong secret'),
       'after: as invalid_client, nothing issued');
});
--- request eval
::tok(grant_type => 'authorization_code', code => $::C{flow},
      redirect_uri => $::APP_URI, ::post_creds())
--- more_headers eval
::ct()
--- error_code: 200
--- response_body_like eval
qr/\A\{"access_token":"imp_at_[A-Za-z0-9_-]{49}","refresh_token":"imp_rt_/
--- no_error_log
[error]
[alert]
[crit]



=== TEST 2: an access token minted for an app: 200, the app is deleted, 401 invalid_token on the very next request
--- init
seed_as();
mint_at($A{gate}, $APP_ID);
after_response(0, sub { app_delete($APP_ID) });
--- request eval
[::api(), ::api()]
--- more_headers eval
[::api_headers($::A{gate}), ::api_headers($::A{gate})]
--- error_code eval
[200, 401]
--- response_headers eval
["", $::WWW_INVALID]
--- response_body eval
[::upstream_body($::APP_ID), $::INVALID_TOKEN]
--- no_error_log
[error]
[alert]
[crit]



=== TEST 3: introspection of a deleted app's access token: active, the app is deleted, exactly {"active":false}
--- init
seed_as();
mint_at($A{intro}, $APP_ID);
after_response(0, sub { app_delete($APP_ID) });
--- request eval
[::introspect(token => $::A{intro}, ::rs_creds()),
 ::introspect(token => $::A{intro}, ::rs_creds())]
--- more_headers eval
[::ct(), ::ct()]
--- error_code eval
[200, 200]
--- response_body_like eval
[qr/\A\{"active":true,"scope":"money_in money_out","client_id":"\Q$::APP_ID\E",/,
 qr/\A\Q$::INACTIVE\E\z/]
--- no_error_log
[error]
[alert]
[crit]



=== TEST 4: the organizations endpoint refuses a deleted app's token
--- init
seed_as();
mint_at($A{orgs}, $APP_ID);
after_response(0, sub { app_delete($APP_ID) });
--- request eval
["GET /api/v1/me/organizations", "GET /api/v1/me/organizations"]
--- more_headers eval
["Authorization: Bearer $::A{orgs}", "Authorization: Bearer $::A{orgs}"]
--- error_code eval
[200, 401]
--- response_body_like eval
[qr/\Q$::ORG1\E/, qr/\A\Q$::INVALID_TOKEN\E\z/]
--- no_error_log
[error]
[alert]
[crit]



=== TEST 5: deleting one app leaves other apps' tokens and operator tokens (a client id that names no app) working
--- init
seed_as();
mint_at($A{other}, $APP2_ID);
mint_at($A{op}, 'batch-job');
after_response(0, sub { app_delete($APP_ID) });
--- request eval
[::api(), ::api(), ::api()]
--- more_headers eval
[::api_headers($::A{other}), ::api_headers($::A{other}),
 ::api_headers($::A{op})]
--- error_code eval
[200, 200, 200]
--- response_body eval
[::upstream_body($::APP2_ID), ::upstream_body($::APP2_ID),
 ::upstream_body('batch-job')]
--- no_error_log
[error]
[alert]
[crit]



=== TEST 6: an app deleted between its authentication and the script (a race): the refresh and redemption scripts refuse its tokens themselves
--- init
seed_as();
put_code(code => $C{flow});
put_code(code => $C{race});
after_response(0, sub {
    my ($at, $rt) = tokens_of($_[1]);
    app_delete($APP_ID);
    # the functions nginx loaded, called as the token endpoint would once
    # the app's authentication had passed
    my $list = redis('FUNCTION', 'LIST');
    my ($refresh) = $list =~ /\b(imprest_refresh_[0-9a-f]{12})\b/;
    my ($redeem) = $list =~ /\b(imprest_redeem_[0-9a-f]{12})\b/;
    ok($refresh && $redeem, 'the functions are loaded');
    my $now = time();
    my $out = redis('FCALL', $refresh, 3, 'imprest:rt:' . sha256_hex($rt),
                    'imprest:at:' . sha256_hex(token_new('at')),
                    'imprest:rt:' . sha256_hex(token_new('rt')),
                    'imprest:', $APP_ID, '', $now, 7200, 86400, 86400);
    is($out, "0\n4\n", 'the refresh script refuses the token: client_deleted (4)');
    $out = redis('FCALL', $redeem, 4, 'imprest:ac:' . sha256_hex($C{race}),
                 'imprest:at:' . sha256_hex(token_new('at')),
                 'imprest:rt:' . sha256_hex(token_new('rt')),
                 'imprest:grant:g' . $now, 'imprest:', $APP_ID, $APP_URI,
                 '1', '', $now, 7200, 86400, '', 'g' . $now, 86400);
    is($out, "0\n4\n", 'the redemption script refuses the code: client_deleted (4)');
});
--- request eval
::tok(grant_type => 'authorization_code', code => $::C{flow},
      redirect_uri => $::APP_URI, ::post_creds())
--- more_headers eval
::ct()
--- error_code: 200
--- response_body_like eval
qr/\A\{"access_token":"imp_at_/
--- no_error_log
[error]
[alert]
[crit]
