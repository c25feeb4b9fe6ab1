"""Stores that each break one rule of ``minilink.storage.base``, for the kit's mutation test.

Each is the reference ``MemoryStore`` with one realistic bug: a race, an off-by-one, a
wrong order, a lost tombstone, an overwrite. ``caught_by`` names the kit tests that
must fail for it (the rule's own test); ``machine`` says whether the state machine
alone must catch it too (a race in threads or a call the machine never makes, such as
a naive time, is left to the kit's other tests).

Adding a rule: write its kit test in ``minilink.testing.contract``, then one class
here that breaks only that rule, naming the test in ``caught_by``. ``BROKEN`` lists
every class; ``test_kit_mutations.py`` runs the kit against each.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from datetime import datetime, timezone
from typing import TYPE_CHECKING, ClassVar, Optional

from minilink.core.links import Link
from minilink.storage.base import Store, check_entry
from minilink.storage.memory import MemoryStore

if TYPE_CHECKING:
    from minilink.storage.base import Entry

# Long enough that threads released together all pass the check before one writes.
_RACE_GAP = 0.001


def _race_gap() -> None:
    time.sleep(_RACE_GAP)


class Broken(MemoryStore):
    """A ``MemoryStore`` with one bug; subclasses say which rule it breaks."""

    caught_by: ClassVar[tuple[str, ...]] = ()
    machine: ClassVar[bool] = False

    def _put(self, link: Link) -> None:
        """Store ``link`` under its code, as a new link (no checks; caller holds the lock)."""
        if link.code not in self._position:
            self._position[link.code] = len(self._order)
            self._order.append(link.code)
        self._links[link.code] = link
        if link.plain and link.deleted_at is None:
            self._plain.setdefault(link.url, link.code)


# -- insert ----------------------------------------------------------------------------


class OverwriteOnInsert(Broken):
    """``insert`` is an upsert: a taken code gets the new link."""

    caught_by = ("test_taken_code_is_refused_and_unchanged",)
    machine = True

    def insert(self, link: Link) -> Optional[Link]:
        stored = super().insert(link)
        if stored is None and self._links[link.code].deleted_at is None:
            with self._lock:
                self._links[link.code] = link
            return link
        return stored


class TombstoneFreesItsCode(Broken):
    """``insert`` takes a tombstone's code (a unique index on live links only)."""

    caught_by = ("test_tombstone_blocks_its_code_forever",)
    machine = True

    def insert(self, link: Link) -> Optional[Link]:
        old = self._links.get(link.code)
        if old is not None and old.deleted_at is not None:
            with self._lock:
                self._links[link.code] = link
            return link
        return super().insert(link)


class CheckThenInsert(Broken):
    """``insert`` checks whether the code is free, then writes: racers both win."""

    caught_by = ("test_threads_racing_on_one_code_get_one_success",)

    def insert(self, link: Link) -> Optional[Link]:
        if link.code in self._links:
            return None
        _race_gap()
        with self._lock:
            self._put(link)
        return link


class MillisecondTimes(Broken):
    """Times are kept to the millisecond (a column type that drops microseconds)."""

    caught_by = ("test_insert_keeps_every_field", "test_times_round_trip_as_aware_utc")
    machine = True

    def insert(self, link: Link) -> Optional[Link]:
        def ms(t: Optional[datetime]) -> Optional[datetime]:
            return None if t is None else t.replace(microsecond=t.microsecond // 1000 * 1000)

        return super().insert(
            link.replace(created_at=ms(link.created_at), expires_at=ms(link.expires_at))
        )


class TimesKeepTheirOffset(Broken):
    """Times come back with the offset they were given, not in UTC."""

    caught_by = ("test_times_round_trip_as_aware_utc",)

    def insert(self, link: Link) -> Optional[Link]:
        stored = super().insert(link)
        if stored is not None and stored.code == link.code:
            with self._lock:
                self._links[link.code] = stored = link
        return stored


class NaiveTimesAsUTC(Broken):
    """``insert`` and ``delete`` take a naive time as UTC instead of refusing it."""

    caught_by = ("test_insert_refuses_naive_times", "test_delete_refuses_a_naive_time")

    @staticmethod
    def _aware(t: Optional[datetime]) -> Optional[datetime]:
        if t is not None and t.tzinfo is None:
            return t.replace(tzinfo=timezone.utc)
        return t

    def insert(self, link: Link) -> Optional[Link]:
        return super().insert(
            link.replace(
                created_at=self._aware(link.created_at),
                expires_at=self._aware(link.expires_at),
                deleted_at=self._aware(link.deleted_at),
            )
        )

    def delete(self, code: str, at: datetime) -> bool:
        aware = self._aware(at)
        assert aware is not None
        return super().delete(code, aware)


# -- deduplication ---------------------------------------------------------------------


class NoDedupe(Broken):
    """A plain link of a known URL gets a code of its own."""

    caught_by = ("test_plain_link_of_a_known_url_returns_the_existing_one",)
    machine = True

    def insert(self, link: Link) -> Optional[Link]:
        with self._lock:
            self._plain.pop(link.url, None)
        return super().insert(link)


class CodeCheckBeforeDedupe(Broken):
    """The code is checked first, so a known URL with a taken code gets ``None``."""

    caught_by = ("test_dedupe_comes_before_the_code_check",)
    machine = True

    def insert(self, link: Link) -> Optional[Link]:
        if link.code in self._links and self._links[link.code].url != link.url:
            return None
        return super().insert(link)


class DedupeEveryKind(Broken):
    """Aliases, expiring and limited links are deduplicated too."""

    caught_by = ("test_links_with_alias_expiry_or_limit_are_not_deduplicated",)
    machine = True

    def insert(self, link: Link) -> Optional[Link]:
        with self._lock:
            code = self._plain.get(link.url)
            if code is not None:
                return self._links[code]
        return super().insert(link)


class DedupeOntoTombstones(Broken):
    """``delete`` leaves the URL in the dedupe index, so it hands out the tombstone."""

    caught_by = ("test_plain_link_is_not_deduplicated_against_a_deleted_one",)
    machine = True

    def delete(self, code: str, at: datetime) -> bool:
        link = self._links.get(code)
        deleted = super().delete(code, at)
        if deleted and link is not None and link.plain:
            with self._lock:
                self._plain.setdefault(link.url, code)
        return deleted


class CheckThenDedupe(Broken):
    """The URL is looked up, then the link written: racers on one URL get two codes."""

    caught_by = ("test_threads_racing_on_one_url_agree_on_one_code",)

    def insert(self, link: Link) -> Optional[Link]:
        known = self._plain.get(link.url)
        if known is not None:
            return self._links[known]
        _race_gap()
        with self._lock:
            if link.code in self._links:
                return None
            self._put(link)
            self._plain[link.url] = link.code
        return link


# -- get -------------------------------------------------------------------------------


class CaseInsensitiveFallback(Broken):
    """``get`` falls back to a case-insensitive match (a ``NOCASE`` collation)."""

    caught_by = ("test_codes_differing_only_by_case_are_not_found",)
    machine = True

    def get(self, code: str) -> Optional[Link]:
        found = super().get(code)
        if found is None:
            with self._lock:
                for other, link in self._links.items():
                    if other.lower() == code.lower():
                        return link
        return found


class TombstonesHidden(Broken):
    """``get`` answers ``None`` for a tombstone."""

    caught_by = ("test_get_returns_a_tombstone_with_its_deletion_time",)
    machine = True

    def get(self, code: str) -> Optional[Link]:
        link = super().get(code)
        return None if link is None or link.deleted_at is not None else link


# -- hit -------------------------------------------------------------------------------


class CountBelowOne(Broken):
    """``hit`` takes any count: 0 stores a day with no hits, a negative one takes hits."""

    caught_by = ("test_hit_refuses_a_count_below_one",)

    def hit(self, code: str, day: str, *, count: int = 1, limit: Optional[int] = None) -> bool:
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


class HitsOnTombstones(Broken):
    """``hit`` counts on a deleted link."""

    caught_by = ("test_hit_of_a_missing_or_deleted_code_records_nothing",)
    machine = True

    def hit(self, code: str, day: str, *, count: int = 1, limit: Optional[int] = None) -> bool:
        link = self._links.get(code)
        if link is None or link.deleted_at is None:
            return super().hit(code, day, count=count, limit=limit)
        with self._lock:
            self._links[code] = link.replace(deleted_at=None)
        try:
            return super().hit(code, day, count=count, limit=limit)
        finally:
            with self._lock:
                self._links[code] = self._links[code].replace(deleted_at=link.deleted_at)


class LimitIgnored(Broken):
    """``hit`` ignores ``limit``: a ``max_visits`` link counts past it."""

    caught_by = ("test_hit_with_limit_never_passes_it",)
    machine = True

    def hit(self, code: str, day: str, *, count: int = 1, limit: Optional[int] = None) -> bool:
        return super().hit(code, day, count=count)


class LimitChecksTheOldTotal(Broken):
    """``hit`` checks ``total < limit`` before adding: a count of 2 goes past the limit."""

    caught_by = ("test_hit_with_a_count_over_the_limit_is_refused_whole",)
    machine = True

    def hit(self, code: str, day: str, *, count: int = 1, limit: Optional[int] = None) -> bool:
        link = self._links.get(code)
        if limit is not None and link is not None and link.hits < limit:
            limit = None
        return super().hit(code, day, count=count, limit=limit)


class LimitOffByOne(Broken):
    """``hit`` refuses the hit that would reach the limit exactly (``<`` for ``<=``)."""

    caught_by = ("test_hit_with_limit_never_passes_it",)
    machine = True

    def hit(self, code: str, day: str, *, count: int = 1, limit: Optional[int] = None) -> bool:
        return super().hit(code, day, count=count, limit=None if limit is None else limit - 1)


class DoubleCountsNewDays(Broken):
    """A hit on a new day is counted twice in the total (an upsert that ran both ways)."""

    caught_by = ("test_hit_adds_to_the_total_and_the_day",)
    machine = True

    def hit(self, code: str, day: str, *, count: int = 1, limit: Optional[int] = None) -> bool:
        new_day = day not in self._daily.get(code, {})
        recorded = super().hit(code, day, count=count, limit=limit)
        if recorded and new_day:
            with self._lock:
                link = self._links[code]
                self._links[code] = link.replace(hits=link.hits + count)
        return recorded


class ReadModifyWriteHits(Broken):
    """``hit`` reads the total, then writes total + count: racing hits are lost."""

    caught_by = ("test_threads_hitting_count_every_hit_once",)

    def hit(self, code: str, day: str, *, count: int = 1, limit: Optional[int] = None) -> bool:
        link = self._links.get(code)
        if link is None or link.deleted_at is not None:
            return False
        if limit is not None and link.hits + count > limit:
            return False
        days = dict(self._daily.get(code, {}))
        _race_gap()
        days[day] = days.get(day, 0) + count
        with self._lock:
            self._links[code] = link.replace(hits=link.hits + count)
            self._daily[code] = days
        return True


class LimitCheckedOutsideTheLock(Broken):
    """The limit is checked, then the hit added: racing hits pass the limit."""

    caught_by = ("test_threads_hitting_with_a_limit_stop_exactly_at_it",)

    def hit(self, code: str, day: str, *, count: int = 1, limit: Optional[int] = None) -> bool:
        link = self._links.get(code)
        if limit is not None and link is not None and link.hits + count > limit:
            return False
        _race_gap()
        return super().hit(code, day, count=count)


class RefusedHitLeavesADay(Broken):
    """A refused hit still creates its day's counter, at 0."""

    caught_by = ("test_hit_with_limit_zero_records_nothing",)
    machine = True

    def hit(self, code: str, day: str, *, count: int = 1, limit: Optional[int] = None) -> bool:
        recorded = super().hit(code, day, count=count, limit=limit)
        if not recorded and code in self._links:
            with self._lock:
                self._daily.setdefault(code, {}).setdefault(day, 0)
        return recorded


# -- daily -----------------------------------------------------------------------------


class DailyIgnoresSince(Broken):
    """``daily`` returns every day, whatever ``since`` is."""

    caught_by = ("test_daily_filters_by_since_and_orders_by_day",)
    machine = True

    def daily(self, code: str, since: str) -> list[tuple[str, int]]:
        return super().daily(code, "0000-00-00")


class DailyNewestFirst(Broken):
    """``daily`` lists the newest day first."""

    caught_by = ("test_daily_filters_by_since_and_orders_by_day",)
    machine = True

    def daily(self, code: str, since: str) -> list[tuple[str, int]]:
        return super().daily(code, since)[::-1]


# -- delete ----------------------------------------------------------------------------


class DeleteLosesTheTombstone(Broken):
    """``delete`` removes the link: its code is free and ``get`` finds nothing."""

    caught_by = (
        "test_tombstone_blocks_its_code_forever",
        "test_get_returns_a_tombstone_with_its_deletion_time",
    )
    machine = True

    def delete(self, code: str, at: datetime) -> bool:
        deleted = super().delete(code, at)
        if deleted:
            with self._lock:
                del self._links[code]
                index = self._position.pop(code)
                del self._order[index]
                self._position = {c: i for i, c in enumerate(self._order)}
                self._daily.pop(code, None)
        return deleted


class DeleteRedatesTombstones(Broken):
    """Deleting a tombstone again moves its ``deleted_at`` and answers ``True``."""

    caught_by = ("test_delete_is_idempotent",)
    machine = True

    def delete(self, code: str, at: datetime) -> bool:
        link = self._links.get(code)
        if link is not None and link.deleted_at is not None:
            with self._lock:
                self._links[code] = link.replace(deleted_at=at)
            return True
        return super().delete(code, at)


# -- recent ----------------------------------------------------------------------------


class RecentOldestFirst(Broken):
    """``recent`` lists the oldest links first."""

    caught_by = ("test_recent_is_newest_first_and_limited",)
    machine = True

    def recent(self, limit: int, after: Optional[str] = None) -> list[Link]:
        live = [self._links[c] for c in self._order if self._links[c].deleted_at is None]
        if after is not None:
            if after not in self._position:
                return []
            live = [link for link in live if self._position[link.code] < self._position[after]]
        return live[:limit]


class RecentShowsTombstones(Broken):
    """``recent`` lists tombstones too."""

    caught_by = ("test_recent_leaves_out_tombstones",)
    machine = True

    def recent(self, limit: int, after: Optional[str] = None) -> list[Link]:
        start = len(self._order) if after is None else self._position.get(after)
        if start is None:
            return []
        return [self._links[c] for c in self._order[:start][::-1]][:limit]


class RecentCursorIncluded(Broken):
    """A page after ``after`` starts with ``after`` itself (``<=`` for ``<``)."""

    caught_by = ("test_recent_pages_with_the_after_cursor",)
    machine = True

    def recent(self, limit: int, after: Optional[str] = None) -> list[Link]:
        if after is None or after not in self._position:
            return super().recent(limit, after)
        index = self._position[after]
        newer = self._order[index + 1] if index + 1 < len(self._order) else None
        return super().recent(limit, newer)


class RecentUnknownCursorRestarts(Broken):
    """An unknown ``after`` gives the first page again."""

    caught_by = ("test_recent_with_an_unknown_cursor_is_empty",)
    machine = True

    def recent(self, limit: int, after: Optional[str] = None) -> list[Link]:
        if after is not None and after not in self._position:
            after = None
        return super().recent(limit, after)


class RecentHidesUsedUpLinks(Broken):
    """``recent`` leaves out links whose visits are used up."""

    caught_by = ("test_recent_includes_expired_links",)

    def recent(self, limit: int, after: Optional[str] = None) -> list[Link]:
        page = super().recent(len(self._order), after)
        return [link for link in page if link.max_visits is None or link.hits < link.max_visits][
            :limit
        ]


class RecentStaleHits(Broken):
    """``recent`` reads a listing cache made at insert: the hits are those of then."""

    caught_by = ("test_recent_returns_current_hits",)
    machine = True

    def insert(self, link: Link) -> Optional[Link]:
        stored = super().insert(link)
        if stored is not None:
            self.__dict__.setdefault("listing", {}).setdefault(stored.code, stored)
        return stored

    def recent(self, limit: int, after: Optional[str] = None) -> list[Link]:
        listing: dict[str, Link] = self.__dict__.get("listing", {})
        return [listing.get(link.code, link) for link in super().recent(limit, after)]


# -- allow -----------------------------------------------------------------------------


class AllowPrunesEveryKey(Broken):
    """``allow`` drops the old windows of every key, not only its own."""

    caught_by = ("test_allow_drops_no_other_keys_windows",)
    machine = True

    def allow(self, key: str, window: int, limit: int) -> bool:
        with self._lock:
            for windows in self._windows.values():
                for old in [w for w in windows if w < window]:
                    del windows[old]
        return super().allow(key, window, limit)


class AllowOffByOne(Broken):
    """``allow`` lets ``limit + 1`` events through a window."""

    caught_by = ("test_allow_counts_up_to_the_limit_in_a_window",)
    machine = True

    def allow(self, key: str, window: int, limit: int) -> bool:
        return super().allow(key, window, limit + 1)


class AllowIgnoresTheWindow(Broken):
    """``allow`` keeps one counter per key: a new window does not start from zero."""

    caught_by = ("test_allow_counts_up_to_the_limit_in_a_window",)
    machine = True

    def allow(self, key: str, window: int, limit: int) -> bool:
        return super().allow(key, 0, limit)


class AllowSharesKeys(Broken):
    """``allow`` keeps one counter per window for all keys."""

    caught_by = ("test_allow_keeps_keys_apart",)
    machine = True

    def allow(self, key: str, window: int, limit: int) -> bool:
        return super().allow("", window, limit)


class AllowZeroMeansNoLimit(Broken):
    """``allow`` takes a limit of 0 as "no limit" (``if limit and counted >= limit``)."""

    caught_by = ("test_allow_with_limit_zero_refuses",)

    def allow(self, key: str, window: int, limit: int) -> bool:
        return super().allow(key, window, limit or 1_000_000)


class AllowReadThenWrite(Broken):
    """``allow`` reads the count, then writes count + 1: racers all get through."""

    caught_by = ("test_threads_racing_on_allow_count_exactly",)

    def allow(self, key: str, window: int, limit: int) -> bool:
        counted = self._windows.get(key, {}).get(window, 0)
        if counted >= limit:
            return False
        _race_gap()
        with self._lock:
            self._windows.setdefault(key, {})[window] = counted + 1
        return True


# -- export and restore ----------------------------------------------------------------


class ExportSkipsTombstones(Broken):
    """``export`` leaves tombstones out, so a restored store frees their codes."""

    caught_by = ("test_export_yields_every_link_oldest_first_with_its_days",)
    machine = True

    def export(self) -> Iterator[Entry]:
        return (entry for entry in super().export() if entry[0].deleted_at is None)


class ExportByCode(Broken):
    """``export`` is ordered by code, not by insertion."""

    caught_by = ("test_restore_keeps_every_field",)
    machine = True

    def export(self) -> Iterator[Entry]:
        return iter(sorted(super().export(), key=lambda entry: entry[0].code))


class ExportWithoutDays(Broken):
    """``export`` leaves the per-day counters out."""

    caught_by = ("test_export_yields_every_link_oldest_first_with_its_days",)
    machine = True

    def export(self) -> Iterator[Entry]:
        return ((link, ()) for link, _ in super().export())


class RestoreReadsEverythingFirst(Broken):
    """``restore`` reads the whole dump before writing (memory grows with the dump)."""

    caught_by = ("test_restore_writes_each_batch_before_reading_the_next",)

    def restore(self, entries: Iterable[Entry]) -> int:
        return super().restore(list(entries))


class RestoreOverwrites(Broken):
    """``restore`` replaces the link of a taken code."""

    caught_by = ("test_restore_skips_taken_codes_and_keeps_the_dedupe_rule",)

    def restore(self, entries: Iterable[Entry]) -> int:
        stored = 0
        for entry in entries:
            link, days = check_entry(entry)
            with self._lock:
                self._put(link)
                self._daily[link.code] = dict(days)
            stored += 1
        return stored


class RestoreBreaksDedupe(Broken):
    """``restore`` stores a second plain link of one URL as plain."""

    caught_by = ("test_restore_skips_taken_codes_and_keeps_the_dedupe_rule",)

    def restore(self, entries: Iterable[Entry]) -> int:
        stored = 0
        for entry in entries:
            link, days = check_entry(entry)
            with self._lock:
                if link.code in self._links:
                    continue
                self._put(link)
                if days:
                    self._daily[link.code] = dict(days)
            stored += 1
        return stored


class RestoreUnchecked(Broken):
    """``restore`` stores entries without checking them (naive times, days twice...)."""

    caught_by = ("test_restore_refuses_entries_it_cannot_keep",)

    def restore(self, entries: Iterable[Entry]) -> int:
        stored = 0
        for link, days in entries:
            with self._lock:
                if link.code in self._links:
                    continue
                self._put(link)
                self._daily[link.code] = dict(days)
            stored += 1
        return stored


# -- lifecycle -------------------------------------------------------------------------


class CloseTwiceFails(Broken):
    """A second ``close()`` raises."""

    caught_by = ("test_close_is_idempotent", "test_store_is_a_context_manager")

    def close(self) -> None:
        if self.__dict__.get("closed"):
            raise RuntimeError("already closed")
        self.__dict__["closed"] = True


class EnterReturnsNothing(Broken):
    """``with store as s`` binds ``None``."""

    caught_by = ("test_store_is_a_context_manager",)

    def __enter__(self) -> Store:
        return None  # type: ignore[return-value]


class BlockingNotABool(Broken):
    """``blocking`` is not a bool (an async caller cannot trust it)."""

    caught_by = ("test_blocking_is_a_bool",)
    blocking = "sometimes"  # type: ignore[assignment]


class PingFails(Broken):
    """``ping`` raises although the store answers."""

    caught_by = ("test_ping_answers",)

    def ping(self) -> None:
        raise ConnectionError("ping")


class _DriverErrors(Store):
    """A store whose backend is down and lets the driver's error through."""

    def __getattribute__(self, name: str) -> object:
        if name in _CALLED:

            def fail(*args: object, **kwargs: object) -> object:
                raise ConnectionRefusedError(f"{name}: connection refused")

            return fail
        return object.__getattribute__(self, name)


_CALLED = frozenset(
    ("insert", "get", "hit", "daily", "delete", "recent", "allow", "ping", "export", "restore")
)


class DriverErrorsWhenDown(Broken):
    """When the backend is down, calls raise the driver's error, not ``StoreUnavailable``."""

    caught_by = tuple(
        f"test_an_unreachable_backend_raises_store_unavailable[{call}]" for call in sorted(_CALLED)
    )

    @staticmethod
    def unreachable() -> Store:
        return _DriverErrors()


#: Every broken store, by a short name (the test ids).
BROKEN: dict[str, type[Broken]] = {
    cls.__name__: cls
    for cls in Broken.__subclasses__()  # in the order they are written above
}

#: What the state machine alone must catch (measured: it does under several seeds).
MACHINE = {name: cls for name, cls in BROKEN.items() if cls.machine}
