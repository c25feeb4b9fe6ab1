#!/usr/bin/env bash
# lighttpd, nginx + fcgiwrap and busybox httpd, for the live-server suite (tests/servers):
# each runs the generated CGI script. Only installed: the tests start their own
# foreground servers with their own configuration on free loopback ports, so the
# services the packages come with are kept from starting (policy-rc.d), and stopped and
# disabled should an earlier install have started them (they would hold port 80).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
if ! [ -x /usr/sbin/lighttpd ] || ! [ -x /usr/sbin/nginx ] || ! [ -x /usr/sbin/fcgiwrap ] \
    || ! [ -x /bin/busybox ]; then
    # policy-rc.d 101: do not start the services that the packages would start.
    policy=/usr/sbin/policy-rc.d
    if ! [ -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' > "$policy"
        chmod +x "$policy"
        trap 'rm -f "$policy"' EXIT
    fi
    apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=600 \
        lighttpd nginx fcgiwrap busybox >/dev/null
fi
for service in lighttpd nginx fcgiwrap.socket fcgiwrap; do
    if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
        systemctl disable --now "$service" >/dev/null 2>&1 || true
    elif command -v service >/dev/null; then
        service "${service%.socket}" stop >/dev/null 2>&1 || true
    fi
done
/usr/sbin/lighttpd -v | sed -n 1p  # sed reads it all: head would end the pipe early (SIGPIPE)
/usr/sbin/nginx -v 2>&1
dpkg-query -W -f='fcgiwrap ${Version}\n' fcgiwrap
/bin/busybox | sed -n 1p
