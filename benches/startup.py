"""Start-up costs of an installed mediasoup_py: ``python -c "import mediasoup_py"`` (wall and
process CPU time, next to ``python -c pass`` in the same run) and how long a worker takes from
``create_worker()`` to its first answer (``dump()``), the first worker of a process and the
next one, each in a fresh process.

    .venv/bin/python -m benches.startup                       # the .venv's install
    .venv/bin/python -m benches.startup --python /tmp/v/bin/python --runs 30

Writes benches/results/startup-<date>.json and .md and prints the table. The wheel test
(tests/interop/test_wheel.py) calls the same functions once in a fresh virtual environment.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"

# Starts two workers, one after the other, and prints how long each took to answer.
WORKER_START = """
import asyncio, json, time
import mediasoup_py

async def main():
    seconds, workers = [], []
    for _ in range(2):
        started = time.perf_counter()
        worker = await mediasoup_py.create_worker()
        await worker.dump()
        seconds.append(time.perf_counter() - started)
        workers.append(worker)
    for worker in workers:
        worker.close()
    print(json.dumps(seconds))

asyncio.run(main())
"""


def _timed_run(
    command: Sequence[str], environment: Mapping[str, str] | None
) -> tuple[float, float]:
    """Wall and CPU (user + system) seconds of one run of ``command``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(command, env=environment, check=True, capture_output=True, timeout=60)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def import_cpu_seconds(python: str, environment: Mapping[str, str] | None = None) -> float:
    """Process CPU time of one ``python -c "import mediasoup_py"`` (unlike its wall time,
    this barely moves when other work shares the cores)."""
    return _timed_run([python, "-c", "import mediasoup_py"], environment)[1]


def worker_start_seconds(python: str, environment: Mapping[str, str] | None = None) -> float:
    """Seconds from ``create_worker()`` to the first worker's first answer, in a fresh process."""
    seconds: list[float] = json.loads(_worker_starts(python, environment))
    return seconds[0]


def _worker_starts(python: str, environment: Mapping[str, str] | None) -> str:
    completed = subprocess.run(
        [python, "-c", WORKER_START],
        env=environment,
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return completed.stdout


def _summary(values: Sequence[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "median": statistics.median(ordered),
        "p90": ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))],
        "min": ordered[0],
    }


def measure(python: str, runs: int, progress: Callable[[str], None]) -> dict[str, Any]:
    """Every figure, ``runs`` times each, interleaved so that a slow spell of the machine
    touches them alike."""
    samples: dict[str, list[float]] = {
        name: []
        for name in (
            "python -c pass: wall",
            "python -c pass: cpu",
            "import mediasoup_py: wall",
            "import mediasoup_py: cpu",
            "first worker up",
            "second worker up",
        )
    }
    for index in range(runs):
        progress(f"run {index + 1}/{runs}")
        wall, cpu = _timed_run([python, "-c", "pass"], None)
        samples["python -c pass: wall"].append(wall)
        samples["python -c pass: cpu"].append(cpu)
        wall, cpu = _timed_run([python, "-c", "import mediasoup_py"], None)
        samples["import mediasoup_py: wall"].append(wall)
        samples["import mediasoup_py: cpu"].append(cpu)
        first, second = json.loads(_worker_starts(python, None))
        samples["first worker up"].append(first)
        samples["second worker up"].append(second)
    return {name: _summary(values) for name, values in samples.items()}


def markdown(report: dict[str, Any]) -> str:
    lines = [
        f"# Start-up costs, {report['date']}",
        "",
        f"{report['runs']} runs of each, interleaved, each in a fresh process, with "
        f"{report['python']} (Python {report['python_version']}); milliseconds. Load average "
        f"before the run: {report['load_average']}.",
        "",
        "| what | median | p90 | min |",
        "|---|---|---|---|",
    ]
    for name, figures in report["seconds"].items():
        cells = " | ".join(f"{1000 * figures[key]:.1f}" for key in ("median", "p90", "min"))
        lines.append(f"| {name} | {cells} |")
    return "\n".join(lines) + "\n"


def main(arguments: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--python", default=sys.executable, help="the interpreter to measure")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--output-dir", type=Path, default=RESULTS)
    options = parser.parse_args(arguments)
    version = subprocess.run(
        [options.python, "-c", "import platform; print(platform.python_version())"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    report = {
        "date": datetime.date.today().isoformat(),
        "python": options.python,
        "python_version": version,
        "machine": platform.platform(),
        "cores": os.cpu_count(),
        "load_average": " ".join(f"{value:.2f}" for value in os.getloadavg()),
        "runs": options.runs,
        "seconds": measure(options.python, options.runs, lambda line: print(line, file=sys.stderr)),
    }
    options.output_dir.mkdir(parents=True, exist_ok=True)
    stem = options.output_dir / f"startup-{report['date']}"
    stem.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    table = markdown(report)
    stem.with_suffix(".md").write_text(table)
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
