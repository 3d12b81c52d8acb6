package Imprest::Test;

# Fixtures and fault injectors for the Test::Nginx suite.  Used from
# `--- init` blocks, so it works the same under OpenResty's Test::Nginx and
# under the project's own runner (t/inc).
#
# Tokens are made here, at load time, with an independent implementation
# of the token format (so the module's checksum code is cross-checked),
# and written to Redis with imprestctl --token.

use strict;
use warnings;

use Digest::SHA qw(sha256 sha256_hex sha1_hex);
use MIME::Base64 qw(encode_base64url);
use JSON::PP;
use IO::Socket::INET;
use POSIX ();
use Time::HiRes ();
use Exporter 'import';

our @EXPORT = qw(
    $AT $AT_RO $AT_EXPIRED $AT_STALE $AT_AUD $AT_BOB $AT_GONE $AT_NOEXP
    $ORG1 $ORG2 $ORG3 $ORG_NONE
    seed ctl redis token_new fake_redis stop_fake start_redis stop_redis
    redis_port use_http_config
);

our $ORG1 = '3f2b6c1e-7a4d-4e5f-9b0a-1c2d3e4f5a6b';   # Acme, alice + bob
our $ORG2 = '9d8c7b6a-5e4f-4a3b-8c2d-1e0f9a8b7c6d';   # Beta, alice
our $ORG3 = 'a1b2c3d4-e5f6-4789-abcd-ef0123456789';   # Gamma, bob only
our $ORG_NONE = '00000000-1111-4222-8333-444444444444'; # does not exist

sub token_new {
    my ($type) = @_;
    $type //= 'at';
    my $raw = '';
    open my $fh, '<', '/dev/urandom' or die "urandom: $!";
    read($fh, $raw, 32) == 32 or die "urandom short read";
    close $fh;
    my $head = "imp_${type}_" . encode_base64url($raw);
    my $check = encode_base64url(substr(sha256($head), 0, 4));
    return $head . $check;
}

our $AT         = token_new();   # alice, money_in money_out, ORG1 ORG2
our $AT_RO      = token_new();   # alice, "readonly unread READ", ORG1
our $AT_EXPIRED = token_new();   # record gone (Redis TTL elapsed)
our $AT_STALE   = token_new();   # exp in the past, Redis TTL still alive
our $AT_AUD     = token_new();   # bound to another audience
our $AT_BOB     = token_new();   # bob, money_in, ORG1 ORG3
our $AT_GONE    = token_new();   # carol, ORG2 granted, membership removed
our $AT_NOEXP   = token_new();   # corrupt record without exp

# Under valgrind (TEST_NGINX_USE_VALGRIND) nginx runs 20-50 times slower:
# the waits below that only bound how long something may take (not those a
# test measures) are multiplied by TEST_NGINX_TIMEOUT_SCALE, as our runner
# does with its own (10 by default under valgrind, else 1).
our $SCALE = $ENV{TEST_NGINX_TIMEOUT_SCALE}
             || ($ENV{TEST_NGINX_USE_VALGRIND} ? 10 : 1);

# The http{} preamble every gate test shares: the gate's Redis, and an
# upstream that echoes what reached it (underscore spellings included).
# Its 1s command timeout is no test's subject (those set their own):
# scaled, as is every imprest_redis's default connect_timeout (below).
our $HTTP_CONFIG = <<'_EOC_';
    imprest_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT timeout=1s;

    server {
        listen 127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
        underscores_in_headers on;

        location / {
            return 200 "uid=$http_x_imprest_user_id cid=$http_x_imprest_client_id org=$http_x_organization_id iorg=$http_x_imprest_org_id scope=$http_x_imprest_scope auth=$http_authorization xauth=$http_x_auth_user uri=$request_uri\n";
        }
    }
_EOC_
$HTTP_CONFIG =~ s{timeout=1s;}{"timeout=" . int(1000 * $SCALE) . "ms;"}e
    if $SCALE != 1;

# Blocks whose assertions bound times that memcheck's slowness breaks
# (t/valgrind.todo: "FILE N: why"): under valgrind they get our runner's
# --- valgrind_todo, so their own checks are TODO and only the memory and
# crash checks fail them.  OpenResty's runner ignores the section.
our %VALGRIND_TODO;
if ($ENV{TEST_NGINX_USE_VALGRIND}) {
    (my $list = __FILE__) =~ s{lib/Imprest/Test\.pm\z}{valgrind.todo};
    if (open my $fh, '<', $list) {
        while (my $line = <$fh>) {
            next if $line =~ /^\s*(?:#|$)/;
            $line =~ /^\s*(\S+?)(?:\.t)?\s+(\d+)\s*:\s*(.*?)\s*$/
                or die "$list: cannot parse: $line";
            $VALGRIND_TODO{"$1 $2"} = $3;
        }
        close $fh;
    }
    Test::Nginx::Socket::add_block_preprocessor(sub {
        my $block = shift;
        my ($file) = $0 =~ m{([^/]+?)(?:\.t)?\z};
        my ($n) = $block->name =~ /\bTEST (\d+):/;
        my $why = defined $n ? $VALGRIND_TODO{"$file $n"} : undef;
        $block->set_value(valgrind_todo => $why)
            if defined $why && !defined $block->valgrind_todo;
        return $block;
    });
}

# Every block of every file logs every $imprest_* variable at http level,
# as operators do (README, log_format): each location of each test then
# evaluates them, gate or not, and a worker that crashes on one fails the
# block.
our $LOG_VARIABLES = <<'_EOC_';
    log_format imprest_vars '$request $status st=$imprest_status '
                            'u=$imprest_user_id c=$imprest_client_id '
                            'o=$imprest_org_id s="$imprest_scope"';
    access_log logs/imprest_vars.log imprest_vars;
_EOC_

# Under valgrind, every imprest_redis directive that does not set its own
# connect_timeout= gets the scaled default (1s times $SCALE): the default
# is no test's subject (the one that tests it sets it), and a worker
# starting under memcheck sees its first connect after more than 1s.
sub scale_connect_timeout {
    my ($http) = @_;
    return $http if $SCALE == 1;
    my $ms = int(1000 * $SCALE);
    $http =~ s{(\bimprest_redis\s+[^;]*?)\s*;}{
        my $d = $1;
        $d =~ /\bconnect_timeout=/ ? "$d;" : "$d connect_timeout=${ms}ms;"
    }ge;
    return $http;
}

Test::Nginx::Socket::set_http_config_filter(sub {
    return $LOG_VARIABLES . scale_connect_timeout(shift);
});

# --- `--- init` code runs in package Test::Nginx::Util ----------------------
#
# Both runners (OpenResty's Test::Nginx and ours in t/inc) evaluate a
# block's `--- init` in package Test::Nginx::Util, under `use strict`, once
# nginx has started.  So that init code can call what the test file itself
# sees -- this module's exports, Test::More's ok/is/like, imported functions
# such as sha256_hex, the file's own subs and `our` variables -- each of
# main's symbols is aliased into Test::Nginx::Util before every block,
# unless Util had a symbol of that name of its own when this module was
# loaded: then init gets Util's, and a sub the test file defines under that
# name is reported once, so it can be renamed.  Code that must run before
# nginx starts goes in `--- before_start` (use_fault_hooks() below).

my %UTIL_OWN = map { $_ => 1 } keys %Test::Nginx::Util::;
my %NOT_SHARED = map { $_ => 1 } qw(
    ENV INC ARGV ARGVOUT STDIN STDOUT STDERR DATA SIG _ a b
    BEGIN END INIT CHECK UNITCHECK DESTROY AUTOLOAD import unimport
    VERSION ISA EXPORT EXPORT_OK EXPORT_TAGS
);
my %shadow_reported;

sub share_main_with_util {
    no strict 'refs';
    for my $n (keys %main::) {
        next if $n !~ /\A[A-Za-z_]\w*\z/ || $NOT_SHARED{$n};
        my $to = "Test::Nginx::Util::$n";
        if ($UTIL_OWN{$n}) {
            if (defined &{"main::$n"} && defined &$to
                && \&{"main::$n"} != \&$to && !$shadow_reported{$n}++
                && B::svref_2object(\&{"main::$n"})->STASH->NAME eq 'main')
            {
                Test::More::diag("$0: sub $n of the test file is not seen "
                    . "by --- init: Test::Nginx::Util has its own $n");
            }
            next;
        }
        my $glob = \*{"main::$n"};
        *$to = \&{"main::$n"} if defined &{"main::$n"};
        *$to = *{$glob}{SCALAR};
        *$to = *{$glob}{ARRAY} if *{$glob}{ARRAY};
        *$to = *{$glob}{HASH} if *{$glob}{HASH};
    }
    return;
}

require B;
Test::Nginx::Socket::add_block_preprocessor(sub { share_main_with_util() });

# --- what fails every block, under either runner -----------------------------
# [alert], [crit], [emerg], crash and sanitizer lines: see Imprest::Test::Logs
# (a module of its own so that t/runner/selftest.sh can prove it on a plain
# nginx).

require Imprest::Test::Logs;

sub use_http_config {
    Test::Nginx::Socket::add_block_preprocessor(sub {
        my $block = shift;
        $block->set_value('http_config', $HTTP_CONFIG)
            unless defined $block->http_config;
    });
}

sub redis_port { $ENV{TEST_NGINX_REDIS_PORT} // 19879 }

sub ctl_bin { $ENV{IMPREST_CTL} // 'build/imprestctl' }

sub ctl {
    my @args = @_;
    my $out = '';
    my $pid = open(my $fh, '-|');
    die "fork: $!" unless defined $pid;
    if (!$pid) {
        open STDERR, '>&', \*STDOUT;
        { exec ctl_bin(), '--json', '--redis', '127.0.0.1:' . redis_port(),
               @args; }
        POSIX::_exit(127);
    }
    { local $/; $out = <$fh> // ''; }
    close $fh;
    die "imprestctl @args[0..1] failed: $out" if $?;
    return $out =~ /^\s*\{/ ? decode_json($out) : $out;
}

sub redis {
    my @cmd = @_;
    my $pid = open(my $fh, '-|');
    die "fork: $!" unless defined $pid;
    if (!$pid) {
        { exec 'redis-cli', '-p', redis_port(), '--raw', @cmd; }
        POSIX::_exit(127);
    }
    local $/;
    my $out = <$fh> // '';
    close $fh;
    chomp $out;
    return $out;
}

# The standard world every gate test starts from.
sub seed {
    redis('FLUSHALL');

    ctl(qw(user add alice --name), 'Alice Example');
    ctl(qw(user add bob --name), 'Bob Example');
    ctl('org', 'add', $ORG1, '--name', 'Acme Ltd');
    ctl('org', 'add', $ORG2, '--name', 'Beta "Books" & Co');
    ctl('org', 'add', $ORG3, '--name', 'Gamma GmbH');
    ctl(qw(member add alice), $ORG1);
    ctl(qw(member add alice), $ORG2);
    ctl(qw(member add bob), $ORG1);
    ctl(qw(member add bob), $ORG3);

    mint($AT, qw(--user alice --client app1), '--scope', 'money_in money_out',
         '--org', $ORG1, '--org', $ORG2);
    mint($AT_RO, qw(--user alice --client app1), '--scope',
         'readonly unread READ', '--org', $ORG1);
    mint($AT_STALE, qw(--user alice --client app1 --scope money_in),
         '--org', $ORG1, '--exp', time() - 10, '--ttl', 600);
    mint($AT_AUD, qw(--user alice --client app1 --scope money_in),
         '--org', $ORG1, '--aud', 'https://other.example');
    mint($AT_BOB, qw(--user bob --client app2 --scope money_in),
         '--org', $ORG1, '--org', $ORG3);
    ctl(qw(user add carol --name), 'Carol Example');
    ctl(qw(member add carol), $ORG2);
    mint($AT_GONE, qw(--user carol --client app1 --scope money_in),
         '--org', $ORG2);
    # carol leaves Beta after the grant: the token must stop working there
    ctl(qw(member del carol), $ORG2);
    mint($AT_NOEXP, qw(--user alice --client app1 --scope money_in),
         '--org', $ORG1);
    redis('HDEL', 'imprest:at:' . sha256_hex($AT_NOEXP), 'exp');

    return 1;
}

sub mint {
    my ($tok, @args) = @_;
    return ctl('token', 'mint', '--token', $tok, @args);
}

# --- a private Redis that a test may stop, pause or kill -------------------

my %redis_pids;

sub start_redis {
    my (%o) = @_;
    my $port = $o{port} or die "port";
    stop_redis($port);
    my $dir = ($ENV{IMPREST_TEST_TMP} // '/tmp') . "/redis-$port";
    mkdir $dir;
    my @args = ('--port', $port, '--bind', '127.0.0.1', '--save', '',
                '--appendonly', 'no', '--dir', $dir,
                '--enable-debug-command', 'local',
                '--logfile', "$dir/redis.log");
    push @args, '--requirepass', $o{password} if $o{password};
    push @args, @{ $o{args} } if $o{args};
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        POSIX::setsid();
        { exec 'redis-server', @args; }
        POSIX::_exit(127);
    }
    $redis_pids{$port} = $pid;
    for (1 .. 100) {
        my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port");
        if ($s) { close $s; return $pid }
        Time::HiRes::sleep(0.02);
    }
    die "redis-server on $port did not start";
}

sub stop_redis {
    my ($port, $sig) = @_;
    my $pid = delete $redis_pids{$port} or return;
    kill $sig // 'KILL', $pid;
    waitpid $pid, 0;
}

END {
    stop_redis($_) for keys %redis_pids;
    stop_fake();
}

# --- a fake Redis speaking just enough RESP to misbehave on cue ------------
#
# Answers the connection handshake properly (SCRIPT LOAD gets the script's
# SHA-1, AUTH/SELECT get +OK), then answers each EVALSHA with the next item
# of @replies: a raw string sent as-is, or a hash { delay => seconds,
# reply => raw } / { close => 1 } / { hang => 1 }.  After the list it
# repeats the last item.

my @fake_pids;

sub fake_redis {
    my ($port, @replies) = @_;
    my $listen = IO::Socket::INET->new(
        LocalAddr => "127.0.0.1:$port", Listen => 16, ReuseAddr => 1)
        or die "fake redis listen $port: $!";
    my $pid = fork // die "fork: $!";
    if ($pid) {
        close $listen;
        push @fake_pids, $pid;
        return $pid;
    }
    POSIX::setsid();
    $SIG{ALRM} = sub { POSIX::_exit(0) };
    alarm 30;
    my $n = 0;
    while (my $c = $listen->accept) {
        my $buf = '';
        CONN: while (1) {
            my $cmd = read_command($c, \$buf) or last CONN;
            my $name = uc $cmd->[0];
            # a Redis 6 without functions: the gate falls back to EVALSHA
            if ($name eq 'FUNCTION') {
                print $c "-ERR unknown command 'FUNCTION'\r\n";
                next;
            }
            if ($name eq 'CONFIG') {
                print $c "*2\r\n\$16\r\nmaxmemory-policy\r\n\$10\r\nnoeviction\r\n";
                next;
            }
            if ($name eq 'SCRIPT') {
                my $sha = sha1_hex($cmd->[2]);
                print $c "\$40\r\n$sha\r\n";
                next;
            }
            if ($name eq 'AUTH' || $name eq 'SELECT') {
                print $c "+OK\r\n";
                next;
            }
            my $r = $replies[$n < @replies ? $n : $#replies];
            $n++;
            $r = { reply => $r } unless ref $r;
            Time::HiRes::sleep($r->{delay}) if $r->{delay};
            if ($r->{hang}) { sleep 60; last CONN }
            if ($r->{close}) { last CONN }
            print $c $r->{reply};
            last CONN if $r->{close_after};
        }
        close $c;
    }
    POSIX::_exit(0);
}

sub read_command {
    my ($c, $buf) = @_;
    $c->autoflush(1);
    while (1) {
        if ($$buf =~ /^\*(\d+)\r\n/) {
            my $n = $1;
            my $pos = length("*$n\r\n");
            my @args;
            my $ok = 1;
            for (1 .. $n) {
                if (substr($$buf, $pos) =~ /^\$(\d+)\r\n/) {
                    my $len = $1;
                    my $start = $pos + length("\$$len\r\n");
                    if (length($$buf) >= $start + $len + 2) {
                        push @args, substr($$buf, $start, $len);
                        $pos = $start + $len + 2;
                        next;
                    }
                }
                $ok = 0;
                last;
            }
            if ($ok) {
                substr($$buf, 0, $pos) = '';
                return \@args;
            }
        }
        my $got = sysread($c, $$buf, 65536, length $$buf);
        return undef unless $got;
    }
}

sub stop_fake {
    for my $pid (@fake_pids) {
        kill 'KILL', -$pid;
        kill 'KILL', $pid;
        waitpid $pid, 0;
    }
    @fake_pids = ();
}

# --- for the Redis fault tests (t/070-redis-faults.t, t/071-redis-conn.t) --
#
# Test::Nginx runs `--- init` after nginx is up, so a Redis (or fake) that
# must be there when the worker first connects is started from a
# `--- before_start` section (run as `--- post_setup_server_root`: after
# the previous block's nginx has stopped, before this one's starts, in
# package Test::Nginx::Util under strict, like init; if it dies the run
# stops), and a fault that must strike between two requests of a block is
# injected with after_response().  Both need use_fault_hooks() once,
# before run_tests().

require IO::Select;

push @EXPORT, qw(
    $NOT_FOUND $REDIS_DOWN gate_reply resp_bulk use_fault_hooks after_response
    redis_at seed_small signal_redis fake_redis_conns wait_log
    http_get bg_get bg_wait nginx_fd_count http_session nginx_peak_kb
);

# the token script's "no such record" reply: the only 401 answer
our $NOT_FOUND = "*1\r\n:0\r\n";

# What the worker logs when a command meets a Redis that is down: refused
# at once while disconnected, or, when the request lands while a reconnect
# attempt is in progress (a non-blocking connect() on loopback always says
# EINPROGRESS first), failed when that attempt is refused.  Both fail
# closed; tests of the endpoints' 503 accept either.
# (a command queued while the worker's connect to a closed port is still
# in progress fails when it is refused: "no reply: Connection refused")
our $REDIS_DOWN =
    qr/imprest: redis (?:unavailable|[\d.]+:\d+: no reply: (?:connection closed|Connection refused))/;

sub resp_bulk { my ($s) = @_; return '$' . length($s) . "\r\n$s\r\n" }

# A well-formed gate-mode reply of the token script (see
# src/ngx_http_imprest_script.c): found, uid, cid, scope, exp, aud,
# granted, member.
sub gate_reply {
    my (%o) = @_;
    my @f = ($o{uid} // 'alice', $o{cid} // 'app1',
             $o{scope} // 'money_in money_out', $o{exp} // time() + 3600,
             $o{aud} // '');
    return "*8\r\n:1\r\n" . join('', map { resp_bulk($_) } @f)
           . ':' . ($o{granted} // 1) . "\r\n:" . ($o{member} // 1) . "\r\n";
}

my %after_response;         # response index => code, for the running block
my $fault_hooks;

sub use_fault_hooks {
    return if $fault_hooks++;
    Test::Nginx::Socket::add_block_preprocessor(sub {
        my $block = shift;
        %after_response = ();
        # Not run here: OpenResty's runner calls the preprocessors while
        # the previous block's nginx still runs (it stops it when the next
        # block starts), and that nginx would reconnect to a fake started
        # now and eat its first script.  post_setup_server_root is the
        # documented section that runs once it has stopped, before this
        # block's nginx starts (in Test::Nginx::Util, like init).
        if (defined(my $code = $block->before_start)) {
            my $own = $block->post_setup_server_root;
            $block->set_value(post_setup_server_root =>
                              defined $own ? "$own\n;\n$code" : $code);
        }
        return $block;
    });
    # response checks run after each response, before the next request
    Test::Nginx::Socket::add_response_body_check(sub {
        my ($block, $body, $idx, $rep, $dry) = @_;
        my $code = delete $after_response{$idx} or return;
        # the runner calls us with $_ aliased to its list of checks
        local *_ = \my $scratch;
        $code->($block, $body);
    });
}

sub after_response {
    my ($idx, $code) = @_;
    die "use_fault_hooks() first" unless $fault_hooks;
    $after_response{$idx} = $code;
}

# redis-cli against a private Redis: $to is a port or { port, password }
sub redis_at {
    my ($to, @cmd) = @_;
    $to = { port => $to } unless ref $to;
    local $ENV{REDISCLI_AUTH} = $to->{password} if $to->{password};
    my $pid = open(my $fh, '-|');
    die "fork: $!" unless defined $pid;
    if (!$pid) {
        open STDERR, '>&', \*STDOUT;
        { exec 'redis-cli', '-p', $to->{port}, '--no-auth-warning', '--raw',
               @cmd };
        POSIX::_exit(127);
    }
    local $/;
    my $out = <$fh> // '';
    close $fh;
    $out =~ s/\n\z//;     # chomp would not: $/ is undef here
    return $out;
}

# The smallest world for a gate 200: alice in $ORG1 holding $AT, written
# to any Redis (port, password), database (db) or key prefix (prefix).
# Empties that database first.
sub seed_small {
    my (%o) = @_;
    my $port = $o{port} // redis_port();
    my @opt = ('--redis', "127.0.0.1:$port");
    push @opt, '--db', $o{db} if $o{db};
    push @opt, '--prefix', $o{prefix} if defined $o{prefix};
    local $ENV{IMPREST_REDIS_PASSWORD} = $o{password} if $o{password};
    local $ENV{REDISCLI_AUTH} = $o{password} if $o{password};
    system('redis-cli', '-p', $port, '-n', $o{db} // 0, '--no-auth-warning',
           'FLUSHDB') == 0 or die "FLUSHDB on $port failed";
    for my $args ([qw(user add alice --name Alice)],
                  ['org', 'add', $ORG1, '--name', 'Acme Ltd'],
                  ['member', 'add', 'alice', $ORG1],
                  ['token', 'mint', '--token', $AT, qw(--user alice
                   --client app1 --scope), 'money_in money_out',
                   '--org', $ORG1])
    {
        my $pid = fork // die "fork: $!";
        if (!$pid) {
            open STDOUT, '>', '/dev/null';
            { exec ctl_bin(), @opt, @$args };
            POSIX::_exit(127);
        }
        waitpid $pid, 0;
        die "imprestctl @$args[0..1] on $port failed" if $?;
    }
    return 1;
}

# SIGSTOP / SIGCONT a Redis started with start_redis()
sub signal_redis {
    my ($port, $sig) = @_;
    my $pid = $redis_pids{$port} or die "no redis started on $port";
    kill $sig, $pid or die "kill $sig $pid: $!";
}

# A fake Redis with one script per connection: the first connection
# answers its EVALSHAs from the first array, the second from the next, and
# so on (the last array serves every later connection; in an array the
# last item repeats).  Items as in fake_redis(), plus { reply => raw,
# then => raw, after => seconds }: a reply, then bytes nobody asked for,
# and { reply => raw, drip => seconds }: one byte per write, and
# { reply => raw, busy => raw }: busy is sent instead when, once the delay
# is over, another command has already arrived behind this one.
# Each connection has its own process, so one that hangs does not stop
# the next from being served.
sub fake_redis_conns {
    my ($port, @scripts) = @_;
    my $listen = IO::Socket::INET->new(
        LocalAddr => "127.0.0.1:$port", Listen => 16, ReuseAddr => 1)
        or die "fake redis listen $port: $!";
    my $pid = fork // die "fork: $!";
    if ($pid) {
        close $listen;
        push @fake_pids, $pid;
        return $pid;
    }
    POSIX::setsid();
    $SIG{ALRM} = sub { POSIX::_exit(0) };
    $SIG{CHLD} = 'IGNORE';
    alarm 30;
    my $i = 0;
    while (my $c = $listen->accept) {
        my $script = $scripts[$i < @scripts ? $i : $#scripts];
        $i++;
        my $kid = fork;
        if (defined $kid && !$kid) {
            close $listen;
            $SIG{PIPE} = 'IGNORE';
            alarm 30;
            fake_serve($c, @$script);
            POSIX::_exit(0);
        }
        close $c;
    }
    POSIX::_exit(0);
}

sub fake_serve {
    my ($c, @replies) = @_;
    my ($buf, $n) = ('', 0);
    while (my $cmd = read_command($c, \$buf)) {
        my $name = uc $cmd->[0];
        # a Redis 6 without functions: the gate falls back to EVALSHA
        if ($name eq 'FUNCTION') {
            print $c "-ERR unknown command 'FUNCTION'\r\n";
            next;
        }
        if ($name eq 'CONFIG') {
            print $c "*2\r\n\$16\r\nmaxmemory-policy\r\n\$10\r\nnoeviction\r\n";
            next;
        }
        if ($name eq 'SCRIPT') {
            print $c '$40' . "\r\n" . sha1_hex($cmd->[2]) . "\r\n";
            next;
        }
        if ($name eq 'AUTH' || $name eq 'SELECT') {
            print $c "+OK\r\n";
            next;
        }
        my $r = $replies[$n < @replies ? $n : $#replies];
        $n++;
        $r = { reply => $r } unless ref $r;
        Time::HiRes::sleep($r->{delay}) if $r->{delay};
        if ($r->{hang}) { sleep 60; last }
        last if $r->{close};
        if (defined $r->{busy}
            && (length $buf || IO::Select->new($c)->can_read(0)))
        {
            print $c $r->{busy};
        } elsif ($r->{drip}) {
            for my $byte (split //, $r->{reply}) {
                print $c $byte;
                Time::HiRes::sleep($r->{drip});
            }
        } else {
            print $c $r->{reply};
        }
        if (defined $r->{then}) {
            Time::HiRes::sleep($r->{after}) if $r->{after};
            print $c $r->{then};
        }
        last if $r->{close_after};
    }
    close $c;
}

sub error_log_file {
    my $root = $ENV{TEST_NGINX_SERVER_ROOT}
               // eval { Test::Nginx::Socket::server_root() } // 't/servroot';
    return "$root/logs/error.log";
}

# Wait until the running nginx's error.log has $count (default 1) lines
# containing $needle; false after $timeout seconds (default 3), times $SCALE.
sub wait_log {
    my ($needle, $timeout, $count) = @_;
    my $end = Time::HiRes::time() + ($timeout // 3) * $SCALE;
    while (1) {
        if (open my $fh, '<', error_log_file()) {
            local $/;
            my $log = <$fh> // '';
            my ($n, $at) = (0, 0);
            while (($at = index($log, $needle, $at)) >= 0) {
                $n++;
                $at++;
            }
            return 1 if $n >= ($count // 1);
        }
        return 0 if Time::HiRes::time() > $end;
        Time::HiRes::sleep(0.01);
    }
}

# A blocking HTTP/1.1 GET to the nginx under test, timed.  Returns
# { status, headers => { lower-case name => value }, body, elapsed, t_end }
# or { error }.
sub http_get {
    my ($path, %o) = @_;
    my $port = $o{port} // $ENV{TEST_NGINX_SERVER_PORT};
    my $t0 = Time::HiRes::time();
    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port",
                                  Timeout => 2)
        or return { error => "connect: $!" };
    my $req = "GET $path HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
              . join('', map { "$_\r\n" } @{ $o{headers} || [] }) . "\r\n";
    syswrite($s, $req) == length $req or return { error => "write: $!" };
    my ($data, $end) = ('', $t0 + ($o{timeout} // 5 * $SCALE));
    my $sel = IO::Select->new($s);
    while (1) {
        my $left = $end - Time::HiRes::time();
        return { error => 'timed out', data => $data } if $left <= 0;
        next unless $sel->can_read($left);
        my $got = sysread($s, $data, 65536, length $data);
        return { error => "read: $!" } unless defined $got;
        last if $got == 0;
    }
    my $t1 = Time::HiRes::time();
    my ($head, $body) = split /\r\n\r\n/, $data, 2;
    my ($status) = ($head // '') =~ m{\AHTTP/1\.\d (\d{3})}
        or return { error => 'bad response', data => $data };
    my %h;
    for my $line (split /\r\n/, $head) {
        $h{lc $1} = $2 if $line =~ /^([^:\s]+):\s*(.*)$/;
    }
    return { status => $status, headers => \%h, body => $body // '',
             elapsed => $t1 - $t0, t_end => $t1 };
}

# http_get in a child process: returns at once with a handle for bg_wait.
my $bg_seq = 0;

sub bg_get {
    my ($path, %o) = @_;
    my $file = ($ENV{IMPREST_TEST_TMP} // '/tmp') . "/bg-get.$$." . $bg_seq++;
    unlink $file;
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        my $r = http_get($path, %o);
        if (open my $fh, '>', "$file.tmp") {
            print $fh JSON::PP->new->canonical->encode($r);
            close $fh;
            rename "$file.tmp", $file;
        }
        POSIX::_exit(0);
    }
    return { pid => $pid, file => $file };
}

sub bg_wait {
    my ($h, $timeout) = @_;
    my $end = Time::HiRes::time() + ($timeout // 5 * $SCALE);
    while (waitpid($h->{pid}, POSIX::WNOHANG()) == 0) {
        if (Time::HiRes::time() > $end) {
            kill 'KILL', $h->{pid};
            waitpid $h->{pid}, 0;
            return { error => 'background request did not finish' };
        }
        Time::HiRes::sleep(0.01);
    }
    open my $fh, '<', $h->{file} or return { error => "no result: $!" };
    local $/;
    my $r = decode_json(<$fh>);
    close $fh;
    unlink $h->{file};
    return $r;
}

# Open descriptors of the nginx under test (master_process off: one
# process, whose pid is in logs/nginx.pid), or undef without /proc.
sub nginx_fd_count {
    (my $pidfile = error_log_file()) =~ s{error\.log$}{nginx.pid};
    open my $fh, '<', $pidfile or return undef;
    my $pid = <$fh>;
    close $fh;
    chomp $pid;
    opendir my $d, "/proc/$pid/fd" or return undef;
    my $n = grep { /^\d+$/ } readdir $d;
    closedir $d;
    return $n;
}

# Peak resident memory (VmHWM, kB) of the nginx under test (master off),
# or 0 without /proc.
sub nginx_peak_kb {
    (my $pidfile = error_log_file()) =~ s{error\.log$}{nginx.pid};
    open my $fh, '<', $pidfile or return 0;
    chomp(my $pid = <$fh> // '');
    open my $st, '<', "/proc/$pid/status" or return 0;
    while (my $line = <$st>) {
        return $1 if $line =~ /^VmHWM:\s+(\d+) kB/;
    }
    return 0;
}

# Several GETs over one keep-alive connection, each sent only once the
# previous response is complete: [path, [header lines]], ...  Returns a
# list of { status, body } (or { error }), one per request.
sub http_session {
    my (@reqs) = @_;
    my $port = $ENV{TEST_NGINX_SERVER_PORT};
    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port",
                                  Timeout => 2)
        or return ({ error => "connect: $!" });
    my $sel = IO::Select->new($s);
    my ($buf, @out) = ('');
    for my $i (0 .. $#reqs) {
        my ($path, $headers) = @{ $reqs[$i] };
        my $conn = $i == $#reqs ? 'close' : 'keep-alive';
        my $req = "GET $path HTTP/1.1\r\nHost: localhost\r\n"
                  . "Connection: $conn\r\n"
                  . join('', map { "$_\r\n" } @{ $headers || [] }) . "\r\n";
        syswrite($s, $req) == length $req
            or return (@out, { error => "write: $!" });
        my $end = Time::HiRes::time() + 5;
        my $r;
        while (1) {
            if ($buf =~ /\A(HTTP\/1\.1 (\d{3})[^\r]*\r\n(.*?)\r\n)\r\n/s) {
                my ($head_len, $status, $fields) = (length($1) + 2, $2, $3);
                my ($len) = $fields =~ /^Content-Length:\s*(\d+)\r?$/mi;
                if (defined $len && length($buf) >= $head_len + $len) {
                    $r = { status => $status,
                           body => substr($buf, $head_len, $len) };
                    substr($buf, 0, $head_len + $len) = '';
                    last;
                }
                return (@out, { error => 'no Content-Length' })
                    unless defined $len;
            }
            my $left = $end - Time::HiRes::time();
            return (@out, { error => 'timed out' }) if $left <= 0;
            next unless $sel->can_read($left);
            my $got = sysread($s, $buf, 65536, length $buf);
            return (@out, { error => 'connection closed early' }) unless $got;
        }
        push @out, $r;
    }
    return @out;
}

# The END block above reaps with waitpid, which sets $? (9 after SIGKILL)
# and so the test's exit status: this one, defined later and so run
# first, reaps everything with $? kept.
END {
    local $?;
    stop_redis($_) for keys %redis_pids;
    stop_fake();
}

1;

# --- the authorization server's fixtures -------------------------------------
#
# Apps with credentials known at load time (imprestctl app create
# --client-id/--secret), and writers for the records the server keeps
# between steps (consent requests, codes, refresh tokens), following the
# README's schema, so that one block can exercise one step.

package Imprest::Test;

sub hex24 {
    open my $fh, '<', '/dev/urandom' or die;
    read($fh, my $raw, 12) == 12 or die;
    return unpack('H*', $raw);
}

our $APP_ID      = 'app_' . hex24();   # confidential, one redirect URI
our $APP_SECRET  = token_new('cs');
our $APP_URI     = 'https://app.example/cb';
our $APP2_ID     = 'app_' . hex24();   # confidential, two redirect URIs
our $APP2_SECRET = token_new('cs');
our $PUB_ID      = 'app_' . hex24();   # public: PKCE only, loopback URI
our $PUB_URI     = 'http://127.0.0.1/cb';
our $RS_ID       = 'app_' . hex24();   # a resource server: may introspect
our $RS_SECRET   = token_new('cs');

our $AS_HTTP_CONFIG = $HTTP_CONFIG . <<'_EOC_';
    imprest_issuer http://127.0.0.1:$TEST_NGINX_SERVER_PORT;
    imprest_scope money_in "Read invoices and incoming payments";
    imprest_scope money_out "Read bills and outgoing payments";
_EOC_

# every endpoint at the developer guide's paths; the user comes from a
# header here (production: auth_request; the demo: auth_basic)
our $AS_CONFIG = <<'_EOC_';
    location = /oauth/authorize {
        imprest_user $http_x_test_user;
        imprest_authorize;
    }
    location = /oauth/token { imprest_token; }
    location = /oauth/revoke { imprest_revoke; }
    location = /oauth/introspect { imprest_introspect; }
    location = /.well-known/oauth-authorization-server { imprest_metadata; }
    location = /api/v1/me/organizations { imprest_organizations; }
    location /api/ {
        imprest_gate on;
        imprest_require_scope money_in;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
_EOC_

sub use_as_config {
    Test::Nginx::Socket::add_block_preprocessor(sub {
        my $block = shift;
        $block->set_value('http_config', $AS_HTTP_CONFIG)
            unless defined $block->http_config;
        $block->set_value('config', $AS_CONFIG)
            unless defined $block->config;
    });
}

# seed() plus the standard apps
sub seed_as {
    seed();
    ctl(qw(app create --name), 'Books "R" <Us>', '--redirect-uri', $APP_URI,
        '--scope', 'money_in money_out', '--client-id', $APP_ID,
        '--secret', $APP_SECRET);
    ctl(qw(app create --name), 'Two Ways', '--redirect-uri',
        'https://two.example/a', '--redirect-uri', 'https://two.example/b',
        '--scope', 'money_in', '--client-id', $APP2_ID,
        '--secret', $APP2_SECRET);
    ctl(qw(app create --name), 'Phone App', '--redirect-uri', $PUB_URI,
        '--scope', 'money_in', '--public', '--client-id', $PUB_ID);
    ctl(qw(app create --name), 'Ledger Service', '--redirect-uri',
        'https://ledger.example/cb', '--scope', 'money_in', '--introspect',
        '--client-id', $RS_ID, '--secret', $RS_SECRET);
    return 1;
}

sub put_hash {
    my ($key, $ttl, %f) = @_;
    redis('DEL', $key);
    redis('HSET', $key, %f);
    redis('EXPIRE', $key, $ttl);
}

# A consent request as /oauth/authorize stores it, for request id $rid.
sub put_consent {
    my (%o) = @_;
    put_hash('imprest:consent:' . sha256_hex($o{rid}), $o{ttl} // 600,
             uid => $o{uid} // 'alice', cid => $o{cid} // $APP_ID,
             redirect_uri => $o{redirect_uri} // $APP_URI,
             ru_given => $o{ru_given} // '1',
             scope => $o{scope} // 'money_in money_out',
             state => $o{state} // '', challenge => $o{challenge} // '');
}

# An authorization code as an approved consent stores it.
sub put_code {
    my (%o) = @_;
    my $ttl = $o{ttl} // 60;
    put_hash('imprest:ac:' . sha256_hex($o{code}), $ttl,
             cid => $o{cid} // $APP_ID, uid => $o{uid} // 'alice',
             redirect_uri => $o{redirect_uri} // $APP_URI,
             ru_given => $o{ru_given} // '1',
             scope => $o{scope} // 'money_in money_out',
             orgs => $o{orgs} // $ORG1, challenge => $o{challenge} // '',
             exp => $o{exp} // time() + $ttl);
}

# A refresh token and its grant, as a code redemption stores them.
sub put_rt {
    my (%o) = @_;
    my $gid = $o{gid} // 'g' . hex24();
    my $key = 'imprest:rt:' . sha256_hex($o{rt});
    put_hash($key, $o{ttl} // 86400, uid => $o{uid} // 'alice',
             cid => $o{cid} // $APP_ID,
             scope => $o{scope} // 'money_in money_out',
             orgs => $o{orgs} // $ORG1, iat => time(),
             exp => $o{exp} // time() + 86400, aud => '', gid => $gid);
    redis('SADD', "imprest:grant:$gid", $key);
    redis('EXPIRE', "imprest:grant:$gid", 86400);
    return $gid;
}

push @EXPORT, qw($APP_ID $APP_SECRET $APP_URI $APP2_ID $APP2_SECRET $PUB_ID
                 $PUB_URI $RS_ID $RS_SECRET use_as_config seed_as
                 put_consent put_code put_rt);

1;

# --- token, revocation and introspection endpoint helpers -------------------
#
# For the t/11x and t/12x files: requests made from after_response() hooks
# with values only known once a response is in (the tokens a redemption
# issued), the form encoding RFC 6749 2.3.1 and Appendix B ask for, and a
# look at everything Redis holds (AS-TOK-10).

package Imprest::Test;

require MIME::Base64;

# application/x-www-form-urlencoded value: every byte but unreserved
sub form_enc {
    my ($s) = @_;
    $s =~ s/([^A-Za-z0-9._~-])/sprintf('%%%02X', ord $1)/ge;
    return $s;
}

# a form body from name => value pairs, in order
sub form {
    my @kv = @_;
    my @out;
    while (my ($k, $v) = splice @kv, 0, 2) {
        push @out, form_enc($k) . '=' . form_enc($v);
    }
    return join '&', @out;
}

# RFC 6749 2.3.1: client_secret_basic, id and secret form-encoded first
sub basic_auth {
    my ($id, $secret) = @_;
    return 'Authorization: Basic '
           . MIME::Base64::encode_base64(form_enc($id) . ':'
                                         . form_enc($secret), '');
}

# RFC 7636 4.2: S256 challenge of a verifier
sub s256 { return encode_base64url(sha256($_[0])) }

# One HTTP/1.1 request to the nginx under test:
# (method => , path => , headers => [lines], body => ).  Returns
# { status, headers => { lower-case name => value }, body } or { error }.
sub http_req {
    my (%o) = @_;
    my $port = $o{port} // $ENV{TEST_NGINX_SERVER_PORT};
    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port",
                                  Timeout => 2)
        or return { error => "connect: $!" };
    my $body = $o{body} // '';
    my $req = ($o{method} // 'GET') . " $o{path} HTTP/1.1\r\n"
              . "Host: localhost\r\nConnection: close\r\n"
              . join('', map { "$_\r\n" } @{ $o{headers} || [] })
              . (length $body || ($o{method} // '') eq 'POST'
                 ? 'Content-Length: ' . length($body) . "\r\n" : '')
              . "\r\n" . $body;
    if ($o{at}) {
        # wait for a common start time (races: AS-CODE-3, AS-RT-5)
        my $d = $o{at} - Time::HiRes::time();
        Time::HiRes::sleep($d) if $d > 0;
    }
    syswrite($s, $req) == length $req or return { error => "write: $!" };
    my ($data, $end) = ('', Time::HiRes::time() + ($o{timeout} // 5 * $SCALE));
    my $sel = IO::Select->new($s);
    while (1) {
        my $left = $end - Time::HiRes::time();
        return { error => 'timed out', data => $data } if $left <= 0;
        next unless $sel->can_read($left);
        my $got = sysread($s, $data, 65536, length $data);
        return { error => "read: $!" } unless defined $got;
        last if $got == 0;
    }
    my ($head, $rbody) = split /\r\n\r\n/, $data, 2;
    my ($status) = ($head // '') =~ m{\AHTTP/1\.\d (\d{3})}
        or return { error => 'bad response', data => $data };
    my %h;
    for my $line (split /\r\n/, $head) {
        $h{lc $1} = $2 if $line =~ /^([^:\s]+):\s*(.*)$/;
    }
    return { status => $status, headers => \%h, body => $rbody // '' };
}

# POST a form body (a string, or an array ref of pairs for form())
sub http_post {
    my ($path, $body, @headers) = @_;
    $body = form(@$body) if ref $body;
    return http_req(method => 'POST', path => $path, body => $body,
                    headers => ['Content-Type: '
                                . 'application/x-www-form-urlencoded',
                                @headers]);
}

# $n identical requests (http_req options) sent by $n processes at the
# same instant; returns their results.
sub http_race {
    my ($n, %o) = @_;
    my $at = Time::HiRes::time() + 0.3;
    my @h = map { my %c = (%o, at => $at); bg_call(\&http_req, %c) } 1 .. $n;
    return map { bg_wait($_, 10) } @h;
}

sub bg_call {
    my ($code, @args) = @_;
    my $file = ($ENV{IMPREST_TEST_TMP} // '/tmp') . "/bg-req.$$." . $bg_seq++;
    unlink $file;
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        my $r = $code->(@args);
        if (open my $fh, '>', "$file.tmp") {
            print $fh JSON::PP->new->canonical->encode($r);
            close $fh;
            rename "$file.tmp", $file;
        }
        POSIX::_exit(0);
    }
    return { pid => $pid, file => $file };
}

# Every key in the suite's Redis with its type, TTL and contents, as
# [key, type, ttl, [strings...]] (hash: field, value, ...).  A key that
# expires while we look (an earlier block's 60 s code) is left out.
sub redis_everything {
    # redis() keeps redis-cli's last newline
    my $one = sub { (my $o = redis(@_)) =~ s/\n\z//; return $o };
    my @out;
    for my $key (grep { length } split /\n/, redis('--scan')) {
        my $type = $one->('TYPE', $key);
        next if $type eq 'none';
        my @v = $type eq 'hash' ? split(/\n/, redis('HGETALL', $key))
              : $type eq 'set'  ? split(/\n/, redis('SMEMBERS', $key))
              : $type eq 'string' ? ($one->('GET', $key))
              : ("<$type>");
        my $ttl = $one->('TTL', $key);
        next if $ttl eq '-2';
        push @out, [$key, $type, $ttl, \@v];
    }
    return @out;
}

# The error.log of the nginx under test, whole.
sub error_log_text {
    open my $fh, '<', error_log_file() or return '';
    local $/;
    return <$fh> // '';
}

# The access and refresh tokens of an RFC 6749 5.1 body ('' if absent).
sub tokens_of {
    my ($body) = @_;
    my $j = eval { decode_json($body) } || {};
    return ($j->{access_token} // '', $j->{refresh_token} // '');
}

# The developer guide's step 4 with this token, through use_as_config()'s
# gated /api/ (which requires money_in) in $ORG1.
sub api_get {
    my ($at) = @_;
    return http_get('/api/v1/invoices',
                    headers => ["Authorization: Bearer $at",
                                "X-Organization-Id: $ORG1"]);
}

# "--- imprest_redis: ADDR PARAMS" in a block replaces the directive in
# use_as_config()'s http{} preamble (call after use_as_config()).
sub use_imprest_redis_section {
    Test::Nginx::Socket::add_block_preprocessor(sub {
        my $block = shift;
        if (defined(my $redis = $block->imprest_redis)) {
            (my $http = $AS_HTTP_CONFIG)
                =~ s/imprest_redis [^;]*;/imprest_redis $redis;/;
            $block->set_value(http_config => $http);
        }
        return $block;
    });
}

push @EXPORT, qw(form_enc form basic_auth s256 http_req http_post http_race
                 bg_call redis_everything error_log_text tokens_of api_get
                 use_imprest_redis_section);

1;
