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
  A read is one autocommit ``SELECT``.
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
  A database newer than this code is refused rather than misread.
* **Atomic rules.** ``insert`` is ``INSERT ... ON CONFLICT DO NOTHING`` and, only
  when that inserted nothing, the dedupe lookup, in one immediate transaction; a
  partial unique index on the URL of live plain links is what enforces the dedupe
  rule. ``hit`` is one guarded ``UPDATE`` (the visit limit is in its ``WHERE``) and
  the per-day upsert, together.
* **Values.** Times are integers: microseconds since 1970-01-01 UTC, lossless and
  ordered; they come back as aware UTC datetimes. Days are ``YYYY-MM-DD`` text.

* **Read-only** (``readonly=True``, for callers that only read): ``mode=ro``, no
  schema creation or migration, no write; ``immutable`` when a reader who cannot
  write the folder finds no ``-shm`` and no ``-wal`` file (see ``SQLiteStore``).
* **Export and restore.** ``export`` reads pages of a thousand links by ``seq``, each
  page one read of its own (no transaction stays open between pages); ``restore``
  writes a thousand links per immediate transaction.

The hot path, ``get``, is one indexed lookup by code on the calling thread's open
connection, with no schema check after the connection's first use.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from datetime import datetime, timedelta, timezone

from minilink.core.errors import StoreUnavailable
from minilink.core.links import Link
from minilink.storage.base import Store, check_entry

__all__ = ["SCHEMA_VERSION", "SQLiteStore"]

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only: typing alone costs a CGI request ~9 ms
    from collections.abc import Iterable, Iterator
    from typing import Any, Callable, Optional, TypeVar, Union

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
)

#: The schema version this code writes and reads.
SCHEMA_VERSION = len(_MIGRATIONS)

# The column lists are spelled out in every statement (no string building), so each
# statement reads as the SQL it is; _link() reads the columns in this order.
_GET = (
    "SELECT code, url, created_at, expires_at, max_visits, hits, alias, deleted_at"
    " FROM links WHERE code = ?"
)
_FIND_PLAIN = (
    "SELECT code, url, created_at, expires_at, max_visits, hits, alias, deleted_at"
    " FROM links WHERE url = ? AND alias = 0 AND expires_at IS NULL"
    " AND max_visits IS NULL AND deleted_at IS NULL"
)
_INSERT = (
    "INSERT INTO links"
    " (code, url, created_at, expires_at, max_visits, hits, alias, deleted_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"
)
_HIT = "UPDATE links SET hits = hits + ? WHERE code = ? AND deleted_at IS NULL"
_HIT_LIMITED = (
    "UPDATE links SET hits = hits + ? WHERE code = ? AND deleted_at IS NULL AND hits + ? <= ?"
)
_HIT_DAY = (
    "INSERT INTO daily (code, day, hits) VALUES (?, ?, ?)"
    " ON CONFLICT (code, day) DO UPDATE SET hits = hits + excluded.hits"
)
_DAILY = "SELECT day, hits FROM daily WHERE code = ? AND day >= ? ORDER BY day"
_DELETE = "UPDATE links SET deleted_at = ? WHERE code = ? AND deleted_at IS NULL"
_RECENT = (
    "SELECT code, url, created_at, expires_at, max_visits, hits, alias, deleted_at"
    " FROM links WHERE deleted_at IS NULL ORDER BY seq DESC LIMIT ?"
)
# An unknown cursor makes the subquery NULL, and "seq < NULL" matches nothing: the
# empty page the contract asks for, in the same snapshot as the page itself.
_RECENT_AFTER = (
    "SELECT code, url, created_at, expires_at, max_visits, hits, alias, deleted_at"
    " FROM links WHERE deleted_at IS NULL AND seq < (SELECT seq FROM links WHERE code = ?)"
    " ORDER BY seq DESC LIMIT ?"
)
# Pages of export(): a link with its days as "day=hits,day=hits" (ordered in Python).
_EXPORT = (
    "SELECT seq, code, url, created_at, expires_at, max_visits, hits, alias, deleted_at,"
    " (SELECT group_concat(daily.day || '=' || daily.hits) FROM daily"
    " WHERE daily.code = links.code)"
    " FROM links WHERE seq > ? ORDER BY seq LIMIT ?"
)
_TAKEN = "SELECT 1 FROM links WHERE code = ?"
_LAST_SEQ = "SELECT coalesce(max(seq), 0) FROM links"
_CODES_AFTER = "SELECT code FROM links WHERE seq > ?"
_RESTORE_DAY = (
    "INSERT INTO daily (code, day, hits) VALUES (?, ?, ?)"
    " ON CONFLICT (code, day) DO UPDATE SET hits = excluded.hits"
)
#: Links per page of export() and per transaction of restore().
_BATCH = 1000
_ALLOW_PRUNE = "DELETE FROM ratelimit WHERE key = ? AND win < ?"
_ALLOW_COUNT = (
    "INSERT INTO ratelimit (key, win, count) VALUES (?, ?, 1)"
    " ON CONFLICT (key, win) DO UPDATE SET count = count + 1 WHERE count < ?"
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


def _link(row: _Row) -> Link:
    created_at = _from_micros(row[2])
    assert created_at is not None  # NOT NULL in the schema
    return Link(
        code=row[0],
        url=row[1],
        created_at=created_at,
        expires_at=_from_micros(row[3]),
        max_visits=row[4],
        hits=row[5],
        alias=bool(row[6]),
        deleted_at=_from_micros(row[7]),
    )


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
        created_at = _to_micros(link.created_at)
        expires_at = _to_micros_or_none(link.expires_at)
        deleted_at = _to_micros_or_none(link.deleted_at)
        params = (
            link.code,
            link.url,
            created_at,
            expires_at,
            link.max_visits,
            link.hits,
            int(link.alias),
            deleted_at,
        )
        deduped = link.plain and link.deleted_at is None

        def transaction(conn: sqlite3.Connection) -> Optional[Link]:
            if conn.execute(_INSERT, params).rowcount != 1:
                # Refused by a unique index: the plain URL's (dedupe: whatever code
                # was proposed, its existing link is the answer) or the code's (taken
                # by a live link or a tombstone). Looking only now saves a query on
                # every creation that succeeds, and the write lock makes it as exact.
                row = conn.execute(_FIND_PLAIN, (link.url,)).fetchone() if deduped else None
                return None if row is None else _link(row)
            # The link as it now reads back: times in UTC.
            return link.replace(
                created_at=_EPOCH + timedelta(microseconds=created_at),
                expires_at=_from_micros(expires_at),
                deleted_at=_from_micros(deleted_at),
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

    def delete(self, code: str, at: datetime) -> bool:
        micros = _to_micros(at)

        def transaction(conn: sqlite3.Connection) -> bool:
            return conn.execute(_DELETE, (micros, code)).rowcount == 1

        return self._run(transaction, write=True)

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
                if row[9]:
                    for pair in row[9].split(","):
                        day, _, hits = pair.partition("=")
                        days.append((day, int(hits)))
                yield _link(row[1:9]), tuple(sorted(days))
            last = rows[-1][0]

    def restore(self, entries: Iterable[Entry]) -> int:
        import itertools

        stored = 0
        iterator = iter(entries)
        while True:
            batch = [check_entry(entry) for entry in itertools.islice(iterator, _BATCH)]
            if not batch:
                return stored
            stored += self._run(_restore_batch(batch), write=True)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            connections, self._connections = self._connections, []
        for _, conn in connections:
            conn.close()
        self._local = threading.local()

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
        try:  # noqa: SIM105 - contextlib costs a CGI request an import
            conn.close()
        except sqlite3.Error:
            pass

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
            stale = [pair for pair in self._connections if not pair[0].is_alive()]
            self._connections = [pair for pair in self._connections if pair[0].is_alive()]
        for _, old in stale:
            old.close()
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
            self._connections.append((threading.current_thread(), conn))
        self._local.conn = conn
        return conn

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
            for migration in _MIGRATIONS[version:]:
                for statement in migration:
                    conn.execute(statement)
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


def _restore_batch(batch: list[Entry]) -> Callable[[sqlite3.Connection], int]:
    """The transaction that stores one batch of ``restore`` entries: all of them in
    one ``executemany``, then one by one only those it did not store."""
    rows = [
        [
            link.code,
            link.url,
            _to_micros(link.created_at),
            _to_micros_or_none(link.expires_at),
            link.max_visits,
            link.hits,
            int(link.alias),
            _to_micros_or_none(link.deleted_at),
        ]
        for link, _ in batch
    ]

    def write(conn: sqlite3.Connection) -> int:
        last = conn.execute(_LAST_SEQ).fetchone()[0]
        conn.executemany(_INSERT, rows)
        new = {code for (code,) in conn.execute(_CODES_AFTER, (last,))}
        stored = 0
        day_rows: list[tuple[str, str, int]] = []
        for (link, days), params in zip(batch, rows):
            if link.code in new:
                new.discard(link.code)  # a code given twice is stored once
            elif conn.execute(_TAKEN, (link.code,)).fetchone() is not None:
                continue  # the code is taken: skipped
            else:
                # A live plain link of this URL exists under another code.
                if conn.execute(_INSERT, [*params[:6], 1, params[7]]).rowcount != 1:
                    continue
            stored += 1
            day_rows.extend((link.code, day, hits) for day, hits in days)
        conn.executemany(_RESTORE_DAY, day_rows)
        return stored

    return write
