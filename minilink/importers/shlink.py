"""Shlink's links, from the CSV export of its web client.

Theory of operation
-------------------
Shlink's web client exports the short URLs of a server as CSV with the header
``createdAt, domain, shortCode, shortUrl, longUrl, title, tags, visits`` (older
clients: no ``domain`` and ``shortCode``; the code is then the path of
``shortUrl``). ``tags`` are joined by ``|``. Kept: the code, ``longUrl``,
``createdAt`` (ISO 8601 with an offset), ``title``, the tags minilink can keep
(``[a-z0-9_-]{1,32}``, ten at most; the others are left off, with a note) and
``visits`` as hits. Not kept: ``domain``: links of several domains share one
namespace here, so a code met twice is imported once and the second is refused.
The export holds visit totals only, so the links get no per-day counts.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Optional, Union

from minilink.core.times import parse_time
from minilink.importers._common import Refusal, Row, Staging, checked_text, stage

__all__ = ["header_index", "read_csv"]


def header_index(cells: list[str], where: str) -> dict[str, int]:
    """The column of each name (lower case) of a Shlink export's header line;
    ``ValueError`` (naming ``where``) when it lacks longUrl or both shortCode and
    shortUrl."""
    names = [cell.strip().lower() for cell in cells]
    if "longurl" not in names or not ({"shortcode", "shorturl"} & set(names)):
        raise ValueError(
            f"{where}: not a Shlink export: the header needs longUrl and shortCode or shortUrl"
        )
    return {name: i for i, name in enumerate(names)}


def read_csv(lines: Iterable[str], staging: Staging) -> list[Refusal]:
    """Stage the links of a Shlink CSV export; return the rows refused. ``ValueError``
    for a file that is not text, or whose first line is not a Shlink header."""
    return stage(_items(lines), staging)


def _records(lines: Iterable[str]) -> Iterator[tuple[int, Union[list[str], str]]]:
    import csv

    numbered = checked_text(lines)
    reader = csv.reader(line for _, line in numbered)
    while True:
        start = reader.line_num + 1  # a record may span lines: its first
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield start, f"not CSV ({exc})"
            continue
        yield start, record


def _items(lines: Iterable[str]) -> Iterator[Union[Row, Refusal]]:
    from urllib.parse import unquote, urlsplit

    index: Optional[dict[str, int]] = None
    for number, record in _records(lines):
        where = f"line {number}"
        if isinstance(record, str):
            if index is None:
                raise ValueError(f"{where}: {record}")
            yield Refusal(where, "", record)
            continue
        if not any(cell.strip() for cell in record):
            continue
        if index is None:
            index = header_index(record, where)
            continue

        def cell(name: str, cells: list[str] = record, at: dict[str, int] = index) -> str:
            position = at.get(name)
            return cells[position].strip() if position is not None and position < len(cells) else ""

        code = cell("shortcode")
        if not code and cell("shorturl"):
            code = unquote(urlsplit(cell("shorturl")).path).strip("/")
        if not code:
            yield Refusal(where, "", "the shortCode column is empty")
            continue
        url = cell("longurl")
        if not url:
            yield Refusal(where, code, "the longUrl column is empty")
            continue
        stamp = cell("createdat")
        created = None
        if stamp:
            try:
                created = parse_time(stamp)
            except ValueError:
                yield Refusal(where, code, f"createdAt {stamp!r} is not an ISO 8601 time")
                continue
        visits = cell("visits")
        if visits and not (visits.isascii() and visits.isdigit()):
            yield Refusal(where, code, f"visits must be a whole number, not {visits!r}")
            continue
        tags = tuple(tag for tag in cell("tags").split("|") if tag.strip())
        yield Row(
            where=where,
            keyword=code,
            url=url,
            title=cell("title") or None,
            created=created,
            clicks=int(visits) if visits else 0,
            tags=tags,
        )
