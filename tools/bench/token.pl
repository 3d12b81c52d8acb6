# `make bench` with BENCH_TOKEN_ROUNDS > 0 (tools/bench.pl): the
# authorization server on the bench's gateway, POST /oauth/token:
#   refresh   refresh_token grants/s (every wrk connection follows its own
#             rotating chain, seeded by code exchanges done here)
#   exchange  complete authorization-code exchanges/s: GET /oauth/authorize,
#             POST /oauth/authorize (approve), POST /oauth/token
# with one connection per wrk thread (tools/bench/refresh.lua,
# tools/bench/exchange.lua).

use strict;
use warnings;

use HTTP::Tiny;
use JSON::PP qw(decode_json);
use MIME::Base64 qw(encode_base64);

sub bench_token_endpoint {
    my (%o) = @_;
    my ($ctl, $rport, $base, $ru, $org, $dir) =
        @o{qw(ctl rport base ru org dir)};

    my $app = `$ctl --json --redis 127.0.0.1:$rport app create --name BenchTok --redirect-uri $ru --scope "money_in money_out" 2>&1`;
    $? == 0 or die "bench: imprestctl app create failed: $app";
    $app = decode_json($app);
    my $client_id = $app->{client_id};
    my $basic = 'Basic ' . encode_base64("$client_id:$app->{client_secret}",
                                         '');
    my $esc = sub {
        (my $s = shift) =~ s/([^A-Za-z0-9\-._~])/sprintf '%%%02X', ord $1/ge;
        return $s;
    };
    my $http = HTTP::Tiny->new(max_redirect => 0, timeout => 10);
    my $nseq = 0;
    my $exchange = sub {
        my $user = { 'X-Bench-User' => 'bench' };
        my $r = $http->get("$base/oauth/authorize?client_id=$client_id"
            . '&response_type=code&redirect_uri=' . $esc->($ru)
            . '&scope=money_in&state=seed' . $nseq++, { headers => $user });
        my ($rid) = $r->{status} == 200
            && $r->{content} =~ /name="request_id" value="([^"]+)"/;
        die "bench: GET /oauth/authorize: $r->{status}\n" unless $rid;
        $r = $http->post_form("$base/oauth/authorize",
            [request_id => $rid, org => $org, decision => 'approve'],
            { headers => $user });
        my ($code) = $r->{status} == 303
            && ($r->{headers}{location} // '') =~ /[?&]code=([^&]+)/;
        die "bench: POST /oauth/authorize: $r->{status}\n" unless $code;
        $r = $http->post_form("$base/oauth/token",
            [grant_type => 'authorization_code', code => $code,
             redirect_uri => $ru], { headers => { Authorization => $basic } });
        my $rt = $r->{status} == 200
            && eval { decode_json($r->{content})->{refresh_token} };
        die "bench: POST /oauth/token: $r->{status}\n" unless $rt;
        return $rt;
    };
    my $seed = sub {
        open my $sf, '>', "$dir/refresh-seeds.txt" or die;
        print $sf join(' ', map { $exchange->() } 0 .. $o{spares}), "\n"
            for 1 .. $o{conns};
        close $sf;
    };
    my %env = (
        IMPREST_BENCH_CLIENT_ID    => $client_id,
        IMPREST_BENCH_AUTH         => $basic,
        IMPREST_BENCH_REDIRECT_URI => $esc->($ru),
        IMPREST_BENCH_ORG          => $org,
        IMPREST_BENCH_USER         => 'bench',
        IMPREST_BENCH_SEEDS        => "$dir/refresh-seeds.txt",
    );
    my %modes = (
        refresh  => { path => '/oauth/token', prepare => $seed,
                      script => "$o{repo}/tools/bench/refresh.lua" },
        exchange => { path => '/oauth/authorize',
                      script => "$o{repo}/tools/bench/exchange.lua" },
    );
    my %res;
    for my $round (1 .. $o{rounds}) {
        for my $m ($round % 2 ? qw(refresh exchange) : qw(exchange refresh)) {
            $modes{$m}{prepare}->() if $modes{$m}{prepare};
            push @{ $res{$m} }, $o{measure}->(
                path => $modes{$m}{path}, script => $modes{$m}{script},
                token => 1, threads => $o{conns}, conns => $o{conns},
                env => \%env);
        }
    }
    my $mean = sub { my $s = 0; $s += $_ for @_; @_ ? $s / @_ : 0 };
    my $rep = sprintf "\nToken endpoint: %d round(s) x %d s, %d "
        . "connections, client_secret_basic\n", $o{rounds}, $o{secs},
        $o{conns};
    for my $m (qw(refresh exchange)) {
        my @r = @{ $res{$m} };
        $rep .= sprintf "  %-8s %8.0f /s  (req/s %.0f, errors %d)\n", $m,
            $mean->(map { $_->{ops} } @r), $mean->(map { $_->{rps} } @r),
            eval { my $s = 0; $s += $_->{fail} for @r; $s };
    }
    return $rep;
}

1;
