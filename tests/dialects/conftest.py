"""Fixtures of the dialect tests; the helpers are in ``dialect_helpers``."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# The real servers of the live-server suite (tests/servers/live_servers.py).
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "servers"))

from dialect_helpers import Dialects


@pytest.fixture
def dialects() -> Dialects:
    return Dialects()
