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
times refused, time round-trips, export and restore (in batches), editing (``update``
as a compare-and-set on the revision, the dedupe rule across edits, visit limits after
an edit), ``search`` (states, tags, text folded for ASCII only with ``%`` and ``_``
taken literally, each order, whole results page by page), ``tags`` (in code-point
order), ``changes`` and ``lookup`` (what a cache relies on), the lifecycle, races
between threads, and a hypothesis state machine that checks random calls against a
dict model. Each rule of ``minilink.storage.base`` has its own test, and
minilink's own suite proves each one with a store that breaks that rule alone
(``tests/testing/_broken_stores.py``). Cross-process races depend on how a backend
is deployed, so they live in the backend's own tests.

Three optional hooks: a fixture ``unreachable_store`` (a store whose backend does not
answer, to check that every method raises ``StoreUnavailable`` rather than a
driver's error; without it those tests skip), a fixture ``other_store`` (a second
store object opened on the same data as ``store``, as another process would open it:
it must see ``changes()`` move and ``lookup`` change when ``store`` writes; without
it those tests skip), and ``state_machine_settings()`` (the state machine's
hypothesis settings: 50 examples of up to 40 steps by default).

The tests only use the ``store`` they are given, and only ever call ``close()`` on
it in the lifecycle tests (close is idempotent, so the fixture may close it again).
The state machine runs many examples on that one store: each example works in its
own code, URL and rate-key namespace and compares only what it can see of its own
links. Its clock moves by seconds, hours and days, so that hits land on several days,
links are deleted and their tombstones meet new links, visit limits are reached and
rate keys of four window lengths count side by side; links are edited over right and
stale revisions and searched by every state, order, tag and a few texts, compared
with ``Search.matches`` and the reference order on the example's links. What a rule
can break is also checked after every step, and searches and tags at the end of each
example, because hypothesis leaves some rules out of each example.

Needs the ``test`` extra (pytest and hypothesis).
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import threading
import warnings
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Callable, ClassVar, Optional, TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import HypothesisDeprecationWarning
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from minilink.core.errors import StoreUnavailable
from minilink.core.links import SORTS, STATES, Link, Search
from minilink.storage.base import Store

__all__ = ["DAY", "T0", "StoreContract", "make_link"]

_T = TypeVar("_T")

#: A creation time with microseconds, so that every round-trip test checks them.
T0 = datetime(2026, 11, 28, 13, 0, 0, 123456, tzinfo=timezone.utc)
#: The day most contract tests record their hits on.
DAY = "2026-11-28"

_UTC = timedelta(0)
_HOUR = timedelta(hours=1)


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
    "counted": lambda s: s.counted("k", 1),
    "totals": lambda s: s.totals(DAY),
    "ping": lambda s: s.ping(),
    "export": lambda s: list(s.export()),
    "restore": lambda s: s.restore([(make_link("u"), ())]),
    "update": lambda s: s.update(make_link("u", title="x")),
    "search": lambda s: s.search(Search(now=T0)),
    "tags": lambda s: s.tags(),
    "changes": lambda s: s.changes(),
    "lookup": lambda s: s.lookup("u"),
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

    @pytest.fixture
    def other_store(self) -> Store:
        """Overridden by a backend whose data outlives a store object (a file, a
        server): yield a second store opened on the data of this test's ``store``, as
        another process would open it, then close it. Without it the tests that need
        one are skipped."""
        pytest.skip("no 'other_store' fixture: this backend's data lives in one object")

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

    def test_counted_reads_what_allow_counted_and_counts_nothing(self, store: Store) -> None:
        assert store.counted("reader", 5) == 0
        assert store.allow("reader", 5, 3)
        assert store.allow("reader", 5, 3)
        assert [store.counted("reader", 5) for _ in range(3)] == [2, 2, 2]
        assert store.counted("reader", 6) == 0
        assert store.counted("other", 5) == 0
        assert store.allow("reader", 5, 3)  # reading spent none of the limit
        assert not store.allow("reader", 5, 3)
        assert store.counted("reader", 5) == 3

    def test_totals_count_links_and_hits_per_day(self, store: Store) -> None:
        assert store.totals("2000-01-01") == (0, [])
        for code in ("a", "b", "c"):
            store.insert(make_link(code))
        store.hit("a", "2026-11-27", count=2)
        store.hit("a", "2026-11-28")
        store.hit("b", "2026-11-28", count=4)
        store.hit("c", "2026-11-26")
        store.delete("c", T0)
        assert store.totals("2026-11-27") == (2, [("2026-11-27", 2), ("2026-11-28", 5)])
        assert store.totals("2026-11-29") == (2, [])

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

    @pytest.mark.parametrize("field", ["created_at", "expires_at", "deleted_at", "updated_at"])
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

    # -- update: compare-and-set on the revision ----------------------------------

    def test_update_over_the_right_revision_wins_and_counts_it(self, store: Store) -> None:
        store.insert(make_link("e"))
        first = make_link("e", "https://example.com/new", title="New", updated_at=T0 + _HOUR)
        stored = store.update(first)
        assert stored == first.replace(revision=1)
        assert store.get("e") == stored
        second = stored.replace(tags=("a",), updated_at=T0 + 2 * _HOUR)
        assert store.update(second) == second.replace(revision=2)
        assert store.get("e") == second.replace(revision=2)

    @pytest.mark.parametrize("revision", [0, 2, 7, -1], ids=["older", "newer", "far", "negative"])
    def test_update_over_another_revision_changes_nothing(
        self, store: Store, revision: int
    ) -> None:
        store.insert(make_link("e"))
        current = store.update(make_link("e", title="one"))
        assert current is not None
        assert current.revision == 1
        stale = make_link("e", "https://example.com/lost", title="two", revision=revision)
        assert store.update(stale) is None
        assert store.get("e") == current
        assert store.update(current.replace(title="three")) == current.replace(
            title="three", revision=2
        )

    def test_delete_at_a_revision_is_a_compare_and_set(self, store: Store) -> None:
        store.insert(make_link("d"))
        edited = store.update(make_link("d", title="one"))
        assert edited is not None
        for stale in (0, 2, -1):
            assert store.delete("d", T0 + _HOUR, revision=stale) is False
            assert store.get("d") == edited
        assert store.delete("d", T0 + _HOUR, revision=1) is True
        tombstone = store.get("d")
        assert tombstone is not None
        assert tombstone.deleted_at == T0 + _HOUR
        assert store.delete("d", T0 + 2 * _HOUR, revision=1) is False
        assert store.get("d") == tombstone
        assert store.delete("never", T0, revision=0) is False

    def test_threads_updating_one_revision_get_one_winner(self, store: Store) -> None:
        store.insert(make_link("race"))
        results = _race(
            8, lambda i: store.update(make_link("race", f"https://e.com/{i}", title=f"t{i}"))
        )
        winners = [link for link in results if link is not None]
        assert len(winners) == 1, results
        assert winners[0].revision == 1
        assert store.get("race") == winners[0]

    def test_hits_leave_the_revision_alone(self, store: Store) -> None:
        # An ETag names an edit, not a visit: a popular link must stay editable.
        store.insert(make_link("h", max_visits=10))
        read = store.get("h")
        assert read is not None
        store.hit("h", DAY, count=2)
        store.hit("h", DAY, limit=10)
        link = store.get("h")
        assert link is not None
        assert link.revision == read.revision == 0
        edited = store.update(read.replace(title="after visits"))
        assert edited is not None
        assert edited.revision == 1
        assert edited.hits == 3

    def test_update_of_a_missing_code_or_a_tombstone_is_none(self, store: Store) -> None:
        assert store.update(make_link("never", title="x")) is None
        assert store.get("never") is None
        store.insert(make_link("gone"))
        store.hit("gone", DAY)
        store.delete("gone", T0 + _HOUR)
        tombstone = store.get("gone")
        assert store.update(make_link("gone", "https://example.com/back", title="x")) is None
        assert store.get("gone") == tombstone
        # ... nor does a case variant of a live code find it.
        store.insert(make_link("Live"))
        assert store.update(make_link("live", title="x")) is None
        assert store.get("Live") == make_link("Live")
        assert store.get("live") is None

    def test_update_keeps_created_at_hits_and_deleted_at(self, store: Store) -> None:
        store.insert(make_link("k"))
        store.hit("k", DAY, count=3)
        edit = make_link(
            "k",
            "https://example.com/k2",
            created_at=T0 + timedelta(days=9),
            hits=99,
            deleted_at=T0 + _HOUR,
            title="kept?",
        )
        stored = store.update(edit)
        want = make_link("k", "https://example.com/k2", hits=3, title="kept?", revision=1)
        assert stored == want
        assert store.get("k") == want
        assert store.hit("k", DAY)
        assert store.daily("k", DAY) == [(DAY, 4)]

    def test_update_refuses_naive_times(self, store: Store) -> None:
        store.insert(make_link("n"))
        for name in ("expires_at", "updated_at"):
            times: dict[str, object] = {"title": "x", name: datetime(2026, 11, 28, 13, 0)}
            with pytest.raises(ValueError):  # noqa: PT011 - any wording
                store.update(make_link("n", None, **times))
            assert store.get("n") == make_link("n"), name

    def test_every_new_field_round_trips(self, store: Store) -> None:
        offset = timezone(timedelta(hours=-3, minutes=-30))
        full = make_link(
            "full",
            title="Größe \U0001f469\u200d\U0001f4bb \u05e9\u05dc\u05d5\u05dd '%_\\",
            tags=("zeta", "a-b", "a_b", "0"),
            redirect_status=308,
            forward_query=True,
            fallback_url="https://example.com/fallback?x=%C3%A9#f",
            password_hash="scrypt$15$8$1$c2FsdA==$a2V5",
            updated_at=T0 + timedelta(microseconds=1),
            revision=4,
        )
        assert store.insert(full) == full
        assert store.get("full") == full
        bare = make_link("bare")
        store.insert(bare)
        [mine, other] = [link for link, _ in store.export()]
        assert (mine, other) == (full, bare)
        # Every field set at once, then every one cleared again.
        edited = make_link(
            "bare",
            "https://example.com/edited",
            expires_at=T0 + timedelta(days=3, microseconds=5),
            max_visits=7,
            title="\u212a\u0130",
            tags=("only",),
            redirect_status=301,
            forward_query=True,
            fallback_url="https://example.org/",
            password_hash="pbkdf2-sha256$600000$c2FsdA==$a2V5",
            updated_at=datetime(2026, 11, 29, 8, 0, 0, 654321, tzinfo=offset),
        )
        stored = store.update(edited)
        assert stored == edited.replace(revision=1)
        assert store.get("bare") == stored
        assert stored.updated_at is not None
        assert stored.updated_at.utcoffset() == _UTC
        cleared = make_link("bare", updated_at=T0 + _HOUR, revision=1)
        assert store.update(cleared) == cleared.replace(revision=2)
        assert store.get("bare") == cleared.replace(revision=2)
        # Restore carries them too: a copy of the full link under a new code.
        copy = full.replace(code="copy", url="https://example.com/copy")
        assert store.restore([(copy, ())]) == 1
        assert store.get("copy") == copy
        assert [link for link, _ in store.export()] == [full, cleared.replace(revision=2), copy]

    def test_any_link_round_trips_through_insert_update_and_export(self, store: Store) -> None:
        # Values drawn by the kit's strategies (any script in titles, any tag case,
        # times from 1900 to 9999 at any offset), as the service would store them.
        numbers = itertools.count()

        @settings(
            max_examples=40,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow],
        )
        @given(first=_link_fields(), second=_link_fields())
        def round_trip(first: dict[str, object], second: dict[str, object]) -> None:
            n = next(numbers)
            link = make_link(f"rt{n}", f"https://example.com/rt/{n}", **first)
            assert store.insert(link) == link
            assert store.get(link.code) == link
            edit = make_link(link.code, f"https://example.com/rt/{n}/e", **second)
            stored = store.update(edit.replace(revision=link.revision))
            want = edit.replace(created_at=link.created_at, revision=link.revision + 1)
            assert stored == want
            assert store.get(link.code) == want
            for got in (stored, store.get(link.code)):
                assert got is not None
                for moment in (got.created_at, got.expires_at, got.updated_at):
                    assert moment is None or moment.utcoffset() == _UTC

        with _drivers_may_use_random():
            round_trip()
        exported = {link.code: link for link, _ in store.export()}
        assert len(exported) == next(numbers)
        for code, link in exported.items():
            assert store.get(code) == link

    # -- update and the dedupe rule -----------------------------------------------

    def test_an_edit_to_a_url_with_a_plain_link_is_stored_as_an_alias(self, store: Store) -> None:
        one, two = "https://example.com/one", "https://example.com/two"
        store.insert(make_link("a", one))
        store.insert(make_link("b", two))
        moved = store.update(make_link("b", one))
        assert moved == make_link("b", one, alias=True, revision=1)
        assert store.get("b") == moved
        # The original plain link still answers for its URL...
        again = store.insert(make_link("c", one))
        assert again == make_link("a", one)
        # ... and the URL "b" left is free for a new plain link.
        fresh = store.insert(make_link("d", two))
        assert fresh == make_link("d", two)
        same = store.insert(make_link("e", two))
        assert same is not None
        assert same.code == "d"

    def test_an_edit_that_keeps_a_plain_link_plain_keeps_it_deduplicated(
        self, store: Store
    ) -> None:
        url = "https://example.com/p"
        store.insert(make_link("p", url))
        edited = store.update(make_link("p", url, updated_at=T0 + _HOUR))
        assert edited == make_link("p", url, updated_at=T0 + _HOUR, revision=1)
        again = store.insert(make_link("q", url))
        assert again == edited
        # Moved to another URL and back, it is still the plain link of each in turn.
        there = store.update(edited.replace(url="https://example.com/there"))
        assert there is not None
        assert not there.alias
        fresh = store.insert(make_link("r", url))
        assert fresh == make_link("r", url)

    def test_an_edit_that_makes_a_link_plain_enters_the_dedupe_index(self, store: Store) -> None:
        url = "https://example.com/t"
        store.insert(make_link("t", url, title="titled", tags=("x",)))
        plain = make_link("u", url)
        assert store.insert(plain) == plain  # a titled link is not deduplicated
        store.delete("u", T0)
        made_plain = store.update(make_link("t", url))
        assert made_plain == make_link("t", url, revision=1)
        again = store.insert(make_link("v", url))
        assert again == made_plain

    def test_an_edit_that_makes_a_plain_link_special_leaves_the_dedupe_index(
        self, store: Store
    ) -> None:
        url = "https://example.com/s"
        store.insert(make_link("s", url))
        special = store.update(make_link("s", url, redirect_status=307))
        assert special == make_link("s", url, redirect_status=307, revision=1)
        fresh = make_link("t", url)
        assert store.insert(fresh) == fresh
        # A second plain edit onto that URL now meets "t", and becomes an alias.
        assert store.update(special.replace(redirect_status=None)) == make_link(
            "s", url, alias=True, revision=2
        )
        again = store.insert(make_link("w", url))
        assert again == fresh

    def test_hits_with_a_limit_follow_an_edited_max_visits(self, store: Store) -> None:
        store.insert(make_link("m", max_visits=2))

        def visit() -> bool:
            link = store.get("m")
            assert link is not None
            return store.hit("m", DAY, limit=link.max_visits)

        assert [visit(), visit(), visit()] == [True, True, False]
        raised = store.update(make_link("m", max_visits=4))
        assert raised is not None
        assert raised.hits == 2
        assert raised.max_visits == 4
        assert [visit(), visit(), visit()] == [True, True, False]
        lowered = store.update(raised.replace(max_visits=1))
        assert lowered is not None
        assert lowered.hits == 4
        assert not visit()
        unlimited = store.update(lowered.replace(max_visits=None))
        assert unlimited is not None
        assert visit()
        link = store.get("m")
        assert link is not None
        assert link.hits == 5
        assert store.daily("m", DAY) == [(DAY, 5)]

    # -- search -------------------------------------------------------------------

    def test_search_keeps_the_links_of_each_state(self, store: Store) -> None:
        now = T0 + timedelta(days=1)
        store.insert(make_link("live"))
        store.insert(make_link("later", expires_at=now + timedelta(microseconds=1)))
        store.insert(make_link("past", expires_at=now))
        store.insert(make_link("used", max_visits=2))
        store.hit("used", DAY, count=2)
        store.insert(make_link("room", max_visits=3))
        store.hit("room", DAY, count=2)
        store.insert(make_link("gone"))
        store.delete("gone", T0)
        store.insert(make_link("gone-expired", expires_at=T0))
        store.delete("gone-expired", now)
        want = {
            "live": ["room", "later", "live"],
            "expired": ["used", "past"],
            "deleted": ["gone-expired", "gone"],
            "all": ["gone-expired", "gone", "room", "used", "past", "later", "live"],
        }
        for state, codes in want.items():
            found = store.search(Search(now=now, state=state))
            assert [link.code for link in found] == codes, state
            assert found == [store.get(code) for code in codes], state

    def test_search_by_tag(self, store: Store) -> None:
        store.insert(make_link("a", tags=("news", "tech")))
        store.insert(make_link("b", tags=("tech",)))
        store.insert(make_link("c", tags=("news",)))
        store.insert(make_link("d", tags=("newsletter",)))
        store.insert(make_link("e", tags=("news",)))
        store.delete("e", T0)
        now = T0 + _HOUR
        assert [link.code for link in store.search(Search(now=now, tag="news"))] == ["c", "a"]
        assert [link.code for link in store.search(Search(now=now, tag="tech"))] == ["b", "a"]
        assert [link.code for link in store.search(Search(now=now, tag="newsletter"))] == ["d"]
        assert store.search(Search(now=now, tag="new")) == []
        assert store.search(Search(now=now, tag="News")) == []
        deleted = store.search(Search(now=now, tag="news", state="deleted"))
        assert [link.code for link in deleted] == ["e"]
        assert [link.code for link in store.search(Search(now=now, tag="news", state="all"))] == [
            "e",
            "c",
            "a",
        ]

    def test_search_text_folds_ascii_case_only(self, store: Store) -> None:
        store.insert(make_link("AbC"))
        store.insert(make_link("x1", "https://Example.org/PATH?Q=1"))
        store.insert(make_link("x2", title="Straße ÉCOLE Kelvin"))
        store.insert(make_link("x3", title="école"))
        store.insert(make_link("x4", title="\u212a"))  # the Kelvin sign
        now = T0 + _HOUR

        def codes(text: str) -> list[str]:
            return [link.code for link in store.search(Search(now=now, text=text))]

        assert codes("abc") == ["AbC"]
        assert codes("ABC") == ["AbC"]
        assert codes("example.ORG/path?q") == ["x1"]
        assert codes("kelvin") == ["x2"]
        assert codes("straße") == ["x2"]
        assert codes("STRASSE") == []
        assert codes("École") == ["x2"]  # É is not an ASCII letter: kept as it is
        assert codes("école") == ["x3"]
        assert codes("ÉCOLE") == ["x2"]
        assert codes("k") == ["x2"]  # never the Kelvin sign
        assert codes("\u212a") == ["x4"]
        assert codes("https://example.com/x") == ["x4", "x3", "x2"]

    def test_search_text_takes_like_wildcards_literally(self, store: Store) -> None:
        store.insert(make_link("p1", title="100% sure"))
        store.insert(make_link("p2", title="1000 sure"))
        store.insert(make_link("u1", title="snake_case"))
        store.insert(make_link("u2", title="snakeXcase"))
        store.insert(make_link("b1", title="back\\slash"))
        store.insert(make_link("b2", title="backslash"))
        store.insert(make_link("q1", title='it\'s "quoted"'))
        now = T0 + _HOUR

        def codes(text: str) -> list[str]:
            return [link.code for link in store.search(Search(now=now, text=text))]

        assert codes("%") == ["p1"]
        assert codes("0% s") == ["p1"]
        assert codes("_") == ["u1"]
        assert codes("e_c") == ["u1"]
        assert codes("\\") == ["b1"]
        assert codes("k\\s") == ["b1"]
        assert codes("\\%") == []
        assert codes("'s \"") == ["q1"]
        assert codes("%%") == []
        assert codes("*") == []

    @pytest.mark.parametrize("sort", SORTS)
    def test_search_sorts(self, store: Store, sort: str) -> None:
        # Inserted in this order; created_at runs the other way, so that "created"
        # must mean insertion order, newest first, as recent() has it.
        for i, code in enumerate(("a", "b", "c", "d", "e")):
            store.insert(make_link(code, created_at=T0 - timedelta(minutes=i)))
        for code, hits in (("a", 3), ("c", 3), ("d", 1), ("e", 9)):
            store.hit(code, DAY, count=hits)
        for code, minutes in (("a", 30), ("b", -30), ("d", 30)):
            link = store.get(code)
            assert link is not None
            store.update(link.replace(updated_at=T0 + timedelta(minutes=minutes)))
        want = {
            "created": ["e", "d", "c", "b", "a"],
            "hits": ["e", "c", "a", "d", "b"],
            # a and d at T0+30min (d inserted later), c at T0-2min, e at T0-4min,
            # b edited to T0-30min.
            "updated": ["d", "a", "c", "e", "b"],
        }[sort]
        found = store.search(Search(now=T0, sort=sort))
        assert [link.code for link in found] == want
        assert [link.code for link in store.search(Search(now=T0, sort=sort, limit=2))] == want[:2]

    @pytest.mark.parametrize("sort", SORTS)
    def test_search_pages_through_a_whole_result(self, store: Store, sort: str) -> None:
        for i in range(23):
            store.insert(
                make_link(
                    f"p{i:02}",
                    created_at=T0 + timedelta(minutes=(i * 7) % 5),
                    tags=("even",) if i % 2 == 0 else (),
                    max_visits=3 if i % 5 == 0 else None,
                )
            )
            if i % 3:
                store.hit(f"p{i:02}", DAY, count=i % 4 or 1)
            if i % 7 == 1:
                store.delete(f"p{i:02}", T0)
        for i in range(0, 23, 4):
            link = store.get(f"p{i:02}")
            assert link is not None
            if link.deleted_at is None:
                store.update(link.replace(updated_at=T0 + timedelta(minutes=i % 3)))
        for state in ("live", "all"):
            for tag in (None, "even"):
                query = Search(now=T0 + _HOUR, sort=sort, state=state, tag=tag, limit=1000)
                whole = store.search(query)
                assert whole, (state, tag)
                for size in (1, 2, 5):
                    pages: list[Link] = []
                    after: Optional[str] = None
                    for _ in range(len(whole) + 1):
                        page = store.search(
                            Search(
                                now=query.now,
                                sort=sort,
                                state=state,
                                tag=tag,
                                limit=size,
                                after=after,
                            )
                        )
                        assert len(page) <= size
                        if not page:
                            break
                        pages += page
                        after = page[-1].code
                    assert pages == whole, (state, tag, size)

    def test_search_after_an_unknown_code_is_empty(self, store: Store) -> None:
        for code in ("a", "b", "c"):
            store.insert(make_link(code))
        now = T0 + _HOUR
        assert [link.code for link in store.search(Search(now=now, after="c"))] == ["b", "a"]
        for sort in SORTS:
            assert store.search(Search(now=now, sort=sort, after="zzz")) == [], sort
            assert store.search(Search(now=now, sort=sort, after="C")) == [], sort
        assert store.search(Search(now=now, limit=0)) == []

    # -- tags ---------------------------------------------------------------------

    def test_tags_count_links_by_tag_without_tombstones(self, store: Store) -> None:
        assert store.tags() == []
        store.insert(make_link("a", tags=("b", "a-b")))
        store.insert(make_link("b", tags=("a_b", "b", "a0")))
        store.insert(make_link("c", tags=("ab",), expires_at=T0))  # expired still counts
        store.insert(make_link("d", tags=("b", "gone")))
        store.delete("d", T0)
        store.insert(make_link("e"))
        # Ordered by code point: "-" < "0" < "_" < "b", whatever a collation says.
        assert store.tags() == [("a-b", 1), ("a0", 1), ("a_b", 1), ("ab", 1), ("b", 2)]
        link = store.get("a")
        assert link is not None
        store.update(link.replace(tags=("ab", "new")))
        assert store.tags() == [("a0", 1), ("a_b", 1), ("ab", 2), ("b", 1), ("new", 1)]

    # -- lookup: what redirects read --------------------------------------------

    def test_lookup_sees_every_edit_and_delete_at_once(self, store: Store) -> None:
        store.insert(make_link("a"))
        store.insert(make_link("m", max_visits=3))
        for code in ("a", "m", "a", "m"):  # read twice: a cache has them now
            assert _same(store.lookup(code), store.get(code)), code
        store.hit("m", DAY)
        m = store.lookup("m")
        assert m is not None
        assert m.hits == 1  # a visit limit needs the exact count
        edited = store.update(make_link("a", "https://example.com/moved", title="t"))
        assert _same(store.lookup("a"), edited)
        store.delete("a", T0)
        looked = store.lookup("a")
        assert looked is not None
        assert looked.deleted_at == T0
        assert store.lookup("never") is None

    def test_lookup_sees_changes_by_another_store_at_once(
        self, store: Store, other_store: Store
    ) -> None:
        store.insert(make_link("a"))
        store.insert(make_link("b"))
        for code in ("a", "b", "a", "b"):
            assert _same(store.lookup(code), store.get(code)), code
        edited = other_store.update(make_link("a", "https://example.com/moved", title="t"))
        assert edited is not None
        assert _same(store.lookup("a"), edited)
        assert other_store.delete("b", T0)
        looked = store.lookup("b")
        assert looked is not None
        assert looked.deleted_at == T0

    # -- changes ------------------------------------------------------------------

    def test_changes_differ_after_every_update_delete_and_restore(self, store: Store) -> None:
        store.insert(make_link("a"))
        store.insert(make_link("b"))
        seen = [store.changes()]
        edited = store.update(make_link("a", title="x"))
        assert edited is not None
        seen.append(store.changes())
        store.update(edited.replace(title="y"))
        seen.append(store.changes())
        store.delete("a", T0)
        seen.append(store.changes())
        store.restore([(make_link("r"), ())])
        seen.append(store.changes())
        store.delete("b", T0)
        seen.append(store.changes())
        # Every value new: a cache that saw any earlier one knows it is stale.
        assert len(set(seen)) == len(seen), seen

    def test_changes_stay_the_same_through_hits_and_reads(self, store: Store) -> None:
        store.insert(make_link("a", tags=("t",)))
        store.insert(make_link("b", max_visits=1))
        before = store.changes()
        store.hit("a", DAY, count=2)
        store.hit("b", DAY, limit=1)
        store.hit("b", DAY, limit=1)
        store.get("a")
        store.daily("a", DAY)
        store.recent(10)
        store.search(Search(now=T0, state="all"))
        store.tags()
        list(store.export())
        assert store.changes() == before

    def test_changes_are_seen_by_another_store_on_the_same_data(
        self, store: Store, other_store: Store
    ) -> None:
        store.insert(make_link("a"))
        store.insert(make_link("b"))
        seen = [other_store.changes()]
        edited = store.update(make_link("a", title="x"))
        assert edited is not None
        seen.append(other_store.changes())
        assert other_store.get("a") == edited
        store.hit("a", DAY)
        assert other_store.changes() == seen[-1]
        store.delete("a", T0)
        seen.append(other_store.changes())
        store.restore([(make_link("r"), ())])
        seen.append(other_store.changes())
        assert len(set(seen)) == len(seen), seen
        # ... and the other way round.
        other_store.delete("b", T0)
        assert store.changes() != seen[-1]
        tombstone = store.get("b")
        assert tombstone is not None
        assert tombstone.deleted_at == T0

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

    def test_threads_hitting_during_edits_lose_no_hit(self, store: Store) -> None:
        store.insert(make_link("busy"))
        edits: list[int] = []

        def work(index: int) -> None:
            if index < 2:  # two editors, each reading again when the other won
                for n in range(15):
                    for _ in range(1000):  # bounded: a store that never accepts fails
                        link = store.get("busy")
                        assert link is not None
                        if store.update(link.replace(title=f"e{index}-{n}")) is not None:
                            edits.append(1)
                            break
                    else:
                        raise AssertionError("update refused the revision just read")
            else:
                for _ in range(100):
                    assert store.hit("busy", DAY)

        _race(6, work)
        link = store.get("busy")
        assert link is not None
        assert link.hits == 400
        assert link.revision == len(edits) == 30
        assert store.daily("busy", DAY) == [(DAY, 400)]

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

        with _drivers_may_use_random():
            run_state_machine_as_test(Model, settings=self.state_machine_settings())


@contextlib.contextmanager
def _drivers_may_use_random() -> Iterator[None]:
    """Hypothesis warns when the global ``random`` state moves while it draws, taking
    it for a strategy using ``random``; a driver's own threads move it too (psycopg's
    pool draws the jitter of its connections' lifetimes there), which is no fault of
    the strategies. Only that warning is silenced, and only in this thread."""
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore",
            message="Do not use the `random` module inside strategies",
            category=HypothesisDeprecationWarning,
        )
        yield


_MOMENTS = st.datetimes(
    min_value=datetime(1900, 1, 1),
    max_value=datetime(9999, 12, 30),
    timezones=st.sampled_from(
        (timezone.utc, timezone(timedelta(hours=5, minutes=45)), timezone(timedelta(hours=-11)))
    ),
)


@st.composite
def _link_fields(draw: st.DrawFn) -> dict[str, object]:
    """The fields of a link other than code and URL, as the service stores them."""
    from minilink.core.options import check_tags
    from minilink.core.urls import normalise_url
    from minilink.testing import strategies

    maybe = st.booleans()
    fallback = draw(strategies.valid_urls()) if draw(maybe) else None
    return {
        "created_at": draw(_MOMENTS),
        "expires_at": draw(st.none() | _MOMENTS),
        "max_visits": draw(st.none() | st.integers(1, 2**31 - 1)),
        "alias": draw(maybe),
        "title": draw(st.none() | strategies.titles()),
        "tags": check_tags(draw(strategies.tag_lists())),
        "redirect_status": draw(strategies.redirect_statuses()),
        "forward_query": draw(maybe),
        "fallback_url": None if fallback is None else normalise_url(fallback),
        "password_hash": draw(
            st.none()
            | st.sampled_from(("scrypt$15$8$1$c2FsdA==$a2V5", "pbkdf2-sha256$1$eA==$eQ=="))
        ),
        "updated_at": draw(st.none() | _MOMENTS),
    }


def _same(looked: Optional[Link], link: Optional[Link]) -> bool:
    """Whether ``lookup`` gave ``link``: the same in everything, except that the hits
    of a link without a visit limit may be older (``Store.lookup``)."""
    if looked is None or link is None:
        return looked is link
    if link.max_visits is None:
        return looked.replace(hits=link.hits) == link
    return looked == link


def _paged(query: Search, limit: int, after: Optional[str]) -> Search:
    """``query`` with another page size and cursor."""
    return Search(
        now=query.now,
        text=query.text,
        tag=query.tag,
        state=query.state,
        sort=query.sort,
        limit=limit,
        after=after,
    )


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
    link: Link  # as inserted or last updated
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
_KINDS = ("plain", "plain", "alias", "expiry", "max_visits", "tagged")
#: What an ``update`` of the machine changes (``plain`` takes every option away).
_EDITS = ("url", "title", "tags", "plain", "plain", "limit", "expiry", "options")
#: Titles the machine gives: ASCII case, non-ASCII letters, LIKE wildcards, the
#: Kelvin sign (which Unicode, not ASCII, lower-cases to "k").
_TITLES = (None, "Titled", "100% ÉCOLE", "snake_case", "\u212a")
#: Tags, after the example's prefix: in code-point order "-" < "0" < "_" < "b".
_TAGS = ("a-b", "a0", "a_b", "ab")
#: Texts searched for (``{ns}`` is the example's prefix, which scopes a search to it).
_TEXTS = (None, "{ns}", "{NS}", "{NS}Y", "/{ns}x", "titled", "100%", "école", "_case", "k", "%")
#: How the revision an ``update`` is given relates to the stored one.
_REVISIONS = ("right", "right", "right", "older", "newer")
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
    four window lengths count on the same clock. Updates come over the right revision
    and stale ones, change URLs (meeting the other URL's plain link), options, limits
    and expiry; searches and tags are compared with ``Search.matches`` and the
    reference order on this example's links (their tags and the text ``{ns}`` scope a
    search to them, so its pages are compared whole); ``changes()`` must move at
    every update and delete and stay still through hits and reads.
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
        self.seen = self.store.changes()

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

    def _changed(self) -> None:
        """After an update or a delete: ``changes()`` has a new value."""
        now = self.store.changes()
        assert now != self.seen, "changes() did not move"
        self.seen = now

    def _unchanged(self) -> None:
        """After hits and reads: ``changes()`` is what it was."""
        assert self.store.changes() == self.seen, "changes() moved without a change"

    def _resync(self) -> None:
        """After a call the contract says nothing of (insert, allow, a refused edit)."""
        self.seen = self.store.changes()

    def _tag(self, index: int) -> str:
        return self.ns + _TAGS[index % len(_TAGS)]

    def _plain_code(self, url: str) -> Optional[str]:
        for code, expected in self.links.items():
            if expected.link.plain and expected.deleted_at is None and expected.link.url == url:
                return code
        return None

    @initialize(
        links=st.lists(
            st.tuples(st.sampled_from("abcd"), st.sampled_from("xy"), st.sampled_from(_KINDS)),
            min_size=2,
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
            "tagged": {
                "title": _TITLES[1 + ord(suffix) % (len(_TITLES) - 1)],
                # "a-b" < "a0" < "a_b" < "ab" by code point, not by a locale's rules.
                "tags": (self._tag(3), self._tag(0), self._tag(1 if suffix in "ac" else 2)),
            },
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
        self._resync()

    @rule(pick=_PICK)
    def get(self, pick: int) -> None:
        code = self._pick(pick)
        expected = self.links.get(code)
        assert self.store.get(code) == (None if expected is None else expected.stored())
        # ... and never a link whose code differs from the one asked only by case.
        assert self.store.get(self._pick(_MISSING)) is None
        self._unchanged()

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
        self._unchanged()
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

    @rule(pick=_PICK, revision=st.sampled_from(("any", "any", *_REVISIONS)))
    def delete(self, pick: int, revision: str) -> None:
        code = self._pick(pick)
        expected = self.links.get(code)
        should = expected is not None and expected.deleted_at is None
        if revision == "any":
            assert self.store.delete(code, self.now) == should
        else:
            current = expected.link.revision if expected is not None else 0
            given = {"right": current, "older": current - 1, "newer": current + 1}
            should = should and revision == "right"
            assert self.store.delete(code, self.now, revision=given[revision]) == should
        if not should:
            self._resync()
        if expected is not None and should:
            self._changed()
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
        pick=_PICK,
        edit=st.sampled_from(_EDITS),
        page=st.sampled_from("xy"),
        choice=st.integers(0, 7),
        revision=st.sampled_from(_REVISIONS),
    )
    def update(self, pick: int, edit: str, page: str, choice: int, revision: str) -> None:
        code = self._pick(pick)
        expected = self.links.get(code)
        old = expected.stored() if expected is not None else make_link(code)
        if choice % 2 == 0 and edit in ("url", "plain"):
            # A move onto the URL of another plain link, made first if need be.
            plain = [
                other.link.url[-1]
                for other_code, other in self.links.items()
                if other_code != code and other.link.plain and other.deleted_at is None
            ]
            free = [suffix for suffix in "abcd" if self._code(suffix) not in self.links]
            if not plain and free:
                plain = ["y" if old.url.endswith("x") else "x"]
                self.insert(free[0], plain[0], "plain")
            if plain:
                page = plain[0]
        url = f"https://example.com/{self.ns}{page}"
        fields: dict[str, object] = {
            "url": {"url": url},
            "title": {"title": _TITLES[choice % len(_TITLES)]},
            "tags": {
                "tags": tuple(
                    dict.fromkeys((self._tag(choice), self._tag(3), self._tag(choice // 2)))
                )
                if choice
                else ()
            },
            "plain": {
                "url": url,
                "alias": False,
                "expires_at": None,
                "max_visits": None,
                "title": None,
                "tags": (),
                "redirect_status": None,
                "forward_query": False,
                "fallback_url": None,
                "password_hash": None,
            },
            # Around the hits so far: raised, reached or already passed.
            "limit": {"max_visits": max(1, old.hits + choice % 3 - 1)},
            "expiry": {"expires_at": self.now + timedelta(seconds=(choice - 3) * 1800)},
            "options": {
                "redirect_status": (301, 302, 307, 308)[choice % 4],
                "forward_query": choice % 2 == 0,
                "fallback_url": f"https://example.org/{self.ns}fallback",
                "password_hash": None if choice % 3 else f"scrypt$15$8$1${self.ns}$key",
            },
        }[edit]  # type: ignore[assignment]
        assert isinstance(fields, dict)
        given = {"right": old.revision, "older": old.revision - 1, "newer": old.revision + 1}
        edit_link = old.replace(
            **fields,
            updated_at=self.now,
            revision=given[revision],
            # What update keeps as stored, whatever it is given:
            created_at=self.now + timedelta(days=1),
            hits=old.hits + 50,
            deleted_at=self.now,
        )
        result = self.store.update(edit_link)
        if expected is None or expected.deleted_at is not None or revision != "right":
            assert result is None
            self._resync()
            return
        want = edit_link.replace(
            created_at=old.created_at,
            hits=old.hits,
            deleted_at=None,
            revision=old.revision + 1,
        )
        if want.plain and self._plain_code(want.url) not in (None, code):
            want = want.replace(alias=True)  # the URL has another plain link
        assert result == want
        expected.link = want
        self._changed()
        # The same revision again is stale now.
        assert self.store.update(edit_link.replace(title="again")) is None
        self._resync()
        # The dedupe index at once: a plain link of the old URL and of the new one,
        # under this (taken) code, finds their plain link if they have one, else
        # nothing (so neither can add a link).
        suffix = code[len(self.ns) :]
        self.insert(suffix, old.url[-1], "plain")
        self.insert(suffix, want.url[-1], "plain")

    @rule(
        pick=_PICK,
        edit=st.sampled_from(_EDITS),
        page=st.sampled_from("xy"),
        choice=st.integers(0, 7),
    )
    def edit(self, pick: int, edit: str, page: str, choice: int) -> None:
        # Edits over the right revision, twice as often as the others: most of what
        # update can break shows only after one succeeded.
        self.update(pick, edit, page, choice, "right")

    @rule(
        state=st.sampled_from(STATES),
        tag=st.none() | st.integers(0, len(_TAGS) - 1),
        text=st.sampled_from(_TEXTS),
        sort=st.sampled_from(SORTS),
        limit=st.integers(1, 4),
    )
    def search(
        self, state: str, tag: Optional[int], text: Optional[str], sort: str, limit: int
    ) -> None:
        ns = self.ns
        query = Search(
            now=self.now,
            text=None if text is None else text.format(ns=ns, NS=ns.upper()),
            tag=None if tag is None else self._tag(tag),
            state=state,
            sort=sort,
            limit=10**6,
        )
        want = self._searched(query)
        found = self.store.search(query)
        assert [link for link in found if link.code.startswith(ns)] == want
        # Every page is what the model says when the search sees only this example.
        if query.tag is not None or (text is not None and text.startswith("{")):
            pages: list[Link] = []
            after: Optional[str] = None
            for _ in range(len(want) + 1):
                page = self.store.search(_paged(query, limit, after))
                assert len(page) <= limit
                if not page:
                    break
                pages += page
                after = page[-1].code
            assert pages == want
        assert self.store.search(_paged(query, limit, self._pick(_MISSING))) == []
        self._unchanged()

    def _searched(self, query: Search) -> list[Link]:
        """This example's links that ``query`` finds, in its order (the reference)."""
        ranked: list[tuple[object, int, Link]] = []
        for position, code in enumerate(self.order):
            link = self.links[code].stored()
            if query.matches(link):
                key: object = {
                    "created": 0,
                    "hits": link.hits,
                    "updated": link.updated_at or link.created_at,
                }[query.sort]
                ranked.append((key, position, link))
        ranked.sort(key=lambda item: (item[0], item[1]), reverse=True)
        return [link for _, _, link in ranked]

    @rule()
    def tags(self) -> None:
        found = self.store.tags()
        names = [tag for tag, _ in found]
        assert names == sorted(set(names)), "tags() is ordered by tag, each once"
        assert all(count >= 1 for _, count in found)
        counts: dict[str, int] = {}
        for expected in self.links.values():
            if expected.deleted_at is None:
                for tag in expected.link.tags:
                    counts[tag] = counts.get(tag, 0) + 1
        assert [item for item in found if item[0].startswith(self.ns)] == sorted(counts.items())
        self._unchanged()

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
        self._resync()

    @rule()
    def export(self) -> None:
        mine = [entry for entry in self.store.export() if entry[0].code.startswith(self.ns)]
        assert mine == [
            (self.links[code].stored(), tuple(sorted(self.links[code].days.items())))
            for code in self.order
        ]
        self._unchanged()

    # Hypothesis leaves some rules out of each example (swarm testing), so what every
    # rule can break is also checked after every step and at the end of the example.

    @invariant()
    def links_match(self) -> None:
        for code, expected in self.links.items():
            assert self.store.get(code) == expected.stored(), code
            assert _same(self.store.lookup(code), expected.stored()), code
            yesterday = self._day(1)
            assert self.store.daily(code, yesterday) == sorted(
                (day, n) for day, n in expected.days.items() if day >= yesterday
            ), code
        live = [self.links[code].stored() for code in self.order[::-1]]
        live = [link for link in live if link.deleted_at is None]
        assert self.store.recent(len(live))[: len(live)] == live

    def teardown(self) -> None:
        self.export()
        self.tags()
        for state in STATES:  # every link of the example, by each order, page by page
            for sort in SORTS:
                self.search(state, None, "{NS}", sort, 3)
        for text in _TEXTS:  # and each text, whichever rules this example ran
            self.search("all", None, text, "created", 3)
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
