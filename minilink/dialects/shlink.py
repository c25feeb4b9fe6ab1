"""Shlink's REST API v3 under ``/rest`` (in progress)."""

from __future__ import annotations

from minilink.core.errors import NotFound

TYPE_CHECKING = False
if TYPE_CHECKING:
    from minilink.core.app import App
    from minilink.core.http import Request, Response


def route(app: App, request: Request, segments: list[str]) -> Response:
    raise NotFound("There is no such page.")
