"""Times as text: the one RFC 3339 format minilink writes and the one parser it reads.

The JSON API, the pages, the CLI and the export all write ``format_time`` and read
``parse_time``, so a time printed by one is read back by every other, unchanged.

* Written: UTC with a ``Z``, to the second, with a fraction only when there is one
  (``2026-11-28T13:00:00Z``, ``2026-11-28T13:00:00.250000Z``).
* Read: RFC 3339's ``date-time`` (section 5.6): a date, ``T`` (or ``t``, or a space,
  as RFC 3339 allows), a time and a zone (``Z`` or ``±hh:mm``). A time without a zone
  is refused rather than guessed.
"""

from __future__ import annotations

from datetime import datetime, timezone

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Optional

__all__ = ["format_time", "parse_time"]

#: Longer than any RFC 3339 time: the parser is not handed arbitrary text.
_LONGEST = 64


def format_time(moment: datetime) -> str:
    """``moment`` (timezone-aware) in UTC as ``2026-11-28T13:00:00Z``."""
    moment = moment.astimezone(timezone.utc)
    spec = "microseconds" if moment.microsecond else "seconds"
    return moment.replace(tzinfo=None).isoformat(timespec=spec) + "Z"


def format_optional(moment: Optional[datetime]) -> Optional[str]:
    """``format_time`` of ``moment``, or ``None`` for ``None``."""
    return None if moment is None else format_time(moment)


def parse_time(text: str) -> datetime:
    """Read an RFC 3339 date and time; the result is timezone-aware, in UTC.

    Raises ``ValueError`` with one sentence quoting ``text`` for anything else (a
    date alone, no time zone, another format); the caller names the field.
    """
    if not isinstance(text, str):
        raise ValueError("must be an RFC 3339 time string, like 2026-11-28T13:00:00Z")
    if len(text) > _LONGEST:
        raise ValueError(f"{text[:20]!r}... is too long for an RFC 3339 time")
    raw = text.strip()
    # fromisoformat reads a trailing "Z" only from Python 3.11 on.
    if raw.endswith(("Z", "z")):
        raw = raw[:-1] + "+00:00"
    moment = None
    if len(raw) > 10 and raw[10] in "Tt ":
        try:
            moment = datetime.fromisoformat(raw[:10] + "T" + raw[11:])
        except ValueError:
            moment = None
    if moment is None:
        raise ValueError(f"{text!r} is not an RFC 3339 (ISO 8601) time, like 2026-11-28T13:00:00Z")
    if moment.tzinfo is None:
        raise ValueError(
            f"{text!r} has no time zone: write an RFC 3339 time with a zone, "
            "like 2026-11-28T13:00:00Z"
        )
    return moment.astimezone(timezone.utc)
