"""minilink's pytest plugin: a ``minilink_client`` per adapter, and ``MountContract``.

Theory of operation
-------------------
Installing ``minilink[test]`` registers this module with pytest (the ``pytest11``
entry point ``minilink``), so its fixtures are there in every test session without
an import. They build, for each test, a fresh minilink with a deterministic clock
and random source, serve it, and hand the test a client:

``minilink_env``
    ``MINILINK_*`` settings (default: an admin token, ``ADMIN_TOKEN``). Override it
    to test another configuration.
``minilink_config``, ``minilink_clock``, ``minilink_store``
    ``Config.from_env(minilink_env)``; a ``FakeClock`` at ``clients.START``; a fresh
    ``MemoryStore`` (override it to run on your own store), closed afterwards.
``minilink_app``
    The ``App`` on that store, with that clock and a ``random.Random(clients.SEED)``.
``minilink_mount``
    A ``Mount``: where minilink answers (``prefix``) and the applications that serve
    it. The default is minilink's own WSGI, ASGI and CGI adapters around
    ``minilink_app`` at the server's root. **An application that embeds minilink
    overrides this fixture** to return its own application, built around
    ``minilink_app``, and says where it mounted minilink::

        @pytest.fixture
        def minilink_mount(minilink_app):
            return Mount(prefix="/s", wsgi=make_my_wsgi_app(minilink_app))

``minilink_client``
    A ``minilink.testing.clients.Client`` for one adapter of the mount: the test is
    run once per adapter in ``minilink_adapters`` (a class or module attribute;
    default ``("wsgi", "asgi", "cgi")``), each time with a fresh app. WSGI is
    called in process through ``wsgiref.validate``, ASGI with ``asyncio``, CGI with
    ``minilink.adapters.cgi.main`` in process (``InProcessCGIClient``). A mount
    without an application for an adapter skips that adapter's run.

``MountContract`` is the behavioural suite for a mount: subclass it in a test
module (``class TestMyMount(MountContract): minilink_adapters = ("wsgi",)``) and every
test in it runs through each adapter against ``minilink_mount``: the form, creating,
redirecting and counting, deduplication, aliases, refused URLs changing nothing, the
preview, 404/405/410, deletion with the admin token, bad bodies, health and the
OpenAPI document, and short URLs that carry the mount's prefix.

This module imports only ``pytest`` and the standard library when pytest loads it;
minilink itself is imported by the fixtures that use it, so a test session that
never asks for them pays nothing.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Optional

import pytest

if TYPE_CHECKING:
    from minilink.core.app import App
    from minilink.core.config import Config
    from minilink.storage.base import Store
    from minilink.testing.clients import Client, FakeClock, Result

__all__ = [
    "ADAPTERS",
    "ADMIN_TOKEN",
    "Mount",
    "MountContract",
    "minilink_adapter",
    "minilink_app",
    "minilink_client",
    "minilink_clock",
    "minilink_config",
    "minilink_env",
    "minilink_mount",
    "minilink_store",
    "pytest_generate_tests",
]

#: Every adapter ``minilink_client`` can drive, in the order tests run them.
ADAPTERS = ("wsgi", "asgi", "cgi")
#: The admin token of the default ``minilink_env``.
ADMIN_TOKEN = "minilink-test-admin-token"


@dataclass(frozen=True)
class Mount:
    """Where minilink answers in the application under test, and how to call it.

    ``prefix`` is the path below which minilink answers, as a client sees it
    (``"/s"``; ``""`` for the root). ``wsgi`` and ``asgi`` are the applications a
    server would run (the embedding application, or minilink's own adapter); ``cgi``
    is an ``App`` to serve through the CGI adapter. ``script_name`` is the part of
    ``prefix`` the *server* strips and passes as ``SCRIPT_NAME``/``root_path`` (as
    mod_wsgi's ``WSGIScriptAlias`` does); leave it empty when the application itself
    routes ``prefix`` to minilink.
    """

    prefix: str = ""
    wsgi: Optional[Callable[..., Any]] = None
    asgi: Optional[Callable[..., Any]] = None
    cgi: Optional[App] = None
    script_name: str = ""

    @classmethod
    def of(cls, app: App, prefix: str = "") -> Mount:
        """minilink's own adapters around ``app``, mounted by the server at ``prefix``."""
        from minilink.adapters.asgi import create_app as create_asgi
        from minilink.adapters.wsgi import create_app as create_wsgi

        prefix = prefix.rstrip("/")
        return cls(
            prefix=prefix,
            wsgi=create_wsgi(app=app),
            asgi=create_asgi(app=app),
            cgi=app,
            script_name=prefix,
        )


# -- fixtures ----------------------------------------------------------------------------


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run every test that uses ``minilink_client`` once per adapter."""
    if "minilink_adapter" not in metafunc.fixturenames:
        return
    found: Any = getattr(metafunc.cls, "minilink_adapters", None)
    if found is None:
        found = getattr(metafunc.module, "minilink_adapters", ADAPTERS)
    adapters = tuple(found)
    unknown = sorted(set(adapters) - set(ADAPTERS))
    if unknown:
        raise pytest.UsageError(f"minilink_adapters names unknown adapters: {unknown}")
    metafunc.parametrize("minilink_adapter", list(adapters), indirect=True)


@pytest.fixture
def minilink_adapter(request: pytest.FixtureRequest) -> str:
    """The adapter this run of the test goes through (set by ``pytest_generate_tests``)."""
    return getattr(request, "param", ADAPTERS[0])


@pytest.fixture
def minilink_env() -> dict[str, str]:
    """``MINILINK_*`` settings of the app under test."""
    return {"MINILINK_ADMIN_TOKEN": ADMIN_TOKEN}


@pytest.fixture
def minilink_config(minilink_env: dict[str, str]) -> Config:
    """The ``Config`` built from ``minilink_env``."""
    from minilink.core.config import Config

    return Config.from_env(minilink_env)


@pytest.fixture
def minilink_clock() -> FakeClock:
    """The clock of the app under test; ``advance(seconds)`` moves it."""
    from minilink.testing.clients import FakeClock

    return FakeClock()


@pytest.fixture
def minilink_store() -> Iterator[Store]:
    """A fresh store for the app under test (default: a ``MemoryStore``)."""
    from minilink.storage.memory import MemoryStore

    store = MemoryStore()
    yield store
    store.close()


@pytest.fixture
def minilink_app(minilink_store: Store, minilink_config: Config, minilink_clock: FakeClock) -> App:
    """A fresh ``App`` on ``minilink_store``, deterministic in its clock and codes."""
    from minilink.core.app import App
    from minilink.core.service import Shortener
    from minilink.testing.clients import SEED

    rng = random.Random(SEED)
    shortener = Shortener(
        minilink_store, minilink_config, clock=minilink_clock, randbelow=rng.randrange
    )
    return App(shortener, minilink_config)


@pytest.fixture
def minilink_mount(minilink_app: App) -> Mount:
    """Where and how minilink is served: override it to test your own mount."""
    return Mount.of(minilink_app)


@pytest.fixture
def minilink_client(
    minilink_adapter: str, minilink_mount: Mount, minilink_clock: FakeClock
) -> Iterator[Client]:
    """A client of ``minilink_mount`` through the adapter of this run."""
    from minilink.testing.clients import ASGIClient, WSGIClient
    from minilink.testing.inprocess import InProcessCGIClient

    mount = minilink_mount
    root = mount.script_name.rstrip("/")
    client: Client
    if minilink_adapter == "wsgi" and mount.wsgi is not None:
        client = WSGIClient(mount.wsgi, root=root, clock=minilink_clock)
    elif minilink_adapter == "asgi" and mount.asgi is not None:
        client = ASGIClient(mount.asgi, root=root, clock=minilink_clock)
    elif minilink_adapter == "cgi" and mount.cgi is not None:
        client = InProcessCGIClient(mount.cgi, root=root, clock=minilink_clock)
    else:
        pytest.skip(f"this mount has no {minilink_adapter} application")
    with client:
        yield client


# -- the suite ---------------------------------------------------------------------------

_HTML = "text/html"
_JSON = "application/json"
_FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def _media_type(result: Result) -> str:
    return (result.header("content-type") or "").split(";")[0].strip().lower()


def _error(result: Result, status: int, code: str) -> None:
    assert result.status == status, (result.status, result.body[:300])
    assert _media_type(result) == _JSON, result.headers
    assert result.json()["error"]["code"] == code, result.body[:300]


def _page(result: Result, status: int) -> None:
    assert result.status == status, (result.status, result.body[:300])
    assert _media_type(result) == _HTML, result.headers
    assert "default-src" in (result.header("content-security-policy") or "")
    assert result.header("x-content-type-options") == "nosniff"


class MountContract:
    """The behaviour minilink shows through any mount; subclass it to test yours.

    Every test takes ``minilink_client`` (so it runs once per adapter) and
    ``minilink_mount`` (for the prefix). Admin checks use the admin token of
    ``minilink_config`` and expect 403 when there is none.
    """

    def _create(self, c: Client, m: Mount, url: str, **fields: Any) -> Result:
        return c.post_json(f"{m.prefix}/api/links", {"url": url, **fields})

    def _created(self, c: Client, m: Mount, url: str, **fields: Any) -> dict[str, Any]:
        result = self._create(c, m, url, **fields)
        assert result.status == 201, (result.status, result.body[:300])
        link: dict[str, Any] = result.json()
        return link

    def _codes(self, c: Client, m: Mount, config: Config) -> list[str]:
        """Every live code in the store, through the admin list (``[]`` without a token)."""
        if config.admin_token is None:
            return []
        auth = {"Authorization": f"Bearer {config.admin_token}"}
        result = c.get(f"{m.prefix}/api/links?limit=1000", headers=auth)
        assert result.status == 200, result.body[:300]
        return [link["code"] for link in result.json()["links"]]

    def test_home_page_shows_the_form(self, minilink_client: Client, minilink_mount: Mount) -> None:
        page = minilink_client.get(f"{minilink_mount.prefix}/")
        _page(page, 200)
        assert "<form" in page.text
        assert 'name="url"' in page.text
        head = minilink_client.head(f"{minilink_mount.prefix}/")
        assert (head.status, head.headers, head.body) == (200, page.headers, b"")

    def test_create_redirect_and_count(
        self, minilink_client: Client, minilink_mount: Mount
    ) -> None:
        c, p = minilink_client, minilink_mount.prefix
        created = self._create(c, minilink_mount, "HTTPS://Example.COM:443/kit?q=ü")
        assert created.status == 201, created.body[:300]
        assert _media_type(created) == _JSON
        link = created.json()
        assert link["url"] == "https://example.com/kit?q=%C3%BC"
        assert link["short_url"] == f"http://testserver{p}/{link['code']}"
        assert created.header("location") == link["short_url"]
        visit = c.get(f"{p}/{link['code']}")
        assert visit.status == 302
        assert visit.header("location") == link["url"]
        assert visit.body == b""
        head = c.head(f"{p}/{link['code']}")
        assert (head.status, head.headers, head.body) == (302, visit.headers, b"")
        bot = c.get(f"{p}/{link['code']}", headers={"User-Agent": "Slackbot 1.0"})
        assert bot.status == 302
        shown = c.get(f"{p}/api/links/{link['code']}")
        assert shown.status == 200
        assert shown.json()["hits"] == 1  # the GET only: not HEAD, not the crawler

    def test_same_url_is_deduplicated(self, minilink_client: Client, minilink_mount: Mount) -> None:
        first = self._created(minilink_client, minilink_mount, "https://example.com/same")
        again = self._create(minilink_client, minilink_mount, "https://example.com/same")
        assert again.status == 200
        assert again.json() == first

    def test_aliases(self, minilink_client: Client, minilink_mount: Mount) -> None:
        c, m = minilink_client, minilink_mount
        link = self._created(c, m, "https://example.com/docs", alias="kit-Docs_1")
        assert link["code"] == "kit-Docs_1"
        assert c.get(f"{m.prefix}/kit-Docs_1").header("location") == "https://example.com/docs"
        assert c.get(f"{m.prefix}/kit-docs_1").status == 404  # codes are case-sensitive
        _error(self._create(c, m, "https://example.org/", alias="kit-Docs_1"), 409, "alias_taken")
        _error(self._create(c, m, "https://example.org/", alias="api"), 400, "invalid_alias")
        _error(self._create(c, m, "https://example.org/", alias="a b"), 400, "invalid_alias")

    def test_refused_urls_change_nothing(
        self, minilink_client: Client, minilink_mount: Mount, minilink_config: Config
    ) -> None:
        c, m = minilink_client, minilink_mount
        before = self._codes(c, m, minilink_config)
        for url in (
            "javascript:alert(1)",
            "https://bank.example@evil.example/",
            "https://example.com/a\r\nSet-Cookie: x=1",
            "https:\\\\evil.example/",
            f"http://testserver{m.prefix}/loop",
        ):
            _error(self._create(c, m, url), 400, "invalid_url")
        assert self._codes(c, m, minilink_config) == before

    def test_form_creates_and_shows_the_preview(
        self, minilink_client: Client, minilink_mount: Mount
    ) -> None:
        c, p = minilink_client, minilink_mount.prefix
        body = b"url=https%3A%2F%2Fexample.com%2Fform&alias=kit-form"
        posted = c.request("POST", f"{p}/", headers=_FORM, body=body)
        assert posted.status == 303, (posted.status, posted.body[:300])
        assert posted.header("location") == f"http://testserver{p}/kit-form+"
        preview = c.get(f"{p}/kit-form+")
        _page(preview, 200)
        assert "https://example.com/form" in preview.text
        assert c.get(f"{p}/api/links/kit-form").json()["hits"] == 0
        bad = c.request("POST", f"{p}/", headers=_FORM, body=b"url=javascript%3Ax")
        _page(bad, 400)
        assert "<form" in bad.text

    def test_unknown_paths_and_methods(
        self, minilink_client: Client, minilink_mount: Mount
    ) -> None:
        c, p = minilink_client, minilink_mount.prefix
        _page(c.get(f"{p}/nope123"), 404)
        _page(c.get(f"{p}/nope123+"), 404)
        _error(c.get(f"{p}/api/links/nope123"), 404, "not_found")
        _error(c.get(f"{p}/api/nothing"), 404, "not_found")
        put = c.request("PUT", f"{p}/api/links")
        _error(put, 405, "method_not_allowed")
        assert {"GET", "POST"} <= {m.strip() for m in (put.header("allow") or "").split(",")}
        assert c.request("POST", f"{p}/healthz").status == 405

    def test_delete_leaves_a_tombstone(
        self, minilink_client: Client, minilink_mount: Mount, minilink_config: Config
    ) -> None:
        c, m = minilink_client, minilink_mount
        code = self._created(c, m, "https://example.com/gone")["code"]
        if minilink_config.admin_token is None:
            _error(c.delete(f"{m.prefix}/api/links/{code}"), 403, "forbidden")
            return
        _error(c.delete(f"{m.prefix}/api/links/{code}"), 401, "unauthorized")
        auth = {"Authorization": f"Bearer {minilink_config.admin_token}"}
        deleted = c.delete(f"{m.prefix}/api/links/{code}", headers=auth)
        assert (deleted.status, deleted.body) == (204, b"")
        _page(c.get(f"{m.prefix}/{code}"), 410)
        _error(c.get(f"{m.prefix}/api/links/{code}"), 410, "gone")
        _error(self._create(c, m, "https://example.org/", alias=code), 409, "alias_taken")

    def test_bad_requests_are_clear_4xx(
        self, minilink_client: Client, minilink_mount: Mount, minilink_config: Config
    ) -> None:
        c, m = minilink_client, minilink_mount
        before = self._codes(c, m, minilink_config)
        _page(c.get(f"{m.prefix}/%FF"), 400)
        api = f"{m.prefix}/api/links"
        json_type = {"Content-Type": "application/json"}
        _error(c.request("POST", api, headers=json_type, body=b"{nope"), 400, "bad_request")
        text = {"Content-Type": "text/plain"}
        _error(c.request("POST", api, headers=text, body=b"{}"), 415, "unsupported_media_type")
        too_long = {**json_type, "Content-Length": str(minilink_config.max_body_bytes + 1)}
        _error(c.request("POST", api, headers=too_long, body=b"{}"), 413, "payload_too_large")
        lying = {**json_type, "Content-Length": "100"}
        _error(c.request("POST", api, headers=lying, body=b"{}"), 400, "bad_request")
        assert self._codes(c, m, minilink_config) == before

    def test_paths_are_normalised(self, minilink_client: Client, minilink_mount: Mount) -> None:
        c, p = minilink_client, minilink_mount.prefix
        code = self._created(c, minilink_mount, "https://example.com/slash")["code"]
        for target in (f"{p}/{code}/", f"{p}//{code}"):
            assert c.head(target).header("location") == "https://example.com/slash", target

    def test_health_and_openapi(self, minilink_client: Client, minilink_mount: Mount) -> None:
        c, p = minilink_client, minilink_mount.prefix
        health = c.get(f"{p}/healthz")
        assert (health.status, health.body) == (200, b"ok")
        doc = c.get(f"{p}/api/openapi.json")
        assert doc.status == 200
        assert doc.json()["openapi"].startswith("3.1")
