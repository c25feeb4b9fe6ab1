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
* **update** is a compare-and-set in one transaction: the ``UPDATE`` matches only
  the revision given and no tombstone (a racing edit holding the row makes
  PostgreSQL re-check that on the row it committed: exactly one of two wins), and
  decides ``alias`` for a plain result from the dedupe index in the same statement;
  an insert of that URL that slips in first makes the unique index refuse the
  edit, which is then stored as an alias. The tag rows and the change counter
  follow in the same transaction.
* **Tags** are kept twice: the ordered array on the link (read with it, no join)
  and one ``minilink_tags`` row per (tag, link), with ``live`` false for a
  tombstone. A tag page walks that table's (tag, seq) key backwards and stops after
  a page, whatever the tag's size; ``tags()`` counts a partial index of the live
  rows, so it costs the tagged links, not the table. (A GIN index on the arrays
  finds a tag's links too, but not in order: a common tag's first page would read
  and sort all of them; it serves text searches within a tag.)
* **search** is one statement put together from fixed fragments: the state at
  ``now``, the tag (through ``minilink_tags``), the text (``LIKE``, its wildcards
  escaped, on the stored column ``search_text``: code, URL and title ASCII-folded,
  through a pg_trgm GIN index where the extension could be had: otherwise a scan,
  and a warning when migrating says so), the order, and a keyset against the
  cursor link, which must itself match the search.
  Indexes: the primary key (newest first), (tag, seq), the last-edited order, the
  tombstones, and a GIN index of the tag arrays (a text search within a tag ANDs
  its bitmap with the text's). Hits have none: indexing them would cost every hit (no HOT update).
* **changes** is the number in the one-row ``minilink_changes``, bumped in the
  transaction of every update, delete and restore (so it can never be seen ahead
  of the links it counts), which also sends a ``NOTIFY`` on ``minilink_changes`` with the
  schema and the number. By default ``changes()`` reads that row: one round trip
  (about 40 µs on a local server), and exact, as a change committed by any process
  before the call is seen. With ``listen=1`` a thread per process keeps a
  ``LISTEN`` connection and the call is a memory read (about 2 µs); a change is
  then seen once its notification arrived (well under a millisecond on one host),
  the only window left; the row is read while the listener is not connected.
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
  for a free one, ``connect_timeout=3`` seconds to connect, ``listen=0`` (see
  **changes**). The migration check runs once per process on a connection of its
  own, before the pool starts; the listener is one more connection.
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
app in worker threads instead of on its event loop. Needs PostgreSQL 12 or newer
(schema 2 has a generated column; 11 is past its end of life since November 2023).
"""

# The statements are put together from this module's own constants only (column
# lists, the plain-link predicate, search's fixed fragments); every value travels
# as a query parameter. So the rule against SQL built from strings is off here.
# ruff: noqa: S608

from __future__ import annotations

import os
import threading
import time
from datetime import date, datetime, timezone
from typing import Any, Callable, Optional, TypeVar

from minilink.core.errors import StoreUnavailable
from minilink.core.links import Link, Search
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
    (
        # Version 2, the link management of SPEC section 9. Index builds get more
        # memory than the default 64 MB: the trigram index of a million links
        # built in 35 s instead of 57 s (one busy machine, both measured at once).
        "SET LOCAL maintenance_work_mem = '256MB'",
        "DROP INDEX minilink_links_plain_url",
        # Every new column has a constant default (or none), so a link written by
        # version 1 reads with its options empty.
        """
        ALTER TABLE minilink_links
            ADD COLUMN title            text,
            ADD COLUMN tags             text[]      NOT NULL DEFAULT '{}',
            ADD COLUMN redirect_status  smallint,
            ADD COLUMN forward_query    boolean     NOT NULL DEFAULT false,
            ADD COLUMN fallback_url     text,
            ADD COLUMN password_hash    text,
            ADD COLUMN updated_at       timestamptz,
            ADD COLUMN revision         bigint      NOT NULL DEFAULT 0
        """,
        # What substring search reads: code, URL and title joined by newlines, ASCII
        # letters folded (Search.matches; lower() and ILIKE would fold every letter
        # of the locale). Stored, because translate() costs microseconds a row: a
        # search must compare plain text. Computing it rewrites the table once.
        """
        ALTER TABLE minilink_links ADD COLUMN search_text text COLLATE "C"
            GENERATED ALWAYS AS (translate(
                code || E'\\n' || url || E'\\n' || coalesce(title, ''),
                'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz'
            )) STORED
        """,
        # "Plain" now also means no title, tag, option or password: the dedupe index
        # follows. Every version 1 link has those empty, so the indexed set is the
        # same and the new index cannot find duplicates. (Dropped first, so the
        # table's rewrite below has one index fewer to rebuild.)
        """
        CREATE UNIQUE INDEX minilink_links_plain_url ON minilink_links
            (decode(md5(url), 'hex'))
        WHERE NOT alias AND expires_at IS NULL AND max_visits IS NULL AND deleted_at IS NULL
            AND title IS NULL AND tags = '{}' AND redirect_status IS NULL
            AND NOT forward_query AND fallback_url IS NULL AND password_hash IS NULL
        """,
        # One row per (tag, link), beside the links' own ordered arrays: a tag page
        # walks (tag, seq) backwards and stops after a page, however common the
        # tag; tags() counts the rows of the live links from a partial index alone.
        # ``live`` is false for a tombstone's tags (a search of deleted links still
        # filters by tag).
        """
        CREATE TABLE minilink_tags (
            tag   text    COLLATE "C" NOT NULL,
            seq   bigint  NOT NULL,
            live  boolean NOT NULL,
            PRIMARY KEY (tag, seq)
        )
        """,
        "CREATE INDEX minilink_tags_seq ON minilink_tags (seq)",
        "CREATE INDEX minilink_tags_live ON minilink_tags (tag) WHERE live",
        # The change counter: one row, bumped in the transaction of every update,
        # delete and restore, so a reader never sees the new number with old links
        # (a sequence would be bumped before the commit, visible to all at once).
        """
        CREATE TABLE minilink_changes (
            one  boolean PRIMARY KEY DEFAULT true CHECK (one),
            n    bigint  NOT NULL
        )
        """,
        "INSERT INTO minilink_changes (n) VALUES (0)",
        # The other orders of search(): last edited first, and tombstones.
        """
        CREATE INDEX minilink_links_updated ON minilink_links
            ((coalesce(updated_at, created_at)), seq)
        """,
        "CREATE INDEX minilink_links_deleted ON minilink_links (seq) WHERE deleted_at IS NOT NULL",
        # A text search within a tag: the tag's bitmap ANDed with the text's.
        "CREATE INDEX minilink_links_tags ON minilink_links USING gin (tags)",
    ),
)

#: The schema version this code writes and reads.
SCHEMA_VERSION = len(_MIGRATIONS)

# Advisory-lock namespace of the migrations ("mlnk"); the second key is the schema.
_LOCK_NAMESPACE = 0x6D6C6E6B
_MIGRATE_LOCK = "SELECT pg_advisory_xact_lock(%s, hashtext(coalesce(current_schema(), '')))"

# Substring search: ``search_text`` holds the folded fields joined by newlines, so
# a needle without a newline matches it exactly when it matches one of the fields;
# a needle with one (no stored field has any) is checked field by field. LIKE with
# its wildcards escaped can use the trigram index; a needle of fewer than three
# characters has no trigram, and would make that index read all of itself, so it
# is looked up with strpos() instead (a scan, stopped after a page where it can).
_TEXT_INDEXED = "{a}search_text LIKE %(pattern)s"
_TEXT_SHORT = "strpos({a}search_text, %(needle)s) > 0"
_FOLD = "'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz'"
_TEXT_FIELDS = (
    "(strpos(translate({a}code, " + _FOLD + "), %(needle)s) > 0"
    " OR strpos(translate({a}url, " + _FOLD + "), %(needle)s) > 0"
    " OR strpos(translate(coalesce({a}title, ''), " + _FOLD + "), %(needle)s) > 0)"
)
# Made after migration 2 where pg_trgm can be had (it may need a privilege the
# role lacks): without it a substring search reads the whole table, still correct.
_TRIGRAM_EXTENSION = "CREATE EXTENSION IF NOT EXISTS pg_trgm"
_TRIGRAM_SCHEMA = (
    "SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'pg_trgm'"
)
_TRIGRAM_INDEX = (
    "CREATE INDEX IF NOT EXISTS minilink_links_text ON minilink_links"
    " USING gin (search_text {schema}.gin_trgm_ops)"
)

# Every statement reads and writes the columns in this order, which is _link()'s.
_COLUMNS = (
    "code, url, created_at, expires_at, max_visits, hits, alias, deleted_at,"
    " title, tags, redirect_status, forward_query, fallback_url, password_hash,"
    " updated_at, revision"
)
_L_COLUMNS = ", ".join("l." + name.strip() for name in _COLUMNS.split(","))
_PLAIN = (
    "NOT alias AND expires_at IS NULL AND max_visits IS NULL AND deleted_at IS NULL"
    " AND title IS NULL AND tags = '{}' AND redirect_status IS NULL"
    " AND NOT forward_query AND fallback_url IS NULL AND password_hash IS NULL"
)
_GET = f"SELECT {_COLUMNS} FROM minilink_links WHERE code = %s"
# The md5 expression and the predicate are the partial unique index's, so the
# lookup uses that index.
_FIND_PLAIN = (
    f"SELECT {_COLUMNS} FROM minilink_links"
    " WHERE decode(md5(url), 'hex') = decode(md5(%(url)s), 'hex') AND url = %(url)s"
    f" AND {_PLAIN}"
)
# Dedupe and insert-if-absent in one statement: the insert runs only when no live
# plain link of the URL exists; either way the statement returns the link to hand out.
_INSERT_PLAIN = (
    f"WITH existing AS ({_FIND_PLAIN}), inserted AS ("
    " INSERT INTO minilink_links"
    " (code, url, created_at, hits, updated_at, revision)"
    " SELECT %(code)s, %(url)s, %(created_at)s::timestamptz, %(hits)s::bigint,"
    " %(updated_at)s::timestamptz, %(revision)s::bigint"
    " WHERE NOT EXISTS (SELECT 1 FROM existing)"
    f" ON CONFLICT DO NOTHING RETURNING {_COLUMNS}"
    f") SELECT {_COLUMNS} FROM existing UNION ALL SELECT {_COLUMNS} FROM inserted"
)
# Any other link, with its tags' rows in the same statement.
_INSERT = (
    f"WITH inserted AS (INSERT INTO minilink_links ({_COLUMNS})"
    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
    f" ON CONFLICT DO NOTHING RETURNING seq, {_COLUMNS}),"
    " tagged AS (INSERT INTO minilink_tags (tag, seq, live)"
    " SELECT DISTINCT unnest(tags), seq, deleted_at IS NULL FROM inserted"
    " ON CONFLICT DO NOTHING)"
    f" SELECT {_COLUMNS} FROM inserted"
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
# A tombstone's tags leave tags() in the same statement.
_DELETE = (
    "WITH deleted AS (UPDATE minilink_links SET deleted_at = %s"
    " WHERE code = %s AND deleted_at IS NULL AND revision = coalesce(%s, revision)"
    " RETURNING seq),"
    " untagged AS (UPDATE minilink_tags SET live = false"
    " WHERE seq IN (SELECT seq FROM deleted))"
    " SELECT 1 FROM deleted"
)
# The change counter's bump, and the notification listeners of this schema wait
# for; PostgreSQL delivers it when (and only if) the transaction commits.
_CHANNEL = "minilink_changes"
_BUMP = (
    "WITH bumped AS (UPDATE minilink_changes SET n = n + 1 RETURNING n)"
    f" SELECT n, pg_notify('{_CHANNEL}', coalesce(current_schema(), '') || ' ' || n)"
    " FROM bumped"
)
_CHANGES = "SELECT n FROM minilink_changes"
# The compare-and-set: only over the revision given and never over a tombstone;
# with a row lock held by a racing edit, PostgreSQL re-checks the WHERE on the
# row that edit committed, so of two edits of one revision exactly one matches.
# A plain result whose URL already has another live plain link becomes an alias.
_UPDATE = (
    "UPDATE minilink_links AS l SET url = %(url)s, expires_at = %(expires_at)s,"
    " max_visits = %(max_visits)s,"
    " alias = %(alias)s OR (%(plain)s AND EXISTS (SELECT 1 FROM minilink_links"
    " WHERE decode(md5(url), 'hex') = decode(md5(%(url)s), 'hex') AND url = %(url)s"
    f" AND {_PLAIN} AND code <> %(code)s)),"
    " title = %(title)s, tags = %(tags)s, redirect_status = %(redirect_status)s,"
    " forward_query = %(forward_query)s, fallback_url = %(fallback_url)s,"
    " password_hash = %(password_hash)s, updated_at = %(updated_at)s,"
    " revision = l.revision + 1"
    " WHERE l.code = %(code)s AND l.deleted_at IS NULL AND l.revision = %(revision)s"
    f" RETURNING l.seq, {_L_COLUMNS}"
)
_RETAG = (
    "WITH dropped AS (DELETE FROM minilink_tags"
    " WHERE seq = %(seq)s AND NOT tag = ANY(%(tags)s::text[]))"
    " INSERT INTO minilink_tags (tag, seq, live)"
    " SELECT DISTINCT unnest(%(tags)s::text[]), %(seq)s::bigint, true"
    " ON CONFLICT DO NOTHING"
)
_RECENT = (
    f"SELECT {_COLUMNS} FROM minilink_links WHERE deleted_at IS NULL ORDER BY seq DESC LIMIT %s"
)
# An unknown cursor makes the subquery NULL and "seq < NULL" matches nothing: the
# empty page the contract asks for.
_RECENT_AFTER = (
    f"SELECT {_COLUMNS} FROM minilink_links WHERE deleted_at IS NULL"
    " AND seq < (SELECT seq FROM minilink_links WHERE code = %s) ORDER BY seq DESC LIMIT %s"
)
_TAGS = "SELECT tag, count(*) FROM minilink_tags WHERE live GROUP BY tag ORDER BY tag"
_TOTAL_LINKS = "SELECT count(*) FROM minilink_links WHERE deleted_at IS NULL"
_TOTAL_DAYS = (
    "SELECT day, sum(hits) FROM minilink_daily WHERE day >= %s::date GROUP BY day ORDER BY day"
)
_COUNTED = "SELECT count FROM minilink_ratelimit WHERE key = %s AND win = %s"
_ALLOW = (
    "WITH pruned AS (DELETE FROM minilink_ratelimit WHERE key = %(key)s AND win < %(win)s)"
    " INSERT INTO minilink_ratelimit AS r (key, win, count) VALUES (%(key)s, %(win)s, 1)"
    " ON CONFLICT (key, win) DO UPDATE SET count = r.count + 1 WHERE r.count < %(limit)s"
    " RETURNING 1"
)
_EXPORT = (
    f"SELECT seq, {_L_COLUMNS},"
    " ARRAY(SELECT day FROM minilink_daily d WHERE d.code = l.code ORDER BY day),"
    " ARRAY(SELECT hits FROM minilink_daily d WHERE d.code = l.code ORDER BY day)"
    " FROM minilink_links l WHERE seq > %s ORDER BY seq LIMIT %s"
)
# A batch of restore() as one statement per table: arrays of columns, unnested in the
# order given, so that the new links keep their order for recent(). Tags travel as
# one JSON array per link (PostgreSQL's arrays of arrays must be rectangular).
_RESTORE = (
    f"WITH restored AS (INSERT INTO minilink_links ({_COLUMNS})"
    " SELECT code, url, created_at, expires_at, max_visits, hits, alias, deleted_at,"
    " title, ARRAY(SELECT jsonb_array_elements_text(tags::jsonb)), redirect_status,"
    " forward_query, fallback_url, password_hash, updated_at, revision"
    " FROM unnest(%b::text[], %b::text[], %b::timestamptz[], %b::timestamptz[],"
    " %b::bigint[], %b::bigint[], %b::boolean[], %b::timestamptz[],"
    " %b::text[], %b::text[], %b::smallint[], %b::boolean[], %b::text[], %b::text[],"
    " %b::timestamptz[], %b::bigint[])"
    " WITH ORDINALITY AS t(code, url, created_at, expires_at, max_visits, hits, alias,"
    " deleted_at, title, tags, redirect_status, forward_query, fallback_url,"
    " password_hash, updated_at, revision, ord)"
    " ORDER BY ord ON CONFLICT DO NOTHING RETURNING seq, code, tags, deleted_at),"
    " tagged AS (INSERT INTO minilink_tags (tag, seq, live)"
    " SELECT DISTINCT unnest(tags), seq, deleted_at IS NULL FROM restored"
    " ON CONFLICT DO NOTHING)"
    " SELECT code FROM restored"
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
    "listen": 0,
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
        link.title,
        list(link.tags),
        link.redirect_status,
        link.forward_query,
        link.fallback_url,
        link.password_hash,
        link.updated_at,
        link.revision,
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
        title=row[8],
        tags=tuple(row[9]),
        redirect_status=row[10],
        forward_query=row[11],
        fallback_url=row[12],
        password_hash=row[13],
        updated_at=_utc(row[14]),
        revision=row[15],
    )


def _storable(*texts: Optional[str]) -> bool:
    """Whether PostgreSQL can hold these strings: no NUL, no lone surrogate. A
    search for one that cannot be stored finds nothing (and must not fail)."""
    for text in texts:
        if text is not None:
            if "\x00" in text:
                return False
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:
                return False
    return True


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
        listen: bool = False,
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
        self.listen = listen
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
        # changes(): the listener of this process, started at its second call.
        self._listener: Optional[_Listener] = None
        self._asked = 0

    @classmethod
    def from_url(cls, url: str) -> PostgresStore:
        """Open from ``postgresql://user:password@host:port/dbname?...`` (also
        ``postgres://`` and ``postgresql+psycopg://``).

        The query may hold ``pool_min``, ``pool_max``, ``pool_timeout``,
        ``connect_timeout`` and ``listen``; every other option is libpq's (``sslmode``,
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
            listen=bool(values.get("listen", _OPTIONS["listen"])),
        )

    # -- the Store contract -------------------------------------------------------

    def insert(self, link: Link) -> Optional[Link]:
        for moment in (link.created_at, link.expires_at, link.deleted_at, link.updated_at):
            if moment is not None:
                _aware(moment)
        if link.plain and link.deleted_at is None:
            params = {
                "code": link.code,
                "url": link.url,
                "created_at": link.created_at,
                "hits": link.hits,
                "updated_at": link.updated_at,
                "revision": link.revision,
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

    def delete(self, code: str, at: datetime, *, revision: Optional[int] = None) -> bool:
        params = (_aware(at), code, revision)

        def write(conn: _Connection) -> bool:
            with conn.transaction():
                if conn.execute(_DELETE, params).fetchone() is None:
                    return False
                bumped = conn.execute(_BUMP).fetchone()
            self._bumped(bumped)
            return True

        return self._run(write)

    def update(self, link: Link) -> Optional[Link]:
        for moment in (link.expires_at, link.updated_at):
            if moment is not None:
                _aware(moment)
        params: dict[str, Any] = {
            "code": link.code,
            "revision": link.revision,
            "url": link.url,
            "expires_at": link.expires_at,
            "max_visits": link.max_visits,
            "alias": link.alias,
            "plain": link.plain,
            "title": link.title,
            "tags": list(link.tags),
            "redirect_status": link.redirect_status,
            "forward_query": link.forward_query,
            "fallback_url": link.fallback_url,
            "password_hash": link.password_hash,
            "updated_at": link.updated_at,
        }

        def write(conn: _Connection) -> Optional[Link]:
            with conn.transaction():
                try:
                    with conn.transaction():  # a savepoint, for the race below
                        row = conn.execute(_UPDATE, params).fetchone()
                except psycopg.errors.UniqueViolation:
                    # A plain link of this URL was inserted (or made plain) after our
                    # statement's snapshot: the unique index decided; be the alias.
                    row = conn.execute(_UPDATE, {**params, "alias": True}).fetchone()
                if row is None:
                    return None
                conn.execute(_RETAG, {"seq": row[0], "tags": params["tags"]})
                # Last, so that the counter's row lock is held for the commit only.
                bumped = conn.execute(_BUMP).fetchone()
            self._bumped(bumped)
            return _link(row[1:])

        return self._run(write)

    def search(self, search: Search) -> list[Link]:
        if search.limit < 1 or not _storable(search.text, search.tag, search.after):
            return []
        query, params = _search_query(search)
        return self._run(
            lambda conn: [_link(row) for row in conn.execute(query, params).fetchall()],
            retry=True,
        )

    def tags(self) -> list[tuple[str, int]]:
        return self._run(
            lambda conn: [(tag, count) for tag, count in conn.execute(_TAGS).fetchall()],
            retry=True,
        )

    def changes(self) -> int:
        if not self.listen:
            return self._read_changes()
        listener = self._listener
        if listener is not None and listener.pid == os.getpid():
            value = listener.value()
            if value is not None:
                return value
        elif not self._closed:
            # A process that asks once (a CGI request) reads the counter; one that
            # keeps asking gets a listener, and its reads become a memory read.
            self._asked += 1
            if self._asked >= 2:
                self._listen()
        return self._read_changes()

    def _read_changes(self) -> int:
        def read(conn: _Connection) -> int:
            row = conn.execute(_CHANGES).fetchone()
            assert row is not None  # the one row is made by migration 2
            return int(row[0])

        return self._run(read, retry=True)

    def _bumped(self, row: Optional[_Row]) -> None:
        """After this process's own change committed: its listener knows at once,
        without waiting for the notification to come back."""
        listener = self._listener
        if row is not None and listener is not None and listener.pid == os.getpid():
            listener.saw(int(row[0]))

    def _listen(self) -> None:
        with self._lock:
            if self._closed or (self._listener is not None and self._listener.pid == os.getpid()):
                return
            conninfo, kwargs = self._conninfo, self._connect_kwargs
            self._listener = _Listener(lambda: psycopg.connect(conninfo, **kwargs))

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

    def totals(self, since: str) -> tuple[int, list[tuple[str, int]]]:
        def read(conn: _Connection) -> tuple[int, list[tuple[str, int]]]:
            row = conn.execute(_TOTAL_LINKS).fetchone()
            days = conn.execute(_TOTAL_DAYS, (since,)).fetchall()
            links = 0 if row is None else int(row[0])
            return links, [(day.isoformat(), int(hits)) for day, hits in days]

        return self._run(read, retry=True)

    def counted(self, key: str, window: int) -> int:
        def read(conn: _Connection) -> int:
            row = conn.execute(_COUNTED, (key, window)).fetchone()
            return 0 if row is None else int(row[0])

        return self._run(read, retry=True)

    def ping(self) -> None:
        self._run(lambda conn: conn.execute("SELECT 1").fetchone(), retry=True)

    def export(self) -> Iterator[Entry]:
        last = 0
        while True:
            page = self._run(_export_page(last), retry=True)
            if not page:
                return
            for row in page:
                days = tuple((day.isoformat(), hits) for day, hits in zip(row[17], row[18]))
                yield _link(row[1:17]), days
            last = page[-1][0]

    def restore(self, entries: Iterable[Entry]) -> int:
        import itertools

        stored = 0
        iterator = iter(entries)
        while True:
            batch = [check_entry(entry) for entry in itertools.islice(iterator, _BATCH)]
            if not batch:
                break
            count, changes = self._run(_restore_batch(batch))
            stored += count
            self._bumped((changes,))
        if stored:
            # Fresh statistics, so that the planner knows the tables' new sizes at once.
            self._run(lambda conn: conn.execute("ANALYZE minilink_links, minilink_daily"))
        return stored

    def close(self) -> None:
        with self._lock:
            self._closed = True
            pool, self._pool = self._pool, None
            pid = self._pid
            listener, self._listener = self._listener, None
        if listener is not None and listener.pid == os.getpid():
            listener.stop()
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
            if version < 2 and conn.info.server_version < 120000:
                raise StoreUnavailable(
                    f"the PostgreSQL server of {self.where} is version "
                    f"{conn.info.server_version // 10000}; minilink needs 12 or newer",
                    retry_after=None,
                )
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
            if version < 2 <= SCHEMA_VERSION:
                self._trigram_index(conn)
            conn.execute("UPDATE minilink_schema SET version = %s", (SCHEMA_VERSION,))

    def _trigram_index(self, conn: _Connection) -> None:
        """The trigram index of substring search, if pg_trgm is there or may be
        created; in a savepoint, so that a refusal leaves the migration whole."""
        try:
            with conn.transaction():
                conn.execute(_TRIGRAM_EXTENSION)
                row = conn.execute(_TRIGRAM_SCHEMA).fetchone()
                assert row is not None  # just created, or there already
                schema = psycopg.sql.Identifier(row[0]).as_string(conn)
                conn.execute(_TRIGRAM_INDEX.format(schema=schema))
        except psycopg.Error as exc:
            import warnings

            reason = " ".join(str(exc).split()) or type(exc).__name__
            index = _TRIGRAM_INDEX.format(schema="public")
            warnings.warn(
                f"the PostgreSQL database {self.where} could not have pg_trgm ({reason}): "
                "a substring search reads every link. To index it, a superuser runs "
                f"{_TRIGRAM_EXTENSION} and then {index} (in minilink's schema)",
                RuntimeWarning,
                stacklevel=2,
            )

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


def _restore_batch(batch: list[Entry]) -> Callable[[_Connection], tuple[int, int]]:
    """The transaction that stores one batch of ``restore`` entries: how many were
    stored, and the change counter it set."""
    import json

    def write(conn: _Connection) -> tuple[int, int]:
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
                        [link.title for link in links],
                        [json.dumps(list(link.tags)) for link in links],
                        [link.redirect_status for link in links],
                        [link.forward_query for link in links],
                        [link.fallback_url for link in links],
                        [link.password_hash for link in links],
                        [link.updated_at for link in links],
                        [link.revision for link in links],
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
            # Restored links are changes too (a batch of taken codes included: the
            # caller cannot tell, so every cache looks again); counted in the batch's
            # transaction, so the number never runs ahead of the links.
            bumped = conn.execute(_BUMP).fetchone()
            assert bumped is not None
        return len(stored), int(bumped[0])

    return write


# -- search -------------------------------------------------------------------------

#: Each state of ``Search`` at ``%(now)s``, as ``Link.is_expired`` decides it.
_STATE = {
    "live": "{a}deleted_at IS NULL AND ({a}expires_at IS NULL OR {a}expires_at > %(now)s)"
    " AND ({a}max_visits IS NULL OR {a}hits < {a}max_visits)",
    "expired": "{a}deleted_at IS NULL AND ({a}expires_at <= %(now)s OR {a}hits >= {a}max_visits)",
    "deleted": "{a}deleted_at IS NOT NULL",
    "all": "true",
}
#: Each sort: its ORDER BY, and its keyset condition against the cursor row ``mark``
#: (``{s}`` is where ``seq`` is read: the tag rows on a tag page, so that the page
#: walks their (tag, seq) index backwards).
_SORT = {
    "created": ("{s}.seq DESC", "{s}.seq < (SELECT seq FROM mark)"),
    "hits": ("l.hits DESC, l.seq DESC", "(l.hits, l.seq) < (SELECT hits, seq FROM mark)"),
    "updated": (
        "coalesce(l.updated_at, l.created_at) DESC, l.seq DESC",
        "(coalesce(l.updated_at, l.created_at), l.seq) < (SELECT moment, seq FROM mark)",
    ),
}


def _like_pattern(folded: str) -> str:
    """``%folded%`` for LIKE, its wildcards and escapes quoted."""
    return "%" + folded.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


_ASCII_LOWER = {c: c + 32 for c in range(ord("A"), ord("Z") + 1)}


def _search_query(search: Search) -> tuple[str, dict[str, Any]]:
    """The one statement of ``search``, put together from the fixed fragments above
    (only values travel as parameters), and its parameters.

    The cursor row ``mark`` must itself match the search, as the contract pages
    through the matching links only: a cursor that does not match gives an empty page.
    """
    if search.state not in _STATE or search.sort not in _SORT:
        raise ValueError(f"unknown search state or sort: {search.state!r}, {search.sort!r}")
    params: dict[str, Any] = {"now": _aware(search.now), "limit": search.limit}
    where = [_STATE[search.state].format(a="l.")]
    mark = ["c.code = %(after)s", _STATE[search.state].format(a="c.")]
    if search.text:  # "" is in every string
        needle = search.text.translate(_ASCII_LOWER)
        params["needle"] = needle
        text = _TEXT_SHORT
        if len(needle) >= 3:
            params["pattern"] = _like_pattern(needle)
            text = _TEXT_INDEXED
        if "\n" in needle:
            text += " AND " + _TEXT_FIELDS
        where.append(text.format(a="l."))
        mark.append(text.format(a="c."))
    source = "minilink_links l"
    seq = "l"
    if search.tag is not None:
        params["tag"] = search.tag
        mark.append("%(tag)s = ANY(c.tags)")
        if search.text:
            # Both through bitmaps (the GIN indexes of tags and text), ANDed.
            where.append("l.tags @> ARRAY[%(tag)s]::text[]")
        else:
            # In order from the (tag, seq) key: a page stops after a page.
            source = "minilink_tags t JOIN minilink_links l ON l.seq = t.seq"
            seq = "t"
            where.append("t.tag = %(tag)s")
    order, keyset = _SORT[search.sort]
    query = ""
    if search.after is not None:
        params["after"] = search.after
        query = (
            "WITH mark AS (SELECT seq, hits, coalesce(updated_at, created_at) AS moment"
            " FROM minilink_links c WHERE " + " AND ".join(mark) + ") "
        )
        where.append(keyset.format(s=seq))
    query += (
        f"SELECT {_L_COLUMNS} FROM {source} WHERE "
        + " AND ".join(where)
        + " ORDER BY "
        + order.format(s=seq)
        + " LIMIT %(limit)s"
    )
    return query, params


# -- changes --------------------------------------------------------------------------

#: Seconds between the listener's checks that its connection still works (a read
#: of the counter on it), and before it connects again after losing it.
_HEARTBEAT_SECONDS = 5.0
_RELISTEN_SECONDS = 1.0


class _Listener:
    """One process's ``LISTEN`` on the change channel, kept by a daemon thread.

    ``value()`` is the change counter as the notifications told it: a memory read,
    after draining, under the lock, whatever notifications already reached the
    socket (so a change committed before the call and delivered is never missed). It
    is ``None`` whenever the listener cannot vouch for the number (not connected yet,
    connection lost, the thread busy with its heartbeat): the store then reads the
    counter row. The thread connects, ``LISTEN``s, then reads the counter (so no
    change falls between), reads it again on its connection every
    ``_HEARTBEAT_SECONDS`` (a connection that died silently is found out), and
    reconnects after ``_RELISTEN_SECONDS`` when it loses the connection.
    """

    def __init__(self, connect: Callable[[], _Connection]) -> None:
        import select

        self._select = select.select
        self.pid = os.getpid()
        self._connect = connect
        self._lock = threading.Lock()
        self._conn: Optional[_Connection] = None
        self._schema = ""
        self._value = 0
        self._stopped = threading.Event()
        import socket

        # What stop() writes to wake the thread (a socket pair: select() takes
        # sockets on every platform, pipes not on Windows).
        self._wake_r, self._wake_w = socket.socketpair()
        self._pipe_open = True
        self._thread = threading.Thread(target=self._keep, name="minilink-listen", daemon=True)
        self._thread.start()

    def value(self) -> Optional[int]:
        if not self._lock.acquire(blocking=False):
            return None
        try:
            conn = self._conn
            if conn is None:
                return None
            if self._select([conn.pgconn.socket], [], [], 0)[0] and not self._drain(conn):
                return None
            return self._value
        finally:
            self._lock.release()

    def saw(self, value: int) -> None:
        # Never waits long on a heartbeat stuck on the network: value() answers
        # None meanwhile, so the store reads the row.
        if self._lock.acquire(timeout=0.1):
            try:
                self._value = max(self._value, value)
            finally:
                self._lock.release()

    def stop(self) -> None:
        self._stopped.set()
        with self._lock:
            if self._pipe_open:
                self._wake_w.send(b"x")
        self._thread.join(timeout=2.0)

    def _keep(self) -> None:
        try:
            while not self._stopped.is_set():
                try:
                    conn = self._connect()
                except psycopg.Error:
                    self._stopped.wait(_RELISTEN_SECONDS)
                    continue
                try:
                    with conn:
                        self._serve(conn)
                except psycopg.Error:
                    pass
                finally:
                    with self._lock:
                        self._conn = None
                if not self._stopped.is_set():
                    self._stopped.wait(_RELISTEN_SECONDS)
        finally:
            with self._lock:
                self._pipe_open = False
                self._wake_r.close()
                self._wake_w.close()

    def _serve(self, conn: _Connection) -> None:
        conn.add_notify_handler(lambda n: self._notified(n.channel, n.payload))
        conn.execute(f"LISTEN {_CHANNEL}")
        row = conn.execute("SELECT coalesce(current_schema(), ''), n FROM minilink_changes")
        found = row.fetchone()
        assert found is not None
        with self._lock:
            self._schema = found[0]
            self._value = max(self._value, int(found[1]))
            self._conn = conn
        while not self._stopped.is_set():
            watched = [conn.pgconn.socket, self._wake_r.fileno()]
            ready = self._select(watched, [], [], _HEARTBEAT_SECONDS)[0]
            if self._stopped.is_set():
                return
            with self._lock:
                if ready:
                    if not self._drain(conn):
                        return
                else:
                    heartbeat = conn.execute(_CHANGES).fetchone()
                    assert heartbeat is not None
                    self._value = max(self._value, int(heartbeat[0]))

    def _drain(self, conn: _Connection) -> bool:
        """Read what reached the socket (lock held); ``False`` if the connection is lost."""
        pgconn = conn.pgconn
        try:
            pgconn.consume_input()
        except psycopg.Error:
            self._conn = None
            return False
        while True:
            notify = pgconn.notifies()
            if notify is None:
                break
            self._notified(notify.relname.decode(), notify.extra.decode())
        if pgconn.status != psycopg.pq.ConnStatus.OK:
            self._conn = None
            return False
        return True

    def _notified(self, channel: str, payload: str) -> None:
        schema, _, number = payload.rpartition(" ")
        if channel == _CHANNEL and schema == self._schema and number.isdigit():
            self._value = max(self._value, int(number))
