"""Records a participant of a demo room to a WebM file with mediasoup_py's recorder (no
ffmpeg, no transcoding): the demo's record endpoint starts ``mediasoup_py.record()`` on the
participant's producers, writing into the demo's ``--record-dir``; after ``--seconds`` the
endpoint stops it (the file gets its index and duration) and the file is copied to
``--output``. Audio and video are lined up from the sender's reports and start at a keyframe.

    python -m mediasoup_py.demo &
    python examples/record_participant.py --room demo --output alice.webm --seconds 30

By default it records the first participant that sends video; --peer picks one by id. The
demo's page has the same as its Record button (the whole room). A demo started with a token
secret wants a broadcaster token that may consume:
``--token $(mediasoup-py token --secret-file S --room demo --peer recorder --kind broadcaster)``
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
from typing import Any

import aiohttp


async def call(session: aiohttp.ClientSession, method: str, url: str, body: Any = None) -> Any:
    async with session.request(method, url, json=body) as response:
        if response.status != 200:
            raise RuntimeError(f"{url}: {response.status} {await response.text()}")
        return await response.json()


async def record(
    url: str, room: str, peer_id: str | None, output: str, seconds: float, token: str | None
) -> int:
    rooms = f"{url.rstrip('/')}/rooms/{room}"
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with aiohttp.ClientSession(headers=headers) as session:
        peers = (await call(session, "GET", rooms))["peers"]
        target = next(
            (
                peer
                for peer in peers
                if (
                    peer["id"] == peer_id
                    if peer_id
                    else any(producer["kind"] == "video" for producer in peer["producers"])
                )
            ),
            None,
        )
        if target is None:
            print("nobody to record", file=sys.stderr)
            return 1
        started = await call(session, "POST", f"{rooms}/recording", {"peerId": target["id"]})
        print(f"recording {target['displayName']!r} to {started['path']}", flush=True)
        try:
            await asyncio.sleep(seconds)
        finally:
            stopped = await call(session, "DELETE", f"{rooms}/recording")
        # The demo runs on this machine: its file is ours to copy.
        shutil.copyfile(stopped["path"], output)
        written = {stream["codec"]: stream["framesWritten"] for stream in stopped["streams"]}
        print(f"wrote {output}: {written}", flush=True)
        return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8080", help="the demo's URL")
    parser.add_argument("--room", default="demo")
    parser.add_argument("--peer", help="the participant's peer id (default: the first with video)")
    parser.add_argument("--output", default="recording.webm")
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--token", help="a broadcaster join token for the room")
    arguments = parser.parse_args()
    return asyncio.run(
        record(
            arguments.url,
            arguments.room,
            arguments.peer,
            arguments.output,
            arguments.seconds,
            arguments.token,
        )
    )


if __name__ == "__main__":
    sys.exit(main())
