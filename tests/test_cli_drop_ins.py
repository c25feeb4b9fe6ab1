"""``minilink cgi-script --kind``: the drop-in file for each kind of host, and that each runs.

The FastCGI script is started as mod_fcgid starts it (a listening socket as its
standard input) and answers a request; the Passenger file exposes ``application``.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from minilink import cli

sys.path.insert(0, str(Path(__file__).resolve().parent / "adapters"))

from test_fastcgi import Responder, fcgi_request

REPO = Path(__file__).resolve().parents[1]


def drop_in(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert cli.main(["cgi-script", *args]) == 0
    return capsys.readouterr().out


@pytest.mark.parametrize(
    ("kind", "entry"),
    [
        ("cgi", "from minilink.adapters.cgi import run"),
        ("fastcgi", "from minilink.adapters.fastcgi import run"),
        ("passenger", "from minilink.adapters.wsgi import application"),
    ],
)
def test_each_kind_names_its_entry_point_store_and_package(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, kind: str, entry: str
) -> None:
    store = str(tmp_path / "links.db")
    script = drop_in(capsys, "--kind", kind, "--store", store, "--package-dir", str(REPO))
    assert entry in script
    assert repr(store) in script and repr(str(REPO)) in script
    compile(script, kind, "exec")
    assert script.startswith("#!/usr/bin/python3 -IS\n") == (kind != "passenger")


def test_the_default_kind_is_cgi(capsys: pytest.CaptureFixture[str]) -> None:
    assert drop_in(capsys) == drop_in(capsys, "--kind", "cgi")


def test_an_unknown_kind_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["cgi-script", "--kind", "php"]) == 2
    assert "--kind" in capsys.readouterr().err


def test_the_fastcgi_script_serves_as_mod_fcgid_starts_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    flup = pytest.importorskip("flup")
    # The host's layout: minilink and flup copied into one folder (-IS: no site-packages).
    host = tmp_path / "host"
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(REPO / "minilink", host / "minilink", ignore=ignore)
    shutil.copytree(Path(flup.__file__).parent, host / "flup", ignore=ignore)
    script = host / "minilink.fcgi"
    store = str(tmp_path / "links.db")
    script.write_text(
        drop_in(capsys, "--kind", "fastcgi", "--store", store, "--package-dir", str(host)),
        encoding="utf-8",
    )
    served = Responder(tmp_path, [sys.executable, "-IS", str(script)])
    try:
        status, _, body = served.ask(fcgi_request("GET", "/healthz"))
        assert (status, body) == (200, b"ok")
        assert served.stop() == 0
    finally:
        if served.proc.poll() is None:
            served.proc.kill()
        served.proc.wait(timeout=10)
        assert served.proc.stderr is not None
        served.proc.stderr.close()


def test_the_passenger_file_exposes_a_wsgi_application(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = drop_in(capsys, "--kind", "passenger", "--store", str(tmp_path / "links.db"))
    monkeypatch.delenv("MINILINK_STORE", raising=False)
    namespace: dict[str, object] = {"__file__": str(tmp_path / "passenger_wsgi.py")}
    exec(compile(source, "passenger_wsgi.py", "exec"), namespace)
    assert callable(namespace["application"])
