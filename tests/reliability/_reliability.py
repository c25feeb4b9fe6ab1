"""Drivers of the reliability suite: real CGI processes, a real gunicorn, the file.

Theory of operation
-------------------
Everything here runs the shipped entry points the way a host runs them, with nothing
of the suite's own in the code under test:

* ``cgi()`` runs one request through ``python -S -m minilink.adapters.cgi`` with an
  RFC 3875 environment (the package on ``PYTHONPATH``, as a CGI host that copied it
  next to its script would have it), the body on stdin, and parses what the process
  printed. ``start_cgi()`` starts one without waiting, for the crash rounds.
* ``Gunicorn`` is ``minilink.adapters.wsgi:application`` under gunicorn's gthread
  workers, configured by ``MINILINK_*`` only, started and polled with the live-server
  harness (``tests/servers/live_servers.py``). ``stop()`` is an orderly SIGTERM (the
  workers write their buffered hits as they exit); ``kill()`` is SIGKILL to the whole
  process group, master and workers at once.
* ``http()`` sends one request on a new connection, with a timeout, and never raises
  for a status.
* ``Rows`` reads the database file directly with ``sqlite3``, the ground truth the
  answers are checked against.
* ``lanes(n, work)`` runs ``work(lane)`` in ``n`` threads that start together and
  returns their results in lane order; an exception in a lane fails the test.

Every wait is bounded by a deadline and every process is stopped in a ``finally``.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing, suppress
from dataclasses import dataclass
from http.client import HTTPConnection
from pathlib import Path
from typing import Any, Callable, Optional, TypeVar

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "servers"))

import live_servers  # noqa: E402

T = TypeVar("T")

ADMIN = "reliability-admin-token"
AUTH = {"Authorization": f"Bearer {ADMIN}"}
#: Seconds any one request may take before the test fails (a loaded 2-core machine).
REQUEST_TIMEOUT = 60.0
JSON_TYPE = "application/json; charset=utf-8"


@dataclass(frozen=True)
class Answer:
    """One HTTP answer: status, headers (lower-case names, in order), body."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    seconds: float = 0.0

    def header(self, name: str) -> Optional[str]:
        return next((v for k, v in self.headers if k == name.lower()), None)

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


# -- CGI ----------------------------------------------------------------------------------


def cgi_environ(
    store: str,
    method: str,
    target: str,
    *,
    body: bytes = b"",
    content_type: Optional[str] = None,
    headers: Optional[Mapping[str, str]] = None,
    env: Optional[Mapping[str, str]] = None,
) -> dict[str, str]:
    """The environment a web server gives a CGI script for one request."""
    path, _, query = target.partition("?")
    environ = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(REPO),
        "GATEWAY_INTERFACE": "CGI/1.1",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "SERVER_SOFTWARE": "reliability",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "REMOTE_ADDR": "127.0.0.1",
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "QUERY_STRING": query,
        "HTTP_HOST": "testserver",
        "MINILINK_STORE": store,
        "MINILINK_ADMIN_TOKEN": ADMIN,
        "MINILINK_RATE_LIMIT": "0",
    }
    if path not in ("", "/"):
        environ["PATH_INFO"] = path
    if body:
        environ["CONTENT_LENGTH"] = str(len(body))
    if content_type:
        environ["CONTENT_TYPE"] = content_type
    for name, value in (headers or {}).items():
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    environ.update(env or {})
    return environ


CGI_COMMAND = [sys.executable, "-S", "-m", "minilink.adapters.cgi"]


def start_cgi(environ: Mapping[str, str], body: bytes = b"") -> subprocess.Popen[bytes]:
    """Start one CGI request without waiting for it (stdin written and closed)."""
    proc = subprocess.Popen(
        CGI_COMMAND,
        env=dict(environ),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdin is not None
    try:
        proc.stdin.write(body)
        proc.stdin.close()
    except BrokenPipeError:
        pass  # it has gone already (killed, or it did not read its body)
    proc.stdin = None  # written and closed: communicate() only reads from now on
    return proc


def parse_cgi(output: bytes) -> Answer:
    """An ``Answer`` from what a CGI script printed (RFC 3875 §6)."""
    head, found, body = output.partition(b"\r\n\r\n")
    assert found, f"no end of the CGI headers in {output[:300]!r}"
    status = 0
    headers: list[tuple[str, str]] = []
    for line in head.split(b"\r\n"):
        name, colon, value = line.decode("latin-1").partition(":")
        assert colon, f"bad CGI header line {line!r}"
        if name.lower() == "status":
            status = int(value.strip().split(" ", 1)[0])
        else:
            headers.append((name.lower(), value.strip()))
    assert status, f"a CGI answer without Status: {output[:300]!r}"
    return Answer(status, tuple(headers), body)


def cgi(
    store: str,
    method: str,
    target: str,
    *,
    body: bytes = b"",
    content_type: Optional[str] = None,
    headers: Optional[Mapping[str, str]] = None,
    env: Optional[Mapping[str, str]] = None,
) -> tuple[Answer, bytes]:
    """Run one CGI request to the end: its answer and what it wrote to stderr."""
    environ = cgi_environ(
        store, method, target, body=body, content_type=content_type, headers=headers, env=env
    )
    started = time.monotonic()
    proc = subprocess.run(
        CGI_COMMAND,
        env=environ,
        input=body,
        capture_output=True,
        timeout=REQUEST_TIMEOUT,
        check=False,
    )
    seconds = time.monotonic() - started
    assert proc.returncode == 0, (proc.returncode, proc.stdout[:300], proc.stderr[-2000:])
    answer = parse_cgi(proc.stdout)
    return Answer(answer.status, answer.headers, answer.body, seconds), proc.stderr


def cgi_create(
    store: str, url: str, *, env: Optional[Mapping[str, str]] = None, **fields: Any
) -> Answer:
    body = json.dumps({"url": url, **fields}).encode()
    answer, _ = cgi(
        store, "POST", "/api/links", body=body, content_type="application/json", env=env
    )
    return answer


# -- HTTP ---------------------------------------------------------------------------------


def http(
    port: int,
    method: str,
    target: str,
    *,
    body: Optional[bytes] = None,
    headers: Optional[Mapping[str, str]] = None,
) -> Answer:
    """One request on a new connection to 127.0.0.1:``port``."""
    connection = HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT)
    started = time.monotonic()
    try:
        sent = {"Host": "testserver", **(headers or {})}
        if body is not None:
            sent.setdefault("Content-Type", "application/json")
        connection.request(method, target, body=body, headers=sent)
        response = connection.getresponse()
        data = response.read()
        pairs = tuple((k.lower(), v) for k, v in response.getheaders())
        return Answer(response.status, pairs, data, time.monotonic() - started)
    finally:
        connection.close()


def http_create(port: int, url: str, **fields: Any) -> Answer:
    return http(port, "POST", "/api/links", body=json.dumps({"url": url, **fields}).encode())


class Gunicorn:
    """``minilink.adapters.wsgi:application`` under gunicorn gthread workers."""

    def __init__(self, store: str, *, workers: int = 2, threads: int = 8, **env: str) -> None:
        live_servers.require("gunicorn")
        self.port = live_servers.free_port()
        command = [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{self.port}"]
        command += ["--workers", str(workers), "--threads", str(threads)]
        command += ["--worker-class", "gthread", "--no-control-socket"]
        command += ["--log-level", "warning", "--graceful-timeout", "20"]
        # The peer is the test, not a proxy: minilink alone decides what to trust.
        command += ["--forwarded-allow-ips=", "minilink.adapters.wsgi:application"]
        environ = live_servers.server_env()
        environ.update(
            {
                "MINILINK_STORE": store,
                "MINILINK_ADMIN_TOKEN": ADMIN,
                "MINILINK_RATE_LIMIT": "0",
                **env,
            }
        )
        with live_servers.new_site("reliability") as site:
            self.live = live_servers.spawn(
                "gunicorn-gthread", "", site, command, environ, f"http://127.0.0.1:{self.port}"
            )

    def stop(self) -> None:
        """SIGTERM and wait: the orderly stop, which writes buffered hits."""
        self.live.stop()

    def kill(self) -> None:
        """SIGKILL to the master and every worker at once (they share a group)."""
        proc = self.live.proc
        if proc.poll() is None:
            with suppress(ProcessLookupError):  # it may have ended by itself
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
        self.live.stop()

    def log(self) -> str:
        return self.live.log_tail()


# -- the database file --------------------------------------------------------------------


class Rows:
    """The links table of a database file, read directly."""

    def __init__(self, path: Path) -> None:
        with closing(sqlite3.connect(path, timeout=30)) as conn:
            self.links = {
                code: (url, hits, deleted)
                for code, url, hits, deleted in conn.execute(
                    "SELECT code, url, hits, deleted_at IS NOT NULL FROM links"
                )
            }
            self.daily = {
                (code, day): hits
                for code, day, hits in conn.execute("SELECT code, day, hits FROM daily")
            }
            self.count = conn.execute("SELECT count(*) FROM links").fetchone()[0]

    def url(self, code: str) -> Optional[str]:
        row = self.links.get(code)
        return None if row is None else row[0]

    def hits(self, code: str) -> int:
        return self.links[code][1]

    def deleted(self, code: str) -> bool:
        return bool(self.links[code][2])


def assert_resolve(path: Path, expected: Mapping[str, str]) -> None:
    """Every code resolves to its URL through the app (HEAD: no hit counted)."""
    from minilink.core.app import App
    from minilink.core.config import Config
    from minilink.core.http import Request
    from minilink.core.service import Shortener
    from minilink.storage.sqlite import SQLiteStore

    store = SQLiteStore(path)
    try:
        app = App(Shortener(store, Config(store=str(path))))
        for code, url in expected.items():
            response = app.handle(Request(method="HEAD", path=f"/{code}"))
            assert response.status == 302, (code, response.status)
            assert response.header("location") == url, code
    finally:
        store.close()


def integrity(path: Path) -> str:
    """``PRAGMA integrity_check`` on a fresh connection (which also recovers the WAL)."""
    with closing(sqlite3.connect(path, timeout=30)) as conn:
        rows = conn.execute("PRAGMA integrity_check").fetchall()
    return "\n".join(str(row[0]) for row in rows)


def hold_write_lock(path: Path) -> sqlite3.Connection:
    """A connection holding the database's write lock until it commits or closes."""
    # Any thread may let go of it (check_same_thread=False): a timer does, in a test.
    conn = sqlite3.connect(path, isolation_level=None, timeout=30, check_same_thread=False)
    conn.execute("BEGIN IMMEDIATE")
    return conn


# -- running things at once ---------------------------------------------------------------


def lanes(n: int, work: Callable[[int], T], *, timeout: float = 300.0) -> list[T]:
    """``work(lane)`` for lanes ``0 .. n-1`` in threads released together."""
    barrier = threading.Barrier(n)

    def run(lane: int) -> T:
        barrier.wait(timeout=60)
        return work(lane)

    with ThreadPoolExecutor(max_workers=n) as pool:
        futures = [pool.submit(run, lane) for lane in range(n)]
        return [future.result(timeout=timeout) for future in futures]


def statuses(answers: Sequence[Answer]) -> dict[int, int]:
    """How many answers had each status."""
    counts: dict[int, int] = {}
    for answer in answers:
        counts[answer.status] = counts.get(answer.status, 0) + 1
    return counts


#: One line per measured run, shown in the "reliability" section of the summary.
FIGURES: list[str] = []


def record(line: str) -> None:
    FIGURES.append(line)
