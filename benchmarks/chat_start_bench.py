"""How long `acasa chat` takes to be ready: a new process that imports the bot, checks the database
schema, loads the content and the matcher (from its disk cache) and reads an empty input.

    .venv/bin/python benchmarks/chat_start_bench.py [--runs 5]

The first run also creates the database (all migrations); the others find it current.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]


def one_start(db: Path) -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "bot.cli", "chat", "--db", str(db), "--user", "bench"],
        input="",
        capture_output=True,
        text=True,
        cwd=PROJECT,
        check=True,
    )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "bench.db"
        first = one_start(db)
        again = [one_start(db) for _ in range(args.runs)]
    print(f"first start (new database, all migrations): {first:.2f} s")
    print(f"later starts: median {statistics.median(again):.2f} s, max {max(again):.2f} s ({args.runs} runs)")


if __name__ == "__main__":
    main()
