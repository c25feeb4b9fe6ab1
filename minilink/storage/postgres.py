"""``PostgresStore``: the scale-out store, PostgreSQL through psycopg 3 and a pool.

Theory of operation
-------------------
Several stateless app servers, on one host or many, share one database. Every rule of
the ``Store`` contract holds across them because each is decided by the server in
one SQL statement (or one transaction), never by a read followed by a write here:

* **insert** is one statement: the dedupe lookup and ``INSERT ... ON CONFLICT DO
  NOTHING RETURNING`` in one ``WITH``. A partial unique index over the live plain
  links' URLs (like SQLite's; it indexes ``md5(url)``, because a URL may be longer
  than a B-tree entry) makes two racing creates of one URL agree: the loser's insert
  does nothing and it reads the winner's link.
* **hit** is one statement: the guarded ``UPDATE`` (visit limit in its ``WHERE``)
  feeds the per-day upsert through a data-modifying ``WITH``, so a total and its day
  never disagree and a limit is never overrun, whatever the number of servers.
* **recent** pages by keyset (``seq < the cursor's seq``), so a page costs the same at
  any depth. **allow** is one conditional upsert.
* **Schema**: versioned migrations (``minilink_schema`` holds the number applied),
  run on first use in one transaction that holds a transaction-level advisory lock
  keyed on the schema: servers that start at once migrate once, the others wait for
  the lock and find the work done. A database newer than this code is refused.
  Tables are prefixed ``minilink_``, so the database may be shared with other
  applications; a dedicated schema works too (``?options=-csearch_path%3Dname``).
* **Connections**: one ``psycopg_pool.ConnectionPool`` per process, opened on first
  use, so building the store costs nothing and each worker of a pre-forking server
  opens its own after the fork (a pool inherited through ``fork`` is left alone).
  Autocommit; sessions run with ``TimeZone=UTC`` and without JIT compilation (it
  costs a short query more than it saves). Defaults (URL options override):
  ``pool_min=1``, ``pool_max=10`` connections, ``pool_timeout=5`` seconds to wait
  for a free one, ``connect_timeout=3`` seconds to connect. The migration check runs
  once per process on a connection of its own, before the pool starts.
* **export** pages by ``seq`` with each link's days as arrays; **restore** writes a
  thousand links per transaction with one ``INSERT ... SELECT FROM unnest(...)`` per
  table (binary parameters), then refreshes the planner's statistics.
* **Failures**: no driver exception leaves this module; each becomes
  ``StoreUnavailable`` (a 503 with ``Retry-After``). A read that meets a connection
  the server dropped (a restart) is retried once on a fresh connection, after the
  pool's idle connections were checked; a write is not (it may have been applied).
  When the server cannot be reached, the store answers ``StoreUnavailable`` at once
  for ``_PROBE_SECONDS``, so callers do not each wait out a timeout; then one caller
  tries to connect, and once that succeeds the store starts a fresh pool (no
  back-off left from the outage) and serves again: it recovers by itself.

``blocking`` is true: every call waits on the network, so the ASGI adapter runs the
app in worker threads instead of on its event loop. Needs PostgreSQL 11 or newer.
"""

from __future__ import annotations

import os
import threading
import time
from datetime import date, datetime, timezone
from typing import Any, Callable, Optional, TypeVar

from minilink.core.errors import StoreUnavailable
from minilink.core.links import Link
from minilink.storage.base import Store, check_entry

try:
    import psycopg
    from psycopg.conninfo import conninfo_to_dict
    from psycopg_pool import ConnectionPool, PoolTimeout
except ImportError as exc:  # the optional extra is not installed
    _MISSING: Optional[ImportError] = exc
else:
    _MISSING = None

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from minilink.storage.base import Entry

    _Connection = psycopg.Connection[tuple[Any, ...]]
    _Pool = ConnectionPool[_Connection]

__all__ = ["SCHEMA_VERSION", "PostgresStore"]

_T = TypeVar("_T")

#: Each entry moves the schema one version up; ``minilink_schema.version`` counts
#: those applied. Never edit an entry that has shipped: append a new one.
_MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """
        CREATE TABLE minilink_links (
            seq         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            code        text        COLLATE "C" NOT NULL UNIQUE,
            url         text        NOT NULL,
            created_at  timestamptz NOT NULL,
            expires_at  timestamptz,
            max_visits  bigint,
            hits        bigint      NOT NULL DEFAULT 0,
            alias       boolean     NOT NULL DEFAULT false,
            deleted_at  timestamptz
        )
        """,
        # Live plain links are unique by URL: the dedupe rule, enforced by the schema.
        """
        CREATE UNIQUE INDEX minilink_links_plain_url ON minilink_links
            (decode(md5(url), 'hex'))
        WHERE NOT alias AND expires_at IS NULL AND max_visits IS NULL AND deleted_at IS NULL
        """,
        """
        CREATE TABLE minilink_daily (
            code  text   COLLATE "C" NOT NULL,
            day   date   NOT NULL,
            hits  bigint NOT NULL,
            PRIMARY KEY (code, day)
        )
        """,
        """
        CREATE TABLE minilink_ratelimit (
            key    text    COLLATE "C" NOT NULL,
            win    bigint  NOT NULL,
            count  integer NOT NULL,
            PRIMARY KEY (key, win)
        )
        """,
    ),
)

#: The schema version this code writes and reads.
SCHEMA_VERSION = len(_MIGRATIONS)

# Advisory-lock namespace of the migrations ("mlnk"); the second key is the schema.
_LOCK_NAMESPACE = 0x6D6C6E6B
_MIGRATE_LOCK = "SELECT pg_advisory_xact_lock(%s, hashtext(coalesce(current_schema(), '')))"

# The column lists are spelled out in every statement (no string building), so each
# statement reads as the SQL it is; _link() reads the columns in this order.
_GET = (
    "SELECT code, url, created_at, expires_at, max_visits, hits, alias, deleted_at"
    " FROM minilink_links WHERE code = %s"
)
# The md5 expression is the partial unique index's, so the lookup uses that index.
_FIND_PLAIN = (
    "SELECT code, url, created_at, expires_at, max_visits, hits, alias, deleted_at"
    " FROM minilink_links"
    " WHERE decode(md5(url), 'hex') = decode(md5(%(url)s), 'hex') AND url = %(url)s"
    " AND NOT alias AND expires_at IS NULL AND max_visits IS NULL AND deleted_at IS NULL"
)
# Dedupe and insert-if-absent in one statement: the insert runs only when no live
# plain link of the URL exists; either way the statement returns the link to hand out.
_INSERT_PLAIN = (
    "WITH existing AS ("
    " SELECT code, url, created_at, expires_at, max_visits, hits, alias, deleted_at"
    " FROM minilink_links"
    " WHERE decode(md5(url), 'hex') = decode(md5(%(url)s), 'hex') AND url = %(url)s"
    " AND NOT alias AND expires_at IS NULL AND max_visits IS NULL AND deleted_at IS NULL"
    "), inserted AS ("
    " INSERT INTO minilink_links"
    " (code, url, created_at, expires_at, max_visits, hits, alias, deleted_at)"
    " SELECT %(code)s, %(url)s, %(created_at)s::timestamptz, NULL, NULL, %(hits)s::bigint,"
    " false, NULL WHERE NOT EXISTS (SELECT 1 FROM existing)"
    " ON CONFLICT DO NOTHING"
    " RETURNING code, url, created_at, expires_at, max_visits, hits, alias, deleted_at"
    ")"
    " SELECT code, url, created_at, expires_at, max_visits, hits, alias, deleted_at"
    " FROM existing UNION ALL"
    " SELECT code, url, created_at, expires_at, max_visits, hits, alias, deleted_at"
    " FROM inserted"
)
_INSERT = (
    "INSERT INTO minilink_links"
    " (code, url, created_at, expires_at, max_visits, hits, alias, deleted_at)"
    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING"
    " RETURNING code, url, created_at, expires_at, max_visits, hits, alias, deleted_at"
)
_HIT = (
    "WITH counted AS (UPDATE minilink_links SET hits = hits + %(n)s"
    " WHERE code = %(code)s AND deleted_at IS NULL RETURNING code)"
    " INSERT INTO minilink_daily AS d (code, day, hits)"
    " SELECT code, %(day)s, %(n)s FROM counted"
    " ON CONFLICT (code, day) DO UPDATE SET hits = d.hits + EXCLUDED.hits RETURNING 1"
)
_HIT_LIMITED = (
    "WITH counted AS (UPDATE minilink_links SET hits = hits + %(n)s"
    " WHERE code = %(code)s AND deleted_at IS NULL AND hits + %(n)s <= %(limit)s"
    " RETURNING code)"
    " INSERT INTO minilink_daily AS d (code, day, hits)"
    " SELECT code, %(day)s, %(n)s FROM counted"
    " ON CONFLICT (code, day) DO UPDATE SET hits = d.hits + EXCLUDED.hits RETURNING 1"
)
_DAILY = "SELECT day, hits FROM minilink_daily WHERE code = %s AND day >= %s ORDER BY day"
_DELETE = "UPDATE minilink_links SET deleted_at = %s WHERE code = %s AND deleted_at IS NULL"
_RECENT = (
    "SELECT code, url, created_at, expires_at, max_visits, hits, alias, deleted_at"
    " FROM minilink_links WHERE deleted_at IS NULL ORDER BY seq DESC LIMIT %s"
)
# An unknown cursor makes the subquery NULL and "seq < NULL" matches nothing: the
# empty page the contract asks for.
_RECENT_AFTER = (
    "SELECT code, url, created_at, expires_at, max_visits, hits, alias, deleted_at"
    " FROM minilink_links WHERE deleted_at IS NULL"
    " AND seq < (SELECT seq FROM minilink_links WHERE code = %s) ORDER BY seq DESC LIMIT %s"
)
_ALLOW = (
    "WITH pruned AS (DELETE FROM minilink_ratelimit WHERE key = %(key)s AND win < %(win)s)"
    " INSERT INTO minilink_ratelimit AS r (key, win, count) VALUES (%(key)s, %(win)s, 1)"
    " ON CONFLICT (key, win) DO UPDATE SET count = r.count + 1 WHERE r.count < %(limit)s"
    " RETURNING 1"
)
_EXPORT = (
    "SELECT seq, code, url, created_at, expires_at, max_visits, hits, alias, deleted_at,"
    " ARRAY(SELECT day FROM minilink_daily d WHERE d.code = l.code ORDER BY day),"
    " ARRAY(SELECT hits FROM minilink_daily d WHERE d.code = l.code ORDER BY day)"
    " FROM minilink_links l WHERE seq > %s ORDER BY seq LIMIT %s"
)
# A batch of restore() as one statement per table: arrays of columns, unnested in the
# order given, so that the new links keep their order for recent().
_RESTORE = (
    "INSERT INTO minilink_links"
    " (code, url, created_at, expires_at, max_visits, hits, alias, deleted_at)"
    " SELECT code, url, created_at, expires_at, max_visits, hits, alias, deleted_at"
    " FROM unnest(%b::text[], %b::text[], %b::timestamptz[], %b::timestamptz[],"
    " %b::bigint[], %b::bigint[], %b::boolean[], %b::timestamptz[])"
    " WITH ORDINALITY"
    " AS t(code, url, created_at, expires_at, max_visits, hits, alias, deleted_at, ord)"
    " ORDER BY ord ON CONFLICT DO NOTHING RETURNING code"
)
_TAKEN = "SELECT code FROM minilink_links WHERE code = ANY(%s)"
_RESTORE_DAYS = (
    "INSERT INTO minilink_daily (code, day, hits)"
    " SELECT code, day::date, hits FROM unnest(%b::text[], %b::text[], %b::bigint[])"
    " AS t(code, day, hits)"
    " ON CONFLICT (code, day) DO UPDATE SET hits = EXCLUDED.hits"
)

#: Links per page of export() and per transaction of restore().
_BATCH = 1000
#: After the server could not be reached, seconds of answering "unavailable" at once
#: before one caller tries to connect again.
_PROBE_SECONDS = 1.0
#: URL query options read by minilink (all others go to libpq), with their defaults.
_OPTIONS: dict[str, float] = {
    "pool_min": 1,
    "pool_max": 10,
    "pool_timeout": 5.0,
    "connect_timeout": 3,
}

_Row = tuple[Any, ...]


def _drivers_missing() -> ValueError:
    return ValueError(
        "the PostgreSQL store needs psycopg 3 and psycopg_pool; install them with "
        f"pip install 'minilink[postgres]' ({_MISSING})"
    )


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"store times must be timezone-aware, got {value!r}")
    return value


def _utc(value: Optional[datetime]) -> Optional[datetime]:
    # Sessions run in UTC; this only makes the tzinfo the one other stores return.
    return None if value is None else value.astimezone(timezone.utc)


def _row(link: Link, *, alias: Optional[bool] = None) -> tuple[Any, ...]:
    """The parameters of ``_INSERT`` for ``link`` (``alias`` overrides its flag)."""
    return (
        link.code,
        link.url,
        link.created_at,
        link.expires_at,
        link.max_visits,
        link.hits,
        link.alias if alias is None else alias,
        link.deleted_at,
    )


def _link(row: _Row) -> Link:
    created_at = _utc(row[2])
    assert created_at is not None  # NOT NULL in the schema
    return Link(
        code=row[0],
        url=row[1],
        created_at=created_at,
        expires_at=_utc(row[3]),
        max_visits=row[4],
        hits=row[5],
        alias=row[6],
        deleted_at=_utc(row[7]),
    )


class PostgresStore(Store):
    """A ``Store`` in a PostgreSQL database, shared by any number of app servers.

    ``conninfo`` is a libpq connection string or URL (without minilink's own
    options). Pool sizes and timeouts as in the module docstring. Connects on first
    use; raises ``ValueError`` now for a connection string libpq cannot read, or when
    the drivers are not installed.
    """

    blocking = True

    def __init__(
        self,
        conninfo: str,
        *,
        pool_min: int = 1,
        pool_max: int = 10,
        pool_timeout: float = 5.0,
        connect_timeout: int = 3,
    ) -> None:
        if _MISSING is not None:
            raise _drivers_missing()
        if not 0 <= pool_min <= pool_max or pool_max < 1:
            raise ValueError(
                f"the PostgreSQL pool needs 0 <= pool_min <= pool_max and pool_max >= 1, "
                f"not pool_min={pool_min}, pool_max={pool_max}"
            )
        if pool_timeout <= 0 or connect_timeout < 1:
            raise ValueError("pool_timeout must be above 0 s and connect_timeout at least 1 s")
        try:
            params = conninfo_to_dict(conninfo)
        except psycopg.Error as exc:
            raise ValueError(f"the PostgreSQL connection string cannot be read: {exc}") from None
        # Where the database is, for messages: never the password.
        host = params.get("host") or "localhost"
        self.where = f"{host}:{params.get('port') or 5432}/{params.get('dbname') or ''}"
        # UTC sessions; no JIT compilation: it pays off for long analytic queries, and
        # costs a short one hundreds of milliseconds when the row estimates are off.
        options = f"{params.get('options') or ''} -c TimeZone=UTC -c jit=off".strip()
        self._conninfo = conninfo
        self._connect_kwargs: dict[str, Any] = {
            "autocommit": True,
            "options": options,
            "connect_timeout": connect_timeout,
            "application_name": params.get("application_name") or "minilink",
        }
        self.pool_min = pool_min
        self.pool_max = pool_max
        self.pool_timeout = pool_timeout
        self.connect_timeout = connect_timeout
        self._lock = threading.Lock()
        self._pool: Optional[_Pool] = None
        self._pid = os.getpid()
        self._inherited: list[_Pool] = []  # pools of a parent process: never touched
        self._migrated = False
        self._closed = False
        # The "unreachable" state: its message and when to try connecting again.
        self._down: Optional[str] = None
        self._probe_at = 0.0
        self._probing = threading.Lock()

    @classmethod
    def from_url(cls, url: str) -> PostgresStore:
        """Open from ``postgresql://user:password@host:port/dbname?...`` (also
        ``postgres://`` and ``postgresql+psycopg://``).

        The query may hold ``pool_min``, ``pool_max``, ``pool_timeout`` and
        ``connect_timeout``; every other option is libpq's (``sslmode``,
        ``options`` ...). Raises ``ValueError`` for a URL it cannot read.
        """
        if _MISSING is not None:
            raise _drivers_missing()
        scheme, sep, rest = url.partition("://")
        if not sep or scheme.lower().split("+", 1)[0] not in ("postgresql", "postgres"):
            raise ValueError(f"a PostgreSQL URL is postgresql://user@host/dbname, not {url!r}")
        location, _, query = rest.partition("?")
        values: dict[str, float] = {}
        passed: list[str] = []
        for pair in filter(None, query.split("&")):
            name, _, value = pair.partition("=")
            if name not in _OPTIONS:
                passed.append(pair)
                continue
            try:
                values[name] = float(value) if name == "pool_timeout" else int(value)
            except ValueError:
                raise ValueError(f"{name} must be a number in the PostgreSQL URL") from None
        conninfo = "postgresql://" + location + ("?" + "&".join(passed) if passed else "")
        return cls(
            conninfo,
            pool_min=int(values.get("pool_min", _OPTIONS["pool_min"])),
            pool_max=int(values.get("pool_max", _OPTIONS["pool_max"])),
            pool_timeout=values.get("pool_timeout", _OPTIONS["pool_timeout"]),
            connect_timeout=int(values.get("connect_timeout", _OPTIONS["connect_timeout"])),
        )

    # -- the Store contract -------------------------------------------------------

    def insert(self, link: Link) -> Optional[Link]:
        for moment in (link.created_at, link.expires_at, link.deleted_at):
            if moment is not None:
                _aware(moment)
        if link.plain and link.deleted_at is None:
            params = {
                "code": link.code,
                "url": link.url,
                "created_at": link.created_at,
                "hits": link.hits,
            }

            def plain(conn: _Connection) -> Optional[Link]:
                row = conn.execute(_INSERT_PLAIN, params).fetchone()
                if row is None:
                    # The code is taken, or a racing insert of this URL won the
                    # unique index after our lookup: then its link is the answer.
                    row = conn.execute(_FIND_PLAIN, {"url": link.url}).fetchone()
                return None if row is None else _link(row)

            return self._run(plain)
        values = _row(link)

        def other(conn: _Connection) -> Optional[Link]:
            row = conn.execute(_INSERT, values).fetchone()
            return None if row is None else _link(row)

        return self._run(other)

    def get(self, code: str) -> Optional[Link]:
        def read(conn: _Connection) -> Optional[Link]:
            row = conn.execute(_GET, (code,)).fetchone()
            return None if row is None else _link(row)

        return self._run(read, retry=True)

    def hit(self, code: str, day: str, *, count: int = 1, limit: Optional[int] = None) -> bool:
        if count < 1:
            raise ValueError(f"hit count must be at least 1, not {count}")
        params = {"n": count, "code": code, "day": date.fromisoformat(day), "limit": limit}
        statement = _HIT if limit is None else _HIT_LIMITED
        return self._run(lambda conn: conn.execute(statement, params).fetchone() is not None)

    def daily(self, code: str, since: str) -> list[tuple[str, int]]:
        start = date.fromisoformat(since)

        def read(conn: _Connection) -> list[tuple[str, int]]:
            rows = conn.execute(_DAILY, (code, start)).fetchall()
            return [(day.isoformat(), hits) for day, hits in rows]

        return self._run(read, retry=True)

    def delete(self, code: str, at: datetime) -> bool:
        params = (_aware(at), code)
        return self._run(lambda conn: conn.execute(_DELETE, params).rowcount == 1)

    def recent(self, limit: int, after: Optional[str] = None) -> list[Link]:
        if limit < 1:
            return []

        def read(conn: _Connection) -> list[Link]:
            if after is None:
                rows = conn.execute(_RECENT, (limit,)).fetchall()
            else:
                rows = conn.execute(_RECENT_AFTER, (after, limit)).fetchall()
            return [_link(row) for row in rows]

        return self._run(read, retry=True)

    def allow(self, key: str, window: int, limit: int) -> bool:
        if limit < 1:
            return False
        params = {"key": key, "win": window, "limit": limit}
        return self._run(lambda conn: conn.execute(_ALLOW, params).fetchone() is not None)

    def ping(self) -> None:
        self._run(lambda conn: conn.execute("SELECT 1").fetchone(), retry=True)

    def export(self) -> Iterator[Entry]:
        last = 0
        while True:
            page = self._run(_export_page(last), retry=True)
            if not page:
                return
            for row in page:
                days = tuple((day.isoformat(), hits) for day, hits in zip(row[9], row[10]))
                yield _link(row[1:9]), days
            last = page[-1][0]

    def restore(self, entries: Iterable[Entry]) -> int:
        import itertools

        stored = 0
        iterator = iter(entries)
        while True:
            batch = [check_entry(entry) for entry in itertools.islice(iterator, _BATCH)]
            if not batch:
                break
            stored += self._run(_restore_batch(batch))
        if stored:
            # Fresh statistics, so that the planner knows the tables' new sizes at once.
            self._run(lambda conn: conn.execute("ANALYZE minilink_links, minilink_daily"))
        return stored

    def close(self) -> None:
        with self._lock:
            self._closed = True
            pool, self._pool = self._pool, None
            pid = self._pid
        if pool is not None and pid == os.getpid():
            pool.close()

    # -- connections ------------------------------------------------------------------

    def _run(self, body: Callable[[_Connection], _T], *, retry: bool = False) -> _T:
        """Run ``body`` on a pooled connection (autocommit); driver errors become
        ``StoreUnavailable``. A read (``retry``) that finds its connection dropped
        by the server runs once more on another."""
        pool = self._ready()
        retried = False
        while True:
            used: Optional[_Connection] = None
            try:
                with pool.connection() as conn:
                    used = conn
                    return body(conn)
            except PoolTimeout as exc:
                raise self._unreachable(exc) from exc
            except psycopg.OperationalError as exc:
                if used is None or not used.broken:
                    raise self._failed(exc) from exc
                # The server dropped this connection (a restart, an idle timeout ...):
                # drop the pool's other dead ones too; a read tries once more if the
                # server takes a new connection.
                pool.check()
                if not retry or retried:
                    raise self._unreachable(exc) from exc
                refused = self._connect_error()
                if refused is not None:
                    raise self._mark_down(refused) from exc
                retried = True
            except psycopg.Error as exc:
                raise self._failed(exc) from exc

    def _ready(self) -> _Pool:
        """This process's pool, opened and the schema migrated; raises
        ``StoreUnavailable`` at once while the server is known to be unreachable."""
        if self._down is not None:
            self._probe()
        pool = self._pool
        if pool is not None and self._migrated and self._pid == os.getpid():
            return pool
        with self._lock:
            if self._closed:
                raise StoreUnavailable(
                    f"the PostgreSQL store {self.where} is closed", retry_after=None
                )
            if self._pid != os.getpid():
                if self._pool is not None:
                    self._inherited.append(self._pool)
                self._pool = None
                self._migrated = False
                self._pid = os.getpid()
            if not self._migrated:
                # On a connection of its own, before the pool starts: a server that
                # cannot be reached fails this first call at once, not after the
                # pool's timeout.
                try:
                    conn = psycopg.connect(self._conninfo, **self._connect_kwargs)
                except psycopg.Error as exc:
                    raise self._mark_down(exc) from exc
                try:
                    with conn:
                        self._migrate(conn)
                except psycopg.Error as exc:
                    raise self._failed(exc) from exc
                self._migrated = True
            if self._pool is None:
                self._pool = self._new_pool()
            return self._pool

    def _new_pool(self) -> _Pool:
        pool: _Pool = ConnectionPool(
            self._conninfo,
            kwargs=self._connect_kwargs,
            min_size=self.pool_min,
            max_size=self.pool_max,
            timeout=self.pool_timeout,
            open=False,
            name="minilink",
            max_idle=300.0,
            # Give up re-connecting soon: the next request starts a new attempt at
            # once, rather than waiting out a long back-off once the server is back.
            reconnect_timeout=max(10.0, 3.0 * self.connect_timeout),
            num_workers=2,
        )
        pool.open(wait=False)
        return pool

    def _migrate(self, conn: _Connection) -> None:
        with conn.transaction():
            conn.execute(_MIGRATE_LOCK, (_LOCK_NAMESPACE,))
            conn.execute("CREATE TABLE IF NOT EXISTS minilink_schema (version integer NOT NULL)")
            row = conn.execute("SELECT version FROM minilink_schema").fetchone()
            if row is None:
                conn.execute("INSERT INTO minilink_schema (version) VALUES (0)")
                version = 0
            else:
                version = row[0]
            if version > SCHEMA_VERSION:
                raise StoreUnavailable(
                    f"the PostgreSQL database {self.where} has minilink schema version "
                    f"{version}, newer than the {SCHEMA_VERSION} this minilink knows; "
                    "upgrade minilink",
                    retry_after=None,
                )
            for migration in _MIGRATIONS[version:]:
                for statement in migration:
                    conn.execute(statement)
            conn.execute("UPDATE minilink_schema SET version = %s", (SCHEMA_VERSION,))

    def _failed(self, exc: psycopg.Error) -> StoreUnavailable:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return StoreUnavailable(f"the PostgreSQL database {self.where} failed: {reason}")

    def _connect_error(self) -> Optional[psycopg.Error]:
        """Why a new connection to the server fails, or ``None`` when it works."""
        try:
            psycopg.connect(self._conninfo, **self._connect_kwargs).close()
        except psycopg.Error as exc:
            return exc
        return None

    def _unreachable(self, exc: psycopg.Error) -> StoreUnavailable:
        """After a connection failure: if a direct connection fails too, the server
        is unreachable and the store fails fast until the next probe."""
        refused = self._connect_error()
        if refused is not None:
            return self._mark_down(refused)
        return StoreUnavailable(
            f"no connection to the PostgreSQL database {self.where} was free within "
            f"{self.pool_timeout:g} s"
            if isinstance(exc, PoolTimeout)
            else f"the PostgreSQL database {self.where} dropped the connection: "
            + str(exc).strip().replace("\n", " ")
        )

    def _mark_down(self, exc: psycopg.Error) -> StoreUnavailable:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        self._down = f"the PostgreSQL database {self.where} cannot be reached: {reason}"
        self._probe_at = time.monotonic() + _PROBE_SECONDS
        return StoreUnavailable(self._down)

    def _probe(self) -> None:
        """While unreachable: fail at once, except one caller per ``_PROBE_SECONDS``
        that tries to connect; when that works, start a fresh pool and go on."""
        down = self._down
        if down is None:
            return
        if time.monotonic() < self._probe_at or not self._probing.acquire(blocking=False):
            raise StoreUnavailable(down)
        try:
            if self._down is None:
                return  # another caller's probe just succeeded
            refused = self._connect_error()
            if refused is not None:
                raise self._mark_down(refused) from refused
            with self._lock:
                old, self._pool = self._pool, None
                if old is not None and self._pid == os.getpid() and not self._closed:
                    self._pool = self._new_pool()
                self._down = None
            if old is not None and self._pid == os.getpid():
                old.close(timeout=1.0)
        finally:
            self._probing.release()


def _export_page(last: int) -> Callable[[_Connection], list[_Row]]:
    def read(conn: _Connection) -> list[_Row]:
        return conn.execute(_EXPORT, (last, _BATCH)).fetchall()

    return read


def _restore_batch(batch: list[Entry]) -> Callable[[_Connection], int]:
    """The transaction that stores one batch of ``restore`` entries."""

    def write(conn: _Connection) -> int:
        links = [link for link, _ in batch]
        with conn.transaction():
            returned = {
                row[0]
                for row in conn.execute(
                    _RESTORE,
                    (
                        [link.code for link in links],
                        [link.url for link in links],
                        [link.created_at for link in links],
                        [link.expires_at for link in links],
                        [link.max_visits for link in links],
                        [link.hits for link in links],
                        [link.alias for link in links],
                        [link.deleted_at for link in links],
                    ),
                )
            }
            missed = [link.code for link in links if link.code not in returned]
            taken = set()
            if missed:
                taken = {row[0] for row in conn.execute(_TAKEN, (missed,))}
            stored: list[Entry] = []
            for link, days in batch:
                if link.code in returned:
                    returned.discard(link.code)  # a code given twice is stored once
                elif link.code in taken:
                    continue
                else:
                    # A live plain link of this URL exists under another code: keep
                    # this code working as an alias (see Store.restore).
                    values = _row(link, alias=True)
                    if conn.execute(_INSERT, values).fetchone() is None:
                        continue
                    taken.add(link.code)
                stored.append((link, days))
            day_rows = [(link.code, day, hits) for link, days in stored for day, hits in days]
            if day_rows:
                conn.execute(
                    _RESTORE_DAYS,
                    (
                        [row[0] for row in day_rows],
                        [row[1] for row in day_rows],
                        [row[2] for row in day_rows],
                    ),
                )
        return len(stored)

    return write
