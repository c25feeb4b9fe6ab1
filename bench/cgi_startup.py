"""Wall time of one CGI request against ``python -c pass``, same interpreter.

    python bench/cgi_startup.py [--runs 41] [--links 1000000]

Runs, interleaved: ``python -c pass`` (the baseline), a redirect through
``python -m minilink.adapters.cgi``, a redirect through the script printed by
``minilink cgi-script`` when that command exists (``-I -S``, package folder on
``sys.path``), and a link creation (POST /api/links). Medians of ``--runs`` each.
Target: a redirect at most 1.5x the baseline.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import HOT_CODE, ROOT, median, populate, save

CGI_ENV = {
    "GATEWAY_INTERFACE": "CGI/1.1",
    "SERVER_PROTOCOL": "HTTP/1.1",
    "SERVER_NAME": "localhost",
    "SERVER_PORT": "80",
    "REMOTE_ADDR": "127.0.0.1",
    "SCRIPT_NAME": "",
    "HTTP_HOST": "localhost",
    "MINILINK_RATE_LIMIT": "0",
}


def timed(cmd: list[str], env: dict[str, str], stdin: bytes = b"") -> float:
    begin = time.perf_counter()
    done = subprocess.run(cmd, env=env, input=stdin, capture_output=True, check=True)
    elapsed = time.perf_counter() - begin
    if "-c" not in cmd and not done.stdout.startswith(b"Status: "):  # a minilink answer
        raise RuntimeError(done.stdout[:200] + done.stderr[-500:])
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=41)
    parser.add_argument("--links", type=int, default=1_000_000)
    parser.add_argument(
        "--python",
        default=sys.executable,
        help="interpreter of a clean virtual environment with only minilink installed",
    )
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="minilink-cgi-"))
    db = populate(Path(tempfile.gettempdir()) / f"minilink-bench-{args.links}.db", args.links)
    # A venv's interpreter (not a pyenv shim), absolute for the script's #! line but
    # not resolved: resolving would follow the venv's symlink out of the venv.
    python = str(Path(args.python).absolute())
    base = {"PATH": "/usr/bin:/bin", **CGI_ENV, "MINILINK_STORE": str(db)}
    redirect = {**base, "REQUEST_METHOD": "GET", "PATH_INFO": f"/{HOT_CODE}"}
    body = json.dumps({"url": "https://example.com/new"}).encode()
    create_env = {
        **base,
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/api/links",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)),
        "MINILINK_STORE": str(tmp / "create.db"),
    }
    candidates: dict[str, tuple[list[str], dict[str, str], bytes]] = {
        "python -c pass": ([python, "-c", "pass"], base, b""),
        "python -I -S -c pass": ([python, "-I", "-S", "-c", "pass"], base, b""),
        # The floor under any SQLite CGI answer in Python: the interpreter and the
        # standard modules a redirect cannot do without, and nothing of minilink.
        "floor: -I -S, import os, sqlite3, datetime, threading": (
            [python, "-I", "-S", "-c", "import os, sqlite3, datetime, threading"],
            base,
            b"",
        ),
        "redirect: -m minilink.adapters.cgi": (
            [python, "-m", "minilink.adapters.cgi"],
            redirect,
            b"",
        ),
        "create: -m minilink.adapters.cgi": (
            [python, "-m", "minilink.adapters.cgi"],
            create_env,
            body,
        ),
    }
    script = tmp / "minilink.cgi"
    made = subprocess.run(
        [
            python,
            "-m",
            "minilink",
            "cgi-script",
            "--python",
            python,
            "--store",
            str(db),
            "--package-dir",
            str(tmp),
        ],
        capture_output=True,
        text=True,
    )
    if made.returncode != 0:
        raise SystemExit(f"minilink cgi-script failed: {made.stderr.strip()}")
    shutil.copytree(
        ROOT / "minilink", tmp / "minilink", ignore=shutil.ignore_patterns("__pycache__")
    )
    script.write_text(made.stdout)
    script.chmod(0o755)
    subprocess.run([python, "-m", "compileall", "-q", str(tmp / "minilink")], check=True)
    candidates["redirect: cgi-script (-I -S)"] = ([str(script)], redirect, b"")
    times: dict[str, list[float]] = {name: [] for name in candidates}
    for cmd, env, stdin in candidates.values():  # warm the page cache once
        timed(cmd, env, stdin)
    for _ in range(args.runs):
        for name, (cmd, env, stdin) in candidates.items():
            times[name].append(timed(cmd, env, stdin))
    med = {name: median(values) * 1000 for name, values in times.items()}
    baseline = med["python -c pass"]
    save(
        "cgi_startup",
        {
            "links": args.links,
            "runs": args.runs,
            "interpreter": python,
            "median_ms": {k: round(v, 2) for k, v in med.items()},
            "ratio_to_python_c_pass": {k: round(v / baseline, 3) for k, v in med.items()},
        },
    )


if __name__ == "__main__":
    main()
