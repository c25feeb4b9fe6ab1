"""URL and alias validation: what minilink stores, and how it is normalised.

Theory of operation
-------------------
A short link is a redirect that a stranger will follow, so the target is checked
strictly and *rejected*, never silently repaired, when it looks like a trick. What
passes is normalised so that one target has one spelling (for deduplication) and so
that the stored value can go into a ``Location`` header as it is: pure ASCII, no
whitespace, no control character.

The grammar implemented (RFC 3986 §3, narrowed)::

    URL        = scheme "://" authority path-abempty [ "?" query ] [ "#" fragment ]
    scheme     = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )     ; lower-cased, allow-listed
    authority  = host [ ":" port ]                              ; no userinfo: "a@b" is refused
    host       = reg-name / IPv4address / "[" IPv6address "]"   ; IDN labels -> punycode
    port       = 1*5DIGIT                                       ; 1-65535, default port dropped

Refused outright: any ASCII or Unicode control character or whitespace anywhere
(``"java\\tscript:"``, ``"\\x00https://"``, ``"https://a.b/ c"``), backslashes before the
query (browsers read ``https:\\\\evil`` as ``https://evil``), an empty host
(``https:////evil``), user-info (``https://bank.example@evil.example/``), numeric hosts
that are not a plain dotted quad (``http://0x7f.1/`` is 127.0.0.1 to a browser), and
hosts on the block list or pointing back at the shortener itself.

Characters outside RFC 3986 in the path, query and fragment (non-ASCII, ``"<>^`{|}``)
are percent-encoded as UTF-8; existing ``%XX`` escapes are kept with upper-case hex,
and a ``%`` that starts no escape becomes ``%25``. Normalising twice changes nothing.
"""

from __future__ import annotations

import re

from minilink.core.codes import ALIAS_MAX, RESERVED, is_code
from minilink.core.errors import InvalidAlias, InvalidURL

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only: nothing more to import on the CGI path
    from collections.abc import Iterable
    from typing import Optional

__all__ = [
    "normalise_host",
    "normalise_url",
    "validate_alias",
]

_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443, "ftp": 21}

# scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":"
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")
# A reg-name label after IDNA: LDH plus "_" (seen in real hosts), 1-63 characters.
_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_\-]{0,61}[a-z0-9_])?")
# IPv4address as RFC 3986 writes it: four decimal octets, no leading zeros.
_OCTET = re.compile(r"25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9]")
# Characters RFC 3986 allows unescaped in path, query and fragment (plus "%").
_SAFE_TEXT = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~:/?#[]@!$&'()*+,;="
_SAFE = frozenset(_SAFE_TEXT)
_HEX = frozenset("0123456789abcdefABCDEF")


def validate_alias(alias: str) -> str:
    """Return ``alias`` if it is a usable alias; raise ``InvalidAlias`` otherwise."""
    if not is_code(alias):
        raise InvalidAlias(
            f"An alias is 1 to {ALIAS_MAX} characters from A-Z, a-z, 0-9, '_' and '-'."
        )
    if alias.lower() in RESERVED:
        raise InvalidAlias(f"The alias {alias!r} is reserved; choose another.")
    return alias


def _bad_text(text: str) -> Optional[str]:
    """The first control or whitespace character in ``text``, if any."""
    if text.isascii() and text.isprintable() and " " not in text:
        return None  # the usual case, decided in C: printable ASCII has no other space
    for c in text:
        if c.isspace() or not c.isprintable():
            return c
    return None


def normalise_host(host: str) -> str:
    """Lower-case a host, map IDN labels to punycode, drop one trailing dot.

    Raises ``InvalidURL`` for a host that no browser would resolve the same way.
    """
    if host.startswith("["):
        if not host.endswith("]"):
            raise InvalidURL("The host is an IPv6 address without its closing ']'.")
        if "%" in host:
            # A zone ("[fe80::1%eth0]") names an interface of the visitor's machine, and
            # ipaddress would keep it as any text at all, non-ASCII included.
            raise InvalidURL("An IPv6 host with a zone (%...) is not accepted.")
        import ipaddress  # only IPv6 literals pay for it

        try:
            address = ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            raise InvalidURL("The host is not a valid IPv6 address.") from None
        return f"[{address.compressed}]"
    if host.endswith("."):
        host = host[:-1]
    if not host:
        raise InvalidURL("The URL has no host.")
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            raise InvalidURL("The host is not a valid internationalised domain name.") from None
    host = host.lower()
    if len(host) > 253:
        raise InvalidURL("The host name is longer than 253 characters.")
    labels = host.split(".")
    if not all(_LABEL.fullmatch(label) for label in labels):
        raise InvalidURL("The host name has characters or labels a host cannot have.")
    last = labels[-1]
    # Browsers parse a host whose last label is numeric as an IPv4 address, in
    # octal, hex or fewer parts too; only the plain dotted quad is unambiguous.
    numeric = last.isdigit() or (last.startswith("0x") and all(c in _HEX for c in last[2:]))
    if numeric and (len(labels) != 4 or not all(_OCTET.fullmatch(label) for label in labels)):
        raise InvalidURL("An IPv4 host must be written as four decimal numbers.")
    return host


def _encode(part: str) -> str:
    """Percent-encode what RFC 3986 does not allow; keep valid escapes (upper-cased)."""
    if "%" not in part and not part.strip(_SAFE_TEXT):
        return part  # every character is allowed as it is (strip leaves none of them)
    out = []
    i, n = 0, len(part)
    while i < n:
        c = part[i]
        if c == "%":
            if i + 2 < n and part[i + 1] in _HEX and part[i + 2] in _HEX:
                out.append("%" + part[i + 1 : i + 3].upper())
                i += 3
                continue
            out.append("%25")
        elif c in _SAFE:
            out.append(c)
        else:
            out.extend(f"%{b:02X}" for b in c.encode("utf-8", "surrogatepass"))
        i += 1
    return "".join(out)


def _host_matches(host: str, pattern: str) -> bool:
    return host == pattern or host.endswith("." + pattern)


def normalise_url(
    url: str,
    *,
    allowed_schemes: Iterable[str] = ("http", "https"),
    max_length: int = 4096,
    blocked_hosts: Iterable[str] = (),
    own: Iterable[tuple[str, str]] = (),
) -> str:
    """Validate ``url`` and return its normal form; raise ``InvalidURL`` otherwise.

    ``own`` lists ``(host, path prefix)`` pairs of the shortener itself: a URL on one
    of those hosts under that prefix is refused, since it would redirect to itself.
    Blocked hosts block their subdomains too.
    """
    if len(url) > max_length:
        raise InvalidURL(f"The URL is longer than {max_length} characters.")
    if not url:
        raise InvalidURL("Enter a URL to shorten.")
    bad = _bad_text(url)
    if bad is not None:
        raise InvalidURL(
            "The URL contains whitespace or a control character "
            f"(U+{ord(bad):04X}); encode spaces as %20."
        )
    match = _SCHEME.match(url)
    if match is None:
        raise InvalidURL("The URL must start with a scheme, like https://example.com/.")
    scheme = match.group(1).lower()
    if scheme not in allowed_schemes:
        allowed = ", ".join(sorted(allowed_schemes))
        raise InvalidURL(f"The scheme {scheme!r} is not allowed; use one of: {allowed}.")
    rest = url[match.end() :]
    if not rest.startswith("//"):
        raise InvalidURL("The URL must have '//' and a host after its scheme.")
    rest = rest[2:]
    end = len(rest)
    for stop in "/?#":
        at = rest.find(stop)
        if at != -1:
            end = min(end, at)
    authority, tail = rest[:end], rest[end:]
    before_query = tail.split("?", 1)[0].split("#", 1)[0]
    if "\\" in authority or "\\" in before_query:
        raise InvalidURL("The URL contains a backslash, which browsers read as '/'.")
    if "@" in authority:
        raise InvalidURL("URLs with a user name or password (user@host) are not accepted.")
    if not authority:
        raise InvalidURL("The URL has no host.")
    host, port = authority, None
    colon = authority.rfind(":")
    if colon != -1 and "]" not in authority[colon:]:
        host, digits = authority[:colon], authority[colon + 1 :]
        if not (digits.isascii() and digits.isdigit()) or not 0 < int(digits) <= 65535:
            raise InvalidURL("The port must be a number from 1 to 65535.")
        port = int(digits)
    host = normalise_host(host)
    for blocked in blocked_hosts:
        pattern = blocked.strip(".").lower()
        if pattern and not pattern.isascii():
            # "bücher.example" on the block list blocks its punycode, the stored form.
            try:  # noqa: SIM105 - contextlib costs a CGI request an import
                pattern = normalise_host(pattern)
            except InvalidURL:
                pass
        if pattern and _host_matches(host, pattern):
            raise InvalidURL(f"Links to {host} are not accepted here.")
    if port is not None and port == _DEFAULT_PORTS.get(scheme):
        port = None
    netloc = host if port is None else f"{host}:{port}"
    tail = _encode(tail)
    if not tail.startswith("/"):
        tail = "/" + tail
    path = tail.split("?", 1)[0].split("#", 1)[0]
    for own_host, prefix in own:
        if own_host and _own_host(host, own_host) and _under(path, prefix):
            raise InvalidURL("The URL points back at this shortener, which would loop.")
    normal = f"{scheme}://{netloc}{tail}"
    if len(normal) > max_length:
        raise InvalidURL(f"The URL is longer than {max_length} characters once encoded.")
    return normal


def _own_host(host: str, own_host: str) -> bool:
    """Whether ``host`` names the shortener's ``own_host`` (port ignored: the same
    machine on another port is still a loop risk worth refusing)."""
    own = own_host
    if (not own.startswith("[") and own.count(":") == 1) or (own.startswith("[") and "]:" in own):
        own = own.rsplit(":", 1)[0]
    if own.isascii() and not own.startswith("["):
        # ``host`` is already normal, so a valid ASCII name equals it exactly when its
        # lower case without one trailing dot does (and an invalid one never does).
        return host == (own[:-1] if own.endswith(".") else own).lower()
    try:
        own = normalise_host(own)
    except InvalidURL:
        return False
    return host == own


def _under(path: str, prefix: str) -> bool:
    prefix = prefix.rstrip("/")
    return not prefix or path == prefix or path.startswith(prefix + "/")
