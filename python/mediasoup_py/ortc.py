"""RTP capability negotiation, by mediasoup's rules (its ``ortc.ts``): checking the codecs an
application gives a router and building the router's RTP capabilities from them; checking a
producer's RTP parameters and mapping them onto the router's; and deriving what each consumer
receives from the producer and the consuming endpoint's capabilities.

The router's capabilities are what clients load (``device.load({routerRtpCapabilities})``):
payload types and header extension ids chosen here are the ones every client of the router
uses, so a producer's packets can go to every consumer with only their SSRC, sequence numbers
and timestamps rewritten.
"""

from __future__ import annotations

import copy
import re
import secrets
from collections.abc import Mapping
from typing import Any, cast

from mediasoup_py import errors, h264_profile_level_id
from mediasoup_py.rtp_parameters import (
    RtcpFeedback,
    RtpCapabilities,
    RtpCodecCapability,
    RtpCodecParameters,
    RtpEncodingParameters,
    RtpHeaderExtension,
    RtpHeaderExtensionParameters,
    RtpMapping,
    RtpParameters,
)
from mediasoup_py.supported_rtp_capabilities import (
    SUPPORTED_RTP_CAPABILITIES,
)

__all__ = [
    "DYNAMIC_PAYLOAD_TYPES",
    "can_consume",
    "generate_router_rtp_capabilities",
    "get_consumable_rtp_parameters",
    "get_consumer_rtp_parameters",
    "get_pipe_consumer_rtp_parameters",
    "get_producer_rtp_parameters_mapping",
    "validate_rtp_capabilities",
    "validate_rtp_codec_capability",
    "validate_rtp_parameters",
]

MID_URI = "urn:ietf:params:rtp-hdrext:sdes:mid"
ABS_SEND_TIME_URI = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
TRANSPORT_WIDE_CC_URI = "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"

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


def _random_ssrc() -> int:
    # mediasoup draws SSRCs from 100000000..999999999; room is left for +1 (RTX) and
    # +encoding index above it.
    return 100_000_000 + secrets.randbelow(900_000_000)


def _is_rtx(codec: Mapping[str, Any]) -> bool:
    return bool(str(codec["mimeType"]).lower().endswith("/rtx"))


def _string(value: object, field: str) -> str:
    if not isinstance(value, str):
        raise _type_error(field, "must be a string")
    return value


def _bool(value: object, field: str, default: bool) -> bool:
    if value is None:
        return default
    if not isinstance(value, bool):
        raise _type_error(field, "must be a bool")
    return value


def _list(value: object, field: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _type_error(field, "must be a list")
    return value


def _validate_rtp_codec_parameters(codec: object, field: str) -> RtpCodecParameters:
    if not isinstance(codec, dict):
        raise _type_error(field, "must be a dict")
    mime_type = codec.get("mimeType")
    if not isinstance(mime_type, str) or not re.fullmatch(r"(audio|video)/.+", mime_type, re.I):
        raise _type_error(f"{field}.mimeType", "must be a string like 'video/VP8'")
    checked: dict[str, Any] = {
        "mimeType": mime_type,
        "payloadType": _int(codec.get("payloadType"), f"{field}.payloadType", 0, 127),
        "clockRate": _int(codec.get("clockRate"), f"{field}.clockRate", 1, 2**31 - 1),
    }
    if mime_type.lower().startswith("audio/"):
        channels = codec.get("channels")
        checked["channels"] = 1 if channels is None else _int(channels, f"{field}.channels", 1, 255)
    checked["parameters"] = _validate_parameters(codec.get("parameters"), f"{field}.parameters")
    if _is_rtx(checked) and not isinstance(checked["parameters"].get("apt"), int):
        raise _type_error(f"{field}.parameters.apt", "an RTX codec needs an int 'apt'")
    checked["rtcpFeedback"] = _validate_rtcp_feedback(
        codec.get("rtcpFeedback"), f"{field}.rtcpFeedback"
    )
    return cast(RtpCodecParameters, checked)


def _validate_header_extension_parameters(
    extension: object, field: str
) -> RtpHeaderExtensionParameters:
    if not isinstance(extension, dict):
        raise _type_error(field, "must be a dict")
    return {
        "uri": _string(extension.get("uri"), f"{field}.uri"),
        "id": _int(extension.get("id"), f"{field}.id", 1, 255),
        "encrypt": _bool(extension.get("encrypt"), f"{field}.encrypt", False),
        "parameters": _validate_parameters(extension.get("parameters"), f"{field}.parameters"),
    }


def _validate_encoding(encoding: object, field: str) -> RtpEncodingParameters:
    if not isinstance(encoding, dict):
        raise _type_error(field, "must be a dict")
    checked: RtpEncodingParameters = {}
    if encoding.get("ssrc") is not None:
        checked["ssrc"] = _int(encoding["ssrc"], f"{field}.ssrc", 0, 2**32 - 1)
    if encoding.get("rid") is not None:
        checked["rid"] = _string(encoding["rid"], f"{field}.rid")
    if encoding.get("codecPayloadType") is not None:
        checked["codecPayloadType"] = _int(
            encoding["codecPayloadType"], f"{field}.codecPayloadType", 0, 127
        )
    rtx = encoding.get("rtx")
    if rtx is not None:
        if not isinstance(rtx, dict):
            raise _type_error(f"{field}.rtx", "must be a dict")
        checked["rtx"] = {"ssrc": _int(rtx.get("ssrc"), f"{field}.rtx.ssrc", 0, 2**32 - 1)}
    checked["dtx"] = _bool(encoding.get("dtx"), f"{field}.dtx", False)
    if encoding.get("scalabilityMode") is not None:
        checked["scalabilityMode"] = _string(
            encoding["scalabilityMode"], f"{field}.scalabilityMode"
        )
    if encoding.get("maxBitrate") is not None:
        checked["maxBitrate"] = _int(encoding["maxBitrate"], f"{field}.maxBitrate", 0, 2**53)
    return checked


def validate_rtp_parameters(params: object, field: str = "rtp_parameters") -> RtpParameters:
    """A normalised copy of RTP parameters as a client sends them for ``produce``
    (mediasoup's defaults filled in), or a ``MediasoupTypeError`` naming the bad field."""
    if not isinstance(params, dict):
        raise _type_error(field, "must be a dict")
    codecs = _list(params.get("codecs"), f"{field}.codecs")
    if not codecs:
        raise _type_error(f"{field}.codecs", "must have at least one codec")
    checked: RtpParameters = {
        "codecs": [
            _validate_rtp_codec_parameters(codec, f"{field}.codecs[{index}]")
            for index, codec in enumerate(codecs)
        ],
        "headerExtensions": [
            _validate_header_extension_parameters(extension, f"{field}.headerExtensions[{index}]")
            for index, extension in enumerate(
                _list(params.get("headerExtensions"), f"{field}.headerExtensions")
            )
        ],
        "encodings": [
            _validate_encoding(encoding, f"{field}.encodings[{index}]")
            for index, encoding in enumerate(_list(params.get("encodings"), f"{field}.encodings"))
        ],
        "rtcp": {"reducedSize": True},
    }
    if len(checked["encodings"]) > MAX_ENCODINGS:
        raise _type_error(
            f"{field}.encodings",
            f"has {len(checked['encodings'])} encodings; at most {MAX_ENCODINGS} are taken",
        )
    _check_encodings_consistent(checked, field)
    if params.get("mid") is not None:
        checked["mid"] = _string(params["mid"], f"{field}.mid")
    rtcp = params.get("rtcp")
    if rtcp is not None:
        if not isinstance(rtcp, dict):
            raise _type_error(f"{field}.rtcp", "must be a dict")
        if rtcp.get("cname") is not None:
            checked["rtcp"]["cname"] = _string(rtcp["cname"], f"{field}.rtcp.cname")
        checked["rtcp"]["reducedSize"] = _bool(
            rtcp.get("reducedSize"), f"{field}.rtcp.reducedSize", True
        )
    return checked


# Each encoding is a stream the worker keeps state for (a packet store, NACKs, statistics):
# a bound, well above what senders use (browsers send at most four simulcast encodings).
MAX_ENCODINGS = 8


def _check_encodings_consistent(params: RtpParameters, field: str) -> None:
    """Encodings that cannot describe distinct streams of these codecs are refused: a
    payload type no codec has, an SSRC or RID used twice, RTX sharing a media SSRC."""
    payload_types = {codec["payloadType"] for codec in params["codecs"]}
    seen_ssrcs: set[int] = set()
    seen_rids: set[str] = set()
    for index, encoding in enumerate(params["encodings"]):
        at = f"{field}.encodings[{index}]"
        if encoding.get("codecPayloadType", next(iter(payload_types))) not in payload_types:
            raise _type_error(f"{at}.codecPayloadType", "is not the payload type of any codec")
        for ssrc in (encoding.get("ssrc"), encoding.get("rtx", {}).get("ssrc")):
            if ssrc is None:
                continue
            if ssrc in seen_ssrcs:
                raise _type_error(f"{at}.ssrc", f"SSRC {ssrc} is used twice")
            seen_ssrcs.add(ssrc)
        rid = encoding.get("rid")
        if rid is not None:
            if rid in seen_rids:
                raise _type_error(f"{at}.rid", f"RID {rid!r} is used twice")
            seen_rids.add(rid)
    if len(params["encodings"]) > 1 and any(
        "ssrc" not in encoding and "rid" not in encoding for encoding in params["encodings"]
    ):
        raise _type_error(
            f"{field}.encodings", "with several encodings, each needs an ssrc or a rid"
        )


def _validate_header_extension_capability(extension: object, field: str) -> RtpHeaderExtension:
    if not isinstance(extension, dict):
        raise _type_error(field, "must be a dict")
    kind = extension.get("kind")
    if kind not in ("audio", "video"):
        raise _type_error(f"{field}.kind", "must be 'audio' or 'video'")
    direction = extension.get("direction", "sendrecv")
    if direction not in ("sendrecv", "sendonly", "recvonly", "inactive"):
        raise _type_error(f"{field}.direction", "must be sendrecv, sendonly, recvonly or inactive")
    return {
        "kind": kind,
        "uri": _string(extension.get("uri"), f"{field}.uri"),
        "preferredId": _int(extension.get("preferredId"), f"{field}.preferredId", 1, 255),
        "preferredEncrypt": _bool(
            extension.get("preferredEncrypt"), f"{field}.preferredEncrypt", False
        ),
        "direction": direction,
    }


def validate_rtp_capabilities(caps: object, field: str = "rtp_capabilities") -> RtpCapabilities:
    """A normalised copy of an endpoint's RTP capabilities (``device.rtpCapabilities``), or
    a ``MediasoupTypeError`` naming the bad field."""
    if not isinstance(caps, dict):
        raise _type_error(field, "must be a dict")
    return {
        "codecs": [
            validate_rtp_codec_capability(codec, f"{field}.codecs[{index}]")
            for index, codec in enumerate(_list(caps.get("codecs"), f"{field}.codecs"))
        ],
        "headerExtensions": [
            _validate_header_extension_capability(extension, f"{field}.headerExtensions[{index}]")
            for index, extension in enumerate(
                _list(caps.get("headerExtensions"), f"{field}.headerExtensions")
            )
        ],
    }


def _match_codecs(
    a: Mapping[str, Any], b: Mapping[str, Any], *, strict: bool, modify: bool = False
) -> bool:
    """mediasoup's codec match. Loosely: MIME type, clock rate, channels (and multiopus
    layout). Strictly also H264 packetization mode and profile, and VP9 profile; with
    ``modify``, ``a``'s profile-level-id becomes the one to answer ``b`` with."""
    mime_type = str(a["mimeType"]).lower()
    if mime_type != str(b["mimeType"]).lower():
        return False
    if a["clockRate"] != b["clockRate"] or a.get("channels") != b.get("channels"):
        return False
    # Not `or {}`: with `modify`, an empty dict of ``a``'s must be the one written to.
    a_parameters: dict[str, Any] = a.get("parameters", {})
    b_parameters: dict[str, Any] = b.get("parameters", {})
    if mime_type == "audio/multiopus":
        for key in ("num_streams", "coupled_streams"):
            if a_parameters.get(key) != b_parameters.get(key):
                return False
    elif mime_type in ("video/h264", "video/h264-svc") and strict:
        if int(a_parameters.get("packetization-mode") or 0) != int(
            b_parameters.get("packetization-mode") or 0
        ):
            return False
        if not h264_profile_level_id.is_same_profile(a_parameters, b_parameters):
            return False
        try:
            answer = h264_profile_level_id.answer_profile_level_id(a_parameters, b_parameters)
        except ValueError:
            return False
        if modify:
            if answer is not None:
                a_parameters["profile-level-id"] = answer
            else:
                a_parameters.pop("profile-level-id", None)
    elif mime_type == "video/vp9" and strict:
        return int(a_parameters.get("profile-id") or 0) == int(b_parameters.get("profile-id") or 0)
    return True


def get_producer_rtp_parameters_mapping(params: RtpParameters, caps: RtpCapabilities) -> RtpMapping:
    """How a producer's payload types and encodings map to the router's: each media codec
    to the router codec it strictly matches (``UnsupportedError`` if none), each RTX codec
    to the router's RTX for that codec, and each encoding to a new SSRC consumers see."""
    router_codecs = caps.get("codecs", [])
    mapped: list[tuple[RtpCodecParameters, RtpCodecCapability]] = []
    by_payload_type: dict[int, RtpCodecCapability] = {}
    for codec in params["codecs"]:
        if _is_rtx(codec):
            continue
        router_codec = next(
            (c for c in router_codecs if _match_codecs(codec, c, strict=True, modify=True)),
            None,
        )
        if router_codec is None:
            raise errors.UnsupportedError(
                f"unsupported codec [mimeType:{codec['mimeType']}, "
                f"payloadType:{codec['payloadType']}]"
            )
        mapped.append((codec, router_codec))
        by_payload_type[codec["payloadType"]] = router_codec
    for codec in params["codecs"]:
        if not _is_rtx(codec):
            continue
        media = by_payload_type.get(int(codec["parameters"]["apt"]))
        if media is None:
            raise errors.MediasoupTypeError(
                f"rtp_parameters.codecs: no media codec for RTX payload type "
                f"{codec['payloadType']}",
                "rtp_parameters.codecs",
            )
        router_rtx = next(
            (
                c
                for c in router_codecs
                if _is_rtx(c)
                and c.get("parameters", {}).get("apt") == media.get("preferredPayloadType")
            ),
            None,
        )
        if router_rtx is None:
            raise errors.UnsupportedError(
                f"no RTX codec for capability codec PT {media.get('preferredPayloadType')}"
            )
        mapped.append((codec, router_rtx))
    mapping: RtpMapping = {
        "codecs": [
            {
                "payloadType": codec["payloadType"],
                "mappedPayloadType": router["preferredPayloadType"],
            }
            for codec, router in mapped
            if "preferredPayloadType" in router
        ],
        "encodings": [],
    }
    mapped_ssrc = _random_ssrc()
    for encoding in params["encodings"]:
        entry: dict[str, Any] = {"mappedSsrc": mapped_ssrc}
        mapped_ssrc += 1
        for key in ("rid", "ssrc", "scalabilityMode"):
            if key in encoding:
                entry[key] = encoding[key]
        mapping["encodings"].append(cast(Any, entry))
    return mapping


def get_consumable_rtp_parameters(
    kind: str, params: RtpParameters, caps: RtpCapabilities, mapping: RtpMapping
) -> RtpParameters:
    """The producer's stream in router terms, which every consumer of it is derived from:
    router payload types (with the producer's codec parameters), the router's RTX codecs,
    every header extension the router may send for ``kind``, and the mapped SSRCs."""
    router_codecs = caps.get("codecs", [])
    mapped_payload_types = {
        entry["payloadType"]: entry["mappedPayloadType"] for entry in mapping["codecs"]
    }
    codecs: list[RtpCodecParameters] = []
    for codec in params["codecs"]:
        if _is_rtx(codec):
            continue
        payload_type = mapped_payload_types[codec["payloadType"]]
        router_codec = next(
            c for c in router_codecs if c.get("preferredPayloadType") == payload_type
        )
        consumable: RtpCodecParameters = {
            "mimeType": router_codec["mimeType"],
            "payloadType": payload_type,
            "clockRate": router_codec["clockRate"],
            "parameters": copy.deepcopy(codec["parameters"]),
            "rtcpFeedback": copy.deepcopy(router_codec.get("rtcpFeedback", [])),
        }
        if "channels" in router_codec:
            consumable["channels"] = router_codec["channels"]
        codecs.append(consumable)
        router_rtx = next(
            (
                c
                for c in router_codecs
                if _is_rtx(c) and c.get("parameters", {}).get("apt") == payload_type
            ),
            None,
        )
        if router_rtx is not None:
            codecs.append(
                {
                    "mimeType": router_rtx["mimeType"],
                    "payloadType": router_rtx["preferredPayloadType"],
                    "clockRate": router_rtx["clockRate"],
                    "parameters": copy.deepcopy(router_rtx.get("parameters", {})),
                    "rtcpFeedback": copy.deepcopy(router_rtx.get("rtcpFeedback", [])),
                }
            )
    extensions: list[RtpHeaderExtensionParameters] = [
        {
            "uri": extension["uri"],
            "id": extension["preferredId"],
            "encrypt": extension.get("preferredEncrypt", False),
            "parameters": {},
        }
        for extension in caps.get("headerExtensions", [])
        if extension["kind"] == kind
        and extension.get("direction", "sendrecv") in ("sendrecv", "sendonly")
    ]
    encodings: list[RtpEncodingParameters] = []
    for encoding, mapped in zip(params["encodings"], mapping["encodings"], strict=True):
        consumable_encoding = cast(
            RtpEncodingParameters,
            {
                key: copy.deepcopy(value)
                for key, value in encoding.items()
                if key not in ("rid", "rtx", "codecPayloadType")
            },
        )
        consumable_encoding["ssrc"] = mapped["mappedSsrc"]
        encodings.append(consumable_encoding)
    rtcp: dict[str, Any] = {"reducedSize": True}
    if "cname" in params["rtcp"]:
        rtcp["cname"] = params["rtcp"]["cname"]
    return {
        "codecs": codecs,
        "headerExtensions": extensions,
        "encodings": encodings,
        "rtcp": cast(Any, rtcp),
    }


def can_consume(consumable: RtpParameters, caps: RtpCapabilities) -> bool:
    """Whether an endpoint with ``caps`` can decode the stream: its first matching codec is a
    media codec (not only RTX)."""
    matching = [
        codec
        for codec in consumable["codecs"]
        if any(_match_codecs(cap, codec, strict=True) for cap in caps.get("codecs", []))
    ]
    return bool(matching) and not _is_rtx(matching[0])


def scalability_layers(mode: str | None) -> tuple[int, int]:
    """The (spatial, temporal) layers of a scalability mode (``L3T3_KEY`` -> (3, 3));
    (1, 1) when absent."""
    match = re.match(r"^[LS]([1-9]\d?)T([1-9]\d?)", mode or "")
    return (int(match.group(1)), int(match.group(2))) if match else (1, 1)


def get_consumer_rtp_parameters(
    consumable: RtpParameters, remote_caps: RtpCapabilities, pipe: bool, enable_rtx: bool
) -> RtpParameters:
    """What one endpoint receives of a producer (mediasoup's rules): the codecs it supports,
    with their feedback reduced to what it accepts (and no NACK without RTX enabled); RTX
    only with its media codec; header extensions it knows by the same id; transport-cc over
    REMB; and one encoding with a new SSRC (its RTX SSRC + 1). Pipe consumers keep the
    producer's encodings with new SSRCs. ``UnsupportedError`` when no media codec matches."""
    remote_codecs = remote_caps.get("codecs", [])
    codecs: list[RtpCodecParameters] = []
    for codec in copy.deepcopy(consumable["codecs"]):
        if not enable_rtx and _is_rtx(codec):
            continue
        remote = next((c for c in remote_codecs if _match_codecs(c, codec, strict=True)), None)
        if remote is None:
            continue
        codec["rtcpFeedback"] = [
            feedback
            for feedback in remote.get("rtcpFeedback", [])
            if enable_rtx or feedback["type"] != "nack" or feedback.get("parameter")
        ]
        codecs.append(codec)
    rtx_supported = False
    for codec in list(codecs):
        if not _is_rtx(codec):
            continue
        if any(media["payloadType"] == codec["parameters"].get("apt") for media in codecs):
            rtx_supported = True
        else:
            codecs.remove(codec)
    if not codecs or _is_rtx(codecs[0]):
        raise errors.UnsupportedError("no compatible media codecs")
    remote_extensions = remote_caps.get("headerExtensions", [])
    extensions = [
        copy.deepcopy(extension)
        for extension in consumable["headerExtensions"]
        if any(
            remote["preferredId"] == extension["id"] and remote["uri"] == extension["uri"]
            for remote in remote_extensions
        )
    ]
    uris = {extension["uri"] for extension in extensions}
    if TRANSPORT_WIDE_CC_URI in uris:
        dropped = {"goog-remb"}
    elif ABS_SEND_TIME_URI in uris:
        dropped = {"transport-cc"}
    else:
        dropped = {"transport-cc", "goog-remb"}
    for codec in codecs:
        codec["rtcpFeedback"] = [f for f in codec["rtcpFeedback"] if f["type"] not in dropped]
    encodings: list[RtpEncodingParameters] = []
    if not pipe:
        encoding: RtpEncodingParameters = {"ssrc": _random_ssrc()}
        if rtx_supported:
            encoding["rtx"] = {"ssrc": encoding["ssrc"] + 1}
        scalability_mode = next(
            (e["scalabilityMode"] for e in consumable["encodings"] if "scalabilityMode" in e),
            None,
        )
        if len(consumable["encodings"]) > 1:
            # Simulcast reaches the consumer as spatial layers of one stream.
            temporal = scalability_layers(scalability_mode)[1]
            scalability_mode = f"L{len(consumable['encodings'])}T{temporal}"
        if scalability_mode:
            encoding["scalabilityMode"] = scalability_mode
        max_bitrate = max((e.get("maxBitrate", 0) for e in consumable["encodings"]), default=0)
        if max_bitrate:
            encoding["maxBitrate"] = max_bitrate
        encodings.append(encoding)
    else:
        encodings = _pipe_encodings(consumable, rtx_supported)
    return {
        "codecs": codecs,
        "headerExtensions": extensions,
        "encodings": encodings,
        "rtcp": copy.deepcopy(consumable["rtcp"]),
    }


def _pipe_encodings(consumable: RtpParameters, with_rtx: bool) -> list[RtpEncodingParameters]:
    base_ssrc, base_rtx_ssrc = _random_ssrc(), _random_ssrc()
    encodings: list[RtpEncodingParameters] = []
    for index, encoding in enumerate(copy.deepcopy(consumable["encodings"])):
        encoding["ssrc"] = base_ssrc + index
        if with_rtx:
            encoding["rtx"] = {"ssrc": base_rtx_ssrc + index}
        else:
            encoding.pop("rtx", None)
        encodings.append(encoding)
    return encodings


def get_pipe_consumer_rtp_parameters(
    consumable: RtpParameters, enable_rtx: bool = False
) -> RtpParameters:
    """What a pipe consumer sends to another router: every codec with only keyframe
    feedback (and NACK with RTX), no MID or bandwidth-estimation extensions (each router
    does its own), the producer's encodings with new SSRCs."""
    codecs: list[RtpCodecParameters] = []
    for codec in copy.deepcopy(consumable["codecs"]):
        if not enable_rtx and _is_rtx(codec):
            continue
        codec["rtcpFeedback"] = [
            feedback
            for feedback in codec["rtcpFeedback"]
            if (feedback["type"], feedback.get("parameter", ""))
            in (("nack", "pli"), ("ccm", "fir"))
            or (enable_rtx and feedback["type"] == "nack" and not feedback.get("parameter"))
        ]
        codecs.append(codec)
    return {
        "codecs": codecs,
        "headerExtensions": [
            copy.deepcopy(extension)
            for extension in consumable["headerExtensions"]
            if extension["uri"] not in (MID_URI, ABS_SEND_TIME_URI, TRANSPORT_WIDE_CC_URI)
        ],
        "encodings": _pipe_encodings(consumable, enable_rtx),
        "rtcp": copy.deepcopy(consumable["rtcp"]),
    }
