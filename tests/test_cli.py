"""The ``minilink`` command line, in process (``main([...])``) and as a real process.

Every run gets a clean environment (no ``MINILINK_*`` variable from the caller) and a
temporary working directory, so the default ``minilink.db`` never lands in the repo.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import pytest

from minilink import cli
from minilink.core.config import Config
from minilink.core.service import Shortener
from minilink.storage import open_store

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Result:
    status: int
    out: str
    err: str

    @property
    def lines(self) -> list[str]:
        return self.out.splitlines()


Runner = Callable[..., Result]


def _clean_env(extra: Optional[dict[str, str]] = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MINILINK_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env.update(extra or {})
    return env


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith("MINILINK_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def db(tmp_path: Path) -> str:
    return str(tmp_path / "links.db")


def _console_script() -> Optional[str]:
    found = Path(sys.executable).with_name("minilink")
    return str(found) if found.exists() else shutil.which("minilink")


@pytest.fixture(params=["main", "module", "script"])
def run(
    request: pytest.FixtureRequest,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> Runner:
    """Run the CLI in process, as ``python -m minilink`` or as the console script."""
    how = request.param
    script = _console_script()
    if how == "script" and script is None:
        pytest.skip("the minilink console script is not installed")

    def runner(*args: str, env: Optional[dict[str, str]] = None) -> Result:
        if how == "main":
            for key, value in (env or {}).items():
                monkeypatch.setenv(key, value)
            capsys.readouterr()
            status = cli.main(list(args))
            captured = capsys.readouterr()
            for key in env or {}:
                monkeypatch.delenv(key)
            return Result(status, captured.out, captured.err)
        command = [sys.executable, "-m", "minilink"] if how == "module" else [str(script)]
        done = subprocess.run(
            [*command, *args],
            capture_output=True,
            text=True,
            env=_clean_env(env),
            timeout=60,
            check=False,
        )
        return Result(done.returncode, done.stdout, done.stderr)

    return runner


def _one_sentence(err: str) -> str:
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("minilink: error: ")
    return lines[0]


# -- the round trip ---------------------------------------------------------------------


def test_round_trip(run: Runner, db: str) -> None:
    made = run("shorten", "HTTPS://Example.COM:443", "--store", db)
    assert made.status == 0, made.err
    code, target = made.lines
    assert target == "https://example.com/"
    assert made.err == ""

    assert run("resolve", code, "--store", db).lines == [target]

    stats = run("stats", code, "--days", "3", "--store", db)
    assert stats.status == 0
    assert stats.lines[0] == "total\t0"
    assert len(stats.lines) == 4
    assert all(line.split("\t")[1] == "0" for line in stats.lines[1:])
    days = [line.split("\t")[0] for line in stats.lines[1:]]
    assert days == sorted(days)

    more = [run("--store", db, "shorten", f"https://example.com/{n}").lines[0] for n in (1, 2)]
    first = run("list", "--limit", "2", "--store", db)
    assert first.status == 0
    rows = [line.split("\t") for line in first.lines]
    assert [row[0] for row in rows] == [more[1], more[0]]  # newest first
    assert rows[0][1] == "https://example.com/2"
    assert rows[0][2].endswith("Z")
    assert rows[0][3] == "0"
    rest = run("list", "--limit", "2", "--after", rows[-1][0], "--store", db)
    assert [line.split("\t")[:2] for line in rest.lines] == [[code, target]]

    deleted = run("delete", code, "--store", db)
    assert (deleted.status, deleted.out, deleted.err) == (0, "", "")

    gone = run("resolve", code, "--store", db)
    assert gone.status == 1
    assert gone.out == ""
    _one_sentence(gone.err)


def test_store_from_environment_and_base_url(run: Runner, db: str) -> None:
    env = {"MINILINK_STORE": db, "MINILINK_BASE_URL": "https://sho.rt/s/"}
    made = run("shorten", "https://example.com/x", "--alias", "docs", env=env)
    assert made.status == 0, made.err
    assert made.lines == ["https://sho.rt/s/docs", "https://example.com/x"]
    assert run("resolve", "docs", "--store", db).lines == ["https://example.com/x"]


# -- errors -----------------------------------------------------------------------------

ERRORS = [
    pytest.param(["shorten", "javascript:alert(1)"], {}, 1, "scheme", id="bad-url-scheme"),
    pytest.param(["shorten", "https://a@evil.example/"], {}, 1, "user", id="bad-url-userinfo"),
    pytest.param(["shorten", "not a url"], {}, 1, "", id="bad-url-text"),
    pytest.param(
        ["shorten", "https://example.com/", "--alias", "a b"], {}, 1, "alias", id="bad-alias"
    ),
    pytest.param(
        ["shorten", "https://example.com/", "--alias", "api"], {}, 1, "reserved", id="reserved"
    ),
    pytest.param(["resolve", "nope"], {}, 1, "nope", id="resolve-unknown"),
    pytest.param(["stats", "nope"], {}, 1, "nope", id="stats-unknown"),
    pytest.param(["delete", "nope"], {}, 1, "nope", id="delete-unknown"),
    pytest.param(["resolve", "x", "--store", "foo://bar"], {}, 2, "scheme", id="bad-store-scheme"),
    pytest.param(["resolve", "x", "--store", ""], {}, 2, "empty", id="empty-store"),
    pytest.param(
        ["resolve", "x", "--store", "{file}/links.db"], {}, 2, "links.db", id="store-under-a-file"
    ),
    pytest.param(["list", "--store", "{dir}"], {}, 2, "database", id="store-is-a-directory"),
    pytest.param(["list", "--store", "{dir}"], {}, 2, "is a directory", id="read-a-directory"),
    pytest.param(
        ["shorten", "https://e.com/", "--store", "{dir}"],
        {},
        2,
        "is a directory",
        id="write-a-directory",
    ),
    pytest.param(
        ["shorten", "https://e.com/", "--store", "{dir}/none/links.db"],
        {},
        2,
        "does not exist",
        id="write-in-a-missing-directory",
    ),
    pytest.param(
        ["list", "--store", "{dir}/missing.db"], {}, 2, "does not exist", id="read-a-missing-file"
    ),
    pytest.param(
        ["shorten", "https://e.com/", "--expires-at", "2001-01-01T00:00:00Z"],
        {},
        1,
        "--expires-at must be in the future",
        id="expires-at-in-the-past",
    ),
    pytest.param(["list", "--after", "nope"], {}, 1, "'nope'", id="list-after-unknown"),
    pytest.param(
        ["cgi-script", "--store", "foo://x"], {}, 2, "'foo'", id="cgi-script-unknown-scheme"
    ),
    pytest.param(["list", "--store", "{junk}"], {}, 2, "database", id="store-not-a-database"),
    pytest.param(
        ["resolve", "x"],
        {"MINILINK_REDIRECT_STATUS": "303"},
        2,
        "MINILINK_REDIRECT_STATUS",
        id="bad-redirect-status",
    ),
    pytest.param(
        ["resolve", "x"],
        {"MINILINK_CODE_LENGTH": "seven"},
        2,
        "MINILINK_CODE_LENGTH",
        id="bad-code-length",
    ),
    pytest.param(
        ["serve", "--port", "0"],
        {"MINILINK_STORE": "foo://bar"},
        2,
        "scheme",
        id="serve-bad-store",
    ),
]


@pytest.mark.parametrize(("args", "env", "status", "needle"), ERRORS)
def test_errors_are_one_sentence(
    run: Runner,
    db: str,
    tmp_path: Path,
    args: list[str],
    env: dict[str, str],
    status: int,
    needle: str,
) -> None:
    afile = tmp_path / "afile"
    afile.write_text("not a directory")
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not an SQLite database, whatever its name says" * 100)
    places = {"{file}": str(afile), "{dir}": str(tmp_path), "{junk}": str(junk)}
    for mark, place in places.items():
        args = [a.replace(mark, place) for a in args]
    if "--store" not in args:
        env = {"MINILINK_STORE": db, **env}
        with open_store(db) as store:  # read-only commands do not create the database
            store.ping()
    result = run(*args, env=env)
    assert result.status == status, result
    assert result.out == ""
    line = _one_sentence(result.err)
    assert needle.lower() in line.lower()


def test_list_after_the_last_code_is_empty_and_fine(db: str) -> None:
    assert cli.main(["--store", db, "shorten", "https://example.com/"]) == 0
    with open_store(db) as store:
        (only,) = store.recent(1)
    assert cli.main(["--store", db, "list", "--after", only.code]) == 0


def test_cgi_script_does_not_open_the_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The script runs on the web host: its store need not exist here, nor its folder.
    where = str(tmp_path / "on-the-host" / "links.db")
    assert cli.main(["cgi-script", "--store", where]) == 0
    assert repr(where) in capsys.readouterr().out
    assert not (tmp_path / "on-the-host").exists()


@pytest.mark.skipif(sys.platform == "win32" or os.geteuid() == 0, reason="root reads any directory")
def test_unreadable_store_directory(run: Runner, tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0)
    try:
        result = run("list", "--store", str(locked / "links.db"))
    finally:
        locked.chmod(0o700)
    assert result.status == 2
    assert "store" in _one_sentence(result.err)


USAGE = [
    pytest.param([], id="no-command"),
    pytest.param(["frobnicate"], id="unknown-command"),
    pytest.param(["shorten"], id="missing-url"),
    pytest.param(["shorten", "https://e.com/", "--expires-in", "-5"], id="negative-expiry"),
    pytest.param(["shorten", "https://e.com/", "--expires-in", "nan"], id="nan-expiry"),
    pytest.param(
        ["shorten", "https://e.com/", "--expires-at", "2030-01-01T00:00:00"], id="naive-time"
    ),
    pytest.param(
        ["shorten", "https://e.com/", "--expires-in", "5", "--expires-at", "2030-01-01Z"],
        id="two-expiries",
    ),
    pytest.param(["shorten", "https://e.com/", "--max-visits", "0"], id="zero-visits"),
    pytest.param(["stats", "x", "--days", "367"], id="too-many-days"),
    pytest.param(["list", "--limit", "0"], id="zero-limit"),
    pytest.param(["serve", "--port", "70000"], id="bad-port"),
    pytest.param(["serve", "--server", "tornado"], id="unknown-server"),
]


@pytest.mark.parametrize("args", USAGE)
def test_usage_errors_exit_2(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(args) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("usage: minilink")
    assert "error:" in captured.err.strip().splitlines()[-1]
    assert "Traceback" not in captured.err


def test_help_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    for command in ("serve", "shorten", "resolve", "stats", "list", "delete"):
        assert command in out
    assert "exit status" in out


def test_alias_taken(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--store", db, "shorten", "https://example.com/", "--alias", "x"]) == 0
    assert cli.main(["--store", db, "shorten", "https://example.org/", "--alias", "x"]) == 1
    assert "taken" in _one_sentence(capsys.readouterr().err)


def test_expiry_and_visit_limit(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--store", db, "shorten", "https://example.com/once", "--max-visits", "1"]
    assert cli.main([*args, "--expires-at", "2999-01-01T00:00:00Z"]) == 1  # > 100 years
    assert "--expires-at" in _one_sentence(capsys.readouterr().err)
    assert cli.main([*args, "--expires-in", "3600"]) == 0
    code = capsys.readouterr().out.splitlines()[0]
    with open_store(db) as store:
        Shortener(store, Config()).visit(code)
    assert cli.main(["--store", db, "stats", code, "--days", "1"]) == 1  # used up: gone
    assert code in _one_sentence(capsys.readouterr().err)


def test_stats_count_visits(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--store", db, "shorten", "https://example.com/"]) == 0
    code = capsys.readouterr().out.splitlines()[0]
    with open_store(db) as store:
        shortener = Shortener(store, Config())
        shortener.visit(code)
        shortener.visit(code)
    assert cli.main(["--store", db, "stats", code, "--days", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "total\t2"
    assert lines[-1].endswith("\t2")  # today, the last day
    assert lines[1].endswith("\t0")


def test_interrupt_exits_130_quietly(
    db: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(Shortener, "shorten", interrupted)
    assert cli.main(["--store", db, "shorten", "https://example.com/"]) == 130
    assert capsys.readouterr().err == ""


def test_unexpected_error_is_one_sentence_unless_traceback_asked(
    db: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(Shortener, "resolve", broken)
    with open_store(db) as store:
        store.ping()
    assert cli.main(["--store", db, "resolve", "x"]) == 1
    assert "RuntimeError: boom" in _one_sentence(capsys.readouterr().err)
    with pytest.raises(RuntimeError, match="boom"):
        cli.main(["--traceback", "--store", db, "resolve", "x"])


@pytest.mark.parametrize("server", ["gunicorn", "waitress", "uvicorn", "hypercorn"])
def test_missing_server_names_the_install(
    server: str, db: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, server, None)  # makes "import server" fail
    assert cli.main(["serve", "--server", server, "--store", db, "--port", "0"]) == 2
    line = _one_sentence(capsys.readouterr().err)
    assert f"pip install {server}" in line


def test_serve_port_in_use(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        status = cli.main(["serve", "--port", str(port), "--store", db])
    assert status == 2
    assert f"127.0.0.1:{port}" in _one_sentence(capsys.readouterr().err)


# -- serve, for real --------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _wait_for_port(proc: subprocess.Popen[str], port: int, deadline: float) -> None:
    while True:
        if proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"serve exited with {proc.returncode}:\n{out}\n{err}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                pytest.fail(f"nothing listened on port {port} in time")
            time.sleep(0.05)


@pytest.fixture
def server_process(db: str) -> Iterator[Callable[..., tuple[subprocess.Popen[str], int]]]:
    started: list[subprocess.Popen[str]] = []

    def start(*extra: str) -> tuple[subprocess.Popen[str], int]:
        port = _free_port()
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "minilink",
                "serve",
                "--port",
                str(port),
                "--store",
                db,
                *list(extra),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=_clean_env(),
            # A shell running the tests in the background ignores SIGINT, and a child
            # would inherit that; the SIGINT test needs the default disposition.
            preexec_fn=_default_sigint,
        )
        started.append(proc)
        _wait_for_port(proc, port, time.monotonic() + 30)
        return proc, port

    try:
        yield start
    finally:
        for proc in started:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()


@pytest.mark.parametrize(
    ("server", "stop"),
    [
        pytest.param("wsgiref", signal.SIGTERM, id="wsgiref-sigterm"),
        pytest.param("wsgiref", signal.SIGINT, id="wsgiref-sigint"),
        pytest.param("waitress", signal.SIGTERM, id="waitress"),
        pytest.param("gunicorn", signal.SIGTERM, id="gunicorn"),
        pytest.param("uvicorn", signal.SIGTERM, id="uvicorn"),
        pytest.param("hypercorn", signal.SIGTERM, id="hypercorn-sigterm"),
        pytest.param("hypercorn", signal.SIGINT, id="hypercorn-sigint"),
    ],
)
def test_serve(
    server: str,
    stop: signal.Signals,
    db: str,
    server_process: Callable[..., tuple[subprocess.Popen[str], int]],
) -> None:
    if server != "wsgiref":
        pytest.importorskip(server)
    if sys.platform == "win32":
        pytest.skip("signals differ on Windows")
    proc, port = server_process("--server", server)
    try:
        base = f"http://127.0.0.1:{port}"
        request = urllib.request.Request(
            base + "/api/links",
            data=json.dumps({"url": "https://example.com/served"}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 201
            code = json.load(response)["code"]
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            conn.request("GET", f"/{code}")
            answer = conn.getresponse()
            answer.read()
        finally:
            conn.close()
        assert answer.status == 302
        assert answer.getheader("Location") == "https://example.com/served"
    finally:
        proc.send_signal(stop)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert f"serving on http://127.0.0.1:{port}/ ({server}" in out
    # A clean stop closed the store: the visit was written.
    with open_store(db) as store:
        assert Shortener(store, Config()).resolve(code).hits == 1


@pytest.mark.slow
@pytest.mark.parametrize("server", ["wsgiref", "uvicorn"])
def test_serve_store_option_wins_over_a_bad_environment(
    server: str, db: str, tmp_path: Path
) -> None:
    # The entry-point modules refuse a bad MINILINK_STORE when imported; --store is
    # the store serve uses, so the environment's must not stop it.
    pytest.importorskip(server) if server != "wsgiref" else None
    port = _free_port()
    env = _clean_env({"MINILINK_STORE": str(tmp_path / "no" / "such" / "dir" / "x.db")})
    command = [sys.executable, "-m", "minilink", "serve", "--port", str(port), "--store", db]
    proc = subprocess.Popen(
        [*command, "--server", server],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        _wait_for_port(proc, port, time.monotonic() + 30)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as answer:
            assert answer.read() == b"ok"
    finally:
        proc.terminate()
        proc.communicate(timeout=30)
