"""A YOURLS installation's links: from its database, a ``mysqldump`` of it, or the CSV
and tab-separated exports of its ``yourls_url`` table.

Theory of operation
-------------------
YOURLS (1.7 to 1.10) keeps its links in ``{prefix}url`` and one row per click in
``{prefix}log`` (the prefix is ``yourls_`` unless ``YOURLS_DB_PREFIX`` says otherwise)::

    yourls_url (keyword varchar(100) PRIMARY KEY (case-sensitive), url text,
                title text, timestamp timestamp, ip varchar(41), clicks int unsigned)
    yourls_log (click_id int, click_time datetime, shorturl varchar(100),
                referrer varchar(200), user_agent varchar(255),
                ip_address varchar(41), country_code char(2))

Kept: ``keyword`` (the code, at the same path), ``url``, ``title``, ``timestamp``
(taken as UTC: YOURLS writes UTC, a dump's ``TIMESTAMP`` values are UTC, and the
live reader asks the server for UTC), ``clicks`` (the hits) and, from the log, the
number of clicks per keyword and UTC day. Not kept: the creator's ``ip`` and
everything the log knows about visitors (minilink stores no visitor data).

Each reader puts its rows into a ``Staging`` and returns the rows it refused:

* ``read_database``: ``mysql://user:password@host[:port]/database[?prefix=yourls_]``
  (``mariadb://`` too), read with PyMySQL (``pip install 'minilink[mysql]'``); the
  server joins each link's click days into one text (``GROUP_CONCAT(DATE(click_time))
  ... GROUP BY shorturl``), so a million clicks cross the network as one row per link.
* ``read_dump``: a ``mysqldump`` file (or phpMyAdmin's SQL export) of the database,
  its ``INSERT`` statements read as a stream (``minilink.importers._sqldump``); the
  log's rows are counted as they pass.
* ``read_table``: the ``yourls_url`` table as CSV (phpMyAdmin, a spreadsheet) or
  tab-separated text (``mysql -B -e 'SELECT ...'``, ``SELECT ... INTO OUTFILE``, with
  their backslash escapes and ``\\N`` or ``NULL`` for no title). With a header row the
  columns are found by name (``keyword`` and ``url`` are required), without one they
  are taken in the table's order. Such an export has no click log: the links get
  their totals and no per-day counts.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any, Optional, Union

from minilink.importers._common import Refusal, Row, Staging, checked_text, stage
from minilink.importers._sqldump import BadStatement, Tuple, rows

__all__ = ["COLUMNS", "LOG_COLUMNS", "parse_source_url", "read_database", "read_dump", "read_table"]

#: The columns of ``yourls_url`` and ``yourls_log``, in the tables' order.
COLUMNS = ("keyword", "url", "title", "timestamp", "ip", "clicks")
LOG_COLUMNS = (
    "click_id",
    "click_time",
    "shorturl",
    "referrer",
    "user_agent",
    "ip_address",
    "country_code",
)
_PREFIX = re.compile(r"[A-Za-z0-9_]{0,60}")
_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,6})?")
_TSV_ESCAPES = {"0": "\0", "b": "\b", "n": "\n", "r": "\r", "t": "\t", "Z": "\x1a"}
_TSV_ESCAPE = re.compile(r"\\(.)", re.DOTALL)


def _time(text: Optional[str]) -> tuple[Optional[datetime], Optional[str]]:
    """A YOURLS time and, when it cannot be read, why. Zero dates (MySQL's
    ``0000-00-00 00:00:00``) and empty cells are no time."""
    if text is None:
        return None, None
    text = text.strip()
    if not text or text.startswith("0000-00-00"):
        return None, None
    if not _TIME.fullmatch(text):
        return None, f"the timestamp {text!r} is not a time like 2026-11-28 13:00:00"
    try:
        return datetime.fromisoformat(text.replace("T", " ")), None
    except ValueError:
        return None, f"the timestamp {text!r} is not a time like 2026-11-28 13:00:00"


def _row(where: str, cells: dict[str, Optional[str]]) -> Union[Row, Refusal]:
    """The ``Row`` of one ``yourls_url`` record, or why it cannot be read."""
    keyword = (cells.get("keyword") or "").strip()
    url = (cells.get("url") or "").strip()
    if not keyword:
        return Refusal(where, "", "the keyword column is empty")
    if not url:
        return Refusal(where, keyword, "the url column is empty")
    created, problem = _time(cells.get("timestamp"))
    if problem is not None:
        return Refusal(where, keyword, problem)
    clicks_text = (cells.get("clicks") or "").strip()
    if clicks_text and not (clicks_text.isascii() and clicks_text.isdigit()):
        return Refusal(where, keyword, f"clicks must be a whole number, not {clicks_text!r}")
    title = cells.get("title")
    return Row(
        where=where,
        keyword=keyword,
        url=url,
        title=title if title else None,
        created=created,
        clicks=int(clicks_text) if clicks_text else 0,
    )


# -- CSV and tab-separated ------------------------------------------------------------------


def _tsv_cell(cell: str) -> Optional[str]:
    if cell in ("\\N", "NULL"):
        return None
    if "\\" not in cell:
        return cell
    return _TSV_ESCAPE.sub(lambda m: _TSV_ESCAPES.get(m[1], m[1]), cell)


def _table_rows(lines: Iterable[str]) -> Iterator[tuple[int, Union[list[str], str], bool]]:
    """The records of a CSV or tab-separated file, numbered by line, and whether the
    file is tab-separated; a string in place of a record says why that line cannot be
    read. The separator is a tab when the
    first line has one (a URL holds no tab; a title may hold commas)."""
    import csv

    numbered = checked_text(lines)
    first: Optional[tuple[int, str]] = None
    for number, line in numbered:
        if line.strip():
            first = (number, line)
            break
    if first is None:
        return
    import itertools

    if "\t" in first[1]:
        for number, line in itertools.chain([first], numbered):
            line = line.rstrip("\r\n")
            if line:
                yield number, line.split("\t"), True
        return
    # csv numbers records by the reader's own line count (a quoted cell may hold line
    # breaks); the first line read is line first[0].
    offset = first[0] - 1
    reader = csv.reader(line for _, line in itertools.chain([first], numbered))
    while True:
        start = offset + reader.line_num + 1  # a record may span lines: its first
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield start, f"not CSV ({exc})", False
            continue
        yield start, record, False


def read_table(lines: Iterable[str], staging: Staging) -> list[Refusal]:
    """Stage the links of a ``yourls_url`` CSV or tab-separated export (see the module
    docstring); return the rows refused. ``ValueError`` for a file that is not text."""
    return stage(_table_items(lines), staging)


def _table_items(lines: Iterable[str]) -> Iterator[Union[Row, Refusal]]:
    index = {name: i for i, name in enumerate(COLUMNS)}
    first = True
    for number, record, tsv in _table_rows(lines):
        where = f"line {number}"
        if isinstance(record, str):
            yield Refusal(where, "", record)
            continue
        if not any(cell.strip() for cell in record):
            continue
        names = [cell.strip().lower() for cell in record]
        if first:
            first = False
            if "keyword" in names and "url" in names:
                index = {name: names.index(name) for name in COLUMNS if name in names}
                continue
        cells: dict[str, Optional[str]] = {}
        for name, position in index.items():
            cell = record[position] if position < len(record) else ""
            cells[name] = _tsv_cell(cell) if tsv else cell
        yield _row(where, cells)


# -- a mysqldump file -----------------------------------------------------------------------


def read_dump(lines: Iterable[str], staging: Staging, *, prefix: str = "yourls_") -> list[Refusal]:
    """Stage the links and click counts of a ``mysqldump`` of a YOURLS database whose
    tables are named ``{prefix}url`` and ``{prefix}log``; return the rows refused.
    ``ValueError`` for a file that is not text or holds no ``{prefix}url`` rows."""
    links_table, log_table = f"{prefix}url", f"{prefix}log"
    refused: list[Refusal] = []
    seen_links = False
    for item in rows(checked_text(lines)):
        if isinstance(item, BadStatement):
            if item.table in (links_table, log_table) or not item.table:
                what = f"the INSERT into {item.table}" if item.table else "an INSERT"
                refused.append(Refusal(f"line {item.line}", "", f"{what}: {item.reason}"))
            continue
        if item.table == links_table:
            seen_links = True
            where = f"line {item.line}"
            cells = _named(item, COLUMNS)
            if isinstance(cells, str):
                refused.append(Refusal(where, "", cells))
                continue
            row = _row(where, cells)
            if isinstance(row, Row):
                refusal = staging.add(row)
                if refusal is not None:
                    refused.append(refusal)
            else:
                refused.append(row)
        elif item.table == log_table:
            cells = _named(item, LOG_COLUMNS)
            if isinstance(cells, str):
                continue  # a log row that cannot be read counts no click
            keyword, moment = cells.get("shorturl"), cells.get("click_time")
            if keyword and moment and len(moment) >= 10:
                staging.count(keyword, moment[:10])
    if not seen_links:
        raise ValueError(
            f"no INSERT into {links_table} in the file: is it a dump of a YOURLS database "
            f"with the table prefix {prefix!r}?"
        )
    return refused


def _named(item: Tuple, order: tuple[str, ...]) -> Union[dict[str, Optional[str]], str]:
    names = item.columns or order
    if len(item.values) != len(names):
        return f"the row has {len(item.values)} values for {len(names)} columns"
    return dict(zip(names, item.values))


# -- a live database ------------------------------------------------------------------------


def parse_source_url(url: str) -> dict[str, Any]:
    """The connection of a ``mysql://user:password@host[:port]/database[?prefix=]``
    URL (``mariadb://`` too): ``host``, ``port``, ``user``, ``password``,
    ``database`` and ``prefix``. ``ValueError`` says what is wrong with it."""
    from urllib.parse import parse_qs, unquote, urlsplit

    parts = urlsplit(url)
    if parts.scheme not in ("mysql", "mariadb"):
        raise ValueError("a YOURLS database URL starts with mysql:// or mariadb://")
    database = unquote(parts.path.lstrip("/"))
    if not database or "/" in database:
        raise ValueError("the URL must name the database: mysql://user:password@host/database")
    try:
        port = parts.port or 3306
    except ValueError:
        raise ValueError("the port of the URL must be a number from 1 to 65535") from None
    query = parse_qs(parts.query, keep_blank_values=True)
    unknown = sorted(set(query) - {"prefix"})
    if unknown:
        raise ValueError(f"unknown URL parameter {unknown[0]!r} (only prefix= is read)")
    prefix = query.get("prefix", ["yourls_"])[-1]
    if not _PREFIX.fullmatch(prefix):
        raise ValueError("the table prefix must be letters, digits and '_'")
    return {
        "host": parts.hostname or "localhost",
        "port": port,
        "user": unquote(parts.username or "root"),
        "password": unquote(parts.password or ""),
        "database": database,
        "prefix": prefix,
    }


def read_database(url: str, staging: Staging) -> list[Refusal]:
    """Stage the links and per-day click counts of the YOURLS database at ``url`` (see
    ``parse_source_url``); return the rows refused. ``ValueError`` when the database
    cannot be read (the driver missing, the server not answering, no such table),
    naming the server without the password."""
    source = parse_source_url(url)
    try:
        import pymysql
        import pymysql.cursors
    except ImportError:
        raise ValueError(
            "reading a YOURLS database needs PyMySQL: pip install 'minilink[mysql]'"
        ) from None
    prefix = source.pop("prefix")
    name = f"{source['user']}@{source['host']}:{source['port']}/{source['database']}"
    refused: list[Refusal] = []
    try:
        connection = pymysql.connect(
            **source,
            charset="utf8mb4",
            cursorclass=pymysql.cursors.SSCursor,
            connect_timeout=10,
        )
    except pymysql.Error as exc:
        raise ValueError(f"cannot connect to the YOURLS database {name}: {_reason(exc)}") from None
    try:
        with connection.cursor() as cursor:
            # TIMESTAMP columns come back in the session's zone: ask for UTC. The log
            # is read in one pass of the table, each link's click days joined into one
            # text by the server (grouping by link and day instead makes a temporary
            # table of a row per link and day, ten times slower), so a million clicks
            # cross the network as one row per link; the session may hold the 100,000
            # groups of a large install in memory rather than on disk.
            cursor.execute(
                "SET time_zone = '+00:00', group_concat_max_len = 4294967295,"
                " tmp_table_size = 268435456, max_heap_table_size = 268435456"
            )
            query = f"SELECT shorturl, GROUP_CONCAT(DATE(click_time)) FROM `{prefix}log`"  # noqa: S608 - prefix is [A-Za-z0-9_]
            try:
                cursor.execute(query + " IGNORE INDEX (shorturl) GROUP BY shorturl")
            except pymysql.err.ProgrammingError as exc:
                code = exc.args[0] if exc.args else None
                if code == 1176:  # a log table without YOURLS's index
                    cursor.execute(query + " GROUP BY shorturl")
                elif code != 1146:  # 1146: no log table at all: totals only
                    raise
            if cursor.description is not None:
                for keyword, days in cursor:
                    if keyword is not None and days is not None:
                        staging.summed(_text(keyword), Counter(_text(days).split(",")))
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT keyword, url, title, timestamp, clicks FROM `{prefix}url`"  # noqa: S608
            )
            for number, (keyword, link, title, stamp, clicks) in enumerate(cursor, 1):
                row = _live_row(number, keyword, link, title, stamp, clicks)
                refusal = staging.add(row) if isinstance(row, Row) else row
                if refusal is not None:
                    refused.append(refusal)
    except pymysql.Error as exc:
        raise ValueError(f"cannot read the YOURLS database {name}: {_reason(exc)}") from None
    finally:
        connection.close()
    return refused


def _text(value: Any) -> str:
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "replace")
    return str(value)


def _live_row(
    number: int, keyword: Any, url: Any, title: Any, stamp: Any, clicks: Any
) -> Union[Row, Refusal]:
    where = f"row {number}"
    cells: dict[str, Optional[str]] = {
        "keyword": None if keyword is None else _text(keyword),
        "url": None if url is None else _text(url),
        "title": None if title is None else _text(title),
        "clicks": None if clicks is None else str(clicks),
    }
    if isinstance(stamp, datetime):
        cells["timestamp"] = stamp.isoformat(sep=" ")
    else:  # zero dates come back as text
        cells["timestamp"] = None if stamp is None else _text(stamp)
    return _row(where, cells)


def _reason(exc: Exception) -> str:
    args: tuple[Any, ...] = exc.args
    if len(args) >= 2 and isinstance(args[1], str):
        return args[1]
    return str(exc) or type(exc).__name__
