"""The framework baseline: Flask + sqlite3 doing what a minilink redirect does
(look the code up, count a hit and a per-day hit, redirect)."""

import datetime
import os
import sqlite3
import threading

from flask import Flask, abort, redirect

app = Flask(__name__)
_local = threading.local()


def db() -> sqlite3.Connection:
    conn = getattr(_local, "conn", None)
    if conn is None:
        conn = sqlite3.connect(os.environ["MINILINK_STORE"], isolation_level=None, timeout=5)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        _local.conn = conn
    return conn


@app.route("/<code>")
def follow(code: str):  # type: ignore[no-untyped-def]
    conn = db()
    row = conn.execute(
        "SELECT url FROM links WHERE code = ? AND deleted_at IS NULL", (code,)
    ).fetchone()
    if row is None:
        abort(404)
    day = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("UPDATE links SET hits = hits + 1 WHERE code = ?", (code,))
    conn.execute(
        "INSERT INTO daily (code, day, hits) VALUES (?, ?, 1)"
        " ON CONFLICT (code, day) DO UPDATE SET hits = hits + 1",
        (code, day),
    )
    conn.execute("COMMIT")
    return redirect(row[0], 302)


application = app
