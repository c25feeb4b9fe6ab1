"""Storage at scale: resolve latency at 10k and 10M links, bulk import, API creates/s.

    python bench/scale.py [--big 10000000] [--small 10000]

* resolve: ``Shortener.resolve`` of random existing codes, median µs per call, on a
  store of ``--small`` and of ``--big`` links (target: big at most 1.3x small);
* bulk import: links/s written by ``minilink import`` of JSON lines (when the
  command exists), target >= 50k/s;
* creates through the HTTP API with one WSGI worker (gunicorn sync), target >= 1,000/s.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import threading
import time
import timeit
import urllib.request
from pathlib import Path

from common import code_for, free_port, median, populate, save, start, stop

from minilink import Shortener
from minilink.storage.sqlite import SQLiteStore

BIN = Path(sys.executable).parent


def resolve_us(db: Path, n: int, samples: int = 20_000) -> float:
    rng = random.Random(5)
    codes = [code_for(rng.randrange(n)) for _ in range(samples)]
    with SQLiteStore(str(db)) as store:
        sl = Shortener(store)
        for code in codes[:1000]:  # warm the page cache for a fair comparison
            sl.resolve(code)
        it = iter(codes * 20)
        runs = timeit.repeat(lambda: sl.resolve(next(it)), number=samples, repeat=5)
    return median(runs) / samples * 1e6


def bulk_import(tmp: Path, n: int) -> float | None:
    source = tmp / "links.jsonl"
    with source.open("w") as out:
        for i in range(n):
            out.write(
                json.dumps(
                    {
                        "code": code_for(i),
                        "url": f"https://example.com/{i}",
                        "created_at": "2026-11-28T13:00:00Z",
                    }
                )
                + "\n"
            )
    target = tmp / "import.db"
    begin = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "minilink", "--store", str(target), "import", str(source)],
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - begin
    if done.returncode != 0:
        print("import:", done.stderr.strip()[:300])
        return None
    return n / elapsed


def api_creates(tmp: Path, seconds: float = 5.0, clients: int = 8) -> float:
    port = free_port()
    proc = start(
        [
            str(BIN / "gunicorn"),
            "-w",
            "1",
            "-b",
            f"127.0.0.1:{port}",
            "minilink.adapters.wsgi:application",
        ],
        {"MINILINK_STORE": str(tmp / "creates.db"), "MINILINK_RATE_LIMIT": "0"},
        port,
    )
    count = [0] * clients
    stop_at = time.monotonic() + seconds

    def worker(k: int) -> None:
        i = 0
        while time.monotonic() < stop_at:
            body = json.dumps({"url": f"https://example.com/{k}/{i}"}).encode()
            req = urllib.request.Request(
                f"http://127.0.0.1:{port}/api/links", body, {"Content-Type": "application/json"}
            )
            with urllib.request.urlopen(req) as resp:
                assert resp.status == 201
            count[k] += 1
            i += 1

    try:
        begin = time.monotonic()
        threads = [threading.Thread(target=worker, args=(k,)) for k in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return sum(count) / (time.monotonic() - begin)
    finally:
        stop(proc)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--big", type=int, default=10_000_000)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--import-links", type=int, default=200_000)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="minilink-scale-"))
    shared = Path(tempfile.gettempdir())
    small = populate(shared / f"minilink-bench-{args.small}.db", args.small)
    big = populate(shared / f"minilink-bench-{args.big}.db", args.big)
    pairs = []
    for _ in range(3):  # alternate, medians
        pairs.append((resolve_us(small, args.small), resolve_us(big, args.big)))
    small_us = median([p[0] for p in pairs])
    big_us = median([p[1] for p in pairs])
    rate = bulk_import(tmp, args.import_links)
    creates = api_creates(tmp)
    save(
        "scale",
        {
            "resolve_us": {str(args.small): round(small_us, 2), str(args.big): round(big_us, 2)},
            "resolve_ratio_big_to_small": round(big_us / small_us, 3),
            "bulk_import_links_per_s": None if rate is None else round(rate),
            "api_creates_per_s_one_wsgi_worker": round(creates, 1),
        },
    )


if __name__ == "__main__":
    main()
