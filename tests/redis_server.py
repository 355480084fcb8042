"""A real redis-server (Debian's) for the cluster tests: started on a port of its own,
with nothing persisted, stopped and restarted at will (a restart loses every key, as a
Redis without persistence does)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Sequence

__all__ = ["RedisServer"]


class RedisServer:
    """One redis-server process, optionally run through a command prefix (``ip netns exec
    NAME`` to put it in a namespace)."""

    def __init__(self, port: int, bind: str = "127.0.0.1", prefix: Sequence[str] = ()) -> None:
        executable = shutil.which("redis-server")
        assert executable is not None, "redis-server is missing: bash .ci/setup.sh installs it"
        self.port = port
        self.bind = bind
        self._command = [
            *prefix,
            executable,
            "--port",
            str(port),
            "--bind",
            bind,
            "--save",
            "",
            "--appendonly",
            "no",
            "--protected-mode",
            "no",
            "--loglevel",
            "warning",
        ]
        self._process: subprocess.Popen[bytes] | None = None
        self._prefix = list(prefix)

    @property
    def url(self) -> str:
        return f"redis://{self.bind}:{self.port}/0"

    def start(self, timeout: float = 10) -> None:
        assert self._process is None
        self._process = subprocess.Popen(
            self._command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self._process.poll() is None, self._process.stderr.read().decode()  # type: ignore[union-attr]
            if self._answers():
                return
            time.sleep(0.05)
        raise TimeoutError(f"redis-server did not answer on {self.bind}:{self.port}")

    def _answers(self) -> bool:
        probe = [*self._prefix, "redis-cli", "-h", self.bind, "-p", str(self.port), "ping"]
        if not self._prefix:
            try:
                with socket.create_connection((self.bind, self.port), timeout=0.5) as sock:
                    sock.sendall(b"PING\r\n")
                    return sock.recv(16).startswith(b"+PONG")
            except OSError:
                return False
        done = subprocess.run(probe, capture_output=True, text=True, check=False)
        return done.stdout.strip() == "PONG"

    def stop(self) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None

    def restart(self) -> None:
        """Stops and starts it again: every key is lost, every client disconnected."""
        self.stop()
        self.start()
