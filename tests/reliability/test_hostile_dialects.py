"""Hostile input to the dialects (YOURLS's ``/yourls-api.php``, Shlink's ``/rest``),
table by table, through CGI, WSGI and ASGI alike (``run_scenario``: the same bytes
everywhere, nothing 5xx).

Every answer passes ``clean`` (only minilink's headers, no control characters, a
content type the dialect sends, no markup outside XML's own); each table then reads
the store through the admin API: what was refused changed nothing.

Covered: signature timestamps at the edges of the 12-hour window and beyond (huge,
negative, signed, fractional, hexadecimal, blank), every hash hashlib names (and
PHP's spellings, upper case, SHAKE, unknown ones), parameters repeated or missing,
unknown formats and JSONP, bodies in every encoding (latin-1, UTF-16, a BOM, a
charset parameter, gzip, chunked, shorter than declared, over the limit) and every
multipart mistake (no boundary, a boundary not in the body, a file, base64, a
foreign charset, a truncated body); for Shlink, API keys missing, blank, repeated
or the admin token, JSON bodies of every wrong kind and fields of every wrong type,
and query strings that are not numbers, not UTF-8 or absurdly long.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlencode

import pytest
from helpers import AUTH, CGI_RUNS, SERVER_HEADERS, Scenario, all_links, run_scenario

from minilink.dialects.yourls import NONCE_LIFE, hash_function
from minilink.testing.clients import Client, Result

SIGNATURE = "1002a612b4"
KEY = "shlink-api-key-1"
ENV = {
    "MINILINK_RATE_LIMIT": "0",
    "MINILINK_YOURLS_USERS": "alice:wonder land",
    "MINILINK_YOURLS_SIGNATURE": SIGNATURE,
    "MINILINK_SHLINK_API_KEYS": KEY,
    "MINILINK_MAX_BODY_BYTES": "4096",
}
XSS = "\"'><xss-probe onmouseover=alert(1)>"
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
TYPES = (
    "application/json; charset=utf-8",
    "application/xml; charset=utf-8",
    "text/plain; charset=utf-8",
    "application/problem+json",
    "application/health+json",
    "text/html; charset=utf-8",
)
FORM = "application/x-www-form-urlencoded"
SCENARIOS: list[Scenario] = []
#: Tables of many requests, run with CGI in process only: a subprocess per request
#: would cost them ~50 s, and the behavioural suite runs the dialects through it.
HEAVY: set[str] = set()


def clean(result: Result, where: Any = "") -> Result:
    assert result.status < 500, (where, result.status, result.body[:300])
    names = {name for name, _ in result.headers} - SERVER_HEADERS
    assert names <= SENT_HEADERS, (where, names - SENT_HEADERS)
    for name, value in result.headers:
        assert not any(c in value for c in "\r\n\0"), (where, name, value)
    kind = result.header("content-type") or ""
    if result.status != 204 and result.body:
        assert kind in TYPES, (where, kind)
    if "json" in kind:
        assert b"<" not in result.body and b">" not in result.body, (where, result.body[:300])
        json.loads(result.body)
    if "xml" in kind:
        assert b"<xss-probe" not in result.body, where
    return result


def status(result: Result, expected: int, where: Any = "") -> Result:
    clean(result, where)
    assert result.status == expected, (where, result.status, result.body[:300])
    return result


def table(id: str, heavy: bool = False) -> Callable[[Callable[[Client], None]], None]:
    if heavy:
        HEAVY.add(id)

    def register(fn: Callable[[Client], None]) -> None:
        def wrapped(c: Client) -> None:
            before = all_links(c)
            fn(c)
            assert all_links(c) == before, "a refused request changed the store"

        SCENARIOS.append(Scenario(id, wrapped, env=dict(ENV)))

    return register


def api(c: Client, query: str, **kwargs: Any) -> Result:
    return c.request(kwargs.pop("method", "GET"), "/yourls-api.php?" + query, **kwargs)


def post(c: Client, body: bytes, content_type: str, **headers: str) -> Result:
    return c.request(
        "POST", "/yourls-api.php", headers={"Content-Type": content_type, **headers}, body=body
    )


# -- YOURLS: authentication -------------------------------------------------------


def _signed(timestamp: str, name: str = "md5", token_first: bool = False) -> str:
    digest = hash_function(name)
    assert digest is not None
    data = SIGNATURE + timestamp if token_first else timestamp + SIGNATURE
    return str(digest(data.encode()))


@table("hostile-yourls-timestamps", heavy=True)
def _(c: Client) -> None:
    now = int(c.clock().timestamp())
    for offset, expected in (
        (0, 200),
        (NONCE_LIFE - 1, 200),
        (-(NONCE_LIFE - 1), 200),
        (NONCE_LIFE, 403),
        (-NONCE_LIFE, 403),
        (NONCE_LIFE + 1, 403),
        (-now, 403),
        (10**11, 403),
    ):
        stamp = str(now + offset)
        for first in (False, True):
            query = urlencode(
                {
                    "action": "version",
                    "timestamp": stamp,
                    "signature": _signed(stamp, token_first=first),
                }
            )
            status(api(c, query), expected, (offset, first))
    for stamp in (
        "",
        " ",
        "+" + str(now),
        str(now) + ".0",
        "1e9",
        "0x10",
        "9" * 40,
        "-0",
        "\u0661\u0662",
        str(now) + "abc",
    ):
        query = urlencode({"action": "version", "timestamp": stamp, "signature": _signed(stamp)})
        status(api(c, query), 403 if stamp != "+" + str(now) else 200, stamp)
    # A stale timestamp with the plain signature: still the timed check, still refused.
    status(api(c, f"action=version&timestamp={now - NONCE_LIFE}&signature={SIGNATURE}"), 403)


HASHES = sorted(
    {
        *hashlib.algorithms_available,
        *("sha3-256", "sha3-512", "sha512/256", "sha512/224", "MD5", "Sha256", "crc32b"),
        *("whirlpool", "fnv1a64", "joaat", "shake_128", "shake256", "", "md5\x00", "../md5"),
    }
)


@table("hostile-yourls-hashes", heavy=True)
def _(c: Client) -> None:
    stamp = str(int(c.clock().timestamp()))
    for name in HASHES:
        known = hash_function(name)
        signature = (
            _signed(stamp, name) if known else hashlib.md5((stamp + SIGNATURE).encode()).hexdigest()
        )
        query = urlencode(
            {"action": "version", "timestamp": stamp, "signature": signature, "hash": name}
        )
        status(api(c, query), 200 if known else 403, name)
        if known:  # the digest upper-cased is another string (PHP compares with ===)
            query = urlencode(
                {
                    "action": "version",
                    "timestamp": stamp,
                    "signature": signature.upper(),
                    "hash": name,
                }
            )
            status(api(c, query), 200 if signature.upper() == signature else 403, name)


@table("hostile-yourls-credentials")
def _(c: Client) -> None:
    for query in (
        "action=version",
        "action=version&signature=",
        "action=version&signature=" + SIGNATURE.upper(),
        "action=version&signature=" + SIGNATURE + "x",
        "action=version&signature=" + SIGNATURE[:-1],
        "action=version&username=alice",
        "action=version&password=wonder+land",
        "action=version&username=alice&password=wonder",
        "action=version&username=ALICE&password=wonder+land",
        "action=version&username=alice%00&password=wonder+land",
        "action=version&username=&password=",
        "action=version&signature=admin-secret-token",
    ):
        status(api(c, query), 403, query)
    status(api(c, "action=version&format=json", headers=AUTH), 403)
    status(api(c, "action=version&username=alice&password=wonder+land"), 200)


# -- YOURLS: parameters and formats -----------------------------------------------


@table("hostile-yourls-parameters")
def _(c: Client) -> None:
    signed = f"signature={SIGNATURE}"
    for query, expected in (
        (f"{signed}", 400),  # no action
        (f"{signed}&action=", 400),
        (f"{signed}&action=SHORTURL", 400),
        (f"{signed}&action=shorturl", 400),  # no url: error:nourl
        (f"{signed}&action=shorturl&url=", 400),
        (f"{signed}&action=shorturl&url=http://", 400),
        (f"{signed}&action=shorturl&url=a&url=b", 400),  # repeated, different
        (f"{signed}&action=version&action=shorturl", 400),
        (f"{signed}&signature=other&action=version", 400),
        (f"{signed}&action=version&format=json&format=xml", 400),
        (f"{signed}&action=version&action=version", 200),  # repeated, the same
        (f"{signed}&action=expand", 404),  # no shorturl
        (f"{signed}&action=url-stats&shorturl=", 404),
        (f"{signed}&action=url-stats&shorturl=" + "a" * 5000, 404),
        (f"{signed}&action=expand&shorturl=%00", 404),
        (f"{signed}&action=stats&filter=top&limit=-5&start=-9", 200),
        (f"{signed}&action=stats&limit=99999999999999999999&start=99999999999999999999", 200),
        (f"{signed}&action=stats&limit=%FF", 400),  # not UTF-8
        (f"{signed}&action=%ZZ", 400),  # a bad escape is kept as text: unknown action
        (f"{signed}&action=shorturl&url=javascript:alert(1)", 400),
        (f"{signed}&action=shorturl&url=" + "https://e.example/" + "a" * 5000, 400),
        (f"{signed}&action=shorturl&url=https://e.example/&keyword=" + "k" * 200, 400),
        (f"{signed}&action=shorturl&url=https://e.example/&keyword=%0Aa", 400),
        (f"{signed}&action=shorturl&url=https://e.example/&keyword=api", 400),
        (f"{signed}&action=shorturl&url=http://testserver/x", 400),
    ):
        status(api(c, query + "&format=json"), expected, query)


@table("hostile-yourls-formats")
def _(c: Client) -> None:
    signed = f"signature={SIGNATURE}&action=version"
    for fmt, expected, kind in (
        ("json", 200, "application/json"),
        ("xml", 200, "application/xml"),
        ("simple", 200, "text/plain"),
        ("JSON", 200, "text/plain"),  # YOURLS: an unknown format is simple
        ("yaml", 200, "text/plain"),
        ("", 200, "text/plain"),
        ("%00", 200, "text/plain"),
        ("jsonp", 400, "text/plain"),
    ):
        r = status(api(c, f"{signed}&format={fmt}&callback=alert"), expected, fmt)
        assert (r.header("content-type") or "").startswith(kind), fmt
        assert not r.body.startswith(b"alert(")
    markup = urlencode({"signature": SIGNATURE, "action": "expand", "shorturl": XSS})
    for fmt in ("json", "xml", "simple"):
        r = status(api(c, f"{markup}&format={fmt}"), 404, fmt)
        if fmt == "simple":
            assert r.body == b"not found"


# -- YOURLS: bodies ---------------------------------------------------------------


def _multipart(fields: list[tuple[str, str]], boundary: str = "xYzZY", extra: str = "") -> bytes:
    return (
        "".join(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{n}"{extra}\r\n\r\n{v}\r\n'
            for n, v in fields
        )
        + f"--{boundary}--\r\n"
    ).encode()


def _part(header: str, value: bytes) -> bytes:
    """One multipart part named ``action`` with one more header, and the end."""
    head = f'--xYzZY\r\nContent-Disposition: form-data; name="action"\r\n{header}\r\n\r\n'
    return head.encode() + value + b"\r\n--xYzZY--\r\n"


@table("hostile-yourls-bodies")
def _(c: Client) -> None:
    fields = urlencode({"signature": SIGNATURE, "action": "shorturl", "url": "https://e.example/é"})
    utf8 = fields.encode()
    multipart = "multipart/form-data; boundary=xYzZY"
    base = [("signature", SIGNATURE), ("action", "shorturl")]
    cases: list[tuple[Any, bytes, str, dict[str, str], int]] = [
        ("latin-1", "url=caf\xe9&action=version".encode("latin-1"), FORM, {}, 400),
        (
            "raw-utf8",
            f"signature={SIGNATURE}&action=shorturl&url=https://e.example/\u00e9".encode(),
            FORM,
            {},
            400,
        ),
        ("utf-16", fields.encode("utf-16"), FORM, {}, 400),
        ("charset-latin1", utf8, FORM + "; charset=iso-8859-1", {}, 400),
        ("bom", b"\xef\xbb\xbf" + utf8 + b"&url=x", FORM, {}, 400),
        ("gzip", gzip.compress(utf8), FORM, {"Content-Encoding": "gzip"}, 415),
        ("over-limit", b"url=" + b"a" * 5000, FORM, {}, 413),
        ("short", utf8, FORM, {"Content-Length": str(len(utf8) + 10)}, 400),
        ("bad-length", utf8, FORM, {"Content-Length": "12abc"}, 400),
        ("chunked", utf8, FORM, {"Transfer-Encoding": "chunked", "Content-Length": ""}, 400),
        ("json", json.dumps({"action": "shorturl"}).encode(), "application/json", {}, 403),
        ("no-boundary", _multipart(base), "multipart/form-data", {}, 400),
        (
            "long-boundary",
            _multipart(base, "b" * 80),
            "multipart/form-data; boundary=" + "b" * 80,
            {},
            400,
        ),
        ("other-boundary", _multipart(base, "other"), multipart, {}, 400),
        ("file", _multipart([*base, ("url", "x")], extra='; filename="a.txt"'), multipart, {}, 400),
        (
            "no-name",
            b"--xYzZY\r\nContent-Disposition: form-data\r\n\r\nx\r\n--xYzZY--\r\n",
            multipart,
            {},
            400,
        ),
        (
            "not-form-data",
            b'--xYzZY\r\nContent-Disposition: attachment; name="a"\r\n\r\nx\r\n--xYzZY--\r\n',
            multipart,
            {},
            400,
        ),
        (
            "base64",
            _part("Content-Transfer-Encoding: base64", b"dmVyc2lvbg=="),
            multipart,
            {},
            400,
        ),
        (
            "latin1-part",
            _multipart([*base, ("url", "https://e.example/")])[:-12] + b"\xe9\r\n--xYzZY--\r\n",
            multipart,
            {},
            400,
        ),
        (
            "unknown-charset",
            _part("Content-Type: text/plain; charset=x-nope", b"version"),
            multipart,
            {},
            400,
        ),
        ("truncated", _multipart(base)[:-15], multipart, {}, 400),
        ("many-parts", _multipart([("a", "1")] * 150), multipart, {}, 413),
        ("nul-name", _multipart([*base, ("u\x00rl", "x")]), multipart, {}, 400),
    ]
    for where, body, content_type, headers, expected in cases:
        r = post(c, body, content_type, **headers)
        if where == "truncated":  # the stdlib's parser may read what is there: never a link
            clean(r, where)
            assert r.status in (200, 400, 403), (where, r.status)
            continue
        if where == "nul-name":  # an unknown field: the form has no url
            status(r, 400, where)
            continue
        status(r, expected, where)
    # A part in UTF-16, saying so, is read as such (an action that creates nothing).
    utf16 = (
        b'--xYzZY\r\nContent-Disposition: form-data; name="action"\r\n'
        b"Content-Type: text/plain; charset=utf-16\r\n\r\n"
        + "version".encode("utf-16")
        + b"\r\n--xYzZY--\r\n"
    )
    r = post(c, utf16, multipart + "; charset=utf-8")
    assert r.status == 403  # no signature in the form: read, then refused for that


# -- Shlink -----------------------------------------------------------------------


def shlink(c: Client, method: str, path: str, body: bytes = b"", **headers: str) -> Result:
    sent = {"X-Api-Key": KEY, "Content-Type": "application/json", **headers}
    return c.request(
        method, "/rest/v3" + path, headers={k: v for k, v in sent.items() if v != "-"}, body=body
    )


@table("hostile-shlink-keys")
def _(c: Client) -> None:
    for headers in (
        {"X-Api-Key": "-"},
        {"X-Api-Key": ""},
        {"X-Api-Key": " "},
        {"X-Api-Key": KEY.upper()},
        {"X-Api-Key": KEY + " x"},
        {"X-Api-Key": "admin-secret-token"},
        {"X-Api-Key": "-", **AUTH},
        {"X-Api-Key": "é".encode().decode("latin-1")},
    ):
        r = status(shlink(c, "GET", "/short-urls", **headers), 401, headers)
        assert r.header("content-type") == "application/problem+json"
    r = c.request("GET", "/rest/v3/short-urls", headers=[("X-Api-Key", KEY), ("X-Api-Key", KEY)])
    status(r, 401, "repeated")  # joined into one value, which is no key
    status(c.get("/rest/v3/short-urls?apiKey=" + KEY), 401, "key in the query")


@table("hostile-shlink-bodies")
def _(c: Client) -> None:
    good = {"longUrl": "https://example.com/"}
    for where, body, headers, expected in (
        ("empty", b"", {}, 400),
        ("not-json", b"{", {}, 400),
        ("array", b"[]", {}, 400),
        ("string", b'"x"', {}, 400),
        ("nan", b'{"longUrl": "https://e.example/", "maxVisits": NaN}', {}, 400),
        (
            "duplicate",
            b'{"longUrl": "https://e.example/", "longUrl": "https://f.example/"}',
            {},
            400,
        ),
        (
            "deep",
            b'{"longUrl": "https://e.example/", "tags": ' + b"[" * 100 + b"]" * 100 + b"}",
            {},
            400,
        ),
        ("utf-16", json.dumps(good).encode("utf-16"), {}, 400),
        ("bom", b"\xef\xbb\xbf" + json.dumps(good).encode(), {}, 400),
        ("latin-1", '{"longUrl": "https://e.example/\xe9"}'.encode("latin-1"), {}, 400),
        ("gzip", gzip.compress(json.dumps(good).encode()), {"Content-Encoding": "gzip"}, 415),
        ("form", b"longUrl=https://e.example/", {"Content-Type": FORM}, 415),
        ("no-type", json.dumps(good).encode(), {"Content-Type": "-"}, 415),
        (
            "over-limit",
            json.dumps({"longUrl": "https://e.example/" + "a" * 5000}).encode(),
            {},
            413,
        ),
        ("short", json.dumps(good).encode(), {"Content-Length": "200"}, 400),
        (
            "chunked",
            json.dumps(good).encode(),
            {"Transfer-Encoding": "chunked", "Content-Length": ""},
            400,
        ),
    ):
        status(shlink(c, "POST", "/short-urls", body, **headers), expected, where)


WRONG = {
    "longUrl": [
        None,
        5,
        [],
        {},
        "",
        "javascript:alert(1)",
        "https://a@b.example/",
        "http://testserver/x",
        "https://e.example/" + XSS,
    ],
    "customSlug": [5, [], "bad slug", "x" * 101, "api", "\u00e9", XSS],
    "tags": ["a", [1], ["a b"], ["x" * 33], [XSS], [str(i) for i in range(11)], {"a": 1}],
    "title": [5, [], "x" * 201, "a\x00b"],
    "maxVisits": [0, -1, 1.5, "3", True, 2**40],
    "validUntil": [
        "",
        "tomorrow",
        "2020-01-01T00:00:00Z",
        "2026-11-28",
        5,
        "9999-12-31T00:00:00Z" + "x",
    ],
    "validSince": ["2099-01-01T00:00:00Z", "x", 5],
    "forwardQuery": ["true", 1, None],
    "crawlable": ["false", 0],
    "findIfExists": ["yes"],
    "domain": ["other.example", 5],
    "shortCodeLength": [3, "8", -1, True],
    "deviceLongUrls": [{"ios": "https://e.example/"}, "x"],
}


@table("hostile-shlink-fields", heavy=True)
def _(c: Client) -> None:
    for field, values in WRONG.items():
        for value in values:
            payload = {"longUrl": "https://example.com/ok", field: value}
            r = shlink(c, "POST", "/short-urls", json.dumps(payload).encode())
            status(r, 400, (field, value))
            assert r.json()["type"].startswith("https://shlink.io/api/error/"), (field, value)
    for field in ("longUrl", "tags", "maxVisits", "validUntil", "title", "forwardQuery"):
        for value in WRONG[field][:3]:
            if field == "forwardQuery" and value is None:
                continue
            r = shlink(c, "PATCH", "/short-urls/nothing", json.dumps({field: value}).encode())
            status(r, 404, (field, value))  # an unknown code is looked at first


@table("hostile-shlink-queries")
def _(c: Client) -> None:
    for query in (
        "page=0",
        "page=-1",
        "page=x",
        "page=1e3",
        "page=9999999999",
        "itemsPerPage=0",
        "itemsPerPage=-2",
        "itemsPerPage=%FF",
        "orderBy=visits-UP",
        "orderBy=" + XSS,
        "tagsMode=none",
        "startDate=yesterday",
        "endDate=" + "9" * 100,
        "excludeMaxVisitsReached=maybe",
        "domain=other.example",
        "searchTerm=%ZZ%FF",
        "page=1&page=2",
    ):
        r = shlink(c, "GET", "/short-urls?" + query)
        clean(r, query)
        assert r.status in (400, 404), (query, r.status)
    for query in (
        "page=99",
        "itemsPerPage=-1",
        "searchTerm=" + "a" * 3000,
        "tags%5B%5D=" + XSS,
        "page=1&page=1",
    ):
        status(shlink(c, "GET", "/short-urls?" + query), 200, query)
    for path in (
        "/short-urls/%FF",
        "/short-urls/" + "a" * 300,
        "/short-urls/..%2F..",
        "/tags/%FF/visits",
    ):
        r = shlink(c, "GET", path)
        clean(r, path)
        assert r.status in (400, 404), (path, r.status)


RUNS = [
    pytest.param(case, run.values[0], id=f"{case.id}-{run.id}", marks=run.marks)
    for case in SCENARIOS
    for run in CGI_RUNS
    if run.values[0] or case.id not in HEAVY
]


@pytest.mark.parametrize(("case", "in_process_cgi"), RUNS)
def test_hostile_dialects(case: Scenario, in_process_cgi: bool, tmp_path: Path) -> None:
    run_scenario(case, tmp_path, in_process_cgi=in_process_cgi)
