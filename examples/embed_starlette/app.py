"""An existing Starlette app with minilink inside it.

* minilink's pages and JSON API are mounted at ``/s`` through the ASGI adapter
  (``root_path`` tells it the prefix, so its short URLs carry it);
* the app's own ``/share`` endpoint shortens a link through the Python API, on the
  same store, and answers with the short URL under ``/s``.

Run it with ``uvicorn app:app``; ``MINILINK_*`` variables configure minilink.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

from minilink import Config, MinilinkError, build_app
from minilink.adapters.asgi import create_app

# One App for the mount and the /share endpoint: the same store, and the same
# write-behind buffer (hits are batched in memory and written every second).
minilink = build_app(Config.from_env(os.environ))
shortener = minilink.shortener


async def share(request: Request) -> JSONResponse:
    """Shorten the form field ``url``; 400 with minilink's message when it is refused."""
    # The form is read with the standard library (Starlette's request.form() would need
    # the python-multipart package).
    form = parse_qs((await request.body()).decode("utf-8", "replace"))
    try:
        link = shortener.shorten(form.get("url", [""])[0])
    except MinilinkError as exc:
        return JSONResponse({"error": exc.code, "message": exc.message}, exc.status)
    return JSONResponse({"short_url": f"{request.base_url}s/{link.code}", "url": link.url})


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    yield
    minilink.close()  # the batched hits are written before the process ends


app = Starlette(
    routes=[
        Route("/share", share, methods=["POST"]),
        Mount("/s", app=create_app(app=minilink)),
    ],
    lifespan=lifespan,
)
