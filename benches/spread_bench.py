"""One publisher to many subscribers in one room: the room on one worker against the room
spread over every worker of the process (``mediasoup_py.room_media``: subscribers placed by
load, the producer piped once to each other worker). The publisher is a PlainTransport fed
SRTP by the Rust load generator; each subscriber is a PlainTransport with its own SRTP
session sending to a receive port of the load generator (the same per-copy work as a WebRTC
consumer's). Reports, per point, the forwarded packets per second at the sink, the loss,
and each worker's CPU and CPU per forwarded packet.

    .venv/bin/python -m benches.spread_bench --subscribers 1000 --pps 100 200 300 --seconds 5
    .venv/bin/python -m benches.spread_bench --mode webrtc ...   # WebRtcTransports instead

In WebRTC mode every transport is a WebRtcTransport that the load tool reaches with ICE,
a DTLS handshake and SRTP (AEAD_AES_128_GCM), as in ``benches.run --mode webrtc``.

The load generator runs on the same machine and takes CPU of its own: on two cores it
competes with two workers, so the spread figures are a floor; say so with the results.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import mediasoup_py
from benches.fanout_bench import PROFILE, srtp_parameters
from benches.io_bench import KEY_LENGTHS, LOADGEN, REPOSITORY, build_loadgen
from benches.run import RECV_BASE, WebRtcClient, make_webrtc_client, write_webrtc_peers
from mediasoup_py.room_media import RoomMedia, WorkerLoad

LOOPBACK = {"protocol": "udp", "ip": "127.0.0.1"}
# Plain mode's receive ports, below the workers' range (42000-49999); WebRTC mode's are the
# benchmark driver's (RECV_BASE, 41000 up).
RECEIVE_BASE = 30000
WORKER_PORTS = (42000, 49999)
VP8 = [{"kind": "video", "mimeType": "video/VP8", "clockRate": 90000}]


async def webrtc_transport(
    router: mediasoup_py.Router, client: WebRtcClient, listed: list[dict[str, Any]]
) -> mediasoup_py.WebRtcTransport:
    """A WebRtcTransport the load tool connects to as DTLS client, listed for its peers
    file."""
    transport = await router.create_webrtc_transport(listen_infos=[LOOPBACK])  # type: ignore[list-item]
    await transport.connect(
        dtls_parameters={"role": "client", "fingerprints": [client.fingerprint]}  # type: ignore[typeddict-item]
    )
    [candidate] = transport.ice_candidates
    [fingerprint] = [
        f for f in transport.dtls_parameters["fingerprints"] if f["algorithm"] == "sha-256"
    ]
    listed.append(
        {
            "port": candidate["port"],
            "usernameFragment": transport.ice_parameters["usernameFragment"],
            "password": transport.ice_parameters["password"],
            "fingerprint": fingerprint,
        }
    )
    return transport


async def measure(
    workers_used: int,
    subscribers: int,
    pps: int,
    seconds: float,
    client: WebRtcClient | None = None,
) -> dict[str, Any]:
    """One point; WebRTC transports when given the load tool's ``client`` certificate."""
    low, high = WORKER_PORTS
    span = (high - low + 1) // workers_used
    workers = [
        await mediasoup_py.create_worker(
            rtc_min_port=low + index * span, rtc_max_port=low + (index + 1) * span - 1
        )
        for index in range(workers_used)
    ]
    producers: list[dict[str, Any]] = []
    consumers: list[dict[str, Any]] = []
    try:
        # Counting from before the room's first router, as a Server does.
        load = WorkerLoad(workers)
        home = await workers[0].create_router(media_codecs=VP8)  # type: ignore[arg-type]
        media = RoomMedia(home, workers=workers, media_codecs=VP8, load=load)  # type: ignore[arg-type]
        producer_key = os.urandom(KEY_LENGTHS[PROFILE])
        ingress: Any
        if client is not None:
            ingress = await webrtc_transport(home, client, producers)
            ingress_port = producers[-1]["port"]
        else:
            ingress = await home.create_plain_transport(
                listen_info=LOOPBACK,  # type: ignore[arg-type]
                comedia=True,
                enable_srtp=True,
                srtp_crypto_suite=PROFILE,
            )
            await ingress.connect(srtp_parameters=srtp_parameters(producer_key))  # type: ignore[arg-type]
            ingress_port = ingress.tuple["localPort"]
        producer = await ingress.produce(
            kind="video",
            rtp_parameters={  # type: ignore[typeddict-item]
                "codecs": [{"mimeType": "video/VP8", "payloadType": 96, "clockRate": 90000}],
                "encodings": [{"ssrc": 0x1000_0000}],
            },
        )
        # A receive port per subscriber, as the load tool's other fan-out points have.
        receive_base = RECEIVE_BASE
        for index in range(subscribers):
            router = await media.router_for_transport()
            egress: Any
            if client is not None:
                egress = await webrtc_transport(router, client, consumers)
            else:
                egress = await router.create_plain_transport(
                    listen_info=LOOPBACK,  # type: ignore[arg-type]
                    comedia=False,
                    enable_srtp=True,
                    srtp_crypto_suite=PROFILE,
                )
                await egress.connect(
                    ip="127.0.0.1",
                    port=receive_base + index,
                    srtp_parameters=srtp_parameters(os.urandom(KEY_LENGTHS[PROFILE])),  # type: ignore[arg-type]
                )
            await media.acquire(producer.id, router)
            await egress.consume(producer_id=producer.id, rtp_capabilities=router.rtp_capabilities)
        per_worker = {worker.id: load.load(worker)[0] for worker in workers}
        command = [str(LOADGEN), "--targets", f"127.0.0.1:{ingress_port}"]
        command += ["--pps", str(pps), "--seconds", str(seconds), "--payload", "1000"]
        command += ["--shape", "video", "--warmup", "1"]
        if client is not None:
            ready = {"webrtcTransports": {"producers": producers, "consumers": consumers}}
            command += ["--recv-base", str(RECV_BASE), "--recv-count", str(subscribers)]
            command += ["--webrtc-cert", str(client.certificate)]
            command += ["--webrtc-key", str(client.private_key)]
            command += ["--webrtc-peers", str(write_webrtc_peers(ready, client))]
        else:
            command += ["--srtp", f"{PROFILE}:{producer_key.hex()}"]
            command += ["--recv-base", str(receive_base), "--recv-count", str(subscribers)]
        before = [await worker.get_resource_usage() for worker in workers]
        started = time.perf_counter()
        process = await asyncio.create_subprocess_exec(*command, stdout=subprocess.PIPE)
        # WebRTC: every transport's ICE and DTLS first.
        output, _ = await asyncio.wait_for(process.communicate(), timeout=seconds + 120)
        wall = time.perf_counter() - started
        after = [await worker.get_resource_usage() for worker in workers]
        report = json.loads(output)
        expected = report["sent"] * subscribers
        received = report["received"]
        cpu_ms = [
            (a["ru_utime"] + a["ru_stime"]) - (b["ru_utime"] + b["ru_stime"])
            for a, b in zip(after, before, strict=True)
        ]
        return {
            "mode": "webrtc" if client is not None else "plain",
            "workers": workers_used,
            "subscribers": subscribers,
            "producer_pps": pps,
            "consumers_per_worker": per_worker,
            "pipes": len(media.dump()["pipes"]),
            "expected_forwards": expected,
            "forwarded_received": received,
            "loss_percent": round(100 * (1 - received / max(expected, 1)), 3),
            "forwarded_pps": round(received / report["seconds"]),
            "worker_cpu_percent": [round(100 * ms / (wall * 1000), 1) for ms in cpu_ms],
            "cpu_us_per_forwarded_packet": round(1000 * sum(cpu_ms) / max(received, 1), 3),
        }
    finally:
        for worker in workers:
            worker.close()


def machine() -> dict[str, Any]:
    """The CPU model, kernel, cores and load average the figures were taken with."""
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in open("/proc/cpuinfo").read().splitlines()  # noqa: SIM115
            if line.startswith("model name")
        ),
        "unknown",
    )
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "kernel": os.uname().release,
        "loadavg": os.getloadavg(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--pps", type=int, nargs="+", default=[100, 200, 300])
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, os.cpu_count() or 1])
    parser.add_argument("--mode", choices=["plain", "webrtc"], default="plain")
    arguments = parser.parse_args()
    build_loadgen()
    results = []
    with tempfile.TemporaryDirectory() as certificates:
        webrtc = arguments.mode == "webrtc"
        client = make_webrtc_client(Path(certificates)) if webrtc else None
        for pps in arguments.pps:
            for workers in arguments.workers:
                result = asyncio.run(
                    measure(workers, arguments.subscribers, pps, arguments.seconds, client)
                )
                results.append(result)
                print(json.dumps(result), flush=True)
    directory = REPOSITORY / "benches" / "results"
    directory.mkdir(exist_ok=True)
    report = {"machine": machine(), "results": results}
    name = "spread_bench.json" if arguments.mode == "plain" else "spread_bench-webrtc.json"
    (directory / name).write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
