"""The CGI script ``CGIClient`` runs: ``python -m minilink.testing.cgi_entry``.

It is ``minilink.adapters.cgi.main`` with the two things a test must control made
deterministic across processes: the clock and the random source of generated codes.
Both live in a JSON state file named by ``MINILINK_TESTING_STATE``::

    {"now": "2026-11-28T13:00:00+00:00", "random": <random.Random.getstate()>}

The script reads the state, serves one request with an ``App`` built from
``Config.from_env(os.environ)`` on ``open_store(config.store)`` and writes the advanced
random state back, so the next subprocess continues the same sequence the in-process
clients follow. ``MINILINK_TESTING_WRAP_STORE=module:name`` names a callable that wraps
the opened store (tests use it to inject a failing store); the module is imported from
``sys.path``/``PYTHONPATH``.
"""

from __future__ import annotations

import importlib
import json
import os
import random
import sys
from datetime import datetime
from typing import Any, Callable

from minilink.adapters import cgi
from minilink.core.app import App
from minilink.core.config import Config
from minilink.core.service import Shortener
from minilink.storage import open_store
from minilink.storage.base import Store

__all__ = ["STATE_VAR", "WRAP_VAR", "main", "rng_state_from_json"]

STATE_VAR = "MINILINK_TESTING_STATE"
WRAP_VAR = "MINILINK_TESTING_WRAP_STORE"


def rng_state_from_json(value: Any) -> tuple[Any, ...]:
    """Turn a JSON round-tripped ``random.getstate()`` back into the tuple it was."""
    version, internal, gauss = value
    return (version, tuple(internal), gauss)


def _wrapper(spec: str) -> Callable[[Store], Store]:
    module, _, name = spec.partition(":")
    obj: Any = importlib.import_module(module)
    for part in name.split("."):
        obj = getattr(obj, part)
    return obj  # type: ignore[no-any-return]


def main() -> int:
    """Serve one CGI request with the saved clock and random state; save the state."""
    path = os.environ[STATE_VAR]
    with open(path, encoding="utf-8") as f:
        state = json.load(f)
    now = datetime.fromisoformat(state["now"])
    rng = random.Random()
    rng.setstate(rng_state_from_json(state["random"]))
    config = Config.from_env(os.environ)
    store = open_store(config.store)
    wrap = os.environ.get(WRAP_VAR)
    if wrap:
        store = _wrapper(wrap)(store)
    app = App(Shortener(store, config, clock=lambda: now, randbelow=rng.randrange), config)
    try:
        return cgi.main(app)
    finally:
        app.close()
        store.close()
        state["random"] = rng.getstate()
        with open(path, "w", encoding="utf-8") as f:
            json.dump(state, f)


if __name__ == "__main__":
    sys.exit(main())
