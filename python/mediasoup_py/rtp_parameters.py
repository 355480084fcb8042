"""mediasoup's RTP capability and parameter shapes (camelCase keys, as clients send them)."""

from __future__ import annotations

from typing import Literal, NotRequired, TypedDict

__all__ = [
    "MediaKind",
    "RtcpFeedback",
    "RtcpParameters",
    "RtpCapabilities",
    "RtpCodecCapability",
    "RtpCodecMapping",
    "RtpCodecParameters",
    "RtpEncodingMapping",
    "RtpEncodingParameters",
    "RtpHeaderExtension",
    "RtpHeaderExtensionDirection",
    "RtpHeaderExtensionParameters",
    "RtpMapping",
    "RtpParameters",
    "RtxParameters",
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


class RtpCodecParameters(TypedDict):
    """A codec in RTP parameters, with the payload type it is sent with."""

    mimeType: str
    payloadType: int
    clockRate: int
    channels: NotRequired[int]
    parameters: dict[str, str | int]
    rtcpFeedback: list[RtcpFeedback]


class RtpHeaderExtensionParameters(TypedDict):
    """A header extension in RTP parameters, with the id it is sent with."""

    uri: str
    id: int
    encrypt: bool
    parameters: dict[str, str | int]


class RtxParameters(TypedDict):
    """The RTX stream of an encoding."""

    ssrc: int


class RtpEncodingParameters(TypedDict, total=False):
    """One encoding (stream) of RTP parameters: by SSRC, or by RID for simulcast."""

    ssrc: int
    rid: str
    codecPayloadType: int
    rtx: RtxParameters
    dtx: bool
    scalabilityMode: str
    maxBitrate: int


class RtcpParameters(TypedDict, total=False):
    """RTCP settings of RTP parameters."""

    cname: str
    reducedSize: bool


class RtpParameters(TypedDict):
    """What a producer sends or a consumer receives (mediasoup's ``RtpParameters``)."""

    mid: NotRequired[str]
    codecs: list[RtpCodecParameters]
    headerExtensions: list[RtpHeaderExtensionParameters]
    encodings: list[RtpEncodingParameters]
    rtcp: RtcpParameters


class RtpCodecMapping(TypedDict):
    """A producer's payload type and the router's for the same codec."""

    payloadType: int
    mappedPayloadType: int


class RtpEncodingMapping(TypedDict):
    """A producer encoding and the SSRC consumers know it by."""

    ssrc: NotRequired[int]
    rid: NotRequired[str]
    scalabilityMode: NotRequired[str]
    mappedSsrc: int


class RtpMapping(TypedDict):
    """How a producer's numbers map to the router's (mediasoup's ``rtpMapping``)."""

    codecs: list[RtpCodecMapping]
    encodings: list[RtpEncodingMapping]
