"""The management pages in process: sessions, CSRF, every page, escaping, import/export.

An ``Admin`` drives one ``App`` (memory store, a clock moved by hand) the way a
browser does: it keeps the session cookie, reads each form's CSRF token from the
page, and sends ``Origin`` with its posts.
"""

from __future__ import annotations

import json
import random
import re
from datetime import datetime, timedelta, timezone
from typing import Any, Optional
from urllib.parse import urlencode

import pytest

from minilink import Config, Shortener
from minilink.core import admin_pages
from minilink.core.app import App
from minilink.core.http import Request, Response
from minilink.core.sessions import SIGN_IN_TRIES, Sessions
from minilink.storage.memory import MemoryStore
from minilink.storage.sqlite import SQLiteStore

TOKEN = "admin-token-1"
NOW = datetime(2026, 11, 28, 13, 0, tzinfo=timezone.utc)
FORM = "application/x-www-form-urlencoded"
HOSTILE = "<script>alert(1)</script>\"'&"


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def make_app(store: Any = None, **options: Any) -> tuple[App, Clock]:
    config = Config(**{"rate_limit": 0, "admin_token": TOKEN, **options})
    clock = Clock()
    shortener = Shortener(
        store if store is not None else MemoryStore(),
        config,
        clock=clock,
        randbelow=random.Random(5).randrange,
    )
    return App(shortener, config), clock


class Admin:
    """A browser of the admin pages over one app."""

    def __init__(self, app: App, *, host: str = "sho.rt", scheme: str = "http", root: str = ""):
        self.app = app
        self.host = host
        self.scheme = scheme
        self.root = root
        self.cookie: Optional[str] = None
        self.last: Optional[Response] = None

    def send(
        self,
        method: str,
        path: str,
        *,
        query: str = "",
        body: bytes = b"",
        headers: Optional[dict[str, str]] = None,
        cookie: Optional[str] = None,
        client: str = "127.0.0.1",
    ) -> Response:
        sent = {"host": self.host}
        cookie = cookie if cookie is not None else self.cookie
        if cookie is not None:
            sent["cookie"] = f"minilink_admin={cookie}"
        if body:
            sent["content-length"] = str(len(body))
        sent.update(headers or {})
        response = self.app.handle(
            Request(
                method=method,
                path=path,
                query=query,
                headers=sent,
                body=body,
                scheme=self.scheme,
                root=self.root,
                client=client,
            )
        )
        self.pieces: Optional[list[bytes]] = None
        if response.stream is not None:  # a download: read as an adapter would
            self.pieces = list(response.stream)
            response = Response(response.status, response.headers, b"".join(self.pieces))
        setting = response.header("set-cookie")
        if setting is not None:
            value = setting.split(";")[0].split("=", 1)[1]
            self.cookie = value or None
        self.last = response
        return response

    def get(self, path: str, query: str = "", **kw: Any) -> Response:
        return self.send("GET", path, query=query, **kw)

    def post(self, path: str, fields: dict[str, str], **kw: Any) -> Response:
        headers = {"content-type": FORM, "origin": f"{self.scheme}://{self.host}"}
        headers.update(kw.pop("headers", {}))
        return self.send("POST", path, body=urlencode(fields).encode(), headers=headers, **kw)

    def sign_in(self, token: str = TOKEN, **kw: Any) -> Response:
        return self.post("/admin/signin", {"token": token}, **kw)

    def csrf(self, path: str, query: str = "", action: Optional[str] = None) -> str:
        """The CSRF token of the form posting to ``action`` on the page ``path``."""
        page = self.get(path, query).body.decode()
        action = action if action is not None else path
        form = re.search(
            r'<form method="post" action="'
            + re.escape(self.root + action)
            + r'"[^>]*>(.*?)</form>',
            page,
            re.S,
        )
        assert form, f"no form posting to {action} on {path}"
        found = re.search(r'name="csrf" value="([^"]+)"', form.group(1))
        assert found
        return found.group(1)

    def create(self, **fields: str) -> str:
        response = self.post("/admin/new", {"csrf": self.csrf("/admin/new"), **fields})
        assert response.status == 303, response.body[:2000]
        location = response.header("location") or ""
        return location.rsplit("/", 1)[1]


@pytest.fixture
def app() -> App:
    return make_app()[0]


@pytest.fixture
def admin(app: App) -> Admin:
    browser = Admin(app)
    assert browser.sign_in().status == 303
    return browser


# -- signing in and out -----------------------------------------------------------------


def test_signed_out_pages_send_to_the_sign_in_page(app: App) -> None:
    browser = Admin(app)
    for path in ("/admin/", "/admin/links", "/admin/new", "/admin/tags", "/admin/export"):
        response = browser.get(path)
        assert response.status == 303, path
        assert response.header("location") == "http://sho.rt/admin/signin"
    page = browser.get("/admin/signin")
    assert page.status == 200
    assert b'name="token"' in page.body


def test_admin_without_the_slash_goes_to_the_slash(app: App) -> None:
    response = Admin(app).get("/admin")
    assert (response.status, response.header("location")) == (303, "http://sho.rt/admin/")


def test_sign_in_sets_a_strict_http_only_cookie_on_the_admin_path(app: App) -> None:
    response = Admin(app, root="/s").sign_in()
    assert response.status == 303
    assert response.header("location") == "http://sho.rt/s/admin/"
    cookie = response.header("set-cookie") or ""
    attributes = [part.strip() for part in cookie.split(";")]
    assert attributes[0].startswith("minilink_admin=v1.")
    assert set(attributes[1:]) == {"Max-Age=43200", "Path=/s/admin/", "HttpOnly", "SameSite=Strict"}


def test_the_cookie_is_secure_under_https(app: App) -> None:
    response = Admin(app, scheme="https").sign_in()
    assert "; Secure" in (response.header("set-cookie") or "")


def test_a_wrong_token_is_refused_and_sets_nothing(app: App) -> None:
    browser = Admin(app)
    response = browser.sign_in("wrong")
    assert response.status == 403
    assert response.header("set-cookie") is None
    assert b"That is not the admin token." in response.body
    assert browser.get("/admin/").status == 303


def test_failed_sign_ins_are_limited_per_client(app: App) -> None:
    browser = Admin(app)
    for _ in range(SIGN_IN_TRIES):
        assert browser.sign_in("wrong").status == 403
    limited = browser.sign_in()  # even the right token, past the limit
    assert limited.status == 429
    assert int(limited.header("retry-after") or 0) > 0
    assert browser.cookie is None
    # Another client is not held back.
    assert browser.sign_in(client="192.0.2.7").status == 303


def test_failed_sign_ins_are_counted_across_processes(tmp_path: Any) -> None:
    # CGI: each request is a new process, so the count lives in the store.
    url = str(tmp_path / "links.db")
    for _ in range(SIGN_IN_TRIES):
        store = SQLiteStore(url)
        app, _ = make_app(store)
        assert Admin(app).sign_in("wrong").status == 403
        store.close()
    store = SQLiteStore(url)
    app, _ = make_app(store)
    assert Admin(app).sign_in().status == 429
    store.close()


def test_a_session_works_across_processes(tmp_path: Any) -> None:
    url = str(tmp_path / "links.db")
    first, _ = make_app(SQLiteStore(url))
    browser = Admin(first)
    assert browser.sign_in().status == 303
    first.close()
    second, _ = make_app(SQLiteStore(url))
    browser.app = second
    assert browser.get("/admin/").status == 200
    browser.post("/admin/signout", {"csrf": browser.csrf("/admin/", action="/admin/signout")})
    old = browser.last
    assert old is not None and old.status == 303
    second.close()


def test_sign_out_ends_the_session_for_good(admin: Admin) -> None:
    kept = admin.cookie
    response = admin.post(
        "/admin/signout", {"csrf": admin.csrf("/admin/", action="/admin/signout")}
    )
    assert response.status == 303
    assert response.header("location") == "http://sho.rt/admin/signin"
    assert "Max-Age=0" in (response.header("set-cookie") or "")
    # A copy of the cookie kept from before is refused: for pages and for posts.
    assert admin.get("/admin/", cookie=kept).status == 303
    refused = admin.post("/admin/new", {"url": "https://example.com/"}, cookie=kept)
    assert refused.status == 403


def test_sign_out_ends_only_that_session() -> None:
    app, clock = make_app()
    one, two = Admin(app), Admin(app)
    one.sign_in()
    clock.advance(0.000001)  # a session is named by the microsecond it began
    two.sign_in()
    one.post("/admin/signout", {"csrf": one.csrf("/admin/", action="/admin/signout")})
    assert two.get("/admin/").status == 200


def test_an_idle_session_expires() -> None:
    app, clock = make_app(admin_session_hours=2)
    browser = Admin(app)
    browser.sign_in()
    clock.advance(2 * 3600 - 1)
    assert browser.get("/admin/").status == 200  # used: it slides on
    clock.advance(2 * 3600 - 1)
    assert browser.get("/admin/").status == 200
    kept = browser.cookie
    clock.advance(2 * 3600 + 1)
    assert browser.get("/admin/", cookie=kept).status == 303


def test_a_used_session_gets_a_fresh_cookie_once_a_minute() -> None:
    app, clock = make_app()
    browser = Admin(app)
    browser.sign_in()
    assert browser.get("/admin/").header("set-cookie") is None
    clock.advance(61)
    assert "Max-Age=43200" in (browser.get("/admin/").header("set-cookie") or "")


def test_a_new_admin_token_ends_every_session() -> None:
    store = MemoryStore()
    app, _ = make_app(store)
    browser = Admin(app)
    browser.sign_in()
    other, _ = make_app(store, admin_token="a-new-token")
    browser.app = other
    assert browser.get("/admin/").status == 303


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda c: c[:-1] + ("0" if c[-1] != "0" else "1"), id="mac-changed"),
        pytest.param(lambda c: c.replace("v1.", "v2.", 1), id="version"),
        pytest.param(
            lambda c: ".".join([*c.split(".")[:2], "9999999999", c.split(".")[3]]),
            id="seen-moved",
        ),
        pytest.param(lambda c: c.split(".", 1)[1], id="truncated"),
        pytest.param(lambda c: "v1.1.1." + "0" * 64, id="made-up"),
        pytest.param(lambda c: c + "." + c, id="doubled"),
        pytest.param(lambda c: "\u00e9" * 300, id="junk"),
    ],
)
def test_a_forged_cookie_is_refused(admin: Admin, forge: Any) -> None:
    assert admin.cookie is not None
    forged = forge(admin.cookie)
    assert admin.get("/admin/", cookie=forged).status == 303


def test_a_session_from_the_future_is_refused() -> None:
    store = MemoryStore()
    sessions = Sessions(TOKEN, store, 3600)
    value = sessions.issue(1, int(NOW.timestamp()) + 3600)
    assert sessions.check(value, NOW) is None
    assert sessions.check(sessions.start(NOW), NOW) is not None


def test_no_admin_token_switches_the_pages_off() -> None:
    app, _ = make_app(admin_token=None)
    response = Admin(app).get("/admin/signin")
    assert response.status == 403
    assert b"MINILINK_ADMIN_TOKEN" in response.body


# -- CSRF and the page headers ------------------------------------------------------------


def _posts(admin: Admin, code: str) -> list[tuple[str, dict[str, str]]]:
    return [
        ("/admin/new", {"url": "https://example.com/new"}),
        (f"/admin/links/{code}", {"url": "https://example.com/changed", "revision": "0"}),
        (f"/admin/links/{code}/delete", {}),
        ("/admin/signout", {}),
    ]


@pytest.mark.parametrize("csrf", ["", "0" * 40, "missing"])
def test_a_post_without_its_csrf_token_is_403_and_changes_nothing(admin: Admin, csrf: str) -> None:
    code = admin.create(url="https://example.com/a")
    for path, fields in _posts(admin, code):
        sent = dict(fields)
        if csrf != "missing":
            sent["csrf"] = csrf
        assert admin.post(path, sent).status == 403, path
    assert [link.url for link in admin.app.shortener.search()] == ["https://example.com/a"]
    assert admin.get("/admin/").status == 200  # still signed in


def test_a_token_of_another_form_does_not_pass(admin: Admin) -> None:
    code = admin.create(url="https://example.com/a")
    other = admin.create(url="https://example.com/b")
    wrong = admin.csrf(f"/admin/links/{other}/delete")
    response = admin.post(f"/admin/links/{code}/delete", {"csrf": wrong})
    assert response.status == 403
    assert admin.app.shortener.resolve(code).url == "https://example.com/a"


def test_a_token_of_another_session_does_not_pass() -> None:
    app, clock = make_app()
    one, two = Admin(app), Admin(app)
    one.sign_in()
    clock.advance(1)
    two.sign_in()
    token = one.csrf("/admin/new")
    assert two.post("/admin/new", {"csrf": token, "url": "https://example.com/"}).status == 403


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"origin": "https://evil.example"}, id="other-origin"),
        pytest.param({"origin": "null", "sec-fetch-site": "cross-site"}, id="null-origin"),
        pytest.param({"origin": "", "referer": "https://evil.example/x"}, id="other-referer"),
    ],
)
def test_a_cross_site_post_is_403_even_with_the_token(admin: Admin, headers: Any) -> None:
    token = admin.csrf("/admin/new")
    response = admin.post(
        "/admin/new", {"csrf": token, "url": "https://example.com/"}, headers=headers
    )
    assert response.status == 403
    assert admin.app.shortener.search() == []


def test_a_cross_site_sign_in_is_refused(app: App) -> None:
    browser = Admin(app)
    response = browser.sign_in(headers={"origin": "https://evil.example"})
    assert response.status == 403
    assert browser.cookie is None


@pytest.mark.parametrize(
    "path", ["/admin/", "/admin/links", "/admin/new", "/admin/tags", "/admin/import"]
)
def test_admin_pages_are_never_stored_or_framed(admin: Admin, path: str) -> None:
    response = admin.get(path)
    assert response.status == 200
    assert response.header("cache-control") == "no-store"
    assert response.header("x-frame-options") == "DENY"
    csp = response.header("content-security-policy") or ""
    assert "frame-ancestors 'none'" in csp
    assert "script-src 'none'" in csp
    assert f"style-src 'sha256-{admin_pages.STYLE_SHA256}'" in csp
    assert b"<script" not in response.body
    assert response.header("content-length") == str(len(response.body))


def test_the_sign_in_page_is_never_stored(app: App) -> None:
    response = Admin(app).get("/admin/signin")
    assert response.header("cache-control") == "no-store"
    assert response.header("x-frame-options") == "DENY"


# -- the pages ---------------------------------------------------------------------------


def test_create_with_every_option(admin: Admin) -> None:
    code = admin.create(
        url="https://example.com/long",
        alias="docs",
        title="The docs",
        tags="Work, docs, work",
        expires_at="2027-01-31T18:30",
        max_visits="5",
        redirect_status="308",
        forward_query="1",
        fallback_url="https://example.com/gone",
        password="sesame",
    )
    assert code == "docs"
    link = admin.app.shortener.store.get("docs")
    assert link is not None
    assert (link.title, link.tags, link.max_visits) == ("The docs", ("work", "docs"), 5)
    assert link.expires_at == datetime(2027, 1, 31, 18, 30, tzinfo=timezone.utc)
    assert (link.redirect_status, link.forward_query) == (308, True)
    assert link.fallback_url == "https://example.com/gone"
    assert link.protected


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"url": "javascript:alert(1)"}, "url", "scheme"),
        ({"url": ""}, "url", "Enter the address"),
        ({"url": "https://example.com/", "alias": "a b"}, "alias", "alias"),
        ({"url": "https://example.com/", "alias": "api"}, "alias", "reserved"),
        ({"url": "https://example.com/", "tags": "Ünïcode"}, "tags", "tag"),
        ({"url": "https://example.com/", "max_visits": "0"}, "max_visits", "at least 1"),
        ({"url": "https://example.com/", "expires_at": "soon"}, "expires_at", "date"),
        ({"url": "https://example.com/", "expires_at": "2020-01-01T00:00"}, "expires_at", "future"),
        ({"url": "https://example.com/", "redirect_status": "303"}, "redirect_status", "list"),
        ({"url": "https://example.com/", "fallback_url": "ftp://x.example/"}, "fallback_url", ""),
        ({"url": "https://example.com/", "title": "x" * 201}, "title", "200"),
        ({"url": "http://sho.rt/abc"}, "url", ""),
    ],
)
def test_a_refused_value_comes_back_at_its_field_with_the_input_kept(
    admin: Admin, fields: dict[str, str], field: str, words: str
) -> None:
    sent = {"title": HOSTILE, **fields}
    response = admin.post("/admin/new", {"csrf": admin.csrf("/admin/new"), **sent})
    assert response.status == 400, response.body[:500]
    page = response.body.decode()
    error = re.search(rf'<p class="error" id="{field}-error">([^<]*)</p>', page)
    assert error, (field, page[page.find("<main>") :][:3000])
    assert words.lower() in error.group(1).lower()
    assert f'id="{field}"' in page and 'aria-invalid="true"' in page
    assert "<script>alert(1)" not in page
    if field != "title":
        assert 'value="&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#x27;&amp;"' in page
    assert admin.app.shortener.search(state="all") == []


def test_an_alias_taken_is_409_at_the_alias(admin: Admin) -> None:
    admin.create(url="https://example.com/a", alias="taken")
    response = admin.post(
        "/admin/new",
        {"csrf": admin.csrf("/admin/new"), "url": "https://example.com/b", "alias": "taken"},
    )
    assert response.status == 409
    assert b'id="alias-error"' in response.body


def test_the_link_page_shows_details_chart_and_qr(admin: Admin) -> None:
    code = admin.create(url="https://example.com/a", title=HOSTILE, tags="x")
    admin.app.shortener.visit(code)
    for days in ("7", "30", "90", "365"):
        page = admin.get(f"/admin/links/{code}", f"days={days}")
        assert page.status == 200
        text = page.body.decode()
        assert f"Visits in the last {days} days" in text
        assert text.count("<rect class=") == int(days)
        assert '<figcaption id="chart-summary">1 visit' in text
        assert "<table>" in text
        assert "<script>alert" not in text
    assert admin.get(f"/admin/links/{code}", "days=12").status == 400
    assert admin.get(f"/admin/links/{code}", "other=1").status == 400
    assert admin.get("/admin/links/nope").status == 404
    assert admin.get("/admin/links/a%20b").status == 404


def test_edit_every_field_and_the_password(admin: Admin) -> None:
    code = admin.create(url="https://example.com/a")
    token = admin.csrf(f"/admin/links/{code}")
    response = admin.post(
        f"/admin/links/{code}",
        {
            "csrf": token,
            "revision": "0",
            "url": "https://example.com/b",
            "title": "B",
            "tags": "one,two",
            "expires_at": "2027-02-01T10:00",
            "max_visits": "9",
            "redirect_status": "301",
            "forward_query": "1",
            "fallback_url": "https://example.com/f",
            "password": "pw",
        },
    )
    assert response.status == 303
    assert response.header("location") == f"http://sho.rt/admin/links/{code}?saved=1"
    assert b"Saved." in admin.get(f"/admin/links/{code}", "saved=1").body
    link = admin.app.shortener.store.get(code)
    assert link is not None
    assert (link.url, link.title, link.tags, link.max_visits) == (
        "https://example.com/b",
        "B",
        ("one", "two"),
        9,
    )
    assert (link.redirect_status, link.forward_query, link.protected) == (301, True, True)
    # Clearing: empty fields clear, the box removes the password.
    response = admin.post(
        f"/admin/links/{code}",
        {
            "csrf": token,
            "revision": "1",
            "url": "https://example.com/b",
            "remove_password": "1",
        },
    )
    assert response.status == 303
    link = admin.app.shortener.store.get(code)
    assert link is not None
    assert (link.title, link.tags, link.max_visits, link.expires_at) == (None, (), None, None)
    assert (link.redirect_status, link.forward_query, link.fallback_url) == (None, False, None)
    assert not link.protected


def test_an_edit_over_a_stale_revision_is_412_and_changes_nothing(admin: Admin) -> None:
    code = admin.create(url="https://example.com/a")
    token = admin.csrf(f"/admin/links/{code}")
    admin.app.shortener.update(code, title="elsewhere")
    response = admin.post(
        f"/admin/links/{code}", {"csrf": token, "revision": "0", "url": "https://example.com/z"}
    )
    assert response.status == 412
    assert b"changed elsewhere" in response.body
    assert admin.app.shortener.resolve(code).url == "https://example.com/a"


def test_a_refused_edit_keeps_the_input(admin: Admin) -> None:
    code = admin.create(url="https://example.com/a")
    response = admin.post(
        f"/admin/links/{code}",
        {"csrf": admin.csrf(f"/admin/links/{code}"), "revision": "0", "url": "nope" + HOSTILE},
    )
    assert response.status == 400
    assert b'id="url-error"' in response.body
    assert b"nope&lt;script&gt;" in response.body
    assert admin.app.shortener.resolve(code).url == "https://example.com/a"


def test_delete_asks_first_then_deletes(admin: Admin) -> None:
    code = admin.create(url="https://example.com/a")
    confirm = admin.get(f"/admin/links/{code}/delete")
    assert confirm.status == 200
    assert b"This cannot be undone." in confirm.body
    assert admin.app.shortener.resolve(code)  # asking deleted nothing
    response = admin.post(
        f"/admin/links/{code}/delete", {"csrf": admin.csrf(f"/admin/links/{code}/delete")}
    )
    assert response.status == 303
    assert admin.app.handle(Request(path=f"/{code}", headers={"host": "sho.rt"})).status == 410
    page = admin.get(f"/admin/links/{code}")
    assert page.status == 200 and b"<dt>Deleted</dt>" in page.body
    assert b'id="edit"' not in page.body
    assert admin.get(f"/admin/links/{code}/delete").status == 410


def test_the_list_searches_filters_sorts_and_pages(admin: Admin) -> None:
    shortener = admin.app.shortener
    for i in range(60):
        shortener.shorten(
            f"https://example.com/{i}", title=f"item {i}", tags=["even" if i % 2 else "odd"]
        )
    first = admin.get("/admin/links").body.decode()
    assert first.count('<a href="/admin/links/') == 50
    after = re.search(r'href="/admin/links\?([^"]+)">Next 50 links', first)
    assert after
    second = admin.get("/admin/links", after.group(1).replace("&amp;", "&")).body.decode()
    assert second.count('<a href="/admin/links/') == 10
    assert "Next 50" not in second
    found = admin.get("/admin/links", "q=item+59").body.decode()
    assert found.count('<a href="/admin/links/') == 1
    tagged = admin.get("/admin/links", "tag=odd").body.decode()
    assert tagged.count('<a href="/admin/links/') == 30
    assert admin.get("/admin/links", "sort=hits&state=all").status == 200
    assert admin.get("/admin/links", "state=weird").status == 400
    assert admin.get("/admin/links", "tag=%C3%9C").status == 400
    assert admin.get("/admin/links", "nope=1").status == 400
    assert admin.get("/admin/links", "q=%FF").status == 400


def test_the_overview_counts_links_and_visits(admin: Admin) -> None:
    shortener = admin.app.shortener
    code = shortener.shorten("https://example.com/a").code
    shortener.shorten("https://example.com/b", title=HOSTILE)
    for _ in range(3):
        shortener.visit(code)
    page = admin.get("/admin/").body.decode()
    figures = re.findall(r"<p>([^<]+)</p><strong>([^<]+)</strong>", page)
    assert figures == [
        ("Links", "2"),
        ("Visits today", "3"),
        ("Visits in 7 days", "3"),
        ("Visits in 30 days", "3"),
    ]
    assert page.index(code) < page.index("&lt;script&gt;")  # most visited first
    assert "<script>alert" not in page


def test_the_tags_page(admin: Admin) -> None:
    admin.app.shortener.shorten("https://example.com/a", tags=["x-1", "b"])
    page = admin.get("/admin/tags").body.decode()
    assert '<a href="/admin/links?tag=b">b</a>' in page
    assert '<a href="/admin/links?tag=x-1">x-1</a>' in page


def _multipart(fields: dict[str, str], file: bytes, boundary: str = "XyZ") -> tuple[bytes, str]:
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
        for k, v in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="x.jsonl"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n".encode()
        + file
        + b"\r\n"
    )
    return b"".join(
        parts
    ) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def _upload(admin: Admin, fields: dict[str, str], file: bytes) -> Response:
    body, kind = _multipart(fields, file)
    return admin.send(
        "POST",
        "/admin/import",
        body=body,
        headers={"content-type": kind, "origin": "http://sho.rt"},
    )


def test_export_then_import_round_trips(admin: Admin) -> None:
    shortener = admin.app.shortener
    shortener.shorten("https://example.com/a", alias="one", title=HOSTILE)
    shortener.visit("one")
    export = admin.get("/admin/export")
    assert export.status == 200
    assert export.header("content-type") == "application/x-ndjson; charset=utf-8"
    assert (
        export.header("content-disposition") == 'attachment; filename="minilink-2026-11-28.jsonl"'
    )
    lines = export.body.decode().splitlines()
    assert json.loads(lines[0]) == {"format": "minilink-links", "version": 2}
    # Into another install: everything imported.
    other = Admin(make_app()[0])
    other.sign_in()
    token = other.csrf("/admin/import")
    response = _upload(other, {"csrf": token, "format": "jsonl"}, export.body)
    assert response.status == 200, response.body[:3000]
    assert b"<strong>1</strong> of 1 links read were imported." in response.body
    assert other.app.shortener.resolve("one").title == HOSTILE
    # Again: refused, the code is taken.
    again = _upload(other, {"csrf": token, "format": "jsonl"}, export.body)
    assert b"1 were refused: their codes are already taken here" in again.body
    assert b"Refused: <code>one</code>." in again.body


def test_the_export_streams_page_by_page(admin: Admin) -> None:
    shortener = admin.app.shortener
    for i in range(1234):
        shortener.shorten(f"https://example.com/{i}")
    export = admin.get("/admin/export")
    assert export.header("content-length") is None
    assert admin.pieces is not None
    # The header line, then pieces of at most 500 links: never the whole store at once.
    assert [piece.count(b"\n") for piece in admin.pieces] == [1, 500, 500, 234]
    assert len(export.body.splitlines()) == 1235
    head = admin.send("HEAD", "/admin/export")
    assert (head.status, head.body, admin.pieces) == (200, b"", None)


def test_import_reads_yourls_and_says_why_a_file_is_refused(admin: Admin) -> None:
    token = admin.csrf("/admin/import")
    csv = (
        b"keyword,url,title,timestamp,ip,clicks\r\n"
        b"yo,https://example.com/y,Y,2020-01-01 10:00:00,127.0.0.1,4\r\n"
    )
    response = _upload(admin, {"csrf": token, "format": "yourls"}, csv)
    assert response.status == 200, response.body[:2000]
    assert admin.app.shortener.resolve("yo").hits == 4
    good = b'{"code":"fine","url":"https://example.com/","created_at":"2026-01-01T00:00:00Z"}'
    bad = _upload(admin, {"csrf": token, "format": "jsonl"}, good + b'\n{"code": "<b>x</b>"}\n')
    assert bad.status == 400
    assert b"line 2" in bad.body and b"nothing was imported" in bad.body
    assert admin.app.shortener.store.get("fine") is None
    assert b'id="file-error"' in bad.body
    assert b"<b>x" not in bad.body
    assert _upload(admin, {"csrf": "nope", "format": "jsonl"}, b"").status == 403
    assert _upload(admin, {"csrf": token, "format": "weird"}, b"x").status == 400


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        pytest.param(b"junk", "multipart/form-data; boundary=XyZ", id="no-boundary-in-body"),
        pytest.param(
            b"--XyZ\r\n\r\nx\r\n--XyZ--", "multipart/form-data; boundary=XyZ", id="no-disposition"
        ),
        pytest.param(
            b"--XyZ\r\nContent-Disposition: form-data; name=a\r\n\r\nx",
            "multipart/form-data; boundary=XyZ",
            id="unclosed",
        ),
        pytest.param(b"x", "multipart/form-data", id="no-boundary"),
        pytest.param(b"x", "multipart/form-data; boundary=" + "b" * 71, id="long-boundary"),
        pytest.param(
            b"--XyZ\r\nContent-Disposition: form-data; name=a\r\n\r\n\xff\r\n--XyZ--",
            "multipart/form-data; boundary=XyZ",
            id="not-utf8",
        ),
    ],
)
def test_a_malformed_upload_is_400(admin: Admin, body: bytes, kind: str) -> None:
    response = admin.send(
        "POST",
        "/admin/import",
        body=body,
        headers={"content-type": kind, "origin": "http://sho.rt"},
    )
    assert response.status == 400, response.body[:500]


def test_an_upload_of_another_type_is_415(admin: Admin) -> None:
    response = admin.post("/admin/import", {"csrf": admin.csrf("/admin/import")})
    assert response.status == 415


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("PUT", "/admin/", 405),
        ("POST", "/admin/", 405),
        ("POST", "/admin/tags", 405),
        ("GET", "/admin/signout", 405),
        ("GET", "/admin/nothing", 404),
        ("GET", "/admin/links/a/b", 404),
        ("DELETE", "/admin/links/a", 405),
    ],
)
def test_unknown_paths_and_methods(admin: Admin, method: str, path: str, status: int) -> None:
    assert admin.send(method, path).status == status


def test_head_answers_as_get(admin: Admin) -> None:
    get = admin.get("/admin/links")
    head = admin.send("HEAD", "/admin/links")
    assert head.status == 200 and head.body == b""
    assert head.header("content-length") == get.header("content-length")


def test_the_admin_path_is_no_link_code(app: App) -> None:
    assert "admin" in __import__("minilink.core.codes", fromlist=["RESERVED"]).RESERVED


_KIND = "multipart/form-data; boundary=XyZ"
_A = b'--XyZ\r\nContent-Disposition: form-data; name="a"\r\n\r\nx\r\n'


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(
            b"".join(_A.replace(b'"a"', f'"a{i}"'.encode()) for i in range(11)) + b"--XyZ--",
            id="too-many-parts",
        ),
        pytest.param(_A + b"--XyZjunk\r\n--XyZ--", id="delimiter-without-line-break"),
        pytest.param(b"--XyZ\r\nContent-Disposition: form-data; name=a\r\n--XyZ--", id="no-end"),
        pytest.param(_A + _A + b"--XyZ--", id="field-twice"),
        pytest.param(b"--XyZ\r\nX-\xff: 1\r\n\r\nx\r\n--XyZ--", id="header-not-utf8"),
        pytest.param(b"--XyZ\r\nX-Other: 1\r\n\r\nx\r\n--XyZ--", id="other-header-only"),
        pytest.param(
            b"--XyZ\r\nContent-Disposition: form-data; flag; x=1\r\n\r\nx\r\n--XyZ--",
            id="disposition-without-name",
        ),
        pytest.param(
            b"--XyZ\r\nContent-Disposition: attachment; name=a\r\n\r\nx\r\n--XyZ--",
            id="not-form-data",
        ),
    ],
)
def test_malformed_multipart_parts_are_400(admin: Admin, body: bytes) -> None:
    response = admin.send(
        "POST",
        "/admin/import",
        body=body,
        headers={"content-type": _KIND, "origin": "http://sho.rt"},
    )
    assert response.status == 400, response.body[:500]


def test_an_import_needs_a_file_and_reads_shlink(admin: Admin) -> None:
    token = admin.csrf("/admin/import")
    body = (
        f'--XyZ\r\nContent-Disposition: form-data; name="csrf"\r\n\r\n{token}\r\n'
        '--XyZ\r\nContent-Disposition: form-data; name="format"\r\n\r\njsonl\r\n--XyZ--\r\n'
    ).encode()
    response = admin.send(
        "POST",
        "/admin/import",
        body=body,
        headers={"content-type": _KIND, "origin": "http://sho.rt"},
    )
    assert response.status == 400 and b'id="file-error"' in response.body
    csv = (
        b"shortCode,longUrl,createdAt,visits\r\n"
        b"sh,https://example.com/sh,2024-01-01T00:00:00Z,3\r\n"
    )
    shlink = _upload(admin, {"csrf": token, "format": "shlink"}, csv)
    assert shlink.status == 200, shlink.body[:3000]
    assert admin.app.shortener.resolve("sh").hits == 3


def test_signin_edge_cases(admin: Admin) -> None:
    # Signed in already: the sign-in page sends to the overview.
    assert admin.get("/admin/signin").status == 303
    twice = admin.send(
        "POST",
        "/admin/signin",
        body=b"token=a&token=b",
        headers={"content-type": FORM, "origin": "http://sho.rt"},
    )
    assert twice.status == 400 and b"more than once" in twice.body


def test_list_and_edit_edge_cases() -> None:
    app, _ = make_app()
    admin = Admin(app)
    admin.sign_in()
    code = admin.create(url="https://example.com/a", max_visits="1")
    app.shortener.visit(code)
    assert b"Expired" in admin.get("/admin/links", "state=expired").body
    assert admin.get("/admin/links", "sort=weird").status == 400
    assert admin.get("/admin/links", "q=" + "x" * 1001).status == 400
    token = admin.csrf(f"/admin/links/{code}")
    bad = admin.post(
        f"/admin/links/{code}", {"csrf": token, "revision": "x", "url": "https://e.x/"}
    )
    assert bad.status == 400
    fallback = admin.post(
        f"/admin/links/{code}",
        {"csrf": token, "revision": "0", "url": "https://example.com/a", "fallback_url": "x"},
    )
    assert fallback.status == 400 and b'id="fallback_url-error"' in fallback.body
    app.shortener.delete(code)
    gone = admin.post(
        f"/admin/links/{code}", {"csrf": token, "revision": "0", "url": "https://e.x/"}
    )
    assert gone.status == 410


def test_import_of_another_shortener_shows_what_minilink_import_says(admin: Admin) -> None:
    """The page uses the importer of ``minilink import``: every refused row with its
    reason and the setting that would admit it, and a re-run changes nothing."""
    token = admin.csrf("/admin/import")
    csv = (
        b"keyword,url,title,timestamp,ip,clicks\r\n"
        b"good,https://example.com/g,Good,2020-01-01 10:00:00,127.0.0.1,4\r\n"
        b"ftp1,ftp://example.com/file,FTP,2020-01-01 10:00:00,127.0.0.1,1\r\n"
        b"api,https://example.com/api,<b>Reserved</b>,2020-01-01 10:00:00,127.0.0.1,1\r\n"
    )
    first = _upload(admin, {"csrf": token, "format": "auto"}, csv)  # told from the header
    assert first.status == 200, first.body[:3000]
    page = first.body.decode()
    assert "<strong>1</strong> of 3 rows read were imported" in page
    assert "2 were refused" in page
    assert "MINILINK_ALLOWED_SCHEMES" in page  # what would admit the ftp: link
    assert "<li>line 3 (keyword &#x27;ftp1&#x27;)" in page  # each refused row, where it was
    assert "/api is one of minilink&#x27;s own routes" in page
    assert "<b>Reserved</b>" not in page
    assert admin.app.shortener.resolve("good").hits == 4
    again = _upload(admin, {"csrf": token, "format": "yourls"}, csv)
    assert (
        "<strong>0</strong> of 3 rows read were imported; 1 were here already"
        in again.body.decode()
    )
    assert admin.app.shortener.resolve("good").hits == 4
    unknown = _upload(admin, {"csrf": token, "format": "auto"}, b"a,b\r\nc,d\r\n")
    assert unknown.status == 400
    assert b'id="format-error"' in unknown.body


def test_import_reads_a_yourls_database_dump(admin: Admin) -> None:
    token = admin.csrf("/admin/import")
    dump = (
        b"-- MariaDB dump 10.19\n"
        b"INSERT INTO `yourls_url` VALUES ('dumped','https://example.com/d','It\\'s',"
        b"'2021-02-03 04:05:06','10.0.0.1',7),('x y','https://example.com/bad','',"
        b"'2021-02-03 04:05:06','10.0.0.1',0);\n"
    )
    response = _upload(admin, {"csrf": token, "format": "auto"}, dump)
    assert response.status == 200, response.body[:3000]
    assert b"<strong>1</strong> of 2 rows read were imported" in response.body
    link = admin.app.shortener.resolve("dumped")
    assert (link.title, link.hits) == ("It's", 7)
