# A bookkeeper in 10,000 organizations (issue 7, defect 7): the consent
# page lists them all in a picker, one grant takes up to 64, the gate and
# the organizations endpoint serve such a user, and a Redis reply this big
# is neither capped nor a reason to drop the connection.
#
# The organizations are loaded with one redis-cli --pipe (load_orgs()):
# ids in one order, names in the other, so the picker's name order shows.
use Test::Nginx::Socket 'no_plan';
use Imprest::Test;
use Digest::SHA qw(sha256_hex);

our $N = 10_000;
our $BK_AT = token_new();

our @IDS = map { sprintf('%08x-7a4d-4e5f-9b0a-%012x', $_, $_) } 1 .. $N;

sub name_of { sprintf('Client %05d', $N + 1 - $_[0]) }

sub load_orgs {
    my ($uid) = @_;
    my $port = Imprest::Test::redis_port();
    open(my $pipe, '|-', "redis-cli -p $port --pipe >/dev/null")
        or die "redis-cli: $!";
    for my $i (1 .. $N) {
        for my $cmd (['SADD', "imprest:user:$uid:orgs", $IDS[$i - 1]],
                     ['HSET', "imprest:org:$IDS[$i - 1]", 'name',
                      name_of($i)])
        {
            print $pipe '*' . @$cmd . "\r\n",
                map { '$' . length($_) . "\r\n$_\r\n" } @$cmd;
        }
    }
    close $pipe or die "redis-cli --pipe failed";
    my $n = Imprest::Test::redis('SCARD', "imprest:user:$uid:orgs");
    die "loaded $n organizations" unless $n == $N;
}

sub seed_bk {
    seed_as();
    ctl(qw(user add bk --name), 'Busy Bookkeeper');
    load_orgs('bk');
    # a grant of the 64 most recently added
    Imprest::Test::mint($BK_AT, qw(--user bk --client app1 --scope money_in),
         map { ('--org', $_) } @IDS[$N - 64 .. $N - 1]);
}

sub enc {
    my ($s) = @_;
    $s =~ s/([^A-Za-z0-9\-._~])/sprintf('%%%02X', ord $1)/ge;
    return $s;
}

sub approve {
    my ($rid, @orgs) = @_;
    return "POST /oauth/authorize\nrequest_id=$rid&"
           . join('', map { "org=$_&" } @orgs) . 'decision=approve';
}

our $RID64 = token_new('cr');
our $RID65 = token_new('cr');

no_shuffle();
use_as_config();
use_fault_hooks();
run_tests();

__DATA__

=== TEST 1: the consent page of a user in 10,000 organizations: one list box, every organization once, in name order
--- init
seed_bk();
--- request eval
"GET /oauth/authorize?client_id=$Imprest::Test::APP_ID&response_type=code&redirect_uri=https://app.example/cb&scope=money_in&state=s1"
--- more_headers
X-Test-User: bk
--- error_code: 200
--- response_body_like eval
my $first = $main::IDS[$main::N - 1];
my $last = $main::IDS[0];
qr{Choose up to 64 of your 10000 organizations.*<select id="org" name="org" multiple size="15" required><option value="$first">Client 00001</option><option value="[^"]+">Client 00002</option>.*<option value="$last">Client 10000</option></select>}s
--- response_body_unlike
type="checkbox"
--- no_error_log
[error]



=== TEST 2: the page lists each of the 10,000 exactly once
--- init
seed_bk();
after_response(0, sub {
    my ($resp, $body) = @_;
    my %seen;
    $seen{$1}++ while $_[1] =~ /<option value="([0-9a-f-]{36})">/g;
    Test::More::is(scalar(keys %seen), $main::N, 'every organization listed');
    Test::More::is((grep { $_ != 1 } values %seen), 0, 'none twice');
});
--- request eval
"GET /oauth/authorize?client_id=$Imprest::Test::APP_ID&response_type=code&redirect_uri=https://app.example/cb&scope=money_in&state=s1"
--- more_headers
X-Test-User: bk
--- error_code: 200
--- no_error_log
[error]



=== TEST 3: one grant takes 64 of them; 65 is a clean 400 page, nothing issued
--- init
seed_bk();
for my $rid ($main::RID64, $main::RID65) {
    Imprest::Test::put_consent(rid => $rid, uid => 'bk', state => 'st',
                               scope => 'money_in');
}
--- request eval
[main::approve($main::RID64, @main::IDS[0 .. 63]),
 main::approve($main::RID65, @main::IDS[0 .. 64])]
--- more_headers
X-Test-User: bk
Content-Type: application/x-www-form-urlencoded
--- error_code eval
[303, 400]
--- response_body_like eval
['', 'Choose at most 64 organizations for one application\.']
--- no_error_log
[error]



=== TEST 4: the gate serves a user in 10,000 organizations, granted 64: every granted one, and only those
--- init
seed_bk();
--- request eval
["GET /api/v1/invoices", "GET /api/v1/invoices", "GET /api/v1/invoices"]
--- more_headers eval
["Authorization: Bearer $main::BK_AT\nX-Organization-Id: $main::IDS[-1]",
 "Authorization: Bearer $main::BK_AT\nX-Organization-Id: $main::IDS[$main::N - 64]",
 "Authorization: Bearer $main::BK_AT\nX-Organization-Id: $main::IDS[0]"]
--- error_code eval
[200, 200, 403]
--- no_error_log
[error]



=== TEST 5: /api/v1/me/organizations for that user: the 64 granted, with names, in grant order
--- init
seed_bk();
--- request
GET /api/v1/me/organizations
--- more_headers eval
"Authorization: Bearer $main::BK_AT"
--- error_code: 200
--- response_body eval
'{"organizations":['
. CORE::join(',', map { qq({"id":"$main::IDS[$_ - 1]","name":") . main::name_of($_) . '"}' } $main::N - 63 .. $main::N)
. "]}\n"
--- no_error_log
[error]
