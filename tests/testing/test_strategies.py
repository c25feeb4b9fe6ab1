"""The promises of ``minilink.testing.strategies`` for the options of SPEC section 9.

Other suites (the API's properties, the transfer round trip, the fuzz tests) lean on
these strategies drawing what they say: a "valid" title that the checks refuse would
make their tests pass for the wrong reason, and a "bad" one they accept would make a
test of refusals vacuous. Each strategy is checked here against the code that decides.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings

from minilink.core import options
from minilink.core.errors import BadRequest
from minilink.core.passwords import validate_password
from minilink.core.urls import normalise_url
from minilink.testing import strategies

_SETTINGS = settings(max_examples=300, deadline=None)


@_SETTINGS
@given(title=strategies.titles())
def test_titles_are_accepted_unchanged(title: str) -> None:
    assert options.check_title(title) == title


@_SETTINGS
@given(title=strategies.bad_titles())
def test_bad_titles_are_refused(title: object) -> None:
    with pytest.raises(BadRequest):
        options.check_title(title)


@_SETTINGS
@given(tags=strategies.tag_lists())
def test_tag_lists_are_accepted_and_normalised(tags: list[str]) -> None:
    kept = options.check_tags(tags)
    assert list(kept) == list(dict.fromkeys(tag.lower() for tag in tags))


@_SETTINGS
@given(tags=strategies.bad_tag_lists())
def test_bad_tag_lists_are_refused(tags: object) -> None:
    with pytest.raises(BadRequest):
        options.check_tags(tags)


@_SETTINGS
@given(status=strategies.redirect_statuses(), bad=strategies.bad_redirect_statuses())
def test_redirect_statuses(status: object, bad: object) -> None:
    assert options.check_redirect_status(status) == status
    with pytest.raises(BadRequest):
        options.check_redirect_status(bad)


@_SETTINGS
@given(password=strategies.passwords(), bad=strategies.bad_passwords())
def test_passwords(password: str, bad: object) -> None:
    assert validate_password(password) == password
    with pytest.raises(BadRequest):
        validate_password(bad)


def test_passwords_reach_lone_surrogates_and_both_lengths() -> None:
    seen: list[str] = []

    @settings(max_examples=400, deadline=None, database=None, derandomize=True)
    @given(password=strategies.passwords())
    def collect(password: str) -> None:
        seen.append(password)

    collect()
    assert any(any(0xD800 <= ord(c) < 0xE000 for c in p) for p in seen)
    assert any(len(p) == 1 for p in seen)
    assert any(len(p) == 1000 for p in seen)


@_SETTINGS
@given(chosen=strategies.link_options())
def test_link_options_are_all_valid(chosen: dict[str, Any]) -> None:
    assert set(chosen) <= set(strategies.EDITABLE)
    for name, value in chosen.items():
        if name == "fallback_url":
            if value is not None:
                normalise_url(value)
        else:
            getattr(options, f"check_{name}")(value)


def _valid(key: str, value: Any) -> bool:
    """Whether ``value`` is a valid JSON value of ``key`` in a merge patch."""
    try:
        if key in ("url", "fallback_url"):
            if value is None:
                return key == "fallback_url"
            if not isinstance(value, str):
                return False
            normalise_url(value)
        elif key == "password":
            if value is not None:
                validate_password(value)
        elif key == "max_visits":
            return value is None or (
                type(value) is int and 1 <= value <= 2**31 - 1  # not a bool
            )
        elif key == "expires_at":
            return value is None or value in strategies._VALID_TIMES
        elif key in ("title", "tags", "redirect_status", "forward_query"):
            getattr(options, f"check_{key}")(value)
        else:
            return False
    except (BadRequest, ValueError):
        return False
    return True


@_SETTINGS
@given(patch=strategies.merge_patches(valid=True))
def test_valid_merge_patches_hold_editable_keys_with_valid_values(patch: dict[str, Any]) -> None:
    assert patch
    assert set(patch) <= set(strategies.EDITABLE)
    assert all(_valid(key, value) for key, value in patch.items()), patch
    json.dumps(patch)  # JSON, as a client sends it


@_SETTINGS
@given(patch=strategies.merge_patches(valid=False))
def test_invalid_merge_patches_hold_something_refused(patch: dict[str, Any]) -> None:
    assert not all(_valid(key, value) for key, value in patch.items()), patch
    json.dumps(patch)


def test_merge_patches_reach_every_key_and_unknown_ones() -> None:
    keys: set[str] = set()

    @settings(max_examples=300, deadline=None, database=None, derandomize=True)
    @given(patch=strategies.merge_patches())
    def collect(patch: dict[str, Any]) -> None:
        keys.update(patch)

    collect()
    assert set(strategies.EDITABLE) <= keys
    assert keys - set(strategies.EDITABLE)


def test_raw_requests_reach_the_routes_of_link_management() -> None:
    seen: list[strategies.RawRequest] = []

    @settings(max_examples=1500, deadline=None, database=None, derandomize=True)
    @given(request=strategies.raw_requests(codes=("abc",), admin_token="t"))
    def collect(request: strategies.RawRequest) -> None:
        seen.append(request)

    collect()
    patches = [r for r in seen if r.method == "PATCH" and r.target.startswith(b"/api/links/")]
    headers = [(name, value) for r in patches for name, value in r.headers]
    reached = {
        "PATCH": bool(patches),
        "If-Match": any(name == "If-Match" for name, _ in headers),
        "merge-patch": ("Content-Type", "application/merge-patch+json") in headers,
        "tags": any(r.target.startswith(b"/api/tags") for r in seen),
        "password": any(r.method == "POST" and r.body.startswith(b"password=") for r in seen),
    }
    assert all(reached.values()), reached
