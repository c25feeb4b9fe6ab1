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
    """

    code: str
    url: str
    created_at: datetime
    expires_at: Optional[datetime] = None
    max_visits: Optional[int] = None
    hits: int = 0
    alias: bool = False
    deleted_at: Optional[datetime] = None

    #: ``link.replace(**changes)``: a copy with some fields changed, the one way to
    #: change a ``Link`` (stores use it to add hits or set ``deleted_at``). Raises
    #: ``TypeError`` for a name that is no field.
    replace = replace

    @property
    def plain(self) -> bool:
        """A link without alias, expiry or visit limit: the kind that is deduplicated."""
        return not self.alias and self.expires_at is None and self.max_visits is None

    def is_expired(self, now: datetime) -> bool:
        """Whether the link answers 410 at ``now`` (deleted, expired or used up)."""
        if self.deleted_at is not None:
            return True
        if self.expires_at is not None and now >= self.expires_at:
            return True
        return self.max_visits is not None and self.hits >= self.max_visits
