"""Form fields of a request as PHP's ``$_REQUEST`` would see them, read strictly.

The query string and, for a ``POST``, a body of ``application/x-www-form-urlencoded``
or ``multipart/form-data`` (the form ShareX and most upload tools send). Any other
body is ignored, as PHP ignores it. The body is read only within
``max_body_bytes`` (413 past it, decided on ``Content-Length`` before reading) and
only when it is not compressed; text must be UTF-8 (a multipart part may name
another charset Python knows). A file part is refused: no YOURLS action takes one.
"""

from __future__ import annotations

from minilink.core.errors import BadRequest, UnsupportedMediaType
from minilink.core.forms import declared_body, parse_query

TYPE_CHECKING = False
if TYPE_CHECKING:
    from minilink.core.http import Request

__all__ = ["request_fields"]

#: Parts of a multipart body read at most (a form with more is no client's).
_MAX_PARTS = 100


def request_fields(request: Request, limit: int) -> dict[str, list[str]]:
    """The query's fields followed by the body's (both kept, in that order)."""
    fields = parse_query(request.query)
    if request.method != "POST":
        return fields
    body = declared_body(request, limit)
    if not body:
        return fields
    encoding = (request.header("content-encoding") or "identity").strip().lower()
    if encoding != "identity":
        raise UnsupportedMediaType("Compressed request bodies are not accepted.")
    content_type = request.header("content-type") or ""
    media_type, _, parameters = content_type.partition(";")
    media_type = media_type.strip().lower()
    if media_type == "application/x-www-form-urlencoded":
        charset = _parameter(parameters, "charset")
        if charset is not None and charset.lower() not in ("utf-8", "utf8", "us-ascii"):
            raise BadRequest(f"Form data must be UTF-8, not {charset[:40]!r}.")
        try:
            text = body.decode("ascii")
        except UnicodeDecodeError:
            raise BadRequest("Form data must be percent-encoded UTF-8.") from None
        extra = parse_query(text)
    elif media_type == "multipart/form-data":
        extra = _multipart(content_type, body)
    else:
        return fields  # PHP reads no other body into $_REQUEST
    for name, values in extra.items():
        fields.setdefault(name, []).extend(values)
    return fields


def _parameter(parameters: str, name: str) -> str | None:
    for item in parameters.split(";"):
        key, sep, value = item.partition("=")
        if sep and key.strip().lower() == name:
            return value.strip().strip('"')
    return None


def _multipart(content_type: str, body: bytes) -> dict[str, list[str]]:
    """The fields of a ``multipart/form-data`` body (RFC 7578), with the stdlib's
    MIME parser."""
    boundary = _parameter(content_type.partition(";")[2], "boundary")
    if not boundary or len(boundary) > 70:
        raise BadRequest("A multipart/form-data body needs a boundary of 1 to 70 characters.")
    if b"--" + boundary.encode("latin-1", "replace") not in body:
        raise BadRequest("The multipart body does not contain its boundary.")
    from email.parser import BytesParser
    from email.policy import HTTP

    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1")
    message = BytesParser(policy=HTTP).parsebytes(head + body)
    if not message.is_multipart():
        raise BadRequest("The multipart body could not be read.")
    fields: dict[str, list[str]] = {}
    parts = message.get_payload()
    if not isinstance(parts, list) or len(parts) > _MAX_PARTS:
        raise BadRequest(f"A multipart body may hold at most {_MAX_PARTS} parts.")
    for part in parts:
        if isinstance(part, str):
            raise BadRequest("The multipart body could not be read.")
        disposition = part.get("content-disposition", "")
        if not str(disposition).lower().startswith("form-data"):
            raise BadRequest("Every multipart part needs Content-Disposition: form-data.")
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str) or not name:
            raise BadRequest("Every multipart part needs a name.")
        if part.get_param("filename", header="content-disposition") is not None:
            raise BadRequest(f"The part {name[:40]!r} is a file; only text fields are read.")
        transfer = str(part.get("content-transfer-encoding", "")).strip().lower()
        if transfer in ("base64", "quoted-printable"):
            raise BadRequest("Multipart parts must be sent as they are (8bit or binary).")
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            raise BadRequest(f"The part {name[:40]!r} could not be read.")
        charset = part.get_content_charset() or "utf-8"
        try:
            value = payload.decode(charset)
        except (LookupError, UnicodeDecodeError):
            raise BadRequest(f"The part {name[:40]!r} is not valid {charset[:40]} text.") from None
        fields.setdefault(name, []).append(value)
    return fields
