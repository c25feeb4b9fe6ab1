"""Start real servers on 127.0.0.1 for the live-server suite, and stop them.

Theory of operation
-------------------
Each ``Live`` is one server process (or Apache with its children) listening on a free
loopback port, serving ``minilink.testing.server_entry`` (or, for Apache CGI, the
example CGI script calling it), so that ``HTTPClient(..., state=live.state)`` can give
it the test's clock, random source and configuration for every request (see
``server_entry``). Every scenario names a fresh SQLite file in ``live.var`` through
that configuration, so one server process serves many scenarios, each on its own
store.

* ``start(kind, mount)`` writes what the server needs into a fresh folder, starts
  it, and polls ``/healthz`` until it answers, within a deadline (never a blind
  sleep); a server that exits or stays silent fails with the tail of its log.
* Apache runs in the foreground (``-DFOREGROUND``) with its own configuration file,
  modules loaded by ``LoadModule`` from Debian's folder, and its children running as
  ``www-data`` when the tests run as root. Its CGI script and mod_wsgi file are the
  ones in ``examples/`` with one line changed (the import of the entry point), the
  package copied next to them (Apache's system Python has no virtualenv), and
  ``var`` owned by ``www-data``.
* ``stop()`` sends SIGTERM, waits, and kills what is left.

A server the machine lacks is skipped locally and fails under CI (``CI`` set):
CI installs everything (``.ci/setup.d``), so a missing server there is a bug.
"""

from __future__ import annotations

import contextlib
import functools
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.util import find_spec
from pathlib import Path
from typing import Any, Optional

import pytest

from minilink.testing.clients import SEED, START

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
APACHE = Path("/usr/sbin/apache2")
MODULES = Path("/usr/lib/apache2/modules")
SYSTEM_PYTHON = Path("/usr/bin/python3")
WWW_USER = "www-data"
LIGHTTPD = Path("/usr/sbin/lighttpd")
NGINX = Path("/usr/sbin/nginx")
FCGIWRAP = Path("/usr/sbin/fcgiwrap")
BUSYBOX = Path("/bin/busybox")
#: pip's uWSGI is a program next to this interpreter, not an importable module.
UWSGI = Path(sys.executable).with_name("uwsgi")
BUSYBOX_MOUNT = "/cgi-bin/minilink.cgi"
STATE_VAR = "MINILINK_TESTING_STATE"
#: Seconds a server may take to answer its first request.
START_DEADLINE = 60.0

WSGI_ENTRY = "minilink.testing.server_entry:wsgi_application"
ASGI_ENTRY = "minilink.testing.server_entry:asgi_application"

#: What each kind of server needs on this machine: a Python module or a file.
NEEDS: dict[str, tuple[str, ...]] = {
    "apache-cgi": (str(APACHE), str(MODULES / "mod_cgi.so"), str(SYSTEM_PYTHON)),
    "apache-mod_wsgi": (str(APACHE), str(MODULES / "mod_wsgi.so"), str(SYSTEM_PYTHON)),
    "gunicorn-sync": ("gunicorn",),
    "gunicorn-gthread": ("gunicorn",),
    "waitress": ("waitress",),
    "uvicorn": ("uvicorn", "uvloop", "httptools"),
    "hypercorn": ("hypercorn",),
    "minilink-serve": (),
    "lighttpd-cgi": (str(LIGHTTPD), str(SYSTEM_PYTHON)),
    "nginx-fcgiwrap": (str(NGINX), str(FCGIWRAP), str(SYSTEM_PYTHON)),
    "busybox-httpd": (str(BUSYBOX), str(SYSTEM_PYTHON)),
    "uwsgi": (str(UWSGI),),
    "granian-wsgi": ("granian",),
    "granian-asgi": ("granian",),
    "cheroot": ("cheroot",),
    "daphne": ("daphne",),
}

#: Where each kind mounts the app: bare ("") and under "/s", except where the server
#: cannot. ``minilink serve`` has no mount option (a front server mounts it); busybox
#: httpd runs scripts only under /cgi-bin/ and cannot serve the root through one, so
#: it runs the script where it is, mounted at its own path.
MOUNTS: dict[str, tuple[str, ...]] = {
    "minilink-serve": ("",),
    "busybox-httpd": (BUSYBOX_MOUNT,),
}

#: Servers that never hand a path ending in "/" to a script: the mount root is
#: requested without it.
ROOT_WITHOUT_SLASH = ("busybox-httpd",)

#: The servers from Debian that run the generated CGI script.
CGI_KINDS = ("lighttpd-cgi", "nginx-fcgiwrap", "busybox-httpd")


def require(*needs: str) -> None:
    """Skip (locally) or fail (in CI) unless every module or file in ``needs`` exists."""
    missing = [n for n in needs if not (Path(n).exists() if "/" in n else find_spec(n))]
    if missing:
        reason = f"not installed here: {', '.join(missing)}"
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (.ci/setup.d and the test extra install it)")
        pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def write_state(path: Path, env: Mapping[str, str]) -> None:
    """A state file for ``server_entry``: the suite's start time and seed, ``env``."""
    import random

    state = {"now": START.isoformat(), "random": random.Random(SEED).getstate(), "env": env}
    path.write_text(json.dumps(state), encoding="utf-8")


@functools.cache
def version_of(kind: str) -> str:
    """The server's version, for the summary."""
    from importlib.metadata import version

    if kind.startswith("apache"):
        out = subprocess.run([str(APACHE), "-v"], capture_output=True, text=True, check=False)
        text = out.stdout.split("\n")[0].split(":", 1)[-1].strip()
        if kind == "apache-mod_wsgi":
            text += ", mod_wsgi " + _deb_version("libapache2-mod-wsgi-py3")
        return text + f", Python {_system_python_version()}"
    if kind in CGI_KINDS:
        packages = {"nginx-fcgiwrap": ("nginx", "fcgiwrap")}.get(kind, (kind.split("-")[0],))
        text = ", ".join(f"{p} {_deb_version(p)}" for p in packages)
        return text + f", Python {_system_python_version()}"
    name = {"minilink-serve": "minilink", "uwsgi": "uWSGI"}.get(kind, kind.split("-")[0])
    return f"{name} {version(name)}"


def _deb_version(package: str) -> str:
    out = subprocess.run(
        ["dpkg-query", "-W", "-f=${Version}", package], capture_output=True, text=True, check=False
    )
    return out.stdout.strip() or "?"


def _system_python_version() -> str:
    out = subprocess.run(
        [str(SYSTEM_PYTHON), "-c", "import platform; print(platform.python_version())"],
        capture_output=True,
        text=True,
        check=False,
    )
    return out.stdout.strip()


@dataclass
class Tally:
    """What one server configuration ran: for the summary (see conftest.py)."""

    version: str
    cases: int = 0
    requests: int = 0
    refused: list[str] = field(default_factory=list)


#: (kind, mount) -> what ran through it, in this test run.
SUMMARY: dict[tuple[str, str], Tally] = {}


@dataclass
class Live:
    """One running server: where it answers and what it reads."""

    kind: str
    mount: str  # "" or "/s": where the server mounts the app
    base_url: str  # where the mount root is reached (a stripping proxy is modelled here)
    site: Path
    state: Path
    var: Path
    log: Path
    proc: subprocess.Popen[bytes]
    stores: int = 0
    #: Processes the server needs beside its own (fcgiwrap for nginx), stopped after it.
    companions: list[subprocess.Popen[bytes]] = field(default_factory=list)
    _log_file: Optional[object] = field(default=None, repr=False)

    def record(self, scenario: str, history: Sequence[object], refused: Sequence[Any]) -> None:
        """Count one scenario run for the summary at the end of the test run."""
        entry = SUMMARY.setdefault((self.kind, self.mount), Tally(version_of(self.kind)))
        entry.cases += 1
        entry.requests += len(history)
        for request, reason, _ in refused:
            entry.refused.append(f"{scenario}: {request}: {reason}")

    def next_store(self) -> str:
        self.stores += 1
        return str(self.var / f"case{self.stores}.db")

    def log_tail(self, lines: int = 40) -> str:
        text = ""
        for path in sorted(self.site.glob("logs/*")):
            if path.is_file():
                content = path.read_text(encoding="utf-8", errors="replace")
                text += f"--- {path.name}\n" + "\n".join(content.splitlines()[-lines:]) + "\n"
        return text

    def stop(self) -> None:
        try:
            terminate(self.proc)
            for proc in self.companions:
                terminate(proc, group=True)
        finally:
            close = getattr(self._log_file, "close", None)
            if close is not None:
                close()
            shutil.rmtree(self.site, ignore_errors=True)


def terminate(proc: subprocess.Popen[bytes], *, group: bool = False) -> None:
    """SIGTERM ``proc``, wait, and kill it if it is still there; with ``group``, its
    whole process group (its own, see ``_popen``): fcgiwrap's children outlive it."""
    if group:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
    elif proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=15)
    if group:
        deadline = time.monotonic() + 15
        for _ in range(1000):  # until the group is gone, bounded by the deadline
            try:
                os.killpg(proc.pid, 0)
            except ProcessLookupError:
                return
            if time.monotonic() > deadline:
                os.killpg(proc.pid, signal.SIGKILL)
                return
            time.sleep(0.02)  # waiting for processes to exit: a short, fixed poll


def start(kind: str, mount: str = "") -> Live:
    """Start a server of ``kind`` serving ``server_entry`` at ``mount``; see the module
    doc."""
    require(*NEEDS[kind])
    with new_site(kind) as site:
        return _start(kind, mount, site)


@contextlib.contextmanager
def new_site(kind: str) -> Iterator[Path]:
    """A fresh folder for one server (``var`` for its data, ``logs``), removed again
    if the server does not start (``Live.stop`` removes it otherwise)."""
    site = Path(tempfile.mkdtemp(prefix=f"minilink-{kind}-"))
    try:
        site.chmod(0o755)  # Apache's children (www-data) walk through it
        for folder in ("var", "logs"):
            (site / folder).mkdir()
        yield site
    except BaseException:
        shutil.rmtree(site, ignore_errors=True)
        raise


def server_env() -> dict[str, str]:
    """The environment a server starts with: this one without MINILINK_*, and the
    repository (plus tests/adapters, home of edge 22's wrapped store) on PYTHONPATH."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MINILINK_")}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), str(REPO / "tests" / "adapters")])
    return env


def _start(kind: str, mount: str, site: Path) -> Live:
    var = site / "var"
    state = var / "state.json"
    write_state(state, {"MINILINK_STORE": str(var / "warmup.db")})
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    base_url = url + mount
    env = server_env()
    env[STATE_VAR] = str(state)
    python = sys.executable
    command: list[str]
    if kind.startswith("apache"):
        lines = _apache_cgi(mount, site, state) if kind == "apache-cgi" else []
        if kind == "apache-mod_wsgi":
            lines = _apache_wsgi(mount, site, state)
        command = apache_command(site, port, lines)
        give_to_www(var)
    elif kind.startswith("gunicorn"):
        worker = kind.split("-")[1]
        command = [python, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "1"]
        command += ["--worker-class", worker, "--no-control-socket", "--log-level", "warning"]
        # gunicorn believes X-Forwarded-Proto from 127.0.0.1 by default; here minilink
        # decides (MINILINK_TRUSTED_PROXIES), as the suite's peer is not a proxy.
        command.append("--forwarded-allow-ips=")
        if worker == "gthread":
            command += ["--threads", "4"]
        command.append(WSGI_ENTRY)
        if mount:
            env["SCRIPT_NAME"] = mount
    elif kind == "waitress":
        command = [python, "-m", "waitress", f"--listen=127.0.0.1:{port}"]
        # waitress deletes X-Forwarded-* it was not told to trust; pass them to minilink.
        command.append("--no-clear-untrusted-proxy-headers")
        if mount:
            command.append(f"--url-prefix={mount}")
        command.append(WSGI_ENTRY)
    elif kind == "uvicorn":
        command = [python, "-m", "uvicorn", "--host", "127.0.0.1", "--port", str(port)]
        command += ["--lifespan", "on", "--log-level", "warning", "--no-access-log"]
        command += ["--loop", "uvloop", "--http", "httptools"]
        # uvicorn believes X-Forwarded-* from 127.0.0.1 by default; minilink decides.
        command.append("--no-proxy-headers")
        if mount:
            # uvicorn's root_path is for a proxy that strips the prefix: the request
            # arrives without it and the scope's path gets it back.
            command += ["--root-path", mount]
            base_url = url
        command.append(ASGI_ENTRY)
    elif kind == "hypercorn":
        command = [python, "-m", "hypercorn", "--bind", f"127.0.0.1:{port}"]
        if mount:
            command += ["--root-path", mount]
        command.append(ASGI_ENTRY)
    elif kind in CGI_KINDS:
        script = _generated_cgi_script(site, state)
        companions: list[subprocess.Popen[bytes]] = []
        if kind == "lighttpd-cgi":
            command = _lighttpd(site, port, mount, script)
        elif kind == "nginx-fcgiwrap":
            command = _nginx(site, port, mount, script)
            # fcgiwrap listens on a socket in the site; nginx connects on the first request.
            fcgiwrap = [str(FCGIWRAP), "-c", "2", "-s", f"unix:{site}/run/fcgi.sock"]
            companions.append(companion(fcgiwrap, site, env))
        else:
            command = _busybox(site, port, mount, script)
        return spawn(kind, mount, site, command, env, base_url, companions=companions)
    elif kind == "uwsgi":
        command = [str(UWSGI), "--http-socket", f"127.0.0.1:{port}", "--master"]
        command += ["--processes", "1", "--die-on-term", "--need-app", "--disable-logging"]
        command += ["--virtualenv", sys.prefix, "--pythonpath", env["PYTHONPATH"]]
        if mount:
            command += ["--manage-script-name", "--mount", f"{mount}={WSGI_ENTRY}"]
        else:
            command += ["--module", WSGI_ENTRY]
    elif kind.startswith("granian"):
        interface = kind.split("-")[1]
        command = [python, "-m", "granian", "--interface", interface, "--host", "127.0.0.1"]
        command += ["--port", str(port), "--workers", "1", "--no-access-log"]
        command += ["--log-level", "warning"]
        if mount:
            command += ["--url-path-prefix", mount]
        command.append(WSGI_ENTRY if interface == "wsgi" else ASGI_ENTRY)
    elif kind == "cheroot":
        launcher = str(Path(__file__).with_name("cheroot_entry.py"))
        command = [python, launcher, str(port), mount]
    elif kind == "daphne":
        command = [python, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "-v", "0"]
        if mount:
            # As uvicorn's: for a proxy that strips the prefix; the scope's path
            # arrives without it, which minilink tolerates (ADAPTER-EDGES 2).
            command += ["--root-path", mount]
            base_url = url
        command.append(ASGI_ENTRY)
    elif kind == "minilink-serve":
        if mount:
            raise ValueError("minilink serve has no mount option")
        launcher = str(Path(__file__).with_name("serve_entry.py"))
        command = [python, launcher, "serve", "--port", str(port), "--quiet"]
        command += ["--store", str(var / "cli.db")]
    else:
        raise ValueError(kind)
    return spawn(kind, mount, site, command, env, base_url)


def spawn(
    kind: str,
    mount: str,
    site: Path,
    command: list[str],
    env: Mapping[str, str],
    base_url: str,
    *,
    health: str = "/healthz",
    companions: Sequence[subprocess.Popen[bytes]] = (),
) -> Live:
    """Run ``command`` in ``site/var`` and wait until ``base_url + health`` answers 200;
    ``companions`` (already started) are stopped with it."""
    log = site / "logs" / "server.log"
    log_file = log.open("wb")
    try:
        proc = _popen(command, site, env, log_file)
    except BaseException:
        log_file.close()
        for each in companions:
            terminate(each)
        raise
    live = Live(
        kind,
        mount,
        base_url,
        site,
        site / "var" / "state.json",
        site / "var",
        log,
        proc,
        companions=list(companions),
        _log_file=log_file,
    )
    try:
        _wait_until_answers(live, health)
    except BaseException:
        live.stop()
        raise
    return live


def _popen(
    command: list[str], site: Path, env: Mapping[str, str], log_file: Any
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        command,
        cwd=site / "var",
        env=dict(env),
        stdin=subprocess.DEVNULL,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        # A process group of its own: Apache signals its whole group when it stops.
        start_new_session=True,
    )


def companion(command: list[str], site: Path, env: Mapping[str, str]) -> subprocess.Popen[bytes]:
    """Start a process a server needs beside it, logging to ``logs/<program>.log``."""
    with (site / "logs" / f"{Path(command[0]).name}.log").open("wb") as log_file:
        return _popen(command, site, env, log_file)  # the child keeps its own copy


def _wait_until_answers(live: Live, health: str) -> None:
    parts = live.base_url.split("/", 3)
    host, port = parts[2].split(":")
    path = "/" + (parts[3] if len(parts) > 3 else "") + health
    path = path.replace("//", "/")
    deadline = time.monotonic() + START_DEADLINE
    last: object = None
    for _ in range(100_000):  # bounded by the deadline long before this
        if live.proc.poll() is not None:
            raise AssertionError(
                f"{live.kind} exited with {live.proc.returncode} before answering\n"
                + live.log_tail()
            )
        connection = http.client.HTTPConnection(host, int(port), timeout=5)
        try:
            connection.request("GET", path, headers={"Host": "testserver"})
            response = connection.getresponse()
            response.read()
            if response.status == 200:
                return
            last = f"status {response.status}"
        except OSError as exc:
            last = exc
        finally:
            connection.close()
        if time.monotonic() > deadline:
            break
        # Waiting for a socket to start listening: poll at a short, fixed interval.
        time.sleep(0.05)
    raise AssertionError(
        f"{live.kind} did not answer {path} in {START_DEADLINE:.0f} s ({last})\n" + live.log_tail()
    )


# -- Apache -------------------------------------------------------------------------------

_APACHE_MODULES = ("mpm_prefork", "authz_core", "alias", "env", "cgi", "rewrite", "mime", "dir")


def apache_command(site: Path, port: int, lines: Sequence[str]) -> list[str]:
    """The command that runs Apache in the foreground with a configuration of its own in
    ``site`` (modules, logs, runtime files there), listening on ``port``, and ``lines``
    added at the end."""
    run = site / "run"
    run.mkdir(exist_ok=True)
    (site / "htdocs").mkdir(exist_ok=True)
    config_lines = [
        f'ServerRoot "{site}"',
        f'DefaultRuntimeDir "{run}"',
        f'PidFile "{run}/httpd.pid"',
        f"Listen 127.0.0.1:{port}",
        "ServerName testserver",
        f'ErrorLog "{site}/logs/error.log"',
        "LogLevel warn",
        *(f"LoadModule {m}_module {MODULES}/mod_{m}.so" for m in _APACHE_MODULES),
        *(
            f"LoadModule wsgi_module {MODULES}/mod_wsgi.so"
            for _ in range(1)
            if any(line.lstrip().startswith("WSGI") for line in lines)
        ),
        "StartServers 1",
        "MinSpareServers 1",
        "MaxSpareServers 2",
        "MaxRequestWorkers 4",
        "Timeout 30",
        "TypesConfig /dev/null",
        f'DocumentRoot "{site}/htdocs"',
        "<Directory />",
        "    AllowOverride None",
        "    Require all denied",
        "</Directory>",
    ]
    if os.geteuid() == 0:
        config_lines += [f"User {WWW_USER}", f"Group {WWW_USER}"]
    config = site / "httpd.conf"
    config.write_text("\n".join([*config_lines, *lines]) + "\n", encoding="utf-8")
    return [str(APACHE), "-DFOREGROUND", "-f", str(config)]


def _apache_cgi(mount: str, site: Path, state: Path) -> list[str]:
    """The example CGI script, calling the deterministic entry point, with the package
    copied next to it (the example's FTP layout); ScriptAlias mounts it."""
    cgi = site / "cgi"
    copy_package(cgi)
    script = cgi / "minilink.cgi"
    script.write_text(
        swap_entry(
            (EXAMPLES / "cgi" / "minilink.cgi").read_text(encoding="utf-8"),
            "from minilink.adapters.cgi import run",
            "from minilink.testing.server_entry import cgi_run as run",
        ),
        encoding="utf-8",
    )
    script.chmod(0o755)
    # At the root, "/" maps to the script with PATH_INFO "/" and SCRIPT_NAME "".
    alias = f'ScriptAlias {mount} "{script}"' if mount else f'ScriptAlias / "{script}/"'
    return [
        alias,
        # /a%2Fb reaches the app as /a/b, as under every other server.
        "AllowEncodedSlashes On",
        f'<Directory "{cgi}">',
        "    Require all granted",
        "    CGIPassAuth On",
        "    SetEnv ap_trust_cgilike_cl 1",
        f'    SetEnv {STATE_VAR} "{state}"',
        "</Directory>",
    ]


def _apache_wsgi(mount: str, site: Path, state: Path) -> list[str]:
    """The example mod_wsgi configuration and .wsgi file, with the site's paths."""
    lib = site / "lib"
    copy_package(lib)
    wsgi = swap_entry(
        (EXAMPLES / "wsgi" / "minilink.wsgi").read_text(encoding="utf-8"),
        "from minilink.adapters.wsgi import application",
        f"os.environ[{STATE_VAR!r}] = {str(state)!r}\n"
        "from minilink.testing.server_entry import wsgi_application as application",
    )
    # The example's default store, in this site: the entry point checks at import that
    # its folder exists (each case then opens a store of its own).
    (site / "data").mkdir(exist_ok=True)
    wsgi = wsgi.replace("/srv/minilink", str(site))
    (site / "minilink.wsgi").write_text(wsgi, encoding="utf-8")
    conf = (EXAMPLES / "wsgi" / "apache.conf").read_text(encoding="utf-8")
    conf = apache_conf_for(conf, site, mount)
    return [f'WSGISocketPrefix "{site}/run/wsgi"', "WSGIRestrictEmbedded On", conf]


def apache_conf_for(conf: str, site: Path, mount: str) -> str:
    """``examples/wsgi/apache.conf`` with the site folder and the mount filled in."""
    alias = "WSGIScriptAlias /s /srv/minilink/minilink.wsgi"
    if alias not in conf or "/srv/minilink" not in conf:
        raise AssertionError("examples/wsgi/apache.conf changed: update the harness")
    conf = conf.replace(alias, f"WSGIScriptAlias {mount or '/'} /srv/minilink/minilink.wsgi")
    return conf.replace("/srv/minilink", str(site))


def swap_entry(source: str, old: str, new: str) -> str:
    """``source`` with its one ``old`` line replaced (the example's entry point)."""
    if source.count(old) != 1:
        raise AssertionError(f"the example no longer has exactly one {old!r}")
    return source.replace(old, new)


def copy_package(folder: Path) -> None:
    """Copy the package (with segno and edge 22's wrapped store) into ``folder`` and
    compile it for Apache's Python: www-data cannot write __pycache__ there."""
    folder.mkdir(exist_ok=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(REPO / "minilink", folder / "minilink", ignore=ignore)
    # The qr extra, when installed here, goes along: the preview page shows a QR code
    # only where segno can be imported.
    segno = find_spec("segno")
    if segno is not None and segno.submodule_search_locations:
        source = Path(next(iter(segno.submodule_search_locations)))
        shutil.copytree(source, folder / "segno", ignore=ignore)
    shutil.copy(REPO / "tests" / "adapters" / "_failing_store.py", folder)
    subprocess.run(
        [str(SYSTEM_PYTHON), "-m", "compileall", "-q", str(folder)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    for path in [folder, *folder.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else path.stat().st_mode | 0o444)


def give_to_www(folder: Path) -> None:
    """Let Apache's children (www-data) write the stores and the state file."""
    if os.geteuid() != 0:
        return
    import pwd

    entry = pwd.getpwnam(WWW_USER)
    for path in [folder, *folder.rglob("*")]:
        os.chown(path, entry.pw_uid, entry.pw_gid)


# -- CGI under lighttpd, nginx + fcgiwrap, busybox httpd ---------------------------------
#
# Each runs the script ``minilink cgi-script`` prints, with the package copied next to
# it (as for Apache) and its one import swapped for the deterministic entry point; the
# state file's path is written into the script, as no two of these servers pass an
# environment variable to a script the same way. They run as the user the tests run
# as (root in CI: nginx needs ``user root;`` for its workers to reach fcgiwrap's
# socket), so the stores need no change of owner.


def _generated_cgi_script(site: Path, state: Path) -> Path:
    """``minilink cgi-script`` for Debian's Python, in ``site/cgi-bin``."""
    folder = site / "cgi-bin"
    copy_package(folder)
    printed = subprocess.run(
        [
            *(sys.executable, "-m", "minilink", "cgi-script", "--python", str(SYSTEM_PYTHON)),
            *("--package-dir", str(folder), "--store", str(site / "var" / "unused.db")),
        ],
        capture_output=True,
        text=True,
        check=True,
        env=server_env(),
    ).stdout
    script = folder / "minilink.cgi"
    script.write_text(
        swap_entry(
            printed,
            "from minilink.adapters.cgi import run",
            f"os.environ[{STATE_VAR!r}] = {str(state)!r}\n"
            "from minilink.testing.server_entry import cgi_run as run",
        ),
        encoding="utf-8",
    )
    script.chmod(0o755)
    return script


def _lighttpd(site: Path, port: int, mount: str, script: Path) -> list[str]:
    """lighttpd in the foreground; ``alias.url`` maps the mount (or every path) onto
    the script, whose path info lighttpd finds by walking back to the file."""
    (site / "htdocs").mkdir(exist_ok=True)
    target = str(script) if mount else f"{script}/"
    config = [
        f'server.document-root = "{site}/htdocs"',
        'server.bind = "127.0.0.1"',
        f"server.port = {port}",
        f'server.errorlog = "{site}/logs/error.log"',
        'server.modules = ("mod_alias", "mod_cgi")',
        f'alias.url = ("{mount or "/"}" => "{target}")',
        'cgi.assign = (".cgi" => "")',
        # The body limit is minilink's (a 413 of its own); lighttpd's is in KiB.
        "server.max-request-size = 16384",
        # lighttpd adds "Accept-Ranges: bytes" to every answer unless ranges are off.
        'server.range-requests = "disable"',
        'server.tag = "lighttpd"',
    ]
    path = site / "lighttpd.conf"
    path.write_text("\n".join(config) + "\n", encoding="utf-8")
    return [str(LIGHTTPD), "-D", "-f", str(path)]


def _nginx(site: Path, port: int, mount: str, script: Path) -> list[str]:
    """nginx in the foreground, passing the mount to fcgiwrap with Debian's
    ``fastcgi_params``; the path info is the (decoded) path after the mount."""
    run = site / "run"
    run.mkdir(exist_ok=True)
    temp = " ".join(f"{name}_temp_path {run}/{name};" for name in _NGINX_TEMPS)
    user = "user root;" if os.geteuid() == 0 else ""
    params = " ".join(f"fastcgi_param {name} {value};" for name, value in _NGINX_PARAMS)
    config = f"""
        daemon off; master_process on; worker_processes 1; {user}
        pid {run}/nginx.pid; error_log {site}/logs/error.log warn;
        events {{ worker_connections 64; }}
        http {{
            access_log off; {temp}
            # The body limit is minilink's (a 413 of its own), not nginx's 1 MiB.
            client_max_body_size 16m;
            # //abc reaches the app as it was sent, as under the other servers.
            merge_slashes off;
            server {{
                listen 127.0.0.1:{port};
                server_name testserver;
                location ~ ^{mount}(?<minilink_path>/.*)?$ {{
                    {params}
                    fastcgi_param SCRIPT_FILENAME {script};
                    fastcgi_param SCRIPT_NAME "{mount}";
                    fastcgi_param PATH_INFO $minilink_path;
                    fastcgi_pass unix:{run}/fcgi.sock;
                }}
            }}
        }}
        """
    path = site / "nginx.conf"
    path.write_text(config, encoding="utf-8")
    return [str(NGINX), "-p", str(site), "-c", str(path), "-e", f"{site}/logs/error.log"]


_NGINX_TEMPS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")

#: Debian's fastcgi_params without its SCRIPT_NAME (the mount is set here instead: two
#: SCRIPT_NAME params reach the script as the first one).
_NGINX_PARAMS = (
    ("QUERY_STRING", "$query_string"),
    ("REQUEST_METHOD", "$request_method"),
    ("CONTENT_TYPE", "$content_type"),
    ("CONTENT_LENGTH", "$content_length"),
    ("REQUEST_URI", "$request_uri"),
    ("SERVER_PROTOCOL", "$server_protocol"),
    ("GATEWAY_INTERFACE", "CGI/1.1"),
    ("SERVER_SOFTWARE", "nginx"),
    ("REMOTE_ADDR", "$remote_addr"),
    ("REMOTE_PORT", "$remote_port"),
    ("SERVER_ADDR", "$server_addr"),
    ("SERVER_PORT", "$server_port"),
    ("SERVER_NAME", "$server_name"),
    ("HTTPS", "$https if_not_empty"),
)


def _busybox(site: Path, port: int, mount: str, script: Path) -> list[str]:
    """busybox httpd in the foreground, its document root holding ``cgi-bin``."""
    if mount != BUSYBOX_MOUNT:
        raise ValueError(f"busybox httpd runs the script at {BUSYBOX_MOUNT} only")
    config = site / "httpd.conf"
    config.write_text("", encoding="utf-8")
    command = [str(BUSYBOX), "httpd", "-f", "-p", f"127.0.0.1:{port}", "-h", str(site)]
    return [*command, "-c", str(config)]
