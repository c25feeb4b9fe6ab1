#!/usr/bin/env bash
# MariaDB on 127.0.0.1:3306 for the YOURLS import tests (tests/importers) and
# bench/import_yourls.py: the tests create a database of their own, install YOURLS's
# schema in it, import it live and through a real mysqldump file, and drop it. They
# connect as root without a password over TCP; mysqldump and mysql (the client tools)
# must exist too. This machine kind ships MariaDB running that way; this script makes
# sure it answers, installing Debian's packages and setting up root's TCP login when
# they are missing, and starting the server when it is not running. Idempotent.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

if ! [ -x /usr/sbin/mariadbd ] || ! command -v mysqldump >/dev/null 2>&1; then
    # policy-rc.d 101: the package's install step starts no service; started below.
    policy=/usr/sbin/policy-rc.d
    if ! [ -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' > "$policy"
        chmod +x "$policy"
        trap 'rm -f "$policy"' EXIT
    fi
    apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=600 \
        mariadb-server mariadb-client >/dev/null
fi

answers() { mysqladmin -h 127.0.0.1 -P 3306 -u root --connect-timeout=2 ping >/dev/null 2>&1; }

if ! answers; then
    install -d -o mysql -g mysql -m 0755 /run/mysqld
    if ! mysqladmin --connect-timeout=2 ping >/dev/null 2>&1; then
        start-stop-daemon --start --oknodo --background --chuid mysql \
            --exec /usr/sbin/mariadbd -- --bind-address=127.0.0.1 --port=3306
    fi
    for _ in $(seq 1 60); do
        mysqladmin --connect-timeout=2 ping >/dev/null 2>&1 && break
        sleep 0.5
    done
    if ! answers; then
        # A fresh Debian install lets root in through the socket only: allow TCP from
        # 127.0.0.1 without a password as well (a machine for tests, not a server).
        mysql -u root -e "CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY '';
            GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;
            CREATE DATABASE IF NOT EXISTS test;" || true
    fi
fi

for _ in $(seq 1 60); do
    if answers; then
        mysql -h 127.0.0.1 -P 3306 -u root -N -e 'SELECT version()'
        exit 0
    fi
    sleep 0.5
done
echo "MariaDB does not answer on 127.0.0.1:3306 as root" >&2
exit 1
