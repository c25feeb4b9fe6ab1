"""Crash safety: ``kill -9`` in the middle of a write storm, round after round.

Every round starts gunicorn (2 gthread workers x 8 threads) on one database file and
sends it creates from four client threads, while four lanes of CGI processes create
links and follow a short link on the same file. After a random moment (seeded per
round) the server's whole process group and every CGI process still running are
killed with SIGKILL at once. Then, on the file as the crash left it:

* ``PRAGMA integrity_check`` is ``ok``;
* every create that was answered 201, in this round or any before, is stored, with
  the URL it was answered with; no code was answered with two URLs;
* every link's total of hits equals the sum of its per-day counters (both are
  written in one transaction, so a crash keeps both or neither).

The rounds share the file, so each one starts on what the previous crash left.
"""

from __future__ import annotations

import json
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.client import HTTPException
from pathlib import Path

import pytest
from _reliability import (
    Gunicorn,
    Rows,
    assert_resolve,
    cgi,
    cgi_environ,
    http_create,
    integrity,
    record,
    start_cgi,
)

ROUNDS = 20
HTTP_LANES = 4
CGI_LANES = 4

pytestmark = pytest.mark.slow


class Round:
    """One round's writers, its kill switch, and what was acknowledged."""

    def __init__(self, number: int, path: Path, server: Gunicorn, hot: str) -> None:
        self.number = number
        self.path = path
        self.server = server
        self.hot = hot
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.running: set[object] = set()
        self.acknowledged: list[tuple[str, str]] = []  # (code, url) answered 201
        self.killed = 0
        self.other = 0  # answers cut short by the kill (no answer, or a refused connection)

    def http_lane(self, lane: int) -> None:
        for k in range(10_000):  # bounded; the kill ends it long before
            if self.stopped.is_set():
                return
            url = f"https://example.com/crash/{self.number}/h{lane}/{k}"
            try:
                answer = http_create(self.server.port, url)
            except (OSError, HTTPException):
                with self.lock:
                    self.other += 1
                return  # the server is gone
            assert answer.status == 201, (answer.status, answer.body)
            with self.lock:
                self.acknowledged.append((answer.json()["code"], url))

    def cgi_lane(self, lane: int) -> None:
        for k in range(10_000):
            url = f"https://example.com/crash/{self.number}/c{lane}/{k}"
            if k % 2:
                environ = cgi_environ(str(self.path), "GET", f"/{self.hot}")
                body = b""
            else:
                body = json.dumps({"url": url}).encode()
                environ = cgi_environ(
                    str(self.path), "POST", "/api/links", body=body, content_type="application/json"
                )
            with self.lock:
                if self.stopped.is_set():
                    return
                proc = start_cgi(environ, body)
                self.running.add(proc)
            out, err = proc.communicate(timeout=60)
            with self.lock:
                self.running.discard(proc)
            if proc.returncode != 0:
                assert proc.returncode == -9, (proc.returncode, err[-2000:])
                with self.lock:
                    self.killed += 1
                return
            head = out.split(b"\r\n", 1)[0]
            if k % 2:
                assert head == b"Status: 302 Found", (out[:300], err[-2000:])
                continue
            assert head == b"Status: 201 Created", (out[:300], err[-2000:])
            code = json.loads(out.partition(b"\r\n\r\n")[2])["code"]
            with self.lock:
                self.acknowledged.append((code, url))

    def kill_all(self) -> None:
        with self.lock:
            self.stopped.set()
            procs = list(self.running)
        self.server.kill()
        for proc in procs:
            proc.kill()  # type: ignore[attr-defined]


def test_kill_nine_mid_storm(tmp_path: Path) -> None:
    path = tmp_path / "links.db"
    hot = cgi(
        str(path),
        "POST",
        "/api/links",
        body=b'{"url": "https://example.com/hot"}',
        content_type="application/json",
    )[0].json()["code"]
    acknowledged: dict[str, str] = {}
    killed_processes = 0
    started = time.monotonic()
    for number in range(ROUNDS):
        rng = random.Random(number)
        server = Gunicorn(str(path), workers=2, threads=8)
        current = Round(number, path, server, hot)
        with ThreadPoolExecutor(max_workers=HTTP_LANES + CGI_LANES) as pool:
            try:
                lanes = [pool.submit(current.http_lane, i) for i in range(HTTP_LANES)]
                lanes += [pool.submit(current.cgi_lane, i) for i in range(CGI_LANES)]
                # The kill comes at a different moment each round, mid-write.
                time.sleep(rng.uniform(0.3, 1.0))
            finally:
                current.kill_all()
            for lane in lanes:
                lane.result(timeout=120)  # a lane's failed assertion fails the test
        killed_processes += current.killed + 3  # the gunicorn master and its 2 workers

        assert integrity(path) == "ok", f"round {number}"
        for code, url in current.acknowledged:
            assert acknowledged.setdefault(code, url) == url, f"{code} answered twice"
        rows = Rows(path)
        lost = {code: url for code, url in acknowledged.items() if rows.url(code) != url}
        assert not lost, f"round {number}: acknowledged creates lost: {list(lost)[:5]}"
        per_code: dict[str, int] = {}
        for (code, _), hits in rows.daily.items():
            per_code[code] = per_code.get(code, 0) + hits
        for code, (_, hits, _) in rows.links.items():
            assert hits == per_code.get(code, 0), f"round {number}: {code} total != days"
    seconds = time.monotonic() - started
    assert_resolve(path, acknowledged)
    after, _ = cgi(str(path), "GET", f"/{hot}")
    assert after.status == 302
    record(
        f"kill -9 mid-storm: {ROUNDS} rounds, {killed_processes} processes killed "
        f"(gunicorn master + workers, CGI), {len(acknowledged)} acknowledged creates all "
        f"stored, integrity_check ok every round, {seconds:.1f} s"
    )
