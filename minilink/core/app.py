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
* A link's options apply at redirect time: its own status; the visitor's query
  added to the target (``forward_query``, checked like any target, 400 when the
  query makes it invalid); for an expired or used-up link, a 302 to its
  ``fallback_url`` instead of the 410 (temporary, as an edit may revive the link;
  no hit counted; a deleted link stays 410).
* A protected link answers ``GET``/``HEAD`` with the password form (200, no
  redirect, no hit, ``Cache-Control: no-store``; the page depends on the code
  alone, never on the target). ``POST`` with the right ``password`` redirects with
  303 See Other whatever the link's status (a 307 or 308 would make the browser
  post the password on to the target), counting the hit; a wrong one is 403 with
  the form again, a missing or malformed one 400, past the guess limit 429 with
  ``Retry-After``. The post is refused cross-site as the home form's is. A POST to
  any other code is 405, as it always was.
* The redirect (the hot path, and under CGI the whole life of a process) imports no
  more than this module, the service and the store: JSON, HTML, query parsing and
  URL validation are imported by the requests that need them.
"""

from __future__ import annotations

from minilink.core.codes import is_code
from minilink.core.errors import (
    BadRequest,
    Gone,
    MethodNotAllowed,
    MinilinkError,
    NotFound,
    StoreUnavailable,
    Unauthorized,
)
from minilink.core.http import (
    Request,
    Response,
    allow_methods,
    content_length,
    redirect,
    text_response,
)
from minilink.core.site import Site

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only: nothing more to import on the CGI path
    from collections.abc import Mapping
    from types import ModuleType
    from typing import Callable, Optional

    from minilink.core.config import Config
    from minilink.core.service import Shortener

__all__ = ["FAMILIES", "App"]

_GET = ("GET", "HEAD")

#: Route families: a path's first segment, and the module that answers every path
#: under it, imported on first use. A family module has ``route(app, request,
#: segments)`` (the segments after its own) and may have ``error(app, request, exc,
#: extra)`` to answer its errors in its own form (the API answers JSON); without one,
#: errors are HTML pages. A new family of pages is one module and one line here.
FAMILIES = {
    "api": "minilink.core.api",
    "admin": "minilink.core.admin",
    "rest": "minilink.dialects.shlink",
}
#: The module answering ``/yourls-api.php`` (a one-segment path, so no family).
YOURLS = "minilink.dialects.yourls"


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
        #: How requests are read: origin, client address, tokens, form origins.
        self.site = Site(self.config)
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
        declared = content_length(headers)
        if declared is None or declared > self.config.max_body_bytes:
            return 0
        return declared

    # -- dispatch ---------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        """Answer ``request``. Never raises."""
        segments = _segments(request.path)
        try:
            try:
                if "\ufffd" in request.path:
                    raise BadRequest("The path is not valid UTF-8.")
                response = self._route(request, segments)
            except MinilinkError as exc:
                response = self._error(request, exc, segments)
        except Exception as exc:  # the one place a bug is turned into a 500
            try:
                self.on_error(exc)
            except Exception as failure:  # a failing reporter must not fail the answer
                _report_to_log(failure)
            response = _INTERNAL_ERROR
        if request.method == "HEAD" and (response.body or response.stream is not None):
            response = Response(response.status, response.headers)
        return response

    def _route(self, request: Request, segments: list[str]) -> Response:
        method = request.method
        n = len(segments)
        # "/rest" alone stays a code: only the paths below it are Shlink's.
        if n == 1 and (segments[0] not in FAMILIES or segments[0] == "rest"):
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
            if code == "yourls-api.php":  # the YOURLS dialect ("." is no code character)
                from importlib import import_module  # as a family is: by name

                return import_module(YOURLS).route(self, request)  # type: ignore[no-any-return]
            if code == "robots.txt":
                allow_methods(method, _GET)
                from minilink.core import pages

                return pages.robots(self, request)
            if not is_code(code):
                raise NotFound("There is no such page.")
            if method != "GET" and method != "HEAD":
                if method == "POST" and self.shortener.protected(code):
                    return self._unlock(request, code)
                allow_methods(method, _GET)
            return self._redirect(request, code)
        if n == 0:
            allow_methods(method, ("GET", "HEAD", "POST"))
            from minilink.core import pages

            if method == "POST":
                self.site.check_form_origin(request)
                return pages.create(self, request)
            return pages.home(self, request)
        family = _family(segments)
        if family is not None:
            return family.route(self, request, segments[1:])  # type: ignore[no-any-return]
        raise NotFound("There is no such page.")

    def _redirect(self, request: Request, code: str) -> Response:
        count = request.method == "GET" and not self._is_crawler(request)
        try:
            link = self.shortener.follow(code, count=count, query=request.query)
        except Gone as gone:
            return self._fallback(code, gone)
        if link.password_hash is not None:
            from minilink.core import pages

            return pages.password_form(self, request, link.code, 200)
        if link.redirect_status is None and not link.forward_query:
            # The same link gives the same (immutable) answer: made once, while hot.
            url = link.url
            response = self._redirects.get(url)
            if response is None:
                if len(self._redirects) >= _REDIRECTS_KEPT:
                    self._redirects.clear()
                response = self._redirects[url] = redirect(self.config.redirect_status, url)
            return response
        status = link.redirect_status or self.config.redirect_status
        return redirect(status, self.shortener.destination(link, request.query))

    def _fallback(self, code: str, gone: Gone) -> Response:
        """The answer for a link that raised ``gone``: a 302 to its fallback, else
        ``gone`` itself (410)."""
        url = self.shortener.fallback(code)
        if url is None:
            raise gone
        # Always temporary: an edit may bring the link back (a later expiry, a higher
        # visit limit), and a browser keeps a 301 or 308 for good.
        return redirect(302, url)

    def _unlock(self, request: Request, code: str) -> Response:
        """``POST /{code}`` of a protected link: the password form's answer."""
        # As the home form: a page on another site could otherwise spend a visitor's
        # guesses (and lock them out of the link for a minute) without their knowing.
        self.site.check_form_origin(request)
        from minilink.core import pages

        try:
            return pages.unlock(self, request, code, count=not self._is_crawler(request))
        except Gone as gone:
            return self._fallback(code, gone)

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

    def _error(self, request: Request, exc: MinilinkError, segments: list[str]) -> Response:
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
        family = _family(segments)
        if family is not None and hasattr(family, "error"):
            return family.error(self, request, exc, tuple(extra))  # type: ignore[no-any-return]
        from minilink.core import pages

        return pages.error(self, request, exc, tuple(extra))


def _family(segments: list[str]) -> Optional[ModuleType]:
    """The module of the route family ``segments`` fall under, imported on first use."""
    if not segments:
        return None
    name = FAMILIES.get(segments[0])
    if name is None:
        return None
    from importlib import import_module

    return import_module(name)
