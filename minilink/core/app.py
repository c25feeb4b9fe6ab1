"""``App``: the sans-I/O HTTP application, ``handle(Request) -> Response``.

Theory of operation
-------------------
Every adapter calls ``App.handle`` with a plain ``Request`` and writes the returned
``Response`` as it is, so all behaviour lives here and every adapter answers alike.

* Routing works on the path's segments after dot-segment removal (RFC 3986 §5.2.4)
  with empty segments dropped: ``/abc``, ``/abc/``, ``//abc`` and ``/x/../abc`` are one
  resource, whichever server normalised the path (or did not).
* Paths under ``/api`` answer errors as JSON (``{"error": {"code", "message"}}``),
  every other path as an HTML page; the status and the machine code come from the
  ``MinilinkError`` raised, so one error has one status everywhere.
* ``HEAD`` is answered as ``GET`` and then stripped of its body, keeping the GET's
  ``Content-Length``. An unknown method on a known path is 405 with ``Allow``.
* Nothing a client sends can produce a 500: bad input raises a ``MinilinkError``
  (4xx); an unexpected exception is reported through ``on_error`` and answered with
  a fixed 500 page that leaks nothing.
* The HTML form (``POST /``) refuses cross-site posts (403): a browser always says
  where a form post comes from, in ``Origin`` (or ``Sec-Fetch-Site`` when a referrer
  policy makes it ``null``), else ``Referer``; a post with none of them is not from a
  browser and is let through. The JSON API needs no such check: it takes no cookies,
  so a cross-site page gains nothing by calling it that it could not do itself, and
  ``application/json`` cannot be sent cross-site without a CORS preflight.
* The redirect (the hot path, and under CGI the whole life of a process) imports no
  more than this module, the service and the store: JSON, HTML, query parsing and
  URL validation are imported by the requests that need them.
"""

from __future__ import annotations

from minilink.core.codes import is_code
from minilink.core.config import Config
from minilink.core.errors import (
    BadRequest,
    Forbidden,
    MethodNotAllowed,
    MinilinkError,
    NotFound,
    PayloadTooLarge,
    StoreUnavailable,
    Unauthorized,
    UnsupportedMediaType,
)
from minilink.core.http import Request, Response, text_response
from minilink.core.service import Shortener

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only: nothing more to import on the CGI path
    from collections.abc import Mapping
    from typing import Callable, Optional

__all__ = ["App", "allow_methods", "redirect"]

_GET = ("GET", "HEAD")
_HOST_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789.-_:[]")
_DEFAULT_PORTS = {"http": 80, "https": 443}
# RFC 3986 pchar plus "/": what a mount prefix may hold unescaped in a short URL.
_PATH_CHARS = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=:@/%"
)
#: Headers of a redirect's empty body (PEP 3333 wants a Content-Type on every 3xx).
_EMPTY_BODY = (
    ("Content-Type", "text/plain; charset=utf-8"),
    ("Content-Length", "0"),
    ("Cache-Control", "no-store"),
)


def _segments(path: str) -> list[str]:
    """Path segments after removing empty, ``.`` and ``..`` segments."""
    name = path[1:]
    if path[:1] == "/" and "/" not in name and name not in ("", ".", ".."):
        return [name]  # "/abc", the shape of every redirect
    out: list[str] = []
    for segment in path.split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            if out:
                out.pop()
            continue
        out.append(segment)
    return out


#: Redirect answers kept for reuse (under 10 MiB even with the longest URLs; all
#: dropped when it is full).
_REDIRECTS_KEPT = 1024

_INTERNAL_ERROR = text_response(500, "Internal server error: the error was logged.\n")


def _report_to_log(exc: BaseException) -> None:
    import logging

    logging.getLogger("minilink").error("unhandled error", exc_info=exc)


#: What a client is told when the store cannot answer (the details are logged).
_UNAVAILABLE = "The store is unavailable; try again shortly."


def _log_unavailable(exc: StoreUnavailable) -> None:
    import logging

    logging.getLogger("minilink").warning("store unavailable: %s", exc.message)


class App:
    """The HTTP application over one ``Shortener``.

    ``on_error`` receives every unexpected exception (default: the ``minilink``
    logger); the client gets a plain 500.
    """

    def __init__(
        self,
        shortener: Shortener,
        config: Optional[Config] = None,
        *,
        on_error: Optional[Callable[[BaseException], None]] = None,
    ) -> None:
        self.shortener = shortener
        self.config = config if config is not None else shortener.config
        self.on_error = on_error if on_error is not None else _report_to_log
        self._crawlers = tuple(agent.lower() for agent in self.config.crawlers)
        self._redirects: dict[str, Response] = {}  # target URL -> its redirect

    def close(self) -> None:
        """Close the store."""
        self.shortener.store.close()

    def body_size(self, headers: Mapping[str, str]) -> int:
        """How many body bytes an adapter must read before calling ``handle``.

        The declared ``Content-Length`` when it is valid and within
        ``max_body_bytes``; otherwise 0, and ``handle`` answers 400 or 413 without
        the body (so an oversized body is refused before it is read).
        """
        declared = _content_length(headers)
        if declared is None or declared > self.config.max_body_bytes:
            return 0
        return declared

    # -- dispatch ---------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        """Answer ``request``. Never raises."""
        segments = _segments(request.path)
        api = bool(segments) and segments[0] == "api"
        try:
            try:
                if "\ufffd" in request.path:
                    raise BadRequest("The path is not valid UTF-8.")
                response = self._route(request, segments)
            except MinilinkError as exc:
                response = self._error(request, exc, api)
        except Exception as exc:  # the one place a bug is turned into a 500
            try:
                self.on_error(exc)
            finally:
                response = _INTERNAL_ERROR
        if request.method == "HEAD" and response.body:
            response = Response(response.status, response.headers)
        return response

    def _route(self, request: Request, segments: list[str]) -> Response:
        method = request.method
        n = len(segments)
        if n == 1 and segments[0] != "api":
            code = segments[0]
            if code.endswith("+"):
                allow_methods(method, _GET)
                if not is_code(code[:-1]):
                    raise NotFound("There is no such page.")
                from minilink.core import pages

                return pages.preview(self, request, code[:-1])
            if code.endswith(".svg"):  # the QR code of /{code}; "." is no code character
                allow_methods(method, _GET)
                if not is_code(code[:-4]):
                    raise NotFound("There is no such page.")
                from minilink.core import pages

                return pages.qr(self, request, code[:-4])
            if code == "healthz":
                allow_methods(method, _GET)
                return self._health()
            if not is_code(code):
                raise NotFound("There is no such page.")
            allow_methods(method, _GET)
            return self._redirect(request, code)
        if n == 0:
            allow_methods(method, ("GET", "HEAD", "POST"))
            from minilink.core import pages

            if method == "POST":
                self.check_form_origin(request)
                return pages.create(self, request)
            return pages.home(self, request)
        if segments[0] == "api":
            from minilink.core import api as api_routes

            return api_routes.route(self, request, segments[1:])
        raise NotFound("There is no such page.")

    def _redirect(self, request: Request, code: str) -> Response:
        count = request.method == "GET" and not self._is_crawler(request)
        url = self.shortener.target(code, count=count)
        # The same link gives the same (immutable) answer: made once, while it is hot.
        response = self._redirects.get(url)
        if response is None:
            if len(self._redirects) >= _REDIRECTS_KEPT:
                self._redirects.clear()
            response = self._redirects[url] = redirect(self.config.redirect_status, url)
        return response

    def _health(self) -> Response:
        try:
            self.shortener.store.ping()
        except StoreUnavailable:
            return text_response(503, "unavailable", (("Retry-After", "5"),))
        return text_response(200, "ok")

    def _is_crawler(self, request: Request) -> bool:
        agent = request.header("user-agent")
        if not agent:
            return False
        agent = agent.lower()
        return any(crawler in agent for crawler in self._crawlers)

    def _error(self, request: Request, exc: MinilinkError, api: bool) -> Response:
        extra: list[tuple[str, str]] = []
        if isinstance(exc, StoreUnavailable):
            # The store's message names files, hosts and driver errors: it goes to the
            # log, and the client gets one fixed sentence.
            _log_unavailable(exc)
            exc = StoreUnavailable(_UNAVAILABLE, retry_after=exc.retry_after)
        if isinstance(exc, MethodNotAllowed):
            extra.append(("Allow", ", ".join(exc.allow)))
        retry_after = getattr(exc, "retry_after", None)
        if retry_after is not None:
            extra.append(("Retry-After", str(retry_after)))
        if isinstance(exc, Unauthorized):
            extra.append(("WWW-Authenticate", 'Bearer realm="minilink"'))
        if api:
            from minilink.core.api import error_response

            return error_response(exc, tuple(extra))
        from minilink.core import pages

        return pages.error(self, request, exc, tuple(extra))

    # -- helpers used by the api and pages modules ------------------------------

    def origin(self, request: Request) -> str:
        """The public base of short URLs: ``MINILINK_BASE_URL``, else the request's
        scheme, host and mount prefix (no trailing slash)."""
        if self.config.base_url:
            return self.config.base_url
        return f"{self.scheme(request)}://{self.host(request)}{_quote_root(request.root)}"

    def own(self, request: Request) -> tuple[tuple[str, str], ...]:
        """``(host, prefix)`` of this service as the request reached it (self-links)."""
        return ((self.host(request), _quote_root(request.root)),)

    def scheme(self, request: Request) -> str:
        if self._trusted(request):
            proto = (request.header("x-forwarded-proto") or "").split(",")[0].strip().lower()
            if proto in ("http", "https"):
                return proto
        return request.scheme if request.scheme in ("http", "https") else "http"

    def host(self, request: Request) -> str:
        """The ``Host`` the client asked for, else the server's name and port.

        Raises ``BadRequest`` for a Host header no client would send.
        """
        host = request.header("host")
        if host is not None:
            host = host.strip().lower()
            if not host or len(host) > 255 or not all(c in _HOST_CHARS for c in host):
                raise BadRequest("The Host header is not a valid host name.")
            return host
        if request.server is None:
            return "localhost"
        name, port = request.server
        if port == _DEFAULT_PORTS.get(request.scheme):
            return name
        return f"{name}:{port}"

    def client(self, request: Request) -> str:
        """The client's address: the connection's, or the last address a trusted proxy
        added to ``X-Forwarded-For``."""
        address = request.client or "unknown"
        if self._trusted(request):
            forwarded = [a.strip() for a in (request.header("x-forwarded-for") or "").split(",")]
            for candidate in reversed(forwarded):
                if candidate and not self._is_trusted(candidate):
                    return candidate
        return address

    def _trusted(self, request: Request) -> bool:
        return bool(self.config.trusted_proxies) and self._is_trusted(request.client)

    def _is_trusted(self, address: Optional[str]) -> bool:
        if not address:
            return False
        import ipaddress

        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        for entry in self.config.trusted_proxies:
            try:
                if ip in ipaddress.ip_network(entry, strict=False):
                    return True
            except ValueError:
                continue
        return False

    def check_token(self, request: Request, token: Optional[str], *, required: bool) -> bool:
        """Whether the request carries ``Authorization: Bearer <token>``.

        With ``required``, a missing or wrong token raises ``Unauthorized`` and an
        unset ``token`` raises ``Forbidden`` (the operation is switched off).
        Tokens are compared in constant time.
        """
        if token is None:
            if required:
                raise Forbidden("This operation needs MINILINK_ADMIN_TOKEN to be set.")
            return False
        import hmac

        given = request.header("authorization") or ""
        scheme, _, value = given.partition(" ")
        ok = scheme.lower() == "bearer" and hmac.compare_digest(
            value.strip().encode("utf-8", "replace"), token.encode("utf-8")
        )
        if required and not ok:
            raise Unauthorized("A valid 'Authorization: Bearer <token>' header is required.")
        return ok

    def check_form_origin(self, request: Request) -> None:
        """Raise ``Forbidden`` unless a form post comes from this site's own pages.

        ``Origin`` decides when a browser sent one; ``null`` (hidden by a referrer
        policy, a sandbox or a ``data:`` page) passes only with ``Sec-Fetch-Site:
        same-origin``. Without ``Origin``, a ``Referer`` must name this host. A post
        with neither (``curl``, scripts) is no cross-site request and passes, unless
        ``Sec-Fetch-Site`` says it came from another site.
        """
        origin = request.header("origin")
        if origin is not None and origin.strip():
            if origin.strip() == "null":
                site = (request.header("sec-fetch-site") or "").strip().lower()
                if site == "same-origin":
                    return
            elif self._same_host(request, origin):
                return
            raise Forbidden("Cross-site form posts are not accepted; use the form on this site.")
        referer = request.header("referer")
        if referer is not None and referer.strip():
            if self._same_host(request, referer):
                return
            raise Forbidden("Cross-site form posts are not accepted; use the form on this site.")
        site = (request.header("sec-fetch-site") or "").strip().lower()
        if site in ("cross-site", "same-site"):
            raise Forbidden("Cross-site form posts are not accepted; use the form on this site.")

    def _same_host(self, request: Request, url: str) -> bool:
        """Whether ``url`` (an ``Origin`` or ``Referer``) names the host this request
        reached, or the host of ``MINILINK_BASE_URL``; default ports are ignored."""
        theirs = _netloc(url)
        if theirs is None:
            return False
        own = {_netloc("//" + self.host(request))}
        if self.config.base_url:
            own.add(_netloc(self.config.base_url))
        return theirs in own

    def authorize_create(self, request: Request) -> None:
        """Apply ``MINILINK_CREATE_TOKEN`` and the rate limit to a creation."""
        config = self.config
        admin = self.check_token(request, config.admin_token, required=False)
        if config.create_token is not None and not admin:
            self.check_token(request, config.create_token, required=True)
        if not admin:
            self.shortener.check_rate(self.client(request))

    def read_body(self, request: Request, media_type: str) -> bytes:
        """The request body, after checking its length, encoding and media type.

        Raises ``PayloadTooLarge`` (decided from ``Content-Length``, before reading),
        ``BadRequest`` for a missing, invalid or lying length, and
        ``UnsupportedMediaType`` for another type or a compressed body.
        """
        declared = _content_length(request.headers)
        if declared is None:
            # An empty Content-Length is none at all: CGI and WSGI cannot tell the two
            # apart (RFC 3875 §4.1.2), so neither may an ASGI request.
            if request.headers.get("content-length", "") != "":
                raise BadRequest("Content-Length must be one whole number of bytes.")
            if "transfer-encoding" in request.headers:
                raise BadRequest("Send the request body with a Content-Length header.")
            declared = 0
        if declared > self.config.max_body_bytes:
            raise PayloadTooLarge(
                f"The request body is over the limit of {self.config.max_body_bytes} bytes."
            )
        if len(request.body) < declared:
            raise BadRequest("The request body is shorter than its Content-Length.")
        encoding = (request.header("content-encoding") or "identity").strip().lower()
        if encoding != "identity":
            raise UnsupportedMediaType("Compressed request bodies are not accepted.")
        given = (request.header("content-type") or "").split(";")[0].strip().lower()
        if given != media_type:
            raise UnsupportedMediaType(f"Send the request body as {media_type}.")
        return request.body[:declared]


def redirect(status: int, location: str) -> Response:
    """A redirect with an empty body; ``location`` must be an absolute ASCII URL."""
    return Response(status, (("Location", location), *_EMPTY_BODY))


def allow_methods(method: str, allowed: tuple[str, ...]) -> None:
    if method not in allowed:
        raise MethodNotAllowed(f"This path does not take {method[:20]!r}.", allowed)


def _quote_root(root: str) -> str:
    """The mount prefix as it goes into a URL: no trailing slash, pure ASCII."""
    root = root.rstrip("/")
    if all(c in _PATH_CHARS for c in root):
        return root
    return "".join(c if c in _PATH_CHARS else _escape(c) for c in root)


def _escape(char: str) -> str:
    return "".join(f"%{b:02X}" for b in char.encode("utf-8", "surrogatepass"))


def _netloc(url: str) -> Optional[str]:
    """``host[:port]`` of ``scheme://host[:port]/...`` (or ``//host``), lower-cased and
    without a default port (80, 443); ``None`` when ``url`` has no authority."""
    _, sep, rest = url.strip().partition("//")
    if not sep:
        return None
    netloc = rest
    for stop in "/?#":
        netloc = netloc.split(stop, 1)[0]
    netloc = netloc.lower()
    for port in (":80", ":443"):
        if netloc.endswith(port):
            netloc = netloc[: -len(port)]
    return netloc or None


def _content_length(headers: Mapping[str, str]) -> Optional[int]:
    """The declared Content-Length, or ``None`` when absent or not one whole number."""
    raw = headers.get("content-length")
    if raw is None:
        return None
    raw = raw.strip()
    if not raw.isascii() or not raw.isdigit() or len(raw) > 18:
        return None
    return int(raw)
