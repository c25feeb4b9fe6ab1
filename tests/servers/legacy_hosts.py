"""Apache as a shared host runs it: mod_fcgid (FastCGI) and Phusion Passenger.

Theory of operation
-------------------
The same harness as ``live_servers`` (its helpers are imported, not copied): one
foreground Apache per server with its own configuration in a fresh folder, children
running as ``www-data`` when the tests run as root, the package copied next to the
drop-in file as a host reached by FTP holds it, and ``/healthz`` polled until it
answers.

* ``apache-fcgid``: ``examples/fastcgi/minilink.fcgi`` (its entry point swapped for
  the deterministic WSGI application, its example settings taken out), with flup
  copied next to it, started and stopped by ``mod_fcgid``; mounted at ``/`` or
  ``/s`` by ``ScriptAlias`` as the CGI server is.
* ``apache-passenger``: ``examples/passenger/passenger_wsgi.py`` in an application
  root, with the example's ``.htaccess`` lines in the Apache configuration, mounted
  at ``/s`` by ``PassengerBaseURI``.
* ``flush=True`` serves the drop-in file as shipped (the real
  ``minilink.adapters.wsgi.application``, its hits batched in a ``BufferedStore``)
  with ``MINILINK_STORE`` pointing at ``var/links.db``: for the tests that stop
  Apache and count the hits that reached the file.
"""

from __future__ import annotations

import os
import shutil
import sys
from importlib.util import find_spec
from pathlib import Path

from live_servers import (
    APACHE,
    EXAMPLES,
    MODULES,
    STATE_VAR,
    SYSTEM_PYTHON,
    Live,
    apache_command,
    copy_package,
    free_port,
    give_to_www,
    new_site,
    require,
    server_env,
    spawn,
    swap_entry,
    write_state,
)

PASSENGER_ROOT = Path("/usr/lib/ruby/vendor_ruby/phusion_passenger/locations.ini")

NEEDS: dict[str, tuple[str, ...]] = {
    "apache-fcgid": (str(APACHE), str(MODULES / "mod_fcgid.so"), str(SYSTEM_PYTHON), "flup"),
    "apache-passenger": (
        str(APACHE),
        str(MODULES / "mod_passenger.so"),
        str(PASSENGER_ROOT),
        str(SYSTEM_PYTHON),
    ),
}

FCGI_ENTRY = "from minilink.adapters.fastcgi import run"
WSGI_ENTRY_LINE = "from minilink.adapters.wsgi import application  # noqa: F401"
EXAMPLE_SETTINGS = (
    'os.environ.setdefault("MINILINK_BASE_URL", "https://example.org")\n',
    'os.environ.setdefault("MINILINK_ADMIN_TOKEN", "change-me-to-a-long-random-string")\n',
)


def start(kind: str, mount: str = "", *, flush: bool = False) -> Live:
    """Start Apache serving minilink through ``kind`` at ``mount``; see the module doc."""
    require(*NEEDS[kind])
    with new_site(kind) as site:
        var = site / "var"
        state = var / "state.json"
        write_state(state, {"MINILINK_STORE": str(var / "warmup.db")})
        store = str(var / "links.db")
        port = free_port()
        if kind == "apache-fcgid":
            lines = _fcgid(mount, site, state, store if flush else None)
        else:
            lines = _passenger(mount, site, state, store if flush else None)
        command = apache_command(site, port, lines)
        give_to_www(var)
        env = server_env()
        env[STATE_VAR] = str(state)
        return spawn(kind, mount, site, command, env, f"http://127.0.0.1:{port}{mount}")


def copy_flup(folder: Path) -> None:
    """flup next to the script, as ``pip install --target`` would put it."""
    spec = find_spec("flup")
    assert spec is not None and spec.submodule_search_locations
    source = Path(next(iter(spec.submodule_search_locations)))
    shutil.copytree(source, folder / "flup", ignore=shutil.ignore_patterns("__pycache__"))


def _drop_in(source: str, store: str | None, state: Path, old: str, new: str) -> str:
    if store is None:  # deterministic: the test's state file decides the settings
        for line in EXAMPLE_SETTINGS:
            source = swap_entry(source, line, "")
        source = swap_entry(source, STORE_LINE, _warmup_store(state))
        return swap_entry(source, old, f"os.environ[{STATE_VAR!r}] = {str(state)!r}\n" + new)
    source = swap_entry(source, EXAMPLE_SETTINGS[0], "")
    return with_store(source, store)


#: The example's store line.
STORE_LINE = 'os.environ.setdefault("MINILINK_STORE", "/home/me/minilink-data/links.db")'


def _warmup_store(state: Path) -> str:
    """A store in the site for the entry point's import-time check; each scenario's
    state file names its own."""
    return f"os.environ.setdefault('MINILINK_STORE', {str(state.parent / 'warmup.db')!r})"


def with_store(source: str, store: str) -> str:
    """The drop-in ``source`` with its store at ``store`` and hits flushed by the timer
    only every minute: what reaches the file before then was flushed at the stop."""
    return swap_entry(
        source,
        STORE_LINE,
        f"os.environ.setdefault('MINILINK_STORE', {store!r})\n"
        "os.environ.setdefault('MINILINK_HIT_FLUSH_SECONDS', '60')",
    )


def _fcgid(mount: str, site: Path, state: Path, store: str | None) -> list[str]:
    cgi = site / "cgi"
    cgi.mkdir()
    copy_flup(cgi)
    copy_package(cgi)  # compiles flup too, for www-data
    script = cgi / "minilink.fcgi"
    source = (EXAMPLES / "fastcgi" / "minilink.fcgi").read_text(encoding="utf-8")
    source = _drop_in(
        source,
        store,
        state,
        FCGI_ENTRY,
        "from minilink.testing.server_entry import wsgi_application\n"
        "from minilink.adapters.fastcgi import run as _run\n\n\n"
        "def run():\n    _run(wsgi_application)\n",
    )
    script.write_text(source.replace("#!/usr/bin/python3", f"#!{SYSTEM_PYTHON}", 1))
    script.chmod(0o755)
    (site / "run" / "fcgid").mkdir(parents=True)
    give_to_www(site / "run")
    alias = f'ScriptAlias {mount} "{script}"' if mount else f'ScriptAlias / "{script}/"'
    return [
        f"LoadModule fcgid_module {MODULES}/mod_fcgid.so",
        f'FcgidIPCDir "{site}/run/fcgid"',
        f'FcgidProcessTableFile "{site}/run/fcgid_shm"',
        "FcgidMaxProcesses 2",
        "FcgidMaxProcessesPerClass 2",
        "FcgidIOTimeout 30",
        alias,
        "AllowEncodedSlashes On",
        f'<Directory "{cgi}">',
        "    Require all granted",
        "    Options +ExecCGI",
        # What examples/fastcgi/.htaccess says, in the server configuration here
        # (ScriptAlias mounts the script as the CGI harness does).
        "    SetHandler fcgid-script",
        "    CGIPassAuth On",
        "    SetEnv ap_trust_cgilike_cl 1",
        "</Directory>",
    ]


def _passenger(mount: str, site: Path, state: Path, store: str | None) -> list[str]:
    app = site / "app"
    (app / "public").mkdir(parents=True)
    copy_package(app)
    source = (EXAMPLES / "passenger" / "passenger_wsgi.py").read_text(encoding="utf-8")
    if store is None:
        source = swap_entry(source, STORE_LINE, _warmup_store(state))
        source = swap_entry(
            source,
            WSGI_ENTRY_LINE,
            f"os.environ[{STATE_VAR!r}] = {str(state)!r}\n"
            "from minilink.testing.server_entry import wsgi_application as application\n",
        )
    else:
        source = with_store(source, store)
    (app / "passenger_wsgi.py").write_text(source, encoding="utf-8")
    give_to_www(app)
    htaccess = (EXAMPLES / "passenger" / ".htaccess").read_text(encoding="utf-8")
    if "PassengerEnabled on" not in htaccess:
        raise AssertionError("examples/passenger/.htaccess changed: update the harness")
    # The example's lines, in the server configuration here with the application root
    # named (mounted at /s, the site folder is an Alias, not the document root).
    htaccess += (
        f"\nPassengerAppRoot {app}\nPassengerAppType wsgi\nPassengerPython {SYSTEM_PYTHON}\n"
    )
    (site / "run").mkdir(exist_ok=True)
    registry = site / "run" / "passenger"
    registry.mkdir()
    where = mount or "/"
    return [
        f"LoadModule passenger_module {MODULES}/mod_passenger.so",
        f"LoadModule headers_module {MODULES}/mod_headers.so",
        f"PassengerRoot {PASSENGER_ROOT}",
        "PassengerDefaultRuby /usr/bin/ruby",
        f'PassengerInstanceRegistryDir "{registry}"',
        f'PassengerLogFile "{site}/logs/passenger.log"',
        "PassengerDefaultUser www-data",
        "PassengerDefaultGroup www-data",
        "PassengerMaxPoolSize 2",
        "PassengerFriendlyErrorPages off",
        "PassengerDisableAnonymousTelemetry on",
        "AllowEncodedSlashes On",
        f'Alias {mount} "{app}/public"' if mount else f'DocumentRoot "{app}/public"',
        f'<Directory "{app}/public">',
        "    Require all granted",
        "</Directory>",
        f'<Location "{where}">',
        *(f"    {line}" for line in htaccess.splitlines() if line and line.lstrip()[0] != "#"),
        *([f"    PassengerBaseURI {mount}"] if mount else []),
        "</Location>",
    ]


if __name__ == "__main__":  # a quick look: python tests/servers/legacy_hosts.py KIND [MOUNT]
    live = start(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "")
    try:
        print(live.base_url, os.getpid())
        input("running; Enter stops it ")
    finally:
        live.stop()
