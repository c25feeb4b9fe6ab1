"""Hostile input, table by table, through the CGI, WSGI and ASGI adapters alike.

Every table is one scenario of the shared behavioural suite's kind (``run_scenario``):
it runs through each adapter with its own fresh store, the three transcripts must be
byte-identical, and nothing may answer 5xx. Each case asserts its status and error
code, and every answer is checked by ``clean``: only the headers minilink sends,
none with a control character, an HTML page with its security headers or JSON with
its charset, and no payload echoed as markup. Each table ends by reading the store
through the admin API: it holds exactly what it held before the table ran.

What the tables cover (issue list item 5): dangerous schemes in any case and with
control characters, CR/LF/NUL in URLs, aliases and headers, user-info, backslash
and ``////host`` tricks, bad ports, numeric hosts, IDN homographs (stored and shown
as punycode), self-links in every spelling, 1 MB URLs, bodies over the limit or
shorter than declared, chunked and compressed bodies, malformed, deep, duplicate-key
and NaN JSON, repeated form fields, invalid UTF-8 and bad percent-escapes in path and
query, path traversal, oversized and duplicate headers, and markup in every field on
every page.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any, Callable
from urllib.parse import quote, urlencode

import pytest
from _reliability import record
from helpers import (
    AUTH,
    BASE_ENV,
    CGI_RUNS,
    HTML_TYPE,
    JSON_TYPE,
    SERVER_HEADERS,
    Scenario,
    all_links,
    assert_html,
    run_scenario,
)

from minilink.testing.clients import Client, Result, make_clients

#: A payload that is markup wherever it lands unescaped.
XSS = "\"'><xss-probe onmouseover=alert(1)>"
OWN_SCRIPT = b"<script>\n(function () {"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
JSON_HEADERS = {"Content-Type": "application/json"}
#: Every header name minilink itself may send.
SENT_HEADERS = frozenset(
    {
        "content-type",
        "content-length",
        "cache-control",
        "x-content-type-options",
        "content-security-policy",
        "referrer-policy",
        "x-frame-options",
        "location",
        "allow",
        "retry-after",
        "www-authenticate",
        "etag",
        "accept-patch",
    }
)
ENV = {"MINILINK_RATE_LIMIT": "0"}


def clean(result: Result, where: str = "") -> Result:
    """The checks every answer to hostile input passes."""
    assert result.status < 500, (where, result.status, result.body[:300])
    names = {name for name, _ in result.headers} - SERVER_HEADERS
    assert names <= SENT_HEADERS, (where, names - SENT_HEADERS)
    for name, value in result.headers:
        assert not any(c in value for c in "\r\n\0"), (where, name, value)
    body = result.body
    assert b"<xss-probe" not in body.lower(), (where, body[:300])
    assert body.count(b"<script") == body.count(OWN_SCRIPT), (where, "a script tag")
    kind = result.header("content-type") or ""
    if kind.startswith("text/html"):
        assert_html(result, result.status)
    elif kind.startswith("application/json"):
        assert kind == JSON_TYPE, where
        assert result.header("x-content-type-options") == "nosniff"
        assert b"<" not in body and b">" not in body, (where, body[:300])
    return result


def error(result: Result, status: int, code: str, where: str = "") -> None:
    """A JSON error answer with this status and machine code."""
    clean(result, where)
    assert result.status == status, (where, result.status, result.body[:300])
    assert result.header("content-type") == JSON_TYPE, where
    assert result.json()["error"]["code"] == code, (where, result.body[:300])


def page(result: Result, status: int, where: str = "") -> None:
    """An HTML answer with this status."""
    clean(result, where)
    assert result.status == status, (where, result.status, result.body[:300])
    assert result.header("content-type") == HTML_TYPE, where


def create(c: Client, payload: Any, **kwargs: Any) -> Result:
    body = json.dumps(payload).encode()
    headers = kwargs.pop("headers", JSON_HEADERS)
    return c.request("POST", "/api/links", headers=headers, body=body, **kwargs)


def unchanged(case: Callable[[Client], None]) -> Callable[[Client], None]:
    """Run ``case``, then check that the store holds what it held before."""

    def wrapped(c: Client) -> None:
        before = all_links(c)
        case(c)
        assert all_links(c) == before, "a rejected request changed the store"

    return wrapped


SCENARIOS: list[Scenario] = []


def table(id: str, **options: Any) -> Callable[[Callable[[Client], None]], None]:
    def register(fn: Callable[[Client], None]) -> None:
        SCENARIOS.append(Scenario(id, unchanged(fn), env={**ENV, **options.pop("env", {})}))

    return register


# -- URLs ---------------------------------------------------------------------------------

BAD_URLS = {
    # Schemes that run code or read files, in any case, hidden by controls and spaces.
    "javascript": "javascript:alert(1)",
    "javascript-mixed-case": "JaVaScRiPt:alert(document.cookie)",
    "javascript-leading-space": " javascript:alert(1)",
    "javascript-leading-tab": "\tjavascript:alert(1)",
    "javascript-embedded-tab": "java\tscript:alert(1)",
    "javascript-embedded-newline": "java\nscript:alert(1)",
    "javascript-embedded-cr": "java\rscript:alert(1)",
    "javascript-leading-nul": "\x00javascript:alert(1)",
    "javascript-leading-control": "\x01javascript:alert(1)",
    "javascript-zero-width-space": "\u200bjavascript:alert(1)",
    "javascript-bom": "\ufeffjavascript:alert(1)",
    "javascript-entity": "javascript&colon;alert(1)",
    "javascript-as-host": "http://javascript:alert(1)",
    "javascript-after-https": "https:javascript:alert(1)",
    "data": "data:text/html,<script>alert(1)</script>",
    "data-upper-base64": "DATA:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "vbscript": "vbscript:msgbox(1)",
    "vbscript-mixed-case": "VBScript:MsgBox(1)",
    "file": "file:///etc/passwd",
    "file-upper-host": "FILE://localhost/etc/passwd",
    "file-unc": "file:\\\\server\\share",
    # CR, LF and NUL.
    "crlf-in-path": "https://example.com/\r\nSet-Cookie: a=b",
    "lf-in-path": "https://example.com/a\nb",
    "nul-in-path": "https://example.com/\x00",
    "nul-in-host": "https://exa\x00mple.com/",
    "crlf-in-host": "https://example.com\r\n.evil.example/",
    # User-info: the host a reader sees is not the one a browser visits.
    "userinfo": "https://user:pass@example.com/",
    "userinfo-bank": "https://bank.example@evil.example/",
    "userinfo-empty": "https://@evil.example/",
    "userinfo-encoded-at": "https://bank.example%40evil.example/",
    "userinfo-two-at": "https://a:b@c@evil.example/",
    # Backslashes and slashes that browsers read differently.
    "backslashes": "https:\\\\evil.example",
    "slash-backslash": "https:/\\evil.example/",
    "backslash-before-at": "https://evil.example\\@good.example/",
    "backslash-in-host": "https://good.example\\.evil.example/",
    "four-slashes": "https:////evil.example",
    "three-slashes": "https:///evil.example",
    "scheme-relative": "//evil.example/",
    "no-scheme": "evil.example/path",
    # Ports.
    "port-zero": "https://example.com:0/",
    "port-too-big": "https://example.com:65536/",
    "port-negative": "https://example.com:-1/",
    "port-letters": "https://example.com:abc/",
    "port-empty": "https://example.com:/",
    "port-plus": "https://example.com:+443/",
    "port-space": "https://example.com: 443/",
    "port-arabic-digits": "https://example.com:\u0668\u0660/",
    "port-huge": "https://example.com:99999999999999999999999/",
    "port-hex": "https://example.com:0x50/",
    # Hosts a browser reads as another address, or no host at all.
    "host-hex-ip": "http://0x7f.1/",
    "host-integer-ip": "http://2130706433/",
    "host-short-ip": "http://127.1/",
    "host-octal-ip": "http://0177.0.0.1/",
    "host-ipv6-unclosed": "http://[::1/",
    # A zone id was kept as any text: a non-ASCII Location, a 500 on every visit.
    "host-ipv6-zone": "http://[fe80::1%eth0]/",
    "host-ipv6-zone-non-ascii": "http://[::1%\u0100]/",
    "host-ipv6-zone-encoded": "http://[::1%25x]/",
    "host-empty-label": "http://exa..mple.com/",
    "host-percent": "http://%65vil.example/",
    "host-too-long": "http://" + "a" * 250 + ".example/",
    # Links back to the shortener itself, in every spelling of its host.
    "self": "http://testserver/x",
    "self-upper": "HTTP://TESTSERVER/x",
    "self-trailing-dot": "http://testserver./x",
    "self-default-port": "http://testserver:80/x",
    "self-other-port": "http://testserver:8080/x",
    "self-https": "https://testserver/x",
    "self-fullwidth": "http://\uff54\uff45\uff53\uff54\uff53\uff45\uff52\uff56\uff45\uff52/x",
    "self-root": "http://testserver",
    "self-dot-port": "http://TestServer.:443/",
    # Length.
    "over-4096": "https://example.com/" + "a" * 4077,
    "over-4096-once-encoded": "https://example.com/" + "\u00e9" * 1500,
}


@table("hostile-urls-api")
def _(c: Client) -> None:
    for name, url in BAD_URLS.items():
        error(create(c, {"url": url}), 400, "invalid_url", name)


@table("hostile-urls-form")
def _(c: Client) -> None:
    for name in ("javascript-mixed-case", "javascript-embedded-tab", "data", "vbscript", "file"):
        url = BAD_URLS[name]
        r = c.request("POST", "/", headers=FORM, body=urlencode({"url": url}).encode())
        page(r, 400, name)
        assert 'aria-invalid="true"' in r.text, name  # the error is next to the URL field


@table("hostile-url-1mb", env={"MINILINK_MAX_BODY_BYTES": "2000000"})
def _(c: Client) -> None:
    huge = "https://example.com/" + "a" * 1_000_000
    error(create(c, {"url": huge}), 400, "invalid_url", "1 MB URL")
    form = c.request("POST", "/", headers=FORM, body=urlencode({"url": huge}).encode())
    page(form, 400, "1 MB URL in the form")


def _idn(c: Client) -> None:
    # Cyrillic a (U+0430) for the Latin one: stored, redirected to and shown as
    # punycode, so the look-alike cannot pass for apple.com anywhere.
    made = clean(create(c, {"url": "https://\u0430pple.com/login"}))
    assert made.status == 201, made.body
    link = made.json()
    assert link["url"] == "https://xn--pple-43d.com/login"
    went = clean(c.get(f"/{link['code']}"))
    assert went.status == 302
    assert went.header("location") == "https://xn--pple-43d.com/login"
    preview = clean(c.get(f"/{link['code']}+"))
    assert preview.status == 200
    assert "xn--pple-43d.com" in preview.text
    assert "\u0430pple" not in preview.text
    assert "punycode" in preview.text
    # The punycode spelling is the same link.
    again = clean(create(c, {"url": "https://xn--pple-43d.com/login"}))
    assert again.status == 200
    assert again.json()["code"] == link["code"]
    mixed = clean(create(c, {"url": "https://www.\u0430m\u0430zon.com/"}))
    assert mixed.status == 201
    assert mixed.json()["url"].startswith("https://www.xn--")
    # Full-width letters are the plain host (IDNA maps them), so no look-alike either.
    wide = clean(create(c, {"url": "https://\uff45xample.com/"}))
    assert wide.status == 201
    assert wide.json()["url"] == "https://example.com/"
    for name, url in {
        "bare-ace-prefix": "https://xn--/",
        "zero-width-joiner": "https://a\u200d.com/",
        "right-to-left-override": "https://\u202eelgoog.com/",
    }.items():
        error(create(c, {"url": url}), 400, "invalid_url", name)


SCENARIOS.append(Scenario("hostile-idn-homographs", _idn, env=ENV))

# -- aliases ------------------------------------------------------------------------------

BAD_ALIASES = {
    "crlf": "a\r\nb",
    "lf": "a\nb",
    "nul": "a\x00b",
    "tab": "a\tb",
    "markup": XSS,
    "space": "a b",
    "leading-space": " a",
    "dot": ".",
    "dotdot": "..",
    "slash": "a/b",
    "traversal": "../etc",
    "non-ascii": "\u00e9",
    "homograph": "\u0430pple",
    "percent": "a%20b",
    "plus": "a+",
    "svg": "abc.svg",
    "reserved": "api",
    "reserved-upper": "API",
    "reserved-healthz": "Healthz",
    "too-long": "x" * 101,
    "empty": "",
}


@table("hostile-aliases")
def _(c: Client) -> None:
    for name, alias in BAD_ALIASES.items():
        error(
            create(c, {"url": "https://example.com/", "alias": alias}), 400, "invalid_alias", name
        )
    for name, alias in {"number": 5, "list": ["x"], "object": {"a": 1}, "bool": True}.items():
        error(create(c, {"url": "https://example.com/", "alias": alias}), 400, "bad_request", name)
    for name in ("markup", "crlf", "traversal"):
        body = urlencode({"url": "https://example.com/", "alias": BAD_ALIASES[name]}).encode()
        r = c.request("POST", "/", headers=FORM, body=body)
        page(r, 400, f"form alias {name}")
        assert 'id="alias-error"' in r.text, name


# -- headers ------------------------------------------------------------------------------


@table("hostile-headers")
def _(c: Client) -> None:
    for name, host in {
        "crlf": "testserver\r\nX-Injected: 1",
        "markup": XSS,
        "too-long": "a" * 300,
        "space": "test server",
        "slash": "testserver/evil",
    }.items():
        page(c.get("/", headers={"Host": host}), 400, f"Host {name}")
        error(
            create(c, {"url": "https://example.com/"}, headers={**JSON_HEADERS, "Host": host}),
            400,
            "bad_request",
            f"Host {name} on the API",
        )
    two_hosts = [("Host", "testserver"), ("Host", "evil.example")]
    page(c.get("/", headers=two_hosts), 400, "two Host headers")
    big = "x" * 60_000
    page(c.get("/", headers={"User-Agent": big, "Cookie": "a=" + big}), 200, "60 KB headers")
    many = [(f"X-Header-{i}", "v" * 20) for i in range(300)]
    page(c.get("/", headers=many), 200, "300 headers")
    page(c.get("/", headers={"Cookie": "a=1\r\nSet-Cookie: b=2", "User-Agent": XSS}), 200, "UA")
    untrusted = {"X-Forwarded-For": XSS, "X-Forwarded-Proto": "javascript", "Forwarded": XSS}
    home = c.get("/", headers=untrusted)
    page(home, 200, "forwarding headers")
    assert 'action="http://testserver/"' in home.text
    for name, value in {
        "markup": XSS,
        "crlf": "Bearer x\r\nX-Injected: 1",
        "basic": "Basic YWRtaW46YWRtaW4=",
        "token-in-scheme": "reliability",
    }.items():
        r = c.get("/api/links", headers={"Authorization": value})
        error(r, 401, "unauthorized", f"Authorization {name}")
        assert r.header("www-authenticate") == 'Bearer realm="minilink"'
    doubled = [
        ("Content-Type", "application/json"),
        ("Content-Length", "33"),
        ("Content-Length", "33"),
    ]
    r = c.request("POST", "/api/links", headers=doubled, body=b'{"url": "https://example.com/"}')
    error(r, 400, "bad_request", "two Content-Length headers")
    assert c.body_read in (0, None)


# -- bodies -------------------------------------------------------------------------------


@table("hostile-bodies", env={"MINILINK_MAX_BODY_BYTES": "1024"})
def _(c: Client) -> None:
    megabyte = b'{"url": "https://example.com/' + b"a" * 1_000_000 + b'"}'
    error(
        c.request("POST", "/api/links", headers=JSON_HEADERS, body=megabyte),
        413,
        "payload_too_large",
        "1 MB body",
    )
    assert c.body_read in (0, None), "an oversized body is refused before it is read"
    page(c.request("POST", "/", headers=FORM, body=b"url=" + b"a" * 1_000_000), 413, "1 MB form")
    assert c.body_read in (0, None)
    lying = {**JSON_HEADERS, "Content-Length": "10"}
    error(
        c.request("POST", "/api/links", headers=lying, body=megabyte),
        400,
        "bad_request",
        "Content-Length smaller than the body",
    )
    assert c.body_read in (10, None), "never read past Content-Length"
    short = {**JSON_HEADERS, "Content-Length": "100"}
    r = c.request("POST", "/api/links", headers=short, body=b'{"url": "https://example.com/"}')
    error(r, 400, "bad_request", "body shorter than Content-Length")
    assert "shorter" in r.json()["error"]["message"]
    chunked = {**JSON_HEADERS, "Transfer-Encoding": "chunked"}
    error(c.request("POST", "/api/links", headers=chunked), 400, "bad_request", "chunked")
    plain = json.dumps({"url": "https://example.com/gz"}).encode()
    for encoding in ("gzip", "GZIP", "x-gzip", "deflate", "br", "identity, gzip"):
        headers = {**JSON_HEADERS, "Content-Encoding": encoding}
        r = c.request("POST", "/api/links", headers=headers, body=gzip.compress(plain))
        error(r, 415, "unsupported_media_type", f"Content-Encoding {encoding}")
    gz_form = {**FORM, "Content-Encoding": "gzip"}
    page(c.request("POST", "/", headers=gz_form, body=gzip.compress(b"url=x")), 415, "gzip form")
    for kind in ("application/json-seq", "text/json", "application/x-www-form-urlencoded", ""):
        headers = {"Content-Type": kind} if kind else {}
        r = c.request("POST", "/api/links", headers=headers, body=plain)
        error(r, 415, "unsupported_media_type", f"Content-Type {kind!r}")
    multipart = {"Content-Type": "multipart/form-data; boundary=x"}
    page(c.request("POST", "/", headers=multipart, body=b"--x--"), 415, "multipart form")


# -- JSON ---------------------------------------------------------------------------------

_URL = b'"url": "https://example.com/"'
BAD_JSON: dict[str, tuple[bytes, str]] = {
    "truncated": (b"{", "bad_request"),
    "trailing-comma": (b"{" + _URL + b",}", "bad_request"),
    "single-quotes": (b"{'url': 'https://example.com/'}", "bad_request"),
    "trailing-garbage": (b"{" + _URL + b"} x", "bad_request"),
    "two-objects": (b"{}{}", "bad_request"),
    "bom": (b"\xef\xbb\xbf{" + _URL + b"}", "bad_request"),
    "utf-16": (("{" + _URL.decode() + "}").encode("utf-16"), "bad_request"),
    "empty-object": (b"{}", "bad_request"),
    "null": (b"null", "bad_request"),
    "true": (b"true", "bad_request"),
    "number": (b"1", "bad_request"),
    "string": (b'"https://example.com/"', "bad_request"),
    "array": (b'["https://example.com/"]', "bad_request"),
    "deep-array": (b"[" * 400 + b"]" * 400, "bad_request"),
    "deep-unbalanced": (b"[" * 1000, "bad_request"),
    "deep-in-a-field": (b'{"url": ' + b'{"a": ' * 40 + b"1" + b"}" * 41, "bad_request"),
    "duplicate-url": (b"{" + _URL + b', "url": "https://evil.example/"}', "bad_request"),
    "duplicate-alias": (b"{" + _URL + b', "alias": "a", "alias": "b"}', "bad_request"),
    "nan": (b'{"url": NaN}', "bad_request"),
    "nan-expiry": (b"{" + _URL + b', "expires_in": NaN}', "bad_request"),
    "infinity": (b"{" + _URL + b', "expires_in": Infinity}', "bad_request"),
    "minus-infinity": (b"{" + _URL + b', "max_visits": -Infinity}', "bad_request"),
    "huge-exponent": (b"{" + _URL + b', "expires_in": 1e400}', "bad_request"),
    "float-visits": (b"{" + _URL + b', "max_visits": 1e2}', "bad_request"),
    "huge-visits": (b"{" + _URL + b', "max_visits": 1000000000000000000000000}', "bad_request"),
    "many-digits": (b"{" + _URL + b', "max_visits": ' + b"1" * 900 + b"}", "bad_request"),
    "negative-visits": (b"{" + _URL + b', "max_visits": -1}', "bad_request"),
    "string-expiry": (b"{" + _URL + b', "expires_in": "60"}', "bad_request"),
    "both-expiries": (
        b"{" + _URL + b', "expires_in": 60, "expires_at": "2030-01-01T00:00:00Z"}',
        "bad_request",
    ),
    "markup-expiry": (b"{" + _URL + b', "expires_at": "' + XSS.encode() + b'"}', "bad_request"),
    "naive-expiry": (b"{" + _URL + b', "expires_at": "2030-01-01T00:00:00"}', "bad_request"),
    "invalid-utf8": (b'{"url": "https://example.com/\xff"}', "bad_request"),
    "overlong-utf8": (b'{"url": "https://example.com/\xc0\xaf"}', "bad_request"),
    "lone-surrogate": (b'{"url": "https://example.com/\\ud800"}', "invalid_url"),
    "escaped-nul": (b'{"url": "https://example.com/\\u0000"}', "invalid_url"),
    "escaped-crlf": (b'{"url": "https://example.com/\\r\\nSet-Cookie: a=b"}', "invalid_url"),
    "unknown-field": (
        b"{" + _URL + b', "' + XSS.replace('"', "").encode() + b'": 1}',
        "bad_request",
    ),
    "url-list": (b'{"url": ["https://example.com/"]}', "bad_request"),
    "url-null": (b'{"url": null}', "bad_request"),
    "url-number": (b'{"url": 1}', "bad_request"),
}


@table("hostile-json")
def _(c: Client) -> None:
    for name, (body, code) in BAD_JSON.items():
        error(c.request("POST", "/api/links", headers=JSON_HEADERS, body=body), 400, code, name)
    error(
        c.request("POST", "/api/links", headers={**JSON_HEADERS, "Content-Length": "0"}),
        400,
        "bad_request",
        "empty body",
    )


# -- the HTML form ------------------------------------------------------------------------

_A = "url=https%3A%2F%2Fa.example%2F"


@table("hostile-form")
def _(c: Client) -> None:
    for name, body in {
        "url-twice": f"{_A}&url=https%3A%2F%2Fb.example%2F",
        "alias-twice": f"{_A}&alias=a&alias=b",
        "expiry-twice": f"{_A}&expires_in=3600&expires_in=60",
        "url-invalid-utf8": "url=https%3A%2F%2Fa.example%2F%FF",
        "name-invalid-utf8": f"{_A}&%FF=1",
        "url-bad-escape": "url=%ZZ",
        "url-nul": "url=https%3A%2F%2Fa.example%2F%00",
        "url-markup": "url=" + quote(XSS),
        "alias-markup": f"{_A}&alias=" + quote(XSS),
        "expiry-markup": f"{_A}&expires_in=" + quote(XSS),
        "expiry-not-offered": f"{_A}&expires_in=1",
        "all-markup": "url={0}&alias={0}&expires_in={0}".format(quote(XSS)),
    }.items():
        r = c.request("POST", "/", headers=FORM, body=body.encode())
        page(r, 400, name)
        assert "<form" in r.text, name


# -- paths and queries --------------------------------------------------------------------

PATHS = {
    # invalid UTF-8 once decoded: 400
    "/%FF": 400,
    "/%C0%AF": 400,
    "/%ED%A0%80": 400,
    "/%FF+": 400,
    "/?url=%FF": 400,
    "/?%FF": 400,
    # bad percent-escapes and control characters: no such page (NUL: below, since no
    # CGI environment can hold it and servers refuse it before a CGI script runs)
    "/%": 404,
    "/%2": 404,
    "/%ZZ": 404,
    "/abc%": 404,
    "/%0D%0ALocation:%20http://evil.example": 404,
    "/%0d%0aSet-Cookie:%20a=b": 404,
    # ... in a query they are kept as text
    "/?url=%ZZ": 200,
    "/?url=%": 200,
    "/?url=%0D%0A": 200,
    # path traversal
    "/../../etc/passwd": 404,
    "/..%2F..%2Fetc%2Fpasswd": 404,
    "/%2e%2e/%2e%2e/etc/passwd": 404,
    "/static/../../../etc/passwd": 404,
    "/....//....//etc/passwd": 404,
    "/..;/etc/passwd": 404,
    "/%252e%252e/etc/passwd": 404,
    "/.%2e/.%2e/proc/self/environ": 404,
}
API_PATHS = {
    "/api/links/%FF": 400,
    "/api/links/abc/stats?days=%FF": 400,
    "/api/links?limit=%": 400,
    "/api/links?limit=%FF": 400,
    "/api/openapi.json?%FF=1": 400,
    "/api/../../etc/passwd": 404,
    "/api/links/..%2F..%2Fetc%2Fpasswd": 404,
}


@table("hostile-paths")
def _(c: Client) -> None:
    for target, status in PATHS.items():
        r = c.get(target)
        page(r, status, target)
        assert r.header("location") is None, target
        assert b"root:" not in r.body, target
    for target, status in API_PATHS.items():
        r = c.get(target, headers=AUTH)
        clean(r, target)
        assert r.status == status, (target, r.status)
        assert b"root:" not in r.body, target


# -- markup in every field on every page --------------------------------------------------


def _markup(c: Client) -> None:
    nasty = "https://example.com/a?q=\"'><xss-probe>&r=<b>"
    made = clean(create(c, {"url": nasty}))
    assert made.status == 201, made.body
    link = made.json()
    assert link["url"] == "https://example.com/a?q=%22'%3E%3Cxss-probe%3E&r=%3Cb%3E"
    code = link["code"]
    went = clean(c.get(f"/{code}", headers={"User-Agent": XSS, "Referer": XSS}))
    assert went.header("location") == link["url"]
    for target in (f"/{code}+", f"/{code}.svg", "/?url=" + quote(XSS), "/?url=" + quote(nasty)):
        shown = clean(c.get(target), target)
        assert shown.status == 200, target
    page(c.get("/" + quote(XSS)), 404, "markup as a path")
    page(c.get("/" + quote(XSS) + "+"), 404, "markup as a preview path")
    page(c.get("/" + quote(XSS) + ".svg"), 404, "markup as a QR path")
    error(c.get("/api/links/" + quote(XSS)), 404, "not_found", "markup as an API code")
    error(c.get(f"/api/links/{code}/stats?" + quote(XSS) + "=1"), 400, "bad_request", "param")
    error(create(c, {"url": "https://example.com/", "alias": XSS}), 400, "invalid_alias", "alias")
    page(c.get("/", headers={"Host": XSS}), 400, "markup as the Host")
    form = "url={0}&alias={0}&expires_in={0}".format(quote(XSS)).encode()
    page(c.request("POST", "/", headers={**FORM, "Referer": XSS}, body=form), 403, "Referer")
    page(c.request("POST", "/", headers=FORM, body=form), 400, "every form field")
    page(c.request("X<xss-probe>", "/"), 405, "markup as a method")
    error(c.request("X<xss-probe>", "/api/links"), 405, "method_not_allowed", "method on the API")
    assert len(all_links(c)) == 1


SCENARIOS.append(Scenario("hostile-markup-everywhere", _markup, env=ENV))


# -- the password form of a protected link (SPEC section 9) -------------------------------


def _password_posts(c: Client) -> None:
    for link in (
        {"url": "https://secret.example/t0p", "alias": "pw", "password": "pw"},
        {"url": "https://example.com/open", "alias": "open"},
    ):
        made = create(c, link, headers={**JSON_HEADERS, **AUTH})
        assert made.status == 201, made.body
    before = all_links(c)
    every_byte = b"password=" + bytes(range(256))
    posts: list[tuple[str, dict[str, str], bytes, int]] = [
        ("every byte", FORM, every_byte, 400),
        ("raw NUL, CR, LF", FORM, b"password=a\x00b\r\nc", 403),
        ("escaped CR LF", FORM, b"password=a%0D%0ALocation:%20https://evil.example/", 403),
        ("markup", FORM, b"password=" + quote(XSS).encode(), 403),
        ("invalid UTF-8", FORM, b"password=%C3%28", 400),
        ("bad escape", FORM, b"password=%zz%", 403),
        ("lone surrogate as UTF-8", FORM, b"password=%ED%A0%80", 400),
        ("1,001 characters", FORM, b"password=" + b"x" * 1001, 400),
        ("over the body limit", FORM, b"password=" + b"x" * 70_000, 413),
        ("missing", FORM, b"other=1", 400),
        ("blank", FORM, b"password=", 400),
        ("repeated", FORM, b"password=a&password=a", 400),
        ("no body", FORM, b"", 400),
        ("JSON", JSON_HEADERS, b'{"password": "pw"}', 415),
        ("text", {"Content-Type": "text/plain"}, b"password=pw", 415),
        ("multipart", {"Content-Type": "multipart/form-data; boundary=x"}, b"--x--", 415),
        ("no type", {}, b"password=pw", 415),
        ("gzip", {**FORM, "Content-Encoding": "gzip"}, gzip.compress(b"password=pw"), 415),
        ("short body", {**FORM, "Content-Length": "40"}, b"password=pw", 400),
        ("bad length", {**FORM, "Content-Length": "1e3"}, b"password=pw", 400),
    ]
    for where, headers, body, status in posts:
        answer = c.request("POST", "/pw", headers=headers, body=body)
        page(answer, status, where)
        assert b"t0p" not in answer.body and b"secret.example" not in answer.body, where
        assert answer.header("location") is None, where
    page(c.request("POST", "/open", headers=FORM, body=b"password=pw"), 405, "unprotected")
    page(c.request("POST", "/nope", headers=FORM, body=b"password=pw"), 405, "unknown code")
    assert all_links(c) == before, "a refused password changed the store"
    right = c.request("POST", "/pw", headers=FORM, body=b"password=pw")
    assert right.status == 303, "four wrong guesses leave the right one its turn"


SCENARIOS.append(Scenario("hostile-password-posts", _password_posts, env=ENV))


# -- editing, tags and listing in the JSON API (SPEC section 9) ---------------------------

MERGE_HEADERS = {"Content-Type": "application/merge-patch+json", **AUTH}


def _edit(c: Client, body: bytes, **headers: str) -> Result:
    return c.request("PATCH", "/api/links/keep", headers={**MERGE_HEADERS, **headers}, body=body)


def _kept(c: Client) -> list[dict[str, Any]]:
    """The link every editing table works on, and the store as it then is."""
    made = create(
        c,
        {"url": "https://example.com/keep", "alias": "keep", "title": "Kept", "tags": ["k"]},
        headers={**JSON_HEADERS, **AUTH},
    )
    assert made.status == 201, made.body
    return all_links(c)


def _nest(depth: int, leaf: str = "1") -> str:
    return '{"a": ' * depth + leaf + "}" * depth


#: Merge patches of every shape that must be refused (400) without a change.
BAD_PATCHES: dict[str, bytes] = {
    # not an object
    "null": b"null",
    "true": b"true",
    "number": b"42",
    "string": b'"title"',
    "array": b'[{"title": "x"}]',
    "empty-array": b"[]",
    "json-patch": b'[{"op": "replace", "path": "/title", "value": "x"}]',
    # not JSON
    "empty": b"",
    "truncated": b'{"title": "x"',
    "trailing-garbage": b'{"title": "x"} {}',
    "single-quotes": b"{'title': 'x'}",
    "bom": b'\xef\xbb\xbf{"title": "x"}',
    "utf-16": '{"title": "x"}'.encode("utf-16"),
    "invalid-utf8": b'{"title": "\xff"}',
    "nan": b'{"max_visits": NaN}',
    "infinity": b'{"max_visits": Infinity}',
    "huge-exponent": b'{"max_visits": 1e400}',
    "many-digits": b'{"max_visits": ' + b"9" * 900 + b"}",
    "duplicate-key": b'{"title": "a", "title": "b"}',
    "duplicate-url": b'{"url": "https://example.com/a", "url": "https://evil.example/"}',
    # nesting
    "deep-object": _nest(200).encode(),
    "deep-array": b'{"tags": ' + b"[" * 200 + b"]" * 200 + b"}",
    "deep-unbalanced": b'{"title": ' + b"[" * 1000,
    "nested-title": b'{"title": {"a": {"b": null}}}',
    "nested-url": b'{"url": {"url": "https://example.com/"}}',
    "nested-null-object": b'{"title": {"title": null}}',
    "nested-tags": b'{"tags": [["a"], ["b"]]}',
    "object-in-tags": b'{"tags": [{"tag": "a"}]}',
    # wrong types for every key
    "url-null": b'{"url": null}',
    "url-number": b'{"url": 1}',
    "url-list": b'{"url": ["https://example.com/"]}',
    "title-number": b'{"title": 5}',
    "title-bool": b'{"title": false}',
    "tags-string": b'{"tags": "a,b"}',
    "tags-number": b'{"tags": 3}',
    "tags-object": b'{"tags": {"a": 1}}',
    "expires-number": b'{"expires_at": 1767225600}',
    "expires-list": b'{"expires_at": ["2027-01-01T00:00:00Z"]}',
    "expires-naive": b'{"expires_at": "2027-01-01T00:00:00"}',
    "expires-markup": b'{"expires_at": "' + XSS.replace('"', "").encode() + b'"}',
    "expires-long": b'{"expires_at": "2027-01-01T00:00:00' + b"0" * 10_000 + b'Z"}',
    "visits-string": b'{"max_visits": "5"}',
    "visits-float": b'{"max_visits": 5.0}',
    "visits-negative": b'{"max_visits": -1}',
    "visits-bool": b'{"max_visits": true}',
    "visits-huge": b'{"max_visits": 100000000000000000000}',
    "status-string": b'{"redirect_status": "301"}',
    "status-float": b'{"redirect_status": 301.0}',
    "status-303": b'{"redirect_status": 303}',
    "status-bool": b'{"redirect_status": true}',
    "forward-string": b'{"forward_query": "true"}',
    "forward-number": b'{"forward_query": 1}',
    "fallback-number": b'{"fallback_url": 1}',
    "fallback-javascript": b'{"fallback_url": "javascript:alert(1)"}',
    "fallback-crlf": b'{"fallback_url": "https://example.com/\\r\\nSet-Cookie: a=b"}',
    "fallback-self": b'{"fallback_url": "http://testserver/keep"}',
    "password-empty": b'{"password": ""}',
    "password-number": b'{"password": 1234}',
    "password-object": b'{"password": {"hash": "x"}}',
    "password-long": b'{"password": "' + b"x" * 1001 + b'"}',
    # keys that are no editable field
    "code": b'{"code": "other"}',
    "hits": b'{"hits": 1000000}',
    "created_at": b'{"created_at": "2020-01-01T00:00:00Z"}',
    "deleted_at": b'{"deleted_at": null}',
    "revision": b'{"revision": 0}',
    "password_hash": b'{"password_hash": "scrypt$15$8$1$AAAA$AAAA"}',
    "password_protected": b'{"password_protected": false}',
    "upper-case-key": b'{"URL": "https://example.com/x"}',
    "empty-key": b'{"": 1}',
    "proto-key": b'{"__proto__": {"title": "x"}}',
    "nul-key": b'{"title\\u0000": "x"}',
    "markup-key": b'{"' + XSS.replace('"', "").encode() + b'": 1}',
    "good-then-unknown": b'{"title": "fine", "colour": "red"}',
    "good-then-bad": b'{"url": "https://example.com/new", "max_visits": 0}',
}


def _merge_patches(c: Client) -> None:
    before = _kept(c)
    for name, body in BAD_PATCHES.items():
        r = _edit(c, body)
        assert r.status == 400, (name, r.status, r.body[:300])
        clean(r, name)
        assert r.json()["error"]["code"] in ("bad_request", "invalid_url"), name
    huge = b'{"title": "' + b"x" * 70_000 + b'"}'
    error(_edit(c, huge), 413, "payload_too_large", "a patch over the body limit")
    assert c.body_read in (0, None)
    for kind in ("text/plain", "application/json-patch+json", "", "application/merge-patch"):
        r = c.request(
            "PATCH", "/api/links/keep", headers={**AUTH, "Content-Type": kind}, body=b"{}"
        )
        error(r, 415, "unsupported_media_type", kind)
    error(c.request("PATCH", "/api/links/keep", headers=MERGE_HEADERS), 400, "bad_request")
    # Auth comes first: without the token, not even a valid patch is looked at.
    no_auth = {"Content-Type": "application/merge-patch+json"}
    r = c.request("PATCH", "/api/links/keep", headers=no_auth, body=b'{"title": "x"}')
    error(r, 401, "unauthorized", "no token")
    assert all_links(c) == before, "a refused patch changed the store"


SCENARIOS.append(Scenario("hostile-merge-patches", _merge_patches, env=ENV))

#: Tag lists that are no tag list: 400, on creation and on an edit alike.
ABSURD_TAGS: dict[str, Any] = {
    "eleven": [f"t{i}" for i in range(11)],
    "a-thousand": ["t"] * 1000,
    "too-long": ["a" * 33],
    "ten-thousand-characters": ["a" * 10_000],
    "empty": [""],
    "space": [" "],
    "inner-space": ["a b"],
    "comma": ["a,b"],
    "dot": ["v1.0"],
    "slash": ["../etc"],
    "kelvin-sign": ["\u212a"],
    "accented": ["caf\u00e9"],
    "fullwidth": ["\uff41"],
    "nul": ["a\x00"],
    "crlf": ["a\r\nb"],
    "markup": [XSS],
    "number": [1],
    "null-in-list": [None],
    "nested": [["a"]],
    "object": {"a": 1},
    "string": "docs",
}


def _absurd_tags(c: Client) -> None:
    before = _kept(c)
    for name, tags in ABSURD_TAGS.items():
        made = create(c, {"url": "https://example.com/t", "tags": tags})
        error(made, 400, "bad_request", f"create {name}")
        error(_edit(c, json.dumps({"tags": tags}).encode()), 400, "bad_request", f"edit {name}")
    for query in ("tag=a%20b", "tag=%00", "tag=" + quote(XSS), "tag=" + "a" * 5000, "tag=%FF"):
        error(c.get(f"/api/links?{query}", headers=AUTH), 400, "bad_request", query)
    tags = clean(c.get("/api/tags", headers=AUTH))
    assert tags.json() == {"tags": [{"tag": "k", "links": 1}]}
    assert all_links(c) == before, "an absurd tag changed the store"


SCENARIOS.append(Scenario("hostile-tags", _absurd_tags, env=ENV))

#: If-Match values that name no current version: 412, never an edit.
BAD_IF_MATCH = {
    "unquoted": "r0",
    "stale": '"r1"',
    "weak": 'W/"r0"',
    "lower-weak": 'w/"r0"',
    "weak-space": 'W/ "r0"',
    "open-quote": '"r0',
    "close-quote": 'r0"',
    "single-quotes": "'r0'",
    "leading-zero": '"r00"',
    "upper-case": '"R0"',
    "inner-space": '"r 0"',
    "inner-quote": '"r0"r0"',
    "two-without-comma": '"r1" "r0"',
    "parameter": '"r0";q=1',
    "star-and-tag": '*, "r0"',
    "two-stars": "**",
    "empty": "",
    "comma": ",",
    "spaces": "   ",
    "tab": "\t",
    "quote": '"',
    "del": '"\x7f"',
    "latin-1-bytes": "\xff\xfe",
    "markup": XSS,
    "long": '"' + "r" * 8000 + '"',
    "many": ", ".join(['"r1"'] * 500),
    "number": "0",
    "etag-of-the-list": '"links"',
}


def _if_match(c: Client) -> None:
    before = _kept(c)
    for name, value in BAD_IF_MATCH.items():
        r = _edit(c, b'{"title": "changed"}', **{"If-Match": value})
        error(r, 412, "precondition_failed", name)
        assert r.header("etag") is None, name
    doubled = [*MERGE_HEADERS.items(), ("If-Match", '"r9"'), ("If-Match", "garbage")]
    r = c.request("PATCH", "/api/links/keep", headers=doubled, body=b'{"title": "changed"}')
    error(r, 412, "precondition_failed", "two If-Match fields")
    # Existence is answered first, whatever the precondition says.
    r = c.request(
        "PATCH",
        "/api/links/nope123",
        headers={**MERGE_HEADERS, "If-Match": XSS},
        body=b'{"title": "x"}',
    )
    error(r, 404, "not_found", "unknown link")
    assert all_links(c) == before, "a failed precondition changed the store"
    kept = clean(c.get("/api/links/keep", headers=AUTH))
    assert kept.header("etag") == '"r0"'


SCENARIOS.append(Scenario("hostile-if-match", _if_match, env=ENV))


@table("hostile-list-queries")
def _(c: Client) -> None:
    for query, status in {
        "q=" + "x" * 1001: 400,
        "q=" + quote(XSS): 200,
        "q=%00": 200,
        "q=%25": 200,
        "q=%FF": 400,
        "q=a&q=b": 400,
        "state=" + quote(XSS): 400,
        "state=all&state=live": 400,
        "state=ALL": 400,
        "sort=" + quote(XSS): 400,
        "sort=-created": 400,
        "after=" + quote(XSS): 200,
        "after=%00": 200,
        "after=" + "a" * 5000: 200,
        "limit=1e3": 400,
        "limit=0x10": 400,
        "limit=%EF%BC%91": 400,  # a full-width 1
        quote(XSS) + "=1": 400,
    }.items():
        r = clean(c.get(f"/api/links?{query}", headers=AUTH), query)
        assert r.status == status, (query, r.status, r.body[:200])
        if status == 200:
            assert r.json() == {"links": [], "next": None}, query


@pytest.mark.parametrize("target", ["/%00", "/a%00b", "/etc/passwd%00.html", "/%00+"])
def test_nul_in_the_path(target: str, tmp_path: Path) -> None:
    """NUL in a path, through the adapters that can be handed one (WSGI, ASGI)."""
    clients = make_clients(tmp_path, {**BASE_ENV, **ENV})
    try:
        answers = [clients[name].get(target) for name in ("wsgi", "asgi")]
    finally:
        for client in clients.values():
            client.close()
    for answer in answers:
        page(answer, 404, target)
    assert answers[0] == answers[1]


@pytest.mark.parametrize("in_process_cgi", CGI_RUNS)
@pytest.mark.parametrize("case", [pytest.param(s, id=s.id) for s in SCENARIOS])
def test_hostile_input(case: Scenario, in_process_cgi: bool, tmp_path: Path) -> None:
    """The table through CGI, WSGI and ASGI: its checks, and identical transcripts."""
    transcripts = run_scenario(case, tmp_path, in_process_cgi=in_process_cgi)
    requests = sum(len(history) for history in transcripts.values())
    record(f"hostile table {case.id}: {requests} requests over 3 adapters, all identical")
