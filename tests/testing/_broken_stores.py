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

from minilink.core.links import Link, Search
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


class CountedCounts(Broken):
    """``counted`` counts an event as ``allow`` does (a read that writes)."""

    caught_by = ("test_counted_reads_what_allow_counted_and_counts_nothing",)

    def counted(self, key: str, window: int) -> int:
        before = super().counted(key, window)
        self.allow(key, window, 10**6)
        return before


class TotalsCountTombstones(Broken):
    """``totals`` counts deleted links among the links."""

    caught_by = ("test_totals_count_links_and_hits_per_day",)

    def totals(self, since: str) -> tuple[int, list[tuple[str, int]]]:
        _, days = super().totals(since)
        return len(self._links), days


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

    def delete(self, code: str, at: datetime, *, revision: Optional[int] = None) -> bool:
        aware = self._aware(at)
        assert aware is not None
        return super().delete(code, aware, revision=revision)


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

    def delete(self, code: str, at: datetime, *, revision: Optional[int] = None) -> bool:
        link = self._links.get(code)
        deleted = super().delete(code, at, revision=revision)
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

    def delete(self, code: str, at: datetime, *, revision: Optional[int] = None) -> bool:
        deleted = super().delete(code, at, revision=revision)
        if deleted:
            with self._lock:
                del self._links[code]
                index = self._position.pop(code)
                del self._order[index]
                self._position = {c: i for i, c in enumerate(self._order)}
                self._daily.pop(code, None)
        return deleted


class DeleteIgnoresRevision(Broken):
    """``delete`` at a revision deletes whatever revision the link is at."""

    caught_by = ("test_delete_at_a_revision_is_a_compare_and_set",)
    machine = True

    def delete(self, code: str, at: datetime, *, revision: Optional[int] = None) -> bool:
        return super().delete(code, at)


class DeleteRedatesTombstones(Broken):
    """Deleting a tombstone again moves its ``deleted_at`` and answers ``True``."""

    caught_by = ("test_delete_is_idempotent",)
    machine = True

    def delete(self, code: str, at: datetime, *, revision: Optional[int] = None) -> bool:
        link = self._links.get(code)
        if link is not None and link.deleted_at is not None:
            with self._lock:
                self._links[code] = link.replace(deleted_at=at)
            return True
        return super().delete(code, at, revision=revision)


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


# -- update ----------------------------------------------------------------------------


def _edit(
    store: MemoryStore,
    link: Link,
    *,
    revision: bool = True,
    bump: bool = True,
    tombstones: bool = False,
    keep: bool = True,
    fields: Optional[dict[str, object]] = None,
    alias: bool = True,
    leave: bool = True,
    enter: bool = True,
    itself: bool = False,
) -> Optional[Link]:
    """``MemoryStore.update`` with one of its steps left out (each flag ``False``, or
    ``tombstones``/``itself`` ``True``, is one bug). Caller holds no lock."""
    with store._lock:
        old = store._links.get(link.code)
        if old is None or (old.deleted_at is not None and not tombstones):
            return None
        if revision and old.revision != link.revision:
            return None
        new = link.replace(**(fields or {}))
        if keep:
            new = new.replace(created_at=old.created_at, hits=old.hits, deleted_at=None)
        new = new.replace(revision=old.revision + 1 if bump else old.revision)
        if leave and not itself and store._plain.get(old.url) == old.code:
            del store._plain[old.url]
        holder = store._plain.get(new.url)
        if new.plain:
            if alias and holder is not None and (itself or holder != new.code):
                new = new.replace(alias=True)
            elif enter:
                store._plain.setdefault(new.url, new.code)
        store._links[new.code] = new
        store._changes += 1
        return new


class UpdateKeepsTheRevision(Broken):
    """``update`` writes the fields but leaves ``revision`` where it was."""

    caught_by = ("test_update_over_the_right_revision_wins_and_counts_it",)
    machine = True

    def update(self, link: Link) -> Optional[Link]:
        return _edit(self, link, bump=False)


class UpdateIgnoresTheRevision(Broken):
    """``update`` writes over any revision (last writer wins)."""

    caught_by = ("test_update_over_another_revision_changes_nothing",)
    machine = True

    def update(self, link: Link) -> Optional[Link]:
        return _edit(self, link, revision=False)


class UpdateCheckThenWrite(Broken):
    """``update`` reads the revision, then writes in a second step: racers both win."""

    caught_by = ("test_threads_updating_one_revision_get_one_winner",)

    def update(self, link: Link) -> Optional[Link]:
        old = self._links.get(link.code)
        if old is None or old.deleted_at is not None or old.revision != link.revision:
            return None
        _race_gap()
        return _edit(self, link, revision=False)


class HitsMoveTheRevision(Broken):
    """``hit`` counts as an edit: the revision (the ETag) moves with every visit."""

    caught_by = ("test_hits_leave_the_revision_alone",)
    machine = True

    def hit(self, code: str, day: str, *, count: int = 1, limit: Optional[int] = None) -> bool:
        recorded = super().hit(code, day, count=count, limit=limit)
        if recorded:
            with self._lock:
                link = self._links[code]
                self._links[code] = link.replace(revision=link.revision + 1)
        return recorded


class UpdateWritesTheHitsItRead(Broken):
    """``update`` reads the row, then writes it whole with the hits it read: hits
    counted in between are lost."""

    caught_by = ("test_threads_hitting_during_edits_lose_no_hit",)

    def update(self, link: Link) -> Optional[Link]:
        read = self.get(link.code)
        _race_gap()
        stored = super().update(link)
        if stored is not None and read is not None:
            with self._lock:
                self._links[link.code] = stored = stored.replace(hits=read.hits)
        return stored


class UpdateEditsTombstones(Broken):
    """``update`` edits a tombstone too (a WHERE clause without ``deleted_at IS NULL``)."""

    caught_by = ("test_update_of_a_missing_code_or_a_tombstone_is_none",)
    machine = True

    def update(self, link: Link) -> Optional[Link]:
        old = self._links.get(link.code)
        stored = _edit(self, link, tombstones=True)
        if stored is not None and old is not None and old.deleted_at is not None:
            with self._lock:
                self._links[link.code] = stored = stored.replace(deleted_at=old.deleted_at)
        return stored


class UpdateWritesEveryField(Broken):
    """``update`` writes the hits and times it is given (an UPDATE of every column)."""

    caught_by = ("test_update_keeps_created_at_hits_and_deleted_at",)
    machine = True

    def update(self, link: Link) -> Optional[Link]:
        return _edit(self, link, keep=False)


class UpdateResetsHits(Broken):
    """``update`` stores the hits of the link it was given, losing those counted since."""

    caught_by = (
        "test_update_keeps_created_at_hits_and_deleted_at",
        "test_hits_with_a_limit_follow_an_edited_max_visits",
    )
    machine = True

    def update(self, link: Link) -> Optional[Link]:
        stored = _edit(self, link)
        if stored is not None:
            with self._lock:
                self._links[link.code] = stored = stored.replace(hits=link.hits)
        return stored


class UpdateNaiveTimesAsUTC(Broken):
    """``update`` takes a naive time as UTC instead of refusing it."""

    caught_by = ("test_update_refuses_naive_times",)

    def update(self, link: Link) -> Optional[Link]:
        return super().update(
            link.replace(
                expires_at=NaiveTimesAsUTC._aware(link.expires_at),
                updated_at=NaiveTimesAsUTC._aware(link.updated_at),
            )
        )


class UpdatedAtInMilliseconds(Broken):
    """``updated_at`` is kept to the millisecond (a column type that drops microseconds)."""

    caught_by = ("test_every_new_field_round_trips",)
    machine = True

    @staticmethod
    def _ms(link: Link) -> Link:
        t = link.updated_at
        return (
            link
            if t is None
            else link.replace(updated_at=t.replace(microsecond=t.microsecond // 1000 * 1000))
        )

    def insert(self, link: Link) -> Optional[Link]:
        return super().insert(self._ms(link))

    def update(self, link: Link) -> Optional[Link]:
        return super().update(self._ms(link))


class TagsSorted(Broken):
    """Tags come back sorted, not in the order given (a tags table read by name)."""

    caught_by = ("test_every_new_field_round_trips",)
    machine = True

    def insert(self, link: Link) -> Optional[Link]:
        return super().insert(link.replace(tags=tuple(sorted(link.tags))))

    def update(self, link: Link) -> Optional[Link]:
        return super().update(link.replace(tags=tuple(sorted(link.tags))))


class RestoreDropsOptions(Broken):
    """``restore`` stores the links of version 1 only: the options are lost."""

    caught_by = ("test_every_new_field_round_trips",)

    def restore(self, entries: Iterable[Entry]) -> int:
        return super().restore(
            (link.replace(title=None, tags=(), redirect_status=None), days)
            for link, days in entries
        )


class UpdateKeepsMaxVisits(Broken):
    """``update`` forgets to write ``max_visits`` (the visit limit stays the old one)."""

    caught_by = ("test_hits_with_a_limit_follow_an_edited_max_visits",)
    machine = True

    def update(self, link: Link) -> Optional[Link]:
        old = self._links.get(link.code)
        limit = old.max_visits if old is not None else link.max_visits
        return _edit(self, link, fields={"max_visits": limit})


# -- update and the dedupe rule --------------------------------------------------------


class UpdateIgnoresDedupe(Broken):
    """An edit onto the URL of another plain link stores a second plain link of it."""

    caught_by = ("test_an_edit_to_a_url_with_a_plain_link_is_stored_as_an_alias",)
    machine = True

    def update(self, link: Link) -> Optional[Link]:
        return _edit(self, link, alias=False)


class UpdateMeetsItself(Broken):
    """An edit of a plain link that keeps its URL finds the link itself in the dedupe
    index and makes it an alias."""

    caught_by = ("test_an_edit_that_keeps_a_plain_link_plain_keeps_it_deduplicated",)
    machine = True

    def update(self, link: Link) -> Optional[Link]:
        return _edit(self, link, itself=True)


class UpdateNeverEntersTheIndex(Broken):
    """A link made plain by an edit is not deduplicated to."""

    caught_by = ("test_an_edit_that_makes_a_link_plain_enters_the_dedupe_index",)
    machine = True

    def update(self, link: Link) -> Optional[Link]:
        return _edit(self, link, enter=False)


class UpdateNeverLeavesTheIndex(Broken):
    """A plain link edited to another URL or given an option stays in the dedupe index
    of its old URL."""

    caught_by = (
        "test_an_edit_that_makes_a_plain_link_special_leaves_the_dedupe_index",
        "test_an_edit_to_a_url_with_a_plain_link_is_stored_as_an_alias",
    )
    machine = True

    def update(self, link: Link) -> Optional[Link]:
        return _edit(self, link, leave=False)


# -- search ----------------------------------------------------------------------------


class _Searching(Broken):
    """Searches with ``matches`` and ``order`` (overridden: one bug each)."""

    def matches(self, search: Search, link: Link) -> bool:
        return search.matches(link)

    def order(self, search: Search, link: Link, position: int) -> tuple[object, ...]:
        key: object = {
            "created": 0,
            "hits": link.hits,
            "updated": link.updated_at or link.created_at,
        }[search.sort]
        return (key, position)

    def page(self, ranked: list[Link], search: Search) -> list[Link]:
        if search.after is not None:
            codes = [link.code for link in ranked]
            if search.after not in codes:
                return []
            ranked = ranked[codes.index(search.after) + 1 :]
        return ranked[: max(search.limit, 0)]

    def search(self, search: Search) -> list[Link]:
        with self._lock:
            links = [(self._links[code], self._position[code]) for code in self._order]
        found = [(link, pos) for link, pos in links if self.matches(search, link)]
        found.sort(key=lambda item: self.order(search, *item), reverse=True)  # type: ignore[arg-type]
        return self.page([link for link, _ in found], search)


class SearchForgetsTheState(_Searching):
    """``search`` ignores ``state``: tombstones and expired links in every list."""

    caught_by = ("test_search_keeps_the_links_of_each_state",)
    machine = True

    def matches(self, search: Search, link: Link) -> bool:
        return Search(now=search.now, text=search.text, tag=search.tag, state="all").matches(link)


class SearchExpiryByTimeOnly(_Searching):
    """``expired`` means past the expiry time only; used-up links count as live."""

    caught_by = ("test_search_keeps_the_links_of_each_state",)
    machine = True

    def matches(self, search: Search, link: Link) -> bool:
        return search.matches(link.replace(max_visits=None))


class SearchTagAsSubstring(_Searching):
    """``tag`` is matched as a substring of the tags (a LIKE on a joined column)."""

    caught_by = ("test_search_by_tag",)

    def matches(self, search: Search, link: Link) -> bool:
        if search.tag is None:
            return search.matches(link)
        plain = Search(now=search.now, text=search.text, state=search.state)
        return plain.matches(link) and search.tag in " ".join(link.tags)


class SearchCaseSensitive(_Searching):
    """``text`` is matched with its case (no folding at all)."""

    caught_by = ("test_search_text_folds_ascii_case_only",)
    machine = True

    def matches(self, search: Search, link: Link) -> bool:
        if search.text is None:
            return search.matches(link)
        rest = Search(now=search.now, tag=search.tag, state=search.state)
        fields = (link.code, link.url, link.title or "")
        return rest.matches(link) and any(search.text in field for field in fields)


class SearchFoldsUnicode(_Searching):
    """``text`` is folded with Unicode's rules (``lower()``): the Kelvin sign is a "k"."""

    caught_by = ("test_search_text_folds_ascii_case_only",)
    machine = True

    def matches(self, search: Search, link: Link) -> bool:
        if search.text is None:
            return search.matches(link)
        rest = Search(now=search.now, tag=search.tag, state=search.state)
        fields = (link.code, link.url, link.title or "")
        return rest.matches(link) and any(search.text.lower() in f.lower() for f in fields)


class SearchLikeWildcards(_Searching):
    """``text`` goes into a LIKE pattern unescaped: ``%`` and ``_`` match anything."""

    caught_by = ("test_search_text_takes_like_wildcards_literally",)
    machine = True

    def matches(self, search: Search, link: Link) -> bool:
        if search.text is None:
            return search.matches(link)
        import re

        rest = Search(now=search.now, tag=search.tag, state=search.state)
        pattern = "".join(
            ".*" if c == "%" else "." if c == "_" else re.escape(c) for c in search.text.lower()
        )
        fields = (link.code, link.url, link.title or "")
        return rest.matches(link) and any(re.search(pattern, f.lower(), re.DOTALL) for f in fields)


class SearchHitsFewestFirst(_Searching):
    """``sort=hits`` puts the least visited first."""

    caught_by = ("test_search_sorts",)
    machine = True

    def order(self, search: Search, link: Link, position: int) -> tuple[object, ...]:
        key = super().order(search, link, position)
        return (-link.hits, position) if search.sort == "hits" else key


class SearchUpdatedWithoutCreated(_Searching):
    """``sort=updated`` puts links never edited last (``updated_at`` alone, no coalesce)."""

    caught_by = ("test_search_sorts",)
    machine = True

    def order(self, search: Search, link: Link, position: int) -> tuple[object, ...]:
        if search.sort != "updated":
            return super().order(search, link, position)
        never = datetime.min.replace(tzinfo=timezone.utc)
        return (link.updated_at or never, position)


class SearchTiesOldestFirst(_Searching):
    """Ties are broken by insertion order, oldest first."""

    caught_by = ("test_search_sorts",)
    machine = True

    def order(self, search: Search, link: Link, position: int) -> tuple[object, ...]:
        key, _ = super().order(search, link, position)
        return (key, -position)


class SearchCursorByPosition(_Searching):
    """``after`` continues with the links inserted before it (as ``recent`` does),
    whatever the sort: pages of ``hits`` or ``updated`` lose and repeat links."""

    caught_by = ("test_search_pages_through_a_whole_result",)
    machine = True

    def page(self, ranked: list[Link], search: Search) -> list[Link]:
        if search.after is None:
            return ranked[: max(search.limit, 0)]
        if search.after not in self._position:
            return []
        at = self._position[search.after]
        return [link for link in ranked if self._position[link.code] < at][: search.limit]


class SearchUnknownAfterRestarts(_Searching):
    """An unknown ``after`` gives the first page again."""

    caught_by = ("test_search_after_an_unknown_code_is_empty",)
    machine = True

    def page(self, ranked: list[Link], search: Search) -> list[Link]:
        if search.after is not None and search.after not in self._links:
            return ranked[: max(search.limit, 0)]
        return super().page(ranked, search)


# -- tags ------------------------------------------------------------------------------


class TagsCountTombstones(Broken):
    """``tags`` counts the tags of tombstones too."""

    caught_by = ("test_tags_count_links_by_tag_without_tombstones",)
    machine = True

    def tags(self) -> list[tuple[str, int]]:
        counts: dict[str, int] = {}
        for link in self._links.values():
            for tag in link.tags:
                counts[tag] = counts.get(tag, 0) + 1
        return sorted(counts.items())


class TagsByCollation(Broken):
    """``tags`` is ordered as a locale collates, punctuation ignored (``ab`` < ``a_b``)."""

    caught_by = ("test_tags_count_links_by_tag_without_tombstones",)
    machine = True

    def tags(self) -> list[tuple[str, int]]:
        return sorted(
            super().tags(), key=lambda item: (item[0].replace("-", "").replace("_", ""), item[0])
        )


class TagsMostUsedFirst(Broken):
    """``tags`` is ordered by count, the most used first."""

    caught_by = ("test_tags_count_links_by_tag_without_tombstones",)
    machine = True

    def tags(self) -> list[tuple[str, int]]:
        return sorted(super().tags(), key=lambda item: -item[1])


# -- changes ---------------------------------------------------------------------------


class ChangesNeverChange(Broken):
    """``changes`` is a constant (a version read once, at open)."""

    caught_by = (
        "test_changes_differ_after_every_update_delete_and_restore",
        "test_changes_are_seen_by_another_store_on_the_same_data",
    )
    machine = True

    def changes(self) -> int:
        return 0

    def twin(self) -> Store:
        return _twin(self, type(self))


class ChangesMissRestore(Broken):
    """``restore`` does not move ``changes`` (a bulk path that skips the counter)."""

    caught_by = ("test_changes_differ_after_every_update_delete_and_restore",)

    def restore(self, entries: Iterable[Entry]) -> int:
        before = self._changes
        stored = super().restore(entries)
        self._changes = before
        return stored


class ChangesWrapAround(Broken):
    """``changes`` comes back to an old value (a counter kept in one bit)."""

    caught_by = ("test_changes_differ_after_every_update_delete_and_restore",)

    def changes(self) -> int:
        return super().changes() % 2


class ChangesCountHits(Broken):
    """``changes`` moves with every hit (a version bumped by any write): caches of hot
    links are dropped at every visit."""

    caught_by = ("test_changes_stay_the_same_through_hits_and_reads",)
    machine = True

    def hit(self, code: str, day: str, *, count: int = 1, limit: Optional[int] = None) -> bool:
        recorded = super().hit(code, day, count=count, limit=limit)
        with self._lock:
            self._changes += 1
        return recorded


class ChangesPerObject(Broken):
    """``changes`` counts in this object only: another store on the same data (another
    process) never sees it move."""

    caught_by = ("test_changes_are_seen_by_another_store_on_the_same_data",)

    def twin(self) -> Store:
        return _twin(self, type(self))


def _twin(store: MemoryStore, cls: type[MemoryStore]) -> MemoryStore:
    """A second store object on the data of ``store`` (its links, counters and lock),
    with a change counter of its own."""
    twin = cls()
    for name in ("_lock", "_links", "_order", "_position", "_plain", "_daily", "_windows"):
        setattr(twin, name, getattr(store, name))
    return twin


class SharedMemory(MemoryStore):
    """Not broken: a ``MemoryStore`` whose ``twin()`` is a second object on the same
    data, change counter included, as two processes on one database are; it proves
    that the test of ``changes()`` seen by another store can pass."""

    def __init__(self) -> None:
        self._box = [0]
        super().__init__()

    @property  # type: ignore[override]
    def _changes(self) -> int:
        return self._box[0]

    @_changes.setter
    def _changes(self, value: int) -> None:
        self._box[0] = value

    def twin(self) -> Store:
        twin = _twin(self, SharedMemory)
        assert isinstance(twin, SharedMemory)
        twin._box = self._box
        return twin


# -- lookup ----------------------------------------------------------------------------


class LookupCachedForever(Broken):
    """``lookup`` serves a link from a cache that nothing invalidates."""

    caught_by = ("test_lookup_sees_every_edit_and_delete_at_once",)
    machine = True

    def lookup(self, code: str) -> Optional[Link]:
        cache: dict[str, Optional[Link]] = self.__dict__.setdefault("cache", {})
        if code not in cache:
            cache[code] = self.get(code)
        return cache[code]


class LookupCachedPerProcess(SharedMemory, Broken):
    """``lookup``'s cache is dropped by this object's own edits and deletions only, not
    by those of another process (it never asks ``changes()``)."""

    caught_by = ("test_lookup_sees_changes_by_another_store_at_once",)

    def lookup(self, code: str) -> Optional[Link]:
        cache: dict[str, Optional[Link]] = self.__dict__.setdefault("cache", {})
        if code not in cache:
            cache[code] = self.get(code)
        return cache[code]

    def update(self, link: Link) -> Optional[Link]:
        self.__dict__.pop("cache", None)
        return super().update(link)

    def delete(self, code: str, at: datetime, *, revision: Optional[int] = None) -> bool:
        self.__dict__.pop("cache", None)
        return super().delete(code, at, revision=revision)

    def twin(self) -> Store:
        twin = _twin(self, LookupCachedPerProcess)
        assert isinstance(twin, LookupCachedPerProcess)
        twin._box = self._box
        return twin


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
    (
        *("insert", "get", "hit", "daily", "delete", "recent", "allow", "ping", "export"),
        *("restore", "update", "search", "tags", "changes", "lookup", "counted", "totals"),
    )
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
BROKEN: dict[str, type[Broken]] = {}


def _collect(base: type[Broken]) -> None:
    for cls in base.__subclasses__():  # in the order they are written above
        if not cls.__name__.startswith("_"):  # a private one only shares code
            BROKEN[cls.__name__] = cls
        _collect(cls)


_collect(Broken)

#: What the state machine alone must catch (measured: it does under several seeds).
MACHINE = {name: cls for name, cls in BROKEN.items() if cls.machine}
