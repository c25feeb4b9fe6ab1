"""``Site``: what a request says about where it came from and who sent it.

Every route family (the pages, the JSON API, and those to come) asks the same
questions of a request: the public base of short URLs, this service's own host (to
refuse self-links), the client's address (for rate limits), whether a bearer token
is right, whether a form post comes from this site's own pages. The answers depend
only on the request and the configuration, so they live here, below the modules
that use them, and the dispatcher (``minilink.core.app``) only dispatches.

* Scheme and client address come from the connection; ``X-Forwarded-Proto`` and
  ``X-Forwarded-For`` are believed only from an address in ``trusted_proxies``.
* Tokens are compared in constant time (``hmac.compare_digest``).
* A form post is refused (403) when a browser says it comes from another site: by
  ``Origin`` (or ``Sec-Fetch-Site`` when a referrer policy makes it ``null``), else
  ``Referer``; a post with none of them is not from a browser and is let through.
"""

from __future__ import annotations

from minilink.core.errors import BadRequest, Forbidden, Unauthorized

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only: nothing more to import on the CGI path
    from ipaddress import IPv4Network, IPv6Network
    from typing import Optional, Union

    from minilink.core.config import Config
    from minilink.core.http import Request
    from minilink.core.service import Shortener

__all__ = ["Site"]

_HOST_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789.-_:[]")
_DEFAULT_PORTS = {"http": 80, "https": 443}
# RFC 3986 pchar plus "/": what a mount prefix may hold unescaped in a short URL.
_PATH_CHARS = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=:@/%"
)
_CROSS_SITE = "Cross-site form posts are not accepted; use the form on this site."


class Site:
    """The request-reading rules of one configuration (see the module docstring)."""

    def __init__(self, config: Config) -> None:
        self.config = config
        # Parsed on first use: ipaddress costs a CGI request ~1 ms it rarely needs.
        self._networks: Optional[tuple[Union[IPv4Network, IPv6Network], ...]] = None

    def origin(self, request: Request) -> str:
        """The public base of short URLs: ``MINILINK_BASE_URL``, else the request's
        scheme, host and mount prefix (no trailing slash)."""
        if self.config.base_url:
            return self.config.base_url
        return f"{self.scheme(request)}://{self.host(request)}{_quote_root(request.root)}"

    def home(self, request: Request) -> str:
        """The URL of the home page (the form). At the top of a host it ends in ``/``;
        under a mount it is the mount itself, without the slash: some CGI servers
        (busybox httpd) never hand a path ending in ``/`` to a script."""
        origin = self.origin(request)
        return origin if origin.count("/") > 2 else origin + "/"

    def root(self, request: Request) -> str:
        """The mount prefix as it goes into a URL: no trailing slash, pure ASCII."""
        return _quote_root(request.root)

    def own(self, request: Request) -> tuple[tuple[str, str], ...]:
        """``(host, prefix)`` of this service as the request reached it (self-links)."""
        return ((self.host(request), _quote_root(request.root)),)

    def scheme(self, request: Request) -> str:
        """``http`` or ``https``: the connection's, or a trusted proxy's word for it."""
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

        if self._networks is None:
            networks = []
            for entry in self.config.trusted_proxies:
                try:
                    networks.append(ipaddress.ip_network(entry, strict=False))
                except ValueError:  # Config refuses these; a hand-built one may not
                    continue
            self._networks = tuple(networks)
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self._networks)

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

    def authorize_create(self, request: Request, shortener: Shortener) -> None:
        """Apply ``MINILINK_CREATE_TOKEN`` and the creation rate limit to a request
        that creates a link (the admin token passes both)."""
        config = self.config
        admin = self.check_token(request, config.admin_token, required=False)
        if config.create_token is not None and not admin:
            self.check_token(request, config.create_token, required=True)
        if not admin:
            shortener.check_rate(self.client(request))

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
            raise Forbidden(_CROSS_SITE)
        referer = request.header("referer")
        if referer is not None and referer.strip():
            if self._same_host(request, referer):
                return
            raise Forbidden(_CROSS_SITE)
        site = (request.header("sec-fetch-site") or "").strip().lower()
        if site in ("cross-site", "same-site"):
            raise Forbidden(_CROSS_SITE)

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
