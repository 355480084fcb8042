"""SDP offers to mediasoup RTP parameters and answers back, for endpoints that speak SDP
instead of a mediasoup client library (WHIP publishers, WHEP players).

``parse_offer`` reads an offer strictly (RFC 8866 syntax, the JSEP attributes WebRTC uses)
and refuses anything it cannot use with an ``SdpError`` naming the line and what is wrong:
oversized input, unknown line types, out-of-range payload types, SSRCs or extension ids,
missing ICE credentials or DTLS fingerprints, sections that do not share one BUNDLE
transport. ``producer_rtp_parameters`` turns a send section into what
``transport.produce()`` takes (the first offered codec the router has, its RTX, the
header extensions the router knows, the SSRCs or RIDs); ``consumer_rtp_capabilities`` turns
a receive section into what ``transport.consume()`` takes; ``answer`` writes the ICE-lite
answer for one WebRtcTransport.

Answers to receive sections carry the consumers' payload types, which are their router's. A
browser decodes only the payload types of its own offer (RFC 3264 §6.1 says an answer
"SHOULD" reuse them; JSEP implementations require it), so a WHEP viewer consumes on a router
made with the offer's payload types (``viewer_media_codecs``), fed from the room's router.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, cast

from mediasoup_py import errors
from mediasoup_py.rtp_parameters import (
    RtcpFeedback,
    RtpCapabilities,
    RtpCodecCapability,
    RtpCodecParameters,
    RtpEncodingParameters,
    RtpHeaderExtension,
    RtpHeaderExtensionParameters,
    RtpParameters,
)

if TYPE_CHECKING:
    from mediasoup_py.webrtc_transport import WebRtcTransport

__all__ = [
    "AnswerSection",
    "MediaSection",
    "Offer",
    "SdpError",
    "answer",
    "consumer_rtp_capabilities",
    "parse_offer",
    "producer_rtp_parameters",
    "viewer_media_codecs",
]

# Bounds on what is read: a browser's offer with audio, simulcast video and a data channel
# is 6-10 KB; these leave room for more while keeping a hostile offer cheap to refuse.
MAX_SDP_BYTES = 64 * 1024
MAX_LINE_BYTES = 4096
MAX_MEDIA_SECTIONS = 16
MAX_CODECS_PER_SECTION = 64
MAX_SSRCS_PER_SECTION = 32
MAX_RIDS_PER_SECTION = 8

_TOKEN = re.compile(r"^[!#$%&'*+\-.0-9A-Z^_`a-z{|}~]+$")
_ICE_CHARS = re.compile(r"^[A-Za-z0-9+/]+$")
_FINGERPRINT = re.compile(r"^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){15,63}$")
# An fmtp value: visible characters but ';' (base64 sprop-parameter-sets have '=' and ',').
_FMTP_VALUE = re.compile(r"^[!-:<-~]+$")
_RID = re.compile(r"^[A-Za-z0-9_-]{1,16}$")
_FINGERPRINT_ALGORITHMS = {"sha-1", "sha-224", "sha-256", "sha-384", "sha-512"}
_DIRECTIONS = {"sendrecv", "sendonly", "recvonly", "inactive"}
Direction = Literal["sendrecv", "sendonly", "recvonly", "inactive"]
_RTP_PROTOCOLS = {"UDP/TLS/RTP/SAVPF", "TCP/TLS/RTP/SAVPF", "UDP/TLS/RTP/SAVP"}


class SdpError(errors.MediasoupError, ValueError):
    """An SDP that cannot be used; ``line`` is its 1-based line number when one is at fault."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(f"SDP line {line}: {message}" if line is not None else f"SDP: {message}")
        self.line = line


@dataclass
class Codec:
    """One ``a=rtpmap`` with its ``a=fmtp`` and ``a=rtcp-fb``."""

    payload_type: int
    name: str
    clock_rate: int
    channels: int | None = None
    parameters: dict[str, str | int] = field(default_factory=dict)
    feedback: list[RtcpFeedback] = field(default_factory=list)

    @property
    def mime_type(self) -> str:
        return self.name


@dataclass
class MediaSection:
    """One ``m=`` section of an offer."""

    kind: str
    port: int
    protocol: str
    formats: list[int]
    line: int
    mid: str | None = None
    direction: Direction = "sendrecv"
    codecs: dict[int, Codec] = field(default_factory=dict)
    extensions: list[tuple[int, str]] = field(default_factory=list)
    ssrc_cnames: dict[int, str] = field(default_factory=dict)
    ssrcs: list[int] = field(default_factory=list)
    fid_groups: list[tuple[int, int]] = field(default_factory=list)
    send_rids: list[str] = field(default_factory=list)
    reduced_size: bool = False
    rtcp_mux: bool = False
    bundle_only: bool = False
    ice_ufrag: str | None = None
    ice_pwd: str | None = None
    fingerprint: tuple[str, str] | None = None
    setup: str | None = None

    @property
    def rejected(self) -> bool:
        """Port 0 without ``a=bundle-only``: the offerer turned it off."""
        return self.port == 0 and not self.bundle_only

    @property
    def is_rtp(self) -> bool:
        """An audio or video section on an RTP profile (not a data channel)."""
        return self.kind in ("audio", "video") and self.protocol in _RTP_PROTOCOLS


@dataclass
class Offer:
    """A parsed offer: its sections, and the one ICE/DTLS transport they bundle on."""

    sections: list[MediaSection]
    ice_ufrag: str
    ice_pwd: str
    fingerprint: tuple[str, str]
    setup: str


def _int(text: str, what: str, line: int, low: int, high: int) -> int:
    if not text.isdigit() or len(text) > 10:
        raise SdpError(f"{what} {text[:32]!r} is not a number", line)
    value = int(text)
    if not low <= value <= high:
        raise SdpError(f"{what} {value} is outside {low}..{high}", line)
    return value


def _parameter_value(name: str, value: str) -> str | int:
    """fmtp values as mediasoup-client gives them: numbers as ints, except the hex
    profile-level-id."""
    if value.isdigit() and len(value) <= 9 and name != "profile-level-id":
        return int(value)
    return value


def _split_lines(text: str) -> list[str]:
    if len(text.encode("utf-8", "surrogatepass")) > MAX_SDP_BYTES:
        raise SdpError(f"offer is larger than {MAX_SDP_BYTES} bytes")
    if not text.isascii():
        raise SdpError("offer has non-ASCII characters")
    lines = text.replace("\r\n", "\n").split("\n")
    while lines and lines[-1] == "":
        lines.pop()
    if not lines:
        raise SdpError("offer is empty")
    for number, line in enumerate(lines, 1):
        if len(line) > MAX_LINE_BYTES:
            raise SdpError(f"line is longer than {MAX_LINE_BYTES} bytes", number)
        if any(ord(c) < 0x20 and c != "\t" for c in line) or "\x7f" in line:
            raise SdpError("line has control characters", number)
    return lines


def parse_offer(text: str) -> Offer:
    """Reads an SDP offer; ``SdpError`` names the line and what is wrong."""
    lines = _split_lines(text)
    if lines[0] != "v=0":
        raise SdpError("an SDP starts with v=0", 1)
    session = MediaSection(kind="session", port=0, protocol="", formats=[], line=0)
    sections: list[MediaSection] = []
    current = session
    for number, line in enumerate(lines, 1):
        if len(line) < 2 or line[1] != "=" or not line[0].islower():
            raise SdpError(f"{line[:32]!r} is not a <type>=<value> line", number)
        kind, value = line[0], line[2:]
        if kind == "m":
            if len(sections) >= MAX_MEDIA_SECTIONS:
                raise SdpError(f"more than {MAX_MEDIA_SECTIONS} media sections", number)
            current = _media_line(value, number)
            sections.append(current)
        elif kind == "a":
            _attribute(current, value, number)
        elif kind not in "vosiuepcbtrzk":
            raise SdpError(f"unknown line type {kind!r}", number)
    return _check_offer(session, sections)


def _media_line(value: str, line: int) -> MediaSection:
    parts = value.split(" ")
    if len(parts) < 4:
        raise SdpError("m= needs <media> <port> <proto> <fmt> ...", line)
    media, port, protocol, *formats = parts
    if not _TOKEN.match(media):
        raise SdpError(f"media type {media[:32]!r} is not a token", line)
    section = MediaSection(
        kind=media,
        port=_int(port.split("/")[0], "port", line, 0, 65535),
        protocol=protocol,
        formats=[],
        line=line,
    )
    if section.is_rtp:
        if len(formats) > MAX_CODECS_PER_SECTION:
            raise SdpError(f"more than {MAX_CODECS_PER_SECTION} payload types", line)
        section.formats = [_int(f, "payload type", line, 0, 127) for f in formats]
    return section


def _attribute(section: MediaSection, value: str, line: int) -> None:
    name, _, rest = value.partition(":")
    if name == "mid":
        if not rest or len(rest) > 32 or not _TOKEN.match(rest):
            raise SdpError(f"a=mid {rest[:32]!r} is not a token of at most 32 characters", line)
        section.mid = rest
    elif name in _DIRECTIONS:
        section.direction = cast(Direction, name)
    elif name == "ice-ufrag":
        if not 4 <= len(rest) <= 256 or not _ICE_CHARS.match(rest):
            raise SdpError("a=ice-ufrag must be 4..256 ICE characters", line)
        section.ice_ufrag = rest
    elif name == "ice-pwd":
        if not 22 <= len(rest) <= 256 or not _ICE_CHARS.match(rest):
            raise SdpError("a=ice-pwd must be 22..256 ICE characters", line)
        section.ice_pwd = rest
    elif name == "fingerprint":
        algorithm, _, digest = rest.partition(" ")
        if algorithm.lower() not in _FINGERPRINT_ALGORITHMS or not _FINGERPRINT.match(digest):
            raise SdpError("a=fingerprint must be <sha-1|sha-2 hash> <hex:pairs>", line)
        section.fingerprint = (algorithm.lower(), digest.upper())
    elif name == "setup":
        if rest not in ("actpass", "active", "passive"):
            raise SdpError(f"a=setup {rest[:32]!r} is not actpass, active or passive", line)
        section.setup = rest
    elif name == "rtcp-mux":
        section.rtcp_mux = True
    elif name == "rtcp-rsize":
        section.reduced_size = True
    elif name == "bundle-only":
        section.bundle_only = True
    elif not section.is_rtp:
        return
    elif name == "rtpmap":
        _rtpmap(section, rest, line)
    elif name == "fmtp":
        _fmtp(section, rest, line)
    elif name == "rtcp-fb":
        _rtcp_fb(section, rest, line)
    elif name == "extmap":
        _extmap(section, rest, line)
    elif name == "ssrc":
        _ssrc(section, rest, line)
    elif name == "ssrc-group":
        _ssrc_group(section, rest, line)
    elif name == "rid":
        rid, _, direction = rest.partition(" ")
        if not _RID.match(rid):
            raise SdpError(f"a=rid {rid[:32]!r} is not 1..16 alphanumeric characters", line)
        if direction.split(" ")[0] == "send":
            if len(section.send_rids) >= MAX_RIDS_PER_SECTION:
                raise SdpError(f"more than {MAX_RIDS_PER_SECTION} RIDs", line)
            section.send_rids.append(rid)


def _known_payload_type(section: MediaSection, text: str, line: int) -> int:
    payload_type = _int(text, "payload type", line, 0, 127)
    if payload_type not in section.formats:
        raise SdpError(f"payload type {payload_type} is not on the m= line", line)
    return payload_type


def _rtpmap(section: MediaSection, rest: str, line: int) -> None:
    pt_text, _, encoding = rest.partition(" ")
    payload_type = _known_payload_type(section, pt_text, line)
    parts = encoding.split("/")
    if not 2 <= len(parts) <= 3 or not _TOKEN.match(parts[0]):
        raise SdpError("a=rtpmap needs <pt> <name>/<clock rate>[/<channels>]", line)
    section.codecs[payload_type] = Codec(
        payload_type=payload_type,
        name=f"{section.kind}/{parts[0]}",
        clock_rate=_int(parts[1], "clock rate", line, 1, 10_000_000),
        channels=_int(parts[2], "channels", line, 1, 255) if len(parts) == 3 else None,
    )


def _codec_of(section: MediaSection, text: str, attribute: str, line: int) -> Codec | None:
    if text == "*" and attribute == "rtcp-fb":
        return None
    payload_type = _known_payload_type(section, text, line)
    codec = section.codecs.get(payload_type)
    if codec is None:
        raise SdpError(f"a={attribute} for payload type {payload_type} before its rtpmap", line)
    return codec


def _fmtp(section: MediaSection, rest: str, line: int) -> None:
    pt_text, _, parameters = rest.partition(" ")
    codec = _codec_of(section, pt_text, "fmtp", line)
    assert codec is not None
    for pair in parameters.split(";"):
        item = pair.strip()
        key, sep, value = item.partition("=")
        if not item:
            continue
        if not sep:
            # A bare value (RED's "111/111", telephone-event's "0-16"): no parameter of a
            # codec mediasoup forwards.
            if not _FMTP_VALUE.match(item):
                raise SdpError(f"a=fmtp value {item[:32]!r} has invalid characters", line)
            continue
        if not _TOKEN.match(key) or not value or not _FMTP_VALUE.match(value):
            raise SdpError(f"a=fmtp parameter {item[:32]!r} is not <name>=<value>", line)
        codec.parameters[key] = _parameter_value(key, value)


def _rtcp_fb(section: MediaSection, rest: str, line: int) -> None:
    pt_text, _, feedback = rest.partition(" ")
    kind, _, parameter = feedback.partition(" ")
    if not kind or not _TOKEN.match(kind) or (parameter and not _TOKEN.match(parameter)):
        raise SdpError("a=rtcp-fb needs <pt> <type> [<parameter>]", line)
    entry: RtcpFeedback = {"type": kind}
    if parameter:
        entry["parameter"] = parameter
    codec = _codec_of(section, pt_text, "rtcp-fb", line)
    for target in [codec] if codec else section.codecs.values():
        target.feedback.append(entry)


def _extmap(section: MediaSection, rest: str, line: int) -> None:
    id_text, _, uri = rest.partition(" ")
    extension_id = _int(id_text.split("/")[0], "extension id", line, 1, 255)
    uri = uri.split(" ")[0]
    if not uri or len(uri) > 256:
        raise SdpError("a=extmap needs <id> <uri>", line)
    if any(existing == extension_id for existing, _ in section.extensions):
        raise SdpError(f"extension id {extension_id} is used twice", line)
    section.extensions.append((extension_id, uri))


def _ssrc(section: MediaSection, rest: str, line: int) -> None:
    ssrc_text, _, attribute = rest.partition(" ")
    ssrc = _int(ssrc_text, "SSRC", line, 0, 0xFFFFFFFF)
    if ssrc not in section.ssrcs:
        if len(section.ssrcs) >= MAX_SSRCS_PER_SECTION:
            raise SdpError(f"more than {MAX_SSRCS_PER_SECTION} SSRCs", line)
        section.ssrcs.append(ssrc)
    name, _, value = attribute.partition(":")
    if name == "cname":
        if not value or len(value) > 255:
            raise SdpError("a=ssrc cname must be 1..255 characters", line)
        section.ssrc_cnames[ssrc] = value


def _ssrc_group(section: MediaSection, rest: str, line: int) -> None:
    semantics, *ssrcs = rest.split(" ")
    if semantics != "FID":
        return
    if len(ssrcs) != 2:
        raise SdpError("a=ssrc-group:FID needs a media SSRC and an RTX SSRC", line)
    media, rtx = (_int(s, "SSRC", line, 0, 0xFFFFFFFF) for s in ssrcs)
    section.fid_groups.append((media, rtx))


def _check_offer(session: MediaSection, sections: list[MediaSection]) -> Offer:
    if not sections:
        raise SdpError("offer has no media section")
    transport: tuple[str, str, tuple[str, str], str] | None = None
    seen_mids: set[str] = set()
    for section in sections:
        if section.rejected:
            continue
        ufrag = section.ice_ufrag or session.ice_ufrag
        pwd = section.ice_pwd or session.ice_pwd
        fingerprint = section.fingerprint or session.fingerprint
        setup = section.setup or session.setup or "actpass"
        if ufrag is None or pwd is None:
            raise SdpError("media section has no a=ice-ufrag and a=ice-pwd", section.line)
        if fingerprint is None:
            raise SdpError("media section has no a=fingerprint", section.line)
        if transport is None:
            transport = (ufrag, pwd, fingerprint, setup)
        elif transport[:2] != (ufrag, pwd):
            raise SdpError("media sections must share one ICE ufrag/pwd (BUNDLE)", section.line)
        if section.mid is None:
            raise SdpError("media section has no a=mid", section.line)
        if section.mid in seen_mids:
            raise SdpError(f"a=mid {section.mid!r} is used twice", section.line)
        seen_mids.add(section.mid)
        if section.is_rtp and not section.rtcp_mux:
            raise SdpError("media section has no a=rtcp-mux", section.line)
    if transport is None:
        raise SdpError("every media section is rejected (port 0)")
    return Offer(sections, *transport)


def _codec_matches(offered: Codec, capability: RtpCodecCapability) -> bool:
    if offered.mime_type.lower() != capability["mimeType"].lower():
        return False
    if offered.clock_rate != capability["clockRate"]:
        return False
    if offered.mime_type.lower() == "audio/opus" and (offered.channels or 1) != 2:
        return False
    mime = offered.mime_type.lower()
    mine = capability.get("parameters", {})
    if mime == "video/h264":
        mode = int(offered.parameters.get("packetization-mode", 0))
        if mode != int(mine.get("packetization-mode", 0)):
            return False
        profile = str(offered.parameters.get("profile-level-id", "42001f"))[:2].lower()
        wanted = str(mine.get("profile-level-id", "42e01f"))[:2].lower()
        return profile == wanted
    if mime == "video/vp9":
        return int(offered.parameters.get("profile-id", 0)) == int(mine.get("profile-id", 0))
    return True


def _is_rtx(codec: Codec) -> bool:
    return codec.mime_type.lower().endswith("/rtx")


def _extensions_for(
    section: MediaSection, router_caps: RtpCapabilities
) -> list[RtpHeaderExtensionParameters]:
    known = {
        extension["uri"]
        for extension in router_caps.get("headerExtensions", [])
        if extension.get("kind") == section.kind
    }
    return [
        {"uri": uri, "id": extension_id, "encrypt": False, "parameters": {}}
        for extension_id, uri in section.extensions
        if uri in known and extension_id <= 14
    ]


def producer_rtp_parameters(section: MediaSection, router_caps: RtpCapabilities) -> RtpParameters:
    """What ``transport.produce()`` takes for a send section: the first offered codec the
    router has (in the offer's order), its RTX, the header extensions the router knows, and
    the encodings from the simulcast RIDs or the SSRCs. ``UnsupportedError`` when the router
    has none of the offered codecs; ``SdpError`` when the section names no stream."""
    router_codecs = [c for c in router_caps.get("codecs", []) if c.get("kind") == section.kind]
    chosen: Codec | None = None
    capability: RtpCodecCapability | None = None
    for payload_type in section.formats:
        offered = section.codecs.get(payload_type)
        if offered is None or _is_rtx(offered):
            continue
        capability = next((c for c in router_codecs if _codec_matches(offered, c)), None)
        if capability is not None:
            chosen = offered
            break
    if chosen is None or capability is None:
        offered_names = sorted({c.mime_type for c in section.codecs.values() if not _is_rtx(c)})
        raise errors.UnsupportedError(
            f"m={section.kind} (line {section.line}): none of the offered codecs "
            f"{', '.join(offered_names) or '(none)'} is one the room accepts"
        )
    accepted_feedback = capability.get("rtcpFeedback", [])
    # The router's spelling of the mime type ("audio/opus" for a GStreamer offer's "OPUS"):
    # consumers and the recorder see the name every other producer of the codec has.
    codecs = [_codec_parameters(chosen, accepted_feedback, capability["mimeType"])]
    rtx = next(
        (
            c
            for c in section.codecs.values()
            if _is_rtx(c) and c.parameters.get("apt") == chosen.payload_type
        ),
        None,
    )
    if rtx is not None and section.kind == "video":
        codecs.append(_codec_parameters(rtx, []))
    encodings: list[RtpEncodingParameters] = []
    if section.send_rids:
        encodings = [{"rid": rid} for rid in section.send_rids]
    else:
        rtx_of = dict(section.fid_groups)
        rtx_ssrcs = set(rtx_of.values())
        for ssrc in section.ssrcs:
            if ssrc in rtx_ssrcs:
                continue
            encoding: RtpEncodingParameters = {"ssrc": ssrc}
            if ssrc in rtx_of and rtx is not None:
                encoding["rtx"] = {"ssrc": rtx_of[ssrc]}
            encodings.append(encoding)
            break
    if not encodings:
        raise SdpError("send section has neither a=ssrc nor a=rid", section.line)
    parameters: RtpParameters = {
        "codecs": codecs,
        "headerExtensions": _extensions_for(section, router_caps),
        "encodings": encodings,
        "rtcp": {"reducedSize": section.reduced_size},
    }
    if section.mid is not None:
        parameters["mid"] = section.mid
    cname = next(iter(section.ssrc_cnames.values()), None)
    if cname is not None:
        parameters["rtcp"]["cname"] = cname
    return parameters


def _codec_parameters(
    codec: Codec, accepted_feedback: list[RtcpFeedback], mime_type: str | None = None
) -> RtpCodecParameters:
    parameters: RtpCodecParameters = {
        "mimeType": mime_type or codec.mime_type,
        "payloadType": codec.payload_type,
        "clockRate": codec.clock_rate,
        "parameters": dict(codec.parameters),
        "rtcpFeedback": [f for f in codec.feedback if f in accepted_feedback],
    }
    if codec.channels is not None:
        parameters["channels"] = codec.channels
    return parameters


def viewer_media_codecs(
    sections: list[MediaSection], router_caps: RtpCapabilities
) -> list[RtpCodecCapability]:
    """The router's codecs that the offer's receive sections take, each with the payload type
    the offer gives it: the ``media_codecs`` of a router whose consumers send what the
    offerer expects. Browsers decode only the payload types of their own offer (JSEP answers
    reuse them), while a consumer sends its router's."""
    codecs: list[RtpCodecCapability] = []
    used: set[int] = set()
    for capability in router_caps.get("codecs", []):
        if capability["mimeType"].lower().endswith("/rtx"):
            continue
        offered = next(
            (
                codec
                for section in sections
                if section.is_rtp and not section.rejected and section.kind == capability["kind"]
                for codec in section.codecs.values()
                if codec.payload_type not in used and _codec_matches(codec, capability)
            ),
            None,
        )
        if offered is None:
            continue
        used.add(offered.payload_type)
        codec: RtpCodecCapability = {
            "kind": capability["kind"],
            "mimeType": capability["mimeType"],
            "clockRate": capability["clockRate"],
            "preferredPayloadType": offered.payload_type,
            "parameters": dict(capability.get("parameters", {})),
        }
        if "channels" in capability:
            codec["channels"] = capability["channels"]
        codecs.append(codec)
    return codecs


def consumer_rtp_capabilities(
    section: MediaSection, router_caps: RtpCapabilities | None = None
) -> RtpCapabilities:
    """What ``transport.consume()`` takes for a receive section: its codecs and header
    extensions, as a device's capabilities. With ``router_caps``, an offered RTX codec is
    kept only where the router's RTX for the same codec has its payload type (a consumer
    sends the router's; the offerer would drop retransmissions it does not expect)."""
    router_rtx = {
        (c.get("parameters", {}).get("apt"), c["preferredPayloadType"])
        for c in (router_caps or {}).get("codecs", [])
        if c["mimeType"].lower().endswith("/rtx")
    }
    codecs: list[RtpCodecCapability] = []
    for payload_type in section.formats:
        codec = section.codecs.get(payload_type)
        if codec is None:
            continue
        if (
            router_caps is not None
            and _is_rtx(codec)
            and (codec.parameters.get("apt"), codec.payload_type) not in router_rtx
        ):
            continue
        capability: RtpCodecCapability = {
            "kind": cast(Literal["audio", "video"], section.kind),
            "mimeType": codec.mime_type,
            "preferredPayloadType": codec.payload_type,
            "clockRate": codec.clock_rate,
            "parameters": dict(codec.parameters),
            "rtcpFeedback": list(codec.feedback),
        }
        if codec.channels is not None:
            capability["channels"] = codec.channels
        codecs.append(capability)
    extensions: list[RtpHeaderExtension] = [
        {
            "kind": cast(Literal["audio", "video"], section.kind),
            "uri": uri,
            "preferredId": extension_id,
            "preferredEncrypt": False,
            "direction": "sendrecv",
        }
        for extension_id, uri in section.extensions
    ]
    return {"codecs": codecs, "headerExtensions": extensions}


@dataclass
class AnswerSection:
    """How one offered section is answered: ``rtp_parameters`` of its producer (we
    receive) or consumer (we send), or ``None`` to reject it."""

    offered: MediaSection
    rtp_parameters: RtpParameters | None
    direction: Literal["recvonly", "sendonly"] = "recvonly"
    stream_id: str = "-"


def _codec_lines(codec: RtpCodecParameters) -> list[str]:
    name = codec["mimeType"].split("/", 1)[1]
    encoding = f"{name}/{codec['clockRate']}"
    if codec.get("channels", 1) > 1:
        encoding += f"/{codec.get('channels')}"
    pt = codec["payloadType"]
    lines = [f"a=rtpmap:{pt} {encoding}"]
    if codec.get("parameters"):
        fmtp = ";".join(f"{k}={v}" for k, v in codec["parameters"].items())
        lines.append(f"a=fmtp:{pt} {fmtp}")
    for feedback in codec.get("rtcpFeedback", []):
        parameter = f" {feedback['parameter']}" if feedback.get("parameter") else ""
        lines.append(f"a=rtcp-fb:{pt} {feedback['type']}{parameter}")
    return lines


def answer(offer: Offer, transport: WebRtcTransport, sections: list[AnswerSection]) -> str:
    """The ICE-lite answer for ``transport``: every offered section in order, accepted with
    its RTP parameters or rejected (port 0). Our DTLS role is the one the offer leaves us
    (passive unless the offerer is passive)."""
    ice = transport.ice_parameters
    candidates = transport.ice_candidates
    fingerprint = next(
        f for f in transport.dtls_parameters["fingerprints"] if f["algorithm"] == "sha-256"
    )
    setup = "active" if offer.setup == "passive" else "passive"
    accepted = [s.offered.mid for s in sections if s.rtp_parameters and s.offered.mid]
    lines = [
        "v=0",
        f"o=mediasoup_py {secrets.randbits(62)} 1 IN IP4 0.0.0.0",
        "s=-",
        "t=0 0",
        "a=ice-lite",
        f"a=group:BUNDLE {' '.join(str(m) for m in accepted)}",
        "a=msid-semantic: WMS *",
    ]
    first = candidates[0]
    for section in sections:
        offered = section.offered
        parameters = section.rtp_parameters
        if parameters is None:
            formats = " ".join(str(f) for f in offered.formats) or "0"
            lines.append(f"m={offered.kind} 0 {offered.protocol} {formats}")
            lines.append("c=IN IP4 0.0.0.0")
            if offered.mid is not None:
                lines.append(f"a=mid:{offered.mid}")
            lines.append("a=inactive")
            continue
        protocol = "TCP/TLS/RTP/SAVPF" if first["protocol"] == "tcp" else "UDP/TLS/RTP/SAVPF"
        pts = " ".join(str(c["payloadType"]) for c in parameters["codecs"])
        lines += [
            f"m={offered.kind} {first['port']} {protocol} {pts}",
            f"c=IN IP4 {first['address']}",
            f"a=mid:{offered.mid}",
            f"a={section.direction}",
            "a=rtcp-mux",
            "a=rtcp-rsize",
            f"a=ice-ufrag:{ice['usernameFragment']}",
            f"a=ice-pwd:{ice['password']}",
            f"a=fingerprint:{fingerprint['algorithm']} {fingerprint['value']}",
            f"a=setup:{setup}",
        ]
        for codec in parameters["codecs"]:
            lines += _codec_lines(codec)
        for extension in parameters["headerExtensions"]:
            lines.append(f"a=extmap:{extension['id']} {extension['uri']}")
        encodings = parameters["encodings"]
        if section.direction == "recvonly" and any("rid" in e for e in encodings):
            rids = [e["rid"] for e in encodings if "rid" in e]
            lines += [f"a=rid:{rid} recv" for rid in rids]
            lines.append(f"a=simulcast:recv {';'.join(rids)}")
        if section.direction == "sendonly":
            track_id = f"{offered.kind}-{offered.mid}"
            lines.append(f"a=msid:{section.stream_id} {track_id}")
            cname = parameters["rtcp"].get("cname", "mediasoup_py")
            for encoding in encodings:
                ssrc = encoding.get("ssrc")
                if ssrc is None:
                    continue
                rtx = encoding.get("rtx", {}).get("ssrc")
                if rtx is not None:
                    lines.append(f"a=ssrc-group:FID {ssrc} {rtx}")
                for one in (ssrc, rtx):
                    if one is not None:
                        lines.append(f"a=ssrc:{one} cname:{cname}")
                        lines.append(f"a=ssrc:{one} msid:{section.stream_id} {track_id}")
        for candidate in candidates:
            tcp_type = " tcptype passive" if candidate["protocol"] == "tcp" else ""
            lines.append(
                f"a=candidate:{candidate['foundation']} 1 {candidate['protocol']} "
                f"{candidate['priority']} {candidate['address']} {candidate['port']} "
                f"typ host{tcp_type}"
            )
        lines.append("a=end-of-candidates")
    return "\r\n".join(lines) + "\r\n"
