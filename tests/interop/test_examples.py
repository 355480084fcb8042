"""The examples run as their docstrings say: against the demo, ffmpeg streams a test pattern
and a tone into a room as a broadcaster (examples/ffmpeg_into_room.py) and the recorder
(examples/record_participant.py) records that participant to a WebM file that ffmpeg then
decodes whole, with growing timestamps, both with the join tokens the demo asks for when it
has a secret; a DirectTransport consumer counts a producer's frames
in Python (examples/direct_frame_counter.py); and the v2 protocol app (examples/v2_room) serves
its page (its calls are tested in test_mediasoup_client_v2_chromium.py)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from mediasoup_py.demo import DemoServer, DemoSettings
from mediasoup_py.signaling import issue_token
from tests.interop.ffmpeg_peer import decode_errors, probe

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
RECORD_SECONDS = 5
TOKEN_SECRET = "examples-test-secret-of-32-bytes!"


async def run_examples() -> dict[str, Any]:
    # The demo's recorder writes here; the example copies the file to its --output.
    record_dir = Path(tempfile.mkdtemp())
    server = DemoServer(
        DemoSettings(
            workers=1,
            rtc_min_port=48200,
            rtc_max_port=48299,
            record_dir=record_dir,
            token_secret=TOKEN_SECRET,
        )
    )
    await server.start()
    runner = web.AppRunner(server.app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    url = f"http://127.0.0.1:{port}"
    session = aiohttp.ClientSession()
    try:
        # Someone is in the room (a connected client): the HTTP API creates no rooms.
        viewer_token = issue_token(TOKEN_SECRET, room="examples", peer_id="viewer")
        viewer = await session.ws_connect(
            f"{url}/ws?roomId=examples&peerId=viewer&token={viewer_token}"
        )
        streamer = await asyncio.create_subprocess_exec(
            sys.executable,
            str(EXAMPLES / "ffmpeg_into_room.py"),
            "--url",
            url,
            "--room",
            "examples",
            "--seconds",
            str(RECORD_SECONDS + 6),
            "--id",
            "ffmpeg",
            "--token",
            issue_token(TOKEN_SECRET, room="examples", peer_id="ffmpeg", kind="broadcaster"),
            stdout=asyncio.subprocess.PIPE,
        )
        # The broadcaster is in the room once the example says it streams.
        assert streamer.stdout is not None
        announced = await asyncio.wait_for(streamer.stdout.readline(), 30)
        status_while_streaming = server.status()
        with tempfile.TemporaryDirectory() as directory:
            output = Path(directory) / "recording.webm"
            recorder = await asyncio.create_subprocess_exec(
                sys.executable,
                str(EXAMPLES / "record_participant.py"),
                "--url",
                url,
                "--room",
                "examples",
                "--output",
                str(output),
                "--seconds",
                str(RECORD_SECONDS),
                "--token",
                issue_token(TOKEN_SECRET, room="examples", peer_id="recorder", kind="broadcaster"),
                stdout=asyncio.subprocess.PIPE,
            )
            recorder_output, _ = await asyncio.wait_for(recorder.communicate(), 90)
            streams = await probe(output)
            errors = await decode_errors(output)
        streamer_code = await asyncio.wait_for(streamer.wait(), 90)
        await viewer.close()
        await asyncio.sleep(0.2)
        return {
            "announced": announced.decode(),
            "statusWhileStreaming": status_while_streaming,
            "recorderOutput": recorder_output.decode(),
            "recorderCode": recorder.returncode,
            "streamerCode": streamer_code,
            "streams": streams,
            "decodeErrors": errors,
            "roomsAfter": server.status()["rooms"],
        }
    finally:
        await session.close()
        await runner.cleanup()
        await server.close()


def test_ffmpeg_streams_into_a_room_and_the_recorder_records_it() -> None:
    result = asyncio.run(asyncio.wait_for(run_examples(), 240))
    assert "streaming into room 'examples'" in result["announced"]
    assert result["statusWhileStreaming"]["producers"] == 2
    assert "recording 'ffmpeg'" in result["recorderOutput"]
    assert (result["recorderCode"], result["streamerCode"]) == (0, 0)
    streams = {stream["codec_type"]: stream for stream in result["streams"]}
    video, audio = streams["video"], streams["audio"]
    assert (video["codec_name"], video["width"], video["height"]) == ("vp8", 640, 360)
    # Recording starts at the first keyframe (ffmpeg sends one a second), after the demo
    # loads PyAV for its first recording.
    assert int(video["nb_read_frames"]) >= 25 * (RECORD_SECONDS - 2), result["streams"]
    assert audio["codec_name"] == "opus"
    assert int(audio["nb_read_frames"]) >= 40 * (RECORD_SECONDS - 2)
    # Every frame decodes and the timestamps grow.
    assert result["decodeErrors"] == "", result["decodeErrors"]
    # Both left: the room is gone.
    assert result["roomsAfter"] == 0


def test_the_direct_transport_frame_counter_counts_ffmpegs_frames() -> None:
    completed = subprocess.run(
        [sys.executable, str(EXAMPLES / "direct_frame_counter.py"), "--seconds", "3"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    total = int(completed.stdout.strip().splitlines()[-1].split()[1])
    # 3 s of ffmpeg's 30 fps test pattern, every frame seen by Python.
    assert 80 <= total <= 95, completed.stdout


def test_the_v2_room_example_serves_its_page_and_the_v2_client() -> None:
    async def run() -> dict[str, int]:
        server = await asyncio.create_subprocess_exec(
            sys.executable,
            str(EXAMPLES / "v2_room" / "server.py"),
            "--port",
            "0",
            "--seconds",
            "10",
            stdout=asyncio.subprocess.PIPE,
        )
        try:
            assert server.stdout is not None
            line = (await asyncio.wait_for(server.stdout.readline(), 20)).decode()
            url = line.split("open ", 1)[1].split("?", 1)[0]
            sizes = {}
            async with aiohttp.ClientSession() as session:
                for path in ("", "app.js", "mediasoup-client-v2.js"):
                    async with session.get(url + path) as response:
                        assert response.status == 200, path
                        sizes[path] = len(await response.read())
            return sizes
        finally:
            server.terminate()
            await server.wait()

    sizes = asyncio.run(run())
    # The page, its script, and mediasoup-client 2.x bundled from npm by the set-up.
    assert sizes[""] > 0
    assert sizes["app.js"] > 0
    assert sizes["mediasoup-client-v2.js"] > 100_000
