"""Headers of every kind of answer, and errors that give nothing away.

Every page minilink can show (the form, its errors, the preview, the QR code, every
error page from 400 to 503) is requested through CGI, WSGI and ASGI, and each answer
is checked by its kind:

* HTML: a ``Content-Security-Policy`` of ``default-src 'none'`` with scripts and
  styles allowed only by hash (no ``'unsafe-inline'``, no ``'unsafe-eval'``, no
  wildcard), every inline ``<script>`` and ``<style>`` of the page matching one of
  those hashes, no inline event handler or ``style`` attribute, ``frame-ancestors
  'none'``, ``X-Content-Type-Options: nosniff``, a ``Referrer-Policy`` and
  ``text/html; charset=utf-8``;
* JSON: ``application/json; charset=utf-8``, ``nosniff`` and ``no-store``;
* plain text and SVG: their charset or type, and ``nosniff``.

Stores that fail with a message full of secrets (a path, SQL, a password) show that
neither the 503 of an unavailable store nor the 500 of a bug repeats any of it, and
no answer anywhere shows a traceback, a Python file or a SQL statement.
"""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path
from typing import Any, Callable

import pytest
from _leaky_store import FRAGMENTS, BrokenStore, UnavailableStore
from _reliability import record
from helpers import AUTH, CGI_RUNS, SERVER_HEADERS, Scenario, run_scenario

from minilink.testing.clients import Client, Result

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
REFERRER_POLICIES = {
    "no-referrer",
    "same-origin",
    "strict-origin",
    "strict-origin-when-cross-origin",
}
LEAKS = re.compile(
    rb"Traceback|File \"|\.py\b|/tmp/|/home/|/srv/|sqlite3?\.|SELECT |INSERT |UPDATE |"
    rb"OperationalError|line \d+, in"
)
INLINE = {
    "script": re.compile(rb"<script>(.*?)</script>", re.S),
    "style": re.compile(rb"<style>(.*?)</style>", re.S),
}


def _sha256(text: bytes) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text).digest()).decode() + "'"


def csp(value: str) -> dict[str, list[str]]:
    directives: dict[str, list[str]] = {}
    for part in value.split(";"):
        words = part.split()
        if words:
            assert words[0] not in directives, f"{words[0]} given twice"
            directives[words[0]] = words[1:]
    return directives


def check(result: Result, where: str) -> str:
    """Check ``result`` by its kind; return the kind."""
    body = result.body
    assert not LEAKS.search(body), (where, LEAKS.search(body), body[:400])
    for fragment in FRAGMENTS:
        assert fragment.encode() not in body, (where, fragment)
        for name, value in result.headers:
            assert fragment not in value, (where, name, fragment)
    kind = result.header("content-type")
    if 300 <= result.status < 400 or result.status == 204:
        assert body == b"", where
        return "redirect" if result.status != 204 else "empty"
    assert kind, (where, "no Content-Type")
    assert result.header("x-content-type-options") == "nosniff", (where, result.headers)
    if kind.startswith("text/html"):
        check_html(result, where)
        return "html"
    if kind.startswith("application/json"):
        assert kind == "application/json; charset=utf-8", (where, kind)
        assert result.header("cache-control") == "no-store", where
        return "json"
    if kind.startswith("image/svg+xml"):
        policy = csp(result.header("content-security-policy") or "")
        assert policy.get("default-src") == ["'none'"], where
        assert not INLINE["script"].search(body), where
        return "svg"
    assert kind == "text/plain; charset=utf-8", (where, kind)
    return "text"


def check_html(result: Result, where: str) -> None:
    assert result.header("content-type") == "text/html; charset=utf-8", where
    assert result.header("referrer-policy") in REFERRER_POLICIES, where
    assert result.header("x-frame-options") == "DENY", where
    policy = csp(result.header("content-security-policy") or "")
    assert policy.get("default-src") == ["'none'"], (where, policy)
    assert policy.get("frame-ancestors") == ["'none'"], (where, policy)
    assert policy.get("base-uri") == ["'none'"], (where, policy)
    assert policy.get("form-action") == ["'self'"], (where, policy)
    for directive in ("script-src", "style-src"):
        sources = policy.get(directive, [])
        assert all(s.startswith("'sha256-") for s in sources), (where, directive, sources)
    for tag, pattern in INLINE.items():
        allowed = set(policy.get(f"{tag}-src", []))
        for content in pattern.findall(result.body):
            assert _sha256(content) in allowed, (where, f"an inline {tag} without its hash")
    html = result.body.decode("utf-8")
    assert html.count("<script") == len(INLINE["script"].findall(result.body)), where
    # Handlers and style attributes would be blocked by the policy: none are relied on.
    assert not re.search(r"<[^>]*\son\w+\s*=", html), (where, "an inline event handler")
    assert not re.search(r"<[^>]*\sstyle\s*=", html), (where, "a style attribute")
    for href in re.findall(r'href="([^"]*)"', html):
        if href.lower().startswith("javascript:"):
            assert 'class="bookmarklet"' in html, where  # dragged away, never run here


def _every_page(c: Client) -> None:
    kinds: dict[str, set[int]] = {}

    def see(result: Result, where: str) -> Result:
        kinds.setdefault(check(result, where), set()).add(result.status)
        return result

    made = see(c.post_json("/api/links", {"url": "https://example.com/p?a=1&b=2"}), "create")
    code = made.json()["code"]
    gone = see(c.post_json("/api/links", {"url": "https://example.com/gone"}), "create")
    gone_code = gone.json()["code"]
    see(c.delete(f"/api/links/{gone_code}", headers=AUTH), "delete")
    body = b"url=https%3A%2F%2Fexample.com%2Fform"
    for where, result in (
        ("home", c.get("/")),
        ("home prefilled", c.get("/?url=https%3A%2F%2Fexample.com%2F")),
        ("form created", c.request("POST", "/", headers=FORM, body=body)),
        ("form error", c.request("POST", "/", headers=FORM, body=b"url=javascript:x")),
        (
            "form alias taken",
            c.request("POST", "/", headers=FORM, body=body + b"&alias=" + code.encode()),
        ),
        (
            "form cross-site",
            c.request("POST", "/", headers={**FORM, "Origin": "https://e.x"}, body=body),
        ),
        (
            "form too large",
            c.request("POST", "/", headers={**FORM, "Content-Length": "99999"}, body=body),
        ),
        (
            "form wrong type",
            c.request("POST", "/", headers={"Content-Type": "text/plain"}, body=body),
        ),
        ("preview", c.get(f"/{code}+")),
        ("qr", c.get(f"/{code}.svg")),
        ("redirect", c.get(f"/{code}")),
        ("head redirect", c.head(f"/{code}")),
        ("404", c.get("/nope123")),
        ("404 preview", c.get("/nope123+")),
        ("410", c.get(f"/{gone_code}")),
        ("410 preview", c.get(f"/{gone_code}+")),
        ("400 path", c.get("/%FF")),
        ("400 host", c.get("/", headers={"Host": "bad host"})),
        ("405", c.request("PUT", "/")),
        ("healthz", c.get("/healthz")),
        ("api 404", c.get("/api/links/nope123")),
        ("api 410", c.get(f"/api/links/{gone_code}")),
        ("api 401", c.get("/api/links")),
        ("api 405", c.request("PUT", "/api/links")),
        ("api 400", c.get("/api/links?limit=x", headers=AUTH)),
        ("api 415", c.request("POST", "/api/links", headers={"Content-Type": "text/plain"})),
        (
            "api 413",
            c.request(
                "POST",
                "/api/links",
                headers={"Content-Type": "application/json", "Content-Length": "99999"},
            ),
        ),
        ("api list", c.get("/api/links", headers=AUTH)),
        ("api stats", c.get(f"/api/links/{code}/stats")),
        ("openapi", c.get("/api/openapi.json")),
    ):
        see(result, where)
    for i in range(3):  # the rate limit: 8 a minute here, 7 used above
        r = c.post_json("/api/links", {"url": f"https://example.com/r{i}"})
        see(r, f"rate {i}")
    assert r.status == 429
    limited = see(c.request("POST", "/", headers=FORM, body=b"url=https%3A%2F%2Fa.b%2F"), "429")
    assert limited.status == 429
    assert kinds["redirect"] >= {302, 303}
    assert kinds["html"] >= {200, 400, 403, 404, 405, 409, 410, 413, 415, 429}
    assert kinds["json"] >= {200, 201, 400, 401, 404, 405, 410, 413, 415, 429}
    assert "svg" in kinds
    assert "text" in kinds


def _unavailable(c: Client) -> None:
    for where, result in (
        ("redirect", c.get("/abc")),
        ("preview", c.get("/abc+")),
        ("api get", c.get("/api/links/abc")),
        ("api create", c.post_json("/api/links", {"url": "https://example.com/"})),
        ("form", c.request("POST", "/", headers=FORM, body=b"url=https%3A%2F%2Fa.b%2F")),
        ("health", c.get("/healthz")),
    ):
        check(result, where)
        assert result.status == 503, (where, result.status)
        assert result.header("retry-after"), where
        assert b"The store is unavailable; try again shortly." in result.body or (
            where == "health"
        ), (where, result.body[:300])
    assert c.get("/").status == 200  # the form needs no store


def _broken(c: Client) -> None:
    for where, result in (
        ("redirect", c.get("/abc")),
        ("api get", c.get("/api/links/abc")),
        ("api create", c.post_json("/api/links", {"url": "https://example.com/"})),
        ("form", c.request("POST", "/", headers=FORM, body=b"url=https%3A%2F%2Fa.b%2F")),
    ):
        check(result, where)
        assert result.status == 500, (where, result.status)


CASES: list[tuple[str, Callable[[Client], Any], dict[str, Any]]] = [
    ("every-page", _every_page, {"env": {"MINILINK_RATE_LIMIT": "8/60"}}),
    ("store-unavailable", _unavailable, {"wrap_store": UnavailableStore, "allow_5xx": True}),
    ("store-bug", _broken, {"wrap_store": BrokenStore, "allow_5xx": True}),
]


@pytest.mark.parametrize("in_process_cgi", CGI_RUNS)
@pytest.mark.parametrize(("name", "case", "options"), CASES, ids=[c[0] for c in CASES])
def test_headers_and_no_leaks(
    name: str,
    case: Callable[[Client], Any],
    options: dict[str, Any],
    in_process_cgi: bool,
    tmp_path: Path,
) -> None:
    scenario = Scenario(name, case, **options)
    transcripts = run_scenario(scenario, tmp_path, in_process_cgi=in_process_cgi)
    for adapter, history in transcripts.items():
        for request, result in history:
            names = {n for n, _ in result.headers} - SERVER_HEADERS
            assert "server" not in names and "x-powered-by" not in names, (adapter, request)
    record(f"headers ({name}): {sum(map(len, transcripts.values()))} answers checked")
