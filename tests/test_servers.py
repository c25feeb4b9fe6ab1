"""``minilink.servers``: the server adapters ``serve --server`` looks up by name.

The servers themselves are run for real by ``tests/test_cli.py::test_serve``; here, the
table, ``auto`` and the errors that need no server."""

from __future__ import annotations

import socket
import sys

import pytest

from minilink import servers


def test_every_server_is_in_the_table_by_its_name() -> None:
    assert sorted(servers.SERVERS) == ["gunicorn", "hypercorn", "uvicorn", "waitress", "wsgiref"]
    for name, adapter in servers.SERVERS.items():
        assert adapter.name == name
        assert isinstance(adapter, servers.ServerAdapter)
        assert adapter.interface in ("wsgi", "asgi")
    assert set(servers.AUTO_ORDER) == set(servers.SERVERS) - {"wsgiref"}
    assert servers.SERVERS["wsgiref"].package is None  # the standard library's


def test_importing_the_table_imports_no_server() -> None:
    import subprocess

    code = (
        "import sys, minilink.servers; "
        "print(sorted({'gunicorn', 'waitress', 'uvicorn', 'hypercorn'} & set(sys.modules)))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "[]"


def test_auto_is_the_first_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    installed = {"uvicorn", "hypercorn"}
    monkeypatch.setattr(
        servers.ServerAdapter,
        "installed",
        lambda self: self.package in installed or not self.package,
    )
    assert servers.find_server("auto").name == "uvicorn"
    installed.clear()
    assert servers.find_server("auto").name == "wsgiref"
    with pytest.raises(KeyError):
        servers.find_server("tornado")


@pytest.mark.parametrize("name", ["waitress", "gunicorn", "uvicorn", "hypercorn"])
def test_a_missing_server_names_the_package(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, name, None)  # makes "import name" fail
    built: list[object] = []
    with pytest.raises(servers.ServerNotInstalled, match=f"pip install {name}'"):
        servers.SERVERS[name].run(lambda: built.append(1), "127.0.0.1", 0)
    assert built == []  # nothing was built for a server that cannot run


@pytest.mark.parametrize("name", ["wsgiref", "waitress", "uvicorn", "hypercorn"])
def test_a_taken_port_is_cannot_listen_and_no_app_is_left_open(name: str) -> None:
    if name != "wsgiref":
        pytest.importorskip(name)
    built: list[bool] = []
    closed: list[bool] = []

    class App:
        def __init__(self) -> None:
            built.append(True)

        def __call__(self, *args: object) -> None:
            raise AssertionError("never called")

        def close(self) -> None:
            closed.append(True)

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(servers.CannotListen, match=f"127.0.0.1:{port}"):
            servers.SERVERS[name].run(App, "127.0.0.1", port)
    assert closed == built  # an app built before the bind failed is closed again
