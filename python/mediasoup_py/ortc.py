"""RTP capability negotiation, by mediasoup's rules (its ``ortc.ts``): checking the codecs an
application gives a router and building the router's RTP capabilities from them.

The router's capabilities are what clients load (``device.load({routerRtpCapabilities})``):
payload types and header extension ids chosen here are the ones every client of the router
uses, so a producer's packets can go to every consumer with only their SSRC, sequence numbers
and timestamps rewritten.
"""

from __future__ import annotations

import copy
from typing import Any, cast

from mediasoup_py import errors
from mediasoup_py.rtp_parameters import RtcpFeedback, RtpCapabilities, RtpCodecCapability
from mediasoup_py.supported_rtp_capabilities import SUPPORTED_RTP_CAPABILITIES

__all__ = [
    "DYNAMIC_PAYLOAD_TYPES",
    "generate_router_rtp_capabilities",
    "validate_rtp_codec_capability",
]

# The order mediasoup hands out dynamic payload types in.
DYNAMIC_PAYLOAD_TYPES: tuple[int, ...] = (*range(100, 128), 96, 97, 98, 99)


def _type_error(field: str, message: str) -> errors.MediasoupTypeError:
    return errors.MediasoupTypeError(f"{field}: {message}", field)


def _int(value: object, field: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _type_error(field, f"must be an int in {low}..{high}")
    return value


def _validate_rtcp_feedback(value: object, field: str) -> list[RtcpFeedback]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _type_error(field, "must be a list")
    checked: list[RtcpFeedback] = []
    for index, entry in enumerate(value):
        at = f"{field}[{index}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("type"), str):
            raise _type_error(at, "must be a dict with a string 'type'")
        parameter = entry.get("parameter", "")
        if not isinstance(parameter, str):
            raise _type_error(f"{at}.parameter", "must be a string")
        checked.append({"type": entry["type"], "parameter": parameter})
    return checked


def _validate_parameters(value: object, field: str) -> dict[str, str | int]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _type_error(field, "must be a dict")
    checked: dict[str, str | int] = {}
    for key, item in value.items():
        if not isinstance(key, str):
            raise _type_error(field, "keys must be strings")
        if item is None:
            item = ""
        if isinstance(item, bool) or not isinstance(item, str | int):
            raise _type_error(f"{field}.{key}", "must be a string or an int")
        if key == "apt" and not isinstance(item, int):
            raise _type_error(f"{field}.apt", "must be an int")
        checked[key] = item
    return checked


def validate_rtp_codec_capability(codec: object, field: str) -> RtpCodecCapability:
    """A normalised copy of a codec capability (mediasoup's defaults: kind from the MIME type,
    one channel for audio and none for video, empty parameters and feedback), or a
    ``MediasoupTypeError`` naming the bad field."""
    if not isinstance(codec, dict):
        raise _type_error(field, "must be a dict")
    mime_type = codec.get("mimeType")
    if not isinstance(mime_type, str) or mime_type.count("/") != 1:
        raise _type_error(f"{field}.mimeType", "must be a string like 'video/VP8'")
    kind = mime_type.split("/")[0].lower()
    if kind not in ("audio", "video"):
        raise _type_error(f"{field}.mimeType", "must start with 'audio/' or 'video/'")
    checked: dict[str, Any] = {"kind": kind, "mimeType": mime_type}
    if codec.get("preferredPayloadType") is not None:
        checked["preferredPayloadType"] = _int(
            codec["preferredPayloadType"], f"{field}.preferredPayloadType", 0, 127
        )
    checked["clockRate"] = _int(codec.get("clockRate"), f"{field}.clockRate", 1, 2**31 - 1)
    if kind == "audio":
        channels = codec.get("channels")
        checked["channels"] = 1 if channels is None else _int(channels, f"{field}.channels", 1, 255)
    checked["parameters"] = _validate_parameters(codec.get("parameters"), f"{field}.parameters")
    checked["rtcpFeedback"] = _validate_rtcp_feedback(
        codec.get("rtcpFeedback"), f"{field}.rtcpFeedback"
    )
    return cast(RtpCodecCapability, checked)


def _matches_loosely(codec: RtpCodecCapability, supported: RtpCodecCapability) -> bool:
    """mediasoup's non-strict codec match: MIME type (any case), clock rate and channels, and
    for multiopus the stream layout. Profiles (H264, VP9) are compared only when producing."""
    if codec["mimeType"].lower() != supported["mimeType"].lower():
        return False
    if codec["clockRate"] != supported["clockRate"]:
        return False
    if codec.get("channels") != supported.get("channels", 1 if codec["kind"] == "audio" else None):
        return False
    if codec["mimeType"].lower() == "audio/multiopus":
        ours = codec.get("parameters", {})
        theirs = supported.get("parameters", {})
        for key in ("num_streams", "coupled_streams"):
            if ours.get(key) != theirs.get(key):
                return False
    return True


def generate_router_rtp_capabilities(media_codecs: object) -> RtpCapabilities:
    """The RTP capabilities of a router offering ``media_codecs`` (mediasoup's
    ``generateRouterRtpCapabilities``): each codec matched to the supported table, given its
    payload type (the one asked for, else its static one, else the next dynamic one), followed
    by an RTX codec when it is video; all supported header extensions."""
    if media_codecs is None:
        media_codecs = []
    if not isinstance(media_codecs, list):
        raise _type_error("media_codecs", "must be a list of codec capabilities")
    supported_codecs = SUPPORTED_RTP_CAPABILITIES.get("codecs", [])
    checked = [
        validate_rtp_codec_capability(codec, f"media_codecs[{index}]")
        for index, codec in enumerate(media_codecs)
    ]
    taken: set[int] = set()
    for index, codec in enumerate(checked):
        preferred = codec.get("preferredPayloadType")
        if preferred is not None:
            if preferred in taken:
                raise _type_error(
                    f"media_codecs[{index}].preferredPayloadType",
                    f"payload type {preferred} is used twice",
                )
            taken.add(preferred)
    dynamic = (pt for pt in DYNAMIC_PAYLOAD_TYPES if pt not in taken)

    def next_dynamic(field: str) -> int:
        try:
            payload_type = next(dynamic)
        except StopIteration:
            raise errors.UnsupportedError(f"{field}: no free dynamic payload type left") from None
        taken.add(payload_type)
        return payload_type

    codecs: list[RtpCodecCapability] = []
    for index, codec in enumerate(checked):
        field = f"media_codecs[{index}]"
        supported = next((s for s in supported_codecs if _matches_loosely(codec, s)), None)
        if supported is None:
            raise errors.UnsupportedError(
                f"{field}: media codec not supported [mimeType:{codec['mimeType']}, "
                f"clockRate:{codec['clockRate']}, channels:{codec.get('channels')}]"
            )
        router_codec = copy.deepcopy(supported)
        payload_type = codec.get("preferredPayloadType")
        if payload_type is None:
            static = supported.get("preferredPayloadType")
            if static is not None and static not in taken:
                payload_type = static
                taken.add(static)
            else:
                payload_type = next_dynamic(f"{field}.preferredPayloadType")
        router_codec["preferredPayloadType"] = payload_type
        if router_codec["kind"] == "audio":
            router_codec["channels"] = supported.get("channels", 1)
        router_codec["parameters"] = {
            **supported.get("parameters", {}),
            **codec.get("parameters", {}),
        }
        router_codec["rtcpFeedback"] = list(supported.get("rtcpFeedback", []))
        codecs.append(router_codec)
        if router_codec["kind"] == "video":
            codecs.append(
                {
                    "kind": "video",
                    "mimeType": "video/rtx",
                    "preferredPayloadType": next_dynamic(f"{field} (its RTX codec)"),
                    "clockRate": router_codec["clockRate"],
                    "parameters": {"apt": payload_type},
                    "rtcpFeedback": [],
                }
            )
    return {
        "codecs": codecs,
        "headerExtensions": copy.deepcopy(SUPPORTED_RTP_CAPABILITIES.get("headerExtensions", [])),
    }
