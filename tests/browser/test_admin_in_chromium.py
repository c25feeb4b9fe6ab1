"""The management pages in real headless Chromium: a whole admin session, a
cross-origin form post refused, axe-core on every page in the light and the dark
scheme, and screenshots of every page at phone and desktop width
(``screenshots/admin-*.png``)."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

from _browser import ADMIN, Browser, Server


def _wait(condition: Callable[[], Any], what: str, seconds: float = 10.0) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)  # polling the browser's state, not waiting for a server
    raise AssertionError(f"timed out waiting for {what}")


def _find(browser: Browser, selector: str) -> Any:
    from selenium.webdriver.common.by import By

    return browser.driver.find_element(By.CSS_SELECTOR, selector)


def _all(browser: Browser, selector: str) -> list[Any]:
    from selenium.webdriver.common.by import By

    return list(browser.driver.find_elements(By.CSS_SELECTOR, selector))


def _check(browser: Browser, name: str, *, dark: bool = False) -> None:
    """axe-core in both schemes (no serious or critical finding) and screenshots."""
    violations = browser.axe(name)
    bad = [
        (v["scheme"], v["id"], v["impact"], [n["target"] for n in v["nodes"]])
        for v in violations
        if v["impact"] in ("serious", "critical")
    ]
    assert not bad, (name, bad)
    browser.screenshot(name)
    if dark:
        browser.screenshot(name + "-dark", scheme="dark")
    assert browser.console_errors() == [], name


def _submit(browser: Browser, form: str = "main form") -> None:
    _find(browser, f"{form} button[type=submit]").click()


def _type(browser: Browser, field: str, text: str) -> None:
    element = _find(browser, f"#{field}")
    element.clear()
    element.send_keys(text)


def _session_cookie(browser: Browser) -> dict[str, Any]:
    cookie = browser.driver.get_cookie("minilink_admin")
    assert cookie is not None
    return dict(cookie)


def _attacker(target: str, fields: dict[str, str]) -> ThreadingHTTPServer:
    """A page on another origin whose form posts itself to ``target`` at once."""
    inputs = "".join(f'<input name="{k}" value="{v}">' for k, v in fields.items())
    page = (
        f'<form id="f" method="post" action="{target}">{inputs}</form>'
        '<script>document.getElementById("f").submit()</script>'
    ).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_a_whole_admin_session(browser: Browser, server: Server, target: str) -> None:
    from selenium.webdriver.support.select import Select

    admin = server.url + "/admin/"
    browser.get(admin)
    _wait(lambda: browser.driver.title.startswith("Sign in"), "the sign-in page")
    _check(browser, "admin-signin")
    _type(browser, "token", "not-the-token")
    _submit(browser)
    _wait(lambda: "That is not the admin token." in browser.driver.page_source, "the error")
    _type(browser, "token", ADMIN)
    _submit(browser)
    _wait(lambda: browser.driver.title.startswith("Overview"), "the overview")
    cookie = _session_cookie(browser)
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Strict"
    assert cookie["path"] == "/admin/"

    # Create a link with a title that must show escaped.
    browser.get(admin + "new")
    _check(browser, "admin-new")
    _type(browser, "url", f"{target}/first")
    _type(browser, "alias", "browser-link")
    _type(browser, "title", "<i>Browser</i> link")
    _type(browser, "tags", "test, chromium")
    Select(_find(browser, "#redirect_status")).select_by_value("307")
    _submit(browser)
    _wait(lambda: browser.driver.title.startswith("Link browser-link"), "the link page")
    assert "<i>Browser</i> link" in _find(browser, "#shown-title").text  # shown as text
    for other in range(3):
        server.api("POST", "/api/links", {"url": f"{target}/other-{other}", "tags": ["more"]})
    browser.get(admin)
    _check(browser, "admin-overview", dark=True)

    # Search, and open the link.
    browser.get(admin + "links")
    _type(browser, "q", "browser")
    _submit(browser, "form.filters")
    _wait(lambda: "q=browser" in browser.driver.current_url, "the search")
    rows = _all(browser, "table.links tbody tr")
    assert len(rows) == 1
    _check(browser, "admin-links", dark=True)
    _find(browser, 'table.links a[href$="/admin/links/browser-link"]').click()
    _wait(lambda: browser.driver.title.startswith("Link browser-link"), "the link page")
    assert len(_all(browser, ".chart rect")) == 30
    assert _all(browser, ".qr svg[role=img]")
    _check(browser, "admin-link", dark=True)
    _find(browser, 'a[href$="?days=365"]').click()
    _wait(lambda: len(_all(browser, ".chart rect")) == 365, "the year's chart")

    # Edit it: a refused value first, kept with its reason; then a good one.
    _type(browser, "url", "javascript:alert(1)")
    _submit(browser, "main form[action$='/admin/links/browser-link']")
    _wait(lambda: _all(browser, "#url-error"), "the URL's error")
    assert _find(browser, "#url").get_attribute("value") == "javascript:alert(1)"
    _check(browser, "admin-link-refused")
    _type(browser, "url", f"{target}/second")
    _type(browser, "title", "Edited")
    _submit(browser, "main form[action$='/admin/links/browser-link']")
    _wait(lambda: "Saved." in browser.driver.page_source, "the saved link")
    # The public preview and the redirect follow the edit at once.
    browser.get(server.url + "/browser-link+")
    assert _find(browser, "#target").text == f"{target}/second"
    assert _find(browser, "#title").text == "Edited"
    status, headers, _ = server.fetch("/browser-link")
    assert (status, headers["location"]) == (307, f"{target}/second")

    # The tags, import and export pages.
    browser.get(admin + "tags")
    assert "chromium" in _find(browser, "main table").text
    _check(browser, "admin-tags")
    browser.get(admin + "import")
    _check(browser, "admin-import")

    # Delete, through the confirmation page.
    browser.get(admin + "links/browser-link")
    _find(browser, 'a[href$="/browser-link/delete"]').click()
    _wait(lambda: browser.driver.title.startswith("Delete"), "the confirmation")
    _check(browser, "admin-delete")
    _submit(browser)
    _wait(lambda: "state=deleted" in browser.driver.current_url, "the deleted links")
    assert server.fetch("/browser-link")[0] == 410

    # Sign out; the old cookie, set again by hand, is refused.
    _find(browser, "nav form button").click()
    _wait(lambda: browser.driver.title.startswith("Sign in"), "the sign-in page")
    browser.driver.add_cookie(
        {k: cookie[k] for k in ("name", "value", "path", "httpOnly", "sameSite")}
    )
    browser.get(admin)
    _wait(lambda: browser.driver.title.startswith("Sign in"), "a refused old cookie")


def test_a_cross_origin_post_is_refused(browser: Browser, server: Server) -> None:
    admin = server.url + "/admin/"
    browser.get(admin + "signin")
    _type(browser, "token", ADMIN)
    _submit(browser)
    _wait(lambda: browser.driver.title.startswith("Overview"), "the overview")
    before = server.api("GET", "/api/links?state=all&limit=1000")["links"]
    attacker = _attacker(admin + "new", {"url": "https://example.com/planted", "csrf": "0" * 40})
    try:
        browser.get(f"http://127.0.0.1:{attacker.server_address[1]}/")
        _wait(lambda: "Error 403" in browser.driver.page_source, "the refusal")
        _check(browser, "admin-refused")
    finally:
        attacker.shutdown()
        attacker.server_close()
    assert server.api("GET", "/api/links?state=all&limit=1000")["links"] == before
