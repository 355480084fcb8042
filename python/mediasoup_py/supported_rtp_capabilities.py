"""The codecs and header extensions a router can offer (mediasoup 3.27's table).

Routers pick their codecs from here (``Worker.create_router(media_codecs=...)``); header
extension ids are fixed so that every client of a router uses the same ids. mediasoup's
opt-in ``urn:mediasoup:params:rtp-hdrext:packet-id`` is left out: nothing here writes it.
"""

from __future__ import annotations

from typing import cast

from mediasoup_py.rtp_parameters import (
    RtcpFeedback,
    RtpCapabilities,
    RtpCodecCapability,
    RtpHeaderExtension,
)

__all__ = ["DEPENDENCY_DESCRIPTOR_URI", "SUPPORTED_RTP_CAPABILITIES"]

_AUDIO_FEEDBACK: list[RtcpFeedback] = [{"type": "nack"}, {"type": "transport-cc"}]
_TRANSPORT_CC: list[RtcpFeedback] = [{"type": "transport-cc"}]
_VIDEO_FEEDBACK: list[RtcpFeedback] = [
    {"type": "nack"},
    {"type": "nack", "parameter": "pli"},
    {"type": "ccm", "parameter": "fir"},
    {"type": "goog-remb"},
    {"type": "transport-cc"},
]

_MID = "urn:ietf:params:rtp-hdrext:sdes:mid"
_ABS_SEND_TIME = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
_TRANSPORT_WIDE_CC = "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"
_ABS_CAPTURE_TIME = "http://www.webrtc.org/experiments/rtp-hdrext/abs-capture-time"
_PLAYOUT_DELAY = "http://www.webrtc.org/experiments/rtp-hdrext/playout-delay"


def _codec(
    mime_type: str,
    clock_rate: int,
    feedback: list[RtcpFeedback] | None = None,
    *,
    payload_type: int | None = None,
    channels: int | None = None,
    parameters: dict[str, str | int] | None = None,
) -> RtpCodecCapability:
    codec: dict[str, object] = {"kind": mime_type.split("/")[0], "mimeType": mime_type}
    if payload_type is not None:
        codec["preferredPayloadType"] = payload_type
    codec["clockRate"] = clock_rate
    if channels is not None:
        codec["channels"] = channels
    if parameters is not None:
        codec["parameters"] = parameters
    if feedback is not None:
        codec["rtcpFeedback"] = feedback
    return cast(RtpCodecCapability, codec)


def _multiopus(channels: int, mapping: str, streams: int, coupled: int) -> RtpCodecCapability:
    parameters: dict[str, str | int] = {
        "channel_mapping": mapping,
        "num_streams": streams,
        "coupled_streams": coupled,
    }
    return _codec(
        "audio/multiopus", 48000, _AUDIO_FEEDBACK, channels=channels, parameters=parameters
    )


def _extension(kind: str, uri: str, preferred_id: int, direction: str) -> RtpHeaderExtension:
    return cast(
        RtpHeaderExtension,
        {
            "kind": kind,
            "uri": uri,
            "preferredId": preferred_id,
            "preferredEncrypt": False,
            "direction": direction,
        },
    )


DEPENDENCY_DESCRIPTOR_URI = (
    "https://aomediacodec.github.io/av1-rtp-spec/#dependency-descriptor-rtp-header-extension"
)
_RID = "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id"
_REPAIRED_RID = "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id"

SUPPORTED_RTP_CAPABILITIES: RtpCapabilities = {
    "codecs": [
        _codec("audio/opus", 48000, _AUDIO_FEEDBACK, channels=2),
        _multiopus(4, "0,1,2,3", 2, 2),
        _multiopus(6, "0,4,1,2,3,5", 4, 2),
        _multiopus(8, "0,6,1,2,3,4,5,7", 5, 3),
        _codec("audio/PCMU", 8000, _TRANSPORT_CC, payload_type=0),
        _codec("audio/PCMA", 8000, _TRANSPORT_CC, payload_type=8),
        _codec("audio/ISAC", 32000, _TRANSPORT_CC),
        _codec("audio/ISAC", 16000, _TRANSPORT_CC),
        _codec("audio/G722", 8000, _TRANSPORT_CC, payload_type=9),
        _codec("audio/iLBC", 8000, _TRANSPORT_CC),
        *[_codec("audio/SILK", rate, _TRANSPORT_CC) for rate in (24000, 16000, 12000, 8000)],
        *[_codec("audio/CN", rate, payload_type=13) for rate in (32000, 16000, 8000)],
        *[_codec("audio/telephone-event", rate) for rate in (48000, 32000, 16000, 8000)],
        _codec("video/VP8", 90000, _VIDEO_FEEDBACK),
        _codec("video/VP9", 90000, _VIDEO_FEEDBACK),
        _codec("video/H264", 90000, _VIDEO_FEEDBACK, parameters={"level-asymmetry-allowed": 1}),
        _codec("video/AV1", 90000, _VIDEO_FEEDBACK),
    ],
    "headerExtensions": [
        _extension("audio", _MID, 1, "sendrecv"),
        _extension("video", _MID, 1, "sendrecv"),
        _extension("video", _RID, 2, "recvonly"),
        _extension("video", _REPAIRED_RID, 3, "recvonly"),
        _extension("audio", _ABS_SEND_TIME, 4, "sendrecv"),
        _extension("video", _ABS_SEND_TIME, 4, "sendrecv"),
        _extension("audio", _TRANSPORT_WIDE_CC, 5, "recvonly"),
        _extension("video", _TRANSPORT_WIDE_CC, 5, "sendrecv"),
        _extension("audio", "urn:ietf:params:rtp-hdrext:ssrc-audio-level", 6, "sendrecv"),
        # Forwarded to consumers: AV1 SVC consumers choose layers by it.
        _extension("video", DEPENDENCY_DESCRIPTOR_URI, 7, "sendrecv"),
        _extension("video", "urn:3gpp:video-orientation", 8, "sendrecv"),
        _extension("video", "urn:ietf:params:rtp-hdrext:toffset", 9, "sendrecv"),
        _extension("audio", _ABS_CAPTURE_TIME, 10, "sendrecv"),
        _extension("video", _ABS_CAPTURE_TIME, 10, "sendrecv"),
        _extension("audio", _PLAYOUT_DELAY, 11, "sendrecv"),
        _extension("video", _PLAYOUT_DELAY, 11, "sendrecv"),
    ],
}
