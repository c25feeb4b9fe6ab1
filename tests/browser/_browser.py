"""Drivers of the browser tests: a real ``minilink serve``, a local target site and
headless Chromium driven by selenium (Debian's ``chromium`` and ``chromium-driver``).

Nothing here touches the network beyond 127.0.0.1: the short links point at a tiny
``http.server`` on another port (addressed as ``localhost``, because a link to the
shortener's own host is refused as a loop), Chromium runs with its background
networking off, and axe-core is read from ``.ci/node`` (installed by
``.ci/setup.d/30-chromium.sh``) and injected into each page through WebDriver, which
is not subject to the page's CSP.

Without Chromium, ChromeDriver, selenium or axe-core the tests are skipped on a
developer's machine and fail in CI (``CI`` set), where the setup script must have
installed them. Screenshots go to ``screenshots/`` at the top of the checkout, with
``axe-results.json`` (violating nodes by impact, per page and colour scheme).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any, Optional

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / ".ci" / "node" / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "screenshots"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
ADMIN = "browser-admin-token"
#: Widths the screenshots are taken at: a phone's and a laptop's.
SIZES = {"phone": (390, 844), "desktop": (1280, 800)}
DEADLINE = 20.0


def missing() -> Optional[str]:
    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.access(path, os.X_OK):
            return f"{path} is not installed"
    if not AXE.is_file():
        return f"axe-core is not installed at {AXE}"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed"
    return None


# -- servers ----------------------------------------------------------------------------


def wait_for_port(port: int, proc: Optional[subprocess.Popen[str]] = None) -> None:
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port}")


@dataclass
class Server:
    """The running ``minilink serve``: its base URL (no trailing slash)."""

    url: str
    proc: subprocess.Popen[str]

    def api(self, method: str, path: str, body: Optional[dict[str, Any]] = None) -> Any:
        """Call the JSON API as the admin; the decoded answer (``None`` for 204)."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method)
        request.add_header("Authorization", f"Bearer {ADMIN}")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request, timeout=10) as response:
            raw = response.read()
        return json.loads(raw) if raw else None

    def fetch(self, path: str) -> tuple[int, dict[str, str], bytes]:
        """GET ``path`` without following redirects: status, headers, body."""
        import http.client

        host, port = self.url.split("//", 1)[1].split(":")
        connection = http.client.HTTPConnection(host, int(port), timeout=10)
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            return (
                response.status,
                {k.lower(): v for k, v in response.getheaders()},
                response.read(),
            )
        finally:
            connection.close()


TARGET_PAGE = (
    b"<!doctype html><html lang='en'><head><meta charset='utf-8'>"
    b"<title>Target reached</title></head><body><main><h1>Target reached</h1>"
    b"<p>This page stands in for the site a short link leads to.</p></main></body></html>"
)


class TargetHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(TARGET_PAGE)))
        self.end_headers()
        self.wfile.write(TARGET_PAGE)

    def log_message(self, format: str, *args: Any) -> None:
        pass


# -- the browser ------------------------------------------------------------------------


@dataclass
class Browser:
    """One headless Chromium with helpers for screenshots and axe-core."""

    driver: Any
    javascript: bool
    axe_results: dict[str, dict[str, int]] = field(default_factory=dict)

    def get(self, url: str) -> None:
        self.driver.get(url)

    def size(self, name: str) -> None:
        width, height = SIZES[name]
        self.driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": name == "phone"},
        )

    def scheme(self, value: str) -> None:
        self.driver.execute_cdp_cmd(
            "Emulation.setEmulatedMedia",
            {"features": [{"name": "prefers-color-scheme", "value": value}]},
        )

    def screenshot(self, name: str, scheme: str = "light") -> list[Path]:
        """Full-page screenshots at every width in ``SIZES``: ``NAME-WIDTH.png``, in
        the light or the dark colour scheme."""
        import base64

        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        written = []
        self.scheme(scheme)
        try:
            for size in SIZES:
                self.size(size)
                metrics = self.driver.execute_cdp_cmd("Page.getLayoutMetrics", {})
                content = metrics["cssContentSize"]
                shot = self.driver.execute_cdp_cmd(
                    "Page.captureScreenshot",
                    {
                        "format": "png",
                        "captureBeyondViewport": True,
                        "clip": {
                            "x": 0,
                            "y": 0,
                            "width": SIZES[size][0],
                            "height": max(content["height"], SIZES[size][1]),
                            "scale": 1,
                        },
                    },
                )
                path = SCREENSHOTS / f"{name}-{size}.png"
                path.write_bytes(base64.b64decode(shot["data"]))
                written.append(path)
        finally:
            self.size("desktop")
            self.scheme("light")
        print(f"screenshots: {', '.join(str(p) for p in written)}")
        return written

    def axe(self, name: str, *, record: bool = True) -> list[dict[str, Any]]:
        """Run axe-core on the current page in the light and the dark scheme; record
        the violation counts by impact under ``name`` and return the violations."""
        source = AXE.read_text(encoding="utf-8")
        violations: list[dict[str, Any]] = []
        for scheme in ("light", "dark"):
            self.scheme(scheme)
            self.driver.execute_script(source)
            result = self.driver.execute_async_script(
                "const done = arguments[arguments.length - 1];"
                "axe.run(document, {resultTypes: ['violations']})"
                ".then(r => done(r.violations), e => done({error: String(e)}));"
            )
            assert not isinstance(result, dict), result
            counts = {"minor": 0, "moderate": 0, "serious": 0, "critical": 0}
            for violation in result:
                counts[violation["impact"]] += len(violation["nodes"])
                violation["scheme"] = scheme
            if record:
                self.axe_results[f"{name} ({scheme})"] = counts
            violations.extend(result)
        self.scheme("light")
        return violations

    def console_errors(self) -> list[str]:
        """Severe messages in the console since the last call (CSP violations land
        here)."""
        # An error page's own 4xx status is logged too: expected, so left out.
        return [
            e["message"]
            for e in self.driver.get_log("browser")
            if e["level"] == "SEVERE"
            and "the server responded with a status of" not in e["message"]
        ]


def chromium(javascript: bool, profile: Path) -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-quic",
        "--no-first-run",
        "--no-default-browser-check",
        "--window-size=1280,800",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    if not javascript:
        options.add_experimental_option(
            "prefs", {"profile.managed_default_content_settings.javascript": 2}
        )
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    driver.set_page_load_timeout(DEADLINE)
    driver.set_script_timeout(DEADLINE)
    return driver
