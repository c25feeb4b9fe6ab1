"""URL normalisation and alias rules, as edge-case tables."""

from __future__ import annotations

import pytest

from minilink.core.errors import InvalidAlias, InvalidURL
from minilink.core.urls import normalise_url, validate_alias

ACCEPTED = [
    ("https://example.com", "https://example.com/", "empty-path"),
    ("HTTPS://Example.COM:443/A", "https://example.com/A", "case-and-default-port"),
    ("http://example.com:80/", "http://example.com/", "http-default-port"),
    ("http://example.com:8080/x", "http://example.com:8080/x", "other-port"),
    ("https://example.com./", "https://example.com/", "trailing-dot"),
    ("http://bücher.de/", "http://xn--bcher-kva.de/", "idn"),
    ("https://еxample.com/", "https://xn--xample-2of.com/", "cyrillic-homograph"),  # noqa: RUF001
    ("https://a.b/ä?q=ü#ö", "https://a.b/%C3%A4?q=%C3%BC#%C3%B6", "non-ascii"),
    ("https://a.b/%7e%41", "https://a.b/%7E%41", "escape-case"),
    ("https://a.b/100%", "https://a.b/100%25", "lone-percent"),
    ("https://a.b/?q=<x>&y={z}", "https://a.b/?q=%3Cx%3E&y=%7Bz%7D", "unsafe-chars"),
    ("https://a.b?x=1", "https://a.b/?x=1", "query-without-path"),
    ("https://a.b#top", "https://a.b/#top", "fragment-without-path"),
    ("http://127.0.0.1:8000/", "http://127.0.0.1:8000/", "ipv4"),
    ("http://[::FFFF:1]/", "http://[::ffff:1]/", "ipv6"),
    ("https://a.b/x?q=a\\b", "https://a.b/x?q=a%5Cb", "backslash-in-query"),
    ("https://sub_domain.a.b/", "https://sub_domain.a.b/", "underscore"),
]


@pytest.mark.parametrize(("raw", "normal"), [a[:2] for a in ACCEPTED], ids=[a[2] for a in ACCEPTED])
def test_accepted_urls_are_normalised(raw: str, normal: str) -> None:
    assert normalise_url(raw) == normal
    # Normalising is idempotent and the result is safe for a Location header.
    assert normalise_url(normal) == normal
    assert normal.isascii() and not any(c.isspace() or ord(c) < 32 for c in normal)


REJECTED = [
    ("", "empty"),
    ("example.com", "no-scheme"),
    ("javascript:alert(1)", "javascript"),
    ("JaVaScRiPt:alert(1)", "javascript-case"),
    ("java\tscript:alert(1)", "tab-in-scheme"),
    (" https://a.b/", "leading-space"),
    ("\x00https://a.b/", "leading-nul"),
    ("https://a.b/\r\nSet-Cookie:x", "crlf"),
    ("https://a.b/x y", "space-in-path"),
    ("https://a.b/\u200bx", "zero-width-space"),
    ("https://a.b/\u2028", "line-separator"),
    ("data:text/html,<script>", "data"),
    ("vbscript:msgbox", "vbscript"),
    ("file:///etc/passwd", "file"),
    ("ftp://a.b/", "scheme-not-allowed"),
    ("https://bank.example@evil.example/", "userinfo"),
    ("https://user:pw@evil.example/", "userinfo-password"),
    ("https:\\\\evil.example", "backslashes"),
    ("https://evil.example\\@good.example/", "backslash-authority"),
    ("https:////evil.example", "four-slashes"),
    ("https:evil.example", "no-slashes"),
    ("https://", "no-host"),
    ("https://a.b:0/", "port-zero"),
    ("https://a.b:65536/", "port-too-big"),
    ("https://a.b:x/", "port-not-number"),
    ("https://a.b:/", "port-empty"),
    ("http://0x7f.1/", "hex-ip"),
    ("http://2130706433/", "integer-ip"),
    ("http://010.0.0.1/", "octal-ip"),
    ("http://[::1/", "ipv6-unclosed"),
    ("http://[zz::1]/", "ipv6-bad"),
    ("https://a..b/", "empty-label"),
    ("https://-a.b/", "label-hyphen"),
    ("https://a%2eb/", "percent-in-host"),
    ("https://" + "a" * 64 + ".b/", "label-too-long"),
    ("https://a.b/" + "x" * 5000, "too-long"),
]


@pytest.mark.parametrize("raw", [r[0] for r in REJECTED], ids=[r[1] for r in REJECTED])
def test_hostile_urls_are_rejected(raw: str) -> None:
    with pytest.raises(InvalidURL):
        normalise_url(raw)


def test_length_limit_applies_after_encoding() -> None:
    url = "https://a.b/" + "é" * 100
    assert normalise_url(url, max_length=1000)
    with pytest.raises(InvalidURL, match="once encoded"):
        normalise_url(url, max_length=200)


@pytest.mark.parametrize(
    ("url", "blocked"),
    [
        ("https://evil.example/", "evil.example"),
        ("https://www.evil.example/", "evil.example"),
        ("https://WWW.Evil.Example./", ".evil.example"),
    ],
    ids=["exact", "subdomain", "spelling"],
)
def test_blocked_hosts(url: str, blocked: str) -> None:
    with pytest.raises(InvalidURL, match="not accepted"):
        normalise_url(url, blocked_hosts=[blocked])


def test_blocking_does_not_catch_lookalike_suffixes() -> None:
    assert normalise_url("https://notevil.example/", blocked_hosts=["evil.example"])


@pytest.mark.parametrize(
    ("url", "own"),
    [
        ("https://sho.rt/abc", ("sho.rt", "")),
        ("http://SHO.RT./abc", ("sho.rt", "")),
        ("https://sho.rt:8443/abc", ("sho.rt:8443", "")),
        ("https://sho.rt/s/abc", ("sho.rt", "/s")),
        ("https://sho.rt/s", ("sho.rt", "/s")),
        ("https://xn--bcher-kva.de/x", ("bücher.de", "")),
    ],
    ids=["plain", "spelling", "port", "prefix", "prefix-root", "idn"],
)
def test_self_links_are_refused(url: str, own: tuple[str, str]) -> None:
    with pytest.raises(InvalidURL, match="points back"):
        normalise_url(url, own=[own])


def test_same_host_outside_the_mount_is_allowed() -> None:
    assert normalise_url("https://sho.rt/blog/", own=[("sho.rt", "/s")])


@pytest.mark.parametrize("alias", ["a", "docs", "A-b_9", "x" * 100, "s", "static"])
def test_valid_aliases(alias: str) -> None:
    assert validate_alias(alias) == alias


@pytest.mark.parametrize(
    "alias",
    [
        "",
        "x" * 101,
        "a b",
        "a/b",
        "a.b",
        "a+",
        "é",
        "<b>",
        "api",
        "API",
        "healthz",
        "rest",
        "Admin",
    ],
)
def test_invalid_aliases(alias: str) -> None:
    with pytest.raises(InvalidAlias):
        validate_alias(alias)
