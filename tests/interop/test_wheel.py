"""The wheel the suite's set-up builds (``scripts/build-wheel.sh target/wheels``), as a user
gets it: one abi3 wheel for CPython >= 3.11, tagged manylinux_2_28 or older (auditwheel
agrees), needing no shared library beyond glibc's, carrying the demo's mediasoup-client
bundle; its sdist carrying the bundle and the sources; and, installed with pip into a fresh
virtual environment whose PATH has no cargo and no node, ``mediasoup-py demo`` serves the page
and two Chromium tabs call each other through it, ``import mediasoup_py`` takes under 0.3 s of
CPU and a worker is up in under 1 s."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.interop.netns import REPOSITORY, run_in_namespace
from tests.interop.wheel_demo import clean_environment

WHEELS = REPOSITORY / "target" / "wheels"
# glibc's libraries (and the compiler runtime every manylinux policy allows).
GLIBC_LIBRARIES = {
    "libc.so.6",
    "libm.so.6",
    "libpthread.so.0",
    "libdl.so.2",
    "librt.so.1",
    "ld-linux-x86-64.so.2",
    "libgcc_s.so.1",
}
DEMO_FILES = ("index.html", "app.js", "mediasoup-client.js")


def only(pattern: str) -> Path:
    found = sorted(WHEELS.glob(pattern))
    assert len(found) == 1, f"one {pattern} in {WHEELS} (the suite's set-up builds it): {found}"
    return found[0]


def test_the_wheel_is_abi3_manylinux_2_28_and_needs_only_glibc() -> None:
    wheel = only("mediasoup_py-*.whl")
    tags = re.fullmatch(r"mediasoup_py-[^-]+-cp311-abi3-(.+)\.whl", wheel.name)
    assert tags, wheel.name
    (platform_tag,) = tags.group(1).split(".")
    glibc = re.fullmatch(r"manylinux_2_(\d+)_x86_64", platform_tag)
    assert glibc, platform_tag
    assert int(glibc.group(1)) <= 28, platform_tag
    shown = subprocess.run(
        [str(Path(sys.executable).parent / "auditwheel"), "show", str(wheel)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    flat = " ".join(shown.split())
    assert f'consistent with the following platform tag: "{platform_tag}"' in flat, shown
    libraries = set(re.findall(r"(lib[\w+-]+\.so(?:\.\d+)*)", flat))
    assert libraries <= GLIBC_LIBRARIES, shown
    assert "libssl" not in flat
    assert "libcrypto" not in flat
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        metadata = next(name for name in names if name.endswith(".dist-info/METADATA"))
        requirements = [
            line.split(":", 1)[1].strip()
            for line in archive.read(metadata).decode().splitlines()
            if line.startswith("Requires-Dist:")
        ]
    for demo_file in DEMO_FILES:
        assert f"mediasoup_py/demo/static/{demo_file}" in names
    assert not any("demo/client" in name for name in names), "the npm project stays out"
    # The demo's server is a dependency; the bot's client (pymediasoup) is the [demo] extra.
    assert any(requirement.startswith("aiohttp") for requirement in requirements)
    assert any("pymediasoup" in r and "extra == 'demo'" in r for r in requirements)


def test_the_sdist_carries_the_bundle_and_the_sources() -> None:
    sdist = only("mediasoup_py-*.tar.gz")
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    for needed in (
        "pyproject.toml",
        "Cargo.lock",
        "rust/binding/Cargo.toml",
        "rust/core/src/lib.rs",
        "python/mediasoup_py/__init__.py",
        "python/mediasoup_py/demo/static/mediasoup-client.js",
    ):
        assert needed in names, needed
    assert not any("node_modules" in name for name in names)


@pytest.fixture(scope="module")
def fresh_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new virtual environment with the wheel and its [demo] extra, installed by pip as a
    user would (`pip install mediasoup_py-*.whl[demo]`), their dependencies from the
    set-up's download of them (the namespaces the tests run in have no network)."""
    wheel = only("mediasoup_py-*.whl")
    venv = tmp_path_factory.mktemp("fresh") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    environment = clean_environment(venv)
    for tool in ("cargo", "rustc", "node", "npm"):
        assert shutil.which(tool, path=environment["PATH"]) is None, tool
    subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "-q",
            "--no-index",
            "--find-links",
            str(WHEELS / "deps"),
            f"{wheel}[demo]",
        ],
        env=environment,
        check=True,
        timeout=300,
    )
    return venv


def test_a_fresh_venv_without_rust_or_node_runs_the_demo_from_the_wheel(
    loopback_namespace: str, fresh_venv: Path
) -> None:
    result: dict[str, Any] = run_in_namespace(
        loopback_namespace, "tests.interop.wheel_demo", str(fresh_venv), timeout=120
    )
    for viewer, other in (("alice", "bob"), ("bob", "alice")):
        remote = result["seen"][viewer]
        assert remote["name"] == other, result["demoLog"]
        assert remote["framesDecoded"] >= 30, remote
        assert remote["spread"] > 5, "the picture is not blank"
        assert remote["audioSamplesDecoded"] > 0, "and the other is heard"
    assert "open http://127.0.0.1:8080/" in result["demoLog"]
    returncode, usage = result["botHelp"]
    assert returncode == 0, usage
    assert "--room" in usage
    assert result["importCpuSeconds"] < 0.3, result["importCpuSeconds"]
    assert result["workerStartSeconds"] < 1.0, result["workerStartSeconds"]


def runtime_stage() -> tuple[list[str], list[str]]:
    """The Dockerfile's last stage: its RUN commands and its ENTRYPOINT + CMD."""
    stages = (REPOSITORY / "Dockerfile").read_text().split("\nFROM ")
    runs, command = [], []
    for line in stages[-1].replace("\\\n", " ").splitlines():
        instruction, _, rest = line.partition(" ")
        if instruction == "RUN":
            runs.append(rest)
        elif instruction in ("ENTRYPOINT", "CMD"):
            command += json.loads(rest)
    return runs, command


def test_the_container_runtime_stage_runs_in_a_fresh_venv(
    loopback_namespace: str, fresh_venv: Path
) -> None:
    """No container engine runs here (and no image registry is reachable), so the runtime
    stage's commands run in the fresh venv instead: its install is the pip install of the wheel
    the fixture did, and the demo starts with the image's command line, then with
    compose.yaml's, and serves the page."""
    runs, command = runtime_stage()
    assert runs == [
        "pip install --no-cache-dir /tmp/wheels/mediasoup_py-*.whl && rm -rf /tmp/wheels"
    ]
    assert command[:2] == ["mediasoup-py", "demo"]
    image = run_in_namespace(
        loopback_namespace,
        "tests.interop.wheel_demo",
        str(fresh_venv),
        "--container",
        *command[2:],
    )
    # The image's default listens on every address with no announced one, and without join
    # tokens: it says both.
    assert "rtc_announced_ipv4 is not set" in image["demoLog"], image["demoLog"]
    assert "serving OPEN" in image["demoLog"], image["demoLog"]
    compose = yaml.safe_load((REPOSITORY / "compose.yaml").read_text())
    service = compose["services"]["demo"]
    # compose's join-token secret, as the secret file it mounts at /run/secrets/.
    assert service["secrets"] == ["join_token_secret"]
    assert compose["secrets"]["join_token_secret"]["file"] == "./join-token-secret"
    secret = fresh_venv.parent / "join-token-secret"
    secret.write_text(base64.b64encode(os.urandom(32)).decode())
    arguments = [
        argument.replace(
            "${ANNOUNCED_IP:?set ANNOUNCED_IP to the address clients reach this host at}",
            "203.0.113.7",
        ).replace("/run/secrets/join_token_secret", str(secret))
        for argument in service["command"]
    ]
    composed = run_in_namespace(
        loopback_namespace,
        "tests.interop.wheel_demo",
        str(fresh_venv),
        "--container",
        *arguments,
    )
    assert "open http://0.0.0.0:8080/" in composed["demoLog"], composed["demoLog"]
    assert "not set" not in composed["demoLog"]
    assert "serving OPEN" not in composed["demoLog"], composed["demoLog"]
    # The ports compose publishes are the ones the demo listens on.
    assert "8080:8080/tcp" in service["ports"]
    low = next(a for a in arguments if a.startswith("--rtc-min-port=")).split("=")[1]
    high = next(a for a in arguments if a.startswith("--rtc-max-port=")).split("=")[1]
    assert f"{low}-{high}:{low}-{high}/udp" in service["ports"]
    one_port = next(a for a in arguments if a.startswith("--rtc-port=")).split("=")[1]
    assert f"{one_port}:{one_port}/udp" in service["ports"]
    assert f"{one_port}:{one_port}/tcp" in service["ports"]
