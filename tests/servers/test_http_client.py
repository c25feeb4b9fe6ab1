"""``HTTPClient`` sends exactly what it is given, and the core keeps what real servers
taught it (each fix is named with the server that showed the difference)."""

from __future__ import annotations

import json
import socket
import threading
from pathlib import Path

import pytest

from minilink.core.app import App
from minilink.core.config import Config
from minilink.core.http import Request
from minilink.core.service import Shortener
from minilink.storage.memory import MemoryStore
from minilink.testing.clients import HTTPClient, NotOverHTTP


class OneShotServer:
    """Accepts one connection, keeps the raw request, answers ``reply``."""

    def __init__(self, reply: bytes) -> None:
        self.reply = reply
        self.raw = b""
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        connection, _ = self.listener.accept()
        with connection:
            connection.settimeout(10)
            while b"\r\n\r\n" not in self.raw:
                chunk = connection.recv(65536)
                if not chunk:
                    break
                self.raw += chunk
            connection.sendall(self.reply)

    def close(self) -> None:
        self.thread.join(timeout=10)
        self.listener.close()


def test_sends_the_request_as_given_and_follows_no_redirect() -> None:
    reply = (
        b"HTTP/1.1 302 Found\r\nLocation: /x\r\nX-Dup: a\r\nX-Dup: b\r\nContent-Length: 0\r\n\r\n"
    )
    server = OneShotServer(reply)
    try:
        client = HTTPClient(f"http://127.0.0.1:{server.port}/p", root="/s")
        result = client.get("/s/café?q=ü", headers=[("X-A", "1"), ("x-a", "2")])
    finally:
        server.close()
    head = server.raw.split(b"\r\n\r\n")[0].split(b"\r\n")
    assert head[0] == "GET /p/café?q=ü HTTP/1.1".encode()
    assert head[1:] == [b"Host: testserver", b"X-A: 1", b"x-a: 2"]
    assert result.status == 302
    assert result.headers == (
        ("location", "/x"),
        ("x-dup", "a"),
        ("x-dup", "b"),
        ("content-length", "0"),
    )
    assert client.history == [("GET /s/café?q=ü", result)]


def test_the_state_file_goes_out_and_comes_back(tmp_path: Path) -> None:
    server = OneShotServer(b"HTTP/1.1 204 No Content\r\n\r\n")
    state = tmp_path / "state.json"
    try:
        client = HTTPClient(
            f"http://127.0.0.1:{server.port}", state=state, env={"MINILINK_STORE": "x.db"}
        )
        client.clock.advance(60)
        client.get("/")
    finally:
        server.close()
    saved = json.loads(state.read_text(encoding="utf-8"))
    assert saved["now"] == "2026-11-28T13:01:00+00:00"
    assert saved["env"] == {"MINILINK_STORE": "x.db"}


@pytest.mark.parametrize(
    "kwargs",
    [{"scheme": "https"}, {"host": None}, {"remote_addr": None}, {"remote_addr": "10.0.0.1"}],
    ids=["https", "no-host", "no-peer", "other-peer"],
)
def test_refuses_what_a_loopback_connection_cannot_carry(kwargs: dict[str, object]) -> None:
    client = HTTPClient("http://127.0.0.1:9")  # never connected to
    with pytest.raises(NotOverHTTP):
        client.get("/", **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("url", ["https://127.0.0.1", "http:///x", "http://h/?q", "ftp://h"])
def test_base_url_must_be_plain_http(url: str) -> None:
    with pytest.raises(ValueError, match="base_url"):
        HTTPClient(url)


def test_a_204_has_no_content_length() -> None:
    """RFC 9110 §8.6; Apache removed the core's 'Content-Length: 0' from the 204 of
    DELETE, so the core no longer sends it."""
    config = Config(admin_token="t")
    app = App(Shortener(MemoryStore(), config), config)
    code = app.shortener.shorten("https://example.com/").code
    request = Request(
        method="DELETE", path=f"/api/links/{code}", headers={"authorization": "Bearer t"}
    )
    response = app.handle(request)
    assert response.status == 204
    assert response.header("content-length") is None
    assert response.body == b""
