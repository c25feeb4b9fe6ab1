"""The dialects (SPEC section 11) in the shared behavioural suite: YOURLS's
``/yourls-api.php`` and Shlink's ``/rest/v3/...``, the same answers through CGI, WSGI
and ASGI (``run_scenario`` compares the transcripts byte for byte)."""

from __future__ import annotations

import hashlib
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlencode

import pytest
from helpers import AUTH, CGI_RUNS, Scenario, run_scenario

from minilink.testing.clients import Client, Result

SIGNATURE = "1002a612b4"
KEY = "shlink-api-key-1"
ON = {
    "MINILINK_YOURLS_USERS": "alice:wonder land",
    "MINILINK_YOURLS_SIGNATURE": SIGNATURE,
    "MINILINK_SHLINK_API_KEYS": f"{KEY},another",
}
SCENARIOS: list[Scenario] = []
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
SHLINK = {"X-Api-Key": KEY, "Content-Type": "application/json"}


def scenario(
    id: str, env: dict[str, str] = ON, **options: Any
) -> Callable[[Callable[[Client], Any]], Callable[[Client], Any]]:
    def register(fn: Callable[[Client], Any]) -> Callable[[Client], Any]:
        SCENARIOS.append(Scenario(id, fn, env=dict(env), **options))
        return fn

    return register


def yourls(c: Client, root: str = "", **fields: str) -> Result:
    fields.setdefault("signature", SIGNATURE)
    return c.get(f"{root}/yourls-api.php?" + urlencode(fields))


def shlink(c: Client, method: str, path: str, payload: Any = None, root: str = "") -> Result:
    body = b"" if payload is None else json.dumps(payload).encode()
    return c.request(method, f"{root}/rest/v3{path}", headers=SHLINK, body=body)


# -- off by default ---------------------------------------------------------------


@scenario("dialects-off", env={})
def _(c: Client) -> None:
    for target in ("/yourls-api.php?action=version", "/rest/v3/health", "/rest/health"):
        r = c.get(target)
        assert r.status == 404, target
        assert (r.header("content-type") or "").startswith("text/html")


# -- YOURLS -----------------------------------------------------------------------


@scenario("yourls-shorturl-formats")
def _(c: Client) -> None:
    r = yourls(c, action="shorturl", url="https://example.com/y", keyword="yo", format="json")
    assert r.status == 200 and r.header("content-type") == "application/json; charset=utf-8"
    assert r.json()["shorturl"] == "http://testserver/yo"
    r = yourls(c, action="shorturl", url="https://example.com/y2", title="Two")
    assert r.header("content-type") == "application/xml; charset=utf-8"
    root = ET.fromstring(r.body)
    assert root.findtext("status") == "success" and root.findtext("title") == "Two"
    r = yourls(c, action="shorturl", url="https://example.com/y3", format="simple")
    assert r.status == 200 and r.text.startswith("http://testserver/")
    short = r.text
    assert c.get("/" + r.text.rsplit("/", 1)[1]).header("location") == "https://example.com/y3"
    r = yourls(c, action="shorturl", url="https://example.com/y3", format="json")
    assert (r.status, r.json()["code"]) == (200, "error:url")
    assert r.json()["shorturl"] == short
    r = yourls(c, action="shorturl", url="https://example.com/z", keyword="yo", format="json")
    assert (r.status, r.json()["code"]) == (400, "error:keyword")
    r = yourls(c, action="shorturl", url="", format="json")
    assert (r.status, r.json()["code"]) == (400, "error:nourl")
    r = yourls(c, action="shorturl", url="http://testserver/yo", format="json")
    assert (r.status, r.json()["code"]) == (400, "error:noloop")
    r = yourls(c, action="shorturl", url="javascript:alert(1)", format="json")
    assert (r.status, r.json()["code"]) == (400, "error:nourl")


@scenario("yourls-read-actions")
def _(c: Client) -> None:
    yourls(c, action="shorturl", url="https://example.com/r1", keyword="r1")
    yourls(c, action="shorturl", url="https://example.com/r2", keyword="r2")
    c.get("/r2")
    r = yourls(c, action="expand", shorturl="http://testserver/r1", format="json")
    assert r.json()["longurl"] == "https://example.com/r1"
    r = yourls(c, action="expand", shorturl="none", format="json")
    assert r.status == 404
    r = yourls(c, action="url-stats", shorturl="r2", format="json")
    assert r.json()["link"]["clicks"] == "1"
    r = yourls(c, action="stats", filter="top", limit="1", format="json")
    assert r.json()["links"]["link_1"]["shorturl"] == "http://testserver/r2"
    assert r.json()["stats"] == {"total_links": "2", "total_clicks": "1"}
    r = yourls(c, action="stats", filter="last", limit="5")
    assert ET.fromstring(r.body).findtext("links/link_1/shorturl") == "http://testserver/r2"
    r = yourls(c, action="db-stats", format="json")
    assert r.json()["db-stats"] == {"total_links": "2", "total_clicks": "1"}
    r = yourls(c, action="version", format="simple")
    assert r.status == 200 and r.text
    r = yourls(c, action="nothing", format="json")
    assert r.status == 400


@scenario("yourls-auth")
def _(c: Client) -> None:
    now = str(int(c.clock().timestamp()))
    md5 = hashlib.md5((now + SIGNATURE).encode()).hexdigest()
    assert c.get(f"/yourls-api.php?action=version&timestamp={now}&signature={md5}").status == 200
    reverse = hashlib.sha256((SIGNATURE + now).encode()).hexdigest()
    query = f"action=version&timestamp={now}&signature={reverse}&hash=sha256"
    assert c.get("/yourls-api.php?" + query).status == 200
    old = str(int(now) - 43200)
    stale = hashlib.md5((old + SIGNATURE).encode()).hexdigest()
    assert c.get(f"/yourls-api.php?action=version&timestamp={old}&signature={stale}").status == 403
    r = c.get(
        "/yourls-api.php?"
        + urlencode({"action": "version", "username": "alice", "password": "wonder land"})
    )
    assert r.status == 200
    r = c.get("/yourls-api.php?action=version&username=alice&password=no&format=json")
    assert (r.status, r.json()["message"]) == (403, "Invalid username or password")
    r = c.get("/yourls-api.php?action=version&format=json", headers=AUTH)
    assert (r.status, r.json()["message"]) == (403, "Please log in")
    r = c.get(f"/yourls-api.php?action=version&signature={SIGNATURE}&format=jsonp&callback=x")
    assert r.status == 400


@scenario("yourls-forms")
def _(c: Client) -> None:
    body = urlencode(
        {
            "signature": SIGNATURE,
            "action": "shorturl",
            "url": "https://example.com/é",
            "format": "simple",
        }
    )
    r = c.request("POST", "/yourls-api.php", headers=FORM, body=body.encode())
    assert r.status == 200 and r.text.startswith("http://testserver/")
    boundary = "-" * 20 + "8dc0b3f1b2f8e3a"
    fields = [
        ("signature", SIGNATURE),
        ("action", "shorturl"),
        ("url", "https://example.com/sharex"),
        ("format", "simple"),
    ]
    multipart = (
        "".join(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{n}"\r\n\r\n{v}\r\n'
            for n, v in fields
        )
        + f"--{boundary}--\r\n"
    )
    r = c.request(
        "POST",
        "/yourls-api.php",
        headers={
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "User-Agent": "ShareX/16.1.0",
        },
        body=multipart.encode(),
    )
    assert r.status == 200 and r.text.startswith("http://testserver/")
    r = c.request("POST", "/yourls-api.php", headers=FORM, body="url=caf\xe9".encode("latin-1"))
    assert r.status == 400
    r = c.get(f"/yourls-api.php?signature={SIGNATURE}&action=version&action=stats")
    assert r.status == 400
    r = c.request("DELETE", "/yourls-api.php")
    assert r.status == 405 and r.header("allow") == "GET, HEAD, POST"


@scenario("yourls-mounted", root="/s")
def _(c: Client) -> None:
    r = yourls(c, "/s", action="shorturl", url="https://example.com/m", keyword="mo", format="json")
    assert r.json()["shorturl"] == "http://testserver/s/mo"
    r = yourls(c, "/s", action="expand", shorturl="http://testserver/s/mo", format="simple")
    assert r.text == "https://example.com/m"
    r = yourls(c, "/s", action="shorturl", url="http://testserver/s/mo", format="json")
    assert r.json()["code"] == "error:noloop"


# -- Shlink -----------------------------------------------------------------------


@scenario("shlink-short-urls")
def _(c: Client) -> None:
    r = c.get("/rest/health")
    assert r.status == 200 and r.header("content-type") == "application/health+json"
    r = shlink(
        c,
        "POST",
        "/short-urls",
        {"longUrl": "https://example.com/s", "customSlug": "sl", "tags": ["a"], "maxVisits": 3},
    )
    assert r.status == 200 and r.json()["shortUrl"] == "http://testserver/sl"
    r = shlink(c, "POST", "/short-urls", {"longUrl": "https://example.com/t", "title": "Tee"})
    assert r.status == 200
    other = r.json()["shortCode"]
    c.get("/sl?utm=1")
    r = shlink(c, "GET", "/short-urls?searchTerm=tee")
    assert [u["shortCode"] for u in r.json()["shortUrls"]["data"]] == [other]
    r = shlink(c, "GET", "/short-urls?itemsPerPage=1&page=2")
    assert r.json()["shortUrls"]["pagination"]["totalItems"] == 2
    r = shlink(c, "GET", "/short-urls/sl")
    assert r.json()["visitsSummary"] == {"total": 1, "nonBots": 1, "bots": 0}
    r = shlink(
        c, "PATCH", "/short-urls/sl", {"longUrl": "https://example.com/edited", "tags": ["b"]}
    )
    assert r.status == 200 and r.json()["tags"] == ["b"]
    assert shlink(c, "GET", "/tags").json() == {"tags": {"data": ["b"]}}
    assert shlink(c, "GET", "/tags/stats").json()["tags"]["data"][0]["shortUrlsCount"] == 1
    assert shlink(c, "GET", "/short-urls/sl/visits").json()["visits"]["data"] == []
    r = shlink(c, "DELETE", "/short-urls/sl")
    assert r.status == 204 and r.body == b""
    assert shlink(c, "GET", "/short-urls/sl").status == 404
    assert c.get("/sl").status == 410


@scenario("shlink-errors")
def _(c: Client) -> None:
    r = c.get("/rest/v3/short-urls")
    assert r.status == 401 and r.header("content-type") == "application/problem+json"
    r = c.get("/rest/v3/short-urls", headers={"X-Api-Key": "wrong"})
    assert r.json()["type"] == "https://shlink.io/api/error/invalid-api-key"
    r = c.get("/rest/v3/short-urls", headers=AUTH)
    assert r.status == 401
    shlink(c, "POST", "/short-urls", {"longUrl": "https://example.com/", "customSlug": "dup"})
    r = shlink(c, "POST", "/short-urls", {"longUrl": "https://example.com/2", "customSlug": "dup"})
    assert (r.status, r.json()["type"]) == (400, "https://shlink.io/api/error/non-unique-slug")
    r = shlink(c, "POST", "/short-urls", {"longUrl": "data:text/html,x"})
    assert r.json()["invalidElements"] == ["longUrl"]
    r = c.request("POST", "/rest/v3/short-urls", headers=SHLINK, body=b"{not json")
    assert r.status == 400
    r = shlink(c, "GET", "/nowhere")
    assert r.json()["type"] == "https://shlink.io/api/error/not-found"
    r = shlink(c, "PUT", "/short-urls/dup", {})
    assert r.status == 405 and r.header("allow")


@scenario("shlink-mounted", root="/s")
def _(c: Client) -> None:
    r = shlink(
        c,
        "POST",
        "/short-urls",
        {"longUrl": "https://example.com/m", "customSlug": "ms"},
        root="/s",
    )
    assert r.json()["shortUrl"] == "http://testserver/s/ms"
    assert c.get("/s/rest/v3/health").json()["status"] == "pass"
    assert (
        shlink(c, "GET", "/short-urls/ms", root="/s").json()["longUrl"] == "https://example.com/m"
    )


@pytest.mark.parametrize("in_process_cgi", CGI_RUNS)
@pytest.mark.parametrize("case", [pytest.param(s, id=s.id) for s in SCENARIOS])
def test_same_answer_everywhere(case: Scenario, in_process_cgi: bool, tmp_path: Path) -> None:
    run_scenario(case, tmp_path, in_process_cgi=in_process_cgi)
