#!/bin/sh
# Install and configure Request Tracker 5 from Debian for bench/peers.py (root; Debian 12).
# Idempotent: a second run only rewrites the site configuration.  SQLite backend, so nothing
# touches the machine's PostgreSQL; RT's web server is started by bench/peers.py, not here.
set -eu

if ! dpkg-query -W -f='${Status}' request-tracker5 2>/dev/null | grep -q "install ok installed"; then
    # Answers for the package's dbconfig and site questions, so the install needs no terminal.
    debconf-set-selections <<'EOF'
request-tracker5 request-tracker5/dbconfig-install boolean true
request-tracker5 request-tracker5/database-type select sqlite3
request-tracker5 request-tracker5/rtname string bench.example
request-tracker5 request-tracker5/organization string bench.example
request-tracker5 request-tracker5/correspondaddress string rt@bench.example
request-tracker5 request-tracker5/commentaddress string rt-comment@bench.example
request-tracker5 request-tracker5/webbaseurl string http://127.0.0.1:8099
request-tracker5 request-tracker5/install-cronjobs boolean false
request-tracker5 request-tracker5/initial-root-password password bench-root-password
EOF
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        request-tracker5 rt5-db-sqlite rt5-clients sqlite3
fi

mkdir -p /etc/request-tracker5/RT_SiteConfig.d
cat > /etc/request-tracker5/RT_SiteConfig.d/90-ticketflow-bench.pm <<'EOF'
# Written by Ticketflow's bench/peers_rt.sh: RT as the mail peer of the benchmark.
Set($WebDomain, '127.0.0.1');
Set($WebPort, 8099);
Set($WebPath, '');
Set($CanonicalizeRedirectURLs, 0);
# Unknown senders create tickets, as Ticketflow makes customer users from mail.
Set(@MailPlugins, qw(Auth::MailFrom));
Set($RTAddressRegexp, '^rt(-comment)?\@bench\.example$');
# No outgoing mail during the benchmark (Ticketflow's acknowledgements go to a folder too).
Set($MailCommand, 'mbox');
EOF
# Everyone may create tickets and correspond in General (RT's default queue).
cat > /tmp/ticketflow-bench-rt-rights.pl <<'EOF'
use strict; use warnings;
use RT -init;
my $queue = RT::Queue->new(RT->SystemUser); $queue->Load('General');
my $everyone = RT::Group->new(RT->SystemUser); $everyone->LoadSystemInternalGroup('Everyone');
for my $right (qw(CreateTicket ReplyToTicket SeeQueue ShowTicket)) {
    $everyone->PrincipalObj->GrantRight(Right => $right, Object => $queue);
}
EOF
perl -I/usr/share/request-tracker5/lib -I/usr/local/share/request-tracker5/lib /tmp/ticketflow-bench-rt-rights.pl
echo "RT is installed and configured for the benchmark (SQLite, http://127.0.0.1:8099)"
