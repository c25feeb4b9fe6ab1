"""The Shlink dialect in process: every route, field, error and auth case."""

from __future__ import annotations

import json
from typing import Any

import pytest
from dialect_helpers import ADMIN, API_KEY, NOW, Dialects

from minilink.dialects.shlink import VERSION

V3 = "/rest/v3"
ERR = "https://shlink.io/api/error/"


def body(response: Any) -> Any:
    return json.loads(response.body)


def create(dialects: Dialects, **data: Any) -> dict[str, Any]:
    response = dialects.shlink("POST", f"{V3}/short-urls", data)
    assert response.status == 200, response.body
    return body(response)  # type: ignore[no-any-return]


def test_off_without_keys() -> None:
    off = Dialects(shlink_api_keys=())
    for path in ("/rest/health", f"{V3}/short-urls", f"{V3}/health"):
        response = off.shlink("GET", path)
        assert response.status == 404
        assert response.header("content-type").startswith("text/html")


def test_rest_alone_is_still_a_code(dialects: Dialects) -> None:
    """A link named rest, made before the word was reserved, keeps its path."""
    from minilink.core.errors import InvalidAlias
    from minilink.core.links import Link

    with pytest.raises(InvalidAlias):
        dialects.shortener.shorten("https://example.com/rest", alias="rest")
    old = Link(code="rest", url="https://example.com/rest", created_at=NOW, alias=True)
    assert dialects.shortener.store.insert(old) is not None
    assert dialects.request("GET", "/rest").header("location") == "https://example.com/rest"
    assert dialects.request("GET", "/nope-rest").status == 404


def test_health(dialects: Dialects) -> None:
    for path in ("/rest/health", f"{V3}/health", "/rest/v2/health"):
        response = dialects.shlink("GET", path, key=None)
        assert response.status == 200
        assert response.header("content-type") == "application/health+json"
        assert body(response)["status"] == "pass"
        assert body(response)["version"] == VERSION


def test_auth(dialects: Dialects) -> None:
    missing = dialects.shlink("GET", f"{V3}/short-urls", key=None)
    assert missing.status == 401
    assert missing.header("content-type") == "application/problem+json"
    assert body(missing)["type"] == ERR + "missing-authentication"
    assert body(missing)["title"] == "Invalid authorization"
    for key in ("wrong", ADMIN, API_KEY.upper()):
        wrong = dialects.shlink("GET", f"{V3}/short-urls", key=key)
        assert wrong.status == 401
        assert body(wrong) == {
            "type": ERR + "invalid-api-key",
            "title": "Invalid API key",
            "detail": "Provided API key does not exist or is invalid.",
            "status": 401,
        }
    bearer = dialects.shlink(
        "GET", f"{V3}/short-urls", key=None, headers={"authorization": f"Bearer {ADMIN}"}
    )
    assert bearer.status == 401


def test_create_read_answer_shape(dialects: Dialects) -> None:
    made = create(
        dialects,
        longUrl="https://example.com/shlink",
        customSlug="sh",
        tags=["Docs", "tech"],
        title="Shlink link",
        validUntil="2027-01-01T00:00:00+02:00",
        maxVisits=5,
        crawlable=False,
        validateUrl=False,
    )
    assert made == {
        "shortCode": "sh",
        "shortUrl": "http://sho.rt/sh",
        "longUrl": "https://example.com/shlink",
        "deviceLongUrls": {"android": None, "ios": None, "desktop": None},
        "dateCreated": "2026-11-28T13:00:00+00:00",
        "visitsSummary": {"total": 0, "nonBots": 0, "bots": 0},
        "visitsCount": 0,
        "tags": ["docs", "tech"],
        "meta": {"validSince": None, "validUntil": "2026-12-31T22:00:00+00:00", "maxVisits": 5},
        "domain": None,
        "title": "Shlink link",
        "crawlable": False,
        "forwardQuery": True,
        "hasRedirectRules": False,
    }
    dialects.request("GET", "/sh")
    read = dialects.shlink("GET", f"{V3}/short-urls/sh")
    assert read.status == 200
    assert body(read)["visitsSummary"] == {"total": 1, "nonBots": 1, "bots": 0}
    plain = create(dialects, longUrl="https://example.com/plain", forwardQuery=False)
    assert len(plain["shortCode"]) == 7 and plain["forwardQuery"] is False


def test_create_errors(dialects: Dialects) -> None:
    create(dialects, longUrl="https://example.com/a", customSlug="taken")
    cases = [
        ({"customSlug": "x"}, "invalid-data", ["longUrl"]),
        ({"longUrl": "javascript:alert(1)"}, "invalid-data", ["longUrl"]),
        ({"longUrl": "https://u@example.com/"}, "invalid-data", ["longUrl"]),
        ({"longUrl": "http://sho.rt/taken"}, "invalid-data", ["longUrl"]),
        (
            {"longUrl": "https://example.com/", "customSlug": "bad slug"},
            "invalid-data",
            ["customSlug"],
        ),
        ({"longUrl": "https://example.com/", "maxVisits": 0}, "invalid-data", ["maxVisits"]),
        ({"longUrl": "https://example.com/", "maxVisits": "3"}, "invalid-data", ["maxVisits"]),
        (
            {"longUrl": "https://example.com/", "validUntil": "tomorrow"},
            "invalid-data",
            ["validUntil"],
        ),
        (
            {"longUrl": "https://example.com/", "validUntil": "2020-01-01T00:00:00Z"},
            "invalid-data",
            ["validUntil"],
        ),
        (
            {"longUrl": "https://example.com/", "validSince": "2030-01-01T00:00:00Z"},
            "invalid-data",
            ["validSince"],
        ),
        ({"longUrl": "https://example.com/", "tags": "one"}, "invalid-data", ["tags"]),
        ({"longUrl": "https://example.com/", "tags": ["no spaces"]}, "invalid-data", ["tags"]),
        ({"longUrl": "https://example.com/", "title": 5}, "invalid-data", ["title"]),
        (
            {"longUrl": "https://example.com/", "forwardQuery": "yes"},
            "invalid-data",
            ["forwardQuery"],
        ),
        (
            {"longUrl": "https://example.com/", "domain": "other.example"},
            "invalid-data",
            ["domain"],
        ),
        (
            {"longUrl": "https://example.com/", "shortCodeLength": 2},
            "invalid-data",
            ["shortCodeLength"],
        ),
        (
            {"longUrl": "https://example.com/", "deviceLongUrls": {"ios": "https://x.example/"}},
            "invalid-data",
            ["deviceLongUrls"],
        ),
    ]
    for data, kind, elements in cases:
        response = dialects.shlink("POST", f"{V3}/short-urls", data)
        assert response.status == 400, data
        problem = body(response)
        assert (problem["type"], problem["title"]) == (ERR + kind, "Invalid data"), data
        assert problem["invalidElements"] == elements, data
    slug = dialects.shlink(
        "POST", f"{V3}/short-urls", {"longUrl": "https://e.example/", "customSlug": "taken"}
    )
    assert (slug.status, body(slug)) == (
        400,
        {
            "type": ERR + "non-unique-slug",
            "title": "Invalid custom slug",
            "detail": 'Provided slug "taken" is already in use.',
            "status": 400,
            "customSlug": "taken",
        },
    )
    for raw in (b"[1]", b"{", b'{"longUrl": "a", "longUrl": "b"}'):
        response = dialects.request(
            "POST",
            f"{V3}/short-urls",
            body=raw,
            headers={"x-api-key": API_KEY, "content-type": "application/json"},
        )
        assert response.status == 400
        assert body(response)["type"] == ERR + "invalid-data"
    form = dialects.request(
        "POST",
        f"{V3}/short-urls",
        body=b"longUrl=x",
        headers={"x-api-key": API_KEY, "content-type": "application/x-www-form-urlencoded"},
    )
    assert form.status == 415 and body(form)["type"] == "about:blank"
    assert dialects.shortener.search(state="all", limit=10)[0].code == "taken"


def test_find_if_exists(dialects: Dialects) -> None:
    first = create(dialects, longUrl="https://example.com/f", tags=["a"])
    again = create(dialects, longUrl="https://example.com/f", tags=["a"], findIfExists=True)
    assert again["shortCode"] == first["shortCode"]
    other = create(dialects, longUrl="https://example.com/f", tags=["b"], findIfExists=True)
    assert other["shortCode"] != first["shortCode"]
    without = create(dialects, longUrl="https://example.com/f", tags=["a"])
    assert without["shortCode"] != first["shortCode"]


def test_edit_and_delete(dialects: Dialects) -> None:
    create(dialects, longUrl="https://example.com/e", customSlug="ed", maxVisits=3, tags=["x"])
    response = dialects.shlink(
        "PATCH",
        f"{V3}/short-urls/ed",
        {
            "longUrl": "https://example.com/new",
            "maxVisits": None,
            "tags": [],
            "title": "New",
            "validUntil": "2027-06-01T00:00:00Z",
            "forwardQuery": False,
        },
    )
    assert response.status == 200
    edited = body(response)
    assert edited["longUrl"] == "https://example.com/new"
    assert edited["meta"] == {
        "validSince": None,
        "validUntil": "2027-06-01T00:00:00+00:00",
        "maxVisits": None,
    }
    assert (edited["tags"], edited["title"], edited["forwardQuery"]) == ([], "New", False)
    cleared = body(
        dialects.shlink("PATCH", f"{V3}/short-urls/ed", {"validUntil": None, "title": None})
    )
    assert cleared["meta"]["validUntil"] is None and cleared["title"] is None
    bad = dialects.shlink("PATCH", f"{V3}/short-urls/ed", {"longUrl": "ftp://example.com/"})
    assert bad.status == 400 and body(bad)["invalidElements"] == ["longUrl"]
    assert dialects.shortener.resolve("ed").url == "https://example.com/new"
    deleted = dialects.shlink("DELETE", f"{V3}/short-urls/ed")
    assert (deleted.status, deleted.body) == (204, b"")
    for method, payload in (("GET", None), ("PATCH", {"title": "x"}), ("DELETE", None)):
        gone = dialects.shlink(method, f"{V3}/short-urls/ed", payload)
        assert gone.status == 404
        assert body(gone) == {
            "type": ERR + "short-url-not-found",
            "title": "Short URL not found",
            "detail": 'No URL found with short code "ed"',
            "status": 404,
            "shortCode": "ed",
        }
    assert dialects.request("GET", "/ed").status == 410


def _fill(dialects: Dialects) -> None:
    for i, (tags, title) in enumerate(
        [(["a"], "Alpha"), (["a", "b"], "Beta"), (["b"], None), ([], "Delta search")]
    ):
        dialects.clock.now = dialects.clock.now.replace(minute=i)
        create(
            dialects, longUrl=f"https://example.com/{i}", customSlug=f"c{i}", tags=tags, title=title
        )
        for _ in range(i):
            dialects.request("GET", f"/c{i}")


def _codes(dialects: Dialects, query: str) -> tuple[list[str], dict[str, int]]:
    response = dialects.shlink("GET", f"{V3}/short-urls", query=query)
    assert response.status == 200, response.body
    listed = body(response)["shortUrls"]
    return [item["shortCode"] for item in listed["data"]], listed["pagination"]


def test_list(dialects: Dialects) -> None:
    _fill(dialects)
    codes, pagination = _codes(dialects, "")
    assert codes == ["c3", "c2", "c1", "c0"]
    assert pagination == {
        "currentPage": 1,
        "pagesCount": 1,
        "itemsPerPage": 10,
        "itemsInCurrentPage": 4,
        "totalItems": 4,
    }
    codes, pagination = _codes(dialects, "page=2&itemsPerPage=3")
    assert (
        codes == ["c0"] and pagination["pagesCount"] == 2 and pagination["itemsInCurrentPage"] == 1
    )
    assert _codes(dialects, "itemsPerPage=-1")[0] == ["c3", "c2", "c1", "c0"]
    assert _codes(dialects, "searchTerm=SEARCH")[0] == ["c3"]
    assert _codes(dialects, "searchTerm=example.com/1")[0] == ["c1"]
    assert _codes(dialects, "tags%5B%5D=a")[0] == ["c1", "c0"]
    assert _codes(dialects, "tags%5B%5D=a&tags%5B%5D=b")[0] == ["c2", "c1", "c0"]
    assert _codes(dialects, "tags%5B%5D=a&tags%5B%5D=b&tagsMode=all")[0] == ["c1"]
    assert _codes(dialects, "orderBy=visits-DESC")[0] == ["c3", "c2", "c1", "c0"]
    assert _codes(dialects, "orderBy=shortCode-ASC")[0] == ["c0", "c1", "c2", "c3"]
    assert _codes(dialects, "orderBy=dateCreated-ASC")[0] == ["c0", "c1", "c2", "c3"]
    assert _codes(dialects, "orderBy=title-ASC")[0][-3:] == ["c0", "c1", "c3"]
    assert _codes(dialects, "startDate=2026-11-28T13:02:00Z")[0] == ["c3", "c2"]
    for query, element in (
        ("page=0", "page"),
        ("itemsPerPage=x", "itemsPerPage"),
        ("orderBy=hits", "orderBy"),
        ("tagsMode=some", "tagsMode"),
        ("startDate=yesterday", "startDate"),
    ):
        response = dialects.shlink("GET", f"{V3}/short-urls", query=query)
        assert response.status == 400 and body(response)["invalidElements"] == [element]


def test_list_excludes(dialects: Dialects) -> None:
    create(dialects, longUrl="https://example.com/once", customSlug="once", maxVisits=1)
    create(
        dialects,
        longUrl="https://example.com/soon",
        customSlug="soon",
        validUntil="2026-11-28T14:00:00Z",
    )
    dialects.request("GET", "/once")
    dialects.clock.now = dialects.clock.now.replace(hour=15)
    assert sorted(_codes(dialects, "")[0]) == ["once", "soon"]
    assert _codes(dialects, "excludeMaxVisitsReached=true")[0] == ["soon"]
    assert _codes(dialects, "excludePastValidUntil=true")[0] == ["once"]


def test_tags_and_visits(dialects: Dialects) -> None:
    _fill(dialects)
    assert body(dialects.shlink("GET", f"{V3}/tags")) == {"tags": {"data": ["a", "b"]}}
    stats = body(dialects.shlink("GET", f"{V3}/tags/stats"))["tags"]
    assert stats["data"] == [
        {
            "tag": "a",
            "shortUrlsCount": 2,
            "visitsSummary": {"total": 1, "nonBots": 1, "bots": 0},
            "visitsCount": 1,
        },
        {
            "tag": "b",
            "shortUrlsCount": 2,
            "visitsSummary": {"total": 3, "nonBots": 3, "bots": 0},
            "visitsCount": 3,
        },
    ]
    visits = body(dialects.shlink("GET", f"{V3}/short-urls/c3/visits"))["visits"]
    assert visits["data"] == [] and visits["pagination"]["totalItems"] == 0
    assert visits["visitsSummary"] == {"total": 3, "nonBots": 3, "bots": 0}
    assert dialects.shlink("GET", f"{V3}/short-urls/none/visits").status == 404
    for path in ("tags/a/visits", "visits/orphan", "visits/non-orphan"):
        page = body(dialects.shlink("GET", f"{V3}/{path}"))["visits"]
        assert page["data"] == []
    overview = body(dialects.shlink("GET", f"{V3}/visits"))["visits"]
    assert overview["nonOrphanVisits"] == {"total": 6, "nonBots": 6, "bots": 0}
    domains = body(dialects.shlink("GET", f"{V3}/domains"))["domains"]
    assert domains["data"][0]["domain"] == "sho.rt" and domains["data"][0]["isDefault"] is True


def test_shorten_with_api_key_in_query(dialects: Dialects) -> None:
    response = dialects.shlink(
        "GET",
        f"{V3}/short-urls/shorten",
        key=None,
        query=f"apiKey={API_KEY}&longUrl=https%3A%2F%2Fexample.com%2Fq&format=txt",
    )
    assert response.status == 200
    assert response.body.decode().startswith("http://sho.rt/")
    as_json = dialects.shlink(
        "GET",
        f"{V3}/short-urls/shorten",
        key=None,
        query=f"apiKey={API_KEY}&longUrl=https%3A%2F%2Fexample.com%2Fq2",
    )
    assert body(as_json)["longUrl"] == "https://example.com/q2"
    refused = dialects.shlink(
        "GET", f"{V3}/short-urls/shorten", key=None, query="apiKey=no&longUrl=x"
    )
    assert refused.status == 401
    # Elsewhere the key goes in the header only.
    elsewhere = dialects.shlink("GET", f"{V3}/short-urls", key=None, query=f"apiKey={API_KEY}")
    assert elsewhere.status == 401


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", f"{V3}/unknown", 404),
        ("GET", "/rest/v9/short-urls", 404),
        ("PUT", f"{V3}/short-urls", 405),
        ("POST", f"{V3}/tags", 405),
        ("GET", f"{V3}/short-urls/a/b", 404),
    ],
)
def test_unknown_routes(dialects: Dialects, method: str, path: str, status: int) -> None:
    response = dialects.shlink(method, path)
    assert response.status == status
    assert response.header("content-type") == "application/problem+json"
    problem = body(response)
    assert problem["status"] == status
    if status == 404:
        assert problem["type"] == ERR + "not-found"
    else:
        assert response.header("allow")


def test_protected_link_hides_its_target(dialects: Dialects) -> None:
    dialects.shortener.shorten("https://example.com/secret", alias="pw", password="hunter22")
    read = body(dialects.shlink("GET", f"{V3}/short-urls/pw"))
    assert read["longUrl"] == ""
    assert b"secret" not in dialects.shlink("GET", f"{V3}/short-urls").body


def test_nul_in_a_short_code(dialects: Dialects) -> None:
    response = dialects.shlink("GET", f"{V3}/short-urls/a\x00b")
    assert response.status == 404
    assert body(response)["type"] == ERR + "short-url-not-found"


def test_shorten_takes_no_head(dialects: Dialects) -> None:
    query = f"apiKey={API_KEY}&longUrl=https%3A%2F%2Fexample.com%2Fh"
    response = dialects.shlink("HEAD", f"{V3}/short-urls/shorten", key=None, query=query)
    assert (response.status, response.header("allow")) == (405, "GET")
    assert dialects.shortener.search(state="all") == []
