"""The reliability suite's summary: what each storm, round and table ran, and how long."""

from __future__ import annotations

from typing import Any

import _reliability


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _reliability.FIGURES:
        return
    terminalreporter.section("reliability")
    for line in _reliability.FIGURES:
        terminalreporter.write_line(line)
