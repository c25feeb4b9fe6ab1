"""RSS of one WSGI worker after 1k and after 100k requests (target: at most 1.2x).

    python bench/memory.py [--requests 100000]

The WSGI application is driven in process, the way a worker runs it, with a mix of
redirects, previews, API reads, creates and 404s; RSS is read from /proc.
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import tempfile
from pathlib import Path

from common import HOT_CODE, populate, save

from minilink.adapters.wsgi import create_app
from minilink.core.config import Config


def rss_mib() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=100_000)
    args = parser.parse_args()
    db = populate(Path(tempfile.gettempdir()) / "minilink-bench-100000.db", 100_000)
    work = Path(tempfile.mkdtemp()) / "mem.db"
    work.write_bytes(db.read_bytes())
    app = create_app(Config(store=str(work), rate_limit=0))

    def call(method: str, path: str, body: bytes = b"") -> None:
        environ = {
            "REQUEST_METHOD": method,
            "PATH_INFO": path,
            "QUERY_STRING": "",
            "SERVER_NAME": "localhost",
            "SERVER_PORT": "80",
            "HTTP_HOST": "localhost",
            "REMOTE_ADDR": "127.0.0.1",
            "wsgi.input": io.BytesIO(body),
            "wsgi.url_scheme": "http",
            "CONTENT_TYPE": "application/json" if body else "",
            "CONTENT_LENGTH": str(len(body)) if body else "",
        }
        b"".join(app(environ, lambda status, headers, exc_info=None: None))

    def mix(i: int) -> None:
        k = i % 10
        if k < 6:
            call("GET", f"/{HOT_CODE}")
        elif k == 6:
            call("GET", f"/{HOT_CODE}+")
        elif k == 7:
            call("GET", f"/api/links/{HOT_CODE}")
        elif k == 8:
            call("POST", "/api/links", json.dumps({"url": f"https://example.com/m/{i}"}).encode())
        else:
            call("GET", f"/nope{i}")

    for i in range(1_000):
        mix(i)
    gc.collect()
    after_1k = rss_mib()
    for i in range(1_000, args.requests):
        mix(i)
    gc.collect()
    after_all = rss_mib()
    app.close()
    save(
        "memory",
        {
            "rss_mib_after_1k": round(after_1k, 1),
            f"rss_mib_after_{args.requests}": round(after_all, 1),
            "ratio": round(after_all / after_1k, 3),
        },
    )


if __name__ == "__main__":
    main()
