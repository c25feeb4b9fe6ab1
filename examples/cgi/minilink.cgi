#!/usr/bin/python3 -IS
"""minilink as a CGI script, for a host that runs ``.cgi`` files (see README.md here).

``-IS`` (isolated, no ``site``): the script starts faster and ignores whatever
``PYTHON*`` variables and user site-packages the host has. Linux passes the rest of
a ``#!`` line as one argument, so the two flags are written as one.
"""

import os
import sys

# The SQLite file: in a folder the web server's user can write (SQLite puts its -wal
# and -shm files next to it), outside the document root. A `SetEnv MINILINK_STORE`
# in .htaccess wins over this line.
os.environ.setdefault("MINILINK_STORE", "/home/me/minilink-data/links.db")

# The minilink package folder was copied next to this script (no pip needed).
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from minilink.adapters.cgi import run  # noqa: E402

# Answers the request, commits, flushes, and ends the process, skipping the
# interpreter's teardown (closing SQLite would checkpoint its log: ~10 ms per request).
run()
