"""The YOURLS 1.10 API at ``/yourls-api.php``, answered by minilink.

Theory of operation
-------------------
Tools written for YOURLS (ShareX, browser extensions, WordPress plugins, the ``yourls``
client on PyPI) send ``action`` and its fields as a query string or a form (urlencoded
or multipart) and read the answer in the ``format`` they ask for. This module reads
them as YOURLS 1.10.4 does (``yourls-api.php``, ``includes/functions-api.php``,
``functions-auth.php``, ``functions-shorturls.php``) and answers with the same keys,
``statusCode``/``errorCode`` values, error codes and HTTP statuses, so a YOURLS client
cannot tell the difference except where minilink differs on purpose (below).

* **On only when configured**: ``MINILINK_YOURLS_USERS`` (``name:password,...``) and/or
  ``MINILINK_YOURLS_SIGNATURE``; without them the path answers 404 as any unknown
  one. Every call needs authentication (YOURLS's private mode; minilink has no public
  YOURLS API). The admin token is never accepted here.
* **Authentication**, chosen as YOURLS chooses it: ``timestamp`` and ``signature``
  (the hash, by default md5, of ``timestamp`` + signature token or token +
  ``timestamp``; ``hash`` names another algorithm by its PHP name, e.g. ``sha256``,
  ``sha3-256``, ``sha512/256``; the timestamp within 12 hours either way, 43200 s
  excluded); else ``signature`` alone (the token itself); else ``username`` and
  ``password``. A failure is 403 with ``Please log in`` or, when a user name or
  password was sent, ``Invalid username or password``. Secrets are compared with
  ``hmac.compare_digest``.
* **Fields** come from the query and the form body together. A field given twice
  with different values is a 400 (PHP would silently take the last one); unknown
  fields are ignored, as YOURLS ignores them (clients send ``source``, ``callback``).
* **HEAD** answers the reading actions as their GET; a HEAD with
  ``action=shorturl`` is 405 (``Allow: GET, POST``), since it would create a link.
* **Formats**: ``xml`` (the default, as in YOURLS), ``json``, ``simple`` (plain text;
  also what an unknown format gets, as in YOURLS). ``jsonp`` is not offered: 400.
* **Actions**: ``shorturl`` (``url``, ``keyword``, ``title``), ``expand``,
  ``url-stats``, ``stats`` (``filter`` top/bottom/rand/last, ``limit`` at most 1000,
  ``start``), ``db-stats``, ``version``.

Where minilink differs on purpose (each answer keeps YOURLS's shape):

* generated codes are random (minilink's alphabet and length), never sequential;
* a keyword is a minilink alias (``[A-Za-z0-9_-]{1,64}``, not a reserved word);
  one it refuses or that is taken is ``error:keyword``;
* a URL minilink refuses (a scheme not allowed, user-info, a blocked host, ...) is
  ``error:nourl`` with the reason added to YOURLS's message; one that points back at
  this shortener is ``error:noloop``;
* no title is fetched from the target: without ``title`` the title is the URL, as
  YOURLS answers when it cannot fetch one;
* no client address is kept, so ``ip`` is always empty; times are UTC;
* a known URL is ``error:url`` with the existing link and HTTP 200 (``statusCode``
  ``200``), so that clients reading the status line take the link they are given;
  known means shortened before without keyword or title (minilink's dedupe rule,
  answered from the store's index): with a keyword, a new alias is made, and with a
  title a new link, where YOURLS would refuse the URL as known;
* a password-protected link is not expanded (403); expired and deleted links are
  not found (404).
"""

from __future__ import annotations

import json

from minilink.core.errors import (
    AliasTaken,
    BadRequest,
    InvalidAlias,
    InvalidURL,
    MethodNotAllowed,
    MinilinkError,
    NotFound,
    StoreUnavailable,
)
from minilink.core.http import Response, allow_methods
from minilink.core.links import Link
from minilink.dialects._forms import request_fields
from minilink.dialects._links import every_link

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Any, Optional

    from minilink.core.app import App
    from minilink.core.http import Request

__all__ = ["NONCE_LIFE", "VERSION", "enabled", "route"]

#: The YOURLS version whose API this is (``action=version``), and its database version.
VERSION = "1.10.4"
DB_VERSION = "506"
#: How far a ``timestamp`` may be from now, in seconds (YOURLS_NONCE_LIFE), excluded.
NONCE_LIFE = 43200
#: At most this many links in one ``stats`` answer.
MAX_LIMIT = 1000
_NEED_FORMAT = "Need either XML or JSON format for stats"
_FIELDS = ("action", "format", "url", "keyword", "title", "shorturl", "filter", "limit", "start")
_AUTH_FIELDS = ("username", "password", "signature", "timestamp", "hash")
_FORMATS = ("json", "xml", "simple")
#: The methods of ``action=shorturl`` (HEAD is safe, and that action writes).
_WRITE = ("GET", "POST")
_HEADERS = (("Cache-Control", "no-store"), ("X-Content-Type-Options", "nosniff"))


def enabled(app: App) -> bool:
    """Whether the YOURLS dialect is configured."""
    config = app.config
    return bool(config.yourls_users) or config.yourls_signature is not None


def route(app: App, request: Request) -> Response:
    """Answer ``/yourls-api.php``."""
    if not enabled(app):
        raise NotFound("There is no such page.")
    allow_methods(request.method, ("GET", "HEAD", "POST"))
    try:
        fields = _fields(app, request)
    except MinilinkError as exc:
        if isinstance(exc, StoreUnavailable):
            raise
        # No fields to read a format from: plain text, the status of the error.
        return _text(exc.status, f"{exc.message}\n")
    if request.method == "HEAD" and fields.get("action") == "shorturl":
        # HEAD is safe: it would create a link, so it is refused (the other actions
        # only read, and answer a HEAD as their GET).
        raise MethodNotAllowed("A HEAD request cannot create a link; use GET or POST.", _WRITE)
    mode = fields.get("format", "xml")
    if mode == "jsonp":
        return _text(400, "JSONP is not offered; ask for format=json.\n")
    try:
        user = _authenticate(app, fields)
        if user is None:
            failed = "Invalid username or password" if _tried_password(fields) else "Please log in"
            result: dict[str, Any] = {"simple": failed, "message": failed, "errorCode": "403"}
        else:
            result = _act(app, request, fields)
    except StoreUnavailable:
        raise
    except MinilinkError as exc:
        result = {"errorCode": str(exc.status), "message": exc.message, "simple": exc.message}
    return output(mode, result)


# -- reading the request ----------------------------------------------------------


def _fields(app: App, request: Request) -> dict[str, str]:
    """One value per known field; 400 for one given twice with different values."""
    raw = request_fields(request, app.config.max_body_bytes)
    fields: dict[str, str] = {}
    for name in (*_FIELDS, *_AUTH_FIELDS, "db"):
        values = raw.get(name)
        if not values:
            continue
        if any(value != values[0] for value in values):
            raise BadRequest(f"The field {name!r} is given more than once, with different values.")
        fields[name] = values[0]
    return fields


# -- authentication ---------------------------------------------------------------


def _tried_password(fields: dict[str, str]) -> bool:
    return "username" in fields or "password" in fields


def _same(given: str, secret: str) -> bool:
    import hmac

    return hmac.compare_digest(given.encode("utf-8"), secret.encode("utf-8"))


def _authenticate(app: App, fields: dict[str, str]) -> Optional[str]:
    """The user a request authenticates as (``""`` for the signature), or ``None``.

    The method is chosen as YOURLS's ``yourls_is_valid_user`` chooses it: timestamp
    and signature, else a signature without a timestamp, else user name and password.
    """
    config = app.config
    signature = fields.get("signature", "")
    timestamp = fields.get("timestamp", "")
    if signature and timestamp:
        return "" if _timed_signature(app, signature, timestamp, fields.get("hash")) else None
    if signature and "timestamp" not in fields:
        token = config.yourls_signature
        return "" if token is not None and _same(signature, token) else None
    username, password = fields.get("username", ""), fields.get("password", "")
    if username and password:
        found = None
        for name, secret in config.yourls_users:  # every user, so timing says nothing
            if _same(username, name) & _same(password, secret):
                found = name
        return found
    return None


#: PHP's names of the hashes that hashlib also has, where the two differ.
_PHP_NAMES = {"sha512/224": "sha512_224", "sha512/256": "sha512_256"}


def hash_function(name: str) -> Optional[Any]:
    """A hashlib constructor for the PHP ``hash()`` algorithm ``name``, or ``None``
    when hashlib has no such fixed-length hash."""
    import hashlib

    if not name or len(name) > 32:
        return None
    python = _PHP_NAMES.get(name, name.replace("-", "_"))
    if python != python.lower() or python.startswith("shake"):
        return None  # PHP's names are lower-case; SHAKE needs a length PHP never gives
    try:
        hashlib.new(python)
    except (ValueError, TypeError):
        return None

    def digest(data: bytes) -> str:
        return hashlib.new(python, data).hexdigest()

    return digest


def _timed_signature(app: App, signature: str, timestamp: str, hash_name: Optional[str]) -> bool:
    token = app.config.yourls_signature
    if token is None:
        return False
    digits = timestamp[1:] if timestamp[:1] in "+-" else timestamp
    if not (digits.isascii() and digits.isdigit()) or len(digits) > 12:
        return False
    now = app.shortener.clock().timestamp()
    if not abs(now - int(timestamp)) < NONCE_LIFE:
        return False
    digest = hash_function("md5" if hash_name is None else hash_name)
    if digest is None:
        return False
    first = digest((timestamp + token).encode("utf-8"))
    second = digest((token + timestamp).encode("utf-8"))
    return _same(signature, first) | _same(signature, second)


# -- actions ----------------------------------------------------------------------


def _act(app: App, request: Request, fields: dict[str, str]) -> dict[str, Any]:
    action = fields.get("action")
    if action == "shorturl":
        return _shorturl(app, request, fields)
    if action == "expand":
        return _expand(app, request, fields.get("shorturl", ""))
    if action == "url-stats":
        return _url_stats(app, request, fields.get("shorturl", ""))
    if action == "stats":
        return _stats(app, request, fields)
    if action == "db-stats":
        return {
            "db-stats": _db_stats(app),
            "statusCode": "200",
            "simple": _NEED_FORMAT,
            "message": "success",
        }
    if action == "version":
        result: dict[str, Any] = {"version": VERSION, "simple": VERSION}
        if fields.get("db") == "1":
            result["db_version"] = DB_VERSION
        return result
    message = 'Unknown or missing "action" parameter'
    return {"errorCode": "400", "message": message, "simple": message}


def _date(link: Link) -> str:
    return link.created_at.strftime("%Y-%m-%d %H:%M:%S")


def _trim(text: str, length: int = 60, append: str = "[...]") -> str:
    """YOURLS's ``yourls_trim_long_string``."""
    return text if len(text) <= length else text[: length - len(append)] + append


def _failure(code: str, message: str, status: str = "400") -> dict[str, Any]:
    return {
        "status": "fail",
        "code": code,
        "message": message,
        "errorCode": status,
        "statusCode": status,
        "simple": "",
    }


def _normalise(app: App, url: str, own: Any) -> str:
    from minilink.core.urls import normalise_url

    config = app.config
    return normalise_url(
        url,
        allowed_schemes=config.allowed_schemes,
        max_length=config.max_url_length,
        blocked_hosts=config.blocked_hosts,
        own=own,
    )


def _target(app: App, request: Request, url: str) -> tuple[Optional[str], dict[str, Any]]:
    """The normal form of ``url`` (a scheme added as YOURLS adds one), or the
    failure to answer instead."""
    import re

    if not url.strip() or url.strip() in ("http://", "https://"):
        return None, _failure("error:nourl", "Missing or malformed URL")
    if re.match(r"[A-Za-z][A-Za-z0-9+.-]*:", url) is None:
        url = "http://" + url  # YOURLS's yourls_sanitize_url does the same
    own = list(app.site.own(request))
    if app.config.base_url:
        from minilink.core.service import _split_base

        own.append(_split_base(app.config.base_url))
    try:
        return _normalise(app, url, own), {}
    except InvalidURL as exc:
        try:
            _normalise(app, url, ())
        except InvalidURL:
            return None, _failure("error:nourl", f"Missing or malformed URL: {exc.message}")
        return None, _failure("error:noloop", "URL is a short URL")


def _shorturl(app: App, request: Request, fields: dict[str, str]) -> dict[str, Any]:
    url, failure = _target(app, request, fields.get("url", ""))
    if url is None:
        return failure
    origin = app.site.origin(request)
    app.shortener.check_rate(app.site.client(request))
    keyword = fields.get("keyword") or None
    given_title = fields.get("title") or None
    options: dict[str, Any] = {}
    if given_title is not None:
        options["title"] = given_title[:200]
    try:
        link, created = app.shortener.create(
            url, alias=keyword, own=app.site.own(request), **options
        )
    except (InvalidAlias, AliasTaken) as exc:
        return _failure(
            "error:keyword",
            f"Short URL {keyword} already exists in database or is reserved ({exc.message})",
        )
    if not created:  # a plain link to this URL exists: minilink's dedupe, by its index
        site = origin.split("://", 1)[-1]
        title = link.title or link.url
        return {
            "status": "fail",
            "code": "error:url",
            "message": f"{_trim(url)} already exists in database (short URL: {site}/{link.code})",
            "errorCode": "",
            "statusCode": "200",
            "url": {
                "keyword": link.code,
                "url": link.url,
                "title": title,
                "date": _date(link),
                "ip": "",
                "clicks": str(link.hits),
            },
            "title": title,
            "shorturl": f"{origin}/{link.code}",
            "simple": f"{origin}/{link.code}",
        }
    shown = link.title or link.url
    short = f"{origin}/{link.code}"
    return {
        "status": "success",
        "code": "",
        "message": f"{_trim(link.url)} added to database",
        "errorCode": "",
        "statusCode": 200,
        "url": {
            "keyword": link.code,
            "url": link.url,
            "title": shown,
            "date": _date(link),
            "ip": "",
        },
        "title": shown,
        "shorturl": short,
        "simple": short,
    }


def _keyword(origin: str, shorturl: str) -> str:
    """``abc`` from ``https://sho.rt/abc`` or ``abc`` (as YOURLS strips its site)."""
    return shorturl.replace(origin + "/", "")


def _live(app: App, keyword: str) -> Optional[Link]:
    from minilink.core.codes import is_code
    from minilink.core.errors import Gone

    if not is_code(keyword):
        return None
    try:
        return app.shortener.resolve(keyword)
    except (NotFound, Gone):
        return None


def _expand(app: App, request: Request, shorturl: str) -> dict[str, Any]:
    origin = app.site.origin(request)
    keyword = _keyword(origin, shorturl)
    link = _live(app, keyword)
    if link is None:
        return {
            "keyword": keyword,
            "simple": "not found",
            "message": "Error: short URL not found",
            "errorCode": "404",
        }
    if link.password_hash is not None:
        message = "Error: this short URL is password-protected"
        return {"keyword": keyword, "simple": message, "message": message, "errorCode": "403"}
    return {
        "keyword": link.code,
        "shorturl": f"{origin}/{link.code}",
        "longurl": link.url,
        "title": link.title or link.url,
        "simple": link.url,
        "message": "success",
        "statusCode": "200",
    }


def _link_stats(link: Link, origin: str) -> dict[str, Any]:
    hidden = link.password_hash is not None
    return {
        "shorturl": f"{origin}/{link.code}",
        "url": "" if hidden else link.url,
        "title": link.title or ("" if hidden else link.url),
        "timestamp": _date(link),
        "ip": "",
        "clicks": str(link.hits),
    }


def _url_stats(app: App, request: Request, shorturl: str) -> dict[str, Any]:
    origin = app.site.origin(request)
    link = _live(app, _keyword(origin, shorturl))
    if link is None:
        return {
            "statusCode": "404",
            "message": "Error: short URL not found",
            "simple": _NEED_FORMAT,
        }
    return {
        "statusCode": "200",
        "message": "success",
        "link": _link_stats(link, origin),
        "simple": _NEED_FORMAT,
    }


def _db_stats(app: App) -> dict[str, str]:
    links = clicks = 0
    for link in every_link(app):
        links += 1
        clicks += link.hits
    return {"total_links": str(links), "total_clicks": str(clicks)}


def _php_int(text: Optional[str]) -> int:
    """PHP's ``intval`` of a string: its leading whole number, else 0."""
    import re

    match = re.match(r"\s*([+-]?[0-9]{1,12})", text or "")
    return int(match.group(1)) if match else 0


def _stats(app: App, request: Request, fields: dict[str, str]) -> dict[str, Any]:
    import heapq
    import itertools

    kind = fields.get("filter", "top")
    limit = min(_php_int(fields.get("limit")), MAX_LIMIT)
    start = max(_php_int(fields.get("start")), 0)
    result: dict[str, Any] = {}
    if limit > 0:
        wanted = start + limit
        if kind == "last":
            chosen = list(itertools.islice(every_link(app), wanted))
        elif kind == "bottom":
            order = itertools.count()
            fewest = heapq.nsmallest(
                wanted, ((link.hits, next(order), link) for link in every_link(app))
            )
            chosen = [entry[2] for entry in fewest]
        elif kind in ("rand", "random"):
            chosen = _sample(every_link(app), wanted)
        else:  # "top", and anything else, as in YOURLS
            chosen = list(itertools.islice(every_link(app, "hits"), wanted))
        origin = app.site.origin(request)
        picked = chosen[start:]
        if picked:
            result["links"] = {
                f"link_{i}": _link_stats(link, origin) for i, link in enumerate(picked, 1)
            }
    result["stats"] = _db_stats(app)
    result["statusCode"] = "200"
    result["simple"] = _NEED_FORMAT
    result["message"] = "success"
    return result


def _sample(links: Iterator[Link], size: int) -> list[Link]:
    """``size`` links drawn uniformly (reservoir sampling), in random order."""
    import random

    chooser = random.SystemRandom()
    reservoir: list[Link] = []
    for seen, link in enumerate(links):
        if seen < size:
            reservoir.append(link)
        else:
            slot = chooser.randrange(seen + 1)
            if slot < size:
                reservoir[slot] = link
    chooser.shuffle(reservoir)
    return reservoir


# -- answers ----------------------------------------------------------------------


def _status(result: dict[str, Any]) -> int:
    """The HTTP status YOURLS's ``yourls_api_output`` sends for ``result``."""
    for key in ("statusCode", "errorCode"):
        if key in result:
            value = str(result[key])
            return int(value) if value.isdigit() and 100 <= int(value) <= 599 else 200
    return 200


def output(mode: str, result: dict[str, Any]) -> Response:
    """``result`` in ``mode`` (``json``, ``xml``, else ``simple``), as YOURLS sends it."""
    payload = dict(result)
    simple = payload.pop("simple", None)
    status = _status(payload)
    if mode == "json":
        # PHP's json_encode: compact, ASCII only, and "/" written as "\/"; "<", ">" and
        # "&" as \u escapes too (the same JSON), so no answer holds markup to sniff.
        text = json.dumps(payload, ensure_ascii=True, separators=(",", ":")).replace("/", "\\/")
        for char, escape in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
            text = text.replace(char, escape)
        return _answer(status, "application/json", text.encode("ascii"))
    if mode == "xml":
        return _answer(status, "application/xml", xml(payload).encode("utf-8"))
    return _answer(status, "text/plain", ("" if simple is None else str(simple)).encode("utf-8"))


def xml(payload: dict[str, Any]) -> str:
    """``payload`` as YOURLS's ``yourls_xml_encode`` writes it (a ``<root>`` element,
    one child element per key, spaces in names as ``_``)."""
    parts = ['<?xml version="1.0" encoding="UTF-8"?>\n<root>']
    _xml_into(parts, payload)
    parts.append("</root>\n")
    return "".join(parts)


def _xml_into(parts: list[str], payload: dict[str, Any]) -> None:
    from xml.sax.saxutils import escape

    for key, value in payload.items():
        name = str(key).replace(" ", "_")
        if isinstance(value, dict):
            parts.append(f"<{name}>")
            _xml_into(parts, value)
            parts.append(f"</{name}>")
            continue
        text = "" if value is None else str(value)
        parts.append(f"<{name}>{escape(_xml_text(text))}</{name}>" if text else f"<{name}/>")


def _xml_text(text: str) -> str:
    """``text`` without the characters XML 1.0 cannot hold."""
    return "".join(
        c
        for c in text
        if c in "\t\n\r"
        or "\x20" <= c <= "\ud7ff"
        or "\ue000" <= c <= "\ufffd"
        or c >= "\U00010000"
    )


def _answer(status: int, media_type: str, body: bytes) -> Response:
    return Response(
        status,
        (
            ("Content-Type", f"{media_type}; charset=utf-8"),
            ("Content-Length", str(len(body))),
            *_HEADERS,
        ),
        body,
    )


def _text(status: int, text: str) -> Response:
    return _answer(status, "text/plain", text.encode("utf-8"))
