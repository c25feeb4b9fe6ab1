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


# -- redirect time: follow, fallback, destination, unlock (SPEC section 9) ------------

PASSWORD = "open sesame"


def test_follow_counts_a_hit_and_returns_the_link(sl: Shortener) -> None:
    link = sl.shorten("https://a.b/x", alias="f", redirect_status=308)
    followed = sl.follow("f")
    assert followed.url == "https://a.b/x" and followed.redirect_status == 308
    assert sl.resolve("f").hits == 1
    sl.follow("f", count=False)
    assert sl.resolve("f").hits == 1
    assert link.code == "f"


def test_follow_of_a_protected_link_counts_nothing(sl: Shortener) -> None:
    sl.shorten("https://a.b/secret", alias="p", password=PASSWORD)
    assert sl.follow("p").protected
    assert sl.resolve("p").hits == 0


@pytest.mark.parametrize("how", ["expired", "used-up"])
def test_fallback_of_an_expired_or_used_up_link(sl: Shortener, clock: Clock, how: str) -> None:
    if how == "expired":
        sl.shorten("https://a.b/x", alias="e", expires_in=60, fallback_url="https://a.b/later")
        clock.advance(61)
    else:
        sl.shorten("https://a.b/x", alias="e", max_visits=1, fallback_url="https://a.b/later")
        sl.follow("e")
    with pytest.raises(Gone):
        sl.follow("e")
    assert sl.fallback("e") == "https://a.b/later"
    # Asking for the fallback counts no hit.
    assert sl.store.get("e").hits == (0 if how == "expired" else 1)  # type: ignore[union-attr]


def test_no_fallback_for_a_deleted_or_unknown_link(sl: Shortener) -> None:
    sl.shorten("https://a.b/x", alias="d", fallback_url="https://a.b/later")
    sl.delete("d")
    assert sl.fallback("d") is None
    assert sl.fallback("nope") is None
    assert sl.fallback("not a code") is None
    sl.shorten("https://a.b/y", alias="n", max_visits=1)
    assert sl.fallback("n") is None


def test_destination_adds_the_visitors_query_only_when_asked(sl: Shortener) -> None:
    plain = sl.shorten("https://a.b/p?a=1#f", alias="q0")
    forwarding = sl.shorten("https://a.b/p?a=1#f", alias="q1", forward_query=True)
    assert sl.destination(plain, "a=2&b=3") == "https://a.b/p?a=1#f"
    assert sl.destination(forwarding, "a=2&b=3") == "https://a.b/p?a=2&b=3#f"
    assert sl.destination(forwarding, "") == "https://a.b/p?a=1#f"
    assert sl.destination(forwarding, "q=<\xe9>") == "https://a.b/p?a=1&q=%3C%E9%3E#f"


@pytest.mark.parametrize(
    "query",
    ["q=a b", "q=\x00", "q=\x7f", "q=" + "x" * 5000],
    ids=["space", "nul", "del", "too-long"],
)
def test_a_query_that_makes_the_target_invalid_is_refused_and_counts_nothing(
    sl: Shortener, query: str
) -> None:
    link = sl.shorten("https://a.b/p", alias="bad", forward_query=True)
    with pytest.raises(InvalidURL):
        sl.destination(link, query)
    with pytest.raises(InvalidURL):
        sl.follow("bad", query=query)
    assert sl.resolve("bad").hits == 0


def test_unlock_with_the_right_password_counts_the_hit(sl: Shortener) -> None:
    sl.shorten("https://a.b/secret", alias="p", password=PASSWORD)
    assert sl.unlock("p", PASSWORD, client="10.0.0.1").url == "https://a.b/secret"
    assert sl.resolve("p").hits == 1


@pytest.mark.parametrize("wrong", ["open sesame ", "", "x" * 1001, "OPEN SESAME"])
def test_unlock_with_a_wrong_password_is_forbidden_and_counts_nothing(
    sl: Shortener, wrong: str
) -> None:
    from minilink.core.errors import Forbidden

    sl.shorten("https://a.b/secret", alias="p", password=PASSWORD)
    with pytest.raises(Forbidden) as caught:
        sl.unlock("p", wrong, client="10.0.0.1")
    assert "https://a.b" not in caught.value.message
    assert sl.resolve("p").hits == 0


def test_guesses_are_limited_per_client_and_link(sl: Shortener, clock: Clock) -> None:
    from minilink.core.errors import Forbidden
    from minilink.core.service import GUESS_WINDOW, GUESSES

    sl.shorten("https://a.b/secret", alias="p", password=PASSWORD)
    sl.shorten("https://a.b/other", alias="p2", password=PASSWORD)
    for _ in range(GUESSES):
        with pytest.raises(Forbidden):
            sl.unlock("p", "wrong", client="10.0.0.1")
    with pytest.raises(RateLimited) as caught:
        sl.unlock("p", PASSWORD, client="10.0.0.1")  # even the right one, while limited
    assert 1 <= caught.value.retry_after <= GUESS_WINDOW
    assert sl.resolve("p").hits == 0
    # Another client, and the same client on another link, still have their guesses.
    assert sl.unlock("p", PASSWORD, client="10.0.0.2").code == "p"
    assert sl.unlock("p2", PASSWORD, client="10.0.0.1").code == "p2"
    clock.advance(caught.value.retry_after)
    assert sl.unlock("p", PASSWORD, client="10.0.0.1").code == "p"


def test_guesses_do_not_spend_the_creation_limit(clock: Clock) -> None:
    sl = Shortener(MemoryStore(), Config(rate_limit=2), clock=clock)
    sl.shorten("https://a.b/secret", alias="p", password=PASSWORD)
    for _ in range(3):
        sl.unlock("p", PASSWORD, client="10.0.0.1")
    sl.check_rate("10.0.0.1")
    sl.check_rate("10.0.0.1")
    with pytest.raises(RateLimited):
        sl.check_rate("10.0.0.1")


def test_unlock_of_an_expired_protected_link_is_gone_with_its_fallback(
    sl: Shortener, clock: Clock
) -> None:
    sl.shorten(
        "https://a.b/secret",
        alias="p",
        password=PASSWORD,
        expires_in=60,
        fallback_url="https://a.b/over",
    )
    clock.advance(60)
    with pytest.raises(Gone):
        sl.unlock("p", PASSWORD, client="10.0.0.1")
    assert sl.fallback("p") == "https://a.b/over"


def test_protected_says_which_codes_need_a_password(sl: Shortener) -> None:
    sl.shorten("https://a.b/secret", alias="p", password=PASSWORD)
    sl.shorten("https://a.b/open", alias="o")
    sl.shorten("https://a.b/gone", alias="g", password=PASSWORD)
    sl.delete("g")
    assert sl.protected("p")
    assert not sl.protected("o")
    assert not sl.protected("g")
    assert not sl.protected("nope")
    assert not sl.protected("../x")
