"""Hypothesis strategies for what minilink is given: URLs, aliases and raw HTTP requests.

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
* ``raw_requests(codes=..., admin_token=...)`` draws ``RawRequest`` values: any
  method token; a request-target whose path holds raw bytes (invalid UTF-8
  included), ``%00``, broken escapes, ``.``/``..`` and empty segments, around the
  routes minilink serves and the ``codes`` given; query strings; duplicate and odd
  headers (Host, Content-Type, Authorization, Origin and Referer, a Content-Length
  that is missing, invalid or lying, compressed or chunked bodies, crawler user
  agents); and bodies of any content type and length (JSON built from the URL and
  alias strategies, form data, binary). Each request starts from one of ``ROUTES``
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
    "IDN_LABELS",
    "TRICKY",
    "RawRequest",
    "aliases",
    "bad_aliases",
    "hostile_urls",
    "raw_requests",
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
    """Aliases ``validate_alias`` accepts: ``[A-Za-z0-9_-]{1,64}``, not reserved."""
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


_QUERY_NAMES = ("url", "alias", "days", "limit", "after", "x", "", "URL")
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
)


def _query(draw: st.DrawFn, codes: tuple[str, ...], route: str) -> str:
    names = {
        "/": ("url",),
        "/api/links": ("limit", "after"),
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
        kind = draw(st.sampled_from(("none", "json", "form", "binary")))
    body = b""
    if kind == "json":
        body = _json_body(draw, codes)
    elif kind == "form":
        body = _form_body(draw)
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
        "form": "application/x-www-form-urlencoded",
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
    if route.startswith("/api/links") and method in ("GET", "DELETE") and not _weird(draw):
        headers.append(("Authorization", bearer))
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
