"""``BufferedStore``: hot links answered from memory, hits written in batches.

Theory of operation
-------------------
A persistent server (WSGI, ASGI) wraps its store in a ``BufferedStore`` so that a
redirect costs no write and, for a hot link, no read either:

* **Hits are written behind.** ``hit`` without a visit limit (of a code this process
  sees as live) adds to an in-memory
  counter per ``(code, day)``; a background thread flushes the counters every
  ``flush_interval`` seconds, and ``close()`` flushes what is left, so an orderly
  shutdown loses nothing. A crash (``kill -9``) loses at most the hits of the last
  ``flush_interval`` seconds. Hits *with* a limit go straight to the store, because
  the store's conditional increment is what keeps a visit limit exact.
* **Reads include this process's pending hits**: ``get``, ``daily`` and ``recent``
  add them, so a process always sees its own visits at once. A flush moves hits from
  the buffer to the store while a read may be between the two, so reads are checked
  like a seqlock: ``_writes`` is odd while a flush is writing, and a read of the store
  is kept only when ``_writes`` was even and unchanged around it (else it is read
  again; after a few tries, under the flush lock), so no hit is counted twice or
  missed.
* **Live links are cached** for ``cache_ttl`` seconds. Changes made through this
  process (``delete``, a limited ``hit``) drop the entry at once; changes made by other
  processes are seen within ``cache_ttl``. Unknown codes are never cached, so a link
  created elsewhere resolves at once.
* **fork-safe**: a child process starts with no pending hits and no flusher thread
  (the parent flushes its own), so pre-forking servers never count a hit twice.

Flushing goes through the wrapped store's ``hit``; a flush that fails (store down)
keeps its counters and retries on the next tick.
"""

from __future__ import annotations

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


class BufferedStore(Store):
    """Wraps ``store``; see the module docstring for the rules."""

    def __init__(
        self, store: Store, *, flush_interval: float = 1.0, cache_ttl: float = 1.0
    ) -> None:
        self.store = store
        self.blocking = store.blocking
        self.flush_interval = flush_interval
        self.cache_ttl = cache_ttl
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
        self._cache: dict[str, tuple[float, Link]] = {}
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

    def get(self, code: str) -> Optional[Link]:
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(code)
            if cached is not None and now - cached[0] < self.cache_ttl:
                return self._with_pending(cached[1])
        return self._read(lambda: self.store.get(code), lambda link: self._keep(now, code, link))

    def _keep(self, now: float, code: str, link: Optional[Link]) -> Optional[Link]:
        """Cache a live ``link`` read at ``now`` (under ``_lock``); add pending hits."""
        if link is None or link.deleted_at is not None:
            self._cache.pop(code, None)
            return link
        if len(self._cache) >= 10_000:  # bounded: drop the oldest entries
            for stale in list(self._cache)[:1_000]:
                del self._cache[stale]
        self._cache[code] = (now, link)
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
        # The caller has just read the link, so this is normally a cache hit; the
        # check keeps the contract's answer for unknown and deleted codes.
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(code)
            if cached is not None and now - cached[0] < self.cache_ttl:
                self._buffer(code, day, count)
                return True
        link = self.get(code)
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
        stored = self.store.insert(link)
        if stored is None:
            return None
        with self._lock:  # a deduplicated link may have hits still in the buffer
            return self._with_pending(stored)

    def delete(self, code: str, at: datetime) -> bool:
        self.flush(code)
        with self._lock:
            self._cache.pop(code, None)
        return self.store.delete(code, at)

    def update(self, link: Link) -> Optional[Link]:
        with self._lock:
            self._cache.pop(link.code, None)
        stored = self.store.update(link)
        with self._lock:
            self._cache.pop(link.code, None)
            return None if stored is None else self._with_pending(stored)

    def allow(self, key: str, window: int, limit: int) -> bool:
        return self.store.allow(key, window, limit)

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
        while not self._stop.wait(self.flush_interval):
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
