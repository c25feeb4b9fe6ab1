"""Scale-out: several app servers on one PostgreSQL database keep the single-server rules.

Two real servers run as their own processes, started through the CLI the way a
deployment would run them, both on one database of the machine's PostgreSQL server:
gunicorn with four worker processes (WSGI) and uvicorn (ASGI). Clients in many threads
spread creates and redirects over both. Then:

* every link answered 201 resolves, to the same URL, from every server;
* no code is issued twice, and creates of one URL racing on both servers agree on one
  code, created once;
* after both servers stopped (an orderly stop writes buffered hits), every link's hit
  total and per-day counter equal the redirects the clients received.

The load is bounded in count (about 2,000 requests) and every wait in time.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import selectors
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Optional

import pytest
from pghelpers import new_schema, temporary_database

from minilink.storage.postgres import PostgresStore

CREATES = 300  # distinct URLs, alternating between the servers
SAME_URL = 20  # URLs created 6 times each, at once, on both servers
HOT = 300  # redirects of one code, spread over both servers
CLIENTS = 16  # client threads
TIMEOUT = 10.0  # seconds, any one request
ADMIN = "scale-admin-token"

pytestmark = pytest.mark.slow


class Server:
    """``minilink serve`` in a process of its own; the URL it announced."""

    def __init__(self, name: str, store: str, log: Path, **env: str) -> None:
        self.name = name
        self.log = log.open("w")
        environ = {
            **os.environ,
            "MINILINK_STORE": store,
            "MINILINK_RATE_LIMIT": "0",
            "MINILINK_ADMIN_TOKEN": ADMIN,
            **env,
        }
        self.process = subprocess.Popen(
            [sys.executable, "-m", "minilink", "serve", "--server", name, "--port", "0", "-q"],
            stdout=subprocess.PIPE,
            stderr=self.log,
            env=environ,
        )
        self.port = self._announced_port(deadline=time.monotonic() + 60)

    def _announced_port(self, deadline: float) -> int:
        assert self.process.stdout is not None
        with selectors.DefaultSelector() as selector:
            selector.register(self.process.stdout, selectors.EVENT_READ)
            while time.monotonic() < deadline:
                if not selector.select(timeout=max(0.0, deadline - time.monotonic())):
                    break
                line = self.process.stdout.readline().decode()
                if not line:
                    break  # the process ended
                found = re.search(r"serving on http://127\.0\.0\.1:(\d+)/", line)
                if found:
                    return int(found.group(1))
        raise AssertionError(f"{self.name} did not start: {self.stop()}")

    def stop(self) -> str:
        """Stop it the orderly way (SIGTERM); return its log."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        if self.process.stdout is not None:
            self.process.stdout.close()
        self.log.close()
        return Path(self.log.name).read_text()


def request(
    port: int, method: str, path: str, body: Optional[dict[str, Any]] = None
) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
    try:
        headers = {"Authorization": f"Bearer {ADMIN}"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        connection.request(method, path, body=data, headers=headers)
        response = connection.getresponse()
        headers = {name.lower(): value for name, value in response.getheaders()}
        return response.status, headers, response.read()
    finally:
        connection.close()


@pytest.fixture(scope="module")
def store_url() -> Iterator[str]:
    with temporary_database("scale") as database:
        yield new_schema(database)


@pytest.fixture(scope="module")
def servers(store_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Server]]:
    logs = tmp_path_factory.mktemp("logs")
    started: list[Server] = []
    try:
        started.append(
            Server(
                "gunicorn",
                store_url,
                logs / "gunicorn.log",
                GUNICORN_CMD_ARGS="--workers 4",
            )
        )
        started.append(Server("uvicorn", store_url, logs / "uvicorn.log"))
        yield started
    finally:
        for server in started:
            server.stop()


def test_two_servers_on_one_database_keep_every_rule(servers: list[Server], store_url: str) -> None:
    started = time.monotonic()
    ports = [server.port for server in servers]
    for port in ports:
        assert request(port, "GET", "/healthz")[0] == 200
    pool = ThreadPoolExecutor(CLIENTS)
    try:
        # 1. Creates of distinct URLs, alternating between the servers.
        def create(i: int) -> tuple[int, str, str]:
            url = f"https://example.com/scale/{i}"
            status, _, body = request(ports[i % 2], "POST", "/api/links", {"url": url})
            return status, json.loads(body).get("code", ""), url

        created = list(pool.map(create, range(CREATES)))
        assert [status for status, _, _ in created] == [201] * CREATES
        codes = [code for _, code, _ in created]
        assert len(set(codes)) == CREATES, "a code was issued twice"

        # 2. One URL created at once on both servers: one link, created once.
        def same(i: int) -> tuple[int, int, str]:
            url = f"https://example.com/same/{i // 6}"
            status, _, body = request(ports[i % 2], "POST", "/api/links", {"url": url})
            return i // 6, status, json.loads(body)["code"]

        racing = list(pool.map(same, range(SAME_URL * 6)))
        for group in range(SAME_URL):
            answers = [(status, code) for g, status, code in racing if g == group]
            assert len({code for _, code in answers}) == 1, answers
            assert sorted(status for status, _ in answers) == [200] * 5 + [201]
        same_codes = {code for _, _, code in racing}
        assert not same_codes & set(codes)

        # 3. Every created link resolves, to its URL, from every server.
        def resolve(job: tuple[str, str, int]) -> tuple[int, str]:
            code, _, port = job
            status, _, body = request(port, "GET", f"/api/links/{code}")
            return status, json.loads(body).get("url") if status == 200 else ""

        jobs = [(code, url, port) for _, code, url in created for port in ports]
        assert list(pool.map(resolve, jobs)) == [(200, url) for _, url, _ in jobs]

        # 4. Redirects: every link once from each server, and one hot link many times.
        hot = codes[0]

        def redirect(job: tuple[str, int]) -> tuple[str, int, Optional[str]]:
            code, port = job
            status, headers, _ = request(port, "GET", f"/{code}")
            return code, status, headers.get("location")

        visits = [(code, port) for code in codes for port in ports]
        visits += [(hot, ports[i % 2]) for i in range(HOT)]
        answered = list(pool.map(redirect, visits))
    finally:
        pool.shutdown(wait=True)
    targets = {code: url for _, code, url in created}
    assert all(status == 302 for _, status, _ in answered)
    assert all(location == targets[code] for code, _, location in answered)
    expected = Counter(code for code, _, _ in answered)
    load_seconds = time.monotonic() - started

    # 5. After an orderly stop, the database holds every hit, exactly.
    for server in servers:
        log = server.stop()
        assert "Traceback" not in log, log
    today = datetime.now(timezone.utc).strftime("%Y-%m-%d")
    with PostgresStore.from_url(store_url) as store:
        for code in codes:
            link = store.get(code)
            assert link is not None
            assert link.hits == expected[code], code
            days = store.daily(code, "2000-01-01")
            assert sum(n for _, n in days) == expected[code]
            assert {day for day, _ in days} <= {today, _yesterday(today)}
        assert len(store.recent(1000)) == CREATES + SAME_URL
    requests = CREATES + SAME_URL * 6 + len(jobs) + len(visits) + 2
    print(
        f"\nscale-out: {requests} requests over gunicorn (4 workers) and uvicorn in "
        f"{load_seconds:.1f} s; {CREATES + SAME_URL} codes, {sum(expected.values())} hits exact"
    )


def _yesterday(today: str) -> str:
    from datetime import date, timedelta

    # A run that crosses midnight UTC counts on two days.
    return (date.fromisoformat(today) - timedelta(days=1)).isoformat()
