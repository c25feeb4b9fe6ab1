"""The JSON API under ``/api``: routes, the link JSON, and JSON errors.

Theory of operation
-------------------
Request bodies are read strictly: ``application/json`` only (a ``PATCH`` also takes
``application/merge-patch+json``), UTF-8, one object, known keys only, no duplicate
keys, no ``NaN``/``Infinity``, bounded nesting; query strings too: only the
parameters a route takes. Every violation is a 400 ``bad_request`` that names the
problem; nothing is guessed.
Responses are compact JSON (``application/json; charset=utf-8``, ``nosniff``, and
``<``, ``>``, ``&`` written as ``\\u`` escapes) with ``Cache-Control: no-store``; times
are RFC 3339 UTC (``2026-11-28T13:00:00Z``, with a fraction only when there is one).

The link JSON and its versions
------------------------------
Every answer that is one link (``GET``, the ``POST`` that created or found it, a
``PATCH``) carries ``ETag: "r<revision>"``, the link's ``etag``: edits change it, hits
do not (they are counters, not edits). The admin sees every field; anyone else sees
``url`` and ``fallback_url`` of a password-protected link as ``null`` (the keys stay,
so the JSON has one shape), and a password is only ever shown as
``"password_protected": true``, never as its hash. ``If-None-Match`` is not answered
with 304: the body shows the hits, which move without changing the ETag, so a 304
would vouch for a stale count (and the answers are ``no-store`` anyway).

Editing (``PATCH /api/links/{code}``, admin)
--------------------------------------------
The body is a JSON merge patch (RFC 7396) of the link JSON: each key names a field,
``null`` clears it (for ``password``: removes the password; ``url`` cannot be
cleared), any other value replaces it (a list replaces the whole list, an object is
no value any field takes). Keys the patch may not hold (``code``, ``hits``,
``created_at`` ...) and unknown keys are a 400; so is a patch that is not an object.
The checks run in the order RFC 9110 §13.2 gives: who is asking (401/403), the
media type and size (415, 413), whether the link exists (404, 410 for a deleted
one; an expired or used-up link may be edited, say to extend it), the precondition
(412), and only then the content (400). Whatever is refused changes nothing.

``If-Match`` (RFC 9110 §13.1.1) is ``*`` (any current link) or a list of entity tags
compared strongly: a weak tag (``W/"r1"``) never matches. A value that is neither,
say ``r1`` without its quotes, lists no entity tag, so none can match the link's and
the answer is 412, as for a stale tag: the client asked for a condition, and
answering 400 instead would only say the same thing less precisely, while ignoring
the header would apply an edit its sender meant to guard. The edit itself is a
compare-and-set on the revision the precondition was checked against, so an edit
racing it between the check and the write is a 412 too, never a lost update. An
empty patch changes nothing and keeps the revision.
"""

from __future__ import annotations

import json

from minilink.core.errors import (
    BadRequest,
    Gone,
    MinilinkError,
    NotFound,
    PreconditionFailed,
    UnsupportedMediaType,
)
from minilink.core.forms import params, read_body, single, whole
from minilink.core.http import Request, Response
from minilink.core.http import allow_methods as _allow
from minilink.core.links import Link
from minilink.core.times import format_optional, format_time, parse_time

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only: typing alone would cost a CGI create ~3 ms
    from datetime import datetime
    from typing import Any, Optional

    from minilink.core.app import App

__all__ = ["error", "error_response", "json_response", "link_json", "parse_json", "route"]

_MARKUP_ESCAPES = (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"))
#: The link options a creation and an edit take (checked by the ``Shortener``).
_OPTIONS = ("title", "tags", "redirect_status", "forward_query", "fallback_url", "password")
_CREATE_KEYS = frozenset({"url", "alias", "expires_in", "expires_at", "max_visits", *_OPTIONS})
#: What a merge patch may name: every field ``Shortener.update`` changes.
_PATCH_KEYS = frozenset({"url", "expires_at", "max_visits", *_OPTIONS})
#: Fields of the link JSON that no edit changes (a patch naming one is refused).
_READ_ONLY = frozenset(
    {"code", "short_url", "created_at", "updated_at", "hits", "password_protected", "alias"}
)
#: The media types of a merge patch, the standard one first (RFC 7396 §4).
_PATCH_TYPES = ("application/merge-patch+json", "application/json")
_ACCEPT_PATCH = (("Accept-Patch", ", ".join(_PATCH_TYPES)),)
_MAX_DEPTH = 32


def link_json(link: Link, origin: str, *, admin: bool = False) -> dict[str, Any]:
    """The JSON form of ``link``; ``origin`` is the base of short URLs.

    Without ``admin``, the target (``url`` and ``fallback_url``) of a
    password-protected link is ``null``. The password hash is never shown.
    """
    hidden = link.password_hash is not None and not admin
    return {
        "code": link.code,
        "short_url": f"{origin}/{link.code}",
        "url": None if hidden else link.url,
        "title": link.title,
        "tags": list(link.tags),
        "created_at": format_time(link.created_at),
        "updated_at": format_optional(link.updated_at),
        "expires_at": format_optional(link.expires_at),
        "max_visits": link.max_visits,
        "hits": link.hits,
        "redirect_status": link.redirect_status,
        "forward_query": link.forward_query,
        "fallback_url": None if hidden else link.fallback_url,
        "password_protected": link.password_hash is not None,
    }


def _link_response(
    status: int,
    link: Link,
    origin: str,
    *,
    admin: bool,
    extra: tuple[tuple[str, str], ...] = (),
) -> Response:
    """``link_json`` as an answer, with the link's ``ETag``."""
    return json_response(
        status, link_json(link, origin, admin=admin), (("ETag", link.etag), *extra)
    )


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
    """How this route family answers an error: as JSON (see ``minilink.core.app``).

    A ``PATCH`` refused for its media type says which ones it takes (``Accept-Patch``,
    RFC 5789 §2.2)."""
    if isinstance(exc, UnsupportedMediaType) and request.method == "PATCH":
        extra = (*extra, *_ACCEPT_PATCH)
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
    if segments == ["tags"]:
        _allow(method, ("GET", "HEAD"))
        return _tags(app, request)
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
    _allow(method, ("GET", "HEAD", "PATCH", "DELETE"))
    if method == "PATCH":
        return _patch(app, request, code)
    params(request)
    if method == "DELETE":
        app.site.check_token(request, app.config.admin_token, required=True)
        if_match = request.header("if-match")
        revision = None if if_match is None else _precondition(if_match, _current(app, code))
        app.shortener.delete(code, revision=revision)
        # No Content-Length: RFC 9110 §8.6 forbids it on a 204 (Apache drops it).
        return Response(204, (("Cache-Control", "no-store"),))
    link = app.shortener.resolve(code)
    admin = app.site.check_token(request, app.config.admin_token, required=False)
    return _link_response(200, link, app.site.origin(request), admin=admin)


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
        **{name: data[name] for name in _OPTIONS if name in data},
    )
    admin = app.site.check_token(request, app.config.admin_token, required=False)
    origin = app.site.origin(request)
    if not created:
        return _link_response(200, link, origin, admin=admin)
    location = (("Location", f"{origin}/{link.code}"),)
    return _link_response(201, link, origin, admin=admin, extra=location)


def _patch(app: App, request: Request, code: str) -> Response:
    """Apply a JSON merge patch to the link ``code`` (see the module docstring)."""
    app.site.check_token(request, app.config.admin_token, required=True)
    params(request)
    given = (request.header("content-type") or "").split(";")[0].strip().lower()
    media_type = given if given in _PATCH_TYPES else _PATCH_TYPES[0]
    try:
        body = read_body(request, media_type, app.config.max_body_bytes)
    except UnsupportedMediaType:
        if given in _PATCH_TYPES:
            raise  # a compressed body
        raise UnsupportedMediaType(
            "Send the merge patch as application/merge-patch+json or application/json."
        ) from None
    link = _current(app, code)
    revision = _precondition(request.header("if-match"), link)
    patch = parse_json(body)
    if not isinstance(patch, dict):
        raise BadRequest("A merge patch must be a JSON object of the fields to change.")
    for key in sorted(patch):
        if key in _READ_ONLY:
            raise BadRequest(f"The field {key!r} cannot be changed.")
        if key not in _PATCH_KEYS:
            raise BadRequest(f"Unknown field {key!r}.")
    origin = app.site.origin(request)
    if not patch:
        return _link_response(200, link, origin, admin=True)
    changes = dict(patch)
    expires_at = changes.get("expires_at")
    if expires_at is not None:
        changes["expires_at"] = _parse_time(expires_at, "expires_at")
    edited = app.shortener.update(code, revision=revision, own=app.site.own(request), **changes)
    return _link_response(200, edited, origin, admin=True)


def _current(app: App, code: str) -> Link:
    """The link ``code`` as stored, expired or not; ``NotFound``, or ``Gone`` for a
    deleted one (the answers an edit gets before its precondition is looked at)."""
    from minilink.core.codes import is_code

    link = app.shortener.store.get(code) if is_code(code) else None
    if link is None:
        raise NotFound(f"No link has the code {code!r}.")
    if link.deleted_at is not None:
        raise Gone(f"The link {code!r} was deleted.")
    return link


def _precondition(if_match: Optional[str], link: Link) -> Optional[int]:
    """The revision an edit must be made over, from ``If-Match`` (``None``: any).

    Raises ``PreconditionFailed`` when the header lists no entity tag that matches
    ``link``'s by strong comparison (RFC 9110 §8.8.3.2), garbage included.
    """
    if if_match is None:
        return None
    text = if_match.strip(" \t")
    if text == "*":
        return None
    tags = _entity_tags(text)
    if tags is None:
        raise PreconditionFailed(
            'If-Match must be * or a list of entity tags such as "r1" (quotes included), '
            f"as the link's ETag writes them; the link is now at {link.etag}."
        )
    if link.etag not in tags:
        raise PreconditionFailed(
            f"The link {link.code!r} was changed since: it is now at {link.etag}, which "
            "If-Match does not name; read it again."
        )
    return link.revision


def _entity_tags(text: str) -> Optional[set[str]]:
    """The strong entity tags of an ``If-Match`` list (quotes kept; weak ones left
    out, as they never match strongly), or ``None`` when ``text`` is no such list.

    RFC 9110 §13.1.1 and §8.8.3: ``#entity-tag``, ``entity-tag = [ "W/" ] DQUOTE
    *etagc DQUOTE``, ``etagc = %x21 / %x23-7E / obs-text``; list elements are
    separated by commas with optional spaces and tabs, and empty elements are
    allowed (§5.6.1), but a list of none is no list.
    """
    strong: set[str] = set()
    seen = False
    for element in text.split(","):
        element = element.strip(" \t")
        if not element:
            continue
        weak = element.startswith("W/")
        opaque = element[2:] if weak else element
        if not (
            len(opaque) >= 2
            and opaque[0] == opaque[-1] == '"'
            and all(c == "\x21" or "\x23" <= c <= "\x7e" or c >= "\x80" for c in opaque[1:-1])
        ):
            return None
        seen = True
        if not weak:
            strong.add(opaque)
    return strong if seen else None


def _list(app: App, request: Request) -> Response:
    app.site.check_token(request, app.config.admin_token, required=True)
    fields = params(request, "q", "tag", "state", "sort", "limit", "after")
    limit = whole(fields, "limit", 100)
    links = app.shortener.search(
        single(fields, "q") or None,
        tag=single(fields, "tag") or None,
        state=single(fields, "state") or "live",
        sort=single(fields, "sort") or "created",
        limit=limit,
        after=single(fields, "after") or None,
    )
    origin = app.site.origin(request)
    # The cursor is the last code of a full page: the next page starts after it (a
    # full last page is followed by one empty page, which costs one query and never
    # skips a link).
    next_cursor = links[-1].code if len(links) == limit else None
    return json_response(
        200,
        {"links": [link_json(link, origin, admin=True) for link in links], "next": next_cursor},
    )


def _tags(app: App, request: Request) -> Response:
    app.site.check_token(request, app.config.admin_token, required=True)
    params(request)
    tags = app.shortener.tags()
    return json_response(200, {"tags": [{"tag": tag, "links": count} for tag, count in tags]})
