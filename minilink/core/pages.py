"""The HTML pages: the shorten form, the preview page, the QR code and the error pages.

Theory of operation
-------------------
Pages are built from small functions and ``html.escape``; every value that came from
a user or a request (URL, alias, code, query, host, messages that quote them) passes
through ``_e`` before it is written, and nothing is marked "safe".

* **Nothing from elsewhere.** The one stylesheet and the one script are inline and
  allowed by their sha256 hashes in the ``Content-Security-Policy``; there is no
  ``'unsafe-inline'``, so an injected ``<script>``, ``style`` attribute or event
  handler would not run even if escaping failed. Charts and QR codes are inline SVG.
* **JavaScript is optional.** Every page works with it off. The script (on the
  preview page only) adds a "Copy" button next to the short URL; without it the link
  is still there to select. The bookmarklet is an ``href`` the user drags to the
  bookmarks bar: its code runs on the page being bookmarked, never on ours (our CSP
  would block it, as it should).
* **Accessible and small-screen first.** One column with a viewport meta tag, 44px
  targets, a label on every field, errors next to the field they are about (linked
  with ``aria-describedby``, the field autofocused so keyboard and screen-reader
  users land on it), a visible focus ring, colours that keep WCAG AA contrast in the
  light and the dark scheme, and a text equivalent (summary and table) of the chart.
* **QR codes are optional.** ``segno`` (the ``qr`` extra) is imported on the first
  page that draws one; without it the preview says how to get them and
  ``/{code}.svg`` answers 404. The SVG is drawn here from segno's module matrix, so
  its markup is ours and byte-identical on every adapter.
* Hosts are shown as stored: IDN hosts in punycode (``xn--``), so a look-alike
  (homograph) host cannot pass for the real one.

The stylesheet and the script live in this module, next to the policy that hashes
them, which is most of its length; the rest is one small function per page part.
"""

from __future__ import annotations

from html import escape

from minilink.core.errors import (
    AliasTaken,
    BadRequest,
    Forbidden,
    InvalidAlias,
    InvalidURL,
    MinilinkError,
    NotFound,
    RateLimited,
)
from minilink.core.forms import parse_query, read_body, single
from minilink.core.http import Request, Response, redirect
from minilink.core.times import format_time

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only: typing would cost every CGI page ~3 ms
    from datetime import datetime
    from typing import Optional

    from minilink.core.app import App
    from minilink.core.links import Link
    from minilink.core.service import Stats

__all__ = [
    "CSP",
    "EXPIRY_CHOICES",
    "bookmarklet",
    "chart",
    "create",
    "error",
    "home",
    "password_form",
    "preview",
    "qr",
    "qr_svg",
    "robots",
    "unlock",
]

_STYLE = """
:root{color-scheme:light dark;--fg:#1f2328;--bg:#f6f8fa;--card:#fff;--muted:#59636e;
--accent:#0a58ca;--on-accent:#fff;--err:#b3261e;--line:#d1d9e0;--faint:#c9d1d9}
@media (prefers-color-scheme:dark){:root{--fg:#e6edf3;--bg:#0d1117;--card:#161b22;
--muted:#9da7b3;--accent:#79c0ff;--on-accent:#0d1117;--err:#ff8a80;--line:#30363d;
--faint:#3d444d}}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%;text-size-adjust:100%}
body{margin:0;min-height:100vh;display:flex;flex-direction:column;color:var(--fg);
background:var(--bg);font:1rem/1.5 system-ui,-apple-system,"Segoe UI",Roboto,
"Helvetica Neue",Arial,sans-serif}
header,footer{padding:.75rem 1rem}
header{background:var(--card);border-bottom:1px solid var(--line)}
header a{font-weight:700;font-size:1.15rem;color:var(--fg);text-decoration:none}
header a span{color:var(--accent)}
footer{color:var(--muted);font-size:.875rem;text-align:center}
footer p{margin:0 auto;max-width:42rem}
main{flex:1;width:100%;max-width:42rem;margin:0 auto;padding:1.5rem 1rem}
h1{font-size:1.6rem;line-height:1.25;margin:0 0 1rem}
h2{font-size:1.125rem;margin:0 0 .75rem}
p{margin:0 0 .75rem}
a{color:var(--accent);text-underline-offset:.15em}
.card{background:var(--card);border:1px solid var(--line);border-radius:12px;
padding:1.25rem;margin:0 0 1.25rem}
.card>:last-child{margin-bottom:0}
.field{margin:0 0 1rem}
.row{display:grid;grid-template-columns:1fr 1fr;gap:0 1rem}
@media (max-width:32rem){.row{grid-template-columns:1fr}}
label{display:block;font-weight:600;margin:0 0 .3rem}
label span,.hint{color:var(--muted);font-weight:400;font-size:.9rem}
.hint{margin:.3rem 0 0}
input,select{display:block;width:100%;min-height:2.75rem;font:inherit;padding:.5rem .7rem;
color:var(--fg);background:var(--card);border:1px solid var(--muted);border-radius:8px}
[aria-invalid=true]{border:2px solid var(--err)}
.error{color:var(--err);font-weight:600;margin:.35rem 0 0}
button,.button{display:inline-block;min-height:2.75rem;font:inherit;font-weight:600;
padding:.5rem 1.25rem;color:var(--on-accent);background:var(--accent);border:0;
border-radius:8px;cursor:pointer;text-decoration:none}
.button.quiet{color:var(--accent);background:transparent;border:1px solid var(--accent)}
:focus-visible{outline:3px solid var(--accent);outline-offset:2px}
.bookmarklet{font-weight:600}
.short{display:flex;flex-wrap:wrap;align-items:center;gap:.5rem 1rem}
.short a{font-size:1.2rem;font-weight:700;overflow-wrap:anywhere}
.nowrap{white-space:nowrap}
.target{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.95rem;
overflow-wrap:anywhere;padding:.6rem .75rem;border-radius:8px;background:var(--bg)}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.35rem 1rem;margin:1rem 0}
dt{font-weight:600}
dd{margin:0;overflow-wrap:anywhere}
.actions{display:flex;flex-wrap:wrap;gap:.75rem}
figure{margin:0}
.chart svg{display:block;width:100%;height:auto}
.bar{fill:var(--accent)}
.bar0{fill:var(--faint)}
.axis{display:flex;justify-content:space-between;color:var(--muted);font-size:.85rem;
border-top:1px solid var(--line);padding-top:.2rem;margin:0 0 .75rem}
details{margin:.5rem 0 0}
summary{cursor:pointer;color:var(--accent)}
table{border-collapse:collapse;margin:.5rem 0 0}
th,td{text-align:left;padding:.15rem 1.5rem .15rem 0;border-bottom:1px solid var(--line)}
td{font-variant-numeric:tabular-nums}
.qr{display:flex;flex-wrap:wrap;align-items:center;gap:1rem 1.5rem}
.qr svg{width:10rem;height:10rem;flex:none;border-radius:4px}
.qr p{flex:1 1 14rem;margin:0}
.eyebrow{color:var(--muted);font-size:.875rem;font-weight:600;margin:0 0 .25rem}
"""

#: Adds a "Copy" button next to the short URL. The page is complete without it.
_SCRIPT = """
(function () {
  var link = document.getElementById("short-url");
  var status = document.getElementById("copy-status");
  if (!link || !status) return;
  var button = document.createElement("button");
  button.type = "button";
  button.textContent = "Copy";
  button.addEventListener("click", function () {
    var text = link.textContent;
    function done() { status.textContent = "Copied " + text + " to the clipboard."; }
    function fallback() {
      var range = document.createRange();
      range.selectNodeContents(link);
      var selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
      status.textContent = document.execCommand("copy")
        ? "Copied " + text + " to the clipboard."
        : "Press Ctrl+C (or \\u2318C) to copy the selected link.";
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, fallback);
    } else {
      fallback();
    }
  });
  link.parentNode.insertBefore(button, link.nextSibling);
})();
"""


#: The base64 SHA-256 of ``_STYLE`` and of ``_SCRIPT``, written out so that a CGI
#: request does not import ``hashlib`` to compute them; a test checks them, so an edit
#: of either text fails the suite until its hash is updated here.
STYLE_SHA256 = "S5TCWd/5sl5NVnqqWhF0hOEkuSGK+0vj5aKnB6AqBcI="
SCRIPT_SHA256 = "oUhV1NzGhyPPKS9YFWYxdOkH3dRTksOyPzPL++14Z/g="


#: The policy of every page: nothing from elsewhere; only the one stylesheet and the
#: one script run, by hash; forms post only here; no framing.
CSP = (
    "default-src 'none'; "
    f"style-src 'sha256-{STYLE_SHA256}'; "
    f"script-src 'sha256-{SCRIPT_SHA256}'; "
    "img-src 'self' data:; "
    "form-action 'self'; "
    "base-uri 'none'; "
    "frame-ancestors 'none'"
)

_HEADERS = (
    ("Content-Security-Policy", CSP),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("X-Frame-Options", "DENY"),
)

#: What search engines and link previews say about a page (``<meta name=description>``).
_DESCRIPTION = (
    "minilink shortens long links; it counts visits per day and keeps nothing about visitors."
)

#: The form's expiry choices: ``(expires_in seconds as sent, label)``; "" is never.
EXPIRY_CHOICES = (
    ("", "Never"),
    ("3600", "In 1 hour"),
    ("86400", "In 1 day"),
    ("604800", "In 1 week"),
    ("2592000", "In 30 days"),
)
_EXPIRY_VALUES = frozenset(value for value, _ in EXPIRY_CHOICES)


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _home_url(app: App, request: Request) -> str:
    try:
        return app.site.home(request)
    except BadRequest:  # a Host header no client would send: a relative link still works
        return "/"


def _page(
    status: int,
    title: str,
    main: str,
    home: str,
    *,
    description: str = _DESCRIPTION,
    script: bool = False,
    extra: tuple[tuple[str, str], ...] = (),
    cache: str = "no-cache",
) -> Response:
    document = (
        "<!doctype html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta name="description" content="{_e(description)}">'
        f"<title>{_e(title)} · minilink</title>"
        '<link rel="icon" href="data:,">'
        f"<style>{_STYLE}</style></head><body>"
        f'<header><a href="{_e(home)}">mini<span>link</span></a></header>'
        f"<main>{main}</main>"
        "<footer><p>minilink counts visits per day and keeps nothing about visitors.</p>"
        "</footer>" + (f"<script>{_SCRIPT}</script>" if script else "") + "</body></html>\n"
    )
    body = document.encode("utf-8")
    return Response(
        status,
        (
            ("Content-Type", "text/html; charset=utf-8"),
            ("Content-Length", str(len(body))),
            *_HEADERS,
            # Previews show live counts and forms carry what was typed: never reuse
            # a stored copy without asking again.
            ("Cache-Control", cache),
            *extra,
        ),
        body,
    )


# -- the form ----------------------------------------------------------------------


def _field(name: str, label: str, control: str, hint: str, errors: dict[str, str]) -> str:
    """A labelled control with its hint and error, linked by ``aria-describedby``."""
    described = []
    after = ""
    if hint:
        described.append(f"{name}-hint")
        after += f'<p class="hint" id="{name}-hint">{hint}</p>'
    if name in errors:
        described.append(f"{name}-error")
        after += f'<p class="error" id="{name}-error">{_e(errors[name])}</p>'
    attributes = f' id="{name}" name="{name}"'
    if described:
        attributes += f' aria-describedby="{" ".join(described)}"'
    if name in errors:
        # Without script, autofocus is how the keyboard lands on the field to fix.
        attributes += ' aria-invalid="true" autofocus'
    return (
        f'<div class="field"><label for="{name}">{label}</label>'
        + control.replace("<CONTROL", attributes, 1)
        + after
        + "</div>"
    )


def _form(
    action: str, limit: int, url: str, alias: str, expiry: str, errors: dict[str, str]
) -> str:
    options = "".join(
        f'<option value="{value}"{" selected" if value == expiry else ""}>{label}</option>'
        for value, label in EXPIRY_CHOICES
    )
    general = ""
    if "" in errors:
        general = f'<p class="error" role="alert">{_e(errors[""])}</p>'
    return (
        f'<form method="post" action="{_e(action)}">{general}'
        + _field(
            "url",
            "Long URL",
            f'<input<CONTROL type="url" required maxlength="{limit}" inputmode="url" '
            f'autocomplete="url" placeholder="https://example.com/a/long/path" '
            f'value="{_e(url)}">',
            "",
            errors,
        )
        + '<div class="row">'
        + _field(
            "alias",
            "Custom alias <span>(optional)</span>",
            '<input<CONTROL maxlength="100" pattern="[A-Za-z0-9_\\-]+" autocomplete="off" '
            f'autocapitalize="none" spellcheck="false" value="{_e(alias)}">',
            "Letters, digits, - and _",
            errors,
        )
        + _field("expires_in", "Expires", f"<select<CONTROL>{options}</select>", "", errors)
        + "</div>"
        '<button type="submit">Shorten</button></form>'
    )


def bookmarklet(home: str) -> str:
    """The ``javascript:`` URL of the bookmarklet: open the form at ``home`` (its
    URL) for the current page.

    It runs on the page being bookmarked, so ``home`` is written as a JavaScript
    string (``json.dumps``) and the code percent-encoded, because browsers
    percent-decode a ``javascript:`` URL before running it.
    """
    import json
    from urllib.parse import quote

    code = "location.href=" + json.dumps(home + "?url=") + "+encodeURIComponent(location.href)"
    return "javascript:" + quote(code, safe="=+().:/?")


def home(app: App, request: Request) -> Response:
    """``GET /``: the form, pre-filled from ``?url=`` (the bookmarklet)."""
    url = single(parse_query(request.query), "url") or ""
    return _home(app, request, 200, url=url)


def _home(
    app: App,
    request: Request,
    status: int,
    *,
    url: str = "",
    alias: str = "",
    expiry: str = "",
    errors: Optional[dict[str, str]] = None,
) -> Response:
    home_url = app.site.home(request)
    main = (
        "<h1>Shorten a link</h1>"
        '<div class="card">'
        + _form(home_url, app.config.max_url_length, url, alias, expiry, errors or {})
        + "</div>"
        '<div class="card"><h2>Shorten from any page</h2>'
        f'<p>Drag <a class="bookmarklet" href="{_e(bookmarklet(home_url))}">Shorten with '
        "minilink</a> to your bookmarks bar. Clicking the bookmark on any page opens this "
        "form with the address of that page filled in.</p></div>"
    )
    return _page(status, "Shorten a link", main, home_url)


def create(app: App, request: Request) -> Response:
    """``POST /``: create from the form; 303 to the preview, or the form again with the
    error next to the field it is about and everything the user typed kept."""
    url = alias = expiry = ""
    try:
        body = read_body(request, "application/x-www-form-urlencoded", app.config.max_body_bytes)
        fields = parse_query(body.decode("latin-1"))
        url = single(fields, "url") or ""
        alias = single(fields, "alias") or ""
        expiry = single(fields, "expires_in") or ""
        app.site.authorize_create(request, app.shortener)
        if expiry not in _EXPIRY_VALUES:
            errors = {"expires_in": "Choose when the link expires from the list."}
            return _home(app, request, 400, url=url, alias=alias, errors=errors)
        link = app.shortener.shorten(
            url,
            alias=alias or None,
            expires_in=int(expiry) if expiry else None,
            own=app.site.own(request),
        )
    except (BadRequest, AliasTaken) as exc:
        field = ""
        if isinstance(exc, InvalidURL):
            field = "url"
        elif isinstance(exc, (InvalidAlias, AliasTaken)) and alias:
            field = "alias"
        return _home(
            app,
            request,
            exc.status,
            url=url,
            alias=alias,
            expiry=expiry,
            errors={field: exc.message},
        )
    return redirect(303, f"{app.site.origin(request)}/{link.code}+")


# -- the preview ---------------------------------------------------------------------


def preview(app: App, request: Request, code: str) -> Response:
    """``GET /{code}+``: what a short link leads to, and its visits. Counts nothing."""
    link = app.shortener.resolve(code)
    stats = app.shortener.stats(code, 30)
    origin = app.site.origin(request)
    short = f"{origin}/{link.code}"
    main = _preview_main(link, short, stats, qr_svg(short, inline=True), app.config.redirect_status)
    return _page(
        200,
        f"Preview of {link.code}",
        main,
        app.site.home(request),
        description=f"Where the short link {short} leads, and how often it was visited.",
        script=True,
    )


def _when(moment: Optional[datetime]) -> str:
    if moment is None:
        return "Never"
    stamp = format_time(moment)
    shown = stamp[:16].replace("T", " ") + " UTC"
    return f'<time datetime="{_e(stamp)}">{_e(shown)}</time>'


def _host(url: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(url).hostname or ""


def _leads_to(link: Link, short: str) -> str:
    """The "Leads to" card's target part: the target and its host, or for a protected
    link a sentence saying that only the password shows it (nothing of the target)."""
    if link.protected:
        return (
            '<p id="protected"><strong>Protected by a password.</strong> Where this link '
            "leads is shown to nobody until the password is given.</p>"
            '<p class="actions">'
            f'<a class="button quiet" href="{_e(short)}">Give the password</a></p>'
        )
    host = _host(link.url)
    idn = ""
    if any(label.startswith("xn--") for label in host.split(".")):
        idn = (
            " It is an internationalised name, shown in its ASCII form (punycode) so that "
            "look-alike letters cannot hide the real address."
        )
    return (
        f'<p class="target" id="target">{_e(link.url)}</p>'
        f'<p class="hint">Host: <strong id="target-host">{_e(host)}</strong>.{idn}</p>'
    )


def _options(link: Link, default_status: int) -> str:
    """The ``<dt>``/``<dd>`` rows of the title and tags, when set, and of the options
    that change a redirect. A protected link's fallback is not shown either: only
    that it has one."""
    from minilink.core.http import REASONS

    status = link.redirect_status or default_status
    how = f"{status} {REASONS.get(status, '')}"
    if link.redirect_status is None:
        how += " (the default)"
    if link.fallback_url is None:
        after = "Answers 410 Gone"
    elif link.protected:
        after = "Sends visitors to another address (not shown: the link is protected)"
    else:
        after = f'Sends visitors to <span id="fallback">{_e(link.fallback_url)}</span>'
    query = "Added to the target" if link.forward_query else "Not passed on"
    described = ""
    if link.title is not None:
        described += f'<dt>Title</dt><dd id="title">{_e(link.title)}</dd>'
    if link.tags:
        described += f'<dt>Tags</dt><dd id="tags">{_e(", ".join(link.tags))}</dd>'
    return (
        described + f'<dt>Redirect</dt><dd id="redirect-status">{_e(how)}</dd>'
        f'<dt>Visitor&#39;s query</dt><dd id="forward-query">{query}</dd>'
        f'<dt>When expired or used up</dt><dd id="fallback-url">{after}</dd>'
    )


def _preview_main(
    link: Link, short: str, stats: Stats, qr_markup: Optional[str], default_status: int = 302
) -> str:
    limit = "" if link.max_visits is None else f" of {link.max_visits} allowed"
    if qr_markup is None:
        qr_part = (
            '<p class="hint">QR codes need the <code>qr</code> extra: '
            "<code>pip install 'minilink[qr]'</code>.</p>"
        )
    else:
        qr_part = (
            f'<div class="qr">{qr_markup}<p>Scan it with a phone camera to open '
            f'{_e(short)}.<br><a href="{_e(short)}.svg" download="{_e(link.code)}.svg">'
            "Download the QR code (SVG)</a></p></div>"
        )
    return (
        "<h1>Preview of a short link</h1>"
        '<div class="card"><h2>Short URL</h2>'
        f'<p class="short"><a id="short-url" href="{_e(short)}">{_e(short)}</a></p>'
        '<p id="copy-status" class="hint" role="status"></p></div>'
        '<div class="card"><h2>Leads to</h2>' + _leads_to(link, short) + "<dl>"
        f"<dt>Created</dt><dd>{_when(link.created_at)}</dd>"
        f"<dt>Expires</dt><dd>{_when(link.expires_at)}</dd>"
        f'<dt>Visits</dt><dd><span id="hits">{link.hits}</span>{_e(limit)}</dd>'
        + _options(link, default_status)
        + "</dl>"
        + (
            ""
            if link.protected
            else '<p class="actions">'
            f'<a class="button quiet" href="{_e(link.url)}" rel="noreferrer noopener">'
            "Continue to the target</a></p>"
        )
        + "</div>"
        '<div class="card"><h2>Visits in the last 30 days</h2>' + chart(stats.daily) + "</div>"
        '<div class="card"><h2>QR code</h2>' + qr_part + "</div>"
    )


def _day(day: str) -> str:
    return f'<span class="nowrap">{_e(day)}</span>'


def chart(daily: tuple[tuple[str, int], ...]) -> str:
    """A bar chart of ``(YYYY-MM-DD, hits)`` pairs as inline SVG, with its text
    equivalent: a one-sentence summary (the SVG's accessible name) and a table."""
    days = len(daily)
    # A year of days fits no gaps into 300 units: wider, and bars touching.
    width, height, gap = (300, 64, 2) if days <= 100 else (max(300, days), 64, 0)
    most = max((hits for _, hits in daily), default=0)
    total = sum(hits for _, hits in daily)
    bar = (width - gap * (days - 1)) / days if days else width
    parts = []
    for i, (day, hits) in enumerate(daily):
        h = max(round(hits / most * height, 1), 2.0) if hits else 1.0
        kind = "bar" if hits else "bar0"
        parts.append(
            f'<rect class="{kind}" x="{round(i * (bar + gap), 1)}" y="{round(height - h, 1)}" '
            f'width="{round(bar, 1)}" height="{h}"><title>{_e(day)}: {hits}</title></rect>'
        )
    first, last = (daily[0][0], daily[-1][0]) if daily else ("", "")
    visits = "1 visit" if total == 1 else f"{total} visits"
    summary = f"{visits} from {_day(first)} to {_day(last)}."
    if most:
        busiest = next(day for day, hits in daily if hits == most)
        summary += f" The busiest day was {_day(busiest)} with {most}."
    rows = "".join(f"<tr><td>{_e(day)}</td><td>{hits}</td></tr>" for day, hits in daily)
    return (
        '<figure class="chart">'
        f'<svg role="img" aria-labelledby="chart-summary" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" '
        f'xmlns="http://www.w3.org/2000/svg">{"".join(parts)}</svg>'
        f'<div class="axis" aria-hidden="true"><span>{_e(first)}</span>'
        f"<span>{_e(last)}</span></div>"
        f'<figcaption id="chart-summary">{summary}</figcaption></figure>'
        "<details><summary>Visits per day as a table</summary>"
        '<table><thead><tr><th scope="col">Day (UTC)</th><th scope="col">Visits</th></tr>'
        f"</thead><tbody>{rows}</tbody></table></details>"
    )


# -- the password form ---------------------------------------------------------------


def password_form(
    app: App,
    request: Request,
    code: str,
    status: int,
    *,
    error: Optional[str] = None,
    extra: tuple[tuple[str, str], ...] = (),
) -> Response:
    """The page of a protected link: a password form, posted to the page's own URL
    (so that a query the link forwards is kept). It is made of the code and the
    request alone, never of the link, so that it shows nothing of the target, and
    it is never stored (``no-store``): what was typed is not kept either."""
    home_url = _home_url(app, request)
    errors = {} if error is None else {"password": error}
    main = (
        "<h1>This link is protected</h1>"
        '<div class="card">'
        f"<p>The short link <strong>{_e(code)}</strong> needs a password. Ask whoever "
        "gave you the link for it.</p>"
        '<form method="post">'
        + _field(
            "password",
            "Password",
            '<input<CONTROL type="password" required maxlength="1000" '
            'autocomplete="current-password">',
            "",
            errors,
        )
        + '<button type="submit">Continue</button></form></div>'
    )
    return _page(
        status,
        "Password needed",
        main,
        home_url,
        description="This short link needs a password.",
        extra=extra,
        cache="no-store",
    )


def unlock(app: App, request: Request, code: str, *, count: bool = True) -> Response:
    """``POST /{code}`` of a protected link: field ``password`` (form data). The right
    one: 303 to the target (its hit counted); a wrong one: 403 and the form again;
    missing, blank, repeated or not UTF-8: 400 and the form; past the guess limit:
    429 with ``Retry-After``. ``Gone`` (for the fallback) and the body's 413/415
    are left to the caller."""
    from minilink.core.passwords import MAX_PASSWORD

    try:
        body = read_body(request, "application/x-www-form-urlencoded", app.config.max_body_bytes)
        password = single(parse_query(body.decode("latin-1")), "password")
        if not password:
            raise BadRequest("Enter the password.")
        if len(password) > MAX_PASSWORD:
            raise BadRequest(f"A password has at most {MAX_PASSWORD} characters.")
    except BadRequest as exc:
        return password_form(app, request, code, 400, error=exc.message)
    try:
        link = app.shortener.unlock(
            code, password, client=app.site.client(request), count=count, query=request.query
        )
    except Forbidden as exc:
        return password_form(app, request, code, 403, error=exc.message)
    except RateLimited as exc:
        retry = (("Retry-After", str(exc.retry_after)),)
        return password_form(app, request, code, 429, error=exc.message, extra=retry)
    # 303 whatever the link's own status: this answers a POST, and a 307 or 308
    # would have the browser post the password on to the target.
    return redirect(303, app.shortener.destination(link, request.query))


# -- the QR code ---------------------------------------------------------------------

#: Light modules around the code, as the QR specification asks (ISO/IEC 18004 §5.3.8).
_QUIET_ZONE = 4


def qr_svg(text: str, *, inline: bool) -> Optional[str]:
    """``text`` as a QR code in SVG, or ``None`` when segno (the ``qr`` extra) is
    missing. ``inline`` leaves out the XML declaration, for use inside HTML."""
    try:
        import segno
    except ImportError:
        return None
    matrix = segno.make(text, error="m", micro=False).matrix
    size = len(matrix) + 2 * _QUIET_ZONE
    path = []
    for y, row in enumerate(matrix):
        x = 0
        while x < len(row):
            if not row[x]:
                x += 1
                continue
            start = x
            while x < len(row) and row[x]:
                x += 1
            path.append(f"M{start + _QUIET_ZONE} {y + _QUIET_ZONE}h{x - start}v1h-{x - start}z")
    label = _e(f"QR code of {text}")
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}" '
        f'width="{size * 4}" height="{size * 4}" role="img" aria-label="{label}" '
        f'shape-rendering="crispEdges"><title>{label}</title>'
        f'<rect width="{size}" height="{size}" fill="#fff"/>'
        f'<path fill="#000" d="{"".join(path)}"/></svg>'
    )
    return svg if inline else '<?xml version="1.0" encoding="utf-8"?>\n' + svg + "\n"


def qr(app: App, request: Request, code: str) -> Response:
    """``GET /{code}.svg``: the QR code of the short URL alone; 404 / 410 like the
    preview, and 404 when the ``qr`` extra is not installed."""
    link = app.shortener.resolve(code)
    svg = qr_svg(f"{app.site.origin(request)}/{link.code}", inline=False)
    if svg is None:
        # The link exists: the page must not say "Link not found".
        missing = NotFound("QR codes are not available here: install 'minilink[qr]'.")
        return error(app, request, missing, (), title="No QR codes here")
    body = svg.encode("utf-8")
    return Response(
        200,
        (
            ("Content-Type", "image/svg+xml"),
            ("Content-Length", str(len(body))),
            *_HEADERS,
        ),
        body,
    )


# -- robots.txt ----------------------------------------------------------------------


def robots(app: App, request: Request) -> Response:
    """``GET /robots.txt``: crawlers may follow short links (they are redirected and
    not counted) but are kept off the API, the previews (``/{code}+``) and the QR
    codes, which would only show them counters and images (RFC 9309 ``*``/``$``)."""
    root = app.site.root(request)
    lines = (
        "User-agent: *",
        f"Disallow: {root}/api/",
        f"Disallow: {root}/*+$",
        f"Disallow: {root}/*.svg$",
        "",
    )
    body = "\n".join(lines).encode("ascii")
    return Response(
        200,
        (
            ("Content-Type", "text/plain; charset=utf-8"),
            ("Content-Length", str(len(body))),
            ("Cache-Control", "max-age=86400"),
            ("X-Content-Type-Options", "nosniff"),
        ),
        body,
    )


# -- errors --------------------------------------------------------------------------

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

_EXPLANATIONS = {
    404: "Check the address for typing mistakes: short codes are case-sensitive.",
    410: "Links that expire, reach their visit limit or are deleted stop working for "
    "good, and their code is never given to another link.",
}


def error(
    app: App,
    request: Request,
    exc: MinilinkError,
    extra: tuple[tuple[str, str], ...],
    *,
    title: Optional[str] = None,
) -> Response:
    """The HTML page of an error: what happened, and the way home. ``title`` replaces
    the status's usual heading."""
    if title is None:
        title = _TITLES.get(exc.status, "Something went wrong")
    home_url = _home_url(app, request)
    explanation = _EXPLANATIONS.get(exc.status, "")
    main = (
        f'<div class="card"><p class="eyebrow">Error {exc.status}</p>'
        f"<h1>{_e(title)}</h1><p>{_e(exc.message)}</p>"
        + (f"<p>{_e(explanation)}</p>" if explanation else "")
        + f'<p class="actions"><a class="button" href="{_e(home_url)}">Shorten a link</a>'
        "</p></div>"
    )
    return _page(exc.status, title, main, home_url, extra=extra)
