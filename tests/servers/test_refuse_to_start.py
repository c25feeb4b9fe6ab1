"""Every server refuses to start on a bad ``MINILINK_*`` value, as the README says.

Each server is started for real with one bad value and must end by itself within
``DEADLINE``, with a non-zero exit status, the one sentence that names the problem in
its log and no traceback. Before, gunicorn booted its workers and answered every
request (``/healthz`` too) with its bare 500 page, and a SQLite file in a missing
directory was a server answering 503 to everything.

The adapters' part is in ``tests/adapters/test_startup_check.py``: importing the
entry point writes the sentence and raises ``SystemExit(3)``. What these tests pin is
how each server takes that:

* gunicorn (sync, gthread): the worker exits 3, the arbiter halts ("Worker failed to
  boot") and exits 3; with ``--preload`` the arbiter itself exits 3;
* waitress-serve, uvicorn: exit 3;
* hypercorn: ``--workers 0`` exits 3; with worker processes (the default, one) it
  stops but exits 0, its own bug (pgjones/hypercorn#269: ``run()`` overwrites the
  failed worker's status with 0), so only the stop and the log are checked there;
* ``minilink serve`` checks the configuration itself: exit 2, ``minilink: error: ...``.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import live_servers
import pytest

pytestmark = pytest.mark.slow

#: Seconds a server may take to give up; a fixed server stops in about one.
DEADLINE = 30.0

WSGI = "minilink.adapters.wsgi:application"
ASGI = "minilink.adapters.asgi:application"

#: kind -> (what live_servers.NEEDS calls it, the command after "python -m")
SERVERS: dict[str, tuple[str, list[str]]] = {
    "gunicorn-sync": ("gunicorn-sync", ["gunicorn", "--worker-class", "sync", WSGI]),
    "gunicorn-gthread": (
        "gunicorn-gthread",
        ["gunicorn", "--worker-class", "gthread", "--threads", "4", "--workers", "2", WSGI],
    ),
    "gunicorn-preload": ("gunicorn-sync", ["gunicorn", "--preload", WSGI]),
    "waitress": ("waitress", ["waitress", WSGI]),
    "uvicorn": ("uvicorn", ["uvicorn", "--lifespan", "on", ASGI]),
    "hypercorn": ("hypercorn", ["hypercorn", ASGI]),
    "hypercorn-one-process": ("hypercorn", ["hypercorn", "--workers", "0", ASGI]),
    "minilink-serve": ("minilink-serve", ["minilink", "serve", "--quiet"]),
}

#: Exit statuses each server ends with (see the module docstring).
EXIT = {"minilink-serve": (2,), "hypercorn": (0, 3)}

#: Bad settings: (variable, value; "{tmp}" is the test's folder) -> what the log says.
BAD = {
    "redirect-status": (
        ("MINILINK_REDIRECT_STATUS", "303"),
        "MINILINK_REDIRECT_STATUS must be one of 301, 302, 307, 308, not 303",
    ),
    "sqlite-dir-missing": (
        ("MINILINK_STORE", "{tmp}/missing/links.db"),
        "does not exist",
    ),
}

#: The other new checks, through one server each (how a server takes the exit does
#: not depend on which value was refused).
MORE = {
    "base-url-without-scheme": (
        ("MINILINK_BASE_URL", "sho.rt"),
        "MINILINK_BASE_URL must be an absolute http or https URL",
    ),
    "proxy-host-name": (
        ("MINILINK_TRUSTED_PROXIES", "10.0.0.1, localhost"),
        "MINILINK_TRUSTED_PROXIES must list IP addresses or CIDR networks",
    ),
}


def _bind(kind: str, port: int) -> list[str]:
    address = f"127.0.0.1:{port}"
    if kind.startswith("gunicorn"):
        return ["--bind", address, "--no-control-socket"]
    if kind == "waitress":
        return [f"--listen={address}"]
    if kind == "uvicorn":
        return ["--host", "127.0.0.1", "--port", str(port)]
    if kind.startswith("hypercorn"):
        return ["--bind", address]
    return ["--port", str(port)]


def refused(kind: str, setting: tuple[str, str], tmp_path: Path) -> tuple[int, str]:
    """Start ``kind`` with ``setting``; its exit status and log once it has ended."""
    needs, command = SERVERS[kind]
    live_servers.require(*live_servers.NEEDS[needs])
    name, value = setting
    env = live_servers.server_env()
    env["MINILINK_STORE"] = str(tmp_path / "links.db")
    env[name] = value.format(tmp=tmp_path)
    # The options go after the server's name; the application stays last.
    app = [command[-1]] if command[-1] in (WSGI, ASGI) else []
    args = command[: len(command) - len(app)] + _bind(kind, live_servers.free_port()) + app
    return run_until_it_ends([sys.executable, "-m", *args], env, tmp_path)


def run_until_it_ends(argv: list[str], env: dict[str, str], tmp_path: Path) -> tuple[int, str]:
    """Run ``argv`` in ``tmp_path``; its exit status and output once it has ended by
    itself, within ``DEADLINE`` (else the test fails). Its process group is killed."""
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            argv,
            cwd=tmp_path,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its workers in its group, killed with it
        )
        try:
            started = time.monotonic()
            try:
                status = proc.wait(timeout=DEADLINE)
            except subprocess.TimeoutExpired:
                pytest.fail(
                    f"{argv} was still running after {DEADLINE:.0f} s:\n"
                    + log.read_text(encoding="utf-8", errors="replace")[-3000:]
                )
            assert time.monotonic() - started < DEADLINE
        finally:
            with contextlib.suppress(ProcessLookupError):  # what is left of its group
                os.killpg(proc.pid, signal.SIGKILL)
            if proc.poll() is None:
                proc.wait(timeout=15)
    return status, log.read_text(encoding="utf-8", errors="replace")


#: gunicorn's own race, not minilink's: when two workers fail to boot at once, its
#: arbiter raises HaltServer for the second one while halting for the first, and prints
#: that traceback (gunicorn/arbiter.py, halt -> stop -> reap_workers), exiting 1.
_GUNICORN_DOUBLE_HALT = "gunicorn.errors.HaltServer: <HaltServer 'Worker failed to boot.' 3>"


def check(kind: str, status: int, text: str, says: str) -> None:
    tracebacks = text.count("Traceback (most recent call last)")
    if kind.startswith("gunicorn") and tracebacks:
        # Only gunicorn's double halt may print one: every traceback ends in it, and
        # none passes through minilink's code.
        assert text.count(_GUNICORN_DOUBLE_HALT) == tracebacks, text
        assert not re.search(r'File "[^"]*/minilink/', text), text
        assert status in (1, 3), f"exit status {status}\n{text}"  # 1: that uncaught halt
    else:
        assert "Traceback" not in text, text
        assert status in EXIT.get(kind, (3,)), f"exit status {status}\n{text}"
    lines = [line for line in text.splitlines() if says in line]
    # The same sentence, once per process that imported the app (two gthread workers
    # may both have booted before the arbiter stops).
    assert lines and len(set(lines)) == 1, text
    prefix = "minilink: error: " if kind == "minilink-serve" else "minilink cannot start: "
    assert lines[0].startswith(prefix), text


@pytest.mark.parametrize("bad", list(BAD))
@pytest.mark.parametrize("kind", list(SERVERS))
def test_server_refuses_to_start(kind: str, bad: str, tmp_path: Path) -> None:
    setting, says = BAD[bad]
    status, text = refused(kind, setting, tmp_path)
    check(kind, status, text, says)


@pytest.mark.parametrize("bad", list(MORE))
@pytest.mark.parametrize("kind", ["gunicorn-gthread", "uvicorn"])
def test_more_values_refused_at_start(kind: str, bad: str, tmp_path: Path) -> None:
    setting, says = MORE[bad]
    status, text = refused(kind, setting, tmp_path)
    check(kind, status, text, says)


def test_example_gunicorn_sh_without_its_data_directory(tmp_path: Path) -> None:
    """``examples/wsgi/gunicorn.sh`` as written, where ``/srv/minilink/data`` (its
    default store's directory) does not exist: it used to serve 503s."""
    live_servers.require(*live_servers.NEEDS["gunicorn-gthread"])
    if Path("/srv/minilink/data").exists():
        pytest.skip("/srv/minilink/data exists here")
    env = live_servers.server_env()
    bin_dir = str(Path(sys.executable).parent)  # where pip put gunicorn's command
    env["PATH"] = bin_dir + os.pathsep + env.get("PATH", "")
    env["BIND"] = f"127.0.0.1:{live_servers.free_port()}"
    script = live_servers.EXAMPLES / "wsgi" / "gunicorn.sh"
    status, text = run_until_it_ends(["sh", str(script)], env, tmp_path)
    check("gunicorn-gthread", status, text, "'/srv/minilink/data' of the SQLite database")
