"""The errors a caller of minilink can cause, and the ones the store raises.

Every error carries the HTTP ``status`` it maps to and a stable machine ``code``:
the same string the JSON API puts in ``{"error": {"code": ...}}``. Callers match on
the class or on ``code``; the message is for people and may change.

The tree::

    MinilinkError                      (status 400, code "bad_request")
     ├── BadRequest(ValueError)        400 bad_request       malformed JSON, encoding, types
     │    ├── InvalidURL               400 invalid_url
     │    └── InvalidAlias             400 invalid_alias
     ├── Unauthorized                  401 unauthorized
     ├── Forbidden                     403 forbidden
     ├── NotFound(LookupError)         404 not_found
     ├── MethodNotAllowed              405 method_not_allowed
     ├── AliasTaken                    409 alias_taken
     ├── Gone(LookupError)             410 gone
     ├── PreconditionFailed            412 precondition_failed   a stale If-Match
     ├── PayloadTooLarge               413 payload_too_large
     ├── UnsupportedMediaType          415 unsupported_media_type
     ├── RateLimited                   429 rate_limited
     └── StoreUnavailable              503 unavailable       the store cannot answer now

``StoreUnavailable`` is the one error a client cannot cause: it means "try again
later" and carries ``retry_after`` seconds, like ``RateLimited``.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Optional

__all__ = [
    "AliasTaken",
    "BadRequest",
    "Forbidden",
    "Gone",
    "InvalidAlias",
    "InvalidURL",
    "MethodNotAllowed",
    "MinilinkError",
    "NotFound",
    "PayloadTooLarge",
    "PreconditionFailed",
    "RateLimited",
    "StoreUnavailable",
    "Unauthorized",
    "UnsupportedMediaType",
]


class MinilinkError(Exception):
    """Base of every minilink error; ``status`` and ``code`` say how HTTP shows it."""

    status: int = 400
    code: str = "bad_request"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(MinilinkError, ValueError):
    """The request is malformed: bad JSON, bad encoding, a value of the wrong type."""


class InvalidURL(BadRequest):
    """The URL is not one minilink will store (scheme, host, length, loops ...)."""

    code = "invalid_url"


class InvalidAlias(BadRequest):
    """The alias breaks the alias grammar or is a reserved word."""

    code = "invalid_alias"


class Unauthorized(MinilinkError):
    """A bearer token is needed and was missing or wrong."""

    status = 401
    code = "unauthorized"


class Forbidden(MinilinkError):
    """The operation is switched off by configuration (no admin token set), or a
    form post came from another site."""

    status = 403
    code = "forbidden"


class NotFound(MinilinkError, LookupError):
    """No link has this code."""

    status = 404
    code = "not_found"


class MethodNotAllowed(MinilinkError):
    """The path exists but not with this method; ``allow`` lists the methods it takes."""

    status = 405
    code = "method_not_allowed"

    def __init__(self, message: str, allow: tuple[str, ...]) -> None:
        super().__init__(message)
        self.allow = allow


class AliasTaken(MinilinkError):
    """The alias (or code) is already in use, or was used and deleted."""

    status = 409
    code = "alias_taken"


class Gone(MinilinkError, LookupError):
    """The link existed but was deleted, has expired or reached its visit limit."""

    status = 410
    code = "gone"


class PreconditionFailed(MinilinkError):
    """An edit named a version of the link (``If-Match``) that is no longer current:
    someone else changed it since. Nothing was changed; read the link again."""

    status = 412
    code = "precondition_failed"


class PayloadTooLarge(MinilinkError):
    """The request body is over ``MINILINK_MAX_BODY_BYTES``."""

    status = 413
    code = "payload_too_large"


class UnsupportedMediaType(MinilinkError):
    """The request body has a content type this route does not read."""

    status = 415
    code = "unsupported_media_type"


class RateLimited(MinilinkError):
    """Too many links created by one client; ``retry_after`` says when to retry."""

    status = 429
    code = "rate_limited"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class StoreUnavailable(MinilinkError):
    """The store could not answer (locked, unreachable, out of space); retry later."""

    status = 503
    code = "unavailable"

    def __init__(self, message: str, retry_after: Optional[int] = 1) -> None:
        super().__init__(message)
        self.retry_after = retry_after
