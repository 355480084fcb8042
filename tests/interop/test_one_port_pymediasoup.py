"""One port for the whole process: a WebRtcServer shared by two workers, with pymediasoup
peers (mediasoup-client's Python port over aiortc, which we did not write) whose transports
are on either worker. A producer on the second worker and consumers on both reach us through
the one UDP port the first worker reads: checks for the second worker's transports are
handed over to it, and once ICE validates a client's tuple that worker reads the client's
datagrams from a socket connected to it on the same port. Nothing else listens."""

from __future__ import annotations

import asyncio
from typing import Any

import aioice.ice
import pytest
from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack

import mediasoup_py
from tests.interop.pymediasoup_peer import Peer
from tests.interop.test_routing_pymediasoup import MEDIA_CODECS, decoded_frames

PORT = 45123
FRAMES_WANTED = 30


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    # aioice drops exactly "127.0.0.1" from host candidates; tests must stay on loopback.
    monkeypatch.setattr(aioice.ice, "get_host_addresses", lambda use_ipv4, use_ipv6: ["127.0.0.1"])


def udp_sockets_on(port: int) -> list[str]:
    """The remote address of each UDP socket of this namespace bound to ``port``
    (``/proc/net/udp``; an unconnected socket's is ``00000000:0000``)."""
    with open("/proc/net/udp") as table:
        rows = [line.split() for line in table.readlines()[1:]]
    return sorted(row[2] for row in rows if int(row[1].split(":")[1], 16) == port)


async def two_workers_one_port() -> dict[str, Any]:
    codecs = [c for c in MEDIA_CODECS if c["mimeType"] != "video/H264"]
    first = await mediasoup_py.create_worker(rtc_min_port=46200, rtc_max_port=46219)
    second = await mediasoup_py.create_worker(rtc_min_port=46220, rtc_max_port=46239)
    peers: list[Peer] = []
    try:
        server = await first.create_webrtc_server(
            listen_infos=[
                {"protocol": "udp", "ip": "127.0.0.1", "port": PORT},
                {"protocol": "tcp", "ip": "127.0.0.1", "port": PORT},
            ],
            share_with=[second],
        )
        home = await first.create_router(media_codecs=codecs)  # type: ignore[arg-type]
        other = await second.create_router(media_codecs=codecs)  # type: ignore[arg-type]
        video, audio = VideoStreamTrack(), AudioStreamTrack()
        sender = await Peer.join(other, [video, audio], webrtc_server=server)
        peers.append(sender)
        producers = await sender.produce([video, audio])
        await other.pipe_to_router(producer_id=producers[0].id, router=home)
        await other.pipe_to_router(producer_id=producers[1].id, router=home)
        results: dict[str, Any] = {}
        for name, router in (("home", home), ("other", other)):
            receiver = await Peer.join(router, webrtc_server=server)
            peers.append(receiver)
            pairs = await receiver.consume(producers)
            received = await asyncio.wait_for(
                asyncio.gather(
                    *(decoded_frames(client.track, FRAMES_WANTED) for _, client in pairs)
                ),
                timeout=30,
            )
            assert receiver.receiving is not None
            results[name] = {
                "frames": [len(sizes) for sizes in received],
                "candidates": receiver.receiving.ice_candidates,
                "stats": (await receiver.receiving.get_stats())[0],
            }
        results["sender"] = (await producers[0].get_stats())[0]
        results["dump"] = await server.dump()
        results["sockets_on_port"] = udp_sockets_on(PORT)
        return results
    finally:
        for peer in peers:
            await peer.close()
        first.close()
        second.close()


def test_peers_on_two_workers_share_one_udp_port() -> None:
    result = asyncio.run(two_workers_one_port())
    for name in ("home", "other"):
        assert result[name]["frames"] == [FRAMES_WANTED, FRAMES_WANTED], result[name]
        # Offered the one port only (the client has no ICE-TCP, so UDP alone).
        assert [(c["protocol"], c["port"]) for c in result[name]["candidates"]] == [("udp", PORT)]
        stats = result[name]["stats"]
        assert stats["iceState"] == "completed"
        assert stats["droppedDatagrams"]["srtp"] == 0
        assert stats["iceSelectedTuple"]["localPort"] == PORT
    dump = result["dump"]
    home, other = dump["workers"]
    # The second worker's clients were handed over by the first until their tuples were
    # validated; then each worker reads its clients from a socket connected to them.
    assert home["handedOver"] >= 2, dump
    assert other["handedOver"] == 0, dump
    assert home["tupleSockets"] == 1, dump
    assert other["tupleSockets"] == 2, dump
    # On the one port: the shared socket, and one connected to each of the three clients.
    sockets = result["sockets_on_port"]
    assert len(set(sockets)) == len(sockets) == 4, sockets
    assert sockets[0] == "00000000:0000", sockets


async def the_worker_reading_the_port_dies() -> dict[str, Any]:
    codecs = [c for c in MEDIA_CODECS if c["mimeType"] != "video/H264"]
    first = await mediasoup_py.create_worker(rtc_min_port=46240, rtc_max_port=46259)
    second = await mediasoup_py.create_worker(rtc_min_port=46260, rtc_max_port=46279)
    peers: list[Peer] = []
    try:
        server = await first.create_webrtc_server(
            listen_infos=[{"protocol": "udp", "ip": "127.0.0.1", "port": PORT + 1}],
            share_with=[second],
        )
        router = await second.create_router(media_codecs=codecs)  # type: ignore[arg-type]
        video = VideoStreamTrack()
        sender = await Peer.join(router, [video], webrtc_server=server)
        peers.append(sender)
        producers = await sender.produce([video])
        receiver = await Peer.join(router, webrtc_server=server)
        peers.append(receiver)
        [(_, client)] = await receiver.consume(producers)
        before = await asyncio.wait_for(decoded_frames(client.track, FRAMES_WANTED), 30)
        died = asyncio.get_running_loop().create_future()
        first.on("died", lambda error: died.done() or died.set_result(str(error)))
        first._debug_panic()
        await asyncio.wait_for(died, 10)
        # The second worker's clients go on through the port...
        after = await asyncio.wait_for(decoded_frames(client.track, FRAMES_WANTED), 30)
        await asyncio.sleep(0.5)
        # ...and a new client gets in: the second worker reads the port now.
        newcomer = await Peer.join(router, webrtc_server=server)
        peers.append(newcomer)
        [(_, late)] = await newcomer.consume(producers)
        joined = await asyncio.wait_for(decoded_frames(late.track, FRAMES_WANTED), 30)
        return {
            "frames": [len(before), len(after), len(joined)],
            "workers": [worker is second for worker in server.workers],
            "closed": server.closed,
            "dump": await server.dump(),
        }
    finally:
        for peer in peers:
            await peer.close()
        first.close()
        second.close()


def test_when_the_worker_reading_the_port_dies_the_next_one_reads_it() -> None:
    result = asyncio.run(the_worker_reading_the_port_dies())
    assert result["frames"] == [FRAMES_WANTED] * 3, result
    assert result["workers"] == [True]
    assert not result["closed"]
    # The three clients of the second worker: each on a socket connected to it.
    assert result["dump"]["workers"][0]["tupleSockets"] == 3, result["dump"]
