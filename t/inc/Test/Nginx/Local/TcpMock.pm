package Test::Nginx::Local::TcpMock;

# The embedded TCP server behind --- tcp_listen: a forked child that accepts
# one connection, reads the query (tcp_query_len bytes, or one read when no
# length is known), waits tcp_reply_delay, writes tcp_reply and closes
# (unless tcp_no_close).  What it read is saved to a file for the parent's
# tcp_query / tcp_query_len checks.

use strict;
use warnings;

use IO::Socket::INET ();
use IO::Socket::UNIX ();
use Socket qw(SOCK_STREAM);
use POSIX qw(:sys_wait_h);
use Time::HiRes qw(sleep time);

# Pause between the pieces of an array-valued tcp_reply, so that the peer
# sees them in separate reads.
our $PiecePause = 0.02;

# %o: target (port or *.sock path), reply (string, ARRAY or CODE),
# query_len, query_file, delay (s), no_close, shutdown (0|1|2).
# Returns ($mock, undef) or (undef, $error).
sub start {
    my ($class, %o) = @_;
    my $target = $o{target};
    my ($listener, $err);

    for my $try (1 .. 30) {
        if ($target =~ /^\d+$/) {
            $listener = IO::Socket::INET->new(
                LocalAddr => '127.0.0.1',
                LocalPort => $target,
                Proto     => 'tcp',
                ReuseAddr => 1,
                Listen    => 16,
            );
        } elsif ($target =~ /\.sock$/) {
            unlink $target if -S $target;
            $listener = IO::Socket::UNIX->new(
                Local  => $target,
                Type   => SOCK_STREAM,
                Listen => 16,
            );
        } else {
            return (undef, "bad tcp_listen target \"$target\"");
        }
        last if $listener;
        $err = "$!";
        last unless $!{EADDRINUSE};
        sleep 0.1;
    }
    return (undef, "cannot listen on $target: $err") unless $listener;

    unlink $o{query_file} if defined $o{query_file};

    local $| = 1;
    my $pid = fork;
    return (undef, "fork failed: $!") unless defined $pid;

    if ($pid == 0) {
        my $rc = eval { _serve($listener, \%o); 0 };
        if (!defined $rc) {
            print STDERR "# tcp_listen $target: $@";
            $rc = 1;
        }
        POSIX::_exit($rc);
    }

    return (bless({ pid => $pid, listener => $listener, %o }, $class), undef);
}

sub _serve {
    my ($listener, $o) = @_;
    $SIG{$_} = 'DEFAULT' for qw(TERM QUIT INT PIPE);
    $SIG{PIPE} = 'IGNORE';

    my $client;
    until ($client = $listener->accept) {
        die "accept failed: $!\n" unless $!{EINTR};
    }

    my ($no_read, $no_write);
    if (defined $o->{shutdown} && $o->{shutdown} =~ /^[012]$/) {
        $client->shutdown($o->{shutdown});
        $no_read = $o->{shutdown} != 1;
        $no_write = $o->{shutdown} != 0;
    }

    my $buf = '';
    unless ($no_read) {
        while (1) {
            my $n = sysread $client, my $chunk, 65536;
            last unless $n;    # EOF or error
            $buf .= $chunk;
            _save($o->{query_file}, $buf) if defined $o->{query_file};
            last if !$o->{query_len} || length $buf >= $o->{query_len};
        }
    }

    sleep $o->{delay} if $o->{delay};

    my $reply = $o->{reply};
    $reply = $reply->($buf) if ref $reply eq 'CODE';
    if (defined $reply && !$no_write) {
        my @pieces = ref $reply eq 'ARRAY' ? @$reply : ($reply);
        for my $i (0 .. $#pieces) {
            sleep $PiecePause if $i > 0;
            _write_all($client, $pieces[$i]) or last;
        }
    }

    if ($o->{no_close}) {
        sleep 3600 while 1;
    }
    close $client;
    return;
}

sub _write_all {
    my ($sock, $data) = @_;
    my $off = 0;
    while ($off < length $data) {
        my $n = syswrite $sock, $data, length($data) - $off, $off;
        if (!defined $n) {
            next if $!{EINTR};
            print STDERR "# tcp_listen: write failed: $!\n";
            return 0;
        }
        $off += $n;
    }
    return 1;
}

sub _save {
    my ($file, $data) = @_;
    open my $fh, '>', "$file.part" or die "cannot write $file: $!\n";
    binmode $fh;
    print {$fh} $data;
    close $fh;
    rename "$file.part", $file;
}

# What the server read so far ('' if nothing).
sub query {
    my ($self) = @_;
    open my $fh, '<', $self->{query_file} or return '';
    binmode $fh;
    local $/;
    my $data = <$fh>;
    return defined $data ? $data : '';
}

sub stop {
    my ($self) = @_;
    if (my $pid = delete $self->{pid}) {
        kill 'TERM', $pid;
        my $deadline = time + 3;
        while (waitpid($pid, WNOHANG) == 0) {
            if (time > $deadline) {
                kill 'KILL', $pid;
                waitpid $pid, 0;
                last;
            }
            sleep 0.005;
        }
    }
    if (my $l = delete $self->{listener}) {
        close $l;
        unlink $self->{target} if $self->{target} =~ /\.sock$/;
    }
}

sub DESTROY { $_[0]->stop }

1;
