"""The PostgreSQL store against the machine's real server: the contract, and what only
a shared network database has to prove (migrations racing, outages, a slow query).

This module creates a database of its own and drops it at the end; every test works
in a fresh schema of it. Nothing is mocked.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from typing import Any, Optional

import pytest
from helpers import asgi_get
from pghelpers import Proxy, new_schema, temporary_database, with_options

from minilink.adapters.asgi import create_app
from minilink.core.app import App
from minilink.core.errors import StoreUnavailable
from minilink.core.service import Shortener
from minilink.storage import open_store
from minilink.storage.postgres import SCHEMA_VERSION, PostgresStore
from minilink.testing.contract import DAY, StoreContract, make_link

psycopg = pytest.importorskip("psycopg")


@pytest.fixture(scope="module")
def database() -> Iterator[str]:
    with temporary_database("storage") as url:
        yield url


@pytest.fixture
def url(database: str) -> str:
    """A store URL on a fresh, empty schema."""
    return new_schema(database)


class TestPostgresStore(StoreContract):
    @pytest.fixture
    def store(self, url: str) -> Iterator[PostgresStore]:
        s = PostgresStore.from_url(url)
        yield s
        s.close()

    @pytest.fixture
    def unreachable_store(self) -> Iterator[PostgresStore]:
        # Port 1 on loopback: nothing listens, so every connection is refused at once.
        s = PostgresStore.from_url(
            "postgresql://postgres@127.0.0.1:1/postgres?connect_timeout=1&pool_timeout=1"
        )
        yield s
        s.close()


def _version(url: str) -> list[tuple[Any, ...]]:
    store = PostgresStore.from_url(url)
    try:
        store.ping()
        return store._run(
            lambda conn: conn.execute("SELECT version FROM minilink_schema").fetchall()
        )
    finally:
        store.close()


# -- opening ----------------------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["postgresql", "postgres", "postgresql+psycopg", "PostgreSQL"])
def test_open_store_reads_every_spelling(scheme: str) -> None:
    with open_store(f"{scheme}://user:secret@db.example:6543/links?sslmode=disable") as store:
        assert isinstance(store, PostgresStore)
        assert store.where == "db.example:6543/links"
        assert "secret" not in store.where
        assert (store.pool_min, store.pool_max, store.pool_timeout) == (1, 10, 5.0)


def test_url_options_set_the_pool_and_the_rest_go_to_libpq() -> None:
    store = PostgresStore.from_url(
        "postgresql://h/db?pool_min=2&sslmode=disable&pool_max=4&pool_timeout=0.5"
        "&connect_timeout=2&application_name=edge"
    )
    assert (store.pool_min, store.pool_max, store.pool_timeout) == (2, 4, 0.5)
    assert store.connect_timeout == 2
    assert store._conninfo == "postgresql://h/db?sslmode=disable&application_name=edge"
    assert store._connect_kwargs["application_name"] == "edge"
    store.close()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("postgresql://h/db?pool_max=many", "pool_max must be a number"),
        ("postgresql://h/db?pool_min=5&pool_max=2", "pool_min <= pool_max"),
        ("postgresql://h/db?pool_timeout=0", "pool_timeout must be above 0"),
        ("postgresql://h/db?nonsense_option=1", "cannot be read"),
        ("mysql://h/db", "a PostgreSQL URL is"),
    ],
    ids=["not-a-number", "min-over-max", "zero-timeout", "unknown-libpq-option", "scheme"],
)
def test_bad_urls_are_refused(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        PostgresStore.from_url(url)


def test_missing_drivers_name_the_extra() -> None:
    code = textwrap.dedent(
        """
        import sys
        sys.modules["psycopg"] = None  # as if the extra were not installed
        from minilink.storage import open_store
        try:
            open_store("postgresql://127.0.0.1/db")
        except ValueError as exc:
            print(exc)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert "pip install 'minilink[postgres]'" in done.stdout


def test_opening_connects_to_nothing() -> None:
    started = time.monotonic()
    with open_store("postgresql://127.0.0.1:1/nothing-listens-here"):
        pass
    assert time.monotonic() - started < 1


# -- schema ------------------------------------------------------------------------------


def test_first_use_creates_the_versioned_schema(url: str) -> None:
    assert _version(url) == [(SCHEMA_VERSION,)]
    assert _version(url) == [(SCHEMA_VERSION,)]  # and a second store finds it done


def test_servers_starting_at_once_migrate_once(url: str) -> None:
    stores = [PostgresStore.from_url(url) for _ in range(8)]
    barrier = threading.Barrier(len(stores))
    errors: list[BaseException] = []

    def start(store: PostgresStore) -> None:
        barrier.wait(timeout=30)
        try:
            store.ping()
            store.insert(make_link(f"s{id(store)}"))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(s,)) for s in stores]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        for store in stores:
            store.close()
    assert errors == []
    assert _version(url) == [(SCHEMA_VERSION,)]


def test_a_newer_schema_is_refused(url: str) -> None:
    with PostgresStore.from_url(url) as store:
        store.ping()
        assert isinstance(store, PostgresStore)
        store._run(lambda conn: conn.execute("UPDATE minilink_schema SET version = 99"))
    with PostgresStore.from_url(url) as store, pytest.raises(StoreUnavailable, match="newer"):
        store.ping()


def test_long_urls_are_deduplicated(url: str) -> None:
    # Longer than a B-tree entry may be: the unique index is on the URL's md5.
    long = "https://example.com/" + "a" * 8000
    with PostgresStore.from_url(url) as store:
        assert store.insert(make_link("one", long)) == make_link("one", long)
        again = store.insert(make_link("two", long))
        assert again is not None
        assert again.code == "one"


def test_a_closed_store_refuses_calls(url: str) -> None:
    store = PostgresStore.from_url(url)
    store.ping()
    store.close()
    with pytest.raises(StoreUnavailable, match="closed"):
        store.get("x")


# -- outages --------------------------------------------------------------------------


def _app(store: PostgresStore) -> App:
    return App(Shortener(store))


def _request(app: App, path: str, accept_json: bool = False) -> tuple[int, dict[str, str], bytes]:
    from minilink.core.http import Request

    response = app.handle(
        Request(method="GET", path=path, query="", headers={"host": "testserver"}, body=b"")
    )
    return response.status, dict(response.headers), response.body


def test_an_unreachable_server_answers_503_at_once() -> None:
    # Nothing listens on port 1; connection refused.
    store = PostgresStore.from_url("postgresql://127.0.0.1:1/db?pool_timeout=2")
    app = _app(store)
    try:
        started = time.monotonic()
        status, headers, body = _request(app, "/healthz")
        assert (status, body) == (503, b"unavailable")
        assert headers["Retry-After"]
        # The first failure learned that the server is down: the next ones wait on nothing.
        for path in ("/healthz", "/abc", "/api/links/abc"):
            again = time.monotonic()
            status, headers, body = _request(app, path)
            assert status == 503
            assert headers["Retry-After"]
            assert time.monotonic() - again < 0.5
        assert b"unavailable" in _request(app, "/api/links/abc")[2]
        assert "text/html" in _request(app, "/abc")[1]["Content-Type"]
        assert time.monotonic() - started < 5
    finally:
        app.close()


@pytest.mark.slow
def test_an_outage_answers_503_and_the_store_recovers_by_itself(url: str) -> None:
    """The line to the server is cut (every connection dropped, nothing listening),
    then restored on the same port: 503s meanwhile, then service without a restart."""
    proxy = Proxy(("127.0.0.1", 5432))
    proxy.start()
    proxied = url.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}")
    store = PostgresStore.from_url(with_options(proxied, "pool_timeout=2&connect_timeout=2"))
    app = _app(store)
    try:
        store.insert(make_link("abc"))
        assert _request(app, "/healthz")[0] == 200
        assert _request(app, "/abc")[0] == 302

        proxy.stop()
        statuses = {_request(app, path)[0] for path in ("/healthz", "/abc", "/api/links/abc")}
        assert statuses == {503}

        proxy.start()
        deadline = time.monotonic() + 15
        while _request(app, "/healthz")[0] != 200:
            assert time.monotonic() < deadline, "the store did not recover"
            time.sleep(0.05)  # polling a condition, bounded by the deadline
        assert _request(app, "/abc")[0] == 302
        link = store.get("abc")
        assert link is not None
        assert link.hits == 2
    finally:
        app.close()
        proxy.stop()


def test_a_read_survives_a_server_side_disconnect(url: str) -> None:
    with PostgresStore.from_url(url) as store:
        assert isinstance(store, PostgresStore)
        store.insert(make_link("abc"))
        # Every pooled connection of this store is dropped by the server.
        store._run(
            lambda conn: conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE application_name = 'minilink' AND pid <> pg_backend_pid()"
                " AND datname = current_database()"
            )
        )
        with pytest.raises(StoreUnavailable, match="dropped the connection"):
            store._run(lambda conn: conn.execute("SELECT pg_terminate_backend(pg_backend_pid())"))
        assert store.get("abc") == make_link("abc")


# -- the ASGI adapter does not wait for the database on its event loop ---------------


class _SlowStore(PostgresStore):
    """Reading the code ``slow`` takes a second of database time (``pg_sleep``)."""

    def get(self, code: str) -> Optional[Any]:
        if code == "slow":
            self._run(lambda conn: conn.execute("SELECT pg_sleep(1)"))
        return super().get(code)


async def _get(app: Any, path: str) -> tuple[int, float]:
    """One GET through an ASGI app; its status and when it finished."""
    sent = await asgi_get(app, path)
    return sent[0]["status"], time.monotonic()


def test_a_slow_query_does_not_delay_other_requests_through_asgi(url: str) -> None:
    store = _SlowStore.from_url(url)
    store.insert(make_link("slow"))
    store.insert(make_link("fast"))
    asgi = create_app(app=_app(store))

    async def scenario() -> tuple[float, list[tuple[int, float]], tuple[int, float]]:
        started = time.monotonic()
        slow = asyncio.ensure_future(_get(asgi, "/slow"))
        await asyncio.sleep(0.05)  # let the slow request reach the database first
        fast = await asyncio.gather(*(_get(asgi, "/fast") for _ in range(5)))
        return started, fast, await slow

    try:
        started, fast, slow = asyncio.run(scenario())
    finally:
        asgi.close()
        store.close()
    assert slow[0] == 302
    assert slow[1] - started >= 1.0
    for status, finished in fast:
        assert status == 302
        assert finished < slow[1]  # answered while the slow query was still running


def test_hits_from_many_threads_on_one_code_are_exact(url: str) -> None:
    with PostgresStore.from_url(with_options(url, "pool_max=4")) as store:
        store.insert(make_link("hot"))
        counted: list[int] = []

        def visit() -> None:
            counted.append(sum(store.hit("hot", DAY) for _ in range(100)))

        threads = [threading.Thread(target=visit) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert counted == [100] * 8
        link = store.get("hot")
        assert link is not None
        assert link.hits == 800
        assert store.daily("hot", DAY) == [(DAY, 800)]
