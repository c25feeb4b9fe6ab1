#!/bin/sh
# minilink under uvicorn (uvloop and httptools with `pip install 'uvicorn[standard]'`).
# Behind a proxy that strips a /s prefix, add --root-path /s.
set -eu
# The store's directory must exist, or minilink refuses to start (one line in the log).
: "${MINILINK_STORE:=/srv/minilink/data/links.db}"
export MINILINK_STORE
exec uvicorn --host "${HOST:-127.0.0.1}" --port "${PORT:-8000}" --lifespan on \
    minilink.adapters.asgi:application
