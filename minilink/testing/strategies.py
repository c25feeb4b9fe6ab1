"""Hypothesis strategies for what minilink is given: URLs, aliases, link options, merge
patches and raw HTTP requests.

Theory of operation
-------------------
Each strategy draws one kind of input, and draws its edge cases often: a property
that holds for a thousand plain values and fails for ``%C3%28`` is a property that
fails. The strategies make promises the tests lean on:

* ``valid_urls()`` draws URLs that ``normalise_url`` accepts with its default
  settings: ``http``/``https`` in any case, ASCII and internationalised hosts
  (``Bücher.example``), IPv4 and IPv6 literals, a trailing dot, ports (default
  ones, leading zeros), and paths, queries and fragments holding non-ASCII text,
  characters RFC 3986 wants escaped (``"<>^`{|}``), valid and broken ``%``-escapes.
* ``hostile_urls(own_host=...)`` draws URLs that must be refused with ``InvalidURL``:
  control and whitespace characters anywhere (``NUL``, tab, ``U+2028``, ``U+200B``),
  other schemes in any case (``JaVaScRiPt:``), no scheme, user-info, backslashes
  before the query, ``////host``, overlong URLs, bad ports, numeric hosts that are
  not a dotted quad (``0x7f.1``), malformed hosts, and links back to ``own_host``.
* ``aliases()`` / ``bad_aliases()`` draw aliases ``validate_alias`` accepts / refuses.
* ``titles()``, ``tag_lists()``, ``redirect_statuses()``, ``passwords()`` draw values
  of the options of SPEC section 9 that ``minilink.core.options`` (and
  ``validate_password``) accept, and ``bad_titles()``, ``bad_tag_lists()``,
  ``bad_redirect_statuses()``, ``bad_passwords()`` values they refuse with
  ``BadRequest``. Titles are already in the form ``check_title`` returns (stripped,
  1 to 200 characters), drawn from every script with combining marks, emoji
  sequences, bidi and zero-width characters; tag lists come in any case with
  duplicates, as ``check_tags`` takes them; passwords are any text of 1 to 1,000
  characters, lone surrogates included. ``link_options()`` draws keyword arguments
  of ``Shortener.create`` / ``update`` (the options only) that are all valid.
* ``merge_patches(valid=None)`` draws JSON merge patches (RFC 7396) for
  ``PATCH /api/links/{code}``, as the decoded JSON object: any of the editable keys
  (``EDITABLE``) with valid values, ``null`` and invalid ones (wrong types, nested
  objects and arrays, out-of-range numbers, bad URLs and times), now and then an
  unknown key (``code``, ``hits``, ``URL``, ``""``...). ``valid=True`` draws only
  patches every live link accepts (editable keys, valid values, ``expires_at``
  within the next years); ``valid=False`` only patches with at least one unknown
  key or invalid value; ``None`` either.
* ``raw_requests(codes=..., admin_token=...)`` draws ``RawRequest`` values: any
  method token; a request-target whose path holds raw bytes (invalid UTF-8
  included), ``%00``, broken escapes, ``.``/``..`` and empty segments, around the
  routes minilink serves and the ``codes`` given; query strings; duplicate and odd
  headers (Host, Content-Type, Authorization, Origin and Referer, a Content-Length
  that is missing, invalid or lying, compressed or chunked bodies, crawler user
  agents, ``If-Match`` values good and garbled); and bodies of any content type and
  length (JSON built from the URL and alias strategies, merge patches, form data with
  passwords, binary). Each request starts from one of ``ROUTES``
  and has each part made odd about one time in four, so most reach a handler.
  Header names never contain ``_`` (servers disagree on what ``Content_Type``
  means) and the target never holds a space, a control byte or ``#``: a server
  would not pass those on, so the adapters never see them.

``RawRequest.send(client)`` sends one through any ``minilink.testing.clients``
client (``minilink.testing.inprocess.InProcessCGIClient`` included) with its bytes
exactly as drawn, and records it in ``client.history``.

Needs the ``test`` extra (hypothesis).
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Optional
from urllib.parse import quote, unquote_to_bytes

from hypothesis import strategies as st

from minilink.core.codes import ALIAS_CHARS, ALIAS_MAX, RESERVED

if TYPE_CHECKING:
    from minilink.testing.clients import Client, Result

__all__ = [
    "EDITABLE",
    "IDN_LABELS",
    "TRICKY",
    "RawRequest",
    "aliases",
    "bad_aliases",
    "bad_passwords",
    "bad_redirect_statuses",
    "bad_tag_lists",
    "bad_titles",
    "hostile_urls",
    "link_options",
    "merge_patches",
    "passwords",
    "raw_requests",
    "redirect_statuses",
    "tag_lists",
    "titles",
    "valid_urls",
]

# -- URLs -----------------------------------------------------------------------------

#: Labels of internationalised host names, each one a valid IDNA 2003 label.
IDN_LABELS = (
    "bücher",
    "Bücher",
    "münchen",
    "köln",
    "straße",
    "пример",
    "россия",
    "例え",
    "日本語",
    "中国",
    "δοκιμή",
    "مثال",
    "उदाहरण",
    "한국",
    "ÉCOLE",
    "façade",
    "ñandú",
)

_ASCII_LABEL_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
#: Character sequences that need care in a URL: delimiters, characters RFC 3986 wants
#: escaped, good and broken percent-escapes, dots.
TRICKY = (
    *"!$&'()*+,;=:@/[]~-._\"<>^`{|}%",
    "%2F",
    "%c3%a9",
    "%00",
    "%%",
    "%4",
    "%G1",
    "..",
)


def _part(exclude: str, max_size: int) -> st.SearchStrategy[str]:
    """Text for one URL component, without the characters in ``exclude``: printable
    non-whitespace text of any script (letters, marks, numbers, punctuation,
    symbols), with one of ``TRICKY`` put in somewhere now and then."""
    text = st.text(
        st.characters(categories=["L", "M", "N", "P", "S"], exclude_characters=exclude),
        max_size=max_size,
    )
    tricky = st.sampled_from([t for t in TRICKY if not any(x in t for x in exclude)])
    return st.one_of(
        text,
        st.tuples(text, tricky, text).map("".join),
        st.text("abcxyz019-._~", max_size=max_size),
    )


def _mixed_case(text: str) -> st.SearchStrategy[str]:
    return st.integers(0, 2 ** len(text) - 1).map(
        lambda bits: "".join(c.upper() if bits >> i & 1 else c for i, c in enumerate(text))
    )


# LDH labels: the hyphens only inside.
_ascii_label = st.text(_ASCII_LABEL_CHARS + "-", min_size=1, max_size=14).map(
    lambda label: label.strip("-") or "x"
)
# The last label is never all digits: that would make the host an IPv4 address.
_tld = st.one_of(
    st.text("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=2, max_size=6),
    st.sampled_from(("テスト", "рф", "中国", "com", "EXAMPLE")),
)
_reg_name = st.builds(
    lambda labels, tld, dot: ".".join([*labels, tld]) + dot,
    st.lists(st.one_of(_ascii_label, st.sampled_from(IDN_LABELS)), min_size=1, max_size=3),
    _tld,
    st.sampled_from(("", "", "", ".")),
)
_ipv4 = st.integers(0, 2**32 - 1).map(lambda n: str(ipaddress.IPv4Address(n)))
_ipv6 = st.one_of(
    st.integers(0, 2**128 - 1).map(ipaddress.IPv6Address),
    st.sampled_from(("::1", "::", "2001:DB8::1", "::ffff:1.2.3.4", "fe80::1:0:0:1")),
).map(lambda address: f"[{address}]")
_port = st.one_of(
    st.just(""),
    st.integers(1, 65535).map(lambda p: f":{p}"),
    st.sampled_from((":80", ":443", ":8080", ":08080", ":00443")),
)


@st.composite
def valid_urls(draw: st.DrawFn) -> str:
    """URLs that ``normalise_url`` accepts with its default settings."""
    scheme = draw(st.sampled_from(("http", "https")).flatmap(_mixed_case))
    host = draw(st.one_of(_reg_name, _reg_name, _reg_name, _ipv4, _ipv6))
    port = draw(_port)
    path = draw(st.lists(_part("?#\\", 12), max_size=4).map(lambda s: "".join("/" + p for p in s)))
    query = draw(st.one_of(st.just(""), _part("#", 20).map(lambda q: "?" + q)))
    fragment = draw(st.one_of(st.just(""), _part("", 12).map(lambda f: "#" + f)))
    return f"{scheme}://{host}{port}{path}{query}{fragment}"


_OTHER_SCHEMES = (
    "javascript",
    "data",
    "file",
    "vbscript",
    "ftp",
    "ws",
    "mailto",
    "blob",
    "about",
    "jar",
    "gopher",
    "view-source",
    "chrome",
    "intent",
)
# Every character no URL may hold anywhere: controls (C0, DEL, C1), format characters
# (zero-width space, bidi overrides, BOM), separators and other whitespace.
_FORBIDDEN_CHAR = st.one_of(
    st.sampled_from(
        (
            *("\x00", "\t", "\n", "\r", "\x0b", "\x0c", " ", "\x7f", "\x85", "\xa0"),
            *("\u1680", "\u2028", "\u200b", "\u202e", "\ufeff", "\u3000"),
        )
    ),
    st.characters(categories=["Cc", "Cf", "Zs", "Zl", "Zp", "Co"]),
)
_BAD_PORTS = (
    ":0",
    ":65536",
    ":99999",
    ":-1",
    ":80a",
    ":",
    ":+80",
    ":\uff18\uff10",
    ":0x50",
    ":1e3",
)
_BAD_HOSTS = (
    "0x7f.1",
    "2130706433",
    "127.1",
    "0177.0.0.1",
    "127.0.0.01",
    "1.2.3.256",
    "0x7f000001",
    "1.2.3.4.5",
    "-example.com",
    "example-.com",
    "exa..mple.com",
    "a" * 64 + ".com",
    ".".join(["abcdefghij"] * 24) + ".com",
    "[::1",
    "[not-ipv6]",
    "[1.2.3.4]",
    "exa$mple.com",
    "exa%41mple.com",
    "ex[ample.com",
    "xn--.com",
)


@st.composite
def hostile_urls(draw: st.DrawFn, *, own_host: Optional[str] = None, max_length: int = 4096) -> str:
    """URLs ``normalise_url`` must refuse; pass it ``own=((own_host, ""),)`` and
    ``max_length`` when ``own_host`` is given or ``max_length`` is changed."""
    kinds = [
        "control",
        "scheme",
        "no-scheme",
        "userinfo",
        "backslash",
        "slashes",
        "overlong",
        "port",
        "host",
    ]
    if own_host:
        kinds.append("self")
    kind = draw(st.sampled_from(kinds))
    path = draw(st.sampled_from(("/", "/a?b=c", "/x#y", "")))
    if kind == "control":
        base = draw(valid_urls())
        at = draw(st.integers(0, len(base)))
        return base[:at] + draw(_FORBIDDEN_CHAR) + base[at:]
    if kind == "scheme":
        scheme = draw(
            st.one_of(
                st.sampled_from(_OTHER_SCHEMES),
                st.from_regex(r"[a-z][a-z0-9+.\-]{0,9}", fullmatch=True).filter(
                    lambda s: s not in ("http", "https")
                ),
            ).flatmap(_mixed_case)
        )
        rest = draw(st.sampled_from(("//example.com/", "alert(1)", "text/html,<b>x</b>", "")))
        return f"{scheme}:{rest}"
    if kind == "no-scheme":
        return draw(
            st.sampled_from(
                ("", "//example.com/", "example.com", "/just/a/path", "?q", "#f", ":", "1http://x")
            )
        )
    if kind == "userinfo":
        user = draw(st.sampled_from(("user", "user:pass", "bank.example", "", ":", "a%40b")))
        return f"https://{user}@evil.example{path}"
    if kind == "backslash":
        return draw(
            st.sampled_from(
                (
                    "https:\\\\evil.example/",
                    "https:/\\evil.example/",
                    "https://evil.example\\@good.example/",
                    "https://good.example\\evil",
                    "https://good.example/a\\b",
                    "https://good.example\\",
                )
            )
        )
    if kind == "slashes":
        slashes = draw(st.sampled_from(("/", "///", "////", "//////", ":/", ":")))
        return f"https:{slashes}evil.example{path}"
    if kind == "overlong":
        extra = draw(st.integers(1, 64))
        head = "https://example.com/"
        return head + "a" * (max_length - len(head) + extra)
    if kind == "port":
        return f"https://example.com{draw(st.sampled_from(_BAD_PORTS))}{path}"
    if kind == "host":
        return f"https://{draw(st.sampled_from(_BAD_HOSTS))}{path}"
    assert own_host is not None
    scheme = draw(st.sampled_from(("http", "https")).flatmap(_mixed_case))
    host = draw(_mixed_case(own_host))
    dot = draw(st.sampled_from(("", ".")))
    port = draw(st.sampled_from(("", ":80", ":8080")))
    return f"{scheme}://{host}{dot}{port}{path or '/'}"


# -- aliases --------------------------------------------------------------------------

_ALIAS_ALPHABET = "".join(sorted(ALIAS_CHARS))


def aliases() -> st.SearchStrategy[str]:
    """Aliases ``validate_alias`` accepts: ``[A-Za-z0-9_-]{1,100}``, not reserved."""
    return st.text(_ALIAS_ALPHABET, min_size=1, max_size=ALIAS_MAX).filter(
        lambda alias: alias.lower() not in RESERVED
    )


@st.composite
def bad_aliases(draw: st.DrawFn) -> str:
    """Aliases ``validate_alias`` refuses with ``InvalidAlias``."""
    kind = draw(st.sampled_from(("empty", "long", "char", "reserved")))
    if kind == "empty":
        return ""
    if kind == "long":
        return draw(st.text(_ALIAS_ALPHABET, min_size=ALIAS_MAX + 1, max_size=ALIAS_MAX + 16))
    if kind == "char":
        good = draw(st.text(_ALIAS_ALPHABET, max_size=10))
        bad = draw(
            st.one_of(
                st.sampled_from((*" ./+%?#&=:@\\\x00\té", "..", "\u200b", "\uff41", "\u0663")),
                st.characters().filter(lambda c: c not in ALIAS_CHARS),
            )
        )
        at = draw(st.integers(0, len(good)))
        return good[:at] + bad + good[at:]
    return draw(st.sampled_from(sorted(RESERVED)).flatmap(_mixed_case))


# -- link options (SPEC section 9) ------------------------------------------------------

#: The keys a merge patch may hold (``PATCH /api/links/{code}``).
EDITABLE = (
    "url",
    "title",
    "tags",
    "expires_at",
    "max_visits",
    "redirect_status",
    "forward_query",
    "fallback_url",
    "password",
)

_MAX_TITLE = 200
_MAX_TAGS = 10
_MAX_TAG = 32
_MAX_PASSWORD = 1000
_TAG_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789_-"

#: Text a title may hold that is easy to get wrong: combining marks, emoji (with skin
#: tones, ZWJ sequences and flags), right-to-left scripts with bidi controls,
#: zero-width characters, characters outside the BMP, full-width forms, a BOM, the
#: Kelvin sign, and text that looks like markup, SQL or a LIKE pattern.
_ODD_TITLE_PARTS = (
    "e\u0301",
    "\U0001f469\u200d\U0001f4bb",
    "\U0001f44d\U0001f3fd",
    "\U0001f1eb\U0001f1f7",
    "\u05e9\u05dc\u05d5\u05dd",
    "\u0645\u0631\u062d\u0628\u0627",
    "\u202eabc\u202c",
    "\u200b",
    "\u200d",
    "\ufeff",
    "\U0001d54f",
    "\uff21\uff22",
    "\u212a",
    "\u0130",
    "\u00df",
    "\u2028",
    "<script>alert(1)</script>",
    "'; DROP TABLE links; --",
    "100%",
    "a_b",
    "\\",
    "&amp;",
)
# What check_title refuses: C0 and C1 controls, DEL and lone surrogates.
_TITLE_CHAR = st.characters(exclude_categories=["Cc", "Cs"])


def _title_text(max_size: int) -> st.SearchStrategy[str]:
    return st.one_of(
        st.text(_TITLE_CHAR, min_size=1, max_size=max_size),
        st.lists(
            st.one_of(st.sampled_from(_ODD_TITLE_PARTS), st.text(_TITLE_CHAR, max_size=8)),
            min_size=1,
            max_size=8,
        ).map("".join),
        st.text("abcXYZ 019", min_size=1, max_size=max_size),
    )


def titles() -> st.SearchStrategy[str]:
    """Titles ``check_title`` accepts and returns unchanged: 1 to 200 characters of any
    script (no control character or lone surrogate), without leading or trailing
    whitespace; the longest ones now and then."""
    return st.one_of(
        _title_text(_MAX_TITLE),
        st.text("ab\u00e9\U0001f600", min_size=_MAX_TITLE, max_size=_MAX_TITLE),
    ).filter(lambda title: title == title.strip() and 1 <= len(title) <= _MAX_TITLE)


@st.composite
def bad_titles(draw: st.DrawFn) -> object:
    """Titles ``check_title`` refuses: too long, holding a control character (C0,
    DEL, C1) or a lone surrogate, or not a string at all."""
    kind = draw(st.sampled_from(("long", "control", "surrogate", "type")))
    if kind == "long":
        return (
            "x"
            + draw(st.text("ab\u00e9 ", min_size=_MAX_TITLE - 1, max_size=_MAX_TITLE + 40))
            + "x"
        )
    if kind == "type":
        return draw(_JUNK.filter(lambda value: value is not None and not isinstance(value, str)))
    good = draw(_title_text(20))
    bad = draw(
        st.characters(categories=["Cs"])
        if kind == "surrogate"
        else st.one_of(
            st.sampled_from(("\x00", "\t", "\n", "\r", "\x1b", "\x7f", "\x85", "\x9f")),
            st.characters(categories=["Cc"]),
        )
    )
    at = draw(st.integers(0, len(good)))
    return good[:at] + bad + good[at:]


_tag = st.one_of(
    st.text(_TAG_ALPHABET, min_size=1, max_size=_MAX_TAG),
    st.sampled_from(("a", "-", "_", "0", "a-b", "a_b", "x" * _MAX_TAG, "news", "2026")),
)


@st.composite
def tag_lists(draw: st.DrawFn) -> list[str]:
    """Lists ``check_tags`` accepts: up to 10 distinct tags (after lower-casing) of 1 to
    32 of ``a-z0-9_-``, in any ASCII case, with duplicates now and then (which
    ``check_tags`` drops, keeping the first)."""
    tags = draw(st.lists(_tag, max_size=_MAX_TAGS, unique=True))
    cased = [draw(_mixed_case(tag)) if draw(st.booleans()) else tag for tag in tags]
    if cased and draw(st.integers(0, 3)) == 0:
        cased.insert(draw(st.integers(0, len(cased))), draw(st.sampled_from(cased)).upper())
    return cased


@st.composite
def bad_tag_lists(draw: st.DrawFn) -> object:
    """Tag lists ``check_tags`` refuses: more than 10 distinct tags, a tag that is
    empty, too long or holds a character outside ``a-z0-9_-`` (space, ``.``, non-ASCII
    letters, the Kelvin sign that lower-cases to ``k``), a tag that is no string, or
    a value that is no list (a bare string, an object, a number)."""
    kind = draw(st.sampled_from(("many", "empty", "long", "char", "type", "not-a-list")))
    good = draw(st.lists(_tag, max_size=3, unique=True))
    if kind == "many":
        extra = draw(st.integers(_MAX_TAGS + 1, 3 * _MAX_TAGS))
        return [f"t{i}" for i in range(extra)]
    if kind == "not-a-list":
        return draw(st.one_of(_tag, st.just({"a": "b"}), st.integers(), st.booleans()))
    if kind == "empty":
        bad: object = ""
    elif kind == "long":
        bad = draw(st.text(_TAG_ALPHABET, min_size=_MAX_TAG + 1, max_size=_MAX_TAG + 8))
    elif kind == "type":
        bad = draw(st.one_of(st.none(), st.integers(), st.just(["a"]), st.just({"a": 1})))
    else:
        char = draw(
            st.one_of(
                st.sampled_from((" ", ".", "/", "#", "\u212a", "\u0130", "\u00e9", "\x00", "\t")),
                st.characters().filter(lambda c: c.lower() not in _TAG_ALPHABET),
            )
        )
        word = draw(st.text(_TAG_ALPHABET, max_size=8))
        bad = word[: len(word) // 2] + char + word[len(word) // 2 :]
    return [*good, bad]


def redirect_statuses() -> st.SearchStrategy[Optional[int]]:
    """What ``check_redirect_status`` accepts: 301, 302, 307, 308 or ``None``."""
    return st.sampled_from((None, 301, 302, 307, 308))


def bad_redirect_statuses() -> st.SearchStrategy[object]:
    """What it refuses: other statuses (a 303 or a 200 included), booleans, floats,
    numeric strings, objects."""
    return st.one_of(
        st.sampled_from((300, 303, 304, 305, 306, 309, 200, 404, 0, -301, 3010, True, False)),
        st.sampled_from(("301", "308 ", 301.0, 301.5, 1e308, [301], {"status": 301})),
        st.integers().filter(lambda n: n not in (301, 302, 307, 308)),
    )


def passwords() -> st.SearchStrategy[str]:
    """Passwords ``validate_password`` accepts: any text of 1 to 1,000 characters,
    lone surrogates, NUL, spaces at either end and characters outside the BMP
    included; the shortest and the longest ones now and then."""
    anything = st.characters(exclude_categories=[])
    return st.one_of(
        st.text(anything, min_size=1, max_size=40),
        st.text(st.characters(categories=["Cs", "Cc", "Zs"]), min_size=1, max_size=8),
        st.sampled_from(("x", " ", "\x00", "\ud800", "\udfff\ud800", "pass word ", "\U0001f511")),
        st.text("a\u00e9\U0001f511", min_size=_MAX_PASSWORD, max_size=_MAX_PASSWORD),
    )


def bad_passwords() -> st.SearchStrategy[object]:
    """Passwords ``validate_password`` refuses: empty, over 1,000 characters, or not a
    string (``null`` is no password to refuse: it removes one)."""
    return st.one_of(
        st.just(""),
        st.text("ab", min_size=_MAX_PASSWORD + 1, max_size=_MAX_PASSWORD + 5),
        st.integers(),
        st.booleans(),
        st.just(["secret"]),
        st.just({"password": "secret"}),
        st.floats(allow_nan=False),
    )


@st.composite
def link_options(draw: st.DrawFn, *, passwords_too: bool = False) -> dict[str, Any]:
    """Valid options of ``Shortener.create`` / ``update`` as keyword arguments: any
    subset of title, tags, redirect status, query forwarding and a fallback URL (and
    a password when ``passwords_too``: hashing one costs about 90 ms)."""
    fields: dict[str, st.SearchStrategy[Any]] = {
        "title": st.none() | titles(),
        "tags": st.none() | tag_lists(),
        "redirect_status": redirect_statuses(),
        "forward_query": st.booleans(),
        "fallback_url": st.none() | valid_urls(),
    }
    if passwords_too:
        fields["password"] = st.none() | passwords()
    keys = draw(st.lists(st.sampled_from(sorted(fields)), unique=True))
    return {key: draw(fields[key]) for key in keys}


# -- merge patches ----------------------------------------------------------------------

_SCALAR: st.SearchStrategy[Any] = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**65), 2**65),
    st.floats(allow_nan=False),
    st.text(max_size=10),
)
#: JSON values nested a few levels deep, for keys that want something else.
_JUNK: st.SearchStrategy[Any] = st.recursive(
    _SCALAR,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(("url", "a", "", "$ref", "title")), inner, max_size=3),
    ),
    max_leaves=6,
)
#: Keys that are not editable: read-only fields, near misses, odd strings.
_UNKNOWN_KEYS = (
    "code",
    "hits",
    "alias",
    "created_at",
    "updated_at",
    "deleted_at",
    "revision",
    "password_hash",
    "password_protected",
    "short_url",
    "expires_in",
    "URL",
    "Title",
    "tags ",
    "",
    "__proto__",
    "url\x00",
)
_VALID_TIMES = (
    "2027-01-01T00:00:00Z",
    "2030-06-15T12:30:00+02:00",
    "2027-11-28T13:00:00.5-05:00",
    "2040-02-29T23:59:59Z",
)
_BAD_TIMES = (
    "2027-01-01T00:00:00",
    "2027-13-01T00:00:00Z",
    "2027-02-30T00:00:00Z",
    "tomorrow",
    "",
    "9999-12-31T23:59:59Z",
    "2027-01-01",
    "1e9",
    "2027-01-01T00:00:00Z\x00",
)


def _valid_values() -> dict[str, st.SearchStrategy[Any]]:
    return {
        "url": valid_urls(),
        "title": st.none() | titles(),
        "tags": st.none() | tag_lists(),
        "expires_at": st.none() | st.sampled_from(_VALID_TIMES),
        "max_visits": st.none() | st.sampled_from((1, 2, 10, 2**31 - 1)) | st.integers(1, 10**6),
        "redirect_status": redirect_statuses(),
        "forward_query": st.booleans(),
        "fallback_url": st.none() | valid_urls(),
        "password": st.none() | passwords(),
    }


def _invalid_values() -> dict[str, st.SearchStrategy[Any]]:
    junk: st.SearchStrategy[Any] = st.one_of(
        _JUNK.filter(lambda value: value is not None), st.just({}), st.just([])
    )
    return {
        "url": st.one_of(st.none(), hostile_urls(), junk.filter(lambda v: not isinstance(v, str))),
        "title": st.one_of(bad_titles(), junk.filter(lambda v: not isinstance(v, str))),
        "tags": st.one_of(bad_tag_lists(), st.just({"a": 1})),
        "expires_at": st.one_of(
            st.sampled_from(_BAD_TIMES), junk.filter(lambda v: not isinstance(v, str))
        ),
        "max_visits": st.one_of(
            st.sampled_from((0, -1, 2**31, 2**63, 1.5, 2.0, True, "5", [5])),
            junk.filter(lambda v: not isinstance(v, int) or isinstance(v, bool)),
        ),
        "redirect_status": bad_redirect_statuses(),
        "forward_query": st.one_of(
            st.sampled_from((0, 1, "true", "false", "", [True])),
            junk.filter(lambda v: v is not None and not isinstance(v, bool)),
        ),
        "fallback_url": st.one_of(
            hostile_urls(), junk.filter(lambda v: v is not None and not isinstance(v, str))
        ),
        "password": bad_passwords(),
    }


@st.composite
def merge_patches(draw: st.DrawFn, *, valid: Optional[bool] = None) -> dict[str, Any]:
    """JSON merge patches of a link, as decoded JSON objects (see the module docstring).

    With ``valid=True`` each patch has 1 to 4 editable keys with values any live link
    accepts (``null`` clears, except for ``url``); with ``valid=False`` each has at
    least one unknown key or invalid value, among valid ones; with ``None`` either,
    mostly valid.
    """
    good = _valid_values()
    keys = draw(
        st.lists(
            st.sampled_from(EDITABLE), min_size=0 if valid is None else 1, max_size=4, unique=True
        )
    )
    patch: dict[str, Any] = {key: draw(good[key]) for key in keys}
    if valid is True:
        return patch
    if valid is None and draw(st.integers(0, 2)) != 0:
        return patch
    bad = _invalid_values()
    for _ in range(draw(st.integers(1, 2))):
        if draw(st.integers(0, 3)) == 0:
            patch[draw(st.sampled_from(_UNKNOWN_KEYS))] = draw(_JUNK)
        else:
            key = draw(st.sampled_from(EDITABLE))
            patch[key] = draw(bad[key])
    return patch


# -- raw HTTP requests ----------------------------------------------------------------


@dataclass(frozen=True)
class RawRequest:
    """One HTTP request as it comes off the wire, for any adapter.

    ``target`` is the request-target's bytes (path and optional ``?query``, below
    the mount root a client is given); ``headers`` are ``(name, value)`` pairs in
    order, duplicates allowed, values as latin-1 text of their bytes, sent exactly
    (no ``Host`` or ``Content-Length`` is added).
    """

    method: str
    target: bytes
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    scheme: str = "http"

    def send(self, client: Client) -> Result:
        """Send this request through ``client`` (mounted at ``client.root``, which
        is put before the target) and record it in ``client.history``."""
        from minilink.testing.clients import _Wire

        root = client.root.encode("utf-8")
        raw_path, _, query = self.target.partition(b"?")
        wire = _Wire(
            method=self.method,
            target=root + self.target,
            raw_path=raw_path,
            script_name=root,
            path_info=unquote_to_bytes(raw_path),
            query=query,
            headers=self.headers,
            body=self.body,
            scheme=self.scheme,
            remote_addr="127.0.0.1",
        )
        client.body_read = None
        result = client._send(wire)
        client.history.append((f"{self.method} {wire.target.decode('latin-1')}", result))
        return result


#: The routes minilink serves: (method, path with ``{}`` for a code, body kind).
ROUTES = (
    ("GET", "/", "none"),
    ("HEAD", "/", "none"),
    ("POST", "/", "form"),
    ("GET", "/{}", "none"),
    ("HEAD", "/{}", "none"),
    ("GET", "/{}+", "none"),
    ("GET", "/{}.svg", "none"),
    ("GET", "/healthz", "none"),
    ("POST", "/api/links", "json"),
    ("POST", "/api/links", "json"),
    ("GET", "/api/links", "none"),
    ("GET", "/api/links/{}", "none"),
    ("DELETE", "/api/links/{}", "none"),
    ("GET", "/api/links/{}/stats", "none"),
    ("GET", "/api/openapi.json", "none"),
    ("PATCH", "/api/links/{}", "patch"),
    ("PATCH", "/api/links/{}", "patch"),
    ("GET", "/api/tags", "none"),
    ("POST", "/{}", "password"),
)
_METHODS = (
    "GET",
    "HEAD",
    "POST",
    "DELETE",
    "PUT",
    "PATCH",
    "OPTIONS",
    "TRACE",
    "CONNECT",
    "get",
    "Post",
    "PROPFIND",
    "M-SEARCH",
)
_TOKEN = "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
# Path segments around what minilink routes on, and ones that break decoders (as
# latin-1 text of their bytes: "caf\xc3\xa9" is UTF-8, "\xff\xfe" is not).
_SEGMENTS = (
    "",
    ".",
    "..",
    "%2e",
    "%2E%2e",
    "api",
    "API",
    "links",
    "stats",
    "openapi.json",
    "healthz",
    "static",
    "s",
    "%00",
    "%FF",
    "%C3%A9",
    "%C3%28",
    "%ED%A0%80",
    "%F0%9F%98%80",
    "%2F",
    "%",
    "%G1",
    "%4",
    "%%",
    "%25",
    "caf\xc3\xa9",
    "\xff\xfe",
    "\xc3",
    "+",
    "%2B",
    ";x=1",
    "a.svg",
)
# Bytes a server passes on in a request-target: no space, control byte or "#".
_TARGET_BYTES = frozenset(b for b in range(0x21, 0x100) if b not in b"#\x7f")


def _weird(draw: st.DrawFn, one_in: int = 4) -> bool:
    """True once in ``one_in`` draws: how often a part of a request is made odd."""
    return draw(st.integers(1, one_in)) == 1


def _code(draw: st.DrawFn, codes: tuple[str, ...]) -> str:
    code = draw(st.sampled_from(codes)) if codes and not _weird(draw) else draw(aliases())
    if not _weird(draw):
        return code
    return draw(
        st.sampled_from(
            (
                code.swapcase(),
                quote(code, safe=""),
                "".join(f"%{ord(c):02x}" for c in code),
                code + "+",
                code + ".svg",
                code + "%2B",
                code[:-1],
                code + "x",
            )
        )
    )


def _mangle(draw: st.DrawFn, path: str) -> str:
    """A path that may still route where ``path`` does (``//``, ``/./``, ``/x/../``,
    a trailing slash) or no longer does (segments put in, taken out, replaced)."""
    parts = path.split("/")[1:]
    for _ in range(draw(st.integers(1, 3))):
        how = draw(st.sampled_from(("insert", "insert", "replace", "drop", "slash")))
        at = draw(st.integers(0, len(parts)))
        if how == "insert":
            extra = st.one_of(
                st.sampled_from(("", ".", "..", "x/..", "%2e")),
                st.sampled_from(_SEGMENTS),
                st.binary(min_size=1, max_size=4).map(lambda b: b.decode("latin-1")),
            )
            parts.insert(at, draw(extra))
        elif how == "replace" and parts:
            parts[min(at, len(parts) - 1)] = draw(st.sampled_from(_SEGMENTS))
        elif how == "drop" and parts:
            del parts[min(at, len(parts) - 1)]
        else:
            parts.append("")
    return "/" + "/".join(parts)


_QUERY_NAMES = (
    "url",
    "alias",
    "days",
    "limit",
    "after",
    "x",
    "",
    "URL",
    "q",
    "tag",
    "state",
    "sort",
)
_QUERY_VALUES = (
    "",
    "1",
    "7",
    "30",
    "366",
    "367",
    "0",
    "-1",
    "1000",
    "1001",
    "99999999999",
    "abc",
    "%FF",
    "%C3%A9",
    "\xc3\xbc",
    "\xff",
    "a+b",
    "%2B",
    "%",
    "%00",
    "https%3A%2F%2Fexample.com%2F",
    "live",
    "expired",
    "deleted",
    "all",
    "LIVE",
    "created",
    "hits",
    "updated",
    "%25",
    "_",
    "news",
)


def _query(draw: st.DrawFn, codes: tuple[str, ...], route: str) -> str:
    names = {
        "/": ("url",),
        "/api/links": ("limit", "after", "q", "tag", "state", "sort"),
        "/api/links/{}/stats": ("days",),
    }.get(route, ())
    if not names and not _weird(draw):
        return ""
    value = st.one_of(
        st.sampled_from(_QUERY_VALUES),
        st.sampled_from(codes or ("x",)),
        st.integers(-2, 2000).map(str),
        valid_urls().map(lambda u: quote(u, safe="")),
        st.text(max_size=6).map(lambda t: quote(t, safe="")),
    )
    name = st.sampled_from(names + _QUERY_NAMES) if names else st.sampled_from(_QUERY_NAMES)
    pairs = draw(
        st.lists(
            st.one_of(
                st.tuples(name, value).map("=".join),
                st.sampled_from(("", "days", "limit", "=", "==", "url=a=b", "?")),
            ),
            max_size=3,
        )
    )
    return "?" + "&".join(pairs)


def _target(draw: st.DrawFn, codes: tuple[str, ...], route: str) -> bytes:
    path = route.replace("{}", _code(draw, codes)) if "{}" in route else route
    if _weird(draw, 3):
        path = _mangle(draw, path)
    text = path + _query(draw, codes, route)
    # Real text (code points >= 256) is sent as UTF-8, as browsers send it; the rest
    # is latin-1 text of bytes as drawn, so raw invalid UTF-8 survives.
    raw = text.encode("latin-1") if all(ord(c) < 256 for c in text) else text.encode("utf-8")
    # A byte no server would pass on (space, control byte, "#") becomes "_".
    return bytes(b if b in _TARGET_BYTES else 0x5F for b in raw)


_CONTENT_TYPES = (
    "application/json",
    "application/json; charset=utf-8",
    "APPLICATION/JSON ; charset=latin-1",
    "application/x-www-form-urlencoded",
    "application/x-www-form-urlencoded; charset=UTF-8",
    "multipart/form-data; boundary=xyz",
    "text/plain",
    "application/jsonx",
    "",
    " ",
    ";",
    "application/json\xe9",
)
_LENGTHS = ("", " ", "abc", "-1", "1.5", "+5", "0x10", "1e3", str(10**12), str(10**20))
#: ``If-Match`` values: current or stale revisions (links start at ``"r0"``), weak
#: and listed tags, ``*``, and garbage.
_IF_MATCH = (
    '"r0"',
    '"r1"',
    '"r2"',
    "r0",
    'W/"r0"',
    '"r0", "r1"',
    '"r1", "r0"',
    "*",
    '"r-1"',
    '"r99999999999999999999"',
    '"r0x1"',
    '""',
    "",
    '"',
    '"r0',
    '"\xe9"',
    "\xff\xfe",
    '"r0"' * 50,
)
_AGENTS = (
    "Mozilla/5.0",
    "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
    "facebookexternalhit/1.1",
    "TWITTERBOT",
    "",
    "\xe9\xff",
)
_HOSTS = (
    "TESTSERVER",
    "testserver:8080",
    "testserver.",
    "example.com",
    "127.0.0.1:8000",
    "[::1]:8000",
    "",
    " ",
    "evil host/<x>",
    "h\xe9",
    "a" * 300,
)


def _json_body(draw: st.DrawFn, codes: tuple[str, ...]) -> bytes:
    url = st.one_of(valid_urls(), hostile_urls(own_host="testserver"), st.text(max_size=20))
    scalar: st.SearchStrategy[Any] = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**65), 2**65),
        st.floats(allow_nan=False),
        st.text(max_size=10),
        st.just([]),
        st.just({}),
    )
    fields: dict[str, st.SearchStrategy[Any]] = {
        "alias": st.one_of(aliases(), bad_aliases(), st.sampled_from(codes or ("x",)), scalar),
        "expires_in": st.one_of(
            st.sampled_from((1, 60, 0, -5, 3.5, 1e-9, 10**12, 3155760000, 1e308)), scalar
        ),
        "expires_at": st.one_of(
            st.sampled_from(
                (
                    "2026-11-29T00:00:00Z",
                    "2026-11-28T12:00:00Z",
                    "2026-11-29T00:00:00",
                    "2026-11-29T00:00:00.5+01:00",
                    "2126-11-29T00:00:00+01:00",
                    "9999-12-31T23:59:59Z",
                    "0001-01-01T00:00:00+23:59",
                    "tomorrow",
                    "2026-13-01T00:00:00Z",
                    "",
                )
            ),
            scalar,
        ),
        "max_visits": st.one_of(st.sampled_from((1, 2, 0, -1, 2**31 - 1, 2**31, True)), scalar),
        "extra": scalar,
    }
    payload: dict[str, Any] = {}
    if not _weird(draw, 8):
        payload["url"] = draw(st.one_of(url, url, url, scalar))
    for key in draw(st.lists(st.sampled_from(sorted(fields)), max_size=3, unique=True)):
        payload[key] = draw(fields[key])
    if not _weird(draw):
        return json.dumps(payload, ensure_ascii=draw(st.booleans())).encode("utf-8")
    return draw(
        st.sampled_from(
            (
                json.dumps([payload]).encode("utf-8"),
                json.dumps(payload).encode("utf-8")[:-1],
                json.dumps(payload).encode("utf-16"),
                b"\xef\xbb\xbf" + json.dumps(payload).encode("utf-8"),
                b"[" * 40 + b"]" * 40,
                b'{"url": "https://example.com/", "url": "https://example.org/"}',
                b'{"url": "https://example.com/", "expires_in": NaN}',
                b'{"url": "https://example.com/\xff"}',
                b"null",
                b"",
            )
        )
    )


def _patch_body(draw: st.DrawFn) -> bytes:
    patch = draw(merge_patches())
    if "password" in patch and not _weird(draw):
        del patch["password"]  # hashing one costs ~90 ms: now and then only
    if not _weird(draw, 6):
        # ASCII escapes: lone surrogates have no UTF-8 form, JSON's \uXXXX has one.
        return json.dumps(patch).encode("utf-8")
    return draw(
        st.sampled_from(
            (
                json.dumps([patch]).encode("utf-8"),
                json.dumps(patch).encode("utf-8")[:-1],
                b'{"title": "a", "title": "b"}',
                b'{"tags": ["a"], "tags": null}',
                b'{"max_visits": 1e400}',
                b'{"title": "\\ud800"}',
                b'{"password": "\\udfff"}',
                b"null",
                b"[]",
                b"{}",
                b"",
            )
        )
    )


def _password_body(draw: st.DrawFn) -> bytes:
    password = draw(st.one_of(st.text(max_size=12), st.sampled_from(("", "secret", "%", "+"))))
    body = "password=" + quote(password.encode("utf-8", "surrogatepass"), safe="")
    if _weird(draw, 6):
        body += draw(st.sampled_from(("&password=x", "&", "&x=1", "%FF")))
    return body.encode("ascii")


def _form_body(draw: st.DrawFn) -> bytes:
    url = draw(st.one_of(valid_urls(), hostile_urls(own_host="testserver"), st.text(max_size=10)))
    pairs = [("url", url)]
    alias = draw(st.one_of(st.just(""), aliases(), bad_aliases()))
    if alias or draw(st.booleans()):
        pairs.append(("alias", alias))
    if _weird(draw, 6):
        pairs.append(("url", "https://example.org/"))
    body = "&".join(f"{quote(k)}={quote(v, safe='')}" for k, v in pairs).encode("ascii")
    if _weird(draw, 6):
        body += draw(st.sampled_from((b"&%FF=%C3%28", b"&url", b"&&", b"\xff", b"+%")))
    return body


@st.composite
def raw_requests(
    draw: st.DrawFn,
    *,
    codes: tuple[str, ...] = (),
    admin_token: Optional[str] = None,
    max_body: int = 2048,
) -> RawRequest:
    """Raw requests around minilink's routes. ``codes`` are codes and aliases that
    exist (used in paths, queries and bodies), ``admin_token`` is sent in most
    ``Authorization`` headers, ``max_body`` is the configured body limit.

    A request starts from one of ``ROUTES`` with its method and body, and each part
    (method, path, query, Host, Content-Type, Content-Length, body) is then made odd
    independently, about one time in four: most requests reach a handler, and every
    handler meets every oddity.
    """
    method, route, kind = draw(st.sampled_from(ROUTES))
    if _weird(draw, 5):
        method = draw(st.one_of(st.sampled_from(_METHODS), st.text(_TOKEN, min_size=1, max_size=8)))
    target = _target(draw, codes, route)
    if _weird(draw, 6):
        kind = draw(st.sampled_from(("none", "json", "form", "patch", "binary")))
    body = b""
    if kind == "json":
        body = _json_body(draw, codes)
    elif kind == "form":
        body = _form_body(draw)
    elif kind == "patch":
        body = _patch_body(draw)
    elif kind == "password":
        body = _password_body(draw)
    elif kind == "binary":
        body = draw(st.binary(max_size=64))
    if _weird(draw, 12):
        body += b"x" * draw(st.sampled_from((max_body - len(body), max_body + 1, 3 * max_body)))

    headers: list[tuple[str, str]] = []
    if not _weird(draw, 8):
        headers.append(("Host", "testserver"))
    elif draw(st.booleans()):
        headers.append(("Host", draw(st.sampled_from(_HOSTS))))
    natural = {
        "json": "application/json",
        "patch": draw(st.sampled_from(("application/merge-patch+json", "application/json"))),
        "form": "application/x-www-form-urlencoded",
        "password": "application/x-www-form-urlencoded",
    }.get(kind)
    if natural is not None and not _weird(draw):
        content_type: Optional[str] = natural
    else:
        content_type = draw(st.one_of(st.none(), st.sampled_from(_CONTENT_TYPES)))
    if content_type is not None:
        name = draw(st.sampled_from(("Content-Type", "content-type", "CONTENT-TYPE")))
        headers.append((name, content_type))
        if _weird(draw, 10):
            headers.append(("Content-Type", draw(st.sampled_from(_CONTENT_TYPES))))
    if body and not _weird(draw):
        headers.append(("Content-Length", str(len(body))))
    elif _weird(draw, 2):
        length = draw(
            st.one_of(
                st.integers(0, len(body) + 64).map(str),
                st.sampled_from(_LENGTHS),
                st.sampled_from((str(max_body), str(max_body + 1))),
                st.just(f"{len(body)}, {len(body)}"),
            )
        )
        headers.append(("Content-Length", length))
        if _weird(draw, 6):
            headers.append(("Content-Length", str(len(body))))
    bearer = f"Bearer {admin_token}" if admin_token else "Bearer x"
    if route.startswith("/api/") and method in ("GET", "DELETE", "PATCH") and not _weird(draw):
        headers.append(("Authorization", bearer))
    if method == "PATCH" and _weird(draw, 2):
        headers.append(("If-Match", draw(st.sampled_from(_IF_MATCH))))
    extras = st.sampled_from(
        (
            ("Authorization", bearer),
            ("Authorization", f"bearer  {admin_token} " if admin_token else "Basic YTpi"),
            ("Authorization", "Bearer wrong"),
            ("Authorization", "Bearer \xe9\xff"),
            ("Authorization", ""),
            ("Cookie", "a=1"),
            ("Cookie", "b=2"),
            ("Accept", "*/*"),
            ("X-Forwarded-For", "203.0.113.7"),
            ("X-Forwarded-Proto", "https"),
            ("X-Forwarded-Host", "evil.example"),
            ("Transfer-Encoding", "chunked"),
            ("Content-Encoding", "gzip"),
            ("Content-Encoding", "identity"),
            ("Expect", "100-continue"),
            ("Origin", "http://testserver"),
            ("Origin", "https://evil.example"),
            ("Origin", "null"),
            ("Referer", "http://testserver/"),
            ("Referer", "https://evil.example/page"),
            ("Sec-Fetch-Site", "cross-site"),
            ("Sec-Fetch-Site", "same-origin"),
            ("X-Weird", "\xe9\xff\x80"),
            ("X-Empty", ""),
            ("X-Long", "v" * 2000),
        )
    )
    agent = st.sampled_from(_AGENTS).map(lambda a: ("User-Agent", a))
    if _weird(draw, 2):
        headers.extend(draw(st.lists(st.one_of(extras, agent), min_size=1, max_size=4)))
    if _weird(draw, 6):
        headers = draw(st.permutations(headers))
    scheme = "https" if _weird(draw, 5) else "http"
    return RawRequest(method, target, tuple(headers), body, scheme)
