"""``InProcessCGIClient``: the CGI adapter driven in this process, without a subprocess.

Theory of operation
-------------------
``minilink.testing.clients.CGIClient`` runs a real interpreter per request, which is
the truth about CGI and costs ~50 ms a request. A fuzzer sending thousands of
requests, or a pytest plugin running a suite per adapter, needs the same adapter code
at in-process speed: this client calls ``minilink.adapters.cgi.main(app, environ=...,
stdin=..., stdout=...)``, the function a CGI script calls, with

* an RFC 3875 environment given as **bytes**, built exactly as ``CGIClient`` builds it
  (``PATH_INFO`` left out when empty, ``CONTENT_TYPE``/``CONTENT_LENGTH`` only when
  sent, headers as ``HTTP_*``, ``HTTPS=on`` for https), so that non-UTF-8 bytes reach
  the adapter as they would from ``os.environb``;
* the body on a ``BytesIO`` stdin (``body_read`` says how much the adapter read);
* stdout captured and parsed as a CGI response (RFC 3875 §6).

The ``App`` is the caller's: it is served as it is (its clock and random source are
whatever the caller built it with) and never closed here.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Optional

from minilink.adapters import cgi
from minilink.testing.clients import Client, FakeClock, Result, _CountingInput, _parse_cgi

if TYPE_CHECKING:
    from minilink.core.app import App
    from minilink.testing.clients import _Wire

__all__ = ["InProcessCGIClient"]


class InProcessCGIClient(Client):
    """Serves each request with ``minilink.adapters.cgi.main(app, ...)`` in process."""

    name = "cgi"

    def __init__(self, app: App, *, root: str = "", clock: Optional[FakeClock] = None) -> None:
        super().__init__(root=root, clock=clock)
        self.app = app

    def _send(self, wire: _Wire) -> Result:
        env = wire.cgi_environ()
        stdin = _CountingInput(wire.body)
        stdout = io.BytesIO()
        status = cgi.main(self.app, environ=env, stdin=stdin, stdout=stdout)
        if status != 0:
            raise AssertionError(f"the CGI adapter returned {status}")
        self.body_read = stdin.consumed
        return _parse_cgi(stdout.getvalue())
