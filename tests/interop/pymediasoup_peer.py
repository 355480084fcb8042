"""A participant driven by pymediasoup (a Python port of mediasoup-client v3 over aiortc,
which we did not write), wired to a mediasoup_py router the way an application's signaling
would wire a browser: the client's ``connect`` and ``produce`` events become calls on our
transports, and our consumers' parameters go to the client's ``consume``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from aiortc import MediaStreamTrack
from pymediasoup import Device
from pymediasoup.consumer import Consumer as ClientConsumer
from pymediasoup.handlers.aiortc_handler import AiortcHandler
from pymediasoup.models.transport import DtlsParameters
from pymediasoup.rtp_parameters import RtpCapabilities, RtpParameters
from pymediasoup.transport import Transport as ClientTransport

import mediasoup_py
from tests.interop.lossy_relay import LossyRelay

LOOPBACK_UDP = [{"protocol": "udp", "ip": "127.0.0.1"}]


def transport_options(transport: mediasoup_py.WebRtcTransport) -> dict[str, Any]:
    """What a server sends a client to create its side of ``transport``."""
    return {
        "id": transport.id,
        "iceParameters": transport.ice_parameters,
        "iceCandidates": transport.ice_candidates,
        "dtlsParameters": transport.dtls_parameters,
        "sctpParameters": None,
        # None would make aiortc use its default public STUN server.
        "iceServers": [],
    }


@dataclass
class Peer:
    """One client: a pymediasoup device and its transports on both sides."""

    router: mediasoup_py.Router
    device: Device
    closers: list[Any] = field(default_factory=list)
    relays: list[LossyRelay] = field(default_factory=list)
    # The server side of its last receive transport.
    receiving: mediasoup_py.WebRtcTransport | None = None
    # Whose ports its transports share (aioice has no ICE-TCP: the UDP port only).
    webrtc_server: mediasoup_py.WebRtcServer | None = None

    @classmethod
    async def join(
        cls,
        router: mediasoup_py.Router,
        tracks: list[MediaStreamTrack] | None = None,
        webrtc_server: mediasoup_py.WebRtcServer | None = None,
    ) -> Peer:
        device = Device(handlerFactory=AiortcHandler.createFactory(tracks=tracks or []))
        await device.load(RtpCapabilities(**router.rtp_capabilities))
        return cls(router=router, device=device, webrtc_server=webrtc_server)

    @property
    def rtp_capabilities(self) -> dict[str, Any]:
        capabilities = self.device.rtpCapabilities
        assert capabilities is not None
        result: dict[str, Any] = capabilities.model_dump(exclude_none=True)
        return result

    async def _transports(
        self,
        direction: Literal["send", "recv"],
        loss: float = 0.0,
        relayed: bool = False,
        ice_consent_timeout: float = 30,
    ) -> tuple[mediasoup_py.WebRtcTransport, ClientTransport]:
        if self.webrtc_server is not None:
            server = await self.router.create_webrtc_transport(
                webrtc_server=self.webrtc_server,
                enable_tcp=False,
                ice_consent_timeout=ice_consent_timeout,
            )
        else:
            server = await self.router.create_webrtc_transport(
                listen_infos=LOOPBACK_UDP,  # type: ignore[arg-type]
                ice_consent_timeout=ice_consent_timeout,
            )
        options = transport_options(server)
        if loss or relayed:
            # The client reaches the server only through a relay that loses media.
            candidate = options["iceCandidates"][0]
            relay = await LossyRelay.start(
                (candidate["ip"], candidate["port"]),
                loss,
                towards="server" if direction == "send" else "client",
            )
            self.relays.append(relay)
            options["iceCandidates"] = [{**candidate, "port": relay.port}]
        if direction == "send":
            client = self.device.createSendTransport(**options)
        else:
            client = self.device.createRecvTransport(**options)

        @client.on("connect")  # type: ignore[misc]
        async def on_connect(dtlsParameters: DtlsParameters) -> None:
            await server.connect(dtls_parameters=dtlsParameters.model_dump(exclude_none=True))  # type: ignore[arg-type]

        self.closers.append(client.close)
        return server, client

    async def produce(
        self, tracks: list[MediaStreamTrack], loss: float = 0.0
    ) -> list[mediasoup_py.Producer]:
        """Sends ``tracks`` through a new send transport; returns our producers. With
        ``loss``, media to the server crosses a relay that drops that fraction of it."""
        server, client = await self._transports("send", loss)
        producers: list[mediasoup_py.Producer] = []

        @client.on("produce")  # type: ignore[misc]
        async def on_produce(kind: str, rtpParameters: RtpParameters, appData: Any) -> str:
            producer = await server.produce(
                kind=kind,  # type: ignore[arg-type]
                rtp_parameters=rtpParameters.model_dump(exclude_none=True),  # type: ignore[arg-type]
                app_data=appData,
            )
            producers.append(producer)
            return producer.id

        for track in tracks:
            await client.produce(track=track, stopTracks=False)
        return producers

    async def consume(
        self,
        producers: list[mediasoup_py.Producer],
        loss: float = 0.0,
        relayed: bool = False,
        ice_consent_timeout: float = 30,
    ) -> list[tuple[mediasoup_py.Consumer, ClientConsumer]]:
        """Receives ``producers`` through a new receive transport, mediasoup's way: the
        consumer starts paused and resumes once the client has it. With ``loss`` (or
        ``relayed``), the client reaches the server through a relay, which drops that
        fraction of the media to the client."""
        server, client = await self._transports("recv", loss, relayed, ice_consent_timeout)
        self.receiving = server
        pairs = []
        for producer in producers:
            consumer = await server.consume(
                producer_id=producer.id,
                rtp_capabilities=self.rtp_capabilities,  # type: ignore[arg-type]
                paused=True,
            )
            client_consumer = await client.consume(
                id=consumer.id,
                producerId=producer.id,
                kind=consumer.kind,
                rtpParameters=RtpParameters(**consumer.rtp_parameters),
            )
            await consumer.resume()
            pairs.append((consumer, client_consumer))
        return pairs

    async def close(self) -> None:
        for close in self.closers:
            await close()
        for relay in self.relays:
            relay.close()
