"""The live-server summary: each server, its version, and what ran through it."""

from __future__ import annotations

from typing import Any

import live_servers


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not live_servers.SUMMARY:
        return
    write = terminalreporter.write_line
    terminalreporter.section("live servers")
    for (kind, mount), tally in sorted(live_servers.SUMMARY.items()):
        where = f"under {mount}" if mount else "bare"
        write(
            f"{kind:17} {where:9} {tally.cases:3} cases, {tally.requests:4} requests, "
            f"{len(tally.refused):2} refused by the server itself  ({tally.version})"
        )
    refused: dict[str, set[str]] = {}
    for (kind, _), tally in live_servers.SUMMARY.items():
        for line in tally.refused:
            refused.setdefault(line, set()).add(kind)
    if refused:
        write("requests a server answered itself (not valid HTTP/1.1; see test_live.py):")
        for line, kinds in sorted(refused.items()):
            write(f"  {line}  [{', '.join(sorted(kinds))}]")
