"""minilink's conformance kit (needs the ``test`` extra).

* ``minilink.testing.clients``: one ``Client`` interface over the CGI, WSGI and ASGI
  adapters, with a fake clock and a seeded random source so that one sequence of
  requests gives byte-identical answers through every adapter;
* ``minilink.testing.contract``: the store contract suite a backend subclasses.

Import the submodule you need; this package imports nothing itself.
"""

from __future__ import annotations

__all__: list[str] = []
