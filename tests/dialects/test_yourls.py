"""The YOURLS dialect in process: every action, format, auth form and error."""

from __future__ import annotations

import hashlib
import json
import xml.etree.ElementTree as ET

import pytest
from dialect_helpers import SIGNATURE, Dialects

from minilink.dialects.yourls import NONCE_LIFE, VERSION, hash_function


def test_off_without_settings() -> None:
    off = Dialects(yourls_users=(), yourls_signature=None)
    response = off.yourls(action="version", format="json")
    assert response.status == 404
    assert response.header("content-type").startswith("text/html")


def test_admin_token_is_not_accepted(dialects: Dialects) -> None:
    response = dialects.yourls(auth=False, action="version", format="json", signature="admin-token")
    assert response.status == 403
    response = dialects.request(
        "GET",
        "/yourls-api.php",
        "action=version&format=json",
        headers={"authorization": "Bearer admin-token"},
    )
    assert response.status == 403
    assert json.loads(response.body) == {"message": "Please log in", "errorCode": "403"}


def test_shorturl_json(dialects: Dialects) -> None:
    status, data = dialects.yourls_json(action="shorturl", url="https://example.com/a?b=c")
    assert status == 200
    code = data["url"]["keyword"]
    assert data == {
        "status": "success",
        "code": "",
        "message": "https://example.com/a?b=c added to database",
        "errorCode": "",
        "statusCode": 200,
        "url": {
            "keyword": code,
            "url": "https://example.com/a?b=c",
            "title": "https://example.com/a?b=c",
            "date": "2026-11-28 13:00:00",
            "ip": "",
        },
        "title": "https://example.com/a?b=c",
        "shorturl": f"http://sho.rt/{code}",
    }
    assert len(code) == 7
    raw = dialects.yourls(action="shorturl", url="https://example.com/x", format="json")
    assert b"https:\\/\\/example.com\\/x" in raw.body  # PHP's json_encode escapes "/"
    assert raw.header("content-type") == "application/json; charset=utf-8"


def test_shorturl_keyword_and_title(dialects: Dialects) -> None:
    status, data = dialects.yourls_json(
        action="shorturl", url="https://example.com/", keyword="docs", title="Ünïcode"
    )
    assert status == 200
    assert data["shorturl"] == "http://sho.rt/docs"
    assert data["title"] == "Ünïcode"
    assert dialects.shortener.resolve("docs").title == "Ünïcode"
    assert dialects.request("GET", "/docs").header("location") == "https://example.com/"


def test_shorturl_known_url_is_error_url(dialects: Dialects) -> None:
    _, first = dialects.yourls_json(action="shorturl", url="https://example.com/same")
    dialects.request("GET", "/" + first["url"]["keyword"])  # one click
    status, data = dialects.yourls_json(action="shorturl", url="https://example.com/same")
    assert status == 200
    assert data["status"] == "fail"
    assert data["code"] == "error:url"
    keyword = first["url"]["keyword"]
    assert data["message"] == (
        f"https://example.com/same already exists in database (short URL: sho.rt/{keyword})"
    )
    assert data["url"]["keyword"] == keyword
    assert data["url"]["clicks"] == "1"
    assert data["shorturl"] == f"http://sho.rt/{keyword}"
    assert dialects.yourls(
        action="shorturl", url="https://example.com/same", format="simple"
    ).body == (f"http://sho.rt/{keyword}".encode())


def test_shorturl_errors(dialects: Dialects) -> None:
    status, data = dialects.yourls_json(action="shorturl")
    assert (status, data["code"], data["message"]) == (
        400,
        "error:nourl",
        "Missing or malformed URL",
    )
    assert data["statusCode"] == data["errorCode"] == "400"
    status, data = dialects.yourls_json(action="shorturl", url="javascript:alert(1)")
    assert (status, data["code"]) == (400, "error:nourl")
    assert "not allowed" in data["message"]
    status, data = dialects.yourls_json(action="shorturl", url="https://bank.example@evil.example/")
    assert (status, data["code"]) == (400, "error:nourl")
    status, data = dialects.yourls_json(action="shorturl", url="http://sho.rt/abc")
    assert (status, data) == (
        400,
        {
            "status": "fail",
            "code": "error:noloop",
            "message": "URL is a short URL",
            "errorCode": "400",
            "statusCode": "400",
        },
    )
    dialects.yourls_json(action="shorturl", url="https://example.com/1", keyword="taken")
    for keyword in ("taken", "api", "bad keyword!", "x" * 101):
        status, data = dialects.yourls_json(
            action="shorturl", url=f"https://example.com/{len(keyword)}k", keyword=keyword
        )
        assert (status, data["code"], data["status"]) == (400, "error:keyword", "fail"), keyword
        assert data["message"].startswith(f"Short URL {keyword} already exists")


def test_shorturl_adds_a_scheme_as_yourls_does(dialects: Dialects) -> None:
    _, data = dialects.yourls_json(action="shorturl", url="example.org/page")
    assert data["url"]["url"] == "http://example.org/page"


def test_long_message_is_trimmed(dialects: Dialects) -> None:
    url = "https://example.com/" + "a" * 80
    _, data = dialects.yourls_json(action="shorturl", url=url)
    assert data["message"] == url[:55] + "[...] added to database"


def test_expand_and_url_stats(dialects: Dialects) -> None:
    dialects.yourls_json(action="shorturl", url="https://example.com/e", keyword="ex")
    status, data = dialects.yourls_json(action="expand", shorturl="http://sho.rt/ex")
    assert status == 200
    assert data == {
        "keyword": "ex",
        "shorturl": "http://sho.rt/ex",
        "longurl": "https://example.com/e",
        "title": "https://example.com/e",
        "message": "success",
        "statusCode": "200",
    }
    assert dialects.yourls(action="expand", shorturl="ex", format="simple").body == (
        b"https://example.com/e"
    )
    status, data = dialects.yourls_json(action="expand", shorturl="nope")
    assert (status, data) == (
        404,
        {"keyword": "nope", "message": "Error: short URL not found", "errorCode": "404"},
    )
    assert dialects.yourls(action="expand", shorturl="nope", format="simple").body == b"not found"
    dialects.request("GET", "/ex")
    status, data = dialects.yourls_json(action="url-stats", shorturl="ex")
    assert status == 200
    assert data == {
        "statusCode": "200",
        "message": "success",
        "link": {
            "shorturl": "http://sho.rt/ex",
            "url": "https://example.com/e",
            "title": "https://example.com/e",
            "timestamp": "2026-11-28 13:00:00",
            "ip": "",
            "clicks": "1",
        },
    }
    status, data = dialects.yourls_json(action="url-stats", shorturl="http://sho.rt/none")
    assert (status, data) == (404, {"statusCode": "404", "message": "Error: short URL not found"})
    simple = dialects.yourls(action="url-stats", shorturl="ex", format="simple")
    assert simple.body == b"Need either XML or JSON format for stats"


def test_deleted_and_protected_links(dialects: Dialects) -> None:
    dialects.shortener.shorten("https://example.com/d", alias="gone")
    dialects.shortener.delete("gone")
    assert dialects.yourls_json(action="expand", shorturl="gone")[0] == 404
    dialects.shortener.shorten("https://example.com/p", alias="secret", password="hunter22")
    status, data = dialects.yourls_json(action="expand", shorturl="secret")
    assert status == 403 and "longurl" not in data
    _, data = dialects.yourls_json(action="url-stats", shorturl="secret")
    assert data["link"]["url"] == ""


def _make(dialects: Dialects, n: int) -> list[str]:
    codes = []
    for i in range(n):
        link = dialects.shortener.shorten(f"https://example.com/{i}", alias=f"k{i}")
        dialects.clock.now = dialects.clock.now.replace(minute=i + 1)
        for _ in range(i):
            dialects.shortener.visit(link.code)
        codes.append(link.code)
    return codes


def test_stats_filters(dialects: Dialects) -> None:
    _make(dialects, 5)
    status, data = dialects.yourls_json(action="stats", filter="top", limit="2")
    assert status == 200
    assert list(data) == ["links", "stats", "statusCode", "message"]
    assert [v["shorturl"] for v in data["links"].values()] == [
        "http://sho.rt/k4",
        "http://sho.rt/k3",
    ]
    assert list(data["links"]) == ["link_1", "link_2"]
    assert data["stats"] == {"total_links": "5", "total_clicks": "10"}
    assert (data["statusCode"], data["message"]) == ("200", "success")
    _, data = dialects.yourls_json(action="stats", filter="bottom", limit="2", start="1")
    assert [v["clicks"] for v in data["links"].values()] == ["1", "2"]
    _, data = dialects.yourls_json(action="stats", filter="last", limit="1")
    assert data["links"]["link_1"]["shorturl"] == "http://sho.rt/k4"
    _, data = dialects.yourls_json(action="stats", filter="rand", limit="10")
    assert sorted(v["shorturl"] for v in data["links"].values()) == [
        f"http://sho.rt/k{i}" for i in range(5)
    ]
    _, data = dialects.yourls_json(action="stats", filter="top")  # no limit: no links
    assert "links" not in data and data["stats"]["total_links"] == "5"
    _, data = dialects.yourls_json(action="stats", filter="whatever", limit="1x")
    assert data["links"]["link_1"]["shorturl"] == "http://sho.rt/k4"  # top, intval("1x")


def test_db_stats_and_version(dialects: Dialects) -> None:
    _make(dialects, 3)
    status, data = dialects.yourls_json(action="db-stats")
    assert (status, data) == (
        200,
        {
            "db-stats": {"total_links": "3", "total_clicks": "3"},
            "statusCode": "200",
            "message": "success",
        },
    )
    assert dialects.yourls_json(action="version") == (200, {"version": VERSION})
    assert dialects.yourls_json(action="version", db="1")[1]["db_version"]
    assert dialects.yourls(action="version", format="simple").body == VERSION.encode()


def test_unknown_action(dialects: Dialects) -> None:
    message = 'Unknown or missing "action" parameter'
    for action in (None, "delete", ""):
        status, data = dialects.yourls_json(action=action)
        assert (status, data) == (400, {"errorCode": "400", "message": message})


def test_xml_is_the_default(dialects: Dialects) -> None:
    response = dialects.yourls(action="shorturl", url="https://example.com/<&>", keyword="xm")
    assert response.status == 200
    assert response.header("content-type") == "application/xml; charset=utf-8"
    text = response.body.decode()
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<root><status>success</status>')
    assert "<code/>" in text
    root = ET.fromstring(response.body)
    assert root.tag == "root"
    assert root.findtext("url/url") == "https://example.com/%3C&%3E"
    assert root.findtext("shorturl") == "http://sho.rt/xm"
    stats = ET.fromstring(dialects.yourls(action="db-stats").body)
    assert stats.findtext("db-stats/total_links") == "1"


def test_formats(dialects: Dialects) -> None:
    simple = dialects.yourls(
        action="shorturl", url="https://example.com/s", keyword="si", format="simple"
    )
    assert simple.body == b"http://sho.rt/si"
    assert simple.header("content-type") == "text/plain; charset=utf-8"
    unknown = dialects.yourls(action="version", format="yaml")  # YOURLS: simple
    assert (unknown.status, unknown.body) == (200, VERSION.encode())
    jsonp = dialects.yourls(action="version", format="jsonp", callback="cb")
    assert jsonp.status == 400 and b"JSONP" in jsonp.body
    assert not jsonp.body.startswith(b"cb(")


def test_post_form(dialects: Dialects) -> None:
    response = dialects.yourls(
        "POST", action="shorturl", url="https://example.com/post", format="json"
    )
    assert response.status == 200
    assert json.loads(response.body)["status"] == "success"


# -- authentication ---------------------------------------------------------------


def test_username_password(dialects: Dialects) -> None:
    ok = dialects.yourls(
        auth=False, action="version", format="json", username="alice", password="wonder land"
    )
    assert ok.status == 200
    for user, password in (("alice", "wrong"), ("bob", "wonder land"), ("carol", "b0b")):
        response = dialects.yourls(
            auth=False, action="version", format="json", username=user, password=password
        )
        assert response.status == 403
        assert json.loads(response.body) == {
            "message": "Invalid username or password",
            "errorCode": "403",
        }
    response = dialects.yourls(auth=False, action="version", format="json", username="alice")
    assert json.loads(response.body)["message"] == "Invalid username or password"
    response = dialects.yourls(auth=False, action="version", format="simple")
    assert (response.status, response.body) == (403, b"Please log in")


def test_signature(dialects: Dialects) -> None:
    assert dialects.yourls(auth=False, action="version", signature=SIGNATURE).status == 200
    assert dialects.yourls(auth=False, action="version", signature=SIGNATURE.upper()).status == 403
    assert dialects.yourls(auth=False, action="version", signature="").status == 403
    only_users = Dialects(yourls_signature=None)
    assert only_users.yourls(auth=False, action="version", signature=SIGNATURE).status == 403


def _timed(dialects: Dialects, offset: int, name: str = "md5", first: bool = True) -> int:
    timestamp = str(int(dialects.clock.now.timestamp()) + offset)
    data = (timestamp + SIGNATURE) if first else (SIGNATURE + timestamp)
    digest = hashlib.new(name.replace("-", "_").replace("/", "_"), data.encode()).hexdigest()
    fields = {"action": "version", "timestamp": timestamp, "signature": digest}
    if name != "md5":
        fields["hash"] = name
    return dialects.yourls(auth=False, **fields).status


def test_timestamp_signature_window(dialects: Dialects) -> None:
    assert _timed(dialects, 0) == 200
    assert _timed(dialects, 0, first=False) == 200
    assert _timed(dialects, -(NONCE_LIFE - 1)) == 200
    assert _timed(dialects, NONCE_LIFE - 1) == 200
    assert _timed(dialects, -NONCE_LIFE) == 403
    assert _timed(dialects, NONCE_LIFE) == 403


@pytest.mark.parametrize(
    "name", ["sha1", "sha256", "sha512", "sha3-256", "sha512/256", "blake2b512"[:7]]
)
def test_timestamp_signature_hashes(dialects: Dialects, name: str) -> None:
    if hash_function(name) is None:
        pytest.skip(f"hashlib has no {name}")
    assert _timed(dialects, 5, name) == 200
    assert _timed(dialects, 5, name, first=False) == 200


def test_unknown_hash_is_refused(dialects: Dialects) -> None:
    timestamp = str(int(dialects.clock.now.timestamp()))
    digest = hashlib.md5((timestamp + SIGNATURE).encode()).hexdigest()
    for name in ("crc32b", "MD5", "shake_128", "nonsense", "x" * 100):
        response = dialects.yourls(
            auth=False, action="version", timestamp=timestamp, signature=digest, hash=name
        )
        assert response.status == 403, name


def test_repeated_fields(dialects: Dialects) -> None:
    same = dialects.request(
        "GET", "/yourls-api.php", f"action=version&action=version&signature={SIGNATURE}"
    )
    assert same.status == 200
    clash = dialects.request(
        "GET", "/yourls-api.php", f"action=version&action=stats&signature={SIGNATURE}"
    )
    assert clash.status == 400 and b"more than once" in clash.body


def test_methods(dialects: Dialects) -> None:
    response = dialects.request("PUT", "/yourls-api.php", f"action=version&signature={SIGNATURE}")
    assert response.status == 405
    assert response.header("allow") == "GET, HEAD, POST"
    head = dialects.request("HEAD", "/yourls-api.php", f"action=version&signature={SIGNATURE}")
    assert head.status == 200 and head.body == b""


def test_multipart_part_limit(dialects: Dialects) -> None:
    parts = "".join(
        f'--b\r\nContent-Disposition: form-data; name="f{i}"\r\n\r\n1\r\n' for i in range(101)
    )
    body = (parts + "--b--\r\n").encode()
    response = dialects.request(
        "POST",
        "/yourls-api.php",
        body=body,
        headers={"content-type": "multipart/form-data; boundary=b"},
    )
    assert response.status == 400 and b"at most 100 parts" in response.body


def test_a_keyword_or_title_makes_a_new_link_for_a_known_url(dialects: Dialects) -> None:
    _, first = dialects.yourls_json(action="shorturl", url="https://example.com/k")
    status, data = dialects.yourls_json(
        action="shorturl", url="https://example.com/k", keyword="kk"
    )
    assert (status, data["status"], data["shorturl"]) == (200, "success", "http://sho.rt/kk")
    _, titled = dialects.yourls_json(action="shorturl", url="https://example.com/k", title="T")
    assert titled["status"] == "success" and titled["url"]["keyword"] != first["url"]["keyword"]


def test_head_never_creates(dialects: Dialects) -> None:
    response = dialects.yourls("HEAD", action="shorturl", url="https://example.com/head")
    assert (response.status, response.header("allow"), response.body) == (405, "GET, POST", b"")
    assert dialects.shortener.search(state="all") == []
