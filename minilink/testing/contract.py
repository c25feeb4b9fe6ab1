"""``StoreContract``: the behaviour every ``Store`` backend must show, as a pytest class.

Theory of operation
-------------------
A backend proves it keeps the rules of ``minilink.storage.base`` by subclassing
``StoreContract`` in its own tests and providing one fixture, ``store``, that yields a
fresh, empty store and closes it afterwards::

    import pytest
    from minilink.testing.contract import StoreContract

    class TestMyStore(StoreContract):
        @pytest.fixture
        def store(self, tmp_path):
            s = MyStore(tmp_path / "links.db")
            yield s
            s.close()

Every ``test_*`` method then runs against that store: insert-if-absent, tombstones,
deduplication, exact (case-sensitive) codes, hits and their limits and counts,
per-day counters, ``recent`` paging, the rate-limit windows of several keys, naive
times refused, time round-trips, export and restore (in batches), the lifecycle,
races between threads, and a hypothesis state machine that checks random calls
against a dict model. Each rule of ``minilink.storage.base`` has its own test, and
minilink's own suite proves each one with a store that breaks that rule alone
(``tests/testing/_broken_stores.py``). Cross-process races depend on how a backend
is deployed, so they live in the backend's own tests.

Two optional hooks: a fixture ``unreachable_store`` (a store whose backend does not
answer, to check that every method raises ``StoreUnavailable`` rather than a
driver's error; without it those tests skip), and ``state_machine_settings()`` (the
state machine's hypothesis settings: 50 examples of up to 40 steps by default).

The tests only use the ``store`` they are given, and only ever call ``close()`` on
it in the lifecycle tests (close is idempotent, so the fixture may close it again).
The state machine runs many examples on that one store: each example works in its
own code, URL and rate-key namespace and compares only what it can see of its own
links. Its clock moves by seconds, hours and days, so that hits land on several days,
links are deleted and their tombstones meet new links, visit limits are reached and
rate keys of four window lengths count side by side; what a rule can break is also
checked after every step, because hypothesis leaves some rules out of each example.

Needs the ``test`` extra (pytest and hypothesis).
"""

from __future__ import annotations

import functools
import itertools
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Callable, ClassVar, Optional, TypeVar

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from minilink.core.errors import StoreUnavailable
from minilink.core.links import Link
from minilink.storage.base import Store

__all__ = ["DAY", "T0", "StoreContract", "make_link"]

_T = TypeVar("_T")

#: A creation time with microseconds, so that every round-trip test checks them.
T0 = datetime(2026, 11, 28, 13, 0, 0, 123456, tzinfo=timezone.utc)
#: The day most contract tests record their hits on.
DAY = "2026-11-28"

_UTC = timedelta(0)


def make_link(code: str, url: Optional[str] = None, **fields: object) -> Link:
    """A ``Link`` created at ``T0`` whose URL defaults to one unique to ``code``."""
    values: dict[str, object] = {
        "code": code,
        "url": url if url is not None else f"https://example.com/{code}",
        "created_at": T0,
    }
    values.update(fields)
    return Link(**values)  # type: ignore[arg-type]


#: The most entries ``restore`` may read before it writes them (``base.py``).
_RESTORE_BATCH = 1000


def _in_thread(task: Callable[[], _T], timeout: float = 30) -> _T:
    """``task()``'s result, computed in another thread within ``timeout`` seconds."""
    pool = ThreadPoolExecutor(max_workers=1)
    try:
        return pool.submit(task).result(timeout=timeout)
    finally:
        pool.shutdown(wait=False)  # a task stuck on a lock must not hang the test


#: One call of each method, for the unreachable-backend test.
_CALLS: dict[str, Callable[[Store], object]] = {
    "insert": lambda s: s.insert(make_link("u")),
    "get": lambda s: s.get("u"),
    "hit": lambda s: s.hit("u", DAY),
    "daily": lambda s: s.daily("u", DAY),
    "delete": lambda s: s.delete("u", T0),
    "recent": lambda s: s.recent(5),
    "allow": lambda s: s.allow("k", 1, 1),
    "ping": lambda s: s.ping(),
    "export": lambda s: list(s.export()),
    "restore": lambda s: s.restore([(make_link("u"), ())]),
}


def _race(threads: int, task: Callable[[int], _T]) -> list[_T]:
    """Run ``task(i)`` for ``i`` in ``range(threads)``, all released at one instant."""
    barrier = threading.Barrier(threads)

    def run(index: int) -> _T:
        barrier.wait(timeout=30)
        return task(index)

    with ThreadPoolExecutor(max_workers=threads) as pool:
        return list(pool.map(run, range(threads)))


# Links that are not "plain" and so never take part in deduplication.
_NOT_PLAIN: dict[str, dict[str, object]] = {
    "alias": {"alias": True},
    "expiry": {"expires_at": T0 + timedelta(days=1)},
    "max_visits": {"max_visits": 5},
}

_TIMES = {
    "microseconds": T0,
    "epoch": datetime(1970, 1, 1, tzinfo=timezone.utc),
    "before-epoch": datetime(1969, 7, 20, 20, 17, 40, 1, tzinfo=timezone.utc),
    "far-future": datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=timezone.utc),
    "other-offset": datetime(
        2026, 11, 28, 14, 30, 0, 654321, tzinfo=timezone(timedelta(hours=1, minutes=30))
    ),
}


class StoreContract:
    """Subclass with a ``store`` fixture (see the module docstring) to test a backend."""

    @pytest.fixture
    def store(self) -> Store:
        """Overridden by every subclass: yield a fresh, empty store, then close it."""
        raise NotImplementedError(
            "a StoreContract subclass must define a 'store' fixture that yields a fresh store"
        )

    @pytest.fixture
    def unreachable_store(self) -> Store:
        """Overridden by a backend that can be unreachable: yield a store whose backend
        does not answer (a server that is down, a directory that does not exist), then
        close it. Without it the tests that need one are skipped."""
        pytest.skip("no 'unreachable_store' fixture: this backend cannot be unreachable")

    def state_machine_settings(self) -> settings:
        """The hypothesis settings of ``test_matches_a_dict_model``; override to run
        more examples (or fewer, on a slow backend)."""
        return settings(max_examples=50, stateful_step_count=40, deadline=None)

    # -- insert-if-absent ---------------------------------------------------------

    def test_insert_returns_the_link_and_get_finds_it(self, store: Store) -> None:
        link = make_link("abc")
        assert store.insert(link) == link
        assert store.get("abc") == link

    def test_insert_keeps_every_field(self, store: Store) -> None:
        link = make_link(
            "full",
            "https://example.com/full?q=1#f",
            expires_at=T0 + timedelta(hours=1, microseconds=7),
            max_visits=10,
            alias=True,
        )
        assert store.insert(link) == link
        assert store.get("full") == link

    def test_taken_code_is_refused_and_unchanged(self, store: Store) -> None:
        first = make_link("same", "https://example.com/first")
        assert store.insert(first) == first
        assert store.insert(make_link("same", "https://example.com/second")) is None
        assert store.insert(make_link("same", "https://example.com/3", alias=True)) is None
        assert store.get("same") == first

    def test_codes_are_case_sensitive(self, store: Store) -> None:
        for code in ("ab", "aB", "Ab", "AB"):
            assert store.insert(make_link(code)) is not None
        stored = [store.get(code) for code in ("ab", "aB", "Ab", "AB")]
        assert [link.url for link in stored if link] == [
            "https://example.com/ab",
            "https://example.com/aB",
            "https://example.com/Ab",
            "https://example.com/AB",
        ]
        assert store.get("aa") is None

    def test_tombstone_blocks_its_code_forever(self, store: Store) -> None:
        link = make_link("gone", "https://example.com/x")
        store.insert(link)
        assert store.delete("gone", T0)
        assert store.insert(make_link("gone", "https://example.com/y")) is None
        assert store.insert(make_link("gone", "https://example.com/x")) is None
        assert store.insert(make_link("gone", "https://example.com/x", alias=True)) is None
        tombstone = store.get("gone")
        assert tombstone is not None
        assert tombstone.url == "https://example.com/x"
        assert tombstone.deleted_at == T0

    # -- deduplication ------------------------------------------------------------

    def test_plain_link_of_a_known_url_returns_the_existing_one(self, store: Store) -> None:
        url = "https://example.com/dup"
        first = make_link("one", url)
        store.insert(first)
        store.hit("one", DAY, count=3)
        again = store.insert(make_link("two", url, created_at=T0 + timedelta(seconds=5)))
        assert again == Link(code="one", url=url, created_at=T0, hits=3)
        assert store.get("two") is None
        assert [link.code for link in store.recent(10)] == ["one"]

    def test_dedupe_comes_before_the_code_check(self, store: Store) -> None:
        url = "https://example.com/dup"
        store.insert(make_link("one", url))
        store.insert(make_link("other", "https://example.com/other"))
        again = store.insert(make_link("other", url))
        assert again is not None
        assert again.code == "one"
        same = store.insert(make_link("one", url))
        assert same is not None
        assert same.code == "one"

    @pytest.mark.parametrize("kind", sorted(_NOT_PLAIN))
    def test_links_with_alias_expiry_or_limit_are_not_deduplicated(
        self, store: Store, kind: str
    ) -> None:
        url = "https://example.com/dup"
        store.insert(make_link("plain", url))
        special = make_link("special", url, **_NOT_PLAIN[kind])
        assert store.insert(special) == special
        assert store.get("special") == special

    @pytest.mark.parametrize("kind", sorted(_NOT_PLAIN))
    def test_plain_link_is_not_deduplicated_against_other_kinds(
        self, store: Store, kind: str
    ) -> None:
        url = "https://example.com/dup"
        store.insert(make_link("special", url, **_NOT_PLAIN[kind]))
        plain = make_link("plain", url)
        assert store.insert(plain) == plain
        # ... and the next plain link of that URL finds the plain one.
        again = store.insert(make_link("third", url))
        assert again is not None
        assert again.code == "plain"

    def test_plain_link_is_not_deduplicated_against_a_deleted_one(self, store: Store) -> None:
        url = "https://example.com/dup"
        store.insert(make_link("old", url))
        store.delete("old", T0)
        fresh = make_link("new", url)
        assert store.insert(fresh) == fresh
        again = store.insert(make_link("newer", url))
        assert again is not None
        assert again.code == "new"

    # -- get ----------------------------------------------------------------------

    def test_get_of_an_unknown_code_is_none(self, store: Store) -> None:
        assert store.get("nope") is None
        store.insert(make_link("yes"))
        assert store.get("nope") is None
        assert store.get("yes ") is None

    def test_codes_differing_only_by_case_are_not_found(self, store: Store) -> None:
        link = make_link("Abc")
        store.insert(link)
        for other in ("abc", "ABC", "aBC", "abC"):
            assert store.get(other) is None, other
            assert not store.hit(other, DAY), other
            assert not store.delete(other, T0), other
            assert store.daily(other, "2000-01-01") == [], other
        assert store.get("Abc") == link
        # ... and a case variant is a code of its own, free to take.
        assert store.insert(make_link("abc", "https://example.com/lower")) is not None

    def test_get_returns_a_tombstone_with_its_deletion_time(self, store: Store) -> None:
        store.insert(make_link("t"))
        store.hit("t", DAY, count=2)
        at = T0 + timedelta(days=2, microseconds=42)
        assert store.delete("t", at)
        tombstone = store.get("t")
        assert tombstone == make_link("t", hits=2, deleted_at=at)

    # -- hits ---------------------------------------------------------------------

    def test_hit_adds_to_the_total_and_the_day(self, store: Store) -> None:
        store.insert(make_link("h"))
        assert store.hit("h", "2026-11-28")
        assert store.hit("h", "2026-11-28", count=4)
        assert store.hit("h", "2026-11-29")
        link = store.get("h")
        assert link is not None
        assert link.hits == 6
        assert store.daily("h", "2026-01-01") == [("2026-11-28", 5), ("2026-11-29", 1)]

    def test_hit_of_a_missing_or_deleted_code_records_nothing(self, store: Store) -> None:
        assert not store.hit("missing", DAY)
        assert store.daily("missing", "2000-01-01") == []
        store.insert(make_link("d"))
        store.hit("d", DAY)
        store.delete("d", T0)
        assert not store.hit("d", DAY)
        assert not store.hit("d", DAY, limit=100)
        tombstone = store.get("d")
        assert tombstone is not None
        assert tombstone.hits == 1
        assert store.daily("d", "2000-01-01") == [(DAY, 1)]

    def test_hit_with_limit_never_passes_it(self, store: Store) -> None:
        store.insert(make_link("lim", max_visits=3))
        assert store.hit("lim", DAY, limit=3)
        assert store.hit("lim", DAY, count=2, limit=3)  # exactly reaches the limit
        assert not store.hit("lim", DAY, limit=3)
        assert not store.hit("lim", DAY, count=5, limit=3)
        link = store.get("lim")
        assert link is not None
        assert link.hits == 3
        assert store.daily("lim", DAY) == [(DAY, 3)]
        assert store.hit("lim", DAY, limit=4)  # the limit is per call, not stored

    def test_hit_with_a_count_over_the_limit_is_refused_whole(self, store: Store) -> None:
        store.insert(make_link("lim"))
        store.hit("lim", DAY, count=2)
        assert not store.hit("lim", "2026-11-29", count=2, limit=3)
        link = store.get("lim")
        assert link is not None
        assert link.hits == 2
        assert store.daily("lim", "2000-01-01") == [(DAY, 2)]

    def test_hit_with_limit_zero_records_nothing(self, store: Store) -> None:
        store.insert(make_link("z"))
        assert not store.hit("z", DAY, limit=0)
        assert store.daily("z", DAY) == []

    @pytest.mark.parametrize("count", [0, -1, -5])
    def test_hit_refuses_a_count_below_one(self, store: Store, count: int) -> None:
        store.insert(make_link("c"))
        store.hit("c", DAY, count=2)
        # Any message: the kit cannot know a backend's wording.
        with pytest.raises(ValueError):  # noqa: PT011
            store.hit("c", DAY, count=count)
        with pytest.raises(ValueError):  # noqa: PT011
            store.hit("c", "2026-11-29", count=count, limit=100)
        assert store.daily("c", "2000-01-01") == [(DAY, 2)]
        link = store.get("c")
        assert link is not None
        assert link.hits == 2
        # What the store exports, it can restore.
        [entry] = list(store.export())
        assert entry[1] == ((DAY, 2),)

    # -- daily --------------------------------------------------------------------

    def test_daily_filters_by_since_and_orders_by_day(self, store: Store) -> None:
        store.insert(make_link("d"))
        store.insert(make_link("e"))
        for day, count in (("2026-12-01", 3), ("2026-11-27", 1), ("2026-11-30", 2)):
            store.hit("d", day, count=count)
        store.hit("e", "2026-11-30", count=9)
        assert store.daily("d", "2026-01-01") == [
            ("2026-11-27", 1),
            ("2026-11-30", 2),
            ("2026-12-01", 3),
        ]
        assert store.daily("d", "2026-11-30") == [("2026-11-30", 2), ("2026-12-01", 3)]
        assert store.daily("d", "2026-11-28") == [("2026-11-30", 2), ("2026-12-01", 3)]
        assert store.daily("d", "2026-12-02") == []
        assert store.daily("e", "2026-01-01") == [("2026-11-30", 9)]

    # -- delete -------------------------------------------------------------------

    def test_delete_is_idempotent(self, store: Store) -> None:
        store.insert(make_link("x"))
        assert store.delete("x", T0)
        assert not store.delete("x", T0 + timedelta(days=1))
        tombstone = store.get("x")
        assert tombstone is not None
        assert tombstone.deleted_at == T0  # the first deletion's time stays
        assert not store.delete("never", T0)
        assert store.get("never") is None

    # -- recent -------------------------------------------------------------------

    def test_recent_is_newest_first_and_limited(self, store: Store) -> None:
        for code in ("a", "b", "c", "d", "e"):
            store.insert(make_link(code))
        assert [link.code for link in store.recent(10)] == ["e", "d", "c", "b", "a"]
        assert [link.code for link in store.recent(2)] == ["e", "d"]
        assert store.recent(0) == []
        assert store.recent(1) == [make_link("e")]

    def test_recent_pages_with_the_after_cursor(self, store: Store) -> None:
        for code in ("a", "b", "c", "d", "e"):
            store.insert(make_link(code))
        assert [link.code for link in store.recent(2, after="d")] == ["c", "b"]
        assert [link.code for link in store.recent(2, after="b")] == ["a"]
        assert store.recent(2, after="a") == []

    def test_recent_with_an_unknown_cursor_is_empty(self, store: Store) -> None:
        store.insert(make_link("a"))
        assert store.recent(10, after="zzz") == []

    def test_recent_leaves_out_tombstones(self, store: Store) -> None:
        for code in ("a", "b", "c", "d"):
            store.insert(make_link(code))
        store.delete("c", T0)
        store.delete("a", T0)
        assert [link.code for link in store.recent(10)] == ["d", "b"]
        # A cursor on a link deleted since the previous page still continues from it.
        assert [link.code for link in store.recent(10, after="c")] == ["b"]

    def test_recent_includes_expired_links(self, store: Store) -> None:
        store.insert(make_link("old", expires_at=T0 - timedelta(days=1)))
        store.insert(make_link("used", max_visits=1))
        store.hit("used", DAY)
        assert [link.code for link in store.recent(10)] == ["used", "old"]

    def test_recent_returns_current_hits(self, store: Store) -> None:
        store.insert(make_link("a"))
        store.hit("a", DAY, count=7)
        assert [link.hits for link in store.recent(1)] == [7]

    # -- allow --------------------------------------------------------------------

    def test_allow_counts_up_to_the_limit_in_a_window(self, store: Store) -> None:
        assert [store.allow("client", 100, 3) for _ in range(5)] == [
            True,
            True,
            True,
            False,
            False,
        ]
        assert store.allow("client", 101, 3)  # a new window starts from zero

    def test_allow_keeps_keys_apart(self, store: Store) -> None:
        assert store.allow("one", 7, 1)
        assert not store.allow("one", 7, 1)
        assert store.allow("two", 7, 1)

    def test_allow_with_limit_zero_refuses(self, store: Store) -> None:
        assert not store.allow("k", 1, 0)

    def test_allow_drops_no_other_keys_windows(self, store: Store) -> None:
        # Two limits on one clock: per hour (window 493_000) and per second (window
        # 1_774_800_000). Counting a second never resets the hour's counter.
        hour, second = 493_000, 1_774_800_000
        assert store.allow("per-hour", hour, 1)
        assert store.allow("per-second", second, 5)
        assert store.allow("per-second", second + 1, 5)
        assert not store.allow("per-hour", hour, 1)
        assert store.allow("per-hour", hour + 1, 1)
        assert not store.allow("per-second", second + 1, 1)

    # -- values -------------------------------------------------------------------

    @pytest.mark.parametrize("when", list(_TIMES.values()), ids=list(_TIMES))
    def test_times_round_trip_as_aware_utc(self, store: Store, when: datetime) -> None:
        link = make_link("t", created_at=when, expires_at=when - timedelta(microseconds=1))
        store.insert(link)
        store.delete("t", when)
        stored = store.get("t")
        assert stored is not None
        for got, want in (
            (stored.created_at, link.created_at),
            (stored.expires_at, link.expires_at),
            (stored.deleted_at, when),
        ):
            assert got == want
            assert got is not None
            assert got.utcoffset() == _UTC

    @pytest.mark.parametrize("field", ["created_at", "expires_at", "deleted_at"])
    def test_insert_refuses_naive_times(self, store: Store, field: str) -> None:
        times: dict[str, object] = {field: datetime(2026, 11, 28, 13, 0)}
        naive = make_link("n", None, **times)
        with pytest.raises(ValueError):  # noqa: PT011 - any wording
            store.insert(naive)
        assert store.get("n") is None
        assert store.insert(make_link("n")) is not None

    def test_delete_refuses_a_naive_time(self, store: Store) -> None:
        store.insert(make_link("n"))
        with pytest.raises(ValueError):  # noqa: PT011 - any wording
            store.delete("n", datetime(2026, 11, 28, 13, 0))
        assert store.get("n") == make_link("n")
        assert store.delete("n", T0)

    def test_urls_and_codes_round_trip_exactly(self, store: Store) -> None:
        url = "https://xn--bcher-kva.example/%C3%A4?q=a%20b&x=%27%22;--#frag"
        link = make_link("Az09_-", url)
        assert store.insert(link) == link
        assert store.get("Az09_-") == link

    # -- export and restore -------------------------------------------------------

    def test_export_yields_every_link_oldest_first_with_its_days(self, store: Store) -> None:
        store.insert(make_link("a"))
        store.insert(make_link("b", alias=True, expires_at=T0 + timedelta(days=1)))
        store.insert(make_link("c", max_visits=9))
        store.hit("a", "2026-11-29", count=2)
        store.hit("a", DAY)
        store.hit("c", DAY)
        store.delete("b", T0 + timedelta(seconds=1))
        exported = list(store.export())
        assert [(link.code, days) for link, days in exported] == [
            ("a", ((DAY, 1), ("2026-11-29", 2))),
            ("b", ()),
            ("c", ((DAY, 1),)),
        ]
        assert [link for link, _ in exported] == [store.get(code) for code in "abc"]
        assert exported[1][0].deleted_at == T0 + timedelta(seconds=1)

    def test_restore_keeps_every_field(self, store: Store) -> None:
        entries = _entries()
        assert store.restore(iter(entries)) == len(entries)
        assert list(store.export()) == entries
        for link, days in entries:
            assert store.get(link.code) == link
            assert store.daily(link.code, "1900-01-01") == list(days)
        # Insertion order, tombstones and dedupe carry on as if created here.
        assert [link.code for link in store.recent(10)] == ["r-used", "r-alias", "r-plain"]
        assert store.insert(make_link("r-gone", "https://example.com/new")) is None
        again = store.insert(make_link("other", "https://example.com/r-plain"))
        assert again == entries[0][0]
        assert store.hit("r-plain", DAY)
        plain = store.get("r-plain")
        assert plain is not None
        assert plain.hits == 8
        assert store.daily("r-plain", DAY) == [(DAY, 4), ("2026-11-30", 1)]

    def test_restore_skips_taken_codes_and_keeps_the_dedupe_rule(self, store: Store) -> None:
        url = "https://example.com/dup"
        store.insert(make_link("one", url))
        entries = [
            (make_link("one", "https://example.com/elsewhere", hits=5), ((DAY, 5),)),
            (make_link("two", url, hits=1), ((DAY, 1),)),
            (make_link("three"), ()),
        ]
        assert store.restore(entries) == 2
        assert store.get("one") == make_link("one", url)
        assert store.daily("one", DAY) == []
        assert store.get("two") == make_link("two", url, hits=1, alias=True)
        assert store.daily("two", DAY) == [(DAY, 1)]
        assert store.get("three") == make_link("three")
        dedupe = store.insert(make_link("four", url))
        assert dedupe is not None
        assert dedupe.code == "one"

    @pytest.mark.parametrize(
        ("link", "days"),
        [
            (make_link("n", created_at=datetime(2026, 1, 1)), ()),
            (make_link("n", hits=2), ((DAY, 1), (DAY, 1))),
            (make_link("n", hits=2), ((DAY, 0),)),
            (make_link("n", hits=2), ((DAY, 3),)),
            (make_link("n", hits=2), (("2026-11-31", 1),)),
            (make_link("n", hits=2), (("2026-W48-1", 1),)),
        ],
        ids=["naive-time", "day-twice", "zero-hits", "over-total", "no-such-day", "week-date"],
    )
    def test_restore_refuses_entries_it_cannot_keep(
        self, store: Store, link: Link, days: tuple[tuple[str, int], ...]
    ) -> None:
        with pytest.raises(ValueError, match="'n'"):
            store.restore([(link, days)])
        assert store.get("n") is None

    def test_export_and_restore_span_many_batches(self, store: Store) -> None:
        entries = [
            (
                make_link(f"b{i}", hits=i % 4, created_at=T0 + timedelta(microseconds=i)),
                ((DAY, i % 4),) if i % 4 else (),
            )
            for i in range(2345)
        ]
        assert store.restore(entries) == len(entries)
        assert list(store.export()) == entries
        assert [link.code for link in store.recent(2)] == ["b2344", "b2343"]

    def test_restore_writes_each_batch_before_reading_the_next(self, store: Store) -> None:
        entries = [
            (make_link(f"s{i}", created_at=T0 + timedelta(microseconds=i)), ())
            for i in range(2 * _RESTORE_BATCH + 1)
        ]
        unwritten: list[str] = []

        def stream() -> Iterator[tuple[Link, tuple[tuple[str, int], ...]]]:
            for i, entry in enumerate(entries):
                if i and i % _RESTORE_BATCH == 0:
                    # A batch holds at most _RESTORE_BATCH entries, so the one before
                    # this entry has been written. Asked from another thread: a store
                    # may hold a lock while it reads.
                    before = entries[i - _RESTORE_BATCH][0]
                    if _in_thread(functools.partial(store.get, before.code)) != before:
                        unwritten.append(before.code)
                yield entry

        assert store.restore(stream()) == len(entries)
        assert unwritten == [], (
            f"restore read {_RESTORE_BATCH} more entries before writing {unwritten}"
        )

    # -- lifecycle ----------------------------------------------------------------

    def test_blocking_is_a_bool(self, store: Store) -> None:
        assert isinstance(store.blocking, bool)

    @pytest.mark.parametrize("call", sorted(_CALLS))
    def test_an_unreachable_backend_raises_store_unavailable(
        self, unreachable_store: Store, call: str
    ) -> None:
        with pytest.raises(StoreUnavailable):
            _CALLS[call](unreachable_store)

    def test_ping_answers(self, store: Store) -> None:
        store.ping()  # raises StoreUnavailable when the store does not answer

    def test_close_is_idempotent(self, store: Store) -> None:
        store.insert(make_link("a"))
        store.close()
        store.close()

    def test_store_is_a_context_manager(self, store: Store) -> None:
        with store as entered:
            assert entered is store
            entered.insert(make_link("a"))
        store.close()

    # -- races between threads ----------------------------------------------------

    def test_threads_racing_on_one_code_get_one_success(self, store: Store) -> None:
        results = _race(8, lambda i: store.insert(make_link("race", f"https://e.com/{i}")))
        winners = [link for link in results if link is not None]
        assert len(winners) == 1
        assert store.get("race") == winners[0]

    def test_threads_racing_on_one_url_agree_on_one_code(self, store: Store) -> None:
        url = "https://example.com/same"
        results = _race(8, lambda i: store.insert(make_link(f"c{i}", url)))
        codes = {link.code for link in results if link is not None}
        assert len(codes) == 1
        assert len(results) == 8
        assert [link.code for link in store.recent(10)] == list(codes)

    def test_threads_hitting_count_every_hit_once(self, store: Store) -> None:
        store.insert(make_link("hot"))

        def visit(_: int) -> int:
            return sum(store.hit("hot", DAY) for _ in range(200))

        assert _race(8, visit) == [200] * 8
        link = store.get("hot")
        assert link is not None
        assert link.hits == 1600
        assert store.daily("hot", DAY) == [(DAY, 1600)]

    def test_threads_hitting_with_a_limit_stop_exactly_at_it(self, store: Store) -> None:
        store.insert(make_link("capped", max_visits=100))

        def visit(_: int) -> int:
            return sum(store.hit("capped", DAY, limit=100) for _ in range(50))

        assert sum(_race(8, visit)) == 100
        link = store.get("capped")
        assert link is not None
        assert link.hits == 100

    def test_threads_racing_on_allow_count_exactly(self, store: Store) -> None:
        allowed = _race(8, lambda _: sum(store.allow("k", 1, 20) for _ in range(10)))
        assert sum(allowed) == 20

    # -- a random walk against a model --------------------------------------------

    def test_matches_a_dict_model(self, store: Store) -> None:
        class Model(_ModelMachine):
            target = store

        run_state_machine_as_test(Model, settings=self.state_machine_settings())


def _entries() -> list[tuple[Link, tuple[tuple[str, int], ...]]]:
    """Links of every kind, as ``export`` yields them, for the restore tests."""
    return [
        (
            # More hits than days: hits counted before days were kept stay in the total.
            make_link("r-plain", hits=7),
            ((DAY, 3), ("2026-11-30", 1)),
        ),
        (
            make_link("r-gone", deleted_at=T0 + timedelta(days=2), hits=1),
            (("2026-11-29", 1),),
        ),
        (
            make_link(
                "r-alias",
                "https://example.com/r-plain",
                alias=True,
                expires_at=datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=timezone.utc),
            ),
            (),
        ),
        (
            make_link(
                "r-used",
                created_at=datetime(1969, 7, 20, 20, 17, 40, 1, tzinfo=timezone.utc),
                max_visits=2,
                hits=2,
            ),
            (("1969-07-20", 2),),
        ),
    ]


@dataclass
class _Expected:
    link: Link  # as inserted
    hits: int = 0
    deleted_at: Optional[datetime] = None
    days: dict[str, int] = field(default_factory=dict)

    def stored(self) -> Link:
        """The link as the store should return it now."""
        return self.link.replace(hits=self.hits, deleted_at=self.deleted_at)


#: How far one step moves the clock: a second, a minute, an hour, a day, days.
_STEPS = (1, 61, 3600, 86_400, 3 * 86_400 + 7)
#: Rate limits on one clock, as a caller keeps them: ``(key, window length in seconds,
#: limit)``. Their window numbers differ by orders of magnitude.
_RATES = (("sec", 1, 2), ("min", 60, 1), ("hour", 3600, 2), ("day", 86_400, 1))
#: The visit limit of the ``max_visits`` links: small, so that hits reach it.
_VISITS = 3
#: Plain links twice as often: they are the ones deduplicated.
_KINDS = ("plain", "plain", "alias", "expiry", "max_visits")
#: The highest pick names a code that was never inserted (see ``_pick``).
_MISSING = 8
_PICK = st.integers(0, _MISSING)


class _ModelMachine(RuleBasedStateMachine):
    """Random calls on ``store`` checked against dicts, on a clock that moves.

    Each example has its own prefix for codes, URLs and rate keys, so many examples
    share one store: this example's links are the newest in it, and only they are
    compared. The rules reach what the contract is about: codes are picked among the
    example's links (so hits, deletes and tombstones meet real links), and now and
    then a code that differs from one only by case; the clock crosses seconds, hours
    and days, so hits land on several days and ``daily`` has days to leave out;
    ``max_visits`` links are hit with their limit until it is reached; rate keys of
    four window lengths count on the same clock.
    """

    #: The store under test, set by a subclass made in the test.
    target: ClassVar[Store]
    _namespaces: ClassVar[Iterator[int]] = itertools.count()

    def __init__(self) -> None:
        super().__init__()
        self.store = self.target
        self.ns = f"m{next(self._namespaces)}-"
        self.now = T0
        self.links: dict[str, _Expected] = {}
        self.order: list[str] = []
        self.windows: dict[tuple[str, int], int] = {}

    def _code(self, suffix: str) -> str:
        return self.ns + suffix

    def _pick(self, pick: int) -> str:
        """A code of this example's links; for ``_MISSING``, that code in upper case,
        which was never inserted (suffixes are lower case)."""
        if not self.order:
            return self._code("A")
        code = self.order[pick % len(self.order)]
        if pick == _MISSING:
            return self.ns + code[len(self.ns) :].upper()
        return code

    def _day(self, back: int) -> str:
        return (self.now - timedelta(days=back)).date().isoformat()

    def _plain_code(self, url: str) -> Optional[str]:
        for code, expected in self.links.items():
            if expected.link.plain and expected.deleted_at is None and expected.link.url == url:
                return code
        return None

    @initialize(
        links=st.lists(
            st.tuples(st.sampled_from("abcd"), st.sampled_from("xy"), st.sampled_from(_KINDS)),
            max_size=6,
        ),
        hits=st.lists(st.tuples(_PICK, st.integers(0, 2), st.integers(1, 3)), max_size=6),
    )
    def start(self, links: list[tuple[str, str, str]], hits: list[tuple[int, int, int]]) -> None:
        # Most examples should have links to hit and delete from their first step, and
        # hits on more than one day (whichever rules hypothesis leaves out later).
        for suffix, page, kind in links:
            self.insert(suffix, page, kind)
        for pick, back, count in hits:
            self.hit(pick, back, count, None, 0)

    @rule(step=st.sampled_from(_STEPS))
    def advance(self, step: int) -> None:
        self.now += timedelta(seconds=step)

    @rule(
        suffix=st.sampled_from("abcd"),
        page=st.sampled_from("xy"),  # two URLs, so that links meet their duplicates
        kind=st.sampled_from(_KINDS),
    )
    def insert(self, suffix: str, page: str, kind: str) -> None:
        fields: dict[str, dict[str, object]] = {
            "plain": {},
            "alias": {"alias": True},
            "expiry": {"expires_at": self.now + timedelta(hours=1)},
            "max_visits": {"max_visits": _VISITS},
        }
        code = self._code(suffix)
        url = f"https://example.com/{self.ns}{page}"
        link = make_link(code, url, created_at=self.now, **fields[kind])
        result = self.store.insert(link)
        existing = self._plain_code(url) if link.plain else None
        if existing is not None:
            assert result == self.links[existing].stored()
            # Dedupe comes before the code check: whatever code is proposed.
            for other in self.order:
                again = self.store.insert(link.replace(code=other))
                assert again == self.links[existing].stored(), other
        elif code in self.links:
            assert result is None
        else:
            assert result == link
            self.links[code] = _Expected(link)
            self.order.append(code)

    @rule(pick=_PICK)
    def get(self, pick: int) -> None:
        code = self._pick(pick)
        expected = self.links.get(code)
        assert self.store.get(code) == (None if expected is None else expected.stored())
        # ... and never a link whose code differs from the one asked only by case.
        assert self.store.get(self._pick(_MISSING)) is None

    @rule(
        pick=_PICK,
        back=st.sampled_from((0, 0, 0, 1, 2)),
        count=st.integers(1, 3),
        slack=st.none() | st.integers(-2, 1),
        since=st.integers(0, 3),
    )
    def hit(self, pick: int, back: int, count: int, slack: Optional[int], since: int) -> None:
        code = self._pick(pick)
        expected = self.links.get(code)
        if slack is None:  # as the service calls it: the link's own visit limit
            limit = expected.link.max_visits if expected is not None else None
        else:  # a limit around the new total, where an off-by-one would show
            known = expected.hits if expected is not None else 0
            limit = max(0, known + count + slack)
        day = self._day(back)
        recorded = self.store.hit(code, day, count=count, limit=limit)
        should = (
            expected is not None
            and expected.deleted_at is None
            and (limit is None or expected.hits + count <= limit)
        )
        assert recorded == should
        if expected is not None and should:
            expected.hits += count
            expected.days[day] = expected.days.get(day, 0) + count
        # Each hit adds a day now and then, so the days are read back right away.
        self.daily(pick, since)

    @rule(pick=_PICK)
    def delete(self, pick: int) -> None:
        code = self._pick(pick)
        expected = self.links.get(code)
        should = expected is not None and expected.deleted_at is None
        assert self.store.delete(code, self.now) == should
        if expected is not None and should:
            expected.deleted_at = self.now
            # The tombstone at once: it is found, and it keeps its code from a new
            # link, even one of its own URL (which no live link dedupes to now).
            self.get(pick)
            self.insert(code[len(self.ns) :], expected.link.url[-1], "plain")
            assert not self.store.hit(code, self._day(0))

    @rule(pick=_PICK, back=st.integers(0, 3))
    def daily(self, pick: int, back: int) -> None:
        code = self._pick(pick)
        since = self._day(back)
        expected = self.links.get(code)
        days = expected.days if expected is not None else {}
        assert self.store.daily(code, since) == sorted(
            (day, n) for day, n in days.items() if day >= since
        )

    @rule(limit=st.integers(0, 6), after=st.none() | _PICK)
    def recent(self, limit: int, after: Optional[int]) -> None:
        cursor = None if after is None else self._pick(after)
        page = self.store.recent(limit, after=cursor)
        # A cursor that names no link (here one differing only by case) ends the list.
        assert self.store.recent(limit, after=self._pick(_MISSING)) == []
        assert len(page) <= limit
        if cursor is not None and cursor not in self.links:
            assert page == []
            return
        newest_first = self.order[::-1]
        if cursor is not None:
            newest_first = newest_first[newest_first.index(cursor) + 1 :]
        want = [
            self.links[code].stored()
            for code in newest_first
            if self.links[code].deleted_at is None
        ][:limit]
        assert page[: len(want)] == want
        # Whatever follows belongs to older examples (this one's links are the newest).
        assert not any(link.code.startswith(self.ns) for link in page[len(want) :])
        if len(want) == limit:
            assert len(page) == limit

    @rule(
        burst=st.lists(
            st.tuples(st.sampled_from(_RATES), st.sampled_from((False, False, True))),
            min_size=1,
            max_size=6,
        )
    )
    def allow(self, burst: list[tuple[tuple[str, int, int], bool]]) -> None:
        # Events of several keys in a row, as clients send them, the clock now and
        # then moving on to the key's next window: the limits are small, so bursts
        # reach them; the next window must start from zero; and each key's counters
        # must be left alone by the other keys' (whose window numbers are far apart).
        for (name, length, limit), next_window in burst:
            if next_window:
                self.now += timedelta(seconds=length)
            key = self.ns + name
            window = int(self.now.timestamp()) // length
            counted = self.windows.get((key, window), 0)
            assert self.store.allow(key, window, limit) == (counted < limit), name
            if counted < limit:
                self.windows[(key, window)] = counted + 1

    @rule()
    def export(self) -> None:
        mine = [entry for entry in self.store.export() if entry[0].code.startswith(self.ns)]
        assert mine == [
            (self.links[code].stored(), tuple(sorted(self.links[code].days.items())))
            for code in self.order
        ]

    # Hypothesis leaves some rules out of each example (swarm testing), so what every
    # rule can break is also checked after every step and at the end of the example.

    @invariant()
    def links_match(self) -> None:
        for code, expected in self.links.items():
            assert self.store.get(code) == expected.stored(), code
            yesterday = self._day(1)
            assert self.store.daily(code, yesterday) == sorted(
                (day, n) for day, n in expected.days.items() if day >= yesterday
            ), code
        live = [self.links[code].stored() for code in self.order[::-1]]
        live = [link for link in live if link.deleted_at is None]
        assert self.store.recent(len(live))[: len(live)] == live

    def teardown(self) -> None:
        self.export()
        for code, expected in self.links.items():
            assert self.store.daily(code, "1970-01-01") == sorted(expected.days.items())
        # The whole list, two links a page, each page after the last one's code.
        live = [code for code in self.order[::-1] if self.links[code].deleted_at is None]
        seen: list[str] = []
        while len(seen) < len(live):
            page = self.store.recent(2, after=seen[-1] if seen else None)
            assert page, seen
            seen += [link.code for link in page]
        assert seen[: len(live)] == live
        assert self.store.recent(2, after=self._pick(_MISSING)) == []
