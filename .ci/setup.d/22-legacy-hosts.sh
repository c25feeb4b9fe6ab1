#!/usr/bin/env bash
# Apache mod_fcgid and Phusion Passenger, for the shared-host servers of the live suite
# (tests/servers/legacy_hosts.py) and bench/legacy_hosts.py. Only installed: the tests
# start their own foreground httpd, so the package's install step must not start the
# system Apache on port 80 (a policy-rc.d refuses it; an Apache already running from an
# earlier install is left alone, it is not ours to stop).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
modules=/usr/lib/apache2/modules
if ! [ -e "$modules/mod_fcgid.so" ] || ! [ -e "$modules/mod_passenger.so" ] || ! command -v wrk >/dev/null; then
    policy=/usr/sbin/policy-rc.d
    if ! [ -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' > "$policy"
        chmod +x "$policy"
        trap 'rm -f "$policy"' EXIT
    fi
    apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=600 \
        apache2 libapache2-mod-fcgid libapache2-mod-passenger wrk >/dev/null
fi
dpkg-query -W -f='${Package} ${Version}\n' libapache2-mod-fcgid libapache2-mod-passenger
