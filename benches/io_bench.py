"""End-to-end I/O benchmark of one worker: many PlainTransports on loopback receive paced
SRTP from the Rust load generator; reports packets per second handled by the worker thread
and the worker's CPU per 1000 packets (from getrusage of that thread).

    .venv/bin/python -m benches.io_bench --transports 20 --pps 2000 --seconds 5

Both the load generator and the worker run on this machine, so the figures are for a shared
2-core machine; CPU per packet is the number to compare across runs.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import mediasoup_py

REPOSITORY = Path(__file__).resolve().parents[1]
LOADGEN = REPOSITORY / "target" / "release" / "mediasoup-loadgen"
KEY_LENGTHS = {
    "AES_CM_128_HMAC_SHA1_80": 30,
    "AES_CM_128_HMAC_SHA1_32": 30,
    "AEAD_AES_128_GCM": 28,
    "AEAD_AES_256_GCM": 44,
}


def build_loadgen() -> None:
    subprocess.run(
        ["cargo", "build", "--release", "--quiet", "-p", "mediasoup-py-loadgen"],
        cwd=REPOSITORY,
        check=True,
    )


async def measure(transports: int, pps: int, seconds: float, profile: str) -> dict[str, Any]:
    worker = await mediasoup_py.create_worker(rtc_min_port=47000, rtc_max_port=47999)
    try:
        router = await worker.create_router()
        key = os.urandom(KEY_LENGTHS[profile]) if profile != "none" else b""
        plain = []
        for _ in range(transports):
            transport = await router.create_plain_transport(
                listen_info={"protocol": "udp", "ip": "127.0.0.1"},
                comedia=True,
                enable_srtp=profile != "none",
                srtp_crypto_suite=profile if profile != "none" else "AES_CM_128_HMAC_SHA1_80",
            )
            if profile == "none":
                await transport.connect()
            else:
                await transport.connect(
                    srtp_parameters={
                        "cryptoSuite": profile,
                        "keyBase64": base64.b64encode(key).decode(),
                    }
                )
            plain.append(transport)
        targets = ",".join(f"127.0.0.1:{t.tuple['localPort']}" for t in plain)
        command = [str(LOADGEN), "--targets", targets, "--pps", str(pps)]
        command += ["--seconds", str(seconds), "--payload", "1000"]
        if profile != "none":
            command += ["--srtp", f"{profile}:{key.hex()}"]
        before = await worker.get_resource_usage()
        started = time.perf_counter()
        process = await asyncio.create_subprocess_exec(*command, stdout=subprocess.PIPE)
        output, _ = await asyncio.wait_for(process.communicate(), timeout=seconds + 30)
        await asyncio.sleep(0.2)
        wall = time.perf_counter() - started
        after = await worker.get_resource_usage()
        load = json.loads(output)
        received = 0
        srtp_failures = 0
        for transport in plain:
            [stats] = await transport.get_stats()
            received += stats["rtpPacketsReceived"]
            srtp_failures += stats["droppedDatagrams"]["srtp"]
        cpu_ms = (after["ru_utime"] + after["ru_stime"]) - (before["ru_utime"] + before["ru_stime"])
        return {
            "profile": profile,
            "transports": transports,
            "offered_pps": transports * pps,
            "sent": load["sent"],
            "received": received,
            "loss_percent": round(100 * (1 - received / max(load["sent"], 1)), 3),
            "srtp_failures": srtp_failures,
            "received_pps": round(received / load["seconds"]),
            "worker_cpu_percent": round(100 * cpu_ms / (wall * 1000), 1),
            "worker_cpu_us_per_1000_packets": round(1000 * cpu_ms * 1000 / max(received, 1), 1),
        }
    finally:
        worker.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--transports", type=int, default=20)
    parser.add_argument("--pps", type=int, default=2000, help="packets per second per transport")
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--profile", choices=[*KEY_LENGTHS, "none"], default="AEAD_AES_128_GCM")
    arguments = parser.parse_args()
    build_loadgen()
    result = asyncio.run(
        measure(arguments.transports, arguments.pps, arguments.seconds, arguments.profile)
    )
    results = REPOSITORY / "benches" / "results"
    results.mkdir(exist_ok=True)
    (results / "io_bench.json").write_text(json.dumps(result, indent=2) + "\n")
    width = max(len(name) for name in result)
    for name, value in result.items():
        print(f"{name:<{width}}  {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
