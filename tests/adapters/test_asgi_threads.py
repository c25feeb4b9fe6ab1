"""The ASGI adapter keeps its event loop free while a blocking store works.

A store that says it is ``blocking`` (a network database) is called from the
adapter's worker threads; one that is not (memory, SQLite) is called inline, on the
loop's own thread. The store here blocks on an event, so the test decides exactly
when the slow request may finish: no timing guesswork.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any, Optional

from helpers import asgi_get

from minilink.adapters.asgi import create_app
from minilink.core.app import App
from minilink.core.links import Link
from minilink.core.service import Shortener
from minilink.storage.memory import MemoryStore
from minilink.testing.contract import make_link


class _GatedStore(MemoryStore):
    """Reading ``slow`` waits until ``gate`` is set; records which threads read."""

    blocking = True

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()
        self.readers: list[str] = []

    def get(self, code: str) -> Optional[Link]:
        self.readers.append(threading.current_thread().name)
        if code == "slow":
            assert self.gate.wait(timeout=30), "the gate was never opened"
        return super().get(code)


async def _get(app: Any, path: str) -> int:
    status: int = (await asgi_get(app, path))[0]["status"]
    return status


def test_a_blocked_store_call_does_not_hold_up_other_requests() -> None:
    store = _GatedStore()
    store.insert(make_link("slow"))
    store.insert(make_link("fast"))
    asgi = create_app(app=App(Shortener(store)))

    async def scenario() -> tuple[list[int], bool, int]:
        slow = asyncio.ensure_future(_get(asgi, "/slow"))
        while not store.readers:  # the slow request has reached the store
            await asyncio.sleep(0.001)
        fast = await asyncio.wait_for(
            asyncio.gather(*(_get(asgi, "/fast") for _ in range(20))), timeout=10
        )
        still_waiting = not slow.done()
        store.gate.set()
        return fast, still_waiting, await asyncio.wait_for(slow, timeout=10)

    try:
        fast, still_waiting, slow = asyncio.run(scenario())
    finally:
        store.gate.set()
        asgi.close()
    assert fast == [302] * 20
    assert still_waiting  # the fast ones were all answered while the slow one waited
    assert slow == 302
    assert all(name.startswith("minilink") for name in store.readers)


def test_an_in_process_store_is_called_on_the_loop() -> None:
    store = MemoryStore()
    store.insert(make_link("abc"))
    seen: list[str] = []
    original = store.get

    def get(code: str) -> Optional[Link]:
        seen.append(threading.current_thread().name)
        return original(code)

    store.get = get  # type: ignore[method-assign]
    asgi = create_app(app=App(Shortener(store)))
    try:
        assert asyncio.run(_get(asgi, "/abc")) == 302
    finally:
        asgi.close()
    assert seen == [threading.main_thread().name]


def test_header_lists_are_the_receivers_to_change() -> None:
    """A middleware may append to a response's header list; the adapter keeps the
    encoded headers of a reused redirect, so each answer must get a list of its own."""
    store = MemoryStore()
    store.insert(make_link("abc"))
    asgi = create_app(app=App(Shortener(store)))

    async def twice() -> list[list[tuple[bytes, bytes]]]:
        lists = []
        for _ in range(2):
            start = (await asgi_get(asgi, "/abc"))[0]
            lists.append(list(start["headers"]))
            start["headers"].append((b"x-added-by", b"middleware"))
        return lists

    try:
        first, second = asyncio.run(twice())
    finally:
        asgi.close()
    assert first == second
    assert (b"x-added-by", b"middleware") not in second
    assert (b"location", b"https://example.com/abc") in first
