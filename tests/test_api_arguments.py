"""Hostile API arguments (issue 9): hypothesis throws values of every shape at the public
calls an application passes client data to (create_router, create_webrtc_transport, connect,
produce, consume, set_preferred_layers, plain connect, pipe transports). Each call either
works or raises a typed error (``mediasoup_py.errors``; type errors name their field), and the
worker keeps serving. One worker per test; the examples run on one event loop."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mediasoup_py
from mediasoup_py import errors

MEDIA_CODECS: list[Any] = [
    {"kind": "audio", "mimeType": "audio/opus", "clockRate": 48000, "channels": 2},
    {"kind": "video", "mimeType": "video/VP8", "clockRate": 90000},
]
LOOPBACK: Any = [{"protocol": "udp", "ip": "127.0.0.1"}]
VP8_SIMULCAST: Any = {
    "codecs": [{"mimeType": "video/VP8", "payloadType": 96, "clockRate": 90000}],
    "encodings": [{"rid": "r0"}, {"rid": "r1"}, {"rid": "r2"}],
    "headerExtensions": [{"uri": "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id", "id": 10}],
}

# Keys the real arguments use, so generated dicts get past the first checks often.
KEYS = st.sampled_from(
    [
        "kind", "mimeType", "clockRate", "channels", "parameters", "payloadType", "codecs",
        "encodings", "ssrc", "rid", "rtx", "headerExtensions", "uri", "id", "rtcp", "cname",
        "mid", "preferredPayloadType", "rtcpFeedback", "type", "scalabilityMode", "role",
        "fingerprints", "algorithm", "value", "protocol", "ip", "port", "spatialLayer",
        "temporalLayer", "apt", "packetization-mode", "profile-level-id",
    ]
)  # fmt: skip
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**64),
    st.floats(allow_nan=True),
    st.text(max_size=12),
    st.sampled_from(["audio", "video", "audio/opus", "video/VP8", "video/rtx", "udp", "tcp",
                     "127.0.0.1", "sha-256", "client", "server", "L3T3", "r0"]),
)  # fmt: skip
VALUES = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(KEYS, children, max_size=6)
    ),
    max_leaves=20,
)
OBJECTS = st.dictionaries(KEYS, VALUES, max_size=8)


@pytest.fixture(scope="module")
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


@pytest.fixture(scope="module")
def router(loop: asyncio.AbstractEventLoop) -> Iterator[mediasoup_py.Router]:
    worker = loop.run_until_complete(
        mediasoup_py.create_worker(rtc_min_port=49200, rtc_max_port=49399)
    )
    router = loop.run_until_complete(worker.create_router(media_codecs=MEDIA_CODECS))
    yield router
    worker.close()


def works_or_raises_typed(loop: asyncio.AbstractEventLoop, call: Awaitable[Any]) -> Any:
    """Runs the call: its result, or None if it raised a typed error (a type error names
    its field)."""
    try:
        return loop.run_until_complete(call)
    except errors.MediasoupError as error:
        unnamed = isinstance(error, errors.MediasoupTypeError) and not error.field
        if unnamed:
            raise AssertionError(f"no field named: {error!r}") from error
    return None


def still_serves(loop: asyncio.AbstractEventLoop, router: mediasoup_py.Router) -> None:
    transport = loop.run_until_complete(router.create_webrtc_transport(listen_infos=LOOPBACK))
    transport.close()


SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@SETTINGS
@given(codecs=st.one_of(VALUES, st.lists(OBJECTS, max_size=4)))
def test_create_router_with_any_codecs(
    loop: asyncio.AbstractEventLoop, router: mediasoup_py.Router, codecs: Any
) -> None:
    created = works_or_raises_typed(loop, router.worker.create_router(media_codecs=codecs))
    if created is not None:
        created.close()
    still_serves(loop, router)


@SETTINGS
@given(listen_infos=st.one_of(VALUES, st.lists(OBJECTS, max_size=3)), options=OBJECTS)
def test_create_webrtc_transport_and_connect_with_anything(
    loop: asyncio.AbstractEventLoop,
    router: mediasoup_py.Router,
    listen_infos: Any,
    options: dict[str, Any],
) -> None:
    transport = works_or_raises_typed(
        loop, router.create_webrtc_transport(listen_infos=listen_infos)
    )
    if transport is not None:
        transport.close()
    transport = loop.run_until_complete(router.create_webrtc_transport(listen_infos=LOOPBACK))
    works_or_raises_typed(loop, transport.connect(dtls_parameters=options))
    transport.close()
    still_serves(loop, router)


@SETTINGS
@given(kind=VALUES, parameters=st.one_of(VALUES, OBJECTS), capabilities=st.one_of(VALUES, OBJECTS))
def test_produce_and_consume_with_anything(
    loop: asyncio.AbstractEventLoop,
    router: mediasoup_py.Router,
    kind: Any,
    parameters: Any,
    capabilities: Any,
) -> None:
    transport = loop.run_until_complete(router.create_webrtc_transport(listen_infos=LOOPBACK))
    try:
        producer = works_or_raises_typed(
            loop, transport.produce(kind=kind, rtp_parameters=parameters)
        )
        if producer is None:
            producer = loop.run_until_complete(
                transport.produce(kind="video", rtp_parameters=VP8_SIMULCAST)
            )
        consumer = works_or_raises_typed(
            loop, transport.consume(producer_id=producer.id, rtp_capabilities=capabilities)
        )
        if consumer is not None:
            consumer.close()
        works_or_raises_typed(
            loop, transport.consume(producer_id=parameters, rtp_capabilities=capabilities)
        )
    finally:
        transport.close()
    still_serves(loop, router)


@SETTINGS
@given(layers=st.one_of(VALUES, OBJECTS), priority=VALUES)
def test_consumer_settings_with_anything(
    loop: asyncio.AbstractEventLoop, router: mediasoup_py.Router, layers: Any, priority: Any
) -> None:
    transport = loop.run_until_complete(router.create_webrtc_transport(listen_infos=LOOPBACK))
    try:
        producer = loop.run_until_complete(
            transport.produce(kind="video", rtp_parameters=VP8_SIMULCAST)
        )
        consumer = loop.run_until_complete(
            transport.consume(producer_id=producer.id, rtp_capabilities=router.rtp_capabilities)
        )
        works_or_raises_typed(loop, consumer.set_preferred_layers(layers))
        works_or_raises_typed(loop, consumer.set_priority(priority))
        works_or_raises_typed(loop, consumer.enable_trace_event(layers))
        works_or_raises_typed(
            loop,
            transport.consume(
                producer_id=producer.id,
                rtp_capabilities=router.rtp_capabilities,
                preferred_layers=layers,
            ),
        )
    finally:
        transport.close()
    still_serves(loop, router)


@SETTINGS
@given(ip=VALUES, port=VALUES, rtcp_port=VALUES, options=OBJECTS)
def test_plain_and_pipe_transports_with_anything(
    loop: asyncio.AbstractEventLoop,
    router: mediasoup_py.Router,
    ip: Any,
    port: Any,
    rtcp_port: Any,
    options: dict[str, Any],
) -> None:
    calls: list[Callable[[], Awaitable[Any]]] = [
        lambda: router.create_plain_transport(listen_info=options),
        lambda: router.create_pipe_transport(listen_info=options),
    ]
    for call in calls:
        created = works_or_raises_typed(loop, call())
        if created is not None:
            created.close()
    plain = loop.run_until_complete(router.create_plain_transport(listen_info=LOOPBACK[0]))
    works_or_raises_typed(loop, plain.connect(ip=ip, port=port, rtcp_port=rtcp_port))
    plain.close()
    pipe = loop.run_until_complete(router.create_pipe_transport(listen_info=LOOPBACK[0]))
    works_or_raises_typed(loop, pipe.connect(ip=ip, port=port))
    pipe.close()
    still_serves(loop, router)
