"""examples/fastcgi and examples/passenger as their READMEs say: copied into the site.

The files go into Apache's document root (the application root for Passenger) with
their ``.htaccess`` as shipped, under an Apache configured as a shared host's is
(``AllowOverride All``, the module loaded or not): the same ``minilink.fcgi`` and
``.htaccess`` serve through mod_fcgid where it is loaded and as CGI where it is not.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "servers"))

import legacy_hosts
import live_servers
from live_servers import EXAMPLES, MODULES, Live
from test_examples import exercise

pytestmark = pytest.mark.slow

SETTINGS = {
    legacy_hosts.STORE_LINE: "links.db",
    'os.environ.setdefault("MINILINK_BASE_URL", "https://example.org")': "http://testserver",
}


@pytest.fixture
def site() -> Iterator[Path]:
    with live_servers.new_site("legacy-example") as folder:
        yield folder
        shutil.rmtree(folder, ignore_errors=True)


def _persistent_pythons(site: Path) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            cwd, exe = os.readlink(entry / "cwd"), os.readlink(entry / "exe")
        except OSError:
            continue
        if cwd.startswith(str(site)) and os.path.basename(exe).startswith("python"):
            found.append(int(entry.name))
    return found


def _fastcgi_site(site: Path) -> Path:
    htdocs = site / "htdocs"
    live_servers.copy_package(htdocs)
    legacy_hosts.copy_flup(htdocs)
    live_servers.copy_package(htdocs / "_compile")  # compiles flup for www-data too
    shutil.rmtree(htdocs / "_compile")
    source = (EXAMPLES / "fastcgi" / "minilink.fcgi").read_text(encoding="utf-8")
    for line, value in SETTINGS.items():
        assert line in source
        if value == "links.db":
            value = str(site / "var" / "links.db")
        source = source.replace(line, line.rsplit(",", 1)[0] + f", {value!r})")
    (htdocs / "minilink.fcgi").write_text(source, encoding="utf-8")
    (htdocs / "minilink.fcgi").chmod(0o755)
    shutil.copy(EXAMPLES / "fastcgi" / ".htaccess", htdocs)
    live_servers.give_to_www(site / "var")
    return htdocs


def _apache(site: Path, htdocs: Path, lines: list[str], kind: str) -> Live:
    port = live_servers.free_port()
    command = live_servers.apache_command(
        site,
        port,
        [
            *lines,
            f'<Directory "{htdocs}">',
            "    AllowOverride All",
            "    Require all granted",
            "</Directory>",
        ],
    )
    return live_servers.spawn(
        kind, "", site, command, live_servers.server_env(), f"http://127.0.0.1:{port}"
    )


@pytest.mark.parametrize("fcgid", [True, False], ids=["mod_fcgid", "cgi-without-mod_fcgid"])
def test_fastcgi_drop_in_at_the_site_root(site: Path, fcgid: bool) -> None:
    live_servers.require(*legacy_hosts.NEEDS["apache-fcgid"])
    htdocs = _fastcgi_site(site)
    lines = []
    if fcgid:
        (site / "run" / "fcgid").mkdir(parents=True)
        live_servers.give_to_www(site / "run")
        lines = [
            f"LoadModule fcgid_module {MODULES}/mod_fcgid.so",
            f'FcgidIPCDir "{site}/run/fcgid"',
            f'FcgidProcessTableFile "{site}/run/fcgid_shm"',
        ]
    live = _apache(site, htdocs, lines, "apache-fcgid" if fcgid else "apache-cgi")
    try:
        exercise(live, "", short_base="http://testserver")
        # Under mod_fcgid the script stays in memory; as CGI it ends after its answer
        # (the last one may still be closing its store as the answer arrives).
        deadline = time.monotonic() + 5
        while not fcgid and _persistent_pythons(site) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert bool(_persistent_pythons(site)) == fcgid
        assert (site / "var" / "links.db").exists()
    finally:
        live.stop()


def test_passenger_htaccess_in_the_site_folder(site: Path) -> None:
    live_servers.require(*legacy_hosts.NEEDS["apache-passenger"])
    app = site / "app"
    live_servers.copy_package(app)
    source = (EXAMPLES / "passenger" / "passenger_wsgi.py").read_text(encoding="utf-8")
    source = legacy_hosts.with_store(source, str(site / "var" / "links.db"))
    source = source.replace(
        '# os.environ.setdefault("MINILINK_ADMIN_TOKEN", "change-me-to-a-long-random-string")',
        'os.environ.setdefault("MINILINK_ADMIN_TOKEN", "change-me-to-a-long-random-string")',
    )
    (app / "passenger_wsgi.py").write_text(source, encoding="utf-8")
    htdocs = app / "public"  # the site's folder, inside the application root
    htdocs.mkdir()
    shutil.copy(EXAMPLES / "passenger" / ".htaccess", htdocs)
    live_servers.give_to_www(site / "var")
    live_servers.give_to_www(app)
    registry = site / "run" / "passenger"
    registry.mkdir(parents=True)
    lines = [
        f"LoadModule passenger_module {MODULES}/mod_passenger.so",
        f"LoadModule headers_module {MODULES}/mod_headers.so",
        f"PassengerRoot {legacy_hosts.PASSENGER_ROOT}",
        "PassengerDefaultRuby /usr/bin/ruby",
        f'PassengerInstanceRegistryDir "{registry}"',
        f'PassengerLogFile "{site}/logs/passenger.log"',
        "PassengerDefaultUser www-data",
        "PassengerDefaultGroup www-data",
        "PassengerDisableAnonymousTelemetry on",
    ]
    live = _apache(site, htdocs, [*lines, f'DocumentRoot "{htdocs}"'], "apache-passenger")
    try:
        exercise(live, "", short_base="http://testserver")
        assert _persistent_pythons(site)
        home = live_servers.http.client.HTTPConnection(*live.base_url[7:].split(":"))
        home.request("GET", "/healthz", headers={"Host": "testserver"})
        answer = home.getresponse()
        assert answer.getheader("X-Powered-By") is None and answer.getheader("Status") is None
        home.close()
    finally:
        live.stop()
