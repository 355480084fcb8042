"""SDP offers read for WHIP/WHEP: a browser's offer becomes produce() parameters; hostile
offers (hypothesis: arbitrary text, and a real offer with lines dropped, repeated or
corrupted) get ``SdpError`` naming what is wrong, which the WHIP endpoint answers 400,
leaving no transport behind."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mediasoup_py
from mediasoup_py import errors
from mediasoup_py.sdp import (
    SdpError,
    consumer_rtp_capabilities,
    parse_offer,
    producer_rtp_parameters,
    viewer_media_codecs,
)
from mediasoup_py.whip import WhipEndpoint

# A Chromium offer (sendonly opus, and VP8 with RTX in three simulcast RIDs), trimmed.
CHROMIUM_OFFER = "\r\n".join(
    [
        "v=0",
        "o=- 4611731400430051336 2 IN IP4 127.0.0.1",
        "s=-",
        "t=0 0",
        "a=group:BUNDLE 0 1",
        "a=extmap-allow-mixed",
        "a=msid-semantic: WMS",
        "m=audio 9 UDP/TLS/RTP/SAVPF 111 63 0",
        "c=IN IP4 0.0.0.0",
        "a=rtcp:9 IN IP4 0.0.0.0",
        "a=ice-ufrag:Wcvd",
        "a=ice-pwd:8yBa0TGh4Yp7Qt2bDkLyFfZs",
        "a=ice-options:trickle",
        "a=fingerprint:sha-256 " + ":".join(["4F"] * 32),
        "a=setup:actpass",
        "a=mid:0",
        "a=extmap:1 urn:ietf:params:audio-level",
        "a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid",
        "a=sendonly",
        "a=msid:- 3c1a",
        "a=rtcp-mux",
        "a=rtcp-rsize",
        "a=rtpmap:111 opus/48000/2",
        "a=rtcp-fb:111 transport-cc",
        "a=fmtp:111 minptime=10;useinbandfec=1",
        "a=rtpmap:63 red/48000/2",
        "a=fmtp:63 111/111",
        "a=rtpmap:0 PCMU/8000",
        "a=ssrc:1001 cname:chromium",
        "a=ssrc:1001 msid:- 3c1a",
        "m=video 9 UDP/TLS/RTP/SAVPF 96 97 45",
        "c=IN IP4 0.0.0.0",
        "a=ice-ufrag:Wcvd",
        "a=ice-pwd:8yBa0TGh4Yp7Qt2bDkLyFfZs",
        "a=fingerprint:sha-256 " + ":".join(["4F"] * 32),
        "a=setup:actpass",
        "a=mid:1",
        "a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid",
        "a=extmap:10 urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id",
        "a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01",
        "a=sendonly",
        "a=rtcp-mux",
        "a=rtcp-rsize",
        "a=rtpmap:96 VP8/90000",
        "a=rtcp-fb:96 goog-remb",
        "a=rtcp-fb:96 transport-cc",
        "a=rtcp-fb:96 nack",
        "a=rtcp-fb:96 nack pli",
        "a=rtpmap:97 rtx/90000",
        "a=fmtp:97 apt=96",
        "a=rtpmap:45 AV1/90000",
        "a=rid:q send",
        "a=rid:h send",
        "a=rid:f send",
        "a=simulcast:send q;h;f",
        "",
    ]
)
ROUTER_CAPS: Any = None


def router_capabilities() -> Any:
    from mediasoup_py.ortc import generate_router_rtp_capabilities

    return generate_router_rtp_capabilities(
        [
            {"kind": "audio", "mimeType": "audio/opus", "clockRate": 48000, "channels": 2},
            {"kind": "video", "mimeType": "video/VP8", "clockRate": 90000},
        ]
    )


def test_a_chromium_offer_becomes_produce_parameters() -> None:
    offer = parse_offer(CHROMIUM_OFFER)
    assert offer.ice_ufrag == "Wcvd"
    assert offer.setup == "actpass"
    audio, video = offer.sections
    caps = router_capabilities()
    audio_parameters = producer_rtp_parameters(audio, caps)
    assert [c["mimeType"] for c in audio_parameters["codecs"]] == ["audio/opus"]
    assert audio_parameters["codecs"][0]["parameters"] == {"minptime": 10, "useinbandfec": 1}
    assert audio_parameters["encodings"] == [{"ssrc": 1001}]
    assert audio_parameters["rtcp"] == {"reducedSize": True, "cname": "chromium"}
    video_parameters = producer_rtp_parameters(video, caps)
    assert [c["mimeType"] for c in video_parameters["codecs"]] == ["video/VP8", "video/rtx"]
    assert video_parameters["encodings"] == [{"rid": "q"}, {"rid": "h"}, {"rid": "f"}]
    assert {e["uri"] for e in video_parameters["headerExtensions"]} == {
        "urn:ietf:params:rtp-hdrext:sdes:mid",
        "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id",
        "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01",
    }
    assert video_parameters["mid"] == "1"
    capabilities = consumer_rtp_capabilities(video)
    assert [c["preferredPayloadType"] for c in capabilities["codecs"]] == [96, 97, 45]


def test_a_viewer_gets_the_routers_codecs_with_the_offers_payload_types() -> None:
    # The Chromium offer's payload types (opus 111, VP8 96) are not the router's (100, 101).
    offer = parse_offer(CHROMIUM_OFFER)
    caps = router_capabilities()
    codecs = viewer_media_codecs(offer.sections, caps)
    assert [(c["mimeType"], c["preferredPayloadType"]) for c in codecs] == [
        ("audio/opus", 111),
        ("video/VP8", 96),
    ]
    # A router made with them has the offer's payload types, and its own for RTX (100): the
    # offer's RTX (97) is left out, as the consumer would send retransmissions as 100.
    from mediasoup_py.ortc import generate_router_rtp_capabilities

    viewing = generate_router_rtp_capabilities(codecs)
    assert [c["preferredPayloadType"] for c in viewing["codecs"]] == [111, 96, 100]
    video = offer.sections[1]
    kept = [c["mimeType"] for c in consumer_rtp_capabilities(video, viewing)["codecs"]]
    assert kept == ["video/VP8", "video/AV1"]
    assert [c["mimeType"] for c in consumer_rtp_capabilities(video)["codecs"]] == [
        "video/VP8",
        "video/rtx",
        "video/AV1",
    ]


def test_offers_without_a_codec_the_router_has_are_unsupported() -> None:
    offer = parse_offer(CHROMIUM_OFFER.replace("VP8/90000", "H265/90000"))
    with pytest.raises(errors.UnsupportedError, match="video/H265"):
        producer_rtp_parameters(offer.sections[1], router_capabilities())


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("v=0", "v=1"), "line 1: an SDP starts with v=0"),
        (("a=rtpmap:111 opus", "a=rtpmap:112 opus"), "payload type 112 is not on the m= line"),
        (("m=video 9 UDP/TLS/RTP/SAVPF 96", "m=video 9 UDP/TLS/RTP/SAVPF 960"), "outside 0..127"),
        (("a=ssrc:1001 cname", "a=ssrc:99999999999 cname"), "SSRC"),
        (("a=ice-ufrag:Wcvd\r\n", ""), "no a=ice-ufrag"),
        (("a=mid:1", "a=mid:0"), "a=mid '0' is used twice"),
        (("a=fingerprint:sha-256 4F", "a=fingerprint:md5 4F"), "a=fingerprint"),
        (("a=extmap:10 ", "a=extmap:4 "), "extension id 4 is used twice"),
        (("a=rid:q send", "a=rid:q<script> send"), "a=rid"),
        (("s=-", "s=\x00"), "control characters"),
    ],
)
def test_malformed_offers_name_the_line_and_the_problem(
    change: tuple[str, str], message: str
) -> None:
    old, new = change
    assert old in CHROMIUM_OFFER
    with pytest.raises(SdpError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_offer(CHROMIUM_OFFER.replace(old, new, 1))


def test_oversized_offers_are_refused_before_reading() -> None:
    with pytest.raises(SdpError, match="larger than"):
        parse_offer("v=0\r\n" + "a=x\r\n" * 20_000)


@given(st.text(max_size=400))
def test_arbitrary_text_is_an_offer_or_an_sdp_error(text: str) -> None:
    try:
        parse_offer(text)
    except SdpError as error:
        message = str(error)
    else:
        message = "SDP parsed"
    assert message.startswith("SDP")


OFFER_LINES = CHROMIUM_OFFER.split("\r\n")


@st.composite
def mutated_offers(draw: st.DrawFn) -> str:
    lines = list(OFFER_LINES)
    for _ in range(draw(st.integers(1, 4))):
        index = draw(st.integers(0, len(lines) - 1))
        action = draw(st.sampled_from(["drop", "repeat", "corrupt", "number", "insert"]))
        if action == "drop":
            del lines[index]
        elif action == "repeat":
            lines.insert(index, lines[index])
        elif action == "corrupt":
            line = lines[index]
            at = draw(st.integers(0, max(0, len(line) - 1)))
            lines[index] = line[:at] + draw(st.text(min_size=1, max_size=8)) + line[at + 1 :]
        elif action == "number":
            lines[index] = lines[index].replace("9", str(draw(st.integers(-(2**40), 2**40))), 1)
        else:
            lines.insert(index, draw(st.text(max_size=60)))
    return "\r\n".join(lines)


@pytest.fixture(scope="module")
def endpoint() -> Iterator[tuple[asyncio.AbstractEventLoop, WhipEndpoint, Any]]:
    loop = asyncio.new_event_loop()
    worker = loop.run_until_complete(
        mediasoup_py.create_worker(rtc_min_port=44000, rtc_max_port=44999)
    )
    router = loop.run_until_complete(
        worker.create_router(
            media_codecs=[
                {"kind": "audio", "mimeType": "audio/opus", "clockRate": 48000, "channels": 2},
                {"kind": "video", "mimeType": "video/VP8", "clockRate": 90000},
            ]
        )
    )

    async def router_for(room: str) -> mediasoup_py.Router:
        return router

    whip = WhipEndpoint(
        router_for=router_for, listen_infos=[{"protocol": "udp", "ip": "127.0.0.1"}]
    )
    yield loop, whip, router
    whip.close()
    worker.close()
    loop.close()


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(mutated_offers())
def test_hostile_offers_get_400_and_leave_nothing_behind(
    endpoint: tuple[asyncio.AbstractEventLoop, WhipEndpoint, Any], offer: str
) -> None:
    loop, whip, router = endpoint
    response = loop.run_until_complete(
        whip.handle("POST", "whip", "room", None, {"Content-Type": "application/sdp"}, offer)
    )
    assert response.status in (201, 400, 406), response
    if response.status == 400:
        assert response.body.startswith(("SDP", "offer:")), response.body
        assert len(response.body) < 300
    if response.status == 201:
        loop.run_until_complete(
            whip.handle(
                "DELETE", "whip", "room", response.headers["Location"].split("/")[-1], {}, ""
            )
        )
    assert not whip.sessions
    assert not loop.run_until_complete(router.dump())["transportIds"]
