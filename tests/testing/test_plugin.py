"""The pytest plugin: ``MountContract`` over minilink's own mounts, and the plugin itself."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from importlib.metadata import entry_points
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from minilink.core.app import App
from minilink.testing import plugin
from minilink.testing.plugin import Mount, MountContract


class TestDefaultMount(MountContract):
    """minilink's own adapters at the server's root, all three."""


class TestMountedUnderAPrefix(MountContract):
    """The server strips ``/s`` and passes it as ``SCRIPT_NAME``/``root_path``."""

    @pytest.fixture
    def minilink_mount(self, minilink_app: App) -> Mount:
        return Mount.of(minilink_app, "/s/")


class TestWithoutAnAdminToken(MountContract):
    """No admin token: listing and deleting answer 403."""

    minilink_adapters = ("wsgi", "cgi")

    @pytest.fixture
    def minilink_env(self) -> dict[str, str]:
        return {}


def test_entry_point_names_the_plugin() -> None:
    if sys.version_info >= (3, 10):
        found = list(entry_points(group="pytest11", name="minilink"))
    else:
        found = [ep for ep in entry_points().get("pytest11", []) if ep.name == "minilink"]
    assert {ep.value for ep in found} == {"minilink.testing.plugin"}


def test_loading_the_plugin_imports_nothing_of_minilink_beyond_its_package() -> None:
    code = textwrap.dedent(
        """
        import sys
        import minilink.testing.plugin
        loaded = sorted(m for m in sys.modules if m.startswith("minilink."))
        heavy = [m for m in loaded if m.startswith(("minilink.adapters", "minilink.testing."))]
        assert heavy == ["minilink.testing.plugin"], heavy
        assert "hypothesis" not in sys.modules
        """
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_unknown_adapters_are_a_usage_error() -> None:
    metafunc: Any = SimpleNamespace(
        fixturenames=["minilink_adapter"],
        cls=SimpleNamespace(minilink_adapters=("wsgi", "fastcgi")),
        module=None,
    )
    with pytest.raises(pytest.UsageError, match="fastcgi"):
        plugin.pytest_generate_tests(metafunc)


def test_tests_without_the_client_are_not_parametrized() -> None:
    calls: list[object] = []
    metafunc: Any = SimpleNamespace(fixturenames=["tmp_path"], parametrize=calls.append)
    plugin.pytest_generate_tests(metafunc)
    assert calls == []


def _clean_env() -> dict[str, str]:
    """This environment without what would make a nested pytest measure coverage
    into this run's data file or take this run's options."""
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PYTEST_", "COV_", "COVERAGE_")) and k != "PYTHONPATH"
    }


def test_plugin_loads_from_its_entry_point(tmp_path: Path) -> None:
    """A project with no conftest gets the fixtures from the installed entry point;
    a mount without an application for an adapter skips that adapter."""
    (tmp_path / "test_mount.py").write_text(
        textwrap.dedent(
            """
            import pytest
            from minilink.testing.plugin import Mount, MountContract

            class TestWSGIOnly(MountContract):
                @pytest.fixture
                def minilink_mount(self, minilink_app):
                    return Mount(wsgi=Mount.of(minilink_app).wsgi)
            """
        ),
        encoding="utf-8",
    )
    (tmp_path / "test_module.py").write_text(
        textwrap.dedent(
            """
            minilink_adapters = ("asgi",)

            def test_module_adapters(minilink_client):
                assert minilink_client.name == "asgi"
                assert minilink_client.get("/healthz").body == b"ok"
            """
        ),
        encoding="utf-8",
    )
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "error", "-rs"],
        cwd=tmp_path,
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    tests = len([n for n in dir(MountContract) if n.startswith("test_")])
    assert f"{tests + 1} passed, {2 * tests} skipped" in out, out
    assert "this mount has no cgi application" in out, out
