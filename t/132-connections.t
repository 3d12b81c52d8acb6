# Connected apps (issue 9): a user sees which apps hold access to which of
# their organizations and ends it, from one organization or all; an
# organization's admin sees and ends every app connected to it by anyone;
# imprest_consent_role admin lets only admins grant an organization.
#
# Grants come from real code redemptions at /oauth/token (grant() below,
# from --- init or after_response() hooks), so the indexes are the ones
# redeem.lua keeps.  The issuer is https (production shape): the CSRF
# cookie is __Host-imprest_csrf and the Origin to send is the issuer's.
use Test::Nginx::Socket 'no_plan';
use Imprest::Test;
use Digest::SHA qw(sha256_hex);

our $ISSUER = 'https://id.imprest.example';
our $BASE = '/account/connections';

our $HTTP = $Imprest::Test::AS_HTTP_CONFIG;
$HTTP =~ s/imprest_issuer [^;]*;/imprest_issuer $ISSUER;/;

our $CONFIG = $Imprest::Test::AS_CONFIG . <<'_EOC_';
    location /account/connections {
        imprest_user $http_x_test_user;
        imprest_connections;
    }
_EOC_

# "--- consent_role: admin" sets imprest_consent_role on /oauth/authorize
add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value(http_config => $HTTP) unless defined $block->http_config;
    my $config = $CONFIG;
    if (defined(my $role = $block->consent_role)) {
        $config =~ s/(imprest_authorize;)/imprest_consent_role $role; $1/;
    }
    if (defined(my $redis = $block->imprest_redis)) {
        my $http = $HTTP;
        $http =~ s/imprest_redis [^;]*;/imprest_redis $redis;/;
        $block->set_value(http_config => $http);
    }
    $block->set_value(config => $config) unless defined $block->config;
    return $block;
});

# A grant for $uid of $orgs (space-separated) to the app: its tokens.
sub grant {
    my (%o) = @_;
    my $code = token_new('ac');
    put_code(code => $code, uid => $o{uid} // 'alice',
             orgs => $o{orgs} // $ORG1, scope => $o{scope} // 'money_in',
             cid => $o{cid} // $APP_ID, redirect_uri => $o{uri} // $APP_URI);
    my $r = http_post('/oauth/token',
                      [grant_type => 'authorization_code', code => $code,
                       redirect_uri => $o{uri} // $APP_URI,
                       client_id => $o{cid} // $APP_ID,
                       client_secret => $o{secret} // $APP_SECRET]);
    die "redemption failed: $r->{status} $r->{body}" unless $r->{status} == 200;
    return tokens_of($r->{body});
}

sub api_in {
    my ($at, $org) = @_;
    return http_get('/api/v1/invoices',
                    headers => ["Authorization: Bearer $at",
                                "X-Organization-Id: $org"])->{status};
}

sub page {
    my ($user, $path, @h) = @_;
    return http_get($BASE . ($path // '/'),
                    headers => ["X-Test-User: $user", @h]);
}

our $CSRF = 'c' x 43;
our $RID = token_new('cr');

# a form POST as the browser sends it: cookie, field, Origin
sub post {
    my ($user, $path, %o) = @_;
    my @h = ("X-Test-User: $user");
    push @h, "Cookie: __Host-imprest_csrf=" . ($o{cookie} // $CSRF)
        unless $o{no_cookie};
    push @h, "Origin: " . ($o{origin} // $ISSUER) unless $o{no_origin};
    my @f = @{ $o{form} // [] };
    unshift @f, csrf => ($o{csrf} // $CSRF) unless $o{no_csrf};
    return http_post($BASE . $path, \@f, @h);
}

sub refresh {
    my ($rt) = @_;
    return http_post('/oauth/token',
                     [grant_type => 'refresh_token', refresh_token => $rt,
                      client_id => $APP_ID, client_secret => $APP_SECRET]);
}

sub grant_orgs {
    my ($uid) = @_;
    my @out;
    for my $gid (sort split /\n/, rd('SMEMBERS',
                                       "imprest:user:$uid:grants")) {
        push @out, rd('HGET', "imprest:grant:$gid:info", 'orgs');
    }
    return join '|', @out;
}

# redis-cli --raw, its answer without the trailing newlines
sub rd { my $v = redis(@_); $v =~ s/\s+\z//; return $v }

no_shuffle();
use_fault_hooks();
run_tests();

__DATA__

=== TEST 1: the user's page lists the app under each granted organization with scopes and since when, escaped, with the pages' headers and a CSRF cookie
--- init
seed_as();
grant(orgs => "$ORG1 $ORG2", scope => 'money_in money_out');
--- request
GET /account/connections/
--- more_headers
X-Test-User: alice
--- error_code: 200
--- response_headers_like
Content-Security-Policy: default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'
X-Frame-Options: DENY
Referrer-Policy: same-origin
Cache-Control: no-store
Set-Cookie: __Host-imprest_csrf=[A-Za-z0-9_-]{43}; Path=/; HttpOnly; SameSite=Strict; Secure
--- response_body_like eval
qr{<h2>Books &quot;R&quot; &lt;Us&gt;</h2>.*<tr data-org="\Q$::ORG1\E"><td>Acme Ltd</td><td><code>money_in money_out</code></td><td>20\d\d-\d\d-\d\d \d\d:\d\d UTC</td>.*<input type="hidden" name="org" value="\Q$::ORG1\E">.*<tr data-org="\Q$::ORG2\E"><td>Beta &quot;Books&quot; &amp; Co</td>.*Disconnect from all organizations}s
--- no_error_log
[error]



=== TEST 2: disconnecting one organization: 303 back, the gate refuses the token there at once, the other still works, a refresh cannot bring it back
--- init
seed_as();
my ($at, $rt) = grant(orgs => "$ORG1 $ORG2");
$main::AT = $at; $main::RT = $rt;
is(api_in($at, $ORG1), 200, 'before: ORG1 works');
is(api_in($at, $ORG2), 200, 'before: ORG2 works');
after_response(0, sub {
    is(api_in($main::AT, $ORG1), 403, 'after: ORG1 refused at once');
    is(api_in($main::AT, $ORG2), 200, 'after: ORG2 still works');
    my $r = refresh($main::RT);
    is($r->{status}, 200, 'the refresh token still refreshes');
    my ($at2) = tokens_of($r->{body});
    is(api_in($at2, $ORG1), 403, 'the refreshed token has no ORG1');
    is(api_in($at2, $ORG2), 200, 'and keeps ORG2');
    is(grant_orgs('alice'), $ORG2, 'the grant now names ORG2 only');
    is(rd('SCARD', "imprest:org:$ORG1:grants"), 0,
       'the grant left the ORG1 index');
    is(rd('SCARD', "imprest:org:$ORG2:grants"), 1,
       'and stays in the ORG2 index');
    my $p = page('alice');
    unlike($p->{body}, qr/data-org="\Q$ORG1\E"/, 'the page no longer lists ORG1');
    like($p->{body}, qr/data-org="\Q$ORG2\E"/, 'but lists ORG2');
});
--- request eval
"POST /account/connections/disconnect\n" . Imprest::Test::form(csrf => $::CSRF, cid => $::APP_ID, org => $::ORG1)
--- more_headers eval
"X-Test-User: alice\nCookie: __Host-imprest_csrf=$::CSRF\nOrigin: $::ISSUER\nContent-Type: application/x-www-form-urlencoded"
--- error_code: 303
--- response_headers
Location: /account/connections/?done=1
--- error_log
disconnected an app (1 grants)



=== TEST 3: disconnecting from all organizations ends the grant: the gate answers 401, the refresh token is invalid_grant, the indexes are empty
--- init
seed_as();
my ($at, $rt) = grant(orgs => "$ORG1 $ORG2");
$main::AT = $at; $main::RT = $rt;
after_response(0, sub {
    is(api_in($main::AT, $ORG1), 401, 'ORG1: 401');
    is(api_in($main::AT, $ORG2), 401, 'ORG2: 401');
    my $r = refresh($main::RT);
    is($r->{status}, 400, 'refresh refused');
    like($r->{body}, qr/"error":"invalid_grant"/, 'as invalid_grant');
    is(rd('SCARD', 'imprest:user:alice:grants'), 0, 'user index empty');
    is(rd('SCARD', "imprest:client:$APP_ID:grants"), 0,
       'client index empty');
    is(rd('SCARD', "imprest:org:$ORG2:grants"), 0, 'org index empty');
    like(page('alice')->{body}, qr/No app is connected to your organizations/,
         'the page says none');
});
--- request eval
"POST /account/connections/disconnect\n" . Imprest::Test::form(csrf => $::CSRF, cid => $::APP_ID)
--- more_headers eval
"X-Test-User: alice\nCookie: __Host-imprest_csrf=$::CSRF\nOrigin: $::ISSUER\nContent-Type: application/x-www-form-urlencoded"
--- error_code: 303



=== TEST 4: CSRF: no field, another token, no cookie, a foreign origin, a "null" origin: 403 each, nothing ended
--- init
seed_as();
my ($at) = grant(orgs => "$ORG1");
$main::AT = $at;
after_response(0, sub {
    my @f = (form => [cid => $APP_ID, org => $ORG1]);
    my %cases = (
        'no field'       => { @f, no_csrf => 1 },
        'another token'  => { @f, csrf => 'd' x 43 },
        'short token'    => { @f, csrf => 'c' x 42, cookie => 'c' x 42 },
        'no cookie'      => { @f, no_cookie => 1 },
        'foreign origin' => { @f, origin => 'https://evil.example' },
        'http origin'    => { @f, origin => 'http://id.imprest.example' },
        'null origin'    => { @f, origin => 'null' },
    );
    for my $case (sort keys %cases) {
        my $r = post('alice', '/disconnect', %{ $cases{$case} });
        is($r->{status}, 403, "$case: 403");
        like($r->{body}, qr/This form was not sent from this site/,
             "$case: the CSRF page");
    }
    is(api_in($main::AT, $ORG1), 200, 'the token still works');
    my $r = post('alice', '/disconnect', @f, no_origin => 1);
    is($r->{status}, 303, 'no Origin header but the token: accepted');
    is(api_in($main::AT, $ORG1), 401, 'and then it was ended');
});
--- request
GET /account/connections
--- more_headers
X-Test-User: alice
--- error_code: 200



=== TEST 5: an admin sees every app connected to the organization by anyone, and disconnects it for all of them
--- init
seed_as();
redis('HSET', 'imprest:user:bob:roles', $ORG1, 'admin');
my ($at) = grant(uid => 'alice', orgs => "$ORG1 $ORG2");
my ($bt) = grant(uid => 'bob', orgs => "$ORG1 $ORG3");
$main::AT = $at; $main::BT = $bt;
after_response(0, sub {
    my $r = post('bob', "/org/$ORG1/disconnect", form => [cid => $APP_ID]);
    is($r->{status}, 303, 'the admin disconnects the app');
    is($r->{headers}{location}, "$BASE/org/$ORG1?done=1", 'back to the view');
    is(api_in($main::AT, $ORG1), 403, "alice's token: ORG1 refused");
    is(api_in($main::AT, $ORG2), 200, "alice's token: ORG2 still works");
    is(api_in($main::BT, $ORG1), 403, "bob's own token: ORG1 refused");
    is(api_in($main::BT, $ORG3), 200, "bob's token: ORG3 still works");
    my $view = page('bob', "/org/$ORG1")->{body};
    like($view, qr/No app is connected to this organization/,
         'the view is empty');
    like($view, qr{Organization <b>Acme Ltd</b>},
         'and still names the organization');
});
--- request eval
"GET /account/connections/org/$::ORG1"
--- more_headers
X-Test-User: bob
--- error_code: 200
--- response_body_like eval
qr{Acme Ltd</b> <code>\Q$::ORG1\E</code>.*<h2>Books &quot;R&quot; &lt;Us&gt;</h2>.*<tr><td>alice</td><td><code>money_in</code></td>.*<tr><td>bob</td>.*action="/account/connections/org/\Q$::ORG1\E/disconnect"}s
--- response_body_unlike eval
qr{\Q$::ORG2\E|\Q$::ORG3\E}



=== TEST 6: a member who is not an admin cannot see or end an organization's connections: 403, nothing changed
--- init
seed_as();
my ($at) = grant(uid => 'alice', orgs => "$ORG1");
$main::AT = $at;
after_response(0, sub {
    my $r = post('alice', "/org/$ORG1/disconnect", form => [cid => $APP_ID]);
    is($r->{status}, 403, 'POST: 403');
    is(api_in($main::AT, $ORG1), 200, 'the token still works');
    redis('HSET', 'imprest:user:alice:roles', $ORG1, 'admin');
    redis('SREM', 'imprest:user:alice:orgs', $ORG1);
    $r = post('alice', "/org/$ORG1/disconnect", form => [cid => $APP_ID]);
    is($r->{status}, 403, 'an admin role without the membership: 403');
});
--- request eval
"GET /account/connections/org/$::ORG1"
--- more_headers
X-Test-User: alice
--- error_code: 403
--- response_body_like eval
qr/Only an admin of this organization/



=== TEST 7: the user page links the admin view of the organizations the user administers, and only those
--- init
seed_as();
redis('HSET', 'imprest:user:alice:roles', $ORG2, 'admin', $ORG1, 'member');
redis('HSET', 'imprest:user:alice:roles', $ORG3, 'admin');
--- request
GET /account/connections/
--- more_headers
X-Test-User: alice
--- response_body_like eval
qr{Organizations you administer</h2>.*<a href="/account/connections/org/\Q$::ORG2\E">Beta &quot;Books&quot; &amp; Co</a></li></ul>}s
--- response_body_unlike eval
qr{/org/(\Q$::ORG1\E|\Q$::ORG3\E)}



=== TEST 8: not signed in: 401; unknown pages 404; bad input 400; other methods 405
--- init
seed_as();
after_response(0, sub {
    is(http_get("$BASE/nope", headers => ['X-Test-User: alice'])->{status},
       404, 'an unknown page: 404');
    is(http_get("$BASE/org/not-a-uuid", headers => ['X-Test-User: alice'])
       ->{status}, 404, 'a bad organization id: 404');
    is(http_get("$BASE/disconnect", headers => ['X-Test-User: alice'])
       ->{status}, 404, 'GET of a form target: 404');
    is(http_get("${BASE}x", headers => ['X-Test-User: alice'])->{status},
       404, 'a path beside the location: 404');
    my $r = post('alice', '/disconnect', form => [org => $ORG1]);
    is($r->{status}, 400, 'no cid: 400');
    $r = post('alice', '/disconnect', form => [cid => $APP_ID, org => 'x']);
    is($r->{status}, 400, 'a bad org: 400');
    $r = post('alice', '/disconnect',
              form => [cid => $APP_ID, org => $ORG1, org => $ORG2]);
    is($r->{status}, 400, 'two orgs: 400');
    $r = http_req(method => 'DELETE', path => "$BASE/",
                  headers => ['X-Test-User: alice']);
    is($r->{status}, 405, 'DELETE: 405');
    is(http_get("$BASE/style.css")->{status}, 200, 'the stylesheet');
    like(http_get("$BASE/style.css")->{headers}{'content-type'}, qr{^text/css},
         'as text/css');
});
--- request
GET /account/connections/
--- error_code: 401
--- response_body_like eval
qr/Please sign in/



=== TEST 9: Redis down: 503 pages, nothing ended
--- imprest_redis: 127.0.0.1:$TEST_NGINX_SPARE_PORT timeout=200ms
--- init
seed_as();
after_response(0, sub {
    my $r = post('alice', '/disconnect', form => [cid => $APP_ID]);
    is($r->{status}, 503, 'a disconnect: 503');
    like($r->{body}, qr/Nothing was changed/, 'saying nothing changed');
});
--- request
GET /account/connections/
--- more_headers
X-Test-User: alice
--- error_code: 503



=== TEST 10: imprest_consent_role admin: organizations the user only belongs to are shown as admins only, not offered, and refused if posted
--- consent_role: admin
--- init
seed_as();
redis('HSET', 'imprest:user:alice:roles', $ORG1, 'admin');
put_consent(rid => $main::RID);
after_response(0, sub {
    my $r = http_post('/oauth/authorize',
                      [request_id => $main::RID, decision => 'approve',
                       org => $ORG2], 'X-Test-User: alice');
    is($r->{status}, 400, 'approving a member-only organization: 400');
    like($r->{body}, qr/each one you are an admin of/, 'saying why');
    is(scalar(grep { length } split /\n/, rd('KEYS', 'imprest:ac:*')), 0,
       'no code stored');
    put_consent(rid => $main::RID);
    $r = http_post('/oauth/authorize',
                   [request_id => $main::RID, decision => 'approve',
                    org => $ORG1], 'X-Test-User: alice');
    is($r->{status}, 303, 'approving the admin organization: 303');
    like($r->{headers}{location}, qr/[?&]code=imp_ac_/, 'with a code');
});
--- request eval
"GET /oauth/authorize?response_type=code&client_id=$::APP_ID&redirect_uri=$::APP_URI&state=s1"
--- more_headers
X-Test-User: alice
--- error_code: 200
--- response_body_like eval
qr{Only an organization's admins can connect applications.*<input type="checkbox" name="org" value="\Q$::ORG1\E" checked> Acme Ltd</label>.*<input type="checkbox" name="org" value="\Q$::ORG2\E" disabled> Beta &quot;Books&quot; &amp; Co <i>admins only</i>}s



=== TEST 11: imprest_consent_role admin, a user who administers none: every organization shown, Approve disabled
--- consent_role: admin
--- init
seed_as();
--- request eval
"GET /oauth/authorize?response_type=code&client_id=$::APP_ID&redirect_uri=$::APP_URI&state=s1"
--- more_headers
X-Test-User: alice
--- error_code: 200
--- response_body_like eval
qr{value="\Q$::ORG1\E" disabled>.*value="\Q$::ORG2\E" disabled>.*value="approve" disabled>Approve}s



=== TEST 12: the default (member): every organization offered as before
--- init
seed_as();
--- request eval
"GET /oauth/authorize?response_type=code&client_id=$::APP_ID&redirect_uri=$::APP_URI&state=s1"
--- more_headers
X-Test-User: alice
--- error_code: 200
--- response_body_unlike
disabled|admins only



=== TEST 13: many grants: 300 grants of two apps over 50 organizations are listed merged, one row per app and organization, earliest first time kept
--- init
seed_as();
my @orgs;
for my $i (1 .. 50) {
    my $o = sprintf('%08x-0000-4000-8000-%012x', $i, $i);
    ctl('org', 'add', $o, '--name', "Org $i");
    ctl(qw(member add alice), $o);
    push @orgs, $o;
}
for my $i (0 .. 299) {
    my $cid = $i % 2 ? $APP_ID : $APP2_ID;
    my $code = token_new('ac');
    put_code(code => $code, cid => $cid, orgs => $orgs[$i % 50] . ' ' . $orgs[($i + 7) % 50],
             scope => 'money_in',
             redirect_uri => $i % 2 ? $APP_URI : 'https://two.example/a');
    my $r = http_post('/oauth/token',
        [grant_type => 'authorization_code', code => $code,
         redirect_uri => $i % 2 ? $APP_URI : 'https://two.example/a',
         client_id => $cid,
         client_secret => $i % 2 ? $APP_SECRET : $APP2_SECRET]);
    die "redeem: $r->{body}" unless $r->{status} == 200;
}
--- request
GET /account/connections/
--- more_headers
X-Test-User: alice
--- error_code: 200
--- response_body_like eval
qr{\A(?=(?:.*?<tr data-org=){100}(?!.*<tr data-org=)).*<h2>Books &quot;R&quot; &lt;Us&gt;</h2>.*<h2>Two Ways</h2>}s



=== TEST 14: grants that expired leave the indexes when listed; a deleted app's grants are not listed
--- init
seed_as();
grant(orgs => $ORG1);
grant(orgs => $ORG2, cid => $APP2_ID, secret => $APP2_SECRET, uri => 'https://two.example/a');
my @g = split /\n/, rd('SMEMBERS', 'imprest:user:alice:grants');
# one grant's records expire (its info is what the index is checked against)
for my $gid (@g) {
    if (rd('HGET', "imprest:grant:$gid:info", 'cid') eq $APP_ID) {
        redis('DEL', "imprest:grant:$gid:info", "imprest:grant:$gid");
    }
}
ctl('app', 'delete', $APP2_ID);
after_response(0, sub {
    is(rd('SCARD', 'imprest:user:alice:grants'), 1,
       'the expired grant left the user index');
});
--- request
GET /account/connections/
--- more_headers
X-Test-User: alice
--- error_code: 200
--- response_body_like eval
qr/No app is connected/
