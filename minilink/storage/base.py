"""The ``Store`` contract every storage backend implements.

Theory of operation
-------------------
A store keeps three things: links (live ones and tombstones), hit counters (a total
per link and one counter per link and UTC day), and small fixed-window counters used
for the creation rate limit. It keeps nothing about visitors.

The rules every backend must hold, and that ``minilink.testing`` checks:

* ``insert`` is an atomic insert-if-absent. Two callers racing on one code, in
  threads, processes or machines, get exactly one success. A code that was ever used
  stays used: a tombstone blocks it forever.
* Deduplication is part of the same atomic step: inserting a *plain* link (no alias,
  expiry or visit limit) whose URL already has a live plain link returns that link
  instead, so two racing creates of one URL agree on one code.
* ``hit`` never double-counts and, with ``limit``, never counts past it.
* Methods raise ``StoreUnavailable`` (never a driver exception) when the backend
  cannot answer now; callers turn that into a 503 with ``Retry-After``.
* Days are ``YYYY-MM-DD`` strings in UTC; times are aware UTC datetimes (naive ones
  are refused with ``ValueError``); ``hit`` counts are at least 1.
* Deduplication is decided before the code: a plain link whose URL is already stored
  returns the existing link even when the new code would also have been taken.

A store is a context manager; ``close()`` releases its connections and is idempotent.
"""

from __future__ import annotations

from datetime import datetime
from types import TracebackType
from typing import Optional

from minilink.core.links import Link

__all__ = ["Store"]


class Store:
    """Base class of storage backends. Subclasses override every method below."""

    #: The URL scheme(s) this backend is opened with by ``open_store``.
    scheme: str = ""

    @classmethod
    def from_url(cls, url: str) -> Store:
        """Build the store a URL names (``open_store`` calls this with the URL as the
        user wrote it). Raises ``ValueError`` for a URL this backend cannot read."""
        raise NotImplementedError

    def insert(self, link: Link) -> Optional[Link]:
        """Store ``link`` if its code is free, atomically.

        Returns the stored link; for a plain link whose URL already has a live plain
        link, returns that existing link and stores nothing. Returns ``None`` when the
        code is taken (by a live link or a tombstone).
        """
        raise NotImplementedError

    def get(self, code: str) -> Optional[Link]:
        """The link with this exact (case-sensitive) code, tombstones included."""
        raise NotImplementedError

    def hit(self, code: str, day: str, *, count: int = 1, limit: Optional[int] = None) -> bool:
        """Add ``count`` hits to the link's total and to its counter for ``day``.

        With ``limit``, records only if the new total stays ``<= limit``. Returns whether
        the hits were recorded (``False`` also for a missing or deleted code).
        """
        raise NotImplementedError

    def daily(self, code: str, since: str) -> list[tuple[str, int]]:
        """Per-day hits of ``code`` on days ``>= since``, oldest first, days with hits only."""
        raise NotImplementedError

    def delete(self, code: str, at: datetime) -> bool:
        """Turn a live link into a tombstone dated ``at``; ``False`` if none was live."""
        raise NotImplementedError

    def recent(self, limit: int, after: Optional[str] = None) -> list[Link]:
        """Live and expired links (not tombstones), newest first, at most ``limit``.

        ``after`` is the code of the last link of the previous page; the page continues
        with the links inserted before it. An unknown ``after`` gives an empty page.
        """
        raise NotImplementedError

    def allow(self, key: str, window: int, limit: int) -> bool:
        """Count one event for ``key`` in the fixed window ``window``, if fewer than
        ``limit`` were counted there already; return whether it was counted.

        Counters of windows older than ``window`` may be dropped.
        """
        raise NotImplementedError

    def ping(self) -> None:
        """Return if the store answers; raise ``StoreUnavailable`` otherwise."""
        raise NotImplementedError

    def close(self) -> None:
        """Release connections and files. Idempotent."""

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.close()
