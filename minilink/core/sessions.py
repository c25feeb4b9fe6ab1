"""Admin sessions: a signed cookie, no server state but the record of ended ones.

Theory of operation
-------------------
The management pages (``minilink.core.admin``) are for the one admin, who signs in
with ``MINILINK_ADMIN_TOKEN``. Every request may be a new process (CGI), so a session
lives in its cookie, not in memory:

    v1.<started>.<seen>.<mac>

``started`` is when the admin signed in (microseconds since the epoch: it is also
the session's name), ``seen`` when the session was last used (seconds), and ``mac``
the HMAC-SHA256 of the rest under a key derived from the admin token. So:

* **No forgery.** Without the token there is no key, and any change of a field
  breaks the MAC (compared in constant time).
* **Idle expiry.** A session unused for ``admin_session_hours`` is refused; each use
  writes ``seen`` anew (the cookie is sent again when ``seen`` is a minute old or
  more), so a session in use slides on. A ``seen`` in the future is refused too.
* **Sign-out is real.** Signing out records the session's name as ended, through the
  store (``Store.allow``, read back with ``Store.counted``): a copy of the cookie kept
  from before is refused in every process from then on. Only that session ends;
  another browser stays signed in.
* **A new token ends every session**: the key is derived from it.
* **CSRF tokens** are HMACs of the session's name and the form's purpose: a page of
  another site cannot read them, and they die with the session.
* **Failed sign-ins** are limited per client (``SIGN_IN_TRIES`` a ``SIGN_IN_WINDOW``
  seconds, counted only when they fail, looked at before the token is): past the
  limit even the right token is refused, with ``Retry-After``.

The clock is the ``Shortener``'s, so tests move it by hand.
"""

from __future__ import annotations

import hashlib
import hmac

from minilink.core._values import frozen
from minilink.core.errors import RateLimited

TYPE_CHECKING = False
if TYPE_CHECKING:
    from datetime import datetime
    from typing import Optional

    from minilink.storage.base import Store

__all__ = ["COOKIE", "SIGN_IN_TRIES", "SIGN_IN_WINDOW", "Session", "Sessions"]

#: The cookie's name.
COOKIE = "minilink_admin"
#: Failed sign-ins a client may make per window of ``SIGN_IN_WINDOW`` seconds.
SIGN_IN_TRIES = 5
SIGN_IN_WINDOW = 300
#: A session's cookie is sent anew once its ``seen`` is this many seconds old.
_REFRESH = 60
#: How far ahead of the clock a ``seen`` may be (clocks of several servers differ).
_SKEW = 300
#: The ``allow`` window of ended-session marks: one fixed window, never pruned.
_ENDED_WINDOW = 0


@frozen
class Session:
    """A valid session: its name (``started``), when it was last seen, and whether
    its cookie should be sent again (``seen`` moved on)."""

    started: int
    seen: int
    refresh: bool


class Sessions:
    """The sessions of one admin token over one store (see the module docstring)."""

    def __init__(self, token: str, store: Store, idle_seconds: int) -> None:
        self._key = hmac.new(
            b"minilink admin session v1", token.encode("utf-8"), hashlib.sha256
        ).digest()
        self.store = store
        self.idle_seconds = idle_seconds

    # -- the cookie --------------------------------------------------------------------

    def _mac(self, text: str) -> str:
        return hmac.new(self._key, text.encode("ascii"), hashlib.sha256).hexdigest()

    def issue(self, started: int, seen: int) -> str:
        """The cookie value of the session ``started`` (µs), last seen at ``seen`` (s)."""
        text = f"v1.{started}.{seen}"
        return f"{text}.{self._mac(text)}"

    def start(self, now: datetime) -> str:
        """The cookie value of a new session signed in at ``now``."""
        return self.issue(_micros(now), int(now.timestamp()))

    def check(self, value: Optional[str], now: datetime) -> Optional[Session]:
        """The session of the cookie ``value``, or ``None`` when it is missing,
        malformed, forged, idle too long, from the future, or ended."""
        if not value or len(value) > 200:
            return None
        parts = value.split(".")
        if len(parts) != 4 or parts[0] != "v1":
            return None
        _, started_text, seen_text, mac = parts
        if not (_digits(started_text) and _digits(seen_text)):
            return None
        given = mac.encode("ascii", "replace")
        if not hmac.compare_digest(given, self._mac(f"v1.{started_text}.{seen_text}").encode()):
            return None
        started, seen = int(started_text), int(seen_text)
        moment = int(now.timestamp())
        if seen > moment + _SKEW or moment - seen > self.idle_seconds:
            return None
        if self.store.counted(self._ended_key(started), _ENDED_WINDOW):
            return None
        return Session(started=started, seen=seen, refresh=moment - seen >= _REFRESH)

    def end(self, session: Session) -> None:
        """End ``session`` for good: its cookie is refused from now on, everywhere."""
        self.store.allow(self._ended_key(session.started), _ENDED_WINDOW, 1)

    def _ended_key(self, started: int) -> str:
        return "admin-ended-" + self._mac(f"ended.{started}")[:32]

    # -- CSRF --------------------------------------------------------------------------

    def csrf(self, session: Session, purpose: str) -> str:
        """The CSRF token of ``session``'s forms for ``purpose`` (what the form does)."""
        return self._mac(f"csrf.{session.started}.{purpose}")[:40]

    def check_csrf(self, session: Session, purpose: str, given: Optional[str]) -> bool:
        """Whether ``given`` is ``session``'s CSRF token for ``purpose``."""
        want = self.csrf(session, purpose)
        return given is not None and hmac.compare_digest(
            given.encode("utf-8", "replace"), want.encode("ascii")
        )

    # -- failed sign-ins -----------------------------------------------------------------

    def _client_key(self, client: str) -> str:
        return hashlib.blake2b(
            client.encode("utf-8", "replace"), digest_size=12, person=b"minilink-signin"
        ).hexdigest()

    def check_attempts(self, client: str, now: datetime) -> None:
        """Raise ``RateLimited`` when ``client`` failed too often in this window."""
        moment = now.timestamp()
        bucket = int(moment // SIGN_IN_WINDOW)
        if self.store.counted(self._client_key(client), bucket) >= SIGN_IN_TRIES:
            retry_after = max(1, int((bucket + 1) * SIGN_IN_WINDOW - moment + 0.999))
            raise RateLimited(
                f"Too many failed sign-ins; try again in {retry_after} seconds.", retry_after
            )

    def failed(self, client: str, now: datetime) -> None:
        """Count one failed sign-in of ``client``."""
        bucket = int(now.timestamp() // SIGN_IN_WINDOW)
        self.store.allow(self._client_key(client), bucket, SIGN_IN_TRIES)

    def token_matches(self, token: str, given: str) -> bool:
        """Whether ``given`` is the admin ``token`` (constant time)."""
        return hmac.compare_digest(given.encode("utf-8", "replace"), token.encode("utf-8"))


def _digits(text: str) -> bool:
    return 0 < len(text) <= 20 and text.isascii() and text.isdigit()


def _micros(moment: datetime) -> int:
    from datetime import timezone

    epoch = moment.astimezone(timezone.utc).replace(tzinfo=None)
    from datetime import datetime as _dt

    delta = epoch - _dt(1970, 1, 1)
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds
