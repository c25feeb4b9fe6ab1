"""``@frozen`` value classes behave like frozen dataclasses (without their import cost)."""

from __future__ import annotations

import pytest

from minilink.core._values import field, fields, frozen, replace


@frozen
class Point:
    x: int
    y: int = 0
    tags: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.x < 0:
            raise ValueError("x must not be negative")


def test_construction_defaults_and_factories() -> None:
    a = Point(1)
    b = Point(x=1, y=0)
    assert a == b and a != Point(2)
    assert a.tags == {} and a.tags is not Point(1).tags
    assert repr(Point(3, 4)) == "Point(x=3, y=4, tags={})"
    assert fields(Point) == ("x", "y", "tags") == fields(a)


def test_frozen_and_validated() -> None:
    p = Point(1)
    with pytest.raises(AttributeError):
        p.x = 2  # type: ignore[misc]
    with pytest.raises(AttributeError):
        del p.y  # type: ignore[misc]
    with pytest.raises(ValueError, match="negative"):
        Point(-1)
    with pytest.raises(TypeError):
        Point(1, z=3)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Point()  # type: ignore[call-arg]


def test_replace_runs_validation_again() -> None:
    p = Point(1, 2)
    assert replace(p, y=5) == Point(1, 5)
    assert p == Point(1, 2)
    with pytest.raises(ValueError, match="negative"):
        replace(p, x=-1)


def test_equality_needs_the_same_type() -> None:
    @frozen
    class Other:
        x: int
        y: int = 0

    assert Point(1) != Other(1)  # type: ignore[comparison-overlap]
    assert Point(1) != (1, 0)  # type: ignore[comparison-overlap]
    assert hash(Other(1, 2)) == hash(Other(1, 2))


def test_link_and_config_replace_are_public() -> None:
    from datetime import datetime, timezone

    from minilink import Config, Link

    link = Link("abc", "https://e.com/", datetime(2026, 1, 1, tzinfo=timezone.utc))
    assert link.replace(hits=3) == Link("abc", "https://e.com/", link.created_at, hits=3)
    assert link.hits == 0  # the original is unchanged
    with pytest.raises(TypeError, match="no field"):
        link.replace(nope=1)
    assert Config().replace(code_length=9).code_length == 9
    with pytest.raises(ValueError, match="MINILINK_CODE_LENGTH"):
        Config().replace(code_length=1)
