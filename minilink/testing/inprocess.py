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
        env: dict[bytes, bytes] = {
            b"GATEWAY_INTERFACE": b"CGI/1.1",
            b"SERVER_PROTOCOL": b"HTTP/1.1",
            b"SERVER_SOFTWARE": b"minilink-testing",
            b"REQUEST_METHOD": wire.method.encode("latin-1"),
            b"REQUEST_URI": wire.target,
            b"SCRIPT_NAME": wire.script_name,
            b"QUERY_STRING": wire.query,
            b"SERVER_NAME": b"testserver",
            b"SERVER_PORT": str(wire.port).encode(),
        }
        if wire.path_info:  # Apache leaves PATH_INFO out when it is empty
            env[b"PATH_INFO"] = wire.path_info
        if wire.scheme == "https":
            env[b"HTTPS"] = b"on"
        if wire.remote_addr is not None:
            env[b"REMOTE_ADDR"] = wire.remote_addr.encode("latin-1")
        for key, value in wire.environ_headers().items():
            env[key.encode("latin-1")] = value.encode("latin-1")
        stdin = _CountingInput(wire.body)
        stdout = io.BytesIO()
        status = cgi.main(self.app, environ=env, stdin=stdin, stdout=stdout)
        if status != 0:
            raise AssertionError(f"the CGI adapter returned {status}")
        self.body_read = stdin.consumed
        return _parse_cgi(stdout.getvalue())
