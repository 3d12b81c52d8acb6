# imprestctl for operations (issue 9): every command, its table and its
# --json shape, the exit statuses (0 ok, 1 other, 2 usage, 3 Redis,
# 4 conflict or refused, 5 not found), --help on every command and
# subcommand, membership roles, and that what it ends stops at the real
# gate: grants come from real code redemptions (put_code(), then
# /oauth/token: redeem.lua makes the grant and its indexes), and after
# "grant revoke" (disconnect.lua, the gateway's own script) the gate
# answers 401, or 403 for the one organization taken out while the other
# still answers 200.  Worst cases: 10,000 grants of one user listed (and
# timed) and revoked, long names, and CJK and accented names in tables.
#
# The checks run in --- init (nginx is up then) and after_response();
# each block's request is a plain gate call that must come out as stated.
use Test::Nginx::Socket 'no_plan';
use Imprest::Test;
use Digest::SHA qw(sha256_hex);
use JSON::PP;
use POSIX ();
use Time::HiRes ();
use Encode ();

our %C = map { $_ => token_new('ac') } qw(a1 a2 a3 b1 b2 rot pub del);

# ORG4: a fourth organization for the role and deletion checks
our $ORG4 = '5b2c3d4e-6f70-4182-93a4-b5c6d7e8f901';

# imprestctl ARGS: { rc, out, err } (stdout and stderr apart)
sub ctl_run {
    my (@args) = @_;
    my $tmp = ($ENV{IMPREST_TEST_TMP} // '/tmp') . "/ctl141.$$";
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        open STDOUT, '>', "$tmp.out" or POSIX::_exit(126);
        open STDERR, '>', "$tmp.err" or POSIX::_exit(126);
        open STDIN, '<', '/dev/null';
        { exec Imprest::Test::ctl_bin(), '--redis',
               '127.0.0.1:' . redis_port(), @args; }
        POSIX::_exit(127);
    }
    waitpid $pid, 0;
    my %r = (rc => $? >> 8);
    for my $f (qw(out err)) {
        open my $fh, '<', "$tmp.$f" or die "$tmp.$f: $!";
        local $/;
        $r{$f} = <$fh> // '';
        close $fh;
        unlink "$tmp.$f";
    }
    return \%r;
}

# redis-cli --raw's answer without its trailing newlines
sub rd {
    (my $out = redis(@_)) =~ s/\s+\z//;
    return $out;
}

# imprestctl --json ARGS, expected to exit 0: the decoded object
sub js {
    my (@args) = @_;
    my $r = ctl_run('--json', @args);
    Test::More::is($r->{rc}, 0, "imprestctl @args[0..1]: exit 0")
        or Test::More::diag($r->{err});
    return eval { JSON::PP->new->utf8->decode($r->{out}) } // {};
}

# the exit status and stderr of a command that must fail
sub fails {
    my ($rc, $like, @args) = @_;
    my $r = ctl_run(@args);
    Test::More::is($r->{rc}, $rc, "imprestctl @args: exit $rc");
    Test::More::like($r->{err}, $like, "imprestctl @args: says why");
    Test::More::is($r->{out}, '', "imprestctl @args: nothing on stdout");
    return $r;
}

# display columns of a line of UTF-8 (East Asian wide and full: 2)
sub cols {
    my ($s) = @_;
    $s = Encode::decode('UTF-8', $s);
    my $n = 0;
    $n += /\p{East_Asian_Width=Wide}|\p{East_Asian_Width=Fullwidth}/ ? 2 : 1
        for split //, $s;
    return $n;
}

# the display column at which each line's text $re matches starts
sub col_of {
    my ($line, $re) = @_;
    return undef unless $line =~ $re;
    return cols(substr($line, 0, $-[0]));
}

# the gate, /api/ (money_in), with this token in this organization
sub gate {
    my ($at, $org) = @_;
    return http_get('/api/v1/invoices',
                    headers => ["Authorization: Bearer $at",
                                "X-Organization-Id: $org"])->{status};
}

# a real redemption of a code written as an approved consent writes it
sub redeem {
    my (%o) = @_;
    my $cid = $o{cid} // $APP_ID;
    my $uri = $cid eq $APP2_ID ? 'https://two.example/a' : $APP_URI;
    my $secret = $cid eq $APP2_ID ? $APP2_SECRET : $APP_SECRET;
    put_code(code => $o{code}, uid => $o{uid} // 'alice', cid => $cid,
             redirect_uri => $uri, orgs => $o{orgs},
             scope => $o{scope} // 'money_in');
    my $r = http_post('/oauth/token',
                      [grant_type => 'authorization_code', code => $o{code},
                       redirect_uri => $uri, client_id => $cid,
                       client_secret => $secret]);
    Test::More::is($r->{status}, 200, "code of $o{uid} for $cid redeemed")
        or Test::More::diag($r->{body});
    my ($at, $rt) = tokens_of($r->{body});
    return ($at, $rt);
}

# the gid of the one grant of user $uid for app $cid
sub gid_of {
    my ($uid, $cid) = @_;
    my @g = grep { $_->{client_id} eq $cid }
            @{ js('grant', 'list', '--user', $uid)->{grants} || [] };
    return @g == 1 ? $g[0]{gid} : '';
}

sub api { return "GET /api/v1/invoices" }

no_shuffle();
use_as_config();
use_fault_hooks();
run_tests();

__DATA__

=== TEST 1: --help on every command and subcommand; usage errors exit 2, Redis down 3
--- init
my $all = ctl_run('--help');
is($all->{rc}, 0, '--help: exit 0');
my %verbs = (
    user => [qw(add del list show)], org => [qw(add del list show)],
    member => [qw(add set-role del list)],
    app => [qw(create list show edit rotate-secret delete)],
    grant => [qw(list revoke)], token => [qw(mint revoke show)],
);
for my $noun (sort keys %verbs) {
    my $r = ctl_run($noun, '--help');
    is($r->{rc}, 0, "$noun --help: exit 0");
    for my $verb (@{ $verbs{$noun} }) {
        like($all->{out}, qr/^  \Q$noun $verb\E(?: |$)/m, "--help names $noun $verb");
        like($r->{out}, qr/imprestctl \[OPTIONS\] \Q$noun $verb\E/,
             "$noun --help names $verb");
        my $one = ctl_run($noun, $verb, '--help');
        is($one->{rc}, 0, "$noun $verb --help: exit 0");
        like($one->{out}, qr/\Ausage: imprestctl \[OPTIONS\] \Q$noun $verb\E/,
             "$noun $verb --help: its usage first");
        is(scalar(() = $one->{out} =~ /^(?:usage: )?imprestctl \[OPTIONS\]/mg),
           1, "$noun $verb --help: that command only");
    }
}
like($all->{out}, qr/^exit status:\n  0 .*\n(?:.*\n)*  5  not found/m,
     '--help documents the exit statuses');
like($all->{out}, qr/--json/, '--help documents --json');
fails(2, qr/unknown command/, 'nosuch', 'thing');
fails(2, qr/unknown command/, 'grant', 'nosuch');
fails(2, qr/missing subcommand/, 'grant');
fails(2, qr/missing command/);
fails(2, qr/unknown or incomplete option "--bogus"/, 'user', 'list', '--bogus');
fails(2, qr/one of --user, --client or --org/, 'grant', 'list');
fails(2, qr/one of --user, --client or --org/, 'grant', 'list', '--user',
      'a', '--org', $ORG1);
fails(2, qr/invalid --user/, 'grant', 'list', '--user', 'a b');
fails(2, qr/missing GID/, 'grant', 'revoke');
fails(2, qr/not both/, 'grant', 'revoke', 'g1', '--user', 'alice');
fails(2, qr/role: "admin" or "member"/, 'member', 'add', 'alice', $ORG1,
      '--role', 'owner');
fails(2, qr/missing role/, 'member', 'set-role', 'alice', $ORG1);
# with --json, stderr is one JSON object and nothing else
my $je = ctl_run('--json', 'user', 'add', 'a b', '--name', 'x');
is($je->{rc}, 2, '--json usage error: exit 2');
like($je->{err}, qr/\A\{"error":"invalid UID: [^\n]*"\}\n\z/,
     '--json usage error: one JSON line on stderr');
# --json after the command, too
seed();
my $after = ctl_run('member', 'list', '--user', 'alice', '--json');
is($after->{rc}, 0, '--json after the command: exit 0');
like($after->{out}, qr/\A\{"orgs":\[\{"id":"\Q$ORG1\E","name":"Acme Ltd","role":"member"\}/,
     '--json after the command: JSON');
# nothing listens on the spare port: exit 3, in both output modes
my $down = ctl_run('--redis', "127.0.0.1:$ENV{TEST_NGINX_SPARE_PORT}", 'user',
               'list');
is($down->{rc}, 3, 'Redis unavailable: exit 3');
like($down->{err}, qr/\Aimprestctl: cannot connect to Redis/, 'a line');
$down = ctl_run('--json', '--redis', "127.0.0.1:$ENV{TEST_NGINX_SPARE_PORT}",
            'grant', 'list', '--user', 'alice');
is($down->{rc}, 3, 'Redis unavailable with --json: exit 3');
like($down->{err}, qr/\A\{"error":"cannot connect to Redis: /,
     'with --json the error is JSON');
--- request eval
::api()
--- error_code: 401
--- no_error_log
[error]



=== TEST 2: users, organizations, memberships with roles: tables, --json shapes, exit statuses, roles removed with what they belong to
--- init
seed();
my $u = js(qw(user add dana --name), 'Dana Ø');
is_deeply($u, { ok => JSON::PP::true, uid => 'dana', name => "Dana \x{d8}" },
          'user add: shape');
my $o = js('org', 'add', $ORG4, '--name', 'Delta & Sons');
is_deeply($o, { id => $ORG4, name => 'Delta & Sons' }, 'org add: shape');
my $new = js('org', 'add', '--name', 'Random Co');
like($new->{id}, qr/\A[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\z/,
     'org add without an id: a v4 UUID');

# roles: default member, --role admin, re-add keeps, set-role changes
my $m = js('member', 'add', 'dana', $ORG4);
is_deeply($m, { ok => JSON::PP::true, uid => 'dana', org => $ORG4,
                role => 'member', existed => JSON::PP::false },
          'member add: a new membership is "member"');
is(rd('HGET', 'imprest:user:dana:roles', $ORG4), 'member', 'stored');
$m = js('member', 'add', 'dana', $ORG1, '--role', 'admin');
is($m->{role}, 'admin', 'member add --role admin');
$m = js('member', 'add', 'dana', $ORG1);
is_deeply([$m->{role}, $m->{existed}], ['admin', JSON::PP::true],
          're-added without --role: the role is kept');
$m = js('member', 'set-role', 'dana', $ORG4, 'admin');
is($m->{role}, 'admin', 'set-role admin');
is(rd('HGET', 'imprest:user:dana:roles', $ORG4), 'admin', 'stored');
js('member', 'set-role', 'dana', $ORG4, 'member');
is(rd('HGET', 'imprest:user:dana:roles', $ORG4), 'member',
   'set-role member');
fails(5, qr/no such membership/, 'member', 'set-role', 'dana', $ORG3,
      'admin');
is(rd('HGET', 'imprest:user:dana:roles', $ORG3), '',
   'no role written for a non-member');
fails(5, qr/no such user/, 'member', 'add', 'nobody', $ORG1);
fails(5, qr/no such organization/, 'member', 'add', 'dana', $ORG_NONE);
js('member', 'set-role', 'bob', $ORG1, 'admin');

my $l = js('member', 'list', '--user', 'dana');
is_deeply($l, { orgs => [
    { id => $ORG1, name => 'Acme Ltd', role => 'admin' },
    { id => $ORG4, name => 'Delta & Sons', role => 'member' } ] },
    'member list --user: shape, sorted, roles');
$l = js('member', 'list', '--org', $ORG1);
is_deeply([map { "$_->{uid}:$_->{role}" } @{ $l->{members} }],
          ['alice:member', 'bob:admin', 'dana:admin'],
          'member list --org: every member with the role');
fails(5, qr/no such user/, 'member', 'list', '--user', 'nobody');
fails(5, qr/no such organization/, 'member', 'list', '--org', $ORG_NONE);
my $t = ctl_run('member', 'list', '--org', $ORG1);
is($t->{rc}, 0, 'member list table: exit 0');
like($t->{out}, qr/\AUID +NAME +ROLE\nalice +Alice Example +member\nbob +Bob Example +admin\ndana +Dana \x{c3}\x{98} +admin\n\z/,
     'member list: a table');

my $s = js('user', 'show', 'dana');
is_deeply([sort keys %$s], [qw(apps name orgs uid)], 'user show: keys');
is(scalar @{ $s->{orgs} }, 2, 'user show: two organizations');
fails(5, qr/no such user/, 'user', 'show', 'nobody');
$s = js('org', 'show', $ORG4);
is_deeply($s, { id => $ORG4, name => 'Delta & Sons', members => [
    { uid => 'dana', name => "Dana \x{d8}", role => 'member' } ] },
    'org show: shape');
fails(5, qr/no such organization/, 'org', 'show', $ORG_NONE);
$t = ctl_run('org', 'show', $ORG4);
like($t->{out}, qr/\Aid +\Q$ORG4\E\nname +Delta & Sons\n\nmembers:\n  UID +NAME +ROLE\n  dana +Dana/,
     'org show: fields, then the members as a table');

my $ul = js('user', 'list');
is_deeply([map { $_->{uid} } @{ $ul->{users} }],
          [qw(alice bob carol dana)], 'user list: sorted by uid');
is_deeply((grep { $_->{uid} eq 'dana' } @{ $ul->{users} })[0],
          { uid => 'dana', name => "Dana \x{d8}", orgs => 2 },
          'user list: shape');
my $ol = js('org', 'list');
is(scalar @{ $ol->{orgs} }, 5, 'org list: every organization');
is_deeply((grep { $_->{id} eq $ORG1 } @{ $ol->{orgs} })[0],
          { id => $ORG1, name => 'Acme Ltd', members => 3 },
          'org list: shape');

# member del: the role goes with it; not there: existed false, exit 0
my $d = js('member', 'del', 'dana', $ORG4);
is_deeply($d, { ok => JSON::PP::true, existed => JSON::PP::true,
                grants_changed => 0 }, 'member del: shape');
is(rd('HEXISTS', 'imprest:user:dana:roles', $ORG4), '0',
   'member del: the role is gone');
$d = js('member', 'del', 'dana', $ORG4);
is($d->{existed}, JSON::PP::false, 'member del again: existed false');
# org del: its field in every member's roles goes
js('member', 'add', 'dana', $ORG4, '--role', 'admin');
js('member', 'add', 'alice', $ORG4, '--role', 'admin');
$d = js('org', 'del', $ORG4);
is($d->{existed}, JSON::PP::true, 'org del');
is(rd('HEXISTS', 'imprest:user:dana:roles', $ORG4)
   . rd('HEXISTS', 'imprest:user:alice:roles', $ORG4), '00',
   'org del: its roles are gone from each member');
is(rd('SISMEMBER', 'imprest:orgs', $ORG4), '0', 'org del: unlisted');
fails(5, qr/no such organization/, 'org', 'show', $ORG4);
# user del: the roles hash goes
$d = js('user', 'del', 'dana');
is($d->{existed}, JSON::PP::true, 'user del');
is(rd('EXISTS', 'imprest:user:dana:roles'), '0',
   'user del: the roles hash is gone');
is(rd('SISMEMBER', 'imprest:org:' . $ORG1 . ':members', 'dana'), '0',
   'user del: gone from the organization');
ok(!grep({ $_->{uid} eq 'dana' } @{ js('user', 'list')->{users} }),
   'user del: unlisted');
is(js('user', 'del', 'dana')->{existed}, JSON::PP::false,
   'user del again: existed false, exit 0');
--- request eval
::api()
--- error_code: 401
--- no_error_log
[error]



=== TEST 3: long and unicode names: checked at the limit, whole in --json, cut and aligned in tables
--- init
seed();
my $long = 'L' x 250 . "\x{c3}\x{a9}\x{c3}\x{a9}\x{c3}\x{a9}";  # 256 bytes
my $cjk = "\x{e5}\x{b1}\x{b1}\x{e7}\x{94}\x{b0}\x{e5}\x{a4}\x{aa}\x{e9}\x{83}\x{8e}"; # 山田太郎
is(ctl_run(qw(user add longname --name), $long)->{rc}, 0, 'a 256-byte name');
fails(2, qr/--name must be 1 to 256 bytes/, qw(user add toolong --name),
      $long . 'x');
fails(2, qr/control/, qw(user add ctl --name), "bad\x{07}name");
fails(2, qr/bidirectional/, qw(user add bidi --name), "evil\x{e2}\x{80}\x{ae}txt");
fails(2, qr/not UTF-8/, qw(user add latin1 --name), "caf\x{e9}");
is(ctl_run(qw(user add yamada --name), $cjk)->{rc}, 0, 'a CJK name');
is(ctl_run(qw(user add zoe --name), "Zo\x{c3}\x{ab} \x{c5}\x{81}ukasz")->{rc}, 0,
   'an accented name');
my $j = JSON::PP->new->utf8->decode(ctl_run('--json', 'user', 'list')->{out});
my ($row) = grep { $_->{uid} eq 'longname' } @{ $j->{users} };
is(Encode::encode('UTF-8', $row->{name}), $long, '--json: the whole name');
my $t = ctl_run('user', 'list')->{out};
my @lines = split /\n/, $t;
is(scalar @lines, 7, 'a header and six rows');
my ($lrow) = grep { /^longname / } @lines;
like($lrow, qr/ L{39}\x{e2}\x{80}\x{a6} /, 'table: cut at 40 columns, with an ellipsis');
my @at = map { col_of($_, qr/(?:ORGS|\d+)$/) } @lines;
is(scalar(grep { defined } @at), 7, 'every line has the last column');
is(scalar(keys %{ { map { $_ => 1 } grep { defined } @at } }), 1,
   'the last column starts at the same display column on every line '
   . '(CJK counted as two)') or Test::More::diag($t);
my ($yrow) = grep { /^yamada / } @lines;
like($yrow, qr/\Q$cjk\E/, 'the CJK name as it is');
--- request eval
::api()
--- error_code: 401
--- no_error_log
[error]



=== TEST 4: apps: create, list, show, edit (same checks as create), rotate-secret (the old secret fails at once at the token endpoint), delete ends its grants
--- init
seed_as();
my $a = js(qw(app create --name), 'Ops App', '--redirect-uri',
           'https://ops.example/cb', '--scope', 'money_in', '--owner', 'bob');
like($a->{client_id}, qr/\Aapp_[0-9a-f]{24}\z/, 'app create: client_id');
like($a->{client_secret}, qr/\Aimp_cs_/, 'app create: secret once');
is_deeply([sort keys %$a], [sort qw(client_id client_secret name owner public
          redirect_uris scope introspect created)], 'app create: shape');
my $cid = $a->{client_id};
my $s = js('app', 'show', $cid);
ok(!exists $s->{client_secret}, 'app show: never the secret');
is_deeply($s->{redirect_uris}, ['https://ops.example/cb'], 'app show');
my $l = js('app', 'list', '--owner', 'bob');
is_deeply([map { $_->{client_id} } @{ $l->{apps} }], [$cid],
          'app list --owner');
is(scalar @{ js('app', 'list')->{apps} }, 5, 'app list: all five');
like(ctl_run('app', 'list', '--owner', 'bob')->{out},
     qr/\ACLIENT ID +NAME +OWNER +PUBLIC +REDIRECT URIS +SCOPE\n\Q$cid\E +Ops App +bob +no +https:\/\/ops\.example\/cb +money_in\n\z/,
     'app list: a table');

my $e = js('app', 'edit', $cid, '--name', 'Ops App 2', '--redirect-uri',
           'https://ops.example/a', '--redirect-uri', 'http://127.0.0.1:8080/cb',
           '--redirect-uri', 'https://ops.example/a', '--scope',
           'money_out money_in money_out');
is_deeply([$e->{name}, $e->{redirect_uris}, $e->{scope}],
          ['Ops App 2', ['https://ops.example/a', 'http://127.0.0.1:8080/cb'],
           'money_out money_in'],
          'app edit: name, the URI list replaced (once each), scope as a set');
is(rd('HGET', "imprest:client:$cid", 'redirect_uris'),
   'https://ops.example/a http://127.0.0.1:8080/cb', 'stored');
$e = js('app', 'edit', $cid, '--scope', 'money_in');
is_deeply([$e->{name}, $e->{scope}], ['Ops App 2', 'money_in'],
          'app edit --scope alone keeps the rest');
fails(2, qr/--redirect-uri: http is allowed only for 127/, 'app', 'edit', $cid, '--redirect-uri',
      'http://ops.example/cb');
fails(2, qr/--redirect-uri: /, 'app', 'edit', $cid, '--redirect-uri',
      'https://ops.example/cb#frag');
fails(2, qr/--redirect-uri: /, 'app', 'edit', $cid, '--redirect-uri',
      'https://*.example/cb');
fails(2, qr/--scope/, 'app', 'edit', $cid, '--scope', 'a  b');
fails(2, qr/--name must be 1 to 100 bytes/, 'app', 'edit', $cid, '--name',
      'x' x 101);
fails(2, qr/nothing to change/, 'app', 'edit', $cid);
is(rd('HGET', "imprest:client:$cid", 'redirect_uris'),
   'https://ops.example/a http://127.0.0.1:8080/cb',
   'refused edits changed nothing');
fails(5, qr/no such app/, 'app', 'edit', 'app_000000000000000000000000',
      '--name', 'X');
ok(!rd('EXISTS', 'imprest:client:app_000000000000000000000000'),
   'an edit of no app makes none');
fails(5, qr/no such app/, 'app', 'show', 'app_000000000000000000000000');
fails(4, qr/app already exists/, qw(app create --name Again --redirect-uri
      https://a.example/cb --scope money_in --client-id), $APP_ID);
fails(5, qr/no such user/, qw(app create --name Orphan --redirect-uri
      https://a.example/cb --scope money_in --owner nobody));
fails(4, qr/a public app has no secret/, 'app', 'rotate-secret', $PUB_ID);
fails(5, qr/no such app/, 'app', 'rotate-secret',
      'app_000000000000000000000000');

# rotate-secret: the old secret is refused from the next request
my $r = js('app', 'rotate-secret', $APP_ID);
is($r->{client_id}, $APP_ID, 'rotate-secret: the app');
like($r->{client_secret}, qr/\Aimp_cs_/, 'rotate-secret: the new secret');
put_code(code => $C{rot});
my $old = http_post('/oauth/token',
                    [grant_type => 'authorization_code', code => $C{rot},
                     redirect_uri => $APP_URI, client_id => $APP_ID,
                     client_secret => $APP_SECRET]);
is($old->{status}, 401, 'the old secret: 401 at the token endpoint');
like($old->{body}, qr/invalid_client/, 'as invalid_client');
my $new = http_post('/oauth/token',
                    [grant_type => 'authorization_code', code => $C{rot},
                     redirect_uri => $APP_URI, client_id => $APP_ID,
                     client_secret => $r->{client_secret}]);
is($new->{status}, 200, 'the new secret redeems the code');
my ($at) = tokens_of($new->{body});
is(gate($at, $ORG1), 200, 'and its token works at the gate');

# delete: the token stops, the grant is no longer listed
is(scalar @{ js('grant', 'list', '--client', $APP_ID)->{grants} }, 1,
   'one grant of the app');
my $d = js('app', 'delete', $APP_ID);
is_deeply($d, { ok => JSON::PP::true, existed => JSON::PP::true },
          'app delete: shape');
is(gate($at, $ORG1), 401, 'app delete: its token gets 401');
is_deeply(js('grant', 'list', '--user', 'alice')->{grants}, [],
          'app delete: its grant is not listed for the user');
is_deeply(js('grant', 'list', '--org', $ORG1)->{grants}, [],
          'nor for the organization');
is(rd('EXISTS', "imprest:client:$APP_ID:grants"), '0',
   'app delete: its grant index is gone');
is(js('app', 'delete', $APP_ID)->{existed}, JSON::PP::false,
   'app delete again: existed false, exit 0');
--- request eval
::api()
--- error_code: 401
--- no_error_log
[error]



=== TEST 5: grant list by user, app and organization (real redemptions); revoke one, an organization of a user (403 there, 200 in the other, and the refresh cannot bring it back), a user, an app
--- init
seed_as();
our ($at1, $rt1) = redeem(code => $C{a1}, cid => $APP_ID, uid => 'alice',
                          orgs => "$ORG1 $ORG2", scope => 'money_in money_out');
our ($at2) = redeem(code => $C{a2}, cid => $APP2_ID, uid => 'alice',
                    orgs => $ORG2);
our ($at3) = redeem(code => $C{a3}, cid => $APP2_ID, uid => 'bob',
                    orgs => $ORG1);
our ($at4) = redeem(code => $C{b1}, cid => $APP_ID, uid => 'bob',
                    orgs => "$ORG1 $ORG3");
is(gate($at1, $ORG1) . gate($at1, $ORG2), '200200', 'before: both orgs');

my $l = js('grant', 'list', '--user', 'alice');
is(scalar @{ $l->{grants} }, 2, 'grant list --user: two grants');
my ($g1) = grep { $_->{client_id} eq $APP_ID } @{ $l->{grants} };
is_deeply([sort keys %$g1],
          [sort qw(gid client_id app uid user scope orgs created expires)],
          'a grant: its fields');
is_deeply([$g1->{app}, $g1->{uid}, $g1->{user}, $g1->{scope}],
          ['Books "R" <Us>', 'alice', 'Alice Example', 'money_in money_out'],
          'a grant: app, user, scope');
is_deeply($g1->{orgs}, [{ id => $ORG1, name => 'Acme Ltd' },
                        { id => $ORG2, name => 'Beta "Books" & Co' }],
          'a grant: its organizations with names');
ok($g1->{created} > time() - 60 && $g1->{created} <= time(),
   'created: a unix time, now');
ok($g1->{expires} > time(), 'expires: a unix time, later');
is_deeply([sort map { $_->{uid} } @{ js('grant', 'list', '--client',
                                         $APP_ID)->{grants} }],
          [qw(alice bob)], 'grant list --client');
my $o = js('grant', 'list', '--org', $ORG1);
is(scalar @{ $o->{grants} }, 3, 'grant list --org: three grants');
is_deeply([map { scalar @{ $_->{orgs} } } @{ $o->{grants} }], [1, 1, 1],
          'grant list --org: that organization only');
my $t = ctl_run('grant', 'list', '--user', 'alice')->{out};
like($t, qr/\AGID +APP +UID +ORGS +SCOPE +CREATED +EXPIRES\n/,
     'grant list: a table with these columns');
like($t, qr/^\Q$g1->{gid}\E +Books "R" <Us> +alice +Acme Ltd, Beta "Books" & Co +money_in money_out +\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ +\d{4}-/m,
     'grant list: a row, times in UTC');
is(ctl_run('grant', 'list', '--user', 'nobody')->{out}, "(no grants)\n",
   'no grants: said so');

# an organization out of a user's grants
my $r = js('grant', 'revoke', '--user', 'alice', '--org', $ORG2);
is_deeply($r, { ok => JSON::PP::true, grants_changed => 2 },
          'revoke --user --org: two grants changed');
is(gate($at1, $ORG2), 403, 'that organization: 403 at once');
is(gate($at1, $ORG1), 200, 'the other: still 200');
is(gate($at2, $ORG2), 401, 'a grant left with none ended: 401');
$l = js('grant', 'list', '--user', 'alice');
is(scalar @{ $l->{grants} }, 1, 'one grant left');
is_deeply([map { $_->{id} } @{ $l->{grants}[0]{orgs} }], [$ORG1],
          'with the other organization');
my $rr = http_post('/oauth/token', [grant_type => 'refresh_token',
                                    refresh_token => $rt1,
                                    client_id => $APP_ID,
                                    client_secret => $APP_SECRET]);
is($rr->{status}, 200, 'the refresh still works');
my ($at1b) = tokens_of($rr->{body});
is(gate($at1b, $ORG2), 403, 'but its new token gets 403 in that org');
is(gate($at1b, $ORG1), 200, 'and 200 in the other');

# one grant by gid; again: 5
my $gid3 = gid_of('bob', $APP2_ID);
is(js('grant', 'revoke', $gid3)->{grants_changed}, 1, 'revoke GID');
is(gate($at3, $ORG1), 401, 'its token: 401 at once');
fails(5, qr/no such grant/, 'grant', 'revoke', $gid3);
# a user's grants
our ($at5) = redeem(code => $C{b2}, cid => $APP2_ID, uid => 'bob',
                    orgs => $ORG3);
is(js('grant', 'revoke', '--user', 'bob', '--client', $APP2_ID)->{grants_changed}, 1,
   'revoke --user --client: that app only');
is(gate($at5, $ORG3), 401, 'its token: 401');
is(gate($at4, $ORG1), 200, "the user's other app: still 200");
is(js('grant', 'revoke', '--user', 'bob')->{grants_changed}, 1, 'revoke --user');
is(gate($at4, $ORG1), 401, 'its token: 401');
# an app's grants
is(js('grant', 'revoke', '--client', $APP_ID)->{grants_changed}, 1,
   'revoke --client');
is(gate($at1b, $ORG1), 401, 'its token: 401');
is_deeply(js('grant', 'list', '--client', $APP_ID)->{grants}, [],
          'grant list --client: none left');
is(js('grant', 'revoke', '--user', 'alice')->{grants_changed}, 0,
   'nothing left to revoke: 0, exit 0');
--- request eval
::api()
--- error_code: 401
--- no_error_log
[error]



=== TEST 6: an organization out of every grant (revoke --org, org del), a user deleted: their grants end at the gate
--- init
seed_as();
our ($a1) = redeem(code => $C{a1}, cid => $APP_ID, uid => 'alice',
                   orgs => "$ORG1 $ORG2");
our ($b1) = redeem(code => $C{b1}, cid => $APP_ID, uid => 'bob',
                   orgs => "$ORG1 $ORG3");
our ($a2) = redeem(code => $C{a2}, cid => $APP2_ID, uid => 'alice',
                   orgs => $ORG2);
is(js('grant', 'revoke', '--org', $ORG1)->{grants_changed}, 2,
   'revoke --org: both grants in it');
is(gate($a1, $ORG1) . gate($a1, $ORG2), '403200', 'alice: 403 there, 200 in Beta');
is(gate($b1, $ORG1) . gate($b1, $ORG3), '403200', 'bob: 403 there, 200 in Gamma');
my $d = js('org', 'del', $ORG3);
is($d->{grants_changed}, 1, "org del: out of bob's grant");
is(gate($b1, $ORG3), 401, "bob's grant had no other: 401");
$d = js('member', 'del', 'alice', $ORG2);
is($d->{grants_changed}, 2, "member del: Beta out of alice's grants");
is(gate($a1, $ORG2) . gate($a2, $ORG2), '401401',
   'both of them had no other: 401');
our ($a3) = redeem(code => $C{a3}, cid => $APP2_ID, uid => 'alice',
                   orgs => $ORG1);
$d = js('user', 'del', 'alice');
is($d->{grants_changed}, 1, 'user del: her grant ended');
is(gate($a3, $ORG1), 401, 'its token: 401');
is(rd('EXISTS', 'imprest:user:alice:grants'), '0',
   'her index is gone');
--- request eval
::api()
--- error_code: 401
--- no_error_log
[error]



=== TEST 7: tokens: mint, show, revoke with --json shapes and exit statuses
--- init
seed();
my $m = js(qw(token mint --user alice --client ops --scope money_in --org),
           $ORG1);
like($m->{access_token}, qr/\Aimp_at_/, 'token mint');
is_deeply([sort keys %$m], [sort qw(access_token token_type expires_in exp
          scope orgs)], 'token mint: shape');
is(gate($m->{access_token}, $ORG1), 200, 'it works at the gate');
my $s = js('token', 'show', $m->{access_token});
is_deeply([$s->{uid}, $s->{cid}, $s->{orgs}], ['alice', 'ops', [$ORG1]],
          'token show');
my $t = ctl_run('token', 'show', $m->{access_token})->{out};
like($t, qr/^exp +\d{4}-\d\d-\d\dT/m, 'token show: a time in the table');
is_deeply(js('token', 'revoke', $m->{access_token}),
          { ok => JSON::PP::true, existed => JSON::PP::true },
          'token revoke');
is(gate($m->{access_token}, $ORG1), 401, 'revoked: 401');
fails(5, qr/no such token/, 'token', 'show', $m->{access_token});
is(js('token', 'revoke', $m->{access_token})->{existed}, JSON::PP::false,
   'revoked again: existed false, exit 0');
fails(2, qr/not a well-formed access token/, 'token', 'show', 'imp_at_x');
--- request eval
::api()
--- error_code: 401
--- no_error_log
[error]



=== TEST 8: 10,000 grants of one user: listed whole and correct through the index, in time; revoked in one call
--- init
seed_as();
my $n = 10000;
my $now = time();
# the records redeem.lua writes, written in bulk (RESP over redis-cli --pipe)
my $tmp = ($ENV{IMPREST_TEST_TMP} // '/tmp') . "/grants141.$$";
open my $fh, '>', $tmp or die;
my $cmd = sub {
    my $s = '*' . scalar(@_) . "\r\n";
    $s .= '$' . length($_) . "\r\n$_\r\n" for @_;
    print $fh $s;
};
my @gids;
for my $i (1 .. $n) {
    my $gid = sprintf('%08x-0000-4000-8000-%012x', $i, $i);
    push @gids, $gid;
    my $g = "imprest:grant:$gid";
    $cmd->('SADD', $g, "imprest:at:" . sha256_hex("t$i"));
    $cmd->('HSET', "imprest:at:" . sha256_hex("t$i"), 'uid', 'heavy', 'cid',
           $APP_ID, 'scope', 'money_in', 'orgs', $ORG1, 'iat', $now,
           'exp', $now + 3600, 'aud', '', 'gid', $gid);
    $cmd->('HSET', "$g:info", 'uid', 'heavy', 'cid', $APP_ID,
           'scope', 'money_in', 'orgs', $ORG1, 'gexp', $now + 86400,
           'created', $now - $i);
    $cmd->('SADD', 'imprest:user:heavy:grants', $gid);
    $cmd->('SADD', "imprest:client:$APP_ID:grants", $gid);
    $cmd->('SADD', "imprest:org:$ORG1:grants", $gid);
}
close $fh;
system("redis-cli -p " . redis_port() . " --pipe < $tmp > /dev/null") == 0
    or die 'redis-cli --pipe failed';
unlink $tmp;
ctl(qw(user add heavy --name), 'Heavy User');
ctl('member', 'add', 'heavy', $ORG1);

my $t0 = Time::HiRes::time();
my $r = ctl_run('--json', 'grant', 'list', '--user', 'heavy');
my $dt = Time::HiRes::time() - $t0;
is($r->{rc}, 0, 'grant list of 10,000: exit 0');
my $j = eval { decode_json($r->{out}) } // {};
is(scalar @{ $j->{grants} || [] }, $n, 'every one of them');
is_deeply([map { $_->{gid} } @{ $j->{grants} }], [sort @gids],
          'each once, sorted by gid');
is(scalar(grep { $_->{uid} eq 'heavy' && $_->{client_id} eq $APP_ID
                 && $_->{orgs}[0]{name} eq 'Acme Ltd'
                 && $_->{created} <= $now } @{ $j->{grants} }), $n,
   'each correct');
Test::More::diag(sprintf('grant list --json, 10,000 grants: %.2f s, %d bytes', $dt,
             length $r->{out}));
ok($dt < 20, 'in time (under 20 s on a loaded machine)');
$t0 = Time::HiRes::time();
$r = ctl_run('grant', 'list', '--user', 'heavy');
$dt = Time::HiRes::time() - $t0;
is(scalar(split /\n/, $r->{out}), $n + 1, 'the table: a header and 10,000 rows');
Test::More::diag(sprintf('grant list (table), 10,000 grants: %.2f s', $dt));
$t0 = Time::HiRes::time();
is(js('grant', 'revoke', '--user', 'heavy')->{grants_changed}, $n,
   'revoke --user: all 10,000');
Test::More::diag(sprintf('grant revoke --user, 10,000 grants: %.2f s',
             Time::HiRes::time() - $t0));
is(rd('EXISTS', "imprest:at:" . sha256_hex("t1"),
         "imprest:grant:$gids[-1]:info", 'imprest:user:heavy:grants'), '0',
   'their tokens, records and index are gone');
is(rd('SCARD', "imprest:org:$ORG1:grants"), '0',
   'the organization index is empty');
--- request eval
::api()
--- error_code: 401
--- no_error_log
[error]
