"""The Shortener service, with a fixed clock and seeded codes."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest

from minilink import (
    AliasTaken,
    Config,
    Gone,
    InvalidAlias,
    InvalidURL,
    MinilinkError,
    NotFound,
    RateLimited,
    Shortener,
)
from minilink.core.errors import BadRequest
from minilink.storage.memory import MemoryStore

START = datetime(2026, 11, 28, 13, 0, tzinfo=timezone.utc)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sl(clock: Clock) -> Shortener:
    return Shortener(MemoryStore(), Config(), clock=clock, randbelow=random.Random(1).randrange)


def test_shorten_then_resolve(sl: Shortener) -> None:
    link = sl.shorten("https://Example.com/a?b=c")
    assert link.url == "https://example.com/a?b=c"
    assert link.created_at == START and link.expires_at is None and link.hits == 0
    assert len(link.code) == 7
    assert all(c in Config().code_alphabet for c in link.code)
    assert sl.resolve(link.code) == link


def test_codes_are_deterministic_with_injected_randomness(clock: Clock) -> None:
    def make() -> str:
        s = Shortener(MemoryStore(), clock=clock, randbelow=random.Random(7).randrange)
        return s.shorten("https://a.b/").code

    assert make() == make()


def test_plain_links_are_deduplicated(sl: Shortener) -> None:
    first, created = sl.create("https://a.b/x")
    again, created_again = sl.create("HTTPS://A.B/x")
    assert created and not created_again and again.code == first.code
    # Links with an alias, expiry or visit limit are never merged.
    assert sl.shorten("https://a.b/x", expires_in=60).code != first.code
    assert sl.shorten("https://a.b/x", max_visits=3).code != first.code
    assert sl.shorten("https://a.b/x", alias="mine").code == "mine"


def test_alias_taken_and_tombstones_block_reuse(sl: Shortener) -> None:
    sl.shorten("https://a.b/", alias="docs")
    with pytest.raises(AliasTaken) as taken:
        sl.shorten("https://c.d/", alias="docs")
    assert taken.value.code == "alias_taken" and taken.value.status == 409
    sl.delete("docs")
    with pytest.raises(Gone):
        sl.resolve("docs")
    with pytest.raises(AliasTaken):
        sl.shorten("https://c.d/", alias="docs")
    with pytest.raises(Gone):
        sl.delete("docs")


def test_a_used_alias_says_why_it_cannot_be_had(sl: Shortener, clock: Clock) -> None:
    sl.shorten("https://a.b/", alias="live")
    with pytest.raises(AliasTaken, match="'live' is already taken"):
        sl.shorten("https://c.d/", alias="live")
    sl.shorten("https://a.b/", alias="gone")
    sl.delete("gone")
    with pytest.raises(AliasTaken) as deleted:
        sl.shorten("https://c.d/", alias="gone")
    assert "used before by a link that is now deleted" in deleted.value.message
    assert "never given to another link" in deleted.value.message
    assert "already taken" not in deleted.value.message
    sl.shorten("https://a.b/", alias="brief", expires_in=60)
    clock.advance(61)
    with pytest.raises(AliasTaken, match="now expired"):
        sl.shorten("https://c.d/", alias="brief")


def test_deleted_plain_link_is_not_reused_for_dedupe(sl: Shortener) -> None:
    first = sl.shorten("https://a.b/")
    sl.delete(first.code)
    second, created = sl.create("https://a.b/")
    assert created and second.code != first.code


def test_visit_counts_and_resolve_does_not(sl: Shortener, clock: Clock) -> None:
    link = sl.shorten("https://a.b/", alias="x")
    assert sl.visit("x").hits == 1
    sl.visit("x", count=False)
    sl.resolve("x")
    clock.advance(86400)
    sl.visit("x")
    stats = sl.stats("x", days=3)
    assert stats.hits == 2
    assert stats.daily == (("2026-11-27", 0), ("2026-11-28", 1), ("2026-11-29", 1))
    assert link.hits == 0  # Link values are immutable snapshots


def test_expiry_is_checked_on_read(sl: Shortener, clock: Clock) -> None:
    link = sl.shorten("https://a.b/", expires_in=60)
    assert link.expires_at == START + timedelta(seconds=60)
    clock.advance(59)
    sl.visit(link.code)
    clock.advance(1)
    with pytest.raises(Gone, match="expired"):
        sl.visit(link.code)


def test_expires_at(sl: Shortener) -> None:
    at = START.astimezone(timezone(timedelta(hours=2))) + timedelta(hours=1)
    link = sl.shorten("https://a.b/", expires_at=at)
    assert link.expires_at == START + timedelta(hours=1)
    assert link.expires_at.tzinfo == timezone.utc


def test_max_visits(sl: Shortener) -> None:
    sl.shorten("https://a.b/", alias="once", max_visits=2)
    sl.visit("once")
    sl.visit("once", count=False)  # uncounted visits (HEAD, crawlers) use up nothing
    sl.visit("once")
    with pytest.raises(Gone, match="visit limit"):
        sl.visit("once")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"expires_in": 0},
        {"expires_in": -5},
        {"expires_in": True},
        {"expires_in": "60"},
        {"expires_in": 60, "expires_at": START + timedelta(hours=1)},
        {"expires_at": START - timedelta(seconds=1)},
        {"expires_at": datetime(2027, 1, 1)},
        {"max_visits": 0},
        {"max_visits": 1.5},
        {"max_visits": True},
        {"alias": 5},
    ],
    ids=[
        "zero",
        "negative",
        "bool",
        "string",
        "both",
        "past",
        "naive",
        "visits-zero",
        "visits-float",
        "visits-bool",
        "alias-int",
    ],
)
def test_bad_arguments_change_nothing(sl: Shortener, kwargs: dict[str, object]) -> None:
    with pytest.raises(BadRequest):
        sl.shorten("https://a.b/", **kwargs)  # type: ignore[arg-type]
    assert sl.links() == []


def test_errors_carry_codes(sl: Shortener) -> None:
    cases: list[tuple[type[MinilinkError], str, int]] = [
        (InvalidURL, "invalid_url", 400),
        (InvalidAlias, "invalid_alias", 400),
        (NotFound, "not_found", 404),
        (Gone, "gone", 410),
        (AliasTaken, "alias_taken", 409),
    ]
    for cls, code, status in cases:
        assert cls.code == code and cls.status == status
    with pytest.raises(NotFound):
        sl.resolve("nope")
    with pytest.raises(NotFound):
        sl.resolve("not a code")
    with pytest.raises(InvalidURL):
        sl.shorten("javascript:alert(1)")
    with pytest.raises(BadRequest):
        sl.shorten(None)  # type: ignore[arg-type]


def test_base_url_counts_as_own_host(clock: Clock) -> None:
    sl = Shortener(MemoryStore(), Config(base_url="https://sho.rt/s"), clock=clock)
    with pytest.raises(InvalidURL, match="points back"):
        sl.shorten("https://sho.rt/s/abc")
    assert sl.shorten("https://sho.rt/elsewhere").url == "https://sho.rt/elsewhere"


def test_codes_grow_when_the_space_fills(clock: Clock) -> None:
    config = Config(code_length=2, code_alphabet="ab")
    sl = Shortener(MemoryStore(), config, clock=clock)
    codes = {sl.shorten(f"https://a.b/{i}").code for i in range(12)}
    assert len(codes) == 12
    assert {len(c) for c in codes} >= {2, 3}


def test_reserved_words_are_never_generated(clock: Clock) -> None:
    config = Config(code_length=3, code_alphabet="apiAPI")
    sl = Shortener(MemoryStore(), config, clock=clock)
    codes = {sl.shorten(f"https://a.b/{i}").code for i in range(60)}
    assert not {c for c in codes if c.lower() == "api"}


def test_rate_limit_by_window(clock: Clock) -> None:
    sl = Shortener(MemoryStore(), Config(rate_limit=2, rate_window=60), clock=clock)
    sl.check_rate("1.2.3.4")
    sl.check_rate("1.2.3.4")
    sl.check_rate("5.6.7.8")
    with pytest.raises(RateLimited) as limited:
        sl.check_rate("1.2.3.4")
    assert 1 <= limited.value.retry_after <= 60
    clock.advance(60)
    sl.check_rate("1.2.3.4")


def test_stats_and_links_validate_arguments(sl: Shortener) -> None:
    sl.shorten("https://a.b/", alias="x")
    for days in (0, 367, True):
        with pytest.raises(BadRequest):
            sl.stats("x", days=days)
    for limit in (0, 1001):
        with pytest.raises(BadRequest):
            sl.links(limit)


def test_links_newest_first_with_cursor(sl: Shortener) -> None:
    made = [sl.shorten(f"https://a.b/{i}").code for i in range(5)]
    page = sl.links(2)
    assert [link.code for link in page] == made[::-1][:2]
    rest = sl.links(10, after=page[-1].code)
    assert [link.code for link in rest] == made[::-1][2:]


def test_target_counts_like_visit_and_returns_the_url(sl: Shortener) -> None:
    sl.shorten("https://a.b/t", alias="t")
    assert sl.target("t") == "https://a.b/t"
    assert sl.target("t", count=False) == "https://a.b/t"
    assert sl.visit("t").hits == 2
    sl.delete("t")
    with pytest.raises(Gone):
        sl.target("t")
    with pytest.raises(NotFound):
        sl.target("nope")


def test_hits_go_to_the_day_of_the_visit_across_midnight(sl: Shortener, clock: Clock) -> None:
    """The day's key is remembered between visits; it must change at 00:00 UTC."""
    sl.shorten("https://a.b/", alias="x")
    clock.now = datetime(2026, 11, 28, 23, 59, 59, 999999, tzinfo=timezone.utc)
    sl.visit("x")
    clock.now = datetime(2026, 11, 29, 0, 0, tzinfo=timezone.utc)
    sl.visit("x")
    # 01:30 at UTC+2 is 23:30 UTC the day before: the UTC day counts.
    clock.now = datetime(2026, 11, 29, 1, 30, tzinfo=timezone(timedelta(hours=2)))
    sl.visit("x")
    clock.now = datetime(2026, 11, 28, 12, 0, tzinfo=timezone.utc)  # a clock set back
    sl.visit("x")
    clock.now = datetime(2026, 11, 29, 12, 0, tzinfo=timezone.utc)
    assert sl.stats("x", days=2).daily == (("2026-11-28", 3), ("2026-11-29", 1))


def test_generated_codes_use_the_whole_alphabet_evenly(clock: Clock) -> None:
    """Without injected randomness codes come from os.urandom, drawn uniformly."""
    alphabet = "abcdefg"  # 7 characters: 256 % 7 != 0, so the rejection step matters
    sl = Shortener(MemoryStore(), Config(code_length=8, code_alphabet=alphabet), clock=clock)
    counts = dict.fromkeys(alphabet, 0)
    for i in range(400):
        code = sl.shorten(f"https://a.b/{i}").code
        assert len(code) == 8
        for char in code:
            counts[char] += 1
    # 3,200 draws, 457 expected per character; the bounds are > 6 standard deviations.
    assert all(330 < n < 590 for n in counts.values()), counts
