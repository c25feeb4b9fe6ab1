"""The command line as a user who may not write the database: reading needs no write
access, and a permission problem is named as one.

Root reads and writes anything, so these tests run the CLI as ``nobody`` (through
``setpriv``) on a database root owns, in a folder root owns; they are skipped when
that is impossible (not root, no ``setpriv``, or ``nobody`` cannot run this Python).
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from minilink.storage.sqlite import SQLiteStore
from minilink.testing.contract import make_link

REPO = Path(__file__).resolve().parents[1]
NOBODY = 65534


def _as_nobody(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MINILINK_")}
    env["PYTHONPATH"] = str(REPO)
    return subprocess.run(
        [
            "setpriv",
            f"--reuid={NOBODY}",
            f"--regid={NOBODY}",
            "--clear-groups",
            sys.executable,
            "-m",
            "minilink",
            *args,
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd="/",
        timeout=60,
        check=False,
    )


def _one_sentence(err: str) -> str:
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("minilink: error: ")
    return lines[0]


@pytest.fixture(scope="module")
def _nobody_can_run() -> None:
    if sys.platform == "win32" or os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv to run the CLI as another user")
    done = _as_nobody("--help")
    if done.returncode != 0:
        pytest.skip(f"nobody cannot run minilink from here: {done.stderr.strip()[:200]}")


@pytest.fixture
def folder(_nobody_can_run: None) -> Iterator[Path]:
    """A folder root owns (0755) that nobody can enter but not write: pytest's own
    temporary folders are private to root."""
    path = Path(tempfile.mkdtemp(prefix="minilink-perm-"))
    try:
        path.chmod(0o755)
        yield path
    finally:
        shutil.rmtree(path)


@pytest.fixture
def db(folder: Path) -> str:
    path = folder / "links.db"
    with SQLiteStore(path) as store:
        store.insert(make_link("first"))
        store.insert(make_link("second", url="https://example.com/2", tags=("work",)))
        store.hit("first", "2026-11-28", count=2)
    path.chmod(0o644)
    assert sorted(p.name for p in folder.iterdir()) == ["links.db"]  # no -wal, no -shm
    return str(path)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        pytest.param(["list"], ["second", "first"], id="list"),
        pytest.param(["resolve", "first"], ["https://example.com/first"], id="resolve"),
        pytest.param(["stats", "first", "--days", "1"], None, id="stats"),
        pytest.param(
            ["list", "--search", "example", "--state", "all", "--sort", "hits"],
            ["first", "second"],
            id="list-search",
        ),
        pytest.param(["tags"], ["work\t1"], id="tags"),
        pytest.param(["show", "first"], None, id="show"),
    ],
)
def test_reading_needs_no_write_access(
    db: str, folder: Path, args: list[str], expected: list[str] | None
) -> None:
    done = _as_nobody("--store", db, *args)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    if args[0] == "list":
        assert [line.split("\t")[0] for line in done.stdout.splitlines()] == expected
    elif expected is not None:
        assert done.stdout.splitlines() == expected
    elif args[0] == "show":
        assert "hits\t2" in done.stdout.splitlines()
    else:
        assert done.stdout.splitlines()[0] == "total\t2"
    assert sorted(p.name for p in folder.iterdir()) == ["links.db"]


def test_a_backup_can_be_taken_by_a_user_who_cannot_write(db: str, folder: Path) -> None:
    done = _as_nobody("--store", db, "export")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert [json.loads(line)["code"] for line in lines[1:]] == ["first", "second"]
    assert json.loads(lines[1])["hits"] == 2


def test_reading_while_a_writer_has_the_database_open_sees_its_commits(db: str) -> None:
    # A running server keeps -wal and -shm beside the file; its latest commits may be
    # in the -wal only, and a read-only reader must see them.
    writer = sqlite3.connect(db, isolation_level=None)
    try:
        writer.execute("PRAGMA wal_autocheckpoint=0")
        writer.execute("SELECT count(*) FROM links").fetchone()  # holds the WAL open
        with SQLiteStore(db) as store:
            store.insert(make_link("third", url="https://example.com/3"))
        os.chmod(db + "-shm", 0o644)
        os.chmod(db + "-wal", 0o644)
        done = _as_nobody("--store", db, "list")
    finally:
        writer.close()
    assert done.returncode == 0, done.stderr
    assert [line.split("\t")[0] for line in done.stdout.splitlines()] == [
        "third",
        "second",
        "first",
    ]


def test_writing_a_read_only_database_names_the_permission(db: str) -> None:
    done = _as_nobody("--store", db, "shorten", "https://example.com/new")
    assert done.returncode == 2
    line = _one_sentence(done.stderr)
    assert "permission denied" in line.lower()
    assert db in line


def test_editing_a_read_only_database_names_the_permission(db: str) -> None:
    done = _as_nobody("--store", db, "edit", "first", "--title", "x")
    assert done.returncode == 2
    line = _one_sentence(done.stderr)
    assert "permission denied" in line.lower()
    with SQLiteStore(db) as store:
        link = store.get("first")
    assert link is not None and link.title is None


def test_an_unreadable_file_names_the_permission(db: str) -> None:
    os.chmod(db, 0o600)
    done = _as_nobody("--store", db, "list")
    assert done.returncode == 2
    line = _one_sentence(done.stderr)
    assert "permission denied" in line.lower()
    assert "read" in line


def test_a_new_database_in_a_folder_nobody_may_write_names_the_folder(folder: Path) -> None:
    done = _as_nobody("--store", str(folder / "new.db"), "shorten", "https://example.com/")
    assert done.returncode == 2
    line = _one_sentence(done.stderr)
    assert "permission denied" in line.lower()
    assert str(folder) in line
    assert not (folder / "new.db").exists()


def test_export_to_a_folder_nobody_may_write_names_the_path_given(db: str, folder: Path) -> None:
    target = str(folder / "backup.jsonl")
    done = _as_nobody("--store", db, "export", "-o", target)
    assert done.returncode != 0
    line = _one_sentence(done.stderr)
    assert target in line
    assert ".minilink-export-" not in line
