#!/usr/bin/perl
# `make bench`: wrk against one nginx, through the gate and around it, in
# interleaved rounds, with 10,000 distinct tokens picked at random per
# request.  Reports requests/s, p50/p99 latency, non-2xx responses, Redis
# commands per request and the gate/plain throughput ratio.
#
# Then the authorization server on the same nginx, POST /oauth/token:
#   refresh   refresh_token grants/s (rotation: every connection keeps its
#             own chain, seeded by code exchanges done here beforehand)
#   exchange  complete authorization-code exchanges/s: GET /oauth/authorize,
#             POST /oauth/authorize (approve), POST /oauth/token
# with one connection per wrk thread (their Lua state is per-connection:
# tools/bench/refresh.lua, tools/bench/exchange.lua).  They run after the
# gate/plain rounds, BENCH_TOKEN_ROUNDS times each (1 by default, to keep
# `make bench` near a minute), interleaved among themselves.
#
#   BENCH_ROUNDS (3)  BENCH_SECONDS (5)  BENCH_CONNECTIONS (32)
#   BENCH_TOKENS (10000)  BENCH_WORKERS (1)
#   BENCH_TOKEN_ROUNDS (1)  BENCH_TOKEN_CONNECTIONS (8: wrk threads, one
#   connection each)
#   BENCH_SKIP=gate,plain,refresh,exchange
#   BENCH_REDIS=tcp|unix (tcp): how nginx reaches the Redis on this
#     machine: 127.0.0.1 over TCP, or its unix socket
#   BENCH_EXTRA="name:path:lua" adds a mode
#
# Ports 6392 (Redis), 8090 (nginx) and 8091 (upstream) are the bench's; it
# refuses to start while something holds one of them.

use strict;
use warnings;

use Digest::SHA qw(sha256 sha256_hex);
use HTTP::Tiny;
use JSON::PP qw(decode_json);
use MIME::Base64 qw(encode_base64 encode_base64url);
use File::Path qw(make_path remove_tree);
use IO::Socket::INET;
use POSIX ();
use Time::HiRes qw(sleep time);

use Cwd qw(abs_path);
use File::Basename qw(dirname);
my $repo = abs_path(dirname(abs_path($0)) . '/..');

my $dir      = "$repo/build/bench";
my $nginx    = $ENV{NGINX} || '/usr/sbin/nginx';
my $module   = $ENV{MODULE} || "$repo/build/nginx-dev/objs/ngx_http_imprest_module.so";
my $rounds   = $ENV{BENCH_ROUNDS} || 3;
my $secs     = $ENV{BENCH_SECONDS} || 5;
my $conns    = $ENV{BENCH_CONNECTIONS} || 32;
my $ntokens  = $ENV{BENCH_TOKENS} || 10000;
my $workers  = $ENV{BENCH_WORKERS} || 1;
my $trounds  = $ENV{BENCH_TOKEN_ROUNDS} || 1;
my $tconns   = $ENV{BENCH_TOKEN_CONNECTIONS} || 8;
my $spares   = 2;       # spare refresh chains per thread (refresh.lua)
my $ctl      = "$repo/build/imprestctl";
my $rport    = 6392;
my $port     = 8090;
my $uport    = 8091;
my $org      = '3f2b6c1e-7a4d-4e5f-9b0a-1c2d3e4f5a6b';
my $base     = "http://127.0.0.1:$port";
my $ru       = 'https://bench.example/cb';

# another bench (or anything else) on our ports: refuse, before build/bench
# is wiped and before we seed someone else's Redis
for my $p ($rport, $port, $uport) {
    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$p");
    next unless $s;
    close $s;
    die "bench: port $p is in use (another bench running?); "
        . "wait for it to finish and retry\n";
}
-x $ctl or die "bench: $ctl missing: make imprestctl\n";
-f $module or die "bench: $module missing: make module\n";

my (@pids);
sub cleanup {
    for my $p (reverse @pids) { kill 'TERM', $p; waitpid $p, 0 }
    @pids = ();
}
$SIG{INT} = $SIG{TERM} = sub { cleanup(); exit 1 };
END { cleanup() }

remove_tree($dir);
make_path("$dir/logs", "$dir/conf", "$dir/redis");

sub spawn {
    my @cmd = @_;
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        open STDOUT, '>>', "$dir/logs/spawn.log";
        open STDERR, '>&', \*STDOUT;
        { exec @cmd }
        POSIX::_exit(127);
    }
    push @pids, $pid;
    return $pid;
}

# our child must be the one listening (it dies if the port was taken)
sub wait_port {
    my ($p, $pid, $log) = @_;
    for (1 .. 100) {
        die "bench: the process for port $p exited; see $log\n"
            if waitpid($pid, POSIX::WNOHANG()) == $pid;
        my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$p");
        if ($s) { close $s; return }
        sleep 0.05;
    }
    die "bench: nothing listens on $p; see $log\n";
}

sub redis {
    my $out = `redis-cli -p $rport @_ 2>&1`;
    return $out;
}

my $transport = $ENV{BENCH_REDIS} || 'tcp';
die "BENCH_REDIS: tcp or unix\n" unless $transport =~ /^(tcp|unix)$/;
my $rsock = "$dir/redis/redis.sock";
my $raddr = $transport eq 'unix' ? "unix:$rsock" : "127.0.0.1:$rport";

my $rpid = spawn('redis-server', '--port', $rport, '--bind', '127.0.0.1',
                 '--unixsocket', $rsock, '--unixsocketperm', '777',
                 '--save', '', '--appendonly', 'no', '--dir', "$dir/redis");
wait_port($rport, $rpid, "$dir/logs/spawn.log");

# --- 10,000 tokens, written with the same layout imprestctl writes ----------

print "seeding $ntokens tokens...\n";
my @tokens;
open my $pipe, '|-', "redis-cli -p $rport --pipe >$dir/logs/pipe.log 2>&1"
    or die;
sub resp { my $s = '*' . scalar(@_) . "\r\n"; $s .= '$' . length($_) . "\r\n$_\r\n" for @_; $s }
print $pipe resp('HSET', 'imprest:user:bench', 'name', 'Bench User');
print $pipe resp('SADD', 'imprest:user:bench:orgs', $org);
print $pipe resp('HSET', "imprest:org:$org", 'name', 'Bench Org');
print $pipe resp('SADD', "imprest:org:$org:members", 'bench');
open my $rnd, '<', '/dev/urandom' or die;
my $exp = time() + 86400;
for (1 .. $ntokens) {
    read($rnd, my $raw, 32);
    my $head = 'imp_at_' . encode_base64url($raw);
    my $tok = $head . encode_base64url(substr(sha256($head), 0, 4));
    push @tokens, $tok;
    my $key = 'imprest:at:' . sha256_hex($tok);
    print $pipe resp('HSET', $key, 'uid', 'bench', 'cid', 'bench-app',
                     'scope', 'money_in money_out', 'orgs', $org,
                     'iat', int(time()), 'exp', int($exp), 'aud', '');
    print $pipe resp('EXPIRE', $key, 86400);
}
close $pipe;
close $rnd;

open my $tf, '>', "$dir/tokens.txt" or die;
print $tf "$_\n" for @tokens;
close $tf;

# --- nginx: one gated and one plain location in front of one upstream, ----
# --- and the authorization server ------------------------------------------

open my $cf, '>', "$dir/conf/nginx.conf" or die;
print $cf <<"EOF";
load_module $module;
worker_processes $workers;
error_log logs/error.log warn;
pid logs/nginx.pid;
events { worker_connections 4096; }
http {
    access_log off;
    imprest_redis $raddr timeout=1s;
    imprest_issuer http://127.0.0.1:$port;
    imprest_scope money_in "See invoices and payments received";
    imprest_scope money_out "See bills and payments made";
    upstream backend { server 127.0.0.1:$uport; keepalive 64; }
    server {
        listen 127.0.0.1:$uport;
        location / { return 200 "ok\\n"; }
    }
    server {
        listen 127.0.0.1:$port;
        location /plain/ {
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_pass http://backend;
        }
        location /api/ {
            imprest_gate on;
            imprest_require_scope money_in;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_pass http://backend;
        }
        # the signed-in user comes from a request header, not auth_basic:
        # keeps the load generator simple (no password hashing per
        # request); only acceptable because this nginx is the bench's own,
        # on loopback
        location = /oauth/authorize {
            imprest_user \$http_x_bench_user;
            imprest_authorize;
        }
        location = /oauth/token {
            imprest_token;
        }
    }
}
EOF
close $cf;

my $npid = spawn($nginx, '-p', "$dir/", '-c', 'conf/nginx.conf',
                 '-g', 'daemon off;');
wait_port($port, $npid, "$dir/logs/spawn.log and error.log");

# --- the authorization server: one app, and code exchanges done here -------

my $app = `$ctl --json --redis 127.0.0.1:$rport app create --name Bench --redirect-uri $ru --scope "money_in money_out" 2>&1`;
$? == 0 or die "bench: imprestctl app create failed: $app";
$app = decode_json($app);
my $client_id = $app->{client_id} or die "bench: no client_id from imprestctl\n";
my $secret = $app->{client_secret} or die "bench: no client_secret\n";
# client_secret_basic (RFC 6749 2.3.1): both are form-encoding-safe already
my $basic = 'Basic ' . encode_base64("$client_id:$secret", '');

sub uri_escape {
    (my $s = shift) =~ s/([^A-Za-z0-9\-._~])/sprintf '%%%02X', ord $1/ge;
    return $s;
}

# one full authorization-code exchange; returns the refresh token
my $http = HTTP::Tiny->new(max_redirect => 0, timeout => 10);
my $nseq = 0;
sub code_exchange {
    my $user = { 'X-Bench-User' => 'bench' };
    my $r = $http->get("$base/oauth/authorize?client_id=$client_id"
        . '&response_type=code&redirect_uri=' . uri_escape($ru)
        . '&scope=money_in&state=seed' . $nseq++, { headers => $user });
    my ($rid) = $r->{status} == 200
        && $r->{content} =~ /name="request_id" value="([^"]+)"/;
    die "bench: GET /oauth/authorize: $r->{status} $r->{content}\n"
        unless $rid;
    $r = $http->post_form("$base/oauth/authorize",
        [request_id => $rid, org => $org, decision => 'approve'],
        { headers => $user });
    my ($code) = $r->{status} == 303
        && ($r->{headers}{location} // '') =~ /[?&]code=([^&]+)/;
    die "bench: POST /oauth/authorize: $r->{status} $r->{content}\n"
        unless $code;
    $r = $http->post_form("$base/oauth/token",
        [grant_type => 'authorization_code', code => $code,
         redirect_uri => $ru], { headers => { Authorization => $basic } });
    my $rt = $r->{status} == 200
        && eval { decode_json($r->{content})->{refresh_token} };
    die "bench: POST /oauth/token: $r->{status} $r->{content}\n" unless $rt;
    return $rt;
}

# before every refresh run: fresh chains, one line per wrk thread
sub seed_refresh {
    open my $sf, '>', "$dir/refresh-seeds.txt" or die;
    print $sf join(' ', map { code_exchange() } 0 .. $spares), "\n"
        for 1 .. $tconns;
    close $sf;
}

# --- wrk: a random token per request -----------------------------------------

open my $lua, '>', "$dir/tokens.lua" or die;
print $lua <<"EOF";
local tokens = {}
for line in io.lines("$dir/tokens.txt") do tokens[#tokens + 1] = line end
math.randomseed(os.time())
request = function()
    local t = tokens[math.random(#tokens)]
    return wrk.format("GET", nil, {
        ["Authorization"] = "Bearer " .. t,
        ["X-Organization-Id"] = "$org" })
end
EOF
close $lua;

# the same headers for the plain path, so the requests are the same size
open $lua, '>', "$dir/plain.lua" or die;
print $lua <<"EOF";
local tokens = {}
for line in io.lines("$dir/tokens.txt") do tokens[#tokens + 1] = line end
request = function()
    local t = tokens[math.random(#tokens)]
    return wrk.format("GET", nil, {
        ["Authorization"] = "Bearer " .. t,
        ["X-Organization-Id"] = "$org" })
end
EOF
close $lua;

# Commands clients sent, round trips.  commandstats also counts the calls a
# script makes inside Redis, so count only what nginx sends: every lookup,
# consent and grant is one EVALSHA (SCRIPT LOAD, AUTH, SELECT when it
# connects).  The bench's own INFO is left out too.
my %client_cmd = map { $_ => 1 }
    qw(evalsha eval fcall fcall_ro function|load script|load auth select
       hello ping);
sub redis_calls {
    my $total = 0;
    for (split /\n/, redis('INFO', 'commandstats')) {
        next unless /^cmdstat_([\w|]+):calls=(\d+)/;
        $total += $2 if $client_cmd{$1};
    }
    return $total;
}

sub wrk_run {
    my ($m, $s) = @_;
    $s //= $secs;
    local @ENV{keys %{ $m->{env} || {} }} = values %{ $m->{env} || {} };
    my $c = $m->{conns} // $conns;
    my $t = $m->{threads} // 1;
    my $out = `wrk -t$t -c$c -d${s}s --latency -s $m->{script} http://127.0.0.1:$port$m->{path} 2>&1`;
    my %r = (out => $out);
    ($r{rps}) = $out =~ /Requests\/sec:\s+([\d.]+)/;
    ($r{reqs}) = $out =~ /(\d+) requests in/;
    ($r{non2xx}) = $out =~ /Non-2xx or 3xx responses:\s+(\d+)/;
    $r{non2xx} //= 0;
    ($r{errors}) = $out =~ /Socket errors: (.*)/;
    for my $pc (50, 99) {
        my ($v, $u) = $out =~ /^\s+$pc%\s+([\d.]+)(us|ms|s)\s*$/m;
        $v = defined $v ? $v * ($u eq 'us' ? 0.001 : $u eq 's' ? 1000 : 1)
                        : 0;
        $r{"p$pc"} = $v;
    }
    die "wrk failed:\n$out" unless $r{rps};
    if ($m->{token}) {
        # the Lua done(): what succeeded (grants, complete exchanges) and
        # what did not; wrk's socket errors count as errors too
        my ($ok, $err, $us) =
            $out =~ /^imprest-bench: ok=(\d+) errors=(\d+) duration_us=(\d+)/m
            or die "wrk: no result line from $m->{script}:\n$out";
        $r{ok} = $ok;
        $r{ops} = $us ? $ok / ($us / 1e6) : 0;
        $r{fail} = $err;
        $r{fail} += $1 while ($r{errors} // '') =~ /(\d+)/g;
    }
    return \%r;
}

my %modes = (
    plain => { path => '/plain/v1/invoices', script => "$dir/plain.lua" },
    gate  => { path => '/api/v1/invoices', script => "$dir/tokens.lua" },
);
my @order = ('plain', 'gate');

# extra modes append "name:path:lua" triples
for (split /,/, $ENV{BENCH_EXTRA} || '') {
    my ($name, $path, $script) = split /:/, $_, 3;
    $modes{$name} = { path => $path, script => $script };
    push @order, $name;
}

# the token endpoint: one connection per wrk thread (see the Lua files)
my %lua_env = (
    IMPREST_BENCH_CLIENT_ID    => $client_id,
    IMPREST_BENCH_AUTH         => $basic,
    IMPREST_BENCH_REDIRECT_URI => uri_escape($ru),
    IMPREST_BENCH_ORG          => $org,
    IMPREST_BENCH_USER         => 'bench',
    IMPREST_BENCH_SEEDS        => "$dir/refresh-seeds.txt",
);
$modes{refresh} = { path => '/oauth/token', token => 1,
    script => "$repo/tools/bench/refresh.lua", prepare => \&seed_refresh,
    threads => $tconns, conns => $tconns, env => \%lua_env };
$modes{exchange} = { path => '/oauth/authorize', token => 1,
    script => "$repo/tools/bench/exchange.lua",
    threads => $tconns, conns => $tconns, env => \%lua_env };
my @torder = ('refresh', 'exchange');

my %skip = map { $_ => 1 } split /,/, $ENV{BENCH_SKIP} || '';
@order = grep { !$skip{$_} } @order;
@torder = grep { !$skip{$_} } @torder;

my %res;
sub measure {
    my ($round, $m) = @_;
    # (seeding is not measured: before the counters are read)
    $modes{$m}{prepare}->() if $modes{$m}{prepare};
    my $before = redis_calls();
    my $r = wrk_run($modes{$m});
    $r->{cmds} = redis_calls() - $before;
    push @{ $res{$m} }, $r;
    printf "round %d %-8s %9.0f req/s  p50 %6.2f ms  p99 %6.2f ms  "
         . "non-2xx %d  redis cmds/req %.3f%s\n",
        $round, $m, $r->{rps}, $r->{p50}, $r->{p99}, $r->{non2xx},
        $r->{reqs} ? $r->{cmds} / $r->{reqs} : 0,
        !$modes{$m}{token} ? ''
            : sprintf("  %s/s %.0f  errors %d",
                      $m eq 'refresh' ? 'grants' : 'exchanges',
                      $r->{ops}, $r->{fail});
}

# warm up both paths (connections, caches), unmeasured
wrk_run($modes{$_}) for @order;

for my $round (1 .. $rounds) {
    measure($round, $_) for $round % 2 ? @order : reverse @order;
}

# the token endpoint, after the gate's rounds (its records do not change
# what the gate measured); a short unmeasured warm-up first
for (@torder) {
    $modes{$_}{prepare}->() if $modes{$_}{prepare};
    wrk_run($modes{$_}, $secs < 2 ? $secs : 2);
}

for my $round (1 .. $trounds) {
    measure($round, $_) for $round % 2 ? @torder : reverse @torder;
}

sub mean { my $s = 0; $s += $_ for @_; @_ ? $s / @_ : 0 }
sub sum { my $s = 0; $s += $_ for @_; $s }

my $nproc = `nproc`; chomp $nproc;
my $report = sprintf "\nImprest gate benchmark: %d rounds x %d s, %d connections, "
    . "%d tokens, %d nginx worker(s), %s CPUs shared by wrk, nginx, "
    . "upstream and Redis; Redis over %s\n\n", $rounds, $secs, $conns,
    $ntokens, $workers, $nproc,
    $transport eq 'unix' ? 'its unix socket' : 'TCP 127.0.0.1';
$report .= sprintf "%-8s %12s %10s %10s %10s %14s\n",
    'mode', 'req/s', 'p50 ms', 'p99 ms', 'non-2xx', 'redis cmd/req'
    if @order;
for my $m (@order) {
    my @r = @{ $res{$m} };
    my $reqs = 0; $reqs += $_->{reqs} for @r;
    my $cmds = 0; $cmds += $_->{cmds} for @r;
    my $non = 0; $non += $_->{non2xx} for @r;
    $report .= sprintf "%-8s %12.0f %10.2f %10.2f %10d %14.3f\n", $m,
        mean(map { $_->{rps} } @r), mean(map { $_->{p50} } @r),
        mean(map { $_->{p99} } @r), $non, $reqs ? $cmds / $reqs : 0;
}
if ($res{gate} && $res{plain}) {
    $report .= sprintf "\ngate/plain throughput ratio: %.2f (target >= 0.60)\n",
        mean(map { $_->{rps} } @{ $res{gate} })
        / mean(map { $_->{rps} } @{ $res{plain} });
}
if (@torder) {
    $report .= sprintf "\nToken endpoint: %d round(s) x %d s per mode, %d "
        . "connections (one per wrk thread), client_secret_basic\n\n",
        $trounds, $secs, $tconns;
    $report .= sprintf "%-8s %12s %10s %10s %10s %10s %14s\n",
        'mode', 'per s', 'req/s', 'p50 ms', 'p99 ms', 'errors',
        'redis cmd/req';
    for my $m (@torder) {
        my @r = @{ $res{$m} };
        my $reqs = sum(map { $_->{reqs} } @r);
        my $cmds = sum(map { $_->{cmds} } @r);
        # an exchange is three different requests: their mixed latency
        # says little, so only the refresh grant's is shown
        $report .= sprintf "%-8s %12.0f %10.0f %10s %10s %10d %14.3f\n", $m,
            mean(map { $_->{ops} } @r), mean(map { $_->{rps} } @r),
            $m eq 'refresh'
                ? (map { sprintf '%.2f', $_ } mean(map { $_->{p50} } @r),
                                              mean(map { $_->{p99} } @r))
                : ('-', '-'),
            sum(map { $_->{fail} } @r), $reqs ? $cmds / $reqs : 0;
    }
    my %note = (
        refresh  => "refresh_token grants/s (each rotates the refresh "
                  . "token; per s = req/s when nothing fails)",
        exchange => "complete code exchanges/s (GET + POST /oauth/authorize, "
                  . "POST /oauth/token); req/s counts all three requests");
    $report .= "\n";
    $report .= sprintf "%-9s %s\n", "$_:", $note{$_} for @torder;
}
print $report;
open my $rf, '>', "$dir/results.txt" or die;
print $rf $report;
close $rf;
print "(also in build/bench/results.txt)\n";
