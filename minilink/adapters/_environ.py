"""Build a ``Request`` from a CGI or WSGI environment (shared by both adapters).

Rules, from RFC 3875 §4.1 and PEP 3333:

* Values are "bytes as latin-1 text" (PEP 3333); the CGI adapter decodes
  ``os.environb`` the same way, so both hand the core identical text.
* ``PATH_INFO`` is already percent-decoded by the server; ``path_from_wsgi`` turns its
  bytes into UTF-8 text with U+FFFD for invalid bytes, as ASGI servers do. An empty or
  absent ``PATH_INFO`` (Apache leaves it out) is passed as ``""``: the core reads it
  as ``/``.
* ``SCRIPT_NAME`` is the mount prefix, passed without a trailing slash.
* ``HTTP_*`` variables are request headers: ``HTTP_X_FOO`` becomes ``x-foo``.
  ``CONTENT_TYPE``/``CONTENT_LENGTH`` carry those two headers and count only when
  non-empty. The server has already joined duplicate headers.
* The body is read only up to what ``App.body_size`` allows, which never exceeds the
  declared ``Content-Length`` (RFC 3875 §4.2: reading past it may block forever).
"""

from __future__ import annotations

from minilink.core.http import Request, path_from_wsgi

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only: the CGI adapter imports this module
    from collections.abc import Mapping
    from typing import Any, Callable, Optional

__all__ = ["headers_from_environ", "read_body", "request_from_environ"]

_DEFAULT_PORTS = {"http": 80, "https": 443}


def headers_from_environ(environ: Mapping[str, Any]) -> dict[str, str]:
    """The request headers in ``environ`` as lower-case names to latin-1 text."""
    headers: dict[str, str] = {}
    for key, value in environ.items():
        if key.startswith("HTTP_") and isinstance(value, str):
            headers[key[5:].lower().replace("_", "-")] = value
    for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        value = environ.get(key)
        if isinstance(value, str) and value:
            headers[key.lower().replace("_", "-")] = value
    return headers


def read_body(stream: Any, size: int) -> bytes:
    """Read exactly ``size`` bytes from ``stream``, fewer only at end of file.

    ``read(n)`` may return less than asked (pipes, sockets), hence the loop; it is
    never called with a size of 0 or with no argument, which could block.
    """
    chunks: list[bytes] = []
    remaining = size
    while remaining > 0:
        chunk = stream.read(remaining)
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def request_from_environ(
    environ: Mapping[str, Any],
    stream: Any,
    body_size: Callable[[Mapping[str, str]], int],
    *,
    scheme: str,
) -> Request:
    """The ``Request`` that ``environ`` describes, with its body read from ``stream``."""
    headers = headers_from_environ(environ)
    body = read_body(stream, body_size(headers))
    name = environ.get("SERVER_NAME") or ""
    server: Optional[tuple[str, int]] = None
    if name:
        try:
            port = int(environ.get("SERVER_PORT") or "")
        except ValueError:
            # A missing or garbled port is the server's slip, not the client's: assume
            # the scheme's default rather than failing the request.
            port = _DEFAULT_PORTS.get(scheme, 80)
        server = (name, port)
    return Request(
        method=environ.get("REQUEST_METHOD") or "GET",
        path=path_from_wsgi(environ.get("PATH_INFO") or ""),
        query=environ.get("QUERY_STRING") or "",
        headers=headers,
        body=body,
        root=path_from_wsgi(environ.get("SCRIPT_NAME") or "").rstrip("/"),
        scheme=scheme,
        server=server,
        client=environ.get("REMOTE_ADDR") or None,
    )
