#!/usr/bin/env bash
# Apache httpd 2.4 and mod_wsgi (built for Debian's /usr/bin/python3), for the live-server
# suite (tests/servers). Only installed: the tests start their own foreground httpd with
# their own configuration in a temporary folder, so no system-wide Apache is started
# (a policy-rc.d keeps the package's install step from starting one).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
if ! [ -x /usr/sbin/apache2 ] || ! [ -e /usr/lib/apache2/modules/mod_wsgi.so ]; then
    # policy-rc.d 101: do not start the service that the package would start.
    policy=/usr/sbin/policy-rc.d
    if ! [ -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' > "$policy"
        chmod +x "$policy"
        trap 'rm -f "$policy"' EXIT
    fi
    apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=600 \
        apache2 libapache2-mod-wsgi-py3 >/dev/null
fi
/usr/sbin/apache2 -v | sed -n 1p
