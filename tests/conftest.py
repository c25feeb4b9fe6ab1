"""Fixtures shared by every test directory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Callable

import pytest

from minilink.testing.clients import Client, make_clients


@pytest.fixture
def clients(tmp_path: Path) -> Iterator[Callable[..., dict[str, Client]]]:
    """Factory: ``clients(env, root="")`` gives one client per adapter; all are closed
    at teardown."""
    made: list[Client] = []

    def factory(env: dict[str, str], **kwargs: object) -> dict[str, Client]:
        folder = tmp_path / f"set{len(made)}"
        folder.mkdir()
        result = make_clients(folder, env, **kwargs)  # type: ignore[arg-type]
        made.extend(result.values())
        return result

    yield factory
    for client in made:
        client.close()
