"""Server adapters: the HTTP servers ``minilink serve --server NAME`` runs, looked up by name.

Theory of operation
-------------------
bottle's ``ServerAdapter`` idea: one small class per server, in the table ``SERVERS``
by name, each with ``run(app_factory, host, port, ...)`` that serves until the process
is told to stop (Ctrl-C or SIGTERM, which the caller turns into ``KeyboardInterrupt``)
and lets requests in flight finish. ``wsgiref`` is the standard library's; the others
are optional packages, imported only inside ``run()``, so this module imports none of
them and a missing one is a ``ServerNotInstalled`` naming the package to install.

``app_factory`` builds the app (WSGI or ASGI, as the adapter's ``interface`` says):
called once, in the serving process, except under gunicorn, whose workers each call
it after the fork. The adapter closes what it built when it stops, so the store is
closed and batched hits are written. ``ready(url)`` is called once the socket
listens, with the URL it listens on (the real port also for port 0).

Errors (all ``ServerError``, with one sentence):

* ``ServerNotInstalled``: the optional package is missing or cannot be imported;
* ``CannotListen``: the address cannot be bound (port taken, unknown host);
* ``ServerFailed``: the server stopped with an error of its own (see its log).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Optional

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

__all__ = [
    "AUTO_ORDER",
    "SERVERS",
    "CannotListen",
    "ServerAdapter",
    "ServerError",
    "ServerFailed",
    "ServerNotInstalled",
    "find_server",
]

#: Seconds the stdlib server waits for requests in flight before it closes the app.
DRAIN_SECONDS = 5.0


class ServerError(Exception):
    """A server could not run; the message is one sentence for the user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ServerNotInstalled(ServerError):
    """The optional server package is not installed (or cannot be imported)."""


class CannotListen(ServerError):
    """The server could not listen on the address it was given."""


class ServerFailed(ServerError):
    """The server ran and stopped with an error of its own."""


class ServerAdapter:
    """One HTTP server: ``run`` serves the app ``app_factory`` builds until stopped.

    Subclasses set ``name``, ``interface`` (``"wsgi"`` or ``"asgi"``: the app they
    serve) and ``package`` (what ``pip install`` needs, ``None`` for the standard
    library), and implement ``run``.
    """

    name: ClassVar[str] = ""
    interface: ClassVar[str] = "wsgi"
    package: ClassVar[Optional[str]] = None

    def run(
        self,
        app_factory: Callable[[], Any],
        host: str,
        port: int,
        *,
        quiet: bool = False,
        ready: Callable[[str], None] = lambda url: None,
    ) -> None:
        """Serve until ``KeyboardInterrupt`` (or the server's own stop signal).

        ``quiet`` turns the per-request log off. Raises ``ServerNotInstalled``,
        ``CannotListen`` or ``ServerFailed``.
        """
        raise NotImplementedError

    def installed(self) -> bool:
        """Whether the server's package can be found (without importing it)."""
        if self.package is None:
            return True
        from importlib.util import find_spec

        return find_spec(self.package) is not None

    def _import(self, module: Optional[str] = None) -> Any:
        """Import the server's package (or ``module`` of it) now that it is needed."""
        import importlib

        package = self.package or self.name
        try:
            return importlib.import_module(module or package)
        except ModuleNotFoundError as exc:
            if exc.name is not None and exc.name.split(".")[0] == package:
                raise ServerNotInstalled(
                    f"the {self.name} server is not installed; install it with "
                    f"'pip install {package}'"
                ) from None
            raise ServerNotInstalled(f"the {self.name} server cannot be loaded: {exc}") from None
        except ImportError as exc:
            raise ServerNotInstalled(f"the {self.name} server cannot be loaded: {exc}") from None


def url_of(host: str, port: int) -> str:
    """``http://host:port/``, with brackets around an IPv6 address."""
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


def _listening(host: str, port: int) -> AbstractContextManager[None]:
    """Turn a failure to listen (port taken, unknown host) into ``CannotListen``."""
    from contextlib import contextmanager

    @contextmanager
    def binding() -> Iterator[None]:
        try:
            yield
        except OSError as exc:
            address = url_of(host, port)[len("http://") : -1]
            reason = exc.strerror or str(exc)
            raise CannotListen(f"cannot listen on {address}: {reason}") from None

    return binding()


def _bound_socket(host: str, port: int) -> Any:
    """A listening socket, bound here so that the URL announced has the real port."""
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with _listening(host, port):
        return socket.create_server((host, port), family=family)


def _close(app: object) -> None:
    close = getattr(app, "close", None)
    if callable(close):
        close()


class WSGIRefServer(ServerAdapter):
    """The standard library's ``wsgiref``, one thread per request."""

    name = "wsgiref"

    def run(
        self,
        app_factory: Callable[[], Any],
        host: str,
        port: int,
        *,
        quiet: bool = False,
        ready: Callable[[str], None] = lambda url: None,
    ) -> None:
        import socket
        import socketserver
        import threading
        from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

        class Server(socketserver.ThreadingMixIn, WSGIServer):
            daemon_threads = True  # a stuck client must not keep the process alive
            address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
            busy = 0
            idle = threading.Condition()

            def server_bind(self) -> None:
                # HTTPServer.server_bind asks DNS for the host's full name, which can
                # take seconds; the adapter builds URLs from the Host header anyway.
                socketserver.TCPServer.server_bind(self)
                self.server_name = host
                self.server_port = self.server_address[1]
                self.setup_environ()

            def process_request(self, request: Any, client_address: Any) -> None:
                with self.idle:
                    self.busy += 1
                super().process_request(request, client_address)

            def process_request_thread(self, request: Any, client_address: Any) -> None:
                try:
                    super().process_request_thread(request, client_address)
                finally:
                    with self.idle:
                        self.busy -= 1
                        self.idle.notify_all()

            def drain(self, timeout: float) -> None:
                """Wait (at most ``timeout`` seconds) for the requests in flight."""
                with self.idle:
                    self.idle.wait_for(lambda: self.busy == 0, timeout)

            def handle_error(self, request: Any, client_address: Any) -> None:
                if isinstance(sys.exc_info()[1], ConnectionError):
                    return  # a client that hung up is not the server's problem
                super().handle_error(request, client_address)

        class Handler(WSGIRequestHandler):
            def get_environ(self) -> dict[str, Any]:
                # wsgiref keeps only the first of repeated header fields; every other
                # server joins them (RFC 9110 §5.3), and the core must see what they see.
                environ: dict[str, Any] = super().get_environ()
                for name in {key.lower() for key in self.headers}:
                    values = self.headers.get_all(name) or []
                    if len(values) < 2:
                        continue
                    key = name.upper().replace("-", "_")
                    if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                        key = "HTTP_" + key
                    joiner = "; " if name == "cookie" else ", "
                    environ[key] = joiner.join(v.strip() for v in values)
                return environ

            def log_message(self, format: str, *args: Any) -> None:
                # One line per request, without the client address: minilink keeps
                # nothing about visitors, and its log should not either.
                if not quiet:
                    sys.stderr.write(f"[{self.log_date_time_string()}] {format % args}\n")

        app = app_factory()
        try:
            with _listening(host, port):
                server = Server((host, port), Handler)
            try:
                server.set_app(app)
                ready(url_of(host, server.server_port))
                try:
                    server.serve_forever()
                finally:
                    server.server_close()  # stop accepting, let the requests in flight end
                    server.drain(DRAIN_SECONDS)
            except BaseException:
                server.server_close()
                raise
        finally:
            _close(app)


class WaitressServer(ServerAdapter):
    """waitress: a pure-Python threaded WSGI server."""

    name = "waitress"
    package = "waitress"

    def run(
        self,
        app_factory: Callable[[], Any],
        host: str,
        port: int,
        *,
        quiet: bool = False,
        ready: Callable[[str], None] = lambda url: None,
    ) -> None:
        waitress = self._import()
        app = app_factory()
        try:
            # Bound here, not by waitress: on a taken port waitress leaves its socket
            # unclosed (a ResourceWarning later), and this way the port is the real one.
            sock = _bound_socket(host, port)
            try:
                server = waitress.create_server(app, sockets=[sock])
            except BaseException:
                sock.close()
                raise
            try:
                ready(url_of(host, server.effective_port))
                server.run()
            finally:
                server.close()
        finally:
            _close(app)


class GunicornServer(ServerAdapter):
    """gunicorn's arbiter in this process (``GUNICORN_CMD_ARGS`` is honoured, e.g.
    ``--workers 4``); each worker builds its own app after the fork."""

    name = "gunicorn"
    package = "gunicorn"

    def run(
        self,
        app_factory: Callable[[], Any],
        host: str,
        port: int,
        *,
        quiet: bool = False,
        ready: Callable[[str], None] = lambda url: None,
    ) -> None:
        base_application: Any = self._import("gunicorn.app.base").BaseApplication

        def when_ready(server: Any) -> None:
            for listener in server.LISTENERS:
                ready(f"{listener}/")

        def worker_exit(server: Any, worker: Any) -> None:
            # Each worker builds its own app (and store connection) after the fork,
            # and closes it here so that pending hits are flushed.
            _close(getattr(worker, "wsgi", None))

        class Gunicorn(base_application):  # type: ignore[misc]
            def load_config(self) -> None:
                # GUNICORN_CMD_ARGS (e.g. "--workers 4") works as it does for gunicorn's
                # own command; host and port win over a --bind given there.
                parsed = self.cfg.parser().parse_args(self.cfg.get_cmd_args_from_env())
                for key, value in vars(parsed).items():
                    if value is not None and key in self.cfg.settings:
                        self.cfg.set(key, value)
                if "control_socket_disable" in self.cfg.settings:  # no stray socket in ~
                    self.cfg.set("control_socket_disable", True)
                self.cfg.set("bind", [f"[{host}]:{port}" if ":" in host else f"{host}:{port}"])
                self.cfg.set("when_ready", when_ready)
                self.cfg.set("worker_exit", worker_exit)
                if not quiet:
                    self.cfg.set("accesslog", "-")
                    self.cfg.set("access_log_format", '"%(r)s" %(s)s %(b)s')

            def load(self) -> Any:
                return app_factory()

        arbiter = os.getpid()
        try:
            Gunicorn().run()
        except SystemExit as exc:  # the arbiter ends with sys.exit, 0 after a clean stop
            if os.getpid() != arbiter:
                raise  # a forked worker leaving: let it exit the way gunicorn means it to
            if exc.code not in (0, None):
                raise ServerFailed(
                    f"gunicorn stopped with status {exc.code}; see its log above"
                ) from None


class UvicornServer(ServerAdapter):
    """uvicorn: an asyncio ASGI server."""

    name = "uvicorn"
    interface = "asgi"
    package = "uvicorn"

    def run(
        self,
        app_factory: Callable[[], Any],
        host: str,
        port: int,
        *,
        quiet: bool = False,
        ready: Callable[[str], None] = lambda url: None,
    ) -> None:
        uvicorn = self._import()
        app = app_factory()
        try:
            with _bound_socket(host, port) as sock:
                config = uvicorn.Config(
                    app, log_level="warning", access_log=not quiet, lifespan="auto"
                )
                ready(url_of(host, sock.getsockname()[1]))
                uvicorn.Server(config).run(sockets=[sock])
        finally:
            _close(app)


class HypercornServer(ServerAdapter):
    """hypercorn: an ASGI server (HTTP/1.1 and HTTP/2) on asyncio."""

    name = "hypercorn"
    interface = "asgi"
    package = "hypercorn"

    def run(
        self,
        app_factory: Callable[[], Any],
        host: str,
        port: int,
        *,
        quiet: bool = False,
        ready: Callable[[str], None] = lambda url: None,
    ) -> None:
        import asyncio
        import contextlib
        import signal
        import threading

        self._import()
        app: Any = None
        try:
            with _bound_socket(host, port) as sock:
                hypercorn_asyncio = self._import("hypercorn.asyncio")
                hypercorn_config = self._import("hypercorn.config")
                app = app_factory()
                config = hypercorn_config.Config()
                # hypercorn wraps a socket of its own around the descriptor and closes
                # it; a duplicate leaves ours to the with block.
                config.bind = [f"fd://{os.dup(sock.fileno())}"]
                config.loglevel = "WARNING"
                if not quiet:
                    config.accesslog = "-"
                    config.access_log_format = '"%(r)s" %(s)s %(b)s'

                async def serve() -> None:
                    stop = asyncio.Event()
                    if threading.current_thread() is threading.main_thread():
                        # Graceful on Ctrl-C and SIGTERM: stop accepting, let requests
                        # in flight end, run the lifespan shutdown.
                        loop = asyncio.get_running_loop()
                        for signum in (signal.SIGINT, signal.SIGTERM):
                            # Not on Windows, where Ctrl-C still stops it, less gently.
                            with contextlib.suppress(NotImplementedError):
                                loop.add_signal_handler(signum, stop.set)
                    await hypercorn_asyncio.serve(app, config, shutdown_trigger=stop.wait)

                ready(url_of(host, sock.getsockname()[1]))
                asyncio.run(serve())
        finally:
            _close(app)


#: The servers by name.
SERVERS: dict[str, ServerAdapter] = {
    server.name: server
    for server in (
        WSGIRefServer(),
        WaitressServer(),
        GunicornServer(),
        UvicornServer(),
        HypercornServer(),
    )
}

#: What ``auto`` tries, in order, before falling back to ``wsgiref``.
AUTO_ORDER = ("waitress", "gunicorn", "uvicorn", "hypercorn")


def find_server(name: str) -> ServerAdapter:
    """The adapter called ``name``, or for ``auto`` the first installed of
    ``AUTO_ORDER`` (else ``wsgiref``). Raises ``KeyError`` for an unknown name."""
    if name == "auto":
        for candidate in AUTO_ORDER:
            if SERVERS[candidate].installed():
                return SERVERS[candidate]
        return SERVERS["wsgiref"]
    return SERVERS[name]
