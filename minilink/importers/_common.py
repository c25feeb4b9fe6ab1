"""What every importer of another shortener's links shares: rows, refusals, the report,
the staging area and the run that stores the links.

Theory of operation
-------------------
An importer *reads* a source (a database, a dump, a CSV file) into ``Row`` values and
per-day click counts, and hands both to ``run``. Nothing a row holds can stop the
import: a row that cannot be read, or that minilink would not store, becomes a
``Refusal`` (where it is, the keyword, why, and the ``MINILINK_*`` setting that would
admit it when one exists) and the import goes on. Only a source that cannot be read
at all (not UTF-8 text, a database that does not answer) stops it, with a
``ValueError`` naming where.

**Staging.** Rows and click counts arrive in the source's order (a dump lists links
by keyword and the click log before them; a CSV file in any order), but the store
orders ``minilink list`` by insertion. So everything is first written to a temporary
SQLite database beside nothing else (``Staging``, in a temporary directory that is
removed afterwards), which keeps memory flat whatever the size of the source, finds
keywords given twice, sums the click log per keyword and day, and reads the links
back oldest first. The store then gets them in batches of a thousand.

**Re-running is safe.** A keyword the store already has with the same URL is counted
as ``unchanged`` and left alone (its hits are not added twice); a keyword the store
has for another URL, or as a deleted link, is refused, naming the URL it has.

**What is kept**: the keyword (as an alias: it keeps working at the same path), the
URL (normalised and checked as a new link's would be), the title (whitespace runs
made one space, cut at 200 characters, with a note), the tags minilink can keep, the
creation time (UTC; a missing or zero time becomes the time of the import, with a
note) and the clicks as hits. Per-day counts come from a click log where the source
has one; the total is the larger of the link's click counter and the log's sum
(YOURLS's counter and log can disagree when the log was pruned, or a plugin counts
differently), with a note when the log has more.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sqlite3
import tempfile
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Callable, Optional, Union

from minilink.core.codes import ALIAS_MAX, RESERVED, is_code
from minilink.core.config import Config
from minilink.core.errors import InvalidURL
from minilink.core.links import Link
from minilink.core.options import MAX_TAGS, MAX_TITLE
from minilink.storage.base import Store

__all__ = ["Refusal", "Report", "Row", "Staging", "checked_text", "run", "stage"]

#: Links stored per ``Store.restore`` call.
_BATCH = 1000
#: Click counts held in memory before they are added to the staging database.
_DAYS_HELD = 200_000


@dataclass(frozen=True)
class Row:
    """One link as a source holds it, before minilink's checks. ``where`` says where
    it was read (``line 12``, ``yourls_url row 3``) for the report; ``created`` is a
    UTC time (naive or aware) or ``None`` when the source has none."""

    where: str
    keyword: str
    url: str
    title: Optional[str] = None
    created: Optional[datetime] = None
    clicks: int = 0
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Refusal:
    """A row that was not imported: where it was, its keyword (may be empty), why,
    and the setting that would admit it (``None`` where no setting does)."""

    where: str
    keyword: str
    reason: str
    setting: Optional[str] = None

    def __str__(self) -> str:
        name = f" (keyword {self.keyword!r})" if self.keyword else ""
        text = f"{self.where}{name}: {self.reason}"
        if self.setting:
            text += f"; {self.setting} would admit it"
        return text


@dataclass(frozen=True)
class Report:
    """What an import did: rows ``read``, links ``stored``, links the store already
    had as they are (``unchanged``), every refused row with its reason, and notes
    about what was changed on the way in (each with how many links it concerns)."""

    read: int = 0
    stored: int = 0
    unchanged: int = 0
    refused: tuple[Refusal, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def skipped(self) -> int:
        """Rows not stored: unchanged and refused ones."""
        return self.read - self.stored


def checked_text(lines: Iterable[str]) -> Iterator[tuple[int, str]]:
    """``lines`` numbered from 1, each checked to be text: ``ValueError`` names the
    first line that is not UTF-8 (bytes kept as surrogates by
    ``errors="surrogateescape"``, as the command line opens files, or a stream whose
    strict decoder fails)."""
    number = 0
    iterator = iter(lines)
    while True:
        try:
            line = next(iterator)
        except StopIteration:
            return
        except UnicodeDecodeError:
            # A strict decoder reads ahead by blocks: the bad byte is here or later.
            raise ValueError(
                f"line {number + 1} or one after it: the file is not UTF-8 text"
            ) from None
        number += 1
        if not line.isascii():
            try:
                line.encode("utf-8")
            except UnicodeEncodeError:
                raise ValueError(
                    f"line {number}: the file is not UTF-8 text (a binary file, or text in "
                    "another encoding?)"
                ) from None
        yield number, line


# -- staging --------------------------------------------------------------------------------

_SCHEMA = (
    "CREATE TABLE links (seq INTEGER PRIMARY KEY, keyword TEXT NOT NULL UNIQUE,"
    " place TEXT NOT NULL, url TEXT NOT NULL, title TEXT, created TEXT, clicks INTEGER"
    " NOT NULL, tags TEXT NOT NULL)",
    "CREATE TABLE summed (keyword TEXT PRIMARY KEY, days TEXT NOT NULL) WITHOUT ROWID",
    "CREATE TABLE days (keyword TEXT NOT NULL, day TEXT NOT NULL, n INTEGER NOT NULL,"
    " PRIMARY KEY (keyword, day)) WITHOUT ROWID",
)
_ADD_DAYS = (
    "INSERT INTO days (keyword, day, n) VALUES (?, ?, ?)"
    " ON CONFLICT (keyword, day) DO UPDATE SET n = n + excluded.n"
)
# Oldest first; links without a time (they get the import's) last, in source order.
_READ = (
    "SELECT l.keyword, l.place, l.url, l.title, l.created, l.clicks, l.tags,"
    " coalesce((SELECT s.days FROM summed s WHERE s.keyword = l.keyword),"
    " (SELECT group_concat(d.day || '=' || d.n) FROM days d WHERE d.keyword = l.keyword))"
    " FROM links l ORDER BY l.created IS NULL, l.created, l.seq"
)
_TAG_SEP = "\x1f"
_Entry = tuple[Link, tuple[tuple[str, int], ...]]


class Staging:
    """A temporary SQLite database holding the rows and click counts of one import
    (see the module docstring). A context manager: leaving it removes the files."""

    def __init__(self) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="minilink-import-")
        self._db = sqlite3.connect(os.path.join(self._dir.name, "staging.db"))
        self._db.execute("PRAGMA journal_mode = OFF")
        self._db.execute("PRAGMA synchronous = OFF")
        for statement in _SCHEMA:
            self._db.execute(statement)
        self._held: Counter[tuple[str, str]] = Counter()
        self.rows = 0

    def add(self, row: Row) -> Optional[Refusal]:
        """Stage ``row``; a ``Refusal`` when its keyword was staged already."""
        created = None
        if row.created is not None:
            moment = row.created
            if moment.tzinfo is not None:
                moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
            created = moment.isoformat(sep=" ", timespec="microseconds")
        try:
            self._db.execute(
                "INSERT INTO links (keyword, place, url, title, created, clicks, tags)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    row.keyword,
                    row.where,
                    row.url,
                    row.title,
                    created,
                    row.clicks,
                    _TAG_SEP.join(row.tags),
                ),
            )
        except sqlite3.IntegrityError:
            (first,) = self._db.execute(
                "SELECT place FROM links WHERE keyword = ?", (row.keyword,)
            ).fetchone()
            return Refusal(row.where, row.keyword, f"the keyword was given before, at {first}")
        except (sqlite3.Error, OverflowError) as exc:  # text SQLite cannot hold (surrogates)
            return Refusal(row.where, row.keyword, f"cannot be read ({exc})")
        self.rows += 1
        return None

    def count(self, keyword: str, day: str, clicks: int = 1) -> None:
        """Add ``clicks`` on ``day`` (``YYYY-MM-DD``) to ``keyword``'s count."""
        self._held[keyword, day] += clicks
        if len(self._held) >= _DAYS_HELD:
            self._flush()

    def summed(self, keyword: str, days: Counter[str]) -> None:
        """All of ``keyword``'s per-day clicks at once (a day to its clicks), in place
        of ``count``: what a database that summed its log per link gives."""
        text = ",".join(f"{day}={n}" for day, n in days.items())
        # A keyword SQLite cannot hold (surrogates) matches no link.
        with contextlib.suppress(sqlite3.Error, OverflowError):
            self._db.execute(
                "INSERT OR REPLACE INTO summed (keyword, days) VALUES (?, ?)", (keyword, text)
            )

    def _flush(self) -> None:
        try:
            self._db.executemany(_ADD_DAYS, ((k, d, n) for (k, d), n in self._held.items()))
        except (sqlite3.Error, OverflowError):
            # A keyword or day SQLite cannot hold matches no link anyway: one by one.
            for (keyword, day), n in self._held.items():
                try:  # noqa: SIM105
                    self._db.execute(_ADD_DAYS, (keyword, day, n))
                except (sqlite3.Error, OverflowError):
                    pass
        self._held.clear()

    def staged(self) -> Iterator[tuple[Row, list[tuple[str, int]]]]:
        """The staged rows, oldest first, each with its per-day click counts."""
        self._flush()
        for keyword, place, url, title, created, clicks, tags, days in self._db.execute(_READ):
            counts = []
            if days:
                for pair in days.split(","):
                    day, _, n = pair.partition("=")
                    if n.isdigit():
                        counts.append((day, int(n)))
            yield (
                Row(
                    where=place,
                    keyword=keyword,
                    url=url,
                    title=title,
                    created=None if created is None else datetime.fromisoformat(created),
                    clicks=clicks,
                    tags=tuple(tags.split(_TAG_SEP)) if tags else (),
                ),
                counts,
            )

    def close(self) -> None:
        self._db.close()
        self._dir.cleanup()

    def __enter__(self) -> Staging:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# -- checks ---------------------------------------------------------------------------------


class _Notes:
    """Notes about what was changed on the way in, counted by kind."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def add(self, text: str) -> None:
        self.counts[text] += 1

    def lines(self) -> tuple[str, ...]:
        return tuple(f"{text} ({n} link{'s' if n != 1 else ''})" for text, n in self.counts.items())


def _refuse_url(row: Row, exc: InvalidURL, config: Config) -> Refusal:
    """The refusal of ``row``'s URL, naming the setting that would admit it."""
    message = exc.message.rstrip(".")
    setting = None
    if "scheme" in message and "not allowed" in message:
        scheme = row.url.partition(":")[0].lower()
        allowed = ",".join((*config.allowed_schemes, scheme))
        setting = f"MINILINK_ALLOWED_SCHEMES={allowed}"
    elif "longer than" in message:
        setting = f"a larger MINILINK_MAX_URL_LENGTH (now {config.max_url_length})"
    elif "not accepted here" in message:
        setting = "taking its host off MINILINK_BLOCKED_HOSTS"
    return Refusal(row.where, row.keyword, f"the URL is refused: {message}", setting)


def _check_keyword(row: Row) -> Optional[Refusal]:
    keyword = row.keyword
    if not keyword:
        return Refusal(row.where, keyword, "the keyword is empty")
    if len(keyword) > ALIAS_MAX:
        return Refusal(row.where, keyword, f"the keyword is longer than {ALIAS_MAX} characters")
    if not is_code(keyword):
        return Refusal(
            row.where,
            keyword,
            "the keyword has characters minilink codes cannot have (they are A-Z, a-z, "
            "0-9, '_' and '-')",
        )
    if keyword.lower() in RESERVED:
        return Refusal(
            row.where,
            keyword,
            f"the keyword is reserved: /{keyword.lower()} is one of minilink's own routes",
        )
    return None


def _title(title: Optional[str], notes: _Notes) -> Optional[str]:
    if title is None:
        return None
    if title.isprintable() and "  " not in title and len(title) <= MAX_TITLE:
        return title.strip() or None  # the usual title, decided in C
    # Control characters (titles read from web pages carry tabs and line breaks)
    # become spaces, and runs of spaces one.
    cleaned = " ".join(
        "".join(
            " " if ord(c) < 32 or 127 <= ord(c) < 160 or 0xD800 <= ord(c) < 0xE000 else c
            for c in title
        ).split()
    )
    if cleaned != title and cleaned.strip() != title.strip():
        notes.add("titles had control characters or runs of spaces, made single spaces")
    if len(cleaned) > MAX_TITLE:
        notes.add(f"titles were longer than {MAX_TITLE} characters and were cut")
        cleaned = cleaned[: MAX_TITLE - 1].rstrip() + "\u2026"
    return cleaned or None


def _tags(tags: tuple[str, ...], notes: _Notes) -> tuple[str, ...]:
    from minilink.core.errors import BadRequest
    from minilink.core.options import check_tag

    kept: dict[str, None] = {}
    for tag in tags:
        try:
            kept[check_tag(tag.strip())] = None
        except BadRequest:
            notes.add("tags minilink cannot keep (it keeps 1 to 32 of a-z, 0-9, _ and -) left off")
    if len(kept) > MAX_TAGS:
        notes.add(f"links had more than {MAX_TAGS} tags; the first {MAX_TAGS} were kept")
    return tuple(kept)[:MAX_TAGS]


def _days(counts: list[tuple[str, int]], notes: _Notes) -> tuple[tuple[str, int], ...]:
    days = []
    for day, n in counts:
        if not _is_day(day):
            notes.add("clicks logged on days that are no dates (e.g. 0000-00-00) left off")
        elif n > 0:
            days.append((day, n))
    return tuple(sorted(days))


@functools.lru_cache(maxsize=100_000)
def _is_day(day: str) -> bool:
    """Whether ``day`` is a ``YYYY-MM-DD`` date (a log has a few thousand days, met
    again and again)."""
    try:
        date.fromisoformat(day)
    except ValueError:
        return False
    return len(day) == 10


def _entry(
    row: Row,
    counts: list[tuple[str, int]],
    config: Config,
    now: datetime,
    notes: _Notes,
) -> Union[_Entry, Refusal]:
    from minilink.core.urls import normalise_url

    refusal = _check_keyword(row)
    if refusal is not None:
        return refusal
    try:
        url = normalise_url(
            row.url,
            allowed_schemes=config.allowed_schemes,
            max_length=config.max_url_length,
            blocked_hosts=config.blocked_hosts,
        )
    except InvalidURL as exc:
        return _refuse_url(row, exc, config)
    created = row.created
    if created is None:
        notes.add("links without a creation time were given the time of the import")
        created = now
    elif created.tzinfo is None:
        created = created.replace(tzinfo=timezone.utc)
    days = _days(counts, notes)
    logged = sum(n for _, n in days)
    hits = row.clicks
    if logged > hits:
        notes.add("links had more clicks in the log than in their counter; the log's are kept")
        hits = logged
    link = Link(
        code=row.keyword,
        url=url,
        created_at=created,
        hits=hits,
        alias=True,
        title=_title(row.title, notes),
        tags=_tags(row.tags, notes),
    )
    return link, days


# -- the run --------------------------------------------------------------------------------


@dataclass
class _Run:
    store: Store
    config: Config
    now: datetime
    progress: Optional[Callable[[int], None]]
    read: int = 0
    stored: int = 0
    unchanged: int = 0
    refused: list[Refusal] = field(default_factory=list)
    notes: _Notes = field(default_factory=_Notes)
    batch: list[tuple[Row, _Entry]] = field(default_factory=list)

    def write(self) -> None:
        """Store the batch. ``restore`` skips the codes the store has already; only
        when it skipped some are the batch's codes read back, to tell a link already
        there as it is (unchanged) from a code taken by another URL (refused)."""
        if not self.batch:
            return
        stored = self.store.restore([entry for _, entry in self.batch])
        self.stored += stored
        if stored < len(self.batch):
            refused = 0
            for row, (link, _) in self.batch:
                there = self.store.get(link.code)
                if there is None or (there.url == link.url and there.deleted_at is None):
                    continue
                refused += 1
                what = "a deleted link" if there.deleted_at is not None else "a link"
                self.refused.append(
                    Refusal(
                        row.where,
                        row.keyword,
                        f"this store has {what} with that code already, to {there.url}",
                    )
                )
            self.unchanged += len(self.batch) - stored - refused
        self.batch = []


def stage(items: Iterable[Union[Row, Refusal]], staging: Staging) -> list[Refusal]:
    """Put a reader's rows into ``staging``; return the refusals (the reader's and
    those of keywords given twice)."""
    refused = []
    for item in items:
        if isinstance(item, Refusal):
            refused.append(item)
        else:
            refusal = staging.add(item)
            if refusal is not None:
                refused.append(refusal)
    return refused


def run(
    store: Store,
    staging: Staging,
    read_refusals: Iterable[Refusal] = (),
    *,
    config: Optional[Config] = None,
    now: Optional[datetime] = None,
    progress: Optional[Callable[[int], None]] = None,
) -> Report:
    """Store the links ``staging`` holds into ``store`` (see the module docstring);
    ``read_refusals`` are the rows the reader refused already. ``progress`` is called
    with the number of links handled so far, every thousand and at the end."""
    state = _Run(
        store,
        config if config is not None else Config(),
        (now or datetime.now(timezone.utc)).replace(microsecond=0),
        progress,
    )
    state.refused.extend(read_refusals)
    refused_reading = len(state.refused)
    for row, counts in staging.staged():
        state.read += 1
        if progress is not None and state.read % _BATCH == 0:
            progress(state.read)
        result = _entry(row, counts, state.config, state.now, state.notes)
        if isinstance(result, Refusal):
            state.refused.append(result)
            continue
        link, days = result
        state.batch.append((row, (link, days)))
        if len(state.batch) >= _BATCH:
            state.write()
    state.write()
    if progress is not None:
        progress(state.read)
    return Report(
        read=state.read + refused_reading,
        stored=state.stored,
        unchanged=state.unchanged,
        refused=tuple(sorted(state.refused, key=_order)),
        notes=state.notes.lines(),
    )


def _order(refusal: Refusal) -> tuple[str, int, str]:
    """Refusals in the order of the source: by the kind of place, then its number."""
    kind, _, number = refusal.where.rpartition(" ")
    return (kind, int(number) if number.isdigit() else 0, refusal.where)
