"""The machine's PostgreSQL server for tests: a database of their own, dropped after.

Tests never mock PostgreSQL. ``MINILINK_TEST_POSTGRES`` names a database to connect
to with the right to create databases (default: the ``postgres`` database on
127.0.0.1:5432 as the ``postgres`` role, trust authentication). When the server
cannot be reached the tests skip, except in CI (``CI`` set), where they fail: CI
starts the server in ``.ci/setup.d/10-postgres.sh``.
"""

from __future__ import annotations

import itertools
import os
import secrets
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Optional
from urllib.parse import urlsplit, urlunsplit

import pytest

ADMIN_URL = os.environ.get(
    "MINILINK_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"
)

_schemas = itertools.count()


def require_server() -> None:
    """Skip (fail in CI) when the PostgreSQL server does not answer."""
    import psycopg

    try:
        psycopg.connect(ADMIN_URL, connect_timeout=3).close()
    except psycopg.Error as exc:
        message = f"PostgreSQL at {ADMIN_URL} does not answer: {exc}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def database_url(name: str) -> str:
    """``ADMIN_URL`` with another database name."""
    parts = urlsplit(ADMIN_URL)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, ""))


@contextmanager
def temporary_database(purpose: str) -> Iterator[str]:
    """Create a database for this test run, yield its URL, drop it at the end."""
    import psycopg
    from psycopg import sql

    require_server()
    name = f"minilink_{purpose}_{os.getpid()}_{secrets.token_hex(3)}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield database_url(name)
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def new_schema(database: str) -> str:
    """Create an empty schema in ``database``; return a store URL that works in it."""
    import psycopg
    from psycopg import sql

    name = f"s{next(_schemas)}"
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(name)))
    return with_options(database, f"options=-csearch_path%3D{name}")


def with_options(url: str, options: str) -> str:
    return url + ("&" if "?" in url else "?") + options


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Proxy:
    """A TCP relay from a local port to PostgreSQL, to cut and restore the line.

    ``stop()`` closes the listening socket and every relayed connection (as a server
    restart would); ``start()`` listens again on the same port.
    """

    def __init__(self, target: tuple[str, int], port: Optional[int] = None) -> None:
        self.target = target
        self.port = port if port is not None else free_port()
        self._listener: Optional[socket.socket] = None
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        self._spawn(self._accept, listener)

    def stop(self) -> None:
        listener, self._listener = self._listener, None
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for sock in [listener, *sockets]:
            if sock is not None:
                with suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
        threads, self._threads = self._threads, []
        for thread in threads:
            thread.join(timeout=5)

    def _spawn(self, target: object, *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)  # type: ignore[arg-type]
        thread.start()
        self._threads.append(thread)

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # stopped
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._sockets += [client, upstream]
            self._spawn(self._pump, client, upstream)
            self._spawn(self._pump, upstream, client)

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
