"""What the differential fuzzer found, kept as a table: each request, through every
adapter, gets one answer that is not a 5xx. (The fixes and their unit tests are in
``tests/core/test_regression_*.py``.)"""

from __future__ import annotations

import pytest
from fuzz_harness import three_adapters

from minilink.testing.strategies import RawRequest

JSON = ("Content-Type", "application/json")
FOUND = {
    # An empty Content-Length: ASGI carried it, CGI and WSGI cannot (RFC 3875 §4.1.2).
    "empty-content-length-json": RawRequest(
        "POST",
        b"/api/links",
        (("Host", "testserver"), JSON, ("Content-Length", "")),
        b'{"url": "https://example.com/x"}',
    ),
    "empty-content-length-form": RawRequest(
        "POST",
        b"/",
        (("Host", "testserver"), ("Content-Length", "")),
        b"url=https%3A%2F%2Fexample.com%2F",
    ),
    "empty-content-length-no-type": RawRequest(
        "POST", b"/api/links?", (("Content-Length", ""), ("Authorization", "")), b"[1]"
    ),
}


@pytest.mark.parametrize("request_", list(FOUND.values()), ids=list(FOUND))
@pytest.mark.parametrize("root", ["", "/s"])
def test_every_adapter_gives_one_answer(request_: RawRequest, root: str) -> None:
    with three_adapters(root, path_includes_root=True) as adapters:
        answers = {name: request_.send(client) for name, (client, _) in adapters.items()}
    first = answers["wsgi"]
    assert first.status < 500
    for name, answer in answers.items():
        assert (answer.status, answer.headers, answer.body) == (
            first.status,
            first.headers,
            first.body,
        ), name
