"""What a join costs in a room of 10, 100 and 500 peers: the demo (``python -m
mediasoup_py.demo``, its own process, one worker) takes N WebSocket clients one after the
other into one room; for each join we time the ``join`` request (sent to answered) and count
the bytes the server sends all clients because of it (the join response and every ``newPeer``
it sets off). Run with the default ``announced_peers`` (100: past it, peers are announced to
a peer only when it consumes from them) and with the cap lifted (every join announced to
everyone, O(N) per join and O(N^2) per room), in the same run. Writes
benches/results/join-cost-<date>.json and .md and prints the table.

    .venv/bin/python -m benches.join_cost                # 10, 100, 500 peers
    .venv/bin/python -m benches.join_cost --sizes 10     # one size

The clients join without RTP capabilities (nobody produces): this is the cost of the
announcements, not of media.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import socket
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp

RESULTS = Path(__file__).resolve().parent / "results"
# Bounds whatever the arguments say.
MAX_PEERS = 1000
UNCAPPED = 1_000_000


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Counted:
    """One client: answers nothing, counts what it receives."""

    def __init__(self, socket_: aiohttp.ClientWebSocketResponse, totals: list[int]) -> None:
        self.socket = socket_
        self.totals = totals
        self.answer: asyncio.Future[dict[str, Any]] | None = None
        self.reader = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        async for message in self.socket:
            if message.type != aiohttp.WSMsgType.TEXT:
                continue
            self.totals[0] += len(message.data.encode())
            data = json.loads(message.data)
            if data.get("response") and self.answer is not None and not self.answer.done():
                self.answer.set_result(data)


async def _demo(port: int, peers: int, announced: int) -> asyncio.subprocess.Process:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "mediasoup_py.demo",
        "--port",
        str(port),
        "--workers",
        "1",
        "--rtc-min-port",
        "45000",
        "--rtc-max-port",
        "45099",
        "--peers-per-room",
        str(peers + 1),
        "--connections-per-address",
        str(peers + 1),
        "--announced-peers",
        str(announced),
        stderr=asyncio.subprocess.DEVNULL,
    )
    async with aiohttp.ClientSession() as session:
        for _ in range(200):
            try:
                async with session.get(f"http://127.0.0.1:{port}/"):
                    return process
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.05)
    process.kill()
    raise TimeoutError("the demo did not start")


async def measure(peers: int, announced: int) -> dict[str, Any]:
    """N joins into one room; per join, its time and the bytes it made the server send."""
    port = _free_port()
    process = await _demo(port, peers, announced)
    totals = [0]
    times: list[float] = []
    sizes: list[int] = []
    clients: list[Counted] = []
    try:
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector) as session:
            for index in range(peers):
                socket_ = await session.ws_connect(
                    f"http://127.0.0.1:{port}/ws?roomId=bench&peerId=p{index}"
                )
                client = Counted(socket_, totals)
                clients.append(client)
                client.answer = asyncio.get_running_loop().create_future()
                before = totals[0]
                started = time.perf_counter()
                await socket_.send_json(
                    {
                        "request": True,
                        "id": 1,
                        "method": "join",
                        "data": {"displayName": f"peer {index}", "device": {"name": "bench"}},
                    }
                )
                response = await asyncio.wait_for(client.answer, 30)
                times.append(time.perf_counter() - started)
                assert response["ok"], response
                # What the join set off reaches everyone before the next join starts.
                await asyncio.sleep(0.005 + 0.00002 * index)
                sizes.append(totals[0] - before)
            for client in clients:
                await client.socket.close()
                client.reader.cancel()
    finally:
        process.terminate()
        await process.wait()
    tail = max(1, peers // 10)
    return {
        "peers": peers,
        "announcedPeers": announced,
        "meanJoinMs": statistics.mean(times) * 1000,
        "lastJoinsMs": statistics.mean(times[-tail:]) * 1000,
        "meanBytesPerJoin": statistics.mean(sizes),
        "lastJoinsBytes": statistics.mean(sizes[-tail:]),
        "totalBytes": sum(sizes),
    }


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| peers in the room | announced_peers | time per join, mean (last 10%) | "
        "bytes sent per join, mean (last 10%) | bytes for the whole room |",
        "|---|---|---|---|---|",
    ]
    for row in rows:
        cap = "no cap" if row["announcedPeers"] >= UNCAPPED else str(row["announcedPeers"])
        lines.append(
            f"| {row['peers']} | {cap} | {row['meanJoinMs']:.2f} ms "
            f"({row['lastJoinsMs']:.2f} ms) | {row['meanBytesPerJoin']:,.0f} "
            f"({row['lastJoinsBytes']:,.0f}) | {row['totalBytes']:,} |"
        )
    return "\n".join(lines)


async def run(sizes: list[int]) -> list[dict[str, Any]]:
    rows = []
    for peers in sizes:
        for announced in (100, UNCAPPED):
            rows.append(await measure(min(peers, MAX_PEERS), announced))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10,100,500", help="peers per room, comma-separated")
    parser.add_argument("--no-write", action="store_true", help="print only")
    arguments = parser.parse_args(argv)
    sizes = [int(size) for size in arguments.sizes.split(",")]
    rows = asyncio.run(run(sizes))
    text = table(rows)
    print(text)
    if not arguments.no_write:
        stamp = datetime.date.today().isoformat()
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / f"join-cost-{stamp}.json").write_text(json.dumps(rows, indent=2) + "\n")
        header = (
            f"# Join cost, {stamp}\n\n`python -m benches.join_cost --sizes "
            f"{arguments.sizes}` (the demo in its own process, one worker; clients on "
            "127.0.0.1 joining one after the other; 2 shared cores).\n\n"
        )
        (RESULTS / f"join-cost-{stamp}.md").write_text(header + text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
