"""mediasoup_py as a plain-RTP forwarding peer, set up exactly like the mediasoup benchmark
peer it is compared with (benches/peers/mediasoup_peer.mjs):

- fanout: one comedia PlainTransport producer (VP8, or opus with ``--kind audio``; rtcp-mux,
  127.0.0.1) and N PlainTransport consumers sending to 127.0.0.1:<recv-base + i>;
- conference: P participants, each with one comedia PlainTransport producing VP8 (SSRC
  VIDEO_SSRC + i) and opus (AUDIO_SSRC + i) (opus only with ``--audio-only``), and one
  PlainTransport to 127.0.0.1:<recv-base + i> consuming every other participant's producers;
- datachannels (WebRTC only): one WebRtcTransport with a DataProducer (SCTP stream
  DATA_PRODUCER_STREAM_ID, ordered, reliable) and N WebRtcTransports, each with a DataConsumer
  of it; the ready line adds ``dataProducerStreamId`` and ``dataConsumerStreamIds`` (in
  consumer-transport order) for the DataChannel load tool (benches/datachannel_bench.py).

With ``--webrtc --client-fingerprint sha-256:AB:CD:...`` every transport is a WebRtcTransport
instead (UDP on 127.0.0.1, one port each), connected at once with DTLS role ``client`` and that
fingerprint (the load tool's certificate), so this side is the DTLS server; the ready line
then also lists each transport's port, ICE credentials and certificate fingerprint
(``webrtcTransports``: ``producers`` in producer-transport order, ``consumers`` in
receive-port order).

Consumers use the router's full RTP capabilities (so header extensions are rewritten, as
mediasoup does). It prints one ready line as JSON and runs until SIGTERM/SIGINT or
``--max-seconds``. The load tool (an RTP sender and per-port receiver) measures delivery,
gaps, latency and this process's CPU; the worker thread is the only busy thread in it.

    python -m benches.rtpload_peer --consumers 10 --recv-base 41000 --max-seconds 60
    python -m benches.rtpload_peer --scenario conference --participants 4 --recv-base 41000
    python -m benches.rtpload_peer --webrtc --client-fingerprint sha-256:AB:... --consumers 10
    python -m benches.rtpload_peer --scenario datachannels --webrtc --client-fingerprint ...
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import sys
from dataclasses import dataclass, field
from typing import Any, Literal

import mediasoup_py

VIDEO_SSRC = 0x11223344
AUDIO_SSRC = 0x22334455
VIDEO_PAYLOAD_TYPE = 101
AUDIO_PAYLOAD_TYPE = 100
DATA_PRODUCER_STREAM_ID = 0
LOOPBACK = {"protocol": "udp", "ip": "127.0.0.1"}
MEDIA_CODECS = [
    {"kind": "audio", "mimeType": "audio/opus", "clockRate": 48000, "channels": 2},
    {"kind": "video", "mimeType": "video/VP8", "clockRate": 90000},
]
# Far above any benchmark run; a stray peer still ends.
LONGEST_RUN_SECONDS = 3600

Kind = Literal["audio", "video"]


def rtp_parameters(kind: Kind, ssrc: int) -> Any:
    codec: dict[str, Any] = (
        {"mimeType": "video/VP8", "payloadType": VIDEO_PAYLOAD_TYPE, "clockRate": 90000}
        if kind == "video"
        else {
            "mimeType": "audio/opus",
            "payloadType": AUDIO_PAYLOAD_TYPE,
            "clockRate": 48000,
            "channels": 2,
        }
    )
    return {"codecs": [codec], "encodings": [{"ssrc": ssrc}]}


@dataclass
class Transports:
    """Makes the scenario's transports: plain RTP, or WebRTC connected to the load tool."""

    router: Any
    client_fingerprint: dict[str, str] | None
    enable_sctp: bool = False
    # WebRTC only: what the load tool needs to reach each transport.
    producers: list[dict[str, Any]] = field(default_factory=list)
    consumers: list[dict[str, Any]] = field(default_factory=list)

    async def ingress(self) -> tuple[Any, int]:
        """A transport the load tool sends to, and its port."""
        if self.client_fingerprint is None:
            transport = await self.router.create_plain_transport(listen_info=LOOPBACK, comedia=True)
            return transport, transport.tuple["localPort"]
        transport = await self.webrtc_transport(self.producers)
        return transport, self.producers[-1]["port"]

    async def egress_to(self, port: int) -> Any:
        """A transport whose consumers reach the load tool's ``port``."""
        if self.client_fingerprint is None:
            transport = await self.router.create_plain_transport(
                listen_info=LOOPBACK, comedia=False
            )
            await transport.connect(ip="127.0.0.1", port=port)
            return transport
        return await self.webrtc_transport(self.consumers)

    async def webrtc_transport(self, listed: list[dict[str, Any]]) -> Any:
        assert self.client_fingerprint is not None
        transport = await self.router.create_webrtc_transport(
            listen_infos=[LOOPBACK], enable_sctp=self.enable_sctp
        )
        await transport.connect(
            dtls_parameters={"role": "client", "fingerprints": [self.client_fingerprint]}
        )
        [candidate] = transport.ice_candidates
        [fingerprint] = [
            f for f in transport.dtls_parameters["fingerprints"] if f["algorithm"] == "sha-256"
        ]
        listed.append(
            {
                "port": candidate["port"],
                "usernameFragment": transport.ice_parameters["usernameFragment"],
                "password": transport.ice_parameters["password"],
                "fingerprint": fingerprint,
            }
        )
        return transport

    def ready_fields(self) -> dict[str, Any]:
        if self.client_fingerprint is None:
            return {}
        return {"webrtcTransports": {"producers": self.producers, "consumers": self.consumers}}


async def fanout(
    transports: Transports, consumers: int, recv_base: int, kind: Kind
) -> dict[str, Any]:
    router = transports.router
    ingress, ingress_port = await transports.ingress()
    producer = await ingress.produce(kind=kind, rtp_parameters=rtp_parameters(kind, VIDEO_SSRC))
    for index in range(consumers):
        egress = await transports.egress_to(recv_base + index)
        await egress.consume(producer_id=producer.id, rtp_capabilities=router.rtp_capabilities)
    return {
        "producerPort": ingress_port,
        "ssrc": VIDEO_SSRC,
        "payloadType": VIDEO_PAYLOAD_TYPE if kind == "video" else AUDIO_PAYLOAD_TYPE,
    }


async def conference(
    transports: Transports, participants: int, recv_base: int, audio_only: bool
) -> dict[str, Any]:
    router = transports.router
    kinds: list[Kind] = ["audio"] if audio_only else ["audio", "video"]
    ingress_ports = []
    producers = []
    for index in range(participants):
        ingress, ingress_port = await transports.ingress()
        ingress_ports.append(ingress_port)
        for kind in kinds:
            ssrc = (VIDEO_SSRC if kind == "video" else AUDIO_SSRC) + index
            producer = await ingress.produce(kind=kind, rtp_parameters=rtp_parameters(kind, ssrc))
            producers.append((index, producer))
    for index in range(participants):
        egress = await transports.egress_to(recv_base + index)
        for owner, producer in producers:
            if owner != index:
                await egress.consume(
                    producer_id=producer.id, rtp_capabilities=router.rtp_capabilities
                )
    return {
        "producerPorts": ingress_ports,
        "videoSsrc": VIDEO_SSRC,
        "audioSsrc": AUDIO_SSRC,
        "videoPayloadType": VIDEO_PAYLOAD_TYPE,
        "audioPayloadType": AUDIO_PAYLOAD_TYPE,
    }


async def datachannels(transports: Transports, consumers: int) -> dict[str, Any]:
    ingress = await transports.webrtc_transport(transports.producers)
    producer = await ingress.produce_data(
        sctp_stream_parameters={"streamId": DATA_PRODUCER_STREAM_ID, "ordered": True},
        label="bench",
    )
    stream_ids = []
    for _ in range(consumers):
        egress = await transports.webrtc_transport(transports.consumers)
        consumer = await egress.consume_data(data_producer_id=producer.id)
        stream_ids.append(consumer.sctp_stream_parameters["streamId"])
    return {"dataProducerStreamId": DATA_PRODUCER_STREAM_ID, "dataConsumerStreamIds": stream_ids}


async def serve(arguments: argparse.Namespace) -> None:
    worker = await mediasoup_py.create_worker(rtc_min_port=20000, rtc_max_port=29999)
    try:
        router = await worker.create_router(media_codecs=MEDIA_CODECS)  # type: ignore[arg-type]
        transports = Transports(
            router, client_fingerprint(arguments), enable_sctp=arguments.scenario == "datachannels"
        )
        if arguments.scenario == "datachannels":
            if not arguments.webrtc:
                raise SystemExit("--scenario datachannels needs --webrtc")
            setup = await datachannels(transports, arguments.consumers)
        elif arguments.scenario == "fanout":
            setup = await fanout(
                transports, arguments.consumers, arguments.recv_base, arguments.kind
            )
        else:
            setup = await conference(
                transports, arguments.participants, arguments.recv_base, arguments.audio_only
            )
        ready = {"ready": True, **setup, **transports.ready_fields(), "cpuPid": os.getpid()}
        print(json.dumps(ready), flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signal_number in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signal_number, stop.set)
        # Either a signal or the time limit ends the run.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(
                stop.wait(), timeout=min(arguments.max_seconds, LONGEST_RUN_SECONDS)
            )
    finally:
        worker.close()


def client_fingerprint(arguments: argparse.Namespace) -> dict[str, str] | None:
    """``--client-fingerprint sha-256:AB:CD:...`` as dtlsParameters' fingerprint, with
    ``--webrtc``."""
    if not arguments.webrtc:
        return None
    algorithm, _, value = (arguments.client_fingerprint or "").partition(":")
    if not value:
        raise SystemExit("--webrtc needs --client-fingerprint ALGORITHM:HEX")
    return {"algorithm": algorithm, "value": value}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--scenario", choices=["fanout", "conference", "datachannels"], default="fanout"
    )
    parser.add_argument("--consumers", type=int, default=4)
    parser.add_argument("--kind", choices=["video", "audio"], default="video")
    parser.add_argument("--participants", type=int, default=4)
    parser.add_argument("--audio-only", action="store_true")
    parser.add_argument("--recv-base", type=int, default=40000)
    parser.add_argument("--max-seconds", type=float, default=300)
    parser.add_argument("--webrtc", action="store_true", help="WebRtcTransports, not plain")
    parser.add_argument("--client-fingerprint", help="the load tool's, e.g. sha-256:AB:CD:...")
    asyncio.run(serve(parser.parse_args()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
