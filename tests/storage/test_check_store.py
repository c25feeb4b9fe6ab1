"""``check_store``: what a server checks about ``MINILINK_STORE`` before it starts,
without opening the store."""

from __future__ import annotations

from pathlib import Path

import pytest

from minilink.storage import check_store
from minilink.storage.sqlite import SQLiteStore


@pytest.mark.parametrize(
    "url",
    ["{tmp}/links.db", "sqlite:///{tmp}/links.db", "memory:", "memory://", "relative.db"],
    ids=["bare-path", "sqlite-url", "memory", "memory-slashes", "relative-in-cwd"],
)
def test_accepted_and_nothing_is_created(url: str, tmp_path: Path) -> None:
    url = url.format(tmp="/" + str(tmp_path).lstrip("/"))
    check_store(url)
    assert list(tmp_path.iterdir()) == []  # checked, not opened


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("{tmp}/no/such/dir/links.db", "does not exist"),
        ("sqlite:///{tmp}/missing/links.db", "does not exist"),
        ("sqlite://host/links.db", "a SQLite URL is"),
        ("nosuchbackend://x", "no store backend is registered"),
        ("", "the store URL is empty"),
    ],
    ids=["missing-dir", "missing-dir-url", "bad-sqlite-url", "unknown-scheme", "empty"],
)
def test_refused_in_one_sentence(url: str, says: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=says) as error:
        check_store(url.format(tmp=str(tmp_path)))
    assert "\n" not in str(error.value)


def test_a_file_in_the_place_of_the_directory(tmp_path: Path) -> None:
    (tmp_path / "data").write_text("not a directory", encoding="utf-8")
    with pytest.raises(ValueError, match="does not exist"):
        SQLiteStore.check_url(str(tmp_path / "data" / "links.db"))


def test_without_check_url_a_backend_is_only_resolved() -> None:
    from minilink.storage.memory import MemoryStore

    assert not hasattr(MemoryStore, "check_url")
    check_store("memory:")
