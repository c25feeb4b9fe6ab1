"""The ``App`` an adapter serves: given by the caller, or built on first use.

Servers import ``application`` before they fork, so the module-level entry points
build their ``App`` from ``MINILINK_*`` on first use, once, under a lock (threaded
servers call them concurrently). An ``App`` built here is closed at the process's
orderly end, so batched hits reach the store even when the server never tells the
application it is stopping; an ``App`` the caller passed in is the caller's to close.

How "the orderly end" is caught, for every server the suite runs:

* **Interpreter exit**: ``atexit`` closes it (gunicorn's workers and servers that end
  the interpreter the normal way, or close the app themselves: uvicorn, hypercorn,
  daphne, uWSGI, mod_wsgi).
* **SIGTERM left at its default** (waitress, cheroot's command, Werkzeug's server,
  bjoern): the default action ends the process at once, without exit handlers. So
  where the app's module is imported or the app built *in the main thread* and the
  SIGTERM handler is still ``SIG_DFL``, it becomes ``_on_sigterm``: it hands the
  closing to a thread (the main thread may hold a lock of the buffer at that very
  moment, and it keeps running), which closes every ``App`` built here and then sends
  SIGTERM again; that second delivery, with nothing left to close, puts ``SIG_DFL``
  back and re-raises the signal, so the process still ends *by SIGTERM*, as its
  supervisor expects. A handler the server installs itself, before or after (gunicorn,
  uvicorn, hypercorn, granian), is never replaced: a server that handles the signal
  keeps it, and one that restores the previous handler and re-raises (uvicorn) ends
  through this one, with nothing left to close. ``SIG_IGN`` is left alone too.
* **multiprocessing children** (granian's workers): the worker handles SIGTERM
  itself and then leaves through ``os._exit``, which skips ``atexit``; an ``App``
  built in such a child is also closed by a ``multiprocessing.util.Finalize``, which
  multiprocessing runs before that exit.

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
import signal
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
    install_stop_handler()
    return cls(factory=app_from_environment)


#: The instances whose factory built an ``App`` that is still open (``atexit`` holds
#: them anyway, so a plain set keeps nothing alive that would otherwise be freed).
_OPEN: set[LazyApp] = set()
_stopping = threading.Event()  # a SIGTERM is being handled: the apps are being closed
_closed = threading.Event()  # ... and they are closed: the next SIGTERM ends the process


def install_stop_handler() -> bool:
    """Make SIGTERM close the apps built here before it ends the process, if it is
    still at its default and this is the main thread (see the module docstring).
    Returns whether the handler was installed."""
    if threading.current_thread() is not threading.main_thread():
        return False
    sigterm = getattr(signal, "SIGTERM", None)
    if sigterm is None:
        return False
    try:
        if signal.getsignal(sigterm) is not signal.SIG_DFL:
            return False  # the server's own handler, SIG_IGN, or this one already
        signal.signal(sigterm, _on_sigterm)
    except (OSError, ValueError):  # e.g. an embedded interpreter that forbids it
        return False
    return True


def _on_sigterm(signum: int, frame: object) -> None:
    if _closed.is_set() or not _OPEN:
        # Nothing (left) to close: the default action, as if this handler were not here.
        signal.signal(signum, signal.SIG_DFL)
        signal.raise_signal(signum)
        return
    if not _stopping.is_set():
        _stopping.set()
        threading.Thread(
            target=_close_all_then_end, args=(signum,), name="minilink-stop", daemon=True
        ).start()


def _close_all_then_end(signum: int) -> None:
    try:
        for lazy in list(_OPEN):
            try:
                lazy.close()
            except Exception as exc:  # one store failing must not keep the others open
                sys.stderr.write(f"minilink: closing at SIGTERM failed: {exc}\n")
    finally:
        _closed.set()
        os.kill(os.getpid(), signum)  # the main thread's handler now ends the process


def _close_at_child_exit(lazy: LazyApp) -> None:
    """In a multiprocessing child (granian's workers), also close at its exit, which
    ``os._exit`` ends without ``atexit``."""
    mp = sys.modules.get("multiprocessing")  # a child has it; nobody else pays for it
    if mp is None or mp.parent_process() is None:
        return
    from multiprocessing import util

    util.Finalize(lazy, lazy.close, exitpriority=10)


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
        install_stop_handler()
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
                    _OPEN.add(self)
                    _close_at_child_exit(self)
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
            _OPEN.discard(self)
            app.close()
