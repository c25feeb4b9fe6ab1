"""``Config``: every setting of minilink, read one way from ``MINILINK_*`` variables.

Every adapter and the CLI build their configuration with ``Config.from_env``; a bad
value raises ``ValueError`` naming the variable, so a misconfigured server fails at
start (or, under CGI, with a one-line error) instead of misbehaving.
"""

from __future__ import annotations

from minilink.core._values import fields, frozen, replace

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Optional

__all__ = ["DEFAULT_ALPHABET", "DEFAULT_CRAWLERS", "Config"]

#: Letters and digits without look-alikes (0/O/o, 1/l/I): a code read aloud or
#: copied from paper comes back right.
DEFAULT_ALPHABET = "23456789abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ"

#: User-Agent substrings (matched case-insensitively) of link-preview crawlers:
#: they are redirected but not counted as visits.
DEFAULT_CRAWLERS = (
    "Slackbot",
    "Slack-ImgProxy",
    "Twitterbot",
    "facebookexternalhit",
    "Facebot",
    "Discordbot",
    "WhatsApp",
    "TelegramBot",
    "LinkedInBot",
    "SkypeUriPreview",
    "Iframely",
    "redditbot",
    "Mastodon",
    "Pinterestbot",
    "vkShare",
    "Embedly",
    "Applebot",
)

_REDIRECT_STATUSES = (301, 302, 307, 308)


@frozen
class Config:
    """All settings; every field has the default a fresh install runs with.

    The ``MINILINK_*`` variable of each field is its name upper-cased, e.g.
    ``max_body_bytes`` is ``MINILINK_MAX_BODY_BYTES``.
    """

    #: Store URL or bare SQLite path (``MINILINK_STORE``).
    store: str = "minilink.db"
    #: Public base of short URLs, e.g. ``https://sho.rt/s``: an absolute http(s) URL
    #: without user, query, fragment or trailing ``/``; ``None`` derives it from the request.
    base_url: Optional[str] = None
    redirect_status: int = 302
    code_length: int = 7
    code_alphabet: str = DEFAULT_ALPHABET
    #: Bearer token for the admin calls (list, delete); ``None`` switches them off (403).
    admin_token: Optional[str] = None
    #: Bearer token needed to create links; ``None`` lets anyone create.
    create_token: Optional[str] = None
    max_url_length: int = 4096
    max_body_bytes: int = 64 * 1024
    allowed_schemes: tuple[str, ...] = ("http", "https")
    #: Hosts refused as targets; a leading dot blocks every subdomain (``.example``).
    blocked_hosts: tuple[str, ...] = ()
    #: Creations allowed per client and window (``MINILINK_RATE_LIMIT=30/60``); 0 is off.
    rate_limit: int = 30
    rate_window: int = 60
    #: Addresses or networks (CIDR) whose ``X-Forwarded-For``/``-Proto`` are believed;
    #: anything else (a host name) is refused, never skipped.
    trusted_proxies: tuple[str, ...] = ()
    crawlers: tuple[str, ...] = DEFAULT_CRAWLERS
    #: Persistent servers keep hits in memory this long before writing them (and may
    #: show another process's change this late); 0 writes every hit at once.
    hit_flush_seconds: float = 1.0
    #: Hours an admin session of the management pages may stay unused before it ends.
    admin_session_hours: int = 12
    #: YOURLS dialect (``MINILINK_YOURLS_USERS=name:password,...``) and its signature
    #: token; either turns ``/yourls-api.php`` on. Shlink dialect: its API keys.
    yourls_users: tuple[tuple[str, str], ...] = ()
    yourls_signature: Optional[str] = None
    shlink_api_keys: tuple[str, ...] = ()

    #: ``config.replace(**changes)``: a copy with some settings changed (and checked).
    replace = replace

    def __post_init__(self) -> None:
        if self.redirect_status not in _REDIRECT_STATUSES:
            raise ValueError(
                f"MINILINK_REDIRECT_STATUS must be one of 301, 302, 307, 308, "
                f"not {self.redirect_status}"
            )
        if not 2 <= self.code_length <= 32:
            raise ValueError("MINILINK_CODE_LENGTH must be between 2 and 32")
        alphabet = self.code_alphabet
        if (
            len(set(alphabet)) != len(alphabet)
            or len(alphabet) < 2
            or not all(c.isascii() and (c.isalnum() or c in "_-") for c in alphabet)
        ):
            raise ValueError(
                "MINILINK_CODE_ALPHABET must be at least 2 distinct characters from A-Z a-z 0-9 _ -"
            )
        for name in ("max_url_length", "max_body_bytes"):
            if getattr(self, name) < 1:
                raise ValueError(f"MINILINK_{name.upper()} must be a positive number")
        if not 0 <= self.hit_flush_seconds <= 60:
            raise ValueError("MINILINK_HIT_FLUSH_SECONDS must be from 0 to 60")
        if not 1 <= self.admin_session_hours <= 24 * 366:
            raise ValueError("MINILINK_ADMIN_SESSION_HOURS must be from 1 to 8784")
        if self.rate_limit < 0 or self.rate_window < 1:
            raise ValueError("MINILINK_RATE_LIMIT must look like 30/60 (creations/seconds) or 0")
        if not self.allowed_schemes:
            raise ValueError("MINILINK_ALLOWED_SCHEMES must name at least one scheme")
        if self.base_url is not None:
            _check_base_url(self.base_url)
            if self.base_url.endswith("/"):
                raise ValueError(
                    f"MINILINK_BASE_URL must not end in '/', as {self.base_url!r} does"
                )
        if self.trusted_proxies:
            _check_networks(self.trusted_proxies)
        for token in (self.admin_token, self.create_token):
            if token is not None and not (
                token.isascii() and token.isprintable() and " " not in token and token
            ):
                raise ValueError(
                    "MINILINK_ADMIN_TOKEN and MINILINK_CREATE_TOKEN must be printable ASCII "
                    "without spaces"
                )

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Config:
        """Build a ``Config`` from ``MINILINK_*`` variables; unset or empty ones keep
        their default. Raises ``ValueError`` naming the first bad variable."""
        values: dict[str, object] = {}

        def get(name: str) -> Optional[str]:
            raw = environ.get("MINILINK_" + name)
            return raw.strip() if raw and raw.strip() else None

        def integer(name: str) -> Optional[int]:
            raw = get(name)
            if raw is None:
                return None
            try:
                return int(raw)
            except ValueError:
                raise ValueError(f"MINILINK_{name} must be a whole number, not {raw!r}") from None

        def words(name: str, lower: bool) -> Optional[tuple[str, ...]]:
            raw = get(name)
            if raw is None:
                return None
            items = (w.strip() for w in raw.split(","))
            return tuple(w.lower() if lower else w for w in items if w)

        for name in (
            "store",
            "base_url",
            "code_alphabet",
            "admin_token",
            "create_token",
            "yourls_signature",
        ):
            value = get(name.upper())
            if value is not None:
                values[name] = value
        for name in (
            *("redirect_status", "code_length", "max_url_length", "max_body_bytes"),
            "admin_session_hours",
        ):
            number = integer(name.upper())
            if number is not None:
                values[name] = number
        for name, lower in (
            ("allowed_schemes", True),
            ("blocked_hosts", True),
            ("trusted_proxies", False),
            ("crawlers", False),
            ("shlink_api_keys", False),
        ):
            items = words(name.upper(), lower)
            if items is not None:
                values[name] = items
        flush = get("HIT_FLUSH_SECONDS")
        if flush is not None:
            try:
                values["hit_flush_seconds"] = float(flush)
            except ValueError:
                raise ValueError(
                    f"MINILINK_HIT_FLUSH_SECONDS must be a number of seconds, not {flush!r}"
                ) from None
        users = words("YOURLS_USERS", False)
        if users is not None:
            values["yourls_users"] = _parse_users(users)
        rate = get("RATE_LIMIT")
        if rate is not None:
            values["rate_limit"], values["rate_window"] = _parse_rate(rate)
        if "base_url" in values:
            base = str(values["base_url"])
            _check_base_url(base)  # as written, so that the message quotes it so
            values["base_url"] = base.rstrip("/")
        return cls(**values)  # type: ignore[arg-type]

    @classmethod
    def variables(cls) -> list[str]:
        """The names of every ``MINILINK_*`` variable ``from_env`` reads."""
        names = [name for name in fields(cls) if name != "rate_window"]
        return ["MINILINK_" + n.upper() for n in names]


# base-url = scheme "://" host [ ":" port ] path-abempty       (RFC 3986, section 3,
#                                                              narrowed to what a
#                                                              public base can be)
# scheme   = "http" / "https"                                 (case-insensitive, 3.1)
# host     = reg-name / IPv4address / "[" IPv6address "]"     (3.2.2; reg-name here as
#            dot-separated labels of ALPHA / DIGIT / "-" / "_": ASCII only, so an IDN
#            host is written in punycode; the IPv6 literal is checked by ipaddress)
# port     = 1*5DIGIT                                         (3.2.3; 1 to 65535)
# path-abempty = *( "/" segment ), segment = *pchar           (3.3)
# pchar    = unreserved / pct-encoded / sub-delims / ":" / "@"
# No userinfo, query or fragment: every short URL is this base, "/" and a code.
_BASE_URL = r"""
    (?i:https?)://
    (?P<host>
        [A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?
        (?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?)*
      | \[(?P<ipv6>[0-9A-Fa-f:.]+)\]
    )
    (?::(?P<port>[0-9]{1,5}))?
    (?P<path>(?:/(?:[A-Za-z0-9._~!$&'()*+,;=:@-]|%[0-9A-Fa-f]{2})*)*)
"""


def _check_base_url(value: str) -> None:
    """Raise ``ValueError`` unless ``value`` matches ``_BASE_URL`` (above)."""
    # Imported here: a CGI request builds a Config each time, and rarely sets a base.
    import re

    match = re.fullmatch(_BASE_URL, value, re.VERBOSE)
    ok = match is not None and 1 <= int(match["port"] or 80) <= 65535
    if match is not None and ok and match["ipv6"] is not None:
        import ipaddress

        try:
            ipaddress.IPv6Address(match["ipv6"])
        except ValueError:
            ok = False
    if not ok:
        raise ValueError(
            "MINILINK_BASE_URL must be an absolute http or https URL such as "
            f"https://sho.rt or https://example.com/s (a host, an optional port and path, "
            f"no user, query or fragment), not {value!r}"
        )


def _check_networks(entries: tuple[str, ...]) -> None:
    """Raise ``ValueError`` unless every entry is an IP address or network: one skipped
    would make every client behind that proxy share the proxy's rate-limit window."""
    # Imported here: ipaddress costs a CGI request about a millisecond.
    import ipaddress

    for entry in entries:
        try:
            ipaddress.ip_network(entry, strict=False)  # as Site reads them
        except ValueError:
            raise ValueError(
                "MINILINK_TRUSTED_PROXIES must list IP addresses or CIDR networks "
                f"(e.g. 10.0.0.1, 10.0.0.0/8, ::1), not {entry!r}"
            ) from None


def _parse_users(items: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    users = []
    for item in items:
        name, sep, password = item.partition(":")
        if not sep or not name.strip() or not password:
            raise ValueError("MINILINK_YOURLS_USERS must look like name:password,name2:password2")
        users.append((name.strip(), password))
    return tuple(users)


def _parse_rate(raw: str) -> tuple[int, int]:
    if raw.lower() in ("0", "off"):
        return 0, 60
    count, sep, window = raw.partition("/")
    try:
        return int(count), int(window) if sep else 60
    except ValueError:
        raise ValueError(
            f"MINILINK_RATE_LIMIT must look like 30/60 (creations/seconds) or 0, not {raw!r}"
        ) from None
