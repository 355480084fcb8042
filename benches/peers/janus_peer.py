"""Janus (Debian package) as a plain-RTP fan-out benchmark peer, with the same contract as
benches/rtpload_peer.py: it starts Janus (loopback only, the config next to this file),
creates a VideoRoom with one remote publisher (plain RTP in on one UDP port) and N RTP
forwarders to 127.0.0.1:<recv-base + i>, prints one ready line as JSON (``cpuPid`` is Janus)
and stops Janus on SIGTERM/SIGINT or after ``--max-seconds``.

A remote publisher's streams are told apart by SSRC (1000 + 10 x mindex), so the load tool
sends SSRC 1000. RTP forwarding is Janus's light path (no per-subscriber RTCP, NACK or
header-extension rewriting), so it does less work per packet than a mediasoup consumer.
Only the fan-out scenario is set up. Standard library only.

    python benches/peers/janus_peer.py --consumers 10 --recv-base 41000 --max-seconds 60
"""

from __future__ import annotations

import argparse
import json
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

CONFIG = Path(__file__).resolve().parent / "janus"
ROOM = 4242
PUBLISHER = 5000
# Janus demultiplexes a remote publisher's stream at mindex 0 by this SSRC.
PUBLISHER_SSRC = 1000
PAYLOAD_TYPE = {"video": 96, "audio": 111}
STARTUP_SECONDS = 15
# Far above any benchmark run; a stray peer still ends.
LONGEST_RUN_SECONDS = 3600


class JanusApi:
    def __init__(self, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}/janus"

    def call(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        payload = {**body, "transaction": secrets.token_hex(8)}
        request = urllib.request.Request(
            self.url + path, json.dumps(payload).encode(), {"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            answer: dict[str, Any] = json.loads(response.read())
        if answer.get("janus") == "error":
            raise RuntimeError(f"{body} -> {answer}")
        return answer

    def wait_until_up(self, janus: subprocess.Popen[bytes]) -> None:
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if janus.poll() is not None:
                raise RuntimeError(f"janus exited with {janus.returncode}")
            try:
                urllib.request.urlopen(self.url + "/info", timeout=1).close()
                return
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.2)
        raise RuntimeError("janus did not answer in time")

    def videoroom(self, session: int, handle: int, request: dict[str, Any]) -> dict[str, Any]:
        answer = self.call(f"/{session}/{handle}", {"janus": "message", "body": request})
        data: dict[str, Any] = answer["plugindata"]["data"]
        if "error" in data:
            raise RuntimeError(f"{request} -> {data}")
        return data


def start_janus(work: Path, http_port: int) -> subprocess.Popen[bytes]:
    config = work / "config"
    shutil.copytree(CONFIG, config)
    http = config / "janus.transport.http.jcfg"
    http.write_text(http.read_text().replace("HTTP_PORT", str(http_port)))
    log = (work / "janus.log").open("wb")
    return subprocess.Popen(
        ["janus", "-F", str(config), "-C", str(config / "janus.jcfg")],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )


def set_up_fanout(api: JanusApi, consumers: int, recv_base: int, kind: str) -> int:
    """Creates the room, the publisher and the forwarders; returns the publisher's port."""
    session = api.call("", {"janus": "create"})["data"]["id"]
    attach = {"janus": "attach", "plugin": "janus.plugin.videoroom"}
    handle = api.call(f"/{session}", attach)["data"]["id"]
    api.videoroom(
        session,
        handle,
        {"request": "create", "room": ROOM, "videocodec": "vp8", "audiocodec": "opus"},
    )
    stream = {"type": kind, "mindex": 0, "mid": "0", "codec": "vp8" if kind == "video" else "opus"}
    publisher = api.videoroom(
        session,
        handle,
        {
            "request": "add_remote_publisher",
            "room": ROOM,
            "id": PUBLISHER,
            "iface": "127.0.0.1",
            "streams": [stream],
        },
    )
    for index in range(consumers):
        api.videoroom(
            session,
            handle,
            {
                "request": "rtp_forward",
                "room": ROOM,
                "publisher_id": PUBLISHER,
                "host": "127.0.0.1",
                "host_family": "ipv4",
                "streams": [{"mid": "0", "port": recv_base + index}],
            },
        )
    port: int = publisher["port"]
    return port


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scenario", choices=["fanout"], default="fanout")
    parser.add_argument("--consumers", type=int, default=4)
    parser.add_argument("--kind", choices=["video", "audio"], default="video")
    parser.add_argument("--recv-base", type=int, default=40000)
    parser.add_argument("--max-seconds", type=float, default=300)
    parser.add_argument("--http-port", type=int, default=8088)
    arguments = parser.parse_args()
    stop = threading.Event()
    for signal_number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signal_number, lambda *_: stop.set())
    with tempfile.TemporaryDirectory(prefix="janus-peer-") as work:
        janus = start_janus(Path(work), arguments.http_port)
        try:
            api = JanusApi(arguments.http_port)
            api.wait_until_up(janus)
            port = set_up_fanout(api, arguments.consumers, arguments.recv_base, arguments.kind)
            ready = {
                "ready": True,
                "producerPort": port,
                "ssrc": PUBLISHER_SSRC,
                "payloadType": PAYLOAD_TYPE[arguments.kind],
                "cpuPid": janus.pid,
            }
            print(json.dumps(ready), flush=True)
            stop.wait(min(arguments.max_seconds, LONGEST_RUN_SECONDS))
        finally:
            janus.terminate()
            try:
                janus.wait(timeout=10)
            except subprocess.TimeoutExpired:
                janus.kill()
                janus.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
