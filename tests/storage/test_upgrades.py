"""Databases outlive versions: files written by earlier minilinks open losslessly.

``fixtures/`` holds, for each schema version, a SQLite file and a PostgreSQL dump
written by the code of that version (``fixtures/make_v1.py``), and the export of
their contents made at the same time. Each is opened with today's code, which
migrates it, and must give back every link, tombstone, hit and per-day count; a
field added since then must read as empty.
"""

from __future__ import annotations

import io
import json
import shutil
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from minilink.storage.base import Store
from minilink.storage.memory import MemoryStore
from minilink.storage.sqlite import SCHEMA_VERSION as SQLITE_SCHEMA_VERSION
from minilink.storage.sqlite import SQLiteStore
from minilink.transfer import export_jsonl, import_links

FIXTURES = Path(__file__).resolve().parent / "fixtures"
VERSIONS = [1, 2]
#: The versions an older code wrote, which a read-only store refuses to upgrade.
OLDER = [v for v in VERSIONS if v < SQLITE_SCHEMA_VERSION]
#: What a field added after a fixture's version holds for the links in it.
EMPTY: tuple[Any, ...] = (None, False, [], {}, "")


def _entries(text: str) -> dict[str, dict[str, Any]]:
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]
    assert lines[0]["format"] == "minilink-links"
    return {entry["code"]: entry for entry in lines[1:]}


def _assert_lossless(store: Store, version: int) -> None:
    expected = _entries((FIXTURES / f"export-v{version}.jsonl").read_text(encoding="utf-8"))
    out = io.StringIO()
    export_jsonl(store, out)
    got = _entries(out.getvalue())
    assert sorted(got) == sorted(expected)
    for code, old in expected.items():
        new = got[code]
        assert {key: new.get(key) for key in old} == old, code
        added = {key: value for key, value in new.items() if key not in old}
        assert all(value in EMPTY for value in added.values()), (code, added)


def _assert_still_works(store: Store) -> None:
    from datetime import datetime, timezone

    from minilink import Config, Shortener

    sl = Shortener(store, Config(rate_limit=0))
    assert sl.resolve("docs").hits == 8
    link = sl.shorten("https://example.org/after-the-upgrade")
    sl.visit(link.code)
    assert sl.resolve(link.code).hits == 1
    with pytest.raises(Exception, match="deleted"):
        sl.resolve("gone")
    assert store.get("gone") is not None  # the tombstone came over
    assert datetime.now(timezone.utc) > sl.resolve("docs").created_at


def _assert_manageable(store: Store, version: int) -> None:
    if version == 1:
        _assert_v1_manageable(store)
    else:
        _assert_v2_manageable(store)


def _assert_v2_manageable(store: Store) -> None:
    """The fields schema 2 wrote still act: password, fallback, options, revisions."""
    from minilink import Config, Shortener
    from minilink.core.errors import PreconditionFailed

    sys.path.insert(0, str(FIXTURES))
    from make_v2 import PASSWORD

    sl = Shortener(store, Config(rate_limit=0))
    assert sl.protected("locked")
    assert sl.unlock("locked", PASSWORD, client="c").url == "https://example.com/secret"
    assert sl.fallback("promo") == "https://example.com/campaign-over"
    managed = sl.resolve("managed")
    assert (managed.redirect_status, managed.forward_query) == (308, True)
    assert sl.destination(managed, "b=2") == "https://example.com/managed?a=1&b=2"
    assert dict(sl.tags()) == {"release": 2, "docs": 1, "moved": 1}
    edited = store.get("v2code0")
    assert edited is not None and (edited.revision, edited.title) == (2, "After")
    with pytest.raises(PreconditionFailed):
        sl.update("v2code0", revision=1, title="Stale")
    assert sl.update("v2code0", revision=2, title="Again").revision == 3


def _assert_v1_manageable(store: Store) -> None:
    """The upgraded links take the fields of link management: they read empty, and
    edits, search and tags work on them, the dedupe rule included."""
    from datetime import datetime, timezone

    from minilink.core.links import Link, Search

    now = datetime.now(timezone.utc)
    at = datetime(2026, 11, 28, tzinfo=timezone.utc)  # when states are decided
    for link, _ in store.export():
        assert (link.title, link.tags, link.redirect_status, link.forward_query) == (
            None,
            (),
            None,
            False,
        ), link.code
        assert (link.fallback_url, link.password_hash, link.updated_at, link.revision) == (
            None,
            None,
            None,
            0,
        ), link.code
    plain = store.get("v1code0")
    assert plain is not None
    again = store.insert(Link(code="fresh", url=plain.url, created_at=now))
    assert again is not None and again.code == "v1code0"  # still the URL's plain link
    before = store.changes()
    edited = store.update(plain.replace(title="Plain", tags=("old",), updated_at=now))
    assert edited is not None and (edited.revision, edited.hits) == (1, plain.hits)
    assert store.changes() != before
    assert store.update(plain) is None  # revision 0 is gone
    assert store.update(store.get("gone")) is None  # type: ignore[arg-type]
    # No longer plain: a new link of its URL gets a code of its own.
    fresh = store.insert(Link(code="fresh", url=plain.url, created_at=at))
    assert fresh is not None and fresh.code == "fresh"
    assert store.tags() == [("old", 1)]
    found = store.search(Search(now=at, text="PLAIN?Q", state="all"))
    assert [link.code for link in found] == ["fresh", "v1code0"]
    assert store.search(Search(now=at, tag="old")) == [edited]
    deleted = store.search(Search(now=at, state="deleted"))
    assert sorted(link.code for link in deleted) == ["gone", "v1code3"]
    assert [link.code for link in store.search(Search(now=at, state="expired"))] == ["used"]
    assert store.search(Search(now=at, sort="updated", limit=1)) == [edited]


@pytest.mark.parametrize("version", VERSIONS)
def test_a_sqlite_file_of_an_earlier_version_opens_losslessly(version: int, tmp_path: Path) -> None:
    path = tmp_path / "links.db"
    shutil.copyfile(FIXTURES / f"sqlite-v{version}.db", path)
    with SQLiteStore(str(path)) as store:
        _assert_lossless(store, version)
        _assert_still_works(store)
        _assert_manageable(store, version)
    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert conn.execute("PRAGMA user_version").fetchone() == (SQLITE_SCHEMA_VERSION,)
        indexes = {name for (name,) in conn.execute("SELECT name FROM sqlite_master")}
        # The dedupe index of version 1 gave way to the one of today's "plain".
        assert "links_plain_url" not in indexes
        assert {"links_plain", "links_updated", "link_tags", "meta"} <= indexes
        # Schema 3's text index, built from the links already there.
        assert "link_text" in indexes
        conn.execute("INSERT INTO link_text (link_text) VALUES ('integrity-check')")
        holders = conn.execute(
            "SELECT count(*) FROM link_text WHERE link_text MATCH '\"ple\"'"
        ).fetchone()
        # Every link is example.something; those after meta.indexed are not indexed yet.
        indexed = conn.execute("SELECT count(*) FROM links WHERE seq <= (SELECT indexed FROM meta)")
        assert holders == indexed.fetchone()
        assert holders[0] >= len(_entries((FIXTURES / f"export-v{version}.jsonl").read_text()))
    with SQLiteStore(str(path), readonly=True) as reader:  # today's version reads it
        assert reader.get("docs") is not None


@pytest.mark.parametrize("version", OLDER)
def test_a_sqlite_file_of_an_earlier_version_is_not_upgraded_read_only(
    version: int, tmp_path: Path
) -> None:
    from minilink.core.errors import StoreUnavailable

    path = tmp_path / "links.db"
    shutil.copyfile(FIXTURES / f"sqlite-v{version}.db", path)
    with (
        SQLiteStore(str(path), readonly=True) as reader,
        pytest.raises(StoreUnavailable, match=f"version {version}, older"),
    ):
        reader.get("docs")
    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute("PRAGMA user_version").fetchone() == (version,)


@pytest.mark.parametrize("version", VERSIONS)
def test_a_postgres_database_of_an_earlier_version_opens_losslessly(version: int) -> None:
    import pghelpers
    import psycopg

    from minilink.storage.postgres import PostgresStore

    dump = FIXTURES / f"postgres-v{version}.sql"
    with pghelpers.temporary_database("upgrade") as url:
        # psql, as an operator restores a pg_dump (it holds psql's own \restrict lines).
        subprocess.run(
            ["psql", "-q", "-v", "ON_ERROR_STOP=1", "-f", str(dump), url],
            check=True,
            capture_output=True,
            timeout=60,
        )
        with psycopg.connect(url) as conn:
            tables = conn.execute("SELECT count(*) FROM minilink_links").fetchone()
            assert tables is not None and tables[0] > 0
        with PostgresStore.from_url(url) as store:
            _assert_lossless(store, version)
            _assert_still_works(store)
            _assert_manageable(store, version)


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
@pytest.mark.parametrize("version", VERSIONS)
def test_an_export_of_an_earlier_version_still_imports(
    version: int, kind: str, tmp_path: Path
) -> None:
    from minilink.transfer import FORMAT

    text = (FIXTURES / f"export-v{version}.jsonl").read_text(encoding="utf-8")
    store: Store = MemoryStore() if kind == "memory" else SQLiteStore(tmp_path / "links.db")
    with store:
        result = import_links(store, text.splitlines(keepends=True))
        assert result.stored == result.read == len(_entries(text))
        _assert_lossless(store, version)
        _assert_still_works(store)
        # Exported again, in today's version, with every field of today's links.
        out = io.StringIO()
        export_jsonl(store, out)
        header, first = (json.loads(line) for line in out.getvalue().splitlines()[:2])
        assert header == FORMAT
        assert {"title", "tags", "password_hash", "revision"} <= set(first)
