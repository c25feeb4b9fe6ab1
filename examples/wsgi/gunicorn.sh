#!/bin/sh
# minilink under gunicorn: 2 worker processes with 4 threads each. Behind a proxy that
# serves it at /s, add SCRIPT_NAME=/s to the environment.
set -eu
# The store's directory must exist, or minilink refuses to start (one line in the log).
: "${MINILINK_STORE:=/srv/minilink/data/links.db}"
export MINILINK_STORE
exec gunicorn --workers 2 --worker-class gthread --threads 4 \
    --bind "${BIND:-127.0.0.1:8000}" minilink.adapters.wsgi:application
