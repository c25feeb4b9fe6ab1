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


# -- the fast paths decide as the character loops do ----------------------------------
# The references below are the plain definitions; the module answers the common case
# (printable ASCII, nothing to escape, an ASCII own host) without walking the text.


def _bad_text_reference(text: str) -> Optional[str]:
    for c in text:
        if c.isspace() or not c.isprintable():
            return c
    return None


def _own_host_reference(host: str, own: str) -> bool:
    from minilink.core.urls import normalise_host

    if (not own.startswith("[") and own.count(":") == 1) or (own.startswith("[") and "]:" in own):
        own = own.rsplit(":", 1)[0]
    try:
        return host == normalise_host(own)
    except InvalidURL:
        return False


_ASCIIISH = st.text(st.characters(max_codepoint=0x17F), max_size=40)
_HOSTISH = st.text(st.sampled_from("aAbB.-_:019[]%x\u00e9 "), min_size=0, max_size=20)


@given(_ASCIIISH)
@example("https://a.b/ c")
@example("https://a.b/\x1f")
@example("https://a.b/\x7f")
def test_bad_text_fast_path_agrees(text: str) -> None:
    from minilink.core.urls import _bad_text

    assert _bad_text(text) == _bad_text_reference(text)


@given(_ASCIIISH)
@example("/a%2fb%zz%")
@example("/{x}")
def test_encode_fast_path_agrees(part: str) -> None:
    from minilink.core.urls import _SAFE, _encode

    encoded = _encode(part)
    if "%" not in part and all(c in _SAFE for c in part):
        assert encoded == part
    else:
        assert encoded == _encode(part + "\x00")[: -len("%00")]  # the loop's answer


@given(st.sampled_from(["sho.rt", "a.b", "127.0.0.1", "xn--bcher-kva.example", "[::1]"]), _HOSTISH)
@example("sho.rt", "SHO.RT.")
@example("sho.rt", "sho.rt:8080")
@example("sho.rt", "sho..rt")
@example("127.0.0.1", "127.0.0.01")
@example("[::1]", "[::1]:80")
@example("xn--bcher-kva.example", "b\u00fccher.example")
def test_own_host_fast_path_agrees(host: str, own: str) -> None:
    from minilink.core.urls import _own_host

    assert _own_host(host, own) == _own_host_reference(host, own)
