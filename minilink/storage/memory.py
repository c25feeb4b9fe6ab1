"""``MemoryStore``: the reference ``Store``, kept in process memory.

Theory of operation
-------------------
This store is the executable meaning of the contract in ``minilink.storage.base``:
every other backend must behave the way this one does, and the contract suite
(``minilink.testing.contract``) is checked against it first. So it is written to be
obviously correct rather than fast:

* one ``threading.Lock`` guards all state, and every method holds it for its whole
  body, so each method is one atomic step (insert-if-absent, dedupe, hit with limit);
* links live in a dict by code, tombstones included (a tombstone is a ``Link`` with
  ``deleted_at`` set, and its code is never free again);
* ``_order`` lists codes in insertion order, which is what ``recent`` pages through;
  ``_position`` maps a code to its index there, so an ``after`` cursor is found
  without a scan;
* ``_plain`` maps a URL to the code of its live plain link (the dedupe index); a
  deleted link leaves it, so a new plain link of that URL gets a new code;
* hits per day are a dict per code, rate-limit counters a dict of windows per key.

Times are stored as aware UTC datetimes; a naive datetime is refused with
``ValueError`` because it has no meaning as a point in time. Nothing survives
``close()`` or the end of the process; ``close()`` itself releases nothing.
"""

from __future__ import annotations

import threading
from datetime import datetime, timezone
from typing import Optional

from minilink.core.links import Link, Search
from minilink.storage.base import Store, check_entry

__all__ = ["MemoryStore"]

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator
    from typing import Any, Callable

    from minilink.storage.base import Entry

#: Links ``export`` copies per lock hold.
_PAGE = 1000


#: The sort keys of ``search`` (larger first); insertion order breaks ties.
_ORDERS: dict[str, Callable[[Link], tuple[Any, ...]]] = {
    "created": lambda link: (),
    "hits": lambda link: (link.hits,),
    "updated": lambda link: (link.updated_at or link.created_at,),
}


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"store times must be timezone-aware, got {value!r}")
    return value.astimezone(timezone.utc)


def _utc_or_none(value: Optional[datetime]) -> Optional[datetime]:
    return None if value is None else _utc(value)


class MemoryStore(Store):
    """A thread-safe in-memory store; the reference implementation of ``Store``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._links: dict[str, Link] = {}
        self._order: list[str] = []
        self._position: dict[str, int] = {}
        self._plain: dict[str, str] = {}
        self._daily: dict[str, dict[str, int]] = {}
        self._windows: dict[str, dict[int, int]] = {}
        self._changes = 0

    @classmethod
    def from_url(cls, url: str) -> MemoryStore:
        """Open from ``memory:`` or ``memory://``; raises ``ValueError`` for anything else."""
        if url.lower() not in ("memory:", "memory://"):
            raise ValueError(f"a memory store URL is 'memory:' (or 'memory://'), not {url!r}")
        return cls()

    def insert(self, link: Link) -> Optional[Link]:
        link = link.replace(
            created_at=_utc(link.created_at),
            expires_at=_utc_or_none(link.expires_at),
            deleted_at=_utc_or_none(link.deleted_at),
            updated_at=_utc_or_none(link.updated_at),
        )
        deduped = link.plain and link.deleted_at is None
        with self._lock:
            # Dedupe comes before the code check: a caller shortening a URL that is
            # already shortened wants the existing link whatever code it proposed.
            if deduped and link.url in self._plain:
                return self._links[self._plain[link.url]]
            if link.code in self._links:
                return None
            self._links[link.code] = link
            self._position[link.code] = len(self._order)
            self._order.append(link.code)
            if deduped:
                self._plain[link.url] = link.code
            return link

    def get(self, code: str) -> Optional[Link]:
        with self._lock:
            return self._links.get(code)

    def hit(self, code: str, day: str, *, count: int = 1, limit: Optional[int] = None) -> bool:
        if count < 1:
            raise ValueError(f"hit count must be at least 1, not {count}")
        with self._lock:
            link = self._links.get(code)
            if link is None or link.deleted_at is not None:
                return False
            if limit is not None and link.hits + count > limit:
                return False
            self._links[code] = link.replace(hits=link.hits + count)
            days = self._daily.setdefault(code, {})
            days[day] = days.get(day, 0) + count
            return True

    def daily(self, code: str, since: str) -> list[tuple[str, int]]:
        with self._lock:
            days = self._daily.get(code, {})
            return sorted((day, n) for day, n in days.items() if day >= since)

    def delete(self, code: str, at: datetime, *, revision: Optional[int] = None) -> bool:
        at = _utc(at)
        with self._lock:
            link = self._links.get(code)
            if link is None or link.deleted_at is not None:
                return False
            if revision is not None and link.revision != revision:
                return False
            self._links[code] = link.replace(deleted_at=at)
            if self._plain.get(link.url) == code:
                del self._plain[link.url]
            self._changes += 1
            return True

    def update(self, link: Link) -> Optional[Link]:
        link = link.replace(
            expires_at=_utc_or_none(link.expires_at),
            updated_at=_utc_or_none(link.updated_at),
        )
        with self._lock:
            old = self._links.get(link.code)
            if old is None or old.deleted_at is not None or old.revision != link.revision:
                return None
            new = link.replace(
                created_at=old.created_at,
                hits=old.hits,
                deleted_at=None,
                revision=old.revision + 1,
            )
            if self._plain.get(old.url) == old.code:
                del self._plain[old.url]
            if new.plain:
                if new.url in self._plain:
                    new = new.replace(alias=True)  # another plain link has this URL
                else:
                    self._plain[new.url] = new.code
            self._links[new.code] = new
            self._changes += 1
            return new

    def search(self, search: Search) -> list[Link]:
        with self._lock:
            links = [self._links[code] for code in self._order]
            position = dict(self._position)
        # The reference meaning, not a fast one: filter, sort, then page.
        order = _ORDERS[search.sort]
        ranked = sorted(
            (link for link in links if search.matches(link)),
            key=lambda link: (*order(link), position[link.code]),
            reverse=True,
        )
        if search.after is not None:
            codes = [link.code for link in ranked]
            if search.after not in codes:
                return []
            ranked = ranked[codes.index(search.after) + 1 :]
        return ranked[: max(search.limit, 0)]

    def tags(self) -> list[tuple[str, int]]:
        counts: dict[str, int] = {}
        with self._lock:
            for link in self._links.values():
                if link.deleted_at is None:
                    for tag in link.tags:
                        counts[tag] = counts.get(tag, 0) + 1
        return sorted(counts.items())

    def changes(self) -> int:
        with self._lock:
            return self._changes

    def recent(self, limit: int, after: Optional[str] = None) -> list[Link]:
        with self._lock:
            if after is None:
                start = len(self._order)
            elif after in self._position:
                start = self._position[after]
            else:
                return []
            page: list[Link] = []
            for index in range(start - 1, -1, -1):
                if len(page) >= limit:
                    break
                link = self._links[self._order[index]]
                if link.deleted_at is None:
                    page.append(link)
            return page

    def allow(self, key: str, window: int, limit: int) -> bool:
        with self._lock:
            windows = self._windows.setdefault(key, {})
            # Only this key's older windows are dropped: window numbers of different
            # keys may count different spans of time, so they cannot be compared.
            for old in [w for w in windows if w < window]:
                del windows[old]
            counted = windows.get(window, 0)
            if counted >= limit:
                return False
            windows[window] = counted + 1
            return True

    def totals(self, since: str) -> tuple[int, list[tuple[str, int]]]:
        with self._lock:
            links = sum(1 for link in self._links.values() if link.deleted_at is None)
            days: dict[str, int] = {}
            for counters in self._daily.values():
                for day, hits in counters.items():
                    if day >= since:
                        days[day] = days.get(day, 0) + hits
        return links, sorted(days.items())

    def counted(self, key: str, window: int) -> int:
        with self._lock:
            return self._windows.get(key, {}).get(window, 0)

    def ping(self) -> None:
        return None

    def export(self) -> Iterator[Entry]:
        position = 0
        while True:
            with self._lock:  # one page per lock hold, like the other backends
                codes = self._order[position : position + _PAGE]
                page = [
                    (self._links[code], tuple(sorted(self._daily.get(code, {}).items())))
                    for code in codes
                ]
            if not page:
                return
            position += len(page)
            yield from page

    def restore(self, entries: Iterable[Entry]) -> int:
        stored = 0
        for entry in entries:
            link, days = check_entry(entry)
            link = link.replace(
                created_at=_utc(link.created_at),
                expires_at=_utc_or_none(link.expires_at),
                deleted_at=_utc_or_none(link.deleted_at),
                updated_at=_utc_or_none(link.updated_at),
            )
            with self._lock:
                self._changes += 1
                if link.code in self._links:
                    continue
                deduped = link.plain and link.deleted_at is None
                if deduped and link.url in self._plain:
                    link = link.replace(alias=True)  # keep its code working
                    deduped = False
                self._links[link.code] = link
                self._position[link.code] = len(self._order)
                self._order.append(link.code)
                if deduped:
                    self._plain[link.url] = link.code
                if days:
                    self._daily[link.code] = dict(days)
                stored += 1
        return stored

    def close(self) -> None:
        # Nothing to release; the data stays readable so a closed reference store
        # still shows what a test did.
        return None
