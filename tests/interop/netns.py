"""Running a test scenario inside a loopback-only network namespace (see the
``loopback_namespace`` fixture in ``conftest.py``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[2]


def run_in_namespace(
    namespace: str, module: str, *arguments: str, timeout: float = 120
) -> dict[str, object]:
    """Runs ``python -m module arguments`` in the namespace (for at most ``timeout`` seconds);
    its stdout is JSON."""
    completed = subprocess.run(
        ["ip", "netns", "exec", namespace, sys.executable, "-m", module, *arguments],
        cwd=REPOSITORY,
        env={**os.environ, "PYTHONPATH": str(REPOSITORY)},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    result: dict[str, object] = json.loads(completed.stdout)
    return result
