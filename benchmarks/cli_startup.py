"""Wall time of ``headwater --help`` beside ``python -c pass``, and of a command that opens the store.

    .venv/bin/python benchmarks/cli_startup.py [--runs 9]

Each command runs ``--runs`` times in a fresh process (the code of this checkout, in a temporary
folder); the median and the fastest run are printed. ``python -c pass`` is the floor every command
pays; ``--help`` should add only the command line itself (typer), never the database, the HTTP stack
or pyarrow. Not a test: figures depend on the machine and on what else it is doing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEADWATER = str(Path(sys.executable).with_name("headwater"))


def wall_times(command: list[str], cwd: str, env: dict[str, str], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, cwd=cwd, env=env, capture_output=True, check=True)
        times.append(time.perf_counter() - started)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEADWATER_")}
    env["PYTHONPATH"] = str(ROOT / "src")
    with tempfile.TemporaryDirectory() as home:
        subprocess.run([HEADWATER, "migrate"], cwd=home, env=env, capture_output=True, check=True)
        cases = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "headwater --help": [HEADWATER, "--help"],
            "headwater --version": [HEADWATER, "--version"],
            "headwater tenant list": [HEADWATER, "tenant", "list", "--json"],
        }
        print(f"{'command':<24} {'median s':>9} {'fastest s':>10}")
        for name, command in cases.items():
            times = wall_times(command, home, env, args.runs)
            print(f"{name:<24} {statistics.median(times):>9.3f} {min(times):>10.3f}")


if __name__ == "__main__":
    main()
