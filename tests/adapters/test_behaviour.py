"""The shared behavioural suite: every scenario once, through CGI, WSGI and ASGI.

Each scenario asserts its own expectations through every adapter (SPEC §4, and the
in-process cases of ADAPTER-EDGES.md, numbered ``eN``), then ``run_scenario`` checks
that the three transcripts are byte-identical and that nothing answered 5xx (except
the deliberate internal error, e22). Rejected requests are followed by a look at the
store (the admin list) to show they changed nothing.

Every scenario runs twice, with CGI each way: the adapter called in process
(``InProcessCGIClient``), and a real subprocess per request (``CGIClient``, marked
``slow``: about 50 ms a request).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Callable, Optional
from urllib.parse import urlencode

import pytest
from _failing_store import FailingStore
from helpers import (
    ADMIN,
    AUTH,
    CGI_RUNS,
    HTML_TYPE,
    JSON_TYPE,
    Scenario,
    all_links,
    app_headers,
    assert_error,
    assert_head_answers_as_get,
    assert_html,
    assert_length,
    assert_store_empty,
    create,
    run_scenario,
)

from minilink.testing.clients import Client, Result

SCENARIOS: list[Scenario] = []
T0 = "2026-11-28T13:00:00Z"
LINK_KEYS = {
    "code",
    "short_url",
    "url",
    "created_at",
    "expires_at",
    "max_visits",
    "hits",
    # SPEC section 9
    "title",
    "tags",
    "redirect_status",
    "forward_query",
    "fallback_url",
    "password_protected",
    "updated_at",
}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def scenario(
    id: str, **options: Any
) -> Callable[[Callable[[Client], Any]], Callable[[Client], Any]]:
    def register(fn: Callable[[Client], Any]) -> Callable[[Client], Any]:
        SCENARIOS.append(Scenario(id, fn, **options))
        return fn

    return register


def created(client: Client, url: str, **fields: Any) -> dict[str, Any]:
    result = create(client, url, **fields)
    assert result.status == 201, (result.status, result.body)
    body: dict[str, Any] = result.json()
    return body


def assert_redirect(result: Result, location: str, status: int = 302) -> None:
    assert result.status == status, (result.status, result.body[:200])
    assert result.header("location") == location
    assert result.body == b""
    assert result.header("content-length") == "0"


def hits(client: Client, code: str) -> int:
    result = client.get(f"/api/links/{code}")
    assert result.status == 200, result.body
    count: int = result.json()["hits"]
    return count


# -- GET / and the form ----------------------------------------------------------------


@scenario("home")
def _(c: Client) -> None:
    r = c.get("/")
    assert_html(r, 200)
    assert "<form" in r.text
    assert 'name="url"' in r.text
    assert "<label" in r.text


@scenario("home-prefill-escaped")
def _(c: Client) -> None:
    hostile = 'https://example.com/?q="><script>alert(1)</script>'
    r = c.get("/?" + urlencode({"url": hostile}))
    assert_html(r, 200)
    assert "<script>alert(1)" not in r.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in r.text


@scenario("form-create")
def _(c: Client) -> None:
    r = c.request("POST", "/", headers=FORM, body=b"url=https%3A%2F%2Fexample.com%2Fform")
    assert r.status == 303, (r.status, r.body)
    location = r.header("location") or ""
    match = re.fullmatch(r"http://testserver/([A-Za-z0-9_-]+)\+", location)
    assert match, location
    assert_length(r)
    page = c.get(location[len("http://testserver") :])
    assert_html(page, 200)
    assert "https://example.com/form" in page.text
    assert hits(c, match.group(1)) == 0


@scenario("form-alias")
def _(c: Client) -> None:
    r = c.request("POST", "/", headers=FORM, body=b"url=https%3A%2F%2Fexample.com%2F&alias=docs")
    assert r.status == 303
    assert r.header("location") == "http://testserver/docs+"


@scenario("form-error-keeps-input-escaped")
def _(c: Client) -> None:
    body = urlencode({"url": "javascript:alert('<b>x</b>')", "alias": "<i>y"}).encode()
    r = c.request("POST", "/", headers=FORM, body=body)
    assert_html(r, 400)
    assert "<form" in r.text
    assert "<b>x</b>" not in r.text
    assert "<i>y" not in r.text
    assert "&lt;b&gt;x&lt;/b&gt;" in r.text
    assert_store_empty(c)


@scenario("form-cross-site-post-refused")
def _(c: Client) -> None:
    body = b"url=https%3A%2F%2Fexample.com%2Fcsrf"
    for cross in (
        {"Origin": "https://evil.example"},
        {"Origin": "http://testserver.evil.example"},
        {"Origin": "http://testserver:8080"},
        {"Origin": "null"},  # a sandboxed frame or a no-referrer page elsewhere
        {"Origin": "null", "Sec-Fetch-Site": "cross-site"},
        {"Origin": "https://evil.example", "Referer": "http://testserver/"},
        {"Referer": "https://evil.example/page"},
        {"Sec-Fetch-Site": "cross-site"},
    ):
        r = c.request("POST", "/", headers={**FORM, **cross}, body=body)
        assert_html(r, 403)
        assert "Cross-site form posts" in r.text
    assert_store_empty(c)
    # The JSON API takes no cookies, so a cross-site Origin changes nothing there.
    api = create(c, "https://example.com/api", headers={"Origin": "https://evil.example"})
    assert api.status == 201
    for own in (
        {"Origin": "http://testserver"},
        {"Origin": "http://TestServer:80"},
        # Chromium's Origin on our own form under "Referrer-Policy: no-referrer".
        {"Origin": "null", "Sec-Fetch-Site": "same-origin"},
        {"Referer": "http://testserver/?url=x"},
        {},  # neither header: not a browser, so no cross-site request
    ):
        r = c.request("POST", "/", headers={**FORM, **own}, body=body)
        assert r.status == 303, (own, r.status, r.body[:300])


# -- POST /api/links ---------------------------------------------------------------------


@scenario("api-create-dedupe")
def _(c: Client) -> None:
    r = create(c, "HTTPS://Example.COM:443")
    assert r.status == 201, r.body
    assert r.header("content-type") == JSON_TYPE
    link = r.json()
    assert set(link) == LINK_KEYS
    assert link["url"] == "https://example.com/"
    assert re.fullmatch(r"[A-Za-z0-9]{7}", link["code"])
    assert link["short_url"] == f"http://testserver/{link['code']}"
    assert r.header("location") == link["short_url"]
    assert link["created_at"] == T0
    assert link["expires_at"] is None
    assert link["max_visits"] is None
    assert link["hits"] == 0
    again = create(c, "https://example.com/")
    assert again.status == 200
    assert again.json() == link
    other = created(c, "https://example.com/other")
    assert other["code"] != link["code"]
    assert c.get(f"/api/links/{link['code']}").json() == link


@scenario("api-alias")
def _(c: Client) -> None:
    link = created(c, "https://example.com/docs", alias="Docs_1-x")
    assert link["code"] == "Docs_1-x"
    assert_redirect(c.get("/Docs_1-x"), "https://example.com/docs")
    assert c.get("/docs_1-x").status == 404  # codes are case-sensitive
    taken = create(c, "https://example.org/", alias="Docs_1-x")
    assert_error(taken, 409, "alias_taken")
    # An aliased link is never deduplicated into: the plain create makes a new code.
    plain = created(c, "https://example.com/docs")
    assert plain["code"] != "Docs_1-x"
    assert len(all_links(c)) == 2


BAD_ALIASES = ["api", "healthz", "admin", "a b", "x" * 101, "", "é"]


def _bad_alias(alias: str) -> Callable[[Client], None]:
    def case(c: Client) -> None:
        assert_error(create(c, "https://example.com/", alias=alias), 400, "invalid_alias")
        assert_store_empty(c)

    return case


for _alias in BAD_ALIASES:
    SCENARIOS.append(Scenario(f"invalid-alias-{_alias[:8]!r}", _bad_alias(_alias)))

BAD_URLS = {
    "javascript": "javascript:alert(1)",
    "data": "data:text/html,<script>alert(1)</script>",
    "file": "file:///etc/passwd",
    "ftp": "ftp://example.com/",
    "userinfo": "https://bank.example@evil.example/",
    "control-char": "https://example.com/\x00x",
    "newline": "https://example.com/a\r\nSet-Cookie: x=1",
    "leading-space": " https://example.com/",
    "tab-in-host": "https://exa\tmple.com/",
    "no-host": "https:///path",
    "relative": "/just/a/path",
    "too-long": "https://example.com/" + "a" * 4096,
    "self-link": "http://testserver/abc",
    "self-link-https-case": "HTTPS://TESTSERVER/x",
}


def _bad_url(url: str) -> Callable[[Client], None]:
    def case(c: Client) -> None:
        assert_error(create(c, url), 400, "invalid_url")
        assert_store_empty(c)

    return case


for _name, _url in BAD_URLS.items():
    SCENARIOS.append(Scenario(f"invalid-url-{_name}", _bad_url(_url)))


@scenario("url-max-length-accepted")
def _(c: Client) -> None:
    url = "https://example.com/" + "a" * (4096 - len("https://example.com/"))
    assert created(c, url)["url"] == url


@scenario("blocked-host", env={"MINILINK_BLOCKED_HOSTS": ".evil.example,bad.example"})
def _(c: Client) -> None:
    assert_error(create(c, "https://www.evil.example/"), 400, "invalid_url")
    assert_error(create(c, "https://BAD.example/"), 400, "invalid_url")
    assert_store_empty(c)


@scenario("idn-and-non-ascii")
def _(c: Client) -> None:
    link = created(c, "https://Bücher.example/straße?q=ü#frag")
    assert link["url"].startswith("https://xn--bcher-kva.example/stra%C3%9Fe?q=%C3%BC")
    r = c.get(f"/{link['code']}")
    assert r.status == 302
    location = r.header("location") or ""
    assert location == link["url"]
    assert location.isascii()
    assert not any(ch.isspace() for ch in location)


@scenario("crlf-stays-encoded")
def _(c: Client) -> None:
    link = created(c, "https://example.com/a%0D%0ASet-Cookie:%20x=1")
    r = c.get(f"/{link['code']}")
    assert r.header("set-cookie") is None
    assert "\r" not in (r.header("location") or "")
    assert "\n" not in (r.header("location") or "")


@scenario("expires-in")
def _(c: Client) -> None:
    link = created(c, "https://example.com/soon", expires_in=60)
    assert link["expires_at"] == "2026-11-28T13:01:00Z"
    assert_redirect(c.get(f"/{link['code']}"), "https://example.com/soon")
    c.clock.advance(61)
    assert_html(c.get(f"/{link['code']}"), 410)
    assert_error(c.get(f"/api/links/{link['code']}"), 410, "gone")
    # Expiring links are never deduplicated: a plain create makes a fresh code.
    assert created(c, "https://example.com/soon")["code"] != link["code"]


@scenario("expires-at")
def _(c: Client) -> None:
    link = created(c, "https://example.com/at", expires_at="2026-11-29T00:00:00Z")
    assert link["expires_at"] == "2026-11-29T00:00:00Z"
    c.clock.advance(11 * 3600 - 1)
    assert c.get(f"/{link['code']}").status == 302
    c.clock.advance(1)
    assert_html(c.get(f"/{link['code']}"), 410)


@scenario("expires-bad-values")
def _(c: Client) -> None:
    assert_error(create(c, "https://example.com/", expires_in=-5), 400, "bad_request")
    assert_error(create(c, "https://example.com/", expires_in="soon"), 400, "bad_request")
    assert_error(create(c, "https://example.com/", expires_at="tomorrow"), 400, "bad_request")
    assert_error(create(c, "https://example.com/", max_visits=0), 400, "bad_request")
    assert_error(create(c, "https://example.com/", max_visits=True), 400, "bad_request")
    assert_store_empty(c)


@scenario("max-visits")
def _(c: Client) -> None:
    link = created(c, "https://example.com/twice", max_visits=2)
    assert link["max_visits"] == 2
    for _ in range(2):
        assert_redirect(c.get(f"/{link['code']}"), "https://example.com/twice")
    assert_html(c.get(f"/{link['code']}"), 410)
    assert_error(c.get(f"/api/links/{link['code']}"), 410, "gone")


@scenario("bad-json")
def _(c: Client) -> None:
    json_type = {"Content-Type": "application/json"}
    for body in (
        b"{not json",
        b"[1, 2]",
        b'"https://example.com/"',
        b'{"url": 5}',
        b'{"alias": "x"}',
        b'{"url": "https://example.com/\xff"}',
        b"\xef\xbb\xbf\xff\xfe",
    ):
        assert_error(
            c.request("POST", "/api/links", headers=json_type, body=body), 400, "bad_request"
        )
    assert_store_empty(c)


@scenario("json-charset-param-accepted")
def _(c: Client) -> None:
    r = c.request(
        "POST",
        "/api/links",
        headers={"Content-Type": "application/json; charset=utf-8"},
        body=b'{"url": "https://example.com/cs"}',
    )
    assert r.status == 201


@scenario("e12-wrong-or-missing-content-type")
def _(c: Client) -> None:
    body = b'{"url": "https://example.com/"}'
    r = c.request("POST", "/api/links", headers={"Content-Type": "text/plain"}, body=body)
    assert_error(r, 415, "unsupported_media_type")
    assert_error(c.request("POST", "/api/links", body=body), 415, "unsupported_media_type")
    r = c.request("POST", "/", headers={"Content-Type": "application/json"}, body=body)
    assert_html(r, 415)
    assert_store_empty(c)


@scenario("e15-oversized-content-length", env={"MINILINK_MAX_BODY_BYTES": "100"})
def _(c: Client) -> None:
    headers = {"Content-Type": "application/json", "Content-Length": "101"}
    body = b'{"url": "https://example.com/' + b"a" * 80 + b'"}'
    assert_error(
        c.request("POST", "/api/links", headers=headers, body=body), 413, "payload_too_large"
    )
    assert c.body_read in (0, None), "the body must not be read when it is too large"
    huge = {"Content-Type": "application/json", "Content-Length": str(10**12)}
    assert_error(
        c.request("POST", "/api/links", headers=huge, body=b"{}"), 413, "payload_too_large"
    )
    assert c.body_read in (0, None)
    r = c.request("POST", "/", headers={**FORM, "Content-Length": "5000"}, body=b"url=x")
    assert_html(r, 413)
    assert_store_empty(c)


@scenario("e13-content-length-variants")
def _(c: Client) -> None:
    body = b'{"url": "https://example.com/cl"}'
    json_type = ("Content-Type", "application/json")
    exact = c.request(
        "POST", "/api/links", headers=[json_type, ("Content-Length", str(len(body)))], body=body
    )
    assert exact.status == 201
    code = exact.json()["code"]
    # Fewer bytes declared than sent: only the declared bytes are read (bad JSON).
    short = c.request(
        "POST", "/api/links", headers=[json_type, ("Content-Length", "10")], body=body
    )
    assert_error(short, 400, "bad_request")
    assert c.body_read in (10, None)
    zero = c.request("POST", "/api/links", headers=[json_type, ("Content-Length", "0")], body=body)
    assert_error(zero, 400, "bad_request")
    assert c.body_read in (0, None)
    for bad in ("abc", "-1", "1.5", "+5", " ", "1e3"):
        r = c.request("POST", "/api/links", headers=[json_type, ("Content-Length", bad)], body=body)
        assert_error(r, 400, "bad_request")
        assert c.body_read in (0, None)
    assert [link["code"] for link in all_links(c)] == [code]


@scenario("e13-no-content-length")
def _(c: Client) -> None:
    # No Content-Length (and no chunked framing in CGI/WSGI): there is no body to read.
    r = c.request("POST", "/api/links", headers=[("Content-Type", "application/json")])
    assert_error(r, 400, "bad_request")
    assert_store_empty(c)


# -- reading links ----------------------------------------------------------------------


@scenario("api-get-404-410")
def _(c: Client) -> None:
    assert_error(c.get("/api/links/nope123"), 404, "not_found")
    link = created(c, "https://example.com/del")
    assert c.get(f"/api/links/{link['code']}").status == 200
    assert c.delete(f"/api/links/{link['code']}", headers=AUTH).status == 204
    assert_error(c.get(f"/api/links/{link['code']}"), 410, "gone")


@scenario("stats")
def _(c: Client) -> None:
    code = created(c, "https://example.com/stats")["code"]
    c.get(f"/{code}")
    c.get(f"/{code}")
    c.clock.advance(86400)
    c.get(f"/{code}")
    r = c.get(f"/api/links/{code}/stats?days=7")
    assert r.status == 200
    assert r.header("content-type") == JSON_TYPE
    stats = r.json()
    assert stats["code"] == code
    assert stats["hits"] == 3
    nonzero = [d for d in stats["daily"] if d["hits"]]
    assert nonzero == [{"date": "2026-11-28", "hits": 2}, {"date": "2026-11-29", "hits": 1}]
    default = c.get(f"/api/links/{code}/stats").json()
    assert default["hits"] == 3
    assert_error(c.get(f"/api/links/{code}/stats?days=abc"), 400, "bad_request")
    assert_error(c.get("/api/links/nope123/stats"), 404, "not_found")


@scenario("admin-list-forbidden-without-token", env={"MINILINK_ADMIN_TOKEN": ""})
def _(c: Client) -> None:
    created(c, "https://example.com/")
    assert_error(c.get("/api/links"), 403, "forbidden")
    assert_error(c.get("/api/links", headers=AUTH), 403, "forbidden")
    code = c.history[0][1].json()["code"]
    assert_error(c.delete(f"/api/links/{code}", headers=AUTH), 403, "forbidden")
    assert c.get(f"/{code}").status == 302


@scenario("e11-admin-list-auth")
def _(c: Client) -> None:
    assert_error(c.get("/api/links"), 401, "unauthorized")
    assert_error(
        c.get("/api/links", headers={"Authorization": "Bearer wrong"}), 401, "unauthorized"
    )
    assert_error(c.get("/api/links", headers={"Authorization": ADMIN}), 401, "unauthorized")
    assert_error(c.get("/api/links", headers={"Authorization": "Basic YTpi"}), 401, "unauthorized")
    assert c.get("/api/links", headers={"Authorization": f"Bearer {ADMIN}"}).status == 200


@scenario("admin-list-paging")
def _(c: Client) -> None:
    codes = []
    for i in range(3):
        codes.append(created(c, f"https://example.com/{i}")["code"])
        c.clock.advance(1)
    page = c.get("/api/links?limit=2", headers=AUTH)
    assert page.status == 200
    assert page.header("content-type") == JSON_TYPE
    first = page.json()
    assert [link["code"] for link in first["links"]] == [codes[2], codes[1]]
    assert set(first["links"][0]) == LINK_KEYS
    rest = c.get(f"/api/links?limit=2&after={first['next']}", headers=AUTH).json()
    assert [link["code"] for link in rest["links"]] == [codes[0]]
    assert rest["next"] is None
    assert_error(c.get("/api/links?limit=1001", headers=AUTH), 400, "bad_request")
    assert_error(c.get("/api/links?limit=-1", headers=AUTH), 400, "bad_request")


@scenario("delete")
def _(c: Client) -> None:
    code = created(c, "https://example.com/gone")["code"]
    assert_error(c.delete(f"/api/links/{code}"), 401, "unauthorized")
    assert c.get(f"/{code}").status == 302
    r = c.delete(f"/api/links/{code}", headers=AUTH)
    assert r.status == 204
    assert r.body == b""
    # minilink sends no Content-Length on a 204 (RFC 9110 §8.6); wsgiref adds "0".
    assert r.header("content-length") in (None, "0")
    assert_error(c.get(f"/api/links/{code}"), 410, "gone")
    assert_html(c.get(f"/{code}"), 410)
    assert_html(c.get(f"/{code}+"), 410)
    assert_error(c.delete(f"/api/links/{code}", headers=AUTH), 410, "gone")
    assert_error(c.delete("/api/links/nope123", headers=AUTH), 404, "not_found")
    # The code stays a tombstone: it cannot be taken again as an alias.
    assert_error(create(c, "https://example.org/", alias=code), 409, "alias_taken")


@scenario("openapi")
def _(c: Client) -> None:
    r = c.get("/api/openapi.json")
    assert r.status == 200
    assert r.header("content-type") == JSON_TYPE
    doc = r.json()
    assert re.fullmatch(r"3\.1\.\d+", doc["openapi"])
    assert "/api/links" in str(doc["paths"])


# -- SPEC section 9 in the JSON API: editing, search, tags, ETags ---------------------------

MERGE = {"Content-Type": "application/merge-patch+json"}


def patch(
    c: Client,
    code: str,
    changes: Any,
    *,
    if_match: Optional[str] = None,
    headers: Optional[dict[str, str]] = None,
) -> Result:
    """``PATCH /api/links/{code}`` as the admin, with a merge patch (``changes`` as
    JSON, or raw bytes as they are)."""
    sent = {**MERGE, **AUTH, **(headers or {})}
    if if_match is not None:
        sent["If-Match"] = if_match
    raw = changes if isinstance(changes, bytes) else json.dumps(changes).encode()
    return c.request("PATCH", f"/api/links/{code}", headers=sent, body=raw)


def edited(c: Client, code: str, changes: Any, **kwargs: Any) -> dict[str, Any]:
    r = patch(c, code, changes, **kwargs)
    assert r.status == 200, (r.status, r.body)
    assert r.header("content-type") == JSON_TYPE
    assert re.fullmatch(r'"r[0-9]+"', r.header("etag") or ""), r.headers
    link: dict[str, Any] = r.json()
    assert set(link) == LINK_KEYS
    return link


def admin_view(c: Client, code: str) -> Result:
    return c.get(f"/api/links/{code}", headers=AUTH)


def listed(c: Client, query: str) -> list[str]:
    r = c.get(f"/api/links?{query}", headers=AUTH)
    assert r.status == 200, (query, r.status, r.body)
    return [link["code"] for link in r.json()["links"]]


@scenario("edit-each-field")
def _(c: Client) -> None:
    code = created(c, "https://example.com/v0")["code"]
    c.clock.advance(60)
    link = edited(c, code, {"url": "HTTPS://Example.COM/v1?a=b"}, if_match='"r0"')
    assert link["url"] == "https://example.com/v1?a=b"
    assert link["updated_at"] == "2026-11-28T13:01:00Z"
    assert link["created_at"] == T0
    assert_redirect(c.get(f"/{code}"), "https://example.com/v1?a=b")
    link = edited(c, code, {"title": " Release <notes> & more "})
    assert link["title"] == "Release <notes> & more"
    assert b"<notes>" not in c.history[-1][1].body  # escaped as JSON \u003c
    link = edited(c, code, {"tags": ["Docs", "2026", "docs"]})
    assert link["tags"] == ["docs", "2026"]
    link = edited(c, code, {"expires_at": "2026-11-29T02:00:00+01:00"})
    assert link["expires_at"] == "2026-11-29T01:00:00Z"
    link = edited(c, code, {"max_visits": 5})
    assert link["max_visits"] == 5
    link = edited(c, code, {"redirect_status": 308})
    assert link["redirect_status"] == 308
    assert_redirect(c.get(f"/{code}"), "https://example.com/v1?a=b", 308)
    link = edited(c, code, {"forward_query": True})
    assert link["forward_query"] is True
    link = edited(c, code, {"fallback_url": "https://example.com/over"})
    assert link["fallback_url"] == "https://example.com/over"
    link = edited(c, code, {"password": "edit secret"})
    assert link["password_protected"] is True
    assert link["url"] == "https://example.com/v1?a=b"  # the admin sees the target
    assert c.history[-1][1].header("etag") == '"r9"'
    assert link["hits"] == 2 and link["code"] == code
    assert admin_view(c, code).json() == link
    public = c.get(f"/api/links/{code}")
    assert public.status == 200
    assert public.json() == {**link, "url": None, "fallback_url": None}
    assert b"example.com/v1" not in public.body and b"example.com/over" not in public.body
    assert "edit secret" not in public.text


@scenario("edit-merge-patch-clears")
def _(c: Client) -> None:
    code = created(
        c,
        "https://example.com/full",
        title="Full",
        tags=["a", "b"],
        expires_in=3600,
        max_visits=9,
        redirect_status=301,
        forward_query=True,
        fallback_url="https://example.com/fb",
        password="pw to clear",
    )["code"]
    assert c.get(f"/{code}").status == 200  # the password form
    fields = ("title", "tags", "expires_at", "max_visits", "redirect_status")
    link = edited(c, code, dict.fromkeys(fields), if_match="*")
    assert [link[f] for f in fields] == [None, [], None, None, None]
    assert link["forward_query"] is True and link["password_protected"] is True
    link = edited(c, code, {"forward_query": None, "fallback_url": None, "password": None})
    assert (link["forward_query"], link["fallback_url"], link["password_protected"]) == (
        False,
        None,
        False,
    )
    assert c.get(f"/api/links/{code}").json() == link  # nothing hidden any more
    assert_redirect(c.get(f"/{code}"), "https://example.com/full")
    # A patch of the same fields again is still an edit (a new ETag); an empty one is not.
    assert patch(c, code, {"title": None}).header("etag") == '"r3"'
    empty = patch(c, code, {}, if_match='"r3"')
    assert empty.status == 200
    assert empty.header("etag") == '"r3"'
    assert empty.json()["updated_at"] == link["updated_at"]
    assert tags_of(c) == []


@scenario("edit-media-types")
def _(c: Client) -> None:
    code = created(c, "https://example.com/mt")["code"]
    as_json = patch(c, code, {"title": "json"}, headers={"Content-Type": "application/json"})
    assert as_json.status == 200
    with_charset = {"Content-Type": "application/merge-patch+json; charset=utf-8"}
    assert patch(c, code, {"title": "charset"}, headers=with_charset).status == 200
    for kind in ("text/plain", "application/json-patch+json", "application/x-www-form-urlencoded"):
        r = patch(c, code, {"title": "no"}, headers={"Content-Type": kind})
        assert_error(r, 415, "unsupported_media_type")
        assert r.header("accept-patch") == "application/merge-patch+json, application/json"
    assert admin_view(c, code).json()["title"] == "charset"


@scenario("edit-stale-if-match-412")
def _(c: Client) -> None:
    code = created(c, "https://example.com/shared")["code"]
    etag = admin_view(c, code).header("etag")
    assert etag == '"r0"'
    first = patch(c, code, {"url": "https://example.com/first"}, if_match=etag)
    assert first.status == 200
    assert first.header("etag") == '"r1"'
    second = patch(c, code, {"url": "https://example.com/second"}, if_match=etag)
    assert_error(second, 412, "precondition_failed")
    assert second.header("etag") is None
    now = admin_view(c, code)
    assert now.json()["url"] == "https://example.com/first"
    assert now.header("etag") == '"r1"'
    assert_redirect(c.get(f"/{code}"), "https://example.com/first")
    # Read again, then edit: accepted.
    assert patch(c, code, {"url": "https://example.com/second"}, if_match='"r1"').status == 200
    assert patch(c, code, {"title": "t"}, if_match='W/"r2"').status == 412  # weak never matches
    assert patch(c, code, {"title": "t"}, if_match='"r0", "r2"').status == 200


@scenario("edit-if-match-garbage-412")
def _(c: Client) -> None:
    code = created(c, "https://example.com/g")["code"]
    for garbage in ("r0", '"r0', "'r0'", '"r0" x', "**", '"r0";q=1', "<xss>", "\xe9"):
        assert_error(patch(c, code, {"title": "x"}, if_match=garbage), 412, "precondition_failed")
    assert admin_view(c, code).json()["title"] is None
    assert admin_view(c, code).header("etag") == '"r0"'


@scenario("edit-deleted-410-unknown-404")
def _(c: Client) -> None:
    assert_error(patch(c, "nope123", {"title": "x"}), 404, "not_found")
    code = created(c, "https://example.com/del")["code"]
    assert c.delete(f"/api/links/{code}", headers=AUTH).status == 204
    for changes in ({"title": "x"}, {"url": "https://example.com/back"}, {}):
        assert_error(patch(c, code, changes), 410, "gone")
    assert_error(patch(c, code, {"title": "x"}, if_match="*"), 410, "gone")
    assert_html(c.get(f"/{code}"), 410)
    # An expired link is no deleted one: it may be edited back to life.
    soon = created(c, "https://example.com/soon", expires_in=60)["code"]
    c.clock.advance(61)
    assert_error(c.get(f"/api/links/{soon}"), 410, "gone")
    assert edited(c, soon, {"expires_at": None})["expires_at"] is None
    assert_redirect(c.get(f"/{soon}"), "https://example.com/soon")


@scenario("edit-refused-changes-nothing")
def _(c: Client) -> None:
    code = created(c, "https://example.com/keep", title="Kept", tags=["k"])["code"]
    before = admin_view(c, code)
    for changes in (
        {"colour": "red"},
        {"title": "new", "colour": "red"},
        {"hits": 0},
        {"code": "other"},
        {"created_at": T0},
        {"password_protected": False},
        {"url": None},
        {"url": "javascript:alert(1)"},
        {"title": "x" * 201},
        {"tags": "a,b"},
        {"tags": [f"t{i}" for i in range(11)]},
        {"max_visits": 0},
        {"redirect_status": 303},
        {"forward_query": "yes"},
        {"expires_at": "tomorrow"},
        {"fallback_url": "file:///etc/passwd"},
        {"password": ""},
        {"title": {"nested": "object"}},
        [{"title": "in a list"}],
        "title",
        None,
    ):
        r = patch(c, code, changes)
        assert r.status == 400, (changes, r.status, r.body)
        assert r.json()["error"]["code"] in ("bad_request", "invalid_url"), changes
    assert_error(patch(c, code, b'{"title": "a", "title": "b"}'), 400, "bad_request")
    assert_error(patch(c, code, b"{not json"), 400, "bad_request")
    assert_error(
        c.request("PATCH", f"/api/links/{code}", headers=MERGE, body=b'{"title": "x"}'),
        401,
        "unauthorized",
    )
    after = admin_view(c, code)
    assert after.body == before.body
    assert after.header("etag") == before.header("etag") == '"r0"'


def tags_of(c: Client) -> list[dict[str, Any]]:
    r = c.get("/api/tags", headers=AUTH)
    assert r.status == 200, r.body
    assert r.header("content-type") == JSON_TYPE
    tags: list[dict[str, Any]] = r.json()["tags"]
    return tags


@scenario("list-search-state-sort")
def _(c: Client) -> None:
    alpha = created(c, "https://example.com/alpha", title="The Alpha page", tags=["docs"])["code"]
    c.clock.advance(1)
    beta = created(c, "https://example.org/BETA", tags=["docs", "x"])["code"]
    c.clock.advance(1)
    soon = created(c, "https://example.net/soon", expires_in=30, tags=["x"])["code"]
    c.clock.advance(1)
    gone = created(c, "https://example.net/gone", tags=["docs"])["code"]
    assert c.delete(f"/api/links/{gone}", headers=AUTH).status == 204
    for _ in range(2):
        assert c.get(f"/{beta}").status == 302
    c.clock.advance(60)  # soon has expired
    assert listed(c, "") == [beta, alpha]  # live links only, newest first
    assert listed(c, "state=live") == [beta, alpha]
    assert listed(c, "state=expired") == [soon]
    assert listed(c, "state=deleted") == [gone]
    assert listed(c, "state=all") == [gone, soon, beta, alpha]
    assert listed(c, "q=alpha+PAGE") == [alpha]
    assert listed(c, "q=example.org") == [beta]
    assert listed(c, f"q={soon}&state=all") == [soon]
    assert listed(c, "tag=docs") == [beta, alpha]
    assert listed(c, "tag=DOCS&state=all") == [gone, beta, alpha]
    assert listed(c, "tag=x&q=soon&state=expired") == [soon]
    assert listed(c, "sort=hits") == [beta, alpha]
    assert listed(c, "sort=updated") == [beta, alpha]
    edited(c, alpha, {"title": "The Alpha page, edited"})
    assert listed(c, "sort=updated") == [alpha, beta]
    assert listed(c, "sort=created") == [beta, alpha]
    for bad in ("state=gone", "sort=newest", "tag=a%20b", "limit=0", "q=%FF", "find=x"):
        assert_error(c.get(f"/api/links?{bad}", headers=AUTH), 400, "bad_request")
    assert_error(c.get("/api/links?state=all"), 401, "unauthorized")


@scenario("list-paging")
def _(c: Client) -> None:
    codes = []
    for i in range(5):
        codes.append(created(c, f"https://example.com/page/{i}", tags=["p"])["code"])
        c.clock.advance(1)
        for _ in range(i % 3):
            c.get(f"/{codes[-1]}")
    for query in ("", "sort=hits&", "tag=p&sort=updated&", "q=page&"):
        whole = listed(c, f"{query}limit=1000")
        assert sorted(whole) == sorted(codes)
        seen: list[str] = []
        after = ""
        while True:
            page = c.get(f"/api/links?{query}limit=2&after={after}", headers=AUTH).json()
            seen += [link["code"] for link in page["links"]]
            if page["next"] is None:
                break
            after = page["next"]
        assert seen == whole, query
    assert listed(c, "after=nope123") == []


@scenario("api-tags")
def _(c: Client) -> None:
    assert tags_of(c) == []
    a = created(c, "https://example.com/t1", tags=["news", "Docs"])["code"]
    created(c, "https://example.com/t2", tags=["docs"])
    soon = created(c, "https://example.com/t3", tags=["soon"], expires_in=10)["code"]
    c.clock.advance(11)
    assert tags_of(c) == [
        {"tag": "docs", "links": 2},
        {"tag": "news", "links": 1},
        {"tag": "soon", "links": 1},  # expired links keep their tags
    ]
    edited(c, a, {"tags": ["news", "extra"]})
    assert c.delete(f"/api/links/{soon}", headers=AUTH).status == 204
    assert tags_of(c) == [
        {"tag": "docs", "links": 1},
        {"tag": "extra", "links": 1},
        {"tag": "news", "links": 1},
    ]
    assert_error(c.get("/api/tags"), 401, "unauthorized")
    assert_error(c.get("/api/tags?limit=1", headers=AUTH), 400, "bad_request")
    assert_head_answers_as_get(c.head("/api/tags", headers=AUTH), c.get("/api/tags", headers=AUTH))


@scenario("etag-on-every-link-answer")
def _(c: Client) -> None:
    made = create(c, "https://example.com/etag")
    assert (made.status, made.header("etag")) == (201, '"r0"')
    again = create(c, "https://example.com/etag")
    assert (again.status, again.header("etag")) == (200, '"r0"')
    code = made.json()["code"]
    get = c.get(f"/api/links/{code}")
    assert get.header("etag") == '"r0"'
    assert_head_answers_as_get(c.head(f"/api/links/{code}"), get)
    assert patch(c, code, {"title": "once"}).header("etag") == '"r1"'
    c.get(f"/{code}")  # a hit is no edit
    assert c.get(f"/api/links/{code}").header("etag") == '"r1"'
    cached = c.get(f"/api/links/{code}", headers={"If-None-Match": '"r1"'})
    assert cached.status == 200  # the hits move under one ETag: never a 304
    assert cached.json()["hits"] == 1
    assert c.get("/api/links", headers=AUTH).header("etag") is None


# -- redirects --------------------------------------------------------------------------


@scenario("e17-redirect-get-head-crawler")
def _(c: Client) -> None:
    code = created(c, "https://example.com/r")["code"]
    get = c.get(f"/{code}")
    assert_redirect(get, "https://example.com/r")
    assert get.header("content-type") is not None, "wsgiref.validate needs a Content-Type"
    head = c.head(f"/{code}")
    assert_head_answers_as_get(head, get)
    bot = c.get(
        f"/{code}",
        headers={"User-Agent": "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)"},
    )
    assert_redirect(bot, "https://example.com/r")
    assert hits(c, code) == 1  # the GET only: neither HEAD nor the crawler counted


@scenario("e17-head-of-pages")
def _(c: Client) -> None:
    for target in ("/", "/healthz", "/nope123", "/api/openapi.json"):
        get, head = c.get(target), c.head(target)
        assert_head_answers_as_get(head, get)


@scenario("not-found-page")
def _(c: Client) -> None:
    r = c.get("/nope123")
    assert_html(r, 404)
    r = c.get("/<script>x")
    assert r.status in (400, 404)
    assert "<script>x" not in r.text


for _status in ("301", "307", "308"):

    def _redirect_status(c: Client, status: int = int(_status)) -> None:
        code = created(c, "https://example.com/s")["code"]
        assert_redirect(c.get(f"/{code}"), "https://example.com/s", status)
        head = c.head(f"/{code}")
        assert head.status == status
        assert head.body == b""

    SCENARIOS.append(
        Scenario(
            f"e16-redirect-status-{_status}",
            _redirect_status,
            env={"MINILINK_REDIRECT_STATUS": _status},
        )
    )


@scenario("preview")
def _(c: Client) -> None:
    code = created(c, "https://example.com/p?a=1&b=<2>")["code"]
    r = c.get(f"/{code}+")
    assert_html(r, 200)
    assert f"http://testserver/{code}" in r.text
    assert "<2>" not in r.text
    assert "<svg" in r.text
    assert hits(c, code) == 0
    assert_html(c.get("/nope123+"), 404)


@scenario("qr-code-svg")
def _(c: Client) -> None:
    code = created(c, "https://example.com/qr")["code"]
    r = c.get(f"/{code}.svg")
    assert r.status == 200, (r.status, r.body[:200])
    assert r.header("content-type") == "image/svg+xml"
    assert r.header("x-content-type-options") == "nosniff"
    assert "default-src 'none'" in (r.header("content-security-policy") or "")
    assert_length(r)
    assert r.body.startswith(b"<?xml") and b"<svg" in r.body
    assert f"QR code of http://testserver/{code}".encode() in r.body
    head = c.head(f"/{code}.svg")
    assert_head_answers_as_get(head, r)  # not the server's Date, which may tick between
    assert hits(c, code) == 0
    assert_html(c.get("/nope123.svg"), 404)
    assert c.request("DELETE", f"/api/links/{code}", headers=AUTH).status == 204
    assert_html(c.get(f"/{code}.svg"), 410)


@scenario("healthz")
def _(c: Client) -> None:
    r = c.get("/healthz")
    assert r.status == 200
    assert r.body == b"ok"
    assert (r.header("content-type") or "").startswith("text/plain")
    assert r.header("content-length") == "2"


@scenario("robots-txt")
def _(c: Client) -> None:
    r = c.get("/robots.txt")
    assert r.status == 200
    assert r.header("content-type") == "text/plain; charset=utf-8"
    assert b"Disallow: " in r.body and b"/api/" in r.body  # under a mount, with its prefix
    assert c.request("POST", "/robots.txt", headers={"Content-Type": "text/plain"}).status == 405


@scenario("method-not-allowed")
def _(c: Client) -> None:
    r = c.request("PUT", "/api/links")
    assert_error(r, 405, "method_not_allowed")
    assert {m.strip() for m in (r.header("allow") or "").split(",")} >= {"GET", "POST"}
    r = c.request("PATCH", "/")
    assert r.status == 405
    assert "POST" in (r.header("allow") or "")
    assert r.header("content-type") == HTML_TYPE
    r = c.request("POST", "/healthz", headers={"Content-Type": "text/plain"}, body=b"x")
    assert r.status == 405
    assert "GET" in (r.header("allow") or "")
    code = created(c, "https://example.com/m")["code"]
    r = c.request("POST", f"/{code}")
    assert r.status == 405
    assert "GET" in (r.header("allow") or "")
    r = c.request("PUT", f"/api/links/{code}")
    assert_error(r, 405, "method_not_allowed")
    assert "DELETE" in (r.header("allow") or "")
    assert c.get(f"/{code}").status == 302


@scenario("create-token", env={"MINILINK_CREATE_TOKEN": "create-secret"})
def _(c: Client) -> None:
    assert_error(create(c, "https://example.com/"), 401, "unauthorized")
    wrong = {"Authorization": "Bearer nope"}
    assert_error(create(c, "https://example.com/", headers=wrong), 401, "unauthorized")
    r = c.request("POST", "/", headers=FORM, body=b"url=https%3A%2F%2Fexample.com%2F")
    assert r.status == 401
    assert_store_empty(c)
    ok = create(c, "https://example.com/", headers={"Authorization": "Bearer create-secret"})
    assert ok.status == 201


@scenario("rate-limit", env={"MINILINK_RATE_LIMIT": "2/60"})
def _(c: Client) -> None:
    created(c, "https://example.com/1")
    created(c, "https://example.com/2")
    r = create(c, "https://example.com/3")
    assert_error(r, 429, "rate_limited")
    retry = r.header("retry-after") or ""
    assert retry.isdigit()
    assert 0 < int(retry) <= 60
    assert len(all_links(c)) == 2
    c.clock.advance(60)
    created(c, "https://example.com/3")


@scenario("e10-forwarded-for-spoof-ignored", env={"MINILINK_RATE_LIMIT": "1/60"})
def _(c: Client) -> None:
    created(c, "https://example.com/1", headers={"X-Forwarded-For": "203.0.113.1"})
    for spoof in ("X-Forwarded-For", "X_Forwarded_For"):
        r = create(c, "https://example.com/2", headers={spoof: "198.51.100.7"})
        assert_error(r, 429, "rate_limited")
    # An untrusted X-Forwarded-Proto does not change the scheme of short URLs either.
    c.clock.advance(60)
    link = created(c, "https://example.com/3", headers={"X-Forwarded-Proto": "https"})
    assert link["short_url"].startswith("http://testserver/")


@scenario("trusted-proxy", env={"MINILINK_TRUSTED_PROXIES": "127.0.0.1"})
def _(c: Client) -> None:
    link = created(c, "https://example.com/tp", headers={"X-Forwarded-Proto": "https"})
    assert link["short_url"].startswith("https://testserver/")


@scenario("base-url", env={"MINILINK_BASE_URL": "https://sho.rt/s/"})
def _(c: Client) -> None:
    link = created(c, "https://example.com/b")
    assert link["short_url"] == f"https://sho.rt/s/{link['code']}"
    assert_error(create(c, "https://sho.rt/s/abc"), 400, "invalid_url")


# -- mounting (e2) and paths (e1, e3-e6) ---------------------------------------------------


def _mounted(c: Client) -> None:
    for target in ("/s", "/s/"):
        assert_html(c.get(target), 200)
    assert c.get("/s").body == c.get("/s/").body
    r = c.post_json("/s/api/links", {"url": "https://example.com/m"})
    assert r.status == 201, r.body
    link = r.json()
    assert link["short_url"] == f"http://testserver/s/{link['code']}"
    assert r.header("location") == link["short_url"]
    assert_redirect(c.get(f"/s/{link['code']}"), "https://example.com/m")
    assert_redirect(c.get(f"/s/{link['code']}/"), "https://example.com/m")
    form = c.request("POST", "/s/", headers=FORM, body=b"url=https%3A%2F%2Fexample.com%2Ff")
    assert form.status == 303
    assert (form.header("location") or "").startswith("http://testserver/s/")
    assert c.get("/s/healthz").body == b"ok"
    # Self-links are recognised with the prefix too.
    assert_error(
        c.post_json("/s/api/links", {"url": f"http://testserver/s/{link['code']}"}),
        400,
        "invalid_url",
    )


SCENARIOS.append(Scenario("e2-mounted-under-s", _mounted, root="/s"))
SCENARIOS.append(
    Scenario("e2-mounted-asgi-path-without-root", _mounted, root="/s", path_includes_root=False)
)


@scenario("e1-trailing-slash-and-root")
def _(c: Client) -> None:
    code = created(c, "https://example.com/t")["code"]
    a, b = c.get(f"/{code}"), c.get(f"/{code}/")
    assert a.status == b.status == 302
    assert app_headers(a) == app_headers(b)
    assert c.get("/").status == 200


@scenario("e3-encoded-slash")
def _(c: Client) -> None:
    code = created(c, "https://example.com/x", alias="a")["code"]
    # Every server decodes %2F before the app sees the path: /a%2Fb is /a/b.
    assert c.get("/a%2Fb").status == 404
    assert c.get(f"/{code}%2F").status == 302
    assert c.get("/api%2Flinks", headers=AUTH).status == 200


@scenario("e4-utf8-path")
def _(c: Client) -> None:
    r = c.get("/caf%C3%A9")
    assert r.status in (400, 404)
    raw = c.get("/café")
    assert raw.status == r.status
    assert raw.body == r.body


@scenario("e5-invalid-utf8-path")
def _(c: Client) -> None:
    assert_html(c.get("/%FF"), 400)
    assert c.get("/%FF+").status == 400
    assert_error(c.get("/api/links/%FF"), 400, "bad_request")
    assert_error(c.get("/api/links/%C3%28/stats"), 400, "bad_request")


@scenario("e6-dot-and-empty-segments")
def _(c: Client) -> None:
    code = created(c, "https://example.com/dots")["code"]
    for target in (f"//{code}", f"/./{code}", f"/../{code}", f"/x/../{code}", f"/{code}/."):
        assert_redirect(c.get(target), "https://example.com/dots")


@scenario("e7-non-ascii-query")
def _(c: Client) -> None:
    r = c.get("/?url=https://example.com/ü")
    assert_html(r, 200)
    code = created(c, "https://example.com/q")["code"]
    assert c.get(f"/{code}?ü=ö").status == 302
    assert_error(c.get(f"/api/links/{code}/stats?days=ü"), 400, "bad_request")
    assert c.get("/api/links?limit=%FF", headers=AUTH).status == 400


@scenario("e8-query-parsing")
def _(c: Client) -> None:
    cases = {
        "/?url=a+b": "a b",
        "/?url=a%20b": "a b",
        "/?url=a%2Bb": "a+b",
        "/?url=https%3A%2F%2Fexample.com%2F%3Fq%3D1%26r%3D2": "https://example.com/?q=1&amp;r=2",
    }
    for target, shown in cases.items():
        r = c.get(target)
        assert r.status == 200
        assert shown in r.text, (target, shown)
    assert c.get("/?").body == c.get("/").body
    assert c.get("/?url=").body == c.get("/").body
    code = created(c, "https://example.com/q")["code"]
    for query in ("days=1&days=2", "days=", "days", "&&", "days=7&x"):
        r = c.get(f"/api/links/{code}/stats?{query}")
        assert r.status in (200, 400), (query, r.status)


@scenario("e9-duplicate-headers")
def _(c: Client) -> None:
    two_auth = [("Authorization", f"Bearer {ADMIN}"), ("Authorization", f"Bearer {ADMIN}")]
    assert_error(c.get("/api/links", headers=two_auth), 401, "unauthorized")
    r = c.get("/", headers=[("Cookie", "a=1"), ("Cookie", "b=2"), ("Accept", "a"), ("Accept", "b")])
    assert r.status == 200
    two_types = [("Content-Type", "application/json"), ("Content-Type", "application/json")]
    r = c.request("POST", "/api/links", headers=two_types, body=b'{"url": "https://example.com/"}')
    assert r.status in (400, 415)
    assert_store_empty(c)


@scenario("e22-internal-error", wrap_store=FailingStore, allow_5xx=True)
def _(c: Client) -> None:
    r = c.get("/somecode")
    assert r.status == 500
    assert_length(r)
    assert b"deliberate" not in r.body
    assert b"Traceback" not in r.body
    api = c.get("/api/links/somecode")
    assert api.status == 500
    assert c.get("/healthz").status in (200, 500, 503)


@scenario("e24-https")
def _(c: Client) -> None:
    r = c.post_json("/api/links", {"url": "https://example.com/h"}, scheme="https")
    link = r.json()
    assert link["short_url"] == f"https://testserver/{link['code']}"
    form = c.request(
        "POST", "/", headers=FORM, body=b"url=https%3A%2F%2Fexample.com%2F", scheme="https"
    )
    assert (form.header("location") or "").startswith("https://testserver/")


@scenario("e25-host-fallback")
def _(c: Client) -> None:
    link = c.post_json("/api/links", {"url": "https://example.com/h"}, host=None).json()
    assert link["short_url"] == f"http://testserver/{link['code']}"
    other = c.post_json("/api/links", {"url": "https://example.com/h2"}, host=None, scheme="https")
    assert other.json()["short_url"].startswith("https://testserver/")
    ported = c.post_json("/api/links", {"url": "https://example.com/h3"}, host="testserver:8080")
    assert ported.json()["short_url"].startswith("http://testserver:8080/")
    bad = c.post_json("/api/links", {"url": "https://example.com/h4"}, host="evil host/<x>")
    assert bad.status in (201, 400)
    if bad.status == 201:
        assert "<x>" not in bad.json()["short_url"]


@scenario("e26-no-client-address", env={"MINILINK_RATE_LIMIT": "1/60"})
def _(c: Client) -> None:
    r = c.post_json("/api/links", {"url": "https://example.com/anon"}, remote_addr=None)
    assert r.status == 201
    code = r.json()["code"]
    assert c.get(f"/{code}", remote_addr=None).status == 302


# -- SPEC section 9 at redirect time: link options and password-protected links ----------
#
# Links are made through the JSON API, with an alias, so that every adapter makes the
# same link; the hits of an expired link are read from the admin list (state=all).

SECRET = "https://secret.example/t0p?k=v"
PASSWORD = "open sesame"


def made(c: Client, code: str, url: str, **options: Any) -> None:
    """The link ``code`` to ``url`` with ``options`` (the JSON API's names)."""
    r = create(c, url, alias=code, headers=AUTH, **options)
    assert r.status == 201, (r.status, r.body[:300])


def stored_hits(c: Client, code: str) -> int:
    """Hits of ``code`` in any state, expired links included."""
    r = c.get("/api/links?state=all&limit=1000", headers=AUTH)
    assert r.status == 200, r.body[:300]
    (link,) = [each for each in r.json()["links"] if each["code"] == code]
    return int(link["hits"])


def assert_reveals_nothing(r: Result) -> None:
    for piece in ("secret.example", "t0p", "k=v"):
        assert piece.encode() not in r.body, piece
        assert all(piece not in value for _, value in r.headers), (piece, r.headers)


def password_post(c: Client, code: str, password: str, **kwargs: Any) -> Result:
    body = urlencode({"password": password}).encode()
    headers = {**FORM, **kwargs.pop("headers", {})}
    return c.request("POST", f"/{code}{kwargs.pop('query', '')}", headers=headers, body=body)


@scenario("option-redirect-status")
def _(c: Client) -> None:
    for status in (301, 302, 307, 308):
        made(c, f"st{status}", f"https://example.com/{status}", redirect_status=status)
    for status in (301, 302, 307, 308):
        assert_redirect(c.get(f"/st{status}"), f"https://example.com/{status}", status)
        head = c.head(f"/st{status}")
        assert (head.status, head.header("location")) == (status, f"https://example.com/{status}")
    assert hits(c, "st308") == 1


@scenario("option-forward-query", env={"MINILINK_MAX_URL_LENGTH": "200"})
def _(c: Client) -> None:
    made(c, "fq", "https://example.com/p?a=1&b=2#top", forward_query=True)
    made(c, "nofq", "https://example.com/p?a=1")
    assert_redirect(c.get("/fq?b=9&c=3"), "https://example.com/p?a=1&b=9&c=3#top")
    assert_redirect(c.get("/fq"), "https://example.com/p?a=1&b=2#top")
    # Escapes as normalise_url writes them (upper-case hex), the result pure ASCII.
    assert_redirect(c.get("/fq?q=caf%c3%a9"), "https://example.com/p?a=1&b=2&q=caf%C3%A9#top")
    assert_redirect(c.get("/fq?x=%23y"), "https://example.com/p?a=1&b=2&x=%23y#top")
    assert_redirect(c.get("/nofq?a=2"), "https://example.com/p?a=1")
    assert hits(c, "fq") == 4
    too_long = c.get("/fq?q=" + "x" * 200)
    assert_html(too_long, 400)
    assert too_long.header("location") is None
    assert hits(c, "fq") == 4


@scenario("option-fallback")
def _(c: Client) -> None:
    made(c, "fbx", "https://example.com/x", expires_in=60, fallback_url="https://example.com/over")
    made(c, "fbu", "https://example.com/u", max_visits=1, fallback_url="https://example.com/over")
    made(c, "fbd", "https://example.com/d", fallback_url="https://example.com/over")
    assert_redirect(c.get("/fbx"), "https://example.com/x")
    assert_redirect(c.get("/fbu"), "https://example.com/u")
    assert_redirect(c.get("/fbu"), "https://example.com/over")
    c.clock.advance(60)
    for _ in range(2):
        assert_redirect(c.get("/fbx"), "https://example.com/over")
    head = c.head("/fbx")
    assert (head.status, head.header("location")) == (302, "https://example.com/over")
    assert stored_hits(c, "fbx") == 1
    assert stored_hits(c, "fbu") == 1
    assert c.delete("/api/links/fbd", headers=AUTH).status == 204
    assert_html(c.get("/fbd"), 410)


@scenario("option-preview")
def _(c: Client) -> None:
    made(
        c,
        "pv",
        "https://example.com/",
        redirect_status=307,
        forward_query=True,
        fallback_url="https://example.com/<later>",
    )
    page = c.get("/pv+")
    assert_html(page, 200)
    assert '<dd id="redirect-status">307 Temporary Redirect</dd>' in page.text
    assert '<dd id="forward-query">Added to the target</dd>' in page.text
    assert "https://example.com/%3Clater%3E" in page.text
    assert hits(c, "pv") == 0


@scenario("password-form")
def _(c: Client) -> None:
    made(c, "pw", SECRET, password=PASSWORD, forward_query=True, redirect_status=308)
    get = c.get("/pw?x=1")
    assert_html(get, 200)
    assert get.header("cache-control") == "no-store"
    assert get.header("location") is None
    assert 'type="password"' in get.text and '<form method="post">' in get.text
    assert_reveals_nothing(get)
    assert_head_answers_as_get(c.head("/pw?x=1"), get)
    assert hits(c, "pw") == 0
    wrong = password_post(c, "pw", "open sesam")
    assert_html(wrong, 403)
    assert 'id="password-error"' in wrong.text and "open sesam" not in wrong.text
    assert_reveals_nothing(wrong)
    assert hits(c, "pw") == 0
    right = password_post(c, "pw", PASSWORD, query="?x=1")
    assert right.status == 303, (right.status, right.body[:300])
    assert right.header("location") == SECRET + "&x=1"
    assert hits(c, "pw") == 1


@scenario("password-malformed")
def _(c: Client) -> None:
    made(c, "pw", SECRET, password=PASSWORD)
    for body in (b"", b"password=", b"other=1", b"password=a&password=b", b"password=%FF"):
        r = c.request("POST", "/pw", headers=FORM, body=body)
        assert_html(r, 400)
        assert_reveals_nothing(r)
    json = c.post_json("/pw", {"password": PASSWORD})
    assert_html(json, 415)
    plain = c.request("POST", "/plain-or-not", headers=FORM, body=b"password=x")
    assert_html(plain, 405)
    made(c, "open", "https://example.com/open")
    assert c.request("POST", "/open", headers=FORM, body=b"password=x").status == 405
    assert password_post(c, "pw", PASSWORD).status == 303  # none of that spent a guess


@scenario("password-limited")
def _(c: Client) -> None:
    made(c, "pw", SECRET, password=PASSWORD)
    cross = password_post(c, "pw", "nope", headers={"Origin": "https://evil.example"})
    assert_html(cross, 403)
    for _ in range(5):
        assert_html(password_post(c, "pw", "nope"), 403)
    limited = password_post(c, "pw", PASSWORD)
    assert_html(limited, 429)
    assert limited.header("retry-after") == "60"
    assert limited.header("cache-control") == "no-store"
    assert_reveals_nothing(limited)
    assert hits(c, "pw") == 0
    c.clock.advance(60)
    assert password_post(c, "pw", PASSWORD).status == 303
    assert hits(c, "pw") == 1


@scenario("password-preview-and-qr")
def _(c: Client) -> None:
    made(c, "pw", SECRET, password=PASSWORD, fallback_url="https://secret.example/over")
    page = c.get("/pw+")
    assert_html(page, 200)
    assert 'id="protected"' in page.text and 'id="target"' not in page.text
    assert_reveals_nothing(page)
    qr = c.get("/pw.svg")
    if qr.status == 200:  # with the qr extra
        assert qr.header("content-type") == "image/svg+xml"
        assert_reveals_nothing(qr)
    else:
        assert_html(qr, 404)
    assert hits(c, "pw") == 0


# Last, so that every scenario above is registered. The subprocess run is the truth
# about CGI (the environment as bytes, the state carried between processes); the
# in-process run is the same adapter code, fast enough for the quick loop.
@pytest.mark.parametrize("in_process_cgi", CGI_RUNS)
@pytest.mark.parametrize("case", [pytest.param(s, id=s.id) for s in SCENARIOS])
def test_same_answer_everywhere(case: Scenario, in_process_cgi: bool, tmp_path: Path) -> None:
    run_scenario(case, tmp_path, in_process_cgi=in_process_cgi)
