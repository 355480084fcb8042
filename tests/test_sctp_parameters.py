"""mediasoup's SCTP parameter rules (mediasoup_py.sctp_parameters), by example and by
hypothesis: whatever a client sends, the answer is a validated value or a typed error that
names the field."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mediasoup_py.errors import MediasoupTypeError
from mediasoup_py.sctp_parameters import (
    data_consumer_sctp_stream_parameters,
    data_message,
    validate_label,
    validate_num_sctp_streams,
    validate_sctp_capabilities,
    validate_sctp_stream_parameters,
    validate_subchannels,
)


def test_capabilities_as_mediasoup_client_sends_them() -> None:
    caps = {"numStreams": {"OS": 1024, "MIS": 1024}}
    assert validate_sctp_capabilities(caps) == caps
    with pytest.raises(MediasoupTypeError) as error:
        validate_sctp_capabilities({"numStreams": {"OS": 1024, "MIS": 0}})
    assert error.value.field == "sctp_capabilities.numStreams.MIS"
    with pytest.raises(MediasoupTypeError) as error:
        validate_num_sctp_streams({"OS": True, "MIS": 5})
    assert error.value.field == "num_sctp_streams.OS"


def test_stream_parameters_follow_mediasoups_rules() -> None:
    assert validate_sctp_stream_parameters({"streamId": 3}) == {"streamId": 3, "ordered": True}
    assert validate_sctp_stream_parameters({"streamId": 0, "maxRetransmits": 0}) == {
        "streamId": 0,
        "ordered": False,
        "maxRetransmits": 0,
    }
    assert validate_sctp_stream_parameters(
        {"streamId": 1, "ordered": False, "maxPacketLifeTime": 500}
    ) == {"streamId": 1, "ordered": False, "maxPacketLifeTime": 500}
    cases: list[tuple[dict[str, Any], str]] = [
        ({}, "sctp_stream_parameters.streamId"),
        ({"streamId": 65535}, "sctp_stream_parameters.streamId"),
        ({"streamId": 1, "ordered": "yes"}, "sctp_stream_parameters.ordered"),
        ({"streamId": 1, "maxRetransmits": -1}, "sctp_stream_parameters.maxRetransmits"),
        ({"streamId": 1, "maxRetransmits": 1, "maxPacketLifeTime": 1}, "sctp_stream_parameters"),
        ({"streamId": 1, "ordered": True, "maxRetransmits": 2}, "sctp_stream_parameters.ordered"),
    ]
    for parameters, field in cases:
        with pytest.raises(MediasoupTypeError) as error:
            validate_sctp_stream_parameters(parameters)
        assert error.value.field == field, parameters


def test_a_data_consumer_gets_its_producers_rules_on_its_own_stream() -> None:
    producer = validate_sctp_stream_parameters({"streamId": 7, "maxRetransmits": 3})
    assert data_consumer_sctp_stream_parameters(producer, 0) == {
        "streamId": 0,
        "ordered": False,
        "maxRetransmits": 3,
    }
    assert data_consumer_sctp_stream_parameters(producer, 1, ordered=True) == {
        "streamId": 1,
        "ordered": True,
    }
    assert data_consumer_sctp_stream_parameters(producer, 2, max_packet_life_time=100) == {
        "streamId": 2,
        "ordered": False,
        "maxPacketLifeTime": 100,
    }
    assert data_consumer_sctp_stream_parameters(None, 4) == {"streamId": 4, "ordered": True}
    with pytest.raises(MediasoupTypeError) as error:
        data_consumer_sctp_stream_parameters(None, 4, max_retransmits=70_000)
    assert error.value.field == "max_retransmits"


def test_messages_and_their_ppids() -> None:
    assert data_message("hi") == (b"hi", 51)
    assert data_message("") == (b"", 56)
    assert data_message(b"\x00\x01") == (b"\x00\x01", 53)
    assert data_message(bytearray()) == (b"", 57)
    assert data_message("x", 53) == (b"x", 53)
    with pytest.raises(MediasoupTypeError) as error:
        data_message("x", 50)
    assert error.value.field == "ppid"
    with pytest.raises(MediasoupTypeError) as error:
        data_message(12)
    assert error.value.field == "message"


def test_labels_and_subchannels() -> None:
    assert validate_label(None, "label") == ""
    assert validate_label("chat", "label") == "chat"
    with pytest.raises(MediasoupTypeError) as error:
        validate_label("é" * 600, "protocol")
    assert error.value.field == "protocol"
    assert validate_subchannels([5, 1, 5]) == [1, 5]
    with pytest.raises(MediasoupTypeError) as error:
        validate_subchannels([1, 70_000])
    assert error.value.field == "subchannels[1]"
    with pytest.raises(MediasoupTypeError):
        validate_subchannels("12")


_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=10,
)
_stream_fields = st.fixed_dictionaries(
    {},
    optional={
        "streamId": _json | st.integers(-5, 70_000),
        "ordered": _json,
        "maxPacketLifeTime": _json | st.integers(-5, 70_000),
        "maxRetransmits": _json | st.integers(-5, 70_000),
    },
)


@given(_stream_fields | _json)
def test_any_stream_parameters_validate_or_name_a_field(value: object) -> None:
    try:
        parameters = validate_sctp_stream_parameters(value)
    except MediasoupTypeError as error:
        field = error.field
    else:
        field = None
    if field is not None:
        assert field.startswith("sctp_stream_parameters")
        return
    assert 0 <= parameters["streamId"] < 65535
    limits = [k for k in ("maxPacketLifeTime", "maxRetransmits") if k in parameters]
    assert len(limits) <= 1
    assert not (limits and parameters["ordered"])
    # Validating a validated value changes nothing.
    assert validate_sctp_stream_parameters(dict(parameters)) == parameters


@given(
    st.fixed_dictionaries(
        {}, optional={"numStreams": st.fixed_dictionaries({}, optional={"OS": _json, "MIS": _json})}
    )
    | _json
)
def test_any_capabilities_validate_or_name_a_field(value: object) -> None:
    field: str | None = "sctp_capabilities"
    try:
        validate_sctp_capabilities(value)
    except MediasoupTypeError as error:
        field = error.field
    assert field is not None
    assert field.startswith("sctp_capabilities")
