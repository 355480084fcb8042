"""Faults, limits and churn (issue 9): a worker that dies takes only its own rooms with it;
closing the server while media flows frees its threads, sockets and ports within a second; a
worker out of ports or of file descriptors says so and recovers; and thousands of peers
joining, producing, consuming and leaving leak no memory, descriptors, threads, tasks or
ports. Real workers and sockets on 127.0.0.1 throughout."""

from __future__ import annotations

import asyncio
import os
import socket
import struct
import subprocess
import sys
import textwrap
import time
from typing import Any

import pytest

import mediasoup_py
from mediasoup_py import errors
from tests.test_room_protocol_v2 import CLIENT_DTLS, MEDIA_CODECS, V2Client, audio_parameters

LOOPBACK: Any = {"protocol": "udp", "ip": "127.0.0.1"}


def open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


def threads() -> int:
    return len(os.listdir("/proc/self/task"))


def resident_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


async def call_in(room: mediasoup_py.Room, sender: str, receiver: str) -> tuple[V2Client, V2Client]:
    """Two v2 peers: ``sender`` produces audio, ``receiver`` consumes it."""
    listener = V2Client(room, receiver)
    await listener.join()
    await listener.request("createTransport", id=1, direction="recv")
    talker = V2Client(room, sender)
    await talker.join()
    await talker.request("createTransport", id=1, direction="send", dtlsParameters=CLIENT_DTLS)
    await talker.request(
        "createProducer", id=2, kind="audio", transportId=1,
        rtpParameters=audio_parameters(4000), paused=False,
    )  # fmt: skip
    await asyncio.sleep(0.05)
    (announced,) = listener.told("newConsumer")
    await listener.request("enableConsumer", id=announced["id"], transportId=1, paused=False)
    return talker, listener


def test_a_worker_that_dies_takes_only_its_own_rooms() -> None:
    async def run() -> None:
        server = await mediasoup_py.Server.create(
            num_workers=2, rtc_min_port=49000, rtc_max_port=49099
        )
        try:
            doomed_worker, survivor = server.workers
            doomed = await server.create_room(MEDIA_CODECS)
            healthy = await server.create_room(MEDIA_CODECS)
            assert (doomed.router.worker, healthy.router.worker) == (doomed_worker, survivor)
            _, doomed_listener = await call_in(doomed, "ann", "ben")
            await call_in(healthy, "cat", "dan")
            died: asyncio.Future[Exception] = asyncio.get_running_loop().create_future()
            doomed_worker.on("died", died.set_result)

            doomed_worker._debug_panic()
            error = await asyncio.wait_for(died, 5)
            assert isinstance(error, mediasoup_py.WorkerDiedError)
            assert "debug hook" in str(error)
            # Its room closed, and its peers' clients were told.
            assert doomed.closed
            assert doomed_worker.closed
            assert doomed_listener.notifications[-1]["method"] == "closed"
            assert server.workers == [survivor]
            assert not server.closed
            # The other worker's room carries on, and new rooms go there.
            assert not healthy.closed
            await call_in(healthy, "eve", "fay")
            assert (await server.create_room(MEDIA_CODECS)).router.worker is survivor
            # And a new worker can be made.
            replacement = await mediasoup_py.create_worker(rtc_min_port=49100, rtc_max_port=49109)
            await replacement.create_router(media_codecs=MEDIA_CODECS)
            replacement.close()
        finally:
            server.close()

    asyncio.run(run())


def rtp_packet(sequence: int, ssrc: int) -> bytes:
    header = struct.pack("!BBHII", 0x80, 111, sequence & 0xFFFF, sequence * 960, ssrc)
    return header + bytes(100)


def test_closing_the_server_while_media_flows_frees_everything_within_a_second() -> None:
    async def run() -> dict[str, Any]:
        descriptors, thread_count = open_descriptors(), threads()
        server = await mediasoup_py.Server.create(
            num_workers=2, rtc_min_port=49000, rtc_max_port=49099
        )
        room = await server.create_room(MEDIA_CODECS)
        ingress = await room.router.create_plain_transport(listen_info=LOOPBACK, comedia=True)
        await ingress.produce(
            kind="audio",
            rtp_parameters={
                "codecs": [{"mimeType": "audio/opus", "payloadType": 111, "clockRate": 48000,
                            "channels": 2}],
                "encodings": [{"ssrc": 1111}],
            },
        )  # fmt: skip
        sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sink.bind(("127.0.0.1", 0))
        sink.setblocking(False)
        egress = await room.router.create_plain_transport(listen_info=LOOPBACK)
        await egress.connect(ip="127.0.0.1", port=sink.getsockname()[1])
        producer_id = (await room.router.dump())["mapProducerIdConsumerIds"][0]["key"]
        await egress.consume(producer_id=producer_id, rtp_capabilities=room.rtp_capabilities)
        ports = [ingress.tuple["localPort"], egress.tuple["localPort"]]
        sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        received = 0
        for sequence in range(300):
            sender.sendto(rtp_packet(sequence, 1111), ("127.0.0.1", ports[0]))
            await asyncio.sleep(0.002)
            try:
                while sink.recv(2048):
                    received += 1
            except BlockingIOError:
                pass
        assert received > 200, received
        sender.close()
        sink.close()

        closed_at = time.monotonic()
        server.close()
        while time.monotonic() - closed_at < 1.0 and (
            threads() > thread_count or not all(port_is_free(port) for port in ports)
        ):
            await asyncio.sleep(0.01)
        return {
            "seconds": time.monotonic() - closed_at,
            "threads": (thread_count, threads()),
            "descriptors": (descriptors, open_descriptors()),
            "portsFree": all(port_is_free(port) for port in ports),
        }

    result = asyncio.run(run())
    assert result["seconds"] < 1.0, result
    assert result["portsFree"], result
    assert result["threads"][1] <= result["threads"][0], result
    assert result["descriptors"][1] <= result["descriptors"][0], result


def test_a_worker_out_of_ports_says_so_and_recovers() -> None:
    async def run() -> None:
        worker = await mediasoup_py.create_worker(rtc_min_port=49110, rtc_max_port=49111)
        try:
            router = await worker.create_router(media_codecs=MEDIA_CODECS)
            transports = [
                await router.create_plain_transport(listen_info=LOOPBACK) for _ in range(2)
            ]
            with pytest.raises(errors.MediasoupError, match="port"):
                await router.create_plain_transport(listen_info=LOOPBACK)
            transports[0].close()
            again = await router.create_plain_transport(listen_info=LOOPBACK)
            assert again.tuple["localPort"] in (49110, 49111)
        finally:
            worker.close()

    asyncio.run(run())


# Run in a child process whose descriptor limit is low (so the test runner keeps its own).
DESCRIPTOR_LIMIT_SCRIPT = textwrap.dedent(
    """
    import asyncio, json, resource
    import mediasoup_py
    from mediasoup_py import errors

    async def main():
        resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
        worker = await mediasoup_py.create_worker(rtc_min_port=49120, rtc_max_port=49199)
        router = await worker.create_router(media_codecs=[
            {"kind": "audio", "mimeType": "audio/opus", "clockRate": 48000, "channels": 2}])
        transports, error = [], None
        for _ in range(80):
            try:
                transports.append(await router.create_plain_transport(
                    listen_info={"protocol": "udp", "ip": "127.0.0.1"}))
            except errors.MediasoupError as raised:
                error = f"{type(raised).__name__}: {raised}"
                break
        created = len(transports)
        for transport in transports[:10]:
            transport.close()
        await asyncio.sleep(0.1)
        after = await router.create_plain_transport(
            listen_info={"protocol": "udp", "ip": "127.0.0.1"})
        print(json.dumps({"created": created, "error": error, "recovered": bool(after.id),
                          "workerAlive": not worker.closed}))
        worker.close()

    asyncio.run(main())
    """
)


def test_a_worker_out_of_file_descriptors_says_so_and_recovers() -> None:
    completed = subprocess.run(
        [sys.executable, "-c", DESCRIPTOR_LIMIT_SCRIPT],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    result = __import__("json").loads(completed.stdout)
    assert 10 < result["created"] < 80, result
    assert result["error"] is not None, result
    assert result["recovered"], result
    assert result["workerAlive"], result


CHURN_CYCLES = int(os.environ.get("MEDIASOUP_PY_CHURN_CYCLES", "10000"))
WARM_UP_CYCLES = 500


def test_thousands_of_peers_coming_and_going_leak_nothing() -> None:
    async def run() -> dict[str, Any]:
        server = await mediasoup_py.Server.create(
            num_workers=2, rtc_min_port=49000, rtc_max_port=49099
        )
        try:
            rooms = [await server.create_room(MEDIA_CODECS) for _ in range(2)]
            residents = []
            for index, room in enumerate(rooms):
                resident = V2Client(room, f"resident{index}")
                await resident.join()
                await resident.request("createTransport", id=1, direction="recv")
                residents.append(resident)
            baseline: dict[str, int] = {}
            started = time.monotonic()
            for cycle in range(CHURN_CYCLES):
                if cycle == WARM_UP_CYCLES:
                    baseline = {
                        "rss": resident_bytes(),
                        "descriptors": open_descriptors(),
                        "threads": threads(),
                        "tasks": len(asyncio.all_tasks()),
                    }
                room, resident = rooms[cycle % 2], residents[cycle % 2]
                visitor = V2Client(room, f"visitor{cycle}")
                await visitor.join()
                await visitor.request(
                    "createTransport", id=1, direction="send", dtlsParameters=CLIENT_DTLS
                )
                await visitor.request(
                    "createProducer", id=2, kind="audio", transportId=1,
                    rtpParameters=audio_parameters(10_000 + cycle), paused=False,
                )  # fmt: skip
                await asyncio.sleep(0)
                announced = resident.told("newConsumer")[-1]
                await resident.request(
                    "enableConsumer", id=announced["id"], transportId=1, paused=False
                )
                assert visitor.peer is not None
                visitor.peer.receive_notification(
                    {"method": "leave", "target": "peer", "notification": True}
                )
                await asyncio.sleep(0)
                assert room.get_peer(visitor.name) is None
                resident.notifications.clear()
            elapsed = time.monotonic() - started
            await asyncio.sleep(0.2)
            after = {
                "rss": resident_bytes(),
                "descriptors": open_descriptors(),
                "threads": threads(),
                "tasks": len(asyncio.all_tasks()),
            }
            dumps = [await worker.dump() for worker in server.workers]
            ports_in_use = sum(not port_is_free(port) for port in range(49000, 49100))
            return {
                "cycles": CHURN_CYCLES,
                "seconds": elapsed,
                "baseline": baseline,
                "after": after,
                # Only the residents' receiving transports are left.
                "transportsLeft": [len(dump["transportIds"]) for dump in dumps],
                "consumersLeft": [len(r.peer.consumers) for r in residents if r.peer],
                # Every port back, but the residents' two.
                "portsInUse": ports_in_use,
            }
        finally:
            server.close()

    result = asyncio.run(run())
    print(result)
    baseline, after = result["baseline"], result["after"]
    assert after["rss"] < baseline["rss"] * 1.05, result
    assert after["descriptors"] <= baseline["descriptors"], result
    assert after["threads"] <= baseline["threads"], result
    assert after["tasks"] <= baseline["tasks"], result
    assert result["transportsLeft"] == [1, 1], result
    assert result["consumersLeft"] == [0, 0], result
    assert result["portsInUse"] == 2, result
