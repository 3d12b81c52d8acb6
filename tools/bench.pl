#!/usr/bin/perl
# `make bench` (issue 10): the gateway nginx with and without the gate,
# the upstream in its OWN nginx process, Redis in its own, wrk on the same
# machine.  Sections:
#
#   throughput  interleaved rounds of plain proxy / gate uncached / gate
#               cached (imprest_cache), random tokens out of BENCH_TOKENS,
#               for 1 and 2 gateway workers: req/s, p50/p99, non-2xx,
#               Redis commands per request (INFO commandstats deltas of
#               what clients send), the cache hit ratio (1 - FCALLs per
#               cached request) and the ratios to plain
#   revocation  two gateways (two nginx instances, cached) on one Redis,
#               under load; a token in use on both is revoked at
#               /oauth/revoke on the first, and separately a membership is
#               removed with a plain SREM; p50/p99/max over BENCH_TRIALS of
#               the time until both refuse it; stale answers counted
#   scale       gate uncached and cached with BENCH_SCALE_TOKENS stored
#               tokens (10,000 and 1,000,000), and the gateway's RSS over
#               BENCH_RSS_REQUESTS cached requests
#   token       (BENCH_TOKEN_ROUNDS, 0 by default) refresh grants/s and
#               complete code exchanges/s (tools/bench/*.lua)
#
# The last line is machine-readable, the 1-worker ratios:
#   imprest-bench: uncached=<ratio> cached=<ratio>
#
# Knobs: BENCH_ROUNDS (3) BENCH_SECONDS (10) BENCH_CONNECTIONS (64)
#   BENCH_TOKENS (10000) BENCH_WORKERS ("1 2") BENCH_TRIALS (100)
#   BENCH_SCALE_TOKENS ("10000 1000000") BENCH_SCALE_SECONDS (10)
#   BENCH_RSS_REQUESTS (1000000) BENCH_RSS_MAX_SECONDS (120)
#   BENCH_SKIP (any of throughput,revocation,scale)
#   BENCH_TOKEN_ROUNDS (0) BENCH_TOKEN_CONNECTIONS (8)
#   BENCH_REDIS=tcp|unix (tcp)  BENCH_PORTS (8090-8094)
#   BENCH_PROFILE=1: perf record (cpu-clock, call graphs) of the gateway's
#     workers in the first round of each mode: build/bench/perf-MODE-N.data
# The default run takes about five minutes on a 2-core machine; longer
# runs: BENCH_ROUNDS=5 BENCH_SECONDS=10 (the independent benchmark's).

use strict;
use warnings;

use Digest::SHA qw(sha256 sha256_hex);
use HTTP::Tiny;
use JSON::PP qw(decode_json);
use MIME::Base64 qw(encode_base64 encode_base64url);
use File::Path qw(make_path remove_tree);
use IO::Socket::INET;
use IO::Select;
use POSIX ();
use Time::HiRes qw(sleep time);

use Cwd qw(abs_path);
use File::Basename qw(dirname);
my $repo = abs_path(dirname(abs_path($0)) . '/..');

my $dir      = "$repo/build/bench";
my $nginx    = $ENV{NGINX} || '/usr/sbin/nginx';
my $module   = $ENV{MODULE} || "$repo/build/nginx-dev/objs/ngx_http_imprest_module.so";
my $rounds   = $ENV{BENCH_ROUNDS} || 3;
my $secs     = $ENV{BENCH_SECONDS} || 10;
my $conns    = $ENV{BENCH_CONNECTIONS} || 64;
my $ntokens  = $ENV{BENCH_TOKENS} || 10000;
my @workers  = split ' ', ($ENV{BENCH_WORKERS} || '1 2');
my $trials   = $ENV{BENCH_TRIALS} || 100;
my @scale    = split ' ', ($ENV{BENCH_SCALE_TOKENS} || '10000 1000000');
my $ssecs    = $ENV{BENCH_SCALE_SECONDS} || 10;
my $rssreq   = $ENV{BENCH_RSS_REQUESTS} || 1000000;
my $rssmax   = $ENV{BENCH_RSS_MAX_SECONDS} || 120;
my $trounds  = $ENV{BENCH_TOKEN_ROUNDS} // 0;
my $tconns   = $ENV{BENCH_TOKEN_CONNECTIONS} || 8;
my $spares   = 2;
my $ctl      = "$repo/build/imprestctl";
my ($p0)     = ($ENV{BENCH_PORTS} || '8090-8094') =~ /^(\d+)/;
my $rport    = $p0;            # Redis
my $port     = $p0 + 1;        # gateway A
my $uport    = $p0 + 2;        # the upstream nginx
my $bport    = $p0 + 3;        # gateway B (revocation)
my $org      = '3f2b6c1e-7a4d-4e5f-9b0a-1c2d3e4f5a6b';
my $base     = "http://127.0.0.1:$port";
my $ru       = 'https://bench.example/cb';
my %skip     = map { $_ => 1 } split /,/, $ENV{BENCH_SKIP} || '';

for my $p ($rport, $port, $uport, $bport) {
    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$p");
    next unless $s;
    close $s;
    die "bench: port $p is in use (another bench running?); "
        . "set BENCH_PORTS or wait\n";
}
-x $ctl or die "bench: $ctl missing: make imprestctl\n";
-f $module or die "bench: $module missing: make module\n";
system('which wrk >/dev/null') == 0 or die "bench: wrk missing\n";

my %pids;
sub stop {
    my ($name, $sig) = @_;
    my $p = delete $pids{$name} or return;
    kill $sig // 'TERM', $p;
    waitpid $p, 0;
}
sub cleanup { stop($_) for sort keys %pids }
$SIG{INT} = $SIG{TERM} = sub { cleanup(); exit 1 };
END { cleanup() }

remove_tree($dir);
make_path("$dir/logs", "$dir/redis", "$dir/a/logs", "$dir/a/conf",
          "$dir/b/logs", "$dir/b/conf", "$dir/up/logs", "$dir/up/conf");

sub spawn {
    my ($name, @cmd) = @_;
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        open STDOUT, '>>', "$dir/logs/$name.log";
        open STDERR, '>&', \*STDOUT;
        { exec @cmd }
        POSIX::_exit(127);
    }
    $pids{$name} = $pid;
    return $pid;
}

sub wait_port {
    my ($p, $name) = @_;
    for (1 .. 200) {
        die "bench: $name exited; see $dir/logs/$name.log\n"
            if waitpid($pids{$name}, POSIX::WNOHANG()) == $pids{$name};
        my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$p");
        if ($s) { close $s; return }
        sleep 0.05;
    }
    die "bench: nothing listens on $p; see $dir/logs/$name.log\n";
}

sub redis { my $out = `redis-cli -p $rport @_ 2>&1`; return $out }

my $transport = $ENV{BENCH_REDIS} || 'tcp';
die "BENCH_REDIS: tcp or unix\n" unless $transport =~ /^(tcp|unix)$/;
my $rsock = "$dir/redis/redis.sock";
my $raddr = $transport eq 'unix' ? "unix:$rsock" : "127.0.0.1:$rport";

spawn('redis', 'redis-server', '--port', $rport, '--bind', '127.0.0.1',
      '--unixsocket', $rsock, '--unixsocketperm', '777',
      '--save', '', '--appendonly', 'no', '--dir', "$dir/redis");
wait_port($rport, 'redis');

# --- tokens, written with the layout imprestctl writes ----------------------

sub resp {
    my $s = '*' . scalar(@_) . "\r\n";
    $s .= '$' . length($_) . "\r\n$_\r\n" for @_;
    return $s;
}

open my $rnd, '<', '/dev/urandom' or die;
sub new_token {
    read($rnd, my $raw, 32);
    my $head = 'imp_at_' . encode_base64url($raw);
    return $head . encode_base64url(substr(sha256($head), 0, 4));
}

my $stored = 0;
my @tokens;
my $cid_app;      # set once the app exists (revocation's tokens)

# makes the store hold $n bench tokens (adds to it); the first
# $ntokens are the ones wrk uses
sub seed_tokens {
    my ($n) = @_;
    return if $n <= $stored;
    printf "seeding %d tokens...\n", $n - $stored;
    open my $pipe, '|-', "redis-cli -p $rport --pipe >>$dir/logs/pipe.log 2>&1"
        or die;
    if ($stored == 0) {
        print $pipe resp('HSET', 'imprest:user:bench', 'name', 'Bench User');
        print $pipe resp('SADD', 'imprest:user:bench:orgs', $org);
        print $pipe resp('HSET', "imprest:org:$org", 'name', 'Bench Org');
    }
    my $exp = int(time()) + 86400;
    for ($stored + 1 .. $n) {
        my $tok = new_token();
        push @tokens, $tok if @tokens < $ntokens;
        my $key = 'imprest:at:' . sha256_hex($tok);
        print $pipe resp('HSET', $key, 'uid', 'bench', 'cid', 'bench-app',
                         'scope', 'money_in money_out', 'orgs', $org,
                         'iat', int(time()), 'exp', $exp, 'aud', '');
        print $pipe resp('EXPIRE', $key, 86400);
    }
    close $pipe;
    $stored = $n;
    open my $tf, '>', "$dir/tokens.txt" or die;
    print $tf "$_\n" for @tokens;
    close $tf;
}

seed_tokens($ntokens);

# --- the upstream: its own nginx, no module ---------------------------------

open my $uf, '>', "$dir/up/conf/nginx.conf" or die;
print $uf <<"EOF";
worker_processes 1;
error_log logs/error.log warn;
pid logs/nginx.pid;
events { worker_connections 4096; }
http {
    access_log off;
    server {
        listen 127.0.0.1:$uport backlog=4096;
        keepalive_requests 1000000;
        location / { return 200 "ok\\n"; }
    }
}
EOF
close $uf;
spawn('upstream', $nginx, '-p', "$dir/up/", '-c', 'conf/nginx.conf',
      '-g', 'daemon off;');
wait_port($uport, 'upstream');

# --- a gateway: plain proxy, gate uncached, gate cached, the AS -------------

sub gateway_conf {
    my ($name, $listen, $nworkers) = @_;
    open my $cf, '>', "$dir/$name/conf/nginx.conf" or die;
    print $cf <<"EOF";
load_module $module;
worker_processes $nworkers;
error_log logs/error.log warn;
pid logs/nginx.pid;
events { worker_connections 4096; }
http {
    access_log off;
    imprest_redis $raddr timeout=1s;
    imprest_cache_zone zone=imprest:64m;
    imprest_issuer http://127.0.0.1:$listen;
    imprest_scope money_in "See invoices and payments received";
    imprest_scope money_out "See bills and payments made";
    upstream backend { server 127.0.0.1:$uport; keepalive 64; }
    server {
        listen 127.0.0.1:$listen backlog=4096;
        keepalive_requests 1000000;
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
        location /cached/ {
            imprest_gate on;
            imprest_cache on;
            imprest_require_scope money_in;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_pass http://backend;
        }
        location = /oauth/authorize {
            imprest_user \$http_x_bench_user;
            imprest_authorize;
        }
        location = /oauth/token { imprest_token; }
        location = /oauth/revoke { imprest_revoke; }
    }
}
EOF
    close $cf;
}

sub start_gateway {
    my ($name, $listen, $nworkers) = @_;
    stop($name);
    gateway_conf($name, $listen, $nworkers);
    spawn($name, $nginx, '-p', "$dir/$name/", '-c', 'conf/nginx.conf',
          '-g', 'daemon off;');
    wait_port($listen, $name);
    # the workers subscribe and confirm (imprest_cache) at start
    sleep 1;
}

sub worker_pids {
    my ($name) = @_;
    return split ' ', `pgrep -P $pids{$name}`;
}

sub rss_kb {
    my ($name) = @_;
    my $t = 0;
    for my $p (worker_pids($name)) {
        open my $s, '<', "/proc/$p/status" or next;
        while (<$s>) { $t += $1 if /^VmRSS:\s+(\d+)/ }
    }
    return $t;
}

# --- wrk ----------------------------------------------------------------------

open my $lua, '>', "$dir/tokens.lua" or die;
print $lua <<"EOF";
local tokens = {}
for line in io.lines("$dir/tokens.txt") do tokens[#tokens + 1] = line end
math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
request = function()
    local t = tokens[math.random(#tokens)]
    return wrk.format("GET", nil, {
        ["Authorization"] = "Bearer " .. t,
        ["X-Organization-Id"] = "$org" })
end
EOF
close $lua;

# what nginx sends, as commandstats counts it (the scripts' own calls
# inside Redis are counted there too, so only client commands are kept)
my %client_cmd = map { $_ => 1 }
    qw(evalsha eval fcall fcall_ro function|load script|load auth select
       hello ping client|tracking client|id subscribe config|get);
sub redis_stats {
    my %c = (total => 0, fcall => 0);
    for (split /\n/, redis('INFO', 'commandstats')) {
        next unless /^cmdstat_([\w|]+):calls=(\d+)/;
        $c{total} += $2 if $client_cmd{$1};
        $c{fcall} += $2 if $1 eq 'fcall' || $1 eq 'evalsha';
    }
    return \%c;
}

sub wrk_run {
    my (%o) = @_;
    local @ENV{keys %{ $o{env} || {} }} = values %{ $o{env} || {} };
    my $c = $o{conns} // $conns;
    my $t = $o{threads} // 2;
    my $s = $o{secs} // $secs;
    my $p = $o{port} // $port;
    my $out = `wrk -t$t -c$c -d${s}s --latency -s $o{script} http://127.0.0.1:$p$o{path} 2>&1`;
    my %r = (out => $out);
    ($r{rps}) = $out =~ /Requests\/sec:\s+([\d.]+)/;
    ($r{reqs}) = $out =~ /(\d+) requests in/;
    ($r{non2xx}) = $out =~ /Non-2xx or 3xx responses:\s+(\d+)/;
    $r{non2xx} //= 0;
    ($r{errors}) = $out =~ /Socket errors: (.*)/;
    for my $pc (50, 99) {
        my ($v, $u) = $out =~ /^\s+$pc%\s+([\d.]+)(us|ms|s)\s*$/m;
        $r{"p$pc"} = defined $v
            ? $v * ($u eq 'us' ? 0.001 : $u eq 's' ? 1000 : 1) : 0;
    }
    die "wrk failed:\n$out" unless $r{rps};
    if ($o{token}) {
        my ($ok, $err, $us) =
            $out =~ /^imprest-bench: ok=(\d+) errors=(\d+) duration_us=(\d+)/m
            or die "wrk: no result line from $o{script}:\n$out";
        $r{ok} = $ok;
        $r{ops} = $us ? $ok / ($us / 1e6) : 0;
        $r{fail} = $err;
        $r{fail} += $1 while ($r{errors} // '') =~ /(\d+)/g;
    }
    return \%r;
}

my %path = (plain => '/plain/v1/invoices', uncached => '/api/v1/invoices',
            cached => '/cached/v1/invoices');
my @modes = qw(plain uncached cached);

# CPU seconds used so far by the gateway's workers, and by Redis: a
# figure the neighbours' load on a shared machine disturbs much less
# than req/s
my $hz = POSIX::sysconf(POSIX::_SC_CLK_TCK()) || 100;
sub gw_cpu {
    my $t = 0;
    for my $p (exists $pids{a} ? worker_pids('a') : ()) {
        open my $s, '<', "/proc/$p/stat" or next;
        my @f = split ' ', (<$s> =~ /\)\s+(.*)/)[0];
        $t += ($f[11] + $f[12]) / $hz;
    }
    return $t;
}
sub redis_cpu {
    my $i = redis('INFO', 'cpu');
    my ($s) = $i =~ /used_cpu_sys:([\d.]+)/;
    my ($u) = $i =~ /used_cpu_user:([\d.]+)/;
    return ($s // 0) + ($u // 0);
}

sub measure {
    my (%o) = @_;
    my $before = redis_stats();
    my ($g0, $r0) = (gw_cpu(), redis_cpu());
    my $r = wrk_run(%o);
    my ($g1, $r1) = (gw_cpu(), redis_cpu());
    my $after = redis_stats();
    $r->{cmds} = $after->{total} - $before->{total};
    $r->{fcalls} = $after->{fcall} - $before->{fcall};
    $r->{gwcpu} = $g1 - $g0;
    $r->{rcpu} = $r1 - $r0;
    return $r;
}

sub mean { my $s = 0; $s += $_ for @_; @_ ? $s / @_ : 0 }
sub sum { my $s = 0; $s += $_ for @_; $s }
sub pct {
    my ($p, @v) = @_;
    @v = sort { $a <=> $b } @v;
    return 0 unless @v;
    my $i = int($p / 100 * @v + 0.999999) - 1;
    $i = 0 if $i < 0;
    return $v[$i];
}

my $nproc = `nproc`; chomp $nproc;
my $report = sprintf "Imprest gate benchmark: %d CPUs shared by wrk, the "
    . "gateway nginx, the upstream nginx (its own process, 1 worker) and "
    . "Redis 7 over %s; wrk %d connections, 2 threads\n", $nproc,
    $transport eq 'unix' ? 'its unix socket' : 'TCP 127.0.0.1', $conns;
my %ratio;

sub out { print @_; $report .= join '', @_ }

# --- throughput -----------------------------------------------------------------

unless ($skip{throughput}) {
    for my $nw (@workers) {
        start_gateway('a', $port, $nw);
        # warm-up: connections, and the cache's first fill
        wrk_run(path => $path{$_}, script => "$dir/tokens.lua", secs => 2)
            for @modes;
        my %res;
        out(sprintf "\n%d gateway worker(s): %d rounds x %d s, %d tokens "
            . "at random\n", $nw, $rounds, $secs, $ntokens);
        for my $round (1 .. $rounds) {
            for my $m ($round % 2 ? @modes : reverse @modes) {
                my $perf;
                if ($ENV{BENCH_PROFILE} && $round == 1) {
                    # cpu-clock samples of the gateway's workers (perf's
                    # software clock: no hardware counters needed)
                    $perf = fork // die;
                    if (!$perf) {
                        open STDOUT, '>', "$dir/logs/perf-$m-$nw.log";
                        open STDERR, '>&', \*STDOUT;
                        { exec 'perf', 'record', '-e', 'cpu-clock', '-g',
                               '-o', "$dir/perf-$m-$nw.data", '-p',
                               join(',', worker_pids('a')), '--', 'sleep',
                               $secs - 1 }
                        POSIX::_exit(127);
                    }
                }
                my $r = measure(path => $path{$m},
                                script => "$dir/tokens.lua");
                waitpid $perf, 0 if $perf;
                push @{ $res{$m} }, $r;
                printf "  round %d %-8s %9.0f req/s  p50 %6.2f ms  "
                     . "p99 %6.2f ms  non-2xx %d  cmds/req %.3f  "
                     . "CPU us/req gateway %.1f redis %.1f\n",
                     $round, $m, $r->{rps}, $r->{p50}, $r->{p99},
                     $r->{non2xx}, $r->{cmds} / ($r->{reqs} || 1),
                     1e6 * $r->{gwcpu} / ($r->{reqs} || 1),
                     1e6 * $r->{rcpu} / ($r->{reqs} || 1);
            }
        }
        out(sprintf "  %-9s %10s %8s %8s %8s %9s %7s %6s %6s %6s  %s\n",
            'mode', 'req/s', 'p50 ms', 'p99 ms', 'non-2xx', 'cmds/req',
            'hit', 'ratio', 'gw us', 'rd us', 'rounds (req/s)');
        my $plain = mean(map { $_->{rps} } @{ $res{plain} });
        for my $m (@modes) {
            my @r = @{ $res{$m} };
            my $reqs = sum(map { $_->{reqs} } @r) || 1;
            my $rps = mean(map { $_->{rps} } @r);
            my $hit = $m eq 'cached'
                ? sprintf('%.4f', 1 - sum(map { $_->{fcalls} } @r) / $reqs)
                : '-';
            $ratio{$nw}{$m} = $rps / $plain;
            out(sprintf "  %-9s %10.0f %8.2f %8.2f %8d %9.3f %7s %6.2f "
                . "%6.1f %6.1f  %s\n",
                $m, $rps, mean(map { $_->{p50} } @r),
                mean(map { $_->{p99} } @r), sum(map { $_->{non2xx} } @r),
                sum(map { $_->{cmds} } @r) / $reqs, $hit, $rps / $plain,
                1e6 * sum(map { $_->{gwcpu} } @r) / $reqs,
                1e6 * sum(map { $_->{rcpu} } @r) / $reqs,
                join(' ', map { sprintf '%.0f', $_->{rps} } @r));
        }
        out("  (gw us, rd us: CPU microseconds per request of the gateway's "
            . "workers and of Redis)\n");
    }
}

# --- revocation latency --------------------------------------------------------

# a keep-alive HTTP/1.1 client for the polls: the status of each answer
sub http_conn {
    my ($p) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$p", Proto => 'tcp')
        or die "bench: connect $p: $!";
    return $s;
}

sub http_status {
    my ($s, $req) = @_;
    print $s $req;
    my $buf = '';
    while (1) {
        my $n = sysread($s, $buf, 65536, length $buf);
        die "bench: read: $!" unless $n;
        if ($buf =~ /\r\n\r\n/ && $buf =~ /Content-Length: (\d+)/i) {
            my ($head, $body) = split /\r\n\r\n/, $buf, 2;
            return (($head =~ m{^HTTP/1\.1 (\d+)})[0])
                if length($body) >= $1;
        }
    }
}

unless ($skip{revocation}) {
    start_gateway('a', $port, $workers[-1]);
    start_gateway('b', $bport, $workers[-1]);
    my $app = `$ctl --json --redis 127.0.0.1:$rport app create --name Bench --redirect-uri $ru --scope "money_in money_out" 2>&1`;
    $? == 0 or die "bench: imprestctl app create failed: $app";
    $app = decode_json($app);
    my ($cid, $sec) = ($app->{client_id}, $app->{client_secret});

    # both gateways busy with cached traffic meanwhile
    my @load;
    for my $p ($port, $bport) {
        my $pid = fork // die;
        if (!$pid) {
            open STDOUT, '>', '/dev/null';
            open STDERR, '>&', \*STDOUT;
            { exec 'wrk', '-t1', '-c16', '-d3600s', '-s', "$dir/tokens.lua",
                   "http://127.0.0.1:$p/cached/v1/invoices" }
            POSIX::_exit(127);
        }
        push @load, $pid;
    }
    sleep 1;

    my %conn = (a => http_conn($port), b => http_conn($bport));
    my %lat = (revoke => [], srem => []);
    my $stale = 0;
    my $rs = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$rport")
        or die "bench: redis: $!";
    my $rcmd = sub {
        print $rs resp(@_);
        my $l = <$rs>;
        return $l;
    };

    for my $kind ('revoke', 'srem') {
        for my $t (1 .. $trials) {
            my $tok = new_token();
            my $uid = "rv$t$kind";
            my $key = 'imprest:at:' . sha256_hex($tok);
            $rcmd->('SADD', "imprest:user:$uid:orgs", $org);
            $rcmd->('HSET', $key, 'uid', $uid, 'cid', $cid, 'scope',
                    'money_in', 'orgs', $org, 'iat', int(time()),
                    'exp', int(time()) + 3600, 'aud', '');
            $rcmd->('EXPIRE', $key, 3600);
            my $get = "GET /cached/v1/x HTTP/1.1\r\nHost: b\r\n"
                . "Authorization: Bearer $tok\r\nX-Organization-Id: $org\r\n\r\n";
            # in use on both: stored in both zones
            for my $g ('a', 'b') {
                for (1 .. 3) {
                    my $st = http_status($conn{$g}, $get);
                    die "bench: trial token refused ($st) on $g\n"
                        unless $st == 200;
                }
            }
            my $t0 = time();
            if ($kind eq 'revoke') {
                my $body = "token=$tok&client_id=$cid&client_secret=$sec";
                my $st = http_status($conn{a},
                    "POST /oauth/revoke HTTP/1.1\r\nHost: a\r\n"
                    . "Content-Type: application/x-www-form-urlencoded\r\n"
                    . 'Content-Length: ' . length($body) . "\r\n\r\n$body");
                die "bench: revoke: $st\n" unless $st == 200;
            } else {
                $rcmd->('SREM', "imprest:user:$uid:orgs", $org);
            }
            # the change is done: every 200 from now on is stale
            my $t1 = time();
            my %done;
            while (keys %done < 2) {
                for my $g ('a', 'b') {
                    next if $done{$g};
                    my $st = http_status($conn{$g}, $get);
                    if ($st == 200) {
                        $stale++;
                    } else {
                        $done{$g} = time() - $t1;
                    }
                }
                die "bench: not refused after 5 s\n" if time() - $t1 > 5;
            }
            push @{ $lat{$kind} }, 1000 * ($done{a} > $done{b} ? $done{a}
                                                               : $done{b});
        }
    }
    kill 'TERM', @load;
    waitpid $_, 0 for @load;

    out(sprintf "\nRevocation: 2 gateways x %d worker(s), cached, each "
        . "under 16 connections of cached load; time from the change's "
        . "completion until both refuse, %d trials each\n", $workers[-1],
        $trials);
    for my $kind ('revoke', 'srem') {
        my @v = @{ $lat{$kind} };
        out(sprintf "  %-22s p50 %7.2f ms  p99 %7.2f ms  max %7.2f ms\n",
            $kind eq 'revoke' ? '/oauth/revoke on A:' : 'redis SREM:',
            pct(50, @v), pct(99, @v), pct(100, @v));
    }
    out(sprintf "  stale answers (200 after the change completed): %d\n",
        $stale);
    out("  (each gateway is polled in turn on one keep-alive connection, so "
        . "a figure includes the polls of the other)\n");
    stop('b');
}

# --- scale -----------------------------------------------------------------------

unless ($skip{scale}) {
    out(sprintf "\nScale: 1 worker, %d s per mode, wrk picks among the first "
        . "%d tokens\n", $ssecs, $ntokens);
    for my $n (@scale) {
        seed_tokens($n);
        start_gateway('a', $port, 1);
        wrk_run(path => $path{$_}, script => "$dir/tokens.lua", secs => 2)
            for qw(uncached cached);
        my $mem = `redis-cli -p $rport INFO memory` =~ /used_memory_human:(\S+)/
                  ? $1 : '?';
        for my $m (qw(uncached cached)) {
            my $r = measure(path => $path{$m}, script => "$dir/tokens.lua",
                            secs => $ssecs);
            out(sprintf "  %8d stored (Redis %s)  %-8s %9.0f req/s  p50 "
                . "%6.2f ms  p99 %6.2f ms  non-2xx %d\n", $n, $mem, $m,
                $r->{rps}, $r->{p50}, $r->{p99}, $r->{non2xx});
        }
    }

    # RSS over many cached requests (and misses: the whole 10k set)
    start_gateway('a', $port, 1);
    my ($total, $t0) = (0, time());
    my @rss = (rss_kb('a'));
    while ($total < $rssreq && time() - $t0 < $rssmax) {
        my $r = wrk_run(path => $path{cached}, script => "$dir/tokens.lua",
                        secs => 10);
        $total += $r->{reqs};
        push @rss, rss_kb('a');
    }
    out(sprintf "  gateway RSS over %d cached requests (%s): %s kB\n",
        $total, $total < $rssreq ? "time cap BENCH_RSS_MAX_SECONDS=$rssmax "
        . "reached before $rssreq" : 'per 10 s', join(' ', @rss));
}

# --- the token endpoint (optional) -------------------------------------------

if ($trounds > 0) {
    start_gateway('a', $port, 1);
    require "$repo/tools/bench/token.pl";
    our ($token_report) = bench_token_endpoint(
        ctl => $ctl, rport => $rport, base => $base, ru => $ru, org => $org,
        dir => $dir, repo => $repo, rounds => $trounds, secs => $secs,
        conns => $tconns, spares => $spares, wrk_run => \&wrk_run,
        measure => \&measure);
    out($token_report);
}

my $r1 = $ratio{$workers[0]};
out(sprintf "\nTargets (issue 10): cached >= 0.95x plain, uncached >= 0.75x, "
    . "revocation p99 <= 100 ms\n");
out(sprintf "imprest-bench: uncached=%.2f cached=%.2f\n",
    $r1 ? $r1->{uncached} : 0, $r1 ? $r1->{cached} : 0);

open my $rf, '>', "$dir/results.txt" or die;
print $rf $report;
close $rf;
