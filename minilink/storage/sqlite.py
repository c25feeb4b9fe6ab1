"""``SQLiteStore``: the embedded default store, stdlib ``sqlite3`` only.

Theory of operation
-------------------
One database file is shared by every process and thread that serves the site: many
CGI processes at once, or the threads of a WSGI server. The rules that make that safe:

* **Connections.** One connection per thread (``threading.local``), opened lazily on
  the thread's first call, so building a store costs nothing and a CGI request that
  fails early never touches the file. Every connection is also tracked, so
  ``close()`` closes them all; a connection whose thread has ended is closed when the
  next thread connects (thread-per-request servers would leak them otherwise). A
  process that forks with open connections leaves them alone in the child (closing a
  SQLite handle that belongs to another process is unsafe) and reconnects there.
* **Connection set-up**, once per connection: WAL journal (readers never block the
  writer), ``synchronous=NORMAL`` (safe with WAL: a process crash loses no committed
  transaction; a power loss may lose the last ones, never corrupts), the busy timeout
  of the store, and the schema check below.
* **Transactions.** ``isolation_level=None``: the module never opens transactions
  behind our back. Every write is ``BEGIN IMMEDIATE`` ... ``COMMIT``: the write lock is
  taken first, so no transaction ever reads, then fails to upgrade to a write (that
  pattern produced hundreds of thousands of "database is locked" errors under load).
  A read is one autocommit ``SELECT``; ``search``, whose cursor is read before its
  page, reads both in one deferred (read) transaction, so they see one snapshot.
* **Busy.** The busy timeout makes SQLite wait for the lock; if it still reports
  "locked" or "busy", the call is retried with a short backoff while the store's
  ``timeout`` budget lasts, and then raises ``StoreUnavailable``. No ``sqlite3``
  exception leaves this module: every one becomes ``StoreUnavailable`` with a
  sentence naming the database file (for the log: the app shows clients a fixed
  sentence). Any other error also closes the thread's connection, and a call that
  failed on a connection kept from earlier is tried once more on a fresh one (the
  failed transaction was rolled back), so the store recovers as soon as the disk,
  the file or its permissions are right again: SQLite keeps a file it could only
  open read-only read-only for as long as the connection lives.
* **Schema.** ``PRAGMA user_version`` is the number of ``_MIGRATIONS`` applied. A
  connection that finds it behind applies the missing ones inside ``BEGIN IMMEDIATE``
  and re-reads the version there, so processes racing on a fresh file migrate it once.
  A database newer than this code is refused rather than misread. Version 2 (link
  management) adds the new fields as columns (``ALTER TABLE ... ADD COLUMN``: no row
  is rewritten, old links read the new fields empty), rebuilds the dedupe index for
  the new meaning of "plain", and adds ``link_tags``, the ``links_updated`` index and
  the ``meta`` row of the change counter. Version 3 adds ``link_text``, the trigram
  index of substring search (see the migration), where SQLite can build one.
* **Tables.** ``links`` (one row per link, tombstones included; ``seq``, the rowid,
  is the insertion order), ``daily`` (hits per link and day), ``ratelimit``,
  ``link_tags`` (one ``(tag, seq)`` row per tag of a link, with a ``tombstone`` flag
  kept in step with ``links.deleted_at``) and ``meta`` (one row: the change counter).
  A link's tags are also in ``links.tags``, in their order, joined by spaces (a tag
  holds none; one that did is refused with ``ValueError``): ``get`` reads them from
  the row, and ``link_tags`` is only an index, rewritten whenever ``tags`` changes.
* **Atomic rules.** ``insert`` is ``INSERT ... ON CONFLICT DO NOTHING`` and, only
  when that inserted nothing, the dedupe lookup, in one immediate transaction; a
  partial unique index on the URL of live plain links is what enforces the dedupe
  rule. ``hit`` is one guarded ``UPDATE`` (the visit limit is in its ``WHERE``) and
  the per-day upsert, together. ``update`` is a compare-and-set in one immediate
  transaction: it reads the row's revision (and tombstone) under the write lock,
  writes only over the revision it was given, looks for another live plain link of
  the URL (found: the link is stored as an alias, so the unique index never refuses
  an edit), rewrites the link's ``link_tags`` rows and adds one to the counter;
  two editors of one revision are serialised by the lock, and the second finds the
  revision moved. ``delete`` turns the row and its ``link_tags`` rows into a
  tombstone and adds one to the counter; ``restore`` adds one per batch.
* **Search** is one ``SELECT`` put together from this module's fragments (values
  are bound, never spliced): the state at ``now`` as conditions on the row, the
  text as ``LIKE '%...%' ESCAPE '\\'`` over code, URL and title (SQLite's ``LIKE``
  folds the case of ASCII letters only: the meaning ``Search.matches`` gives; a text
  longer than ``LIKE``'s pattern limit uses ``instr(lower(...))``, the same meaning
  and slower; ``LIKE`` reads a value only up to a NUL, so a code, URL or title with
  one is refused with ``ValueError``), a tag as a join that starts
  from ``link_tags`` (``CROSS JOIN`` fixes that order). Pages are keyset: the
  ``after`` link is read first, and must itself match the search (else the page is
  empty, as for an unknown code); the page continues below its sort key and
  ``seq``. What is indexed, at a million links: a page of the newest links walks
  the rowid backwards, a tag's page walks ``link_tags``' key backwards, and the
  "updated" sort walks ``links_updated``; each reads about one page of rows.
  Substring searches and the "hits" sort scan every link (no index serves a
  substring; an index on ``hits`` would be rewritten by every visit, which doubled
  the cost of ``hit``); ``tags()`` reads ``link_tags`` once.
* **The change counter** (``changes``) is ``meta.changes``, which update, delete and
  restore add one to. ``BufferedStore`` asks for it before every redirect, and
  reading the row costs 4-9 us (the ``execute`` of Python's ``sqlite3`` dominates:
  ``PRAGMA data_version`` costs the same), which doubled an in-process hot redirect.
  So the row is read only when a commit may have happened since it was last read,
  which SQLite itself records: the wal-index header at the start of the ``-shm``
  file (``WalIndexHdr``: ``iChange``, which every commit of any process increments,
  then the last frame, its checksums and the WAL's salts) changes with every commit
  and only then. ``changes()`` compares one copy of that header (48 bytes of a
  read-only ``mmap``) with the copy read just before the counter was last read, and
  answers that counter while they are equal: 0.16 us instead of 5. When they
  differ, it reads the header, then the counter, and keeps both: a commit between
  the two only makes the next call read again; a torn read of a header being
  written looks like a change; hits commit too, so each flush costs one read.
  What keeps this exact:

  - *The anchor.* The header means something only while the file stays the same
    file, not reset: SQLite removes it when the last connection to the database
    closes, the next opener makes a new one (another inode), and an opener that
    finds no process holding the file's "DMS" lock truncates and rebuilds it
    (``iChange`` starts again). An open connection of this process holds that lock,
    so the mapping is made while one of this store's connections is open and is
    used only while that connection (the anchor) stays open; when it closes (close,
    an error, the ended thread of a thread-per-request server), another open
    connection of the store takes over, and with none left the hint is dropped and
    the next call maps the file again. A thread that connects also checks that the
    file at the path is still the mapped inode. A forked child holds no lock of its
    parent's: it maps the file again with its own connection.
  - *Descriptors.* Closing any descriptor of a file drops every POSIX lock the
    process holds on it, SQLite's included. So the -shm files are opened once per
    process (``_shm_files``, process-wide as the locks are) and a descriptor is
    closed only when its file has been replaced, when no lock is on it any more.
  - *Fallbacks.* A read-only store (``mode=ro``, or ``immutable``: no -shm file),
    a platform without ``mmap`` or other than POSIX, a file not in WAL mode, or a
    -shm file that is not a wal-index read the row every time, as before. ``mmap``
    is imported on the first ``changes()``: a CGI redirect never asks for it.
  - *Wrapping:* the header would look the same again only after 2**32 commits that
    also left the WAL, its salts and its checksums where they were.
* **Values.** Times are integers: microseconds since 1970-01-01 UTC, lossless and
  ordered; they come back as aware UTC datetimes. Days are ``YYYY-MM-DD`` text.

* **Read-only** (``readonly=True``, for callers that only read): ``mode=ro``, no
  schema creation or migration, no write; ``immutable`` when a reader who cannot
  write the folder finds no ``-shm`` and no ``-wal`` file (see ``SQLiteStore``).
* **Export and restore.** ``export`` reads pages of a thousand links by ``seq``, each
  page one read of its own (no transaction stays open between pages); ``restore``
  writes a thousand links per immediate transaction.

The hot path, ``get``, is one indexed lookup by code on the calling thread's open
connection, with no schema check after the connection's first use; its row carries
every field (tags included), so a redirect reads nothing else.
"""

from __future__ import annotations

import os
import sqlite3
import sys
import threading
import time
from datetime import datetime, timedelta, timezone

from minilink.core.errors import StoreUnavailable
from minilink.core.links import Link
from minilink.storage.base import Store, check_entry

__all__ = ["SCHEMA_VERSION", "SQLiteStore"]

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only: typing alone costs a CGI request ~9 ms
    import mmap
    from collections.abc import Iterable, Iterator
    from typing import Any, Callable, Optional, TypeVar, Union

    from minilink.core.links import Search
    from minilink.storage.base import Entry

    _T = TypeVar("_T")
    _Row = tuple[Any, ...]

#: Each entry moves the schema one version up; ``user_version`` counts those applied.
#: Never edit an entry that has shipped: append a new one.
_MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """
        CREATE TABLE links (
            seq         INTEGER PRIMARY KEY,   -- insertion order, for recent()
            code        TEXT    NOT NULL UNIQUE,
            url         TEXT    NOT NULL,
            created_at  INTEGER NOT NULL,      -- microseconds since the epoch, UTC
            expires_at  INTEGER,
            max_visits  INTEGER,
            hits        INTEGER NOT NULL DEFAULT 0,
            alias       INTEGER NOT NULL DEFAULT 0,
            deleted_at  INTEGER
        )
        """,
        # Live plain links are unique by URL: the dedupe rule, enforced by the schema.
        """
        CREATE UNIQUE INDEX links_plain_url ON links (url)
        WHERE alias = 0 AND expires_at IS NULL AND max_visits IS NULL AND deleted_at IS NULL
        """,
        """
        CREATE TABLE daily (
            code  TEXT    NOT NULL,
            day   TEXT    NOT NULL,            -- YYYY-MM-DD, UTC
            hits  INTEGER NOT NULL,
            PRIMARY KEY (code, day)
        ) WITHOUT ROWID
        """,
        """
        CREATE TABLE ratelimit (
            key    TEXT    NOT NULL,
            win    INTEGER NOT NULL,
            count  INTEGER NOT NULL,
            PRIMARY KEY (key, win)
        ) WITHOUT ROWID
        """,
    ),
    # 2: link management (SPEC section 9). Adding columns rewrites no row, so a large
    # file migrates in the time the dedupe index takes to rebuild.
    (
        "ALTER TABLE links ADD COLUMN title TEXT",
        # The tags in their order, separated by one space (a tag has none); NULL: none.
        "ALTER TABLE links ADD COLUMN tags TEXT",
        "ALTER TABLE links ADD COLUMN redirect_status INTEGER",
        "ALTER TABLE links ADD COLUMN forward_query INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE links ADD COLUMN fallback_url TEXT",
        "ALTER TABLE links ADD COLUMN password_hash TEXT",
        "ALTER TABLE links ADD COLUMN updated_at INTEGER",  # microseconds, like the others
        "ALTER TABLE links ADD COLUMN revision INTEGER NOT NULL DEFAULT 0",
        # "Plain" now also means none of the new options: only such links are deduped.
        # Every link of a version 1 file has them empty, so the new index holds the
        # same links as the old one and cannot fail to build.
        "DROP INDEX links_plain_url",
        """
        CREATE UNIQUE INDEX links_plain ON links (url)
        WHERE alias = 0 AND expires_at IS NULL AND max_visits IS NULL AND deleted_at IS NULL
        AND title IS NULL AND tags IS NULL AND redirect_status IS NULL AND forward_query = 0
        AND fallback_url IS NULL AND password_hash IS NULL
        """,
        # One row per tag of a link, tombstones included (flagged, so that tags() counts
        # without visiting the links); its key is the order of a tag's page, newest last.
        """
        CREATE TABLE link_tags (
            tag        TEXT    NOT NULL,
            seq        INTEGER NOT NULL,       -- links.seq
            tombstone  INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (tag, seq)
        ) WITHOUT ROWID
        """,
        # The page of the "updated" sort, newest first, without sorting every link. No
        # such index for "hits": it would be rewritten by every visit, and measured at a
        # million links it doubled the cost of hit().
        "CREATE INDEX links_updated ON links (coalesce(updated_at, created_at), seq)",
        # The change counter: update, delete and restore add one in their transaction.
        """
        CREATE TABLE meta (
            id       INTEGER PRIMARY KEY CHECK (id = 1),
            changes  INTEGER NOT NULL
        )
        """,
        "INSERT INTO meta (id, changes) VALUES (1, 0)",
    ),
    # 3: an index of the text that search's substring filter reads (code, URL,
    # title): FTS5's trigram tokenizer, keeping no copy of the text (external
    # content) and no positions (detail=none: a third of the size; a needle's
    # trigrams give candidates, which the LIKE filter then decides). It is kept by
    # this module's writes, not by triggers: the links up to meta.indexed (by seq)
    # are in it, with their text as it is now; newer ones (at most _TAIL) are read
    # by search directly and indexed together, by the insert that makes them _TAIL or
    # at the end of a restore batch. One row at a time, the index would cost a
    # creation about three times its own work (each commit writes a new FTS
    # segment), and a bulk import two thirds of its speed. Hits change none of these
    # columns: the redirect never touches it. Building it reads every link once
    # (about 30 s per million links here). Where SQLite has no FTS5 or no trigram
    # tokenizer (before 3.34) this migration is skipped whole and search reads the
    # table (see _OPTIONAL).
    (
        """
        CREATE VIRTUAL TABLE link_text USING fts5(
            code, url, title, content='links', content_rowid='seq',
            tokenize='trigram', detail='none'
        )
        """,
        "INSERT INTO link_text (link_text) VALUES ('rebuild')",
        "ALTER TABLE meta ADD COLUMN indexed INTEGER NOT NULL DEFAULT 0",
        "UPDATE meta SET indexed = (SELECT coalesce(max(seq), 0) FROM links)",
    ),
)
#: Migrations that a SQLite lacking what they need skips (rolled back whole, the
#: version still moving on): only indexes, which the code reads only if present.
_OPTIONAL = frozenset({3})

#: The schema version this code writes and reads.
SCHEMA_VERSION = len(_MIGRATIONS)

# The column lists are spelled out in every statement (no string building), so each
# statement reads as the SQL it is; _link() reads the columns in this order. Only
# search() builds its statement, from the fragments below, as its filters combine.
_GET = (
    "SELECT code, url, created_at, expires_at, max_visits, hits, alias, deleted_at,"
    " title, tags, redirect_status, forward_query, fallback_url, password_hash,"
    " updated_at, revision"
    " FROM links WHERE code = ?"
)
_FIND_PLAIN = (
    "SELECT code, url, created_at, expires_at, max_visits, hits, alias, deleted_at,"
    " title, tags, redirect_status, forward_query, fallback_url, password_hash,"
    " updated_at, revision"
    " FROM links WHERE url = ? AND alias = 0 AND expires_at IS NULL"
    " AND max_visits IS NULL AND deleted_at IS NULL AND title IS NULL AND tags IS NULL"
    " AND redirect_status IS NULL AND forward_query = 0 AND fallback_url IS NULL"
    " AND password_hash IS NULL"
)
# Another live plain link of the URL than the one being edited (the dedupe index).
_OTHER_PLAIN = (
    "SELECT 1 FROM links WHERE url = ? AND alias = 0 AND expires_at IS NULL"
    " AND max_visits IS NULL AND deleted_at IS NULL AND title IS NULL AND tags IS NULL"
    " AND redirect_status IS NULL AND forward_query = 0 AND fallback_url IS NULL"
    " AND password_hash IS NULL AND seq <> ?"
)
_INSERT = (
    "INSERT INTO links"
    " (code, url, created_at, expires_at, max_visits, hits, alias, deleted_at,"
    " title, tags, redirect_status, forward_query, fallback_url, password_hash,"
    " updated_at, revision)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"
)
_INSERT_TAG = "INSERT INTO link_tags (tag, seq, tombstone) VALUES (?, ?, ?) ON CONFLICT DO NOTHING"
_DELETE_TAG = "DELETE FROM link_tags WHERE tag = ? AND seq = ?"
_BURY_TAG = "UPDATE link_tags SET tombstone = 1 WHERE tag = ? AND seq = ?"
_CHANGED = "UPDATE meta SET changes = changes + 1 WHERE id = 1"
_CHANGES = "SELECT changes FROM meta WHERE id = 1"
_HIT = "UPDATE links SET hits = hits + ? WHERE code = ? AND deleted_at IS NULL"
_HIT_LIMITED = (
    "UPDATE links SET hits = hits + ? WHERE code = ? AND deleted_at IS NULL AND hits + ? <= ?"
)
_HIT_DAY = (
    "INSERT INTO daily (code, day, hits) VALUES (?, ?, ?)"
    " ON CONFLICT (code, day) DO UPDATE SET hits = hits + excluded.hits"
)
_DAILY = "SELECT day, hits FROM daily WHERE code = ? AND day >= ? ORDER BY day"
_FIND_LIVE = "SELECT seq, tags, revision FROM links WHERE code = ? AND deleted_at IS NULL"
_DELETE = "UPDATE links SET deleted_at = ? WHERE seq = ?"
_FIND_EDITED = "SELECT seq, tags, deleted_at, revision FROM links WHERE code = ?"
# Every field but code, created_at, hits and deleted_at (Store.update).
_UPDATE = (
    "UPDATE links SET url = ?, expires_at = ?, max_visits = ?, alias = ?, title = ?,"
    " tags = ?, redirect_status = ?, forward_query = ?, fallback_url = ?,"
    " password_hash = ?, updated_at = ?, revision = revision + 1 WHERE seq = ?"
)
_RECENT = (
    "SELECT code, url, created_at, expires_at, max_visits, hits, alias, deleted_at,"
    " title, tags, redirect_status, forward_query, fallback_url, password_hash,"
    " updated_at, revision"
    " FROM links WHERE deleted_at IS NULL ORDER BY seq DESC LIMIT ?"
)
# An unknown cursor makes the subquery NULL, and "seq < NULL" matches nothing: the
# empty page the contract asks for, in the same snapshot as the page itself.
_RECENT_AFTER = (
    "SELECT code, url, created_at, expires_at, max_visits, hits, alias, deleted_at,"
    " title, tags, redirect_status, forward_query, fallback_url, password_hash,"
    " updated_at, revision"
    " FROM links WHERE deleted_at IS NULL AND seq < (SELECT seq FROM links WHERE code = ?)"
    " ORDER BY seq DESC LIMIT ?"
)
# The cursor of a search: the link (checked against the search) and its sort keys.
_CURSOR = (
    "SELECT code, url, created_at, expires_at, max_visits, hits, alias, deleted_at,"
    " title, tags, redirect_status, forward_query, fallback_url, password_hash,"
    " updated_at, revision, seq"
    " FROM links WHERE code = ?"
)
_TAGS = "SELECT tag, count(*) FROM link_tags WHERE tombstone = 0 GROUP BY tag ORDER BY tag"
# Pages of export(): a link with its days as "day=hits,day=hits" (ordered in Python).
_EXPORT = (
    "SELECT seq, code, url, created_at, expires_at, max_visits, hits, alias, deleted_at,"
    " title, tags, redirect_status, forward_query, fallback_url, password_hash,"
    " updated_at, revision,"
    " (SELECT group_concat(daily.day || '=' || daily.hits) FROM daily"
    " WHERE daily.code = links.code)"
    " FROM links WHERE seq > ? ORDER BY seq LIMIT ?"
)
_TAKEN = "SELECT 1 FROM links WHERE code = ?"
_LAST_SEQ = "SELECT coalesce(max(seq), 0) FROM links"
_STORED_AFTER = "SELECT code, seq FROM links WHERE seq > ?"
_RESTORE_DAY = (
    "INSERT INTO daily (code, day, hits) VALUES (?, ?, ?)"
    " ON CONFLICT (code, day) DO UPDATE SET hits = excluded.hits"
)
#: Links per page of export() and per transaction of restore().
_BATCH = 1000
_ALLOW_PRUNE = "DELETE FROM ratelimit WHERE key = ? AND win < ?"
_TOTAL_LINKS = "SELECT count(*) FROM links WHERE deleted_at IS NULL"
_TOTAL_DAYS = "SELECT day, sum(hits) FROM daily WHERE day >= ? GROUP BY day ORDER BY day"
_COUNTED = "SELECT count FROM ratelimit WHERE key = ? AND win = ?"
_ALLOW_COUNT = (
    "INSERT INTO ratelimit (key, win, count) VALUES (?, ?, 1)"
    " ON CONFLICT (key, win) DO UPDATE SET count = count + 1 WHERE count < ?"
)

# search(): the columns of _link() on the links table "l", what each state keeps at
# ":now", each sort's order and the keyset condition that continues after a cursor
# whose keys are ":key" and ":seq".
_SEARCH_COLUMNS = (
    "l.code, l.url, l.created_at, l.expires_at, l.max_visits, l.hits, l.alias,"
    " l.deleted_at, l.title, l.tags, l.redirect_status, l.forward_query,"
    " l.fallback_url, l.password_hash, l.updated_at, l.revision"
)
_STATES = {
    "live": (
        "l.deleted_at IS NULL AND (l.expires_at IS NULL OR l.expires_at > :now)"
        " AND (l.max_visits IS NULL OR l.hits < l.max_visits)"
    ),
    "expired": ("l.deleted_at IS NULL AND (l.expires_at <= :now OR l.hits >= l.max_visits)"),
    "deleted": "l.deleted_at IS NOT NULL",
    "all": "1",
}
#: The flag of link_tags that a state implies (lets a tag page skip tombstones' rows).
_TAG_STATES = {
    "live": " AND t.tombstone = 0",
    "expired": " AND t.tombstone = 0",
    "deleted": " AND t.tombstone = 1",
    "all": "",
}
_ORDERS = {
    "created": " ORDER BY l.seq DESC",
    "hits": " ORDER BY l.hits DESC, l.seq DESC",
    "updated": " ORDER BY coalesce(l.updated_at, l.created_at) DESC, l.seq DESC",
}
_AFTER = {
    "created": " AND l.seq < :seq",
    "hits": " AND (l.hits, l.seq) < (:key, :seq)",
    # Spelt out, not as the row value (key, seq) < (:key, :seq): SQLite reads an
    # expression index's range from a plain comparison only.
    "updated": (
        " AND coalesce(l.updated_at, l.created_at) <= :key"
        " AND (coalesce(l.updated_at, l.created_at) < :key OR l.seq < :seq)"
    ),
}
_TEXT = (
    " AND (l.code LIKE :text ESCAPE '\\' OR l.url LIKE :text ESCAPE '\\'"
    " OR l.title LIKE :text ESCAPE '\\')"
)
# The same meaning (lower() folds ASCII letters only, as LIKE does), for a text longer
# than a LIKE pattern may be (50,000 bytes). Three times slower than LIKE.
_TEXT_EXACT = (
    " AND (instr(lower(l.code), :text) OR instr(lower(l.url), :text)"
    " OR instr(lower(l.title), :text))"
)
_ASCII_LOWER = {c: c + 32 for c in range(ord("A"), ord("Z") + 1)}
# The candidates of a substring search, from the text index (schema 3): the links
# holding each of the given trigrams (a superset of the matches: the index folds case
# as widely as Unicode does, LIKE folds ASCII only, and it keeps no positions),
# plus the links after meta.indexed. (An OR of the two would read the whole table.)
_CANDIDATES = (
    " AND l.seq IN (SELECT rowid FROM link_text WHERE link_text MATCH :match"
    " UNION ALL SELECT seq FROM links WHERE seq > :indexed)"
)
#: Candidates fewer than this are read one by one; more, and the table is read
#: instead, where the page fills quickly (the needle is likely common too).
_RARE = 5000
_COUNT_HOLDERS = (
    "SELECT count(*) FROM (SELECT rowid FROM link_text WHERE link_text MATCH ? LIMIT 5000)"
)
#: Trigrams of a needle looked up at most (spread over it).
_PROBES = 8
_HAS_TEXT_INDEX = "SELECT 1 FROM sqlite_master WHERE name = 'link_text'"
#: Links past meta.indexed at most: search reads them all, as the table.
_TAIL = 1000
_INDEXED = "SELECT indexed FROM meta WHERE id = 1"
_INDEX_TAIL = (
    "INSERT INTO link_text (rowid, code, url, title)"
    " SELECT seq, code, url, title FROM links WHERE seq > ?"
)
_SET_INDEXED = "UPDATE meta SET indexed = ? WHERE id = 1"
#: A restore indexes its links in steps of this many at least, then the rest at its end.
_RESTORE_SLACK = 20 * _BATCH
# Before and after an edit of an indexed link: its old text out, its new text in.
_UNINDEX = (
    "INSERT INTO link_text (link_text, rowid, code, url, title)"
    " SELECT 'delete', seq, code, url, title FROM links WHERE seq = ?"
)
_INDEX_ONE = (
    "INSERT INTO link_text (rowid, code, url, title)"
    " SELECT seq, code, url, title FROM links WHERE seq = ?"
)

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MICROSECOND = timedelta(microseconds=1)


def _to_micros(value: datetime) -> int:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"store times must be timezone-aware, got {value!r}")
    return (value - _EPOCH) // _MICROSECOND


def _to_micros_or_none(value: Optional[datetime]) -> Optional[int]:
    return None if value is None else _to_micros(value)


def _from_micros(value: Optional[int]) -> Optional[datetime]:
    return None if value is None else _EPOCH + timedelta(microseconds=value)


def _tags_text(link: Link) -> Optional[str]:
    """The ``tags`` column of ``link``: its tags joined by spaces, ``None`` for none.
    Raises ``ValueError`` for a tag that this could not give back (empty, or with a
    space; the core allows neither)."""
    if not link.tags:
        return None
    for tag in link.tags:
        if not isinstance(tag, str) or not tag or " " in tag:
            raise ValueError(f"link {link.code!r}: {tag!r} cannot be stored as a tag")
    return " ".join(link.tags)


def _row(link: Link) -> list[Any]:
    """``link`` as the parameters of ``_INSERT``. Raises ``ValueError`` for a NUL in
    its code, URL or title: SQLite's ``LIKE`` reads a text only up to a NUL, so a
    search could not see what follows it (the core allows none anywhere)."""
    for text in (link.code, link.url, link.title):
        if text is not None and "\0" in text:
            raise ValueError(f"link {link.code!r}: a code, URL or title cannot hold a NUL")
    return [
        link.code,
        link.url,
        _to_micros(link.created_at),
        _to_micros_or_none(link.expires_at),
        link.max_visits,
        link.hits,
        int(link.alias),
        _to_micros_or_none(link.deleted_at),
        link.title,
        _tags_text(link),
        link.redirect_status,
        int(link.forward_query),
        link.fallback_url,
        link.password_hash,
        _to_micros_or_none(link.updated_at),
        link.revision,
    ]


def _link(row: _Row) -> Link:
    # Positional, with the conversions inline: this builds every link get() returns.
    return Link(
        row[0],
        row[1],
        _EPOCH + timedelta(microseconds=row[2]),
        None if row[3] is None else _EPOCH + timedelta(microseconds=row[3]),
        row[4],
        row[5],
        bool(row[6]),
        None if row[7] is None else _EPOCH + timedelta(microseconds=row[7]),
        row[8],
        () if row[9] is None else tuple(row[9].split(" ")),
        row[10],
        bool(row[11]),
        row[12],
        row[13],
        None if row[14] is None else _EPOCH + timedelta(microseconds=row[14]),
        row[15],
    )


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _like(text: str) -> str:
    """The LIKE pattern of a substring: its ``%``, ``_`` and ``\\`` escaped."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _text_match(conn: sqlite3.Connection, text: str) -> Optional[str]:
    """The text index query (an FTS5 MATCH expression) whose links are the few
    candidates of a search for ``text``, or ``None`` to read the table instead:
    ``text`` is shorter than a trigram, or the links holding all its trigrams (up to
    _PROBES of them, spread over it) are many, so that the page fills quickly from
    the table anyway. Finding out costs at most _RARE entries of the index."""
    if len(text) < 3:
        return None
    folded = text.translate(_ASCII_LOWER)
    grams = list(dict.fromkeys(folded[i : i + 3] for i in range(len(folded) - 2)))
    if len(grams) > _PROBES:  # the first, the last and evenly between
        last = len(grams) - 1
        grams = [grams[round(i * last / (_PROBES - 1))] for i in range(_PROBES)]
    # FTS5 strings, one trigram each, all of which a candidate holds.
    query = " AND ".join('"' + gram.replace('"', '""') + '"' for gram in grams)
    holders = conn.execute(_COUNT_HOLDERS, (query,)).fetchone()[0]
    return query if holders < _RARE else None


def _search_sql(
    search: Search,
    now: int,
    cursor: Optional[tuple[int, int]],
    match: Optional[tuple[str, int]] = None,
) -> tuple[str, dict[str, Any]]:
    """The statement of one page of ``search`` at ``now`` (microseconds) and its
    parameters; ``cursor`` holds the sort key and ``seq`` of the ``after`` link, and
    ``match`` the text index query of the candidates (``_text_match``) with the last
    ``seq`` the index holds, if the index is used.

    Only this module's fragments are joined into the SQL; every value is bound.
    """
    # SQLite's integers have 64 bits; no page is that long anyway.
    params: dict[str, Any] = {"now": now, "limit": min(search.limit, 2**62)}
    state = _STATES[search.state]
    if search.tag is None:
        sql = f"SELECT {_SEARCH_COLUMNS} FROM links l WHERE {state}"  # noqa: S608
    else:
        # CROSS JOIN keeps link_tags outside: the tag's page is read in key order.
        sql = (
            f"SELECT {_SEARCH_COLUMNS} FROM link_tags t CROSS JOIN links l"  # noqa: S608
            f" WHERE t.tag = :tag{_TAG_STATES[search.state]} AND l.seq = t.seq AND {state}"
        )
        params["tag"] = search.tag
    if search.text is not None and len(search.text) > 10_000:
        sql += _TEXT_EXACT
        params["text"] = search.text.translate(_ASCII_LOWER)
    elif search.text is not None:
        sql += _TEXT
        params["text"] = _like(search.text)
    if match is not None:
        sql += _CANDIDATES
        params["match"], params["indexed"] = match
    after, order = _AFTER[search.sort], _ORDERS[search.sort]
    if search.tag is not None and search.sort == "created":
        # The same order, read from link_tags' key (tag, seq).
        after, order = " AND t.seq < :seq", " ORDER BY t.seq DESC"
    if cursor is not None:
        sql += after
        params["key"], params["seq"] = cursor
    return sql + order + " LIMIT :limit", params


# -- the change hint (see "The change counter" above) ---------------------------------

#: One copy of SQLite's wal-index header (``WalIndexHdr``) at the start of the -shm
#: file; the second copy follows it, and is written first.
_HINT_BYTES = 48
#: ``WALINDEX_MAX_VERSION``, the header's first field, and ``isInit``'s offset.
_WALINDEX_VERSION = 3007000
_IS_INIT = 12

#: The -shm files this process has open, by path: (st_dev, st_ino, fd, mapping or
#: None). Process-wide because POSIX locks are: closing any descriptor of a file drops
#: every lock this process holds on it, SQLite's included, so a descriptor is closed
#: only once its file has been replaced (SQLite holds no lock on the old one then).
_shm_files: dict[str, tuple[int, int, int, Optional[mmap.mmap]]] = {}
#: The stores of this process that have connected and are not closed, by id. When
#: one closes and none of the others has a connection to its database open, nothing
#: of this process holds a lock on the -shm file any more, and its descriptor is
#: closed too: kept open, it would hold a file SQLite has removed, which keeps its
#: file system busy (a read-only remount is then refused).
_connected_stores: dict[int, SQLiteStore] = {}
_shm_lock = threading.Lock()


def _forget_shm(closing: SQLiteStore, path: str) -> None:
    """``closing`` has closed its connections: close the -shm descriptor of ``path``
    if no other store of this process has a connection to that database open."""
    with _shm_lock:
        _connected_stores.pop(id(closing), None)
        if any(
            store._shm_key == closing._shm_key and store._connections
            for store in list(_connected_stores.values())
        ):
            return
        entry = _shm_files.pop(path, None)
    if entry is not None:
        if entry[3] is not None:
            entry[3].close()
        os.close(entry[2])


#: Bumped in a forked child, where no lock of the parent's is held: every hint made
#: before is void there. A fork hook, not os.getpid() (a system call, 0.2 us) on
#: every changes(): os.fork, multiprocessing and servers that fork from C (uWSGI's
#: PyOS_AfterFork_Child) all run it, as CPython needs them to.
_forks = [0]


def _forked() -> None:
    global _shm_lock
    _forks[0] += 1
    _shm_lock = threading.Lock()  # another thread may have held it at the fork


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forked)


def _shm_header(path: str) -> Optional[tuple[mmap.mmap, tuple[int, int]]]:
    """A read-only mapping of the wal-index header of the -shm file ``path`` and the
    file's (st_dev, st_ino), or ``None`` (no such file, no ``mmap``, not a wal-index).
    Called only while one of the caller's connections has that file open, so the file
    at ``path`` is the one SQLite uses and can be neither removed nor truncated
    meanwhile."""
    try:
        import mmap  # only persistent servers ask for changes(): not on the CGI path
    except ImportError:
        return None
    with _shm_lock:
        try:
            stat = os.stat(path)
        except OSError:
            return None
        entry = _shm_files.get(path)
        if entry is not None and (entry[0], entry[1]) != (stat.st_dev, stat.st_ino):
            # Replaced: SQLite removes the file when its last connection closes, and
            # the next one creates another; no lock of this process is on the old one.
            del _shm_files[path]
            os.close(entry[2])
            entry = None
        if entry is None:
            try:
                fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
            except OSError:
                return None
            opened = os.fstat(fd)  # kept open from here on: see _shm_files
            entry = (opened.st_dev, opened.st_ino, fd, None)
            _shm_files[path] = entry
        header = entry[3]
        if header is None:
            try:
                header = mmap.mmap(entry[2], 2 * _HINT_BYTES, prot=mmap.PROT_READ)
            except (OSError, ValueError):  # shorter than a header: not initialised yet
                return None
            _shm_files[path] = (*entry[:3], header)
    if int.from_bytes(header[:4], sys.byteorder) != _WALINDEX_VERSION or header[_IS_INIT] != 1:
        return None  # not a wal-index this code knows
    return header, (entry[0], entry[1])


def _is_busy(exc: sqlite3.Error) -> bool:
    # sqlite_errorcode exists only from Python 3.11; the messages of SQLITE_BUSY
    # ("database is locked") and SQLITE_LOCKED ("database table is locked") are stable.
    message = str(exc).lower()
    return "locked" in message or "busy" in message


class SQLiteStore(Store):
    """A ``Store`` in one SQLite file, safe for many processes and threads at once.

    ``path`` is the database file; it is created on first use, its directory must
    exist. ``timeout`` (seconds) bounds how long a call waits for a lock held by
    another writer before raising ``StoreUnavailable``.

    ``readonly=True`` is for callers that only read (``minilink list``, ``export``):
    the file is opened read-only (``mode=ro``), so a user who may read it but not
    write it, nor its folder, can still read it; it is never created nor migrated
    (a missing file, or one without this schema version, is ``StoreUnavailable``),
    and every write raises ``StoreUnavailable``. A WAL database read by such a user
    needs its ``-shm`` file: while another connection has it open, that file exists
    and SQLite reads through it; when none does (no ``-wal`` file either, so every
    commit is in the main file) the file is opened ``immutable``, needing no ``-shm``.
    """

    def __init__(
        self, path: Union[str, os.PathLike[str]], *, timeout: float = 5.0, readonly: bool = False
    ) -> None:
        if timeout <= 0:
            raise ValueError(f"the SQLite timeout must be positive, not {timeout}")
        self.path = os.fspath(path)
        if self.path in ("", ":memory:") or self.path.startswith("file:"):
            # Each thread has its own connection, so an in-memory database would be
            # a different empty database per thread.
            raise ValueError(
                f"SQLiteStore needs a file path, not {self.path!r}; use 'memory:' for "
                "an in-memory store"
            )
        self.timeout = timeout
        self.readonly = readonly
        self._local = threading.local()
        self._lock = threading.Lock()
        # Every open connection with the thread that owns it, to close them all.
        self._connections: list[tuple[threading.Thread, sqlite3.Connection]] = []
        # Connections inherited through fork: kept referenced, never closed here.
        self._inherited: list[sqlite3.Connection] = []
        self._pid = os.getpid()
        self._closed = False
        # The change hint (see the module docstring): the mapped wal-index header,
        # the connection whose being open keeps it valid, and (mapping, header as
        # read before the last counter read, that counter, _forks) of that read.
        self._hintable = not readonly and os.name == "posix"
        self._header: Optional[mmap.mmap] = None
        self._header_inode = (0, 0)
        self._anchor: Optional[sqlite3.Connection] = None
        self._anchors = 0  # moves whenever the anchor is dropped or taken anew
        self._hint: Optional[tuple[mmap.mmap, bytes, int, int]] = None
        # SQLite names the -shm file after the database's real path (links resolved).
        self._shm_key = os.path.realpath(self.path) + "-shm"
        self._hint_tried: Optional[sqlite3.Connection] = None
        self._text_index: Optional[bool] = None  # see _has_text_index

    @classmethod
    def from_url(cls, url: str, *, readonly: bool = False) -> SQLiteStore:
        """Open from ``sqlite:///relative.db``, ``sqlite:////absolute.db`` or a bare path.

        A URL (not a bare path) may end in ``?timeout=SECONDS``, and its path is
        percent-decoded. ``readonly`` is the constructor's. Raises ``ValueError`` for
        a URL it cannot read.
        """
        scheme, colon, rest = url.partition(":")
        if not colon or scheme.lower().split("+", 1)[0] != "sqlite":
            return cls(url, readonly=readonly)  # a bare path is taken as it is
        rest, _, query = rest.partition("?")
        if not rest.startswith("///") or rest == "///":
            raise ValueError(
                f"a SQLite URL is sqlite:///relative.db or sqlite:////absolute/path.db, not {url!r}"
            )
        path = rest[3:]
        if "%" in path:
            from urllib.parse import unquote  # rare; keep urllib off the CGI path

            path = unquote(path)
        timeout = 5.0
        for pair in filter(None, query.split("&")):
            name, _, value = pair.partition("=")
            if name != "timeout":
                raise ValueError(f"unknown SQLite URL option {name!r} in {url!r}")
            try:
                timeout = float(value)
            except ValueError:
                raise ValueError(f"timeout must be a number of seconds in {url!r}") from None
        return cls(path, timeout=timeout, readonly=readonly)

    @classmethod
    def check_url(cls, url: str) -> None:
        """Check ``url`` as ``from_url`` reads it, without touching the database: a
        server refuses to start on a ``ValueError`` here rather than answer 503 to
        everything. The file may be missing (it is created), its directory may not."""
        path = cls.from_url(url).path  # nothing is opened before the first call
        folder = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(folder):
            raise ValueError(
                f"the directory {folder!r} of the SQLite database {path!r} does not exist"
            )

    # -- the Store contract -------------------------------------------------------

    def insert(self, link: Link) -> Optional[Link]:
        params = _row(link)
        deduped = link.plain and link.deleted_at is None
        tombstone = int(link.deleted_at is not None)

        def transaction(conn: sqlite3.Connection) -> Optional[Link]:
            cursor = conn.execute(_INSERT, params)
            if cursor.rowcount != 1:
                # Refused by a unique index: the plain URL's (dedupe: whatever code
                # was proposed, its existing link is the answer) or the code's (taken
                # by a live link or a tombstone). Looking only now saves a query on
                # every creation that succeeds, and the write lock makes it as exact.
                row = conn.execute(_FIND_PLAIN, (link.url,)).fetchone() if deduped else None
                return None if row is None else _link(row)
            seq = cursor.lastrowid
            if link.tags:
                conn.executemany(_INSERT_TAG, [(tag, seq, tombstone) for tag in link.tags])
            if seq is not None and self._has_text_index(conn):
                _index_tail(conn, seq, _TAIL)
            # The link as it now reads back: times in UTC.
            return link.replace(
                created_at=_from_micros(params[2]),
                expires_at=_from_micros(params[3]),
                deleted_at=_from_micros(params[7]),
                updated_at=_from_micros(params[14]),
            )

        return self._run(transaction, write=True)

    def get(self, code: str) -> Optional[Link]:
        def read(conn: sqlite3.Connection) -> Optional[Link]:
            row = conn.execute(_GET, (code,)).fetchone()
            return None if row is None else _link(row)

        return self._run(read, write=False)

    def hit(self, code: str, day: str, *, count: int = 1, limit: Optional[int] = None) -> bool:
        if count < 1:
            raise ValueError(f"hit count must be at least 1, not {count}")

        def transaction(conn: sqlite3.Connection) -> bool:
            if limit is None:
                cursor = conn.execute(_HIT, (count, code))
            else:
                cursor = conn.execute(_HIT_LIMITED, (count, code, count, limit))
            if cursor.rowcount != 1:
                return False
            conn.execute(_HIT_DAY, (code, day, count))
            return True

        return self._run(transaction, write=True)

    def daily(self, code: str, since: str) -> list[tuple[str, int]]:
        def read(conn: sqlite3.Connection) -> list[tuple[str, int]]:
            return [(day, hits) for day, hits in conn.execute(_DAILY, (code, since))]

        return self._run(read, write=False)

    def delete(self, code: str, at: datetime, *, revision: Optional[int] = None) -> bool:
        micros = _to_micros(at)

        def transaction(conn: sqlite3.Connection) -> bool:
            row = conn.execute(_FIND_LIVE, (code,)).fetchone()
            if row is None:
                return False  # missing, or a tombstone already (it keeps its date)
            seq, tags, current = row
            if revision is not None and current != revision:
                return False
            conn.execute(_DELETE, (micros, seq))
            if tags is not None:
                conn.executemany(_BURY_TAG, [(tag, seq) for tag in tags.split(" ")])
            conn.execute(_CHANGED)
            return True

        return self._run(transaction, write=True)

    def update(self, link: Link) -> Optional[Link]:
        params = _row(link)
        plain = link.plain

        def transaction(conn: sqlite3.Connection) -> Optional[Link]:
            row = conn.execute(_FIND_EDITED, (link.code,)).fetchone()
            if row is None or row[2] is not None or row[3] != link.revision:
                return None  # missing, a tombstone, or edited since it was read
            seq, old_tags = row[0], row[1]
            alias = params[6]
            if plain and conn.execute(_OTHER_PLAIN, (link.url, seq)).fetchone() is not None:
                alias = 1  # another live plain link has this URL: the dedupe rule
            indexed = self._has_text_index(conn) and seq <= conn.execute(_INDEXED).fetchone()[0]
            if indexed:
                conn.execute(_UNINDEX, (seq,))
            # Every field but code, created_at, hits and deleted_at (and revision, +1).
            conn.execute(_UPDATE, [params[1], params[3], params[4], alias, *params[8:15], seq])
            if indexed:
                conn.execute(_INDEX_ONE, (seq,))
            if old_tags != params[9]:
                if old_tags is not None:
                    conn.executemany(_DELETE_TAG, [(tag, seq) for tag in old_tags.split(" ")])
                conn.executemany(_INSERT_TAG, [(tag, seq, 0) for tag in link.tags])
            conn.execute(_CHANGED)
            stored = conn.execute(_GET, (link.code,)).fetchone()
            return _link(stored)

        return self._run(transaction, write=True)

    def search(self, search: Search) -> list[Link]:
        if search.state not in _STATES or search.sort not in _ORDERS:
            raise ValueError(f"unknown search state {search.state!r} or sort {search.sort!r}")
        if search.limit < 1:
            return []  # SQLite reads a negative LIMIT as "no limit"
        now = _to_micros(search.now)  # a naive time is refused before any read
        for value in (search.text, search.tag, search.after):
            if value is not None and ("\0" in value or not _encodable(value)):
                # No stored text holds a NUL (refused) or a lone surrogate (SQLite
                # keeps UTF-8), so nothing matches; and LIKE would stop at the NUL.
                return []

        def read(conn: sqlite3.Connection) -> list[Link]:
            cursor: Optional[tuple[int, int]] = None
            if search.after is not None:
                row = conn.execute(_CURSOR, (search.after,)).fetchone()
                if row is None or not search.matches(_link(row)):
                    return []  # an unknown cursor, or one not in these results
                if search.sort == "hits":
                    cursor = (row[5], row[16])
                elif search.sort == "updated":
                    cursor = (row[2] if row[14] is None else row[14], row[16])
                else:
                    cursor = (row[16], row[16])
            match = None
            if search.text is not None and self._has_text_index(conn):
                query = _text_match(conn, search.text)
                if query is not None:
                    match = (query, conn.execute(_INDEXED).fetchone()[0])
            sql, params = _search_sql(search, now, cursor, match)
            return [_link(row) for row in conn.execute(sql, params)]

        return self._run(self._snapshot(read), write=False)

    def _has_text_index(self, conn: sqlite3.Connection) -> bool:
        """Whether the file has the text index (schema 3 on a SQLite with FTS5's
        trigram tokenizer); the same for as long as the file is at this version."""
        if self._text_index is None:
            self._text_index = conn.execute(_HAS_TEXT_INDEX).fetchone() is not None
        return self._text_index

    def tags(self) -> list[tuple[str, int]]:
        def read(conn: sqlite3.Connection) -> list[tuple[str, int]]:
            return [(tag, count) for tag, count in conn.execute(_TAGS)]

        return self._run(read, write=False)

    def changes(self) -> int:
        hint = self._hint
        if hint is not None and hint[0][:_HINT_BYTES] == hint[1] and hint[3] == _forks[0]:
            return hint[2]  # no commit since the counter was read
        return self._run(self._read_changes, write=False)

    def _read_changes(self, conn: sqlite3.Connection) -> int:
        """The counter, and the hint that lets the next calls skip reading it."""
        with self._lock:  # (after a fork, _run reconnected and dropped the hint)
            header, anchors = self._header, self._anchors
        if header is None and self._hintable and conn is not self._hint_tried:
            header, anchors = self._take_anchor(conn)
        # The header before the counter: a commit between the two only makes the
        # next call read the counter again.
        before = None if header is None else header[:_HINT_BYTES]
        value: int = conn.execute(_CHANGES).fetchone()[0]
        if header is not None and before is not None:
            with self._lock:
                if self._anchors == anchors:
                    self._hint = (header, before, value, _forks[0])
        return value

    def _take_anchor(self, conn: sqlite3.Connection) -> tuple[Optional[mmap.mmap], int]:
        """Map the -shm file with ``conn`` (open, in WAL mode) as its anchor."""
        self._hint_tried = conn  # once per connection, whatever the outcome
        if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            self._hintable = False  # no -shm file (WAL refused by this file system)
            return None, self._anchors
        mapped = _shm_header(self._shm_key)
        with self._lock:
            if mapped is None or not any(c is conn for _, c in self._connections):
                return None, self._anchors  # or conn was closed meanwhile
            header, self._header_inode = mapped
            self._header = header
            self._anchor = conn
            self._anchors += 1
            self._hint = None
            return header, self._anchors

    def _release(self, conn: sqlite3.Connection) -> None:
        """Called with ``self._lock`` held, before ``conn`` is closed: another open
        connection of this store takes over as the anchor, else the hint is dropped
        (with no connection of this process open, SQLite may remove or reset the
        -shm file, and the counter in its header may start again from zero)."""
        if conn is not self._anchor:
            return
        self._anchor = next((c for _, c in self._connections if c is not conn), None)
        if self._anchor is None:
            self._drop_hint()

    def _drop_hint(self) -> None:
        self._header = None
        self._hint = None
        self._anchor = None
        self._anchors += 1

    def recent(self, limit: int, after: Optional[str] = None) -> list[Link]:
        if limit < 1:
            return []  # SQLite reads a negative LIMIT as "no limit"

        def read(conn: sqlite3.Connection) -> list[Link]:
            if after is None:
                rows = conn.execute(_RECENT, (limit,)).fetchall()
            else:
                rows = conn.execute(_RECENT_AFTER, (after, limit)).fetchall()
            return [_link(row) for row in rows]

        return self._run(read, write=False)

    def allow(self, key: str, window: int, limit: int) -> bool:
        if limit < 1:
            return False

        def transaction(conn: sqlite3.Connection) -> bool:
            # Only this key's older windows: window numbers of different keys may
            # count different spans of time. A key never seen again keeps its last row.
            conn.execute(_ALLOW_PRUNE, (key, window))
            return conn.execute(_ALLOW_COUNT, (key, window, limit)).rowcount == 1

        return self._run(transaction, write=True)

    def totals(self, since: str) -> tuple[int, list[tuple[str, int]]]:
        def read(conn: sqlite3.Connection) -> tuple[int, list[tuple[str, int]]]:
            links = int(conn.execute(_TOTAL_LINKS).fetchone()[0])
            days = [(day, int(hits)) for day, hits in conn.execute(_TOTAL_DAYS, (since,))]
            return links, days

        return self._run(self._snapshot(read), write=False)

    def counted(self, key: str, window: int) -> int:
        def read(conn: sqlite3.Connection) -> int:
            row = conn.execute(_COUNTED, (key, window)).fetchone()
            return 0 if row is None else int(row[0])

        return self._run(read, write=False)

    def ping(self) -> None:
        def read(conn: sqlite3.Connection) -> None:
            conn.execute("SELECT 1").fetchone()

        self._run(read, write=False)

    def export(self) -> Iterator[Entry]:
        last = 0
        while True:
            # Each page is its own read: no transaction stays open between pages, so
            # the caller may use this store (or this thread's connection) meanwhile.
            rows = self._run(_export_page(last), write=False)
            if not rows:
                return
            for row in rows:
                days: list[tuple[str, int]] = []
                if row[17]:
                    for pair in row[17].split(","):
                        day, _, hits = pair.partition("=")
                        days.append((day, int(hits)))
                yield _link(row[1:17]), tuple(sorted(days))
            last = rows[-1][0]

    def restore(self, entries: Iterable[Entry]) -> int:
        import itertools

        stored = 0
        iterator = iter(entries)
        while True:
            batch = [check_entry(entry) for entry in itertools.islice(iterator, _BATCH)]
            if not batch:
                if stored:  # what the batches left for the index

                    def index(conn: sqlite3.Connection) -> None:
                        if self._has_text_index(conn):
                            _index_tail(conn, conn.execute(_LAST_SEQ).fetchone()[0], 1)

                    self._run(index, write=True)
                return stored
            stored += self._run(_restore_batch(batch, self, _RESTORE_SLACK), write=True)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            connections, self._connections = self._connections, []
            self._drop_hint()
        for _, conn in connections:
            conn.close()
        self._local = threading.local()
        _forget_shm(self, self._shm_key)

    # -- connections and transactions ----------------------------------------------

    def _run(self, body: Callable[[sqlite3.Connection], _T], *, write: bool) -> _T:
        """Run ``body`` on this thread's connection, in an immediate transaction if
        ``write``; retry while the database is busy and the timeout budget lasts."""
        # One budget for the whole call: SQLite's busy handler spends it first, and
        # retries (for the busy cases the handler does not cover) only use what is left.
        if write and self.readonly:
            raise StoreUnavailable(
                f"the SQLite store {self.path!r} was opened read-only", retry_after=None
            )
        deadline = time.monotonic() + self.timeout
        delay = 0.002
        retried = False
        while True:
            # A connection kept from an earlier call may be stuck in the state of a
            # fault that has passed since; one that fails gets one more try, fresh.
            reused = getattr(self._local, "conn", None) is not None
            try:
                conn = self._connection()
                if not write:
                    return body(conn)
                conn.execute("BEGIN IMMEDIATE")
                try:
                    result = body(conn)
                    conn.execute("COMMIT")
                except BaseException:
                    self._rollback(conn)
                    raise
                return result
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc):
                    self._discard()
                    if reused and not retried:
                        retried = True
                        continue
                    raise self._unavailable(exc) from exc
                if time.monotonic() + delay > deadline:
                    raise StoreUnavailable(
                        f"the SQLite database {self.path!r} stayed locked by another "
                        f"writer for more than {self.timeout:g} s"
                    ) from exc
                time.sleep(delay)
                delay = min(delay * 2, 0.1)
            except sqlite3.Error as exc:
                self._discard()
                if reused and not retried:
                    retried = True
                    continue
                raise self._unavailable(exc) from exc

    def _discard(self) -> None:
        """Close this thread's connection after an error that was not "busy".

        A connection that failed (disk full, I/O error, a file that was read-only or
        damaged when it was opened) may stay in that state: SQLite keeps a database it
        could only open read-only read-only for good. The next call reconnects, so the
        store recovers as soon as the fault is gone.
        """
        conn: Optional[sqlite3.Connection] = getattr(self._local, "conn", None)
        if conn is None or self._pid != os.getpid():
            return
        self._local.conn = None
        with self._lock:
            self._connections = [pair for pair in self._connections if pair[1] is not conn]
            self._release(conn)
        try:  # noqa: SIM105 - contextlib costs a CGI request an import
            conn.close()
        except sqlite3.Error:
            pass

    @staticmethod
    def _snapshot(body: Callable[[sqlite3.Connection], _T]) -> Callable[[sqlite3.Connection], _T]:
        """``body`` in one read transaction: its statements see one snapshot."""

        def read(conn: sqlite3.Connection) -> _T:
            conn.execute("BEGIN")
            try:
                return body(conn)
            finally:
                SQLiteStore._rollback(conn)  # ends the read; nothing was written

        return read

    @staticmethod
    def _rollback(conn: sqlite3.Connection) -> None:
        if conn.in_transaction:
            # If this fails the transaction is gone already (SQLite rolls back by
            # itself on some errors); the original error is the one to report.
            try:  # noqa: SIM105 - as above
                conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass

    def _unavailable(self, exc: sqlite3.Error) -> StoreUnavailable:
        reason = _why_not(self.path, self.readonly, exc)
        if reason is not None:
            return StoreUnavailable(f"cannot open the SQLite database {self.path!r}: {reason}")
        return StoreUnavailable(f"the SQLite database {self.path!r} cannot be used: {exc}")

    def _connection(self) -> sqlite3.Connection:
        conn: Optional[sqlite3.Connection] = getattr(self._local, "conn", None)
        if conn is not None and self._pid == os.getpid():
            return conn
        return self._connect()

    def _connect(self) -> sqlite3.Connection:
        with self._lock:
            self._check_open()
            if self._pid != os.getpid():
                self._inherited.extend(conn for _, conn in self._connections)
                self._connections = []
                self._local = threading.local()
                self._pid = os.getpid()
                self._drop_hint()
            # Closed once the new connection is open, so that the anchor (see
            # _release) passes from an ended thread's connection to it.
            stale = [pair for pair in self._connections if not pair[0].is_alive()]
        if self.readonly:
            conn = self._connect_readonly()
        else:
            try:
                # check_same_thread=False only so that close() may close the connections
                # of other threads; each connection is otherwise used by its thread alone.
                conn = sqlite3.connect(
                    self.path, timeout=self.timeout, isolation_level=None, check_same_thread=False
                )
            except sqlite3.Error as exc:
                raise self._open_failed(exc) from exc
            try:
                self._prepare(conn)
            except BaseException:
                conn.close()
                raise
        with self._lock:
            try:
                self._check_open()  # close() may have run while we connected
            except StoreUnavailable:
                conn.close()
                raise
            # Only those still listed: a thread connecting at once closes the others.
            stale = [pair for pair in stale if any(pair is p for p in self._connections)]
            self._connections = [p for p in self._connections if not any(p is q for q in stale)]
            self._connections.append((threading.current_thread(), conn))
            _connected_stores[id(self)] = self
            for _, old in stale:
                self._release(old)
            if self._header is not None and self._replaced():
                self._drop_hint()  # the next changes() maps the new file
        for _, old in stale:
            old.close()
        self._local.conn = conn
        return conn

    def _replaced(self) -> bool:
        """Whether the mapped -shm file is no longer the one at its path (which the
        anchor forbids; checked whenever a thread connects, as a safety net)."""
        try:
            stat = os.stat(os.path.realpath(self.path) + "-shm")
        except OSError:
            return True
        return (stat.st_dev, stat.st_ino) != self._header_inode

    def _check_open(self) -> None:
        if self._closed:
            raise StoreUnavailable(f"the SQLite store {self.path!r} is closed", retry_after=None)

    def _connect_readonly(self) -> sqlite3.Connection:
        """A read-only connection (see the class docstring), its schema checked."""
        from pathlib import Path

        uri = Path(os.path.abspath(self.path)).as_uri() + "?mode=ro"
        for attempt in (uri, uri + "&immutable=1"):
            try:
                conn = sqlite3.connect(
                    attempt,
                    uri=True,
                    timeout=self.timeout,
                    isolation_level=None,
                    check_same_thread=False,
                )
            except sqlite3.Error as exc:
                raise self._open_failed(exc) from exc
            try:
                version = conn.execute("PRAGMA user_version").fetchone()[0]
            except sqlite3.OperationalError as exc:
                conn.close()
                # SQLite must create the -shm file of a WAL database to read it, unless
                # it is immutable: safe to assume only when no -wal file holds commits.
                wal = self.path + "-wal"
                if attempt != uri or (os.path.exists(wal) and os.path.getsize(wal) > 0):
                    raise self._open_failed(exc) from exc
                continue
            except BaseException:
                conn.close()
                raise
            if version != SCHEMA_VERSION:
                conn.close()
                if version > SCHEMA_VERSION:
                    raise self._too_new(version)
                if version == 0:
                    raise StoreUnavailable(
                        f"the SQLite database {self.path!r} has no minilink tables yet",
                        retry_after=None,
                    )
                raise StoreUnavailable(
                    f"the SQLite database {self.path!r} has schema version {version}, older "
                    f"than the {SCHEMA_VERSION} this minilink reads; open it once with "
                    "write access to upgrade it",
                    retry_after=None,
                )
            return conn
        raise AssertionError("unreachable: the immutable attempt returns or raises")

    def _open_failed(self, exc: sqlite3.Error) -> StoreUnavailable:
        reason = _why_not(self.path, self.readonly, exc) or str(exc)
        return StoreUnavailable(f"cannot open the SQLite database {self.path!r}: {reason}")

    def _prepare(self, conn: sqlite3.Connection) -> None:
        # journal_mode=WAL is stored in the file; on a file already in WAL it is a read.
        conn.execute("PRAGMA journal_mode=WAL").fetchone()
        conn.execute("PRAGMA synchronous=NORMAL")
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version == SCHEMA_VERSION:
            return
        if version > SCHEMA_VERSION:
            raise self._too_new(version)
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Another process may have migrated between our read and our lock.
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise self._too_new(version)
            for number, migration in enumerate(_MIGRATIONS[version:], version + 1):
                if number in _OPTIONAL:
                    conn.execute("SAVEPOINT optional")
                try:
                    for statement in migration:
                        conn.execute(statement)
                except sqlite3.OperationalError as exc:
                    if number not in _OPTIONAL or not _missing_feature(exc):
                        raise
                    conn.execute("ROLLBACK TO optional")
                if number in _OPTIONAL:
                    conn.execute("RELEASE optional")
            # PRAGMA takes no parameters; SCHEMA_VERSION is our own integer.
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION:d}")
            conn.execute("COMMIT")
        except BaseException:
            self._rollback(conn)
            raise

    def _too_new(self, version: int) -> StoreUnavailable:
        return StoreUnavailable(
            f"the SQLite database {self.path!r} has schema version {version}, newer than "
            f"the {SCHEMA_VERSION} this minilink knows; upgrade minilink",
            retry_after=None,
        )


def _missing_feature(exc: sqlite3.OperationalError) -> bool:
    """Whether ``exc`` says this SQLite lacks a module or tokenizer."""
    message = str(exc)
    return "no such module" in message or "no such tokenizer" in message


def _why_not(path: str, readonly: bool, exc: sqlite3.Error) -> Optional[str]:
    """Why SQLite could not open ``path``, when its own words ("unable to open database
    file", "attempt to write a readonly database") do not say: a missing or forbidden
    folder, a directory, a file this user may not read or write. ``None`` otherwise."""
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        return f"the directory {folder!r} does not exist"
    if os.path.isdir(path):  # SQLite says "unable to open", or "disk I/O error" read-only
        return "the path is a directory, not a database file"
    message = str(exc).lower()
    if "unable to open" not in message and "readonly" not in message:
        return None
    if not os.access(folder, os.X_OK):
        return f"permission denied: this user may not enter the directory {folder!r}"
    if not os.path.exists(path):
        if readonly:
            return "the file does not exist"
        if not os.access(folder, os.W_OK):
            return f"permission denied: this user may not create files in the directory {folder!r}"
        return None
    if not os.access(path, os.R_OK):
        return "permission denied: this user may not read the file"
    if readonly:
        return None
    if not os.access(path, os.W_OK):
        return "permission denied: the file is read-only for this user"
    if not os.access(folder, os.W_OK):
        return (
            f"permission denied: this user may not create files in the directory {folder!r}, "
            "where SQLite keeps the database's -wal and -shm files"
        )
    return None


def _export_page(last: int) -> Callable[[sqlite3.Connection], list[_Row]]:
    def read(conn: sqlite3.Connection) -> list[_Row]:
        return conn.execute(_EXPORT, (last, _BATCH)).fetchall()

    return read


def _index_tail(conn: sqlite3.Connection, last: int, slack: int) -> None:
    """Index the links after ``meta.indexed`` (up to ``last``, the newest) if there
    are ``slack`` of them or more; in the caller's write transaction."""
    indexed = conn.execute(_INDEXED).fetchone()[0]
    if last - indexed >= slack:
        conn.execute(_INDEX_TAIL, (indexed,))
        conn.execute(_SET_INDEXED, (last,))


def _restore_batch(
    batch: list[Entry], store: SQLiteStore, slack: int
) -> Callable[[sqlite3.Connection], int]:
    """The transaction that stores one batch of ``restore`` entries: all of them in
    one ``executemany``, then one by one only those it did not store."""
    rows = [_row(link) for link, _ in batch]

    def write(conn: sqlite3.Connection) -> int:
        last = conn.execute(_LAST_SEQ).fetchone()[0]
        conn.executemany(_INSERT, rows)
        new = dict(conn.execute(_STORED_AFTER, (last,)).fetchall())
        stored = 0
        day_rows: list[tuple[str, str, int]] = []
        tag_rows: list[tuple[str, int, int]] = []
        for (link, days), params in zip(batch, rows):
            seq = new.pop(link.code, None)  # a code given twice is stored once
            if seq is None:
                if conn.execute(_TAKEN, (link.code,)).fetchone() is not None:
                    continue  # the code is taken: skipped
                # A live plain link of this URL exists under another code.
                cursor = conn.execute(_INSERT, [*params[:6], 1, *params[7:]])
                if cursor.rowcount != 1:
                    continue
                seq = cursor.lastrowid
            stored += 1
            day_rows.extend((link.code, day, hits) for day, hits in days)
            tombstone = int(link.deleted_at is not None)
            tag_rows.extend((tag, seq, tombstone) for tag in link.tags)
        conn.executemany(_RESTORE_DAY, day_rows)
        conn.executemany(_INSERT_TAG, tag_rows)
        if stored and store._has_text_index(conn):
            # In large steps: FTS5 writes fewer, larger segments, with less merging.
            _index_tail(conn, conn.execute(_LAST_SEQ).fetchone()[0], slack)
        conn.execute(_CHANGED)
        return stored

    return write
