"""Found by the differential fuzzer: an empty ``Content-Length`` header.

CGI and WSGI cannot tell ``Content-Length:`` (empty) from no header at all
(``CONTENT_LENGTH`` is empty either way, RFC 3875 §4.1.2), but an ASGI scope carries
the empty header, and the core answered it "Content-Length must be one whole number"
while CGI and WSGI got the answer for a request without one. The core now treats an
empty Content-Length as none, so every adapter gives one answer.
"""

from __future__ import annotations

import random

import pytest

from minilink.core.app import App
from minilink.core.config import Config
from minilink.core.http import Request, Response
from minilink.core.service import Shortener
from minilink.storage.memory import MemoryStore


def answer(headers: dict[str, str], body: bytes, path: str = "/api/links") -> Response:
    app = App(Shortener(MemoryStore(), Config(), randbelow=random.Random(1).randrange))
    return app.handle(
        Request(method="POST", path=path, headers={"host": "h", **headers}, body=body)
    )


@pytest.mark.parametrize("path", ["/api/links", "/"])
@pytest.mark.parametrize(
    "headers",
    [{}, {"content-type": "application/json"}, {"content-type": "text/plain"}],
    ids=["no-type", "json", "text"],
)
def test_empty_content_length_is_no_content_length(headers: dict[str, str], path: str) -> None:
    body = b'{"url": "https://example.com/"}'
    without = answer(headers, body, path)
    empty = answer({**headers, "content-length": ""}, body, path)
    assert (empty.status, empty.headers, empty.body) == (
        without.status,
        without.headers,
        without.body,
    )


@pytest.mark.parametrize("value", [" ", "abc", "-1", "1.5"])
def test_a_present_but_invalid_content_length_is_still_refused(value: str) -> None:
    result = answer({"content-type": "application/json", "content-length": value}, b"{}")
    assert result.status == 400
    assert b"Content-Length must be one whole number" in result.body
