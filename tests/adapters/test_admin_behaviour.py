"""The management pages through every adapter: one scripted admin session, the same
answers from CGI, WSGI and ASGI (``helpers.run_scenario`` compares the transcripts).

The client is no browser: each scenario carries the session cookie from the
``Set-Cookie`` it was given and reads each form's CSRF token from the page, as a
browser would. Paths are written below the client's mount point (``c.root``), so
the scenarios run under a prefix too (``tests/servers/test_live.py`` runs them under
the real servers).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Callable, Optional
from urllib.parse import urlencode

import pytest
from helpers import ADMIN, CGI_RUNS, HTML_TYPE, Case, Scenario, run_scenario

from minilink.testing.clients import Client, Result

FORM = "application/x-www-form-urlencoded"
ADMIN_SCENARIOS: list[Scenario] = []


class Session:
    """A signed-in admin over one client: its cookie, and the pages' CSRF tokens."""

    def __init__(self, c: Client) -> None:
        self.c = c
        self.cookie: Optional[str] = None

    def _headers(self, extra: Optional[dict[str, str]] = None) -> dict[str, str]:
        headers = dict(extra or {})
        if self.cookie is not None:
            headers["Cookie"] = f"minilink_admin={self.cookie}"
        return headers

    def _keep(self, result: Result) -> Result:
        setting = result.header("set-cookie")
        if setting is not None:
            self.cookie = setting.split(";")[0].split("=", 1)[1] or None
        return result

    def get(self, path: str, *, cookie: Optional[str] = None) -> Result:
        headers = self._headers()
        if cookie is not None:
            headers["Cookie"] = f"minilink_admin={cookie}"
        return self._keep(self.c.get(self.c.root + path, headers=headers))

    def post(self, path: str, fields: dict[str, str], *, cookie: Optional[str] = None) -> Result:
        headers = self._headers({"Content-Type": FORM})
        if cookie is not None:
            headers["Cookie"] = f"minilink_admin={cookie}"
        body = urlencode(fields).encode()
        return self._keep(self.c.request("POST", self.c.root + path, headers=headers, body=body))

    def csrf(self, page: Result) -> str:
        found = re.search(rb'name="csrf" value="([0-9a-f]+)"', page.body.split(b"<main>")[-1])
        assert found, page.body[:500]
        return found.group(1).decode()

    def signout_csrf(self, page: Result) -> str:
        found = re.search(
            rb'signout"><input type="hidden" name="csrf" value="([0-9a-f]+)"', page.body
        )
        assert found
        return found.group(1).decode()


def admin_scenario(id: str, **options: Any) -> Callable[[Case], Case]:
    def register(fn: Case) -> Case:
        ADMIN_SCENARIOS.append(Scenario(id, fn, **options))
        return fn

    return register


def page(result: Result, status: int = 200) -> str:
    assert result.status == status, (result.status, result.body[:500])
    assert result.header("content-type") == HTML_TYPE
    assert result.header("cache-control") == "no-store"
    assert result.header("x-frame-options") == "DENY"
    assert "frame-ancestors 'none'" in (result.header("content-security-policy") or "")
    return result.body.decode()


def see_other(result: Result, path: str) -> None:
    assert result.status == 303, (result.status, result.body[:500])
    assert (result.header("location") or "").endswith("/admin/" + path), result.headers


@admin_scenario("admin-session")
def _admin_session(c: Client) -> None:
    s = Session(c)
    see_other(s.get("/admin/"), "signin")
    page(s.get("/admin/signin"))
    assert s.post("/admin/signin", {"token": "wrong"}).status == 403
    assert s.cookie is None
    see_other(s.post("/admin/signin", {"token": ADMIN}), "")
    assert s.cookie is not None
    overview = s.get("/admin/")
    assert "Overview" in page(overview)
    # Create, with a title that must come back escaped everywhere.
    form = s.get("/admin/new")
    page(form)
    created = s.post(
        "/admin/new",
        {
            "csrf": s.csrf(form),
            "url": "https://example.com/<a>",
            "alias": "docs",
            "title": "<b>Docs</b>",
            "tags": "work",
        },
    )
    see_other(created, "links/docs")
    text = page(s.get("/admin/links/docs"))
    assert "&lt;b&gt;Docs&lt;/b&gt;" in text and "<b>Docs" not in text
    # The export, streamed (no Content-Length: the server frames it).
    export = s.get("/admin/export")
    assert export.status == 200 and export.header("content-length") is None
    assert export.body.count(b"\n") == 2 and b'"code":"docs"' in export.body
    # Search and filter.
    assert "/admin/links/docs" in page(s.get("/admin/links?q=docs&tag=work"))
    assert "/admin/links/docs" not in page(s.get("/admin/links?q=nothing"))
    page(s.get("/admin/links?state=weird"), 400)
    page(s.get("/admin/tags"))
    # Edit: a refused value first (the input kept), then a good one.
    link = s.get("/admin/links/docs?days=7")
    token = s.csrf(link)
    refused = s.post(
        "/admin/links/docs",
        {"csrf": token, "revision": "0", "url": "javascript:alert(1)", "max_visits": "x"},
    )
    text = page(refused, 400)
    assert 'id="url-error"' in text and 'id="max_visits-error"' in text
    saved = s.post(
        "/admin/links/docs",
        {"csrf": token, "revision": "0", "url": "https://example.com/new", "title": "New"},
    )
    see_other(saved, "links/docs?saved=1")
    assert c.get(c.root + "/docs").header("location") == "https://example.com/new"
    # A post without the token changes nothing.
    assert s.post("/admin/links/docs/delete", {"csrf": "0" * 40}).status == 403
    assert c.get(c.root + "/docs").status == 302
    # Delete, after the confirmation page.
    confirm = s.get("/admin/links/docs/delete")
    page(confirm)
    see_other(s.post("/admin/links/docs/delete", {"csrf": s.csrf(confirm)}), "links?state=deleted")
    assert c.get(c.root + "/docs").status == 410
    # Sign out; the old cookie is refused afterwards.
    kept = s.cookie
    see_other(s.post("/admin/signout", {"csrf": s.signout_csrf(overview)}), "signin")
    assert s.cookie is None
    see_other(s.get("/admin/", cookie=kept), "signin")
    assert s.post("/admin/new", {"url": "https://example.com/"}, cookie=kept).status == 403


# The same session mounted under a prefix: the cookie's Path and every link follow it.
ADMIN_SCENARIOS.append(Scenario("admin-session-under-s", _admin_session, root="/s"))


@admin_scenario("admin-import-export-and-limits")
def _admin_transfer(c: Client) -> None:
    s = Session(c)
    s.post("/admin/signin", {"token": ADMIN})
    form = s.get("/admin/new")
    s.post("/admin/new", {"csrf": s.csrf(form), "url": "https://example.com/x", "alias": "x"})
    export = s.get("/admin/export")
    assert export.status == 200
    assert export.body.startswith(b'{"format":"minilink-links","version":2}\n')
    upload = s.get("/admin/import")
    boundary = "b0undary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="csrf"\r\n\r\n'
            f"{s.csrf(upload)}\r\n"
            f'--{boundary}\r\nContent-Disposition: form-data; name="format"\r\n\r\njsonl\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.jsonl"\r\n'
            "\r\n"
        ).encode()
        + export.body
        + f"\r\n--{boundary}--\r\n".encode()
    )
    headers = {
        "Content-Type": f"multipart/form-data; boundary={boundary}",
        "Cookie": f"minilink_admin={s.cookie}",
    }
    result = c.request("POST", c.root + "/admin/import", headers=headers, body=body)
    assert "their codes are already taken here" in page(result)
    # Failed sign-ins are limited per client (a new client: no cookie).
    other = Session(c)
    statuses = [other.post("/admin/signin", {"token": "nope"}).status for _ in range(6)]
    assert statuses == [403] * 5 + [429]


@pytest.mark.parametrize("in_process_cgi", CGI_RUNS)
@pytest.mark.parametrize("case", [pytest.param(s, id=s.id) for s in ADMIN_SCENARIOS])
def test_admin_answers_the_same_everywhere(
    case: Scenario, in_process_cgi: bool, tmp_path: Path
) -> None:
    run_scenario(case, tmp_path, in_process_cgi=in_process_cgi)
