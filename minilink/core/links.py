"""``Link``: the immutable value a store keeps and the ``Shortener`` hands out."""

from __future__ import annotations

from datetime import datetime

from minilink.core._values import frozen, replace

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Optional

__all__ = ["Link"]


@frozen
class Link:
    """One short link.

    ``code`` is the short code (generated or an alias), ``url`` the normalised target.
    Times are timezone-aware UTC datetimes. ``expires_at`` and ``max_visits`` may be
    ``None`` (no limit). ``hits`` is the total of recorded visits.

    ``alias`` is true when the code was chosen by the creator. ``deleted_at`` is set on
    a tombstone: stores return tombstones so that callers can tell "gone" from "never
    existed", but ``Shortener`` never hands one out (it raises ``Gone``).

    The options (all empty by default; a link without them behaves as links always
    did): ``title`` for people; ``tags`` (lower-case ``[a-z0-9_-]{1,32}``, at most
    10, in the order given); ``redirect_status`` (301, 302, 307 or 308; ``None`` is
    the configured default); ``forward_query`` (the visitor's query is added to the
    target's); ``fallback_url`` (where an expired or used-up link sends visitors);
    ``password_hash`` (a salted hash, see ``minilink.core.passwords``; never the
    password). ``updated_at`` is when the link was last edited (``None`` if never);
    ``revision`` counts its edits, and is what ``Store.update`` compares and sets.
    """

    code: str
    url: str
    created_at: datetime
    expires_at: Optional[datetime] = None
    max_visits: Optional[int] = None
    hits: int = 0
    alias: bool = False
    deleted_at: Optional[datetime] = None
    title: Optional[str] = None
    tags: tuple[str, ...] = ()
    redirect_status: Optional[int] = None
    forward_query: bool = False
    fallback_url: Optional[str] = None
    password_hash: Optional[str] = None
    updated_at: Optional[datetime] = None
    revision: int = 0

    #: ``link.replace(**changes)``: a copy with some fields changed, the one way to
    #: change a ``Link`` (stores use it to add hits or set ``deleted_at``). Raises
    #: ``TypeError`` for a name that is no field.
    replace = replace

    @property
    def plain(self) -> bool:
        """A link that is nothing but its URL (no alias, expiry, visit limit, title,
        tags, option or password): the kind that is deduplicated."""
        return (
            not self.alias
            and self.expires_at is None
            and self.max_visits is None
            and self.title is None
            and not self.tags
            and self.redirect_status is None
            and not self.forward_query
            and self.fallback_url is None
            and self.password_hash is None
        )

    @property
    def protected(self) -> bool:
        """Whether visitors must give a password before the redirect."""
        return self.password_hash is not None

    @property
    def etag(self) -> str:
        """The HTTP entity tag of this version of the link (quoted). It names the
        link's revision: edits change it, hits do not (they are counters, not edits)."""
        return f'"r{self.revision}"'

    def is_expired(self, now: datetime) -> bool:
        """Whether the link answers 410 at ``now`` (deleted, expired or used up)."""
        if self.deleted_at is not None:
            return True
        if self.expires_at is not None and now >= self.expires_at:
            return True
        return self.max_visits is not None and self.hits >= self.max_visits


#: What ``Search.state`` may be: live links, expired ones (past their expiry or their
#: visit limit), tombstones, or every link.
STATES = ("live", "expired", "deleted", "all")
#: What ``Search.sort`` may be, each newest (or most visited) first.
SORTS = ("created", "hits", "updated")


@frozen
class Search:
    """What ``Store.search`` is asked for.

    ``text`` matches the code, the URL and the title as a substring, ignoring the case
    of ASCII letters (``None``: every link); ``tag`` keeps the links that carry it;
    ``state`` is one of ``STATES``, decided at ``now`` (an aware UTC datetime); ``sort``
    one of ``SORTS``: ``created`` (newest first), ``hits`` (most visited first) or
    ``updated`` (last edited first; a link never edited counts as edited when it was
    created). Ties are broken by insertion order, newest first. ``after`` is the code of
    the last link of the previous page: the page continues after it in the same order
    (an unknown ``after`` gives an empty page). At most ``limit`` links.
    """

    now: datetime
    text: Optional[str] = None
    tag: Optional[str] = None
    state: str = "live"
    sort: str = "created"
    limit: int = 100
    after: Optional[str] = None

    def matches(self, link: Link) -> bool:
        """Whether ``link`` belongs in the result (the order aside): the meaning of a
        search, which every store must give (``MemoryStore`` uses it as it is)."""
        if self.state != "all":
            if link.deleted_at is not None:
                state = "deleted"
            elif link.is_expired(self.now):
                state = "expired"
            else:
                state = "live"
            if state != self.state:
                return False
        if self.tag is not None and self.tag not in link.tags:
            return False
        if self.text is not None:
            needle = self.text.translate(_ASCII_LOWER)
            return any(
                needle in field.translate(_ASCII_LOWER)
                for field in (link.code, link.url, link.title or "")
            )
        return True


# Case-insensitive means ASCII letters only, in every store: SQLite's LIKE folds no
# other letters, and codes and URLs are ASCII anyway.
_ASCII_LOWER = {c: c + 32 for c in range(ord("A"), ord("Z") + 1)}
