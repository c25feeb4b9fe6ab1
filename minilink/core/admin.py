"""The management pages, ``/admin/`` under the mount (SPEC section 10).

Theory of operation
-------------------
A route family (see ``minilink.core.app``): ``route`` answers every path under
``/admin``, server-rendered HTML for the one admin, who signs in with
``MINILINK_ADMIN_TOKEN``. Without a token set, every page is 403.

* **Sessions** are signed cookies (``minilink.core.sessions``): no state in memory,
  so CGI works as every other adapter; sign-out records the session as ended through
  the store. The cookie is ``HttpOnly; SameSite=Strict``, ``Secure`` under https, and
  its ``Path`` is the mount's ``/admin/``; its ``Max-Age`` is the idle limit.
* **Every post that changes something** is checked twice: by ``Origin`` (as the
  public form is, ``Site.check_form_origin``) and by a CSRF token bound to the
  session and to what the form does. A post without a valid session, from another
  site, or without the right token is 403 and changes nothing. The sign-in form has
  no session yet: ``Origin`` alone guards it.
* **Signed out**, a page answers 303 to the sign-in page; a post answers 403.
* **Forms** keep what was typed: a refused value comes back with the reason next
  to its field (400), checked with the very functions the core uses.
* **Import and export** read and write the files of ``minilink import``/``export``:
  the formats live in ``minilink.transfer`` (outside the core, beside the CLI), so
  this module looks that module up by name when an import or export is asked for,
  as the dispatcher looks up route families; nothing else here needs it. The upload
  is ``multipart/form-data`` within ``MINILINK_MAX_BODY_BYTES``; the export is sent
  in pieces of at most a few hundred links, one ``Store.export`` page at a time, so
  a large store is never held whole (see ``export``).
* Every value from a link, a user or a file is escaped (``admin_pages.e``).
"""

from __future__ import annotations

from minilink.core import admin_pages as ui
from minilink.core.errors import (
    AliasTaken,
    BadRequest,
    Forbidden,
    Gone,
    InvalidURL,
    MinilinkError,
    NotFound,
    PreconditionFailed,
    RateLimited,
)
from minilink.core.forms import parse_query, read_body, single
from minilink.core.http import Request, Response, allow_methods
from minilink.core.sessions import COOKIE, Session, Sessions

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator
    from datetime import datetime
    from typing import Any, Callable, Optional

    from minilink.core.app import App
    from minilink.core.links import Link

__all__ = ["error", "route"]

_GET = ("GET", "HEAD")
_GET_POST = ("GET", "HEAD", "POST")
_FORM = "application/x-www-form-urlencoded"
_NOT_SIGNED_IN = "Your session has ended (or never began): sign in again."
_BAD_CSRF = (
    "This form is out of date or did not come from these pages; nothing was changed. "
    "Open the page again and resend it."
)
#: Links shown per page of the list.
PAGE = 50
#: The periods of a link page's chart, in days.
PERIODS = (7, 30, 90, 365)


class _Context:
    """One signed-in request: the app, the request, the session and its helpers."""

    def __init__(self, app: App, request: Request, sessions: Sessions, session: Session):
        self.app = app
        self.request = request
        self.sessions = sessions
        self.session = session
        self.base = app.site.root(request) + "/admin/"

    def csrf(self, purpose: str) -> str:
        return self.sessions.csrf(self.session, purpose)

    def page(
        self, status: int, title: str, main: str, current: Optional[str] = None, **kw: Any
    ) -> Response:
        return ui.page(
            status, title, main, self.base, current=current, signout=self.csrf("signout"), **kw
        )

    def check_post(self, purpose: str, fields: dict[str, list[str]]) -> None:
        """Raise ``Forbidden`` unless this post comes from these pages' own form."""
        self.app.site.check_form_origin(self.request)
        if not self.sessions.check_csrf(self.session, purpose, single(fields, "csrf")):
            raise Forbidden(_BAD_CSRF)

    def see_other(self, path: str) -> Response:
        return _see_other(self.app, self.request, path)


# -- dispatch --------------------------------------------------------------------------


def route(app: App, request: Request, segments: list[str]) -> Response:
    """Answer ``request`` for the path ``/admin/<segments>``."""
    n = len(segments)
    first = segments[0] if segments else ""
    if n == 0 and not request.path.endswith("/"):
        # The cookie's Path is /admin/: /admin without the slash would never get it.
        allow_methods(request.method, _GET)
        return _see_other(app, request, "")
    sessions = _sessions(app)
    if first == "signin" and n == 1:
        allow_methods(request.method, _GET_POST)
        return _signin(app, request, sessions)
    handler, methods = _handler(segments)
    allow_methods(request.method, methods)
    session = sessions.check(_cookie(request), app.shortener.clock())
    if session is None:
        if request.method in _GET:
            response = _see_other(app, request, "signin")
            if _cookie(request) is not None:
                response = _with_cookie(response, _clear_cookie(app, request))
            return response
        raise Forbidden(_NOT_SIGNED_IN)
    context = _Context(app, request, sessions, session)
    response = handler(context, segments)
    if session.refresh and not _sets_cookie(response):
        now = app.shortener.clock()
        value = sessions.issue(session.started, int(now.timestamp()))
        response = _with_cookie(response, _cookie_header(app, request, value))
    return response


def _handler(
    segments: list[str],
) -> tuple[Callable[[_Context, list[str]], Response], tuple[str, ...]]:
    n = len(segments)
    first = segments[0] if segments else ""
    if n == 0:
        return _overview, _GET
    if n == 1:
        simple: dict[str, tuple[Callable[[_Context, list[str]], Response], tuple[str, ...]]] = {
            "links": (_list, _GET),
            "new": (_new, _GET_POST),
            "tags": (_tags, _GET),
            "import": (_import, _GET_POST),
            "export": (_export, _GET),
            "signout": (_signout, ("POST",)),
        }
        if first in simple:
            return simple[first]
    if first == "links" and n == 2:
        return _link, _GET_POST
    if first == "links" and n == 3 and segments[2] == "delete":
        return _delete, _GET_POST
    raise NotFound("There is no such management page.")


def error(
    app: App, request: Request, exc: MinilinkError, extra: tuple[tuple[str, str], ...]
) -> Response:
    """An error of these pages: an admin page saying what happened (never stored)."""
    base = app.site.root(request) + "/admin/"
    titles = {
        403: "Not allowed",
        404: "Not found",
        405: "Not allowed here",
        410: "Gone",
        412: "Changed meanwhile",
        413: "Too much data",
        415: "Unsupported data",
        429: "Slow down",
        503: "Try again soon",
    }
    title = titles.get(exc.status, "That did not work")
    main = (
        f'<div class="card"><p class="eyebrow">Error {exc.status}</p>'
        f"<h1>{ui.e(title)}</h1><p>{ui.e(exc.message)}</p>"
        f'<p class="actions"><a class="button" href="{ui.e(base)}">Back to the overview</a>'
        "</p></div>"
    )
    return ui.page(exc.status, title, main, base, extra=extra)


# -- sessions and cookies -----------------------------------------------------------------


def _sessions(app: App) -> Sessions:
    token = app.config.admin_token
    if token is None:
        raise Forbidden("The management pages need MINILINK_ADMIN_TOKEN to be set.")
    return Sessions(token, app.shortener.store, app.config.admin_session_hours * 3600)


def _cookie(request: Request) -> Optional[str]:
    """The value of the session cookie, if the request has one."""
    header = request.header("cookie")
    if not header:
        return None
    for part in header.split(";"):
        name, sep, value = part.strip().partition("=")
        if sep and name == COOKIE:
            return value.strip().strip('"')
    return None


def _attributes(app: App, request: Request) -> str:
    secure = "; Secure" if app.site.scheme(request) == "https" else ""
    return f"Path={app.site.root(request)}/admin/; HttpOnly; SameSite=Strict{secure}"


def _cookie_header(app: App, request: Request, value: str) -> tuple[str, str]:
    max_age = app.config.admin_session_hours * 3600
    return ("Set-Cookie", f"{COOKIE}={value}; Max-Age={max_age}; {_attributes(app, request)}")


def _clear_cookie(app: App, request: Request) -> tuple[str, str]:
    return ("Set-Cookie", f"{COOKIE}=; Max-Age=0; {_attributes(app, request)}")


def _with_cookie(response: Response, header: tuple[str, str]) -> Response:
    return Response(response.status, (*response.headers, header), response.body)


def _sets_cookie(response: Response) -> bool:
    return response.header("set-cookie") is not None


def _see_other(app: App, request: Request, path: str) -> Response:
    """303 to ``/admin/<path>`` on the host the request reached."""
    site = app.site
    location = f"{site.scheme(request)}://{site.host(request)}{site.root(request)}/admin/{path}"
    return Response(
        303,
        (
            ("Location", location),
            ("Content-Type", "text/plain; charset=utf-8"),
            ("Content-Length", "0"),
            ("Cache-Control", "no-store"),
        ),
    )


def _form_fields(app: App, request: Request) -> dict[str, list[str]]:
    body = read_body(request, _FORM, app.config.max_body_bytes)
    return parse_query(body.decode("latin-1"))


def _signin(app: App, request: Request, sessions: Sessions) -> Response:
    """``/admin/signin``: the form (GET) and its answer (POST)."""
    base = app.site.root(request) + "/admin/"
    now = app.shortener.clock()
    if request.method != "POST":
        if sessions.check(_cookie(request), now) is not None:
            return _see_other(app, request, "")
        return _signin_page(base, 200)
    app.site.check_form_origin(request)
    client = app.site.client(request)
    try:
        sessions.check_attempts(client, now)
    except RateLimited as exc:
        retry = (("Retry-After", str(exc.retry_after)),)
        return _signin_page(base, 429, exc.message, extra=retry)
    try:
        given = single(_form_fields(app, request), "token") or ""
    except BadRequest as exc:
        return _signin_page(base, 400, exc.message)
    token = app.config.admin_token or ""
    if not given or not sessions.token_matches(token, given):
        sessions.failed(client, now)
        return _signin_page(base, 403, "That is not the admin token.")
    response = _see_other(app, request, "")
    return _with_cookie(response, _cookie_header(app, request, sessions.start(now)))


def _signin_page(
    base: str,
    status: int,
    error: Optional[str] = None,
    *,
    extra: tuple[tuple[str, str], ...] = (),
) -> Response:
    errors = {} if error is None else {"token": error}
    main = (
        "<h1>Sign in</h1>"
        '<div class="card">'
        "<p>The management pages are for the admin of this minilink: sign in with its "
        "admin token (<code>MINILINK_ADMIN_TOKEN</code>).</p>"
        f'<form method="post" action="{ui.e(base)}signin">'
        + ui.field(
            "token",
            "Admin token",
            '<input<CONTROL type="password" required maxlength="1000" '
            'autocomplete="current-password">',
            errors,
        )
        + '<button type="submit">Sign in</button></form></div>'
    )
    return ui.page(status, "Sign in", main, base, extra=extra)


def _signout(ctx: _Context, segments: list[str]) -> Response:
    fields = _form_fields(ctx.app, ctx.request)
    ctx.check_post("signout", fields)
    ctx.sessions.end(ctx.session)
    response = ctx.see_other("signin")
    return _with_cookie(response, _clear_cookie(ctx.app, ctx.request))


# -- the overview --------------------------------------------------------------------------


def _overview(ctx: _Context, segments: list[str]) -> Response:
    app = ctx.app
    shortener = app.shortener
    top = shortener.search(sort="hits", limit=10)
    rows = [_row(ctx, link) for link in top]
    most = (
        ui.table("The ten most visited live links.", _HEAD, rows, "links")
        if rows
        else "<p>No links yet.</p>"
    )
    main = (
        "<h1>Overview</h1>"
        + _counts(ctx)
        + '<div class="card"><h2>Most visited</h2>'
        + most
        + "</div>"
        + f'<p class="actions"><a class="button" href="{ui.e(ctx.base)}new">New link</a> '
        f'<a class="button quiet" href="{ui.e(ctx.base)}links">All links</a></p>'
    )
    return ctx.page(200, "Overview", main, "")


def _counts(ctx: _Context) -> str:
    """The overview's figures: links, and visits today, in 7 and in 30 days."""
    from datetime import timedelta

    store = ctx.app.shortener.store
    today = ctx.app.shortener.clock().date()
    links, daily = store.totals((today - timedelta(days=29)).isoformat())
    by_day = dict(daily)

    def since(days: int) -> int:
        first = (today - timedelta(days=days - 1)).isoformat()
        return sum(hits for day, hits in by_day.items() if day >= first)

    figures = (
        ("Links", links),
        ("Visits today", since(1)),
        ("Visits in 7 days", since(7)),
        ("Visits in 30 days", since(30)),
    )
    return (
        '<div class="grid">'
        + "".join(
            f'<div class="stat"><p>{label}</p><strong>{value:,}</strong></div>'
            for label, value in figures
        )
        + "</div>"
    )


# -- the list ---------------------------------------------------------------------------

_HEAD = ("Code", "Leads to", "Visits", "Created", "State")
_STATES = (("live", "Live"), ("expired", "Expired"), ("deleted", "Deleted"), ("all", "All"))
_SORTS = (("created", "Newest"), ("hits", "Most visited"), ("updated", "Last edited"))


def _state(link: Link, now: datetime) -> str:
    if link.deleted_at is not None:
        return "Deleted"
    if link.is_expired(now):
        return "Expired"
    return "Live"


def _row(ctx: _Context, link: Link) -> list[str]:
    from minilink.core.pages import _when

    now = ctx.app.shortener.clock()
    title = f"<br><strong>{ui.e(link.title)}</strong>" if link.title else ""
    tags = '<br><span class="hint">' + ui.e(", ".join(link.tags)) + "</span>" if link.tags else ""
    target = "<em>Protected by a password</em>: " if link.protected else ""
    return [
        f'<a href="{ui.e(ctx.base)}links/{ui.e(link.code)}">{ui.e(link.code)}</a>',
        f'<span class="url">{target}{ui.e(link.url)}</span>{title}{tags}',
        f"{link.hits:,}",
        _when(link.created_at),
        _state(link, now),
    ]


def _list(ctx: _Context, segments: list[str]) -> Response:
    from minilink.core.forms import params

    fields = params(ctx.request, "q", "tag", "state", "sort", "after")
    q = single(fields, "q") or ""
    tag = single(fields, "tag") or ""
    state = single(fields, "state") or "live"
    sort = single(fields, "sort") or "created"
    after = single(fields, "after") or None
    errors: dict[str, str] = {}
    links: list[Link] = []
    if state not in dict(_STATES):
        errors["state"] = "Choose a state from the list."
    if sort not in dict(_SORTS):
        errors["sort"] = "Choose an order from the list."
    if tag:
        from minilink.core.options import check_tag

        try:
            check_tag(tag)
        except BadRequest as exc:
            errors["tag"] = exc.message
    if len(q) > 1000:
        errors["q"] = "Search for at most 1000 characters."
    if not errors:
        links = ctx.app.shortener.search(
            q or None, tag=tag or None, state=state, sort=sort, limit=PAGE + 1, after=after
        )
    more = len(links) > PAGE
    links = links[:PAGE]
    filters = (
        f'<form method="get" action="{ui.e(ctx.base)}links" class="filters" role="search">'
        + ui.field(
            "q",
            "Search",
            '<input<CONTROL type="search" maxlength="1000" value="' + ui.e(q) + '">',
            errors,
            "Code, address or title",
        )
        + ui.field(
            "tag",
            "Tag",
            '<input<CONTROL maxlength="32" value="' + ui.e(tag) + '">',
            errors,
        )
        + ui.field("state", "State", ui.select(_STATES, state), errors)
        + ui.field("sort", "Order", ui.select(_SORTS, sort), errors)
        + '<div class="field"><button type="submit">Show</button></div></form>'
    )
    status = 400 if errors else 200
    if links:
        found = ui.table(
            "Links" + (" found" if q or tag else "") + ", newest or most visited first.",
            _HEAD,
            [_row(ctx, link) for link in links],
            "links",
        )
    else:
        found = "<p>No link matches.</p>"
    pager = ""
    if more:
        from urllib.parse import urlencode

        query = {"q": q, "tag": tag, "state": state, "sort": sort, "after": links[-1].code}
        kept = urlencode({k: v for k, v in query.items() if v})
        pager = (
            f'<p class="pager"><a class="button quiet" href="{ui.e(ctx.base)}links?'
            f'{ui.e(kept)}">Next {PAGE} links</a></p>'
        )
    main = f'<h1>Links</h1><div class="card">{filters}</div><div class="card">{found}{pager}</div>'
    return ctx.page(status, "Links", main, "links")


# -- one link -----------------------------------------------------------------------------


def _get_link(ctx: _Context, code: str) -> Link:
    from minilink.core.codes import is_code

    link = ctx.app.shortener.store.get(code) if is_code(code) else None
    if link is None:
        raise NotFound(f"No link has the code {code!r}.")
    return link


def _link(ctx: _Context, segments: list[str]) -> Response:
    code = segments[1]
    link = _get_link(ctx, code)
    if ctx.request.method == "POST":
        return _edit(ctx, link)
    from minilink.core.forms import params, whole

    fields = params(ctx.request, "days", "saved")
    days = whole(fields, "days", 30)
    if days not in PERIODS:
        raise BadRequest("days must be 7, 30, 90 or 365.")
    return _link_page(ctx, link, 200, days=days, saved=single(fields, "saved") == "1")


def _series(ctx: _Context, link: Link, days: int) -> tuple[tuple[str, int], ...]:
    from datetime import timedelta

    today = ctx.app.shortener.clock().date()
    first = today - timedelta(days=days - 1)
    counted = dict(ctx.app.shortener.store.daily(link.code, first.isoformat()))
    return tuple(
        (
            (first + timedelta(days=i)).isoformat(),
            counted.get((first + timedelta(days=i)).isoformat(), 0),
        )
        for i in range(days)
    )


def _link_page(
    ctx: _Context,
    link: Link,
    status: int,
    *,
    days: int = 30,
    values: Optional[dict[str, str]] = None,
    errors: Optional[dict[str, str]] = None,
    saved: bool = False,
) -> Response:
    from minilink.core import pages
    from minilink.core.pages import _when

    origin = ctx.app.site.origin(ctx.request)
    short = f"{origin}/{link.code}"
    now = ctx.app.shortener.clock()
    periods = " ".join(
        f'<a href="{ui.e(ctx.base)}links/{ui.e(link.code)}?days={p}"'
        + (' aria-current="true" class="ok"' if p == days else "")
        + f">{p} days</a>"
        for p in PERIODS
    )
    qr = pages.qr_svg(short, inline=True)
    qr_part = (
        '<p class="hint">QR codes need the <code>qr</code> extra.</p>'
        if qr is None
        else f'<div class="qr">{qr}<p><a href="{ui.e(short)}.svg" '
        f'download="{ui.e(link.code)}.svg">Download the QR code (SVG)</a></p></div>'
    )
    limit = "" if link.max_visits is None else f" of {link.max_visits:,} allowed"
    details = (
        "<dl>"
        f'<dt>Short URL</dt><dd><a id="short-url" href="{ui.e(short)}">{ui.e(short)}</a> '
        f'(<a href="{ui.e(short)}+">preview</a>)</dd>'
        f'<dt>Leads to</dt><dd id="target">{ui.e(link.url)}</dd>'
        f"<dt>State</dt><dd>{_state(link, now)}</dd>"
        f"<dt>Created</dt><dd>{_when(link.created_at)}</dd>"
        f"<dt>Last edited</dt><dd>{_when(link.updated_at)}</dd>"
        f"<dt>Expires</dt><dd>{_when(link.expires_at)}</dd>"
        f'<dt>Visits</dt><dd><span id="hits">{link.hits:,}</span>{ui.e(limit)}</dd>'
        # The preview's rows, their ids renamed: the edit form's fields have theirs.
        + pages._options(link, ctx.app.config.redirect_status)
        .replace(" (not shown: the link is protected)", "")
        .replace(' id="', ' id="shown-')
        + "<dt>Password</dt><dd>"
        + ("Set" if link.protected else "None")
        + "</dd>"
        + (f"<dt>Deleted</dt><dd>{_when(link.deleted_at)}</dd>" if link.deleted_at else "")
        + "</dl>"
    )
    if saved:
        details = '<p class="ok" role="status">Saved.</p>' + details
    if link.deleted_at is None:
        edit = (
            '<div class="card"><h2 id="edit">Edit</h2>'
            + _link_form(ctx, f"links/{link.code}", link, values, errors or {}, "edit")
            + "</div>"
            '<div class="card"><h2>Delete</h2><p>A deleted link answers 410 Gone for good, '
            "and its code is never given to another link.</p>"
            f'<p class="actions"><a class="button danger" href="{ui.e(ctx.base)}links/'
            f'{ui.e(link.code)}/delete">Delete {ui.e(link.code)}…</a></p></div>'
        )
    else:
        edit = ""
    main = (
        f"<h1>Link {ui.e(link.code)}</h1>"
        f'<div class="card">{details}</div>'
        f'<div class="card"><h2>Visits in the last {days} days</h2>'
        f"<p>Show: {periods}</p>" + pages.chart(_series(ctx, link, days)) + "</div>"
        '<div class="card"><h2>QR code</h2>' + qr_part + "</div>" + edit
    )
    return ctx.page(status, f"Link {link.code}", main, "links")


# -- the link form (create and edit) -------------------------------------------------------

_STATUS_CHOICES = (
    ("", "The default"),
    ("301", "301 Moved Permanently"),
    ("302", "302 Found"),
    ("307", "307 Temporary Redirect"),
    ("308", "308 Permanent Redirect"),
)
_TEXT_FIELDS = ("url", "alias", "title", "tags", "expires_at", "max_visits", "fallback_url")


def _values_of(link: Optional[Link]) -> dict[str, str]:
    if link is None:
        return {}
    return {
        "url": link.url,
        "title": link.title or "",
        "tags": ", ".join(link.tags),
        "expires_at": "" if link.expires_at is None else _local(link.expires_at),
        "max_visits": "" if link.max_visits is None else str(link.max_visits),
        "redirect_status": "" if link.redirect_status is None else str(link.redirect_status),
        "forward_query": "1" if link.forward_query else "",
        "fallback_url": link.fallback_url or "",
        "revision": str(link.revision),
    }


def _local(moment: datetime) -> str:
    from datetime import timezone

    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M")


def _link_form(
    ctx: _Context,
    action: str,
    link: Optional[Link],
    values: Optional[dict[str, str]],
    errors: dict[str, str],
    purpose: str,
) -> str:
    v = values if values is not None else _values_of(link)
    creating = link is None
    parts = [
        f'<form method="post" action="{ui.e(ctx.base + action)}">',
        ui.general_error(errors),
        ui.hidden("csrf", ctx.csrf(purpose)),
    ]
    if not creating:
        parts.append(ui.hidden("revision", v.get("revision", "")))
    parts.append(
        ui.field(
            "url",
            "Long URL",
            ui.text_input("url", v.get("url", ""), kind="url", attrs=" required"),
            errors,
        )
    )
    if creating:
        parts.append(
            ui.field(
                "alias",
                "Custom alias <span>(optional)</span>",
                ui.text_input(
                    "alias", v.get("alias", ""), attrs=' maxlength="64" autocomplete="off"'
                ),
                errors,
                "Letters, digits, - and _; empty for a generated code",
            )
        )
    parts += [
        ui.field(
            "title",
            "Title <span>(optional)</span>",
            ui.text_input("title", v.get("title", ""), attrs=' maxlength="200"'),
            errors,
        ),
        ui.field(
            "tags",
            "Tags <span>(optional)</span>",
            ui.text_input("tags", v.get("tags", ""), attrs=' autocomplete="off"'),
            errors,
            "Up to 10, separated by commas: a-z, 0-9, - and _",
        ),
        '<div class="row">',
        ui.field(
            "expires_at",
            "Expires <span>(UTC, optional)</span>",
            ui.text_input("expires_at", v.get("expires_at", ""), kind="datetime-local"),
            errors,
        ),
        ui.field(
            "max_visits",
            "Visit limit <span>(optional)</span>",
            ui.text_input("max_visits", v.get("max_visits", ""), kind="number", attrs=' min="1"'),
            errors,
        ),
        "</div>",
        ui.field(
            "redirect_status",
            "Redirect status",
            ui.select(_STATUS_CHOICES, v.get("redirect_status", "")),
            errors,
        ),
        ui.checkbox(
            "forward_query",
            "Add the visitor's query to the target",
            bool(v.get("forward_query")),
        ),
        ui.field(
            "fallback_url",
            "When expired or used up, send visitors to <span>(optional)</span>",
            ui.text_input("fallback_url", v.get("fallback_url", ""), kind="url"),
            errors,
        ),
        ui.field(
            "password",
            ("New password" if link is not None and link.protected else "Password")
            + " <span>(optional)</span>",
            '<input<CONTROL type="password" maxlength="1000" autocomplete="new-password">',
            errors,
            "Visitors must give it before they are sent on; only a hash is kept",
        ),
    ]
    if link is not None and link.protected:
        parts.append(
            ui.checkbox("remove_password", "Remove the password", bool(v.get("remove_password")))
        )
    parts.append(
        f'<button type="submit">{"Create the link" if creating else "Save changes"}</button></form>'
    )
    return "".join(parts)


def _read_link_form(
    ctx: _Context, fields: dict[str, list[str]], link: Optional[Link]
) -> tuple[dict[str, str], dict[str, Any], dict[str, str]]:
    """``(values as typed, changes for the core, errors by field)`` of a link form."""
    from datetime import datetime, timezone

    from minilink.core import options
    from minilink.core.passwords import validate_password
    from minilink.core.urls import normalise_url

    values: dict[str, str] = {}
    for name in (*_TEXT_FIELDS, "redirect_status", "forward_query", "revision"):
        values[name] = single(fields, name) or ""
    values["remove_password"] = single(fields, "remove_password") or ""
    password = single(fields, "password") or ""
    errors: dict[str, str] = {}
    changes: dict[str, Any] = {}
    config = ctx.app.config
    own = list(ctx.app.site.own(ctx.request))

    def check(name: str, fn: Callable[[], Any]) -> None:
        try:
            changes[name] = fn()
        except BadRequest as exc:
            errors[name] = exc.message

    def url(text: str) -> str:
        return normalise_url(
            text,
            allowed_schemes=config.allowed_schemes,
            max_length=config.max_url_length,
            blocked_hosts=config.blocked_hosts,
            own=own,
        )

    if not values["url"].strip():
        errors["url"] = "Enter the address the link leads to."
    else:
        check("url", lambda: url(values["url"].strip()))
    check("title", lambda: options.check_title(values["title"] or None))
    check(
        "tags",
        lambda: options.check_tags([t.strip() for t in values["tags"].split(",") if t.strip()]),
    )

    def expiry() -> Optional[datetime]:
        text = values["expires_at"].strip()
        if not text:
            return None
        for shape in ("%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"):
            try:
                return datetime.strptime(text, shape).replace(tzinfo=timezone.utc)
            except ValueError:
                continue
        raise BadRequest("Give the expiry as a date and time, such as 2026-12-31T18:00.")

    check("expires_at", expiry)

    def visits() -> Optional[int]:
        text = values["max_visits"].strip()
        if not text:
            return None
        if not (text.isascii() and text.isdigit()) or len(text) > 10 or int(text) < 1:
            raise BadRequest("The visit limit is a whole number of at least 1.")
        return int(text)

    check("max_visits", visits)

    def status() -> Optional[int]:
        text = values["redirect_status"]
        if text not in dict(_STATUS_CHOICES):
            raise BadRequest("Choose a redirect status from the list.")
        return int(text) if text else None

    check("redirect_status", status)
    changes["forward_query"] = bool(values["forward_query"])
    fallback = values["fallback_url"].strip()
    check("fallback_url", lambda: url(fallback) if fallback else None)
    if password:
        check("password", lambda: validate_password(password))
    elif values["remove_password"] and link is not None and link.protected:
        changes["password"] = None
    if link is None:
        alias = values["alias"].strip()
        if alias:
            from minilink.core.urls import validate_alias

            check("alias", lambda: validate_alias(alias))
        else:
            changes["alias"] = None
    return values, changes, errors


def _field_of(exc: MinilinkError) -> str:
    """The form field an error of the core is about ("" when it is about none)."""
    message = exc.message.lower()
    if isinstance(exc, AliasTaken) or exc.code == "invalid_alias":
        return "alias"
    if isinstance(exc, InvalidURL) or message.startswith("the url"):
        return "fallback_url" if "fallback" in message else "url"
    for name in ("max_visits", "expires_at", "fallback_url", "password", "title", "tags"):
        if name.replace("_", " ") in message or name in message:
            return name
    return ""


def _edit(ctx: _Context, link: Link) -> Response:
    fields = _form_fields(ctx.app, ctx.request)
    ctx.check_post("edit", fields)
    if link.deleted_at is not None:
        raise Gone(f"The link {link.code!r} was deleted; it cannot be edited.")
    values, changes, errors = _read_link_form(ctx, fields, link)
    revision_text = values["revision"]
    if not (revision_text.isascii() and revision_text.isdigit()) or len(revision_text) > 12:
        raise BadRequest("The form has no valid revision; open the link again.")
    if not errors:
        if "password" not in changes:
            changes.pop("password", None)
        try:
            link = ctx.app.shortener.update(
                link.code,
                revision=int(revision_text),
                own=ctx.app.site.own(ctx.request),
                **changes,
            )
        except PreconditionFailed:
            fresh = _get_link(ctx, link.code)
            errors[""] = (
                "The link was changed elsewhere since this form was opened: it now shows "
                "the saved values. Make your change again."
            )
            return _link_page(ctx, fresh, 412, errors=errors)
        except BadRequest as exc:
            errors[_field_of(exc)] = exc.message
        else:
            return ctx.see_other(f"links/{link.code}?saved=1")
    return _link_page(ctx, link, 400, values=values, errors=errors)


def _new(ctx: _Context, segments: list[str]) -> Response:
    if ctx.request.method != "POST":
        return _new_page(ctx, 200, None, {})
    fields = _form_fields(ctx.app, ctx.request)
    ctx.check_post("create", fields)
    values, changes, errors = _read_link_form(ctx, fields, None)
    if not errors:
        url = changes.pop("url")
        try:
            link, _ = ctx.app.shortener.create(url, own=ctx.app.site.own(ctx.request), **changes)
        except (BadRequest, AliasTaken) as exc:
            errors[_field_of(exc)] = exc.message
            return _new_page(ctx, exc.status, values, errors)
        else:
            return ctx.see_other(f"links/{link.code}")
    return _new_page(
        ctx, 409 if "alias" in errors and "taken" in errors["alias"] else 400, values, errors
    )


def _new_page(
    ctx: _Context, status: int, values: Optional[dict[str, str]], errors: dict[str, str]
) -> Response:
    main = (
        "<h1>New link</h1>"
        '<div class="card">' + _link_form(ctx, "new", None, values, errors, "create") + "</div>"
    )
    return ctx.page(status, "New link", main, "new")


def _delete(ctx: _Context, segments: list[str]) -> Response:
    link = _get_link(ctx, segments[1])
    if link.deleted_at is not None:
        raise Gone(f"The link {link.code!r} was already deleted.")
    if ctx.request.method == "POST":
        fields = _form_fields(ctx.app, ctx.request)
        ctx.check_post(f"delete:{link.code}", fields)
        ctx.app.shortener.delete(link.code)
        return ctx.see_other("links?state=deleted")
    main = (
        f"<h1>Delete {ui.e(link.code)}?</h1>"
        '<div class="card">'
        f"<p>The short link <strong>{ui.e(link.code)}</strong> leads to</p>"
        f'<p class="target">{ui.e(link.url)}</p>'
        f"<p>Deleted, it answers 410 Gone for good and its code is never used again. "
        "This cannot be undone.</p>"
        f'<form method="post" action="{ui.e(ctx.base)}links/{ui.e(link.code)}/delete" '
        'class="actions">'
        + ui.hidden("csrf", ctx.csrf(f"delete:{link.code}"))
        + f'<button type="submit" class="danger">Delete {ui.e(link.code)}</button>'
        f'<a class="button quiet" href="{ui.e(ctx.base)}links/{ui.e(link.code)}">Keep it</a>'
        "</form></div>"
    )
    return ctx.page(200, f"Delete {link.code}", main, "links")


# -- tags ---------------------------------------------------------------------------------


def _tags(ctx: _Context, segments: list[str]) -> Response:
    from urllib.parse import quote

    tags = ctx.app.shortener.tags()
    rows = [
        [
            f'<a href="{ui.e(ctx.base)}links?tag={ui.e(quote(tag))}">{ui.e(tag)}</a>',
            f"{count:,}",
        ]
        for tag, count in tags
    ]
    body = (
        ui.table("Every tag and how many links carry it.", ("Tag", "Links"), rows, "links")
        if rows
        else "<p>No link has a tag yet.</p>"
    )
    return ctx.page(200, "Tags", f'<h1>Tags</h1><div class="card">{body}</div>', "tags")


# -- import and export ----------------------------------------------------------------------

_FORMATS = (
    ("auto", "Tell from the file"),
    ("jsonl", "minilink export (JSON lines)"),
    ("yourls", "YOURLS export of yourls_url (CSV or tab-separated)"),
    ("yourls-sql", "YOURLS database dump (mysqldump)"),
    ("shlink", "Shlink export (CSV)"),
)
#: The formats of other shorteners: read by ``minilink.importers``, as ``minilink
#: import`` reads them, with the same summary (every refused row and why).
_MOVING_IN = ("yourls", "yourls-sql", "shlink")


def _transfer() -> Any:
    """``minilink.transfer``, looked up by name (see the module docstring)."""
    from importlib import import_module

    return import_module("minilink.transfer")


#: Refused codes named on the import's summary (the rest are counted).
_REFUSED_SHOWN = 50


def _import(ctx: _Context, segments: list[str]) -> Response:
    if ctx.request.method != "POST":
        return _import_page(ctx, 200, {}, "auto")
    from minilink.core.multipart import read_multipart

    parts = read_multipart(ctx.request, ctx.app.config.max_body_bytes)
    fields = {
        name: [content.decode("utf-8")] for name, (_, content) in parts.items() if name != "file"
    }
    ctx.check_post("import", fields)
    kind = single(fields, "format") or "auto"
    errors: dict[str, str] = {}
    if kind not in dict(_FORMATS):
        errors["format"] = "Choose a format from the list."
    upload = parts.get("file")
    if upload is None or not upload[1]:
        errors["file"] = "Choose a file to import."
    if errors:
        return _import_page(ctx, 400, errors, kind)
    assert upload is not None
    transfer = _transfer()
    lines = upload[1].decode("utf-8", "surrogateescape").splitlines(keepends=True)
    config = ctx.app.config
    store = ctx.app.shortener.store
    from importlib import import_module

    importers = import_module("minilink.importers")  # outside the core, as transfer
    if kind == "auto":
        first = next((line for line in lines if line.strip()), "")
        kind = importers.detect(first) or ""
        if not kind:
            errors["format"] = "The file does not say its format: choose it from the list."
            return _import_page(ctx, 400, errors, "auto")
    if kind in _MOVING_IN:
        try:
            report = importers.import_file(
                store, lines, format=kind, config=config, now=ctx.app.shortener.clock()
            )
        except ValueError as exc:
            errors["file"] = f"The file could not be read, so nothing was imported: {exc}."
            return _import_page(ctx, 400, errors, kind)
        return _import_page(ctx, 200, {}, kind, _report_summary(report))
    try:
        # The whole file is read (and checked) first: it is within max_body_bytes, and
        # a line that cannot be read then leaves the store as it was.
        entries = list(transfer.read_jsonl(lines))
    except ValueError as exc:
        errors["file"] = f"The file could not be read, so nothing was imported: {exc}."
        return _import_page(ctx, 400, errors, kind)
    taken = [entry[0].code for entry in entries if store.get(entry[0].code) is not None]
    refusing = set(taken)
    stored = store.restore(entry for entry in entries if entry[0].code not in refusing)
    # A code taken between the look and the restore is refused by the store all the same.
    refused = len(entries) - stored
    summary = (
        '<div class="card" role="status"><h2>Imported</h2>'
        f"<p><strong>{stored:,}</strong> of {len(entries):,} links read were imported.</p>"
    )
    if refused:
        shown = taken[:_REFUSED_SHOWN]
        more = "" if len(taken) <= _REFUSED_SHOWN else f" and {len(taken) - _REFUSED_SHOWN:,} more"
        summary += (
            f"<p>{refused:,} were refused: their codes are already taken here "
            "(a code is never reused, not even a deleted link's).</p>"
            + (
                "<p>Refused: "
                + ", ".join(f"<code>{ui.e(code)}</code>" for code in shown)
                + f"{more}.</p>"
                if shown
                else ""
            )
        )
    summary += "</div>"
    return _import_page(ctx, 200, {}, kind, summary)


def _report_summary(report: Any) -> str:
    """The card of an import by ``minilink.importers``: what ``minilink import``
    prints, every refused row with its reason (the first _REFUSED_SHOWN of them)."""
    refused = report.refused
    html = (
        '<div class="card" role="status"><h2>Imported</h2>'
        f"<p><strong>{report.stored:,}</strong> of {report.read:,} rows read were imported; "
        f"{report.unchanged:,} were here already as they are; {len(refused):,} were "
        "refused.</p>"
    )
    if refused:
        shown = "".join(f"<li>{ui.e(str(refusal))}</li>" for refusal in refused[:_REFUSED_SHOWN])
        more = len(refused) - _REFUSED_SHOWN
        html += f"<h3>Refused</h3><ul>{shown}</ul>"
        if more > 0:
            html += f"<p>and {more:,} more (<code>minilink import</code> lists them all).</p>"
    if report.notes:
        html += "<h3>Notes</h3><ul>" + "".join(f"<li>{ui.e(n)}</li>" for n in report.notes)
        html += "</ul>"
    return html + "</div>"


def _import_page(
    ctx: _Context, status: int, errors: dict[str, str], kind: str, summary: str = ""
) -> Response:
    limit = ctx.app.config.max_body_bytes
    main = (
        "<h1>Import links</h1>" + summary + '<div class="card">'
        f'<form method="post" action="{ui.e(ctx.base)}import" enctype="multipart/form-data">'
        + ui.general_error(errors)
        + ui.hidden("csrf", ctx.csrf("import"))
        + ui.field("format", "Format", ui.select(_FORMATS, kind), errors)
        + ui.field(
            "file",
            "File",
            '<input<CONTROL type="file" required accept=".jsonl,.json,.csv,.txt,text/csv">',
            errors,
            f"At most {limit:,} bytes (MINILINK_MAX_BODY_BYTES); larger files: "
            "<code>minilink import</code>",
        )
        + '<button type="submit">Import</button></form></div>'
    )
    return ctx.page(status, "Import links", main, "import")


#: Links per piece of the export: a few hundred KiB at most.
_EXPORT_PIECE = 500


def _export(ctx: _Context, segments: list[str]) -> Response:
    """``/admin/export``: every link as the JSON lines of ``minilink export``, sent in
    pieces as ``Store.export`` reads them, page by page (no ``Content-Length``: the
    size is known only at the end)."""
    transfer = _transfer()
    store = ctx.app.shortener.store

    def pieces() -> Iterator[bytes]:
        import json

        yield (json.dumps(transfer.FORMAT, separators=(",", ":")) + "\n").encode()
        lines: list[str] = []
        for entry in store.export():
            lines.append(transfer.dump_entry(entry))
            if len(lines) >= _EXPORT_PIECE:
                yield ("\n".join(lines) + "\n").encode()
                lines = []
        if lines:
            yield ("\n".join(lines) + "\n").encode()

    stamp = ctx.app.shortener.clock().strftime("%Y-%m-%d")
    return Response(
        200,
        (
            ("Content-Type", "application/x-ndjson; charset=utf-8"),
            ("Content-Disposition", f'attachment; filename="minilink-{stamp}.jsonl"'),
            ("Cache-Control", "no-store"),
            ("X-Content-Type-Options", "nosniff"),
        ),
        stream=pieces(),
    )
