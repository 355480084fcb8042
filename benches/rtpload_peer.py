"""mediasoup_py as a plain-RTP forwarding peer, set up exactly like the mediasoup benchmark
peer it is compared with: one comedia PlainTransport producer (VP8, rtcp-mux, 127.0.0.1) and
N PlainTransport consumers sending to 127.0.0.1:<recv-base + i>, consuming with the router's
full RTP capabilities (so header extensions are rewritten, as mediasoup does).

It prints one ready line as JSON and runs until SIGTERM/SIGINT or ``--max-seconds``. The load
tool (an RTP sender and per-port receiver) measures delivery, gaps, latency and this
process's CPU; the worker thread is the only busy thread in it.

    python -m benches.rtpload_peer --consumers 10 --recv-base 41000 --max-seconds 60
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import sys

import mediasoup_py

PRODUCER_SSRC = 0x11223344
PRODUCER_PAYLOAD_TYPE = 101
LOOPBACK = {"protocol": "udp", "ip": "127.0.0.1"}
MEDIA_CODECS = [
    {"kind": "audio", "mimeType": "audio/opus", "clockRate": 48000, "channels": 2},
    {"kind": "video", "mimeType": "video/VP8", "clockRate": 90000},
]


async def serve(consumers: int, recv_base: int, max_seconds: float) -> None:
    worker = await mediasoup_py.create_worker(rtc_min_port=20000, rtc_max_port=29999)
    try:
        router = await worker.create_router(media_codecs=MEDIA_CODECS)  # type: ignore[arg-type]
        ingress = await router.create_plain_transport(listen_info=LOOPBACK, comedia=True)  # type: ignore[arg-type]
        producer = await ingress.produce(
            kind="video",
            rtp_parameters={  # type: ignore[typeddict-item]
                "codecs": [
                    {
                        "mimeType": "video/VP8",
                        "payloadType": PRODUCER_PAYLOAD_TYPE,
                        "clockRate": 90000,
                    }
                ],
                "encodings": [{"ssrc": PRODUCER_SSRC}],
            },
        )
        for index in range(consumers):
            egress = await router.create_plain_transport(listen_info=LOOPBACK, comedia=False)  # type: ignore[arg-type]
            await egress.connect(ip="127.0.0.1", port=recv_base + index)
            await egress.consume(producer_id=producer.id, rtp_capabilities=router.rtp_capabilities)
        ready = {
            "ready": True,
            "producerPort": ingress.tuple["localPort"],
            "ssrc": PRODUCER_SSRC,
            "payloadType": PRODUCER_PAYLOAD_TYPE,
            "cpuPid": os.getpid(),
        }
        print(json.dumps(ready), flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signal_number in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signal_number, stop.set)
        # Either a signal or the time limit ends the run.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=max_seconds)
        usage = await worker.get_resource_usage()
        [stats] = await producer.get_stats()
        print(
            json.dumps(
                {
                    "done": True,
                    "workerCpuUserMs": usage["ru_utime"],
                    "workerCpuSysMs": usage["ru_stime"],
                    "producerPackets": stats["packetCount"],
                }
            ),
            flush=True,
        )
    finally:
        worker.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--consumers", type=int, default=4)
    parser.add_argument("--recv-base", type=int, default=40000)
    parser.add_argument("--max-seconds", type=float, default=300)
    arguments = parser.parse_args()
    asyncio.run(serve(arguments.consumers, arguments.recv_base, min(arguments.max_seconds, 3600)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
