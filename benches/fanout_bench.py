"""Fan-out benchmark of one worker: one SRTP video producer (a PlainTransport fed by the Rust
load generator) and N consumers, each on its own PlainTransport with its own SRTP session,
all sending to the load generator's sink. Reports forwarded packets per second of the worker
thread, the loss at the sink, and the worker's CPU per 1000 forwarded packets.

    .venv/bin/python -m benches.fanout_bench --consumers 10 100 500 --pps 200 --seconds 5

Every consumer encrypts its own copy (real SRTP, as a WebRTC consumer would); the producer
sends VP8-shaped frames that start with a keyframe, so consumers forward from the first
packet. The load generator runs on the same machine, so compare CPU per packet across runs.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import socket
import subprocess
import sys
import time
from typing import Any

import mediasoup_py
from benches.io_bench import KEY_LENGTHS, LOADGEN, REPOSITORY, build_loadgen

PROFILE = "AEAD_AES_128_GCM"
LOOPBACK = {"protocol": "udp", "ip": "127.0.0.1"}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def srtp_parameters(key: bytes) -> dict[str, str]:
    return {"cryptoSuite": PROFILE, "keyBase64": base64.b64encode(key).decode()}


async def measure(consumers: int, pps: int, seconds: float) -> dict[str, Any]:
    worker = await mediasoup_py.create_worker(rtc_min_port=48000, rtc_max_port=48999)
    try:
        router = await worker.create_router(
            media_codecs=[{"kind": "video", "mimeType": "video/VP8", "clockRate": 90000}]
        )
        ingress = await router.create_plain_transport(
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
                # The load generator's first stream.
                "encodings": [{"ssrc": 0x1000_0000}],
            },
        )
        sink_port = free_port()
        for _ in range(consumers):
            egress = await router.create_plain_transport(
                listen_info=LOOPBACK,  # type: ignore[arg-type]
                comedia=False,
                enable_srtp=True,
                srtp_crypto_suite=PROFILE,
            )
            await egress.connect(
                ip="127.0.0.1",
                port=sink_port,
                srtp_parameters=srtp_parameters(os.urandom(KEY_LENGTHS[PROFILE])),  # type: ignore[arg-type]
            )
            await egress.consume(
                producer_id=producer.id,
                rtp_capabilities=router.rtp_capabilities,
            )
        command = [str(LOADGEN), "--targets", f"127.0.0.1:{ingress.tuple['localPort']}"]
        command += ["--pps", str(pps), "--seconds", str(seconds), "--payload", "1000"]
        command += ["--srtp", f"{PROFILE}:{producer_key.hex()}", "--shape", "video"]
        command += ["--sink", f"127.0.0.1:{sink_port}"]
        before = await worker.get_resource_usage()
        started = time.perf_counter()
        process = await asyncio.create_subprocess_exec(*command, stdout=subprocess.PIPE)
        output, _ = await asyncio.wait_for(process.communicate(), timeout=seconds + 30)
        wall = time.perf_counter() - started
        after = await worker.get_resource_usage()
        load = json.loads(output)
        expected = load["sent"] * consumers
        received = load["received"]
        cpu_ms = (after["ru_utime"] + after["ru_stime"]) - (before["ru_utime"] + before["ru_stime"])
        return {
            "consumers": consumers,
            "producer_pps": pps,
            "sent": load["sent"],
            "expected_forwards": expected,
            "forwarded_received": received,
            "loss_percent": round(100 * (1 - received / max(expected, 1)), 3),
            "forwarded_pps": round(received / load["seconds"]),
            "worker_cpu_percent": round(100 * cpu_ms / (wall * 1000), 1),
            "worker_cpu_us_per_1000_packets": round(1000 * cpu_ms * 1000 / max(received, 1), 1),
        }
    finally:
        worker.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--consumers", type=int, nargs="+", default=[10, 100, 500])
    parser.add_argument("--pps", type=int, default=200, help="producer packets per second")
    parser.add_argument("--seconds", type=float, default=5)
    arguments = parser.parse_args()
    build_loadgen()
    results = []
    for consumers in arguments.consumers:
        result = asyncio.run(measure(consumers, arguments.pps, arguments.seconds))
        results.append(result)
        print(json.dumps(result))
    directory = REPOSITORY / "benches" / "results"
    directory.mkdir(exist_ok=True)
    (directory / "fanout_bench.json").write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
