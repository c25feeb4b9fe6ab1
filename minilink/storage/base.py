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
* Codes are matched exactly: ``Abc`` and ``abc`` are two links, and a call for one
  never finds the other.
* Days are ``YYYY-MM-DD`` strings in UTC; times are aware UTC datetimes, and
  ``insert``, ``delete`` and ``restore`` refuse naive ones with ``ValueError``;
  ``hit`` refuses a count below 1 with ``ValueError`` (so every stored day has at
  least one hit, and an export can always be restored).
* Deduplication is decided before the code: a plain link whose URL is already stored
  returns the existing link even when the new code would also have been taken.
* ``export`` and ``restore`` move a whole store losslessly (``minilink.transfer``
  writes and reads them as JSON lines): ``export`` yields every link, tombstones
  included, in insertion order, each with its per-day counters; ``restore`` stores
  such entries exactly as given (codes, times, hits, counters, tombstones), in
  batches of at most 1,000 entries, each written before the next is read, so that
  neither side holds more than a batch in memory.
* ``allow`` keeps one counter per key and window; it may drop only *this key's*
  windows older than the one asked for, never another key's (keys may count windows
  of different lengths, so their window numbers cannot be compared).
* ``update`` is a compare-and-set: it writes only over the revision it was given,
  so of two editors who read the same revision exactly one wins; the other gets
  ``None`` and reads again. It never edits a tombstone, and keeps the dedupe rule: an
  edit that would leave two live plain links of one URL stores its link with
  ``alias=True`` (its code keeps working; ``restore`` does the same).
* ``search`` gives what ``Search.matches`` accepts, in its order, page by page;
  ``tags`` counts the links (tombstones left out) of each tag.
* ``changes`` is a number that differs after every ``update``, ``delete`` and
  ``restore`` made by any process (hits do not change it): caches compare it to
  know that what they hold is still what the store holds.
* ``blocking`` tells an asynchronous caller whether a call may wait on the network
  (PostgreSQL): the ASGI adapter then calls the app from a worker thread, so that its
  event loop never waits on the database. In-process stores answer in microseconds
  and are called inline.

A store is a context manager; ``close()`` releases its connections and is idempotent.
"""

from __future__ import annotations

from datetime import date, datetime

from minilink.core.links import Link, Search

__all__ = ["Store", "check_entry"]

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only: nothing more to import on the CGI path
    from collections.abc import Iterable, Iterator
    from types import TracebackType
    from typing import Optional

    from typing_extensions import TypeAlias

    #: One link as ``export`` yields it and ``restore`` takes it: the link (``hits``
    #: is its total, ``deleted_at`` marks a tombstone) and its per-day counters,
    #: ``(YYYY-MM-DD, hits)`` pairs, oldest first, days with hits only.
    Entry: TypeAlias = tuple[Link, tuple[tuple[str, int], ...]]


def check_entry(entry: Entry) -> Entry:
    """``entry`` with its days in order, after checking what ``restore`` requires.

    Raises ``ValueError`` for a naive time, a day that is not ``YYYY-MM-DD`` or is
    given twice, a day's count below 1, or counters adding up to more than
    ``link.hits`` (the total may be larger: hits counted before days were kept).
    """
    link, days = entry
    for moment in (link.created_at, link.expires_at, link.deleted_at):
        if moment is not None and (moment.tzinfo is None or moment.utcoffset() is None):
            raise ValueError(f"link {link.code!r}: times must be timezone-aware, got {moment!r}")
    if link.hits < 0:
        raise ValueError(f"link {link.code!r}: hits must not be negative")
    ordered = tuple(sorted(days))
    total = 0
    previous = ""
    for day, hits in ordered:
        if day == previous:
            raise ValueError(f"link {link.code!r}: the day {day} is given twice")
        if not isinstance(day, str) or len(day) != 10 or not _is_date(day):
            raise ValueError(f"link {link.code!r}: {day!r} is not a YYYY-MM-DD day")
        if hits < 1:
            raise ValueError(f"link {link.code!r}: the hits of {day} must be at least 1")
        total += hits
        previous = day
    if total > link.hits:
        raise ValueError(
            f"link {link.code!r}: its days add up to {total} hits, more than its total "
            f"of {link.hits}"
        )
    return link, ordered


def _is_date(day: str) -> bool:
    # The shape first (fromisoformat takes other forms from Python 3.11 on), then
    # whether the date exists. Restores check the same few days again and again.
    if day in _DAYS_SEEN:
        return True
    digits = day[:4] + day[5:7] + day[8:]
    if not (day[4:5] == "-" == day[7:8] and digits.isascii() and digits.isdigit()):
        return False
    try:
        date.fromisoformat(day)
    except ValueError:
        return False
    if len(_DAYS_SEEN) >= 100_000:
        _DAYS_SEEN.clear()
    _DAYS_SEEN.add(day)
    return True


_DAYS_SEEN: set[str] = set()


class Store:
    """Base class of storage backends. Subclasses override every method below."""

    #: Whether calls may wait on the network (so async callers run them in a thread).
    blocking: bool = False

    @classmethod
    def from_url(cls, url: str) -> Store:
        """Build the store a URL names (``open_store`` calls this with the URL as the
        user wrote it). Raises ``ValueError`` for a URL this backend cannot read."""
        raise NotImplementedError

    def insert(self, link: Link) -> Optional[Link]:
        """Store ``link`` if its code is free, atomically.

        Returns the stored link; for a plain link whose URL already has a live plain
        link, returns that existing link and stores nothing. Returns ``None`` when the
        code is taken (by a live link or a tombstone), and changes nothing then. Raises
        ``ValueError`` for a naive time.
        """
        raise NotImplementedError

    def get(self, code: str) -> Optional[Link]:
        """The link with this exact (case-sensitive) code, tombstones included; never
        a link whose code differs only by case."""
        raise NotImplementedError

    def lookup(self, code: str) -> Optional[Link]:
        """The link as ``get`` gives it, for a redirect: a store with a cache (the
        ``BufferedStore``) may give an older hit count for a link without a visit
        limit, everything else as ``get``. This default is ``get``."""
        return self.get(code)

    def hit(self, code: str, day: str, *, count: int = 1, limit: Optional[int] = None) -> bool:
        """Add ``count`` hits to the link's total and to its counter for ``day``.

        With ``limit``, records only if the new total stays ``<= limit`` (all ``count``
        hits or none). Returns whether the hits were recorded (``False`` also for a
        missing or deleted code). Raises ``ValueError`` for a ``count`` below 1.
        """
        raise NotImplementedError

    def daily(self, code: str, since: str) -> list[tuple[str, int]]:
        """Per-day hits of ``code`` on days ``>= since``, oldest first, days with hits only."""
        raise NotImplementedError

    def delete(self, code: str, at: datetime, *, revision: Optional[int] = None) -> bool:
        """Turn a live link into a tombstone dated ``at``; ``False`` if none was live
        (a tombstone keeps its first ``deleted_at``), or if ``revision`` is given and
        the link is at another one (compare-and-set, as ``update``). Raises
        ``ValueError`` for a naive ``at``."""
        raise NotImplementedError

    def recent(self, limit: int, after: Optional[str] = None) -> list[Link]:
        """Live and expired links (not tombstones), newest first, at most ``limit``.

        ``after`` is the code of the last link of the previous page; the page continues
        with the links inserted before it. An unknown ``after`` gives an empty page.
        """
        raise NotImplementedError

    def update(self, link: Link) -> Optional[Link]:
        """Store ``link``'s fields over the link of its code, if that link is not a
        tombstone and its ``revision`` is still ``link.revision``; atomically.

        Every field is written except ``code``, ``created_at``, ``hits`` and
        ``deleted_at``, which the store keeps as they are; ``revision`` becomes one
        more. Returns the link as now stored, or ``None`` (nothing changed) when the
        code is missing, a tombstone, or at another revision. If the new link is plain
        and its URL already has another live plain link, it is stored with
        ``alias=True``. Raises ``ValueError`` for a naive time.
        """
        raise NotImplementedError

    def search(self, search: Search) -> list[Link]:
        """At most ``search.limit`` links that ``search.matches``, in its order (see
        ``Search``), continuing after ``search.after``."""
        raise NotImplementedError

    def tags(self) -> list[tuple[str, int]]:
        """Every tag carried by a link that is not a tombstone, with how many such
        links carry it, ordered by tag."""
        raise NotImplementedError

    def changes(self) -> int:
        """A number that differs after every ``update``, ``delete`` or ``restore``,
        made by this process or any other (see the module docstring)."""
        raise NotImplementedError

    def allow(self, key: str, window: int, limit: int) -> bool:
        """Count one event for ``key`` in the fixed window ``window``, if fewer than
        ``limit`` were counted there already; return whether it was counted.

        Counters of *this key's* windows older than ``window`` may be dropped; the
        windows of other keys are never touched, however their numbers compare.
        """
        raise NotImplementedError

    def totals(self, since: str) -> tuple[int, list[tuple[str, int]]]:
        """The number of links that are not tombstones, and the hits of all links
        per day on days ``>= since`` (``YYYY-MM-DD``), oldest first, days with hits
        only: the figures of the admin overview."""
        raise NotImplementedError

    def counted(self, key: str, window: int) -> int:
        """How many events ``allow`` counted for ``key`` in ``window`` (0 when none, or
        when that window was dropped); a read that counts nothing.

        With it a caller can keep a mark that only reading must not set (the admin
        pages' ended sessions) and look at a limit before spending it (failed
        sign-ins are counted only when they fail).
        """
        raise NotImplementedError

    def ping(self) -> None:
        """Return if the store answers; raise ``StoreUnavailable`` otherwise."""
        raise NotImplementedError

    def export(self) -> Iterator[Entry]:
        """Every link, tombstones included, oldest first, with its per-day counters.

        Read page by page, so memory stays flat however large the store is; links
        changed while the export runs may show either state.
        """
        raise NotImplementedError

    def restore(self, entries: Iterable[Entry]) -> int:
        """Store ``entries`` (as ``export`` yields them) exactly as given; return how
        many were stored.

        An entry whose code is already taken is skipped. A plain link whose URL
        already has a live plain link under another code (possible only when
        restoring into a store that has links) is stored with ``alias=True``, so its
        code keeps working and the dedupe rule still holds. Entries are written in
        batches (one transaction each, where the backend has transactions). Raises
        ``ValueError`` for an entry that cannot be stored as given (naive times, a day
        counted twice, a hit count below 1, counters that add up to more than the
        link's total). Batches hold at most 1,000 entries, and each is written before
        the next entry is read: a caller streaming a dump holds one batch at a time.
        """
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
