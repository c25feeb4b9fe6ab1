"""A third-party store, installed for real, found by its URL scheme, held to the contract.

The test writes a tiny distribution, ``minilink-teastore``, the way an outside author
would: a module with a ``Store`` and a ``pyproject.toml`` declaring it under the
``minilink.stores`` entry-point group. It installs that distribution with pip into a
temporary directory and runs ``StoreContract`` in a separate interpreter that has the
directory on its path and opens the store with ``open_store("teastore://...")``: the
backend is found through ``importlib.metadata`` exactly as an installed plugin is.

pip installs a wheel that the test builds itself (a zip with the ``.dist-info``
setuptools would write for that ``pyproject.toml``): building from source would need
setuptools and wheel, which a fresh Python 3.12+ environment does not have, and the
suite runs offline.
"""

from __future__ import annotations

import base64
import hashlib
import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

NAME, VERSION = "minilink_teastore", "1.0"
PIP_INSTALL = (sys.executable, "-m", "pip", "install", "-q", "--no-index", "--no-deps")
PYTEST = (sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "error")

PYPROJECT = """\
[project]
name = "minilink-teastore"
version = "1.0"
dependencies = ["minilink"]

[project.entry-points."minilink.stores"]
teastore = "minilink_teastore:TeaStore"
"""

MODULE = '''\
"""A store kept in memory, opened as teastore://<name>."""

from minilink.storage.memory import MemoryStore


class TeaStore(MemoryStore):

    @classmethod
    def from_url(cls, url):
        if not url.startswith("teastore://"):
            raise ValueError(f"not a teastore URL: {url!r}")
        store = cls()
        store.name = url[len("teastore://") :]
        return store
'''

CONTRACT = """\
import pytest

from minilink.storage import open_store
from minilink.testing.contract import StoreContract


class TestTeaStore(StoreContract):
    @pytest.fixture
    def store(self):
        s = open_store("teastore://pot")
        assert type(s).__module__ == "minilink_teastore"
        assert s.name == "pot"
        yield s
        s.close()


def test_found_through_the_installed_metadata():
    from importlib.metadata import distribution

    dist = distribution("minilink-teastore")
    found = [ep for ep in dist.entry_points if ep.group == "minilink.stores"]
    assert [(ep.name, ep.value) for ep in found] == [("teastore", "minilink_teastore:TeaStore")]
"""


def _record_line(path: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(data)}"


def build_wheel(source: Path, out: Path) -> Path:
    """The wheel of the distribution in ``source``: its module, and the metadata and
    entry points its ``pyproject.toml`` declares."""
    info = f"{NAME}-{VERSION}.dist-info"
    files = {
        f"{NAME}.py": (source / f"{NAME}.py").read_bytes(),
        f"{info}/METADATA": (
            b"Metadata-Version: 2.1\nName: minilink-teastore\nVersion: 1.0\n"
            b"Requires-Dist: minilink\n"
        ),
        f"{info}/WHEEL": (
            b"Wheel-Version: 1.0\nGenerator: minilink-tests\nRoot-Is-Purelib: true\n"
            b"Tag: py3-none-any\n"
        ),
        f"{info}/entry_points.txt": _entry_points(source / "pyproject.toml").encode(),
    }
    record = [_record_line(path, data) for path, data in files.items()]
    files[f"{info}/RECORD"] = ("\n".join([*record, f"{info}/RECORD,,"]) + "\n").encode()
    wheel = out / f"{NAME}-{VERSION}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, data in files.items():
            archive.writestr(path, data)
    return wheel


def _entry_points(pyproject: Path) -> str:
    """``entry_points.txt`` for the ``[project.entry-points.*]`` tables of a pyproject
    (enough TOML for this file: tables of ``name = "value"`` lines)."""
    lines: list[str] = []
    group = None
    for raw in pyproject.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if line.startswith("["):
            header = line.strip("[]")
            prefix = "project.entry-points."
            group = header[len(prefix) :].strip('"') if header.startswith(prefix) else None
            if group is not None:
                lines.append(f"[{group}]")
        elif group is not None and "=" in line:
            name, _, value = line.partition("=")
            lines.append(f"{name.strip()} = {value.strip().strip(chr(34))}")
    return "\n".join(lines) + "\n"


def _env(site: Path) -> dict[str, str]:
    """This environment with ``site`` on the path, and without what would make the
    nested pytest measure coverage into this run's data file or take its options."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PYTEST_", "COV_", "COVERAGE_")) and k != "PYTHONPATH"
    }
    env["PYTHONPATH"] = str(site)
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def test_a_store_installed_from_its_own_distribution_passes_the_contract(tmp_path: Path) -> None:
    source = tmp_path / "minilink-teastore"
    source.mkdir()
    (source / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    (source / f"{NAME}.py").write_text(MODULE, encoding="utf-8")
    wheel = build_wheel(source, tmp_path)

    site = tmp_path / "site"
    subprocess.run(
        [*PIP_INSTALL, "--target", str(site), str(wheel)],
        check=True,
        timeout=300,
        env=_env(site),
        capture_output=True,
    )
    assert (site / f"{NAME}-{VERSION}.dist-info" / "entry_points.txt").is_file()
    assert (site / f"{NAME}.py").is_file()

    tests = tmp_path / "tests"
    tests.mkdir()
    (tests / "test_teastore.py").write_text(CONTRACT, encoding="utf-8")
    proc = subprocess.run(
        [*PYTEST, str(tests / "test_teastore.py")],
        cwd=tests,
        env=_env(site),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert " failed" not in out, out
    assert "passed" in out, out
    ran = int(out.rsplit(" passed", 1)[0].split()[-1])
    assert ran >= 100, out  # the whole contract ran (link management too), and the metadata check


def test_the_wheel_declares_what_the_pyproject_declares(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    (source / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    (source / f"{NAME}.py").write_text(MODULE, encoding="utf-8")
    with zipfile.ZipFile(build_wheel(source, tmp_path)) as archive:
        entry_points = archive.read(f"{NAME}-{VERSION}.dist-info/entry_points.txt").decode()
    assert entry_points == textwrap.dedent(
        """\
        [minilink.stores]
        teastore = minilink_teastore:TeaStore
        """
    )
