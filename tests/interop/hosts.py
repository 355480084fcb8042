"""Hosts for cluster tests: network namespaces with addresses of their own, linked by veth
pairs to one bridge (in a namespace of its own), as machines on one switch. Addresses are
from 198.18.0.0/15 (RFC 2544, set aside for benchmarking networks), which nothing else on
the machine uses; nothing routes out of the namespaces.

    with HostNetwork() as network:
        redis_host = network.add("redis")
        node = redis_host.popen(["redis-server", "--bind", redis_host.address])
"""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any

__all__ = ["Host", "HostNetwork"]

SUBNET = "198.18.0"


def _ip(*arguments: str) -> None:
    done = subprocess.run(["ip", *arguments], capture_output=True, text=True, check=False)
    assert done.returncode == 0, (
        f"ip {' '.join(arguments)}: {done.stderr.strip()} (the cluster tests need root, as CI has)"
    )


@dataclass(frozen=True)
class Host:
    """One namespace and its address on the bridge."""

    name: str
    namespace: str
    address: str

    @property
    def prefix(self) -> list[str]:
        """The command prefix that runs a command on this host."""
        return ["ip", "netns", "exec", self.namespace]

    def popen(self, command: Sequence[str], **options: Any) -> subprocess.Popen[Any]:
        return subprocess.Popen([*self.prefix, *command], **options)

    def run(self, command: Sequence[str], **options: Any) -> subprocess.CompletedProcess[Any]:
        return subprocess.run([*self.prefix, *command], check=False, **options)


class HostNetwork:
    """A bridge and the hosts on it; everything is deleted on close."""

    def __init__(self) -> None:
        self._tag = uuid.uuid4().hex[:6]
        self._switch = f"msw-{self._tag}"
        self._hosts: list[Host] = []
        _ip("netns", "add", self._switch)
        _ip("-n", self._switch, "link", "set", "lo", "up")
        _ip("-n", self._switch, "link", "add", "br0", "type", "bridge")
        _ip("-n", self._switch, "link", "set", "br0", "up")

    def add(self, name: str) -> Host:
        """A new host at the next address (198.18.0.1, .2, ...)."""
        index = len(self._hosts) + 1
        namespace = f"msh-{self._tag}-{name}"
        port = f"p{index}"
        address = f"{SUBNET}.{index}"
        _ip("netns", "add", namespace)
        _ip("-n", namespace, "link", "set", "lo", "up")
        _ip(
            "-n",
            self._switch,
            "link",
            "add",
            port,
            "type",
            "veth",
            "peer",
            "eth0",
            "netns",
            namespace,
        )
        _ip("-n", self._switch, "link", "set", port, "master", "br0", "up")
        _ip("-n", namespace, "addr", "add", f"{address}/24", "dev", "eth0")
        _ip("-n", namespace, "link", "set", "eth0", "up")
        host = Host(name, namespace, address)
        self._hosts.append(host)
        return host

    def close(self) -> None:
        for host in self._hosts:
            subprocess.run(["ip", "netns", "del", host.namespace], check=False)
        subprocess.run(["ip", "netns", "del", self._switch], check=False)
        self._hosts.clear()

    def __enter__(self) -> HostNetwork:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
