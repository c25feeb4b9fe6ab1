"""The baseline: an ASGI app that answers every request with a fixed 302."""

HEADERS = [
    (b"location", b"https://example.com/landing?utm=bench"),
    (b"content-type", b"text/plain; charset=utf-8"),
    (b"content-length", b"0"),
]


async def application(scope, receive, send):  # type: ignore[no-untyped-def]
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 302, "headers": HEADERS})
    await send({"type": "http.response.body", "body": b""})
