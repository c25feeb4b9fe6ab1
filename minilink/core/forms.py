"""Reading what a client sends: query strings, form fields and request bodies.

Strict on purpose, for every route family alike:

* query strings and form bodies are UTF-8 once percent-decoded (``+`` is a space,
  blank values are kept, a repeated name gives several values); anything else is a
  400 ``bad_request``;
* a route names the parameters it takes, and any other is a 400 that names it (a
  misspelt ``?limt=10`` is not silently ignored);
* a body is read only with a valid ``Content-Length`` within ``max_body_bytes``
  (413 otherwise, decided before reading), in the one media type the route takes
  (415), never compressed.
"""

from __future__ import annotations

from minilink.core.errors import BadRequest, PayloadTooLarge, UnsupportedMediaType
from minilink.core.http import content_length

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only: typing would cost a CGI request ~3 ms
    from typing import Optional

    from minilink.core.http import Request

__all__ = ["declared_body", "params", "parse_query", "read_body", "single", "whole"]


def parse_query(query: str) -> dict[str, list[str]]:
    """Parse a raw query string (latin-1 text of its bytes) as UTF-8 form data.

    ``+`` is a space, blank values are kept, repeated names give several values.
    Raises ``BadRequest`` for bytes that are not UTF-8 once percent-decoded.
    """
    fields: dict[str, list[str]] = {}
    if not query:
        return fields  # no urllib.parse (it imports ipaddress): 2 ms of a CGI request
    from urllib.parse import unquote_to_bytes

    for pair in query.split("&"):
        if not pair:
            continue
        name, _, value = pair.partition("=")
        try:
            key = unquote_to_bytes(name.replace("+", " ").encode("latin-1")).decode("utf-8")
            text = unquote_to_bytes(value.replace("+", " ").encode("latin-1")).decode("utf-8")
        except (UnicodeDecodeError, UnicodeEncodeError):
            raise BadRequest("The query or form data is not valid UTF-8.") from None
        fields.setdefault(key, []).append(text)
    return fields


def params(request: Request, *names: str) -> dict[str, list[str]]:
    """The query's parameters, when the route takes every one of them; ``BadRequest``
    naming the first one it does not take."""
    fields = parse_query(request.query)
    unknown = sorted(set(fields) - set(names))
    if unknown:
        raise BadRequest(f"Unknown query parameter {unknown[0]!r}.")
    return fields


def single(fields: dict[str, list[str]], name: str) -> Optional[str]:
    """The one value of ``name``; ``BadRequest`` when it is given more than once."""
    values = fields.get(name)
    if not values:
        return None
    if len(values) > 1:
        raise BadRequest(f"The field {name!r} is given more than once.")
    return values[0]


def whole(fields: dict[str, list[str]], name: str, default: int) -> int:
    """The one value of ``name`` as a whole number (at most 9 digits), or ``default``
    when it is absent or blank."""
    raw = single(fields, name)
    if raw is None or raw == "":
        return default
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 9:
        raise BadRequest(f"{name} must be a whole number.")
    return int(raw)


def read_body(request: Request, media_type: str, limit: int) -> bytes:
    """The request body, after checking its length, encoding and media type.

    Raises ``PayloadTooLarge`` when ``Content-Length`` is over ``limit`` (decided
    before reading), ``BadRequest`` for a missing, invalid or lying length, and
    ``UnsupportedMediaType`` for another type or a compressed body.
    """
    body = declared_body(request, limit)
    encoding = (request.header("content-encoding") or "identity").strip().lower()
    if encoding != "identity":
        raise UnsupportedMediaType("Compressed request bodies are not accepted.")
    given = (request.header("content-type") or "").split(";")[0].strip().lower()
    if given != media_type:
        raise UnsupportedMediaType(f"Send the request body as {media_type}.")
    return body


def declared_body(request: Request, limit: int) -> bytes:
    """The body's first ``Content-Length`` bytes (none without that header), after
    checking the length only: ``PayloadTooLarge`` over ``limit`` (decided before
    reading), ``BadRequest`` for an invalid or lying length or a body sent without
    one."""
    declared = content_length(request.headers)
    if declared is None:
        # An empty Content-Length is none at all: CGI and WSGI cannot tell the two
        # apart (RFC 3875 §4.1.2), so neither may an ASGI request.
        if request.headers.get("content-length", "") != "":
            raise BadRequest("Content-Length must be one whole number of bytes.")
        if "transfer-encoding" in request.headers:
            raise BadRequest("Send the request body with a Content-Length header.")
        declared = 0
    if declared > limit:
        raise PayloadTooLarge(f"The request body is over the limit of {limit} bytes.")
    if len(request.body) < declared:
        raise BadRequest("The request body is shorter than its Content-Length.")
    return request.body[:declared]
