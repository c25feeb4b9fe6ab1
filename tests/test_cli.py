"""The ``minilink`` command line, in process (``main([...])``) and as a real process.

Every run gets a clean environment (no ``MINILINK_*`` variable from the caller) and a
temporary working directory, so the default ``minilink.db`` never lands in the repo.
"""

from __future__ import annotations

import http.client
import io
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
from minilink.core.links import Link
from minilink.core.passwords import check_password
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

    def runner(
        *args: str, env: Optional[dict[str, str]] = None, stdin: Optional[str] = None
    ) -> Result:
        if how == "main":
            for key, value in (env or {}).items():
                monkeypatch.setenv(key, value)
            if stdin is not None:
                monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin.encode())))
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
            input=stdin if stdin is not None else "",
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
    commands = ("serve", "shorten", "resolve", "show", "edit", "stats", "list", "tags", "delete")
    for command in commands:
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


# -- managing links: show, edit, list, tags ----------------------------------------------

PASSWORD = "s3cret \u00e9 with spaces"


def _show(run: Runner, db: str, code: str) -> dict[str, str]:
    shown = run("show", code, "--store", db)
    assert shown.status == 0, shown.err
    fields = dict(line.split("\t", 1) for line in shown.lines)
    assert len(fields) == len(shown.lines)  # one line per field, none twice
    return fields


def _stored(db: str, code: str) -> Link:
    with open_store(db) as store:
        link = store.get(code)
    assert link is not None
    return link


def _export_of(db: str) -> list[str]:
    from minilink.transfer import export_jsonl

    out = io.StringIO()
    with open_store(db) as store:
        export_jsonl(store, out)
    return out.getvalue().splitlines()


def test_shorten_with_every_option_then_show(run: Runner, db: str) -> None:
    made = run(
        "shorten",
        "https://example.com/docs",
        "--store",
        db,
        "--title",
        "  The docs \u2713 ",
        "--tag",
        "Work",
        "--tag",
        "q4",
        "--tag",
        "work",
        "--redirect-status",
        "308",
        "--forward-query",
        "--fallback-url",
        "https://Example.com/after",
        "--max-visits",
        "5",
        "--password",
        stdin=PASSWORD + "\n",
    )
    assert made.status == 0, made.err
    code, target = made.lines
    assert target == "https://example.com/docs"
    shown = _show(run, db, code)
    assert shown == {
        "code": code,
        "short_url": "",
        "url": "https://example.com/docs",
        "state": "live",
        "title": "The docs \u2713",
        "tags": "work,q4",
        "created_at": shown["created_at"],
        "updated_at": "",
        "deleted_at": "",
        "expires_at": "",
        "max_visits": "5",
        "hits": "0",
        "alias": "false",
        "redirect_status": "308",
        "forward_query": "true",
        "fallback_url": "https://example.com/after",
        "password_protected": "true",
        "revision": "0",
    }
    stored = _stored(db, code)
    assert stored.password_hash is not None and PASSWORD not in stored.password_hash
    assert check_password(PASSWORD, stored.password_hash)  # the line break is not part of it
    assert not check_password(PASSWORD + "\n", stored.password_hash)


def test_edit_each_field_then_clear_each(run: Runner, db: str) -> None:
    env = {"MINILINK_BASE_URL": "https://sho.rt"}
    code = run("shorten", "https://example.com/old", "--store", db, env=env).lines[0]
    code = code.rsplit("/", 1)[1]
    edited = run(
        "edit",
        code,
        "--store",
        db,
        "--url",
        "HTTPS://Example.com/new",
        "--title",
        "New",
        "--tag",
        "a",
        "--tag",
        "b-2",
        "--expires-at",
        "2030-01-31T12:00:00+01:00",
        "--max-visits",
        "7",
        "--redirect-status",
        "301",
        "--forward-query",
        "--fallback-url",
        "https://example.com/fallback",
        "--password",
        "--if-revision",
        "0",
        stdin=PASSWORD,  # no line break at the end: fine too
        env=env,
    )
    assert edited.status == 0, edited.err
    printed = dict(line.split("\t", 1) for line in edited.lines)
    assert printed == _show(run, db, code) | {"short_url": f"https://sho.rt/{code}"}
    assert printed["short_url"] == f"https://sho.rt/{code}"
    assert (printed["url"], printed["title"], printed["tags"]) == (
        "https://example.com/new",
        "New",
        "a,b-2",
    )
    assert (printed["expires_at"], printed["max_visits"]) == ("2030-01-31T11:00:00Z", "7")
    assert (printed["redirect_status"], printed["forward_query"]) == ("301", "true")
    assert printed["fallback_url"] == "https://example.com/fallback"
    assert (printed["password_protected"], printed["revision"]) == ("true", "1")
    assert printed["updated_at"].endswith("Z")
    assert check_password(PASSWORD, _stored(db, code).password_hash or "")

    cleared = run(
        "edit",
        code,
        "--store",
        db,
        "--no-title",
        "--no-tags",
        "--no-expiry",
        "--no-max-visits",
        "--default-status",
        "--no-forward-query",
        "--no-fallback",
        "--no-password",
        "--if-revision",
        "1",
    )
    assert cleared.status == 0, cleared.err
    after = dict(line.split("\t", 1) for line in cleared.lines)
    for field in ("title", "tags", "expires_at", "max_visits", "redirect_status", "fallback_url"):
        assert after[field] == "", field
    assert (after["forward_query"], after["password_protected"]) == ("false", "false")
    assert (after["url"], after["revision"]) == ("https://example.com/new", "2")
    link = _stored(db, code)
    assert link.plain and link.password_hash is None  # nothing but its URL again

    # Only what is named changes.
    titled = run("edit", code, "--store", db, "--title", "Only this")
    assert titled.status == 0, titled.err
    assert _stored(db, code).replace(title=None, updated_at=None, revision=2) == link.replace(
        updated_at=None
    )


def test_edit_expires_in_counts_from_now(run: Runner, db: str) -> None:
    from datetime import datetime, timezone

    code = run("shorten", "https://example.com/", "--store", db).lines[0]
    before = datetime.now(timezone.utc)
    assert run("edit", code, "--expires-in", "3600", "--store", db).status == 0
    expires_at = _stored(db, code).expires_at
    assert expires_at is not None
    assert 3590 <= (expires_at - before).total_seconds() <= 3700
    # A time in the past expires the link at once (it is an edit, not a creation).
    past = run("edit", code, "--expires-at", "2001-01-01T00:00:00Z", "--store", db)
    assert past.status == 0, past.err
    assert dict(line.split("\t", 1) for line in past.lines)["state"] == "expired"
    assert run("resolve", code, "--store", db).status == 1


def test_a_stale_revision_changes_nothing(run: Runner, db: str) -> None:
    code = run("shorten", "https://example.com/", "--store", db).lines[0]
    assert run("edit", code, "--title", "First", "--store", db).status == 0
    before = _export_of(db)
    stale = run("edit", code, "--title", "Second", "--if-revision", "0", "--store", db)
    assert stale.status == 1
    assert stale.out == ""
    line = _one_sentence(stale.err)
    assert "revision 1, not 0" in line
    assert _export_of(db) == before


EDIT_ERRORS = [
    pytest.param(["edit", "nope", "--title", "x"], 1, "'nope'", id="unknown-code"),
    pytest.param(["edit", "gone", "--title", "x"], 1, "deleted", id="deleted"),
    pytest.param(["edit", "{code}"], 2, "nothing to change", id="no-change"),
    pytest.param(["edit", "{code}", "--url", "javascript:alert(1)"], 1, "scheme", id="bad-url"),
    pytest.param(
        ["edit", "{code}", "--fallback-url", "ftp://e.com/"],
        1,
        "--fallback-url: the scheme 'ftp'",
        id="bad-fallback",
    ),
    pytest.param(
        ["edit", "{code}", "--url", "https://e.com/", "--fallback-url", "https://a@e.com/"],
        1,
        "--fallback-url: urls with a user name",
        id="bad-fallback-good-url",
    ),
    pytest.param(
        ["edit", "{code}", *[f"--tag=t{n}" for n in range(11)]], 1, "10 tags", id="eleven-tags"
    ),
    pytest.param(
        ["edit", "{code}", "--expires-at", "2999-01-01T00:00:00Z"],
        1,
        "--expires-at must be within 100 years",
        id="expiry-too-far",
    ),
    pytest.param(["edit", "{code}", "--password"], 1, "no password", id="password-empty-stdin"),
    pytest.param(
        ["edit", "{code}", "--url", "https://example.com/{code}", "--store", "{dir}"],
        2,
        "is a directory",
        id="store-is-a-directory",
    ),
]


@pytest.mark.parametrize(("args", "status", "needle"), EDIT_ERRORS)
def test_edit_errors_are_one_sentence_and_change_nothing(
    run: Runner, db: str, tmp_path: Path, args: list[str], status: int, needle: str
) -> None:
    code = run("shorten", "https://example.com/", "--alias", "kept", "--store", db).lines[0]
    assert run("shorten", "https://example.com/g", "--alias", "gone", "--store", db).status == 0
    assert run("delete", "gone", "--store", db).status == 0
    args = [a.replace("{code}", code).replace("{dir}", str(tmp_path)) for a in args]
    before = _export_of(db)
    env = {} if "--store" in args else {"MINILINK_STORE": db}
    result = run(*args, env=env, stdin="")
    assert result.status == status, result
    assert result.out == ""
    assert needle.lower() in _one_sentence(result.err).lower()
    assert _export_of(db) == before


EDIT_USAGE = [
    pytest.param(["--tag", "Not a tag"], id="bad-tag"),
    pytest.param(["--tag", "x" * 33], id="long-tag"),
    pytest.param(["--title", "x", "--no-title"], id="title-and-no-title"),
    pytest.param(["--title", "   "], id="empty-title"),
    pytest.param(["--title", "x" * 201], id="long-title"),
    pytest.param(["--title", "tab\there"], id="title-with-a-tab"),
    pytest.param(["--tag", "a", "--no-tags"], id="tag-and-no-tags"),
    pytest.param(["--redirect-status", "303"], id="status-303"),
    pytest.param(["--redirect-status", "301", "--default-status"], id="status-and-default"),
    pytest.param(["--forward-query", "--no-forward-query"], id="forward-both"),
    pytest.param(["--fallback-url", "https://e.com/", "--no-fallback"], id="fallback-both"),
    pytest.param(["--password=hunter2"], id="password-on-the-command-line"),
    pytest.param(["--password", "--no-password"], id="password-both"),
    pytest.param(["--expires-at", "2030-01-01T00:00:00Z", "--no-expiry"], id="expiry-both"),
    pytest.param(["--expires-in", "0"], id="expires-in-zero"),
    pytest.param(["--max-visits", "3", "--no-max-visits"], id="visits-both"),
    pytest.param(["--if-revision", "-1"], id="negative-revision"),
    pytest.param(["--if-revision", "r1"], id="revision-not-a-number"),
]


@pytest.mark.parametrize("extra", EDIT_USAGE)
def test_edit_usage_errors_exit_2(
    extra: list[str], db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["--store", db, "edit", "x", *extra]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("usage: minilink edit")
    assert "error:" in captured.err.strip().splitlines()[-1]
    assert not Path(db).exists()  # refused before the store was opened


def test_shorten_usage_errors_for_options_exit_2(
    db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    for extra in (["--tag", "A B"], ["--redirect-status", "200"], ["--no-title"]):
        assert cli.main(["--store", db, "shorten", "https://e.com/", *extra]) == 2
        err = capsys.readouterr().err
        assert err.startswith("usage: minilink")
        assert "error:" in err.strip().splitlines()[-1]
    assert not Path(db).exists()


class _Terminal:
    """A stdin that is a terminal (and must not be read: getpass asks instead)."""

    def isatty(self) -> bool:
        return True


def test_the_password_is_asked_twice_on_a_terminal(
    db: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import getpass

    answers: list[str] = []
    prompts: list[str] = []

    def ask(prompt: str = "") -> str:
        prompts.append(prompt)
        return answers.pop(0)

    monkeypatch.setattr(sys, "stdin", _Terminal())
    monkeypatch.setattr(getpass, "getpass", ask)
    assert cli.main(["--store", db, "shorten", "https://example.com/", "--alias", "p"]) == 0
    answers[:] = ["one", "two"]
    assert cli.main(["--store", db, "edit", "p", "--password"]) == 1
    assert "differ" in _one_sentence(capsys.readouterr().err)
    assert _stored(db, "p").password_hash is None
    answers[:] = [PASSWORD, PASSWORD]
    assert cli.main(["--store", db, "edit", "p", "--password"]) == 0
    assert len(prompts) == 4
    assert check_password(PASSWORD, _stored(db, "p").password_hash or "")


def test_a_password_on_stdin_must_be_utf8(db: str) -> None:
    assert cli.main(["--store", db, "shorten", "https://example.com/", "--alias", "p"]) == 0
    done = subprocess.run(
        [sys.executable, "-m", "minilink", "--store", db, "edit", "p", "--password"],
        input=b"\xff\xfe\n",
        capture_output=True,
        env=_clean_env(),
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert "not UTF-8" in _one_sentence(done.stderr.decode())
    assert _stored(db, "p").password_hash is None


def _listing(run: Runner, db: str, *args: str) -> list[list[str]]:
    listed = run("list", "--store", db, *args)
    assert listed.status == 0, listed.err
    rows = [line.split("\t") for line in listed.lines]
    assert all(len(row) == 7 for row in rows), rows
    return rows


def _codes(run: Runner, db: str, *args: str) -> list[str]:
    return [row[0] for row in _listing(run, db, *args)]


@pytest.fixture
def catalogue(db: str) -> str:
    """Links to search: titles, tags, hits, an edit, an expired link and a tombstone,
    made a minute apart (ending a little before now)."""
    from datetime import datetime, timedelta, timezone

    start = datetime.now(timezone.utc) - timedelta(hours=2)
    ticks = iter(range(10_000))

    def clock() -> datetime:
        return start + timedelta(minutes=next(ticks))

    with open_store(db) as store:
        sl = Shortener(store, Config(rate_limit=0), clock=clock)
        sl.shorten(
            "https://example.com/alpha", alias="alpha", title="Quarterly REPORT", tags=["work"]
        )
        sl.shorten("https://example.org/beta", alias="beta", tags=["work", "home"])
        sl.shorten("https://example.net/gamma", alias="gamma", title="Holiday photos")
        sl.shorten("https://example.com/old", alias="old", expires_in=86400)
        sl.shorten("https://example.com/gone", alias="gone", tags=["home"])
        for _ in range(3):
            sl.visit("beta")
        sl.visit("gamma")
        sl.update("alpha", url="https://example.com/alpha2")
        sl.update("old", expires_at=datetime(2001, 1, 1, tzinfo=timezone.utc))
        sl.delete("gone")
    return db


def test_list_rows_and_the_default_state(run: Runner, catalogue: str) -> None:
    rows = _listing(run, catalogue)
    assert [row[0] for row in rows] == ["gamma", "beta", "alpha"]  # live, newest first
    gamma, beta, alpha = rows
    assert gamma[1:2] + gamma[3:] == [
        "https://example.net/gamma",
        "1",
        "live",
        "",
        "Holiday photos",
    ]
    assert gamma[2].endswith("Z")
    assert beta[3:] == ["3", "live", "work,home", ""]
    assert alpha[1] == "https://example.com/alpha2"
    assert alpha[4:] == ["live", "work", "Quarterly REPORT"]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        pytest.param(["--search", "report"], ["alpha"], id="title-any-case"),
        pytest.param(["--search", "EXAMPLE.COM"], ["alpha"], id="url-any-case"),
        pytest.param(["--search", "amm"], ["gamma"], id="code"),
        pytest.param(["--search", "nothing like it"], [], id="no-match"),
        pytest.param(["--search", ""], ["gamma", "beta", "alpha"], id="empty-search"),
        pytest.param(["--tag", "work"], ["beta", "alpha"], id="tag"),
        pytest.param(["--tag", "WORK"], ["beta", "alpha"], id="tag-any-case"),
        pytest.param(["--tag", "home"], ["beta"], id="tag-without-the-deleted"),
        pytest.param(["--tag", "home", "--state", "deleted"], ["gone"], id="tag-deleted"),
        pytest.param(["--tag", "work", "--search", "beta"], ["beta"], id="tag-and-search"),
        pytest.param(["--state", "expired"], ["old"], id="expired"),
        pytest.param(["--state", "deleted"], ["gone"], id="deleted"),
        pytest.param(["--state", "all"], ["gone", "old", "gamma", "beta", "alpha"], id="all"),
        pytest.param(["--sort", "hits"], ["beta", "gamma", "alpha"], id="by-hits"),
        pytest.param(["--sort", "updated"], ["alpha", "gamma", "beta"], id="by-update"),
        pytest.param(["--sort", "hits", "--limit", "1", "--after", "beta"], ["gamma"], id="page"),
    ],
)
def test_list_search_tag_state_and_sort(
    run: Runner, catalogue: str, args: list[str], expected: list[str]
) -> None:
    assert _codes(run, catalogue, *args) == expected


def test_list_states_are_printed(run: Runner, catalogue: str) -> None:
    states = {row[0]: row[4] for row in _listing(run, catalogue, "--state", "all")}
    assert states == {
        "gone": "deleted",
        "old": "expired",
        "gamma": "live",
        "beta": "live",
        "alpha": "live",
    }


def test_list_pages_through_a_search(run: Runner, catalogue: str) -> None:
    seen: list[str] = []
    after: list[str] = []
    while True:
        page = _codes(run, catalogue, "--state", "all", "--limit", "2", *after)
        if not page:
            break
        seen += page
        after = ["--after", page[-1]]
    assert seen == ["gone", "old", "gamma", "beta", "alpha"]


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        pytest.param(["--after", "nope"], "no link with the code 'nope'", id="unknown"),
        pytest.param(
            ["--after", "gone"], "'gone' is not in this listing (it is deleted)", id="deleted"
        ),
        pytest.param(
            ["--tag", "home", "--after", "alpha"], "(it does not match)", id="not-matching"
        ),
    ],
)
def test_list_after_a_code_the_listing_does_not_hold(
    run: Runner, catalogue: str, args: list[str], needle: str
) -> None:
    result = run("list", "--store", catalogue, *args)
    assert result.status == 1
    assert result.out == ""
    assert needle in _one_sentence(result.err)


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["--state", "gone"], id="unknown-state"),
        pytest.param(["--sort", "title"], id="unknown-sort"),
        pytest.param(["--tag", "no spaces"], id="bad-tag"),
        pytest.param(["--limit", "1001"], id="limit-too-large"),
    ],
)
def test_list_usage_errors_exit_2(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["list", *args]) == 2
    assert capsys.readouterr().err.startswith("usage: minilink list")


def test_tags(run: Runner, catalogue: str) -> None:
    listed = run("tags", "--store", catalogue)
    assert listed.status == 0, listed.err
    assert listed.lines == ["home\t1", "work\t2"]  # by name; the deleted link not counted


def test_tags_of_a_store_without_tags_prints_nothing(run: Runner, db: str) -> None:
    assert run("shorten", "https://example.com/", "--store", db).status == 0
    assert run("tags", "--store", db) == Result(0, "", "")


def test_show_unknown_and_deleted(run: Runner, catalogue: str) -> None:
    unknown = run("show", "nope", "--store", catalogue)
    assert unknown.status == 1
    assert "'nope'" in _one_sentence(unknown.err)
    gone = _show(run, catalogue, "gone")
    assert gone["state"] == "deleted"
    assert gone["deleted_at"].endswith("Z")
    assert _show(run, catalogue, "old")["state"] == "expired"


def test_reading_commands_do_not_create_the_store(run: Runner, tmp_path: Path) -> None:
    missing = str(tmp_path / "missing.db")
    for args in (["tags"], ["show", "x"], ["list", "--search", "x"]):
        result = run(*args, "--store", missing)
        assert result.status == 2
        assert "does not exist" in _one_sentence(result.err)
    assert not Path(missing).exists()


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
