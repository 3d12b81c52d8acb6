# NEGATIVE self-test of t/inc/Test/Nginx/Socket.pm: a worker crash is caught even if nothing else checks
# t/runner/selftest.sh runs it and requires it to FAIL with a TAP line
# matching every "expect-fail" regex below.
# expect-fail: ^not ok .* - no \[alert\], \[emerg\], crash or sanitizer report in the logs
BEGIN {
    unless ($ENV{TEST_NGINX_SELFTEST}) {
        print "1..0 # SKIP runner self-test; run t/runner/selftest.sh\n";
        exit 0;
    }
}
use Test::Nginx::Socket 'no_plan';

master_on();
no_shuffle();
run_tests();

__DATA__

=== TEST 1: kill a worker; the master logs "[alert] ... exited on signal 9"
--- init
open my $fh, '<', server_root() . '/logs/nginx.pid' or die "pid file: $!";
chomp(my $master = <$fh>);
for my $stat (glob '/proc/[0-9]*/stat') {
    open my $s, '<', $stat or next;
    my @f = split ' ', scalar <$s>;
    kill 'KILL', $f[0] if $f[3] == $master;
}
select undef, undef, undef, 0.3;
--- config
    location = /t { return 200 "ok\n"; }
--- request
GET /t
--- response_body
ok
