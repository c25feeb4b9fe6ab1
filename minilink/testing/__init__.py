"""minilink's conformance kit (needs the ``test`` extra).

* ``minilink.testing.clients``: one ``Client`` interface over the CGI, WSGI and ASGI
  adapters, with a fake clock and a seeded random source so that one sequence of
  requests gives byte-identical answers through every adapter;
* ``minilink.testing.contract``: the store contract suite a backend subclasses;
* ``minilink.testing.strategies``: hypothesis strategies for URLs, aliases and raw
  HTTP requests;
* ``minilink.testing.plugin``: the pytest plugin (``minilink_client`` per adapter,
  ``MountContract`` for an application that embeds minilink), loaded by pytest;
* ``minilink.testing.inprocess``: the CGI adapter driven in process.

Import the submodule you need; this package imports nothing itself.
"""

from __future__ import annotations

__all__: list[str] = []
