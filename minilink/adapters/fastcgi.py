"""FastCGI: the WSGI adapter served by flup's FastCGI responder, for Apache ``mod_fcgid``.

Theory of operation
-------------------
``mod_fcgid`` starts the script itself, with a listening Unix socket as file
descriptor 0 (``FCGI_LISTENSOCK_FILENO``, FastCGI spec §2.2), sends it one request per
connection and one connection at a time, keeps the process for many requests, and
stops it with SIGTERM. ``run()`` looks at descriptor 0 to tell the two cases apart, so
one drop-in script serves a host whichever it offers:

* a listening socket: a persistent FastCGI responder. The ``App`` is built once (with
  the write-behind ``BufferedStore``, as in any persistent process) and each request
  goes through ``minilink.adapters.wsgi``: no behaviour lives here;
* anything else (a pipe, a connected socket under ``mod_cgid``, a terminal): one CGI
  request, through ``minilink.adapters.cgi.run`` exactly as the CGI script does. The
  check is one ``fstat``, so a CGI request imports nothing more.

Stopping: SIGTERM (and SIGINT, SIGHUP) sets a flag and wakes the accept loop through
``signal.set_wakeup_fd``. A request being served is finished and answered first, and so
is every connection already waiting on the socket; then the loop ends and the ``App``
is closed, which writes the buffered hits. Creates are
written before they are answered, so a SIGKILL loses at most the hits of the last
``MINILINK_HIT_FLUSH_SECONDS``, never an acknowledged write.

Why flup
--------
PyPI offers four candidates (checked 2026-12-01). ``flup`` 1.0.3 (2018) is the
FastCGI responder Django and Trac deployed for a decade: pure Python, no
dependencies, a single folder that can be copied next to the script by FTP, and it
imports and runs on Python 3.9 to 3.13 (its only ``import cgi`` is in a demo under
``if __name__ == "__main__"``). Its record parsing and its WSGI gateway are used here
as they are (``fcgi_base.Connection`` and the single-threaded ``fcgi_single``
server); only the accept loop is ours, because flup's wakes once a second to see a
signal and ``mod_fcgid`` kills a process that has not exited soon after SIGTERM.
``fcgisgi`` 0.2.3 (2026) needs Python 3.11 and runs WSGI in a thread pool beside an
asyncio loop: the GIL hand-off that makes threaded servers with sqlite3 collapse
(bench/README.md). ``flipflop`` is a fork of the same flup code with fewer users;
``fcgiproto`` is only a protocol state machine, leaving the responder to write. flup
is the optional extra ``minilink[fastcgi]``; the core stays stdlib-only, and
``run()`` names the extra when flup is missing.
"""

from __future__ import annotations

import os
import stat
import sys
from typing import Any, Callable, Optional

__all__ = ["is_fastcgi", "run", "serve"]

#: FastCGI spec §2.2: the web server passes the listening socket as descriptor 0.
FCGI_LISTENSOCK_FILENO = 0

WSGIApplication = Callable[..., Any]


def is_fastcgi(fd: int = FCGI_LISTENSOCK_FILENO) -> bool:
    """Whether ``fd`` is a listening socket (started by a FastCGI server) rather than a
    CGI request's standard input."""
    try:
        if not stat.S_ISSOCK(os.fstat(fd).st_mode):
            return False
    except OSError:
        return False
    import errno
    import socket

    sock = socket.socket(fileno=os.dup(fd))
    try:
        sock.getpeername()
    except OSError as exc:
        return exc.errno == errno.ENOTCONN  # not connected: a listening socket
    finally:
        sock.close()
    return False  # connected: mod_cgid hands a CGI script its request on a socket


def run(application: Optional[WSGIApplication] = None) -> None:
    """Serve FastCGI on descriptor 0 if it is a listening socket, else one CGI request.

    ``application`` is the WSGI callable to serve under FastCGI (default:
    ``minilink.adapters.wsgi.application``, built from ``MINILINK_*``). Under CGI this
    calls ``minilink.adapters.cgi.run()``, which does not return.
    """
    if not is_fastcgi():
        from minilink.adapters.cgi import run as run_cgi

        run_cgi()
    if application is None:
        from minilink.adapters.wsgi import application as default

        application = default
    serve(application)


def serve(application: WSGIApplication, fd: int = FCGI_LISTENSOCK_FILENO) -> None:
    """Accept FastCGI connections on the listening socket ``fd``, one at a time, until
    SIGTERM, SIGINT or SIGHUP; then close ``application`` if it has ``close()``."""
    import select
    import signal
    import socket

    try:
        from flup.server.fcgi_base import Connection
        from flup.server.fcgi_single import WSGIServer
    except ImportError:
        sys.stderr.write(
            "minilink cannot start: FastCGI needs flup: pip install 'minilink[fastcgi]', "
            "or pip install --target DIR flup next to the script\n"
        )
        sys.stderr.flush()
        raise SystemExit(3) from None

    listener = socket.socket(fileno=fd)
    listener.setblocking(False)  # select() says when; accept() never waits
    server = WSGIServer(application)
    stopping: list[int] = []
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    stops = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
    previous = {s: signal.signal(s, lambda signum, frame: stopping.append(signum)) for s in stops}
    try:
        while not stopping:
            ready, _, _ = select.select([fd, wake_r], [], [])
            if wake_r in ready:
                os.read(wake_r, 64)
            if stopping or fd not in ready:
                continue
            _serve_one(listener, server, Connection)
        # Connections the web server made before the signal are answered too.
        while _serve_one(listener, server, Connection):
            pass
    finally:
        signal.set_wakeup_fd(-1)
        for s, handler in previous.items():
            signal.signal(s, handler)
        os.close(wake_r)
        os.close(wake_w)
        close = getattr(application, "close", None)
        if close is not None:
            close()


def _serve_one(listener: Any, server: Any, connection_class: Any) -> bool:
    """Serve one connection waiting on ``listener``; ``False`` if none was waiting."""
    try:
        connection, address = listener.accept()
    except BlockingIOError:  # none, or a process sharing the socket took it first
        return False
    connection.setblocking(True)
    # Served to the end even if a signal comes meanwhile: the flag is read after.
    connection_class(connection, address, server, None).run()
    return True
