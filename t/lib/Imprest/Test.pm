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

# The http{} preamble every gate test shares: the gate's Redis, and an
# upstream that echoes what reached it (underscore spellings included).
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
        exec ctl_bin(), '--redis', '127.0.0.1:' . redis_port(), @args;
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
        exec 'redis-cli', '-p', redis_port(), '--raw', @cmd;
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
        exec 'redis-server', @args;
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

1;
