"""The shared behavioural suite under Apache mod_fcgid and Passenger, and their stops.

The scenarios run exactly as in ``test_live.py`` (its in-process references, its
lockstep client and its comparison are reused), through the servers of
``legacy_hosts``, bare and mounted under ``/s``. Then what a persistent process owes
its host: the hits it batched reach the store when Apache stops (gracefully or not), and a
``kill -9`` loses no acknowledged write.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import legacy_hosts
import live_servers
import pytest
import test_live as shared
from helpers import Scenario
from test_behaviour import SCENARIOS

pytestmark = pytest.mark.slow

CONFIGS = [(kind, mount) for kind in legacy_hosts.NEEDS for mount in ("", "/s")]

#: Divergences minilink cannot fix from inside its core (strict: once fixed, the mark
#: must go).
PASSENGER_PATH = (
    "Passenger 6.0.17 passes PATH_INFO still percent-encoded (and lowercases the "
    "escapes: /%FF arrives as '/%ff'), where CGI and PEP 3333 give it decoded, so an "
    "invalid UTF-8 path is an unknown code there: 404, where every other server "
    "gives minilink the byte and it answers 400 (edge 5 allows either, never a 500)"
)
KNOWN = {
    ("apache-passenger", "e5-invalid-utf8-path"): PASSENGER_PATH,
}

CASES = [
    pytest.param(
        (kind, mount),
        s,
        id=f"{shared._config_id(kind, mount)}:{s.id}",
        marks=[pytest.mark.xfail(strict=True, reason=KNOWN[kind, s.id])]
        if (kind, s.id) in KNOWN
        else [],
    )
    for kind, mount in CONFIGS
    for s in SCENARIOS
    if s.id not in shared.EXCLUDED and s.root in ("", mount)
]


@pytest.fixture(scope="module")
def live(request: pytest.FixtureRequest) -> Iterator[live_servers.Live]:
    kind, mount = request.param
    server = legacy_hosts.start(kind, mount)
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.parametrize(("live", "scenario"), CASES, indirect=["live"], scope="module")
def test_same_answer_as_in_process(
    live: live_servers.Live, scenario: Scenario, tmp_path: Path
) -> None:
    shared.test_same_answer_as_in_process(live, scenario, tmp_path)


# -- stopping ------------------------------------------------------------------------


def _request(
    live: live_servers.Live, method: str, path: str, body: bytes = b""
) -> tuple[int, bytes]:
    host, port = live.base_url.split("/")[2].split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        headers = {"Host": "testserver", "Content-Type": "application/json"}
        connection.request(method, path, body=body or None, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def _create_and_visit(live: live_servers.Live, visits: int) -> str:
    status, body = _request(live, "POST", "/api/links", b'{"url": "https://example.com/x"}')
    assert status == 201, body
    code: str = json.loads(body)["code"]
    for _ in range(visits):
        status, _ = _request(live, "GET", "/" + code)
        assert status in (301, 302, 307, 308)
    return code


def _stored_hits(live: live_servers.Live, code: str) -> int:
    with closing(sqlite3.connect(str(live.var / "links.db"))) as db:
        row = db.execute("SELECT hits FROM links WHERE code = ?", (code,)).fetchone()
    assert row is not None, f"{code} was not stored"
    return int(row[0])


def _app_processes(live: live_servers.Live) -> list[int]:
    """The pids of the persistent Python processes serving ``live``: Python
    interpreters whose working folder is in its site (mod_fcgid starts the script in
    its folder, Passenger in the application root)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cwd, exe = os.readlink(entry / "cwd"), os.readlink(entry / "exe")
        except OSError:
            continue
        if cwd.startswith(str(live.site)) and os.path.basename(exe).startswith("python"):
            found.append(int(entry.name))
    return found


@pytest.mark.parametrize(
    "stop",
    [signal.SIGWINCH, signal.SIGTERM],
    ids=["graceful-stop", "stop"],  # what apachectl -k sends
)
@pytest.mark.parametrize("kind", list(legacy_hosts.NEEDS))
def test_a_stop_writes_the_buffered_hits(kind: str, stop: signal.Signals) -> None:
    live = legacy_hosts.start(kind, flush=True)
    try:
        code = _create_and_visit(live, 3)
        assert _stored_hits(live, code) == 0, "hits were written before the stop"
        live.proc.send_signal(stop)
        live.proc.wait(timeout=30)
        assert _stored_hits(live, code) == 3
    finally:
        live.stop()


@pytest.mark.parametrize("kind", list(legacy_hosts.NEEDS))
def test_a_killed_process_loses_no_acknowledged_write(kind: str) -> None:
    live = legacy_hosts.start(kind, flush=True)
    try:
        code = _create_and_visit(live, 3)
        pids = _app_processes(live)
        assert pids, "no application process found"
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while _app_processes(live) and time.monotonic() < deadline:
            time.sleep(0.05)  # the kernel reaps them; bounded by the deadline
        # The created link was written before it was acknowledged; the unflushed hits
        # (at most MINILINK_HIT_FLUSH_SECONDS of them) are what a kill -9 may lose.
        assert 0 <= _stored_hits(live, code) <= 3
        status, _ = _request(live, "GET", "/" + code)  # the host starts a new process
        assert status in (301, 302, 307, 308)
    finally:
        live.stop()
