"""Plain HTTP values: the ``Request`` an adapter builds and the ``Response`` it sends.

Theory of operation
-------------------
The core never touches a socket, an environ or a scope. An adapter turns its protocol
into a ``Request`` (text path below the mount point, raw query string, lower-case
header names with duplicates already joined, the body bytes) and writes the
``Response`` back unchanged. Everything an answer depends on is in these two values,
so one ``Request`` gives one ``Response`` whichever adapter carried it.

Text conventions, so that every adapter hands the core the same values:

* ``path`` is the percent-decoded path *below* the mount point, decoded as UTF-8
  with invalid bytes replaced by U+FFFD (that is what ASGI servers already do; WSGI
  and CGI adapters use ``path_from_wsgi``). The core answers 400 for a U+FFFD.
* ``query`` is the raw query string as latin-1 text of its bytes (PEP 3333 style).
* header values are latin-1 text of their bytes.

A ``Response`` is final: the core has set ``Content-Length`` (on every status but 204,
which must not have one, RFC 9110 §8.6), stripped the body of a
HEAD answer and checked that no header value contains CR, LF or NUL, so adapters
never need to look inside it.

One kind of answer is sent in pieces: a ``Response`` with a ``stream`` (an iterable
of bytes, ``body`` empty, no ``Content-Length``) is a download too large to hold in
memory (the admin's export). Adapters write each piece as it comes (WSGI: the
iterable itself; ASGI: one ``http.response.body`` per piece; CGI: each piece to
stdout); the server frames it (chunked, or by closing the connection). A stream is
read where the store is (ASGI: in the store's thread when the store blocks).
"""

from __future__ import annotations

from minilink.core._values import field, frozen
from minilink.core.errors import MethodNotAllowed

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from typing import Optional

__all__ = [
    "REASONS",
    "Request",
    "Response",
    "allow_methods",
    "content_length",
    "path_from_wsgi",
    "redirect",
    "text_response",
]

#: Reason phrases for every status minilink sends (CGI and WSGI need one; ASGI does not).
REASONS = {
    200: "OK",
    201: "Created",
    204: "No Content",
    301: "Moved Permanently",
    302: "Found",
    303: "See Other",
    307: "Temporary Redirect",
    308: "Permanent Redirect",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    410: "Gone",
    412: "Precondition Failed",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


@frozen
class Request:
    """One HTTP request, as plain data.

    ``root`` is the mount prefix (``SCRIPT_NAME``/``root_path``) without a trailing
    slash; ``scheme`` is the connection's (``http``/``https``); ``server`` is the
    server's own name and port, used when there is no ``Host`` header; ``client`` is
    the peer address, or ``None`` when the server does not know it.
    """

    method: str = "GET"
    path: str = "/"
    query: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    root: str = ""
    scheme: str = "http"
    server: Optional[tuple[str, int]] = None
    client: Optional[str] = None

    def header(self, name: str) -> Optional[str]:
        """The value of header ``name`` (lower-case), or ``None``."""
        return self.headers.get(name)


@frozen
class Response:
    """One HTTP response: an int status, header pairs in order, and the body bytes
    (or, for a streamed download, its pieces in ``stream``)."""

    status: int
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    #: The body in pieces, for a download too large for memory (see the module
    #: docstring); ``None`` for every other answer.
    stream: Optional[Iterable[bytes]] = None

    def __post_init__(self) -> None:
        # A header value with CR/LF/NUL would let stored data inject headers; the
        # core builds values that cannot contain them, and this makes sure of it.
        for name, value in self.headers:
            text = name + value
            if "\r" in text or "\n" in text or "\0" in text:
                raise ValueError(f"header {name!r} has a control character")
            value.encode("latin-1")  # raises UnicodeEncodeError: no server could send it

    @property
    def reason(self) -> str:
        return REASONS.get(self.status, "Unknown")

    @property
    def status_line(self) -> str:
        """``"302 Found"``: what CGI's ``Status:`` and WSGI's ``start_response`` take."""
        return f"{self.status} {self.reason}"

    def header(self, name: str) -> Optional[str]:
        """The first header called ``name`` (case-insensitive), or ``None``."""
        name = name.lower()
        for key, value in self.headers:
            if key.lower() == name:
                return value
        return None


def text_response(status: int, text: str, extra: tuple[tuple[str, str], ...] = ()) -> Response:
    """A plain-text answer (health checks, the fixed 500, start-up failures)."""
    body = text.encode("utf-8")
    return Response(
        status,
        (
            ("Content-Type", "text/plain; charset=utf-8"),
            ("Content-Length", str(len(body))),
            ("Cache-Control", "no-store"),
            ("X-Content-Type-Options", "nosniff"),
            *extra,
        ),
        body,
    )


#: Headers of a redirect's empty body (PEP 3333 wants a Content-Type on every 3xx).
_EMPTY_BODY = (
    ("Content-Type", "text/plain; charset=utf-8"),
    ("Content-Length", "0"),
    ("Cache-Control", "no-store"),
)


def redirect(status: int, location: str) -> Response:
    """A redirect with an empty body; ``location`` must be an absolute ASCII URL."""
    return Response(status, (("Location", location), *_EMPTY_BODY))


def allow_methods(method: str, allowed: tuple[str, ...]) -> None:
    """Raise ``MethodNotAllowed`` (405 with ``Allow``) unless ``method`` is allowed."""
    if method not in allowed:
        raise MethodNotAllowed(f"This path does not take {method[:20]!r}.", allowed)


def content_length(headers: Mapping[str, str]) -> Optional[int]:
    """The declared Content-Length, or ``None`` when absent or not one whole number."""
    raw = headers.get("content-length")
    if raw is None:
        return None
    raw = raw.strip()
    if not raw.isascii() or not raw.isdigit() or len(raw) > 18:
        return None
    return int(raw)


def path_from_wsgi(path_info: str) -> str:
    """Turn a PEP 3333 "bytes as latin-1" PATH_INFO into ``Request.path`` text."""
    try:
        raw = path_info.encode("latin-1")
    except UnicodeEncodeError:
        # Not a PEP 3333 string (some servers hand out real text); it is text already.
        return path_info
    return raw.decode("utf-8", "replace")
