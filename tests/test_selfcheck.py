"""The README's first command runs the self-check; it must pass on an installed package."""

from __future__ import annotations

import subprocess
import sys


def test_selfcheck_passes() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "mediasoup_py.selfcheck"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "all checks passed" in completed.stdout
