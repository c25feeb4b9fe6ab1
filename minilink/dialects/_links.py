"""The store as the dialects read it whole: ``every_link`` for the answers that sum or
list all links (Shlink's tags and visit totals, YOURLS's ``db-stats`` and ``stats``)."""

from __future__ import annotations

from minilink.core.links import Search

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator

    from minilink.core.app import App
    from minilink.core.links import Link

__all__ = ["every_link"]

#: Links read per ``Store.search`` call.
_PAGE = 1000


def every_link(app: App, sort: str = "created") -> Iterator[Link]:
    """Every link that is not deleted, in ``Search`` order ``sort`` (newest first by
    default), a page of 1000 at a time."""
    after = None
    while True:
        search = Search(now=app.shortener.clock(), state="all", sort=sort, limit=_PAGE, after=after)
        page = app.shortener.store.search(search)
        for link in page:
            if link.deleted_at is None:
                yield link
        if len(page) < _PAGE:
            return
        after = page[-1].code
