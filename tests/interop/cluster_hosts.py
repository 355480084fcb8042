"""A cluster on hosts for the tests: a Redis on a host of its own and demo nodes
(tests/interop/cluster_node.py) on others, each a real process in its namespace
(tests/interop/hosts.py), and the demo's bot (pymediasoup) as participants on the nodes'
hosts, recording what they receive."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tests.interop.hosts import Host, HostNetwork
from tests.redis_server import RedisServer

REPOSITORY = Path(__file__).resolve().parents[2]
SECRET = "cluster-test-secret"


class ClusterOnHosts:
    """The network, the Redis and the nodes; everything stops on close."""

    def __init__(self, logs: Path) -> None:
        self.network = HostNetwork()
        self.logs = logs
        self.redis_host = self.network.add("redis")
        self.redis = RedisServer(6379, bind=self.redis_host.address, prefix=self.redis_host.prefix)
        self.redis.start()
        self.nodes: dict[str, tuple[Host, subprocess.Popen[str]]] = {}
        self._children: list[subprocess.Popen[Any]] = []

    def _env(self, secret: str) -> dict[str, str]:
        return {
            **os.environ,
            "PYTHONPATH": str(REPOSITORY),
            "MEDIASOUP_PY_CLUSTER_SECRET": secret,
        }

    def start_node(self, name: str, secret: str = SECRET, workers: int = 1) -> Host:
        host = self.network.add(name)
        process = host.popen(
            [
                sys.executable,
                "-m",
                "tests.interop.cluster_node",
                "--host",
                host.address,
                "--redis",
                self.redis.url,
                "--node-id",
                name,
                "--workers",
                str(workers),
            ],
            cwd=REPOSITORY,
            env=self._env(secret),
            stdout=subprocess.PIPE,
            stderr=(self.logs / f"node-{name}.log").open("w"),
            text=True,
        )
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        assert line == "ready", f"node {name} did not start: {line!r}"
        self.nodes[name] = (host, process)
        return host

    def kill_node(self, name: str) -> None:
        """Kills the node's process (SIGKILL: no goodbye to the cluster)."""
        _, process = self.nodes.pop(name)
        process.send_signal(signal.SIGKILL)
        process.wait(10)

    def bot(
        self, node: str, name: str, seconds: float, record: Path | None = None
    ) -> subprocess.Popen[Any]:
        """The demo's bot on the node's host, joined to room ``r`` through that node."""
        host, _ = self.nodes[node]
        command = [
            sys.executable,
            "-m",
            "mediasoup_py.demo.bot",
            "--url",
            f"http://{host.address}:8080",
            "--room",
            "r",
            "--name",
            name,
            "--seconds",
            str(seconds),
        ]
        if record is not None:
            command += ["--record", str(record)]
        process = host.popen(
            command,
            cwd=REPOSITORY,
            env=self._env(""),
            stdout=subprocess.DEVNULL,
            stderr=(self.logs / f"bot-{name}.log").open("w"),
        )
        self._children.append(process)
        return process

    def debug(self, node: str) -> dict[str, Any]:
        """The node's rooms as tests/interop/cluster_node.py reports them."""
        host, _ = self.nodes[node]
        done = host.run(
            ["curl", "-s", "--max-time", "5", f"http://{host.address}:8080/debug/rooms"],
            capture_output=True,
            text=True,
        )
        result: dict[str, Any] = json.loads(done.stdout)
        return result

    def room(self, node: str, room_id: str = "r") -> dict[str, Any]:
        """A room on the node (empty if it has none)."""
        room: dict[str, Any] = self.debug(node)["rooms"].get(room_id, {})
        return room

    def wait(self, condition: Any, what: str, timeout: float = 30) -> float:
        """Polls ``condition()`` until true; returns how long it took."""
        started = time.monotonic()
        while True:
            try:
                if condition():
                    return time.monotonic() - started
            except (KeyError, ValueError):
                pass
            if time.monotonic() - started > timeout:
                raise TimeoutError(f"timed out waiting for {what}")
            time.sleep(0.25)

    def redis_keys(self) -> list[str]:
        done = self.redis_host.run(
            ["redis-cli", "-h", self.redis_host.address, "--raw", "keys", "*"],
            capture_output=True,
            text=True,
        )
        return sorted(line for line in done.stdout.splitlines() if line)

    def close(self) -> None:
        for process in self._children:
            if process.poll() is None:
                process.kill()
                process.wait(10)
        for _, process in self.nodes.values():
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.nodes.clear()
        self.redis.stop()
        self.network.close()
