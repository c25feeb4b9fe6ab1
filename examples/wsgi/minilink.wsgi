"""minilink for Apache mod_wsgi: the file ``WSGIScriptAlias`` points at (see apache.conf).

mod_wsgi does not pass Apache's ``SetEnv`` values to ``os.environ``, so the settings
are made here, before the application is imported.
"""

import os

os.environ.setdefault("MINILINK_STORE", "/srv/minilink/data/links.db")
# os.environ.setdefault("MINILINK_ADMIN_TOKEN", "change-me-to-a-long-random-string")

from minilink.adapters.wsgi import application  # noqa: E402, F401
