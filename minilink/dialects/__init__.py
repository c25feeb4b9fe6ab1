"""Dialects: other link shorteners' APIs, answered by minilink (SPEC section 11).

* ``minilink.dialects.yourls``: the YOURLS 1.10 API at ``/yourls-api.php``;
* ``minilink.dialects.shlink``: Shlink's REST API v3 under ``/rest``.

Each is imported only by the requests that reach it (nothing on the redirect path),
uses only the standard library and the core, and answers 404, as any unknown path
does, until its settings turn it on.
"""
