"""DataProducer/DataConsumer through the API, without a client: what a transport without SCTP
refuses, bad stream parameters named by field, the streams a transport gives its consumers,
a DirectTransport relay in Python (messages with their PPIDs, subchannels, pause), stats and
the close cascade."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import mediasoup_py
from mediasoup_py import errors

LOOPBACK = [{"protocol": "udp", "ip": "127.0.0.1"}]


async def exercise() -> dict[str, Any]:
    worker = await mediasoup_py.create_worker(rtc_min_port=47770, rtc_max_port=47789)
    result: dict[str, Any] = {}
    try:
        router = await worker.create_router(media_codecs=[])
        plain = await router.create_webrtc_transport(listen_infos=LOOPBACK)  # type: ignore[arg-type]
        result["plainSctp"] = (plain.sctp_parameters, plain.sctp_state)
        with pytest.raises(errors.InvalidStateError, match="SCTP is not enabled"):
            await plain.produce_data(sctp_stream_parameters={"streamId": 1})
        sctp = await router.create_webrtc_transport(
            listen_infos=LOOPBACK,  # type: ignore[arg-type]
            enable_sctp=True,
            num_sctp_streams={"OS": 8, "MIS": 8},
            max_sctp_message_size=1000,
        )
        result["sctp"] = (sctp.sctp_parameters, sctp.sctp_state)
        with pytest.raises(errors.MediasoupTypeError, match=r"sctp_stream_parameters\.streamId"):
            await sctp.produce_data(sctp_stream_parameters={"streamId": -1})
        with pytest.raises(errors.MediasoupTypeError, match=r"sctp_stream_parameters\.ordered"):
            await sctp.produce_data(
                sctp_stream_parameters={"streamId": 1, "ordered": True, "maxRetransmits": 2}
            )
        with pytest.raises(errors.MediasoupError, match="MIS"):
            await sctp.produce_data(sctp_stream_parameters={"streamId": 8})
        producer = await sctp.produce_data(
            sctp_stream_parameters={"streamId": 3, "maxPacketLifeTime": 500}, label="chat"
        )
        with pytest.raises(errors.MediasoupError, match="stream 3"):
            await sctp.produce_data(sctp_stream_parameters={"streamId": 3})
        with pytest.raises(errors.MediasoupTypeError, match="data_producer_id"):
            await sctp.consume_data(data_producer_id="nobody")
        consumers = [await sctp.consume_data(data_producer_id=producer.id) for _ in range(3)]
        result["streams"] = [c.sctp_stream_parameters for c in consumers]
        consumers[1].close()
        again = await sctp.consume_data(data_producer_id=producer.id, ordered=True)
        result["reused"] = again.sctp_stream_parameters
        # A relay in Python: a direct producer, two direct consumers in subchannels.
        direct = await router.create_direct_transport()
        source = await direct.produce_data(label="bot")
        heard: dict[str, list[tuple[bytes, int | None]]] = {"one": [], "two": []}
        sinks = {}
        for name, channels in (("one", [1]), ("two", [2])):
            sink = await direct.consume_data(data_producer_id=source.id, subchannels=channels)
            sink.on("message", lambda m, p, name=name: heard[name].append((m, p)))
            sinks[name] = sink
        source.send("to all")
        source.send(b"\x00\x01", subchannels=[2])
        source.send("", required_subchannel=1)
        source.send(b"")
        await sinks["two"].pause()
        source.send("while two is paused")
        await sinks["two"].resume()
        await source.pause()
        source.send("while the source is paused")
        await source.resume()
        source.send("last")
        await asyncio.sleep(0.3)
        result["heard"] = heard
        result["sourceStats"] = await source.get_stats()
        result["sinkStats"] = await sinks["one"].get_stats()
        closed: list[str] = []
        for name, sink in sinks.items():
            sink.on("dataproducerclose", lambda name=name: closed.append(name))
        for consumer in [consumers[0], consumers[2], again]:
            consumer.on("transportclose", lambda: closed.append("sctp"))
        source.close()
        sctp.close()
        await asyncio.sleep(0.1)
        result["closed"] = sorted(closed)
        result["after"] = (sinks["one"].closed, producer.closed, again.closed, sctp.sctp_state)
        with pytest.raises(errors.MediasoupTypeError, match="message"):
            (await direct.produce_data()).send(3)  # type: ignore[arg-type]
    finally:
        worker.close()
    return result


def test_data_producers_and_consumers_through_the_api() -> None:
    result = asyncio.run(exercise())
    assert result["plainSctp"] == (None, None)
    assert result["sctp"] == (
        {"port": 5000, "OS": 8, "MIS": 8, "maxMessageSize": 1000},
        "new",
    )
    # The producer's rules on the next free streams, the server's choice.
    assert result["streams"] == [
        {"streamId": stream_id, "ordered": False, "maxPacketLifeTime": 500}
        for stream_id in (0, 1, 2)
    ]
    # After the last given (2), the next free one: 3.
    assert result["reused"] == {"streamId": 3, "ordered": True}
    one, two = result["heard"]["one"], result["heard"]["two"]
    assert one == [
        (b"to all", 51),
        (b"", 56),
        (b"", 57),
        (b"while two is paused", 51),
        (b"last", 51),
    ]
    assert two == [(b"to all", 51), (b"\x00\x01", 53), (b"", 57), (b"last", 51)]
    (source_stats,) = result["sourceStats"]
    assert source_stats["type"] == "data-producer"
    assert source_stats["messagesReceived"] == 7
    (sink_stats,) = result["sinkStats"]
    assert (sink_stats["type"], sink_stats["messagesSent"]) == ("data-consumer", 5)
    assert result["closed"] == ["one", "sctp", "sctp", "sctp", "two"]
    assert result["after"] == (True, True, True, "closed")
