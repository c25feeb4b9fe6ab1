"""Shared drivers for the tests: scenario registry, transcript comparison, assertions.

A *scenario* is a function ``case(client) -> None`` that sends requests through one
``minilink.testing.clients.Client`` and asserts what it expects. ``run_scenario`` runs
it through every adapter (each with its own fresh store, clock and seed), then checks
that the transcripts (``client.history``) are identical and that nothing answered 5xx.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import pytest

from minilink.core.app import App
from minilink.core.config import Config
from minilink.core.service import Shortener
from minilink.storage import open_store
from minilink.testing.clients import SEED, START, Client, FakeClock, Result, make_clients
from minilink.testing.inprocess import InProcessCGIClient

ADMIN = "admin-secret-token"
AUTH = {"Authorization": f"Bearer {ADMIN}"}
BASE_ENV: dict[str, str] = {"MINILINK_ADMIN_TOKEN": ADMIN}
HTML_TYPE = "text/html; charset=utf-8"
JSON_TYPE = "application/json; charset=utf-8"

Case = Callable[[Client], Any]

#: The two ways a scenario runs CGI, for ``parametrize("in_process_cgi", CGI_RUNS)``: the
#: adapter called in process, and a real interpreter per request (``slow``: ~50 ms each).
CGI_RUNS = [
    pytest.param(True, id="cgi-in-process"),
    pytest.param(False, id="cgi-subprocess", marks=pytest.mark.slow),
]

#: Headers a web server adds or rewrites itself; never compared between two answers.
SERVER_HEADERS = frozenset({"date", "server", "connection", "keep-alive", "transfer-encoding"})


@dataclass
class Scenario:
    id: str
    fn: Case
    env: dict[str, str] = field(default_factory=dict)
    root: str = ""
    wrap_store: Optional[Callable[..., Any]] = None
    path_includes_root: bool = True
    allow_5xx: bool = False


def run_scenario(
    scenario: Scenario, tmp_path: Path, *, in_process_cgi: bool = False
) -> dict[str, list[tuple[str, Result]]]:
    """Run ``scenario`` through WSGI, ASGI and CGI (a subprocess per request, or the
    adapter called in process with ``in_process_cgi``) and compare the transcripts."""
    env = {**BASE_ENV, **scenario.env}
    clients = make_clients(
        tmp_path,
        env,
        root=scenario.root,
        wrap_store=scenario.wrap_store,
        path_includes_root=scenario.path_includes_root,
    )
    if in_process_cgi:
        clients["cgi"].close()
        clients["cgi"] = _in_process_cgi(tmp_path / "cgi-in-process.db", env, scenario)
    transcripts: dict[str, list[tuple[str, Result]]] = {}
    try:
        for name, client in clients.items():
            try:
                scenario.fn(client)
            except AssertionError as exc:
                raise AssertionError(f"[{name} adapter] {exc}") from exc
            transcripts[name] = client.history
    finally:
        for client in clients.values():
            client.close()
    if not scenario.allow_5xx:
        for name, history in transcripts.items():
            for request, result in history:
                assert result.status < 500, f"[{name}] {request} -> {result.status}"
    assert_same(transcripts)
    return transcripts


def _in_process_cgi(path: Path, env: Mapping[str, str], scenario: Scenario) -> Client:
    """The CGI adapter called in process, on an app built as ``make_clients`` builds
    the WSGI and ASGI clients' (its own store, the same seed and clock start)."""
    url = str(path)
    config = Config.from_env({**env, "MINILINK_STORE": url})
    store = open_store(url)
    if scenario.wrap_store is not None:
        store = scenario.wrap_store(store)
    clock = FakeClock(START)
    rng = random.Random(SEED)
    app = App(Shortener(store, config, clock=clock, randbelow=rng.randrange), config)
    client = InProcessCGIClient(app, root=scenario.root, clock=clock)
    client._closers.extend([store.close, app.close])
    return client


def assert_same(transcripts: Mapping[str, list[tuple[str, Result]]]) -> None:
    """Every adapter's transcript equals the first one, request by request."""
    (first, reference), *others = transcripts.items()
    for name, history in others:
        assert len(history) == len(reference), f"{name} sent {len(history)} requests"
        for (request, want), (_, got) in zip(reference, history):
            where = f"{request}: {first} vs {name}"
            assert got.status == want.status, f"{where}: status {want.status} != {got.status}"
            assert got.headers == want.headers, (
                f"{where}: headers differ\n{want.headers}\n{got.headers}"
            )
            assert got.body == want.body, f"{where}: body differs\n{want.body!r}\n{got.body!r}"


# -- assertions used by many scenarios ------------------------------------------------


def assert_html(result: Result, status: int) -> None:
    assert result.status == status, (result.status, result.body[:300])
    assert result.header("content-type") == HTML_TYPE
    csp = result.header("content-security-policy")
    assert csp
    assert "default-src" in csp, csp
    assert result.header("x-content-type-options") == "nosniff"
    assert result.header("referrer-policy")
    assert_length(result)


def app_headers(result: Result) -> dict[str, list[str]]:
    """The headers as the app sent them: by name, the values of one name in order (the
    order of different names means nothing, RFC 9110 §5.3, and Apache changes it),
    without ``SERVER_HEADERS``."""
    headers: dict[str, list[str]] = {}
    for name, value in result.headers:
        if name not in SERVER_HEADERS:
            headers.setdefault(name, []).append(value)
    return headers


def assert_head_answers_as_get(head: Result, get: Result) -> None:
    """HEAD answers as GET with no body and the same headers (edge 17). A zero
    Content-Length may be missing from the HEAD answer: RFC 9110 §9.3.2 lets a server
    leave it out, and Apache drops it (it cannot tell it from a handler that wrote
    nothing)."""
    assert head.status == get.status, (head.status, get.status)
    assert head.body == b""
    want, got = app_headers(get), app_headers(head)
    if want.get("content-length") == ["0"] and "content-length" not in got:
        del want["content-length"]
    assert got == want, (get.headers, head.headers)


def assert_length(result: Result) -> None:
    assert result.header("content-length") == str(len(result.body)) or (
        result.body == b"" and result.header("content-length") is not None
    ), result.headers


def assert_error(result: Result, status: int, code: str) -> None:
    assert result.status == status, (result.status, result.body[:300])
    assert result.header("content-type") == JSON_TYPE, result.headers
    body = result.json()
    assert body["error"]["code"] == code, body
    assert isinstance(body["error"]["message"], str)
    assert body["error"]["message"]
    assert_length(result)


def create(client: Client, url: str, **fields: Any) -> Result:
    headers = fields.pop("headers", None)
    return client.post_json("/api/links", {"url": url, **fields}, headers=headers)


def all_links(client: Client, prefix: str = "") -> list[dict[str, Any]]:
    """Every link in the store, through the admin list: expired links and tombstones
    too (``state=all``), so that a check that nothing changed sees them all."""
    result = client.get(f"{prefix}/api/links?limit=1000&state=all", headers=AUTH)
    assert result.status == 200, result.body
    links: list[dict[str, Any]] = result.json()["links"]
    return links


def assert_store_empty(client: Client, prefix: str = "") -> None:
    assert all_links(client, prefix) == []


async def asgi_get(app: Any, path: str, **scope: Any) -> list[dict[str, Any]]:
    """The messages an ASGI ``app`` sends for one GET of ``path`` without a body;
    entries of ``scope`` replace the defaults (a loopback TCP request)."""
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    defaults: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
    }
    await app({**defaults, **scope}, receive, send)
    return sent
