"""The WSGI adapter (PEP 3333): ``application`` for servers, ``create_app`` for code.

Rules:

* Only translation: the environ becomes a ``Request`` (see ``_environ``), the
  ``Response`` goes to ``start_response`` with its status line and headers exactly as
  the core made them (``Content-Length`` set, HEAD bodies stripped, values checked),
  and the body is returned as a one-item list. Nothing here alters a header.
* ``wsgi.input`` is read for exactly ``App.body_size(headers)`` bytes, never past the
  declared ``Content-Length`` (PEP 3333 forbids it, and some servers would block).
* ``application`` builds its ``App`` from ``Config.from_env(os.environ)`` on the first
  request, once, under a lock (threaded servers call it concurrently), and closes it at
  interpreter exit so pending hits are written. Import alone does no I/O, so a server
  can import the module before the environment is complete.
* The adapter passes ``wsgiref.validate``; the test suite wraps every request in it.
"""

from __future__ import annotations

import atexit
import os
import threading
from collections.abc import Iterable
from typing import Any, Callable, Optional

from minilink.adapters._environ import request_from_environ
from minilink.core.app import App
from minilink.core.config import Config

__all__ = ["WSGIApp", "application", "create_app"]

StartResponse = Callable[..., Any]


class WSGIApp:
    """A WSGI callable serving one ``App``, given or built on first use by ``factory``."""

    def __init__(
        self, app: Optional[App] = None, *, factory: Optional[Callable[[], App]] = None
    ) -> None:
        if app is None and factory is None:
            raise TypeError("WSGIApp needs an app or a factory")
        self._app = app
        self._factory = factory
        self._lock = threading.Lock()

    @property
    def app(self) -> App:
        """The ``App``; built by the factory on first access, exactly once."""
        app = self._app
        if app is None:
            with self._lock:
                if self._app is None:
                    assert self._factory is not None
                    self._app = self._factory()
                    # A server exits without telling WSGI apps; close the app we built
                    # ourselves so that batched hits reach the store.
                    atexit.register(self.close)
                app = self._app
        return app

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
        return [response.body]

    def close(self) -> None:
        """Close an ``App`` built by the factory and forget it (a later call rebuilds).

        An ``App`` passed in by the caller is the caller's to close.
        """
        with self._lock:
            app, built = self._app, self._factory is not None
            if built:
                self._app = None
        if built and app is not None:
            atexit.unregister(self.close)
            app.close()


def create_app(config: Optional[Config] = None, *, app: Optional[App] = None) -> WSGIApp:
    """A WSGI callable for ``app``, or for a new ``App`` built now from ``config``
    (default: ``Config.from_env(os.environ)``).

    Building now means a bad configuration or an unreachable store raises here, at
    start-up, rather than on the first request. Raises ``ValueError`` for a bad config.
    """
    if app is not None:
        return WSGIApp(app)
    cfg = config if config is not None else Config.from_env(os.environ)
    wsgi_app = WSGIApp(factory=lambda: App.from_config(cfg))
    wsgi_app.app  # noqa: B018 - build it now, see above
    return wsgi_app


def _from_environment() -> App:
    return App.from_config(Config.from_env(os.environ))


#: The entry point for WSGI servers: ``minilink.adapters.wsgi:application``.
application = WSGIApp(factory=_from_environment)
