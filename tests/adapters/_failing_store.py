"""A store whose ``get`` raises ``RuntimeError``: forces the core's 500 path (edge 22).

A module of its own, free of pytest, because the CGI client imports it in the CGI
subprocess (``CGIClient(wrap_store=FailingStore)``).
"""

from __future__ import annotations

from typing import Any

from minilink.storage.base import Store


class FailingStore(Store):
    """Delegates everything to ``inner`` except ``get`` and ``lookup`` (the
    redirect's read), which fail like a bug would."""

    def __init__(self, inner: Store) -> None:
        self.inner = inner

    def get(self, code: str) -> Any:
        raise RuntimeError("deliberate test failure in Store.get")

    def lookup(self, code: str) -> Any:
        raise RuntimeError("deliberate test failure in Store.lookup")

    def __getattribute__(self, name: str) -> Any:
        if name in ("get", "lookup", "inner", "__class__", "__dict__") or name.startswith("__"):
            return object.__getattribute__(self, name)
        return getattr(object.__getattribute__(self, "inner"), name)
