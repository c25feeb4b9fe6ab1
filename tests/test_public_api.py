"""The names minilink promises; changing this list is an API change."""

from __future__ import annotations

import minilink


def test_public_names() -> None:
    assert sorted(minilink.__all__) == sorted(
        [
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
            "Search",
            "RateLimited",
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
    )
    for name in minilink.__all__:
        assert getattr(minilink, name) is not None


def test_every_error_is_a_minilink_error_with_a_code() -> None:
    errors = [
        getattr(minilink, n)
        for n in minilink.__all__
        if isinstance(getattr(minilink, n), type) and issubclass(getattr(minilink, n), Exception)
    ]
    codes = {e.code for e in errors}
    assert all(issubclass(e, minilink.MinilinkError) for e in errors)
    assert {"invalid_url", "invalid_alias", "alias_taken", "not_found", "gone"} <= codes
    assert issubclass(minilink.InvalidURL, ValueError)
    assert issubclass(minilink.NotFound, LookupError)
