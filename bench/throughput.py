"""Redirects per second under real servers, minilink against a bare app and a framework.

    python bench/throughput.py [--rounds 5] [--seconds 5] [--links 100000]

For each server configuration the bare 302 app, minilink and the framework
equivalent (Flask + sqlite3 for WSGI, Starlette + sqlite3 for ASGI) are loaded in
turn with ``wrk`` on 127.0.0.1, round after round, and the medians compared:

* ``ratio`` = minilink's rate / the bare app's rate (targets: WSGI >= 0.85, ASGI >= 0.70);
* ``own cost`` = time per request above the bare app's; minilink's must be at most half
  of the framework's. ``minilink-hits-at-once`` is minilink with
  ``MINILINK_HIT_FLUSH_SECONDS=0``: every hit written before the answer, as the
  framework baselines do.
* Under uvicorn, ``bare+5us`` (``apps/busy_asgi.py``) is the bare app plus 5 µs of
  pure-Python work: what that much Python costs inside the server.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from common import HOT_CODE, free_port, median, populate, save, start, stop, wrk

BIN = Path(sys.executable).parent

CONFIGS = {
    "gunicorn-sync-1": (
        "wsgi",
        lambda app, port: [str(BIN / "gunicorn"), "-w", "1", "-b", f"127.0.0.1:{port}", app],
    ),
    "gunicorn-gthread-2x4": (
        "wsgi",
        lambda app, port: [
            str(BIN / "gunicorn"),
            "-k",
            "gthread",
            "-w",
            "2",
            "--threads",
            "4",
            "-b",
            f"127.0.0.1:{port}",
            app,
        ],
    ),
    "uvicorn-1": (
        "asgi",
        lambda app, port: [
            str(BIN / "uvicorn"),
            "--workers",
            "1",
            "--port",
            str(port),
            "--no-access-log",
            "--log-level",
            "warning",
            "--lifespan",
            "on",
            app,
        ],
    ),
}

APPS = {
    "wsgi": {
        "bare": "apps.bare_wsgi:application",
        "minilink": "minilink.adapters.wsgi:application",
        "minilink-hits-at-once": "minilink.adapters.wsgi:application",
        "framework": "apps.flask_app:application",
    },
    "asgi": {
        "bare": "apps.bare_asgi:application",
        "minilink": "minilink.adapters.asgi:application",
        "minilink-hits-at-once": "minilink.adapters.asgi:application",
        "framework": "apps.starlette_app:application",
        "bare+5us": "apps.busy_asgi:application",
    },
}

#: minilink as the framework baselines do it: every hit written before the answer
#: (no write-behind batching), for a like-for-like comparison of the rest.
EXTRA_ENV = {
    "minilink-hits-at-once": {"MINILINK_HIT_FLUSH_SECONDS": "0"},
    "bare+5us": {"BENCH_BUSY_US": "5"},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--links", type=int, default=100_000)
    parser.add_argument("--only", choices=sorted(CONFIGS))
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="minilink-bench-"))
    results = {}
    for name, (kind, command) in CONFIGS.items():
        if args.only and name != args.only:
            continue
        rates: dict[str, list[float]] = {app: [] for app in APPS[kind]}
        for round_ in range(args.rounds):
            for app, target in APPS[kind].items():
                db = populate(tmp / f"{name}-{app}.db", args.links)
                port = free_port()
                env = {
                    "MINILINK_STORE": str(db),
                    "MINILINK_RATE_LIMIT": "0",
                    **EXTRA_ENV.get(app, {}),
                }
                proc = start(command(target, port), env, port)
                try:
                    url = f"http://127.0.0.1:{port}/{HOT_CODE}"
                    wrk(url, seconds=1)  # warm up: imports, connections, caches
                    rates[app].append(wrk(url, seconds=args.seconds))
                finally:
                    stop(proc)
            print(name, round_, {k: round(v[-1]) for k, v in rates.items()}, flush=True)
        med = {app: median(values) for app, values in rates.items()}
        own = {app: 1e6 / med[app] - 1e6 / med["bare"] for app in med if app != "bare"}
        results[name] = {
            "rates": rates,
            "median_rps": {k: round(v, 1) for k, v in med.items()},
            "ratio_to_bare": round(med["minilink"] / med["bare"], 3),
            "ratios_to_bare": {k: round(v / med["bare"], 3) for k, v in med.items()},
            "own_cost_us": {k: round(v, 1) for k, v in own.items()},
            "own_cost_vs_framework": {
                app: round(own[app] / own["framework"], 3) if own["framework"] > 0 else None
                for app in ("minilink", "minilink-hits-at-once")
            },
        }
    save(
        "throughput",
        {"links": args.links, "rounds": args.rounds, "seconds": args.seconds, "results": results},
    )


if __name__ == "__main__":
    main()
