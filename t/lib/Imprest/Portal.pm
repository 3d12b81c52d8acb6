package Imprest::Portal;

# Helpers for the developer portal and Scopes reference tests
# (t/130-portal.t, t/131-scopes.t): a configuration with every page, a
# browser-like session (the CSRF cookie and field, the Origin header),
# form posts, and the OAuth flow an app created in the portal runs
# (/oauth/authorize, the consent form, /oauth/token, the gate).
#
# Used after Imprest::Test, from `--- init` code and after_response()
# hooks (see t/110-token.t).

use strict;
use warnings;

use Exporter 'import';
use Digest::SHA qw(sha256_hex);
use JSON::PP ();
use Imprest::Test;

our @EXPORT = qw(
    $ISSUER $PORTAL_HTTP_CONFIG $PORTAL_CONFIG $CSP_ASSETS use_portal_config
    session pget ppost create_app field_error page_notice authorize_flow
    token_exchange app_record html_unescape set_cookies
);

# an https issuer: Test::Nginx talks plain http, the issuer is a name
our $ISSUER = 'https://as.example';

# The shared preamble, with a connect timeout that a loaded machine under
# ASan does not run past while the worker loads the scripts (an [error]
# line would fail the block; the requests themselves wait for nothing).
# (scaled under valgrind like the preamble's own timeout)
my $CONNECT_MS = 5000 * $Imprest::Test::SCALE;
(our $PORTAL_HTTP_CONFIG = $Imprest::Test::HTTP_CONFIG)
    =~ s/(imprest_redis [^;]*timeout=[^; ]+)/$1 connect_timeout=${CONNECT_MS}ms/
    or die 'Imprest::Portal: the preamble has changed';
$PORTAL_HTTP_CONFIG .= <<"_EOC_";
    imprest_issuer $ISSUER;
    imprest_scope money_in "Read invoices and incoming payments";
    imprest_scope money_out "Read bills and outgoing payments";
    imprest_scope contacts "Read <contacts> & \\"addresses\\"";
_EOC_

# The developer guide's paths; the user comes from a header, as in
# t/100-authorize.t.  The portal's body buffer holds its largest form
# (10 redirect URIs of 2000 bytes, percent-encoded): see notes-portal.md.
our $PORTAL_CONFIG = <<'_EOC_';
    location = /oauth/authorize {
        imprest_user $http_x_test_user;
        imprest_authorize;
    }
    location = /oauth/token { imprest_token; }
    location = /.well-known/oauth-authorization-server { imprest_metadata; }
    location /developer/ {
        imprest_user $http_x_test_user;
        imprest_portal;
        client_body_buffer_size 128k;
    }
    location /developer/scopes { imprest_scopes; }
    location /api/ {
        imprest_gate on;
        imprest_require_scope money_in;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
_EOC_

our $CSP_ASSETS = "default-src 'none'; style-src 'self'; script-src 'self'; "
                  . "img-src 'self'; form-action 'self'; "
                  . "frame-ancestors 'none'; base-uri 'none'";

sub use_portal_config {
    Test::Nginx::Socket::add_block_preprocessor(sub {
        my $block = shift;
        $block->set_value('http_config', $PORTAL_HTTP_CONFIG)
            unless defined $block->http_config;
        $block->set_value('config', $PORTAL_CONFIG)
            unless defined $block->config;
    });
}

# A developer's browser: GETs a form page once to learn the CSRF cookie
# and field, then sends both (and the issuer's Origin) with every POST.
sub session {
    my ($user) = @_;
    my $r = pget('/developer/new', user => $user);
    die "session: GET /developer/new: $r->{status}" unless $r->{status} == 200;
    my ($cookie) = ($r->{headers}{'set-cookie'} // '')
                   =~ /^(__Host-imprest_csrf=[A-Za-z0-9_-]{43});/
        or die "session: no CSRF cookie";
    my ($csrf) = $r->{body} =~ /name="csrf" value="([A-Za-z0-9_-]{43})"/
        or die "session: no CSRF field";
    return { user => $user, cookie => $cookie, csrf => $csrf };
}

# every Set-Cookie of a GET (http_get keeps the last one only)
sub set_cookies {
    my ($path, %o) = @_;
    require IO::Socket::INET;
    my $s = IO::Socket::INET->new(
        PeerAddr => "127.0.0.1:$ENV{TEST_NGINX_SERVER_PORT}", Timeout => 2)
        or return ();
    print $s "GET $path HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
             . (defined $o{user} ? "X-Test-User: $o{user}\r\n" : '') . "\r\n";
    local $/;
    my $data = <$s> // '';
    close $s;
    my ($head, $body) = split /\r\n\r\n/, $data, 2;
    return ([ $head =~ /^Set-Cookie: ([^\r\n]*)/mig ], $body // '');
}

sub pget {
    my ($path, %o) = @_;
    my @h = @{ $o{headers} || [] };
    push @h, "X-Test-User: $o{user}" if defined $o{user};
    push @h, "Cookie: $o{session}{cookie}" if $o{session};
    return http_get($path, headers => \@h);
}

# POST a form as $s's browser would.  Options: csrf => value (undef: no
# field), cookie => 0 (none sent), origin => value (undef: none sent),
# user => another user, raw => a body string instead of @$pairs,
# ct => another Content-Type.
sub ppost {
    my ($s, $path, $pairs, %o) = @_;
    my @pairs = @{ $pairs || [] };
    my $csrf = exists $o{csrf} ? $o{csrf} : $s->{csrf};
    unshift @pairs, (csrf => $csrf) if defined $csrf;
    my $body = defined $o{raw} ? $o{raw} : form(@pairs);
    my @h = ('Content-Type: ' . ($o{ct} // 'application/x-www-form-urlencoded'));
    my $user = exists $o{user} ? $o{user} : $s->{user};
    push @h, "X-Test-User: $user" if defined $user;
    push @h, "Cookie: $s->{cookie}" unless exists $o{cookie} && !$o{cookie};
    my $origin = exists $o{origin} ? $o{origin} : $ISSUER;
    push @h, "Origin: $origin" if defined $origin;
    push @h, @{ $o{headers} } if $o{headers};
    return http_req(method => 'POST', path => $path, body => $body,
                    headers => \@h);
}

# Create App; returns { res, cid, secret } (cid and secret '' if absent)
sub create_app {
    my ($s, %o) = @_;
    my @f = (name => $o{name} // 'My Books App',
             redirect_uris => $o{uris} // 'https://app.example/cb');
    push @f, map { (scope => $_) } @{ $o{scopes} // ['money_in'] };
    push @f, (type => $o{type} // 'confidential');
    my $r = ppost($s, '/developer/new', \@f);
    my ($cid) = $r->{body} =~ /id="client_id">(app_[0-9a-f]{24})</;
    my ($secret) = $r->{body} =~ /id="secret">(imp_cs_[A-Za-z0-9_-]{49})</;
    return { res => $r, cid => $cid // '', secret => $secret // '' };
}

# the text of a field's error message, or undef
sub field_error {
    my ($body, $field) = @_;
    my ($t) = $body =~ m{<p class="error" id="\Q$field\E-error">(.*?)</p>}s;
    return $t;
}

sub page_notice {
    my ($body) = @_;
    my ($t) = $body =~ m{id="notice">(.*?)</p>}s;
    return $t;
}

sub html_unescape {
    my ($s) = @_;
    $s =~ s/&lt;/</g;
    $s =~ s/&gt;/>/g;
    $s =~ s/&quot;/"/g;
    $s =~ s/&#39;/'/g;
    $s =~ s/&amp;/&/g;
    return $s;
}

# The app's record in Redis, as a hash
sub app_record {
    my ($cid) = @_;
    (my $out = redis('HGETALL', "imprest:client:$cid")) =~ s/\n\z//;
    return { split /\n/, $out, -1 };
}

# The developer guide's steps 1-2 for the app: alice approves it for
# $ORG1 on the consent page.  Returns the code ('' when none).
sub authorize_flow {
    my (%o) = @_;
    my $uri = $o{redirect_uri} // 'https://app.example/cb';
    my $q = form(response_type => 'code', client_id => $o{cid},
                 redirect_uri => $uri, scope => $o{scope} // 'money_in',
                 state => 'st-1', $o{challenge}
                     ? (code_challenge => $o{challenge},
                        code_challenge_method => 'S256') : ());
    my $r = http_get("/oauth/authorize?$q", headers => ['X-Test-User: alice']);
    my ($rid) = $r->{body} =~ /name="request_id" value="(imp_cr_[^"]+)"/
        or return '';
    $r = http_post('/oauth/authorize', [request_id => $rid,
                                        org => $Imprest::Test::ORG1,
                                        decision => 'approve'],
                   'X-Test-User: alice');
    my ($code) = ($r->{headers}{location} // '') =~ /[?&]code=([^&]+)/;
    return $code // '';
}

# step 3: the code for tokens, client_secret_post; returns the response
sub token_exchange {
    my (%o) = @_;
    return http_post('/oauth/token', [
        grant_type => 'authorization_code', code => $o{code},
        redirect_uri => $o{redirect_uri} // 'https://app.example/cb',
        client_id => $o{cid},
        defined $o{secret} ? (client_secret => $o{secret}) : (),
        defined $o{verifier} ? (code_verifier => $o{verifier}) : ()]);
}

1;
