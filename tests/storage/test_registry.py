"""``open_store``: store URLs to backends, and the entry-point registry behind it."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import minilink.storage
from minilink.storage import ENTRY_POINT_GROUP, open_store
from minilink.storage.memory import MemoryStore
from minilink.storage.sqlite import SQLiteStore

SQLITE_URLS = {
    "bare-relative": ("links.db", "links.db", 5.0),
    "bare-in-folder": ("data/links.db", "data/links.db", 5.0),
    "bare-absolute": ("/srv/minilink/links.db", "/srv/minilink/links.db", 5.0),
    "windows-drive-letter": ("C:\\data\\links.db", "C:\\data\\links.db", 5.0),
    "sqlite-relative": ("sqlite:///relative.db", "relative.db", 5.0),
    "sqlite-absolute": ("sqlite:////absolute/path.db", "/absolute/path.db", 5.0),
    "scheme-case": ("SQLite:///upper.db", "upper.db", 5.0),
    "driver-suffix": ("sqlite+pysqlite:///x.db", "x.db", 5.0),
    "percent-decoded": ("sqlite:///with%20space.db", "with space.db", 5.0),
    "timeout-option": ("sqlite:///t.db?timeout=2.5", "t.db", 2.5),
}


@pytest.mark.parametrize(
    ("url", "path", "timeout"), list(SQLITE_URLS.values()), ids=list(SQLITE_URLS)
)
def test_sqlite_urls(url: str, path: str, timeout: float) -> None:
    with open_store(url) as store:  # opening touches no file, so any path will do
        assert isinstance(store, SQLiteStore)
        assert store.path == path
        assert store.timeout == timeout


@pytest.mark.parametrize("url", ["memory:", "memory://", "Memory:"])
def test_memory_urls(url: str) -> None:
    with open_store(url) as store:
        assert isinstance(store, MemoryStore)


BAD_URLS = {
    "empty": ("", "empty"),
    "blank": ("   ", "empty"),
    "postgresql": ("postgresql://user@host/db", r"pip install 'minilink\[postgres\]'"),
    "postgres-alias": ("postgres://user@host/db", r"pip install 'minilink\[postgres\]'"),
    "postgres-driver": ("postgresql+psycopg://h/db", r"pip install 'minilink\[postgres\]'"),
    "unknown-scheme": ("redis://localhost/0", "no store backend is registered.*'redis'"),
    "sqlite-no-path": ("sqlite://", "sqlite:///relative.db"),
    "sqlite-two-slashes": ("sqlite://host/x.db", "sqlite:///relative.db"),
    "sqlite-no-slashes": ("sqlite:x.db", "sqlite:///relative.db"),
    "sqlite-in-memory": ("sqlite:///:memory:", "use 'memory:'"),
    "sqlite-unknown-option": ("sqlite:///x.db?mode=ro", "unknown SQLite URL option 'mode'"),
    "sqlite-bad-timeout": ("sqlite:///x.db?timeout=soon", "timeout must be a number"),
    "memory-with-name": ("memory://name", "memory store URL"),
}


@pytest.mark.parametrize(("url", "message"), list(BAD_URLS.values()), ids=list(BAD_URLS))
def test_bad_urls(url: str, message: str) -> None:
    if url.startswith("postgres") and _registered("postgresql"):
        pytest.skip("a postgresql backend is installed here")
    with pytest.raises(ValueError, match=message):
        open_store(url)


def _registered(name: str) -> bool:
    from importlib.metadata import entry_points

    if sys.version_info >= (3, 10):
        return bool(entry_points(group=ENTRY_POINT_GROUP, name=name))
    else:
        return any(ep.name == name for ep in entry_points().get(ENTRY_POINT_GROUP, []))


def test_builtins_match_the_declared_entry_points() -> None:
    from importlib.metadata import entry_points

    if sys.version_info >= (3, 10):
        declared = entry_points(group=ENTRY_POINT_GROUP)
    else:
        declared = entry_points().get(ENTRY_POINT_GROUP, [])
    values = {ep.name: ep.value for ep in declared}
    for name, target in minilink.storage._BUILTIN.items():
        assert values.get(name) == target
        assert _registered(name)


def test_importing_and_opening_builtins_imports_no_driver_or_metadata() -> None:
    code = textwrap.dedent(
        """
        import sys
        import minilink.storage
        assert "sqlite3" not in sys.modules
        minilink.storage.open_store("memory:")
        minilink.storage.open_store("links.db")
        assert "importlib.metadata" not in sys.modules, "metadata scanned"
        import minilink.storage.sqlite
        """
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


# -- third-party backends through the entry-point group -----------------------------


@pytest.fixture
def plugins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fake installed distribution that registers three ``minilink.stores`` schemes."""
    (tmp_path / "fake_minilink_store.py").write_text(
        textwrap.dedent(
            """
            from minilink.storage.memory import MemoryStore

            class FakeStore(MemoryStore):
                scheme = "fake"

                @classmethod
                def from_url(cls, url):
                    store = cls()
                    store.url = url
                    return store

            class NotAStore:
                pass
            """
        )
    )
    info = tmp_path / "fake_minilink_store-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: fake-minilink-store\nVersion: 1.0\n"
    )
    (info / "entry_points.txt").write_text(
        textwrap.dedent(
            f"""
            [{ENTRY_POINT_GROUP}]
            fake = fake_minilink_store:FakeStore
            broken = fake_minilink_store_missing:Store
            notastore = fake_minilink_store:NotAStore
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


@pytest.mark.usefixtures("plugins")
def test_a_registered_backend_is_opened_with_the_url_unchanged() -> None:
    with open_store("fake://anything?x=1") as store:
        assert type(store).__name__ == "FakeStore"
        assert store.url == "fake://anything?x=1"  # type: ignore[attr-defined]
    with open_store("fake+driver:") as store:
        assert type(store).__name__ == "FakeStore"


@pytest.mark.usefixtures("plugins")
def test_unknown_scheme_lists_the_known_ones() -> None:
    with pytest.raises(
        ValueError, match="known schemes: broken, fake, memory, notastore, postgresql, sqlite"
    ):
        open_store("nope://x")


@pytest.mark.usefixtures("plugins")
def test_a_backend_that_cannot_be_imported_is_explained() -> None:
    with pytest.raises(ValueError, match=r"'broken'.*cannot be imported"):
        open_store("broken://x")


@pytest.mark.usefixtures("plugins")
def test_a_backend_for_an_extra_names_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(minilink.storage._EXTRAS, "broken", "broken")
    with pytest.raises(ValueError, match=r"pip install 'minilink\[broken\]'"):
        open_store("broken://x")


@pytest.mark.usefixtures("plugins")
def test_a_registered_object_that_is_not_a_store_is_refused() -> None:
    with pytest.raises(ValueError, match="not a Store subclass"):
        open_store("notastore://x")
