# imprest_metrics: the Prometheus page (text format 0.0.4), its families,
# HELP and TYPE lines and fixed label sets, and that each counter moves by
# exactly what the requests made, and nothing else does: the gate's
# outcomes (200, 401, 403, 400, 503), the token endpoint's grants and
# results, reuse detections, revocation, introspection, consent, Redis
# timeouts, reconnects and the per-worker link gauge.  One zone for every
# worker: exact totals from several workers; counters survive a reload.
#
# Each block scrapes before and after its requests in --- init and checks
# the difference (metrics_moved: every sample that changed, by how much);
# the block's own request is GET /metrics.
#   --- imprest_redis: ADDR PARAMS  replaces the directive
#   --- workers: N                  a master and N workers
#   --- before_start                Perl run before nginx starts
use Test::Nginx::Socket 'no_plan';
use Imprest::Test;
use IPC::Open3 ();

no_shuffle();
use_fault_hooks();

our $METRICS_CONFIG = $Imprest::Test::AS_CONFIG . <<'_EOC_';
    location = /metrics {
        imprest_metrics;
    }
    location = /ping {
        return 200 "pong\n";
    }
    access_log logs/imprest_vars.log imprest_vars;
    access_log logs/pids.log pids;
_EOC_

add_block_preprocessor(sub {
    my $block = shift;
    # which worker served each request (the four-worker block)
    my $http = $Imprest::Test::AS_HTTP_CONFIG . "    log_format pids '\$pid';\n";
    # generous timeouts: a loaded machine running an ASan build must not
    # fail a block that is not about them
    my $redis = $block->imprest_redis
        // '127.0.0.1:$TEST_NGINX_REDIS_PORT timeout=3s connect_timeout=5s';
    $http =~ s/imprest_redis [^;]*;/imprest_redis $redis;/;
    $block->set_value(http_config => $http) unless defined $block->http_config;
    $block->set_value(config => $METRICS_CONFIG) unless defined $block->config;
    if (defined(my $n = $block->workers)) {
        workers($n);
        master_on();
    } else {
        workers(1);
        master_off();
    }
    return $block;
});

# --- the page as the module must write it (independent of the C tables) --

our @OUTCOMES = qw(ok no_token invalid_request invalid_token
                   insufficient_scope org_forbidden redis_unavailable);
our @ENDPOINTS = qw(organizations authorize token revoke introspect metadata);
our @CLASSES = qw(other 1xx 2xx 3xx 4xx 5xx);
our @GRANTS = qw(authorization_code refresh_token other);
our @RESULTS = qw(issued invalid_request invalid_client invalid_grant
                  invalid_scope unauthorized_client unsupported_grant_type
                  temporarily_unavailable other);
our @LE = qw(0.0001 0.00025 0.0005 0.001 0.0025 0.005 0.01 0.025 0.05 0.1
             0.25 0.5 1 +Inf);

# family => [type, sample names]
sub metrics_expected {
    my ($workers) = @_;
    my $h = 'imprest_redis_command_duration_seconds';
    return (
        imprest_gate_requests_total => ['counter',
            [map { qq{imprest_gate_requests_total{outcome="$_"}} } @OUTCOMES]],
        imprest_endpoint_requests_total => ['counter',
            [map { my $e = $_; map { qq{imprest_endpoint_requests_total{endpoint="$e",code="$_"}} } @CLASSES } @ENDPOINTS]],
        imprest_token_requests_total => ['counter',
            [map { my $g = $_; map { qq{imprest_token_requests_total{grant_type="$g",result="$_"}} } @RESULTS } @GRANTS]],
        imprest_tokens_issued_total => ['counter', ['imprest_tokens_issued_total']],
        imprest_tokens_refreshed_total => ['counter', ['imprest_tokens_refreshed_total']],
        imprest_tokens_revoked_total => ['counter', ['imprest_tokens_revoked_total']],
        imprest_token_reuse_detected_total => ['counter',
            [map { qq{imprest_token_reuse_detected_total{kind="$_"}} } qw(code refresh_token)]],
        imprest_introspections_total => ['counter',
            [map { qq{imprest_introspections_total{active="$_"}} } qw(true false)]],
        imprest_consent_decisions_total => ['counter',
            [map { qq{imprest_consent_decisions_total{decision="$_"}} } qw(approved denied)]],
        imprest_cache_lookups_total => ['counter',
            [map { qq{imprest_cache_lookups_total{result="$_"}} } qw(hit miss bypass)]],
        imprest_cache_invalidations_total => ['counter', ['imprest_cache_invalidations_total']],
        $h => ['histogram',
            [(map { qq{${h}_bucket{le="$_"}} } @LE), "${h}_sum", "${h}_count"]],
        imprest_redis_timeouts_total => ['counter',
            [map { qq{imprest_redis_timeouts_total{kind="$_"}} } qw(command connect)]],
        imprest_redis_reconnects_total => ['counter', ['imprest_redis_reconnects_total']],
        imprest_redis_connected => ['gauge',
            [map { qq{imprest_redis_connected{worker="$_"}} } 0 .. $workers - 1]],
    );
}

# GET /metrics: { sample name => value }, and the raw response
sub metrics_scrape {
    my $r = http_get('/metrics');
    die 'scrape: ' . ($r->{error} // $r->{status})
        unless ($r->{status} // 0) == 200;
    my %m;
    for my $line (split /\n/, $r->{body}) {
        next if $line =~ /^# /;
        $line =~ /\A(\S+) ([0-9.]+)\z/ or die "scrape: bad line '$line'";
        $m{$1} = $2;
    }
    return wantarray ? (\%m, $r) : \%m;
}

# every sample that changed between two scrapes, by how much, must be
# exactly %$want (the histogram's buckets and sum, and the gauge, aside)
sub metrics_moved {
    my ($before, $after, $want, $name) = @_;
    my %got;
    for my $k (keys %$after) {
        next if $k =~ /\Aimprest_redis_command_duration_seconds_(bucket|sum)|\Aimprest_redis_connected/;
        my $d = $after->{$k} - ($before->{$k} // 0);
        $got{$k} = $d if $d;
    }
    Test::More::is_deeply(\%got, $want, $name)
        or Test::More::diag(Test::More::explain(\%got));
}

# poll until the gauge says every worker's link is $up
sub metrics_wait_connected {
    my ($workers, $up, $timeout) = @_;
    my $end = Time::HiRes::time() + ($timeout // 5);
    while (1) {
        my $m = metrics_scrape();
        my $n = grep { ($m->{qq{imprest_redis_connected{worker="$_"}}} // -1)
                       == $up } 0 .. $workers - 1;
        return 1 if $n == $workers;
        return 0 if Time::HiRes::time() > $end;
        Time::HiRes::sleep(0.05);
    }
}

sub api {
    my ($tok, $org) = @_;
    my @h;
    push @h, "Authorization: Bearer $tok" if defined $tok;
    push @h, "X-Organization-Id: $org" if defined $org;
    return http_get('/api/v1/invoices', headers => \@h)->{status} // 'error';
}

sub token_post {
    my (@form) = @_;
    return http_post('/oauth/token', [@form, client_id => $APP_ID,
                                      client_secret => $APP_SECRET]);
}

sub code_grant {
    my ($code) = @_;
    return token_post(grant_type => 'authorization_code', code => $code,
                      redirect_uri => $APP_URI);
}

# promtool's verdict on a page: (exit status, output)
sub promtool_check {
    my ($text) = @_;
    my $pid = IPC::Open3::open3(my $in, my $out, undef,
                                'promtool', 'check', 'metrics');
    print $in $text;
    close $in;
    local $/;
    my $said = <$out> // '';
    waitpid $pid, 0;
    return ($? >> 8, $said);
}

# worker processes of a master, from /proc
sub children_of {
    my ($ppid) = @_;
    my @kids;
    opendir my $d, '/proc' or return ();
    for my $p (grep { /^\d+$/ } readdir $d) {
        open my $fh, '<', "/proc/$p/stat" or next;
        my $st = <$fh> // '';
        push @kids, $p if $st =~ /\) \S+ (\d+) / && $1 == $ppid;
    }
    return sort @kids;
}

sub master_pid {
    (my $f = Imprest::Test::error_log_file()) =~ s{error\.log$}{nginx.pid};
    open my $fh, '<', $f or die "$f: $!";
    chomp(my $pid = <$fh>);
    return $pid;
}

sub distinct_pids {
    (my $f = Imprest::Test::error_log_file()) =~ s{error\.log$}{pids.log};
    open my $fh, '<', $f or return 0;
    my %p = map { chomp; $_ => 1 } <$fh>;
    return scalar keys %p;
}

# N gate requests, alternating a passing token and none: { status => n }
sub burst {
    my ($n) = @_;
    my %st;
    for my $i (1 .. $n) {
        $st{ $i % 2 ? api($AT, $ORG1) : api() }++;
    }
    return \%st;
}

our %C = map { $_ => token_new('ac') } qw(one two);
our %R = map { $_ => token_new('rt') } qw(revoke);

run_tests();

__DATA__

=== TEST 1: the page: text format 0.0.4, HELP and TYPE for each family, the fixed label sets, all zero, promtool agrees
--- init
seed_as();
ok(metrics_wait_connected(1, 1), 'the link is up');
my ($m, $r) = metrics_scrape();
my %want = metrics_expected(1);
my (%help, %type, @order, @samples);
for my $line (split /\n/, $r->{body}) {
    if ($line =~ /\A# HELP (\S+) (.+)\z/) {
        $help{$1} = $2;
        push @order, $1;
    } elsif ($line =~ /\A# TYPE (\S+) (\S+)\z/) {
        ok($help{$1}, "TYPE $1 follows its HELP") unless $type{$1};
        $type{$1} = $2;
    } elsif ($line =~ /\A(([a-z_]+)(?:\{[^}]*\})?) \S+\z/) {
        my ($s, $n) = ($1, $2);
        my $fam = $n;
        $fam =~ s/_(bucket|sum|count)\z// unless exists $want{$n};
        is($order[-1], $fam, "$s: under its family's HELP/TYPE");
        push @samples, $s;
    } else {
        fail("a line neither comment nor sample: '$line'");
    }
}
is_deeply([sort keys %type], [sort keys %want], 'exactly these families');
is_deeply({ map { $_ => $type{$_} } keys %type },
          { map { $_ => $want{$_}[0] } keys %want }, 'each of its type');
is_deeply([sort @samples], [sort map { @{ $_->[1] } } values %want],
          'exactly these label sets, each once');
for my $f (keys %type) {
    next if $type{$f} ne 'counter';
    like($f, qr/\Aimprest_[a-z_]+_total\z/, "$f: prefix, _total");
}
my @up = grep { $m->{$_} != 0 } sort keys %$m;
is_deeply(\@up, ['imprest_redis_connected{worker="0"}'],
          'nothing counted yet; the one worker connected');
unlike($r->{body}, qr/imp_|app_|[0-9a-f]{8}-[0-9a-f]{4}|alice/,
       'no token, client, organization or user anywhere');
my ($rc, $said) = promtool_check($r->{body});
is($rc, 0, "promtool check metrics: clean ($said)");
is($said, '', 'promtool: no lint message');
--- request
GET /metrics
--- response_headers
Content-Type: text/plain; version=0.0.4; charset=utf-8
--- response_body_like
\A# HELP imprest_gate_requests_total .*\n# TYPE imprest_gate_requests_total counter\nimprest_gate_requests_total\{outcome="ok"\} 0
--- no_error_log
[error]



=== TEST 2: only GET and HEAD: POST is 405
--- request
POST /metrics
--- error_code: 405
--- response_headers
Allow: GET, HEAD
--- no_error_log
[error]



=== TEST 3: HEAD: the headers only
--- request
HEAD /metrics
--- response_headers
Content-Type: text/plain; version=0.0.4; charset=utf-8
--- response_body eval
''
--- no_error_log
[error]



=== TEST 4: another content handler in the location: nginx -t says which
--- config
    location = /metrics {
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
        imprest_metrics;
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*"imprest_metrics" directive is duplicate or follows another content handler in \S+nginx\.conf:\d+$/



=== TEST 5: without Redis or any other imprest directive: the page, all zero, from two locations of one zone
--- http_config
--- config
    location = /metrics {
        imprest_metrics;
    }
    location = /other/metrics {
        imprest_metrics;
    }
--- init
my $m = metrics_scrape();
my %want = metrics_expected(1);
is(scalar(keys %$m), scalar(map { @{ $_->[1] } } values %want),
   'every series');
is_deeply([grep { $m->{$_} != 0 } keys %$m], [], 'all zero');
--- request
GET /other/metrics
--- response_body_like
imprest_gate_requests_total\{outcome="ok"\} 0
--- no_error_log
[error]



=== TEST 6: the gate: each $imprest_status outcome counted once per decision, and a Redis call timed per lookup
--- init
seed_as();
ok(metrics_wait_connected(1, 1), 'the link is up');
my $b = metrics_scrape();
my @got = (api($AT, $ORG1), api($AT, $ORG1), api($AT, $ORG1),
           api(), api('imp_at_garbage', $ORG1), api(token_new(), $ORG1),
           api($AT_RO, $ORG1), api($AT, $ORG3), api($AT), api($AT, 'nope'));
is("@got", '200 200 200 401 401 401 403 403 400 400', 'the answers');
my $a = metrics_scrape();
metrics_moved($b, $a, {
    'imprest_gate_requests_total{outcome="ok"}' => 3,
    'imprest_gate_requests_total{outcome="no_token"}' => 1,
    'imprest_gate_requests_total{outcome="invalid_token"}' => 2,
    'imprest_gate_requests_total{outcome="insufficient_scope"}' => 1,
    'imprest_gate_requests_total{outcome="org_forbidden"}' => 1,
    'imprest_gate_requests_total{outcome="invalid_request"}' => 2,
    # six lookups: the three passes, the unknown token, scope, organization
    'imprest_redis_command_duration_seconds_count' => 6,
}, 'exactly these moved');
is($a->{'imprest_redis_command_duration_seconds_bucket{le="+Inf"}'},
   $a->{'imprest_redis_command_duration_seconds_count'}, '+Inf is count');
ok($a->{'imprest_redis_command_duration_seconds_sum'} > 0
   && $a->{'imprest_redis_command_duration_seconds_sum'} < 6,
   "latency sum $a->{'imprest_redis_command_duration_seconds_sum'} s");
my $prev = 0;
for my $le (@LE) {
    my $v = $a->{qq{imprest_redis_command_duration_seconds_bucket{le="$le"}}};
    ok($v >= $prev, "bucket $le ($v) cumulative");
    $prev = $v;
}
--- request
GET /metrics
--- response_body_like
imprest_gate_requests_total\{outcome="ok"\} 3
--- no_error_log
[error]



=== TEST 7: Redis down: 503 counted as redis_unavailable, the gauge 0, reconnects counted; Redis back: the gauge 1
--- imprest_redis: 127.0.0.1:$TEST_NGINX_SPARE_PORT retry=100ms
--- init
stop_redis($ENV{TEST_NGINX_SPARE_PORT});
ok(metrics_wait_connected(1, 0), 'the gauge says down');
my $b = metrics_scrape();
my @got = (api($AT, $ORG1), api($AT, $ORG1));
my $t = code_grant($C{one})->{status};
is("@got $t", '503 503 503', 'the gate and the token endpoint: 503');
Time::HiRes::sleep(0.5);
my $a = metrics_scrape();
my $re = 'imprest_redis_reconnects_total';
ok($a->{$re} - $b->{$re} >= 2, "reconnecting ($a->{$re})");
delete $a->{$re};
metrics_moved($b, $a, {
    'imprest_gate_requests_total{outcome="redis_unavailable"}' => 2,
    'imprest_token_requests_total{grant_type="authorization_code",result="temporarily_unavailable"}' => 1,
    'imprest_endpoint_requests_total{endpoint="token",code="5xx"}' => 1,
}, 'exactly these moved');
start_redis(port => $ENV{TEST_NGINX_SPARE_PORT});
ok(metrics_wait_connected(1, 1), 'Redis back: the gauge says up');
--- request
GET /metrics
--- response_body_like
imprest_redis_connected\{worker="0"\} 1
--- error_log eval
$Imprest::Test::REDIS_DOWN
--- no_error_log
[alert]



=== TEST 8: the token endpoint: issued, refreshed, reuse of a code and of a refresh token, errors by grant type, revocation, introspection
--- init
seed_as();
put_code(code => $C{one});
put_code(code => $C{two});
put_rt(rt => $R{revoke});
ok(metrics_wait_connected(1, 1), 'the link is up');
my $b = metrics_scrape();
my $r = code_grant($C{one});
is($r->{status}, 200, 'code exchanged');
my ($at, $rt) = tokens_of($r->{body});
$r = token_post(grant_type => 'refresh_token', refresh_token => $rt);
is($r->{status}, 200, 'refreshed');
is(token_post(grant_type => 'refresh_token', refresh_token => $rt)->{status},
   400, 'the rotated refresh token again: invalid_grant');
is(code_grant($C{one})->{status}, 400, 'the code again: invalid_grant');
is(token_post(grant_type => 'password', username => 'a', password => 'b')
   ->{status}, 400, 'password grant: unsupported_grant_type');
is(http_post('/oauth/token', [grant_type => 'authorization_code',
                              code => $C{two}, redirect_uri => $APP_URI,
                              client_id => $APP_ID,
                              client_secret => token_new('cs')])->{status},
   401, 'a wrong secret: invalid_client');
is(http_get('/oauth/token')->{status}, 405, 'GET: 405');
$r = code_grant($C{two});
is($r->{status}, 200, 'the second code exchanged');
my ($at2) = tokens_of($r->{body});
my @rs = ('client_id', $RS_ID, 'client_secret', $RS_SECRET);
is(http_post('/oauth/introspect', [token => $at2, @rs])->{body} =~ /"active":true/
   ? 1 : 0, 1, 'introspection: active');
is(http_post('/oauth/introspect', [token => token_new('at'), @rs])->{body},
   qq({"active":false}\n), 'introspection: an unknown token inactive');
is(http_post('/oauth/revoke', [token => $R{revoke}, client_id => $APP_ID,
                               client_secret => $APP_SECRET])->{status},
   200, 'revoked');
is(http_post('/oauth/revoke', [token => $R{revoke}, client_id => $APP_ID,
                               client_secret => $APP_SECRET])->{status},
   200, 'revoked again: nothing to do');
my $a = metrics_scrape();
my $n = 'imprest_redis_command_duration_seconds_count';
ok($a->{$n} - $b->{$n} >= 12, 'at least one Redis call each');
delete $a->{$n};
metrics_moved($b, $a, {
    'imprest_token_requests_total{grant_type="authorization_code",result="issued"}' => 2,
    'imprest_token_requests_total{grant_type="authorization_code",result="invalid_grant"}' => 1,
    'imprest_token_requests_total{grant_type="authorization_code",result="invalid_client"}' => 1,
    'imprest_token_requests_total{grant_type="refresh_token",result="issued"}' => 1,
    'imprest_token_requests_total{grant_type="refresh_token",result="invalid_grant"}' => 1,
    'imprest_token_requests_total{grant_type="other",result="unsupported_grant_type"}' => 1,
    'imprest_tokens_issued_total' => 2,
    'imprest_tokens_refreshed_total' => 1,
    'imprest_tokens_revoked_total' => 1,
    'imprest_token_reuse_detected_total{kind="code"}' => 1,
    'imprest_token_reuse_detected_total{kind="refresh_token"}' => 1,
    'imprest_introspections_total{active="true"}' => 1,
    'imprest_introspections_total{active="false"}' => 1,
    'imprest_endpoint_requests_total{endpoint="token",code="2xx"}' => 3,
    'imprest_endpoint_requests_total{endpoint="token",code="4xx"}' => 5,
    'imprest_endpoint_requests_total{endpoint="introspect",code="2xx"}' => 2,
    'imprest_endpoint_requests_total{endpoint="revoke",code="2xx"}' => 2,
}, 'exactly these moved');
--- request
GET /metrics
--- response_body_like
imprest_tokens_issued_total 2
--- no_error_log
[error]



=== TEST 9: consent: approved and denied counted, the authorize endpoint's 303s and its consent page
--- init
seed_as();
ok(metrics_wait_connected(1, 1), 'the link is up');
my $b = metrics_scrape();
my %rid = map { $_ => token_new('cr') } qw(yes no);
put_consent(rid => $rid{yes});
put_consent(rid => $rid{no});
my @h = ('X-Test-User: alice');
my @got = map {
    http_post('/oauth/authorize', [request_id => $rid{$_->[0]},
                                   org => $ORG1, decision => $_->[1]],
              @h)->{status}
} ['yes', 'approve'], ['no', 'deny'];
push @got, http_get('/oauth/authorize?response_type=code&client_id='
                    . $APP_ID . '&scope=money_in', headers => \@h)->{status};
push @got, http_get('/.well-known/oauth-authorization-server')->{status};
is("@got", '303 303 200 200', 'approved, denied, a consent page, metadata');
my $a = metrics_scrape();
my $n = 'imprest_redis_command_duration_seconds_count';
ok($a->{$n} - $b->{$n} >= 3, 'Redis calls timed');
delete $a->{$n};
metrics_moved($b, $a, {
    'imprest_consent_decisions_total{decision="approved"}' => 1,
    'imprest_consent_decisions_total{decision="denied"}' => 1,
    'imprest_endpoint_requests_total{endpoint="authorize",code="3xx"}' => 2,
    'imprest_endpoint_requests_total{endpoint="authorize",code="2xx"}' => 1,
    'imprest_endpoint_requests_total{endpoint="metadata",code="2xx"}' => 1,
}, 'exactly these moved');
--- request
GET /metrics
--- response_body_like
imprest_consent_decisions_total\{decision="denied"\} 1
--- no_error_log
[error]



=== TEST 10: a hung Redis: the command timeout and then the connect timeout counted
--- before_start
stop_fake();
fake_redis($ENV{TEST_NGINX_FAKE_PORT}, { hang => 1 });
--- imprest_redis: 127.0.0.1:$TEST_NGINX_FAKE_PORT timeout=500ms connect_timeout=3s retry=100ms
--- init
ok(metrics_wait_connected(1, 1, 10), 'the handshake done');
my $b = metrics_scrape();
is(api($AT, $ORG1), 503, 'the lookup hangs: 503');
# the fake serves one connection at a time: the next handshake hangs
ok(wait_log("closing connection: connect timed out", 8), "connect timed out");
my $a = metrics_scrape();
my ($c, $re) = ('imprest_redis_timeouts_total{kind="connect"}',
                'imprest_redis_reconnects_total');
ok($a->{$c} >= 1, "connect timeouts: $a->{$c}");
ok($a->{$re} >= 1, "reconnects: $a->{$re}");
delete @{$a}{$c, $re};
metrics_moved($b, $a, {
    'imprest_redis_timeouts_total{kind="command"}' => 1,
    'imprest_gate_requests_total{outcome="redis_unavailable"}' => 1,
}, 'exactly these moved (a timed-out command has no latency)');
--- request
GET /metrics
--- response_body_like
imprest_redis_timeouts_total\{kind="command"\} 1
--- error_log
imprest: redis command timed out
--- no_error_log
[alert]



=== TEST 11: four workers, one zone: 480 requests from 8 clients at once, totals exact, one gauge per worker
--- workers: 4
--- init
seed_as();
ok(metrics_wait_connected(4, 1, 10), 'all four links up');
my $b = metrics_scrape();
my @h = map { bg_call(\&burst, 60) } 1 .. 8;
my %st;
for my $h (@h) {
    my $r = bg_wait($h, 60);
    $st{$_} += $r->{$_} for keys %$r;
}
is_deeply(\%st, { 200 => 240, 401 => 240 }, 'the answers');
ok(distinct_pids() >= 2, distinct_pids() . ' workers served them');
my $a = metrics_scrape();
metrics_moved($b, $a, {
    'imprest_gate_requests_total{outcome="ok"}' => 240,
    'imprest_gate_requests_total{outcome="no_token"}' => 240,
    'imprest_redis_command_duration_seconds_count' => 240,
}, 'exact totals over the workers');
is(scalar(grep { /\Aimprest_redis_connected/ } keys %$a), 4,
   'one gauge per worker slot');
--- request
GET /metrics
--- response_body_like eval
qr/imprest_redis_connected\{worker="0"\} 1\nimprest_redis_connected\{worker="1"\} 1\nimprest_redis_connected\{worker="2"\} 1\nimprest_redis_connected\{worker="3"\} 1\n\z/
--- no_error_log
[error]



=== TEST 12: reload (HUP): the counters go on; the new workers own the gauges, an old one draining after them cannot reset its slot
--- workers: 2
--- init
seed_as();
ok(metrics_wait_connected(2, 1, 10), 'both links up');
is(api($AT, $ORG1), 200, "pass $_") for 1 .. 5;
my $master = master_pid();
my @old = children_of($master);
is(scalar @old, 2, 'two workers');
my %old = map { $_ => 1 } @old;
# a request half sent keeps one old worker alive past the reload
my $hold = IO::Socket::INET->new(
    PeerAddr => "127.0.0.1:$ENV{TEST_NGINX_SERVER_PORT}") or die "hold: $!";
syswrite $hold, "GET /ping HTTP/1.1\r\nHost: localhost\r\n";
Time::HiRes::sleep(0.3);
kill 'HUP', $master;
my $end = Time::HiRes::time() + 10;
my @new;
while (Time::HiRes::time() < $end) {
    @new = grep { !$old{$_} } children_of($master);
    last if @new == 2;
    Time::HiRes::sleep(0.05);
}
is(scalar @new, 2, 'two new workers');
ok(metrics_wait_connected(2, 1, 10), 'their links up');
ok(scalar(grep { $old{$_} } children_of($master)), 'an old worker drains');
syswrite $hold, "Connection: close\r\n\r\n";
my $resp = '';
while (sysread($hold, my $buf, 4096)) { $resp .= $buf }
like($resp, qr/\r\n\r\npong\n\z/, 'its request answered');
$end = Time::HiRes::time() + 10;
Time::HiRes::sleep(0.05) while grep({ $old{$_} } children_of($master))
                               && Time::HiRes::time() < $end;
ok(!grep({ $old{$_} } children_of($master)), 'the old workers are gone');
Time::HiRes::sleep(0.2);
my $a = metrics_scrape();
is($a->{'imprest_gate_requests_total{outcome="ok"}'}, 5, 'counted before');
is($a->{qq{imprest_redis_connected{worker="$_"}}}, 1, "worker $_ up")
    for 0, 1;
is(api($AT, $ORG1), 200, 'one more');
--- request
GET /metrics
--- response_body_like
imprest_gate_requests_total\{outcome="ok"\} 6
--- no_error_log
[error]
