"""Abuse controls: rate limits, tokens, unguessable codes, tombstones, block lists, CSRF.

* The creation rate limit counts per client: the peer's address, or the address a
  trusted proxy put in ``X-Forwarded-For`` (the last one that is not itself a
  trusted proxy, so a client cannot spoof its way out by prepending addresses). Run
  for real: through gunicorn, and through CGI processes sharing the counters in the
  SQLite file.
* Tokens are read from ``Authorization: Bearer`` only, never from a query, a cookie,
  another header or a form field, and are compared with ``hmac.compare_digest``.
* Codes come from a cryptographic source: 1,000 consecutive creates show no shared
  prefixes, no steps between neighbours, and characters spread evenly (chi-square)
  over every position.
* A deleted code stays taken for good, also when the code space is tiny.
* ``MINILINK_BLOCKED_HOSTS`` blocks hosts and all their subdomains, IDN names too.
* The HTML form refuses cross-site posts in a real browser (headless Chromium),
  while this site's own form keeps working.
"""

from __future__ import annotations

import hmac
import json
import math
import os
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable

import pytest
from _reliability import Gunicorn, cgi, http, record
from helpers import BASE_ENV, CGI_RUNS, Scenario, all_links, assert_error, run_scenario

from minilink.core.app import App
from minilink.core.config import DEFAULT_ALPHABET, Config
from minilink.core.http import Request
from minilink.core.service import Shortener
from minilink.storage.memory import MemoryStore
from minilink.storage.sqlite import SQLiteStore
from minilink.testing.clients import Client, WSGIClient


def rate(count: int) -> str:
    """``MINILINK_RATE_LIMIT`` for ``count`` creations in a window of about a day,
    chosen so that no window boundary falls within the next two minutes (the limit
    counts in fixed windows of real time)."""
    now = time.time()
    for window in (86_400, 86_399):
        if window - now % window > 120:
            return f"{count}/{window}"
    raise AssertionError("unreachable: the two windows' boundaries are a second apart")


def post(port: int, url: str, forwarded: str) -> int:
    body = json.dumps({"url": url}).encode()
    return http(
        port, "POST", "/api/links", body=body, headers={"X-Forwarded-For": forwarded}
    ).status


# -- the rate limit ----------------------------------------------------------------------


def test_rate_limit_per_client_behind_a_trusted_proxy(tmp_path: Path) -> None:
    server = Gunicorn(
        str(tmp_path / "links.db"),
        workers=2,
        threads=2,
        MINILINK_RATE_LIMIT=rate(3),
        MINILINK_TRUSTED_PROXIES="127.0.0.1, 10.0.0.0/8",
    )
    try:
        a, b = "203.0.113.1", "198.51.100.2"
        assert [post(server.port, f"https://example.com/a{i}", a) for i in range(3)] == [201] * 3
        limited = http(
            server.port,
            "POST",
            "/api/links",
            body=b'{"url": "https://example.com/a3"}',
            headers={"X-Forwarded-For": a},
        )
        assert limited.status == 429
        assert limited.json()["error"]["code"] == "rate_limited"
        assert (limited.header("retry-after") or "").isdigit()
        # Another client behind the same proxy has its own allowance.
        assert post(server.port, "https://example.com/b0", b) == 201
        # A client cannot escape by prepending addresses: the proxy appends the real
        # one, and trusted proxies (10.0.0.0/8 here) in between are skipped.
        for chain in (f"198.51.100.77, {a}", f"{a}, 10.1.2.3", f"1.2.3.4, {a}, 10.0.0.1"):
            assert post(server.port, "https://example.com/spoof", chain) == 429, chain
        assert post(server.port, "https://example.com/b1", f"203.0.113.9, {b}") == 201
    finally:
        server.stop()
    record("rate limit through gunicorn behind a trusted proxy: per client, spoofing refused")


def test_rate_limit_ignores_forwarding_from_untrusted_peers(tmp_path: Path) -> None:
    server = Gunicorn(
        str(tmp_path / "links.db"),
        workers=1,
        threads=2,
        MINILINK_RATE_LIMIT=rate(2),
        MINILINK_TRUSTED_PROXIES="10.0.0.0/8",  # the test's 127.0.0.1 is not a proxy
    )
    try:
        statuses = [
            post(server.port, f"https://example.com/u{i}", f"203.0.113.{i}") for i in range(4)
        ]
    finally:
        server.stop()
    assert statuses == [201, 201, 429, 429]


def test_rate_limit_across_cgi_processes(tmp_path: Path) -> None:
    store = str(tmp_path / "links.db")
    env = {"MINILINK_RATE_LIMIT": rate(2)}

    def create(i: int, address: str) -> int:
        answer, _ = cgi(
            store,
            "POST",
            "/api/links",
            body=json.dumps({"url": f"https://example.com/c{i}"}).encode(),
            content_type="application/json",
            env={**env, "REMOTE_ADDR": address},
        )
        return answer.status

    assert [create(i, "192.0.2.1") for i in range(3)] == [201, 201, 429]
    assert create(3, "192.0.2.2") == 201
    # A forwarding header from an untrusted peer changes nothing.
    spoofed, _ = cgi(
        store,
        "POST",
        "/api/links",
        body=b'{"url": "https://example.com/c4"}',
        content_type="application/json",
        headers={"X-Forwarded-For": "192.0.2.99"},
        env={**env, "REMOTE_ADDR": "192.0.2.1"},
    )
    assert spoofed.status == 429


# -- tokens ------------------------------------------------------------------------------

ADMIN_TOKEN = BASE_ENV["MINILINK_ADMIN_TOKEN"]


def _tokens_elsewhere(c: Client) -> None:
    def refused(r: Any, where: str) -> None:
        assert r.status in (400, 401), (where, r.status)
        assert_error(r, r.status, "bad_request" if r.status == 400 else "unauthorized")

    for where, target, headers in (
        ("query token", f"/api/links?token={ADMIN_TOKEN}", {}),
        ("query access_token", f"/api/links?access_token={ADMIN_TOKEN}", {}),
        ("cookie", "/api/links", {"Cookie": f"token={ADMIN_TOKEN}"}),
        ("X-Api-Key", "/api/links", {"X-Api-Key": ADMIN_TOKEN}),
        ("X-Auth-Token", "/api/links", {"X-Auth-Token": ADMIN_TOKEN}),
        ("bare token", "/api/links", {"Authorization": ADMIN_TOKEN}),
        ("other scheme", "/api/links", {"Authorization": f"Token {ADMIN_TOKEN}"}),
        ("no space", "/api/links", {"Authorization": f"Bearer{ADMIN_TOKEN}"}),
        ("prefix", "/api/links", {"Authorization": f"Bearer {ADMIN_TOKEN[:-1]}"}),
        ("longer", "/api/links", {"Authorization": f"Bearer {ADMIN_TOKEN}x"}),
        ("proxy header", "/api/links", {"Proxy-Authorization": f"Bearer {ADMIN_TOKEN}"}),
    ):
        refused(c.get(target, headers=headers), where)
    assert c.get("/api/links", headers={"Authorization": f"bearer {ADMIN_TOKEN}"}).status == 200
    # Creating needs MINILINK_CREATE_TOKEN here, and only the header carries it.
    link = {"url": "https://example.com/t"}
    for where, target, headers in (
        ("query", f"/api/links?token={CREATE_TOKEN}", {}),
        ("cookie", "/api/links", {"Cookie": f"token={CREATE_TOKEN}"}),
        ("X-Api-Key", "/api/links", {"X-Api-Key": CREATE_TOKEN}),
    ):
        refused(c.post_json(target, link, headers=headers), where)
    form = f"url=https%3A%2F%2Fexample.com%2Ff&token={CREATE_TOKEN}".encode()
    kind = {"Content-Type": "application/x-www-form-urlencoded"}
    assert c.request("POST", "/", headers=kind, body=form).status == 401
    assert all_links(c) == []
    made = c.post_json("/api/links", link, headers={"Authorization": f"Bearer {CREATE_TOKEN}"})
    assert made.status == 201
    code = made.json()["code"]
    refused(c.delete(f"/api/links/{code}?token={ADMIN_TOKEN}"), "delete with a query token")
    refused(c.delete(f"/api/links/{code}", headers={"Cookie": f"t={ADMIN_TOKEN}"}), "cookie")
    assert c.get(f"/{code}").status == 302


CREATE_TOKEN = "create-token"


@pytest.mark.parametrize("in_process_cgi", CGI_RUNS)
def test_tokens_only_in_the_authorization_header(in_process_cgi: bool, tmp_path: Path) -> None:
    run_scenario(
        Scenario(
            "tokens-only-in-authorization",
            _tokens_elsewhere,
            env={"MINILINK_RATE_LIMIT": "0", "MINILINK_CREATE_TOKEN": CREATE_TOKEN},
        ),
        tmp_path,
        in_process_cgi=in_process_cgi,
    )


def test_tokens_are_compared_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    compared: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        compared.append((bytes(a), bytes(b)))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    config = Config(store="memory:", admin_token="admin-t", create_token="create-t")
    app = App(Shortener(MemoryStore(), config), config)
    body = b'{"url": "https://example.com/"}'
    for token, path, method in (
        ("admin-t", "/api/links", "GET"),
        ("wrong", "/api/links", "GET"),
        ("create-t", "/api/links", "POST"),
        ("nope", "/api/links", "POST"),
    ):
        headers = {"authorization": f"Bearer {token}", "host": "t"}
        if method == "POST":
            headers.update({"content-type": "application/json", "content-length": "31"})
        app.handle(Request(method=method, path=path, headers=headers, body=body))
    given = {a for a, _ in compared}
    assert {b"admin-t", b"wrong", b"create-t", b"nope"} <= given
    assert {b for _, b in compared} == {b"admin-t", b"create-t"}


# -- codes -------------------------------------------------------------------------------

CODES = 1000


def _chi_square(counts: Counter[str], alphabet: str) -> float:
    total = sum(counts.values())
    expected = total / len(alphabet)
    return sum((counts.get(c, 0) - expected) ** 2 / expected for c in alphabet)


def _chi_square_limit(df: int) -> float:
    """The chi-square value a fair source exceeds with probability about 1e-7
    (Wilson-Hilferty), so the test fails for a pattern, not for bad luck."""
    z = 5.2
    return float(df * (1 - 2 / (9 * df) + z * math.sqrt(2 / (9 * df))) ** 3)


def test_consecutive_codes_are_unpredictable() -> None:
    config = Config(store="memory:", rate_limit=0)
    store = MemoryStore()
    client = WSGIClient(App(Shortener(store, config), config))  # the real source
    codes = []
    for i in range(CODES):
        r = client.post_json("/api/links", {"url": f"https://example.com/{i}"})
        assert r.status == 201
        codes.append(r.json()["code"])
    store.close()
    alphabet = DEFAULT_ALPHABET
    assert len(set(codes)) == CODES
    assert all(len(code) == 7 and set(code) <= set(alphabet) for code in codes)
    pairs = list(zip(codes, codes[1:]))

    def shared_prefix(a: str, b: str) -> int:
        n = 0
        while n < len(a) and a[n] == b[n]:
            n += 1
        return n

    prefixes = Counter(shared_prefix(a, b) for a, b in pairs)
    # A fair source shares the first character about once in 56 neighbours
    # (about 18 times here) and two characters about once in 3,136.
    assert sum(n for length, n in prefixes.items() if length >= 1) <= 45, prefixes
    assert sum(n for length, n in prefixes.items() if length >= 2) <= 6, prefixes

    def number(code: str) -> int:
        value = 0
        for c in code:
            value = value * len(alphabet) + alphabet.index(c)
        return value

    steps = [number(b) - number(a) for a, b in pairs]
    assert len(set(steps)) >= len(steps) - 2, "neighbouring codes repeat one step"
    near = sum(1 for step in steps if abs(step) < len(alphabet) ** 3)
    assert near <= 2, f"{near} codes were within 56^3 of the one before"
    same_place = sum(x == y for a, b in pairs for x, y in zip(a, b))
    assert same_place <= 200, f"{same_place} characters repeated in place (about 125 fair)"
    limit = _chi_square_limit(len(alphabet) - 1)
    overall = _chi_square(Counter("".join(codes)), alphabet)
    assert overall < limit, (overall, limit)
    for position in range(7):
        chi = _chi_square(Counter(code[position] for code in codes), alphabet)
        assert chi < limit, (position, chi, limit)
    record(
        f"{CODES} consecutive codes: all distinct, {prefixes.get(0, 0)} of {len(pairs)} "
        f"neighbours share no first character, chi-square {overall:.1f} "
        f"(df {len(alphabet) - 1}, limit {limit:.1f})"
    )


def test_deleted_codes_are_never_reused(tmp_path: Path) -> None:
    config = Config(
        store=str(tmp_path / "links.db"),
        code_length=2,
        code_alphabet="ab",
        admin_token="admin-t",
        rate_limit=0,
    )
    store = SQLiteStore(tmp_path / "links.db")
    try:
        client = WSGIClient(App(Shortener(store, config), config))
        auth = {"Authorization": "Bearer admin-t"}
        first = []
        for i in range(40):
            r = client.post_json("/api/links", {"url": f"https://example.com/first/{i}"})
            assert r.status == 201, r.body
            first.append(r.json()["code"])
        for code in first:
            assert client.delete(f"/api/links/{code}", headers=auth).status == 204
        later = []
        for i in range(40):
            r = client.post_json("/api/links", {"url": f"https://example.com/later/{i}"})
            assert r.status == 201, r.body
            later.append(r.json()["code"])
        assert not set(first) & set(later), "a deleted code was given out again"
        for code in first:
            assert client.get(f"/{code}").status == 410
            again = client.post_json(
                "/api/links", {"url": "https://example.com/again", "alias": code}
            )
            assert again.status == 409
    finally:
        store.close()


# -- blocked hosts -----------------------------------------------------------------------


def _blocked(c: Client) -> None:
    for url in (
        "https://evil.example/",
        "https://EVIL.example./x",
        "https://a.b.evil.example/",
        "https://evil.example:8443/",
        "http://evil.example",
        "https://b\u00fccher.example/",
        "https://www.xn--bcher-kva.example/",
        "https://tracker.example/",
        "https://cdn.tracker.example/",
    ):
        assert_error(c.post_json("/api/links", {"url": url}), 400, "invalid_url")
    for url in (
        "https://notevil.example/",
        "https://evil.example.com/",
        "https://evil-example.org/",
        "https://example/",
        "https://xn--bcher-kva.example.org/",
    ):
        r = c.post_json("/api/links", {"url": url})
        assert r.status == 201, (url, r.body)
    assert len(all_links(c)) == 5


@pytest.mark.parametrize("in_process_cgi", CGI_RUNS)
def test_blocked_hosts_and_their_subdomains(in_process_cgi: bool, tmp_path: Path) -> None:
    blocked = "evil.example, b\u00fccher.example, .tracker.example"
    run_scenario(
        Scenario(
            "blocked-hosts",
            _blocked,
            env={"MINILINK_RATE_LIMIT": "0", "MINILINK_BLOCKED_HOSTS": blocked},
        ),
        tmp_path,
        in_process_cgi=in_process_cgi,
    )


# -- cross-site form posts ---------------------------------------------------------------

ORIGIN_CASES = [
    # (headers, Host, MINILINK_BASE_URL, allowed)
    ({"origin": "http://sho.rt"}, "sho.rt", None, True),
    ({"origin": "https://sho.rt"}, "sho.rt", None, True),  # TLS ended at a proxy
    ({"origin": "https://sho.rt:443"}, "sho.rt", None, True),
    ({"origin": "http://sho.rt:8080"}, "sho.rt:8080", None, True),
    ({"origin": "http://sho.rt"}, "sho.rt:80", None, True),
    ({"origin": "http://sho.rt:8080"}, "sho.rt", None, False),
    ({"origin": "http://evil.sho.rt"}, "sho.rt", None, False),
    ({"origin": "http://sho.rt.evil"}, "sho.rt", None, False),
    ({"origin": "https://sho.rt"}, "127.0.0.1:8000", "https://sho.rt/s", True),  # behind a proxy
    ({"origin": "https://evil.example"}, "127.0.0.1:8000", "https://sho.rt/s", False),
    ({"origin": "null"}, "sho.rt", None, False),
    ({"origin": "null", "sec-fetch-site": "same-origin"}, "sho.rt", None, True),
    ({"origin": "null", "sec-fetch-site": "same-site"}, "sho.rt", None, False),
    ({"origin": "sho.rt"}, "sho.rt", None, False),  # not an origin at all
    ({"origin": " "}, "sho.rt", None, True),  # blank: as if absent
    ({"referer": "http://sho.rt/?url=x"}, "sho.rt", None, True),
    ({"referer": "http://sho.rt.evil/"}, "sho.rt", None, False),
    ({"referer": "sho.rt/"}, "sho.rt", None, False),
    ({"referer": "http://user@sho.rt/"}, "sho.rt", None, False),
    ({"origin": "http://evil.example", "referer": "http://sho.rt/"}, "sho.rt", None, False),
    ({"sec-fetch-site": "cross-site"}, "sho.rt", None, False),
    ({"sec-fetch-site": "none"}, "sho.rt", None, True),  # typed or bookmarked
    ({}, "sho.rt", None, True),  # curl, scripts
]


@pytest.mark.parametrize(("headers", "host", "base_url", "allowed"), ORIGIN_CASES)
def test_form_origin_check(
    headers: dict[str, str], host: str, base_url: Any, allowed: bool
) -> None:
    config = Config(store="memory:", base_url=base_url, rate_limit=0)
    app = App(Shortener(MemoryStore(), config), config)
    body = b"url=https%3A%2F%2Fexample.com%2Fo"
    sent = {
        "host": host,
        "content-type": "application/x-www-form-urlencoded",
        "content-length": str(len(body)),
        **headers,
    }
    response = app.handle(Request(method="POST", path="/", headers=sent, body=body))
    assert response.status == (303 if allowed else 403), response.body[:300]
    if not allowed:
        assert b"Cross-site form posts are not accepted" in response.body
        assert not app.shortener.store.recent(10)
    # The JSON API takes no cookies: the same headers change nothing there.
    data = b'{"url": "https://example.com/ok"}'
    json_headers = {**sent, "content-type": "application/json", "content-length": str(len(data))}
    api = app.handle(Request(method="POST", path="/api/links", headers=json_headers, body=data))
    assert api.status in (200, 201), api.body


# -- cross-site form posts in a real browser ---------------------------------------------

DEADLINE = 30.0


def _browser(profile: Path) -> Any:
    """Headless Chromium as the browser tests start it (``tests/browser/_browser.py``)."""
    from browser._browser import CHROMEDRIVER, CHROMIUM, chromium

    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not os.access(p, os.X_OK)]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("selenium")
    if missing:
        reason = f"not installed here: {', '.join(missing)}"
        if os.environ.get("CI"):
            pytest.fail(reason + " (.ci/setup.d/30-chromium.sh installs it)")
        pytest.skip(reason)
    return chromium(True, profile)


def _attacker(target: str, policy: str) -> ThreadingHTTPServer:
    """A page on another origin whose form posts itself to ``target`` at once."""
    page = (
        f'<form id="f" method="post" action="{target}">'
        '<input name="url" value="https://example.com/planted"></form>'
        '<script>document.getElementById("f").submit()</script>'
    ).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            if policy:
                self.send_header("Referrer-Policy", policy)
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _wait(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + DEADLINE
    while not condition():
        assert time.monotonic() < deadline, "the browser did not get there in time"
        time.sleep(0.05)  # polling the browser's state, not waiting for a server


def test_form_refuses_cross_site_posts_in_chromium(tmp_path: Path) -> None:
    path = tmp_path / "links.db"
    server = Gunicorn(str(path), workers=1, threads=4)
    driver = None
    attackers: list[ThreadingHTTPServer] = []
    try:
        driver = _browser(tmp_path / "profile")
        from selenium.webdriver.common.by import By

        base = f"http://127.0.0.1:{server.port}"
        # This site's own form works: Chromium sends "Origin: null" under the pages'
        # no-referrer policy, with "Sec-Fetch-Site: same-origin".
        driver.get(base + "/")
        driver.find_element(By.ID, "url").send_keys("https://example.com/from-the-form")
        driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
        _wait(lambda: "Preview" in driver.title)
        assert "https://example.com/from-the-form" in driver.page_source
        # Pages elsewhere cannot post it, with or without a referrer.
        for policy in ("", "no-referrer", "unsafe-url"):
            attacker = _attacker(base + "/", policy)
            attackers.append(attacker)
            driver.get(f"http://127.0.0.1:{attacker.server_address[1]}/")
            _wait(lambda: "Not allowed here" in driver.title)
            assert "Cross-site form posts are not accepted" in driver.page_source, policy
    finally:
        if driver is not None:
            driver.quit()
        for attacker in attackers:
            attacker.shutdown()
            attacker.server_close()
        server.stop()
    stored = SQLiteStore(path)
    try:
        urls = [link.url for link in stored.recent(10)]
    finally:
        stored.close()
    assert urls == ["https://example.com/from-the-form"]
    record("Chromium: own form 303 -> preview; 3 cross-site auto-posts -> 403, nothing stored")
