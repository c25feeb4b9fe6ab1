"""The pages in real headless Chromium: the form, the preview, the short link, the
error pages, with JavaScript on and off; screenshots and axe-core on every page."""

from __future__ import annotations

import re
import time
from typing import Any, Callable
from urllib.parse import unquote

from _browser import Browser, Server


def _wait(condition: Callable[[], Any], what: str, seconds: float = 10.0) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _by_id(browser: Browser, element_id: str) -> Any:
    from selenium.webdriver.common.by import By

    return browser.driver.find_element(By.ID, element_id)


def _all(browser: Browser, selector: str) -> list[Any]:
    from selenium.webdriver.common.by import By

    return list(browser.driver.find_elements(By.CSS_SELECTOR, selector))


def _shorten(
    browser: Browser, server: Server, url: str, *, alias: str = "", expiry: str = ""
) -> None:
    from selenium.webdriver.support.select import Select

    browser.get(server.url + "/")
    field = _by_id(browser, "url")
    field.clear()
    field.send_keys(url)
    if alias:
        _by_id(browser, "alias").send_keys(alias)
    if expiry:
        Select(_by_id(browser, "expires_in")).select_by_visible_text(expiry)
    _all(browser, "form button[type=submit]")[0].click()


def _hits(browser: Browser) -> int:
    return int(_by_id(browser, "hits").text)


def _assert_no_serious(violations: list[dict[str, Any]]) -> None:
    bad = [
        (v["scheme"], v["id"], v["impact"], [n["target"] for n in v["nodes"]])
        for v in violations
        if v["impact"] in ("serious", "critical")
    ]
    assert not bad, bad


def test_shorten_preview_follow_and_count(browser: Browser, server: Server, target: str) -> None:
    destination = f"{target}/landing?from=form&x=<y>"
    browser.get(server.url + "/")
    assert browser.driver.title == "Shorten a link · minilink"
    _assert_no_serious(browser.axe("home"))
    browser.screenshot("home")

    _shorten(browser, server, destination, expiry="In 1 day")
    _wait(lambda: browser.driver.current_url.endswith("+"), "the preview page")
    preview = browser.driver.current_url
    code = re.fullmatch(re.escape(server.url) + r"/([A-Za-z0-9_-]+)\+", preview)
    assert code, preview
    short = f"{server.url}/{code.group(1)}"
    assert _by_id(browser, "short-url").text == short
    assert _by_id(browser, "target").text == f"{target}/landing?from=form&x=%3Cy%3E"
    assert _by_id(browser, "target-host").text == "localhost"
    assert _hits(browser) == 0
    expires = _all(browser, "dd time")
    assert len(expires) == 2, "created and expiry times"
    assert _all(browser, ".qr svg[role=img]"), "the QR code"
    assert len(_all(browser, ".chart rect")) == 30

    # The copy button is there because the hashed inline script ran.
    browser.driver.execute_cdp_cmd(
        "Browser.grantPermissions",
        {"origin": server.url, "permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"]},
    )
    copy = _all(browser, ".short button")
    assert [b.text for b in copy] == ["Copy"]
    copy[0].click()
    status = _wait(lambda: _by_id(browser, "copy-status").text, "the copy status")
    assert status == f"Copied {short} to the clipboard."
    copied = browser.driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "navigator.clipboard.readText().then(done, e => done('error: ' + e));"
    )
    assert copied == short
    _assert_no_serious(browser.axe("preview"))
    assert browser.console_errors() == []

    # Follow the short link: the target page opens and the visit is counted.
    _by_id(browser, "short-url").click()
    _wait(lambda: browser.driver.title == "Target reached", "the target page")
    assert unquote(browser.driver.current_url) == destination
    browser.get(preview)
    assert _hits(browser) == 1
    bars = [r.get_attribute("class") for r in _all(browser, ".chart rect")]
    assert bars[-1] == "bar" and bars.count("bar") == 1, "today's bar"
    assert "1 visit from" in _by_id(browser, "chart-summary").text
    browser.screenshot("preview")
    browser.screenshot("preview-dark", scheme="dark")

    # The QR code alone, as an SVG document.
    status_code, headers, body = server.fetch(f"/{code.group(1)}.svg")
    assert status_code == 200
    assert headers["content-type"] == "image/svg+xml"
    assert headers["x-content-type-options"] == "nosniff"
    assert "default-src 'none'" in headers["content-security-policy"]
    assert body.startswith(b"<?xml") and b"<svg" in body


def test_javascript_url_is_refused_and_kept(browser: Browser, server: Server) -> None:
    hostile = "javascript:alert(document.domain)"
    _shorten(browser, server, hostile, alias="keep-me")
    _wait(lambda: _all(browser, "#url-error"), "the inline error")
    field = _by_id(browser, "url")
    assert field.get_attribute("value") == hostile
    assert field.get_attribute("aria-invalid") == "true"
    assert "url-error" in (field.get_attribute("aria-describedby") or "")
    assert _by_id(browser, "alias").get_attribute("value") == "keep-me"
    assert "scheme" in _by_id(browser, "url-error").text.lower()
    active = browser.driver.switch_to.active_element
    assert active.get_attribute("id") == "url", "the field to fix has the focus"
    _assert_no_serious(browser.axe("form error"))
    browser.screenshot("home-error")
    assert browser.console_errors() == []


def test_without_javascript(browser_nojs: Browser, server: Server, target: str) -> None:
    browser = browser_nojs
    assert browser.javascript is False
    _shorten(browser, server, f"{target}/no-script", alias="nojs")
    _wait(lambda: browser.driver.current_url == f"{server.url}/nojs+", "the preview page")
    assert _all(browser, ".short button") == [], "no copy button without script"
    assert _hits(browser) == 0
    browser.screenshot("preview-nojs")
    _by_id(browser, "short-url").click()
    _wait(lambda: browser.driver.title == "Target reached", "the target page")
    browser.get(f"{server.url}/nojs+")
    assert _hits(browser) == 1

    _shorten(browser, server, "javascript:alert(1)")
    _wait(lambda: _all(browser, "#url-error"), "the inline error")
    assert _by_id(browser, "url").get_attribute("value") == "javascript:alert(1)"


def test_error_pages(browser: Browser, server: Server, target: str) -> None:
    browser.get(f"{server.url}/NoSuchCode")
    assert browser.driver.title == "Link not found · minilink"
    assert "NoSuchCode" in _all(browser, "main")[0].text
    home = _all(browser, "main a.button")
    assert [a.get_attribute("href") for a in home] == [server.url + "/"]
    _assert_no_serious(browser.axe("404"))
    browser.screenshot("not-found")

    link = server.api("POST", "/api/links", {"url": f"{target}/deleted", "alias": "deleted"})
    server.api("DELETE", f"/api/links/{link['code']}")
    browser.get(f"{server.url}/deleted+")
    assert browser.driver.title == "This link is gone · minilink"
    assert "deleted" in _all(browser, "main")[0].text
    _assert_no_serious(browser.axe("410"))
    browser.screenshot("gone")
    home[0] if False else None
    _all(browser, "main a.button")[0].click()
    _wait(lambda: browser.driver.current_url == server.url + "/", "the home page")


def test_bookmarklet(browser: Browser, server: Server, target: str) -> None:
    browser.get(server.url + "/")
    link = _all(browser, "a.bookmarklet")[0]
    href = link.get_attribute("href")
    assert href.startswith("javascript:")
    # On our own page the strict CSP blocks it: it is a link to drag, not our script.
    browser.console_errors()
    link.click()
    logged: list[str] = []

    def blocked() -> bool:
        logged.extend(browser.console_errors())
        return any("Content Security Policy" in message for message in logged)

    _wait(blocked, "the CSP to block the bookmarklet")
    assert browser.driver.current_url == server.url + "/"
    assert _by_id(browser, "url").get_attribute("value") == ""
    # On another site it opens the form with that page's address filled in.
    page = f"{target}/article?id=7&lang=en"
    browser.get(page)
    browser.driver.execute_script(unquote(href[len("javascript:") :]))
    _wait(lambda: browser.driver.current_url.startswith(server.url + "/?url="), "the form")
    assert _by_id(browser, "url").get_attribute("value") == page


def test_keyboard_focus_and_labels(browser: Browser, server: Server) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    browser.get(server.url + "/")
    for control in _all(browser, "input, select, textarea"):
        name = control.get_attribute("id")
        labels = _all(browser, f"label[for='{name}']")
        assert len(labels) == 1 and labels[0].text, name
    seen = []
    for _ in range(10):
        ActionChains(browser.driver).send_keys(Keys.TAB).perform()
        active = browser.driver.switch_to.active_element
        if active.tag_name == "body":  # past the last control
            break
        style = browser.driver.execute_script(
            "const s = getComputedStyle(arguments[0]);"
            "return [s.outlineStyle, parseFloat(s.outlineWidth)];",
            active,
        )
        seen.append(active.get_attribute("id") or active.text)
        assert style[0] != "none" and style[1] >= 2, (seen[-1], style)
    for wanted in ("minilink", "url", "alias", "expires_in", "Shorten", "Shorten with minilink"):
        assert wanted in seen, seen


def test_axe_is_not_blind(browser: Browser, target: str) -> None:
    """The checker finds what it should: an unlabelled field on another page."""
    browser.get(f"{target}/axe-check")
    browser.driver.execute_script(
        "document.querySelector('main').append(document.createElement('input'))"
    )
    found = {(v["id"], v["impact"]) for v in browser.axe("control", record=False)}
    assert ("label", "critical") in found, found
