"""The ``App`` an adapter serves: given by the caller, or built on first use.

Servers import ``application`` before they fork or set up their environment, so the
module-level entry points build their ``App`` from ``MINILINK_*`` on first use, once,
under a lock (threaded servers call them concurrently). An ``App`` built here is
closed at interpreter exit, so batched hits reach the store even when the server never
tells the application it is stopping; an ``App`` the caller passed in is the caller's
to close.
"""

from __future__ import annotations

import atexit
import os
import threading
from typing import Callable, Optional, TypeVar

from minilink._build import build_app
from minilink.core.config import Config

TYPE_CHECKING = False
if TYPE_CHECKING:
    from minilink.core.app import App

__all__ = ["LazyApp", "app_from_environment"]

_Lazy = TypeVar("_Lazy", bound="LazyApp")


def app_from_environment() -> App:
    """An ``App`` configured by the process environment."""
    return build_app(Config.from_env(os.environ))


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
        environment), so a bad configuration or store fails at start-up."""
        cfg = config if config is not None else Config.from_env(os.environ)
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
