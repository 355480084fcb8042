"""Janus (Debian package) as a fan-out benchmark peer, with the same contract as
benches/rtpload_peer.py: it starts Janus (loopback only, the config next to this file), sets
up a VideoRoom fan-out, prints a ready line as JSON (``cpuPid`` is Janus: CPU is the whole
Janus process's) and stops Janus on SIGTERM/SIGINT or after ``--max-seconds``. Standard
library only. Only the fan-out scenario is set up.

Plain (the default): one remote publisher (plain RTP in on one UDP port) and N RTP forwarders
to 127.0.0.1:<recv-base + i>. A remote publisher's streams are told apart by SSRC
(1000 + 10 x mindex), so the load tool sends SSRC 1000. RTP forwarding is Janus's light path
(no per-subscriber RTCP, NACK or header-extension rewriting), so it does less work per packet
than a mediasoup consumer.

WebRTC (``--webrtc --client-fingerprint sha-256:AB:..``): a VideoRoom publisher and N
subscribers, each a PeerConnection of its own with the load tool (rust/loadgen webrtc.rs) as
the browser. This script writes the publisher's offer and the subscribers' answers for it:
its ICE ufrag and password (the load tool's --webrtc-ufrag and --webrtc-ice-pwd), the load
tool's certificate fingerprint, ``a=setup:active`` (Janus is the DTLS server), BUNDLE and
rtcp-mux, VP8 (or opus with ``--kind audio``) with one SSRC. Janus is ICE-lite with host
candidates on 127.0.0.1 only; since Janus never gathers on a loopback interface, it runs with
loopback_candidates.c preloaded (compiled here with cc). Janus takes subscribers only to a
publisher whose PeerConnection is up, so the ready line lists the publisher's transport alone
(``webrtcConsumersLater``); once the load tool has connected it, this script makes the
subscribers and prints a second line, ``{"webrtcConsumers": [...], "cpuPid": ...}``, in
receive-port order.

    python benches/peers/janus_peer.py --consumers 10 --recv-base 41000 --max-seconds 60
"""

from __future__ import annotations

import argparse
import json
import os
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
LOOPBACK_CANDIDATES = CONFIG / "loopback_candidates.c"
ROOM = 4242
PUBLISHER = 5000
# Janus demultiplexes a remote publisher's stream at mindex 0 by this SSRC; the WebRTC
# publisher announces the same one.
PUBLISHER_SSRC = 1000
PAYLOAD_TYPE = {"video": 96, "audio": 111}
RTPMAP = {"video": "VP8/90000", "audio": "opus/48000/2"}
STARTUP_SECONDS = 15
# The load tool connects the publisher's transport within its own bound (60 s).
PUBLISHER_UP_SECONDS = 90
# Making 500 subscribers takes a few seconds; the driver waits 120 s for them.
SUBSCRIBERS_SECONDS = 100
# How long one long poll for events may wait (Janus answers after 30 s without events).
EVENT_POLL_SECONDS = 40
# Far above any benchmark run; a stray peer still ends.
LONGEST_RUN_SECONDS = 3600
# These are Janus's own template files, not copied into its configuration directory.
NOT_CONFIG = {LOOPBACK_CANDIDATES.name}


class JanusApi:
    """Janus's HTTP API: requests, and the session's events by long poll."""

    def __init__(self, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}/janus"
        self.pending: list[dict[str, Any]] = []

    def call(self, path: str, body: dict[str, Any], transaction: str | None = None) -> Any:
        payload = {**body, "transaction": transaction or secrets.token_hex(8)}
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
        """A VideoRoom request Janus answers at once."""
        answer = self.call(f"/{session}/{handle}", {"janus": "message", "body": request})
        data: dict[str, Any] = answer["plugindata"]["data"]
        if "error" in data:
            raise RuntimeError(f"{request} -> {data}")
        return data

    def post(
        self, session: int, handle: int, request: dict[str, Any], jsep: dict[str, Any] | None
    ) -> str:
        """Sends a VideoRoom request Janus answers with an event; returns its transaction."""
        transaction = secrets.token_hex(8)
        body: dict[str, Any] = {"janus": "message", "body": request}
        if jsep is not None:
            body["jsep"] = jsep
        self.call(f"/{session}/{handle}", body, transaction)
        return transaction

    def event(self, session: int, deadline: float, wanted: Any) -> dict[str, Any]:
        """The session's first event for which ``wanted(event)`` is true; the others wait
        for a later call."""
        while True:
            for index, event in enumerate(self.pending):
                if wanted(event):
                    return self.pending.pop(index)
            if time.monotonic() > deadline:
                raise RuntimeError("janus did not send the event in time")
            with urllib.request.urlopen(
                f"{self.url}/{session}?maxev=100", timeout=EVENT_POLL_SECONDS
            ) as response:
                events = json.loads(response.read())
            for event in events if isinstance(events, list) else [events]:
                if event.get("janus") != "keepalive":
                    self.pending.append(event)

    def answer(self, session: int, transaction: str, deadline: float) -> dict[str, Any]:
        """The event answering ``transaction``: the plugin's data and its SDP, if any."""
        event = self.event(session, deadline, lambda e: e.get("transaction") == transaction)
        data = event.get("plugindata", {}).get("data", {})
        if "error" in data or event.get("janus") == "error":
            raise RuntimeError(f"janus refused: {event}")
        return event


def start_janus(work: Path, http_port: int, webrtc: bool) -> subprocess.Popen[bytes]:
    config = work / "config"
    shutil.copytree(CONFIG, config, ignore=lambda _, names: [n for n in names if n in NOT_CONFIG])
    http = config / "janus.transport.http.jcfg"
    http.write_text(http.read_text().replace("HTTP_PORT", str(http_port)))
    environment = dict(os.environ)
    if webrtc:
        library = work / "loopback_candidates.so"
        subprocess.run(
            ["cc", "-shared", "-fPIC", "-O2", "-o", str(library), str(LOOPBACK_CANDIDATES)],
            check=True,
            timeout=60,
        )
        environment["LD_PRELOAD"] = str(library)
    log = (work / "janus.log").open("wb")
    return subprocess.Popen(
        ["janus", "-F", str(config), "-C", str(config / "janus.jcfg")],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env=environment,
    )


def create_room(api: JanusApi) -> tuple[int, int]:
    """A session, a VideoRoom handle and the room; returns the session and the handle."""
    session: int = api.call("", {"janus": "create"})["data"]["id"]
    handle = attach(api, session)
    request = {
        "request": "create",
        "room": ROOM,
        "videocodec": "vp8",
        "audiocodec": "opus",
        "notify_joining": False,
    }
    api.videoroom(session, handle, request)
    return session, handle


def attach(api: JanusApi, session: int) -> int:
    attached = api.call(f"/{session}", {"janus": "attach", "plugin": "janus.plugin.videoroom"})
    handle: int = attached["data"]["id"]
    return handle


def set_up_fanout(api: JanusApi, consumers: int, recv_base: int, kind: str) -> int:
    """Creates the room, the remote publisher and the forwarders; returns the publisher's
    port."""
    session, handle = create_room(api)
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


class Client:
    """The load tool's side of every PeerConnection, as the SDP says it: one ICE ufrag and
    password (given to the load tool: its checks carry the ufrag, and it answers the checks
    Janus's libnice sends back with the password) and the load tool's certificate."""

    def __init__(self, fingerprint: str) -> None:
        algorithm, _, value = fingerprint.partition(":")
        if not value:
            raise ValueError("--client-fingerprint is ALGORITHM:HEX")
        self.fingerprint = f"{algorithm} {value}"
        self.username_fragment = secrets.token_hex(4)
        self.password = secrets.token_hex(12)

    def transport_lines(self) -> list[str]:
        """A media section's ICE and DTLS lines: Janus is the DTLS server."""
        return [
            f"a=ice-ufrag:{self.username_fragment}",
            f"a=ice-pwd:{self.password}",
            "a=ice-options:trickle",
            f"a=fingerprint:{self.fingerprint}",
            "a=setup:active",
            "a=rtcp-mux",
        ]

    def publisher_offer(self, kind: str) -> str:
        payload_type = PAYLOAD_TYPE[kind]
        lines = session_lines("0")
        lines += [f"m={kind} 9 UDP/TLS/RTP/SAVPF {payload_type}", "c=IN IP4 0.0.0.0"]
        lines += self.transport_lines()
        lines += ["a=mid:0", "a=sendonly", f"a=rtpmap:{payload_type} {RTPMAP[kind]}"]
        lines += [f"a=ssrc:{PUBLISHER_SSRC} cname:loadgen"]
        return "\r\n".join(lines) + "\r\n"

    def subscriber_answer(self, offer: str) -> str:
        """Takes Janus's one media section's first codec, receive-only."""
        [media] = [line for line in offer.splitlines() if line.startswith("m=")]
        kind, _, _, payload_type, *_ = media[2:].split()
        mid = attribute(offer, "mid")
        rtpmap = next(
            line.split(" ", 1)[1]
            for line in offer.splitlines()
            if line.startswith(f"a=rtpmap:{payload_type} ")
        )
        lines = session_lines(mid)
        lines += [f"m={kind} 9 UDP/TLS/RTP/SAVPF {payload_type}", "c=IN IP4 0.0.0.0"]
        lines += self.transport_lines()
        lines += [f"a=mid:{mid}", "a=recvonly", f"a=rtpmap:{payload_type} {rtpmap}"]
        return "\r\n".join(lines) + "\r\n"


def session_lines(mid: str) -> list[str]:
    return [
        "v=0",
        f"o=- {secrets.randbelow(2**62)} 2 IN IP4 127.0.0.1",
        "s=-",
        "t=0 0",
        f"a=group:BUNDLE {mid}",
    ]


def attribute(sdp: str, name: str) -> str:
    """The value of the first ``a=name:value`` line."""
    prefix = f"a={name}:"
    for line in sdp.splitlines():
        if line.startswith(prefix):
            return line[len(prefix) :].strip()
    raise RuntimeError(f"janus's SDP has no a={name}")


def janus_transport(sdp: str) -> dict[str, Any]:
    """The transport Janus's SDP describes, as the load tool's peers file wants it: its one
    host candidate on 127.0.0.1 (any other address is refused), ICE credentials and
    certificate fingerprint."""
    candidates = [
        line.split()
        for line in sdp.splitlines()
        if line.startswith("a=candidate:") and line.split()[2].lower() == "udp"
    ]
    addresses = {(fields[4], int(fields[5])) for fields in candidates}
    if len(addresses) != 1 or next(iter(addresses))[0] != "127.0.0.1":
        raise RuntimeError(f"janus offered candidates {sorted(addresses)}, not one on 127.0.0.1")
    [(_, port)] = addresses
    algorithm, value = attribute(sdp, "fingerprint").split()
    return {
        "port": port,
        "usernameFragment": attribute(sdp, "ice-ufrag"),
        "password": attribute(sdp, "ice-pwd"),
        "fingerprint": {"algorithm": algorithm.lower(), "value": value},
    }


def set_up_webrtc_publisher(
    api: JanusApi, client: Client, kind: str
) -> tuple[int, int, dict[str, Any]]:
    """The room and its publisher; returns the session, the publisher's handle and its
    transport."""
    session, handle = create_room(api)
    deadline = time.monotonic() + STARTUP_SECONDS
    join = {"request": "joinandconfigure", "room": ROOM, "ptype": "publisher", "id": PUBLISHER}
    offer = {"type": "offer", "sdp": client.publisher_offer(kind), "trickle": True}
    answer = api.answer(session, api.post(session, handle, join, offer), deadline)
    # The load tool's candidates are the addresses its checks come from (peer reflexive).
    api.call(f"/{session}/{handle}", {"janus": "trickle", "candidate": {"completed": True}})
    return session, handle, janus_transport(answer["jsep"]["sdp"])


def set_up_webrtc_subscribers(
    api: JanusApi, client: Client, session: int, count: int
) -> list[dict[str, Any]]:
    """``count`` subscribers to the publisher, each its own PeerConnection; returns their
    transports in order. Requests go out in batches and their events are collected after."""
    deadline = time.monotonic() + SUBSCRIBERS_SECONDS
    handles = [attach(api, session) for _ in range(count)]
    join: dict[str, Any] = {"request": "join", "room": ROOM, "ptype": "subscriber"}
    join["streams"] = [{"feed": PUBLISHER}]
    joins = [api.post(session, handle, join, None) for handle in handles]
    offers = [api.answer(session, transaction, deadline)["jsep"]["sdp"] for transaction in joins]
    starts = [
        api.post(
            session,
            handle,
            {"request": "start", "room": ROOM},
            {"type": "answer", "sdp": client.subscriber_answer(offer), "trickle": True},
        )
        for handle, offer in zip(handles, offers, strict=True)
    ]
    for transaction in starts:
        api.answer(session, transaction, deadline)
    for handle in handles:
        api.call(f"/{session}/{handle}", {"janus": "trickle", "candidate": {"completed": True}})
    return [janus_transport(offer) for offer in offers]


def run_webrtc(api: JanusApi, arguments: argparse.Namespace, janus_pid: int) -> None:
    """Sets up the WebRTC fan-out, printing the two ready lines."""
    client = Client(arguments.client_fingerprint)
    session, publisher, transport = set_up_webrtc_publisher(api, client, arguments.kind)
    ready = {
        "ready": True,
        "producerPort": transport["port"],
        "ssrc": PUBLISHER_SSRC,
        "payloadType": PAYLOAD_TYPE[arguments.kind],
        "cpuPid": janus_pid,
        "webrtcTransports": {"producers": [transport], "consumers": []},
        "webrtcConsumersLater": True,
        "webrtcClientIce": {
            "usernameFragment": client.username_fragment,
            "password": client.password,
        },
    }
    print(json.dumps(ready), flush=True)
    deadline = time.monotonic() + PUBLISHER_UP_SECONDS
    api.event(
        session,
        deadline,
        lambda event: event.get("janus") == "webrtcup" and event.get("sender") == publisher,
    )
    consumers = set_up_webrtc_subscribers(api, client, session, arguments.consumers)
    print(json.dumps({"webrtcConsumers": consumers, "cpuPid": janus_pid}), flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scenario", choices=["fanout"], default="fanout")
    parser.add_argument("--consumers", type=int, default=4)
    parser.add_argument("--kind", choices=["video", "audio"], default="video")
    parser.add_argument("--recv-base", type=int, default=40000)
    parser.add_argument("--max-seconds", type=float, default=300)
    parser.add_argument("--http-port", type=int, default=8088)
    parser.add_argument("--webrtc", action="store_true", help="PeerConnections, not plain RTP")
    parser.add_argument("--client-fingerprint", help="the load tool's, ALGORITHM:HEX")
    arguments = parser.parse_args()
    if arguments.webrtc and not arguments.client_fingerprint:
        parser.error("--webrtc needs --client-fingerprint")
    stop = threading.Event()

    def on_signal(*_: Any) -> None:
        # Setting up (a long poll may wait) ends at once, so that Janus is stopped with it.
        if not stop.is_set() and not ready.is_set():
            raise SystemExit(1)
        stop.set()

    ready = threading.Event()
    for signal_number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signal_number, on_signal)
    with tempfile.TemporaryDirectory(prefix="janus-peer-") as work:
        janus = start_janus(Path(work), arguments.http_port, arguments.webrtc)
        try:
            api = JanusApi(arguments.http_port)
            api.wait_until_up(janus)
            if arguments.webrtc:
                run_webrtc(api, arguments, janus.pid)
            else:
                port = set_up_fanout(api, arguments.consumers, arguments.recv_base, arguments.kind)
                ready_line = {
                    "ready": True,
                    "producerPort": port,
                    "ssrc": PUBLISHER_SSRC,
                    "payloadType": PAYLOAD_TYPE[arguments.kind],
                    "cpuPid": janus.pid,
                }
                print(json.dumps(ready_line), flush=True)
            ready.set()
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
