# Self-test of the valgrind mode with a master and two workers: memcheck
# follows the forks, every process's exit is checked, and the suppressions
# cover the master's and the workers' exit-time losses too.  Run by
# t/runner/selftest.sh (see pass.t).
BEGIN {
    unless ($ENV{TEST_NGINX_SELFTEST}) {
        print "1..0 # SKIP runner self-test; run t/runner/selftest.sh\n";
        exit 0;
    }
    $ENV{TEST_NGINX_USE_VALGRIND} = 1;
}
use Test::Nginx::Socket 'no_plan';

master_on();
workers(2);
no_shuffle();
run_tests();

__DATA__

=== TEST 1: served by a worker of a master, all under memcheck
--- config
    location = /t { return 200 "hi\n"; }
--- request
GET /t
--- response_body
hi
