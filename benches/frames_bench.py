"""Benchmarks of media in Python: audio taps, frames() throughput, recorder cost.

    .venv/bin/python -m benches.frames_bench --seconds 10

- ``taps``: opus producers on DirectTransports publish real opus packets (PyAV's libopus,
  20 ms, 50 a second each) with ``send_frame``; 100 DirectTransport consumers read them
  with ``frames()`` (ten taps of each of ten producers). The same senders run once without
  taps: the difference is what the taps cost. CPU is the whole process's (the worker thread
  included, from getrusage), memory its RSS.
- ``throughput``: 1080p VP8 frames (libvpx, ~6 Mbps) sent as fast as ``send_frame`` goes
  into one producer and read back by one ``frames()`` tap: frames and megabits a second
  assembled, and CPU per frame.
- ``recorder``: ten VP8 (640x360) + opus pairs from ``send_frame`` recorded into WebM files;
  the senders run once without recorders: CPU per recorded stream.

Everything runs in this process on a shared 2-core machine: CPU per tap, per frame and per
stream are the figures to compare across runs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fractions
import json
import os
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

import mediasoup_py
from mediasoup_py.frames import EncodedFrame

RESULTS = Path(__file__).resolve().parent / "results"
OPUS: Any = {"kind": "audio", "mimeType": "audio/opus", "clockRate": 48000, "channels": 2}
VP8: Any = {"kind": "video", "mimeType": "video/VP8", "clockRate": 90000}


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def opus_packets(count: int) -> list[bytes]:
    """Real opus packets: 20 ms of a 440 Hz tone each."""
    import av
    import numpy as np

    encoder = av.CodecContext.create("libopus", "w")
    encoder.sample_rate = 48000
    encoder.layout = "stereo"
    encoder.format = "s16"
    encoder.time_base = fractions.Fraction(1, 48000)
    packets: list[bytes] = []
    samples = np.arange(960 * count) / 48000
    tone = (np.sin(2 * np.pi * 440 * samples) * 8000).astype(np.int16)
    for index in range(count):
        chunk = np.repeat(tone[index * 960 : (index + 1) * 960], 2).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(chunk, format="s16", layout="stereo")
        frame.sample_rate = 48000
        frame.pts = index * 960
        packets += [bytes(p) for p in encoder.encode(frame)]
    return packets


def vp8_frames(count: int, width: int, height: int, bitrate: int) -> list[tuple[bytes, bool]]:
    """Real VP8 frames of a moving test pattern, a keyframe each 60."""
    import av
    import numpy as np

    encoder = av.CodecContext.create("libvpx", "w")
    encoder.width, encoder.height = width, height
    encoder.pix_fmt = "yuv420p"
    encoder.time_base = fractions.Fraction(1, 30)
    encoder.bit_rate = bitrate
    encoder.gop_size = 60
    encoder.options = {"deadline": "realtime", "cpu-used": "8"}
    frames: list[tuple[bytes, bool]] = []
    gradient = np.tile(np.arange(width, dtype=np.uint16) % 256, (height, 1))
    for index in range(count):
        luma = ((gradient + index * 7) % 256).astype(np.uint8)
        noise = np.random.default_rng(index).integers(0, 64, (height, width), dtype=np.uint8)
        picture = np.stack([luma, noise, 255 - luma], axis=-1)
        frame = av.VideoFrame.from_ndarray(picture, format="rgb24").reformat(format="yuv420p")
        frame.pts = index
        frames += [(bytes(p), bool(p.is_keyframe)) for p in encoder.encode(frame)]
    return frames


async def direct_producer(router: mediasoup_py.Router, codec: Any, ssrc: int) -> Any:
    transport = await router.create_direct_transport()
    return await transport.produce(
        kind=codec["kind"],
        rtp_parameters={
            "codecs": [
                {
                    "mimeType": codec["mimeType"],
                    "payloadType": 100 if codec["kind"] == "audio" else 101,
                    "clockRate": codec["clockRate"],
                    **({"channels": 2} if codec["kind"] == "audio" else {}),
                }
            ],
            "encodings": [{"ssrc": ssrc}],
        },
    )


async def drain(stream: Any, counts: list[int]) -> None:
    async for _ in stream:
        counts[0] += 1


async def run_taps(taps_per_producer: int, producers: int, seconds: float) -> dict[str, Any]:
    packets = opus_packets(50)
    worker = await mediasoup_py.create_worker()
    try:
        router = await worker.create_router(media_codecs=[OPUS])
        sources = [await direct_producer(router, OPUS, 1000 + i) for i in range(producers)]
        rss_before = rss_bytes()
        readers = []
        counts = [0]
        streams = []
        tap_transport = await router.create_direct_transport()
        for source in sources:
            for _ in range(taps_per_producer):
                consumer = await tap_transport.consume(
                    producer_id=source.id, rtp_capabilities=router.rtp_capabilities
                )
                stream = consumer.frames()
                streams.append(stream)
                readers.append(asyncio.ensure_future(drain(stream, counts)))
        loop = asyncio.get_running_loop()
        started_cpu, started = cpu_seconds(), loop.time()
        sent = 0
        while loop.time() - started < seconds:
            for source in sources:
                await source.send_frame(packets[sent % len(packets)], sent * 960)
            sent += 1
            await asyncio.sleep(max(0.0, started + sent * 0.02 - loop.time()))
        elapsed = loop.time() - started
        cpu = cpu_seconds() - started_cpu
        rss_after = rss_bytes()
        for stream in streams:
            stream.close()
        await asyncio.gather(*readers)
        lost = sum(s.stats()["framesLost"] + s.stats()["framesDroppedQueue"] for s in streams)
        return {
            "taps": len(streams),
            "producers": producers,
            "seconds": round(elapsed, 2),
            "frames_sent": sent * producers,
            "frames_read": counts[0],
            "frames_lost_or_dropped": lost,
            "cpu_cores": round(cpu / elapsed, 4),
            "rss_growth_bytes": rss_after - rss_before,
        }
    finally:
        worker.close()


async def run_throughput(seconds: float) -> dict[str, Any]:
    frames = vp8_frames(120, 1920, 1080, 6_000_000)
    worker = await mediasoup_py.create_worker()
    try:
        router = await worker.create_router(media_codecs=[VP8])
        source = await direct_producer(router, VP8, 2000)
        tap = await router.create_direct_transport()
        consumer = await tap.consume(
            producer_id=source.id, rtp_capabilities=router.rtp_capabilities
        )
        stream = consumer.frames(max_queue=10_000)
        received: list[EncodedFrame] = []

        async def read() -> None:
            async for frame in stream:
                received.append(frame)

        reader = asyncio.ensure_future(read())
        loop = asyncio.get_running_loop()
        started_cpu, started = cpu_seconds(), loop.time()
        sent = 0
        sent_bytes = 0
        while loop.time() - started < seconds:
            data, keyframe = frames[sent % len(frames)]
            await source.send_frame(data, sent * 3000, keyframe=keyframe)
            sent_bytes += len(data)
            sent += 1
            if sent % 8 == 0:
                # Let the worker's packets reach the tap.
                await asyncio.sleep(0.001)
        await asyncio.sleep(0.5)
        elapsed = loop.time() - started
        cpu = cpu_seconds() - started_cpu
        stream.close()
        await reader
        read_bytes = sum(len(f.data) for f in received)
        return {
            "resolution": "1920x1080",
            "frames_sent": sent,
            "frames_read": len(received),
            "mean_frame_bytes": round(sent_bytes / sent),
            "frames_per_second": round(len(received) / elapsed, 1),
            "megabits_per_second": round(read_bytes * 8 / elapsed / 1e6, 1),
            "cpu_ms_per_frame": round(cpu * 1000 / max(1, len(received)), 3),
            "stats": stream.stats(),
        }
    finally:
        worker.close()


async def run_recorder(pairs: int, seconds: float, record: bool) -> dict[str, Any]:
    video = vp8_frames(60, 640, 360, 800_000)
    audio = opus_packets(50)
    worker = await mediasoup_py.create_worker()
    recorders = []
    try:
        router = await worker.create_router(media_codecs=[OPUS, VP8])
        sources = []
        for index in range(pairs):
            sources.append(
                (
                    await direct_producer(router, VP8, 3000 + index),
                    await direct_producer(router, OPUS, 4000 + index),
                )
            )
        with tempfile.TemporaryDirectory() as directory:
            if record:
                for index, pair in enumerate(sources):
                    recorders.append(
                        await mediasoup_py.record(
                            router, list(pair), Path(directory) / f"{index}.webm"
                        )
                    )
            loop = asyncio.get_running_loop()
            started_cpu, started = cpu_seconds(), loop.time()
            tick = 0
            # 50 audio frames and 30 video frames a second: a 10 ms clock.
            while loop.time() - started < seconds:
                for video_source, audio_source in sources:
                    if tick % 2 == 0:
                        n = tick // 2
                        await audio_source.send_frame(audio[n % len(audio)], n * 960)
                    if tick % 10 in (0, 3, 7):
                        n = tick // 10 * 3 + (0, 0, 0, 1, 1, 1, 1, 2, 2, 2)[tick % 10]
                        data, keyframe = video[n % len(video)]
                        await video_source.send_frame(data, n * 3000, keyframe=keyframe)
                tick += 1
                await asyncio.sleep(max(0.0, started + tick * 0.01 - loop.time()))
            elapsed = loop.time() - started
            cpu = cpu_seconds() - started_cpu
            written = 0
            for recorder in recorders:
                await recorder.stop()
                written += sum(s["framesWritten"] for s in recorder.stats()["streams"])
        return {
            "pairs": pairs,
            "recording": record,
            "seconds": round(elapsed, 2),
            "cpu_cores": round(cpu / elapsed, 4),
            "frames_written": written,
        }
    finally:
        for recorder in recorders:
            with contextlib.suppress(Exception):
                await recorder.stop()
        worker.close()


async def main(seconds: float) -> dict[str, Any]:
    results: dict[str, Any] = {}
    baseline = await run_taps(0, 10, seconds)
    taps = await run_taps(10, 10, seconds)
    per_tap_cpu = (taps["cpu_cores"] - baseline["cpu_cores"]) / taps["taps"]
    results["taps"] = {
        "without_taps": baseline,
        "with_100_taps": taps,
        "cpu_cores_per_tap": round(per_tap_cpu, 5),
        "cpu_cores_all_taps": round(taps["cpu_cores"] - baseline["cpu_cores"], 4),
        "rss_bytes_per_tap": round(taps["rss_growth_bytes"] / taps["taps"]),
    }
    results["throughput_1080p_vp8"] = await run_throughput(seconds)
    senders = await run_recorder(10, seconds, record=False)
    recording = await run_recorder(10, seconds, record=True)
    results["recorder"] = {
        "senders_only": senders,
        "senders_and_recorders": recording,
        "cpu_cores_per_recorded_stream": round(
            (recording["cpu_cores"] - senders["cpu_cores"]) / (2 * recording["pairs"]), 5
        ),
    }
    return results


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--output", type=Path, default=RESULTS / "frames_bench.json")
    arguments = parser.parse_args()
    results = asyncio.run(main(arguments.seconds))
    results["date"] = time.strftime("%Y-%m-%d")
    results["load_average"] = os.getloadavg()
    text = json.dumps(results, indent=2)
    print(text)
    arguments.output.write_text(text + "\n")


if __name__ == "__main__":
    cli()
