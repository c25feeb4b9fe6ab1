"""The reserved words are exactly the first segments of minilink's own routes.

A word is reserved so that no link can hide a route (or a route a link). So each
word of ``RESERVED`` must be answered by a route: a request for it, or for a path
under it, never looks a code up in the store and never redirects. Every other word,
``s`` and ``static`` included (YOURLS gives them out as keywords), is a link like any.
"""

from __future__ import annotations

import random
from datetime import datetime, timezone
from typing import Optional

import pytest

from minilink import Config, Shortener
from minilink.core.app import FAMILIES, App
from minilink.core.codes import RESERVED
from minilink.core.http import Request
from minilink.core.links import Link
from minilink.core.urls import validate_alias
from minilink.storage.memory import MemoryStore

NOW = datetime(2026, 11, 28, 13, 0, tzinfo=timezone.utc)

#: Route families the contract plans whose module a build may not have yet: their
#: words stay reserved so that no link takes the path before the pages come.
PLANNED = {"admin": "the management pages (SPEC 10)", "rest": "the Shlink dialect (SPEC 11)"}


class _Recording(MemoryStore):
    """A memory store that notes every code it is asked for."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: list[str] = []

    def get(self, code: str) -> Optional[Link]:
        self.asked.append(code)
        return super().get(code)

    def lookup(self, code: str) -> Optional[Link]:
        self.asked.append(code)
        return super().lookup(code)


def _app(store: MemoryStore) -> App:
    config = Config(rate_limit=0)
    return App(Shortener(store, config, clock=lambda: NOW, randbelow=random.Random(1).randrange))


#: Reserved words that alone still answer as a code: a link of that name made before
#: the word was reserved keeps working; only the paths below it are the route's.
ALONE_IS_A_CODE = {"rest"}


@pytest.mark.parametrize("word", sorted(RESERVED))
def test_each_reserved_word_is_a_route(word: str) -> None:
    if word in PLANNED and word not in FAMILIES:
        pytest.skip(f"/{word}/ is {PLANNED[word]}, not part of this build yet")
    store = _Recording()
    app = _app(store)
    for path in (f"/{word}", f"/{word}/", f"/{word}/x"):
        if word in ALONE_IS_A_CODE and path != f"/{word}/x":
            continue
        for method in ("GET", "HEAD", "POST"):
            response = app.handle(
                Request(method=method, path=path, query="", headers={"host": "sho.rt"}, body=b"")
            )
            # No redirect, but to the route's own page (/admin -> /admin/).
            if 300 <= response.status < 400:
                assert response.header("location") == f"http://sho.rt/{word}/", (method, path)
    assert store.asked == [], f"/{word} was looked up as a code: it is no route"


def test_the_reserved_words_are_few() -> None:
    # Only first segments of routes; the per-link paths need none (see codes.py).
    assert {"api", "healthz"} <= RESERVED <= {"api", "healthz", *PLANNED}


@pytest.mark.parametrize("word", ["s", "static", "assets", "robots", "favicon", "openapi"])
def test_words_no_route_uses_are_free_for_links(word: str) -> None:
    assert validate_alias(word) == word
    store = MemoryStore()
    sl = Shortener(store, Config(rate_limit=0), clock=lambda: NOW)
    sl.shorten("https://example.com/", alias=word)
    response = _app(store).handle(
        Request(method="GET", path=f"/{word}", query="", headers={"host": "sho.rt"}, body=b"")
    )
    assert (response.status, response.header("location")) == (302, "https://example.com/")
