"""Shlink's REST API v3 under ``/rest``, answered by minilink.

Theory of operation
-------------------
Shlink's web client, its SDKs and the scripts written for them speak the REST API of
Shlink's OpenAPI files (``docs/swagger/`` in ``shlinkio/shlink``). This module
answers the part of it a link shortener without per-visit records can answer truly:

* ``GET /rest/health`` and ``/rest/v3/health`` (no key needed, as in Shlink):
  ``{"status": "pass", "version", "links"}`` as ``application/health+json``; 503 and
  ``fail`` when the store does not answer.
* ``/rest/v3/short-urls``: ``POST`` creates (200, as Shlink answers), ``GET`` lists
  with ``page``, ``itemsPerPage`` (``-1`` for all), ``searchTerm`` (code, long URL,
  title and tags), ``tags[]`` with ``tagsMode`` any/all, ``orderBy``
  (``field-ASC|DESC``), ``startDate``/``endDate``, ``excludeMaxVisitsReached``,
  ``excludePastValidUntil``; ``GET /rest/v3/short-urls/shorten`` (``apiKey`` and
  ``longUrl`` in the query, ``format=txt`` for the bare short URL) as Shlink's; it
  creates a link, so it takes no HEAD (405).
* ``/rest/v3/short-urls/{shortCode}``: ``GET``, ``PATCH`` (200), ``DELETE`` (204).
* ``/rest/v3/tags`` and ``/rest/v3/tags/stats``; ``/rest/v3/domains``.
* visits: ``/rest/v3/short-urls/{shortCode}/visits``, ``/rest/v3/tags/{tag}/visits``,
  ``/rest/v3/visits/orphan``, ``/rest/v3/visits/non-orphan`` answer an empty page
  (minilink keeps no per-visit records), with the short URL's ``visitsSummary``
  where there is one; ``/rest/v3/visits`` gives the totals.
* The versions 1 and 2 of the paths answer as version 3 (Shlink keeps them so).

Mapping onto minilink's links (SPEC section 9): ``customSlug`` is the alias,
``validUntil`` the expiry, ``maxVisits`` the visit limit, ``tags`` and ``title`` as
they are, ``forwardQuery`` (true by default, as in Shlink) the query forwarding.
``visitsSummary`` is minilink's counter: ``total`` = ``nonBots`` = the hits, ``bots``
0, since link-preview bots are never counted. Where minilink has no such thing the
answer says so instead of pretending: ``validSince`` may only lie in the past (it is
then answered as ``null``), ``crawlable`` is always false (minilink's robots.txt lets
no link be crawled), ``deviceLongUrls`` are all null and cannot be set,
``shortCodeLength`` is ignored (codes have the configured length), ``domain`` is
``null`` (the one default domain) and another domain is refused. A password-protected
link (made through minilink's own API) shows an empty ``longUrl``.

Errors are ``application/problem+json`` (RFC 9457) with Shlink's ``type`` URIs and
titles: ``invalid-data`` (400, with ``invalidElements``), ``non-unique-slug`` (400),
``short-url-not-found`` (404), ``missing-authentication`` and ``invalid-api-key``
(401), ``not-found`` (404, an unknown route); errors Shlink has no type for (405,
413, 415, 429, 503) are ``about:blank`` with the status's reason as title.
Authentication is the ``X-Api-Key`` header, one of ``MINILINK_SHLINK_API_KEYS``
(compared with ``hmac.compare_digest``); without that setting every path here
answers 404 as an unknown one. The admin token is never accepted in its place.
"""

from __future__ import annotations

import math

from minilink.core.api import json_response, parse_json
from minilink.core.errors import (
    AliasTaken,
    BadRequest,
    Gone,
    InvalidAlias,
    InvalidURL,
    MinilinkError,
    NotFound,
    StoreUnavailable,
)
from minilink.core.forms import parse_query, read_body
from minilink.core.http import REASONS, Response, allow_methods
from minilink.core.links import Link
from minilink.dialects._links import every_link

TYPE_CHECKING = False
if TYPE_CHECKING:
    from datetime import datetime
    from typing import Any, Optional

    from minilink.core.app import App
    from minilink.core.http import Request

__all__ = ["VERSION", "enabled", "error", "route"]

#: The Shlink version whose API this is (``/rest/health``).
VERSION = "3.7.0"
_ERRORS = "https://shlink.io/api/error/"
_VERSIONS = ("v1", "v2", "v3")
_ORDER_FIELDS = ("dateCreated", "shortCode", "longUrl", "title", "visits", "nonBotVisits")
_EDIT_FIELDS = (
    "longUrl",
    "validSince",
    "validUntil",
    "maxVisits",
    "tags",
    "title",
    "crawlable",
    "forwardQuery",
    "validateUrl",
    "deviceLongUrls",
)
_CREATE_FIELDS = (*_EDIT_FIELDS, "customSlug", "findIfExists", "domain", "shortCodeLength")


class Problem(MinilinkError):
    """An error in Shlink's form: its ``type`` (after ``.../api/error/``), title and
    extra members."""

    def __init__(self, status: int, kind: str, title: str, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.status = status
        self.kind = kind
        self.title = title
        self.extra = extra


def _invalid(element: str, detail: str) -> Problem:
    return Problem(
        400,
        "invalid-data",
        "Invalid data",
        f"Provided data is not valid: {detail}",
        invalidElements=[element],
    )


def _not_found(code: str) -> Problem:
    return Problem(
        404,
        "short-url-not-found",
        "Short URL not found",
        f'No URL found with short code "{code}"',
        shortCode=code,
    )


def enabled(app: App) -> bool:
    """Whether the Shlink dialect is configured."""
    return bool(app.config.shlink_api_keys)


# -- answers ----------------------------------------------------------------------


def problem_response(exc: MinilinkError, extra: tuple[tuple[str, str], ...] = ()) -> Response:
    """``exc`` as ``application/problem+json``."""
    if isinstance(exc, Problem):
        payload: dict[str, Any] = {
            "type": _ERRORS + exc.kind,
            "title": exc.title,
            "detail": exc.message,
            "status": exc.status,
            **exc.extra,
        }
    elif isinstance(exc, (NotFound, Gone)):
        payload = {
            "type": _ERRORS + "not-found",
            "title": "Not found",
            "detail": "Requested route does not exist.",
            "status": 404,
        }
    elif exc.status == 400:
        payload = {
            "type": _ERRORS + "invalid-data",
            "title": "Invalid data",
            "detail": f"Provided data is not valid: {exc.message}",
            "status": 400,
            "invalidElements": [],
        }
    else:
        payload = {
            "type": "about:blank",
            "title": REASONS.get(exc.status, "Error"),
            "detail": exc.message,
            "status": exc.status,
        }
    response = json_response(payload["status"], payload, extra)
    headers = tuple(
        ("Content-Type", "application/problem+json") if name == "Content-Type" else (name, value)
        for name, value in response.headers
    )
    return Response(response.status, headers, response.body)


def error(
    app: App, request: Request, exc: MinilinkError, extra: tuple[tuple[str, str], ...]
) -> Response:
    """How errors under ``/rest`` are answered: problem+json once the dialect is on;
    before that (and for ``/rest`` alone, a code) as every other page's."""
    path = [s for s in request.path.split("/") if s not in ("", ".")]
    if not enabled(app) or len(path) < 2:
        from minilink.core import pages

        return pages.error(app, request, exc, extra)
    extra = tuple((k, v) for k, v in extra if k != "WWW-Authenticate")
    return problem_response(exc, extra)


def _json(payload: Any, status: int = 200) -> Response:
    return json_response(status, payload)


def _time(moment: Optional[datetime]) -> Optional[str]:
    """A time as Shlink writes it (PHP's ATOM format): ``2026-11-28T13:00:00+00:00``."""
    if moment is None:
        return None
    from datetime import timezone

    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def _summary(hits: int) -> dict[str, int]:
    return {"total": hits, "nonBots": hits, "bots": 0}


def short_url_json(link: Link, origin: str) -> dict[str, Any]:
    """A link as Shlink's ``ShortUrl``."""
    return {
        "shortCode": link.code,
        "shortUrl": f"{origin}/{link.code}",
        "longUrl": "" if link.password_hash is not None else link.url,
        "deviceLongUrls": {"android": None, "ios": None, "desktop": None},
        "dateCreated": _time(link.created_at),
        "visitsSummary": _summary(link.hits),
        "visitsCount": link.hits,
        "tags": list(link.tags),
        "meta": {
            "validSince": None,
            "validUntil": _time(link.expires_at),
            "maxVisits": link.max_visits,
        },
        "domain": None,
        "title": link.title,
        "crawlable": False,
        "forwardQuery": link.forward_query,
        "hasRedirectRules": False,
    }


def _page(items: list[Any], page: int, per_page: int) -> tuple[list[Any], dict[str, int]]:
    """One page of ``items`` and Shlink's ``pagination`` of it (``per_page`` -1: all)."""
    total = len(items)
    if per_page < 0:
        chosen, per_page, pages = items, total, 1 if total else 0
    else:
        start = (page - 1) * per_page
        chosen = items[start : start + per_page]
        pages = math.ceil(total / per_page)
    return chosen, {
        "currentPage": page,
        "pagesCount": pages,
        "itemsPerPage": per_page,
        "itemsInCurrentPage": len(chosen),
        "totalItems": total,
    }


def _empty_visits(page: int, per_page: int, hits: Optional[int] = None) -> Response:
    _, pagination = _page([], page, per_page)
    visits: dict[str, Any] = {"data": [], "pagination": pagination}
    if hits is not None:
        visits["visitsSummary"] = _summary(hits)
    return _json({"visits": visits})


# -- dispatch ---------------------------------------------------------------------


def route(app: App, request: Request, segments: list[str]) -> Response:
    """Answer a request under ``/rest``; ``segments`` come after ``rest``."""
    if not enabled(app):
        raise NotFound("There is no such page.")
    method = request.method
    if segments == ["health"] or (
        len(segments) == 2 and segments[0] in _VERSIONS and segments[1] == "health"
    ):
        allow_methods(method, ("GET", "HEAD"))
        return _health(app)
    if not segments or segments[0] not in _VERSIONS:
        raise NotFound("Requested route does not exist.")
    path = segments[1:]
    if path == ["short-urls", "shorten"]:
        allow_methods(method, ("GET",))  # no HEAD: a GET that creates is no safe one
        return _shorten(app, request)
    _authenticate(app, request.header("x-api-key"))
    return _dispatch(app, request, path)


def _dispatch(app: App, request: Request, path: list[str]) -> Response:
    method = request.method
    n = len(path)
    if path == ["short-urls"]:
        allow_methods(method, ("GET", "HEAD", "POST"))
        if method == "POST":
            return _create(app, request)
        return _list(app, request)
    if n in (2, 3) and path[0] == "short-urls":
        code = path[1]
        if n == 3:
            if path[2] != "visits":
                raise NotFound("Requested route does not exist.")
            allow_methods(method, ("GET", "HEAD"))
            link = _link(app, code)
            page, per_page = _paging(_query(request))
            return _empty_visits(page, per_page, link.hits)
        allow_methods(method, ("GET", "HEAD", "PATCH", "DELETE"))
        _check_domain(_query(request))
        if method == "PATCH":
            return _edit(app, request, code)
        if method == "DELETE":
            link = _link(app, code)
            app.shortener.delete(link.code)
            return Response(204, (("Cache-Control", "no-store"),))
        return _json(short_url_json(_link(app, code), app.site.origin(request)))
    if path == ["tags"]:
        allow_methods(method, ("GET", "HEAD"))
        return _json({"tags": {"data": [tag for tag, _ in app.shortener.tags()]}})
    if path == ["tags", "stats"]:
        allow_methods(method, ("GET", "HEAD"))
        return _tag_stats(app, request)
    if n == 3 and path[0] == "tags" and path[2] == "visits":
        allow_methods(method, ("GET", "HEAD"))
        page, per_page = _paging(_query(request))
        return _empty_visits(page, per_page)
    if path == ["visits"]:
        allow_methods(method, ("GET", "HEAD"))
        hits = sum(link.hits for link in every_link(app))
        return _json(
            {
                "visits": {
                    "nonOrphanVisits": _summary(hits),
                    "orphanVisits": _summary(0),
                    "visitsCount": hits,
                    "orphanVisitsCount": 0,
                }
            }
        )
    if n == 2 and path[0] == "visits" and path[1] in ("orphan", "non-orphan"):
        allow_methods(method, ("GET", "HEAD"))
        page, per_page = _paging(_query(request))
        return _empty_visits(page, per_page)
    if path == ["domains"]:
        allow_methods(method, ("GET", "HEAD"))
        redirects = {
            "baseUrlRedirect": None,
            "regular404Redirect": None,
            "invalidShortUrlRedirect": None,
        }
        host = app.site.origin(request).split("://", 1)[-1].split("/", 1)[0]
        return _json(
            {
                "domains": {
                    "data": [{"domain": host, "isDefault": True, "redirects": redirects}],
                    "defaultRedirects": redirects,
                }
            }
        )
    raise NotFound("Requested route does not exist.")


def _health(app: App) -> Response:
    try:
        app.shortener.store.ping()
        status, state = 200, "pass"
    except StoreUnavailable:
        status, state = 503, "fail"
    payload = {
        "status": state,
        "version": VERSION,
        "links": {"about": "https://shlink.io", "project": "https://github.com/shlinkio/shlink"},
    }
    response = json_response(status, payload)
    headers = tuple(
        ("Content-Type", "application/health+json") if name == "Content-Type" else (name, value)
        for name, value in response.headers
    )
    return Response(status, headers, response.body)


def _authenticate(app: App, key: Optional[str]) -> None:
    if key is None or not key.strip():
        raise Problem(
            401,
            "missing-authentication",
            "Invalid authorization",
            'Expected one of the following authentication headers, ["X-Api-Key"], but none '
            "were provided",
        )
    import hmac

    given = key.strip().encode("utf-8", "replace")
    ok = False
    for secret in app.config.shlink_api_keys:  # every key, so timing says nothing
        ok |= hmac.compare_digest(given, secret.encode("utf-8"))
    if not ok:
        raise Problem(
            401,
            "invalid-api-key",
            "Invalid API key",
            "Provided API key does not exist or is invalid.",
        )


# -- reading ----------------------------------------------------------------------


def _query(request: Request) -> dict[str, list[str]]:
    return parse_query(request.query)


def _one(fields: dict[str, list[str]], name: str) -> Optional[str]:
    values = fields.get(name)
    if not values:
        return None
    if any(value != values[0] for value in values):
        raise _invalid(name, f"{name} is given more than once, with different values.")
    return values[0]


def _whole(fields: dict[str, list[str]], name: str, default: int, lowest: int) -> int:
    raw = _one(fields, name)
    if raw is None or raw == "":
        return default
    text = raw[1:] if raw.startswith("-") else raw
    if not (text.isascii() and text.isdigit()) or len(text) > 9 or int(raw) < lowest:
        raise _invalid(name, f"{name} must be a whole number of at least {lowest}.")
    return int(raw)


def _paging(fields: dict[str, list[str]]) -> tuple[int, int]:
    page = _whole(fields, "page", 1, 1)
    per_page = _whole(fields, "itemsPerPage", 10, -1)
    if per_page == 0:
        raise _invalid("itemsPerPage", "itemsPerPage must be -1 (all) or at least 1.")
    return page, per_page


def _flag(fields: dict[str, list[str]], name: str) -> bool:
    raw = _one(fields, name)
    if raw is None or raw in ("", "false", "0"):
        return False
    if raw in ("true", "1"):
        return True
    raise _invalid(name, f"{name} must be true or false.")


def _check_domain(fields: dict[str, list[str]]) -> None:
    domain = _one(fields, "domain")
    if domain not in (None, "", "DEFAULT"):
        raise Problem(
            404,
            "domain-not-found",
            "Domain not found",
            f'Domain with authority "{domain}" could not be found',
        )


def _body(app: App, request: Request) -> dict[str, Any]:
    data = parse_json(read_body(request, "application/json", app.config.max_body_bytes))
    if not isinstance(data, dict):
        raise _invalid("body", "the request body must be a JSON object.")
    return data


def _link(app: App, code: str) -> Link:
    from minilink.core.codes import is_code

    link = app.shortener.store.get(code) if is_code(code) else None
    if link is None or link.deleted_at is not None:
        raise _not_found(code)
    return link


def _moment(value: Any, name: str) -> Optional[datetime]:
    from minilink.core.times import parse_time

    if value is None:
        return None
    try:
        return parse_time(value)
    except ValueError as exc:
        raise _invalid(name, f"{name} {exc}.") from None


# -- short URLs -------------------------------------------------------------------


def _options(app: App, data: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    """``Shortener`` options from a Shlink body (checked field by field, so that an
    error names its field as ``invalidElements`` does)."""
    from minilink.core import options as check

    changes: dict[str, Any] = {}
    for name in ("crawlable", "forwardQuery", "findIfExists", "validateUrl"):
        if name in data and not isinstance(data[name], bool):
            raise _invalid(name, f"{name} must be true or false.")
    if "validSince" in data:
        since = _moment(data["validSince"], "validSince")
        if since is not None and since > app.shortener.clock():
            raise _invalid(
                "validSince",
                "minilink links are valid from their creation; validSince "
                "may only lie in the past.",
            )
    if "validUntil" in data:
        changes["expires_at"] = _moment(data["validUntil"], "validUntil")
        if creating and changes["expires_at"] is None:
            del changes["expires_at"]
    if "maxVisits" in data:
        visits = data["maxVisits"]
        if visits is not None and (
            isinstance(visits, bool) or not isinstance(visits, int) or visits < 1
        ):
            raise _invalid("maxVisits", "maxVisits must be a whole number of at least 1.")
        if visits is not None or not creating:
            changes["max_visits"] = visits
    for name, option, checker in (
        ("tags", "tags", check.check_tags),
        ("title", "title", check.check_title),
    ):
        if name in data:
            try:
                changes[option] = checker(data[name])
            except BadRequest as exc:
                raise _invalid(name, exc.message) from None
    if "forwardQuery" in data:
        changes["forward_query"] = data["forwardQuery"]
    elif creating:
        changes["forward_query"] = True  # Shlink's default
    devices = data.get("deviceLongUrls")
    if devices is not None and (
        not isinstance(devices, dict) or any(value is not None for value in devices.values())
    ):
        raise _invalid("deviceLongUrls", "minilink has no long URLs per device.")
    return changes


def _create(app: App, request: Request) -> Response:
    app.shortener.check_rate(app.site.client(request))
    data = _body(app, request)
    if "longUrl" not in data or not isinstance(data["longUrl"], str):
        raise _invalid("longUrl", "longUrl is required, as a string.")
    domain = data.get("domain")
    if domain is not None:
        host = app.site.origin(request).split("://", 1)[-1].split("/", 1)[0]
        if domain != host:
            raise _invalid("domain", f"minilink has one domain, {host}.")
    slug = data.get("customSlug")
    if slug is not None and not isinstance(slug, str):
        raise _invalid("customSlug", "customSlug must be a string.")
    length = data.get("shortCodeLength")
    if length is not None and (
        isinstance(length, bool) or not isinstance(length, int) or length < 4
    ):
        raise _invalid("shortCodeLength", "shortCodeLength must be a whole number of at least 4.")
    changes = _options(app, data, creating=True)
    origin = app.site.origin(request)
    if data.get("findIfExists") is True:
        found = _find(app, data["longUrl"], slug, changes)
        if found is not None:
            return _json(short_url_json(found, origin))
    expires_at = changes.pop("expires_at", None)
    max_visits = changes.pop("max_visits", None)
    try:
        link, _ = app.shortener.create(
            data["longUrl"],
            alias=slug or None,
            expires_at=expires_at,
            max_visits=max_visits,
            own=app.site.own(request),
            **changes,
        )
    except InvalidURL as exc:
        raise _invalid("longUrl", exc.message) from None
    except InvalidAlias as exc:
        raise _invalid("customSlug", exc.message) from None
    except AliasTaken:
        raise Problem(
            400,
            "non-unique-slug",
            "Invalid custom slug",
            f'Provided slug "{slug}" is already in use.',
            customSlug=slug,
        ) from None
    except BadRequest as exc:
        raise _invalid("validUntil" if "expires" in exc.message else "body", exc.message) from None
    return _json(short_url_json(link, origin))


def _find(app: App, url: str, slug: Optional[str], changes: dict[str, Any]) -> Optional[Link]:
    """The newest link ``findIfExists`` finds: the same long URL (normalised), the
    slug if one is given, and every other option given."""
    from minilink.core.urls import normalise_url

    config = app.config
    try:
        normal = normalise_url(
            url,
            allowed_schemes=config.allowed_schemes,
            max_length=config.max_url_length,
            blocked_hosts=config.blocked_hosts,
        )
    except InvalidURL as exc:
        raise _invalid("longUrl", exc.message) from None
    now = app.shortener.clock()
    for link in every_link(app):
        if link.url != normal or link.is_expired(now) or link.password_hash is not None:
            continue
        if slug and link.code != slug:
            continue
        if all(getattr(link, name) == value for name, value in changes.items()):
            return link
    return None


def _edit(app: App, request: Request, code: str) -> Response:
    data = _body(app, request)
    link = _link(app, code)
    changes = _options(app, data, creating=False)
    if "longUrl" in data:
        if not isinstance(data["longUrl"], str):
            raise _invalid("longUrl", "longUrl must be a string.")
        changes["url"] = data["longUrl"]
    if not changes:
        return _json(short_url_json(link, app.site.origin(request)))
    try:
        edited = app.shortener.update(link.code, own=app.site.own(request), **changes)
    except InvalidURL as exc:
        raise _invalid("longUrl", exc.message) from None
    except Gone:
        raise _not_found(code) from None
    except BadRequest as exc:
        raise _invalid("validUntil" if "expires" in exc.message else "body", exc.message) from None
    return _json(short_url_json(edited, app.site.origin(request)))


def _sort_key(field: str) -> Any:
    if field == "shortCode":
        return lambda link: link.code
    if field == "longUrl":
        return lambda link: link.url
    if field == "title":
        return lambda link: link.title or ""
    if field in ("visits", "nonBotVisits"):
        return lambda link: link.hits
    return None  # dateCreated: the store's order


def _list(app: App, request: Request) -> Response:
    fields = _query(request)
    page, per_page = _paging(fields)
    term = (_one(fields, "searchTerm") or "").lower()
    tags = [tag.lower() for tag in fields.get("tags[]", []) + fields.get("tags", [])]
    mode = _one(fields, "tagsMode") or "any"
    if mode not in ("any", "all"):
        raise _invalid("tagsMode", "tagsMode must be any or all.")
    order = _one(fields, "orderBy") or "dateCreated-DESC"
    field, _, direction = order.partition("-")
    direction = direction or "ASC"  # as Shlink reads "visits" alone
    if field not in _ORDER_FIELDS or direction not in ("ASC", "DESC"):
        raise _invalid("orderBy", f"orderBy is one of {', '.join(_ORDER_FIELDS)}, -ASC or -DESC.")
    start = _moment(_one(fields, "startDate") or None, "startDate")
    end = _moment(_one(fields, "endDate") or None, "endDate")
    no_used_up = _flag(fields, "excludeMaxVisitsReached")
    no_expired = _flag(fields, "excludePastValidUntil")
    _check_domain(fields)
    now = app.shortener.clock()
    chosen = []
    for link in every_link(app):
        if term and not (
            term in link.code.lower()
            or term in link.url.lower()
            or term in (link.title or "").lower()
            or any(term in tag for tag in link.tags)
        ):
            continue
        if tags:
            matched = [tag in link.tags for tag in tags]
            if not (all(matched) if mode == "all" else any(matched)):
                continue
        if start is not None and link.created_at < start:
            continue
        if end is not None and link.created_at > end:
            continue
        if no_used_up and link.max_visits is not None and link.hits >= link.max_visits:
            continue
        if no_expired and link.expires_at is not None and now >= link.expires_at:
            continue
        chosen.append(link)
    key = _sort_key(field)
    if key is not None:
        chosen.sort(key=key, reverse=direction == "DESC")
    elif direction == "ASC":
        chosen.reverse()
    shown, pagination = _page(chosen, page, per_page)
    origin = app.site.origin(request)
    return _json(
        {
            "shortUrls": {
                "data": [short_url_json(link, origin) for link in shown],
                "pagination": pagination,
            }
        }
    )


def _shorten(app: App, request: Request) -> Response:
    """``GET /rest/v3/short-urls/shorten?apiKey=...&longUrl=...[&format=txt]``."""
    fields = _query(request)
    _authenticate(app, _one(fields, "apiKey") or request.header("x-api-key"))
    url = _one(fields, "longUrl")
    if not url:
        raise _invalid("longUrl", "longUrl is required.")
    app.shortener.check_rate(app.site.client(request))
    try:
        link, _ = app.shortener.create(url, own=app.site.own(request), forward_query=True)
    except InvalidURL as exc:
        raise _invalid("longUrl", exc.message) from None
    origin = app.site.origin(request)
    if (_one(fields, "format") or "json").lower() == "txt":
        from minilink.core.http import text_response

        return text_response(200, f"{origin}/{link.code}")
    return _json(short_url_json(link, origin))


def _tag_stats(app: App, request: Request) -> Response:
    page, per_page = _paging(_query(request))
    counts: dict[str, list[int]] = {}
    for link in every_link(app):
        for tag in link.tags:
            entry = counts.setdefault(tag, [0, 0])
            entry[0] += 1
            entry[1] += link.hits
    items = [
        {
            "tag": tag,
            "shortUrlsCount": links,
            "visitsSummary": _summary(hits),
            "visitsCount": hits,
        }
        for tag, (links, hits) in sorted(counts.items())
    ]
    shown, pagination = _page(items, page, per_page)
    return _json({"tags": {"data": shown, "pagination": pagination}})
