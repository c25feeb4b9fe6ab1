"""The SQLite store: the contract, plus what only a shared file has to prove.

Cross-process tests start real interpreters (``sys.executable``) that each open the
same file, wait for a start signal so that they really run at once, and print what
they did as JSON for the test to check.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import closing
from datetime import datetime
from pathlib import Path

import pytest

from minilink.core.errors import StoreUnavailable
from minilink.storage.sqlite import SCHEMA_VERSION, SQLiteStore
from minilink.testing.contract import DAY, T0, StoreContract, make_link

ROOT = Path(__file__).resolve().parents[2]


class TestSQLiteStore(StoreContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[SQLiteStore]:
        s = SQLiteStore(tmp_path / "links.db")
        yield s
        s.close()

    @pytest.fixture
    def other_store(self, tmp_path: Path) -> Iterator[SQLiteStore]:
        # A second store object on the same file: its own connections, as another
        # process would have.
        s = SQLiteStore(tmp_path / "links.db")
        yield s
        s.close()

    @pytest.fixture
    def unreachable_store(self, tmp_path: Path) -> Iterator[SQLiteStore]:
        # A file in a folder that does not exist: SQLite cannot open it.
        s = SQLiteStore(tmp_path / "no" / "such" / "folder" / "links.db")
        yield s
        s.close()


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "links.db"


def pragma(path: Path, name: str) -> object:
    with closing(sqlite3.connect(path)) as conn:
        return conn.execute(f"PRAGMA {name}").fetchone()[0]


# -- the file -------------------------------------------------------------------------


def test_constructing_touches_nothing(path: Path) -> None:
    SQLiteStore(path).close()
    SQLiteStore(path / "no" / "such" / "dir.db").close()
    assert not path.exists()


def test_wal_mode_and_schema_version(path: Path) -> None:
    with SQLiteStore(path) as store:
        store.ping()
    assert pragma(path, "journal_mode") == "wal"
    assert pragma(path, "user_version") == SCHEMA_VERSION


def test_reopening_keeps_the_data(path: Path) -> None:
    with SQLiteStore(path) as store:
        store.insert(make_link("keep", max_visits=9))
        store.insert(make_link("gone"))
        store.hit("keep", DAY, count=3)
        store.delete("gone", T0)
        store.allow("k", 1, 1)
    with SQLiteStore(path) as store:
        assert store.get("keep") == make_link("keep", max_visits=9, hits=3)
        assert store.get("gone") == make_link("gone", deleted_at=T0)
        assert store.daily("keep", DAY) == [(DAY, 3)]
        assert not store.allow("k", 1, 1)
        assert store.insert(make_link("gone")) is None


def test_a_missing_directory_is_named(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "nowhere" / "links.db")
    with pytest.raises(StoreUnavailable, match=r"nowhere'? does not exist"):
        store.ping()
    store.close()


def test_a_file_that_is_not_a_database(path: Path) -> None:
    path.write_bytes(b"this is not SQLite " * 100)
    with pytest.raises(StoreUnavailable, match=r"links\.db"), SQLiteStore(path) as store:
        store.ping()


def test_a_newer_schema_is_refused(path: Path) -> None:
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("PRAGMA user_version = 999")
    with pytest.raises(StoreUnavailable, match="newer"), SQLiteStore(path) as store:
        store.get("x")


def test_a_closed_store_is_unavailable(path: Path) -> None:
    store = SQLiteStore(path)
    store.ping()
    store.close()
    with pytest.raises(StoreUnavailable, match="closed"):
        store.get("x")


def test_a_held_write_lock_times_out_as_unavailable(path: Path) -> None:
    with SQLiteStore(path, timeout=0.2) as store:
        store.insert(make_link("a"))
        with closing(sqlite3.connect(path, isolation_level=None)) as other:
            other.execute("BEGIN IMMEDIATE")
            started = time.monotonic()
            with pytest.raises(StoreUnavailable, match="locked"):
                store.insert(make_link("b"))
            assert time.monotonic() - started < 5
            # WAL: readers are not blocked by the writer.
            assert store.get("a") is not None
            other.execute("ROLLBACK")
        assert store.insert(make_link("b")) is not None


def test_naive_times_are_refused(path: Path) -> None:
    with SQLiteStore(path) as store, pytest.raises(ValueError, match="timezone-aware"):
        store.insert(make_link("a", created_at=datetime(2026, 1, 1)))


def test_hit_count_below_one_is_refused(path: Path) -> None:
    with SQLiteStore(path) as store, pytest.raises(ValueError, match="at least 1"):
        store.hit("a", DAY, count=0)


@pytest.mark.parametrize("bad", ["", ":memory:", "file:x.db?mode=memory"])
def test_in_memory_paths_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="memory:"):
        SQLiteStore(bad)


def test_connections_of_finished_threads_are_closed(path: Path) -> None:
    store = SQLiteStore(path)
    try:
        store.ping()
        for _ in range(10):
            thread = threading.Thread(target=store.ping)
            thread.start()
            thread.join()
        # The main thread's and, at most, the last finished thread's connection.
        assert len(store._connections) <= 2
    finally:
        store.close()


# -- several processes on one file ---------------------------------------------------

WORKER = """
import json, os, sys, time
from datetime import datetime, timezone
from minilink.core.links import Link
from minilink.storage.sqlite import SQLiteStore

path, mode, ident, go = sys.argv[1:5]
while not os.path.exists(go):
    time.sleep(0.002)
t0 = datetime(2026, 1, 1, tzinfo=timezone.utc)

def link(code):
    return Link(code=code, url="https://e.com/%s/%s" % (ident, code), created_at=t0)

with SQLiteStore(path, timeout=30) as store:
    if mode == "insert":
        won = []
        for i in range(100):
            for code in ("shared%d" % i, "own%s-%d" % (ident, i)):
                if store.insert(link(code)) is not None:
                    won.append(code)
        print(json.dumps(won))
    elif mode == "hit":
        hot = sum(store.hit("hot", "2026-01-01") for _ in range(250))
        capped = sum(store.hit("capped", "2026-01-01", limit=150) for _ in range(100))
        print(json.dumps([hot, capped]))
    elif mode == "open":
        store.insert(link("p" + ident))
        print(json.dumps(store.get("p" + ident) is not None))
    elif mode == "crash":
        for i in range(10 ** 6):
            store.insert(link("k%d" % i))
            store.hit("k%d" % i, "2026-01-01")
            print("k%d" % i, flush=True)
"""


def child_env() -> dict[str, str]:
    """The environment of a worker: this checkout first on its import path."""
    paths = [str(ROOT), os.environ.get("PYTHONPATH", "")]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}


def run_workers(path: Path, mode: str, count: int) -> list[object]:
    """Start ``count`` workers, release them together, return their JSON answers."""
    go = path.with_suffix(".go")
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(path), mode, str(i), str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=child_env(),
        )
        for i in range(count)
    ]
    try:
        go.touch()
        answers = []
        for proc in procs:
            out, err = proc.communicate(timeout=60)
            assert proc.returncode == 0, err
            answers.append(json.loads(out))
        return answers
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()


def test_processes_racing_on_codes_insert_each_once(path: Path) -> None:
    won = run_workers(path, "insert", 4)
    codes = [code for answer in won for code in answer]  # type: ignore[attr-defined]
    expected = {f"shared{i}" for i in range(100)}
    expected |= {f"own{p}-{i}" for p in range(4) for i in range(100)}
    assert sorted(codes) == sorted(expected)  # every code exactly once
    with SQLiteStore(path) as store:
        for ident, answer in enumerate(won):
            for code in answer:  # type: ignore[attr-defined]
                link = store.get(code)
                assert link is not None
                assert link.url == f"https://e.com/{ident}/{code}"
        assert len(store.recent(1000)) == 500


def test_processes_hitting_count_every_hit_once(path: Path) -> None:
    with SQLiteStore(path) as store:
        store.insert(make_link("hot"))
        store.insert(make_link("capped", max_visits=150))
    answers = run_workers(path, "hit", 4)
    assert [answer[0] for answer in answers] == [250] * 4  # type: ignore[index]
    assert sum(answer[1] for answer in answers) == 150  # type: ignore[index]
    with SQLiteStore(path) as store:
        hot = store.get("hot")
        capped = store.get("capped")
        assert hot is not None
        assert capped is not None
        assert hot.hits == 1000
        assert capped.hits == 150
        assert store.daily("hot", "2026-01-01") == [("2026-01-01", 1000)]


def test_processes_opening_a_fresh_file_migrate_it_once(path: Path) -> None:
    assert run_workers(path, "open", 6) == [True] * 6
    assert pragma(path, "user_version") == SCHEMA_VERSION
    with SQLiteStore(path) as store:
        assert sorted(link.code for link in store.recent(10)) == [f"p{i}" for i in range(6)]


def test_a_killed_writer_loses_no_acknowledged_write(path: Path) -> None:
    go = path.with_suffix(".go")
    go.touch()
    proc = subprocess.Popen(
        [sys.executable, "-c", WORKER, str(path), "crash", "0", str(go)],
        stdout=subprocess.PIPE,
        text=True,
        env=child_env(),
    )
    acknowledged = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            acknowledged.append(line.strip())
            if len(acknowledged) == 300:
                break
        proc.kill()  # SIGKILL: no cleanup, no close
        out, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    acknowledged += out.split()
    assert pragma(path, "integrity_check") == "ok"
    with SQLiteStore(path) as store:
        for code in acknowledged:
            link = store.get(code)
            assert link is not None
            assert link.hits == 1


# -- read-only ----------------------------------------------------------------------------


def test_readonly_reads_and_never_creates_or_writes(tmp_path: Path) -> None:
    from minilink.storage import open_store

    missing = tmp_path / "missing.db"
    with open_store(str(missing), readonly=True) as store:
        assert isinstance(store, SQLiteStore) and store.readonly
        with pytest.raises(StoreUnavailable, match="does not exist"):
            store.ping()
    assert not missing.exists()

    path = tmp_path / "links.db"
    with SQLiteStore(path) as store:
        store.insert(make_link("abc"))
    with open_store(f"sqlite:///{path}", readonly=True) as store:
        assert store.get("abc") is not None
        assert [link.code for link in store.recent(5)] == ["abc"]
        with pytest.raises(StoreUnavailable, match="read-only"):
            store.insert(make_link("new"))
        with pytest.raises(StoreUnavailable, match="read-only"):
            store.hit("abc", DAY)
    with SQLiteStore(path) as store:
        link = store.get("abc")
        assert link is not None and link.hits == 0
        assert store.get("new") is None


def test_readonly_refuses_a_file_without_the_schema(tmp_path: Path) -> None:
    path = tmp_path / "empty.db"
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("CREATE TABLE other (x)")
    with (
        SQLiteStore(path, readonly=True) as store,
        pytest.raises(StoreUnavailable, match="no minilink tables"),
    ):
        store.ping()
    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 0  # not migrated


def test_readonly_is_passed_only_to_backends_that_take_it() -> None:
    from minilink.storage import open_store
    from minilink.storage.memory import MemoryStore

    with open_store("memory:", readonly=True) as store:  # from_url(url) only: opened as usual
        assert isinstance(store, MemoryStore)
