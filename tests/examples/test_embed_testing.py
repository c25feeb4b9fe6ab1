"""``examples/embed_testing``: a site that embeds minilink runs minilink's suite on its mount.

The example is its own test project (its ``pytest.ini``), so it is run the way its
author would run it: ``python -m pytest`` in its folder, in a fresh interpreter where
the minilink pytest plugin is loaded by its installed entry point (this suite turns
that entry point off for itself, see ``tests/testing/conftest.py``).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from minilink.testing.plugin import MountContract

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "embed_testing"


def test_the_example_runs_the_suite_on_its_mount() -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PYTEST_", "COV_", "COVERAGE_")) and k != "PYTHONPATH"
    }
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=EXAMPLE,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    contract = len([name for name in dir(MountContract) if name.startswith("test_")])
    # Every test of the suite and the site's own test, through WSGI and through ASGI.
    assert re.search(rf"\b{2 * (contract + 1)} passed\b", out), out
    assert "skipped" not in out, out
