"""Redirects per second under one Apache: CGI, FastCGI, Passenger, mod_wsgi, static.

One Apache (prefork, as shared hosts run it with mod_php) serves five mounts at once:

* ``/cgi``: ``examples/cgi/minilink.cgi`` (mod_cgi, one Python per request);
* ``/fcgi``: ``examples/fastcgi/minilink.fcgi`` under mod_fcgid (2 processes);
* ``/pass``: ``examples/passenger/passenger_wsgi.py`` under mod_passenger (2 processes);
* ``/wsgi``: ``examples/wsgi/minilink.wsgi`` under mod_wsgi (daemon, 2 processes x 4
  threads, as ``examples/wsgi/apache.conf``);
* ``/static``: a ``Redirect`` of mod_alias, Apache's own 302: the ceiling.

Each minilink mount has its own SQLite file with one link, created through it; the
files are the ones shipped, with their store line pointing there (and the package,
and flup, copied next to them as on a host reached by FTP). ``wrk`` (8 connections)
runs against each in turn, alternating, for ``--rounds`` rounds; medians, and ratios
to mod_wsgi and to CGI from the same run. Run as root: Apache's children run as
www-data.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from importlib.util import find_spec
from pathlib import Path

from common import ROOT, free_port, median, save, wrk

APACHE = "/usr/sbin/apache2"
MODULES = Path("/usr/lib/apache2/modules")
PYTHON = "/usr/bin/python3"
EXAMPLES = ROOT / "examples"
STORE_LINE = 'os.environ.setdefault("MINILINK_STORE", "/home/me/minilink-data/links.db")'
KINDS = ("cgi", "fcgi", "pass", "wsgi")


def _copy_packages(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "minilink", folder / "minilink", ignore=ignore)
    spec = find_spec("flup")
    assert spec is not None, "pip install flup"
    assert spec.submodule_search_locations
    flup = Path(next(iter(spec.submodule_search_locations)))
    shutil.copytree(flup, folder / "flup", ignore=ignore)
    subprocess.run([PYTHON, "-m", "compileall", "-q", str(folder)], check=True)


def _script(source: Path, target: Path, store: Path, drop: tuple[str, ...] = ()) -> None:
    text = source.read_text(encoding="utf-8")
    assert STORE_LINE in text or "/srv/minilink/data/links.db" in text, source
    text = text.replace(STORE_LINE, f"os.environ.setdefault('MINILINK_STORE', {str(store)!r})")
    text = text.replace("/srv/minilink/data/links.db", str(store))
    for line in drop:
        text = text.replace(line, "")
    target.write_text(text, encoding="utf-8")
    target.chmod(0o755)


def configure(site: Path, port: int) -> Path:
    data = site / "data"
    data.mkdir()
    for kind in KINDS:
        folder = site / kind
        _copy_packages(folder)
    base_url = 'os.environ.setdefault("MINILINK_BASE_URL", "https://example.org")\n'
    _script(EXAMPLES / "cgi" / "minilink.cgi", site / "cgi" / "minilink.cgi", data / "cgi.db")
    _script(
        EXAMPLES / "fastcgi" / "minilink.fcgi",
        site / "fcgi" / "minilink.fcgi",
        data / "fcgi.db",
        (base_url,),
    )
    _script(
        EXAMPLES / "passenger" / "passenger_wsgi.py",
        site / "pass" / "passenger_wsgi.py",
        data / "pass.db",
    )
    (site / "pass" / "public").mkdir()
    _script(EXAMPLES / "wsgi" / "minilink.wsgi", site / "wsgi" / "minilink.wsgi", data / "wsgi.db")
    for name in ("run", "logs", "htdocs", "run/fcgid", "run/passenger"):
        (site / name).mkdir(exist_ok=True)
    www = pwd.getpwnam("www-data")
    for path in [data, site / "run", site / "pass", *data.rglob("*"), *(site / "run").rglob("*")]:
        os.chown(path, www.pw_uid, www.pw_gid)
    modules = ["mpm_prefork", "authz_core", "alias", "env", "cgi", "mime", "headers"]
    lines = [
        f'ServerRoot "{site}"',
        f'DefaultRuntimeDir "{site}/run"',
        f'PidFile "{site}/run/httpd.pid"',
        f"Listen 127.0.0.1:{port}",
        "ServerName bench",
        f'ErrorLog "{site}/logs/error.log"',
        "LogLevel warn",
        *(f"LoadModule {m}_module {MODULES}/mod_{m}.so" for m in modules),
        f"LoadModule fcgid_module {MODULES}/mod_fcgid.so",
        f"LoadModule passenger_module {MODULES}/mod_passenger.so",
        f"LoadModule wsgi_module {MODULES}/mod_wsgi.so",
        "User www-data",
        "Group www-data",
        "StartServers 8",
        "MinSpareServers 8",
        "MaxSpareServers 16",
        "ServerLimit 16",
        "MaxRequestWorkers 16",
        "KeepAlive On",
        "MaxKeepAliveRequests 0",
        "TypesConfig /dev/null",
        f'DocumentRoot "{site}/htdocs"',
        "<Directory />",
        "    AllowOverride None",
        "    Require all granted",
        "</Directory>",
        # The ceiling: Apache answering the redirect itself.
        "Redirect 302 /static/abc https://example.com/landing",
        # CGI, as examples/cgi/.htaccess.
        f'ScriptAlias /cgi "{site}/cgi/minilink.cgi"',
        f'<Directory "{site}/cgi">',
        "    SetEnv ap_trust_cgilike_cl 1",
        "</Directory>",
        # FastCGI, as examples/fastcgi/.htaccess.
        f'FcgidIPCDir "{site}/run/fcgid"',
        f'FcgidProcessTableFile "{site}/run/fcgid_shm"',
        "FcgidMaxProcessesPerClass 2",
        "FcgidMinProcessesPerClass 2",
        f'ScriptAlias /fcgi "{site}/fcgi/minilink.fcgi"',
        f'<Directory "{site}/fcgi">',
        "    Options +ExecCGI",
        "    SetHandler fcgid-script",
        "    SetEnv ap_trust_cgilike_cl 1",
        "</Directory>",
        # Passenger, as examples/passenger/.htaccess.
        "PassengerRoot /usr/lib/ruby/vendor_ruby/phusion_passenger/locations.ini",
        "PassengerDefaultRuby /usr/bin/ruby",
        f'PassengerInstanceRegistryDir "{site}/run/passenger"',
        f'PassengerLogFile "{site}/logs/passenger.log"',
        "PassengerDefaultUser www-data",
        "PassengerDefaultGroup www-data",
        "PassengerMaxPoolSize 2",
        "PassengerDisableAnonymousTelemetry on",
        f'Alias /pass "{site}/pass/public"',
        "<Location /pass>",
        f"    PassengerAppRoot {site}/pass",
        "    PassengerAppType wsgi",
        "    PassengerStartupFile passenger_wsgi.py",
        f"    PassengerPython {PYTHON}",
        "    PassengerBaseURI /pass",
        "    PassengerMinInstances 2",
        "</Location>",
        # mod_wsgi, as examples/wsgi/apache.conf.
        f'WSGISocketPrefix "{site}/run/wsgi"',
        f"WSGIDaemonProcess minilink processes=2 threads=4 python-path={site}/wsgi",
        "WSGIProcessGroup minilink",
        "WSGIApplicationGroup %{GLOBAL}",
        f'WSGIScriptAlias /wsgi "{site}/wsgi/minilink.wsgi"',
    ]
    config = site / "httpd.conf"
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return config


def _request(port: int, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        headers = {"Host": "bench", "Content-Type": "application/json"}
        connection.request(method, path, body=body or None, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def _wait(port: int, proc: subprocess.Popen[bytes], deadline: float) -> None:
    for _ in range(100_000):
        if proc.poll() is not None:
            raise RuntimeError(f"apache exited with {proc.returncode}")
        try:
            if _request(port, "GET", "/static/abc")[0] == 302:
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError("apache did not answer")
        time.sleep(0.05)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args()
    site = Path(tempfile.mkdtemp(prefix="minilink-bench-legacy-"))
    site.chmod(0o755)
    port = free_port()
    proc = None
    try:
        config = configure(site, port)
        proc = subprocess.Popen(
            [APACHE, "-DFOREGROUND", "-f", str(config)],
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait(port, proc, time.monotonic() + 60)
        urls = {"static": f"http://127.0.0.1:{port}/static/abc"}
        for kind in KINDS:
            status, body = _request(
                port, "POST", f"/{kind}/api/links", b'{"url": "https://example.com/landing"}'
            )
            assert status == 201, (kind, status, body[:300])
            code = json.loads(body)["code"]
            assert _request(port, "GET", f"/{kind}/{code}")[0] == 302, kind
            urls[kind] = f"http://127.0.0.1:{port}/{kind}/{code}"
        order = ["cgi", "fcgi", "pass", "wsgi", "static"]
        runs: dict[str, list[float]] = {name: [] for name in order}
        for name in order:  # warm-up: every process started and its caches filled
            wrk(urls[name], seconds=1, connections=args.connections)
        for _ in range(args.rounds):
            for name in order:
                runs[name].append(wrk(urls[name], args.seconds, args.connections))
        medians = {name: median(values) for name, values in runs.items()}
        ratios = {
            f"{name}/wsgi": medians[name] / medians["wsgi"] for name in ("fcgi", "pass", "static")
        }
        ratios.update({f"{name}/cgi": medians[name] / medians["cgi"] for name in ("fcgi", "pass")})
        version = subprocess.run([APACHE, "-v"], capture_output=True, text=True).stdout
        save(
            "legacy_hosts",
            {
                "apache": version.split("\n")[0].split(":", 1)[-1].strip(),
                "connections": args.connections,
                "seconds": args.seconds,
                "rounds": args.rounds,
                "req_per_s": {name: round(value, 1) for name, value in medians.items()},
                "ratios": {name: round(value, 3) for name, value in ratios.items()},
                "runs": runs,
            },
        )
    finally:
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        shutil.rmtree(site, ignore_errors=True)


if __name__ == "__main__":
    main()
