"""A YOURLS ``shorturl`` call against a create through minilink's own API, same run.

    python bench/dialects.py [--rounds 9] [--per-round 300] [--links 100000]

Both go through ``App.handle`` in process (no server: the request work alone), on
one SQLite store prefilled with ``--links`` links: ``POST /api/links`` with a JSON
body, and ``POST /yourls-api.php`` with the form ShareX sends (signature,
``action=shorturl``, ``url``, ``format=json``) and, as its own row, a GET with the
fields in the query. Every call creates a new link (a new URL each time). The
candidates alternate for ``--rounds`` rounds of ``--per-round`` calls; medians of the
per-call times. Target: the YOURLS call at most 2x the API create.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

from common import median, populate, save

from minilink.core.app import App
from minilink.core.config import Config
from minilink.core.http import Request
from minilink.core.service import Shortener
from minilink.storage.sqlite import SQLiteStore

SIGNATURE = "1002a612b4"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--per-round", type=int, default=300)
    parser.add_argument("--links", type=int, default=100_000)
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="minilink-bench-dialects-"))
    path = populate(folder / "links.db", args.links)
    config = Config(store=str(path), rate_limit=0, yourls_signature=SIGNATURE, hit_flush_seconds=0)
    app = App(Shortener(SQLiteStore(str(path)), config), config)
    counter = iter(range(10**9))

    def api() -> None:
        body = json.dumps({"url": f"https://bench.example/api/{next(counter)}"}).encode()
        headers = {"host": "sho.rt", "content-type": "application/json"}
        headers["content-length"] = str(len(body))
        response = app.handle(Request("POST", "/api/links", headers=headers, body=body))
        assert response.status == 201, response.body

    def yourls_post() -> None:
        fields = {
            "signature": SIGNATURE,
            "action": "shorturl",
            "url": f"https://bench.example/yourls/{next(counter)}",
            "format": "json",
        }
        body = urlencode(fields).encode()
        headers = {"host": "sho.rt", "content-type": "application/x-www-form-urlencoded"}
        headers["content-length"] = str(len(body))
        response = app.handle(Request("POST", "/yourls-api.php", headers=headers, body=body))
        assert response.status == 200, response.body

    def yourls_get() -> None:
        query = urlencode(
            {
                "signature": SIGNATURE,
                "action": "shorturl",
                "url": f"https://bench.example/get/{next(counter)}",
                "format": "json",
            }
        )
        response = app.handle(Request("GET", "/yourls-api.php", query, {"host": "sho.rt"}))
        assert response.status == 200, response.body

    candidates = {"api create": api, "yourls shorturl (POST form)": yourls_post}
    candidates["yourls shorturl (GET)"] = yourls_get
    for call in candidates.values():  # warm up: imports, caches, the page cache
        for _ in range(50):
            call()
    times: dict[str, list[float]] = {name: [] for name in candidates}
    for _ in range(args.rounds):
        for name, call in candidates.items():
            begin = time.perf_counter()
            for _ in range(args.per_round):
                call()
            times[name].append((time.perf_counter() - begin) / args.per_round)
    app.close()
    base = median(times["api create"])
    figures = {}
    print(f"{args.links} links in the store, {args.rounds} rounds of {args.per_round} calls")
    print("| call | µs per call | x API create |")
    print("| --- | --- | --- |")
    for name, values in times.items():
        value = median(values)
        figures[name] = {"us": value * 1e6, "ratio": value / base}
        print(f"| {name} | {value * 1e6:,.0f} | {value / base:.2f} |")
    save("dialects", {"links": args.links, "figures": figures})


if __name__ == "__main__":
    main()
