#!/bin/sh
# minilink under waitress (pure Python, also on Windows). Behind a proxy that serves it
# at /s, add --url-prefix=/s.
set -eu
: "${MINILINK_STORE:=/srv/minilink/data/links.db}"
export MINILINK_STORE
exec waitress-serve --listen="${BIND:-127.0.0.1:8000}" minilink.adapters.wsgi:application
