"""Every file in ``examples/`` runs here, the way its comments say to run it.

* the CGI script with its ``.htaccess`` under Apache, as on a shared host: the script,
  the ``.htaccess`` and the package folder copied into the document root, run by
  Debian's system Python as ``www-data``;
* the mod_wsgi ``apache.conf`` and ``minilink.wsgi`` under Apache, mounted at ``/s``;
* the gunicorn, waitress, uvicorn and hypercorn commands;
* the Flask and Starlette apps that embed minilink at ``/s``.

Each is checked with the requests its deployment exists for: the form, creating a link
(with the admin token, which also shows that ``Authorization`` gets through), the
redirect, and short URLs that carry the mount prefix or the configured base URL.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import sys
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from types import ModuleType
from typing import Any, Callable

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "servers"))

import live_servers
from live_servers import EXAMPLES, Live

from minilink.testing.clients import HTTPClient

TOKEN = "change-me-to-a-long-random-string"  # the examples' placeholder admin token
AUTH = {"Authorization": f"Bearer {TOKEN}"}
JSON = {"Content-Type": "application/json"}


def exercise(live: Live, prefix: str, *, short_base: str, admin: bool = True) -> str:
    """The requests every deployment must answer; returns the code it created."""
    client = HTTPClient(live.base_url, root=prefix, timeout=20)
    home = client.get(prefix + "/")
    assert home.status == 200, (home.status, home.body[:300], live.log_tail())
    assert b"<form" in home.body
    assert client.get(prefix + "/healthz").body == b"ok"
    created = client.request(
        "POST",
        prefix + "/api/links",
        headers={**JSON, **(AUTH if admin else {})},
        body=json.dumps({"url": "https://example.com/from-an-example"}).encode(),
    )
    assert created.status == 201, (created.status, created.body, live.log_tail())
    link = created.json()
    assert link["short_url"] == f"{short_base}/{link['code']}"
    hop = client.get(f"{prefix}/{link['code']}")
    assert hop.status == 302
    assert hop.header("location") == "https://example.com/from-an-example"
    assert hop.header("content-length") == "0"
    if admin:
        listing = client.get(prefix + "/api/links", headers=AUTH)
        assert listing.status == 200, (listing.status, listing.body)  # Authorization passed
        assert [x["code"] for x in listing.json()["links"]] == [link["code"]]
        assert client.get(prefix + "/api/links").status == 401
    code: str = link["code"]
    return code


@pytest.fixture
def site() -> Iterator[Path]:
    with live_servers.new_site("example") as folder:
        yield folder
        shutil.rmtree(folder, ignore_errors=True)


def _start(kind: str, site: Path, command: list[str], env: dict[str, str], url: str) -> Live:
    return live_servers.spawn(kind, "", site, command, env, url)


# -- CGI ------------------------------------------------------------------------------


def test_cgi_script_with_htaccess_at_the_site_root(site: Path) -> None:
    """examples/cgi as the README there says: everything copied into the document root."""
    live_servers.require(*live_servers.NEEDS["apache-cgi"])
    htdocs = site / "htdocs"
    live_servers.copy_package(htdocs)
    shutil.copy(EXAMPLES / "cgi" / "minilink.cgi", htdocs)
    (htdocs / "minilink.cgi").chmod(0o755)
    data = site / "var"
    htaccess = (EXAMPLES / "cgi" / ".htaccess").read_text(encoding="utf-8")
    for line, value in (
        ("SetEnv MINILINK_STORE /home/me/minilink-data/links.db", str(data / "links.db")),
        ("SetEnv MINILINK_BASE_URL https://example.org", "http://testserver"),
    ):
        assert line in htaccess
        htaccess = htaccess.replace(line, line.rsplit(" ", 1)[0] + " " + value)
    (htdocs / ".htaccess").write_text(htaccess, encoding="utf-8")
    live_servers.give_to_www(data)
    port = live_servers.free_port()
    command = live_servers.apache_command(
        site,
        port,
        [
            f'<Directory "{htdocs}">',
            "    AllowOverride All",
            "    Require all granted",
            "</Directory>",
        ],
    )
    live = live_servers.spawn(
        "apache-cgi", "", site, command, live_servers.server_env(), f"http://127.0.0.1:{port}"
    )
    try:
        code = exercise(live, "", short_base="http://testserver")
        client = HTTPClient(live.base_url)
        head = client.head(f"/{code}")
        assert head.status == 302
        assert head.header("location") == "https://example.com/from-an-example"
        # The package folder next to the script is not served: the rewrite sends every
        # path to minilink, which does not know it.
        assert client.get("/minilink/core/app.py").status == 404
        assert client.get("/.htaccess").status == 404
        assert (data / "links.db").exists()
    finally:
        live.stop()


def test_generated_cgi_script_under_apache_with_the_system_python(site: Path) -> None:
    """``minilink cgi-script`` output, run by Apache with Debian's /usr/bin/python3."""
    live_servers.require(*live_servers.NEEDS["apache-cgi"])
    cgi = site / "cgi"
    live_servers.copy_package(cgi)
    data = site / "var"
    script = generate(
        "--store", str(data / "links.db"), "--python", "/usr/bin/python3", "--package-dir", str(cgi)
    )
    (cgi / "minilink.cgi").write_text(script, encoding="utf-8")
    (cgi / "minilink.cgi").chmod(0o755)
    live_servers.give_to_www(data)
    port = live_servers.free_port()
    lines = [
        f'ScriptAlias /s "{cgi}/minilink.cgi"',
        f'<Directory "{cgi}">',
        "    Require all granted",
        "    CGIPassAuth On",
        "    SetEnv ap_trust_cgilike_cl 1",
        f"    SetEnv MINILINK_ADMIN_TOKEN {TOKEN}",
        "</Directory>",
    ]
    command = live_servers.apache_command(site, port, lines)
    url = f"http://127.0.0.1:{port}/s"
    live = live_servers.spawn("apache-cgi", "/s", site, command, live_servers.server_env(), url)
    try:
        exercise(live, "/s", short_base="http://testserver/s")
        assert (data / "links.db").exists()
    finally:
        live.stop()


def generate(*args: str) -> str:
    """``minilink cgi-script ARGS``, run as a command."""
    import subprocess

    done = subprocess.run(
        [sys.executable, "-m", "minilink", "cgi-script", *args],
        capture_output=True,
        text=True,
        check=False,
        env=live_servers.server_env(),
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_cgi_script_output(tmp_path: Path) -> None:
    script = generate(
        "--store", "links.db", "--python", "/opt/py/bin/python3.9", "--package-dir", "www"
    )
    lines = script.splitlines()
    assert lines[0] == "#!/opt/py/bin/python3.9 -IS"
    store = os.path.abspath("links.db")
    assert f"os.environ.setdefault('MINILINK_STORE', {store!r})" in script.replace('"', "'")
    assert f"sys.path.insert(0, {os.path.abspath('www')!r})" in script
    assert lines[-1].startswith("run()")
    assert "from minilink.adapters.cgi import run" in script
    compile(script, "minilink.cgi", "exec")
    # A store URL is kept as it is.
    url = "postgresql://me@db.example/links"
    assert repr(url) in generate("--store", url)


def test_cgi_script_refuses_a_relative_python() -> None:
    import subprocess

    done = subprocess.run(
        [sys.executable, "-m", "minilink", "cgi-script", "--python", "python3"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 2
    assert "absolute path" in done.stderr
    assert "Traceback" not in done.stderr


def test_cgi_script_default_package_dir_runs_here(tmp_path: Path) -> None:
    """Without --package-dir the script finds the minilink it was made by."""
    import subprocess

    script = tmp_path / "minilink.cgi"
    script.write_text(
        generate("--store", str(tmp_path / "links.db"), "--python", sys.executable),
        encoding="utf-8",
    )
    env = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/healthz",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "PATH": os.environ.get("PATH", ""),
    }
    done = subprocess.run(
        [sys.executable, "-IS", str(script)], capture_output=True, env=env, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(b"Status: 200 OK\r\n")
    assert done.stdout.endswith(b"\r\n\r\nok")


#: Modules a CGI redirect must not import: each costs every request its import time
#: (dataclasses alone pulls in inspect, about 15 ms), and only creating a link or
#: rendering a page needs them.
NOT_ON_A_CGI_REDIRECT = (
    "contextlib",
    "dataclasses",
    "hashlib",
    "html",
    "inspect",
    "json",
    "re",
    "secrets",
    "typing",
    "urllib.parse",
    "minilink.core.api",
    "minilink.core.openapi",
    "minilink.core.pages",
    "minilink.core.urls",
    "minilink.storage.buffered",
)


#: Runs a CGI script and, as it ends the process, lists every module it imported.
_LIST_MODULES_AT_EXIT = """
import os, sys
end = os._exit
def _exit(code):
    sys.stderr.write("modules: " + " ".join(sorted(sys.modules)) + "\\n")
    sys.stderr.flush()
    end(code)
os._exit = _exit
script = sys.argv[1]
with open(script, encoding="utf-8") as source:
    exec(compile(source.read(), script, "exec"), {"__name__": "__main__"})
"""


def test_a_cgi_redirect_imports_only_what_it_needs(tmp_path: Path) -> None:
    """The generated script, answering one redirect, as Apache would start it."""
    import subprocess

    from minilink.core.links import Link
    from minilink.storage.sqlite import SQLiteStore

    with SQLiteStore(str(tmp_path / "links.db")) as store:
        store.insert(Link("abc", "https://example.com/", datetime.now(timezone.utc)))
    script = tmp_path / "minilink.cgi"
    script.write_text(
        generate("--store", str(tmp_path / "links.db"), "--python", sys.executable),
        encoding="utf-8",
    )

    def imported(method: str, path: str, body: bytes = b"") -> tuple[bytes, set[str]]:
        env = {
            "REQUEST_METHOD": method,
            "PATH_INFO": path,
            "SERVER_NAME": "testserver",
            "SERVER_PORT": "80",
            "CONTENT_TYPE": "application/json",
            "CONTENT_LENGTH": str(len(body)),
            "MINILINK_RATE_LIMIT": "0",
        }
        done = subprocess.run(
            [sys.executable, "-IS", "-c", _LIST_MODULES_AT_EXIT, str(script)],
            input=body,
            capture_output=True,
            env=env,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        listed = done.stderr.decode().rpartition("modules: ")[2]
        return done.stdout, set(listed.split())

    out, names = imported("GET", "/abc")
    assert out.startswith(b"Status: 302 Found\r\n"), out
    assert "minilink.storage.sqlite" in names  # the list is complete
    assert sorted(names & set(NOT_ON_A_CGI_REDIRECT)) == []
    # Creating a link does need JSON and URL validation: they are imported then.
    out, names = imported("POST", "/api/links", b'{"url": "https://example.org/"}')
    assert out.startswith(b"Status: 201 Created\r\n"), out
    assert {"json", "minilink.core.api", "minilink.core.urls"} <= names


# -- mod_wsgi -------------------------------------------------------------------------


def test_mod_wsgi_example(site: Path) -> None:
    """examples/wsgi/apache.conf and minilink.wsgi with the site's paths filled in."""
    live_servers.require(*live_servers.NEEDS["apache-mod_wsgi"])
    live_servers.copy_package(site / "lib")
    wsgi = (EXAMPLES / "wsgi" / "minilink.wsgi").read_text(encoding="utf-8")
    token_line = f'# os.environ.setdefault("MINILINK_ADMIN_TOKEN", "{TOKEN}")'
    assert token_line in wsgi
    wsgi = wsgi.replace(token_line, token_line[2:]).replace("/srv/minilink", str(site))
    (site / "minilink.wsgi").write_text(wsgi, encoding="utf-8")
    (site / "data").mkdir()
    live_servers.give_to_www(site / "data")
    conf = live_servers.apache_conf_for(
        (EXAMPLES / "wsgi" / "apache.conf").read_text(encoding="utf-8"), site, "/s"
    )
    port = live_servers.free_port()
    lines = [f'WSGISocketPrefix "{site}/run/wsgi"', conf]
    command = live_servers.apache_command(site, port, lines)
    url = f"http://127.0.0.1:{port}/s"
    live = live_servers.spawn(
        "apache-mod_wsgi", "/s", site, command, live_servers.server_env(), url
    )
    try:
        exercise(live, "/s", short_base="http://testserver/s")
        # AllowEncodedSlashes On: /s/a%2Fb reaches minilink (its 404 page, not Apache's).
        page = HTTPClient(live.base_url, root="/s").get("/s/a%2Fb")
        assert page.status == 404
        assert page.header("content-security-policy")
        assert (site / "data" / "links.db").exists()
    finally:
        live.stop()


# -- gunicorn, waitress, uvicorn, hypercorn ------------------------------------------------


@pytest.mark.parametrize(
    ("script", "kind"),
    [
        ("wsgi/gunicorn.sh", "gunicorn-gthread"),
        ("wsgi/waitress.sh", "waitress"),
        ("asgi/uvicorn.sh", "uvicorn"),
        ("asgi/hypercorn.sh", "hypercorn"),
    ],
)
def test_server_command(script: str, kind: str, site: Path) -> None:
    live_servers.require(*live_servers.NEEDS[kind])
    port = live_servers.free_port()
    env = live_servers.server_env()
    bin_dir = str(Path(sys.executable).parent)  # where pip put the server's command
    env.update(
        {
            "PATH": bin_dir + os.pathsep + env.get("PATH", ""),
            "MINILINK_STORE": str(site / "var" / "links.db"),
            "MINILINK_ADMIN_TOKEN": TOKEN,
            "BIND": f"127.0.0.1:{port}",
            "HOST": "127.0.0.1",
            "PORT": str(port),
        }
    )
    live = _start(kind, site, ["sh", str(EXAMPLES / script)], env, f"http://127.0.0.1:{port}")
    try:
        exercise(live, "", short_base="http://testserver")
    finally:
        live.stop()


# -- embedding ----------------------------------------------------------------------------


def load_example(name: str, store: Path, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """Import ``examples/NAME/app.py`` afresh with its store in ``store``."""
    monkeypatch.setenv("MINILINK_STORE", str(store))
    monkeypatch.setenv("MINILINK_ADMIN_TOKEN", TOKEN)
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / name / "app.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


Call = Callable[..., Any]


def body(response: Any) -> Any:
    """The JSON of a Flask (``.json``) or httpx (``.json()``) test response."""
    return response.json() if callable(response.json) else response.json


def check_embedded(post_share: Call, get: Call, post_json: Call, host: str) -> None:
    """What both embedding examples promise, through their frameworks' test clients."""
    share = post_share("/share", data={"url": "https://example.com/shared"})
    assert share.status_code == 200, share.text
    short = body(share)["short_url"]
    code = short.rsplit("/", 1)[1]
    assert short == f"http://{host}/s/{code}"
    hop = get(f"/s/{code}")
    assert hop.status_code == 302
    assert hop.headers["location"] == "https://example.com/shared"
    assert "<form" in get("/s/").text
    created = post_json("/s/api/links", json={"url": "https://example.com/api"})
    assert created.status_code == 201, created.text
    assert body(created)["short_url"].startswith(f"http://{host}/s/")
    refused = post_share("/share", data={"url": "javascript:alert(1)"})
    assert refused.status_code == 400
    assert body(refused)["error"] == "invalid_url"
    listing = get("/s/api/links", headers=AUTH)
    assert {x["code"] for x in body(listing)["links"]} == {code, body(created)["code"]}


def test_embed_flask(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    module = load_example("embed_flask", tmp_path / "links.db", monkeypatch)
    try:
        client = module.app.test_client()
        check_embedded(client.post, client.get, client.post, "localhost")
        assert client.get("/").status_code == 404  # the host app's own, not minilink's
        # As its comments say: the mount and /share share one App, whose hits are batched.
        from minilink.storage.buffered import BufferedStore

        assert isinstance(module.minilink.shortener.store, BufferedStore)
        assert module.shortener is module.minilink.shortener
    finally:
        module.minilink.close()


def test_embed_starlette(site: Path, tmp_path: Path) -> None:
    """Run by uvicorn, as its docstring says, and called with httpx."""
    import httpx

    live_servers.require(*live_servers.NEEDS["uvicorn"])
    port = live_servers.free_port()
    env = live_servers.server_env()
    database = tmp_path / "links.db"  # outlives the site, which stop() removes
    env.update({"MINILINK_STORE": str(database), "MINILINK_ADMIN_TOKEN": TOKEN})
    command = [sys.executable, "-m", "uvicorn", "--app-dir", str(EXAMPLES / "embed_starlette")]
    command += ["--host", "127.0.0.1", "--port", str(port), "app:app"]
    url = f"http://127.0.0.1:{port}"
    live = live_servers.spawn("uvicorn", "/s", site, command, env, url, health="/s/healthz")
    try:
        with httpx.Client(base_url=url, headers={"Host": "testserver"}, timeout=20) as client:
            check_embedded(client.post, client.get, client.post, "testserver")
            assert client.get("/").status_code == 404  # the host app's own, not minilink's
            shared = client.post("/share", data={"url": "https://example.org/hits"})
            code = shared.json()["short_url"].rsplit("/", 1)[1]
            for _ in range(3):
                assert client.get(f"/s/{code}").status_code == 302
    finally:
        live.stop()
    # The batched hits were written when uvicorn stopped (the lifespan's shutdown).
    from minilink.storage.sqlite import SQLiteStore

    with SQLiteStore(str(database)) as store:
        stored = store.get(code)
        assert stored is not None and stored.hits == 3
