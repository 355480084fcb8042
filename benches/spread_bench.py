"""One publisher to many subscribers in one room: the room on one worker against the room
spread over every worker of the process (``mediasoup_py.room_media``: subscribers placed by
load, the producer piped once to each other worker). The publisher is a PlainTransport fed
SRTP by the Rust load generator; each subscriber is a PlainTransport with its own SRTP
session sending to a receive port of the load generator (the same per-copy work as a WebRTC
consumer's). Reports, per point, the forwarded packets per second at the sink, the loss,
and each worker's CPU and CPU per forwarded packet.

    .venv/bin/python -m benches.spread_bench --subscribers 1000 --pps 100 200 300 --seconds 5

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
import time
from typing import Any

import mediasoup_py
from benches.fanout_bench import PROFILE, srtp_parameters
from benches.io_bench import KEY_LENGTHS, LOADGEN, REPOSITORY, build_loadgen
from mediasoup_py.room_media import RoomMedia, WorkerLoad

LOOPBACK = {"protocol": "udp", "ip": "127.0.0.1"}
# Below the workers' range (40000-48999) and the ephemeral range.
RECEIVE_BASE = 30000
VP8 = [{"kind": "video", "mimeType": "video/VP8", "clockRate": 90000}]


async def measure(workers_used: int, subscribers: int, pps: int, seconds: float) -> dict[str, Any]:
    span = 9000 // workers_used
    workers = [
        await mediasoup_py.create_worker(
            rtc_min_port=40000 + index * span, rtc_max_port=40000 + (index + 1) * span - 1
        )
        for index in range(workers_used)
    ]
    try:
        # Counting from before the room's first router, as a Server does.
        load = WorkerLoad(workers)
        home = await workers[0].create_router(media_codecs=VP8)  # type: ignore[arg-type]
        media = RoomMedia(home, workers=workers, media_codecs=VP8, load=load)  # type: ignore[arg-type]
        ingress = await home.create_plain_transport(
            listen_info=LOOPBACK,  # type: ignore[arg-type]
            comedia=True,
            enable_srtp=True,
            srtp_crypto_suite=PROFILE,
        )
        producer_key = os.urandom(KEY_LENGTHS[PROFILE])
        await ingress.connect(srtp_parameters=srtp_parameters(producer_key))  # type: ignore[arg-type]
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
        command = [str(LOADGEN), "--targets", f"127.0.0.1:{ingress.tuple['localPort']}"]
        command += ["--pps", str(pps), "--seconds", str(seconds), "--payload", "1000"]
        command += ["--srtp", f"{PROFILE}:{producer_key.hex()}", "--shape", "video"]
        command += ["--recv-base", str(receive_base), "--recv-count", str(subscribers)]
        command += ["--warmup", "1"]
        before = [await worker.get_resource_usage() for worker in workers]
        started = time.perf_counter()
        process = await asyncio.create_subprocess_exec(*command, stdout=subprocess.PIPE)
        output, _ = await asyncio.wait_for(process.communicate(), timeout=seconds + 30)
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
    arguments = parser.parse_args()
    build_loadgen()
    results = []
    for pps in arguments.pps:
        for workers in arguments.workers:
            result = asyncio.run(measure(workers, arguments.subscribers, pps, arguments.seconds))
            results.append(result)
            print(json.dumps(result), flush=True)
    directory = REPOSITORY / "benches" / "results"
    directory.mkdir(exist_ok=True)
    report = {"machine": machine(), "results": results}
    (directory / "spread_bench.json").write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
