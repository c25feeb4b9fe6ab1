"""Query forwarding: the visitor's query merged into a link's target."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from minilink.core.forwarding import merge_query


@pytest.mark.parametrize(
    ("url", "query", "want"),
    [
        ("https://a.b/p", "x=1", "https://a.b/p?x=1"),
        ("https://a.b/p?a=1", "x=1", "https://a.b/p?a=1&x=1"),
        ("https://a.b/p?a=1&b=2", "b=9&c=3", "https://a.b/p?a=1&b=9&c=3"),
        ("https://a.b/p?b=2&a=1", "b=9", "https://a.b/p?b=9&a=1"),
        ("https://a.b/p?a=1#top", "x=1", "https://a.b/p?a=1&x=1#top"),
        ("https://a.b/p#top", "x=1", "https://a.b/p?x=1#top"),
        ("https://a.b/p?a=1&a=2", "a=9", "https://a.b/p?a=9"),
        ("https://a.b/p?a=1", "a=8&a=9", "https://a.b/p?a=8&a=9"),
        ("https://a.b/p?a=1", "c=1&d=2&c=3", "https://a.b/p?a=1&c=1&d=2&c=3"),
        ("https://a.b/p?ab=1", "a%62=2", "https://a.b/p?a%62=2"),
        ("https://a.b/p?a+b=1", "a%20b=2", "https://a.b/p?a%20b=2"),
        ("https://a.b/p?flag", "flag=1", "https://a.b/p?flag=1"),
        ("https://a.b/p?a=1", "&&", "https://a.b/p?a=1"),
        ("https://a.b/p?a=1", "", "https://a.b/p?a=1"),
        ("https://a.b/p?a=1&&b=2", "c=3", "https://a.b/p?a=1&b=2&c=3"),
        ("https://a.b/p#f", "x=%23y#z", "https://a.b/p?x=%23y%23z#f"),
        ("https://a.b/p", "q=caf\xc3\xa9", "https://a.b/p?q=caf%C3%A9"),
        ("https://a.b/p", "q=\xe9", "https://a.b/p?q=%E9"),
    ],
    ids=[
        "no-own-query",
        "appended",
        "visitor-wins-in-place",
        "target-order-kept",
        "fragment-last",
        "fragment-without-query",
        "repeated-target-key-sent-once",
        "repeated-visitor-key-kept",
        "visitor-order-kept",
        "names-compared-decoded",
        "plus-is-space",
        "bare-name",
        "only-empty-pieces",
        "empty-query",
        "empty-target-pieces-dropped",
        "visitor-cannot-add-a-fragment",
        "utf8-bytes-encoded",
        "latin1-byte-encoded",
    ],
)
def test_merge(url: str, query: str, want: str) -> None:
    assert merge_query(url, query) == want


@given(st.text(alphabet=st.characters(max_codepoint=255), max_size=60))
def test_merged_url_is_ascii_and_keeps_target_and_fragment(query: str) -> None:
    url = "https://a.b/p?a=1#frag"
    merged = merge_query(url, query)
    assert merged.isascii()
    assert merged.startswith("https://a.b/p?")
    assert merged.endswith("#frag")
    assert merged.count("#") == 1
