"""A small site with minilink inside it at ``/s``, as a WSGI and as an ASGI app.

The site answers its own pages and hands everything under ``/s`` to minilink's
adapters, the way a framework's mount does (``DispatcherMiddleware``, Starlette's
``Mount``): WSGI gets ``SCRIPT_NAME=/s`` and the rest in ``PATH_INFO``; ASGI keeps the
whole ``path`` and adds ``/s`` to ``root_path``. Short URLs then carry the prefix.

``make_wsgi(app)`` and ``make_asgi(app)`` build the site around a minilink ``App``, so
a test can hand in a fresh one (see ``test_mount.py``). To serve it for real, with
``MINILINK_*`` variables configuring minilink::

    python mysite.py                     # the stdlib server on http://127.0.0.1:8000/
    gunicorn 'mysite:make_wsgi()'        # or uvicorn --factory mysite:make_asgi
"""

from __future__ import annotations

import os
from typing import Any, Callable, Optional

from minilink import build_app
from minilink.adapters.asgi import create_app as create_asgi
from minilink.adapters.wsgi import create_app as create_wsgi
from minilink.core.app import App
from minilink.core.config import Config

PREFIX = "/s"
HOME = b"<!doctype html><title>My site</title><p>Short links live under <a href=/s/>/s/</a>.\n"
HEADERS = [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(HOME)))]


def _minilink(app: Optional[App]) -> App:
    return app if app is not None else build_app(Config.from_env(os.environ))


def _under_prefix(path: str) -> bool:
    return path == PREFIX or path.startswith(PREFIX + "/")


def make_wsgi(app: Optional[App] = None) -> Callable[..., Any]:
    """The site as a WSGI app, with minilink (``app``, or one from the environment)."""
    shortener = create_wsgi(app=_minilink(app))

    def site(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        path = environ.get("PATH_INFO", "")
        if _under_prefix(path):
            inner = dict(environ)
            inner["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + PREFIX
            inner["PATH_INFO"] = path[len(PREFIX) :]
            return shortener(inner, start_response)
        start_response("200 OK", list(HEADERS))
        return [b"" if environ["REQUEST_METHOD"] == "HEAD" else HOME]

    return site


def make_asgi(app: Optional[App] = None) -> Callable[..., Any]:
    """The site as an ASGI app, with minilink (``app``, or one from the environment)."""
    shortener = create_asgi(app=_minilink(app))

    async def site(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":  # lifespan: minilink's adapter answers it
            await shortener(scope, receive, send)
            return
        if _under_prefix(scope["path"]):
            inner = dict(scope, root_path=scope.get("root_path", "") + PREFIX)
            await shortener(inner, receive, send)
            return
        headers = [(name.lower().encode(), value.encode()) for name, value in HEADERS]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        body = b"" if scope["method"] == "HEAD" else HOME
        await send({"type": "http.response.body", "body": body})

    return site


if __name__ == "__main__":
    from wsgiref.simple_server import make_server

    with make_server("127.0.0.1", 8000, make_wsgi()) as server:
        print("http://127.0.0.1:8000/ (minilink at /s/)")
        server.serve_forever()
