# Self-test of t/lib/Imprest/Test/Logs.pm (every file of the suite loads
# it): a block that expects a [crit] line in error_log may have one, and a
# block's own no_error_log patterns still apply.  See also
# t/runner/fail/crit-line.t.
BEGIN {
    unless ($ENV{TEST_NGINX_SELFTEST}) {
        print "1..0 # SKIP runner self-test; run t/runner/selftest.sh\n";
        exit 0;
    }
}
use Test::Nginx::Socket 'no_plan';
use lib 't/lib';
use Imprest::Test::Logs;

no_shuffle();
run_tests();

__DATA__

=== TEST 1: [crit] expected by the block
--- config
    location = /t { proxy_pass http://unix:/nonexistent/tn-selftest.sock:/; }
--- request
GET /t
--- error_code: 502
--- error_log
[crit]
No such file or directory



=== TEST 2: the block's own no_error_log, a string, is kept
--- config
    location = /t { return 200 "ok\n"; }
--- request
GET /t
--- response_body
ok
--- no_error_log
[error]
[warn]



=== TEST 3: ... and an eval array of patterns
--- config
    location = /t { return 200 "ok\n"; }
--- request
GET /t
--- response_body
ok
--- no_error_log eval
[qr/\[error\]/, "[warn]"]
