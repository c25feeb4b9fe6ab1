"""Moving a large YOURLS installation in: 100,000 links and 1,000,000 click-log rows.

    python bench/import_yourls.py [--links 100000] [--clicks 1000000] [--dump]

Builds a YOURLS database (YOURLS 1.10's schema) on the MariaDB server of
``MINILINK_BENCH_MYSQL`` (default: root without a password on 127.0.0.1:3306), filled
by the server itself from its sequence engine: links ``k1``... with a title and a
creation time ten minutes apart, and clicks spread over the links and over about a
year. Then imports it into a new SQLite store with ``minilink import mysql://...``'s
code (``minilink.importers.import_database``) and prints the time of each phase;
``--dump`` also imports a ``mysqldump`` file of the same database. The target: the
live import in under a minute. The database is dropped at the end.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import pymysql

from minilink.importers import import_database, import_file
from minilink.storage.sqlite import SQLiteStore

SERVER = os.environ.get("MINILINK_BENCH_MYSQL", "mysql://root@127.0.0.1:3306/test")
SCHEMA = Path(__file__).resolve().parents[1] / "tests" / "importers"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--links", type=int, default=100_000)
    parser.add_argument("--clicks", type=int, default=1_000_000)
    parser.add_argument("--dump", action="store_true", help="also import a mysqldump file")
    args = parser.parse_args()
    sys.path.insert(0, str(SCHEMA))
    from yourlsdb import SCHEMA as TABLES  # the schema the tests install

    parts = urlsplit(SERVER)
    server = {
        "host": parts.hostname or "127.0.0.1",
        "port": parts.port or 3306,
        "user": parts.username or "root",
        "password": parts.password or "",
    }
    name = f"minilink_bench_yourls_{os.getpid()}"
    admin = pymysql.connect(**server, autocommit=True)
    admin.cursor().execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    try:
        started = time.perf_counter()
        with pymysql.connect(**server, database=name, autocommit=True) as conn:
            cursor = conn.cursor()
            cursor.execute("SET time_zone = '+00:00'")
            for statement in TABLES:
                cursor.execute(statement.format(p="yourls_"))
            cursor.execute(
                "INSERT INTO yourls_url (keyword, url, title, timestamp, ip, clicks)"
                " SELECT CONCAT('k', seq), CONCAT('https://example.com/page/', seq, '?ref=yourls'),"
                " CONCAT('Page number ', seq), FROM_UNIXTIME(1500000000 + seq * 600),"
                f" '192.0.2.1', {2 * args.clicks // args.links} FROM seq_1_to_{args.links}"
            )
            cursor.execute(
                "INSERT INTO yourls_log (click_time, shorturl, referrer, user_agent,"
                " ip_address, country_code)"
                " SELECT FROM_UNIXTIME(1700000000 + seq * 31),"
                f" CONCAT('k', 1 + (seq * 7919) % {args.links}), 'direct', 'Mozilla/5.0',"
                f" '192.0.2.9', 'FR' FROM seq_1_to_{args.clicks}"
            )
        print(
            f"filled {args.links:,} links and {args.clicks:,} clicks in "
            f"{time.perf_counter() - started:.1f} s"
        )
        auth = server["user"] + (f":{server['password']}" if server["password"] else "")
        url = f"mysql://{auth}@{server['host']}:{server['port']}/{name}"
        with tempfile.TemporaryDirectory() as folder:
            with SQLiteStore(Path(folder) / "live.db") as store:
                started = time.perf_counter()
                report = import_database(store, url)
                elapsed = time.perf_counter() - started
            days = _days(Path(folder) / "live.db")
            print(
                f"live import: {report.stored:,} links stored, {len(report.refused)} refused, "
                f"{days:,} per-day counters, in {elapsed:.1f} s"
                f" ({'under' if elapsed < 60 else 'OVER'} the minute)"
            )
            if args.dump:
                dump = Path(folder) / "yourls.sql"
                started = time.perf_counter()
                with dump.open("w", encoding="utf-8") as out:
                    password = [f"-p{server['password']}"] if server["password"] else []
                    command = ["mysqldump", "-h", server["host"], "-P", str(server["port"])]
                    command += ["-u", server["user"], *password, name]
                    subprocess.run(command, check=True, stdout=out)
                print(
                    f"mysqldump: {dump.stat().st_size / 1e6:.0f} MB in "
                    f"{time.perf_counter() - started:.1f} s"
                )
                with (
                    SQLiteStore(Path(folder) / "dump.db") as store,
                    dump.open(encoding="utf-8", newline="") as lines,
                ):
                    started = time.perf_counter()
                    report = import_file(store, lines, format="yourls-sql")
                    elapsed = time.perf_counter() - started
                print(
                    f"dump import: {report.stored:,} links stored, {len(report.refused)} "
                    f"refused, {_days(Path(folder) / 'dump.db'):,} per-day counters, "
                    f"in {elapsed:.1f} s"
                )
    finally:
        admin.cursor().execute(f"DROP DATABASE IF EXISTS `{name}`")
        admin.close()
    return 0


def _days(path: Path) -> int:
    import sqlite3

    with sqlite3.connect(path) as db:
        names = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        table = next(n for n in names if "daily" in n)
        (count,) = db.execute(f"SELECT count(*) FROM {table}").fetchone()
    return int(count)


if __name__ == "__main__":
    sys.exit(main())
