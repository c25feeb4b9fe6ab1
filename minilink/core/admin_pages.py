"""The HTML of the management pages (``/admin/``): layout, style, forms and tables.

Built as ``minilink.core.pages`` builds the public pages: small functions and
``html.escape`` (``_e``) on every value that came from a user, a link or an imported
file; nothing is marked "safe". The one stylesheet is the public pages' with a few
rules for tables and the menu, inline and allowed by its hash; there is no script at
all (``script-src 'none'``), so every page works without JavaScript by construction.
Pages are never stored (``Cache-Control: no-store``), never framed
(``frame-ancestors 'none'`` and ``X-Frame-Options: DENY``), and send the referrer
only to this site (``same-origin``), so that a form post carries its ``Origin``.
"""

from __future__ import annotations

import base64
import hashlib
from html import escape

from minilink.core import pages
from minilink.core.http import Response

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Optional

__all__ = ["CSP", "e", "field", "page", "select", "table"]

_STYLE = (
    pages._STYLE
    + """
main{max-width:64rem}
nav{background:var(--card);border-bottom:1px solid var(--line);padding:.25rem 1rem}
nav ul{display:flex;flex-wrap:wrap;gap:.25rem 1rem;list-style:none;margin:0 auto;padding:0;
max-width:62rem;align-items:center}
nav a{display:inline-block;padding:.6rem 0;font-weight:600}
nav a[aria-current=page]{color:var(--fg);text-decoration:none;
border-bottom:3px solid var(--accent)}
nav form{margin:0 0 0 auto}
nav button{min-height:2.5rem;padding:.3rem .9rem}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(10rem,1fr));gap:1rem;
margin:0 0 1.25rem}
.stat{background:var(--card);border:1px solid var(--line);border-radius:12px;padding:1rem}
.stat p{margin:0;color:var(--muted);font-size:.9rem}
.stat strong{display:block;font-size:1.6rem}
.scroll{overflow-x:auto}
.links{width:100%;margin:0}
.links td,.links th{padding:.5rem .75rem .5rem 0;vertical-align:top}
.url{overflow-wrap:anywhere}
.filters{display:grid;grid-template-columns:2fr 1fr 1fr 1fr;gap:0 1rem;align-items:end}
@media (max-width:40rem){.filters{grid-template-columns:1fr}}
.check{display:flex;gap:.5rem;align-items:center;font-weight:600}
.check input{width:1.5rem;min-height:1.5rem}
.danger{background:var(--err);color:var(--on-accent)}
.ok{color:var(--fg);font-weight:600}
textarea{display:block;width:100%;font:inherit}
.pager{display:flex;justify-content:flex-end;margin:1rem 0 0}
caption{text-align:left;margin:0 0 .5rem}
.chart{max-width:42rem}
@media (max-width:40rem){dl{grid-template-columns:1fr;gap:0}dd{margin:0 0 .6rem}
.links thead{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
.links tr{display:block;border-bottom:1px solid var(--line);padding:.5rem 0}
.links td{display:block;border:0;padding:.15rem 0}
.links td::before{content:attr(data-label) ": ";font-weight:600}}
"""
)

STYLE_SHA256 = base64.b64encode(hashlib.sha256(_STYLE.encode("utf-8")).digest()).decode()

#: No script at all; the one stylesheet by hash; forms post only here; no framing.
CSP = (
    "default-src 'none'; "
    f"style-src 'sha256-{STYLE_SHA256}'; "
    "script-src 'none'; "
    "img-src 'self' data:; "
    "form-action 'self'; "
    "base-uri 'none'; "
    "frame-ancestors 'none'"
)

HEADERS = (
    ("Content-Security-Policy", CSP),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
    ("X-Frame-Options", "DENY"),
    ("Cache-Control", "no-store"),
)

#: The menu: ``(path below /admin/, label)``.
MENU = (
    ("", "Overview"),
    ("links", "Links"),
    ("new", "New link"),
    ("tags", "Tags"),
    ("import", "Import"),
    ("export", "Export"),
)


def e(value: object) -> str:
    """``value`` as HTML text (quotes escaped too)."""
    return escape(str(value), quote=True)


def page(
    status: int,
    title: str,
    main: str,
    base: str,
    *,
    current: Optional[str] = None,
    signout: Optional[str] = None,
    extra: tuple[tuple[str, str], ...] = (),
) -> Response:
    """A whole admin page. ``base`` is the path of ``/admin/`` (ending in ``/``);
    ``current`` the menu entry shown as the current page; ``signout`` the CSRF token
    of the sign-out form (``None``: signed out, no menu)."""
    nav = ""
    if signout is not None:
        items = "".join(
            f'<li><a href="{e(base + path)}"'
            + (' aria-current="page"' if path == current else "")
            + f">{label}</a></li>"
            for path, label in MENU
        )
        nav = (
            f'<nav aria-label="Management"><ul>{items}<li><form method="post" '
            f'action="{e(base)}signout"><input type="hidden" name="csrf" '
            f'value="{e(signout)}"><button type="submit" class="button quiet">Sign out'
            "</button></form></li></ul></nav>"
        )
    document = (
        "<!doctype html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="robots" content="noindex">'
        f"<title>{e(title)} · minilink admin</title>"
        '<link rel="icon" href="data:,">'
        f"<style>{_STYLE}</style></head><body>"
        f'<header><a href="{e(base)}">mini<span>link</span> admin</a></header>'
        f"{nav}<main>{main}</main>"
        "<footer><p>minilink counts visits per day and keeps nothing about visitors.</p>"
        "</footer></body></html>\n"
    )
    body = document.encode("utf-8")
    return Response(
        status,
        (
            ("Content-Type", "text/html; charset=utf-8"),
            ("Content-Length", str(len(body))),
            *HEADERS,
            *extra,
        ),
        body,
    )


def field(name: str, label: str, control: str, errors: dict[str, str], hint: str = "") -> str:
    """A labelled control (``<CONTROL`` marks where its attributes go) with its hint
    and its error, linked by ``aria-describedby``."""
    return pages._field(name, label, control, hint, errors)


def text_input(name: str, value: str, *, kind: str = "text", attrs: str = "") -> str:
    return f'<input<CONTROL type="{kind}" value="{e(value)}"{attrs}>'


def select(options: Sequence[tuple[str, str]], chosen: str) -> str:
    """A ``<select>`` control of ``(value, label)`` pairs, ``chosen`` selected."""
    items = "".join(
        f'<option value="{e(value)}"{" selected" if value == chosen else ""}>{e(label)}</option>'
        for value, label in options
    )
    return f"<select<CONTROL>{items}</select>"


def checkbox(name: str, label: str, checked: bool, hint: str = "") -> str:
    """A checkbox with its label on the right."""
    described = f' aria-describedby="{name}-hint"' if hint else ""
    after = f'<p class="hint" id="{name}-hint">{hint}</p>' if hint else ""
    return (
        f'<div class="field"><label class="check" for="{name}"><input type="checkbox" '
        f'id="{name}" name="{name}" value="1"{" checked" if checked else ""}{described}>'
        f"{label}</label>{after}</div>"
    )


def hidden(name: str, value: str) -> str:
    return f'<input type="hidden" name="{e(name)}" value="{e(value)}">'


def table(caption: str, head: Sequence[str], rows: Sequence[Sequence[str]], klass: str) -> str:
    """A table; ``rows`` hold HTML already escaped by the caller."""
    heads = "".join(f'<th scope="col">{h}</th>' for h in head)
    # data-label: a phone shows each row as a card, every cell named by its column.
    body = "".join(
        "<tr>" + "".join(f'<td data-label="{e(h)}">{c}</td>' for h, c in zip(head, row)) + "</tr>"
        for row in rows
    )
    return (
        f'<div class="scroll"><table class="{klass}"><caption class="hint">{caption}'
        f"</caption><thead><tr>{heads}</tr></thead><tbody>{body}</tbody></table></div>"
    )


def general_error(errors: dict[str, str]) -> str:
    """The error that is about no one field, if any."""
    if "" not in errors:
        return ""
    return f'<p class="error" role="alert">{e(errors[""])}</p>'
