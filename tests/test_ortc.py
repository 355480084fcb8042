"""Router RTP capabilities by mediasoup's rules: payload type allocation, RTX, parameters,
header extensions, and typed errors for bad media codecs."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import mediasoup_py
from mediasoup_py import errors
from mediasoup_py.ortc import generate_router_rtp_capabilities

OPUS = {"kind": "audio", "mimeType": "audio/opus", "clockRate": 48000, "channels": 2}
VP8 = {"kind": "video", "mimeType": "video/VP8", "clockRate": 90000}


def test_payload_types_follow_mediasoup() -> None:
    """mediasoup's own result for this list: 100, 101/102, 103/104, 105/106, 107/108."""
    capabilities = generate_router_rtp_capabilities(
        [
            OPUS,
            VP8,
            {**VP8, "mimeType": "video/VP9", "parameters": {"profile-id": 2}},
            {
                **VP8,
                "mimeType": "video/H264",
                "parameters": {"packetization-mode": 1, "profile-level-id": "4d0032"},
            },
            {
                **VP8,
                "mimeType": "video/h264",
                "parameters": {"packetization-mode": 1, "profile-level-id": "42e01f"},
            },
        ]
    )
    codecs = capabilities["codecs"]
    assert [(c["mimeType"], c["preferredPayloadType"]) for c in codecs] == [
        ("audio/opus", 100),
        ("video/VP8", 101),
        ("video/rtx", 102),
        ("video/VP9", 103),
        ("video/rtx", 104),
        ("video/H264", 105),
        ("video/rtx", 106),
        ("video/H264", 107),
        ("video/rtx", 108),
    ]
    assert codecs[2]["parameters"] == {"apt": 101}
    assert codecs[3]["parameters"] == {"profile-id": 2}
    assert codecs[5]["parameters"] == {
        "level-asymmetry-allowed": 1,
        "packetization-mode": 1,
        "profile-level-id": "4d0032",
    }
    assert codecs[0]["channels"] == 2
    assert "channels" not in codecs[1]
    assert {"type": "transport-cc", "parameter": ""} not in codecs[1]["rtcpFeedback"]
    assert {"type": "nack", "parameter": "pli"} in codecs[1]["rtcpFeedback"]
    extensions = capabilities["headerExtensions"]
    assert ("video", "urn:ietf:params:rtp-hdrext:sdes:mid", 1) in [
        (e["kind"], e["uri"], e["preferredId"]) for e in extensions
    ]
    assert all(e["preferredEncrypt"] is False for e in extensions)


def test_static_and_preferred_payload_types() -> None:
    capabilities = generate_router_rtp_capabilities(
        [
            {"kind": "audio", "mimeType": "audio/PCMU", "clockRate": 8000},
            {**OPUS, "preferredPayloadType": 111},
            {**VP8, "preferredPayloadType": 96},
        ]
    )
    assert [(c["mimeType"], c["preferredPayloadType"]) for c in capabilities["codecs"]] == [
        ("audio/PCMU", 0),
        ("audio/opus", 111),
        ("video/VP8", 96),
        ("video/rtx", 100),
    ]
    assert capabilities["codecs"][0]["channels"] == 1


@pytest.mark.parametrize(
    ("codecs", "error", "field"),
    [
        ("opus", errors.MediasoupTypeError, "media_codecs"),
        (
            [{"mimeType": "opus", "clockRate": 1}],
            errors.MediasoupTypeError,
            "media_codecs[0].mimeType",
        ),
        ([{**VP8, "clockRate": "fast"}], errors.MediasoupTypeError, "media_codecs[0].clockRate"),
        ([{**OPUS, "preferredPayloadType": 200}], errors.MediasoupTypeError, None),
        (
            [{**OPUS, "parameters": {"x": [1]}}],
            errors.MediasoupTypeError,
            "media_codecs[0].parameters.x",
        ),
        (
            [{**OPUS, "preferredPayloadType": 100}, {**VP8, "preferredPayloadType": 100}],
            errors.MediasoupTypeError,
            "media_codecs[1].preferredPayloadType",
        ),
        ([{**VP8, "mimeType": "video/H265"}], errors.UnsupportedError, None),
        ([{**OPUS, "channels": 1}], errors.UnsupportedError, None),
    ],
)
def test_bad_media_codecs(codecs: object, error: type[Exception], field: str | None) -> None:
    with pytest.raises(error) as raised:
        generate_router_rtp_capabilities(codecs)
    if field is not None:
        assert getattr(raised.value, "field", None) == field


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                ["kind", "mimeType", "clockRate", "channels", "parameters", "preferredPayloadType"]
            )
            | st.text(max_size=6),
            children,
            max_size=5,
        )
    ),
    max_leaves=20,
)


@given(json_values)
def test_arbitrary_input_only_raises_typed_errors(codecs: Any) -> None:
    with contextlib.suppress(errors.MediasoupTypeError, errors.UnsupportedError):
        generate_router_rtp_capabilities(codecs)


def test_router_exposes_its_capabilities() -> None:
    async def scenario() -> None:
        worker = await mediasoup_py.create_worker(rtc_min_port=44900, rtc_max_port=44999)
        try:
            router = await worker.create_router(media_codecs=[OPUS, VP8])  # type: ignore[list-item]
            capabilities = router.rtp_capabilities
            assert [c["preferredPayloadType"] for c in capabilities["codecs"]] == [100, 101, 102]
            capabilities["codecs"].clear()
            assert len(router.rtp_capabilities["codecs"]) == 3, "a copy is returned"
            with pytest.raises(errors.UnsupportedError):
                await worker.create_router(media_codecs=[{**VP8, "mimeType": "video/MPV"}])  # type: ignore[list-item]
        finally:
            worker.close()

    asyncio.run(scenario())
