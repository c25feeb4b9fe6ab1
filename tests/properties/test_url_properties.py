"""Properties of URL and alias validation (SPEC §5), for every input hypothesis draws.

* ``normalise_url`` accepts every URL of ``valid_urls()`` and refuses every one of
  ``hostile_urls()``; on any text at all it returns or raises ``InvalidURL``, never
  anything else.
* Normalising is idempotent, and what it returns can go into a ``Location`` header
  as it is: pure ASCII, no whitespace, no CR, LF or NUL, within the length limit.
* ``validate_alias`` accepts ``aliases()`` and refuses ``bad_aliases()``.
"""

from __future__ import annotations

from typing import Optional

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from minilink.core.app import redirect
from minilink.core.errors import InvalidAlias, InvalidURL
from minilink.core.urls import normalise_url, validate_alias
from minilink.testing.strategies import (
    TRICKY,
    aliases,
    bad_aliases,
    hostile_urls,
    valid_urls,
)

OWN = (("testserver", ""),)


def assert_location_safe(url: str, max_length: int = 4096) -> None:
    assert url.isascii(), url
    assert not any(c.isspace() or c in "\r\n\0" for c in url), url
    assert len(url) <= max_length
    assert url.startswith(("http://", "https://")), url
    assert redirect(302, url).header("location") == url  # the core's own header check


def normalised(url: str, **options: object) -> Optional[str]:
    """The normal form, or ``None`` when refused; anything but ``InvalidURL`` fails."""
    try:
        return normalise_url(url, **options)  # type: ignore[arg-type]
    except InvalidURL:
        return None


@settings(max_examples=400)
@given(valid_urls())
@example("HTTPS://Bücher.example:443/straße?q=ü#frag")
@example("http://[2001:DB8::1]:08080/%c3%a9%%41?a\\b#%")
def test_valid_urls_are_accepted_and_normalise_idempotently(url: str) -> None:
    normal = normalise_url(url)
    assert normalise_url(normal) == normal
    assert_location_safe(normal)


@settings(max_examples=400)
@given(hostile_urls(own_host="testserver", max_length=300))
def test_hostile_urls_are_refused(url: str) -> None:
    with pytest.raises(InvalidURL):
        normalise_url(url, own=OWN, max_length=300)


# Text close to a URL (a valid one with characters put in or taken out), and any text.
_near_urls = st.builds(
    lambda url, at, cut, text: url[:at] + text + url[at + cut :],
    valid_urls(),
    st.integers(0, 60),
    st.integers(0, 3),
    st.one_of(st.text(max_size=3), st.sampled_from(TRICKY)),
)


@settings(max_examples=500)
@given(st.one_of(_near_urls, st.text(), st.text("htps:/[]@\\%.?#: \t\x00").map("http".__add__)))
@example("https://example.com/%")
@example("http://\U0001f600.example/")
@example("http://a.b/\ud800")
def test_validator_raises_nothing_but_invalid_url(text: str) -> None:
    for options in ({}, {"own": OWN, "max_length": 60}):
        normal = normalised(text, **options)
        if normal is not None:
            assert normalise_url(normal, **options) == normal  # type: ignore[arg-type]
            assert_location_safe(normal)


@settings(max_examples=200)
@given(
    valid_urls(),
    st.lists(st.sampled_from(["http", "https", "ftp", "ws", "gopher"]), min_size=1),
    st.integers(10, 200),
)
def test_options_only_ever_refuse_more(url: str, schemes: list[str], max_length: int) -> None:
    """Any scheme list or length limit either keeps the default normal form or refuses."""
    normal = normalised(url, allowed_schemes=schemes, max_length=max_length)
    if normal is not None:
        assert normal == normalise_url(url)
        assert len(normal) <= max_length


@settings(max_examples=300)
@given(aliases())
def test_valid_aliases_are_accepted(alias: str) -> None:
    assert validate_alias(alias) == alias


@settings(max_examples=300)
@given(bad_aliases())
def test_bad_aliases_are_refused(alias: str) -> None:
    with pytest.raises(InvalidAlias):
        validate_alias(alias)
