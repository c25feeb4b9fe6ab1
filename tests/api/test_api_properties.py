"""Properties of ``PATCH /api/links/{code}`` over the kit's ``merge_patches()``.

A valid merge patch does what RFC 7396 says to the link JSON, each value in the form
the option checks give it (a URL normalised, a title stripped, tags lower-cased
without duplicates, a time in UTC), every other field kept; an invalid one is a 400
that leaves the stored link exactly as it was, revision included. The app is called
in process over a ``MemoryStore`` (``test_api.Api``).
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from test_api import Api, body

from minilink.core.options import check_tags, check_title
from minilink.core.times import format_time, parse_time
from minilink.core.urls import normalise_url
from minilink.testing.strategies import merge_patches

_SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _expected(key: str, value: Any) -> tuple[str, Any]:
    """The link JSON field ``key`` shows once set to ``value``, and its value."""
    if value is None:
        cleared = {"tags": [], "forward_query": False, "password": False}
        return ("password_protected" if key == "password" else key), cleared.get(key)
    if key in ("url", "fallback_url"):
        return key, normalise_url(value, own=[("sho.rt", "")])
    if key == "title":
        return key, check_title(value)
    if key == "tags":
        return key, list(check_tags(value))
    if key == "expires_at":
        return key, format_time(parse_time(value))
    if key == "password":
        return "password_protected", True
    return key, value


@_SETTINGS
@given(patch=merge_patches(valid=True))
def test_a_valid_patch_sets_what_it_names_and_keeps_the_rest(patch: dict[str, Any]) -> None:
    api = Api()
    before = api.create("https://example.com/start", title="Start", tags=["s"])
    response = api.patch(before["code"], json.dumps(patch).encode())
    assert response.status == 200, (patch, response.body)
    after = body(response)
    expected = dict(before)
    for key, value in patch.items():
        field, shown = _expected(key, value)
        expected[field] = shown
    expected["updated_at"] = "2026-11-28T13:00:00Z"
    assert after == expected
    assert response.header("etag") == '"r1"'
    assert body(api.get(before["code"])) == after


@_SETTINGS
@given(patch=merge_patches(valid=False))
def test_an_invalid_patch_changes_nothing(patch: dict[str, Any]) -> None:
    api = Api()
    code = api.create("https://example.com/start", title="Start", tags=["s"])["code"]
    stored = api.store.get(code)
    response = api.patch(code, json.dumps(patch).encode())
    assert response.status == 400, (patch, response.status, response.body)
    assert body(response)["error"]["code"] in ("bad_request", "invalid_url")
    assert api.store.get(code) == stored
