# The developer portal (imprest_portal, issue 9): My Apps, Create App, an
# app's page and edit form, secret rotation, deletion.
#
# Each block's request is one page; what a developer does next (posting
# the forms as a browser would: CSRF cookie and field, the issuer's
# Origin) and what it leaves in Redis is checked in after_response() hooks
# (see t/110-token.t), with the helpers of t/lib/Imprest/Portal.pm.  An
# app created here then runs the developer guide's flow: /oauth/authorize,
# the consent form, /oauth/token with the secret shown once, the gate.
use Test::Nginx::Socket 'no_plan';
use Imprest::Test;
use Imprest::Portal;
use Digest::SHA qw(sha256_hex);
use JSON::PP ();

no_shuffle();
use_portal_config();
use_fault_hooks();

# the keys an app leaves, for "nothing written" checks
# redis() keeps redis-cli's last newline
sub rone { (my $o = redis(@_)) =~ s/\n\z//; return $o }

sub app_keys {
    return grep { length } split /\n/, redis('KEYS', 'imprest:client:app_*');
}

sub nothing_written {
    my ($what) = @_;
    my @k = app_keys();
    is(scalar(@k), 0, "$what: no app written")
        or diag(join ' ', @k);
    is(rone('SCARD', 'imprest:user:alice:clients'), 0,
       "$what: alice owns no app");
}

# the form of Create App with one field replaced (or removed: undef)
sub create_form {
    my (%o) = @_;
    my %f = (name => 'Books', redirect_uris => 'https://app.example/cb',
             scope => ['money_in'], type => 'confidential', %o);
    my @pairs;
    for my $k (qw(name redirect_uris scope type)) {
        next unless defined $f{$k};
        push @pairs, map { ($k => $_) } ref $f{$k} ? @{ $f{$k} } : ($f{$k});
    }
    return \@pairs;
}

sub gate {
    my ($at) = @_;
    return http_get('/api/v1/invoices',
                    headers => ["Authorization: Bearer $at",
                                "X-Organization-Id: $ORG1"]);
}

run_tests();

__DATA__

=== TEST 1: signed out: the portal asks to sign in; the stylesheet and script need no sign-in
--- init
seed();
after_response(0, sub {
    my $r = http_get('/developer/style.css');
    is($r->{status}, 200, 'style.css without sign-in');
    is($r->{headers}{'content-type'}, 'text/css; charset=utf-8', 'as CSS');
    is($r->{headers}{'x-content-type-options'}, 'nosniff', 'not sniffed');
    like($r->{body}, qr/\.secret\{[^}]*user-select:all/,
         'the secret block is selected by one click');
    $r = http_get('/developer/copy.js');
    is($r->{status}, 200, 'copy.js without sign-in');
    is($r->{headers}{'content-type'}, 'text/javascript; charset=utf-8',
       'as JavaScript');
    $r = http_post('/developer/new', [name => 'x']);
    is($r->{status}, 401, 'a POST signed out: 401');
    nothing_written('signed out');
});
--- request
GET /developer/
--- error_code: 401
--- response_body_like eval
qr{<h1>Sign in required</h1>}
--- no_error_log
[error]



=== TEST 2: My Apps, empty: the security headers and the CSP exactly, never cached, the navigation
--- init
seed();
--- request
GET /developer/
--- more_headers
X-Test-User: alice
--- error_code: 200
--- response_headers eval
["Content-Type: text/html; charset=utf-8",
 "Cache-Control: no-store",
 "X-Frame-Options: DENY",
 "Referrer-Policy: same-origin",
 "X-Content-Type-Options: nosniff",
 "Content-Security-Policy: $::CSP_ASSETS"]
--- response_body_like eval
[qr{<link rel="stylesheet" href="/developer/style.css">},
 qr{<a href="/developer/">My Apps</a><a href="/developer/scopes">Scopes</a>},
 qr{Signed in as <b>alice</b>},
 qr{<h1>My Apps</h1>},
 qr{<a class="button" id="create-app" href="/developer/new">Create App</a>},
 qr{<p id="no-apps">You have no apps yet\.</p>}]
--- no_error_log
[error]



=== TEST 3: the Create App form: its fields, the scope catalogue with descriptions, the CSRF field and cookie
--- init
seed();
--- request
GET /developer/new
--- more_headers
X-Test-User: alice
--- error_code: 200
--- response_headers_like
Set-Cookie: __Host-imprest_csrf=[A-Za-z0-9_-]{43}; Path=/; HttpOnly; SameSite=Strict; Secure
Content-Security-Policy: default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'
--- response_body_like eval
[qr{<form class="card" method="post" id="app-form" action="/developer/new"><input type="hidden" name="csrf" value="[A-Za-z0-9_-]{43}">},
 qr{<input type="text" id="name" name="name" autocomplete="off" value="">},
 qr{<textarea id="redirect_uris" name="redirect_uris" rows="4" spellcheck="false" autocomplete="off">\n</textarea>},
 qr{<input type="checkbox" name="scope" value="money_in" id="scope-money_in"><span><code>money_in</code> Read invoices and incoming payments</span>},
 qr{<input type="checkbox" name="scope" value="contacts" id="scope-contacts"><span><code>contacts</code> Read &lt;contacts&gt; &amp; &quot;addresses&quot;</span>},
 qr{<input type="radio" name="type" value="confidential" id="type-confidential" checked>},
 qr{<input type="radio" name="type" value="public" id="type-public">},
 qr{private-use scheme},
 qr{<button type="submit" id="create">Create App</button>}]
--- no_error_log
[error]



=== TEST 4: Create App, confidential: the secret shown once, only its SHA-256 stored; listed; the secret works at /oauth/token and the token at the gate
--- init
seed();
after_response(0, sub {
    my $s = session('alice');
    my $t0 = time;
    my $c = create_app($s, name => 'My Books App',
                       uris => "https://app.example/cb\r\nhttps://app.example/cb2\r\n",
                       scopes => ['money_in', 'money_out']);
    my $r = $c->{res};
    is($r->{status}, 200, 'created: 200, the secret page');
    is($r->{headers}{'cache-control'}, 'no-store', 'never cached');
    is($r->{headers}{'content-security-policy'}, $CSP_ASSETS, 'the CSP');
    like($c->{cid}, qr/\Aapp_[0-9a-f]{24}\z/, 'client id: app_ and 24 hex');
    like($c->{secret}, qr/\Aimp_cs_/, 'the secret is shown');
    like($r->{body}, qr{<code class="secret" id="secret">\Q$c->{secret}\E</code><button type="button" class="quiet" data-copy="secret" hidden>Copy</button>},
         'in a one-click block with a copy button copy.js shows');
    like($r->{body}, qr{<script src="/developer/copy\.js" defer></script>},
         'the script, from our origin (script-src self)');
    like($r->{body}, qr{shown only this once}, 'said to be shown once');
    my $rec = app_record($c->{cid});
    is($rec->{secret}, sha256_hex($c->{secret}), 'stored: the SHA-256 hex');
    is($rec->{name}, 'My Books App', 'name');
    is($rec->{redirect_uris}, 'https://app.example/cb https://app.example/cb2',
       'redirect URIs, space-separated');
    is($rec->{scope}, 'money_in money_out', 'scope');
    is($rec->{owner}, 'alice', 'owner');
    ok($rec->{created} >= $t0 && $rec->{created} <= time, 'created: now');
    is(rone('SISMEMBER', 'imprest:user:alice:clients', $c->{cid}), 1,
       'in alice\'s apps');
    is(rone('SISMEMBER', 'imprest:clients', $c->{cid}), 1,
       'in the app list');
    my @clear = grep { grep { index($_, $c->{secret}) >= 0 } @{ $_->[3] },
                       $_->[0] } redis_everything();
    is(scalar(@clear), 0, 'the secret is nowhere in Redis in clear');
    ok(index(error_log_text(), $c->{secret}) < 0, 'nor in the log');

    # shown once: the app page and the list never show it
    $r = pget("/developer/apps/$c->{cid}", user => 'alice');
    is($r->{status}, 200, 'the app page');
    ok(index($r->{body}, $c->{secret}) < 0, 'without the secret');
    like($r->{body}, qr{<code id="client_id">$c->{cid}</code>},
         'with the client id');
    $r = pget('/developer/', user => 'alice');
    like($r->{body}, qr{<tr><td><a href="/developer/apps/$c->{cid}">My Books App</a></td><td><code>$c->{cid}</code></td><td>Confidential</td><td class="mono">https://app\.example/cb<br>https://app\.example/cb2<br></td><td>money_in<br>money_out<br></td><td>\d{4}-\d\d-\d\d \d\d:\d\d UTC</td></tr>},
         'My Apps lists it: name, client id, type, URIs, scopes, created');
    ok(index($r->{body}, $c->{secret}) < 0, 'My Apps never shows the secret');

    # the developer guide's flow with the app's credentials
    my $code = authorize_flow(cid => $c->{cid});
    ok($code, 'alice approves the app on the consent page');
    $r = token_exchange(cid => $c->{cid}, secret => $c->{secret},
                        code => $code);
    is($r->{status}, 200, 'the secret works at /oauth/token');
    my ($at) = tokens_of($r->{body});
    is(gate($at)->{status}, 200, 'the token passes the gate');
    like(gate($at)->{body}, qr/cid=$c->{cid} /, 'as the app');
});
--- request
GET /developer/
--- more_headers
X-Test-User: alice
--- error_code: 200
--- no_error_log
[error]



=== TEST 5: Create App, public: no secret stored or shown; PKCE only, and the flow works without a secret
--- init
seed();
after_response(0, sub {
    my $s = session('alice');
    my $c = create_app($s, name => 'Phone', type => 'public',
                       uris => "http://127.0.0.1/cb\ncom.example.books:/cb");
    is($c->{res}{status}, 200, 'created');
    is($c->{secret}, '', 'no secret shown');
    like($c->{res}{body}, qr/A public app has no client secret/, 'said so');
    my $rec = app_record($c->{cid});
    is($rec->{secret}, '', 'stored as public');
    is($rec->{redirect_uris}, 'http://127.0.0.1/cb com.example.books:/cb',
       'loopback http and a private-use scheme (RFC 8252)');
    my $r = pget("/developer/apps/$c->{cid}", user => 'alice');
    like($r->{body}, qr{id="app-type">Public}, 'shown as public');
    unlike($r->{body}, qr{id="rotate"}, 'no rotate button');
    my $v = 'v' x 50;
    my $code = authorize_flow(cid => $c->{cid},
                              redirect_uri => 'http://127.0.0.1/cb',
                              challenge => s256($v));
    ok($code, 'approved with PKCE');
    $r = token_exchange(cid => $c->{cid}, code => $code, verifier => $v,
                        redirect_uri => 'http://127.0.0.1/cb');
    is($r->{status}, 200, 'tokens for the verifier alone');
});
--- request
GET /developer/
--- more_headers
X-Test-User: alice
--- error_code: 200
--- no_error_log
[error]



=== TEST 6: every field's validation: a message next to the field, what was typed kept (escaped), nothing written
--- init
seed();
after_response(0, sub {
    my $s = session('alice');
    my @cases = (
        [name => '', 'name', qr/^Enter the app's name\.$/],
        [name => "  \t ", 'name', qr/^Enter the app's name\.$/],
        [name => 'n' x 101, 'name', qr/at most 100 characters/],
        [name => "a\x01b", 'name', qr/no control characters/],
        [name => "a\x7fb", 'name', qr/no control characters/],
        [name => "a\xc2\x85b", 'name', qr/no control characters/],
        [name => "a\xffb", 'name', qr/no control characters/],
        [name => "\xe0\x80\xafx", 'name', qr/no control characters/],
        [name => ['a', 'b'], 'name', qr/^Send the name once\.$/],
        [redirect_uris => '', 'redirect_uris', qr/^Enter at least one redirect URI\.$/],
        [redirect_uris => "\r\n  \r\n", 'redirect_uris', qr/^Enter at least one redirect URI\.$/],
        [redirect_uris => 'http://app.example/cb', 'redirect_uris',
         qr{^Line 1, <code>http://app\.example/cb</code>: http is allowed only for 127\.0\.0\.1 and \[::1\]$}],
        [redirect_uris => "https://ok.example/cb\nhttps://app.example/cb#frag", 'redirect_uris',
         qr{^Line 2, <code>https://app\.example/cb#frag</code>: fragment$}],
        [redirect_uris => 'https://*.example/cb', 'redirect_uris', qr{^Line 1, .*: wildcard$}],
        [redirect_uris => '/cb', 'redirect_uris', qr{^Line 1, .*: not an absolute URI$}],
        [redirect_uris => 'https://a.example/c b', 'redirect_uris', qr{^Line 1, .*character}],
        [redirect_uris => 'javascript:alert(1)', 'redirect_uris', qr{^Line 1, .*scheme not allowed}],
        [redirect_uris => join("\n", map { "https://app.example/$_" } 1 .. 11),
         'redirect_uris', qr/^Enter at most 10 redirect URIs\.$/],
        [redirect_uris => ['https://a.example/x', 'https://a.example/y'], 'redirect_uris',
         qr/^Send the redirect URIs once\.$/],
        [scope => undef, 'scope', qr/^Choose at least one scope\.$/],
        [scope => [], 'scope', qr/^Choose at least one scope\.$/],
        [scope => ['money_in', 'admin'], 'scope', qr/^Choose scopes from the list only\.$/],
        [type => undef, 'type', qr/^Choose confidential or public\.$/],
        [type => 'secret', 'type', qr/^Choose confidential or public\.$/],
        [type => ['public', 'confidential'], 'type', qr/^Choose confidential or public\.$/],
    );
    for my $case (@cases) {
        my ($k, $v, $field, $want) = @$case;
        my $label = "$k=" . (defined $v ? (ref $v ? "[@$v]" : $v) : 'absent');
        $label =~ s/[^\x20-\x7e]/?/g;
        $label = substr($label, 0, 60);
        my $r = ppost($s, '/developer/new', create_form($k => $v));
        is($r->{status}, 400, "$label: 400");
        like(field_error($r->{body}, $field) // '', $want,
             "$label: the message next to $field");
        for my $other (grep { $_ ne $field } qw(name redirect_uris scope type)) {
            is(field_error($r->{body}, $other), undef,
               "$label: no message on $other");
        }
        my $id = { scope => 'scopes' }->{$field} // $field;
        like($r->{body}, qr{id="$id"}, "$label: the field is there");
        like($r->{body}, qr{aria-invalid="true" aria-describedby="$field-error"},
             "$label: marked invalid")
            if $field eq 'name' || $field eq 'redirect_uris';
    }
    nothing_written('invalid forms');

    # what was typed stays, escaped, on the page of errors
    my $r = ppost($s, '/developer/new',
                  create_form(name => 'Tom "&" <Jerry>',
                              redirect_uris => "https://app.example/cb\r\n"
                                             . "http://x.example/<b>\r\n",
                              scope => ['money_out', 'contacts'],
                              type => 'public'));
    is($r->{status}, 400, 'kept: 400');
    like($r->{body}, qr{id="name" name="name" autocomplete="off" value="Tom &quot;&amp;&quot; &lt;Jerry&gt;">},
         'kept: the name, escaped');
    like($r->{body}, qr{aria-describedby="redirect_uris-error">\nhttps://app\.example/cb\nhttp://x\.example/&lt;b&gt;\n</textarea>},
         'kept: the redirect URIs, line by line, escaped');
    like($r->{body}, qr{value="money_out" id="scope-money_out" checked>}, 'kept: money_out');
    like($r->{body}, qr{value="contacts" id="scope-contacts" checked>}, 'kept: contacts');
    like($r->{body}, qr{value="money_in" id="scope-money_in">}, 'kept: money_in not ticked');
    like($r->{body}, qr{value="public" id="type-public" checked>}, 'kept: public');
    like($r->{body}, qr{value="confidential" id="type-confidential">}, 'kept: not confidential');
    unlike($r->{body}, qr{<Jerry>|/<b>}, 'nothing typed unescaped');
    like($r->{body}, qr{<input type="hidden" name="csrf" value="$s->{csrf}">},
         'the form keeps the CSRF token');
    nothing_written('kept');
});
--- request
GET /developer/new
--- more_headers
X-Test-User: alice
--- error_code: 200
--- no_error_log
[error]



=== TEST 7: escaping: a name with markup, quotes and bidi controls, on every page that shows it
--- init
seed();
after_response(0, sub {
    my $s = session('alice');
    my $name = qq{<script>alert(1)</script> "q" 'a' & \xe2\x80\xaeevil\xe2\x80\xac};
    my $c = create_app($s, name => $name);
    is($c->{res}{status}, 200, 'created (bidi controls are text, not control characters)');
    is(app_record($c->{cid})->{name}, $name, 'stored as typed');
    my $want = qq{&lt;script&gt;alert(1)&lt;/script&gt; &quot;q&quot; &#39;a&#39; &amp; \xef\xbf\xbdevil\xef\xbf\xbd};
    for my $page ("/developer/", "/developer/apps/$c->{cid}",
                  "/developer/apps/$c->{cid}/delete")
    {
        my $r = pget($page, user => 'alice');
        ok(index($r->{body}, $want) >= 0, "$page: escaped, bidi as U+FFFD");
        unlike($r->{body}, qr{<script>alert|\xe2\x80\xae}, "$page: nothing raw");
    }
    ok(index($c->{res}{body}, $want) >= 0, 'the secret page: escaped');
    my $code = authorize_flow(cid => $c->{cid});
    ok($code, 'the consent page works for it');
});
--- request
GET /developer/
--- more_headers
X-Test-User: alice
--- error_code: 200
--- no_error_log
[error]



=== TEST 8: CSRF: no field, a wrong one, no cookie, a foreign or "null" Origin: 403 on every form, nothing written
--- init
seed();
after_response(0, sub {
    my $s = session('alice');
    my $c = create_app($s, name => 'Keep');
    my $before = app_record($c->{cid});
    my @refused = (
        ['no field', csrf => undef],
        ['wrong field', csrf => 'A' x 43],
        ['short field', csrf => 'A'],
        ['no cookie', cookie => 0],
        ['foreign origin', origin => 'https://evil.example'],
        ['null origin', origin => 'null'],
        ['http origin', origin => 'http://as.example'],
    );
    my $t = 0;
    for my $case (@refused) {
        my ($what, %o) = @$case;
        for my $form (['/developer/new', create_form(name => 'Evil')],
                      ["/developer/apps/$c->{cid}",
                       [name => 'Evil', redirect_uris => 'https://evil.example/cb',
                        scope => 'money_out']],
                      ["/developer/apps/$c->{cid}/rotate", []],
                      ["/developer/apps/$c->{cid}/delete", [confirm => 'yes']])
        {
            my $r = ppost($s, $form->[0], $form->[1], %o);
            is($r->{status}, 403, "$what: $form->[0]: 403");
            like($r->{body}, qr{<h1>Not allowed</h1>}, "$what: the page says so");
        }
    }
    is_deeply(app_record($c->{cid}), $before, 'the app is unchanged');
    is(scalar(app_keys()), 1, 'no app created');
    # the same with everything right works: the test could fail
    my $r = ppost($s, "/developer/apps/$c->{cid}",
                  [name => 'Changed', redirect_uris => 'https://app.example/cb',
                   scope => 'money_in']);
    is($r->{status}, 303, 'a proper post is accepted');
    # no Origin at all (an old browser, curl) with the token is accepted
    $r = ppost($s, "/developer/apps/$c->{cid}",
               [name => 'Changed 2', redirect_uris => 'https://app.example/cb',
                scope => 'money_in'], origin => undef);
    is($r->{status}, 303, 'no Origin, right token: accepted');
});
--- request
GET /developer/new
--- more_headers
X-Test-User: alice
--- error_code: 200



=== TEST 9: owner isolation: another user's app is a 404 everywhere, as an unknown one, and nothing changes
--- init
seed();
after_response(0, sub {
    my $s = session('alice');
    my $c = create_app($s, name => 'Alice App');
    my $before = app_record($c->{cid});
    my $b = session('bob');
    my $unknown = 'app_' . ('0' x 24);
    for my $cid ($c->{cid}, $unknown) {
        my $who = $cid eq $unknown ? 'unknown' : 'alice\'s';
        for my $p ("/developer/apps/$cid", "/developer/apps/$cid/delete") {
            my $r = pget($p, user => 'bob');
            is($r->{status}, 404, "bob GET $who $p: 404");
            unlike($r->{body}, qr/Alice App/, "bob GET $who: no name shown");
        }
        for my $f (["/developer/apps/$cid",
                    [name => 'Bob was here', redirect_uris => 'https://bob.example/cb',
                     scope => 'money_in']],
                   ["/developer/apps/$cid",
                    [name => '', redirect_uris => '', scope => 'money_in']],
                   ["/developer/apps/$cid/rotate", []],
                   ["/developer/apps/$cid/delete", [confirm => 'yes']],
                   ["/developer/apps/$cid/delete", []])
        {
            my $r = ppost($b, $f->[0], $f->[1]);
            is($r->{status}, 404, "bob POST $who $f->[0]: 404");
            like($r->{body}, qr{<h1>Not found</h1>}, "bob POST $who: the 404 page");
        }
    }
    is_deeply(app_record($c->{cid}), $before, 'alice\'s app is unchanged');

    # a page of two forms, first seen without a cookie: one token for both
    my ($cookies, $page) = set_cookies("/developer/apps/$c->{cid}",
                                       user => 'alice');
    is(scalar(@$cookies), 1, 'the app page sets one CSRF cookie');
    my ($token) = ($cookies->[0] // '') =~ /^__Host-imprest_csrf=([^;]+);/;
    my @fields = $page =~ /name="csrf" value="([^"]+)"/g;
    is(scalar(@fields), 2, 'two forms (edit, rotate)');
    is_deeply(\@fields, [$token, $token], 'both carry the cookie\'s token');
    my $r = ppost({ user => 'alice', cookie => "__Host-imprest_csrf=$token",
                    csrf => $token }, "/developer/apps/$c->{cid}/rotate", []);
    is($r->{status}, 200, 'and the second form works');
    $before = app_record($c->{cid});

    $r = pget('/developer/', user => 'bob');
    like($r->{body}, qr/You have no apps yet/, 'bob\'s list is empty');
    $r = pget("/developer/apps/$c->{cid}", user => 'alice');
    is($r->{status}, 200, 'alice still sees it');
});
--- request
GET /developer/
--- more_headers
X-Test-User: bob
--- error_code: 200
--- no_error_log
[error]



=== TEST 10: edit: 303 See Other back to the app (PRG), the change shown and stored; an invalid edit keeps what was typed and changes nothing
--- init
seed();
after_response(0, sub {
    my $s = session('alice');
    my $c = create_app($s, name => 'Before', scopes => ['money_in']);
    my $r = ppost($s, "/developer/apps/$c->{cid}",
                  [name => 'After', redirect_uris => "https://new.example/cb\r\nhttp://[::1]/cb",
                   scope => 'money_out', scope => 'contacts']);
    is($r->{status}, 303, 'edit: 303');
    is($r->{headers}{location}, "/developer/apps/$c->{cid}?saved",
       'to the app page, relative');
    my $rec = app_record($c->{cid});
    is($rec->{name}, 'After', 'stored: name');
    is($rec->{redirect_uris}, 'https://new.example/cb http://[::1]/cb', 'stored: URIs');
    is($rec->{scope}, 'money_out contacts', 'stored: scopes');
    is($rec->{secret}, sha256_hex($c->{secret}), 'the secret is kept');
    $r = pget($r->{headers}{location}, user => 'alice');
    is($r->{status}, 200, 'the page after');
    is(page_notice($r->{body}), 'Changes saved.', 'says saved');
    like($r->{body}, qr{value="After">}, 'the form shows the new name');
    like($r->{body}, qr{>\nhttps://new\.example/cb\nhttp://\[::1\]/cb\n</textarea>},
         'the new URIs, one per line');
    like($r->{body}, qr{id="scope-contacts" checked>}, 'the new scopes ticked');
    like($r->{body}, qr{id="scope-money_in">}, 'the old one not');
    unlike($r->{body}, qr{name="type"}, 'the type is not editable');

    my $before = app_record($c->{cid});
    $r = ppost($s, "/developer/apps/$c->{cid}",
               [name => 'x' x 101, redirect_uris => 'ftp://bad.example/',
                scope => 'money_in']);
    is($r->{status}, 400, 'invalid edit: 400');
    like(field_error($r->{body}, 'name'), qr/100 characters/, 'name message');
    like(field_error($r->{body}, 'redirect_uris'), qr{ftp://bad\.example/},
         'URI message');
    like($r->{body}, qr{value="x{101}">}, 'typed name kept');
    like($r->{body}, qr{>\nftp://bad\.example/\n</textarea>}, 'typed URI kept');
    like($r->{body}, qr{id="scope-money_in" checked>}, 'typed scopes kept');
    like($r->{body}, qr{<td id="app-name">After</td>}, 'the stored app shown too');
    is_deeply(app_record($c->{cid}), $before, 'nothing changed');
});
--- request
GET /developer/
--- more_headers
X-Test-User: alice
--- error_code: 200
--- no_error_log
[error]



=== TEST 11: rotate: a new secret shown once, the old one invalid_client at once, the new one works; a public app has none; GET is 405
--- init
seed();
after_response(0, sub {
    my $s = session('alice');
    my $c = create_app($s, name => 'Rotating');
    my $code = authorize_flow(cid => $c->{cid});
    my $r = token_exchange(cid => $c->{cid}, secret => $c->{secret}, code => $code);
    is($r->{status}, 200, 'before: the first secret works');

    $r = ppost($s, "/developer/apps/$c->{cid}/rotate", []);
    is($r->{status}, 200, 'rotate: 200, the secret page');
    is($r->{headers}{'cache-control'}, 'no-store', 'never cached');
    my ($new) = $r->{body} =~ /id="secret">(imp_cs_[A-Za-z0-9_-]{49})</;
    ok($new && $new ne $c->{secret}, 'a new secret is shown');
    like($r->{body}, qr/The previous secret no longer works/, 'said so');
    is(app_record($c->{cid})->{secret}, sha256_hex($new // ''),
       'stored: the new digest');

    $code = authorize_flow(cid => $c->{cid});
    $r = token_exchange(cid => $c->{cid}, secret => $c->{secret}, code => $code);
    is($r->{status}, 401, 'the old secret: 401 at once');
    like($r->{body}, qr/"error":"invalid_client"/, 'invalid_client');
    $r = token_exchange(cid => $c->{cid}, secret => $new, code => $code);
    is($r->{status}, 200, 'the new secret works (the code was not used up)');

    $r = pget("/developer/apps/$c->{cid}/rotate", user => 'alice');
    is($r->{status}, 405, 'GET rotate: 405');
    is($r->{headers}{allow}, 'POST', 'Allow: POST');

    my $p = create_app($s, name => 'Pub', type => 'public');
    $r = ppost($s, "/developer/apps/$p->{cid}/rotate", []);
    is($r->{status}, 400, 'rotate a public app: 400');
    like($r->{body}, qr/public app: it has no client secret/, 'said why');
    is(app_record($p->{cid})->{secret}, '', 'still public');
});
--- request
GET /developer/
--- more_headers
X-Test-User: alice
--- error_code: 200
--- no_error_log
[error]



=== TEST 12: delete: a confirmation page; without the box nothing happens; with it 303 to My Apps and the app's token stops at the gate at once
--- init
seed();
after_response(0, sub {
    my $s = session('alice');
    my $c = create_app($s, name => 'Doomed');
    my $code = authorize_flow(cid => $c->{cid});
    my ($at) = tokens_of(token_exchange(cid => $c->{cid}, secret => $c->{secret},
                                        code => $code)->{body});
    is(gate($at)->{status}, 200, 'before: the token passes the gate');

    my $r = pget("/developer/apps/$c->{cid}/delete", user => 'alice');
    is($r->{status}, 200, 'the confirmation page');
    like($r->{body}, qr{<form class="card" method="post" id="delete-form" action="/developer/apps/$c->{cid}/delete">},
         'its form');
    like($r->{body}, qr{<input type="checkbox" name="confirm" value="yes" id="confirm">},
         'the confirm box');
    like($r->{body}, qr{<button type="submit" class="danger" id="delete">Delete app</button>},
         'the button');

    $r = ppost($s, "/developer/apps/$c->{cid}/delete", []);
    is($r->{status}, 400, 'without the box: 400');
    like(field_error($r->{body}, 'confirm'), qr/Tick the box/, 'says why');
    is(gate($at)->{status}, 200, 'the token still works');
    is(app_record($c->{cid})->{name}, 'Doomed', 'the app is still there');

    $r = ppost($s, "/developer/apps/$c->{cid}/delete", [confirm => 'yes']);
    is($r->{status}, 303, 'deleted: 303');
    is($r->{headers}{location}, '/developer/?deleted', 'to My Apps');
    $r = gate($at);
    is($r->{status}, 401, 'the token stops at the gate at once');
    is(scalar(keys %{ app_record($c->{cid}) }), 0, 'the record is gone');
    is(rone('SISMEMBER', 'imprest:user:alice:clients', $c->{cid}), 0,
       'out of alice\'s apps');
    is(rone('SISMEMBER', 'imprest:clients', $c->{cid}), 0, 'out of the app list');
    $r = pget('/developer/?deleted', user => 'alice');
    like(page_notice($r->{body}), qr/The app was deleted/, 'My Apps says so');
    like($r->{body}, qr/You have no apps yet/, 'and lists nothing');
    is(pget("/developer/apps/$c->{cid}", user => 'alice')->{status}, 404,
       'its page is gone');
    $r = ppost($s, "/developer/apps/$c->{cid}/delete", [confirm => 'yes']);
    is($r->{status}, 404, 'deleting again: 404');
});
--- request
GET /developer/
--- more_headers
X-Test-User: alice
--- error_code: 200
--- no_error_log
[error]



=== TEST 13: Redis down: 503 pages with Retry-After, nothing written
--- http_config eval
(my $h = $Imprest::Portal::PORTAL_HTTP_CONFIG)
    =~ s/imprest_redis [^;]*;/imprest_redis 127.0.0.1:$ENV{TEST_NGINX_SPARE_PORT} timeout=1s;/;
$h
--- init
seed();
after_response(0, sub {
    my $s = session('alice');
    my $r = ppost($s, '/developer/new', create_form(name => 'Never'));
    is($r->{status}, 503, 'create: 503');
    like($r->{body}, qr/Nothing was changed/, 'says nothing was changed');
    ok(defined $r->{headers}{'retry-after'}, 'with Retry-After');
    my $cid = 'app_' . ('1' x 24);
    for my $p (["/developer/apps/$cid", [name => 'x', redirect_uris => 'https://a.example/cb', scope => 'money_in']],
               ["/developer/apps/$cid/rotate", []],
               ["/developer/apps/$cid/delete", [confirm => 'yes']])
    {
        $r = ppost($s, $p->[0], $p->[1]);
        is($r->{status}, 503, "POST $p->[0]: 503");
    }
    is(pget("/developer/apps/$cid", user => 'alice')->{status}, 503,
       'an app page: 503');
    # validation needs no Redis: errors are still shown
    $r = ppost($s, '/developer/new', create_form(name => ''));
    is($r->{status}, 400, 'an invalid form: 400 without Redis');
    nothing_written('Redis down');
});
--- request
GET /developer/
--- more_headers
X-Test-User: alice
--- error_code: 503
--- response_headers
Retry-After: 1
Content-Type: text/html; charset=utf-8
--- response_body_like eval
qr{<h1>Temporarily unavailable</h1><p>Nothing was changed\.}



=== TEST 14: worst cases: 10 redirect URIs of the maximum length and every scope; 101 fields; a body past the buffer; a 1 MB body
--- init
seed();
after_response(0, sub {
    my $s = session('alice');
    my @uris = map { my $u = "https://app.example/$_/"; $u . ('a' x (2000 - length $u)) } 0 .. 9;
    is(length($uris[9]), 2000, 'a URI of the maximum length');
    my $c = create_app($s, name => 'N' x 100, uris => join("\r\n", @uris),
                       scopes => ['money_in', 'money_out', 'contacts']);
    is($c->{res}{status}, 200, 'created: 10 URIs of 2000 bytes, 100 characters, every scope');
    my $rec = app_record($c->{cid});
    is($rec->{redirect_uris}, join(' ', @uris), 'all ten stored');
    is($rec->{scope}, 'money_in money_out contacts', 'every scope stored');
    my $r = pget("/developer/apps/$c->{cid}", user => 'alice');
    is($r->{status}, 200, 'its page');
    my $code = authorize_flow(cid => $c->{cid}, redirect_uri => $uris[9]);
    ok($code, 'the tenth URI works at /oauth/authorize');

    # 100 characters are characters, not bytes
    my $e = create_app($s, name => "\xc3\xa9\xe2\x82\xac" x 50);
    is($e->{res}{status}, 200, '100 two- and three-byte characters: accepted');
    $r = ppost($s, '/developer/new', create_form(name => ("\xc3\xa9" x 101)));
    like(field_error($r->{body}, 'name') // '', qr/at most 100 characters/,
         '101 two-byte characters: refused');

    my $long = $uris[0] . 'a';
    $r = ppost($s, '/developer/new', create_form(redirect_uris => $long));
    like(field_error($r->{body}, 'redirect_uris'), qr/longer than 2000/,
         '2001 bytes: refused with a message');
    # 100 fields: the form limit; one more is refused as a whole
    my @f = @{ create_form() };
    push @f, map { (pad => $_) } 1 .. (99 - @f / 2);
    $r = ppost($s, '/developer/new', \@f);
    is($r->{status}, 200, '100 fields: accepted');
    push @f, pad => 'x';
    $r = ppost($s, '/developer/new', \@f);
    is($r->{status}, 413, '101 fields: 413');
    like($r->{body}, qr/<h1>Form too large<\/h1>/, 'our page');
    my $n = scalar(app_keys());
    # past client_body_buffer_size: never read from disk
    $r = ppost($s, '/developer/new', create_form(name => 'x' x 200000));
    is($r->{status}, 413, 'a 200 KB body: 413');
    like($r->{body}, qr/<h1>Form too large<\/h1>/, 'our page');
    # past client_max_body_size (1m): nginx refuses before reading it
    $r = ppost($s, '/developer/new', undef, raw => 'name=' . ('x' x (1024 * 1024)));
    is($r->{status}, 413, 'a 1 MB body: 413');
    is(scalar(app_keys()), $n, 'nothing written by the refused bodies');
    $r = ppost($s, '/developer/new', undef, raw => 'name=%ZZ');
    is($r->{status}, 400, 'a malformed body: 400');
    $r = ppost($s, '/developer/new', create_form(), ct => 'text/plain');
    is($r->{status}, 400, 'not a form: 400');
    like($r->{body}, qr/<h1>Invalid form<\/h1>/, 'our page');
});
--- request
GET /developer/
--- more_headers
X-Test-User: alice
--- error_code: 200
--- no_error_log
[alert]



=== TEST 15: methods: 405 with Allow; HEAD; unknown paths are 404 pages
--- init
seed();
after_response(0, sub {
    my $r = http_req(method => 'PUT', path => '/developer/new',
                     headers => ['X-Test-User: alice']);
    is($r->{status}, 405, 'PUT: 405');
    is($r->{headers}{allow}, 'GET, HEAD, POST', 'Allow');
    $r = http_req(method => 'DELETE', path => '/developer/',
                  headers => ['X-Test-User: alice']);
    is($r->{status}, 405, 'DELETE: 405');
    my $s = session('alice');
    $r = ppost($s, '/developer/', []);
    is($r->{status}, 405, 'POST My Apps: 405');
    is($r->{headers}{allow}, 'GET, HEAD', 'Allow: GET, HEAD');
    $r = http_req(method => 'HEAD', path => '/developer/',
                  headers => ['X-Test-User: alice']);
    is($r->{status}, 200, 'HEAD: 200');
    is($r->{body}, '', 'no body');
    for my $p ('/developer/nope', '/developer/apps/', '/developer/apps/app_1',
               '/developer/apps/app_' . ('A' x 24),
               '/developer/apps/app_' . ('0' x 24) . '/x',
               '/developer/apps/app_' . ('0' x 24) . '/',
               '/developer/new/', '/developer/style.css/x')
    {
        $r = pget($p, user => 'alice');
        is($r->{status}, 404, "$p: 404");
        like($r->{body}, qr{<h1>Not found</h1>}, "$p: the 404 page");
        is($r->{headers}{'content-security-policy'}, $CSP_ASSETS, "$p: CSP");
    }
    $r = ppost($s, '/developer/nope', [x => 1]);
    is($r->{status}, 404, 'POST to an unknown path: 404');
});
--- request
GET /developer/
--- more_headers
X-Test-User: alice
--- error_code: 200
--- no_error_log
[error]



=== TEST 16: a new client id that exists (never expected): a second id is drawn, once
--- before_start
stop_fake();
fake_redis($ENV{TEST_NGINX_FAKE_PORT}, "*1\r\n:0\r\n", "*1\r\n:1\r\n");
--- http_config eval
(my $h = $Imprest::Portal::PORTAL_HTTP_CONFIG)
    =~ s/imprest_redis [^;]*;/imprest_redis 127.0.0.1:$ENV{TEST_NGINX_FAKE_PORT} retry=10s;/;
$h
--- init
ok(wait_log("imprest: redis 127.0.0.1:$ENV{TEST_NGINX_FAKE_PORT} ready", 2),
   'connected to the fake Redis');
--- request eval
"POST /developer/new
csrf=" . ('C' x 43) . "&name=Lucky&redirect_uris=https%3A%2F%2Fapp.example%2Fcb&scope=money_in&type=confidential"
--- more_headers eval
"X-Test-User: alice
Cookie: __Host-imprest_csrf=" . ('C' x 43) . "
Content-Type: application/x-www-form-urlencoded"
--- error_code: 200
--- response_body_like eval
qr{id="client_id">app_[0-9a-f]{24}</code>.*id="secret">imp_cs_}s
--- grep_error_log eval
qr/imprest: redis command queued: app_create/
--- grep_error_log_out eval
"imprest: redis command queued: app_create\n" x 2
--- no_error_log
[error]



=== TEST 17: two new client ids in a row exist: 503, nothing shown
--- before_start
stop_fake();
fake_redis($ENV{TEST_NGINX_FAKE_PORT}, "*1\r\n:0\r\n");
--- http_config eval
(my $h = $Imprest::Portal::PORTAL_HTTP_CONFIG)
    =~ s/imprest_redis [^;]*;/imprest_redis 127.0.0.1:$ENV{TEST_NGINX_FAKE_PORT} retry=10s;/;
$h
--- init
ok(wait_log("imprest: redis 127.0.0.1:$ENV{TEST_NGINX_FAKE_PORT} ready", 2),
   'connected to the fake Redis');
--- request eval
"POST /developer/new
csrf=" . ('C' x 43) . "&name=Unlucky&redirect_uris=https%3A%2F%2Fapp.example%2Fcb&scope=money_in&type=public"
--- more_headers eval
"X-Test-User: alice
Cookie: __Host-imprest_csrf=" . ('C' x 43) . "
Content-Type: application/x-www-form-urlencoded"
--- error_code: 503
--- response_body_like eval
qr{<h1>Temporarily unavailable</h1>}
--- response_body_unlike eval
qr{app_[0-9a-f]{24}}
--- error_log
imprest: two new client ids in a row exist
--- no_error_log
[alert]



=== TEST 18: a reply that is not the script's: 503, the link reset
--- before_start
stop_fake();
fake_redis($ENV{TEST_NGINX_FAKE_PORT}, "*1\r\n:7\r\n");
--- http_config eval
(my $h = $Imprest::Portal::PORTAL_HTTP_CONFIG)
    =~ s/imprest_redis [^;]*;/imprest_redis 127.0.0.1:$ENV{TEST_NGINX_FAKE_PORT} retry=10s;/;
$h
--- init
ok(wait_log("imprest: redis 127.0.0.1:$ENV{TEST_NGINX_FAKE_PORT} ready", 2),
   'connected to the fake Redis');
--- request
GET /developer/apps/app_000000000000000000000000
--- more_headers
X-Test-User: alice
--- error_code: 503
--- error_log
reply does not match the app script
--- no_error_log
[alert]
