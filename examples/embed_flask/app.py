"""An existing Flask app with minilink inside it.

* minilink's pages and JSON API are mounted at ``/s`` (``/s/``, ``/s/api/links``, and
  every short link ``/s/<code>``), through the WSGI adapter;
* the app's own ``/share`` view shortens a link through the Python API, on the same
  store, and answers with the short URL under ``/s``.

Run it with ``flask --app app run`` (or any WSGI server: ``gunicorn app:app``);
``MINILINK_*`` variables configure minilink (``MINILINK_STORE`` for the SQLite file).
"""

from __future__ import annotations

import atexit
import os

from flask import Flask, jsonify, request
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from minilink import Config, MinilinkError, build_app
from minilink.adapters.wsgi import create_app

# One App for the mount and the /share view: the same store, and the same write-behind
# buffer (hits are batched in memory and written every second, and at exit).
minilink = build_app(Config.from_env(os.environ))
shortener = minilink.shortener
atexit.register(minilink.close)

app = Flask(__name__)


@app.post("/share")
def share():
    """Shorten the form field ``url``; 400 with minilink's message when it is refused."""
    try:
        link = shortener.shorten(request.form.get("url", ""))
    except MinilinkError as exc:
        return jsonify(error=exc.code, message=exc.message), exc.status
    return jsonify(short_url=f"{request.host_url}s/{link.code}", url=link.url)


# Requests under /s go to minilink, with SCRIPT_NAME=/s: its short URLs carry the prefix.
app.wsgi_app = DispatcherMiddleware(app.wsgi_app, {"/s": create_app(app=minilink)})
