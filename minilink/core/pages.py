"""The HTML pages: the shorten form, the preview page and the error pages.

Theory of operation
-------------------
Pages are built from small functions and ``html.escape``; every value that came from
a user (URL, alias, query) passes through ``_e`` before it is written. Pages load
nothing from elsewhere and run no script: the only inline code is one stylesheet,
allowed by its hash in the ``Content-Security-Policy``, so an injected ``<script>`` or
``style`` attribute would not run even if escaping failed. They work with JavaScript
off and are readable on a phone (one column, a viewport meta tag, large targets).
"""

from __future__ import annotations

import base64
import hashlib
from html import escape
from typing import TYPE_CHECKING

from minilink.core.api import parse_query, rfc3339, single
from minilink.core.app import redirect
from minilink.core.errors import AliasTaken, BadRequest, MinilinkError
from minilink.core.http import Request, Response

if TYPE_CHECKING:
    from minilink.core.app import App
    from minilink.core.links import Link
    from minilink.core.service import Stats

__all__ = ["CSP", "create", "error", "home", "preview"]

_STYLE = """
:root{color-scheme:light dark;--fg:#1b1f24;--bg:#fff;--muted:#57606a;--accent:#0a58ca;
--err:#b3261e;--line:#d0d7de}
@media (prefers-color-scheme:dark){:root{--fg:#e6edf3;--bg:#0d1117;--muted:#9da7b3;
--accent:#6cb6ff;--err:#ff7b72;--line:#30363d}}
*{box-sizing:border-box}
body{margin:0;font:1rem/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
color:var(--fg);background:var(--bg)}
main{max-width:40rem;margin:0 auto;padding:1.5rem 1rem}
h1{font-size:1.5rem;margin:0 0 1rem}
a{color:var(--accent)}
label{display:block;font-weight:600;margin:1rem 0 .25rem}
input{width:100%;font:inherit;padding:.6rem;border:1px solid var(--muted);border-radius:6px;
background:var(--bg);color:var(--fg)}
button{margin-top:1rem;font:inherit;font-weight:600;padding:.6rem 1.2rem;border:0;
border-radius:6px;background:var(--accent);color:#fff;cursor:pointer}
:focus-visible{outline:3px solid var(--accent);outline-offset:2px}
.error{color:var(--err);font-weight:600}
.hint{color:var(--muted);font-size:.9rem}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem}
dt{font-weight:600}dd{margin:0;overflow-wrap:anywhere}
svg{max-width:100%;height:auto}
.bar{fill:var(--accent)}
"""

_STYLE_HASH = base64.b64encode(hashlib.sha256(_STYLE.encode("utf-8")).digest()).decode("ascii")

#: The policy of every page: nothing from elsewhere, no script, the one stylesheet.
CSP = (
    "default-src 'none'; "
    f"style-src 'sha256-{_STYLE_HASH}'; "
    "img-src 'self' data:; "
    "form-action 'self'; "
    "base-uri 'none'; "
    "frame-ancestors 'none'"
)


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _page(status: int, title: str, main: str, extra: tuple[tuple[str, str], ...] = ()) -> Response:
    document = (
        "<!doctype html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)} · minilink</title><style>{_STYLE}</style></head>"
        f"<body><main>{main}</main></body></html>\n"
    )
    body = document.encode("utf-8")
    return Response(
        status,
        (
            ("Content-Type", "text/html; charset=utf-8"),
            ("Content-Length", str(len(body))),
            ("Content-Security-Policy", CSP),
            ("X-Content-Type-Options", "nosniff"),
            ("Referrer-Policy", "no-referrer"),
            ("X-Frame-Options", "DENY"),
            *extra,
        ),
        body,
    )


def _form(action: str, limit: int, url: str = "", alias: str = "", message: str = "") -> str:
    error = ""
    described = ""
    if message:
        error = f'<p class="error" id="form-error" role="alert">{_e(message)}</p>'
        described = ' aria-describedby="form-error" aria-invalid="true"'
    return (
        f'<form method="post" action="{_e(action)}">{error}'
        '<label for="url">Long URL</label>'
        f'<input id="url" name="url" type="url" required maxlength="{limit}" '
        f'placeholder="https://example.com/a/long/path" value="{_e(url)}"{described}>'
        '<label for="alias">Custom alias <span class="hint">(optional)</span></label>'
        f'<input id="alias" name="alias" maxlength="64" pattern="[A-Za-z0-9_\\-]+" '
        f'value="{_e(alias)}">'
        '<button type="submit">Shorten</button></form>'
    )


def home(app: App, request: Request) -> Response:
    """``GET /``: the form, pre-filled from ``?url=`` (the bookmarklet)."""
    url = single(parse_query(request.query), "url") or ""
    return _home(app, request, 200, url=url)


def _home(
    app: App, request: Request, status: int, *, url: str = "", alias: str = "", message: str = ""
) -> Response:
    origin = app.origin(request)
    main = (
        "<h1>Shorten a link</h1>"
        + _form(origin + "/", app.config.max_url_length, url, alias, message)
        + '<p class="hint">Short links redirect to the address you give. '
        "Visits are counted per day; nothing about visitors is kept.</p>"
    )
    return _page(status, "Shorten a link", main)


def create(app: App, request: Request) -> Response:
    """``POST /``: create from the form; 303 to the preview, or the form again."""
    url = alias = ""
    try:
        body = app.read_body(request, "application/x-www-form-urlencoded")
        fields = parse_query(body.decode("latin-1"))
        url = single(fields, "url") or ""
        alias = single(fields, "alias") or ""
        app.authorize_create(request)
        link = app.shortener.shorten(url, alias=alias or None, own=app.own(request))
    except (BadRequest, AliasTaken) as exc:
        return _home(app, request, exc.status, url=url, alias=alias, message=exc.message)
    return redirect(303, f"{app.origin(request)}/{link.code}+")


def preview(app: App, request: Request, code: str) -> Response:
    """``GET /{code}+``: what a short link leads to, and its visits. Counts nothing."""
    link = app.shortener.resolve(code)
    stats = app.shortener.stats(code, 30)
    short = f"{app.origin(request)}/{link.code}"
    return _page(200, f"Preview of {link.code}", _preview_main(link, short, stats))


def _preview_main(link: Link, short: str, stats: Stats) -> str:
    expires = rfc3339(link.expires_at) or "never"
    limit = "" if link.max_visits is None else f" of {link.max_visits} allowed"
    return (
        f"<h1>Short link {_e(link.code)}</h1>"
        "<dl>"
        f'<dt>Short URL</dt><dd><a href="{_e(short)}">{_e(short)}</a></dd>'
        f"<dt>Leads to</dt><dd>{_e(link.url)}</dd>"
        f"<dt>Created</dt><dd>{_e(rfc3339(link.created_at))}</dd>"
        f"<dt>Expires</dt><dd>{_e(expires)}</dd>"
        f"<dt>Visits</dt><dd>{link.hits}{_e(limit)}</dd>"
        "</dl>"
        "<h2>Visits in the last 30 days</h2>"
        + chart(stats.daily)
        + f'<p><a href="{_e(link.url)}" rel="noreferrer noopener">Continue to the target</a></p>'
    )


def chart(daily: tuple[tuple[str, int], ...]) -> str:
    """An inline SVG bar chart of ``(day, hits)`` pairs, with a text equivalent."""
    width, height, gap = 300, 60, 2
    most = max((hits for _, hits in daily), default=0) or 1
    bar = (width - gap * (len(daily) - 1)) / max(len(daily), 1)
    total = sum(hits for _, hits in daily)
    parts = []
    for i, (day, hits) in enumerate(daily):
        h = round(hits / most * (height - 2), 1)
        x = round(i * (bar + gap), 1)
        parts.append(
            f'<rect class="bar" x="{x}" y="{round(height - h, 1)}" width="{round(bar, 1)}" '
            f'height="{h}"><title>{_e(day)}: {hits}</title></rect>'
        )
    first = daily[0][0] if daily else ""
    label = f"{total} visits in {len(daily)} days since {first}"
    return (
        f'<svg role="img" aria-label="{_e(label)}" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg">'
        + "".join(parts)
        + "</svg>"
    )


_TITLES = {
    400: "That did not work",
    401: "Sign-in needed",
    403: "Not allowed here",
    404: "Link not found",
    405: "Not allowed here",
    409: "Already taken",
    410: "This link is gone",
    413: "Too much data",
    415: "Unsupported data",
    429: "Slow down",
    503: "Try again soon",
}


def error(
    app: App, request: Request, exc: MinilinkError, extra: tuple[tuple[str, str], ...]
) -> Response:
    """The HTML page of an error: what happened, and the way home."""
    title = _TITLES.get(exc.status, "Something went wrong")
    try:
        home_url = app.origin(request) + "/"
    except BadRequest:
        home_url = "/"
    main = (
        f"<h1>{_e(title)}</h1><p>{_e(exc.message)}</p>"
        f'<p><a href="{_e(home_url)}">Shorten a link</a></p>'
    )
    return _page(exc.status, title, main, extra)
