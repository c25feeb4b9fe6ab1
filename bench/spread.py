"""Redirects spread over 10,000 links under uvicorn: PostgreSQL against SQLite.

    python bench/spread.py [--links 10000] [--rounds 5] [--seconds 5]

One uvicorn worker serves the same links from SQLite and from PostgreSQL (the
exact default, which reads the link's row version on every cached redirect, and
``?listen=1``, which trusts ``LISTEN``/``NOTIFY`` instead), loaded by ``wrk`` with a
Lua script that asks for a random code of the ``--links`` on every request, and, as
the reference, for one hot link. Rounds alternate the stores; medians are compared
(aim: PostgreSQL / SQLite >= 0.7). The PostgreSQL data lives in a schema of its own
on ``MINILINK_BENCH_POSTGRES`` (as ``search.py``).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Optional

from common import HOT_CODE, code_for, free_port, median, populate, save, start, stop

BIN = Path(sys.executable).parent
POSTGRES_URL = os.environ.get(
    "MINILINK_BENCH_POSTGRES",
    os.environ.get("MINILINK_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"),
)
LUA = """
local codes = {}
for line in io.lines("%s") do codes[#codes + 1] = line end
request = function()
  return wrk.format("GET", "/" .. codes[math.random(#codes)])
end
"""


def postgres_copy(sqlite_path: Path, n: int) -> str:
    """The URL of a PostgreSQL schema holding the links of ``sqlite_path``."""
    import psycopg
    from psycopg import sql

    from minilink.storage.postgres import SCHEMA_VERSION, PostgresStore
    from minilink.storage.sqlite import SQLiteStore

    schema = f"bench_spread_{n}_s{SCHEMA_VERSION}"
    url = POSTGRES_URL + ("&" if "?" in POSTGRES_URL else "?") + f"options=-csearch_path%3D{schema}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
        ident = sql.Identifier(schema)
        admin.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(ident))
        admin.execute(sql.SQL("CREATE SCHEMA {}").format(ident))
        with SQLiteStore(str(sqlite_path)) as source, PostgresStore.from_url(url) as target:
            target.restore(source.export())
        admin.execute(sql.SQL("VACUUM ANALYZE {}.minilink_links").format(ident))
    return url


def wrk(url: str, seconds: int, script: Optional[Path] = None) -> float:
    cmd = ["wrk", "-t2", "-c16", f"-d{seconds}s"]
    if script is not None:
        cmd += ["-s", str(script)]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        if line.startswith("Requests/sec:"):
            return float(line.split()[1])
    raise RuntimeError(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--links", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=5)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="minilink-spread-"))
    db = populate(tmp / "spread.db", args.links)
    pg = postgres_copy(db, args.links)
    codes = tmp / "codes.txt"
    codes.write_text("".join(code_for(i) + "\n" for i in range(args.links)))
    script = tmp / "spread.lua"
    script.write_text(LUA % codes)
    stores = {
        "sqlite": str(db),
        "postgres": pg,
        "postgres-listen": pg + "&listen=1",
    }
    loads = {"spread": script, "hot": None}
    rates: dict[str, list[float]] = {f"{s}/{load}": [] for s in stores for load in loads}
    for round_ in range(args.rounds):
        for name, store in stores.items():
            port = free_port()
            env = {"MINILINK_STORE": store, "MINILINK_RATE_LIMIT": "0"}
            proc = start(
                [
                    str(BIN / "uvicorn"),
                    "--port",
                    str(port),
                    "--no-access-log",
                    "--log-level",
                    "warning",
                    "--lifespan",
                    "on",
                    "minilink.adapters.asgi:application",
                ],
                env,
                port,
            )
            try:
                for load, lua in loads.items():
                    path = "/" if lua is not None else f"/{HOT_CODE}"
                    url = f"http://127.0.0.1:{port}{path}"
                    wrk(url, 1, lua)  # warm up
                    rates[f"{name}/{load}"].append(wrk(url, args.seconds, lua))
            finally:
                stop(proc)
        print(round_, {k: round(v[-1]) for k, v in rates.items()}, flush=True)
    med = {k: median(v) for k, v in rates.items()}
    ratios = {
        f"{name}/sqlite ({load})": round(med[f"{name}/{load}"] / med[f"sqlite/{load}"], 3)
        for name in ("postgres", "postgres-listen")
        for load in loads
    }
    print({k: round(v) for k, v in med.items()})
    print(ratios)
    save("spread", {"links": args.links, "median_rps": med, "ratios": ratios})


if __name__ == "__main__":
    main()
