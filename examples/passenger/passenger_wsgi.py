"""minilink for Phusion Passenger (cPanel's "Setup Python App"): see README.md here.

Passenger imports this file from the application root and serves its
``application`` from a process it keeps for many requests, so hits are batched in
memory and written every ``MINILINK_HIT_FLUSH_SECONDS`` and when Passenger stops the
process.
"""

import os
import sys

# Passenger starts Python without Apache's SetEnv values, so the settings are made here.
# The SQLite file: in a folder the application's user can write, outside public_html.
os.environ.setdefault("MINILINK_STORE", "/home/me/minilink-data/links.db")
# os.environ.setdefault("MINILINK_ADMIN_TOKEN", "change-me-to-a-long-random-string")

# The minilink package folder was copied next to this file (no pip needed).
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from minilink.adapters.wsgi import application  # noqa: F401
