"""Calibration: the bare ASGI 302 app plus a fixed amount of pure-Python work.

``BENCH_BUSY_US`` (default 5) sets the work per request, in microseconds as measured
in a tight loop at start-up. Its rate under the server shows what that much Python
costs there, where it shares the CPU caches with the server and the load generator:
the yardstick for minilink's own cost, which is measured in process the same way.
"""

import os
import time

HEADERS = [
    (b"location", b"https://example.com/landing?utm=bench"),
    (b"content-type", b"text/plain; charset=utf-8"),
    (b"content-length", b"0"),
]


def _work(n: int) -> int:
    total = 0
    for i in range(n):
        total += i
    return total


def _calibrate(target_us: float) -> int:
    """Steps of ``_work`` that take ``target_us``: the fastest of a few probes, as the
    machine's speed when nothing else runs, like the in-process benchmarks."""
    probe = 200_000
    fastest = float("inf")
    for _ in range(7):
        begin = time.perf_counter()
        _work(probe)
        fastest = min(fastest, time.perf_counter() - begin)
    return max(1, round(target_us * 1e-6 / (fastest / probe)))


STEPS = _calibrate(float(os.environ.get("BENCH_BUSY_US", "5")))


async def application(scope, receive, send):  # type: ignore[no-untyped-def]
    if scope["type"] != "http":
        return
    _work(STEPS)
    await send({"type": "http.response.start", "status": 302, "headers": HEADERS})
    await send({"type": "http.response.body", "body": b""})
