"""Data producers over PlainTransport and PipeTransport SCTP, through real UDP sockets between
two workers: ``pipe_to_router(data_producer_id=...)`` (messages with their PPIDs, the pair
shared and carrying SCTP in clear beside SRTP, pause followed, the close cascade both ways),
a PlainTransport pair linked by hand as mediasoup's docs do it, and the drop counters: a send
buffer overflow, messages over the consuming transport's ``maxSctpMessageSize``, SCTP
garbage from the tuple's address and SCTP from a stranger, each counted where the stats say.
(The WebRTC DataChannel end with a real client is tests/interop/test_data_pipe_chromium.py;
aiortc's SCTP against a PlainTransport is tests/interop/test_data_plain_aiortc.py.)"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from typing import Any

import pytest

import mediasoup_py
from mediasoup_py import errors


async def wait_for(condition: Callable[[], bool], what: str, seconds: float = 5) -> None:
    end = asyncio.get_running_loop().time() + seconds
    while not condition():
        assert asyncio.get_running_loop().time() < end, f"timed out waiting for: {what}"
        await asyncio.sleep(0.01)


async def two_routers() -> tuple[mediasoup_py.Worker, mediasoup_py.Worker, Any, Any]:
    first = await mediasoup_py.create_worker(rtc_min_port=47800, rtc_max_port=47819)
    second = await mediasoup_py.create_worker(rtc_min_port=47820, rtc_max_port=47839)
    return (
        first,
        second,
        await first.create_router(media_codecs=[]),
        await second.create_router(media_codecs=[]),
    )


def test_pipe_to_router_carries_a_data_producer_to_another_worker() -> None:
    async def scenario() -> dict[str, Any]:
        first, second, source, destination = await two_routers()
        try:
            origin = await source.create_direct_transport()
            producer = await origin.produce_data(label="chat", protocol="json", app_data={"a": 1})
            with pytest.raises(errors.MediasoupTypeError, match="producer_id"):
                await source.pipe_to_router(router=destination)  # type: ignore[call-overload]
            with pytest.raises(errors.MediasoupTypeError, match="data_producer_id"):
                await source.pipe_to_router(data_producer_id="nobody", router=destination)
            piped = await source.pipe_to_router(
                data_producer_id=producer.id, router=destination, enable_srtp=True
            )
            with pytest.raises(errors.MediasoupTypeError, match="already piped"):
                await source.pipe_to_router(data_producer_id=producer.id, router=destination)
            local = piped.pipe_data_consumer._transport
            remote = piped.pipe_data_producer._transport
            await wait_for(lambda: local.sctp_state == remote.sctp_state == "connected", "SCTP up")
            sink = await destination.create_direct_transport()
            consumer = await sink.consume_data(data_producer_id=producer.id)
            heard: list[tuple[bytes, int | None]] = []
            consumer.on("message", lambda message, ppid: heard.append((message, ppid)))
            producer.send("hello")
            producer.send(b"\x01\x02")
            producer.send("")
            producer.send(bytes(range(256)) * 400)  # 102,400 bytes: many DATA chunks.
            await wait_for(lambda: len(heard) == 4, "four messages through the pipe")
            # A second data producer shares the pair.
            other = await origin.produce_data(label="other")
            again = await source.pipe_to_router(data_producer_id=other.id, router=destination)
            await producer.pause()
            await wait_for(lambda: piped.pipe_data_producer.paused, "the pause followed")
            producer.send("unheard")
            await producer.resume()
            await wait_for(lambda: not piped.pipe_data_producer.paused, "the resume followed")
            producer.send("after")
            await wait_for(lambda: len(heard) == 5, "the message after resume")
            stats = {
                "pipe": (await local.get_stats())[0],
                "pipeConsumer": (await piped.pipe_data_consumer.get_stats())[0],
                "pipeProducer": (await piped.pipe_data_producer.get_stats())[0],
            }
            closed: list[str] = []
            consumer.on("dataproducerclose", lambda: closed.append("consumer"))
            producer.close()
            await wait_for(lambda: closed == ["consumer"], "dataproducerclose through the pipe")
            # Closing the copy closes the pipe consumer at the source.
            again.pipe_data_producer.close()
            await wait_for(lambda: again.pipe_data_consumer.closed, "the pipe consumer closed")
            return {
                "heard": heard,
                "ids": (piped.pipe_data_producer.id, producer.id),
                "copy": (
                    piped.pipe_data_producer.label,
                    piped.pipe_data_producer.protocol,
                    piped.pipe_data_producer.app_data,
                    piped.pipe_data_producer.sctp_stream_parameters,
                    piped.pipe_data_consumer.sctp_stream_parameters,
                ),
                "shared": again.pipe_data_consumer._transport is local,
                "srtp": local.srtp_parameters is not None,
                "sctpParameters": local.sctp_parameters,
                "stats": stats,
                "pipeClosed": piped.pipe_data_producer.closed,
            }
        finally:
            first.close()
            second.close()

    result = asyncio.run(asyncio.wait_for(scenario(), 30))
    assert result["heard"] == [
        (b"hello", 51),
        (b"\x01\x02", 53),
        (b"", 56),
        (bytes(range(256)) * 400, 53),
        (b"after", 51),
    ]
    assert result["ids"][0] == result["ids"][1]
    assert result["copy"] == (
        "chat",
        "json",
        {"a": 1},
        {"streamId": 0, "ordered": True},
        {"streamId": 0, "ordered": True},
    )
    assert result["shared"]
    assert result["srtp"]
    # mediasoup's pipe defaults.
    assert result["sctpParameters"] == {
        "port": 5000,
        "OS": 1024,
        "MIS": 1024,
        "maxMessageSize": 268_435_456,
    }
    pipe = result["stats"]["pipe"]
    assert pipe["sctpState"] == "connected"
    assert pipe["sctpDroppedMessages"]["outgoing"] == {
        "sendBufferFull": 0,
        "tooLarge": 0,
        "notConnected": 0,
        "streamClosed": 0,
    }
    assert set(pipe["sctpDroppedMessages"]["incoming"].values()) == {0}
    # Sent while paused: received by the original, not forwarded by the pipe consumer.
    assert result["stats"]["pipeConsumer"]["messagesSent"] == 5
    assert result["stats"]["pipeProducer"]["messagesReceived"] == 5
    assert result["pipeClosed"]


def test_plain_transport_pair_counts_what_it_drops() -> None:
    """Two PlainTransports with SCTP linked by hand (connect each to the other), a send
    buffer small enough to overflow, a consumer on a transport with a small
    ``maxSctpMessageSize``, and SCTP from a stranger."""

    async def scenario() -> dict[str, Any]:
        first, second, source, destination = await two_routers()
        stranger = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sending = await source.create_plain_transport(
                listen_info={"protocol": "udp", "ip": "127.0.0.1"},
                enable_sctp=True,
                sctp_send_buffer_size=20_000,
            )
            receiving = await destination.create_plain_transport(
                listen_info={"protocol": "udp", "ip": "127.0.0.1"},
                enable_sctp=True,
                num_sctp_streams={"OS": 16, "MIS": 16},
            )
            small = await destination.create_plain_transport(
                listen_info={"protocol": "udp", "ip": "127.0.0.1"},
                enable_sctp=True,
                max_sctp_message_size=3000,
            )
            assert sending.sctp_state == "new"
            await receiving.connect(ip="127.0.0.1", port=sending.tuple["localPort"])
            await sending.connect(ip="127.0.0.1", port=receiving.tuple["localPort"])
            await wait_for(
                lambda: sending.sctp_state == receiving.sctp_state == "connected", "SCTP up"
            )
            origin = await source.create_direct_transport()
            producer = await origin.produce_data(label="burst")
            pipe_out = await sending.consume_data(data_producer_id=producer.id)
            arrived = await receiving.produce_data(
                sctp_stream_parameters=dict(pipe_out.sctp_stream_parameters or {}), label="burst"
            )
            sink = await destination.create_direct_transport()
            heard: list[int] = []
            consumer = await sink.consume_data(data_producer_id=arrived.id)
            consumer.on("message", lambda message, ppid: heard.append(len(message)))
            # A consumer on a transport that sends up to 3000 bytes.
            echo = await small.consume_data(data_producer_id=arrived.id)
            full: list[bool] = []
            pipe_out.on("sctpsendbufferfull", lambda: full.append(True))
            # 40 messages of 4000 bytes at once: the 20,000-byte send buffer takes 5.
            for _ in range(40):
                producer.send(bytes(4000))
            await wait_for(lambda: len(heard) >= 5, "what the buffer took")
            await asyncio.sleep(0.2)
            # SCTP from anyone but the tuple's remote is the transport's to count.
            garbage = b"\x13\x88\x13\x88" + bytes(40)
            stranger.sendto(garbage, ("127.0.0.1", receiving.tuple["localPort"]))
            await asyncio.sleep(0.2)
            return {
                "heard": heard,
                "full": len(full),
                "pipeOut": (await pipe_out.get_stats())[0],
                "echo": (await echo.get_stats())[0],
                "sending": (await sending.get_stats())[0],
                "receiving": (await receiving.get_stats())[0],
                "sctpParameters": small.sctp_parameters,
            }
        finally:
            stranger.close()
            first.close()
            second.close()

    result = asyncio.run(asyncio.wait_for(scenario(), 30))
    taken = result["pipeOut"]["messagesSent"]
    dropped = result["pipeOut"]["droppedMessages"]
    assert 1 <= taken < 40, result["pipeOut"]
    assert taken + dropped["sendBufferFull"] == 40, result["pipeOut"]
    assert result["full"] == dropped["sendBufferFull"]
    assert (
        result["sending"]["sctpDroppedMessages"]["outgoing"]["sendBufferFull"]
        == (dropped["sendBufferFull"])
    )
    # What the buffer took arrived, whole; over the maxSctpMessageSize of the other
    # consumer's transport (3000 bytes), every one counted there.
    assert result["heard"] == [4000] * taken
    assert result["echo"]["droppedMessages"] == {
        "sendBufferFull": 0,
        "tooLarge": taken,
        "notSent": 0,
    }
    assert result["echo"]["messagesSent"] == 0
    assert result["receiving"]["droppedDatagrams"]["sctpUnexpected"] == 1
    assert result["receiving"]["sctpState"] == "connected"
    assert result["sctpParameters"] == {
        "port": 5000,
        "OS": 1024,
        "MIS": 1024,
        "maxMessageSize": 3000,
    }


def test_sctp_garbage_from_the_peer_is_counted_and_the_association_survives() -> None:
    """A PlainTransport connected to a UDP socket of the test: SCTP-looking garbage from the
    tuple's address is dropped by the association and counted; it stays waiting for a
    genuine INIT."""

    async def scenario() -> dict[str, Any]:
        worker = await mediasoup_py.create_worker(rtc_min_port=47840, rtc_max_port=47849)
        peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        peer.bind(("127.0.0.1", 0))
        try:
            router = await worker.create_router(media_codecs=[])
            plain = await router.create_plain_transport(
                listen_info={"protocol": "udp", "ip": "127.0.0.1"}, enable_sctp=True
            )
            await plain.connect(ip="127.0.0.1", port=peer.getsockname()[1])
            target = ("127.0.0.1", plain.tuple["localPort"])
            for length in (12, 16, 100, 1200):
                peer.sendto(b"\x13\x88\x13\x88" + bytes(length - 4), target)
            await asyncio.sleep(0.3)
            return {
                "stats": (await plain.get_stats())[0],
                "state": plain.sctp_state,
            }
        finally:
            peer.close()
            worker.close()

    result = asyncio.run(asyncio.wait_for(scenario(), 20))
    incoming = result["stats"]["sctpDroppedMessages"]["incoming"]
    assert incoming["malformed"] == 4, incoming
    assert result["state"] == "connecting"


def test_a_message_over_the_receiver_s_limit_is_dropped_and_the_association_kept() -> None:
    """As mediasoup does: a message larger than the receiving transport's
    ``maxSctpMessageSize`` is dropped and counted; the association stays up and the next
    message arrives."""

    async def scenario() -> dict[str, Any]:
        first, second, source, destination = await two_routers()
        try:
            sending = await source.create_plain_transport(
                listen_info={"protocol": "udp", "ip": "127.0.0.1"}, enable_sctp=True
            )
            receiving = await destination.create_plain_transport(
                listen_info={"protocol": "udp", "ip": "127.0.0.1"},
                enable_sctp=True,
                max_sctp_message_size=3000,
            )
            await receiving.connect(ip="127.0.0.1", port=sending.tuple["localPort"])
            await sending.connect(ip="127.0.0.1", port=receiving.tuple["localPort"])
            origin = await source.create_direct_transport()
            producer = await origin.produce_data()
            pipe_out = await sending.consume_data(data_producer_id=producer.id)
            arrived = await receiving.produce_data(
                sctp_stream_parameters=dict(pipe_out.sctp_stream_parameters or {})
            )
            heard: list[int] = []
            sink = await destination.create_direct_transport()
            (await sink.consume_data(data_producer_id=arrived.id)).on(
                "message", lambda message, ppid: heard.append(len(message))
            )
            await wait_for(lambda: receiving.sctp_state == "connected", "SCTP up")
            producer.send(bytes(4000))
            producer.send(bytes(3000))
            await wait_for(lambda: heard == [3000], "the message within the limit")
            return {
                "states": (sending.sctp_state, receiving.sctp_state),
                "incoming": (await receiving.get_stats())[0]["sctpDroppedMessages"]["incoming"],
                "producer": (await arrived.get_stats())[0],
            }
        finally:
            first.close()
            second.close()

    result = asyncio.run(asyncio.wait_for(scenario(), 20))
    assert result["states"] == ("connected", "connected")
    assert result["incoming"]["tooLarge"] == 1
    # Counted against the data producer of the stream it came on, too.
    assert result["producer"]["droppedMessages"] == {"tooLarge": 1, "unknownPpid": 0}
    assert result["producer"]["messagesReceived"] == 1
