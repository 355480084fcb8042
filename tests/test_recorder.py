"""The recorder with a Python sender (send_frame of libvpx VP8 and libopus frames from
PyAV): pausing leaves no gap in the timeline, and a recording process that dies mid-way
leaves a file that plays up to its last cluster."""

from __future__ import annotations

import asyncio
import fractions
import itertools
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import mediasoup_py

OPUS: Any = {"kind": "audio", "mimeType": "audio/opus", "clockRate": 48000, "channels": 2}
VP8: Any = {"kind": "video", "mimeType": "video/VP8", "clockRate": 90000}


def encoded_media() -> tuple[list[tuple[bytes, bool]], list[bytes]]:
    """Two seconds of VP8 (320x240, 30 fps, a keyframe each 5) and of opus (20 ms)."""
    import av
    import numpy as np

    video = av.CodecContext.create("libvpx", "w")
    video.width, video.height, video.pix_fmt = 320, 240, "yuv420p"
    video.time_base = fractions.Fraction(1, 30)
    video.gop_size = 5
    video.options = {"deadline": "realtime", "cpu-used": "8"}
    frames: list[tuple[bytes, bool]] = []
    for index in range(60):
        picture = np.full((240, 320, 3), (index * 4) % 256, dtype=np.uint8)
        frame = av.VideoFrame.from_ndarray(picture, format="rgb24").reformat(format="yuv420p")
        frame.pts = index
        frames += [(bytes(p), bool(p.is_keyframe)) for p in video.encode(frame)]
    audio = av.CodecContext.create("libopus", "w")
    audio.sample_rate, audio.layout, audio.format = 48000, "stereo", "s16"
    audio.time_base = fractions.Fraction(1, 48000)
    packets: list[bytes] = []
    for index in range(100):
        chunk = av.AudioFrame.from_ndarray(
            np.zeros((1, 1920), dtype=np.int16), format="s16", layout="stereo"
        )
        chunk.sample_rate, chunk.pts = 48000, index * 960
        packets += [bytes(p) for p in audio.encode(chunk)]
    return frames, packets


async def direct_producer(router: mediasoup_py.Router, codec: Any, ssrc: int) -> Any:
    transport = await router.create_direct_transport()
    parameters: dict[str, Any] = {
        "mimeType": codec["mimeType"],
        "payloadType": 100 if codec["kind"] == "audio" else 101,
        "clockRate": codec["clockRate"],
    }
    if codec["kind"] == "audio":
        parameters["channels"] = 2
    return await transport.produce(
        kind=codec["kind"], rtp_parameters={"codecs": [parameters], "encodings": [{"ssrc": ssrc}]}
    )


async def send(video: Any, audio: Any, media: Any, seconds: float) -> None:
    """Sends ``seconds`` of media in real time."""
    frames, packets = media
    started = time.monotonic()
    tick = 0
    video_count = 0
    while (elapsed := time.monotonic() - started) < seconds:
        # 10 ms ticks: audio every other one (20 ms), video on 3 of each 10 (30 fps).
        if tick % 2 == 0:
            n = tick // 2
            await audio.send_frame(packets[n % len(packets)], n * 960)
        if tick % 10 in (0, 3, 7):
            data, keyframe = frames[video_count % len(frames)]
            await video.send_frame(data, video_count * 3000, keyframe=keyframe)
            video_count += 1
        tick += 1
        await asyncio.sleep(max(0.0, tick * 0.01 - elapsed))


def ffprobe_packets(path: Path) -> dict[str, Any]:
    completed = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-of",
            "json",
            "-show_entries",
            "packet=stream_index,pts_time:format=duration",
            str(path),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    result: dict[str, Any] = json.loads(completed.stdout or "{}")
    return result


def decode_errors(path: Path) -> str:
    completed = subprocess.run(
        ["ffmpeg", "-hide_banner", "-v", "error", "-i", str(path), "-f", "null", "-"],
        capture_output=True,
        text=True,
        check=False,
    )
    return completed.stderr


async def record_with_pause(path: Path) -> float:
    media = encoded_media()
    worker = await mediasoup_py.create_worker()
    try:
        router = await worker.create_router(media_codecs=[OPUS, VP8])
        video = await direct_producer(router, VP8, 11)
        audio = await direct_producer(router, OPUS, 12)
        sending = asyncio.ensure_future(send(video, audio, media, 7.0))
        recorder = await mediasoup_py.record(router, [video, audio], path)
        started = time.monotonic()
        await asyncio.sleep(2.5)
        recorder.pause()
        await asyncio.sleep(2.0)
        recorder.resume()
        await asyncio.sleep(2.0)
        await recorder.stop()
        recorded = time.monotonic() - started - 2.0
        await sending
        return recorded
    finally:
        worker.close()


def test_pausing_leaves_no_gap_in_the_timeline(tmp_path: Path) -> None:
    path = tmp_path / "paused.webm"
    recorded = asyncio.run(record_with_pause(path))
    probe = ffprobe_packets(path)
    duration = float(probe["format"]["duration"])
    # The 2 s pause is not in the file, and nothing else is missing.
    assert abs(duration - recorded) < 0.5, (duration, recorded)
    audio_times = sorted(float(p["pts_time"]) for p in probe["packets"] if p["stream_index"] == 1)
    gaps = [b - a for a, b in itertools.pairwise(audio_times)]
    # Audio runs on without a hole where the pause was (video resumes at a keyframe).
    assert max(gaps) < 0.2, max(gaps)
    assert decode_errors(path) == ""


CRASHING_RECORDER = """
import asyncio, os, sys
sys.path.insert(0, {root!r})
from tests.test_recorder import direct_producer, encoded_media, send, OPUS, VP8
import mediasoup_py

async def main():
    media = encoded_media()
    worker = await mediasoup_py.create_worker()
    router = await worker.create_router(media_codecs=[OPUS, VP8])
    video = await direct_producer(router, VP8, 21)
    audio = await direct_producer(router, OPUS, 22)
    sending = asyncio.ensure_future(send(video, audio, media, 10.0))
    await mediasoup_py.record(router, [video, audio], {path!r})
    await asyncio.sleep(4.5)
    os._exit(3)  # dies without stop(): no index, no duration

asyncio.run(main())
"""


def test_a_recording_cut_short_by_a_crash_plays_up_to_its_last_cluster(tmp_path: Path) -> None:
    path = tmp_path / "crashed.webm"
    root = str(Path(__file__).resolve().parents[1])
    script = CRASHING_RECORDER.format(root=root, path=str(path))
    completed = subprocess.run([sys.executable, "-c", script], timeout=60, check=False)
    assert completed.returncode == 3
    probe = ffprobe_packets(path)
    video_times = [float(p["pts_time"]) for p in probe["packets"] if p["stream_index"] == 0]
    # Clusters close each second: all but the last second or so is in the file.
    assert max(video_times) > 2.5, max(video_times)
    assert decode_errors(path) == ""
