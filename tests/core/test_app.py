"""The sans-I/O app, called directly with Request values."""

from __future__ import annotations

import json
import random
from datetime import datetime, timezone
from typing import Any, Optional

import pytest

from minilink import Config, Shortener
from minilink.core.app import App
from minilink.core.http import Request, Response
from minilink.core.openapi import document
from minilink.storage.memory import MemoryStore

NOW = datetime(2026, 11, 28, 13, 0, tzinfo=timezone.utc)


def make_app(**options: Any) -> App:
    config = Config(**{"rate_limit": 0, **options})
    return App(
        Shortener(MemoryStore(), config, clock=lambda: NOW, randbelow=random.Random(3).randrange)
    )


def call(
    app: App,
    method: str,
    path: str,
    body: bytes = b"",
    *,
    query: str = "",
    headers: Optional[dict[str, str]] = None,
    client: Optional[str] = "10.0.0.9",
) -> Response:
    h = {"host": "sho.rt"}
    if body:
        h["content-type"] = "application/json"
        h["content-length"] = str(len(body))
    h.update(headers or {})
    return app.handle(
        Request(method=method, path=path, query=query, headers=h, body=body, client=client)
    )


def error_code(response: Response) -> str:
    return str(json.loads(response.body)["error"]["code"])


def test_create_and_redirect() -> None:
    app = make_app()
    created = call(app, "POST", "/api/links", b'{"url": "https://a.b/x"}')
    assert created.status == 201
    code = json.loads(created.body)["code"]
    assert created.header("Location") == f"http://sho.rt/{code}"
    redirect = call(app, "GET", f"/{code}")
    assert (redirect.status, redirect.header("location"), redirect.body) == (
        302,
        "https://a.b/x",
        b"",
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"url": "https://a.b/", "url": "https://c.d/"}', "twice"),
        (b'{"url": NaN}', "number"),
        (b'{"url": Infinity}', "number"),
        (b"[" * 100 + b"]" * 100, "deeply"),
        (b'{"url": "https://a.b/"', "not valid JSON"),
        (b"\xff\xfe", "UTF-8"),
        (b'"https://a.b/"', "JSON object"),
        (b'{"url": "https://a.b/", "extra": 1}', "Unknown field"),
        (b"{}", "required"),
        (b'{"url": 5}', "string"),
        (b'{"url": "https://a.b/", "expires_at": "tomorrow"}', "ISO 8601"),
        (b'{"url": "https://a.b/", "expires_at": "2027-01-01T00:00:00"}', "time zone"),
    ],
    ids=[
        "duplicate-key",
        "nan",
        "infinity",
        "deep",
        "truncated",
        "not-utf8",
        "not-object",
        "unknown-key",
        "missing-url",
        "url-type",
        "bad-time",
        "naive-time",
    ],
)
def test_strict_json(body: bytes, message: str) -> None:
    app = make_app()
    response = call(app, "POST", "/api/links", body)
    assert response.status == 400 and error_code(response) == "bad_request"
    assert message in json.loads(response.body)["error"]["message"]
    assert app.shortener.links() == []


def test_expires_at_with_z() -> None:
    app = make_app()
    response = call(
        app, "POST", "/api/links", b'{"url": "https://a.b/", "expires_at": "2026-12-01T00:00:00Z"}'
    )
    assert json.loads(response.body)["expires_at"] == "2026-12-01T00:00:00Z"


@pytest.mark.parametrize(
    ("headers", "body", "status"),
    [
        ({"content-length": "5, 5"}, b"", 400),
        ({"content-length": "-1"}, b"", 400),
        ({"content-length": "x"}, b"", 400),
        ({"content-length": "99999999"}, b"", 413),
        ({"content-length": "50"}, b'{"url": "https://a.b/"}', 400),
        ({"transfer-encoding": "chunked"}, b"", 400),
        ({"content-type": "text/plain", "content-length": "2"}, b"{}", 415),
        ({"content-encoding": "gzip", "content-length": "2"}, b"{}", 415),
    ],
    ids=[
        "joined-lengths",
        "negative",
        "word",
        "too-large",
        "short-body",
        "chunked",
        "type",
        "gzip",
    ],
)
def test_body_checks(headers: dict[str, str], body: bytes, status: int) -> None:
    app = make_app()
    h = {"content-type": "application/json", **headers}
    response = app.handle(
        Request(method="POST", path="/api/links", headers={"host": "sho.rt", **h}, body=body)
    )
    assert response.status == status
    assert app.shortener.links() == []


@pytest.mark.parametrize(
    ("headers", "size"),
    [
        ({}, 0),
        ({"content-length": "10"}, 10),
        ({"content-length": "70000"}, 0),
        ({"content-length": "1e3"}, 0),
    ],
    ids=["absent", "valid", "over-limit", "invalid"],
)
def test_body_size_tells_adapters_what_to_read(headers: dict[str, str], size: int) -> None:
    assert make_app().body_size(headers) == size


def test_a_bug_becomes_a_plain_500_and_is_reported() -> None:
    class Broken(MemoryStore):
        def get(self, code: str) -> Any:
            raise RuntimeError("disk on fire")

    seen: list[BaseException] = []
    app = App(Shortener(Broken(), Config()), on_error=seen.append)
    response = app.handle(Request(method="GET", path="/abc", headers={"host": "x"}))
    assert response.status == 500 and b"fire" not in response.body
    assert [str(e) for e in seen] == ["disk on fire"]


def test_a_failing_error_reporter_still_gives_the_plain_500() -> None:
    class Broken(MemoryStore):
        def get(self, code: str) -> Any:
            raise RuntimeError("disk on fire")

    def reporter(exc: BaseException) -> None:
        raise OSError("log disk full too")

    app = App(Shortener(Broken(), Config()), on_error=reporter)
    response = app.handle(Request(method="GET", path="/abc", headers={"host": "x"}))
    assert response.status == 500 and b"fire" not in response.body


def test_head_keeps_length_and_drops_body() -> None:
    app = make_app()
    get = call(app, "GET", "/")
    head = call(app, "HEAD", "/")
    assert head.status == 200 and head.body == b""
    assert head.headers == get.headers and int(get.header("content-length") or 0) == len(get.body)


@pytest.mark.parametrize(
    "path", ["/abc", "/abc/", "//abc", "/./abc", "/x/../abc", "/../abc", "abc"]
)
def test_paths_are_normalised(path: str) -> None:
    app = make_app()
    call(app, "POST", "/api/links", b'{"url": "https://a.b/", "alias": "abc"}')
    assert call(app, "GET", path).status == 302


@pytest.mark.parametrize("host", ["evil.com\r\nx", "a b", "<script>", "", "x" * 300])
def test_bad_host_header(host: str) -> None:
    app = make_app()
    response = call(app, "POST", "/api/links", b'{"url": "https://a.b/"}', headers={"host": host})
    assert response.status == 400 and app.shortener.links() == []


def test_host_falls_back_to_server() -> None:
    app = make_app()
    body = b'{"url": "https://a.b/"}'
    response = app.handle(
        Request(
            method="POST",
            path="/api/links",
            headers={"content-type": "application/json", "content-length": str(len(body))},
            body=body,
            scheme="https",
            server=("sho.rt", 8443),
            root="/s",
        )
    )
    assert json.loads(response.body)["short_url"].startswith("https://sho.rt:8443/s/")


def test_forwarded_headers_only_from_trusted_proxies() -> None:
    body = b'{"url": "https://a.b/"}'
    spoof = {"x-forwarded-proto": "https", "x-forwarded-for": "6.6.6.6"}
    plain = make_app(trusted_proxies=())
    response = call(plain, "POST", "/api/links", body, headers=spoof, client="10.0.0.1")
    assert json.loads(response.body)["short_url"].startswith("http://")
    trusting = make_app(trusted_proxies=("10.0.0.0/8",))
    response = call(trusting, "POST", "/api/links", body, headers=spoof, client="10.0.0.1")
    assert json.loads(response.body)["short_url"].startswith("https://")
    assert (
        trusting.site.client(
            Request(headers={"x-forwarded-for": "6.6.6.6, 10.0.0.2"}, client="10.0.0.1")
        )
        == "6.6.6.6"
    )


def test_rate_limit_uses_the_forwarded_client_only_when_trusted() -> None:
    app = make_app(rate_limit=1, trusted_proxies=("10.0.0.1",))
    body = b'{"url": "https://a.b/%d"}'
    first = call(
        app,
        "POST",
        "/api/links",
        body % 1,
        headers={"x-forwarded-for": "1.1.1.1"},
        client="10.0.0.1",
    )
    other = call(
        app,
        "POST",
        "/api/links",
        body % 2,
        headers={"x-forwarded-for": "2.2.2.2"},
        client="10.0.0.1",
    )
    again = call(
        app,
        "POST",
        "/api/links",
        body % 3,
        headers={"x-forwarded-for": "1.1.1.1"},
        client="10.0.0.1",
    )
    assert (first.status, other.status, again.status) == (201, 201, 429)
    assert again.header("retry-after")


@pytest.mark.parametrize(
    ("auth", "status"),
    [
        (None, 401),
        ("Bearer nope", 401),
        ("Basic czNjcmV0", 401),
        ("Bearer s3cret", 200),
        ("bearer s3cret", 200),
    ],
    ids=["missing", "wrong", "basic", "right", "case"],
)
def test_admin_token(auth: Optional[str], status: int) -> None:
    app = make_app(admin_token="s3cret")
    headers = {} if auth is None else {"authorization": auth}
    response = call(app, "GET", "/api/links", headers=headers)
    assert response.status == status
    if status == 401:
        assert response.header("www-authenticate")


def test_query_parsing() -> None:
    app = make_app(admin_token="t")
    auth = {"authorization": "Bearer t"}
    for i in range(3):
        call(app, "POST", "/api/links", b'{"url": "https://a.b/%d"}' % i)
    assert call(app, "GET", "/api/links", query="limit=2&limit=3", headers=auth).status == 400
    assert call(app, "GET", "/api/links", query="limit=%FF", headers=auth).status == 400
    assert call(app, "GET", "/api/links", query="limit=", headers=auth).status == 200
    page = json.loads(call(app, "GET", "/api/links", query="limit=2", headers=auth).body)
    assert len(page["links"]) == 2 and page["next"] == page["links"][-1]["code"]


def test_openapi_matches_the_router() -> None:
    """Every documented operation is routed, and answers one of its documented statuses."""
    app = make_app(admin_token="t")
    created = json.loads(call(app, "POST", "/api/links", b'{"url": "https://a.b/"}').body)
    doc = document()
    assert doc["openapi"].startswith("3.1")
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            concrete = path.replace("{code}", created["code"])
            body = b'{"url": "https://c.d/"}' if method == "post" else b""
            response = call(
                app, method.upper(), concrete, body, headers={"authorization": "Bearer t"}
            )
            assert str(response.status) in operation["responses"], (method, path, response.status)
    # And nothing under /api answers that the document does not describe.
    assert call(app, "GET", "/api/other").status == 404


def test_a_hot_link_reuses_its_redirect_and_the_kept_answers_are_bounded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from minilink.core import app as app_module

    monkeypatch.setattr(app_module, "_REDIRECTS_KEPT", 3)
    app = make_app()
    codes = [
        json.loads(call(app, "POST", "/api/links", f'{{"url": "https://a.b/{i}"}}'.encode()).body)[
            "code"
        ]
        for i in range(5)
    ]
    first = call(app, "GET", f"/{codes[0]}")
    assert call(app, "GET", f"/{codes[0]}") is first  # made once, answered again
    for code in codes[1:]:
        assert call(app, "GET", f"/{code}").header("location") == f"https://a.b/{codes.index(code)}"
    assert len(app._redirects) <= 3
    # Every visit still counts, reused answer or not, and a deleted link is gone at once.
    assert app.shortener.resolve(codes[0]).hits == 2
    app.shortener.delete(codes[0])
    assert call(app, "GET", f"/{codes[0]}").status == 410


# -- link options at redirect time, and password-protected links (SPEC section 9) ----

PASSWORD = "open sesame"
FORM_TYPE = "application/x-www-form-urlencoded"


def post_password(
    app: App,
    code: str,
    body: bytes,
    *,
    query: str = "",
    headers: Optional[dict[str, str]] = None,
    client: Optional[str] = "10.0.0.9",
) -> Response:
    h = {"content-type": FORM_TYPE, "content-length": str(len(body)), **(headers or {})}
    return call(app, "POST", f"/{code}", body, query=query, headers=h, client=client)


def hits_of(app: App, code: str) -> int:
    link = app.shortener.store.get(code)
    assert link is not None
    return link.hits


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_a_links_own_redirect_status(status: int) -> None:
    app = make_app(redirect_status=302 if status != 302 else 301)
    app.shortener.shorten("https://a.b/x", alias="st", redirect_status=status)
    answer = call(app, "GET", "/st")
    assert (answer.status, answer.header("location")) == (status, "https://a.b/x")
    assert hits_of(app, "st") == 1
    plain = app.shortener.shorten("https://a.b/y")
    assert call(app, "GET", f"/{plain.code}").status == app.config.redirect_status


def test_forward_query_merges_the_visitors_query() -> None:
    app = make_app()
    app.shortener.shorten("https://a.b/p?a=1&b=2#top", alias="fq", forward_query=True)
    answer = call(app, "GET", "/fq", query="b=9&c=%C3%A9")
    assert answer.header("location") == "https://a.b/p?a=1&b=9&c=%C3%A9#top"
    assert call(app, "GET", "/fq").header("location") == "https://a.b/p?a=1&b=2#top"
    # Without the option the query is ignored, as it always was.
    app.shortener.shorten("https://a.b/p?a=1", alias="nf")
    assert call(app, "GET", "/nf", query="a=2").header("location") == "https://a.b/p?a=1"


@pytest.mark.parametrize(
    "query", ["q=a%20b c", "q=\x01", "q=" + "x" * 5000], ids=["space", "control", "too-long"]
)
def test_a_forwarded_query_that_breaks_the_target_is_a_400_page(query: str) -> None:
    app = make_app()
    app.shortener.shorten("https://a.b/p", alias="fq", forward_query=True)
    for method in ("GET", "HEAD"):
        answer = call(app, method, "/fq", query=query)
        assert answer.status == 400
        assert answer.header("content-type") == "text/html; charset=utf-8"
        assert answer.header("location") is None
    assert hits_of(app, "fq") == 0


def test_a_query_of_non_ascii_bytes_is_forwarded_pure_ascii() -> None:
    app = make_app()
    app.shortener.shorten("https://a.b/p", alias="fq", forward_query=True)
    answer = call(app, "GET", "/fq", query="q=\xff\xfe&r=<>")
    location = answer.header("location") or ""
    assert answer.status == 302 and location.isascii()
    assert location == "https://a.b/p?q=%FF%FE&r=%3C%3E"


@pytest.mark.parametrize("how", ["expired", "used-up"])
def test_fallback_instead_of_410_without_a_hit(how: str) -> None:
    clock = [NOW]
    config = Config(rate_limit=0, redirect_status=301)
    app = App(Shortener(MemoryStore(), config, clock=lambda: clock[0]))
    app.shortener.shorten(
        "https://a.b/x",
        alias="fb",
        expires_in=60,
        max_visits=1,
        fallback_url="https://a.b/sorry",
        redirect_status=308,
    )
    if how == "expired":
        from datetime import timedelta

        clock[0] = NOW + timedelta(seconds=60)
    else:
        assert call(app, "GET", "/fb").status == 308
    before = hits_of(app, "fb")
    for method in ("GET", "HEAD", "GET"):
        answer = call(app, method, "/fb", query="x=1")
        assert (answer.status, answer.header("location")) == (302, "https://a.b/sorry")
        assert answer.header("cache-control") == "no-store"
    assert hits_of(app, "fb") == before
    assert sum(n for _, n in app.shortener.store.daily("fb", "2026-11-01")) == before


def test_a_deleted_link_stays_410_whatever_its_fallback() -> None:
    app = make_app()
    app.shortener.shorten("https://a.b/x", alias="fb", fallback_url="https://a.b/sorry")
    app.shortener.delete("fb")
    answer = call(app, "GET", "/fb")
    assert answer.status == 410 and answer.header("location") is None


def _protected(
    app: App, code: str = "pw", url: str = "https://secret.example/t0p", **kw: Any
) -> None:
    app.shortener.shorten(url, alias=code, password=PASSWORD, **kw)


def _reveals_nothing(answer: Response, url: str = "https://secret.example/t0p") -> None:
    for piece in (url, "secret.example", "t0p"):
        assert piece.encode() not in answer.body
        assert all(piece not in value for _, value in answer.headers)


def test_get_and_head_of_a_protected_link_answer_the_form_and_count_nothing() -> None:
    app = make_app()
    _protected(app, redirect_status=301, forward_query=True)
    get = call(app, "GET", "/pw", query="x=1")
    head = call(app, "HEAD", "/pw", query="x=1")
    assert get.status == 200 and get.header("location") is None
    assert get.header("cache-control") == "no-store"
    assert get.header("content-type") == "text/html; charset=utf-8"
    html = get.body.decode()
    assert '<form method="post">' in html and 'type="password"' in html
    assert 'name="password"' in html and '<label for="password">' in html
    _reveals_nothing(get)
    assert (head.status, head.headers, head.body) == (200, get.headers, b"")
    assert hits_of(app, "pw") == 0


def test_the_form_is_the_same_whatever_the_target() -> None:
    app = make_app()
    _protected(app, "aa", "https://a.example/")
    _protected(app, "bb", "https://a-much-longer-host.example/with/a/long/path?and=query")
    first, second = call(app, "GET", "/aa"), call(app, "GET", "/bb")
    assert first.headers == second.headers
    assert first.body == second.body.replace(b"bb", b"aa")


def test_the_right_password_redirects_with_303_and_counts_the_hit() -> None:
    app = make_app()
    _protected(app, url="https://secret.example/t0p?a=1", redirect_status=308, forward_query=True)
    answer = post_password(app, "pw", b"password=open+sesame", query="b=2")
    assert answer.status == 303
    assert answer.header("location") == "https://secret.example/t0p?a=1&b=2"
    assert hits_of(app, "pw") == 1


def test_a_wrong_password_shows_the_form_again_with_the_error() -> None:
    app = make_app()
    _protected(app)
    answer = post_password(app, "pw", b"password=open+sesam")
    assert answer.status == 403
    assert answer.header("cache-control") == "no-store"
    html = answer.body.decode()
    assert 'id="password-error"' in html and 'aria-invalid="true"' in html
    assert "open sesam" not in html  # what was typed is never written back
    _reveals_nothing(answer)
    assert hits_of(app, "pw") == 0


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (b"", FORM_TYPE, 400),
        (b"password=", FORM_TYPE, 400),
        (b"other=1", FORM_TYPE, 400),
        (b"password=a&password=b", FORM_TYPE, 400),
        (b"password=%FF", FORM_TYPE, 400),
        (b"password=" + b"x" * 1001, FORM_TYPE, 400),
        (b'{"password": "open sesame"}', "application/json", 415),
        (b"password=open+sesame", "text/plain", 415),
    ],
    ids=["empty", "blank", "missing", "repeated", "not-utf8", "too-long", "json", "text"],
)
def test_malformed_password_posts_are_4xx_and_spend_no_guess(
    body: bytes, content_type: str, status: int
) -> None:
    from minilink.core.service import GUESSES

    app = make_app()
    _protected(app)
    for _ in range(GUESSES + 1):
        answer = post_password(app, "pw", body, headers={"content-type": content_type})
        assert answer.status == status, answer.body[:300]
        _reveals_nothing(answer)
    assert post_password(app, "pw", b"password=open+sesame").status == 303


def test_an_oversized_password_body_is_413() -> None:
    app = make_app(max_body_bytes=1024)
    _protected(app)
    answer = post_password(app, "pw", b"password=" + b"x" * 2000)
    assert answer.status == 413
    assert hits_of(app, "pw") == 0


def test_guesses_are_limited_then_429_even_for_the_right_password() -> None:
    from minilink.core.service import GUESSES

    app = make_app()
    _protected(app)
    for _ in range(GUESSES):
        assert post_password(app, "pw", b"password=nope").status == 403
    limited = post_password(app, "pw", b"password=open+sesame")
    assert limited.status == 429
    assert limited.header("retry-after") is not None
    assert 1 <= int(limited.header("retry-after") or 0) <= 60
    assert limited.header("cache-control") == "no-store"
    _reveals_nothing(limited)
    assert hits_of(app, "pw") == 0
    # Another client is not limited by this one's guesses.
    assert post_password(app, "pw", b"password=open+sesame", client="10.0.0.10").status == 303


def test_cross_site_password_posts_are_refused_and_spend_no_guess() -> None:
    from minilink.core.service import GUESSES

    app = make_app()
    _protected(app)
    for _ in range(GUESSES + 1):
        answer = post_password(
            app, "pw", b"password=nope", headers={"origin": "https://evil.example"}
        )
        assert answer.status == 403
    same = post_password(app, "pw", b"password=open+sesame", headers={"origin": "http://sho.rt"})
    assert same.status == 303


@pytest.mark.parametrize("code", ["plain", "nope", "gone"])
def test_post_to_a_link_without_password_is_405_as_before(code: str) -> None:
    app = make_app()
    app.shortener.shorten("https://a.b/x", alias="plain")
    app.shortener.shorten("https://a.b/y", alias="gone", password=PASSWORD)
    app.shortener.delete("gone")
    answer = post_password(app, code, b"password=open+sesame")
    assert answer.status == 405
    assert answer.header("allow") == "GET, HEAD"


def test_an_expired_protected_link_falls_back_without_the_password() -> None:
    clock = [NOW]
    app = App(Shortener(MemoryStore(), Config(rate_limit=0), clock=lambda: clock[0]))
    _protected(app, expires_in=60, fallback_url="https://a.b/over")
    from datetime import timedelta

    clock[0] = NOW + timedelta(minutes=1)
    assert call(app, "GET", "/pw").header("location") == "https://a.b/over"
    posted = post_password(app, "pw", b"password=open+sesame")
    assert (posted.status, posted.header("location")) == (302, "https://a.b/over")
    assert hits_of(app, "pw") == 0


def test_right_and_wrong_passwords_cost_one_hash_each(monkeypatch: pytest.MonkeyPatch) -> None:
    import hashlib

    app = make_app()
    _protected(app)
    calls: list[int] = []
    real = hashlib.scrypt

    def counting(*args: Any, **kwargs: Any) -> bytes:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(hashlib, "scrypt", counting)
    assert post_password(app, "pw", b"password=nope").status == 403
    assert post_password(app, "pw", b"password=open+sesame").status == 303
    assert len(calls) == 2
    call(app, "GET", "/pw")
    call(app, "GET", "/pw+")
    assert len(calls) == 2  # the form and the preview hash nothing
