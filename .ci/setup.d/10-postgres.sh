#!/usr/bin/env bash
# PostgreSQL on 127.0.0.1:5432 for the PostgreSQL store, transfer and scale-out tests
# (tests/storage/test_postgres.py, tests/test_transfer.py, tests/scale). This machine
# kind ships it running with trust authentication for local connections; this script
# only makes sure it answers, starting the cluster when it does not. On a machine
# without it, Debian's package is installed and set up the same way (trust for
# 127.0.0.1 only). Idempotent: a server that answers is left alone.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

if ! command -v pg_ctlcluster >/dev/null 2>&1; then
    apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=600 \
        postgresql >/dev/null
    version=$(ls /etc/postgresql | sort -V | tail -n 1)
    hba=/etc/postgresql/$version/main/pg_hba.conf
    if ! grep -q '^host all all 127.0.0.1/32 trust' "$hba"; then
        # The tests connect as the postgres role without a password, over TCP.
        sed -i '1i host all all 127.0.0.1/32 trust' "$hba"
        pg_ctlcluster --skip-systemctl-redirect "$version" main reload 2>/dev/null || true
    fi
fi

if ! pg_isready -q -h 127.0.0.1 -p 5432; then
    for version in $(ls /etc/postgresql); do
        pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    done
fi

for _ in $(seq 1 60); do
    if pg_isready -q -h 127.0.0.1 -p 5432; then
        pg_isready -h 127.0.0.1 -p 5432
        exit 0
    fi
    sleep 0.5
done
echo "PostgreSQL does not answer on 127.0.0.1:5432" >&2
exit 1
