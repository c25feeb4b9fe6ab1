"""The one time format: what every writer writes, every reader reads back."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from minilink.core.times import format_optional, format_time, parse_time

UTC = timezone.utc


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (datetime(2026, 11, 28, 13, 0, tzinfo=UTC), "2026-11-28T13:00:00Z"),
        (datetime(2026, 11, 28, 13, 0, 0, 250000, tzinfo=UTC), "2026-11-28T13:00:00.250000Z"),
        (
            datetime(2026, 11, 28, 15, 0, tzinfo=timezone(timedelta(hours=2))),
            "2026-11-28T13:00:00Z",
        ),
    ],
    ids=["whole-second", "fraction", "other-zone"],
)
def test_format_and_parse_round_trip(moment: datetime, text: str) -> None:
    assert format_time(moment) == text
    back = parse_time(text)
    assert back == moment
    assert back.tzinfo is UTC


@pytest.mark.parametrize(
    "text",
    ["2026-11-28T13:00:00+02:00", "2026-11-28t13:00:00z", "2026-11-28 13:00:00Z"],
    ids=["offset", "lower-case", "space"],
)
def test_rfc3339_forms_are_read(text: str) -> None:
    assert parse_time(text).tzinfo is UTC


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("2026-11-28", "is not an RFC 3339"),
        ("tomorrow", "is not an RFC 3339"),
        ("2026-11-28T13:00:00", "has no time zone"),
        ("2026-11-28X13:00:00Z", "is not an RFC 3339"),
        ("2" * 100, "too long"),
        (12, "must be an RFC 3339 time string"),
    ],
    ids=["date-only", "words", "naive", "bad-separator", "too-long", "not-text"],
)
def test_anything_else_is_refused(value: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_time(value)  # type: ignore[arg-type]


def test_format_optional() -> None:
    assert format_optional(None) is None
    assert format_optional(datetime(2026, 1, 1, tzinfo=UTC)) == "2026-01-01T00:00:00Z"
