"""The composition root: configuration → store → write-behind buffer → ``Shortener`` → ``App``.

This is the one place that picks a concrete store for a ``Config`` and wraps it, so
the core (``minilink.core``) knows no storage backend: every adapter, the CLI and the
examples build their ``App`` here.
"""

from __future__ import annotations

from minilink.core.app import App
from minilink.core.service import Shortener

TYPE_CHECKING = False
if TYPE_CHECKING:
    from minilink.core.config import Config

__all__ = ["build_app"]


def build_app(config: Config, *, persistent: bool = True) -> App:
    """Open ``config.store`` and build the ``App`` that serves it.

    ``persistent`` is for servers that live across requests: the store is then
    wrapped in a ``BufferedStore`` (hot links from memory until the store reports a
    change, hits written within ``hit_flush_seconds``; its ``cache_ttl`` is the
    default safety net, not a timeout consistency depends on). A CGI process
    answers one request and passes ``False``, so its hit is written before it exits.

    Raises ``ValueError`` for a store URL no backend reads, and ``StoreUnavailable``
    when the store cannot be opened.
    """
    from minilink.storage import open_store

    store = open_store(config.store)
    if persistent and config.hit_flush_seconds > 0:
        from minilink.storage.buffered import BufferedStore

        store = BufferedStore(store, flush_interval=config.hit_flush_seconds)
    return App(Shortener(store, config), config)
