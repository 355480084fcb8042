"""consumer.frames() with ffmpeg as the sender: ffmpeg sends a 3 s, 30 fps test pattern
(VP8, or H.264 in packetization mode 1) and a 440 Hz opus tone over PlainTransports; the
DirectTransport consumers' frames() yield every video frame ffmpeg reports it encoded, with
its keyframes flagged, and every one decodes with PyAV; the opus frames are 20 ms packets of
the tone. Then a Python producer's send_frame() publishes those VP8 frames again, and a
second tap gets them all back, byte for byte."""

from __future__ import annotations

import asyncio
import itertools
import re
from typing import Any

import pytest

import mediasoup_py
from mediasoup_py import ffmpeg
from mediasoup_py.frames import EncodedFrame

SECONDS = 3
OPUS: Any = {"kind": "audio", "mimeType": "audio/opus", "clockRate": 48000, "channels": 2}
VP8: Any = {"kind": "video", "mimeType": "video/VP8", "clockRate": 90000}
H264: Any = {
    "kind": "video",
    "mimeType": "video/H264",
    "clockRate": 90000,
    "parameters": {"packetization-mode": 1, "profile-level-id": "42e01f"},
}
ENCODERS = {
    "video/VP8": ["-c:v", "libvpx", "-deadline", "realtime", "-b:v", "1M"],
    "video/H264": [
        *["-c:v", "libx264", "-pix_fmt", "yuv420p", "-tune", "zerolatency"],
        *["-profile:v", "baseline"],
    ],
}


async def collect(stream: Any, into: list[EncodedFrame]) -> None:
    async for frame in stream:
        into.append(frame)


async def frames_from_ffmpeg(video_codec: Any) -> dict[str, Any]:
    worker = await mediasoup_py.create_worker(rtc_min_port=46000, rtc_max_port=46999)
    try:
        router = await worker.create_router(media_codecs=[OPUS, video_codec])
        listen = {"protocol": "udp", "ip": "127.0.0.1"}
        video_in = await router.create_plain_transport(listen_info=listen, comedia=True)  # type: ignore[arg-type]
        audio_in = await router.create_plain_transport(listen_info=listen, comedia=True)  # type: ignore[arg-type]
        video_codec_parameters = {
            "mimeType": video_codec["mimeType"],
            "payloadType": ffmpeg.VIDEO_PAYLOAD_TYPE,
            "clockRate": 90000,
            "parameters": video_codec.get("parameters", {}),
        }
        video_producer = await video_in.produce(
            kind="video",
            rtp_parameters={
                "codecs": [video_codec_parameters],
                "encodings": [{"ssrc": ffmpeg.VIDEO_SSRC}],
            },
        )
        audio_producer = await audio_in.produce(
            kind="audio",
            rtp_parameters=ffmpeg.producer_parameters("audio"),  # type: ignore[arg-type]
        )
        tap = await router.create_direct_transport()
        video_consumer = await tap.consume(
            producer_id=video_producer.id, rtp_capabilities=router.rtp_capabilities
        )
        audio_consumer = await tap.consume(
            producer_id=audio_producer.id, rtp_capabilities=router.rtp_capabilities
        )
        video_frames: list[EncodedFrame] = []
        audio_frames: list[EncodedFrame] = []
        video_stream = video_consumer.frames(max_queue=1000)
        audio_stream = audio_consumer.frames(max_queue=1000)
        readers = [
            asyncio.ensure_future(collect(video_stream, video_frames)),
            asyncio.ensure_future(collect(audio_stream, audio_frames)),
        ]
        command = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-progress", "pipe:1"]
        command += ["-re", "-f", "lavfi", "-i", f"testsrc=size=320x240:rate=30:duration={SECONDS}"]
        command += ["-re", "-f", "lavfi", "-i", f"sine=frequency=440:duration={SECONDS}"]
        command += ["-map", "0:v", *ENCODERS[video_codec["mimeType"]], "-g", "30"]
        command += ["-payload_type", str(ffmpeg.VIDEO_PAYLOAD_TYPE)]
        command += ["-ssrc", str(ffmpeg.VIDEO_SSRC)]
        command += ffmpeg.rtp_output("127.0.0.1", video_in.tuple["localPort"])
        command += ["-map", "1:a", "-c:a", "libopus", "-ac", "2", "-ar", "48000"]
        command += ["-payload_type", str(ffmpeg.AUDIO_PAYLOAD_TYPE)]
        command += ["-ssrc", str(ffmpeg.AUDIO_SSRC)]
        command += ffmpeg.rtp_output("127.0.0.1", audio_in.tuple["localPort"])
        process = await asyncio.create_subprocess_exec(
            *command, stdout=asyncio.subprocess.PIPE, stdin=asyncio.subprocess.DEVNULL
        )
        progress, _ = await asyncio.wait_for(process.communicate(), SECONDS + 20)
        assert process.returncode == 0
        encoded = [int(n) for n in re.findall(rb"^frame=(\d+)$", progress, re.M)][-1]
        await asyncio.sleep(0.5)
        # The last frame leaves the assembler once the next one starts: ffmpeg ends the
        # stream, so what is complete at the end is in.
        video_stream.close()
        audio_stream.close()
        await asyncio.gather(*readers)
        decoded = sum(len(frame.decode()) for frame in video_frames)
        decoded_audio = [frame.decode() for frame in audio_frames[:10]]
        result: dict[str, Any] = {
            "encoded": encoded,
            "video": video_frames,
            "audio": audio_frames,
            "decoded": decoded,
            "decoded_audio": decoded_audio,
            "video_stats": video_stream.stats(),
            "audio_stats": audio_stream.stats(),
        }
        if video_codec["mimeType"] == "video/VP8":
            result["resent"] = await resend_with_send_frame(router, video_frames)
        return result
    finally:
        worker.close()


async def resend_with_send_frame(
    router: mediasoup_py.Router, frames: list[EncodedFrame]
) -> list[EncodedFrame]:
    """A Python producer publishes the frames again; a tap of it reads them back."""
    source = await router.create_direct_transport()
    producer = await source.produce(
        kind="video",
        rtp_parameters={
            "codecs": [{"mimeType": "video/VP8", "payloadType": 96, "clockRate": 90000}],
            "encodings": [{"ssrc": 5555}],
        },
    )
    tap = await router.create_direct_transport()
    consumer = await tap.consume(producer_id=producer.id, rtp_capabilities=router.rtp_capabilities)
    stream = consumer.frames(max_queue=1000)
    back: list[EncodedFrame] = []
    reader = asyncio.ensure_future(collect(stream, back))
    for index, frame in enumerate(frames):
        await producer.send_frame(frame.data, 3000 * index, keyframe=frame.keyframe)
        await asyncio.sleep(1 / 120)
    await asyncio.sleep(0.3)
    stream.close()
    await reader
    return back


@pytest.mark.parametrize("video_codec", [VP8, H264], ids=["VP8", "H264"])
def test_frames_from_ffmpeg_match_what_it_encoded(video_codec: Any) -> None:
    result = asyncio.run(frames_from_ffmpeg(video_codec))
    video: list[EncodedFrame] = result["video"]
    assert result["encoded"] == SECONDS * 30
    # Every frame but the last, which no later packet closes (its marker is in, but the
    # assembler hands it out at once: all of them).
    assert len(video) == result["encoded"], result["video_stats"]
    assert [i for i, frame in enumerate(video) if frame.keyframe] == [0, 30, 60]
    assert all(frame.codec == video_codec["mimeType"] for frame in video)
    assert result["decoded"] == len(video)
    timestamps = [frame.rtp_timestamp for frame in video]
    assert all(b - a == 3000 for a, b in itertools.pairwise(timestamps))
    audio: list[EncodedFrame] = result["audio"]
    # 20 ms opus packets of a 3 s tone, one frame each (ffmpeg may pad one at the end).
    assert SECONDS * 50 <= len(audio) <= SECONDS * 50 + 2, result["audio_stats"]
    assert all(len(frames) == 1 for frames in result["decoded_audio"])
    assert result["video_stats"]["framesLost"] == 0
    assert result["video_stats"]["framesDroppedQueue"] == 0
    if "resent" in result:
        resent: list[EncodedFrame] = result["resent"]
        assert [f.data for f in resent] == [f.data for f in video]
        assert [f.keyframe for f in resent] == [f.keyframe for f in video]
