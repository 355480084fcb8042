"""Counts the video frames of a producer in pure Python, through a DirectTransport consumer:
its ``rtp`` event hands over every RTP packet the router would send an endpoint, and a frame
ends at each packet with the marker bit. The producer here is ffmpeg sending a test pattern
into a PlainTransport; any producer of a router works the same way.

    python examples/direct_frame_counter.py --seconds 5

It prints the frames counted each second and the total.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

import mediasoup_py
from mediasoup_py import ffmpeg
from mediasoup_py.rtp import RtpPacket

VP8: list[dict[str, object]] = [{"kind": "video", "mimeType": "video/VP8", "clockRate": 90000}]


async def count_frames(seconds: float) -> int:
    worker = await mediasoup_py.create_worker(rtc_min_port=48300, rtc_max_port=48349)
    try:
        router = await worker.create_router(media_codecs=VP8)  # type: ignore[arg-type]
        source = await router.create_plain_transport(
            listen_info={"protocol": "udp", "ip": "127.0.0.1"}, comedia=True
        )
        producer = await source.produce(
            kind="video",
            rtp_parameters=ffmpeg.producer_parameters("video"),  # type: ignore[arg-type]
        )
        tap = await router.create_direct_transport()
        consumer = await tap.consume(
            producer_id=producer.id, rtp_capabilities=router.rtp_capabilities
        )
        frames = 0

        def on_rtp(packet: bytes) -> None:
            nonlocal frames
            if RtpPacket.parse(packet).marker:
                frames += 1

        consumer.on("rtp", on_rtp)
        # Only video goes anywhere: the audio output is discarded.
        video = ffmpeg.rtp_output("127.0.0.1", source.tuple["localPort"])
        command = ffmpeg.sender_command(video, ["-f", "null", "-"], seconds=seconds)
        process = await asyncio.create_subprocess_exec(*command, stdout=asyncio.subprocess.DEVNULL)
        previous = 0
        while process.returncode is None:
            try:
                await asyncio.wait_for(process.wait(), 1.0)
            except TimeoutError:
                print(f"{frames - previous} frames in the last second", flush=True)
                previous = frames
        print(f"total: {frames} frames", flush=True)
        return frames
    finally:
        worker.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5)
    arguments = parser.parse_args()
    frames = asyncio.run(count_frames(arguments.seconds))
    return 0 if frames else 1


if __name__ == "__main__":
    sys.exit(main())
