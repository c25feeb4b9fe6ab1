"""Fixtures of the browser tests (the drivers are in ``_browser.py``)."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from typing import Any

import pytest
from _browser import (
    ADMIN,
    DEADLINE,
    SCREENSHOTS,
    Browser,
    Server,
    TargetHandler,
    chromium,
    missing,
    wait_for_port,
)


@pytest.fixture(scope="session", autouse=True)
def _browser_available() -> None:
    reason = missing()
    if reason is None:
        return
    reason += " (run .ci/setup.d/30-chromium.sh and pip install -e '.[test]')"
    if os.environ.get("CI"):
        pytest.fail(f"browser tests cannot run in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """``minilink serve`` on a free port with a fresh SQLite store."""
    store = tmp_path_factory.mktemp("browser-store") / "links.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MINILINK_")}
    env.update(MINILINK_RATE_LIMIT="0", MINILINK_ADMIN_TOKEN=ADMIN)
    log = store.with_name("serve.log").open("w+")
    proc = subprocess.Popen(
        [sys.executable, "-m", "minilink", "serve", "-q", "--port", "0", "--store", str(store)],
        stdout=subprocess.PIPE,
        stderr=log,
        stdin=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], DEADLINE)
        line = proc.stdout.readline() if ready else ""
        if "serving on http://127.0.0.1:" not in line:
            log.seek(0)
            raise RuntimeError(f"minilink serve did not start: {line!r} {log.read()}")
        url = line.split("serving on ", 1)[1].split()[0].rstrip("/")
        wait_for_port(int(url.rsplit(":", 1)[1]), proc)
        yield Server(url, proc)
    finally:
        proc.terminate()
        try:
            proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
        log.close()


@pytest.fixture(scope="session")
def target() -> Iterator[str]:
    """A local site for short links to lead to: its base URL, as ``localhost``."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), TargetHandler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://localhost:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)


AXE_RESULTS: dict[str, dict[str, int]] = {}


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory, server: Server) -> Iterator[Browser]:
    """Headless Chromium with JavaScript on (closed before the server stops, so that
    the server has no open connection to drain)."""
    driver = chromium(True, tmp_path_factory.mktemp("chromium-js"))
    try:
        session = Browser(driver, javascript=True, axe_results=AXE_RESULTS)
        session.size("desktop")
        yield session
    finally:
        driver.quit()


@pytest.fixture(scope="session")
def browser_nojs(tmp_path_factory: pytest.TempPathFactory, server: Server) -> Iterator[Browser]:
    """Headless Chromium with JavaScript switched off by a content setting."""
    driver = chromium(False, tmp_path_factory.mktemp("chromium-nojs"))
    try:
        session = Browser(driver, javascript=False)
        session.size("desktop")
        yield session
    finally:
        driver.quit()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Where the screenshots are, and axe-core's findings per page."""
    if not AXE_RESULTS:
        return
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    report = SCREENSHOTS / "axe-results.json"
    report.write_text(json.dumps(AXE_RESULTS, indent=2, sort_keys=True) + "\n")
    write = terminalreporter.write_line
    terminalreporter.section("pages: screenshots and accessibility")
    write(f"screenshots: {SCREENSHOTS}/*.png")
    write(f"axe-core violations (nodes) by impact, also in {report}:")
    for page, counts in AXE_RESULTS.items():
        write(f"  {page:<22} " + "  ".join(f"{k} {v}" for k, v in counts.items()))
