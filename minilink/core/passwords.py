"""Salted password hashes for protected links, from the standard library only.

``hash_password`` uses ``hashlib.scrypt`` (memory-hard: a guess costs 32 MiB of memory
as well as time, which is what makes GPU and ASIC guessing expensive) with
``n=2**15, r=8, p=1``: about 32 MiB and 90 ms on this machine, a cost a CGI
request can carry once per password given, above the RFC 7914 interactive-login
figures. Where Python's OpenSSL has no scrypt (some old builds), PBKDF2-HMAC-SHA256
with 600,000 iterations (OWASP's figure for it) takes its place. The salt is 16 random
bytes per hash.

A hash is stored as text that names its own parameters, so a later change of them
leaves older hashes readable::

    scrypt$15$8$1$<salt, base64>$<key, base64>
    pbkdf2-sha256$600000$<salt, base64>$<key, base64>

``check_password`` compares in constant time, and a stored value it cannot read is
simply never matched. Passwords are any text of 1 to 1,000 characters (lone
surrogates included, as JSON allows them); they are encoded as UTF-8 with
``surrogatepass`` so that every such text has one byte form.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from base64 import b64decode, b64encode

from minilink.core.errors import BadRequest

__all__ = ["MAX_PASSWORD", "check_password", "hash_password", "validate_password"]

MAX_PASSWORD = 1000

_SCRYPT = (15, 8, 1)  # log2 n, r, p
_PBKDF2_ITERATIONS = 600_000
_KEY = 32
# scrypt needs 128 * r * n bytes; OpenSSL's default cap (32 MiB) is just too small.
_MAXMEM = 64 * 1024 * 1024


def validate_password(password: object) -> str:
    """``password`` if it is a usable password, else ``BadRequest``."""
    if not isinstance(password, str):
        raise BadRequest("The password must be a string.")
    if not 1 <= len(password) <= MAX_PASSWORD:
        raise BadRequest(f"The password must have 1 to {MAX_PASSWORD} characters.")
    return password


def _bytes(password: str) -> bytes:
    return password.encode("utf-8", "surrogatepass")


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """A new salted hash of ``password`` (see the module docstring for the format)."""
    secret = _bytes(validate_password(password))
    salt = os.urandom(16) if salt is None else salt
    if hasattr(hashlib, "scrypt"):
        log_n, r, p = _SCRYPT
        key = hashlib.scrypt(secret, salt=salt, n=2**log_n, r=r, p=p, maxmem=_MAXMEM, dklen=_KEY)
        return f"scrypt${log_n}${r}${p}${_b64(salt)}${_b64(key)}"
    key = hashlib.pbkdf2_hmac("sha256", secret, salt, _PBKDF2_ITERATIONS, _KEY)
    return f"pbkdf2-sha256${_PBKDF2_ITERATIONS}${_b64(salt)}${_b64(key)}"


def check_password(password: str, stored: str) -> bool:
    """Whether ``password`` is the one ``stored`` was made from (constant time)."""
    if not isinstance(password, str) or not 1 <= len(password) <= MAX_PASSWORD:
        return False
    secret = _bytes(password)
    parts = stored.split("$")
    try:
        if parts[0] == "scrypt" and len(parts) == 6:
            log_n, r, p = (int(part) for part in parts[1:4])
            if not (1 <= log_n <= 20 and 1 <= r <= 32 and 1 <= p <= 16):
                return False
            salt, key = b64decode(parts[4], validate=True), b64decode(parts[5], validate=True)
            maxmem = max(_MAXMEM, 256 * r * 2**log_n)
            got = hashlib.scrypt(
                secret, salt=salt, n=2**log_n, r=r, p=p, maxmem=maxmem, dklen=len(key)
            )
        elif parts[0] == "pbkdf2-sha256" and len(parts) == 4:
            iterations = int(parts[1])
            if not 1 <= iterations <= 10_000_000:
                return False
            salt, key = b64decode(parts[2], validate=True), b64decode(parts[3], validate=True)
            got = hashlib.pbkdf2_hmac("sha256", secret, salt, iterations, len(key))
        else:
            return False
    except (ValueError, TypeError, MemoryError):
        return False
    return bool(key) and hmac.compare_digest(got, key)


def _b64(data: bytes) -> str:
    return b64encode(data).decode("ascii")
