"""The ``App`` an adapter serves: given by the caller, or built on first use.

Servers import ``application`` before they fork, so the module-level entry points
build their ``App`` from ``MINILINK_*`` on first use, once, under a lock (threaded
servers call them concurrently). An ``App`` built here is closed at interpreter exit,
so batched hits reach the store even when the server never tells the application it
is stopping; an ``App`` the caller passed in is the caller's to close.

What is checked at import is the configuration. Loading the module is the only hook a
WSGI server gives an application, so ``entry_point`` reads ``MINILINK_*`` and checks
the store URL (``check_store``: nothing is opened) while the module is imported, and a
bad value ends the process with ``CannotStart``: one sentence on stderr, exit status 3.

* gunicorn's arbiter halts when a worker exits with 3 (its ``WORKER_BOOT_ERROR``)
  instead of booting worker after worker that answer 500; with ``--preload`` the
  arbiter itself exits 3. waitress-serve, uvicorn and hypercorn end with the
  ``SystemExit``.
* A ``SystemExit`` is never printed as a traceback; the sentence goes to stderr, where
  each of these servers writes its own start-up errors.
* The check runs at import, not on a module ``__getattr__``, because hypercorn reads
  ``application`` from the module's namespace (``eval`` in ``vars(module)``), where no
  hook runs. So code importing the module for ``create_app`` under a bad environment
  is stopped too; ``create_app(config)`` itself raises ``ValueError``.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
from typing import Callable, Optional, TypeVar

from minilink._build import build_app
from minilink.core.config import Config

TYPE_CHECKING = False
if TYPE_CHECKING:
    from minilink.core.app import App

__all__ = [
    "EXIT_CANNOT_START",
    "CannotStart",
    "LazyApp",
    "app_from_environment",
    "check_environment",
    "entry_point",
]

#: The exit status of a process whose configuration is refused at import: 3 is what
#: gunicorn's arbiter reads as a worker that failed to boot, so it stops rather than
#: starting the next one.
EXIT_CANNOT_START = 3

_Lazy = TypeVar("_Lazy", bound="LazyApp")


def app_from_environment() -> App:
    """An ``App`` configured by the process environment."""
    return build_app(Config.from_env(os.environ))


class CannotStart(SystemExit):
    """The process cannot serve this configuration; ``reason`` is the sentence that
    says why (already written to stderr). Exit status ``EXIT_CANNOT_START``."""

    def __init__(self, reason: str) -> None:
        super().__init__(EXIT_CANNOT_START)
        self.reason = reason


def check_environment() -> None:
    """Check ``MINILINK_*`` in the process environment as ``app_from_environment``
    will read them, and the store URL, without opening the store.

    Raises ``CannotStart`` (a ``SystemExit``) after writing ``minilink cannot start:
    <reason>`` to stderr, for any value ``Config.from_env`` or ``check_store``
    refuses.
    """
    from minilink.storage import check_store

    try:
        check_store(Config.from_env(os.environ).store)
    except ValueError as exc:
        reason = str(exc)
        sys.stderr.write(f"minilink cannot start: {reason}\n")
        sys.stderr.flush()
        raise CannotStart(reason) from None


def entry_point(cls: type[_Lazy]) -> _Lazy:
    """A module-level ``application``: the environment is checked now (see
    ``check_environment``), the ``App`` is built from it on first use."""
    check_environment()
    return cls(factory=app_from_environment)


class LazyApp:
    """Holds the ``App`` of one adapter instance."""

    def __init__(
        self, app: Optional[App] = None, *, factory: Optional[Callable[[], App]] = None
    ) -> None:
        if (app is None) == (factory is None):
            raise TypeError("give an app or a factory, not both")
        self._app = app
        self._factory = factory
        self._lock = threading.Lock()

    @classmethod
    def built(cls: type[_Lazy], config: Optional[Config] = None) -> _Lazy:
        """An instance whose ``App`` is built now from ``config`` (default: the
        environment), so a bad configuration or store fails at start-up (a store URL
        ``check_store`` refuses raises ``ValueError``)."""
        from minilink.storage import check_store

        cfg = config if config is not None else Config.from_env(os.environ)
        check_store(cfg.store)
        # A factory rather than one App, so a start after a shutdown (ASGI lifespan)
        # opens the store again.
        instance = cls(factory=lambda: build_app(cfg))
        instance.app  # noqa: B018 - build it now
        return instance

    @property
    def app(self) -> App:
        """The ``App``; built by the factory on first access, exactly once."""
        app = self._app
        if app is None:
            with self._lock:
                if self._app is None:
                    assert self._factory is not None
                    self._app = self._factory()
                    atexit.register(self.close)
                app = self._app
        return app

    def close(self) -> None:
        """Close an ``App`` built by the factory and forget it (the next use rebuilds
        it). An ``App`` passed in by the caller is left open."""
        if self._factory is None:
            return
        with self._lock:
            app, self._app = self._app, None
        if app is not None:
            atexit.unregister(self.close)
            app.close()
