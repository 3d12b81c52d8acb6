package Imprest::Test::Logs;

use strict;
use warnings;

# What fails every block of the suite, under either runner.
#
# Our runner fails a block whose logs show an [alert] or [emerg], a worker
# that exited on a signal, or a sanitizer report; OpenResty's only warns
# about [alert], [crit] and [emerg] lines.  So every block gets these, and
# [crit], as no_error_log patterns, which both runners check after each
# request -- except a level the block's own error_log names (a test of
# that message), and [emerg] in a must_die block.

our @ALWAYS_BAD = (
    [alert => qr/\[alert\]/], [crit => qr/\[crit\]/], [emerg => qr/\[emerg\]/],
    [signal => qr/exited on signal/],
    [sanitizer => qr/Sanitizer|runtime error:/],
);

sub _section_text {
    my ($v) = @_;
    return '' unless defined $v;
    my $t = join "\n", map { defined $_ ? "$_" : '' }
                       ref $v eq 'ARRAY' ? @$v : ($v);
    $t =~ s/\\//g;      # qr/\[crit\] .../ names [crit too
    return $t;
}

sub add_always_bad {
    my ($block) = @_;
    my $expected = _section_text($block->error_log);
    my $own = $block->no_error_log;
    my @pats = !defined $own ? ()
             : ref $own eq 'ARRAY' ? grep { defined } @$own
             : ref $own ? ($own)
             : do { (my $t = $own) =~ s/\n+\z//; split /\n+/, $t };
    my %have = map { ("$_" => 1) } @pats;
    for my $bad (@ALWAYS_BAD) {
        my ($what, $re) = @$bad;
        next if $what =~ /^(?:alert|crit|emerg)\z/
                && index($expected, "[$what") >= 0;
        next if $what eq 'emerg' && defined $block->must_die;
        push @pats, $re unless $have{"$re"};
    }
    $block->set_value(no_error_log => \@pats);
    return $block;
}


# Loading the module installs it, for every block of the test file.
Test::Nginx::Socket::add_block_preprocessor(\&add_always_bad);

1;
