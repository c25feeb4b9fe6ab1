"""The module-level ``application`` objects check ``MINILINK_*`` when imported: a bad
value ends the process with one sentence on stderr and exit status 3, before a
server serves anything; a good one is imported without touching the store."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from minilink.adapters import _lazy, asgi, wsgi
from minilink.core.config import Config

ROOT = Path(__file__).resolve().parents[2]

BAD = {
    "redirect-status": ("MINILINK_REDIRECT_STATUS", "303", "MINILINK_REDIRECT_STATUS"),
    "base-url-without-scheme": ("MINILINK_BASE_URL", "sho.rt", "MINILINK_BASE_URL"),
    "proxy-host-name": ("MINILINK_TRUSTED_PROXIES", "localhost", "MINILINK_TRUSTED_PROXIES"),
    "sqlite-dir-missing": ("MINILINK_STORE", "{tmp}/no/such/dir/links.db", "does not exist"),
    "unknown-store-scheme": ("MINILINK_STORE", "nosuch://x", "no store backend"),
}


@pytest.mark.parametrize(("name", "value", "says"), list(BAD.values()), ids=list(BAD))
def test_bad_environment_is_cannot_start(
    name: str,
    value: str,
    says: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv(name, value.format(tmp=tmp_path))
    with pytest.raises(_lazy.CannotStart) as stopped:
        _lazy.entry_point(wsgi.WSGIApp)
    assert isinstance(stopped.value, SystemExit)
    assert stopped.value.code == _lazy.EXIT_CANNOT_START == 3
    assert says in stopped.value.reason
    err = capsys.readouterr().err
    assert err == f"minilink cannot start: {stopped.value.reason}\n"


def test_good_environment_builds_nothing_yet(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MINILINK_STORE", str(tmp_path / "links.db"))
    application = _lazy.entry_point(asgi.ASGIApp)
    assert application._app is None
    assert not (tmp_path / "links.db").exists()


@pytest.mark.parametrize("module", ["minilink.adapters.wsgi", "minilink.adapters.asgi"])
def test_importing_the_entry_point(module: str, tmp_path: Path) -> None:
    """What a server does first: a bad value stops the import, a good one opens
    nothing (the store is still not created)."""

    def import_it(**env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", f"import {module}; print('imported')"],
            env={"PYTHONPATH": str(ROOT), **env},
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    bad = import_it(MINILINK_REDIRECT_STATUS="303")
    assert bad.returncode == 3
    assert bad.stdout == ""
    assert bad.stderr == (
        "minilink cannot start: MINILINK_REDIRECT_STATUS must be one of 301, 302, 307, 308, "
        "not 303\n"
    )
    good = import_it(MINILINK_STORE=str(tmp_path / "links.db"))
    assert (good.returncode, good.stdout, good.stderr) == (0, "imported\n", "")
    assert not (tmp_path / "links.db").exists()


def test_create_app_still_raises_value_error(tmp_path: Path) -> None:
    for adapter in (wsgi, asgi):
        with pytest.raises(ValueError, match="does not exist"):
            adapter.create_app(Config(store=str(tmp_path / "no" / "links.db"))).close()
        with pytest.raises(ValueError, match="MINILINK_BASE_URL"):
            adapter.create_app(Config(base_url="sho.rt"))


def test_cgi_sqlite_dir_missing_is_a_503_that_names_the_folder_in_the_log(
    tmp_path: Path,
) -> None:
    """CGI has no start: each request is answered 503 while the folder is missing (the
    first one after it appears works: tests/reliability/test_faults.py), and the log
    says which folder."""
    missing = tmp_path / "no" / "such" / "dir" / "links.db"
    env = {
        "PYTHONPATH": str(ROOT),
        "GATEWAY_INTERFACE": "CGI/1.1",
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/abc1234",
        "SERVER_NAME": "short.example",
        "SERVER_PORT": "80",
        "MINILINK_STORE": str(missing),
    }
    done = subprocess.run(
        [sys.executable, "-m", "minilink.adapters.cgi"],
        env=env,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0
    assert done.stdout.startswith(b"Status: 503 Service Unavailable\r\n"), done.stdout
    assert str(missing.parent).encode() not in done.stdout  # the log's business only
    assert f"the directory {str(missing.parent)!r}".encode() in done.stderr
    assert b"does not exist" in done.stderr
    assert b"Traceback" not in done.stderr
