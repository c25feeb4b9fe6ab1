"""cheroot serving ``server_entry``'s WSGI app: ``python cheroot_entry.py PORT [MOUNT]``.

cheroot's command line has no mount option; its ``PathInfoDispatcher`` is how a cheroot
deployment mounts an app under a prefix (it moves the prefix to ``SCRIPT_NAME``).
SIGTERM stops the server and lets it close its connections.
"""

from __future__ import annotations

import signal
import sys
from typing import Any

from cheroot import wsgi

from minilink.testing.server_entry import wsgi_application


def main(port: int, mount: str) -> None:
    app: Any = wsgi.PathInfoDispatcher({mount: wsgi_application}) if mount else wsgi_application
    server = wsgi.Server(("127.0.0.1", port), app, numthreads=4)

    def stop(signum: int, frame: Any) -> None:
        server.stop()
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    server.safe_start()


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else "")
