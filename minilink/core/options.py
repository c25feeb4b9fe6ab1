"""The per-link options of SPEC section 9, checked one by one.

Each ``check_*`` takes what a caller sent (a JSON value, a CLI argument, a Python
argument) and returns the value a ``Link`` keeps, or raises ``BadRequest`` with a
sentence saying what is allowed. ``None`` always means "none" (clear the option).
URLs (the target and ``fallback_url``) are checked by ``minilink.core.urls`` instead,
since that needs the configuration.
"""

from __future__ import annotations

from minilink.core.errors import BadRequest

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Optional

__all__ = [
    "MAX_TAGS",
    "MAX_TAG_LENGTH",
    "MAX_TITLE",
    "REDIRECT_STATUSES",
    "check_forward_query",
    "check_redirect_status",
    "check_tag",
    "check_tags",
    "check_title",
]

MAX_TITLE = 200
MAX_TAGS = 10
MAX_TAG_LENGTH = 32
REDIRECT_STATUSES = (301, 302, 307, 308)
_TAG_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789_-"


def check_title(title: object) -> Optional[str]:
    """Free text for people, up to 200 characters, without control characters; an
    empty (or all-space) title is no title."""
    if title is None:
        return None
    if not isinstance(title, str):
        raise BadRequest("The title must be a string (or null).")
    if len(title) > MAX_TITLE:
        raise BadRequest(f"The title must have at most {MAX_TITLE} characters.")
    if any(ord(c) < 32 or 127 <= ord(c) < 160 or 0xD800 <= ord(c) < 0xE000 for c in title):
        raise BadRequest("The title must not contain control characters.")
    title = title.strip()
    return title or None


def check_tag(tag: object) -> str:
    """One tag, lower-cased: 1 to 32 of ``a-z``, ``0-9``, ``_`` and ``-``."""
    if not isinstance(tag, str):
        raise BadRequest("Each tag must be a string.")
    # ASCII only before lower-casing: str.lower() maps some non-ASCII letters (the
    # Kelvin sign) to ASCII ones, which would let "\u212a" pass as "k".
    if not tag.isascii():
        raise BadRequest(f"A tag is 1 to {MAX_TAG_LENGTH} of a-z, 0-9, '_' and '-'.")
    tag = tag.lower()
    if not 1 <= len(tag) <= MAX_TAG_LENGTH or tag.strip(_TAG_CHARS):
        raise BadRequest(f"A tag is 1 to {MAX_TAG_LENGTH} of a-z, 0-9, '_' and '-'.")
    return tag


def check_tags(tags: object) -> tuple[str, ...]:
    """Up to 10 tags, each checked by ``check_tag``, in the order given, duplicates
    (after lower-casing) dropped. ``None`` or an empty list is no tags."""
    if tags is None:
        return ()
    if isinstance(tags, str) or not isinstance(tags, (list, tuple)):
        raise BadRequest("tags must be a list of strings (or null).")
    if len(tags) > 10 * MAX_TAGS:  # checked before the work of reading them
        raise BadRequest(f"A link has at most {MAX_TAGS} tags.")
    kept: dict[str, None] = {}
    for tag in tags:
        kept[check_tag(tag)] = None
    if len(kept) > MAX_TAGS:
        raise BadRequest(f"A link has at most {MAX_TAGS} tags.")
    return tuple(kept)


def check_redirect_status(status: object) -> Optional[int]:
    """301, 302, 307 or 308, or ``None`` for the configured default."""
    if status is None:
        return None
    if type(status) is not int or status not in REDIRECT_STATUSES:  # not bool, not 301.0
        raise BadRequest("redirect_status must be 301, 302, 307 or 308 (or null).")
    return status


def check_forward_query(forward: object) -> bool:
    """``true`` or ``false`` (``None`` is false)."""
    if forward is None:
        return False
    if not isinstance(forward, bool):
        raise BadRequest("forward_query must be true or false.")
    return forward
