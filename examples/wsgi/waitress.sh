#!/bin/sh
# minilink under waitress (pure Python, also on Windows). Behind a proxy that serves it
# at /s, add --url-prefix=/s.
set -eu
# The store's directory must exist, or minilink refuses to start (one line in the log).
: "${MINILINK_STORE:=/srv/minilink/data/links.db}"
export MINILINK_STORE
exec waitress-serve --listen="${BIND:-127.0.0.1:8000}" minilink.adapters.wsgi:application
