package Test::Nginx::Local::Server;

# One nginx instance under test: the server root layout, starting nginx in
# the foreground as our own child (in its own process group), waiting until
# it listens, stopping and reaping it, and reading its logs.

use strict;
use warnings;

use File::Path qw(make_path remove_tree);
use POSIX qw(:sys_wait_h);
use Time::HiRes qw(sleep time);
use Time::Local qw(timegm);

sub new {
    my ($class, %o) = @_;
    my $self = bless { %o }, $class;    # root, binary
    $self->{logs} = "$self->{root}/logs";
    $self->{html} = "$self->{root}/html";
    $self->{conf_dir} = "$self->{root}/conf";
    $self->{conf} = "$self->{conf_dir}/nginx.conf";
    $self->{error_log} = "$self->{logs}/error.log";
    $self->{stderr_log} = "$self->{logs}/stderr.log";
    return $self;
}

sub error_log  { $_[0]{error_log} }
sub stderr_log { $_[0]{stderr_log} }
sub conf_file  { $_[0]{conf} }
sub html_dir   { $_[0]{html} }
sub pid        { $_[0]{pid} }

# Fresh conf/, logs/, html/ and *_temp/ under the server root.  Only these
# are removed, never the root itself, in case TEST_NGINX_SERVROOT points
# somewhere with other data in it.
sub prepare_root {
    my ($self) = @_;
    my $root = $self->{root};
    remove_tree($self->{conf_dir}, $self->{logs}, $self->{html},
                glob("$root/*_temp"));
    make_path($root, $self->{conf_dir}, $self->{logs}, $self->{html});
    for my $dir ($self->{conf_dir}, $self->{logs}, $self->{html}) {
        -d $dir or return "cannot create $dir: $!";
    }
    _write_file("$self->{html}/index.html",
                '<html><head><title>It works!</title></head>'
                . '<body>It works!</body></html>');
    return undef;
}

sub write_config {
    my ($self, $text) = @_;
    _write_file($self->{conf}, $text);
}

# $files: [[name, body, date], ...]; date is touch(1)'s
# [[CC]YY]MMDDhhmm[.ss], taken as UTC.  Relative names are under html/.
sub write_user_files {
    my ($self, $files) = @_;
    for my $file (@$files) {
        my ($name, $body, $date) = @$file;
        my $path = $name =~ m{^/} ? $name : "$self->{html}/$name";
        if ($path =~ m{\A(.*)/[^/]+\z} && !-d $1) {
            make_path($1);
            -d $1 or return "cannot create directory $1: $!";
        }
        _write_file($path, defined $body ? $body : '');
        if (defined $date && $date =~ /\S/) {
            my $t = _touch_time($date);
            return "bad user_files date \"$date\" for $name" unless defined $t;
            utime $t, $t, $path or return "cannot set mtime of $path: $!";
        }
    }
    return undef;
}

sub _touch_time {
    my ($s) = @_;
    $s =~ /\A\s*(\d{2})?(\d{2})?(\d{2})(\d{2})(\d{2})(\d{2})(?:\.(\d{2}))?\s*\z/
        or return undef;
    my ($cc, $yy, $mon, $day, $h, $m, $sec) = ($1, $2, $3, $4, $5, $6, $7 || 0);
    if (defined $cc && !defined $yy) { ($cc, $yy) = (undef, $cc) }
    my $year = defined $yy
        ? (defined $cc ? "$cc$yy" : ($yy < 69 ? 2000 + $yy : 1900 + $yy))
        : (gmtime)[5] + 1900;
    my $t = eval { timegm($sec, $m, $h, $day, $mon - 1, $year) };
    return $t;
}

# Start nginx in the foreground: -p ROOT/ -c conf/nginx.conf, stdout and
# stderr into logs/stderr.log, early (pre-config) errors into logs/error.log
# when the binary supports -e.  wrapper: an argv to run nginx under
# (valgrind and its options); the pid is then the wrapper's, which is
# nginx itself as valgrind does not fork.
sub start {
    my ($self, %o) = @_;
    my @cmd = ($self->{binary}, '-p', "$self->{root}/", '-c', $self->{conf});
    push @cmd, '-e', $self->{error_log} if $o{early_error_log};
    unshift @cmd, @{ $o{wrapper} } if $o{wrapper};
    $self->{valgrind} = $o{wrapper} ? 1 : 0;

    local $| = 1;
    my $pid = fork;
    return "fork failed: $!" unless defined $pid;

    if ($pid == 0) {
        # A process group of its own: a stray worker can be killed with the
        # master, and a terminal's ^C goes to the test script only.
        setpgrp(0, 0);
        open STDIN, '<', '/dev/null';
        open STDOUT, '>>', $self->{stderr_log};
        open STDERR, '>&', \*STDOUT;
        { no warnings q(exec); exec { $cmd[0] } @cmd; }
        print STDERR "cannot exec @cmd: $!\n";
        POSIX::_exit(127);
    }

    $self->{pid} = $pid;
    $self->{cmd} = "@cmd";
    delete $self->{exit};
    return undef;
}

# Has our nginx exited?  Reaps it if so; the wait status is kept in
# {exit}.
sub exited {
    my ($self) = @_;
    return 1 if exists $self->{exit};
    return 1 unless $self->{pid};
    my $r = waitpid $self->{pid}, WNOHANG;
    if ($r == $self->{pid} || $r == -1) {
        $self->{exit} = $r == -1 ? undef : $?;
        return 1;
    }
    return 0;
}

sub exit_status { $_[0]{exit} }

sub describe_status {
    my ($status) = @_;
    return 'unknown status' unless defined $status;
    return 'signal ' . ($status & 127) . (($status & 128) ? ' (core dumped)' : '')
        if $status & 127;
    return 'exit code ' . ($status >> 8);
}

# Wait until nginx has a listening socket on $port (seen in /proc, so no
# probe connection shows up in the logs).  Returns undef when it listens,
# else why not.
sub wait_listening {
    my ($self, $port, $timeout) = @_;
    my $deadline = time + $timeout;
    while (time < $deadline) {
        if ($self->exited) {
            return 'nginx exited during startup ('
                   . describe_status($self->{exit}) . ')';
        }
        if (!-r '/proc/net/tcp') {
            # No /proc: a connect probe (it shows up in a debug log).
            return undef if _connects($port);
        } else {
            my %inodes = map { $_ => 1 } listening_inodes($port);
            if (%inodes) {
                return undef if $self->_owns_socket(\%inodes);
                # fds unreadable: accept a listener that was not there
                # before the start (the caller checked the port was free).
                return undef unless -r "/proc/$self->{pid}/fd";
            }
        }
        sleep 0.01;
    }
    return "nginx did not listen on port $port within $timeout s";
}

sub _owns_socket {
    my ($self, $inodes) = @_;
    opendir my $dh, "/proc/$self->{pid}/fd" or return 0;
    for my $fd (readdir $dh) {
        my $link = readlink "/proc/$self->{pid}/fd/$fd";
        return 1 if defined $link && $link =~ /^socket:\[(\d+)\]$/
                    && $inodes->{$1};
    }
    return 0;
}

# Inodes of TCP sockets in LISTEN state on $port (any local address).
sub listening_inodes {
    my ($port) = @_;
    my @inodes;
    for my $file ('/proc/net/tcp', '/proc/net/tcp6') {
        open my $fh, '<', $file or next;
        <$fh>;
        while (my $line = <$fh>) {
            my @f = split ' ', $line;
            next unless @f > 9 && $f[3] eq '0A';
            my ($p) = $f[1] =~ /:([0-9A-F]+)$/;
            push @inodes, $f[9] if defined $p && hex($p) == $port;
        }
    }
    return @inodes;
}

sub port_in_use {
    my ($port) = @_;
    return scalar listening_inodes($port) if -r '/proc/net/tcp';
    return _connects($port);
}

sub _connects {
    my ($port) = @_;
    require IO::Socket::INET;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                  Proto => 'tcp', Timeout => 1);
    return $s ? 1 : 0;
}

# Wait up to $timeout seconds for nginx to exit on its own (must_die).
sub wait_exit {
    my ($self, $timeout) = @_;
    my $deadline = time + $timeout;
    while (time < $deadline) {
        return 1 if $self->exited;
        sleep 0.01;
    }
    return $self->exited;
}

# SIGQUIT (graceful), then SIGKILL to the whole process group after $grace
# seconds.  Returns a hash: premature (it had already exited), status, killed.
sub stop {
    my ($self, $grace) = @_;
    my $pid = $self->{pid} or return { status => undef };
    my %r;

    if ($self->exited) {
        $r{premature} = 1;
    } else {
        kill 'QUIT', $pid;
        my $deadline = time + $grace;
        while (!$self->exited && time < $deadline) {
            sleep 0.01;
        }
        if (!$self->exited) {
            kill 'KILL', -$pid;
            kill 'KILL', $pid;
            waitpid $pid, 0;
            $self->{exit} = $?;
            $r{killed} = 1;
        }
    }
    # Workers of a master that is gone (they share its process group).
    kill 'KILL', -$pid if kill 0, -$pid;

    $r{status} = $self->{exit};
    delete $self->{pid};
    return \%r;
}

# Lines of the error log from byte offset $pos; returns (\@lines, $newpos).
sub read_log {
    my ($path, $pos) = @_;
    open my $fh, '<', $path or return ([], $pos || 0);
    binmode $fh;
    seek $fh, $pos, 0 if $pos;
    my @lines = <$fh>;
    my $new = tell $fh;
    close $fh;
    return (\@lines, $new);
}

sub tail {
    my ($path, $n) = @_;
    my ($lines) = read_log($path, 0);
    my @l = @$lines;
    @l = @l[-$n .. -1] if @l > $n;
    return join '', @l;
}

sub _write_file {
    my ($path, $data) = @_;
    open my $fh, '>', $path or die "cannot write $path: $!\n";
    binmode $fh;
    print {$fh} $data;
    close $fh or die "cannot write $path: $!\n";
}

1;
