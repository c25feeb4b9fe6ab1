"""The framework baseline: Starlette + sqlite3 doing what a minilink redirect does."""

import datetime
import os
import sqlite3

from starlette.applications import Starlette
from starlette.responses import PlainTextResponse, RedirectResponse
from starlette.routing import Route

_conn = sqlite3.connect(
    os.environ["MINILINK_STORE"], isolation_level=None, timeout=5, check_same_thread=False
)
_conn.execute("PRAGMA journal_mode=WAL")
_conn.execute("PRAGMA synchronous=NORMAL")


async def follow(request):  # type: ignore[no-untyped-def]
    code = request.path_params["code"]
    row = _conn.execute(
        "SELECT url FROM links WHERE code = ? AND deleted_at IS NULL", (code,)
    ).fetchone()
    if row is None:
        return PlainTextResponse("not found", 404)
    day = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
    _conn.execute("BEGIN IMMEDIATE")
    _conn.execute("UPDATE links SET hits = hits + 1 WHERE code = ?", (code,))
    _conn.execute(
        "INSERT INTO daily (code, day, hits) VALUES (?, ?, 1)"
        " ON CONFLICT (code, day) DO UPDATE SET hits = hits + 1",
        (code, day),
    )
    _conn.execute("COMMIT")
    return RedirectResponse(row[0], 302)


application = Starlette(routes=[Route("/{code}", follow)])
