"""Moving in from Shlink: its web client's CSV export, titles and tags kept, every bad
row reported, a re-run changing nothing."""

from __future__ import annotations

import io
from datetime import datetime, timezone

import pytest

from minilink.importers import detect, import_file
from minilink.storage.memory import MemoryStore

UTC = timezone.utc
EXPORT = """\
createdAt,domain,shortCode,shortUrl,longUrl,title,tags,visits
2023-05-14T10:20:30+02:00,s.test,abc12,https://s.test/abc12,https://example.com/a,Title,one|Two|two,7
2023-05-15T00:00:00.000Z,,zz-9,https://s.test/zz-9,https://example.com/b,,,0
2023-05-13T00:00:00Z,s.test,tagged,https://s.test/tagged,https://example.com/t,,with space|ok,1
2023-05-16T00:00:00Z,other.test,abc12,https://other.test/abc12,https://example.com/c,,,0
2023-05-16T00:00:00Z,s.test,when,https://s.test/when,https://example.com/d,,,never
2023-05-16T00:00:00Z,s.test,js,https://s.test/js,javascript:alert(1),,,0
not a time,s.test,t,https://s.test/t,https://example.com/e,,,0
2023-05-16T00:00:00Z,s.test,,,https://example.com/f,,,0
"""


def test_a_shlink_export() -> None:
    store = MemoryStore()
    report = import_file(store, io.StringIO(EXPORT), format="shlink")
    assert (report.read, report.stored) == (8, 3)
    entries = list(store.export())
    assert [link.code for link, _ in entries] == ["tagged", "abc12", "zz-9"]  # by createdAt
    link = store.get("abc12")
    assert link is not None
    assert (link.url, link.title, link.tags, link.hits, link.alias) == (
        "https://example.com/a",
        "Title",
        ("one", "two"),
        7,
        True,
    )
    assert link.created_at == datetime(2023, 5, 14, 8, 20, 30, tzinfo=UTC)
    assert store.get("tagged").tags == ("ok",)  # type: ignore[union-attr]
    reasons = {r.where: str(r) for r in report.refused}
    assert "given before, at line 2" in reasons["line 5"]  # one namespace for all domains
    assert "visits must be a whole number" in reasons["line 6"]
    assert "MINILINK_ALLOWED_SCHEMES" in reasons["line 7"]
    assert "not an ISO 8601 time" in reasons["line 8"]
    assert "shortCode column is empty" in reasons["line 9"]
    assert any("tags minilink cannot keep" in note for note in report.notes)


def test_re_running_a_shlink_import_changes_nothing() -> None:
    store = MemoryStore()
    import_file(store, io.StringIO(EXPORT), format="shlink")
    before = list(store.export())
    again = import_file(store, io.StringIO(EXPORT), format="shlink")
    assert (again.stored, again.unchanged, len(again.refused)) == (0, 3, 5)
    assert list(store.export()) == before


def test_a_file_that_is_not_a_shlink_export_stops_at_line_1() -> None:
    with pytest.raises(ValueError, match="line 1: not a Shlink export"):
        import_file(MemoryStore(), io.StringIO("keyword,url\nk,https://e.com/\n"), format="shlink")


@pytest.mark.parametrize(
    ("line", "found"),
    [
        ('{"format":"minilink-links","version":2}', "jsonl"),
        ("-- MySQL dump 10.13  Distrib 8.0.36", "yourls-sql"),
        ("/*M!999999\\- enable the sandbox mode */", "yourls-sql"),
        ("-- phpMyAdmin SQL Dump", "yourls-sql"),
        ("\ufeffkeyword,url,title,timestamp,ip,clicks", "yourls"),
        ("keyword\turl\ttitle\ttimestamp\tip\tclicks", "yourls"),
        ('"createdAt","shortUrl","longUrl"', "shlink"),
        ("docs,https://example.com/,Docs,2021-01-01 00:00:00,ip,1", None),
    ],
)
def test_the_format_is_told_by_the_first_line(line: str, found: str) -> None:
    assert detect(line) == found
