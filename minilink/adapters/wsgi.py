"""The WSGI adapter (PEP 3333): ``application`` for servers, ``create_app`` for code.

Rules:

* Only translation: the environ becomes a ``Request`` (see ``_environ``), the
  ``Response`` goes to ``start_response`` with its status line and headers exactly as
  the core made them (``Content-Length`` set, HEAD bodies stripped, values checked),
  and the body is returned as a one-item list (a streamed download: its iterable of
  pieces, see ``minilink.core.http``). Nothing here alters a header.
* ``wsgi.input`` is read for exactly ``App.body_size(headers)`` bytes, never past the
  declared ``Content-Length`` (PEP 3333 forbids it, and some servers would block).
* ``application`` builds its ``App`` from ``MINILINK_*`` on the first request (see
  ``_lazy``). Importing the module checks those values and the store URL, and ends the
  process with one sentence on stderr if they are bad, so a server refuses to start;
  it opens nothing, so the store may still be unreachable then. ``create_app`` raises
  ``ValueError`` instead, for code that builds its own.
* The adapter passes ``wsgiref.validate``; the test suite wraps every request in it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Callable, Optional

from minilink.adapters._environ import request_from_environ
from minilink.adapters._lazy import LazyApp, entry_point
from minilink.core.app import App
from minilink.core.config import Config

__all__ = ["WSGIApp", "application", "create_app"]

StartResponse = Callable[..., Any]


class WSGIApp(LazyApp):
    """A WSGI callable serving one ``App``, given or built on first use by ``factory``."""

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        app = self.app
        request = request_from_environ(
            environ,
            environ["wsgi.input"],
            app.body_size,
            scheme=environ.get("wsgi.url_scheme") or "http",
        )
        response = app.handle(request)
        start_response(response.status_line, list(response.headers))
        if response.stream is not None:
            return response.stream  # a download, piece by piece
        return [response.body]


def create_app(config: Optional[Config] = None, *, app: Optional[App] = None) -> WSGIApp:
    """A WSGI callable for ``app``, or for a new ``App`` built now from ``config``
    (default: ``Config.from_env(os.environ)``).

    Building now means a bad configuration or an unreachable store raises here, at
    start-up, rather than on the first request. Raises ``ValueError`` for a bad config.
    """
    if app is not None:
        return WSGIApp(app)
    return WSGIApp.built(config)


#: The entry point for WSGI servers: ``minilink.adapters.wsgi:application``.
application = entry_point(WSGIApp)
