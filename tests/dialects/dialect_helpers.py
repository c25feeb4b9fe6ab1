"""Apps with the dialects turned on, called in process (``App.handle``), and the
settings the tests of the dialects share."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any, Optional
from urllib.parse import urlencode

from minilink.core.app import App
from minilink.core.config import Config
from minilink.core.http import Request, Response
from minilink.core.service import Shortener
from minilink.storage.memory import MemoryStore

NOW = datetime(2026, 11, 28, 13, 0, 0, tzinfo=timezone.utc)
SIGNATURE = "1002a612b4"
USERS = (("alice", "wonder land"), ("bob", "b0b"))
API_KEY = "5b7d3b7a-6f6e-4d7e-9a3f-shlink-key"
ADMIN = "admin-token"


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


class Dialects:
    """One app over a memory store, with a settable clock."""

    def __init__(self, **config: Any) -> None:
        settings: dict[str, Any] = {
            "yourls_users": USERS,
            "yourls_signature": SIGNATURE,
            "shlink_api_keys": (API_KEY,),
            "admin_token": ADMIN,
            "rate_limit": 0,
        }
        settings.update(config)
        self.config = Config(**settings)
        self.clock = Clock()
        self.shortener = Shortener(MemoryStore(), self.config, clock=self.clock)
        self.app = App(self.shortener, self.config)

    def request(
        self,
        method: str,
        path: str,
        query: str = "",
        body: bytes = b"",
        headers: Optional[dict[str, str]] = None,
    ) -> Response:
        sent = {"host": "sho.rt"}
        if body:
            sent["content-length"] = str(len(body))
        sent.update({k.lower(): v for k, v in (headers or {}).items()})
        request = Request(method=method, path=path, query=query, headers=sent, body=body)
        return self.app.handle(request)

    # -- YOURLS --

    def yourls(self, method: str = "GET", auth: bool = True, **fields: Any) -> Response:
        if auth:
            fields.setdefault("signature", SIGNATURE)
        encoded = urlencode({k: v for k, v in fields.items() if v is not None})
        if method == "POST":
            return self.request(
                "POST",
                "/yourls-api.php",
                body=encoded.encode(),
                headers={"content-type": "application/x-www-form-urlencoded"},
            )
        return self.request(method, "/yourls-api.php", encoded)

    def yourls_json(self, **fields: Any) -> tuple[int, Any]:
        fields.setdefault("format", "json")
        response = self.yourls(**fields)
        return response.status, json.loads(response.body)

    # -- Shlink --

    def shlink(
        self,
        method: str,
        path: str,
        payload: Any = None,
        query: str = "",
        key: Optional[str] = API_KEY,
        headers: Optional[dict[str, str]] = None,
    ) -> Response:
        sent = dict(headers or {})
        if key is not None:
            sent.setdefault("x-api-key", key)
        body = b""
        if payload is not None:
            body = json.dumps(payload).encode()
            sent.setdefault("content-type", "application/json")
        return self.request(method, path, query, body, sent)


def header(response: Response, name: str) -> Optional[str]:
    return response.header(name)
