"""mediasoup's SCTP shapes for DataChannels (camelCase keys, as clients send them) and their
validation: what an endpoint can do (``sctpCapabilities``), what a transport offers
(``sctpParameters``), and how one channel's stream delivers (``sctpStreamParameters``), with
mediasoup's rules for the stream a DataConsumer gets.

Every error is a :class:`~mediasoup_py.errors.MediasoupTypeError` naming the field.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal, NotRequired, TypedDict

from . import errors

__all__ = [
    "DEFAULT_MAX_SCTP_MESSAGE_SIZE",
    "DEFAULT_NUM_SCTP_STREAMS",
    "DEFAULT_SCTP_SEND_BUFFER_SIZE",
    "SCTP_PORT",
    "DataMessagePpid",
    "NumSctpStreams",
    "SctpCapabilities",
    "SctpParameters",
    "SctpStreamParameters",
    "data_consumer_sctp_stream_parameters",
    "data_message",
    "validate_label",
    "validate_num_sctp_streams",
    "validate_sctp_capabilities",
    "validate_sctp_stream_parameters",
    "validate_subchannels",
]

SCTP_PORT = 5000
"""The SCTP port of data channels (RFC 8841), in every ``sctpParameters``."""

DEFAULT_MAX_SCTP_MESSAGE_SIZE = 262_144
"""mediasoup's default ``maxSctpMessageSize``."""

DEFAULT_SCTP_SEND_BUFFER_SIZE = 262_144
"""mediasoup's default ``sctpSendBufferSize``."""

_MAX_U16 = 65_535
_MAX_U32 = 4_294_967_295

DataMessagePpid = Literal[51, 53, 56, 57]
"""The PPIDs of data channel messages: string, binary, empty string, empty binary."""

_PPID_STRING: DataMessagePpid = 51
_PPID_BINARY: DataMessagePpid = 53
_PPID_STRING_EMPTY: DataMessagePpid = 56
_PPID_BINARY_EMPTY: DataMessagePpid = 57


class NumSctpStreams(TypedDict):
    """Streams each way: outgoing (``OS``) and most incoming (``MIS``)."""

    OS: int
    MIS: int


DEFAULT_NUM_SCTP_STREAMS: NumSctpStreams = {"OS": 1024, "MIS": 1024}
"""mediasoup's default ``numSctpStreams``."""


class SctpCapabilities(TypedDict):
    """What an endpoint's SCTP can do (mediasoup-client's ``device.sctpCapabilities``)."""

    numStreams: NumSctpStreams


class SctpParameters(TypedDict):
    """What a transport's SCTP offers the client (``transport.sctpParameters``)."""

    port: int
    OS: int
    MIS: int
    maxMessageSize: int


class SctpStreamParameters(TypedDict):
    """How one channel's stream delivers."""

    streamId: int
    ordered: bool
    maxPacketLifeTime: NotRequired[int]
    maxRetransmits: NotRequired[int]


def _type_error(field: str, message: str) -> errors.MediasoupTypeError:
    return errors.MediasoupTypeError(f"{field}: {message}", field)


def _int(value: object, field: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _type_error(field, f"must be an int in {low}..{high}")
    return value


def _mapping(value: object, field: str) -> dict[str, object]:
    if not isinstance(value, dict):
        raise _type_error(field, "must be an object")
    return value


def validate_num_sctp_streams(value: object, field: str = "num_sctp_streams") -> NumSctpStreams:
    """``{OS, MIS}``, each 1..65535."""
    streams = _mapping(value, field)
    return {
        "OS": _int(streams.get("OS"), f"{field}.OS", 1, _MAX_U16),
        "MIS": _int(streams.get("MIS"), f"{field}.MIS", 1, _MAX_U16),
    }


def validate_sctp_capabilities(value: object, field: str = "sctp_capabilities") -> SctpCapabilities:
    """``{numStreams: {OS, MIS}}``."""
    capabilities = _mapping(value, field)
    return {
        "numStreams": validate_num_sctp_streams(
            capabilities.get("numStreams"), f"{field}.numStreams"
        )
    }


def validate_sctp_stream_parameters(
    value: object, field: str = "sctp_stream_parameters"
) -> SctpStreamParameters:
    """mediasoup's rules: ``streamId`` is required; at most one of ``maxPacketLifeTime`` and
    ``maxRetransmits``; with either, ``ordered`` defaults to false and may not be true."""
    parameters = _mapping(value, field)
    stream_id = _int(parameters.get("streamId"), f"{field}.streamId", 0, _MAX_U16 - 1)
    ordered_value = parameters.get("ordered")
    if ordered_value is not None and not isinstance(ordered_value, bool):
        raise _type_error(f"{field}.ordered", "must be a bool")
    life_time = parameters.get("maxPacketLifeTime")
    retransmits = parameters.get("maxRetransmits")
    if life_time is not None:
        life_time = _int(life_time, f"{field}.maxPacketLifeTime", 0, _MAX_U16)
    if retransmits is not None:
        retransmits = _int(retransmits, f"{field}.maxRetransmits", 0, _MAX_U16)
    if life_time is not None and retransmits is not None:
        raise _type_error(field, "cannot have both maxPacketLifeTime and maxRetransmits")
    partially_reliable = life_time is not None or retransmits is not None
    if partially_reliable and ordered_value is True:
        raise _type_error(
            f"{field}.ordered", "cannot be true with maxPacketLifeTime or maxRetransmits"
        )
    result: SctpStreamParameters = {
        "streamId": stream_id,
        "ordered": not partially_reliable if ordered_value is None else ordered_value,
    }
    if life_time is not None:
        result["maxPacketLifeTime"] = life_time
    if retransmits is not None:
        result["maxRetransmits"] = retransmits
    return result


def data_consumer_sctp_stream_parameters(
    producer: SctpStreamParameters | None,
    stream_id: int,
    *,
    ordered: bool | None = None,
    max_packet_life_time: int | None = None,
    max_retransmits: int | None = None,
) -> SctpStreamParameters:
    """The stream a DataConsumer gets, as mediasoup's ``consumeData`` builds it: the data
    producer's delivery rules (reliable and ordered for a direct producer) on the stream id
    the transport chose, each overridden by the arguments given; ``ordered=True`` drops the
    producer's partial reliability, and either limit replaces the other."""
    parameters: SctpStreamParameters = (
        {**producer, "streamId": stream_id}
        if producer is not None
        else {"streamId": stream_id, "ordered": True}
    )
    if ordered is not None:
        parameters["ordered"] = ordered
        if ordered:
            parameters.pop("maxPacketLifeTime", None)
            parameters.pop("maxRetransmits", None)
    if max_packet_life_time is not None:
        parameters["maxPacketLifeTime"] = _int(
            max_packet_life_time, "max_packet_life_time", 0, _MAX_U16
        )
        parameters.pop("maxRetransmits", None)
    if max_retransmits is not None:
        parameters["maxRetransmits"] = _int(max_retransmits, "max_retransmits", 0, _MAX_U16)
        parameters.pop("maxPacketLifeTime", None)
    return validate_sctp_stream_parameters(parameters, "sctp_stream_parameters")


def validate_label(value: object, field: str) -> str:
    """A channel's ``label`` or ``protocol``: a string (empty when not given), at most
    1024 UTF-8 bytes, as the worker keeps it per stream."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _type_error(field, "must be a string")
    if len(value.encode("utf-8", "surrogatepass")) > 1024:
        raise _type_error(field, "must be at most 1024 bytes of UTF-8")
    return value


def validate_subchannels(value: object, field: str = "subchannels") -> list[int]:
    """Subchannel numbers (each 0..65535), without repeats, in order."""
    if value is None:
        return []
    if not isinstance(value, Iterable) or isinstance(value, str | bytes | dict):
        raise _type_error(field, "must be a list of ints")
    return sorted(
        {_int(item, f"{field}[{index}]", 0, _MAX_U16) for index, item in enumerate(value)}
    )


def data_message(message: object, ppid: object = None) -> tuple[bytes, DataMessagePpid]:
    """The bytes and PPID of ``DataProducer.send(message, ppid)``, mediasoup's way: a
    ``str`` is text (51, or 56 when empty), bytes are binary (53, or 57 when empty); a PPID
    given explicitly must be one of those four."""
    if isinstance(message, str):
        payload = message.encode("utf-8")
        default: DataMessagePpid = _PPID_STRING if payload else _PPID_STRING_EMPTY
    elif isinstance(message, bytes | bytearray | memoryview):
        payload = bytes(message)
        default = _PPID_BINARY if payload else _PPID_BINARY_EMPTY
    else:
        raise _type_error("message", "must be str or bytes")
    if ppid is None:
        return payload, default
    if ppid == _PPID_STRING:
        return payload, _PPID_STRING
    if ppid == _PPID_BINARY:
        return payload, _PPID_BINARY
    if ppid == _PPID_STRING_EMPTY:
        return payload, _PPID_STRING_EMPTY
    if ppid == _PPID_BINARY_EMPTY:
        return payload, _PPID_BINARY_EMPTY
    raise _type_error("ppid", "must be 51, 53, 56 or 57")
