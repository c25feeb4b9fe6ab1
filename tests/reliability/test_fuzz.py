"""Runs the fuzz target (``fuzz_target.py``) for a bounded time.

With atheris installed (the ``test`` extra installs it on Linux x86-64) the target
runs as a coverage-guided libFuzzer process for ``SECONDS`` seconds, from the seed
inputs, and any input that breaks the invariant fails the test with the input and
its traceback (libFuzzer also writes it to the test's folder as ``crash-*``). Without
atheris the same ``check`` runs under hypothesis, with random bytes and the seeds.
For a longer run, see the README ("Fuzzing").
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from importlib.util import find_spec
from pathlib import Path

import fuzz_target
from _reliability import REPO, record
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

SECONDS = 20
TARGET = Path(fuzz_target.__file__)


def test_fuzz_target_for_a_bounded_time(tmp_path: Path) -> None:
    if find_spec("atheris") is None:
        run_under_hypothesis()
        record("fuzzing: atheris is not installed; ran the target under hypothesis")
        return
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for i, seed in enumerate(fuzz_target.SEEDS):
        (corpus / f"seed{i}").write_bytes(seed)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    started = time.monotonic()
    run = subprocess.run(
        [
            sys.executable,
            str(TARGET),
            f"-max_total_time={SECONDS}",
            "-timeout=10",
            "-rss_limit_mb=2048",
            f"-artifact_prefix={tmp_path}/",
            "-print_final_stats=1",
            str(corpus),
        ],
        capture_output=True,
        text=True,
        timeout=SECONDS + 120,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    seconds = time.monotonic() - started
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-6000:]
    executed = re.search(r"stat::number_of_executed_units:\s*(\d+)", output)
    coverage = re.findall(r"cov: (\d+)", output)
    record(
        f"fuzzing (atheris, libFuzzer): {executed.group(1) if executed else '?'} inputs in "
        f"{seconds:.0f} s, coverage {coverage[-1] if coverage else '?'} edges, no failure"
    )


def run_under_hypothesis() -> None:
    @settings(
        max_examples=3000,
        deadline=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(st.binary(max_size=512))
    def target(data: bytes) -> None:
        fuzz_target.check(data)

    for seed in fuzz_target.SEEDS:
        target = example(seed)(target)
    target()
