"""The PostgreSQL store against the machine's real server: the contract, and what only
a shared network database has to prove (migrations racing, outages, a slow query).

This module creates a database of its own and drops it at the end; every test works
in a fresh schema of it. Nothing is mocked.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any, Optional

import pytest
from helpers import asgi_get
from pghelpers import ADMIN_URL, Proxy, new_schema, temporary_database, with_options

from minilink.adapters.asgi import create_app
from minilink.core.app import App
from minilink.core.errors import StoreUnavailable
from minilink.core.service import Shortener
from minilink.storage import open_store
from minilink.storage.postgres import SCHEMA_VERSION, PostgresStore
from minilink.testing.contract import DAY, T0, StoreContract, make_link

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
    def other_store(self, url: str) -> Iterator[PostgresStore]:
        # Another pool on the same schema, as another server would open it.
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
        assert not store.listen


def test_url_options_set_the_pool_and_the_rest_go_to_libpq() -> None:
    store = PostgresStore.from_url(
        "postgresql://h/db?pool_min=2&sslmode=disable&pool_max=4&pool_timeout=0.5"
        "&connect_timeout=2&application_name=edge&listen=1"
    )
    assert (store.pool_min, store.pool_max, store.pool_timeout) == (2, 4, 0.5)
    assert store.listen
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


# -- link management: update, search, tags, changes ----------------------------------

_LATER = T0 + timedelta(hours=1)


def _store(url: str, **options: str) -> PostgresStore:
    extra = "&".join(f"{name}={value}" for name, value in options.items())
    return PostgresStore.from_url(with_options(url, extra) if extra else url)


def _rows(store: PostgresStore, query: str, *params: object) -> list[tuple[Any, ...]]:
    return store._run(lambda conn: conn.execute(query, params).fetchall())


def test_update_writes_every_field_and_counts_the_revision(url: str) -> None:
    with _store(url) as store:
        store.insert(make_link("abc", tags=("one",)))
        store.hit("abc", DAY, count=3)
        edited = make_link(
            "abc",
            "https://example.org/new",
            created_at=T0 + timedelta(days=9),  # kept as stored
            hits=99,  # kept as stored
            expires_at=_LATER + timedelta(days=1),
            max_visits=10,
            title="Ein Titel",
            tags=("two", "three"),
            redirect_status=308,
            forward_query=True,
            fallback_url="https://example.org/fallback",
            password_hash="scrypt$x$y",
            updated_at=_LATER,
        )
        stored = store.update(edited)
        assert stored == edited.replace(created_at=T0, hits=3, revision=1)
        assert store.get("abc") == stored
        assert store.tags() == [("three", 1), ("two", 1)]
        # Another editor who read revision 0 is refused, and nothing changes.
        assert store.update(edited.replace(title="stale")) is None
        assert store.get("abc") == stored
        assert store.update(make_link("missing")) is None
        again = store.update(stored.replace(tags=("two",), title=None))
        assert again is not None
        assert again.revision == 2
        assert store.tags() == [("two", 1)]


def test_update_refuses_a_tombstone(url: str) -> None:
    with _store(url) as store:
        store.insert(make_link("abc", tags=("x",)))
        assert store.delete("abc", _LATER)
        assert store.update(make_link("abc", title="back")) is None
        tombstone = store.get("abc")
        assert tombstone is not None
        assert (tombstone.title, tombstone.deleted_at, tombstone.revision) == (None, _LATER, 0)
        assert store.tags() == []


def test_update_keeps_one_live_plain_link_per_url(url: str) -> None:
    with _store(url) as store:
        store.insert(make_link("plain", "https://example.org/x"))
        store.insert(make_link("titled", "https://example.org/y", title="t"))
        # Made plain with a URL that has a plain link already: stored as an alias.
        made = store.update(make_link("titled", "https://example.org/x"))
        assert made is not None
        assert made.alias
        # Made plain with a URL of its own: stays deduplicable.
        store.insert(make_link("other", "https://example.org/z", title="t"))
        own = store.update(make_link("other", "https://example.org/w"))
        assert own is not None
        assert not own.alias
        assert store.insert(make_link("new", "https://example.org/w")) == own
        # A plain link edited to its own URL is not an alias of itself.
        same = store.update(store.get("plain").replace(updated_at=_LATER))  # type: ignore[union-attr]
        assert same is not None
        assert not same.alias


def test_update_loses_the_unique_index_to_a_racing_insert_and_becomes_an_alias(
    url: str,
) -> None:
    """The insert of a plain link commits while the edit that makes another link plain
    with that URL waits on the unique index: the edit is stored as an alias."""
    with _store(url) as store:
        store.insert(make_link("edited", "https://example.org/a", title="t"))
        store.ping()
        racing = psycopg.connect(store._conninfo, **store._connect_kwargs)
        try:
            racing.autocommit = False
            racing.execute(
                "INSERT INTO minilink_links (code, url, created_at) VALUES (%s, %s, %s)",
                ("first", "https://example.org/b", T0),
            )
            result: list[Any] = []
            editor = threading.Thread(
                target=lambda: result.append(
                    store.update(make_link("edited", "https://example.org/b"))
                )
            )
            editor.start()
            deadline = time.monotonic() + 10
            while not _rows(
                store,
                "SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                " AND query LIKE 'UPDATE minilink_links AS l%%'",
            ):
                assert time.monotonic() < deadline, "the edit never waited on the index"
                time.sleep(0.01)  # polling a condition, bounded by the deadline
            racing.commit()
            editor.join(timeout=10)
        finally:
            racing.close()
        assert len(result) == 1
        assert result[0] is not None
        assert result[0].alias
        assert result[0].revision == 1
        first = store.insert(make_link("third", "https://example.org/b"))
        assert first is not None
        assert first.code == "first"


def test_racing_edits_of_one_revision_from_two_pools_have_one_winner(url: str) -> None:
    with _store(url) as one, _store(url) as two:
        one.insert(make_link("abc"))
        stores = (one, two)
        for round_ in range(20):
            base = one.get("abc")
            assert base is not None
            barrier = threading.Barrier(2)
            won: list[Optional[Any]] = [None, None]

            def edit(
                i: int, base: Any = base, barrier: Any = barrier, won: Any = won, n: int = round_
            ) -> None:
                barrier.wait(timeout=10)
                won[i] = stores[i].update(base.replace(title=f"by {i} in {n}"))

            threads = [threading.Thread(target=edit, args=(i,)) for i in range(2)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=30)
            winners = [link for link in won if link is not None]
            assert len(winners) == 1, won
            assert one.get("abc") == winners[0]
            assert winners[0].revision == base.revision + 1


def _wait_for(condition: Any, what: str, seconds: float = 5.0) -> float:
    """Poll ``condition()`` until true; return how long it took."""
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < seconds, what
        time.sleep(0.001)  # polling a condition, bounded by the deadline
    return time.monotonic() - started


def test_two_listening_pools_see_each_others_changes(url: str) -> None:
    with _store(url, listen="1") as writer, _store(url, listen="1") as reader:
        writer.insert(make_link("abc"))
        first = reader.changes()  # the first call reads the counter row
        assert reader.changes() == first  # the second starts the listener
        listener = reader._listener
        assert listener is not None
        _wait_for(lambda: listener.value() is not None, "the listener never connected")
        seen = {reader.changes()}
        link = writer.get("abc")
        assert link is not None
        changes: list[tuple[str, Any]] = [
            ("update", lambda: writer.update(link.replace(title="new"))),
            ("hit, which is no change", lambda: writer.hit("abc", DAY)),
            ("delete", lambda: writer.delete("abc", _LATER)),
            ("restore", lambda: writer.restore([(make_link("def"), ())])),
        ]
        for name, change in changes:
            before = reader.changes()
            change()
            if name.startswith("hit"):
                assert reader.changes() == before
                continue
            # Told by the notification (the listener's own number moves), soon.
            _wait_for(
                lambda before=before: listener.value() not in (None, before),
                f"{name} unseen",
                2.0,
            )
            seen.add(reader.changes())
            # The writer's own process knows at once, and a store that does not
            # listen reads the row.
            assert writer.changes() == reader.changes()
            with _store(url) as reading:
                assert reading.changes() == reader.changes() == reading.changes()
                assert reading._listener is None
        assert len(seen) == 4


def test_changes_are_read_from_the_row_when_the_listener_is_cut(url: str) -> None:
    with _store(url, listen="1") as writer, _store(url, listen="1") as reader:
        writer.insert(make_link("abc"))
        reader.changes()
        reader.changes()
        listener = reader._listener
        assert listener is not None
        _wait_for(lambda: listener.value() is not None, "the listener never connected")
        killed = _rows(
            writer,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE query LIKE 'SELECT coalesce(current_schema()%%' AND pid <> pg_backend_pid()"
            " AND datname = current_database()",
        )
        assert killed
        before = reader.changes()
        assert writer.delete("abc", _LATER)
        # The dead connection is noticed and the row is read: at once, unless the
        # listener's thread has not yet seen its connection end (listening is opt-in
        # for that reason: it is not exact), so within a bounded wait.
        _wait_for(lambda: reader.changes() != before, "the cut listener hid the change")
        # And the listener comes back by itself.
        _wait_for(lambda: listener.value() is not None, "the listener did not reconnect")
        assert reader.changes() == writer.changes()


def test_a_listening_store_answers_changes_from_memory(url: str) -> None:
    """Not a timing test: the listener's answer must be a memory read, so many calls
    open no transaction on the server (the counter row's reads would)."""
    with _store(url, listen="1") as store:
        store.changes()
        store.changes()
        listener = store._listener
        assert listener is not None
        _wait_for(lambda: listener.value() is not None, "the listener never connected")

        def commits() -> int:
            return int(
                _rows(
                    store,
                    "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()",
                )[0][0]
            )

        before = commits()
        for _ in range(1000):
            store.changes()
        assert commits() - before < 50  # the two stats reads, and other tests' traffic


# -- search agrees with the reference ---------------------------------------------------

_NOW = T0 + timedelta(days=2)


def _corpus() -> list[Any]:
    """Links of every state, with titles, tags and URLs that test case folding
    (ASCII only), LIKE's wildcards and escape, and every sort's ties."""
    import random

    rng = random.Random(13)
    words = ["Alpha", "beta", "GAMMA", "Straße", "ÉCOLE", "école", "100%", "a_b", "x\\y", "İ"]
    tags = ["red", "green", "blue", "x-1", "y_2"]
    entries = []
    for i in range(90):
        kind = i % 6
        fields: dict[str, Any] = {
            "title": rng.choice([None, *words]) if i % 3 else None,
            "tags": tuple(rng.sample(tags, rng.randint(0, 3))),
            "hits": rng.choice([0, 1, 5, 5, 9]),
            "updated_at": rng.choice([None, T0 + timedelta(hours=rng.randint(-5, 5))]),
            "revision": rng.randint(0, 3),
        }
        if kind == 1:
            fields["expires_at"] = _NOW - timedelta(hours=1)
        elif kind == 2:
            fields["expires_at"] = _NOW + timedelta(hours=1)
        elif kind == 3:
            fields["max_visits"] = 5
        elif kind == 4:
            fields["deleted_at"] = _NOW - timedelta(minutes=1)
        link = make_link(
            f"{rng.choice(['Ab', 'ab', 'K', 'k_'])}{i}",
            f"https://Example.COM/{rng.choice(words)}/{i}",
            created_at=T0 + timedelta(seconds=rng.choice([0, 0, i])),
            alias=rng.random() < 0.3,
            **fields,
        )
        days = ((DAY, link.hits),) if link.hits else ()
        entries.append((link, days))
    return entries


_TEXTS = [None, "", "a", "AB", "example.com/alpha", "ALPHA", "straße", "STRASSE", "École",
          "école", "%", "100%", "_", "a_b", "a%b", "\\", "x\\y", "i", "İ", "/", "k_1", "zzz",
          "\n", "\x00"]  # fmt: skip


@pytest.mark.parametrize("sort", ["created", "hits", "updated"])
def test_search_agrees_with_the_memory_store(url: str, sort: str) -> None:
    from minilink.core._values import replace
    from minilink.core.links import STATES, Search
    from minilink.storage.memory import MemoryStore

    entries = _corpus()
    reference = MemoryStore()
    reference.restore(entries)
    with _store(url) as store:
        assert store.restore(entries) == len(entries)
        assert store.tags() == reference.tags()
        for state in STATES:
            for text in _TEXTS:
                for tag in (None, "red", "y_2", "none"):
                    if text not in (None, "a") and tag not in (None, "red"):
                        continue  # every tag with a few texts is enough
                    search = Search(now=_NOW, text=text, tag=tag, state=state, sort=sort, limit=7)
                    expected = reference.search(replace(search, limit=1000))
                    got: list[Any] = []
                    page = store.search(search)
                    while page:
                        assert len(page) <= 7
                        got += page
                        page = store.search(replace(search, after=page[-1].code))
                    assert got == expected, search
        # A cursor that is no link, or no link of this search, gives an empty page.
        assert store.search(Search(now=_NOW, sort=sort, after="nope")) == []
        deleted = next(link for link, _ in entries if link.deleted_at is not None)
        assert store.search(Search(now=_NOW, sort=sort, after=deleted.code)) == []
        assert store.search(Search(now=_NOW, sort=sort, limit=0)) == []


def test_substring_search_uses_the_trigram_index(url: str) -> None:
    with _store(url) as store:
        store.restore(_corpus())
        from minilink.core.links import Search
        from minilink.storage.postgres import _search_query

        query, params = _search_query(Search(now=_NOW, text="alpha", state="all"))

        def plan(conn: Any) -> str:
            # A small table: leave the planner only bitmap scans, to see that the
            # search's expression is the index's.
            with conn.transaction():
                conn.execute("SET LOCAL enable_seqscan = off")
                conn.execute("SET LOCAL enable_indexscan = off")
                rows = conn.execute("EXPLAIN " + query, params).fetchall()
            return "\n".join(row[0] for row in rows)

        assert "minilink_links_text" in store._run(plan)


def test_without_pg_trgm_search_still_works_and_a_warning_says_why() -> None:
    """A role that may not create extensions, in a database without pg_trgm."""
    from minilink.core.links import Search

    with temporary_database("notrgm") as admin:
        role = f"minilink_plain_{os.getpid()}"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"CREATE ROLE {role} LOGIN")
            conn.execute(f"CREATE SCHEMA links AUTHORIZATION {role}")
        try:
            limited = admin.replace("postgres@", f"{role}@", 1)
            store = _store(with_options(limited, "options=-csearch_path%3Dlinks"))
            with pytest.warns(RuntimeWarning, match="pg_trgm"):
                store.ping()
            store.insert(make_link("abc", title="Alpha"))
            with store:
                assert store.search(Search(now=_NOW, text="ALP")) == [store.get("abc")]
                assert not _rows(
                    store, "SELECT 1 FROM pg_indexes WHERE indexname = 'minilink_links_text'"
                )
        finally:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute("DROP SCHEMA links CASCADE")
            with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
                conn.execute(f"DROP ROLE IF EXISTS {role}")
