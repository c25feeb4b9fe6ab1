"""Export and import: the JSON lines format, YOURLS and Shlink CSV, the CLI commands, flat
memory, and a migration of 100,000 links from SQLite to the real PostgreSQL server."""

from __future__ import annotations

import io
import json
import sys
import time
import tracemalloc
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from itertools import zip_longest
from pathlib import Path

import pytest
from pghelpers import new_schema, temporary_database

from minilink.cli import main
from minilink.core.links import Link
from minilink.storage.base import Store
from minilink.storage.memory import MemoryStore
from minilink.storage.sqlite import SQLiteStore
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


def test_a_header_of_another_version_is_refused() -> None:
    with pytest.raises(ValueError, match="line 1: export format version 2"):
        import_links(MemoryStore(), ['{"format": "minilink-links", "version": 2}'])
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


def test_cli_import_from_stdin_and_csv(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(SHLINK))
    store = str(tmp_path / "s.db")
    assert main(["import", "-", "--format", "shlink", "--store", store]) == 0
    assert capsys.readouterr().out == "imported\t2\nskipped\t0\n"
    csv_file = tmp_path / "yourls.csv"
    csv_file.write_text("\ufeff" + YOURLS_WITH_HEADER, encoding="utf-8")  # with a BOM
    assert main(["import", str(csv_file), "--format", "yourls", "--store", store]) == 0
    assert capsys.readouterr().out == "imported\t2\nskipped\t0\n"
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
    """``count`` links of every kind, with hits and per-day counters."""
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
