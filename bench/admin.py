"""The management pages at 1M links: server time of the list, a search and a link page.

    python bench/admin.py [--links 1000000] [--rounds 21] [--backend sqlite|postgres|both]

Reuses the stores ``bench/search.py`` builds (the same realistic mix of links, cached in
the temporary directory or a PostgreSQL schema; built on first use). Each page is
answered by ``App.handle`` in process, signed in with a session cookie, so the time is
the server's own: routing, the session check (one read of the store), the store's
queries and the HTML. The pages, interleaved round after round; median and p95 in ms,
against the target of 100 ms each:

* ``list``: ``/admin/links``, the first page of 50 (newest first);
* ``list-page-2``: the page after it (``?after=``, the cursor the "Next" link carries);
* ``search``: ``/admin/links?q=<word>``, a word ~0.1% of the links carry;
* ``search-tag``: ``/admin/links?tag=python`` (what the tags page links to), and
  ``tag-by-hits``: the same most visited first (every link of the tag is read);
* ``list-by-hits``: the whole list most visited first (no target: no store keeps an
  index on hits, so every link is read; what the overview's "most visited" costs too);
* ``link``: ``/admin/links/<code>``, a link's page (its 30-day chart, the QR code);
* ``link-365``: the same with the year's chart (``?days=365``);
* ``overview``: ``/admin/`` (counts every link and the visits of 30 days: no target,
  it reads the whole table).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Optional

from common import save
from search import NEEDLE, postgres_store, sqlite_store

from minilink import Config, Shortener
from minilink.core.app import App
from minilink.core.http import Request
from minilink.core.sessions import COOKIE, Sessions
from minilink.storage.base import Store

TOKEN = "bench-admin-token"
TARGET_MS = 100.0


def pages(store: Store) -> dict[str, str]:
    """The pages measured, as ``path?query`` (the codes come from the store)."""
    shortener = Shortener(store)
    first = shortener.search(limit=50)
    some = shortener.search(sort="hits", limit=1)[0].code
    return {
        "list": "/admin/links",
        "list-page-2": f"/admin/links?after={first[-1].code}",
        "search": f"/admin/links?q={NEEDLE}",
        "search-tag": "/admin/links?tag=python",
        "tag-by-hits": "/admin/links?tag=python&sort=hits",
        "list-by-hits": "/admin/links?sort=hits",
        "link": f"/admin/links/{some}",
        "link-365": f"/admin/links/{some}?days=365",
        "overview": "/admin/",
    }


def measure(store: Store, rounds: int) -> dict[str, dict[str, Any]]:
    config = Config(admin_token=TOKEN)
    app = App(Shortener(store, config), config)
    cookie = Sessions(TOKEN, store, 3600).start(app.shortener.clock())
    headers = {"host": "sho.rt", "cookie": f"{COOKIE}={cookie}"}
    targets = pages(store)

    def get(target: str) -> int:
        path, _, query = target.partition("?")
        response = app.handle(Request(path=path, query=query, headers=headers))
        return response.status

    for name, target in targets.items():  # checked once, and caches warmed
        status = get(target)
        if status != 200:
            raise SystemExit(f"{name}: {target} answered {status}")
        get(target)
    times: dict[str, list[float]] = {name: [] for name in targets}
    for _ in range(rounds):
        for name, target in targets.items():
            begin = time.perf_counter()
            get(target)
            times[name].append((time.perf_counter() - begin) * 1000)
    results = {}
    for name, samples in times.items():
        samples.sort()
        p95 = samples[min(len(samples) - 1, round(0.95 * (len(samples) - 1)))]
        results[name] = {
            "target": targets[name],
            "median_ms": round(statistics.median(samples), 2),
            "p95_ms": round(p95, 2),
        }
    return results


def table(backend: str, info: dict[str, Any], results: dict[str, dict[str, Any]]) -> None:
    print(f"\n{backend}: {info['where']}, {info.get('size_mb')} MB")
    print(f"  {'page':<13}{'median ms':>10}{'p95 ms':>9}  under {TARGET_MS:g} ms?")
    for name, r in results.items():
        verdict = (
            "—"
            if name in ("overview", "list-by-hits")
            else ("yes" if r["p95_ms"] < TARGET_MS else "NO")
        )
        print(f"  {name:<13}{r['median_ms']:>10.2f}{r['p95_ms']:>9.2f}  {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--links", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=21)
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="sqlite")
    parser.add_argument(
        "--cache", type=Path, default=Path(tempfile.gettempdir()) / "minilink-bench"
    )
    args = parser.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {"links": args.links, "rounds": args.rounds}
    report["load"] = os.getloadavg()
    backends = ("sqlite", "postgres") if args.backend == "both" else (args.backend,)
    for backend in backends:
        opened: Optional[tuple[Store, dict[str, Any]]]
        if backend == "sqlite":
            opened = sqlite_store(args.links, args.cache, False)
        else:
            opened = postgres_store(args.links, False)
        if opened is None:
            continue
        store, info = opened
        with store:
            results = measure(store, args.rounds)
        table(backend, info, results)
        report[backend] = {"info": info, "results": results}
    print(f"\nload average (1, 5, 15 min) at the start: {report['load']}", file=sys.stderr)
    save("admin", report)


if __name__ == "__main__":
    main()
