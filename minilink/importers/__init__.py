"""Moving in: the links of another shortener (YOURLS, Shlink) brought into a store.

``minilink import`` and ``minilink.transfer.import_links`` call these; every importer
stages what it reads and stores it the same way (``minilink.importers._common``
explains how, and why one bad row never stops an import):

* ``import_file(store, lines, format=...)``: ``yourls`` (CSV or tab-separated
  exports of ``yourls_url``), ``yourls-sql`` (a ``mysqldump`` of a YOURLS
  database) or ``shlink`` (the web client's CSV export);
* ``import_database(store, "mysql://user:password@host/db")``: a live YOURLS
  database (the ``mysql`` extra);
* ``detect(first_line)``: the format a file's first line shows.

Both return a ``Report``: rows read, links stored, links already there as they are,
and every refused row with its reason and, where one exists, the setting that would
admit it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Callable, Optional

from minilink.core.config import Config
from minilink.importers._common import Refusal, Report, Staging, run
from minilink.storage.base import Store

__all__ = ["FORMATS", "Refusal", "Report", "detect", "import_database", "import_file"]

#: The file formats of other shorteners that ``import_file`` reads.
FORMATS = ("yourls", "yourls-sql", "shlink")


def detect(first_line: str) -> Optional[str]:
    """The format that a file starting with ``first_line`` (its first line that is
    not blank) is in: ``jsonl``, one of ``FORMATS``, or ``None`` when it does not
    say (a YOURLS table exported without a header row looks like any CSV)."""
    line = first_line.lstrip("\ufeff").strip()
    lower = line.lower()
    if line.startswith("{"):
        return "jsonl"
    # mysqldump starts with "-- MySQL dump" or "-- MariaDB dump" (MariaDB's newer ones
    # with a "/*M!999999\- enable the sandbox mode */" line first), phpMyAdmin with its
    # name, --compact dumps with a comment or a statement.
    if lower.startswith(("-- mysql dump", "-- mariadb dump", "/*", "-- phpmyadmin")) or (
        lower.startswith(("insert into", "create table", "set ", "drop table"))
    ):
        return "yourls-sql"
    names = {cell.strip().strip('"').lower() for cell in line.replace("\t", ",").split(",")}
    if "longurl" in names:
        return "shlink"
    if {"keyword", "url"} <= names:
        return "yourls"
    return None


def import_file(
    store: Store,
    lines: Iterable[str],
    *,
    format: str,
    config: Optional[Config] = None,
    progress: Optional[Callable[[int], None]] = None,
    now: Optional[datetime] = None,
    prefix: str = "yourls_",
) -> Report:
    """Import the links of a file in ``format`` (one of ``FORMATS``) into ``store``.

    ``prefix`` is the YOURLS table prefix a dump's tables have. Raises ``ValueError``
    for an unknown format or a file that cannot be read as one (not UTF-8 text, not
    a Shlink export, a dump without YOURLS's links); a row that cannot be imported is
    a ``Refusal`` in the report, never an error.
    """
    from minilink.importers.shlink import read_csv
    from minilink.importers.yourls import read_dump, read_table

    with Staging() as staging:
        if format == "yourls":
            refused = read_table(lines, staging)
        elif format == "yourls-sql":
            refused = read_dump(lines, staging, prefix=prefix)
        elif format == "shlink":
            refused = read_csv(lines, staging)
        else:
            raise ValueError(
                f"unknown import format {format!r}; choose one of {', '.join(FORMATS)}"
            )
        return run(store, staging, refused, config=config, now=now, progress=progress)


def import_database(
    store: Store,
    url: str,
    *,
    config: Optional[Config] = None,
    progress: Optional[Callable[[int], None]] = None,
    now: Optional[datetime] = None,
) -> Report:
    """Import a live YOURLS database (``mysql://user:password@host[:port]/db``,
    ``?prefix=`` for tables not named ``yourls_*``) into ``store``. ``ValueError``
    when it cannot be read (see ``minilink.importers.yourls.read_database``)."""
    from minilink.importers.yourls import read_database

    with Staging() as staging:
        refused = read_database(url, staging)
        return run(store, staging, refused, config=config, now=now, progress=progress)
