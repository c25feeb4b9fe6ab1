"""The differential harness: the same app behind WSGI, ASGI and CGI, in process.

``three_adapters(root, path_includes_root)`` gives ``{name: (client, store)}`` for the
three adapters, each on its own fresh ``App`` with the same configuration (``ENV``),
seed and clock start, and the same seven links (``CODES``: a plain one, ``docs``,
``soon`` expiring in 60 s, ``once`` allowed one visit, ``gone`` deleted, ``tagged``
with every option of SPEC section 9 but a password, and ``locked``, protected by a
password no request knows, whose target is ``SECRET``).
``snapshot(store)`` is everything a request could change in a store that matters:
every link (URL, hits, expiry, tombstone) and its per-day counters.
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from minilink.core.app import App
from minilink.core.config import Config
from minilink.core.links import Link
from minilink.core.passwords import hash_password
from minilink.core.service import Shortener
from minilink.storage.memory import MemoryStore
from minilink.testing.clients import SEED, ASGIClient, Client, FakeClock, WSGIClient
from minilink.testing.inprocess import InProcessCGIClient

__all__ = ["ADMIN", "CODES", "ENV", "MAX_BODY", "SECRET", "snapshot", "three_adapters"]

ADMIN = "fuzz-admin-token"
#: The target of the protected link: no answer may show it to anyone but the admin.
SECRET = "https://secret.example/t0p"
_LOCKED_HASH = hash_password(os.urandom(12).hex())
MAX_BODY = 1024
ENV = {
    "MINILINK_ADMIN_TOKEN": ADMIN,
    "MINILINK_MAX_BODY_BYTES": str(MAX_BODY),
    "MINILINK_RATE_LIMIT": "3/60",
}


def _setup(shortener: Shortener) -> tuple[str, ...]:
    """The links every app starts with; returns their codes."""
    plain = shortener.shorten("https://example.com/plain?q=%C3%BC").code
    shortener.shorten("https://example.com/docs", alias="docs")
    shortener.shorten("https://example.com/soon", alias="soon", expires_in=60)
    shortener.shorten("https://example.com/once", alias="once", max_visits=1)
    shortener.shorten("https://example.com/gone", alias="gone")
    shortener.delete("gone")
    shortener.shorten(
        "https://example.com/tagged?keep=1",
        alias="tagged",
        title="Tagged <b>",
        tags=["docs", "x"],
        redirect_status=308,
        forward_query=True,
        fallback_url="https://example.com/after",
    )
    # Stored with a hash made once: hashing per app would cost 90 ms an example.
    now = shortener.clock().replace(microsecond=0)
    locked = Link("locked", SECRET, now, alias=True, password_hash=_LOCKED_HASH)
    assert shortener.store.insert(locked) is not None
    return (plain, "docs", "soon", "once", "gone", "tagged", "locked")


def _new_app(clock: FakeClock) -> tuple[App, MemoryStore, tuple[str, ...]]:
    config = Config.from_env(ENV)
    store = MemoryStore()
    rng = random.Random(SEED)
    shortener = Shortener(store, config, clock=clock, randbelow=rng.randrange)
    return App(shortener, config), store, _setup(shortener)


# The codes are the same in every app (same seed), so one throwaway app names them.
CODES = _new_app(FakeClock())[2]


@contextmanager
def three_adapters(root: str, path_includes_root: bool) -> Iterator[dict[str, Any]]:
    """``{name: (client, store)}`` for WSGI, ASGI and CGI, each on its own fresh app."""
    with ExitStack() as stack:
        made: dict[str, Any] = {}
        for name in ("wsgi", "asgi", "cgi"):
            clock = FakeClock()
            app, store, _ = _new_app(clock)
            stack.callback(store.close)
            client: Client
            if name == "wsgi":
                client = WSGIClient(app, root=root, clock=clock)
            elif name == "asgi":
                client = ASGIClient(
                    app, root=root, clock=clock, path_includes_root=path_includes_root
                )
            else:
                client = InProcessCGIClient(app, root=root, clock=clock)
            made[name] = (stack.enter_context(client), store)
        yield made


def snapshot(store: MemoryStore) -> dict[str, Any]:
    """Every link the store holds (tombstones included) and its per-day counters."""
    codes = set(CODES) | {link.code for link in store.recent(1000)}
    return {code: (store.get(code), store.daily(code, "0001-01-01")) for code in sorted(codes)}
