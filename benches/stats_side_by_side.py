"""getStats() of mediasoup_py and mediasoup 3.27.1 side by side, given the same media.

Both servers get the same setup (benches/peers/mediasoup_stats_peer.mjs is mediasoup's): a
comedia PlainTransport producing VP8 and one producing opus (RTCP on its own port, where
ffmpeg sends it), with fixed SSRCs, and a PlainTransport sending both consumers to a UDP port
of this script. Two ffmpeg processes with the same arguments
(deterministic lavfi sources, libvpx and libopus) send the same media to each; all of it runs
in a network namespace made here whose kernel drops ``--loss`` percent of UDP datagrams at
random (nftables ``numgen random``), so loss counters have something to count. The consumers'
receiver is a plain UDP sink (no RTCP), so neither server has receiver reports for its
consumers. Then the key sets and values of every stats object are compared.

    python -m benches.stats_side_by_side --seconds 8 --loss 3 \\
        --out benches/results/stats-side-by-side-2026-12-07.md

MEDIASOUP_WORKER_BIN and MS_APP_DIR point at mediasoup (benches/setup_peers.sh mediasoup
writes them to benches/.peers/peers.env, read here when they are not set). Needs root (for
the namespace), nft and ffmpeg.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

REPOSITORY = Path(__file__).resolve().parents[1]
PEER_SCRIPT = REPOSITORY / "benches" / "peers" / "mediasoup_stats_peer.mjs"
VIDEO_SSRC = 0x11223344
AUDIO_SSRC = 0x22334455
# The stats are taken this long before the media ends, so bitrates over the last second
# have media to count.
BEFORE_END_SECONDS = 3

VIDEO_PARAMETERS: dict[str, Any] = {
    "codecs": [
        {
            "mimeType": "video/VP8",
            "payloadType": 101,
            "clockRate": 90000,
            "rtcpFeedback": [{"type": "nack"}, {"type": "nack", "parameter": "pli"}],
        }
    ],
    "encodings": [{"ssrc": VIDEO_SSRC}],
}
AUDIO_PARAMETERS: dict[str, Any] = {
    "codecs": [{"mimeType": "audio/opus", "payloadType": 100, "clockRate": 48000, "channels": 2}],
    "encodings": [{"ssrc": AUDIO_SSRC}],
}
MEDIA_CODECS: list[dict[str, Any]] = [
    {"kind": "audio", "mimeType": "audio/opus", "clockRate": 48000, "channels": 2},
    {"kind": "video", "mimeType": "video/VP8", "clockRate": 90000},
]


def mediasoup_paths() -> dict[str, str]:
    paths = {
        name: os.environ[name]
        for name in ("MEDIASOUP_WORKER_BIN", "MS_APP_DIR")
        if os.environ.get(name)
    }
    env_file = REPOSITORY / "benches" / ".peers" / "peers.env"
    if len(paths) < 2 and env_file.exists():
        for line in env_file.read_text().splitlines():
            name, _, value = line.partition("=")
            paths.setdefault(name, value)
    return paths


def snapshot_after(seconds: float) -> float:
    """When (after the senders start) the stats are taken."""
    return max(seconds - BEFORE_END_SECONDS, 1)


def ffmpeg_sender(ports: dict[str, Any], seconds: float) -> subprocess.Popen[bytes]:
    """VP8 (640x360, 30 fps, 500 kbps) and opus to the ports of each kind
    (``{kind: {"port", "rtcpPort"}}``) on 127.0.0.1."""
    video, audio = (
        f"rtp://127.0.0.1:{ports[kind]['port']}?rtcpport={ports[kind]['rtcpPort']}&pkt_size=1200"
        for kind in ("video", "audio")
    )
    return subprocess.Popen(
        [
            "ffmpeg", "-hide_banner", "-loglevel", "error", "-re",
            "-f", "lavfi", "-i", f"testsrc=size=640x360:rate=30:duration={seconds}",
            "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}",
            "-map", "0:v", "-c:v", "libvpx", "-b:v", "500k", "-deadline", "realtime",
            "-cpu-used", "8", "-g", "60", "-ssrc", str(VIDEO_SSRC), "-payload_type", "101",
            "-f", "rtp", video,
            "-map", "1:a", "-c:a", "libopus", "-b:a", "48k", "-ssrc", str(AUDIO_SSRC),
            "-payload_type", "100", "-f", "rtp", audio,
        ],
        stdin=subprocess.DEVNULL,
        # Its RTP muxer prints the session's SDP: not ours to print.
        stdout=subprocess.DEVNULL,
    )  # fmt: skip


def udp_sink() -> socket.socket:
    """Where a server's consumers send: read and dropped by a thread-free drain."""
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.bind(("127.0.0.1", 0))
    sink.setblocking(False)
    return sink


async def drain(sinks: list[socket.socket], until: float) -> None:
    loop = asyncio.get_running_loop()
    while loop.time() < until:
        for sink in sinks:
            try:
                while True:
                    sink.recv(2048)
            except BlockingIOError:
                pass
        await asyncio.sleep(0.005)


async def run_inside(seconds: float) -> dict[str, Any]:
    import mediasoup_py

    paths = mediasoup_paths()
    ours_sink, theirs_sink = udp_sink(), udp_sink()
    worker = await mediasoup_py.create_worker()
    router = await worker.create_router(media_codecs=MEDIA_CODECS)  # type: ignore[arg-type]
    ingresses = {
        kind: await router.create_plain_transport(
            listen_info={"protocol": "udp", "ip": "127.0.0.1"}, comedia=True, rtcp_mux=False
        )
        for kind in ("video", "audio")
    }
    egress = await router.create_plain_transport(
        listen_info={"protocol": "udp", "ip": "127.0.0.1"}, comedia=False, rtcp_mux=True
    )
    await egress.connect(ip="127.0.0.1", port=ours_sink.getsockname()[1])
    producers = {
        "video": await ingresses["video"].produce(kind="video", rtp_parameters=VIDEO_PARAMETERS),  # type: ignore[arg-type]
        "audio": await ingresses["audio"].produce(kind="audio", rtp_parameters=AUDIO_PARAMETERS),  # type: ignore[arg-type]
    }
    consumers = {
        kind: await egress.consume(
            producer_id=producer.id, rtp_capabilities=router.rtp_capabilities
        )
        for kind, producer in producers.items()
    }
    node = subprocess.Popen(
        [
            "node", str(PEER_SCRIPT),
            "--recv-port", str(theirs_sink.getsockname()[1]),
            "--seconds", str(snapshot_after(seconds)),
            "--video-ssrc", str(VIDEO_SSRC), "--audio-ssrc", str(AUDIO_SSRC),
        ],
        cwd=paths["MS_APP_DIR"],
        env={**os.environ, "MEDIASOUP_WORKER_BIN": paths["MEDIASOUP_WORKER_BIN"]},
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    assert node.stdout is not None
    loop = asyncio.get_running_loop()
    ready = json.loads(await loop.run_in_executor(None, node.stdout.readline))
    ours_ports = {
        kind: {"port": t.tuple["localPort"], "rtcpPort": t.rtcp_tuple["localPort"]}  # type: ignore[index]
        for kind, t in ingresses.items()
    }
    senders = [ffmpeg_sender(ports, seconds) for ports in (ours_ports, ready)]
    drained = asyncio.ensure_future(drain([ours_sink, theirs_sink], loop.time() + seconds + 10))
    # mediasoup prints its stats while the media still flows; ours are taken right after.
    theirs = json.loads(await loop.run_in_executor(None, node.stdout.readline))
    ours = {
        "sendTransports": {kind: await t.get_stats() for kind, t in ingresses.items()},
        "recvTransport": await egress.get_stats(),
        "producers": {kind: await p.get_stats() for kind, p in producers.items()},
        "consumers": {kind: await c.get_stats() for kind, c in consumers.items()},
    }
    for sender in senders:
        sender.wait(timeout=seconds + 30)
    node.wait(timeout=30)
    drained.cancel()
    worker.close()
    return {"mediasoup_py": ours, "mediasoup": theirs}


def objects(stats: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every stats object by a name saying what it is."""
    named = {
        f"{kind} send transport (plain, comedia)": stats["sendTransports"][kind][0]
        for kind in ("video", "audio")
    }
    named["recv transport (plain)"] = stats["recvTransport"][0]
    for kind in ("video", "audio"):
        named[f"{kind} producer inbound-rtp"] = stats["producers"][kind][0]
        entries = stats["consumers"][kind]
        named[f"{kind} consumer outbound-rtp"] = entries[0]
        named[f"{kind} consumer's producer inbound-rtp"] = entries[1]
    return named


# Fields whose values say nothing comparable (ids, clocks, random SSRCs, tuples).
NOT_COMPARED = {"transportId", "timestamp", "tuple", "rtcpTuple", "ssrc", "rtxSsrc"}


def compare(result: dict[str, Any], loss: float, seconds: float) -> str:
    ours, theirs = objects(result["mediasoup_py"]), objects(result["mediasoup"])
    lines = [
        "# getStats(): mediasoup_py against mediasoup 3.27.1, same media",
        "",
        f"`python -m benches.stats_side_by_side --seconds {seconds:g} --loss {loss:g}`: "
        f"VP8 (libvpx 500 kbps, 30 fps) and opus (libopus 48 kbps) from two identical ffmpeg "
        f"senders, one per server, into a comedia PlainTransport per kind; both consumers out "
        f"through a PlainTransport to a UDP sink (no RTCP back); {loss:g}% of UDP datagrams "
        f"dropped by the kernel (nftables) in both directions (on arrival, so senders see "
        f"no errors). Stats taken {snapshot_after(seconds):g} s into the media.",
        "",
    ]
    for name, mine in ours.items():
        other = theirs[name]
        missing = [key for key in other if key not in mine]
        extra = [key for key in mine if key not in other]
        lines += [f"## {name}", ""]
        lines.append(f"- mediasoup's keys missing here: {', '.join(missing) or 'none'}")
        lines.append(f"- keys only mediasoup_py reports: {', '.join(extra) or 'none'}")
        lines += ["", "| field | mediasoup 3.27.1 | mediasoup_py |", "|---|---|---|"]
        for key in other:
            if key in NOT_COMPARED:
                continue
            lines.append(f"| {key} | {json.dumps(other[key])} | {json.dumps(mine.get(key, '—'))} |")
        lines.append("")
    return "\n".join(lines)


def main(arguments: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--loss", type=float, default=3, help="percent of UDP datagrams dropped")
    parser.add_argument("--out", type=Path, help="markdown report (and .json beside it)")
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args(arguments)
    if options.inside:
        print(json.dumps(asyncio.run(run_inside(options.seconds))))
        return 0
    namespace = f"msstats-{uuid.uuid4().hex[:8]}"
    subprocess.run(["ip", "netns", "add", namespace], check=True)
    try:
        subprocess.run(["ip", "-n", namespace, "link", "set", "lo", "up"], check=True)
        rules = (
            "table inet lossy {\n chain input {\n"
            "  type filter hook input priority 0; policy accept;\n"
            f"  meta l4proto udp numgen random mod 1000 < {int(options.loss * 10)} drop\n }}\n}}\n"
        )
        subprocess.run(
            ["ip", "netns", "exec", namespace, "nft", "-f", "-"], input=rules, text=True, check=True
        )
        inside = subprocess.run(
            ["ip", "netns", "exec", namespace, sys.executable, "-m", "benches.stats_side_by_side",
             "--inside", "--seconds", str(options.seconds)],
            cwd=REPOSITORY,
            capture_output=True,
            text=True,
            timeout=options.seconds + 120,
            check=True,
        )  # fmt: skip
    finally:
        subprocess.run(["ip", "netns", "del", namespace], check=True)
    result = json.loads(inside.stdout)
    if options.out:
        options.out.with_suffix(".json").write_text(json.dumps(result, indent=1) + "\n")
    report = compare(result, options.loss, options.seconds)
    print(report)
    if options.out:
        options.out.write_text(report + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
