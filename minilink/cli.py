"""The ``minilink`` command line (also ``python -m minilink``).

Theory of operation
-------------------
Every command builds its configuration the one way the adapters do,
``Config.from_env(os.environ)``, with ``--store`` (accepted before or after the
command name) taking the place of ``MINILINK_STORE``. The link commands open the
store, call one ``Shortener`` method and close the store again; ``serve`` hands the
configuration to an adapter and a server.

Output is meant for scripts: values only, one record per line, fields separated by
one tab, no headers, nothing decorative (the formats are in ``_EPILOG``, shown by
``--help``). ``show`` and ``edit`` print a link as ``FIELD<TAB>VALUE`` lines, by the
JSON API's field names. ``edit`` changes only the fields it is given options for
(``--title T`` sets, ``--no-title`` clears, and so on) through ``Shortener.update``.
A link's password is never an argument, which every user of the machine could read
in ``ps``: ``--password`` asks for it on the terminal or reads stdin's first line.

Errors and the request log go to stderr; ``serve`` prints one
"serving on URL" line to stdout, so that a wrapper can read the port ``--port 0`` got.

``serve`` runs the WSGI adapter under a threaded ``wsgiref`` server by default, or an
installed production server chosen by name and imported only then: the adapters of
``minilink.servers`` (waitress, gunicorn, uvicorn, hypercorn; ``GUNICORN_CMD_ARGS`` is
honoured, e.g. ``--workers 4``). Ctrl-C and SIGTERM stop it cleanly: requests in
flight finish and the app closes its store, so batched hits are written.

Exit statuses:

* 0: done;
* 1: the command failed for a reason in the request: an unknown or deleted code, a
  refused URL, alias or option, a taken alias, an ``edit --if-revision`` the link has
  moved past, a store that could not answer;
* 2: the command line or the configuration is wrong: a bad option, a bad
  ``MINILINK_*`` value, a store that cannot be opened, a server not installed;
* 130: interrupted with Ctrl-C (``serve`` stops cleanly on Ctrl-C and SIGTERM and
  exits 0).

An error is one sentence on stderr, prefixed ``minilink: error:``; never a traceback
(``--traceback`` shows one for an error minilink did not expect, to report a bug).

Imports stay inside the functions that need them, so ``minilink --help`` does not pay
for the store, the adapters or a server it does not use.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, Callable, NoReturn, Optional

if TYPE_CHECKING:
    from contextlib import AbstractContextManager
    from datetime import datetime

    from minilink.core.config import Config
    from minilink.core.links import Link
    from minilink.core.service import Shortener
    from minilink.storage.base import Store

__all__ = ["main"]

_EPILOG = """\
output (one record per line, tab-separated, no header):
  shorten   line 1: the short URL when MINILINK_BASE_URL is set, else the code;
            line 2: the normalised target URL
  resolve   the target URL (no visit is counted)
  show      "FIELD<TAB>VALUE" per field of the link (code, url, state, title, tags,
            ..., revision), an empty VALUE for none; times in RFC 3339 UTC
  edit      the link as edited, as show prints it
  stats     line 1: "total<TAB>HITS"; then "YYYY-MM-DD<TAB>HITS" per day, oldest first
  list      "CODE<TAB>URL<TAB>CREATED<TAB>HITS<TAB>STATE<TAB>TAGS<TAB>TITLE", newest
            first (see --sort), CREATED in RFC 3339 UTC, STATE live, expired or
            deleted, TAGS comma-separated; the next page is --after the last CODE
  tags      "TAG<TAB>LINKS" per tag, by name (deleted links not counted)
  delete    nothing
  cgi-script  a Python script; relative --store and --package-dir paths are made absolute
  export    JSON lines: a header line, then one object per link, oldest first
  import    "imported<TAB>N" then "skipped<TAB>N" (codes already taken; for YOURLS
            and Shlink: already there with the same URL) and, for those,
            "refused<TAB>N"; each refused row and each note goes to stderr
  serve     stdout: "minilink: serving on URL (SERVER, store STORE); ..."; the request
            log goes to stderr (-q turns it off)

passwords: --password reads the link's password from the terminal (asked twice) or,
when stdin is not a terminal, from the first line of stdin; never from the command
line, where other users could see it (ps).

exit status: 0 done; 1 the command failed (unknown or deleted code, refused URL or
alias, ...); 2 bad usage or configuration (options, MINILINK_* values, a store that
cannot be opened, a server not installed); 130 interrupted.

configuration comes from the MINILINK_* environment variables (MINILINK_STORE,
MINILINK_BASE_URL, ...); --store overrides MINILINK_STORE.
"""


class _Failure(Exception):
    """An error already phrased for the user, with the exit status it means."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``); return the exit status."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, or a usage error argparse already printed
        return exc.code if isinstance(exc.code, int) else 2
    if args.command is None:
        parser.print_usage(sys.stderr)
        _error("choose a command, e.g. 'minilink shorten URL' (see 'minilink --help').")
        return 2
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader of our output went away (``minilink list | head -1``): not an error
        # to report, but stdout must not be flushed again at exit.
        _discard_stdout()
        return 1
    except _Failure as exc:
        _error(exc.message)
        return exc.status
    except Exception as exc:
        from minilink.core.errors import MinilinkError

        if isinstance(exc, MinilinkError):
            _error(_sentence(exc.message))
            return 1
        if isinstance(exc, OSError):
            _error(_describe_os_error(exc))
            return 1
        if args.traceback:
            raise
        _error(
            f"unexpected {type(exc).__name__}: {exc} "
            "(run again with --traceback and report it, please)."
        )
        return 1


# -- the parser -----------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="minilink",
        description="A self-hostable link shortener: serve it, or manage its links.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--store", metavar="URL", default=None, help=_STORE_HELP)
    parser.add_argument(
        "--traceback", action="store_true", help="show the traceback of an unexpected error"
    )
    parser.set_defaults(command=None)
    # The same option on every command; SUPPRESS keeps a value given before the
    # command name from being reset by the command's own default.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--store", metavar="URL", default=argparse.SUPPRESS, help=_STORE_HELP)
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    def command(name: str, handler: Callable[[argparse.Namespace], int], text: str) -> Any:
        sub = commands.add_parser(name, parents=[common], help=text, description=text)
        sub.set_defaults(command=name, handler=handler)
        return sub

    from minilink.servers import AUTO_ORDER, SERVERS  # a small module, no server in it

    serve = command("serve", _cmd_serve, "run the web app")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on [127.0.0.1]")
    serve.add_argument(
        "--port", type=_port, default=8000, help="port to listen on, 0 for any free one [8000]"
    )
    serve.add_argument(
        "--server",
        choices=("auto", *SERVERS),
        default="wsgiref",
        help="wsgiref (the default: threaded, standard library only), or an installed "
        "production server; auto picks the first installed of " + ", ".join(AUTO_ORDER),
    )
    serve.add_argument("-q", "--quiet", action="store_true", help="do not log one line per request")

    shorten = command(
        "shorten",
        _cmd_shorten,
        "shorten URL; prints the short URL (or the code without MINILINK_BASE_URL), "
        "then the normalised target",
    )
    shorten.add_argument("url", metavar="URL")
    shorten.add_argument("--alias", help="the code to use instead of a generated one")
    expiry = shorten.add_mutually_exclusive_group()
    expiry.add_argument(
        "--expires-in", metavar="SECONDS", type=_positive_float, help="expire after SECONDS"
    )
    expiry.add_argument(
        "--expires-at",
        metavar="TIME",
        type=_aware_datetime,
        help="expire at an ISO 8601 time with a zone, e.g. 2030-01-31T12:00:00Z",
    )
    shorten.add_argument(
        "--max-visits", metavar="N", type=_positive_int, help="answer 410 after N visits"
    )
    _link_options(shorten)

    resolve = command("resolve", _cmd_resolve, "print the target URL of CODE (counts no visit)")
    resolve.add_argument("code", metavar="CODE")

    show = command(
        "show", _cmd_show, "print every field of the link CODE (expired and deleted too)"
    )
    show.add_argument("code", metavar="CODE")

    edit = command(
        "edit",
        _cmd_edit,
        "change the link CODE (only the fields named); prints the link as edited",
    )
    edit.add_argument("code", metavar="CODE")
    edit.add_argument("--url", metavar="URL", help="the new target URL")
    expiry = edit.add_mutually_exclusive_group()
    expiry.add_argument(
        "--expires-at",
        metavar="TIME",
        type=_aware_datetime,
        help="expire at an ISO 8601 time with a zone (a past one expires it now)",
    )
    expiry.add_argument(
        "--expires-in", metavar="SECONDS", type=_positive_float, help="expire SECONDS from now"
    )
    expiry.add_argument("--no-expiry", action="store_true", help="never expire")
    visits = edit.add_mutually_exclusive_group()
    visits.add_argument(
        "--max-visits", metavar="N", type=_positive_int, help="answer 410 after N visits"
    )
    visits.add_argument("--no-max-visits", action="store_true", help="no visit limit")
    _link_options(edit, clearing=True)
    edit.add_argument(
        "--if-revision",
        metavar="N",
        type=_between(0, 2**63 - 1),
        help="edit only if the link is still at revision N (as show printed it), so that "
        "an edit made meanwhile by someone else is not overwritten",
    )

    stats = command("stats", _cmd_stats, "print the total and per-day visits of CODE")
    stats.add_argument("code", metavar="CODE")
    stats.add_argument(
        "--days", metavar="N", type=_between(1, 366), default=30, help="days to show, 1-366 [30]"
    )

    from minilink.core.links import SORTS, STATES

    listing = command(
        "list", _cmd_list, "list or search links: live ones, newest first, unless told otherwise"
    )
    listing.add_argument(
        "--search",
        metavar="TEXT",
        help="only links whose code, URL or title contains TEXT (ignoring case)",
    )
    listing.add_argument("--tag", metavar="TAG", type=_tag, help="only links tagged TAG")
    listing.add_argument(
        "--state",
        choices=STATES,
        default="live",
        help="live links, expired ones (past their expiry or visit limit), deleted ones, "
        "or all [live]",
    )
    listing.add_argument(
        "--sort",
        choices=SORTS,
        default="created",
        help="newest first, most visited first, or last edited first [created]",
    )
    listing.add_argument(
        "--limit", metavar="N", type=_between(1, 1000), default=100, help="at most N, 1-1000 [100]"
    )
    listing.add_argument("--after", metavar="CODE", help="continue after this code")

    command("tags", _cmd_tags, "print every tag with its number of links")

    delete = command(
        "delete", _cmd_delete, "delete CODE: it answers 410 from now on and is never reused"
    )
    delete.add_argument("code", metavar="CODE")

    cgi_script = command(
        "cgi-script",
        _cmd_cgi_script,
        "print a drop-in CGI script (save it as minilink.cgi on the web host)",
    )
    cgi_script.add_argument(
        "--python",
        metavar="PATH",
        default="/usr/bin/python3",
        help="the host's Python, for the #! line [/usr/bin/python3]",
    )
    cgi_script.add_argument(
        "--kind",
        choices=sorted(_DROP_INS),
        default="cgi",
        help="what the host runs: cgi (minilink.cgi), fastcgi (minilink.fcgi: mod_fcgid, "
        "or CGI where it is missing) or passenger (passenger_wsgi.py) [cgi]",
    )
    cgi_script.add_argument(
        "--package-dir",
        metavar="DIR",
        help="the folder holding the minilink package folder on the host, put on sys.path "
        "[where this minilink is]",
    )

    exporting = command(
        "export",
        _cmd_export,
        "write every link as JSON lines (tombstones, hits and per-day counts included)",
    )
    exporting.add_argument(
        "-o", "--output", metavar="FILE", help="write to FILE (replaced when done) [stdout]"
    )
    importing = command(
        "import",
        _cmd_import,
        "read links from FILE (- for stdin) or a YOURLS database (mysql://user:pass@host/db"
        "[?prefix=yourls_]); codes already taken are skipped",
    )
    importing.add_argument("file", metavar="FILE")
    importing.add_argument(
        "--format",
        choices=("auto", "jsonl", "yourls", "yourls-sql", "shlink"),
        default="auto",
        help="jsonl (minilink export), yourls (CSV or tab-separated yourls_url), yourls-sql "
        "(mysqldump of YOURLS), shlink (its CSV export); auto: from the first line [auto]",
    )
    importing.add_argument(
        "--prefix",
        default="yourls_",
        help="the table prefix of a YOURLS dump [yourls_]",
    )
    return parser


_STORE_HELP = "store URL or SQLite path [$MINILINK_STORE, else minilink.db]"


def _link_options(sub: argparse.ArgumentParser, *, clearing: bool = False) -> None:
    """The link options of ``shorten``, and with ``clearing`` (``edit``) the ``--no-...``
    option that clears each of them."""
    from minilink.core.options import REDIRECT_STATUSES

    def pair(*options: tuple[tuple[str, ...], dict[str, Any]]) -> None:
        group = sub.add_mutually_exclusive_group() if clearing else sub
        for names, settings in options if clearing else options[:1]:
            group.add_argument(*names, **settings)

    pair(
        (("--title",), {"metavar": "TEXT", "type": _title, "help": "a title for people"}),
        (("--no-title",), {"action": "store_true", "help": "remove the title"}),
    )
    pair(
        (
            ("--tag",),
            {
                "metavar": "TAG",
                "type": _tag,
                "action": "append",
                "dest": "tags",
                "help": "a tag (a-z, 0-9, _ and -); repeat for more, up to 10"
                + ("; replaces the link's tags" if clearing else ""),
            },
        ),
        (("--no-tags",), {"action": "store_true", "help": "remove every tag"}),
    )
    pair(
        (
            ("--redirect-status",),
            {
                "type": int,
                "choices": REDIRECT_STATUSES,
                "help": "the redirect's status for this link [$MINILINK_REDIRECT_STATUS]",
            },
        ),
        (
            ("--default-status",),
            {"action": "store_true", "help": "redirect with MINILINK_REDIRECT_STATUS again"},
        ),
    )
    pair(
        (
            ("--forward-query",),
            {
                "action": "store_true",
                "default": None,
                "help": "add the query of a visit (/CODE?x=1) to the target's",
            },
        ),
        (
            ("--no-forward-query",),
            {
                "action": "store_false",
                "dest": "forward_query",
                "default": None,
                "help": "stop adding it",
            },
        ),
    )
    pair(
        (
            ("--fallback-url",),
            {
                "metavar": "URL",
                "help": "where the link sends visitors once expired or used up, instead of 410",
            },
        ),
        (("--no-fallback",), {"action": "store_true", "help": "answer 410 again then"}),
    )
    pair(
        (
            ("--password",),
            {
                "action": "store_true",
                "help": "ask visitors for a password, read from the terminal or stdin "
                "(never given here)",
            },
        ),
        (("--no-password",), {"action": "store_true", "help": "remove the password"}),
    )


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number from 0 to 65535")
    return port


def _positive_int(text: str) -> int:
    return _whole_number(text, 1, None)


def _between(low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        return _whole_number(text, low, high)

    return parse


def _whole_number(text: str, low: int, high: Optional[int]) -> int:
    try:
        value = int(text)
    except ValueError:
        value = low - 1
    if value < low or (high is not None and value > high):
        span = f"from {low} to {high}" if high is not None else f"of at least {low}"
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number {span}")
    return value


def _positive_float(text: str) -> float:
    import math

    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds above 0")
    return value


def _tag(text: str) -> str:
    from minilink.core.errors import BadRequest
    from minilink.core.options import check_tag

    try:
        return check_tag(text)
    except BadRequest as exc:
        raise argparse.ArgumentTypeError(f"{text!r}: {exc.message}") from None


def _title(text: str) -> str:
    from minilink.core.errors import BadRequest
    from minilink.core.options import check_title

    try:
        title = check_title(text)
    except BadRequest as exc:
        raise argparse.ArgumentTypeError(exc.message) from None
    if title is None:
        raise argparse.ArgumentTypeError("the title is empty (--no-title removes one)")
    return title


def _aware_datetime(text: str) -> datetime:
    from minilink.core.times import parse_time

    try:
        return parse_time(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


# -- the link commands -------------------------------------------------------------------


def _cmd_shorten(args: argparse.Namespace) -> int:
    options = _options(args)
    with _shortener(args) as sl:
        _check_fallback(sl, args)
        with _option_names():
            link = sl.shorten(
                args.url,
                alias=args.alias,
                expires_in=args.expires_in,
                expires_at=args.expires_at,
                max_visits=args.max_visits,
                **options,
            )
        base = sl.config.base_url
    _out(f"{base}/{link.code}" if base else link.code)
    _out(link.url)
    return 0


def _options(args: argparse.Namespace) -> dict[str, Any]:
    """The link options given to ``shorten`` or ``edit``, by ``Shortener``'s names:
    a value set, or ``None`` for a ``--no-...`` option that clears one. The password
    is read here (see ``_read_password``), before the store is opened."""
    options: dict[str, Any] = {}
    given = vars(args)
    for name, clear in (
        ("title", "no_title"),
        ("tags", "no_tags"),
        ("redirect_status", "default_status"),
        ("fallback_url", "no_fallback"),
    ):
        if given.get(name) is not None:
            options[name] = given[name]
        elif given.get(clear):
            options[name] = None
    if args.forward_query is not None:
        options["forward_query"] = args.forward_query
    if args.password:
        options["password"] = _read_password()
    elif given.get("no_password"):
        options["password"] = None
    return options


def _read_password() -> str:
    """The password for ``--password``: asked twice on the terminal, or else the first
    line of stdin (without its line break). Never a command-line argument: those are
    visible to every user of the machine (``ps``)."""
    if sys.stdin is not None and sys.stdin.isatty():
        import getpass

        password = getpass.getpass("Password for the link: ")
        if getpass.getpass("The same password again: ") != password:
            raise _Failure("the two passwords differ; nothing was changed.", 1)
    else:
        raw: Any = sys.stdin.buffer if hasattr(sys.stdin, "buffer") else sys.stdin
        line = raw.readline() if sys.stdin is not None else ""
        if isinstance(line, bytes):
            try:
                line = line.decode("utf-8")
            except UnicodeDecodeError:
                raise _Failure("the password on stdin is not UTF-8 text.", 1) from None
        password = line[:-1] if line.endswith("\n") else line
        password = password[:-1] if password.endswith("\r") else password
    if not password:
        raise _Failure(
            "--password found no password: type it when asked, or give it on the first "
            "line of stdin (echo ... | minilink ...).",
            1,
        )
    return password


def _check_fallback(sl: Shortener, args: argparse.Namespace) -> None:
    """Refuse a bad ``--fallback-url`` naming the option: the core's message would
    say only "the URL", and a command may name two."""
    from minilink.core.errors import InvalidURL
    from minilink.core.urls import normalise_url

    if getattr(args, "fallback_url", None) is None:
        return
    config = sl.config
    try:
        normalise_url(
            args.fallback_url,
            allowed_schemes=config.allowed_schemes,
            max_length=config.max_url_length,
            blocked_hosts=config.blocked_hosts,
        )
    except InvalidURL as exc:
        raise _Failure(_sentence(f"--fallback-url: {exc.message}"), 1) from None


def _option_names() -> AbstractContextManager[None]:
    """Within it, the core's refusals name the options given, not the API's fields."""
    import re
    from contextlib import contextmanager

    from minilink.core.errors import BadRequest

    @contextmanager
    def renamed() -> Iterator[None]:
        try:
            yield
        except BadRequest as exc:
            message = re.sub(
                r"\b(expires_at|expires_in|max_visits|redirect_status|forward_query"
                r"|fallback_url)\b",
                lambda m: "--" + m.group(1).replace("_", "-"),
                exc.message,
            )
            raise _Failure(_sentence(message), 1) from None

    return renamed()


def _cmd_resolve(args: argparse.Namespace) -> int:
    with _shortener(args, readonly=True) as sl:
        link = sl.resolve(args.code)
    _out(link.url)
    return 0


def _cmd_stats(args: argparse.Namespace) -> int:
    with _shortener(args, readonly=True) as sl:
        stats = sl.stats(args.code, days=args.days)
    _out(f"total\t{stats.hits}")
    for day, hits in stats.daily:
        _out(f"{day}\t{hits}")
    return 0


def _cmd_show(args: argparse.Namespace) -> int:
    from minilink.core.codes import is_code

    with _shortener(args, readonly=True) as sl:
        # Not resolve(): an expired or deleted link is shown too, with its state.
        link = sl.store.get(args.code) if is_code(args.code) else None
        if link is None:
            raise _Failure(f"no link has the code {args.code!r}.", 1)
        _print_link(link, sl)
    return 0


def _cmd_edit(args: argparse.Namespace) -> int:
    from datetime import timedelta

    changes = _options(args)
    if args.url is not None:
        changes["url"] = args.url
    if args.max_visits is not None:
        changes["max_visits"] = args.max_visits
    elif args.no_max_visits:
        changes["max_visits"] = None
    if args.expires_at is not None:
        changes["expires_at"] = args.expires_at
    elif args.no_expiry:
        changes["expires_at"] = None
    if not changes and args.expires_in is None:
        raise _Failure(
            "nothing to change: name at least one field, e.g. --url or --title "
            "(see 'minilink edit --help').",
            2,
        )
    with _shortener(args) as sl:
        _check_fallback(sl, args)
        if args.expires_in is not None:
            # From the whole second, as shorten --expires-in counts.
            now = sl.clock().replace(microsecond=0)
            changes["expires_at"] = now + timedelta(seconds=args.expires_in)
        with _option_names():
            link = sl.update(args.code, revision=args.if_revision, **changes)
        _print_link(link, sl)
    return 0


def _print_link(link: Link, sl: Shortener) -> None:
    """``show``'s output: one ``FIELD<TAB>VALUE`` line per field, by the JSON API's
    names, an empty value for none. The password hash is never printed."""
    from minilink.core.times import format_optional, format_time

    base = sl.config.base_url
    fields: list[tuple[str, object]] = [
        ("code", link.code),
        ("short_url", f"{base}/{link.code}" if base else None),
        ("url", link.url),
        ("state", _state(link, sl.clock())),
        ("title", link.title),
        ("tags", ",".join(link.tags)),
        ("created_at", format_time(link.created_at)),
        ("updated_at", format_optional(link.updated_at)),
        ("deleted_at", format_optional(link.deleted_at)),
        ("expires_at", format_optional(link.expires_at)),
        ("max_visits", link.max_visits),
        ("hits", link.hits),
        ("alias", "true" if link.alias else "false"),
        ("redirect_status", link.redirect_status),
        ("forward_query", "true" if link.forward_query else "false"),
        ("fallback_url", link.fallback_url),
        ("password_protected", "true" if link.protected else "false"),
        ("revision", link.revision),
    ]
    for name, value in fields:
        _out(f"{name}\t{'' if value is None else value}")


def _state(link: Link, now: datetime) -> str:
    if link.deleted_at is not None:
        return "deleted"
    return "expired" if link.is_expired(now) else "live"


def _cmd_list(args: argparse.Namespace) -> int:
    from minilink.core.times import format_time

    with _shortener(args, readonly=True) as sl:
        now = sl.clock()
        links = sl.search(
            args.search,
            tag=args.tag,
            state=args.state,
            sort=args.sort,
            limit=args.limit,
            after=args.after,
        )
        if not links and args.after is not None:
            # The store's answer to a cursor it does not know is an empty page; a
            # person who typed the code wants to know why.
            _check_cursor(sl, args, now)
    for link in links:
        _out(
            f"{link.code}\t{link.url}\t{format_time(link.created_at)}\t{link.hits}\t"
            f"{_state(link, now)}\t{','.join(link.tags)}\t{link.title or ''}"
        )
    return 0


def _check_cursor(sl: Shortener, args: argparse.Namespace, now: datetime) -> None:
    """Fail when ``--after`` names no link, or one this listing does not hold (the
    page after the last link listed is simply empty)."""
    from minilink.core.codes import is_code
    from minilink.core.links import Search

    after: str = args.after
    link = sl.store.get(after) if is_code(after) else None
    if link is None:
        raise _Failure(f"there is no link with the code {after!r} to list after.", 1)
    search = Search(now=now, text=args.search or None, tag=args.tag, state=args.state)
    if not search.matches(link):
        state = _state(link, now)
        why = "does not match" if args.state in ("all", state) else f"is {state}"
        raise _Failure(
            f"the link {after!r} is not in this listing (it {why}), so there is no page after it.",
            1,
        )


def _cmd_tags(args: argparse.Namespace) -> int:
    with _shortener(args, readonly=True) as sl:
        tags = sl.tags()
    for tag, count in tags:
        _out(f"{tag}\t{count}")
    return 0


def _cmd_delete(args: argparse.Namespace) -> int:
    with _shortener(args) as sl:
        sl.delete(args.code)
    return 0


_CGI_SCRIPT = """\
#!{python} -IS
# minilink as a CGI script, made by "minilink cgi-script". -IS: isolated mode, no site
# module: a faster start, untouched by the host's PYTHON* variables (one argument, as
# Linux passes the rest of a #! line as one). Settings in the server's environment
# (SetEnv MINILINK_...) win over the store named here.
import os
import sys

os.environ.setdefault("MINILINK_STORE", {store!r})
sys.path.insert(0, {package_dir!r})

from minilink.adapters.cgi import run  # noqa: E402

run()  # answers, commits, flushes, and ends the process without a slow teardown
"""


_FCGI_SCRIPT = """\
#!{python} -IS
# minilink for FastCGI (Apache mod_fcgid: "AddHandler fcgid-script .fcgi") or CGI, made by
# "minilink cgi-script --kind fastcgi"; save it as minilink.fcgi. Under mod_fcgid it stays
# in memory and writes its batched hits when stopped; needs flup next to the minilink
# folder (pip install --target DIR flup, then copy DIR/flup). mod_fcgid passes SetEnv
# values per request, not to the process: settings go here.
import os
import sys

os.environ.setdefault("MINILINK_STORE", {store!r})
sys.path.insert(0, {package_dir!r})

from minilink.adapters.fastcgi import run  # noqa: E402

run()  # FastCGI until the server stops the process; one request under CGI
"""

_PASSENGER_WSGI = """\
# minilink for Phusion Passenger (cPanel "Setup Python App"), made by "minilink cgi-script
# --kind passenger"; save it as passenger_wsgi.py in the application root. Passenger
# starts Python without Apache's SetEnv values: settings go here.
import os
import sys

os.environ.setdefault("MINILINK_STORE", {store!r})
sys.path.insert(0, {package_dir!r})

from minilink.adapters.wsgi import application  # noqa: E402, F401
"""

#: ``cgi-script --kind``: the template of each drop-in file.
_DROP_INS = {"cgi": _CGI_SCRIPT, "fastcgi": _FCGI_SCRIPT, "passenger": _PASSENGER_WSGI}


def _cmd_cgi_script(args: argparse.Namespace) -> int:
    import re

    python: str = args.python
    if not os.path.isabs(python) or any(c.isspace() for c in python):
        raise _Failure(
            f"--python must be an absolute path without spaces, not {python!r}: "
            "it goes on the script's #! line.",
            2,
        )
    store = _config(args).store
    from minilink.storage import find_backend

    try:
        find_backend(store)  # a scheme no backend reads; the store itself is on the host
    except ValueError as exc:
        raise _Failure(_sentence(str(exc)), 2) from None
    if not re.match(r"[A-Za-z][A-Za-z0-9+.-]+:", store):  # a bare path, not a URL
        store = os.path.abspath(store)
    package_dir = args.package_dir
    if package_dir is None:
        import minilink

        package_dir = os.path.dirname(os.path.dirname(os.path.abspath(minilink.__file__)))
    script = _DROP_INS[args.kind].format(
        python=python, store=store, package_dir=os.path.abspath(package_dir)
    )
    sys.stdout.write(script)
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    import tempfile

    from minilink.transfer import Progress, export_jsonl

    progress = Progress("exported") if sys.stderr.isatty() else None
    store = _open_store(_config(args).store, readonly=True)
    try:
        if args.output in (None, "-"):
            export_jsonl(store, sys.stdout, progress=progress)
            sys.stdout.flush()
        else:
            # Into a temporary file beside FILE, renamed when complete: a FILE that
            # exists is always a whole export.
            output: str = args.output
            folder = os.path.dirname(os.path.abspath(output))
            try:
                fd, part = tempfile.mkstemp(prefix=".minilink-export-", dir=folder)
            except OSError as exc:
                raise _Failure(_cannot_write(output, folder, exc), 1) from None
            try:
                with open(fd, "w", encoding="utf-8", newline="\n") as out:
                    try:
                        export_jsonl(store, out, progress=progress)
                        out.flush()
                    except OSError as exc:  # disk full: the user knows FILE, not ours
                        raise _Failure(_cannot_write(output, folder, exc), 1) from None
                try:
                    os.replace(part, output)
                except OSError as exc:
                    raise _Failure(_cannot_write(output, folder, exc), 1) from None
            except BaseException:
                os.unlink(part)
                raise
    finally:
        store.close()
        if progress is not None:
            progress.finish()
    return 0


def _cannot_write(output: str, folder: str, exc: OSError) -> str:
    """Why the export to ``output`` failed, naming ``output`` (not the temporary file
    beside it that the error is about)."""
    import errno

    if exc.errno == errno.ENOENT and not os.path.isdir(folder):
        reason = f"the directory {folder!r} does not exist"
    elif os.path.isdir(output):
        reason = "it is a directory"
    elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        reason = f"permission denied: this user may not create files in {folder!r}"
    else:
        reason = exc.strerror or str(exc)
    return _sentence(f"cannot write the export to {output!r}: {reason}")


def _cmd_import(args: argparse.Namespace) -> int:
    from contextlib import nullcontext

    from minilink.transfer import Progress, import_links

    config = _config(args)
    if args.file.startswith(("mysql://", "mariadb://")):
        return _import_database(args, config)
    stdin = args.file == "-"
    source: Any = nullcontext(sys.stdin)
    # utf-8-sig: spreadsheet programs start their CSV files with a byte-order mark.
    # surrogateescape: bytes that are not UTF-8 reach the reader, which names their
    # line (a strict decoder fails a whole block ahead, at no line in particular).
    text = {"encoding": "utf-8-sig", "errors": "surrogateescape", "newline": ""}
    if not stdin:
        source = open(args.file, **text)  # type: ignore[call-overload]  # noqa: SIM115 - with below
    elif hasattr(sys.stdin, "buffer"):
        import io

        source = nullcontext(io.TextIOWrapper(sys.stdin.buffer, **text))  # type: ignore[arg-type]
    with source as lines:
        progress = None
        if sys.stderr.isatty():
            size = 0 if stdin else os.fstat(lines.fileno()).st_size
            progress = Progress(
                "imported", fraction=lambda: lines.buffer.tell() / size if size else None
            )
        fmt = args.format
        if fmt == "auto":
            lines, fmt = _detect_format(args.file, lines)
        store = _open_store(config.store)
        try:
            if fmt in ("yourls", "yourls-sql", "shlink"):
                from minilink.importers import import_file

                report = import_file(
                    store, lines, format=fmt, config=config, progress=progress, prefix=args.prefix
                )
            else:
                result = import_links(store, lines, format=fmt, config=config, progress=progress)
        except ValueError as exc:
            raise _Failure(_sentence(f"{args.file}: {exc}"), 1) from None
        finally:
            store.close()
            if progress is not None:
                progress.finish()
    if fmt in ("yourls", "yourls-sql", "shlink"):
        return _print_report(report)
    _out(f"imported\t{result.stored}")
    _out(f"skipped\t{result.skipped}")
    return 0


def _detect_format(name: str, lines: Any) -> tuple[Any, str]:
    """The format ``lines`` are in, from their first line that is not blank, and the
    lines again from the start (the first ones read are given back)."""
    import itertools

    from minilink.importers import detect

    head: list[str] = []
    for line in lines:
        head.append(line)
        if line.strip():
            break
    if not head or not head[-1].strip():
        return head, "jsonl"  # nothing to import
    try:
        found = detect(head[-1])
    except UnicodeError:
        found = None
    if found is None:
        raise _Failure(
            _sentence(
                f"{name}: cannot tell its format from its first line; give --format (a "
                "YOURLS table exported without a header row is --format yourls)"
            ),
            2,
        )
    return itertools.chain(head, lines), found


def _import_database(args: argparse.Namespace, config: Config) -> int:
    from minilink.importers import import_database

    progress = None
    if sys.stderr.isatty():
        from minilink.transfer import Progress

        progress = Progress("imported")
    store = _open_store(config.store)
    try:
        report = import_database(store, args.file, config=config, progress=progress)
    except ValueError as exc:
        raise _Failure(_sentence(f"{_redact(args.file)}: {exc}"), 1) from None
    finally:
        store.close()
        if progress is not None:
            progress.finish()
    return _print_report(report)


def _print_report(report: Any) -> int:
    """A YOURLS or Shlink import's summary: the counts on stdout, every refused row
    and every note on stderr."""
    _out(f"imported\t{report.stored}")
    _out(f"skipped\t{report.unchanged}")
    _out(f"refused\t{len(report.refused)}")
    for refusal in report.refused:
        sys.stderr.write(f"minilink: refused: {refusal}\n")
    for note in report.notes:
        sys.stderr.write(f"minilink: note: {note}\n")
    return 0


def _shortener(
    args: argparse.Namespace, *, readonly: bool = False
) -> AbstractContextManager[Shortener]:
    from contextlib import contextmanager

    @contextmanager
    def opened() -> Iterator[Shortener]:
        from minilink.core.service import Shortener

        config = _config(args)
        store = _open_store(config.store, readonly=readonly)
        try:
            yield Shortener(store, config)
        finally:
            store.close()

    return opened()


def _config(args: argparse.Namespace) -> Config:
    """``Config.from_env`` with ``--store`` in place of ``MINILINK_STORE``."""
    from minilink.core.config import Config

    try:
        config = Config.from_env(os.environ)
        if args.store is not None:
            config = config.replace(store=args.store)
    except ValueError as exc:
        raise _Failure(_sentence(str(exc)), 2) from None
    return config


def _open_store(url: str, *, readonly: bool = False) -> Store:
    """``open_store(url)``, checked with ``ping()``: a store that cannot be opened is
    one sentence and exit status 2, before the command does anything. ``readonly`` for
    the commands that only read: they then need no write access to the store."""
    from minilink.core.errors import MinilinkError
    from minilink.storage import open_store

    try:
        store = open_store(url, readonly=readonly)
    except ValueError as exc:  # open_store's messages already name the URL or scheme
        raise _Failure(_sentence(str(exc)), 2) from None
    try:
        store.ping()
    except (MinilinkError, OSError) as exc:
        store.close()
        if isinstance(exc, MinilinkError):  # a backend's own words name the store already
            reason = exc.message
        else:
            reason = f"cannot open the store {_redact(url)!r}: {_describe_os_error(exc)}"
        raise _Failure(_sentence(reason), 2) from None
    except BaseException:
        store.close()
        raise
    return store


# -- serve ------------------------------------------------------------------------------


def _cmd_serve(args: argparse.Namespace) -> int:
    import signal
    import threading

    from minilink.servers import ServerError, ServerFailed, ServerNotInstalled, find_server

    config = _config(args)
    if args.store is not None:
        # The WSGI and ASGI entry points check MINILINK_STORE when imported (a server's
        # only hook): the store serve was told to use is the one they must see.
        os.environ["MINILINK_STORE"] = args.store
    server = find_server(args.server)
    # Open the store once up front: a bad --store fails now, with exit status 2, not on
    # the first request (and the SQLite schema exists before any worker starts).
    _open_store(config.store).close()

    def terminate(signum: int, frame: object) -> NoReturn:
        raise KeyboardInterrupt  # SIGTERM stops the server the same clean way as Ctrl-C

    def app_factory() -> Any:
        # Looked up when called, so that a test harness may replace _wsgi_app.
        return _wsgi_app(config) if server.interface == "wsgi" else _asgi_app(config)

    def ready(url: str) -> None:
        print(
            f"minilink: serving on {url} ({server.name}, store {_redact(config.store)}); "
            "press Ctrl-C to stop.",
            flush=True,
        )

    previous: Any = None
    main_thread = threading.current_thread() is threading.main_thread()
    if main_thread:
        previous = signal.signal(signal.SIGTERM, terminate)
    try:
        server.run(app_factory, args.host, args.port, quiet=args.quiet, ready=ready)
    except KeyboardInterrupt:
        pass
    except ServerError as exc:
        if isinstance(exc, ServerFailed):
            raise _Failure(_sentence(exc.message), 1) from None
        hint = ""
        if isinstance(exc, ServerNotInstalled) and "not installed" in exc.message:
            hint = " or leave out --server to use the built-in one"
        raise _Failure(_sentence(exc.message + hint), 2) from None
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, previous)
    print("minilink: stopped.", file=sys.stderr, flush=True)
    return 0


def _wsgi_app(config: Config) -> Any:
    from minilink.adapters.wsgi import create_app

    return create_app(config)


def _asgi_app(config: Config) -> Any:
    from minilink.adapters.asgi import create_app

    return create_app(config)


# -- output -----------------------------------------------------------------------------


def _out(line: str) -> None:
    sys.stdout.write(line + "\n")


def _error(message: str) -> None:
    print(f"minilink: error: {message}", file=sys.stderr)


def _discard_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # no real file descriptor behind stdout (tests)
        pass


def _sentence(text: str) -> str:
    """One line, ending with a full stop."""
    line = " ".join(text.split())
    return line if line.endswith((".", "!", "?")) else line + "."


def _describe_os_error(exc: OSError) -> str:
    reason = exc.strerror or str(exc) or type(exc).__name__
    if exc.filename is not None:
        return _sentence(f"{reason}: {exc.filename}")
    return _sentence(reason)


def _redact(url: str) -> str:
    """The store URL without a password, fit to print."""
    import re

    return re.sub(r"(://[^/:@]*):[^/@]*@", r"\1:***@", url)
