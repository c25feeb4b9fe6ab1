"""Shared helpers of the benchmarks: data, servers, load, statistics.

Every figure is a ratio against a baseline measured in the same run, alternating
between candidate and baseline, taking medians: this machine is shared and noisy.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Optional

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
ALPHABET = "23456789abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ"
HOT_CODE = "hotlink"
HOT_URL = "https://example.com/landing?utm=bench"


def code_for(i: int, width: int = 7) -> str:
    """A distinct code per ``i`` (bench data only; real codes come from ``secrets``)."""
    chars = []
    for _ in range(width):
        i, r = divmod(i, len(ALPHABET))
        chars.append(ALPHABET[r])
    return "".join(chars)


def populate(path: Path, n: int) -> Path:
    """An SQLite store with ``n`` links plus the alias ``hotlink`` (created once, reused)."""
    marker = path.with_suffix(".ready")
    if marker.exists():
        return path
    for stale in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        stale.unlink(missing_ok=True)
    from minilink.storage.sqlite import SQLiteStore

    with SQLiteStore(str(path)) as store:  # creates the schema, the real way
        store.ping()
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=OFF")
    now = int(time.time() * 1_000_000)
    batch = 100_000
    for start in range(0, n, batch):
        rows = [
            (code_for(i), f"https://example.com/page/{i}", now)
            for i in range(start, min(n, start + batch))
        ]
        db.execute("BEGIN")
        db.executemany(
            "INSERT INTO links (code, url, created_at, hits, alias) VALUES (?, ?, ?, 0, 0)", rows
        )
        db.execute("COMMIT")
    db.execute(
        "INSERT INTO links (code, url, created_at, hits, alias) VALUES (?, ?, ?, 0, 1)",
        (HOT_CODE, HOT_URL, now),
    )
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    marker.write_text(str(n))
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing answered on port {port} within {timeout} s")


def start(
    cmd: list[str], env: Optional[dict[str, str]] = None, port: int = 0
) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        cmd,
        env={**os.environ, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=ROOT / "bench",
    )
    if port:
        wait_port(port, proc)
    return proc


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def wrk(url: str, seconds: int = 5, connections: int = 16, threads: int = 2) -> float:
    """Requests per second that ``wrk`` measured (it does not follow redirects)."""
    out = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for line in out.splitlines():
        if line.startswith("Requests/sec:"):
            return float(line.split()[1])
    raise RuntimeError(out)


def median(values: list[float]) -> float:
    return statistics.median(values)


def save(name: str, data: dict[str, Any]) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    data = {
        "python": sys.version.split()[0],
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        **data,
    }
    (RESULTS / f"{name}.json").write_text(json.dumps(data, indent=2) + "\n")
    print(json.dumps(data, indent=2))
