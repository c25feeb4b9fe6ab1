"""minilink: a self-hostable link shortener with a pure-Python core.

The public names, importable from ``minilink``::

    from minilink import Shortener, Link, Config, open_store, build_app
    from minilink import MinilinkError, InvalidURL, InvalidAlias, AliasTaken, NotFound, Gone

The adapters live in ``minilink.adapters.{cgi,wsgi,asgi}``, the stores in
``minilink.storage``, the conformance kit in ``minilink.testing``. Importing this
package pulls in the core (stdlib only); adapters import ``minilink.core`` modules
directly so a CGI request loads no more than it uses.
"""

from __future__ import annotations

from minilink._build import build_app
from minilink.core.config import Config
from minilink.core.errors import (
    AliasTaken,
    BadRequest,
    Forbidden,
    Gone,
    InvalidAlias,
    InvalidURL,
    MethodNotAllowed,
    MinilinkError,
    NotFound,
    PayloadTooLarge,
    PreconditionFailed,
    RateLimited,
    StoreUnavailable,
    Unauthorized,
    UnsupportedMediaType,
)
from minilink.core.links import Link, Search
from minilink.core.service import Shortener, Stats
from minilink.storage import open_store
from minilink.storage.base import Store

__version__ = "0.1.0"

__all__ = [
    "AliasTaken",
    "BadRequest",
    "Config",
    "Forbidden",
    "Gone",
    "InvalidAlias",
    "InvalidURL",
    "Link",
    "MethodNotAllowed",
    "MinilinkError",
    "NotFound",
    "PayloadTooLarge",
    "PreconditionFailed",
    "RateLimited",
    "Search",
    "Shortener",
    "Stats",
    "Store",
    "StoreUnavailable",
    "Unauthorized",
    "UnsupportedMediaType",
    "__version__",
    "build_app",
    "open_store",
]
