# A grant's bounds (issue 7, defect 6): its set in Redis holds only its
# live tokens (the refresh token, the access token issued with it and the
# one before), so revoking it costs a bounded number of DELs however often
# it was refreshed; and it ends imprest_grant_lifetime after the code was
# redeemed: refresh tokens, their TTLs and the grant's set never reach
# past that, and a refresh after it is invalid_grant.
#
# Grants start with a real code redemption (put_code(), then /oauth/token)
# and are refreshed from after_response() hooks (see t/110-token.t).  The
# DELs a request costs are counted with Redis's INFO commandstats, which
# counts the commands a script runs too.  "--- ... eval" sections run in
# Test::Base's package: "$::NAME" and "::sub()" reach this file's
# variables and helpers.
use Test::Nginx::Socket 'no_plan';
use Imprest::Test;
use Digest::SHA qw(sha256_hex);
use Hash::Util ();

our %C = map { $_ => token_new('ac') } qw(
    set revoke reuse life old expired short
);
Hash::Util::lock_keys(%C);

our $REFRESHES = 10;

our $TOKENS = qr/\A\{"access_token":"imp_at_[A-Za-z0-9_-]{49}","refresh_token":"imp_rt_[A-Za-z0-9_-]{49}","token_type":"Bearer","expires_in":7200,"scope":"money_in money_out"\}\n\z/;

# use_as_config()'s http{} preamble with a grant lifetime
sub lifetime_config {
    return $Imprest::Test::AS_HTTP_CONFIG
           . "    imprest_grant_lifetime $_[0];\n";
}

sub err {
    my ($e, $d) = @_;
    return qq({"error":"$e","error_description":"$d"}\n);
}

sub exact { return qr/\A\Q$_[0]\E\z/ }

sub post_creds { return (client_id => $APP_ID, client_secret => $APP_SECRET) }

sub tok { return "POST /oauth/token\n" . form(@_) }

sub redeem_request {
    return ::tok(grant_type => 'authorization_code', code => $_[0],
                 redirect_uri => $APP_URI, post_creds());
}

sub ct { return "Content-Type: application/x-www-form-urlencoded" }

# redis() with the trailing newline of redis-cli --raw taken off
sub rd {
    my $v = redis(@_);
    $v =~ s/\s+\z//;
    return $v;
}

sub at_key { return 'imprest:at:' . sha256_hex($_[0]) }

sub rt_key { return 'imprest:rt:' . sha256_hex($_[0]) }

sub grant_key { return 'imprest:grant:' . rd('HGET', rt_key($_[0]), 'gid') }

sub refresh {
    my ($rt) = @_;
    return http_post('/oauth/token', [grant_type => 'refresh_token',
                                      refresh_token => $rt, post_creds()]);
}

# $n refreshes from ($at, $rt); returns the access tokens (oldest first,
# $at included), the newest refresh token and every refresh token spent
sub refresh_n {
    my ($n, $at, $rt) = @_;
    my (@ats, @spent) = ($at);
    for (1 .. $n) {
        my $r = refresh($rt);
        die "refresh: $r->{status} $r->{body}" unless $r->{status} == 200;
        push @spent, $rt;
        ($at, $rt) = tokens_of($r->{body});
        push @ats, $at;
    }
    return (\@ats, $rt, \@spent);
}

sub members { return sort split /\n/, rd('SMEMBERS', $_[0]) }

sub del_calls {
    my ($calls) = rd('INFO', 'commandstats') =~ /^cmdstat_del:calls=(\d+)/m;
    return $calls // 0;
}

no_shuffle();
use_as_config();
use_fault_hooks();
run_tests();

__DATA__

=== TEST 1: after 10 refreshes the grant's set is its three live tokens: the refresh token, the newest access token and the one before
--- init
seed_as();
put_code(code => $C{set});
after_response(0, sub {
    my ($at, $rt) = tokens_of($_[1]);
    my $g = grant_key($rt);
    is(rd('SCARD', $g), 2, 'a new grant: its access and refresh token');
    my @scard;
    for (1 .. $REFRESHES) {
        my ($ats, $nrt) = refresh_n(1, $at, $rt);
        ($at, $rt) = ($ats->[-1], $nrt);
        push @scard, rd('SCARD', $g);
    }
    is("@scard", join(' ', (3) x $REFRESHES),
       'the set never grows past three keys');
    is_deeply([members($g)],
              [sort(rt_key($rt), at_key($at), rd('HGET', rt_key($rt), 'pat'))],
              'its members: the refresh token, its access token and the one '
              . 'before');
    is(rd('EXISTS', $_), 1, "member $_ is a live record")
        for members($g);
});
--- request eval
::redeem_request($::C{set})
--- more_headers eval
::ct()
--- error_code: 200
--- response_body_like eval
$::TOKENS
--- no_error_log
[error]
[alert]
[crit]



=== TEST 2: a refresh ends the access token before the previous one; the previous one still works (requests in flight)
--- init
seed_as();
put_code(code => $C{set});
after_response(0, sub {
    my ($ats, $rt) = refresh_n(3, tokens_of($_[1]));
    is(api_get($ats->[-1])->{status}, 200, 'the newest access token works');
    is(api_get($ats->[-2])->{status}, 200, 'the previous one still works');
    is(api_get($ats->[-3])->{status}, 401, 'the one before it is ended');
    is(rd('EXISTS', at_key($ats->[$_])), 0,
       "access token $_ of 4 is deleted") for 0 .. 1;
});
--- request eval
::redeem_request($::C{set})
--- more_headers eval
::ct()
--- error_code: 200
--- response_body_like eval
$::TOKENS
--- no_error_log
[error]
[alert]
[crit]



=== TEST 3: revoking a grant refreshed 10 times costs at most 6 DELs (3 members, the set, its info record, the token's record) and ends all its tokens
--- init
seed_as();
put_code(code => $C{revoke});
after_response(0, sub {
    my ($ats, $rt) = refresh_n($REFRESHES, tokens_of($_[1]));
    my $g = grant_key($rt);
    rd('CONFIG', 'RESETSTAT');
    my $r = http_post('/oauth/revoke', [token => $rt, post_creds()]);
    my $dels = del_calls();
    is($r->{status}, 200, 'revoked');
    ok($dels >= 1 && $dels <= 6, "the revocation ran $dels DELs (at most 6)");
    is(rd('EXISTS', $g), 0, 'the grant is gone');
    is(api_get($ats->[-1])->{status}, 401, 'its newest access token is dead');
    is(api_get($ats->[-2])->{status}, 401, 'and the previous one');
    is(refresh($rt)->{status}, 400, 'its refresh token is dead');
});
--- request eval
::redeem_request($::C{revoke})
--- more_headers eval
::ct()
--- error_code: 200
--- response_body_like eval
$::TOKENS
--- no_error_log
[error]
[alert]
[crit]



=== TEST 4: AS-RT-2 reuse of a rotated refresh token after 10 refreshes: invalid_grant, at most 6 DELs, the grant's tokens end
--- init
seed_as();
put_code(code => $C{reuse});
after_response(0, sub {
    my ($ats, $rt, $spent) = refresh_n($REFRESHES, tokens_of($_[1]));
    rd('CONFIG', 'RESETSTAT');
    my $r = refresh($spent->[0]);
    my $dels = del_calls();
    is($r->{body}, err('invalid_grant', 'refresh token already used'),
       'the first refresh token, reused: invalid_grant');
    ok($dels >= 1 && $dels <= 6, "reuse detection ran $dels DELs (at most 6)");
    is(api_get($ats->[-1])->{status}, 401, 'the newest access token is dead');
    is(api_get($ats->[-2])->{status}, 401, 'and the previous one');
    is(refresh($rt)->{body}, err('invalid_grant', 'unknown refresh token'),
       'the newest refresh token is dead');
});
--- request eval
::redeem_request($::C{reuse})
--- more_headers eval
::ct()
--- error_code: 200
--- response_body_like eval
$::TOKENS
--- no_error_log
[error]
[alert]
[crit]



=== TEST 5: imprest_grant_lifetime 100s bounds the refresh tokens, their TTLs, their "used" markers and the grant's set, before and after a refresh
--- http_config eval
::lifetime_config('100s')
--- init
seed_as();
put_code(code => $C{life});
after_response(0, sub {
    my ($at, $rt) = tokens_of($_[1]);
    my $g = grant_key($rt);
    my $end = rd('HGET', rt_key($rt), 'gexp');
    ok($end > time() + 90 && $end <= time() + 100,
       "the grant ends 100s after the redemption ($end)");
    ok(rd('TTL', rt_key($rt)) <= 100, 'the refresh token TTL: at most 100s');
    ok(rd('HGET', rt_key($rt), 'exp') <= $end, 'its exp: not past the end');
    ok(rd('TTL', $g) <= 100, 'the grant TTL: at most 100s');
    my ($ats, $nrt) = refresh_n(1, $at, $rt);
    is(rd('HGET', rt_key($nrt), 'gexp'), $end,
       'a refresh keeps the end of the grant');
    ok(rd('TTL', rt_key($nrt)) <= $end - time() + 1,
       'the new refresh token TTL does not reach past it');
    ok(rd('HGET', rt_key($nrt), 'exp') <= $end,
       'nor does its exp');
    ok(rd('TTL', rt_key($rt)) <= $end - time() + 1,
       'nor the spent token\'s "used" marker');
    ok(rd('TTL', $g) <= $end - time() + 1, 'nor the grant\'s set');
    my $i = http_post('/oauth/introspect', [token => $nrt,
                                            client_id => $RS_ID,
                                            client_secret => $RS_SECRET]);
    my ($exp) = $i->{body} =~ /"exp":(\d+)/;
    ok(defined $exp && $exp <= $end, 'introspection\'s exp: not past it');
});
--- request eval
::redeem_request($::C{life})
--- more_headers eval
::ct()
--- error_code: 200
--- response_body_like eval
$::TOKENS
--- no_error_log
[error]
[alert]
[crit]



=== TEST 6: a grant redeemed long ago (its end 50s away): a refresh issues a refresh token that lives 50s, not the 30d of imprest_refresh_token_ttl
--- init
seed_as();
put_code(code => $C{old});
after_response(0, sub {
    my ($at, $rt) = tokens_of($_[1]);
    my $end = time() + 50;
    rd('HSET', rt_key($rt), 'gexp', $end);
    my ($ats, $nrt) = refresh_n(1, $at, $rt);
    my $ttl = rd('TTL', rt_key($nrt));
    ok($ttl > 0 && $ttl <= 50,
       "the new refresh token TTL is $ttl (at most 50)");
    ok(rd('HGET', rt_key($nrt), 'exp') <= $end, 'its exp: not past the end');
    $ttl = rd('TTL', grant_key($nrt));
    ok($ttl > 0 && $ttl <= 50, "the grant's TTL is $ttl (at most 50)");
});
--- request eval
::redeem_request($::C{old})
--- more_headers eval
::ct()
--- error_code: 200
--- response_body_like eval
$::TOKENS
--- no_error_log
[error]
[alert]
[crit]



=== TEST 7: AS-RT-6 a refresh after the grant's end (record still alive): invalid_grant "grant expired", nothing issued
--- init
seed_as();
put_code(code => $C{expired});
after_response(0, sub {
    my ($at, $rt) = tokens_of($_[1]);
    rd('HSET', rt_key($rt), 'gexp', time() - 1);
    my $r = refresh($rt);
    is($r->{status}, 400, 'refused');
    is($r->{body}, err('invalid_grant', 'grant expired'),
       'as invalid_grant: the grant expired');
    is(rd('HGET', rt_key($rt), 'used'), '', 'the token is not spent');
});
--- request eval
::redeem_request($::C{expired})
--- more_headers eval
::ct()
--- error_code: 200
--- response_body_like eval
$::TOKENS
--- no_error_log
[error]
[alert]
[crit]



=== TEST 8: imprest_grant_lifetime 2s: after 3 seconds the refresh token is refused with invalid_grant
--- http_config eval
::lifetime_config('2s')
--- init
seed_as();
put_code(code => $C{short});
after_response(0, sub {
    my ($at, $rt) = tokens_of($_[1]);
    ok(rd('TTL', rt_key($rt)) <= 2, 'the refresh token lives 2s at most');
    sleep 3;
    my $r = refresh($rt);
    is($r->{status}, 400, 'refused after the grant\'s end');
    like($r->{body}, qr/\A\{"error":"invalid_grant",/, 'as invalid_grant');
});
--- request eval
::redeem_request($::C{short})
--- more_headers eval
::ct()
--- error_code: 200
--- response_body_like eval
$::TOKENS
--- no_error_log
[error]
[alert]
[crit]



=== TEST 9: imprest_grant_lifetime 0 is refused at configuration time
--- http_config eval
::lifetime_config('0')
--- config
    location = /oauth/token { imprest_token; }
--- must_die
--- error_log eval
qr/\[emerg\] .*imprest_grant_lifetime must be at least 1s/



=== TEST 10: imprest_grant_lifetime takes nginx time syntax only
--- http_config eval
::lifetime_config('thirty')
--- config
    location = /oauth/token { imprest_token; }
--- must_die
--- error_log eval
qr/\[emerg\] .*"imprest_grant_lifetime" directive invalid value/
