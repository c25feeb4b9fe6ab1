"""SIGTERM at its default still writes the buffered hits, and a server's own handler
is never taken away (``minilink.adapters._lazy``). Each case is one small Python
process: what a server that leaves SIGTERM alone (waitress, cheroot, Werkzeug, bjoern)
would be, without the server."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from minilink.storage.sqlite import SQLiteStore
from minilink.testing.contract import make_link

pytestmark = pytest.mark.slow

#: Builds the app in a thread (as threaded servers do), counts 3 visits, says "ready",
#: then waits for the signal the test sends.
VISITS = """
import sys, threading, time
from minilink.adapters.wsgi import application
from minilink.core.http import Request
def visit():
    for _ in range(3):
        assert application.app.handle(
            Request(method="GET", path="/abc", headers={"host": "t"})
        ).status == 302
worker = threading.Thread(target=visit)
worker.start()
worker.join()
print("ready", flush=True)
time.sleep(30)
print("not stopped", flush=True)
"""


def _run(tmp_path: Path, prelude: str) -> tuple[int, str, int]:
    """Run ``prelude`` then ``VISITS``; SIGTERM once ready. Returns the status, the
    output and the hits stored."""
    db = tmp_path / "links.db"
    with SQLiteStore(str(db)) as seed:
        seed.insert(make_link("abc"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("MINILINK_")}
    env.update(MINILINK_STORE=str(db), MINILINK_HIT_FLUSH_SECONDS="60")
    proc = subprocess.Popen(
        [sys.executable, "-c", prelude + VISITS],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.startswith("ready"), first + proc.stdout.read()
        proc.send_signal(signal.SIGTERM)
        status = proc.wait(timeout=20)
        output = first + proc.stdout.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
    with SQLiteStore(str(db)) as store:
        link = store.get("abc")
        assert link is not None
        return status, output, link.hits


def test_sigterm_at_its_default_writes_the_hits_and_still_ends_the_process_by_it(
    tmp_path: Path,
) -> None:
    status, output, hits = _run(tmp_path, "")
    assert status == -signal.SIGTERM, output  # ended by the signal, as without minilink
    assert "not stopped" not in output
    assert hits == 3


def test_a_handler_installed_before_is_kept(tmp_path: Path) -> None:
    prelude = (
        "import signal, sys\n"
        "def own(signum, frame):\n"
        "    print('own handler', flush=True)\n"
        "    sys.exit(7)\n"
        "signal.signal(signal.SIGTERM, own)\n"
    )
    status, output, hits = _run(tmp_path, prelude)
    assert status == 7, output
    assert "own handler" in output
    assert hits == 3  # its sys.exit runs the exit handlers, which close the app


def test_an_ignored_sigterm_stays_ignored(tmp_path: Path) -> None:
    prelude = (
        "import signal, threading\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "threading.Timer(1.0, lambda: print('still here', flush=True)).start()\n"
    )
    db = tmp_path / "links.db"
    with SQLiteStore(str(db)) as seed:
        seed.insert(make_link("abc"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("MINILINK_")}
    env.update(MINILINK_STORE=str(db), MINILINK_HIT_FLUSH_SECONDS="60")
    script = prelude + VISITS.replace("time.sleep(30)", "time.sleep(2)")
    proc = subprocess.Popen(
        [sys.executable, "-c", script], env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().startswith("ready")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0  # it slept on, then exited normally
        assert "still here" in proc.stdout.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
    with SQLiteStore(str(db)) as store:
        assert store.get("abc").hits == 3  # type: ignore[union-attr]  # by atexit


def test_a_handler_installed_after_replaces_minilinks(tmp_path: Path) -> None:
    """A server that installs its own handler once the app's module is imported
    (gunicorn's workers, uvicorn, granian) has the signal to itself."""
    script = (
        "import signal\n"
        "from minilink.adapters import wsgi, _lazy\n"
        "assert signal.getsignal(signal.SIGTERM) is _lazy._on_sigterm\n"
        "def server(signum, frame): pass\n"
        "signal.signal(signal.SIGTERM, server)\n"
        "assert not _lazy.install_stop_handler()\n"
        "assert signal.getsignal(signal.SIGTERM) is server\n"
        "print('ok')\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("MINILINK_")}
    env["MINILINK_STORE"] = str(tmp_path / "links.db")
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=30
    )
    assert out.stdout == "ok\n", out.stderr
