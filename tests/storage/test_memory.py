"""The memory store: the reference ``Store``, held to the whole contract."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest

from minilink.storage.memory import MemoryStore
from minilink.testing.contract import DAY, StoreContract, make_link


class TestMemoryStore(StoreContract):
    @pytest.fixture
    def store(self) -> Iterator[MemoryStore]:
        s = MemoryStore()
        yield s
        s.close()


def test_naive_times_are_refused() -> None:
    store = MemoryStore()
    with pytest.raises(ValueError, match="timezone-aware"):
        store.insert(make_link("a", created_at=datetime(2026, 1, 1)))
    store.insert(make_link("a"))
    with pytest.raises(ValueError, match="timezone-aware"):
        store.delete("a", datetime(2026, 1, 1))


def test_hit_count_below_one_is_refused() -> None:
    store = MemoryStore()
    store.insert(make_link("a"))
    with pytest.raises(ValueError, match="at least 1"):
        store.hit("a", DAY, count=0)


def test_old_rate_windows_of_a_key_are_dropped() -> None:
    store = MemoryStore()
    for window in range(100):
        store.allow("k", window, 5)
    assert store._windows["k"] == {99: 1}


@pytest.mark.parametrize("url", ["memory:", "memory://", "MEMORY:"])
def test_from_url(url: str) -> None:
    assert isinstance(MemoryStore.from_url(url), MemoryStore)


@pytest.mark.parametrize("url", ["memory:x", "memory://name", "sqlite:///x.db"])
def test_from_url_refuses_other_urls(url: str) -> None:
    with pytest.raises(ValueError, match="memory store URL"):
        MemoryStore.from_url(url)
