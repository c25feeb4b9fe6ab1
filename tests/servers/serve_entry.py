"""``minilink serve`` with the deterministic app: ``python serve_entry.py serve ...``.

The command line builds its WSGI app from the configuration (``cli._wsgi_app``); here
that one function hands it ``server_entry``'s app instead, so the suite runs through
the CLI's own threaded server, request handler and shutdown, with the test's clock.
"""

from __future__ import annotations

import sys
from typing import Any

from minilink import cli
from minilink.testing import server_entry


def _deterministic(config: object) -> Any:
    return server_entry.wsgi_application


if __name__ == "__main__":
    cli._wsgi_app = _deterministic  # type: ignore[assignment]
    sys.exit(cli.main(sys.argv[1:]))
