#!/usr/bin/python3 -IS
"""minilink for a host that offers FastCGI (Apache mod_fcgid) or CGI: see README.md here.

Started by mod_fcgid (``AddHandler fcgid-script``), it stays in memory and answers
request after request; started as a CGI script (``AddHandler cgi-script``), it
answers one request and ends, exactly like ``minilink.cgi``. ``run()`` tells the two
apart by what the server passed as standard input.

``-IS`` (isolated, no ``site``): a faster start, untouched by the host's ``PYTHON*``
variables and user site-packages. Linux passes the rest of a ``#!`` line as one
argument, so the two flags are written as one.
"""

import os
import sys

# mod_fcgid passes SetEnv values with each request, not to the process, so the settings
# are made here (under CGI a SetEnv in .htaccess still wins over these lines).
# The SQLite file: in a folder the web server's user can write, outside the site.
os.environ.setdefault("MINILINK_STORE", "/home/me/minilink-data/links.db")
# The public address of the site root (the rewrite in .htaccess hides the script).
os.environ.setdefault("MINILINK_BASE_URL", "https://example.org")
os.environ.setdefault("MINILINK_ADMIN_TOKEN", "change-me-to-a-long-random-string")

# The minilink and flup package folders were copied next to this script (no pip needed).
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from minilink.adapters.fastcgi import run  # noqa: E402

# FastCGI: serves until the server stops the process, then writes the buffered hits.
# CGI: answers one request and ends the process.
run()
