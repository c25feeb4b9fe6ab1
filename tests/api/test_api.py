"""The JSON API of link management (SPEC section 9), called in process.

The app is called with plain ``Request`` values over a ``MemoryStore`` and a clock
the tests move, so every answer can be checked exactly and the store looked at
directly: an edit that is refused must leave the link as it was, revision included.
The same behaviour through every adapter is the behavioural suite's business
(``tests/adapters/test_behaviour.py``).
"""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta, timezone
from typing import Any, Optional

import pytest

from minilink.core.api import _entity_tags, link_json
from minilink.core.app import App
from minilink.core.config import Config
from minilink.core.http import Request, Response
from minilink.core.links import Link
from minilink.core.service import Shortener
from minilink.storage.memory import MemoryStore

START = datetime(2026, 11, 28, 13, 0, tzinfo=timezone.utc)
TOKEN = "api-test-token"
ADMIN = {"authorization": f"Bearer {TOKEN}"}
MERGE = "application/merge-patch+json"


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class Api:
    """An app over a fresh memory store, and the calls the tests make of it."""

    def __init__(self, **config: Any) -> None:
        self.clock = Clock()
        self.config = Config(**{"admin_token": TOKEN, "rate_limit": 0, **config})
        self.store = MemoryStore()
        shortener = Shortener(
            self.store, self.config, clock=self.clock, randbelow=random.Random(5).randrange
        )
        self.app = App(shortener, self.config)

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        query: str = "",
        headers: Optional[dict[str, str]] = None,
        media_type: str = "application/json",
    ) -> Response:
        h = {"host": "sho.rt"}
        raw = b""
        if body is not None:
            raw = body if isinstance(body, bytes) else json.dumps(body).encode()
            h["content-type"] = media_type
            h["content-length"] = str(len(raw))
        h.update(headers or {})
        return self.app.handle(Request(method=method, path=path, query=query, headers=h, body=raw))

    def create(self, url: str = "https://example.com/", **fields: Any) -> dict[str, Any]:
        response = self.call("POST", "/api/links", {"url": url, **fields}, headers=ADMIN)
        assert response.status == 201, response.body
        link: dict[str, Any] = json.loads(response.body)
        return link

    def patch(
        self,
        code: str,
        patch: Any,
        *,
        if_match: Optional[str] = None,
        media_type: str = MERGE,
        headers: Optional[dict[str, str]] = None,
    ) -> Response:
        h = {**ADMIN, **(headers or {})}
        if if_match is not None:
            h["if-match"] = if_match
        return self.call("PATCH", f"/api/links/{code}", patch, headers=h, media_type=media_type)

    def get(self, code: str, *, admin: bool = True) -> Response:
        return self.call("GET", f"/api/links/{code}", headers=ADMIN if admin else None)

    def list(self, query: str = "") -> dict[str, Any]:
        response = self.call("GET", "/api/links", query=query, headers=ADMIN)
        assert response.status == 200, response.body
        page: dict[str, Any] = json.loads(response.body)
        return page

    def codes(self, query: str = "") -> list[str]:
        return [link["code"] for link in self.list(query)["links"]]


def body(response: Response) -> Any:
    return json.loads(response.body)


def error_code(response: Response) -> str:
    assert response.header("content-type") == "application/json; charset=utf-8"
    return str(body(response)["error"]["code"])


@pytest.fixture
def api() -> Api:
    return Api()


# -- the link JSON -------------------------------------------------------------------------


def test_the_link_json_has_every_field_of_section_9(api: Api) -> None:
    link = api.create(
        "https://example.com/a",
        title="  Launch notes ",
        tags=["News", "2026", "news"],
        redirect_status=308,
        forward_query=True,
        fallback_url="https://example.com/over",
    )
    assert link == {
        "code": link["code"],
        "short_url": f"http://sho.rt/{link['code']}",
        "url": "https://example.com/a",
        "title": "Launch notes",
        "tags": ["news", "2026"],
        "created_at": "2026-11-28T13:00:00Z",
        "updated_at": None,
        "expires_at": None,
        "max_visits": None,
        "hits": 0,
        "redirect_status": 308,
        "forward_query": True,
        "fallback_url": "https://example.com/over",
        "password_protected": False,
    }
    plain = api.create("https://example.com/plain")
    assert (plain["title"], plain["tags"], plain["redirect_status"]) == (None, [], None)
    assert (plain["forward_query"], plain["fallback_url"], plain["password_protected"]) == (
        False,
        None,
        False,
    )


def test_a_protected_link_shows_its_target_to_the_admin_only(api: Api) -> None:
    created = api.call(
        "POST",
        "/api/links",
        {
            "url": "https://example.com/secret",
            "password": "hunter2",
            "fallback_url": "https://example.com/fb",
        },
    )
    assert created.status == 201
    public = body(created)
    assert public["password_protected"] is True
    assert public["url"] is None and public["fallback_url"] is None
    code = public["code"]
    for response in (
        api.get(code, admin=False),
        api.call("GET", f"/api/links/{code}", headers={"authorization": "Bearer wrong"}),
    ):
        assert response.status == 200
        assert body(response) == public
    assert b"example.com/secret" not in api.get(code, admin=False).body
    admin = body(api.get(code))
    assert admin == {
        **public,
        "url": "https://example.com/secret",
        "fallback_url": "https://example.com/fb",
    }
    # The hash is nowhere, not even to the admin, nor in a list.
    stored = api.store.get(code)
    assert stored is not None and stored.password_hash is not None
    everything = api.call("GET", "/api/links", headers=ADMIN).body + api.get(code).body
    assert stored.password_hash.encode() not in everything
    assert b"scrypt" not in everything and b"hash" not in everything
    assert body(api.call("GET", "/api/links", headers=ADMIN))["links"][0]["url"] == (
        "https://example.com/secret"
    )


def test_link_json_defaults_to_the_public_view() -> None:
    link = Link("abc", "https://example.com/", START, password_hash="scrypt$x")
    assert link_json(link, "https://sho.rt")["url"] is None
    assert link_json(link, "https://sho.rt", admin=True)["url"] == "https://example.com/"


def test_every_link_answer_carries_its_etag(api: Api) -> None:
    created = api.call("POST", "/api/links", {"url": "https://example.com/e"})
    assert created.header("etag") == '"r0"'
    again = api.call("POST", "/api/links", {"url": "https://example.com/e"})
    assert (again.status, again.header("etag")) == (200, '"r0"')
    code = body(created)["code"]
    assert api.get(code).header("etag") == '"r0"'
    head = api.call("HEAD", f"/api/links/{code}")
    assert (head.status, head.header("etag"), head.body) == (200, '"r0"', b"")
    edited = api.patch(code, {"title": "x"})
    assert edited.header("etag") == '"r1"'
    assert api.get(code).header("etag") == '"r1"'
    # Hits are no edits: they leave the ETag alone.
    assert api.call("GET", f"/{code}").status == 302
    assert api.get(code).header("etag") == '"r1"'
    # Answers that are not one link carry none.
    assert api.call("GET", "/api/links", headers=ADMIN).header("etag") is None
    assert api.call("GET", f"/api/links/{code}/stats").header("etag") is None


def test_if_none_match_is_not_answered_with_304(api: Api) -> None:
    code = api.create()["code"]
    response = api.call("GET", f"/api/links/{code}", headers={"if-none-match": '"r0"'})
    assert response.status == 200
    assert response.header("cache-control") == "no-store"


# -- creation with options -----------------------------------------------------------------


@pytest.mark.parametrize(
    "fields",
    [
        {"title": "x" * 201},
        {"title": "a\nb"},
        {"title": 5},
        {"tags": "news"},
        {"tags": ["a b"]},
        {"tags": [f"t{i}" for i in range(11)]},
        {"tags": [1]},
        {"redirect_status": 303},
        {"redirect_status": 301.0},
        {"redirect_status": True},
        {"forward_query": "yes"},
        {"forward_query": 1},
        {"fallback_url": "javascript:alert(1)"},
        {"fallback_url": 5},
        {"password": ""},
        {"password": 12345},
        {"password": "x" * 1001},
        {"hits": 5},
        {"password_hash": "scrypt$15$8$1$x$y"},
    ],
    ids=lambda fields: next(iter(fields)) + "=" + repr(next(iter(fields.values())))[:12],
)
def test_creation_refuses_bad_options(api: Api, fields: dict[str, Any]) -> None:
    response = api.call("POST", "/api/links", {"url": "https://example.com/", **fields})
    assert response.status == 400, response.body
    assert error_code(response) in ("bad_request", "invalid_url")
    assert api.list("state=all")["links"] == []


def test_creation_with_options_is_never_deduplicated(api: Api) -> None:
    plain = api.create("https://example.com/d")
    titled = api.create("https://example.com/d", title="Docs")
    assert titled["code"] != plain["code"]
    locked = api.create("https://example.com/d", password="pw")
    assert locked["code"] not in (plain["code"], titled["code"])
    assert locked["password_protected"] is True


def test_created_password_lets_the_visitor_through(api: Api) -> None:
    code = api.create("https://example.com/locked", password="open sesame")["code"]
    form = api.call("GET", f"/{code}")
    assert form.status == 200 and form.header("location") is None
    right = b"password=open+sesame"
    posted = api.app.handle(
        Request(
            method="POST",
            path=f"/{code}",
            headers={
                "host": "sho.rt",
                "content-type": "application/x-www-form-urlencoded",
                "content-length": str(len(right)),
            },
            body=right,
        )
    )
    assert (posted.status, posted.header("location")) == (303, "https://example.com/locked")


# -- PATCH: each field -----------------------------------------------------------------------

EDITS = [
    ("url", "HTTPS://Example.COM/new?q=1", "url", "https://example.com/new?q=1"),
    ("title", " New title ", "title", "New title"),
    ("tags", ["B", "a", "b"], "tags", ["b", "a"]),
    ("expires_at", "2027-01-01T01:00:00+01:00", "expires_at", "2027-01-01T00:00:00Z"),
    ("max_visits", 7, "max_visits", 7),
    ("redirect_status", 301, "redirect_status", 301),
    ("forward_query", True, "forward_query", True),
    ("fallback_url", "https://example.com/fb", "fallback_url", "https://example.com/fb"),
    ("password", "s3cret", "password_protected", True),
]


@pytest.mark.parametrize(("key", "value", "field", "shown"), EDITS, ids=[edit[0] for edit in EDITS])
@pytest.mark.parametrize("media_type", [MERGE, "application/json", f"{MERGE}; charset=utf-8"])
def test_patch_changes_one_field(
    api: Api, key: str, value: Any, field: str, shown: Any, media_type: str
) -> None:
    before = api.create("https://example.com/old")
    api.clock.advance(60)
    response = api.patch(before["code"], {key: value}, media_type=media_type)
    assert response.status == 200, response.body
    after = body(response)
    assert after[field] == shown
    assert after["updated_at"] == "2026-11-28T13:01:00Z"
    assert response.header("etag") == '"r1"'
    unchanged = {k for k in before if k not in (field, "updated_at")}
    assert {k: after[k] for k in unchanged} == {k: before[k] for k in unchanged}
    assert body(api.get(before["code"])) == after


def test_patch_sets_and_removes_a_password(api: Api) -> None:
    code = api.create("https://example.com/p")["code"]
    assert body(api.patch(code, {"password": "pw1"}))["password_protected"] is True
    assert body(api.get(code, admin=False))["url"] is None
    first = api.store.get(code)
    assert body(api.patch(code, {"password": "pw2"}))["password_protected"] is True
    second = api.store.get(code)
    assert first is not None and second is not None
    assert first.password_hash != second.password_hash
    assert body(api.patch(code, {"password": None}))["password_protected"] is False
    assert body(api.get(code, admin=False))["url"] == "https://example.com/p"
    assert api.call("GET", f"/{code}").status == 302


def test_null_clears_every_clearable_field(api: Api) -> None:
    code = api.create(
        "https://example.com/c",
        title="T",
        tags=["x"],
        expires_in=3600,
        max_visits=5,
        redirect_status=307,
        forward_query=True,
        fallback_url="https://example.com/f",
        password="pw",
    )["code"]
    cleared = api.patch(
        code,
        dict.fromkeys(
            (
                "title",
                "tags",
                "expires_at",
                "max_visits",
                "redirect_status",
                "forward_query",
                "fallback_url",
                "password",
            )
        ),
    )
    assert cleared.status == 200, cleared.body
    link = body(cleared)
    assert (link["title"], link["tags"], link["expires_at"], link["max_visits"]) == (
        None,
        [],
        None,
        None,
    )
    assert (link["redirect_status"], link["forward_query"], link["fallback_url"]) == (
        None,
        False,
        None,
    )
    assert link["password_protected"] is False
    # Cleared down to its URL, the link is plain again.
    stored = api.store.get(code)
    assert stored is not None and stored.plain


def test_a_patch_may_change_several_fields_at_once(api: Api) -> None:
    code = api.create("https://example.com/m")["code"]
    link = body(api.patch(code, {"url": "https://example.org/", "title": "Both", "tags": ["a"]}))
    assert (link["url"], link["title"], link["tags"]) == ("https://example.org/", "Both", ["a"])
    assert link["hits"] == 0 and link["code"] == code


def test_an_expired_or_used_up_link_may_be_edited_back_to_life(api: Api) -> None:
    code = api.create("https://example.com/soon", expires_in=60)["code"]
    api.clock.advance(61)
    assert api.get(code).status == 410
    revived = api.patch(code, {"expires_at": None})
    assert revived.status == 200
    assert api.call("GET", f"/{code}").status == 302
    used = api.create("https://example.com/once", max_visits=1)["code"]
    assert api.call("GET", f"/{used}").status == 302
    assert api.call("GET", f"/{used}").status == 410
    assert api.patch(used, {"max_visits": 2}).status == 200
    assert api.call("GET", f"/{used}").status == 302
    # An expiry in the past is allowed: the link then answers as expired.
    assert api.patch(code, {"expires_at": "2020-01-01T00:00:00Z"}).status == 200
    assert api.get(code).status == 410


def test_an_empty_patch_changes_nothing(api: Api) -> None:
    link = api.create("https://example.com/e")
    response = api.patch(link["code"], {}, if_match='"r0"')
    assert response.status == 200
    assert body(response) == link
    assert response.header("etag") == '"r0"'
    stored = api.store.get(link["code"])
    assert stored is not None and (stored.revision, stored.updated_at) == (0, None)
    assert api.patch(link["code"], {}, if_match='"r7"').status == 412


# -- PATCH: refusals change nothing ------------------------------------------------------------

BAD_PATCHES: dict[str, tuple[Any, str]] = {
    "unknown-key": ({"colour": "red"}, "bad_request"),
    "unknown-and-good": ({"title": "ok", "colour": "red"}, "bad_request"),
    "code": ({"code": "other"}, "bad_request"),
    "hits": ({"hits": 0}, "bad_request"),
    "created_at": ({"created_at": "2020-01-01T00:00:00Z"}, "bad_request"),
    "updated_at": ({"updated_at": None}, "bad_request"),
    "password_protected": ({"password_protected": False}, "bad_request"),
    "short_url": ({"short_url": "x"}, "bad_request"),
    "alias": ({"alias": "new"}, "bad_request"),
    "expires_in": ({"expires_in": 60}, "bad_request"),
    "url-null": ({"url": None}, "bad_request"),
    "url-bad": ({"url": "javascript:alert(1)"}, "invalid_url"),
    "url-self": ({"url": "http://sho.rt/abc"}, "invalid_url"),
    "url-number": ({"url": 5}, "bad_request"),
    "url-object": ({"url": {"host": "x"}}, "bad_request"),
    "title-long": ({"title": "x" * 201}, "bad_request"),
    "title-object": ({"title": {"a": None}}, "bad_request"),
    "tags-string": ({"tags": "a,b"}, "bad_request"),
    "tags-nested": ({"tags": [["a"]]}, "bad_request"),
    "tags-object": ({"tags": {"a": 1}}, "bad_request"),
    "tags-eleven": ({"tags": [f"t{i}" for i in range(11)]}, "bad_request"),
    "expires-garbage": ({"expires_at": "soon"}, "bad_request"),
    "expires-naive": ({"expires_at": "2027-01-01T00:00:00"}, "bad_request"),
    "expires-number": ({"expires_at": 1700000000}, "bad_request"),
    "expires-far": ({"expires_at": "2300-01-01T00:00:00Z"}, "bad_request"),
    "visits-zero": ({"max_visits": 0}, "bad_request"),
    "visits-float": ({"max_visits": 2.0}, "bad_request"),
    "visits-bool": ({"max_visits": True}, "bad_request"),
    "visits-huge": ({"max_visits": 2**31}, "bad_request"),
    "status-303": ({"redirect_status": 303}, "bad_request"),
    "status-string": ({"redirect_status": "301"}, "bad_request"),
    "forward-string": ({"forward_query": "true"}, "bad_request"),
    "fallback-bad": ({"fallback_url": "data:text/html,x"}, "invalid_url"),
    "password-empty": ({"password": ""}, "bad_request"),
    "password-number": ({"password": 1234}, "bad_request"),
    "password-list": ({"password": ["a"]}, "bad_request"),
    "good-then-bad": ({"title": "fine", "max_visits": -1}, "bad_request"),
    "array": ([{"title": "x"}], "bad_request"),
    "string": ("title", "bad_request"),
    "null": (None, "bad_request"),
    "number": (1, "bad_request"),
    "true": (True, "bad_request"),
}


@pytest.mark.parametrize(("patch", "code"), BAD_PATCHES.values(), ids=BAD_PATCHES.keys())
def test_a_bad_patch_is_400_and_changes_nothing(api: Api, patch: Any, code: str) -> None:
    link = api.create("https://example.com/keep", title="Kept", tags=["k"])
    before = api.store.get(link["code"])
    raw = json.dumps(patch).encode()
    response = api.patch(link["code"], raw)
    assert response.status == 400, response.body
    assert error_code(response) == code
    assert api.store.get(link["code"]) == before


BAD_BODIES = {
    "not-json": b"{title: 1}",
    "truncated": b'{"title": "x"',
    "duplicate-key": b'{"title": "a", "title": "b"}',
    "nan": b'{"max_visits": NaN}',
    "deep": b'{"title": ' + b"[" * 100 + b"]" * 100 + b"}",
    "invalid-utf8": b'{"title": "\xff"}',
    "bom": b'\xef\xbb\xbf{"title": "x"}',
    "empty": b"",
    "many-digits": b'{"max_visits": ' + b"9" * 5000 + b"}",
}


@pytest.mark.parametrize("raw", BAD_BODIES.values(), ids=BAD_BODIES.keys())
def test_a_malformed_body_is_400(api: Api, raw: bytes) -> None:
    code = api.create()["code"]
    before = api.store.get(code)
    h = {**ADMIN, "content-type": MERGE, "content-length": str(len(raw))}
    response = api.app.handle(
        Request(
            method="PATCH", path=f"/api/links/{code}", headers={"host": "sho.rt", **h}, body=raw
        )
    )
    assert (response.status, error_code(response)) == (400, "bad_request")
    assert api.store.get(code) == before


@pytest.mark.parametrize(
    "media_type",
    ["text/plain", "application/x-www-form-urlencoded", "application/json-patch+json", ""],
)
def test_other_media_types_are_415_with_accept_patch(api: Api, media_type: str) -> None:
    code = api.create()["code"]
    raw = b'{"title": "x"}'
    h = {**ADMIN, "content-length": str(len(raw))}
    if media_type:
        h["content-type"] = media_type
    response = api.app.handle(
        Request(
            method="PATCH", path=f"/api/links/{code}", headers={"host": "sho.rt", **h}, body=raw
        )
    )
    assert (response.status, error_code(response)) == (415, "unsupported_media_type")
    assert response.header("accept-patch") == "application/merge-patch+json, application/json"
    assert "merge-patch+json" in body(response)["error"]["message"]
    assert body(api.get(code))["title"] is None
    # The header is the PATCH's: a creation refused for its type does not carry it.
    created = api.call("POST", "/api/links", raw, media_type="text/plain")
    assert created.status == 415 and created.header("accept-patch") is None


def test_a_compressed_patch_is_415(api: Api) -> None:
    code = api.create()["code"]
    response = api.patch(code, {"title": "x"}, headers={"content-encoding": "gzip"})
    assert response.status == 415
    assert "Compressed" in body(response)["error"]["message"]


def test_a_body_over_the_limit_is_413(api: Api) -> None:
    small = Api(max_body_bytes=100)
    code = small.create()["code"]
    response = small.patch(code, {"title": "x" * 150})
    assert (response.status, error_code(response)) == (413, "payload_too_large")


def test_unknown_and_deleted_links(api: Api) -> None:
    assert error_code(api.patch("nope123", {"title": "x"})) == "not_found"
    assert api.patch("nope123", {"title": "x"}).status == 404
    assert api.patch("%FF", {"title": "x"}).status in (400, 404)
    code = api.create()["code"]
    assert api.call("DELETE", f"/api/links/{code}", headers=ADMIN).status == 204
    for patch in ({"title": "x"}, {}, {"url": None}):
        response = api.patch(code, patch)
        assert (response.status, error_code(response)) == (410, "gone")
    # Existence is decided before the precondition and the content (RFC 9110 §13.2.1).
    assert api.patch(code, {"hits": 1}, if_match='"r99"').status == 410
    assert api.patch("nope123", {"hits": 1}, if_match="garbage").status == 404


def test_patch_is_for_the_admin(api: Api) -> None:
    code = api.create()["code"]
    for headers in ({}, {"authorization": "Bearer wrong"}, {"authorization": TOKEN}):
        response = api.call(
            "PATCH", f"/api/links/{code}", {"title": "x"}, headers=headers, media_type=MERGE
        )
        assert (response.status, error_code(response)) == (401, "unauthorized")
        assert response.header("www-authenticate")
    closed = Api(admin_token=None)  # no admin token: links are made, never edited
    made = closed.call("POST", "/api/links", {"url": "https://example.com/"})
    code = body(made)["code"]
    response = closed.call("PATCH", f"/api/links/{code}", {"title": "x"}, media_type=MERGE)
    assert (response.status, error_code(response)) == (403, "forbidden")
    assert body(closed.call("GET", f"/api/links/{code}"))["title"] is None


def test_patch_takes_no_query_parameter(api: Api) -> None:
    code = api.create()["code"]
    response = api.call(
        "PATCH",
        f"/api/links/{code}",
        {"title": "x"},
        query="force=1",
        headers=ADMIN,
        media_type=MERGE,
    )
    assert response.status == 400
    assert body(api.get(code))["title"] is None


def test_the_methods_of_a_link(api: Api) -> None:
    code = api.create()["code"]
    response = api.call("PUT", f"/api/links/{code}", {"title": "x"}, headers=ADMIN)
    assert response.status == 405
    assert response.header("allow") == "GET, HEAD, PATCH, DELETE"


# -- If-Match --------------------------------------------------------------------------------


def test_a_stale_if_match_is_412_and_changes_nothing(api: Api) -> None:
    code = api.create("https://example.com/v0")["code"]
    first = api.patch(code, {"url": "https://example.com/v1"}, if_match='"r0"')
    assert first.status == 200
    assert first.header("etag") == '"r1"'
    before = api.store.get(code)
    # A second editor who read revision 0 cannot overwrite the first one's edit.
    stale = api.patch(code, {"url": "https://example.com/other"}, if_match='"r0"')
    assert (stale.status, error_code(stale)) == (412, "precondition_failed")
    assert '"r1"' in body(stale)["error"]["message"]
    assert stale.header("etag") is None
    assert api.store.get(code) == before
    assert api.patch(code, {"title": "x"}, if_match='"r1"').status == 200


@pytest.mark.parametrize(
    ("if_match", "status"),
    [
        ('"r2"', 200),
        ("*", 200),
        (" * ", 200),
        ('"r1", "r2"', 200),
        ('"r0","r2"', 200),
        (',, "r2" ,', 200),
        ('"x", "r2"', 200),
        ('"r1"', 412),
        ('"r3"', 412),
        ('W/"r2"', 412),  # weak tags never match strongly
        ('W/"r2", "r2"', 200),
        ('"R2"', 412),
        ('"r02"', 412),
        ('"r2 "', 412),
        ("r2", 412),  # no quotes: no entity tag at all
        ('"r2', 412),
        ('r2"', 412),
        ("'r2'", 412),
        ('"r2" garbage', 412),
        ('"r2" "r1"', 412),
        ('"r2";', 412),
        ('*, "r2"', 412),
        ("**", 412),
        ("", 412),
        (",", 412),
        ('"', 412),
        ('""', 412),
        ('"\x7f"', 412),
        ('"r2\\"', 412),
        ("\xff\xfe", 412),
        ('"r2\xe9"', 412),
        ("<xss>", 412),
        ('"' + "r" * 10_000 + '"', 412),
        (", ".join(['"r1"'] * 1000), 412),
    ],
)
def test_if_match(api: Api, if_match: str, status: int) -> None:
    code = api.create()["code"]
    for title in ("one", "two"):
        assert api.patch(code, {"title": title}).status == 200
    before = api.store.get(code)
    assert before is not None and before.revision == 2
    response = api.patch(code, {"title": "three"}, if_match=if_match)
    assert response.status == status, (if_match, response.body)
    if status == 412:
        assert error_code(response) == "precondition_failed"
        assert api.store.get(code) == before
    else:
        assert response.header("etag") == '"r3"'


def test_the_if_match_grammar() -> None:
    assert _entity_tags('"a", W/"b",  "c"') == {'"a"', '"c"'}
    assert _entity_tags('W/"b"') == set()  # a valid list, of no strong tag
    assert _entity_tags('"\x21\x23\x7e\x80\xff"') == {'"\x21\x23\x7e\x80\xff"'}
    for bad in ("", ",", " , ", "a", '"a" b', '"a"b', 'w/"a"', 'W/ "a"', '"a""b"', '"\t"'):
        assert _entity_tags(bad) is None, bad


def test_two_editors_one_if_match_each(api: Api) -> None:
    """What If-Match is for: of two edits from one version, the second is refused."""
    code = api.create("https://example.com/shared")["code"]
    etag = api.get(code).header("etag")
    assert etag is not None
    alice = api.patch(code, {"title": "Alice"}, if_match=etag)
    bob = api.patch(code, {"title": "Bob"}, if_match=etag)
    assert (alice.status, bob.status) == (200, 412)
    assert body(api.get(code))["title"] == "Alice"
    # Without If-Match, the last edit wins: the header is the client's choice.
    assert api.patch(code, {"title": "Bob"}).status == 200


@pytest.mark.parametrize(
    ("if_match", "status"),
    [('"r1"', 204), ("*", 204), ('"r0", "r1"', 204), ('"r0"', 412), ('W/"r1"', 412), ("r1", 412)],
)
def test_a_delete_with_if_match_deletes_only_the_version_it_names(
    api: Api, if_match: str, status: int
) -> None:
    code = api.create()["code"]
    assert api.patch(code, {"title": "edited"}).status == 200
    before = api.store.get(code)
    response = api.call("DELETE", f"/api/links/{code}", headers={**ADMIN, "if-match": if_match})
    assert response.status == status, response.body
    if status == 412:
        assert error_code(response) == "precondition_failed"
        assert '"r1"' in body(response)["error"]["message"]
        assert api.store.get(code) == before
    else:
        assert api.get(code).status == 410


def test_a_delete_with_if_match_of_a_missing_or_deleted_link_is_404_or_410(api: Api) -> None:
    gone = api.create()["code"]
    assert api.call("DELETE", f"/api/links/{gone}", headers=ADMIN).status == 204
    for code, status in ((gone, 410), ("nosuchcode", 404)):
        response = api.call("DELETE", f"/api/links/{code}", headers={**ADMIN, "if-match": '"r0"'})
        assert response.status == status


def test_the_precondition_is_checked_before_the_content(api: Api) -> None:
    code = api.create()["code"]
    assert api.patch(code, {"max_visits": 0}, if_match='"r5"').status == 412
    assert api.patch(code, {"max_visits": 0}, if_match='"r0"').status == 400


# -- listing and search ----------------------------------------------------------------------


def seed(api: Api) -> dict[str, str]:
    """Five links, a second apart: names -> codes."""
    codes = {}
    specs = {
        "alpha": {
            "url": "https://example.com/alpha",
            "title": "The Alpha page",
            "tags": ["docs", "a"],
        },
        "beta": {"url": "https://example.org/BETA", "tags": ["docs"]},
        "soon": {"url": "https://example.net/soon", "expires_in": 30, "tags": ["a"]},
        "gone": {"url": "https://example.net/gone", "tags": ["docs"]},
        "once": {"url": "https://example.net/once", "max_visits": 1},
    }
    for name, spec in specs.items():
        response = api.call("POST", "/api/links", spec, headers=ADMIN)
        assert response.status == 201, response.body
        codes[name] = body(response)["code"]
        api.clock.advance(1)
    assert api.call("DELETE", f"/api/links/{codes['gone']}", headers=ADMIN).status == 204
    assert api.call("GET", f"/{codes['once']}").status == 302
    for _ in range(3):
        assert api.call("GET", f"/{codes['beta']}").status == 302
    api.clock.advance(60)  # "soon" has expired
    return codes


def names(api: Api, codes: dict[str, str], query: str) -> list[str]:
    by_code = {code: name for name, code in codes.items()}
    return [by_code[code] for code in api.codes(query)]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["beta", "alpha"]),
        ("state=live", ["beta", "alpha"]),
        ("state=", ["beta", "alpha"]),
        ("state=expired", ["once", "soon"]),
        ("state=deleted", ["gone"]),
        ("state=all", ["once", "gone", "soon", "beta", "alpha"]),
        ("q=alpha", ["alpha"]),
        ("q=ALPHA+PAGE", ["alpha"]),
        ("q=beta", ["beta"]),
        ("q=example.org", ["beta"]),
        ("q=example.net&state=all", ["once", "gone", "soon"]),
        ("q=", ["beta", "alpha"]),
        ("q=nothing-like-it", []),
        ("tag=docs", ["beta", "alpha"]),
        ("tag=DOCS", ["beta", "alpha"]),
        ("tag=docs&state=all", ["gone", "beta", "alpha"]),
        ("tag=a&state=expired", ["soon"]),
        ("tag=none", []),
        ("tag=docs&q=alpha", ["alpha"]),
        ("sort=hits", ["beta", "alpha"]),
        ("sort=hits&state=all", ["beta", "once", "gone", "soon", "alpha"]),
        ("sort=created&state=all", ["once", "gone", "soon", "beta", "alpha"]),
        ("sort=updated", ["beta", "alpha"]),
    ],
)
def test_search(api: Api, query: str, expected: list[str]) -> None:
    codes = seed(api)
    assert names(api, codes, query) == expected


def test_sort_by_updated_puts_the_last_edit_first(api: Api) -> None:
    codes = seed(api)
    assert api.patch(codes["alpha"], {"title": "edited"}).status == 200
    assert names(api, codes, "sort=updated") == ["alpha", "beta"]
    assert names(api, codes, "sort=created") == ["beta", "alpha"]


def test_paging_follows_next_in_every_order(api: Api) -> None:
    made = []
    for i in range(7):
        made.append(api.create(f"https://example.com/{i}", tags=["p"])["code"])
        api.clock.advance(1)
        for _ in range(i % 3):
            api.call("GET", f"/{made[-1]}")
    for query in ("", "sort=hits", "sort=updated", "tag=p", "q=example&sort=hits"):
        whole = api.codes(f"{query}&limit=1000")
        assert sorted(whole) == sorted(made)
        seen: list[str] = []
        after = ""
        while True:
            page = api.list(f"{query}&limit=3&after={after}")
            seen += [link["code"] for link in page["links"]]
            assert len(page["links"]) <= 3
            if page["next"] is None:
                break
            assert page["next"] == page["links"][-1]["code"]
            after = page["next"]
        assert seen == whole, query


def test_a_page_that_is_not_full_has_no_next(api: Api) -> None:
    api.create("https://example.com/1")
    page = api.list("limit=2")
    assert len(page["links"]) == 1 and page["next"] is None
    assert api.list("after=unknown1")["links"] == []


@pytest.mark.parametrize(
    "query",
    [
        "state=gone",
        "state=LIVE",
        "sort=newest",
        "sort=hits&sort=created",
        "tag=a b",
        "tag=" + "a" * 33,
        "tag=%C3%A9",
        "q=" + "x" * 1001,
        "limit=0",
        "limit=1001",
        "limit=-1",
        "limit=ten",
        "search=x",
        "q=%FF",
        "state=live&state=all",
    ],
)
def test_bad_list_parameters_are_400(api: Api, query: str) -> None:
    response = api.call("GET", "/api/links", query=query, headers=ADMIN)
    assert (response.status, error_code(response)) == (400, "bad_request"), query


def test_the_list_is_for_the_admin(api: Api) -> None:
    for path in ("/api/links", "/api/tags"):
        assert api.call("GET", path).status == 401
        assert api.call("GET", path, headers={"authorization": "Bearer no"}).status == 401
        assert Api(admin_token=None).call("GET", path, headers=ADMIN).status == 403


# -- tags -----------------------------------------------------------------------------------


def test_tags_count_the_links_that_are_not_deleted(api: Api) -> None:
    seed(api)
    response = api.call("GET", "/api/tags", headers=ADMIN)
    assert response.status == 200
    assert response.header("content-type") == "application/json; charset=utf-8"
    # "gone" is deleted; "soon" has expired and still counts.
    assert body(response) == {"tags": [{"tag": "a", "links": 2}, {"tag": "docs", "links": 2}]}
    assert body(Api().call("GET", "/api/tags", headers=ADMIN)) == {"tags": []}


def test_tags_follow_edits(api: Api) -> None:
    code = api.create(tags=["one", "two"])["code"]
    assert api.patch(code, {"tags": ["two", "three"]}).status == 200
    tags = body(api.call("GET", "/api/tags", headers=ADMIN))["tags"]
    assert tags == [{"tag": "three", "links": 1}, {"tag": "two", "links": 1}]


def test_the_tags_route(api: Api) -> None:
    assert api.call("GET", "/api/tags", query="limit=1", headers=ADMIN).status == 400
    head = api.call("HEAD", "/api/tags", headers=ADMIN)
    assert (head.status, head.body) == (200, b"")
    post = api.call("POST", "/api/tags", {"tag": "x"}, headers=ADMIN)
    assert (post.status, post.header("allow")) == (405, "GET, HEAD")
    assert api.call("GET", "/api/tags/docs", headers=ADMIN).status == 404
