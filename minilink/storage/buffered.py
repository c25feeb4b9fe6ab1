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
  add them, so a process always sees its own visits at once.
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
from typing import Optional

from minilink.core.errors import StoreUnavailable
from minilink.core.links import Link
from minilink.storage.base import Store

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from minilink.storage.base import Entry

__all__ = ["BufferedStore"]


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

    def get(self, code: str) -> Optional[Link]:
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(code)
            if cached is not None and now - cached[0] < self.cache_ttl:
                return self._with_pending(cached[1])
        link = self.store.get(code)
        with self._lock:
            if link is None or link.deleted_at is not None:
                self._cache.pop(code, None)
                return link
            if len(self._cache) >= 10_000:  # bounded: drop the oldest entries
                for stale in list(self._cache)[:1_000]:
                    del self._cache[stale]
            self._cache[code] = (now, link)
            return self._with_pending(link)

    def daily(self, code: str, since: str) -> list[tuple[str, int]]:
        counts = dict(self.store.daily(code, since))
        with self._lock:
            for day, n in self._unwritten(code).items():
                if day >= since:
                    counts[day] = counts.get(day, 0) + n
        return sorted(counts.items())

    def recent(self, limit: int, after: Optional[str] = None) -> list[Link]:
        links = self.store.recent(limit, after)
        with self._lock:
            return [self._with_pending(link) for link in links]

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
