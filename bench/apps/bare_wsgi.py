"""The baseline: a WSGI app that answers every request with a fixed 302."""


def application(environ, start_response):  # type: ignore[no-untyped-def]
    start_response(
        "302 Found",
        [
            ("Location", "https://example.com/landing?utm=bench"),
            ("Content-Type", "text/plain; charset=utf-8"),
            ("Content-Length", "0"),
        ],
    )
    return [b""]
