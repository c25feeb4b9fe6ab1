"""``BufferedStore``: hot links answered from memory, hits written in batches.

Theory of operation
-------------------
A persistent server (WSGI, ASGI) wraps its store in a ``BufferedStore`` so that a
redirect costs no write and, for a hot link, no read either:

* **Hits are written behind.** ``hit`` without a visit limit (of a code this process
  sees as live) adds to an in-memory counter per ``(code, day)``; a background thread
  flushes the counters on the grid below (every 0.8 ``flush_interval``), and
  ``close()`` flushes what is left, so an orderly shutdown loses nothing (the
  adapters close the store at every server's orderly stop, see ``adapters._lazy``).
  A crash (``kill -9``) loses at most the hits of the last ``flush_interval``.
  Hits *with* a limit go straight to the store, because the store's conditional
  increment is what keeps a visit limit exact.
* **Reads include this process's pending hits**: ``get``, ``daily`` and ``recent``
  add them, so a process always sees its own visits at once. A flush moves hits from
  the buffer to the store while a read may be between the two, so reads are checked
  like a seqlock: ``_writes`` is odd while a flush is writing, and a read of the store
  is kept only when ``_writes`` was even and unchanged around it (else it is read
  again; after a few tries, under the flush lock), so no hit is counted twice or
  missed.
* **Live links are cached, and a change anywhere is seen at once.** Every read of
  the cache first asks the store for ``changes()``, the number that moves after every
  ``update``, ``delete`` and ``restore`` made by any process (each store answers it
  without a round trip where it can; see its module). An entry is used only under
  the number it was read under, so a link edited or deleted by another worker or
  server is read again on the very next request. Changes made through this process
  drop the entry at once too. Unknown codes are never cached, so a link created
  elsewhere resolves at once. A store whose ``changes()`` is not implemented (a
  third-party backend written before it existed) gets no cache: every read goes to
  the store.
* **Hit counts lag by at most one flush interval, everywhere.** Flushes run on a
  wall-clock grid shared by every process: at each multiple of ``_FLUSH_SHARE``
  times ``flush_interval`` (0.8 s for the default 1 s). A cached link's *hit count* is
  trusted only until the first grid point after its read plus the rest of the
  interval (0.2 s), the time allowed for a flush to write; then ``get`` reads the
  link again. So a hit counted by one worker is written by the next grid point and
  shows in every other worker's ``get`` (the link JSON, the stats, the preview) at
  most ``flush_interval`` after it was counted, as long as a flush takes less than a
  fifth of the interval to write. ``lookup`` (the redirect's read) needs no fresh
  hit count for a link without a visit limit and keeps using the entry until the
  store changes.
* **cache_ttl is a safety net**, 60 s by default: no entry is used longer, whatever
  ``changes()`` says. It bounds how long a change that bypasses the counter (a row
  edited by hand in the database, a server of an older minilink during a rolling
  upgrade, a notification lost while PostgreSQL reconnected) can go unseen, and
  costs one read per link and minute.
* **fork-safe**: a child process starts with no pending hits and no flusher thread
  (the parent flushes its own), so pre-forking servers never count a hit twice.

Flushing goes through the wrapped store's ``hit``; a flush that fails (store down)
keeps its counters and retries on the next tick.
"""

from __future__ import annotations

import math
import os
import threading
import time
from datetime import datetime
from typing import Callable, Optional, TypeVar

from minilink.core.errors import StoreUnavailable
from minilink.core.links import Link, Search
from minilink.storage.base import Store

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from minilink.storage.base import Entry

__all__ = ["BufferedStore"]

_T = TypeVar("_T")
_R = TypeVar("_R")

#: Reads of the store tried while flushes run, before one waits for them to stop.
_READ_TRIES = 3

#: Flushes run every ``_FLUSH_SHARE * flush_interval`` seconds, on a wall-clock grid;
#: the rest of the interval is what a flush may take to write (module docstring).
_FLUSH_SHARE = 0.8

#: Seconds a cached link is used at most, whatever ``changes()`` says (see above).
DEFAULT_CACHE_TTL = 60.0

#: Links cached at most; the oldest tenth is dropped when full.
_CACHE_SIZE = 10_000


class _Entry:
    """A cached live link: read under ``version`` at ``read_at`` (monotonic), used
    until ``expires`` (monotonic); its hit count is trusted until ``fresh_until``
    (wall clock)."""

    __slots__ = ("expires", "fresh_until", "link", "read_at", "version")

    def __init__(
        self, link: Link, version: int, read_at: float, expires: float, fresh_until: float
    ) -> None:
        self.link = link
        self.version = version
        self.read_at = read_at
        self.expires = expires
        self.fresh_until = fresh_until


class BufferedStore(Store):
    """Wraps ``store``; see the module docstring for the rules."""

    def __init__(
        self,
        store: Store,
        *,
        flush_interval: float = 1.0,
        cache_ttl: float = DEFAULT_CACHE_TTL,
    ) -> None:
        if flush_interval <= 0:
            raise ValueError(f"the flush interval must be positive, not {flush_interval}")
        self.store = store
        self.blocking = store.blocking
        self.flush_interval = flush_interval
        self.cache_ttl = cache_ttl
        self._period = flush_interval * _FLUSH_SHARE  # the grid of flushes
        self._margin = flush_interval - self._period  # a flush's time to write
        # Whether the store implements changes(); None until first asked.
        self._versioned: Optional[bool] = None
        # The newest changes() seen: entries read under another are not used by hit().
        self._version = 0
        self._lock = threading.Lock()
        # Held for a whole flush: a flush (of one code, before a limited hit or a
        # delete) waits for one in progress, so it never acts on a store that has not
        # yet received hits already taken out of the buffer.
        self._flush_lock = threading.Lock()
        # code -> day -> hits not yet written
        self._pending: dict[str, dict[str, int]] = {}
        self._inflight: dict[str, dict[str, int]] = {}  # being written by a flush
        # code -> pending plus in-flight hits: what a read adds to the stored total
        self._unwritten_total: dict[str, int] = {}
        self._cache: dict[str, _Entry] = {}
        # Odd while a flush is writing to the store (see the module docstring).
        self._writes = 0
        self._flusher: Optional[threading.Thread] = None
        self._stop = threading.Event()
        self._closed = False
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=self._after_fork)

    def _after_fork(self) -> None:
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._pending = {}
        self._inflight = {}
        self._unwritten_total = {}
        self._writes = 0
        self._flusher = None
        self._stop = threading.Event()

    # -- reads ------------------------------------------------------------------

    def _unwritten(self, code: str) -> dict[str, int]:
        """Hits of ``code`` per day not in the store yet (pending and in flight)."""
        days = dict(self._pending.get(code, {}))
        for day, n in self._inflight.get(code, {}).items():
            days[day] = days.get(day, 0) + n
        return days

    def _with_pending(self, link: Link) -> Link:
        unwritten = self._unwritten_total.get(link.code)
        if not unwritten:
            return link
        return link.replace(hits=link.hits + unwritten)

    def _read(self, read: Callable[[], _T], combine: Callable[[_T], _R]) -> _R:
        """``combine(read())``, with ``read`` (of the store) done while no flush
        moved hits between the buffer and the store; ``combine`` runs under
        ``_lock``, so it sees the buffer as it was when the read was known good."""
        for _ in range(_READ_TRIES):
            with self._lock:
                before = self._writes
            value = read()
            with self._lock:
                if before == self._writes and not before % 2:
                    return combine(value)
        with self._flush_lock:  # flushes keep coming: read while none can run
            value = read()
            with self._lock:
                return combine(value)

    def _changes(self) -> Optional[int]:
        """The store's ``changes()``, or ``None`` for a store without it (no cache)."""
        if self._versioned is False:
            return None
        try:
            version = self.store.changes()
        except NotImplementedError:
            self._versioned = False
            with self._lock:
                self._cache.clear()
            return None
        self._versioned = True
        return version

    def get(self, code: str) -> Optional[Link]:
        """The link, its hit count at most one flush interval behind the hits of
        every process (and including this process's own pending hits)."""
        return self._get(code, fresh_hits=True)

    def lookup(self, code: str) -> Optional[Link]:
        """The link as ``get`` gives it, except that the hit count of a link without a
        visit limit may be older (by at most ``cache_ttl``): what a redirect needs,
        answered from the cache until the store changes."""
        return self._get(code, fresh_hits=False)

    def _get(self, code: str, *, fresh_hits: bool) -> Optional[Link]:
        version = self._changes()  # before the read: an entry is never newer than this
        now = time.monotonic()
        wall = time.time()
        if version is not None:
            with self._lock:
                if version != self._version:
                    self._version = version
                    self._cache.clear()  # every entry was read under an older number
                entry = self._cache.get(code)
                if (
                    entry is not None
                    and entry.version == version
                    and now < entry.expires
                    and (
                        (not fresh_hits and entry.link.max_visits is None)
                        or (wall < entry.fresh_until and now - entry.read_at < self.flush_interval)
                    )
                ):
                    return self._with_pending(entry.link)
        return self._read(
            lambda: self.store.get(code),
            lambda link: self._keep(version, now, wall, code, link),
        )

    def _fresh_until(self, wall: float) -> float:
        """Until when (wall clock) a hit count read from the store at ``wall`` is
        trusted: the first flush of the grid that can have missed the read, plus the
        time that flush may take to write (see the module docstring)."""
        period = self._period
        return (math.floor((wall - self._margin) / period) + 1) * period + self._margin

    def _keep(
        self, version: Optional[int], now: float, wall: float, code: str, link: Optional[Link]
    ) -> Optional[Link]:
        """Cache a live ``link`` read under ``version`` at ``now`` (under ``_lock``);
        add pending hits."""
        if link is None or link.deleted_at is not None:
            self._cache.pop(code, None)
            return link
        if version is not None and version == self._version:
            if len(self._cache) >= _CACHE_SIZE:  # bounded: drop the oldest entries
                for stale in list(self._cache)[: _CACHE_SIZE // 10]:
                    del self._cache[stale]
            expires = now + self.cache_ttl
            self._cache[code] = _Entry(link, version, now, expires, self._fresh_until(wall))
        return self._with_pending(link)

    def daily(self, code: str, since: str) -> list[tuple[str, int]]:
        def combine(stored: list[tuple[str, int]]) -> list[tuple[str, int]]:
            counts = dict(stored)
            for day, n in self._unwritten(code).items():
                if day >= since:
                    counts[day] = counts.get(day, 0) + n
            return sorted(counts.items())

        return self._read(lambda: self.store.daily(code, since), combine)

    def recent(self, limit: int, after: Optional[str] = None) -> list[Link]:
        return self._read(
            lambda: self.store.recent(limit, after),
            lambda links: [self._with_pending(link) for link in links],
        )

    def search(self, search: Search) -> list[Link]:
        # The store filters by state (a visit limit reached) and sorts by hits, so it
        # must hold this process's hits first; a search is no redirect, it can wait.
        self.flush()
        return self._read(
            lambda: self.store.search(search),
            lambda links: [self._with_pending(link) for link in links],
        )

    def tags(self) -> list[tuple[str, int]]:
        return self.store.tags()

    def changes(self) -> int:
        return self.store.changes()

    # -- writes -----------------------------------------------------------------

    def hit(self, code: str, day: str, *, count: int = 1, limit: Optional[int] = None) -> bool:
        if count < 1:
            raise ValueError(f"hit count must be at least 1, not {count}")
        if limit is not None:
            # Exactness first: write through, counting what is pending for the code
            # (nothing, normally: limited links never buffer) as already spent.
            self.flush(code)
            with self._lock:
                self._cache.pop(code, None)
            return self.store.hit(code, day, count=count, limit=limit)
        # The caller has just read the link, so this is normally a cache hit (read
        # under the newest changes() seen: the caller's read asked it an instant
        # ago); the check keeps the contract's answer for unknown and deleted codes.
        now = time.monotonic()
        with self._lock:
            entry = self._cache.get(code)
            if entry is not None and entry.version == self._version and now < entry.expires:
                self._buffer(code, day, count)
                return True
        link = self.lookup(code)
        if link is None or link.deleted_at is not None:
            return False
        with self._lock:
            self._buffer(code, day, count)
        return True

    def _buffer(self, code: str, day: str, count: int) -> None:
        """Add ``count`` pending hits (under ``_lock``); start the flusher if need be."""
        _add(self._pending, code, day, count)
        _count(self._unwritten_total, code, count)
        if self._flusher is None and not self._closed:
            self._flusher = threading.Thread(
                target=self._run, name="minilink-hit-flusher", daemon=True
            )
            self._flusher.start()

    def insert(self, link: Link) -> Optional[Link]:
        # A deduplicated link may have hits still in the buffer; under the flush lock
        # none is in flight, so the total returned counts each of them once (as in
        # update). The state machine found it counting one twice.
        with self._flush_lock:
            stored = self.store.insert(link)
            if stored is None:
                return None
            with self._lock:
                return self._with_pending(stored)

    def delete(self, code: str, at: datetime, *, revision: Optional[int] = None) -> bool:
        self.flush(code)
        with self._lock:
            self._cache.pop(code, None)
        if revision is None:  # as a store of the contract before revisions was called
            return self.store.delete(code, at)
        return self.store.delete(code, at, revision=revision)

    def update(self, link: Link) -> Optional[Link]:
        with self._lock:
            self._cache.pop(link.code, None)
        # Under the flush lock, no hit is in flight: the stored total the update
        # returns and the pending hits added to it never count one hit twice.
        with self._flush_lock:
            stored = self.store.update(link)
            with self._lock:
                self._cache.pop(link.code, None)
                return None if stored is None else self._with_pending(stored)

    def allow(self, key: str, window: int, limit: int) -> bool:
        return self.store.allow(key, window, limit)

    def totals(self, since: str) -> tuple[int, list[tuple[str, int]]]:
        # Under the flush lock no hit is in flight, so none is counted twice; this
        # process's pending hits are added, other processes' may lag by their flush.
        with self._flush_lock:
            links, stored = self.store.totals(since)
            days = dict(stored)
            with self._lock:
                for counters in self._pending.values():
                    for day, n in counters.items():
                        if day >= since:
                            days[day] = days.get(day, 0) + n
        return links, sorted(days.items())

    def counted(self, key: str, window: int) -> int:
        return self.store.counted(key, window)

    def ping(self) -> None:
        self.store.ping()

    def export(self) -> Iterator[Entry]:
        self.flush()  # an export is complete up to the moment it starts
        return self.store.export()

    def restore(self, entries: Iterable[Entry]) -> int:
        stored = self.store.restore(entries)
        with self._lock:
            self._cache.clear()
        return stored

    # -- flushing ---------------------------------------------------------------

    def flush(self, code: Optional[str] = None) -> None:
        """Write pending hits (of ``code`` only, when given) to the store now.

        While they are being written they count as "in flight", which reads include
        too, so no read ever misses a hit between the buffer and the store.
        It returns once every hit taken out of the buffer before the call (by this
        flush or by one running in another thread) has reached the store.
        """
        with self._flush_lock:
            with self._lock:
                if code is None:
                    batch, self._pending = self._pending, {}
                else:
                    days = self._pending.pop(code, None)
                    batch = {code: days} if days else {}
                for c, days in batch.items():
                    for day, n in days.items():
                        _add(self._inflight, c, day, n)
                if batch:
                    self._writes += 1  # odd: the store is being written
            failed: list[tuple[str, str, int]] = []
            try:
                for c, days in batch.items():
                    for day, n in days.items():
                        try:
                            self.store.hit(c, day, count=n)
                        except StoreUnavailable:
                            failed.append((c, day, n))
            finally:
                with self._lock:
                    for c, days in batch.items():
                        for day, n in days.items():
                            _add(self._inflight, c, day, -n)
                            _count(self._unwritten_total, c, -n)
                        # The cached total no longer includes what was written: reread it.
                        self._cache.pop(c, None)
                    for c, day, n in failed:
                        _add(self._pending, c, day, n)
                        _count(self._unwritten_total, c, n)
                    if batch:
                        self._writes += 1  # even again: buffer and store agree
            if failed:
                raise StoreUnavailable("pending hits could not be written; they are kept")

    def _run(self) -> None:
        # On the grid (see the module docstring): every process flushes at the same
        # moments, which is what lets a reader know when its hit counts grow old.
        while not self._stop.wait(self._period - time.time() % self._period):
            try:
                self.flush()
            except StoreUnavailable:
                continue  # kept; the next tick retries

    def close(self) -> None:
        """Stop the flusher, write every pending hit, close the wrapped store."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            flusher = self._flusher
        self._stop.set()
        if flusher is not None and flusher is not threading.current_thread():
            flusher.join(timeout=10)
        try:
            self.flush()
        finally:
            self.store.close()


def _add(counts: dict[str, dict[str, int]], code: str, day: str, n: int) -> None:
    """Add ``n`` (may be negative) to ``counts[code][day]``, dropping zeros."""
    days = counts.setdefault(code, {})
    _count(days, day, n)
    if not days:
        del counts[code]


def _count(totals: dict[str, int], key: str, n: int) -> None:
    """Add ``n`` (may be negative) to ``totals[key]``, dropping zeros."""
    total = totals.get(key, 0) + n
    if total:
        totals[key] = total
    else:
        totals.pop(key, None)
