"""Found by schemathesis (negative data): the JSON API ignored query parameters it
does not take, so ``GET /api/links?limt=10`` silently answered 100 links.

The API reads its query strings as strictly as its bodies: a parameter a route does
not take is a 400 ``bad_request`` that names it. Pages (``/``, ``/{code}``) still
ignore unknown parameters, as web pages do (``?utm_source=...``).
"""

from __future__ import annotations

import json
import random

import pytest

from minilink.core.app import App
from minilink.core.config import Config
from minilink.core.http import Request, Response
from minilink.core.openapi import document
from minilink.core.service import Shortener
from minilink.storage.memory import MemoryStore

AUTH = {"authorization": "Bearer t"}


@pytest.fixture
def app() -> App:
    config = Config(admin_token="t", rate_limit=0)
    app = App(Shortener(MemoryStore(), config, randbelow=random.Random(1).randrange), config)
    app.shortener.shorten("https://example.com/", alias="docs")
    return app


def get(app: App, method: str, path: str, query: str, body: bytes = b"") -> Response:
    headers = {"host": "h", **AUTH}
    if body:
        headers.update({"content-type": "application/json", "content-length": str(len(body))})
    return app.handle(Request(method=method, path=path, query=query, headers=headers, body=body))


@pytest.mark.parametrize(
    ("method", "path", "query"),
    [
        ("GET", "/api/links", "limt=10"),
        ("GET", "/api/links", "limit=10&x"),
        ("GET", "/api/links/docs", "days=7"),
        ("GET", "/api/links/docs/stats", "day=7"),
        ("DELETE", "/api/links/docs", "force=1"),
        ("POST", "/api/links", "alias=x"),
        ("GET", "/api/openapi.json", "v=2"),
        ("GET", "/api/links", "=1"),
    ],
)
def test_unknown_query_parameters_are_refused_by_name(
    app: App, method: str, path: str, query: str
) -> None:
    body = b'{"url": "https://example.org/"}' if method == "POST" else b""
    answer = get(app, method, path, query, body)
    assert answer.status == 400
    error = json.loads(answer.body)["error"]
    assert error["code"] == "bad_request"
    assert error["message"].startswith("Unknown query parameter")
    assert app.shortener.resolve("docs").url == "https://example.com/"  # nothing deleted


@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("/api/links", "limit=10&after=docs"),
        ("/api/links", "limit=&after="),
        ("/api/links/docs/stats", "days=7"),
        ("/api/links/docs", ""),
    ],
)
def test_the_parameters_a_route_takes_still_work(app: App, path: str, query: str) -> None:
    assert get(app, "GET", path, query).status == 200


def test_pages_still_ignore_unknown_parameters(app: App) -> None:
    assert get(app, "GET", "/", "utm_source=x").status == 200
    assert get(app, "GET", "/docs", "utm_source=x").status == 302


def test_the_document_says_so() -> None:
    assert "Unknown query parameters" in document()["info"]["description"]
