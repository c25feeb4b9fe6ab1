"""Properties of shortening (SPEC §4-§5), for every input hypothesis draws.

* Shorten-then-resolve round-trips: the link resolves (and redirects, through the
  sans-I/O app) to the normal form of the URL it was made from, with or without an
  alias, and the redirect's ``Location`` is safe to send.
* Generated codes use only the configured alphabet and length (growing only when the
  code space is crowded), never a reserved word, and never collide with an alias or
  with each other, however small the alphabet and however many aliases are taken.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Optional

from hypothesis import given, settings
from hypothesis import strategies as st

from minilink.core.app import App
from minilink.core.codes import ALIAS_CHARS, RESERVED
from minilink.core.config import Config
from minilink.core.errors import AliasTaken
from minilink.core.http import Request
from minilink.core.service import Shortener
from minilink.core.urls import normalise_url
from minilink.storage.memory import MemoryStore
from minilink.testing.clients import FakeClock
from minilink.testing.strategies import aliases, valid_urls

ALPHABET = "".join(sorted(ALIAS_CHARS))
# Seeds of a real generator: the codes are as random as in use, and reproducible.
SEEDS = st.integers(0, 2**32 - 1)


@contextmanager
def shortener(
    config: Optional[Config] = None, rng: Optional[random.Random] = None
) -> Iterator[Shortener]:
    with MemoryStore() as store:
        yield Shortener(
            store,
            config or Config(),
            clock=FakeClock(),
            randbelow=(rng or random.Random(0)).randrange,
        )


@settings(max_examples=200)
@given(valid_urls(), st.one_of(st.none(), aliases()))
def test_shorten_then_resolve_round_trips(url: str, alias: Optional[str]) -> None:
    normal = normalise_url(url)
    with shortener() as sl:
        link = sl.shorten(url, alias=alias)
        assert link.url == normal
        if alias is not None:
            assert link.code == alias
        assert sl.resolve(link.code).url == normal
        assert sl.visit(link.code).url == normal
        assert sl.resolve(link.code).hits == 1
        if alias is None:
            assert sl.shorten(normal).code == link.code  # the normal form dedupes


@settings(max_examples=200)
@given(valid_urls(), st.one_of(st.none(), aliases()), st.sampled_from(["", "/s", "/a b/é"]))
def test_create_then_redirect_round_trips_through_the_app(
    url: str, alias: Optional[str], root: str
) -> None:
    payload = {"url": url} if alias is None else {"url": url, "alias": alias}
    body = json.dumps(payload).encode("utf-8")
    with shortener() as sl:
        app = App(sl)
        created = app.handle(
            Request(
                method="POST",
                path="/api/links",
                headers={
                    "host": "testserver",
                    "content-type": "application/json",
                    "content-length": str(len(body)),
                },
                body=body,
                root=root,
            )
        )
        assert created.status == 201, created.body
        link = json.loads(created.body)
        short = created.header("location") or ""
        assert short == link["short_url"]
        assert short.isascii()
        assert not any(c.isspace() for c in short)
        visit = app.handle(Request(path="/" + link["code"], root=root))
        assert visit.status == 302
        location = visit.header("location")
        assert location == normalise_url(url) == link["url"]
        assert location.isascii()
        assert not any(c.isspace() or c in "\r\n\0" for c in location)


@st.composite
def crowded(draw: st.DrawFn) -> tuple[str, int, list[str]]:
    """A small alphabet, a short code length, and aliases made of that alphabet."""
    alphabet = "".join(
        draw(st.lists(st.sampled_from(ALPHABET), min_size=2, max_size=5, unique=True))
    )
    length = draw(st.integers(2, 3))
    taken = draw(
        st.lists(st.text(alphabet, min_size=length, max_size=length), max_size=12, unique=True)
    )
    return alphabet, length, [a for a in taken if a.lower() not in RESERVED]


@settings(max_examples=200)
@given(crowded(), SEEDS, st.integers(1, 40))
def test_generated_codes_keep_to_the_alphabet_and_never_collide(
    setup: tuple[str, int, list[str]], seed: int, count: int
) -> None:
    alphabet, length, taken = setup
    config = Config(code_alphabet=alphabet, code_length=length)
    with shortener(config, random.Random(seed)) as sl:
        for alias in taken:
            sl.shorten("https://example.com/alias/" + alias, alias=alias)
        codes: list[str] = []
        for i in range(count):
            try:
                link = sl.shorten(f"https://example.com/{i}")
            except AliasTaken:  # the code space ran out after growing; it never collides
                break
            codes.append(link.code)
            assert link.code not in taken
            assert set(link.code) <= set(alphabet)
            assert len(link.code) >= length
            assert link.code.lower() not in RESERVED
        assert len(set(codes)) == len(codes)


@settings(max_examples=100)
@given(SEEDS)
def test_codes_that_spell_a_reserved_word_are_never_given(seed: int) -> None:
    config = Config(code_alphabet="apiAPI", code_length=3)
    with shortener(config, random.Random(seed)) as sl:
        for i in range(30):
            code = sl.shorten(f"https://example.com/{i}").code
            assert code.lower() != "api"
