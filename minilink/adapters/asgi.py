"""The ASGI 3 adapter: ``application`` for servers, ``create_app`` for code.

Rules (asgiref ``specs/www.rst`` and ``specs/lifespan.rst``):

* ``http`` scopes are translated into a ``Request``: ``path`` is already decoded text
  (servers replace invalid UTF-8 with U+FFFD); ``root_path`` is the mount prefix, and is
  stripped from the start of ``path`` when present (the current spec and uvicorn put
  it there; older servers did not, so its absence is tolerated). The query string is
  the latin-1 text of its bytes; header names are lower-cased and duplicates joined
  with ``", "`` (``cookie`` with ``"; "``), as WSGI servers join them.
* The body is received until ``App.body_size(headers)`` bytes have arrived or the
  client says there is no more; reading stops once there is enough.
* The ``Response`` is sent as ``http.response.start`` (int status, lower-cased byte
  header names, the only change: ASGI requires it) and one ``http.response.body``
  (a streamed download: one per piece, see ``minilink.core.http``).
* Importing the module checks ``MINILINK_*`` and the store URL, and ends the process
  with one sentence on stderr if they are bad (see ``_lazy``), so the server never
  starts; ``create_app`` raises ``ValueError`` instead.
* ``lifespan``: start-up builds the ``App`` (so a store that cannot be opened fails the
  server's start with the message), shutdown closes it (an ``App`` passed in by the
  caller is the caller's to close). Without lifespan the ``App`` is built on
  the first request. Other scope types (``websocket``) raise, as the spec asks.
* The event loop never waits on the network. ``App.handle`` is called inline when the
  store answers in process (memory, SQLite: a primary-key lookup is ~10 µs, far less
  than a thread hop costs). When the store says it is ``blocking`` (PostgreSQL), the
  call runs in a bounded thread pool owned by this adapter (``THREADS`` threads,
  the PostgreSQL pool's default size, started on first use and shut down by
  ``close()``), and the loop serves other requests meanwhile. This was chosen over an
  async store because the core is synchronous by design (one ``handle`` for CGI, WSGI
  and ASGI): a thread per call in flight keeps one core and one store interface, and
  the slow part, the database round trip, releases the GIL.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterable, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Optional

from minilink.adapters._lazy import LazyApp, entry_point
from minilink.core.app import App
from minilink.core.config import Config
from minilink.core.http import Request, Response

__all__ = ["THREADS", "ASGIApp", "application", "create_app"]

#: Threads that run ``App.handle`` for a blocking store (requests in flight beyond
#: this wait for a free thread, not the event loop).
THREADS = 10

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


#: Bodiless answers whose encoded headers are kept (all dropped when it is full).
_ENCODED_KEPT = 1024


class ASGIApp(LazyApp):
    """An ASGI 3 application serving one ``App``, given or built by ``factory``."""

    _threads: Optional[ThreadPoolExecutor] = None

    def __init__(
        self, app: Optional[App] = None, *, factory: Optional[Callable[[], App]] = None
    ) -> None:
        super().__init__(app, factory=factory)
        # id(response) -> (response, its ASGI headers)
        self._headers_of: dict[int, tuple[Response, tuple[tuple[bytes, bytes], ...]]] = {}

    def close(self) -> None:
        """Close a built ``App`` (see ``LazyApp.close``) and stop the worker threads."""
        with self._lock:
            threads, self._threads = self._threads, None
        if threads is not None:
            threads.shutdown(wait=True)
        super().close()

    def _executor(self) -> ThreadPoolExecutor:
        threads = self._threads
        if threads is None:
            with self._lock:
                if self._threads is None:
                    self._threads = ThreadPoolExecutor(THREADS, thread_name_prefix="minilink")
                threads = self._threads
        return threads

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        else:
            raise ValueError(f"minilink serves HTTP only, not {scope['type']!r}")

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    self.app  # noqa: B018 - build it now, so errors stop the start
                except Exception as exc:  # the server shows the message and stops
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        app = self.app
        headers: dict[str, str] = {}
        for raw_name, raw_value in scope.get("headers") or ():
            name = raw_name.decode("latin-1").lower()
            value = raw_value.decode("latin-1")
            if name in headers:
                value = headers[name] + ("; " if name == "cookie" else ", ") + value
            headers[name] = value
        size = app.body_size(headers)
        chunks: list[bytes] = []
        received = 0
        while received < size:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # nobody is left to answer
            chunk = message.get("body", b"")
            chunks.append(chunk)
            received += len(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)[:size] if chunks else b""
        root = scope.get("root_path") or ""
        path = scope.get("path") or ""
        if root and (path == root or path.startswith(root + "/")):
            path = path[len(root) :]
        server = scope.get("server")
        client = scope.get("client")
        request = Request(
            method=scope.get("method") or "GET",
            path=path,
            query=(scope.get("query_string") or b"").decode("latin-1"),
            headers=headers,
            body=body,
            root=root.rstrip("/"),
            scheme=scope.get("scheme") or "http",
            # A unix socket server is ``[path, None]``: no host name to fall back on.
            server=(server[0], int(server[1])) if server and server[1] is not None else None,
            client=(client[0] or None) if client else None,
        )
        if app.shortener.store.blocking:
            loop = asyncio.get_running_loop()
            response = await loop.run_in_executor(self._executor(), app.handle, request)
        else:
            response = app.handle(request)
        await send(
            {
                "type": "http.response.start",
                "status": response.status,
                "headers": list(self._encoded_headers(response)),  # a list of its own
            }
        )
        if response.stream is not None:
            await self._stream(response.stream, send)
            return
        await send({"type": "http.response.body", "body": response.body})

    async def _stream(self, stream: Iterable[bytes], send: Send) -> None:
        """Send a download piece by piece, each read in the store's thread when the
        store blocks (the pieces are its pages)."""
        pieces = iter(stream)
        blocking = self.app.shortener.store.blocking
        loop = asyncio.get_running_loop()
        while True:
            if blocking:
                piece = await loop.run_in_executor(self._executor(), next, pieces, None)
            else:
                piece = next(pieces, None)
            if piece is None:
                break
            await send({"type": "http.response.body", "body": piece, "more_body": True})
        await send({"type": "http.response.body", "body": b""})

    def _encoded_headers(self, response: Response) -> tuple[tuple[bytes, bytes], ...]:
        """The headers as ASGI wants them: lower-case byte names, byte values.

        Remembered for a bodiless answer (a redirect: the core hands out the same
        ``Response`` for every visit of a hot link), keyed by identity and holding the
        response, so an entry can never be taken for another answer's.
        """
        entry = self._headers_of.get(id(response))
        if entry is not None and entry[0] is response:
            return entry[1]
        encoded = tuple(
            (name.lower().encode("latin-1"), value.encode("latin-1"))
            for name, value in response.headers
        )
        if not response.body:
            if len(self._headers_of) >= _ENCODED_KEPT:
                self._headers_of.clear()
            self._headers_of[id(response)] = (response, encoded)
        return encoded


def create_app(config: Optional[Config] = None, *, app: Optional[App] = None) -> ASGIApp:
    """An ASGI application for ``app``, or for a new ``App`` built now from ``config``
    (default: ``Config.from_env(os.environ)``). Raises ``ValueError`` for a bad config."""
    if app is not None:
        return ASGIApp(app)
    return ASGIApp.built(config)


#: The entry point for ASGI servers: ``minilink.adapters.asgi:application``.
application = entry_point(ASGIApp)
