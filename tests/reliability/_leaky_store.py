"""Stores whose failures carry what must never reach a client: paths and SQL.

A module of its own, free of pytest, because the CGI client imports it in the CGI
subprocess (``CGIClient(wrap_store=...)``).
"""

from __future__ import annotations

from typing import Any

from minilink.core.errors import StoreUnavailable
from minilink.storage.base import Store

#: What a driver might say: a file path, SQL, a host and a password.
SECRET = (
    "the SQLite database '/srv/secret/links.db' cannot be used: near \"SELECT code, url "
    'FROM links WHERE code = ?": syntax error (postgresql://minilink:hunter2@db.internal)'
)
#: Fragments of SECRET, each of which must stay out of every answer.
FRAGMENTS = ("/srv/secret", "links.db", "SELECT", "syntax error", "hunter2", "db.internal")


#: The calls that fail (``lookup`` is the redirect's read).
_FAILING = ("get", "lookup", "insert", "hit", "daily", "delete", "recent", "allow", "ping")


class _Wrapper(Store):
    def __init__(self, inner: Store) -> None:
        self.inner = inner

    def __getattribute__(self, name: str) -> Any:
        if name in ("inner", "__class__", "__dict__", "_fail") or name.startswith("__"):
            return object.__getattribute__(self, name)
        if name in _FAILING:
            return object.__getattribute__(self, "_fail")
        return getattr(object.__getattribute__(self, "inner"), name)


class UnavailableStore(_Wrapper):
    """Every call raises ``StoreUnavailable`` with ``SECRET`` as its message."""

    def _fail(self, *args: Any, **kwargs: Any) -> Any:
        raise StoreUnavailable(SECRET)


class BrokenStore(_Wrapper):
    """Every call fails like a bug would, with ``SECRET`` in the exception."""

    def _fail(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(SECRET)
