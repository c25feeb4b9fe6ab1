"""Export and import: the JSON lines format, YOURLS and Shlink CSV, the CLI commands, flat
memory, and a migration of 100,000 links from SQLite to the real PostgreSQL server."""

from __future__ import annotations

import base64
import functools
import io
import json
import sys
import time
import tracemalloc
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from itertools import zip_longest
from pathlib import Path
from typing import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pghelpers import new_schema, temporary_database

from minilink.cli import main
from minilink.core.links import Link
from minilink.core.passwords import check_password, hash_password
from minilink.storage.base import Store
from minilink.storage.memory import MemoryStore
from minilink.storage.sqlite import SQLiteStore
from minilink.testing import strategies
from minilink.testing.contract import DAY, T0, make_link
from minilink.transfer import (
    FORMAT,
    Progress,
    dump_entry,
    export_jsonl,
    import_links,
    load_entry,
    read_jsonl,
    read_shlink,
    read_yourls,
)

UTC = timezone.utc


def _sample(store: Store) -> None:
    """Links of every kind, with hits and per-day counters."""
    store.insert(make_link("plain"))
    store.insert(make_link("alias", alias=True))
    store.insert(make_link("expiry", expires_at=T0 + timedelta(days=3, microseconds=5)))
    store.insert(make_link("limited", max_visits=3))
    store.insert(make_link("gone"))
    store.hit("plain", DAY, count=4)
    store.hit("plain", "2026-11-30")
    store.hit("limited", DAY, count=3, limit=3)
    store.hit("gone", DAY)
    store.delete("gone", T0 + timedelta(hours=1))


def _export(store: Store) -> list[str]:
    out = io.StringIO()
    export_jsonl(store, out)
    return out.getvalue().splitlines()


# -- the JSON lines format ----------------------------------------------------------------


def test_export_writes_a_header_then_one_link_per_line() -> None:
    store = MemoryStore()
    _sample(store)
    lines = _export(store)
    assert json.loads(lines[0]) == FORMAT
    assert [json.loads(line)["code"] for line in lines[1:]] == [
        "plain",
        "alias",
        "expiry",
        "limited",
        "gone",
    ]
    assert json.loads(lines[1]) == {
        "code": "plain",
        "url": "https://example.com/plain",
        "created_at": "2026-11-28T13:00:00.123456Z",
        "expires_at": None,
        "max_visits": None,
        "hits": 5,
        "alias": False,
        "deleted_at": None,
        "daily": {"2026-11-28": 4, "2026-11-30": 1},
        "title": None,
        "tags": [],
        "redirect_status": None,
        "forward_query": False,
        "fallback_url": None,
        "password_hash": None,
        "updated_at": None,
        "revision": 0,
    }
    assert json.loads(lines[5])["deleted_at"] == "2026-11-28T14:00:00.123456Z"


def test_a_line_reads_back_as_the_same_link() -> None:
    store = MemoryStore()
    _sample(store)
    for entry in store.export():
        assert load_entry(dump_entry(entry)) == entry
    whole = Link("w", "https://e.com/", datetime(2026, 1, 1, tzinfo=UTC))
    assert json.loads(dump_entry((whole, ())))["created_at"] == "2026-01-01T00:00:00Z"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("[1]", "JSON object"),
        ("{not json", "not JSON"),
        (
            '{"code": "a", "url": "https://e.com/", "created_at": "2026-01-01T00:00:00Z", '
            '"colour": "red"}',
            "unknown keys colour",
        ),
        (
            '{"code": "a b", "url": "https://e.com/", "created_at": "2026-01-01T00:00:00Z"}',
            "not a code",
        ),
        (
            '{"code": "a", "url": "https://e.com/\\r\\nX: y", '
            '"created_at": "2026-01-01T00:00:00Z"}',
            "printable ASCII",
        ),
        ('{"code": "a", "url": "https://e.com/"}', "created_at is missing"),
        (
            '{"code": "a", "url": "https://e.com/", "created_at": "2026-01-01T00:00:00"}',
            "with a zone",
        ),
        (
            '{"code": "a", "url": "https://e.com/", "created_at": "2026-01-01T00:00:00Z", '
            '"hits": -1}',
            "hits must be",
        ),
        (
            '{"code": "a", "url": "https://e.com/", "created_at": "2026-01-01T00:00:00Z", '
            '"max_visits": 0}',
            "max_visits must be",
        ),
        (
            '{"code": "a", "url": "https://e.com/", "created_at": "2026-01-01T00:00:00Z", '
            '"alias": "yes"}',
            "alias must be",
        ),
        (
            '{"code": "a", "url": "https://e.com/", "created_at": "2026-01-01T00:00:00Z", '
            '"hits": 1, "daily": {"2026-01-01": 2}}',
            "more than its total",
        ),
        (
            '{"code": "a", "url": "https://e.com/", "created_at": "2026-01-01T00:00:00Z", '
            '"daily": {"2026-01-01": "2"}}',
            "whole numbers",
        ),
    ],
    ids=[
        "not-an-object",
        "not-json",
        "unknown-key",
        "bad-code",
        "header-injection",
        "no-created-at",
        "naive-time",
        "negative-hits",
        "zero-max-visits",
        "alias-not-bool",
        "days-over-total",
        "days-not-numbers",
    ],
)
def test_bad_lines_are_refused_with_their_number(line: str, message: str) -> None:
    store = MemoryStore()
    text = [
        json.dumps(FORMAT),
        '{"code": "ok", "url": "https://e.com/", "created_at": "2026-01-01T00:00:00Z"}',
        line,
    ]
    with pytest.raises(ValueError, match=f"line 3: .*{message}"):
        import_links(store, text)


@pytest.mark.parametrize(
    ("version", "message"),
    [
        pytest.param(3, "format version 3, newer than the versions this minilink reads", id="3"),
        pytest.param(10**6, "version 1000000, newer", id="far-future"),
        pytest.param(0, "version 0 is not one this minilink reads", id="0"),
        pytest.param("2", "version '2' is not one", id="a-string"),
        pytest.param(2.0, "version 2.0 is not one", id="a-float"),
        pytest.param(True, "version True is not one", id="a-bool"),
        pytest.param(None, "version None is not one", id="missing"),
    ],
)
def test_a_header_of_another_version_is_refused_naming_line_1(
    version: object, message: str
) -> None:
    store = MemoryStore()
    header = json.dumps({"format": "minilink-links", "version": version})
    link = '{"code": "a", "url": "https://e.com/", "created_at": "2026-01-01T00:00:00Z"}'
    with pytest.raises(ValueError, match=f"^line 1: .*{message}") as raised:
        import_links(store, [header, link])
    assert "\n" not in str(raised.value)
    assert list(store.export()) == []


def test_a_header_of_another_format_is_refused() -> None:
    with pytest.raises(ValueError, match="line 1: not a minilink export header"):
        import_links(MemoryStore(), ['{"format": "other"}'])


def test_importing_twice_skips_what_is_there() -> None:
    source = MemoryStore()
    _sample(source)
    lines = _export(source)
    target = MemoryStore()
    first = import_links(target, lines)
    assert (first.read, first.stored, first.skipped) == (5, 5, 0)
    again = import_links(target, lines)
    assert (again.read, again.stored, again.skipped) == (5, 0, 5)
    assert list(target.export()) == list(source.export())


def test_sqlite_to_sqlite_keeps_every_field(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "a.db") as source, SQLiteStore(tmp_path / "b.db") as target:
        _sample(source)
        import_links(target, _export(source))
        assert list(target.export()) == list(source.export())
        assert target.insert(make_link("gone")) is None  # the tombstone came along


# -- version 2: the fields of link management ---------------------------------------------

PASSWORD = "correct horse \u00e9"


@functools.cache
def _hash() -> str:
    return hash_password(PASSWORD)  # ~90 ms: once per run


def _managed(store: Store) -> None:
    """Links with every field of version 2 set, two of them edited, hits, a tombstone."""
    store.insert(make_link("titled", title='Caf\u00e9 \u2713 "quoted"', tags=("work", "q-4_x")))
    store.insert(
        make_link(
            "options",
            alias=True,
            expires_at=T0 + timedelta(days=1),
            redirect_status=308,
            forward_query=True,
            fallback_url="https://example.com/after?x=1",
        )
    )
    store.insert(make_link("locked", password_hash=_hash(), redirect_status=307))
    store.insert(make_link("edited", max_visits=9))
    first = store.update(
        _get(store, "edited").replace(
            title="Edited", tags=("a",), updated_at=T0 + timedelta(minutes=5, microseconds=7)
        )
    )
    assert first is not None and first.revision == 1
    second = store.update(first.replace(redirect_status=301, updated_at=T0 + timedelta(minutes=6)))
    assert second is not None and second.revision == 2
    store.insert(make_link("gone-tagged", tags=("work",), title="Gone"))
    store.hit("locked", DAY, count=2)
    store.hit("edited", DAY, count=3, limit=9)
    store.delete("gone-tagged", T0 + timedelta(hours=2))


def _get(store: Store, code: str) -> Link:
    link = store.get(code)
    assert link is not None, code
    return link


@pytest.fixture
def make_store(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Callable[[str], Store]]:
    """``make("memory" | "sqlite" | "postgres")``: a new empty store of that kind."""
    opened: list[Store] = []

    def make(kind: str) -> Store:
        store: Store
        if kind == "memory":
            store = MemoryStore()
        elif kind == "sqlite":
            store = SQLiteStore(tmp_path / f"{len(opened)}.db")
        else:
            from minilink.storage.postgres import PostgresStore

            store = PostgresStore.from_url(new_schema(request.getfixturevalue("database")))
        opened.append(store)
        return store

    try:
        yield make
    finally:
        for store in opened:
            store.close()


KINDS = [
    pytest.param("memory", "memory", id="memory-to-memory"),
    pytest.param("sqlite", "sqlite", id="sqlite-to-sqlite"),
    pytest.param("memory", "sqlite", id="memory-to-sqlite"),
    pytest.param("sqlite", "memory", id="sqlite-to-memory"),
    pytest.param("sqlite", "postgres", id="sqlite-to-postgres"),
    pytest.param("postgres", "sqlite", id="postgres-to-sqlite"),
]


@pytest.mark.parametrize(("source_kind", "target_kind"), KINDS)
def test_every_field_of_version_2_comes_back(
    make_store: Callable[[str], Store], source_kind: str, target_kind: str
) -> None:
    source, target = make_store(source_kind), make_store(target_kind)
    _managed(source)
    lines = _export(source)
    assert json.loads(lines[0]) == {"format": "minilink-links", "version": 2}
    result = import_links(target, lines)
    assert (result.read, result.stored) == (5, 5)
    assert list(target.export()) == list(source.export())
    # Field by field, against the values set (not only "the same as the source").
    titled, options, locked = (
        _get(target, "titled"),
        _get(target, "options"),
        _get(target, "locked"),
    )
    assert (titled.title, titled.tags) == ('Caf\u00e9 \u2713 "quoted"', ("work", "q-4_x"))
    assert (options.redirect_status, options.forward_query, options.fallback_url) == (
        308,
        True,
        "https://example.com/after?x=1",
    )
    assert options.alias and not options.plain
    assert locked.protected and locked.password_hash == _hash()
    assert check_password(PASSWORD, locked.password_hash)  # the password still opens it
    assert not check_password("wrong", locked.password_hash)
    edited = _get(target, "edited")
    assert (edited.title, edited.tags, edited.redirect_status) == ("Edited", ("a",), 301)
    assert edited.revision == 2 and edited.etag == '"r2"'
    assert edited.updated_at == T0 + timedelta(minutes=6)
    assert (edited.hits, edited.max_visits) == (3, 9)
    assert _get(target, "gone-tagged").deleted_at == T0 + timedelta(hours=2)
    assert target.tags() == [("a", 1), ("q-4_x", 1), ("work", 1)]  # the tombstone's left out
    # An edit after the move continues from the revision that came over.
    moved = target.update(edited.replace(title="After the move"))
    assert moved is not None and moved.revision == 3
    assert target.update(edited.replace(title="stale")) is None


def test_a_line_of_version_2_reads_back_as_the_same_link() -> None:
    store = MemoryStore()
    _managed(store)
    for entry in store.export():
        assert load_entry(dump_entry(entry)) == entry
    line = json.loads(dump_entry((_get(store, "edited"), ())))
    assert line["updated_at"] == "2026-11-28T13:06:00.123456Z"
    assert (line["revision"], line["tags"], line["redirect_status"]) == (2, ["a"], 301)


def test_version_1_lines_get_the_new_fields_empty() -> None:
    store = MemoryStore()
    v1 = [
        '{"format":"minilink-links","version":1}',
        '{"code":"old","url":"https://e.com/","created_at":"2026-01-01T00:00:00Z",'
        '"expires_at":null,"max_visits":null,"hits":2,"alias":true,"deleted_at":null,'
        '"daily":{"2026-01-01":2}}',
    ]
    assert import_links(store, v1).stored == 1
    link = _get(store, "old")
    assert (link.title, link.tags, link.redirect_status, link.forward_query) == (
        None,
        (),
        None,
        False,
    )
    assert (link.fallback_url, link.password_hash, link.updated_at, link.revision) == (
        None,
        None,
        None,
        0,
    )
    assert (link.hits, link.alias) == (2, True)


def test_a_version_1_line_with_the_keys_of_version_2_is_refused() -> None:
    lines = [
        '{"format":"minilink-links","version":1}',
        '{"code":"old","url":"https://e.com/","created_at":"2026-01-01T00:00:00Z","tags":["x"]}',
    ]
    with pytest.raises(
        ValueError, match=r"line 2: unknown keys tags \(keys of a later export version\)"
    ):
        import_links(MemoryStore(), lines)


def test_lines_without_a_header_are_read_as_the_newest_version() -> None:
    store = MemoryStore()
    _managed(store)
    lines = _export(store)[1:]
    target = MemoryStore()
    assert import_links(target, lines).stored == 5
    assert list(target.export()) == list(store.export())


_AWARE = st.datetimes(
    min_value=datetime(1971, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
)
_B64 = st.binary(min_size=1, max_size=32).map(lambda raw: base64.b64encode(raw).decode())


@st.composite
def _v2_links(draw: st.DrawFn) -> tuple[Link, tuple[tuple[str, int], ...]]:
    """A link with any value of every field of version 2, as a store holds it."""
    from minilink.core.options import check_tags
    from minilink.core.urls import normalise_url

    def some() -> bool:  # whether an optional field is set
        return draw(st.booleans())

    hits = draw(st.integers(0, 2**40))
    salt, key = draw(_B64), draw(_B64)
    hashed = draw(
        st.sampled_from((f"scrypt$15$8$1${salt}${key}", f"pbkdf2-sha256$600000${salt}${key}"))
    )
    link = Link(
        code=draw(strategies.aliases()),
        url=normalise_url(draw(strategies.valid_urls())),
        created_at=draw(_AWARE),
        expires_at=draw(_AWARE) if some() else None,
        max_visits=draw(st.integers(1, 2**31 - 1)) if some() else None,
        hits=hits,
        alias=draw(st.booleans()),
        deleted_at=draw(_AWARE) if some() else None,
        title=draw(strategies.titles()) if some() else None,
        tags=check_tags(draw(strategies.tag_lists())),
        redirect_status=draw(strategies.redirect_statuses()),
        forward_query=draw(st.booleans()),
        fallback_url=(normalise_url(draw(strategies.valid_urls())) if some() else None),
        password_hash=hashed if some() else None,
        updated_at=draw(_AWARE) if some() else None,
        revision=draw(st.integers(0, 2**62)),
    )
    day = draw(st.dates(min_value=date(1971, 1, 1), max_value=date(2200, 1, 1)))
    days = ((day.isoformat(), hits),) if hits and draw(st.booleans()) else ()
    return link, days


@settings(max_examples=100, deadline=None)
@given(entry=_v2_links())
def test_any_link_of_version_2_reads_back_as_itself(
    entry: tuple[Link, tuple[tuple[str, int], ...]],
) -> None:
    line = dump_entry(entry)
    assert "\n" not in line and line.isascii()
    assert load_entry(line) == entry
    store = MemoryStore()
    assert import_links(store, [json.dumps(FORMAT), line]).stored == 1
    assert _export(store)[1] == line


_GOOD = '{"code":"ok","url":"https://e.com/ok","created_at":"2026-01-01T00:00:00Z"}'


def _v2(**fields: object) -> str:
    line = {"code": "bad", "url": "https://e.com/bad", "created_at": "2026-01-01T00:00:00Z"}
    line.update(fields)  # type: ignore[arg-type]
    return json.dumps(line)


BAD_V2 = [
    pytest.param(_v2(tags=["Work"]), "lower-case tags", id="tag-upper-case"),
    pytest.param(_v2(tags=["a", "a"]), "without duplicates", id="tag-twice"),
    pytest.param(_v2(tags=["a b"]), "a tag is 1 to 32", id="tag-space"),
    pytest.param(_v2(tags=["x" * 33]), "a tag is 1 to 32", id="tag-too-long"),
    pytest.param(_v2(tags=[""]), "a tag is 1 to 32", id="tag-empty"),
    pytest.param(_v2(tags=["\u212a"]), "a tag is 1 to 32", id="tag-kelvin-sign"),
    pytest.param(_v2(tags=[str(n) for n in range(11)]), "at most 10 tags", id="eleven-tags"),
    pytest.param(_v2(tags="work"), "list of strings", id="tags-a-string"),
    pytest.param(_v2(tags=[7]), "each tag must be a string", id="tag-a-number"),
    pytest.param(_v2(title="x" * 201), "at most 200", id="title-too-long"),
    pytest.param(_v2(title="a\nb"), "control characters", id="title-newline"),
    pytest.param(_v2(title=" padded "), "spaces", id="title-untrimmed"),
    pytest.param(_v2(title=""), "empty", id="title-empty"),
    pytest.param(_v2(title=5), "must be a string", id="title-a-number"),
    pytest.param(_v2(redirect_status=303), "301, 302, 307 or 308", id="status-303"),
    pytest.param(_v2(redirect_status="301"), "301, 302, 307 or 308", id="status-a-string"),
    pytest.param(_v2(redirect_status=True), "301, 302, 307 or 308", id="status-a-bool"),
    pytest.param(_v2(forward_query="yes"), "forward_query must be true", id="forward-a-string"),
    pytest.param(_v2(forward_query=None), "forward_query must be true", id="forward-null"),
    pytest.param(_v2(fallback_url="https://e.com/\r\nX: y"), "fallback_url", id="fallback-crlf"),
    pytest.param(_v2(fallback_url=""), "fallback_url", id="fallback-empty"),
    pytest.param(_v2(fallback_url=["x"]), "fallback_url", id="fallback-a-list"),
    pytest.param(_v2(password_hash="hunter2"), "password_hash", id="hash-a-plain-password"),
    pytest.param(_v2(password_hash="scrypt$" + "A" * 2000), "password_hash", id="hash-huge"),
    pytest.param(_v2(password_hash=12), "password_hash", id="hash-a-number"),
    pytest.param(_v2(updated_at="2026-01-01T00:00:00"), "updated_at .*with a zone", id="naive"),
    pytest.param(_v2(updated_at=5), "updated_at must be", id="updated-a-number"),
    pytest.param(_v2(revision=-1), "revision must be", id="revision-negative"),
    pytest.param(_v2(revision=1.5), "revision must be", id="revision-a-float"),
    pytest.param(_v2(revision=True), "revision must be", id="revision-a-bool"),
    pytest.param(_v2(colour="red"), "unknown keys colour$", id="unknown-key"),
]


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
@pytest.mark.parametrize(("line", "message"), BAD_V2)
def test_bad_values_of_version_2_are_refused_naming_the_line(
    tmp_path: Path, kind: str, line: str, message: str
) -> None:
    lines = [json.dumps(FORMAT), _GOOD, line, _GOOD.replace('"ok"', '"after"')]
    store: Store = MemoryStore() if kind == "memory" else SQLiteStore(tmp_path / "x.db")
    with store:
        with pytest.raises(ValueError, match=f"^line 3: .*{message}"):
            import_links(store, lines)
        assert store.get("bad") is None
        assert store.get("after") is None  # nothing after the bad line
        # Before it, what the batching rules say: the memory store writes each entry,
        # the SQLite store whole batches only (the bad line was in the first).
        assert (store.get("ok") is not None) == (kind == "memory")


# -- YOURLS and Shlink ----------------------------------------------------------------------

YOURLS_WITH_HEADER = """\
keyword,url,title,timestamp,ip,clicks
docs,https://Example.COM/docs,"Docs, the title",2021-03-04 05:06:07,192.0.2.1,12
x1,http://example.org/caf\u00e9,,2021-03-05 00:00:00,192.0.2.2,0
"""
YOURLS_WITHOUT_HEADER = """\
"docs","https://example.com/docs","Docs","2021-03-04 05:06:07","192.0.2.1","12"
"""


def test_yourls_csv_with_a_header() -> None:
    entries = list(read_yourls(io.StringIO(YOURLS_WITH_HEADER)))
    assert entries == [
        (
            Link(
                "docs",
                "https://example.com/docs",
                datetime(2021, 3, 4, 5, 6, 7, tzinfo=UTC),
                hits=12,
                alias=True,
            ),
            (),
        ),
        (
            Link(
                "x1", "http://example.org/caf%C3%A9", datetime(2021, 3, 5, tzinfo=UTC), alias=True
            ),
            (),
        ),
    ]


def test_yourls_csv_without_a_header_uses_the_table_order() -> None:
    (entry,) = read_yourls(io.StringIO(YOURLS_WITHOUT_HEADER))
    assert entry[0].code == "docs"
    assert entry[0].hits == 12


def test_yourls_csv_columns_by_name_and_a_missing_timestamp() -> None:
    now = datetime(2030, 1, 1, 12, 0, 0, 999, tzinfo=UTC)
    (entry,) = read_yourls(io.StringIO("URL,Keyword\nhttps://e.com/,k\n"), now=now)
    assert entry == (Link("k", "https://e.com/", now.replace(microsecond=0), alias=True), ())


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("api,https://e.com/,t,2021-01-01 00:00:00,ip,1", "reserved"),
        ("a/b,https://e.com/,t,2021-01-01 00:00:00,ip,1", "alias"),
        ("ok,javascript:alert(1),t,2021-01-01 00:00:00,ip,1", "scheme"),
        ("ok,https://e.com/,t,yesterday,ip,1", "not a time"),
        ("ok,https://e.com/,t,2021-01-01 00:00:00,ip,many", "clicks must be"),
        (",https://e.com/,t,2021-01-01 00:00:00,ip,1", "keyword column is empty"),
    ],
    ids=["reserved-word", "bad-code", "bad-scheme", "bad-time", "bad-clicks", "no-keyword"],
)
def test_yourls_rows_minilink_would_refuse_stop_the_import(row: str, message: str) -> None:
    text = YOURLS_WITH_HEADER + row + "\n"
    with pytest.raises(ValueError, match=f"line 4: .*{message}"):
        list(read_yourls(io.StringIO(text)))


SHLINK = """\
createdAt,domain,shortCode,shortUrl,longUrl,title,tags,visits
2023-05-14T10:20:30+02:00,s.test,abc12,https://s.test/abc12,https://example.com/a,A,one|two,7
2023-05-15T00:00:00.000Z,,zz-9,https://s.test/zz-9,https://example.com/b,,,0
"""
SHLINK_OLD = """\
createdAt,shortUrl,longUrl,title,tags,visits
2020-01-02T03:04:05+00:00,https://s.test/old1,https://example.com/old,,,3
"""


def test_shlink_csv() -> None:
    entries = list(read_shlink(io.StringIO(SHLINK)))
    assert entries == [
        (
            Link(
                "abc12",
                "https://example.com/a",
                datetime(2023, 5, 14, 8, 20, 30, tzinfo=UTC),
                hits=7,
                alias=True,
            ),
            (),
        ),
        (Link("zz-9", "https://example.com/b", datetime(2023, 5, 15, tzinfo=UTC), alias=True), ()),
    ]


def test_shlink_csv_of_older_clients_takes_the_code_from_the_short_url() -> None:
    (entry,) = read_shlink(io.StringIO(SHLINK_OLD))
    assert (entry[0].code, entry[0].hits) == ("old1", 3)


def test_a_file_that_is_not_a_shlink_export_is_refused() -> None:
    with pytest.raises(ValueError, match="line 1: not a Shlink export"):
        list(read_shlink(io.StringIO(YOURLS_WITH_HEADER)))
    with pytest.raises(ValueError, match="unknown import format"):
        import_links(MemoryStore(), [], format="bitly")


# -- the command line --------------------------------------------------------------------


def test_cli_export_and_import_round_trip(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "old.db"
    with SQLiteStore(source) as store:
        _sample(store)
    dump = tmp_path / "links.jsonl"
    assert main(["--store", str(source), "export", "--output", str(dump)]) == 0
    assert capsys.readouterr() == ("", "")  # stderr is no terminal: no progress bar
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    assert main(["import", str(dump), "--store", str(tmp_path / "new.db")]) == 0
    assert capsys.readouterr().out == "imported\t5\nskipped\t0\n"
    assert main(["--store", str(tmp_path / "new.db"), "export"]) == 0
    assert capsys.readouterr().out.splitlines() == dump.read_text().splitlines()


def test_cli_moves_every_field_of_version_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "old.db"
    with SQLiteStore(source) as store:
        _managed(store)
    dump = tmp_path / "links.jsonl"
    assert main(["--store", str(source), "export", "--output", str(dump)]) == 0
    lines = dump.read_text().splitlines()
    assert json.loads(lines[0])["version"] == 2
    assert {json.loads(line)["code"]: json.loads(line)["password_hash"] for line in lines[1:]}[
        "locked"
    ] == _hash()
    target = str(tmp_path / "new.db")
    assert main(["import", str(dump), "--store", target]) == 0
    assert capsys.readouterr().out == "imported\t5\nskipped\t0\n"
    assert main(["--store", target, "export"]) == 0
    assert capsys.readouterr().out.splitlines() == lines
    assert main(["--store", target, "show", "locked"]) == 0
    shown = capsys.readouterr().out
    assert "password_protected\ttrue\n" in shown
    assert _hash() not in shown  # the hash moves with exports, and is never printed
    with SQLiteStore(target) as store:
        assert check_password(PASSWORD, _get(store, "locked").password_hash or "")


def test_cli_import_from_stdin_and_csv(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(SHLINK))
    store = str(tmp_path / "s.db")
    assert main(["import", "-", "--format", "shlink", "--store", store]) == 0
    assert capsys.readouterr().out == "imported\t2\nskipped\t0\nrefused\t0\n"
    csv_file = tmp_path / "yourls.csv"
    csv_file.write_text("\ufeff" + YOURLS_WITH_HEADER, encoding="utf-8")  # with a BOM
    assert main(["import", str(csv_file), "--format", "yourls", "--store", store]) == 0
    assert capsys.readouterr().out == "imported\t2\nskipped\t0\nrefused\t0\n"
    assert main(["--store", store, "resolve", "docs"]) == 0
    assert capsys.readouterr().out == "https://example.com/docs\n"


def test_cli_import_errors_are_one_sentence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(FORMAT) + "\n{oops\n")
    assert main(["import", str(bad), "--store", str(tmp_path / "x.db")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("minilink: error: ")
    assert "line 2: not JSON" in err
    assert err.count("\n") == 1
    assert main(["import", str(tmp_path / "missing.jsonl"), "--store", "memory:"]) == 1
    assert "No such file" in capsys.readouterr().err


@pytest.mark.parametrize(
    "output",
    [
        pytest.param("{tmp}/missing-folder/links.jsonl", id="missing-folder"),
        pytest.param("{tmp}", id="a-directory"),
    ],
)
def test_cli_export_errors_name_the_path_given(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], output: str
) -> None:
    output = output.replace("{tmp}", str(tmp_path))
    with SQLiteStore(tmp_path / "links.db") as store:
        _sample(store)
    assert main(["--store", str(tmp_path / "links.db"), "export", "-o", output]) != 0
    err = capsys.readouterr().err
    assert err.startswith("minilink: error: ")
    assert err.count("\n") == 1
    assert repr(output) in err or output in err
    assert ".minilink-export-" not in err
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def _binary_after(good_lines: int) -> bytes:
    lines = [json.dumps(FORMAT)] + [
        dump_entry((make_link(f"c{n}", url=f"https://example.com/{n}"), ()))
        for n in range(good_lines)
    ]
    return "\n".join(lines).encode() + b"\n\x89PNG\r\n\x1a\n\x00\xff\xfe binary\n"


@pytest.mark.parametrize(
    ("good_lines", "fmt"),
    [
        pytest.param(1, "jsonl", id="jsonl-line-3"),
        pytest.param(500, "jsonl", id="jsonl-line-502-past-the-first-read"),
        pytest.param(1, "yourls", id="yourls"),
        pytest.param(1, "shlink", id="shlink"),
    ],
)
def test_cli_import_of_a_binary_file_names_the_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], good_lines: int, fmt: str
) -> None:
    path = tmp_path / "links.bin"
    data = _binary_after(good_lines)
    if fmt == "yourls":
        data = b"keyword,url\nok,https://example.com/\n\x89PNG\x00\xff\n"
    elif fmt == "shlink":
        data = b"shortCode,longUrl,createdAt\nok,https://example.com/,2026-11-28T13:00:00Z\n\xff\n"
    path.write_bytes(data)
    status = main(["import", str(path), "--format", fmt, "--store", str(tmp_path / "x.db")])
    assert status == 1
    err = capsys.readouterr().err
    assert err.startswith("minilink: error: ")
    assert err.count("\n") == 1
    line = good_lines + 2 if fmt == "jsonl" else 3
    assert f"line {line}:" in err
    assert "not UTF-8 text" in err
    assert "codec" not in err


def test_read_jsonl_names_the_line_of_undecodable_text_from_any_text_stream() -> None:
    stream = io.TextIOWrapper(io.BytesIO(_binary_after(1)), encoding="utf-8")
    with pytest.raises(ValueError, match="not UTF-8 text"):
        list(read_jsonl(stream))


def test_progress_is_drawn_on_one_line() -> None:
    stream = io.StringIO()
    ticks = iter([0.0, 0.05, 1.0, 1.02, 2.0, 2.0])
    progress = Progress("imported", stream=stream, fraction=lambda: 0.5, clock=lambda: next(ticks))
    progress(1000)  # drawn (first)
    progress(2000)  # too soon after the first: skipped
    progress(3000)  # drawn
    progress.finish()
    text = stream.getvalue()
    assert text.count("\r") == 3
    assert text.endswith("\n")
    assert "[###############...............]  50% imported 3,000 links (1,500/s)" in text


# -- memory stays flat -------------------------------------------------------------------


def _links(count: int) -> Iterator[tuple[Link, tuple[tuple[str, int], ...]]]:
    """``count`` links of every kind (the fields of version 2 included), with hits and
    per-day counters."""
    base = datetime(2025, 1, 1, tzinfo=UTC)
    for i in range(count):
        created = base + timedelta(seconds=i, microseconds=i % 1000)
        days = tuple(
            ((created + timedelta(days=d)).strftime("%Y-%m-%d"), 1 + (i + d) % 5)
            for d in range(i % 4)
        )
        kind = i % 20
        yield (
            Link(
                code=f"k{i:x}",
                url=f"https://example.com/p/{i}?q={i % 97}",
                created_at=created,
                expires_at=created + timedelta(days=30) if kind == 1 else None,
                max_visits=100 if kind == 2 else None,
                hits=sum(n for _, n in days) + i % 3,
                alias=kind == 3,
                deleted_at=created + timedelta(hours=1) if kind == 4 else None,
                title=f"Link n\u00b0{i}" if kind == 5 else None,
                tags=(f"t{i % 7}", "all") if kind in (5, 6) else (),
                redirect_status=(301, 302, 307, 308)[i % 4] if kind == 6 else None,
                forward_query=kind == 6,
                fallback_url=f"https://example.com/fallback/{i}" if kind == 6 else None,
                password_hash=_hash() if kind == 7 else None,
                updated_at=created + timedelta(minutes=1) if kind == 8 else None,
                revision=i % 5 if kind == 8 else 0,
            ),
            days,
        )


def _peak(tmp_path: Path, count: int) -> int:
    folder = tmp_path / str(count)
    folder.mkdir()
    with SQLiteStore(folder / "a.db") as source, SQLiteStore(folder / "b.db") as target:
        source.restore(_links(count))
        dump = folder / "links.jsonl"
        tracemalloc.start()
        try:
            with dump.open("w") as out:
                export_jsonl(source, out)
            with dump.open() as lines:
                result = import_links(target, lines)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert result.stored == count
    return peak


def test_export_and_import_memory_stays_flat(tmp_path: Path) -> None:
    small, large = _peak(tmp_path, 2_500), _peak(tmp_path, 10_000)
    # Four times the links, the same peak: batches, never the whole store.
    assert large < small * 1.25 + 100_000, (small, large)


# -- the migration that scaling out starts with --------------------------------------------


@pytest.fixture(scope="module")
def database() -> Iterator[str]:
    with temporary_database("transfer") as url:
        yield url


@pytest.mark.slow
def test_migrating_100k_links_from_sqlite_to_postgresql_keeps_every_field(
    tmp_path: Path, database: str
) -> None:
    from minilink.storage.postgres import PostgresStore

    count = 100_000
    dump = tmp_path / "links.jsonl"
    with SQLiteStore(tmp_path / "links.db") as source:
        source.restore(_links(count))
        started = time.monotonic()
        with dump.open("w") as out:
            assert export_jsonl(source, out) == count
        exported = time.monotonic()
        with PostgresStore.from_url(new_schema(database)) as target:
            with dump.open() as lines:
                result = import_links(target, lines)
            imported = time.monotonic()
            assert (result.read, result.stored) == (count, count)
            # Every field of every link, and every per-day counter, in the same order.
            compared = 0
            for want, got in zip_longest(source.export(), target.export()):
                assert got == want
                compared += 1
            assert compared == count
            assert [link.code for link in target.recent(2)] == ["k1869f", "k1869e"]
    print(
        f"\n100,000 links: export {exported - started:.1f} s, "
        f"import into PostgreSQL {imported - exported:.1f} s "
        f"({count / (imported - exported):,.0f} links/s)"
    )
