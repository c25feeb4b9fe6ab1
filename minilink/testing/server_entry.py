"""Deterministic entry points for real servers: WSGI, ASGI and CGI, driven by a state file.

Theory of operation
-------------------
The live-server suite runs the shared behavioural scenarios through real servers
(Apache, gunicorn, uvicorn ...) and compares every answer with the in-process one,
byte for byte. That needs the server's ``App`` to see the test's clock, random source
and configuration, so these entry points build it from a JSON state file named by
``MINILINK_TESTING_STATE`` (the variable ``cgi_entry`` reads)::

    {"now": "2026-11-28T13:00:00+00:00",
     "random": <random.Random.getstate()>,
     "env": {"MINILINK_STORE": "/tmp/x/case1.db", "MINILINK_ADMIN_TOKEN": "..."}}

``HTTPClient(..., state=path)`` writes the file before each request and reads the
random state back after it, as ``CGIClient`` does for its subprocesses:

* for each request the entry point reads the file, sets its clock to ``now`` and its
  random source to ``random``, serves the request through the real adapter
  (``minilink.adapters.wsgi``/``asgi``/``cgi``) and writes the advanced random state
  back *before* the answer leaves, so the client never reads a stale file;
* ``env`` (``MINILINK_*`` variables, laid over the process environment) configures
  the ``App``. A persistent server keeps one ``App`` while ``env`` stays the same,
  as a real deployment keeps its one ``App``, and closes it and opens the next when
  ``env`` changes (each scenario names a fresh store); ``MINILINK_TESTING_WRAP_STORE``
  in ``env`` wraps the store as in ``cgi_entry``;
* requests are served one at a time (a lock): the state file describes one request.

Entry points: ``wsgi_application`` and ``asgi_application`` (for servers, e.g.
``gunicorn minilink.testing.server_entry:wsgi_application``), ``cgi_main()`` (for a CGI
script; it also runs as ``python -m minilink.testing.server_entry``). They import only
the standard library and minilink, so Apache's system Python can run them, and each
imports its own adapter only (a CGI request pays for every import).
"""

from __future__ import annotations

import io
import json
import os
import random
import sys
import threading
from collections.abc import Iterable, Mapping, MutableMapping
from datetime import datetime
from typing import Any, Callable, NoReturn, Optional

from minilink.adapters import cgi
from minilink.core.app import App
from minilink.core.config import Config
from minilink.core.service import Shortener
from minilink.storage import open_store
from minilink.testing.cgi_entry import STATE_VAR, WRAP_VAR, _wrapper, rng_state_from_json

__all__ = ["Deterministic", "asgi_application", "cgi_main", "cgi_run", "wsgi_application"]


class Deterministic:
    """The ``App`` of one server process, with the clock and random state of the
    state file at ``path`` (default: ``$MINILINK_TESTING_STATE``, read when needed)."""

    def __init__(self, path: Optional[str] = None) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._now = datetime.now().astimezone()
        self._rng = random.Random()
        self._state: dict[str, Any] = {}
        self._key: Optional[str] = None
        self._app: Optional[App] = None
        self._adapters: dict[str, Any] = {}

    @property
    def path(self) -> str:
        return self._path if self._path is not None else os.environ[STATE_VAR]

    def begin(self) -> App:
        """Take the lock, load the state and return the ``App`` for its ``env``."""
        self._lock.acquire()
        try:
            with open(self.path, encoding="utf-8") as f:
                self._state = json.load(f)
            self._now = datetime.fromisoformat(self._state["now"])
            self._rng.setstate(rng_state_from_json(self._state["random"]))
            env: dict[str, str] = dict(self._state.get("env") or {})
            key = json.dumps(env, sort_keys=True)
            if key != self._key or self._app is None:
                self._close_app()
                self._app = self._build({**os.environ, **env})
                self._key = key
            return self._app
        except BaseException:
            self._lock.release()
            raise

    def end(self) -> None:
        """Write the advanced random state back and release the lock."""
        try:
            self._state["random"] = self._rng.getstate()
            # Whole or not at all: a server that answered the client itself (a request
            # it refused) may leave the client reading while this is written.
            temporary = f"{self.path}.{os.getpid()}.tmp"
            with open(temporary, "w", encoding="utf-8") as f:
                json.dump(self._state, f)
            os.replace(temporary, self.path)
        finally:
            self._lock.release()

    def close(self) -> None:
        """Close the current ``App`` (and its store)."""
        with self._lock:
            self._close_app()

    def adapter(self, protocol: str) -> Any:
        """The ``wsgi`` or ``asgi`` adapter around the current ``App`` (between
        ``begin`` and ``end``), built once per ``App``."""
        adapter = self._adapters.get(protocol)
        if adapter is None:
            if protocol == "wsgi":
                from minilink.adapters.wsgi import create_app
            else:
                from minilink.adapters.asgi import create_app  # type: ignore[assignment]
            adapter = self._adapters[protocol] = create_app(app=self._app)
        return adapter

    def _build(self, environ: Mapping[str, str]) -> App:
        config = Config.from_env(environ)
        store = open_store(config.store)
        wrap = environ.get(WRAP_VAR)
        if wrap:
            store = _wrapper(wrap)(store)
        shortener = Shortener(store, config, clock=self._clock, randbelow=self._rng.randrange)
        return App(shortener, config)

    def _clock(self) -> datetime:
        return self._now

    def _close_app(self) -> None:
        app, self._app, self._key = self._app, None, None
        adapters, self._adapters = self._adapters, {}
        for adapter in adapters.values():
            adapter.close()  # its own resources; the App is closed below
        if app is not None:
            app.close()


_SERVED = Deterministic()


def wsgi_application(
    environ: dict[str, Any], start_response: Callable[..., Any]
) -> Iterable[bytes]:
    """The WSGI adapter around the deterministic ``App``."""
    _SERVED.begin()
    try:
        # The adapter computes the whole body before it returns, so the state is
        # saved before the server sends anything.
        return _SERVED.adapter("wsgi")(environ, start_response)  # type: ignore[no-any-return]
    finally:
        _SERVED.end()


async def asgi_application(
    scope: MutableMapping[str, Any],
    receive: Callable[[], Any],
    send: Callable[[MutableMapping[str, Any]], Any],
) -> None:
    """The ASGI adapter around the deterministic ``App``; lifespan closes it."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                _SERVED.close()
                await send({"type": "lifespan.shutdown.complete"})
                return
    _SERVED.begin()
    ended = False

    async def sending(message: MutableMapping[str, Any]) -> None:
        nonlocal ended
        if not ended:  # save the state before the answer leaves
            ended = True
            _SERVED.end()
        await send(message)

    try:
        await _SERVED.adapter("asgi")(scope, receive, sending)
    finally:
        if not ended:
            _SERVED.end()


def cgi_main() -> int:
    """Serve one CGI request (``minilink.adapters.cgi.main``) deterministically."""
    served = Deterministic()
    app = served.begin()
    out = io.BytesIO()
    try:
        status = cgi.main(app, stdout=out)
    finally:
        served.end()  # before the answer is written: the client reads the state next
        app.close()
    sys.stdout.buffer.write(out.getvalue())
    sys.stdout.buffer.flush()
    return status


def cgi_run() -> NoReturn:
    """``cgi_main`` where a script calls ``minilink.adapters.cgi.run``."""
    sys.exit(cgi_main())


if __name__ == "__main__":
    cgi_run()
