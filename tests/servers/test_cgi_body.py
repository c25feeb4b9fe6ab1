"""An over-limit body a CGI script does not read is still answered 413 by the server.

fcgiwrap writes the whole request body to the script's stdin before it reads the
answer; when the script exits with it unread (minilink refuses an over-limit body from
its Content-Length, without reading it), that write fails and fcgiwrap sends nginx its
own 502. The CGI adapter now reads and drops such a body (up to 1 MiB) before
answering (``minilink.adapters.cgi._drain``). The body here is larger than a pipe's
buffer (64 KiB), which is what made the failure certain rather than a race; the same
request goes through every CGI server the suite runs.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import live_servers
import pytest

from minilink.testing.clients import FakeClock, HTTPClient

pytestmark = pytest.mark.slow

KINDS = [
    pytest.param((kind, live_servers.MOUNTS.get(kind, ("",))[0]), id=kind)
    for kind in ("nginx-fcgiwrap", "lighttpd-cgi", "busybox-httpd", "apache-cgi")
]


@pytest.fixture(params=KINDS)
def live(request: pytest.FixtureRequest) -> Iterator[live_servers.Live]:
    kind, mount = request.param
    server = live_servers.start(kind, mount)
    try:
        yield server
    finally:
        server.stop()


def test_an_unread_over_limit_body_is_answered_413(live: live_servers.Live) -> None:
    env = {"MINILINK_STORE": live.next_store(), "MINILINK_MAX_BODY_BYTES": "1024"}
    client = HTTPClient(
        live.base_url, root=live.mount, clock=FakeClock(), state=live.state, env=env, timeout=20
    )
    body = json.dumps({"url": "https://example.com/" + "a" * 300_000}).encode()
    try:
        result = client.request(
            "POST",
            live.mount + "/api/links",
            headers={"Content-Type": "application/json"},
            body=body,
        )
    finally:
        client.close()
    assert result.status == 413, (result.status, result.body[:300], live.log_tail())
    assert result.json()["error"]["code"] == "payload_too_large"
