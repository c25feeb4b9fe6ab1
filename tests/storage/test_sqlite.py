"""The SQLite store: the contract, plus what only a shared file has to prove.

Cross-process tests start real interpreters (``sys.executable``) that each open the
same file, wait for a start signal so that they really run at once, and print what
they did as JSON for the test to check.
"""

from __future__ import annotations

import gc
import itertools
import json
import os
import random
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import closing
from datetime import datetime, timedelta
from pathlib import Path
from typing import Callable, Optional

import pytest

from minilink.core._values import replace
from minilink.core.errors import StoreUnavailable
from minilink.core.links import SORTS, STATES, Link, Search
from minilink.storage.base import Store
from minilink.storage.sqlite import SCHEMA_VERSION, SQLiteStore, _shm_files
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


# -- link management: search, update and changes on the file ---------------------------

NOW = T0 + timedelta(days=2)
#: Words that meet every edge of the search text: ASCII and non-ASCII case, LIKE's
#: wildcards and its escape; the texts add a NUL and a lone surrogate, which no
#: stored link can hold.
WORDS = ["ab", "AB", "a_b", "a%b", "x\\y", "é", "É", "Ωmega", "docs", "50%", "Zz"]
TEXTS = [None, "", "a", "A", "b_", "_", "%", "%b", "\\", "é", "É", "ω", "docs", "EXAMPLE"]
TEXTS += ["/1", "l\0z", "\0", "x\\Y", "zz", "no such text", "\udcff"]
TAGS = ["red", "blue", "a_b", "a-b", "x"]


def _random_link(rng: random.Random, i: int) -> Link:
    """A link with a random share of every option; plain ones share URLs (dedupe)."""
    plain = rng.random() < 0.3
    url = f"https://{rng.choice(['example.com', 'EXAMPLE.org', 'ex_ample.net'])}"
    url += f"/{rng.choice(WORDS)}/{i % 23 if plain else i}"
    if plain:
        return make_link(f"p{i}", url, created_at=T0 + timedelta(minutes=rng.randrange(600)))
    hits = rng.randrange(6)
    return make_link(
        f"{rng.choice(WORDS)}{i}",
        url,
        created_at=T0 + timedelta(minutes=rng.randrange(600)),
        expires_at=rng.choice([None, None, NOW - timedelta(hours=1), NOW, NOW + DELTA]),
        max_visits=rng.choice([None, None, hits, hits + 2]),
        hits=hits,
        alias=rng.random() < 0.5,
        title=rng.choice([None, None, "", "A Title", *WORDS]),
        tags=tuple(rng.sample(TAGS, rng.randrange(4))),
        redirect_status=rng.choice([None, None, 301, 307]),
        forward_query=rng.random() < 0.2,
        fallback_url=rng.choice([None, "https://example.com/fallback"]),
        password_hash=rng.choice([None, None, "scrypt$..."]),
        updated_at=rng.choice([None, T0 + timedelta(minutes=rng.randrange(600))]),
        revision=rng.randrange(3),
    )


DELTA = timedelta(days=30)


def _edit(rng: random.Random, link: Link, urls: list[str]) -> Link:
    """``link`` with a few fields changed, sometimes to a plain link of a known URL."""
    if rng.random() < 0.3:
        return Link(code=link.code, url=rng.choice(urls), created_at=T0, revision=link.revision)
    return link.replace(
        title=rng.choice([None, "Edited", *WORDS]),
        tags=tuple(rng.sample(TAGS, rng.randrange(4))),
        max_visits=rng.choice([None, link.hits, link.hits + 1]),
        updated_at=NOW - timedelta(minutes=rng.randrange(3000)),
        revision=link.revision if rng.random() < 0.9 else link.revision + 1,
    )


def _same_story(stores: list[Store], seed: int) -> list[str]:
    """Tell every store the same random story, checking that each answers alike;
    return the codes it used."""
    rng = random.Random(seed)
    codes: list[str] = []
    urls: list[str] = []

    def each(call: Callable[[Store], object]) -> object:
        answers = [call(store) for store in stores]
        assert all(answer == answers[0] for answer in answers), answers
        return answers[0]

    for i in range(260):
        link = _random_link(rng, i)
        urls.append(link.url)
        if each(lambda s, link=link: s.insert(link)) == link:
            codes.append(link.code)
    extra = [_random_link(rng, 1000 + i) for i in range(30)]
    each(lambda s: s.restore([(link, ()) for link in extra]))
    codes += [link.code for link in extra]
    for _ in range(150):
        code = rng.choice(codes)
        roll = rng.random()
        if roll < 0.4:
            count = rng.randrange(1, 3)
            each(lambda s, c=code, n=count: s.hit(c, DAY, count=n))
        elif roll < 0.5:
            at = NOW - timedelta(hours=rng.randrange(48))
            each(lambda s, c=code, at=at: s.delete(c, at))
        else:
            current = stores[0].get(code)
            assert current is not None
            edited = _edit(rng, current, urls)
            each(lambda s, e=edited: s.update(e))
    return codes


def _pages(store: Store, search: Search) -> list[list[Link]]:
    pages = []
    while True:
        page = store.search(search)
        pages.append(page)
        if len(page) < search.limit:
            return pages
        search = replace(search, after=page[-1].code)


@pytest.mark.parametrize("seed", [1, 2])
def test_search_agrees_with_the_memory_store(path: Path, seed: int) -> None:
    from minilink.storage.memory import MemoryStore

    reference = MemoryStore()
    with SQLiteStore(path) as store:
        codes = _same_story([reference, store], seed)
        assert [store.get(code) for code in codes] == [reference.get(code) for code in codes]
        assert store.tags() == reference.tags()
        assert list(store.export()) == list(reference.export())
        for text, tag, state, sort in itertools.product(TEXTS, [None, *TAGS], STATES, SORTS):
            search = Search(now=NOW, text=text, tag=tag, state=state, sort=sort, limit=9)
            assert _pages(store, search) == _pages(reference, search), search
        # A cursor that is a link, but not one of the results, gives an empty page.
        deleted = reference.search(Search(now=NOW, state="deleted"))[0].code
        assert store.search(Search(now=NOW, after=deleted)) == []
        assert reference.search(Search(now=NOW, after=deleted)) == []


def test_the_tag_index_follows_every_write(path: Path) -> None:
    with SQLiteStore(path) as store:
        _same_story([store], 3)
    with closing(sqlite3.connect(path)) as conn:
        want = sorted(
            (tag, seq, int(deleted_at is not None))
            for seq, tags, deleted_at in conn.execute("SELECT seq, tags, deleted_at FROM links")
            for tag in (tags.split(" ") if tags else ())
        )
        assert want
        assert sorted(conn.execute("SELECT tag, seq, tombstone FROM link_tags")) == want
        assert conn.execute("SELECT count(*) FROM links WHERE tags = ''").fetchone() == (0,)


def test_a_text_longer_than_a_like_pattern_is_searched_as_written(path: Path) -> None:
    long_url = "https://example.com/" + "Ab%_" * 20_000  # LIKE takes 50,000 bytes
    with SQLiteStore(path) as store:
        store.insert(make_link("long", long_url))
        store.insert(make_link("short", "https://example.com/Ab%_"))

        def codes(text: str) -> list[str]:
            return [link.code for link in store.search(Search(now=NOW, text=text))]

        assert codes(long_url[-60_000:].lower()) == ["long"]
        assert codes(long_url[-60_000:] + "x") == []
        assert codes("ab%_") == ["short", "long"]


def test_a_limit_beyond_sqlites_integers_is_one_whole_page(path: Path) -> None:
    with SQLiteStore(path) as store:
        store.insert(make_link("a"))
        store.insert(make_link("b"))
        assert [link.code for link in store.search(Search(now=NOW, limit=2**70))] == ["b", "a"]


@pytest.mark.parametrize("field", ["code", "url", "title"])
def test_a_nul_in_a_searched_text_is_refused(path: Path, field: str) -> None:
    # SQLite's LIKE reads a value only up to a NUL: a search could not see the rest.
    with SQLiteStore(path) as store:
        store.insert(make_link("n", title="x"))
        for call in (store.insert, store.update, lambda link: store.restore([(link, ())])):
            for code in ("n", "m"):
                with pytest.raises(ValueError, match="NUL"):
                    call(make_link(code, title="x").replace(**{field: "x\0y"}))
        assert store.get("n") == make_link("n", title="x")
        assert store.get("m") is None
        assert store.search(Search(now=NOW, text="x\0")) == []


def test_a_tag_that_could_not_be_read_back_is_refused(path: Path) -> None:
    with SQLiteStore(path) as store:
        for tags in (("two words",), ("",)):
            with pytest.raises(ValueError, match="tag"):
                store.insert(make_link("t", tags=tags))
        store.insert(make_link("t"))
        with pytest.raises(ValueError, match="tag"):
            store.update(make_link("t", tags=("a b",)))
        assert store.get("t") == make_link("t")


def test_racing_updates_of_one_revision_have_one_winner(path: Path) -> None:
    # Two store objects (their own connections, as two processes would have) race
    # with the same revision, round after round; exactly one of each pair wins.
    stores = [SQLiteStore(path, timeout=30), SQLiteStore(path, timeout=30)]
    try:
        stores[0].insert(make_link("race"))
        for round_ in range(25):
            current = stores[0].get("race")
            assert current is not None
            assert current.revision == round_
            barrier = threading.Barrier(2)
            results: list[Optional[Link]] = [None, None]

            def edit(
                i: int, current: Link, barrier: threading.Barrier, results: list[Optional[Link]]
            ) -> None:
                barrier.wait()
                edited = current.replace(title=f"{current.revision}-{i}", tags=(f"t{i}",))
                results[i] = stores[i].update(edited)

            threads = [
                threading.Thread(target=edit, args=(i, current, barrier, results)) for i in (0, 1)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(30)
            winners = [link for link in results if link is not None]
            assert len(winners) == 1, results
            assert stores[1].get("race") == winners[0]
            assert winners[0].revision == round_ + 1
        assert stores[1].tags() == [(winners[0].tags[0], 1)]
    finally:
        for store in stores:
            store.close()


CHANGER = """
import sys
from datetime import datetime, timezone
from minilink.core.links import Link
from minilink.storage.sqlite import SQLiteStore

t0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
with SQLiteStore(sys.argv[1], timeout=30) as store:
    for line in sys.stdin:
        command = line.strip()
        if command == "update":
            link = store.get("e")
            store.update(link.replace(title="by another process %d" % link.revision))
        elif command == "hit":
            store.hit("e", "2026-01-01")
        elif command == "insert":
            store.insert(Link(code="new", url="https://example.com/new", created_at=t0))
        elif command == "delete":
            store.delete("e", t0)
        elif command == "restore":
            store.restore([(Link(code="r", url="https://example.com/r", created_at=t0), ())])
        print(store.changes(), flush=True)
"""


def test_changes_by_another_process_are_seen_by_the_next_call(path: Path) -> None:
    with SQLiteStore(path) as store:
        store.insert(make_link("e"))
        # Leaving the block closes its stdin, which ends it, and waits for it.
        with subprocess.Popen(
            [sys.executable, "-c", CHANGER, str(path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=child_env(),
        ) as proc:

            def other(command: str) -> int:
                assert proc.stdin is not None and proc.stdout is not None
                proc.stdin.write(command + "\n")
                proc.stdin.flush()
                return int(proc.stdout.readline())

            seen = [store.changes()]
            for command, moves in [
                ("update", True),
                ("hit", False),
                ("update", True),
                ("insert", False),
                ("delete", True),
                ("restore", True),
            ]:
                theirs = other(command)
                ours = store.changes()
                assert ours == theirs, command
                assert (ours != seen[-1]) is moves, (command, seen, ours)
                seen.append(ours)
            link = store.get("e")
            assert link is not None
            assert link.title == "by another process 1"
            assert link.deleted_at is not None
            assert link.hits == 1
        assert proc.returncode == 0


def test_a_readonly_store_searches_and_follows_changes(path: Path) -> None:
    with SQLiteStore(path) as store:
        store.insert(make_link("a", tags=("t",), title="Alpha"))
        with SQLiteStore(path, readonly=True) as reader:
            before = reader.changes()
            assert [link.code for link in reader.search(Search(now=NOW, tag="t"))] == ["a"]
            assert reader.tags() == [("t", 1)]
            link = store.get("a")
            assert link is not None
            store.update(link.replace(tags=("u",)))
            assert reader.changes() != before
            assert reader.tags() == [("u", 1)]
            with pytest.raises(StoreUnavailable, match="read-only"):
                reader.update(make_link("a", revision=1))


# -- query plans at a million links --------------------------------------------------
#
# EXPLAIN QUERY PLAN, not timing: a plan that reads a page through an index costs
# the same at any size. SQLite plans without statistics unless someone runs ANALYZE,
# so each plan is checked both ways: as shipped, and with the statistics ANALYZE
# gathers on a million links (written into sqlite_stat1, as SQLite's own tests do).

MILLION_STATS = [
    ("links", None, "1000000"),
    ("links", "sqlite_autoindex_links_1", "1000000 1"),
    ("links", "links_plain", "700000 1"),
    ("links", "links_updated", "1000000 2 1"),
    ("link_tags", "link_tags", "1333333 66667 1"),
    ("daily", "daily", "3000000 30 1"),
]


def _plan(conn: sqlite3.Connection, sql: str, params: object) -> list[str]:
    return [row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql, params)]


@pytest.fixture(params=["no statistics", "a million links analysed"])
def planner(request: pytest.FixtureRequest, path: Path) -> Iterator[sqlite3.Connection]:
    with SQLiteStore(path) as store:
        for i in range(50):
            store.insert(make_link(f"c{i}", tags=("t",) if i % 3 else ()))
    with closing(sqlite3.connect(path)) as conn:
        if request.param != "no statistics":
            conn.execute("ANALYZE")
            conn.execute("DELETE FROM sqlite_stat1")
            conn.executemany("INSERT INTO sqlite_stat1 VALUES (?, ?, ?)", MILLION_STATS)
            conn.commit()
        with closing(sqlite3.connect(path)) as fresh:  # reads the statistics anew
            yield fresh


def _search_plan(conn: sqlite3.Connection, after: bool = False, **fields: object) -> list[str]:
    from minilink.storage.sqlite import _search_sql

    sql, params = _search_sql(Search(now=NOW, **fields), 0, (5, 5) if after else None)  # type: ignore[arg-type]
    return _plan(conn, sql, params)


def test_get_is_one_lookup_by_code(planner: sqlite3.Connection) -> None:
    from minilink.storage.sqlite import _GET

    assert _plan(planner, _GET, ("c1",)) == [
        "SEARCH links USING INDEX sqlite_autoindex_links_1 (code=?)"
    ]


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("after", [False, True], ids=["first", "next"])
def test_a_page_of_the_newest_links_walks_the_rowid(
    planner: sqlite3.Connection, state: str, after: bool
) -> None:
    want = "SEARCH l USING INTEGER PRIMARY KEY (rowid<?)" if after else "SCAN l"
    assert _search_plan(planner, after, state=state) == [want]
    assert _search_plan(planner, after, state=state, text="x") == [want]


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("after", [False, True], ids=["first", "next"])
def test_a_page_of_one_tag_walks_its_key(
    planner: sqlite3.Connection, state: str, after: bool
) -> None:
    key = "(tag=? AND seq<?)" if after else "(tag=?)"
    assert _search_plan(planner, after, state=state, tag="t") == [
        f"SEARCH t USING PRIMARY KEY {key}",
        "SEARCH l USING INTEGER PRIMARY KEY (rowid=?)",
    ]


@pytest.mark.parametrize("after", [False, True], ids=["first", "next"])
def test_a_page_of_the_last_edited_walks_its_index(
    planner: sqlite3.Connection, after: bool
) -> None:
    want = (
        "SEARCH l USING INDEX links_updated (<expr><?)"
        if after
        else "SCAN l USING INDEX links_updated"
    )
    assert _search_plan(planner, after, sort="updated") == [want]


def test_dedupe_lookups_and_tag_counts_use_their_indexes(planner: sqlite3.Connection) -> None:
    from minilink.storage.sqlite import _FIND_PLAIN, _OTHER_PLAIN, _TAGS

    assert _plan(planner, _FIND_PLAIN, ("u",)) == ["SEARCH links USING INDEX links_plain (url=?)"]
    assert _plan(planner, _OTHER_PLAIN, ("u", 1)) == [
        "SEARCH links USING INDEX links_plain (url=?)"
    ]
    # Read once in key order: counted without sorting.
    assert _plan(planner, _TAGS, ()) == ["SCAN link_tags"]


# -- the change hint: the wal-index header of the -shm file ---------------------------


def _hinted(store: SQLiteStore) -> bool:
    """Whether ``store`` answers ``changes()`` from the mapped header."""
    return store._hint is not None


def _selects(store: SQLiteStore) -> list[str]:
    """The statements this thread's connection of ``store`` runs from now on."""
    statements: list[str] = []
    store._connection().set_trace_callback(statements.append)
    return statements


HINT_CHANGER = """
import sys
from datetime import datetime, timezone
from minilink.core.links import Link
from minilink.storage.sqlite import SQLiteStore

t0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
with SQLiteStore(sys.argv[1], timeout=30) as store:
    for line in sys.stdin:
        command, _, code = line.strip().partition(" ")
        if command == "update":
            link = store.get(code)
            assert store.update(link.replace(title="edit %d" % link.revision))
        elif command == "delete":
            assert store.delete(code, t0)
        elif command == "restore":
            link = Link(code=code, url="https://example.com/" + code, created_at=t0)
            assert store.restore([(link, ())]) == 1
        elif command == "hit":
            assert store.hit(code, "2026-01-01")
        print(store.changes(), flush=True)
"""


class _Changer:
    """Another process running ``HINT_CHANGER`` on the same file, one command at a
    time; leaves its connection open between commands, as a server's would."""

    def __init__(self, path: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", HINT_CHANGER, str(path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=child_env(),
        )

    def __call__(self, command: str) -> int:
        """Run ``command`` there; its ``changes()`` once the command has returned."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        answer = self.proc.stdout.readline()
        assert answer, f"the changer failed on {command!r}"
        return int(answer)

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            assert self.proc.wait(timeout=30) == 0
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            assert self.proc.stdout is not None
            self.proc.stdout.close()


def _round(store: SQLiteStore, changer: _Changer, rng: random.Random, n: int) -> str:
    """One random command for ``changer``; the test's own store prepares what a
    delete removes (a commit that leaves the counter alone)."""
    command = rng.choice(["update", "update", "delete", "restore", "hit"])
    if command == "update" or command == "hit":
        return f"{command} e"
    if command == "delete":
        assert store.insert(make_link(f"d{n}")) is not None
    return f"{command} {command[0]}{n}"


def test_the_hint_sees_every_change_of_another_process_at_once(path: Path) -> None:
    rng = random.Random(13)
    with closing(SQLiteStore(path)) as store:
        store.insert(make_link("e"))
        changer = _Changer(path)
        try:
            last = store.changes()
            assert store._hint is not None  # the -shm file is mapped
            statements = _selects(store)
            for _ in range(20):
                assert store.changes() == last
            assert statements == []  # nothing committed since: not one statement
            deadline = time.monotonic() + 3
            rounds = 0
            while time.monotonic() < deadline and rounds < 500:
                command = _round(store, changer, rng, rounds)
                theirs = changer(command)
                ours = store.changes()
                assert ours == theirs, (rounds, command)
                assert (ours != last) is (not command.startswith("hit")), (rounds, command)
                last = ours
                rounds += 1
            assert rounds >= 50
            assert store._hint is not None
        finally:
            changer.close()


def test_the_hint_follows_the_new_shm_file_after_every_connection_closed(path: Path) -> None:
    shm = Path(f"{path}-shm")
    rng = random.Random(7)
    with closing(SQLiteStore(path)) as store:
        store.insert(make_link("e"))
        store.changes()
        assert store._hint is not None
        for n in range(6):
            # As after an error: the store's only connection closes. It was the last
            # connection to the file anywhere, so SQLite removed the -shm file.
            store._discard()
            assert not _hinted(store)
            assert not shm.exists()
            changer = _Changer(path)
            try:
                if n % 2:  # this store makes the new file, or the other process does
                    last = store.changes()
                    assert changer("hit e") == last
                else:
                    last = changer("update e")
                    assert store.changes() == last
                assert store._hint is not None
                assert store._header_inode[1] == shm.stat().st_ino
                for i in range(20):
                    command = _round(store, changer, rng, n * 100 + i)
                    theirs = changer(command)
                    assert store.changes() == theirs
                    assert (theirs != last) is (not command.startswith("hit")), command
                    last = theirs
                assert store._hint is not None
            finally:
                changer.close()
        # One descriptor per -shm file kept: the replaced ones were closed.
        assert [p for p in _shm_files if p.startswith(os.path.realpath(path))] == [
            os.path.realpath(shm)
        ]


def test_the_hint_passes_from_an_ended_thread_to_the_next(path: Path) -> None:
    # Thread-per-request servers: the connection that mapped the file is closed when
    # the next thread connects, and must hand the hint over, not drop it.
    with closing(SQLiteStore(path)) as store:

        def in_thread(call: Callable[[], object]) -> None:
            thread = threading.Thread(target=call)
            thread.start()
            thread.join()

        in_thread(lambda: store.insert(make_link("e")))
        in_thread(store.changes)
        assert store._hint is not None
        hint, anchors = store._hint, store._anchors
        changer = _Changer(path)
        try:
            seen: list[int] = []
            for command in ["update e", "restore r1", "hit e", "update e"]:
                theirs = changer(command)
                in_thread(lambda: seen.append(store.changes()))
                assert seen[-1] == theirs, command
                assert store._anchors == anchors  # handed over, never re-mapped
                assert store._anchor in [conn for _, conn in store._connections]
            assert store._hint is not hint  # read again after each commit
        finally:
            changer.close()


def test_a_readonly_store_reads_the_counter_every_time(path: Path) -> None:
    with closing(SQLiteStore(path)) as store:
        store.insert(make_link("e"))
        with closing(SQLiteStore(path, readonly=True)) as reader:
            before = reader.changes()
            statements = _selects(reader)
            assert reader.changes() == before
            assert reader._hint is None
            assert len([s for s in statements if "meta" in s]) == 1
            link = store.get("e")
            assert link is not None
            store.update(link.replace(title="t"))
            assert reader.changes() == before + 1


def test_without_mmap_the_counter_is_read_every_time(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "mmap", None)  # "import mmap" raises ImportError
    with closing(SQLiteStore(path)) as store, closing(SQLiteStore(path)) as other:
        store.insert(make_link("e"))
        before = store.changes()
        statements = _selects(store)
        assert store.changes() == before
        assert store._hint is None
        assert len([s for s in statements if "meta" in s]) == 1
        assert other.delete("e", T0)
        assert store.changes() == before + 1


LOCK_PROBE = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
try:
    fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, 128)  # SQLite's "DMS" byte
except OSError:
    print("held")
else:
    print("free")
"""


@pytest.mark.skipif(os.name != "posix", reason="POSIX record locks")
def test_closing_a_store_keeps_the_locks_sqlite_holds_on_the_shm_file(path: Path) -> None:
    # Closing any descriptor of a file drops every POSIX lock the process holds on
    # it. SQLite's shared lock on the -shm file's DMS byte tells a new opener that
    # the file is in use (else it truncates and rebuilds it under our readers).
    shm = f"{path}-shm"

    def probe() -> str:
        return subprocess.run(
            [sys.executable, "-c", LOCK_PROBE, shm], capture_output=True, text=True, check=True
        ).stdout.strip()

    with closing(SQLiteStore(path)) as keeper:
        keeper.ping()
        assert probe() == "held"
        for _ in range(3):
            store = SQLiteStore(path)
            store.changes()
            assert store._hint is not None
            store.close()
            del store
            gc.collect()
            assert probe() == "held"
        # The probe can tell: a descriptor opened and closed here drops the lock.
        os.close(os.open(shm, os.O_RDONLY))
        assert probe() == "free"


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork")
def test_a_forked_child_maps_the_file_with_its_own_connection(path: Path) -> None:
    with closing(SQLiteStore(path)) as store:
        store.insert(make_link("e"))
        value = store.changes()
        inherited = store._hint
        assert inherited is not None
        pid = os.fork()
        if pid == 0:  # the child: no lock of the parent's is its own
            ok = False
            try:
                ok = (
                    store.changes() == value
                    and store._hint is not None
                    and store._hint is not inherited
                    and store._anchor in [conn for _, conn in store._connections]
                )
            finally:
                os._exit(0 if ok else 1)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        assert store._hint is inherited  # the parent's own is untouched


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc/self/fd")
def test_the_last_store_to_close_leaves_no_descriptor_of_the_shm_file(path: Path) -> None:
    # A descriptor kept open on a -shm file SQLite has removed keeps the file system
    # busy: a read-only remount (tests/reliability/test_faults.py) is then refused.
    def shm_descriptors() -> int:
        found = 0
        for fd in os.listdir("/proc/self/fd"):
            try:
                target = os.readlink(f"/proc/self/fd/{fd}")
            except OSError:
                continue
            found += target.startswith(os.path.realpath(f"{path}-shm"))
        return found

    first, second = SQLiteStore(path), SQLiteStore(path)
    first.changes()
    second.changes()
    assert first._hint is not None and second._hint is not None
    first.close()
    assert shm_descriptors() >= 1  # second still has its connection: the locks stay
    second.close()
    assert shm_descriptors() == 0


# -- the text index (schema 3) ------------------------------------------------------------


def _text_index_ok(path: Path) -> None:
    """FTS5's own check: the index holds exactly the text of every row of links."""
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("INSERT INTO link_text (link_text) VALUES ('integrity-check')")


def _same_as_the_rule(store: SQLiteStore, needles: list[str], states: tuple[str, ...]) -> int:
    """Every needle's search, in every state, gives what ``Search.matches`` decides."""
    every = [link for link, _ in store.export()]
    compared = 0
    for needle in needles:
        for state in states:
            search = Search(now=NOW, text=needle, state=state, limit=1000)
            want = sorted(link.code for link in every if search.matches(link))
            assert sorted(link.code for link in store.search(search)) == want, (needle, state)
            compared += len(want)
    return compared


NEEDLES = [
    "ample",
    "EXAMPLE.COM/P",
    "page-1",
    "Über",
    "über",
    "ÜBER",
    "kelvin-\u212a",
    "kelvin-k",
    '"quoted"',
    "a AND b",
    "per%cent",
    "under_score",
    "ab",
    "x",
    "title 7",
    "nowhere-at-all",
]


@pytest.mark.parametrize("tail", [1, 7, 1000], ids=["all-indexed", "some-indexed", "none-indexed"])
def test_the_text_index_follows_every_write_and_finds_what_the_rule_finds(
    path: Path, tail: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    from minilink.storage import sqlite as module

    # Links past the index's last are read as the table: with a tail of one, every
    # link is indexed by its own insert; with seven, the newest few are not.
    monkeypatch.setattr(module, "_TAIL", tail)
    with SQLiteStore(path) as store:
        for i in range(40):
            store.insert(
                make_link(
                    f"code{i}",
                    f"https://example.com/page-{i}?per%cent=under_score",
                    title=[None, f"Title {i}", 'Über "quoted" a AND b', f"kelvin-\u212a{i}"][i % 4],
                    tags=("t",) if i % 2 else (),
                )
            )
        compared = _same_as_the_rule(store, NEEDLES, ("all",))
        for i in range(0, 40, 3):  # edits of the URL and the title, and deletions
            link = store.get(f"code{i}")
            assert link is not None
            store.update(link.replace(url=f"https://example.org/moved-{i}", title=f"kelvin-k{i}"))
        for i in range(1, 40, 5):
            store.delete(f"code{i}", T0)
        for i in range(2, 40, 7):
            store.hit(f"code{i}", DAY)
        store.restore(
            [
                (make_link(f"restored{i}", f"https://über.example/{i}", title="ÜBER"), [])
                for i in range(5)
            ]
        )
        compared += _same_as_the_rule(store, [*NEEDLES, "moved", "org/m"], STATES)
        assert compared > 100
        indexed = store._connection().execute(module._INDEXED).fetchone()[0]
        assert indexed == 45  # the restore indexed every link before its own
    _text_index_ok(path)


def test_a_search_whose_trigrams_are_all_common_reads_the_table(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from minilink.storage import sqlite as module

    monkeypatch.setattr(module, "_TAIL", 1)  # every link indexed by its insert
    with SQLiteStore(path) as store:
        for i in range(30):
            store.insert(make_link(f"code{i}", f"https://example.com/{i % 3}-{i}", title=f"T{i}"))
        conn = store._connection()
        assert conn.execute(module._INDEXED).fetchone() == (30,)
        # Every trigram of "example" is held by 30 links, of "-2" by none (too short).
        monkeypatch.setattr(module, "_RARE", 10)
        assert module._text_match(conn, "example") is None
        assert module._text_match(conn, "-2") is None
        # Held by all of "com", "om/", "m/1", "/1-", "1-1": /1-1, /1-10, /1-13, /1-16, /1-19.
        assert (
            module._text_match(conn, "com/1-1") == '"com" AND "om/" AND "m/1" AND "/1-" AND "1-1"'
        )
        assert module._text_match(conn, "xample.com/1") is None  # 10 links hold them all
        long = module._text_match(conn, "https://example.com/2-zz")
        assert long is not None
        assert long.count(" AND ") == module._PROBES - 1  # spread over the needle
        assert module._text_match(conn, "zzzz") == '"zzz"'
        assert module._text_match(conn, 'a"b') == '"a""b"'
        _same_as_the_rule(store, ["example", "com/1-1", "1-2", "zzzz", "T2"], STATES)
        monkeypatch.setattr(module, "_RARE", 5000)
        _same_as_the_rule(store, ["example", "com/1-1", "1-2", "zzzz", "T2"], STATES)


def test_a_sqlite_without_the_trigram_tokenizer_skips_the_index(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Migration 3 is only an index: where SQLite cannot build it, the file still
    reaches version 3 and search reads the table."""
    from minilink.storage import sqlite as module

    third = tuple(
        s.replace("tokenize='trigram'", "tokenize='no_such_tokenizer'")
        for s in module._MIGRATIONS[2]
    )
    monkeypatch.setattr(module, "_MIGRATIONS", (*module._MIGRATIONS[:2], third))
    with SQLiteStore(path) as store:
        for i in range(10):
            store.insert(make_link(f"code{i}", f"https://example.com/page-{i}"))
        store.update(store.get("code1").replace(url="https://example.com/moved"))  # type: ignore[union-attr]
        _same_as_the_rule(store, ["page-", "moved", "ample"], STATES)
    with closing(sqlite3.connect(path)) as conn:
        names = {name for (name,) in conn.execute("SELECT name FROM sqlite_master")}
        assert not {"link_text", "links_text_insert"} & names
        assert conn.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
