# A request that ends while its token lookup is pending (the client gone,
# an HTTP/2 stream reset) was checked for shape only: its access log line
# must not say $imprest_status "ok", nor name the organization it asked
# for, since nothing confirmed either.  Requests that complete are logged
# as before.
use Test::Nginx::Socket 'no_plan';
use Imprest::Test;

no_shuffle();
use_fault_hooks();

# the suite's $imprest_* access log, less the upstream's own lines
# (HTTP/1.0), once it has $want of them
sub pending_log_lines {
    my ($want) = @_;
    (my $file = Imprest::Test::error_log_file()) =~ s/error\.log\z/imprest_vars.log/;
    my @lines;
    for (1 .. 300) {
        if (open my $fh, '<', $file) {
            @lines = grep { !/ HTTP\/1\.0 / } <$fh>;
        }
        last if @lines >= $want;
        Time::HiRes::sleep(0.01);
    }
    chomp @lines;
    return @lines;
}

add_block_preprocessor(sub {
    my $block = shift;
    if (defined(my $redis = $block->imprest_redis)) {
        (my $http = $Imprest::Test::HTTP_CONFIG)
            =~ s/imprest_redis [^;]*;/imprest_redis $redis;/;
        $block->set_value(http_config => $http);
    }
    return $block;
});

run_tests();

__DATA__

=== TEST 1: gate: client gone while its lookup is pending is logged unchecked (st=-, no organization), the next request ok
--- before_start
stop_fake();
fake_redis($ENV{TEST_NGINX_FAKE_PORT},
           { delay => 0.8, reply => gate_reply() }, gate_reply(uid => 'bob'));
--- imprest_redis: 127.0.0.1:$TEST_NGINX_FAKE_PORT timeout=3s
--- config
    location /api/ {
        imprest_gate on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- init
after_response(1, sub {
    my @l = main::pending_log_lines(2);
    Test::More::is($l[0], 'GET /api/v1/invoices HTTP/1.1 499 st=- u=- c=- o=- s="-"',
                   'the abandoned request: no outcome, no organization');
    Test::More::is($l[1], "GET /api/v1/invoices HTTP/1.1 200 st=ok u=bob c=app1 o=$Imprest::Test::ORG1 s=\"money_in money_out\"",
                   'the next request: its check');
});
--- request eval
["GET /api/v1/invoices", "GET /api/v1/invoices"]
--- more_headers eval
["Authorization: Bearer $Imprest::Test::AT\nX-Organization-Id: $Imprest::Test::ORG1",
 "Authorization: Bearer $Imprest::Test::AT_BOB\nX-Organization-Id: $Imprest::Test::ORG1"]
--- timeout: 0.5
--- abort
--- error_code eval
["", 200]
--- response_body eval
["", "uid=bob cid=app1 org=$Imprest::Test::ORG1 iorg=$Imprest::Test::ORG1 scope=money_in money_out auth= xauth= uri=/api/v1/invoices\n"]
--- no_error_log
[alert]
[crit]



=== TEST 2: /api/v1/me/organizations: client gone while its lookup is pending is logged unchecked
--- before_start
stop_fake();
fake_redis($ENV{TEST_NGINX_FAKE_PORT},
           { delay => 0.8, reply => gate_reply() }, gate_reply(uid => 'bob'));
--- imprest_redis: 127.0.0.1:$TEST_NGINX_FAKE_PORT timeout=3s
--- config
    location = /api/v1/me/organizations {
        imprest_organizations;
    }
--- init
after_response(0, sub {
    my @l = main::pending_log_lines(1);
    Test::More::is($l[0], 'GET /api/v1/me/organizations HTTP/1.1 499 st=- u=- c=- o=- s="-"',
                   'the abandoned request: no outcome');
});
--- request
GET /api/v1/me/organizations
--- more_headers eval
"Authorization: Bearer $Imprest::Test::AT"
--- timeout: 0.3
--- abort
--- error_code:
--- response_body:
--- no_error_log
[alert]
[crit]
