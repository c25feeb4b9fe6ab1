"""A change answered by one worker is what every worker answers on the next request.

Real servers with several worker processes on one SQLite file (gunicorn sync and
gthread, uvicorn ``--workers``), and two servers on one PostgreSQL database (gunicorn
with two workers and uvicorn, through ``minilink serve``). Each worker caches hot
links; the test first makes every worker cache the link (many redirects, each on a
connection of its own, which the kernel spreads over the workers), then changes it and
at once reads it many times, on fresh connections, from every server:

* an edit through ``PATCH`` answered 200: every redirect goes to the new URL and the
  link JSON has it;
* an edit made by another process with no server at all (``Shortener.update`` on a
  store of its own, as ``minilink edit`` would): the same;
* a ``DELETE`` answered 204: every redirect and link JSON is 410.

Not one stale answer is allowed. Bounded: about 500 requests per server set-up, every
wait with a deadline.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import selectors
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from importlib.util import find_spec
from pathlib import Path
from typing import Any, Optional

import pytest

from minilink.core.config import Config
from minilink.core.service import Shortener
from minilink.storage import open_store

pytestmark = pytest.mark.slow

ADMIN = "consistency-admin-token"
WARM = 40  # redirects before the change, so that every worker caches the link
READS = 40  # reads right after each change, per server
TIMEOUT = 10.0
WSGI = "minilink.adapters.wsgi:application"
ASGI = "minilink.adapters.asgi:application"


def _require(module: str) -> None:
    if find_spec(module) is not None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"not installed here: {module} (the test extra installs it)")
    pytest.skip(f"not installed here: {module}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _env(store: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MINILINK_")}
    env.update(
        MINILINK_STORE=store,
        MINILINK_ADMIN_TOKEN=ADMIN,
        MINILINK_RATE_LIMIT="0",
        MINILINK_BASE_URL="http://testserver",
    )
    return env


class Server:
    """One server process (and its workers), in a session of its own."""

    def __init__(self, name: str, command: Sequence[str], env: dict[str, str], log: Path) -> None:
        self.name = name
        self.log_path = log
        self.log = log.open("wb")
        self.process = subprocess.Popen(
            list(command),
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self.log,
            start_new_session=True,
        )
        self.port = 0

    def listening_on(self, port: int) -> Server:
        """Wait until ``/healthz`` answers on ``port``."""
        self.port = port
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"{self.name} exited: {self.stop()}")
            try:
                if request(port, "GET", "/healthz")[0] == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.05)  # waiting for a socket to listen: a short, fixed poll
        raise AssertionError(f"{self.name} did not answer in 60 s: {self.stop()}")

    def announced(self) -> Server:
        """Wait for ``minilink serve`` to print the URL it serves on."""
        assert self.process.stdout is not None
        deadline = time.monotonic() + 60
        with selectors.DefaultSelector() as selector:
            selector.register(self.process.stdout, selectors.EVENT_READ)
            while time.monotonic() < deadline:
                if not selector.select(timeout=max(0.0, deadline - time.monotonic())):
                    break
                line = self.process.stdout.readline().decode()
                if not line:
                    break
                found = re.search(r"serving on http://127\.0\.0\.1:(\d+)/", line)
                if found:
                    return self.listening_on(int(found.group(1)))
        raise AssertionError(f"{self.name} did not start: {self.stop()}")

    def stop(self) -> str:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        if self.process.stdout is not None:
            self.process.stdout.close()
        self.log.close()
        return self.log_path.read_text(errors="replace")[-3000:]


def request(
    port: int,
    method: str,
    path: str,
    body: Optional[dict[str, Any]] = None,
    content_type: str = "application/json",
) -> tuple[int, dict[str, str], bytes]:
    """One request on a connection of its own (so that any worker may take it)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
    try:
        headers = {"Authorization": f"Bearer {ADMIN}", "Host": "testserver"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = content_type
        connection.request(method, path, body=data, headers=headers)
        response = connection.getresponse()
        answer = {name.lower(): value for name, value in response.getheaders()}
        return response.status, answer, response.read()
    finally:
        connection.close()


def _redirects(ports: Sequence[int], code: str, count: int) -> list[tuple[int, Optional[str]]]:
    """``count`` redirects of ``code``, turn by turn on each port: (status, Location)."""
    answers = []
    for i in range(count):
        status, headers, _ = request(ports[i % len(ports)], "GET", f"/{code}")
        answers.append((status, headers.get("location")))
    return answers


def _link_json(ports: Sequence[int], code: str, count: int) -> list[tuple[int, Optional[str]]]:
    answers = []
    for i in range(count):
        status, _, body = request(ports[i % len(ports)], "GET", f"/api/links/{code}")
        answers.append((status, json.loads(body).get("url") if status == 200 else None))
    return answers


def _every_change_is_seen_at_once(ports: Sequence[int], store: str) -> None:
    status, _, body = request(ports[0], "POST", "/api/links", {"url": "https://example.com/one"})
    assert status == 201, body
    code = json.loads(body)["code"]
    # Every worker of every server caches the link.
    assert _redirects(ports, code, WARM) == [(302, "https://example.com/one")] * WARM

    # 1. An edit through the API of one server.
    status, _, body = request(
        ports[-1],
        "PATCH",
        f"/api/links/{code}",
        {"url": "https://example.com/two"},
        content_type="application/merge-patch+json",
    )
    assert status == 200, body
    assert _redirects(ports, code, READS) == [(302, "https://example.com/two")] * READS
    assert _link_json(ports, code, READS // 2) == [(200, "https://example.com/two")] * (READS // 2)
    assert _redirects(ports, code, WARM) == [(302, "https://example.com/two")] * WARM

    # 2. An edit by a process that serves nothing (as the CLI's edit command would).
    shortener = Shortener(open_store(store), Config(store=store, base_url="http://testserver"))
    try:
        shortener.update(code, url="https://example.com/three")
    finally:
        shortener.store.close()
    assert _redirects(ports, code, READS) == [(302, "https://example.com/three")] * READS
    assert _link_json(ports, code, READS // 2) == [(200, "https://example.com/three")] * (
        READS // 2
    )
    assert _redirects(ports, code, WARM) == [(302, "https://example.com/three")] * WARM

    # 3. A deletion through the API of one server.
    status, _, body = request(ports[0], "DELETE", f"/api/links/{code}")
    assert status == 204, body
    assert _redirects(ports, code, READS) == [(410, None)] * READS
    assert _link_json(ports, code, READS // 2) == [(410, None)] * (READS // 2)


SQLITE_SERVERS: dict[str, tuple[str, list[str]]] = {
    "gunicorn-sync": ("gunicorn", ["-m", "gunicorn", "-w", "3", WSGI]),
    "gunicorn-gthread": (
        "gunicorn",
        ["-m", "gunicorn", "-k", "gthread", "-w", "2", "--threads", "4", WSGI],
    ),
    "uvicorn-workers": (
        "uvicorn",
        ["-m", "uvicorn", "--workers", "2", "--log-level", "warning", ASGI],
    ),
}


@pytest.mark.parametrize("server", sorted(SQLITE_SERVERS))
def test_workers_on_one_sqlite_file_see_every_change_at_once(tmp_path: Path, server: str) -> None:
    module, arguments = SQLITE_SERVERS[server]
    _require(module)
    store = str(tmp_path / "links.db")
    port = _free_port()
    bind = ["--bind", f"127.0.0.1:{port}"] if module == "gunicorn" else ["--port", str(port)]
    command = [sys.executable, *arguments[:2], *bind, *arguments[2:]]
    running = Server(server, command, _env(store), tmp_path / "server.log")
    try:
        running.listening_on(port)
        _every_change_is_seen_at_once([port], store)
    finally:
        log = running.stop()
    assert "Traceback" not in log, log


@pytest.fixture
def postgres_store() -> Iterator[str]:
    _require("psycopg")
    from pghelpers import new_schema, temporary_database

    with temporary_database("consistency") as database:
        yield new_schema(database)


def test_two_servers_on_one_postgres_see_every_change_at_once(
    tmp_path: Path, postgres_store: str
) -> None:
    _require("gunicorn")
    _require("uvicorn")
    started: list[Server] = []
    try:
        for name, extra in (("gunicorn", {"GUNICORN_CMD_ARGS": "--workers 2"}), ("uvicorn", {})):
            env = {**_env(postgres_store), **extra}
            command = [sys.executable, "-m", "minilink", "serve", "--server", name]
            command += ["--port", "0", "--quiet"]
            started.append(Server(name, command, env, tmp_path / f"{name}.log"))
        for server in started:
            server.announced()
        _every_change_is_seen_at_once([server.port for server in started], postgres_store)
    finally:
        logs = [server.stop() for server in started]
    for log in logs:
        assert "Traceback" not in log, log
