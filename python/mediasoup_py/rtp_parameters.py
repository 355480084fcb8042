"""mediasoup's RTP capability and parameter shapes (camelCase keys, as clients send them)."""

from __future__ import annotations

from typing import Literal, NotRequired, TypedDict

__all__ = [
    "MediaKind",
    "RtcpFeedback",
    "RtpCapabilities",
    "RtpCodecCapability",
    "RtpHeaderExtension",
    "RtpHeaderExtensionDirection",
]

MediaKind = Literal["audio", "video"]
RtpHeaderExtensionDirection = Literal["sendrecv", "sendonly", "recvonly", "inactive"]


class RtcpFeedback(TypedDict):
    """An RTCP feedback mechanism, e.g. ``{"type": "nack", "parameter": "pli"}``."""

    type: str
    parameter: NotRequired[str]


class RtpCodecCapability(TypedDict):
    """A codec a router or endpoint can handle."""

    kind: MediaKind
    mimeType: str
    preferredPayloadType: NotRequired[int]
    clockRate: int
    channels: NotRequired[int]
    parameters: NotRequired[dict[str, str | int]]
    rtcpFeedback: NotRequired[list[RtcpFeedback]]


class RtpHeaderExtension(TypedDict):
    """A header extension a router supports, with the id clients must use for it."""

    kind: MediaKind
    uri: str
    preferredId: int
    preferredEncrypt: NotRequired[bool]
    direction: NotRequired[RtpHeaderExtensionDirection]


class RtpCapabilities(TypedDict):
    """What a router (or an endpoint) can send and receive."""

    codecs: NotRequired[list[RtpCodecCapability]]
    headerExtensions: NotRequired[list[RtpHeaderExtension]]
