"""Fixtures of the interop tests.

``loopback_namespace``: a network namespace with only ``lo``, created per test (the tests
run as root, as CI does). Chromium and the worker run in it, so no packet can use another
address of the machine."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator

import pytest


@pytest.fixture
def loopback_namespace() -> Iterator[str]:
    name = f"msp-{uuid.uuid4().hex[:8]}"
    created = subprocess.run(["ip", "netns", "add", name], capture_output=True, text=True)
    assert created.returncode == 0, (
        "creating a network namespace needs root (CAP_SYS_ADMIN), as the test suite runs in "
        f"CI: {created.stderr.strip()}"
    )
    try:
        subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True)
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], check=True)


@pytest.fixture
def firefox_namespace(loopback_namespace: str) -> str:
    """The loopback namespace with a default route through ``lo`` from 127.0.0.1: Firefox
    gathers ICE candidates only where it finds a default route (its "default address only"
    mode, which applies to fake media), so without one it offers none. The route leads
    nowhere but ``lo``: nothing can leave the namespace."""
    subprocess.run(
        [
            "ip",
            "-n",
            loopback_namespace,
            "route",
            "add",
            "default",
            "dev",
            "lo",
            "src",
            "127.0.0.1",
        ],
        check=True,
    )
    return loopback_namespace
