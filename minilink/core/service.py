"""``Shortener``: the service behind every adapter and the CLI.

Theory of operation
-------------------
A ``Shortener`` holds a ``Store``, a ``Config``, a clock and a source of randomness;
it never does I/O of its own beyond the store, so tests hand it a fixed clock and a
seeded generator and get the same codes every run.

* Codes are drawn uniformly from ``config.code_alphabet`` with ``os.urandom``, the
  source ``secrets`` uses (so nobody can guess other people's links by counting),
  one system call per code, and claimed with the store's atomic insert-if-absent,
  never by looking first. A taken code is simply drawn again; after a few collisions
  at one length the length grows by one, so a filling code space degrades into
  longer codes instead of errors.
* A link past its expiry or its visit limit, or deleted, raises ``Gone`` when it is
  read: no background job is needed, so this holds under CGI too.
* ``visit`` records a hit (a total and a per-day counter, nothing about the visitor);
  ``resolve`` counts nothing. A link with a visit limit is counted with the store's
  conditional increment, so two racing visitors cannot both take the last visit.
* A redirect asks ``follow``: the live link, its hit counted, except for a
  protected link (a password is needed first: ``unlock``, which limits guesses
  per client and link). An expired or used-up link raises ``Gone``, and
  ``fallback`` then says where it sends visitors instead, if anywhere; the
  fallback counts no hit. ``destination`` adds the visitor's query to the
  target for a link that forwards it.
"""

from __future__ import annotations

import os
from datetime import datetime, time, timedelta, timezone

from minilink.core._values import frozen
from minilink.core.codes import RESERVED, is_code, random_code
from minilink.core.config import Config
from minilink.core.errors import (
    AliasTaken,
    BadRequest,
    Gone,
    NotFound,
    PreconditionFailed,
    RateLimited,
)
from minilink.core.links import SORTS, STATES, Link, Search

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any, Callable, Optional

    from minilink.storage.base import Store

__all__ = ["GUESSES", "GUESS_WINDOW", "Shortener", "Stats"]

#: Collisions tolerated at one code length before the length grows by one.
_TRIES_PER_LENGTH = 3
#: Extra characters a code may grow by before creation gives up (astronomically unlikely).
_MAX_GROWTH = 6
#: The farthest future an expiry may be set (about 100 years).
_MAX_EXPIRY = timedelta(days=36525)
_MAX_VISITS = 2**31 - 1
_MIDNIGHT = time(tzinfo=timezone.utc)
_ONE_DAY = timedelta(days=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


@frozen
class Stats:
    """Visits of one link: the total and one ``(YYYY-MM-DD, hits)`` pair per day,
    oldest first, days without hits included as 0."""

    code: str
    hits: int
    daily: tuple[tuple[str, int], ...]


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Shortener:
    """Create, resolve, visit, delete and count short links.

    ``clock`` returns the current aware UTC datetime; ``randbelow(n)`` returns an int in
    ``[0, n)``. Both default to the real thing (the system clock; ``os.urandom``
    through ``codes.random_code``) and exist so that tests can be deterministic.
    """

    def __init__(
        self,
        store: Store,
        config: Optional[Config] = None,
        *,
        clock: Optional[Callable[[], datetime]] = None,
        randbelow: Optional[Callable[[int], int]] = None,
    ) -> None:
        self.store = store
        self.config = config if config is not None else Config()
        self.clock = clock if clock is not None else _utcnow
        self._randbelow = randbelow
        self._today = (_EPOCH, _EPOCH, "")  # (start, end, "YYYY-MM-DD") of the last day seen

    # -- creating ---------------------------------------------------------------

    def shorten(
        self,
        url: str,
        *,
        alias: Optional[str] = None,
        expires_in: Optional[float] = None,
        expires_at: Optional[datetime] = None,
        max_visits: Optional[int] = None,
        own: Iterable[tuple[str, str]] = (),
        **options: Any,
    ) -> Link:
        """Shorten ``url`` and return the link (an existing one when deduplicated).

        ``expires_in`` (seconds) and ``expires_at`` (aware datetime) are alternatives;
        ``max_visits`` limits counted visits. ``own`` lists ``(host, path prefix)`` of
        the service the request came through, so links back to it are refused.
        ``options`` are the link options of ``update`` (``title``, ``tags``,
        ``redirect_status``, ``forward_query``, ``fallback_url``, ``password``).

        Raises ``InvalidURL``, ``InvalidAlias``, ``AliasTaken`` or ``BadRequest``.
        """
        return self.create(
            url,
            alias=alias,
            expires_in=expires_in,
            expires_at=expires_at,
            max_visits=max_visits,
            own=own,
            **options,
        )[0]

    def create(
        self,
        url: str,
        *,
        alias: Optional[str] = None,
        expires_in: Optional[float] = None,
        expires_at: Optional[datetime] = None,
        max_visits: Optional[int] = None,
        own: Iterable[tuple[str, str]] = (),
        **options: Any,
    ) -> tuple[Link, bool]:
        """Like ``shorten``, and also say whether a new link was created (``False``
        when an identical plain link already existed and is returned instead)."""
        from minilink.core.urls import validate_alias

        own_pairs = self._own(own)
        normal = self._url(url, own_pairs)
        # Whole seconds: the JSON API shows 2026-11-28T13:00:00Z, and what it shows is
        # what is stored.
        now = self.clock().replace(microsecond=0)
        expiry = self._expiry(now, expires_in, expires_at)
        _check_max_visits(max_visits)
        unknown = set(options) - set(_OPTIONS)
        if unknown:
            raise TypeError(f"unknown link option {sorted(unknown)[0]!r}")
        fields = self._options(options, own_pairs)
        if alias is not None:
            if not isinstance(alias, str):
                raise BadRequest("The alias must be a string.")
            validate_alias(alias)
            link = Link(alias, normal, now, expiry, max_visits, alias=True, **fields)
            if self.store.insert(link) is None:
                raise AliasTaken(self._taken(alias, now))
            return link, True
        length = self.config.code_length
        for attempt in range(_TRIES_PER_LENGTH * _MAX_GROWTH):
            code = self._new_code(length + attempt // _TRIES_PER_LENGTH)
            candidate = Link(code, normal, now, expiry, max_visits, **fields)
            stored = self.store.insert(candidate)
            if stored is not None:
                return stored, stored.code == code
        raise AliasTaken("No free code could be found; raise MINILINK_CODE_LENGTH.")

    def _own(self, own: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
        pairs = list(own)
        if self.config.base_url:
            pairs.append(_split_base(self.config.base_url))
        return pairs

    def _url(self, url: object, own: list[tuple[str, str]], name: str = "The URL") -> str:
        """``url`` normalised and checked as any target is (``InvalidURL``)."""
        from minilink.core.urls import normalise_url

        if not isinstance(url, str):
            raise BadRequest(f"{name} must be a string.")
        config = self.config
        return normalise_url(
            url,
            allowed_schemes=config.allowed_schemes,
            max_length=config.max_url_length,
            blocked_hosts=config.blocked_hosts,
            own=own,
        )

    def _options(self, options: dict[str, Any], own: list[tuple[str, str]]) -> dict[str, Any]:
        """The ``Link`` fields of the options given (``update``'s names), checked."""
        from minilink.core import options as check

        fields: dict[str, Any] = {}
        for name, value in options.items():
            if name == "title":
                fields["title"] = check.check_title(value)
            elif name == "tags":
                fields["tags"] = check.check_tags(value)
            elif name == "redirect_status":
                fields["redirect_status"] = check.check_redirect_status(value)
            elif name == "forward_query":
                fields["forward_query"] = check.check_forward_query(value)
            elif name == "fallback_url":
                fields["fallback_url"] = (
                    None if value is None else self._url(value, own, "fallback_url")
                )
            elif name == "password":
                from minilink.core.passwords import hash_password, validate_password

                fields["password_hash"] = (
                    None if value is None else hash_password(validate_password(value))
                )
        return fields

    def _taken(self, alias: str, now: datetime) -> str:
        """Why ``alias`` cannot be had (asked only after the insert was refused)."""
        holder = self.store.get(alias)
        if holder is not None and holder.is_expired(now):
            how = "deleted" if holder.deleted_at is not None else "expired"
            return (
                f"The alias {alias!r} was used before by a link that is now {how}; "
                "codes are never given to another link, so choose another alias."
            )
        return f"The alias {alias!r} is already taken."

    def _new_code(self, length: int) -> str:
        alphabet = self.config.code_alphabet
        randbelow = self._randbelow
        while True:
            if randbelow is None:
                code = random_code(alphabet, length, os.urandom)
            else:
                code = "".join(alphabet[randbelow(len(alphabet))] for _ in range(length))
            if code.lower() not in RESERVED:
                return code

    def _expiry(
        self, now: datetime, expires_in: Optional[float], expires_at: Optional[datetime]
    ) -> Optional[datetime]:
        if expires_in is not None and expires_at is not None:
            raise BadRequest("Give expires_in or expires_at, not both.")
        if expires_in is not None:
            if (
                isinstance(expires_in, bool)
                or not isinstance(expires_in, (int, float))
                or not 0 < expires_in <= _MAX_EXPIRY.total_seconds()
            ):
                raise BadRequest("expires_in must be a number of seconds above 0.")
            return now + timedelta(seconds=expires_in)
        if expires_at is not None:
            if not isinstance(expires_at, datetime) or expires_at.tzinfo is None:
                raise BadRequest("expires_at must be a date and time with a time zone.")
            expires_at = expires_at.astimezone(timezone.utc)
            if expires_at <= now or expires_at - now > _MAX_EXPIRY:
                raise BadRequest("expires_at must be in the future (and within 100 years).")
            return expires_at
        return None

    def check_rate(self, client: str) -> None:
        """Count one creation by ``client``; raise ``RateLimited`` past the limit.

        The client is kept only as a short hash, in a counter that lives for one
        window: enough to slow a spammer down, too little to track anyone.
        """
        limit, window = self.config.rate_limit, self.config.rate_window
        if not limit:
            return
        import hashlib

        key = hashlib.blake2b(client.encode("utf-8", "replace"), digest_size=12).hexdigest()
        now = self.clock().timestamp()
        bucket = int(now // window)
        if not self.store.allow(key, bucket, limit):
            retry_after = max(1, int((bucket + 1) * window - now + 0.999))
            raise RateLimited(
                f"Too many links created; try again in {retry_after} seconds.", retry_after
            )

    # -- reading ----------------------------------------------------------------

    def resolve(self, code: str) -> Link:
        """The live link for ``code``; raises ``NotFound`` or ``Gone``. Counts nothing."""
        return self._live(code, self.clock())

    def _live(self, code: str, now: datetime, *, redirect: bool = False) -> Link:
        """The live link; a ``redirect`` needs no fresh hit count (``Store.lookup``)."""
        store = self.store
        link = (store.lookup(code) if redirect else store.get(code)) if is_code(code) else None
        if link is None:
            raise NotFound(f"No link has the code {code!r}.")
        if link.is_expired(now):
            if link.deleted_at is not None:
                raise Gone(f"The link {code!r} was deleted.")
            if link.expires_at is not None and now >= link.expires_at:
                raise Gone(f"The link {code!r} has expired.")
            raise Gone(f"The link {code!r} has reached its visit limit.")
        return link

    def visit(self, code: str, *, count: bool = True) -> Link:
        """Resolve ``code`` and, with ``count``, record one hit for today (UTC).

        Returns the link with its hits including this one. Raises ``NotFound`` or
        ``Gone`` (also when a racing visitor took the last allowed visit).
        """
        link = self._visit(code, count)
        return link.replace(hits=link.hits + 1) if count else link

    def target(self, code: str, *, count: bool = True) -> str:
        """The URL ``code`` redirects to: ``visit(code, count=count).url``, without
        building the updated link (this is every redirect's path)."""
        return self._visit(code, count, redirect=True).url

    def follow(self, code: str, *, count: bool = True, query: str = "") -> Link:
        """The live link a visit of ``code`` leads by, its hit recorded with ``count``,
        unless the link is protected: then nothing is counted (the visitor gets the
        password form, and ``unlock`` counts the hit once the password is given).
        ``query`` is the visitor's raw query, checked first for a link that forwards
        it, so that a visit refused for its query counts nothing.

        Raises ``NotFound``, ``Gone`` (``fallback`` says where to send the visitor
        then) or ``InvalidURL`` (see ``destination``). This is the path of every
        redirect: one read, one hit, nothing built.
        """
        now = self.clock()
        link = self._live(code, now, redirect=True)
        if link.forward_query and query:
            self.destination(link, query)
        if (
            count
            and link.password_hash is None
            and not self.store.hit(code, self._day(now), limit=link.max_visits)
        ):
            raise Gone(f"The link {code!r} has reached its visit limit.")
        return link

    def fallback(self, code: str) -> Optional[str]:
        """Where ``code`` sends visitors instead of answering 410, once ``follow`` or
        ``unlock`` raised ``Gone``: the link's ``fallback_url``, or ``None`` (no
        fallback, unknown, or deleted: a deleted link answers 410 whatever it had).

        Asked only after ``Gone``, so a link seen live here (a racing visitor took
        the last visit after this read) still falls back. Counts nothing.
        """
        link = self.store.get(code) if is_code(code) else None
        if link is None or link.deleted_at is not None:
            return None
        return link.fallback_url

    def destination(self, link: Link, query: str) -> str:
        """The URL a visit of ``link`` goes to, given the visitor's raw query string:
        ``link.url``, with the query merged in when the link forwards it (see
        ``minilink.core.forwarding``), the result checked like any target.

        Raises ``InvalidURL`` when the visitor's query makes the URL invalid (too
        long, whitespace or control characters).
        """
        if not link.forward_query or not query:
            return link.url
        from minilink.core.errors import InvalidURL
        from minilink.core.forwarding import merge_query

        merged = merge_query(link.url, query)
        if merged == link.url:
            return merged
        try:
            return self._url(merged, [])
        except InvalidURL as exc:
            raise InvalidURL(
                f"This link adds your query to its target, and that query cannot be "
                f"added: {exc.message}"
            ) from None

    def protected(self, code: str) -> bool:
        """Whether ``code`` names a link (live, expired or used up, not deleted) that
        needs a password. Counts nothing."""
        link = self.store.get(code) if is_code(code) else None
        return link is not None and link.deleted_at is None and link.password_hash is not None

    def unlock(
        self, code: str, password: str, *, client: str, count: bool = True, query: str = ""
    ) -> Link:
        """Visit the protected link ``code`` with ``password``, given by ``client``
        (an address): the live link, its hit recorded with ``count``. ``query`` is
        checked as ``follow`` checks it.

        Guesses are limited per client and link: ``GUESSES`` a ``GUESS_WINDOW``
        seconds, counted before the password is looked at, so that past the limit
        even the right one is refused (``RateLimited``, with ``retry_after``).
        The client is kept only as a short hash, in a counter that lives for one
        window. Every password within the limit costs one hash, right or wrong.
        A link without a password is simply followed.

        Raises ``NotFound``, ``Gone``, ``RateLimited``, ``Forbidden`` (a wrong
        password) or ``InvalidURL``.
        """
        from minilink.core.errors import Forbidden
        from minilink.core.passwords import check_password

        now = self.clock()
        link = self._live(code, now)
        if link.password_hash is not None:
            self._count_guess(client, code, now)
            if not check_password(password, link.password_hash):
                raise Forbidden("That is not the password of this link.")
        if link.forward_query and query:
            self.destination(link, query)
        if count and not self.store.hit(code, self._day(now), limit=link.max_visits):
            raise Gone(f"The link {code!r} has reached its visit limit.")
        return link

    def _count_guess(self, client: str, code: str, now: datetime) -> None:
        import hashlib

        who = f"{client}\n{code}".encode("utf-8", "replace")
        # "person" keeps these keys apart from the creation limit's (check_rate).
        key = hashlib.blake2b(who, digest_size=12, person=b"minilink-guess").hexdigest()
        moment = now.timestamp()
        bucket = int(moment // GUESS_WINDOW)
        if not self.store.allow(key, bucket, GUESSES):
            retry_after = max(1, int((bucket + 1) * GUESS_WINDOW - moment + 0.999))
            raise RateLimited(
                f"Too many passwords tried for this link; try again in {retry_after} seconds.",
                retry_after,
            )

    def _visit(self, code: str, count: bool, *, redirect: bool = False) -> Link:
        """The live link, as read before this visit's hit (recorded with ``count``)."""
        now = self.clock()
        link = self._live(code, now, redirect=redirect)
        if count and not self.store.hit(code, self._day(now), limit=link.max_visits):
            raise Gone(f"The link {code!r} has reached its visit limit.")
        return link

    def _day(self, now: datetime) -> str:
        """``now``'s UTC date as ``YYYY-MM-DD``: the key of a day's hits.

        Remembered until the day ends, since every visit asks for it.
        """
        start, end, day = self._today
        if start <= now < end:
            return day
        start = datetime.combine(now.astimezone(timezone.utc).date(), _MIDNIGHT)
        day = start.date().isoformat()
        self._today = (start, start + _ONE_DAY, day)
        return day

    def stats(self, code: str, days: int = 30) -> Stats:
        """Total hits and the per-day series of the last ``days`` days (1 to 366)."""
        if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 366:
            raise BadRequest("days must be a whole number from 1 to 366.")
        link = self.resolve(code)
        today = self.clock().date()
        first = today - timedelta(days=days - 1)
        counted = dict(self.store.daily(code, first.isoformat()))
        dates = ((first + timedelta(days=i)).isoformat() for i in range(days))
        series = tuple((date, counted.get(date, 0)) for date in dates)
        return Stats(code=link.code, hits=link.hits, daily=series)

    def links(self, limit: int = 100, after: Optional[str] = None) -> list[Link]:
        """Links newest first (tombstones left out), ``limit`` from 1 to 1000."""
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 1000:
            raise BadRequest("limit must be a whole number from 1 to 1000.")
        return self.store.recent(limit, after)

    def search(
        self,
        text: Optional[str] = None,
        *,
        tag: Optional[str] = None,
        state: str = "live",
        sort: str = "created",
        limit: int = 100,
        after: Optional[str] = None,
    ) -> list[Link]:
        """Links matching ``text`` (code, URL or title, as a substring ignoring ASCII
        case) and ``tag``, in ``state`` (``live``, ``expired``, ``deleted`` or ``all``),
        sorted by ``sort`` (``created``, ``hits`` or ``updated``, newest or most first),
        ``limit`` from 1 to 1000, continuing after the code ``after``."""
        from minilink.core.options import check_tag

        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 1000:
            raise BadRequest("limit must be a whole number from 1 to 1000.")
        if text is not None:
            if not isinstance(text, str) or len(text) > 1000:
                raise BadRequest("The search text must be a string of at most 1000 characters.")
            text = text or None
        if state not in STATES:
            raise BadRequest(f"state must be one of {', '.join(STATES)}.")
        if sort not in SORTS:
            raise BadRequest(f"sort must be one of {', '.join(SORTS)}.")
        if after is not None and not isinstance(after, str):
            raise BadRequest("after must be a code.")
        search = Search(
            now=self.clock(),
            text=text,
            tag=None if tag is None else check_tag(tag),
            state=state,
            sort=sort,
            limit=limit,
            after=after,
        )
        return self.store.search(search)

    def tags(self) -> list[tuple[str, int]]:
        """Every tag with the number of links (not deleted) that carry it, by name."""
        return self.store.tags()

    # -- editing ----------------------------------------------------------------

    def update(
        self,
        code: str,
        /,
        *,
        revision: Optional[int] = None,
        own: Iterable[tuple[str, str]] = (),
        **changes: Any,
    ) -> Link:
        """Change some fields of the link ``code`` and return it as now stored.

        ``changes`` may name ``url``, ``title``, ``tags``, ``expires_at``,
        ``max_visits``, ``redirect_status``, ``forward_query``, ``fallback_url`` and
        ``password`` (a string sets it, ``None`` removes it); ``None`` clears a field.
        Values are checked as at creation (the URL against ``own`` too), except that
        ``expires_at`` may lie in the past (the link then answers as expired). An
        expired or used-up link may be edited (say, to extend it); a deleted one
        may not. The code never changes.

        With ``revision`` (the link's ``revision`` as the caller last saw it, which
        its ETag names), the edit is made only over that revision, else
        ``PreconditionFailed``. Without it, an edit racing another one is applied on
        top of it (fields not named here keep the other edit's values).

        Raises ``NotFound``, ``Gone`` (deleted), ``PreconditionFailed``, ``BadRequest``
        or ``InvalidURL``; nothing is changed then.
        """
        unknown = set(changes) - set(_EDITABLE)
        if unknown:
            raise BadRequest(f"{sorted(unknown)[0]!r} cannot be changed.")
        own_pairs = self._own(own)
        fields = self._options({k: v for k, v in changes.items() if k in _OPTIONS}, own_pairs)
        if "url" in changes:
            if changes["url"] is None:
                raise BadRequest("A link must keep a URL.")
            fields["url"] = self._url(changes["url"], own_pairs)
        if "max_visits" in changes:
            _check_max_visits(changes["max_visits"])
            fields["max_visits"] = changes["max_visits"]
        if "expires_at" in changes:
            expires_at = changes["expires_at"]
            if expires_at is not None:
                if not isinstance(expires_at, datetime) or expires_at.tzinfo is None:
                    raise BadRequest("expires_at must be a date and time with a time zone.")
                expires_at = expires_at.astimezone(timezone.utc)
                if expires_at - self.clock() > _MAX_EXPIRY:
                    raise BadRequest("expires_at must be within 100 years.")
            fields["expires_at"] = expires_at
        if revision is not None and (isinstance(revision, bool) or not isinstance(revision, int)):
            raise BadRequest("revision must be a whole number.")
        for _ in range(_EDIT_TRIES):
            link = self.store.get(code) if is_code(code) else None
            if link is None:
                raise NotFound(f"No link has the code {code!r}.")
            if link.deleted_at is not None:
                raise Gone(f"The link {code!r} was deleted.")
            if revision is not None and link.revision != revision:
                raise PreconditionFailed(
                    f"The link {code!r} was changed since (it is now at revision "
                    f"{link.revision}, not {revision}); read it again."
                )
            now = self.clock().replace(microsecond=0)
            stored = self.store.update(link.replace(**fields, updated_at=now))
            if stored is not None:
                return stored
            # Refused: deleted or edited meanwhile. The next read says which.
        raise PreconditionFailed(f"The link {code!r} kept changing; try the edit again.")

    # -- deleting ---------------------------------------------------------------

    def delete(self, code: str, /, *, revision: Optional[int] = None) -> None:
        """Delete ``code``: it answers ``Gone`` from now on and is never reused.

        With ``revision``, only if the link is still at that revision (as ``update``):
        ``PreconditionFailed`` otherwise, and nothing changes. Raises ``NotFound`` for
        an unknown code and ``Gone`` for one already deleted.
        """
        link = self.store.get(code) if is_code(code) else None
        if link is None:
            raise NotFound(f"No link has the code {code!r}.")
        if revision is None:
            if not self.store.delete(code, self.clock()):
                raise Gone(f"The link {code!r} was already deleted.")
            return
        if link.deleted_at is None and link.revision == revision:
            if self.store.delete(code, self.clock(), revision=revision):
                return
            link = self.store.get(code) or link  # changed or deleted meanwhile
        if link.deleted_at is not None:
            raise Gone(f"The link {code!r} was already deleted.")
        raise PreconditionFailed(
            f"The link {code!r} was changed since (it is now at revision "
            f"{link.revision}, not {revision}); read it again."
        )


#: Passwords a client may try on one link per window of ``GUESS_WINDOW`` seconds:
#: enough for typing mistakes, too few to guess any password worth the name.
GUESSES = 5
GUESS_WINDOW = 60

#: Options ``create`` and ``update`` take under these names.
_OPTIONS = ("title", "tags", "redirect_status", "forward_query", "fallback_url", "password")
#: What ``update`` may change.
_EDITABLE = ("url", "expires_at", "max_visits", *_OPTIONS)
#: Compare-and-set attempts of one ``update`` racing other edits.
_EDIT_TRIES = 5


def _check_max_visits(max_visits: object) -> None:
    if max_visits is not None and (
        isinstance(max_visits, bool)
        or not isinstance(max_visits, int)
        or not 1 <= max_visits <= _MAX_VISITS
    ):
        raise BadRequest("max_visits must be a whole number of at least 1.")


def _split_base(base_url: str) -> tuple[str, str]:
    """``("sho.rt", "/s")`` from ``https://sho.rt/s``."""
    rest = base_url.split("://", 1)[-1]
    host, _, path = rest.partition("/")
    return host, "/" + path if path else ""
