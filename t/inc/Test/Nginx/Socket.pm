package Test::Nginx::Socket;

use strict;
use warnings;

# -base (lower case): subclass Test::Base without Spiffy's source filter.
use Test::Base -base;

our $VERSION = '0.01_imprest';

use Cwd ();
use File::Spec ();
use POSIX ();
use Test::More ();
use Test::LongString ();
use Time::HiRes qw(sleep time);

use Test::Nginx::Local::Client;
use Test::Nginx::Local::Server;
use Test::Nginx::Local::TcpMock;

our @EXPORT = qw(
    run_tests run_test repeat_each no_shuffle use_hup
    master_on master_off master_process_enabled workers worker_connections
    log_level no_long_string no_root_location server_name
    add_block_preprocessor add_response_body_check add_cleanup_handler
    env_to_nginx is_str bail_out config_preamble timeout
    check_accum_error_log no_nginx_manager set_http_config_filter
    server_addr server_root html_dir server_port server_port_for_client
);

# ---------------------------------------------------------------------------
# Settings (same environment variables and defaults as the original)
# ---------------------------------------------------------------------------

our $NginxBinary = $ENV{TEST_NGINX_BINARY} || 'nginx';
our $ServerPort = $ENV{TEST_NGINX_SERVER_PORT} || $ENV{TEST_NGINX_PORT} || 1984;
our $ServerPortForClient = $ENV{TEST_NGINX_CLIENT_PORT} || $ServerPort;
our $ServerAddr = '127.0.0.1';
our $ServerName = 'localhost';
our $ServRoot = File::Spec->rel2abs($ENV{TEST_NGINX_SERVROOT} || 't/servroot');
our $LoadModules = $ENV{TEST_NGINX_LOAD_MODULES};
our $Timeout = $ENV{TEST_NGINX_TIMEOUT} || 3;
our $LogLevel = $ENV{TEST_NGINX_LOG_LEVEL} || 'debug';
our $Workers = 1;
our $WorkerConnections = 1024;
our $MasterProcessEnabled = $ENV{TEST_NGINX_MASTER_PROCESS} || 'off';
our $RepeatEach = 1;
our $NoRootLocation = 0;
our $NoLongString = 0;
our $CheckAccumErrLog = $ENV{TEST_NGINX_CHECK_ACCUM_ERR_LOG};
our $ConfigPreamble = '';
our $EventType = $ENV{TEST_NGINX_EVENT_TYPE};
our $Sleep = $ENV{TEST_NGINX_SLEEP} || 0.015;
our $StartTimeout = 5;      # seconds for nginx to start listening
our $StopGrace = 3;         # seconds between SIGQUIT and SIGKILL

# TEST_NGINX_USE_VALGRIND as in the original: a number runs nginx under
# valgrind memcheck with the original's options (and ./valgrind.suppress
# when there is one), any other value is the valgrind options themselves.
# Unlike the original, a valgrind report fails the block (see
# _valgrind_reports).  must_die blocks run without it, as there.
our $UseValgrind = $ENV{TEST_NGINX_USE_VALGRIND};
our $ValgrindExitOnFirstErr = $ENV{TEST_NGINX_VALGRIND_EXIT_ON_FIRST_ERR};
our $ValgrindSuppressions = 'valgrind.suppress';

# Every wait of the runner (nginx's start and stop, the client's idle
# timeout, the pause before the error log is read) is multiplied by
# TEST_NGINX_TIMEOUT_SCALE, 10 by default under valgrind: memcheck runs
# nginx 20-50 times slower.  A block's own --- timeout that goes with
# --- abort is when the client gives up on purpose: never scaled.
our $TimeoutScale = $ENV{TEST_NGINX_TIMEOUT_SCALE}
                    || ($UseValgrind ? 10 : 1);

our @EnvToNginx;
our @BlockPreprocessors;
our @ResponseBodyChecks;
our @CleanupHandlers;

$ENV{TEST_NGINX_SERVER_ROOT} = $ServRoot;

my $PrevConfig;         # a block without --- config reuses the previous one
my $Nginx;              # the running Test::Nginx::Local::Server, if any
my $ErrLogPos = 0;      # error.log offset for the per-request checks
my $NginxVersion;       # "1.22.1"

# nginx removes its environment; the original passes these through.
my @DefaultEnv = qw(
    MOCKEAGAIN_VERBOSE MOCKEAGAIN MOCKEAGAIN_WRITE_TIMEOUT_PATTERN
    LD_PRELOAD LD_LIBRARY_PATH DYLD_INSERT_LIBRARIES
    DYLD_FORCE_FLAT_NAMESPACE ASAN_OPTIONS MOCKNOEAGAIN_VERBOSE MOCKNOEAGAIN
);

# ---------------------------------------------------------------------------
# Exported configuration functions
# ---------------------------------------------------------------------------

sub repeat_each { $RepeatEach = shift if @_; return $RepeatEach }
sub no_shuffle { }          # blocks always run in file order
sub use_hup { }             # no HUP mode: a fresh nginx per block
sub no_nginx_manager { }
sub master_on { $MasterProcessEnabled = 'on' }
sub master_off { $MasterProcessEnabled = 'off' }
sub master_process_enabled {
    $MasterProcessEnabled = $_[0] ? 'on' : 'off' if @_;
    return $MasterProcessEnabled;
}
sub workers { $Workers = shift if @_; return $Workers }
sub worker_connections { $WorkerConnections = shift if @_; return $WorkerConnections }
sub log_level { $LogLevel = shift if @_; return $LogLevel }
sub no_long_string { $NoLongString = 1 }
sub no_root_location { $NoRootLocation = 1 }
sub server_name { $ServerName = shift if @_; return $ServerName }
sub server_addr { $ServerAddr = shift if @_; return $ServerAddr }
sub server_root { $ServRoot }
sub html_dir { "$ServRoot/html" }
sub server_port { $ServerPort = shift if @_; return $ServerPort }
sub server_port_for_client {
    $ServerPortForClient = shift if @_;
    return $ServerPortForClient;
}
sub timeout { $Timeout = shift if @_; return $Timeout }
sub check_accum_error_log { $CheckAccumErrLog = 1 }
sub config_preamble { $ConfigPreamble = shift }
sub add_block_preprocessor { unshift @BlockPreprocessors, shift }
# as the original: applied after $TEST_NGINX_* expansion, to every block
our $FilterHttpConfig;
sub set_http_config_filter { $FilterHttpConfig = shift }
sub add_response_body_check { push @ResponseBodyChecks, shift }
sub add_cleanup_handler { unshift @CleanupHandlers, shift }

sub env_to_nginx {
    Carp::croak('env_to_nginx: no arguments specified') unless @_;
    for my $v (@_) {
        Carp::croak("env_to_nginx: bad argument value: $v")
            if $v !~ /^[A-Za-z_]/ || $v =~ /\n/;
        push @EnvToNginx, $v;
    }
}

sub is_str {
    my ($got, $expected, $desc) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    return Test::More::like($got, $expected, $desc)
        if ref $expected && ref $expected eq 'Regexp';
    return Test::More::is($got, $expected, $desc) if $NoLongString;
    return Test::LongString::is_string($got, $expected, $desc);
}

sub bail_out {
    cleanup();
    Test::More::BAIL_OUT(join '', @_);
}

# ---------------------------------------------------------------------------
# Driver
# ---------------------------------------------------------------------------

sub run_tests {
    bail_out("TEST_NGINX_TIMEOUT_SCALE must be a positive number, not "
             . "\"$TimeoutScale\"")
        unless $TimeoutScale =~ /^\d+(?:\.\d+)?$/ && $TimeoutScale > 0;
    $StartTimeout *= $TimeoutScale;
    $StopGrace *= $TimeoutScale;
    $Sleep *= $TimeoutScale;
    bail_out('TEST_NGINX_USE_VALGRIND is set but there is no valgrind '
             . 'in PATH') if $UseValgrind && !_find_binary('valgrind');
    unlink _valgrind_log() if $UseValgrind;

    $ENV{TEST_NGINX_SERVER_PORT} = $ServerPort
        unless defined $ENV{TEST_NGINX_SERVER_PORT};

    my $binary = _find_binary($NginxBinary)
        or bail_out("cannot find the nginx executable \"$NginxBinary\" "
                    . '(set TEST_NGINX_BINARY)');
    $NginxBinary = $binary;
    my $v = `$NginxBinary -V 2>&1`;
    ($NginxVersion) = $v =~ m{nginx/(\d+\.\d+\.\d+)};
    $Test::Nginx::Local::Server::BuildInfo = $v;

    for my $block (Test::Base::blocks()) {
        $_->($block) for @BlockPreprocessors;
        $block->set_value('name', "$0 " . $block->name);
        my $ok = eval { run_test($block); 1 };
        _valgrind_todo_end();
        next if $ok;
        Test::More::fail($block->name . " - test runner error: $@");
        if ($Nginx && $Nginx->pid) {
            $Nginx->stop($StopGrace);
            undef $Nginx;
        }
    }

    cleanup();
}

sub run_test {
    my ($block) = @_;
    my $name = $block->name;

    return if _eval_errors($block);

    if (my ($n, $why) = _should_skip($block)) {
        SKIP: { Test::More::skip("$name - $why", $n) }
        return;
    }

    my $config = $block->config;
    if (defined $config) {
        $PrevConfig = $config;
    } elsif (defined $PrevConfig) {
        $config = $PrevConfig;
    } else {
        Test::More::fail("$name - no --- config section and no previous "
                         . 'block to take it from');
        return;
    }

    # Expand $TEST_NGINX_* in everything that goes into the server root.
    my %cfg;
    for my $section (qw(http_config main_config post_main_config)) {
        my $text = $block->$section;
        $text = '' unless defined $text;
        ($cfg{$section}, my $err) = _expand_env($text);
        return Test::More::fail("$name - --- $section: $err") if $err;
    }
    $cfg{http_config} = $FilterHttpConfig->($cfg{http_config})
        if $FilterHttpConfig;
    ($cfg{config}, my $err) = _expand_env($config);
    return Test::More::fail("$name - --- config: $err") if $err;

    my $files;
    ($files, $err) = _user_files($block);
    return Test::More::fail("$name - --- user_files: $err") if $err;

    my $srv = Test::Nginx::Local::Server->new(root => $ServRoot,
                                              binary => $NginxBinary);
    $err = $srv->prepare_root;
    return Test::More::fail("$name - setting up $ServRoot: $err") if $err;
    # As the original: after the server root is made, before the user files
    # and nginx.conf are written and nginx starts; a failure ends the run.
    Test::Nginx::Util::_run_post_setup($block)
        if $block->post_setup_server_root;
    $err = $srv->write_user_files($files)
        || _write_config($srv, $block, \%cfg);
    return Test::More::fail("$name - setting up $ServRoot: $err") if $err;

    if (defined $block->must_die) {
        _run_must_die($block, $srv);
        return;
    }

    if (Test::Nginx::Local::Server::port_in_use($ServerPort)) {
        Test::More::fail("$name - port $ServerPort is already in use by "
                         . 'another process (set TEST_NGINX_SERVER_PORT)');
        return;
    }

    $err = $srv->start(early_error_log => _version_ge('1.19.5'),
                       wrapper => _valgrind_argv());
    return Test::More::fail("$name - cannot start nginx: $err") if $err;
    $Nginx = $srv;

    $err = $srv->wait_listening($ServerPort, $StartTimeout);
    if ($err) {
        Test::More::fail("$name - $err");
        Test::More::diag(_log_tails($srv));
        _stop_nginx($block, 'startup failed');
        return;
    }

    # As the original: once nginx is up, in package Test::Nginx::Util under
    # its strict and warnings, and a failure ends the whole run.
    _valgrind_todo_start($block);
    Test::Nginx::Util::_run_init($block) if $block->init;

    $ErrLogPos = 0;
    for my $rep (0 .. $RepeatEach - 1) {
        if ($rep > 0) {
            $err = $srv->write_user_files($files);
            Test::More::fail("$name - --- user_files: $err") if $err;
        }

        my $tcp;
        if (defined $block->tcp_listen) {
            ($tcp, $err) = _start_tcp_mock($block, $rep);
            if ($err) {
                Test::More::fail("$name - --- tcp_listen: $err");
                next;
            }
        }

        _run_requests($block, $rep);

        if ($tcp) {
            my $query = $tcp->query;
            if (defined $block->tcp_query) {
                is_str($query, $block->tcp_query, "$name - tcp_query ok");
            }
            if (defined $block->tcp_query_len) {
                Test::More::is(length($query), $block->tcp_query_len,
                               "$name - TCP query length ok");
            }
            $tcp->stop;
        }

        if ($srv->exited) {
            Test::More::fail("$name - nginx exited while the block ran ("
                . Test::Nginx::Local::Server::describe_status($srv->exit_status)
                . ')');
            Test::More::diag(_log_tails($srv));
            last;
        }
    }

    _valgrind_todo_end();
    _stop_nginx($block);
}

# --- valgrind_todo: REASON (our extension; Imprest::Test sets it from
# t/valgrind.todo): under valgrind, the block's own checks -- responses,
# error log, init's -- are TODO, reported but not failing, because they
# bound times memcheck's slowness breaks; the checks made once nginx has
# stopped (clean exit, no crash, no valgrind report) still fail it.
my $InValgrindTodo;

sub _valgrind_todo_start {
    my ($block) = @_;
    my $why = $block->valgrind_todo;
    return unless $UseValgrind && defined $why;
    $why =~ s/^\s+|\s+$//g;
    Test::More->builder->todo_start("under valgrind: $why");
    $InValgrindTodo = 1;
}

sub _valgrind_todo_end {
    return unless $InValgrindTodo;
    Test::More->builder->todo_end;
    $InValgrindTodo = 0;
}

sub cleanup {
    $_->() for @CleanupHandlers;
    @CleanupHandlers = ();
    if ($Nginx && $Nginx->pid && !$ENV{TEST_NGINX_NO_CLEAN}) {
        $Nginx->stop($StopGrace);
    }
    undef $Nginx;
}

END {
    # Not in forked helpers: they leave with POSIX::_exit.
    if ($Nginx && $Nginx->pid) {
        local $?;
        if ($ENV{TEST_NGINX_NO_CLEAN}) {
            print STDERR "# TEST_NGINX_NO_CLEAN: leaving nginx (pid "
                         . $Nginx->pid . ") running in $ServRoot\n";
        } else {
            $Nginx->stop($StopGrace);
        }
    }
}

# ---------------------------------------------------------------------------
# nginx lifecycle
# ---------------------------------------------------------------------------

# Stop the block's nginx and run the checks the original does not do:
# crashes, [alert]/[emerg] lines, sanitizer reports.
sub _stop_nginx {
    my ($block, $startup_failed) = @_;
    my $srv = $Nginx or return;
    my $name = $block->name;

    if ($ENV{TEST_NGINX_NO_CLEAN} && _is_last_block($block)) {
        _scan_logs($block, $srv);
        return;     # END leaves it running
    }

    my $r = $srv->stop($StopGrace);
    undef $Nginx;

    if (!$startup_failed) {
        my $status = $r->{status};
        my $ok = !$r->{premature} && !$r->{killed}
                 && defined $status && $status == 0;
        my $why = $r->{premature} ? 'nginx had already exited'
                : $r->{killed}    ? "nginx ignored SIGQUIT for $StopGrace s "
                                    . 'and was killed'
                : 'nginx stopped with '
                  . Test::Nginx::Local::Server::describe_status($status);
        _extra_check($ok, "$name - nginx shut down cleanly", $why);
    }

    _scan_logs($block, $srv, $startup_failed);
}

sub _scan_logs {
    my ($block, $srv, $startup_failed) = @_;
    my $name = $block->name;

    # Only a block that expects such a line (error_log) may have one; a
    # no_error_log naming it forbids it, here too, shutdown included.
    my $expected = join "\n", grep { defined }
        map { ref $_ eq 'ARRAY' ? @$_ : $_ } ($block->error_log);
    $expected =~ s/\\//g;      # qr/\[alert\] .../ names it too
    my $allow_alert = $expected =~ /\[alert/;
    my $allow_emerg = $expected =~ /\[emerg/ || defined $block->must_die
                      || $startup_failed;

    my @bad;
    for my $log ($srv->error_log, $srv->stderr_log) {
        my ($lines) = Test::Nginx::Local::Server::read_log($log, 0);
        for my $line (@$lines) {
            push @bad, $line
                if (!$allow_alert && $line =~ /\[alert\]/)
                || (!$allow_emerg && $line =~ /\[emerg\]/)
                || $line =~ /exited on signal/
                || $line =~ /Sanitizer|runtime error:/
                || $line =~ /\bAssertion .*failed/;
        }
    }
    my @show = @bad > 20 ? (@bad[0 .. 19], '...') : @bad;
    _extra_check(!@bad,
        "$name - no [alert], [emerg], crash or sanitizer report in the logs",
        "found in error.log/stderr.log:\n" . join '', @show);

    return unless $srv->{valgrind};
    my @reports = _valgrind_reports($srv->error_log, $srv->stderr_log);
    my $ours = grep { $_->{ours} } @reports;
    my $last = $#reports > 9 ? 9 : $#reports;
    my $text = join "\n", map { $_->{text} } @reports[0 .. $last];
    _extra_check(!@reports, "$name - no valgrind report",
        scalar(@reports) . " valgrind report(s), $ours with a frame of "
        . "ngx_http_imprest_* (all of them in " . _valgrind_log() . "):\n$text");
    _append_valgrind_log($srv, $name, \@reports) if @reports;
}

# The argv that runs nginx under valgrind, as the original builds it, or
# undef.
sub _valgrind_argv {
    return undef unless $UseValgrind;
    my @argv = ('valgrind');
    if ($UseValgrind =~ /^\d+$/) {
        push @argv, qw(--num-callers=100 -q --tool=memcheck --leak-check=full
                       --keep-debuginfo=yes --show-possibly-lost=no);
        push @argv, qw(--exit-on-first-error=yes --error-exitcode=1)
            if $ValgrindExitOnFirstErr;
        push @argv, '--gen-suppressions=all';
        push @argv, "--suppressions=$ValgrindSuppressions"
            if -f $ValgrindSuppressions;
    } else {
        push @argv, '-q', split ' ', $UseValgrind;
    }
    return \@argv;
}

# Valgrind's reports in the logs: its lines are "==PID== text"; a report
# is a line of text at the margin and the indented lines ("at", "by",
# "Address ...") up to the next blank "==PID==" line, followed by the
# suppression --gen-suppressions=all prints for it ("{" ... "}", no
# prefix).  Every report counts (error, leak, a process killed by a
# signal) except valgrind's warnings and the summaries it prints without
# -q.  Returns [{ text, ours }], ours when a frame is ngx_http_imprest_*.
my $VgNotAReport = qr/^(?:Warning:|WARNING:|HEAP SUMMARY|LEAK SUMMARY
    |ERROR SUMMARY|For (?:counts|lists)\b|Memcheck,|Copyright|Using Valgrind
    |Command:|Parent PID:|Rerun with|To see (?:them|the)|in use at exit:
    |total heap usage:|(?:definitely|indirectly|possibly)\ lost:
    |still\ reachable:|suppressed:|of\ which\ reachable|All heap blocks
    |Reachable blocks|Use --track-origins|Searching for pointers
    |checked [\d,]+ bytes)/x;

sub _valgrind_reports {
    my @logs = @_;
    my @reports;
    for my $log (@logs) {
        my ($lines) = Test::Nginx::Local::Server::read_log($log, 0);
        my ($cur, $supp);
        for my $line (@$lines) {
            if (defined $supp) {
                $supp .= $line;
                if ($line =~ /^\}\s*$/) {
                    $reports[-1]{text} .= $supp if @reports;
                    undef $supp;
                }
                next;
            }
            if ($line =~ /^\{\s*$/) {
                $supp = $line;
                next;
            }
            my ($body) = $line =~ /^==\d+== ?(.*)$/s or next;
            if ($body =~ /^\s*$/) {
                undef $cur;
            } elsif ($body =~ /^\S/) {
                undef $cur;
                next if $body =~ $VgNotAReport;
                $cur = { text => $line, ours => 0 };
                push @reports, $cur;
            } elsif ($cur) {
                $cur->{text} .= $line;
                $cur->{ours} = 1 if $body =~ /\bngx_http_imprest_/;
            }
        }
    }
    return @reports;
}

# A test file's reports, block by block, in SERVROOT/valgrind-FILE.log
# (each block starts with a fresh logs/); emptied when the file starts.
sub _valgrind_log {
    my ($file) = $0 =~ m{([^/]+?)(?:\.t)?$};
    return "$ServRoot/valgrind-$file.log";
}

sub _append_valgrind_log {
    my ($srv, $name, $reports) = @_;
    open my $fh, '>>', _valgrind_log() or return;
    print {$fh} "=== $name\n", map { "$_->{text}\n" } @$reports;
    close $fh;
}

# Extra checks always report a failure; they report a pass only when the
# test file has no fixed plan, so that `plan tests => N` files written for
# the original keep their counts.
sub _extra_check {
    my ($ok, $desc, $why) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    if ($ok) {
        my $plan = Test::More->builder->has_plan;
        Test::More::pass($desc) unless defined $plan && $plan =~ /^\d+$/;
        return 1;
    }
    Test::More::fail($desc);
    Test::More::diag($why) if defined $why;
    return 0;
}

sub _run_must_die {
    my ($block, $srv) = @_;
    my $name = $block->name;
    my $want = $block->must_die;

    for my $rep (0 .. $RepeatEach - 1) {
        unlink $srv->error_log, $srv->stderr_log;
        my $err = $srv->start(early_error_log => _version_ge('1.19.5'));
        return Test::More::fail("$name - cannot start nginx: $err") if $err;
        $Nginx = $srv;

        if ($srv->wait_exit($Timeout * $TimeoutScale)) {
            my $status = $srv->exit_status;
            if (!defined $status || ($status & 127)) {
                Test::More::fail("$name - nginx must die with an error, not "
                    . Test::Nginx::Local::Server::describe_status($status));
            } elsif ($want =~ /^\s*\d+\s*$/) {
                Test::More::is($status >> 8, 0 + $want,
                               "$name - die with the expected exit code");
            } else {
                Test::More::isnt($status >> 8, 0, "$name - die as expected");
            }
        } else {
            Test::More::fail("$name - nginx must die but it does not");
        }
        $srv->stop($StopGrace);
        undef $Nginx;

        $ErrLogPos = 0;
        _check_error_log($block, $rep, $srv);
        _scan_logs($block, $srv);
    }
}

sub _write_config {
    my ($srv, $block, $cfg) = @_;
    my $root = $ServRoot;
    my $master = ($MasterProcessEnabled eq 'on' || $Workers > 1) ? 'on' : 'off';
    my $level = $block->log_level || $LogLevel;
    my $server_name = defined $block->server_name ? $block->server_name
                                                 : $ServerName;
    $server_name =~ s/^\s+|\s+$//g;
    $server_name =~ s/(['\\])/\\$1/g;

    my $c = '';
    for my $mod (grep { length } split /\s+/, $LoadModules || '') {
        $c .= "load_module $mod;\n";
    }
    $c .= "daemon off;\n"
        . "master_process $master;\n"
        . "worker_processes $Workers;\n"
        . "pid $root/logs/nginx.pid;\n"
        . "error_log $root/logs/error.log $level;\n";
    $c .= "env $_;\n" for @DefaultEnv;
    for my $v (@EnvToNginx) {
        $c .= $v =~ /\s/ ? "env '$v';\n" : "env $v;\n";
    }
    $c .= "user root;\n" if $> == 0 && $master eq 'on';

    $c .= "\n$cfg->{main_config}\n\n"
        . "events {\n"
        . "    accept_mutex off;\n"
        . "    worker_connections $WorkerConnections;\n"
        . ($EventType ? "    use $EventType;\n" : '')
        . "}\n\n"
        . "http {\n"
        . "    access_log $root/logs/access.log;\n"
        . "    default_type text/plain;\n"
        . "    keepalive_timeout 68;\n";
    for my $kind (qw(client_body proxy fastcgi uwsgi scgi)) {
        next if $kind ne 'client_body' && !_has_module("http_${kind}_module");
        $c .= "    ${kind}_temp_path $root/${kind}_temp;\n";
    }
    $c .= "\n$cfg->{http_config}\n\n"
        . "    server {\n"
        . "        listen $ServerPort;\n"
        . "        server_name '$server_name';\n"
        . "        client_max_body_size 30M;\n"
        . "$ConfigPreamble\n"
        . "        # --- config\n"
        . "$cfg->{config}\n"
        . "        # --- end of config\n";
    $c .= "        location / {\n"
        . "            root $root/html;\n"
        . "            index index.html index.htm;\n"
        . "        }\n" unless $NoRootLocation;
    $c .= "    }\n}\n\n$cfg->{post_main_config}\n";

    return eval { $srv->write_config($c); undef } || $@ || undef;
}

# ---------------------------------------------------------------------------
# Requests and response checks
# ---------------------------------------------------------------------------

# Each connection: { pieces => [[bytes, delay]], heads => [bool per
# response] }.  Returns (\@connections, $pipelined) or () after a failure.
sub _build_connections {
    my ($block) = @_;
    my $name = $block->name;
    my $more = $block->more_headers;
    $more = '' unless defined $more;

    my $headers_for = sub {
        my ($i) = @_;
        my $h = ref $more eq 'ARRAY' ? $more->[$i] : $more;
        return (undef, "--- more_headers lacks data for request $i")
            unless defined $h;
        return ($h, undef);     # as the original: no $TEST_NGINX_* here
    };

    my $fail = sub { Test::More::fail("$name - $_[0]"); return () };

    if (defined(my $raw = $block->raw_request)) {
        my @pieces;
        for my $p (ref $raw eq 'ARRAY' ? @$raw : ($raw)) {
            my ($bytes, $delay) = ref $p eq 'HASH' ? ($p->{value}, $p->{delay_before})
                                                   : ($p, undef);
            # as the original: no $TEST_NGINX_* expansion here
            push @pieces, [$bytes, $delay];
        }
        my $head = join('', map { $_->[0] } @pieces) =~ /\A\s*HEAD\s/ ? 1 : 0;
        return ([{ pieces => \@pieces, heads => [$head] }], 0);
    }

    if (defined(my $reqs = $block->pipelined_requests)) {
        return $fail->('--- pipelined_requests must be an array (use eval)')
            unless ref $reqs eq 'ARRAY';
        my ($bytes, @heads) = ('');
        for my $i (0 .. $#$reqs) {
            my ($h, $err) = $headers_for->($i);
            return $fail->($err) if $err;
            (my $r, $err) = _expand_env($reqs->[$i]);
            return $fail->("--- pipelined_requests: $err") if $err;
            my ($req, $method) = Test::Nginx::Local::Client::build_request(
                $r, $h, $i == $#$reqs ? 'close' : 'keep-alive');
            return $fail->("--- pipelined_requests [$i]: $method")
                unless defined $req;
            $bytes .= $req;
            push @heads, $method eq 'HEAD' ? 1 : 0;
        }
        return ([{ pieces => [[$bytes]], heads => \@heads }], 1);
    }

    my $request = $block->request;
    return $fail->('no --- request, --- raw_request or '
                   . '--- pipelined_requests section') unless defined $request;

    my @conns;
    my @list = ref $request eq 'ARRAY' ? @$request : ($request);
    return $fail->('--- request eval gave an empty array') unless @list;
    for my $i (0 .. $#list) {
        return $fail->("--- request [$i]: splitting a request into packets "
                       . 'is not supported here; use --- raw_request eval')
            if ref $list[$i];
        my ($h, $err) = $headers_for->($i);
        return $fail->($err) if $err;
        # as the original: no $TEST_NGINX_* expansion in a plain request
        my ($req, $method) =
            Test::Nginx::Local::Client::build_request($list[$i], $h, 'close');
        return $fail->("--- request: $method") unless defined $req;
        push @conns, { pieces => [[$req]],
                       heads => [$method eq 'HEAD' ? 1 : 0] };
    }
    return (\@conns, 0);
}

sub _run_requests {
    my ($block, $rep) = @_;
    my $name = $block->name;

    my ($conns, $pipelined) = _build_connections($block) or return;

    my $timeout = _parse_time($block->timeout);
    my $abort = defined $block->abort;
    $timeout *= $TimeoutScale if defined $timeout && !$abort;
    $timeout = $Timeout * $TimeoutScale unless defined $timeout;
    my $ignore = defined $block->ignore_response;
    my $total = 0;
    $total += @{ $_->{heads} } for @$conns;
    my $need_array = $total > 1;

    my $shutdown = $block->shutdown;
    $shutdown = 1 if defined $shutdown && $shutdown !~ /\S/;

    my $idx = 0;
    for my $conn (@$conns) {
        my $r = Test::Nginx::Local::Client::exchange(
            addr => $ServerAddr, port => $ServerPortForClient,
            pieces => $conn->{pieces}, timeout => $timeout,
            middle_delay => _parse_time($block->raw_request_middle_delay),
            shutdown => $shutdown);

        if ($r->{connect_error}) {
            Test::More::fail("$name - $r->{connect_error}");
        }
        if ($r->{timed_out}) {
            if ($abort) {
                sleep 0.005;
            } else {
                Test::More::fail("ERROR: client socket timed out - $name");
            }
        }
        my $cut_short = $abort && $r->{timed_out};

        my $buf = $r->{data};
        for my $k (0 .. $#{ $conn->{heads} }) {
            if (!$ignore) {
                my ($res, $raw_headers, $err);
                if (defined $block->http09) {
                    $res = HTTP::Response->new(200, 'OK', [], $buf);
                    ($raw_headers, $buf) = ('', '');
                } else {
                    ($res, $raw_headers, $err) =
                        Test::Nginx::Local::Client::parse_response(
                            \$buf, $conn->{heads}[$k]);
                }
                if ($err && !$cut_short && !$r->{connect_error}) {
                    my $why = $r->{write_error} ? "; write failed: $r->{write_error}"
                            : $r->{read_error}  ? "; read failed: $r->{read_error}"
                            : '';
                    Test::More::fail("$name - bad response (req $idx): $err$why");
                }
                _check_response($block, $res, $raw_headers, $idx, $need_array,
                                $rep);
            }

            if ($idx < $total - 1) {
                sleep _parse_time($block->wait) if $block->wait;
                _check_error_log($block, $rep);
            }
            $idx++;
        }

        if (!$ignore && length $buf && !$cut_short) {
            Test::More::fail("$name - unexpected bytes after the last "
                . 'response: "'
                . Test::Nginx::Local::Client::printable($buf) . '"');
        }
    }

    sleep _parse_time($block->wait) if $block->wait;
    _check_error_log($block, $rep);
}

# A section value for request $idx: arrays are indexed when the block sends
# several requests.  Returns (1, value) or (0) after reporting a failure.
sub _indexed {
    my ($block, $section, $idx, $need_array) = @_;
    my $v = $block->$section;
    if (ref $v eq 'ARRAY') {
        return (1, $v->[$idx]) if $need_array;
        return (1, $v->[0]);
    }
    if ($need_array) {
        Test::More::fail($block->name . " - --- $section must be an array "
                         . '(eval [...]): the block sends several requests');
        return (0);
    }
    return (1, $v);
}

sub _subst_port {
    my ($s) = @_;
    return $s if !defined $s || ref $s;
    $s =~ s/\$ServerPortForClient\b/$ServerPortForClient/g;
    $s =~ s/\$ServerPort\b/$ServerPort/g;
    return $s;
}

sub _check_response {
    my ($block, $res, $raw_headers, $idx, $need_array, $rep) = @_;
    my $name = $block->name;
    my $code = $res && defined $res->code ? $res->code : '';
    my $body = $res && defined $res->content ? $res->content : '';
    $raw_headers = '' unless defined $raw_headers;
    my ($ok, $v);

    if (defined $block->error_code_like) {
        ($ok, $v) = _indexed($block, 'error_code_like', $idx, $need_array);
        Test::More::like($code, qr/$v/sm, "$name - status code ok") if $ok;
    } elsif (defined $block->error_code) {
        ($ok, $v) = _indexed($block, 'error_code', $idx, $need_array);
        Test::More::is($code, $v, "$name - status code ok") if $ok;
    } else {
        Test::More::is($code, 200, "$name - status code ok");
    }

    if (defined $block->raw_response_headers_like) {
        ($ok, $v) = _indexed($block, 'raw_response_headers_like', $idx, $need_array);
        Test::More::like($raw_headers, qr/$v/s, "$name - raw resp headers like")
            if $ok;
    }
    if (defined $block->raw_response_headers_unlike) {
        ($ok, $v) = _indexed($block, 'raw_response_headers_unlike', $idx, $need_array);
        Test::More::unlike($raw_headers, qr/$v/s, "$name - raw resp headers unlike")
            if $ok;
    }

    if (defined $block->response_headers) {
        ($ok, $v) = _indexed($block, 'response_headers', $idx, $need_array);
        my @lines = $ok && defined $v ? split(/\n/, $v) : ();
        for my $line (@lines) {
            $line =~ s/^\s+|\s+$//g;
            next if $line eq '';
            if ($line =~ s/^!\s*//) {
                Test::More::unlike($raw_headers, qr/^\s*\Q$line\E\s*:/mi,
                    "$name - header $line not present in the raw headers");
                next;
            }
            my ($key, $want) = split /\s*:\s*/, $line, 2;
            $want = _subst_port(defined $want ? $want : '');
            my $got = $res ? $res->header($key) : undef;
            Test::More::is(defined $got ? $got : '', $want,
                           "$name - header $key ok");
        }
    }

    if (defined $block->response_headers_like) {
        ($ok, $v) = _indexed($block, 'response_headers_like', $idx, $need_array);
        my @lines = $ok && defined $v ? split(/\n/, $v) : ();
        for my $line (@lines) {
            $line =~ s/^\s+|\s+$//g;
            next if $line eq '';
            my ($key, $pat) = split /\s*:\s*/, $line, 2;
            $pat = '' unless defined $pat;
            my $got = $res ? $res->header($key) : undef;
            Test::More::like(defined $got ? $got : '', qr/^$pat$/,
                             "$name - header $key like ok");
        }
    }

    my $what = "(repeated req $rep, req $idx)";
    if (defined $block->response_body) {
        ($ok, $v) = _indexed($block, 'response_body', $idx, $need_array);
        is_str($body, _subst_port($v),
               "$name - response_body - response is expected $what") if $ok;
    }
    if (defined $block->response_body_like) {
        ($ok, $v) = _indexed($block, 'response_body_like', $idx, $need_array);
        if ($ok) {
            $v = _subst_port($v);
            Test::More::like($body, qr/$v/s,
                             "$name - response_body_like - response is expected $what");
        }
    }
    if (defined $block->response_body_unlike) {
        ($ok, $v) = _indexed($block, 'response_body_unlike', $idx, $need_array);
        if ($ok) {
            $v = _subst_port($v);
            Test::More::unlike($body, qr/$v/s,
                               "$name - response_body_unlike - response is expected $what");
        }
    }

    $_->($block, $body, $idx, $rep, 0) for @ResponseBodyChecks;
}

# error_log / no_error_log / grep_error_log against the error.log lines
# written since the previous check (all of them with check_accum_error_log).
sub _check_error_log {
    my ($block, $rep, $srv) = @_;
    $srv ||= $Nginx;
    my $name = $block->name;

    sleep $Sleep * 3;   # log-phase lines come after the response
    my ($lines, $pos) = Test::Nginx::Local::Server::read_log(
        $srv->error_log, $CheckAccumErrLog ? 0 : $ErrLogPos);
    $ErrLogPos = $pos;

    my $grep = $block->grep_error_log;
    my $grep_out = $block->grep_error_log_out;
    if (defined $grep || defined $grep_out) {
        $grep = $grep->[$rep] if ref $grep eq 'ARRAY';
        $grep_out = $grep_out->[$rep] if ref $grep_out eq 'ARRAY';
        if (!defined $grep || !defined $grep_out) {
            Test::More::fail("$name - --- grep_error_log and "
                             . '--- grep_error_log_out go together');
        } else {
            my $matched = '';
            for my $line (@$lines) {
                if (ref $grep ? $line =~ /$grep/ : $line =~ /\Q$grep\E/) {
                    my $m = $&;
                    $matched .= "$m\n" unless $m =~ /\n/;
                }
            }
            is_str($matched, $grep_out,
                   "$name - grep_error_log_out (req $rep)");
        }
    }

    if (defined(my $pats = $block->error_log)) {
        for my $pat (_patterns($pats)) {
            my $hit = grep { _line_matches($_, $pat) } @$lines;
            my $p = _fmt($pat);
            if ($hit) {
                Test::More::pass("$name - pattern \"$p\" matches a line in "
                                 . "error.log (req $rep)");
            } else {
                Test::More::fail("$name - pattern \"$p\" should match a line "
                                 . "in error.log (req $rep)");
            }
        }
    }

    if (defined(my $pats = $block->no_error_log)) {
        for my $pat (_patterns($pats)) {
            my ($hit) = grep { _line_matches($_, $pat) } @$lines;
            my $p = _fmt($pat);
            if (defined $hit) {
                Test::More::fail("$name - pattern \"$p\" should not match any "
                    . "line in error.log but matches line \"" . _fmt($hit)
                    . "\" (req $rep)");
            } else {
                Test::More::pass("$name - pattern \"$p\" does not match a "
                                 . "line in error.log (req $rep)");
            }
        }
    }
}

sub _patterns {
    my ($pats) = @_;
    return ($pats) if ref $pats eq 'Regexp';
    return grep { defined } @$pats if ref $pats eq 'ARRAY';
    chomp $pats;
    return split /\n+/, $pats;
}

sub _line_matches {
    my ($line, $pat) = @_;
    return ref $pat ? $line =~ /$pat/ : index($line, $pat) >= 0;
}

sub _fmt {
    my ($s) = @_;
    $s = "$s";
    chomp $s;
    $s =~ s/"/\\"/g;
    $s =~ s/\r/\\r/g;
    $s =~ s/\n/\\n/g;
    return $s;
}

# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------

sub _start_tcp_mock {
    my ($block, $rep) = @_;
    my $reply = $block->tcp_reply;
    if (!defined $reply && !defined $block->tcp_shutdown) {
        return (undef, 'no --- tcp_reply for --- tcp_listen');
    }
    my $len = $block->tcp_query_len;
    $len = length $block->tcp_query
        if !defined $len && defined $block->tcp_query;
    # as the original: $TEST_NGINX_* is expanded in the target
    my ($target, $err) = _expand_env($block->tcp_listen);
    return (undef, $err) if $err;
    $target =~ s/^\s+|\s+$//g;
    return Test::Nginx::Local::TcpMock->start(
        target => $target,
        reply => $reply,
        query_len => $len,
        query_file => "$ServRoot/logs/tcp_query.$rep",
        delay => _parse_time($block->tcp_reply_delay),
        no_close => defined $block->tcp_no_close,
        shutdown => scalar $block->tcp_shutdown,
    );
}

# $TEST_NGINX_FOO -> $ENV{TEST_NGINX_FOO}; an unset one is an error.
sub _expand_env {
    my ($text) = @_;
    return ($text, undef) if !defined $text || ref $text;
    my @missing;
    $text =~ s{\$(TEST_NGINX_[_A-Z0-9]+)}{
        defined $ENV{$1} ? $ENV{$1} : do { push @missing, $1; "\$$1" }
    }ge;
    return ($text, @missing ? "environment variable(s) not set: @missing"
                            : undef);
}

# --- user_files: ">>> name [date]" heredocs or an eval'd
# [[name, body, date], ...].
sub _user_files {
    my ($block) = @_;
    my $spec = $block->user_files;
    return ([], undef) unless defined $spec;
    my @files;
    if (ref $spec eq 'ARRAY') {
        @files = map { [@$_] } @$spec;
    } elsif (ref $spec) {
        return (undef, 'must be text or an array');
    } else {
        for my $line (split /^/, $spec) {
            if ($line =~ /^>>> (\S+)(?:\s+(.+?))?\s*$/) {
                push @files, [$1, undef, $2];
            } elsif (@files) {
                $files[-1][1] .= $line;
            }
        }
    }
    for my $f (@files) {
        (my $body, my $err) = _expand_env($f->[1]);
        return (undef, $err) if $err;
        $f->[1] = $body;
    }
    return (\@files, undef);
}

# A section whose eval filter died holds the error text; report it rather
# than use it as data.
sub _eval_errors {
    my ($block) = @_;
    my $map = $block->_section_map || {};
    my $n = 0;
    for my $section (sort keys %$map) {
        my $filters = $map->{$section}{filters};
        next unless defined $filters && $filters =~ /\beval\b/;
        my $v = $block->{$section} && $block->{$section}[0];
        next if !defined $v || ref $v;
        if ($v =~ / at \(eval \d+\) line \d+/) {
            Test::More::fail($block->name . " - --- $section eval failed: $v");
            $n++;
        }
    }
    return $n;
}

# skip_eval "N: perl-code" and skip_nginx "N: <op> x.y.z".
sub _should_skip {
    my ($block) = @_;
    my $name = $block->name;
    if (defined(my $s = $block->skip_eval)) {
        $s =~ /^\s*(\d+)\s*:\s*(.*)/s
            or return (0, "bad --- skip_eval \"$s\"");
        my ($n, $code) = ($1, $2);
        my $yes = Test::Nginx::Util::_eval_skip($code, $block);
        bail_out("$name - skip_eval: $@") if $@;
        return ($n, 'skip_eval') if $yes;
    }
    if (defined(my $s = $block->skip_nginx)) {
        $s =~ /^\s*(\d+)\s*:\s*([<>]=?)\s*(\d+\.\d+\.\d+)\s*(?::\s*(.*))?$/
            or bail_out("$name - bad --- skip_nginx \"$s\"");
        my ($n, $op, $ver, $why) = ($1, $2, $3, $4);
        my $cmp = _vercmp($NginxVersion || '0.0.0', $ver);
        my $yes = $op eq '<'  ? $cmp < 0  : $op eq '<=' ? $cmp <= 0
                : $op eq '>'  ? $cmp > 0  : $cmp >= 0;
        return ($n, $why || "nginx version $op $ver") if $yes;
    }
    return;
}

sub _vercmp {
    my @a = split /\./, shift;
    my @b = split /\./, shift;
    for my $i (0 .. 2) {
        my $c = ($a[$i] || 0) <=> ($b[$i] || 0);
        return $c if $c;
    }
    return 0;
}

sub _version_ge { _vercmp($NginxVersion || '0.0.0', $_[0]) >= 0 }

sub _has_module {
    my ($module) = @_;
    my $info = $Test::Nginx::Local::Server::BuildInfo || '';
    return $info !~ /--without-\Q$module\E\b/;
}

# "100ms" -> 0.1, "2s" -> 2, "1.5" -> 1.5
sub _parse_time {
    my ($t) = @_;
    return undef unless defined $t;
    $t =~ s/^\s+|\s+$//g;
    return $1 / 1000 if $t =~ /^([\d.]+)ms$/;
    return $1 if $t =~ /^([\d.]+)s?$/;
    return $t;
}

sub _find_binary {
    my ($cmd) = @_;
    return -f $cmd && -x _ ? $cmd : undef if $cmd =~ m{/};
    for my $dir (split /:/, $ENV{PATH} || '') {
        next unless length $dir;
        return "$dir/$cmd" if -f "$dir/$cmd" && -x _;
    }
    return undef;
}

sub _log_tails {
    my ($srv) = @_;
    return "nginx command: $srv->{cmd}\n--- tail of error.log:\n"
        . Test::Nginx::Local::Server::tail($srv->error_log, 20)
        . "--- tail of stderr.log:\n"
        . Test::Nginx::Local::Server::tail($srv->stderr_log, 20);
}

sub _is_last_block {
    my ($block) = @_;
    my @all = Test::Base::blocks();
    return @all && $all[-1] == $block;
}


# ---------------------------------------------------------------------------
# Test::Nginx::Util: where the original evaluates init, post_setup_server_root
# ---------------------------------------------------------------------------
#
# OpenResty's runner evaluates `--- init` (once nginx has started, before
# the block's first request), `--- post_setup_server_root` (once the
# previous block's nginx has stopped and the server root is made, before
# this block's nginx starts) and the code of `--- skip_eval` with a plain
# `eval $code` inside package Test::Nginx::Util, under that file's
# `use strict; use warnings`, with the block in `$block` and its name in
# `$name`; an init or post_setup_server_root that dies bails the whole run
# out.  So do we: code there sees Util's own functions (those below, the
# ones of the original's Util that this runner has), not the test file's.
# A test file that needs its helpers there exports them into
# Test::Nginx::Util (Imprest::Test does).

package Test::Nginx::Util;

use strict;
use warnings;

use Carp qw(croak);
use Cwd qw(cwd);
use IO::Socket::INET;
use List::Util qw(shuffle);
use POSIX qw(SIGQUIT SIGKILL SIGTERM SIGHUP);
use POSIX ':sys_wait_h';
use Scalar::Util qw(looks_like_number);
use Test::LongString;
use Time::HiRes qw(sleep);

BEGIN {
    no strict 'refs';
    for my $f (qw(
        add_block_preprocessor add_cleanup_handler bail_out
        check_accum_error_log config_preamble env_to_nginx html_dir is_str
        log_level master_off master_on master_process_enabled no_long_string
        no_nginx_manager no_root_location no_shuffle repeat_each run_test
        run_tests server_addr server_name server_port server_port_for_client
        server_root timeout use_hup worker_connections workers
    )) {
        *{"Test::Nginx::Util::$f"} = \&{"Test::Nginx::Socket::$f"};
    }
}

# As in the original's Util: `--- skip_eval: N: $UseValgrind` works.
our $UseValgrind;
*UseValgrind = \$Test::Nginx::Socket::UseValgrind;

sub _run_init {
    my ($block) = @_;
    my $name = $block->name;
    eval $block->init;
    if ($@) {
        bail_out("$name - init failed: $@");
    }
}

sub _run_post_setup {
    my ($block) = @_;
    my $name = $block->name;
    eval $block->post_setup_server_root;
    if ($@) {
        bail_out("$name - post_setup_server_root failed: $@");
    }
}

sub _eval_skip {
    my ($code, $block) = @_;
    return eval $code;
}

package Test::Nginx::Socket;

1;

__END__

=head1 NAME

Test::Nginx::Socket - local work-alike of OpenResty's Test::Nginx::Socket

=head1 SYNOPSIS

    use Test::Nginx::Socket 'no_plan';
    no_shuffle();
    run_tests();

    __DATA__

    === TEST 1: hello
    --- config
        location = /t { return 200 "hi\n"; }
    --- request
    GET /t
    --- response_body
    hi
    --- no_error_log
    [error]

=head1 DESCRIPTION

Test::Nginx is not packaged in Debian, so F<t/inc> carries this
implementation of the parts of its data-driven format that our tests use.
The test command adds C<-I t/inc> only when C<perl -MTest::Nginx::Socket
-e1> fails, so the same F<.t> files run under the original when it is
installed.  It is written from the format's documentation, on Test::Base
(which parses C<__DATA__> and applies filters such as C<eval> and C<chomp>)
and Test::More (TAP).

=head2 Supported

Functions: C<run_tests>, C<repeat_each>, C<no_shuffle>, C<master_on>,
C<master_off>, C<workers>, C<worker_connections>, C<log_level>,
C<no_long_string>, C<no_root_location>, C<server_name>,
C<add_block_preprocessor>, C<add_response_body_check>, C<env_to_nginx>,
C<is_str>, C<bail_out>, C<html_dir>, C<server_root>, C<server_port>,
C<timeout>, C<check_accum_error_log>, plus everything Test::Base and
Test::More export (C<plan>, C<blocks>, C<is>, C<like>, ...).

Sections: C<main_config>, C<post_main_config>, C<http_config>, C<config>
(a block without one reuses the previous block's), C<server_name>, C<init>
and C<post_setup_server_root> (both as in the original: see
L</Same as the original>), C<user_files>, C<log_level>, C<request> (string, or C<eval> array of
requests each on its own connection), C<more_headers> (string or array),
C<raw_request> (string, or array of pieces sent with
C<raw_request_middle_delay> between them), C<pipelined_requests>,
C<shutdown>, C<timeout>, C<abort>, C<ignore_response>, C<http09>,
C<error_code>, C<error_code_like>, C<response_body>, C<response_body_like>,
C<response_body_unlike>, C<response_headers> (C<!Name> = absent),
C<response_headers_like>, C<raw_response_headers_like>,
C<raw_response_headers_unlike>, C<error_log>, C<no_error_log>,
C<grep_error_log>, C<grep_error_log_out>, C<wait>, C<tcp_listen>,
C<tcp_reply>, C<tcp_reply_delay>, C<tcp_query>, C<tcp_query_len>,
C<tcp_no_close>, C<tcp_shutdown>, C<must_die>, C<skip_eval>,
C<skip_nginx>, and Test::Base's C<ONLY>, C<SKIP>, C<LAST>; and one of
ours, C<valgrind_todo> (see L</Valgrind>).

Environment: C<TEST_NGINX_BINARY>, C<TEST_NGINX_LOAD_MODULES>,
C<TEST_NGINX_SERVER_PORT>, C<TEST_NGINX_SERVROOT>, C<TEST_NGINX_TIMEOUT>,
C<TEST_NGINX_LOG_LEVEL>, C<TEST_NGINX_EVENT_TYPE>, C<TEST_NGINX_SLEEP>,
C<TEST_NGINX_CHECK_ACCUM_ERR_LOG>, C<TEST_NGINX_NO_CLEAN> (leave the last
nginx running), C<TEST_NGINX_USE_VALGRIND> and
C<TEST_NGINX_VALGRIND_EXIT_ON_FIRST_ERR> (see L</Valgrind>),
C<TEST_NGINX_TIMEOUT_SCALE>.  C<$TEST_NGINX_*> is expanded in the config sections,
C<user_files>, C<pipelined_requests> and C<tcp_listen>, as in the original (not in
C<request>, C<raw_request> or C<more_headers>: use C<eval> and
C<$ENV{...}> there); an unset variable fails the block.

=head2 Differences

=over

=item * nginx runs with C<daemon off> as a child of the test process, in
its own process group, one fresh instance per block (the C<repeat_each>
repetitions share it, as in the original).  It is stopped with SIGQUIT,
then SIGKILL, when its block ends; the original stops it only when the
next block starts, after that block's preprocessors have run, so code
with side effects (starting a fake server) belongs in
C<post_setup_server_root>, not in a block preprocessor.  Readiness is seen
in F</proc/net/tcp>, so no probe connection shows up in the logs.  Blocks
always run in file order.

=item * Extra checks after each block: nginx must not exit before it is
stopped and must exit 0 on SIGQUIT; F<error.log> and F<stderr.log> must
not contain C<[alert]> or C<[emerg]> (unless the block's C<error_log>
names them, or C<must_die>), C<exited on signal>,
C<Sanitizer>, C<runtime error:> or a failed assertion.  They report a pass
only in files without a fixed plan, so C<plan tests =E<gt> N> counts stay
those of the original.

=item * Responses are parsed strictly: a malformed status or header line,
a truncated body, a bad chunked encoding, bytes after the last response, or
no response at all fail the block (unless C<abort> is set and the timeout
fired).  The original only warns about some of these.

=item * Both C<response_body> and C<response_body_like> (and both header
sections) are checked when both are given; the original checks one.
C<!Name> in C<response_headers> matches header names case-insensitively.

=item * An array C<tcp_reply> is written piece by piece, 20 ms apart, so
the peer sees separate reads.

=item * A section whose C<eval> filter died fails the block instead of
being used as data.

=item * C<-e logs/error.log> is passed to nginx 1.19.5 and later, so
configuration errors (C<must_die>) land in F<error.log> even with Debian's
C<--error-log-path=stderr>.

=back

=head2 Same as the original

Where the original's behaviour is stricter or merely different, this
runner does the same, so that a block that passes here passes there:
C<init> is evaluated once nginx is listening, before the first request,
and C<post_setup_server_root> once the server root is made, before the
user files and F<nginx.conf> are written and nginx starts; both (and
C<skip_eval>'s code) with a plain C<eval> in package C<Test::Nginx::Util>,
under C<use strict; use warnings>, with the block in C<$block> and its
name in C<$name>, seeing that package's functions (C<html_dir>,
C<server_root>, C<server_port>, C<bail_out>, Time::HiRes' C<sleep>, ...)
and not the test file's.  An C<init> or C<post_setup_server_root> that dies
bails the whole run out.  C<$TEST_NGINX_*> is not expanded in C<request>,
C<raw_request> or C<more_headers>.

=head2 Valgrind

C<TEST_NGINX_USE_VALGRIND=1> (any number) runs nginx as the original
does: C<valgrind --num-callers=100 -q --tool=memcheck --leak-check=full
--keep-debuginfo=yes --show-possibly-lost=no --gen-suppressions=all>, plus
C<--suppressions=valgrind.suppress> when that file is in the current
directory, and C<--exit-on-first-error=yes --error-exitcode=1> with
C<TEST_NGINX_VALGRIND_EXIT_ON_FIRST_ERR>; any other value is taken as the
options (C<valgrind -q VALUE nginx ...>).  nginx keeps C<daemon off> and
the file's master/worker setting (memcheck follows the forks); C<must_die>
blocks run without valgrind, as in the original.  C<$UseValgrind> is
visible to C<--- skip_eval> code in C<Test::Nginx::Util>, as there.

Stricter than the original, which only prints what valgrind says: once a
block's nginx has stopped (leaks are reported at exit), every valgrind
report in F<stderr.log> or F<error.log> (an invalid read, write or free,
a use of an uninitialised value, a leak, a process killed by a signal;
not valgrind's warnings or summaries) fails the block's "no valgrind
report" check, which names those with an C<ngx_http_imprest_*> frame and
shows the first ten with the suppression C<--gen-suppressions> made for
each; all of a test file's are appended to
F<SERVROOT/valgrind-FILE.log>.

C<TEST_NGINX_TIMEOUT_SCALE> (default 10 under valgrind, else 1)
multiplies the runner's own waits: nginx's start (5 s) and graceful stop
(3 s), the client's idle timeout (C<TEST_NGINX_TIMEOUT>, 3 s, or a
block's C<--- timeout>), C<TEST_NGINX_SLEEP> and C<must_die>'s wait.  A
C<--- timeout> in a block with C<--- abort> is when the client leaves on
purpose and is never scaled.

A block with C<--- valgrind_todo: REASON> (our own section; the
original ignores it) runs under valgrind with its own checks (responses,
error log, C<init>'s) as TODO, reported but not failing: for blocks whose
assertions bound times that memcheck's slowness breaks.  The checks made
once nginx has stopped (a clean exit, no crash, no valgrind report) still
fail it.  Without valgrind the section does nothing.

=head2 Self-test

F<t/runner/selftest.sh> runs F<t/runner/pass/*.t> against a plain nginx
(they must pass) and F<t/runner/fail/*.t> (each must fail, with the TAP
line named in its C<# expect-fail:> comment).  Helpers live in
F<Test/Nginx/Local/>: F<Server.pm> (nginx process and server root),
F<Client.pm> (requests, strict response parsing), F<TcpMock.pm>
(C<tcp_listen>).

=head2 Not supported

HUP reload, check-leak, benchmark, stap, HTTP/2 and HTTP/3
modes; requests split into packets inside C<request eval> (use
C<raw_request eval>); C<udp_*>, C<access_log>/C<no_access_log>,
C<shutdown_error_log>, C<response_body_filters>, C<curl>, C<todo>,
C<skip_nginx2>, C<skip_openssl>, C<stap*>, C<error_log_file>,
C<TEST_NGINX_RAND_PORT_*>, C<TEST_NGINX_LEAVE> (the server root is never
removed anyway), shuffling.

=cut
