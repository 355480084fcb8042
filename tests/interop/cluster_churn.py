"""Churn through a cluster's nodes: participants that join room ``r`` through one node or
the other (the v3 protocol over the demo's WebSocket, as mediasoup-client speaks it:
capabilities, a sending and a receiving transport, join, an opus producer, and an answer
to every ``newConsumer``) and leave, ``--cycles`` times, ``--concurrency`` at a time
(each staying ``--stay`` seconds), while one watcher per node stays (so every producer is
piped to the other node and consumed there). Prints a JSON line after the churn and,
once told to go on (a line on stdin), the watchers leave and a last JSON line follows.

    python -m tests.interop.cluster_churn --nodes http://A:8080,http://B:8080 --cycles 1000
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import random
import sys
import time
from typing import Any

import aiohttp

# How long the churner waits, at most, for the nodes to settle after the last leave, and
# for a churner's producer to be offered to every watcher.
SETTLE_CEILING_S = 30.0
OFFER_CEILING_S = 20.0


class Participant:
    """One WebSocket connection speaking the room protocol, without media."""

    def __init__(self, session: aiohttp.ClientSession, url: str, peer_id: str) -> None:
        self._session = session
        self._url = url
        self.peer_id = peer_id
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._socket: aiohttp.ClientWebSocketResponse | None = None
        self._reader: asyncio.Task[None] | None = None
        self.consumers_offered = 0
        # The peers whose producers this participant was offered, and a wake-up for
        # whoever waits on that.
        self.offered_from: set[str] = set()
        self.offered = asyncio.Event()

    async def _request(self, method: str, data: dict[str, Any]) -> dict[str, Any]:
        assert self._socket is not None
        request_id = next(self._ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        await self._socket.send_json(
            {"request": True, "id": request_id, "method": method, "data": data}
        )
        response = await asyncio.wait_for(future, 20)
        if not response.get("ok"):
            raise RuntimeError(f"{method}: {response.get('errorReason')}")
        data_back: dict[str, Any] = response.get("data") or {}
        return data_back

    async def _read(self) -> None:
        assert self._socket is not None
        async for message in self._socket:
            if message.type != aiohttp.WSMsgType.TEXT:
                continue
            data = message.json()
            if data.get("response"):
                future = self._pending.pop(data.get("id"), None)
                if future is not None and not future.done():
                    future.set_result(data)
            elif data.get("request") and data.get("method") == "newConsumer":
                self.consumers_offered += 1
                self.offered_from.add(str(data.get("data", {}).get("peerId")))
                self.offered.set()
                await self._socket.send_json(
                    {"response": True, "id": data["id"], "ok": True, "data": {}}
                )

    async def join(self, produce: bool) -> None:
        ws_url = self._url.replace("http", "ws", 1) + "/ws"
        self._socket = await self._session.ws_connect(
            ws_url, params={"roomId": "r", "peerId": self.peer_id}
        )
        self._reader = asyncio.ensure_future(self._read())
        capabilities = await self._request("getRouterRtpCapabilities", {})
        send = await self._request("createWebRtcTransport", {"producing": True})
        await self._request("createWebRtcTransport", {"consuming": True})
        await self._request(
            "join", {"displayName": self.peer_id, "device": {}, "rtpCapabilities": capabilities}
        )
        if produce:
            opus = next(c for c in capabilities["codecs"] if c["mimeType"] == "audio/opus")
            await self._request(
                "produce",
                {
                    "transportId": send["id"],
                    "kind": "audio",
                    "rtpParameters": {
                        "mid": "0",
                        "codecs": [
                            {
                                "mimeType": "audio/opus",
                                "payloadType": opus["preferredPayloadType"],
                                "clockRate": 48000,
                                "channels": 2,
                            }
                        ],
                        "headerExtensions": [],
                        "encodings": [{"ssrc": random.randrange(1, 2**32)}],
                        "rtcp": {"cname": self.peer_id},
                    },
                },
            )

    async def leave(self) -> None:
        if self._socket is not None:
            await self._socket.close()
        if self._reader is not None:
            self._reader.cancel()


async def debug(session: aiohttp.ClientSession, url: str) -> dict[str, Any]:
    async with session.get(url + "/debug/rooms") as response:
        result: dict[str, Any] = await response.json()
        return result


def only_watchers(room: dict[str, Any] | None, watchers: int) -> bool:
    """Whether a node's room holds its watchers and nothing else: no churner, no pipe, no
    consumer."""
    if room is None:
        return False
    link = room.get("link", {})
    return (
        len(room.get("peers", [])) == watchers
        and not room.get("pipes")
        and not room.get("consumers")
        and not link.get("incomingPipes")
        and not link.get("outgoingPipes")
    )


async def settled(
    session: aiohttp.ClientSession,
    nodes: list[str],
    condition: Any,
    ceiling: float = SETTLE_CEILING_S,
) -> dict[str, Any]:
    """The nodes' rooms once ``condition(room r or None)`` holds on every node, or as they
    are at ``ceiling`` seconds (the test then says what is left)."""
    deadline = time.monotonic() + ceiling
    while True:
        views = {url: await debug(session, url) for url in nodes}
        if all(condition(view["rooms"].get("r")) for view in views.values()):
            return views
        if time.monotonic() > deadline:
            return views
        await asyncio.sleep(0.2)


async def churn(nodes: list[str], cycles: int, concurrency: int, stay: float) -> None:
    async with aiohttp.ClientSession() as session:
        watchers = [Participant(session, url, f"watcher-{i}") for i, url in enumerate(nodes)]
        for watcher in watchers:
            await watcher.join(produce=False)
        started = time.monotonic()
        failures: list[str] = []
        slots = asyncio.Semaphore(concurrency)

        async def offered_to_all(peer_id: str) -> None:
            for watcher in watchers:
                while peer_id not in watcher.offered_from:
                    watcher.offered.clear()
                    await watcher.offered.wait()

        async def cycle(index: int) -> None:
            async with slots:
                participant = Participant(session, nodes[index % len(nodes)], f"churn-{index}")
                try:
                    await participant.join(produce=True)
                    # Until every watcher, the other node's through a pipe, was offered the
                    # producer (a loaded machine takes longer than ``stay``).
                    await asyncio.sleep(stay)
                    await asyncio.wait_for(offered_to_all(participant.peer_id), OFFER_CEILING_S)
                except Exception as error:
                    failures.append(repr(error))
                finally:
                    await participant.leave()

        await asyncio.gather(*(cycle(index) for index in range(cycles)))
        elapsed = time.monotonic() - started
        # What the watchers' nodes hold once the last leave has been heard everywhere (and
        # the pipes it emptied closed): seconds on a loaded machine.
        during = await settled(session, nodes, lambda room: only_watchers(room, len(nodes)))
        print(
            json.dumps(
                {
                    "cycles": cycles,
                    "seconds": elapsed,
                    "failures": failures[:5],
                    "failureCount": len(failures),
                    "consumersOffered": [w.consumers_offered for w in watchers],
                    "nodes": during,
                }
            ),
            flush=True,
        )
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        for watcher in watchers:
            await watcher.leave()
        after = await settled(session, nodes, lambda room: room is None)
        print(json.dumps({"nodes": after}), flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--nodes", required=True)
    parser.add_argument("--cycles", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--stay", type=float, default=0.5, help="seconds each stays")
    arguments = parser.parse_args()
    asyncio.run(
        churn(arguments.nodes.split(","), arguments.cycles, arguments.concurrency, arguments.stay)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
