"""The JSON API under ``/api``: routes, the link JSON, and JSON errors.

Theory of operation
-------------------
Request bodies are read strictly: ``application/json`` only, UTF-8, one object,
known keys only, no duplicate keys, no ``NaN``/``Infinity``, bounded nesting; query
strings too: only the parameters a route takes. Every violation is a 400
``bad_request`` that names the problem; nothing is guessed.
Responses are compact JSON (``application/json; charset=utf-8``, ``nosniff``, and
``<``, ``>``, ``&`` written as ``\\u`` escapes) with ``Cache-Control: no-store``; times
are RFC 3339 UTC (``2026-11-28T13:00:00Z``, with a fraction only when there is one).
"""

from __future__ import annotations

import json

from minilink.core.errors import BadRequest, MinilinkError, NotFound
from minilink.core.forms import params, read_body, single, whole
from minilink.core.http import Request, Response
from minilink.core.http import allow_methods as _allow
from minilink.core.links import Link
from minilink.core.times import format_optional, format_time, parse_time

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only: typing alone would cost a CGI create ~3 ms
    from datetime import datetime
    from typing import Any

    from minilink.core.app import App

__all__ = ["error", "error_response", "json_response", "link_json", "parse_json", "route"]

_MARKUP_ESCAPES = (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"))
_CREATE_KEYS = frozenset({"url", "alias", "expires_in", "expires_at", "max_visits"})
_MAX_DEPTH = 32


def link_json(link: Link, origin: str) -> dict[str, Any]:
    """The public JSON form of ``link``; ``origin`` is the base of short URLs."""
    return {
        "code": link.code,
        "short_url": f"{origin}/{link.code}",
        "url": link.url,
        "created_at": format_time(link.created_at),
        "expires_at": format_optional(link.expires_at),
        "max_visits": link.max_visits,
        "hits": link.hits,
    }


def json_response(status: int, payload: Any, extra: tuple[tuple[str, str], ...] = ()) -> Response:
    text = _ENCODER.encode(payload)
    # "<", ">" and "&" only ever occur inside strings: as \u escapes they are the same
    # JSON, and an error quoting what a client sent holds no markup to sniff.
    for char, escape in _MARKUP_ESCAPES:
        text = text.replace(char, escape)
    body = text.encode("ascii")
    return Response(
        status,
        (
            ("Content-Type", "application/json; charset=utf-8"),
            ("Content-Length", str(len(body))),
            ("Cache-Control", "no-store"),
            ("X-Content-Type-Options", "nosniff"),
            *extra,
        ),
        body,
    )


def error_response(exc: MinilinkError, extra: tuple[tuple[str, str], ...] = ()) -> Response:
    """``{"error": {"code", "message"}}`` with the error's status."""
    return json_response(exc.status, {"error": {"code": exc.code, "message": exc.message}}, extra)


def error(
    app: App, request: Request, exc: MinilinkError, extra: tuple[tuple[str, str], ...]
) -> Response:
    """How this route family answers an error: as JSON (see ``minilink.core.app``)."""
    return error_response(exc, extra)


def _reject_constant(name: str) -> Any:
    raise BadRequest(f"JSON {name} is not a number minilink accepts.")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise BadRequest(f"The JSON key {key!r} appears twice.")
        result[key] = value
    return result


# Built once: json.dumps and json.loads build a new one per call when given options.
_ENCODER = json.JSONEncoder(ensure_ascii=True, separators=(",", ":"))
_DECODER = json.JSONDecoder(parse_constant=_reject_constant, object_pairs_hook=_no_duplicates)


def _depth(text: str) -> int:
    """Deepest nesting of ``[``/``{`` outside strings (json recurses per level)."""
    depth = deepest = 0
    in_string = escaped = False
    for c in text:
        if in_string:
            if escaped:
                escaped = False
            elif c == "\\":
                escaped = True
            elif c == '"':
                in_string = False
        elif c == '"':
            in_string = True
        elif c in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif c in "]}":
            depth -= 1
    return deepest


def parse_json(body: bytes) -> Any:
    """Strictly parse a JSON body; ``BadRequest`` for anything but clean JSON."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("The request body is not valid UTF-8.") from None
    # Only a body with more brackets than the limit can nest that deep: most skip the scan.
    if text.count("[") + text.count("{") > _MAX_DEPTH and _depth(text) > _MAX_DEPTH:
        raise BadRequest("The JSON is nested too deeply.")
    try:
        if text.startswith("\ufeff"):  # as json.loads says it
            raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", text, 0)
        return _DECODER.decode(text)
    except ValueError as exc:
        if isinstance(exc, BadRequest):
            raise
        raise BadRequest(f"The request body is not valid JSON: {exc}.") from None


def _parse_time(value: Any, name: str) -> datetime:
    try:
        return parse_time(value)
    except ValueError as exc:
        raise BadRequest(f"{name} {exc}.") from None


def route(app: App, request: Request, segments: list[str]) -> Response:
    """Answer a request under ``/api``; ``segments`` come after ``api``."""
    method = request.method
    if segments == ["openapi.json"]:
        _allow(method, ("GET", "HEAD"))
        params(request)
        from minilink.core.openapi import document

        return json_response(200, document())
    if not segments or segments[0] != "links" or len(segments) > 3:
        raise NotFound("There is no such API path.")
    if len(segments) == 1:
        _allow(method, ("GET", "HEAD", "POST"))
        if method == "POST":
            return _create(app, request)
        return _list(app, request)
    code = segments[1]
    if len(segments) == 3:
        if segments[2] != "stats":
            raise NotFound("There is no such API path.")
        _allow(method, ("GET", "HEAD"))
        fields = params(request, "days")
        stats = app.shortener.stats(code, whole(fields, "days", 30))
        return json_response(
            200,
            {
                "code": stats.code,
                "hits": stats.hits,
                "daily": [{"date": day, "hits": hits} for day, hits in stats.daily],
            },
        )
    _allow(method, ("GET", "HEAD", "DELETE"))
    params(request)
    if method == "DELETE":
        app.site.check_token(request, app.config.admin_token, required=True)
        app.shortener.delete(code)
        # No Content-Length: RFC 9110 §8.6 forbids it on a 204 (Apache drops it).
        return Response(204, (("Cache-Control", "no-store"),))
    return json_response(200, link_json(app.shortener.resolve(code), app.site.origin(request)))


def _create(app: App, request: Request) -> Response:
    app.site.authorize_create(request, app.shortener)
    params(request)
    data = parse_json(read_body(request, "application/json", app.config.max_body_bytes))
    if not isinstance(data, dict):
        raise BadRequest("The request body must be a JSON object.")
    unknown = sorted(set(data) - _CREATE_KEYS)
    if unknown:
        raise BadRequest(f"Unknown field {unknown[0]!r}.")
    if "url" not in data:
        raise BadRequest("The field 'url' is required.")
    expires_at = data.get("expires_at")
    link, created = app.shortener.create(
        data["url"],
        alias=data.get("alias"),
        expires_in=data.get("expires_in"),
        expires_at=None if expires_at is None else _parse_time(expires_at, "expires_at"),
        max_visits=data.get("max_visits"),
        own=app.site.own(request),
    )
    origin = app.site.origin(request)
    payload = link_json(link, origin)
    if not created:
        return json_response(200, payload)
    return json_response(201, payload, (("Location", payload["short_url"]),))


def _list(app: App, request: Request) -> Response:
    app.site.check_token(request, app.config.admin_token, required=True)
    fields = params(request, "limit", "after")
    limit = whole(fields, "limit", 100)
    after = single(fields, "after")
    links = app.shortener.links(limit, after or None)
    origin = app.site.origin(request)
    next_cursor = links[-1].code if len(links) == limit else None
    return json_response(
        200, {"links": [link_json(link, origin) for link in links], "next": next_cursor}
    )
