"""Side-by-side forwarding benchmark: mediasoup_py against mediasoup's C++ worker (and Janus)
on this machine, in one run, under the same load from the project's load tool
(rust/loadgen, ``mediasoup-loadgen``).

Each point (a scenario at one size and offered load, in one transport mode) runs against
every implementation in turn, A B A B, on 127.0.0.1. Modes (``--mode plain,webrtc``):

- plain: PlainTransports, RTP in the clear (the default);
- webrtc: WebRtcTransports (Janus: a VideoRoom publisher and subscribers, each a
  PeerConnection): the load tool connects to each one as a browser would (ICE, a DTLS client
  handshake with a certificate made for the run, SRTP AEAD_AES_128_GCM both ways) before
  media starts, and counts SRTP that fails to authenticate apart. Janus makes its subscribers
  only once the publisher is connected: its peer says so in its ready line
  (``webrtcConsumersLater``) and prints them on a second line, which goes to the load tool's
  standard input (``--webrtc-receivers stdin``).

A run starts the implementation's peer script
(benches/rtpload_peer.py, benches/peers/mediasoup_peer.mjs, benches/peers/janus_peer.py),
waits for its ready line, runs the load tool against it for ``--seconds`` (the first second
is warm-up, not measured) and stops it. Scenarios:

- fanout N x R: one VP8 producer offered R packets/s, N consumers;
- conference P x R: P participants, each producing VP8 at R packets/s and opus at 50/s, and
  consuming every other participant (Janus is not set up for it);
- audio-room P: P participants producing opus only, each consuming every other.

Writes benches/results/<date>.json, <date>.md (tables, ratios ours/mediasoup per point) and
PNG plots (forwarded packets/s against offered load, CPU per forwarded packet, latency
percentiles), and prints the tables. ``--peers mediasoup,janus`` sets the peers up first
(benches/setup_peers.sh, cached); without peers mediasoup_py is measured alone. The peer
``bare`` (plain fan-out only) is the load tool's ``mediasoup-bare-forwarder``: recvmmsg in,
SSRC and sequence rewritten, our egress out (one socket per consumer, connected to it, that
nothing polls; io_uring or sendmmsg, UDP GSO) and nothing else, the floor
of fan-out on this machine that mediasoup_py's figures can be held against.

    .venv/bin/python -m benches.run --peers mediasoup
    .venv/bin/python -m benches.run --peers mediasoup --mode webrtc
    .venv/bin/python -m benches.run --quick            # a few seconds, mediasoup_py alone

MEDIASOUP_WORKER_BIN and MS_APP_DIR, when both set, point at an already built mediasoup
instead of the one setup_peers.sh builds.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import selectors
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from benches.io_bench import LOADGEN, REPOSITORY, build_loadgen

OURS = "mediasoup_py"
PEERS = ("mediasoup", "janus", "bare")
# Built with the load tool (benches/setup_peers.sh has nothing to do for it).
BARE_FORWARDER = LOADGEN.parent / "mediasoup-bare-forwarder"
# The machine's loopback UDP datagrams per core-second, with the worker's system calls.
UDP_CEILING = LOADGEN.parent / "mediasoup-udp-ceiling"
CEILING_SECONDS = 1.0
MODES = ("plain", "webrtc")
RECV_BASE = 41000
AUDIO_PPS = 50
WARMUP_SECONDS = 1.0
LONGEST_RUN_SECONDS = 600
# Setting up 500 consumers, or a 40-participant room, takes a while on a busy machine.
READY_TIMEOUT_SECONDS = 120
# The load tool's own bound on connecting every WebRTC transport (rust/loadgen webrtc.rs).
WEBRTC_CONNECT_TIMEOUT_SECONDS = 60
# A pause between runs, so one run's leftovers (sockets closing, the peer exiting) do not
# land in the next, and the machine's other users get a breath.
PAUSE_SECONDS = 1.0
RESULTS = REPOSITORY / "benches" / "results"
SETUP_PEERS = REPOSITORY / "benches" / "setup_peers.sh"


@dataclass(frozen=True)
class Point:
    scenario: str  # "fanout", "conference" or "audio-room"
    size: int  # consumers (fanout) or participants
    pps: int  # per producer (video for fanout and conference; opus is 50/s)
    mode: str = "plain"  # "plain" or "webrtc"
    # The load tool's --phases: "spread" starts the streams of several senders spread over a
    # packet period, as independent senders are; "aligned" sends them all on the same beat.
    phases: str = "spread"

    @property
    def label(self) -> str:
        aligned = " aligned" if self.phases == "aligned" else ""
        if self.scenario == "audio-room":
            return f"audio-room {self.size}{aligned}"
        return f"{self.scenario} {self.size}x{self.pps}{aligned}"

    @property
    def title(self) -> str:
        """The label with the mode, for output mixing modes."""
        return f"{self.label} {self.mode}"

    @property
    def offered_forward_pps(self) -> int:
        """Packets per second the SFU is asked to forward."""
        if self.scenario == "fanout":
            return self.size * self.pps
        per_participant = AUDIO_PPS if self.scenario == "audio-room" else self.pps + AUDIO_PPS
        return self.size * (self.size - 1) * per_participant

    @property
    def copies_per_packet(self) -> int:
        return self.size if self.scenario == "fanout" else self.size - 1


FULL_POINTS = [
    Point("fanout", 10, 5000),
    Point("fanout", 10, 10000),
    Point("fanout", 10, 20000),
    Point("fanout", 50, 2000),
    Point("fanout", 50, 6000),
    Point("fanout", 200, 500),
    Point("fanout", 500, 200),
    Point("conference", 4, 500),
    Point("conference", 10, 300),
    Point("conference", 25, 100),
    Point("audio-room", 25, AUDIO_PPS),
    Point("audio-room", 40, AUDIO_PPS),
]
WEBRTC_POINTS = [
    Point("fanout", 10, 2000, "webrtc"),
    Point("fanout", 10, 5000, "webrtc"),
    Point("fanout", 10, 10000, "webrtc"),
    Point("fanout", 50, 2000, "webrtc"),
    Point("conference", 4, 500, "webrtc"),
]
QUICK_POINTS = [
    Point("fanout", 10, 1000),
    Point("conference", 4, 200),
    Point("audio-room", 6, AUDIO_PPS),
    Point("fanout", 10, 1000, "webrtc"),
]


@dataclass
class RunResult:
    implementation: str
    point: Point
    repeat: int
    setup_seconds: float
    rss_after_setup_bytes: int | None
    loadgen: dict[str, Any]
    metrics: dict[str, float | None] = field(default_factory=dict)


@dataclass
class Implementation:
    name: str
    command: list[str]
    cwd: Path
    env: dict[str, str]
    scenarios: tuple[str, ...]
    modes: tuple[str, ...] = ("plain",)


@dataclass(frozen=True)
class WebRtcClient:
    """The load tool's side of the WebRTC points: its certificate (made once per run), and
    the directory the per-run peers files go to."""

    certificate: Path
    private_key: Path
    fingerprint: dict[str, str]  # {"algorithm": "sha-256", "value": "AB:CD:..."}
    directory: Path


def json_output(
    command: list[str],
    timeout: float,
    cwd: Path | str | None = None,
    env: dict[str, str] | None = None,
) -> Any:
    """What ``command`` prints as JSON, once it exits (successfully, within ``timeout``)."""
    done = subprocess.run(
        command, cwd=cwd, env=env, check=True, capture_output=True, text=True, timeout=timeout
    )
    return json.loads(done.stdout)


def make_webrtc_client(directory: Path) -> WebRtcClient:
    """A fresh certificate from the load tool (``--make-cert``) in ``directory``."""
    line = json_output([str(LOADGEN), "--make-cert", str(directory)], timeout=30)
    return WebRtcClient(
        Path(line["certificate"]), Path(line["privateKey"]), line["fingerprint"], directory
    )


def implementations(peers: Sequence[str], mediasoup: dict[str, str] | None) -> list[Implementation]:
    found = [
        Implementation(
            OURS,
            [sys.executable, "-m", "benches.rtpload_peer"],
            REPOSITORY,
            dict(os.environ),
            ("fanout", "conference", "audio-room"),
            MODES,
        )
    ]
    if "mediasoup" in peers and mediasoup is not None:
        found.append(
            Implementation(
                "mediasoup",
                ["node", str(REPOSITORY / "benches" / "peers" / "mediasoup_peer.mjs")],
                Path(mediasoup["MS_APP_DIR"]),
                {**os.environ, "MEDIASOUP_WORKER_BIN": mediasoup["MEDIASOUP_WORKER_BIN"]},
                ("fanout", "conference", "audio-room"),
                MODES,
            )
        )
    if "janus" in peers:
        found.append(
            Implementation(
                "janus",
                [sys.executable, str(REPOSITORY / "benches" / "peers" / "janus_peer.py")],
                REPOSITORY,
                dict(os.environ),
                ("fanout",),
                MODES,
            )
        )
    if "bare" in peers:
        found.append(
            Implementation("bare", [str(BARE_FORWARDER)], REPOSITORY, dict(os.environ), ("fanout",))
        )
    return found


def set_up_peers(peers: Sequence[str], console: Console) -> dict[str, str] | None:
    """Runs setup_peers.sh for the peers asked for; returns mediasoup's paths, if asked for."""
    if not peers:
        return None
    given = {name: os.environ.get(name) for name in ("MEDIASOUP_WORKER_BIN", "MS_APP_DIR")}
    to_set_up = [
        peer
        for peer in peers
        if peer != "bare" and not (peer == "mediasoup" and all(given.values()))
    ]
    paths = {name: value for name, value in given.items() if value}
    if to_set_up:
        console.print(f"setting up {', '.join(to_set_up)} (benches/setup_peers.sh)")
        # Its output shows (a first build takes minutes); the paths come from its env file.
        subprocess.run(["bash", str(SETUP_PEERS), *to_set_up], check=True, timeout=3600)
    if "mediasoup" in to_set_up:
        cache = Path(os.environ.get("PEERS_CACHE", REPOSITORY / "benches" / ".peers"))
        for line in (cache / "peers.env").read_text().splitlines():
            name, _, value = line.partition("=")
            paths[name] = value
    return paths if "mediasoup" in peers else None


def peer_arguments(
    point: Point, run_seconds: float, client: WebRtcClient | None = None
) -> list[str]:
    arguments = ["--recv-base", str(RECV_BASE)]
    longest = READY_TIMEOUT_SECONDS + WEBRTC_CONNECT_TIMEOUT_SECONDS + run_seconds + 30
    arguments += ["--max-seconds", str(longest)]
    if point.mode == "webrtc":
        if client is None:
            raise ValueError("a WebRTC point needs the load tool's certificate")
        fingerprint = f"{client.fingerprint['algorithm']}:{client.fingerprint['value']}"
        arguments += ["--webrtc", "--client-fingerprint", fingerprint]
    if point.scenario == "fanout":
        return [*arguments, "--scenario", "fanout", "--consumers", str(point.size)]
    arguments += ["--scenario", "conference", "--participants", str(point.size)]
    return [*arguments, "--audio-only"] if point.scenario == "audio-room" else arguments


def webrtc_transport(entry: dict[str, Any]) -> dict[str, Any]:
    """One of a peer's transports (ready line) as the load tool's peers file has it."""
    return {
        "address": f"127.0.0.1:{entry['port']}",
        "usernameFragment": entry["usernameFragment"],
        "password": entry["password"],
        "fingerprint": entry["fingerprint"],
    }


def webrtc_receivers(consumers: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The consumer transports of the receive ports, in order."""
    return [
        {"port": RECV_BASE + index, **webrtc_transport(entry)}
        for index, entry in enumerate(consumers)
    ]


def write_webrtc_peers(ready: dict[str, Any], client: WebRtcClient) -> Path:
    """The load tool's ``--webrtc-peers`` file from a WebRTC peer's ready line: the producer
    transports the streams go to, and the consumer transport of each receive port."""
    transports = ready["webrtcTransports"]
    peers = {
        "senders": [webrtc_transport(entry) for entry in transports["producers"]],
        "receivers": webrtc_receivers(transports["consumers"]),
    }
    path = client.directory / "peers.json"
    path.write_text(json.dumps(peers))
    return path


def loadgen_arguments(
    point: Point, ready: dict[str, Any], seconds: float, client: WebRtcClient | None = None
) -> list[str]:
    arguments = ["--seconds", str(seconds), "--warmup", str(WARMUP_SECONDS)]
    arguments += ["--recv-base", str(RECV_BASE), "--recv-count", str(point.size)]
    arguments += ["--cpu-pid", str(ready["cpuPid"]), "--phases", point.phases]
    if point.mode == "webrtc":
        if client is None:
            raise ValueError("a WebRTC point needs the load tool's certificate")
        arguments += ["--webrtc-cert", str(client.certificate)]
        arguments += ["--webrtc-key", str(client.private_key)]
        arguments += ["--webrtc-peers", str(write_webrtc_peers(ready, client))]
        if ice := ready.get("webrtcClientIce"):
            # The peer wrote the load tool's ICE credentials in its SDP (Janus).
            arguments += ["--webrtc-ufrag", ice["usernameFragment"]]
            arguments += ["--webrtc-ice-pwd", ice["password"]]
        if ready.get("webrtcConsumersLater"):
            arguments += ["--webrtc-receivers", "stdin"]
    if point.scenario == "fanout":
        arguments += ["--targets", f"127.0.0.1:{ready['producerPort']}", "--shape", "video"]
        arguments += ["--ssrc", str(ready["ssrc"]), "--pt", str(ready["payloadType"])]
        return [*arguments, "--pps", str(point.pps)]
    targets = ",".join(f"127.0.0.1:{port}" for port in ready["producerPorts"])
    arguments += ["--audio-targets", targets, "--audio-pps", str(AUDIO_PPS)]
    arguments += ["--audio-ssrc", str(ready["audioSsrc"]), "--audio-pt"]
    arguments += [str(ready["audioPayloadType"])]
    if point.scenario == "audio-room":
        return arguments
    arguments += ["--targets", targets, "--shape", "video", "--pps", str(point.pps)]
    return [*arguments, "--ssrc", str(ready["videoSsrc"]), "--pt", str(ready["videoPayloadType"])]


def start_peer(
    implementation: Implementation,
    point: Point,
    seconds: float,
    client: WebRtcClient | None = None,
) -> subprocess.Popen[str]:
    """Starts an implementation's peer program set up for ``point``; it prints a ready line
    (``read_ready_line``)."""
    return subprocess.Popen(
        [*implementation.command, *peer_arguments(point, seconds, client)],
        cwd=implementation.cwd,
        env=implementation.env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )


def read_ready_line(
    process: subprocess.Popen[str], timeout: float, key: str = "ready"
) -> dict[str, Any]:
    """The peer's first JSON line with ``key`` set (its ready line unless told)."""
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        while (remaining := deadline - time.monotonic()) > 0:
            if not selector.select(remaining):
                break
            line = process.stdout.readline()
            if not line:
                break
            if line.startswith("{"):
                ready: dict[str, Any] = json.loads(line)
                if ready.get(key):
                    return ready
    what = "not ready" if key == "ready" else f"gave no {key}"
    raise RuntimeError(f"the peer ({' '.join(process.args)}) was {what} in {timeout:.0f} s")  # type: ignore[arg-type]


def stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def rss_bytes(pid: int) -> int | None:
    try:
        resident_pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return None
    return resident_pages * os.sysconf("SC_PAGE_SIZE")


def run_once(
    implementation: Implementation,
    point: Point,
    repeat: int,
    seconds: float,
    client: WebRtcClient | None = None,
) -> RunResult:
    started = time.monotonic()
    peer = start_peer(implementation, point, seconds, client)
    try:
        ready = read_ready_line(peer, READY_TIMEOUT_SECONDS)
        setup_seconds = time.monotonic() - started
        rss = rss_bytes(ready["cpuPid"])
        connecting = WEBRTC_CONNECT_TIMEOUT_SECONDS if point.mode == "webrtc" else 0
        command = [str(LOADGEN), *loadgen_arguments(point, ready, seconds, client)]
        if ready.get("webrtcConsumersLater"):
            late = run_load_with_late_consumers(
                command, peer, seconds + 2 * connecting + READY_TIMEOUT_SECONDS + 30
            )
            stdout, stderr, returncode = late.stdout, late.stderr, late.returncode
            # Set up means every consumer made: its time includes connecting the producer.
            setup_seconds = late.consumers_made - started
            rss = late.rss_after_setup
        else:
            load = subprocess.run(
                command, capture_output=True, text=True, timeout=seconds + connecting + 30
            )
            stdout, stderr, returncode = load.stdout, load.stderr, load.returncode
        if returncode != 0:
            raise RuntimeError(
                f"the load tool failed on {point.title} against {implementation.name}:"
                f" {stderr.strip()}"
            )
    finally:
        stop(peer)
    result = RunResult(implementation.name, point, repeat, setup_seconds, rss, json.loads(stdout))
    result.metrics = metrics(point, result.loadgen)
    return result


@dataclass(frozen=True)
class LateConsumersRun:
    """The load tool's run against a peer whose consumers came after its ready line."""

    stdout: str
    stderr: str
    returncode: int
    consumers_made: float  # time.monotonic() when the peer listed its consumers
    rss_after_setup: int | None  # the peer's RSS then


def run_load_with_late_consumers(
    command: list[str], peer: subprocess.Popen[str], timeout: float
) -> LateConsumersRun:
    """Runs the load tool against a peer that makes its consumer transports once the load
    tool has connected the producer's (Janus): their line goes to the load tool's standard
    input."""
    load = subprocess.Popen(
        command,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        late = read_ready_line(peer, READY_TIMEOUT_SECONDS, key="webrtcConsumers")
        consumers_made = time.monotonic()
        rss = rss_bytes(late["cpuPid"])
        receivers = {"receivers": webrtc_receivers(late["webrtcConsumers"])}
        stdout, stderr = load.communicate(json.dumps(receivers) + "\n", timeout=timeout)
    finally:
        if load.poll() is None:
            load.kill()
            load.wait()
    return LateConsumersRun(stdout, stderr, load.returncode, consumers_made, rss)


def metrics(point: Point, load: dict[str, Any]) -> dict[str, float | None]:
    """The figures compared, from one load-tool report."""
    expected = load["sent_measured"] * point.copies_per_packet
    received = load["received_measured"]
    cpu_seconds = load.get("cpu_seconds")
    cpu_fraction = cpu_seconds / load["window_seconds"] if cpu_seconds is not None else None
    latency = load["latency_us"]
    return {
        "offered_pps": point.offered_forward_pps,
        "forwarded_pps": load["received_pps"],
        "delivery_percent": 100 * received / expected if expected else None,
        "lost": load["lost"],
        "latency_p50_us": latency["p50"],
        "latency_p99_us": latency["p99"],
        "latency_p999_us": latency["p999"],
        "cpu_percent": load.get("cpu_percent"),
        "cpu_us_per_packet": 1e6 * cpu_seconds / received if cpu_seconds and received else None,
        "forwarded_pps_per_core": (load["received_pps"] / cpu_fraction if cpu_fraction else None),
        "rss_mb": load["rss_bytes"] / 1e6 if load.get("rss_bytes") else None,
        # WebRTC only: connecting every transport, and SRTP that failed to unprotect.
        "connect_seconds": load.get("webrtc_setup_seconds"),
        "srtp_auth_failures": load.get("srtp_auth_failures"),
        "srtp_rejected": load.get("srtp_rejected"),
    }


def median_metrics(runs: Sequence[RunResult]) -> dict[str, float | None]:
    """Each metric's median over the repeats of one point and implementation."""
    combined: dict[str, float | None] = {}
    for name in runs[0].metrics:
        values = [run.metrics[name] for run in runs if run.metrics[name] is not None]
        combined[name] = statistics.median(values) if values else None  # type: ignore[type-var]
    setup = [run.setup_seconds for run in runs]
    combined["setup_seconds"] = statistics.median(setup)
    after_setup = [run.rss_after_setup_bytes for run in runs if run.rss_after_setup_bytes]
    combined["rss_after_setup_mb"] = statistics.median(after_setup) / 1e6 if after_setup else None
    return combined


def summarize(
    results: Sequence[RunResult], points: Sequence[Point], names: Sequence[str]
) -> list[dict[str, Any]]:
    rows = []
    for point in points:
        for name in names:
            runs = [r for r in results if r.point == point and r.implementation == name]
            if runs:
                rows.append(
                    {
                        "point": point.label,
                        "mode": point.mode,
                        "scenario": point.scenario,
                        "size": point.size,
                        "implementation": name,
                        **median_metrics(runs),
                    }
                )
    return rows


RATIO_METRICS = {
    "forwarded_pps": "forwarded pps",
    "forwarded_pps_per_core": "pps per core",
    "cpu_us_per_packet": "CPU per packet",
    "latency_p99_us": "p99 latency",
}


def ratios(rows: Sequence[dict[str, Any]], peer: str) -> list[dict[str, Any]]:
    """ours / peer for each point (in each mode) both ran."""
    by_key = {(row["point"], row["mode"], row["implementation"]): row for row in rows}
    found = []
    for row in rows:
        key = (row["point"], row["mode"], peer)
        if row["implementation"] != OURS or key not in by_key:
            continue
        theirs = by_key[key]
        entry: dict[str, Any] = {"point": row["point"], "mode": row["mode"], "peer": peer}
        for name in RATIO_METRICS:
            ours_value, their_value = row[name], theirs[name]
            entry[name] = ours_value / their_value if ours_value and their_value else None
        found.append(entry)
    return found


def memory_per_consumer(rows: Sequence[dict[str, Any]], names: Sequence[str]) -> dict[str, float]:
    """RSS growth per consumer after setup, between the smallest and the largest fan-out,
    per implementation ("name") and, for WebRTC transports, per implementation and mode
    ("name webrtc")."""
    found = {}
    for name in names:
        for mode in MODES:
            fanouts: dict[int, list[float]] = {}
            for row in rows:
                mine = row["implementation"] == name and row["mode"] == mode
                if mine and row["scenario"] == "fanout" and row["rss_after_setup_mb"]:
                    fanouts.setdefault(row["size"], []).append(row["rss_after_setup_mb"])
            if len(fanouts) >= 2:
                small, large = min(fanouts), max(fanouts)
                growth = statistics.median(fanouts[large]) - statistics.median(fanouts[small])
                found[name if mode == "plain" else f"{name} {mode}"] = (
                    1e3 * growth / (large - small)
                )
    return found


def number(value: float | None, digits: int = 0) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


RESULT_COLUMNS = [
    ("point", "point", None),
    ("mode", "mode", None),
    ("implementation", "implementation", None),
    ("offered_pps", "offered fwd pps", 0),
    ("forwarded_pps", "forwarded pps", 0),
    ("delivery_percent", "delivery %", 2),
    ("latency_p50_us", "p50 µs", 0),
    ("latency_p99_us", "p99 µs", 0),
    ("latency_p999_us", "p99.9 µs", 0),
    ("cpu_percent", "CPU %", 1),
    ("cpu_us_per_packet", "CPU µs/pkt", 2),
    ("forwarded_pps_per_core", "pps per core", 0),
    ("rss_after_setup_mb", "RSS MB", 1),
    ("setup_seconds", "setup s", 2),
    ("connect_seconds", "connect s", 2),
    ("srtp_auth_failures", "SRTP auth fail", 0),
]


def cell(row: dict[str, Any], key: str, digits: int | None) -> str:
    # .get: reports written before the WebRTC mode have no mode or SRTP columns.
    value = row.get(key, "plain" if key == "mode" else None)
    return str(value) if digits is None else number(value, digits)


def markdown(
    rows: Sequence[dict[str, Any]],
    ratio_rows: Sequence[dict[str, Any]],
    memory: dict[str, float],
    context: dict[str, Any],
) -> str:
    lines = [
        f"# Forwarding benchmark, {context['date']}",
        "",
        f"{context['machine']}; {context['seconds']} s per run ({WARMUP_SECONDS:.0f} s warm-up"
        f" not measured), {context['repeats']} runs per point and implementation, alternating;"
        " medians. On 127.0.0.1, in mode plain (PlainTransports, RTP in the clear) or webrtc"
        " (WebRtcTransports: ICE, DTLS, SRTP AEAD_AES_128_GCM both ways; connect s is the load"
        " tool connecting every transport before media, SRTP auth fail the forwarded packets"
        " whose tag did not verify; Janus makes its subscribers once the load tool has"
        " connected its publisher, so its setup s includes that connection and its connect s"
        " the subscribers' making); the load tool runs on the same machine. CPU is the"
        " forwarding process's (mediasoup: its worker; mediasoup_py: the whole Python process;"
        " janus: the whole process); RSS is that process's after setup.",
        "",
    ]
    if context["peers_measured"]:
        lines += [f"Compared with: {', '.join(context['peers_measured'])}.", ""]
    else:
        lines += ["No peers measured: mediasoup_py's figures alone, no ratios.", ""]
    lines += [
        "| " + " | ".join(title for _, title, _ in RESULT_COLUMNS) + " |",
        "|" + "---|" * len(RESULT_COLUMNS),
    ]
    lines += [
        "| " + " | ".join(cell(row, key, digits) for key, _, digits in RESULT_COLUMNS) + " |"
        for row in rows
    ]
    if ratio_rows:
        lines += [
            "",
            "Ratios, mediasoup_py / peer (above 1 is better for forwarded pps and pps per core;"
            " below 1 is better for CPU per packet and latency):",
            "",
            "| point | mode | peer | " + " | ".join(RATIO_METRICS.values()) + " |",
            "|---|---|---|" + "---|" * len(RATIO_METRICS),
        ]
        lines += [
            f"| {entry['point']} | {entry.get('mode', 'plain')} | {entry['peer']} | "
            + " | ".join(number(entry[name], 2) for name in RATIO_METRICS)
            + " |"
            for entry in ratio_rows
        ]
    if memory:
        lines += ["", "RSS growth per consumer after setup (smallest to largest fan-out):", ""]
        lines += [f"- {name}: {kb:.1f} kB" for name, kb in memory.items()]
    if failures := context.get("failures"):
        lines += ["", "Runs that failed (left out of their point):", ""]
        lines += [
            f"- {one['point']} ({one['mode']}), {one['implementation']}: {one['error']}"
            for one in failures
        ]
    lines += ceiling_lines(context)
    return "\n".join(lines) + "\n"


def plot(rows: Sequence[dict[str, Any]], names: Sequence[str], stem: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    fanout = [row for row in rows if row["scenario"] == "fanout"]
    figure, axes = plt.subplots(figsize=(8, 5.5))
    # Colour by implementation, marker by fan-out size: several sizes share an offered load.
    colours = dict(zip(names, plt.rcParams["axes.prop_cycle"].by_key()["color"], strict=False))
    sizes = sorted({row["size"] for row in fanout})
    markers = dict(zip(sizes, "osD^v<>", strict=False))
    # Line style by mode: WebRTC dashed.
    for name in names:
        for mode, style in zip(MODES, ("-", "--"), strict=True):
            for size in sizes:
                series = sorted(
                    (row["offered_pps"], row["forwarded_pps"])
                    for row in fanout
                    if row["implementation"] == name
                    and row["size"] == size
                    and row.get("mode", "plain") == mode
                )
                if series:
                    axes.plot(
                        *zip(*series, strict=True),
                        marker=markers.get(size, "o"),
                        linestyle=style,
                        color=colours.get(name),
                        label=f"{name}, 1 -> {size}" + ("" if mode == "plain" else f", {mode}"),
                        alpha=0.8,
                    )
    if fanout:
        top = max(row["offered_pps"] for row in fanout)
        axes.plot([0, top], [0, top], color="grey", linewidth=0.8, label="all delivered")
    axes.set_xlabel("offered forwarding load (packets/s out)")
    axes.set_ylabel("forwarded packets/s delivered")
    axes.set_title("Fan-out: forwarded packets/s against offered load")
    axes.legend(fontsize="small", ncol=2)
    axes.grid(alpha=0.3)
    written.append(save(figure, stem.with_name(stem.name + "-throughput.png")))

    labels = list(dict.fromkeys(row_title(row) for row in rows))
    for metric, title, filename, log in [
        ("cpu_us_per_packet", "CPU µs per forwarded packet", "cpu", False),
        ("latency_p99_us", "one-way latency p99 (µs)", "latency", True),
    ]:
        figure, axes = plt.subplots(figsize=(max(7, len(labels) * 0.9), 5))
        width = 0.8 / max(len(names), 1)
        for offset, name in enumerate(names):
            by_point = {row_title(r): r[metric] for r in rows if r["implementation"] == name}
            values = [by_point.get(label) or 0 for label in labels]
            positions = [index + offset * width for index in range(len(labels))]
            axes.bar(positions, values, width, label=name)
        if metric == "latency_p99_us":
            for offset, name in enumerate(names):
                for percentile, marker in (("latency_p50_us", "_"), ("latency_p999_us", "^")):
                    by_point = {
                        row_title(r): r[percentile] for r in rows if r["implementation"] == name
                    }
                    axes.scatter(
                        [i + offset * width for i in range(len(labels))],
                        [by_point.get(label) or float("nan") for label in labels],
                        marker=marker,
                        color="black",
                        s=20,
                        zorder=3,
                    )
            axes.set_title("Latency: bars p99, dash p50, triangle p99.9")
        else:
            axes.set_title(title)
        axes.set_xticks([i + width * (len(names) - 1) / 2 for i in range(len(labels))])
        axes.set_xticklabels(labels, rotation=30, ha="right")
        axes.set_ylabel(title)
        if log:
            axes.set_yscale("log")
        axes.legend()
        axes.grid(alpha=0.3, axis="y")
        written.append(save(figure, stem.with_name(f"{stem.name}-{filename}.png")))
    return written


def row_title(row: dict[str, Any]) -> str:
    """A summary row's point, with its mode when not plain (plot labels)."""
    mode = row.get("mode", "plain")
    return row["point"] if mode == "plain" else f"{row['point']} {mode}"


def save(figure: Any, path: Path) -> Path:
    import matplotlib.pyplot as plt

    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def print_tables(
    console: Console, rows: Sequence[dict[str, Any]], ratio_rows: Sequence[dict[str, Any]]
) -> None:
    table = Table(title="Forwarding, medians")
    for _, title, _ in RESULT_COLUMNS:
        table.add_column(title, justify="left" if title in ("point", "implementation") else "right")
    for row in rows:
        table.add_row(*(cell(row, key, digits) for key, _, digits in RESULT_COLUMNS))
    console.print(table)
    if ratio_rows:
        ratio_table = Table(title="mediasoup_py / peer, same run")
        for title in ["point", "mode", "peer", *RATIO_METRICS.values()]:
            ratio_table.add_column(title)
        for entry in ratio_rows:
            values = [number(entry[name], 2) for name in RATIO_METRICS]
            mode = entry.get("mode", "plain")
            ratio_table.add_row(entry["point"], mode, entry["peer"], *values)
        console.print(ratio_table)


def parse_points(text: str) -> list[Point]:
    """ "fanout:10x5000,conference:4x500,audio-room:25" -> points (plain; ``--mode`` sets
    theirs)."""
    points = []
    for item in text.split(","):
        scenario, _, shape = item.partition(":")
        size, _, pps = shape.partition("x")
        if scenario not in ("fanout", "conference", "audio-room"):
            raise argparse.ArgumentTypeError(f"unknown scenario in {item}")
        points.append(Point(scenario, int(size), int(pps or AUDIO_PPS)))
    return points


def main(arguments: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--peers", default="", help="comma-separated: mediasoup, janus")
    parser.add_argument("--points", type=parse_points, help="e.g. fanout:10x5000,audio-room:25")
    parser.add_argument(
        "--mode",
        help="comma-separated: plain, webrtc (default plain; --quick runs one webrtc point too)",
    )
    parser.add_argument("--seconds", type=float, help="per run (default 6; 2 with --quick)")
    parser.add_argument("--repeats", type=int, help="runs per point and implementation")
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument(
        "--phases",
        choices=("spread", "aligned"),
        default="spread",
        help="several senders' packets spread over their period (default) or on one beat",
    )
    parser.add_argument("--output-dir", type=Path, default=RESULTS)
    parser.add_argument(
        "--from-json", type=Path, help="only rewrite the tables and plots of an earlier run"
    )
    options = parser.parse_args(arguments)
    # Wide enough for the tables when the output is a log file rather than a terminal.
    console = Console(width=None if sys.stdout.isatty() else 180)
    if options.from_json:
        report = json.loads(options.from_json.read_text())
        write_report(report, options.from_json.with_suffix(""), console)
        return 0
    peers = [peer for peer in options.peers.split(",") if peer]
    if unknown := set(peers) - set(PEERS):
        parser.error(f"unknown peers {', '.join(sorted(unknown))} (known: {', '.join(PEERS)})")
    modes = [mode for mode in (options.mode or "").split(",") if mode]
    if unknown := set(modes) - set(MODES):
        parser.error(f"unknown modes {', '.join(sorted(unknown))} (known: {', '.join(MODES)})")
    points = [
        replace(point, phases=options.phases)
        for point in choose_points(options.points, modes, options.quick)
    ]
    seconds = min(options.seconds or (2.0 if options.quick else 6.0), LONGEST_RUN_SECONDS)
    if seconds <= WARMUP_SECONDS:
        parser.error(f"--seconds must be above the {WARMUP_SECONDS:.0f} s warm-up")
    repeats = options.repeats or (1 if options.quick else 2)

    build_loadgen()
    mediasoup = set_up_peers(peers, console)
    chosen = implementations(peers, mediasoup)
    names = [implementation.name for implementation in chosen]
    if len(chosen) == 1:
        console.print("[bold]No peers: measuring mediasoup_py alone (no ratios).[/bold]")
    plan = [
        (point, repeat, implementation)
        for point in points
        for repeat in range(repeats)
        for implementation in chosen
        if point.scenario in implementation.scenarios and point.mode in implementation.modes
    ]
    # Before and after the points, for the machine's state on both sides of them.
    load_before = os.getloadavg()
    ceiling = [measure_ceiling()]
    with tempfile.TemporaryDirectory(prefix="benches-webrtc-") as directory:
        client = (
            make_webrtc_client(Path(directory))
            if any(point.mode == "webrtc" for point, _, _ in plan)
            else None
        )
        results, failures = run_plan(plan, seconds, client, console)
    ceiling.append(measure_ceiling())
    load_after = os.getloadavg()
    rows = summarize(results, points, names)
    date = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d")
    report = {
        "date": date,
        "machine": (
            f"{platform.node()}: {os.cpu_count()} cores ({cpu_model()}), {platform.platform()};"
            f" load average {load_before[0]:.1f} before the points, {load_after[0]:.1f} after"
        ),
        "seconds": seconds,
        "repeats": repeats,
        "peers_measured": names[1:],
        "summary": rows,
        "ratios": [entry for peer in names[1:] for entry in ratios(rows, peer)],
        "memory_per_consumer_kb": memory_per_consumer(rows, names),
        "udp_ceiling": ceiling,
        "failures": failures,
        "runs": [
            {**asdict(result), "point": result.point.label, "mode": result.point.mode}
            for result in results
        ],
    }
    options.output_dir.mkdir(parents=True, exist_ok=True)
    # A WebRTC run on the day of a plain one does not overwrite its results.
    modes_run = sorted({point.mode for point in points})
    stem = options.output_dir / (
        date if modes_run == ["plain"] else f"{date}-{'-'.join(modes_run)}"
    )
    stem.with_suffix(".json").write_text(json.dumps(report, indent=1) + "\n")
    write_report(report, stem, console)
    return 0


def choose_points(given: list[Point] | None, modes: Sequence[str], quick: bool) -> list[Point]:
    """The points to run: ``given`` (from ``--points``) in each mode, else the quick or the
    full set of the modes asked for. Without ``--mode``: plain, and --quick's WebRTC point."""
    if given:
        return [
            Point(point.scenario, point.size, point.pps, mode)
            for mode in modes or ["plain"]
            for point in given
        ]
    if quick:
        return [point for point in QUICK_POINTS if not modes or point.mode in modes]
    return [point for point in FULL_POINTS + WEBRTC_POINTS if point.mode in (modes or ["plain"])]


def cpu_model() -> str:
    """The processor's name as the kernel reports it (results depend on it)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown processor"


def measure_ceiling() -> dict[str, Any]:
    """``mediasoup-udp-ceiling``'s report: datagrams per core-second for sendmmsg, sendmmsg
    with GSO and recvmmsg on loopback."""
    measured: dict[str, Any] = json_output(
        [str(UDP_CEILING), "--seconds", str(CEILING_SECONDS)], timeout=60
    )
    return measured


def ceiling_lines(report: dict[str, Any]) -> list[str]:
    """The machine's ceiling (median of its measurements in the run) and how close each
    implementation's best plain fan-out comes to it, in forwarded packets per core-second."""
    measurements = report.get("udp_ceiling") or []
    if not measurements:
        return []
    kinds = {
        "sendmmsg": "sendmmsg",
        "sendmmsg_gso": "sendmmsg with UDP GSO",
        "recvmmsg": "recvmmsg",
    }
    lines = [
        "",
        "The machine's ceiling, measured in the same run (`mediasoup-udp-ceiling`: loopback UDP,"
        " 1200-byte datagrams, per core-second of the measuring thread; median of the"
        " measurements before and after the points):",
        "",
    ]
    medians = {
        kind: statistics.median(one[kind]["datagrams_per_cpu_second"] for one in measurements)
        for kind in kinds
    }
    lines += [f"- {title}: {number(medians[kind])} datagrams/s" for kind, title in kinds.items()]
    best: dict[str, float] = {}
    for row in report["summary"]:
        pps = row.get("forwarded_pps_per_core")
        if row["scenario"] == "fanout" and row.get("mode", "plain") == "plain" and pps:
            best[row["implementation"]] = max(best.get(row["implementation"], 0.0), pps)
    lines += [
        f"- {name}'s best plain fan-out: {number(pps)} forwarded/s per core,"
        f" {pps / medians['sendmmsg']:.2f}x the sendmmsg ceiling,"
        f" {pps / medians['sendmmsg_gso']:.2f}x the GSO one"
        for name, pps in best.items()
    ]
    return lines


def run_plan(
    plan: Sequence[tuple[Point, int, Implementation]],
    seconds: float,
    client: WebRtcClient | None,
    console: Console,
) -> tuple[list[RunResult], list[dict[str, str]]]:
    """Runs every (point, repeat, implementation) in order, printing each run's figures. A
    peer whose run fails is reported and left out of that point (its other repeats there are
    skipped); a failure of mediasoup_py's ends the run. Returns the results and the failures."""
    results = []
    failures: list[dict[str, str]] = []
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, TimeElapsedColumn(), console=console) as progress:
        task = progress.add_task("starting", total=len(plan))
        for point, repeat, implementation in plan:
            progress.update(task, description=f"{point.title}: {implementation.name}")
            failed = {(one["point"], one["mode"], one["implementation"]) for one in failures}
            if (point.label, point.mode, implementation.name) in failed:
                progress.advance(task)
                continue
            try:
                result = run_once(implementation, point, repeat, seconds, client)
            except (RuntimeError, subprocess.SubprocessError) as error:
                if implementation.name == OURS:
                    raise
                failures.append(
                    {
                        "point": point.label,
                        "mode": point.mode,
                        "implementation": implementation.name,
                        "error": str(error),
                    }
                )
                progress.console.print(
                    f"{point.title:<29} {implementation.name:<13} FAILED: {error}"
                )
                progress.advance(task)
                continue
            results.append(result)
            figures = result.metrics
            auth_failures = figures["srtp_auth_failures"]
            progress.console.print(
                f"{point.title:<29} {implementation.name:<13}"
                f" fwd {number(figures['forwarded_pps']):>9} pps"
                f"  delivery {number(figures['delivery_percent'], 2):>6} %"
                f"  p99 {number(figures['latency_p99_us']):>6} µs"
                f"  CPU {number(figures['cpu_percent'], 1):>5} %"
                + ("" if auth_failures is None else f"  SRTP auth fail {auth_failures}")
            )
            progress.advance(task)
            time.sleep(PAUSE_SECONDS)
    return results, failures


def write_report(report: dict[str, Any], stem: Path, console: Console) -> None:
    """The markdown tables and the plots of a run's report, written next to its JSON."""
    names = [OURS, *report["peers_measured"]]
    rows, ratio_rows = report["summary"], report["ratios"]
    stem.with_suffix(".md").write_text(
        markdown(rows, ratio_rows, report["memory_per_consumer_kb"], report)
    )
    pictures = plot(rows, names, stem)
    print_tables(console, rows, ratio_rows)
    written = [stem.with_suffix(".json"), stem.with_suffix(".md"), *pictures]
    console.print("wrote " + ", ".join(str(path) for path in written))


if __name__ == "__main__":
    sys.exit(main())
