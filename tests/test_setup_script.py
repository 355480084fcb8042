"""The set-up script (``.ci/setup.sh``): run again on a clone it has set up, it changes nothing,
reaches no network (the tests run in network namespaces without one) and says one line per
step; and its apt step (``scripts/apt-install.sh``) waits for the package manager's lock
instead of failing: with dpkg's lock held, as a running apt-get or unattended upgrade holds it,
until apt-get says it waits for it, it installs a package (an empty .deb made here) once the
lock is free.

Both need root, as the suite does in CI (apt, dpkg)."""

from __future__ import annotations

import fcntl
import os
import re
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[1]
PROBE_PACKAGE = "mediasoup-py-lock-probe"
LOCK_HELD_S = 20


def test_setup_run_again_changes_nothing_and_says_one_line_per_step() -> None:
    wheels = sorted((REPOSITORY / "target" / "wheels").glob("mediasoup_py-*.whl"))
    assert wheels, "the suite's set-up builds the wheel first"
    stamp = REPOSITORY / ".venv" / "mediasoup_py-wheel.sha256"
    installed_before = stamp.read_text()
    completed = subprocess.run(
        ["bash", ".ci/setup.sh"],
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr[-3000:]
    lines = completed.stdout.splitlines()
    steps = [re.fullmatch(r"setup: ([\w-]+) \.\.\. (.*) \((\d+)s\)", line) for line in lines]
    assert all(steps), lines
    said = {step.group(1): step.group(2) for step in steps if step}
    assert list(said) == [
        "debian-sources",
        "debian-packages",
        "wheel",
        "venv",
        "rust-components",
        "firefox-driver",
        "v2-client-bundle",
        "protoo-client-bundle",
        "install",
        "libnice-without-upnp",
        "dev-tools",
        "wheel-dependencies",
    ]
    assert said["debian-packages"] == "all installed"
    assert said["venv"] == "exists"
    assert said["install"] == "up to date [test,demo,cluster]"
    assert said["wheel-dependencies"] == "up to date"
    assert said["debian-sources"].endswith("mediasoup-py-deb-src.sources present")
    assert re.fullmatch(r"libnice \S+ without UPnP present", said["libnice-without-upnp"])
    # The same wheel, rebuilt from the same sources, is the one .venv has.
    assert said["wheel"].endswith(wheels[0].name)
    assert stamp.read_text() == installed_before


@pytest.fixture
def probe_deb(tmp_path: Path) -> Iterator[Path]:
    """An empty Debian package, removed again after the test."""
    root = tmp_path / "probe"
    (root / "DEBIAN").mkdir(parents=True)
    (root / "DEBIAN" / "control").write_text(
        f"Package: {PROBE_PACKAGE}\nVersion: 1.0\nArchitecture: all\n"
        "Maintainer: mediasoup_py tests <tests@localhost>\n"
        "Description: empty package for the set-up's apt lock test\n"
    )
    deb = tmp_path / "probe.deb"
    subprocess.run(["dpkg-deb", "--build", str(root), str(deb)], check=True, capture_output=True)
    yield deb
    subprocess.run(["dpkg", "--purge", PROBE_PACKAGE], check=False, capture_output=True)


def test_apt_step_waits_for_the_package_managers_lock(probe_deb: Path) -> None:
    # dpkg's front-end lock, taken as apt-get takes it (an fcntl record lock).
    lock = os.open("/var/lib/dpkg/lock-frontend", os.O_RDWR | os.O_CREAT, 0o640)
    fcntl.lockf(lock, fcntl.LOCK_EX)
    # Held until apt-get says it waits for it: a fixed hold raced apt-get's own start (on a
    # busy machine it reached the lock after the hold had ended, and never waited). Released
    # after LOCK_HELD_S at the latest, so a step that never waits fails instead of hanging.
    released = threading.Event()
    releasing = threading.Lock()

    def release() -> None:
        # Once, from whichever comes first: apt-get's message, the watchdog or the end.
        with releasing:
            if not released.is_set():
                released.set()
                os.close(lock)

    watchdog = threading.Timer(LOCK_HELD_S, release)
    watchdog.start()
    waited_for_lock = False
    try:
        with subprocess.Popen(
            ["bash", "scripts/apt-install.sh", str(probe_deb)],
            cwd=REPOSITORY,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        ) as install:
            assert install.stdout is not None
            output = []
            for line in install.stdout:
                output.append(line)
                if "Waiting for cache lock" in line and not released.is_set():
                    waited_for_lock = True
                    release()
            returncode = install.wait(timeout=LOCK_HELD_S + 120)
    finally:
        watchdog.cancel()
        release()
    text = "".join(output)
    assert returncode == 0, text[-2000:]
    # It waited for the lock while it was held instead of failing, and installed once free.
    assert waited_for_lock, text[-2000:]
    assert text.splitlines()[-1] == f"installed {probe_deb}"
    status = subprocess.run(
        ["dpkg-query", "-W", "-f=${Status}", PROBE_PACKAGE],
        capture_output=True,
        text=True,
        check=False,
    )
    assert status.stdout == "install ok installed"
