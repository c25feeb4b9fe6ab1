"""One client interface over every adapter, for the shared behavioural suite.

Theory of operation
-------------------
A test is written once against ``Client.request(method, target, ...)`` and run through
each adapter; its answers must be byte-identical (SPEC §3). Each client plays the part
of a real server for its protocol:

* ``WSGIClient`` calls the WSGI adapter in process, always through
  ``wsgiref.validate.validator``, with an environ as wsgiref/gunicorn build it:
  ``PATH_INFO`` is the percent-decoded path as latin-1 text of its bytes,
  ``SCRIPT_NAME`` the mount root, ``QUERY_STRING`` raw. The validator also checks the
  *server's* side and rejects an invalid ``CONTENT_LENGTH`` or an unknown method, which
  real servers may still pass on; for those requests only the response side is
  validated and the target is recorded in ``skipped_validation``.
* ``ASGIClient`` drives the ASGI adapter with ``asyncio``, with a scope as uvicorn
  builds it (``path`` percent-decoded as UTF-8 with U+FFFD for invalid bytes, including
  ``root_path`` unless ``path_includes_root=False``), and sends the body in two chunks
  so that ``more_body`` is exercised.
* ``CGIClient`` runs a real subprocess per request (``python -m
  minilink.testing.cgi_entry``) with an RFC 3875 environment given as bytes, so that
  non-UTF-8 bytes survive: ``PATH_INFO`` is left out when empty (as Apache does),
  ``CONTENT_TYPE``/``CONTENT_LENGTH`` appear only when sent, the body is on stdin, and
  stdout is parsed (no ``Status`` but a ``Location`` means 302, RFC 3875 §6.3.3).

``target`` is a raw request-target such as ``/abc?x=1``; it may hold percent-escapes
and non-ASCII text, which is sent as its UTF-8 bytes (as browsers do in a query).
Unless given, a ``Host: testserver`` header is added, and ``Content-Length`` for a
non-empty body; pass ``host=None`` to send no ``Host``, or an explicit
``Content-Length`` header (even an invalid one) to send exactly that. Duplicate
headers (a list of pairs) are joined with ``", "`` (``Cookie`` with ``"; "``) the way
WSGI servers join them. Server name and port are ``testserver`` and 80 (443 with
``scheme="https"``); the peer is ``127.0.0.1`` unless ``remote_addr`` says otherwise
(``None``: unknown).

* ``HTTPClient`` sends each request over a new connection to a real server at
  ``base_url`` (``http://127.0.0.1:8000`` or, for a server mounted under a prefix,
  ``http://127.0.0.1:8000/s``), with ``http.client``: one raw request per call, the
  target's bytes as given (below ``root``, moved under ``base_url``'s path), the
  headers exactly as given, no redirect followed; the answer's header names are
  lower-cased and nothing else is touched. A body shorter than its Content-Length is
  followed by a half-close, so that the server sees the end of the request rather
  than waiting for more. A plain loopback connection cannot carry
  ``scheme="https"``, a missing ``Host`` or another peer address: those raise
  ``NotOverHTTP``. With ``state=``, it drives a server running
  ``minilink.testing.server_entry`` deterministically (see there).

Determinism: every client has a ``FakeClock`` (``client.clock.advance(seconds)``) and a
``random.Random(seed)`` feeding the ``Shortener``'s ``randbelow``; the CGI client
carries both across its subprocesses in a state file. ``make_clients`` builds one
client per adapter, each with its own fresh SQLite file, the same seed and start time.

``Result`` is the answer: ``status``, ``headers`` (lower-case names, in order) and
``body``, with ``header(name)``, ``json()`` and ``text``. ``client.history`` keeps every
request and its result, the transcript the suite compares across adapters;
``client.body_read`` is how many body bytes the adapter consumed on the last request
(``None`` where it cannot be observed, in CGI).
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import io
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import wsgiref.validate
from collections.abc import Iterable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Optional, Union
from urllib.parse import unquote_to_bytes, urlsplit

from minilink.adapters.asgi import create_app as create_asgi
from minilink.adapters.wsgi import create_app as create_wsgi
from minilink.core.app import App
from minilink.core.config import Config
from minilink.core.service import Shortener
from minilink.storage import open_store
from minilink.storage.base import Store
from minilink.testing.cgi_entry import STATE_VAR, WRAP_VAR, rng_state_from_json

__all__ = [
    "SEED",
    "START",
    "ASGIClient",
    "CGIClient",
    "Client",
    "FakeClock",
    "HTTPClient",
    "NotOverHTTP",
    "Result",
    "WSGIClient",
    "make_clients",
]

#: When every client's clock starts, and the seed of every client's random source.
START = datetime(2026, 11, 28, 13, 0, tzinfo=timezone.utc)
SEED = 20261128

Headers = Union[Mapping[str, str], Sequence[tuple[str, str]], None]
WSGICallable = Callable[[dict, Callable[..., Any]], Iterable[bytes]]  # type: ignore[type-arg]
ASGICallable = Callable[..., Any]
StoreWrapper = Callable[[Store], Store]

_WSGI_METHODS = ("GET", "HEAD", "POST", "OPTIONS", "PATCH", "PUT", "DELETE", "TRACE")


class FakeClock:
    """A clock tests move by hand: call it for ``now``, ``advance`` it by seconds."""

    def __init__(self, start: datetime = START) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass(frozen=True)
class Result:
    """One answer: status, headers (lower-case names, in order) and body bytes."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def header(self, name: str) -> Optional[str]:
        """The first value of header ``name`` (any case), or ``None``."""
        name = name.lower()
        return next((v for k, v in self.headers if k == name), None)

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")


@dataclass(frozen=True)
class _Wire:
    """A request as it arrived on the connection, parsed the way servers parse it."""

    method: str
    target: bytes
    raw_path: bytes  # below the root, still percent-encoded
    script_name: bytes  # the mount root, decoded
    path_info: bytes  # below the root, percent-decoded
    query: bytes
    headers: tuple[tuple[str, str], ...]  # names as sent, values as latin-1 text
    body: bytes
    scheme: str
    remote_addr: Optional[str]

    @property
    def port(self) -> int:
        return 443 if self.scheme == "https" else 80

    def environ_headers(self) -> dict[str, str]:
        """Headers as CGI/WSGI variables (``HTTP_X_FOO``), duplicates joined."""
        out: dict[str, str] = {}
        for name, value in self.headers:
            key = name.upper().replace("-", "_")
            if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                key = "HTTP_" + key
            if key in out:
                value = out[key] + ("; " if key == "HTTP_COOKIE" else ", ") + value
            out[key] = value
        return out

    def cgi_environ(self) -> dict[bytes, bytes]:
        """The CGI meta-variables a server such as Apache sets for this request
        (RFC 3875 §4.1), as bytes."""
        env: dict[bytes, bytes] = {
            b"GATEWAY_INTERFACE": b"CGI/1.1",
            b"SERVER_PROTOCOL": b"HTTP/1.1",
            b"SERVER_SOFTWARE": b"minilink-testing",
            b"REQUEST_METHOD": self.method.encode("latin-1"),
            b"REQUEST_URI": self.target,
            b"SCRIPT_NAME": self.script_name,
            b"QUERY_STRING": self.query,
            b"SERVER_NAME": b"testserver",
            b"SERVER_PORT": str(self.port).encode(),
        }
        if self.path_info:  # Apache leaves PATH_INFO out when it is empty
            env[b"PATH_INFO"] = self.path_info
        if self.scheme == "https":
            env[b"HTTPS"] = b"on"
        if self.remote_addr is not None:
            env[b"REMOTE_ADDR"] = self.remote_addr.encode("latin-1")
        for key, value in self.environ_headers().items():
            env[key.encode("latin-1")] = value.encode("latin-1")
        return env


class Client:
    """Base of the adapter clients; subclasses implement ``_send``."""

    def __init__(self, *, root: str = "", clock: Optional[FakeClock] = None) -> None:
        self.root = root.rstrip("/")
        self.clock = clock if clock is not None else FakeClock()
        self.body_read: Optional[int] = None
        #: Every request sent (``"METHOD target"``) with its ``Result``, in order.
        self.history: list[tuple[str, Result]] = []
        self._closers: list[Callable[[], None]] = []

    name = "client"

    def request(
        self,
        method: str,
        target: str,
        *,
        headers: Headers = None,
        body: bytes = b"",
        host: Optional[str] = "testserver",
        scheme: str = "http",
        remote_addr: Optional[str] = "127.0.0.1",
    ) -> Result:
        """Send one request; see the module docstring for what is added and how."""
        pairs = list(headers.items() if isinstance(headers, Mapping) else headers or ())
        names = {n.lower() for n, _ in pairs}
        if host is not None and "host" not in names:
            pairs.insert(0, ("Host", host))
        if body and "content-length" not in names:
            pairs.append(("Content-Length", str(len(body))))
        raw = target.encode("utf-8")
        raw_path, _, query = raw.partition(b"?")
        path = unquote_to_bytes(raw_path)
        root = self.root.encode("utf-8")
        if root and not (path == root or path.startswith(root + b"/")):
            raise ValueError(f"{target!r} is not below the mount point {self.root!r}")
        wire = _Wire(
            method=method,
            target=raw,
            raw_path=raw_path[len(root) :] if raw_path.startswith(root) else raw_path,
            script_name=root,
            path_info=path[len(root) :],
            query=query,
            headers=tuple(pairs),
            body=body,
            scheme=scheme,
            remote_addr=remote_addr,
        )
        self.body_read = None
        result = self._send(wire)
        self.history.append((f"{method} {target}", result))
        return result

    def get(self, target: str, **kwargs: Any) -> Result:
        return self.request("GET", target, **kwargs)

    def head(self, target: str, **kwargs: Any) -> Result:
        return self.request("HEAD", target, **kwargs)

    def delete(self, target: str, **kwargs: Any) -> Result:
        return self.request("DELETE", target, **kwargs)

    def post_json(
        self, target: str, data: Any, *, headers: Headers = None, **kwargs: Any
    ) -> Result:
        """POST ``data`` as JSON with ``Content-Type: application/json``."""
        pairs = list(headers.items() if isinstance(headers, Mapping) else headers or ())
        pairs.insert(0, ("Content-Type", "application/json"))
        body = json.dumps(data).encode("utf-8")
        return self.request("POST", target, headers=pairs, body=body, **kwargs)

    def _send(self, wire: _Wire) -> Result:
        raise NotImplementedError

    def close(self) -> None:
        """Close what the client owns (apps, stores); idempotent."""
        while self._closers:
            self._closers.pop()()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _CountingInput(io.BytesIO):
    """``wsgi.input`` that remembers how many bytes the app read."""

    consumed = 0

    def read(self, size: Optional[int] = -1) -> bytes:
        data = super().read(size)
        self.consumed += len(data)
        return data


class WSGIClient(Client):
    """Calls a WSGI app (or the WSGI adapter around an ``App``) in process."""

    name = "wsgi"

    def __init__(
        self,
        app: Union[App, WSGICallable],
        *,
        root: str = "",
        clock: Optional[FakeClock] = None,
    ) -> None:
        super().__init__(root=root, clock=clock)
        self.app: WSGICallable = create_wsgi(app=app) if isinstance(app, App) else app
        self.skipped_validation: list[str] = []

    def _send(self, wire: _Wire) -> Result:
        stream = _CountingInput(wire.body)
        environ: dict[str, Any] = {
            "REQUEST_METHOD": wire.method,
            "SCRIPT_NAME": wire.script_name.decode("latin-1"),
            "PATH_INFO": wire.path_info.decode("latin-1"),
            "QUERY_STRING": wire.query.decode("latin-1"),
            "SERVER_NAME": "testserver",
            "SERVER_PORT": str(wire.port),
            "SERVER_PROTOCOL": "HTTP/1.1",
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": wire.scheme,
            "wsgi.input": stream,
            "wsgi.errors": io.StringIO(),
            "wsgi.multithread": False,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }
        if wire.remote_addr is not None:
            environ["REMOTE_ADDR"] = wire.remote_addr
        environ.update(wire.environ_headers())
        app = self.app
        length = environ.get("CONTENT_LENGTH", "0")
        if length.isdigit() and wire.method in _WSGI_METHODS:
            app = wsgiref.validate.validator(app)
        else:
            self.skipped_validation.append(wire.method + " " + wire.target.decode("latin-1"))
            app = _response_validator(app)
        captured: list[Any] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc: Any = None) -> Any:
            captured[:] = [status, headers]
            return lambda data: None

        iterable = app(environ, start_response)
        try:
            body = b"".join(iterable)
        finally:
            close = getattr(iterable, "close", None)
            if close is not None:
                close()
        self.body_read = stream.consumed
        status, headers = captured
        return Result(
            int(status.split(" ", 1)[0]),
            tuple((k.lower(), v) for k, v in headers),
            body,
        )


def _response_validator(app: WSGICallable) -> WSGICallable:
    """The response-side checks of ``wsgiref.validate``, for requests whose environ
    the full validator rejects before the app runs."""
    v: Any = wsgiref.validate

    def checked(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        def checking_start_response(status: str, headers: Any, *exc: Any) -> Any:
            v.check_status(status)
            v.check_headers(headers)
            v.check_content_type(status, headers)
            return start_response(status, headers, *exc)

        result: Any = app(environ, checking_start_response)
        assert not isinstance(result, (str, bytes)), "a WSGI app must return an iterable"
        return result  # type: ignore[no-any-return]

    return checked


class ASGIClient(Client):
    """Drives an ASGI app (or the ASGI adapter around an ``App``) with ``asyncio``."""

    name = "asgi"

    def __init__(
        self,
        app: Union[App, ASGICallable],
        *,
        root: str = "",
        path_includes_root: bool = True,
        clock: Optional[FakeClock] = None,
    ) -> None:
        super().__init__(root=root, clock=clock)
        self.app: ASGICallable = create_asgi(app=app) if isinstance(app, App) else app
        self.path_includes_root = path_includes_root

    def _send(self, wire: _Wire) -> Result:
        return asyncio.run(self._run(wire))

    async def _run(self, wire: _Wire) -> Result:
        path = wire.path_info
        raw_path = wire.raw_path
        if self.path_includes_root:
            path = wire.script_name + path
            raw_path = wire.script_name + raw_path
        scope: dict[str, Any] = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": wire.method,
            "scheme": wire.scheme,
            "path": path.decode("utf-8", "replace"),
            "raw_path": raw_path,
            "root_path": wire.script_name.decode("utf-8", "replace"),
            "query_string": wire.query,
            "headers": [
                (n.lower().encode("latin-1"), v.encode("latin-1")) for n, v in wire.headers
            ],
            "server": ("testserver", wire.port),
            "client": (wire.remote_addr, 12345) if wire.remote_addr is not None else None,
            "state": {},
        }
        body = wire.body
        length = dict((n.lower(), v) for n, v in wire.headers).get("content-length", "")
        if length.isdigit():
            body = body[: int(length)]  # a server frames the body by Content-Length
        half = len(body) // 2
        chunks = [body[:half], body[half:]] if half else [body]
        incoming: list[MutableMapping[str, Any]] = [
            {"type": "http.request", "body": c, "more_body": i < len(chunks) - 1}
            for i, c in enumerate(chunks)
        ]
        consumed = 0
        sent: list[MutableMapping[str, Any]] = []

        async def receive() -> MutableMapping[str, Any]:
            nonlocal consumed
            if not incoming:
                # A server blocks here until the client leaves; asking again after the
                # last chunk is the app's mistake, and "disconnect" makes it visible.
                return {"type": "http.disconnect"}
            message = incoming.pop(0)
            consumed += len(message["body"])
            return message

        async def send(message: MutableMapping[str, Any]) -> None:
            sent.append(dict(message))

        await self.app(scope, receive, send)
        self.body_read = consumed
        assert sent, "the ASGI app sent nothing"
        start, rest = sent[0], sent[1:]
        assert start["type"] == "http.response.start", start
        assert isinstance(start["status"], int), start
        headers = []
        for name, value in start.get("headers", []):
            assert isinstance(name, bytes), name
            assert isinstance(value, bytes), value
            assert name == name.lower(), f"ASGI header names must be lower-case: {name!r}"
            headers.append((name.decode("latin-1"), value.decode("latin-1")))
        assert rest, "no http.response.body"
        for message in rest[:-1]:
            assert message["type"] == "http.response.body"
            assert message.get("more_body")
        assert rest[-1]["type"] == "http.response.body"
        assert not rest[-1].get("more_body")
        body = b"".join(m.get("body", b"") for m in rest)
        return Result(start["status"], tuple(headers), body)


class CGIClient(Client):
    """Runs ``python -m minilink.testing.cgi_entry`` once per request, like a web
    server running a CGI script, with ``MINILINK_*`` from ``env`` and the store at
    ``store_url``. ``wrap_store`` (a module-level callable) wraps the opened store in
    the subprocess; its module must be importable from its own file's directory."""

    name = "cgi"

    def __init__(
        self,
        store_url: str,
        *,
        env: Mapping[str, str],
        root: str = "",
        clock: Optional[FakeClock] = None,
        seed: int = SEED,
        wrap_store: Optional[StoreWrapper] = None,
    ) -> None:
        super().__init__(root=root, clock=clock)
        self.rng = random.Random(seed)
        self.last_stderr = b""
        self._dir = tempfile.TemporaryDirectory(prefix="minilink-cgi-")
        self._closers.append(self._dir.cleanup)
        self._state = Path(self._dir.name) / "state.json"
        package_root = Path(__file__).resolve().parents[2]
        paths = [str(package_root)]
        self._env: dict[bytes, bytes] = {
            os.fsencode(k): os.fsencode(v) for k, v in env.items() if k.startswith("MINILINK_")
        }
        if wrap_store is not None:
            module = sys.modules[wrap_store.__module__]
            folder = Path(str(module.__file__)).resolve().parent
            for _ in range(wrap_store.__module__.count(".")):
                folder = folder.parent
            paths.append(str(folder))
            spec = f"{wrap_store.__module__}:{wrap_store.__qualname__}"
            self._env[WRAP_VAR.encode()] = spec.encode()
        self._env.update(
            {
                b"MINILINK_STORE": os.fsencode(store_url),
                STATE_VAR.encode(): os.fsencode(str(self._state)),
                b"PYTHONPATH": os.fsencode(os.pathsep.join(paths)),
            }
        )
        if "SYSTEMROOT" in os.environ:  # Windows cannot start Python without it
            self._env[b"SYSTEMROOT"] = os.fsencode(os.environ["SYSTEMROOT"])

    def _send(self, wire: _Wire) -> Result:
        env = {**self._env, **wire.cgi_environ()}
        state = {"now": self.clock.now.isoformat(), "random": self.rng.getstate()}
        self._state.write_text(json.dumps(state), encoding="utf-8")
        proc = subprocess.run(
            [sys.executable, "-m", "minilink.testing.cgi_entry"],
            input=wire.body,
            env=env,
            capture_output=True,
            timeout=60,
            check=False,
            cwd=self._dir.name,
        )
        self.last_stderr = proc.stderr
        if proc.returncode != 0:
            raise AssertionError(
                f"CGI script exited with {proc.returncode}:\n{proc.stderr.decode(errors='replace')}"
            )
        saved = json.loads(self._state.read_text(encoding="utf-8"))
        self.rng.setstate(rng_state_from_json(saved["random"]))
        return _parse_cgi(proc.stdout)


class NotOverHTTP(ValueError):
    """A request that a plain HTTP connection from this machine cannot carry."""


class _RawConnection(http.client.HTTPConnection):
    """Sends the request line as the bytes it was given (``http.client`` insists on
    ASCII; a browser sends a raw UTF-8 query, and the suite does too)."""

    def _encode_request(self, request: str) -> bytes:
        return request.encode("latin-1")


class HTTPClient(Client):
    """Sends each request to a real server at ``base_url``, over a new connection.

    ``root`` is the mount prefix the scenario's targets carry; the part of a target
    below it goes under ``base_url``'s path (so a server behind a proxy that strips
    the prefix is reached with ``base_url`` at the server's own root). ``state`` is
    the state file of a server running ``minilink.testing.server_entry``: before each
    request the client writes its clock, its random state and ``env`` there, and reads
    the random state back after the answer. ``timeout`` bounds every socket operation.
    """

    name = "http"

    def __init__(
        self,
        base_url: str,
        *,
        root: str = "",
        clock: Optional[FakeClock] = None,
        state: Union[str, os.PathLike[str], None] = None,
        env: Optional[Mapping[str, str]] = None,
        seed: int = SEED,
        timeout: float = 30.0,
    ) -> None:
        super().__init__(root=root, clock=clock)
        parts = urlsplit(base_url)
        if parts.scheme != "http" or not parts.hostname or parts.query or parts.fragment:
            raise ValueError(f"base_url must be http://host[:port][/path], not {base_url!r}")
        self.host = parts.hostname
        self.port = parts.port or 80
        self.base_path = parts.path.rstrip("/").encode("ascii")
        self.state = Path(state) if state is not None else None
        self.env = dict(env or {})
        self.rng = random.Random(seed)
        self.timeout = timeout

    def _send(self, wire: _Wire) -> Result:
        if wire.scheme != "http":
            raise NotOverHTTP(f"a plain connection cannot carry scheme={wire.scheme!r}")
        if wire.remote_addr != "127.0.0.1":
            raise NotOverHTTP(f"the peer address is 127.0.0.1, not {wire.remote_addr!r}")
        if not any(name.lower() == "host" for name, _ in wire.headers):
            raise NotOverHTTP("HTTP/1.1 needs a Host header")
        root = self.root.encode("utf-8")
        target = wire.target
        if root and target.startswith(root):
            target = target[len(root) :]
        if not target.startswith(b"/"):
            target = b"/" + target  # "/s?x" below the root "/s" is "/?x"
        if self.state is not None:
            state = {
                "now": self.clock.now.isoformat(),
                "random": self.rng.getstate(),
                "env": self.env,
            }
            self.state.write_text(json.dumps(state), encoding="utf-8")
        connection = _RawConnection(self.host, self.port, timeout=self.timeout)
        try:
            connection.putrequest(
                wire.method,
                (self.base_path + target).decode("latin-1"),
                skip_host=True,
                skip_accept_encoding=True,
            )
            for name, value in wire.headers:
                connection.putheader(name, value.encode("latin-1"))
            connection.endheaders(wire.body or None)
            if _declared_length(wire.headers) > len(wire.body) and connection.sock is not None:
                # A body shorter than its Content-Length: the client has nothing more to
                # send, and says so (a server would otherwise wait for the rest).
                with contextlib.suppress(OSError):  # unless the server has hung up already
                    connection.sock.shutdown(socket.SHUT_WR)
            response = connection.getresponse()
            body = response.read()
            headers = tuple((k.lower(), v) for k, v in response.getheaders())
            result = Result(response.status, headers, body)
        finally:
            connection.close()
        if self.state is not None:
            saved = json.loads(self.state.read_text(encoding="utf-8"))
            self.rng.setstate(rng_state_from_json(saved["random"]))
        return result


def _declared_length(headers: Sequence[tuple[str, str]]) -> int:
    """The Content-Length among ``headers`` when it is a plain number, else 0."""
    for name, value in headers:
        if name.lower() == "content-length" and value.strip().isdigit():
            return int(value)
    return 0


def _parse_cgi(output: bytes) -> Result:
    """Parse a CGI response (RFC 3875 §6): header lines, a blank line, the body."""
    for sep in (b"\r\n\r\n", b"\n\n"):
        head, found, body = output.partition(sep)
        if found:
            break
    else:
        raise AssertionError(f"no end of CGI headers in {output[:200]!r}")
    status: Optional[int] = None
    headers: list[tuple[str, str]] = []
    for line in head.split(b"\n"):
        name, colon, value = line.rstrip(b"\r").decode("latin-1").partition(":")
        assert colon, f"bad CGI header line {line!r}"
        if name.lower() == "status":
            status = int(value.strip().split(" ", 1)[0])
        else:
            headers.append((name.lower(), value.strip()))
    if status is None:
        status = 302 if any(n == "location" for n, _ in headers) else 200
    return Result(status, tuple(headers), body)


def make_clients(
    tmp_path: Union[str, os.PathLike[str]],
    env: Mapping[str, str],
    *,
    root: str = "",
    seed: int = SEED,
    start: datetime = START,
    wrap_store: Optional[StoreWrapper] = None,
    path_includes_root: bool = True,
) -> dict[str, Client]:
    """One client per adapter (``"wsgi"``, ``"asgi"``, ``"cgi"``), each with its own
    fresh SQLite store in ``tmp_path``, ``MINILINK_*`` settings from ``env``, the same
    seed and the same clock start. Close them with ``Client.close()``."""
    folder = Path(tmp_path)
    clients: dict[str, Client] = {}
    for name in ("wsgi", "asgi", "cgi"):
        url = str(folder / f"{name}.db")
        clock = FakeClock(start)
        if name == "cgi":
            clients[name] = CGIClient(
                url, env=env, root=root, clock=clock, seed=seed, wrap_store=wrap_store
            )
            continue
        config = Config.from_env({**env, "MINILINK_STORE": url})
        store = open_store(url)
        if wrap_store is not None:
            store = wrap_store(store)
        rng = random.Random(seed)
        app = App(Shortener(store, config, clock=clock, randbelow=rng.randrange), config)
        client: Client
        if name == "wsgi":
            client = WSGIClient(app, root=root, clock=clock)
        else:
            client = ASGIClient(app, root=root, clock=clock, path_includes_root=path_includes_root)
        client._closers.extend([store.close, app.close])
        clients[name] = client
    return clients
