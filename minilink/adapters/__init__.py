"""Protocol adapters: CGI (RFC 3875), WSGI (PEP 3333) and ASGI 3.

Each adapter only translates its protocol into a ``minilink.core.http.Request`` and
writes the core's ``Response`` back unchanged; no HTTP behaviour lives here. Import the
one you need (``minilink.adapters.wsgi:application`` and so on); this package imports
nothing itself, so that a CGI request pays only for the modules it uses.
"""

from __future__ import annotations

__all__: list[str] = []
