"""The HTML page builders: escaping of every field, the form round trip, the chart,
the QR code with and without segno, the error pages and the page headers."""

from __future__ import annotations

import base64
import hashlib
import json
import random
import re
import sys
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import unquote, urlencode

import pytest

from minilink import Config, Shortener
from minilink.core import pages
from minilink.core.app import App
from minilink.core.http import Request, Response
from minilink.core.links import Link
from minilink.core.service import Stats
from minilink.storage.memory import MemoryStore

NOW = datetime(2026, 11, 28, 13, 0, tzinfo=timezone.utc)
FORM = "application/x-www-form-urlencoded"
HOSTILE = "<script>alert(1)</script>\"'&"


def make_app(**options: Any) -> App:
    config = Config(**{"rate_limit": 0, **options})
    return App(
        Shortener(MemoryStore(), config, clock=lambda: NOW, randbelow=random.Random(5).randrange)
    )


def get(app: App, path: str, query: str = "", **headers: str) -> Response:
    return app.handle(
        Request(method="GET", path=path, query=query, headers={"host": "sho.rt", **headers})
    )


def post_form(app: App, fields: dict[str, str], **headers: str) -> Response:
    body = urlencode(fields).encode()
    h = {"host": "sho.rt", "content-type": FORM, "content-length": str(len(body)), **headers}
    return app.handle(Request(method="POST", path="/", headers=h, body=body))


def text(response: Response) -> str:
    return response.body.decode("utf-8")


def element(html: str, element_id: str) -> str:
    """The opening tag of the element with ``id``."""
    match = re.search(rf'<[a-z]+[^>]* id="{element_id}"[^>]*>', html)
    assert match, element_id
    return match.group(0)


def sha256(source: str) -> str:
    return base64.b64encode(hashlib.sha256(source.encode()).digest()).decode()


# -- headers and policy --------------------------------------------------------------


def test_every_page_has_the_headers_and_a_strict_policy() -> None:
    app = make_app()
    code = app.shortener.shorten("https://example.com/").code
    for response in (get(app, "/"), get(app, f"/{code}+"), get(app, "/nope")):
        assert response.header("content-type") == "text/html; charset=utf-8"
        assert response.header("content-security-policy") == pages.CSP
        assert response.header("x-content-type-options") == "nosniff"
        assert response.header("referrer-policy") == "no-referrer"
        assert response.header("content-length") == str(len(response.body))
    assert "unsafe" not in pages.CSP
    assert "default-src 'none'" in pages.CSP
    assert "http" not in pages.CSP, "no external origin"


def test_inline_style_and_script_are_exactly_the_hashed_ones() -> None:
    app = make_app()
    code = app.shortener.shorten("https://example.com/").code
    html = text(get(app, f"/{code}+"))
    styles = re.findall(r"<style>(.*?)</style>", html, re.S)
    scripts = re.findall(r"<script>(.*?)</script>", html, re.S)
    assert len(styles) == 1 and len(scripts) == 1
    assert f"style-src 'sha256-{sha256(styles[0])}'" in pages.CSP
    assert f"script-src 'sha256-{sha256(scripts[0])}'" in pages.CSP
    assert " style=" not in html and " on" not in re.sub(r">[^<]*<", "><", html)


def test_the_script_is_only_on_the_preview() -> None:
    app = make_app()
    assert "<script" not in text(get(app, "/"))
    assert "<script" not in text(get(app, "/nope"))


# -- the form --------------------------------------------------------------------------


def test_home_has_a_label_for_every_field() -> None:
    html = text(get(make_app(), "/"))
    controls = re.findall(r'<(?:input|select)[^>]* id="([a-z_]+)"', html)
    assert controls == ["url", "alias", "expires_in"]
    for name in controls:
        assert f'<label for="{name}">' in html
    for value, label in pages.EXPIRY_CHOICES:
        assert f'<option value="{value}"' in html and label in html


def test_home_prefill_is_escaped() -> None:
    html = text(get(make_app(), "/", urlencode({"url": HOSTILE})))
    assert "<script>alert" not in html
    assert 'value="&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#x27;&amp;"' in html


def test_bookmarklet_opens_the_form_for_the_current_page() -> None:
    html = text(get(make_app(), "/"))
    href = re.search(r'class="bookmarklet" href="([^"]*)"', html)
    assert href
    url = href.group(1).replace("&amp;", "&")
    assert url.startswith("javascript:")
    assert unquote(url[len("javascript:") :]) == (
        'location.href="http://sho.rt/?url="+encodeURIComponent(location.href)'
    )


@pytest.mark.parametrize(
    "origin",
    ["http://a.b/s'x", 'http://a.b/"x', "http://a.b/%22x", "http://a.b/</a>", "http://a.b/\\"],
    ids=["quote", "double-quote", "percent", "tag", "backslash"],
)
def test_bookmarklet_keeps_a_strange_origin_inside_its_string(origin: str) -> None:
    url = pages.bookmarklet(origin + "/")
    for forbidden in ('"', "'", "<", ">", " ", "\\"):
        assert forbidden not in url
    code = unquote(url[len("javascript:") :])
    literal = code[len("location.href=") : code.index("+encodeURIComponent")]
    assert json.loads(literal) == origin + "/?url="


def test_form_creates_with_expiry_and_redirects_to_the_preview() -> None:
    app = make_app()
    response = post_form(
        app, {"url": "https://example.com/x", "alias": "docs", "expires_in": "86400"}
    )
    assert response.status == 303
    assert response.header("location") == "http://sho.rt/docs+"
    link = app.shortener.resolve("docs")
    assert link.expires_at == NOW + timedelta(days=1)


def test_form_without_expiry_never_expires() -> None:
    app = make_app()
    response = post_form(app, {"url": "https://example.com/x", "expires_in": ""})
    assert response.status == 303
    code = (response.header("location") or "").rsplit("/", 1)[1][:-1]
    assert app.shortener.resolve(code).expires_at is None


@pytest.mark.parametrize(
    ("fields", "field", "status"),
    [
        ({"url": "javascript:alert(1)"}, "url", 400),
        ({"url": "https://example.com/", "alias": "a b"}, "alias", 400),
        ({"url": "https://example.com/", "alias": "api"}, "alias", 400),
        ({"url": "https://example.com/", "expires_in": "5"}, "expires_in", 400),
    ],
    ids=["scheme", "alias-grammar", "alias-reserved", "expiry-off-list"],
)
def test_form_error_sits_next_to_its_field(fields: dict[str, str], field: str, status: int) -> None:
    app = make_app()
    response = post_form(app, fields)
    assert response.status == status
    html = text(response)
    tag = element(html, field)
    assert 'aria-invalid="true"' in tag and "autofocus" in tag
    assert f"{field}-error" in tag
    assert f'<p class="error" id="{field}-error">' in html
    assert app.shortener.links() == []


def test_form_error_keeps_every_value_escaped() -> None:
    app = make_app()
    response = post_form(app, {"url": "javascript:" + HOSTILE, "alias": HOSTILE})
    html = text(response)
    assert response.status == 400
    assert "<script>alert" not in html
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#x27;&amp;"
    assert f'value="javascript:{escaped}"' in html
    assert f'value="{escaped}"' in html


def test_form_keeps_the_chosen_expiry_on_error() -> None:
    html = text(post_form(make_app(), {"url": "ftp://example.com/", "expires_in": "3600"}))
    assert '<option value="3600" selected>' in html
    assert '<option value="" selected>' not in html


def test_taken_alias_is_shown_on_the_alias_field() -> None:
    app = make_app()
    app.shortener.shorten("https://example.com/", alias="docs")
    response = post_form(app, {"url": "https://example.com/other", "alias": "docs"})
    assert response.status == 409
    assert 'aria-invalid="true"' in element(text(response), "alias")


def test_a_form_error_about_no_field_is_an_alert() -> None:
    body = b"url=https%3A%2F%2Fa.b%2F&url=https%3A%2F%2Fc.d%2F"
    h = {"host": "sho.rt", "content-type": FORM, "content-length": str(len(body))}
    response = make_app().handle(Request(method="POST", path="/", headers=h, body=body))
    assert response.status == 400
    html = text(response)
    assert '<p class="error" role="alert">' in html and "more than once" in html
    assert 'aria-invalid="true"' not in html


# -- the preview -----------------------------------------------------------------------


def test_preview_shows_the_link() -> None:
    app = make_app()
    link = app.shortener.shorten("https://example.com/a?b=1&c=2", max_visits=5)
    app.shortener.visit(link.code)
    html = text(get(app, f"/{link.code}+"))
    assert f'<a id="short-url" href="http://sho.rt/{link.code}">' in html
    assert '<p class="target" id="target">https://example.com/a?b=1&amp;c=2</p>' in html
    assert '<time datetime="2026-11-28T13:00:00Z">2026-11-28 13:00 UTC</time>' in html
    assert "<dt>Expires</dt><dd>Never</dd>" in html
    assert '<span id="hits">1</span> of 5 allowed' in html
    assert app.shortener.resolve(link.code).hits == 1, "the preview counts nothing"


def test_preview_shows_idn_hosts_as_punycode() -> None:
    app = make_app()
    link = app.shortener.shorten("https://bücher.example/")
    html = text(get(app, f"/{link.code}+"))
    assert '<strong id="target-host">xn--bcher-kva.example</strong>' in html
    assert "punycode" in html
    assert "bücher" not in html
    plain = text(get(app, f"/{app.shortener.shorten('https://example.com/').code}+"))
    assert "punycode" not in plain


def _link(**fields: Any) -> Link:
    values: dict[str, Any] = {"code": "abc", "url": "https://example.com/", "created_at": NOW}
    values.update(fields)
    return Link(**values)


@pytest.mark.parametrize(
    ("link", "short", "daily"),
    [
        (_link(url=f"https://example.com/{HOSTILE}"), "http://sho.rt/abc", (("2026-11-28", 0),)),
        (_link(code=HOSTILE), "http://sho.rt/abc", (("2026-11-28", 0),)),
        (_link(), f"http://sho.rt/{HOSTILE}", (("2026-11-28", 0),)),
        (_link(), "http://sho.rt/abc", ((HOSTILE, 3),)),
        (_link(url=f"https://{HOSTILE}/"), "http://sho.rt/abc", (("2026-11-28", 0),)),
    ],
    ids=["url", "code", "short-url", "day", "host"],
)
def test_preview_escapes_every_field(link: Link, short: str, daily: Any) -> None:
    stats = Stats(code=link.code, hits=0, daily=daily)
    html = pages._preview_main(link, short, stats, pages.qr_svg(short, inline=True))
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    assert "\"'" not in html


def test_preview_of_unknown_and_gone_links() -> None:
    app = make_app()
    assert get(app, "/nope+").status == 404
    code = app.shortener.shorten("https://example.com/").code
    app.shortener.delete(code)
    gone = get(app, f"/{code}+")
    assert gone.status == 410
    assert "This link is gone" in text(gone)


# -- the chart -------------------------------------------------------------------------


def test_chart_bars_are_proportional_with_a_text_equivalent() -> None:
    daily = (("2026-11-26", 0), ("2026-11-27", 4), ("2026-11-28", 2))
    html = pages.chart(daily)
    rects = re.findall(
        r'<rect class="(bar0?)" x="[^"]+" y="([^"]+)" width="[^"]+" '
        r'height="([^"]+)"><title>([^<]+)</title>',
        html,
    )
    assert [(kind, float(h), title) for kind, _, h, title in rects] == [
        ("bar0", 1.0, "2026-11-26: 0"),
        ("bar", 64.0, "2026-11-27: 4"),
        ("bar", 32.0, "2026-11-28: 2"),
    ]
    assert all(float(y) + float(h) == 64 for _, y, h, _ in rects), "bars stand on one line"
    assert 'role="img" aria-labelledby="chart-summary"' in html
    summary = re.sub(r"<[^>]+>", "", html.split('id="chart-summary">')[1].split("</fig")[0])
    assert summary == (
        "6 visits from 2026-11-26 to 2026-11-28. The busiest day was 2026-11-27 with 4."
    )
    assert html.count("<tr><td>") == 3
    assert "<tr><td>2026-11-27</td><td>4</td></tr>" in html


@pytest.mark.parametrize(
    ("daily", "summary"),
    [
        ((("2026-11-28", 0),) * 30, "0 visits from"),
        ((("2026-11-27", 0), ("2026-11-28", 1)), "1 visit from"),
        ((), "0 visits from  to ."),
    ],
    ids=["none", "one", "empty"],
)
def test_chart_edges(daily: tuple[tuple[str, int], ...], summary: str) -> None:
    html = pages.chart(daily)
    assert summary in re.sub(r"<[^>]+>", "", html)
    assert html.count("<rect") == len(daily)
    assert "busiest" not in html or any(hits for _, hits in daily)


def test_preview_chart_covers_30_days() -> None:
    app = make_app()
    code = app.shortener.shorten("https://example.com/").code
    app.shortener.visit(code)
    html = text(get(app, f"/{code}+"))
    assert html.count("<rect class=") == 30
    assert html.count('<rect class="bar" ') == 1
    assert "2026-10-30" in html and "2026-11-28: 1" in html


# -- the QR code -----------------------------------------------------------------------


def _dark_modules(svg: str) -> int:
    return sum(int(n) for n in re.findall(r"M\d+ \d+h(\d+)v1h-\d+z", svg))


def test_qr_svg_draws_segno_matrix() -> None:
    import segno

    text_ = "http://sho.rt/abc"
    svg = pages.qr_svg(text_, inline=True)
    assert svg is not None and svg.startswith("<svg ")
    matrix = segno.make(text_, error="m", micro=False).matrix
    size = len(matrix) + 8
    assert f'viewBox="0 0 {size} {size}"' in svg
    assert _dark_modules(svg) == sum(sum(row) for row in matrix)
    assert 'role="img" aria-label="QR code of http://sho.rt/abc"' in svg
    standalone = pages.qr_svg(text_, inline=False)
    assert standalone is not None
    assert standalone.startswith('<?xml version="1.0" encoding="utf-8"?>\n<svg ')


def test_qr_label_is_escaped() -> None:
    svg = pages.qr_svg(f"http://sho.rt/{HOSTILE}", inline=True)
    assert svg is not None and "<script>" not in svg and "&lt;script&gt;" in svg


def test_qr_route() -> None:
    app = make_app()
    code = app.shortener.shorten("https://example.com/").code
    response = get(app, f"/{code}.svg")
    assert response.status == 200
    assert response.header("content-type") == "image/svg+xml"
    assert response.header("content-security-policy") == pages.CSP
    assert response.header("x-content-type-options") == "nosniff"
    assert response.header("content-length") == str(len(response.body))
    assert response.body == (pages.qr_svg(f"http://sho.rt/{code}", inline=False) or "").encode()
    head = app.handle(Request(method="HEAD", path=f"/{code}.svg", headers={"host": "sho.rt"}))
    assert (head.status, head.headers, head.body) == (200, response.headers, b"")
    post = app.handle(Request(method="POST", path=f"/{code}.svg", headers={"host": "sho.rt"}))
    assert post.status == 405


@pytest.mark.parametrize("path", ["/nope.svg", "/.svg", "/a b.svg", "/a.b.svg", "/x+.svg"])
def test_qr_route_of_no_link_is_404(path: str) -> None:
    response = get(make_app(), path)
    assert response.status == 404
    assert response.header("content-type") == "text/html; charset=utf-8"


def test_qr_route_of_a_gone_link_is_410() -> None:
    app = make_app()
    code = app.shortener.shorten("https://example.com/").code
    app.shortener.delete(code)
    assert get(app, f"/{code}.svg").status == 410


def test_preview_draws_the_qr_code() -> None:
    app = make_app()
    code = app.shortener.shorten("https://example.com/").code
    html = text(get(app, f"/{code}+"))
    assert f'aria-label="QR code of http://sho.rt/{code}"' in html
    assert f'href="http://sho.rt/{code}.svg"' in html
    assert "qr</code> extra" not in html


def test_without_segno_the_preview_says_how_to_get_qr_codes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "segno", None)  # makes "import segno" fail
    assert pages.qr_svg("http://sho.rt/abc", inline=True) is None
    app = make_app()
    code = app.shortener.shorten("https://example.com/").code
    html = text(get(app, f"/{code}+"))
    assert get(app, f"/{code}+").status == 200
    assert "<code>pip install 'minilink[qr]'</code>" in html
    assert "QR code of" not in html
    response = get(app, f"/{code}.svg")
    assert response.status == 404
    assert "minilink[qr]" in text(response)
    # The link exists: the page must not say it does not.
    assert "Link not found" not in text(response)
    assert "No QR codes here" in text(response)


# -- robots.txt, caching and descriptions ----------------------------------------------


@pytest.mark.parametrize("root", ["", "/s"], ids=["top", "mounted"])
def test_robots_txt_keeps_crawlers_off_the_api_and_previews(root: str) -> None:
    response = make_app().handle(
        Request(method="GET", path="/robots.txt", root=root, headers={"host": "sho.rt"})
    )
    assert response.status == 200
    assert response.header("content-type") == "text/plain; charset=utf-8"
    lines = text(response).splitlines()
    assert lines[0] == "User-agent: *"
    assert f"Disallow: {root}/api/" in lines
    assert f"Disallow: {root}/*+$" in lines
    assert f"Disallow: {root}/*.svg$" in lines
    # Short links themselves stay open: crawlers are redirected, not counted.
    assert f"Disallow: {root}/" not in lines


def test_every_html_page_says_not_to_reuse_a_stored_copy_and_describes_itself() -> None:
    app = make_app()
    code = app.shortener.shorten("https://example.com/").code
    for path in ("/", f"/{code}+", "/nothing-here"):
        response = get(app, path)
        assert response.header("cache-control") == "no-cache", path
        assert re.search(r'<meta name="description" content="[^"]{20,}">', text(response)), path
    preview = text(get(app, f"/{code}+"))
    assert f"Where the short link http://sho.rt/{code} leads" in preview


@pytest.mark.parametrize(
    ("root", "home"),
    [("", "http://sho.rt/"), ("/s", "http://sho.rt/s"), ("/cgi-bin/minilink.cgi", None)],
    ids=["top", "mounted", "cgi-script"],
)
def test_a_mounted_home_is_written_without_a_trailing_slash(root: str, home: str | None) -> None:
    # busybox httpd never hands a path ending in "/" to a CGI script.
    expected = home or f"http://sho.rt{root}"
    response = make_app().handle(
        Request(method="GET", path="/", root=root, headers={"host": "sho.rt"})
    )
    html = text(response)
    assert f'<form method="post" action="{expected}">' in html
    assert f'<header><a href="{expected}">' in html
    bookmarklet = re.search(r'class="bookmarklet" href="([^"]*)"', html)
    assert bookmarklet
    assert json.dumps(expected + "?url=") in unquote(bookmarklet.group(1).replace("&amp;", "&"))


# -- errors ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "status", "title"),
    [("/NoSuch", 404, "Link not found"), ("/a/b/c", 404, "Link not found")],
)
def test_error_pages_say_what_happened_and_link_home(path: str, status: int, title: str) -> None:
    response = get(make_app(), path)
    html = text(response)
    assert response.status == status
    assert f"<h1>{title}</h1>" in html
    assert f"Error {status}" in html
    assert '<a class="button" href="http://sho.rt/">Shorten a link</a>' in html


def test_error_page_escapes_the_message() -> None:
    html = text(get(make_app(), "/<b>x"))
    assert "<b>" not in html


def test_error_page_with_a_bad_host_links_home_relatively() -> None:
    for path, status in (("/nope", 404), ("/", 400)):
        response = get(make_app(), path, host="bad host!")
        assert response.status == status
        assert '<a class="button" href="/">' in text(response)


def test_gone_page_explains_that_codes_are_not_reused() -> None:
    app = make_app()
    code = app.shortener.shorten("https://example.com/").code
    app.shortener.delete(code)
    html = text(get(app, f"/{code}"))
    assert "never given to another link" in html


def test_a_redirect_imports_no_page_code() -> None:
    """The redirect (under CGI, the whole life of a process) never pays for pages.py,
    html or segno; a preview does."""
    import subprocess

    script = (
        "import sys\n"
        "from minilink import Shortener\n"
        "from minilink.core.app import App\n"
        "from minilink.core.http import Request\n"
        "from minilink.storage.memory import MemoryStore\n"
        "app = App(Shortener(MemoryStore()))\n"
        "code = app.shortener.shorten('https://example.com/').code\n"
        "for name in ('minilink.core.pages', 'html', 'segno'): sys.modules.pop(name, None)\n"
        "r = app.handle(Request(path='/' + code, headers={'host': 'sho.rt'}))\n"
        "assert r.status == 302, r\n"
        "print(sorted(n for n in ('minilink.core.pages', 'html', 'segno') if n in sys.modules))\n"
        "app.handle(Request(path='/' + code + '+', headers={'host': 'sho.rt'}))\n"
        "print(sorted(n for n in ('minilink.core.pages', 'html', 'segno') if n in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    ).stdout.splitlines()
    assert out == ["[]", "['html', 'minilink.core.pages', 'segno']"]


# -- link options and protected links on the pages (SPEC section 9) -------------------

SECRET = "https://secret.example/t0p?k=v"


def test_preview_shows_the_redirect_options() -> None:
    app = make_app(redirect_status=301)
    app.shortener.shorten(
        "https://example.com/",
        alias="opts",
        redirect_status=307,
        forward_query=True,
        fallback_url=f"https://example.com/{HOSTILE}",
    )
    app.shortener.shorten("https://example.com/plain", alias="plain")
    html = text(get(app, "/opts+"))
    assert '<dd id="redirect-status">307 Temporary Redirect</dd>' in html
    assert '<dd id="forward-query">Added to the target</dd>' in html
    assert (
        '<dd id="fallback-url">Sends visitors to <span id="fallback">https://example.com/'
        "%3Cscript%3Ealert(1)%3C/script%3E%22&#x27;&amp;</span></dd>"
    ) in html
    assert 'id="title"' not in html and 'id="tags"' not in html
    plain = text(get(app, "/plain+"))
    assert '<dd id="redirect-status">301 Moved Permanently (the default)</dd>' in plain
    assert '<dd id="forward-query">Not passed on</dd>' in plain
    assert '<dd id="fallback-url">Answers 410 Gone</dd>' in plain


def test_the_preview_of_a_protected_link_reveals_nothing_of_its_target() -> None:
    app = make_app()
    app.shortener.shorten(
        SECRET, alias="pw", password="open sesame", fallback_url="https://secret.example/x"
    )
    response = get(app, "/pw+")
    html = text(response)
    assert response.status == 200
    assert 'id="protected"' in html and 'id="target"' not in html
    for piece in ("secret.example", "t0p", "k=v"):
        assert piece not in html
        assert all(piece not in value for _, value in response.headers)
    assert "not shown: the link is protected" in html
    assert 'href="http://sho.rt/pw"' in html
    assert 'aria-label="QR code of http://sho.rt/pw"' in html


def test_the_qr_code_of_a_protected_link_is_the_short_url() -> None:
    app = make_app()
    app.shortener.shorten(SECRET, alias="pw", password="open sesame")
    response = get(app, "/pw.svg")
    assert response.status == 200
    assert response.body == (pages.qr_svg("http://sho.rt/pw", inline=False) or "").encode()
    assert b"secret" not in response.body


def test_the_password_form_is_accessible_and_never_stored() -> None:
    app = make_app()
    app.shortener.shorten(SECRET, alias="pw", password="open sesame")
    response = get(app, "/pw")
    html = text(response)
    assert response.header("cache-control") == "no-store"
    assert response.header("content-security-policy") == pages.CSP
    assert '<label for="password">Password</label>' in html
    tag = element(html, "password")
    assert 'type="password"' in tag and "required" in tag and 'maxlength="1000"' in tag
    assert 'autocomplete="current-password"' in tag
    assert "<script>" not in html
    assert re.search(r'<meta name="description" content="[^"]{20,}">', html)


def test_the_password_error_sits_next_to_the_field() -> None:
    app = make_app()
    html = text(
        pages.password_form(app, Request(headers={"host": "sho.rt"}), "pw", 403, error=HOSTILE)
    )
    tag = element(html, "password")
    assert 'aria-invalid="true"' in tag and "autofocus" in tag
    assert 'aria-describedby="password-error"' in tag
    assert "<script>alert" not in html and "&lt;script&gt;" in html


def test_preview_shows_title_and_tags_escaped() -> None:
    app = make_app()
    app.shortener.shorten(
        "https://example.com/", alias="tt", title=f"Notes {HOSTILE}", tags=["Docs", "q4"]
    )
    html = text(get(app, "/tt+"))
    assert (
        '<dd id="title">Notes &lt;script&gt;alert(1)&lt;/script&gt;&quot;&#x27;&amp;</dd>' in html
    )
    assert '<dd id="tags">docs, q4</dd>' in html
