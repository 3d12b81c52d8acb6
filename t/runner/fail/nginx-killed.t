# NEGATIVE self-test of t/inc/Test/Nginx/Socket.pm: nginx dying during the block
# t/runner/selftest.sh runs it and requires it to FAIL with a TAP line
# matching every "expect-fail" regex below.
# expect-fail: ^not ok .* - nginx exited while the block ran \(signal 9\)
BEGIN {
    unless ($ENV{TEST_NGINX_SELFTEST}) {
        print "1..0 # SKIP runner self-test; run t/runner/selftest.sh\n";
        exit 0;
    }
}
use Test::Nginx::Socket 'no_plan';

no_shuffle();
run_tests();

__DATA__

=== TEST 1: init kills nginx before the request
--- init
open my $fh, '<', server_root() . '/logs/nginx.pid' or die "pid file: $!";
chomp(my $pid = <$fh>);
kill 'KILL', $pid or die "kill $pid: $!";
select undef, undef, undef, 0.2;
--- config
    location = /t { return 200 "ok\n"; }
--- request
GET /t
--- response_body
ok
