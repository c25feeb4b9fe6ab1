"""Export and import: a whole store as JSON lines, and the CSV exports of YOURLS and Shlink.

Theory of operation
-------------------
**The JSON lines format** is lossless: importing an export gives back equal links and
counters, so a SQLite instance can move to PostgreSQL (or back). The first line is a
header, ``{"format": "minilink-links", "version": 2}``; then one object per link,
oldest first, tombstones included::

    {"code": "x7Kq2aB", "url": "https://example.com/", "created_at": "2026-11-28T13:00:00Z",
     "expires_at": null, "max_visits": null, "hits": 3, "alias": false,
     "deleted_at": null, "daily": {"2026-11-28": 2, "2026-11-29": 1},
     "title": "Docs", "tags": ["work"], "redirect_status": null, "forward_query": false,
     "fallback_url": null, "password_hash": null, "updated_at": null, "revision": 0}

(one line per link in the file). Times are RFC 3339 in UTC, with microseconds when
they have any; ``daily`` holds the per-day counters (days with hits only); ``hits`` is
the total, which may exceed the days' sum (hits counted before days were kept, or
imported from elsewhere). A reader refuses unknown keys rather than drop data.

``password_hash`` is the salted scrypt (or PBKDF2) hash a protected link keeps, never
the password: exporting it is what lets a link moved to another store keep asking for
the same password. An export of protected links is therefore as sensitive as the
database itself (anyone holding it can try guesses offline at the hash's cost): keep
it where the database is kept.

**Versions.** Version 1 (before link management) has only the first nine keys;
version 2 adds ``title``, ``tags``, ``redirect_status``, ``forward_query``,
``fallback_url``, ``password_hash``, ``updated_at`` and ``revision``. Both are read
(the links of a version 1 file get the new fields empty, and its lines may not carry
the new keys); a file without a header line is read as the newest version, whose keys
are a superset of the older ones; a header of a version this code does not know
(a later minilink's) stops the import at line 1. The new values are checked as the
core checks them (``minilink.core.options``) and must already be in the form minilink
stores (lower-case tags without duplicates, a trimmed title): an import restores, it
does not tidy up.

**Streaming**: ``export_jsonl`` writes links as ``Store.export`` reads them, a page at
a time; the importers parse one line at a time and ``Store.restore`` stores batches
of a thousand. Memory stays flat whatever the number of links.

**Import is a restore**: a link keeps its code, times, hits, counters and tombstone.
A code already taken in the target store is skipped and counted as skipped, so an
interrupted import can simply be run again. A line that cannot be read stops the
import with a ``ValueError`` naming its line; the batches before it are stored.

**Other shorteners' CSV exports** (what is read, and what is not kept):

* *YOURLS* keeps its links in the ``yourls_url`` table, exported as CSV by
  phpMyAdmin, ``mysql``/``SELECT ... INTO OUTFILE`` or an export plugin: columns
  ``keyword, url, title, timestamp, ip, clicks``. With a header row the columns are
  found by name (``keyword`` and ``url`` are required), without one they are taken
  in the table's order. Read: ``keyword`` (the code), ``url``, ``timestamp``
  (``YYYY-MM-DD HH:MM:SS``, taken as UTC; missing, the time of the import) and
  ``clicks`` (the hit total). Not kept: ``title`` and ``ip`` (minilink stores
  neither). YOURLS keeps clicks per visit in a log table, not in this export, so
  imported links have a total and no per-day counters.
* *Shlink*'s web client exports short URLs with the header ``createdAt, domain,
  shortCode, shortUrl, longUrl, title, tags, visits`` (older versions: no ``domain``
  and ``shortCode``; the code is then the path of ``shortUrl``). Read: the code,
  ``longUrl``, ``createdAt`` (ISO 8601 with an offset) and ``visits`` (the total).
  Not kept: ``domain``, ``title`` and ``tags``; links of several domains share one
  namespace here, so a code met twice is imported once.

Their links are imported as aliases (their codes were chosen elsewhere and must keep
working, and deduplication never merges them), after the checks a new link gets: the
code must be a valid, unreserved alias and the URL is normalised and checked against
the configuration (allowed schemes, length, blocked hosts). ``read_yourls`` and
``read_shlink`` are the strict readers: a row that fails them stops them, naming its
line. ``import_links`` reads these formats (and ``yourls-sql``, a ``mysqldump`` of a
YOURLS database) through ``minilink.importers`` instead, which keeps titles, tags and
per-day clicks, reports every refused row with its reason and goes on, and returns
an ``importers.Report``.
"""

from __future__ import annotations

import csv
import json
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Optional, TextIO, Union

from minilink.core.codes import is_code
from minilink.core.config import Config
from minilink.core.links import Link
from minilink.core.times import format_optional, format_time, parse_time
from minilink.storage.base import Store, check_entry

TYPE_CHECKING = False
if TYPE_CHECKING:
    from minilink.importers import Report
    from minilink.storage.base import Entry

__all__ = [
    "FORMAT",
    "FORMATS",
    "VERSIONS",
    "ImportResult",
    "Progress",
    "dump_entry",
    "export_jsonl",
    "import_links",
    "load_entry",
    "read_jsonl",
    "read_shlink",
    "read_yourls",
]

#: The versions of the JSON lines export that ``read_jsonl`` reads, oldest first.
VERSIONS = (1, 2)
_NEWEST = VERSIONS[-1]
#: The header line of a JSON lines export (of the version written: the newest).
FORMAT = {"format": "minilink-links", "version": _NEWEST}
#: What ``import_links`` reads.
FORMATS = ("jsonl", "yourls", "yourls-sql", "shlink")

_KEYS_V1 = frozenset(
    (
        "code",
        "url",
        "created_at",
        "expires_at",
        "max_visits",
        "hits",
        "alias",
        "deleted_at",
        "daily",
    )
)
_KEYS_V2 = _KEYS_V1 | frozenset(
    (
        "title",
        "tags",
        "redirect_status",
        "forward_query",
        "fallback_url",
        "password_hash",
        "updated_at",
        "revision",
    )
)
#: The keys a line of each version may have.
_KEYS = {1: _KEYS_V1, 2: _KEYS_V2}
#: How a password hash begins (the schemes of ``minilink.core.passwords``).
_HASH_SCHEMES = ("scrypt$", "pbkdf2-sha256$")
_YOURLS_COLUMNS = ("keyword", "url", "title", "timestamp", "ip", "clicks")


@dataclass(frozen=True)
class ImportResult:
    """How many links an import read, and how many it stored (the others' codes were
    already taken)."""

    read: int
    stored: int

    @property
    def skipped(self) -> int:
        return self.read - self.stored


# -- JSON lines ---------------------------------------------------------------------------


def dump_entry(entry: Entry) -> str:
    """One link as its line of the export (without the newline), in the version of
    ``FORMAT``."""
    link, days = entry
    return json.dumps(
        {
            "code": link.code,
            "url": link.url,
            "created_at": format_time(link.created_at),
            "expires_at": format_optional(link.expires_at),
            "max_visits": link.max_visits,
            "hits": link.hits,
            "alias": link.alias,
            "deleted_at": format_optional(link.deleted_at),
            "daily": dict(days),
            "title": link.title,
            "tags": list(link.tags),
            "redirect_status": link.redirect_status,
            "forward_query": link.forward_query,
            "fallback_url": link.fallback_url,
            "password_hash": link.password_hash,
            "updated_at": format_optional(link.updated_at),
            "revision": link.revision,
        },
        separators=(",", ":"),
    )


def load_entry(line: str, version: int = _NEWEST) -> Entry:
    """The link a line of an export of ``version`` (one of ``VERSIONS``) describes;
    raises ``ValueError`` saying what is wrong with it."""
    try:
        data = json.loads(line)
    except ValueError as exc:
        raise ValueError(f"not JSON ({exc})") from None
    if not isinstance(data, dict):
        raise ValueError("a link must be a JSON object")
    unknown = sorted(set(data) - _KEYS[version])
    if unknown:
        later = " (keys of a later export version)" if set(unknown) <= _KEYS_V2 else ""
        raise ValueError(f"unknown keys {', '.join(unknown)}{later}")
    code = data.get("code")
    if not isinstance(code, str) or not is_code(code):
        raise ValueError(f"{code!r} is not a code ([A-Za-z0-9_-], 1 to 100 characters)")
    url = data.get("url")
    if not isinstance(url, str) or not _safe_url(url):
        raise ValueError(f"link {code!r}: the url must be printable ASCII without spaces")
    max_visits = data.get("max_visits")
    if max_visits is not None and (not _integer(max_visits) or max_visits < 1):
        raise ValueError(f"link {code!r}: max_visits must be a whole number of at least 1")
    hits = data.get("hits", 0)
    if not _integer(hits) or hits < 0:
        raise ValueError(f"link {code!r}: hits must be a whole number of at least 0")
    alias = data.get("alias", False)
    if not isinstance(alias, bool):
        raise ValueError(f"link {code!r}: alias must be true or false")
    daily = data.get("daily", {})
    if not isinstance(daily, dict) or not all(_integer(n) for n in daily.values()):
        raise ValueError(f"link {code!r}: daily must map days to whole numbers")
    created_at = _parse_time(data.get("created_at"), "created_at", code)
    if created_at is None:
        raise ValueError(f"link {code!r}: created_at is missing")
    link = Link(
        code=code,
        url=url,
        created_at=created_at,
        expires_at=_parse_time(data.get("expires_at"), "expires_at", code),
        max_visits=max_visits,
        hits=hits,
        alias=alias,
        deleted_at=_parse_time(data.get("deleted_at"), "deleted_at", code),
        **_options(data, code),
    )
    return check_entry((link, tuple(daily.items())))


def _options(data: dict[str, Any], code: str) -> dict[str, Any]:
    """The fields of version 2 in ``data`` (absent ones are left to ``Link``'s
    defaults), checked as the core checks them, in the form it stores them."""
    from minilink.core.errors import BadRequest
    from minilink.core.options import check_redirect_status, check_tags, check_title

    fields: dict[str, Any] = {}
    try:
        if "title" in data:
            title = data["title"]
            fields["title"] = check_title(title)
            if fields["title"] != title:
                raise ValueError("the title must not be empty or start or end with spaces")
        if "tags" in data:
            tags = data["tags"]
            fields["tags"] = check_tags(tags)
            if tags is not None and list(fields["tags"]) != tags:
                raise ValueError("tags must be a list of lower-case tags without duplicates")
        if "redirect_status" in data:
            fields["redirect_status"] = check_redirect_status(data["redirect_status"])
    except BadRequest as exc:
        raise ValueError(f"link {code!r}: {_lower_first(exc.message.rstrip('.'))}") from None
    except ValueError as exc:
        raise ValueError(f"link {code!r}: {exc}") from None
    if "forward_query" in data:
        if not isinstance(data["forward_query"], bool):
            raise ValueError(f"link {code!r}: forward_query must be true or false")
        fields["forward_query"] = data["forward_query"]
    fallback = data.get("fallback_url")
    if fallback is not None and not (isinstance(fallback, str) and _safe_url(fallback)):
        raise ValueError(
            f"link {code!r}: the fallback_url must be printable ASCII without spaces, or null"
        )
    fields["fallback_url"] = fallback
    stored = data.get("password_hash")
    if stored is not None and not (
        isinstance(stored, str)
        and len(stored) <= 1000
        and _safe_url(stored)
        and stored.startswith(_HASH_SCHEMES)
    ):
        raise ValueError(
            f"link {code!r}: the password_hash must be a hash minilink made "
            "(scrypt$... or pbkdf2-sha256$...), or null"
        )
    fields["password_hash"] = stored
    fields["updated_at"] = _parse_time(data.get("updated_at"), "updated_at", code)
    revision = data.get("revision", 0)
    if not _integer(revision) or revision < 0:
        raise ValueError(f"link {code!r}: revision must be a whole number of at least 0")
    fields["revision"] = revision
    return fields


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def export_jsonl(
    store: Store, out: TextIO, *, progress: Optional[Callable[[int], None]] = None
) -> int:
    """Write every link of ``store`` to ``out`` as JSON lines; return how many.

    ``progress`` is called with the number written so far, every thousand links
    and at the end.
    """
    out.write(json.dumps(FORMAT, separators=(",", ":")) + "\n")
    count = 0
    for entry in store.export():
        out.write(dump_entry(entry) + "\n")
        count += 1
        if progress is not None and count % 1000 == 0:
            progress(count)
    if progress is not None:
        progress(count)
    return count


def read_jsonl(lines: Iterable[str]) -> Iterator[Entry]:
    """The links of an export of any of ``VERSIONS``, one by one; ``ValueError``
    names a bad line (or a header of a version this code does not read)."""
    first = True
    version = _NEWEST  # without a header line
    from minilink.importers._common import checked_text

    for number, line in checked_text(lines):
        if not line.strip():
            continue
        if first:
            first = False
            if line.lstrip().startswith('{"format"'):
                version = _check_header(line, number)
                continue
        try:
            yield load_entry(line, version)
        except ValueError as exc:
            raise ValueError(f"line {number}: {exc}") from None


def _check_header(line: str, number: int) -> int:
    """The version a header line names; ``ValueError`` for one this code cannot read."""
    try:
        header = json.loads(line)
    except ValueError:
        header = None
    if not isinstance(header, dict) or header.get("format") != FORMAT["format"]:
        raise ValueError(f"line {number}: not a minilink export header")
    version = header.get("version")
    readable = " and ".join(str(v) for v in VERSIONS)
    if isinstance(version, int) and not isinstance(version, bool) and version > _NEWEST:
        raise ValueError(
            f"line {number}: the export is of format version {version}, newer than the "
            f"versions this minilink reads ({readable}); upgrade minilink to import it"
        )
    if not _integer(version) or version not in VERSIONS:
        raise ValueError(
            f"line {number}: export format version {version!r} is not one this minilink "
            f"reads ({readable})"
        )
    return int(version)


# -- other shorteners' CSV ------------------------------------------------------------------


def read_yourls(
    lines: Iterable[str], config: Optional[Config] = None, *, now: Optional[datetime] = None
) -> Iterator[Entry]:
    """The links of a YOURLS ``yourls_url`` CSV export (see the module docstring)."""
    rows = _csv_rows(lines)
    index = dict(zip(_YOURLS_COLUMNS, range(len(_YOURLS_COLUMNS))))
    imported_at = (now or datetime.now(timezone.utc)).replace(microsecond=0)
    for number, row in rows:
        if not any(cell.strip() for cell in row):
            continue
        names = [cell.strip().lower() for cell in row]
        if number == 1 and "keyword" in names and "url" in names:
            index = {name: names.index(name) for name in _YOURLS_COLUMNS if name in names}
            continue
        try:
            code = _cell(row, index, "keyword")
            url = _cell(row, index, "url")
            stamp = _cell(row, index, "timestamp", required=False)
            created = imported_at
            if stamp:
                try:
                    created = datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S")
                except ValueError:
                    raise ValueError(f"{stamp!r} is not a time like 2026-11-28 13:00:00") from None
                created = created.replace(tzinfo=timezone.utc)
            hits = _count(_cell(row, index, "clicks", required=False), "clicks")
            yield _foreign(code, url, created, hits, config)
        except ValueError as exc:
            raise ValueError(f"line {number}: {exc}") from None


def read_shlink(lines: Iterable[str], config: Optional[Config] = None) -> Iterator[Entry]:
    """The links of a Shlink short-URL CSV export (see the module docstring)."""
    index: Optional[dict[str, int]] = None
    for number, row in _csv_rows(lines):
        if not any(cell.strip() for cell in row):
            continue
        if index is None:
            from minilink.importers.shlink import header_index

            index = header_index(row, f"line {number}")
            continue
        try:
            code = _cell(row, index, "shortcode", required=False)
            if not code:
                from urllib.parse import unquote, urlsplit

                code = unquote(urlsplit(_cell(row, index, "shorturl")).path).strip("/")
            url = _cell(row, index, "longurl")
            stamp = _cell(row, index, "createdat", required=False)
            created = _parse_time(stamp, "createdAt", code) if stamp else None
            if created is None:
                raise ValueError("createdAt is missing")
            hits = _count(_cell(row, index, "visits", required=False), "visits")
            yield _foreign(code, url, created, hits, config)
        except ValueError as exc:
            raise ValueError(f"line {number}: {exc}") from None


def _csv_rows(lines: Iterable[str]) -> Iterator[tuple[int, list[str]]]:
    """The rows of a CSV file, numbered (the row's number is its line's when no field
    holds a line break); ``ValueError`` names a line the CSV reader refuses."""
    from minilink.importers._common import checked_text

    reader = csv.reader(line for _, line in checked_text(lines))
    number = 0
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise ValueError(f"line {reader.line_num}: not CSV ({exc})") from None
        number += 1
        yield number, row


def _cell(row: list[str], index: dict[str, int], name: str, *, required: bool = True) -> str:
    position = index.get(name)
    value = row[position].strip() if position is not None and position < len(row) else ""
    if required and not value:
        raise ValueError(f"the {name} column is empty")
    return value


def _count(text: str, name: str) -> int:
    if not text:
        return 0
    if not (text.isascii() and text.isdigit()):
        raise ValueError(f"{name} must be a whole number, not {text!r}")
    return int(text)


def _foreign(code: str, url: str, created: datetime, hits: int, config: Optional[Config]) -> Entry:
    """A link from another shortener, checked as a new alias would be."""
    from minilink.core.urls import normalise_url, validate_alias

    config = config if config is not None else Config()
    validate_alias(code)
    normal = normalise_url(
        url,
        allowed_schemes=config.allowed_schemes,
        max_length=config.max_url_length,
        blocked_hosts=config.blocked_hosts,
    )
    return Link(code=code, url=normal, created_at=created, hits=hits, alias=True), ()


# -- import --------------------------------------------------------------------------------


def import_links(
    store: Store,
    lines: Iterable[str],
    *,
    format: str = "jsonl",
    config: Optional[Config] = None,
    progress: Optional[Callable[[int], None]] = None,
) -> Union[ImportResult, Report]:
    """Read links from ``lines`` in ``format`` (one of ``FORMATS``) into ``store``.

    ``progress`` is called with the number of links read so far, every thousand and
    at the end. Raises ``ValueError`` for an unknown format or a line that cannot be
    read (naming it; the batches before it are stored), ``StoreUnavailable`` when the
    store fails. The formats of other shorteners go through
    ``minilink.importers.import_file``: a row it cannot import is reported in the
    ``Report`` it returns, and the import goes on.
    """
    entries: Iterator[Entry]
    if format == "jsonl":
        entries = read_jsonl(lines)
    elif format in FORMATS:
        from minilink.importers import import_file

        return import_file(store, lines, format=format, config=config, progress=progress)
    else:
        raise ValueError(f"unknown import format {format!r}; choose one of {', '.join(FORMATS)}")
    read = 0

    def counted() -> Iterator[Entry]:
        nonlocal read
        for entry in entries:
            read += 1
            if progress is not None and read % 1000 == 0:
                progress(read)
            yield entry

    stored = store.restore(counted())
    if progress is not None:
        progress(read)
    return ImportResult(read=read, stored=stored)


# -- a progress line on a terminal ------------------------------------------------------------


class Progress:
    """A one-line progress report for a terminal: links done, the rate, and a bar when
    ``fraction()`` says how far along the input is. Redrawn at most ten times a second;
    ``finish()`` ends the line. Use it only when ``stream`` is a terminal."""

    def __init__(
        self,
        verb: str,
        *,
        stream: TextIO = sys.stderr,
        fraction: Optional[Callable[[], Optional[float]]] = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.verb = verb
        self.stream = stream
        self.fraction = fraction
        self.clock = clock
        self.started = clock()
        self._drawn = -1.0
        self._count = 0

    def __call__(self, count: int) -> None:
        self._count = count
        now = self.clock()
        if now - self._drawn >= 0.1:
            self._drawn = now
            self.stream.write("\r" + self.line(count, now) + "\x1b[K")
            self.stream.flush()

    def line(self, count: int, now: float) -> str:
        elapsed = max(now - self.started, 1e-9)
        text = f"{self.verb} {count:,} links ({count / elapsed:,.0f}/s)"
        done = self.fraction() if self.fraction is not None else None
        if done is not None:
            done = min(max(done, 0.0), 1.0)
            filled = int(done * 30)
            text = f"[{'#' * filled}{'.' * (30 - filled)}] {done:4.0%} " + text
        return text

    def finish(self) -> None:
        self.stream.write("\r" + self.line(self._count, self.clock()) + "\x1b[K\n")
        self.stream.flush()


# -- values ------------------------------------------------------------------------------------


def _parse_time(value: Any, name: str, code: str) -> Optional[datetime]:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"link {code!r}: {name} must be an RFC 3339 time or null")
    try:
        return parse_time(value)
    except ValueError as exc:
        raise ValueError(f"link {code!r}: {name} {exc}") from None


def _integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _safe_url(url: str) -> bool:
    # What a Location header needs: printable ASCII, no spaces (see core.urls).
    return len(url) > 0 and url.isascii() and url.isprintable() and " " not in url
