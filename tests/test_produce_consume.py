"""Producers and consumers through the API, by mediasoup's rules: how a client's RTP
parameters map onto the router, what a consumer receives, the events that tie their
lifetimes together, and typed errors (naming the field) for bad input that leave everything
else working. Media flow is covered by the interop tests with real clients."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mediasoup_py
from mediasoup_py import errors, ortc

MEDIA_CODECS: list[dict[str, Any]] = [
    {"kind": "audio", "mimeType": "audio/opus", "clockRate": 48000, "channels": 2},
    {"kind": "video", "mimeType": "video/VP8", "clockRate": 90000},
    {
        "kind": "video",
        "mimeType": "video/H264",
        "clockRate": 90000,
        "parameters": {"packetization-mode": 1, "profile-level-id": "42e01f"},
    },
]
LOOPBACK = [{"protocol": "udp", "ip": "127.0.0.1"}]
MID = "urn:ietf:params:rtp-hdrext:sdes:mid"
RID = "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id"
TRANSPORT_CC = "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"
CHROME_FEEDBACK = [
    {"type": "goog-remb", "parameter": ""},
    {"type": "transport-cc", "parameter": ""},
    {"type": "ccm", "parameter": "fir"},
    {"type": "nack", "parameter": ""},
    {"type": "nack", "parameter": "pli"},
]
# What mediasoup-client sends from Chrome for simulcast VP8: RIDs, no SSRCs.
CHROME_VP8_SIMULCAST: dict[str, Any] = {
    "mid": "0",
    "codecs": [
        {
            "mimeType": "video/VP8",
            "payloadType": 96,
            "clockRate": 90000,
            "parameters": {},
            "rtcpFeedback": CHROME_FEEDBACK,
        },
        {
            "mimeType": "video/rtx",
            "payloadType": 97,
            "clockRate": 90000,
            "parameters": {"apt": 96},
            "rtcpFeedback": [],
        },
    ],
    "headerExtensions": [
        {"uri": MID, "id": 4, "encrypt": False, "parameters": {}},
        {"uri": RID, "id": 10, "encrypt": False, "parameters": {}},
        {"uri": TRANSPORT_CC, "id": 3, "encrypt": False, "parameters": {}},
    ],
    "encodings": [
        {"rid": "r0", "scalabilityMode": "L1T3", "maxBitrate": 100000},
        {"rid": "r1", "scalabilityMode": "L1T3", "maxBitrate": 300000},
        {"rid": "r2", "scalabilityMode": "L1T3", "maxBitrate": 900000},
    ],
    "rtcp": {"cname": "chrome-cname", "reducedSize": True},
}
# Firefox-like: explicit SSRCs with RTX.
FIREFOX_VP8: dict[str, Any] = {
    "mid": "1",
    "codecs": [
        {"mimeType": "video/VP8", "payloadType": 120, "clockRate": 90000},
        {
            "mimeType": "video/rtx",
            "payloadType": 124,
            "clockRate": 90000,
            "parameters": {"apt": 120},
        },
    ],
    "encodings": [{"ssrc": 1111, "rtx": {"ssrc": 2222}}],
}
OPUS_PARAMETERS: dict[str, Any] = {
    "codecs": [{"mimeType": "audio/opus", "payloadType": 111, "clockRate": 48000, "channels": 2}],
    "encodings": [{"ssrc": 3333}],
}


def run(scenario: Callable[[mediasoup_py.Router], Awaitable[Any]]) -> Any:
    async def main() -> Any:
        worker = await mediasoup_py.create_worker(rtc_min_port=45300, rtc_max_port=45399)
        try:
            router = await worker.create_router(media_codecs=MEDIA_CODECS)  # type: ignore[arg-type]
            return await scenario(router)
        finally:
            worker.close()

    return asyncio.run(main())


async def transport(router: mediasoup_py.Router) -> mediasoup_py.WebRtcTransport:
    return await router.create_webrtc_transport(listen_infos=LOOPBACK)  # type: ignore[arg-type]


def test_chrome_simulcast_maps_onto_router_payload_types_and_new_ssrcs() -> None:
    async def scenario(router: mediasoup_py.Router) -> None:
        producer = await (await transport(router)).produce(
            kind="video",
            rtp_parameters=CHROME_VP8_SIMULCAST,  # type: ignore[arg-type]
        )
        assert producer.type == "simulcast"
        consumable = producer.consumable_rtp_parameters
        # The router's VP8 and its RTX (opus took 100).
        assert [c["payloadType"] for c in consumable["codecs"]] == [101, 102]
        ssrcs = [e["ssrc"] for e in consumable["encodings"]]
        assert ssrcs == [ssrcs[0], ssrcs[0] + 1, ssrcs[0] + 2]
        assert all("rid" not in e for e in consumable["encodings"])
        assert consumable["rtcp"]["cname"] == "chrome-cname"

        consumer = await (await transport(router)).consume(
            producer_id=producer.id, rtp_capabilities=router.rtp_capabilities
        )
        parameters = consumer.rtp_parameters
        assert parameters["mid"] == "0"
        [encoding] = parameters["encodings"]
        assert encoding["rtx"]["ssrc"] == encoding["ssrc"] + 1
        # Simulcast reaches a consumer as spatial layers of one stream.
        assert encoding["scalabilityMode"] == "L3T3"
        assert encoding["maxBitrate"] == 900000
        feedback = {
            (f["type"], f.get("parameter", "")) for f in parameters["codecs"][0]["rtcpFeedback"]
        }
        # transport-cc is negotiated, so REMB is dropped.
        assert ("transport-cc", "") in feedback
        assert ("goog-remb", "") not in feedback
        assert (
            parameters["codecs"][1]["parameters"]["apt"] == parameters["codecs"][0]["payloadType"]
        )

    run(scenario)


def test_consumer_mids_count_per_transport_and_rtx_can_be_disabled() -> None:
    async def scenario(router: mediasoup_py.Router) -> None:
        producers = await transport(router)
        video = await producers.produce(kind="video", rtp_parameters=FIREFOX_VP8)  # type: ignore[arg-type]
        audio = await producers.produce(kind="audio", rtp_parameters=OPUS_PARAMETERS)  # type: ignore[arg-type]
        receiver = await transport(router)
        first = await receiver.consume(
            producer_id=video.id, rtp_capabilities=router.rtp_capabilities
        )
        second = await receiver.consume(
            producer_id=audio.id, rtp_capabilities=router.rtp_capabilities
        )
        chosen = await receiver.consume(
            producer_id=video.id,
            rtp_capabilities=router.rtp_capabilities,
            mid="camera",
            enable_rtx=False,
        )
        assert [first.rtp_parameters["mid"], second.rtp_parameters["mid"]] == ["0", "1"]
        assert chosen.rtp_parameters["mid"] == "camera"
        assert [c["mimeType"] for c in chosen.rtp_parameters["codecs"]] == ["video/VP8"]
        assert "rtx" not in chosen.rtp_parameters["encodings"][0]
        # Without RTX, plain NACK is not offered (a resend would break the sequence).
        assert {"type": "nack", "parameter": ""} not in chosen.rtp_parameters["codecs"][0][
            "rtcpFeedback"
        ]
        assert router.can_consume(producer_id=audio.id, rtp_capabilities=router.rtp_capabilities)

    run(scenario)


def h264(profile_level_id: str, ssrc: int) -> dict[str, Any]:
    return {
        "codecs": [
            {
                "mimeType": "video/H264",
                "payloadType": 102,
                "clockRate": 90000,
                "parameters": {"packetization-mode": 1, "profile-level-id": profile_level_id},
            }
        ],
        "encodings": [{"ssrc": ssrc}],
    }


def test_h264_profiles_must_match_the_router() -> None:
    async def scenario(router: mediasoup_py.Router) -> None:
        sender = await transport(router)
        # Constrained Baseline at level 5.2 against the router's 3.1: same profile, and
        # without level-asymmetry-allowed the lower level is the answer.
        producer = await sender.produce(kind="video", rtp_parameters=h264("42e034", 5))  # type: ignore[arg-type]
        [codec] = producer.consumable_rtp_parameters["codecs"][:1]
        assert codec["payloadType"] == 103
        assert codec["parameters"]["profile-level-id"] == "42e01f"
        # Main (4d) and Baseline without constraints (4200) are other profiles.
        for other, ssrc in (("4d001f", 6), ("42001f", 7)):
            with pytest.raises(errors.UnsupportedError, match="video/H264"):
                await sender.produce(kind="video", rtp_parameters=h264(other, ssrc))  # type: ignore[arg-type]

    run(scenario)


@pytest.mark.parametrize(
    ("kind", "parameters", "error", "field"),
    [
        ("video", {"codecs": []}, errors.MediasoupTypeError, "rtp_parameters.codecs"),
        (
            "video",
            {"codecs": [{"mimeType": "video/VP8", "payloadType": 300, "clockRate": 90000}]},
            errors.MediasoupTypeError,
            "rtp_parameters.codecs[0].payloadType",
        ),
        (
            "video",
            {"codecs": [{"mimeType": "video/rtx", "payloadType": 97, "clockRate": 90000}]},
            errors.MediasoupTypeError,
            "rtp_parameters.codecs[0].parameters.apt",
        ),
        (
            "video",
            {
                "codecs": [{"mimeType": "video/VP8", "payloadType": 96, "clockRate": 90000}],
                "encodings": [{"ssrc": 1}, {"ssrc": 1}],
            },
            errors.MediasoupTypeError,
            "rtp_parameters.encodings[1].ssrc",
        ),
        (
            "video",
            {
                "codecs": [{"mimeType": "video/VP8", "payloadType": 96, "clockRate": 90000}],
                "encodings": [{"ssrc": 1, "codecPayloadType": 98}],
            },
            errors.MediasoupTypeError,
            "rtp_parameters.encodings[0].codecPayloadType",
        ),
        (
            "video",
            {
                "codecs": [{"mimeType": "video/VP8", "payloadType": 96, "clockRate": 90000}],
                "encodings": [{"rid": "a"}, {"maxBitrate": 5}],
            },
            errors.MediasoupTypeError,
            "rtp_parameters.encodings",
        ),
        (
            "audio",
            {"codecs": [{"mimeType": "video/VP8", "payloadType": 96, "clockRate": 90000}]},
            errors.MediasoupTypeError,
            "rtp_parameters.codecs[0].mimeType",
        ),
        ("screen", FIREFOX_VP8, errors.MediasoupTypeError, "kind"),
        (
            "video",
            {"codecs": [{"mimeType": "video/AV2", "payloadType": 96, "clockRate": 90000}]},
            errors.UnsupportedError,
            None,
        ),
    ],
)
def test_bad_produce_input_is_a_typed_error_and_disturbs_nothing(
    kind: str, parameters: dict[str, Any], error: type[Exception], field: str | None
) -> None:
    async def scenario(router: mediasoup_py.Router) -> None:
        sender = await transport(router)
        working = await sender.produce(kind="audio", rtp_parameters=OPUS_PARAMETERS)  # type: ignore[arg-type]
        with pytest.raises(error) as raised:
            await sender.produce(kind=kind, rtp_parameters=parameters)  # type: ignore[arg-type]
        if field is not None:
            assert getattr(raised.value, "field", None) == field, raised.value
        [stats] = await working.get_stats()
        assert stats["type"] == "inbound-rtp"
        assert not working.closed

    run(scenario)


def test_ssrcs_are_unique_per_transport_and_ids_per_router() -> None:
    async def scenario(router: mediasoup_py.Router) -> None:
        sender = await transport(router)
        first = await sender.produce(kind="audio", rtp_parameters=OPUS_PARAMETERS)  # type: ignore[arg-type]
        with pytest.raises(errors.MediasoupTypeError) as raised:
            await sender.produce(kind="audio", rtp_parameters=OPUS_PARAMETERS)  # type: ignore[arg-type]
        assert raised.value.field == "rtp_parameters.encodings[0].ssrc"
        # Another endpoint may use the same SSRC.
        await (await transport(router)).produce(kind="audio", rtp_parameters=OPUS_PARAMETERS)  # type: ignore[arg-type]
        with pytest.raises(errors.MediasoupTypeError) as raised:
            await (await transport(router)).produce(
                kind="audio",
                rtp_parameters=OPUS_PARAMETERS,  # type: ignore[arg-type]
                id=first.id,
            )
        assert raised.value.field == "producer_id"

    run(scenario)


def test_bad_consume_input_is_a_typed_error() -> None:
    async def scenario(router: mediasoup_py.Router) -> None:
        producer = await (await transport(router)).produce(
            kind="video",
            rtp_parameters=FIREFOX_VP8,  # type: ignore[arg-type]
        )
        receiver = await transport(router)
        opus_only = {"codecs": [MEDIA_CODECS[0]], "headerExtensions": []}
        assert not router.can_consume(producer_id=producer.id, rtp_capabilities=opus_only)  # type: ignore[arg-type]
        with pytest.raises(errors.UnsupportedError):
            await receiver.consume(producer_id=producer.id, rtp_capabilities=opus_only)  # type: ignore[arg-type]
        with pytest.raises(errors.MediasoupTypeError) as raised:
            await receiver.consume(producer_id="nope", rtp_capabilities=router.rtp_capabilities)
        assert raised.value.field == "producer_id"
        with pytest.raises(errors.MediasoupTypeError) as raised:
            await receiver.consume(
                producer_id=producer.id,
                rtp_capabilities={"codecs": [{"mimeType": "video"}]},  # type: ignore[list-item]
            )
        assert raised.value.field == "rtp_capabilities.codecs[0].mimeType"
        # The receiver still consumes what it can.
        consumer = await receiver.consume(
            producer_id=producer.id, rtp_capabilities=router.rtp_capabilities
        )
        assert consumer.kind == "video"

    run(scenario)


def test_lifetimes_and_pause_events() -> None:
    async def scenario(router: mediasoup_py.Router) -> list[str]:
        seen: list[str] = []
        sender = await transport(router)
        producer = await sender.produce(kind="video", rtp_parameters=FIREFOX_VP8)  # type: ignore[arg-type]
        receiver = await transport(router)
        consumers = [
            await receiver.consume(
                producer_id=producer.id, rtp_capabilities=router.rtp_capabilities
            )
            for _ in range(2)
        ]
        for index, consumer in enumerate(consumers):
            for event in ("producerpause", "producerresume", "producerclose", "transportclose"):
                consumer.on(event, lambda event=event, index=index: seen.append(f"{index}:{event}"))
        producer.on("transportclose", lambda: seen.append("producer:transportclose"))
        await producer.pause()
        assert consumers[0].producer_paused
        await producer.resume()
        await consumers[1].pause()
        assert consumers[1].paused
        consumers[1].close()
        await asyncio.sleep(0)
        # Closing the sending transport closes its producer and, with it, the consumer.
        sender.close()
        assert producer.closed
        assert consumers[0].closed
        with pytest.raises(errors.InvalidStateError):
            await consumers[0].get_stats()
        return seen

    assert run(scenario) == [
        "0:producerpause",
        "1:producerpause",
        "0:producerresume",
        "1:producerresume",
        "0:producerclose",
        "producer:transportclose",
    ]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 300) | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "codecs",
                    "mimeType",
                    "payloadType",
                    "clockRate",
                    "encodings",
                    "ssrc",
                    "rid",
                    "parameters",
                    "apt",
                    "rtx",
                    "headerExtensions",
                    "uri",
                    "id",
                    "rtcp",
                    "mid",
                ]
            ),
            children,
            max_size=5,
        )
    ),
    max_leaves=20,
)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(json_values)
def test_arbitrary_rtp_parameters_only_raise_typed_errors(parameters: Any) -> None:
    router_capabilities = ortc.generate_router_rtp_capabilities(MEDIA_CODECS)
    try:
        checked = ortc.validate_rtp_parameters(parameters)
        mapping = ortc.get_producer_rtp_parameters_mapping(checked, router_capabilities)
        ortc.get_consumable_rtp_parameters("video", checked, router_capabilities, mapping)
    except errors.MediasoupError:
        pass


def test_transport_bitrate_bounds_are_checked_and_bound_the_estimate() -> None:
    async def scenario(router: mediasoup_py.Router) -> None:
        webrtc = await transport(router)
        for bad in (-1, 1.5, "100000", True):
            with pytest.raises(errors.MediasoupTypeError, match="bitrate"):
                await webrtc.set_max_incoming_bitrate(bad)  # type: ignore[arg-type]
        await webrtc.set_max_incoming_bitrate(500_000)
        await webrtc.set_max_incoming_bitrate(0)
        await webrtc.set_min_outgoing_bitrate(200_000)
        with pytest.raises(errors.MediasoupTypeError, match="minimum"):
            await webrtc.set_max_outgoing_bitrate(100_000)
        await webrtc.set_max_outgoing_bitrate(800_000)
        with pytest.raises(errors.MediasoupTypeError, match="maximum"):
            await webrtc.set_min_outgoing_bitrate(900_000)
        # Nothing measured yet: what it may send is the application's maximum.
        (stats,) = await webrtc.get_stats()
        assert stats["availableOutgoingBitrate"] == 800_000
        webrtc.close()
        with pytest.raises(errors.InvalidStateError):
            await webrtc.set_max_incoming_bitrate(1)

    run(scenario)


def test_consumer_priority_is_checked_and_reaches_the_worker() -> None:
    async def scenario(router: mediasoup_py.Router) -> None:
        producer = await (await transport(router)).produce(
            kind="audio",
            rtp_parameters=OPUS_PARAMETERS,  # type: ignore[arg-type]
        )
        consumer = await (await transport(router)).consume(
            producer_id=producer.id, rtp_capabilities=router.rtp_capabilities
        )
        for bad in (0, 256, "2", True, 1.5):
            with pytest.raises(errors.MediasoupTypeError, match="priority"):
                await consumer.set_priority(bad)  # type: ignore[arg-type]
        # The worker's consumer starts at priority 1; each change reaches it.
        assert (await consumer.dump())["priority"] == 1
        await consumer.set_priority(200)
        assert consumer.priority == 200
        assert (await consumer.dump())["priority"] == 200
        # Refused values left the worker as it was.
        for bad in (0, 256):
            with pytest.raises(errors.MediasoupTypeError, match="priority"):
                await consumer.set_priority(bad)
        assert (await consumer.dump())["priority"] == 200
        await consumer.unset_priority()
        assert consumer.priority == 1
        assert (await consumer.dump())["priority"] == 1
        # The dump is the worker's: pausing shows there too.
        await consumer.pause()
        dumped = await consumer.dump()
        assert (dumped["paused"], dumped["producerPaused"]) == (True, False)
        assert dumped["producerId"] == producer.id

    run(scenario)


def test_unknown_ids_are_not_found_errors_naming_the_argument() -> None:
    """An id that names nothing raises ``NotFoundError`` (what the worker raises for an
    object it does not have), which is also a ``MediasoupTypeError`` naming the argument."""

    async def scenario(router: mediasoup_py.Router) -> None:
        webrtc = await transport(router)
        with_sctp = await router.create_webrtc_transport(
            listen_infos=LOOPBACK,  # type: ignore[arg-type]
            enable_sctp=True,
        )
        observer = await router.create_audio_level_observer()
        attempts = [
            (
                "producer_id",
                webrtc.consume(producer_id="nobody", rtp_capabilities=router.rtp_capabilities),
            ),
            ("producer_id", observer.add_producer(producer_id="nobody")),
            ("data_producer_id", with_sctp.consume_data(data_producer_id="nobody")),
        ]
        for field, attempt in attempts:
            with pytest.raises(errors.NotFoundError) as raised:
                await attempt
            assert isinstance(raised.value, errors.MediasoupTypeError)
            assert raised.value.field == field
        producer = await webrtc.produce(kind="audio", rtp_parameters=OPUS_PARAMETERS)  # type: ignore[arg-type]
        producer.close()
        with pytest.raises(errors.NotFoundError):
            await webrtc.consume(producer_id=producer.id, rtp_capabilities=router.rtp_capabilities)

    run(scenario)


def test_a_producer_with_more_encodings_than_any_sender_uses_is_refused() -> None:
    async def scenario(router: mediasoup_py.Router) -> None:
        webrtc = await transport(router)
        parameters: dict[str, Any] = {
            "codecs": [{"mimeType": "video/VP8", "payloadType": 96, "clockRate": 90000}],
            "encodings": [{"ssrc": 5000 + index} for index in range(ortc.MAX_ENCODINGS + 1)],
        }
        with pytest.raises(errors.MediasoupTypeError) as raised:
            await webrtc.produce(kind="video", rtp_parameters=parameters)  # type: ignore[arg-type]
        assert raised.value.field == "rtp_parameters.encodings"
        parameters["encodings"] = parameters["encodings"][: ortc.MAX_ENCODINGS]
        producer = await webrtc.produce(kind="video", rtp_parameters=parameters)  # type: ignore[arg-type]
        assert producer.type == "simulcast"

    run(scenario)
