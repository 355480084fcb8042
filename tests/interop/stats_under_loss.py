"""The scenario of tests/interop/test_stats_under_loss.py, run inside a namespace whose
loopback has netem loss, delay and jitter: a pymediasoup peer produces VP8 and opus (aiortc
encoders), another consumes both and decodes them, and the stats of both producers, both
consumers and both transports are printed as JSON."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aioice.ice
from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack

import mediasoup_py
from tests.interop.pymediasoup_peer import Peer
from tests.interop.test_routing_pymediasoup import MEDIA_CODECS, decoded_frames

# Frames each receiver decodes: about five seconds of aiortc's 30 fps video.
FRAMES = 150


async def main() -> dict[str, Any]:
    # aioice drops exactly "127.0.0.1" from host candidates; the namespace has only lo.
    aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]
    worker = await mediasoup_py.create_worker(rtc_min_port=46300, rtc_max_port=46399)
    peers: list[Peer] = []
    try:
        router = await worker.create_router(media_codecs=MEDIA_CODECS[:2])  # type: ignore[arg-type]
        video, audio = VideoStreamTrack(), AudioStreamTrack()
        sender = await Peer.join(router, [video, audio])
        peers.append(sender)
        producers = await sender.produce([video, audio])
        receiver = await Peer.join(router)
        peers.append(receiver)
        pairs = await receiver.consume(producers)
        await asyncio.wait_for(
            asyncio.gather(*(decoded_frames(client.track, FRAMES) for _, client in pairs)),
            timeout=60,
        )
        # The receiver's next reports (every second or so) answer our latest sender
        # reports: the round trip is known by then.
        await asyncio.sleep(1.5)
        (send_transport,) = {producer.transport for producer in producers}
        return {
            "producers": {p.kind: await p.get_stats() for p in producers},
            "consumers": {c.kind: await c.get_stats() for c, _ in pairs},
            "sendTransport": await send_transport.get_stats(),
            "recvTransport": await receiver.receiving.get_stats(),
        }
    finally:
        for peer in peers:
            await peer.close()
        worker.close()


if __name__ == "__main__":
    print(json.dumps(asyncio.run(asyncio.wait_for(main(), 90))))
