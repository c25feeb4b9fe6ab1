"""The code grammar shared by generated codes and aliases, kept free of imports.

The redirect path checks every requested code against it, so under CGI this module
must cost nothing to import (no ``re``).
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Callable

__all__ = ["ALIAS_CHARS", "ALIAS_MAX", "RESERVED", "is_code", "random_code"]

#: Characters of codes and aliases: ``[A-Za-z0-9_-]``.
ALIAS_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
_ALIAS_CHARS_STR = "".join(sorted(ALIAS_CHARS))
#: The longest code or alias: YOURLS keywords have up to 100 characters, and links
#: brought over from YOURLS keep working at the same path.
ALIAS_MAX = 100

#: Words no alias or code may be (compared case-insensitively): the first path segments
#: of minilink's own routes, and nothing else (every other word is free for a link:
#: YOURLS gives out ``s`` and ``static`` as keywords like any other). ``api`` (the JSON
#: API), ``admin`` (the management pages), ``rest`` (the Shlink dialect's
#: ``/rest/...``) and ``healthz``. Paths with a character no code has need no entry:
#: ``/robots.txt``, ``/yourls-api.php``, ``/{code}+`` (preview) and ``/{code}.svg``
#: (QR code). A test checks that each word here is answered by a route.
RESERVED = frozenset({"api", "admin", "healthz", "rest"})


def is_code(text: str) -> bool:
    """Whether ``text`` has the shape of a code or alias: ``[A-Za-z0-9_-]{1,100}``."""
    # str.strip removes every leading and trailing character of the set: nothing is
    # left exactly when all of them are in it (and it runs in C, on every redirect).
    return 0 < len(text) <= ALIAS_MAX and not text.strip(_ALIAS_CHARS_STR)


def random_code(alphabet: str, length: int, random_bytes: Callable[[int], bytes]) -> str:
    """``length`` characters drawn uniformly and independently from ``alphabet``.

    ``random_bytes(n)`` gives ``n`` random bytes (``os.urandom``). A byte picks
    ``alphabet[byte % len(alphabet)]`` when it is below the largest multiple of the
    alphabet's length that fits in a byte, and is skipped otherwise, so every character
    is equally likely (rejection sampling, as ``secrets.randbelow`` does bit by bit, but
    with one system call per code instead of one per character).
    """
    size = len(alphabet)
    if not 2 <= size <= 256:
        raise ValueError("the alphabet must have 2 to 256 characters")
    limit = 256 - 256 % size
    chars: list[str] = []
    while True:
        # A quarter more bytes than needed: for 56 characters (limit 224), 1 byte in 8
        # is skipped, so one draw is almost always enough.
        for byte in random_bytes(length + length // 4 + 2):
            if byte < limit:
                chars.append(alphabet[byte % size])
                if len(chars) == length:
                    return "".join(chars)
