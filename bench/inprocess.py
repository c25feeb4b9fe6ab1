"""The core's own cost, in process: a hot redirect and a creation, on SQLite.

    python bench/inprocess.py [--number 20000] [--repeat 7]

Targets: a redirect of a hot link handled in at most 10 µs (median), a creation in
at most 100 µs. A bare ``Response`` construction is measured alongside as the floor.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import timeit
from pathlib import Path

from common import HOT_CODE, median, populate, save

from minilink import Config, Shortener, build_app
from minilink.core.app import App
from minilink.core.http import Request, Response
from minilink.storage import open_store


def asgi_us(app: App, number: int, repeat: int) -> dict[str, float]:
    """One ASGI call for the hot redirect, as uvicorn makes it, against the bare 302 app
    (``apps/bare_asgi.py``) and the same app plus 5 µs of work (``apps/busy_asgi.py``):
    what the ASGI translation adds, and the yardstick of the throughput benchmark."""
    import asyncio
    import os

    os.environ.setdefault("BENCH_BUSY_US", "5")
    from apps.bare_asgi import application as bare
    from apps.busy_asgi import application as busy

    from minilink.adapters.asgi import create_app

    minilink = create_app(app=app)
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 50000),
        "scheme": "http",
        "method": "GET",
        "root_path": "",
        "path": f"/{HOT_CODE}",
        "raw_path": f"/{HOT_CODE}".encode(),
        "query_string": b"",
        "headers": [(b"host", b"127.0.0.1:8000")],
    }

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: object) -> None:
        pass

    async def per_call(asgi: object) -> float:
        runs = []
        for _ in range(repeat):
            begin = time.perf_counter()
            for _ in range(number):
                await asgi(dict(scope), receive, send)  # type: ignore[operator]
            runs.append((time.perf_counter() - begin) / number * 1e6)
        return round(median(runs), 2)

    async def measure() -> dict[str, float]:
        return {
            "asgi: bare 302 app": await per_call(bare),
            "asgi: bare + 5 us of work": await per_call(busy),
            "asgi: minilink redirect GET": await per_call(minilink),
        }

    return asyncio.run(measure())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--number", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--links", type=int, default=100_000)
    args = parser.parse_args()
    db = populate(Path(tempfile.gettempdir()) / f"minilink-bench-{args.links}.db", args.links)
    config = Config(store=str(db), rate_limit=0)
    app = build_app(config)
    redirect = Request(method="GET", path=f"/{HOT_CODE}", headers={"host": "sho.rt"})
    head = Request(method="HEAD", path=f"/{HOT_CODE}", headers={"host": "sho.rt"})
    assert app.handle(redirect).status == 302

    create_db = Path(tempfile.mkdtemp()) / "create.db"
    creator = App(Shortener(open_store(str(create_db)), config), config)
    creates = max(1, args.number // 20)

    def post(n: int) -> Request:
        body = json.dumps({"url": f"https://example.com/{n}"}).encode()
        return Request(
            method="POST",
            path="/api/links",
            headers={
                "host": "sho.rt",
                "content-type": "application/json",
                "content-length": str(len(body)),
            },
            body=body,
        )

    # Built before the clock starts: what is timed is minilink handling the POST.
    posts = iter([post(n) for n in range(creates * args.repeat)])

    def create() -> None:
        assert creator.handle(next(posts)).status == 201

    cases = {
        "floor: Response(302, ...)": lambda: Response(302, (("Location", "https://a.b/"),)),
        "redirect GET (counts a hit)": lambda: app.handle(redirect),
        "redirect HEAD (no hit)": lambda: app.handle(head),
    }
    result = {}
    for name, fn in cases.items():
        runs = timeit.repeat(fn, number=args.number, repeat=args.repeat)
        result[name] = round(median(runs) / args.number * 1e6, 2)
    runs = timeit.repeat(create, number=creates, repeat=args.repeat)
    result["create (POST /api/links)"] = round(median(runs) / creates * 1e6, 2)
    result.update(asgi_us(app, args.number, args.repeat))
    # The consistency check on the redirect path: the BufferedStore asks the store for
    # changes() before it trusts a cached link (stores from before it have none).
    checked = open_store(str(db))
    if callable(getattr(checked, "changes", None)):
        checked.changes()
        runs = timeit.repeat(checked.changes, number=args.number, repeat=args.repeat)
        result["store.changes() (consistency check)"] = round(median(runs) / args.number * 1e6, 2)
    checked.close()
    app.close()
    creator.close()
    save("inprocess", {"links": args.links, "median_us": result})


if __name__ == "__main__":
    main()
