"""The mediasoup v2 protocol: the messages mediasoup-client 2.x exchanges with a v2 server,
exactly as they travel, and the translation between v2 and v3 data formats.

v2 has no envelope of its own: a request is ``{"method": "join", "target": "room", ...fields}``
(answered by whatever the application's signaling correlates with it), a notification in
either direction is ``{"method": "leave", "target": "peer", "notification": true, ...fields}``.
``target`` says who handles a client message: ``"room"`` for ``queryRoom`` and ``join``
(:meth:`mediasoup_py.room.Room.receive_request`), ``"peer"`` for everything else
(:class:`mediasoup_py.peer_v2.V2Peer`).

v2 data formats are v3's with a few differences this module bridges: codecs carry a ``name``
beside their ``mimeType``, the MID is ``muxId``, simulcast encodings are labelled with a
``profile`` (``low``, ``medium``, ``high``) and identified by SSRC (or by ``encodingId``, the
RID), and ids of transports, producers and consumers are numbers.
"""

from __future__ import annotations

import copy
import random
from typing import TYPE_CHECKING, Any, Literal

from mediasoup_py import errors

if TYPE_CHECKING:
    from mediasoup_py.consumer import ConsumerLayers
    from mediasoup_py.rtp_parameters import RtpCapabilities, RtpParameters

__all__ = [
    "PEER_NOTIFICATIONS",
    "PEER_REQUESTS",
    "PROFILES",
    "ROOM_REQUESTS",
    "Profile",
    "consumer_rtp_parameters",
    "layers_for_profile",
    "new_id",
    "notification",
    "parse_notification",
    "parse_request",
    "producer_rtp_parameters",
    "profile_for_layers",
    "room_rtp_capabilities",
    "without_mid",
]

ROOM_REQUESTS = frozenset({"queryRoom", "join"})
PEER_REQUESTS = frozenset(
    {"createTransport", "restartTransport", "createProducer", "enableConsumer"}
)
PEER_NOTIFICATIONS = frozenset(
    {
        "leave",
        "updateTransport",
        "closeTransport",
        "enableTransportStats",
        "disableTransportStats",
        "updateProducer",
        "pauseProducer",
        "resumeProducer",
        "closeProducer",
        "enableProducerStats",
        "disableProducerStats",
        "pauseConsumer",
        "resumeConsumer",
        "setConsumerPreferredProfile",
        "enableConsumerStats",
        "disableConsumerStats",
    }
)

Profile = Literal["default", "low", "medium", "high"]
# Simulcast encodings from lowest to highest: the spatial layer is the index.
PROFILES: tuple[Profile, ...] = ("low", "medium", "high")
_ALL_PROFILES = ("default", *PROFILES)
_MID_URI = "urn:ietf:params:rtp-hdrext:sdes:mid"


def new_id() -> int:
    """An id for something the server creates (a consumer), in v2's range."""
    return random.randint(10_000_000, 99_999_999)


def _check_message(message: object) -> dict[str, Any]:
    if not isinstance(message, dict):
        raise errors.MediasoupTypeError("message: must be an object", "message")
    method = message.get("method")
    if not isinstance(method, str) or not method:
        raise errors.MediasoupTypeError("method: must be a non-empty string", "method")
    return message


def parse_request(message: object, target: Literal["room", "peer"]) -> tuple[str, dict[str, Any]]:
    """The method and fields of a v2 request for ``target``; typed errors name what is wrong."""
    fields = _check_message(message)
    if fields.get("notification"):
        raise errors.MediasoupTypeError(
            "notification: a notification is not a request", "notification"
        )
    if fields.get("target", "peer") != target:
        raise errors.MediasoupTypeError(f"target: must be {target!r}", "target")
    method: str = fields["method"]
    known = ROOM_REQUESTS if target == "room" else PEER_REQUESTS
    if method not in known:
        raise errors.MediasoupTypeError(f"method: unknown {target} request {method!r}", "method")
    return method, fields


def parse_notification(message: object) -> tuple[str, dict[str, Any]]:
    """The method and fields of a v2 notification from a client."""
    fields = _check_message(message)
    if fields.get("notification") is not True:
        raise errors.MediasoupTypeError("notification: must be true", "notification")
    if fields.get("target", "peer") != "peer":
        raise errors.MediasoupTypeError("target: must be 'peer'", "target")
    method: str = fields["method"]
    if method not in PEER_NOTIFICATIONS:
        raise errors.MediasoupTypeError(f"method: unknown notification {method!r}", "method")
    return method, fields


def notification(method: str, fields: dict[str, Any]) -> dict[str, Any]:
    """A server-to-client notification as v2 sends it."""
    return {"method": method, "target": "peer", "notification": True, **fields}


def _codec_name(mime_type: str) -> str:
    return mime_type.split("/", 1)[1]


def room_rtp_capabilities(capabilities: RtpCapabilities) -> dict[str, Any]:
    """A router's capabilities as a v2 room announces them: each codec also has its
    ``name``, and ``fecMechanisms`` is there (empty)."""
    v2: dict[str, Any] = copy.deepcopy(dict(capabilities))
    for codec in v2["codecs"]:
        codec["name"] = _codec_name(codec["mimeType"])
    v2["fecMechanisms"] = []
    return v2


def producer_rtp_parameters(parameters: object) -> tuple[RtpParameters, list[Profile]]:
    """v3 RTP parameters for a v2 ``createProducer`` and the profile of each encoding, in
    the order of the v3 encodings (lowest first)."""
    if not isinstance(parameters, dict):
        raise errors.MediasoupTypeError("rtpParameters: must be an object", "rtpParameters")
    v3: dict[str, Any] = {
        key: copy.deepcopy(value)
        for key, value in parameters.items()
        if key in ("codecs", "headerExtensions", "rtcp")
    }
    mux_id = parameters.get("muxId")
    if mux_id is not None:
        if not isinstance(mux_id, str):
            raise errors.MediasoupTypeError(
                "rtpParameters.muxId: must be a string", "rtpParameters.muxId"
            )
        v3["mid"] = mux_id
    codecs = v3.get("codecs")
    if isinstance(codecs, list):
        for codec in codecs:
            if isinstance(codec, dict):
                codec.pop("name", None)
    encodings = parameters.get("encodings", [])
    if not isinstance(encodings, list):
        raise errors.MediasoupTypeError(
            "rtpParameters.encodings: must be an array", "rtpParameters.encodings"
        )
    labelled: list[tuple[int, Profile, dict[str, Any]]] = []
    for index, encoding in enumerate(encodings):
        field = f"rtpParameters.encodings[{index}]"
        if not isinstance(encoding, dict):
            raise errors.MediasoupTypeError(f"{field}: must be an object", field)
        profile = encoding.get("profile", "default")
        if profile not in _ALL_PROFILES:
            raise errors.MediasoupTypeError(
                f"{field}.profile: must be one of {', '.join(_ALL_PROFILES)}", f"{field}.profile"
            )
        v3_encoding = {
            key: copy.deepcopy(value)
            for key, value in encoding.items()
            if key in ("ssrc", "rtx", "maxBitrate", "scalabilityMode", "dtx")
        }
        if "encodingId" in encoding:
            v3_encoding["rid"] = encoding["encodingId"]
        rank = PROFILES.index(profile) if profile in PROFILES else len(PROFILES)
        labelled.append((rank, profile, v3_encoding))
    labelled.sort(key=lambda entry: entry[0])
    v3["encodings"] = [encoding for _, _, encoding in labelled]
    return v3, [profile for _, profile, _ in labelled]  # type: ignore[return-value]


def consumer_rtp_parameters(parameters: RtpParameters) -> dict[str, Any]:
    """A v3 consumer's parameters as v2 clients read them: codec names, no MID."""
    v2: dict[str, Any] = copy.deepcopy(dict(parameters))
    v2.pop("mid", None)
    for codec in v2["codecs"]:
        codec["name"] = _codec_name(codec["mimeType"])
    return v2


def without_mid(capabilities: RtpCapabilities) -> RtpCapabilities:
    """Capabilities without the MID header extension: v2 consumers are told apart by SSRC
    (a v2 client names its receiving m-sections itself, so a MID we chose would not match)."""
    stripped = copy.deepcopy(capabilities)
    stripped["headerExtensions"] = [
        extension
        for extension in stripped.get("headerExtensions", [])
        if extension.get("uri") != _MID_URI
    ]
    return stripped


def layers_for_profile(profile: Profile, profiles: list[Profile]) -> ConsumerLayers | None:
    """The spatial layer a preferred profile asks of a producer whose encodings have
    ``profiles``: that encoding, or the highest for ``default`` and a missing profile
    (v2's rule: the best one available). ``None`` when the producer is not simulcast."""
    if len(profiles) < 2:
        return None
    spatial = profiles.index(profile) if profile in profiles else len(profiles) - 1
    # Every temporal layer of that stream: 2 is the highest there can be, and consumers
    # lower a layer above what the producer sends to its highest.
    return {"spatialLayer": spatial, "temporalLayer": 2}


def profile_for_layers(layers: ConsumerLayers | None, profiles: list[Profile]) -> str:
    """The effective profile of a consumer sending ``layers``: ``none`` when it sends
    nothing, ``default`` for a producer without simulcast."""
    if len(profiles) < 2:
        return "default"
    if layers is None:
        return "none"
    spatial = layers["spatialLayer"]
    return profiles[spatial] if spatial < len(profiles) else "default"
