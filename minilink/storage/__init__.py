"""Storage: the ``Store`` contract, its backends, and ``open_store`` that picks one by URL.

Theory of operation
-------------------
A store URL names its backend by scheme, the way SQLAlchemy URLs do:

=================================  ==============================================
``links.db``, ``/srv/links.db``    a bare path (no ``scheme:``) is SQLite
``sqlite:///relative.db``          SQLite, path relative to the working directory
``sqlite:////absolute/path.db``    SQLite, absolute path (four slashes)
``memory:`` (or ``memory://``)     the in-process reference store (tests, demos)
``postgresql://user@host/db``      PostgreSQL (``pip install 'minilink[postgres]'``);
                                   ``postgres://`` is accepted as the same scheme
=================================  ==============================================

A scheme of one letter is never taken as a scheme, so ``C:\\links.db`` is a path.
A ``+driver`` suffix (``postgresql+psycopg://``) is ignored when choosing the backend.

The registry is the entry-point group ``minilink.stores``: an entry point's name is
the scheme, its value the backend class. The built-in ``memory``, ``sqlite`` and
``postgresql`` backends are declared there too (see ``pyproject.toml``), but they are
also listed in ``_BUILTIN`` so that opening them costs no ``importlib.metadata`` scan:
a CGI request pays for every import, and reading the installed distributions' metadata
costs more than the rest of the request. Backend modules are imported only when opened, so
importing this package does not import ``sqlite3``.

A backend is a ``Store`` subclass with a classmethod ``from_url(url) -> Store`` that
gets the URL exactly as the user wrote it (for a bare path, the path), and may have a
classmethod ``check_url(url)`` that raises ``ValueError`` for a URL no server should
start with, without opening anything (``check_store`` calls it). A ``from_url`` that
also takes the keyword ``readonly`` gets ``readonly=True`` from
``open_store(url, readonly=True)``, for callers that only read. A third-party
backend registers itself in its own ``pyproject.toml``::

    [project.entry-points."minilink.stores"]
    redis = "minilink_redis:RedisStore"
"""

from __future__ import annotations

import importlib
import sys

from minilink.storage.base import Store

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only: every CGI request imports this package
    from typing import Optional

__all__ = ["ENTRY_POINT_GROUP", "Store", "check_store", "find_backend", "open_store"]

#: The entry-point group third-party backends register their scheme in.
ENTRY_POINT_GROUP = "minilink.stores"

# Kept in step with [project.entry-points."minilink.stores"] in pyproject.toml; a test
# checks that both say the same.
_BUILTIN = {
    "memory": "minilink.storage.memory:MemoryStore",
    "sqlite": "minilink.storage.sqlite:SQLiteStore",
    # Its module imports without the drivers; opening it without them raises the
    # ValueError that names the extra to install.
    "postgresql": "minilink.storage.postgres:PostgresStore",
}

# Schemes users write that mean a registered name.
_ALIASES = {"postgres": "postgresql"}

# Backends that ship with minilink but need an extra's drivers, so that a missing one
# gets the install command instead of "unknown scheme".
_EXTRAS = {"postgresql": "postgres"}

_SCHEME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-.")


def open_store(url: str, *, readonly: bool = False) -> Store:
    """Open the store that ``url`` names (see the table in this module's docstring).

    The backend class is found by the URL's scheme: the built-in ``memory`` and
    ``sqlite`` directly, any other scheme through the ``minilink.stores`` entry-point
    group. The store is built with the backend's ``from_url(url)`` classmethod, which
    receives ``url`` unchanged. Opening is cheap: backends connect on first use.

    ``readonly=True`` says the caller will only read (the CLI's ``list``, ``stats``,
    ``resolve`` and ``export``): it is passed on as ``from_url(url, readonly=True)``
    to a backend whose ``from_url`` takes that keyword, so that reading needs no write
    access (SQLite opens the file read-only and never creates or migrates it). A
    backend without the keyword is opened as usual: the option lets a reader read,
    it is no guard against writes.

    Raises ``ValueError`` with one clear sentence for an empty URL, an unknown scheme,
    a URL the backend cannot read, or a backend whose optional drivers are not
    installed (the message then names the ``pip install`` command).
    """
    name, backend = _backend_of(url)
    factory = getattr(backend, "from_url", None)
    if factory is None:
        raise ValueError(
            f"the store backend for {name!r} ({backend.__module__}.{backend.__qualname__}) "
            f"has no from_url classmethod"
        )
    only_reads = readonly and _takes_readonly(factory)
    store = factory(url, readonly=True) if only_reads else factory(url)
    if not isinstance(store, Store):
        raise ValueError(f"the store backend for {name!r} did not return a Store from from_url")
    return store


def _takes_readonly(factory: object) -> bool:
    import inspect  # only read-only opens pay for it

    try:
        return "readonly" in inspect.signature(factory).parameters  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False


def find_backend(url: str) -> type[Store]:
    """The backend class ``url`` names, found as ``open_store`` finds it, opening
    nothing (for a URL used elsewhere, such as a CGI script's). Raises ``ValueError``
    as ``open_store`` does for an empty URL, an unknown scheme or missing drivers."""
    return _backend_of(url)[1]


def check_store(url: str) -> None:
    """Check ``url`` as a server does before it starts, without opening the store.

    The URL must name a registered backend (as for ``open_store``); a backend with a
    ``check_url(url)`` classmethod then checks it cheaply, with no connection (SQLite:
    the database's directory exists). Raises ``ValueError`` with one sentence.
    """
    _, backend = _backend_of(url)
    check = getattr(backend, "check_url", None)
    if check is not None:
        check(url)


def _backend_of(url: str) -> tuple[str, type[Store]]:
    """The scheme name ``url`` is read with and its backend class (see ``open_store``)."""
    if not url or not url.strip():
        raise ValueError("the store URL is empty; give a path such as links.db or a URL")
    scheme = _url_scheme(url)
    if scheme is None:
        name = "sqlite"  # a bare path
    else:
        name = scheme.lower().split("+", 1)[0]
        name = _ALIASES.get(name, name)
    return name, _backend(name, url)


def _url_scheme(url: str) -> Optional[str]:
    """The scheme of ``url`` as written, or ``None`` when ``url`` is a plain path.

    A scheme is ``letter *( letter / digit / "+" / "-" / "." )`` before the first
    ``:`` (RFC 3986, section 3.1), at least two characters long so that a Windows
    drive letter stays part of a path.
    """
    colon = url.find(":")
    if colon < 2 or not url[0].isascii() or not url[0].isalpha():
        return None
    candidate = url[:colon]
    if all(c in _SCHEME_CHARS for c in candidate):
        return candidate
    return None


def _backend(name: str, url: str) -> type[Store]:
    """The backend class registered for ``name``; raises ``ValueError`` if there is none."""
    target = _BUILTIN.get(name)
    if target is not None:
        module, _, attr = target.partition(":")
        loaded: object = getattr(importlib.import_module(module), attr)
    else:
        loaded = _load_entry_point(name, url)
    if not (isinstance(loaded, type) and issubclass(loaded, Store)):
        raise ValueError(f"the store backend registered for {name!r} is not a Store subclass")
    return loaded


def _load_entry_point(name: str, url: str) -> object:
    # Imported here and only here: scanning installed metadata is the slow path.
    from importlib.metadata import entry_points

    if sys.version_info >= (3, 10):
        found = list(entry_points(group=ENTRY_POINT_GROUP, name=name))
        every = sorted({ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)})
    else:
        group = entry_points().get(ENTRY_POINT_GROUP, [])
        found = [ep for ep in group if ep.name == name]
        every = sorted({ep.name for ep in group})
    extra = _EXTRAS.get(name)
    if not found:
        if extra is not None:
            raise ValueError(
                f"the {name} store is not installed; install it with "
                f"pip install 'minilink[{extra}]'"
            )
        known = sorted(set(every) | set(_BUILTIN))
        raise ValueError(
            f"no store backend is registered for the URL scheme {name!r} in {url!r}; "
            f"known schemes: {', '.join(known)} (a file path containing ':' can be "
            f"written sqlite:///path)"
        )
    try:
        return found[0].load()
    except ImportError as exc:
        if extra is not None:
            raise ValueError(
                f"the {name} store needs its drivers; install them with "
                f"pip install 'minilink[{extra}]' ({exc})"
            ) from exc
        raise ValueError(
            f"the store backend for {name!r} ({found[0].value}) cannot be imported: {exc}"
        ) from exc
