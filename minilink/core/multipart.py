"""Reading a ``multipart/form-data`` body (RFC 7578): the admin's file upload.

Strict, as ``minilink.core.forms`` is: the body is read only within
``max_body_bytes`` (``forms.read_body`` decides 413/400/415 first), a field name
appears once, at most ``MAX_PARTS`` parts, and anything that does not parse is a 400
``bad_request``, never an exception of the parser's own. Field values other than a
file must be UTF-8.
"""

from __future__ import annotations

from minilink.core.errors import BadRequest, UnsupportedMediaType
from minilink.core.forms import read_body

TYPE_CHECKING = False
if TYPE_CHECKING:
    from minilink.core.http import Request

__all__ = ["MAX_PARTS", "read_multipart"]

#: The most parts a form may have (the import form has three).
MAX_PARTS = 10
_MEDIA_TYPE = "multipart/form-data"
# boundary := 1*70 bchars, RFC 2046 §5.1.1 (bcharsnospace at the end)
_BCHARS = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'()+_,-./:=? ")


def _parameters(value: str) -> tuple[str, dict[str, str]]:
    """``("form-data", {"name": ...})`` of a header value with ``;`` parameters."""
    head, *rest = value.split(";")
    params: dict[str, str] = {}
    for item in rest:
        key, sep, raw = item.strip().partition("=")
        if not sep:
            continue
        raw = raw.strip()
        if len(raw) >= 2 and raw[0] == raw[-1] == '"':
            raw = raw[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        params[key.strip().lower()] = raw
    return head.strip().lower(), params


def read_multipart(request: Request, limit: int) -> dict[str, tuple[str, bytes]]:
    """The parts of the request's ``multipart/form-data`` body, by field name:
    ``(filename or "", content)``. Raises ``BadRequest``, ``PayloadTooLarge`` or
    ``UnsupportedMediaType`` as ``read_body`` does, and ``BadRequest`` for a body
    that is not well-formed multipart data."""
    content_type = request.header("content-type") or ""
    kind, params = _parameters(content_type)
    if kind != _MEDIA_TYPE:
        raise UnsupportedMediaType(f"Send the form as {_MEDIA_TYPE}.")
    boundary = params.get("boundary", "")
    if not 1 <= len(boundary) <= 70 or not all(c in _BCHARS for c in boundary):
        raise BadRequest("The multipart boundary is missing or not valid.")
    body = read_body(request, _MEDIA_TYPE, limit)  # checks the type before the ";"
    delimiter = b"--" + boundary.encode("ascii")
    # The preamble, before the first delimiter, is ignored (RFC 2046 §5.1.1).
    _preamble, *chunks = (b"\r\n" + body).split(b"\r\n" + delimiter)
    if not chunks:
        raise BadRequest("The multipart body does not have its boundary.")
    parts: dict[str, tuple[str, bytes]] = {}
    closed = False
    for chunk in chunks:
        if chunk.startswith(b"--"):
            closed = True
            break
        if len(parts) >= MAX_PARTS:
            raise BadRequest(f"A form has at most {MAX_PARTS} parts.")
        if not chunk.startswith(b"\r\n"):
            raise BadRequest("A multipart delimiter is not followed by a line break.")
        head, sep, content = chunk[2:].partition(b"\r\n\r\n")
        if not sep:
            if head.startswith(b"\r\n"):  # no headers at all
                raise BadRequest("A part of the form has no Content-Disposition.")
            raise BadRequest("A part of the form has no end to its headers.")
        name, filename = _disposition(head)
        if name in parts:
            raise BadRequest(f"The field {name!r} is given more than once.")
        if not filename:
            try:
                content.decode("utf-8")
            except UnicodeDecodeError:
                raise BadRequest("The form data is not valid UTF-8.") from None
        parts[name] = (filename, content)
    if not closed:
        raise BadRequest("The multipart body ends before its closing boundary.")
    return parts


def _disposition(head: bytes) -> tuple[str, str]:
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("A part's headers are not valid UTF-8.") from None
    for line in text.split("\r\n"):
        key, sep, value = line.partition(":")
        if sep and key.strip().lower() == "content-disposition":
            kind, params = _parameters(value)
            name = params.get("name", "")
            if kind != "form-data" or not name:
                break
            return name, params.get("filename", "")
    raise BadRequest("A part of the form has no Content-Disposition with a name.")
