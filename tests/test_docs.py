"""The README keeps its promises: every option is documented, the test command is CI's."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from minilink import Config

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_every_variable_is_documented() -> None:
    documented = set(re.findall(r"`(MINILINK_[A-Z_]+)`", README))
    assert set(Config.variables()) <= documented
    assert documented <= set(Config.variables()), "README documents an option that does not exist"


def test_ci_runs_the_readme_test_command() -> None:
    marker = README.index("<!-- test-command -->")
    block = README[marker:].split("```")[1]
    command = block.splitlines()[1]
    assert "pytest" in command
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "<!-- test-command -->" in ci


@pytest.mark.parametrize("heading", ["Use it from Python:", "Manage links (SPEC section 9)"])
def test_python_example_runs(heading: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The README's Python examples work as written (in an empty directory)."""
    start = README.index(heading)
    code = README[start:].split("```python\n", 1)[1].split("```", 1)[0]
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "README.md", "exec"), {})
    assert (tmp_path / "links.db").exists()
    # And again, on the same file: a reader who runs it twice sees it work twice.
    exec(compile(code, "README.md", "exec"), {})
