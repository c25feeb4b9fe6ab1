"""The YOURLS dialect driven by the clients people use, through real servers.

* the ``yourls`` client from PyPI (``YOURLSClient``): shorten (with keyword and
  title), the known-URL and taken-keyword errors it raises, expand, url_stats,
  stats and db_stats, by signature and by user name and password;
* ShareX's YOURLS uploader: its exact multipart POST (boundary of 20 dashes and the
  ticks in hex, CRLF lines, ``format=simple``), answered with the bare short URL.

Each runs under a WSGI server (gunicorn), an ASGI server (uvicorn) and a CGI server
(lighttpd, which CI installs; skipped here when missing).
"""

from __future__ import annotations

import http.client
from collections.abc import Iterator
from urllib.parse import urlsplit

import live_servers
import pytest
from dialect_helpers import SIGNATURE

yourls = pytest.importorskip("yourls")

SERVERS = ["gunicorn-sync", "uvicorn", "lighttpd-cgi"]
#: Real servers and their start-up: a few seconds in all.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", params=SERVERS)
def server(request: pytest.FixtureRequest) -> Iterator[live_servers.Live]:
    live = live_servers.start(request.param)
    try:
        yield live
    finally:
        live.stop()


@pytest.fixture
def api(server: live_servers.Live) -> str:
    """A fresh store on ``server`` with the YOURLS dialect on; the API's URL."""
    live_servers.write_state(
        server.state,
        {
            "MINILINK_STORE": server.next_store(),
            "MINILINK_YOURLS_SIGNATURE": SIGNATURE,
            "MINILINK_YOURLS_USERS": "alice:wonderland",
            "MINILINK_RATE_LIMIT": "0",
            "MINILINK_HIT_FLUSH_SECONDS": "0",
        },
    )
    return server.base_url + "/yourls-api.php"


def test_yourls_client(api: str) -> None:
    client = yourls.YOURLSClient(api, signature=SIGNATURE)
    made = client.shorten("https://example.com/from-yourls", keyword="yc", title="A title")
    assert made.keyword == "yc"
    assert made.shorturl.endswith("/yc")
    assert made.url == "https://example.com/from-yourls"
    assert made.title == "A title"
    plain = client.shorten("https://example.com/plain")
    assert len(plain.keyword) == 7
    with pytest.raises(yourls.YOURLSURLExistsError) as known:
        client.shorten("https://example.com/plain")
    assert known.value.url.keyword == plain.keyword
    # YOURLS 1.10 answers a taken keyword with HTTP 400 (this client, written for 1.7,
    # raises its HTTP error then, with YOURLS's answer attached).
    with pytest.raises(yourls.YOURLSHTTPError) as taken:
        client.shorten("https://example.com/other", keyword="yc")
    assert taken.value.response.json()["code"] == "error:keyword"
    with pytest.raises(yourls.YOURLSNoURLError):
        client.shorten("")
    with pytest.raises(yourls.YOURLSNoLoopError):
        client.shorten(made.shorturl)
    assert client.expand("yc") == "https://example.com/from-yourls"
    assert client.expand(made.shorturl) == "https://example.com/from-yourls"
    with pytest.raises(yourls.YOURLSHTTPError):
        client.expand("nothing")
    stats = client.url_stats("yc")
    assert (stats.url, stats.clicks, stats.title) == (made.url, 0, "A title")
    links, totals = client.stats("last", 2)
    assert [link.url for link in links] == [plain.url, made.url]
    assert (totals.total_links, totals.total_clicks) == (2, 0)
    assert client.db_stats() == yourls.DBStats(total_clicks=0, total_links=2)
    by_password = yourls.YOURLSClient(api, username="alice", password="wonderland")
    assert by_password.expand("yc") == made.url
    wrong = yourls.YOURLSClient(api, username="alice", password="nope")
    with pytest.raises(yourls.YOURLSHTTPError, match="Invalid username or password"):
        wrong.expand("yc")


def sharex_request(api: str, fields: list[tuple[str, str]], ticks: int) -> tuple[int, str, bytes]:
    """POST ``fields`` as ShareX's uploader does (``SendRequestMultiPart``)."""
    boundary = "-" * 20 + format(ticks, "x")
    body = "".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        for name, value in fields
    )
    body += f"--{boundary}--\r\n"
    parts = urlsplit(api)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    data = body.encode("utf-8")
    connection.putrequest("POST", parts.path, skip_accept_encoding=True)
    for name, value in (
        ("Content-Type", f"multipart/form-data; boundary={boundary}"),
        ("User-Agent", "ShareX/16.1.0"),
        ("Content-Length", str(len(data))),
        ("Expect", ""),
    ):
        if value:
            connection.putheader(name, value)
    try:
        connection.endheaders(data)
        answer = connection.getresponse()
        return answer.status, answer.getheader("Content-Type") or "", answer.read()
    finally:
        connection.close()


def test_sharex(api: str) -> None:
    fields = [
        ("signature", SIGNATURE),
        ("action", "shorturl"),
        ("url", "https://example.com/screenshot.png?ü=1"),
        ("format", "simple"),
    ]
    status, content_type, body = sharex_request(api, fields, 638680000000000000)
    assert status == 200, body
    assert content_type == "text/plain; charset=utf-8"
    short = body.decode()
    assert short.startswith(api.rsplit("/", 1)[0] + "/") and "\n" not in short
    # The same screenshot again: the known link, still as a bare short URL.
    again = sharex_request(api, fields, 638680000000000001)
    assert again[0] == 200 and again[2].decode() == short
    code = short.rsplit("/", 1)[1]
    parts = urlsplit(api)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        connection.request("GET", parts.path.rsplit("/", 1)[0] + "/" + code)
        visit = connection.getresponse()
        visit.read()
    finally:
        connection.close()
    assert visit.status == 302
    assert visit.getheader("Location") == "https://example.com/screenshot.png?%C3%BC=1"
    by_user = sharex_request(
        api,
        [("username", "alice"), ("password", "wonderland"), *fields[1:]],
        638680000000000002,
    )
    assert by_user[0] == 200 and by_user[2].decode() == short
    refused = sharex_request(api, [("signature", "wrong"), *fields[1:]], 638680000000000003)
    assert (refused[0], refused[2]) == (403, b"Please log in")
