package Test::Nginx::Local::Client;

# HTTP/1.x client side of our Test::Nginx::Socket work-alike: builds the
# request bytes the way the data-driven format describes them, talks to
# nginx over one non-blocking socket, and parses responses strictly.
#
# Everything here works on byte strings; nothing is decoded.

use strict;
use warnings;

use Errno ();
use IO::Select ();
use IO::Socket::INET ();
use HTTP::Headers ();
use HTTP::Response ();
use Time::HiRes qw(sleep time);

# --- more_headers: "Name: value" lines; '#' lines and blank lines are
# skipped.  Returns the header block (CRLF-terminated lines) and whether the
# request announces a chunked body.
sub parse_more_headers {
    my ($text) = @_;
    my ($out, $chunked) = ('', 0);
    for my $line (split /\n+/, defined $text ? $text : '') {
        next if $line =~ /^\s*#/ || $line =~ /^\s*$/;
        my ($key, $val) = split /:\s*/, $line, 2;
        $val = '' unless defined $val;
        $chunked = 1 if lc($key) eq 'transfer-encoding' && $val eq 'chunked';
        $out .= "$key: $val\r\n";
    }
    return ($out, $chunked);
}

# --- request: "METHOD [URI [HTTP/x.y]]" on the first line, the rest is the
# body.  Leading blank lines and '#' comment lines are dropped.  Host and
# Connection headers are added unless more_headers has them; a non-empty body
# is trimmed and gets a Content-Length unless the request is chunked or
# more_headers already carries one.
#
# Returns ($bytes, $method) or (undef, $error).
sub build_request {
    my ($request, $more_headers, $connection) = @_;

    $request = '' unless defined $request;
    1 while $request =~ s/\A\s*#[^\n]*\n//s || $request =~ s/\A\s+//s;

    my ($first, $content) = split /\n/, $request, 2;
    return (undef, 'empty request') unless defined $first && length $first;

    $first =~ /\A\s*(\S+) *(?:(\S+) *)?(?:(\S+) *)?\s*\z/
        or return (undef, "invalid request line \"$first\": "
                          . "expected 'METHOD [URI [VERSION]]'");
    my ($method, $uri, $version) = ($1, defined $2 ? $2 : '/',
                                    defined $3 ? $3 : 'HTTP/1.1');
    $content = '' unless defined $content;

    my ($headers, $chunked) = parse_more_headers($more_headers);

    my $length = '';
    if (!$chunked && $content ne ''
        && $headers !~ /(?:^|\n)Content-Length:/)
    {
        $content =~ s/\A\s+|\s+\z//g;
        $length = 'Content-Length: ' . length($content) . "\r\n";
    }

    my $head = "$method $uri $version\r\n";
    $head .= "Host: localhost\r\n" unless $headers =~ /(?:^|\n)Host:/i;
    $head .= "Connection: $connection\r\n"
        unless $headers =~ /(?:^|\n)Connection/i;
    $head .= $headers . $length . "\r\n";

    return ($head . $content, $method);
}

# --- exchange: connect, write the pieces (each [bytes, delay_before]) and
# read until the server closes, an error happens, or nothing happens on the
# socket for `timeout` seconds (an idle timeout, as in the original).
#
# Returns a hash: data, eof, timed_out, connect_error, write_error,
# read_error.
sub exchange {
    my (%o) = @_;
    my %r = (data => '', eof => 0, timed_out => 0);

    my $sock;
    for my $try (1 .. 5) {
        $sock = IO::Socket::INET->new(
            PeerAddr => $o{addr},
            PeerPort => $o{port},
            Proto    => 'tcp',
            Timeout  => $o{timeout},
        );
        last if $sock || !$!{ECONNREFUSED};
        sleep 0.05 * $try;
    }
    if (!$sock) {
        $r{connect_error} = "cannot connect to $o{addr}:$o{port}: $!";
        return \%r;
    }
    $sock->blocking(0);

    local $SIG{PIPE} = 'IGNORE';

    my @pieces = @{ $o{pieces} };
    my ($buf, $off) = ((shift @pieces)->[0], 0);
    my $writing = 1;
    my $sel = IO::Select->new($sock);

    while (1) {
        if ($writing && $off >= length $buf) {
            if (@pieces) {
                my ($bytes, $delay) = @{ shift @pieces };
                $delay = $o{middle_delay} unless defined $delay;
                sleep $delay if $delay;
                ($buf, $off) = ($bytes, 0);
                next;
            }
            $writing = 0;
            shutdown($sock, $o{shutdown}) if defined $o{shutdown};
        }

        $! = 0;
        my ($can_read, $can_write) =
            IO::Select->select($sel, $writing ? $sel : undef, undef,
                               $o{timeout});
        if (!$can_read && !$can_write) {
            next if $!{EINTR};
            $r{timed_out} = 1;
            last;
        }

        if ($can_write && @$can_write) {
            my $n = syswrite($sock, $buf, length($buf) - $off, $off);
            if (defined $n) {
                $off += $n;
            } elsif (!$!{EAGAIN} && !$!{EWOULDBLOCK} && !$!{EINTR}) {
                $r{write_error} = "$!";
                $writing = 0;
            }
        }

        if ($can_read && @$can_read) {
            my $n = sysread($sock, my $chunk, 65536);
            if (!defined $n) {
                next if $!{EAGAIN} || $!{EWOULDBLOCK} || $!{EINTR};
                $r{read_error} = "$!";
                last;
            }
            if ($n == 0) {
                $r{eof} = 1;
                last;
            }
            $r{data} .= $chunk;
        }
    }

    close $sock;
    return \%r;
}

# --- parse_response: take one response off the front of $$buf.
#
# Returns ($res, $raw_headers, $error).  $res is an HTTP::Response (undef
# when not even a status line could be read); $raw_headers is the status
# line plus header lines, CRLF-terminated, as received; $error describes
# anything malformed or truncated.  Whatever was parsed is still returned
# with an error so that the checks can show what came back.
sub parse_response {
    my ($buf, $head_request) = @_;

    if ($$buf eq '') {
        return (undef, '', 'no response received');
    }

    my $end = index $$buf, "\r\n\r\n";
    if ($end < 0) {
        my $partial = $$buf;
        $$buf = '';
        my ($res) = _status_and_headers($partial);
        return ($res, $partial, 'truncated response header (no empty line)');
    }

    my $raw_headers = substr $$buf, 0, $end + 2;
    my $rest = substr $$buf, $end + 4;

    my ($res, $error) = _status_and_headers($raw_headers);
    if ($error) {
        $$buf = '';
        return ($res, $raw_headers, $error);
    }

    my $code = $res->code;
    my $te = $res->header('Transfer-Encoding');
    my @cl = $res->header('Content-Length');

    if ($head_request || $code =~ /^1/ || $code == 204 || $code == 304) {
        $res->content('');
        $$buf = $rest;
        return ($res, $raw_headers, undef);
    }

    if (defined $te) {
        if (@cl) {
            $$buf = '';
            return ($res, $raw_headers,
                    'both Transfer-Encoding and Content-Length in response');
        }
        if (lc $te ne 'chunked') {
            $$buf = '';
            return ($res, $raw_headers, "unsupported Transfer-Encoding: $te");
        }
        my ($body, $left, $err) = _dechunk($rest);
        $res->content($body);
        $$buf = $left;
        return ($res, $raw_headers, $err);
    }

    if (@cl) {
        my %seen = map { $_ => 1 } @cl;
        my ($len) = keys %seen;
        if (keys %seen > 1 || $len !~ /^\d+$/) {
            $$buf = '';
            return ($res, $raw_headers,
                    'bad Content-Length in response: ' . join(', ', @cl));
        }
        if (length $rest < $len) {
            $res->content($rest);
            $$buf = '';
            return ($res, $raw_headers,
                    "response body truncated: Content-Length $len, got "
                    . length($rest) . ' bytes');
        }
        $res->content(substr $rest, 0, $len);
        $$buf = substr $rest, $len;
        return ($res, $raw_headers, undef);
    }

    # Neither framing header: the body runs until the connection closes.
    $res->content($rest);
    $$buf = '';
    return ($res, $raw_headers, undef);
}

sub _status_and_headers {
    my ($raw) = @_;
    my ($status, @lines) = split /\r\n/, $raw;
    $status = '' unless defined $status;

    $status =~ m{\AHTTP/(\d)\.(\d) (\d{3})(?: ([^\r\n]*))?\z}
        or return (undef, 'bad status line: "' . printable($status) . '"');

    my $res = HTTP::Response->new($3, defined $4 ? $4 : '');
    $res->protocol("HTTP/$1.$2");
    my $headers = $res->headers;

    for my $line (@lines) {
        if ($line =~ /\A([!#\$%&'*+\-.^_`|~0-9A-Za-z]+):[ \t]*(.*?)[ \t]*\z/) {
            $headers->push_header($1, $2);
        } else {
            return ($res, 'malformed response header line: "'
                          . printable($line) . '"');
        }
    }
    return ($res, undef);
}

# Chunked transfer coding (RFC 9112 7.1): size [;ext] CRLF data CRLF ...
# 0 CRLF *(trailer CRLF) CRLF.  Returns (body, leftover, error).
sub _dechunk {
    my ($raw) = @_;
    my ($body, $pos) = ('', 0);

    while (1) {
        my $eol = index $raw, "\r\n", $pos;
        return ($body, '', 'truncated chunked body (no last chunk)')
            if $eol < 0;
        my $line = substr $raw, $pos, $eol - $pos;
        $line =~ /\A([0-9A-Fa-f]+)[ \t]*(?:;[^\r\n]*)?\z/
            or return ($body, '', 'bad chunk size line: "'
                                  . printable($line) . '"');
        my $size = hex $1;
        $pos = $eol + 2;

        if ($size == 0) {
            while (1) {
                my $end = index $raw, "\r\n", $pos;
                return ($body, '', 'truncated chunked body (trailer)')
                    if $end < 0;
                my $trailer = substr $raw, $pos, $end - $pos;
                $pos = $end + 2;
                last if $trailer eq '';
            }
            return ($body, substr($raw, $pos), undef);
        }

        if (length($raw) - $pos < $size + 2) {
            $body .= substr $raw, $pos;
            return ($body, '', 'truncated chunked body (chunk data)');
        }
        $body .= substr $raw, $pos, $size;
        $pos += $size;
        substr($raw, $pos, 2) eq "\r\n"
            or return ($body, '', 'chunk data not followed by CRLF');
        $pos += 2;
    }
}

sub printable {
    my ($s) = @_;
    $s = '' unless defined $s;
    $s =~ s/([^\x20-\x7e])/sprintf '\\x%02x', ord $1/ge;
    return length $s > 200 ? substr($s, 0, 200) . '...' : $s;
}

1;
