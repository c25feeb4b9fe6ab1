"""The real entry points: ``python -m minilink.adapters.cgi``, the module-level WSGI and
ASGI ``application`` objects built from the environment, the ASGI lifespan protocol,
and adapter details a client cannot reach (empty PATH_INFO at the root, bad ports)."""

from __future__ import annotations

import asyncio
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from helpers import asgi_get

from minilink import build_app
from minilink.adapters import asgi, cgi, wsgi
from minilink.core.config import Config
from minilink.testing.clients import ASGIClient, WSGIClient

ROOT = Path(__file__).resolve().parents[2]


def run_cgi(env: dict[str, str], body: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    base = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "minilink.adapters.cgi"],
        input=body,
        env={**base, **env},
        capture_output=True,
        timeout=60,
        check=False,
    )


def cgi_env(store: Path, method: str, path: str, **extra: str) -> dict[str, str]:
    env = {
        "GATEWAY_INTERFACE": "CGI/1.1",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "/go",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "short.example",
        "SERVER_PORT": "443",
        "HTTPS": "on",
        "REMOTE_ADDR": "192.0.2.1",
        "HTTP_HOST": "short.example",
        "MINILINK_STORE": str(store),
    }
    env.update(extra)
    return env


def test_cgi_module_creates_then_redirects(tmp_path: Path) -> None:
    store = tmp_path / "links.db"
    body = json.dumps({"url": "https://example.com/cgi"}).encode()
    made = run_cgi(
        cgi_env(
            store,
            "POST",
            "/api/links",
            CONTENT_TYPE="application/json",
            CONTENT_LENGTH=str(len(body)),
        ),
        body,
    )
    assert made.returncode == 0, made.stderr
    head, _, payload = made.stdout.partition(b"\r\n\r\n")
    assert head.startswith(b"Status: 201 Created\r\n"), head
    link = json.loads(payload)
    assert link["short_url"] == f"https://short.example/go/{link['code']}"
    got = run_cgi(cgi_env(store, "GET", f"/{link['code']}"))
    assert got.returncode == 0
    assert got.stderr == b""
    assert got.stdout.startswith(b"Status: 302 Found\r\n")
    assert b"\r\nLocation: https://example.com/cgi\r\n" in got.stdout
    assert got.stdout.endswith(b"\r\n\r\n")


def test_cgi_bad_config_is_one_sentence(tmp_path: Path) -> None:
    result = run_cgi(cgi_env(tmp_path / "x.db", "GET", "/", MINILINK_REDIRECT_STATUS="399"))
    assert result.returncode == 1
    assert result.stdout.startswith(b"Status: 500 Internal Server Error\r\n")
    assert b"Content-Type: text/plain; charset=utf-8\r\n" in result.stdout
    # The reason goes to the server's log only: it may name files or a store URL.
    assert b"MINILINK_REDIRECT_STATUS" not in result.stdout
    assert b"error log" in result.stdout
    assert b"Traceback" not in result.stderr
    assert b"MINILINK_REDIRECT_STATUS" in result.stderr


def test_cgi_unknown_store_scheme_is_one_sentence(tmp_path: Path) -> None:
    env = cgi_env(tmp_path / "x.db", "GET", "/", MINILINK_STORE="nosuchbackend://x")
    result = run_cgi(env)
    assert result.returncode == 1
    assert result.stdout.startswith(b"Status: 500 Internal Server Error\r\n"), result.stdout
    assert b"Traceback" not in result.stderr, result.stderr
    assert result.stderr.count(b"\n") == 1


def test_cgi_unreachable_store_is_not_a_traceback(tmp_path: Path) -> None:
    missing = tmp_path / "no" / "such" / "dir" / "links.db"
    result = run_cgi(cgi_env(missing, "GET", "/healthz"))
    assert result.stdout.startswith((b"Status: 503 ", b"Status: 500 ")), result.stdout
    assert b"Traceback" not in result.stdout


def test_cgi_main_in_process_reads_only_content_length(tmp_path: Path) -> None:
    app = build_app(Config(store=str(tmp_path / "l.db")))
    try:
        body = b'{"url": "https://example.com/"}'
        stdin = io.BytesIO(body + b"TRAILING GARBAGE")
        out = io.BytesIO()
        environ = {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": "/api/links",
            "CONTENT_TYPE": "application/json",
            "CONTENT_LENGTH": str(len(body)),
            "SERVER_NAME": "s.example",
            "SERVER_PORT": "nonsense",  # tolerated: the scheme's default port
        }
        assert cgi.main(app, environ=environ, stdin=stdin, stdout=out) == 0
        assert out.getvalue().startswith(b"Status: 201 Created\r\n")
        assert stdin.read() == b"TRAILING GARBAGE"
        assert json.loads(out.getvalue().partition(b"\r\n\r\n")[2])["short_url"].startswith(
            "http://s.example/"
        )
    finally:
        app.close()


def _environ(path_info: str) -> dict[str, Any]:
    return {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path_info,
        "QUERY_STRING": "",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(),
    }


def test_wsgi_empty_or_missing_path_info_is_root(tmp_path: Path) -> None:
    app = build_app(Config(store=str(tmp_path / "l.db")))
    try:
        application = wsgi.create_app(app=app)
        bodies = []
        for environ in (_environ("/"), _environ(""), {**_environ(""), "PATH_INFO": None}):
            if environ["PATH_INFO"] is None:
                del environ["PATH_INFO"]
            statuses: list[str] = []

            def start_response(status: str, headers: Any, log: list[str] = statuses) -> None:
                log.append(status)

            bodies.append(b"".join(application(environ, start_response)))
            assert statuses == ["200 OK"]
        assert bodies[0] == bodies[1] == bodies[2]
    finally:
        app.close()


def test_module_level_wsgi_application(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MINILINK_STORE", str(tmp_path / "env.db"))
    try:
        client = WSGIClient(wsgi.application)
        made = client.post_json("/api/links", {"url": "https://example.com/w"})
        assert made.status == 201, made.body
        assert client.get("/" + made.json()["code"]).status == 302
        assert (tmp_path / "env.db").exists()
    finally:
        wsgi.application.close()


def test_module_level_asgi_application(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MINILINK_STORE", str(tmp_path / "env.db"))
    try:
        client = ASGIClient(asgi.application)
        made = client.post_json("/api/links", {"url": "https://example.com/a"})
        assert made.status == 201, made.body
        assert client.get("/" + made.json()["code"]).status == 302
    finally:
        asgi.application.close()


def _lifespan(app: Any) -> list[dict[str, Any]]:
    messages = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app({"type": "lifespan", "asgi": {"version": "3.0"}}, receive, send))
    return sent


def test_asgi_lifespan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MINILINK_STORE", str(tmp_path / "life.db"))
    sent = _lifespan(asgi.application)
    assert sent == [{"type": "lifespan.startup.complete"}, {"type": "lifespan.shutdown.complete"}]


def test_asgi_lifespan_startup_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MINILINK_REDIRECT_STATUS", "200")
    sent = _lifespan(asgi.application)
    assert len(sent) == 1
    assert sent[0]["type"] == "lifespan.startup.failed"
    assert "MINILINK_REDIRECT_STATUS" in sent[0]["message"]


def test_asgi_rejects_websocket(tmp_path: Path) -> None:
    app = asgi.create_app(Config(store=str(tmp_path / "l.db")))
    try:

        async def nothing() -> dict[str, Any]:
            raise AssertionError("not called")

        async def ignore(message: Any) -> None:
            raise AssertionError("not called")

        with pytest.raises(ValueError, match="websocket"):
            asyncio.run(app({"type": "websocket"}, nothing, ignore))
    finally:
        app.close()


def test_asgi_unix_socket_server_and_no_client(tmp_path: Path) -> None:
    app = asgi.create_app(Config(store=str(tmp_path / "l.db")))
    try:
        sent = asyncio.run(
            asgi_get(app, "/healthz", headers=[], server=("/run/minilink.sock", None), client=None)
        )
    finally:
        app.close()
    assert sent[0]["status"] == 200
    assert sent[1]["body"] == b"ok"


def test_wsgi_client_validates_all_but_invalid_lengths(tmp_path: Path) -> None:
    """The WSGI client runs every request through ``wsgiref.validate`` except those whose
    environ the validator itself refuses (an invalid ``CONTENT_LENGTH``)."""
    app = build_app(Config(store=str(tmp_path / "l.db")))
    try:
        client = WSGIClient(app)
        client.get("/")
        client.post_json("/api/links", {"url": "https://example.com/"})
        assert client.skipped_validation == []
        json_type = ("Content-Type", "application/json")
        client.request("POST", "/api/links", headers=[json_type, ("Content-Length", "-1")])
        assert client.skipped_validation == ["POST /api/links"]
    finally:
        app.close()
