#!/bin/sh
# minilink under hypercorn. Served at /s (the path keeps the prefix), add --root-path /s.
set -eu
# The store's directory must exist, or minilink refuses to start (one line in the log).
: "${MINILINK_STORE:=/srv/minilink/data/links.db}"
export MINILINK_STORE
exec hypercorn --bind "${BIND:-127.0.0.1:8000}" minilink.adapters.asgi:application
